#!/usr/bin/python3
"""check_policy.py - what pam_heroku's SELinux module allows, read from a linked policy.

Usage: check_policy.py POLICY BASELINE FILE_CONTEXTS [CHECK ...]

POLICY is a kernel policy with the module linked in, BASELINE the same policy
without it, FILE_CONTEXTS the file_contexts built with the module.  Runs every
check (or the named ones), prints "ok:   name" or "FAIL: name: why" for each,
and exits 1 when any failed.  Uses setools' Python API (Debian: python3-setools,
pulled in by setools), so run it with Debian's /usr/bin/python3.
"""
import subprocess
import sys

import setools

HELPER = "pam_heroku_exchange_t"
HELPER_EXEC = "pam_heroku_exchange_exec_t"
OWN_FILES = {"pam_heroku_conf_t", "pam_heroku_secret_t"}
OWN_TYPES = {HELPER, HELPER_EXEC} | OWN_FILES
BOOLEAN = "pam_heroku_connect_any"

# The domains that run a PAM stack in Debian's reference policy, named so a
# missing transition from one of them is reported by name; every member of
# pam_domain is checked as well.
PAM_CALLERS = ["sshd_t", "local_login_t", "remote_login_t", "xdm_t",
               "user_sudo_t", "staff_sudo_t", "sysadm_sudo_t",
               "user_su_t", "staff_su_t", "sysadm_su_t",
               "unconfined_t", "sysadm_t"]
MUST_EXIST = ["sshd_t", "user_sudo_t", "staff_sudo_t", "sysadm_sudo_t"]

# DNS may fall back to TCP: sysnet_dns_name_resolve's dns_port_t is the one
# other port the helper may connect to without the boolean.
PORTS_WITHOUT_BOOLEAN = {"http_port_t", "dns_port_t"}

# Writes the reference policy grants every domain, or that the helper needs:
# its own /proc/PID entries, the null and tty devices, the UNIX sockets of the
# name services (nscd, systemd-resolved, avahi, mcstrans, sssd) that glibc's
# resolver and getpwnam connect to.  Anything else writable is a failure.
WRITE_PERMS = {"write", "append", "create", "unlink", "rename", "link",
               "setattr", "add_name", "remove_name", "reparent", "rmdir",
               "relabelfrom", "relabelto", "mounton", "quotaon"}
WRITABLE = {
    "file": {HELPER},
    "dir": set(),
    "lnk_file": {HELPER},
    "chr_file": {"null_device_t", "zero_device_t", "devtty_t"},
    "sock_file": {"nscd_runtime_t", "systemd_resolved_runtime_t",
                  "avahi_runtime_t", "setrans_runtime_t", "sssd_var_lib_t"},
    "blk_file": set(),
}
# The loader maps the helper and its libraries executable; nothing else.
EXECUTE_MAPPABLE = {HELPER_EXEC, "ld_so_t", "lib_t", "textrel_shlib_t"}
CAPABILITIES = {"setuid", "setgid"}


class Checker:
    def __init__(self, policy_path, baseline_path, file_contexts):
        self.policy = setools.SELinuxPolicy(policy_path)
        self.baseline_path = baseline_path
        self.file_contexts = file_contexts
        self.defaults = {str(b): b.state for b in self.policy.bools()}
        self.expanded = {}
        self.caller_set = None
        self.index_rules()

    # --- helpers -------------------------------------------------------
    def index_rules(self):
        """One pass over the policy: every rule from the helper (or an
        attribute it has) and every rule onto one of the module's types (or
        an attribute they have).  setools' own queries scan the whole policy
        each time, seconds apiece."""
        def names(types):
            found = set(types)
            for name in types:
                found |= {str(a) for a in self.policy.lookup_type(name).attributes()}
            return found
        from_names = names({HELPER})
        onto_names = names(OWN_TYPES)
        self.from_helper, self.onto_own, self.transitions = [], [], []
        for rule in self.policy.terules():
            kind = str(rule.ruletype)
            source, target = str(rule.source), str(rule.target)
            if kind == "type_transition":
                if target == HELPER_EXEC or source in from_names:
                    self.transitions.append(rule)
                continue
            if kind != "allow":
                continue
            if source in from_names:
                self.from_helper.append(rule)
            if target in onto_names:
                self.onto_own.append(rule)

    def has_type(self, name):
        try:
            self.policy.lookup_type(name)
            return True
        except setools.exception.InvalidType:
            return False

    def active(self, rule, **overrides):
        """Whether a rule applies with the default booleans plus overrides."""
        try:
            cond = rule.conditional
        except setools.exception.RuleNotConditional:
            return True
        state = dict(self.defaults, **overrides)
        values = {str(b): state[str(b)] for b in cond.booleans}
        return cond.evaluate(**values) == rule.conditional_block

    def rules(self, ruletype="allow", source=None, target=None, tclass=None,
              perms=None, default=None, booleans=None):
        """The indexed rules that match, active under the booleans."""
        if ruletype == "type_transition":
            pool = self.transitions
        elif source == HELPER:
            pool = self.from_helper
        elif target in OWN_TYPES:
            pool = self.onto_own
        else:
            raise ValueError("rule query outside the index")
        found = []
        for rule in pool:
            if source and source not in self.expand(str(rule.source)):
                continue
            if target and target not in self.expand(str(rule.target)):
                continue
            if tclass and str(rule.tclass) not in tclass:
                continue
            if perms and not set(perms) & set(rule.perms):
                continue
            if default and str(rule.default) != default:
                continue
            if self.active(rule, **(booleans or {})):
                found.append(rule)
        return found

    def allowed(self, source, target, tclass, perm):
        return bool(self.rules(source=source, target=target, tclass=[tclass],
                               perms=[perm]))

    def expand(self, name):
        if name not in self.expanded:
            self.expanded[name] = {str(t) for t in
                                   self.policy.lookup_type_or_attr(name).expand()}
        return self.expanded[name]

    def callers(self):
        """Every domain with a transition into the helper."""
        if self.caller_set is not None:
            return self.caller_set
        found = set()
        for rule in self.rules("type_transition", target=HELPER_EXEC,
                               tclass=["process"], default=HELPER):
            found |= self.expand(str(rule.source))
        self.caller_set = found
        return found

    def transition_missing(self, domain):
        """Why domain cannot run the helper in its domain, or None."""
        needs = [
            (domain, HELPER_EXEC, "file", "execute"),
            (domain, HELPER, "process", "transition"),
            (HELPER, HELPER_EXEC, "file", "entrypoint"),
            (HELPER, domain, "fd", "use"),
            (HELPER, domain, "fifo_file", "read"),
            (HELPER, domain, "fifo_file", "write"),
            (domain, HELPER, "process", "sigkill"),
        ]
        if not self.rules("type_transition", source=domain, target=HELPER_EXEC,
                          tclass=["process"], default=HELPER):
            return "no type_transition %s %s:process %s" % (domain, HELPER_EXEC, HELPER)
        for source, target, tclass, perm in needs:
            if not self.allowed(source, target, tclass, perm):
                return "no allow %s %s:%s %s" % (source, target, tclass, perm)
        return None

    # --- the checks ----------------------------------------------------
    def check_transitions(self):
        """sshd's, sudo's, su's, login's, xdm's domains and every pam_domain enter the helper"""
        missing = [t for t in MUST_EXIST if not self.has_type(t)]
        if missing:
            return "the policy lacks %s" % " ".join(missing)
        domains = [t for t in PAM_CALLERS if self.has_type(t)]
        try:
            domains += sorted(self.expand("pam_domain") - set(domains))
        except setools.exception.InvalidType:
            return "the policy has no pam_domain attribute"
        problems = [why for why in map(self.transition_missing, domains) if why]
        if problems:
            return "; ".join(problems[:4])
        return None

    def check_roles(self):
        """every role a calling domain runs in may run the helper"""
        helper = self.policy.lookup_type(HELPER)
        problems = []
        for role in self.policy.roles():
            types = set(role.types())
            callers = {str(t) for t in types} & self.callers()
            if callers and helper not in types:
                problems.append("%s (runs %s) lacks %s" % (role, sorted(callers)[0], HELPER))
        return "; ".join(problems) or None

    def check_http(self):
        """the helper may name_connect to http_port_t"""
        if not self.allowed(HELPER, "http_port_t", "tcp_socket", "name_connect"):
            return "no allow %s http_port_t:tcp_socket name_connect" % HELPER
        return None

    def ports(self, **booleans):
        found = set()
        for rule in self.rules(source=HELPER, tclass=["tcp_socket"],
                               perms=["name_connect"], booleans=booleans):
            found |= self.expand(str(rule.target))
        return found

    def check_no_other_ports(self):
        """without the boolean the helper connects to no other port than http (and DNS)"""
        extra = self.ports() - PORTS_WITHOUT_BOOLEAN
        if extra:
            return "name_connect to %d other port types: %s ..." % (
                len(extra), " ".join(sorted(extra)[:6]))
        return None

    def check_boolean(self):
        """pam_heroku_connect_any is off by default and opens squid_port_t (3128) when on"""
        if BOOLEAN not in self.defaults:
            return "no boolean " + BOOLEAN
        if self.defaults[BOOLEAN]:
            return BOOLEAN + " is on by default"
        if "squid_port_t" in self.ports():
            return "squid_port_t reachable with the boolean off"
        if "squid_port_t" not in self.ports(**{BOOLEAN: True}):
            return "squid_port_t not reachable with the boolean on"
        return None

    def check_no_writes(self):
        """the helper writes no file (only its pipes, /dev/null, name-service sockets)"""
        problems = []
        for rule in self.rules(source=HELPER, perms=WRITE_PERMS,
                               booleans={BOOLEAN: True}):
            tclass = str(rule.tclass)
            if tclass == "fifo_file":
                allowed = self.callers() | {HELPER}
            elif tclass in WRITABLE:
                allowed = WRITABLE[tclass]
            else:
                continue
            bad = self.expand(str(rule.target)) - allowed
            if bad:
                problems.append("%s on %s:%s" % (
                    " ".join(sorted(rule.perms & WRITE_PERMS)), sorted(bad)[0], tclass))
        return "; ".join(problems[:4]) or None

    def check_no_execute(self):
        """the helper executes nothing: no execve, no transition, no executable memory"""
        problems = []
        for rule in self.rules(source=HELPER, tclass=["file"],
                               perms=["execute_no_trans", "execute"],
                               booleans={BOOLEAN: True}):
            if "execute_no_trans" in rule.perms:
                problems.append("execute_no_trans on %s" % rule.target)
            bad = self.expand(str(rule.target)) - EXECUTE_MAPPABLE
            if "execute" in rule.perms and bad:
                problems.append("execute on %s" % sorted(bad)[0])
        for rule in self.rules(source=HELPER, tclass=["process"],
                               perms=["transition", "dyntransition", "execmem",
                                      "execstack", "execheap", "setexec"],
                               booleans={BOOLEAN: True}):
            problems.append("process %s on %s" % (" ".join(sorted(rule.perms)), rule.target))
        if self.rules("type_transition", source=HELPER, tclass=["process"]):
            problems.append("a process type_transition out of the helper")
        return "; ".join(problems[:4]) or None

    def check_confine(self):
        """the helper may drop to its user and lower its own limits (RLIMIT_CORE 0)"""
        for target, tclass, perm in ((HELPER, "process", "setrlimit"),
                                     (HELPER, "capability", "setuid"),
                                     (HELPER, "capability", "setgid")):
            if not self.allowed(HELPER, target, tclass, perm):
                return "no allow %s %s:%s %s" % (HELPER, target, tclass, perm)
        return None

    def check_no_secrets(self):
        """the helper cannot read the configuration, the secret, or shadow"""
        problems = [t for t in sorted(OWN_FILES | {"shadow_t"})
                    if self.allowed(HELPER, t, "file", "read")
                    or self.allowed(HELPER, t, "file", "open")]
        return ("reads " + " ".join(problems)) if problems else None

    def check_capabilities(self):
        """the helper has setuid and setgid, no other capability"""
        caps = set()
        for tclass in ("capability", "capability2", "cap_userns", "cap2_userns"):
            for rule in self.rules(source=HELPER, tclass=[tclass],
                                   booleans={BOOLEAN: True}):
                caps |= set(rule.perms)
        if caps != CAPABILITIES:
            return "capabilities %s" % " ".join(sorted(caps))
        return None

    def check_callers_read(self):
        """the calling domains read pam_heroku.conf, .allow and .secret"""
        problems = []
        for domain in [t for t in PAM_CALLERS if self.has_type(t)]:
            for target in sorted(OWN_FILES):
                for perm in ("open", "read", "getattr"):
                    if not self.allowed(domain, target, "file", perm):
                        problems.append("%s cannot %s %s" % (domain, perm, target))
        return "; ".join(problems[:4]) or None

    def check_sshd_unchanged(self):
        """the module adds to sshd_t only the transition and reads of its files"""
        added = self.sesearch_rules(self.policy_path_of()) - \
            self.sesearch_rules(self.baseline_path)
        problems = []
        for line in sorted(added):
            if not self.harmless(line):
                problems.append(line)
        return "; ".join(problems[:4]) or None

    def policy_path_of(self):
        return self.policy.path

    @staticmethod
    def sesearch_rules(path):
        out = subprocess.run(["sesearch", path, "-A", "-T", "--dontaudit",
                              "-s", "sshd_t"], check=True, capture_output=True,
                             text=True).stdout
        return {line.strip() for line in out.splitlines() if line.strip()}

    @staticmethod
    def harmless(line):
        """A rule the transition needs: on the module's own types, or a
        directory search on the way to /usr/libexec."""
        words = line.rstrip(";").split()
        if words[0] in ("type_transition", "dontaudit"):
            return words[2].split(":")[0] in OWN_TYPES
        if words[0] != "allow":
            return False
        target, tclass = words[2].split(":")
        if target in OWN_TYPES:
            return tclass in ("file", "process", "process2")
        perms = set(" ".join(words[3:]).strip("{} ;").split())
        return tclass in ("dir", "lnk_file") and perms <= {"getattr", "open", "search", "read"}

    def check_file_contexts(self):
        """the helper, the configuration, the allowlist and the secret get their types"""
        expected = {
            "/usr/libexec/pam_heroku/pam_heroku_exchange": HELPER_EXEC,
            "/etc/security/pam_heroku.conf": "pam_heroku_conf_t",
            "/etc/security/pam_heroku.allow": "pam_heroku_conf_t",
            "/etc/security/pam_heroku.secret": "pam_heroku_secret_t",
        }
        problems = []
        for path, want in expected.items():
            out = subprocess.run(["matchpathcon", "-m", "file", "-f", self.file_contexts, path],
                                 capture_output=True, text=True).stdout
            if ":%s:" % want not in out:
                problems.append("%s is %s" % (path, out.split()[-1] if out.split() else "?"))
        return "; ".join(problems) or None


def main():
    if len(sys.argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    checker = Checker(*sys.argv[1:4])
    names = sys.argv[4:] or [n[len("check_"):] for n in dir(Checker) if n.startswith("check_")]
    failed = 0
    for name in names:
        method = getattr(checker, "check_" + name)
        why = method()
        if why:
            failed += 1
            print("FAIL: %s (%s): %s" % (name, method.__doc__.strip(), why))
        else:
            print("ok:   %s (%s)" % (name, method.__doc__.strip()))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
