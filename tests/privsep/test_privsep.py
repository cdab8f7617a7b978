"""Privilege separation: the exchange runs in pam_heroku_exchange, not in the host.

    tests/privsep/run [NAME...] [pytest arguments]

Each case drives the test build of the module (tests/.libs/pam_heroku_test.so,
which runs the build tree's helper, or the one PAM_HEROKU_TEST_EXCHANGE_HELPER
names) through tests/pam_driver against the fake API (the fixtures of tests/conftest.py):

  links_*        pam_heroku.so (the installed build) and the test build link
                 neither libcurl nor OpenSSL, and the installed build holds no
                 test knob; after a login the PAM application maps neither
  environment_*  the caller's SSLKEYLOGFILE, OPENSSL_CONF, CURL_HOME/.curlrc,
                 HOME/.netrc, proxy variables and SSL_CERT_FILE change nothing
  bad_helper_*   tests/privsep/bad_helper in place of the helper: killed,
                 hanging, garbled, cut short, calling execve (killed by the
                 seccomp filter): PAM_AUTHINFO_UNAVAIL within the bound
  helper_*       the real helper: missing or untrusted -> PAM_SERVICE_ERR;
                 it connects while the module reads the allowlist, but sends
                 no request for an account no line grants;
                 as root, it runs with no root id, no_new_privs, seccomp
                 filtered, not dumpable; SIGKILLed mid-exchange -> unavailable

Environment as tests/integration/run, plus PAM_HEROKU_INSTALLED_MODULE,
PAM_HEROKU_EXCHANGE and BAD_HELPER (tests/harness.py, BuildPaths).
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest

from harness import ALICE_ID, add_test

SUCCESS = "PAM_SUCCESS"
UNAVAIL = "PAM_AUTHINFO_UNAVAIL"
SERVICE_ERR = "PAM_SERVICE_ERR"
MARGIN = 3          # EXCHANGE_CHILD_MARGIN in exchange_child.h
TLS_LIBRARIES = re.compile(r"lib(curl|ssl|crypto|nghttp2|cjson)\b")
REASON_RE = re.compile(r'\bauth (granted|refused|unavailable|misconfigured): .*reason="(.*)"$')

def reason_of(run):
    for _, text in run.syslog:
        m = REASON_RE.search(text)
        if m:
            return m.group(2)
    return ""


def login(t, expect, env=None, credential="ok-alice", phases=("auth", "env"), within=None):
    run = t.login("alice", credential, phases=list(phases), env=env)
    t.expect_auth(run, expect)
    if expect != SUCCESS:
        t.expect_no_heroku_env(run)
    if within is not None and run.elapsed > within:
        t.fail(f"{run.label}: took {run.elapsed:.1f} s, the bound is {within} s")
    return run


def ldd(path):
    return subprocess.run(["ldd", path], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL).stdout


# --------------------------------------------------------------------------
# What the host process links and maps.

def test_links_no_tls_library_in_either_module(t):
    for path in (t.suite.paths.installed_module, t.suite.module):
        found = TLS_LIBRARIES.findall(ldd(path))
        t.check(not found, f"ldd {path}: links {sorted(set(found))}")


def test_links_installed_module_has_no_test_knob(t):
    with open(t.suite.paths.installed_module, "rb") as f:
        data = f.read()
    t.check(b"PAM_HEROKU_TEST_EXCHANGE_HELPER" not in data,
            "the installed module reads PAM_HEROKU_TEST_EXCHANGE_HELPER")
    t.check(b"/pam_heroku/pam_heroku_exchange" in data,
            "the installed module does not name $(libexecdir)/pam_heroku/pam_heroku_exchange")


def test_links_application_maps_no_tls_library_after_a_login(t):
    t.config()
    t.write_allowlist("pam_heroku.allow", [f"{ALICE_ID} alice"])
    run = login(t, SUCCESS, phases=("auth", "account", "maps"))
    maps = [line[5:] for line in run.stdout.splitlines() if line.startswith("map: ")]
    t.check(any("pam_heroku_test.so" in m for m in maps),
            "the maps phase did not list the module (is it still loaded?)")
    found = [m for m in maps if TLS_LIBRARIES.search(m)]
    t.check(not found, f"after a login the application maps {found}")


# --------------------------------------------------------------------------
# The caller's environment.

class Listener:
    """A loopback socket that counts connections (a proxy that never answers)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stop = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
                self.connections += 1
                conn.close()
            except OSError:
                continue

    def close(self):
        self.stop = True
        self.thread.join(2)
        self.sock.close()


def hostile_environment(t, proxy_port):
    """Everything libcurl and OpenSSL would read from the caller, in a
    directory anyone may read and write (so that the helper's unprivileged
    user is no reason for them to go unused: only its own fixed environment)."""
    shared = tempfile.mkdtemp(prefix="pam_heroku-privsep.")
    t.cleanups.append(lambda: shutil.rmtree(shared, ignore_errors=True))
    os.chmod(shared, 0o777)
    home = os.path.join(shared, "home")
    curl_home = os.path.join(shared, "curl_home")
    for d in (home, curl_home):
        os.makedirs(d)
        os.chmod(d, 0o755)
    proxy = f"http://127.0.0.1:{proxy_port}"
    with open(os.path.join(home, ".netrc"), "w", encoding="ascii") as f:
        f.write("machine 127.0.0.1 login netrc-user password netrc-password\n")
    with open(os.path.join(curl_home, ".curlrc"), "w", encoding="ascii") as f:
        f.write(f"proxy = {proxy}\ninsecure\n")
    # OpenSSL would refuse every handshake under this configuration.
    openssl_cnf = os.path.join(shared, "openssl.cnf")
    with open(openssl_cnf, "w", encoding="ascii") as f:
        f.write("openssl_conf = init\n[init]\nssl_conf = ssl\n[ssl]\nsystem_default = sys\n"
                "[sys]\nMinProtocol = TLSv1.3\nMaxProtocol = TLSv1.2\n")
    keylog = os.path.join(shared, "keylog")
    open(keylog, "w").close()
    os.chmod(keylog, 0o666)
    for path in (openssl_cnf, os.path.join(home, ".netrc"), os.path.join(curl_home, ".curlrc")):
        os.chmod(path, 0o644)
    t.keylog = keylog
    env = {"SSLKEYLOGFILE": keylog, "OPENSSL_CONF": openssl_cnf,
           "CURL_HOME": curl_home, "HOME": home, "SSL_CERT_FILE": t.suite.ca,
           "SSL_CERT_DIR": os.path.dirname(t.suite.ca), "CURL_CA_BUNDLE": t.suite.ca}
    for name in ("http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env[name] = proxy
    return env


def test_environment_of_the_caller_changes_nothing(t):
    t.config()
    t.write_allowlist("pam_heroku.allow", [f"{ALICE_ID} alice"])
    listener = Listener()
    try:
        run = login(t, SUCCESS, env=hostile_environment(t, listener.port))
    finally:
        listener.close()
    t.check(os.path.getsize(t.keylog) == 0,
            "SSLKEYLOGFILE was written: TLS session keys left the exchange")
    t.check(listener.connections == 0,
            f"the proxy from the environment got {listener.connections} connections")
    t.expect_requests(run, 1)
    headers = {k.lower() for k in (run.records[0].get("headers") or {})}
    t.check("authorization" not in headers, "~/.netrc's login was sent")


def test_environment_ssl_cert_file_does_not_make_the_system_store_trust(t):
    # No ca_file: the system store, which does not hold the test CA.  The
    # caller's SSL_CERT_FILE / SSL_CERT_DIR naming the test CA must not help.
    t.config(ca_file=None)
    listener = Listener()
    try:
        run = login(t, UNAVAIL, env=hostile_environment(t, listener.port))
    finally:
        listener.close()
    t.check(re.search(r"certificate|SSL|TLS", reason_of(run)) is not None,
            f"logged reason {reason_of(run)!r}, expected a certificate problem")


# --------------------------------------------------------------------------
# Misbehaving helpers.

def bad_helper_case(mode, reason):
    def fn(t):
        t.config(api_url=f"https://{mode}.invalid", timeout="1")
        t.write_allowlist("pam_heroku.allow", [f"{ALICE_ID} alice"])
        run = login(t, UNAVAIL, env={"PAM_HEROKU_TEST_EXCHANGE_HELPER": t.suite.paths.bad_helper},
                    within=1 + MARGIN + 2)
        why = reason_of(run)
        t.check(re.search(reason, why) is not None,
                f"logged reason {why!r}, expected one matching {reason!r}")
    add_test(globals(), f"bad_helper_{mode}_is_unavailable", fn)


bad_helper_case("kill", r"died of signal 9")
bad_helper_case("hang", r"did not answer within 4 s")
bad_helper_case("trailing", r"incomplete or malformed")
bad_helper_case("repeat", r"incomplete or malformed.*repeated field 7")
bad_helper_case("short", r"incomplete or malformed")
bad_helper_case("execve", r"died of signal 31")     # SIGSYS: the seccomp filter


def test_helper_missing_is_a_service_error(t):
    t.config()
    run = login(t, SERVICE_ERR,
                env={"PAM_HEROKU_TEST_EXCHANGE_HELPER": t.path("no-such-helper")})
    t.check("no-such-helper" in reason_of(run), f"reason {reason_of(run)!r}")


def stand_in_helper(t, text):
    """A trusted executable file in the case directory holding text, to run in
    the real helper's place (PAM_HEROKU_TEST_EXCHANGE_HELPER)."""
    path = t.path("pam_heroku_exchange")
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o755)
    return path


def test_helper_that_cannot_be_run_is_a_service_error(t):
    """A trusted file that is no program: the execve fails, the module says so."""
    t.config()
    not_a_program = stand_in_helper(t, "not a program\n")
    run = login(t, SERVICE_ERR, env={"PAM_HEROKU_TEST_EXCHANGE_HELPER": not_a_program})
    why = reason_of(run)
    t.check("cannot run the exchange helper" in why and "Exec format error" in why,
            f"reason {why!r}")


def test_helper_that_exits_127_before_answering_is_a_service_error(t):
    """What the dynamic loader does when a library of the helper is missing:
    exit 127 before a word.  The installation is broken: PAM_SERVICE_ERR."""
    t.config()
    no_library = stand_in_helper(t, "#!/bin/sh\nexit 127\n")
    run = login(t, SERVICE_ERR, env={"PAM_HEROKU_TEST_EXCHANGE_HELPER": no_library})
    why = reason_of(run)
    t.check("exited with status 127 before answering" in why, f"reason {why!r}")


def test_helper_not_needed_is_killed_not_waited_for(t):
    """No allowlist line can grant the account: the helper, started while the
    allowlist was read, was never released (no go byte) and is killed at
    once, not waited for until the margin (a helper that never exits by itself)."""
    t.config(allowlist=t.write_allowlist("only-alice.allow", [f"{ALICE_ID} alice"]))
    seconds = f"60.{os.getpid()}{time.monotonic_ns() % 10**6:06d}"    # names this case's sleep
    sleeper = stand_in_helper(t, f"#!/bin/sh\nexec /bin/sleep {seconds}\n")
    run = t.login("mallory", "ok-alice", phases=["auth"],
                  env={"PAM_HEROKU_TEST_EXCHANGE_HELPER": sleeper})
    left = processes_running(sleeper.encode(), f"/bin/sleep\0{seconds}\0".encode())
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    t.expect_auth(run, "PAM_AUTH_ERR")
    t.check(run.elapsed < 2, f"the refused login took {run.elapsed:.1f} s waiting for the helper")
    t.check(not left, f"the helper was left running (pids {left}); they were killed now")


def big_allowlist(t, lines, last):
    """lines valid lines, none granting mallory, then last: long enough to
    read that the helper has connected and shaken hands before it is done."""
    path = t.path("big.allow")
    with open(path, "w", encoding="ascii") as f:
        for start in range(0, lines, 100_000):
            f.write("".join(f"{i:08x}-0000-4000-8000-{i:012x} user{i % 10000}\n"
                            for i in range(start, min(start + 100_000, lines))))
        f.write(last + "\n")
    os.chmod(path, 0o644)
    return path


def handshakes_after(t, before, seconds=3):
    """The fake's handshake count once it passed before (it logs from its own
    thread, a moment after the login ended), or as it stands after seconds."""
    deadline = time.monotonic() + seconds
    while t.fake.handshakes() <= before and time.monotonic() < deadline:
        time.sleep(0.05)
    return t.fake.handshakes()


def test_helper_connects_early_but_sends_nothing_for_an_account_no_line_grants(t):
    """The helper connects and shakes hands while the module reads a 2,000,000
    line allowlist; for mallory, whom no line grants, the module never sends
    the go byte: refused, and the fake saw a TLS connection but no request.
    The same file granting alice (its last line) still costs one request."""
    t.config(allowlist=big_allowlist(t, 2_000_000, f"{ALICE_ID} alice"))
    # Up to three tries: on a loaded machine the helper may lose one race
    # with the scan; a request would fail the case at any try.
    for _ in range(3):
        before, requests_before = t.fake.handshakes(), len(t.fake.records())
        run = t.login("mallory", "ok-alice", phases=["auth"])
        t.expect_auth(run, "PAM_AUTH_ERR")
        seen = handshakes_after(t, before)
        late = len(t.fake.records()) - requests_before     # read after the wait
        t.check(late == 0, f"the fake got {late} request(s) for mallory")
        if seen > before:
            break
    t.check(seen > before, "the fake saw no TLS handshake in three tries: the gate was "
            "not exercised (the helper did not connect before the allowlist was read)")
    run = login(t, SUCCESS, phases=("auth",))
    t.check(len(run.records) == 1, f"the fake got {len(run.records)} requests for alice, not 1")


def processes_running(*cmdline_parts):
    """pids of the processes whose command line holds one of cmdline_parts."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        if any(part in cmdline for part in cmdline_parts):
            found.append(int(pid))
    return found


def test_helper_in_a_directory_others_may_write_is_a_service_error(t):
    t.config()
    shared = t.path("shared")
    os.makedirs(shared)
    os.chmod(shared, 0o777)
    copy = os.path.join(shared, "pam_heroku_exchange")
    shutil.copy(t.suite.paths.exchange, copy)
    run = login(t, SERVICE_ERR, env={"PAM_HEROKU_TEST_EXCHANGE_HELPER": copy})
    t.check("writable by group or others" in reason_of(run), f"reason {reason_of(run)!r}")


# --------------------------------------------------------------------------
# The real helper, watched while it runs (the fake's slow-N credential).

def find_helper(confdir, deadline):
    """pid of a pam_heroku_exchange whose parent runs with confdir on its command line."""
    while time.monotonic() < deadline:
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
                    stat = f.read()
                if "(pam_heroku_exch" not in stat:
                    continue
                ppid = stat.rsplit(")", 1)[1].split()[1]
                with open(f"/proc/{ppid}/cmdline", "rb") as f:
                    if confdir.encode() in f.read():
                        return int(pid)
            except (OSError, IndexError):
                continue
        time.sleep(0.02)
    return None


def status_fields(pid):
    fields = {}
    with open(f"/proc/{pid}/status", encoding="utf-8") as f:
        for line in f:
            name, _, value = line.partition(":")
            fields[name] = value.split()
    return fields


def while_helper_runs(t, action, seconds=4):
    """Start a login that waits on the fake for `seconds`; call action(pid) on
    the helper while it waits; return (run, action's result)."""
    t.config()
    t.write_allowlist("pam_heroku.allow", [f"{ALICE_ID} alice"])
    box = {}

    def go():
        try:
            box["run"] = t.login("alice", f"slow-{seconds}", phases=["auth", "env"])
        except Exception as e:  # noqa: BLE001 - reported below
            box["error"] = e

    thread = threading.Thread(target=go)
    thread.start()
    pid = find_helper(t.confdir, time.monotonic() + 10)
    result = action(pid) if pid else None
    thread.join(60)
    if "error" in box:
        raise box["error"]
    if pid is None:
        t.fail("no pam_heroku_exchange process seen during the login")
    return box["run"], result


@pytest.mark.root("the helper drops root ids only when it has them")
def test_helper_under_root_runs_unprivileged_and_confined(t):
    def look(pid):
        # Seen right after execve it is still root: wait until it has
        # confined itself (the filter is its last step), or give up.
        deadline = time.monotonic() + 1.5
        fields = status_fields(pid)
        while fields.get("Seccomp") != ["2"] and time.monotonic() < deadline:
            time.sleep(0.01)
            fields = status_fields(pid)
        return {k: fields.get(k) for k in ("Uid", "Gid", "Groups", "NoNewPrivs", "Seccomp")}

    run, seen = while_helper_runs(t, look, seconds=2)
    t.expect_auth(run, SUCCESS)
    t.check(seen is not None and "0" not in seen["Uid"], f"helper uids {seen and seen['Uid']}")
    t.check(seen is not None and "0" not in seen["Gid"], f"helper gids {seen and seen['Gid']}")
    t.check(seen is not None and seen["Groups"] == [], f"helper groups {seen and seen['Groups']}")
    t.check(seen is not None and seen["NoNewPrivs"] == ["1"], "helper without no_new_privs")
    t.check(seen is not None and seen["Seccomp"] == ["2"], "helper without a seccomp filter")


@pytest.mark.root("the helper is not dumpable: only root reads its /proc/PID/environ")
def test_helper_environment_is_one_fixed_variable(t):
    """Nothing of the host's environment reaches the helper; only the variable
    that stops GnuTLS initialising itself (exchange_child.c)."""
    def environ(pid):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                return f.read()
        except OSError as e:     # gone already: reported below, not raised here
            return f"unreadable: {e}"

    run, seen = while_helper_runs(t, environ, seconds=2)
    t.expect_auth(run, SUCCESS)
    t.check(seen == b"GNUTLS_NO_IMPLICIT_INIT=1\0", f"helper environment {seen!r}")


def test_helper_killed_mid_exchange_is_unavailable(t):
    def kill(pid):
        os.kill(pid, 9)
        return True

    run, _ = while_helper_runs(t, kill, seconds=20)
    t.expect_auth(run, UNAVAIL)
    t.expect_no_heroku_env(run)
    t.check(run.elapsed < 10, f"took {run.elapsed:.1f} s after the helper was killed")
    t.check("died of signal 9" in reason_of(run), f"reason {reason_of(run)!r}")
