/*
 * test_token_response.c - the API's answer judged.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "token_response.h"

#define UUID_LOWER "01234567-89ab-cdef-0123-456789abcdef"
#define UUID_UPPER "01234567-89AB-CDEF-0123-456789ABCDEF"
#define SESSION "5e551010-aaaa-4bbb-8ccc-000000000001"
/* Distinctive token texts, so a reason or message that quotes one is caught. */
#define ACCESS_MARK "SeCrEtAcCeSs"
#define REFRESH_MARK "SeCrEtReFrEsH"
#define ACCESS_TOKEN "HRKU-AA" ACCESS_MARK "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"
#define REFRESH_TOKEN "HRKU-AA" REFRESH_MARK "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJK"

/* Fragments for building bodies. */
#define USER(id) "\"user\":{\"id\":" id "}"
#define SESS(id) "\"session\":{\"id\":" id "}"
#define ACCESS(tok) "\"access_token\":{\"expires_in\":28799,\"id\":\"" UUID_LOWER "\",\"token\":" tok "}"
#define Q(s) "\"" s "\""

/* A full 201 body as Heroku sends it. */
#define FULL_BODY(user_id, session_id) \
	"{\"access_token\":{\"expires_in\":28799,\"id\":\"aaaaaaaa-1111-4222-8333-444444444444\"," \
	"\"token\":\"" ACCESS_TOKEN "\"}," \
	"\"authorization\":{\"id\":\"bbbbbbbb-1111-4222-8333-444444444444\"}," \
	"\"client\":null,\"created_at\":\"2024-05-01T00:00:00Z\"," \
	"\"grant\":{\"code\":\"cccccccc-1111-4222-8333-444444444444\",\"type\":\"authorization_code\"}," \
	"\"id\":\"dddddddd-1111-4222-8333-444444444444\"," \
	"\"refresh_token\":{\"expires_in\":null,\"id\":\"eeeeeeee-1111-4222-8333-444444444444\"," \
	"\"token\":\"" REFRESH_TOKEN "\"}," \
	"\"session\":{\"id\":\"" session_id "\"}," \
	"\"updated_at\":\"2024-05-01T00:00:00Z\",\"user\":{\"id\":\"" user_id "\"}}"

#define ERROR_401 "{\"id\":\"unauthorized\",\"message\":\"Invalid credentials provided.\"}"

/* ------------------------------------------------------------------------ */

static void prime(struct token_response *resp)
{
	/* As if the struct had been used before: stale values must not survive. */
	memset(resp, 0, sizeof *resp);
	strcpy(resp->user_id, "stale");
	strcpy(resp->session_id, "stale");
	strcpy(resp->error_id, "stale");
	strcpy(resp->message, "stale");
}

static void assert_reason_clean(const char *reason, const char *what)
{
	ck_assert_msg(reason[0] != '\0', "%s: empty reason", what);
	ck_assert_msg(strstr(reason, ACCESS_MARK) == NULL && strstr(reason, REFRESH_MARK) == NULL,
		      "%s: reason quotes a token", what);
}

static enum ph_result parse_len(long status, const char *body, size_t len, bool want,
				struct token_response *resp, char reason[PH_REASON_MAX])
{
	prime(resp);
	reason[0] = '\0';
	return token_response_parse(status, body, len, want, resp, reason);
}

static void assert_ok(const char *body, bool want, const char *user, const char *session,
		      const char *what)
{
	struct token_response resp;
	char reason[PH_REASON_MAX];
	enum ph_result r = parse_len(201, body, strlen(body), want, &resp, reason);
	bool copied = resp.access_token != NULL;

	token_response_clear(&resp);   /* first, so a failed check leaks nothing */
	ck_assert_msg(r == PH_OK, "%s: result %s (%s), want ok", what, ph_result_name(r), reason);
	ck_assert_msg(strcmp(resp.user_id, user) == 0, "%s: user_id \"%s\", want \"%s\"",
		      what, resp.user_id, user);
	ck_assert_msg(strcmp(resp.session_id, session) == 0, "%s: session_id \"%s\", want \"%s\"",
		      what, resp.session_id, session);
	if (!want)
		ck_assert_msg(!copied, "%s: access token copied unasked", what);
	else
		ck_assert_msg(copied, "%s: access token not copied", what);
}

static void assert_malformed_len(const char *body, size_t len, bool want, const char *what)
{
	struct token_response resp;
	char reason[PH_REASON_MAX];
	enum ph_result r = parse_len(201, body, len, want, &resp, reason);

	token_response_clear(&resp);   /* first, so a failed check leaks nothing */
	ck_assert_ptr_null(resp.access_token);
	ck_assert_msg(r == PH_UNAVAILABLE, "%s: result %s, want unavailable", what,
		      ph_result_name(r));
	assert_reason_clean(reason, what);
}

static void assert_malformed(const char *body, bool want, const char *what)
{
	assert_malformed_len(body, strlen(body), want, what);
}

/* ------------------------------------------------------------------------
 * Success.
 */

START_TEST(test_full_body_ok)
{
	assert_ok(FULL_BODY(UUID_LOWER, SESSION), false, UUID_LOWER, SESSION, "full body");
}
END_TEST

START_TEST(test_user_id_case_kept)
{
	/* token_response.h: user_id is kept as the API sent it (HEROKU_USER_ID
	 * is user.id); every comparison of ids is case-insensitive. */
	assert_ok(FULL_BODY(UUID_UPPER, SESSION), false, UUID_UPPER, SESSION, "upper-case id");
	assert_ok("{" USER(Q("aAaAaAaA-bBbB-4cCc-8dDd-EeEeEeEeEeEe")) "}", false,
		  "aAaAaAaA-bBbB-4cCc-8dDd-EeEeEeEeEeEe", "", "mixed-case id");
}
END_TEST

START_TEST(test_minimal_body_ok)
{
	assert_ok("{" USER(Q(UUID_LOWER)) "}", false, UUID_LOWER, "", "user only");
	assert_ok("{\"user\":{\"id\":\"" UUID_LOWER "\",\"email\":\"a@b\"},\"x\":[1,{}]}", false,
		  UUID_LOWER, "", "extra keys");
	assert_ok(" \n\t{" USER(Q(UUID_LOWER)) "} \r\n", false, UUID_LOWER, "",
		  "surrounding whitespace");
	assert_ok("{" USER(Q(UUID_LOWER)) ",\"name\":\"Ren\xc3\xa9" "e \xf0\x9f\x98\x80\"}", false,
		  UUID_LOWER, "", "UTF-8 in another field");
	assert_ok("{" USER(Q(UUID_LOWER)) ",\"name\":\"a\\\\u0000\"}", false, UUID_LOWER, "",
		  "escaped backslash before u0000 text");
}
END_TEST

START_TEST(test_session_absent_or_null)
{
	assert_ok("{" USER(Q(UUID_LOWER)) "}", false, UUID_LOWER, "", "no session");
	assert_ok("{" USER(Q(UUID_LOWER)) ",\"session\":null}", false, UUID_LOWER, "",
		  "session null");
	assert_ok("{" USER(Q(UUID_LOWER)) "," SESS("null") "}", false, UUID_LOWER, "",
		  "session.id null");
	assert_ok("{" USER(Q(UUID_LOWER)) ",\"session\":{}}", false, UUID_LOWER, "",
		  "session.id absent");
}
END_TEST

START_TEST(test_session_id_allowed_chars)
{
	static const char chars[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-";
	char session[TOKEN_RESPONSE_SESSION_MAX + 1];
	char body[512];

	for (size_t i = 0; i < TOKEN_RESPONSE_SESSION_MAX; i++)
		session[i] = chars[i % (sizeof chars - 1)];
	session[TOKEN_RESPONSE_SESSION_MAX] = '\0';
	ck_assert_int_eq(TOKEN_RESPONSE_SESSION_MAX, 128);

	snprintf(body, sizeof body, "{" USER(Q(UUID_LOWER)) "," SESS("\"%s\"") "}", session);
	assert_ok(body, false, UUID_LOWER, session, "128-byte session id");
	assert_ok("{" USER(Q(UUID_LOWER)) "," SESS(Q("a")) "}", false, UUID_LOWER, "a",
		  "1-byte session id");
	assert_ok("{" USER(Q(UUID_LOWER)) "," SESS(Q("a.b:c_d-e")) "}", false, UUID_LOWER,
		  "a.b:c_d-e", "punctuation");
}
END_TEST

START_TEST(test_body_len_honoured)
{
	/* Only body_len bytes are the body; what follows in memory is not. */
	const char *buffer = "{" USER(Q(UUID_LOWER)) "}GARBAGE";
	size_t len = strlen(buffer) - strlen("GARBAGE");
	struct token_response resp;
	char reason[PH_REASON_MAX];

	ck_assert_int_eq(parse_len(201, buffer, len, false, &resp, reason), PH_OK);
	ck_assert_str_eq(resp.user_id, UUID_LOWER);
	token_response_clear(&resp);
}
END_TEST

/* ------------------------------------------------------------------------
 * The access token.
 */

START_TEST(test_access_token_copied)
{
	struct token_response resp;
	char reason[PH_REASON_MAX];
	const char *body = FULL_BODY(UUID_LOWER, SESSION);

	ck_assert_int_eq(parse_len(201, body, strlen(body), true, &resp, reason), PH_OK);
	ck_assert_ptr_nonnull(resp.access_token);
	ck_assert_str_eq(resp.access_token, ACCESS_TOKEN);
	ck_assert_str_eq(resp.user_id, UUID_LOWER);
	ck_assert_str_eq(resp.session_id, SESSION);
	token_response_clear(&resp);
	ck_assert_ptr_null(resp.access_token);
	token_response_clear(&resp);  /* twice is fine */
	ck_assert_ptr_null(resp.access_token);
}
END_TEST

START_TEST(test_access_token_padding_and_limit)
{
	char token[1026];
	char body[1400];
	struct token_response resp;
	char reason[PH_REASON_MAX];

	assert_ok("{" USER(Q(UUID_LOWER)) "," ACCESS(Q("abc==")) "}", true, UUID_LOWER, "",
		  "padded token");

	memset(token, 't', sizeof token);
	token[1024] = '\0';
	snprintf(body, sizeof body, "{" USER(Q(UUID_LOWER)) "," ACCESS("\"%s\"") "}", token);
	ck_assert_int_eq(parse_len(201, body, strlen(body), true, &resp, reason), PH_OK);
	ck_assert_ptr_nonnull(resp.access_token);
	ck_assert_uint_eq(strlen(resp.access_token), 1024);
	token_response_clear(&resp);

	token[1024] = 't';
	token[1025] = '\0';
	snprintf(body, sizeof body, "{" USER(Q(UUID_LOWER)) "," ACCESS("\"%s\"") "}", token);
	assert_malformed(body, true, "1025-byte access token");
}
END_TEST

START_TEST(test_access_token_ignored_unasked)
{
	assert_ok("{" USER(Q(UUID_LOWER)) "}", false, UUID_LOWER, "", "missing, unasked");
	assert_ok("{" USER(Q(UUID_LOWER)) "," ACCESS(Q("bad " ACCESS_MARK "\\u001b[0m")) "}", false,
		  UUID_LOWER, "", "bad token, unasked");
	assert_ok("{" USER(Q(UUID_LOWER)) ",\"access_token\":42}", false, UUID_LOWER, "",
		  "number, unasked");
}
END_TEST

/* ------------------------------------------------------------------------
 * Malformed 201 bodies: PH_UNAVAILABLE.
 */

struct malformed_case {
	const char *name;
	const char *body;
	bool want_access_token;
};

static const struct malformed_case malformed_cases[] = {
	/* not a JSON object */
	{ "not JSON", "<html>hello</html>", false },
	{ "truncated", "{\"user\": {\"id\": \"01234567-89ab", false },
	{ "truncated after value", "{" USER(Q(UUID_LOWER)), false },
	{ "empty", "", false },
	{ "blank", "  \n", false },
	{ "array", "[1, 2, 3]", false },
	{ "array of object", "[{" USER(Q(UUID_LOWER)) "}]", false },
	{ "string", "\"" UUID_LOWER "\"", false },
	{ "number", "201", false },
	{ "null", "null", false },
	{ "true", "true", false },
	{ "trailing comma", "{" USER(Q(UUID_LOWER)) ",}", false },
	{ "single quotes", "{'user':{'id':'" UUID_LOWER "'}}", false },

	/* user */
	{ "user missing", "{}", false },
	{ "user missing, session present", "{" SESS(Q(SESSION)) "}", false },
	{ "user null", "{\"user\":null}", false },
	{ "user string", "{\"user\":\"" UUID_LOWER "\"}", false },
	{ "user number", "{\"user\":42}", false },
	{ "user array", "{\"user\":[\"" UUID_LOWER "\"]}", false },
	{ "user key case", "{\"User\":{\"id\":\"" UUID_LOWER "\"}}", false },
	{ "user.id missing", "{\"user\":{}}", false },
	{ "user.id key case", "{\"user\":{\"ID\":\"" UUID_LOWER "\"}}", false },
	{ "user.id null", "{" USER("null") "}", false },
	{ "user.id number", "{" USER("42") "}", false },
	{ "user.id true", "{" USER("true") "}", false },
	{ "user.id object", "{" USER("{\"id\":\"" UUID_LOWER "\"}") "}", false },
	{ "user.id array", "{" USER("[\"" UUID_LOWER "\"]") "}", false },
	{ "user.id empty", "{" USER(Q("")) "}", false },
	{ "user.id not a uuid", "{" USER(Q("not-a-uuid")) "}", false },
	{ "user.id 35 chars", "{" USER(Q("01234567-89ab-cdef-0123-456789abcde")) "}", false },
	{ "user.id 37 chars", "{" USER(Q("01234567-89ab-cdef-0123-456789abcdef0")) "}", false },
	{ "user.id non-hex", "{" USER(Q("01234567-89ab-cdef-0123-456789abcdeg")) "}", false },
	{ "user.id dash moved", "{" USER(Q("0123456-789ab-cdef-0123-456789abcdef")) "}", false },
	{ "user.id no dashes", "{" USER(Q("0123456789abcdef0123456789abcdef0123")) "}", false },
	{ "user.id braces", "{" USER(Q("{" UUID_LOWER "}")) "}", false },
	{ "user.id urn", "{" USER(Q("urn:uuid:" UUID_LOWER)) "}", false },
	{ "user.id leading space", "{" USER(Q(" 01234567-89ab-cdef-0123-456789abcde")) "}", false },
	{ "user.id trailing newline", "{" USER(Q(UUID_LOWER "\\n")) "}", false },
	{ "user.id escaped NUL", "{" USER(Q(UUID_LOWER "\\u0000x")) "}", false },

	/* session */
	{ "session string", "{" USER(Q(UUID_LOWER)) ",\"session\":\"" SESSION "\"}", false },
	{ "session number", "{" USER(Q(UUID_LOWER)) ",\"session\":42}", false },
	{ "session true", "{" USER(Q(UUID_LOWER)) ",\"session\":true}", false },
	{ "session array", "{" USER(Q(UUID_LOWER)) ",\"session\":[]}", false },
	{ "session.id number", "{" USER(Q(UUID_LOWER)) "," SESS("42") "}", false },
	{ "session.id object", "{" USER(Q(UUID_LOWER)) "," SESS("{}") "}", false },
	{ "session.id array", "{" USER(Q(UUID_LOWER)) "," SESS("[]") "}", false },
	{ "session.id true", "{" USER(Q(UUID_LOWER)) "," SESS("true") "}", false },
	{ "session.id empty", "{" USER(Q(UUID_LOWER)) "," SESS(Q("")) "}", false },
	{ "session.id space", "{" USER(Q(UUID_LOWER)) "," SESS(Q("abc def")) "}", false },
	{ "session.id newline", "{" USER(Q(UUID_LOWER)) "," SESS(Q("abc\\ninjected")) "}", false },
	{ "session.id CR", "{" USER(Q(UUID_LOWER)) "," SESS(Q("abc\\r")) "}", false },
	{ "session.id slash", "{" USER(Q(UUID_LOWER)) "," SESS(Q("abc/def")) "}", false },
	{ "session.id escape", "{" USER(Q(UUID_LOWER)) "," SESS(Q("\\u001b[31m")) "}", false },
	{ "session.id quote", "{" USER(Q(UUID_LOWER)) "," SESS(Q("a\\\"b")) "}", false },
	{ "session.id semicolon", "{" USER(Q(UUID_LOWER)) "," SESS(Q("a;b")) "}", false },
	{ "session.id dollar", "{" USER(Q(UUID_LOWER)) "," SESS(Q("$(id)")) "}", false },
	{ "session.id non-ascii", "{" USER(Q(UUID_LOWER)) "," SESS(Q("caf\xc3\xa9")) "}", false },
	{ "session.id escaped NUL", "{" USER(Q(UUID_LOWER)) "," SESS(Q("abc\\u0000 x")) "}", false },

	/* a key the module reads, twice */
	{ "user twice",
	  "{\"user\":{\"id\":\"" UUID_LOWER "\"},\"user\":{\"id\":\"99999999-9999-4999-8999-999999999999\"}}",
	  false },
	{ "user.id twice",
	  "{\"user\":{\"id\":\"" UUID_LOWER "\",\"id\":\"99999999-9999-4999-8999-999999999999\"}}",
	  false },
	{ "user.id twice, same value",
	  "{\"user\":{\"id\":\"" UUID_LOWER "\",\"id\":\"" UUID_LOWER "\"}}", false },
	{ "session twice",
	  "{" USER(Q(UUID_LOWER)) "," SESS(Q("a")) "," SESS(Q("b")) "}", false },
	{ "session.id twice",
	  "{" USER(Q(UUID_LOWER)) ",\"session\":{\"id\":\"a\",\"id\":\"b\"}}", false },
	{ "access_token twice",
	  "{" USER(Q(UUID_LOWER)) "," ACCESS(Q("a")) "," ACCESS(Q("b")) "}", true },
	{ "access_token.token twice",
	  "{" USER(Q(UUID_LOWER)) ",\"access_token\":{\"token\":\"a\",\"token\":\"b\"}}", true },

	/* trailing garbage */
	{ "trailing text", "{" USER(Q(UUID_LOWER)) "}x", false },
	{ "trailing object", "{" USER(Q(UUID_LOWER)) "}{}", false },
	{ "second object", "{" USER(Q(UUID_LOWER)) "}\n{" USER(Q(UUID_LOWER)) "}", false },
	{ "trailing comma after object", "{" USER(Q(UUID_LOWER)) "},", false },

	/* the access token, when asked for */
	{ "access_token missing", "{" USER(Q(UUID_LOWER)) "}", true },
	{ "access_token null", "{" USER(Q(UUID_LOWER)) ",\"access_token\":null}", true },
	{ "access_token string", "{" USER(Q(UUID_LOWER)) ",\"access_token\":\"" ACCESS_TOKEN "\"}", true },
	{ "access_token number", "{" USER(Q(UUID_LOWER)) ",\"access_token\":42}", true },
	{ "access_token.token missing", "{" USER(Q(UUID_LOWER)) ",\"access_token\":{}}", true },
	{ "access_token.token null", "{" USER(Q(UUID_LOWER)) "," ACCESS("null") "}", true },
	{ "access_token.token number", "{" USER(Q(UUID_LOWER)) "," ACCESS("42") "}", true },
	{ "access_token.token object", "{" USER(Q(UUID_LOWER)) "," ACCESS("{}") "}", true },
	{ "access_token.token empty", "{" USER(Q(UUID_LOWER)) "," ACCESS(Q("")) "}", true },
	{ "access_token.token space",
	  "{" USER(Q(UUID_LOWER)) "," ACCESS(Q("bad " ACCESS_MARK)) "}", true },
	{ "access_token.token escape",
	  "{" USER(Q(UUID_LOWER)) "," ACCESS(Q(ACCESS_MARK "\\u001b[0m")) "}", true },
	{ "access_token.token newline",
	  "{" USER(Q(UUID_LOWER)) "," ACCESS(Q(ACCESS_MARK "\\nX=1")) "}", true },
	{ "access_token.token inner =",
	  "{" USER(Q(UUID_LOWER)) "," ACCESS(Q(ACCESS_MARK "=x")) "}", true },
	{ "access_token.token only =", "{" USER(Q(UUID_LOWER)) "," ACCESS(Q("==")) "}", true },
	{ "access_token.token non-ascii",
	  "{" USER(Q(UUID_LOWER)) "," ACCESS(Q(ACCESS_MARK "\xc3\xa9")) "}", true },
	/* JSON text must be UTF-8 (RFC 8259), also where the module does not look */
	{ "raw 0xff in another field", "{" USER(Q(UUID_LOWER)) ",\"name\":\"a\xff\"}", false },
	{ "overlong in another field", "{" USER(Q(UUID_LOWER)) ",\"name\":\"\xc0\xaf\"}", false },
	{ "access_token.token escaped NUL",
	  "{" USER(Q(UUID_LOWER)) "," ACCESS(Q(ACCESS_MARK "\\u0000x")) "}", true },
	/* a good token does not save a bad user */
	{ "good token, bad user", "{" USER(Q("nope")) "," ACCESS(Q(ACCESS_TOKEN)) "}", true },
};

START_TEST(test_malformed)
{
	const struct malformed_case *c = &malformed_cases[_i];

	assert_malformed(c->body, c->want_access_token, c->name);
}
END_TEST

START_TEST(test_session_id_129_bytes)
{
	char session[TOKEN_RESPONSE_SESSION_MAX + 2];
	char body[512];

	memset(session, 'a', TOKEN_RESPONSE_SESSION_MAX + 1);
	session[TOKEN_RESPONSE_SESSION_MAX + 1] = '\0';
	snprintf(body, sizeof body, "{" USER(Q(UUID_LOWER)) "," SESS("\"%s\"") "}", session);
	assert_malformed(body, false, "129-byte session id");

	{
		char big[301];

		memset(big, 'a', 300);
		big[300] = '\0';
		snprintf(body, sizeof body, "{" USER(Q(UUID_LOWER)) "," SESS("\"%s\"") "}", big);
	}
	assert_malformed(body, false, "long session id");
}
END_TEST

START_TEST(test_embedded_nul)
{
	/* A valid object, then a NUL, then more: body_len covers it all. */
	static const char with_tail[] = "{" USER(Q(UUID_LOWER)) "}\0{\"user\":{\"id\":\"x\"}}";
	static const char inside[] = "{\"user\":{\"id\":\"" UUID_LOWER "\"}\0}";
	static const char at_end[] = "{" USER(Q(UUID_LOWER)) "}\0";

	assert_malformed_len(with_tail, sizeof with_tail - 1, false, "NUL then tail");
	assert_malformed_len(inside, sizeof inside - 1, false, "NUL inside");
	assert_malformed_len(at_end, sizeof at_end - 1, false, "NUL at end");
}
END_TEST

START_TEST(test_null_body)
{
	struct token_response resp;
	char reason[PH_REASON_MAX];

	ck_assert_int_eq(parse_len(201, NULL, 0, false, &resp, reason), PH_UNAVAILABLE);
	ck_assert(reason[0] != '\0');
	token_response_clear(&resp);
	ck_assert_int_eq(parse_len(401, NULL, 0, false, &resp, reason), PH_REFUSED);
	ck_assert(reason[0] != '\0');
	ck_assert_str_eq(resp.message, "");
	token_response_clear(&resp);
}
END_TEST

/* ------------------------------------------------------------------------
 * Status.
 */

static const long unavailable_statuses[] = {
	200, 202, 204, 301, 302, 304, 307, 399, 402, 405, 409, 418, 429, 500, 502, 503, 504,
	0, -1, 100, 199, 299, 308, 410, 421, 499, 599, 600, 999, 2010, 201201,
};

START_TEST(test_status_unavailable)
{
	long status = unavailable_statuses[_i];
	const char *body = FULL_BODY(UUID_LOWER, SESSION);
	struct token_response resp;
	char reason[PH_REASON_MAX];
	char what[32];
	enum ph_result r;

	snprintf(what, sizeof what, "status %ld", status);
	r = parse_len(status, body, strlen(body), true, &resp, reason);
	ck_assert_msg(r == PH_UNAVAILABLE, "%s with a success body: %s", what, ph_result_name(r));
	assert_reason_clean(reason, what);
	token_response_clear(&resp);

	r = parse_len(status, ERROR_401, strlen(ERROR_401), false, &resp, reason);
	ck_assert_msg(r == PH_UNAVAILABLE, "%s with an error body: %s", what, ph_result_name(r));
	assert_reason_clean(reason, what);
	token_response_clear(&resp);
}
END_TEST

static const long refused_statuses[] = { 400, 401, 403, 404, 422 };

START_TEST(test_status_refused)
{
	long status = refused_statuses[_i];
	struct token_response resp;
	char reason[PH_REASON_MAX];
	enum ph_result r;
	const char *success = FULL_BODY(UUID_LOWER, SESSION);

	r = parse_len(status, ERROR_401, strlen(ERROR_401), false, &resp, reason);
	ck_assert_msg(r == PH_REFUSED, "status %ld: %s", status, ph_result_name(r));
	ck_assert_str_eq(resp.error_id, "unauthorized");
	ck_assert_str_eq(resp.message, "Invalid credentials provided.");
	assert_reason_clean(reason, "refused");
	token_response_clear(&resp);

	/* not JSON: still refused, no message */
	r = parse_len(status, "<html>nope</html>", 17, false, &resp, reason);
	ck_assert_msg(r == PH_REFUSED, "status %ld, html: %s", status, ph_result_name(r));
	ck_assert_str_eq(resp.message, "");
	ck_assert_str_eq(resp.error_id, "");
	assert_reason_clean(reason, "refused html");
	token_response_clear(&resp);

	/* empty body */
	r = parse_len(status, "", 0, false, &resp, reason);
	ck_assert_msg(r == PH_REFUSED, "status %ld, empty: %s", status, ph_result_name(r));
	ck_assert_str_eq(resp.message, "");
	assert_reason_clean(reason, "refused empty");
	token_response_clear(&resp);

	/* JSON that is not an error object */
	r = parse_len(status, "[\"x\"]", 5, false, &resp, reason);
	ck_assert_msg(r == PH_REFUSED, "status %ld, array: %s", status, ph_result_name(r));
	ck_assert_str_eq(resp.message, "");
	token_response_clear(&resp);

	/* even a success body does not turn a refusal into a success */
	r = parse_len(status, success, strlen(success), true, &resp, reason);
	ck_assert_msg(r == PH_REFUSED, "status %ld, success body: %s", status, ph_result_name(r));
	assert_reason_clean(reason, "refused, success body");
	ck_assert_msg(resp.message[0] == '\0' || strstr(resp.message, ACCESS_MARK) == NULL,
		      "message quotes a token");
	token_response_clear(&resp);
	ck_assert_ptr_null(resp.access_token);
}
END_TEST

START_TEST(test_refusal_message_sanitised)
{
	/* escapes, CR/LF, a forged log line, and more than 200 bytes */
	char body[1024];
	char want[1024];
	char xs[301];
	struct token_response resp;
	char reason[PH_REASON_MAX];

	memset(xs, 'x', 300);
	xs[300] = '\0';
	snprintf(body, sizeof body,
		 "{\"id\":\"unauthorized\",\"message\":\"\\u001b[31mred\\u001b]0;title\\u0007 text"
		 "\\r\\nMay  1 00:00:00 host sshd[1]: Accepted password for root%s\"}", xs);
	snprintf(want, sizeof want,
		 "[31mred]0;title textMay  1 00:00:00 host sshd[1]: Accepted password for root%s", xs);
	want[SANITIZE_MESSAGE_MAX] = '\0';

	ck_assert_int_eq(parse_len(401, body, strlen(body), false, &resp, reason), PH_REFUSED);
	ck_assert_str_eq(resp.message, want);
	ck_assert_uint_eq(strlen(resp.message), 200);
	ck_assert_ptr_null(strchr(resp.message, '\x1b'));
	ck_assert_ptr_null(strchr(resp.message, '\n'));
	ck_assert_ptr_null(strchr(resp.message, '\r'));
	ck_assert_str_eq(resp.error_id, "unauthorized");
	token_response_clear(&resp);
}
END_TEST

START_TEST(test_refusal_fields_odd)
{
	struct token_response resp;
	char reason[PH_REASON_MAX];
	const char *body;
	char idbody[256];
	char longid[101];

	/* C1 control and raw invalid UTF-8 dropped too */
	body = "{\"id\":\"bad\\u001b[0mid\",\"message\":\"a\\u0085b\xff" "c\\u007fd\"}";
	ck_assert_int_eq(parse_len(403, body, strlen(body), false, &resp, reason), PH_REFUSED);
	ck_assert_str_eq(resp.error_id, "bad[0mid");
	ck_assert_str_eq(resp.message, "abcd");
	token_response_clear(&resp);

	/* wrong types: refused, fields empty */
	body = "{\"id\":42,\"message\":{\"text\":\"x\"}}";
	ck_assert_int_eq(parse_len(422, body, strlen(body), false, &resp, reason), PH_REFUSED);
	ck_assert_str_eq(resp.error_id, "");
	ck_assert_str_eq(resp.message, "");
	token_response_clear(&resp);

	/* fields missing */
	body = "{\"url\":\"https://devcenter.heroku.com\"}";
	ck_assert_int_eq(parse_len(404, body, strlen(body), false, &resp, reason), PH_REFUSED);
	ck_assert_str_eq(resp.error_id, "");
	ck_assert_str_eq(resp.message, "");
	token_response_clear(&resp);

	/* a long id is cut to its field */
	memset(longid, 'i', 100);
	longid[100] = '\0';
	snprintf(idbody, sizeof idbody, "{\"id\":\"%s\",\"message\":\"m\"}", longid);
	ck_assert_int_eq(parse_len(400, idbody, strlen(idbody), false, &resp, reason), PH_REFUSED);
	ck_assert_uint_eq(strlen(resp.error_id), sizeof resp.error_id - 1);
	ck_assert_str_eq(resp.message, "m");
	token_response_clear(&resp);
}
END_TEST

/* ------------------------------------------------------------------------
 * uuid_is_valid.
 */

struct uuid_case {
	const char *text;
	bool want;
};

static const struct uuid_case uuid_cases[] = {
	{ UUID_LOWER, true },
	{ UUID_UPPER, true },
	{ "aAaAaAaA-bBbB-4cCc-8dDd-EeEeEeEeEeEe", true },
	{ "00000000-0000-0000-0000-000000000000", true },
	{ "ffffffff-ffff-ffff-ffff-ffffffffffff", true },
	{ "", false },
	{ "01234567-89ab-cdef-0123-456789abcde", false },
	{ "01234567-89ab-cdef-0123-456789abcdef0", false },
	{ "01234567-89ab-cdef-0123-456789abcdeg", false },
	{ "g1234567-89ab-cdef-0123-456789abcdef", false },
	{ "0123456-789ab-cdef-0123-456789abcdef", false },
	{ "01234567-89abc-def-0123-456789abcdef", false },
	{ "01234567-89ab-cdef0-123-456789abcdef", false },
	{ "01234567-89ab-cdef-01234-56789abcdef", false },
	{ "01234567_89ab_cdef_0123_456789abcdef", false },
	{ "0123456789abcdef0123456789abcdef0123", false },
	{ "{1234567-89ab-cdef-0123-456789abcde}", false },
	{ " 1234567-89ab-cdef-0123-456789abcdef", false },
	{ "01234567-89ab-cdef-0123-456789abcde ", false },
	{ "01234567-89ab-cdef-0123-456789abcd\xc3\xa9", false },
	{ "------------------------------------", false },
	{ "01234567-89ab-cdef-0123+456789abcdef", false },
};

START_TEST(test_is_uuid)
{
	const struct uuid_case *c = &uuid_cases[_i];

	ck_assert_msg(uuid_is_valid(c->text, strlen(c->text)) == c->want,
		      "\"%s\": want %s", c->text, c->want ? "true" : "false");
}
END_TEST

START_TEST(test_is_uuid_uses_len)
{
	/* the length given is the text: a prefix or an overlong slice is no UUID */
	ck_assert(!uuid_is_valid(UUID_LOWER, 35));
	ck_assert(!uuid_is_valid(UUID_LOWER "0", 37));
	ck_assert(!uuid_is_valid(UUID_LOWER, 0));
	ck_assert(uuid_is_valid(UUID_LOWER "trailing", 36));
	ck_assert(!uuid_is_valid("01234567-89ab-cdef-0123-456789abcd\0ef", 36));
}
END_TEST

Suite *token_response_suite(void)
{
	Suite *s = suite_create("token_response");
	TCase *ok = tcase_create("success");
	TCase *bad = tcase_create("malformed");
	TCase *status = tcase_create("status");
	TCase *uuid = tcase_create("is_uuid");

	tcase_add_test(ok, test_full_body_ok);
	tcase_add_test(ok, test_user_id_case_kept);
	tcase_add_test(ok, test_minimal_body_ok);
	tcase_add_test(ok, test_session_absent_or_null);
	tcase_add_test(ok, test_session_id_allowed_chars);
	tcase_add_test(ok, test_body_len_honoured);
	tcase_add_test(ok, test_access_token_copied);
	tcase_add_test(ok, test_access_token_padding_and_limit);
	tcase_add_test(ok, test_access_token_ignored_unasked);
	suite_add_tcase(s, ok);

	tcase_add_loop_test(bad, test_malformed, 0,
			    (int)(sizeof malformed_cases / sizeof malformed_cases[0]));
	tcase_add_test(bad, test_session_id_129_bytes);
	tcase_add_test(bad, test_embedded_nul);
	tcase_add_test(bad, test_null_body);
	suite_add_tcase(s, bad);

	tcase_add_loop_test(status, test_status_unavailable, 0,
			    (int)(sizeof unavailable_statuses / sizeof unavailable_statuses[0]));
	tcase_add_loop_test(status, test_status_refused, 0,
			    (int)(sizeof refused_statuses / sizeof refused_statuses[0]));
	tcase_add_test(status, test_refusal_message_sanitised);
	tcase_add_test(status, test_refusal_fields_odd);
	suite_add_tcase(s, status);

	tcase_add_loop_test(uuid, test_is_uuid, 0, (int)(sizeof uuid_cases / sizeof uuid_cases[0]));
	tcase_add_test(uuid, test_is_uuid_uses_len);
	suite_add_tcase(s, uuid);
	return s;
}
