/*
 * safe_file.h - files the module trusts, checked as OpenSSH's StrictModes.
 *
 * The config file, the allowlist, the secret file and the CA file must be
 * regular files owned by root or by the effective uid, not writable by group
 * or others, and so must every directory from the file up to "/" (a sticky
 * directory such as /tmp is allowed when the entry below it is root's or
 * ours).  A symbolic link is followed only by walking where it points the
 * same way.  Files holding the client secret must also not be readable by
 * group or others.  What is read is the open descriptor, whose identity
 * (device, inode) must be the file the walk checked; files on procfs, sysfs,
 * devtmpfs and other pseudo file systems are refused.
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
 * secret_free_len(*text, *len + 1).  On success also returns the file's status in *st (may be NULL).
 * PH_MISCONFIGURED with reason on any failure, a file too large or unreadable
 * included; *absent (may be NULL) as for safe_file_open_stat.
 */
enum ph_result safe_file_read(const char *path, enum safe_file_secrecy secrecy,
			      size_t max_size, char **text, size_t *len,
			      struct stat *st, bool *absent, char reason[PH_REASON_MAX]);

#endif
