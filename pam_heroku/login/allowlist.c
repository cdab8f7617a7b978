/*
 * allowlist.c - one pass over the allowlist, read in fixed-size chunks.
 *
 * No allocation and no copy per line, and memory that does not grow with
 * the file; read() rather than mmap(), which is slower in a fresh process
 * and would kill the application with SIGBUS if the file shrank (the
 * figures: BENCHMARKS.md).  Every line is judged, even after a match, so a
 * malformed line is reported at every login.
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
#include "uuid.h"

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
#define ALLOWLIST_SLACK 64               /* zeroed bytes after the buffer, read in bulk */

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
 * UUIDs compare case-insensitively: Heroku's may come in either case.  Both
 * sides are known UUIDs here (the wanted one is checked once per scan), and
 * on hex digits and '-' setting bit 0x20 is exactly tolower().
 */
static bool id_matches(const char *id, const char *wanted)
{
	if (wanted == NULL)
		return false;
	for (size_t i = 0; i < UUID_LEN; i++)
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
	if (span_len(line) < UUID_LEN ||
	    (span_len(line) > UUID_LEN && !is_blank(id[UUID_LEN])) ||
	    !uuid_at(id))
		return "the first field is not a Heroku user id (UUID)";
	accounts = span_trim((struct span){ id + UUID_LEN, line.end });
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
	return wanted != NULL && span_len(line) >= UUID_LEN && id_matches(line.start, wanted);
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
	       UUID_LEN + 1, "candidate_id holds one UUID");

/* A well-formed line that could grant the account: its id, for later. */
static void keep_candidate(struct allowlist_outcome *outcome, struct span line, unsigned number)
{
	unsigned i = outcome->candidates++;

	if (i >= ALLOWLIST_CANDIDATES_MAX)
		return;
	line = span_trim(line);     /* a well-formed line starts with its id */
	memcpy(outcome->candidate_id[i], line.start, UUID_LEN);
	outcome->candidate_id[i][UUID_LEN] = '\0';
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
	if (user_id == NULL || !uuid_is_valid(user_id, strlen(user_id)))
		return true;    /* no UUID: no line can grant it */
	for (unsigned i = 0; i < outcome->candidates; i++)
		if (id_matches(outcome->candidate_id[i], user_id)) {
			*matched_line = outcome->candidate_line[i];
			return true;
		}
	return true;
}

/* Judge one line fully (only_grants: only a line that may name the id) and count it. */
static void judge_full(struct scanner *s, const char *start, const char *end)
{
	struct span line = { start, end }, accounts;
	bool grants;
	const char *why;

	if (s->query->only_grants && !may_name(line, s->wanted))
		return;
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

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && ALLOWLIST_PLAIN_PATH
/* One bit per lane of m (lanes 0xff or 0), lane i in bit i (little-endian). */
static unsigned lane_bits(bytes16 m)
{
#ifdef __SSE2__
	return (unsigned)_mm_movemask_epi8((__m128i)m);     /* one instruction */
#else
	const uint64_t high = UINT64_C(0x8080808080808080), gather = UINT64_C(0x0002040810204081);
	uint64_t half[2];   /* gather: bit 8i+7 to bit 56+i */

	memcpy(half, &m, sizeof half);
	return (unsigned)(((half[0] & high) * gather) >> 56) |
	       (unsigned)(((half[1] & high) * gather) >> 56) << 8;
#endif
}

static unsigned blank_bits(bytes16 v)
{
	return lane_bits((bytes16)(v == ' ') | (bytes16)(v == '\t'));
}

/*
 * The bytes outside '-' to '~' (0x2d-0x7e): these and blanks cannot stand
 * in a name on the plain path; such a name (with ',', '#', '*', '$' or a
 * control character, say) takes the full judgement.
 */
/* 0xff where v is in [low, low + n): one signed comparison, the range moved to start at -128. */
static bytes16 in_range(bytes16 v, unsigned char low, unsigned char n)
{
	return (bytes16)((signed16)(v + (unsigned char)(0x80 - low)) < (signed char)(n - 0x80));
}

static unsigned non_name_bits(bytes16 v)
{
	return lane_bits(~in_range(v, '-', '~' - '-' + 1));
}

/*
 * The plain path: nearly every line of a real allowlist is a UUID, 1-16
 * blanks and one name, 32 bytes after the id at most.  Such a line is
 * judged here from bit masks of those 32 bytes (which may run past the
 * line: the buffer has ALLOWLIST_SLACK more), with the verdict the full
 * judgement would give; false for any other line (a comment, CRLF, blanks
 * at either end, a list, '*', a malformed line), which takes the full one.
 */
static bool judge_plain_line(struct scanner *s, const char *start, const char *newline)
{
	const char *tail = start + UUID_LEN, *name;
	ptrdiff_t n = newline - tail;
	uint64_t blanks, stops, want;
	unsigned lead;
	size_t len;

	if (n < 2 || n > 32 || !uuid_at(start))
		return false;
	want = (UINT64_C(1) << n) - 1;
	blanks = blank_bits(load16(tail));
	stops = non_name_bits(load16(tail)) | (uint64_t)non_name_bits(load16(tail + 16)) << 16;
	lead = (unsigned)__builtin_ctz(~blanks);
	if (lead == 0 || (ptrdiff_t)lead >= n || ((stops & want) >> lead) != 0)
		return false;
	name = tail + lead;
	len = (size_t)(newline - name);
	s->outcome->named_lines++;
	if (s->query->each_account != NULL)
		s->query->each_account(s->query->each_account_ctx, name, len);
	if (s->query->pam_user == NULL || len != s->user_len ||
	    memcmp(name, s->query->pam_user, len) != 0 ||
	    !(s->query->any_id || id_matches(start, s->wanted)))
		return true;
	if (s->outcome->matched_line == 0)
		s->outcome->matched_line = s->number;
	if (s->query->any_id)
		keep_candidate(s->outcome, (struct span){ start, newline }, s->number);
	return true;
}

static uint64_t newline_bits16(const char *p)
{
	return lane_bits((bytes16)(load16(p) == '\n'));
}

/* The newlines among the 64 bytes at block, bit i for byte i; none from end on. */
static uint64_t newline_bits(const char *block, const char *end)
{
	uint64_t bits = newline_bits16(block) | newline_bits16(block + 16) << 16 |
			newline_bits16(block + 32) << 32 | newline_bits16(block + 48) << 48;

	return end - block >= 64 ? bits : bits & ((UINT64_C(1) << (end - block)) - 1);
}

/*
 * Judge the lines of text: each ends in '\n', except the file's last one.
 * The newlines are found 64 bytes at a time, so that no line waits for the
 * end of the one before it to be found.
 */
static void scan_lines(struct scanner *s, const char *text, size_t size)
{
	const char *end = text + size, *start = text;

	for (const char *block = text; block < end; block += 64)
		for (uint64_t nl = newline_bits(block, end); nl != 0; nl &= nl - 1) {
			const char *newline = block + __builtin_ctzll(nl);

			s->number++;
			if (s->query->only_grants || !judge_plain_line(s, start, newline))
				judge_full(s, start, newline);
			start = newline + 1;
		}
	if (start < end) {
		s->number++;
		judge_full(s, start, end);
	}
}
#else
/* Every line takes the full judgement (the fuzz target's reference). */
static void scan_lines(struct scanner *s, const char *text, size_t size)
{
	const char *end = text + size;

	for (const char *start = text; start < end;) {
		const char *newline = memchr(start, '\n', (size_t)(end - start));

		s->number++;
		judge_full(s, start, newline ? newline : end);
		start = newline ? newline + 1 : end;
	}
}
#endif

/*
 * The first buffer: the whole file as fstat saw it (and a byte more, so its
 * end is seen in the same read), a chunk at most.  A ten-line allowlist then
 * takes a buffer of its own size, not a zeroed chunk.
 */
static size_t first_chunk(const struct stat *st)
{
	size_t size = st->st_size > 0 ? (size_t)st->st_size : 0;

	return size < ALLOWLIST_CHUNK ? size + 1 : ALLOWLIST_CHUNK;
}

/*
 * Read fd to the end, judging every complete line as soon as it is in the
 * buffer and keeping only an unfinished last line for the next read.  The
 * buffer is zeroed: the line scan reads up to ALLOWLIST_SLACK bytes past
 * what was read, and must not depend on bytes never written.
 */
static enum ph_result scan_fd(struct scanner *s, int fd, const struct stat *st,
			      char reason[PH_REASON_MAX])
{
	size_t size = first_chunk(st), have = 0;
	char *buffer = calloc(1, size + ALLOWLIST_SLACK);

	if (buffer == NULL) {
		snprintf(reason, PH_REASON_MAX, "cannot read %s: out of memory", s->path);
		return PH_MISCONFIGURED;
	}
	for (;;) {
		const char *last_newline;
		size_t done;
		ssize_t n;

		if (have == size) {     /* one line fills the buffer: make room */
			char *grown = size <= SIZE_MAX / 4 ? realloc(buffer, size * 2 + ALLOWLIST_SLACK)
							   : NULL;

			if (grown == NULL) {
				snprintf(reason, PH_REASON_MAX, "cannot read %s: out of memory",
					 s->path);
				free(buffer);
				return PH_MISCONFIGURED;
			}
			buffer = grown;
			memset(buffer + size, 0, size + ALLOWLIST_SLACK);
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

/* What identifies a file: device, inode, size, mtime, ctime. */
static struct allowlist_file file_of(const struct stat *st)
{
	return (struct allowlist_file){ .dev = st->st_dev, .ino = st->st_ino, .size = st->st_size,
					.mtime = st->st_mtim, .ctime = st->st_ctim };
}

static bool same_time(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

enum ph_result allowlist_unchanged(const char *path, const struct allowlist_file *file,
				   char reason[PH_REASON_MAX])
{
	struct stat st;
	struct allowlist_file now;
	int fd = safe_file_open_stat(path, SAFE_FILE_PUBLIC, NULL, &st, reason);

	if (fd < 0)
		return PH_MISCONFIGURED;
	close(fd);
	now = file_of(&st);
	if (now.dev != file->dev || now.ino != file->ino) {
		snprintf(reason, PH_REASON_MAX, "%s is another file now", path);
		return PH_REFUSED;
	}
	if (now.size != file->size || !same_time(now.mtime, file->mtime) ||
	    !same_time(now.ctime, file->ctime)) {
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
			  uuid_is_valid(query->user_id, strlen(query->user_id)) ? query->user_id : NULL,
		.user_len = query->pam_user != NULL ? strlen(query->pam_user) : 0,
	};
	enum ph_result result;
	struct stat st;
	int fd;

	memset(outcome, 0, sizeof *outcome);
	fd = safe_file_open_stat(path, SAFE_FILE_PUBLIC, NULL, &st, reason);
	if (fd < 0)
		return PH_MISCONFIGURED;
	outcome->file = file_of(&st);
	result = scan_fd(&scanner, fd, &st, reason);
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
