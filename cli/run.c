/* run.c - `canary run`: loads the config and hands it to the daemon until SIGTERM. */
#include "cli/cli_int.h"
#include "daemon/daemon.h"

#include <getopt.h>
#include <stdlib.h>

static const char usage_text[] =
	"usage: canary run [-c CONFIG] [--log-level LEVEL] [-v]\n\n"
	"Runs every probe on its schedule and records each run, until SIGTERM or SIGINT\n"
	"(in-flight runs get up to 4.5 s to finish; every result is written before exit).\n"
	"SIGHUP reloads the config (as the control socket's reload does). Refuses to start\n"
	"on an invalid config, or when another canary answers on the control socket.\n\n"
	"  -c, --config FILE      the main config file\n"
	"      --log-level LEVEL  debug, info (default), notice, warning or error\n"
	"  -v, --verbose          the same as --log-level debug: one line per run\n";

int cli_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "log-level", required_argument, NULL, 'l' },
		{ "verbose", no_argument, NULL, 'v' },	    { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct daemon_opts dopts = { .log_level = LOG_INFO };
	const char *config = NULL;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'v': dopts.log_level = LOG_DEBUG; break;
		case 'l':
			dopts.log_level = daemon_log_level_parse(optarg);
			if (dopts.log_level < 0)
				return cli_fail(1, "run: unknown log level \"%s\"", optarg);
			break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: fputs(usage_text, stderr); return 1;
		}
	}
	if (optind != argc) {
		fputs(usage_text, stderr);
		return 1;
	}
	daemon_log_init(dopts.log_level);
	struct cfg *cfg = cli_load_config(cli_config_path(config), 0);
	if (cfg == NULL) {
		daemon_log(LOG_ERR, "refusing to start: the config is invalid");
		return 1;
	}
	int status = daemon_run(cfg, &dopts);
	cfg_free(cfg);
	return status;
}
