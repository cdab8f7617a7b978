#!/usr/bin/python3
"""A fake Heroku Platform API `POST /oauth/tokens`, over HTTPS on loopback.

The full contract is tests/FAKE_API.md; this docstring is the short version.

    /usr/bin/python3 tests/fake_api.py --cert server.pem --key server.key \\
        --client-secret-file FILE [--host 127.0.0.1] [--port 0] \\
        --port-file PORTFILE --record RECORD.jsonl [--handshakes FILE] [--verbose]

The port it listens on is written to PORTFILE (atomically, once listening).
Every request is appended to RECORD.jsonl as one JSON object:
{"method", "path", "headers", "body", "json", "schema_errors", "alpn",
"request_id", "status"}.  With --handshakes, every completed TLS handshake
appends one line to FILE, whether a request follows or not.  SIGTERM or SIGINT stop it cleanly (exit 0).

As strict as Heroku's schema: every POST /oauth/tokens is validated against
the `create` link's request schema (tests/heroku-schema/, vendored from
heroku/platform-api) and answered 400 `bad_request` when it is not JSON, 422
`invalid_params` when the schema refuses it, 401 `unauthorized` when
`client.secret` is not the first line of FILE (a file, so the secret is
never on a command line); only then does the credential choose the
answer.

The answer is chosen by the credential: `grant.code` for the
authorization_code grant, `refresh_token.token` for the refresh_token grant.
All behaviours live in one table, BEHAVIOURS (plus `slow-N`, parsed in
`behaviour_for`):

    ok-alice / ok-bob / ok-carol / ok-dave / ok-stranger   201, that user
    ok-alice-nosession / -nullsession / -badsession / -longsession
    ok-alice-badtoken                      201 alice, with a broken field
    nouser / nulluser / nulluserid / baduuid / numberuserid
    dupuser / dupuserid                    201 with a broken `user`
    reject-400 -401 -403 -404 -422         that status, Heroku-style error
    escape-401                             401, message full of escapes
    unicode-401                            401, message with bidi controls,
                                           separators and non-ASCII spaces
    hostile-request-id                     401 whose Request-Id holds a
                                           space, quote, backslash, NBSP
    status-200                             200 with an alice body
    status-301 / status-302                redirect to the path
                                           /redirected/oauth/tokens,
                                           which answers 201 alice
    status-429 / -500 / -503 / -418        that status
    slow-N                                 sleep N seconds, then 201 alice
    malformed / notjson / notobject / empty
    oversized / oversized-chunked          201 alice padded to 100 KiB
    hostile answers (tests/hardening):
      deepnest / hugenumber / hugenumber-expires / badutf8 / nuluserid /
      nulsession / dupsession / dupsessionid / duptoken / trailing-object /
      hugeheader / chunk-hugesize          201 with a hostile body or head
      dribble                              201 alice, one byte a second
      close-midbody / close-midchunk       201 alice, connection closed
                                           before the declared end
      late-N                               201 alice head at once, body
                                           after N seconds
    anything else                          401 unauthorized

Tokens in a 201 body are derived from the credential (see `token_for`), so a
test can import this module, compute them and look for leaks.

To add a hostile behaviour, add a row to BEHAVIOURS. A row returns a Response;
one that must misbehave on the wire (dribble bytes, close mid-body, ...) can
subclass Response and override `deliver`.

Python 3 standard library and Debian's python3-jsonschema: run it with
/usr/bin/python3 (the pyenv python3 on PATH has no jsonschema).
"""

import argparse
import base64
import datetime
import email.utils
import hashlib
import http.server
import json
import os
import re
import signal
import socket
import socketserver
import ssl
import sys
import threading
import time
import uuid

import jsonschema  # Debian's python3-jsonschema: run under /usr/bin/python3

# --------------------------------------------------------------------------
# Fixed data of the behaviour table.

ALICE_ID = "01234567-89ab-cdef-0123-456789abcdef"
BOB_ID = "11111111-2222-4333-8444-555555555555"
CAROL_ID = "AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE"  # upper case on purpose
DAVE_ID = "22222222-3333-4444-8555-666666666666"
STRANGER_ID = "99999999-9999-4999-8999-999999999999"  # in no allowlist

SESSION_IDS = {
    ALICE_ID: "5e551010-aaaa-4bbb-8ccc-000000000001",
    BOB_ID: "5e551010-aaaa-4bbb-8ccc-000000000002",
    CAROL_ID: "5e551010-aaaa-4bbb-8ccc-000000000003",
    DAVE_ID: "5e551010-aaaa-4bbb-8ccc-000000000004",
    STRANGER_ID: "5e551010-aaaa-4bbb-8ccc-000000000009",
}

UNAUTHORIZED = {"id": "unauthorized",
                "message": "Invalid credentials provided."}

# A message that would paint the terminal red, set its title, and forge a
# syslog line if the module passed it through unsanitised; over 200 bytes so
# truncation is exercised too.
ESCAPE_MESSAGE = ("\u001b[31mred\u001b]0;title\u0007 text\r\n"
                  "May  1 00:00:00 host sshd[1]: Accepted password for root"
                  + "x" * 300)

# What an escape cannot do, Unicode can: reorder text (RIGHT-TO-LEFT OVERRIDE,
# isolates), break a log line (LINE/PARAGRAPH SEPARATOR, NEL) or forge a
# field with a space that is not ASCII's.  Every one must be dropped.
UNICODE_MESSAGE = ("evil\u202etxt.exe\u2028May  1 00:00:00 host sshd[1]: forged"
                   "\u2029x\u00a0heroku_user_id=" + "01234567-89ab-cdef-0123-456789abcdef"
                   + "\u2066i\u2069\u3000\u2007\u0085\u200b\ufeffend")

# A Request-Id a log parser could be fooled by: a space, a quote, a
# backslash and a NO-BREAK SPACE, each followed by a forged field.
HOSTILE_REQUEST_ID = 'r1 user=root"x\\y\u00a0heroku_user_id=forged'

ERRORS = {
    400: {"id": "bad_request", "message": "Invalid request."},
    401: UNAUTHORIZED,
    403: {"id": "forbidden",
          "message": "You do not have access to this resource."},
    404: {"id": "not_found", "message": "Couldn't find that resource."},
    418: {"id": "teapot", "message": "I'm a teapot."},
    422: {"id": "invalid_params", "message": "Invalid grant."},
    429: {"id": "rate_limit",
          "message": "Your account reached the API rate limit"},
    500: {"id": "internal_server_error",
          "message": "Internal server error."},
    503: {"id": "unavailable", "message": "Service unavailable."},
}

OVERSIZED_BYTES = 100 * 1024
MAX_REQUEST_BODY = 1024 * 1024
REDIRECT_PATH = "/redirected/oauth/tokens"
TOKEN_PATH = "/oauth/tokens"

# Heroku's request schema for POST /oauth/tokens (tests/heroku-schema/).
SCHEMA_PATH = os.path.join(os.path.dirname(os.path.realpath(__file__)),
                           "heroku-schema", "oauth-token-create.json")


def request_validator():
    with open(SCHEMA_PATH, encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def schema_errors(validator, parsed):
    """What Heroku's schema says against a parsed body, as short texts that
    name the place, never the value (the body holds secrets)."""
    errors = []
    for e in validator.iter_errors(parsed):
        where = "/".join(str(p) for p in e.absolute_path) or "(body)"
        errors.append(f"{where}: {e.validator} {e.validator_value!r}")
    return sorted(errors)


# Namespace for the deterministic ids in a 201 body (any fixed UUID will do).
ID_NAMESPACE = uuid.UUID("5e551010-0000-4000-8000-00000000fa4e")


def token_for(kind, credential):
    """The token the fake hands out: kind is "access" or "refresh".

    FAKE_API.md says `HRKU-AA` + urlsafe-b64(sha256(kind + ":" + credential))
    [:58]. The base64 of a 32-byte digest is only 43 characters (+ "="), so
    the base64 is taken of the *hex* digest (64 bytes -> 88 characters) to
    reach the 58 base64url characters a real Heroku token has.
    """
    hexdigest = hashlib.sha256(f"{kind}:{credential}".encode()).hexdigest()
    b64 = base64.urlsafe_b64encode(hexdigest.encode()).decode()
    return "HRKU-AA" + b64[:58]


# --------------------------------------------------------------------------
# Responses.

class Response:
    """One HTTP response, built whole in memory.

    `deliver` sends it with a single sendall: with TCP_NODELAY on the socket
    that means no Nagle / delayed-ACK stall between headers and body, so
    timings in the tests reflect the module, not the fake.
    """

    def __init__(self, status, body=b"", content_type="application/json",
                 headers=None, chunked=False):
        self.status = status
        self.body = body.encode() if isinstance(body, str) else body
        self.content_type = content_type
        self.headers = list(headers or [])
        self.chunked = chunked

    def wire(self, request_id, head_only=False):
        reason = http.server.BaseHTTPRequestHandler.responses.get(
            self.status, ("Unknown",))[0]
        # A row may send a Request-Id of its own (hostile-request-id does).
        request_id = getattr(self, "request_id", None) or request_id
        lines = [f"HTTP/1.1 {self.status} {reason}",
                 f"Date: {email.utils.formatdate(usegmt=True)}",
                 "Server: fake_api.py",
                 f"Request-Id: {request_id}"]
        # A row may set its own RateLimit-Remaining (status-429 does).
        names = {name.lower() for name, _ in self.headers}
        if "ratelimit-remaining" not in names:
            lines.append("RateLimit-Remaining: 4499")
        lines += [f"{name}: {value}" for name, value in self.headers]
        if self.content_type is not None:
            lines.append(f"Content-Type: {self.content_type}")
        if self.chunked:
            lines.append("Transfer-Encoding: chunked")
            payload = _chunk(self.body)
        else:
            lines.append(f"Content-Length: {len(self.body)}")
            payload = self.body
        lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head if head_only else head + payload

    def deliver(self, sock, request_id, head_only=False):
        sock.sendall(self.wire(request_id, head_only))


def _chunk(data, size=16 * 1024):
    """Chunked transfer coding of data, several chunks so it is real."""
    out = bytearray()
    for i in range(0, len(data), size):
        piece = data[i:i + size]
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
    return bytes(out + b"0\r\n\r\n")


def with_request_id(response, request_id):
    """The response, sent with this Request-Id (str; its code points below
    256 go out as those bytes, as HTTP/1.1 headers are latin-1 on the wire)
    instead of a fresh one."""
    response.request_id = request_id.encode("utf-8").decode("latin-1")
    return response


def json_response(status, obj, **kw):
    return Response(status, json.dumps(obj), **kw)


def error(status, obj=None, **kw):
    return json_response(status, obj or ERRORS[status], **kw)


# --------------------------------------------------------------------------
# The 201 body, in Heroku's shape.

# Sentinels for token_body's `session`: the user's own id / no key at all.
_DEFAULT = object()
_OMIT = object()


def token_body(req, user=ALICE_ID, session=_DEFAULT, access_token=None):
    """A Heroku-shaped 201 body as a dict.

    session: _DEFAULT for the user's own session id, _OMIT to leave the key
    out, None for `"session": null`, or any other value for session.id.
    """
    cred = req.credential
    now = datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")

    def an_id(what):
        return str(uuid.uuid5(ID_NAMESPACE, f"{what}:{cred}"))

    body = {
        "access_token": {
            "expires_in": 28799,
            "id": an_id("access_token"),
            "token": token_for("access", cred) if access_token is None
            else access_token,
        },
        "authorization": {"id": an_id("authorization")},
        "client": {"secret": None},
        "created_at": now,
        "grant": {
            "code": cred if req.grant_type == "authorization_code" else None,
            "type": req.grant_type,
        },
        "id": an_id("oauth_token"),
        "refresh_token": {
            "expires_in": None,
            "id": an_id("refresh_token"),
            "token": token_for("refresh", cred),
        },
        "session": None,
        "updated_at": now,
        "user": {"id": user},
    }
    if session is _OMIT:
        del body["session"]
    elif session is _DEFAULT:
        body["session"] = {"id": SESSION_IDS[user]}
    elif session is not None:
        body["session"] = {"id": session}
    return body


def success(user=ALICE_ID, status=201, **kw):
    """A row: answer `status` with a well-formed body for `user`."""
    return lambda req: json_response(status, token_body(req, user, **kw))


def shaped(mutate):
    """A row: 201 with an alice body changed by mutate(body) in place."""
    def row(req):
        body = token_body(req)
        mutate(body)
        return json_response(201, body)
    return row


def duplicated(req, inner):
    """201 alice whose raw text repeats `user` (or `user.id`) with stranger.

    A JSON object with a duplicate key cannot be made with json.dumps, so the
    text is spliced: the first occurrence is alice, the second (which most
    parsers keep) is the stranger.
    """
    body = token_body(req)
    del body["user"]
    text = json.dumps(body)[:-1]  # drop the closing brace
    alice, stranger = f'"id": "{ALICE_ID}"', f'"id": "{STRANGER_ID}"'
    if inner:
        user = f'"user": {{{alice}, {stranger}}}'
    else:
        user = f'"user": {{{alice}}}, "user": {{{stranger}}}'
    return Response(201, f"{text}, {user}}}")


def oversized(chunked):
    """A row: valid alice body padded with a `padding` key to 100 KiB."""
    def row(req):
        body = token_body(req)
        body["padding"] = ""
        short = len(json.dumps(body))  # json.dumps output is pure ASCII
        body["padding"] = "x" * (OVERSIZED_BYTES - short)
        return json_response(201, body, chunked=chunked)
    return row


def status_only(status):
    """A row: that status with its Heroku-style error body."""
    return lambda req: error(status)


def redirect(status):
    def row(req):
        host = f"[{req.host}]" if ":" in req.host else req.host
        location = f"https://{host}:{req.port}{REDIRECT_PATH}"
        return json_response(status, {"id": "moved",
                                      "message": f"See {location}"},
                             headers=[("Location", location)])
    return row


def slow(seconds):
    def row(req):
        time.sleep(seconds)
        return success()(req)
    return row


# --------------------------------------------------------------------------
# Hostile answers (tests/hardening): bodies a parser may choke on or misread,
# and answers that misbehave on the wire.

DEEP_NESTING = 10000        # cJSON refuses more than 1000 levels
HUGE_DIGITS = 20000         # digits in a "huge number"
HUGE_HEADER_BYTES = 256 * 1024   # libcurl refuses header lines over 100 KiB


def raw_201(text):
    """A 201 whose body is the given text (str, or bytes when not UTF-8)."""
    return Response(201, text)


def deepnest(req):
    """201 alice with a value nested DEEP_NESTING arrays deep."""
    body = json.dumps(token_body(req))[:-1]
    return raw_201(body + ', "padding": ' + "[" * DEEP_NESTING
                   + "]" * DEEP_NESTING + "}")


def hugenumber(where):
    """201 alice with a HUGE_DIGITS-digit integer as user.id or as
    access_token.expires_in (a field the module does not read)."""
    def row(req):
        body = token_body(req)
        marker = "HUGE_NUMBER_HERE"
        if where == "user":
            body["user"]["id"] = marker
        else:
            body["access_token"]["expires_in"] = marker
        return raw_201(json.dumps(body).replace(
            f'"{marker}"', "9" * HUGE_DIGITS))
    return row


def badutf8(req):
    """201 alice with bytes that are not UTF-8 in a field the module does
    not read: a stray continuation byte, 0xFF, an overlong '/' and an
    encoded surrogate.  JSON text must be UTF-8 (RFC 8259 section 8.1)."""
    body = token_body(req)
    body["client"] = {"secret": None, "name": "MARKER"}
    text = json.dumps(body).encode()
    return raw_201(text.replace(b"MARKER",
                                b"a\x80b\xffc\xc0\xafd\xed\xa0\x80e"))


def escaped_nul(field):
    """201 alice whose user.id or session.id carries an escaped NUL: a C
    string would end at the NUL and look like a valid value."""
    def row(req):
        body = token_body(req)
        if field == "user":
            body["user"]["id"] = ALICE_ID + "\u0000" + STRANGER_ID
        else:
            body["session"]["id"] = "abc\u0000\u001b[31mred"
        return json_response(201, body)
    return row


def repeated(path):
    """201 alice whose raw text repeats a key the module reads: `session`,
    `session.id` or `access_token` (values differ, so taking either one
    would be a choice the module must not make)."""
    def row(req):
        body = token_body(req)
        other = token_body(req, user=STRANGER_ID)
        if path == "session":
            first = json.dumps(body.pop("session"))
            text = json.dumps(body)[:-1]
            return raw_201(f'{text}, "session": {first}, "session": '
                           f'{json.dumps(other["session"])}}}')
        if path == "session.id":
            del body["session"]
            text = json.dumps(body)[:-1]
            return raw_201(f'{text}, "session": {{"id": '
                           f'"{SESSION_IDS[ALICE_ID]}", "id": '
                           f'"{SESSION_IDS[STRANGER_ID]}"}}}}')
        first = json.dumps(body.pop("access_token"))
        second = dict(other["access_token"], token=token_for(
            "access", f"{req.credential}-second"))
        text = json.dumps(body)[:-1]
        return raw_201(f'{text}, "access_token": {first}, "access_token": '
                       f'{json.dumps(second)}}}')
    return row


def trailing_object(req):
    """201: an alice body directly followed by a stranger body."""
    return raw_201(json.dumps(token_body(req))
                   + json.dumps(token_body(req, user=STRANGER_ID)))


class HugeHeader(Response):
    """201 alice after one header line of HUGE_HEADER_BYTES."""

    def wire(self, request_id, head_only=False):
        whole = super().wire(request_id, head_only)
        head, _, body = whole.partition(b"\r\n\r\n")
        return (head + b"\r\nX-Padding: " + b"x" * HUGE_HEADER_BYTES
                + b"\r\n\r\n" + body)


class ChunkHugeSize(Response):
    """201, chunked, whose first chunk claims 2**72 - 1 bytes."""

    def __init__(self, body):
        super().__init__(201, body, chunked=True)

    def wire(self, request_id, head_only=False):
        head = super().wire(request_id, head_only=True)
        return head + b"ffffffffffffffffff\r\n" + self.body


class Dribble(Response):
    """Sends its bytes one at a time, one a second, until the client goes.

    A client with only a per-read inactivity timeout would wait for all of
    it (an hour for a 4 KiB answer); the whole-exchange timeout must hold.
    """
    interval = 1.0

    def deliver(self, sock, request_id, head_only=False):
        for byte in self.wire(request_id, head_only):
            sock.sendall(bytes([byte]))
            time.sleep(self.interval)


class CloseEarly(Response):
    """Sends a complete alice body, but closes before the declared end:
    Content-Length claims 100 more bytes, or (chunked) the last chunk never
    comes.  Whatever arrived parses as a valid answer, so a client that
    shrugs off the early close would log the user in."""

    def wire(self, request_id, head_only=False):
        if self.chunked:
            whole = super().wire(request_id, head_only)
            assert whole.endswith(b"0\r\n\r\n")
            return whole[:-len(b"0\r\n\r\n")]
        whole = super().wire(request_id, head_only)
        return whole.replace(b"Content-Length: %d\r\n" % len(self.body),
                             b"Content-Length: %d\r\n" % (len(self.body) + 100), 1)

    def deliver(self, sock, request_id, head_only=False):
        sock.sendall(self.wire(request_id, head_only))
        # No close_notify: the peer sees the TCP stream end.
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class Late(Response):
    """Head at once, body after `delay` seconds: the timeout must cover the
    whole exchange, not only the wait for the first byte."""

    def __init__(self, body, delay):
        super().__init__(201, body)
        self.delay = delay

    def deliver(self, sock, request_id, head_only=False):
        whole = self.wire(request_id, head_only)
        head, _, body = whole.partition(b"\r\n\r\n")
        sock.sendall(head + b"\r\n\r\n")
        time.sleep(self.delay)
        sock.sendall(body)


def late(seconds):
    return lambda req: Late(json.dumps(token_body(req)), seconds)


def alice_text(req):
    return json.dumps(token_body(req))


# The behaviour table: credential -> row, a row being req -> Response.
BEHAVIOURS = {
    "ok-alice": success(ALICE_ID),
    "ok-bob": success(BOB_ID),
    "ok-carol": success(CAROL_ID),
    "ok-dave": success(DAVE_ID),
    "ok-stranger": success(STRANGER_ID),
    "ok-alice-nosession": success(session=_OMIT),
    "ok-alice-nullsession": success(session=None),
    "ok-alice-badsession": success(session="abc\ninjected"),
    "ok-alice-longsession": success(session="a" * 129),
    "ok-alice-badtoken": success(access_token="bad token\u001b[0m"),
    "nouser": shaped(lambda b: b.pop("user")),
    "nulluser": shaped(lambda b: b.update(user=None)),
    "nulluserid": shaped(lambda b: b.update(user={"id": None})),
    "baduuid": shaped(lambda b: b.update(user={"id": "not-a-uuid"})),
    "numberuserid": shaped(lambda b: b.update(user={"id": 42})),
    "dupuser": lambda req: duplicated(req, inner=False),
    "dupuserid": lambda req: duplicated(req, inner=True),
    **{f"reject-{s}": status_only(s) for s in (400, 401, 403, 404, 422)},
    "escape-401": lambda req: error(401, {"id": "unauthorized",
                                          "message": ESCAPE_MESSAGE}),
    "unicode-401": lambda req: error(401, {"id": "unauthorized",
                                           "message": UNICODE_MESSAGE}),
    "hostile-request-id": lambda req: with_request_id(error(401), HOSTILE_REQUEST_ID),
    "status-200": success(status=200),
    "status-301": redirect(301),
    "status-302": redirect(302),
    "status-429": lambda req: error(
        429, headers=[("RateLimit-Remaining", "0")]),
    "status-500": status_only(500),
    "status-503": status_only(503),
    "status-418": status_only(418),
    "malformed": lambda req: Response(
        201, '{"user": {"id": "01234567-89ab'),
    "notjson": lambda req: Response(201, "<html>hello</html>",
                                    content_type="text/html"),
    "notobject": lambda req: Response(201, "[1, 2, 3]"),
    "empty": lambda req: Response(201, b""),
    "oversized": oversized(chunked=False),
    "oversized-chunked": oversized(chunked=True),
    # Hostile answers (tests/hardening).
    "deepnest": deepnest,
    "hugenumber": hugenumber("user"),
    "hugenumber-expires": hugenumber("expires"),
    "badutf8": badutf8,
    "nuluserid": escaped_nul("user"),
    "nulsession": escaped_nul("session"),
    "dupsession": repeated("session"),
    "dupsessionid": repeated("session.id"),
    "duptoken": repeated("access_token"),
    "trailing-object": trailing_object,
    "hugeheader": lambda req: HugeHeader(201, alice_text(req)),
    "chunk-hugesize": lambda req: ChunkHugeSize(alice_text(req)),
    "dribble": lambda req: Dribble(201, alice_text(req)),
    "close-midbody": lambda req: CloseEarly(201, alice_text(req)),
    "close-midchunk": lambda req: CloseEarly(201, alice_text(req),
                                              chunked=True),
}

_SLOW = re.compile(r"slow-(\d+(?:\.\d+)?)")
_LATE = re.compile(r"late-(\d+(?:\.\d+)?)")
MAX_SLOW = 3600.0  # a typo must not park a thread for a day


def behaviour_for(credential):
    """The row for a credential; anything unknown is a plain 401."""
    if credential in BEHAVIOURS:
        return BEHAVIOURS[credential]
    for pattern, row in ((_SLOW, slow), (_LATE, late)):
        m = pattern.fullmatch(credential or "")
        if m and float(m.group(1)) <= MAX_SLOW:
            return row(float(m.group(1)))
    return status_only(401)


# --------------------------------------------------------------------------
# The request side.

class Request:
    """What a row may look at: credential, grant type, where we listen."""

    def __init__(self, parsed, host, port):
        self.grant_type, self.credential = credential_of(parsed)
        self.host = host
        self.port = port


def credential_of(parsed):
    """(grant type, credential) from a parsed body, or (None, None)."""
    if not isinstance(parsed, dict):
        return None, None
    grant = parsed.get("grant")
    gtype = grant.get("type") if isinstance(grant, dict) else None
    if gtype == "authorization_code":
        value = grant.get("code")
    elif gtype == "refresh_token":
        refresh = parsed.get("refresh_token")
        value = refresh.get("token") if isinstance(refresh, dict) else None
    else:
        return None, None
    return gtype, value if isinstance(value, str) else None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake_api.py"
    # Bounds a client that connects and never finishes its request.
    timeout = 30

    def dispatch(self):
        self.close_connection = True  # one request per connection
        request_id = str(uuid.uuid4())
        raw = b""
        parsed = None

        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding"):
            # libcurl sends POSTFIELDS with Content-Length; nothing in the
            # module should stream a request body.
            response = error(411, {"id": "length_required",
                                   "message": "Content-Length required."})
        elif length is not None and not re.fullmatch(r"\s*[0-9]+\s*",
                                                     length):
            response = error(400)
        elif length is not None and int(length) > MAX_REQUEST_BODY:
            # Not read: answering and closing is all a test needs.
            response = error(413, {"id": "request_too_large",
                                   "message": "Request body too large."})
        else:
            raw = self.rfile.read(int(length or 0))
            try:
                parsed = json.loads(raw)
                is_json = True
            except (ValueError, RecursionError):  # not JSON, or absurdly deep
                parsed, is_json = None, False
            response = self.route(parsed, is_json)

        self.answer(request_id, response, raw, parsed)

    # Every method goes through the same path; only POST can ever succeed.
    do_POST = do_GET = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = \
        do_HEAD = dispatch

    def route(self, parsed, is_json):
        path = self.path.split("?", 1)[0]
        req = Request(parsed, self.server.public_host,
                      self.server.server_address[1])
        if path == REDIRECT_PATH and self.command in ("POST", "GET"):
            # The target of status-301/302: answers as if the credential had
            # been good, so a client that follows redirects would "succeed".
            # GET too, because clients turn a followed 301/302 POST into GET.
            return success()(req)
        if path == TOKEN_PATH and self.command == "POST":
            return self.strict(parsed, is_json) or behaviour_for(req.credential)(req)
        return error(404)

    def strict(self, parsed, is_json):
        """Heroku's refusal of a request its schema or its client check
        refuses; None when the request may go on to the behaviour table."""
        if not is_json:
            return error(400, {"id": "bad_request",
                               "message": "Request body must be JSON."})
        self.schema_errors = schema_errors(self.server.validator, parsed)
        if self.schema_errors:
            return error(422, {"id": "invalid_params",
                               "message": "Invalid params: "
                               + "; ".join(self.schema_errors)})
        client = parsed.get("client") or {}
        if client.get("secret") != self.server.client_secret:
            return error(401, {"id": "unauthorized",
                               "message": "Invalid OAuth client secret."})
        return None

    def answer(self, request_id, response, raw, parsed):
        # Record before sending, so a test that has its answer can already
        # read the record of it.
        self.server.record({
            "method": self.command,
            "path": getattr(self, "path", None),
            "headers": dict(self.headers.items()) if self.headers else {},
            "body": raw.decode("utf-8", errors="replace"),
            "json": parsed,
            "schema_errors": getattr(self, "schema_errors", None),
            "alpn": self.alpn(),
            "request_id": request_id,
            "status": response.status,
        })
        self.log_message('"%s" %d', getattr(self, "requestline", ""),
                         response.status)
        try:
            response.deliver(self.connection, request_id,
                             head_only=self.command == "HEAD")
        except OSError as e:  # the client gave up (e.g. its timeout hit)
            self.log_message("send failed: %s", e)

    def alpn(self):
        """The protocol TLS negotiated (ALPN), None when none was."""
        selected = getattr(self.connection, "selected_alpn_protocol", None)
        return selected() if selected else None

    def send_error(self, code, message=None, explain=None):
        # Requests http.server cannot even parse (bad request line, huge
        # headers, unknown method) get the same single-send JSON treatment.
        self.close_connection = True
        self.headers = getattr(self, "headers", None)
        self.command = getattr(self, "command", None)
        phrase = self.responses.get(code, ("error",))[0]
        body = {"id": phrase.lower().replace(" ", "_"),
                "message": message or phrase}
        self.answer(str(uuid.uuid4()), error(code, body), b"", None)

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("fake_api: %s %s\n" % (
                self.address_string(), fmt % args))


# --------------------------------------------------------------------------
# The server.

class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True        # a stuck client never blocks shutdown
    request_queue_size = 128     # tests open 100+ connections at once
    allow_reuse_address = True

    def __init__(self, host, port, context, record_path, verbose,
                 client_secret, handshakes_path=None):
        self.address_family = socket.AF_INET6 if ":" in host \
            else socket.AF_INET
        self.public_host = host
        self.context = context
        self.record_path = record_path
        self.handshakes_path = handshakes_path
        self.verbose = verbose
        self.client_secret = client_secret
        self.validator = request_validator()
        self.record_lock = threading.Lock()
        super().__init__((host, port), Handler)

    def server_bind(self):
        # HTTPServer.server_bind calls getfqdn(), a reverse DNS lookup that
        # can stall on a box without network; the name is never used.
        socketserver.TCPServer.server_bind(self)
        self.server_name = self.public_host
        self.server_port = self.server_address[1]

    def process_request_thread(self, request, client_address):
        # The TLS handshake runs here, in the connection's own thread, not in
        # accept(): a client that stalls mid-handshake holds only itself up.
        try:
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            request.settimeout(Handler.timeout)
            request = self.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError) as e:
            # Expected in the bad-certificate tests: the client refuses us.
            if self.verbose:
                sys.stderr.write(f"fake_api: {client_address[0]} "
                                 f"TLS handshake failed: {e}\n")
            request.close()
            return
        if self.handshakes_path:
            # A connection opened with nothing sent on it shows only here.
            with self.record_lock, open(self.handshakes_path, "a",
                                        encoding="ascii") as f:
                f.write(f"{client_address[0]} {client_address[1]}\n")
        super().process_request_thread(request, client_address)

    def handle_error(self, request, client_address):
        if self.verbose:
            super().handle_error(request, client_address)

    def record(self, entry):
        line = json.dumps(entry) + "\n"
        with self.record_lock:
            # Opened per line, so a test may truncate or remove the file
            # between cases; O_APPEND keeps each line whole.
            with open(self.record_path, "a", encoding="utf-8") as f:
                f.write(line)
                f.flush()


def write_port_file(path, port):
    """Write the port atomically: a reader never sees a partial number."""
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(f"{port}\n")
    os.replace(tmp, path)


def read_client_secret(path):
    """The first line of the file, without its line ending and blanks, as
    the module reads client_secret_file."""
    with open(path, encoding="utf-8") as f:
        secret = f.readline().strip(" \t\r\n")
    if not secret:
        raise SystemExit(f"fake_api: {path}: the first line (the client secret) is empty")
    return secret


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Fake Heroku POST /oauth/tokens over HTTPS, for tests. "
        "Behaviour is chosen by the credential; see tests/FAKE_API.md.")
    p.add_argument("--cert", required=True, help="server certificate (PEM)")
    p.add_argument("--key", required=True, help="server private key (PEM)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on, IPv4 or IPv6 "
                   "(default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0,
                   help="port to listen on; 0 picks a free one (default)")
    p.add_argument("--port-file", required=True,
                   help="where to write the port, once listening")
    p.add_argument("--record", required=True,
                   help="JSON-lines file to append each request to")
    p.add_argument("--handshakes",
                   help="file to append a line to for every completed TLS "
                   "handshake (a connection may carry no request)")
    p.add_argument("--client-secret-file", required=True,
                   help="file whose first line is the OAuth client secret every "
                   "request must carry (anything else is answered 401)")
    p.add_argument("--offer-h2", action="store_true",
                   help="offer h2 before http/1.1 in TLS ALPN, so a client that "
                   "would speak HTTP/2 is caught (the record's \"alpn\" says "
                   "\"h2\"; the fake itself speaks only HTTP/1.1)")
    p.add_argument("--verbose", action="store_true",
                   help="log requests and TLS failures to stderr")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    # Until the server exists there is nothing to drain: a stop request
    # simply ends the process, still with status 0.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda signum, frame: sys.exit(0))

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(args.cert, args.key)
    if args.offer_h2:
        context.set_alpn_protocols(["h2", "http/1.1"])

    # Absolute, so the record lands in the same file whatever the cwd.
    server = Server(args.host, args.port, context,
                    os.path.abspath(args.record), args.verbose,
                    read_client_secret(args.client_secret_file),
                    os.path.abspath(args.handshakes) if args.handshakes else None)

    # serve_forever() runs in this thread and shutdown() waits for it to
    # return, so the signal handler hands shutdown() to another thread.
    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    write_port_file(args.port_file, server.server_address[1])
    if args.verbose:
        sys.stderr.write(f"fake_api: listening on {args.host} "
                         f"port {server.server_address[1]}\n")
    try:
        # A short poll interval makes SIGTERM take effect within 0.1 s,
        # which adds up over a test suite that starts many fakes.
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
