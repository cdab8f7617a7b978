/*
 * token_request.h - the JSON body of POST /oauth/tokens, built with cJSON.
 *
 *   {"grant":{"type":"authorization_code","code":"XXXX"},"client":{"secret":"S"}}
 *   {"grant":{"type":"refresh_token"},"refresh_token":{"token":"XXXX"},"client":{"secret":"S"}}
 *
 * "client" is left out when there is no secret.
 */
#ifndef PAM_HEROKU_TOKEN_REQUEST_H
#define PAM_HEROKU_TOKEN_REQUEST_H

#include "credential.h"

/*
 * The body as a NUL-terminated string the caller releases with secret_free(),
 * or NULL when out of memory.  client_secret may be NULL.  No copy of the
 * credential or the secret is left behind in freed memory.
 */
char *token_request_body(const struct credential *credential, const char *client_secret);

#endif
