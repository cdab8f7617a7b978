/*
 * safe_file.c - open the files the module trusts, refusing unsafe ones.
 *
 * As OpenSSH's StrictModes: a file that someone other than root (or the
 * account the module runs as) could have written may not decide who logs
 * in.  The checks are made with fstat() on the descriptor that is then read,
 * so the file cannot be swapped between the check and the read.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safe_file.h"
#include "secret.h"

bool safe_file_is_private(const struct stat *st)
{
	return (st->st_mode & (S_IRWXG | S_IRWXO)) == 0;
}

bool safe_file_stat_ok(const struct stat *st, const char *path,
		       enum safe_file_secrecy secrecy, char reason[PH_REASON_MAX])
{
	if (!S_ISREG(st->st_mode)) {
		snprintf(reason, PH_REASON_MAX, "%s is not a regular file", path);
		return false;
	}
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		snprintf(reason, PH_REASON_MAX, "%s is owned by uid %lu, not by root or uid %lu",
			 path, (unsigned long)st->st_uid, (unsigned long)geteuid());
		return false;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(reason, PH_REASON_MAX, "%s is writable by group or others (mode %04o)",
			 path, (unsigned)(st->st_mode & 07777));
		return false;
	}
	if (secrecy == SAFE_FILE_PRIVATE && !safe_file_is_private(st)) {
		snprintf(reason, PH_REASON_MAX,
			 "%s holds a secret but is readable by group or others (mode %04o)",
			 path, (unsigned)(st->st_mode & 07777));
		return false;
	}
	return true;
}

int safe_file_open(const char *path, enum safe_file_secrecy secrecy,
		   char reason[PH_REASON_MAX])
{
	struct stat st;
	int fd;

	/* O_NONBLOCK: a FIFO planted in place of the file must not hang the login. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int saved = errno;

		snprintf(reason, PH_REASON_MAX, "cannot open %s: %s", path, strerror(saved));
		errno = saved;
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		int saved = errno;

		snprintf(reason, PH_REASON_MAX, "cannot stat %s: %s", path, strerror(saved));
		close(fd);
		errno = saved;
		return -1;
	}
	if (!safe_file_stat_ok(&st, path, secrecy, reason)) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

static enum ph_result read_all(int fd, const char *path, char *buffer, size_t capacity,
			       size_t *len, char reason[PH_REASON_MAX])
{
	size_t used = 0;

	for (;;) {
		ssize_t got = read(fd, buffer + used, capacity - used);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			snprintf(reason, PH_REASON_MAX, "cannot read %s: %s", path, strerror(errno));
			return PH_MISCONFIGURED;
		}
		if (got == 0)
			break;
		used += (size_t)got;
		if (used == capacity) {
			snprintf(reason, PH_REASON_MAX, "%s is larger than %zu bytes",
				 path, capacity - 1);
			return PH_MISCONFIGURED;
		}
	}
	*len = used;
	return PH_OK;
}

enum ph_result safe_file_read(const char *path, enum safe_file_secrecy secrecy,
			      size_t max_size, char **text, size_t *len,
			      struct stat *st, char reason[PH_REASON_MAX])
{
	enum ph_result result;
	struct stat file_st;
	char *buffer;
	int fd;

	*text = NULL;
	*len = 0;
	fd = safe_file_open(path, secrecy, reason);
	if (fd < 0)
		return PH_MISCONFIGURED;
	if (fstat(fd, &file_st) != 0) {
		snprintf(reason, PH_REASON_MAX, "cannot stat %s: %s", path, strerror(errno));
		close(fd);
		return PH_MISCONFIGURED;
	}
	/* One spare byte: reading max_size + 1 bytes proves the file is too big. */
	buffer = calloc(1, max_size + 1);
	if (buffer == NULL) {
		snprintf(reason, PH_REASON_MAX, "out of memory reading %s", path);
		close(fd);
		return PH_MISCONFIGURED;
	}
	result = read_all(fd, path, buffer, max_size + 1, len, reason);
	close(fd);
	if (result != PH_OK) {
		secret_free_len(buffer, max_size + 1);
		*len = 0;
		return result;
	}
	buffer[*len] = '\0';
	*text = buffer;
	if (st != NULL)
		*st = file_st;
	return PH_OK;
}
