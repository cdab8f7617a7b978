/*
 * settings.h - module arguments and the config file, checked, in one struct.
 * A module argument wins over the file; client_secret is refused on the
 * module line (/etc/pam.d is world readable); every problem is reported, so
 * an administrator (and pam_heroku_check) sees them all at once.
 */
#ifndef PAM_HEROKU_SETTINGS_H
#define PAM_HEROKU_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "credential.h"
#include "result.h"

#ifndef PAM_HEROKU_CONFDIR_DEFAULT
#define PAM_HEROKU_CONFDIR_DEFAULT "/etc/security"
#endif
#define SETTINGS_DEFAULT_CONFIG PAM_HEROKU_CONFDIR_DEFAULT "/pam_heroku.conf"
#define SETTINGS_DEFAULT_ALLOWLIST PAM_HEROKU_CONFDIR_DEFAULT "/pam_heroku.allow"
#define SETTINGS_DEFAULT_API_URL "https://api.heroku.com"
#define SETTINGS_DEFAULT_PROMPT "Heroku grant code or refresh token: "
#define SETTINGS_DEFAULT_AUTHORIZE_URL "https://id.heroku.com/oauth/authorize"
#define SETTINGS_DEFAULT_TIMEOUT 10
#define SETTINGS_TIMEOUT_MIN 1
#define SETTINGS_TIMEOUT_MAX 120

/* A set of grants, as the grants key holds it. */
#define SETTINGS_GRANT_BIT(grant) (1u << (unsigned)(grant))
#define SETTINGS_GRANTS_ALL \
	(SETTINGS_GRANT_BIT(PH_GRANT_AUTHORIZATION_CODE) | SETTINGS_GRANT_BIT(PH_GRANT_REFRESH_TOKEN))

struct settings {
	/* where they came from */
	char *config_path;          /* the file that was read; NULL when the default was absent */

	/* keys (pam_heroku.conf(5)) */
	char *api_url;
	char *client_secret;        /* secret: from client_secret or client_secret_file; required
				     * (SETTINGS_TO_RECHECK leaves the file unread) */
	char *client_secret_file;
	char *allowlist;
	enum ph_grant default_grant;
	unsigned grants;            /* SETTINGS_GRANT_BIT()s of the forms accepted */
	long timeout;               /* seconds, whole exchange */
	char *ca_file;              /* NULL: the system store */
	char *ca_pem;               /* ca_file's bytes, read through the checked descriptor;
				     * NULL after SETTINGS_TO_RECHECK */
	size_t ca_pem_len;
	char *proxy;                /* NULL: no proxy, whatever the environment says */
	char *prompt;
	bool export_access_token;
	char *client_id;
	char *authorize_url;
	char *pinned_pubkey;

	/* module-line flags */
	bool debug;
	bool use_first_pass;
	bool try_first_pass;
};

/* What the caller goes on to do, so that settings_load reads only what that needs. */
enum settings_purpose {
	/* Send a token request (auth phase, pam_heroku_check): the client secret
	 * and the CA file are read, and the allowlist is checked as safe. */
	SETTINGS_TO_EXCHANGE,
	/* Check the allowlist again (account phase): nothing is sent, so neither
	 * client_secret_file nor ca_file is read, and the allowlist is left to
	 * the caller, whose own safe open of it is the check. */
	SETTINGS_TO_RECHECK,
};

/*
 * Fill *settings from the module arguments and the config file they name (or
 * the default one), and read the files purpose needs.  Reports each problem
 * through log (LOG_ERR) and returns PH_MISCONFIGURED when there is any, with
 * the first one in reason; PH_OK otherwise.  settings_free() must be called
 * either way.
 */
enum ph_result settings_load(struct settings *settings, enum settings_purpose purpose,
			     int argc, const char **argv, const struct ph_log *log,
			     char reason[PH_REASON_MAX]);

/* An https:// URL with a host, and no blank, control, '?' or '#' to splice badly. */
bool settings_is_https_url(const char *value);

/* 1-128 characters of RFC 3986's unreserved set: nothing to encode in a URL. */
bool settings_is_client_id(const char *value);

/* Whether the grants key accepts this form of credential. */
bool settings_grant_accepted(const struct settings *settings, enum ph_grant grant);

/* Release everything, wiping the client secret. */
void settings_free(struct settings *settings);

#endif
