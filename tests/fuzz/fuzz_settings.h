/*
 * fuzz_settings.h - what the config-file and module-argument targets share:
 * the side files a configuration may name, and the checks on what
 * settings_load hands back.
 *
 * A configuration names files (allowlist, client_secret_file, ca_file,
 * config) that settings_load opens and checks.  So that fuzzed inputs can
 * name files that exist and are safe, the tokens "@allow", "@secret", "@ca"
 * and "@config" in the input are replaced by the paths of
 * private files holding a small allowlist (0644), a client secret (0600),
 * a CA stand-in (0644) and a small config file (0600).
 *
 * Invariants on top of the sanitizers: every key accepted is in its range
 * (https:// URLs, absolute paths, timeout 1-120, no control character in
 * the prompt, no blank or control character in the secret); a failure
 * reports at least one problem, with the first as the reason; and the
 * client secret never appears in a log message.
 */
#ifndef PAM_HEROKU_FUZZ_SETTINGS_H
#define PAM_HEROKU_FUZZ_SETTINGS_H

#include <stdbool.h>

#include "fuzz_util.h"
#include "settings.h"

#define FUZZ_SECRET "fuzz-client-secret-Zq8"

struct fuzz_side_files {
	struct fuzz_file allow, secret, ca, config;
};

static struct fuzz_side_files fuzz_side;

static void fuzz_side_files_init(void)
{
	static const char allow[] = "01234567-89ab-cdef-0123-456789abcdef alice\n";
	static const char secret[] = FUZZ_SECRET "\n";
	static const char ca[] = "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n";
	static const char config[] = "timeout = 5\nprompt = \"Code: \"\n";

	if (fuzz_side.allow.path[0] != '\0')
		return;
	fuzz_file_open(&fuzz_side.allow, "allow", 0644);
	fuzz_file_write(&fuzz_side.allow, (const uint8_t *)allow, sizeof allow - 1);
	fuzz_file_open(&fuzz_side.secret, "secret", 0600);
	fuzz_file_write(&fuzz_side.secret, (const uint8_t *)secret, sizeof secret - 1);
	fuzz_file_open(&fuzz_side.ca, "ca", 0644);
	fuzz_file_write(&fuzz_side.ca, (const uint8_t *)ca, sizeof ca - 1);
	fuzz_file_open(&fuzz_side.config, "config", 0600);
	fuzz_file_write(&fuzz_side.config, (const uint8_t *)config, sizeof config - 1);
}

static const struct fuzz_token {
	const char *token;
	const struct fuzz_file *file;
} fuzz_tokens[] = {
	{ "@allow", &fuzz_side.allow },
	{ "@secret", &fuzz_side.secret },
	{ "@config", &fuzz_side.config },
	{ "@ca", &fuzz_side.ca },
};

/* The token at data (size bytes left), or NULL. */
static const struct fuzz_token *fuzz_token_at(const uint8_t *data, size_t size)
{
	for (size_t n = 0; n < sizeof fuzz_tokens / sizeof fuzz_tokens[0]; n++) {
		size_t len = strlen(fuzz_tokens[n].token);

		if (size >= len && memcmp(data, fuzz_tokens[n].token, len) == 0)
			return &fuzz_tokens[n];
	}
	return NULL;
}

/*
 * data with each "@allow", "@secret", "@ca", "@config" replaced by its
 * path, in a malloc'd buffer of exactly the right size (two passes: a
 * generous guess would make big allocations that slow ASan's quarantine).
 */
static char *fuzz_expand(const uint8_t *data, size_t size, size_t *out_len)
{
	size_t len = 0;
	char *out = NULL;

	for (int pass = 0; pass < 2; pass++) {
		len = 0;
		for (size_t i = 0; i < size;) {
			const struct fuzz_token *t = fuzz_token_at(data + i, size - i);

			if (t != NULL) {
				size_t path_len = strlen(t->file->path);

				if (out != NULL)
					memcpy(out + len, t->file->path, path_len);
				len += path_len;
				i += strlen(t->token);
			} else {
				if (out != NULL)
					out[len] = (char)data[i];
				len++;
				i++;
			}
		}
		if (pass == 0 && (out = malloc(len + 1)) == NULL)
			abort();
	}
	out[len] = '\0';
	*out_len = len;
	return out;
}

/* Log messages of one settings_load call, kept to look for the secret. */
struct fuzz_log {
	char *text;
	size_t len;
	unsigned count;
};

static void fuzz_log_emit(void *ctx, int priority, const char *message)
{
	struct fuzz_log *log = ctx;
	size_t add = strlen(message) + 1;
	char *grown = realloc(log->text, log->len + add + 1);

	(void)priority;
	if (grown == NULL)
		abort();
	log->text = grown;
	memcpy(log->text + log->len, message, add - 1);
	log->len += add - 1;
	log->text[log->len++] = '\n';
	log->text[log->len] = '\0';
	log->count++;
}

static bool has_blank_or_control(const char *text)
{
	for (const unsigned char *c = (const unsigned char *)text; *c; c++)
		if (*c <= 0x20 || *c == 0x7f)
			return true;
	return false;
}

static bool absolute_or_unset(const char *path)
{
	return path == NULL || path[0] == '/';
}

/* How often needle occurs in haystack (haystack_len bytes). */
static size_t occurrences(const char *haystack, size_t haystack_len, const char *needle)
{
	size_t count = 0, needle_len = strlen(needle);

	for (const char *at = haystack; needle_len > 0 && at < haystack + haystack_len;) {
		const char *found = memmem(at, (size_t)(haystack + haystack_len - at), needle,
					   needle_len);

		if (found == NULL)
			break;
		count++;
		at = found + 1;
	}
	return count;
}

/*
 * Check what settings_load returned.  input is what the fuzzer gave (after
 * expansion).  The client secret may be in a log message only when the
 * input also holds its text somewhere else (say, as an unknown key, which
 * is quoted): an inline secret (no client_secret_file) of 8 or more bytes
 * that the input holds only once, in its own definition, and the @secret
 * file's content when the input does not hold it, must never be logged.
 */
static void fuzz_check_settings(enum ph_result result, const struct settings *s,
				const char reason[PH_REASON_MAX], const struct fuzz_log *log,
				const char *input, size_t input_len)
{
	FUZZ_CHECK(result == PH_OK || result == PH_MISCONFIGURED);
	FUZZ_CHECK(memchr(reason, '\0', PH_REASON_MAX) != NULL);
	if (result != PH_OK) {
		FUZZ_CHECK(log->count >= 1);
		FUZZ_CHECK(reason[0] != '\0');
	} else {
		FUZZ_CHECK(log->count == 0);
		FUZZ_CHECK(s->api_url != NULL && strncmp(s->api_url, "https://", 8) == 0);
		FUZZ_CHECK(s->api_url[8] != '\0' && s->api_url[strlen(s->api_url) - 1] != '/');
		FUZZ_CHECK(!has_blank_or_control(s->api_url));
		FUZZ_CHECK(s->authorize_url != NULL &&
			   strncmp(s->authorize_url, "https://", 8) == 0);
		FUZZ_CHECK(s->timeout >= SETTINGS_TIMEOUT_MIN && s->timeout <= SETTINGS_TIMEOUT_MAX);
		FUZZ_CHECK(s->default_grant == PH_GRANT_AUTHORIZATION_CODE ||
			   s->default_grant == PH_GRANT_REFRESH_TOKEN);
		FUZZ_CHECK(s->allowlist != NULL && s->allowlist[0] == '/');
		FUZZ_CHECK(absolute_or_unset(s->ca_file));
		FUZZ_CHECK(absolute_or_unset(s->client_secret_file));
		FUZZ_CHECK(s->prompt != NULL && fuzz_no_control(s->prompt));
		FUZZ_CHECK(s->client_secret == NULL || (s->client_secret[0] != '\0' &&
							!has_blank_or_control(s->client_secret)));
		FUZZ_CHECK(s->proxy == NULL || !has_blank_or_control(s->proxy));
		FUZZ_CHECK(s->pinned_pubkey == NULL ||
			   strncmp(s->pinned_pubkey, "sha256//", 8) == 0);
	}
	if (s->client_secret != NULL && s->client_secret_file == NULL &&
	    strlen(s->client_secret) >= 8 && log->text != NULL &&
	    occurrences(input, input_len, s->client_secret) <= 1)
		FUZZ_CHECK(strstr(log->text, s->client_secret) == NULL);
	FUZZ_CHECK(log->text == NULL || strstr(log->text, FUZZ_SECRET) == NULL ||
		   occurrences(input, input_len, FUZZ_SECRET) > 0);
}

#endif
