/*
 * test_exchange_wire.c - the helper's reading of the request: exactly one
 * framed message, so the go byte after it is left for the gate.
 */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "exchange_wire.h"
#include "secret.h"

/* A pipe whose read end holds len bytes of data, its write end closed. */
static int pipe_holding(const char *data, size_t len)
{
	int ends[2];

	ck_assert_int_eq(pipe(ends), 0);
	ck_assert_int_eq(write(ends[1], data, len), (ssize_t)len);
	close(ends[1]);
	return ends[0];
}

static void encoded_request(char **data, size_t *len)
{
	struct wire_request request = {
		.grant = PH_GRANT_AUTHORIZATION_CODE,
		.credential = "01234567-89ab-cdef-0123-456789abcdef",
		.client_secret = "not-a-secret",
		.api_url = "https://api.example.invalid",
		.timeout = 10,
	};

	ck_assert(wire_request_encode(&request, data, len));
}

START_TEST(test_read_stops_before_the_go_byte)
{
	char *request, *read_back, go = 0;
	size_t len, read_len;
	char reason[PH_REASON_MAX] = "";
	char *with_go;
	int fd;

	encoded_request(&request, &len);
	with_go = malloc(len + 1);
	ck_assert_ptr_nonnull(with_go);
	memcpy(with_go, request, len);
	with_go[len] = WIRE_GO;
	fd = pipe_holding(with_go, len + 1);
	ck_assert_msg(wire_request_read(fd, &read_back, &read_len, reason), "%s", reason);
	ck_assert_uint_eq(read_len, len);
	ck_assert_mem_eq(read_back, request, len);
	ck_assert_int_eq(read(fd, &go, 1), 1);
	ck_assert_int_eq(go, WIRE_GO);
	close(fd);
	secret_free_len(read_back, read_len);
	secret_free_len(request, len);
	free(with_go);
}
END_TEST

/* What must be refused: each input alone in the pipe, then EOF. */
static void expect_refused(const char *data, size_t len, const char *what)
{
	char *read_back = (char *)1;
	size_t read_len = 1;
	char reason[PH_REASON_MAX] = "";
	int fd = pipe_holding(data, len);

	ck_assert_msg(!wire_request_read(fd, &read_back, &read_len, reason), "%s was read", what);
	ck_assert_ptr_null(read_back);
	ck_assert_uint_eq(read_len, 0);
	ck_assert_str_eq(reason, "the exchange helper got no usable request");
	close(fd);
}

START_TEST(test_read_refuses_short_wrong_and_oversized)
{
	size_t over = WIRE_REQUEST_MAX - WIRE_HEADER_LEN + 1;
	char oversized[WIRE_HEADER_LEN] = { 'P', 'H', 'X', '1', (char)(over >> 24),
					    (char)(over >> 16), (char)(over >> 8), (char)over };
	char *request;
	size_t len;

	expect_refused("", 0, "nothing");
	expect_refused("PHX1\0\0", 6, "a header cut short");
	expect_refused("PHR1\0\0\0\0", 8, "a reply's header");
	expect_refused(oversized, sizeof oversized, "a header announcing too much");
	encoded_request(&request, &len);
	expect_refused(request, len - 1, "a payload cut short");
	secret_free_len(request, len);
}
END_TEST

Suite *exchange_wire_suite(void)
{
	Suite *s = suite_create("exchange_wire");
	TCase *tc = tcase_create("wire_request_read");

	tcase_add_test(tc, test_read_stops_before_the_go_byte);
	tcase_add_test(tc, test_read_refuses_short_wrong_and_oversized);
	suite_add_tcase(s, tc);
	return s;
}
