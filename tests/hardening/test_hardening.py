#!/usr/bin/python3
"""Hardening tests: pam_heroku against a hostile API, with key pinning, its
secrets in memory, and 100 logins at once.

    tests/hardening/run [NAME...] [pytest arguments]

Each case drives the built pam_heroku.so through real libpam (tests/pam_driver,
or tests/hardening/heap_scan for the memory cases) against tests/fake_api.py
over TLS, and asserts the PAM result pam_heroku(8) prescribes, the reason the
module logged, and that nothing leaked: no credential, client secret or token
in the driver's output, the conversation or the syslog capture.  Every case's
config file carries a client secret, so every request has one to leak.

Groups (the names say what each case expects):
  hostile_*      the hostile server: broken or ambiguous bodies, answers that
                 misbehave on the wire, late answers, bad certificates, no
                 route, no name, an old TLS version.  All fail closed but
                 one: a huge number in a field the module does not read is
                 valid JSON, and logs in.
  pin_*          pinned_pubkey: right pin, wrong pin, malformed pin.
  memory_*       tests/hardening/heap_scan: after pam_end, the credential, the
                 client secret and both tokens are nowhere in the process.
  parallel_*     100 logins in parallel processes against one fake.

On pytest, with the fixtures of tests/conftest.py.  Tests that need root (a
network namespace, nginx) carry the root marker; the heap scans and the 100
logins the slow marker.  Environment as tests/integration/run, and HEAP_SCAN
(tests/hardening/heap_scan; compiled here with cc when missing).
"""

import os
import re
import shlex
import shutil
import socket
import ssl
import subprocess
import threading
import time
import warnings

import pytest

import harness
from harness import ALICE_ID, BOB_ID, CAROL_ID, DAVE_ID, SESSION_IDS, add_test

SUCCESS = "PAM_SUCCESS"
AUTH_ERR = "PAM_AUTH_ERR"
UNAVAIL = "PAM_AUTHINFO_UNAVAIL"
SERVICE_ERR = "PAM_SERVICE_ERR"

REASON_RE = re.compile(r'\bauth (granted|refused|unavailable|misconfigured): '
                       r'user=\S+ .*reason="(.*)"$')

# --------------------------------------------------------------------------
# Helpers.

def configure(t, **keys):
    """This case's config file: the defaults plus the client secret the
    fakes expect (random per run, registered)."""
    keys.setdefault("client_secret", t.suite.client_secret)
    return t.config(**keys)


def reason_of(run):
    for _, text in run.syslog:
        m = REASON_RE.search(text)
        if m:
            return m.group(2)
    return None


def check_no_leaks(t, label, texts):
    """texts: [(where, text)]; fails naming the secret, never showing it."""
    for value, name in t.suite.secret_items():
        for where, text in texts:
            if value in text:
                t.fail(f"{label}: {where} holds the {name}")


def run_texts(run):
    return ([("driver output", run.stdout), ("driver stderr", run.stderr)]
            + [("syslog", text) for _, text in run.syslog]
            + [("conversation", text) for _, text in run.conv])


def attempt(t, credential, expect, user="alice", reason=None, requests=None,
            within=None, fake=None, env=None, label=None):
    """One login (auth, then env); asserts the result, the logged reason
    (a regex), the requests that reached the fake, the time taken, that a
    failure exports nothing, and that nothing leaked."""
    run = t.login(user, credential, phases=["auth", "env"], fake=fake, env=env,
                  label=label)
    t.expect_auth(run, expect)
    if expect != SUCCESS:
        t.expect_no_heroku_env(run)
    if requests is not None:
        t.expect_requests(run, requests)
    why = reason_of(run)
    if why is None:
        t.fail(f"{run.label}: no summary line with a reason in the log")
    if reason is not None and not re.search(reason, why):
        t.fail(f"{run.label}: logged reason {why!r}, expected one matching {reason!r}")
    if within is not None and run.elapsed > within:
        t.fail(f"{run.label}: took {run.elapsed:.1f} s, expected at most {within} s")
    check_no_leaks(t, run.label, run_texts(run))
    return run


def granted(t, credential, user, heroku_id, **kw):
    run = attempt(t, credential, SUCCESS, user=user, **kw)
    t.expect_env(run, {"HEROKU_USER_ID": heroku_id,
                       "HEROKU_SESSION_ID": SESSION_IDS[heroku_id],
                       "HEROKU_API_KEY": None})
    return run


def documented_pin(cert_path):
    """The pin, computed with exactly the command SECURITY.md gives."""
    command = (f"openssl x509 -in {shlex.quote(cert_path)} -pubkey -noout"
               " | openssl pkey -pubin -outform der"
               " | openssl dgst -sha256 -binary | openssl enc -base64")
    out = subprocess.run(["sh", "-c", command], check=True, capture_output=True,
                         text=True, stdin=subprocess.DEVNULL).stdout.strip()
    if not re.fullmatch(r"[A-Za-z0-9+/]{43}=", out):
        raise harness.CaseFailure("the documented pin command printed something "
                                  "that is not the base64 of 32 bytes")
    return "sha256//" + out


# --------------------------------------------------------------------------
# The hostile server: bodies.

MALFORMED = r"^malformed response: "

BODY_CASES = {
    # name: (credential, reason regex, export_access_token)
    "duplicate_user": ("dupuser", r"user or user\.id appears twice", "no"),
    "duplicate_user_id": ("dupuserid", r"user or user\.id appears twice", "no"),
    "duplicate_session": ("dupsession", r"session or session\.id appears twice", "no"),
    "duplicate_session_id": ("dupsessionid", r"session or session\.id appears twice",
                             "no"),
    "duplicate_exported_access_token": ("duptoken", r"access_token or access_token\.token appears twice",
                                        "yes"),
    "deeply_nested_json": ("deepnest", r"not a JSON object", "no"),
    "huge_number_as_user_id": ("hugenumber", r"user\.id is not a UUID", "no"),
    "invalid_utf8": ("badutf8", r"not UTF-8", "no"),
    "escaped_nul_in_user_id": ("nuluserid", r"\\u0000 escape", "no"),
    "escaped_nul_in_session_id": ("nulsession", r"\\u0000 escape", "no"),
    "second_object_after_the_first": ("trailing-object", r"not a JSON object", "no"),
    "body_cut_short": ("malformed", r"not a JSON object", "no"),
}

for _name, (_credential, _reason, _export) in BODY_CASES.items():
    def _body_case(t, credential=_credential, reason=_reason, export=_export):
        configure(t, export_access_token=export)
        if credential == "duptoken":
            t.suite.add_secret(t.suite.fake_api.token_for(
                "access", f"{credential}-second"), "second access token of duptoken")
        attempt(t, credential, UNAVAIL, reason=MALFORMED + ".*" + reason, requests=1)
    add_test(globals(), f"hostile_{_name}_is_unavailable", _body_case)


def test_hostile_huge_number_in_unread_field_is_still_valid_json(t):
    # A 20000-digit expires_in is valid JSON in a field the module does not
    # read: the answer is judged by the values it uses, so this logs in.
    # What matters here is that nothing crashes or misreads user.id.
    configure(t)
    granted(t, "hugenumber-expires", "alice", ALICE_ID, requests=1)


def test_hostile_duplicate_user_is_never_resolved_for_either_account(t):
    # dupuser names alice first and the stranger second: a parser that keeps
    # the first would log alice in; one that keeps the last would refuse.
    # Neither is acceptable: both accounts get "unavailable".
    configure(t)
    for user in ("alice", "bob"):
        attempt(t, "dupuser", UNAVAIL, user=user, reason=MALFORMED, requests=1,
                label=f"dupuser as {user}")


# --------------------------------------------------------------------------
# The hostile server: the wire.

def test_hostile_oversized_chunked_body_is_unavailable(t):
    configure(t)
    attempt(t, "oversized-chunked", UNAVAIL, reason=r"larger than 65536 bytes",
            requests=1)


def test_hostile_chunk_size_overflow_is_unavailable(t):
    configure(t)
    attempt(t, "chunk-hugesize", UNAVAIL, reason=r"^cannot reach the API: .*chunk",
            requests=1)


def test_hostile_huge_header_is_unavailable(t):
    configure(t)
    attempt(t, "hugeheader", UNAVAIL, reason=r"^cannot reach the API: ", requests=1)


def test_hostile_connection_closed_mid_body_is_unavailable(t):
    configure(t)
    attempt(t, "close-midbody", UNAVAIL,
            reason=r"^cannot reach the API: transfer closed with 100 bytes remaining",
            requests=1)


def test_hostile_connection_closed_mid_chunks_is_unavailable(t):
    configure(t)
    attempt(t, "close-midchunk", UNAVAIL,
            reason=r"^cannot reach the API: transfer closed", requests=1)


# Timing: timeout = 2 s.  The hostile answers would each take at least 6 s to
# complete (dribble: about 900), so "within 5 s" shows the bound held.
TIMEOUT = 2
WITHIN = TIMEOUT + 3


def test_hostile_dribble_one_byte_a_second_hits_total_timeout(t):
    fake = t.private_fake("dribble")
    configure(t, api_url=fake.url, timeout=str(TIMEOUT))
    attempt(t, "dribble", UNAVAIL, reason=rf"^no answer from the API within {TIMEOUT} s",
            within=WITHIN, fake=fake, requests=1)


def test_hostile_body_after_the_timeout_is_unavailable(t):
    fake = t.private_fake("late")
    configure(t, api_url=fake.url, timeout=str(TIMEOUT))
    attempt(t, "late-6", UNAVAIL, reason=rf"^no answer from the API within {TIMEOUT} s",
            within=WITHIN, fake=fake, requests=1)


def test_hostile_answer_after_the_timeout_is_unavailable(t):
    fake = t.private_fake("slow")
    configure(t, api_url=fake.url, timeout=str(TIMEOUT))
    # The fake records a slow answer only once it sends it, after the driver
    # has gone: no request is seen during the run.
    attempt(t, "slow-6", UNAVAIL, reason=rf"^no answer from the API within {TIMEOUT} s",
            within=WITHIN, fake=fake, requests=0)


# --------------------------------------------------------------------------
# The hostile server: certificates, routes, names, TLS versions.

def test_hostile_expired_certificate_is_unavailable(t):
    configure(t, api_url=t.suite.expired.url)
    attempt(t, "ok-alice", UNAVAIL, reason=r"(?i)certificate.*expired",
            fake=t.suite.expired, requests=0)


def test_hostile_self_signed_certificate_is_unavailable(t, self_signed):
    fake = t.private_fake("self-signed", cert="self-signed")
    configure(t, api_url=fake.url)
    attempt(t, "ok-alice", UNAVAIL, reason=r"(?i)self[- ]signed", fake=fake,
            requests=0, label="self-signed, test CA trusted")
    # The control: trusted as ca_file, the same server logs alice in, so the
    # refusal above was about trust and nothing else.
    configure(t, api_url=fake.url, ca_file=t.suite.cert("self-signed.pem"))
    granted(t, "ok-alice", "alice", ALICE_ID, fake=fake, requests=1,
            label="self-signed, itself trusted")


def test_hostile_connection_refused_is_unavailable(t):
    configure(t, api_url=f"https://127.0.0.1:{t.suite.closed_port}")
    attempt(t, "ok-alice", UNAVAIL, reason=r"(?i)connect", within=3, requests=0)


@pytest.mark.root("unshare -n: a network namespace, so no DNS query leaves")
def test_hostile_name_that_does_not_resolve_is_unavailable(t):
    # RFC 6761 reserves .invalid, but the resolver would still ask the DNS
    # server in /etc/resolv.conf.  In a network namespace of its own (no
    # interface up, not even lo) no packet can leave the machine.
    if shutil.which("unshare") is None:
        t.skip("unshare (util-linux) is not installed")
    probe = subprocess.run(["unshare", "-n", "cat", "/proc/net/dev"],
                           capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if probe.returncode != 0:
        t.skip(f"unshare -n does not work here: {probe.stderr.strip()[:100]}")
    names = {line.split(":")[0].strip() for line in probe.stdout.splitlines()[2:]}
    t.check(names <= {"lo"}, f"the new network namespace has interfaces {sorted(names)}")
    configure(t, api_url="https://pam-heroku-test.invalid")
    run = raw_login(t, "alice", "ok-alice", prefix=["unshare", "-n"])
    t.check(run.auth == UNAVAIL, f"auth: got {run.auth}, expected {UNAVAIL}")
    t.check(run.reason is not None and re.search(r"(?i)resolve", run.reason),
            f"logged reason {run.reason!r}, expected a name resolution failure")
    t.check(run.elapsed < 5, f"took {run.elapsed:.1f} s, expected a fast failure")
    t.check(not run.env, f"PAM environment {sorted(run.env)} after a failure")
    check_no_leaks(t, "unresolvable name", run.texts())


class OldTlsServer:
    """A loopback TLS server that speaks only TLS 1.0 and 1.1 (at OpenSSL
    security level 0, so OpenSSL itself does not refuse them), and records
    each handshake: ("ok", version) or ("failed", error)."""

    def __init__(self, cert, key):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
            ctx.maximum_version = ssl.TLSVersion.TLSv1_1
        ctx.set_ciphers("ALL:@SECLEVEL=0")
        ctx.load_cert_chain(cert, key)
        self.ctx = ctx
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.handshakes = []
        self.lock = threading.Lock()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn.settimeout(10)
            try:
                tls = self.ctx.wrap_socket(conn, server_side=True)
                outcome = ("ok", tls.version())
                tls.close()
            except (OSError, ssl.SSLError) as e:
                outcome = ("failed", str(e))
                conn.close()
            with self.lock:
                self.handshakes.append(outcome)

    def seen(self):
        with self.lock:
            return list(self.handshakes)

    def wait(self, count, timeout=5.0):
        """The handshakes, once there are at least count (or timeout)."""
        deadline = time.monotonic() + timeout
        while len(self.seen()) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.seen()

    def stop(self):
        self.sock.close()


PERMISSIVE_OPENSSL_CNF = """\
openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
MinProtocol = TLSv1
CipherString = ALL:@SECLEVEL=0
"""


def test_hostile_tls_1_0_and_1_1_only_is_refused(t):
    server = OldTlsServer(t.suite.cert("server.pem"), t.suite.cert("server.key"))
    t.cleanups.append(server.stop)
    # The module runs with an OpenSSL configuration that allows TLS 1.0 at
    # security level 0: the only thing left to refuse TLS 1.1 is the module's
    # own CURLOPT_SSLVERSION (TLS 1.2 at least).
    cnf = t.write("openssl-permissive.cnf", PERMISSIVE_OPENSSL_CNF, 0o644)
    env = {"OPENSSL_CONF": cnf}
    # Controls: under that configuration, libcurl with its defaults (the curl
    # tool) and Python both complete a TLS 1.1 handshake with this server.
    expected = 0        # handshakes the server has had so far
    if shutil.which("curl") is not None:
        subprocess.run(["curl", "-sS", "-o", "/dev/null", "--max-time", "5",
                        "--cacert", t.suite.ca, f"https://127.0.0.1:{server.port}/"],
                       env=dict(t.suite.base_env(), **env), capture_output=True,
                       stdin=subprocess.DEVNULL)
        expected += 1
        seen = server.wait(expected)
        if seen != [("ok", "TLSv1.1")]:
            t.skip(f"libcurl cannot speak TLS 1.1 here even when allowed "
                   f"({seen}), so the case would prove nothing")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client.minimum_version = ssl.TLSVersion.TLSv1
        client.maximum_version = ssl.TLSVersion.TLSv1_1
    client.set_ciphers("ALL:@SECLEVEL=0")
    client.load_verify_locations(t.suite.ca)
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
            with client.wrap_socket(s, server_hostname="127.0.0.1") as tls:
                version = tls.version()
    except (OSError, ssl.SSLError) as e:
        t.skip(f"this OpenSSL cannot speak TLS 1.1 even at level 0 ({e})")
    t.check(version == "TLSv1.1", f"the control handshake gave {version}")

    expected += 1
    seen = server.wait(expected)
    t.check(seen == [("ok", "TLSv1.1")] * expected,
            f"the server saw {seen} for the controls")
    configure(t, api_url=f"https://127.0.0.1:{server.port}")
    attempt(t, "ok-alice", UNAVAIL, env=env, requests=0,
            reason=r"(?i)^cannot reach the API: .*(protocol version|unsupported protocol)")
    after = server.wait(expected + 1)[expected:]
    t.check(len(after) == 1 and after[0][0] == "failed",
            f"the TLS 1.1 server saw {after}, expected one failed handshake")


# --------------------------------------------------------------------------
# Key pinning (pinned_pubkey).

def test_pin_of_the_server_key_logs_in(t):
    pin = documented_pin(t.suite.cert("server.pem"))
    configure(t, pinned_pubkey=pin)
    granted(t, "ok-alice", "alice", ALICE_ID, requests=1, label="the pin alone")
    other = documented_pin(t.suite.cert("other-server.pem"))
    configure(t, pinned_pubkey=f"{other};{pin}")
    granted(t, "ok-alice", "alice", ALICE_ID, requests=1, label="second of two pins")


def test_pin_wrong_is_unavailable(t):
    pin = documented_pin(t.suite.cert("server.pem"))
    other = documented_pin(t.suite.cert("other-server.pem"))
    wrong = {
        "another server's key": other,
        "the issuing CA's key": documented_pin(t.suite.ca),
        "a flipped hash": "sha256//" + ("A" if pin[8] != "A" else "B") + pin[9:],
    }
    for what, value in wrong.items():
        configure(t, pinned_pubkey=value)
        attempt(t, "ok-alice", UNAVAIL, requests=0, label=what,
                reason=r"(?i)^cannot reach the API: .*pinned public key")
    # The module line wins over the file: a wrong pin there refuses even with
    # the right one in the file.
    configure(t, pinned_pubkey=pin)
    t.service(auth_args=f"pinned_pubkey={other}")
    attempt(t, "ok-alice", UNAVAIL, requests=0, label="wrong pin on the module line",
            reason=r"(?i)pinned public key")


def test_pin_does_not_replace_certificate_checks(t):
    # The right pin for the expired server's key: verification still runs,
    # and the expired certificate still fails it.
    configure(t, api_url=t.suite.expired.url,
              pinned_pubkey=documented_pin(t.suite.cert("expired.pem")))
    attempt(t, "ok-alice", UNAVAIL, reason=r"(?i)expired", fake=t.suite.expired,
            requests=0)


def test_pin_malformed_is_a_configuration_error(t):
    pin = documented_pin(t.suite.cert("server.pem"))
    digest = pin[len("sha256//"):]
    malformed = {
        "no padding": "sha256//" + digest[:43],
        "too short": "sha256//" + digest[:20] + "=",
        "too long": "sha256//" + digest[:43] + "A=",
        "upper-case prefix": "SHA256//" + digest,
        "other algorithm": "md5//" + digest,
        "no prefix": digest,
        "base64url characters": "sha256//" + digest[:41] + "-_=",
        "empty item": f"{pin};;{pin}",
        "trailing separator": f"{pin};",
        "blank inside": "sha256// " + digest[1:],
        "a file name": t.suite.cert("server.pem"),
    }
    for what, value in malformed.items():
        configure(t, pinned_pubkey=value)
        attempt(t, "ok-alice", SERVICE_ERR, requests=0, label=what,
                reason=r"pinned_pubkey")
    # On the module line too.
    configure(t)
    t.service(auth_args="pinned_pubkey=sha256//tooshort=")
    attempt(t, "ok-alice", SERVICE_ERR, requests=0, label="module line",
            reason=r"pinned_pubkey")


# --------------------------------------------------------------------------
# Secrets in memory (tests/hardening/heap_scan).

XOR_KEY = 0x5A


def encode(value):
    return bytes(b ^ XOR_KEY for b in value.encode()).hex()


# Who may keep a copy of a *token* (never of the credential or the secret):
# a TLS library's receive buffer, out of the module's reach, which SECURITY.md
# names.  With libcurl + OpenSSL 3 nothing is left; this is for other builds.
TLS_LIBRARIES = re.compile(r"allocated by (libssl|libcrypto|libgnutls|libnss)")


def built_with_asan(path):
    """Whether an ELF file was built with AddressSanitizer."""
    try:
        with open(path, "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


def heap_scan(t, scanner, user, credential, export="no", expect=SUCCESS, extra=(),
              plant=None, **config):
    """scanner: the heap_scan program (the heap_scanner fixture)."""
    for path in (t.suite.module, scanner):
        if built_with_asan(path):
            t.skip(f"{os.path.basename(path)} is built with AddressSanitizer, whose "
                   "allocator heap_scan cannot stand in for (run this on a normal build)")
    configure(t, export_access_token=export, **config)
    t.service()
    sent = credential.split(":", 1)[1] if credential.startswith(("code:", "refresh:")) \
        else credential
    t.suite.add_credential(credential, f"credential of {t.name}")
    argv = [scanner, "--confdir", t.confdir, "--service", "heroku",
            "--user", user, "--xor", str(XOR_KEY), "--preload", t.suite.module,
            "--credential", encode(credential),
            "--needle", "client_secret:" + encode(t.suite.client_secret),
            "--needle", "access_token:" + encode(t.suite.fake_api.token_for("access", sent)),
            "--needle", "refresh_token:" + encode(t.suite.fake_api.token_for("refresh", sent))]
    argv += list(extra)
    if plant:
        argv += ["--plant", plant]
    env = t.suite.base_env()
    env["PAM_DRIVER_SYSLOG"] = t.syslog_path
    start = time.monotonic()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120,
                          stdin=subprocess.DEVNULL)
    elapsed = time.monotonic() - start
    out = proc.stdout
    check_no_leaks(t, "heap_scan", [("heap_scan output", out),
                                    ("heap_scan stderr", proc.stderr)]
                   + [("syslog", text) for _, text in t.syslog_lines()])
    if proc.returncode != 0:
        t.fail(f"heap_scan exited {proc.returncode}: {t.suite.redact(proc.stderr.strip())[:300]}")
    m = re.search(r"^auth: (\S+)", out, re.M)
    t.check(m and m.group(1) == expect,
            f"heap_scan auth: {m.group(1) if m else None}, expected {expect}")
    needles = ["credential", "client_secret", "access_token", "refresh_token"]
    if sent != credential:
        needles.append("credential-value")
    findings = re.findall(r"^found: (\S+) in (.*)$", out, re.M)
    clean = set(re.findall(r"^clean: (\S+)$", out, re.M))
    t.check(re.search(r"^scanned: \d+ regions, [1-9]\d* bytes$", out, re.M),
            "heap_scan scanned nothing")
    return out, findings, clean, needles, elapsed


def expect_clean(t, findings, clean, needles):
    bad = []
    for needle, where in findings:
        if needle in ("access_token", "refresh_token") and TLS_LIBRARIES.search(where):
            print(f"note {t.name}: the {needle} survives in a TLS library's buffer "
                  f"({where}); see SECURITY.md", flush=True)
            continue
        bad.append(f"{needle} in {where}")
    if bad:
        t.fail("after pam_end: " + "; ".join(bad[:6]))
    missing = [n for n in needles if n not in clean and
               not any(f[0] == n for f in findings)]
    t.check(not missing, f"heap_scan did not report on {missing}")


@pytest.mark.slow
def test_memory_scan_finds_a_planted_copy(t, heap_scanner):
    # The scan's own control: a copy of the client secret decoded into a heap
    # block and freed unwiped must be found, and named as ours.
    out, findings, clean, needles, _ = heap_scan(t, heap_scanner, "alice", "ok-alice",
                                                 plant="client_secret")
    planted = [w for n, w in findings if n == "client_secret"]
    t.check(planted, "the planted copy of the client secret was not found")
    t.check(all(re.search(r"freed, allocated by heap_scan", w) for w in planted),
            f"the planted copy was attributed to {planted}")
    expect_clean(t, [f for f in findings if f[0] != "client_secret"], clean,
                 [n for n in needles if n != "client_secret"])


MEMORY_CASES = {
    # name: (user, credential, export_access_token, auth result, extra args)
    "after_login": ("alice", "ok-alice", "no", SUCCESS,
                    ["--no-env", "HEROKU_API_KEY"]),
    "after_login_exporting_the_token": ("alice", "ok-alice", "yes", SUCCESS,
                                        ["--expect-env", "HEROKU_API_KEY:access_token"]),
    "after_refresh_grant": ("bob", "refresh:ok-bob", "yes", SUCCESS,
                            ["--expect-env", "HEROKU_API_KEY:access_token"]),
    "after_refusal": ("alice", "reject-401", "no", AUTH_ERR, []),
    "after_allowlist_refusal": ("alice", "ok-stranger", "yes", AUTH_ERR,
                                ["--no-env", "HEROKU_API_KEY"]),
    "after_oversized_answer": ("alice", "oversized-chunked", "yes", UNAVAIL, []),
    "after_malformed_answer": ("alice", "dupuser", "yes", UNAVAIL, []),
}

for _name, (_user, _cred, _export, _expect, _extra) in MEMORY_CASES.items():
    def _memory_case(t, heap_scanner, user=_user, credential=_cred, export=_export,
                     expect=_expect, extra=_extra):
        out, findings, clean, needles, _ = heap_scan(t, heap_scanner, user, credential,
                                                     export, expect, extra)
        for line in re.findall(r"^env: (.*)$", out, re.M):
            name, _, state = line.partition(" ")
            want = "absent" if "--no-env" in extra else "matches"
            t.check(state == want, f"env {name}: {state}, expected {want}")
        expect_clean(t, findings, clean, needles)
    add_test(globals(), f"memory_holds_no_secret_{_name}", _memory_case,
             pytest.mark.slow)


@pytest.mark.slow
def test_memory_holds_no_secret_after_timeout(t, heap_scanner):
    fake = t.private_fake("late")
    out, findings, clean, needles, elapsed = heap_scan(
        t, heap_scanner, "alice", "late-3", expect=UNAVAIL, api_url=fake.url, timeout="1")
    expect_clean(t, findings, clean, needles)


NGINX_CONF = """\
daemon off;
master_process off;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port} ssl http2;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.3;
        location / {{
            proxy_pass {upstream};
            proxy_http_version 1.1;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate {ca};
            proxy_ssl_name localhost;
            proxy_ssl_server_name on;
        }}
    }}
}}
"""


def start_nginx(t):
    """A real nginx on loopback (HTTP/2 and TLS 1.3 offered, the test
    certificate) in front of this case's fake; stopped by pid at the end."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(nginx):
        t.skip("needs nginx (apt-get install nginx-light)")
    work = t.path("nginx")
    os.makedirs(work)
    port = harness.free_port()
    conf = os.path.join(work, "nginx.conf")
    with open(conf, "w", encoding="ascii") as f:
        f.write(NGINX_CONF.format(dir=work, port=port, cert=t.suite.cert("server.pem"),
                                  key=t.suite.cert("server.key"), upstream=t.fake.url,
                                  ca=t.suite.ca))
    proc = subprocess.Popen([nginx, "-c", conf, "-e", os.path.join(work, "error.log")],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    t.suite.processes.add(proc)
    t.cleanups.append(lambda: harness.stop_process(proc))   # also when this case fails
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            t.fail(f"nginx exited: {proc.stderr.read().decode(errors='replace')[:300]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        t.fail("nginx did not start listening")
    alpn = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}",
                           "-alpn", "h2,http/1.1", "-CAfile", t.suite.ca],
                          input=b"", capture_output=True, timeout=10).stdout
    t.check(b"ALPN protocol: h2" in alpn, "nginx does not offer HTTP/2")
    return proc, f"https://127.0.0.1:{port}"


@pytest.mark.slow
@pytest.mark.root("nginx binds its own port and reads the test key as root")
def test_memory_holds_no_secret_behind_nginx_speaking_http2(t, heap_scanner):
    proc, url = start_nginx(t)
    try:
        out, findings, clean, needles, _ = heap_scan(
            t, heap_scanner, "alice", "ok-alice", "yes", SUCCESS,
            ["--expect-env", "HEROKU_API_KEY:access_token"], api_url=url)
    finally:
        proc.kill()
        proc.wait()
        t.suite.processes.discard(proc)
    expect_clean(t, findings, clean, needles)


# --------------------------------------------------------------------------
# 100 logins at once.

class RawRun:
    """A driver run made here rather than through harness.Case.login."""

    def __init__(self, stdout, stderr, syslog, elapsed):
        self.stdout, self.stderr, self.syslog, self.elapsed = stdout, stderr, syslog, elapsed
        self.results = dict(re.findall(r"^(auth|account): (\S+) \(", stdout, re.M))
        self.auth = self.results.get("auth")
        self.env = dict(line.split("=", 1) for line in
                        re.findall(r"^env: (.*)$", stdout, re.M) if "=" in line)
        self.summaries = [m.groups() for m in
                          (REASON_RE.search(text) for text in syslog) if m]
        self.reason = self.summaries[0][1] if self.summaries else None

    def texts(self):
        return ([("driver output", self.stdout), ("driver stderr", self.stderr)]
                + [("syslog", text) for text in self.syslog])


def start_raw(t, user, answer, syslog, prefix=(), env=None):
    """Start one driver (auth, env) with the answer through a pipe."""
    t.suite.add_credential(answer, f"credential of {t.name}")
    rfd, wfd = os.pipe()
    os.write(wfd, (answer + "\n").encode())
    os.close(wfd)
    run_env = t.suite.base_env()
    run_env["PAM_DRIVER_SYSLOG"] = syslog
    run_env.update(env or {})
    argv = list(prefix) + [t.suite.driver, "--confdir", t.confdir, "--service", "heroku",
                           "--user", user, "--answers-fd", str(rfd),
                           "--phase", "auth", "--phase", "env"]
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=run_env, pass_fds=(rfd,),
                                text=True)
    finally:
        os.close(rfd)
    t.suite.processes.add(proc)
    return proc


def finish_raw(t, proc, syslog, start, timeout=150):
    try:
        out, err = proc.communicate(timeout=max(1, timeout - (time.monotonic() - start)))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        t.fail("a driver did not finish in time")
    finally:
        t.suite.processes.discard(proc)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        t.fail(f"pam_driver exited {proc.returncode}: {t.suite.redact(err.strip())[:200]}")
    try:
        with open(syslog, "rb") as f:
            lines = [harness.unescape(line.partition(" ")[2]) for line in
                     f.read().decode("utf-8", "surrogateescape").splitlines()]
    except FileNotFoundError:
        lines = []
    return RawRun(out, err, lines, elapsed)


def raw_login(t, user, answer, prefix=(), env=None):
    t.service()
    syslog = t.path("raw-syslog")
    start = time.monotonic()
    return finish_raw(t, start_raw(t, user, answer, syslog, prefix, env), syslog, start)


PARALLEL_MIX = [
    # (PAM user, credential, result, HEROKU_USER_ID or None)
    ("alice", "ok-alice", SUCCESS, ALICE_ID),
    ("bob", "ok-bob", SUCCESS, BOB_ID),
    ("carol", "ok-bob", SUCCESS, BOB_ID),
    ("carol", "ok-carol", SUCCESS, CAROL_ID),
    ("erin", "ok-dave", SUCCESS, DAVE_ID),
    ("alice", "refresh:ok-alice", SUCCESS, ALICE_ID),
    ("alice", "ok-bob", AUTH_ERR, None),
    ("bob", "ok-alice", AUTH_ERR, None),
    ("alice", "ok-stranger", AUTH_ERR, None),
    ("bob", "reject-401", AUTH_ERR, None),
    ("alice", "status-503", UNAVAIL, None),
    ("alice", "dupuser", UNAVAIL, None),
]
PARALLEL = 100
OUTCOME = {SUCCESS: "granted", AUTH_ERR: "refused", UNAVAIL: "unavailable"}


@pytest.mark.slow
def test_parallel_100_logins_each_get_their_own_answer(t):
    fake = t.private_fake("parallel")
    # Generous: under AddressSanitizer the 100 drivers share 2 cores for ~30 s.
    configure(t, api_url=fake.url, timeout="90")
    t.service()
    plan = [PARALLEL_MIX[i % len(PARALLEL_MIX)] for i in range(PARALLEL)]
    start = time.monotonic()
    procs = []
    for i, (user, cred, _, _) in enumerate(plan):
        syslog = t.path(f"syslog-{i:03d}")
        procs.append((start_raw(t, user, cred, syslog), syslog))
    runs = [finish_raw(t, proc, syslog, start) for proc, syslog in procs]
    wall = time.monotonic() - start
    wrong = []
    for i, ((user, cred, result, heroku_id), run) in enumerate(zip(plan, runs)):
        label = f"login {i} ({user} with {cred})"
        check_no_leaks(t, label, run.texts())
        if run.auth != result:
            wrong.append(f"{label}: {run.auth}, expected {result}")
            continue
        if len(run.summaries) != 1 or run.summaries[0][0] != OUTCOME[result]:
            wrong.append(f"{label}: logged {run.summaries}")
        want = {}
        if heroku_id is not None:
            want = {"HEROKU_USER_ID": heroku_id,
                    "HEROKU_SESSION_ID": SESSION_IDS[heroku_id]}
        if run.env != want:
            wrong.append(f"{label}: environment {run.env}, expected {want}")
        if not re.search(rf"user={re.escape(user)} ", "".join(run.syslog)):
            wrong.append(f"{label}: the log line names another user")
    if wrong:
        t.fail(f"{len(wrong)} of {PARALLEL} logins went wrong: " + "; ".join(wrong[:5]))
    records = fake.records()
    t.check(len(records) == PARALLEL,
            f"the fake got {len(records)} requests, expected {PARALLEL}")
    print(f"note {t.name}: {PARALLEL} logins in {wall:.1f} s", flush=True)


# --------------------------------------------------------------------------
# This suite's own fixtures.

@pytest.fixture(scope="module")
def heap_scanner(build, session_dir):
    """tests/hardening/heap_scan, built here with cc when make did not."""
    if os.access(build.heap_scan, os.X_OK):
        return build.heap_scan
    cc = os.environ.get("CC") or "cc"
    out = os.path.join(session_dir, "heap_scan")
    proc = subprocess.run([cc, "-std=c11", "-O2", "-Wall", "-Wextra", "-rdynamic", "-o", out,
                           os.path.join(build.srcdir, "tests", "hardening", "heap_scan.c"),
                           "-lpam", "-ldl"], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise RuntimeError(f"cannot build heap_scan: {proc.stderr.strip()[:300]}")
    return out


SELF_SIGNED_CNF = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = localhost
[ext]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
"""


@pytest.fixture(scope="module")
def self_signed(test_ca, session_dir):
    """A certificate for 127.0.0.1 that signs itself, next to the test CA's."""
    cnf = os.path.join(session_dir, "self-signed.cnf")
    with open(cnf, "w", encoding="ascii") as f:
        f.write(SELF_SIGNED_CNF)
    key, cert = test_ca.cert("self-signed.key"), test_ca.cert("self-signed.pem")
    subprocess.run(["openssl", "req", "-config", cnf, "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                    "-extensions", "ext", "-keyout", key, "-out", cert],
                   check=True, capture_output=True, stdin=subprocess.DEVNULL)
    os.chmod(key, 0o600)
    os.chmod(cert, 0o644)
    return cert
