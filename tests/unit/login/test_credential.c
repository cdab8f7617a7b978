/*
 * test_credential.c - what the user typed, as a grant, or refused locally.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "credential.h"

/* A distinctive text so a reason that quotes the credential is caught. */
#define MARK "Zq7Kx9Wv"

static void assert_refused(const char *typed, enum ph_grant default_grant, const char *what)
{
	struct credential cred;
	char reason[PH_REASON_MAX] = "";
	enum ph_result r;

	memset(&cred, 0, sizeof cred);
	r = credential_parse(typed, default_grant, &cred, reason);
	ck_assert_msg(r == PH_REFUSED, "%s: result %s, want refused", what, ph_result_name(r));
	ck_assert_msg(reason[0] != '\0', "%s: empty reason", what);
	ck_assert_msg(strstr(reason, MARK) == NULL, "%s: reason quotes the credential: %s",
		      what, reason);
}

static void assert_parsed(const char *typed, enum ph_grant default_grant,
			  enum ph_grant want_grant, size_t prefix_len, const char *what)
{
	struct credential cred;
	char reason[PH_REASON_MAX] = "";
	enum ph_result r;

	memset(&cred, 0, sizeof cred);
	r = credential_parse(typed, default_grant, &cred, reason);
	ck_assert_msg(r == PH_OK, "%s: result %s (%s), want ok", what, ph_result_name(r), reason);
	ck_assert_msg(cred.grant == want_grant, "%s: grant %d, want %d", what,
		      (int)cred.grant, (int)want_grant);
	ck_assert_msg(cred.value == typed + prefix_len,
		      "%s: value does not point into the typed text after the prefix", what);
	ck_assert_msg(cred.value_len == strlen(typed) - prefix_len, "%s: value_len %zu, want %zu",
		      what, cred.value_len, strlen(typed) - prefix_len);
}

/* ------------------------------------------------------------------------ */

START_TEST(test_prefix_code)
{
	assert_parsed("code:abc", PH_GRANT_AUTHORIZATION_CODE, PH_GRANT_AUTHORIZATION_CODE, 5,
		      "code: default code");
	assert_parsed("code:abc", PH_GRANT_REFRESH_TOKEN, PH_GRANT_AUTHORIZATION_CODE, 5,
		      "code: default refresh");
}
END_TEST

START_TEST(test_prefix_refresh)
{
	assert_parsed("refresh:abc", PH_GRANT_AUTHORIZATION_CODE, PH_GRANT_REFRESH_TOKEN, 8,
		      "refresh: default code");
	assert_parsed("refresh:abc", PH_GRANT_REFRESH_TOKEN, PH_GRANT_REFRESH_TOKEN, 8,
		      "refresh: default refresh");
}
END_TEST

START_TEST(test_no_prefix_uses_default)
{
	assert_parsed("abc", PH_GRANT_AUTHORIZATION_CODE, PH_GRANT_AUTHORIZATION_CODE, 0,
		      "bare, default code");
	assert_parsed("abc", PH_GRANT_REFRESH_TOKEN, PH_GRANT_REFRESH_TOKEN, 0,
		      "bare, default refresh");
}
END_TEST

START_TEST(test_value_exact)
{
	struct credential cred;
	char reason[PH_REASON_MAX] = "";
	const char *typed = "refresh:HRKU-AA0123_abc";

	ck_assert_int_eq(credential_parse(typed, PH_GRANT_AUTHORIZATION_CODE, &cred, reason),
			 PH_OK);
	ck_assert_uint_eq(cred.value_len, strlen("HRKU-AA0123_abc"));
	ck_assert_mem_eq(cred.value, "HRKU-AA0123_abc", cred.value_len);
}
END_TEST

static const char *const good_values[] = {
	"x",
	"AZaz09-._~+/",
	"HRKU-AA0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV_-",
	"01234567-89ab-cdef-0123-456789abcdef",
	"abc=",
	"abc==",
	"abc===",
	"a+b/c==",
	"~",
	"-",
};

START_TEST(test_token68_accepted)
{
	const char *v = good_values[_i];
	char typed[128];

	assert_parsed(v, PH_GRANT_AUTHORIZATION_CODE, PH_GRANT_AUTHORIZATION_CODE, 0, v);
	snprintf(typed, sizeof typed, "code:%s", v);
	assert_parsed(typed, PH_GRANT_REFRESH_TOKEN, PH_GRANT_AUTHORIZATION_CODE, 5, typed);
	snprintf(typed, sizeof typed, "refresh:%s", v);
	assert_parsed(typed, PH_GRANT_AUTHORIZATION_CODE, PH_GRANT_REFRESH_TOKEN, 8, typed);
}
END_TEST

START_TEST(test_empty_refused)
{
	assert_refused("", PH_GRANT_AUTHORIZATION_CODE, "empty");
	assert_refused("", PH_GRANT_REFRESH_TOKEN, "empty, default refresh");
	assert_refused("code:", PH_GRANT_AUTHORIZATION_CODE, "code: alone");
	assert_refused("refresh:", PH_GRANT_AUTHORIZATION_CODE, "refresh: alone");
}
END_TEST

START_TEST(test_null_refused)
{
	assert_refused(NULL, PH_GRANT_AUTHORIZATION_CODE, "NULL");
}
END_TEST

START_TEST(test_prefix_case_sensitive)
{
	assert_refused("CODE:" MARK, PH_GRANT_AUTHORIZATION_CODE, "CODE:");
	assert_refused("Code:" MARK, PH_GRANT_AUTHORIZATION_CODE, "Code:");
	assert_refused("REFRESH:" MARK, PH_GRANT_AUTHORIZATION_CODE, "REFRESH:");
	assert_refused("Refresh:" MARK, PH_GRANT_AUTHORIZATION_CODE, "Refresh:");
	assert_refused("code:code:" MARK, PH_GRANT_AUTHORIZATION_CODE, "code:code:");
	assert_refused("refresh:code:" MARK, PH_GRANT_AUTHORIZATION_CODE, "refresh:code:");
	assert_refused("token:" MARK, PH_GRANT_AUTHORIZATION_CODE, "token:");
	assert_refused(":" MARK, PH_GRANT_AUTHORIZATION_CODE, "leading colon");
}
END_TEST

/* value of exactly n bytes, with an optional prefix */
static char *make_value(const char *prefix, size_t n)
{
	size_t plen = strlen(prefix);
	char *typed = malloc(plen + n + 1);

	ck_assert_ptr_nonnull(typed);
	memcpy(typed, prefix, plen);
	for (size_t i = 0; i < n; i++)
		typed[plen + i] = "abcdefghijklmnopqrstuvwxyz0123456789"[i % 36];
	typed[plen + n] = '\0';
	/* put the mark in so a reason quoting the value is noticed */
	if (n >= strlen(MARK))
		memcpy(typed + plen, MARK, strlen(MARK));
	return typed;
}

static const char *const prefixes[] = { "", "code:", "refresh:" };

START_TEST(test_length_limit)
{
	const char *prefix = prefixes[_i];
	char *typed;

	ck_assert_int_eq(CREDENTIAL_MAX_LEN, 1024);

	typed = make_value(prefix, 1024);
	assert_parsed(typed, PH_GRANT_AUTHORIZATION_CODE,
		      _i == 2 ? PH_GRANT_REFRESH_TOKEN : PH_GRANT_AUTHORIZATION_CODE,
		      strlen(prefix), "1024 bytes");
	free(typed);

	typed = make_value(prefix, 1025);
	assert_refused(typed, PH_GRANT_AUTHORIZATION_CODE, "1025 bytes");
	free(typed);

	typed = make_value(prefix, 100000);
	assert_refused(typed, PH_GRANT_AUTHORIZATION_CODE, "100000 bytes");
	free(typed);

	/* padding counts toward the limit */
	typed = make_value(prefix, 1024);
	typed[strlen(typed) - 1] = '=';
	typed[strlen(typed) - 2] = '=';
	assert_parsed(typed, PH_GRANT_AUTHORIZATION_CODE,
		      _i == 2 ? PH_GRANT_REFRESH_TOKEN : PH_GRANT_AUTHORIZATION_CODE,
		      strlen(prefix), "1024 bytes with padding");
	free(typed);
}
END_TEST

/* Every byte outside token68 (other than '=', tested on its own). */
static const char bad_chars[] = {
	' ', '!', '"', '#', '$', '%', '&', '\'', '(', ')', '*', ',', ':', ';', '<', '>',
	'?', '@', '[', '\\', ']', '^', '`', '{', '|', '}',
	'\t', '\n', '\r', '\x01', '\x1b', '\x7f',
	(char)0x80, (char)0xc3, (char)0xa9, (char)0xff,
};

START_TEST(test_bad_char_refused)
{
	char c = bad_chars[_i];
	char typed[64];
	char what[64];

	snprintf(what, sizeof what, "byte 0x%02x", (unsigned)(unsigned char)c);

	/* middle, start and end of a bare value */
	snprintf(typed, sizeof typed, "%s%cabc", MARK, c);
	assert_refused(typed, PH_GRANT_AUTHORIZATION_CODE, what);
	snprintf(typed, sizeof typed, "%c%s", c, MARK);
	assert_refused(typed, PH_GRANT_AUTHORIZATION_CODE, what);
	snprintf(typed, sizeof typed, "%s%c", MARK, c);
	assert_refused(typed, PH_GRANT_AUTHORIZATION_CODE, what);
	/* after each prefix */
	snprintf(typed, sizeof typed, "code:%s%c", MARK, c);
	assert_refused(typed, PH_GRANT_AUTHORIZATION_CODE, what);
	snprintf(typed, sizeof typed, "refresh:%c%s", c, MARK);
	assert_refused(typed, PH_GRANT_AUTHORIZATION_CODE, what);
	/* alone */
	snprintf(typed, sizeof typed, "%c", c);
	assert_refused(typed, PH_GRANT_AUTHORIZATION_CODE, what);
}
END_TEST

START_TEST(test_every_ascii_outside_token68_refused)
{
	/* A sweep over all single bytes: exactly token68 characters pass. */
	const char *set = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/";

	for (int b = 1; b < 256; b++) {
		char typed[32];
		struct credential cred;
		char reason[PH_REASON_MAX] = "";
		enum ph_result r;
		bool in_set = b != '=' && strchr(set, b) != NULL;

		snprintf(typed, sizeof typed, "ab%ccd", (char)b);
		r = credential_parse(typed, PH_GRANT_AUTHORIZATION_CODE, &cred, reason);
		ck_assert_msg(r == (in_set ? PH_OK : PH_REFUSED), "byte 0x%02x: result %s",
			      (unsigned)b, ph_result_name(r));
	}
}
END_TEST

START_TEST(test_sshd_substitute_named)
{
	/* OpenSSH's fake_password: "\b\n\r\177INCORRECT" repeated or cut to the
	 * length the user typed; refused with a reason that names sshd. */
	static const char *const substitutes[] = {
		"\b", "\b\n\r\177", "\b\n\r\177INCORRECT", "\b\n\r\177INCORRECT\b\n\r\177INC",
		"\b\n\r\177INCORRECT\b\n\r\177INCORRECT\b",
	};
	static const char *const others[] = { "\bx", "\b\n\r\177INCORRECTX", "INCORRECT" };

	for (size_t i = 0; i < sizeof substitutes / sizeof substitutes[0]; i++) {
		struct credential cred;
		char reason[PH_REASON_MAX] = "";

		ck_assert_int_eq(credential_parse(substitutes[i], PH_GRANT_AUTHORIZATION_CODE, &cred,
						  reason), PH_REFUSED);
		ck_assert_msg(strstr(reason, "sshd refused the account before PAM") != NULL,
			      "substitute %zu: reason %s", i, reason);
	}
	for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
		struct credential cred;
		char reason[PH_REASON_MAX] = "";

		credential_parse(others[i], PH_GRANT_AUTHORIZATION_CODE, &cred, reason);
		ck_assert_msg(strstr(reason, "sshd") == NULL, "other %zu named sshd: %s", i, reason);
	}
}
END_TEST

START_TEST(test_padding_rules)
{
	assert_refused(MARK "=d", PH_GRANT_AUTHORIZATION_CODE, "abc=d");
	assert_refused(MARK "==d", PH_GRANT_AUTHORIZATION_CODE, "abc==d");
	assert_refused(MARK "=d=", PH_GRANT_AUTHORIZATION_CODE, "abc=d=");
	assert_refused("=" MARK, PH_GRANT_AUTHORIZATION_CODE, "=abc");
	assert_refused("=", PH_GRANT_AUTHORIZATION_CODE, "=");
	assert_refused("==", PH_GRANT_AUTHORIZATION_CODE, "==");
	assert_refused("code:=", PH_GRANT_AUTHORIZATION_CODE, "code:=");
	assert_refused("refresh:==", PH_GRANT_AUTHORIZATION_CODE, "refresh:==");
	assert_refused("code:=" MARK, PH_GRANT_AUTHORIZATION_CODE, "code:=abc");
	assert_parsed("code:abc=", PH_GRANT_REFRESH_TOKEN, PH_GRANT_AUTHORIZATION_CODE, 5,
		      "code:abc=");
}
END_TEST

/* An exported access token: the credential's token68 rule, with no prefix. */
START_TEST(test_is_token)
{
	char longest[CREDENTIAL_MAX_LEN + 2];

	ck_assert(credential_is_token("abc"));
	ck_assert(credential_is_token("a+b/c=="));
	ck_assert(!credential_is_token(""));
	ck_assert(!credential_is_token("code:abc"));
	ck_assert(!credential_is_token("refresh:abc"));
	ck_assert(!credential_is_token("a b"));
	ck_assert(!credential_is_token("ab=c"));
	memset(longest, 'x', CREDENTIAL_MAX_LEN);
	longest[CREDENTIAL_MAX_LEN] = '\0';
	ck_assert(credential_is_token(longest));
	longest[CREDENTIAL_MAX_LEN] = 'x';
	longest[CREDENTIAL_MAX_LEN + 1] = '\0';
	ck_assert(!credential_is_token(longest));
}
END_TEST

Suite *credential_suite(void)
{
	Suite *s = suite_create("credential");
	TCase *tc = tcase_create("credential_parse");

	tcase_add_test(tc, test_prefix_code);
	tcase_add_test(tc, test_prefix_refresh);
	tcase_add_test(tc, test_no_prefix_uses_default);
	tcase_add_test(tc, test_value_exact);
	tcase_add_loop_test(tc, test_token68_accepted, 0,
			    (int)(sizeof good_values / sizeof good_values[0]));
	tcase_add_test(tc, test_empty_refused);
	tcase_add_test(tc, test_null_refused);
	tcase_add_test(tc, test_prefix_case_sensitive);
	tcase_add_loop_test(tc, test_length_limit, 0, (int)(sizeof prefixes / sizeof prefixes[0]));
	tcase_add_loop_test(tc, test_bad_char_refused, 0, (int)sizeof bad_chars);
	tcase_add_test(tc, test_every_ascii_outside_token68_refused);
	tcase_add_test(tc, test_padding_rules);
	tcase_add_test(tc, test_sshd_substitute_named);
	tcase_add_test(tc, test_is_token);
	suite_add_tcase(s, tc);
	return s;
}
