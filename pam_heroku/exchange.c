/*
 * exchange.c - one bounded HTTPS POST to {api_url}/oauth/tokens (libcurl).
 *
 * Everything that could let the network, the environment or the server
 * steer the exchange is pinned down here: https only (also for redirects,
 * which are never followed), verification always on, the proxy only from the
 * settings, one timeout for the whole exchange, a 64 KiB cap on the body.
 * libcurl's rules for plugins apply: CURLOPT_NOSIGNAL (no SIGALRM games in
 * sshd), and curl_global_cleanup is never called from a module.  The request
 * and the response hold secrets, so libcurl's own buffers and OpenSSL's
 * plaintext are wiped before they are freed (see global_init below).
 */
#include "config.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "exchange.h"
#include "sanitize.h"
#include "secret.h"

#define TOKENS_PATH "/oauth/tokens"

const char *exchange_user_agent(void)
{
	return "pam_heroku/" PACKAGE_VERSION;
}

/* ----------------------------------------------------------------------- */
/* Global init, once per process.                                           */

static pthread_once_t global_init_once = PTHREAD_ONCE_INIT;
static CURLcode global_init_result = CURLE_FAILED_INIT;

/*
 * The wiping allocator is code of this module, and libcurl keeps pointers to it
 * for as long as it stays loaded.  libpam unloads the module at pam_end; if
 * something else holds libcurl (the application, another module), libcurl
 * would be left calling into unmapped memory.  So the module stays loaded
 * once it has handed libcurl its allocator (RTLD_NODELETE).
 */
static void pin_module(void)
{
	Dl_info info;

	if (dladdr(&global_init_once, &info) != 0 && info.dli_fname != NULL)
		(void)dlopen(info.dli_fname, RTLD_NOW | RTLD_NODELETE | RTLD_NOLOAD);
}

/*
 * OpenSSL decrypts each TLS record in place in its own read buffer and keeps
 * the plaintext there (the response: tokens, the echoed grant code) until
 * the next record, then frees it unwiped, unless SSL_OP_CLEANSE_PLAINTEXT
 * (OpenSSL >= 3.0) is set on the SSL_CTX, which libcurl hands to
 * CURLOPT_SSL_CTX_FUNCTION.  SSL_CTX_set_options is looked up, with OpenSSL
 * 3's symbol version, in the scope libcurl itself was loaded with, so the
 * module needs neither OpenSSL's headers nor a link of its own; with another
 * TLS backend (or no such symbol) nothing is set.
 */
#define OPENSSL3_SSL_OP_CLEANSE_PLAINTEXT ((uint64_t)1 << 1)    /* SSL_OP_BIT(1) */

typedef uint64_t (*ssl_ctx_set_options_fn)(void *ssl_ctx, uint64_t options);

static ssl_ctx_set_options_fn ssl_ctx_set_options;

static void find_ssl_ctx_set_options(void)
{
	const curl_version_info_data *info = curl_version_info(CURLVERSION_NOW);
	void *symbol;

	if (info == NULL || info->ssl_version == NULL ||
	    strncmp(info->ssl_version, "OpenSSL/3.", strlen("OpenSSL/3.")) != 0)
		return;
	symbol = dlvsym(RTLD_DEFAULT, "SSL_CTX_set_options", "OPENSSL_3.0.0");
	if (symbol != NULL)
		memcpy(&ssl_ctx_set_options, &symbol, sizeof ssl_ctx_set_options);
}

static CURLcode cleanse_plaintext(CURL *curl, void *ssl_ctx, void *userdata)
{
	(void)curl;
	(void)userdata;
	ssl_ctx_set_options(ssl_ctx, OPENSSL3_SSL_OP_CLEANSE_PLAINTEXT);
	return CURLE_OK;
}

/*
 * libcurl (with OpenSSL) opens the file named by SSLKEYLOGFILE at global
 * init and writes every TLS session key to it.  su and other programs run
 * the module in an environment the user controls, so that would let a user
 * make a root process append to any file.  Hide the variable while libcurl
 * initialises.  (An application that initialised libcurl itself made its
 * own choice.)
 */
static void global_init(void)
{
	char *keylog = getenv("SSLKEYLOGFILE");
	char *saved = keylog ? strdup(keylog) : NULL;

	if (keylog != NULL)
		unsetenv("SSLKEYLOGFILE");
	/*
	 * libcurl copies the request (credential, client secret) into buffers
	 * of its own and reads the response (tokens, the echoed grant code)
	 * into another, and frees them unwiped: give it an allocator that wipes
	 * (secret.h).  When the application initialised libcurl first, its
	 * allocator stays (SECURITY.md).
	 */
	global_init_result = curl_global_init_mem(CURL_GLOBAL_DEFAULT, secret_wiping_malloc,
						  secret_wiping_free, secret_wiping_realloc,
						  secret_wiping_strdup, secret_wiping_calloc);
	if (saved != NULL) {
		setenv("SSLKEYLOGFILE", saved, 0);
		free(saved);
	}
	if (global_init_result == CURLE_OK) {
		pin_module();
		find_ssl_ctx_set_options();
	}
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

/* Every option that matters for safety; the first failure is returned. */
static CURLcode configure_handle(CURL *curl, const struct settings *settings, const char *url,
				 const char *body, struct curl_slist *headers,
				 struct receiver *receiver, char *error_buffer)
{
	CURLcode rc = CURLE_OK;

#define SET(option, value) do { if (rc == CURLE_OK) rc = curl_easy_setopt(curl, option, value); } while (0)
	SET(CURLOPT_ERRORBUFFER, error_buffer);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_URL, url);
	/* HTTP/2 would hand the request to libnghttp2, which keeps unwiped
	 * copies of the credential and the client secret. */
	SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	SET(CURLOPT_PROTOCOLS_STR, "https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	/* The bytes settings_load read through the checked descriptor, instead
	 * of the system store: the file is never reopened by name. */
	if (settings->ca_pem != NULL) {
		struct curl_blob ca = { .data = settings->ca_pem, .len = settings->ca_pem_len,
					.flags = CURL_BLOB_COPY };

		SET(CURLOPT_CAINFO_BLOB, &ca);
		SET(CURLOPT_CAPATH, NULL);
	}
	if (settings->pinned_pubkey != NULL)
		SET(CURLOPT_PINNEDPUBLICKEY, settings->pinned_pubkey);
	if (ssl_ctx_set_options != NULL)
		SET(CURLOPT_SSL_CTX_FUNCTION, cleanse_plaintext);
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

enum ph_result exchange_post(const struct settings *settings, const char *body,
			     struct exchange_reply *reply, char reason[PH_REASON_MAX])
{
	char error_buffer[CURL_ERROR_SIZE] = "";
	struct receiver receiver = { .reply = reply, .oversized = false };
	struct curl_slist *headers = NULL;
	enum ph_result result;
	char *url = NULL;
	CURL *curl = NULL;
	CURLcode rc;

	memset(reply, 0, sizeof *reply);
	pthread_once(&global_init_once, global_init);
	if (global_init_result != CURLE_OK) {
		snprintf(reason, PH_REASON_MAX, "libcurl could not initialise");
		return PH_UNAVAILABLE;
	}
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

	rc = configure_handle(curl, settings, url, body, headers, &receiver, error_buffer);
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
	secret_clear_registers();
	return result;
}

void exchange_reply_clear(struct exchange_reply *reply)
{
	if (reply->body != NULL)
		secret_free_len(reply->body, EXCHANGE_BODY_MAX + 1);
	reply->body = NULL;
	reply->body_len = 0;
	secret_clear_registers();
}
