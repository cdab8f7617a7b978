/*
 * exchange_child.h - the module's side of the exchange: start
 * pam_heroku_exchange, hand it one request, read back one verdict.
 *
 * The helper's path is fixed at build time (exchange_helper_path) and is
 * checked like every file the module trusts before it is run (safe_file.h:
 * the program and every directory up to / owned by root or the effective
 * uid, writable by nobody else), and must be executable.  The helper runs with an empty
 * environment, a fixed argv and only its two pipe ends; it is killed when
 * the exchange's timeout plus EXCHANGE_CHILD_MARGIN has passed.
 *
 *   helper missing or untrusted                 -> PH_MISCONFIGURED
 *   helper crashed, killed, timed out, or its
 *   reply incomplete or malformed               -> PH_UNAVAILABLE
 *   otherwise                                   -> the reply's verdict
 */
#ifndef PAM_HEROKU_EXCHANGE_CHILD_H
#define PAM_HEROKU_EXCHANGE_CHILD_H

#include <stdbool.h>

#include "credential.h"
#include "exchange_wire.h"
#include "result.h"
#include "settings.h"

/* Seconds past the exchange's timeout the helper gets to start and answer. */
#define EXCHANGE_CHILD_MARGIN 3

/* The helper program (exchange_path.c: fixed at build time). */
const char *exchange_helper_path(void);

/* Whether the helper passes the checks made before each run; why not in reason. */
bool exchange_child_helper_ok(char reason[PH_REASON_MAX]);

/*
 * One exchange of credential.  The reply (reason included) is filled on
 * every path; wire_reply_clear() must be called either way.
 */
enum ph_result exchange_child_run(const struct settings *settings,
				  const struct credential *credential,
				  struct wire_reply *reply);

#endif
