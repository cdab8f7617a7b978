/*
 * token_request.c - the body of POST /oauth/tokens, built with cJSON.  It is
 * printed into our own buffer (cJSON_PrintPreallocated) so cJSON never
 * frees an unwiped copy of a secret; the tree is wiped before it is freed.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "secret.h"
#include "token_request.h"

/* Add object[name] = {key: value}; false when out of memory. */
static bool add_pair(cJSON *object, const char *name, const char *key, const char *value)
{
	cJSON *inner = cJSON_AddObjectToObject(object, name);

	return inner != NULL && cJSON_AddStringToObject(inner, key, value) != NULL;
}

/*
 * Heroku's schema for this link requires grant, client and refresh_token in
 * every request: a code grant carries an empty refresh_token object.
 */
static cJSON *build_tree(const struct credential *credential, const char *value,
			 const char *client_secret)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *grant = root ? cJSON_AddObjectToObject(root, "grant") : NULL;
	bool is_code = credential->grant == PH_GRANT_AUTHORIZATION_CODE;
	bool ok = grant != NULL &&
		  cJSON_AddStringToObject(grant, "type",
					  credential_grant_name(credential->grant)) != NULL;

	if (ok && is_code)
		ok = cJSON_AddStringToObject(grant, "code", value) != NULL;
	if (ok)
		ok = add_pair(root, "client", "secret", client_secret);
	if (ok && is_code)
		ok = cJSON_AddObjectToObject(root, "refresh_token") != NULL;
	else if (ok)
		ok = add_pair(root, "refresh_token", "token", value);
	if (!ok) {
		secret_json_delete(root);
		return NULL;
	}
	return root;
}

char *token_request_body(const struct credential *credential, const char *client_secret)
{
	/* token68 and a blank-free secret need no escaping beyond JSON's own;
	 * six bytes per character covers any \uXXXX escape, plus the frame. */
	size_t capacity, secret_len;
	char *value, *body;
	cJSON *root;

	if (client_secret == NULL)
		return NULL;    /* settings_load refuses a configuration without one */
	secret_len = strlen(client_secret);
	capacity = 6 * (credential->value_len + secret_len) + 256;
	value = malloc(credential->value_len + 1);
	if (value == NULL)
		return NULL;
	memcpy(value, credential->value, credential->value_len);
	value[credential->value_len] = '\0';

	root = build_tree(credential, value, client_secret);
	secret_free_len(value, credential->value_len + 1);
	if (root == NULL)
		return NULL;

	body = calloc(1, capacity);
	if (body != NULL && !cJSON_PrintPreallocated(root, body, (int)capacity, false)) {
		secret_free_len(body, capacity);
		body = NULL;
	}
	secret_json_delete(root);
	return body;
}
