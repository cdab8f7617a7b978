/*
 * safe_file.h - files the module trusts, checked as OpenSSH's StrictModes.
 *
 * The config file, the allowlist, the secret file (and the CA file) must be
 * regular files owned by root or by the effective uid, not writable by group
 * or others; files holding the client secret must also not be readable by
 * group or others.  Checks are made on the open descriptor (fstat), so what
 * is checked is what is read.
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
 * Open path read-only and check it.  Returns a descriptor, or -1 with reason
 * filled in and errno set (ENOENT when the file does not exist, so a caller
 * can tell "absent" from "unsafe"; EPERM when it exists but is unsafe).
 */
int safe_file_open(const char *path, enum safe_file_secrecy secrecy,
		   char reason[PH_REASON_MAX]);

/* Check an already opened file's status; false with reason when unsafe. */
bool safe_file_stat_ok(const struct stat *st, const char *path,
		       enum safe_file_secrecy secrecy, char reason[PH_REASON_MAX]);

/* True when group and others cannot read the file. */
bool safe_file_is_private(const struct stat *st);

/*
 * Read a whole small file (at most max_size bytes) that passed safe_file_open
 * into a NUL-terminated buffer the caller frees with secret_free_len(*text,
 * *len + 1).  On success also returns the file's status in *st (may be NULL).
 * PH_MISCONFIGURED with reason on any failure; errno ENOENT when absent.
 */
enum ph_result safe_file_read(const char *path, enum safe_file_secrecy secrecy,
			      size_t max_size, char **text, size_t *len,
			      struct stat *st, char reason[PH_REASON_MAX]);

#endif
