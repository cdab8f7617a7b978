/*
 * fuzz_credential.c - libFuzzer target: the typed credential, and the
 * request body built from an accepted one.
 *
 * Input: the text typed at the password prompt (a C string: it ends at the
 * first NUL, as it does when it comes from PAM), in a buffer of exactly its
 * size so AddressSanitizer sees a read past the terminator.
 *
 * credential_parse runs with both default grants; an accepted credential
 * must be 1-1024 bytes of token68 inside the typed text, with the grant its
 * prefix names.  Its request body (token_request_body, with and without a
 * client secret holding JSON's special characters) must parse back with
 * cJSON into exactly the documented shape, carrying the value unchanged.
 */
#include "config.h"

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "credential.h"
#include "fuzz_util.h"
#include "secret.h"
#include "token_request.h"

/* A client secret with the characters JSON must escape (the real one is blank-free). */
static const char fuzz_secret[] = "s\"e\\c/r<e>t&'\xc3\xa9";

static const cJSON *member(const cJSON *object, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(object, name);
}

static bool string_is(const cJSON *item, const char *text, size_t len)
{
	return cJSON_IsString(item) && strlen(item->valuestring) == len &&
	       memcmp(item->valuestring, text, len) == 0;
}

/* The body parses back into exactly the interface's shape: grant, client
 * and refresh_token, always (Heroku's schema requires all three). */
static void check_body(const char *body, const struct credential *credential,
		       const char *secret)
{
	cJSON *root = cJSON_Parse(body);
	const cJSON *grant, *type, *client, *refresh;

	FUZZ_CHECK(root != NULL && cJSON_IsObject(root));
	FUZZ_CHECK(fuzz_no_control(body));
	FUZZ_CHECK(cJSON_GetArraySize(root) == 3);
	grant = member(root, "grant");
	FUZZ_CHECK(cJSON_IsObject(grant));
	type = member(grant, "type");
	FUZZ_CHECK(cJSON_IsString(type));
	FUZZ_CHECK(strcmp(type->valuestring, credential_grant_name(credential->grant)) == 0);
	refresh = member(root, "refresh_token");
	FUZZ_CHECK(cJSON_IsObject(refresh));
	if (credential->grant == PH_GRANT_AUTHORIZATION_CODE) {
		FUZZ_CHECK(cJSON_GetArraySize(grant) == 2);
		FUZZ_CHECK(string_is(member(grant, "code"), credential->value,
				     credential->value_len));
		FUZZ_CHECK(cJSON_GetArraySize(refresh) == 0);
	} else {
		FUZZ_CHECK(cJSON_GetArraySize(grant) == 1);
		FUZZ_CHECK(cJSON_GetArraySize(refresh) == 1);
		FUZZ_CHECK(string_is(member(refresh, "token"), credential->value,
				     credential->value_len));
	}
	client = member(root, "client");
	FUZZ_CHECK(cJSON_IsObject(client) && cJSON_GetArraySize(client) == 1);
	FUZZ_CHECK(string_is(member(client, "secret"), secret, strlen(secret)));
	cJSON_Delete(root);
}

static bool is_token68(const char *value, size_t len)
{
	static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				    "0123456789-._~+/";
	size_t body = 0;

	while (body < len && value[body] != '\0' && strchr(chars, value[body]) != NULL)
		body++;
	if (body == 0)
		return false;
	for (size_t i = body; i < len; i++)
		if (value[i] != '=')
			return false;
	return true;
}

static void check_accepted(const char *typed, const struct credential *c,
			   enum ph_grant default_grant)
{
	size_t typed_len = strlen(typed);
	enum ph_grant expected = default_grant;

	if (strncmp(typed, CREDENTIAL_PREFIX_CODE, strlen(CREDENTIAL_PREFIX_CODE)) == 0)
		expected = PH_GRANT_AUTHORIZATION_CODE;
	else if (strncmp(typed, CREDENTIAL_PREFIX_REFRESH, strlen(CREDENTIAL_PREFIX_REFRESH)) == 0)
		expected = PH_GRANT_REFRESH_TOKEN;
	FUZZ_CHECK(c->grant == expected);
	FUZZ_CHECK(c->value >= typed && c->value + c->value_len == typed + typed_len);
	FUZZ_CHECK(c->value_len >= 1 && c->value_len <= CREDENTIAL_MAX_LEN);
	FUZZ_CHECK(is_token68(c->value, c->value_len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum ph_grant grants[] = { PH_GRANT_AUTHORIZATION_CODE, PH_GRANT_REFRESH_TOKEN };
	char *typed = fuzz_strndup(data, size);
	enum ph_result first = PH_OK;

	for (size_t g = 0; g < sizeof grants / sizeof grants[0]; g++) {
		struct credential credential;
		char reason[PH_REASON_MAX];
		enum ph_result result;

		memset(&credential, 0, sizeof credential);
		result = credential_parse(typed, grants[g], &credential, reason);
		FUZZ_CHECK(result == PH_OK || result == PH_REFUSED);
		if (g == 0)
			first = result;
		FUZZ_CHECK(result == first);    /* the default grant never decides acceptance */
		if (result != PH_OK) {
			FUZZ_CHECK(memchr(reason, '\0', sizeof reason) != NULL);
			continue;
		}
		check_accepted(typed, &credential, grants[g]);
		{
			char *body = token_request_body(&credential, fuzz_secret);

			FUZZ_CHECK(body != NULL);
			check_body(body, &credential, fuzz_secret);
			secret_free(body);
			/* No secret, no body: nothing could be sent without one. */
			FUZZ_CHECK(token_request_body(&credential, NULL) == NULL);
		}
	}
	free(typed);
	return 0;
}
