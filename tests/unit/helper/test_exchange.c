/*
 * test_exchange.c - the HTTPS POST, as far as it goes without a TLS server.
 *
 * Only loopback sockets the test opens itself are used; real HTTPS exchanges
 * (status codes, redirects, the 64 KiB cap) are covered by the integration
 * tests against the fake API.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "exchange.h"
#include "settings.h"

#define BODY "{\"grant\":{\"type\":\"authorization_code\",\"code\":\"XXXX\"}}"

static void settings_for(struct settings *s, char *api_url, long timeout)
{
	memset(s, 0, sizeof *s);
	s->api_url = api_url;
	s->timeout = timeout;
	s->default_grant = PH_GRANT_AUTHORIZATION_CODE;
}

/* A listening loopback socket; its port goes to *port. */
static int listen_local(int *port)
{
	struct sockaddr_in addr;
	socklen_t len = sizeof addr;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = 0;
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&addr, sizeof addr), 0);
	ck_assert_int_eq(listen(fd, 16), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
	*port = ntohs(addr.sin_port);
	return fd;
}

/* True when some client connected to the listener (it sits in the backlog). */
static bool connection_arrived(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 200) == 1 && (p.revents & POLLIN) != 0;
}

static double since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* One exchange_post of BODY; the reply is cleared before anything is checked,
 * so a failed check leaks nothing even without fork. */
struct post {
	enum ph_result result;
	long status;
	char reason[PH_REASON_MAX];
	double secs;
};

static struct post post_body(const struct settings *s)
{
	struct post p;
	struct exchange_reply reply;
	struct timespec t0;

	memset(&p, 0, sizeof p);
	memset(&reply, 0, sizeof reply);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	p.result = exchange_post(s, BODY, -1, &reply, p.reason);    /* never released: none gets that far */
	p.secs = since(&t0);
	p.status = reply.status;
	exchange_reply_clear(&reply);
	ck_assert_ptr_null(reply.body);
	return p;
}

/* ------------------------------------------------------------------------ */

START_TEST(test_user_agent)
{
	ck_assert_str_eq(exchange_user_agent(), "pam_heroku/" PACKAGE_VERSION);
}
END_TEST

START_TEST(test_reply_clear)
{
	struct exchange_reply reply;

	memset(&reply, 0, sizeof reply);
	exchange_reply_clear(&reply);
	ck_assert_ptr_null(reply.body);
	exchange_reply_clear(&reply);
	ck_assert_ptr_null(reply.body);
}
END_TEST

START_TEST(test_http_url_never_connects)
{
	struct settings s;
	struct post p;
	char url[64];
	int port;
	int fd = listen_local(&port);
	bool connected;

	snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
	settings_for(&s, url, 5);
	p = post_body(&s);
	connected = connection_arrived(fd);
	close(fd);
	ck_assert_msg(p.result != PH_OK, "an http:// URL was used");
	ck_assert(p.reason[0] != '\0');
	ck_assert_msg(!connected, "connected to an http:// URL: the body went out in clear");
	ck_assert_int_eq(p.status, 0);
}
END_TEST

START_TEST(test_connection_refused)
{
	struct settings s;
	struct post p;

	settings_for(&s, "https://127.0.0.1:1", 5);
	p = post_body(&s);
	ck_assert_msg(p.result == PH_UNAVAILABLE, "result %s", ph_result_name(p.result));
	ck_assert(p.reason[0] != '\0');
	ck_assert_ptr_null(strstr(p.reason, "XXXX"));
	ck_assert_int_eq(p.status, 0);
}
END_TEST

START_TEST(test_timeout_bounds_exchange)
{
	/* A server that accepts and never answers: the timeout ends it. */
	struct settings s;
	struct post p;
	char url[64];
	int port;
	int fd = listen_local(&port);

	snprintf(url, sizeof url, "https://127.0.0.1:%d", port);
	settings_for(&s, url, 1);
	p = post_body(&s);
	close(fd);
	ck_assert_msg(p.result == PH_UNAVAILABLE, "result %s", ph_result_name(p.result));
	ck_assert(p.reason[0] != '\0');
	/* about 1 s natively; far below libcurl's 300 s default without a timeout */
	ck_assert_msg(p.secs >= 0.5 && p.secs < 4.0 * unit_slowdown(),
		      "took %.2f s with timeout 1", p.secs);
	ck_assert_int_eq(p.status, 0);
}
END_TEST

START_TEST(test_plain_http_server_on_https_url)
{
	/* Something that answers in clear text on the https port is no answer. */
	struct settings s;
	struct post p;
	char url[64];
	int port;
	int fd = listen_local(&port);
	pid_t child;
	int status;

	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		static const char answer[] =
			"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
			"Content-Length: 52\r\nConnection: close\r\n\r\n"
			"{\"user\":{\"id\":\"01234567-89ab-cdef-0123-456789abcdef\"}}";
		int c = accept(fd, NULL, NULL);
		char buf[4096];

		if (c >= 0) {
			(void)!read(c, buf, sizeof buf);
			(void)!write(c, answer, sizeof answer - 1);
			close(c);
		}
		_exit(0);
	}
	snprintf(url, sizeof url, "https://127.0.0.1:%d", port);
	settings_for(&s, url, 3);
	p = post_body(&s);
	kill(child, SIGKILL);
	waitpid(child, &status, 0);
	close(fd);
	ck_assert_msg(p.result == PH_UNAVAILABLE, "result %s", ph_result_name(p.result));
	ck_assert(p.reason[0] != '\0');
	ck_assert_msg(p.status != 201, "a clear-text answer was taken");
}
END_TEST

START_TEST(test_environment_proxy_ignored)
{
	struct settings s;
	struct post p;
	char proxy[64];
	int port;
	int fd = listen_local(&port);
	static const char *const vars[] = {
		"https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY",
	};
	bool connected;

	snprintf(proxy, sizeof proxy, "http://127.0.0.1:%d", port);
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
		setenv(vars[i], proxy, 1);
	unsetenv("no_proxy");
	unsetenv("NO_PROXY");

	settings_for(&s, "https://127.0.0.1:1", 2);
	p = post_body(&s);
	for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
		unsetenv(vars[i]);
	connected = connection_arrived(fd);
	close(fd);

	ck_assert_msg(!connected, "the environment's proxy was used");
	ck_assert_msg(p.result == PH_UNAVAILABLE, "result %s", ph_result_name(p.result));
}
END_TEST

START_TEST(test_configured_proxy_used)
{
	/* The proxy from settings is where the request goes (it never answers). */
	struct settings s;
	struct post p;
	char proxy[64];
	int port;
	int fd = listen_local(&port);
	bool connected;

	snprintf(proxy, sizeof proxy, "http://127.0.0.1:%d", port);
	settings_for(&s, "https://api.heroku.invalid", 1);
	s.proxy = proxy;
	p = post_body(&s);
	connected = connection_arrived(fd);
	close(fd);
	ck_assert_msg(p.result == PH_UNAVAILABLE, "result %s", ph_result_name(p.result));
	ck_assert(p.reason[0] != '\0');
	ck_assert_msg(connected, "the configured proxy was not used");
}
END_TEST

START_TEST(test_bad_ca_file)
{
	struct settings s;
	struct post p;
	char url[64];
	int port;
	int fd = listen_local(&port);

	snprintf(url, sizeof url, "https://127.0.0.1:%d", port);
	settings_for(&s, url, 2);
	/* CA bytes with no certificate in them (settings_load read them). */
	s.ca_file = "/etc/pam_heroku-test/ca.pem";
	s.ca_pem = "not a PEM certificate\n";
	s.ca_pem_len = strlen(s.ca_pem);
	p = post_body(&s);
	close(fd);
	ck_assert_msg(p.result == PH_MISCONFIGURED, "result %s (%s)", ph_result_name(p.result),
		      p.reason);
	ck_assert(p.reason[0] != '\0');
}
END_TEST

Suite *exchange_suite(void)
{
	Suite *s = suite_create("exchange");
	TCase *tc = tcase_create("exchange");

	tcase_add_test(tc, test_user_agent);
	tcase_add_test(tc, test_reply_clear);
	tcase_add_test(tc, test_http_url_never_connects);
	tcase_add_test(tc, test_connection_refused);
	tcase_add_test(tc, test_timeout_bounds_exchange);
	tcase_add_test(tc, test_plain_http_server_on_https_url);
	tcase_add_test(tc, test_environment_proxy_ignored);
	tcase_add_test(tc, test_configured_proxy_used);
	tcase_add_test(tc, test_bad_ca_file);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);
	return s;
}
