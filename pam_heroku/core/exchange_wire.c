/*
 * exchange_wire.c - encode and decode the helper's one request and one reply.
 * One field table per message, so encoder and strict decoder cannot disagree;
 * every buffer that held a message (credential, secret, token) is wiped.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exchange_wire.h"
#include "sanitize.h"
#include "secret.h"

/* Numbers travel as 4 bytes, big-endian, whatever their C type. */
enum field_kind {
	FIELD_INT,      /* an int or an enum */
	FIELD_LONG,
	FIELD_SIZE,     /* a size_t */
	FIELD_FLAG,     /* a bool: 0 or 1 */
	FIELD_STRING,   /* char * on the heap, no NUL inside; NULL when absent */
	FIELD_BYTES,    /* char * on the heap plus a size_t length (next to it) */
	FIELD_ARRAY,    /* char[max + 1] inside the struct, sanitised text */
};

struct field {
	size_t max;             /* bytes; for a number its largest value */
	size_t offset;          /* of the member in the struct */
	size_t len_offset;      /* FIELD_BYTES: of its size_t length */
	enum field_kind kind;
	unsigned char tag;
	bool required;
};

#define FIELD(tag_, kind_, max_, offset_, len_offset_, required_) \
	{ .tag = (tag_), .kind = (kind_), .max = (max_), .offset = (offset_), \
	  .len_offset = (len_offset_), .required = (required_) }
#define REQ(member) offsetof(struct wire_request, member)
#define REP(member) offsetof(struct wire_reply, member)
#define ARRAY(tag, member) \
	FIELD(tag, FIELD_ARRAY, sizeof ((struct wire_reply *)0)->member - 1, REP(member), 0, false)

static const struct field request_fields[] = {
	FIELD(1, FIELD_INT, PH_GRANT_REFRESH_TOKEN, REQ(grant), 0, true),
	FIELD(2, FIELD_STRING, 8192, REQ(credential), 0, true),
	FIELD(3, FIELD_STRING, 8192, REQ(client_secret), 0, false),
	FIELD(4, FIELD_STRING, 4096, REQ(api_url), 0, true),
	FIELD(5, FIELD_STRING, 4096, REQ(proxy), 0, false),
	FIELD(6, FIELD_LONG, SETTINGS_TIMEOUT_MAX, REQ(timeout), 0, true),
	FIELD(7, FIELD_STRING, 4096, REQ(pinned_pubkey), 0, false),
	FIELD(8, FIELD_STRING, 4096, REQ(ca_file), 0, false),
	FIELD(9, FIELD_BYTES, WIRE_CA_MAX, REQ(ca_pem), REQ(ca_pem_len), false),
	FIELD(10, FIELD_FLAG, 1, REQ(export_access_token), 0, true),
};

static const struct field reply_fields[] = {
	FIELD(1, FIELD_INT, PH_MISCONFIGURED, REP(result), 0, true),
	FIELD(2, FIELD_LONG, 999, REP(status), 0, true),
	FIELD(3, FIELD_SIZE, 64 * 1024, REP(body_len), 0, true),
	ARRAY(4, reason),
	ARRAY(5, request_id),
	ARRAY(6, ratelimit_remaining),
	ARRAY(7, response.user_id),
	ARRAY(8, response.session_id),
	FIELD(9, FIELD_STRING, 1024, REP(response.access_token), 0, false),
	ARRAY(10, response.error_id),
	ARRAY(11, response.message),
};

#define COUNT(table) (sizeof (table) / sizeof (table)[0])

/* ----------------------------------------------------------------------- */
/* Numbers on the wire.                                                     */

static void put_u32(unsigned char *p, uint32_t value)
{
	p[0] = (unsigned char)(value >> 24);
	p[1] = (unsigned char)(value >> 16);
	p[2] = (unsigned char)(value >> 8);
	p[3] = (unsigned char)value;
}

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static bool is_number(const struct field *f)
{
	return f->kind <= FIELD_FLAG;
}

/* A number member, read as its C type. */
static uint32_t number_of(const struct field *f, const char *base)
{
	const char *member = base + f->offset;

	switch (f->kind) {
	case FIELD_INT: return (uint32_t)*(const int *)member;
	case FIELD_LONG: return (uint32_t)*(const long *)member;
	case FIELD_SIZE: return (uint32_t)*(const size_t *)member;
	case FIELD_FLAG: return *(const bool *)member;
	default: return 0;
	}
}

static void set_number(const struct field *f, char *base, uint32_t value)
{
	char *member = base + f->offset;

	switch (f->kind) {
	case FIELD_INT: *(int *)member = (int)value; break;
	case FIELD_LONG: *(long *)member = (long)value; break;
	case FIELD_SIZE: *(size_t *)member = value; break;
	case FIELD_FLAG: *(bool *)member = value != 0; break;
	default: break;
	}
}

/* ----------------------------------------------------------------------- */
/* Encoding.                                                                */

/* The bytes a field carries; false when it is absent. */
static bool field_value(const struct field *f, const char *base, const char **data, size_t *len)
{
	if (is_number(f))
		return true;
	switch (f->kind) {
	case FIELD_STRING:
		*data = *(char *const *)(base + f->offset);
		*len = *data ? strlen(*data) : 0;
		return *data != NULL;
	case FIELD_BYTES:
		*data = *(char *const *)(base + f->offset);
		*len = *(const size_t *)(base + f->len_offset);
		return *data != NULL;
	case FIELD_ARRAY:
		*data = base + f->offset;
		*len = strlen(*data);
		return *len > 0;
	default:
		return false;
	}
}

static bool encode(const char magic[4], const struct field *fields, size_t count,
		   const char *base, size_t cap, char **out, size_t *out_len)
{
	size_t total = WIRE_HEADER_LEN, used = WIRE_HEADER_LEN;
	unsigned char *buffer;

	*out = NULL;
	*out_len = 0;
	for (size_t i = 0; i < count; i++) {
		const char *data = NULL;
		size_t len = 4;

		if (!field_value(&fields[i], base, &data, &len))
			continue;
		if (!is_number(&fields[i]) && len > fields[i].max)
			return false;
		total += 5 + len;
	}
	if (total > cap || (buffer = calloc(1, total)) == NULL)
		return false;
	memcpy(buffer, magic, 4);
	put_u32(buffer + 4, (uint32_t)(total - WIRE_HEADER_LEN));
	for (size_t i = 0; i < count; i++) {
		const char *data = NULL;
		size_t len = 4;

		if (!field_value(&fields[i], base, &data, &len))
			continue;
		buffer[used] = fields[i].tag;
		put_u32(buffer + used + 1, (uint32_t)len);
		if (is_number(&fields[i]))
			put_u32(buffer + used + 5, number_of(&fields[i], base));
		else
			memcpy(buffer + used + 5, data, len);
		used += 5 + len;
	}
	*out = (char *)buffer;
	*out_len = total;
	return true;
}

bool wire_request_encode(const struct wire_request *request, char **out, size_t *out_len)
{
	return encode(WIRE_REQUEST_MAGIC, request_fields, COUNT(request_fields),
		      (const char *)request, WIRE_REQUEST_MAX, out, out_len);
}

bool wire_reply_encode(const struct wire_reply *reply, char **out, size_t *out_len)
{
	return encode(WIRE_REPLY_MAGIC, reply_fields, COUNT(reply_fields),
		      (const char *)reply, WIRE_REPLY_MAX, out, out_len);
}

/* ----------------------------------------------------------------------- */
/* Decoding.                                                                */

size_t wire_announced_len(const char *header, const char magic[4])
{
	if (memcmp(header, magic, 4) != 0)
		return (size_t)-1;
	return get_u32((const unsigned char *)header + 4);
}

/* Read until want bytes are in buffer + *got or the writer closes; false on EOF or error. */
static bool read_fully(int fd, char *buffer, size_t want, size_t *got)
{
	while (*got < want) {
		ssize_t n = read(fd, buffer + *got, want - *got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		*got += (size_t)n;
	}
	return true;
}

/*
 * The buffer is sized by the header, so a short request costs no 1 MiB;
 * only the bytes read are wiped (secret_free_len over *got).
 */
bool wire_request_read(int fd, char **data, size_t *len, char reason[PH_REASON_MAX])
{
	char header[WIRE_HEADER_LEN];
	size_t got = 0, payload, total;
	char *buffer;

	*data = NULL;
	*len = 0;
	if (!read_fully(fd, header, sizeof header, &got))
		return ph_why_not(reason, "the exchange helper got no usable request");
	payload = wire_announced_len(header, WIRE_REQUEST_MAGIC);
	if (payload == (size_t)-1 || payload > WIRE_REQUEST_MAX - WIRE_HEADER_LEN)
		return ph_why_not(reason, "the exchange helper got no usable request");
	total = WIRE_HEADER_LEN + payload;
	buffer = malloc(total);
	if (buffer == NULL)
		return ph_why_not(reason, "the exchange helper is out of memory");
	memcpy(buffer, header, WIRE_HEADER_LEN);
	if (!read_fully(fd, buffer, total, &got)) {
		secret_free_len(buffer, got);
		return ph_why_not(reason, "the exchange helper got no usable request");
	}
	*data = buffer;
	*len = total;
	return true;
}

static const struct field *field_for(const struct field *fields, size_t count, unsigned tag)
{
	for (size_t i = 0; i < count; i++)
		if (fields[i].tag == tag)
			return &fields[i];
	return NULL;
}

/* One field's bytes into the struct; false with reason when they break its rule. */
static bool store_field(const struct field *f, char *base, const unsigned char *data,
			size_t len, char reason[PH_REASON_MAX])
{
	char *copy;

	if (is_number(f)) {
		uint32_t value = len == 4 ? get_u32(data) : UINT32_MAX;

		if (value > f->max)
			return ph_why_not(reason, "field %u out of range", f->tag);
		set_number(f, base, value);
		return true;
	}
	if (len > f->max || (f->kind != FIELD_BYTES && memchr(data, '\0', len) != NULL))
		return ph_why_not(reason, "field %u too long or holds a NUL", f->tag);
	if (f->kind == FIELD_ARRAY) {
		/* Outside text, whoever wrote it: made safe again before anyone shows it. */
		sanitize_text(base + f->offset, f->max + 1, (const char *)data, len, f->max);
		return true;
	}
	copy = malloc(len + 1);
	if (copy == NULL)
		return ph_why_not(reason, "out of memory");
	memcpy(copy, data, len);
	copy[len] = '\0';
	*(char **)(base + f->offset) = copy;
	if (f->kind == FIELD_BYTES)
		*(size_t *)(base + f->len_offset) = len;
	return true;
}

static bool decode(const char magic[4], const struct field *fields, size_t count,
		   const char *data, size_t len, char *base, char reason[PH_REASON_MAX])
{
	const unsigned char *p = (const unsigned char *)data;
	unsigned seen = 0;      /* bit per tag; tags are 1..31 */
	size_t at = WIRE_HEADER_LEN;

	if (len < WIRE_HEADER_LEN || wire_announced_len(data, magic) != len - WIRE_HEADER_LEN)
		return ph_why_not(reason, "not one whole message");
	while (at < len) {
		const struct field *f;
		size_t field_len;

		if (len - at < 5)
			return ph_why_not(reason, "a field header is cut short");
		f = field_for(fields, count, p[at]);
		field_len = get_u32(p + at + 1);
		if (f == NULL || (seen & (1u << f->tag)) != 0)
			return ph_why_not(reason, "unknown or repeated field %u", p[at]);
		if (field_len > len - at - 5)
			return ph_why_not(reason, "field %u runs past the message", f->tag);
		if (!store_field(f, base, p + at + 5, field_len, reason))
			return false;
		seen |= 1u << f->tag;
		at += 5 + field_len;
	}
	for (size_t i = 0; i < count; i++) {
		if (fields[i].required && (seen & (1u << fields[i].tag)) == 0)
			return ph_why_not(reason, "field %u is missing", fields[i].tag);
	}
	return true;
}

bool wire_request_decode(const char *data, size_t len, struct wire_request *request,
			 char reason[PH_REASON_MAX])
{
	bool ok;

	memset(request, 0, sizeof *request);
	ok = decode(WIRE_REQUEST_MAGIC, request_fields, COUNT(request_fields), data, len,
		    (char *)request, reason);
	if (ok && request->timeout < SETTINGS_TIMEOUT_MIN)
		ok = ph_why_not(reason, "timeout out of range");
	if (!ok)
		wire_request_clear(request);
	return ok;
}

bool wire_reply_decode(const char *data, size_t len, struct wire_reply *reply,
		       char reason[PH_REASON_MAX])
{
	memset(reply, 0, sizeof *reply);
	if (decode(WIRE_REPLY_MAGIC, reply_fields, COUNT(reply_fields), data, len,
		   (char *)reply, reason))
		return true;
	wire_reply_clear(reply);
	return false;
}

void wire_request_clear(struct wire_request *request)
{
	secret_free(request->credential);
	secret_free(request->client_secret);
	free(request->api_url);
	free(request->proxy);
	free(request->pinned_pubkey);
	free(request->ca_file);
	free(request->ca_pem);
	memset(request, 0, sizeof *request);
}

void wire_reply_clear(struct wire_reply *reply)
{
	secret_free(reply->response.access_token);
	explicit_bzero(reply, sizeof *reply);
}
