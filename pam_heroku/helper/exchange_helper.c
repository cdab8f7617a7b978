/*
 * exchange_helper.c - pam_heroku_exchange: one token exchange in its own
 * process, so that libcurl, OpenSSL and their copies of the secrets never
 * live in the PAM application.  Request on descriptor 0, then the go byte
 * (exchange_wire.h), the one reply on 1; it confines itself before it reads
 * anything and exits after the reply.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "credential.h"
#include "exchange.h"
#include "exchange_wire.h"
#include "sandbox.h"
#include "secret.h"
#include "token_request.h"
#include "token_response.h"

#if defined(__SANITIZE_ADDRESS__)
/* Test builds only: LeakSanitizer's exit check needs ptrace, which the
 * filter forbids (the helper's leaks are valgrind's to find). */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

/* The settings exchange.c reads, pointing into the request. */
static void settings_from(const struct wire_request *request, struct settings *settings)
{
	memset(settings, 0, sizeof *settings);
	settings->api_url = request->api_url;
	settings->client_secret = request->client_secret;
	settings->timeout = request->timeout;
	settings->proxy = request->proxy;
	settings->pinned_pubkey = request->pinned_pubkey;
	settings->ca_file = request->ca_file;
	settings->ca_pem = request->ca_pem;
	settings->ca_pem_len = request->ca_pem_len;
	settings->export_access_token = request->export_access_token;
}

/* The credential as the module parsed it; its shape is checked again here. */
static bool credential_from(const struct wire_request *request, struct credential *credential)
{
	char why[PH_REASON_MAX];

	return credential_parse(request->credential, request->grant, credential, why) == PH_OK &&
	       credential->value == request->credential && credential->grant == request->grant;
}

/* Body, POST, answer: the helper's part of the walk (login.c has the rest). */
static void exchange(const struct wire_request *request, struct wire_reply *reply)
{
	struct exchange_reply answer;
	struct credential credential;
	struct settings settings;
	char *body;

	settings_from(request, &settings);
	if (!credential_from(request, &credential)) {
		reply->result = PH_UNAVAILABLE;
		snprintf(reply->reason, sizeof reply->reason,
			 "the exchange helper got a malformed credential");
		return;
	}
	body = token_request_body(&credential, request->client_secret);
	if (body == NULL) {
		reply->result = PH_UNAVAILABLE;
		snprintf(reply->reason, sizeof reply->reason, "out of memory building the request");
		return;
	}
	reply->result = exchange_post(&settings, body, 0, &answer, reply->reason);
	secret_free(body);
	reply->status = answer.status;
	reply->body_len = answer.body_len;
	snprintf(reply->request_id, sizeof reply->request_id, "%s", answer.request_id);
	snprintf(reply->ratelimit_remaining, sizeof reply->ratelimit_remaining, "%s",
		 answer.ratelimit_remaining);
	if (reply->result == PH_OK)
		reply->result = token_response_parse(answer.status, answer.body, answer.body_len,
						     request->export_access_token,
						     &reply->response, reply->reason);
	exchange_reply_clear(&answer);
	if (reply->result != PH_OK) {
		token_response_clear(&reply->response);
		reply->response.user_id[0] = '\0';   /* only a well-formed answer names a user */
	}
}

static void serve(struct wire_reply *reply)
{
	struct wire_request request;
	char *data;
	size_t len;

	if (!wire_request_read(0, &data, &len, reply->reason)) {
		reply->result = PH_UNAVAILABLE;
		return;
	}
	if (!wire_request_decode(data, len, &request, reply->reason)) {
		reply->result = PH_UNAVAILABLE;
		secret_free_len(data, len);
		return;
	}
	secret_free_len(data, len);
	exchange(&request, reply);
	wire_request_clear(&request);
}

static void write_reply(const struct wire_reply *reply)
{
	char *data;
	size_t len, sent = 0;

	if (!wire_reply_encode(reply, &data, &len))
		return;         /* no reply at all: the module fails closed */
	while (sent < len) {
		ssize_t put = write(1, data + sent, len - sent);

		if (put < 0 && errno == EINTR)
			continue;
		if (put <= 0)
			break;
		sent += (size_t)put;
	}
	secret_free_len(data, len);
}

int main(void)
{
	struct wire_reply reply;

	memset(&reply, 0, sizeof reply);
	reply.result = sandbox_enter(reply.reason);
	if (reply.result == PH_OK && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		reply.result = PH_UNAVAILABLE;
		snprintf(reply.reason, sizeof reply.reason, "libcurl could not initialise");
	}
	if (reply.result == PH_OK)
		serve(&reply);
	write_reply(&reply);
	wire_reply_clear(&reply);
	/* Straight out: the exit handlers would only tidy up libcurl's and
	 * OpenSSL's memory, which goes back to the kernel anyway, while the
	 * module waits for this process to end. */
	_exit(0);
}
