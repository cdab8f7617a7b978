/*
 * sandbox.h - what pam_heroku_exchange does to itself before it reads a byte.
 *
 * Not dumpable and no core file (it will hold the credential and the client
 * secret), every descriptor but the request (0) and the reply (1) closed,
 * when started with any root id: the package's system user (else nobody)
 * with no supplementary groups, verified; no new privileges; and a seccomp
 * filter that kills the process on execve, ptrace, mount, module loading,
 * uid changes and the like, none of which one HTTPS POST needs.
 */
#ifndef PAM_HEROKU_SANDBOX_H
#define PAM_HEROKU_SANDBOX_H

#include "result.h"

/* The unprivileged user the helper becomes when started as root. */
#ifndef PAM_HEROKU_HELPER_USER
#define PAM_HEROKU_HELPER_USER "_pam_heroku"
#endif
#define SANDBOX_FALLBACK_USER "nobody"

/* PH_OK, or PH_MISCONFIGURED with reason when any step fails. */
enum ph_result sandbox_enter(char reason[PH_REASON_MAX]);

/*
 * sandbox_enter's last step alone, for the unit tests: the seccomp filter
 * (seccomp_program.h), which the kernel accepts once no_new_privs is set.
 * PH_OK, or PH_MISCONFIGURED with reason.
 */
enum ph_result sandbox_install_filter(char reason[PH_REASON_MAX]);

#endif
