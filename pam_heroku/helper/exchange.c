/*
 * exchange.c - one bounded HTTPS POST to {api_url}/oauth/tokens (libcurl),
 * with everything the network, the environment or the server could steer
 * pinned down (exchange.h).  It runs only in pam_heroku_exchange, which exits
 * after one exchange, taking libcurl's copies of the secrets with it.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "exchange.h"
#include "exchange_wire.h"
#include "sanitize.h"
#include "secret.h"

#define TOKENS_PATH "/oauth/tokens"

const char *exchange_user_agent(void)
{
	return "pam_heroku/" PACKAGE_VERSION;
}

/* ----------------------------------------------------------------------- */
/* Receiving.                                                               */

struct receiver {
	struct exchange_reply *reply;
	bool oversized;
};

static size_t receive_body(char *data, size_t size, size_t count, void *userdata)
{
	struct receiver *receiver = userdata;
	struct exchange_reply *reply = receiver->reply;
	size_t len = size * count;

	if (len > EXCHANGE_BODY_MAX - reply->body_len) {
		receiver->oversized = true;
		return 0;       /* stops the transfer: CURLE_WRITE_ERROR */
	}
	memcpy(reply->body + reply->body_len, data, len);
	reply->body_len += len;
	return len;
}

/*
 * "Name: value\r\n" -> the value as a log field (sanitize_field) into dst
 * when the name matches: it comes from outside and is logged as it is.
 */
static void capture_header(const char *line, size_t len, const char *name,
			   char *dst, size_t dst_size)
{
	size_t name_len = strlen(name);
	const char *value, *end = line + len;

	if (len <= name_len || line[name_len] != ':' || strncasecmp(line, name, name_len) != 0)
		return;
	value = line + name_len + 1;
	while (value < end && (*value == ' ' || *value == '\t'))
		value++;
	while (end > value && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' ||
			       end[-1] == '\t'))
		end--;
	sanitize_field(dst, dst_size, value, (size_t)(end - value));
	if (strcmp(dst, "-") == 0)
		dst[0] = '\0';     /* an empty value is "absent" */
}

static size_t receive_header(char *data, size_t size, size_t count, void *userdata)
{
	struct receiver *receiver = userdata;
	struct exchange_reply *reply = receiver->reply;
	size_t len = size * count;

	capture_header(data, len, "Request-Id", reply->request_id, sizeof reply->request_id);
	capture_header(data, len, "RateLimit-Remaining", reply->ratelimit_remaining,
		       sizeof reply->ratelimit_remaining);
	return len;
}

/* ----------------------------------------------------------------------- */
/* The gate: connected, but not one byte of the request before the go.      */

struct gate {
	int fd;                 /* where the go byte comes from */
	long long deadline_ms;  /* CLOCK_MONOTONIC; the exchange's timeout */
	bool waited;            /* only the first call waits; later ones repeat its answer */
	bool released;
};

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* One byte from the gate's descriptor within its deadline; -1 on EOF, error or timeout. */
static int read_go(const struct gate *gate)
{
	if (gate->fd < 0)
		return -1;
	for (;;) {
		long long left = gate->deadline_ms - now_ms();
		struct pollfd p = { .fd = gate->fd, .events = POLLIN };
		unsigned char byte;
		ssize_t got;
		int ready;

		if (left <= 0)
			return -1;
		ready = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready <= 0)
			return -1;
		got = read(gate->fd, &byte, 1);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		return got == 1 ? byte : -1;
	}
}

/*
 * libcurl calls this once connected, TLS handshake done, before the request:
 * the module sends the go byte only when the allowlist could grant the
 * account, so the handshake overlaps its reading of the allowlist.
 */
static int wait_for_go(void *userdata, char *conn_primary_ip, char *conn_local_ip,
		       int conn_primary_port, int conn_local_port)
{
	struct gate *gate = userdata;

	(void)conn_primary_ip;
	(void)conn_local_ip;
	(void)conn_primary_port;
	(void)conn_local_port;
	if (!gate->waited) {
		gate->waited = true;
		gate->released = read_go(gate) == WIRE_GO;
	}
	return gate->released ? CURL_PREREQFUNC_OK : CURL_PREREQFUNC_ABORT;
}

/* ----------------------------------------------------------------------- */
/* The request.                                                             */

static struct curl_slist *request_headers(void)
{
	static const char *const lines[] = {
		"Accept: application/vnd.heroku+json; version=3",
		"Content-Type: application/json",
		"Expect:",      /* no 100-continue round trip */
	};
	struct curl_slist *list = NULL;

	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
		struct curl_slist *grown = curl_slist_append(list, lines[i]);

		if (grown == NULL) {
			curl_slist_free_all(list);
			return NULL;
		}
		list = grown;
	}
	return list;
}

/*
 * Whom to trust: the CA bytes the module read through its checked descriptor
 * (never a file name: the helper opens no configured file), or else the
 * system store, as libcurl's CA directory when it has one built in (hashed,
 * looked up lazily), not the bundle parsed whole on every login.
 */
static CURLcode set_trust(CURL *curl, const struct settings *settings)
{
	struct curl_blob blob;
	char *capath = NULL;
	CURLcode rc;

	if (settings->ca_pem != NULL) {
		blob.data = settings->ca_pem;
		blob.len = settings->ca_pem_len;
		blob.flags = CURL_BLOB_NOCOPY;
		rc = curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &blob);
		if (rc == CURLE_OK)
			rc = curl_easy_setopt(curl, CURLOPT_CAPATH, NULL);
		return rc;
	}
	if (curl_easy_getinfo(curl, CURLINFO_CAPATH, &capath) != CURLE_OK || capath == NULL)
		return CURLE_OK;        /* libcurl's built-in bundle */
	return curl_easy_setopt(curl, CURLOPT_CAINFO, NULL);
}

/* Every option that matters for safety; the first failure is returned. */
static CURLcode configure_handle(CURL *curl, const struct settings *settings, const char *url,
				 const char *body, struct curl_slist *headers,
				 struct receiver *receiver, struct gate *gate, char *error_buffer)
{
	CURLcode rc = CURLE_OK;

#define SET(option, value) do { if (rc == CURLE_OK) rc = curl_easy_setopt(curl, option, value); } while (0)
	SET(CURLOPT_ERRORBUFFER, error_buffer);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_URL, url);
	/* HTTP/2 would hand the request to libnghttp2 too, which keeps unwiped
	 * copies of the credential and the client secret (in this process only,
	 * now; one protocol is still less to reason about). */
	SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SET(CURLOPT_PROTOCOLS_STR, "https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (rc == CURLE_OK)
		rc = set_trust(curl, settings);
	if (settings->pinned_pubkey != NULL)
		SET(CURLOPT_PINNEDPUBLICKEY, settings->pinned_pubkey);
	/* Always set, so http_proxy, https_proxy, ALL_PROXY and NO_PROXY in the
	 * environment never steer the exchange (DUO-PSA-2017-002). */
	SET(CURLOPT_PROXY, settings->proxy ? settings->proxy : "");
	SET(CURLOPT_NOPROXY, "");
	SET(CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
	SET(CURLOPT_TIMEOUT, settings->timeout);
	SET(CURLOPT_CONNECTTIMEOUT, settings->timeout);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)EXCHANGE_BODY_MAX);
	SET(CURLOPT_USERAGENT, exchange_user_agent());
	SET(CURLOPT_HTTPHEADER, headers);
	SET(CURLOPT_POST, 1L);
	SET(CURLOPT_POSTFIELDS, body);
	SET(CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	SET(CURLOPT_WRITEFUNCTION, receive_body);
	SET(CURLOPT_WRITEDATA, receiver);
	SET(CURLOPT_HEADERFUNCTION, receive_header);
	SET(CURLOPT_HEADERDATA, receiver);
	SET(CURLOPT_PREREQFUNCTION, wait_for_go);
	SET(CURLOPT_PREREQDATA, gate);
#undef SET
	return rc;
}

static enum ph_result transfer_verdict(CURLcode rc, const struct receiver *receiver,
				       const char *error_buffer, const struct settings *settings,
				       char reason[PH_REASON_MAX])
{
	if (rc == CURLE_OK)
		return PH_OK;
	if (receiver->oversized || rc == CURLE_FILESIZE_EXCEEDED) {
		snprintf(reason, PH_REASON_MAX, "the API's answer is larger than %d bytes",
			 EXCHANGE_BODY_MAX);
		return PH_UNAVAILABLE;
	}
	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		/* The module has abandoned the login (or took longer than the timeout). */
		snprintf(reason, PH_REASON_MAX,
			 "the request was not released within %ld s (the login refused, or "
			 "the allowlist read too long); nothing sent", (settings->timeout + 1) / 2);
		return PH_UNAVAILABLE;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		snprintf(reason, PH_REASON_MAX, "no answer from the API within %ld s", settings->timeout);
		return PH_UNAVAILABLE;
	}
	if (rc == CURLE_SSL_CACERT_BADFILE) {
		snprintf(reason, PH_REASON_MAX, "ca_file %s cannot be used: %s",
			 settings->ca_file ? settings->ca_file : "(system store)",
			 error_buffer[0] ? error_buffer : curl_easy_strerror(rc));
		return PH_MISCONFIGURED;
	}
	snprintf(reason, PH_REASON_MAX, "cannot reach the API: %s",
		 error_buffer[0] ? error_buffer : curl_easy_strerror(rc));
	return PH_UNAVAILABLE;
}

enum ph_result exchange_post(const struct settings *settings, const char *body, int go_fd,
			     struct exchange_reply *reply, char reason[PH_REASON_MAX])
{
	char error_buffer[CURL_ERROR_SIZE] = "";
	struct receiver receiver = { .reply = reply, .oversized = false };
	/* libcurl's timeout runs from here, the allowlist read included: the
	 * request is released only in its first half, so that a POST that goes
	 * out always has the other half (a spent grant code is not wasted on a
	 * transfer with no time left). */
	struct gate gate = { .fd = go_fd,
			     .deadline_ms = now_ms() + settings->timeout * 1000LL / 2 };
	struct curl_slist *headers = NULL;
	enum ph_result result;
	char *url = NULL;
	CURL *curl = NULL;
	CURLcode rc;

	memset(reply, 0, sizeof *reply);
	reply->body = calloc(1, EXCHANGE_BODY_MAX + 1);
	url = malloc(strlen(settings->api_url) + sizeof TOKENS_PATH);
	headers = request_headers();
	curl = curl_easy_init();
	if (reply->body == NULL || url == NULL || headers == NULL || curl == NULL) {
		snprintf(reason, PH_REASON_MAX, "out of memory preparing the request");
		result = PH_UNAVAILABLE;
		goto done;
	}
	sprintf(url, "%s%s", settings->api_url, TOKENS_PATH);

	rc = configure_handle(curl, settings, url, body, headers, &receiver, &gate, error_buffer);
	if (rc != CURLE_OK) {
		snprintf(reason, PH_REASON_MAX, "libcurl refused an option: %s", curl_easy_strerror(rc));
		result = PH_MISCONFIGURED;
		goto done;
	}
	rc = curl_easy_perform(curl);
	result = transfer_verdict(rc, &receiver, error_buffer, settings, reason);
	if (result == PH_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply->status);
done:
	if (curl != NULL)
		curl_easy_cleanup(curl);
	curl_slist_free_all(headers);
	free(url);
	return result;
}

void exchange_reply_clear(struct exchange_reply *reply)
{
	if (reply->body != NULL)
		secret_free_len(reply->body, EXCHANGE_BODY_MAX + 1);
	reply->body = NULL;
	reply->body_len = 0;
}
