/*
 * ascii.h - character classes of the C locale, whatever locale the PAM
 * application set: isalnum() and friends may accept more in another one.
 */
#ifndef PAM_HEROKU_ASCII_H
#define PAM_HEROKU_ASCII_H

#include <stdbool.h>

static inline bool is_ascii_digit(char c)
{
	return c >= '0' && c <= '9';
}

static inline bool is_ascii_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static inline bool is_ascii_alnum(char c)
{
	return is_ascii_alpha(c) || is_ascii_digit(c);
}

static inline bool is_ascii_hex(char c)
{
	return is_ascii_digit(c) || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}

/* isspace() of the C locale: blank, tab, newline, vertical tab, form feed, CR. */
static inline bool is_ascii_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

#endif
