/*
 * unit.h - the Check suites of pam_heroku, one per step of a login, and the
 * few helpers they share (a log sink that collects messages, temporary files
 * with a given mode, tests added only where they can run).
 *
 * Every test file includes "config.h" first, then this header.
 */
#ifndef PAM_HEROKU_UNIT_H
#define PAM_HEROKU_UNIT_H

#include <check.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "result.h"

/* One suite per step. */
Suite *sanitize_suite(void);
Suite *safe_file_suite(void);
Suite *settings_suite(void);
Suite *credential_suite(void);
Suite *token_request_suite(void);
Suite *token_response_suite(void);
Suite *allowlist_suite(void);
Suite *exchange_suite(void);
Suite *sandbox_suite(void);
Suite *exchange_wire_suite(void);

/* ------------------------------------------------------------------------
 * A ph_log sink that keeps what the step under test reported.
 */
#define UNIT_LOG_MAX 64
#define UNIT_LOG_LINE 512

struct unit_log {
	struct ph_log sink;                 /* hand &log.sink to the step */
	size_t count;                       /* every message, even past UNIT_LOG_MAX */
	int priority[UNIT_LOG_MAX];
	char message[UNIT_LOG_MAX][UNIT_LOG_LINE];
	char joined[UNIT_LOG_MAX * (UNIT_LOG_LINE + 3)];
};

void unit_log_init(struct unit_log *log);
/* Messages logged at exactly this priority. */
size_t unit_log_count(const struct unit_log *log, int priority);
/* True when some kept message contains needle. */
bool unit_log_has(const struct unit_log *log, const char *needle);
/* All kept messages, " | "-separated, for failure output. */
const char *unit_log_all(struct unit_log *log);

/* ------------------------------------------------------------------------
 * Temporary files.  main() makes one root directory with mkdtemp under /tmp
 * and removes it (and everything below) when the run ends, so even a test
 * that fails half way leaves nothing behind.
 */
extern char unit_tmp_root[PATH_MAX];

/* A fresh directory of its own under the root, for one test. */
void unit_tmpdir(char dir[PATH_MAX]);
/* dir/name into path (fails the test when it does not fit). */
void unit_path(char path[PATH_MAX], const char *dir, const char *name);
/* Write len bytes to dir/name, chmod it to mode; the path goes to path. */
void unit_write_file(char path[PATH_MAX], const char *dir, const char *name,
		     const void *data, size_t len, mode_t mode);
/* The same for a NUL-terminated text. */
void unit_write_text(char path[PATH_MAX], const char *dir, const char *name,
		     const char *text, mode_t mode);
/* Remove a directory tree (used by the tests that tidy up early). */
void unit_rmtree(const char *dir);

/* ------------------------------------------------------------------------
 * Tests that cannot run here are not added, so they are never counted as
 * passed: "SKIP: <test>: <reason>" is printed instead, and main() ends with
 * the number skipped.
 */
void unit_add_test_if(TCase *tc, const TTest *test, bool ready, const char *reason);
/* Added only when the effective uid is 0. */
void unit_add_root_test(TCase *tc, const TTest *test);

/*
 * Root reads any file: with on false, CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH
 * leave the effective set (they stay permitted, so true restores them) and
 * file modes bind root as anyone else.  Nothing happens for other users.
 */
void unit_dac_override(bool on);

/*
 * How much slower than native this run is, for the few checks that bound a
 * duration: CK_TIMEOUT_MULTIPLIER when set (Check's own knob), else 10 under
 * valgrind, else 1.
 */
double unit_slowdown(void);

/* A uid that is neither root nor the effective uid (nobody, 65534). */
uid_t unit_other_uid(void);

#endif
