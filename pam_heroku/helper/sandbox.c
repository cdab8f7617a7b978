/*
 * sandbox.c - pam_heroku_exchange confines itself (sandbox.h).
 *
 * The order matters: the user is looked up (NSS may open files) and the
 * ids dropped before no_new_privs and the filter, which forbids changing
 * them; the filter comes last, so nothing after it can undo any step.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <seccomp.h>

#include "sandbox.h"

/* Descriptor 2 on /dev/null, so no file the helper opens can become "stderr". */
static bool stderr_to_null(void)
{
	int fd = open("/dev/null", O_WRONLY);

	return fd == 2 || (fd > 2 && dup2(fd, 2) == 2);   /* fd itself goes with the rest */
}

static bool close_other_descriptors(void)
{
	if (!stderr_to_null())
		return false;
	return syscall(SYS_close_range, 3u, ~0u, 0u) == 0;
}

static bool no_core(void)
{
	struct rlimit zero = { 0, 0 };

	return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0 && setrlimit(RLIMIT_CORE, &zero) == 0;
}

static bool runs_with_root_id(void)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;

	if (getresuid(&r, &e, &s) != 0 || getresgid(&rg, &eg, &sg) != 0)
		return true;    /* unknown counts as root: drop */
	return r == 0 || e == 0 || s == 0 || rg == 0 || eg == 0 || sg == 0;
}

/* Every id is the target's, no group is left, and root cannot be regained. */
static bool ids_are(uid_t uid, gid_t gid)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;

	return getresuid(&r, &e, &s) == 0 && r == uid && e == uid && s == uid &&
	       getresgid(&rg, &eg, &sg) == 0 && rg == gid && eg == gid && sg == gid &&
	       getgroups(0, NULL) == 0 && setuid(0) != 0;
}

static enum ph_result drop_privileges(char reason[PH_REASON_MAX])
{
	const char *name = PAM_HEROKU_HELPER_USER;
	struct passwd *user;
	uid_t uid;
	gid_t gid;

	if (!runs_with_root_id())
		return PH_OK;
	/* getpwnam, not _r: the helper has one thread until libcurl starts. */
	user = getpwnam(name);  // cppcheck-suppress getpwnamCalled
	if (user == NULL || user->pw_uid == 0) {
		name = SANDBOX_FALLBACK_USER;
		user = getpwnam(name);  // cppcheck-suppress getpwnamCalled
	}
	if (user == NULL || user->pw_uid == 0 || user->pw_gid == 0) {
		snprintf(reason, PH_REASON_MAX, "neither %s nor %s is an unprivileged user",
			 PAM_HEROKU_HELPER_USER, SANDBOX_FALLBACK_USER);
		return PH_MISCONFIGURED;
	}
	uid = user->pw_uid;
	gid = user->pw_gid;
	if (setgroups(0, NULL) != 0 || setresgid(gid, gid, gid) != 0 ||
	    setresuid(uid, uid, uid) != 0 || !ids_are(uid, gid)) {
		snprintf(reason, PH_REASON_MAX, "cannot become %s: %s", name, strerror(errno));
		return PH_MISCONFIGURED;
	}
	return PH_OK;
}

/* System calls one HTTPS POST never makes; any of them ends the process. */
static const char *const forbidden_calls[] = {
	"execve", "execveat", "ptrace", "process_vm_readv", "process_vm_writev",
	"mount", "umount2", "pivot_root", "chroot", "unshare", "setns",
	"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
	"bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key",
	"open_by_handle_at", "name_to_handle_at", "reboot", "swapon", "swapoff",
	"acct", "quotactl", "syslog", "iopl", "ioperm", "settimeofday", "clock_settime",
	"adjtimex", "clock_adjtime", "sethostname", "setdomainname", "personality",
	"setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid",
	"setfsuid", "setfsgid", "setgroups", "capset",
	"fsopen", "fsmount", "fsconfig", "move_mount", "open_tree", "mount_setattr",
};

/*
 * libseccomp compiles the filter; it is loaded with prctl(PR_SET_SECCOMP),
 * the older of the two kernel interfaces, which valgrind also passes
 * through (tests/valgrind/run runs the helper under it).
 */
static int load_filter(scmp_filter_ctx filter)
{
	struct sock_filter program[1024];
	struct sock_fprog fprog;
	int ends[2];
	ssize_t got;
	int rc;

	if (pipe2(ends, O_CLOEXEC) != 0)
		return -errno;
	rc = seccomp_export_bpf(filter, ends[1]);
	close(ends[1]);
	got = rc == 0 ? read(ends[0], program, sizeof program) : -1;
	close(ends[0]);
	if (rc != 0)
		return rc;
	if (got <= 0 || (size_t)got % sizeof program[0] != 0 || (size_t)got == sizeof program)
		return -EINVAL;
	fprog.len = (unsigned short)((size_t)got / sizeof program[0]);
	fprog.filter = program;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) == 0 ? 0 : -errno;
}

static enum ph_result install_filter(char reason[PH_REASON_MAX])
{
	scmp_filter_ctx filter;
	int rc;

	/* API level 3 (Linux >= 4.14: SECCOMP_RET_KILL_PROCESS) stated, not
	 * probed: libseccomp's probe uses seccomp(2), which valgrind lacks. */
	rc = seccomp_api_set(3);
	filter = rc == 0 ? seccomp_init(SCMP_ACT_ALLOW) : NULL;
	if (rc == 0 && filter == NULL)
		rc = -ENOMEM;

	for (size_t i = 0; rc == 0 && i < sizeof forbidden_calls / sizeof forbidden_calls[0]; i++) {
		int call = seccomp_syscall_resolve_name(forbidden_calls[i]);

		if (call != __NR_SCMP_ERROR)
			rc = seccomp_rule_add(filter, SCMP_ACT_KILL_PROCESS, call, 0);
	}
	if (rc == 0)
		rc = load_filter(filter);
	seccomp_release(filter);
	if (rc != 0) {
		snprintf(reason, PH_REASON_MAX, "cannot install the seccomp filter: %s",
			 strerror(-rc));
		return PH_MISCONFIGURED;
	}
	return PH_OK;
}

enum ph_result sandbox_enter(char reason[PH_REASON_MAX])
{
	enum ph_result result;

	if (!no_core()) {
		snprintf(reason, PH_REASON_MAX, "cannot forbid core dumps: %s", strerror(errno));
		return PH_MISCONFIGURED;
	}
	if (!close_other_descriptors()) {
		snprintf(reason, PH_REASON_MAX, "cannot close inherited descriptors: %s",
			 strerror(errno));
		return PH_MISCONFIGURED;
	}
	result = drop_privileges(reason);
	if (result != PH_OK)
		return result;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		snprintf(reason, PH_REASON_MAX, "cannot set no_new_privs: %s", strerror(errno));
		return PH_MISCONFIGURED;
	}
	return install_filter(reason);
}
