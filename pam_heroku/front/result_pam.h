/*
 * result_pam.h - the one table from a verdict to a PAM return code, linked
 * into the module and into pam_heroku_check (which needs the codes' names,
 * not libpam), so the tool reports what the module would return.
 */
#ifndef PAM_HEROKU_RESULT_PAM_H
#define PAM_HEROKU_RESULT_PAM_H

#include "result.h"

enum ph_phase { PH_PHASE_AUTH, PH_PHASE_ACCOUNT };

/* The PAM return code for a verdict; PAM_AUTH_ERR for anything unforeseen. */
int ph_result_pam(enum ph_phase phase, enum ph_result result);

/* That code's name as libpam spells it, e.g. "PAM_AUTHINFO_UNAVAIL". */
const char *ph_result_pam_name(enum ph_phase phase, enum ph_result result);

#endif
