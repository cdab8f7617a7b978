/*
 * token_request.h - the JSON body of POST /oauth/tokens, built with cJSON.
 *
 *   {"grant":{"type":"authorization_code","code":"XXXX"},"client":{"secret":"S"},"refresh_token":{}}
 *   {"grant":{"type":"refresh_token"},"client":{"secret":"S"},"refresh_token":{"token":"XXXX"}}
 *
 * Heroku's schema for the link requires all three objects in every request.
 */
#ifndef PAM_HEROKU_TOKEN_REQUEST_H
#define PAM_HEROKU_TOKEN_REQUEST_H

#include "credential.h"

/*
 * The body as a NUL-terminated string the caller releases with secret_free(),
 * or NULL when out of memory or without a client secret.  No copy of the
 * credential or the secret is left behind in freed memory.
 */
char *token_request_body(const struct credential *credential, const char *client_secret);

#endif
