/*
 * heap_scan.c - after pam_end, is any secret still in this process's memory?
 *
 *   heap_scan --confdir DIR --service NAME --user USER --xor K
 *             --credential HEX [--needle NAME:HEX]... [--preload MODULE]
 *             [--expect-env NAME:NEEDLE]... [--no-env NAME]... [--plant NEEDLE]
 *             [--context N]
 *
 * A small PAM application: pam_start_confdir, pam_authenticate,
 * pam_acct_mgmt, pam_getenvlist, pam_end, with the credential given as the
 * answer to the module's prompt.  Then it scans every writable mapping of its
 * own address space (/proc/self/maps "rw" regions: [heap], [stack], thread
 * stacks and other anonymous memory, the libraries' .data/.bss), read
 * through /proc/self/mem, for each secret, and prints what it found where.
 *
 * The secrets are never held in plain text by this program, so they cannot
 * be found in its own memory by mistake: every value arrives XOR-ed with the
 * byte K, as hex (--credential: what is typed at the prompt; --needle: a
 * value to look for, e.g. the client secret or a token).  The typed
 * credential is decoded straight into the malloc'd answer that libpam takes
 * over (and wipes and frees); a match in memory is tested byte by byte as
 * (memory ^ K) == encoded, never by decoding the needle.  The credential is
 * a needle too ("credential"), and so is the part after a "code:" or
 * "refresh:" prefix, which is what the module sends ("credential-value").
 *
 * To say whose buffer a copy sits in, the program wraps malloc, calloc,
 * realloc and free (defined here; linked with -rdynamic, libpam, the module,
 * libcurl, OpenSSL, cJSON and glibc all call these) and keeps, for every
 * block, its size, whether it was freed, and the return address of the call
 * that made it; a finding in the heap names the library that allocated the
 * block around it (dladdr of that address), or says the bytes lie outside
 * every recorded block.
 *
 * Output, one line each:
 *   auth: PAM_SUCCESS (0)      account: ... (when auth succeeded)
 *   env: NAME=set|absent, env: NAME matches NEEDLE|differs
 *   found: NEEDLE in REGION+0xOFFSET: <where> (block of N bytes, live|freed,
 *          allocated by LIB[ SYMBOL])  or  (outside every recorded block)
 *   clean: NEEDLE
 *   scanned: R regions, B bytes
 * Values are never printed.  Exit 0 when the run completed (whatever was
 * found: the caller judges), 2 on a usage error, 1 on a failure of its own.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <security/pam_appl.h>

/* ------------------------------------------------- the allocation record */

void *__libc_malloc(size_t size);
void *__libc_calloc(size_t count, size_t size);
void *__libc_realloc(void *ptr, size_t size);
void __libc_free(void *ptr);

struct block {
	uintptr_t start;
	size_t size;
	void *caller;
	bool freed;
};

#define LOG_MAX (4u << 20)        /* blocks recorded, in a lazily backed map */
#define INDEX_BITS 21              /* live-block hash: 2M slots */
#define INDEX_SIZE (1u << INDEX_BITS)

static struct block *block_log;    /* every block, in allocation order */
static size_t block_count;
static uint32_t *live_index;       /* hash of live start -> log index + 1 */
static bool recording;
static bool record_overflow;
static volatile int record_lock;

static void lock(void)
{
	while (__atomic_exchange_n(&record_lock, 1, __ATOMIC_ACQUIRE))
		;
}

static void unlock(void)
{
	__atomic_store_n(&record_lock, 0, __ATOMIC_RELEASE);
}

static size_t slot_of(uintptr_t start)
{
	return (size_t)((start >> 4) * 0x9E3779B97F4A7C15ull >> (64 - INDEX_BITS));
}

static void record_alloc(void *ptr, size_t size, void *caller)
{
	size_t slot;

	if (ptr == NULL || !recording)
		return;
	lock();
	if (block_count == LOG_MAX) {
		record_overflow = true;
		unlock();
		return;
	}
	block_log[block_count] = (struct block){ (uintptr_t)ptr, size, caller, false };
	for (slot = slot_of((uintptr_t)ptr); live_index[slot] != 0 &&
	     live_index[slot] != UINT32_MAX; slot = (slot + 1) & (INDEX_SIZE - 1))
		;
	live_index[slot] = (uint32_t)++block_count;
	unlock();
}

static void record_free(void *ptr)
{
	if (ptr == NULL || !recording)
		return;
	lock();
	for (size_t slot = slot_of((uintptr_t)ptr); live_index[slot] != 0;
	     slot = (slot + 1) & (INDEX_SIZE - 1)) {
		uint32_t i = live_index[slot];

		if (i != UINT32_MAX && block_log[i - 1].start == (uintptr_t)ptr) {
			block_log[i - 1].freed = true;
			live_index[slot] = UINT32_MAX;      /* tombstone */
			break;
		}
	}
	unlock();
}

void *malloc(size_t size)
{
	void *ptr = __libc_malloc(size);

	record_alloc(ptr, size, __builtin_return_address(0));
	return ptr;
}

void *calloc(size_t count, size_t size)
{
	void *ptr = __libc_calloc(count, size);

	record_alloc(ptr, count * size, __builtin_return_address(0));
	return ptr;
}

void *realloc(void *old, size_t size)
{
	void *ptr = __libc_realloc(old, size);

	if (ptr != NULL || size == 0)
		record_free(old);
	record_alloc(ptr, size, __builtin_return_address(0));
	return ptr;
}

void free(void *ptr)
{
	record_free(ptr);
	__libc_free(ptr);
}

static bool record_start(void)
{
	block_log = mmap(NULL, LOG_MAX * sizeof *block_log, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	live_index = mmap(NULL, INDEX_SIZE * sizeof *live_index, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (block_log == MAP_FAILED || live_index == MAP_FAILED)
		return false;
	recording = true;
	return true;
}

/* The most recent block holding addr, or NULL. */
static const struct block *block_at(uintptr_t addr)
{
	for (size_t i = block_count; i > 0; i--) {
		const struct block *b = &block_log[i - 1];

		if (addr >= b->start && addr < b->start + b->size)
			return b;
	}
	return NULL;
}

/* ---------------------------------------------------------------- needles */

#define NEEDLES_MAX 16
#define NEEDLE_LEN_MAX 2048

struct needle {
	const char *name;
	unsigned char *encoded;     /* the value XOR key */
	size_t len;
	unsigned found;
};

static struct needle needles[NEEDLES_MAX];
static size_t needle_count;
static unsigned char key;

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Hex text -> bytes (still encoded); NULL when malformed. */
static unsigned char *from_hex(const char *hex, size_t *len)
{
	size_t n = strlen(hex);
	unsigned char *out;

	if (n == 0 || n % 2 != 0 || n / 2 > NEEDLE_LEN_MAX)
		return NULL;
	out = malloc(n / 2);
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			free(out);
			return NULL;
		}
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	*len = n / 2;
	return out;
}

static bool add_needle(const char *name, unsigned char *encoded, size_t len)
{
	if (needle_count == NEEDLES_MAX || len < 4)
		return false;
	needles[needle_count++] = (struct needle){ name, encoded, len, 0 };
	return true;
}

static struct needle *needle_named(const char *name)
{
	for (size_t i = 0; i < needle_count; i++)
		if (strcmp(needles[i].name, name) == 0)
			return &needles[i];
	return NULL;
}

/* Does the plain text at p (len bytes available) equal the needle? */
static bool matches(const unsigned char *p, size_t avail, const struct needle *n)
{
	if (avail < n->len)
		return false;
	for (size_t i = 0; i < n->len; i++)
		if ((unsigned char)(p[i] ^ key) != n->encoded[i])
			return false;
	return true;
}

/* ----------------------------------------------------------- conversation */

struct app {
	const unsigned char *credential;    /* encoded */
	size_t credential_len;
	unsigned prompts;
};

static int conv(int num_msg, const struct pam_message **msg, struct pam_response **resp,
		void *appdata)
{
	struct app *app = appdata;
	struct pam_response *out = calloc((size_t)num_msg, sizeof *out);

	*resp = NULL;
	if (out == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < num_msg; i++) {
		int style = msg[i]->msg_style;

		if (style == PAM_PROMPT_ECHO_OFF || style == PAM_PROMPT_ECHO_ON) {
			char *answer = malloc(app->credential_len + 1);

			if (answer == NULL || app->prompts++ > 0) {
				free(answer);
				for (int j = 0; j < i; j++)
					free(out[j].resp);   /* only NULLs: one prompt */
				free(out);
				return PAM_CONV_ERR;
			}
			/* Decoded straight into the buffer libpam takes over. */
			for (size_t j = 0; j < app->credential_len; j++)
				answer[j] = (char)(app->credential[j] ^ key);
			answer[app->credential_len] = '\0';
			out[i].resp = answer;
		} else if (style == PAM_ERROR_MSG || style == PAM_TEXT_INFO) {
			printf("conv: %s (%zu bytes)\n", style == PAM_ERROR_MSG ? "error" : "info",
			       strlen(msg[i]->msg ? msg[i]->msg : ""));
		} else {
			free(out);
			return PAM_CONV_ERR;
		}
	}
	*resp = out;
	return PAM_SUCCESS;
}

/* ---------------------------------------------------------------- the scan */

struct region {
	uintptr_t start, end;
	char name[256];
};

/* Our own bookkeeping mappings, left out of the scan. */
struct span {
	uintptr_t start, end;
};

#define SKIP_MAX 4
static struct span skip[SKIP_MAX];
static size_t skip_count;

static void skip_add(const void *p, size_t len)
{
	if (skip_count < SKIP_MAX)
		skip[skip_count++] = (struct span){ (uintptr_t)p, (uintptr_t)p + len };
}

/*
 * --context N: the N bytes around a finding, printable ASCII as is, other
 * bytes as '.', and every needle found there masked as <NAME>, so the
 * neighbourhood says whose buffer it is without showing any secret.
 */
static size_t context;

static void show_context(const unsigned char *buf, size_t len, size_t at, size_t n_len)
{
	size_t from = at > context ? at - context : 0;
	size_t to = at + n_len + context < len ? at + n_len + context : len;

	printf("context: ");
	for (size_t i = from; i < to;) {
		const struct needle *hit = NULL;

		for (size_t k = 0; k < needle_count && hit == NULL; k++)
			if ((unsigned char)(buf[i] ^ key) == needles[k].encoded[0] &&
			    matches(buf + i, len - i, &needles[k]))
				hit = &needles[k];
		if (hit != NULL) {
			printf("<%s>", hit->name);
			i += hit->len;
			continue;
		}
		putchar(buf[i] >= 0x20 && buf[i] < 0x7f ? buf[i] : '.');
		i++;
	}
	putchar('\n');
}

static void describe(const struct needle *n, const struct region *r, uintptr_t addr)
{
	const struct block *b = block_at(addr);

	printf("found: %s in %s+0x%" PRIxPTR ": ", n->name, r->name, addr - r->start);
	if (b != NULL) {
		Dl_info info;
		const char *lib = "?", *sym = NULL;

		if (dladdr(b->caller, &info) != 0) {
			if (info.dli_fname != NULL) {
				lib = strrchr(info.dli_fname, '/');
				lib = lib ? lib + 1 : info.dli_fname;
			}
			sym = info.dli_sname;
		}
		printf("block of %zu bytes at +%" PRIuPTR ", %s, allocated by %s%s%s\n",
		       b->size, addr - b->start, b->freed ? "freed" : "live", lib,
		       sym ? " " : "", sym ? sym : "");
	} else {
		printf("outside every recorded block\n");
	}
}

/* Scan [start, end) of our own memory through /proc/self/mem. */
static void scan_region(int mem, const struct region *r, uintptr_t from, uintptr_t to,
			unsigned char *scratch, size_t scratch_len, size_t overlap,
			unsigned long long *bytes)
{
	for (uintptr_t at = from; at < to;) {
		size_t want = to - at < scratch_len ? to - at : scratch_len;
		ssize_t got = pread(mem, scratch, want, (off_t)at);

		if (got <= 0)
			break;          /* unreadable (e.g. a guard page): skip the rest */
		bool last = (size_t)got < want || at + (size_t)got >= to;
		/* A match starting in the overlap is left to the next read. */
		size_t limit = last ? (size_t)got : (size_t)got - overlap;

		*bytes += (unsigned long long)(last ? (size_t)got : limit);
		for (size_t i = 0; i < limit; i++) {
			for (size_t k = 0; k < needle_count; k++) {
				struct needle *n = &needles[k];

				if ((unsigned char)(scratch[i] ^ key) == n->encoded[0] &&
				    matches(scratch + i, (size_t)got - i, n)) {
					if (n->found++ < 8)
						describe(n, r, at + i);
					if (context > 0)
						show_context(scratch, (size_t)got, i, n->len);
				}
			}
		}
		explicit_bzero(scratch, (size_t)got);
		if (last)
			break;
		/* The next read starts overlap bytes back, so a needle across
		 * two reads is still seen whole. */
		at += limit;
	}
}

#define REGIONS_MAX 4096
#define MAPS_MAX (4u << 20)

/*
 * Nothing here allocates from the heap: a block handed out now could be a
 * freed one that still holds a secret, and writing into it would move or
 * hide what the scan is looking for.  The map text, the region list and the
 * read buffer all live in mappings of their own, left out of the scan.
 */
static struct region regions[REGIONS_MAX];

static bool scan_memory(void)
{
	const size_t scratch_len = 1u << 20;
	unsigned char *scratch;
	char *maps_text;
	size_t count = 0, maps_len = 0;
	unsigned long long bytes = 0;
	int fd, mem;

	recording = false;      /* what happens from here on is ours */
	maps_text = mmap(NULL, MAPS_MAX, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	scratch = mmap(NULL, scratch_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	if (maps_text == MAP_FAILED || scratch == MAP_FAILED)
		return false;

	/* Read the whole map first: the scan must not change it under us. */
	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	for (;;) {
		ssize_t got = read(fd, maps_text + maps_len, MAPS_MAX - 1 - maps_len);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		maps_len += (size_t)got;
	}
	close(fd);
	maps_text[maps_len] = '\0';

	for (char *line = maps_text; *line != '\0' && count < REGIONS_MAX;) {
		char *newline = strchr(line, '\n');
		uintptr_t start, end;
		char perms[5];
		int name_at = 0;

		if (newline != NULL)
			*newline = '\0';
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %4s %*s %*s %*s %n",
			   &start, &end, perms, &name_at) >= 3 &&
		    perms[0] == 'r' && perms[1] == 'w') {
			const char *name = name_at > 0 ? line + name_at : "";

			regions[count].start = start;
			regions[count].end = end;
			snprintf(regions[count].name, sizeof regions[count].name, "%s",
				 *name ? name : "[anon]");
			count++;
		}
		if (newline == NULL)
			break;
		line = newline + 1;
	}

	mem = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
	if (mem < 0)
		return false;
	skip_add(block_log, LOG_MAX * sizeof *block_log);
	skip_add(live_index, INDEX_SIZE * sizeof *live_index);
	skip_add(scratch, scratch_len);
	skip_add(maps_text, MAPS_MAX);
	for (size_t i = 0; i < count; i++) {
		uintptr_t at = regions[i].start;

		if (strcmp(regions[i].name, "[vvar]") == 0 ||
		    strcmp(regions[i].name, "[vsyscall]") == 0)
			continue;
		/* The region minus our own mappings (which the kernel may have
		 * merged with a neighbour into one line of the map). */
		while (at < regions[i].end) {
			uintptr_t stop = regions[i].end, next = regions[i].end;

			for (size_t k = 0; k < skip_count; k++) {
				if (at >= skip[k].start && at < skip[k].end) {
					stop = at;
					next = skip[k].end;
					break;
				}
				if (skip[k].start > at && skip[k].start < stop) {
					stop = skip[k].start;
					next = skip[k].start;
				}
			}
			if (stop > at)
				scan_region(mem, &regions[i], at, stop, scratch, scratch_len,
					    NEEDLE_LEN_MAX, &bytes);
			at = next > at ? next : stop;
		}
	}
	close(mem);
	munmap(scratch, scratch_len);
	munmap(maps_text, MAPS_MAX);
	for (size_t k = 0; k < needle_count; k++)
		if (needles[k].found == 0)
			printf("clean: %s\n", needles[k].name);
		else
			printf("total: %s %u\n", needles[k].name, needles[k].found);
	printf("scanned: %zu regions, %llu bytes\n", count, bytes);
	if (record_overflow)
		printf("note: allocation record full; attribution may be incomplete\n");
	return true;
}

/*
 * --plant NEEDLE: the scan's own control.  Decode the needle into a heap
 * block and free it unwiped, the very leak the scan is there to find; a run
 * with --plant that does not report it shows the scan is blind.
 */
static bool plant_copy(const char *name)
{
	const struct needle *n = needle_named(name);
	unsigned char *block;

	if (n == NULL)
		return false;
	block = malloc(n->len + 64);
	if (block == NULL)
		return false;
	for (size_t i = 0; i < n->len; i++)     /* past the allocator's free-list words */
		block[32 + i] = n->encoded[i] ^ key;
	/* Keep the compiler from dropping stores to a block about to be freed. */
	__asm__ volatile("" : : "r"(block) : "memory");
	free(block);
	return true;
}

/*
 * A signal makes the kernel save the whole register file, vector registers
 * included, in a frame on the stack, where it stays after the handler
 * returns.  Any secret still sitting in a register after pam_end (memcpy,
 * strlen and AES-GCM all pass data through them) lands in memory that way,
 * as it would at any signal in a real application, and the scan sees it.
 * (A lazily bound PLT call does the same through the dynamic linker's
 * xsave.)  Raised right after pam_end, before this program's own code
 * overwrites the registers.
 */
static void on_signal(int signum)
{
	(void)signum;
}

static void spill_registers(void)
{
	raise(SIGUSR1);
}

static bool spill_setup(void)
{
	struct sigaction action;

	memset(&action, 0, sizeof action);
	action.sa_handler = on_signal;
	sigemptyset(&action.sa_mask);
	return sigaction(SIGUSR1, &action, NULL) == 0;
}

/* ------------------------------------------------------------------ main */

static const char *code_name(int rc)
{
	switch (rc) {
	case PAM_SUCCESS: return "PAM_SUCCESS";
	case PAM_AUTH_ERR: return "PAM_AUTH_ERR";
	case PAM_AUTHINFO_UNAVAIL: return "PAM_AUTHINFO_UNAVAIL";
	case PAM_SERVICE_ERR: return "PAM_SERVICE_ERR";
	case PAM_PERM_DENIED: return "PAM_PERM_DENIED";
	case PAM_IGNORE: return "PAM_IGNORE";
	default: return "PAM_OTHER";
	}
}

/* env checks: NAME:NEEDLE (value must equal that needle) or NAME (absent). */
static void check_env(pam_handle_t *pamh, char **expect, size_t expect_count,
		      char **absent, size_t absent_count)
{
	char **list = pam_getenvlist(pamh);

	for (size_t e = 0; e < expect_count; e++) {
		const char *colon = strchr(expect[e], ':');
		size_t name_len = (size_t)(colon - expect[e]);
		const struct needle *n = needle_named(colon + 1);
		const char *value = NULL;

		for (size_t i = 0; list && list[i]; i++)
			if (strncmp(list[i], expect[e], name_len) == 0 && list[i][name_len] == '=')
				value = list[i] + name_len + 1;
		printf("env: %.*s %s\n", (int)name_len, expect[e],
		       value == NULL ? "absent" :
		       n != NULL && strlen(value) == n->len && matches((const unsigned char *)value,
								     n->len, n)
		       ? "matches" : "differs");
	}
	for (size_t a = 0; a < absent_count; a++) {
		size_t name_len = strlen(absent[a]);
		bool set = false;

		for (size_t i = 0; list && list[i]; i++)
			if (strncmp(list[i], absent[a], name_len) == 0 && list[i][name_len] == '=')
				set = true;
		printf("env: %s %s\n", absent[a], set ? "set" : "absent");
	}
	for (size_t i = 0; list && list[i]; i++) {
		explicit_bzero(list[i], strlen(list[i]));
		free(list[i]);
	}
	free(list);
}

static void usage(void)
{
	fprintf(stderr, "usage: heap_scan --confdir DIR --service NAME --user USER --xor K\n"
		"                 --credential HEX [--needle NAME:HEX]... [--preload MODULE]\n"
		"                 [--expect-env NAME:NEEDLE]... [--no-env NAME]... [--plant NEEDLE]\n"
		"                 [--context N]\n");
}

int main(int argc, char **argv)
{
	const char *confdir = NULL, *service = NULL, *user = NULL, *credential_hex = NULL;
	const char *plant = NULL;
	char *expect[8], *absent[8];
	size_t expect_count = 0, absent_count = 0;
	struct app app = { 0 };
	struct pam_conv pam_conv = { conv, &app };
	pam_handle_t *pamh = NULL;
	unsigned char *credential;
	size_t credential_len;
	int rc, last;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!record_start()) {
		fprintf(stderr, "heap_scan: cannot map the allocation record\n");
		return 1;
	}
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *opt = argv[i], *value = argv[i + 1];

		if (strcmp(opt, "--confdir") == 0) {
			confdir = value;
		} else if (strcmp(opt, "--service") == 0) {
			service = value;
		} else if (strcmp(opt, "--user") == 0) {
			user = value;
		} else if (strcmp(opt, "--preload") == 0) {
			/* Keep the module (and libcurl, OpenSSL) mapped after pam_end
			 * unloads it: their memory is scanned too, and dladdr can
			 * still name who allocated a block. */
			if (dlopen(value, RTLD_NOW | RTLD_LOCAL) == NULL) {
				fprintf(stderr, "heap_scan: --preload: %s\n", dlerror());
				return 1;
			}
		} else if (strcmp(opt, "--xor") == 0) {
			key = (unsigned char)strtoul(value, NULL, 0);
		} else if (strcmp(opt, "--credential") == 0) {
			credential_hex = value;
		} else if (strcmp(opt, "--needle") == 0) {
			const char *colon = strchr(value, ':');
			unsigned char *encoded;
			size_t len;
			char *name;

			if (colon == NULL || (encoded = from_hex(colon + 1, &len)) == NULL ||
			    (name = strndup(value, (size_t)(colon - value))) == NULL ||
			    !add_needle(name, encoded, len)) {
				fprintf(stderr, "heap_scan: bad --needle\n");
				return 2;
			}
		} else if (strcmp(opt, "--context") == 0) {
			context = strtoul(value, NULL, 10);
		} else if (strcmp(opt, "--plant") == 0) {
			plant = value;
		} else if (strcmp(opt, "--expect-env") == 0 && expect_count < 8 &&
			   strchr(value, ':') != NULL) {
			expect[expect_count++] = argv[i + 1];
		} else if (strcmp(opt, "--no-env") == 0 && absent_count < 8) {
			absent[absent_count++] = argv[i + 1];
		} else {
			usage();
			return 2;
		}
	}
	if (confdir == NULL || service == NULL || user == NULL || key == 0 ||
	    credential_hex == NULL ||
	    (credential = from_hex(credential_hex, &credential_len)) == NULL) {
		usage();
		return 2;
	}
	app.credential = credential;
	app.credential_len = credential_len;
	add_needle("credential", credential, credential_len);
	/* What follows a "code:" / "refresh:" prefix is what the module sends. */
	for (size_t p = 0; p < 2; p++) {
		static const char *const prefixes[] = { "code:", "refresh:" };
		size_t plen = strlen(prefixes[p]);
		bool has = credential_len > plen;

		for (size_t j = 0; has && j < plen; j++)
			has = (unsigned char)(credential[j] ^ key) == (unsigned char)prefixes[p][j];
		if (has)
			add_needle("credential-value", credential + plen, credential_len - plen);
	}

	if (!spill_setup()) {
		fprintf(stderr, "heap_scan: sigaction: %s\n", strerror(errno));
		return 1;
	}
	rc = pam_start_confdir(service, user, &pam_conv, confdir, &pamh);
	if (rc != PAM_SUCCESS) {
		printf("start: %s (%d)\n", code_name(rc), rc);
		return 1;
	}
	last = pam_authenticate(pamh, 0);
	printf("auth: %s (%d)\n", code_name(last), last);
	if (last == PAM_SUCCESS) {
		last = pam_acct_mgmt(pamh, 0);
		printf("account: %s (%d)\n", code_name(last), last);
	}
	check_env(pamh, expect, expect_count, absent, absent_count);
	rc = pam_end(pamh, last);
	spill_registers();
	if (rc != PAM_SUCCESS)
		printf("end: %s (%d)\n", code_name(rc), rc);
	printf("prompts: %u\n", app.prompts);

	/* Our own copies hold only encoded bytes; nothing to wipe but those. */
	if (plant != NULL && !plant_copy(plant))
		return 2;
	return scan_memory() ? 0 : 1;
}
