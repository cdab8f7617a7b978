/*
 * exchange_child.c - run pam_heroku_exchange for one login, as sssd runs
 * krb5_child (posix_spawn here): one message each way, SIGKILL at the deadline,
 * reaped by pid.  It runs inside sshd, su or sudo, so it changes nothing
 * process-wide (no signal disposition, no SIGCHLD handler).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "exchange_child.h"
#include "safe_file.h"
#include "secret.h"

/* ----------------------------------------------------------------------- */
/* Is the helper ours?                                                      */

/* Checked as every file the module trusts, and executable: when nobody else
 * can change it or a directory above it, the name checked is the program run. */
bool exchange_child_helper_ok(char reason[PH_REASON_MAX])
{
	const char *path = exchange_helper_path();
	char why[PH_REASON_MAX];
	struct stat st;
	int fd = safe_file_open_stat(path, SAFE_FILE_PUBLIC, NULL, &st, why);

	if (fd < 0)
		return ph_why_not(reason, "exchange helper: %.480s", why);
	close(fd);
	if ((st.st_mode & S_IXUSR) != 0)
		return true;
	return ph_why_not(reason, "exchange helper %s is not executable", path);
}

/* ----------------------------------------------------------------------- */
/* Time.                                                                    */

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Milliseconds left until deadline, 0 when it has passed. */
static int left_ms(long long deadline)
{
	long long left = deadline - now_ms();

	return left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
}

/* Wait for events on fd; false when the deadline passed first. */
static bool wait_for(int fd, short events, long long deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int ready = poll(&p, 1, left_ms(deadline));

		if (ready > 0)
			return true;
		if (ready == 0 || errno != EINTR)
			return false;
	}
}

/* ----------------------------------------------------------------------- */
/* Starting it.                                                             */

/* A pipe whose ends are both above 2 (the host may have closed 0-2) and close-on-exec. */
static bool pipe_above_stdio(int ends[2])
{
	if (pipe2(ends, O_CLOEXEC) != 0)
		return false;
	for (int i = 0; i < 2; i++) {
		if (ends[i] <= 2) {
			int moved = fcntl(ends[i], F_DUPFD_CLOEXEC, 3);

			close(ends[i]);
			ends[i] = moved;
		}
	}
	if (ends[0] >= 0 && ends[1] >= 0)
		return true;
	if (ends[0] >= 0)
		close(ends[0]);
	if (ends[1] >= 0)
		close(ends[1]);
	return false;
}

/*
 * What the helper starts with: the request pipe as 0, the reply pipe as 1,
 * nothing else open (2 too is closed: it reopens it on /dev/null) and no
 * signal blocked.  Whatever the host had open stays in the host.
 */
static bool spawn_plan(posix_spawn_file_actions_t *actions, posix_spawnattr_t *attributes,
		       int request_end, int reply_end)
{
	sigset_t none;

	sigemptyset(&none);
	return posix_spawn_file_actions_init(actions) == 0 &&
	       posix_spawn_file_actions_adddup2(actions, request_end, 0) == 0 &&
	       posix_spawn_file_actions_adddup2(actions, reply_end, 1) == 0 &&
	       posix_spawn_file_actions_addclose(actions, 2) == 0 &&
	       posix_spawn_file_actions_addclosefrom_np(actions, 3) == 0 &&
	       posix_spawnattr_init(attributes) == 0 &&
	       posix_spawnattr_setsigmask(attributes, &none) == 0 &&
	       posix_spawnattr_setflags(attributes, POSIX_SPAWN_SETSIGMASK) == 0;
}

/*
 * posix_spawn, not fork: glibc's shares the host's memory until the execve
 * instead of copying sshd's or sudo's page tables for a child that replaces
 * them at once, and reports an execve that failed as an error here.
 */
static int spawn_helper(const char *path, int request_end, int reply_end, pid_t *pid)
{
	static char *const argv[] = { "pam_heroku_exchange", NULL };
	/*
	 * Nothing of the host's environment; one fixed variable.  Debian's
	 * libcurl pulls in GnuTLS (for librtmp) though the helper speaks https
	 * through OpenSSL only: this keeps GnuTLS from initialising itself
	 * when it is loaded, about 0.5 ms of a login (BENCHMARKS.md).  GnuTLS
	 * reads it with secure_getenv: in a secure-mode start (su's real uid,
	 * an SELinux transition) it is ignored, and GnuTLS initialises as before.
	 */
	static char *const envp[] = { "GNUTLS_NO_IMPLICIT_INIT=1", NULL };
	posix_spawn_file_actions_t actions;
	posix_spawnattr_t attributes;
	int rc = ENOMEM;

	memset(&actions, 0, sizeof actions);
	memset(&attributes, 0, sizeof attributes);
	if (spawn_plan(&actions, &attributes, request_end, reply_end))
		rc = posix_spawn(pid, path, &actions, &attributes, argv, envp);
	posix_spawn_file_actions_destroy(&actions);
	posix_spawnattr_destroy(&attributes);
	return rc;
}

/* On failure child->pid stays -1 and child->failure says how bad it is. */
static bool start_helper(const char *path, struct exchange_child *child)
{
	int request[2], reply[2];
	int rc;

	if (!pipe_above_stdio(request)) {
		child->failure = ph_reason(child->reason, PH_UNAVAILABLE, "cannot make a pipe: %s",
					   strerror(errno));
		return false;
	}
	if (!pipe_above_stdio(reply)) {
		child->failure = ph_reason(child->reason, PH_UNAVAILABLE, "cannot make a pipe: %s",
					   strerror(errno));
		close(request[0]);
		close(request[1]);
		return false;
	}
	rc = spawn_helper(path, request[0], reply[1], &child->pid);
	close(request[0]);
	close(reply[1]);
	if (rc != 0) {
		/* Out of processes, memory or descriptors is the host's moment; a
		 * program that cannot be run is the installation's fault. */
		child->failure = ph_reason(child->reason,
					   rc == EAGAIN || rc == ENOMEM || rc == EMFILE ||
					   rc == ENFILE ? PH_UNAVAILABLE : PH_MISCONFIGURED,
					   "cannot run the exchange helper %s: %s", path, strerror(rc));
		child->pid = -1;
		close(request[1]);
		close(reply[0]);
		return false;
	}
	child->to_child = request[1];
	child->from_child = reply[0];
	fcntl(child->to_child, F_SETFL, O_NONBLOCK);
	fcntl(child->from_child, F_SETFL, O_NONBLOCK);
	return true;
}

/* ----------------------------------------------------------------------- */
/* Talking to it.                                                           */

/*
 * write() that cannot raise SIGPIPE in the host when the helper is gone:
 * the signal is blocked for this thread, and one it caused is taken back
 * before the old mask returns.
 */
static ssize_t write_without_sigpipe(int fd, const char *data, size_t len)
{
	static const struct timespec no_wait = { 0, 0 };
	sigset_t pipe_only, old, pending;
	bool was_pending;
	ssize_t put;
	int saved;

	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	put = write(fd, data, len);
	saved = errno;
	if (put < 0 && saved == EPIPE && !was_pending)
		while (sigtimedwait(&pipe_only, NULL, &no_wait) < 0 && errno == EINTR)
			;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = saved;
	return put;
}

/*
 * Write what is left of data (from *sent on); when the pipe is full, wait for
 * room until the deadline, or with wait false return at once (true: no failure).
 */
static bool send_bytes(int fd, const char *data, size_t len, size_t *sent, bool wait,
		       long long deadline)
{
	while (*sent < len) {
		ssize_t put = write_without_sigpipe(fd, data + *sent, len - *sent);

		if (put > 0)
			*sent += (size_t)put;
		else if (put < 0 && errno == EINTR)
			continue;
		else if (put < 0 && errno == EAGAIN) {
			if (!wait)
				return true;
			if (!wait_for(fd, POLLOUT, deadline))
				return false;
		} else
			return false;
	}
	return true;
}

/* The rest of the request, then the go byte that releases it. */
static bool send_request_and_go(struct exchange_child *child, long long deadline)
{
	static const char go = WIRE_GO;
	size_t go_sent = 0;

	return send_bytes(child->to_child, child->request, child->request_len,
			  &child->request_sent, true, deadline) &&
	       send_bytes(child->to_child, &go, 1, &go_sent, true, deadline);
}

static void forget_request(struct exchange_child *child)
{
	if (child->request != NULL)
		secret_free_len(child->request, child->request_len);
	child->request = NULL;
	child->request_len = child->request_sent = 0;
}

/* Read to EOF, at most WIRE_REPLY_MAX bytes; false on timeout or excess. */
static bool receive_reply(int fd, char *buffer, size_t *len, long long deadline,
			  bool *timed_out)
{
	*len = 0;
	for (;;) {
		ssize_t got = read(fd, buffer + *len, WIRE_REPLY_MAX + 1 - *len);

		if (got > 0) {
			*len += (size_t)got;
			if (*len > WIRE_REPLY_MAX)
				return false;
		} else if (got == 0) {
			return true;
		} else if (errno == EAGAIN) {
			if (!wait_for(fd, POLLIN, deadline)) {
				*timed_out = left_ms(deadline) == 0;
				return false;
			}
		} else if (errno != EINTR) {
			return false;
		}
	}
}

/* ----------------------------------------------------------------------- */
/* Ending it.                                                               */

enum ending { ENDED_UNKNOWN, ENDED_EXIT, ENDED_SIGNAL };

struct end {
	enum ending how;
	int code;               /* exit status or signal number */
	bool killed;            /* by us, at the deadline */
};

/* The pause before the next look at a child not yet ended: 50 us, doubling to
 * 2 ms, since its pipe closes a little before it becomes a zombie. */
static long next_pause_ns(long pause_ns)
{
	return pause_ns >= 1000 * 1000 ? 2 * 1000 * 1000 : 2 * pause_ns;
}

/*
 * waitpid(pid) until it ends or the deadline passes, then SIGKILL.  ECHILD
 * (the host reaped it first) leaves the end unknown: the reply decides.
 */
static struct end reap(pid_t pid, long long deadline)
{
	struct end end = { ENDED_UNKNOWN, 0, false };
	long pause_ns = 50 * 1000;
	int status;

	for (;;) {
		pid_t got = waitpid(pid, &status, end.killed ? 0 : WNOHANG);

		if (got == pid)
			break;
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return end;
		if (left_ms(deadline) == 0) {
			kill(pid, SIGKILL);     /* still our unreaped child: its pid is not reused */
			end.killed = true;
			continue;
		}
		{
			struct timespec pause = { 0, pause_ns };

			nanosleep(&pause, NULL);
			pause_ns = next_pause_ns(pause_ns);
		}
	}
	if (WIFEXITED(status)) {
		end.how = ENDED_EXIT;
		end.code = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		end.how = ENDED_SIGNAL;
		end.code = WTERMSIG(status);
	}
	return end;
}

/* ----------------------------------------------------------------------- */
/* Judging what came back.                                                  */

/* What a verdict must hold to be believed; false when it breaks a rule. */
static bool reply_consistent(const struct settings *settings, struct wire_reply *reply)
{
	struct token_response *response = &reply->response;

	if (reply->result != PH_OK) {
		secret_free(response->access_token);
		response->access_token = NULL;
		response->user_id[0] = '\0';
		response->session_id[0] = '\0';
		return true;
	}
	if (!uuid_is_valid(response->user_id, strlen(response->user_id)) ||
	    (response->session_id[0] != '\0' &&
	     !token_response_is_session_id(response->session_id)))
		return false;
	if (settings->export_access_token)
		return response->access_token != NULL &&
		       credential_is_token(response->access_token);
	return response->access_token == NULL;
}

static enum ph_result judge(const struct settings *settings, const char *data, size_t len,
			    bool complete, bool released, const struct end *end,
			    struct wire_reply *reply)
{
	char why[PH_REASON_MAX] = "";

	if (end->killed) {
		wire_reply_clear(reply);
		snprintf(reply->reason, sizeof reply->reason,
			 "the exchange helper did not answer within %ld s",
			 settings->timeout + EXCHANGE_CHILD_MARGIN);
		return reply->result = PH_UNAVAILABLE;
	}
	if (end->how == ENDED_SIGNAL) {
		wire_reply_clear(reply);
		snprintf(reply->reason, sizeof reply->reason,
			 "the exchange helper died of signal %d", end->code);
		return reply->result = PH_UNAVAILABLE;
	}
	if (end->how == ENDED_EXIT && end->code != 0 && len == 0) {
		/* 127 before a word: the dynamic loader could not start it. */
		wire_reply_clear(reply);
		snprintf(reply->reason, sizeof reply->reason,
			 "the exchange helper %s exited with status %d before answering%s",
			 exchange_helper_path(), end->code,
			 end->code == 127 ? " (can it load its libraries?)" : "");
		return reply->result = end->code == 127 ? PH_MISCONFIGURED : PH_UNAVAILABLE;
	}
	if (!complete || !wire_reply_decode(data, len, reply, why) ||
	    !reply_consistent(settings, reply) || (end->how == ENDED_EXIT && end->code != 0) ||
	    (reply->result == PH_OK && !released)) {
		wire_reply_clear(reply);
		snprintf(reply->reason, sizeof reply->reason,
			 "the exchange helper's reply is incomplete or malformed%s%s",
			 why[0] ? ": " : "", why);
		return reply->result = PH_UNAVAILABLE;
	}
	return reply->result;
}

/* ----------------------------------------------------------------------- */

static bool encode_request(const struct settings *settings, const struct credential *credential,
			   char **data, size_t *len)
{
	struct wire_request request = {
		.grant = credential->grant,
		.client_secret = settings->client_secret,
		.api_url = settings->api_url,
		.proxy = settings->proxy,
		.timeout = settings->timeout,
		.pinned_pubkey = settings->pinned_pubkey,
		.ca_file = settings->ca_file,
		.ca_pem = settings->ca_pem,
		.ca_pem_len = settings->ca_pem_len,
		.export_access_token = settings->export_access_token,
	};
	bool ok;

	request.credential = malloc(credential->value_len + 1);
	if (request.credential == NULL)
		return false;
	memcpy(request.credential, credential->value, credential->value_len);
	request.credential[credential->value_len] = '\0';
	ok = wire_request_encode(&request, data, len);
	secret_free_len(request.credential, credential->value_len + 1);
	return ok;
}

void exchange_child_start(struct exchange_child *child, const struct settings *settings,
			  const struct credential *credential)
{
	memset(child, 0, sizeof *child);
	child->pid = -1;
	if (!exchange_child_helper_ok(child->reason)) {
		child->failure = PH_MISCONFIGURED;
		return;
	}
	if (!start_helper(exchange_helper_path(), child))
		return;
	if (!encode_request(settings, credential, &child->request, &child->request_len)) {
		exchange_child_abandon(child);
		child->failure = ph_reason(child->reason, PH_UNAVAILABLE,
					   "out of memory preparing the request");
		return;
	}
	/* A pipe that holds it all, where the kernel allows (best effort: a
	 * request that does not fit waits for the finish, and so does the
	 * helper's connection).  A failure here shows again there, where it is
	 * judged. */
	if (child->request_len >= 64 * 1024)
		fcntl(child->to_child, F_SETPIPE_SZ, (int)(child->request_len + 1));
	send_bytes(child->to_child, child->request, child->request_len, &child->request_sent,
		   false, 0);
}

/*
 * Without the go byte it sends nothing, so nothing is lost by SIGKILL;
 * waiting for it to see the closed pipe and exit cost every refused login
 * ~13 ms of the host's time and the helper's CPU.
 */
void exchange_child_abandon(struct exchange_child *child)
{
	forget_request(child);
	if (child->pid < 0)
		return;
	close(child->to_child);
	close(child->from_child);
	reap(child->pid, now_ms());     /* its deadline now: killed unless already ended */
	child->pid = -1;
}

enum ph_result exchange_child_finish(struct exchange_child *child,
				     const struct settings *settings,
				     struct wire_reply *reply)
{
	long long deadline = now_ms() + (settings->timeout + EXCHANGE_CHILD_MARGIN) * 1000LL;
	char *answer = NULL;
	size_t answer_len = 0;
	bool complete, released, timed_out = false;
	struct end end;
	enum ph_result result;

	memset(reply, 0, sizeof *reply);
	if (child->pid < 0) {
		snprintf(reply->reason, sizeof reply->reason, "%s", child->reason);
		return reply->result = child->failure;
	}
	/* Not zeroed: only the answer_len bytes read are looked at, and wiped. */
	answer = malloc(WIRE_REPLY_MAX + 1);
	if (answer == NULL) {
		exchange_child_abandon(child);
		return reply->result = ph_reason(reply->reason, PH_UNAVAILABLE,
						 "out of memory for the helper's reply");
	}
	released = send_request_and_go(child, deadline);
	forget_request(child);
	close(child->to_child);
	/* Read even when the go byte could not be written: a helper that failed
	 * before it (no connection) has said why, and exited. */
	complete = receive_reply(child->from_child, answer, &answer_len, deadline, &timed_out);
	close(child->from_child);
	end = reap(child->pid, timed_out ? now_ms() : deadline);
	child->pid = -1;
	result = judge(settings, answer, answer_len, complete, released, &end, reply);
	secret_free_len(answer, answer_len);
	return result;
}
