/*
 * sanitize.h - text from the API (or a user name) made safe to show and log.
 *
 * Drops every control character (below 0x20, 0x7f, and the C1 range
 * U+0080..U+009F) and every byte that is not part of valid UTF-8, so no
 * terminal escape sequence or forged log line passes through; then cuts the
 * result to at most max_bytes bytes on a character boundary.
 */
#ifndef PAM_HEROKU_SANITIZE_H
#define PAM_HEROKU_SANITIZE_H

#include <stddef.h>

/* The cut the interface names for the API's error message. */
#define SANITIZE_MESSAGE_MAX 200

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
 * A name that may hold anything (a PAM user as typed) as one safe word for a
 * log line: sanitize_text, then blanks shown as '?', and "-" when nothing
 * is left.  dst_size >= 2.
 */
void sanitize_word(char *dst, size_t dst_size, const char *src);

#endif
