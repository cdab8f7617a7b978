/*
 * safe_file.c - open the files the module trusts, refusing unsafe ones
 * (safe_file.h).  As OpenSSH's StrictModes: what someone other than root or
 * us could have written, or swapped through a directory, decides nothing.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "safe_file.h"
#include "secret.h"

/* As the kernel's own limit (MAXSYMLINKS) for one path. */
#define SYMLINKS_MAX 40

bool safe_file_is_private(const struct stat *st)
{
	return (st->st_mode & (S_IRWXG | S_IRWXO)) == 0;
}

static bool owned_by_root_or_us(const struct stat *st)
{
	return st->st_uid == 0 || st->st_uid == geteuid();
}

bool safe_file_stat_ok(const struct stat *st, const char *path,
		       enum safe_file_secrecy secrecy, char reason[PH_REASON_MAX])
{
	if (!S_ISREG(st->st_mode))
		return ph_why_not(reason, "%s is not a regular file", path);
	if (!owned_by_root_or_us(st))
		return ph_why_not(reason, "%s is owned by uid %lu, not by root or uid %lu",
				  path, (unsigned long)st->st_uid, (unsigned long)geteuid());
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return ph_why_not(reason, "%s is writable by group or others (mode %04o)",
				  path, (unsigned)(st->st_mode & 07777));
	if (secrecy == SAFE_FILE_PRIVATE && !safe_file_is_private(st))
		return ph_why_not(reason,
				  "%s holds a secret but is readable by group or others (mode %04o)",
				  path, (unsigned)(st->st_mode & 07777));
	return true;
}

/* ----------------------------------------------------------------------- */
/* The walk from "/" to the file.                                          */

struct walk {
	const char *name;               /* the path as given, for reasons */
	char *reason;
	char dir[PATH_MAX];             /* the directory reached so far, canonical */
	char pending[2 * PATH_MAX];     /* what is left to resolve */
	unsigned symlinks;
	struct stat file;               /* the file the walk ends at */
};

static bool walk_fail(struct walk *walk, const char *format, ...)
	__attribute__((format(printf, 2, 3)));

static bool walk_fail(struct walk *walk, const char *format, ...)
{
	char detail[PH_REASON_MAX / 2];
	va_list args;

	va_start(args, format);
	vsnprintf(detail, sizeof detail, format, args);
	va_end(args);
	return ph_why_not(walk->reason, "%.200s: %s", walk->name, detail);
}

/*
 * The directory that holds entry: owned by root or us, and writable by no
 * one else, unless it is sticky (as /tmp) and the entry is root's or ours,
 * which then no one else may rename or remove.
 */
static bool directory_ok(struct walk *walk, const struct stat *entry)
{
	struct stat dir;

	if (lstat(walk->dir, &dir) != 0)
		return walk_fail(walk, "cannot stat directory %s: %s", walk->dir, strerror(errno));
	if (!owned_by_root_or_us(&dir))
		return walk_fail(walk, "directory %s is owned by uid %lu, not by root or uid %lu",
				 walk->dir, (unsigned long)dir.st_uid, (unsigned long)geteuid());
	if ((dir.st_mode & (S_IWGRP | S_IWOTH)) &&
	    !((dir.st_mode & S_ISVTX) && owned_by_root_or_us(entry)))
		return walk_fail(walk, "directory %s is writable by group or others (mode %04o)",
				 walk->dir, (unsigned)(dir.st_mode & 07777));
	return true;
}

static bool nothing_pending(const struct walk *walk)
{
	return walk->pending[strspn(walk->pending, "/")] == '\0';
}

/* Move the first component of walk->pending into component: 1, or 0 when
 * none is left, or -1 when it is longer than a name may be. */
static int next_component(struct walk *walk, char component[NAME_MAX + 1])
{
	const char *start = walk->pending + strspn(walk->pending, "/");
	size_t len = strcspn(start, "/");

	if (len == 0)
		return 0;
	if (len > NAME_MAX)
		return -1;
	memcpy(component, start, len);
	component[len] = '\0';
	memmove(walk->pending, start + len, strlen(start + len) + 1);
	return 1;
}

/* ".." of the canonical directory reached so far. */
static void go_up(struct walk *walk)
{
	char *slash = strrchr(walk->dir, '/');

	if (slash != NULL && slash != walk->dir)
		*slash = '\0';
	else
		strcpy(walk->dir, "/");
}

/* A link met on the way: what it points to is walked next, from "/" or here. */
static bool follow_link(struct walk *walk, const char *link)
{
	char target[PATH_MAX];
	ssize_t len;

	if (++walk->symlinks > SYMLINKS_MAX)
		return walk_fail(walk, "more than %d symbolic links", SYMLINKS_MAX);
	len = readlink(link, target, sizeof target - 1);
	if (len <= 0)
		return walk_fail(walk, "cannot read the symbolic link %s", link);
	target[len] = '\0';
	if ((size_t)len + 1 + strlen(walk->pending) + 1 > sizeof walk->pending)
		return walk_fail(walk, "the path through %s is too long", link);
	memmove(walk->pending + len + 1, walk->pending, strlen(walk->pending) + 1);
	memcpy(walk->pending, target, (size_t)len);
	walk->pending[len] = '/';
	if (target[0] == '/')
		strcpy(walk->dir, "/");
	return true;
}

/*
 * Resolve walk->name from "/", checking each directory that holds an
 * entry on the way (symbolic links and where they point included); at the
 * end walk->file is the status of the file reached.
 */
static bool walk_path(struct walk *walk)
{
	char component[NAME_MAX + 1];
	char entry[PATH_MAX + NAME_MAX + 2];
	int got;

	strcpy(walk->dir, "/");
	snprintf(walk->pending, sizeof walk->pending, "%s", walk->name);  /* < PATH_MAX */
	while ((got = next_component(walk, component)) > 0) {
		struct stat st;

		if (strcmp(component, ".") == 0)
			continue;
		if (strcmp(component, "..") == 0) {
			go_up(walk);
			continue;
		}
		snprintf(entry, sizeof entry, "%s%s%s", walk->dir,
			 strcmp(walk->dir, "/") == 0 ? "" : "/", component);
		if (strlen(entry) >= PATH_MAX)
			return walk_fail(walk, "the path under %s is too long", walk->dir);
		if (lstat(entry, &st) != 0)
			return walk_fail(walk, "cannot stat %s: %s", entry, strerror(errno));
		if (!directory_ok(walk, &st))
			return false;
		if (S_ISLNK(st.st_mode)) {
			if (!follow_link(walk, entry))
				return false;
		} else if (nothing_pending(walk)) {
			walk->file = st;
			return true;
		} else if (!S_ISDIR(st.st_mode)) {
			return walk_fail(walk, "%s is not a directory", entry);
		} else {
			snprintf(walk->dir, sizeof walk->dir, "%s", entry);   /* fits: checked above */
		}
	}
	if (got < 0)
		return walk_fail(walk, "a name on the path is longer than %d bytes", NAME_MAX);
	return walk_fail(walk, "the path names no file");
}

/* ----------------------------------------------------------------------- */
/* The file system under the file.                                          */

/*
 * Pseudo file systems whose "files" hold what other processes chose
 * (environments, command lines, kernel state), whoever owns them.
 */
static bool is_pseudo_fs(unsigned long type)
{
	static const unsigned long types[] = {
		PROC_SUPER_MAGIC, SYSFS_MAGIC, DEVPTS_SUPER_MAGIC, CGROUP_SUPER_MAGIC,
		CGROUP2_SUPER_MAGIC, SECURITYFS_MAGIC, DEBUGFS_MAGIC, TRACEFS_MAGIC,
		BPF_FS_MAGIC, EFIVARFS_MAGIC,
	};

	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (type == types[i])
			return true;
	return false;
}

/*
 * devtmpfs reports the magic of tmpfs (or ramfs), so fstatfs alone cannot
 * tell it from /tmp: a file on such a file system is refused when it is the
 * one mounted at /dev.
 */
static bool is_on_devtmpfs(unsigned long type, const struct stat *st)
{
	struct stat dev;

	return (type == TMPFS_MAGIC || type == RAMFS_MAGIC) && stat("/dev", &dev) == 0 &&
	       dev.st_dev == st->st_dev;
}

static bool file_system_ok(int fd, const struct stat *st, const char *path,
			   char reason[PH_REASON_MAX])
{
	struct statfs fs;

	if (fstatfs(fd, &fs) != 0)
		return ph_why_not(reason, "cannot stat the file system of %s: %s", path,
				  strerror(errno));
	if (is_pseudo_fs((unsigned long)fs.f_type) ||
	    is_on_devtmpfs((unsigned long)fs.f_type, st))
		return ph_why_not(reason, "%s is on a pseudo file system (type 0x%lx), whose "
				  "contents other processes choose", path, (unsigned long)fs.f_type);
	return true;
}

/* ----------------------------------------------------------------------- */

/* Every check on an open descriptor: the walk, identity, mode, file system. */
static bool descriptor_ok(int fd, const char *path, enum safe_file_secrecy secrecy,
			  struct stat *st, char reason[PH_REASON_MAX])
{
	/* 12 KiB of path buffers, at every open: not zeroed, walk_path sets what it reads. */
	struct walk *walk = malloc(sizeof *walk);
	bool ok;

	if (walk == NULL)
		return ph_why_not(reason, "out of memory checking %s", path);
	walk->name = path;
	walk->reason = reason;
	walk->symlinks = 0;
	if (fstat(fd, st) != 0)
		ok = ph_why_not(reason, "cannot stat %s: %s", path, strerror(errno));
	else if (strlen(path) >= PATH_MAX)
		ok = ph_why_not(reason, "the path %.64s... is too long", path);
	else
		ok = safe_file_stat_ok(st, path, secrecy, reason) && walk_path(walk);
	if (ok && (walk->file.st_dev != st->st_dev || walk->file.st_ino != st->st_ino))
		ok = ph_why_not(reason, "%s changed while it was being checked", path);
	if (ok)
		ok = file_system_ok(fd, st, path, reason);
	free(walk);
	return ok;
}

int safe_file_open_stat(const char *path, enum safe_file_secrecy secrecy, bool *absent,
			struct stat *st, char reason[PH_REASON_MAX])
{
	struct stat own;
	int fd;

	if (absent != NULL)
		*absent = false;
	if (path[0] != '/') {
		snprintf(reason, PH_REASON_MAX, "%s is not an absolute path", path);
		return -1;
	}
	/* O_NONBLOCK: a FIFO planted in place of the file must not hang the login. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		int saved = errno;

		snprintf(reason, PH_REASON_MAX, "cannot open %s: %s", path, strerror(saved));
		if (absent != NULL)
			*absent = saved == ENOENT;
		return -1;
	}
	if (!descriptor_ok(fd, path, secrecy, st != NULL ? st : &own, reason)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Room for a file fstat said holds size bytes, at most max_size, and one
 * byte more: for the terminator, and to see a read go past the expected end.
 */
static size_t first_capacity(const struct stat *st, size_t max_size)
{
	size_t size = st->st_size > 0 ? (size_t)st->st_size : 0;

	return (size < max_size ? size : max_size) + 1;
}

/*
 * A file that grew after fstat: a larger buffer, at most max_size + 1 bytes.
 * Not realloc: the old one, which may hold a secret, is wiped before it goes.
 */
static char *grow(char *buffer, size_t used, size_t *capacity, size_t max_size)
{
	size_t larger = *capacity <= max_size / 2 ? *capacity * 2 : max_size + 1;
	char *bigger = malloc(larger);

	if (bigger != NULL)
		memcpy(bigger, buffer, used);
	secret_free_len(buffer, used);
	*capacity = larger;
	return bigger;
}

/*
 * Read fd to its end into *buffer (capacity bytes, grown as needed up to
 * max_size + 1).  A read that fills max_size + 1 bytes proves the file too
 * big; *used is what the buffer holds, on every path, for the wipe.
 */
static enum ph_result read_all(int fd, const char *path, size_t max_size, char **buffer,
			       size_t capacity, size_t *used, char reason[PH_REASON_MAX])
{
	*used = 0;
	for (;;) {
		ssize_t got;

		if (*used == capacity && capacity > max_size)
			return ph_reason(reason, PH_MISCONFIGURED, "%s is larger than %zu bytes",
					 path, max_size);
		if (*used == capacity && (*buffer = grow(*buffer, *used, &capacity,
							   max_size)) == NULL) {
			*used = 0;
			return ph_reason(reason, PH_MISCONFIGURED, "out of memory reading %s", path);
		}
		got = read(fd, *buffer + *used, capacity - *used);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return ph_reason(reason, PH_MISCONFIGURED,
					 "cannot read %s: %s", path, strerror(errno));
		if (got == 0)
			return PH_OK;   /* *used < capacity: room for the terminator */
		*used += (size_t)got;
	}
}

enum ph_result safe_file_read(const char *path, enum safe_file_secrecy secrecy,
			      size_t max_size, char **text, size_t *len,
			      struct stat *st, bool *absent, char reason[PH_REASON_MAX])
{
	enum ph_result result;
	struct stat file_st;
	size_t capacity;
	char *buffer;
	int fd;

	*text = NULL;
	*len = 0;
	fd = safe_file_open_stat(path, secrecy, absent, &file_st, reason);
	if (fd < 0)
		return PH_MISCONFIGURED;
	/* Sized by the checked descriptor's fstat, not by max_size: nothing to
	 * zero, and only the bytes that held the file are wiped when freed. */
	capacity = first_capacity(&file_st, max_size);
	buffer = malloc(capacity);
	if (buffer == NULL) {
		snprintf(reason, PH_REASON_MAX, "out of memory reading %s", path);
		close(fd);
		return PH_MISCONFIGURED;
	}
	result = read_all(fd, path, max_size, &buffer, capacity, len, reason);
	close(fd);
	if (result != PH_OK) {
		secret_free_len(buffer, *len);
		*len = 0;
		return result;
	}
	buffer[*len] = '\0';
	*text = buffer;
	if (st != NULL)
		*st = file_st;
	return PH_OK;
}
