/*
 * fuzz_util.h - small helpers shared by the libFuzzer targets in tests/fuzz.
 *
 * The parsers that read files (settings_load, allowlist_scan) take a path
 * and check the file with safe_file (owner, mode, every directory up to /,
 * no procfs) before reading it, so the targets hand them a real file in a
 * private directory (mkdtemp under $TMPDIR or /tmp, removed at exit), opened
 * once per process and rewritten for each input, with the mode the real
 * file would have.
 *
 * FUZZ_CHECK aborts with a message: libFuzzer treats it as a crash, so a
 * broken invariant fails the run just like a memory error.
 */
#ifndef PAM_HEROKU_FUZZ_UTIL_H
#define PAM_HEROKU_FUZZ_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define FUZZ_CHECK(cond)                                                          \
	do {                                                                      \
		if (!(cond)) {                                                    \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, \
				__LINE__, #cond);                                 \
			abort();                                                  \
		}                                                                 \
	} while (0)

struct fuzz_file {
	int fd;
	char path[320];
};

static char fuzz_dir[256];

static void fuzz_remove_dir(void)
{
	char command[sizeof fuzz_dir + 16];

	snprintf(command, sizeof command, "rm -rf '%s'", fuzz_dir);
	if (fuzz_dir[0] != '\0' && system(command) != 0)
		fprintf(stderr, "fuzz: could not remove %s\n", fuzz_dir);
}

/* Create the file once, in the private directory; mode as the real file's. */
static inline void fuzz_file_open(struct fuzz_file *file, const char *name, mode_t mode)
{
	if (fuzz_dir[0] == '\0') {
		const char *tmp = getenv("TMPDIR");

		snprintf(fuzz_dir, sizeof fuzz_dir, "%s/pam_heroku-fuzz.XXXXXX",
			 tmp != NULL && tmp[0] == '/' ? tmp : "/tmp");
		if (mkdtemp(fuzz_dir) == NULL) {
			perror("fuzz: mkdtemp");
			abort();
		}
		atexit(fuzz_remove_dir);
	}
	snprintf(file->path, sizeof file->path, "%s/%s", fuzz_dir, name);
	file->fd = open(file->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (file->fd < 0 || fchmod(file->fd, mode) != 0) {
		perror("fuzz: open/fchmod");
		abort();
	}
}

/* Replace the file's content with data. */
static inline void fuzz_file_write(struct fuzz_file *file, const uint8_t *data, size_t size)
{
	size_t done = 0;

	if (ftruncate(file->fd, 0) != 0) {
		perror("fuzz: ftruncate");
		abort();
	}
	while (done < size) {
		ssize_t n = pwrite(file->fd, data + done, size - done, (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			perror("fuzz: pwrite");
			abort();
		}
		done += (size_t)n;
	}
}

/* A NUL-terminated copy of data in a buffer of exactly size + 1 bytes, so
 * AddressSanitizer sees any read past the terminator. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);

	if (text == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	return text;
}

/* True when text holds no byte below 0x20 and no 0x7f. */
static inline int fuzz_no_control(const char *text)
{
	for (const unsigned char *c = (const unsigned char *)text; *c; c++)
		if (*c < 0x20 || *c == 0x7f)
			return 0;
	return 1;
}

#endif
