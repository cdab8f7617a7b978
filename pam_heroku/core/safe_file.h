/*
 * safe_file.h - files the module trusts, checked as OpenSSH's StrictModes:
 * a regular file owned by root or the effective uid and writable by no one
 * else, and so every directory up to "/" (a sticky one when the entry is
 * root's or ours), links walked the same way; a secret's file not readable by
 * group or others either.  The open descriptor is what is checked and read;
 * pseudo file systems (procfs, sysfs, devtmpfs, ...) are refused.
 */
#ifndef PAM_HEROKU_SAFE_FILE_H
#define PAM_HEROKU_SAFE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "result.h"

enum safe_file_secrecy {
	SAFE_FILE_PUBLIC,   /* others may read it, nobody else may write it */
	SAFE_FILE_PRIVATE,  /* holds a secret: group and others may not read it either */
};

/*
 * Open path (absolute) read-only and check it.  Returns a descriptor, or -1
 * with reason filled in; *absent (may be NULL) is true only when the open
 * itself failed with ENOENT, so a caller can tell "no file" from a file it
 * may not use.  *st (may be NULL) is the descriptor's status that was checked.
 */
int safe_file_open_stat(const char *path, enum safe_file_secrecy secrecy, bool *absent,
			struct stat *st, char reason[PH_REASON_MAX]);

/* Check an already opened file's status; false with reason when unsafe. */
bool safe_file_stat_ok(const struct stat *st, const char *path,
		       enum safe_file_secrecy secrecy, char reason[PH_REASON_MAX]);

/* True when group and others cannot read the file. */
bool safe_file_is_private(const struct stat *st);

/*
 * Read a whole small file (at most max_size bytes) that passed
 * safe_file_open_stat into a NUL-terminated buffer the caller frees with
 * secret_free_len(*text, *len + 1).  The buffer is sized by the file, not by
 * max_size; what is there at the end of the read is what counts, even when
 * the file grew or shrank since its fstat.  On success also returns the
 * file's status in *st (may be NULL).  PH_MISCONFIGURED with reason on any
 * failure, a file too large or unreadable included; *absent (may be NULL) as
 * for safe_file_open_stat.
 */
enum ph_result safe_file_read(const char *path, enum safe_file_secrecy secrecy,
			      size_t max_size, char **text, size_t *len,
			      struct stat *st, bool *absent, char reason[PH_REASON_MAX]);

#endif
