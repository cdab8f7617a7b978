/*
 * credential.c - the typed password as a grant, or refused with no request
 * (credential.h).  Reasons never quote what was typed: it may be a real
 * secret typed in the wrong box.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ascii.h"
#include "credential.h"

const char *credential_grant_name(enum ph_grant grant)
{
	return grant == PH_GRANT_REFRESH_TOKEN ? "refresh_token" : "authorization_code";
}

bool credential_grant_named(const char *name, size_t len, enum ph_grant *grant)
{
	static const enum ph_grant all[] = { PH_GRANT_AUTHORIZATION_CODE, PH_GRANT_REFRESH_TOKEN };

	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		const char *known = credential_grant_name(all[i]);

		if (strlen(known) == len && strncmp(known, name, len) == 0) {
			*grant = all[i];
			return true;
		}
	}
	return false;
}

static bool is_token68_char(char c)
{
	return is_ascii_alnum(c) || (c != '\0' && strchr("-._~+/", c) != NULL);
}

/* 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static bool is_token68(const char *value, size_t len)
{
	size_t body = 0;

	while (body < len && is_token68_char(value[body]))
		body++;
	if (body == 0)
		return false;
	for (size_t i = body; i < len; i++)
		if (value[i] != '=')
			return false;
	return true;
}

bool credential_is_token(const char *text)
{
	size_t len = strnlen(text, CREDENTIAL_MAX_LEN + 1);

	return len <= CREDENTIAL_MAX_LEN && is_token68(text, len);
}

/*
 * OpenSSH answers for an invalid or disallowed user (PermitRootLogin, an
 * unknown account) with a junk password of the typed password's length:
 * "\b\n\r\177INCORRECT" repeated or cut (its fake_password()).
 */
static bool is_sshd_substitute(const char *typed)
{
	static const char junk[] = "\b\n\r\177INCORRECT";
	size_t i;

	for (i = 0; typed[i] != '\0'; i++)
		if (typed[i] != junk[i % (sizeof junk - 1)])
			return false;
	return i > 0;
}

static bool strip_prefix(const char **text, const char *prefix)
{
	size_t len = strlen(prefix);

	if (strncmp(*text, prefix, len) != 0)
		return false;
	*text += len;
	return true;
}

enum ph_result credential_parse(const char *typed, enum ph_grant default_grant,
				struct credential *credential,
				char reason[PH_REASON_MAX])
{
	const char *value = typed;
	size_t len;

	if (typed == NULL)
		return ph_reason(reason, PH_REFUSED, "no credential was given");
	if (is_sshd_substitute(typed))
		return ph_reason(reason, PH_REFUSED, "sshd refused the account before PAM "
				 "(its substitute answer for an invalid or disallowed user)");
	if (strip_prefix(&value, CREDENTIAL_PREFIX_CODE))
		credential->grant = PH_GRANT_AUTHORIZATION_CODE;
	else if (strip_prefix(&value, CREDENTIAL_PREFIX_REFRESH))
		credential->grant = PH_GRANT_REFRESH_TOKEN;
	else
		credential->grant = default_grant;

	len = strnlen(value, CREDENTIAL_MAX_LEN + 1);
	if (len == 0)
		return ph_reason(reason, PH_REFUSED, "the credential is empty");
	if (len > CREDENTIAL_MAX_LEN)
		return ph_reason(reason, PH_REFUSED, "the credential is longer than %d bytes",
				 CREDENTIAL_MAX_LEN);
	if (!is_token68(value, len))
		return ph_reason(reason, PH_REFUSED,
				 "the credential holds a character that no grant code or token has");
	credential->value = value;
	credential->value_len = len;
	return PH_OK;
}
