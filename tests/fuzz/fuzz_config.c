/* fuzz_config.c - libFuzzer harness: the input as a probe file (cfg_parse_probe) and as the main file (cfg_load), secrets never resolved. */
#include "config/config.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cfg defaults;
/* A temp directory (under $TMPDIR) with probes.d/one.json; the input becomes its canary.json. */
static char tmpdir[4096], main_path[4200];

static void write_file(const char *path, const void *data, size_t size)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || (size > 0 && fwrite(data, size, 1, f) != 1) || fclose(f) != 0)
		abort();
}

static void tmpdir_remove(void)
{
	char path[4300];

	snprintf(path, sizeof(path), "%s/probes.d/one.json", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/probes.d", tmpdir);
	rmdir(path);
	unlink(main_path);
	rmdir(tmpdir);
}

/* Makes the main loader's directory; an input's probes_dir may still name another (it is only read). */
static void tmpdir_init(void)
{
	static const char probe[] = "{ \"url\": \"http://127.0.0.1:1/\", \"expect\": [\"status == 200\"] }";
	const char *t = getenv("TMPDIR");
	char path[4300];

	snprintf(tmpdir, sizeof(tmpdir), "%s/fuzz_config.XXXXXX", t != NULL && t[0] != '\0' ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/probes.d", tmpdir);
	if (mkdir(path, 0700) != 0)
		abort();
	snprintf(path, sizeof(path), "%s/probes.d/one.json", tmpdir);
	write_file(path, probe, sizeof(probe) - 1);
	snprintf(main_path, sizeof(main_path), "%s/canary.json", tmpdir);
	atexit(tmpdir_remove);
}

/*
 * Defaults as a main config would give them, with one channel so that an
 * "alert" naming channels is checked. CFG_SKIP_SECRETS: ${env:..}, ${file:..}
 * and ${cred:..} read as empty strings, so no input reads the environment or
 * a file.
 */
static void defaults_init(void)
{
	defaults.flags = CFG_SKIP_SECRETS;
	defaults.every_ms = 30000;
	defaults.timeout_ms = 10000;
	defaults.max_body = 1 << 20;
	alert_policy_init(&defaults.alert);
	defaults.channels = json_pack("{s{ss ss}}", "ops", "type", "webhook", "url",
				      "http://127.0.0.1:1/hook/x");
	if (defaults.channels == NULL)
		abort();
}

/*
 * True when the input names a key only the main file has ("channels" is in a
 * probe's "alert" too). The main loader reads each file into a buffer of the
 * largest size allowed, which ASan makes cost a millisecond: loading every
 * input that way would fuzz probes 20 times slower.
 */
static bool looks_main(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "\"defaults\"", "_dir\"", "\"retention\"", "\"control_socket\"" };

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (memmem(data, size, keys[i], strlen(keys[i])) != NULL)
			return true;
	return false;
}

/*
 * Loads the input as probes.d/fuzz.json, then, when it looks like a main
 * config, writes it to the temp directory's canary.json and loads that as the
 * main file. The diagnostics are printed to /dev/null to exercise positions.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *null_out;
	struct cfg_diags diags = { 0 };
	struct probe_def *d = NULL;
	struct cfg *c = NULL;

	if (defaults.channels == NULL) {
		defaults_init();
		tmpdir_init();
	}
	if (null_out == NULL && (null_out = fopen("/dev/null", "w")) == NULL)
		abort();
	if (cfg_parse_probe("probes.d/fuzz.json", (const char *)data, size, &defaults, &d, &diags) == 0)
		probe_def_unref(d);
	if (looks_main(data, size)) {
		write_file(main_path, data, size);
		if (cfg_load(main_path, CFG_SKIP_SECRETS, &c, &diags) == 0)
			cfg_free(c);
	}
	cfg_diags_print(&diags, null_out);
	cfg_diags_free(&diags);
	return 0;
}
