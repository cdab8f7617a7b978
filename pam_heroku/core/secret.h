/*
 * secret.h - memory that held a credential, the client secret or a token is
 * wiped with explicit_bzero before it goes back to the allocator, on every path.
 */
#ifndef PAM_HEROKU_SECRET_H
#define PAM_HEROKU_SECRET_H

#include <stdbool.h>
#include <stddef.h>

/* Wipe a NUL-terminated string in place and free it.  NULL is fine. */
void secret_free(char *text);

/* Wipe len bytes and free them.  NULL is fine. */
void secret_free_len(void *buffer, size_t len);

/* strdup that the caller releases with secret_free; NULL when out of memory. */
char *secret_strdup(const char *text);

/*
 * Whether two secrets are the same bytes, in time that depends on their
 * lengths only, not on where they first differ.  NULL equals nothing.
 */
bool secret_equal(const char *a, const char *b);

struct cJSON;

/*
 * Delete a cJSON tree whose string values may hold secrets (a request body,
 * a token response), wiping every string value first; keys are not secret.
 * NULL is fine.  (secret_json.c: in pam_heroku_exchange only.)
 */
void secret_json_delete(struct cJSON *root);

#endif
