/*
 * authorize.c - the authorize URL (with a fresh random state) and the prompt
 * that carries it.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "authorize.h"

#define STATE_BYTES (AUTHORIZE_STATE_HEX_LEN / 2)

static bool random_state(char state[AUTHORIZE_STATE_HEX_LEN + 1])
{
	unsigned char bytes[STATE_BYTES];
	size_t have = 0;

	while (have < sizeof bytes) {
		ssize_t got = getrandom(bytes + have, sizeof bytes - have, 0);

		if (got <= 0)
			return false;
		have += (size_t)got;
	}
	for (size_t i = 0; i < sizeof bytes; i++)
		snprintf(state + 2 * i, 3, "%02x", bytes[i]);
	return true;
}

enum ph_result authorize_url_build(const struct settings *settings, char **out)
{
	char state[AUTHORIZE_STATE_HEX_LEN + 1];

	*out = NULL;
	if (!settings_is_client_id(settings->client_id) ||
	    !settings_is_https_url(settings->authorize_url))
		return PH_MISCONFIGURED;
	if (!random_state(state))
		return PH_UNAVAILABLE;
	if (asprintf(out, "%s?client_id=%s&response_type=code&scope=identity&state=%s",
		     settings->authorize_url, settings->client_id, state) < 0) {
		*out = NULL;
		return PH_UNAVAILABLE;
	}
	return PH_OK;
}

enum ph_result authorize_prompt_build(const struct settings *settings, char **out)
{
	enum ph_result result;
	char *url = NULL;

	*out = NULL;
	if (settings->prompt == NULL)
		return PH_UNAVAILABLE;
	if (settings->client_id == NULL) {
		*out = strdup(settings->prompt);
		return *out != NULL ? PH_OK : PH_UNAVAILABLE;
	}
	result = authorize_url_build(settings, &url);
	if (result != PH_OK)
		return result;
	if (asprintf(out, AUTHORIZE_PROMPT_INTRO "\n  %s\n%s", url, settings->prompt) < 0) {
		*out = NULL;
		result = PH_UNAVAILABLE;
	}
	free(url);
	return result;
}
