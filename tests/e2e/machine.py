"""The machine the end-to-end tests (test_e2e.py) log in to: test accounts,
PAM services in /etc/pam.d, a sudoers drop-in, a copy of sshd, and the ssh
and sudo clients that drive them.  Nothing else uses it; what the suites
share (stopping processes, free ports, the test CA, the fake API, the
/dev/log sink) comes from tests/harness.py and tests/conftest.py.

The documented configuration is what runs: the PAM stacks are
packaging/examples/pam.d/{sshd-heroku,sshd-heroku-fallback,
sshd-heroku-faillock,sudo-heroku}, the sudoers drop-in is
packaging/examples/sudoers.d/heroku and the sshd drop-in is
packaging/examples/sshd_config.d/pam_heroku.conf, used verbatim except for
paths and names (pam_heroku.so -> the built module with the test's config;
pam_faillock.so gets dir=<temp dir>, so /var/run/faillock is untouched;
alice and sudo-heroku in the sudoers lines -> the test's account and service).
Besides the suite's own sshd (keyboard-interactive only), two more sshd run
with Debian's stock sshd_config (/usr/share/openssh/sshd_config), whose
first-line Include points at a private drop-in dir holding the guide's
drop-in and a test drop-in (port, host key, log):
  bastion        the drop-in verbatim: AuthenticationMethods
                 publickey,keyboard-interactive (a key, then a grant code)
  password-host  the drop-in without AuthenticationMethods and
                 PasswordAuthentication, so password authentication is on
                 (Debian's default), and the stack that
                 `pam-auth-update --enable heroku` makes from the shipped
                 packaging/pam-configs/heroku (run with --root on a private
                 tree and a private copy of its debconf database)

What Host sets up, and removes again when the session ends (pytest tears
the fixture down on failures, Ctrl-C, SIGTERM and SIGHUP too):

  a temp dir (root, 0755)    pam_heroku.conf (0600), allowlist (0644),
                             the sshd copy, its host key, configs, pid
                             files and log, the accounts' homes, the pam-auth-update tree and
                             its debconf copy (config.dat and templates.dat
                             only), pam_faillock's tally dir
  test accounts              phtest-alice, phtest-bob (useradd; userdel -r);
                             phtest-alice's ~/.ssh/authorized_keys holds a
                             key made for the run
  /etc/pam.d, /etc/sudoers.d
                             covered, in the private namespace only, by
                             copies in the temp dir that get the suite's
                             files (the machine's own are never written):
    pam.d/sshd-pam-heroku-test
                             sshd's PAM service: OpenSSH names its PAM
                             service after its program, so a copy of
                             /usr/sbin/sshd called sshd-pam-heroku-test
                             reads this file (the system's sshd and
                             /etc/ssh are never touched)
    pam.d/sudo-pam-heroku-test
    sudoers.d/pam_heroku_e2e_test
                             packaging/examples/sudoers.d/heroku for
                             phtest-alice: only that account and that
                             service use the module
  /run/sshd                  sshd's privilege separation dir, only if it was
                             missing (then removed again)
  /var/log/btmp, wtmp, lastlog
                             covered, in the private namespace only, by empty
                             stand-ins in the temp dir: sshd records every
                             refused keyboard-interactive login in btmp

The module's log lines (pam_syslog, i.e. the datagram socket /dev/log) are
caught by the shared dev_log sink; only the lines tagged
sshd-pam-heroku-test or sudo count.  sshd's own log (-E FILE, LogLevel
DEBUG) is checked as well: "Accepted" or "Failed keyboard-interactive/pam
for <account>".

No credential, password or token is printed: what the module, sshd and sudo
logged is scanned for every secret of the suite's registry, and
tests/conftest.py redacts every failure message with it.
"""

import json
import os
import pty
import pwd
import re
import secrets
import select
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time

from harness import ALICE_ID, BOB_ID, SESSION_IDS, CaseFailure, clean_env, free_port, stop_process

SSHD_SERVICE = "sshd-pam-heroku-test"
SUDO_SERVICE = "sudo-pam-heroku-test"
PAM_D = "/etc/pam.d"
SUDOERS_D = "/etc/sudoers.d"
SUDOERS_DROPIN = os.path.join(SUDOERS_D, "pam_heroku_e2e_test")   # no dot: sudo skips names with one
SYSTEM_SSHD = "/usr/sbin/sshd"
# Debian's stock sshd_config as the package ships it (/etc/ssh/sshd_config
# is the admin's copy of it).
STOCK_SSHD_CONFIGS = ("/usr/share/openssh/sshd_config", "/etc/ssh/sshd_config")
STOCK_SSHD_INCLUDE_RE = re.compile(r"^\s*Include\s+/etc/ssh/sshd_config\.d/\*\.conf\s*$")
SYSTEM_SSHD_PAM = "/etc/pam.d/sshd"
SYSTEM_PAM_CONFIGS = "/usr/share/pam-configs"
DEBCONF_DIR = "/var/cache/debconf"
PRIVSEP_DIR = "/run/sshd"
LOGIN_RECORDS = ("/var/log/btmp", "/var/log/wtmp", "/var/log/lastlog")

ALICE = "phtest-alice"
BOB = "phtest-bob"
ACCOUNTS = (ALICE, BOB)
ACCOUNT_COMMENT = "pam_heroku e2e test account"

ALICE_SESSION = SESSION_IDS[ALICE_ID]
BOB_SESSION = SESSION_IDS[BOB_ID]

PROMPT_MATCH = "grant code or refresh token: "     # what sshpass -P waits for
CLIENT_ID = "pam-heroku-e2e-client"
AUTHORIZE_URL = "https://id.heroku.com/oauth/authorize"   # the default; only shown, never fetched
REMOTE_MARK = "pam-heroku-e2e: remote shell ran"
REMOTE_COMMAND = f"echo '{REMOTE_MARK}'; env"
SUDO_COMMAND = "/usr/bin/env"

SSH_COMMON_OPTIONS = [
    "-F", "/dev/null",
    "-o", "StrictHostKeyChecking=no",
    "-o", "UserKnownHostsFile=/dev/null",
    "-o", "GlobalKnownHostsFile=/dev/null",
    "-o", "NumberOfPasswordPrompts=1",
    "-o", "ConnectTimeout=5",
    "-o", "LogLevel=ERROR",
    "-T",
]
SSH_OPTIONS = SSH_COMMON_OPTIONS + [
    "-o", "PreferredAuthentications=keyboard-interactive",
    "-o", "PubkeyAuthentication=no",
]
SSH_PASSWORD_OPTIONS = SSH_COMMON_OPTIONS + [
    "-o", "PreferredAuthentications=password",
    "-o", "PubkeyAuthentication=no",
]
PASSWORD_PROMPT_MATCH = "'s password:"       # ssh's own prompt for the password method
CLIENT_TIMEOUT = 30          # seconds for one ssh or sudo run
LOG_WAIT = 5.0               # seconds to wait for an expected log line


def fail(message):
    """A case's failure (tests/conftest.py redacts its message)."""
    __tracebackhide__ = True
    raise CaseFailure(message)


def run_quiet(argv, what, env=None, **kwargs):
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, env=env or clean_env(), **kwargs)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {proc.returncode}): "
                           f"{(proc.stderr or proc.stdout).strip()[-500:]}")
    return proc


def write_file(path, text, mode):
    """Write atomically with the given mode, owned by root."""
    tmp = f"{path}.tmp-{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w") as f:
            f.write(text)
    except BaseException:
        os.unlink(tmp)
        raise
    os.rename(tmp, path)


def read_text(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


MODULE_NAME_RE = re.compile(r"(?<![\w/.-])pam_heroku\.so(?![\w.])")
FAILLOCK_NAME_RE = re.compile(r"(?<![\w/.-])pam_faillock\.so(?![\w.])")


def substitute_paths(text, module_line, faillock_dir=None):
    """PAM lines as written for an installed host, pointed at the test's
    files: pam_heroku.so becomes the built module with the test's config,
    pam_faillock.so gets a private tally dir.  Comment lines stay as they are."""
    out = []
    for line in text.splitlines(keepends=True):
        if not line.lstrip().startswith("#"):
            line = MODULE_NAME_RE.sub(module_line, line)
            if faillock_dir:
                line = FAILLOCK_NAME_RE.sub(f"pam_faillock.so dir={faillock_dir}", line)
        out.append(line)
    return "".join(out)



# --------------------------------------------------------------------------
# The machine: everything set up once, and torn down on every path.

class Host:
    """Accounts, PAM services, sudoers and sshd for one session.  build:
    the build under test (harness.BuildPaths); ca_file: the test CA; start_fake(): starts a
    fake API (harness.Fake) of the machine's own; suite: the harness.Suite
    whose client secret the config names and whose registry of secrets
    redacts; dev_log: the sink the module's syslog lines reach
    (harness.DevLog); private_mounts: None when this process has a private
    mount namespace, else why not."""

    def __init__(self, build, ca_file, start_fake, suite, dev_log, private_mounts):
        self.module = build.module
        # pam_syslog tags each line with the module's file name without ".so".
        self.module_tag = re.sub(r"\.so$", "", os.path.basename(self.module))
        # The documented configuration, used verbatim (only paths substituted).
        self.examples = os.path.join(build.srcdir, "packaging", "examples")
        self.heroku_profile = os.path.join(build.srcdir, "packaging", "pam-configs", "heroku")
        self.guide_sshd_dropin = os.path.join(self.examples, "sshd_config.d", "pam_heroku.conf")
        self.ca_file = ca_file
        self.start_fake = start_fake
        self.dev_log = dev_log
        self.private_mounts = private_mounts
        self.cleanups = []          # (description, callable), run in reverse
        self.suite = suite
        self.client_secret_file = suite.client_secret_file
        self.tmp = None
        self.fake = None
        self.sshd = None
        self.ssh_port = None
        self.unix_password = None

    # ---- bookkeeping

    def on_cleanup(self, what, fn):
        self.cleanups.append((what, fn))

    def cleanup(self):
        """Undo everything, in reverse; returns what could not be undone."""
        problems = []
        while self.cleanups:
            what, fn = self.cleanups.pop()
            try:
                fn()
            except Exception as e:  # keep cleaning up
                problems.append(f"cleanup: {what}: {e}")
        return problems

    def secret(self, text, name):
        """text, registered as a secret never to be shown."""
        self.suite.add_secret(text, name)
        return text

    def redact(self, text):
        return self.suite.redact(text)

    # ---- set up

    def setup(self):
        for tool in (SYSTEM_SSHD, "/usr/bin/ssh", "/usr/bin/sshpass", "/usr/bin/sudo",
                     "/usr/sbin/visudo", "/usr/sbin/useradd", "/usr/sbin/userdel",
                     "/usr/sbin/chpasswd", "/usr/bin/ssh-keygen"):
            if not os.access(tool, os.X_OK):
                raise RuntimeError(f"{tool} is missing: install openssh-server "
                                   "openssh-client sshpass sudo (tests/install-deps)")
        for cred in ("ok-alice", "ok-bob", "reject-401"):
            self.suite.add_credential(cred, f"credential {cred.split('-')[0]}-...")

        self.tmp = tempfile.mkdtemp(prefix="pam_heroku-e2e.")
        self.on_cleanup("remove the temp dir", lambda: shutil.rmtree(self.tmp))
        os.chmod(self.tmp, 0o755)   # the accounts' homes live below it

        self.setup_private_config_dirs()
        self.setup_login_records()
        self.remove_leftovers()
        self.setup_accounts()
        self.fake = self.start_fake()
        self.on_cleanup("stop the fake API", self.fake.stop)
        self.write_allowlist()
        self.write_config()
        self.setup_pam_services()
        self.setup_sudoers()
        self.setup_sshd()
        self.setup_client_key()

    def path(self, *names):
        return os.path.join(self.tmp, *names)

    def seen(self):
        """What happens from now on: sshd's log, syslog, the fake's requests."""
        return Seen(self)

    def bind_over(self, source, target):
        """In the suite's private mount namespace only."""
        run_quiet(["mount", "--bind", source, target], f"mount --bind over {target}")
        self.on_cleanup(f"unmount {target} (private namespace)",
                        lambda: run_quiet(["umount", target], f"umount {target}"))

    def setup_private_config_dirs(self):
        """/etc/pam.d and /etc/sudoers.d as copies in the temp dir, bound over
        the real ones in the suite's private mount namespace: the suite's PAM
        services and sudoers drop-in never reach the machine's files, and a
        package test running beside it sees /etc/pam.d as it is."""
        if self.private_mounts is not None:
            raise RuntimeError(f"no private mount namespace ({self.private_mounts}): "
                               "refusing to write the machine's /etc/pam.d and /etc/sudoers.d")
        self.machine_dirs = {}     # descriptors on the machine's own directories
        for real in (PAM_D, SUDOERS_D):
            fd = os.open(real, os.O_RDONLY | os.O_DIRECTORY)
            self.on_cleanup(f"close {real}", lambda fd=fd: os.close(fd))
            self.machine_dirs[real] = fd
            copy = self.path(os.path.basename(real))
            shutil.copytree(real, copy, symlinks=True)
            shutil.copystat(real, copy)
            self.bind_over(copy, real)

    def setup_login_records(self):
        """sshd records every refused keyboard-interactive login in
        /var/log/btmp (and sessions on a pty in wtmp/lastlog): in our
        namespace, empty stand-ins in the test dir take those records."""
        if self.private_mounts is not None:
            print(f"# no private mount namespace ({self.private_mounts}): sshd will "
                  "record the refused test logins in /var/log/btmp")
            return
        os.mkdir(self.path("login-records"), 0o755)
        for path in LOGIN_RECORDS:
            if os.path.isfile(path) and not os.path.islink(path):
                stand_in = self.path("login-records", os.path.basename(path))
                write_file(stand_in, "", stat.S_IMODE(os.stat(path).st_mode))
                self.bind_over(stand_in, path)

    def remove_leftovers(self):
        """What an earlier run killed with SIGKILL may have left behind."""
        for name in ACCOUNTS:
            try:
                entry = pwd.getpwnam(name)
            except KeyError:
                continue
            if entry.pw_gecos != ACCOUNT_COMMENT:
                raise RuntimeError(f"an account named {name} exists and was not made by "
                                   "this suite; refusing to touch it")
            print(f"# removing the test account {name} left by an earlier run")
            subprocess.run(["userdel", "-r", name], capture_output=True, env=clean_env())

    def setup_accounts(self):
        os.mkdir(self.path("home"), 0o755)
        for name in ACCOUNTS:
            run_quiet(["useradd", "--create-home", "--home-dir", self.path("home", name),
                       "--shell", "/bin/bash", "--user-group", "--comment", ACCOUNT_COMMENT,
                       name], f"useradd {name}")
            self.on_cleanup(f"userdel -r {name}", lambda n=name: self.remove_account(n))
        # A local password for the fallback stack (pam_unix after pam_heroku).
        self.unix_password = self.secret("fallback-" + secrets.token_hex(12),
                                         "phtest-alice's unix password")
        proc = subprocess.run(["chpasswd"], input=f"{ALICE}:{self.unix_password}\n",
                              capture_output=True, text=True, env=clean_env())
        if proc.returncode != 0:
            raise RuntimeError(f"chpasswd failed: {proc.stderr.strip()}")

    @staticmethod
    def remove_account(name):
        # userdel -r complains about a missing mail spool, and refuses while a
        # process of the account still ends: what counts is the result.
        for attempt in range(10):
            proc = subprocess.run(["userdel", "-r", name], capture_output=True, text=True,
                                  env=clean_env())
            try:
                pwd.getpwnam(name)
            except KeyError:
                break
            time.sleep(0.3)
        else:
            raise RuntimeError(f"userdel -r {name} left the account in place: "
                               f"{proc.stderr.strip()}")
        # sudo's per-user timestamp file, if sudo made one.
        ts = os.path.join("/run/sudo/ts", name)
        if os.path.lexists(ts):
            os.unlink(ts)

    def write_allowlist(self):
        self.allowlist = self.path("pam_heroku.allow")
        write_file(self.allowlist,
                   "# Heroku user id                         local accounts\n"
                   f"{ALICE_ID}     {ALICE}\n"
                   f"{BOB_ID}     {BOB}\n", 0o644)

    def write_config(self, client_id=None):
        self.config = self.path("pam_heroku.conf")
        text = (f"api_url   = https://127.0.0.1:{self.fake.port}\n"
                f"ca_file   = {self.ca_file}\n"
                f"allowlist = {self.allowlist}\n"
                f"client_secret_file = {self.client_secret_file}\n"
                "timeout   = 5\n")
        if client_id:
            text += f"client_id = {client_id}\n"
        write_file(self.config, text, 0o600)

    def module_line(self):
        return f"{self.module} config={self.config}"

    def example(self, name, faillock_dir=None):
        """packaging/examples/NAME as shipped, with only its paths substituted."""
        path = os.path.join(self.examples, name)
        if not os.path.isfile(path):
            fail(f"the documented example {path} is missing")
        return substitute_paths(read_text(path), self.module_line(), faillock_dir)

    def write_pam_service(self, service, fallback=False):
        """The documented stack: packaging/examples/pam.d/sshd-heroku (or
        sshd-heroku-fallback) for sshd, sudo-heroku for sudo."""
        if service == SUDO_SERVICE:
            name = "sudo-heroku"
        else:
            name = "sshd-heroku-fallback" if fallback else "sshd-heroku"
        self.write_pam_text(service, self.example(os.path.join("pam.d", name)))

    def write_pam_text(self, service, text):
        write_file(os.path.join(PAM_D, service), text, 0o644)

    def setup_pam_services(self):
        for service in (SSHD_SERVICE, SUDO_SERVICE):
            self.write_pam_service(service)

    def setup_sudoers(self):
        """packaging/examples/sudoers.d/heroku, its account and service names
        replaced by the test's."""
        path = os.path.join(self.examples, "sudoers.d", "heroku")
        if not os.path.isfile(path):
            raise RuntimeError(f"the documented example {path} is missing")
        lines = []
        for line in read_text(path).splitlines(keepends=True):
            if not line.lstrip().startswith("#"):
                line = re.sub(r"\balice\b", ALICE, line)
                line = re.sub(r"(?<![\w-])sudo-heroku(?![\w-])", SUDO_SERVICE, line)
            lines.append(line)
        text = "".join(lines)
        if f"pam_service={SUDO_SERVICE}" not in text:
            raise RuntimeError(f"{path} does not set pam_service=sudo-heroku for alice")
        candidate = self.path("sudoers")
        write_file(candidate, text, 0o440)
        run_quiet(["visudo", "-cf", candidate], "visudo -cf")
        write_file(SUDOERS_DROPIN, text, 0o440)
        run_quiet(["visudo", "-c"], "visudo -c (the whole policy with the drop-in)")

    def setup_sshd(self):
        if not os.path.isdir(PRIVSEP_DIR):
            os.mkdir(PRIVSEP_DIR, 0o755)

            def remove_privsep():
                if os.path.isdir(PRIVSEP_DIR) and not os.listdir(PRIVSEP_DIR):
                    os.rmdir(PRIVSEP_DIR)
            self.on_cleanup(f"remove {PRIVSEP_DIR}", remove_privsep)
        os.mkdir(self.path("sbin"), 0o755)
        self.sshd_bin = self.path("sbin", SSHD_SERVICE)
        shutil.copy(SYSTEM_SSHD, self.sshd_bin)
        os.chmod(self.sshd_bin, 0o755)
        self.host_key = self.path("ssh_host_ed25519_key")
        run_quiet(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "pam_heroku e2e",
                   "-f", self.host_key], "ssh-keygen")
        self.sshd_log = self.path("sshd.log")
        self.sshd_pid_file = self.path("sshd.pid")

        def write_config(port):
            self.sshd_config = self.path("sshd_config")
            write_file(self.sshd_config, self.sshd_config_text(port), 0o644)
            return self.sshd_config, self.sshd_pid_file
        self.sshd, self.ssh_port = self.launch_sshd(write_config)

    def launch_sshd(self, write_config):
        """Start the sshd copy with the config write_config(port) writes (it
        returns the config's path and its PidFile); returns (process, port).
        Stopped at clean-up at the latest."""
        last_error = None
        for _ in range(3):     # a free port can be taken between probe and bind
            port = free_port()
            config, pid_file = write_config(port)
            run_quiet([self.sshd_bin, "-t", "-f", config], "sshd -t")
            try:
                return self.start_sshd(config, pid_file, port), port
            except RuntimeError as e:
                last_error = e
        raise last_error

    def sshd_config_text(self, port):
        return f"""\
# pam_heroku end-to-end test (tests/e2e/run): nothing outside this dir is read
Port {port}
ListenAddress 127.0.0.1
HostKey {self.host_key}
PidFile {self.sshd_pid_file}
LogLevel DEBUG
UsePAM yes
KbdInteractiveAuthentication yes
PasswordAuthentication no
PubkeyAuthentication no
AuthorizedKeysFile none
PermitRootLogin no
AllowUsers {ALICE} {BOB}
KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org
PrintMotd no
PrintLastLog no
"""

    def start_sshd(self, config, pid_file, port):
        if os.path.exists(pid_file):
            os.unlink(pid_file)
        sshd = subprocess.Popen(
            [self.sshd_bin, "-D", "-f", config, "-E", self.sshd_log],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=clean_env(), start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if sshd.poll() is not None:
                raise RuntimeError(f"sshd exited with {sshd.returncode}: "
                                   + self.log_tail(self.sshd_log))
            if os.path.exists(pid_file):
                try:
                    with socket.create_connection(("127.0.0.1", port), 2) as s:
                        if s.recv(64).startswith(b"SSH-2.0-"):
                            self.on_cleanup(f"stop sshd on port {port}",
                                            lambda: stop_process(sshd))
                            return sshd
                except OSError:
                    pass
            time.sleep(0.05)
        stop_process(sshd)
        raise RuntimeError("sshd did not start listening: " + self.log_tail(self.sshd_log))

    # ---- sshd as a Debian host runs it: stock config plus the guide's drop-in

    def stock_sshd_config(self, include_dir):
        """Debian's stock sshd_config, its first line (Include of
        /etc/ssh/sshd_config.d/*.conf) pointed at include_dir instead."""
        stock = next((p for p in STOCK_SSHD_CONFIGS if os.path.isfile(p)), None)
        if stock is None:
            fail(f"no stock sshd_config ({', '.join(STOCK_SSHD_CONFIGS)})")
        lines = read_text(stock).splitlines()
        includes = [i for i, line in enumerate(lines) if STOCK_SSHD_INCLUDE_RE.match(line)]
        active = [i for i, line in enumerate(lines) if line.strip() and not line.startswith("#")]
        if len(includes) != 1 or active[0] != includes[0]:
            fail(f"{stock} does not start with one Include of "
                 "/etc/ssh/sshd_config.d/*.conf as Debian's does")
        lines[includes[0]] = f"Include {include_dir}/*.conf"
        return "\n".join(lines) + "\n"

    def test_sshd_dropin(self, port, pid_file):
        """Only where this sshd listens, logs and whom it lets in; sorted
        before pam_heroku.conf, and setting none of the guide's keywords."""
        return f"""\
# tests/e2e/run: where this test sshd listens and logs, and whom it lets in
Port {port}
ListenAddress 127.0.0.1
HostKey {self.host_key}
PidFile {pid_file}
LogLevel DEBUG
PermitRootLogin no
AllowUsers {ALICE} {BOB}
KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org
PrintLastLog no
"""

    def dropin_sshd(self, name, heroku_dropin):
        """An sshd whose config is Debian's stock file with the drop-in dir
        it includes first holding heroku_dropin as pam_heroku.conf.
        Returns (main config path, port)."""
        top = self.path(name)
        dropins = os.path.join(top, "sshd_config.d")
        os.makedirs(dropins, 0o755)
        main_config = os.path.join(top, "sshd_config")
        pid_file = os.path.join(top, "sshd.pid")
        write_file(main_config, self.stock_sshd_config(dropins), 0o644)
        write_file(os.path.join(dropins, "pam_heroku.conf"), heroku_dropin, 0o644)

        def write_config(port):
            write_file(os.path.join(dropins, "00-pam-heroku-e2e.conf"),
                       self.test_sshd_dropin(port, pid_file), 0o644)
            return main_config, pid_file
        _, port = self.launch_sshd(write_config)
        return main_config, port

    def bastion_sshd(self):
        """Issue 13's bastion: the guide's drop-in verbatim (a key and a
        Heroku code).  Started once, on first use."""
        if getattr(self, "bastion", None) is None:
            self.bastion = self.dropin_sshd("bastion", read_text(self.guide_sshd_dropin))
        return self.bastion

    def password_sshd(self):
        """Issue 10's host: Debian's stock sshd_config with the guide's
        drop-in minus its AuthenticationMethods and PasswordAuthentication
        lines: keyboard-interactive as the guide turns it on, no key
        required, and password authentication on (Debian's default), as on a
        host that enabled the pam-auth-update profile and kept the rest.
        Started once."""
        if getattr(self, "password_host", None) is None:
            dropin = read_text(self.guide_sshd_dropin)
            dropin = "".join(
                line for line in dropin.splitlines(keepends=True)
                if not re.match(r"\s*(AuthenticationMethods|PasswordAuthentication)\b", line))
            self.password_host = self.dropin_sshd("password-host", dropin)
        return self.password_host

    def sshd_effective(self, main_config):
        """sshd -T: the keywords as sshd will apply them."""
        proc = run_quiet([self.sshd_bin, "-T", "-f", main_config], "sshd -T")
        settings = {}
        for line in proc.stdout.splitlines():
            key, _, value = line.partition(" ")
            settings.setdefault(key, value)
        return settings

    def setup_client_key(self):
        """A key pair for phtest-alice: the private half here, the public one
        in her ~/.ssh/authorized_keys."""
        self.client_key = self.path("client_ed25519")
        run_quiet(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "phtest-alice e2e",
                   "-f", self.client_key], "ssh-keygen (client key)")
        entry = pwd.getpwnam(ALICE)
        ssh_dir = os.path.join(entry.pw_dir, ".ssh")
        os.makedirs(ssh_dir, 0o700, exist_ok=True)
        keys = os.path.join(ssh_dir, "authorized_keys")
        write_file(keys, read_text(self.client_key + ".pub"), 0o600)
        for path in (ssh_dir, keys):
            os.chown(path, entry.pw_uid, entry.pw_gid)

    def key_options(self, methods):
        return SSH_COMMON_OPTIONS + [
            "-i", self.client_key, "-o", "IdentitiesOnly=yes",
            "-o", "PubkeyAuthentication=yes", "-o", f"PreferredAuthentications={methods}"]

    # ---- the stack `pam-auth-update --enable heroku` makes

    def pam_auth_update_sshd_stack(self):
        """The machine's own /etc/pam.d/sshd, whose @include lines name the
        common-* files that pam-auth-update itself generates from the
        machine's profiles plus the shipped packaging/pam-configs/heroku
        (pam_heroku.so there: the built module with the test's config).
        pam-auth-update runs with --root on a private tree, and in a mount
        namespace of its own over a private copy of its debconf database, so
        neither /etc/pam.d nor the machine's debconf answers change."""
        root = self.path("pam-auth-update")
        if os.path.isdir(root):
            shutil.rmtree(root)
        profiles = os.path.join(root, SYSTEM_PAM_CONFIGS.lstrip("/"))
        os.makedirs(profiles, 0o755)
        for name in os.listdir(SYSTEM_PAM_CONFIGS):
            shutil.copy(os.path.join(SYSTEM_PAM_CONFIGS, name), os.path.join(profiles, name))
        write_file(os.path.join(profiles, "heroku"),
                   substitute_paths(read_text(self.heroku_profile), self.module_line()), 0o644)
        pam_d = os.path.join(root, "etc", "pam.d")
        os.makedirs(pam_d, 0o755)
        os.makedirs(os.path.join(root, "var", "lib", "pam"), 0o755)
        debconf = os.path.join(root, "debconf")
        os.mkdir(debconf, 0o700)
        for name in ("config.dat", "templates.dat"):
            shutil.copy(os.path.join(DEBCONF_DIR, name), os.path.join(debconf, name))
        run_quiet(["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                   'mount --bind "$1" ' + DEBCONF_DIR +
                   ' && exec pam-auth-update --root "$2" --force --enable heroku',
                   "sh", debconf, root], "pam-auth-update --enable heroku",
                  env=clean_env(DEBIAN_FRONTEND="noninteractive"))
        auth = [line.split() for line in read_text(os.path.join(pam_d, "common-auth")).splitlines()
                if line.startswith("auth")]
        modules = [next(w for w in words[1:] if w.endswith(".so")) for words in auth]
        if not (self.module in modules and "pam_unix.so" in modules
                and modules.index("pam_unix.so") < modules.index(self.module)):
            fail(f"pam-auth-update made an auth stack without pam_unix before "
                 f"pam_heroku: {modules}")
        return re.sub(r"(?m)^@include\s+(common-\S+)", f"@include {pam_d}/\\1",
                      read_text(SYSTEM_SSHD_PAM))

    def log_tail(self, path, lines=15):
        try:
            with open(path, errors="replace") as f:
                return self.redact("".join(f.readlines()[-lines:]))
        except OSError:
            return ""


# --------------------------------------------------------------------------
# Clients.

class Result:
    def __init__(self, rc, output, prompts=()):
        self.rc = rc
        self.output = output.replace("\r", "")
        self.prompts = list(prompts)     # the prompts seen, in order (pty runs)

    def remote_ran(self):
        return REMOTE_MARK in self.output.splitlines()

    def env(self):
        env = {}
        for line in self.output.splitlines():
            name, sep, value = line.partition("=")
            if sep and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                env[name] = value
        return env


def ssh_with_sshpass(host, user, credential, port=None, options=SSH_OPTIONS,
                     prompt=PROMPT_MATCH):
    """ssh + sshpass answering the prompt that contains prompt (by default
    the module's, keyboard-interactive) with credential."""
    argv = ["sshpass", "-e", "-P", prompt, "ssh", *options,
            "-p", str(port or host.ssh_port), f"{user}@127.0.0.1", REMOTE_COMMAND]
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              env=clean_env(SSHPASS=credential), timeout=CLIENT_TIMEOUT)
    except subprocess.TimeoutExpired:
        fail(f"ssh as {user} did not finish within {CLIENT_TIMEOUT}s")
    return Result(proc.returncode, proc.stdout + proc.stderr)


def ssh_with_pty(host, user, answers, port=None, options=SSH_OPTIONS):
    """ssh on a pseudo-terminal of our own: everything it shows the user is
    captured.  answers: [(regex, text)] - whenever a regex matches the output
    after the last answer, text + newline is typed.  Each answer is used once."""
    argv = ["ssh", *options, "-p", str(port or host.ssh_port), f"{user}@127.0.0.1",
            REMOTE_COMMAND]
    pending = [(re.compile(rx), text) for rx, text in answers]
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execve("/usr/bin/ssh", argv, clean_env(TERM="dumb"))
        finally:
            os._exit(127)
    output = b""
    answered_at = 0
    prompts = []
    deadline = time.monotonic() + CLIENT_TIMEOUT
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                fail(f"ssh as {user} did not finish within {CLIENT_TIMEOUT}s")
            ready, _, _ = select.select([fd], [], [], min(left, 0.5))
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:      # EIO: the other side is closed
                chunk = b""
            if not chunk:
                break
            output += chunk
            fresh = output[answered_at:].decode("utf-8", "replace")
            for i, (rx, text) in enumerate(pending):
                m = rx.search(fresh)
                if m:
                    prompts.append(m.group(0))
                    os.write(fd, text.encode() + b"\n")
                    answered_at = len(output)
                    del pending[i]
                    break
    finally:
        try:
            os.close(fd)
        except OSError:
            pass
        for _ in range(50):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
    return Result(os.waitstatus_to_exitcode(status), output.decode("utf-8", "replace"),
                  prompts)


def run_sudo(host, user, credential):
    """sudo -k -S as the test account, the credential on stdin."""
    entry = pwd.getpwnam(user)
    try:
        proc = subprocess.run(
            ["sudo", "-k", "-S", SUDO_COMMAND], input=credential + "\n",
            capture_output=True, text=True, user=entry.pw_uid, group=entry.pw_gid,
            extra_groups=[], env=clean_env(HOME=entry.pw_dir, USER=user, LOGNAME=user),
            cwd=entry.pw_dir, timeout=CLIENT_TIMEOUT)
    except subprocess.TimeoutExpired:
        fail(f"sudo as {user} did not finish within {CLIENT_TIMEOUT}s")
    return proc


# --------------------------------------------------------------------------
# What a case sees.

class Seen:
    """What a case sees: the sshd log, the module's syslog lines and the
    fake's requests since it was made (Host.seen(), or the seen fixture)."""

    def __init__(self, host):
        self.host = host
        self.syslog_mark = host.dev_log.mark()
        self.sshd_mark = os.path.getsize(host.sshd_log) if os.path.exists(host.sshd_log) else 0
        record = host.fake.record
        self.record_mark = os.path.getsize(record) if os.path.exists(record) else 0

    def fail(self, message):
        __tracebackhide__ = True
        tail = self.host.log_tail(self.host.sshd_log, 8).replace("\n", "\n    ")
        fail(f"{message}\n  sshd log tail:\n    {tail}")

    def check(self, condition, message):
        __tracebackhide__ = True
        if not condition:
            self.fail(message)

    # ---- what happened since the case began

    def sshd_lines(self):
        with open(self.host.sshd_log, "rb") as f:
            f.seek(self.sshd_mark)
            return f.read().decode("utf-8", "replace").splitlines()

    # "Nov 26 14:33:50 sudo: ..." or "... sshd-pam-heroku-test[123]: ..."
    SYSLOG_TAG_RE = re.compile(r"^\w{3} [ \d]\d \d\d:\d\d:\d\d ([^:\[\s]+)(?:\[\d+\])?: ")

    def syslog_lines(self):
        """The lines sshd-pam-heroku-test and sudo logged since the case began
        (other programs on the machine may log to the same socket)."""
        if self.host.dev_log.problem:
            self.fail(self.host.dev_log.problem)
        lines = []
        for _, text in self.host.dev_log.since(self.syslog_mark):
            m = self.SYSLOG_TAG_RE.match(text)
            if m and m.group(1) in (SSHD_SERVICE, "sudo"):
                lines.append(text)
        return lines

    def requests(self):
        if not os.path.exists(self.host.fake.record):
            return []
        with open(self.host.fake.record, "rb") as f:
            f.seek(self.record_mark)
            return [json.loads(line) for line in f.read().splitlines() if line.strip()]

    def wait_for(self, source, pattern, what):
        rx = re.compile(pattern)
        deadline = time.monotonic() + LOG_WAIT
        while True:
            lines = source()
            if any(rx.search(line) for line in lines):
                return
            if time.monotonic() > deadline:
                shown = "\n    ".join(lines[-12:]) or "(nothing)"
                self.fail(f"{what}: no line matching /{pattern}/; the last lines were:\n"
                          f"    {shown}")
            time.sleep(0.05)

    def expect_sshd_log(self, outcome, user, method="keyboard-interactive/pam"):
        word = {"accepted": "Accepted", "failed": "Failed", "partial": "Partial"}[outcome]
        self.wait_for(self.sshd_lines,
                      rf"\b{word} {re.escape(method)} for {re.escape(user)} from 127\.0\.0\.1 ",
                      f"sshd's log (-E) for {user}")

    def expect_no_sshd_log(self, outcome, user, method):
        word = {"accepted": "Accepted", "failed": "Failed", "partial": "Partial"}[outcome]
        rx = re.compile(rf"\b{word} {re.escape(method)} for {re.escape(user)} ")
        self.check(not any(rx.search(line) for line in self.sshd_lines()),
                   f"sshd logged \"{word} {method} for {user}\"")

    def expect_module_log(self, service, outcome, user, heroku_user_id=None, answered=None):
        """The module's one line for the attempt.  answered: True - the API
        answered (a Request-Id is logged), False - it did not (request_id=-)."""
        tag = re.escape(self.host.module_tag)
        pattern = (rf"{tag}\({re.escape(service)}:auth\): auth {outcome}: "
                   rf"user={re.escape(user)} ")
        pattern += (rf"heroku_user_id={re.escape(heroku_user_id)} " if heroku_user_id
                    else r"heroku_user_id=\S+ ")
        if answered is True:
            pattern += r"request_id=[0-9a-fA-F-]{36} "
        elif answered is False:
            pattern += r"request_id=- "
        self.wait_for(self.syslog_lines, pattern, f"the module's syslog lines ({service})")

    def expect_requests(self, count, check=None, what=""):
        reqs = self.requests()
        self.check(len(reqs) == count,
                   f"the fake API got {len(reqs)} request(s), expected {count} {what}")
        for req in reqs:
            if check:
                check(req)
        return reqs

    def expect_no_secret_in_logs(self):
        """Whatever was typed or returned never reaches a log."""
        if self.host.dev_log.problem:
            self.fail(self.host.dev_log.problem)
        # Every line on the socket, not only the two services' tags.
        lines = self.sshd_lines() + [text for _, text in self.host.dev_log.since(self.syslog_mark)]
        text = "\n".join(lines)
        for value, name in self.host.suite.secret_items():
            self.check(value not in text, f"the {name} appears in the logs")

    def expect_logged_in(self, result, user, session_id, user_id, how):
        self.check(result.rc == 0 and result.remote_ran(),
                   f"{how}: the login as {user} failed (exit {result.rc}); ssh said:\n"
                   f"    {result.output.strip()[-600:]}")
        env = result.env()
        self.check(env.get("USER") == user, f"{how}: the remote shell runs as "
                   f"{env.get('USER')!r}, not {user}")
        self.check(env.get("HEROKU_SESSION_ID") == session_id,
                   f"{how}: HEROKU_SESSION_ID in the remote shell is "
                   f"{env.get('HEROKU_SESSION_ID')!r}, expected {session_id!r}")
        self.check(env.get("HEROKU_USER_ID") == user_id,
                   f"{how}: HEROKU_USER_ID in the remote shell is "
                   f"{env.get('HEROKU_USER_ID')!r}, expected {user_id!r}")

    def expect_refused(self, result, user, how):
        self.check(result.rc != 0, f"{how}: ssh as {user} exited 0")
        self.check(not result.remote_ran(),
                   f"{how}: the remote shell ran although the login should be refused")


# --------------------------------------------------------------------------
# What a request must carry.

def answered(status):
    """A request check: the fake answered it with status."""
    def check(req):
        if req.get("status") != status:
            fail(f"the fake answered {req.get('status')}, expected {status}")
    return check


def grant_request(grant_type, credential):
    def check(req):
        body = req.get("json") or {}
        grant = body.get("grant") or {}
        if grant.get("type") != grant_type:
            fail(f"the request's grant type is {grant.get('type')!r}, "
                 f"expected {grant_type!r}")
        value = (grant.get("code") if grant_type == "authorization_code"
                 else (body.get("refresh_token") or {}).get("token"))
        if value != credential:
            fail("the request does not carry the typed credential")
    return check

