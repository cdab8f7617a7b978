/*
 * login.h - the walk from a typed credential to a verdict, without PAM.  The
 * module and pam_heroku_check --login/--identify call the same functions, so
 * the tool can never decide differently from the module.
 */
#ifndef PAM_HEROKU_LOGIN_H
#define PAM_HEROKU_LOGIN_H

#include <stdbool.h>

#include "allowlist.h"
#include "exchange_wire.h"
#include "result.h"
#include "settings.h"
#include "token_response.h"

struct login_outcome {
	bool grant_known;                       /* the credential was accepted locally */
	enum ph_grant grant;
	long status;                            /* HTTP status, 0 when none arrived */
	char request_id[WIRE_REQUEST_ID_MAX + 1];   /* "" when unknown */
	char ratelimit_remaining[32];           /* "" when unknown */
	struct token_response response;         /* user id, session id, access token, API message */
	unsigned matched_line;                  /* allowlist line that granted, 0 when none */
	struct allowlist_file allowlist_file;   /* the allowlist as read for that verdict */
	char reason[PH_REASON_MAX];             /* why, for the log line; never a secret */
};

/*
 * A granted auth phase's allowlist verdict, which the module keeps for the
 * account phase of the same PAM handle: the line of which file granted
 * which Heroku user which account.  One malloc'd block (free() frees it).
 */
struct login_verdict {
	char user_id[UUID_LEN + 1];
	unsigned matched_line;
	struct allowlist_file file;
	const char *allowlist;                  /* the file's path, in strings */
	const char *pam_user;                   /* in strings */
	char strings[];
};

/*
 * Whether typed (with its code:/refresh: prefix) lets the Heroku identity
 * behind it log in as pam_user.  login_outcome_clear() must follow either way.
 */
enum ph_result login_decide(const struct settings *settings, const char *typed,
			    const char *pam_user, const struct ph_log *log,
			    struct login_outcome *outcome);

/*
 * The same walk without the allowlist, for pam_heroku_check --identify: PH_OK
 * with outcome->response.user_id when the API answered a well-formed 201.
 */
enum ph_result login_identify(const struct settings *settings, const char *typed,
			      const struct ph_log *log, struct login_outcome *outcome);

/* The verdict of a granted login_decide, to keep; NULL when out of memory. */
struct login_verdict *login_verdict_new(const struct settings *settings, const char *pam_user,
					const struct login_outcome *outcome);

/*
 * The allowlist step alone, for the account phase: the granting line in
 * *matched_line, or why not.  The auth phase's verdict (earlier, may be NULL)
 * stands for the same question while the file is unchanged; otherwise the
 * file is scanned again for the granting line only.
 */
enum ph_result login_recheck_allowlist(const struct settings *settings, const char *user_id,
				       const char *pam_user, const struct login_verdict *earlier,
				       const struct ph_log *log, unsigned *matched_line,
				       char reason[PH_REASON_MAX]);

/* Wipe and free what the outcome holds (the access token). */
void login_outcome_clear(struct login_outcome *outcome);

#endif
