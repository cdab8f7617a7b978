"""The integration tests: the built pam_heroku.so through real libpam
(tests/pam_driver) against the fake Heroku API (tests/fake_api.py) over TLS
with a test CA; one test per behaviour pam_heroku(8) documents.

Each test gets `t` (tests/conftest.py; harness.Case): its own directory with a default config
file (mode 0600: this case's fake API, the test CA, the standard allowlist,
timeout 10), the standard allowlist (0644, see harness.ALLOWLIST_LINES) and a
private PAM confdir.  `t.login(user, *answers, ...)` runs tests/pam_driver
(answers through a pipe) and returns a Run; every run is checked for the
request shape (method, path, the three headers, JSON without repeated keys),
for exactly one "auth <outcome>: user=... heroku_user_id=... request_id=..."
log line per authentication by each pam_heroku auth line of the stack, and
for control characters in conversation messages.

The whole-run checks at the end of the file scan every syslog capture and
conversation for credentials, client secrets and tokens.

PAM_IGNORE cannot be seen directly: libpam never returns it from a stack (a
stack of only ignored modules, or `ignore=die`, gives PAM_PERM_DENIED).  So
the account cases that expect PAM_IGNORE use ignore_probe_stack(): pam_heroku with
`ignore=1` jumps to pam_debug returning PAM_TRY_AGAIN, a code nothing else in
the stack returns; success goes to pam_permit (`done`), any other code
`die`s with the module's own code.
"""

import base64
import hashlib
import os
import re
import shlex
import shutil
import subprocess

import pytest

from harness import (ALICE_ID, ALLOWLIST_BAD_LINES, ALLOWLIST_LINES, BOB_ID,
                     CAROL_ID, DAVE_ID, DEFAULT_PROMPT, PROXY_VARIABLES,
                     SESSION_IDS, STRANGER_ID, CaseFailure, add_test, control_chars)


IGNORE_SENTINEL = "PAM_TRY_AGAIN"

# --------------------------------------------------------------------------
# Helpers.


def login_granted(t, user, credential, heroku_id, session, **kw):
    """Auth, account and env for a login that must succeed."""
    r = t.login(user, credential, **kw)
    t.expect_auth(r, "PAM_SUCCESS")
    t.expect(r, "account", "PAM_SUCCESS")
    t.expect_requests(r, 1)
    t.expect_summary(r, user, heroku_id)
    t.expect_env(r, {"HEROKU_USER_ID": heroku_id, "HEROKU_SESSION_ID": session,
                     "HEROKU_API_KEY": None})
    return r


def login_fails(t, user, credential, result, requests, heroku_id="-",
                request_id="record", **kw):
    """Auth and env for a login that must fail with result."""
    kw.setdefault("phases", ["auth", "env"])
    r = t.login(user, credential, **kw)
    t.expect_auth(r, result)
    t.expect_requests(r, requests)
    t.expect_summary(r, user, heroku_id, request_id=request_id)
    t.expect_no_heroku_env(r)
    return r


def misconfigured(t, user="alice", credential="ok-alice", **kw):
    """A configuration error: PAM_SERVICE_ERR, no request, nothing exported."""
    return login_fails(t, user, credential, "PAM_SERVICE_ERR", 0, **kw)


def ignore_probe_stack(t, auth_lines=(), account_args=""):
    return list(auth_lines) + [
        t.module_line("account", "[success=ok ignore=1 default=die]", account_args),
        "account [default=done] pam_permit.so",
        "account [default=die] pam_debug.so acct=try_again",
    ]


def echo_then(*lines):
    """A stack whose first line calls the conversation (pam_echo), which is
    where the driver stores --authtok (libpam lets only modules set it)."""
    return ["auth optional pam_echo.so storing the application's token"] + list(lines)


def expect_authtok_stored(t, r):
    if not any("PAM_SUCCESS" in line for line in r.authtok):
        t.fail(f"{r.label}: the driver could not store PAM_AUTHTOK ({r.authtok})")


def spki_pin(cert_path):
    """sha256//base64 of a certificate's public key (CURLOPT_PINNEDPUBLICKEY)."""
    pub = subprocess.run(["openssl", "x509", "-in", cert_path, "-pubkey", "-noout"],
                         check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub,
                         check=True, capture_output=True).stdout
    return "sha256//" + base64.b64encode(hashlib.sha256(der).digest()).decode()


# --------------------------------------------------------------------------
# The harness itself: without this, every "nothing leaked to syslog" check
# would pass vacuously.

def test_driver_captures_pam_syslog(t):
    t.service(lines=["auth required pam_warn.so", "auth required pam_permit.so"])
    r = t.login("alice", phases=["auth"])
    t.expect_auth(r, "PAM_SUCCESS")
    t.check(any("pam_warn(heroku:auth)" in text and prio >> 3 == 10
                for prio, text in r.syslog),
            "pam_warn's pam_syslog line did not reach PAM_DRIVER_SYSLOG "
            "(with facility authpriv)")


# --------------------------------------------------------------------------
# The credential and the grant sent.

def test_grant_code_alice_success(t):
    r = login_granted(t, "alice", "ok-alice", ALICE_ID, SESSION_IDS[ALICE_ID])
    t.expect_body(r, "authorization_code", "ok-alice", exact_text=True)
    t.check(r.prompt_count == 1, f"{r.prompt_count} prompts, expected 1")
    prompts = r.conv_text("echo_off", "echo_on")
    t.check(prompts == [DEFAULT_PROMPT],
            f"prompt {prompts!r}, expected [{DEFAULT_PROMPT!r}] (echo off)")


def test_grant_code_bob_success(t):
    r = login_granted(t, "bob", "ok-bob", BOB_ID, SESSION_IDS[BOB_ID])
    t.expect_body(r, "authorization_code", "ok-bob")


def test_grant_code_dave_success(t):
    r = login_granted(t, "dave", "ok-dave", DAVE_ID, SESSION_IDS[DAVE_ID])
    t.expect_body(r, "authorization_code", "ok-dave")


def test_code_prefix_sends_authorization_code(t):
    r = login_granted(t, "alice", "code:ok-alice", ALICE_ID, SESSION_IDS[ALICE_ID])
    t.expect_body(r, "authorization_code", "ok-alice", exact_text=True)


def test_refresh_prefix_sends_refresh_grant(t):
    r = login_granted(t, "bob", "refresh:ok-bob", BOB_ID, SESSION_IDS[BOB_ID])
    t.expect_body(r, "refresh_token", "ok-bob", exact_text=True)


def test_bare_credential_with_default_grant_refresh(t):
    t.config(default_grant="refresh_token")
    r = login_granted(t, "alice", "ok-alice", ALICE_ID, SESSION_IDS[ALICE_ID])
    t.expect_body(r, "refresh_token", "ok-alice", exact_text=True)


def test_code_prefix_wins_over_default_grant_refresh(t):
    t.config(default_grant="refresh_token")
    r = login_granted(t, "alice", "code:ok-alice", ALICE_ID, SESSION_IDS[ALICE_ID])
    t.expect_body(r, "authorization_code", "ok-alice")


def test_no_client_secret_is_service_err(t):
    # Heroku's schema requires client in every request: without a secret
    # the configuration is invalid and nothing is sent.
    t.config(client_secret_file=None)
    misconfigured(t, request_id="-")
    misconfigured(t, credential="refresh:ok-alice", request_id="-")


def test_code_grant_body_is_heroku_schema_valid(t):
    # The fake answers 422 to a body Heroku's schema refuses: a code grant
    # must carry client and an empty refresh_token object too.
    r = login_granted(t, "alice", "ok-alice", ALICE_ID, SESSION_IDS[ALICE_ID])
    t.check(r.records[0].get("schema_errors") == [], "the fake did not validate the body")
    t.expect_body(r, "authorization_code", "ok-alice", exact_text=True)
    r = login_granted(t, "alice", "refresh:ok-alice", ALICE_ID, SESSION_IDS[ALICE_ID])
    t.expect_body(r, "refresh_token", "ok-alice", exact_text=True)


def test_wrong_client_secret_is_auth_err(t):
    t.config(client_secret="not-the-fakes-secret-3Xq")
    r = login_fails(t, "alice", "ok-alice", "PAM_AUTH_ERR", 1)
    t.expect_body(r, "authorization_code", "ok-alice", secret="not-the-fakes-secret-3Xq")


def test_grants_without_refresh_token_refuses_refresh_locally(t):
    t.config(grants="authorization_code")
    r = login_fails(t, "alice", "refresh:ok-alice", "PAM_AUTH_ERR", 0, request_id="-")
    t.expect_logged(r, r"refresh_token credential, which the grants setting does not accept",
                    "the grants refusal")
    login_granted(t, "alice", "code:ok-alice", ALICE_ID, SESSION_IDS[ALICE_ID])


def test_grants_without_authorization_code_refuses_codes_locally(t):
    t.config(grants="refresh_token", default_grant="refresh_token")
    login_fails(t, "alice", "code:ok-alice", "PAM_AUTH_ERR", 0, request_id="-")
    r = login_granted(t, "alice", "ok-alice", ALICE_ID, SESSION_IDS[ALICE_ID])
    t.expect_body(r, "refresh_token", "ok-alice")


def test_request_headers_are_exact(t):
    # Every run checks them (harness.Case.check_request_shape); this case
    # names the check.
    r = login_granted(t, "alice", "ok-alice", ALICE_ID, SESSION_IDS[ALICE_ID])
    headers = {k.lower(): v for k, v in r.records[0]["headers"].items()}
    t.check(headers.get("user-agent") == f"pam_heroku/{t.suite.version}",
            "User-Agent is not pam_heroku/<version of configure.ac>")


# --------------------------------------------------------------------------
# The environment set on success.

def test_export_access_token_sets_api_key(t):
    t.config(export_access_token="yes")
    r = t.login("alice", "ok-alice")
    t.expect_auth(r, "PAM_SUCCESS")
    t.expect_summary(r, "alice", ALICE_ID)
    want = t.suite.fake_api.token_for("access", "ok-alice")
    t.suite.add_secret(want, "access token of ok-alice")
    t.expect_env(r, {"HEROKU_USER_ID": ALICE_ID,
                     "HEROKU_SESSION_ID": SESSION_IDS[ALICE_ID],
                     "HEROKU_API_KEY": want})


def test_export_access_token_no_sets_no_api_key(t):
    t.config(export_access_token="no")
    login_granted(t, "alice", "ok-alice", ALICE_ID, SESSION_IDS[ALICE_ID])


def test_exported_token_breaking_token68_is_unavailable(t):
    t.config(export_access_token="yes")
    t.suite.add_secret("bad token", "ok-alice-badtoken's access token")
    login_fails(t, "alice", "ok-alice-badtoken", "PAM_AUTHINFO_UNAVAIL", 1,
                heroku_id=None)


def test_unexported_bad_token_is_not_judged(t):
    t.suite.add_secret("bad token", "ok-alice-badtoken's access token")
    login_granted(t, "alice", "ok-alice-badtoken", ALICE_ID, SESSION_IDS[ALICE_ID])


def test_no_session_sets_no_session_variable(t):
    login_granted(t, "alice", "ok-alice-nosession", ALICE_ID, None)


def test_null_session_sets_no_session_variable(t):
    login_granted(t, "alice", "ok-alice-nullsession", ALICE_ID, None)


def test_session_id_with_newline_is_unavailable(t):
    login_fails(t, "alice", "ok-alice-badsession", "PAM_AUTHINFO_UNAVAIL", 1,
                heroku_id=None)


def test_session_id_too_long_is_unavailable(t):
    login_fails(t, "alice", "ok-alice-longsession", "PAM_AUTHINFO_UNAVAIL", 1,
                heroku_id=None)


def test_repeat_cycles_are_independent(t):
    r = t.login("alice", "ok-alice", repeat=3)
    t.check(r.results_of("auth") == ["PAM_SUCCESS"] * 3,
            f"auth results {r.results_of('auth')}, expected PAM_SUCCESS x3")
    t.check(r.results_of("account") == ["PAM_SUCCESS"] * 3,
            f"account results {r.results_of('account')}, expected PAM_SUCCESS x3")
    t.expect_requests(r, 3)
    for i in range(3):
        t.expect_summary(r, "alice", ALICE_ID, index=i)
    t.check(len(r.env_listings) == 3 and all(
        e.get("HEROKU_USER_ID") == ALICE_ID for e in r.env_listings),
        "HEROKU_USER_ID missing from a cycle's environment")


# --------------------------------------------------------------------------
# What the API answers.

for _status in (400, 401, 403, 404, 422):
    def _reject(t, status=_status):
        r = login_fails(t, "alice", f"reject-{status}", "PAM_AUTH_ERR", 1)
        t.check(r.records[0]["status"] == status, "the fake did not answer as asked")
    add_test(globals(), f"api_{_status}_is_auth_err", _reject)


def test_unknown_credential_is_auth_err(t):
    login_fails(t, "alice", "unknown-Zq8xW3", "PAM_AUTH_ERR", 1)


def test_escape_401_is_sanitised(t):
    r = login_fails(t, "alice", "escape-401", "PAM_AUTH_ERR", 1)
    raw_marks = ("red", "title", "Accepted password", "xxxxxxxxxx")
    shown = [(kind, text) for kind, text in r.conv
             if any(m in text for m in raw_marks)]
    for kind, text in r.conv:
        bad = set(control_chars(text)) & {"0x1b", "0x07", "0x0d", "0x0a"}
        t.check(not bad, f"conversation ({kind}) carries {sorted(bad)}")
    for prio, text in r.syslog:
        bad = control_chars(text)
        t.check(not bad, f"a log line carries control characters {bad}")
    # What is shown of the API's message (sanitised, it starts "[31mred" and
    # ends in a run of "x") must be at most 200 bytes.
    for kind, text in shown + [("log", s) for _, s in r.syslog]:
        shown_bytes = api_message_span(text)
        t.check(shown_bytes <= 200,
                f"{kind}: {shown_bytes} bytes of the API's message shown, "
                f"expected at most 200")
    for kind, text in r.conv:
        for line in text.splitlines():
            t.check(not line.startswith("May  1"),
                    "the forged syslog line appears on a line of its own")


def api_message_span(text):
    """Bytes of escape-401's message in text: from its start ("[31mred",
    or "red]0;title" / "Accepted password" when the module cut the start)
    to the end of the run of "x" after "Accepted password for root"."""
    starts = [text.find(m) for m in ("[31mred", "red]0;title", "Accepted password")]
    starts = [s for s in starts if s >= 0]
    if not starts:
        return 0
    start = min(starts)
    end = text.find("Accepted password for root", start)
    if end < 0:
        end = len(text[:start]) + len(text[start:].rstrip('"'))
    else:
        end += len("Accepted password for root")
        while end < len(text) and text[end] == "x":
            end += 1
    return len(text[start:end].encode("utf-8"))


for _status in (200, 301, 302, 418, 429, 500, 503):
    def _status_case(t, status=_status):
        r = login_fails(t, "alice", f"status-{status}", "PAM_AUTHINFO_UNAVAIL", 1)
        t.check(r.records[0]["status"] == status, "the fake did not answer as asked")
        paths = [rec["path"] for rec in r.records]
        t.check("/redirected/oauth/tokens" not in paths,
                "the redirect was followed")
    add_test(globals(), f"status_{_status}_is_unavailable", _status_case)


for _cred in ("malformed", "notjson", "notobject", "empty", "nouser", "nulluser",
              "nulluserid", "baduuid", "numberuserid", "dupuser", "dupuserid",
              "oversized", "oversized-chunked"):
    def _bad_body(t, cred=_cred):
        # As alice: a parser keeping the first of a duplicated key would
        # grant alice, one keeping the last would refuse (stranger); both
        # are wrong.
        login_fails(t, "alice", cred, "PAM_AUTHINFO_UNAVAIL", 1, heroku_id=None,
                    request_id="any" if cred.startswith("oversized") else "record")
    add_test(globals(), "body_" + _cred.replace("-", "_") + "_is_unavailable",
             _bad_body)


def test_slow_answer_times_out(t):
    # A private fake: its slow answer would otherwise land in the record of
    # whichever case uses the shared fake next.
    fake = t.private_fake("slow")
    t.config(api_url=fake.url, timeout="1")
    r = login_fails(t, "alice", "slow-5", "PAM_AUTHINFO_UNAVAIL", 0, fake=fake,
                    request_id="-")
    t.check(r.elapsed < 4.0, f"the driver took {r.elapsed:.1f} s, expected under 4 s "
            f"with timeout=1")


# --------------------------------------------------------------------------
# Credentials refused before any request.

LOCAL_REFUSALS = {
    "empty": "",
    "empty_after_code_prefix": "code:",
    "empty_after_refresh_prefix": "refresh:",
    "1025_bytes": "A" * 1025,
    "space": "ok-alice x",
    "double_quote": 'ok-alice"',
    "brace": "ok-alice}",
    "control_char": "ok-\x01alice",
    "escape_char": "ok-\x1b[0malice",
    "tab": "ok-\talice",
    "del_char": "ok-alice\x7f",
    "backslash": "ok-\\alice",
    "padding_not_trailing": "ok-alice=x",
    "non_ascii": "ok-alic\u00e9",
    "colon_after_prefix": "code:ok:alice",
}

for _name, _value in LOCAL_REFUSALS.items():
    def _refused(t, value=_value):
        login_fails(t, "alice", value, "PAM_AUTH_ERR", 0, request_id="-")
    add_test(globals(), f"refused_locally_{_name}", _refused)


def test_credential_of_1024_bytes_is_sent(t):
    value = "B" * 1024
    r = login_fails(t, "alice", value, "PAM_AUTH_ERR", 1)   # the fake's 401
    t.expect_body(r, "authorization_code", value)


def test_token68_characters_and_padding_are_sent(t):
    value = "Az09-._~+/x=="
    r = login_fails(t, "alice", value, "PAM_AUTH_ERR", 1)   # the fake's 401
    t.expect_body(r, "authorization_code", value, exact_text=True)


# --------------------------------------------------------------------------
# The allowlist.

def test_stranger_identity_is_refused(t):
    # The stranger's id stands alone on line 9: that grants nothing.
    for user in ("alice", "stranger"):
        login_fails(t, user, "ok-stranger", "PAM_AUTH_ERR", 1, heroku_id=STRANGER_ID)


def test_alice_identity_cannot_log_in_as_bob(t):
    login_fails(t, "bob", "ok-alice", "PAM_AUTH_ERR", 1, heroku_id=ALICE_ID)


def test_bob_identity_may_log_in_as_carol(t):
    login_granted(t, "carol", "ok-bob", BOB_ID, SESSION_IDS[BOB_ID])


def test_bob_identity_cannot_log_in_as_alice(t):
    login_fails(t, "alice", "ok-bob", "PAM_AUTH_ERR", 1, heroku_id=BOB_ID)


def test_carol_upper_case_id_works_for_carol(t):
    r = t.login("carol", "ok-carol")
    t.expect_auth(r, "PAM_SUCCESS")
    t.expect(r, "account", "PAM_SUCCESS")
    t.expect_summary(r, "carol", CAROL_ID)
    # pam_heroku(8), ENVIRONMENT: HEROKU_USER_ID is user.id as the API sent
    # it.  Compared without regard to case here.
    got = r.env.get("HEROKU_USER_ID") or ""
    t.check(got.lower() == CAROL_ID.lower(),
            f"HEROKU_USER_ID={got!r}, expected {CAROL_ID} in any case")
    t.expect_env(r, {"HEROKU_SESSION_ID": SESSION_IDS[CAROL_ID]})


def test_carol_id_matches_lower_case_allowlist_entry(t):
    allow = t.write_allowlist("allow-lower", [f"{CAROL_ID.lower()} carol"])
    t.config(allowlist=allow)
    r = t.login("carol", "ok-carol")
    t.expect_auth(r, "PAM_SUCCESS")


def test_carol_upper_case_id_refused_for_alice(t):
    login_fails(t, "alice", "ok-carol", "PAM_AUTH_ERR", 1, heroku_id=CAROL_ID)


def test_dave_star_allows_any_account(t):
    for user in ("alice", "root", "zed"):
        login_granted(t, user, "ok-dave", DAVE_ID, SESSION_IDS[DAVE_ID])


def test_allowlist_bad_lines_logged_with_path_and_line(t):
    r = login_granted(t, "alice", "ok-alice", ALICE_ID, SESSION_IDS[ALICE_ID])
    for n in ALLOWLIST_BAD_LINES:
        t.expect_logged(r, re.escape(f"{t.allowlist}:{n}") + r"\b",
                        f"'{os.path.basename(t.allowlist)}:{n}' (line: "
                        f"{ALLOWLIST_LINES[n - 1][:20]!r})")
    # A good line must not be reported as "path:N: why" (a summary may name
    # the line that granted: "path:3 allows it").
    good = [n for n in range(1, len(ALLOWLIST_LINES) + 1) if n not in ALLOWLIST_BAD_LINES]
    for n in good:
        for _, text in r.syslog:
            t.check(not re.search(re.escape(f"{t.allowlist}:{n}:"), text),
                    f"good allowlist line {n} was reported as bad")


def test_allowlist_crlf_comments_and_blanks(t):
    # Line 3 (alice) has trailing blanks and a comment, line 7 (dave) ends in
    # CRLF, line 8 (carol) in blanks: all still grant.
    login_granted(t, "alice", "ok-alice", ALICE_ID, SESSION_IDS[ALICE_ID])
    login_granted(t, "bob", "ok-dave", DAVE_ID, SESSION_IDS[DAVE_ID])


# --------------------------------------------------------------------------
# account and setcred.

def test_account_after_successful_auth(t):
    r = t.login("alice", "ok-alice", phases=["auth", "account"])
    t.expect_auth(r, "PAM_SUCCESS")
    t.expect(r, "account", "PAM_SUCCESS")


def test_account_without_auth_is_ignore(t):
    t.service(lines=ignore_probe_stack(t))
    r = t.login("alice", phases=["account"])
    t.expect(r, "account", IGNORE_SENTINEL)   # i.e. pam_heroku said PAM_IGNORE
    t.expect_requests(r, 0)


def test_account_after_failed_auth_is_not_success(t):
    # pam_heroku(8), RETURN VALUES: PAM_IGNORE where this module did not authenticate the
    # handle; a refused auth did not authenticate it.  PAM_PERM_DENIED is
    # accepted too (fails closed); PAM_SUCCESS is not.
    t.service(lines=ignore_probe_stack(t, [t.module_line("auth", "required")]))
    r = t.login("alice", "reject-401", phases=["auth", "account"])
    t.expect_auth(r, "PAM_AUTH_ERR")
    t.expect(r, "account", IGNORE_SENTINEL, "PAM_PERM_DENIED")


def test_account_rechecks_allowlist(t):
    only_bob = t.write_allowlist("allow-bob-only", [f"{BOB_ID} bob"])
    t.service(lines=[
        t.module_line("auth", "required"),
        t.module_line("account", "required", f"allowlist={only_bob}"),
    ])
    r = t.login("alice", "ok-alice", phases=["auth", "account"])
    t.expect_auth(r, "PAM_SUCCESS")
    t.expect(r, "account", "PAM_PERM_DENIED")


REUSED = r"debug: account: verdict of the auth phase reused \(allowlist unchanged\)"


def test_account_reuses_verdict_while_allowlist_unchanged(t):
    # The account phase takes the auth phase's verdict while the allowlist is
    # the same file, unchanged (device, inode, size, mtime), and says so
    # under debug; a login without debug logs nothing of it.
    t.service(auth_args="debug", account_args="debug")
    r = t.login("alice", "ok-alice", phases=["auth", "account"])
    t.expect_auth(r, "PAM_SUCCESS")
    t.expect(r, "account", "PAM_SUCCESS")
    t.expect_logged(r, REUSED, "the reused verdict")
    t.expect_logged(r, r"account granted: .*reason=\"[^\"]*:3 allows it\"",
                    "the line of the auth phase's verdict")


def test_account_rescans_allowlist_changed_since_auth(t):
    # Changed between the phases (by pam_exec on the account stack, before
    # pam_heroku): edited in place to the same size (only the mtime tells),
    # the same with the mtime set back as `touch -r` does (only the ctime
    # tells), and replaced by another file (a new inode).  Each way the
    # account phase reads the file again and denies alice, whom it no longer
    # names.
    edits = {
        "in-place": "import sys\n"
                    "f = open(sys.argv[1], 'r+')\n"
                    "text = f.read().replace(' alice', ' alicf')\n"
                    "f.seek(0); f.write(text); f.close()\n",
        "mtime-set-back": "import os, sys\n"
                          "st = os.stat(sys.argv[1])\n"
                          "f = open(sys.argv[1], 'r+')\n"
                          "text = f.read().replace(' alice', ' alicf')\n"
                          "f.seek(0); f.write(text); f.close()\n"
                          "os.utime(sys.argv[1], ns=(st.st_atime_ns, st.st_mtime_ns))\n",
        "renamed": "import os, sys\n"
                   "text = open(sys.argv[1]).read().replace(' alice', ' alicf')\n"
                   "open(sys.argv[1] + '.new', 'w').write(text)\n"
                   "os.chmod(sys.argv[1] + '.new', 0o644)\n"
                   "os.rename(sys.argv[1] + '.new', sys.argv[1])\n",
    }
    for name, program in edits.items():
        allow = t.write_allowlist(f"allow-{name}", [f"{BOB_ID} bob", f"{ALICE_ID} alice"])
        size, mtime = os.path.getsize(allow), os.stat(allow).st_mtime_ns
        edit = t.write(f"edit-{name}.py", program, 0o644)
        conf = t.config(name=f"{name}.conf", allowlist=allow)
        t.service(name=name, lines=[
            t.module_line("auth", "required", "debug", config=conf),
            f"account required pam_exec.so quiet /usr/bin/python3 {edit} {allow}",
            t.module_line("account", "required", "debug", config=conf),
        ])
        r = t.login("alice", "ok-alice", service=name, phases=["auth", "account"])
        t.expect_auth(r, "PAM_SUCCESS")
        t.check("alicf" in open(allow).read(), f"{name}: pam_exec did not edit the file")
        if name != "renamed":
            t.check(os.path.getsize(allow) == size, f"{name}: the size changed")
        if name == "mtime-set-back":
            t.check(os.stat(allow).st_mtime_ns == mtime, f"{name}: the mtime changed")
        t.expect(r, "account", "PAM_PERM_DENIED")
        t.expect_logged(r, r"debug: account: allowlist scanned again \(.* (was modified|is "
                        r"another file now) since the auth phase\)", f"{name}: the new scan")
        t.check(not any(re.search(REUSED, text) for _, text in r.syslog),
                f"{name}: the auth phase's verdict was reused")


def account_after_change(t, name, change, **config_keys):
    """Auth then account for alice, with pam_exec on the account stack running
    change (Python with os, and secret, ca, allow, conf: this case's own
    copies of the files) between the two phases.  Returns the Run."""
    secret = t.write(f"secret-{name}", t.suite.client_secret + "\n", 0o600)
    with open(t.suite.ca, encoding="ascii") as f:
        ca = t.write(f"ca-{name}.pem", f.read(), 0o644)
    allow = t.write_allowlist(f"allow-{name}", ALLOWLIST_LINES)
    conf = t.config(name=f"{name}.conf", client_secret_file=secret, ca_file=ca,
                    allowlist=allow, **config_keys)
    edit = t.write(f"change-{name}.py", "import os, sys\n"
                   f"secret, ca, allow, conf = sys.argv[1:5]\n{change}\n", 0o644)
    t.service(name=name, lines=[
        t.module_line("auth", "required", "debug", config=conf),
        f"account required pam_exec.so quiet /usr/bin/python3 {edit} {secret} {ca} {allow} {conf}",
        t.module_line("account", "required", "debug", config=conf),
    ])
    r = t.login("alice", "ok-alice", service=name, phases=["auth", "account"])
    t.expect_auth(r, "PAM_SUCCESS")
    return r


def test_account_reads_neither_client_secret_nor_ca_file(t):
    # The account phase sends nothing (pam_heroku(8), account): it grants
    # after a granted auth phase even when, in between, the client secret
    # file went or became unsafe, or the CA file went.  Those files are the
    # auth phase's business; the account phase does not read them.
    changes = {
        "secret-removed": "os.remove(secret)",
        "secret-readable-by-others": "os.chmod(secret, 0o644)",
        "ca-removed": "os.remove(ca)",
        "both-removed": "os.remove(secret); os.remove(ca)",
    }
    for name, change in changes.items():
        r = account_after_change(t, name, change)
        t.expect(r, "account", "PAM_SUCCESS")
        t.expect_logged(r, REUSED, f"{name}: the reused verdict")


def test_account_fails_closed_on_broken_config_or_missing_allowlist(t):
    # ...but it still reads and checks the config file, and the allowlist
    # must still be there (and safe): each denies (pam_heroku(8), RETURN
    # VALUES: PAM_PERM_DENIED when the configuration is now invalid).
    changes = {
        "config-broken": "open(conf, 'a').write('no_such_key = 1\\n')",
        "config-removed": "os.remove(conf)",
        "allowlist-removed": "os.remove(allow)",
        "allowlist-writable-by-others": "os.chmod(allow, 0o666)",
    }
    for name, change in changes.items():
        r = account_after_change(t, name, change)
        t.expect(r, "account", "PAM_PERM_DENIED")
        t.expect_logged(r, r"account denied: .*reason=", f"{name}: the denial")
        t.check(not any(re.search(REUSED, text) for _, text in r.syslog),
                f"{name}: the auth phase's verdict was reused")


def test_setcred_returns_success(t):
    r = t.login("alice", "ok-alice", phases=["auth", "setcred"])
    t.expect_auth(r, "PAM_SUCCESS")
    t.expect(r, "setcred", "PAM_SUCCESS")


def test_setcred_without_auth_returns_success(t):
    r = t.login("alice", phases=["setcred"])
    t.expect(r, "setcred", "PAM_SUCCESS")
    t.expect_requests(r, 0)


# --------------------------------------------------------------------------
# use_first_pass / try_first_pass.

def test_use_first_pass_shares_one_prompt(t):
    t.service(lines=[
        t.module_line("auth", "[success=ok default=ignore]"),
        t.module_line("auth", "required", "use_first_pass"),
        t.module_line("account", "required"),
    ])
    r = t.login("alice", "ok-alice", phases=["auth", "account", "env"])
    t.expect_auth(r, "PAM_SUCCESS")
    t.check(r.prompt_count == 1, f"{r.prompt_count} prompts, expected 1")
    t.expect_requests(r, 2)
    t.expect_body(r, "authorization_code", "ok-alice", index=0)
    t.expect_body(r, "authorization_code", "ok-alice", index=1)
    t.expect_summary(r, "alice", ALICE_ID, index=0)
    t.expect_summary(r, "alice", ALICE_ID, index=1)


def test_use_first_pass_with_stored_token(t):
    t.service(lines=echo_then(t.module_line("auth", "required", "use_first_pass"),
                              t.module_line("account", "required")))
    r = t.login("alice", authtok="ok-alice")
    expect_authtok_stored(t, r)
    t.expect_auth(r, "PAM_SUCCESS")
    t.check(r.prompt_count == 0, f"{r.prompt_count} prompts, expected none")
    t.expect_requests(r, 1)
    t.expect_body(r, "authorization_code", "ok-alice")
    t.expect_summary(r, "alice", ALICE_ID)


def test_use_first_pass_without_token_fails_closed(t):
    t.service(lines=[t.module_line("auth", "required", "use_first_pass")])
    # An answer is there to take: a module that prompted would succeed.
    r = t.login("alice", "ok-alice", phases=["auth", "env"])
    t.check(r.auth is not None and r.auth != "PAM_SUCCESS",
            f"auth: {r.auth}, expected a failure")
    t.check(r.prompt_count == 0, f"{r.prompt_count} prompts, expected none")
    t.expect_requests(r, 0)
    t.expect_no_heroku_env(r)
    word = r.summaries()[0][0]
    t.check(word != "granted", "logged 'granted'")
    t.expect_summary(r, "alice", "-", outcome=word, request_id="-")


def test_without_flags_a_stored_token_is_not_used(t):
    # An earlier module stored a token (a local password, say); without
    # use_first_pass/try_first_pass the module asks with its own prompt and
    # sends only what was typed there.
    t.service(lines=echo_then(t.module_line("auth", "required")))
    r = t.login("alice", "ok-alice", authtok="ok-bob", phases=["auth", "env"])
    expect_authtok_stored(t, r)
    t.expect_auth(r, "PAM_SUCCESS")
    t.check(r.prompt_count == 1, f"{r.prompt_count} prompts, expected 1")
    t.expect_requests(r, 1)
    t.expect_body(r, "authorization_code", "ok-alice")
    t.expect_env(r, {"HEROKU_USER_ID": ALICE_ID})


def test_try_first_pass_with_stored_token(t):
    t.service(lines=echo_then(t.module_line("auth", "required", "try_first_pass")))
    r = t.login("alice", authtok="ok-alice", phases=["auth", "env"])
    expect_authtok_stored(t, r)
    t.expect_auth(r, "PAM_SUCCESS")
    t.check(r.prompt_count == 0, f"{r.prompt_count} prompts, expected none")
    t.expect_requests(r, 1)


def test_try_first_pass_prompts_without_token(t):
    t.service(lines=[t.module_line("auth", "required", "try_first_pass")])
    r = t.login("alice", "ok-alice", phases=["auth", "env"])
    t.expect_auth(r, "PAM_SUCCESS")
    t.check(r.prompt_count == 1, f"{r.prompt_count} prompts, expected 1")
    t.expect_requests(r, 1)


def test_unavailable_drops_the_typed_token_for_the_fallback(t):
    # The fallback stack of the README: when the API cannot be asked, the
    # token typed at this module's prompt is dropped, so the next module
    # (here a second pam_heroku with try_first_pass, against a working API)
    # prompts for its own answer instead of being handed the first one.
    down = t.config(name="down.conf", api_url=f"https://127.0.0.1:{t.suite.closed_port}")
    t.config()
    t.service(lines=[
        t.module_line("auth", "[success=done authinfo_unavail=ignore default=die]",
                      config=down),
        t.module_line("auth", "required", "try_first_pass"),
    ])
    r = t.login("alice", "ok-bob", "ok-alice", phases=["auth", "env"])
    t.expect_auth(r, "PAM_SUCCESS")
    t.check(r.prompt_count == 2, f"{r.prompt_count} prompts, expected 2")
    t.check(any("Heroku cannot be reached" in text for text in r.conv_text("error")),
            "the user was not told that Heroku cannot be reached")
    t.expect_requests(r, 1)
    t.expect_body(r, "authorization_code", "ok-alice")
    t.expect_env(r, {"HEROKU_USER_ID": ALICE_ID})
    t.expect_summary(r, "alice", "-", outcome="unavailable", request_id="-", index=0)


def test_refused_token_is_not_handed_to_the_next_module(t):
    # pam_heroku(8), OPTIONS: when this module prompted and the outcome is not success,
    # PAM_AUTHTOK is cleared: the next module with use_first_pass gets
    # nothing (and so sends nothing).
    t.service(lines=[
        t.module_line("auth", "[success=ok default=ignore]"),
        t.module_line("auth", "required", "use_first_pass"),
    ])
    r = t.login("alice", "reject-401", phases=["auth"])
    t.expect_auth(r, "PAM_AUTH_ERR")
    t.check(r.prompt_count == 1, f"{r.prompt_count} prompts, expected 1")
    t.expect_requests(r, 1)


def test_allowlist_refusal_clears_token_for_pam_exec_expose_authtok(t):
    # A refresh token the API accepted but the allowlist refused must not
    # reach pam_exec expose_authtok (or pam_sss use_first_pass) after us.
    seen = t.path("seen-by-pam-exec")
    script = t.write("save-authtok.sh", f"#!/bin/sh\ncat > '{seen}'\n", 0o755)
    t.service(lines=[
        t.module_line("auth", "[success=done default=ignore]"),
        f"auth required pam_exec.so expose_authtok quiet {script}",
    ])
    r = t.login("alice", "refresh:ok-stranger", "typed-for-pam-exec-only",
                phases=["auth"], summaries=1)
    t.expect_requests(r, 1)
    try:
        with open(seen, "rb") as f:
            got = f.read().rstrip(b"\0").decode("utf-8", "replace")
    except FileNotFoundError:
        t.fail(f"pam_exec did not run (auth {r.auth})")
    t.check("ok-stranger" not in got,
            "pam_exec expose_authtok was handed the refresh token pam_heroku refused")
    t.check(got == "typed-for-pam-exec-only",
            f"pam_exec did not ask for its own password (prompts: {r.prompt_count})")


def test_failed_retry_on_one_handle_leaves_no_identity(t):
    # sudo and login retry on one handle: a granted attempt, then a refused
    # one, must leave neither the first identity in the environment nor an
    # identity for the account phase.
    t.service(lines=ignore_probe_stack(t, [t.module_line("auth", "required")]))
    r = t.login("alice", "ok-alice", "reject-401",
                phases=["auth", "env", "auth", "env", "account"])
    t.expect(r, "auth", "PAM_SUCCESS", index=0)
    t.expect(r, "auth", "PAM_AUTH_ERR", index=1)
    t.check(r.env_listings and r.env_listings[0].get("HEROKU_USER_ID") == ALICE_ID,
            "the first, granted attempt exported no HEROKU_USER_ID")
    last = r.env_listings[-1] if len(r.env_listings) > 1 else {}
    left = sorted(n for n in last if n.startswith("HEROKU_"))
    t.check(not left, f"after the refused retry the PAM environment still holds {left}")
    t.expect(r, "account", IGNORE_SENTINEL, "PAM_PERM_DENIED")


def test_conversation_failure_fails_closed(t):
    # No answer to give: the driver's conversation returns PAM_CONV_ERR.
    r = t.login("alice", phases=["auth", "env"])
    t.check(r.auth is not None and r.auth != "PAM_SUCCESS",
            f"auth: {r.auth}, expected a failure")
    t.check(r.prompt_count == 1, f"{r.prompt_count} prompts, expected 1")
    t.expect_requests(r, 0)
    t.expect_no_heroku_env(r)
    word = r.summaries()[0][0] if r.summaries() else None
    t.check(word != "granted", "logged 'granted'")
    if word:
        t.expect_summary(r, "alice", "-", outcome=word, request_id="-")


# --------------------------------------------------------------------------
# Configuration.

def test_prompt_setting_changes_prompt(t):
    t.config(prompt="Code please:")
    r = t.login("alice", "ok-alice")
    t.expect_auth(r, "PAM_SUCCESS")
    prompts = r.conv_text("echo_off", "echo_on")
    t.check(len(prompts) == 1 and prompts[0].startswith("Code please:"),
            f"prompt {prompts!r}, expected 'Code please:'")


def test_client_id_shows_authorize_url(t):
    t.config(client_id="test-client-id-4711",
             authorize_url="https://id.example.test/oauth/authorize")
    r = t.login("alice", "ok-alice")
    t.expect_auth(r, "PAM_SUCCESS")
    kinds = [k for k, _ in r.conv]
    first_prompt = next((i for i, k in enumerate(kinds) if k.startswith("echo")), len(kinds))
    before = " ".join(text for _, text in r.conv[:first_prompt + 1])
    t.check("https://id.example.test/oauth/authorize" in before
            and "test-client-id-4711" in before,
            "no message with the authorize URL and client id before the prompt")


def test_module_args_override_file_default_grant(t):
    t.config(default_grant="refresh_token")
    t.service(auth_args="default_grant=authorization_code")
    r = t.login("alice", "ok-alice", phases=["auth"])
    t.expect_auth(r, "PAM_SUCCESS")
    t.expect_body(r, "authorization_code", "ok-alice")


def test_module_args_override_file_timeout(t):
    t.config(timeout="1")
    t.service(auth_args="timeout=10")
    r = t.login("alice", "slow-2", phases=["auth"])
    t.expect_auth(r, "PAM_SUCCESS")
    t.check(r.elapsed >= 2.0, "answered in under 2 s: the fake was not slow?")


def test_module_args_override_file_api_url(t):
    t.config(api_url=f"https://127.0.0.1:{t.suite.closed_port}")
    t.service(auth_args=f"api_url={t.fake.url}")
    r = t.login("alice", "ok-alice", phases=["auth"])
    t.expect_auth(r, "PAM_SUCCESS")
    t.expect_requests(r, 1)


def test_client_secret_on_module_line_is_service_err(t):
    secret = "module-line-secret-8Jk2"
    t.suite.add_secret(secret, "module-line client secret")
    t.service(auth_args=f"client_secret={secret}")
    misconfigured(t, request_id="-")


def test_client_secret_in_config_file_is_sent(t):
    secret = t.suite.client_secret
    t.config(client_secret=secret)
    r = login_granted(t, "alice", "ok-alice", ALICE_ID, SESSION_IDS[ALICE_ID])
    t.expect_body(r, "authorization_code", "ok-alice", secret=secret, exact_text=True)
    r = login_granted(t, "alice", "refresh:ok-alice", ALICE_ID, SESSION_IDS[ALICE_ID])
    t.expect_body(r, "refresh_token", "ok-alice", secret=secret, exact_text=True)


def test_client_secret_file_is_sent(t):
    secret = t.suite.client_secret
    path = t.write("client-secret", f"{secret}\nsecond line is not the secret\n", 0o600)
    t.config(client_secret_file=path)
    r = login_granted(t, "alice", "ok-alice", ALICE_ID, SESSION_IDS[ALICE_ID])
    t.expect_body(r, "authorization_code", "ok-alice", secret=secret, exact_text=True)
    r = login_granted(t, "alice", "refresh:ok-alice", ALICE_ID, SESSION_IDS[ALICE_ID])
    t.expect_body(r, "refresh_token", "ok-alice", secret=secret, exact_text=True)


def test_client_secret_file_on_module_line_is_allowed(t):
    # Only client_secret itself is refused on the module line.
    secret = t.suite.client_secret
    path = t.write("client-secret", f"{secret}\n", 0o600)
    t.config(client_secret_file=t.path("no-such-secret"))  # the module line wins
    t.service(auth_args=f"client_secret_file={path}", account_args=f"client_secret_file={path}")
    r = login_granted(t, "alice", "ok-alice", ALICE_ID, SESSION_IDS[ALICE_ID])
    t.expect_body(r, "authorization_code", "ok-alice", secret=secret)


def test_missing_client_secret_file_is_service_err(t):
    t.config(client_secret_file=t.path("no-such-secret"))
    misconfigured(t, request_id="-")


def test_unknown_key_in_file_is_service_err(t):
    t.config(no_such_key="1")
    misconfigured(t, request_id="-")


def test_unknown_key_on_module_line_is_service_err(t):
    t.service(auth_args="no_such_key=1")
    misconfigured(t, request_id="-")


def test_http_api_url_is_service_err(t):
    t.config(api_url=f"http://127.0.0.1:{t.fake.port}")
    misconfigured(t, request_id="-")


def test_http_api_url_on_module_line_is_service_err(t):
    t.service(auth_args=f"api_url=http://127.0.0.1:{t.fake.port}")
    misconfigured(t, request_id="-")


def test_missing_allowlist_is_service_err(t):
    t.config(allowlist=t.path("no-such-allowlist"))
    misconfigured(t, request_id="-")


def test_missing_config_file_is_service_err(t):
    t.service(config=t.path("no-such.conf"))
    misconfigured(t, request_id="-")


def test_config_is_a_directory_is_service_err(t):
    os.mkdir(t.path("conf-dir"), 0o700)
    t.service(config=t.path("conf-dir"))
    misconfigured(t, request_id="-")


for _name, _keys in {
    "timeout_zero": {"timeout": "0"},
    "timeout_121": {"timeout": "121"},
    "timeout_not_a_number": {"timeout": "ten"},
    "default_grant_password": {"default_grant": "password"},
    "grants_password": {"grants": "authorization_code,password"},
    "grants_empty_item": {"grants": "authorization_code,"},
    "grants_twice": {"grants": "refresh_token,refresh_token"},
    "default_grant_not_in_grants": {"grants": "authorization_code",
                                    "default_grant": "refresh_token"},
    "default_default_grant_not_in_grants": {"grants": "refresh_token"},
    "export_access_token_maybe": {"export_access_token": "maybe"},
}.items():
    def _bad_value(t, keys=_keys):
        t.config(**keys)
        misconfigured(t, request_id="-")
    add_test(globals(), f"bad_value_{_name}_is_service_err", _bad_value)


def test_timeout_bounds_are_accepted(t):
    for value in ("1", "120"):
        t.config(timeout=value)
        r = t.login("alice", "ok-alice", phases=["auth"])
        t.expect_auth(r, "PAM_SUCCESS")


def test_missing_ca_file_is_service_err(t):
    t.config(ca_file=t.path("no-such-ca.pem"))
    misconfigured(t, request_id="-")


def test_default_config_file_may_be_absent(t):
    default = os.path.join(t.suite.default_confdir, "pam_heroku.conf")
    if os.path.lexists(default):
        t.skip(f"{default} exists on this machine")
    t.service(config=False,
              auth_args=f"api_url={t.fake.url} ca_file={t.suite.ca} "
                        f"allowlist={t.allowlist} "
                        f"client_secret_file={t.suite.client_secret_file}",
              account_args=f"allowlist={t.allowlist} "
                           f"client_secret_file={t.suite.client_secret_file}")
    login_granted(t, "alice", "ok-alice", ALICE_ID, SESSION_IDS[ALICE_ID])


def test_debug_flag_changes_no_result(t):
    # With a client secret and an exported token in play, so that the
    # whole-run syslog scan sees that debug logs none of them either.
    t.config(client_secret=t.suite.client_secret, export_access_token="yes")
    t.service(auth_args="debug", account_args="debug")
    r = t.login("alice", "ok-alice")
    t.expect_auth(r, "PAM_SUCCESS")
    t.expect(r, "account", "PAM_SUCCESS")
    t.expect_summary(r, "alice", ALICE_ID)
    t.expect_body(r, "authorization_code", "ok-alice")
    t.expect_env(r, {"HEROKU_API_KEY": t.suite.fake_api.token_for("access", "ok-alice")})
    login_fails(t, "alice", "reject-401", "PAM_AUTH_ERR", 1)
    login_fails(t, "alice", "ok-alice-badsession", "PAM_AUTHINFO_UNAVAIL", 1,
                heroku_id=None)


# ---- safe files

def _unsafe(t, what, mode=None, owner=None, secret=False):
    """Make `what` (config / allowlist / secret_file) unsafe and expect a
    configuration error with no request."""
    if what == "allowlist":
        path = t.allowlist
        t.config()
    elif what == "secret_file":
        t.suite.add_secret("unsafe-file-secret-5tG", "unsafe secret file's secret")
        path = t.write("client-secret", "unsafe-file-secret-5tG\n", 0o600)
        t.config(client_secret_file=path)
    else:
        if secret:
            t.config(client_secret="unsafe-config-secret-9hN")
        path = t.config_path
    if mode is not None:
        os.chmod(path, mode)
    if owner is not None:
        os.chown(path, owner, -1)
    misconfigured(t, request_id="-")


for _name, _kw in {
    "config_world_writable": dict(what="config", mode=0o666),
    "config_group_writable": dict(what="config", mode=0o620),
    "config_owned_by_nobody": dict(what="config", owner=65534),
    "config_with_secret_world_readable": dict(what="config", mode=0o644, secret=True),
    "config_with_secret_group_readable": dict(what="config", mode=0o640, secret=True),
    "allowlist_world_writable": dict(what="allowlist", mode=0o666),
    "allowlist_group_writable": dict(what="allowlist", mode=0o664),
    "allowlist_owned_by_nobody": dict(what="allowlist", owner=65534),
    "secret_file_world_readable": dict(what="secret_file", mode=0o644),
    "secret_file_group_readable": dict(what="secret_file", mode=0o640),
    "secret_file_owned_by_nobody": dict(what="secret_file", owner=65534),
}.items():
    def _unsafe_case(t, kw=_kw):
        _unsafe(t, **kw)
    add_test(globals(), f"unsafe_{_name}_is_service_err", _unsafe_case,
             *([pytest.mark.root(f"chown to uid {_kw['owner']}")] if "owner" in _kw else []))


# ---- files trusted as OpenSSH's StrictModes: every directory up to "/"

def _in_writable_directory(t, what):
    """Put `what`'s file in a directory others may write (0777, not sticky):
    whoever can write it can swap the file, so it is unsafe however safe the
    file itself is."""
    shared = t.path("shared-dir")
    os.mkdir(shared)
    os.chmod(shared, 0o777)
    inside = os.path.join(shared, what)
    if what == "config":
        t.config()
        shutil.copy2(t.config_path, inside)
        t.service(config=inside)
    elif what == "allowlist":
        t.config(allowlist=t.write_allowlist(inside, ALLOWLIST_LINES))
    elif what == "secret_file":
        shutil.copy2(t.suite.client_secret_file, inside)
        t.config(client_secret_file=inside)
    else:
        shutil.copy2(t.suite.ca, inside)
        t.config(ca_file=inside)
    misconfigured(t, request_id="-")


for _what in ("config", "allowlist", "secret_file", "ca_file"):
    def _writable_dir_case(t, what=_what):
        _in_writable_directory(t, what)
    add_test(globals(), f"{_what}_in_writable_directory_is_service_err",
             _writable_dir_case)


def test_allowlist_in_sticky_directory_is_fine(t):
    # As /tmp: sticky, so no one else may rename or remove our entry.
    sticky = t.path("sticky-dir")
    os.mkdir(sticky)
    os.chmod(sticky, 0o1777)
    t.config(allowlist=t.write_allowlist(os.path.join(sticky, "allow"), ALLOWLIST_LINES))
    login_granted(t, "alice", "ok-alice", ALICE_ID, SESSION_IDS[ALICE_ID])


def test_allowlist_link_to_proc_self_environ_is_service_err(t):
    # /proc/self/environ is "owned by root, mode 0400" when a setuid su runs
    # the module, and whoever runs su chooses its contents: a variable that
    # holds the line "<dave's id> *" would grant dave every account, root
    # included.  Refused for its file system (procfs), and nothing is sent.
    link = t.path("allow-link")
    os.symlink("/proc/self/environ", link)
    t.config(allowlist=link)
    env = {"PAM_HEROKU_IT_FORGED": f"\n{DAVE_ID} *\n"}
    r = login_fails(t, "root", "ok-dave", "PAM_SERVICE_ERR", 0, request_id="-", env=env,
                    phases=["auth", "account", "env"])
    t.expect_logged(r, r"pseudo file system", "procfs named as the reason")


def test_ca_file_swapped_at_the_prompt_is_not_reread(t):
    # The CA bytes are read once, through the checked descriptor, before the
    # prompt: a CA file swapped while the user types must not let a server
    # that the new file trusts (a man in the middle) answer.
    # A fake of this case's own, with a certificate of the other CA (the
    # suite's other-CA fake must see no request: another case checks that).
    mitm = t.private_fake("mitm", cert="other-server")
    ca = t.write("ca-copy.pem", open(t.suite.ca, encoding="ascii").read(), 0o644)
    t.config(api_url=mitm.url, ca_file=ca)
    swap = f"cp -f {shlex.quote(t.suite.other_ca)} {shlex.quote(ca)}"
    login_fails(t, "alice", "ok-alice", "PAM_AUTHINFO_UNAVAIL", 0, request_id="-",
                env={"PAM_DRIVER_PROMPT_HOOK": swap})
    t.check(not mitm.records(), "the server the swapped-in CA trusts received the request")
    with open(ca, encoding="ascii") as f, open(t.suite.other_ca, encoding="ascii") as g:
        t.check(f.read() == g.read(), "the prompt hook did not swap the CA file")
    # The control: with that CA from the start, the same server logs in.
    r = t.login("alice", "ok-alice", fake=mitm)
    t.expect_auth(r, "PAM_SUCCESS")


@pytest.mark.root("a private mount namespace")
def test_oversized_default_config_is_service_err(t):
    # Only the default file's absence means "no file": a 74 KB
    # /etc/security/pam_heroku.conf is an error, never skipped for the
    # defaults and the module line.  In a private mount namespace, a case
    # directory is bound over the default directory.
    if shutil.which("unshare") is None:
        t.skip("unshare (util-linux) is not installed")
    confdir = t.path("default-confdir")
    os.mkdir(confdir, 0o755)
    t.write(os.path.join(confdir, "pam_heroku.conf"),
            "# padding\n" + "#" * 74 * 1024 + "\ntimeout = 5\n", 0o644)
    args = (f"api_url={t.fake.url} ca_file={t.suite.ca} allowlist={t.allowlist} "
            f"client_secret_file={t.suite.client_secret_file}")
    t.service(config=False, auth_args=args, account_args=args)
    bind = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
            'mount --bind "$1" "$2" && shift 2 && exec "$@"', "sh",
            confdir, t.suite.default_confdir]
    if not os.path.isdir(t.suite.default_confdir):
        t.skip(f"{t.suite.default_confdir} does not exist to bind over")
    r = t.login("alice", "ok-alice", wrapper=bind, phases=["auth", "env"])
    t.expect_auth(r, "PAM_SERVICE_ERR")
    t.expect_requests(r, 0)
    t.expect_logged(r, r"larger than", "the oversized default config named")


def test_config_without_secret_may_be_world_readable(t):
    os.chmod(t.config_path, 0o644)
    login_granted(t, "alice", "ok-alice", ALICE_ID, SESSION_IDS[ALICE_ID])


# --------------------------------------------------------------------------
# Network and TLS.

def test_unreachable_api_is_unavailable(t):
    t.config(api_url=f"https://127.0.0.1:{t.suite.closed_port}")
    login_fails(t, "alice", "ok-alice", "PAM_AUTHINFO_UNAVAIL", 0, request_id="-")


def test_unknown_ca_via_ca_file_is_unavailable(t):
    t.config(ca_file=t.suite.other_ca)
    login_fails(t, "alice", "ok-alice", "PAM_AUTHINFO_UNAVAIL", 0, request_id="-")


def test_server_cert_from_other_ca_is_unavailable(t):
    t.config(api_url=t.suite.other_ca_fake.url)
    before = len(t.suite.other_ca_fake.records())
    login_fails(t, "alice", "ok-alice", "PAM_AUTHINFO_UNAVAIL", 0, request_id="-")
    t.check(len(t.suite.other_ca_fake.records()) == before,
            "the other-CA fake received a request")


def test_wrong_host_name_is_unavailable(t):
    t.config(api_url=t.suite.wrong_host.url)
    before = len(t.suite.wrong_host.records())
    login_fails(t, "alice", "ok-alice", "PAM_AUTHINFO_UNAVAIL", 0, request_id="-")
    t.check(len(t.suite.wrong_host.records()) == before,
            "the wrong-host fake received a request")


def test_expired_certificate_is_unavailable(t):
    t.config(api_url=t.suite.expired.url)
    before = len(t.suite.expired.records())
    login_fails(t, "alice", "ok-alice", "PAM_AUTHINFO_UNAVAIL", 0, request_id="-")
    t.check(len(t.suite.expired.records()) == before,
            "the expired-certificate fake received a request")


def test_system_store_does_not_trust_test_ca(t):
    t.config(ca_file=None)
    login_fails(t, "alice", "ok-alice", "PAM_AUTHINFO_UNAVAIL", 0, request_id="-")


def test_localhost_name_verifies(t):
    t.config(api_url=f"https://localhost:{t.fake.port}")
    r = t.login("alice", "ok-alice")
    # localhost may resolve to ::1 first, where the fake does not listen;
    # libcurl then falls back to 127.0.0.1.
    t.expect_auth(r, "PAM_SUCCESS")


def test_pinned_pubkey_match_succeeds(t):
    pin = spki_pin(t.suite.cert("server.pem"))
    other = spki_pin(t.suite.cert("other-server.pem"))
    t.config(pinned_pubkey=f"{other};{pin}")
    login_granted(t, "alice", "ok-alice", ALICE_ID, SESSION_IDS[ALICE_ID])


def test_pinned_pubkey_mismatch_is_unavailable(t):
    t.config(pinned_pubkey=spki_pin(t.suite.cert("other-server.pem")))
    login_fails(t, "alice", "ok-alice", "PAM_AUTHINFO_UNAVAIL", 0, request_id="-")


def test_dead_proxy_in_environment_changes_nothing(t):
    dead = f"http://127.0.0.1:{t.suite.closed_port}"
    # NO_PROXY / no_proxy stay unset (the driver's environment is built from
    # scratch).  HTTP_PROXY is in PROXY_VARIABLES too, for good measure.
    env = {name: dead for name in PROXY_VARIABLES if "no_proxy" not in name.lower()}
    login_granted(t, "alice", "ok-alice", ALICE_ID, SESSION_IDS[ALICE_ID], env=env)


def test_proxy_setting_closed_port_is_unavailable(t):
    t.config(proxy=f"http://127.0.0.1:{t.suite.closed_port}")
    login_fails(t, "alice", "ok-alice", "PAM_AUTHINFO_UNAVAIL", 0, request_id="-")


def test_proxy_setting_connect_proxy_is_used(t):
    proxy = t.connect_proxy()
    t.config(proxy=proxy.url)
    login_granted(t, "alice", "ok-alice", ALICE_ID, SESSION_IDS[ALICE_ID])
    want = f"CONNECT 127.0.0.1:{t.fake.port} HTTP/1."
    t.check(any(line.startswith(want) for line in proxy.lines),
            f"the proxy saw {proxy.lines}, expected '{want}x'")


def test_environment_proxy_not_used_even_when_alive(t):
    # A working proxy in the environment must not be used either.
    proxy = t.connect_proxy()
    env = {name: proxy.url for name in ("https_proxy", "HTTPS_PROXY", "all_proxy",
                                        "ALL_PROXY")}
    login_granted(t, "alice", "ok-alice", ALICE_ID, SESSION_IDS[ALICE_ID], env=env)
    t.check(not proxy.lines, f"the environment's proxy was used: {proxy.lines}")


def test_sslkeylogfile_in_environment_is_not_written(t):
    keylog = t.path("keylog")
    login_granted(t, "alice", "ok-alice", ALICE_ID, SESSION_IDS[ALICE_ID],
                  env={"SSLKEYLOGFILE": keylog})
    t.check(not os.path.lexists(keylog),
            "SSLKEYLOGFILE was honoured: TLS secrets written to the file")


# --------------------------------------------------------------------------
# Nothing sent that cannot be meant for this login (SECURITY.md, threat model).

def test_answer_equal_to_earlier_password_is_refused_unsent(t):
    # sshd's password authentication answers every prompt with the local
    # password the user typed for pam_unix: stored as PAM_AUTHTOK by the
    # earlier module, then typed again at ours.  Never sent to Heroku.
    password = "local-Passw0rd-typed-for-pam-unix"
    t.service(lines=echo_then(t.module_line("auth", "required")))
    r = t.login("alice", password, authtok=password, phases=["auth", "env"])
    expect_authtok_stored(t, r)
    t.expect_auth(r, "PAM_AUTH_ERR")
    t.expect_requests(r, 0)
    t.check(r.prompt_count == 1, f"{r.prompt_count} prompts, expected 1 (ours)")
    t.expect_summary(r, "alice", request_id="-")
    t.expect_logged(r, r"the password an earlier module was given", "the reason")
    t.expect_no_heroku_env(r)
    # The control: another answer at our prompt still goes out.
    r = t.login("alice", "ok-alice", authtok=password, phases=["auth", "env"])
    expect_authtok_stored(t, r)
    t.expect_auth(r, "PAM_SUCCESS")
    t.expect_requests(r, 1)


def test_account_no_allowlist_line_could_grant_is_refused_unsent(t):
    # No line names the account and none holds '*': nothing can grant it,
    # so nothing is sent (50 tries for a made-up account must not spend the
    # API's rate limit) - but the prompt is still shown.
    allow = t.write_allowlist("allow-no-star", [f"{ALICE_ID} alice", f"{BOB_ID} bob,carol",
                                                "garbage line"])
    t.config(allowlist=allow)
    r = t.login("mallory", "ok-alice", phases=["auth", "env"], repeat=5)
    t.check(r.results_of("auth") == ["PAM_AUTH_ERR"] * 5,
            f"auth results {r.results_of('auth')}, expected 5 x PAM_AUTH_ERR")
    t.expect_requests(r, 0)
    t.check(r.prompts == [1] * 5, f"prompts {r.prompts}, expected one in each attempt")
    t.expect_logged(r, r"could grant this account .*nothing sent", "the reason")
    t.expect_logged(r, re.escape(f"{allow}:3") + r": line ignored",
                    "the malformed line, reported by the check that sent nothing")
    # The control: an account a line names still goes out.
    login_granted(t, "bob", "ok-bob", BOB_ID, SESSION_IDS[BOB_ID])


def test_many_lines_able_to_grant_still_decide_by_id(t):
    # More lines that could grant the account than the check before the
    # exchange keeps: the decision falls back to a scan for the id, which
    # must give the same verdicts.
    lines = [f"{STRANGER_ID.replace('9', str(i % 8))} alice" for i in range(40)]
    allow = t.write_allowlist("allow-many", lines + [f"{ALICE_ID} alice", f"{BOB_ID} bob"])
    t.config(allowlist=allow)
    r = login_granted(t, "alice", "ok-alice", ALICE_ID, SESSION_IDS[ALICE_ID])
    t.expect_logged(r, re.escape(f"{allow}:41 allows it"), "the granting line")
    login_fails(t, "alice", "ok-bob", "PAM_AUTH_ERR", 1, heroku_id=BOB_ID)


SSHD_SUBSTITUTE = "\b\n\r\x7fINCORRECT"


def test_sshd_substitute_answer_is_named_in_the_log(t):
    # OpenSSH answers for an invalid or disallowed user with a junk password
    # of the typed length: "\b\n\r\177INCORRECT" repeated or cut.
    for answer in (SSHD_SUBSTITUTE, (SSHD_SUBSTITUTE * 3)[:20], SSHD_SUBSTITUTE[:4]):
        r = t.login("alice", argv_answers=[answer], phases=["auth", "env"])
        t.expect_auth(r, "PAM_AUTH_ERR")
        t.expect_requests(r, 0)
        t.expect_summary(r, "alice", request_id="-")
        t.expect_logged(r, r'reason="sshd refused the account before PAM',
                        f"sshd's refusal named (answer of {len(answer)} bytes)")


# --------------------------------------------------------------------------
# Logs that cannot be forged (pam_heroku(8), LOGGING).

FORBIDDEN_IN_LOGS = ("\u00a0", "\u2028", "\u2029", "\u202e", "\u2066", "\u2069",
                     "\u3000", "\u2007", "\u0085", "\u200b", "\ufeff")


def expect_no_forging_unicode(t, r):
    for where, texts in (("syslog", [x for _, x in r.syslog]), ("conversation", r.conv_text())):
        for text in texts:
            bad = [f"U+{ord(c):04X}" for c in FORBIDDEN_IN_LOGS if c in text]
            t.check(not bad, f"{where} carries {bad}: {text[:120]!r}")


def test_pam_user_with_nbsp_cannot_forge_a_field(t):
    user = "x\u00a0heroku_user_id=" + ALICE_ID
    r = t.login(user, "reject-401", phases=["auth", "env"])
    t.expect_auth(r, "PAM_AUTH_ERR")
    expect_no_forging_unicode(t, r)
    lines = [x for _, x in r.syslog if "auth refused: " in x]
    t.check(len(lines) == 1, f"{len(lines)} summary lines, expected 1")
    t.check(f"user=x\\xc2\\xa0heroku_user_id={ALICE_ID} heroku_user_id=- " in lines[0],
            f"the PAM user is not one \\xHH-escaped field: {lines[0][:160]!r}")


def test_pam_user_blanks_quotes_backslashes_are_escaped(t):
    r = t.login('a b"c\\d', "reject-401", phases=["auth", "env"])
    t.expect_auth(r, "PAM_AUTH_ERR")
    t.expect_summary(r, 'a\\x20b\\x22c\\x5cd')


def test_api_message_loses_bidi_separators_and_unicode_spaces(t):
    r = login_fails(t, "alice", "unicode-401", "PAM_AUTH_ERR", 1)
    expect_no_forging_unicode(t, r)
    shown = " ".join(r.conv_text("error"))
    t.check("eviltxt.exe" in shown and "end" in shown,
            f"the API's message was not shown, minus the dropped characters: {shown[:120]!r}")


def test_hostile_request_id_is_one_escaped_field(t):
    r = login_fails(t, "alice", "hostile-request-id", "PAM_AUTH_ERR", 1,
                    request_id=r'r1\x20user=root\x22x\x5cy\xc2\xa0heroku_user_id=forged')
    expect_no_forging_unicode(t, r)


def test_hostile_pam_user_is_sanitised_in_logs(t):
    user = "ev\x1b[31mil\rx"
    r = t.login(user, "ok-dave", phases=["auth", "env"])
    t.check(r.auth in ("PAM_SUCCESS", "PAM_AUTH_ERR", "PAM_USER_UNKNOWN"),
            f"auth: {r.auth}")
    for _, text in r.syslog:
        bad = control_chars(text)
        t.check(not bad, f"a log line carries control characters {bad}")


# --------------------------------------------------------------------------
# Whole-run checks, over every case's syslog capture and conversation: last
# in this file, so they run after the cases (over those selected with -k).

def _all_runs(suite):
    """Every driver run of the tests that ran before this one; none (this
    check selected alone) is a skip, not a pass."""
    runs = [(t.name, run) for t in suite.finished for run in t.runs]
    if not runs:
        pytest.skip("no case ran before this check in this session")
    return runs


def test_syslog_holds_no_credential_secret_or_token(suite):
    leaks = set()
    for name, run in _all_runs(suite):
        for _, text in run.syslog:
            for value, label in suite.secret_items():
                if value in text:
                    leaks.add(f"{label} (case {name})")
    if leaks:
        raise_failure(f"syslog holds: {', '.join(sorted(leaks)[:10])}")


def test_conversation_holds_no_credential_secret_or_token(suite):
    leaks = set()
    for name, run in _all_runs(suite):
        for _, text in run.conv:
            for value, label in suite.secret_items():
                if value in text:
                    leaks.add(f"{label} (case {name})")
    if leaks:
        raise_failure(f"conversation holds: {', '.join(sorted(leaks)[:10])}")


def test_module_logs_through_authpriv_without_control_chars(suite):
    problems = set()
    for name, run in _all_runs(suite):
        for prio, text in run.syslog:
            if "pam_heroku" not in text.split(":", 1)[0]:
                continue
            if prio >> 3 != 10:
                problems.add(f"facility {prio >> 3} in case {name}")
            if control_chars(text.rstrip("\n")):
                problems.add(f"control characters in case {name}")
    if problems:
        raise_failure("; ".join(sorted(problems)[:10]))


def test_clearing_the_environment_logs_no_libpam_error(suite):
    # The module removes HEROKU_* at every attempt; libpam logs an error for
    # each removal of a variable that is not set, which must not fill the log.
    noisy = set()
    for name, run in _all_runs(suite):
        for _, text in run.syslog:
            if "pam_putenv: delete non-existent entry" in text:
                noisy.add(name)
    if noisy:
        raise_failure(f"libpam logged 'pam_putenv: delete non-existent entry' in "
                      f"{len(noisy)} cases, e.g. {sorted(noisy)[:3]}")


def test_every_auth_attempt_logged_exactly_once(suite):
    expected = found = 0
    for name, run in _all_runs(suite):
        expected += run.expected_summaries
        found += len(run.summaries())
    capture = 0
    for t in suite.finished:
        capture += sum(1 for _, text in t.syslog_lines()
                       if re.search(r"\bauth (granted|refused|unavailable|"
                                    r"misconfigured): ", text))
    if not (expected == found == capture):
        raise_failure(f"{found} summary lines in the runs, {capture} in the captures, "
                      f"{expected} expected")


def raise_failure(why):
    raise CaseFailure(why)

