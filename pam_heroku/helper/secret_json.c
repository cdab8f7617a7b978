/*
 * secret_json.c - a cJSON tree that held secrets, wiped before it is freed;
 * apart from secret.c so that only the helper links cJSON.
 */
#include "config.h"

#include <string.h>

#include <cjson/cJSON.h>

#include "secret.h"

static void wipe_json_strings(cJSON *item)
{
	for (; item != NULL; item = item->next) {
		if (item->valuestring != NULL)
			explicit_bzero(item->valuestring, strlen(item->valuestring));
		wipe_json_strings(item->child);
	}
}

void secret_json_delete(cJSON *root)
{
	wipe_json_strings(root);
	cJSON_Delete(root);
}
