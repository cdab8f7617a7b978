/*
 * login.c - one login decided: credential, could the account be granted at
 * all, exchange (in pam_heroku_exchange, exchange_child.h), allowlist.  The
 * walk stops at the first step that is not PH_OK, so every path fails closed.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "allowlist.h"
#include "credential.h"
#include "login.h"
#include "exchange_child.h"
#include "secret.h"

/* The debug flag's line: what was asked and what came back, never a secret. */
static void log_exchange(const struct settings *settings, const struct ph_log *log,
			 const struct login_outcome *outcome, size_t body_len)
{
	if (!settings->debug)
		return;
	ph_logf(log, LOG_DEBUG,
		"debug: POST %s/oauth/tokens grant=%s client_secret=%s proxy=%s: status %ld "
		"request_id=%s ratelimit_remaining=%s body_bytes=%zu",
		settings->api_url, credential_grant_name(outcome->grant),
		settings->client_secret ? "set" : "none", settings->proxy ? "set" : "none",
		outcome->status, ph_or_dash(outcome->request_id),
		ph_or_dash(outcome->ratelimit_remaining), body_len);
}

/*
 * Release the credential to pam_heroku_exchange (exchange_child.c), started
 * already (child) with the request, which posts it and judges the answer;
 * its verdict lands in outcome->response.
 */
static enum ph_result exchange_credential(const struct settings *settings,
					  struct exchange_child *child,
					  const struct ph_log *log, struct login_outcome *outcome)
{
	struct wire_reply reply;
	enum ph_result result;

	if (settings->client_secret == NULL) {
		exchange_child_abandon(child);
		return ph_reason(outcome->reason, PH_MISCONFIGURED,
				 "no client secret is configured");
	}
	result = exchange_child_finish(child, settings, &reply);
	outcome->status = reply.status;
	snprintf(outcome->reason, sizeof outcome->reason, "%s", reply.reason);
	snprintf(outcome->request_id, sizeof outcome->request_id, "%s", reply.request_id);
	snprintf(outcome->ratelimit_remaining, sizeof outcome->ratelimit_remaining, "%s",
		 reply.ratelimit_remaining);
	log_exchange(settings, log, outcome, reply.body_len);
	/* The verdict's identity, token and message move over; the reply keeps nothing. */
	outcome->response = reply.response;
	reply.response.access_token = NULL;
	wire_reply_clear(&reply);
	if (result != PH_OK)
		outcome->response.user_id[0] = '\0';  /* only a well-formed answer names a user */
	return result;
}

/* The reason of a granted login: the line that grants it. */
static void allowed_by(const struct settings *settings, unsigned line, char reason[PH_REASON_MAX])
{
	snprintf(reason, PH_REASON_MAX, "%s:%u allows it", settings->allowlist, line);
}

/*
 * Scan the allowlist for the line granting pam_user to user_id, judging
 * only the lines that name the id (the malformed ones were reported by the
 * scan before the exchange).  *file: the file as read.
 */
static enum ph_result scan_for_grant(const struct settings *settings, const char *user_id,
				     const char *pam_user, const struct ph_log *log,
				     unsigned *matched_line, struct allowlist_file *file,
				     char reason[PH_REASON_MAX])
{
	struct allowlist_query query = { .user_id = user_id, .pam_user = pam_user,
					 .only_grants = true };
	struct allowlist_outcome allowlist;
	enum ph_result result;

	*matched_line = 0;
	result = allowlist_scan(settings->allowlist, &query, log, &allowlist, reason);
	*file = allowlist.file;
	if (result == PH_OK) {
		*matched_line = allowlist.matched_line;
		allowed_by(settings, allowlist.matched_line, reason);
	}
	return result;
}

struct login_verdict *login_verdict_new(const struct settings *settings, const char *pam_user,
					const struct login_outcome *outcome)
{
	size_t path_size = strlen(settings->allowlist) + 1, user_size = strlen(pam_user) + 1;
	struct login_verdict *verdict = malloc(sizeof *verdict + path_size + user_size);

	if (verdict == NULL)
		return NULL;
	snprintf(verdict->user_id, sizeof verdict->user_id, "%s", outcome->response.user_id);
	verdict->matched_line = outcome->matched_line;
	verdict->file = outcome->allowlist_file;
	memcpy(verdict->strings, settings->allowlist, path_size);
	memcpy(verdict->strings + path_size, pam_user, user_size);
	verdict->allowlist = verdict->strings;
	verdict->pam_user = verdict->strings + path_size;
	return verdict;
}

/* Whether the auth phase's verdict is about this very question. */
static bool same_question(const struct login_verdict *earlier, const struct settings *settings,
			  const char *user_id, const char *pam_user)
{
	return earlier != NULL && earlier->matched_line != 0 &&
	       strcmp(earlier->user_id, user_id) == 0 && strcmp(earlier->pam_user, pam_user) == 0 &&
	       strcmp(earlier->allowlist, settings->allowlist) == 0;
}

enum ph_result login_recheck_allowlist(const struct settings *settings, const char *user_id,
				       const char *pam_user, const struct login_verdict *earlier,
				       const struct ph_log *log, unsigned *matched_line,
				       char reason[PH_REASON_MAX])
{
	struct allowlist_file file;
	enum ph_result result;

	if (same_question(earlier, settings, user_id, pam_user)) {
		result = allowlist_unchanged(settings->allowlist, &earlier->file, reason);
		if (result == PH_MISCONFIGURED)
			return result;
		if (result == PH_OK) {
			if (settings->debug)
				ph_logf(log, LOG_DEBUG, "debug: account: verdict of the auth phase "
					"reused (allowlist unchanged)");
			*matched_line = earlier->matched_line;
			allowed_by(settings, earlier->matched_line, reason);
			return PH_OK;
		}
		if (settings->debug)
			ph_logf(log, LOG_DEBUG, "debug: account: allowlist scanned again (%s "
				"since the auth phase)", reason);
	}
	return scan_for_grant(settings, user_id, pam_user, log, matched_line, &file, reason);
}

/*
 * Before anything is sent: can any line grant this account at all?  If not,
 * no answer could change the verdict, and a POST would only spend the API's
 * rate limit for everyone.  This scan reports the malformed lines.
 */
static enum ph_result check_account_grantable(const struct settings *settings,
					      const char *pam_user, const struct ph_log *log,
					      struct allowlist_outcome *grantable,
					      char reason[PH_REASON_MAX])
{
	struct allowlist_query query = { .user_id = NULL, .pam_user = pam_user, .any_id = true };
	enum ph_result result = allowlist_scan(settings->allowlist, &query, log, grantable, reason);

	if (result == PH_REFUSED)
		snprintf(reason + strlen(reason), PH_REASON_MAX - strlen(reason), "; nothing sent");
	return result;
}

/*
 * Once the API named the user, the lines found able to grant the account
 * decide without reading the file again; only when there were more than are
 * kept is the file scanned for the id.
 */
static enum ph_result decide_grant(const struct settings *settings,
				   const struct allowlist_outcome *grantable,
				   const char *pam_user, const struct ph_log *log,
				   struct login_outcome *outcome)
{
	const char *user_id = outcome->response.user_id;

	outcome->allowlist_file = grantable->file;
	if (!allowlist_candidates_decide(grantable, user_id, &outcome->matched_line))
		return scan_for_grant(settings, user_id, pam_user, log, &outcome->matched_line,
				      &outcome->allowlist_file, outcome->reason);
	if (outcome->matched_line == 0) {
		allowlist_refusal(settings->allowlist, outcome->reason);
		return PH_REFUSED;
	}
	allowed_by(settings, outcome->matched_line, outcome->reason);
	return PH_OK;
}

/* The typed text as a credential of a form the grants setting accepts. */
static enum ph_result accept_credential(const struct settings *settings, const char *typed,
					struct credential *credential,
					struct login_outcome *outcome)
{
	enum ph_result result = credential_parse(typed, settings->default_grant, credential,
						 outcome->reason);

	if (result == PH_OK && !settings_grant_accepted(settings, credential->grant))
		result = ph_reason(outcome->reason, PH_REFUSED,
				   "a %s credential, which the grants setting does not accept",
				   credential_grant_name(credential->grant));
	if (result == PH_OK) {
		outcome->grant_known = true;
		outcome->grant = credential->grant;
	}
	return result;
}

enum ph_result login_identify(const struct settings *settings, const char *typed,
			      const struct ph_log *log, struct login_outcome *outcome)
{
	struct credential credential;
	enum ph_result result;

	memset(outcome, 0, sizeof *outcome);
	result = accept_credential(settings, typed, &credential, outcome);
	if (result == PH_OK) {
		struct exchange_child child;

		exchange_child_start(&child, settings, &credential);
		result = exchange_credential(settings, &child, log, outcome);
	}
	return result;
}

enum ph_result login_decide(const struct settings *settings, const char *typed,
			    const char *pam_user, const struct ph_log *log,
			    struct login_outcome *outcome)
{
	struct allowlist_outcome grantable;
	struct exchange_child child;
	struct credential credential;
	enum ph_result result;

	memset(outcome, 0, sizeof *outcome);
	result = accept_credential(settings, typed, &credential, outcome);
	if (result != PH_OK)
		return result;
	/*
	 * The helper starts up, connects and shakes hands while the allowlist
	 * is read; it sends the request only on the go byte, so when the check
	 * refuses it is stopped having sent nothing of it.
	 */
	exchange_child_start(&child, settings, &credential);
	result = check_account_grantable(settings, pam_user, log, &grantable, outcome->reason);
	if (result != PH_OK) {
		exchange_child_abandon(&child);
		return result;
	}
	result = exchange_credential(settings, &child, log, outcome);
	if (result == PH_OK)
		result = decide_grant(settings, &grantable, pam_user, log, outcome);
	return result;
}

void login_outcome_clear(struct login_outcome *outcome)
{
	secret_free(outcome->response.access_token);
	outcome->response.access_token = NULL;
}
