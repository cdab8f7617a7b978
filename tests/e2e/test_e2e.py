"""pam_heroku end to end: a real sshd (Debian's openssh-server) and a real
sudo authenticate test accounts through the built module against the fake
Heroku API (tests/fake_api.py) over TLS with the test CA.  Root only, and
machine-global: run it as `flock /tmp/ph-e2e.lock tests/e2e/run`, which
also enters a private mount namespace.  What the machine gets and gives
back is described in machine.py.

Order matters: the last two cases stop the fake API (pytest runs a file's
tests in the order written).
"""

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess

import pytest

import harness
from harness import ALICE_ID, BOB_ID, DEFAULT_PROMPT, clean_env
from machine import (
    ALICE, ALICE_SESSION, AUTHORIZE_URL, BOB, BOB_SESSION, CLIENT_ID, PAM_D,
    PASSWORD_PROMPT_MATCH, PROMPT_MATCH, SSH_OPTIONS, SSH_PASSWORD_OPTIONS, SSHD_SERVICE,
    SUDO_SERVICE, SUDOERS_DROPIN, Host, Result, answered, fail, grant_request, read_text,
    run_quiet, run_sudo, ssh_with_pty, ssh_with_sshpass, write_file)

pytestmark = pytest.mark.root("it starts a real sshd, creates test accounts and binds "
                              "its own /etc/pam.d and /etc/sudoers.d in a private mount "
                              "namespace; CI runs it as root")


@pytest.fixture(scope="module")
def host(build, test_ca, suite, dev_log, private_mounts):
    """The machine (machine.Host), set up once on the shared fixtures: the
    build, the test CA, the suite's client secret and registry of secrets,
    a fake API of its own (the last tests stop it), the /dev/log sink."""
    def start_fake():
        return harness.Fake(suite, "e2e", test_ca.cert("server.pem"),
                            test_ca.cert("server.key")).wait_ready()
    machine = Host(build, test_ca.ca, start_fake, suite, dev_log, private_mounts)

    # SIGTERM (a CI timeout) and SIGHUP end the run as Ctrl-C does: pytest
    # then tears the fixtures down, and the machine with them.
    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        machine.setup()
        print(f"\n# sshd {SSHD_SERVICE} on 127.0.0.1:{machine.ssh_port}, fake API on "
              f"127.0.0.1:{machine.fake.port}, module {build.module}")
        yield machine
    finally:
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)     # let the clean-up finish
        problems = machine.cleanup()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if problems:
            pytest.fail("; ".join(problems), pytrace=False)


@pytest.fixture
def seen(host):
    """What happens from the test's start: sshd's log, syslog, requests."""
    return host.seen()


def expect_alice_logs_in(host, seen, typed, grant, how):
    """ssh + sshpass as phtest-alice typing typed: logged in through a
    request of this grant type, HEROKU_SESSION_ID and HEROKU_USER_ID in the
    remote shell's environment, sshd and the module say so."""
    r = ssh_with_sshpass(host, ALICE, typed)
    seen.expect_logged_in(r, ALICE, ALICE_SESSION, ALICE_ID, how)
    seen.expect_requests(1, grant_request(grant, "ok-alice"))
    seen.expect_sshd_log("accepted", ALICE)
    seen.expect_module_log(SSHD_SERVICE, "granted", ALICE, ALICE_ID)
    seen.expect_no_secret_in_logs()


def test_machine_config_dirs_untouched(host):
    """The suite's PAM services and sudoers drop-in are in its private
    copies of /etc/pam.d and /etc/sudoers.d; the machine's own directories
    (held open from before the copies were bound over them) have none of
    them, so a package test running beside this one sees them as they are."""
    for path in (os.path.join(PAM_D, SSHD_SERVICE), os.path.join(PAM_D, SUDO_SERVICE),
                 SUDOERS_DROPIN):
        directory, name = os.path.split(path)
        if not os.path.isfile(path):
            fail(f"{path} is missing in the suite's namespace")
        if name in os.listdir(host.machine_dirs[directory]):
            fail(f"{path} was written to the machine's own directory")


def test_ssh_grant_code(host, seen):
    """ssh + sshpass, grant code: logged in, HEROKU_SESSION_ID and
    HEROKU_USER_ID are in the remote shell's environment."""
    expect_alice_logs_in(host, seen, "ok-alice", "authorization_code", "grant code")


def test_ssh_refresh_token(host, seen):
    """ssh + sshpass, "refresh:" prefix: a refresh_token grant, logged in."""
    expect_alice_logs_in(host, seen, "refresh:ok-alice", "refresh_token", "refresh token")


def test_ssh_rejected_code(host, seen):
    """ssh + sshpass, a code the API rejects (401): refused and logged."""
    r = ssh_with_sshpass(host, ALICE, "reject-401")
    seen.expect_refused(r, ALICE, "rejected code")
    seen.expect_requests(1, answered(401), "(the code must reach the API)")
    seen.expect_sshd_log("failed", ALICE)
    seen.expect_module_log(SSHD_SERVICE, "refused", ALICE, answered=True)
    seen.expect_no_secret_in_logs()


def test_ssh_identity_of_other_account(host, seen):
    """ssh + sshpass: bob's identity logs in as phtest-bob (control), alice's
    identity - allowlisted only for phtest-alice - is refused as phtest-bob."""
    r = ssh_with_sshpass(host, BOB, "ok-bob")
    seen.expect_logged_in(r, BOB, BOB_SESSION, BOB_ID, "control: bob's own identity")
    seen.expect_module_log(SSHD_SERVICE, "granted", BOB, BOB_ID)
    seen2 = host.seen()
    r = ssh_with_sshpass(host, BOB, "ok-alice")
    seen2.expect_refused(r, BOB, "alice's identity as phtest-bob")
    seen2.expect_requests(1, answered(201), "(the API accepts the code; the allowlist refuses)")
    seen2.expect_sshd_log("failed", BOB)
    seen2.expect_module_log(SSHD_SERVICE, "refused", BOB, ALICE_ID, answered=True)
    seen2.expect_no_secret_in_logs()


def test_ssh_authorize_url_reaches_terminal(host, seen):
    """client_id set: the authorize URL shown with the prompt reaches the ssh
    user's terminal (ssh on a pty of the host's own), and the login works."""
    host.write_config(client_id=CLIENT_ID)
    try:
        r = ssh_with_pty(host, ALICE, [(re.escape(PROMPT_MATCH), "ok-alice")])
    finally:
        host.write_config()
    lines = r.output.splitlines()
    url_rx = re.compile(
        r"^  " + re.escape(f"{AUTHORIZE_URL}?client_id={CLIENT_ID}&response_type=code"
                           "&scope=identity&state=") + r"[0-9a-f]{32}$")
    intro = [i for i, line in enumerate(lines) if line.endswith("To get a grant code, open:")]
    seen.check(intro, "the terminal never showed \"To get a grant code, open:\"; it showed:\n    "
               + "\n    ".join(lines[:8]))
    i = intro[0]
    seen.check(i + 2 < len(lines) and url_rx.match(lines[i + 1])
               and lines[i + 2].startswith(DEFAULT_PROMPT),
               "the authorize URL line (and the prompt under it) did not reach the terminal "
               "as written; it showed:\n    " + "\n    ".join(lines[i:i + 3]))
    seen.check(r.prompts, "the prompt was never shown")
    seen.check("ok-alice" not in r.output, "the typed code was echoed on the terminal")
    seen.expect_logged_in(r, ALICE, ALICE_SESSION, ALICE_ID, "login under the URL")
    seen.expect_requests(1, grant_request("authorization_code", "ok-alice"))
    seen.expect_no_secret_in_logs()


def test_sudo_grant_code(host, seen):
    """sudo -S with a grant code runs the command, whose environment has
    HEROKU_SESSION_ID and HEROKU_USER_ID (sudo merges the PAM environment)."""
    proc = run_sudo(host, ALICE, "ok-alice")
    out = Result(proc.returncode, proc.stdout)
    env = out.env()
    seen.check(proc.returncode == 0 and env.get("SUDO_USER") == ALICE,
               f"sudo did not run the command (exit {proc.returncode}): "
               f"{proc.stderr.strip()[-400:]}")
    seen.check(env.get("USER") == "root", f"the command ran as {env.get('USER')!r}, not root")
    seen.check(env.get("HEROKU_SESSION_ID") == ALICE_SESSION,
               f"HEROKU_SESSION_ID in the command's environment is "
               f"{env.get('HEROKU_SESSION_ID')!r}, expected {ALICE_SESSION!r}")
    seen.check(env.get("HEROKU_USER_ID") == ALICE_ID,
               f"HEROKU_USER_ID in the command's environment is {env.get('HEROKU_USER_ID')!r}")
    seen.check(DEFAULT_PROMPT.strip() in proc.stderr, "sudo did not show the module's prompt")
    seen.expect_requests(1, grant_request("authorization_code", "ok-alice"))
    seen.expect_module_log(SUDO_SERVICE, "granted", ALICE, ALICE_ID)
    seen.expect_no_secret_in_logs()


def test_sudo_rejected_code(host, seen):
    """sudo -S with a rejected code: the command does not run; logged."""
    proc = run_sudo(host, ALICE, "reject-401")
    seen.check(proc.returncode != 0, "sudo exited 0 with a rejected code")
    seen.check(proc.stdout.strip() == "" and "SUDO_USER=" not in proc.stdout,
               "the command ran although the code was rejected")
    seen.check(DEFAULT_PROMPT.strip() in proc.stderr, "sudo did not show the module's prompt")
    reqs = seen.requests()
    seen.check(reqs and reqs[0].get("status") == 401,
               "the rejected code did not reach the fake API")
    grant_request("authorization_code", "reject-401")(reqs[0])
    seen.expect_module_log(SUDO_SERVICE, "refused", ALICE, answered=True)
    seen.expect_no_secret_in_logs()


def test_fallback_rejected_code_does_not_fall_through(host, seen):
    """auth [success=done authinfo_unavail=ignore default=die] pam_heroku.so,
    then pam_unix.so: with the API up, a good code logs in through the module,
    and a code the API rejects is final - even when it is the account's unix
    password, which pam_unix (reading the same typed text) would accept."""
    host.write_pam_service(SSHD_SERVICE, fallback=True)
    try:
        r = ssh_with_pty(host, ALICE, [(re.escape(PROMPT_MATCH), "ok-alice")])
        seen.expect_logged_in(r, ALICE, ALICE_SESSION, ALICE_ID,
                              "control: good code, fallback stack")
        seen.expect_module_log(SSHD_SERVICE, "granted", ALICE, ALICE_ID)
        seen2 = host.seen()
        r = ssh_with_pty(host, ALICE, [(re.escape(PROMPT_MATCH), host.unix_password)])
    finally:
        host.write_pam_service(SSHD_SERVICE)
    seen2.expect_refused(r, ALICE, "rejected code (the unix password), fallback stack")
    reqs = seen2.requests()
    seen2.check(len(reqs) == 1 and reqs[0].get("status") == 401,
                "the typed code did not reach the fake API exactly once (answered 401)")
    seen2.expect_sshd_log("failed", ALICE)
    seen2.expect_module_log(SSHD_SERVICE, "refused", ALICE, answered=True)
    seen2.expect_no_secret_in_logs()


# ---- Issue 10: the stack pam-auth-update makes, under password authentication.

def test_pam_auth_update_stack_keeps_local_password(host, seen):
    """Debian's stock sshd_config (PasswordAuthentication yes, its default),
    keyboard-interactive on as the guide's drop-in sets it, and the machine's
    /etc/pam.d/sshd with the common-auth that `pam-auth-update --enable
    heroku` makes from the shipped profile: pam_unix, then pam_heroku.
    sshd's password method answers every PAM prompt with the one password
    the user typed, so pam_heroku is handed the local password as well.
    A wrong local password is refused and never reaches the API.
    Controls: the right local password logs in through pam_unix (nothing
    sent); a grant code typed at the module's own prompt (keyboard-
    interactive) still logs in through pam_heroku."""
    main_config, port = host.password_sshd()
    effective = host.sshd_effective(main_config)
    seen.check(effective.get("passwordauthentication") == "yes" and
               effective.get("kbdinteractiveauthentication") == "yes" and
               effective.get("usepam") == "yes",
               "sshd -T: passwordauthentication %s, kbdinteractiveauthentication %s, usepam %s"
               % (effective.get("passwordauthentication"),
                  effective.get("kbdinteractiveauthentication"), effective.get("usepam")))
    wrong = host.secret("wrong-" + secrets.token_hex(10), "wrong local password")
    host.write_pam_text(SSHD_SERVICE, host.pam_auth_update_sshd_stack())
    try:
        r = ssh_with_sshpass(host, ALICE, host.unix_password, port=port,
                             options=SSH_PASSWORD_OPTIONS, prompt=PASSWORD_PROMPT_MATCH)
        seen.check(r.rc == 0 and r.remote_ran(),
                   f"control: the right local password did not log in (exit {r.rc}): "
                   f"{r.output.strip()[-400:]}")
        seen.check("HEROKU_SESSION_ID" not in r.env(), "HEROKU_* set by a pam_unix login")
        seen.expect_requests(0, what="(control: the right local password, pam_unix logs in)")
        seen.expect_sshd_log("accepted", ALICE, "password")

        seen2 = host.seen()
        r = ssh_with_sshpass(host, ALICE, wrong, port=port, options=SSH_PASSWORD_OPTIONS,
                             prompt=PASSWORD_PROMPT_MATCH)
        seen2.expect_refused(r, ALICE, "wrong local password")
        seen2.expect_sshd_log("failed", ALICE, "password")
        reqs = seen2.requests()
        seen2.check(reqs == [], f"the wrong local password was sent to the API: the fake got "
                    f"{len(reqs)} request(s), answered {[q.get('status') for q in reqs]}")
        seen2.expect_module_log(SSHD_SERVICE, "refused", ALICE, answered=False)
        seen2.expect_no_secret_in_logs()

        seen3 = host.seen()
        r = ssh_with_pty(host, ALICE, [(r"Password: ?$", ""),
                                       (re.escape(PROMPT_MATCH), "ok-alice")],
                        port=port, options=SSH_OPTIONS)
        seen3.expect_logged_in(r, ALICE, ALICE_SESSION, ALICE_ID,
                               "control: grant code at the module's prompt")
        seen3.expect_requests(1, grant_request("authorization_code", "ok-alice"))
        seen3.expect_no_secret_in_logs()
    finally:
        host.write_pam_service(SSHD_SERVICE)


# ---- Issue 13: the deployment guide's sshd drop-in, a key and a code, faillock.

def test_dropin_read_before_stock_config(host, seen):
    """The guide's drop-in in a directory that Debian's stock sshd_config
    includes on its first line: sshd -T shows keyboard-interactive on and
    both methods required, although the stock file says
    "KbdInteractiveAuthentication no".  Control: the same lines appended
    after the stock file (what the README used to say) change nothing."""
    main_config, _ = host.bastion_sshd()
    effective = host.sshd_effective(main_config)
    seen.check(effective.get("kbdinteractiveauthentication") == "yes",
               "sshd -T: kbdinteractiveauthentication "
               f"{effective.get('kbdinteractiveauthentication')}")
    seen.check(effective.get("authenticationmethods") == "publickey,keyboard-interactive",
               f"sshd -T: authenticationmethods {effective.get('authenticationmethods')}")
    seen.check(effective.get("usepam") == "yes", f"sshd -T: usepam {effective.get('usepam')}")
    stock = read_text(main_config)
    seen.check(re.search(r"(?m)^KbdInteractiveAuthentication no$", stock),
               "the stock sshd_config does not say KbdInteractiveAuthentication no")
    # Control: appended after the stock lines, as an admin would without a drop-in.
    appended_dir = host.path("appended", "sshd_config.d")
    os.makedirs(appended_dir, 0o755, exist_ok=True)
    shutil.copy(os.path.join(os.path.dirname(main_config), "sshd_config.d",
                             "00-pam-heroku-e2e.conf"), appended_dir)
    appended = host.path("appended", "sshd_config")
    write_file(appended, host.stock_sshd_config(appended_dir)
               + read_text(host.guide_sshd_dropin), 0o644)
    # sshd -T then either shows keyboard-interactive off or refuses the
    # config outright (AuthenticationMethods names a disabled method).
    proc = subprocess.run([host.sshd_bin, "-T", "-f", appended], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, env=clean_env())
    seen.check((proc.returncode == 0 and
                re.search(r"(?m)^kbdinteractiveauthentication no$", proc.stdout)) or
               (proc.returncode != 0 and
                'Disabled method "keyboard-interactive"' in proc.stderr),
               "control: the drop-in's lines appended after the stock file took effect "
               f"(sshd -T exit {proc.returncode}: {proc.stderr.strip()[-200:]}); the case "
               "cannot tell a drop-in read first from one read last")


def test_bastion_key_alone_refused(host, seen):
    """AuthenticationMethods publickey,keyboard-interactive: the key alone
    is a partial success, not a login, and nothing is sent."""
    _, port = host.bastion_sshd()
    r = ssh_with_sshpass(host, ALICE, "ok-alice", port=port,
                         options=host.key_options("publickey"))
    seen.expect_refused(r, ALICE, "key alone")
    seen.expect_sshd_log("partial", ALICE, "publickey")
    seen.expect_no_sshd_log("accepted", ALICE, "publickey")
    seen.expect_requests(0, what="(key alone)")


def test_bastion_code_alone_refused(host, seen):
    """A good grant code without the key: refused before any prompt, nothing
    is sent."""
    _, port = host.bastion_sshd()
    r = ssh_with_sshpass(host, ALICE, "ok-alice", port=port, options=SSH_OPTIONS)
    seen.expect_refused(r, ALICE, "code alone")
    seen.check("Permission denied (publickey)" in r.output,
               f"ssh was not told that a key comes first: {r.output.strip()[-300:]}")
    seen.expect_requests(0, what="(code alone)")


def test_bastion_key_and_code(host, seen):
    """The key, then a grant code at the module's prompt: logged in, with
    the documented PAM stack (packaging/examples/pam.d/sshd-heroku)."""
    _, port = host.bastion_sshd()
    r = ssh_with_sshpass(host, ALICE, "ok-alice", port=port,
                         options=host.key_options("publickey,keyboard-interactive"))
    seen.expect_logged_in(r, ALICE, ALICE_SESSION, ALICE_ID, "key and code")
    seen.expect_sshd_log("partial", ALICE, "publickey")
    seen.expect_sshd_log("accepted", ALICE)
    seen.expect_requests(1, grant_request("authorization_code", "ok-alice"))
    seen.expect_module_log(SSHD_SERVICE, "granted", ALICE, ALICE_ID)
    seen.expect_no_secret_in_logs()


def faillock_deny(text):
    m = re.search(r"(?m)^auth\s.*pam_faillock\.so\b.*\bdeny=(\d+)", text)
    return int(m.group(1)) if m else 3     # pam_faillock's default


def test_faillock_locks_without_sending(host, seen):
    """packaging/examples/pam.d/sshd-heroku-faillock on the bastion (a key and a
    code), with a private tally dir: after deny= refused codes the account
    is locked, and while it is, even a good code is refused without a
    request.  Control: after faillock --reset the good code logs in."""
    _, port = host.bastion_sshd()
    tally = host.path("faillock")
    os.makedirs(tally, 0o700, exist_ok=True)
    text = host.example("pam.d/sshd-heroku-faillock", faillock_dir=tally)
    deny = faillock_deny(text)
    options = host.key_options("publickey,keyboard-interactive")

    def reset():
        run_quiet(["faillock", "--dir", tally, "--user", ALICE, "--reset"], "faillock --reset")
    host.write_pam_text(SSHD_SERVICE, text)
    try:
        for n in range(deny):
            seen_n = host.seen()
            r = ssh_with_sshpass(host, ALICE, "reject-401", port=port, options=options)
            seen_n.expect_refused(r, ALICE, f"refused code {n + 1} of {deny}")
            seen_n.expect_requests(1, what=f"(refused code {n + 1} of {deny} reaches the API)")
        seen2 = host.seen()
        r = ssh_with_sshpass(host, ALICE, "ok-alice", port=port, options=options)
        seen2.expect_refused(r, ALICE, "good code while locked")
        seen2.expect_requests(0, what="(the account is locked: nothing may be sent)")
        seen2.expect_sshd_log("failed", ALICE)
        proc = run_quiet(["faillock", "--dir", tally, "--user", ALICE], "faillock")
        seen2.check(len(re.findall(r"(?m)^\d{4}-\d\d-\d\d .* V$", proc.stdout)) >= deny,
                    f"faillock does not list {deny} valid failures: {proc.stdout.strip()}")
        reset()
        seen3 = host.seen()
        r = ssh_with_sshpass(host, ALICE, "ok-alice", port=port, options=options)
        seen3.expect_logged_in(r, ALICE, ALICE_SESSION, ALICE_ID,
                               "control: after faillock --reset")
        seen3.expect_requests(1, grant_request("authorization_code", "ok-alice"))
        seen3.expect_no_secret_in_logs()
    finally:
        reset()
        host.write_pam_service(SSHD_SERVICE)


def stop_the_fake(host, seen):
    host.fake.stop()
    with socket.socket() as s:
        seen.check(s.connect_ex(("127.0.0.1", host.fake.port)) != 0,
                   "the fake API's port still answers after stopping it")


def test_ssh_api_down(host, seen):
    """The fake API stopped: the login is refused (fail closed) and logged as
    unavailable."""
    stop_the_fake(host, seen)
    r = ssh_with_sshpass(host, ALICE, "ok-alice")
    seen.expect_refused(r, ALICE, "API down")
    seen.expect_sshd_log("failed", ALICE)
    seen.expect_module_log(SSHD_SERVICE, "unavailable", ALICE, answered=False)
    seen.expect_no_secret_in_logs()


def test_fallback_api_down_falls_through(host, seen):
    """The fake API stopped, fallback stack: the user types a grant code at
    the module's prompt; pam_heroku's authinfo_unavail is ignored, the module
    drops the code it was given (so the fallback is not handed it) and says
    Heroku cannot be reached; pam_unix then asks its own "Password:" and the
    account's unix password logs in, with no HEROKU_* variables (pam_heroku
    did not authenticate it).  The local password is never typed at the
    module's prompt, so it could never be sent to Heroku.
    Control: with the normal stack the same answers are refused."""
    stop_the_fake(host, seen)
    answers = [(re.escape(PROMPT_MATCH), "ok-alice"),
               (r"Password: ?$", host.unix_password)]
    r = ssh_with_pty(host, ALICE, answers)
    seen.expect_refused(r, ALICE, "control: API down, no fallback in the stack")
    seen2 = host.seen()
    host.write_pam_service(SSHD_SERVICE, fallback=True)
    try:
        r = ssh_with_pty(host, ALICE, answers)
    finally:
        host.write_pam_service(SSHD_SERVICE)
    seen2.check(r.rc == 0 and r.remote_ran(),
                f"the fallback login failed (exit {r.rc}); ssh said:\n"
                f"    {r.output.strip()[-600:]}")
    seen2.check(len(r.prompts) == 2 and "Password" in r.prompts[1],
                f"prompts seen: {r.prompts}; expected the module's, then pam_unix's own")
    seen2.check("Heroku cannot be reached" in r.output,
                "the user was not told that Heroku cannot be reached")
    env = r.env()
    seen2.check(env.get("USER") == ALICE, f"the remote shell runs as {env.get('USER')!r}")
    seen2.check("HEROKU_SESSION_ID" not in env and "HEROKU_USER_ID" not in env,
                "HEROKU_* variables are set although the fallback authenticated the login")
    seen2.expect_sshd_log("accepted", ALICE)
    seen2.expect_module_log(SSHD_SERVICE, "unavailable", ALICE, answered=False)
    seen2.expect_no_secret_in_logs()

