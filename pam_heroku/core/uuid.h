/*
 * uuid.h - the one check of a Heroku user id: the canonical 8-4-4-4-12 hex
 * form, any case, as the API sends it and the allowlist holds it.
 *
 * 16 bytes at a time (GCC's vector extension: SSE2 on x86-64, NEON on
 * arm64): the allowlist checks the id of every line, where a byte at a time
 * was most of a long allowlist's scan.  A comparison's lanes are 0xff when true.
 */
#ifndef PAM_HEROKU_UUID_H
#define PAM_HEROKU_UUID_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define UUID_LEN 36

typedef unsigned char bytes16 __attribute__((vector_size(16)));
typedef signed char signed16 __attribute__((vector_size(16)));

static inline bytes16 load16(const char *p)
{
	bytes16 v;

	memcpy(&v, p, sizeof v);
	return v;
}

/*
 * 0xff where the 16 bytes at p are what they must be: '-' in the lanes
 * where dashes has 0xff (a one-byte digit range, no letter range), else
 * '0'-'9' or, v | 0x20 mapping A-F and only A-F onto a-f, 'a'-'f'.
 */
static inline bytes16 as_in_uuid(const char *p, bytes16 dashes)
{
	const bytes16 v = load16(p);
	bytes16 digit = (bytes16)((signed16)(v + (unsigned char)(0x80 - '0') + (dashes & 3)) <
				  (signed16)((unsigned char)(10 - 0x80) - (dashes & 9)));
	bytes16 letter = (bytes16)((signed16)((v | 0x20) + (unsigned char)(0x80 - 'a')) <
				   (signed16)((unsigned char)(6 - 0x80) - (dashes & 6)));

	return digit | letter;
}

/* Whether the UUID_LEN bytes at text are a UUID: bytes 0-15, 16-31 and 20-35 checked. */
static inline bool uuid_at(const char *text)
{
	const unsigned char D = 0xff;
	const bytes16 dashes0 = { 0, 0, 0, 0, 0, 0, 0, 0, D, 0, 0, 0, 0, D, 0, 0 };
	const bytes16 dashes16 = { 0, 0, D, 0, 0, 0, 0, D, 0, 0, 0, 0, 0, 0, 0, 0 };
	const bytes16 dashes20 = { 0, 0, 0, D, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	bytes16 all = as_in_uuid(text, dashes0) & as_in_uuid(text + 16, dashes16) &
		      as_in_uuid(text + 20, dashes20);
	unsigned long long half[2];

	memcpy(half, &all, sizeof half);
	return (half[0] & half[1]) == ~0ULL;
}

/* Whether text, len bytes long, is a UUID. */
static inline bool uuid_is_valid(const char *text, size_t len)
{
	return len == UUID_LEN && uuid_at(text);
}

#endif
