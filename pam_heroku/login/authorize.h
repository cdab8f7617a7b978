/*
 * authorize.h - the URL a user opens to get a grant code, and the prompt
 * that shows it; the module and pam_heroku_check both call these.
 *
 *   {authorize_url}?client_id=ID&response_type=code&scope=identity&state=S
 *
 * S is 128 bits from getrandom(2), fresh for each call.  Nothing needs
 * percent-encoding: the authorize_url and client_id checks settings_load
 * makes are made again here, for a caller that filled struct settings by hand.
 */
#ifndef PAM_HEROKU_AUTHORIZE_H
#define PAM_HEROKU_AUTHORIZE_H

#include "result.h"
#include "settings.h"

/* Hex digits of the random state parameter. */
#define AUTHORIZE_STATE_HEX_LEN 32

/* The line above the URL in the prompt. */
#define AUTHORIZE_PROMPT_INTRO "To get a grant code, open:"

/*
 * *out = the authorize URL (caller frees).  PH_OK; PH_MISCONFIGURED when
 * client_id is not set (or not acceptable); PH_UNAVAILABLE when no random
 * state or no memory could be had.  *out is NULL on every failure.
 */
enum ph_result authorize_url_build(const struct settings *settings, char **out);

/*
 * *out = the text of the password prompt (caller frees): settings->prompt
 * alone without client_id, else
 *
 *   To get a grant code, open:\n  URL\nPROMPT
 *
 * one text, so it reaches the user in the same conversation round as the
 * prompt itself (OpenSSH shows informational messages only together with the
 * next prompt).  PH_OK, or PH_UNAVAILABLE with *out NULL.
 */
enum ph_result authorize_prompt_build(const struct settings *settings, char **out);

#endif
