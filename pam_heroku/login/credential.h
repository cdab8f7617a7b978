/*
 * credential.h - what the user typed, as a grant, or refused before any request.
 *
 *   code:XXXX     -> authorization_code XXXX
 *   refresh:XXXX  -> refresh_token XXXX
 *   XXXX          -> the default_grant setting
 *
 * Refused locally: empty (also after the prefix), longer than 1024 bytes, or
 * any character outside RFC 6750's token68 set (A-Z a-z 0-9 - . _ ~ + / then
 * '=' only as trailing padding); and OpenSSH's substitute answer for an
 * invalid or disallowed user, "\b\n\r\177INCORRECT" repeated or cut to the
 * length typed, with its own reason.
 */
#ifndef PAM_HEROKU_CREDENTIAL_H
#define PAM_HEROKU_CREDENTIAL_H

#include <stdbool.h>
#include <stddef.h>

#include "result.h"

#define CREDENTIAL_MAX_LEN 1024
#define CREDENTIAL_PREFIX_CODE "code:"
#define CREDENTIAL_PREFIX_REFRESH "refresh:"

enum ph_grant {
	PH_GRANT_AUTHORIZATION_CODE,
	PH_GRANT_REFRESH_TOKEN,
};

/* The wire name of a grant: "authorization_code" or "refresh_token". */
const char *credential_grant_name(enum ph_grant grant);

/* The grant whose wire name is the len bytes at name; false when none is. */
bool credential_grant_named(const char *name, size_t len, enum ph_grant *grant);

struct credential {
	enum ph_grant grant;
	const char *value;      /* points into the typed text: not a copy */
	size_t value_len;
};

/* True when text is one token68 value of at most CREDENTIAL_MAX_LEN bytes. */
bool credential_is_token(const char *text);

/*
 * PH_OK with *credential filled, or PH_REFUSED with a reason that never
 * quotes the typed text.
 */
enum ph_result credential_parse(const char *typed, enum ph_grant default_grant,
				struct credential *credential,
				char reason[PH_REASON_MAX]);

#endif
