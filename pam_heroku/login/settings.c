/*
 * settings.c - module arguments + config file -> one checked struct settings.
 * Every key is described once in keys[] (kind, field, rule), as pam_unix's
 * option table; all values are gathered first, so every problem is found in
 * one pass and a module argument always wins.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "ascii.h"
#include "safe_file.h"
#include "secret.h"
#include "settings.h"

#define CONFIG_FILE_MAX (64 * 1024)
#define SECRET_FILE_MAX 4096
#define CA_FILE_MAX (1024 * 1024)  /* Debian's whole bundle is a quarter of this */
#define PIN_HASH_LEN 44     /* base64 of a SHA-256 digest */

/* ----------------------------------------------------------------------- */
/* Problems: every one is logged; the first is handed back as the reason.  */

struct problems {
	const struct ph_log *log;
	unsigned count;
	char *first;            /* PH_REASON_MAX bytes */
};

static void problem(struct problems *problems, const char *format, ...)
	__attribute__((format(printf, 2, 3)));

static void problem(struct problems *problems, const char *format, ...)
{
	char message[PH_REASON_MAX];
	va_list args;

	va_start(args, format);
	vsnprintf(message, sizeof message, format, args);
	va_end(args);
	if (problems->count++ == 0)
		snprintf(problems->first, PH_REASON_MAX, "%s", message);
	ph_logf(problems->log, LOG_ERR, "configuration error: %s", message);
}

/* ----------------------------------------------------------------------- */
/* Value checks.                                                            */

/* No byte below lowest (0x20: controls, 0x21: blanks too), and no DEL. */
static bool bytes_from(const char *value, unsigned char lowest)
{
	for (const unsigned char *c = (const unsigned char *)value; *c; c++)
		if (*c < lowest || *c == 0x7f)
			return false;
	return true;
}

static bool has_no_blank_or_control(const char *value)
{
	return bytes_from(value, 0x21);
}

static bool has_no_control(const char *value)
{
	return bytes_from(value, 0x20);
}

bool settings_is_https_url(const char *value)
{
	static const char scheme[] = "https://";
	const char *host;

	if (value == NULL || strncmp(value, scheme, sizeof scheme - 1) != 0)
		return false;
	host = value + sizeof scheme - 1;
	if (*host == '\0' || *host == '/' || *host == '?' || *host == '#')
		return false;
	return has_no_blank_or_control(value) && strpbrk(value, "?#") == NULL;
}

static bool is_proxy_url(const char *value)
{
	static const char *const schemes[] = {
		"http://", "https://", "socks4://", "socks4a://", "socks5://", "socks5h://",
	};

	if (!has_no_blank_or_control(value))
		return false;
	for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
		size_t len = strlen(schemes[i]);

		if (strncmp(value, schemes[i], len) == 0)
			return value[len] != '\0' && value[len] != '/';
	}
	return false;
}

static bool is_base64_char(char c)
{
	return is_ascii_alnum(c) || c == '+' || c == '/';
}

/* One sha256//<base64 of 32 bytes> item: 43 base64 characters and one '='. */
static bool is_pin(const char *item, size_t len)
{
	static const char prefix[] = "sha256//";
	size_t prefix_len = sizeof prefix - 1;

	if (len != prefix_len + PIN_HASH_LEN || strncmp(item, prefix, prefix_len) != 0)
		return false;
	for (size_t i = prefix_len; i < len - 1; i++)
		if (!is_base64_char(item[i]))
			return false;
	return item[len - 1] == '=';
}

static bool is_pin_list(const char *value)
{
	const char *item = value;

	for (;;) {
		const char *end = strchr(item, ';');
		size_t len = end ? (size_t)(end - item) : strlen(item);

		if (!is_pin(item, len))
			return false;
		if (end == NULL)
			return true;
		item = end + 1;
	}
}

bool settings_is_client_id(const char *value)
{
	size_t len = value != NULL ? strlen(value) : 0;

	if (len == 0 || len > 128)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_ascii_alnum(value[i]) && strchr("-._~", value[i]) == NULL)
			return false;
	return true;
}

static bool is_absolute_path(const char *value)
{
	return value[0] == '/' && has_no_control(value);
}

/* ----------------------------------------------------------------------- */
/* Values parsed into a field of their own type; the field is left alone
 * when the value is refused. */

static bool parse_grant(const char *value, void *field)
{
	return credential_grant_named(value, strlen(value), field);
}

/* "authorization_code,refresh_token": each form once, blanks around commas allowed. */
static bool parse_grants(const char *value, void *field)
{
	unsigned grants = 0;
	const char *item = value;

	for (;;) {
		const char *end = item + strcspn(item, ",");
		const char *last = end;
		enum ph_grant grant;

		while (*item == ' ' || *item == '\t')
			item++;
		while (last > item && (last[-1] == ' ' || last[-1] == '\t'))
			last--;
		if (!credential_grant_named(item, (size_t)(last - item), &grant) ||
		    (grants & SETTINGS_GRANT_BIT(grant)))
			return false;
		grants |= SETTINGS_GRANT_BIT(grant);
		if (*end == '\0')
			break;
		item = end + 1;
	}
	*(unsigned *)field = grants;
	return true;
}

/* Digits only: no sign, no exponent, no unit, at most three of them. */
static bool parse_seconds(const char *value, void *field)
{
	size_t len = strlen(value);
	long seconds;

	if (len == 0 || len > 3 || strspn(value, "0123456789") != len)
		return false;
	seconds = strtol(value, NULL, 10);
	if (seconds < SETTINGS_TIMEOUT_MIN || seconds > SETTINGS_TIMEOUT_MAX)
		return false;
	*(long *)field = seconds;
	return true;
}

static bool parse_yes_no(const char *value, void *field)
{
	if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0)
		return false;
	*(bool *)field = value[0] == 'y';
	return true;
}

bool settings_grant_accepted(const struct settings *settings, enum ph_grant grant)
{
	return (settings->grants & SETTINGS_GRANT_BIT(grant)) != 0;
}

/* ----------------------------------------------------------------------- */
/* The keys.                                                                */

enum key {
	KEY_API_URL,
	KEY_CLIENT_SECRET_FILE,
	KEY_CLIENT_SECRET,
	KEY_ALLOWLIST,
	KEY_DEFAULT_GRANT,
	KEY_GRANTS,
	KEY_TIMEOUT,
	KEY_CA_FILE,
	KEY_PROXY,
	KEY_PROMPT,
	KEY_EXPORT_ACCESS_TOKEN,
	KEY_CLIENT_ID,
	KEY_AUTHORIZE_URL,
	KEY_PINNED_PUBKEY,
	KEY_COUNT,
};

enum key_kind {
	KIND_TEXT,      /* a string that passes check, copied */
	KIND_SECRET,    /* the same, copied where it is wiped when freed */
	KIND_PARSED,    /* parse turns it into its field's own type */
};

#define STRINGIFY(x) #x
#define NUMBER(x) STRINGIFY(x)
#define AT(field) offsetof(struct settings, field)

static const struct key_spec {
	const char *name;
	size_t offset;                                  /* of its field in struct settings */
	bool (*check)(const char *value);               /* KIND_TEXT, KIND_SECRET */
	bool (*parse)(const char *value, void *field);  /* KIND_PARSED */
	const char *rule;       /* told after the name when a value breaks it */
	enum key_kind kind;
	bool file_only;         /* refused on the module line: /etc/pam.d is world readable */
} keys[KEY_COUNT] = {
	[KEY_API_URL] = { "api_url", AT(api_url), .kind = KIND_TEXT,
		.check = settings_is_https_url, .rule = "must be an https:// URL with a host" },
	[KEY_CLIENT_SECRET_FILE] = { "client_secret_file", AT(client_secret_file),
		.kind = KIND_TEXT, .check = is_absolute_path, .rule = "must be an absolute path" },
	/* The value itself is never quoted back: it is a secret. */
	[KEY_CLIENT_SECRET] = { "client_secret", AT(client_secret), .kind = KIND_SECRET,
		.check = has_no_blank_or_control, .rule = "holds a blank or control character",
		.file_only = true },
	[KEY_ALLOWLIST] = { "allowlist", AT(allowlist), .kind = KIND_TEXT,
		.check = is_absolute_path, .rule = "must be an absolute path" },
	[KEY_DEFAULT_GRANT] = { "default_grant", AT(default_grant), .kind = KIND_PARSED,
		.parse = parse_grant, .rule = "must be authorization_code or refresh_token" },
	[KEY_GRANTS] = { "grants", AT(grants), .kind = KIND_PARSED, .parse = parse_grants,
		.rule = "must list authorization_code and/or refresh_token, each once, "
			"separated by commas" },
	[KEY_TIMEOUT] = { "timeout", AT(timeout), .kind = KIND_PARSED, .parse = parse_seconds,
		.rule = "must be a whole number of seconds from " NUMBER(SETTINGS_TIMEOUT_MIN)
			" to " NUMBER(SETTINGS_TIMEOUT_MAX) },
	[KEY_CA_FILE] = { "ca_file", AT(ca_file), .kind = KIND_TEXT,
		.check = is_absolute_path, .rule = "must be an absolute path" },
	[KEY_PROXY] = { "proxy", AT(proxy), .kind = KIND_TEXT, .check = is_proxy_url,
		.rule = "must be a URL with scheme http, https, socks4, socks4a, socks5 or socks5h" },
	[KEY_PROMPT] = { "prompt", AT(prompt), .kind = KIND_TEXT, .check = has_no_control,
		.rule = "holds a control character" },
	[KEY_EXPORT_ACCESS_TOKEN] = { "export_access_token", AT(export_access_token),
		.kind = KIND_PARSED, .parse = parse_yes_no, .rule = "must be yes or no" },
	[KEY_CLIENT_ID] = { "client_id", AT(client_id), .kind = KIND_TEXT,
		.check = settings_is_client_id,
		.rule = "must be 1-128 characters of A-Z a-z 0-9 - . _ ~" },
	[KEY_AUTHORIZE_URL] = { "authorize_url", AT(authorize_url), .kind = KIND_TEXT,
		.check = settings_is_https_url, .rule = "must be an https:// URL with a host" },
	[KEY_PINNED_PUBKEY] = { "pinned_pubkey", AT(pinned_pubkey), .kind = KIND_TEXT,
		.check = is_pin_list,
		.rule = "must be sha256//<base64 SHA-256> hashes separated by ';'" },
};

static bool replace_string(char **field, const char *value, bool secret)
{
	char *copy = secret ? secret_strdup(value) : strdup(value);

	if (copy == NULL)
		return false;
	if (secret)
		secret_free(*field);
	else
		free(*field);
	*field = copy;
	return true;
}

/* Check a value against its key's rule and store it, or tell the problem. */
static void store(struct settings *settings, const struct key_spec *key, const char *value,
		  struct problems *problems)
{
	void *field = (char *)settings + key->offset;
	bool ok = key->kind == KIND_PARSED ? key->parse(value, field) : key->check(value);

	if (!ok)
		problem(problems, "%s %s", key->name, key->rule);
	else if (key->kind != KIND_PARSED &&
		 !replace_string(field, value, key->kind == KIND_SECRET))
		problem(problems, "out of memory");
}

static int key_lookup(const char *name, size_t len)
{
	for (int i = 0; i < KEY_COUNT; i++)
		if (strlen(keys[i].name) == len && strncmp(keys[i].name, name, len) == 0)
			return i;
	return -1;
}

/* ----------------------------------------------------------------------- */
/* Gathering raw values.                                                    */

/*
 * Values as found, before any check.  Module-line values point into argv;
 * file values point into the file's buffer (which is wiped afterwards: it
 * may hold client_secret).
 */
struct raw_values {
	const char *value[KEY_COUNT];
	unsigned line[KEY_COUNT];   /* file line, for duplicate reports */
};

struct module_args {
	struct raw_values values;
	const char *config_path;
};

static void parse_module_args(int argc, const char **argv, struct settings *settings,
			      struct module_args *args, struct problems *problems)
{
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];
		const char *equals = strchr(arg, '=');
		int key;

		if (equals == NULL) {
			if (strcmp(arg, "debug") == 0)
				settings->debug = true;
			else if (strcmp(arg, "use_first_pass") == 0)
				settings->use_first_pass = true;
			else if (strcmp(arg, "try_first_pass") == 0)
				settings->try_first_pass = true;
			else
				problem(problems, "unknown module option \"%.64s\"", arg);
			continue;
		}
		if ((size_t)(equals - arg) == strlen("config") && strncmp(arg, "config", 6) == 0) {
			if (args->config_path != NULL)
				problem(problems, "config given twice on the module line");
			args->config_path = equals + 1;
			continue;
		}
		key = key_lookup(arg, (size_t)(equals - arg));
		if (key < 0)
			problem(problems, "unknown key \"%.*s\" on the module line",
				(int)((equals - arg) > 64 ? 64 : (equals - arg)), arg);
		else if (keys[key].file_only)
			problem(problems, "%s is refused on the module line (/etc/pam.d is world readable); "
				"use client_secret_file or the config file", keys[key].name);
		else if (args->values.value[key] != NULL)
			problem(problems, "%s given twice on the module line", keys[key].name);
		else
			args->values.value[key] = equals + 1;
	}
}

/* Trim blanks (and a CR from a CRLF file) at both ends, in place. */
static char *trim(char *start, char *end)
{
	while (start < end && (*start == ' ' || *start == '\t'))
		start++;
	while (end > start && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	*end = '\0';
	return start;
}

/*
 * The value part of "key = value": a double-quoted string kept as is, or
 * the text up to a " #" comment, trimmed.  NULL when the quote is not closed
 * or something other than a comment follows it.
 */
static char *parse_value(char *text)
{
	char *end;

	while (*text == ' ' || *text == '\t')
		text++;
	if (*text == '"') {
		char *close = strchr(text + 1, '"');
		char *rest;

		if (close == NULL)
			return NULL;
		*close = '\0';
		rest = trim(close + 1, close + 1 + strlen(close + 1));
		return (*rest == '\0' || *rest == '#') ? text + 1 : NULL;
	}
	for (end = text; *end; end++)
		if (*end == '#' && (end == text || end[-1] == ' ' || end[-1] == '\t'))
			break;
	return trim(text, end);
}

static void parse_config_line(char *line, unsigned number, const char *path,
			      struct raw_values *file, struct problems *problems)
{
	char *equals, *name, *value;
	int key;

	name = trim(line, line + strlen(line));
	if (*name == '\0' || *name == '#')
		return;
	equals = strchr(name, '=');
	if (equals == NULL) {
		problem(problems, "%s:%u: expected \"key = value\"", path, number);
		return;
	}
	value = parse_value(equals + 1);
	name = trim(name, equals);
	key = key_lookup(name, strlen(name));
	if (key < 0) {
		problem(problems, "%s:%u: unknown key \"%.64s\"", path, number, name);
	} else if (value == NULL) {
		problem(problems, "%s:%u: %s has an unterminated quote", path, number, name);
	} else if (*value == '\0') {
		problem(problems, "%s:%u: %s has no value", path, number, name);
	} else if (file->value[key] != NULL) {
		problem(problems, "%s:%u: %s already set on line %u", path, number, name,
			file->line[key]);
	} else {
		file->value[key] = value;
		file->line[key] = number;
	}
}

static void parse_config_text(char *text, const char *path, struct raw_values *file,
			      struct problems *problems)
{
	unsigned number = 0;
	char *line = text;

	while (line != NULL && *line != '\0') {
		char *newline = strchr(line, '\n');

		if (newline != NULL)
			*newline = '\0';
		parse_config_line(line, ++number, path, file, problems);
		line = newline ? newline + 1 : NULL;
	}
}

/*
 * Read and parse the config file into *file.  Returns the file's buffer
 * (values point into it; the caller wipes it) or NULL when there is none.
 */
static char *load_config_file(const char *path, bool must_exist, struct settings *settings,
			      struct raw_values *file, size_t *size, struct problems *problems)
{
	char reason[PH_REASON_MAX];
	bool absent = false;
	struct stat st;
	char *text;

	/* Only the default file's absence (the open failing with ENOENT) means
	 * "no file": one too large or unreadable is an error, never skipped. */
	if (safe_file_read(path, SAFE_FILE_PUBLIC, CONFIG_FILE_MAX, &text, size, &st, &absent,
			   reason) != PH_OK) {
		if (!(absent && !must_exist))
			problem(problems, "%s", reason);
		return NULL;
	}
	if (strlen(text) != *size)
		problem(problems, "%s holds a NUL byte", path);
	else
		parse_config_text(text, path, file, problems);
	if (file->value[KEY_CLIENT_SECRET] != NULL && !safe_file_is_private(&st))
		problem(problems, "%s holds client_secret but is readable by group or others "
			"(mode %04o); make it 0600", path, (unsigned)(st.st_mode & 07777));
	settings->config_path = strdup(path);
	return text;
}

/* The first line of client_secret_file, without its line ending and blanks. */
static void load_secret_file(struct settings *settings, struct problems *problems)
{
	char reason[PH_REASON_MAX];
	size_t size;
	char *text;
	char *line;

	if (safe_file_read(settings->client_secret_file, SAFE_FILE_PRIVATE, SECRET_FILE_MAX,
			   &text, &size, NULL, NULL, reason) != PH_OK) {
		problem(problems, "%s", reason);
		return;
	}
	line = trim(text, text + strcspn(text, "\n"));
	if (*line == '\0')
		problem(problems, "%s: the first line (the client secret) is empty",
			settings->client_secret_file);
	else
		store(settings, &keys[KEY_CLIENT_SECRET], line, problems);
	secret_free_len(text, size + 1);
}

/* The CA bundle's bytes, read once through the checked descriptor: the helper
 * never opens it by name, so it cannot be swapped while the user sits at the prompt. */
static void load_ca_file(struct settings *settings, struct problems *problems)
{
	char reason[PH_REASON_MAX];

	if (safe_file_read(settings->ca_file, SAFE_FILE_PUBLIC, CA_FILE_MAX, &settings->ca_pem,
			   &settings->ca_pem_len, NULL, NULL, reason) != PH_OK)
		problem(problems, "%s", reason);
}

/* The whole configuration, once every key is stored. */
static void check_together(const struct settings *settings, struct problems *problems)
{
	if (settings->client_secret == NULL && settings->client_secret_file == NULL)
		problem(problems, "no client secret: set client_secret_file, or client_secret "
			"in the config file (Heroku requires it in every token request)");
	if (!settings_grant_accepted(settings, settings->default_grant))
		problem(problems, "default_grant %s is not one of grants; set default_grant to "
			"a form that grants lists", credential_grant_name(settings->default_grant));
}

/* A file that must exist, be safe and readable; it is opened again when used. */
static void check_file(const char *path, enum safe_file_secrecy secrecy,
		       struct problems *problems)
{
	char reason[PH_REASON_MAX];
	int fd = safe_file_open_stat(path, secrecy, NULL, NULL, reason);

	if (fd < 0)
		problem(problems, "%s", reason);
	else
		close(fd);
}

/* "https://host/" + "/oauth/tokens" must not become "//oauth/tokens". */
static void strip_trailing_slashes(char *url)
{
	size_t len = url != NULL ? strlen(url) : 0;

	while (len > 0 && url[len - 1] == '/')
		url[--len] = '\0';
}

static bool set_defaults(struct settings *settings)
{
	memset(settings, 0, sizeof *settings);
	settings->api_url = strdup(SETTINGS_DEFAULT_API_URL);
	settings->allowlist = strdup(SETTINGS_DEFAULT_ALLOWLIST);
	settings->prompt = strdup(SETTINGS_DEFAULT_PROMPT);
	settings->authorize_url = strdup(SETTINGS_DEFAULT_AUTHORIZE_URL);
	settings->default_grant = PH_GRANT_AUTHORIZATION_CODE;
	settings->grants = SETTINGS_GRANTS_ALL;
	settings->timeout = SETTINGS_DEFAULT_TIMEOUT;
	return settings->api_url && settings->allowlist && settings->prompt &&
	       settings->authorize_url;
}

enum ph_result settings_load(struct settings *settings, enum settings_purpose purpose,
			     int argc, const char **argv, const struct ph_log *log,
			     char reason[PH_REASON_MAX])
{
	bool exchange = purpose == SETTINGS_TO_EXCHANGE;
	struct problems problems = { .log = log, .count = 0, .first = reason };
	struct module_args args;
	struct raw_values file;
	const char *config_path;
	size_t file_size = 0;
	char *file_text;

	reason[0] = '\0';
	memset(&args, 0, sizeof args);
	memset(&file, 0, sizeof file);
	if (!set_defaults(settings))
		problem(&problems, "out of memory");

	parse_module_args(argc, argv, settings, &args, &problems);
	config_path = args.config_path ? args.config_path : SETTINGS_DEFAULT_CONFIG;
	if (config_path[0] != '/')
		problem(&problems, "config must be an absolute path");
	file_text = load_config_file(config_path, args.config_path != NULL, settings, &file,
				     &file_size, &problems);

	for (int key = 0; key < KEY_COUNT; key++) {
		const char *value = args.values.value[key] ? args.values.value[key]
							   : file.value[key];

		if (value != NULL)
			store(settings, &keys[key], value, &problems);
	}
	strip_trailing_slashes(settings->api_url);
	if (file_text != NULL)
		secret_free_len(file_text, file_size + 1);

	if (settings->client_secret != NULL && settings->client_secret_file != NULL)
		problem(&problems, "both client_secret and client_secret_file are set; keep one");
	else if (settings->client_secret_file != NULL && exchange)
		load_secret_file(settings, &problems);
	check_together(settings, &problems);
	/* The account phase sends nothing, and opens the allowlist itself. */
	if (settings->ca_file != NULL && exchange)
		load_ca_file(settings, &problems);
	if (settings->allowlist != NULL && exchange)
		check_file(settings->allowlist, SAFE_FILE_PUBLIC, &problems);

	return problems.count == 0 ? PH_OK : PH_MISCONFIGURED;
}

void settings_free(struct settings *settings)
{
	for (int key = 0; key < KEY_COUNT; key++) {
		char **text = (char **)(void *)((char *)settings + keys[key].offset);

		if (keys[key].kind == KIND_SECRET)
			secret_free(*text);
		else if (keys[key].kind == KIND_TEXT)
			free(*text);
	}
	free(settings->config_path);
	if (settings->ca_pem != NULL)
		secret_free_len(settings->ca_pem, settings->ca_pem_len + 1);
	memset(settings, 0, sizeof *settings);
}
