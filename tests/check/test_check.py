"""pam_heroku_check (every mode) and the authorize URL in the module's prompt,
against the fake API over TLS with the test CA, on the fixtures of
tests/conftest.py.

The module (tests/pam_driver, `t.login`) and the tool are run on the same
inputs wherever both can be, and the PAM result the tool reports must be
the one the module returns (both read it from the one table in
pam_heroku/front/result_pam.c).  Nothing here prints a credential, the client
secret or a token: every output of the tool is scanned for them, and
tests/conftest.py redacts every failure message.
"""

import collections
import os
import pty
import re
import select
import shutil
import subprocess
import termios
import time

import pytest

from harness import (ALICE_ID, BOB_ID, DEFAULT_PROMPT, OUTCOME_WORD, SESSION_IDS,
                     STRANGER_ID, clean_env, stop_process)

ALICE_SESSION = SESSION_IDS[ALICE_ID]
CLIENT_ID = "3fd3c3a1-5d4e-4c7a-9b1f-0123456789ab"
AUTHORIZE_BASE = "https://authorize.invalid/oauth/authorize"   # never contacted
URL_RE = re.compile(
    "^" + re.escape(AUTHORIZE_BASE + "?client_id=" + CLIENT_ID +
                    "&response_type=code&scope=identity&state=") + "([0-9a-f]{32})$")

# The allowlist these tests count lines of: line 3 grants alice; lines 4,
# 5, 6 and 7 are malformed.
ALLOW_LINES = [
    "# Heroku user id                         local accounts",
    "",
    ALICE_ID + "    alice   # the fake's alice",
    "33333333-4444-4555-8666-777777777777",
    "not-a-uuid   bob",
    "11111111-2222-4333-8444-555555555555   bob,*",
    "22222222-3333-4444-8555-666666666666   carol,,dave",
]
ALICE_LINE = 3
BAD_ALLOW_LINES = [4, 5, 6, 7]


@pytest.fixture
def t(t):
    """The shared harness.Case, its allowlist (t.allowlist) ALLOW_LINES."""
    t.write_allowlist(t.allowlist, ALLOW_LINES)
    return t


# --------------------------------------------------------------------------
# Running the tool and the module.

Tool = collections.namedtuple("Tool", "status out err records")


def tool(t, *args, stdin=b"", credential=None, env=None, timeout=30):
    """Run pam_heroku_check (the test build) with args; credential is typed
    on stdin.  Returns its exit status, stdout, stderr and the requests the
    fake got meanwhile; fails if anything it printed holds a secret."""
    if credential is not None:
        t.suite.add_credential(credential, "the credential typed")
        stdin = credential.encode() + b"\n"
    before = len(t.fake.records())
    proc = subprocess.run([t.suite.paths.check] + list(args), input=stdin,
                          capture_output=True, timeout=timeout, env=clean_env(**(env or {})))
    out = proc.stdout.decode("utf-8", "replace")
    err = proc.stderr.decode("utf-8", "replace")
    expect_no_secret(t, out + err, "pam_heroku_check's output")
    return Tool(proc.returncode, out, err, t.fake.records()[before:])


def module(t, user, credential, conf, module_args=""):
    """Log in through the module (auth only) with the config conf."""
    t.service("check", lines=[f"auth required {t.suite.module} config={conf} {module_args}"])
    return t.login(user, credential, service="check", phases=["auth"])


def logged_outcome(run):
    """The outcome word of the module's summary line ("granted", ...)."""
    found = run.summaries()
    return found[0][0] if found else None


def expect_no_secret(t, text, where):
    # t.check, not assert: pytest's report of a failed assert shows its
    # operands, and a cut-short secret escapes the redaction.
    for value, name in t.suite.secret_items():
        t.check(value not in text, f"{where} holds the {name}")


def expect_status(result, want):
    assert result.status == want, (f"exit status {result.status}, want {want}; "
                                   f"stdout: {result.out[-800:]}; stderr: {result.err[-800:]}")


def field(out, name):
    """The value of one "name   value" line of --login's report."""
    m = re.search(r"^%s +(.*)$" % re.escape(name), out, re.M)
    return m.group(1) if m else None


def summary_line(out):
    lines = [line for line in out.splitlines() if line.startswith("pam_heroku_check: ")]
    return lines[-1] if lines else ""


def error_lines(err):
    return [line for line in err.splitlines()
            if line.startswith("pam_heroku_check: configuration error:")]


def warning_lines(err):
    return [line for line in err.splitlines() if line.startswith("pam_heroku_check: warning:")]


def line_of(path, text):
    """The number of the first line of the file path that starts with text."""
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.startswith(text):
                return n
    raise AssertionError(f"{path} has no line {text!r}")


# ==========================================================================
# The config check.

def test_check_good(t):
    conf = t.config(client_id=CLIENT_ID, authorize_url=AUTHORIZE_BASE)
    r = tool(t, "--config", conf)
    expect_status(r, 0)
    assert summary_line(r.out) == \
        "pam_heroku_check: 0 errors, 4 warnings: the module would run"
    assert error_lines(r.err) == []
    for n in BAD_ALLOW_LINES:
        assert "warning: %s:%d: line ignored, grants nothing: " % (t.allowlist, n) in r.err
    assert len(warning_lines(r.err)) == len(BAD_ALLOW_LINES), r.err
    for line in ("config file          " + conf,
                 "api_url              " + t.fake.url,
                 "client secret        set, from " + t.suite.client_secret_file,
                 "allowlist lines      4 malformed",
                 "allowlist grants     1 line grants alice\n",
                 "  | To get a grant code, open:\n  |   " + AUTHORIZE_BASE + "?client_id="):
        assert line in r.out, "the settings table or the prompt as users see it"
    assert r.records == [], "the config check sent a request"


def test_check_allowlist_grants(t):
    """The check says how many well-formed lines grant whom: named accounts
    (each once, sorted; ten shown, then how many more) and '*' lines."""
    allow = t.write_allowlist("grants.allow", [
        "# a comment, a blank line, then the lines",
        "",
        ALICE_ID + "  carol,alice",
        BOB_ID + "  bob",
        STRANGER_ID + "  alice   # alice again",
        "22222222-3333-4444-8555-666666666666  *",
        "not-a-uuid  mallory",                            # malformed: not counted
        "33333333-4444-4555-8666-777777777777  eve,,x",   # malformed: not counted
    ])
    r = tool(t, "--config", t.config(allowlist=allow))
    expect_status(r, 0)
    assert ("allowlist grants     3 lines grant alice, bob, carol; "
            "1 line grants any account (*)\n") in r.out
    assert "mallory" not in r.out and "eve" not in r.out, "a malformed line's accounts counted"
    assert summary_line(r.out) == "pam_heroku_check: 0 errors, 2 warnings: the module would run"
    # Many accounts: ten named, the rest counted.
    names = ["user%02d" % i for i in range(13)]
    allow = t.write_allowlist("many.allow", [
        "%08d-0000-4000-8000-000000000000  %s" % (i, n) for i, n in enumerate(names)])
    r = tool(t, "--config", t.config(name="many.conf", allowlist=allow))
    expect_status(r, 0)
    assert ("allowlist grants     13 lines grant " + ", ".join(names[:10]) +
            " and 3 more accounts\n") in r.out


def test_check_allowlist_grants_nobody(t, build):
    """The shipped allowlist sample (comments only) grants nobody: a warning,
    and the summary says so; the module would still run (exit 0)."""
    with open(os.path.join(build.srcdir, "packaging", "pam_heroku.allow.sample")) as f:
        allow = t.write("shipped.allow", f.read(), 0o644)
    conf = t.config(allowlist=allow)
    r = tool(t, "--config", conf)
    expect_status(r, 0)
    assert any("the allowlist %s grants nobody" % allow in w for w in warning_lines(r.err)), \
        "no warning that the allowlist grants nobody: " + r.err
    assert "allowlist grants     no line grants anyone\n" in r.out
    assert summary_line(r.out) == ("pam_heroku_check: 0 errors, 1 warning: the module would "
                                   "run, but the allowlist grants nobody")
    # The module on the same config: every login refused.
    run = module(t, "alice", "ok-alice", conf)
    assert run.auth == "PAM_AUTH_ERR", "the module, with an allowlist that grants nobody"


def test_check_shipped_samples(t, build):
    """The config and allowlist the package ships, as installed: no client
    secret (an error) and an allowlist that grants nobody (a warning), so
    not "the module would run".  --identify refuses too, sending nothing."""
    files = {}
    for name in ("pam_heroku.conf.sample", "pam_heroku.allow.sample"):
        with open(os.path.join(build.srcdir, "packaging", name)) as f:
            files[name] = t.write(name, f.read(), 0o644)
    args = ("--config", files["pam_heroku.conf.sample"],
            "allowlist=" + files["pam_heroku.allow.sample"])
    r = tool(t, *args)
    expect_status(r, 1)
    assert any("no client secret" in e for e in error_lines(r.err)), \
        "the missing client secret is not an error: " + r.err
    assert any("grants nobody" in w for w in warning_lines(r.err)), \
        "no warning that the shipped allowlist grants nobody: " + r.err
    assert summary_line(r.out).endswith(
        "the module would refuse every login (PAM_SERVICE_ERR)")
    r = tool(t, *args, "--identify=alice", credential="ok-alice")
    expect_status(r, 1)
    assert field(r.out, "outcome") == "misconfigured" and r.records == [], \
        "--identify without a client secret: " + r.out


def test_check_several_problems(t):
    """One run reports every problem of a config that has many."""
    open_secret = t.write("open_secret", t.suite.client_secret + "\n", 0o644)
    conf = t.config(
        api_url="http://127.0.0.1:%d" % t.fake.port,
        ca_file=t.path("no-such-ca.pem"),
        client_secret_file=open_secret,
        timeout="999",
        default_grant="password",
        raw=["bogus_key = 1", "this line has no equals sign", "client_id = bad id!"])
    r = tool(t, "--config", conf)
    expect_status(r, 1)
    errors = error_lines(r.err)
    wanted = [
        ('%s:%d: unknown key "bogus_key"' % (conf, line_of(conf, "bogus_key")),
         "the unknown key with file:line"),
        ('%s:%d: expected "key = value"' % (conf, line_of(conf, "this line")),
         "the line without '=' with file:line"),
        ("api_url must be an https:// URL", "the http:// api_url"),
        ("timeout must be a whole number", "the bad timeout"),
        ("default_grant must be authorization_code or refresh_token", "the bad grant"),
        ("client_id must be", "the bad client_id"),
        (open_secret, "the secret file readable by others"),
        (t.path("no-such-ca.pem"), "the missing CA file"),
    ]
    for needle, what in wanted:
        assert any(needle in e for e in errors), f"{what} not reported; errors: {errors}"
    for n in BAD_ALLOW_LINES:
        assert "warning: %s:%d: line ignored, grants nothing: " % (t.allowlist, n) in r.err, \
            "allowlist line %d, reported although the config is broken" % n
    assert len(errors) >= len(wanted)
    assert summary_line(r.out) == ("pam_heroku_check: %d errors, 4 warnings: the module would "
                                   "refuse every login (PAM_SERVICE_ERR)" % len(errors))
    assert "api_url  " not in r.out, "the settings table is printed for a broken config"
    # The module, on the same config, refuses with PAM_SERVICE_ERR.
    assert module(t, "alice", "ok-alice", conf).auth == "PAM_SERVICE_ERR"


def test_check_unsafe_files(t):
    # The config file writable by its group: reported, and nothing else read from it.
    conf = t.config(mode=0o664)
    r = tool(t, "--config", conf)
    expect_status(r, 1)
    assert any(conf in e for e in error_lines(r.err)), "group-writable config not reported"
    # An allowlist writable by others.
    os.chmod(conf, 0o644)
    os.chmod(t.allowlist, 0o666)
    r = tool(t, "--config", conf)
    expect_status(r, 1)
    assert any(t.allowlist in e for e in error_lines(r.err)), \
        "world-writable allowlist not reported: " + r.err
    os.chmod(t.allowlist, 0o644)
    # A config holding client_secret must be private.
    conf2 = t.config(name="inline.conf", mode=0o644, client_secret_file=None,
                     raw=["client_secret = " + t.suite.client_secret])
    r = tool(t, "--config", conf2)
    expect_status(r, 1)
    assert any("holds client_secret but is readable" in e for e in error_lines(r.err)), \
        "readable inline secret not reported: " + r.err
    os.chmod(conf2, 0o600)
    r = tool(t, "--config", conf2)
    expect_status(r, 0)
    assert "client secret        set, in the config file" in r.out
    # Owned by another user (root only: chown).
    if os.geteuid() != 0:
        pytest.skip("the owner check needs root (chown); the mode checks passed")
    os.chown(t.allowlist, 65534, 65534)
    r = tool(t, "--config", conf)
    expect_status(r, 1)
    assert any(t.allowlist in e for e in error_lines(r.err)), \
        "allowlist owned by another user not reported: " + r.err
    assert module(t, "alice", "ok-alice", conf).auth == "PAM_SERVICE_ERR", \
        "the module, with a foreign allowlist"


def test_check_missing_files(t):
    r = tool(t, "--config", t.path("absent.conf"))
    expect_status(r, 1)
    assert any(t.path("absent.conf") in e for e in error_lines(r.err)), "missing config"
    r = tool(t, "--config", t.config(allowlist=t.path("absent.allow")))
    expect_status(r, 1)
    assert any(t.path("absent.allow") in e for e in error_lines(r.err)), "missing allowlist"
    r = tool(t, "--config", "relative.conf")
    expect_status(r, 1)
    assert "config must be an absolute path" in r.err
    # No client secret at all: Heroku requires one in every request.
    conf = t.config(name="no-secret.conf", client_secret_file=None)
    r = tool(t, "--config", conf)
    expect_status(r, 1)
    assert any("no client secret" in e for e in error_lines(r.err)), \
        "missing client secret not reported as an error: " + r.err
    assert module(t, "alice", "ok-alice", conf).auth == "PAM_SERVICE_ERR", \
        "the module, without a client secret"


def test_check_ca_without_certificate(t):
    """A CA file with no certificate: the tool says so, and the module does fail on it."""
    not_pem = t.write("not-a-ca.pem", "this is not a certificate\n", 0o644)
    conf = t.config(ca_file=not_pem)
    r = tool(t, "--config", conf)
    expect_status(r, 1)
    assert any("holds no PEM certificate" in e for e in error_lines(r.err)), r.err
    code = module(t, "alice", "ok-alice", conf).auth
    assert code == "PAM_SERVICE_ERR", \
        "the module, for a CA file without a certificate (the tool's claim is wrong)"
    r = tool(t, "--config", conf, "--login", "alice", credential="ok-alice")
    expect_status(r, 1)
    assert field(r.out, "PAM result") == code, "--login and the module differ"


def test_check_helper_missing(t):
    """No exchange helper where the module looks: a configuration error for
    the check, PAM_SERVICE_ERR for --login (which runs the same helper)."""
    conf = t.config()
    env = {"PAM_HEROKU_TEST_EXCHANGE_HELPER": t.path("no-such-helper")}
    r = tool(t, "--config", conf, env=env)
    expect_status(r, 1)
    assert any("exchange helper" in e and "no-such-helper" in e for e in error_lines(r.err)), \
        r.err
    r = tool(t, "--config", conf, "--login", "alice", credential="ok-alice", env=env)
    assert field(r.out, "PAM result") == "PAM_SERVICE_ERR", "--login with no helper"


def test_check_module_arguments(t):
    """key=value arguments act as on the module line, and win over the file."""
    conf = t.config(timeout="999")
    expect_status(tool(t, "--config", conf), 1)
    r = tool(t, "--config", conf, "timeout=7", "debug")
    expect_status(r, 0)
    assert "timeout              7 s" in r.out, "module argument timeout=7"
    assert "flags                debug" in r.out, "the debug flag"
    # config=PATH as on the module line works like --config.
    expect_status(tool(t, "config=" + conf, "timeout=7"), 0)
    # client_secret is refused on the module line, and its value is not echoed.
    refused = "cmdline-" + os.urandom(8).hex()
    t.suite.add_secret(refused, "secret given on the command line")
    r = tool(t, "--config", conf, "timeout=7", "client_secret=" + refused)
    expect_status(r, 1)
    assert "client_secret is refused on the module line" in r.err
    r = tool(t, "--config", conf, "timeout=7", "nosuchflag", "nosuchkey=1")
    expect_status(r, 1)
    assert 'unknown module option "nosuchflag"' in r.err
    assert 'unknown key "nosuchkey" on the module line' in r.err
    assert "2 errors" in r.out


def test_quiet(t):
    good = t.config()
    bad = t.config(name="bad.conf", timeout="0", api_url="http://x")
    for args, want in ((["--quiet", "--config", good], 0), (["--quiet", "--config", bad], 1),
                       (["-q", "--config", good], 0), (["--config", bad, "-q"], 1)):
        r = tool(t, *args)
        expect_status(r, want)
        assert r.out == "" and r.err == "", "--quiet printed something"
    r = tool(t, "--quiet", "--config", good, "--login", "alice", credential="ok-alice")
    expect_status(r, 0)
    assert r.out == "" and r.err == "", "--quiet --login printed something"
    assert len(r.records) == 1, "--quiet --login made %d requests" % len(r.records)
    r = tool(t, "--quiet", "--config", good, "--login", "alice", credential="reject-401")
    expect_status(r, 1)
    assert r.out == "" and r.err == "", "--quiet --login printed something on a refusal"


def test_usage(t):
    for args in (["--bogus"], ["--login"], ["--login", "alice", "--authorize-url"],
                 ["--config", "/a", "--config", "/b"], ["-x"], ["--login", ""],
                 ["--config"]):
        r = tool(t, *args)
        expect_status(r, 2)
        assert r.err != "", "no message for usage error %r" % (args,)
    r = tool(t, "--help")
    expect_status(r, 0)
    assert "--authorize-url" in r.out
    r = tool(t, "--version")
    expect_status(r, 0)
    assert "pam_heroku_check" in r.out


# ==========================================================================
# --login, side by side with the module.

def login_both(t, credential, user="alice", module_args=(), want=None, conf=None):
    """The tool's --login and the module on the same input; they must agree.
    Returns the tool's run."""
    conf = conf or t.config_path
    r = tool(t, "--config", conf, "--login", user, *module_args, credential=credential)
    code = field(r.out, "PAM result")
    assert code in OUTCOME_WORD, "no PAM result in --login's report: " + r.out[-600:]
    assert field(r.out, "outcome") == OUTCOME_WORD[code], \
        "outcome %r with %s" % (field(r.out, "outcome"), code)
    expect_status(r, 0 if code == "PAM_SUCCESS" else 1)
    if want is not None:
        assert code == want, "--login: %s, want %s; reason: %s" % (code, want,
                                                                   field(r.out, "reason"))
    run = module(t, user, credential, conf, " ".join(module_args))
    assert run.auth == code, "the module answered %s, pam_heroku_check said %s" % (run.auth,
                                                                                   code)
    assert logged_outcome(run) == field(r.out, "outcome"), \
        "the module logged %r, the tool said %r" % (logged_outcome(run), field(r.out, "outcome"))
    assert len(r.records) == len(run.records), \
        "the tool made %d requests, the module %d" % (len(r.records), len(run.records))
    return r


def test_login_granted(t):
    t.config()
    r = login_both(t, "ok-alice", want="PAM_SUCCESS")
    assert len(r.records) == 1
    rec = r.records[0]
    # t.check: the operands hold the client secret and the credential.
    t.check(rec["path"] == "/oauth/tokens" and rec["json"]["grant"] ==
            {"type": "authorization_code", "code": "ok-alice"} and
            rec["json"].get("client") == {"secret": t.suite.client_secret},
            "the request body is not the module's")
    assert field(r.out, "request id") == rec["request_id"]
    assert field(r.out, "Heroku user id") == ALICE_ID
    assert field(r.out, "session id") == ALICE_SESSION
    assert field(r.out, "allowlist line") == "%s:%d" % (t.allowlist, ALICE_LINE)
    assert field(r.out, "user") == "alice" and field(r.out, "HTTP status") == "201", r.out
    assert field(r.out, "environment") == "HEROKU_USER_ID HEROKU_SESSION_ID"
    for n in BAD_ALLOW_LINES:
        assert "%s:%d: line ignored" % (t.allowlist, n) in r.err, "allowlist warnings in --login"


def test_login_refresh_and_export(t):
    t.config(export_access_token="yes")
    r = login_both(t, "refresh:ok-alice", want="PAM_SUCCESS")
    t.check(r.records[0]["json"]["grant"] == {"type": "refresh_token"} and
            r.records[0]["json"]["refresh_token"] == {"token": "ok-alice"}, "not a refresh grant")
    assert field(r.out, "grant") == "refresh_token"
    assert field(r.out, "environment") == "HEROKU_USER_ID HEROKU_SESSION_ID HEROKU_API_KEY"
    # A token the module would have to export and cannot: the tool reads it the same way.
    login_both(t, "ok-alice-badtoken", want="PAM_AUTHINFO_UNAVAIL")
    login_both(t, "ok-alice-badtoken", want="PAM_SUCCESS", conf=t.config(name="noexport.conf"))


def test_login_refusals(t):
    t.config()
    r = login_both(t, "ok-stranger", want="PAM_AUTH_ERR")
    assert field(r.out, "Heroku user id") == STRANGER_ID, "the refused identity is not shown"
    assert field(r.out, "allowlist line") == "-", "an allowlist line for a stranger"
    assert "grants this Heroku user this account" in (field(r.out, "reason") or "")
    login_both(t, "ok-alice", user="bob", want="PAM_AUTH_ERR")
    r = login_both(t, "reject-401", want="PAM_AUTH_ERR")
    assert field(r.out, "Heroku says") == "Invalid credentials provided."
    assert field(r.out, "request id") == r.records[0]["request_id"], "request id of a refusal"
    for cred in ("reject-403", "reject-422"):
        login_both(t, cred, want="PAM_AUTH_ERR")
    # Refused locally: no request at all.
    for cred, why in (("has space", "holds a character"), ("code:", "is empty"),
                      ("x" * 1100, "longer than 1024"), ("", "is empty")):
        r = login_both(t, cred, want="PAM_AUTH_ERR")
        t.check(r.records == [], "a request for a locally refused credential")
        assert why in (field(r.out, "reason") or ""), "local refusal reason"
    # Nothing at all on stdin: as a failed conversation, refused.
    r = tool(t, "--config", t.config_path, "--login", "alice", stdin=b"")
    expect_status(r, 1)
    assert field(r.out, "PAM result") == "PAM_AUTH_ERR" and r.records == [], \
        "empty input: " + r.out


def test_login_unavailable(t):
    t.config()
    for cred in ("status-503", "status-429", "status-302", "malformed", "notjson", "oversized",
                 "status-200"):
        login_both(t, cred, want="PAM_AUTHINFO_UNAVAIL")
    r = login_both(t, "status-503", want="PAM_AUTHINFO_UNAVAIL")
    assert "503" in (field(r.out, "reason") or ""), "reason of a 503"
    # Nobody listening.
    r = login_both(t, "ok-alice", want="PAM_AUTHINFO_UNAVAIL",
                   conf=t.config(name="closed.conf", api_url="https://127.0.0.1:%d"
                                 % t.suite.closed_port))
    assert field(r.out, "HTTP status") == "-", "an HTTP status with no server"


def test_login_misconfigured(t):
    conf = t.config(timeout="zero", raw=["unknown = 1"])
    r = tool(t, "--config", conf, "--login", "alice", credential="ok-alice")
    expect_status(r, 1)
    assert field(r.out, "outcome") == "misconfigured" and \
        field(r.out, "PAM result") == "PAM_SERVICE_ERR", r.out
    assert len(error_lines(r.err)) == 2, "both problems reported: " + r.err
    assert r.records == [], "a request with a broken config"
    assert module(t, "alice", "ok-alice", conf).auth == "PAM_SERVICE_ERR"


def test_login_debug_prints_no_secret(t):
    t.config(export_access_token="yes")
    # tool() and t.login scan everything for the secret, the credential and tokens.
    login_both(t, "ok-alice", module_args=("debug",), want="PAM_SUCCESS")
    login_both(t, "reject-401", module_args=("debug",), want="PAM_AUTH_ERR")


def on_terminal(t, args, credential):
    """Run the tool with stdin and stderr on a pseudo-terminal, stdout on a
    pipe, and type credential once the prompt shows.  Returns (status, what
    the terminal showed, the report on stdout, whether echo was off while
    the credential was read, whether echo was back on at the end)."""
    t.suite.add_credential(credential, "the credential typed")
    master, slave = pty.openpty()
    out_r, out_w = os.pipe()
    proc = None
    try:
        proc = subprocess.Popen([t.suite.paths.check] + list(args), stdin=slave,
                                stdout=out_w, stderr=slave, env=clean_env(),
                                start_new_session=True)
        os.close(out_w)
        out_w = None
        seen = b""
        deadline = time.monotonic() + 20
        while DEFAULT_PROMPT.encode() not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                seen += os.read(master, 4096)
        assert DEFAULT_PROMPT.encode() in seen, "no prompt on the terminal: %r" % seen[-300:]
        time.sleep(0.1)   # the tool turns echo off right after the prompt
        echo_off = not termios.tcgetattr(slave)[3] & termios.ECHO
        os.write(master, credential.encode() + b"\n")
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            pytest.fail("the tool did not finish after the credential was typed")
        while True:
            ready, _, _ = select.select([master], [], [], 0.1)
            if not ready:
                break
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        out = b""
        while True:
            chunk = os.read(out_r, 4096)
            if not chunk:
                break
            out += chunk
        echo_back = bool(termios.tcgetattr(slave)[3] & termios.ECHO)
    finally:
        stop_process(proc)     # a failed check above leaves it running
        os.close(master)
        os.close(slave)
        os.close(out_r)
        if out_w is not None:
            os.close(out_w)
    terminal = seen.decode("utf-8", "replace")
    report = out.decode("utf-8", "replace")
    expect_no_secret(t, terminal + report, "the terminal or the report")
    t.check(credential not in terminal, "the typed credential was echoed")
    return proc.returncode, terminal, report, echo_off, echo_back


def test_login_terminal(t):
    """On a terminal: the prompt (with the URL) shows, the typed code does not echo."""
    conf = t.config(client_id=CLIENT_ID, authorize_url=AUTHORIZE_BASE)
    status, terminal, report, echo_off, echo_back = on_terminal(
        t, ["--config", conf, "--login", "alice"], "ok-alice")
    assert echo_off, "echo is on while the credential is read"
    lines = terminal.replace("\r", "").split("\n")
    assert "To get a grant code, open:" in lines, "no intro line: %r" % terminal[:300]
    assert any(URL_RE.match(line.strip()) for line in lines), "no authorize URL: %r" % terminal
    assert field(report, "PAM result") == "PAM_SUCCESS", "report: " + report
    assert status == 0
    assert echo_back, "echo is still off after the tool ended"


# ==========================================================================
# --identify: the Heroku user id behind a credential, for the allowlist.

def test_identify(t):
    """--identify exchanges the credential as the module does (the same
    request), with no allowlist step, and prints the user id and an
    allowlist line; never the session id or a token."""
    conf = t.config()
    r = tool(t, "--config", conf, "--identify=alice", credential="ok-alice")
    expect_status(r, 0)
    assert len(r.records) == 1
    rec = r.records[0]
    assert rec["json"]["grant"] == {"type": "authorization_code", "code": "ok-alice"} and \
        rec["json"].get("client") == {"secret": t.suite.client_secret}, \
        "the request body is not the module's"
    assert field(r.out, "outcome") == "identified", r.out
    assert field(r.out, "Heroku user id") == ALICE_ID
    assert field(r.out, "request id") == rec["request_id"]
    assert field(r.out, "allowlist line") == ALICE_ID + "  alice"
    assert ALICE_SESSION not in r.out + r.err and "session" not in r.out.lower(), \
        "--identify printed the session id"
    # No ACCOUNT: a placeholder and a note; a refresh token; an identity the
    # allowlist does not know (no allowlist step: still identified).
    r = tool(t, "--config", conf, "--identify", credential="refresh:ok-bob")
    expect_status(r, 0)
    t.check(r.records[0]["json"]["refresh_token"] == {"token": "ok-bob"}, "not a refresh grant")
    assert field(r.out, "allowlist line") == BOB_ID + "  ACCOUNT", r.out
    assert "replace ACCOUNT" in r.err, "the note about the placeholder"
    r = tool(t, "--config", conf, "--identify=bob,carol", credential="ok-stranger")
    expect_status(r, 0)
    assert field(r.out, "allowlist line") == STRANGER_ID + "  bob,carol", r.out
    # On a terminal: the module's prompt, echo off.
    status, terminal, report, echo_off, echo_back = on_terminal(
        t, ["--config", conf, "--identify=alice"], "ok-alice")
    assert status == 0 and field(report, "Heroku user id") == ALICE_ID, "report: " + report
    assert echo_off and echo_back, "echo on while reading (%s) or off after (%s)" % (
        not echo_off, not echo_back)
    assert ALICE_SESSION not in terminal + report, "the session id shown on the terminal"
    # A note when the account does not exist here (root always does).
    r = tool(t, "--config", conf, "--identify=phnosuchuser", credential="ok-alice")
    expect_status(r, 0)
    assert "there is no local account phnosuchuser" in r.err, "the note about the account"
    r = tool(t, "--config", conf, "--identify=root", credential="ok-alice")
    expect_status(r, 0)
    assert "no local account" not in r.err, "a note about root: " + r.err
    # --quiet: the id alone, for scripts.
    r = tool(t, "--quiet", "--config", conf, "--identify", credential="ok-alice")
    expect_status(r, 0)
    assert r.out == ALICE_ID + "\n" and r.err == "", "--quiet --identify: %r %r" % (r.out, r.err)


def test_identify_failures(t):
    conf = t.config()
    r = tool(t, "--config", conf, "--identify=alice", credential="reject-401")
    expect_status(r, 1)
    assert field(r.out, "outcome") == "refused" and field(r.out, "HTTP status") == "401", r.out
    assert field(r.out, "Heroku says") == "Invalid credentials provided.", r.out
    assert field(r.out, "allowlist line") is None, "an allowlist line for a refused code"
    r = tool(t, "--config", conf, "--identify", credential="status-503")
    expect_status(r, 1)
    assert field(r.out, "outcome") == "unavailable", r.out
    r = tool(t, "--config", conf, "--identify", credential="malformed")
    expect_status(r, 1)
    assert field(r.out, "outcome") == "unavailable" and field(r.out, "Heroku user id") == "-", \
        r.out
    # Refused locally, nothing sent.
    r = tool(t, "--config", conf, "--identify", credential="has space")
    expect_status(r, 1)
    assert r.records == [] and field(r.out, "outcome") == "refused", r.out
    r = tool(t, "--quiet", "--config", conf, "--identify", credential="reject-401")
    expect_status(r, 1)
    assert r.out == "" and r.err == "", "--quiet printed on a refusal: %r %r" % (r.out, r.err)
    # A broken config: nothing read, nothing sent.
    bad = t.config(name="bad.conf", timeout="zero")
    r = tool(t, "--config", bad, "--identify", credential="ok-alice")
    expect_status(r, 1)
    assert r.records == [] and field(r.out, "outcome") == "misconfigured", r.out
    assert any("timeout" in e for e in error_lines(r.err)), r.err
    # Usage: a bad account list, or two modes.
    for args in (["--identify="], ["--identify=a b"], ["--identify=a,,b"],
                 ["--identify=al*ce"], ["--identify=a#b"], ["--identify", "--login", "alice"],
                 ["--identify", "--authorize-url"]):
        r = tool(t, "--config", conf, *args)
        expect_status(r, 2)
        assert r.records == [], "a request on a usage error"


# ==========================================================================
# --authorize-url, and the URL in the module's prompt.

def test_authorize_url(t):
    conf = t.config(client_id=CLIENT_ID, authorize_url=AUTHORIZE_BASE)
    states = set()
    for _ in range(2):
        r = tool(t, "--config", conf, "--authorize-url")
        expect_status(r, 0)
        lines = r.out.splitlines()
        assert len(lines) == 1 and URL_RE.match(lines[0]), "output: %r" % r.out
        states.add(URL_RE.match(lines[0]).group(1))
    assert len(states) == 2, "the state is not fresh on each run"
    r = tool(t, "--quiet", "--config", conf, "--authorize-url")
    expect_status(r, 0)
    assert URL_RE.match(r.out.strip()) is not None, "--quiet hides the URL itself"
    # The default authorize base, chosen by the module's default.
    r = tool(t, "--config", conf, "--authorize-url",
             "authorize_url=https://id.heroku.com/oauth/authorize")
    expect_status(r, 0)
    assert r.out.startswith("https://id.heroku.com/oauth/authorize?client_id=" + CLIENT_ID +
                            "&response_type=code&scope=identity&state="), r.out
    # No client_id: nothing to print.
    r = tool(t, "--config", t.config(name="noid.conf"), "--authorize-url")
    expect_status(r, 1)
    assert r.out == "" and "client_id is not set" in r.err, \
        "without client_id: %r %r" % (r.out, r.err)
    # A broken config: no URL either.
    r = tool(t, "--config", conf, "--authorize-url",
             "authorize_url=http://id.example/oauth/authorize")
    expect_status(r, 1)
    assert r.out == "" and any("authorize_url must be an https://" in e
                               for e in error_lines(r.err)), \
        "http authorize_url: %r %r" % (r.out, r.err)


def test_prompt_carries_url(t):
    """Through real libpam: the URL and the prompt come in one echo-off message."""
    conf = t.config(client_id=CLIENT_ID, authorize_url=AUTHORIZE_BASE, prompt='"Grant code: "')
    states = set()
    for _ in range(2):
        run = module(t, "alice", "ok-alice", conf)
        assert run.auth == "PAM_SUCCESS"
        assert len(run.conv) == 1 and run.conv[0][0] == "echo_off", \
            "want one echo-off prompt and nothing else, got %r" % run.conv
        parts = run.conv[0][1].split("\n")
        assert len(parts) == 3 and parts[0] == "To get a grant code, open:" and \
            parts[1].startswith("  ") and URL_RE.match(parts[1][2:]) and \
            parts[2] == "Grant code: ", "the prompt text: %r" % run.conv[0][1]
        states.add(URL_RE.match(parts[1][2:]).group(1))
    assert len(states) == 2, "the module repeats the state"
    # The tool shows the same prompt (same code), fresh state aside.
    r = tool(t, "--config", conf)
    expect_status(r, 0)
    assert ("  | To get a grant code, open:\n  |   " + AUTHORIZE_BASE + "?client_id=" +
            CLIENT_ID + "&response_type=code&scope=identity&state=") in r.out, "the tool's prompt"
    assert "\n  | Grant code: \n" in r.out, "the tool's prompt"
    # Without client_id: the prompt alone.
    run = module(t, "alice", "ok-alice", t.config(name="noid.conf"))
    assert run.auth == "PAM_SUCCESS" and run.conv == [("echo_off", DEFAULT_PROMPT)], \
        "prompt without client_id: %r" % run.conv


# ==========================================================================
# The man page.

def test_man_page(build):
    page = os.path.join(build.srcdir, "pam_heroku", "man", "pam_heroku_check.8")
    with open(page) as f:
        text = f.read()
    for section in (".SH NAME", ".SH SYNOPSIS", ".SH DESCRIPTION", ".SH OPTIONS",
                    ".SH EXIT STATUS", ".SH EXAMPLES", ".SH SEE ALSO"):
        assert section in text, "the man page has no %s" % section
    for word in ("--login", "--identify", "--authorize-url", "--quiet", "--config"):
        assert word.replace("-", "\\-") in text, "the man page does not describe " + word
    if shutil.which("mandoc"):
        proc = subprocess.run(["mandoc", "-Tlint", "-W", "warning", page],
                              capture_output=True, text=True)
        assert proc.returncode == 0 and proc.stdout.strip() == "", \
            "mandoc -Tlint: " + proc.stdout + proc.stderr
    elif shutil.which("groff"):
        proc = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", page],
                              capture_output=True, text=True)
        assert proc.returncode == 0 and proc.stderr.strip() == "", "groff: " + proc.stderr
    else:
        pytest.skip("neither mandoc nor groff is installed: the page's content was checked, "
                    "its markup was not")
