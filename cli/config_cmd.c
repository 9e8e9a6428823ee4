/* config_cmd.c - `canary config check`: validates the main file and every probe file. */
#include "cli/cli_int.h"

#include <getopt.h>
#include <string.h>

static const char usage_text[] =
	"usage: canary config check [-c CONFIG]\n\n"
	"Validates the main config file and every probe file in its probes_dir, printing\n"
	"each problem as FILE:LINE:COL: message. Exit status 0 when valid, 1 otherwise.\n";

int cli_config(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL;
	int c;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (argc < 2 || strcmp(argv[1], "check") != 0) {
		fputs(usage_text, stderr);
		return 1;
	}
	optind = 0;
	while ((c = getopt_long(argc - 1, argv + 1, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: fputs(usage_text, stderr); return 1;
		}
	}
	if (optind != argc - 1) {
		fputs(usage_text, stderr);
		return 1;
	}
	const char *path = cli_config_path(config);
	struct cfg *cfg = cli_load_config(path, 0);
	if (cfg == NULL)
		return 1;
	printf("%s: ok, %zu probe%s in %s\n", path, cfg->nprobes, cfg->nprobes == 1 ? "" : "s", cfg->probes_dir);
	cfg_free(cfg);
	return 0;
}
