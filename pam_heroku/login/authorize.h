/*
 * authorize.h - the URL a user opens to get a grant code, and the prompt
 * that shows it.
 *
 *   {authorize_url}?client_id=ID&response_type=code&scope=identity&state=S
 *
 * S is 128 bits from getrandom(2) as 32 lower-case hex digits, fresh for each
 * call.  Nothing is percent-encoded because nothing needs it: settings_load
 * only accepts an authorize_url without '?', '#', blank or control character
 * and a client_id of RFC 3986 unreserved characters (checked again here, so
 * a caller that filled struct settings by hand still fails closed).
 *
 * The module (the password prompt) and pam_heroku_check (--authorize-url,
 * and the prompt --login shows) both call these, so they cannot disagree.
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
