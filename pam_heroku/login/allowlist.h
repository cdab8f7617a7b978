/*
 * allowlist.h - which Heroku user may log in as which local account.
 *
 *   # Heroku user id                         local accounts
 *   01234567-89ab-cdef-0123-456789abcdef     alice
 *   11111111-2222-4333-8444-555555555555     bob,carol
 *   22222222-3333-4444-8555-666666666666     *
 *
 * One UUID (any case), blanks, then a comma-separated list of accounts or
 * '*' for any.  Lines may end in CRLF, trailing blanks and '#' comments.  A
 * line with an id alone, or otherwise malformed, grants nothing and is
 * reported with file:line; the other lines still apply.
 *
 * The file is read in one pass through a fixed 64 KiB buffer, with no
 * allocation per line, so a large allowlist costs a scan and no more memory
 * than a small one.
 */
#ifndef PAM_HEROKU_ALLOWLIST_H
#define PAM_HEROKU_ALLOWLIST_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "result.h"

struct allowlist_query {
	const char *user_id;    /* Heroku user id (UUID) to look for; NULL only validates */
	const char *pam_user;   /* local account asked for */
	bool only_grants;       /* judge only lines naming user_id; report no other line */
	bool any_id;            /* grants when some line could grant pam_user, whatever its id */
	/*
	 * Optional (pam_heroku_check): called with each account name of every
	 * well-formed line that names accounts (not for '*' lines; name is not
	 * NUL-terminated).  Not called with only_grants.
	 */
	void (*each_account)(void *ctx, const char *name, size_t len);
	void *each_account_ctx;
};

/* How many of the lines that could grant an account an any_id scan keeps. */
#define ALLOWLIST_CANDIDATES_MAX 16

/*
 * Which file a scan read, as fstat() saw it before reading: while a file
 * has the same device, inode, size, mtime and ctime, it is taken to hold
 * what that scan read (a new file changes the inode; an edit in place the
 * ctime, which, unlike the mtime, `touch -r` or `cp -p` cannot set back).
 */
struct allowlist_file {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	struct timespec ctime;
};

struct allowlist_outcome {
	struct allowlist_file file;     /* the file the scan read */
	unsigned matched_line;  /* line that granted access, 0 when none */
	unsigned bad_lines;     /* lines that grant nothing because they are malformed */
	/* Of the lines judged (every line, unless only_grants): */
	unsigned named_lines;   /* well-formed lines that grant the accounts they name */
	unsigned any_lines;     /* well-formed lines that grant any account ('*') */
	/*
	 * With any_id: the lines that could grant pam_user, in file order (the
	 * first ALLOWLIST_CANDIDATES_MAX of candidates), so that the decision
	 * once the API named the user needs no second pass over the file.
	 */
	unsigned candidates;
	unsigned candidate_line[ALLOWLIST_CANDIDATES_MAX];
	char candidate_id[ALLOWLIST_CANDIDATES_MAX][36 + 1];
};

/*
 * Scan the file at path (checked with safe_file first).  Every malformed
 * line is reported through log (LOG_WARNING) with path:line and why.
 * PH_OK when a line grants query->pam_user to query->user_id (with any_id,
 * when a well-formed line names pam_user or holds '*', whatever its id;
 * with neither a user_id nor any_id, when the file could be read);
 * PH_REFUSED when none does;
 * PH_MISCONFIGURED with reason when the file is missing, unsafe or unreadable.
 */
enum ph_result allowlist_scan(const char *path, const struct allowlist_query *query,
			      const struct ph_log *log, struct allowlist_outcome *outcome,
			      char reason[PH_REASON_MAX]);

/*
 * Whether the file at path (checked with safe_file, as for a scan) is still
 * the one a scan read: PH_OK when it is, PH_REFUSED when it changed (reason
 * says how), PH_MISCONFIGURED with reason when it is missing, unsafe or
 * unreadable.
 */
enum ph_result allowlist_unchanged(const char *path, const struct allowlist_file *file,
				   char reason[PH_REASON_MAX]);

/* The reason when no line grants the user the account. */
void allowlist_refusal(const char *path, char reason[PH_REASON_MAX]);

/*
 * After an any_id scan: does a line that could grant the account grant it
 * to user_id (a UUID)?  *matched_line is that line, 0 when none.  False
 * when the scan met more such lines than it keeps: then scan for user_id.
 */
bool allowlist_candidates_decide(const struct allowlist_outcome *outcome, const char *user_id,
				 unsigned *matched_line);

#endif
