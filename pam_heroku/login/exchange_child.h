/*
 * exchange_child.h - the module's side of the exchange: start
 * pam_heroku_exchange (its path fixed at build time, checked as every trusted
 * file, run with none of the host's environment and its two pipe ends), hand
 * it one request, read back one verdict, kill it at the timeout plus the margin.
 *
 *   helper missing, untrusted or not runnable   -> PH_MISCONFIGURED
 *   helper crashed, killed, timed out, or its
 *   reply incomplete or malformed               -> PH_UNAVAILABLE
 *   otherwise                                   -> the reply's verdict
 */
#ifndef PAM_HEROKU_EXCHANGE_CHILD_H
#define PAM_HEROKU_EXCHANGE_CHILD_H

#include <stdbool.h>
#include <sys/types.h>

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
 * One exchange in two steps, so that the helper starts up, connects and
 * shakes hands with the API while the caller works on: exchange_child_start
 * checks and starts it and hands it the request, as much as the pipe takes
 * without waiting; exchange_child_finish sends the rest and the go byte
 * (exchange_wire.h), which releases the POST, and judges the reply, filled on
 * every path (wire_reply_clear() either way).  exchange_child_abandon closes
 * without the go byte (the helper sends nothing) and kills and reaps it.
 * Every started child must be finished or abandoned; both wipe the request.
 */
struct exchange_child {
	pid_t pid;                      /* -1 when it could not be started */
	int to_child, from_child;
	char *request;                  /* secret: the encoded request, until sent */
	size_t request_len, request_sent;
	enum ph_result failure;         /* why not, when it could not */
	char reason[PH_REASON_MAX];
};

void exchange_child_start(struct exchange_child *child, const struct settings *settings,
			  const struct credential *credential);
enum ph_result exchange_child_finish(struct exchange_child *child,
				     const struct settings *settings,
				     struct wire_reply *reply);
void exchange_child_abandon(struct exchange_child *child);

#endif
