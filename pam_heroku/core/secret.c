/* secret.c - wipe-before-free for anything that held a secret. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "secret.h"

void secret_free_len(void *buffer, size_t len)
{
	if (buffer == NULL)
		return;
	explicit_bzero(buffer, len);
	free(buffer);
}

void secret_free(char *text)
{
	if (text != NULL)
		secret_free_len(text, strlen(text));
}

bool secret_equal(const char *a, const char *b)
{
	size_t len;
	unsigned char diff = 0;

	if (a == NULL || b == NULL)
		return false;
	len = strlen(a);
	if (strlen(b) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

char *secret_strdup(const char *text)
{
	size_t len = strlen(text);
	char *copy = malloc(len + 1);

	if (copy != NULL)
		memcpy(copy, text, len + 1);
	return copy;
}
