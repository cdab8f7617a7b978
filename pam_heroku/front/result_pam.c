/* result_pam.c - verdicts to PAM return codes, with libpam's names for them. */
#include "config.h"

#include <security/_pam_types.h>

#include "result_pam.h"

struct pam_code {
	int code;
	const char *name;
};

#define PAM_CODE(code) { code, #code }

static const struct pam_code auth_codes[] = {
	[PH_OK] = PAM_CODE(PAM_SUCCESS),
	[PH_REFUSED] = PAM_CODE(PAM_AUTH_ERR),
	[PH_UNAVAILABLE] = PAM_CODE(PAM_AUTHINFO_UNAVAIL),
	[PH_MISCONFIGURED] = PAM_CODE(PAM_SERVICE_ERR),
};
static const struct pam_code account_granted = PAM_CODE(PAM_SUCCESS);
static const struct pam_code account_denied = PAM_CODE(PAM_PERM_DENIED);
static const struct pam_code unforeseen = PAM_CODE(PAM_AUTH_ERR); /* fail closed */

static const struct pam_code *pam_code_of(enum ph_phase phase, enum ph_result result)
{
	if (phase == PH_PHASE_ACCOUNT)
		return result == PH_OK ? &account_granted : &account_denied;
	if ((unsigned)result < sizeof auth_codes / sizeof auth_codes[0])
		return &auth_codes[result];
	return &unforeseen;
}

int ph_result_pam(enum ph_phase phase, enum ph_result result)
{
	return pam_code_of(phase, result)->code;
}

const char *ph_result_pam_name(enum ph_phase phase, enum ph_result result)
{
	return pam_code_of(phase, result)->name;
}
