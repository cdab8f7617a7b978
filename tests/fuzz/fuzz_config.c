/*
 * fuzz_config.c - libFuzzer target: the config file (pam_heroku.conf).
 *
 * Input: the file's text ("@allow", "@secret", "@ca", "@config" stand for
 * safe in-memory files, see fuzz_settings.h).  It is written to an
 * in-memory file of mode 0600 owned by the fuzzer's euid (what safe_file
 * accepts, also for a file holding client_secret) and loaded with
 * settings_load(config=PATH of a private file), as the module line would name it.
 */
#include "config.h"

#include "fuzz_settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fuzz_file file = { .fd = -1 };
	struct fuzz_log log = { NULL, 0, 0 };
	struct ph_log sink = { fuzz_log_emit, &log };
	char config_arg[sizeof file.path + 8];
	const char *argv[1] = { config_arg };
	char reason[PH_REASON_MAX];
	struct settings settings;
	enum ph_result result;
	size_t text_len;
	char *text;

	fuzz_side_files_init();
	if (file.fd < 0)
		fuzz_file_open(&file, "pam_heroku.conf", 0600);
	text = fuzz_expand(data, size, &text_len);
	fuzz_file_write(&file, (const uint8_t *)text, text_len);
	snprintf(config_arg, sizeof config_arg, "config=%s", file.path);

	result = settings_load(&settings, SETTINGS_TO_EXCHANGE, 1, argv, &sink, reason);
	fuzz_check_settings(result, &settings, reason, &log, text, text_len);
	if (result == PH_OK)
		FUZZ_CHECK(settings.config_path != NULL &&
			   strcmp(settings.config_path, file.path) == 0);
	settings_free(&settings);
	FUZZ_CHECK(settings.client_secret == NULL && settings.api_url == NULL);

	free(log.text);
	free(text);
	return 0;
}
