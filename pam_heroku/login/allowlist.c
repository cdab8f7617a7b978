/*
 * allowlist.c - one pass over the allowlist, read in fixed-size chunks.
 *
 * A login reads the whole file once, line by line, through one 64 KiB
 * buffer: no allocation and no copy per line, so a million-line allowlist
 * costs a scan, not a million mallocs, and the memory it takes does not grow
 * with the file (only a single line longer than the buffer grows it).
 * read() rather than mmap(): on the machines measured (tests/bench,
 * BENCHMARKS.md) a fresh process scans a mapped file about half as fast,
 * paying a page fault and a TLB miss per page where read() copies from the
 * page cache into a buffer that stays in cache; and a file truncated while
 * mapped would kill the application (sshd) with SIGBUS.  Every line is
 * judged even after a match, so a malformed line is reported at every
 * login, not only at the logins that happen to reach it.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "allowlist.h"
#include "safe_file.h"
#include "token_response.h"

#define ALLOWLIST_ACCOUNT_MAX 256
#define ALLOWLIST_REPORTED_LINES_MAX 20  /* then one summary, so a broken file cannot flood syslog */
/* The fuzz target builds a copy without the plain path: a function this file
 * exports needs another name there too (tests/fuzz/fuzz_allowlist.c). */
#ifndef ALLOWLIST_PLAIN_PATH
#define ALLOWLIST_PLAIN_PATH 1
#endif
#ifndef ALLOWLIST_CHUNK                  /* a test build may make it tiny */
#define ALLOWLIST_CHUNK (64 * 1024)      /* read buffer; grows only for a longer line */
#endif

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

static inline struct span span_trim(struct span s)
{
	while (s.start < s.end && is_blank(*s.start))
		s.start++;
	while (s.end > s.start && is_blank(s.end[-1]))
		s.end--;
	return s;
}

/* The line without its CRLF's CR, its "# comment" and surrounding blanks. */
static struct span strip_comment(struct span line)
{
	const char *hash;
	size_t len = span_len(line);

	if (len > 0 && line.start[len - 1] == '\r')
		len--;          /* only at the end: a CR inside the line is no blank */
	line.end = line.start + len;
	hash = memchr(line.start, '#', len);
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
static const char *judge_accounts(struct span list, const char *pam_user, size_t user_len,
				  bool *grants)
{
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

/*
 * The UUID check runs on every line of the allowlist: 16 bytes at a time
 * (GCC's vector extension: SSE2 on x86-64, NEON on arm64), where
 * a byte at a time, or a call into the C library per byte, made it most of
 * a long allowlist's scan.  Each lane of a comparison is 0xff when true.
 */
typedef unsigned char bytes16 __attribute__((vector_size(16)));

static bytes16 load16(const char *p)
{
	bytes16 v;

	memcpy(&v, p, sizeof v);
	return v;
}

typedef signed char signed16 __attribute__((vector_size(16)));

/*
 * 0xff in each byte of v in [low, low + n): shifted so that the range
 * starts at -128, one signed comparison (SSE2 has no unsigned one).
 */
static bytes16 in_range(bytes16 v, unsigned char low, unsigned char n)
{
	return (bytes16)((signed16)(v + (unsigned char)(0x80 - low)) < (signed char)(n - 0x80));
}

/* 0xff in each byte of v that is what it must be: '-' where dashes has 0xff, else a hex digit. */
static bytes16 as_in_uuid(bytes16 v, bytes16 dashes)
{
	/* v | 0x20 maps A-F, and only A-F, onto a-f */
	bytes16 hex = in_range(v, '0', 10) | in_range(v | 0x20, 'a', 6);

	return (hex & ~dashes) | ((bytes16)(v == '-') & dashes);
}

#define ONES UINT64_C(0x0101010101010101)
#define HIGH UINT64_C(0x8080808080808080)

static uint64_t load64(const char *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof w);
	return w;
}

/*
 * The canonical 8-4-4-4-12 form (36 bytes at text), as
 * token_response_is_uuid: bytes 0-15 (dashes at 8 and 13), 16-31 (18 and
 * 23) and 20-35 (23).
 */
static bool is_uuid(const char *text)
{
	const unsigned char D = 0xff;
	const bytes16 dashes0 = { 0, 0, 0, 0, 0, 0, 0, 0, D, 0, 0, 0, 0, D, 0, 0 };
	const bytes16 dashes16 = { 0, 0, D, 0, 0, 0, 0, D, 0, 0, 0, 0, 0, 0, 0, 0 };
	const bytes16 dashes20 = { 0, 0, 0, D, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	bytes16 all = as_in_uuid(load16(text), dashes0) & as_in_uuid(load16(text + 16), dashes16) &
		      as_in_uuid(load16(text + 20), dashes20);
	uint64_t half[2];

	memcpy(half, &all, sizeof half);
	return (half[0] & half[1]) == UINT64_MAX;
}

/*
 * UUIDs compare case-insensitively: Heroku's may come in either case.  Both
 * sides are known UUIDs here (the wanted one is checked once per scan), and
 * on hex digits and '-' setting bit 0x20 is exactly tolower().
 */
static bool id_matches(const char *id, const char *wanted)
{
	if (wanted == NULL)
		return false;
	for (size_t i = 0; i < TOKEN_RESPONSE_UUID_LEN; i++)
		if ((id[i] | 0x20) != (wanted[i] | 0x20))
			return false;
	return true;
}

/*
 * Judge one line.  NULL when well formed (or blank/comment), else why it
 * grants nothing.  *grants says whether it grants the query; *accounts is
 * the line's account list (empty for a blank or comment line).
 */
static const char *judge_line(struct span line, const struct allowlist_query *query,
			      const char *wanted, size_t user_len, bool *grants,
			      struct span *accounts_out)
{
	struct span accounts;
	const char *id, *why;

	*grants = false;
	*accounts_out = (struct span){ line.start, line.start };
	line = strip_comment(line);
	if (span_empty(line))
		return NULL;
	/*
	 * The first field (up to the first blank) must be a UUID: exactly 36
	 * characters, none of them blank, followed by a blank or the end.
	 */
	id = line.start;
	if (span_len(line) < TOKEN_RESPONSE_UUID_LEN ||
	    (span_len(line) > TOKEN_RESPONSE_UUID_LEN && !is_blank(id[TOKEN_RESPONSE_UUID_LEN])) ||
	    !is_uuid(id))
		return "the first field is not a Heroku user id (UUID)";
	accounts = span_trim((struct span){ id + TOKEN_RESPONSE_UUID_LEN, line.end });
	if (span_empty(accounts))
		return "a user id with no account grants nothing";
	why = judge_accounts(accounts, query->pam_user, user_len, grants);
	if (why != NULL || !(query->any_id || id_matches(id, wanted)))
		*grants = false;
	*accounts_out = accounts;
	return why;
}

/* Count a well-formed line by whom it grants, and name its accounts to the caller. */
static void count_grant(struct span accounts, const struct allowlist_query *query,
			struct allowlist_outcome *outcome)
{
	const char *item = accounts.start;

	if (span_len(accounts) == 1 && *accounts.start == '*') {
		outcome->any_lines++;
		return;
	}
	outcome->named_lines++;
	if (query->each_account == NULL)
		return;
	for (;;) {
		const char *comma = memchr(item, ',', (size_t)(accounts.end - item));
		struct span name = span_trim((struct span){ item, comma ? comma : accounts.end });

		query->each_account(query->each_account_ctx, name.start, span_len(name));
		if (comma == NULL)
			return;
		item = comma + 1;
	}
}

static void report_bad_line(const char *path, unsigned number, const char *why,
			    const struct ph_log *log, unsigned bad_lines)
{
	if (bad_lines <= ALLOWLIST_REPORTED_LINES_MAX)
		ph_logf(log, LOG_WARNING, "%s:%u: line ignored, grants nothing: %s", path, number, why);
}

/*
 * Whether 8 bytes at text may begin the wanted id (any case): one word
 * compared, where most lines of a long allowlist already differ.  OR-ing
 * 0x20 folds case for hex digits; it may fold a few other bytes onto them
 * too, which only sends such a line on to the exact comparison.
 */
static bool first_word_may_match(const char *text, const char *wanted)
{
	const uint64_t fold = ONES * 0x20;

	return (load64(text) | fold) == (load64(wanted) | fold);
}

/*
 * Whether a line could name the wanted id: after leading blanks, its first
 * 36 bytes are that id (any case).  A line that cannot grants nothing, so a
 * scan that only looks for the granting line (only_grants: the account
 * phase, after the auth phase reported every malformed line) skips the rest
 * of its judgement.
 */
static bool may_name(struct span line, const char *wanted)
{
	while (line.start < line.end && is_blank(*line.start))
		line.start++;
	return wanted != NULL && span_len(line) >= TOKEN_RESPONSE_UUID_LEN &&
	       first_word_may_match(line.start, wanted) && id_matches(line.start, wanted);
}

/* One scan: what is asked, where we are, what was found. */
struct scanner {
	const char *path;
	const struct allowlist_query *query;
	const char *wanted;             /* query->user_id when it is a UUID, else NULL */
	size_t user_len;                /* strlen(query->pam_user) */
	const struct ph_log *log;
	struct allowlist_outcome *outcome;
	unsigned number;                /* lines judged so far */
};

_Static_assert(sizeof ((struct allowlist_outcome *)0)->candidate_id[0] ==
	       TOKEN_RESPONSE_UUID_LEN + 1, "candidate_id holds one UUID");

/* A well-formed line that could grant the account: its id, for later. */
static void keep_candidate(struct allowlist_outcome *outcome, struct span line, unsigned number)
{
	unsigned i = outcome->candidates++;

	if (i >= ALLOWLIST_CANDIDATES_MAX)
		return;
	line = span_trim(line);     /* a well-formed line starts with its id */
	memcpy(outcome->candidate_id[i], line.start, TOKEN_RESPONSE_UUID_LEN);
	outcome->candidate_id[i][TOKEN_RESPONSE_UUID_LEN] = '\0';
	outcome->candidate_line[i] = number;
}

void allowlist_refusal(const char *path, char reason[PH_REASON_MAX])
{
	snprintf(reason, PH_REASON_MAX, "no line of %s grants this Heroku user this account", path);
}

bool allowlist_candidates_decide(const struct allowlist_outcome *outcome, const char *user_id,
				 unsigned *matched_line)
{
	*matched_line = 0;
	if (outcome->candidates > ALLOWLIST_CANDIDATES_MAX)
		return false;
	if (user_id == NULL || strlen(user_id) != TOKEN_RESPONSE_UUID_LEN || !is_uuid(user_id))
		return true;    /* no UUID: no line can grant it */
	for (unsigned i = 0; i < outcome->candidates; i++)
		if (id_matches(outcome->candidate_id[i], user_id)) {
			*matched_line = outcome->candidate_line[i];
			return true;
		}
	return true;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && ALLOWLIST_PLAIN_PATH
/* One bit per lane of m (lanes 0xff or 0), lane i in bit i (little-endian). */
static unsigned lane_bits(bytes16 m)
{
#ifdef __SSE2__
	return (unsigned)_mm_movemask_epi8((__m128i)m);     /* one instruction */
#else
	const uint64_t gather = UINT64_C(0x0002040810204081);   /* bit 8i+7 to bit 56+i */
	uint64_t half[2];

	memcpy(half, &m, sizeof half);
	return (unsigned)(((half[0] & HIGH) * gather) >> 56) |
	       (unsigned)(((half[1] & HIGH) * gather) >> 56) << 8;
#endif
}

static unsigned blank_bits(bytes16 v)
{
	return lane_bits((bytes16)(v == ' ') | (bytes16)(v == '\t'));
}

/*
 * The bytes that cannot stand in an account name on the plain path: below
 * 0x21 (blanks, CR, newline, NUL), above 0x7e, and those that need the full
 * judgement: ',' (a list), '#' (a comment), '*' (any account).
 */
static unsigned non_name_bits(bytes16 v)
{
	return lane_bits((bytes16)(v <= 0x20) | (bytes16)(v >= 0x7f) | (bytes16)(v == ',') |
			 (bytes16)(v == '#') | (bytes16)(v == '*'));
}

/*
 * The plain path: nearly every line of a real allowlist is a UUID, blanks
 * and one account name.  Such a line is judged here 16 bytes at a time -
 * the UUID, the blanks after it, then the name up to the first byte that
 * cannot be in it, which must be the newline - with the verdict the full
 * judgement would give, and without a memchr() of its own.  Returns the
 * line's newline, or NULL for any other line (a comment, CRLF, blanks at
 * either end, a list, '*', a malformed line, the last line of text): that
 * one gets the full judgement, so every malformed line is still reported.
 * Whether it grants is decided from the name (its length first) and, only
 * when that is the account asked for, from the id.
 */
static const char *judge_plain_line(struct scanner *s, const char *start, const char *end)
{
	const char *name = start + TOKEN_RESPONSE_UUID_LEN, *p;
	unsigned blanks, stops;
	size_t len;

	if (end - name < 16 || !is_uuid(start))
		return NULL;
	blanks = blank_bits(load16(name));
	if (!(blanks & 1) || blanks == 0xffff)
		return NULL;
	name += __builtin_ctz(~blanks);
	for (p = name;; p += 16) {
		if (end - p < 16 || p - name > ALLOWLIST_ACCOUNT_MAX)
			return NULL;
		stops = non_name_bits(load16(p));
		if (stops != 0)
			break;
	}
	p += __builtin_ctz(stops);
	len = (size_t)(p - name);
	if (*p != '\n' || len == 0 || len > ALLOWLIST_ACCOUNT_MAX)
		return NULL;
	s->outcome->named_lines++;
	if (s->query->each_account != NULL)
		s->query->each_account(s->query->each_account_ctx, name, len);
	if (s->query->pam_user == NULL || len != s->user_len ||
	    memcmp(name, s->query->pam_user, len) != 0 ||
	    !(s->query->any_id || id_matches(start, s->wanted)))
		return p;
	if (s->outcome->matched_line == 0)
		s->outcome->matched_line = s->number;
	if (s->query->any_id)
		keep_candidate(s->outcome, (struct span){ start, p }, s->number);
	return p;
}
#else
static const char *judge_plain_line(struct scanner *s, const char *start, const char *end)
{
	(void)s;
	(void)start;
	(void)end;
	return NULL;    /* every line takes the full judgement */
}
#endif

/* Judge the lines of text: each ends in '\n', except the file's last one. */
static void scan_lines(struct scanner *s, const char *text, size_t size)
{
	const char *end = text + size;

	for (const char *start = text; start < end;) {
		const char *newline = NULL;
		struct span line, accounts;
		bool grants;
		const char *why;

		s->number++;
		if (!s->query->only_grants)
			newline = judge_plain_line(s, start, end);
		if (newline != NULL) {
			start = newline + 1;
			continue;
		}
		newline = memchr(start, '\n', (size_t)(end - start));
		line = (struct span){ start, newline ? newline : end };
		start = newline ? newline + 1 : end;
		if (s->query->only_grants && !may_name(line, s->wanted))
			continue;
		why = judge_line(line, s->query, s->wanted, s->user_len, &grants, &accounts);
		if (why != NULL)
			report_bad_line(s->path, s->number, why, s->log, ++s->outcome->bad_lines);
		else if (!span_empty(accounts))
			count_grant(accounts, s->query, s->outcome);
		if (why == NULL && grants && s->outcome->matched_line == 0)
			s->outcome->matched_line = s->number;
		if (why == NULL && grants && s->query->any_id)
			keep_candidate(s->outcome, line, s->number);
	}
}

/*
 * Read fd to the end, judging every complete line as soon as it is in the
 * buffer and keeping only an unfinished last line for the next read.
 */
static enum ph_result scan_fd(struct scanner *s, int fd, char reason[PH_REASON_MAX])
{
	size_t size = ALLOWLIST_CHUNK, have = 0;
	char *buffer = malloc(size);

	if (buffer == NULL) {
		snprintf(reason, PH_REASON_MAX, "cannot read %s: out of memory", s->path);
		return PH_MISCONFIGURED;
	}
	for (;;) {
		const char *last_newline;
		size_t done;
		ssize_t n;

		if (have == size) {     /* one line fills the buffer: make room */
			char *grown = size <= SIZE_MAX / 2 ? realloc(buffer, size * 2) : NULL;

			if (grown == NULL) {
				snprintf(reason, PH_REASON_MAX, "cannot read %s: out of memory",
					 s->path);
				free(buffer);
				return PH_MISCONFIGURED;
			}
			buffer = grown;
			size *= 2;
		}
		n = read(fd, buffer + have, size - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(reason, PH_REASON_MAX, "cannot read %s", s->path);
			free(buffer);
			return PH_MISCONFIGURED;
		}
		if (n == 0)
			break;
		/* Only the bytes just read can hold a newline the tail lacked. */
		last_newline = memrchr(buffer + have, '\n', (size_t)n);
		have += (size_t)n;
		if (last_newline == NULL)
			continue;
		done = (size_t)(last_newline - buffer) + 1;
		scan_lines(s, buffer, done);
		memmove(buffer, buffer + done, have - done);
		have -= done;
	}
	if (have > 0)
		scan_lines(s, buffer, have);    /* a last line without a newline */
	free(buffer);
	return PH_OK;
}

/* What identifies the open file fd: device, inode, size, mtime. */
static enum ph_result file_of(int fd, const char *path, struct allowlist_file *file,
			      char reason[PH_REASON_MAX])
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		snprintf(reason, PH_REASON_MAX, "cannot read %s", path);
		return PH_MISCONFIGURED;
	}
	*file = (struct allowlist_file){ .dev = st.st_dev, .ino = st.st_ino,
					 .size = st.st_size, .mtime = st.st_mtim };
	return PH_OK;
}

enum ph_result allowlist_unchanged(const char *path, const struct allowlist_file *file,
				   char reason[PH_REASON_MAX])
{
	struct allowlist_file now;
	enum ph_result result;
	int fd = safe_file_open(path, SAFE_FILE_PUBLIC, NULL, reason);

	if (fd < 0)
		return PH_MISCONFIGURED;
	result = file_of(fd, path, &now, reason);
	close(fd);
	if (result != PH_OK)
		return result;
	if (now.dev != file->dev || now.ino != file->ino) {
		snprintf(reason, PH_REASON_MAX, "%s is another file now", path);
		return PH_REFUSED;
	}
	if (now.size != file->size || now.mtime.tv_sec != file->mtime.tv_sec ||
	    now.mtime.tv_nsec != file->mtime.tv_nsec) {
		snprintf(reason, PH_REASON_MAX, "%s was modified", path);
		return PH_REFUSED;
	}
	return PH_OK;
}

enum ph_result allowlist_scan(const char *path, const struct allowlist_query *query,
			      const struct ph_log *log, struct allowlist_outcome *outcome,
			      char reason[PH_REASON_MAX])
{
	struct scanner scanner = {
		.path = path, .query = query, .log = log, .outcome = outcome,
		/* A wanted id that is no UUID can match no line: checked once here. */
		.wanted = query->user_id != NULL &&
			  strlen(query->user_id) == TOKEN_RESPONSE_UUID_LEN &&
			  is_uuid(query->user_id) ? query->user_id : NULL,
		.user_len = query->pam_user != NULL ? strlen(query->pam_user) : 0,
	};
	enum ph_result result;
	int fd;

	memset(outcome, 0, sizeof *outcome);
	fd = safe_file_open(path, SAFE_FILE_PUBLIC, NULL, reason);
	if (fd < 0)
		return PH_MISCONFIGURED;
	result = file_of(fd, path, &outcome->file, reason);
	if (result == PH_OK)
		result = scan_fd(&scanner, fd, reason);
	close(fd);
	if (result != PH_OK)
		return result;
	if (outcome->bad_lines > ALLOWLIST_REPORTED_LINES_MAX)
		ph_logf(log, LOG_WARNING, "%s: %u more malformed lines not shown",
			path, outcome->bad_lines - ALLOWLIST_REPORTED_LINES_MAX);
	if (query->user_id == NULL && !query->any_id)
		return PH_OK;
	if (outcome->matched_line == 0 && query->any_id) {
		snprintf(reason, PH_REASON_MAX, "no line of %s could grant this account "
			 "(none names it or holds *)", path);
		return PH_REFUSED;
	}
	if (outcome->matched_line == 0) {
		allowlist_refusal(path, reason);
		return PH_REFUSED;
	}
	return PH_OK;
}
