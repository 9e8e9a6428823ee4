/* cli.c - the subcommand table, help and version, and helpers the subcommands share. */
#include "cli/cli_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "check", cli_check, "run one probe once and print every step" },
	{ "config", cli_config, "validate the config (`canary config check`)" },
	{ "run", cli_run, "run every probe on its schedule until stopped (the daemon)" },
	{ "status", cli_status, "show each probe's state, since when, uptime and latency" },
	{ "probe", cli_probe, "add, list, show, remove, pause or resume probes" },
	{ "run-now", cli_run_now, "ask the daemon to run a probe at once and print the result" },
	{ "report", cli_report, "uptime, incidents, MTTD/MTTR and latency percentiles per probe" },
	{ "annotate", cli_annotate, "record a marker (a deploy, a migration) shown in incident timelines" },
	{ "incidents", cli_incidents, "list incidents, newest first" },
	{ "incident", cli_incident, "show one incident's timeline (`canary incident show ID`)" },
	{ "maintenance", cli_maintenance, "add, list or end maintenance windows" },
	{ "alert", cli_alert, "send a test alert through a channel (`canary alert test`)" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: canary COMMAND [OPTIONS]\n\n"
		     "canary runs scripted HTTP flows against real API paths, records every run\n"
		     "and reports what broke.\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-11s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\n`canary COMMAND --help` describes each. The config is -c FILE, else $CANARY_CONFIG,\n"
		     "else " CFG_DEFAULT_PATH ".\n");
}

int cli_main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("canary %s\n", CANARY_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "canary: unknown command \"%s\"\n\n", argv[1]);
	usage(stderr);
	return 1;
}

const char *cli_config_path(const char *given)
{
	const char *env = getenv("CANARY_CONFIG");

	if (given)
		return given;
	return env && *env ? env : CFG_DEFAULT_PATH;
}

struct cfg *cli_load_config(const char *path, unsigned flags)
{
	struct cfg_diags diags = { 0 };
	struct cfg *c = NULL;

	if (cfg_load(path, flags, &c, &diags) < 0) {
		cfg_diags_print(&diags, stderr);
		if (diags.n == 0)
			fprintf(stderr, "%s: cannot load the config\n", path);
		c = NULL;
	}
	cfg_diags_free(&diags);
	return c;
}

char *cli_time_rfc3339(int64_t ms, char *buf, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	/* A time gmtime cannot break down (or buf cannot hold) is "?", never what an unset struct tm holds. */
	if (size == 0)
		return buf;
	if ((int64_t)t != ms / 1000 || gmtime_r(&t, &tm) == NULL || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "?");
	return buf;
}

int cli_fail(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("canary: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}
