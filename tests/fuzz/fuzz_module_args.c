/*
 * fuzz_module_args.c - libFuzzer target: the arguments on the module line.
 *
 * Input: the arguments, one per line (at most 64; an argument ends at a
 * NUL byte as a C string would).  "@allow", "@secret", "@ca", "@config"
 * stand for safe in-memory files (fuzz_settings.h).  Each argument is handed
 * over in a buffer of exactly its size, so AddressSanitizer sees a read
 * past its end.  Without a config= argument settings_load tries the default
 * /etc/security/pam_heroku.conf, which may be absent.
 *
 * On top of fuzz_settings.h's checks: client_secret is refused on the
 * module line (/etc/pam.d is world readable), so any argument starting
 * with "client_secret=" must make the load fail.
 */
#include "config.h"

#include "fuzz_settings.h"

#define ARGS_MAX 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_log log = { NULL, 0, 0 };
	struct ph_log sink = { fuzz_log_emit, &log };
	char *args[ARGS_MAX];
	const char *argv[ARGS_MAX];
	char reason[PH_REASON_MAX];
	struct settings settings;
	enum ph_result result;
	bool inline_secret = false;
	size_t text_len;
	char *text;
	int argc = 0;

	fuzz_side_files_init();
	text = fuzz_expand(data, size, &text_len);
	for (size_t start = 0; start < text_len && argc < ARGS_MAX;) {
		const char *nl = memchr(text + start, '\n', text_len - start);
		size_t end = nl ? (size_t)(nl - text) : text_len;

		args[argc] = fuzz_strndup((const uint8_t *)text + start, end - start);
		args[argc] = realloc(args[argc], strlen(args[argc]) + 1);   /* exact size */
		if (args[argc] == NULL)
			abort();
		if (strncmp(args[argc], "client_secret=", 14) == 0)
			inline_secret = true;
		argv[argc] = args[argc];
		argc++;
		start = end + 1;
	}

	result = settings_load(&settings, SETTINGS_TO_EXCHANGE, argc, argv, &sink, reason);
	fuzz_check_settings(result, &settings, reason, &log, text, text_len);
	if (inline_secret)
		FUZZ_CHECK(result == PH_MISCONFIGURED);
	settings_free(&settings);

	for (int i = 0; i < argc; i++)
		free(args[i]);
	free(log.text);
	free(text);
	return 0;
}
