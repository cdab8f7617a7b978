/*
 * bad_helper.c - a misbehaving pam_heroku_exchange, for tests/privsep/run only.
 *
 * The test build of the module runs it in place of the real helper
 * (PAM_HEROKU_TEST_EXCHANGE_HELPER, exchange_path.c).  It reads the request
 * and waits for the go byte like the real one (exchange_wire.h), then
 * misbehaves as the api_url's host says.  Each way
 * ends, if the module let it, in a reply granting alice: so a login that
 * succeeds shows that the module believed what it must not.
 *
 *   kill.invalid      a complete granting reply, then SIGKILL to itself
 *   hang.invalid      sleeps 60 s, then the granting reply
 *   trailing.invalid  the granting reply with bytes after it
 *   repeat.invalid    a granting reply with user_id twice
 *   short.invalid     half of the granting reply, then exit 0
 *   execve.invalid    the real sandbox, then execve of itself, which (were
 *                     it allowed) writes the granting reply
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exchange_wire.h"
#include "sandbox.h"
#include "secret.h"

#define ALICE "01234567-89ab-cdef-0123-456789abcdef"

static void put(const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(1, data, len);

		if (n <= 0)
			return;
		data += n;
		len -= (size_t)n;
	}
}

static void grant_alice(const char *mode)
{
	struct wire_reply reply;
	char *data;
	size_t len;

	memset(&reply, 0, sizeof reply);
	reply.result = PH_OK;
	reply.status = 201;
	snprintf(reply.reason, sizeof reply.reason, "granted by a bad helper (%s)", mode);
	snprintf(reply.response.user_id, sizeof reply.response.user_id, "%s", ALICE);
	if (!wire_reply_encode(&reply, &data, &len))
		_exit(3);
	if (strcmp(mode, "short") == 0) {
		put(data, len / 2);
	} else if (strcmp(mode, "repeat") == 0) {
		/* One more user_id field (tag 7), the payload length grown to match. */
		char extra[5 + 36] = { 7, 0, 0, 0, 36 };
		size_t payload = len - WIRE_HEADER_LEN + sizeof extra;
		unsigned char header[WIRE_HEADER_LEN] = { 'P', 'H', 'R', '1', (unsigned char)(payload >> 24),
			(unsigned char)(payload >> 16), (unsigned char)(payload >> 8), (unsigned char)payload };

		memcpy(extra + 5, ALICE, 36);
		put((const char *)header, sizeof header);
		put(data + WIRE_HEADER_LEN, len - WIRE_HEADER_LEN);
		put(extra, sizeof extra);
	} else {
		put(data, len);
		if (strcmp(mode, "trailing") == 0)
			put("more", 4);
	}
	secret_free_len(data, len);
}

int main(int argc, char **argv)
{
	struct wire_request decoded;
	char reason[PH_REASON_MAX] = "";
	char mode[32] = "";
	char *request, go = 0;
	size_t used;

	if (argc == 2 && strcmp(argv[1], "grant") == 0) {
		grant_alice("execve");
		return 0;
	}
	if (!wire_request_read(0, &request, &used, reason))
		return 2;
	if (!wire_request_decode(request, used, &decoded, reason)) {
		secret_free_len(request, used);
		return 2;
	}
	secret_free_len(request, used);
	sscanf(decoded.api_url, "https://%31[a-z].invalid", mode);
	wire_request_clear(&decoded);
	/* Misbehaves where the real one would post: after the go byte. */
	if (read(0, &go, 1) != 1 || go != WIRE_GO)
		return 6;

	if (strcmp(mode, "hang") == 0) {
		sleep(60);
	} else if (strcmp(mode, "execve") == 0) {
		static char *const again[] = { "bad_helper", "grant", NULL };
		static char *const envp[] = { NULL };

		if (sandbox_enter(reason) != PH_OK)
			return 4;
		execve("/proc/self/exe", again, envp);
		return 5;
	}
	grant_alice(mode);
	if (strcmp(mode, "kill") == 0)
		raise(SIGKILL);
	return 0;
}
