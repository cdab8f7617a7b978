"""The shared machinery of the Python test suites (tests/README.md): plain
helpers and classes, importable by the pytest suites (through the fixtures in
tests/conftest.py) and by scripts that are not pytest (tests/bench/run).

  BuildPaths     the build under test, from the environment `make check`
                 and tests/run-all set (defaults: a build in the source tree).
  CertAuthority  the test CA and certificates (tests/make-certs.sh).
  clean_env(), free_port(), stop_process(), token_as_documented(): one of each.
  Suite      one run: a private temp dir (0700), the test certificates, a
             pool of fake APIs (tests/fake_api.py; one per worker, so the
             requests a case causes are exactly the new lines of its fake's
             record file), the wrong-host / other-CA / expired fakes, a closed
             port, and the registry of secrets that must never be printed.
  Case       the context a test gets (`t`): its own directory, config file,
             allowlist, PAM service files and syslog capture file (the
             driver's PAM_DRIVER_SYSLOG sink); runs tests/pam_driver
             (`t.login`) and asserts (`t.expect_*`).
  Run        what one driver run produced: results per phase, conversation,
             PAM environment, prompts, syslog lines and the fake's records.
  ConnectProxy  a tiny threaded HTTP CONNECT proxy on loopback.
  DevLog     a syslog sink at /dev/log, for programs that log through the
             system's socket (sshd, sudo: tests/e2e); with
             enter_private_mount_namespace() it covers a daemon's socket
             without the rest of the machine seeing it.

Nothing here prints a credential, a client secret or a token: every failure
message goes through Suite.redact() (tests/conftest.py applies it), which
replaces each registered secret with its name.

Python 3 standard library only.
"""

import base64
import hashlib
import json
import os
import queue
import re
import secrets
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import fake_api  # tests/fake_api.py, next to this file
from fake_api import ALICE_ID, BOB_ID, CAROL_ID, DAVE_ID, SESSION_IDS, STRANGER_ID  # noqa: F401

# --------------------------------------------------------------------------
# Fixed data (tests/FAKE_API.md).

# The fake's users and their sessions: tests/fake_api.py is their one source.
IDALONE_ID = "33333333-4444-4555-8666-777777777777"     # in no fake answer

ACCEPT = "application/vnd.heroku+json; version=3"
CONTENT_TYPE = "application/json"
DEFAULT_PROMPT = "Heroku grant code or refresh token: "

PROXY_VARIABLES = ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                   "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy")

# Credentials that are ordinary words a module may well use in a log reason
# ("malformed response", "oversized body"): not scanned for in the logs.
# Every other credential longer than 6 characters is.
NOT_SECRET_WORDS = {"malformed", "oversized"}

# The standard allowlist.  Line numbers matter: the bad ones are asserted
# to be logged as path:N.
ALLOWLIST_LINES = [
    "# Heroku user id                         local accounts",          # 1
    "",                                                                # 2
    f"{ALICE_ID}     alice   # trailing blanks and a comment",         # 3
    f"{BOB_ID}\tbob,carol",                                            # 4
    f"{IDALONE_ID}",                                                   # 5  id alone
    "this line is garbage",                                            # 6  garbage
    f"{DAVE_ID}     *\r",                                              # 7  CRLF
    f"{CAROL_ID}     carol   ",                                        # 8  upper case id
    f"{STRANGER_ID}",                                                  # 9  id alone
]
ALLOWLIST_BAD_LINES = (5, 6, 9)

SUMMARY_RE = re.compile(
    r"auth (granted|refused|unavailable|misconfigured): "
    r"user=(\S+) heroku_user_id=(\S+) request_id=(\S+)")

OUTCOME_WORD = {
    "PAM_SUCCESS": "granted",
    "PAM_AUTH_ERR": "refused",
    "PAM_AUTHINFO_UNAVAIL": "unavailable",
    "PAM_SERVICE_ERR": "misconfigured",
}


class CaseFailure(Exception):
    """A case's expectation did not hold."""


class CaseSkip(Exception):
    """A case cannot run here (e.g. it needs root)."""


# --------------------------------------------------------------------------
# The driver's escaping (\\ \n \r \t \xHH), undone.

_ESCAPE_RE = re.compile(r"\\(\\|n|r|t|x[0-9a-fA-F]{2})")


def unescape(text):
    def one(m):
        s = m.group(1)
        return {"\\": "\\", "n": "\n", "r": "\r", "t": "\t"}.get(
            s, None) or chr(int(s[1:], 16))
    return _ESCAPE_RE.sub(one, text)


def control_chars(text):
    """The control characters (C0, DEL, C1) found in text, as a sorted list."""
    return sorted({f"0x{ord(c):02x}" for c in text
                   if ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f})


def token_as_documented(kind, credential):
    """The token per FAKE_API.md's wording (b64 of the raw digest)."""
    digest = hashlib.sha256(f"{kind}:{credential}".encode()).digest()
    return "HRKU-AA" + base64.urlsafe_b64encode(digest).decode()[:58]


def add_test(namespace, name, fn, *marks):
    """One test of a table, as if written out: fn becomes test_<name> in
    namespace (the test module's globals()), with the pytest marks given."""
    fn.__name__ = fn.__qualname__ = "test_" + name
    for mark in marks:
        fn = mark(fn)
    namespace[fn.__name__] = fn


def clean_env(**extra):
    """The environment every process a test starts gets: PATH, the C locale,
    and the sanitizer and library knobs of the build under test; nothing of
    the caller's (no proxy variables, no HOME)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}
    for name in ("TMPDIR", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
                 "LD_LIBRARY_PATH"):
        if name in os.environ:
            env[name] = os.environ[name]
    env.update(extra)
    return env


def free_port():
    """A loopback TCP port free right now (for servers that cannot take 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------
# The build under test and the test CA.

class BuildPaths:
    """Where the build under test is: the environment `make check`
    (AM_TESTS_ENVIRONMENT) and tests/run-all set, else a build in the source
    tree.  Nothing is checked here: a test that needs a file says so."""

    def __init__(self, environ=None):
        env = os.environ if environ is None else environ
        here = os.path.dirname(os.path.realpath(__file__))
        self.srcdir = os.path.abspath(env.get("abs_top_srcdir") or os.path.dirname(here))
        self.builddir = os.path.abspath(env.get("abs_top_builddir") or self.srcdir)

        def built(variable, *relative):
            return os.path.abspath(env.get(variable) or
                                   os.path.join(self.builddir, *relative))
        self.module = built("PAM_HEROKU_MODULE", "tests", ".libs", "pam_heroku_test.so")
        self.installed_module = built("PAM_HEROKU_INSTALLED_MODULE",
                                      "pam_heroku", ".libs", "pam_heroku.so")
        self.check = built("PAM_HEROKU_CHECK", "tests", "pam_heroku_check_test")
        self.exchange = built("PAM_HEROKU_EXCHANGE", "pam_heroku", "pam_heroku_exchange")
        self.driver = built("PAM_DRIVER", "tests", "pam_driver")
        self.heap_scan = built("HEAP_SCAN", "tests", "hardening", "heap_scan")
        self.bad_helper = built("BAD_HELPER", "tests", "privsep", "bad_helper")
        # The fake API needs Debian's python3-jsonschema.
        python3 = env.get("PYTHON3") or ""
        self.python3 = python3 if python3 not in ("", "no") and shutil.which(python3) \
            else "/usr/bin/python3"
        self.fake_script = os.path.join(self.srcdir, "tests", "fake_api.py")
        self.make_certs = os.path.join(self.srcdir, "tests", "make-certs.sh")


class CertAuthority:
    """The test CA and its certificates (tests/make-certs.sh), made at test
    time in directory: never the machine's trust store."""

    def __init__(self, paths, directory):
        subprocess.run(["sh", paths.make_certs, directory], check=True,
                       stdin=subprocess.DEVNULL, env=clean_env())
        self.dir = directory
        self.ca = self.cert("ca.pem")

    def cert(self, name):
        return os.path.join(self.dir, name)


# --------------------------------------------------------------------------
# Processes started by the suite, stopped on every exit path.

class Processes:
    def __init__(self):
        self.lock = threading.Lock()
        self.live = set()

    def add(self, proc):
        with self.lock:
            self.live.add(proc)

    def discard(self, proc):
        with self.lock:
            self.live.discard(proc)

    def stop_all(self):
        with self.lock:
            procs = list(self.live)
            self.live.clear()
        for proc in procs:
            stop_process(proc)


def stop_process(proc, grace=5.0):
    """Stop one process this test started (by its pid): TERM, then KILL."""
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.terminate()
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    except OSError:
        pass


def wait_for_port(proc, port_file, what, timeout=20.0):
    """The port a server started with --port-file (tests/fake_api.py) wrote
    there, once it has; RuntimeError when it exits or takes too long."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode}")
        try:
            with open(port_file, encoding="ascii") as f:
                text = f.read().strip()
            if text:
                return int(text)
        except FileNotFoundError:
            pass
        time.sleep(0.02)
    raise RuntimeError(f"{what} wrote no port file in {timeout} s")


class Fake:
    """One tests/fake_api.py process, with its own record file."""

    def __init__(self, suite, name, cert, key):
        self.suite = suite
        self.name = name
        self.dir = os.path.join(suite.tmp, "fakes", name)
        os.makedirs(self.dir, mode=0o700)
        self.port_file = os.path.join(self.dir, "port")
        self.record = os.path.join(self.dir, "record.jsonl")
        self.handshakes_file = os.path.join(self.dir, "handshakes")
        self.log = open(os.path.join(self.dir, "stderr"), "wb")
        self.proc = subprocess.Popen(
            [suite.python3, suite.fake_script, "--cert", cert, "--key", key,
             "--client-secret-file", suite.client_secret_file, "--offer-h2",
             "--host", "127.0.0.1", "--port", "0",
             "--port-file", self.port_file, "--record", self.record,
             "--handshakes", self.handshakes_file],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
            env=suite.base_env(), start_new_session=True)
        suite.processes.add(self.proc)
        self.port = None

    def wait_ready(self, timeout=20.0):
        self.port = wait_for_port(self.proc, self.port_file,
                                  f"fake {self.name} (see {self.dir}/stderr)", timeout)
        return self

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}"

    def records(self):
        try:
            with open(self.record, encoding="utf-8") as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def handshakes(self):
        """How many TLS handshakes it has completed, requests or not."""
        try:
            with open(self.handshakes_file, encoding="ascii") as f:
                return sum(1 for line in f if line.strip())
        except FileNotFoundError:
            return 0

    def stop(self):
        stop_process(self.proc)
        self.suite.processes.discard(self.proc)
        self.log.close()


# --------------------------------------------------------------------------
# A tiny HTTP CONNECT proxy.

class ConnectProxy:
    """Threaded loopback CONNECT proxy that records every request line."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.lines = []
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,),
                             daemon=True).start()

    def _serve(self, conn):
        upstream = None
        try:
            conn.settimeout(10)
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 16384:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            head, _, rest = head.partition(b"\r\n\r\n")
            first = head.split(b"\r\n", 1)[0].decode("latin-1")
            with self.lock:
                self.lines.append(first)
            m = re.fullmatch(r"CONNECT (\S+):(\d+) HTTP/1\.[01]", first)
            if not m:
                conn.sendall(b"HTTP/1.1 405 Method Not Allowed\r\n"
                             b"Content-Length: 0\r\n\r\n")
                return
            try:
                upstream = socket.create_connection(
                    (m.group(1).strip("[]"), int(m.group(2))), timeout=10)
            except OSError:
                conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\n"
                             b"Content-Length: 0\r\n\r\n")
                return
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if rest:
                upstream.sendall(rest)
            self._relay(conn, upstream)
        except OSError:
            pass
        finally:
            conn.close()
            if upstream is not None:
                upstream.close()

    @staticmethod
    def _relay(a, b):
        socks = [a, b]
        while True:
            readable, _, _ = select.select(socks, [], [], 15)
            if not readable:
                return
            for s in readable:
                data = s.recv(65536)
                if not data:
                    return
                (b if s is a else a).sendall(data)

    def stop(self):
        self.stopping = True
        self.sock.close()


# --------------------------------------------------------------------------
# One driver run.

class Run:
    """What one pam_driver run printed and caused."""

    def __init__(self, case, label, stdout, stderr, status, elapsed,
                 syslog, records, expected_summaries):
        self.case = case
        self.label = label
        self.stdout = stdout
        self.stderr = stderr
        self.status = status
        self.elapsed = elapsed
        self.syslog = syslog            # [(priority, text)] of this run
        self.records = records          # the fake's records of this run
        self.expected_summaries = expected_summaries
        self.results = []               # [(phase, name)] in order
        self.conv = []                  # [(kind, text)]
        self.env = {}                   # last env listing
        self.env_listings = []
        self.prompts = []               # per cycle
        self.authtok = []
        self.other = []
        self._parse(stdout)

    def _parse(self, stdout):
        listing = None
        for line in stdout.split("\n"):
            if not line:
                continue
            key, sep, rest = line.partition(": ")
            if not sep:
                self.other.append(line)
                continue
            if key == "conv":
                kind, _, text = rest.partition(" ")
                self.conv.append((kind, unescape(text)))
            elif key == "env":
                if listing is None:
                    listing = {}
                    self.env_listings.append(listing)
                name, _, value = unescape(rest).partition("=")
                listing[name] = value
                continue
            elif key == "prompts":
                self.prompts.append(int(rest))
            elif key == "authtok":
                self.authtok.append(rest)
            elif key in ("auth", "account", "setcred", "start", "end"):
                m = re.fullmatch(r"(\S+) \((-?\d+)\)", rest)
                self.results.append((key, m.group(1) if m else rest))
            else:
                self.other.append(line)
            listing = None
        if self.env_listings:
            self.env = self.env_listings[-1]

    def result(self, phase, index=0):
        found = [name for p, name in self.results if p == phase]
        return found[index] if index < len(found) else None

    def results_of(self, phase):
        return [name for p, name in self.results if p == phase]

    @property
    def auth(self):
        return self.result("auth")

    @property
    def account(self):
        return self.result("account")

    @property
    def prompt_count(self):
        return sum(self.prompts)

    def summaries(self):
        out = []
        for _, text in self.syslog:
            m = SUMMARY_RE.search(text)
            if m:
                out.append(m.groups())
        return out

    def conv_text(self, *kinds):
        return [text for kind, text in self.conv if not kinds or kind in kinds]


# --------------------------------------------------------------------------
# The suite.

class Suite:
    def __init__(self, paths, workers=1):
        self.paths = paths
        self.srcdir = paths.srcdir
        self.builddir = paths.builddir
        self.module = paths.module
        self.driver = paths.driver
        self.python3 = paths.python3
        self.workers = workers
        self.fake_script = paths.fake_script
        self.make_certs = paths.make_certs
        self.processes = Processes()
        self.tmp = None
        self.keep_tmp = bool(os.environ.get("PAM_HEROKU_KEEP_TMP"))
        self.secrets = {}               # value -> name
        self.secrets_lock = threading.Lock()
        self.fake_pool = queue.Queue()
        self.fakes = []
        self.finished = []              # the Case of every test that ran
        self.closed_socket = None
        self.version = self._version()
        self.default_confdir = self._default_confdir()
        self.fake_api = fake_api
        self.is_root = os.geteuid() == 0
        self.case_dirs = []
        self.stopping = False

    # ---- set up and tear down

    def _version(self):
        with open(os.path.join(self.srcdir, "configure.ac"), encoding="utf-8") as f:
            m = re.search(r"AC_INIT\(\s*\[[^\]]*\]\s*,\s*\[([^\]]+)\]", f.read())
        if not m:
            raise RuntimeError("no version in configure.ac's AC_INIT")
        return m.group(1)

    def _default_confdir(self):
        try:
            with open(os.path.join(self.builddir, "config.h"), encoding="utf-8") as f:
                m = re.search(r'#define PAM_HEROKU_CONFDIR "([^"]*)"', f.read())
            if m:
                return m.group(1)
        except FileNotFoundError:
            pass
        return "/etc/security"

    def base_env(self):
        return clean_env()

    def setup(self, certs):
        """certs: the test CA's directory (CertAuthority.dir)."""
        for path, what in ((self.module, "PAM_HEROKU_MODULE"),
                           (self.driver, "PAM_DRIVER"),
                           (self.fake_script, "tests/fake_api.py")):
            if not os.path.exists(path):
                raise RuntimeError(f"{what} not found: {path}")
        self.tmp = tempfile.mkdtemp(prefix="pam_heroku-it.")
        os.chmod(self.tmp, 0o700)
        self.certs = certs
        self.ca = self.cert("ca.pem")
        self.other_ca = self.cert("other-ca.pem")

        # The OAuth client secret every fake expects and every default config
        # names (client_secret_file): fresh for each run, so the whole-run
        # scans look for it too.
        self.client_secret = "fake-client-secret-" + secrets.token_hex(12)
        self.add_secret(self.client_secret, "the suite's client secret")
        self.client_secret_file = os.path.join(self.tmp, "client-secret")
        fd = os.open(self.client_secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(self.client_secret + "\n")

        # A port nobody listens on: bound for the whole run, never listening,
        # so connecting to it is refused and no one else can take it.
        self.closed_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.closed_socket.bind(("127.0.0.1", 0))
        self.closed_port = self.closed_socket.getsockname()[1]

        starting = []
        for i in range(self.workers):
            starting.append(Fake(self, f"api{i}", self.cert("server.pem"),
                                 self.cert("server.key")))
        self.wrong_host = Fake(self, "wrong-host", self.cert("wrong-host.pem"),
                               self.cert("wrong-host.key"))
        self.other_ca_fake = Fake(self, "other-ca", self.cert("other-server.pem"),
                                  self.cert("other-server.key"))
        self.expired = Fake(self, "expired", self.cert("expired.pem"),
                            self.cert("expired.key"))
        for fake in starting + [self.wrong_host, self.other_ca_fake, self.expired]:
            fake.wait_ready()
            self.fakes.append(fake)
        for fake in starting:
            self.fake_pool.put(fake)

    def cert(self, name):
        return os.path.join(self.certs, name)

    def teardown(self):
        self.stopping = True
        self.processes.stop_all()
        for fake in self.fakes:
            try:
                fake.log.close()
            except OSError:
                pass
        if self.closed_socket is not None:
            self.closed_socket.close()
            self.closed_socket = None
        if self.tmp is not None:
            if self.keep_tmp:
                sys.stderr.write(f"integration: kept {self.tmp}\n")
            else:
                # Worker threads may still be writing (teardown from a signal
                # handler): they stop at the next step; try a few times.
                for _ in range(20):
                    shutil.rmtree(self.tmp, ignore_errors=True)
                    if not os.path.exists(self.tmp):
                        break
                    time.sleep(0.05)
            self.tmp = None

    # ---- secrets

    def add_secret(self, value, name):
        if not isinstance(value, str) or len(value) <= 6:
            return
        with self.secrets_lock:
            self.secrets.setdefault(value, name)

    def add_credential(self, value, name):
        """A credential, and the tokens the fake derives from it."""
        if not isinstance(value, str):
            return
        if value not in NOT_SECRET_WORDS:
            self.add_secret(value, name)
        # The typed text may carry a prefix; the fake sees the rest.
        for prefix in ("code:", "refresh:"):
            if value.startswith(prefix):
                value = value[len(prefix):]
        for kind in ("access", "refresh"):
            self.add_secret(self.fake_api.token_for(kind, value),
                            f"{kind} token of {name}")
            self.add_secret(token_as_documented(kind, value),
                            f"{kind} token of {name} (as FAKE_API.md words it)")

    def secret_items(self):
        with self.secrets_lock:
            return sorted(self.secrets.items(), key=lambda kv: -len(kv[0]))

    def redact(self, text):
        for value, name in self.secret_items():
            if value in text:
                text = text.replace(value, f"<{name}>")
        return text


# --------------------------------------------------------------------------
# The context a case gets.

class Case:
    """directory: this test's own scratch directory (0700, not named after
    the test: a name holds the fake's credential names, "body_baduuid_...",
    and paths the module logs would then look like a leaked credential).
    fake: the fake API this test's requests go to (from suite.fake_pool)."""

    def __init__(self, suite, name, fake, directory):
        if suite.stopping:
            raise CaseSkip("the run is stopping")
        self.suite = suite
        self.name = name
        self.cleanups = []
        self.runs = []
        self.deferred = []
        self.config_path = None
        self.fake = fake
        self.dir = directory
        with open(os.path.join(self.dir, "NAME"), "w", encoding="utf-8") as f:
            f.write(self.name + "\n")
        self.suite.case_dirs.append(self.dir)
        self.confdir = os.path.join(self.dir, "pam.d")
        os.makedirs(self.confdir, mode=0o755)
        self.write(os.path.join(self.confdir, "other"),
                   "auth required pam_deny.so\naccount required pam_deny.so\n"
                   "password required pam_deny.so\nsession required pam_deny.so\n",
                   0o644)
        self.syslog_path = os.path.join(self.dir, "syslog")
        self.allowlist = self.write_allowlist("allow", ALLOWLIST_LINES)
        self.config()   # the default config file

    # ---- lifetime

    def release(self):
        for fn in reversed(self.cleanups):
            try:
                fn()
            except Exception:   # noqa: BLE001 - cleanup must go on
                pass

    def private_fake(self, name="private", cert="server"):
        """A fake of this case's own (e.g. one left busy by a slow answer)."""
        fake = Fake(self.suite, f"{self.name}-{name}", self.suite.cert(f"{cert}.pem"),
                    self.suite.cert(f"{cert}.key"))
        self.cleanups.append(fake.stop)
        return fake.wait_ready()

    def connect_proxy(self):
        proxy = ConnectProxy()
        self.cleanups.append(proxy.stop)
        return proxy

    # ---- files

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, path, text, mode):
        if not os.path.isabs(path):
            path = self.path(path)
        if os.path.exists(path):
            os.chmod(path, 0o600)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def write_allowlist(self, name, lines, mode=0o644):
        return self.write(name, "".join(line + "\n" for line in lines), mode)

    def config(self, name="pam_heroku.conf", mode=0o600, raw=None, **keys):
        """Write a config file: the defaults (this case's fake, the test CA,
        the standard allowlist) overridden by keys; a key given None is left
        out.  raw: extra lines appended verbatim.  Returns its path; the first
        (default-named) one is what t.service() points at by default."""
        values = {
            "api_url": self.fake.url if self.fake else "https://127.0.0.1:1",
            "ca_file": self.suite.ca,
            "allowlist": self.allowlist,
            "timeout": "10",
            "client_secret_file": self.suite.client_secret_file,
        }
        if keys.get("client_secret") is not None:
            del values["client_secret_file"]    # the module refuses both
        values.update(keys)
        lines = ["# pam_heroku test configuration", ""]
        for key, value in values.items():
            if value is not None:
                lines.append(f"{key} = {value}")
        lines += list(raw or [])
        path = self.write(name, "\n".join(lines) + "\n", mode)
        if name == "pam_heroku.conf":
            self.config_path = path
        if "client_secret" in values and values["client_secret"] is not None:
            self.suite.add_secret(values["client_secret"], f"client secret of {self.name}")
        return path

    def module_line(self, kind="auth", control="required", args="", config=True):
        parts = [kind, control, self.suite.module]
        if config is True:
            parts.append(f"config={self.config_path}")
        elif config:
            parts.append(f"config={config}")
        if args:
            parts.append(args)
        return " ".join(parts)

    def service(self, name="heroku", lines=None, auth_args="", account=True,
                account_args="", config=True):
        """Write a PAM service file; by default the module's auth line and,
        with account=True, its account line.  lines: the whole stack."""
        if lines is None:
            lines = [self.module_line("auth", "required", auth_args, config)]
            if account:
                lines.append(self.module_line("account", "required",
                                              account_args, config))
        self.write(os.path.join(self.confdir, name), "\n".join(lines) + "\n", 0o644)
        return name

    # ---- running the driver

    def syslog_lines(self):
        try:
            with open(self.syslog_path, "rb") as f:
                data = f.read().decode("utf-8", "surrogateescape")
        except FileNotFoundError:
            return []
        out = []
        for line in data.split("\n"):
            if not line:
                continue
            prio, _, text = line.partition(" ")
            out.append((int(prio) if prio.isdigit() else -1, unescape(text)))
        return out

    def login(self, user, *answers, service=None, phases=None, env=None,
              authtok=None, repeat=1, summaries=None, fake=None, label=None,
              timeout=60, argv_answers=(), wrapper=()):
        """Run the driver once.  answers go through a pipe (--answers-fd),
        one per line; argv_answers (no secrets) on the command line, first.
        wrapper: a command the driver runs under (e.g. unshare).  summaries: how many "auth <outcome>:" lines this run
        must log (default: one per auth phase and per module auth line in
        the service).  Returns a Run."""
        if service is None:
            service = "heroku"
            if not os.path.exists(os.path.join(self.confdir, service)):
                self.service()
        fake = fake or self.fake
        for i, answer in enumerate(answers):
            self.suite.add_credential(answer, f"credential {i + 1} first typed in {self.name}")
        if authtok is not None:
            self.suite.add_credential(authtok, f"authtok first given in {self.name}")

        argv = list(wrapper) + [self.suite.driver, "--confdir", self.confdir, "--service", service,
                "--user", user]
        for phase in phases or ():
            argv += ["--phase", phase]
        if authtok is not None:
            argv += ["--authtok", authtok]
        if repeat != 1:
            argv += ["--repeat", str(repeat)]
        # Answers that are no secret but hold a newline, which the pipe's
        # one-answer-a-line cannot carry (sshd's substitute answer); they
        # come before the piped ones.
        for answer in argv_answers:
            argv += ["--answer", answer]

        run_env = self.suite.base_env()
        run_env["PAM_DRIVER_SYSLOG"] = self.syslog_path
        run_env.update(env or {})

        if self.suite.stopping:
            raise CaseSkip("the run is stopping")
        before_log = len(self.syslog_lines())
        before_rec = len(fake.records()) if fake else 0
        rfd, wfd = os.pipe()
        payload = "".join(a + "\n" for a in answers).encode("utf-8", "surrogateescape")
        argv += ["--answers-fd", str(rfd)]
        start = time.monotonic()
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, env=run_env, pass_fds=(rfd,))
        finally:
            os.close(rfd)
        self.suite.processes.add(proc)
        try:
            writer = threading.Thread(target=_feed, args=(wfd, payload), daemon=True)
            writer.start()
            try:
                out, err = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                raise CaseFailure(f"pam_driver did not finish in {timeout} s")
            writer.join(5)
        finally:
            self.suite.processes.discard(proc)
        elapsed = time.monotonic() - start

        stdout = out.decode("utf-8", "surrogateescape")
        stderr = err.decode("utf-8", "surrogateescape")
        if proc.returncode != 0:
            raise CaseFailure(f"pam_driver exited with status {proc.returncode}: "
                              f"{self.suite.redact(stderr.strip())[:300]}")
        records = fake.records()[before_rec:] if fake else []
        syslog = self.syslog_lines()[before_log:]

        run = Run(self, label or f"run {len(self.runs) + 1}", stdout, stderr,
                  proc.returncode, elapsed, syslog, records, summaries)
        if summaries is None:
            with open(os.path.join(self.confdir, service), encoding="utf-8") as f:
                module_auth_lines = sum(
                    1 for line in f
                    if line.split()[:1] == ["auth"] and self.suite.module in line)
            run.expected_summaries = module_auth_lines * len(run.results_of("auth"))
        self.runs.append(run)
        # For a post mortem (PAM_HEROKU_KEEP_TMP=1): what the driver printed.
        self.write(f"{run.label.replace(' ', '-')}.out", stdout + stderr, 0o600)
        self._check_run(run)
        return run

    # ---- what every run must satisfy

    def _check_run(self, run):
        """Invariants of every run.  A broken request shape fails at once;
        the others are collected and reported when the case ends (see
        finish()), so a case's own, more telling expectation comes first."""
        for rec in run.records:
            self.check_request_shape(rec)
        found = run.summaries()
        if len(found) != run.expected_summaries:
            self.deferred.append(
                f"{run.label}: {len(found)} 'auth <outcome>: user=...' log lines, "
                f"expected {run.expected_summaries}; log of the run: "
                f"{self._log_excerpt(run)}")
        for kind, text in run.conv:
            # The module's own text may span lines; nothing else passes.
            bad = control_chars(text.replace("\n", ""))
            if bad:
                self.deferred.append(f"{run.label}: conversation message ({kind}) "
                                     f"carries control characters {bad}")

    def finish(self):
        """Called when the case function returned: fail on what the runs'
        invariants collected."""
        if self.deferred:
            self.fail("; ".join(self.deferred))

    def also(self):
        """The collected invariant failures, to append to a case's failure."""
        return ("; also: " + "; ".join(self.deferred)) if self.deferred else ""

    def _log_excerpt(self, run, limit=4):
        """The run's log for a failure message: summary lines first."""
        texts = [text for _, text in run.syslog]
        first = [x for x in texts if SUMMARY_RE.search(x)]
        rest = [x for x in texts if not SUMMARY_RE.search(x)]
        lines = (first + rest)[:limit]
        more = len(texts) - len(lines)
        if not lines:
            return "(nothing logged)"
        return " | ".join(lines) + (f" | ({more} more)" if more > 0 else "")

    def check_request_shape(self, rec):
        if rec.get("alpn") != "http/1.1":
            self.fail(f"the request went over ALPN {rec.get('alpn')!r}, expected "
                      f"'http/1.1' (the module must speak HTTP/1.1 only)")
        if rec.get("method") != "POST":
            self.fail(f"the fake got method {rec.get('method')!r} (path "
                      f"{rec.get('path')!r}), expected POST")
        if rec.get("path") != "/oauth/tokens":
            self.fail(f"the fake got path {rec.get('path')!r}, expected /oauth/tokens")
        if rec.get("schema_errors"):
            self.fail(f"Heroku's schema refuses the request body: {rec['schema_errors']}")
        headers = {k.lower(): v for k, v in (rec.get("headers") or {}).items()}
        want = {"accept": ACCEPT, "content-type": CONTENT_TYPE,
                "user-agent": f"pam_heroku/{self.suite.version}"}
        for name, value in want.items():
            if headers.get(name) != value:
                self.fail(f"request header {name}: {headers.get(name)!r}, "
                          f"expected {value!r}")
        dup = []

        def pairs(items):
            keys = [k for k, _ in items]
            dup.extend(k for k in set(keys) if keys.count(k) > 1)
            return dict(items)
        try:
            json.loads(rec.get("body") or "", object_pairs_hook=pairs)
        except ValueError:
            self.fail("the request body is not JSON")
        if dup:
            self.fail(f"the request body repeats keys {sorted(dup)}")

    # ---- assertions

    def fail(self, why):
        raise CaseFailure(why)

    def skip(self, why):
        raise CaseSkip(why)

    def check(self, cond, why):
        if not cond:
            self.fail(why)

    def expect(self, run, phase, *names, index=0):
        got = run.result(phase, index)
        if got not in names:
            self.fail(f"{run.label}: {phase}: got {got}, expected "
                      f"{' or '.join(names)}; log: {self._log_excerpt(run)}")

    def expect_auth(self, run, *names):
        self.expect(run, "auth", *names)

    def expect_requests(self, run, count):
        if len(run.records) != count:
            paths = [r.get("path") for r in run.records]
            self.fail(f"{run.label}: {len(run.records)} request(s) reached the fake "
                      f"{paths}, expected {count}")

    def expect_body(self, run, grant, value, secret=None, index=0, exact_text=False):
        """The request's JSON is exactly the interface's body (secret: the
        client secret expected, by default the suite's)."""
        if len(run.records) <= index:
            self.fail(f"{run.label}: no request {index + 1} reached the fake")
        rec = run.records[index]
        client = {"secret": secret if secret is not None else self.suite.client_secret}
        if grant == "authorization_code":
            want = {"grant": {"type": "authorization_code", "code": value},
                    "client": client, "refresh_token": {}}
        else:
            want = {"grant": {"type": "refresh_token"}, "client": client,
                    "refresh_token": {"token": value}}
        if rec.get("json") != want:
            shape = _shape(rec.get("json"))
            self.fail(f"{run.label}: request body differs from the interface's "
                      f"{grant} body (got shape {shape}, expected {_shape(want)}; "
                      f"values compared but not shown)")
        if exact_text:
            text = json.dumps(want, separators=(",", ":"))
            if rec.get("body") != text:
                self.fail(f"{run.label}: request body text is not the compact "
                          f"form in the interface's key order (got shape "
                          f"{_shape(rec.get('json'))}, length {len(rec.get('body') or '')}"
                          f", expected length {len(text)})")

    def expect_env(self, run, want):
        """want: name -> value, or name -> None for 'absent'."""
        for name, value in want.items():
            got = run.env.get(name)
            if value is None and got is not None:
                self.fail(f"{run.label}: {name} is set, expected absent")
            if value is not None and got != value:
                self.fail(f"{run.label}: {name}={self.suite.redact(repr(got))}, "
                          f"expected {self.suite.redact(repr(value))}")

    def expect_no_heroku_env(self, run):
        names = [n for listing in run.env_listings for n in listing
                 if n.startswith("HEROKU_")]
        if names:
            self.fail(f"{run.label}: PAM environment holds {sorted(set(names))}, "
                      f"expected none")

    def expect_summary(self, run, user, heroku_user_id="-", outcome=None,
                       request_id="record", index=0):
        """The run's index-th summary line: outcome word (default: from the
        auth result), user, heroku_user_id (exact, compared case-insensitively;
        None: any) and request_id ("record": the Request-Id of the run's
        index-th request, or "-" when none reached the fake; "any": the
        record's or "-"; or a literal)."""
        found = run.summaries()
        if len(found) <= index:
            self.fail(f"{run.label}: no summary line {index + 1}; log: "
                      f"{self._log_excerpt(run)}")
        word, logged_user, hid, rid = found[index]
        if outcome is None:
            outcome = OUTCOME_WORD.get(run.auth)
        if outcome is not None and word != outcome:
            self.fail(f"{run.label}: logged outcome '{word}', expected '{outcome}'")
        if logged_user != user:
            self.fail(f"{run.label}: logged user={self.suite.redact(logged_user)}, "
                      f"expected user={user}")
        if heroku_user_id is not None and hid.lower() != heroku_user_id.lower():
            self.fail(f"{run.label}: logged heroku_user_id={hid}, "
                      f"expected {heroku_user_id}")
        recorded = run.records[index]["request_id"] if len(run.records) > index else "-"
        if request_id == "record":
            allowed = {recorded}
        elif request_id == "any":
            allowed = {recorded, "-"}
        else:
            allowed = {request_id}
        if rid not in allowed:
            self.fail(f"{run.label}: logged request_id={rid}, expected "
                      f"{' or '.join(sorted(allowed))}")

    def expect_logged(self, run, pattern, why):
        rx = re.compile(pattern)
        if not any(rx.search(text) for _, text in run.syslog):
            self.fail(f"{run.label}: nothing logged matching {why}; log: "
                      f"{self._log_excerpt(run)}")


def _feed(fd, payload):
    try:
        view = memoryview(payload)
        while view:
            n = os.write(fd, view)
            view = view[n:]
    except OSError:
        pass
    finally:
        os.close(fd)


def _shape(value):
    """A JSON value's structure with strings replaced by their type, so a
    failure message never shows a credential or a secret."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_shape(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_shape(v) for v in value) + "]"
    if isinstance(value, str):
        return "str"
    return json.dumps(value)


# --------------------------------------------------------------------------
# /dev/log: the syslog sink for programs that log through the system's
# socket (sshd, sudo and the module in them), where PAM_DRIVER_SYSLOG cannot
# reach.  Used by the dev_log fixture (tests/conftest.py) and tests/e2e.

DEV_LOG = "/dev/log"
_CLONE_NEWNS = 0x00020000
_MS_REC = 0x4000
_MS_PRIVATE = 0x40000


def enter_private_mount_namespace():
    """Move this process (and what it starts from now on) into a mount
    namespace of its own whose mounts do not propagate back, as `unshare
    --mount --propagation private` does: bind mounts over system files are
    then seen by nothing else on the machine.  Returns None, or why not."""
    import ctypes   # only here: nothing else needs it
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(_CLONE_NEWNS) != 0:
        return f"unshare(CLONE_NEWNS): {os.strerror(ctypes.get_errno())}"
    if libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None) != 0:
        return f"mount --make-rprivate /: {os.strerror(ctypes.get_errno())}"
    return None


class DevLog:
    """Datagrams sent to /dev/log, kept as (priority, text) in order.

    /dev/log missing (no syslog daemon, the usual container/CI case): the
    sink binds there itself and unlinks it at close (only if the socket there
    is still its own).  /dev/log present: with private_mounts (this process
    is in a private mount namespace, see enter_private_mount_namespace) the
    sink is bind-mounted over it, so programs this process starts log to the
    sink while the rest of the machine still logs to the real daemon;
    without, nothing is caught and `problem` says why."""

    LINE_RE = re.compile(r"^<(\d+)>(.*)$", re.S)

    def __init__(self, directory, private_mounts):
        self.lock = threading.Lock()
        self.lines = []
        self.problem = None
        self.sock = None
        self.mounted = False
        if os.path.lexists(DEV_LOG) and not private_mounts:
            self.problem = (f"{DEV_LOG} exists and this test process has no private "
                            "mount namespace to cover it in; the log lines cannot be "
                            "checked")
            return
        path = DEV_LOG if not os.path.lexists(DEV_LOG) else os.path.join(directory, "dev-log")
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            self.sock.bind(path)
            os.chmod(path, 0o666)
            st = os.lstat(path)
            self.identity = (st.st_dev, st.st_ino)
            if path != DEV_LOG:
                subprocess.run(["mount", "--bind", path, DEV_LOG], check=True,
                               capture_output=True, env=clean_env())
                self.mounted = True
        except (OSError, subprocess.CalledProcessError) as e:
            self.sock.close()
            self.sock = None
            self.problem = f"cannot listen at {DEV_LOG}: {e}"
            return
        self.sock.settimeout(0.2)
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while self.running:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            text = data.decode("utf-8", "replace").rstrip("\n\0")
            m = self.LINE_RE.match(text)
            entry = (int(m.group(1)), m.group(2)) if m else (-1, text)
            with self.lock:
                self.lines.append(entry)

    def mark(self):
        with self.lock:
            return len(self.lines)

    def since(self, mark):
        """The (priority, text) entries received after mark()."""
        with self.lock:
            return list(self.lines[mark:])

    def _still_ours(self):
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            return False
        return (st.st_dev, st.st_ino) == self.identity

    def close(self):
        if self.sock is None:
            return
        self.running = False
        self.thread.join(2)
        self.sock.close()
        if self.mounted:
            subprocess.run(["umount", DEV_LOG], capture_output=True, env=clean_env())
        elif self._still_ours():
            os.unlink(self.path)
        self.sock = None
