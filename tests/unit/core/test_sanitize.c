/*
 * test_sanitize.c - text from the API made safe to show and log.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"
#include "sanitize.h"

/* A byte string with its length, so inputs may hold NUL bytes. */
#define BYTES(s) s, sizeof(s) - 1

struct sanitize_case {
	const char *name;
	const char *src;
	size_t src_len;
	size_t max_bytes;
	const char *want;
};

static const struct sanitize_case cases[] = {
	/* plain text passes */
	{ "plain ascii", BYTES("hello, world"), 200, "hello, world" },
	{ "printable ascii", BYTES(" !\"#$%&'()*+,-./0189:;<=>?@AZ[\\]^_`az{|}~"), 200,
	  " !\"#$%&'()*+,-./0189:;<=>?@AZ[\\]^_`az{|}~" },
	{ "empty", BYTES(""), 200, "" },

	/* C0 controls and DEL */
	{ "C0 controls", BYTES("a\x01" "b\x1f" "c\x7f" "d"), 200, "abcd" },
	{ "terminal escape", BYTES("\x1b[31mred\x1b[0m"), 200, "[31mred[0m" },
	{ "OSC title escape", BYTES("\x1b]0;title\x07 text"), 200, "]0;title text" },
	{ "forged log line", BYTES("ok\r\nMay  1 00:00:00 host sshd[1]: Accepted"), 200,
	  "okMay  1 00:00:00 host sshd[1]: Accepted" },
	{ "tab newline cr", BYTES("a\tb\nc\rd"), 200, "abcd" },
	{ "every C0 byte", BYTES("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"
				 "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x7f"),
	  200, "" },
	{ "embedded NUL", BYTES("a\0b\0\0c"), 200, "abc" },

	/* valid UTF-8 is kept */
	{ "e acute", BYTES("caf\xc3\xa9"), 200, "caf\xc3\xa9" },
	{ "U+00A1 after NBSP range", BYTES("a\xc2\xa1" "b"), 200, "a\xc2\xa1" "b" },
	{ "U+1FFF before the spaces", BYTES("\xe1\xbf\xbf"), 200, "\xe1\xbf\xbf" },
	{ "U+2010 hyphen", BYTES("a\xe2\x80\x90" "b"), 200, "a\xe2\x80\x90" "b" },
	{ "U+2027 before LS", BYTES("\xe2\x80\xa7"), 200, "\xe2\x80\xa7" },
	{ "U+2030 per mille", BYTES("\xe2\x80\xb0"), 200, "\xe2\x80\xb0" },

	/* Unicode that forges what an escape cannot: separators, bidi, spaces */
	{ "no-break space U+00A0", BYTES("a\xc2\xa0" "b"), 200, "ab" },
	{ "forged field with NBSP", BYTES("x\xc2\xa0heroku_user_id=1"), 200, "xheroku_user_id=1" },
	{ "line separator U+2028", BYTES("a\xe2\x80\xa8" "b"), 200, "ab" },
	{ "paragraph separator U+2029", BYTES("a\xe2\x80\xa9" "b"), 200, "ab" },
	{ "bidi LRE..RLO U+202A-E", BYTES("\xe2\x80\xaa" "a\xe2\x80\xab\xe2\x80\xac\xe2\x80\xad"
					 "b\xe2\x80\xae" "c"), 200, "abc" },
	{ "bidi isolates U+2066-9", BYTES("\xe2\x81\xa6" "a\xe2\x81\xa7\xe2\x81\xa8"
					 "b\xe2\x81\xa9"), 200, "ab" },
	{ "bidi marks LRM RLM ALM", BYTES("a\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c" "b"), 200, "ab" },
	{ "ogham space U+1680", BYTES("a\xe1\x9a\x80" "b"), 200, "ab" },
	{ "en quad..hair space U+2000-A", BYTES("\xe2\x80\x80" "a\xe2\x80\x85\xe2\x80\x8a" "b"),
	  200, "ab" },
	{ "zero width space U+200B", BYTES("a\xe2\x80\x8b" "b"), 200, "ab" },
	{ "narrow nbsp U+202F", BYTES("a\xe2\x80\xaf" "b"), 200, "ab" },
	{ "medium math space U+205F", BYTES("a\xe2\x81\x9f" "b"), 200, "ab" },
	{ "ideographic space U+3000", BYTES("a\xe3\x80\x80" "b"), 200, "ab" },
	{ "BOM U+FEFF", BYTES("\xef\xbb\xbf" "ab"), 200, "ab" },
	{ "euro sign", BYTES("\xe2\x82\xac" "5"), 200, "\xe2\x82\xac" "5" },
	{ "emoji", BYTES("hi \xf0\x9f\x98\x80!"), 200, "hi \xf0\x9f\x98\x80!" },
	{ "U+D7FF", BYTES("\xed\x9f\xbf"), 200, "\xed\x9f\xbf" },
	{ "U+E000", BYTES("\xee\x80\x80"), 200, "\xee\x80\x80" },
	{ "U+10FFFF", BYTES("\xf4\x8f\xbf\xbf"), 200, "\xf4\x8f\xbf\xbf" },
	{ "U+0800", BYTES("\xe0\xa0\x80"), 200, "\xe0\xa0\x80" },
	{ "U+10000", BYTES("\xf0\x90\x80\x80"), 200, "\xf0\x90\x80\x80" },

	/* C1 controls U+0080..U+009F */
	{ "C1 U+0080 and U+009F", BYTES("a\xc2\x80" "b\xc2\x9f" "c"), 200, "abc" },
	{ "C1 CSI U+009B", BYTES("\xc2\x9b" "31mred"), 200, "31mred" },
	{ "C1 NEL U+0085", BYTES("line\xc2\x85" "next"), 200, "linenext" },

	/* invalid UTF-8 */
	{ "overlong slash 2 bytes", BYTES("a\xc0\xaf" "b"), 200, "ab" },
	{ "overlong C1 lead", BYTES("a\xc1\xbf" "b"), 200, "ab" },
	{ "overlong slash 3 bytes", BYTES("a\xe0\x80\xaf" "b"), 200, "ab" },
	{ "overlong slash 4 bytes", BYTES("a\xf0\x80\x80\xaf" "b"), 200, "ab" },
	{ "overlong NUL", BYTES("a\xc0\x80" "b"), 200, "ab" },
	{ "overlong ESC", BYTES("a\xc0\x9b" "b"), 200, "ab" },
	{ "surrogate D800", BYTES("a\xed\xa0\x80" "b"), 200, "ab" },
	{ "surrogate DFFF", BYTES("a\xed\xbf\xbf" "b"), 200, "ab" },
	{ "above U+10FFFF", BYTES("a\xf4\x90\x80\x80" "b"), 200, "ab" },
	{ "truncated 2 at end", BYTES("a\xc3"), 200, "a" },
	{ "truncated 3 at end", BYTES("a\xe2\x82"), 200, "a" },
	{ "truncated 4 at end", BYTES("a\xf0\x9f\x98"), 200, "a" },
	{ "truncated 2 then ascii", BYTES("a\xc3" "b"), 200, "ab" },
	{ "truncated 3 then ascii", BYTES("a\xe2\x82" "b"), 200, "ab" },
	{ "truncated then valid", BYTES("\xc3\xc3\xa9"), 200, "\xc3\xa9" },
	{ "lead then paren", BYTES("\xe2\x28\xa1"), 200, "(" },
	{ "stray continuation", BYTES("a\x80" "b\xbf" "c"), 200, "abc" },
	{ "run of continuations", BYTES("\x80\x81\x82\xbf"), 200, "" },
	{ "F5 lead", BYTES("a\xf5\x80\x80\x80" "b"), 200, "ab" },
	{ "F8 five-byte form", BYTES("a\xf8\x88\x80\x80\x80" "b"), 200, "ab" },
	{ "FE FF", BYTES("a\xfe\xff" "b"), 200, "ab" },
	{ "every byte F5..FF", BYTES("\xf5\xf6\xf7\xf8\xf9\xfa\xfb\xfc\xfd\xfe\xff"), 200, "" },

	/* the cut: at most max_bytes, never inside a character */
	{ "cut ascii", BYTES("abcdef"), 3, "abc" },
	{ "cut exact", BYTES("abc"), 3, "abc" },
	{ "cut zero", BYTES("abc"), 0, "" },
	{ "cut before 2-byte char", BYTES("a\xc3\xa9"), 2, "a" },
	{ "cut after 2-byte char", BYTES("a\xc3\xa9" "b"), 3, "a\xc3\xa9" },
	{ "cut inside emoji", BYTES("\xf0\x9f\x98\x80x"), 3, "" },
	{ "cut after emoji", BYTES("\xf0\x9f\x98\x80x"), 4, "\xf0\x9f\x98\x80" },
	{ "cut counts kept bytes", BYTES("\x01\x02\x1b" "abc\x7f" "def"), 4, "abcd" },
	{ "cut after dropped C1", BYTES("\xc2\x80\xc2\x80xyz"), 2, "xy" },
};

START_TEST(test_sanitize_table)
{
	const struct sanitize_case *c = &cases[_i];
	char dst[512];
	size_t n;

	memset(dst, 'Z', sizeof dst);
	n = sanitize_text(dst, sizeof dst, c->src, c->src_len, c->max_bytes);
	ck_assert_msg(strcmp(dst, c->want) == 0, "%s: got \"%s\", want \"%s\"",
		      c->name, dst, c->want);
	ck_assert_msg(n == strlen(c->want), "%s: returned %zu, want %zu",
		      c->name, n, strlen(c->want));
	ck_assert_msg(n <= c->max_bytes, "%s: %zu bytes exceeds max %zu",
		      c->name, n, c->max_bytes);
}
END_TEST

START_TEST(test_sanitize_src_not_terminated)
{
	/* Only src_len bytes count; what follows is never read into dst. */
	const char src[6] = { 'a', 'b', 'c', 'X', 'Y', 'Z' };
	char dst[16];

	memset(dst, 'Q', sizeof dst);
	ck_assert_uint_eq(sanitize_text(dst, sizeof dst, src, 3, 200), 3);
	ck_assert_str_eq(dst, "abc");
}
END_TEST

START_TEST(test_sanitize_zero_length_terminates)
{
	char dst[8];

	memset(dst, 'Q', sizeof dst);
	ck_assert_uint_eq(sanitize_text(dst, sizeof dst, "abc", 0, 200), 0);
	ck_assert_int_eq(dst[0], '\0');
}
END_TEST

START_TEST(test_sanitize_respects_dst_size)
{
	char buf[64];
	size_t n;

	/* dst_size 4: three bytes and the NUL; nothing written past them. */
	memset(buf, 'Z', sizeof buf);
	n = sanitize_text(buf, 4, "abcdefgh", 8, 200);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(buf, "abc");
	for (size_t i = 4; i < sizeof buf; i++)
		ck_assert_msg(buf[i] == 'Z', "byte %zu past dst_size was written", i);
}
END_TEST

START_TEST(test_sanitize_dst_size_one)
{
	char buf[8];

	memset(buf, 'Z', sizeof buf);
	ck_assert_uint_eq(sanitize_text(buf, 1, "abc", 3, 200), 0);
	ck_assert_int_eq(buf[0], '\0');
	ck_assert_int_eq(buf[1], 'Z');
}
END_TEST

START_TEST(test_sanitize_dst_size_never_splits_char)
{
	char buf[16];
	size_t n;

	/* "a" + e-acute needs 3 bytes + NUL; only 3 bytes of room. */
	memset(buf, 'Z', sizeof buf);
	n = sanitize_text(buf, 3, "a\xc3\xa9", 3, 200);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(buf, "a");
	ck_assert_int_eq(buf[3], 'Z');

	/* an emoji with 4 bytes of room (3 + NUL) does not fit at all */
	memset(buf, 'Z', sizeof buf);
	n = sanitize_text(buf, 4, "\xf0\x9f\x98\x80", 4, 200);
	ck_assert_uint_eq(n, 0);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(buf[4], 'Z');
}
END_TEST

START_TEST(test_sanitize_message_max)
{
	char src[300];
	char dst[SANITIZE_MESSAGE_MAX + 1];

	ck_assert_int_eq(SANITIZE_MESSAGE_MAX, 200);
	memset(src, 'x', sizeof src);
	ck_assert_uint_eq(sanitize_text(dst, sizeof dst, src, sizeof src, SANITIZE_MESSAGE_MAX),
			  200);
	ck_assert_uint_eq(strlen(dst), 200);
}
END_TEST

START_TEST(test_sanitize_cut_multibyte_run)
{
	/* 150 two-byte characters cut to 200 bytes keep exactly 100 of them. */
	char src[300];
	char dst[256];

	for (size_t i = 0; i < sizeof src; i += 2) {
		src[i] = (char)0xc3;
		src[i + 1] = (char)0xa9;
	}
	ck_assert_uint_eq(sanitize_text(dst, sizeof dst, src, sizeof src, 199), 198);
	ck_assert_uint_eq(sanitize_text(dst, sizeof dst, src, sizeof src, 200), 200);
}
END_TEST

/* Strict UTF-8 check of the output, written independently of the module. */
static bool valid_safe_utf8(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		uint32_t cp;
		size_t need;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (i + need >= len)
			return false;
		for (size_t k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
		    (cp >= 0x80 && cp <= 0xa0) || cp == 0x61c || cp == 0x1680 || cp == 0x180e ||
		    (cp >= 0x2000 && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202f) ||
		    cp == 0x205f || cp == 0x2060 || (cp >= 0x2066 && cp <= 0x2069) ||
		    cp == 0x3000 || cp == 0xfeff)
			return false;
		i += need + 1;
	}
	return true;
}

START_TEST(test_sanitize_random_bytes_always_safe)
{
	/* Deterministic pseudo-random inputs: the output is always valid,
	 * control-free UTF-8 within max_bytes, and a byte-for-byte copy when
	 * the input already was. */
	uint32_t state = 0x12345678u;
	unsigned char src[97];
	char dst[128];

	for (int round = 0; round < 20000; round++) {
		size_t len = (size_t)(round % (int)sizeof src);
		size_t max = (size_t)(round % 101);
		size_t n;

		for (size_t i = 0; i < len; i++) {
			state = state * 1103515245u + 12345u;
			src[i] = (unsigned char)(state >> 16);
			if (round % 3 == 0)
				src[i] |= 0x80;   /* mostly multibyte material */
		}
		n = sanitize_text(dst, sizeof dst, (const char *)src, len, max);
		ck_assert_msg(n <= max, "round %d: %zu > max %zu", round, n, max);
		ck_assert_msg(n == strlen(dst), "round %d: returned %zu, strlen %zu",
			      round, n, strlen(dst));
		ck_assert_msg(valid_safe_utf8((const unsigned char *)dst, n),
			      "round %d: output is not safe UTF-8", round);
		if (valid_safe_utf8(src, len) && len <= max && len < sizeof dst)
			ck_assert_msg(n == len && memcmp(dst, src, len) == 0,
				      "round %d: valid text was changed", round);
	}
}
END_TEST

struct field_case {
	const char *name;
	const char *src;
	size_t src_len;
	size_t dst_size;
	const char *want;
};

static const struct field_case field_cases[] = {
	{ "plain name", BYTES("alice"), 64, "alice" },
	{ "printable ascii", BYTES("a!#$%&'()*+,-./:;<=>?@[]^_`{|}~z"), 64,
	  "a!#$%&'()*+,-./:;<=>?@[]^_`{|}~z" },
	{ "empty", BYTES(""), 64, "-" },
	{ "space", BYTES("x heroku_user_id=1"), 64, "x\\x20heroku_user_id=1" },
	{ "quote and backslash", BYTES("a\"b\\c"), 64, "a\\x22b\\x5cc" },
	{ "NBSP forges a field", BYTES("x\xc2\xa0heroku_user_id=0"), 64,
	  "x\\xc2\\xa0heroku_user_id=0" },
	{ "U+2028", BYTES("a\xe2\x80\xa8" "b"), 64, "a\\xe2\\x80\\xa8b" },
	{ "controls", BYTES("a\r\nb\tc\x1b[31m\x7f"), 64, "a\\x0d\\x0ab\\x09c\\x1b[31m\\x7f" },
	{ "NUL byte", BYTES("a\0b"), 64, "a\\x00b" },
	{ "cut before an escape", BYTES("abc def"), 6, "abc" },
	{ "cut plain", BYTES("abcdef"), 4, "abc" },
};

START_TEST(test_sanitize_field)
{
	const struct field_case *c = &field_cases[_i];
	char dst[128];

	memset(dst, 'Z', sizeof dst);
	sanitize_field(dst, c->dst_size, c->src, c->src_len);
	ck_assert_msg(strcmp(dst, c->want) == 0, "%s: got \"%s\", want \"%s\"",
		      c->name, dst, c->want);
	ck_assert_msg(dst[c->dst_size] == 'Z', "%s: wrote past dst_size", c->name);
	for (const char *p = dst; *p; p++)
		ck_assert_msg(*p >= 0x21 && *p <= 0x7e && *p != '"', "%s: byte 0x%02x in output",
			      c->name, (unsigned)(unsigned char)*p);
}
END_TEST

Suite *sanitize_suite(void)
{
	Suite *s = suite_create("sanitize");
	TCase *tc = tcase_create("sanitize_text");

	tcase_add_loop_test(tc, test_sanitize_table, 0, (int)(sizeof cases / sizeof cases[0]));
	tcase_add_test(tc, test_sanitize_src_not_terminated);
	tcase_add_test(tc, test_sanitize_zero_length_terminates);
	tcase_add_test(tc, test_sanitize_respects_dst_size);
	tcase_add_test(tc, test_sanitize_dst_size_one);
	tcase_add_test(tc, test_sanitize_dst_size_never_splits_char);
	tcase_add_test(tc, test_sanitize_message_max);
	tcase_add_test(tc, test_sanitize_cut_multibyte_run);
	tcase_add_test(tc, test_sanitize_random_bytes_always_safe);
	tcase_add_loop_test(tc, test_sanitize_field, 0,
			    (int)(sizeof field_cases / sizeof field_cases[0]));
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return s;
}
