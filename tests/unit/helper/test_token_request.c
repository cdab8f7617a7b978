/*
 * test_token_request.c - the JSON body of POST /oauth/tokens.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "unit.h"
#include "credential.h"
#include "secret.h"
#include "token_request.h"

static struct credential cred_of(enum ph_grant grant, const char *value)
{
	struct credential c;

	c.grant = grant;
	c.value = value;
	c.value_len = strlen(value);
	return c;
}

struct body_case {
	enum ph_grant grant;
	const char *value;
	const char *secret;
	const char *want;
};

static const struct body_case body_cases[] = {
	{ PH_GRANT_AUTHORIZATION_CODE, "XXXX", "S",
	  "{\"grant\":{\"type\":\"authorization_code\",\"code\":\"XXXX\"},"
	  "\"client\":{\"secret\":\"S\"},\"refresh_token\":{}}" },
	{ PH_GRANT_REFRESH_TOKEN, "XXXX", "S",
	  "{\"grant\":{\"type\":\"refresh_token\"},\"client\":{\"secret\":\"S\"},"
	  "\"refresh_token\":{\"token\":\"XXXX\"}}" },
	{ PH_GRANT_AUTHORIZATION_CODE, "a+b/c~d.e_f-g==", "01234567-89ab-cdef-0123-456789abcdef",
	  "{\"grant\":{\"type\":\"authorization_code\",\"code\":\"a+b/c~d.e_f-g==\"},"
	  "\"client\":{\"secret\":\"01234567-89ab-cdef-0123-456789abcdef\"},"
	  "\"refresh_token\":{}}" },
};

START_TEST(test_no_secret_no_body)
{
	/* Heroku requires client in every request: no secret, no request. */
	struct credential cred = cred_of(PH_GRANT_AUTHORIZATION_CODE, "XXXX");

	ck_assert_ptr_null(token_request_body(&cred, NULL));
	cred = cred_of(PH_GRANT_REFRESH_TOKEN, "XXXX");
	ck_assert_ptr_null(token_request_body(&cred, NULL));
}
END_TEST

START_TEST(test_body_exact)
{
	const struct body_case *c = &body_cases[_i];
	struct credential cred = cred_of(c->grant, c->value);
	char *body = token_request_body(&cred, c->secret);

	ck_assert_ptr_nonnull(body);
	ck_assert_str_eq(body, c->want);
	secret_free(body);
}
END_TEST

/* Parse the body and check its shape with cJSON. */
static void check_structure(const char *body, enum ph_grant grant, const char *value,
			    const char *secret)
{
	cJSON *root = cJSON_Parse(body);
	cJSON *g, *type, *item, *refresh;
	int keys = 0;

	ck_assert_msg(root != NULL, "body is not JSON");
	ck_assert(cJSON_IsObject(root));
	for (cJSON *k = root->child; k != NULL; k = k->next)
		keys++;

	g = cJSON_GetObjectItemCaseSensitive(root, "grant");
	ck_assert(cJSON_IsObject(g));
	type = cJSON_GetObjectItemCaseSensitive(g, "type");
	ck_assert(cJSON_IsString(type));
	refresh = cJSON_GetObjectItemCaseSensitive(root, "refresh_token");
	ck_assert(cJSON_IsObject(refresh));
	if (grant == PH_GRANT_AUTHORIZATION_CODE) {
		ck_assert_str_eq(type->valuestring, "authorization_code");
		item = cJSON_GetObjectItemCaseSensitive(g, "code");
		ck_assert(cJSON_IsString(item));
		ck_assert_str_eq(item->valuestring, value);
		ck_assert_ptr_null(refresh->child);     /* "refresh_token":{} */
	} else {
		ck_assert_str_eq(type->valuestring, "refresh_token");
		ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(g, "code"));
		item = cJSON_GetObjectItemCaseSensitive(refresh, "token");
		ck_assert(cJSON_IsString(item));
		ck_assert_str_eq(item->valuestring, value);
	}
	item = cJSON_GetObjectItemCaseSensitive(root, "client");
	ck_assert(cJSON_IsObject(item));
	item = cJSON_GetObjectItemCaseSensitive(item, "secret");
	ck_assert(cJSON_IsString(item));
	ck_assert_str_eq(item->valuestring, secret);
	ck_assert_int_eq(keys, 3);
	cJSON_Delete(root);
}

START_TEST(test_body_structure)
{
	const struct body_case *c = &body_cases[_i];
	struct credential cred = cred_of(c->grant, c->value);
	char *body = token_request_body(&cred, c->secret);

	ck_assert_ptr_nonnull(body);
	check_structure(body, c->grant, c->value, c->secret);
	secret_free(body);
}
END_TEST

START_TEST(test_secret_escaped)
{
	/* A secret with a quote, a backslash, a slash and controls is escaped
	 * by cJSON, never pasted: the body parses back to the same secret. */
	static const char *const secrets[] = {
		"a\"b\\c",
		"\",\"grant\":{\"type\":\"password\"},\"x\":\"",
		"line1\nline2\ttab\x01",
		"}}]]{{",
		"caf\xc3\xa9",
	};

	for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
		struct credential cred = cred_of(PH_GRANT_REFRESH_TOKEN, "XXXX");
		char *body = token_request_body(&cred, secrets[i]);

		ck_assert_ptr_nonnull(body);
		check_structure(body, PH_GRANT_REFRESH_TOKEN, "XXXX", secrets[i]);
		secret_free(body);
	}
	{
		struct credential cred = cred_of(PH_GRANT_AUTHORIZATION_CODE, "XXXX");
		char *body = token_request_body(&cred, "a\"b\\c");

		ck_assert_ptr_nonnull(body);
		ck_assert_str_eq(body,
			"{\"grant\":{\"type\":\"authorization_code\",\"code\":\"XXXX\"},"
			"\"client\":{\"secret\":\"a\\\"b\\\\c\"},\"refresh_token\":{}}");
		secret_free(body);
	}
}
END_TEST

START_TEST(test_value_len_honoured)
{
	/* value/value_len is a slice of the typed text: only value_len bytes go out. */
	struct credential cred;
	char *body;

	cred.grant = PH_GRANT_AUTHORIZATION_CODE;
	cred.value = "XXXXYYYY";
	cred.value_len = 4;
	body = token_request_body(&cred, "S");
	ck_assert_ptr_nonnull(body);
	ck_assert_str_eq(body, "{\"grant\":{\"type\":\"authorization_code\",\"code\":\"XXXX\"},"
			 "\"client\":{\"secret\":\"S\"},\"refresh_token\":{}}");
	secret_free(body);
}
END_TEST

START_TEST(test_from_credential_parse)
{
	static const struct {
		const char *typed;
		enum ph_grant default_grant;
		const char *want;
	} rows[] = {
		{ "code:abc", PH_GRANT_REFRESH_TOKEN,
		  "{\"grant\":{\"type\":\"authorization_code\",\"code\":\"abc\"},"
		  "\"client\":{\"secret\":\"S\"},\"refresh_token\":{}}" },
		{ "refresh:abc", PH_GRANT_AUTHORIZATION_CODE,
		  "{\"grant\":{\"type\":\"refresh_token\"},\"client\":{\"secret\":\"S\"},"
		  "\"refresh_token\":{\"token\":\"abc\"}}" },
		{ "abc==", PH_GRANT_REFRESH_TOKEN,
		  "{\"grant\":{\"type\":\"refresh_token\"},\"client\":{\"secret\":\"S\"},"
		  "\"refresh_token\":{\"token\":\"abc==\"}}" },
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct credential cred;
		char reason[PH_REASON_MAX] = "";
		char *body;

		ck_assert_int_eq(credential_parse(rows[i].typed, rows[i].default_grant, &cred,
						  reason), PH_OK);
		body = token_request_body(&cred, "S");
		ck_assert_ptr_nonnull(body);
		ck_assert_str_eq(body, rows[i].want);
		secret_free(body);
	}
}
END_TEST

START_TEST(test_long_value)
{
	char value[CREDENTIAL_MAX_LEN + 1];
	struct credential cred;
	char *body;

	memset(value, 'k', CREDENTIAL_MAX_LEN);
	value[CREDENTIAL_MAX_LEN] = '\0';
	cred = cred_of(PH_GRANT_REFRESH_TOKEN, value);
	body = token_request_body(&cred, "S");
	ck_assert_ptr_nonnull(body);
	check_structure(body, PH_GRANT_REFRESH_TOKEN, value, "S");
	secret_free(body);
}
END_TEST

/*
 * Both bodies, as the module builds them, checked against Heroku's own
 * published schema for the link (tests/heroku-schema/, vendored from
 * heroku/platform-api) by python3-jsonschema: not against a copy of our
 * reading of it.
 */
static void write_body(const char *path, enum ph_grant grant)
{
	struct credential cred = cred_of(grant, "HRKU-AAbc_-01234567");
	char *body = token_request_body(&cred, "01234567-89ab-cdef-0123-456789abcdef");
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(body);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(body, f), 0);
	ck_assert_int_eq(fclose(f), 0);
	secret_free(body);
}

START_TEST(test_bodies_valid_against_heroku_schema)
{
	const char *srcdir = getenv("abs_top_srcdir");
	char dir[] = "/tmp/pam_heroku-schema.XXXXXX";
	char code[sizeof dir + 16], refresh[sizeof dir + 16], command[PATH_MAX * 2];
	int status;

	if (access("/usr/bin/python3", X_OK) != 0)
		ck_abort_msg("/usr/bin/python3 (with python3-jsonschema) is needed");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(code, sizeof code, "%s/code.json", dir);
	snprintf(refresh, sizeof refresh, "%s/refresh.json", dir);
	write_body(code, PH_GRANT_AUTHORIZATION_CODE);
	write_body(refresh, PH_GRANT_REFRESH_TOKEN);
	snprintf(command, sizeof command,
		 "/usr/bin/python3 '%s/tests/heroku-schema/validate.py' '%s' '%s' >&2",
		 srcdir ? srcdir : ".", code, refresh);
	status = system(command);
	unlink(code);
	unlink(refresh);
	rmdir(dir);
	ck_assert_msg(status == 0, "Heroku's schema refuses a body (see above): status %d", status);
}
END_TEST

START_TEST(test_grant_names)
{
	ck_assert_str_eq(credential_grant_name(PH_GRANT_AUTHORIZATION_CODE), "authorization_code");
	ck_assert_str_eq(credential_grant_name(PH_GRANT_REFRESH_TOKEN), "refresh_token");
}
END_TEST

Suite *token_request_suite(void)
{
	Suite *s = suite_create("token_request");
	TCase *tc = tcase_create("token_request_body");
	int n = (int)(sizeof body_cases / sizeof body_cases[0]);

	tcase_add_loop_test(tc, test_body_exact, 0, n);
	tcase_add_loop_test(tc, test_body_structure, 0, n);
	tcase_add_test(tc, test_no_secret_no_body);
	tcase_add_test(tc, test_bodies_valid_against_heroku_schema);
	tcase_add_test(tc, test_secret_escaped);
	tcase_add_test(tc, test_value_len_honoured);
	tcase_add_test(tc, test_from_credential_parse);
	tcase_add_test(tc, test_long_value);
	tcase_add_test(tc, test_grant_names);
	suite_add_tcase(s, tc);
	return s;
}
