/*
 * fuzz_util.h - small helpers shared by the libFuzzer targets in tests/fuzz.
 *
 * The parsers that read files (settings_load, allowlist_scan) take a path
 * and check the file with safe_file (owner, mode) before reading it, so the
 * targets hand them an in-memory file: one memfd per process, rewritten for
 * each input and named by its /proc/self/fd/N path.  A fresh memfd has mode
 * 0777, which safe_file refuses (group/other writable), so it is chmod'ed
 * to the mode the real file would have.
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
	char path[64];
};

/* Create the in-memory file once; mode as the real file would have it. */
static inline void fuzz_file_open(struct fuzz_file *file, const char *name, mode_t mode)
{
	file->fd = memfd_create(name, MFD_CLOEXEC);
	if (file->fd < 0 || fchmod(file->fd, mode) != 0) {
		perror("fuzz: memfd_create/fchmod");
		abort();
	}
	snprintf(file->path, sizeof file->path, "/proc/self/fd/%d", file->fd);
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
