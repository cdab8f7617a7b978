/*
 * result.h - the one small verdict every step of a login returns.
 *
 * Each step (settings, credential, exchange, token response, allowlist) says
 * what it found with one of these values; one table (result_pam.c) turns a
 * verdict into a PAM return code, for the module and pam_heroku_check alike.
 */
#ifndef PAM_HEROKU_RESULT_H
#define PAM_HEROKU_RESULT_H

#include <stdbool.h>

enum ph_result {
	PH_OK = 0,          /* the step succeeded / the identity is allowed */
	PH_REFUSED,         /* a definite no: bad credential, API said no, not allowed */
	PH_UNAVAILABLE,     /* no usable answer: network, TLS, timeout, 3xx/429/5xx, malformed */
	PH_MISCONFIGURED,   /* configuration invalid or unsafe */
};

/* A short word for logs: "ok", "refused", "unavailable", "misconfigured". */
const char *ph_result_name(enum ph_result result);

/* The outcome word of a login's log line: "granted", "refused", "unavailable",
 * "misconfigured" (the module and pam_heroku_check say the same). */
const char *ph_result_outcome(enum ph_result result);

/*
 * Where a step explains itself.  Steps are plain C without PAM, so they report
 * through this callback: the module sends it to pam_syslog, the tests and
 * pam_heroku_check collect it.  priority is a syslog priority (LOG_ERR, ...).
 * A NULL sink discards the message.
 */
struct ph_log {
	void (*emit)(void *ctx, int priority, const char *message);
	void *ctx;
};

/* text, or "-" when it is empty: how log and report lines show "unknown". */
const char *ph_or_dash(const char *text);

void ph_logf(const struct ph_log *log, int priority, const char *format, ...)
	__attribute__((format(printf, 3, 4)));

/* Room for an explanation a step hands back to its caller. */
#define PH_REASON_MAX 512

/* Write why into reason and hand result back: return ph_reason(reason, PH_REFUSED, "..."). */
enum ph_result ph_reason(char reason[PH_REASON_MAX], enum ph_result result,
			 const char *format, ...) __attribute__((format(printf, 3, 4)));
/* The same for a check that says no: return ph_why_not(reason, "...") is false. */
#define ph_why_not(reason, ...) ((void)ph_reason((reason), PH_REFUSED, __VA_ARGS__), false)

#endif
