/*
 * seccomp_program_gen.c - writes seccomp_program.h to standard output: the
 * helper's seccomp filter as libseccomp compiles seccomp_policy.c's list
 * for the machine that builds, so that sandbox.c only loads it at run time.
 *
 * Run by make (Makefile.am), never installed.  Exit status 1, with a line
 * on standard error, when libseccomp cannot compile the list.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <seccomp.h>

#include "seccomp_policy.h"

/* The host triplet configure found (Makefile.am). */
#ifndef SECCOMP_PROGRAM_HOST
#define SECCOMP_PROGRAM_HOST "unknown"
#endif

static void print_preamble(void)
{
	const struct scmp_version *v = seccomp_version();

	printf("/*\n"
	       " * seccomp_program.h - GENERATED at build time: never edit by hand.\n"
	       " *\n"
	       " * Written by seccomp_program_gen (pam_heroku/helper/seccomp_program_gen.c)\n"
	       " * with libseccomp %u.%u.%u from the list in pam_heroku/helper/seccomp_policy.c,\n"
	       " * for %s (AUDIT_ARCH 0x%08x): pam_heroku_exchange loads\n"
	       " * the program (sandbox.c) and does not link libseccomp.  A call through\n"
	       " * another architecture's entry ends the process as well.\n"
	       " */\n"
	       "#ifndef PAM_HEROKU_SECCOMP_PROGRAM_H\n"
	       "#define PAM_HEROKU_SECCOMP_PROGRAM_H\n"
	       "\n"
	       "#include <linux/filter.h>\n"
	       "\n",
	       v->major, v->minor, v->micro, SECCOMP_PROGRAM_HOST, seccomp_arch_native());
}

static void print_program(const struct sock_filter *program, size_t len)
{
	printf("/* Allow by default; SECCOMP_RET_KILL_PROCESS on each forbidden call. */\n"
	       "static const struct sock_filter seccomp_program[%zu] = {\n", len);
	for (size_t i = 0; i < len; i++)
		printf("\t{ 0x%04x, %u, %u, 0x%08x },\n", program[i].code, program[i].jt,
		       program[i].jf, program[i].k);
	printf("};\n\n");
}

/* The calls that went in, by name and number, for the unit tests. */
static void print_calls(void)
{
	printf("#ifdef SECCOMP_PROGRAM_CALLS\n"
	       "struct seccomp_program_call {\n"
	       "\tconst char *name;\n"
	       "\tint number;\n"
	       "};\n\n"
	       "static const struct seccomp_program_call seccomp_program_calls[] = {\n");
	for (size_t i = 0; i < seccomp_policy_forbidden_count; i++) {
		int call = seccomp_syscall_resolve_name(seccomp_policy_forbidden[i]);

		if (call >= 0) {
			printf("\t{ \"%s\", %d },\n", seccomp_policy_forbidden[i], call);
			continue;
		}
		/* Not on this architecture, or unknown to this libseccomp: said
		 * in the build log, not only in the header. */
		printf("\t/* %s: libseccomp knows no such call here */\n",
		       seccomp_policy_forbidden[i]);
		fprintf(stderr, "seccomp_program_gen: %s left out: libseccomp knows no "
			"such call on this architecture\n", seccomp_policy_forbidden[i]);
	}
	printf("};\n"
	       "#endif\n\n");
}

int main(void)
{
	static struct sock_filter program[BPF_MAXINSNS];
	size_t len = 0;
	int rc = seccomp_policy_program(program, BPF_MAXINSNS, &len);

	if (rc != 0) {
		fprintf(stderr, "seccomp_program_gen: libseccomp cannot compile the list: %s\n",
			strerror(-rc));
		return 1;
	}
	print_preamble();
	print_program(program, len);
	print_calls();
	printf("#endif\n");
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}
