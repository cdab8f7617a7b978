/*
 * curl_post.c - the floor of one HTTPS exchange: one libcurl POST, nothing else.
 *
 *   tests/bench/curl_post URL CA_FILE|- BODY_FILE
 *
 * A benchmark contender (tests/bench/run, F), not a test: a new process
 * that loads libcurl, makes the request a login makes (the same headers
 * and body, TLS verified against CA_FILE, or the system store with "-")
 * and prints the HTTP status.  What a login costs above this is the PAM
 * application, the module and its helper process.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

static size_t discard(char *data, size_t size, size_t count, void *ctx)
{
	(void)data;
	(void)ctx;
	return size * count;
}

int main(int argc, char **argv)
{
	struct curl_slist *headers = NULL;
	char body[4096];
	long status = 0;
	size_t len;
	FILE *f;
	CURL *curl;
	CURLcode rc;

	if (argc != 4) {
		fprintf(stderr, "usage: %s URL CA_FILE|- BODY_FILE\n", argv[0]);
		return 2;
	}
	f = fopen(argv[3], "r");
	if (f == NULL) {
		perror(argv[3]);
		return 1;
	}
	len = fread(body, 1, sizeof body, f);
	fclose(f);
	curl = curl_easy_init();
	if (curl == NULL)
		return 1;
	headers = curl_slist_append(headers, "Accept: application/vnd.heroku+json; version=3");
	headers = curl_slist_append(headers, "Content-Type: application/json");
	curl_easy_setopt(curl, CURLOPT_URL, argv[1]);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
	if (strcmp(argv[2], "-") != 0)
		curl_easy_setopt(curl, CURLOPT_CAINFO, argv[2]);
	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	else
		fprintf(stderr, "curl_post: %s\n", curl_easy_strerror(rc));
	printf("%ld\n", status);
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	explicit_bzero(body, sizeof body);      /* it holds the client secret */
	return rc == CURLE_OK ? 0 : 1;
}
