/*
 * exchange_path.c - where pam_heroku_exchange is: fixed when the module is
 * built, never at run time.  Only test builds (PAM_HEROKU_TEST_BUILD) use the
 * build tree's helper and let a test substitute one; tests/privsep/run checks
 * that the installed module holds no such code.
 */
#include "config.h"

#include <stdlib.h>

#include "exchange_child.h"

#ifndef PAM_HEROKU_EXCHANGE_HELPER
#error "PAM_HEROKU_EXCHANGE_HELPER (the helper's absolute path) must be defined"
#endif

const char *exchange_helper_path(void)
{
#ifdef PAM_HEROKU_TEST_BUILD
	const char *substitute = getenv("PAM_HEROKU_TEST_EXCHANGE_HELPER");

	if (substitute != NULL && substitute[0] != '\0')
		return substitute;
#endif
	return PAM_HEROKU_EXCHANGE_HELPER;
}
