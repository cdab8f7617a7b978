/*
 * sanitize.c - keep only text that is safe to show on a terminal and to log:
 * the API's message reaches both, so a hostile server must not send escape
 * sequences or forge log lines (sanitize.h says what passes).
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sanitize.h"

/* The length of the valid UTF-8 sequence at s, its code point in *code; 0 when invalid. */
static size_t utf8_decode(const unsigned char *s, size_t left, uint32_t *code)
{
	size_t len;

	*code = s[0];
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		*code = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		*code = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		*code = s[0] & 0x07;
	} else {
		return 0;   /* continuation byte, overlong lead C0/C1, or F5..FF */
	}
	if (len > left)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*code = (*code << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && *code < 0x800) || (len == 4 && *code < 0x10000) ||
	    *code > 0x10ffff || (*code >= 0xd800 && *code <= 0xdfff))
		return 0;   /* overlong, out of range or a surrogate */
	return len;
}

size_t sanitize_utf8_length(const unsigned char *s, size_t left)
{
	uint32_t code;

	return utf8_decode(s, left, &code);
}

/*
 * What may not reach a terminal or a log line even as valid Unicode: C0 and
 * C1 controls and DEL; line and paragraph separators (a log viewer breaks
 * the line there); bidirectional controls and marks (they reorder what the
 * reader sees); spaces other than ASCII's (a forged " key=value" field
 * looks real) and the invisible ones.
 */
static bool is_unsafe(uint32_t c)
{
	static const struct { uint32_t first, last; } ranges[] = {
		{ 0x0000, 0x001f }, { 0x007f, 0x00a0 },    /* C0, DEL, C1, NO-BREAK SPACE */
		{ 0x061c, 0x061c },                          /* ARABIC LETTER MARK */
		{ 0x1680, 0x1680 }, { 0x180e, 0x180e },      /* OGHAM SPACE, MONGOLIAN VOWEL SEP. */
		{ 0x2000, 0x200f },                          /* EN QUAD .. HAIR SPACE, ZWSP, ZWNJ, ZWJ, LRM, RLM */
		{ 0x2028, 0x202f },                          /* LS, PS, LRE..RLO (bidi), NNBSP */
		{ 0x205f, 0x2060 },                          /* MEDIUM MATH SPACE, WORD JOINER */
		{ 0x2066, 0x2069 },                          /* LRI, RLI, FSI, PDI (bidi) */
		{ 0x3000, 0x3000 },                          /* IDEOGRAPHIC SPACE */
		{ 0xfeff, 0xfeff },                          /* ZERO WIDTH NO-BREAK SPACE (BOM) */
	};

	for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
		if (c >= ranges[i].first && c <= ranges[i].last)
			return true;
	return false;
}

size_t sanitize_text(char *dst, size_t dst_size, const char *src, size_t src_len,
		     size_t max_bytes)
{
	const unsigned char *in = (const unsigned char *)src;
	size_t out = 0;
	size_t limit = max_bytes;

	if (dst_size == 0)
		return 0;
	if (limit > dst_size - 1)
		limit = dst_size - 1;
	for (size_t i = 0; src != NULL && i < src_len;) {
		uint32_t code;
		size_t len = utf8_decode(in + i, src_len - i, &code);

		if (len == 0) {
			i++;        /* drop one invalid byte and resynchronise */
			continue;
		}
		if (!is_unsafe(code)) {
			if (out + len > limit)
				break;  /* cut on a character boundary */
			for (size_t k = 0; k < len; k++)
				dst[out++] = (char)in[i + k];
		}
		i += len;
	}
	dst[out] = '\0';
	return out;
}

static bool is_field_byte(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e && c != '"' && c != '\\';
}

void sanitize_field(char *dst, size_t dst_size, const char *src, size_t src_len)
{
	static const char hex[] = "0123456789abcdef";
	size_t out = 0;

	for (size_t i = 0; src != NULL && i < src_len; i++) {
		unsigned char c = (unsigned char)src[i];
		size_t need = is_field_byte(c) ? 1 : 4;

		if (out + need > dst_size - 1)
			break;  /* cut before an escape, never inside one */
		if (need == 1) {
			dst[out++] = (char)c;
		} else {
			dst[out++] = '\\';
			dst[out++] = 'x';
			dst[out++] = hex[c >> 4];
			dst[out++] = hex[c & 0x0f];
		}
	}
	dst[out] = '\0';
	if (out == 0 && dst_size >= 2)
		snprintf(dst, dst_size, "-");
}
