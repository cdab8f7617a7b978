/*
 * test_allowlist.c - which Heroku user may log in as which local account.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "allowlist.h"
#include "token_response.h"

#define ALICE_ID "01234567-89ab-cdef-0123-456789abcdef"
#define BOB_ID "11111111-2222-4333-8444-555555555555"
#define ANY_ID "22222222-3333-4444-8555-666666666666"
#define STRANGER_ID "99999999-9999-4999-8999-999999999999"

#define EXAMPLE \
	"# Heroku user id                         local accounts\n" \
	ALICE_ID "     alice\n" \
	BOB_ID "     bob,carol\n" \
	ANY_ID "     *\n"

struct scan {
	char dir[PATH_MAX];
	char path[PATH_MAX];
	struct unit_log log;
	struct allowlist_outcome outcome;
	char reason[PH_REASON_MAX];
	enum ph_result result;
};

/* Write text as the allowlist (0644) in a fresh directory. */
static void scan_file(struct scan *s, const char *text, size_t len)
{
	unit_tmpdir(s->dir);
	unit_write_file(s->path, s->dir, "pam_heroku.allow", text, len, 0644);
}

static enum ph_result scan_run(struct scan *s, const char *user_id, const char *pam_user)
{
	struct allowlist_query q = { .user_id = user_id, .pam_user = pam_user };

	unit_log_init(&s->log);
	memset(&s->outcome, 0xff, sizeof s->outcome);
	s->reason[0] = '\0';
	s->result = allowlist_scan(s->path, &q, &s->log.sink, &s->outcome, s->reason);
	return s->result;
}

/* Scan text once for (user_id, pam_user). */
static enum ph_result scan_text(struct scan *s, const char *text, const char *user_id,
				const char *pam_user)
{
	scan_file(s, text, strlen(text));
	return scan_run(s, user_id, pam_user);
}

static void assert_grants(const char *text, const char *user_id, const char *pam_user,
			  unsigned line, const char *what)
{
	struct scan s;
	enum ph_result r = scan_text(&s, text, user_id, pam_user);

	ck_assert_msg(r == PH_OK, "%s: %s as %s: %s (%s) log: %s", what, user_id, pam_user,
		      ph_result_name(r), s.reason, unit_log_all(&s.log));
	ck_assert_msg(s.outcome.matched_line == line, "%s: matched line %u, want %u", what,
		      s.outcome.matched_line, line);
	unit_rmtree(s.dir);
}

static void assert_denies(const char *text, const char *user_id, const char *pam_user,
			  const char *what)
{
	struct scan s;
	enum ph_result r = scan_text(&s, text, user_id, pam_user);

	ck_assert_msg(r == PH_REFUSED, "%s: %s as %s: %s, want refused", what, user_id, pam_user,
		      ph_result_name(r));
	ck_assert_msg(s.outcome.matched_line == 0, "%s: matched line %u", what,
		      s.outcome.matched_line);
	unit_rmtree(s.dir);
}

/* A line that grants nothing and is reported with path:line. */
static void assert_bad_line(const char *line_text, const char *pam_user, const char *what)
{
	struct scan s;
	char text[4096];
	char where[PATH_MAX + 16];
	enum ph_result r;

	/* line 2 is the bad one; line 3 grants alice to another id, so it applies */
	snprintf(text, sizeof text, "# header\n%s\n" BOB_ID " alice\n", line_text);
	scan_file(&s, text, strlen(text));

	r = scan_run(&s, ALICE_ID, pam_user);
	ck_assert_msg(r == PH_REFUSED, "%s: bad line granted %s (%s)", what, pam_user,
		      ph_result_name(r));
	snprintf(where, sizeof where, "%s:2", s.path);
	ck_assert_msg(unit_log_has(&s.log, where), "%s: \"%s\" not logged; log: %s", what, where,
		      unit_log_all(&s.log));
	ck_assert_msg(unit_log_count(&s.log, LOG_WARNING) >= 1, "%s: not logged at LOG_WARNING",
		      what);

	/* the later valid line still applies */
	r = scan_run(&s, BOB_ID, "alice");
	ck_assert_msg(r == PH_OK, "%s: later line ignored (%s)", what, ph_result_name(r));
	ck_assert_uint_eq(s.outcome.matched_line, 3);

	/* validation counts it */
	r = scan_run(&s, NULL, "alice");
	ck_assert_msg(r == PH_OK, "%s: validate: %s", what, ph_result_name(r));
	ck_assert_msg(s.outcome.bad_lines == 1, "%s: bad_lines %u, want 1", what,
		      s.outcome.bad_lines);
	unit_rmtree(s.dir);
}

/* ------------------------------------------------------------------------ */

START_TEST(test_example_file)
{
	assert_grants(EXAMPLE, ALICE_ID, "alice", 2, "alice");
	assert_grants(EXAMPLE, BOB_ID, "bob", 3, "bob");
	assert_grants(EXAMPLE, BOB_ID, "carol", 3, "carol");
	assert_grants(EXAMPLE, ANY_ID, "alice", 4, "star alice");
	assert_grants(EXAMPLE, ANY_ID, "root", 4, "star root");
	assert_grants(EXAMPLE, ANY_ID, "x", 4, "star x");
}
END_TEST

START_TEST(test_example_denies)
{
	assert_denies(EXAMPLE, ALICE_ID, "bob", "alice as bob");
	assert_denies(EXAMPLE, ALICE_ID, "root", "alice as root");
	assert_denies(EXAMPLE, BOB_ID, "alice", "bob as alice");
	assert_denies(EXAMPLE, STRANGER_ID, "alice", "stranger");
	assert_denies(EXAMPLE, "01234567-89ab-cdef-0123-456789abcdee", "alice", "near id");
}
END_TEST

START_TEST(test_case_insensitive_id)
{
	const char *upper_file = "01234567-89AB-CDEF-0123-456789ABCDEF alice\n";

	assert_grants(upper_file, ALICE_ID, "alice", 1, "upper in file");
	assert_grants(EXAMPLE, "01234567-89AB-CDEF-0123-456789ABCDEF", "alice", 2, "upper query");
	assert_grants("01234567-89Ab-cDeF-0123-456789aBcDeF alice\n",
		      "01234567-89aB-CdEf-0123-456789AbCdEf", "alice", 1, "mixed both");
}
END_TEST

START_TEST(test_account_list_exact)
{
	const char *f = BOB_ID " bob,carol\n";

	assert_grants(f, BOB_ID, "bob", 1, "bob");
	assert_grants(f, BOB_ID, "carol", 1, "carol");
	assert_denies(f, BOB_ID, "bo", "prefix bo");
	assert_denies(f, BOB_ID, "ob", "suffix ob");
	assert_denies(f, BOB_ID, "carolx", "carolx");
	assert_denies(f, BOB_ID, "xcarol", "xcarol");
	assert_denies(f, BOB_ID, "bob,carol", "whole list");
	assert_denies(f, BOB_ID, "", "empty account");
	assert_denies(f, BOB_ID, "Bob", "account case");
	assert_denies(f, BOB_ID, "*", "literal star account");
}
END_TEST

START_TEST(test_blanks_around_commas)
{
	assert_grants(BOB_ID " bob, carol\n", BOB_ID, "carol", 1, "blank after comma");
	assert_grants(BOB_ID " bob, carol\n", BOB_ID, "bob", 1, "blank after comma, first");
	assert_grants(BOB_ID " bob ,carol\n", BOB_ID, "bob", 1, "blank before comma");
	assert_grants(BOB_ID " bob , carol\n", BOB_ID, "carol", 1, "blanks both sides");
	assert_grants(BOB_ID "\tbob,\tcarol\n", BOB_ID, "carol", 1, "tabs");
	assert_denies(BOB_ID " bob, carol\n", BOB_ID, " carol", "blank kept in name");
}
END_TEST

START_TEST(test_star)
{
	assert_grants(ANY_ID " *\n", ANY_ID, "anyone", 1, "star");
	assert_grants(ANY_ID " *  # everyone\n", ANY_ID, "root", 1, "star with comment");
	assert_denies(ANY_ID " *\n", ALICE_ID, "anyone", "star is for its id only");
	/* '*' is a wildcard only on its own: "*alice" or "al*" is no pattern */
	assert_denies(ANY_ID " *alice\n", ANY_ID, "alice", "star glued to a name");
	assert_denies(ANY_ID " *alice\n", ANY_ID, "bob", "star glued, other name");
	assert_denies(ANY_ID " al*\n", ANY_ID, "alice", "trailing star");
	assert_denies(ANY_ID " \"*\"\n", ANY_ID, "alice", "quoted star");
}
END_TEST

START_TEST(test_endings)
{
	assert_grants(ALICE_ID " alice\r\n", ALICE_ID, "alice", 1, "CRLF");
	assert_grants("# c\r\n" ALICE_ID " alice\r\n" BOB_ID " bob\r\n", BOB_ID, "bob", 3,
		      "CRLF lines counted");
	assert_grants(ALICE_ID " alice   \t\n", ALICE_ID, "alice", 1, "trailing blanks");
	assert_grants(ALICE_ID " alice \t \r\n", ALICE_ID, "alice", 1, "blanks then CRLF");
	assert_grants(ALICE_ID " alice # the admin\n", ALICE_ID, "alice", 1, "comment");
	assert_grants(BOB_ID " bob,carol   # two\n", BOB_ID, "carol", 1, "comment after list");
	assert_grants(ALICE_ID " alice # x\r\n", ALICE_ID, "alice", 1, "comment then CRLF");
	assert_grants(ALICE_ID " alice", ALICE_ID, "alice", 1, "no final newline");
	assert_grants("\n\n" ALICE_ID " alice", ALICE_ID, "alice", 3, "no final newline, line 3");
	assert_grants(ALICE_ID "\talice\n", ALICE_ID, "alice", 1, "tab separator");
	assert_grants(ALICE_ID "            alice\n", ALICE_ID, "alice", 1, "many blanks");
}
END_TEST

START_TEST(test_comments_and_blanks_not_bad)
{
	struct scan s;
	const char *text =
		"# comment\n"
		"\n"
		"   \n"
		"\t\n"
		"   # indented comment\n"
		"#" ALICE_ID " root\n"
		"\r\n"
		ALICE_ID " alice\n"
		"# trailing comment";

	ck_assert_int_eq(scan_text(&s, text, NULL, "alice"), PH_OK);
	ck_assert_msg(s.outcome.bad_lines == 0, "bad_lines %u; log: %s", s.outcome.bad_lines,
		      unit_log_all(&s.log));
	ck_assert_uint_eq(unit_log_count(&s.log, LOG_WARNING), 0);

	ck_assert_int_eq(scan_run(&s, ALICE_ID, "alice"), PH_OK);
	ck_assert_uint_eq(s.outcome.matched_line, 8);
	ck_assert_int_eq(scan_run(&s, ALICE_ID, "root"), PH_REFUSED);
	unit_rmtree(s.dir);
}
END_TEST

START_TEST(test_later_line_same_id)
{
	const char *f = ALICE_ID " alice\n" ALICE_ID " bob\n";

	assert_grants(f, ALICE_ID, "alice", 1, "first line");
	assert_grants(f, ALICE_ID, "bob", 2, "second line");
}
END_TEST

START_TEST(test_empty_file_refused)
{
	assert_denies("", ALICE_ID, "alice", "empty file");
	assert_denies("# only a comment\n\n", ALICE_ID, "alice", "comments only");
}
END_TEST

/* ------------------------------------------------------------------------
 * Malformed lines: each grants nothing, is logged with path:line, and the
 * lines after it still apply.
 */

struct bad_case {
	const char *name;
	const char *line;
	const char *pam_user;
};

static const struct bad_case bad_cases[] = {
	{ "id alone", ALICE_ID, "alice" },
	{ "id and blanks", ALICE_ID "   ", "alice" },
	{ "id and comment", ALICE_ID " # alice", "alice" },
	{ "garbage", "hello world", "world" },
	{ "account then id", "alice " ALICE_ID, "alice" },
	{ "id glued to account", ALICE_ID "alice", "alice" },
	{ "id 35 chars", "01234567-89ab-cdef-0123-456789abcde alice", "alice" },
	{ "id 37 chars", ALICE_ID "0 alice", "alice" },
	{ "id non-hex", "01234567-89ab-cdef-0123-456789abcdeg alice", "alice" },
	{ "id dashes moved", "0123456-789ab-cdef-0123-456789abcdef alice", "alice" },
	{ "id braces", "{" ALICE_ID "} alice", "alice" },
	{ "id no dashes", "0123456789abcdef0123456789abcdef alice", "alice" },
	{ "alice,star", ALICE_ID " alice,*", "alice" },
	{ "alice,star other", ALICE_ID " alice,*", "root" },
	{ "star,alice", ALICE_ID " *,alice", "alice" },
	{ "star star", ALICE_ID " *,*", "alice" },
	{ "accounts separated by blank", ALICE_ID " alice bob", "alice" },
	{ "accounts separated by blank, second", ALICE_ID " alice bob", "bob" },
	{ "empty item", ALICE_ID " alice,,bob", "alice" },
	{ "trailing comma", ALICE_ID " alice,", "alice" },
	{ "leading comma", ALICE_ID " ,alice", "alice" },
	{ "control char in account", ALICE_ID " ali\x01" "ce", "ali\x01" "ce" },
	{ "escape in account", ALICE_ID " \x1b[31malice", "\x1b[31malice" },
	{ "DEL in account", ALICE_ID " alice\x7f", "alice\x7f" },
	{ "vertical tab in account", ALICE_ID " ali\x0b" "ce", "ali\x0b" "ce" },
	{ "bare CR in line", ALICE_ID " ali\rce", "ali\rce" },
};

START_TEST(test_bad_line)
{
	const struct bad_case *c = &bad_cases[_i];

	assert_bad_line(c->line, c->pam_user, c->name);
}
END_TEST

START_TEST(test_account_length)
{
	char name[300];
	char line[400];

	memset(name, 'a', sizeof name);
	name[256] = '\0';
	snprintf(line, sizeof line, ALICE_ID " %s\n", name);
	assert_grants(line, ALICE_ID, name, 1, "256-byte account");

	name[256] = 'a';
	name[257] = '\0';
	snprintf(line, sizeof line, ALICE_ID " %s", name);
	assert_bad_line(line, name, "257-byte account");

	name[257] = 'a';
	name[299] = '\0';
	snprintf(line, sizeof line, ALICE_ID " bob,%s", name);
	assert_bad_line(line, "bob", "long account second in list");
}
END_TEST

START_TEST(test_nul_in_line)
{
	static const char text[] = "# h\n" ALICE_ID " ali\0ce\n" BOB_ID " bob\n";
	struct scan s;
	char where[PATH_MAX + 16];

	scan_file(&s, text, sizeof text - 1);
	ck_assert_int_eq(scan_run(&s, ALICE_ID, "ali"), PH_REFUSED);
	ck_assert_int_eq(scan_run(&s, ALICE_ID, "alice"), PH_REFUSED);
	snprintf(where, sizeof where, "%s:2", s.path);
	ck_assert_msg(unit_log_has(&s.log, where), "log: %s", unit_log_all(&s.log));
	ck_assert_int_eq(scan_run(&s, BOB_ID, "bob"), PH_OK);
	ck_assert_uint_eq(s.outcome.matched_line, 3);
	unit_rmtree(s.dir);
}
END_TEST

START_TEST(test_validate_counts_bad_lines)
{
	struct scan s;
	const char *text =
		"# header\n"
		ALICE_ID "\n"                       /* 2: id alone */
		"garbage\n"                         /* 3 */
		BOB_ID " bob,carol\n"               /* 4: fine */
		"alice " ALICE_ID "\n"              /* 5: account then id */
		ANY_ID " alice,*\n"                 /* 6: star in list */
		"\n"
		ANY_ID " *\n";                      /* 8: fine */
	char where[PATH_MAX + 16];

	ck_assert_int_eq(scan_text(&s, text, NULL, "alice"), PH_OK);
	ck_assert_msg(s.outcome.bad_lines == 4, "bad_lines %u, log: %s", s.outcome.bad_lines,
		      unit_log_all(&s.log));
	ck_assert_uint_eq(s.outcome.matched_line, 0);
	ck_assert_uint_eq(unit_log_count(&s.log, LOG_WARNING), 4);
	for (int line = 2; line <= 6; line++) {
		snprintf(where, sizeof where, "%s:%d", s.path, line);
		if (line == 4)
			continue;
		ck_assert_msg(unit_log_has(&s.log, where), "\"%s\" not logged; log: %s", where,
			      unit_log_all(&s.log));
	}
	/* validating a clean file */
	unit_rmtree(s.dir);
	ck_assert_int_eq(scan_text(&s, EXAMPLE, NULL, "alice"), PH_OK);
	ck_assert_uint_eq(s.outcome.bad_lines, 0);
	ck_assert_uint_eq(unit_log_count(&s.log, LOG_WARNING), 0);
	unit_rmtree(s.dir);
}
END_TEST

/* ------------------------------------------------------------------------
 * The file itself.
 */

START_TEST(test_missing_file)
{
	struct scan s;

	unit_tmpdir(s.dir);
	unit_path(s.path, s.dir, "absent.allow");
	ck_assert_int_eq(scan_run(&s, ALICE_ID, "alice"), PH_MISCONFIGURED);
	ck_assert(s.reason[0] != '\0');
	ck_assert_int_eq(scan_run(&s, NULL, "alice"), PH_MISCONFIGURED);
	unit_rmtree(s.dir);
}
END_TEST

START_TEST(test_unsafe_file)
{
	static const mode_t modes[] = { 0666, 0664, 0646, 0620 };

	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		struct scan s;

		scan_file(&s, EXAMPLE, strlen(EXAMPLE));
		ck_assert_int_eq(chmod(s.path, modes[i]), 0);
		ck_assert_msg(scan_run(&s, ALICE_ID, "alice") == PH_MISCONFIGURED,
			      "mode %04o: %s", (unsigned)modes[i], ph_result_name(s.result));
		ck_assert(s.reason[0] != '\0');
		unit_rmtree(s.dir);
	}
}
END_TEST

START_TEST(test_not_regular_file)
{
	struct scan s;

	unit_tmpdir(s.dir);
	snprintf(s.path, sizeof s.path, "%s", s.dir);
	ck_assert_int_eq(chmod(s.dir, 0755), 0);
	ck_assert_int_eq(scan_run(&s, ALICE_ID, "alice"), PH_MISCONFIGURED);
	ck_assert(s.reason[0] != '\0');

	unit_path(s.path, s.dir, "fifo");
	ck_assert_int_eq(mkfifo(s.path, 0644), 0);
	ck_assert_int_eq(scan_run(&s, ALICE_ID, "alice"), PH_MISCONFIGURED);
	ck_assert(s.reason[0] != '\0');
	unit_rmtree(s.dir);
}
END_TEST

START_TEST(test_private_file_ok)
{
	struct scan s;

	scan_file(&s, EXAMPLE, strlen(EXAMPLE));
	ck_assert_int_eq(chmod(s.path, 0600), 0);
	ck_assert_int_eq(scan_run(&s, ALICE_ID, "alice"), PH_OK);
	unit_rmtree(s.dir);
}
END_TEST

START_TEST(test_other_owner)
{
	struct scan s;

	scan_file(&s, EXAMPLE, strlen(EXAMPLE));
	ck_assert_int_eq(chown(s.path, unit_other_uid(), (gid_t)-1), 0);
	ck_assert_int_eq(scan_run(&s, ALICE_ID, "alice"), PH_MISCONFIGURED);
	ck_assert(s.reason[0] != '\0');
	unit_rmtree(s.dir);
}
END_TEST

/* ------------------------------------------------------------------------
 * A large allowlist: one million lines, the match on the last.
 */

START_TEST(test_million_lines)
{
	enum { LINES = 1000000 };
	struct scan s;
	char path[PATH_MAX];
	FILE *f;

	unit_tmpdir(s.dir);
	unit_path(path, s.dir, "big.allow");
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	setvbuf(f, NULL, _IOFBF, 1 << 20);
	for (unsigned i = 1; i < LINES; i++)
		fprintf(f, "%08x-0000-4000-8000-%012x user%u\n", i, i, i);
	fputs(ALICE_ID " alice\n", f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, 0644), 0);
	snprintf(s.path, sizeof s.path, "%s", path);

	/* Correctness only: how fast this is, is measured by tests/bench/run. */
	ck_assert_int_eq(scan_run(&s, ALICE_ID, "alice"), PH_OK);
	ck_assert_uint_eq(s.outcome.matched_line, LINES);

	ck_assert_int_eq(scan_run(&s, STRANGER_ID, "alice"), PH_REFUSED);
	ck_assert_int_eq(scan_run(&s, NULL, "alice"), PH_OK);
	ck_assert_uint_eq(s.outcome.bad_lines, 0);
	unit_rmtree(s.dir);
}
END_TEST

/* A CR counts only as the end of a CRLF line, not as a blank inside it. */
START_TEST(test_cr_inside_account_list)
{
	struct scan s;

	ck_assert_int_eq(scan_text(&s, ALICE_ID " bob\r,carol\r\n", ALICE_ID, "bob"), PH_REFUSED);
	ck_assert_uint_eq(s.outcome.bad_lines, 1);
	ck_assert_int_eq(scan_text(&s, ALICE_ID " bob,carol\r\n", ALICE_ID, "bob"), PH_OK);
	ck_assert_uint_eq(s.outcome.bad_lines, 0);
	unit_rmtree(s.dir);
}
END_TEST

/*
 * only_grants (the account phase): the same verdict and line as a full scan,
 * but lines that cannot name the id are neither judged nor reported.
 */
START_TEST(test_only_grants)
{
	static const char text[] =
		"garbage line\n"
		BOB_ID "\n"
		ALICE_ID " bob\n"
		ALICE_ID " alice,*\n"
		ALICE_ID " alice\n";
	struct allowlist_query q = { .user_id = ALICE_ID, .pam_user = "alice", .only_grants = true };
	struct scan s;

	scan_file(&s, text, strlen(text));
	unit_log_init(&s.log);
	ck_assert_int_eq(allowlist_scan(s.path, &q, &s.log.sink, &s.outcome, s.reason), PH_OK);
	ck_assert_uint_eq(s.outcome.matched_line, 5);
	/* Only the malformed line naming alice's id was judged, so only it counts. */
	ck_assert_uint_eq(s.outcome.bad_lines, 1);
	q.pam_user = "carol";
	ck_assert_int_eq(allowlist_scan(s.path, &q, &s.log.sink, &s.outcome, s.reason), PH_REFUSED);
	q.user_id = BOB_ID;
	q.pam_user = "bob";
	ck_assert_int_eq(allowlist_scan(s.path, &q, &s.log.sink, &s.outcome, s.reason), PH_REFUSED);
	ck_assert_uint_eq(s.outcome.bad_lines, 1);
	unit_rmtree(s.dir);
}
END_TEST

/*
 * any_id (the check before anything is sent): could any well-formed line
 * grant this account, whatever the Heroku id?  Every malformed line is
 * reported, as by a full scan.
 */
START_TEST(test_any_id)
{
	static const char named[] =
		"garbage line\n"
		BOB_ID "\n"
		ALICE_ID " alice,*\n"          /* malformed: grants nobody */
		BOB_ID " bob,carol\n";
	static const char star[] = ALICE_ID " alice\n" BOB_ID " *\n";
	struct allowlist_query q = { .pam_user = "carol", .any_id = true };
	struct scan s;

	scan_file(&s, named, strlen(named));
	unit_log_init(&s.log);
	ck_assert_int_eq(allowlist_scan(s.path, &q, &s.log.sink, &s.outcome, s.reason), PH_OK);
	ck_assert_uint_eq(s.outcome.matched_line, 4);
	ck_assert_uint_eq(s.outcome.bad_lines, 3);
	ck_assert_uint_eq(unit_log_count(&s.log, LOG_WARNING), 3);
	q.pam_user = "alice";           /* only the malformed line names alice */
	ck_assert_int_eq(allowlist_scan(s.path, &q, &s.log.sink, &s.outcome, s.reason),
			 PH_REFUSED);
	ck_assert_msg(strstr(s.reason, "could grant this account") != NULL, "%s", s.reason);
	q.pam_user = "mallory";
	ck_assert_int_eq(allowlist_scan(s.path, &q, &s.log.sink, &s.outcome, s.reason),
			 PH_REFUSED);
	unit_rmtree(s.dir);

	scan_file(&s, star, strlen(star));
	q.pam_user = "mallory";         /* '*' can grant anyone */
	ck_assert_int_eq(allowlist_scan(s.path, &q, &s.log.sink, &s.outcome, s.reason), PH_OK);
	ck_assert_uint_eq(s.outcome.matched_line, 2);
	unit_rmtree(s.dir);
}
END_TEST

/* each_account: the names of well-formed lines, joined with '|'. */
static void collect_account(void *ctx, const char *name, size_t len)
{
	char *names = ctx;
	size_t used = strlen(names);

	snprintf(names + used, 256 - used, "%s%.*s", used ? "|" : "", (int)len, name);
}

/*
 * Whom the file grants (pam_heroku_check's summary): well-formed lines
 * counted as naming accounts or '*', and each name of those lines handed
 * to the caller as written; malformed, blank and comment lines not at all.
 */
START_TEST(test_grant_counts)
{
	static const char text[] =
		"# comment\n"
		"\n"
		ALICE_ID "  carol , alice  # trailing comment\n"
		BOB_ID "  bob\n"
		ANY_ID "  *\n"
		"not-a-uuid  mallory\n"
		STRANGER_ID "  eve,,x\n"
		ALICE_ID "\n";
	char names[256] = "";
	struct allowlist_query q = { .each_account = collect_account, .each_account_ctx = names };
	struct scan s;

	scan_file(&s, text, strlen(text));
	unit_log_init(&s.log);
	ck_assert_int_eq(allowlist_scan(s.path, &q, &s.log.sink, &s.outcome, s.reason), PH_OK);
	ck_assert_uint_eq(s.outcome.named_lines, 2);
	ck_assert_uint_eq(s.outcome.any_lines, 1);
	ck_assert_uint_eq(s.outcome.bad_lines, 3);
	ck_assert_str_eq(names, "carol|alice|bob");
	unit_rmtree(s.dir);

	scan_file(&s, "# nothing but comments\n\n", strlen("# nothing but comments\n\n"));
	names[0] = '\0';
	ck_assert_int_eq(allowlist_scan(s.path, &q, &s.log.sink, &s.outcome, s.reason), PH_OK);
	ck_assert_uint_eq(s.outcome.named_lines + s.outcome.any_lines, 0);
	ck_assert_uint_eq(s.outcome.bad_lines, 0);
	ck_assert_str_eq(names, "");
	unit_rmtree(s.dir);
}
END_TEST

/* each_account: the index N of each well-formed line "ID aN", as a flag. */
static void mark_account(void *ctx, const char *name, size_t len)
{
	unsigned char *accepted = ctx;
	char digits[16];
	size_t n = len - 1 < sizeof digits - 1 ? len - 1 : sizeof digits - 1;

	memcpy(digits, name + 1, n);
	digits[n] = '\0';
	accepted[strtoul(digits, NULL, 10)] = 1;
}

/*
 * The id check (done 16 bytes at a time) accepts exactly what
 * uuid_is_valid accepts: every byte value at every position of
 * an id, one line each, on the plain path ("ID aN") and, with a trailing
 * comment, on the full judgement's.
 */
START_TEST(test_uuid_every_byte)
{
	enum { LINES = UUID_LEN * 256 };
	static unsigned char accepted[LINES];
	static char text[LINES * 64];
	const char *suffix[] = { "\n", " # comment\n" };

	for (size_t form = 0; form < 2; form++) {
		struct allowlist_query q = { .each_account = mark_account,
					     .each_account_ctx = accepted };
		size_t used = 0;
		struct scan s;

		for (unsigned i = 0; i < LINES; i++) {
			char id[UUID_LEN + 1] = ALICE_ID;

			id[i / 256] = (char)(i % 256);
			if (id[i / 256] == '\n')
				id[i / 256] = '\r';    /* one line each; CR is no id byte either */
			memcpy(text + used, id, UUID_LEN);
			used += UUID_LEN;
			used += (size_t)sprintf(text + used, "    a%u%s", i, suffix[form]);
		}
		memset(accepted, 0, sizeof accepted);
		scan_file(&s, text, used);
		unit_log_init(&s.log);
		ck_assert_int_eq(allowlist_scan(s.path, &q, &s.log.sink, &s.outcome, s.reason),
				 PH_OK);
		for (unsigned i = 0; i < LINES; i++) {
			char id[UUID_LEN + 1] = ALICE_ID;

			id[i / 256] = (char)(i % 256);
			if (id[i / 256] == '\n')
				id[i / 256] = '\r';
			ck_assert_msg(accepted[i] == uuid_is_valid(id, UUID_LEN),
				      "byte 0x%02x at %u: accepted %d", i % 256, i / 256, accepted[i]);
		}
		unit_rmtree(s.dir);
	}
}
END_TEST

/*
 * Lines next to the plain form (an id, blanks, one name, a newline) are
 * judged as they always were: the verdict, the count and the report of each.
 */
START_TEST(test_plain_form_neighbours)
{
	static const struct {
		const char *line;
		enum ph_result alice;   /* ALICE_ID as alice */
		unsigned bad;
	} cases[] = {
		{ ALICE_ID " alice\n", PH_OK, 0 },
		{ ALICE_ID "\talice\n", PH_OK, 0 },
		{ ALICE_ID " \t  \t alice\n", PH_OK, 0 },
		{ ALICE_ID "alice\n", PH_REFUSED, 1 },                 /* no blank */
		{ "01234567-89AB-CDEF-0123-456789ABCDEF alice\n", PH_OK, 0 },
		{ ALICE_ID " alice \n", PH_OK, 0 },                    /* trailing blank */
		{ ALICE_ID " alice\r\n", PH_OK, 0 },                   /* CRLF */
		{ ALICE_ID " alice#x\n", PH_OK, 0 },                   /* comment */
		{ ALICE_ID " alicex\n", PH_REFUSED, 0 },
		{ ALICE_ID " alic\n", PH_REFUSED, 0 },
		{ ALICE_ID " alice,bob\n", PH_OK, 0 },
		{ ALICE_ID " *\n", PH_OK, 0 },
		{ ALICE_ID " a*b\n", PH_REFUSED, 0 },                  /* a name with '*' */
		{ ALICE_ID " ali\x7f" "ce\n", PH_REFUSED, 1 },
		{ ALICE_ID " ali\x80" "ce\n", PH_REFUSED, 0 },        /* not printable ASCII: yet an account */
		{ ALICE_ID " alice,\n", PH_REFUSED, 1 },
		{ ALICE_ID " \n", PH_REFUSED, 1 },
		{ ALICE_ID "\n", PH_REFUSED, 1 },
		{ " " ALICE_ID " alice\n", PH_OK, 0 },                 /* leading blank */
		{ ALICE_ID " alice", PH_OK, 0 },                        /* no newline at the end */
		{ ALICE_ID " " "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		  PH_REFUSED, 1 },                                      /* a 257-byte name */
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char text[1024];
		struct scan s;

		/* After a plain line, and before one, so that 16 bytes follow the id. */
		snprintf(text, sizeof text, BOB_ID " bob\n%s", cases[i].line);
		if (strchr(cases[i].line, '\n') != NULL)
			strcat(text, ANY_ID " carol\n");
		ck_assert_msg(scan_text(&s, text, ALICE_ID, "alice") == cases[i].alice,
			      "case %zu: %s (%s)", i, ph_result_name(s.result), s.reason);
		ck_assert_msg(s.outcome.bad_lines == cases[i].bad, "case %zu: %u bad lines", i,
			      s.outcome.bad_lines);
		ck_assert_uint_eq(s.log.count, cases[i].bad);
		if (cases[i].alice == PH_OK)
			ck_assert_uint_eq(s.outcome.matched_line, 2);
		unit_rmtree(s.dir);
	}
}
END_TEST

/* each_account: the length of each name, in file order. */
struct name_lengths {
	size_t count;
	size_t len[2048];
};

static void record_length(void *ctx, const char *name, size_t len)
{
	struct name_lengths *seen = ctx;

	(void)name;
	if (seen->count < sizeof seen->len / sizeof seen->len[0])
		seen->len[seen->count++] = len;
}

/*
 * The plain form is judged from masks of the 32 bytes after the id: every
 * run of blanks and every name length around 16 and 32 bytes gives the
 * name and the verdict the full judgement gives.
 */
START_TEST(test_plain_tail_lengths)
{
	static char text[2000 * 100];
	static struct name_lengths seen;
	struct allowlist_query q = { .each_account = record_length, .each_account_ctx = &seen };
	size_t used = 0, good = 0;
	struct scan s;

	for (int blanks = 1; blanks <= 20; blanks++)
		for (int len = 1; len <= 40; len++)
			for (int bad = 0; bad <= 1; bad++)
				used += (size_t)sprintf(text + used, ALICE_ID "%*s%.*s%s\n", blanks, "",
							len, "abcdefghijklmnopqrstuvwxyz0123456789-._~",
							bad ? "," : "");
	memset(&seen, 0, sizeof seen);
	scan_file(&s, text, used);
	unit_log_init(&s.log);
	ck_assert_int_eq(allowlist_scan(s.path, &q, &s.log.sink, &s.outcome, s.reason), PH_OK);
	ck_assert_uint_eq(s.outcome.named_lines, 20 * 40);
	ck_assert_uint_eq(s.outcome.bad_lines, 20 * 40);
	ck_assert_uint_eq(seen.count, 20 * 40);
	for (int blanks = 1; blanks <= 20; blanks++)
		for (int len = 1; len <= 40; len++, good++)
			ck_assert_msg(seen.len[good] == (size_t)len, "%d blanks, %d bytes: %zu",
				      blanks, len, seen.len[good]);
	unit_rmtree(s.dir);
}
END_TEST

/* The lines an any_id scan keeps decide once the API named the user. */
START_TEST(test_candidates_decide)
{
	static const char text[] =
		"garbage line\n"
		ALICE_ID " alice\n"
		BOB_ID " bob\n"
		BOB_ID " alice,carol\n";
	struct allowlist_query q = { .pam_user = "alice", .any_id = true };
	unsigned line = 99;
	struct scan s;
	char many[64 * 1024] = "";

	scan_file(&s, text, strlen(text));
	unit_log_init(&s.log);
	ck_assert_int_eq(allowlist_scan(s.path, &q, &s.log.sink, &s.outcome, s.reason), PH_OK);
	ck_assert_uint_eq(s.outcome.candidates, 2);
	ck_assert(allowlist_candidates_decide(&s.outcome, ALICE_ID, &line));
	ck_assert_uint_eq(line, 2);
	ck_assert(allowlist_candidates_decide(&s.outcome, BOB_ID, &line));
	ck_assert_uint_eq(line, 4);
	ck_assert(allowlist_candidates_decide(&s.outcome, "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee", &line));
	ck_assert_uint_eq(line, 0);
	ck_assert(allowlist_candidates_decide(&s.outcome, "not-a-uuid", &line));
	ck_assert_uint_eq(line, 0);
	unit_rmtree(s.dir);

	/* More lines able to grant than are kept: the caller must scan again. */
	for (int i = 0; i <= ALLOWLIST_CANDIDATES_MAX; i++)
		strcat(many, BOB_ID " *\n");
	strcat(many, ALICE_ID " alice\n");
	scan_file(&s, many, strlen(many));
	ck_assert_int_eq(allowlist_scan(s.path, &q, &s.log.sink, &s.outcome, s.reason), PH_OK);
	ck_assert_uint_eq(s.outcome.candidates, ALLOWLIST_CANDIDATES_MAX + 2);
	ck_assert(!allowlist_candidates_decide(&s.outcome, ALICE_ID, &line));
	unit_rmtree(s.dir);
}
END_TEST

/*
 * allowlist_unchanged (the account phase): the file a scan read, until it
 * is edited (mtime), replaced (inode), grown (size), or made unsafe.
 */
START_TEST(test_unchanged_file)
{
	struct allowlist_query q = { .user_id = ALICE_ID, .pam_user = "alice" };
	struct timespec later[2] = { { .tv_nsec = UTIME_OMIT }, { 0 } };
	struct allowlist_file seen;
	char other[PATH_MAX];
	struct scan s;

	scan_file(&s, EXAMPLE, strlen(EXAMPLE));
	unit_log_init(&s.log);
	ck_assert_int_eq(allowlist_scan(s.path, &q, &s.log.sink, &s.outcome, s.reason), PH_OK);
	seen = s.outcome.file;
	ck_assert_int_eq(allowlist_unchanged(s.path, &seen, s.reason), PH_OK);

	/* The same bytes with another mtime. */
	later[1].tv_sec = seen.mtime.tv_sec + 1;
	later[1].tv_nsec = seen.mtime.tv_nsec;
	ck_assert_int_eq(utimensat(AT_FDCWD, s.path, later, 0), 0);
	ck_assert_int_eq(allowlist_unchanged(s.path, &seen, s.reason), PH_REFUSED);
	ck_assert_msg(strstr(s.reason, "was modified") != NULL, "%s", s.reason);

	/* Another file with the same bytes and mtime. */
	ck_assert_int_eq(allowlist_scan(s.path, &q, &s.log.sink, &s.outcome, s.reason), PH_OK);
	seen = s.outcome.file;
	unit_write_file(other, s.dir, "other.allow", EXAMPLE, strlen(EXAMPLE), 0644);
	later[1] = seen.mtime;
	ck_assert_int_eq(utimensat(AT_FDCWD, other, later, 0), 0);
	ck_assert_int_eq(rename(other, s.path), 0);
	ck_assert_int_eq(allowlist_unchanged(s.path, &seen, s.reason), PH_REFUSED);
	ck_assert_msg(strstr(s.reason, "another file") != NULL, "%s", s.reason);

	/* The same file made writable by others: no longer safe. */
	ck_assert_int_eq(allowlist_scan(s.path, &q, &s.log.sink, &s.outcome, s.reason), PH_OK);
	seen = s.outcome.file;
	ck_assert_int_eq(chmod(s.path, 0666), 0);
	ck_assert_int_eq(allowlist_unchanged(s.path, &seen, s.reason), PH_MISCONFIGURED);
	unit_rmtree(s.dir);
}
END_TEST

Suite *allowlist_suite(void)
{
	Suite *s = suite_create("allowlist");
	TCase *lines = tcase_create("lines");
	TCase *bad = tcase_create("malformed");
	TCase *file = tcase_create("file");
	TCase *big = tcase_create("large");

	tcase_add_test(lines, test_example_file);
	tcase_add_test(lines, test_cr_inside_account_list);
	tcase_add_test(lines, test_only_grants);
	tcase_add_test(lines, test_any_id);
	tcase_add_test(lines, test_candidates_decide);
	tcase_add_test(lines, test_grant_counts);
	tcase_add_test(lines, test_uuid_every_byte);
	tcase_add_test(lines, test_plain_form_neighbours);
	tcase_add_test(lines, test_plain_tail_lengths);
	tcase_add_test(file, test_unchanged_file);
	tcase_add_test(lines, test_example_denies);
	tcase_add_test(lines, test_case_insensitive_id);
	tcase_add_test(lines, test_account_list_exact);
	tcase_add_test(lines, test_blanks_around_commas);
	tcase_add_test(lines, test_star);
	tcase_add_test(lines, test_endings);
	tcase_add_test(lines, test_comments_and_blanks_not_bad);
	tcase_add_test(lines, test_later_line_same_id);
	tcase_add_test(lines, test_empty_file_refused);
	suite_add_tcase(s, lines);

	tcase_add_loop_test(bad, test_bad_line, 0, (int)(sizeof bad_cases / sizeof bad_cases[0]));
	tcase_add_test(bad, test_account_length);
	tcase_add_test(bad, test_nul_in_line);
	tcase_add_test(bad, test_validate_counts_bad_lines);
	suite_add_tcase(s, bad);

	tcase_add_test(file, test_missing_file);
	tcase_add_test(file, test_unsafe_file);
	tcase_add_test(file, test_not_regular_file);
	tcase_add_test(file, test_private_file_ok);
	unit_add_root_test(file, test_other_owner);
	suite_add_tcase(s, file);

	tcase_add_test(big, test_million_lines);
	tcase_set_timeout(big, 60);
	suite_add_tcase(s, big);
	return s;
}
