/*
 * fuzz_wire.c - libFuzzer target: the helper's reply and request as read
 * off the pipe (exchange_wire.c).
 *
 * The reply comes from pam_heroku_exchange, which parses what the network
 * sent: were it subverted, these bytes are what it would write.  The first
 * input byte picks the decoder (even: reply, odd: request), the rest is the
 * message, in a buffer of exactly its length.  Besides memory errors the
 * target checks what the decoder promises: a decoded request has its
 * required fields, a timeout in range and encodes again in no more bytes
 * than it came in (nothing invented); every text field of a reply is free
 * of control characters; and a refused message leaves nothing behind.
 */
#include "config.h"

#include <stdbool.h>

#include "exchange_wire.h"
#include "fuzz_util.h"
#include "secret.h"

static void check_text(const char *text)
{
	for (const unsigned char *c = (const unsigned char *)text; *c; c++)
		FUZZ_CHECK(*c >= 0x20 && *c != 0x7f);
}

static void fuzz_reply(const char *data, size_t size)
{
	struct wire_reply reply;
	char reason[PH_REASON_MAX] = "";

	if (!wire_reply_decode(data, size, &reply, reason)) {
		FUZZ_CHECK(reply.response.access_token == NULL && reply.result == PH_OK &&
			   reply.reason[0] == '\0');
		FUZZ_CHECK(reason[0] != '\0');
		return;
	}
	FUZZ_CHECK(reply.result >= PH_OK && reply.result <= PH_MISCONFIGURED);
	check_text(reply.reason);
	check_text(reply.request_id);
	check_text(reply.response.user_id);
	check_text(reply.response.message);
	if (reply.response.access_token != NULL)
		FUZZ_CHECK(strlen(reply.response.access_token) <= 1024);
	wire_reply_clear(&reply);
}

static void fuzz_request(const char *data, size_t size)
{
	struct wire_request request;
	char reason[PH_REASON_MAX] = "";
	char *again = NULL;
	size_t again_len = 0;

	if (!wire_request_decode(data, size, &request, reason)) {
		FUZZ_CHECK(request.credential == NULL && request.ca_pem == NULL);
		return;
	}
	FUZZ_CHECK(request.credential != NULL && request.api_url != NULL);
	FUZZ_CHECK(request.timeout >= SETTINGS_TIMEOUT_MIN &&
		   request.timeout <= SETTINGS_TIMEOUT_MAX);
	FUZZ_CHECK(wire_request_encode(&request, &again, &again_len));
	FUZZ_CHECK(again_len <= size);
	secret_free_len(again, again_len);
	wire_request_clear(&request);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy;

	if (size < 1)
		return 0;
	copy = malloc(size - 1 ? size - 1 : 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data + 1, size - 1);
	if (data[0] & 1)
		fuzz_request(copy, size - 1);
	else
		fuzz_reply(copy, size - 1);
	free(copy);
	return 0;
}
