/*
 * sandbox_filter.c - the seccomp program of pam_heroku_exchange (sandbox_filter.h).
 *
 * The list is the one the helper had compiled by libseccomp at every
 * login, by name; each call is in it only where this architecture has it,
 * with the 32-bit-id and 64-bit-time twins that libseccomp's names did
 * not cover (setuid32, clock_settime64, ... on 32-bit targets).
 */
#include "config.h"

#include <stddef.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>

#include "sandbox_filter.h"

/* This build's architecture as seccomp_data names it; any other entry point is killed. */
#if defined(__x86_64__) && !defined(__ILP32__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__i386__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_I386
#elif defined(__aarch64__) && !defined(__AARCH64EB__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_AARCH64
#elif defined(__arm__) && defined(__ARM_EABI__) && !defined(__ARMEB__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_ARM
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_PPC64LE
#elif defined(__s390x__)
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_S390X
#elif defined(__riscv) && __riscv_xlen == 64
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_RISCV64
#elif defined(__mips__) && defined(__MIPSEL__) && _MIPS_SIM == _ABI64
#define SANDBOX_AUDIT_ARCH AUDIT_ARCH_MIPSEL64
#else
#error "sandbox_filter.c: name this architecture's AUDIT_ARCH_* for the seccomp filter"
#endif

/* System calls one HTTPS POST never makes; any of them ends the process. */
static const unsigned int forbidden_calls[] = {
#ifdef __NR_execve
	__NR_execve,
#endif
#ifdef __NR_execveat
	__NR_execveat,
#endif
#ifdef __NR_ptrace
	__NR_ptrace,
#endif
#ifdef __NR_process_vm_readv
	__NR_process_vm_readv,
#endif
#ifdef __NR_process_vm_writev
	__NR_process_vm_writev,
#endif
#ifdef __NR_mount
	__NR_mount,
#endif
#ifdef __NR_umount
	__NR_umount,
#endif
#ifdef __NR_umount2
	__NR_umount2,
#endif
#ifdef __NR_pivot_root
	__NR_pivot_root,
#endif
#ifdef __NR_chroot
	__NR_chroot,
#endif
#ifdef __NR_unshare
	__NR_unshare,
#endif
#ifdef __NR_setns
	__NR_setns,
#endif
#ifdef __NR_kexec_load
	__NR_kexec_load,
#endif
#ifdef __NR_kexec_file_load
	__NR_kexec_file_load,
#endif
#ifdef __NR_init_module
	__NR_init_module,
#endif
#ifdef __NR_finit_module
	__NR_finit_module,
#endif
#ifdef __NR_delete_module
	__NR_delete_module,
#endif
#ifdef __NR_bpf
	__NR_bpf,
#endif
#ifdef __NR_perf_event_open
	__NR_perf_event_open,
#endif
#ifdef __NR_userfaultfd
	__NR_userfaultfd,
#endif
#ifdef __NR_keyctl
	__NR_keyctl,
#endif
#ifdef __NR_add_key
	__NR_add_key,
#endif
#ifdef __NR_request_key
	__NR_request_key,
#endif
#ifdef __NR_open_by_handle_at
	__NR_open_by_handle_at,
#endif
#ifdef __NR_name_to_handle_at
	__NR_name_to_handle_at,
#endif
#ifdef __NR_reboot
	__NR_reboot,
#endif
#ifdef __NR_swapon
	__NR_swapon,
#endif
#ifdef __NR_swapoff
	__NR_swapoff,
#endif
#ifdef __NR_acct
	__NR_acct,
#endif
#ifdef __NR_quotactl
	__NR_quotactl,
#endif
#ifdef __NR_syslog
	__NR_syslog,
#endif
#ifdef __NR_iopl
	__NR_iopl,
#endif
#ifdef __NR_ioperm
	__NR_ioperm,
#endif
#ifdef __NR_settimeofday
	__NR_settimeofday,
#endif
#ifdef __NR_clock_settime
	__NR_clock_settime,
#endif
#ifdef __NR_clock_settime64
	__NR_clock_settime64,
#endif
#ifdef __NR_adjtimex
	__NR_adjtimex,
#endif
#ifdef __NR_clock_adjtime
	__NR_clock_adjtime,
#endif
#ifdef __NR_clock_adjtime64
	__NR_clock_adjtime64,
#endif
#ifdef __NR_sethostname
	__NR_sethostname,
#endif
#ifdef __NR_setdomainname
	__NR_setdomainname,
#endif
#ifdef __NR_personality
	__NR_personality,
#endif
#ifdef __NR_setuid
	__NR_setuid,
#endif
#ifdef __NR_setuid32
	__NR_setuid32,
#endif
#ifdef __NR_setgid
	__NR_setgid,
#endif
#ifdef __NR_setgid32
	__NR_setgid32,
#endif
#ifdef __NR_setreuid
	__NR_setreuid,
#endif
#ifdef __NR_setreuid32
	__NR_setreuid32,
#endif
#ifdef __NR_setregid
	__NR_setregid,
#endif
#ifdef __NR_setregid32
	__NR_setregid32,
#endif
#ifdef __NR_setresuid
	__NR_setresuid,
#endif
#ifdef __NR_setresuid32
	__NR_setresuid32,
#endif
#ifdef __NR_setresgid
	__NR_setresgid,
#endif
#ifdef __NR_setresgid32
	__NR_setresgid32,
#endif
#ifdef __NR_setfsuid
	__NR_setfsuid,
#endif
#ifdef __NR_setfsuid32
	__NR_setfsuid32,
#endif
#ifdef __NR_setfsgid
	__NR_setfsgid,
#endif
#ifdef __NR_setfsgid32
	__NR_setfsgid32,
#endif
#ifdef __NR_setgroups
	__NR_setgroups,
#endif
#ifdef __NR_setgroups32
	__NR_setgroups32,
#endif
#ifdef __NR_capset
	__NR_capset,
#endif
#ifdef __NR_fsopen
	__NR_fsopen,
#endif
#ifdef __NR_fsmount
	__NR_fsmount,
#endif
#ifdef __NR_fsconfig
	__NR_fsconfig,
#endif
#ifdef __NR_move_mount
	__NR_move_mount,
#endif
#ifdef __NR_open_tree
	__NR_open_tree,
#endif
#ifdef __NR_mount_setattr
	__NR_mount_setattr,
#endif
};

#define LOAD(field) \
	(struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, field))
#define VERDICT(action) (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, (action))
#define JUMP_IF_EQUAL(k, then, otherwise) \
	(struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (k), (then), (otherwise))
/* Instruction at: when the number loaded equals (or is at least) k, on to index kill. */
#define KILL_IF(test, k, at, kill) (struct sock_filter)BPF_JUMP(BPF_JMP | (test) | BPF_K, (k), \
	(unsigned char)((kill) - (at) - 1), 0)

_Static_assert(sizeof forbidden_calls / sizeof forbidden_calls[0] + 7 <= SANDBOX_FILTER_MAX &&
	       sizeof forbidden_calls / sizeof forbidden_calls[0] + 7 <= 255,
	       "the program outgrows its buffer or a jump's reach");

/*
 *   load arch; not ours -> kill
 *   load nr; (x86_64: an x32 number, bit 30 set -> kill)
 *   one of the forbidden calls -> kill
 *   allow
 */
size_t sandbox_filter_build(struct sock_filter program[SANDBOX_FILTER_MAX])
{
	const size_t calls = sizeof forbidden_calls / sizeof forbidden_calls[0];
#if defined(__x86_64__)
	const size_t head = 5;
#else
	const size_t head = 4;
#endif
	const size_t kill = head + calls + 1;
	size_t n = 0;

	program[n++] = LOAD(arch);
	program[n++] = JUMP_IF_EQUAL(SANDBOX_AUDIT_ARCH, 1, 0);      /* ours: over the kill */
	program[n++] = VERDICT(SECCOMP_RET_KILL_PROCESS);
	program[n++] = LOAD(nr);
#if defined(__x86_64__)
	program[n] = KILL_IF(BPF_JGE, __X32_SYSCALL_BIT, n, kill);
	n++;
#endif
	for (size_t i = 0; i < calls; i++, n++)
		program[n] = KILL_IF(BPF_JEQ, forbidden_calls[i], n, kill);
	program[n++] = VERDICT(SECCOMP_RET_ALLOW);
	program[n++] = VERDICT(SECCOMP_RET_KILL_PROCESS);
	return n;
}
