/*
 * test_safe_file.c - files the module trusts, checked as OpenSSH's StrictModes.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "unit.h"
#include "safe_file.h"
#include "secret.h"

/* ------------------------------------------------------------------------
 * safe_file_open_stat on regular files of each mode.
 */

struct mode_case {
	mode_t mode;
	bool public_ok;
	bool private_ok;
};

static const struct mode_case mode_cases[] = {
	{ 0644, true, false },
	{ 0640, true, false },
	{ 0604, true, false },
	{ 0444, true, false },
	{ 0600, true, true },
	{ 0400, true, true },
	{ 0700, true, true },
	{ 0664, false, false },
	{ 0646, false, false },
	{ 0666, false, false },
	{ 0620, false, false },
	{ 0602, false, false },
	{ 0622, false, false },
	{ 0660, false, false },
	{ 0606, false, false },
	{ 0777, false, false },
};

static void check_open(const char *path, enum safe_file_secrecy secrecy, bool want_ok,
		       const char *what)
{
	char reason[PH_REASON_MAX] = "";
	bool absent = true;
	int fd;

	fd = safe_file_open_stat(path, secrecy, &absent, NULL, reason);
	if (want_ok) {
		ck_assert_msg(fd >= 0, "%s: refused (%s)", what, reason);
		close(fd);
	} else {
		ck_assert_msg(fd == -1, "%s: accepted", what);
		ck_assert_msg(reason[0] != '\0', "%s: empty reason", what);
	}
	ck_assert_msg(!absent, "%s: reported as absent", what);
}

START_TEST(test_open_modes)
{
	const struct mode_case *c = &mode_cases[_i];
	char dir[PATH_MAX], path[PATH_MAX], what[64];

	unit_tmpdir(dir);
	unit_write_text(path, dir, "f", "content\n", c->mode);
	snprintf(what, sizeof what, "mode %04o public", (unsigned)c->mode);
	check_open(path, SAFE_FILE_PUBLIC, c->public_ok, what);
	snprintf(what, sizeof what, "mode %04o private", (unsigned)c->mode);
	check_open(path, SAFE_FILE_PRIVATE, c->private_ok, what);
	unit_rmtree(dir);
}
END_TEST

START_TEST(test_open_missing)
{
	char dir[PATH_MAX], path[PATH_MAX];
	char reason[PH_REASON_MAX] = "";
	bool absent = false;

	unit_tmpdir(dir);
	unit_path(path, dir, "absent");
	ck_assert_int_eq(safe_file_open_stat(path, SAFE_FILE_PUBLIC, &absent, NULL, reason), -1);
	ck_assert(absent);
	ck_assert(reason[0] != '\0');

	unit_path(path, dir, "no/such/dir");
	reason[0] = '\0';
	absent = false;
	ck_assert_int_eq(safe_file_open_stat(path, SAFE_FILE_PRIVATE, &absent, NULL, reason), -1);
	ck_assert(absent);
	ck_assert(reason[0] != '\0');
	unit_rmtree(dir);
}
END_TEST

START_TEST(test_open_directory)
{
	char dir[PATH_MAX];
	char reason[PH_REASON_MAX] = "";
	int fd;

	unit_tmpdir(dir);
	ck_assert_int_eq(chmod(dir, 0755), 0);
	fd = safe_file_open_stat(dir, SAFE_FILE_PUBLIC, NULL, NULL, reason);
	ck_assert_int_eq(fd, -1);
	ck_assert(reason[0] != '\0');
	unit_rmtree(dir);
}
END_TEST

START_TEST(test_open_fifo_does_not_block)
{
	/* No writer: a blocking open would hang here until Check's timeout. */
	char dir[PATH_MAX], path[PATH_MAX];
	char reason[PH_REASON_MAX] = "";
	int fd;

	unit_tmpdir(dir);
	unit_path(path, dir, "fifo");
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	fd = safe_file_open_stat(path, SAFE_FILE_PUBLIC, NULL, NULL, reason);
	ck_assert_int_eq(fd, -1);
	ck_assert(reason[0] != '\0');
	unit_rmtree(dir);
}
END_TEST

START_TEST(test_open_symlink)
{
	char dir[PATH_MAX], good[PATH_MAX], bad[PATH_MAX], link[PATH_MAX];

	unit_tmpdir(dir);
	unit_write_text(good, dir, "good", "x\n", 0644);
	unit_write_text(bad, dir, "bad", "x\n", 0666);

	unit_path(link, dir, "to-good");
	ck_assert_int_eq(symlink(good, link), 0);
	check_open(link, SAFE_FILE_PUBLIC, true, "symlink to 0644, public");
	check_open(link, SAFE_FILE_PRIVATE, false, "symlink to 0644, private");

	unit_path(link, dir, "to-bad");
	ck_assert_int_eq(symlink(bad, link), 0);
	check_open(link, SAFE_FILE_PUBLIC, false, "symlink to 0666");

	unit_path(link, dir, "dangling");
	ck_assert_int_eq(symlink("/nonexistent/pam_heroku/file", link), 0);
	{
		char reason[PH_REASON_MAX] = "";
		bool absent = false;

		ck_assert_int_eq(safe_file_open_stat(link, SAFE_FILE_PUBLIC, &absent, NULL, reason), -1);
		ck_assert(absent);      /* the open itself failed with ENOENT */
	}
	unit_rmtree(dir);
}
END_TEST

START_TEST(test_open_returns_readable_fd)
{
	char dir[PATH_MAX], path[PATH_MAX], buf[16];
	char reason[PH_REASON_MAX] = "";
	int fd;

	unit_tmpdir(dir);
	unit_write_text(path, dir, "f", "hello", 0600);
	fd = safe_file_open_stat(path, SAFE_FILE_PRIVATE, NULL, NULL, reason);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(read(fd, buf, sizeof buf), 5);
	ck_assert_mem_eq(buf, "hello", 5);
	close(fd);
	unit_rmtree(dir);
}
END_TEST

/* ------------------------------------------------------------------------
 * safe_file_stat_ok / safe_file_is_private on made-up status.
 */

static struct stat fake_stat(mode_t mode, uid_t uid)
{
	struct stat st;

	memset(&st, 0, sizeof st);
	st.st_mode = mode;
	st.st_uid = uid;
	st.st_gid = 0;
	st.st_nlink = 1;
	st.st_size = 10;
	return st;
}

START_TEST(test_stat_ok)
{
	char reason[PH_REASON_MAX];
	struct stat st;

	st = fake_stat(S_IFREG | 0644, geteuid());
	ck_assert(safe_file_stat_ok(&st, "/x", SAFE_FILE_PUBLIC, reason));
	st = fake_stat(S_IFREG | 0644, 0);
	ck_assert(safe_file_stat_ok(&st, "/x", SAFE_FILE_PUBLIC, reason));
	st = fake_stat(S_IFREG | 0600, 0);
	ck_assert(safe_file_stat_ok(&st, "/x", SAFE_FILE_PRIVATE, reason));
	st = fake_stat(S_IFREG | 0600, geteuid());
	ck_assert(safe_file_stat_ok(&st, "/x", SAFE_FILE_PRIVATE, reason));
}
END_TEST

START_TEST(test_stat_refused)
{
	static const struct {
		const char *what;
		mode_t mode;
		bool other_owner;
		enum safe_file_secrecy secrecy;
	} rows[] = {
		{ "other owner", S_IFREG | 0644, true, SAFE_FILE_PUBLIC },
		{ "other owner private", S_IFREG | 0600, true, SAFE_FILE_PRIVATE },
		{ "group writable", S_IFREG | 0664, false, SAFE_FILE_PUBLIC },
		{ "other writable", S_IFREG | 0646, false, SAFE_FILE_PUBLIC },
		{ "world writable", S_IFREG | 0666, false, SAFE_FILE_PUBLIC },
		{ "group readable secret", S_IFREG | 0640, false, SAFE_FILE_PRIVATE },
		{ "other readable secret", S_IFREG | 0604, false, SAFE_FILE_PRIVATE },
		{ "directory", S_IFDIR | 0755, false, SAFE_FILE_PUBLIC },
		{ "fifo", S_IFIFO | 0600, false, SAFE_FILE_PUBLIC },
		{ "symlink itself", S_IFLNK | 0644, false, SAFE_FILE_PUBLIC },
		{ "char device", S_IFCHR | 0644, false, SAFE_FILE_PUBLIC },
		{ "block device", S_IFBLK | 0600, false, SAFE_FILE_PRIVATE },
		{ "socket", S_IFSOCK | 0600, false, SAFE_FILE_PRIVATE },
	};

	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		char reason[PH_REASON_MAX] = "";
		struct stat st = fake_stat(rows[i].mode,
					   rows[i].other_owner ? unit_other_uid() : geteuid());

		ck_assert_msg(!safe_file_stat_ok(&st, "/etc/x", rows[i].secrecy, reason),
			      "%s: accepted", rows[i].what);
		ck_assert_msg(reason[0] != '\0', "%s: empty reason", rows[i].what);
	}
}
END_TEST

START_TEST(test_is_private)
{
	struct stat st;

	st = fake_stat(S_IFREG | 0600, 0);
	ck_assert(safe_file_is_private(&st));
	st = fake_stat(S_IFREG | 0400, 0);
	ck_assert(safe_file_is_private(&st));
	st = fake_stat(S_IFREG | 0700, 0);
	ck_assert(safe_file_is_private(&st));
	st = fake_stat(S_IFREG | 0640, 0);
	ck_assert(!safe_file_is_private(&st));
	st = fake_stat(S_IFREG | 0604, 0);
	ck_assert(!safe_file_is_private(&st));
	st = fake_stat(S_IFREG | 0644, 0);
	ck_assert(!safe_file_is_private(&st));
	st = fake_stat(S_IFREG | 0444, 0);
	ck_assert(!safe_file_is_private(&st));
}
END_TEST

/* ------------------------------------------------------------------------
 * safe_file_read.
 */

START_TEST(test_read_contents)
{
	char dir[PATH_MAX], path[PATH_MAX];
	char reason[PH_REASON_MAX] = "";
	char *text = NULL;
	size_t len = 0;
	struct stat st;

	unit_tmpdir(dir);
	unit_write_text(path, dir, "f", "hello\nworld\n", 0644);
	ck_assert_int_eq(safe_file_read(path, SAFE_FILE_PUBLIC, 4096, &text, &len, &st, NULL, reason),
			 PH_OK);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(len, 12);
	ck_assert_str_eq(text, "hello\nworld\n");
	ck_assert_int_eq(text[len], '\0');
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq((int)st.st_size, 12);
	secret_free_len(text, len + 1);
	unit_rmtree(dir);
}
END_TEST

START_TEST(test_read_binary_and_empty)
{
	static const char bin[] = { 'a', '\0', 'b', '\n', '\xff' };
	char dir[PATH_MAX], path[PATH_MAX];
	char reason[PH_REASON_MAX] = "";
	char *text = NULL;
	size_t len = 99;

	unit_tmpdir(dir);
	unit_write_file(path, dir, "bin", bin, sizeof bin, 0600);
	ck_assert_int_eq(safe_file_read(path, SAFE_FILE_PRIVATE, 4096, &text, &len, NULL, NULL, reason),
			 PH_OK);
	ck_assert_uint_eq(len, sizeof bin);
	ck_assert_mem_eq(text, bin, sizeof bin);
	ck_assert_int_eq(text[len], '\0');
	secret_free_len(text, len + 1);

	unit_write_text(path, dir, "empty", "", 0644);
	text = NULL;
	len = 99;
	ck_assert_int_eq(safe_file_read(path, SAFE_FILE_PUBLIC, 4096, &text, &len, NULL, NULL, reason),
			 PH_OK);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_eq(len, 0);
	ck_assert_int_eq(text[0], '\0');
	secret_free_len(text, len + 1);
	unit_rmtree(dir);
}
END_TEST

START_TEST(test_read_max_size)
{
	char dir[PATH_MAX], path[PATH_MAX];
	char content[101];
	char reason[PH_REASON_MAX] = "";
	char *text = NULL;
	size_t len = 0;

	memset(content, 'c', 100);
	content[100] = '\0';
	unit_tmpdir(dir);
	unit_write_text(path, dir, "f", content, 0644);

	ck_assert_int_eq(safe_file_read(path, SAFE_FILE_PUBLIC, 100, &text, &len, NULL, NULL, reason),
			 PH_OK);
	ck_assert_uint_eq(len, 100);
	secret_free_len(text, len + 1);

	text = NULL;
	reason[0] = '\0';
	ck_assert_int_eq(safe_file_read(path, SAFE_FILE_PUBLIC, 99, &text, &len, NULL, NULL, reason),
			 PH_MISCONFIGURED);
	ck_assert(reason[0] != '\0');
	unit_rmtree(dir);
}
END_TEST

START_TEST(test_read_refusals)
{
	char dir[PATH_MAX], path[PATH_MAX];
	char reason[PH_REASON_MAX] = "";
	bool absent = false;
	char *text = NULL;
	size_t len = 0;

	unit_tmpdir(dir);

	/* absent */
	unit_path(path, dir, "absent");
	ck_assert_int_eq(safe_file_read(path, SAFE_FILE_PUBLIC, 4096, &text, &len, NULL, &absent,
					reason), PH_MISCONFIGURED);
	ck_assert(absent);
	ck_assert(reason[0] != '\0');

	/* too large: an error, never "absent", whatever errno was before */
	unit_write_text(path, dir, "big", "0123456789", 0644);
	errno = ENOENT;
	ck_assert_int_eq(safe_file_read(path, SAFE_FILE_PUBLIC, 4, &text, &len, NULL, &absent,
					reason), PH_MISCONFIGURED);
	ck_assert(!absent);

	/* writable by others */
	unit_write_text(path, dir, "ww", "x\n", 0666);
	reason[0] = '\0';
	ck_assert_int_eq(safe_file_read(path, SAFE_FILE_PUBLIC, 4096, &text, &len, NULL, NULL, reason),
			 PH_MISCONFIGURED);
	ck_assert(reason[0] != '\0');

	/* a secret readable by others */
	unit_write_text(path, dir, "secret", "s3cr3t\n", 0644);
	reason[0] = '\0';
	ck_assert_int_eq(safe_file_read(path, SAFE_FILE_PRIVATE, 4096, &text, &len, NULL, NULL, reason),
			 PH_MISCONFIGURED);
	ck_assert(reason[0] != '\0');
	ck_assert_ptr_null(strstr(reason, "s3cr3t"));

	/* a directory */
	reason[0] = '\0';
	ck_assert_int_eq(safe_file_read(dir, SAFE_FILE_PUBLIC, 4096, &text, &len, NULL, NULL, reason),
			 PH_MISCONFIGURED);
	ck_assert(reason[0] != '\0');

	/* a FIFO, without blocking */
	unit_path(path, dir, "fifo");
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	reason[0] = '\0';
	ck_assert_int_eq(safe_file_read(path, SAFE_FILE_PUBLIC, 4096, &text, &len, NULL, NULL, reason),
			 PH_MISCONFIGURED);
	ck_assert(reason[0] != '\0');
	unit_rmtree(dir);
}
END_TEST

/* A file of 12 bytes read with a 1 MiB limit takes a buffer of about its own size. */
START_TEST(test_read_buffer_sized_by_file)
{
	char dir[PATH_MAX], path[PATH_MAX];
	char reason[PH_REASON_MAX] = "";
	char *text = NULL;
	size_t len = 0;

	unit_tmpdir(dir);
	unit_write_text(path, dir, "f", "hello\nworld\n", 0644);
	ck_assert_int_eq(safe_file_read(path, SAFE_FILE_PUBLIC, 1024 * 1024, &text, &len, NULL,
					NULL, reason), PH_OK);
	ck_assert_uint_eq(len, 12);
	ck_assert_uint_lt(malloc_usable_size(text), 64);
	secret_free_len(text, len + 1);
	unit_rmtree(dir);
}
END_TEST

/*
 * A file that changes between safe_file_read's fstat and its first read.
 * This read() stands in for libc's in the test program (the core library is
 * linked in statically): when armed, it rewrites the file in place (same
 * inode, so the open descriptor sees it) just before reading.
 */
static struct {
	const char *path;       /* armed while set; disarmed by its first use */
	const char *content;
} rewrite_before_read;

ssize_t read(int fd, void *buffer, size_t count)
{
	const char *path = rewrite_before_read.path;

	if (path != NULL) {
		const char *content = rewrite_before_read.content;
		int out = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);

		rewrite_before_read.path = NULL;
		if (out < 0 || write(out, content, strlen(content)) != (ssize_t)strlen(content))
			abort();
		close(out);
	}
	return syscall(SYS_read, fd, buffer, count);
}

/* What a build with _FORTIFY_SOURCE=3 (Fedora's, Ubuntu's) calls instead of read(). */
ssize_t __read_chk(int fd, void *buffer, size_t count, size_t buffer_size);
ssize_t __read_chk(int fd, void *buffer, size_t count, size_t buffer_size)
{
	if (count > buffer_size)
		abort();
	return read(fd, buffer, count);
}

/* Read dir/f, written with before and rewritten to after between fstat and read. */
static enum ph_result read_changed(const char *dir, const char *before, const char *after,
				   size_t max_size, char **text, size_t *len)
{
	char path[PATH_MAX], reason[PH_REASON_MAX] = "";
	enum ph_result result;

	unit_write_text(path, dir, "f", before, 0644);
	rewrite_before_read.path = path;
	rewrite_before_read.content = after;
	result = safe_file_read(path, SAFE_FILE_PUBLIC, max_size, text, len, NULL, NULL, reason);
	ck_assert_ptr_null(rewrite_before_read.path);   /* the change did happen */
	if (result != PH_OK)
		ck_assert_ptr_nonnull(strstr(reason, "larger than"));
	return result;
}

static char *repeated(char c, size_t n)
{
	char *text = malloc(n + 1);

	ck_assert_ptr_nonnull(text);
	memset(text, c, n);
	text[n] = '\0';
	return text;
}

START_TEST(test_read_file_grown_after_fstat)
{
	char dir[PATH_MAX];
	char *big = repeated('g', 5000), *text = NULL;
	size_t len = 0;

	unit_tmpdir(dir);
	/* Grown well past its first buffer, but within the limit: all of it is read. */
	ck_assert_int_eq(read_changed(dir, "short\n", big, 8192, &text, &len), PH_OK);
	ck_assert_uint_eq(len, 5000);
	ck_assert_str_eq(text, big);
	secret_free_len(text, len + 1);

	/* Grown to exactly the limit: still fine. */
	ck_assert_int_eq(read_changed(dir, "short\n", big, 5000, &text, &len), PH_OK);
	ck_assert_uint_eq(len, 5000);
	secret_free_len(text, len + 1);

	/* Grown one byte past the limit: too big, as if it had been so all along. */
	text = NULL;
	ck_assert_int_eq(read_changed(dir, "short\n", big, 4999, &text, &len), PH_MISCONFIGURED);
	ck_assert_ptr_null(text);
	ck_assert_uint_eq(len, 0);
	free(big);
	unit_rmtree(dir);
}
END_TEST

START_TEST(test_read_file_shrunk_after_fstat)
{
	char dir[PATH_MAX];
	char *big = repeated('s', 5000), *text = NULL;
	size_t len = 0;

	unit_tmpdir(dir);
	ck_assert_int_eq(read_changed(dir, big, "tiny\n", 8192, &text, &len), PH_OK);
	ck_assert_uint_eq(len, 5);
	ck_assert_str_eq(text, "tiny\n");
	secret_free_len(text, len + 1);

	/* Too big at fstat, within the limit when read: what is read counts. */
	ck_assert_int_eq(read_changed(dir, big, "tiny\n", 100, &text, &len), PH_OK);
	ck_assert_str_eq(text, "tiny\n");
	secret_free_len(text, len + 1);

	/* Emptied. */
	ck_assert_int_eq(read_changed(dir, big, "", 8192, &text, &len), PH_OK);
	ck_assert_uint_eq(len, 0);
	ck_assert_str_eq(text, "");
	secret_free_len(text, len + 1);
	free(big);
	unit_rmtree(dir);
}
END_TEST

/* ------------------------------------------------------------------------
 * Every directory up to "/", symbolic links, pseudo file systems.
 */

START_TEST(test_walk_directory_modes)
{
	char dir[PATH_MAX], sub[PATH_MAX], path[PATH_MAX];

	unit_tmpdir(dir);
	unit_path(sub, dir, "sub");
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	unit_write_text(path, sub, "f", "x\n", 0644);
	check_open(path, SAFE_FILE_PUBLIC, true, "in a 0755 directory");
	ck_assert_int_eq(chmod(sub, 0775), 0);
	check_open(path, SAFE_FILE_PUBLIC, false, "in a group-writable directory");
	ck_assert_int_eq(chmod(sub, 0757), 0);
	check_open(path, SAFE_FILE_PUBLIC, false, "in an other-writable directory");
	ck_assert_int_eq(chmod(sub, 0777), 0);
	check_open(path, SAFE_FILE_PUBLIC, false, "in a 0777 directory");
	/* sticky, as /tmp: the entry below is ours, so no one else may swap it */
	ck_assert_int_eq(chmod(sub, 01777), 0);
	check_open(path, SAFE_FILE_PUBLIC, true, "ours, in a sticky 1777 directory");
	ck_assert_int_eq(chmod(sub, 0755), 0);
	/* a directory higher up counts as much as the file's own */
	ck_assert_int_eq(chmod(dir, 0777), 0);
	check_open(path, SAFE_FILE_PUBLIC, false, "under a 0777 directory two levels up");
	ck_assert_int_eq(chmod(dir, 0700), 0);
	unit_rmtree(dir);
}
END_TEST

START_TEST(test_walk_symlinks)
{
	char dir[PATH_MAX], open_dir[PATH_MAX], safe[PATH_MAX], unsafe[PATH_MAX];
	char link[PATH_MAX], relative[PATH_MAX];

	unit_tmpdir(dir);
	unit_write_text(safe, dir, "safe", "x\n", 0644);
	unit_path(open_dir, dir, "open");
	ck_assert_int_eq(mkdir(open_dir, 0777), 0);
	ck_assert_int_eq(chmod(open_dir, 0777), 0);
	unit_write_text(unsafe, open_dir, "f", "x\n", 0644);

	/* a link in a safe directory to a file in a writable one */
	unit_path(link, dir, "to-open");
	ck_assert_int_eq(symlink(unsafe, link), 0);
	check_open(link, SAFE_FILE_PUBLIC, false, "link to a file in a 0777 directory");
	/* a link in a writable directory, to a safe file: whoever can write the
	 * directory can point it anywhere */
	unit_path(link, open_dir, "to-safe");
	ck_assert_int_eq(symlink(safe, link), 0);
	check_open(link, SAFE_FILE_PUBLIC, false, "link in a 0777 directory");
	/* relative links with "..", resolved and walked */
	ck_assert_int_eq(chmod(open_dir, 0755), 0);
	unit_path(relative, open_dir, "rel");
	ck_assert_int_eq(symlink("../safe", relative), 0);
	check_open(relative, SAFE_FILE_PUBLIC, true, "relative link ../safe");
	/* a loop ends */
	unit_path(link, dir, "loop-a");
	ck_assert_int_eq(symlink("loop-b", link), 0);
	unit_path(link, dir, "loop-b");
	ck_assert_int_eq(symlink("loop-a", link), 0);
	{
		char reason[PH_REASON_MAX] = "";

		ck_assert_int_eq(safe_file_open_stat(link, SAFE_FILE_PUBLIC, NULL, NULL, reason), -1);
	}
	unit_rmtree(dir);
}
END_TEST

START_TEST(test_walk_refuses_pseudo_file_systems)
{
	/* Root-owned and not writable, yet chosen by whoever started the process
	 * (/proc/self/environ of a setuid su): refused, also through a link. */
	char dir[PATH_MAX], link[PATH_MAX];
	char reason[PH_REASON_MAX] = "";

	ck_assert_int_eq(safe_file_open_stat("/proc/self/environ", SAFE_FILE_PUBLIC, NULL, NULL,
					     reason), -1);
	ck_assert_int_eq(safe_file_open_stat("/proc/version", SAFE_FILE_PUBLIC, NULL, NULL, reason),
			 -1);
	ck_assert_msg(strstr(reason, "pseudo file system") != NULL, "%s", reason);
	if (access("/sys/kernel/mm/transparent_hugepage/enabled", R_OK) == 0)
		ck_assert_int_eq(safe_file_open_stat("/sys/kernel/mm/transparent_hugepage/enabled",
						SAFE_FILE_PUBLIC, NULL, NULL, reason), -1);
	unit_tmpdir(dir);
	unit_path(link, dir, "allow");
	ck_assert_int_eq(symlink("/proc/version", link), 0);
	check_open(link, SAFE_FILE_PUBLIC, false, "link to /proc/version");
	unit_rmtree(dir);
}
END_TEST

START_TEST(test_walk_directory_of_other_uid_refused)
{
	char dir[PATH_MAX], sub[PATH_MAX], path[PATH_MAX];

	unit_tmpdir(dir);
	unit_path(sub, dir, "sub");
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	unit_write_text(path, sub, "f", "x\n", 0644);
	ck_assert_int_eq(chown(sub, unit_other_uid(), (gid_t)-1), 0);
	check_open(path, SAFE_FILE_PUBLIC, false, "in a directory owned by another uid");
	/* sticky (as /tmp) helps only when the entry below is root's or ours: a
	 * link another user planted there may point at any safe file */
	ck_assert_int_eq(chown(sub, 0, (gid_t)-1), 0);
	ck_assert_int_eq(chmod(sub, 01777), 0);
	{
		char safe[PATH_MAX], link[PATH_MAX];

		unit_write_text(safe, dir, "safe", "x\n", 0644);
		unit_path(link, sub, "planted");
		ck_assert_int_eq(symlink(safe, link), 0);
		check_open(link, SAFE_FILE_PUBLIC, true, "our link in a sticky directory");
		ck_assert_int_eq(lchown(link, unit_other_uid(), (gid_t)-1), 0);
		check_open(link, SAFE_FILE_PUBLIC, false, "another uid's link in a sticky directory");
	}
	unit_rmtree(dir);
}
END_TEST

/* ------------------------------------------------------------------------
 * Ownership, with root.
 */

START_TEST(test_owner_other_uid_refused)
{
	char dir[PATH_MAX], path[PATH_MAX];
	char reason[PH_REASON_MAX] = "";
	char *text = NULL;
	size_t len = 0;

	unit_tmpdir(dir);
	unit_write_text(path, dir, "f", "x\n", 0644);
	ck_assert_int_eq(chown(path, unit_other_uid(), (gid_t)-1), 0);
	check_open(path, SAFE_FILE_PUBLIC, false, "owned by another uid, public");
	ck_assert_int_eq(chmod(path, 0600), 0);
	check_open(path, SAFE_FILE_PRIVATE, false, "owned by another uid, private");
	ck_assert_int_eq(safe_file_read(path, SAFE_FILE_PUBLIC, 4096, &text, &len, NULL, NULL, reason),
			 PH_MISCONFIGURED);
	unit_rmtree(dir);
}
END_TEST

START_TEST(test_owner_root_ok)
{
	char dir[PATH_MAX], path[PATH_MAX];

	unit_tmpdir(dir);
	unit_write_text(path, dir, "f", "x\n", 0644);
	ck_assert_int_eq(chown(path, 0, (gid_t)-1), 0);
	check_open(path, SAFE_FILE_PUBLIC, true, "owned by root");
	/* the group does not matter, only its permission bits */
	ck_assert_int_eq(chown(path, 0, 65534), 0);
	check_open(path, SAFE_FILE_PUBLIC, true, "owned by root, group nogroup");
	unit_rmtree(dir);
}
END_TEST

Suite *safe_file_suite(void)
{
	Suite *s = suite_create("safe_file");
	TCase *open_tc = tcase_create("open");
	TCase *stat_tc = tcase_create("stat");
	TCase *read_tc = tcase_create("read");
	TCase *root_tc = tcase_create("root");

	tcase_add_loop_test(open_tc, test_open_modes, 0,
			    (int)(sizeof mode_cases / sizeof mode_cases[0]));
	tcase_add_test(open_tc, test_open_missing);
	tcase_add_test(open_tc, test_open_directory);
	tcase_add_test(open_tc, test_open_fifo_does_not_block);
	tcase_add_test(open_tc, test_open_symlink);
	tcase_add_test(open_tc, test_open_returns_readable_fd);
	tcase_add_test(open_tc, test_walk_directory_modes);
	tcase_add_test(open_tc, test_walk_symlinks);
	tcase_add_test(open_tc, test_walk_refuses_pseudo_file_systems);
	unit_add_root_test(open_tc, test_walk_directory_of_other_uid_refused);
	suite_add_tcase(s, open_tc);

	tcase_add_test(stat_tc, test_stat_ok);
	tcase_add_test(stat_tc, test_stat_refused);
	tcase_add_test(stat_tc, test_is_private);
	suite_add_tcase(s, stat_tc);

	tcase_add_test(read_tc, test_read_contents);
	tcase_add_test(read_tc, test_read_binary_and_empty);
	tcase_add_test(read_tc, test_read_max_size);
	tcase_add_test(read_tc, test_read_refusals);
	tcase_add_test(read_tc, test_read_buffer_sized_by_file);
	tcase_add_test(read_tc, test_read_file_grown_after_fstat);
	tcase_add_test(read_tc, test_read_file_shrunk_after_fstat);
	suite_add_tcase(s, read_tc);

	unit_add_root_test(root_tc, test_owner_other_uid_refused);
	unit_add_root_test(root_tc, test_owner_root_ok);
	suite_add_tcase(s, root_tc);
	return s;
}
