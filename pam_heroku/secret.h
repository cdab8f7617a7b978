/*
 * secret.h - memory that held a credential, the client secret or a token.
 *
 * Everything that ever held a secret is wiped with explicit_bzero before it
 * goes back to the allocator, on every path (duo_unix calls this duo_zero_free).
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
 * NULL is fine.
 */
void secret_json_delete(struct cJSON *root);

/*
 * malloc, calloc, realloc, strdup and free for a library that copies
 * secrets into buffers of its own (libcurl, via curl_global_init_mem): every
 * block is wiped before it is freed, also when realloc moves it.
 */
void *secret_wiping_malloc(size_t size);
void *secret_wiping_calloc(size_t count, size_t size);
void *secret_wiping_realloc(void *ptr, size_t size);
char *secret_wiping_strdup(const char *text);
void secret_wiping_free(void *ptr);

/*
 * Zero the vector registers, where the last secrets copied, encrypted or
 * decrypted linger until a signal or the dynamic linker saves them to the
 * stack.  x86-64 only (elsewhere it does nothing).
 */
void secret_clear_registers(void);

#endif
