/*
 * allowlist_scan.c - the allowlist scan alone, against its floor.
 *
 *   tests/bench/allowlist_scan FILE USER_ID ACCOUNT ROUNDS
 *
 * A micro-benchmark (tests/bench/run --only scan runs it; not a test): for
 * ROUNDS rounds, interleaved, it times in this one process
 *   floor      open(), read() through a 64 KiB buffer and memchr() to every
 *              newline: what any scan of the file must pay;
 *   precheck   allowlist_scan for ACCOUNT with any id: the auth phase's
 *              scan before the exchange, which judges and reports every line;
 *   grants     allowlist_scan for USER_ID and ACCOUNT, only_grants: the
 *              scan after the exchange, which looks only for the granting
 *              line;
 *   full       allowlist_scan for USER_ID and ACCOUNT judging every line.
 * and prints one line per kind: "KIND median_ns_per_line min_ns_per_line
 * lines verdict".  The file is read from the page cache (one untimed scan
 * first).
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "allowlist.h"

#define CHUNK (64 * 1024)
#define KINDS 4

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* read() + memchr(): the lines of the file, counted as cheaply as it can be. */
static unsigned long floor_scan(const char *path)
{
	static char buffer[CHUNK];
	unsigned long lines = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		perror(path);
		exit(1);
	}
	while ((n = read(fd, buffer, sizeof buffer)) > 0) {
		const char *p = buffer, *end = buffer + n;

		while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
			lines++;
			p++;
		}
	}
	close(fd);
	return lines;
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	static const char *const names[KINDS] = { "floor", "precheck", "grants", "full" };
	struct allowlist_query queries[KINDS];
	struct ph_log quiet = { NULL, NULL };
	enum ph_result verdict[KINDS] = { PH_OK };
	unsigned long lines;
	double *samples[KINDS];
	int rounds;

	if (argc != 5 || (rounds = atoi(argv[4])) < 1) {
		fprintf(stderr, "usage: %s FILE USER_ID ACCOUNT ROUNDS\n", argv[0]);
		return 2;
	}
	queries[1] = (struct allowlist_query){ .pam_user = argv[3], .any_id = true };
	queries[2] = (struct allowlist_query){ .user_id = argv[2], .pam_user = argv[3],
					       .only_grants = true };
	queries[3] = (struct allowlist_query){ .user_id = argv[2], .pam_user = argv[3] };
	lines = floor_scan(argv[1]);            /* and into the page cache */
	for (int k = 0; k < KINDS; k++) {
		samples[k] = calloc((size_t)rounds, sizeof **samples);
		if (samples[k] == NULL)
			return 1;
	}
	for (int r = 0; r < rounds; r++) {
		for (int k = 0; k < KINDS; k++) {
			struct allowlist_outcome outcome;
			char reason[PH_REASON_MAX];
			double start = now_ns();

			if (k == 0)
				floor_scan(argv[1]);
			else
				verdict[k] = allowlist_scan(argv[1], &queries[k], &quiet, &outcome,
							    reason);
			samples[k][r] = (now_ns() - start) / (double)(lines ? lines : 1);
			if (verdict[k] == PH_MISCONFIGURED) {
				fprintf(stderr, "%s: %s\n", names[k], reason);
				return 1;
			}
		}
	}
	for (int k = 0; k < KINDS; k++) {
		qsort(samples[k], (size_t)rounds, sizeof **samples, compare_double);
		printf("%s %.2f %.2f %lu %s\n", names[k], samples[k][rounds / 2], samples[k][0],
		       lines, ph_result_name(verdict[k]));
		free(samples[k]);
	}
	return 0;
}
