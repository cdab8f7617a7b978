/*
 * sanitize.c - keep only text that is safe to show on a terminal and to log.
 *
 * The API's error message reaches the user's terminal (PAM_ERROR_MSG) and
 * syslog, so a hostile or broken server must not be able to send escape
 * sequences or forge log lines.  Only valid UTF-8 without C0/C1 controls
 * passes.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sanitize.h"

size_t sanitize_utf8_length(const unsigned char *s, size_t left)
{
	uint32_t code;
	size_t len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		code = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		code = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		code = s[0] & 0x07;
	} else {
		return 0;   /* continuation byte, overlong lead C0/C1, or F5..FF */
	}
	if (len > left)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		code = (code << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && code < 0x800) || (len == 4 && code < 0x10000) ||
	    code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff))
		return 0;   /* overlong, out of range or a surrogate */
	return len;
}

static bool is_control(const unsigned char *s, size_t len)
{
	if (len == 1)
		return s[0] < 0x20 || s[0] == 0x7f;
	/* U+0080..U+009F (C1 controls, e.g. U+009B CSI) are C2 80..C2 9F. */
	return len == 2 && s[0] == 0xc2 && s[1] <= 0x9f;
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
		size_t len = sanitize_utf8_length(in + i, src_len - i);

		if (len == 0) {
			i++;        /* drop one invalid byte and resynchronise */
			continue;
		}
		if (!is_control(in + i, len)) {
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

void sanitize_word(char *dst, size_t dst_size, const char *src)
{
	sanitize_text(dst, dst_size, src, src ? strlen(src) : 0, dst_size - 1);
	for (char *c = dst; *c; c++)
		if (*c == ' ')
			*c = '?';
	if (dst[0] == '\0')
		snprintf(dst, dst_size, "-");
}
