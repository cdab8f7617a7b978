/*
 * seccomp_policy.h - the system calls pam_heroku_exchange may never make,
 * and libseccomp's compilation of that list into a BPF program.
 *
 * Build time and tests only: seccomp_program_gen writes the program into
 * seccomp_program.h, which sandbox.c loads at every login without libseccomp;
 * the unit tests compile the list again to show that header is current.
 */
#ifndef PAM_HEROKU_SECCOMP_POLICY_H
#define PAM_HEROKU_SECCOMP_POLICY_H

#include <stddef.h>
#include <linux/filter.h>

/* The forbidden calls by name; a name this architecture lacks is skipped. */
extern const char *const seccomp_policy_forbidden[];
extern const size_t seccomp_policy_forbidden_count;

/*
 * libseccomp's program for the list on the architecture it was built for:
 * allow by default, kill the process on each forbidden call.  0 with the
 * program in program[0 .. *len), else a negative errno value.
 */
int seccomp_policy_program(struct sock_filter *program, size_t max, size_t *len);

#endif
