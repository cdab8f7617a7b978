/*
 * pam_heroku.c - the PAM glue, the only file that calls libpam: user, prompt,
 * the walk (login.h), environment, pam_set_data and one log line; the
 * verdict becomes a PAM code in one place, ph_result_pam().
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#define PAM_SM_AUTH
#define PAM_SM_ACCOUNT
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "authorize.h"
#include "exchange_wire.h"
#include "login.h"
#include "result.h"
#include "result_pam.h"
#include "sanitize.h"
#include "secret.h"
#include "settings.h"
#include "token_response.h"

/* pam_set_data key: the Heroku user id this module authenticated. */
#define DATA_USER_ID "pam_heroku_user_id"
/* pam_set_data key: the auth phase's allowlist verdict (struct login_verdict). */
#define DATA_VERDICT "pam_heroku_allowlist_verdict"

/* ----------------------------------------------------------------------- */
/* Logging.                                                                 */

static void emit_to_syslog(void *ctx, int priority, const char *message)
{
	pam_syslog((pam_handle_t *)ctx, priority, "%s", message);
}

/* One attempt: the walk's outcome, logged in one line at the end. */
struct attempt {
	pam_handle_t *pamh;
	struct ph_log log;
	char user[SANITIZE_USER_FIELD_SIZE];    /* the PAM user as a log field, "-" when unknown */
	struct login_outcome outcome;           /* its reason also says why an earlier step failed */
};

static void attempt_init(struct attempt *attempt, pam_handle_t *pamh)
{
	memset(attempt, 0, sizeof *attempt);
	attempt->pamh = pamh;
	attempt->log.emit = emit_to_syslog;
	attempt->log.ctx = pamh;
	strcpy(attempt->user, "-");
}

static const char *outcome_word(enum ph_phase phase, enum ph_result result)
{
	return phase == PH_PHASE_ACCOUNT && result != PH_OK ? "denied" : ph_result_outcome(result);
}

static int attempt_finish(struct attempt *attempt, enum ph_phase phase, enum ph_result result)
{
	int priority = result == PH_OK ? LOG_NOTICE
		     : result == PH_REFUSED ? LOG_WARNING : LOG_ERR;

	pam_syslog(attempt->pamh, priority,
		   "%s %s: user=%s heroku_user_id=%s request_id=%s reason=\"%s\"",
		   phase == PH_PHASE_AUTH ? "auth" : "account", outcome_word(phase, result),
		   attempt->user, ph_or_dash(attempt->outcome.response.user_id),
		   ph_or_dash(attempt->outcome.request_id), attempt->outcome.reason);
	return ph_result_pam(phase, result);
}

/* ----------------------------------------------------------------------- */
/* Steps that need PAM.                                                     */

static enum ph_result fetch_user(struct attempt *attempt, const char **user)
{
	int rc = pam_get_user(attempt->pamh, user, NULL);

	if (rc != PAM_SUCCESS)
		return ph_reason(attempt->outcome.reason, PH_REFUSED, "no user name: %s",
				 pam_strerror(attempt->pamh, rc));
	if (*user == NULL || (*user)[0] == '\0')
		return ph_reason(attempt->outcome.reason, PH_REFUSED, "the user name is empty");
	sanitize_field(attempt->user, sizeof attempt->user, *user, strlen(*user));
	return PH_OK;
}

/* "To get a grant code, open: URL" above the prompt, when client_id is set. */
static char *prompt_text(const struct settings *settings)
{
	char *text = NULL;

	return authorize_prompt_build(settings, &text) == PH_OK ? text : NULL;
}

/*
 * Ask with this module's own prompt and store the answer as PAM_AUTHTOK.
 * *same_as_stored: it is what an earlier module stored (sshd and single-secret
 * applications answer every prompt with the one password the user typed).
 */
static int prompt_for_token(pam_handle_t *pamh, const char *prompt, const char **typed,
			    bool *same_as_stored)
{
	const void *stored = NULL;
	char *earlier = NULL;
	char *answer = NULL;
	int rc;

	/* A copy: storing the answer below replaces (and wipes) the item. */
	if (pam_get_item(pamh, PAM_AUTHTOK, &stored) == PAM_SUCCESS && stored != NULL) {
		earlier = secret_strdup(stored);
		if (earlier == NULL)
			return PAM_BUF_ERR;
	}
	rc = pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &answer, "%s", prompt);
	if (rc == PAM_SUCCESS && answer == NULL)
		rc = PAM_CONV_ERR;
	if (rc == PAM_SUCCESS) {
		*same_as_stored = secret_equal(answer, earlier);
		rc = pam_set_item(pamh, PAM_AUTHTOK, answer);
	}
	secret_free(answer);
	secret_free(earlier);
	if (rc == PAM_SUCCESS)
		rc = pam_get_item(pamh, PAM_AUTHTOK, (const void **)typed);
	return rc;
}

/*
 * The credential, and whether it was typed at this module's prompt.  Only
 * with use_first_pass/try_first_pass is a stored token taken: otherwise a
 * local password pam_unix just checked would be sent to Heroku.
 */
static enum ph_result fetch_credential(struct attempt *attempt, const struct settings *settings,
				       const char **typed, bool *prompted, int *conv_again)
{
	const void *stored = NULL;
	char *prompt = prompt_text(settings);
	bool reuse = settings->use_first_pass || settings->try_first_pass;
	bool same_as_stored = false;
	int rc;

	if (prompt == NULL)
		return ph_reason(attempt->outcome.reason, PH_UNAVAILABLE,
				 "cannot build the prompt");
	*prompted = !reuse || pam_get_item(attempt->pamh, PAM_AUTHTOK, &stored) != PAM_SUCCESS ||
		    stored == NULL;
	if (reuse)
		rc = pam_get_authtok(attempt->pamh, PAM_AUTHTOK, typed, prompt);
	else
		rc = prompt_for_token(attempt->pamh, prompt, typed, &same_as_stored);
	free(prompt);
	*conv_again = rc == PAM_CONV_AGAIN;
	if (rc != PAM_SUCCESS || *typed == NULL)
		return ph_reason(attempt->outcome.reason, PH_REFUSED, "no credential: %s",
				 pam_strerror(attempt->pamh, rc));
	if (same_as_stored)
		return ph_reason(attempt->outcome.reason, PH_REFUSED,
				 "the answer is the password an earlier module was given "
				 "(an application that answers every prompt alike); nothing sent");
	return PH_OK;
}

/* "NAME=value" into the PAM environment, wiping the temporary copy. */
static bool put_env(pam_handle_t *pamh, const char *name, const char *value)
{
	size_t len = strlen(name) + strlen(value) + 2;
	char *entry = malloc(len);
	int rc;

	if (entry == NULL)
		return false;
	snprintf(entry, len, "%s=%s", name, value);
	rc = pam_putenv(pamh, entry);
	secret_free_len(entry, len);
	return rc == PAM_SUCCESS;
}

static void free_data(pam_handle_t *pamh, void *data, int error_status)
{
	(void)pamh;
	(void)error_status;
	free(data);
}

/* Hand the identity to the session and to our own account phase. */
static enum ph_result publish_identity(struct attempt *attempt, const struct settings *settings)
{
	const struct token_response *response = &attempt->outcome.response;
	char *user_id = strdup(response->user_id);
	bool ok = user_id != NULL &&
		  pam_set_data(attempt->pamh, DATA_USER_ID, user_id, free_data) == PAM_SUCCESS;

	if (!ok)
		free(user_id);
	ok = ok && put_env(attempt->pamh, "HEROKU_USER_ID", response->user_id);
	if (ok && response->session_id[0] != '\0')
		ok = put_env(attempt->pamh, "HEROKU_SESSION_ID", response->session_id);
	if (ok && settings->export_access_token)
		ok = put_env(attempt->pamh, "HEROKU_API_KEY", response->access_token);
	if (!ok)
		return ph_reason(attempt->outcome.reason, PH_UNAVAILABLE,
				 "cannot set the PAM environment (out of memory)");
	return PH_OK;
}

/*
 * The allowlist verdict, so that the account phase need not scan the file
 * again while it is unchanged.  Without it (out of memory) the account
 * phase scans again: nothing fails.
 */
static void keep_verdict(struct attempt *attempt, const struct settings *settings,
			 const char *user)
{
	struct login_verdict *verdict = login_verdict_new(settings, user, &attempt->outcome);

	if (verdict != NULL &&
	    pam_set_data(attempt->pamh, DATA_VERDICT, verdict, free_data) != PAM_SUCCESS)
		free(verdict);
}

/* ----------------------------------------------------------------------- */
/* The walk.                                                                */

/*
 * What was typed here never outlives a failed attempt: a later module
 * (pam_sss use_first_pass, pam_exec expose_authtok, a fallback after
 * authinfo_unavail) must not be handed the grant code.  libpam wipes the item.
 */
static void forget_typed(struct attempt *attempt, enum ph_result result, int flags)
{
	pam_set_item(attempt->pamh, PAM_AUTHTOK, NULL);
	if (result == PH_UNAVAILABLE && !(flags & PAM_SILENT))
		pam_error(attempt->pamh, "Heroku cannot be reached right now.");
}

/* Names this module exports, removed by forget_identity. */
static const char *const exported_names[] = {
	"HEROKU_USER_ID", "HEROKU_SESSION_ID", "HEROKU_API_KEY",
};

/*
 * Nothing from an earlier attempt on this handle survives (sudo and login
 * retry on one): no exported variable (only a set one is removed: libpam logs
 * removing an absent one), no identity for the account phase.
 */
static void forget_identity(pam_handle_t *pamh)
{
	for (size_t i = 0; i < sizeof exported_names / sizeof exported_names[0]; i++)
		if (pam_getenv(pamh, exported_names[i]) != NULL)
			pam_putenv(pamh, exported_names[i]);
	pam_set_data(pamh, DATA_USER_ID, NULL, NULL);
	pam_set_data(pamh, DATA_VERDICT, NULL, NULL);
}

/* Show the API's refusal to the user: it has already been made safe text. */
static void tell_refusal(const struct attempt *attempt, int flags)
{
	const char *message = attempt->outcome.response.message;

	if (message[0] != '\0' && !(flags & PAM_SILENT))
		pam_error(attempt->pamh, "Heroku: %s", message);
}

static enum ph_result authenticate(struct attempt *attempt, struct settings *settings,
				   int flags, int argc, const char **argv, int *conv_again)
{
	const char *typed = NULL;
	const char *user = NULL;
	bool prompted = false;
	enum ph_result result;

	result = fetch_user(attempt, &user);
	if (result == PH_OK)
		result = settings_load(settings, SETTINGS_TO_EXCHANGE, argc, argv, &attempt->log,
				       attempt->outcome.reason);
	if (result == PH_OK)
		result = fetch_credential(attempt, settings, &typed, &prompted, conv_again);
	if (result == PH_OK)
		result = login_decide(settings, typed, user, &attempt->log, &attempt->outcome);
	if (result == PH_REFUSED)
		tell_refusal(attempt, flags);
	if (result == PH_OK)
		result = publish_identity(attempt, settings);
	if (result == PH_OK)
		keep_verdict(attempt, settings, user);
	if (result != PH_OK && prompted)
		forget_typed(attempt, result, flags);
	return result;
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct settings settings;
	struct attempt attempt;
	enum ph_result result;
	int conv_again = 0;

	attempt_init(&attempt, pamh);
	memset(&settings, 0, sizeof settings);
	forget_identity(pamh);
	result = authenticate(&attempt, &settings, flags, argc, argv, &conv_again);
	login_outcome_clear(&attempt.outcome);
	settings_free(&settings);
	if (result != PH_OK)
		forget_identity(pamh);
	if (conv_again)
		return PAM_INCOMPLETE;  /* the application will call us again */
	return attempt_finish(&attempt, PH_PHASE_AUTH, result);
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}

PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct settings settings;
	struct attempt attempt;
	const void *user_id = NULL, *verdict = NULL;
	const char *user = NULL;
	enum ph_result result;

	(void)flags;
	if (pam_get_data(pamh, DATA_USER_ID, &user_id) != PAM_SUCCESS || user_id == NULL)
		return PAM_IGNORE;  /* not ours: e.g. an sshd public-key login */
	if (pam_get_data(pamh, DATA_VERDICT, &verdict) != PAM_SUCCESS)
		verdict = NULL;
	attempt_init(&attempt, pamh);
	snprintf(attempt.outcome.response.user_id, sizeof attempt.outcome.response.user_id, "%s",
		 (const char *)user_id);
	memset(&settings, 0, sizeof settings);
	result = fetch_user(&attempt, &user);
	if (result == PH_OK)
		result = settings_load(&settings, SETTINGS_TO_RECHECK, argc, argv, &attempt.log,
				       attempt.outcome.reason);
	if (result == PH_OK)
		result = login_recheck_allowlist(&settings, user_id, user, verdict, &attempt.log,
						 &attempt.outcome.matched_line,
						 attempt.outcome.reason);
	settings_free(&settings);
	return attempt_finish(&attempt, PH_PHASE_ACCOUNT, result);
}
