/*
 * test_settings.c - module arguments and the config file, checked.
 *
 * Every test names its own config file with config= and points allowlist= at
 * a safe temporary file, so nothing depends on /etc/security.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "unit.h"
#include "settings.h"

#define PIN_A "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
#define PIN_B "YLh1dUR9y6Kja30RrAn7JKnbQG/uEtLMkBgFF2Fuihg="
#define SECRET "S3cr3tV4lue"

struct conf {
	char dir[PATH_MAX];
	char allow[PATH_MAX];               /* a safe allowlist */
	char secret[PATH_MAX];              /* a safe client secret file (the secret is required) */
	char path[PATH_MAX];                /* the config file */
	char config_arg[PATH_MAX + 16];     /* "config=<path>" */
	const char *argv[16];
	int argc;
	struct settings s;
	struct unit_log log;
	char reason[PH_REASON_MAX];
	enum ph_result result;
	enum settings_purpose purpose;      /* SETTINGS_TO_EXCHANGE unless a test says */
};

static void conf_init(struct conf *c)
{
	memset(c, 0, sizeof *c);
	unit_tmpdir(c->dir);
	unit_write_text(c->allow, c->dir, "pam_heroku.allow",
			"01234567-89ab-cdef-0123-456789abcdef alice\n", 0644);
	unit_write_text(c->secret, c->dir, "default-secret", SECRET "\n", 0600);
	unit_path(c->path, c->dir, "pam_heroku.conf");
	snprintf(c->config_arg, sizeof c->config_arg, "config=%s", c->path);
}

/*
 * The config file: the allowlist line, the client_secret_file line (unless
 * body is about the client secret itself), then body.
 */
static void conf_write(struct conf *c, const char *body, mode_t mode)
{
	bool own_secret = strstr(body, "client_secret") != NULL;
	size_t len = strlen(c->allow) + strlen(c->secret) + strlen(body) + 64;
	char *text = malloc(len);

	ck_assert_ptr_nonnull(text);
	snprintf(text, len, "allowlist = %s\n%s%s%s%s", c->allow,
		 own_secret ? "" : "client_secret_file = ", own_secret ? "" : c->secret,
		 own_secret ? "" : "\n", body);
	unit_write_file(c->path, c->dir, "pam_heroku.conf", text, strlen(text), mode);
	free(text);
}

/* The config file exactly as given. */
static void conf_write_raw(struct conf *c, const char *text, mode_t mode)
{
	unit_write_text(c->path, c->dir, "pam_heroku.conf", text, mode);
}

/* settings_load with config=<path> and the extra module arguments (NULL-terminated). */
static enum ph_result conf_load(struct conf *c, ...) __attribute__((sentinel));
static enum ph_result conf_load(struct conf *c, ...)
{
	va_list ap;
	const char *arg;

	c->argc = 0;
	c->argv[c->argc++] = c->config_arg;
	va_start(ap, c);
	while ((arg = va_arg(ap, const char *)) != NULL && c->argc < 15)
		c->argv[c->argc++] = arg;
	va_end(ap);
	c->argv[c->argc] = NULL;

	unit_log_init(&c->log);
	memset(&c->s, 0, sizeof c->s);
	c->reason[0] = '\0';
	c->result = settings_load(&c->s, c->purpose, c->argc, c->argv, &c->log.sink, c->reason);
	return c->result;
}

static void conf_done(struct conf *c)
{
	settings_free(&c->s);
	unit_rmtree(c->dir);
}

static void expect_ok(struct conf *c, const char *what)
{
	ck_assert_msg(c->result == PH_OK, "%s: %s (%s); log: %s", what,
		      ph_result_name(c->result), c->reason, unit_log_all(&c->log));
	ck_assert_msg(unit_log_count(&c->log, LOG_ERR) == 0, "%s: errors logged: %s", what,
		      unit_log_all(&c->log));
}

/* PH_MISCONFIGURED, logged at LOG_ERR, reason set; needle (if any) in the log. */
static void expect_error(struct conf *c, const char *needle, const char *what)
{
	ck_assert_msg(c->result == PH_MISCONFIGURED, "%s: %s, want misconfigured; log: %s", what,
		      ph_result_name(c->result), unit_log_all(&c->log));
	ck_assert_msg(c->reason[0] != '\0', "%s: empty reason", what);
	ck_assert_msg(unit_log_count(&c->log, LOG_ERR) >= 1, "%s: nothing logged at LOG_ERR; log: %s",
		      what, unit_log_all(&c->log));
	if (needle != NULL)
		ck_assert_msg(unit_log_has(&c->log, needle), "%s: log does not mention \"%s\": %s",
			      what, needle, unit_log_all(&c->log));
	ck_assert_msg(!unit_log_has(&c->log, SECRET) && strstr(c->reason, SECRET) == NULL,
		      "%s: the client secret was logged", what);
}

/* ------------------------------------------------------------------------
 * Defaults and values.
 */

START_TEST(test_defaults)
{
	struct conf c;

	conf_init(&c);
	conf_write(&c, "", 0644);
	conf_load(&c, NULL);
	expect_ok(&c, "defaults");
	ck_assert_str_eq(c.s.config_path, c.path);
	ck_assert_str_eq(c.s.api_url, "https://api.heroku.com");
	ck_assert_str_eq(c.s.api_url, SETTINGS_DEFAULT_API_URL);
	ck_assert_str_eq(c.s.allowlist, c.allow);
	ck_assert_int_eq(c.s.default_grant, PH_GRANT_AUTHORIZATION_CODE);
	ck_assert_int_eq(c.s.timeout, 10);
	ck_assert_str_eq(c.s.prompt, "Heroku grant code or refresh token: ");
	ck_assert(!c.s.export_access_token);
	ck_assert_str_eq(c.s.authorize_url, "https://id.heroku.com/oauth/authorize");
	ck_assert_str_eq(c.s.client_secret, SECRET);
	ck_assert_str_eq(c.s.client_secret_file, c.secret);
	ck_assert_int_eq(c.s.grants, SETTINGS_GRANTS_ALL);
	ck_assert_ptr_null(c.s.ca_file);
	ck_assert_ptr_null(c.s.proxy);
	ck_assert_ptr_null(c.s.client_id);
	ck_assert_ptr_null(c.s.pinned_pubkey);
	ck_assert(!c.s.debug);
	ck_assert(!c.s.use_first_pass);
	ck_assert(!c.s.try_first_pass);
	conf_done(&c);
}
END_TEST

START_TEST(test_default_allowlist_path)
{
	/* Without allowlist= the default file is used, and it must exist. */
	struct conf c;

	conf_init(&c);
	conf_write_raw(&c, "timeout = 5\n", 0644);
	conf_load(&c, NULL);
	expect_error(&c, SETTINGS_DEFAULT_ALLOWLIST, "default allowlist absent");
	conf_done(&c);
}
END_TEST

START_TEST(test_default_config_absent_is_fine)
{
	struct conf c;
	char allow_arg[PATH_MAX + 16], secret_arg[PATH_MAX + 32];
	const char *argv[3];

	conf_init(&c);
	snprintf(allow_arg, sizeof allow_arg, "allowlist=%s", c.allow);
	snprintf(secret_arg, sizeof secret_arg, "client_secret_file=%s", c.secret);
	argv[0] = allow_arg;
	argv[1] = secret_arg;
	argv[2] = NULL;
	unit_log_init(&c.log);
	c.result = settings_load(&c.s, SETTINGS_TO_EXCHANGE, 2, argv, &c.log.sink, c.reason);
	expect_ok(&c, "no config file at all");
	ck_assert_ptr_null(c.s.config_path);
	ck_assert_str_eq(c.s.allowlist, c.allow);
	ck_assert_int_eq(c.s.timeout, 10);
	conf_done(&c);
}
END_TEST

/* A value given for key (in the file or on the module line) and what it becomes. */
struct value_case {
	const char *key;
	const char *value;
	const char *want;      /* the stored string; NULL for keys checked otherwise */
};

static const struct value_case good_values[] = {
	{ "api_url", "https://api.example.com", "https://api.example.com" },
	{ "api_url", "https://api.example.com/", "https://api.example.com" },
	{ "api_url", "https://127.0.0.1:8443", "https://127.0.0.1:8443" },
	{ "api_url", "https://127.0.0.1:8443/", "https://127.0.0.1:8443" },
	{ "api_url", "https://h/base/", "https://h/base" },
	{ "default_grant", "refresh_token", NULL },
	{ "default_grant", "authorization_code", NULL },
	{ "timeout", "1", NULL },
	{ "timeout", "120", NULL },
	{ "timeout", "7", NULL },
	{ "export_access_token", "yes", NULL },
	{ "export_access_token", "no", NULL },
	{ "proxy", "http://proxy.example:3128", "http://proxy.example:3128" },
	{ "proxy", "https://proxy.example", "https://proxy.example" },
	{ "proxy", "socks4://127.0.0.1:1080", "socks4://127.0.0.1:1080" },
	{ "proxy", "socks4a://p:1080", "socks4a://p:1080" },
	{ "proxy", "socks5://p:1080", "socks5://p:1080" },
	{ "proxy", "socks5h://p:1080", "socks5h://p:1080" },
	{ "authorize_url", "https://id.example.com/oauth/authorize",
	  "https://id.example.com/oauth/authorize" },
	{ "pinned_pubkey", "sha256//" PIN_A, "sha256//" PIN_A },
	{ "pinned_pubkey", "sha256//" PIN_A ";sha256//" PIN_B, "sha256//" PIN_A ";sha256//" PIN_B },
	{ "client_id", "01234567-89ab-cdef-0123-456789abcdef",
	  "01234567-89ab-cdef-0123-456789abcdef" },
	{ "prompt", "Code:", "Code:" },
};

static void check_value(const struct conf *c, const struct value_case *v, const char *what)
{
	const struct settings *s = &c->s;
	const char *got = NULL;

	if (strcmp(v->key, "default_grant") == 0) {
		ck_assert_msg(strcmp(credential_grant_name(s->default_grant), v->value) == 0,
			      "%s: default_grant %d", what, (int)s->default_grant);
		return;
	}
	if (strcmp(v->key, "timeout") == 0) {
		ck_assert_msg(s->timeout == strtol(v->value, NULL, 10), "%s: timeout %ld", what,
			      s->timeout);
		return;
	}
	if (strcmp(v->key, "export_access_token") == 0) {
		ck_assert_msg(s->export_access_token == (strcmp(v->value, "yes") == 0),
			      "%s: export_access_token %d", what, (int)s->export_access_token);
		return;
	}
	if (strcmp(v->key, "api_url") == 0)
		got = s->api_url;
	else if (strcmp(v->key, "proxy") == 0)
		got = s->proxy;
	else if (strcmp(v->key, "authorize_url") == 0)
		got = s->authorize_url;
	else if (strcmp(v->key, "pinned_pubkey") == 0)
		got = s->pinned_pubkey;
	else if (strcmp(v->key, "client_id") == 0)
		got = s->client_id;
	else if (strcmp(v->key, "prompt") == 0)
		got = s->prompt;
	ck_assert_msg(got != NULL && strcmp(got, v->want) == 0, "%s: got \"%s\", want \"%s\"",
		      what, got != NULL ? got : "(null)", v->want);
}

START_TEST(test_good_value_in_file)
{
	const struct value_case *v = &good_values[_i];
	struct conf c;
	char body[1024];
	char what[256];

	snprintf(what, sizeof what, "file %s = %s", v->key, v->value);
	snprintf(body, sizeof body, "%s = %s\n", v->key, v->value);
	conf_init(&c);
	conf_write(&c, body, 0644);
	conf_load(&c, NULL);
	expect_ok(&c, what);
	check_value(&c, v, what);
	conf_done(&c);
}
END_TEST

START_TEST(test_good_value_on_module_line)
{
	const struct value_case *v = &good_values[_i];
	struct conf c;
	char arg[1024];
	char what[256];

	snprintf(what, sizeof what, "arg %s=%s", v->key, v->value);
	snprintf(arg, sizeof arg, "%s=%s", v->key, v->value);
	conf_init(&c);
	conf_write(&c, "", 0644);
	conf_load(&c, arg, NULL);
	expect_ok(&c, what);
	check_value(&c, v, what);
	conf_done(&c);
}
END_TEST

/* A config file naming a CA file (written to ca) in the case directory. */
static void conf_write_with_ca(struct conf *c, char ca[PATH_MAX])
{
	char body[PATH_MAX + 32];

	unit_write_text(ca, c->dir, "ca.pem",
			"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", 0644);
	snprintf(body, sizeof body, "ca_file = %s\n", ca);
	conf_write(c, body, 0644);
}

START_TEST(test_ca_file_ok)
{
	struct conf c;
	char ca[PATH_MAX];

	conf_init(&c);
	conf_write_with_ca(&c, ca);
	conf_load(&c, NULL);
	expect_ok(&c, "ca_file");
	ck_assert_str_eq(c.s.ca_file, ca);
	conf_done(&c);
}
END_TEST

/*
 * The account phase's load (SETTINGS_TO_RECHECK) reads neither the client
 * secret file nor the CA file, and leaves the allowlist to its caller; the
 * config file it still reads and checks.
 */
START_TEST(test_recheck_reads_only_the_config_file)
{
	struct conf c;
	char ca[PATH_MAX];

	conf_init(&c);
	conf_write_with_ca(&c, ca);
	ck_assert_int_eq(unlink(c.secret), 0);
	ck_assert_int_eq(unlink(ca), 0);
	ck_assert_int_eq(unlink(c.allow), 0);

	c.purpose = SETTINGS_TO_RECHECK;
	conf_load(&c, NULL);
	expect_ok(&c, "recheck without secret, CA or allowlist files");
	ck_assert_ptr_null(c.s.client_secret);
	ck_assert_ptr_null(c.s.ca_pem);
	ck_assert_str_eq(c.s.ca_file, ca);
	ck_assert_str_eq(c.s.allowlist, c.allow);
	settings_free(&c.s);

	c.purpose = SETTINGS_TO_EXCHANGE;
	conf_load(&c, NULL);
	expect_error(&c, c.secret, "exchange without the secret file");
	ck_assert_msg(unit_log_has(&c.log, ca), "the missing CA file not reported: %s",
		      unit_log_all(&c.log));
	ck_assert_msg(unit_log_has(&c.log, c.allow), "the missing allowlist not reported: %s",
		      unit_log_all(&c.log));
	settings_free(&c.s);

	/* A broken config file fails the account phase's load too. */
	conf_write(&c, "no_such_key = 1\n", 0644);
	c.purpose = SETTINGS_TO_RECHECK;
	conf_load(&c, NULL);
	expect_error(&c, "no_such_key", "recheck with a broken config file");
	conf_done(&c);
}
END_TEST

START_TEST(test_flags)
{
	struct conf c;

	conf_init(&c);
	conf_write(&c, "", 0644);
	conf_load(&c, "debug", NULL);
	expect_ok(&c, "debug");
	ck_assert(c.s.debug);
	ck_assert(!c.s.use_first_pass);
	ck_assert(!c.s.try_first_pass);
	settings_free(&c.s);

	conf_load(&c, "use_first_pass", NULL);
	expect_ok(&c, "use_first_pass");
	ck_assert(!c.s.debug);
	ck_assert(c.s.use_first_pass);
	ck_assert(!c.s.try_first_pass);
	settings_free(&c.s);

	conf_load(&c, "try_first_pass", "debug", NULL);
	expect_ok(&c, "try_first_pass debug");
	ck_assert(c.s.debug);
	ck_assert(!c.s.use_first_pass);
	ck_assert(c.s.try_first_pass);
	conf_done(&c);
}
END_TEST

START_TEST(test_module_line_wins)
{
	struct conf c;

	conf_init(&c);
	conf_write(&c, "timeout = 5\napi_url = https://file.example\nclient_id = fromfile\n", 0644);
	conf_load(&c, "timeout=7", "api_url=https://arg.example", NULL);
	expect_ok(&c, "override");
	ck_assert_int_eq(c.s.timeout, 7);
	ck_assert_str_eq(c.s.api_url, "https://arg.example");
	ck_assert_str_eq(c.s.client_id, "fromfile");
	settings_free(&c.s);

	/* the module-line order does not matter: config= may come last */
	c.argv[0] = "timeout=9";
	c.argv[1] = c.config_arg;
	c.argv[2] = NULL;
	unit_log_init(&c.log);
	memset(&c.s, 0, sizeof c.s);
	c.result = settings_load(&c.s, SETTINGS_TO_EXCHANGE, 2, c.argv, &c.log.sink, c.reason);
	expect_ok(&c, "config= last");
	ck_assert_int_eq(c.s.timeout, 9);
	ck_assert_str_eq(c.s.client_id, "fromfile");
	conf_done(&c);
}
END_TEST

START_TEST(test_allowlist_on_module_line)
{
	struct conf c;
	char arg[PATH_MAX + 16], secret_arg[PATH_MAX + 32];

	conf_init(&c);
	conf_write_raw(&c, "timeout = 3\n", 0644);
	snprintf(arg, sizeof arg, "allowlist=%s", c.allow);
	snprintf(secret_arg, sizeof secret_arg, "client_secret_file=%s", c.secret);
	conf_load(&c, arg, secret_arg, NULL);
	expect_ok(&c, "allowlist= on module line");
	ck_assert_str_eq(c.s.allowlist, c.allow);
	ck_assert_int_eq(c.s.timeout, 3);
	conf_done(&c);
}
END_TEST

/* ------------------------------------------------------------------------
 * File grammar.
 */

struct grammar_case {
	const char *name;
	const char *body;
	const char *key;      /* the key to check */
	const char *want;     /* its value */
};

static const struct grammar_case grammar_cases[] = {
	{ "no blanks", "timeout=5\n", "timeout", "5" },
	{ "many blanks", "timeout     =     5\n", "timeout", "5" },
	{ "tabs and leading blanks", "  \ttimeout\t=\t5\t \n", "timeout", "5" },
	{ "comment after blank", "timeout = 5 # five seconds\n", "timeout", "5" },
	{ "comment after tab", "timeout = 5\t#five\n", "timeout", "5" },
	{ "comment lines", "# a comment\n   # indented\n\t# tabbed\ntimeout = 5\n", "timeout", "5" },
	{ "blank lines", "\n\n   \n\t\ntimeout = 5\n\n", "timeout", "5" },
	{ "CRLF", "timeout = 5\r\nclient_id = abc\r\n", "client_id", "abc" },
	{ "CRLF timeout", "timeout = 5\r\nclient_id = abc\r\n", "timeout", "5" },
	{ "CRLF comment", "# c\r\n\r\ntimeout = 5 # x\r\n", "timeout", "5" },
	{ "no final newline", "client_id = abc", "client_id", "abc" },
	{ "trailing blanks", "client_id = abc   \t\n", "client_id", "abc" },
	{ "hash inside a word", "prompt = abc#def\n", "prompt", "abc#def" },
	{ "inner blanks kept", "prompt = Enter the code:\n", "prompt", "Enter the code:" },
	{ "quoted", "prompt = \"Code #: \"\n", "prompt", "Code #: " },
	{ "quoted padded", "prompt = \"  padded  \"\n", "prompt", "  padded  " },
	{ "quoted then comment", "prompt = \"x y\" # comment\n", "prompt", "x y" },
	{ "quoted CRLF", "prompt = \"Code: \"\r\n", "prompt", "Code: " },
	{ "equals in value", "prompt = a=b\n", "prompt", "a=b" },
	{ "leading blanks of value", "timeout =  5\n", "timeout", "5" },
};

static const char *string_field(const struct settings *s, const char *key)
{
	if (strcmp(key, "client_id") == 0)
		return s->client_id;
	if (strcmp(key, "prompt") == 0)
		return s->prompt;
	return NULL;
}

START_TEST(test_grammar)
{
	const struct grammar_case *g = &grammar_cases[_i];
	struct conf c;

	conf_init(&c);
	conf_write(&c, g->body, 0644);
	conf_load(&c, NULL);
	expect_ok(&c, g->name);
	if (strcmp(g->key, "timeout") == 0) {
		ck_assert_msg(c.s.timeout == strtol(g->want, NULL, 10), "%s: timeout %ld", g->name,
			      c.s.timeout);
	} else {
		const char *got = string_field(&c.s, g->key);

		ck_assert_msg(got != NULL && strcmp(got, g->want) == 0, "%s: \"%s\", want \"%s\"",
			      g->name, got != NULL ? got : "(null)", g->want);
	}
	conf_done(&c);
}
END_TEST

START_TEST(test_whole_file_crlf)
{
	struct conf c;
	char text[2 * PATH_MAX + 256];

	conf_init(&c);
	snprintf(text, sizeof text,
		 "# pam_heroku\r\nallowlist = %s\r\n\r\napi_url = https://h.example/\r\n"
		 "timeout = 12\r\nprompt = \"Code: \"\r\nclient_secret_file = %s\r\n",
		 c.allow, c.secret);
	conf_write_raw(&c, text, 0644);
	conf_load(&c, NULL);
	expect_ok(&c, "CRLF file");
	ck_assert_str_eq(c.s.allowlist, c.allow);
	ck_assert_str_eq(c.s.api_url, "https://h.example");
	ck_assert_int_eq(c.s.timeout, 12);
	ck_assert_str_eq(c.s.prompt, "Code: ");
	conf_done(&c);
}
END_TEST

/* ------------------------------------------------------------------------
 * Errors in the file.
 */

struct file_error_case {
	const char *name;
	const char *body;       /* after the allowlist line */
	const char *needle;     /* expected in the log, or NULL */
};

static const struct file_error_case file_errors[] = {
	{ "unknown key", "bogus_key = 1\n", "bogus_key" },
	{ "misspelt key", "time_out = 5\n", "time_out" },
	{ "flag word in file", "debug\n", NULL },
	{ "line without =", "timeout 5\n", NULL },
	{ "empty key", "= 5\n", NULL },
	{ "empty value", "timeout =\n", "timeout" },
	{ "blank value", "prompt =   \n", "prompt" },
	{ "comment only value", "client_id = # nothing\n", "client_id" },
	{ "key twice", "timeout = 5\ntimeout = 6\n", "timeout" },
	{ "key twice, same value", "client_id = a\nclient_id = a\n", "client_id" },
	{ "allowlist twice", "allowlist = /etc/security/pam_heroku.allow\n", "allowlist" },
	{ "unterminated quote", "prompt = \"Code: \n", "prompt" },
	{ "unterminated quote at EOF", "prompt = \"Code: ", "prompt" },
	{ "text after closing quote", "prompt = \"a\"b\n", "prompt" },
	{ "api_url http", "api_url = http://api.heroku.com\n", "api_url" },
	{ "api_url ftp", "api_url = ftp://api.heroku.com\n", "api_url" },
	{ "api_url no scheme", "api_url = api.heroku.com\n", "api_url" },
	{ "api_url no host", "api_url = https://\n", "api_url" },
	{ "api_url only slash", "api_url = https:///\n", "api_url" },
	{ "api_url blank", "api_url = https://api.heroku .com\n", "api_url" },
	{ "api_url quoted blank", "api_url = \"https://api.heroku.com \"\n", "api_url" },
	{ "api_url control", "api_url = https://api.heroku.com\x01x\n", "api_url" },
	{ "api_url escape", "api_url = https://api\x1b[0m.heroku.com\n", "api_url" },
	{ "default_grant other", "default_grant = password\n", "default_grant" },
	{ "default_grant short", "default_grant = code\n", "default_grant" },
	{ "default_grant case", "default_grant = AUTHORIZATION_CODE\n", "default_grant" },
	{ "timeout 0", "timeout = 0\n", "timeout" },
	{ "timeout 121", "timeout = 121\n", "timeout" },
	{ "timeout -1", "timeout = -1\n", "timeout" },
	{ "timeout 10s", "timeout = 10s\n", "timeout" },
	{ "timeout 1e1", "timeout = 1e1\n", "timeout" },
	{ "timeout hex", "timeout = 0x10\n", "timeout" },
	{ "timeout fraction", "timeout = 1.5\n", "timeout" },
	{ "timeout word", "timeout = ten\n", "timeout" },
	{ "timeout huge", "timeout = 99999999999999999999999\n", "timeout" },
	{ "timeout huge negative", "timeout = -99999999999999999999999\n", "timeout" },
	{ "timeout inner blank", "timeout = 1 0\n", "timeout" },
	{ "export true", "export_access_token = true\n", "export_access_token" },
	{ "export 1", "export_access_token = 1\n", "export_access_token" },
	{ "export on", "export_access_token = on\n", "export_access_token" },
	{ "proxy ftp", "proxy = ftp://p:21\n", "proxy" },
	{ "proxy no scheme", "proxy = p:3128\n", "proxy" },
	{ "proxy file", "proxy = file:///etc/passwd\n", "proxy" },
	{ "proxy socks6", "proxy = socks6://p\n", "proxy" },
	{ "proxy no host", "proxy = http://\n", "proxy" },
	{ "authorize_url http", "authorize_url = http://id.heroku.com/oauth/authorize\n",
	  "authorize_url" },
	{ "authorize_url no scheme", "authorize_url = id.heroku.com/oauth/authorize\n",
	  "authorize_url" },
	{ "pinned short", "pinned_pubkey = sha256//abc\n", "pinned_pubkey" },
	{ "pinned no prefix", "pinned_pubkey = " PIN_A "\n", "pinned_pubkey" },
	{ "pinned sha1", "pinned_pubkey = sha1//" PIN_A "\n", "pinned_pubkey" },
	{ "pinned 43", "pinned_pubkey = sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU\n",
	  "pinned_pubkey" },
	{ "pinned 45", "pinned_pubkey = sha256//" PIN_A "A\n", "pinned_pubkey" },
	{ "pinned bad char", "pinned_pubkey = sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuF!=\n",
	  "pinned_pubkey" },
	{ "pinned second bad", "pinned_pubkey = sha256//" PIN_A ";sha256//abc\n", "pinned_pubkey" },
	{ "pinned file path", "pinned_pubkey = /etc/ssl/key.pem\n", "pinned_pubkey" },
	{ "ca_file missing", "ca_file = /nonexistent/pam_heroku/ca.pem\n",
	  "/nonexistent/pam_heroku/ca.pem" },
	{ "client_secret_file missing", "client_secret_file = /nonexistent/pam_heroku/secret\n",
	  "/nonexistent/pam_heroku/secret" },
	{ "several keys, one bad", "timeout = 5\nclient_id = x\ndefault_grant = nope\n",
	  "default_grant" },
};

START_TEST(test_file_error)
{
	const struct file_error_case *e = &file_errors[_i];
	struct conf c;

	conf_init(&c);
	conf_write(&c, e->body, 0644);
	conf_load(&c, NULL);
	expect_error(&c, e->needle, e->name);
	conf_done(&c);
}
END_TEST

/* Bad values on the module line. */
struct arg_error_case {
	const char *name;
	const char *arg;
	const char *needle;
};

static const struct arg_error_case arg_errors[] = {
	{ "unknown key", "bogus_key=1", "bogus_key" },
	{ "unknown flag", "nosuchflag", "nosuchflag" },
	{ "flag with value", "debug=yes", NULL },
	{ "empty value", "timeout=", "timeout" },
	{ "empty config", "config=", "config" },
	{ "empty key", "=5", NULL },
	{ "client_secret", "client_secret=" SECRET, "client_secret" },
	{ "api_url http", "api_url=http://api.heroku.com", "api_url" },
	{ "api_url no scheme", "api_url=api.heroku.com", "api_url" },
	{ "api_url no host", "api_url=https://", "api_url" },
	{ "api_url blank", "api_url=https://api.heroku .com", "api_url" },
	{ "api_url tab", "api_url=https://api.heroku.com\tx", "api_url" },
	{ "api_url newline", "api_url=https://api.heroku.com\nHost: evil", "api_url" },
	{ "api_url control", "api_url=https://api\x01.heroku.com", "api_url" },
	{ "api_url DEL", "api_url=https://api\x7f.heroku.com", "api_url" },
	{ "default_grant", "default_grant=refresh", "default_grant" },
	{ "timeout 0", "timeout=0", "timeout" },
	{ "timeout 121", "timeout=121", "timeout" },
	{ "timeout -1", "timeout=-1", "timeout" },
	{ "timeout 10s", "timeout=10s", "timeout" },
	{ "timeout 1e1", "timeout=1e1", "timeout" },
	{ "export", "export_access_token=true", "export_access_token" },
	{ "proxy", "proxy=ftp://p", "proxy" },
	{ "authorize_url", "authorize_url=http://id.heroku.com/oauth/authorize", "authorize_url" },
	{ "pinned", "pinned_pubkey=sha256//short", "pinned_pubkey" },
	{ "ca_file", "ca_file=/nonexistent/pam_heroku/ca.pem", "/nonexistent/pam_heroku/ca.pem" },
	{ "allowlist missing", "allowlist=/nonexistent/pam_heroku.allow", "/nonexistent/pam_heroku.allow" },
};

START_TEST(test_arg_error)
{
	const struct arg_error_case *e = &arg_errors[_i];
	struct conf c;

	conf_init(&c);
	conf_write(&c, "", 0644);
	conf_load(&c, e->arg, NULL);
	expect_error(&c, e->needle, e->name);
	conf_done(&c);
}
END_TEST

START_TEST(test_timeout_blank_trimmed)
{
	struct conf c;

	conf_init(&c);
	conf_write(&c, "timeout =    5   \n", 0644);
	conf_load(&c, NULL);
	expect_ok(&c, "timeout with blanks");
	ck_assert_int_eq(c.s.timeout, 5);
	conf_done(&c);
}
END_TEST

START_TEST(test_several_errors_all_logged)
{
	struct conf c;

	conf_init(&c);
	conf_write(&c, "bogus_key = 1\ntimeout = 0\ndefault_grant = nope\n", 0644);
	conf_load(&c, NULL);
	expect_error(&c, "bogus_key", "three errors");
	ck_assert_msg(unit_log_has(&c.log, "timeout"), "log: %s", unit_log_all(&c.log));
	ck_assert_msg(unit_log_has(&c.log, "default_grant"), "log: %s", unit_log_all(&c.log));
	ck_assert_msg(unit_log_count(&c.log, LOG_ERR) == 3, "%zu errors logged, want 3: %s",
		      unit_log_count(&c.log, LOG_ERR), unit_log_all(&c.log));
	ck_assert_msg(strstr(c.reason, "bogus_key") != NULL, "reason is not the first: %s",
		      c.reason);
	conf_done(&c);
}
END_TEST

START_TEST(test_errors_in_file_and_module_line)
{
	struct conf c;

	conf_init(&c);
	conf_write(&c, "timeout = 0\n", 0644);
	conf_load(&c, "nosuchflag", "api_url=http://x", NULL);
	ck_assert_int_eq(c.result, PH_MISCONFIGURED);
	ck_assert_msg(unit_log_count(&c.log, LOG_ERR) >= 2, "log: %s", unit_log_all(&c.log));
	ck_assert_msg(unit_log_has(&c.log, "nosuchflag"), "log: %s", unit_log_all(&c.log));
	ck_assert_msg(unit_log_has(&c.log, "api_url"), "log: %s", unit_log_all(&c.log));
	conf_done(&c);
}
END_TEST

/* ------------------------------------------------------------------------
 * The client secret.
 */

START_TEST(test_client_secret_required)
{
	/* Heroku requires client.secret in every token request. */
	struct conf c;
	char text[PATH_MAX + 64];

	conf_init(&c);
	snprintf(text, sizeof text, "allowlist = %s\n", c.allow);
	conf_write_raw(&c, text, 0644);
	conf_load(&c, NULL);
	expect_error(&c, "no client secret", "no client_secret nor client_secret_file");
	conf_done(&c);
}
END_TEST

struct grants_case {
	const char *body;
	bool ok;
	unsigned grants;
	enum ph_grant default_grant;
};

#define CODE_BIT SETTINGS_GRANT_BIT(PH_GRANT_AUTHORIZATION_CODE)
#define REFRESH_BIT SETTINGS_GRANT_BIT(PH_GRANT_REFRESH_TOKEN)

static const struct grants_case grants_cases[] = {
	{ "", true, CODE_BIT | REFRESH_BIT, PH_GRANT_AUTHORIZATION_CODE },
	{ "grants = authorization_code,refresh_token\n", true, CODE_BIT | REFRESH_BIT,
	  PH_GRANT_AUTHORIZATION_CODE },
	{ "grants = refresh_token , authorization_code\n", true, CODE_BIT | REFRESH_BIT,
	  PH_GRANT_AUTHORIZATION_CODE },
	{ "grants = authorization_code\n", true, CODE_BIT, PH_GRANT_AUTHORIZATION_CODE },
	{ "grants = refresh_token\ndefault_grant = refresh_token\n", true, REFRESH_BIT,
	  PH_GRANT_REFRESH_TOKEN },
	/* the default (or a named) default_grant must be one grants lists */
	{ "grants = refresh_token\n", false, 0, 0 },
	{ "grants = authorization_code\ndefault_grant = refresh_token\n", false, 0, 0 },
	{ "grants = password\n", false, 0, 0 },
	{ "grants = authorization_code,password\n", false, 0, 0 },
	{ "grants = authorization_code,\n", false, 0, 0 },
	{ "grants = ,refresh_token\n", false, 0, 0 },
	{ "grants = refresh_token,refresh_token\n", false, 0, 0 },
	{ "grants = authorization_code;refresh_token\n", false, 0, 0 },
	{ "grants = Authorization_Code\n", false, 0, 0 },
};

START_TEST(test_grants)
{
	const struct grants_case *g = &grants_cases[_i];
	struct conf c;

	conf_init(&c);
	conf_write(&c, g->body, 0644);
	conf_load(&c, NULL);
	if (g->ok) {
		expect_ok(&c, g->body);
		ck_assert_uint_eq(c.s.grants, g->grants);
		ck_assert_int_eq(c.s.default_grant, g->default_grant);
		ck_assert(settings_grant_accepted(&c.s, c.s.default_grant));
	} else {
		expect_error(&c, "grant", g->body);
	}
	conf_done(&c);
}
END_TEST

START_TEST(test_client_secret_in_private_file)
{
	struct conf c;

	conf_init(&c);
	conf_write(&c, "client_secret = " SECRET "\n", 0600);
	conf_load(&c, NULL);
	expect_ok(&c, "client_secret, 0600");
	ck_assert_str_eq(c.s.client_secret, SECRET);
	ck_assert_msg(!unit_log_has(&c.log, SECRET), "secret logged");
	conf_done(&c);
}
END_TEST

START_TEST(test_client_secret_in_readable_file)
{
	static const mode_t modes[] = { 0644, 0640, 0604, 0444 };

	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		struct conf c;
		char what[64];

		snprintf(what, sizeof what, "client_secret in a %04o file", (unsigned)modes[i]);
		conf_init(&c);
		conf_write(&c, "client_secret = " SECRET "\n", modes[i]);
		conf_load(&c, NULL);
		expect_error(&c, NULL, what);
		conf_done(&c);
	}
}
END_TEST

START_TEST(test_client_secret_on_module_line)
{
	struct conf c;

	/* refused even though the file is fine (and even private) */
	conf_init(&c);
	conf_write(&c, "timeout = 5\n", 0600);
	conf_load(&c, "client_secret=" SECRET, NULL);
	expect_error(&c, "client_secret", "client_secret on module line");
	conf_done(&c);
}
END_TEST

START_TEST(test_client_secret_file)
{
	static const struct {
		const char *content;
		const char *want;
	} rows[] = {
		{ SECRET "\n", SECRET },
		{ SECRET, SECRET },
		{ SECRET " \t\r\nsecond line\n", SECRET },
		{ SECRET "\r\n", SECRET },
		{ SECRET "\nsecond line\n", SECRET },
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct conf c;
		char secret_path[PATH_MAX];
		char body[PATH_MAX + 32];

		conf_init(&c);
		unit_write_text(secret_path, c.dir, "secret", rows[i].content, 0600);
		snprintf(body, sizeof body, "client_secret_file = %s\n", secret_path);
		conf_write(&c, body, 0644);   /* the file names the secret, it does not hold it */
		conf_load(&c, NULL);
		expect_ok(&c, "client_secret_file");
		ck_assert_str_eq(c.s.client_secret_file, secret_path);
		ck_assert_ptr_nonnull(c.s.client_secret);
		ck_assert_msg(strcmp(c.s.client_secret, rows[i].want) == 0, "row %zu: wrong secret", i);
		ck_assert_msg(!unit_log_has(&c.log, SECRET), "secret logged");
		conf_done(&c);
	}
}
END_TEST

START_TEST(test_client_secret_file_on_module_line)
{
	struct conf c;
	char secret_path[PATH_MAX];
	char arg[PATH_MAX + 32];

	conf_init(&c);
	unit_write_text(secret_path, c.dir, "secret", SECRET "\n", 0400);
	snprintf(arg, sizeof arg, "client_secret_file=%s", secret_path);
	conf_write(&c, "", 0644);
	conf_load(&c, arg, NULL);
	expect_ok(&c, "client_secret_file= on module line");
	ck_assert_str_eq(c.s.client_secret, SECRET);
	conf_done(&c);
}
END_TEST

START_TEST(test_client_secret_file_errors)
{
	static const struct {
		const char *what;
		const char *content;
		mode_t mode;
	} rows[] = {
		{ "readable by others", SECRET "\n", 0644 },
		{ "readable by group", SECRET "\n", 0640 },
		{ "writable by group", SECRET "\n", 0620 },
		{ "empty file", "", 0600 },
		{ "empty first line", "\n" SECRET "\n", 0600 },
		{ "blank first line", "   \t\r\n" SECRET "\n", 0600 },
		{ "CRLF only", "\r\n", 0600 },
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		struct conf c;
		char secret_path[PATH_MAX];
		char body[PATH_MAX + 32];

		conf_init(&c);
		unit_write_text(secret_path, c.dir, "secret", rows[i].content, rows[i].mode);
		snprintf(body, sizeof body, "client_secret_file = %s\n", secret_path);
		conf_write(&c, body, 0644);
		conf_load(&c, NULL);
		expect_error(&c, NULL, rows[i].what);
		conf_done(&c);
	}
}
END_TEST

START_TEST(test_client_secret_file_directory)
{
	struct conf c;
	char body[PATH_MAX + 32];

	conf_init(&c);
	snprintf(body, sizeof body, "client_secret_file = %s\n", c.dir);
	ck_assert_int_eq(chmod(c.dir, 0700), 0);
	conf_write(&c, body, 0644);
	conf_load(&c, NULL);
	expect_error(&c, NULL, "client_secret_file is a directory");
	conf_done(&c);
}
END_TEST

START_TEST(test_both_secrets)
{
	struct conf c;
	char secret_path[PATH_MAX];
	char body[PATH_MAX + 64];

	conf_init(&c);
	unit_write_text(secret_path, c.dir, "secret", SECRET "\n", 0600);
	snprintf(body, sizeof body, "client_secret = " SECRET "\nclient_secret_file = %s\n",
		 secret_path);
	conf_write(&c, body, 0600);
	conf_load(&c, NULL);
	expect_error(&c, "client_secret", "both client_secret and client_secret_file");
	conf_done(&c);
}
END_TEST

/* ------------------------------------------------------------------------
 * The files themselves.
 */

START_TEST(test_config_file_unsafe_mode)
{
	static const mode_t modes[] = { 0666, 0664, 0646, 0620, 0602 };

	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		struct conf c;
		char what[64];

		snprintf(what, sizeof what, "config mode %04o", (unsigned)modes[i]);
		conf_init(&c);
		conf_write(&c, "timeout = 5\n", modes[i]);
		conf_load(&c, NULL);
		expect_error(&c, c.path, what);
		conf_done(&c);
	}
}
END_TEST

START_TEST(test_config_file_private_ok)
{
	struct conf c;

	conf_init(&c);
	conf_write(&c, "timeout = 5\n", 0600);
	conf_load(&c, NULL);
	expect_ok(&c, "config 0600");
	ck_assert_int_eq(c.s.timeout, 5);
	conf_done(&c);
}
END_TEST

START_TEST(test_config_not_regular)
{
	struct conf c;

	/* a directory */
	conf_init(&c);
	ck_assert_int_eq(chmod(c.dir, 0755), 0);
	snprintf(c.config_arg, sizeof c.config_arg, "config=%s", c.dir);
	conf_load(&c, NULL);
	expect_error(&c, NULL, "config is a directory");
	settings_free(&c.s);

	/* a FIFO with no writer: must not block */
	unit_path(c.path, c.dir, "fifo.conf");
	ck_assert_int_eq(mkfifo(c.path, 0644), 0);
	snprintf(c.config_arg, sizeof c.config_arg, "config=%s", c.path);
	conf_load(&c, NULL);
	expect_error(&c, NULL, "config is a FIFO");
	conf_done(&c);
}
END_TEST

START_TEST(test_config_missing)
{
	struct conf c;

	conf_init(&c);
	/* c.path was never written */
	conf_load(&c, NULL);
	expect_error(&c, c.path, "config= missing");
	conf_done(&c);
}
END_TEST

START_TEST(test_allowlist_problems)
{
	struct conf c;
	char arg[PATH_MAX + 16];
	char other[PATH_MAX];

	/* missing */
	conf_init(&c);
	conf_write(&c, "", 0644);
	unit_path(other, c.dir, "absent.allow");
	snprintf(arg, sizeof arg, "allowlist=%s", other);
	conf_load(&c, arg, NULL);
	expect_error(&c, "absent.allow", "allowlist missing");
	settings_free(&c.s);

	/* writable by others */
	unit_write_text(other, c.dir, "ww.allow", "", 0666);
	snprintf(arg, sizeof arg, "allowlist=%s", other);
	conf_load(&c, arg, NULL);
	expect_error(&c, "ww.allow", "allowlist 0666");
	settings_free(&c.s);

	/* writable by group */
	unit_write_text(other, c.dir, "gw.allow", "", 0664);
	snprintf(arg, sizeof arg, "allowlist=%s", other);
	conf_load(&c, arg, NULL);
	expect_error(&c, "gw.allow", "allowlist 0664");
	settings_free(&c.s);

	/* a directory */
	snprintf(arg, sizeof arg, "allowlist=%s", c.dir);
	ck_assert_int_eq(chmod(c.dir, 0755), 0);
	conf_load(&c, arg, NULL);
	expect_error(&c, NULL, "allowlist directory");
	conf_done(&c);
}
END_TEST

START_TEST(test_ca_file_directory)
{
	struct conf c;
	char body[PATH_MAX + 32];

	conf_init(&c);
	ck_assert_int_eq(chmod(c.dir, 0755), 0);
	snprintf(body, sizeof body, "ca_file = %s\n", c.dir);
	conf_write(&c, body, 0644);
	conf_load(&c, NULL);
	expect_error(&c, c.dir, "ca_file is a directory");
	conf_done(&c);
}
END_TEST

/* Unreadable even to root, who drops its DAC override for the load. */
START_TEST(test_ca_file_unreadable)
{
	struct conf c;
	char ca[PATH_MAX];
	char body[PATH_MAX + 32];

	conf_init(&c);
	unit_write_text(ca, c.dir, "ca.pem", "x\n", 0000);
	snprintf(body, sizeof body, "ca_file = %s\n", ca);
	conf_write(&c, body, 0644);
	unit_dac_override(false);
	conf_load(&c, NULL);
	unit_dac_override(true);
	expect_error(&c, ca, "ca_file unreadable");
	conf_done(&c);
}
END_TEST

START_TEST(test_load_initialises_struct)
{
	/* settings_free must be safe after any result, whatever was in the struct. */
	struct conf c;

	conf_init(&c);
	conf_load(&c, NULL);            /* config= names a missing file */
	ck_assert_int_eq(c.result, PH_MISCONFIGURED);
	settings_free(&c.s);

	memset(&c.s, 0xa5, sizeof c.s);
	unit_log_init(&c.log);
	c.result = settings_load(&c.s, SETTINGS_TO_EXCHANGE, c.argc, c.argv, &c.log.sink,
				 c.reason);
	ck_assert_int_eq(c.result, PH_MISCONFIGURED);
	settings_free(&c.s);

	/* and after a success, with every string set */
	{
		char secret_path[PATH_MAX];
		char ca[PATH_MAX];
		char body[3 * PATH_MAX];

		unit_write_text(secret_path, c.dir, "secret", SECRET "\n", 0600);
		unit_write_text(ca, c.dir, "ca.pem", "x\n", 0644);
		snprintf(body, sizeof body,
			 "client_secret_file = %s\nca_file = %s\nproxy = http://p:1\n"
			 "client_id = id\npinned_pubkey = sha256//" PIN_A "\nprompt = P\n",
			 secret_path, ca);
		conf_write(&c, body, 0644);
		memset(&c.s, 0xa5, sizeof c.s);
		unit_log_init(&c.log);
		c.result = settings_load(&c.s, SETTINGS_TO_EXCHANGE, c.argc, c.argv,
					 &c.log.sink, c.reason);
		expect_ok(&c, "every string set");
		settings_free(&c.s);
	}
	unit_rmtree(c.dir);
}
END_TEST

/* ------------------------------------------------------------------------
 * Ownership, with root.
 */

START_TEST(test_owner_other_uid)
{
	struct conf c;
	char secret_path[PATH_MAX];
	char body[PATH_MAX + 32];


	/* the config file */
	conf_init(&c);
	conf_write(&c, "", 0644);
	ck_assert_int_eq(chown(c.path, unit_other_uid(), (gid_t)-1), 0);
	conf_load(&c, NULL);
	expect_error(&c, NULL, "config owned by another uid");
	conf_done(&c);

	/* the allowlist */
	conf_init(&c);
	conf_write(&c, "", 0644);
	ck_assert_int_eq(chown(c.allow, unit_other_uid(), (gid_t)-1), 0);
	conf_load(&c, NULL);
	expect_error(&c, NULL, "allowlist owned by another uid");
	conf_done(&c);

	/* the secret file */
	conf_init(&c);
	unit_write_text(secret_path, c.dir, "secret", SECRET "\n", 0600);
	ck_assert_int_eq(chown(secret_path, unit_other_uid(), (gid_t)-1), 0);
	snprintf(body, sizeof body, "client_secret_file = %s\n", secret_path);
	conf_write(&c, body, 0644);
	conf_load(&c, NULL);
	expect_error(&c, NULL, "secret file owned by another uid");
	conf_done(&c);
}
END_TEST

START_TEST(test_owner_root_ok)
{
	struct conf c;

	conf_init(&c);
	conf_write(&c, "client_secret = " SECRET "\n", 0600);
	ck_assert_int_eq(chown(c.path, 0, 0), 0);
	ck_assert_int_eq(chown(c.allow, 0, 0), 0);
	conf_load(&c, NULL);
	expect_ok(&c, "owned by root");
	ck_assert_str_eq(c.s.client_secret, SECRET);
	conf_done(&c);
}
END_TEST

Suite *settings_suite(void)
{
	Suite *s = suite_create("settings");
	TCase *values = tcase_create("values");
	TCase *grammar = tcase_create("grammar");
	TCase *errors = tcase_create("errors");
	TCase *secret = tcase_create("secret");
	TCase *files = tcase_create("files");
	TCase *root = tcase_create("root");
	int n_good = (int)(sizeof good_values / sizeof good_values[0]);

	tcase_add_test(values, test_defaults);
	unit_add_test_if(values, test_default_allowlist_path,
			 access(SETTINGS_DEFAULT_ALLOWLIST, F_OK) != 0,
			 SETTINGS_DEFAULT_ALLOWLIST " exists");
	unit_add_test_if(values, test_default_config_absent_is_fine,
			 access(SETTINGS_DEFAULT_CONFIG, F_OK) != 0, SETTINGS_DEFAULT_CONFIG " exists");
	tcase_add_loop_test(values, test_good_value_in_file, 0, n_good);
	tcase_add_loop_test(values, test_good_value_on_module_line, 0, n_good);
	tcase_add_test(values, test_ca_file_ok);
	tcase_add_test(values, test_flags);
	tcase_add_test(values, test_module_line_wins);
	tcase_add_test(values, test_allowlist_on_module_line);
	suite_add_tcase(s, values);

	tcase_add_loop_test(grammar, test_grammar, 0,
			    (int)(sizeof grammar_cases / sizeof grammar_cases[0]));
	tcase_add_test(grammar, test_whole_file_crlf);
	suite_add_tcase(s, grammar);

	tcase_add_loop_test(errors, test_file_error, 0,
			    (int)(sizeof file_errors / sizeof file_errors[0]));
	tcase_add_loop_test(errors, test_arg_error, 0,
			    (int)(sizeof arg_errors / sizeof arg_errors[0]));
	tcase_add_test(errors, test_timeout_blank_trimmed);
	tcase_add_test(errors, test_several_errors_all_logged);
	tcase_add_test(errors, test_errors_in_file_and_module_line);
	suite_add_tcase(s, errors);

	tcase_add_test(secret, test_client_secret_required);
	tcase_add_loop_test(secret, test_grants, 0,
			    (int)(sizeof grants_cases / sizeof grants_cases[0]));
	tcase_add_test(secret, test_client_secret_in_private_file);
	tcase_add_test(secret, test_client_secret_in_readable_file);
	tcase_add_test(secret, test_client_secret_on_module_line);
	tcase_add_test(secret, test_client_secret_file);
	tcase_add_test(secret, test_client_secret_file_on_module_line);
	tcase_add_test(secret, test_client_secret_file_errors);
	tcase_add_test(secret, test_client_secret_file_directory);
	tcase_add_test(secret, test_both_secrets);
	suite_add_tcase(s, secret);

	tcase_add_test(files, test_config_file_unsafe_mode);
	tcase_add_test(files, test_recheck_reads_only_the_config_file);
	tcase_add_test(files, test_config_file_private_ok);
	tcase_add_test(files, test_config_not_regular);
	tcase_add_test(files, test_config_missing);
	tcase_add_test(files, test_allowlist_problems);
	tcase_add_test(files, test_ca_file_directory);
	tcase_add_test(files, test_ca_file_unreadable);
	tcase_add_test(files, test_load_initialises_struct);
	suite_add_tcase(s, files);

	unit_add_root_test(root, test_owner_other_uid);
	unit_add_root_test(root, test_owner_root_ok);
	suite_add_tcase(s, root);
	return s;
}
