/*
 * sandbox_filter.h - the seccomp program pam_heroku_exchange loads (sandbox.c).
 *
 * Classic BPF built from the system call numbers the compiler knows
 * (<sys/syscall.h>), as OpenSSH's seccomp sandbox does: no libseccomp to
 * load and no filter to compile at every login.  The program kills the
 * process on a foreign architecture (a 32-bit or x32 entry point), on any
 * call of the forbidden list, and allows the rest.  tests/unit/helper/
 * test_sandbox_filter.c checks it against what libseccomp compiles from the
 * same list by name, call by call.
 */
#ifndef PAM_HEROKU_SANDBOX_FILTER_H
#define PAM_HEROKU_SANDBOX_FILTER_H

#include <stddef.h>
#include <linux/filter.h>

/* Room for the largest program: the checks, every forbidden call, the verdicts. */
#define SANDBOX_FILTER_MAX 128

/* Fills program, returns its length (at most SANDBOX_FILTER_MAX). */
size_t sandbox_filter_build(struct sock_filter program[SANDBOX_FILTER_MAX]);

#endif
