/* maint.c - `canary maintenance add|list|end`: planned-maintenance windows, during which alerts are held back. */
#include "cli/cli_int.h"
#include "storage/storage.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage: canary maintenance add [-c CONFIG] (--probe NAME | --tag TAG) --for DURATION\n"
	"                              [--reason TEXT] [--start TIME]\n"
	"       canary maintenance list [-c CONFIG] [--all] [--json]\n"
	"       canary maintenance end [-c CONFIG] ID\n\n"
	"A maintenance window holds back the alerts of one probe, or of every probe with a\n"
	"tag, from its start to its end: runs are still recorded and incidents still open,\n"
	"and their timelines show each alert not sent.\n\n"
	"  add   --probe NAME or --tag TAG (exactly one), --for DURATION (1m to 30d),\n"
	"        --reason TEXT, and --start TIME: \"now\" (the default) or ISO 8601 such as\n"
	"        2026-11-21T14:00:00Z (an offset such as +01:00 is understood; none means UTC).\n"
	"        A probe or tag that no loaded probe has is warned about, and added all the same.\n"
	"  list  the windows active or still to come; --all also those ended; --json an array\n"
	"        of objects: id, probe, tag (one of them null), start, end (RFC 3339 UTC),\n"
	"        start_ms, end_ms, reason, state (active, scheduled or ended). A database not\n"
	"        created yet is reported on stderr and lists nothing (exit 0).\n"
	"  end   ends window ID now (one still to come is cancelled).\n\n"
	"  -c, --config FILE  the main config file\n\n"
	"Exit status: 0, 1 on an unknown window or a config or database error, 2 on a usage\n"
	"error.\n";

#define MAINT_MIN_MS (60 * 1000LL)
#define MAINT_MAX_MS (30 * 86400 * 1000LL)

/* ------------------------------------------------------------------ times and windows */

static const char *maint_state(const struct store_maint *m, int64_t now)
{
	return m->end_ms <= now ? "ended" : m->start_ms > now ? "scheduled" : "active";
}

/* "probe vitals-submit" or "tag api", into buf. */
static const char *maint_match(const struct store_maint *m, char *buf, size_t size)
{
	snprintf(buf, size, "%s %s", m->probe ? "probe" : "tag", m->probe ? m->probe : m->tag ? m->tag : "?");
	return buf;
}

/* Whether a probe of cfg is the one named, or has the tag. */
static bool matches_a_probe(const struct cfg *cfg, const char *probe, const char *tag)
{
	if (probe)
		return cfg_find_probe(cfg, probe) != NULL;
	for (size_t i = 0; i < cfg->nprobes; i++)
		if (cli_probe_has_tag(cfg->probes[i], tag))
			return true;
	return false;
}

/* Loads the config at config (without secrets) and opens its database; returns 0, or 1 having said why. */
static int open_db(const char *config, unsigned flags, struct cfg **cfg, struct store **s)
{
	int rc;

	*s = NULL;
	*cfg = cli_load_config(cli_config_path(config), CFG_SKIP_SECRETS);
	if (*cfg == NULL)
		return 1;
	rc = cli_store_open(*cfg, flags, s);
	return rc == 0 ? 0 : rc == -ENOENT ? -ENOENT : 1;
}

/* The options of `end`, which has only those every subcommand has. */
static const struct option common_opts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* ------------------------------------------------------------------ add */

struct add_args {
	const char *config, *probe, *tag, *reason, *start, *dur;
};

/* Checks a's values into m; returns 0 or the usage error's status. */
static int add_check(const struct add_args *a, int64_t now, struct store_maint *m)
{
	int64_t len = 0;

	if (!a->probe == !a->tag)
		return cli_usage_error(usage_text, "maintenance add: --probe NAME or --tag TAG, exactly one of them");
	if (a->dur == NULL)
		return cli_usage_error(usage_text, "maintenance add: --for DURATION is required (1m to 30d)");
	if (probe_duration_parse(a->dur, &len) < 0 || len < MAINT_MIN_MS || len > MAINT_MAX_MS)
		return cli_usage_error(usage_text, "maintenance add: --for wants a duration from 1m to 30d, not \"%s\"",
				       a->dur);
	if (cli_parse_time(a->start ? a->start : "now", now, &m->start_ms) < 0)
		return cli_usage_error(usage_text,
				       "maintenance add: --start wants \"now\" or a time such as 2026-11-21T14:00:00Z, "
				       "not \"%s\"", a->start);
	m->end_ms = m->start_ms + len;
	if (m->end_ms <= now)
		return cli_usage_error(usage_text, "maintenance add: that window would be over already");
	m->probe = (char *)a->probe;
	m->tag = (char *)a->tag;
	m->reason = (char *)a->reason;
	m->created_ms = now;
	return 0;
}

static int maint_add(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "probe", required_argument, NULL, 'p' }, { "tag", required_argument, NULL, 't' },
		{ "for", required_argument, NULL, 'f' },   { "reason", required_argument, NULL, 'r' },
		{ "start", required_argument, NULL, 's' }, { "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },	   { NULL, 0, NULL, 0 },
	};
	struct add_args a = { 0 };
	struct store_maint m = { 0 };
	struct store *s = NULL;
	struct cfg *cfg = NULL;
	int64_t id = 0, now = probe_now_ms();
	int c, rc;

	optind = 0;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': a.config = optarg; break;
		case 'p': a.probe = optarg; break;
		case 't': a.tag = optarg; break;
		case 'f': a.dur = optarg; break;
		case 'r': a.reason = optarg; break;
		case 's': a.start = optarg; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: return cli_usage_error(usage_text, NULL);
		}
	}
	if (optind != argc)
		return cli_usage_error(usage_text, "maintenance add: unexpected \"%s\"", argv[optind]);
	if ((rc = add_check(&a, now, &m)) != 0)
		return rc;
	cfg = cli_load_config(cli_config_path(a.config), CFG_SKIP_SECRETS);
	if (cfg == NULL)
		return 1;
	if (!matches_a_probe(cfg, a.probe, a.tag))
		fprintf(stderr, "canary: warning: no probe in %s %s \"%s\"; adding the window all the same\n", cfg->path,
			a.probe ? "is named" : "has the tag", a.probe ? a.probe : a.tag);
	rc = cli_store_open(cfg, 0, &s) < 0 ? 1 : 0;
	if (rc == 0 && (rc = store_maint_add(s, &m, &id)) < 0)
		rc = cli_fail(1, "cannot add the window to %s: %s", cfg->db_path, strerror(-rc));
	if (rc == 0) {
		char match[256], from[32], until[32];
		printf("maintenance %lld: %s ", (long long)id, maint_match(&m, match, sizeof(match)));
		if (m.start_ms > now)
			printf("from %s ", cli_time_utc(m.start_ms, from, sizeof(from)));
		printf("until %s UTC", cli_time_utc(m.end_ms, until, sizeof(until)));
		if (m.reason)
			printf(" (%s)", m.reason);
		putchar('\n');
	}
	store_close(s);
	cfg_free(cfg);
	return rc;
}

/* ------------------------------------------------------------------ list */

static json_t *maint_json(const struct store_maint *m, int64_t now)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_integer(m->id));
	json_object_set_new(o, "probe", cli_json_text(m->probe));
	json_object_set_new(o, "tag", cli_json_text(m->tag));
	json_object_set_new(o, "start", cli_json_time(m->start_ms));
	json_object_set_new(o, "end", cli_json_time(m->end_ms));
	json_object_set_new(o, "start_ms", json_integer(m->start_ms));
	json_object_set_new(o, "end_ms", json_integer(m->end_ms));
	json_object_set_new(o, "reason", cli_json_text(m->reason));
	json_object_set_new(o, "state", json_string(maint_state(m, now)));
	return o;
}

/* Prints the windows of v that keep says, as a table. Returns how many. */
static size_t print_maints(const struct store_maint *v, size_t n, const bool *keep, int64_t now)
{
	char match[256], from[32], until[32];
	int wm = 5;
	size_t shown = 0;

	for (size_t i = 0; i < n; i++)
		if (keep[i] && (int)strlen(maint_match(&v[i], match, sizeof(match))) > wm)
			wm = (int)strlen(match);
	for (size_t i = 0; i < n; i++) {
		if (!keep[i])
			continue;
		if (shown++ == 0)
			printf("%-4s  %-*s  %-19s  %-19s  %-9s  %s\n", "ID", wm, "MATCH", "FROM", "UNTIL", "STATE",
			       "REASON");
		printf("%-4lld  %-*s  %-19s  %-19s  %-9s  %s\n", (long long)v[i].id, wm,
		       maint_match(&v[i], match, sizeof(match)), cli_time_utc(v[i].start_ms, from, sizeof(from)),
		       cli_time_utc(v[i].end_ms, until, sizeof(until)), maint_state(&v[i], now),
		       v[i].reason ? v[i].reason : "-");
	}
	return shown;
}

static int maint_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },	    { "json", no_argument, NULL, 'j' },
		{ "config", required_argument, NULL, 'c' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL;
	bool all = false, json = false, *keep = NULL;
	struct store_maint *v = NULL;
	struct store *s = NULL;
	struct cfg *cfg = NULL;
	size_t n = 0;
	int c, rc;

	optind = 0;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'a': all = true; break;
		case 'j': json = true; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: return cli_usage_error(usage_text, NULL);
		}
	}
	if (optind != argc)
		return cli_usage_error(usage_text, "maintenance list: unexpected \"%s\"", argv[optind]);
	rc = open_db(config, STORE_READONLY, &cfg, &s);
	if (rc == 0 && (rc = store_maint_list(s, 0, &v, &n)) < 0)
		rc = cli_fail(1, "cannot read maintenance windows from %s: %s", cfg->db_path, strerror(-rc));
	if (rc == 0 && (keep = calloc(n + 1, sizeof(*keep))) == NULL)
		rc = cli_fail(1, "maintenance list: %s", strerror(ENOMEM));
	int64_t now = probe_now_ms();
	json_t *arr = json_array();
	for (size_t i = 0; rc == 0 && i < n; i++) {
		keep[i] = all || v[i].end_ms > now;
		if (keep[i])
			json_array_append_new(arr, maint_json(&v[i], now));
	}
	/* No database yet (stderr said so) lists nothing, as an empty one would. */
	if ((rc == 0 || rc == -ENOENT) && json)
		cli_json_print(arr);
	else if (rc == 0 && print_maints(v, n, keep, now) == 0)
		puts(all ? "no maintenance windows" : "no maintenance windows active or to come");
	json_decref(arr);
	free(keep);
	store_maints_free(v, n);
	store_close(s);
	cfg_free(cfg);
	return rc == -ENOENT ? 0 : rc;
}

/* ------------------------------------------------------------------ end */

static int maint_end(int argc, char **argv)
{
	const char *config = NULL;
	struct store_maint *v = NULL;
	struct store *s = NULL;
	struct cfg *cfg = NULL;
	int64_t id = 0, now = probe_now_ms();
	size_t n = 0, i;
	int c, rc;

	optind = 0;
	while ((c = getopt_long(argc, argv, "c:h", common_opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: return cli_usage_error(usage_text, NULL);
		}
	}
	if (optind != argc - 1 || cli_parse_id(argv[optind], &id) < 0)
		return cli_usage_error(usage_text, "maintenance end: one window ID, please");
	rc = open_db(config, 0, &cfg, &s);
	if (rc == 0 && (rc = store_maint_list(s, 0, &v, &n)) < 0)
		rc = cli_fail(1, "cannot read maintenance windows from %s: %s", cfg->db_path, strerror(-rc));
	for (i = 0; rc == 0 && i < n && v[i].id != id; i++)
		;
	if (rc == 0 && i == n)
		rc = cli_fail(1, "no maintenance window %lld", (long long)id);
	if (rc == 0 && v[i].end_ms <= now) {
		char until[32];
		printf("maintenance %lld had already ended at %s UTC\n", (long long)id,
		       cli_time_utc(v[i].end_ms, until, sizeof(until)));
	} else if (rc == 0 && (rc = store_maint_end(s, id, now)) == 0) {
		printf(v[i].start_ms > now ? "maintenance %lld cancelled before it began\n" : "maintenance %lld ended\n",
		       (long long)id);
	} else if (rc == -ENOENT) {
		rc = cli_fail(1, "no maintenance window %lld", (long long)id);
	} else if (rc < 0) {
		rc = cli_fail(1, "cannot end maintenance window %lld in %s: %s", (long long)id, cfg->db_path,
			      strerror(-rc));
	}
	store_maints_free(v, n);
	store_close(s);
	cfg_free(cfg);
	return rc;
}

int cli_maintenance(int argc, char **argv)
{
	static const char *const subs[] = { "add", "list", "end", NULL };
	static int (*const fns[])(int argc, char **argv) = { maint_add, maint_list, maint_end };
	int status, i = cli_subcommand(argc, argv, subs, usage_text, &status);

	return i < 0 ? status : fns[i](argc - 1, argv + 1);
}
