/*
 * login.h - the walk from a typed credential to a verdict, without PAM.
 *
 *   credential -> [pam_heroku_exchange: token request -> exchange -> token
 *   response] -> allowlist
 *
 * The module (pam_heroku.c) and pam_heroku_check --login both call this one
 * function (and --identify its first part), so the tool can never decide
 * differently from the module.
 */
#ifndef PAM_HEROKU_LOGIN_H
#define PAM_HEROKU_LOGIN_H

#include <stdbool.h>

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
	char reason[PH_REASON_MAX];             /* why, for the log line; never a secret */
};

/*
 * Decide whether typed (the password as typed, with its code:/refresh:
 * prefix) lets the Heroku identity behind it log in as pam_user.  Problems
 * with the allowlist's lines, and with settings->debug a line about the
 * exchange, go to log.  login_outcome_clear() must be called either way.
 */
enum ph_result login_decide(const struct settings *settings, const char *typed,
			    const char *pam_user, const struct ph_log *log,
			    struct login_outcome *outcome);

/*
 * The walk without the allowlist step, for pam_heroku_check --identify:
 * who is the Heroku user behind typed?  PH_OK with outcome->response.user_id
 * set when the API answered a well-formed 201.  login_decide() takes the
 * very same steps to the API, with one more before the exchange (could any
 * allowlist line grant the account at all?).
 */
enum ph_result login_identify(const struct settings *settings, const char *typed,
			      const struct ph_log *log, struct login_outcome *outcome);

/*
 * The allowlist step alone, for the account phase: PH_OK with the line that
 * grants pam_user to user_id in *matched_line and "FILE:N allows it" in
 * reason, PH_REFUSED or PH_MISCONFIGURED with why.  only_grants: look only
 * for the granting line, without judging and reporting the others.
 */
enum ph_result login_check_allowlist(const struct settings *settings, const char *user_id,
				     const char *pam_user, bool only_grants,
				     const struct ph_log *log, unsigned *matched_line,
				     char reason[PH_REASON_MAX]);

/* Wipe and free what the outcome holds (the access token). */
void login_outcome_clear(struct login_outcome *outcome);

#endif
