/* annotate.c - `canary annotate`: records a marker shown in incident timelines. */
#include "cli/cli_int.h"
#include "storage/storage.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage: canary annotate [-c CONFIG] TEXT... [--probe NAME | --tag TAG] [--at TIME]\n\n"
	"Records a marker (a deploy, a migration) for one probe, for the probes with a tag,\n"
	"or for every probe (neither). `canary incident show` lists the markers from an hour\n"
	"before an incident started until it was resolved in its timeline, so that a failure\n"
	"can be read next to what changed just before it. The words of TEXT are joined with\n"
	"spaces. Writes the database directly (creating it when missing), whether or not the\n"
	"daemon runs.\n\n"
	"  -c, --config FILE  the main config file\n"
	"      --probe NAME   for this probe only\n"
	"      --tag TAG      for the probes with this tag\n"
	"      --at TIME      when it happened: \"now\" (the default) or a time such as\n"
	"                     2026-11-21T13:57:00Z or \"2026-11-21 13:57\" (no zone: UTC)\n\n"
	"Exit status: 0, 1 on an unknown probe or tag or a config or database error, 2 on a\n"
	"usage error.\n";

struct annotate_args {
	const char *config, *probe, *tag, *at;
};

/* Reads argv into a and the joined TEXT into *text (new); returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct annotate_args *a, char **text)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "probe", required_argument, NULL, 'p' },
		{ "tag", required_argument, NULL, 't' },    { "at", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },	    { NULL, 0, NULL, 0 },
	};
	size_t len = 1;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': a->config = optarg; break;
		case 'p': a->probe = optarg; break;
		case 't': a->tag = optarg; break;
		case 'a': a->at = optarg; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: return cli_usage_error(usage_text, NULL);
		}
	}
	if (a->probe && a->tag)
		return cli_usage_error(usage_text, "annotate: --probe or --tag, not both");
	for (int i = optind; i < argc; i++)
		len += strlen(argv[i]) + 1;
	if ((*text = calloc(1, len)) == NULL)
		return cli_fail(1, "annotate: out of memory");
	for (int i = optind; i < argc; i++) {
		strcat(*text, i > optind ? " " : "");
		strcat(*text, argv[i]);
	}
	if (strspn(*text, " \t\r\n") == strlen(*text))
		return cli_usage_error(usage_text, "annotate: what happened? TEXT is required");
	return -1;
}

/* Records a in cfg's database, printing its id; returns the exit status. */
static int record(const struct cfg *cfg, const struct store_annotation *a)
{
	struct store *s = NULL;
	int64_t id = 0;
	char when[32];
	int rc = cli_store_open(cfg, 0, &s);

	if (rc < 0)
		return 1;
	rc = store_annotate(s, a, &id);
	store_close(s);
	if (rc < 0)
		return cli_fail(1, "annotate: cannot record it in %s: %s", cfg->db_path, strerror(-rc));
	printf("annotation %lld recorded at %s UTC", (long long)id, cli_time_utc(a->at_ms, when, sizeof(when)));
	if (a->probe || a->tag)
		printf(" (%s %s)", a->probe ? "probe" : "tag", a->probe ? a->probe : a->tag);
	putchar('\n');
	return 0;
}

int cli_annotate(int argc, char **argv)
{
	struct annotate_args a = { 0 };
	struct store_annotation ann = { 0 };
	struct cfg *cfg = NULL;
	char *text = NULL;
	int64_t now = probe_now_ms();
	int status = parse_args(argc, argv, &a, &text);

	if (status >= 0)
		goto out;
	status = 0;
	if (cli_parse_time(a.at ? a.at : "now", now, &ann.at_ms) < 0 || ann.at_ms <= 0) {
		status = cli_usage_error(usage_text,
					 "annotate: --at wants \"now\" or a time such as 2026-11-21T13:57:00Z, not \"%s\"",
					 a.at);
		goto out;
	}
	cfg = cli_load_config(cli_config_path(a.config), CFG_SKIP_SECRETS);
	if (cfg == NULL || cli_check_target(cfg, "annotate", a.probe, a.tag) < 0) {
		status = 1;
		goto out;
	}
	ann.probe = (char *)a.probe;
	ann.tag = (char *)a.tag;
	ann.text = text;
	status = record(cfg, &ann);
out:
	cfg_free(cfg);
	free(text);
	return status;
}
