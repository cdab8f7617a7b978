#!/usr/bin/python3
"""The project's fake API (tests/fake_api.py), with a stopwatch on its side.

    python3 tests/bench/timed_fake.py --timings FILE [--split-writes]
        [fake_api.py options]

Runs tests/fake_api.py unchanged, except that every connection is timed
from the fake's side and one JSON line per connection is appended to FILE
after the connection is closed (so the write is not on the client's path):

    {"ua": User-Agent, "queue": s from accept() to the thread starting,
     "handshake": s in the TLS handshake, "request": s from the handshake's
     end to the response sent, "total": s from accept() to close,
     "cpu": CPU s of the connection's thread, "status": HTTP status}

"cpu" is the fake's own work for the connection (TLS handshake, parsing,
building and sending the answer); the wall times also hold the time spent
waiting for the client's bytes.  tests/bench/run reads FILE to say how much
of a login is the fake's own time.

--split-writes is for showing what the fake avoids: it turns TCP_NODELAY
off and sends each response's header and body in two writes, as a naive
server does, so the body waits for the client's delayed ACK of the header
(Nagle's algorithm).  Python 3 standard library only.
"""

import json
import os
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import fake_api  # noqa: E402  (tests/fake_api.py)


def pop_timings_arg(argv):
    if "--timings" not in argv:
        sys.exit("timed_fake.py: --timings FILE is required")
    i = argv.index("--timings")
    if i + 1 >= len(argv):
        sys.exit("timed_fake.py: --timings needs a FILE")
    path = argv[i + 1]
    return path, argv[:i] + argv[i + 2:]


class TimedContext:
    """The server's SSLContext, with each handshake timed per thread."""

    def __init__(self, context, local, nagle=False):
        self._context = context
        self._local = local
        self._nagle = nagle

    def __getattr__(self, name):
        return getattr(self._context, name)

    def wrap_socket(self, sock, *args, **kwargs):
        if self._nagle:     # undo the fake's TCP_NODELAY
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 0)
        t0 = time.perf_counter()
        try:
            return self._context.wrap_socket(sock, *args, **kwargs)
        finally:
            self._local.handshake_end = time.perf_counter()
            self._local.stats["handshake"] = self._local.handshake_end - t0


def split_deliver(self, sock, request_id, head_only=False):
    """Response.deliver as a naive server writes: header, then body."""
    head = self.wire(request_id, head_only=True)
    sock.sendall(head)
    if not head_only:
        body = self.wire(request_id)[len(head):]
        if body:
            sock.sendall(body)


def install(timings_path, split_writes=False):
    lock = threading.Lock()
    accepted = {}          # fileno -> perf_counter at accept()
    local = threading.local()

    Server = fake_api.Server
    Handler = fake_api.Handler
    orig_init = Server.__init__
    orig_process_request = Server.process_request
    orig_thread = Server.process_request_thread
    orig_dispatch = Handler.dispatch
    orig_answer = Handler.answer

    def init(self, host, port, context, *args, **kwargs):
        orig_init(self, host, port, TimedContext(context, local, split_writes),
                  *args, **kwargs)

    def process_request(self, request, client_address):
        with lock:
            accepted[request.fileno()] = time.perf_counter()
        return orig_process_request(self, request, client_address)

    def process_request_thread(self, request, client_address):
        start = time.perf_counter()
        cpu0 = time.thread_time()
        with lock:
            t_accept = accepted.pop(request.fileno(), start)
        local.stats = {"ua": None, "status": None, "handshake": None,
                       "request": None}
        local.handshake_end = None
        try:
            orig_thread(self, request, client_address)
        finally:
            end = time.perf_counter()
            entry = dict(local.stats)
            entry["queue"] = start - t_accept
            entry["total"] = end - t_accept
            entry["cpu"] = time.thread_time() - cpu0
            line = json.dumps(entry) + "\n"
            with lock:
                with open(timings_path, "a", encoding="utf-8") as f:
                    f.write(line)

    def dispatch(self):
        local.stats["ua"] = self.headers.get("User-Agent") if self.headers else None
        return orig_dispatch(self)

    def answer(self, request_id, response, raw, parsed):
        try:
            return orig_answer(self, request_id, response, raw, parsed)
        finally:
            local.stats["status"] = response.status
            if local.handshake_end is not None:
                local.stats["request"] = time.perf_counter() - local.handshake_end

    Server.__init__ = init
    Server.process_request = process_request
    Server.process_request_thread = process_request_thread
    for name in ("dispatch", "do_POST", "do_GET", "do_PUT", "do_PATCH",
                 "do_DELETE", "do_OPTIONS", "do_HEAD"):
        setattr(Handler, name, dispatch)
    Handler.answer = answer
    if split_writes:
        fake_api.Response.deliver = split_deliver


def main():
    timings, argv = pop_timings_arg(sys.argv[1:])
    split_writes = "--split-writes" in argv
    argv = [a for a in argv if a != "--split-writes"]
    install(os.path.abspath(timings), split_writes)
    return fake_api.main(argv)


if __name__ == "__main__":
    sys.exit(main())
