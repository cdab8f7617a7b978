/*
 * fuzz_token_response.c - libFuzzer target: the API's answer (status + body).
 *
 * Input: a first line "STATUS" or "STATUS t" (t: the module wants
 * access_token.token, as with export_access_token=yes), then the body.
 * Without a leading number the whole input is a 201 body with the token
 * wanted, so mutations that break the first line still reach the JSON path.
 * The body is handed over in a buffer of exactly its length (no NUL after
 * it), so AddressSanitizer sees any read past the end.
 *
 * Besides memory errors, the target checks what token_response promises:
 * PH_OK only for 201 with a canonical UUID as user.id, a session id of
 * [A-Za-z0-9._:-]{1,128} or none, an access token only when wanted and
 * token68; PH_REFUSED only for 400/401/403/404/422; and no control
 * character in anything that reaches a terminal or a log line.
 */
#include "config.h"

#include <ctype.h>
#include <stdbool.h>

#include "fuzz_util.h"
#include "token_response.h"

static bool is_refusal(long status)
{
	return status == 400 || status == 401 || status == 403 || status == 404 || status == 422;
}

/* RFC 6750 token68: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static bool is_token68(const char *text, size_t len)
{
	static const char chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				    "0123456789-._~+/";
	size_t body = strspn(text, chars);

	return body > 0 && body + strspn(text + body, "=") == len;
}

static void check_success(const struct token_response *r, bool want_token)
{
	FUZZ_CHECK(uuid_is_valid(r->user_id, strlen(r->user_id)));
	FUZZ_CHECK(strlen(r->session_id) <= TOKEN_RESPONSE_SESSION_MAX);
	for (const char *c = r->session_id; *c; c++)
		FUZZ_CHECK(isalnum((unsigned char)*c) || strchr("._:-", *c) != NULL);
	FUZZ_CHECK(want_token == (r->access_token != NULL));
	if (r->access_token != NULL) {
		size_t len = strlen(r->access_token);

		FUZZ_CHECK(len >= 1 && len <= 1024);
		FUZZ_CHECK(is_token68(r->access_token, len));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct token_response response;
	char reason[PH_REASON_MAX];
	enum ph_result result;
	bool want_token = true;
	long status = 0;
	size_t digits = 0;
	char *body;

	while (digits < size && digits < 3 && isdigit(data[digits]))
		status = status * 10 + (data[digits++] - '0');
	if (digits > 0) {
		size_t i = digits;

		want_token = i + 1 < size && data[i] == ' ' && data[i + 1] == 't';
		while (i < size && data[i] != '\n')
			i++;
		if (i < size)
			i++;
		data += i;
		size -= i;
	} else {
		status = 201;
	}

	/* Exactly size bytes (malloc(0) may be NULL: the parser must cope). */
	body = size ? malloc(size) : NULL;
	if (size && body == NULL)
		abort();
	if (size)
		memcpy(body, data, size);
	memset(reason, 0x55, sizeof reason);
	reason[sizeof reason - 1] = '\0';

	result = token_response_parse(status, body, size, want_token, &response, reason);

	FUZZ_CHECK(result == PH_OK || result == PH_REFUSED || result == PH_UNAVAILABLE);
	FUZZ_CHECK(memchr(reason, '\0', sizeof reason) != NULL);
	FUZZ_CHECK(fuzz_no_control(reason));
	FUZZ_CHECK(fuzz_no_control(response.message));
	FUZZ_CHECK(fuzz_no_control(response.error_id));
	FUZZ_CHECK(strlen(response.message) <= SANITIZE_MESSAGE_MAX);
	if (result == PH_OK) {
		FUZZ_CHECK(status == 201);
		check_success(&response, want_token);
	} else {
		FUZZ_CHECK(response.access_token == NULL);
	}
	if (result == PH_REFUSED)
		FUZZ_CHECK(is_refusal(status));
	if (is_refusal(status))
		FUZZ_CHECK(result == PH_REFUSED);

	token_response_clear(&response);
	FUZZ_CHECK(response.access_token == NULL);
	free(body);
	return 0;
}
