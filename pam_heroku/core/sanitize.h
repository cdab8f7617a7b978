/*
 * sanitize.h - text from the API (or a user name) made safe to show and log.
 *
 * sanitize_text drops control characters (C0, DEL, C1), U+2028/U+2029, the
 * bidirectional controls and marks, the non-ASCII and invisible spaces and
 * every byte that is not valid UTF-8, so no escape sequence, reordered text
 * or forged log field passes; then cuts to max_bytes on a character boundary.
 */
#ifndef PAM_HEROKU_SANITIZE_H
#define PAM_HEROKU_SANITIZE_H

#include <stddef.h>

/* The API's error message is cut to this (pam_heroku(8)). */
#define SANITIZE_MESSAGE_MAX 200

/* Room for a PAM user of up to 64 bytes written as a field, every byte \xHH. */
#define SANITIZE_USER_FIELD_SIZE (4 * 64 + 1)

/*
 * Copy src (src_len bytes, need not be NUL-terminated) into dst
 * (dst_size >= 1), keeping at most max_bytes bytes of safe text.
 * dst is always NUL-terminated.  Returns the length written.
 */
size_t sanitize_text(char *dst, size_t dst_size, const char *src, size_t src_len,
		     size_t max_bytes);

/*
 * Length of the valid UTF-8 sequence (RFC 3629: no overlong form, no
 * surrogate, nothing above U+10FFFF) starting at s, at most left >= 1
 * bytes; 0 when it is not one.
 */
size_t sanitize_utf8_length(const unsigned char *s, size_t left);

/*
 * A field from outside the module (the PAM user as typed, a response
 * header) as one word a log parser cannot be fooled by: printable ASCII
 * 0x21..0x7e passes, except '"' and '\\'; every other byte (a space, any
 * control, any byte of UTF-8) becomes \xHH.  Cut (never inside an escape)
 * to dst_size - 1 bytes; "-" when src is empty.  dst_size >= 2.
 */
void sanitize_field(char *dst, size_t dst_size, const char *src, size_t src_len);

#endif
