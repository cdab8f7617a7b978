/*
 * pam_heroku_check.c - check pam_heroku's configuration, try a login, learn a
 * Heroku user id or print the authorize URL (pam_heroku_check(8)) through the
 * module's own steps, so it cannot decide differently.  Nothing here prints
 * the credential, the client secret or a token.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <syslog.h>
#include <termios.h>
#include <unistd.h>

#include "allowlist.h"
#include "authorize.h"
#include "credential.h"
#include "exchange_child.h"
#include "login.h"
#include "result.h"
#include "result_pam.h"
#include "safe_file.h"
#include "sanitize.h"
#include "secret.h"
#include "settings.h"
#include "token_response.h"

#define PROGRAM "pam_heroku_check"

#define EXIT_GOOD 0
#define EXIT_BAD 1
#define EXIT_USAGE 2

/* Room for "refresh:" + the longest credential + one byte that proves it too long. */
#define TYPED_MAX (CREDENTIAL_MAX_LEN + 64)

/* The allowlist summary names this many accounts, then says how many more. */
#define SHOWN_ACCOUNTS_MAX 10
/* Distinct account names kept for the summary; beyond, they are only counted as more. */
#define KEPT_ACCOUNTS_MAX 100000
/* Longest account list --identify=ACCOUNT takes. */
#define ACCOUNT_ARG_MAX 256


/* ----------------------------------------------------------------------- */
/* Reporting: the steps' log sink, counted.                                 */

struct report {
	bool quiet;
	unsigned errors;
	unsigned warnings;
	struct ph_log log;
};

/* Anything from a file may hold a terminal escape: show safe text only. */
static void print_safe(FILE *out, const char *label, const char *text)
{
	char safe[1024];

	sanitize_text(safe, sizeof safe, text, strlen(text), sizeof safe - 1);
	fprintf(out, "%s%s\n", label, safe);
}

static void emit_to_stderr(void *ctx, int priority, const char *message)
{
	struct report *report = ctx;

	if (priority <= LOG_ERR)
		report->errors++;
	else if (priority == LOG_WARNING)
		report->warnings++;
	if (report->quiet)
		return;
	print_safe(stderr, priority <= LOG_ERR ? PROGRAM ": "
		   : priority == LOG_WARNING ? PROGRAM ": warning: " : PROGRAM ": note: ", message);
}

static void report_init(struct report *report, bool quiet)
{
	memset(report, 0, sizeof *report);
	report->quiet = quiet;
	report->log.emit = emit_to_stderr;
	report->log.ctx = report;
}

/* ----------------------------------------------------------------------- */
/* The command line.                                                         */

enum mode { MODE_CHECK, MODE_LOGIN, MODE_IDENTIFY, MODE_AUTHORIZE_URL };

struct options {
	enum mode mode;
	bool quiet;
	const char *login_user;
	const char *identify_account;   /* --identify=ACCOUNT, NULL without one */
	char *config_arg;           /* "config=PATH" from --config */
	const char **module_argv;   /* the module-line arguments, as the module gets them */
	int module_argc;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: " PROGRAM " [--quiet] [--config PATH] [key=value ...]\n"
		"       " PROGRAM " [--quiet] [--config PATH] --login USER [key=value ...]\n"
		"       " PROGRAM " [--quiet] [--config PATH] --identify[=ACCOUNT] [key=value ...]\n"
		"       " PROGRAM " [--quiet] [--config PATH] --authorize-url [key=value ...]\n"
		"\n"
		"Loads pam_heroku's settings as the module would (the config file and the\n"
		"same key=value arguments as on the module line) and reports every problem.\n"
		"  --config PATH     the config file (default " SETTINGS_DEFAULT_CONFIG ")\n"
		"  --login USER      also read a credential and log USER in against the API\n"
		"  --identify[=ACCOUNT]  read a credential, print the Heroku user id behind it\n"
		"                    and an allowlist line that grants it ACCOUNT\n"
		"  --authorize-url   print the URL a user opens to get a grant code\n"
		"  --quiet           print nothing; the exit status tells\n"
		"Exit status: 0 the module would run / login granted / id or URL printed,\n"
		"1 otherwise, 2 usage.\n"
		"See pam_heroku_check(8).\n");
}

/*
 * What an allowlist line takes after the id: account names separated by
 * commas (printable ASCII, no blank, no '#' which would start a comment),
 * or '*' alone.
 */
static bool account_arg_valid(const char *accounts)
{
	size_t len = strlen(accounts);
	bool name_empty = true;

	if (len == 0 || len > ACCOUNT_ARG_MAX)
		return false;
	if (strcmp(accounts, "*") == 0)
		return true;
	for (const char *c = accounts; *c; c++) {
		unsigned char byte = (unsigned char)*c;

		if (byte == ',') {
			if (name_empty)
				return false;
			name_empty = true;
		} else if (byte <= 0x20 || byte >= 0x7f || byte == '*' || byte == '#') {
			return false;
		} else {
			name_empty = false;
		}
	}
	return !name_empty;
}

static void set_mode(struct options *options, enum mode mode, bool *conflict)
{
	if (options->mode != MODE_CHECK && options->mode != mode)
		*conflict = true;
	options->mode = mode;
}

/* 0 to go on, else the exit status. */
static int parse_options(int argc, char **argv, struct options *options)
{
	static const struct option long_options[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "login", required_argument, NULL, 'l' },
		{ "identify", optional_argument, NULL, 'i' },
		{ "authorize-url", no_argument, NULL, 'a' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL;
	bool conflict = false;
	int opt;

	memset(options, 0, sizeof *options);
	opterr = 1;
	while ((opt = getopt_long(argc, argv, "c:l:aqhV", long_options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			if (config_path != NULL) {
				fprintf(stderr, PROGRAM ": --config given twice\n");
				return EXIT_USAGE;
			}
			config_path = optarg;
			break;
		case 'l':
			set_mode(options, MODE_LOGIN, &conflict);
			options->login_user = optarg;
			break;
		case 'i':
			set_mode(options, MODE_IDENTIFY, &conflict);
			options->identify_account = optarg;
			break;
		case 'a':
			set_mode(options, MODE_AUTHORIZE_URL, &conflict);
			break;
		case 'q':
			options->quiet = true;
			break;
		case 'h':
			usage(stdout);
			return -1;
		case 'V':
			printf(PROGRAM " (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			return -1;
		default:
			fprintf(stderr, "Try '" PROGRAM " --help'.\n");
			return EXIT_USAGE;
		}
	}
	if (conflict) {
		fprintf(stderr, PROGRAM ": --login, --identify and --authorize-url exclude "
			"each other\n");
		return EXIT_USAGE;
	}
	if (options->mode == MODE_IDENTIFY && options->identify_account != NULL &&
	    !account_arg_valid(options->identify_account)) {
		fprintf(stderr, PROGRAM ": --identify=ACCOUNT takes what an allowlist line "
			"takes after the id: local account names separated by commas, or '*' "
			"alone (printable, no blank)\n");
		return EXIT_USAGE;
	}
	if (options->mode == MODE_LOGIN &&
	    (options->login_user == NULL || options->login_user[0] == '\0')) {
		fprintf(stderr, PROGRAM ": --login needs a user name\n");
		return EXIT_USAGE;
	}
	for (int i = optind; i < argc; i++)
		if (argv[i][0] == '-') {
			fprintf(stderr, PROGRAM ": unexpected argument \"%.64s\": module arguments "
				"are key=value or a flag (debug, use_first_pass, try_first_pass)\n",
				argv[i]);
			return EXIT_USAGE;
		}

	/* The module line: "config=PATH" first (when given), then the rest as typed. */
	options->module_argv = calloc((size_t)(argc - optind) + 1, sizeof *options->module_argv);
	if (options->module_argv == NULL) {
		fprintf(stderr, PROGRAM ": out of memory\n");
		return EXIT_BAD;
	}
	if (config_path != NULL) {
		if (asprintf(&options->config_arg, "config=%s", config_path) < 0) {
			options->config_arg = NULL;
			fprintf(stderr, PROGRAM ": out of memory\n");
			return EXIT_BAD;
		}
		options->module_argv[options->module_argc++] = options->config_arg;
	}
	for (int i = optind; i < argc; i++)
		options->module_argv[options->module_argc++] = argv[i];
	return 0;
}

static void options_free(struct options *options)
{
	free(options->config_arg);
	free(options->module_argv);
}

/* ----------------------------------------------------------------------- */
/* Whom the allowlist grants: its well-formed lines, by the accounts named. */

/* The distinct account names the allowlist's lines grant, sorted. */
struct account_set {
	char **names;
	size_t count;
	size_t capacity;
	bool incomplete;        /* some names were not kept (out of memory, or too many) */
};

/* strcmp for a kept name against one from the file (len bytes, not NUL-terminated). */
static int name_compare(const char *kept, const char *name, size_t len)
{
	int order = strncmp(kept, name, len);

	return order != 0 ? order : kept[len] != '\0';
}

/* allowlist_query.each_account: keep each distinct name once, in order. */
static void account_set_add(void *ctx, const char *name, size_t len)
{
	struct account_set *set = ctx;
	size_t low = 0, high = set->count;
	char *copy;

	while (low < high) {
		size_t mid = low + (high - low) / 2;
		int order = name_compare(set->names[mid], name, len);

		if (order == 0)
			return;
		if (order < 0)
			low = mid + 1;
		else
			high = mid;
	}
	if (set->count == set->capacity) {
		size_t capacity = set->capacity ? set->capacity * 2 : 16;
		char **grown = capacity <= KEPT_ACCOUNTS_MAX
			       ? realloc(set->names, capacity * sizeof *grown) : NULL;

		if (grown == NULL) {
			set->incomplete = true;
			return;
		}
		set->names = grown;
		set->capacity = capacity;
	}
	copy = strndup(name, len);
	if (copy == NULL) {
		set->incomplete = true;
		return;
	}
	memmove(set->names + low + 1, set->names + low, (set->count - low) * sizeof *set->names);
	set->names[low] = copy;
	set->count++;
}

static void account_set_free(struct account_set *set)
{
	for (size_t i = 0; i < set->count; i++)
		free(set->names[i]);
	free(set->names);
	memset(set, 0, sizeof *set);
}

/* What the allowlist scan of the config check found. */
struct allowlist_report {
	bool scanned;                   /* the file was read through */
	struct allowlist_outcome outcome;
	struct account_set accounts;
};

static bool grants_nobody(const struct allowlist_report *allowlist)
{
	return allowlist->scanned &&
	       allowlist->outcome.named_lines + allowlist->outcome.any_lines == 0;
}

/* snprintf at text + *used, keeping what fits. */
__attribute__((format(printf, 4, 5)))
static void append(char *text, size_t size, size_t *used, const char *format, ...)
{
	va_list args;
	int n;

	va_start(args, format);
	n = vsnprintf(text + *used, size - *used, format, args);
	va_end(args);
	if (n > 0)
		*used += (size_t)n < size - *used ? (size_t)n : size - *used - 1;
}

/*
 * "3 lines grant alice, bob, carol; 1 line grants any account (*)", or
 * "no line grants anyone".
 */
static void describe_grants(const struct allowlist_report *allowlist, char *text, size_t size)
{
	const struct allowlist_outcome *counts = &allowlist->outcome;
	const struct account_set *set = &allowlist->accounts;
	size_t used = 0;

	text[0] = '\0';
	if (counts->named_lines + counts->any_lines == 0) {
		append(text, size, &used, "no line grants anyone");
		return;
	}
	if (counts->named_lines > 0) {
		append(text, size, &used, "%u line%s ", counts->named_lines,
		       counts->named_lines == 1 ? " grants" : "s grant");
		for (size_t i = 0; i < set->count && i < SHOWN_ACCOUNTS_MAX; i++)
			append(text, size, &used, "%s%s", i ? ", " : "", set->names[i]);
		if (set->count > SHOWN_ACCOUNTS_MAX)
			append(text, size, &used, " and %zu%s more accounts",
			       set->count - SHOWN_ACCOUNTS_MAX, set->incomplete ? " or" : "");
		else if (set->incomplete)
			append(text, size, &used, " and more accounts");
	}
	if (counts->any_lines > 0)
		append(text, size, &used, "%s%u line%s any account (*)",
		       counts->named_lines ? "; " : "", counts->any_lines,
		       counts->any_lines == 1 ? " grants" : "s grant");
}

/* ----------------------------------------------------------------------- */
/* Checks the module makes only when it uses a file: made here up front.    */

/*
 * libcurl refuses a CA file with no certificate in it (CURLE_SSL_CACERT_BADFILE),
 * and the module then answers PAM_SERVICE_ERR at every login: say so now.
 */
static bool ca_file_has_certificate(const struct settings *settings)
{
	/* "-----BEGIN CERTIFICATE-----" or OpenSSL's "... TRUSTED CERTIFICATE-----" */
	return memmem(settings->ca_pem, settings->ca_pem_len, "CERTIFICATE-----", 16) != NULL;
}

static void note_not_root(const struct report *report)
{
	if (geteuid() == 0 || report->quiet)
		return;
	fprintf(stderr, PROGRAM ": note: running as uid %lu, not root: files owned by uid %lu "
		"pass the owner check here but not in a module run by root (sshd, sudo), "
		"and files only root can read fail here\n",
		(unsigned long)geteuid(), (unsigned long)geteuid());
}

static unsigned count_pins(const char *pins)
{
	unsigned count = 1;

	for (const char *c = pins; *c; c++)
		count += *c == ';';
	return count;
}

static void print_settings(const struct settings *settings, const struct options *options,
			   const struct allowlist_report *allowlist)
{
	char grants[2048];
	char flags[64];
	char *prompt = NULL;

	if (settings->config_path != NULL)
		print_safe(stdout, "config file          ", settings->config_path);
	else
		printf("config file          none (%s is absent: module arguments and defaults only)\n",
		       SETTINGS_DEFAULT_CONFIG);
	if (options->module_argc > (options->config_arg ? 1 : 0))
		printf("module arguments     %d\n",
		       options->module_argc - (options->config_arg ? 1 : 0));
	print_safe(stdout, "api_url              ", settings->api_url);
	if (settings->client_secret_file != NULL)
		print_safe(stdout, "client secret        set, from ", settings->client_secret_file);
	else
		printf("client secret        %s\n", settings->client_secret != NULL
		       ? "set, in the config file" : "none (a configuration error)");
	print_safe(stdout, "allowlist            ", settings->allowlist);
	printf("allowlist lines      %u malformed (they grant nothing)\n",
	       allowlist->outcome.bad_lines);
	describe_grants(allowlist, grants, sizeof grants);
	print_safe(stdout, "allowlist grants     ", grants);
	printf("default_grant        %s\n", credential_grant_name(settings->default_grant));
	printf("grants               %s%s%s\n",
	       settings_grant_accepted(settings, PH_GRANT_AUTHORIZATION_CODE) ? "authorization_code" : "",
	       settings->grants == SETTINGS_GRANTS_ALL ? "," : "",
	       settings_grant_accepted(settings, PH_GRANT_REFRESH_TOKEN) ? "refresh_token" : "");
	printf("timeout              %ld s\n", settings->timeout);
	if (settings->ca_file != NULL)
		print_safe(stdout, "ca_file              ", settings->ca_file);
	else
		printf("ca_file              none (the system's trust store)\n");
	/* A proxy URL may carry user:password: never shown. */
	printf("proxy                %s\n", settings->proxy != NULL ? "set" : "none");
	if (settings->pinned_pubkey != NULL)
		printf("pinned_pubkey        %u hash(es)\n", count_pins(settings->pinned_pubkey));
	else
		printf("pinned_pubkey        none\n");
	printf("export_access_token  %s\n", settings->export_access_token ? "yes" : "no");
	if (settings->client_id != NULL) {
		print_safe(stdout, "client_id            ", settings->client_id);
		print_safe(stdout, "authorize_url        ", settings->authorize_url);
	} else {
		printf("client_id            none (the prompt shows no authorize URL)\n");
	}
	snprintf(flags, sizeof flags, "%s%s%s", settings->debug ? " debug" : "",
		 settings->use_first_pass ? " use_first_pass" : "",
		 settings->try_first_pass ? " try_first_pass" : "");
	printf("flags                %s\n", flags[0] ? flags + 1 : "none");
	if (authorize_prompt_build(settings, &prompt) == PH_OK) {
		char *line = prompt;

		printf("the prompt users see (a fresh state each time):\n");
		while (line != NULL) {
			char *newline = strchr(line, '\n');

			if (newline != NULL)
				*newline = '\0';
			print_safe(stdout, "  | ", line);
			line = newline ? newline + 1 : NULL;
		}
		free(prompt);
	}
}

/*
 * Every allowlist line judged, and counted by whom it grants.  A file that
 * grants nobody is a warning: the module runs, and refuses every login.
 */
static enum ph_result scan_allowlist(const struct settings *settings, struct report *report,
				     struct allowlist_report *allowlist,
				     char reason[PH_REASON_MAX])
{
	struct allowlist_query validate = {
		.user_id = NULL, .pam_user = NULL,
		.each_account = account_set_add, .each_account_ctx = &allowlist->accounts,
	};

	if (allowlist_scan(settings->allowlist, &validate, &report->log, &allowlist->outcome,
			   reason) != PH_OK)
		return PH_MISCONFIGURED;
	allowlist->scanned = true;
	if (grants_nobody(allowlist))
		ph_logf(&report->log, LOG_WARNING, "the allowlist %s grants nobody: no line is a "
			"Heroku user id followed by local accounts, so every login is refused "
			"(pam_heroku_check --identify=ACCOUNT prints a line to add)",
			settings->allowlist);
	return PH_OK;
}

/* One run of the tool: what every mode loads, freed once at the end. */
struct run {
	const struct options *options;
	struct report report;
	struct settings settings;
	struct allowlist_report allowlist;
	struct login_outcome outcome;   /* its reason says why the run failed, in any mode */
};

/*
 * Load the settings and look at everything the module would look at; with
 * validate_allowlist every allowlist line too (--login leaves that to its scan).
 */
static enum ph_result load_and_check(struct run *run, bool validate_allowlist)
{
	const struct options *options = run->options;
	struct settings *settings = &run->settings;
	struct report *report = &run->report;
	struct allowlist_report *allowlist = &run->allowlist;
	char *reason = run->outcome.reason;
	char scan_reason[PH_REASON_MAX] = "";
	enum ph_result result;

	result = settings_load(settings, SETTINGS_TO_EXCHANGE, options->module_argc,
			       options->module_argv, &report->log, reason);
	/* Every allowlist line, even when something else is wrong. */
	if (validate_allowlist && settings->allowlist != NULL &&
	    scan_allowlist(settings, report, allowlist, scan_reason) != PH_OK &&
	    result == PH_OK) {
		/* settings_load found it fine a moment ago: report what changed. */
		ph_logf(&report->log, LOG_ERR, "configuration error: %s", scan_reason);
		result = ph_reason(reason, PH_MISCONFIGURED, "%s", scan_reason);
	}
	if (result == PH_OK && settings->ca_pem != NULL && !ca_file_has_certificate(settings)) {
		ph_logf(&report->log, LOG_ERR, "configuration error: ca_file %s holds no PEM "
			"certificate; libcurl would refuse it at every login", settings->ca_file);
		result = ph_reason(reason, PH_MISCONFIGURED, "ca_file %s holds no usable certificate",
				   settings->ca_file);
	}
	/* The module checks its helper before every exchange: so does this. */
	if (!exchange_child_helper_ok(scan_reason)) {
		ph_logf(&report->log, LOG_ERR, "configuration error: %s", scan_reason);
		if (result == PH_OK)
			snprintf(reason, PH_REASON_MAX, "%s", scan_reason);
		result = PH_MISCONFIGURED;
	}
	return result;
}

static const char *check_verdict(enum ph_result result, const struct allowlist_report *allowlist)
{
	if (result != PH_OK)
		return "the module would refuse every login (PAM_SERVICE_ERR)";
	return grants_nobody(allowlist)
	       ? "the module would run, but the allowlist grants nobody"
	       : "the module would run";
}

/* The configuration check, with the settings loaded (result). */
static enum ph_result run_check(struct run *run, enum ph_result result)
{
	const struct report *report = &run->report;

	if (!run->options->quiet) {
		if (result == PH_OK)
			print_settings(&run->settings, run->options, &run->allowlist);
		printf(PROGRAM ": %u error%s, %u warning%s: %s\n",
		       report->errors, report->errors == 1 ? "" : "s",
		       report->warnings, report->warnings == 1 ? "" : "s",
		       check_verdict(result, &run->allowlist));
	}
	return result;
}

static enum ph_result run_authorize_url(struct run *run, enum ph_result result)
{
	const struct options *options = run->options;
	const struct settings *settings = &run->settings;
	char *url = NULL;

	if (result != PH_OK) {
		if (!options->quiet)
			fprintf(stderr, PROGRAM ": the module would refuse every login "
				"(PAM_SERVICE_ERR): fix the configuration first\n");
	} else if (settings->client_id == NULL) {
		if (!options->quiet)
			fprintf(stderr, PROGRAM ": client_id is not set: there is no authorize URL "
				"(set client_id to the OAuth client's id)\n");
		result = PH_MISCONFIGURED;
	} else {
		result = authorize_url_build(settings, &url);
		if (result == PH_OK)
			printf("%s\n", url);
		else if (!options->quiet)
			fprintf(stderr, PROGRAM ": cannot build the authorize URL (%s)\n",
				ph_result_name(result));
		free(url);
	}
	return result;
}

/* ----------------------------------------------------------------------- */
/* Reading the credential.                                                  */

static volatile sig_atomic_t caught_signal;

static void catch_signal(int signo)
{
	caught_signal = signo;
}

struct echo_off {
	bool active;
	struct termios saved;
	struct sigaction old_actions[5];
};

static const int tty_signals[5] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGTSTP };

static bool echo_off_start(struct echo_off *state, int fd)
{
	struct sigaction action;
	struct termios quiet;

	memset(state, 0, sizeof *state);
	if (tcgetattr(fd, &state->saved) != 0)
		return false;
	/* No SA_RESTART: a signal ends the read, then the terminal is restored. */
	memset(&action, 0, sizeof action);
	action.sa_handler = catch_signal;
	sigemptyset(&action.sa_mask);
	for (size_t i = 0; i < 5; i++)
		sigaction(tty_signals[i], &action, &state->old_actions[i]);
	quiet = state->saved;
	quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
	quiet.c_lflag |= ICANON | ECHONL;
	if (tcsetattr(fd, TCSAFLUSH, &quiet) != 0) {
		for (size_t i = 0; i < 5; i++)
			sigaction(tty_signals[i], &state->old_actions[i], NULL);
		return false;
	}
	state->active = true;
	return true;
}

static void echo_off_end(struct echo_off *state, int fd)
{
	if (!state->active)
		return;
	tcsetattr(fd, TCSAFLUSH, &state->saved);
	for (size_t i = 0; i < 5; i++)
		sigaction(tty_signals[i], &state->old_actions[i], NULL);
	state->active = false;
}

/*
 * One line from fd into typed, without its newline; false when nothing could
 * be read.  Byte by byte, so no stdio buffer keeps a copy; what does not fit
 * is dropped (the kept part is already too long for credential_parse).
 */
static bool read_line(int fd, char typed[TYPED_MAX + 1])
{
	size_t len = 0;
	bool got_any = false;

	for (;;) {
		char c;
		ssize_t n = read(fd, &c, 1);

		if (n < 0 && errno == EINTR && caught_signal == 0)
			continue;
		if (n <= 0)
			break;
		got_any = true;
		if (c == '\n')
			break;
		if (len < TYPED_MAX)
			typed[len++] = c;
	}
	typed[len] = '\0';
	return got_any && caught_signal == 0;
}

/* The credential from the terminal without echo, or from stdin when it is not one. */
static enum ph_result read_credential(const struct settings *settings, char typed[TYPED_MAX + 1],
				      char reason[PH_REASON_MAX])
{
	struct echo_off echo;
	bool interactive = isatty(STDIN_FILENO);
	bool ok;

	typed[0] = '\0';
	if (interactive) {
		char *prompt = NULL;

		if (authorize_prompt_build(settings, &prompt) != PH_OK)
			return ph_reason(reason, PH_UNAVAILABLE, "cannot build the prompt");
		fprintf(stderr, "%s", prompt);
		fflush(stderr);
		free(prompt);
		if (!echo_off_start(&echo, STDIN_FILENO))
			return ph_reason(reason, PH_REFUSED, "cannot turn off the terminal's echo");
	}
	ok = read_line(STDIN_FILENO, typed);
	if (interactive)
		echo_off_end(&echo, STDIN_FILENO);
	if (caught_signal != 0) {
		int signo = caught_signal;

		explicit_bzero(typed, TYPED_MAX + 1);
		signal(signo, SIG_DFL);
		raise(signo);
		return ph_reason(reason, PH_REFUSED, "interrupted");
	}
	if (!ok) {
		/* As pam_get_authtok failing in the module: no credential, refused. */
		return ph_reason(reason, PH_REFUSED, "no credential: nothing could be read");
	}
	return PH_OK;
}

/* ----------------------------------------------------------------------- */
/* --login and --identify: the module's walk, told step by step.           */

/* The module's walk with the credential read here. */
static enum ph_result login_walk(struct run *run, enum ph_result result)
{
	const struct ph_log *log = &run->report.log;
	struct login_outcome *outcome = &run->outcome;
	char typed[TYPED_MAX + 1];

	if (result == PH_OK)
		result = read_credential(&run->settings, typed, outcome->reason);
	if (result == PH_OK)
		result = run->options->mode == MODE_IDENTIFY
			 ? login_identify(&run->settings, typed, log, outcome)
			 : login_decide(&run->settings, typed, run->options->login_user, log,
					outcome);
	explicit_bzero(typed, sizeof typed);
	return result;
}

/* What the exchange itself came to: the same lines for --login and --identify. */
static void print_exchange(const struct login_outcome *outcome)
{
	printf("grant                %s\n",
	       outcome->grant_known ? credential_grant_name(outcome->grant) : "-");
	if (outcome->status != 0)
		printf("HTTP status          %ld\n", outcome->status);
	else
		printf("HTTP status          -\n");
	printf("request id           %s\n", ph_or_dash(outcome->request_id));
	printf("ratelimit remaining  %s\n", ph_or_dash(outcome->ratelimit_remaining));
	printf("Heroku user id       %s\n", ph_or_dash(outcome->response.user_id));
}

static void print_login(const struct settings *settings, const char *user,
			const struct login_outcome *outcome, enum ph_result result)
{
	const struct token_response *response = &outcome->response;
	char line[PH_REASON_MAX + 32];

	printf("user                 %s\n", user);
	printf("outcome              %s\n", ph_result_outcome(result));
	printf("PAM result           %s\n", ph_result_pam_name(PH_PHASE_AUTH, result));
	print_safe(stdout, "reason               ", outcome->reason);
	print_exchange(outcome);
	printf("session id           %s\n", ph_or_dash(response->session_id));
	if (outcome->matched_line != 0) {
		snprintf(line, sizeof line, "%s:%u", settings->allowlist, outcome->matched_line);
		print_safe(stdout, "allowlist line       ", line);
	} else {
		printf("allowlist line       -\n");
	}
	if (result == PH_REFUSED && response->message[0] != '\0')
		print_safe(stdout, "Heroku says          ", response->message);
	if (result == PH_OK)
		printf("environment          HEROKU_USER_ID%s%s\n",
		       response->session_id[0] ? " HEROKU_SESSION_ID" : "",
		       settings->export_access_token ? " HEROKU_API_KEY" : "");
}

/* Whether this host has a local account called name (an error reads as "no"). */
static bool local_account_exists(const char *name)
{
	struct passwd entry, *found = NULL;
	char buffer[16384];

	return getpwnam_r(name, &entry, buffer, sizeof buffer, &found) == 0 && found != NULL;
}

/*
 * --identify: who the Heroku user is, and the allowlist line that lets them
 * in.  Never the session id or a token: the administrator only needs the id.
 */
static void print_identify(const struct options *options, const struct login_outcome *outcome,
			   enum ph_result result)
{
	const char *account = options->identify_account;
	const char *user_id = outcome->response.user_id;

	if (options->quiet) {
		if (result == PH_OK)
			printf("%s\n", user_id);
		return;
	}
	printf("outcome              %s\n", result == PH_OK ? "identified"
	       : ph_result_outcome(result));
	print_safe(stdout, "reason               ", ph_or_dash(outcome->reason));
	print_exchange(outcome);
	if (result == PH_REFUSED && outcome->response.message[0] != '\0')
		print_safe(stdout, "Heroku says          ", outcome->response.message);
	if (result != PH_OK)
		return;
	/* account passed account_arg_valid: printable ASCII, shown as given. */
	printf("allowlist line       %s  %s\n", user_id, account ? account : "ACCOUNT");
	if (account == NULL)
		fprintf(stderr, PROGRAM ": note: replace ACCOUNT with the local account(s) this "
			"Heroku user may log in as (or give --identify=ACCOUNT)\n");
	else if (strcmp(account, "*") != 0 && strchr(account, ',') == NULL &&
		 !local_account_exists(account))
		fprintf(stderr, PROGRAM ": note: there is no local account %s on this host\n",
			account);
}

/* --login USER or --identify[=ACCOUNT]. */
static enum ph_result run_login(struct run *run, enum ph_result result)
{
	const struct options *options = run->options;
	char user[SANITIZE_USER_FIELD_SIZE];

	result = login_walk(run, result);
	if (options->mode == MODE_IDENTIFY) {
		print_identify(options, &run->outcome, result);
	} else if (!options->quiet) {
		sanitize_field(user, sizeof user, options->login_user, strlen(options->login_user));
		print_login(&run->settings, user, &run->outcome, result);
	}
	return result;
}

/* Load and check what every mode needs, then run the mode. */
static int run_mode(const struct options *options)
{
	struct run run = { .options = options };
	enum ph_result result;

	report_init(&run.report, options->quiet);
	if (options->mode == MODE_CHECK)
		note_not_root(&run.report);
	result = load_and_check(&run, options->mode != MODE_LOGIN);
	result = options->mode == MODE_CHECK ? run_check(&run, result)
	       : options->mode == MODE_AUTHORIZE_URL ? run_authorize_url(&run, result)
	       : run_login(&run, result);
	login_outcome_clear(&run.outcome);
	account_set_free(&run.allowlist.accounts);
	settings_free(&run.settings);
	return result == PH_OK ? EXIT_GOOD : EXIT_BAD;
}

/* ----------------------------------------------------------------------- */

/* A credential, a secret and tokens pass through this process: no core file. */
static void no_core_dumps(void)
{
	struct rlimit none = { 0, 0 };

	setrlimit(RLIMIT_CORE, &none);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int main(int argc, char **argv)
{
	struct options options;
	int status;

	no_core_dumps();
	/* Reports on stdout and problems on stderr stay in order when both go to one file. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	status = parse_options(argc, argv, &options);
	if (status != 0) {
		options_free(&options);
		return status < 0 ? EXIT_GOOD : status;
	}
	status = run_mode(&options);
	options_free(&options);
	if (fflush(stdout) != 0 || ferror(stdout))
		return EXIT_BAD;
	return status;
}
