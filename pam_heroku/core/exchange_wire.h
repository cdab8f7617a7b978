/*
 * exchange_wire.h - the one request and the one reply between the module and
 * pam_heroku_exchange, the helper that does the exchange in its own process.
 *
 * Each is one message: "PHX1" (request) or "PHR1" (reply), a 4-byte
 * big-endian payload length, then fields, each a 1-byte tag, a 4-byte
 * big-endian length and that many bytes.  A decoder takes exactly one
 * message of at most its cap, refuses an unknown tag, a repeated tag, a
 * string holding a NUL byte, a field over its own cap and anything after the
 * message: whatever is not exactly a well-formed message is no message.
 */
#ifndef PAM_HEROKU_EXCHANGE_WIRE_H
#define PAM_HEROKU_EXCHANGE_WIRE_H

#include <stdbool.h>
#include <stddef.h>

#include "result.h"
#include "settings.h"
#include "token_response.h"

#define WIRE_HEADER_LEN 8
#define WIRE_CA_MAX (1024 * 1024)                    /* the CA bytes handed over */
#define WIRE_REQUEST_MAX (WIRE_CA_MAX + 64 * 1024)   /* everything else is small */
#define WIRE_REPLY_MAX (16 * 1024)
#define WIRE_REQUEST_ID_MAX 128

/* What the module hands the helper.  Strings are NUL-terminated; NULL when absent. */
struct wire_request {
	enum ph_grant grant;
	char *credential;           /* secret: the value without its code:/refresh: prefix */
	char *client_secret;        /* secret */
	char *api_url;
	char *proxy;                /* NULL: no proxy */
	long timeout;               /* seconds */
	char *pinned_pubkey;
	char *ca_file;              /* the name, for messages only; NULL: the system store */
	char *ca_pem;               /* ca_file's bytes as the module read them; NULL: system store */
	size_t ca_pem_len;
	bool export_access_token;
};

/* What the helper answers: one verdict and what the module shows and exports. */
struct wire_reply {
	enum ph_result result;
	long status;                                /* HTTP status, 0 when none */
	size_t body_len;                            /* bytes of the API's answer, for debug */
	char reason[PH_REASON_MAX];
	char request_id[WIRE_REQUEST_ID_MAX + 1];
	char ratelimit_remaining[32];
	struct token_response response;             /* user id, session id, token, API message */
};

/*
 * Encode into a fresh buffer the caller releases with secret_free_len(*out,
 * *out_len).  False when out of memory or a field is over its cap.
 */
bool wire_request_encode(const struct wire_request *request, char **out, size_t *out_len);
bool wire_reply_encode(const struct wire_reply *reply, char **out, size_t *out_len);

/*
 * Decode exactly one message of len bytes.  False with reason when it is not
 * a well-formed message; the struct is then cleared.  Release with
 * wire_request_clear / wire_reply_clear either way.
 */
bool wire_request_decode(const char *data, size_t len, struct wire_request *request,
			 char reason[PH_REASON_MAX]);
bool wire_reply_decode(const char *data, size_t len, struct wire_reply *reply,
		       char reason[PH_REASON_MAX]);

/* Wipe and free every field; the struct may be reused. */
void wire_request_clear(struct wire_request *request);
void wire_reply_clear(struct wire_reply *reply);

/* The payload length a header announces, or (size_t)-1 when it is not magic's. */
size_t wire_announced_len(const char *header, const char magic[4]);

/*
 * After the request the module writes this one byte once the allowlist could
 * grant the account, then closes: the helper may connect and shake hands
 * before it, but sends not one byte of the POST without it (EOF: never send).
 */
#define WIRE_GO 'G'

/*
 * Read from fd exactly one request message (header, then the payload it
 * announces, at most WIRE_REQUEST_MAX bytes in all), not to EOF: the go byte
 * follows it.  False with reason when it is cut short, not a request header
 * or too long.  Release *data with secret_free_len(*data, *len).
 */
bool wire_request_read(int fd, char **data, size_t *len, char reason[PH_REASON_MAX]);

#define WIRE_REQUEST_MAGIC "PHX1"
#define WIRE_REPLY_MAGIC "PHR1"

#endif
