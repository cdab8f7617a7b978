/*
 * test_sandbox.c - the helper's seccomp filter (sandbox.c, seccomp_program.h).
 *
 * Against the running kernel: a child sets no_new_privs, installs the filter
 * through sandbox_install_filter, and makes one system call; each call of the
 * list must kill it with SIGSYS, and what an exchange needs must not.
 * Against libseccomp: the program in seccomp_program.h, generated at build
 * time, must be what libseccomp compiles from seccomp_policy.c's list now,
 * so that a stale header cannot pass.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include <seccomp.h>

#include "unit.h"
#include "sandbox.h"
#include "seccomp_policy.h"
#define SECCOMP_PROGRAM_CALLS
#include "seccomp_program.h"

#define CALLS (sizeof seccomp_program_calls / sizeof seccomp_program_calls[0])
#define INSTRUCTIONS (sizeof seccomp_program / sizeof seccomp_program[0])

/* How a filtered child exits when it is not killed. */
enum { CHILD_DONE = 0, CHILD_NO_FILTER = 3, CHILD_CALL_FAILED = 4 };

/* The wait status of a child that installs the helper's filter, then runs action. */
static int filtered_child(bool (*action)(long), long arg)
{
	int status = 0;
	pid_t pid = fork();

	ck_assert_int_ne(pid, -1);
	if (pid == 0) {
		char reason[PH_REASON_MAX] = "";

		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
		    sandbox_install_filter(reason) != PH_OK) {
			fprintf(stderr, "filtered child: %s\n", reason);
			_exit(CHILD_NO_FILTER);
		}
		_exit(action(arg) ? CHILD_DONE : CHILD_CALL_FAILED);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(!(WIFEXITED(status) && WEXITSTATUS(status) == CHILD_NO_FILTER),
		      "the child could not install the filter");
	return status;
}

/* Arguments that make every listed call fail harmlessly if it ran: bad
 * pointers, flags and lengths, or "no change" ids (-1). */
static bool call_with_invalid_arguments(long number)
{
	syscall(number, -1L, -1L, -1L, -1L, -1L, -1L);
	return true;
}

static bool call_getpid(long unused)
{
	(void)unused;
	return syscall(SYS_getpid) > 0;
}

static bool read_a_pipe(long unused)
{
	int ends[2];
	char byte = 'x';

	(void)unused;
	return pipe(ends) == 0 && write(ends[1], &byte, 1) == 1 && read(ends[0], &byte, 1) == 1;
}

static bool open_inet_socket(long unused)
{
	(void)unused;
	return socket(AF_INET, SOCK_STREAM, 0) >= 0;
}

START_TEST(test_filter_kills_each_listed_call)
{
	char survived[1024] = "";

	ck_assert_uint_gt(CALLS, 0);
	for (size_t i = 0; i < CALLS; i++) {
		const struct seccomp_program_call *call = &seccomp_program_calls[i];
		int status = filtered_child(call_with_invalid_arguments, call->number);

		if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGSYS) {
			size_t used = strlen(survived);

			snprintf(survived + used, sizeof survived - used, " %s (%d)", call->name,
				 call->number);
		}
	}
	ck_assert_msg(survived[0] == '\0', "not killed by SIGSYS:%s", survived);
}
END_TEST

START_TEST(test_filter_allows_what_an_exchange_needs)
{
	static const struct {
		const char *what;
		bool (*action)(long);
	} allowed[] = {
		{ "getpid", call_getpid },
		{ "pipe, write and read", read_a_pipe },
		{ "socket(AF_INET, SOCK_STREAM)", open_inet_socket },
	};

	for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++) {
		int status = filtered_child(allowed[i].action, 0);

		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == CHILD_DONE,
			      "%s under the filter: %s %d", allowed[i].what,
			      WIFSIGNALED(status) ? "killed by signal" : "exit status",
			      WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	}
}
END_TEST

#if defined(__x86_64__)
/* getpid through the x32 entry (its bit set on the number): another ABI. */
static void *call_through_x32_entry(void *unused)
{
	(void)unused;
	syscall(0x40000000L | SYS_getpid);
	return NULL;
}

/* The call from a second thread: the whole process must end, not the thread. */
static bool other_abi_from_a_thread(long unused)
{
	pthread_t thread;

	(void)unused;
	if (pthread_create(&thread, NULL, call_through_x32_entry, NULL) != 0)
		return false;
	pthread_join(thread, NULL);
	return true;    /* only the thread died: the filter let the process live */
}

START_TEST(test_filter_kills_the_process_on_another_abi)
{
	int status = filtered_child(other_abi_from_a_thread, 0);

	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS,
		      "a call through the x32 entry from a thread: %s %d", WIFSIGNALED(status)
		      ? "killed by signal" : "exit status", WIFSIGNALED(status) ? WTERMSIG(status)
		      : WEXITSTATUS(status));
}
END_TEST
#endif

START_TEST(test_program_is_libseccomps_compilation_of_the_list)
{
	static struct sock_filter now[BPF_MAXINSNS];
	size_t len = 0;

	ck_assert_int_eq(seccomp_policy_program(now, BPF_MAXINSNS, &len), 0);
	ck_assert_msg(len == INSTRUCTIONS,
		      "seccomp_program.h has %zu instructions, libseccomp compiles %zu from "
		      "the list now: the header is stale", INSTRUCTIONS, len);
	for (size_t i = 0; i < len; i++)
		ck_assert_msg(memcmp(&now[i], &seccomp_program[i], sizeof now[i]) == 0,
			      "instruction %zu of seccomp_program.h is not libseccomp's", i);
}
END_TEST

START_TEST(test_calls_are_the_list_on_this_architecture)
{
	size_t listed = 0;

	for (size_t i = 0; i < seccomp_policy_forbidden_count; i++) {
		const char *name = seccomp_policy_forbidden[i];
		int number = seccomp_syscall_resolve_name(name);

		if (number < 0)
			continue;       /* not on this architecture */
		ck_assert_msg(listed < CALLS && strcmp(seccomp_program_calls[listed].name, name) == 0 &&
			      seccomp_program_calls[listed].number == number,
			      "seccomp_program.h does not list %s (%d) in place %zu", name, number,
			      listed);
		listed++;
	}
	ck_assert_uint_eq(listed, CALLS);
}
END_TEST

Suite *sandbox_suite(void)
{
	Suite *s = suite_create("sandbox");
	TCase *kernel = tcase_create("filter_in_the_kernel");
	TCase *built = tcase_create("program_as_built");

	tcase_add_test(kernel, test_filter_kills_each_listed_call);
	tcase_add_test(kernel, test_filter_allows_what_an_exchange_needs);
#if defined(__x86_64__)
	tcase_add_test(kernel, test_filter_kills_the_process_on_another_abi);
#endif
	tcase_add_test(built, test_program_is_libseccomps_compilation_of_the_list);
	tcase_add_test(built, test_calls_are_the_list_on_this_architecture);
	suite_add_tcase(s, kernel);
	suite_add_tcase(s, built);
	return s;
}
