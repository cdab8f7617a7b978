/*
 * unit_main.c - runs every Check suite of pam_heroku and the shared helpers.
 *
 * Output is CK_NORMAL, so Check prints its "NN%: Checks: N, Failures: N,
 * Errors: N" summary and each failure; the exit status is non-zero when any
 * test failed.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "unit.h"

char unit_tmp_root[PATH_MAX];

/* ------------------------------------------------------------------------ */

static void unit_log_emit(void *ctx, int priority, const char *message)
{
	struct unit_log *log = ctx;

	if (log->count < UNIT_LOG_MAX) {
		log->priority[log->count] = priority;
		snprintf(log->message[log->count], UNIT_LOG_LINE, "%s",
			 message != NULL ? message : "(null)");
	}
	log->count++;
}

void unit_log_init(struct unit_log *log)
{
	memset(log, 0, sizeof *log);
	log->sink.emit = unit_log_emit;
	log->sink.ctx = log;
}

size_t unit_log_count(const struct unit_log *log, int priority)
{
	size_t n = 0;
	size_t kept = log->count < UNIT_LOG_MAX ? log->count : UNIT_LOG_MAX;

	for (size_t i = 0; i < kept; i++)
		if (log->priority[i] == priority)
			n++;
	return n;
}

bool unit_log_has(const struct unit_log *log, const char *needle)
{
	size_t kept = log->count < UNIT_LOG_MAX ? log->count : UNIT_LOG_MAX;

	for (size_t i = 0; i < kept; i++)
		if (strstr(log->message[i], needle) != NULL)
			return true;
	return false;
}

const char *unit_log_all(struct unit_log *log)
{
	size_t kept = log->count < UNIT_LOG_MAX ? log->count : UNIT_LOG_MAX;
	size_t used = 0;

	log->joined[0] = '\0';
	for (size_t i = 0; i < kept; i++) {
		int n = snprintf(log->joined + used, sizeof log->joined - used, "%s%s",
				 i > 0 ? " | " : "", log->message[i]);
		if (n < 0 || (size_t)n >= sizeof log->joined - used)
			break;
		used += (size_t)n;
	}
	return log->joined;
}

/* ------------------------------------------------------------------------ */

void unit_tmpdir(char dir[PATH_MAX])
{
	int n = snprintf(dir, PATH_MAX, "%s/t.XXXXXX", unit_tmp_root);

	ck_assert_msg(n > 0 && n < PATH_MAX, "temporary path too long");
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp %s: %s", dir, strerror(errno));
}

void unit_path(char path[PATH_MAX], const char *dir, const char *name)
{
	int n = snprintf(path, PATH_MAX, "%s/%s", dir, name);

	ck_assert_msg(n > 0 && n < PATH_MAX, "temporary path too long");
}

void unit_write_file(char path[PATH_MAX], const char *dir, const char *name,
		     const void *data, size_t len, mode_t mode)
{
	const char *p = data;
	int fd;

	unit_path(path, dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_msg(fd >= 0, "create %s: %s", path, strerror(errno));
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		ck_assert_msg(w > 0, "write %s: %s", path, strerror(errno));
		p += w;
		len -= (size_t)w;
	}
	ck_assert_msg(fchmod(fd, mode) == 0, "chmod %s: %s", path, strerror(errno));
	ck_assert_int_eq(close(fd), 0);
}

void unit_write_text(char path[PATH_MAX], const char *dir, const char *name,
		     const char *text, mode_t mode)
{
	unit_write_file(path, dir, name, text, strlen(text), mode);
}

static int rmtree_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

void unit_rmtree(const char *dir)
{
	if (dir != NULL && dir[0] != '\0')
		nftw(dir, rmtree_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ------------------------------------------------------------------------ */

static unsigned unit_skipped;

void unit_add_test_if(TCase *tc, const TTest *test, bool ready, const char *reason)
{
	if (ready) {
		tcase_add_test(tc, test);
		return;
	}
	printf("SKIP: %s: %s\n", test->name, reason);
	unit_skipped++;
}

void unit_add_root_test(TCase *tc, const TTest *test)
{
	unit_add_test_if(tc, test, geteuid() == 0, "needs root");
}

void unit_dac_override(bool on)
{
	struct __user_cap_header_struct head = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	uint32_t dac = 1u << CAP_DAC_OVERRIDE | 1u << CAP_DAC_READ_SEARCH;

	ck_assert_int_eq(syscall(SYS_capget, &head, data), 0);
	data[0].effective = on ? data[0].effective | (data[0].permitted & dac)
			       : data[0].effective & ~dac;
	ck_assert_int_eq(syscall(SYS_capset, &head, data), 0);
}

double unit_slowdown(void)
{
	const char *mult = getenv("CK_TIMEOUT_MULTIPLIER");
	const char *preload = getenv("LD_PRELOAD");

	if (mult != NULL && atof(mult) >= 1.0)
		return atof(mult);
	if (preload != NULL && strstr(preload, "vgpreload") != NULL)
		return 10.0;
	return 1.0;
}

uid_t unit_other_uid(void)
{
	return geteuid() == 65534 ? 65533 : 65534;
}

/* ------------------------------------------------------------------------ */

int main(void)
{
	SRunner *runner;
	int failed;

	snprintf(unit_tmp_root, sizeof unit_tmp_root, "/tmp/pam_heroku_unit.XXXXXX");
	if (mkdtemp(unit_tmp_root) == NULL) {
		perror("mkdtemp");
		return 2;
	}

	runner = srunner_create(sanitize_suite());
	srunner_add_suite(runner, safe_file_suite());
	srunner_add_suite(runner, settings_suite());
	srunner_add_suite(runner, credential_suite());
	srunner_add_suite(runner, token_request_suite());
	srunner_add_suite(runner, token_response_suite());
	srunner_add_suite(runner, allowlist_suite());
	srunner_add_suite(runner, exchange_suite());
	srunner_add_suite(runner, sandbox_suite());
	srunner_add_suite(runner, exchange_wire_suite());

	srunner_run_all(runner, CK_NORMAL);
	failed = srunner_ntests_failed(runner);
	printf("Skipped: %u (named above by their SKIP lines, not counted in Checks)\n",
	       unit_skipped);
	srunner_free(runner);

	unit_rmtree(unit_tmp_root);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
