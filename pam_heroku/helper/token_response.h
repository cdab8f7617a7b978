/*
 * token_response.h - the API's answer judged: who the user is, or why not.
 *
 *   201 + JSON object with user.id a canonical UUID  -> PH_OK
 *   400, 401, 403, 404, 422                          -> PH_REFUSED
 *   anything else (3xx, 429, 5xx, ...) or malformed   -> PH_UNAVAILABLE
 *
 * session.id, when present and not null, is 1-128 bytes of [A-Za-z0-9._:-];
 * access_token.token, when it is to be exported, is 1-1024 bytes of token68.
 * A value that would be exported and breaks its rule, or a key the module
 * reads that appears twice, makes the whole response malformed.
 */
#ifndef PAM_HEROKU_TOKEN_RESPONSE_H
#define PAM_HEROKU_TOKEN_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "ascii.h"
#include "result.h"
#include "sanitize.h"
#include "uuid.h"

#define TOKEN_RESPONSE_SESSION_MAX 128

struct token_response {
	char user_id[UUID_LEN + 1];       /* as the API sent it */
	char session_id[TOKEN_RESPONSE_SESSION_MAX + 1]; /* "" when the API gave none */
	char *access_token;     /* secret: only when asked for; freed by token_response_clear */
	char error_id[64];                               /* sanitised error "id", refusals only */
	char message[SANITIZE_MESSAGE_MAX + 1];          /* sanitised error "message", refusals only */
};

enum ph_result token_response_parse(long status, const char *body, size_t body_len,
				    bool want_access_token,
				    struct token_response *response,
				    char reason[PH_REASON_MAX]);

/* Wipe and free the access token; the struct may be reused. */
void token_response_clear(struct token_response *response);

/* True when text is 1 to TOKEN_RESPONSE_SESSION_MAX of [A-Za-z0-9._:-]. */
static inline bool token_response_is_session_id(const char *text)
{
	size_t len = strlen(text);

	if (len == 0 || len > TOKEN_RESPONSE_SESSION_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_ascii_alnum(text[i]) && strchr("._:-", text[i]) == NULL)
			return false;
	return true;
}

#endif
