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

#include "sandbox.h"
#include "seccomp_program.h"

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

/*
 * The program was compiled by libseccomp from seccomp_policy.c's list when
 * the helper was built (seccomp_program_gen): here it is only loaded, with
 * prctl(PR_SET_SECCOMP), the older of the two kernel interfaces, which
 * valgrind also passes through (tests/valgrind/run runs the helper under it).
 */
_Static_assert(sizeof seccomp_program / sizeof seccomp_program[0] <= BPF_MAXINSNS,
	       "the seccomp program fits what the kernel loads");

enum ph_result sandbox_install_filter(char reason[PH_REASON_MAX])
{
	struct sock_fprog fprog = {
		.len = (unsigned short)(sizeof seccomp_program / sizeof seccomp_program[0]),
		/* The kernel copies the program and never writes through this. */
		.filter = (struct sock_filter *)seccomp_program,
	};

	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0) != 0) {
		snprintf(reason, PH_REASON_MAX, "cannot install the seccomp filter: %s",
			 strerror(errno));
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
	return sandbox_install_filter(reason);
}
