/*
 * token_response.c - judge what POST /oauth/tokens answered (token_response.h).
 * The answer decides who logs in, so it is read strictly: a key the module
 * reads may not appear twice (cJSON would silently pick the first).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "credential.h"
#include "secret.h"
#include "token_response.h"

/*
 * object[name], insisting that it appears at most once.  *found is set to
 * the item or NULL; false when the key is duplicated.
 */
static bool unique_member(const cJSON *object, const char *name, const cJSON **found)
{
	const cJSON *child;

	*found = NULL;
	cJSON_ArrayForEach(child, object) {
		if (child->string != NULL && strcmp(child->string, name) == 0) {
			if (*found != NULL)
				return false;
			*found = child;
		}
	}
	return true;
}

/* root[outer] and, when that is an object, its [inner]: each at most once. */
static bool unique_nested(const cJSON *root, const char *outer, const char *inner,
			  const cJSON **outer_item, const cJSON **inner_item,
			  char reason[PH_REASON_MAX])
{
	*inner_item = NULL;
	if (unique_member(root, outer, outer_item) &&
	    (!cJSON_IsObject(*outer_item) || unique_member(*outer_item, inner, inner_item)))
		return true;
	return ph_why_not(reason, "malformed response: %s or %s.%s appears twice", outer, outer,
			  inner);
}

/* The validated user.id into response->user_id. */
static enum ph_result read_user(const cJSON *root, struct token_response *response,
				char reason[PH_REASON_MAX])
{
	const cJSON *user, *id;

	if (!unique_nested(root, "user", "id", &user, &id, reason))
		return PH_UNAVAILABLE;
	if (!cJSON_IsObject(user))
		return ph_reason(reason, PH_UNAVAILABLE, "malformed response: no user object");
	if (id == NULL || !cJSON_IsString(id) ||
	    !uuid_is_valid(id->valuestring, strlen(id->valuestring)))
		return ph_reason(reason, PH_UNAVAILABLE,
				 "malformed response: user.id is not a UUID");
	/* Kept as the API sent it (HEROKU_USER_ID is user.id); every comparison
	 * of ids is case-insensitive. */
	memcpy(response->user_id, id->valuestring, UUID_LEN + 1);
	return PH_OK;
}

/* session.id is optional; when given it must be safe to export. */
static enum ph_result read_session(const cJSON *root, struct token_response *response,
				   char reason[PH_REASON_MAX])
{
	const cJSON *session, *id;

	if (!unique_nested(root, "session", "id", &session, &id, reason))
		return PH_UNAVAILABLE;
	if (session == NULL || cJSON_IsNull(session))
		return PH_OK;
	if (cJSON_IsObject(session) && (id == NULL || cJSON_IsNull(id)))
		return PH_OK;
	if (!cJSON_IsObject(session) || id == NULL || !cJSON_IsString(id) ||
	    !token_response_is_session_id(id->valuestring))
		return ph_reason(reason, PH_UNAVAILABLE,
				 "malformed response: session.id is not 1-%d characters of [A-Za-z0-9._:-]",
				 TOKEN_RESPONSE_SESSION_MAX);
	snprintf(response->session_id, sizeof response->session_id, "%s", id->valuestring);
	return PH_OK;
}

/* access_token.token, only when it is to be exported as HEROKU_API_KEY. */
static enum ph_result read_access_token(const cJSON *root, struct token_response *response,
					char reason[PH_REASON_MAX])
{
	const cJSON *access, *token;

	if (!unique_nested(root, "access_token", "token", &access, &token, reason))
		return PH_UNAVAILABLE;
	/* The same token68 rule as a typed credential; never quoted in a reason. */
	if (token == NULL || !cJSON_IsString(token) || !credential_is_token(token->valuestring))
		return ph_reason(reason, PH_UNAVAILABLE,
				 "malformed response: access_token.token is missing or not a token");
	response->access_token = secret_strdup(token->valuestring);
	if (response->access_token == NULL)
		return ph_reason(reason, PH_UNAVAILABLE, "out of memory");
	return PH_OK;
}

/*
 * What cJSON lets through and a C string cannot carry: JSON text must be
 * UTF-8 (RFC 8259 8.1), which cJSON does not check, and a \u0000 escape
 * ends the C string cJSON hands back, so "<alice's id>\u0000<more>" would
 * read as alice's id.  False when the body has either.
 */
static bool is_plain_json_text(const char *body, size_t body_len)
{
	const unsigned char *p = (const unsigned char *)body;

	for (size_t i = 0; i < body_len;) {
		size_t len;

		if (p[i] == '\\') {
			/* Outside a string a backslash is a syntax error anyway. */
			if (body_len - i >= 6 && memcmp(p + i + 1, "u0000", 5) == 0)
				return false;
			i += 2;         /* the escaped character is never a string end */
			continue;
		}
		len = sanitize_utf8_length(p + i, body_len - i);
		if (len == 0)
			return false;
		i += len;
	}
	return true;
}

static cJSON *parse_object(const char *body, size_t body_len)
{
	const char *end = NULL;
	cJSON *root;

	if (body == NULL || body_len == 0 || memchr(body, '\0', body_len) != NULL)
		return NULL;
	root = cJSON_ParseWithLengthOpts(body, body_len, &end, false);
	if (root == NULL)
		return NULL;
	/* Nothing but blanks may follow the object. */
	while (end != NULL && end < body + body_len && is_ascii_space(*end))
		end++;
	if (!cJSON_IsObject(root) || end != body + body_len) {
		secret_json_delete(root);
		return NULL;
	}
	return root;
}

static enum ph_result parse_success(const char *body, size_t body_len, bool want_access_token,
				    struct token_response *response, char reason[PH_REASON_MAX])
{
	cJSON *root;
	enum ph_result result;

	/* (An error body is only mined for a message, which is sanitised.) */
	if (body != NULL && !is_plain_json_text(body, body_len))
		return ph_reason(reason, PH_UNAVAILABLE,
				 "malformed response: the 201 body is not UTF-8 or holds a \\u0000 escape");
	root = parse_object(body, body_len);
	if (root == NULL)
		return ph_reason(reason, PH_UNAVAILABLE,
				 "malformed response: the 201 body is not a JSON object");
	result = read_user(root, response, reason);
	if (result == PH_OK)
		result = read_session(root, response, reason);
	if (result == PH_OK && want_access_token)
		result = read_access_token(root, response, reason);
	secret_json_delete(root);
	if (result != PH_OK)
		token_response_clear(response);
	return result;
}

/* An error answer: keep its id and message, made safe to show and log. */
static void read_error(const char *body, size_t body_len, struct token_response *response)
{
	cJSON *root = parse_object(body, body_len);
	const cJSON *id, *message;

	if (root == NULL)
		return;
	if (unique_member(root, "id", &id) && id != NULL && cJSON_IsString(id))
		sanitize_text(response->error_id, sizeof response->error_id, id->valuestring,
			      strlen(id->valuestring), sizeof response->error_id - 1);
	if (unique_member(root, "message", &message) && message != NULL &&
	    cJSON_IsString(message))
		sanitize_text(response->message, sizeof response->message, message->valuestring,
			      strlen(message->valuestring), SANITIZE_MESSAGE_MAX);
	secret_json_delete(root);
}

static bool is_refusal_status(long status)
{
	return status == 400 || status == 401 || status == 403 || status == 404 || status == 422;
}

enum ph_result token_response_parse(long status, const char *body, size_t body_len,
				    bool want_access_token,
				    struct token_response *response,
				    char reason[PH_REASON_MAX])
{
	memset(response, 0, sizeof *response);
	if (status == 201)
		return parse_success(body, body_len, want_access_token, response, reason);
	read_error(body, body_len, response);
	if (is_refusal_status(status))
		return ph_reason(reason, PH_REFUSED, "the API refused the credential (%ld %s)%s%s",
				 status, response->error_id[0] ? response->error_id : "error",
				 response->message[0] ? ": " : "", response->message);
	return ph_reason(reason, PH_UNAVAILABLE, "the API answered %ld%s%s%s%s", status,
			 response->error_id[0] ? " " : "", response->error_id,
			 response->message[0] ? ": " : "", response->message);
}

void token_response_clear(struct token_response *response)
{
	secret_free(response->access_token);
	response->access_token = NULL;
}
