/* alert_cmd.c - `canary alert test`: sends a test event through one configured channel, now. */
#include "cli/cli_int.h"
#include "alerting/alert.h"

#include <getopt.h>
#include <string.h>

static const char usage_text[] =
	"usage: canary alert test [-c CONFIG] CHANNEL\n\n"
	"Sends a test event through CHANNEL, one of the config's \"channels\", now, and\n"
	"prints what the receiver answered. The config is loaded as the daemon loads it,\n"
	"secrets included: run it with the daemon's environment and credentials.\n\n"
	"  -c, --config FILE  the main config file\n\n"
	"Exit status: 0 the channel took the event, 1 it did not or the config is invalid,\n"
	"2 no such channel, a channel that cannot be set up, or a usage error.\n";

/* Prints `no channel "name" in CONFIG (channels: a, b)` to stderr; returns 2. */
static int unknown_channel(const struct cfg *cfg, const char *name)
{
	const char *key;
	json_t *v;
	size_t i = 0;

	fprintf(stderr, "canary: no channel \"%s\" in %s (", name, cfg->path);
	json_object_foreach(cfg->channels, key, v)
		fprintf(stderr, "%s%s", i++ ? ", " : "channels: ", key);
	fprintf(stderr, "%s)\n", i ? "" : "it has no channels");
	return 2;
}

/* Sends the test through channel name of the config at path. Returns the exit status. */
static int test(const char *path, const char *name)
{
	struct cfg *cfg = cli_load_config(path, 0);
	int status;

	if (cfg == NULL)
		return 1;
	if (json_object_get(cfg->channels, name) == NULL) {
		status = unknown_channel(cfg, name);
	} else {
		/* The resolved ${...} values of "channels": the answer printed must not show them. */
		struct alert_secrets secrets = { .v = (const char *const *)cfg->channel_secrets,
						 .n = cfg->nchannel_secrets };
		fflush(stdout);
		status = alert_test(cfg->channels, name, &secrets, stdout);
	}
	cfg_free(cfg);
	return status;
}

int cli_alert(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const subs[] = { "test", NULL };
	const char *config = NULL;
	int c;

	if (cli_subcommand(argc, argv, subs, usage_text, &c) < 0)
		return c;
	optind = 0;
	while ((c = getopt_long(argc - 1, argv + 1, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: return cli_usage_error(usage_text, NULL);
		}
	}
	if (optind != argc - 2)
		return cli_usage_error(usage_text, "alert test: one channel name, please");
	return test(cli_config_path(config), argv[1 + optind]);
}
