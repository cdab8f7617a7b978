/*
 * allowlist.c - one pass over the allowlist, mapped in memory.
 *
 * A login reads the whole file once, line by line, straight out of the
 * mapping: no allocation and no copy per line, so a million-line allowlist
 * costs a scan, not a million mallocs.  Every line is judged even after a
 * match, so a malformed line is reported at every login, not only at the
 * logins that happen to reach it.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "allowlist.h"
#include "safe_file.h"
#include "token_response.h"

#define ALLOWLIST_ACCOUNT_MAX 256
#define ALLOWLIST_REPORTED_LINES_MAX 20  /* then one summary, so a broken file cannot flood syslog */

struct span {
	const char *start;
	const char *end;
};

static bool span_empty(struct span s)
{
	return s.start == s.end;
}

static size_t span_len(struct span s)
{
	return (size_t)(s.end - s.start);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static struct span span_trim(struct span s)
{
	while (s.start < s.end && is_blank(*s.start))
		s.start++;
	while (s.end > s.start && (is_blank(s.end[-1]) || s.end[-1] == '\r'))
		s.end--;
	return s;
}

/* The line without its "# comment" and surrounding blanks. */
static struct span strip_comment(struct span line)
{
	const char *hash = memchr(line.start, '#', span_len(line));

	if (hash != NULL)
		line.end = hash;
	return span_trim(line);
}

/* An account name: printable, no blank or comma, not too long. */
static bool is_account(struct span name)
{
	if (span_empty(name) || span_len(name) > ALLOWLIST_ACCOUNT_MAX)
		return false;
	for (const char *c = name.start; c < name.end; c++)
		if ((unsigned char)*c <= 0x20 || *c == 0x7f || *c == ',')
			return false;
	return true;
}

/*
 * Check the comma-separated account list; *grants says whether it names
 * pam_user (or is "*").  NULL when well formed, else why not.
 */
static const char *judge_accounts(struct span list, const char *pam_user, bool *grants)
{
	size_t user_len = pam_user ? strlen(pam_user) : 0;
	const char *item = list.start;

	*grants = false;
	if (span_len(list) == 1 && *list.start == '*') {
		*grants = true;
		return NULL;
	}
	for (;;) {
		const char *comma = memchr(item, ',', (size_t)(list.end - item));
		struct span name = span_trim((struct span){ item, comma ? comma : list.end });

		if (span_len(name) == 1 && *name.start == '*')
			return "'*' must stand alone, not in a list";
		if (!is_account(name))
			return "the account list has an empty or invalid name";
		if (pam_user != NULL && span_len(name) == user_len &&
		    memcmp(name.start, pam_user, user_len) == 0)
			*grants = true;
		if (comma == NULL)
			return NULL;
		item = comma + 1;
	}
}

/* UUIDs compare case-insensitively: Heroku's may come in either case. */
static bool id_matches(struct span id, const char *user_id)
{
	return user_id != NULL && strlen(user_id) == span_len(id) &&
	       strncasecmp(id.start, user_id, span_len(id)) == 0;
}

/*
 * Judge one line.  NULL when well formed (or blank/comment), else why it
 * grants nothing.  *grants says whether it grants the query.
 */
static const char *judge_line(struct span line, const struct allowlist_query *query,
			      bool *grants)
{
	struct span id, accounts;
	const char *why;

	*grants = false;
	line = strip_comment(line);
	if (span_empty(line))
		return NULL;
	id = (struct span){ line.start, line.start };
	while (id.end < line.end && !is_blank(*id.end))
		id.end++;
	if (!token_response_is_uuid(id.start, span_len(id)))
		return "the first field is not a Heroku user id (UUID)";
	accounts = span_trim((struct span){ id.end, line.end });
	if (span_empty(accounts))
		return "a user id with no account grants nothing";
	why = judge_accounts(accounts, query->pam_user, grants);
	if (why != NULL || !id_matches(id, query->user_id))
		*grants = false;
	return why;
}

static void report_bad_line(const char *path, unsigned number, const char *why,
			    const struct ph_log *log, unsigned bad_lines)
{
	if (bad_lines <= ALLOWLIST_REPORTED_LINES_MAX)
		ph_logf(log, LOG_WARNING, "%s:%u: line ignored, grants nothing: %s", path, number, why);
}

static void scan_text(const char *path, const char *text, size_t size,
		      const struct allowlist_query *query, const struct ph_log *log,
		      struct allowlist_outcome *outcome)
{
	const char *end = text + size;
	unsigned number = 0;

	for (const char *start = text; start < end;) {
		const char *newline = memchr(start, '\n', (size_t)(end - start));
		struct span line = { start, newline ? newline : end };
		bool grants;
		const char *why;

		number++;
		why = judge_line(line, query, &grants);
		if (why != NULL)
			report_bad_line(path, number, why, log, ++outcome->bad_lines);
		else if (grants && outcome->matched_line == 0)
			outcome->matched_line = number;
		start = newline ? newline + 1 : end;
	}
	if (outcome->bad_lines > ALLOWLIST_REPORTED_LINES_MAX)
		ph_logf(log, LOG_WARNING, "%s: %u more malformed lines not shown",
			path, outcome->bad_lines - ALLOWLIST_REPORTED_LINES_MAX);
}

enum ph_result allowlist_scan(const char *path, const struct allowlist_query *query,
			      const struct ph_log *log, struct allowlist_outcome *outcome,
			      char reason[PH_REASON_MAX])
{
	struct stat st;
	void *map = NULL;
	int fd;

	memset(outcome, 0, sizeof *outcome);
	fd = safe_file_open(path, SAFE_FILE_PUBLIC, reason);
	if (fd < 0)
		return PH_MISCONFIGURED;
	if (fstat(fd, &st) != 0) {
		snprintf(reason, PH_REASON_MAX, "cannot stat %s", path);
		close(fd);
		return PH_MISCONFIGURED;
	}
	if (st.st_size > 0) {
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			snprintf(reason, PH_REASON_MAX, "cannot map %s", path);
			close(fd);
			return PH_MISCONFIGURED;
		}
		scan_text(path, map, (size_t)st.st_size, query, log, outcome);
		munmap(map, (size_t)st.st_size);
	}
	close(fd);
	if (query->user_id == NULL)
		return PH_OK;
	if (outcome->matched_line == 0) {
		snprintf(reason, PH_REASON_MAX, "no line of %s grants this Heroku user this account",
			 path);
		return PH_REFUSED;
	}
	return PH_OK;
}
