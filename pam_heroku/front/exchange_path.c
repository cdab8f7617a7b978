/*
 * exchange_path.c - where pam_heroku_exchange is: fixed when the module is built.
 *
 * The installed module and pam_heroku_check are compiled with the installed
 * path ($(libexecdir)/pam_heroku/pam_heroku_exchange) and nothing can change
 * it at run time.  Only the test builds (`make check`: tests/.libs/
 * pam_heroku_test.so, tests/pam_heroku_check_test) are compiled with
 * PAM_HEROKU_TEST_BUILD, which points at the build tree's helper and lets a
 * test substitute a misbehaving one; that code is not in what is installed
 * (tests/privsep/run checks the strings of pam_heroku.so).
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
