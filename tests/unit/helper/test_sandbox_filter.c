/*
 * test_sandbox_filter.c - the helper's seccomp program (sandbox_filter.c)
 * against what libseccomp compiles from the same list of calls by name,
 * which is what the helper loaded before it built its own program.
 *
 * Both programs are run here by a small classic-BPF interpreter (the
 * instructions either emits: load, jumps, return) over every system call
 * number 0-1023 of this architecture, x32 numbers and foreign
 * architectures: each must allow and kill exactly what the other does.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <seccomp.h>

#include "unit.h"
#include "sandbox_filter.h"

/* The list, by name (sandbox_filter.c has it by number). */
static const char *const forbidden_names[] = {
	"execve", "execveat", "ptrace", "process_vm_readv", "process_vm_writev",
	"mount", "umount", "umount2", "pivot_root", "chroot", "unshare", "setns",
	"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
	"bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key",
	"open_by_handle_at", "name_to_handle_at", "reboot", "swapon", "swapoff",
	"acct", "quotactl", "syslog", "iopl", "ioperm", "settimeofday",
	"clock_settime", "clock_settime64", "adjtimex", "clock_adjtime", "clock_adjtime64",
	"sethostname", "setdomainname", "personality",
	"setuid", "setuid32", "setgid", "setgid32", "setreuid", "setreuid32",
	"setregid", "setregid32", "setresuid", "setresuid32", "setresgid", "setresgid32",
	"setfsuid", "setfsuid32", "setfsgid", "setfsgid32", "setgroups", "setgroups32",
	"capset",
	"fsopen", "fsmount", "fsconfig", "move_mount", "open_tree", "mount_setattr",
};

struct program {
	struct sock_filter code[1024];
	size_t len;
};

/* libseccomp's program for the list: default allow, each call kills the process. */
static void libseccomp_program(struct program *p)
{
	scmp_filter_ctx filter;
	FILE *out = tmpfile();
	long size;

	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(seccomp_api_set(3), 0);
	filter = seccomp_init(SCMP_ACT_ALLOW);
	ck_assert_ptr_nonnull(filter);
	for (size_t i = 0; i < sizeof forbidden_names / sizeof forbidden_names[0]; i++) {
		int call = seccomp_syscall_resolve_name(forbidden_names[i]);

		if (call >= 0)
			ck_assert_int_eq(seccomp_rule_add(filter, SCMP_ACT_KILL_PROCESS, call, 0), 0);
	}
	ck_assert_int_eq(seccomp_export_bpf(filter, fileno(out)), 0);
	seccomp_release(filter);
	size = lseek(fileno(out), 0, SEEK_END);     /* written to the descriptor, not the FILE */
	ck_assert(size > 0 && (size_t)size % sizeof p->code[0] == 0 &&
		  (size_t)size < sizeof p->code);
	ck_assert_int_eq(pread(fileno(out), p->code, (size_t)size, 0), size);
	p->len = (size_t)size / sizeof p->code[0];
	fclose(out);
}

static void helper_program(struct program *p)
{
	p->len = sandbox_filter_build(p->code);
	ck_assert(p->len > 0 && p->len <= SANDBOX_FILTER_MAX);
}

/* What the kernel would return for this call, running p as it would. */
static uint32_t run(const struct program *p, uint32_t arch, uint32_t nr)
{
	struct seccomp_data data;
	uint32_t a = 0;

	memset(&data, 0, sizeof data);
	data.arch = arch;
	data.nr = (int)nr;
	for (size_t pc = 0; pc < p->len; pc++) {
		const struct sock_filter *in = &p->code[pc];

		switch (in->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			ck_assert(in->k % 4 == 0 && in->k + 4 <= sizeof data);
			memcpy(&a, (const char *)&data + in->k, 4);
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			pc += a == in->k ? in->jt : in->jf;
			break;
		case BPF_JMP | BPF_JGE | BPF_K:
			pc += a >= in->k ? in->jt : in->jf;
			break;
		case BPF_JMP | BPF_JGT | BPF_K:
			pc += a > in->k ? in->jt : in->jf;
			break;
		case BPF_JMP | BPF_JSET | BPF_K:
			pc += (a & in->k) != 0 ? in->jt : in->jf;
			break;
		case BPF_JMP | BPF_JA:
			pc += in->k;
			break;
		case BPF_RET | BPF_K:
			return in->k;
		default:
			ck_abort_msg("instruction %#x at %zu is not one this interpreter knows",
				     in->code, pc);
		}
	}
	ck_abort_msg("the program ran past its end (arch %#x, call %u)", arch, nr);
	return 0;
}

static bool allows(uint32_t verdict)
{
	return (verdict & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_ALLOW;
}

static void same_verdict(const struct program *ours, const struct program *reference,
			 uint32_t arch, uint32_t nr)
{
	uint32_t mine = run(ours, arch, nr), theirs = run(reference, arch, nr);

	ck_assert_msg(allows(mine) == allows(theirs),
		      "arch %#x call %u: the helper's program %s it, libseccomp's %s it",
		      arch, nr, allows(mine) ? "allows" : "kills", allows(theirs) ? "allows" : "kills");
	ck_assert_msg(allows(mine) || mine == SECCOMP_RET_KILL_PROCESS,
		      "arch %#x call %u: verdict %#x, not SECCOMP_RET_KILL_PROCESS", arch, nr, mine);
}

START_TEST(test_filter_as_libseccomp_on_every_call)
{
	static struct program ours, reference;
	const uint32_t native = seccomp_arch_native();
	const uint32_t foreign[] = { AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, AUDIT_ARCH_AARCH64,
				     AUDIT_ARCH_ARM };

	helper_program(&ours);
	libseccomp_program(&reference);
	for (uint32_t nr = 0; nr < 1024; nr++)
		same_verdict(&ours, &reference, native, nr);
	for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++)
		if (foreign[i] != native)
			for (uint32_t nr = 0; nr < 1024; nr += 7) {
				ck_assert(!allows(run(&ours, foreign[i], nr)));
				same_verdict(&ours, &reference, foreign[i], nr);
			}
	if (native == AUDIT_ARCH_X86_64) {
		/* x32 numbers (bit 30) reach the same kernel through the x86_64 entry. */
		const uint32_t x32[] = { 0, 1, 59, 105, 322, 520, 545 };

		for (size_t i = 0; i < sizeof x32 / sizeof x32[0]; i++)
			same_verdict(&ours, &reference, native, 0x40000000u | x32[i]);
	}
}
END_TEST

START_TEST(test_filter_kills_each_call_of_the_list)
{
	static struct program ours;
	const uint32_t native = seccomp_arch_native();
	int present = 0;

	helper_program(&ours);
	for (size_t i = 0; i < sizeof forbidden_names / sizeof forbidden_names[0]; i++) {
		int call = seccomp_syscall_resolve_name(forbidden_names[i]);

		if (call < 0)
			continue;       /* not on this architecture */
		present++;
		ck_assert_msg(run(&ours, native, (uint32_t)call) == SECCOMP_RET_KILL_PROCESS,
			      "%s (%d) is not killed", forbidden_names[i], call);
	}
	ck_assert_int_ge(present, 45);
}
END_TEST

START_TEST(test_filter_allows_what_an_exchange_needs)
{
	static struct program ours;
	const uint32_t native = seccomp_arch_native();
	const long needed[] = {
		SYS_read, SYS_write, SYS_openat, SYS_close, SYS_socket, SYS_connect,
		SYS_sendto, SYS_recvfrom, SYS_ppoll, SYS_mmap, SYS_munmap, SYS_futex,
		SYS_getrandom, SYS_clock_nanosleep, SYS_exit_group,
	};

	helper_program(&ours);
	for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++)
		ck_assert_msg(allows(run(&ours, native, (uint32_t)needed[i])),
			      "call %ld is not allowed", needed[i]);
}
END_TEST

Suite *sandbox_filter_suite(void)
{
	Suite *s = suite_create("sandbox_filter");
	TCase *tc = tcase_create("sandbox_filter_build");

	tcase_add_test(tc, test_filter_as_libseccomp_on_every_call);
	tcase_add_test(tc, test_filter_kills_each_call_of_the_list);
	tcase_add_test(tc, test_filter_allows_what_an_exchange_needs);
	suite_add_tcase(s, tc);
	return s;
}
