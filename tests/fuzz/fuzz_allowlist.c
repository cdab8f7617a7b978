/*
 * fuzz_allowlist.c - libFuzzer target: the allowlist file.
 *
 * Input: the whole file.  It is written to an in-memory file (mode 0644,
 * owned by the fuzzer's euid, so safe_file accepts it) and scanned with
 * allowlist_scan for a few queries: validation only (no user id), and three
 * (Heroku user id, account) pairs that the seed corpus and the dictionary
 * mention.
 *
 * Besides memory errors: validation always succeeds on a safe file; every
 * query counts the same malformed lines; the log is bounded (at most 20
 * lines plus one summary); and whenever a query is granted, the line that
 * granted it is checked independently: after its '#' comment, its first
 * field is the user id (any case) and the rest is '*' or a comma list with
 * the account in it.
 */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>
#include <strings.h>

#include "allowlist.h"
#include "fuzz_util.h"

/*
 * The reference: a second copy of the scan built without its plain path,
 * so that every line takes the full judgement.  The plain path must agree
 * with it on every input: same verdict, same line, same counts, same log.
 */
enum ph_result allowlist_scan_reference(const char *path, const struct allowlist_query *query,
					const struct ph_log *log,
					struct allowlist_outcome *outcome,
					char reason[PH_REASON_MAX]);
/* Every function allowlist.c exports gets another name in the copy. */
void allowlist_refusal_reference(const char *path, char reason[PH_REASON_MAX]);
bool allowlist_candidates_decide_reference(const struct allowlist_outcome *outcome,
					   const char *user_id, unsigned *matched_line);
enum ph_result allowlist_unchanged_reference(const char *path, const struct allowlist_file *file,
					     char reason[PH_REASON_MAX]);
#define ALLOWLIST_PLAIN_PATH 0
#define allowlist_scan allowlist_scan_reference
#define allowlist_refusal allowlist_refusal_reference
#define allowlist_candidates_decide allowlist_candidates_decide_reference
#define allowlist_unchanged allowlist_unchanged_reference
#include "allowlist.c"
#undef allowlist_scan
#undef allowlist_refusal
#undef allowlist_candidates_decide
#undef allowlist_unchanged

static const struct allowlist_query queries[] = {
	{ .user_id = NULL, .pam_user = NULL },
	{ .user_id = "01234567-89ab-cdef-0123-456789abcdef", .pam_user = "alice" },
	{ .user_id = "11111111-2222-4333-8444-555555555555", .pam_user = "bob" },
	{ .user_id = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee", .pam_user = "root" },
	/* the account phase's scan, which judges only lines naming the id */
	{ .user_id = "01234567-89ab-cdef-0123-456789abcdef", .pam_user = "alice",
	  .only_grants = true },
	{ .user_id = "11111111-2222-4333-8444-555555555555", .pam_user = "bob",
	  .only_grants = true },
};

static unsigned log_lines;

static void count_log(void *ctx, int priority, const char *message)
{
	(void)ctx;
	(void)priority;
	FUZZ_CHECK(message != NULL);
	log_lines++;
}

static bool is_blank_or_cr(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/*
 * Line number (1-based) of the input, without its comment, as a malloc'd
 * string; NULL when there is no such line.
 */
static char *nth_line(const uint8_t *data, size_t size, unsigned number)
{
	const uint8_t *start = data, *end = data + size;

	for (unsigned n = 1; n < number; n++) {
		const uint8_t *nl = memchr(start, '\n', (size_t)(end - start));

		if (nl == NULL)
			return NULL;
		start = nl + 1;
	}
	if (start > end || (start == end && number > 1 && start[-1] != '\n'))
		return NULL;
	{
		const uint8_t *nl = memchr(start, '\n', (size_t)(end - start));
		size_t len = (size_t)((nl ? nl : end) - start);
		const uint8_t *hash = memchr(start, '#', len);

		if (hash != NULL)
			len = (size_t)(hash - start);
		/* A NUL byte outside the comment can be no part of a granting line. */
		FUZZ_CHECK(memchr(start, '\0', len) == NULL);
		return fuzz_strndup(start, len);
	}
}

/* The matched line, read again without the module's code, grants the query. */
static void check_grant(const uint8_t *data, size_t size, unsigned number,
			const struct allowlist_query *q)
{
	char *line = nth_line(data, size, number);
	char *text, *end, *item;
	bool named = false;

	FUZZ_CHECK(line != NULL);
	text = line;
	while (*text == ' ' || *text == '\t')
		text++;
	FUZZ_CHECK(strncasecmp(text, q->user_id, 36) == 0);
	text += 36;
	FUZZ_CHECK(*text == ' ' || *text == '\t');
	end = text + strlen(text);
	while (end > text && is_blank_or_cr(end[-1]))
		*--end = '\0';
	while (*text == ' ' || *text == '\t')
		text++;
	if (strcmp(text, "*") == 0) {
		free(line);
		return;
	}
	for (item = strtok(text, ","); item != NULL; item = strtok(NULL, ",")) {
		while (is_blank_or_cr(*item))
			item++;
		end = item + strlen(item);
		while (end > item && is_blank_or_cr(end[-1]))
			*--end = '\0';
		FUZZ_CHECK(*item != '\0' && strcmp(item, "*") != 0);
		if (strcmp(item, q->pam_user) == 0)
			named = true;
	}
	FUZZ_CHECK(named);
	free(line);
}

/* The scan without the plain path agrees on everything it reports. */
static void check_reference(const struct fuzz_file *file, const struct allowlist_query *q,
			    enum ph_result result, const struct allowlist_outcome *outcome,
			    unsigned lines_logged)
{
	struct ph_log log = { count_log, NULL };
	struct allowlist_outcome reference;
	char reason[PH_REASON_MAX];
	unsigned saved = log_lines;

	log_lines = 0;
	FUZZ_CHECK(allowlist_scan_reference(file->path, q, &log, &reference, reason) == result);
	FUZZ_CHECK(memcmp(&reference, outcome, sizeof reference) == 0);
	FUZZ_CHECK(log_lines == lines_logged);
	log_lines = saved;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_file file = { .fd = -1 };
	struct ph_log log = { count_log, NULL };
	unsigned bad_lines = 0;

	if (file.fd < 0)
		fuzz_file_open(&file, "pam_heroku.allow", 0644);
	fuzz_file_write(&file, data, size);

	for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
		const struct allowlist_query *q = &queries[i];
		struct allowlist_outcome outcome;
		char reason[PH_REASON_MAX];
		enum ph_result result;

		log_lines = 0;
		result = allowlist_scan(file.path, q, &log, &outcome, reason);
		check_reference(&file, q, result, &outcome, log_lines);
		FUZZ_CHECK(log_lines <= 21);
		FUZZ_CHECK(log_lines == (outcome.bad_lines < 21 ? outcome.bad_lines : 21));
		if (i == 0) {
			FUZZ_CHECK(result == PH_OK);
			bad_lines = outcome.bad_lines;
			continue;
		}
		if (q->only_grants) {
			/* The same verdict and line as the full scan; fewer lines judged. */
			struct allowlist_query full = { .user_id = q->user_id, .pam_user = q->pam_user };
			struct allowlist_outcome full_outcome;

			FUZZ_CHECK(outcome.bad_lines <= bad_lines);
			FUZZ_CHECK(allowlist_scan(file.path, &full, &log, &full_outcome, reason) ==
				   result);
			FUZZ_CHECK(full_outcome.matched_line == outcome.matched_line);
		} else {
			FUZZ_CHECK(outcome.bad_lines == bad_lines);
		}
		FUZZ_CHECK(result == PH_OK || result == PH_REFUSED);
		FUZZ_CHECK((result == PH_OK) == (outcome.matched_line != 0));
		if (result == PH_OK)
			check_grant(data, size, outcome.matched_line, q);
	}
	return 0;
}
