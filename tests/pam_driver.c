/*
 * pam_driver.c - a small PAM application for the integration tests.
 *
 *   pam_driver --confdir DIR --service NAME --user USER
 *              [--answer TEXT]... [--answers-fd N] [--authtok TEXT]
 *              [--phase auth|account|setcred|env|maps]... [--repeat N]
 *
 * It runs pam_start_confdir() (so only the private service directory is
 * read), the phases asked for (default: auth, account, env) and pam_end(),
 * printing one line per event on stdout:
 *
 *   conv: echo_off|echo_on|error|info <text>   each conversation message
 *   authtok: <how it was stored>                with --authtok
 *   <phase>: PAM_SUCCESS (0)                    each phase's result
 *   env: NAME=VALUE                             each pam_getenvlist() entry
 *   map: PATH                                   each file mapped (phase maps)
 *   prompts: N                                  prompts answered or refused
 *
 * Text is printed with control characters and '\' escaped as in C
 * (\n, \r, \t, \\, \xHH), so a test sees whether an escape leaked through.
 *
 * Answers to ECHO_OFF / ECHO_ON prompts come from the --answer options in
 * order, then from the lines read from --answers-fd (which keeps credentials
 * off the command line); when none is left the conversation fails with
 * PAM_CONV_ERR.  With --repeat N the whole pam_start..pam_end cycle runs N
 * times, each cycle starting again at the first answer.
 *
 * --authtok TEXT stores TEXT as PAM_AUTHTOK.  Linux-PAM lets only modules set
 * that item (pam_set_item answers PAM_BAD_ITEM to an application), so when
 * the direct call is refused the driver stores it from inside the first
 * conversation call of the cycle, which runs in a module's context: put e.g.
 * "auth optional pam_echo.so ..." before the module under test.
 *
 * PAM_DRIVER_PROMPT_HOOK, when set, is a shell command run (system(3)) just
 * before each prompt is answered: a test changes the world while the module
 * waits for the user (e.g. swaps a file it has already checked).
 *
 * Syslog capture: the driver defines syslog, vsyslog, __syslog_chk and
 * __vsyslog_chk; linked with -rdynamic, these are what libpam's pam_syslog
 * (and any module) calls.  When PAM_DRIVER_SYSLOG names a file, each message
 * is appended to it as one line "<priority> <escaped text>" with a single
 * write(2) on an O_APPEND descriptor (so several drivers may share the file);
 * otherwise the message goes to the C library's own vsyslog.
 *
 * Exit status: 0 whatever PAM answered (the caller reads the output),
 * 2 on a usage error, 1 when the driver itself fails (out of memory, I/O).
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
/* glibc's fortified syslog.h defines syslog() inline; we define it ourselves. */
#undef _FORTIFY_SOURCE

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/wait.h>
#include <unistd.h>

#include <security/pam_appl.h>

#define ANSWERS_FD_MAX (1024 * 1024)
#define PHASES_MAX 32

/* ---------------------------------------------------------------- syslog */

void __syslog_chk(int priority, int flag, const char *format, ...)
	__attribute__((format(printf, 3, 4)));
void __vsyslog_chk(int priority, int flag, const char *format, va_list args)
	__attribute__((format(printf, 3, 0)));

typedef void (*vsyslog_fn)(int, const char *, va_list);

/* Append text to out (size out_size) with C escapes; returns the new length. */
static size_t escape_into(char *out, size_t out_size, size_t len, const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
		char piece[8];
		size_t n;

		switch (*p) {
		case '\\': n = (size_t)snprintf(piece, sizeof piece, "\\\\"); break;
		case '\n': n = (size_t)snprintf(piece, sizeof piece, "\\n"); break;
		case '\r': n = (size_t)snprintf(piece, sizeof piece, "\\r"); break;
		case '\t': n = (size_t)snprintf(piece, sizeof piece, "\\t"); break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				n = (size_t)snprintf(piece, sizeof piece, "\\x%02x", *p);
			} else {
				piece[0] = (char)*p;
				piece[1] = '\0';
				n = 1;
			}
		}
		if (len + n + 1 > out_size)
			break;
		memcpy(out + len, piece, n);
		len += n;
	}
	out[len] = '\0';
	return len;
}

/* The escaped length of text (without the NUL). */
static size_t escaped_size(const char *text)
{
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++) {
		if (*p == '\\' || *p == '\n' || *p == '\r' || *p == '\t')
			n += 2;
		else if (*p < 0x20 || *p == 0x7f)
			n += 4;
		else
			n += 1;
	}
	return n;
}

static void capture_write(const char *path, int priority, const char *text)
{
	size_t size = escaped_size(text) + 32;
	char *line = malloc(size);
	int fd;
	size_t len;

	if (line == NULL)
		return;
	len = (size_t)snprintf(line, size, "%d ", priority);
	len = escape_into(line, size, len, text);
	line[len++] = '\n';
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0) {
		ssize_t written = write(fd, line, len);

		(void)written;
		close(fd);
	}
	free(line);
}

static void driver_vsyslog(int priority, const char *format, va_list args)
	__attribute__((format(printf, 2, 0)));

static void driver_vsyslog(int priority, const char *format, va_list args)
{
	const char *path = getenv("PAM_DRIVER_SYSLOG");
	int saved_errno = errno;

	if (path != NULL && *path != '\0') {
		char *text = NULL;

		errno = saved_errno;   /* for %m */
		if (vasprintf(&text, format, args) >= 0) {
			capture_write(path, priority, text);
			free(text);
		}
	} else {
		vsyslog_fn real;

		*(void **)(&real) = dlsym(RTLD_NEXT, "vsyslog");
		if (real != NULL) {
			errno = saved_errno;
			real(priority, format, args);
		}
	}
	errno = saved_errno;
}

void vsyslog(int priority, const char *format, va_list args)
{
	driver_vsyslog(priority, format, args);
}

void syslog(int priority, const char *format, ...)
{
	va_list args;

	va_start(args, format);
	driver_vsyslog(priority, format, args);
	va_end(args);
}

void __vsyslog_chk(int priority, int flag, const char *format, va_list args)
{
	(void)flag;
	driver_vsyslog(priority, format, args);
}

void __syslog_chk(int priority, int flag, const char *format, ...)
{
	va_list args;

	(void)flag;
	va_start(args, format);
	driver_vsyslog(priority, format, args);
	va_end(args);
}

/* ---------------------------------------------------------------- output */

static void print_escaped(const char *label, const char *text)
{
	size_t size = escaped_size(text) + 1;
	char *out = malloc(size);

	if (out == NULL) {
		fprintf(stderr, "pam_driver: out of memory\n");
		exit(1);
	}
	escape_into(out, size, 0, text);
	printf("%s%s\n", label, out);
	explicit_bzero(out, size);
	free(out);
}

static const char *pam_code_name(int code)
{
	static const char *const names[] = {
		[PAM_SUCCESS] = "PAM_SUCCESS",
		[PAM_OPEN_ERR] = "PAM_OPEN_ERR",
		[PAM_SYMBOL_ERR] = "PAM_SYMBOL_ERR",
		[PAM_SERVICE_ERR] = "PAM_SERVICE_ERR",
		[PAM_SYSTEM_ERR] = "PAM_SYSTEM_ERR",
		[PAM_BUF_ERR] = "PAM_BUF_ERR",
		[PAM_PERM_DENIED] = "PAM_PERM_DENIED",
		[PAM_AUTH_ERR] = "PAM_AUTH_ERR",
		[PAM_CRED_INSUFFICIENT] = "PAM_CRED_INSUFFICIENT",
		[PAM_AUTHINFO_UNAVAIL] = "PAM_AUTHINFO_UNAVAIL",
		[PAM_USER_UNKNOWN] = "PAM_USER_UNKNOWN",
		[PAM_MAXTRIES] = "PAM_MAXTRIES",
		[PAM_NEW_AUTHTOK_REQD] = "PAM_NEW_AUTHTOK_REQD",
		[PAM_ACCT_EXPIRED] = "PAM_ACCT_EXPIRED",
		[PAM_SESSION_ERR] = "PAM_SESSION_ERR",
		[PAM_CRED_UNAVAIL] = "PAM_CRED_UNAVAIL",
		[PAM_CRED_EXPIRED] = "PAM_CRED_EXPIRED",
		[PAM_CRED_ERR] = "PAM_CRED_ERR",
		[PAM_NO_MODULE_DATA] = "PAM_NO_MODULE_DATA",
		[PAM_CONV_ERR] = "PAM_CONV_ERR",
		[PAM_AUTHTOK_ERR] = "PAM_AUTHTOK_ERR",
		[PAM_AUTHTOK_RECOVERY_ERR] = "PAM_AUTHTOK_RECOVERY_ERR",
		[PAM_AUTHTOK_LOCK_BUSY] = "PAM_AUTHTOK_LOCK_BUSY",
		[PAM_AUTHTOK_DISABLE_AGING] = "PAM_AUTHTOK_DISABLE_AGING",
		[PAM_TRY_AGAIN] = "PAM_TRY_AGAIN",
		[PAM_IGNORE] = "PAM_IGNORE",
		[PAM_ABORT] = "PAM_ABORT",
		[PAM_AUTHTOK_EXPIRED] = "PAM_AUTHTOK_EXPIRED",
		[PAM_MODULE_UNKNOWN] = "PAM_MODULE_UNKNOWN",
		[PAM_BAD_ITEM] = "PAM_BAD_ITEM",
		[PAM_CONV_AGAIN] = "PAM_CONV_AGAIN",
		[PAM_INCOMPLETE] = "PAM_INCOMPLETE",
	};

	if (code >= 0 && (size_t)code < sizeof names / sizeof names[0] && names[code] != NULL)
		return names[code];
	return "PAM_UNKNOWN_CODE";
}

static void print_result(const char *phase, int code)
{
	printf("%s: %s (%d)\n", phase, pam_code_name(code), code);
}

/* ---------------------------------------------------------- conversation */

struct driver {
	char **answers;          /* --answer values, then --answers-fd lines */
	size_t answers_count;
	size_t next_answer;      /* reset each cycle */
	unsigned prompts;        /* reset each cycle */
	const char *authtok;     /* --authtok, or NULL */
	bool authtok_pending;    /* still to be stored this cycle */
	pam_handle_t *pamh;
};

static void store_authtok_from_conv(struct driver *driver)
{
	int rc;

	if (!driver->authtok_pending || driver->pamh == NULL)
		return;
	driver->authtok_pending = false;
	rc = pam_set_item(driver->pamh, PAM_AUTHTOK, driver->authtok);
	printf("authtok: set in conversation %s (%d)\n", pam_code_name(rc), rc);
}

static void free_responses(struct pam_response *responses, int count)
{
	for (int i = 0; i < count; i++) {
		if (responses[i].resp != NULL) {
			explicit_bzero(responses[i].resp, strlen(responses[i].resp));
			free(responses[i].resp);
		}
	}
	free(responses);
}

/* PAM_DRIVER_PROMPT_HOOK: the test's command, while the user "types". */
static void run_prompt_hook(void)
{
	const char *hook = getenv("PAM_DRIVER_PROMPT_HOOK");

	pid_t pid;
	int status = 0;

	if (hook == NULL || hook[0] == '\0')
		return;
	/* The hook is the test's own shell command; /bin/sh runs it as given. */
	pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", hook, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		fprintf(stderr, "pam_driver: PAM_DRIVER_PROMPT_HOOK failed\n");
}

static int driver_conv(int num_msg, const struct pam_message **msg,
		       struct pam_response **resp, void *appdata)
{
	struct driver *driver = appdata;
	struct pam_response *responses;

	*resp = NULL;
	store_authtok_from_conv(driver);
	if (num_msg <= 0 || num_msg > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	responses = calloc((size_t)num_msg, sizeof *responses);
	if (responses == NULL)
		return PAM_BUF_ERR;

	for (int i = 0; i < num_msg; i++) {
		const struct pam_message *m = msg[i];
		const char *text = m->msg != NULL ? m->msg : "";

		switch (m->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
		case PAM_PROMPT_ECHO_ON:
			print_escaped(m->msg_style == PAM_PROMPT_ECHO_OFF ?
				      "conv: echo_off " : "conv: echo_on ", text);
			driver->prompts++;
			run_prompt_hook();
			if (driver->next_answer >= driver->answers_count) {
				printf("conv: no answer left\n");
				free_responses(responses, num_msg);
				return PAM_CONV_ERR;
			}
			responses[i].resp = strdup(driver->answers[driver->next_answer++]);
			if (responses[i].resp == NULL) {
				free_responses(responses, num_msg);
				return PAM_BUF_ERR;
			}
			break;
		case PAM_ERROR_MSG:
			print_escaped("conv: error ", text);
			break;
		case PAM_TEXT_INFO:
			print_escaped("conv: info ", text);
			break;
		default:
			printf("conv: style_%d (refused)\n", m->msg_style);
			free_responses(responses, num_msg);
			return PAM_CONV_ERR;
		}
	}
	*resp = responses;
	return PAM_SUCCESS;
}

/* ---------------------------------------------------------------- phases */

enum phase { PHASE_AUTH, PHASE_ACCOUNT, PHASE_SETCRED, PHASE_ENV, PHASE_MAPS };

static int parse_phase(const char *name, enum phase *phase)
{
	if (strcmp(name, "auth") == 0)
		*phase = PHASE_AUTH;
	else if (strcmp(name, "account") == 0)
		*phase = PHASE_ACCOUNT;
	else if (strcmp(name, "setcred") == 0)
		*phase = PHASE_SETCRED;
	else if (strcmp(name, "env") == 0)
		*phase = PHASE_ENV;
	else if (strcmp(name, "maps") == 0)
		*phase = PHASE_MAPS;
	else
		return -1;
	return 0;
}

/* "map: PATH" for each file mapped into this process now (the handle still
 * open, the module still loaded): what a login brought into the application. */
static void print_maps(void)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	char line[4096], last[4096] = "";

	if (maps == NULL) {
		printf("map: (cannot read /proc/self/maps)\n");
		return;
	}
	while (fgets(line, sizeof line, maps) != NULL) {
		char *path = strchr(line, '/');

		if (path == NULL)
			continue;
		path[strcspn(path, "\n")] = '\0';
		if (strcmp(path, last) != 0)
			printf("map: %s\n", path);
		snprintf(last, sizeof last, "%s", path);
	}
	fclose(maps);
}

static void print_env(pam_handle_t *pamh)
{
	char **list = pam_getenvlist(pamh);

	if (list == NULL) {
		printf("env: (pam_getenvlist failed)\n");
		return;
	}
	for (size_t i = 0; list[i] != NULL; i++) {
		print_escaped("env: ", list[i]);
		explicit_bzero(list[i], strlen(list[i]));
		free(list[i]);
	}
	free(list);
}

struct options {
	const char *confdir;
	const char *service;
	const char *user;
	enum phase phases[PHASES_MAX];
	size_t phases_count;
	unsigned long repeat;
};

static void run_cycle(const struct options *options, struct driver *driver)
{
	struct pam_conv conv = { driver_conv, driver };
	pam_handle_t *pamh = NULL;
	int rc, last = PAM_SUCCESS;

	driver->next_answer = 0;
	driver->prompts = 0;
	driver->pamh = NULL;
	driver->authtok_pending = false;

	rc = pam_start_confdir(options->service, options->user, &conv,
			       options->confdir, &pamh);
	if (rc != PAM_SUCCESS) {
		print_result("start", rc);
		printf("prompts: 0\n");
		return;
	}
	driver->pamh = pamh;

	if (driver->authtok != NULL) {
		rc = pam_set_item(pamh, PAM_AUTHTOK, driver->authtok);
		if (rc == PAM_SUCCESS) {
			printf("authtok: set by the application\n");
		} else if (rc == PAM_BAD_ITEM) {
			driver->authtok_pending = true;
			printf("authtok: deferred to the first conversation\n");
		} else {
			printf("authtok: %s (%d)\n", pam_code_name(rc), rc);
		}
	}

	for (size_t i = 0; i < options->phases_count; i++) {
		switch (options->phases[i]) {
		case PHASE_AUTH:
			last = pam_authenticate(pamh, 0);
			print_result("auth", last);
			break;
		case PHASE_ACCOUNT:
			last = pam_acct_mgmt(pamh, 0);
			print_result("account", last);
			break;
		case PHASE_SETCRED:
			last = pam_setcred(pamh, PAM_ESTABLISH_CRED);
			print_result("setcred", last);
			break;
		case PHASE_ENV:
			print_env(pamh);
			break;
		case PHASE_MAPS:
			print_maps();
			break;
		}
	}
	printf("prompts: %u\n", driver->prompts);
	rc = pam_end(pamh, last);
	driver->pamh = NULL;
	if (rc != PAM_SUCCESS)
		print_result("end", rc);
}

/* ----------------------------------------------------------------- input */

static bool add_answer(struct driver *driver, const char *text, size_t len)
{
	char **grown = realloc(driver->answers, (driver->answers_count + 1) * sizeof *grown);
	char *copy;

	if (grown == NULL)
		return false;
	driver->answers = grown;
	copy = malloc(len + 1);
	if (copy == NULL)
		return false;
	memcpy(copy, text, len);
	copy[len] = '\0';
	driver->answers[driver->answers_count++] = copy;
	return true;
}

/* Read every line of fd as one answer each (a last line needs no newline). */
static bool read_answers_fd(struct driver *driver, int fd)
{
	size_t size = 4096, len = 0;
	char *buffer = malloc(size);
	bool ok = true;

	if (buffer == NULL)
		return false;
	for (;;) {
		ssize_t n;

		if (len == size) {
			char *grown;

			if (size >= ANSWERS_FD_MAX) {
				fprintf(stderr, "pam_driver: --answers-fd: more than %d bytes\n",
					ANSWERS_FD_MAX);
				ok = false;
				break;
			}
			grown = malloc(size * 2);
			if (grown == NULL) {
				ok = false;
				break;
			}
			memcpy(grown, buffer, len);
			explicit_bzero(buffer, size);
			free(buffer);
			buffer = grown;
			size *= 2;
		}
		n = read(fd, buffer + len, size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "pam_driver: --answers-fd: %s\n", strerror(errno));
			ok = false;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	for (size_t start = 0; ok && start < len;) {
		const char *nl = memchr(buffer + start, '\n', len - start);
		size_t end = nl != NULL ? (size_t)(nl - buffer) : len;

		if (memchr(buffer + start, '\0', end - start) != NULL) {
			fprintf(stderr, "pam_driver: --answers-fd: NUL byte in an answer\n");
			ok = false;
			break;
		}
		if (!add_answer(driver, buffer + start, end - start))
			ok = false;
		start = end + 1;
	}
	explicit_bzero(buffer, size);
	free(buffer);
	return ok;
}

static void wipe_answers(struct driver *driver)
{
	for (size_t i = 0; i < driver->answers_count; i++) {
		explicit_bzero(driver->answers[i], strlen(driver->answers[i]));
		free(driver->answers[i]);
	}
	free(driver->answers);
	driver->answers = NULL;
	driver->answers_count = 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: pam_driver --confdir DIR --service NAME --user USER\n"
		"                  [--answer TEXT]... [--answers-fd N] [--authtok TEXT]\n"
		"                  [--phase auth|account|setcred|env|maps]... [--repeat N]\n");
}

static bool parse_number(const char *text, unsigned long min, unsigned long max,
			 unsigned long *value)
{
	char *end;

	errno = 0;
	*value = strtoul(text, &end, 10);
	return errno == 0 && end != text && *end == '\0' && text[0] != '-' &&
	       *value >= min && *value <= max;
}

int main(int argc, char **argv)
{
	struct options options = { .repeat = 1 };
	struct driver driver = { 0 };
	char *authtok = NULL;
	long answers_fd = -1;
	int status = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);

	/* --answer values are taken first, in order, then the --answers-fd lines. */
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i];
		const char *value = i + 1 < argc ? argv[i + 1] : NULL;

		if (value == NULL) {
			fprintf(stderr, "pam_driver: %s: missing value\n", opt);
			usage();
			status = 2;
			goto out;
		}
		i++;
		if (strcmp(opt, "--confdir") == 0) {
			options.confdir = value;
		} else if (strcmp(opt, "--service") == 0) {
			options.service = value;
		} else if (strcmp(opt, "--user") == 0) {
			options.user = value;
		} else if (strcmp(opt, "--answer") == 0) {
			if (!add_answer(&driver, value, strlen(value))) {
				status = 1;
				goto out;
			}
		} else if (strcmp(opt, "--answers-fd") == 0) {
			unsigned long fd;

			if (!parse_number(value, 0, INT_MAX, &fd)) {
				fprintf(stderr, "pam_driver: --answers-fd: not a descriptor\n");
				status = 2;
				goto out;
			}
			answers_fd = (long)fd;
		} else if (strcmp(opt, "--authtok") == 0) {
			free(authtok);
			authtok = strdup(value);
			if (authtok == NULL) {
				status = 1;
				goto out;
			}
		} else if (strcmp(opt, "--phase") == 0) {
			if (options.phases_count == PHASES_MAX ||
			    parse_phase(value, &options.phases[options.phases_count]) != 0) {
				fprintf(stderr, "pam_driver: --phase: bad or too many phases\n");
				usage();
				status = 2;
				goto out;
			}
			options.phases_count++;
		} else if (strcmp(opt, "--repeat") == 0) {
			if (!parse_number(value, 1, 1000000, &options.repeat)) {
				fprintf(stderr, "pam_driver: --repeat: not a number from 1\n");
				status = 2;
				goto out;
			}
		} else {
			fprintf(stderr, "pam_driver: unknown option %s\n", opt);
			usage();
			status = 2;
			goto out;
		}
	}
	if (options.confdir == NULL || options.service == NULL || options.user == NULL) {
		usage();
		status = 2;
		goto out;
	}
	if (options.phases_count == 0) {
		options.phases[0] = PHASE_AUTH;
		options.phases[1] = PHASE_ACCOUNT;
		options.phases[2] = PHASE_ENV;
		options.phases_count = 3;
	}
	if (answers_fd >= 0) {
		if (!read_answers_fd(&driver, (int)answers_fd)) {
			status = 1;
			goto out;
		}
		close((int)answers_fd);
	}
	driver.authtok = authtok;

	for (unsigned long cycle = 1; cycle <= options.repeat; cycle++) {
		if (options.repeat > 1)
			printf("cycle: %lu\n", cycle);
		run_cycle(&options, &driver);
	}

out:
	wipe_answers(&driver);
	if (authtok != NULL) {
		explicit_bzero(authtok, strlen(authtok));
		free(authtok);
	}
	if (fflush(stdout) != 0 && status == 0)
		status = 1;
	return status;
}
