/*
 * exchange.h - one bounded HTTPS POST to {api_url}/oauth/tokens with libcurl.
 *
 * https only, peer and host verification always on, no redirects followed,
 * the proxy only from settings (the environment never steers it), the whole
 * exchange bounded by settings->timeout, the body capped at 64 KiB.
 */
#ifndef PAM_HEROKU_EXCHANGE_H
#define PAM_HEROKU_EXCHANGE_H

#include <stddef.h>

#include "result.h"
#include "settings.h"

#define EXCHANGE_BODY_MAX (64 * 1024)
#define EXCHANGE_REQUEST_ID_MAX 128

struct exchange_reply {
	long status;                                /* HTTP status, 0 when none */
	char *body;                                 /* secret: NUL-terminated, freed by exchange_reply_clear */
	size_t body_len;
	char request_id[EXCHANGE_REQUEST_ID_MAX + 1];   /* sanitised; "" when absent */
	char ratelimit_remaining[32];               /* sanitised; "" when absent */
};

/* The User-Agent sent: "pam_heroku/<version>". */
const char *exchange_user_agent(void);

/*
 * POST body, once go_fd has given the go byte (WIRE_GO, exchange_wire.h):
 * libcurl connects and shakes hands first, then waits for it, at most
 * settings->timeout; EOF, another byte or the timeout abort the exchange
 * with nothing of the request sent (PH_UNAVAILABLE).  PH_OK when an HTTP answer arrived in full (any status: the
 * token response step judges it); PH_UNAVAILABLE with reason on connect,
 * DNS, TLS, timeout, oversized body or any other transport failure;
 * PH_MISCONFIGURED when libcurl refuses the settings (e.g. a bad CA file).
 * exchange_reply_clear() must be called either way.
 */
enum ph_result exchange_post(const struct settings *settings, const char *body, int go_fd,
			     struct exchange_reply *reply, char reason[PH_REASON_MAX]);

/* Wipe and free the reply's body. */
void exchange_reply_clear(struct exchange_reply *reply);

#endif
