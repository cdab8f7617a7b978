/* secret.c - wipe-before-free for anything that held a secret. */
#include "config.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

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

static void wipe_json_strings(cJSON *item)
{
	for (; item != NULL; item = item->next) {
		if (item->valuestring != NULL)
			explicit_bzero(item->valuestring, strlen(item->valuestring));
		wipe_json_strings(item->child);
	}
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

void secret_json_delete(cJSON *root)
{
	wipe_json_strings(root);
	cJSON_Delete(root);
}

char *secret_strdup(const char *text)
{
	size_t len = strlen(text);
	char *copy = malloc(len + 1);

	if (copy != NULL)
		memcpy(copy, text, len + 1);
	return copy;
}

/* ----------------------------------------------------------------------- */
/* A wiping allocator.                                                      */

/*
 * An allocator for a library that copies secrets into buffers of its own
 * (libcurl: the request, the response) and frees them unwiped, where they
 * would stay in freed heap memory, and in a core dump, after pam_end.  Every
 * block is wiped (its whole usable size) before it goes back to the
 * allocator, also when realloc moves it.  tests/hardening/heap_scan proves it.
 */
void secret_wiping_free(void *ptr)
{
	if (ptr != NULL) {
		explicit_bzero(ptr, malloc_usable_size(ptr));
		free(ptr);
	}
}

void *secret_wiping_malloc(size_t size)
{
	return malloc(size);
}

void *secret_wiping_calloc(size_t count, size_t size)
{
	return calloc(count, size);
}

char *secret_wiping_strdup(const char *text)
{
	return strdup(text);
}

void *secret_wiping_realloc(void *ptr, size_t size)
{
	size_t old_size;
	void *moved;

	if (ptr == NULL)
		return malloc(size);
	if (size == 0) {
		secret_wiping_free(ptr);
		return NULL;
	}
	old_size = malloc_usable_size(ptr);
	if (size <= old_size)
		return ptr;     /* the block stays where it is; freed (wiped) later */
	moved = malloc(size);
	if (moved == NULL)
		return NULL;    /* like realloc: the old block is left as it was */
	memcpy(moved, ptr, old_size);
	secret_wiping_free(ptr);
	return moved;
}

/* ----------------------------------------------------------------------- */
/* Registers.                                                               */

/*
 * Wiping memory is not the end of a secret: the last ones copied (memcpy),
 * encrypted or decrypted (AES-GCM) stay in the vector registers, and the
 * next time those are saved to memory (a signal frame, the dynamic linker's
 * lazy binding) they land on the stack, where a core dump would keep them.
 * So they are cleared after each exchange and at the end of a login.
 * x86-64 only; elsewhere nothing is done (SECURITY.md).
 */
#if defined(__x86_64__) && defined(__GNUC__)
#define XMM0_15 "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", \
	"xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"

__attribute__((target("avx512f"), noinline))
static void clear_vector_registers_avx512(void)
{
	/* vzeroall clears zmm0-15 whole; zmm16-31 one by one. */
	__asm__ volatile("vzeroall\n\t"
			 "vpxord %%zmm16, %%zmm16, %%zmm16\n\tvpxord %%zmm17, %%zmm17, %%zmm17\n\t"
			 "vpxord %%zmm18, %%zmm18, %%zmm18\n\tvpxord %%zmm19, %%zmm19, %%zmm19\n\t"
			 "vpxord %%zmm20, %%zmm20, %%zmm20\n\tvpxord %%zmm21, %%zmm21, %%zmm21\n\t"
			 "vpxord %%zmm22, %%zmm22, %%zmm22\n\tvpxord %%zmm23, %%zmm23, %%zmm23\n\t"
			 "vpxord %%zmm24, %%zmm24, %%zmm24\n\tvpxord %%zmm25, %%zmm25, %%zmm25\n\t"
			 "vpxord %%zmm26, %%zmm26, %%zmm26\n\tvpxord %%zmm27, %%zmm27, %%zmm27\n\t"
			 "vpxord %%zmm28, %%zmm28, %%zmm28\n\tvpxord %%zmm29, %%zmm29, %%zmm29\n\t"
			 "vpxord %%zmm30, %%zmm30, %%zmm30\n\tvpxord %%zmm31, %%zmm31, %%zmm31"
			 : : : XMM0_15, "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21",
			   "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28",
			   "xmm29", "xmm30", "xmm31");
}

__attribute__((target("avx"), noinline))
static void clear_vector_registers_avx(void)
{
	__asm__ volatile("vzeroall" : : : XMM0_15);
}

__attribute__((noinline))
static void clear_vector_registers_sse(void)
{
	__asm__ volatile("pxor %%xmm0, %%xmm0\n\tpxor %%xmm1, %%xmm1\n\t"
			 "pxor %%xmm2, %%xmm2\n\tpxor %%xmm3, %%xmm3\n\t"
			 "pxor %%xmm4, %%xmm4\n\tpxor %%xmm5, %%xmm5\n\t"
			 "pxor %%xmm6, %%xmm6\n\tpxor %%xmm7, %%xmm7\n\t"
			 "pxor %%xmm8, %%xmm8\n\tpxor %%xmm9, %%xmm9\n\t"
			 "pxor %%xmm10, %%xmm10\n\tpxor %%xmm11, %%xmm11\n\t"
			 "pxor %%xmm12, %%xmm12\n\tpxor %%xmm13, %%xmm13\n\t"
			 "pxor %%xmm14, %%xmm14\n\tpxor %%xmm15, %%xmm15"
			 : : : XMM0_15);
}
#endif

void secret_clear_registers(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f"))
		clear_vector_registers_avx512();
	else if (__builtin_cpu_supports("avx"))
		clear_vector_registers_avx();
	else
		clear_vector_registers_sse();
#endif
}

