/* report.c - `canary report`: uptime, incidents, MTTD/MTTR and latency percentiles per probe. */
#include "cli/cli_int.h"
#include "storage/storage.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage: canary report [-c CONFIG] [--since DURATION|TIME] [--probe NAME | --tag TAG] [--json]\n\n"
	"Reports, for each probe (or the one named, or those with the tag) over the range\n"
	"from --since until now: the share of passing runs, the incidents started, the mean\n"
	"time from the first failed run to detection (MTTD) and to recovery (MTTR), and the\n"
	"p50/p95/p99 and maximum latency of the whole run and of each step, marking the\n"
	"slowest step (the highest p95). Percentiles are by nearest rank over passed and\n"
	"failed runs; where raw runs have been pruned, hourly rollups stand in and the\n"
	"percentiles are approximate (said so). Reads the database directly; a database\n"
	"not created yet is reported on stderr and reports no runs (exit 0).\n\n"
	"  -c, --config FILE   the main config file\n"
	"      --since WHEN    a duration back from now (30d, the default; 12h), or a time\n"
	"                      such as 2026-11-01T00:00:00Z (no zone: UTC)\n"
	"      --probe NAME    only this probe\n"
	"      --tag TAG       only the probes with this tag\n"
	"      --json          {since, until (RFC 3339 UTC), probes: [{probe, runs, ok, skipped,\n"
	"                      uptime (0..1 or null), incidents, resolved, mttd_s, mttr_s,\n"
	"                      p50_ms, p95_ms, p99_ms, slowest_step, approx, steps: [{name,\n"
	"                      count, p50_ms, p95_ms, p99_ms, max_ms}]}]} (null: none)\n\n"
	"Exit status: 0, 1 on an unknown probe or tag or a config or database error, 2 on a\n"
	"usage error.\n";

#define REPORT_DEFAULT_MS (30 * 86400 * 1000LL)

/* One probe's report, with what its printing needs. */
struct entry {
	const char *probe;          /* borrowed from the config */
	struct store_report r;
	long slowest;               /* index into r.steps, or -1 */
};

/* The step with the highest p95 (the first of equals), or -1 when no step has latencies. */
static long slowest_step(const struct store_report *r)
{
	long best = -1;

	for (size_t i = 0; i < r->nsteps; i++)
		if (r->steps[i].count > 0 && r->steps[i].p95_us >= 0 &&
		    (best < 0 || r->steps[i].p95_us > r->steps[best].p95_us))
			best = (long)i;
	return best;
}

/* A report with no data, as store_report gives for a probe without runs. */
static void report_empty(struct store_report *r)
{
	*r = (struct store_report){ .p50_us = -1, .p95_us = -1, .p99_us = -1, .max_us = -1, .mttd_ms = -1,
				    .mttr_ms = -1 };
}

/*
 * Reads the report of each entry over [from, until). A database not created
 * yet gives every probe no data. Returns 0, or 1 having said why not.
 */
static int read_reports(const struct cfg *cfg, struct entry *v, size_t n, int64_t from, int64_t until)
{
	struct store *s = NULL;
	int rc = cli_store_open(cfg, STORE_READONLY, &s);

	for (size_t i = 0; i < n; i++) {
		report_empty(&v[i].r);
		v[i].slowest = -1;
	}
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return 1;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		rc = store_report(s, v[i].probe, from, until, &v[i].r);
		if (rc < 0) {
			store_report_clear(&v[i].r);
			report_empty(&v[i].r);
			cli_fail(0, "report: cannot read %s from %s: %s", v[i].probe, cfg->db_path, strerror(-rc));
		}
		v[i].slowest = slowest_step(&v[i].r);
	}
	store_close(s);
	return rc < 0 ? 1 : 0;
}

/* ------------------------------------------------------------------ output */

/* Seconds of a mean in ms, or null when there is none. New reference. */
static json_t *mean_json(int64_t ms)
{
	return ms >= 0 ? json_real((double)ms / 1000.0) : json_null();
}

static json_t *entry_json(const struct entry *e)
{
	const struct store_report *r = &e->r;
	json_t *o = json_object(), *steps = json_array();

	json_object_set_new(o, "probe", cli_json_text(e->probe));
	json_object_set_new(o, "runs", json_integer(r->runs));
	json_object_set_new(o, "ok", json_integer(r->ok));
	json_object_set_new(o, "skipped", json_integer(r->skipped));
	json_object_set_new(o, "uptime", r->runs > 0 ? json_real((double)r->ok / (double)r->runs) : json_null());
	json_object_set_new(o, "incidents", json_integer(r->incidents));
	json_object_set_new(o, "resolved", json_integer(r->resolved));
	json_object_set_new(o, "mttd_s", mean_json(r->mttd_ms));
	json_object_set_new(o, "mttr_s", mean_json(r->mttr_ms));
	json_object_set_new(o, "p50_ms", cli_json_ms(r->p50_us));
	json_object_set_new(o, "p95_ms", cli_json_ms(r->p95_us));
	json_object_set_new(o, "p99_ms", cli_json_ms(r->p99_us));
	json_object_set_new(o, "max_ms", cli_json_ms(r->max_us));
	json_object_set_new(o, "slowest_step", e->slowest >= 0 ? cli_json_text(r->steps[e->slowest].name) : json_null());
	json_object_set_new(o, "approx", json_boolean(r->approx));
	for (size_t i = 0; i < r->nsteps; i++) {
		const struct store_report_step *st = &r->steps[i];
		json_array_append_new(steps, json_pack("{s:o, s:I, s:o, s:o, s:o, s:o}", "name", cli_json_text(st->name),
						       "count", (json_int_t)st->count, "p50_ms", cli_json_ms(st->p50_us),
						       "p95_ms", cli_json_ms(st->p95_us), "p99_ms", cli_json_ms(st->p99_us),
						       "max_ms", cli_json_ms(st->max_us)));
	}
	json_object_set_new(o, "steps", steps);
	return o;
}

static void print_json(const struct entry *v, size_t n, int64_t from, int64_t until)
{
	json_t *o = json_object(), *probes = json_array();

	json_object_set_new(o, "since", cli_json_time(from));
	json_object_set_new(o, "until", cli_json_time(until));
	for (size_t i = 0; i < n; i++)
		json_array_append_new(probes, entry_json(&v[i]));
	json_object_set_new(o, "probes", probes);
	cli_json_print(o);
	json_decref(o);
}

/* The headline: "vitals-submit  uptime 99.93% (14380/14390 runs)  incidents 2  MTTD 1m 0s  MTTR 12m 5s". */
static void print_headline(const struct entry *e)
{
	const struct store_report *r = &e->r;
	char up[32], mttd[32] = "-", mttr[32] = "-";

	cli_uptime_text(r->ok, r->runs, up, sizeof(up));
	if (r->mttd_ms >= 0)
		cli_span(r->mttd_ms, mttd, sizeof(mttd));
	if (r->mttr_ms >= 0)
		cli_span(r->mttr_ms, mttr, sizeof(mttr));
	printf("%s  uptime %s (%lld/%lld runs", e->probe, up, (long long)r->ok, (long long)r->runs);
	if (r->skipped > 0)
		printf(", %lld skipped", (long long)r->skipped);
	printf(")  incidents %lld", (long long)r->incidents);
	if (r->resolved < r->incidents)
		printf(" (%lld open)", (long long)(r->incidents - r->resolved));
	printf("  MTTD %s  MTTR %s\n", mttd, mttr);
}

#define STEP_FMT "  %-*s  %7s  %10s  %10s  %10s  %10s%s\n"

/* One row of the step table; count < 0 prints "-". */
static void print_step_row(int w, const char *name, int64_t count, const int64_t us[4], bool slowest)
{
	char c[32] = "-", p50[32], p95[32], p99[32], max[32];

	if (count >= 0)
		snprintf(c, sizeof(c), "%lld", (long long)count);
	printf(STEP_FMT, w, name, c, cli_ms_text(us[0], p50, sizeof(p50)), cli_ms_text(us[1], p95, sizeof(p95)),
	       cli_ms_text(us[2], p99, sizeof(p99)), cli_ms_text(us[3], max, sizeof(max)), slowest ? "  <- slowest" : "");
}

static void print_entry(const struct entry *e)
{
	const struct store_report *r = &e->r;
	int w = (int)strlen("(whole run)");

	print_headline(e);
	if (r->runs == 0 && r->nsteps == 0) {
		printf("  no runs in this range\n");
		return;
	}
	for (size_t i = 0; i < r->nsteps; i++)
		w = (int)strlen(r->steps[i].name) > w ? (int)strlen(r->steps[i].name) : w;
	printf(STEP_FMT, w, "STEP", "COUNT", "P50", "P95", "P99", "MAX", "");
	for (size_t i = 0; i < r->nsteps; i++) {
		const struct store_report_step *st = &r->steps[i];
		const int64_t us[4] = { st->p50_us, st->p95_us, st->p99_us, st->max_us };
		print_step_row(w, st->name, st->count, us, (long)i == e->slowest);
	}
	const int64_t run_us[4] = { r->p50_us, r->p95_us, r->p99_us, r->max_us };
	print_step_row(w, "(whole run)", r->runs, run_us, false);
	if (r->approx)
		printf("  approximate (hourly rollups): counts are exact, percentiles within ~1%%\n");
}

static void print_text(const struct entry *v, size_t n, int64_t from, int64_t until)
{
	char a[32], b[32];

	printf("report from %s to %s UTC\n", cli_time_utc(from, a, sizeof(a)), cli_time_utc(until, b, sizeof(b)));
	if (n == 0)
		printf("\nno probes\n");
	for (size_t i = 0; i < n; i++) {
		putchar('\n');
		print_entry(&v[i]);
	}
}

/* ------------------------------------------------------------------ the command */

struct report_args {
	const char *config, *since, *probe, *tag;
	bool json;
};

/* Reads argv into a; returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct report_args *a)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "since", required_argument, NULL, 's' },
		{ "probe", required_argument, NULL, 'p' },  { "tag", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },	    { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': a->config = optarg; break;
		case 's': a->since = optarg; break;
		case 'p': a->probe = optarg; break;
		case 't': a->tag = optarg; break;
		case 'j': a->json = true; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: return cli_usage_error(usage_text, NULL);
		}
	}
	if (optind != argc)
		return cli_usage_error(usage_text, "report: unexpected \"%s\"", argv[optind]);
	if (a->probe && a->tag)
		return cli_usage_error(usage_text, "report: --probe or --tag, not both");
	return -1;
}

/* The start of the range: a duration back from now, or a time before now. Returns 0 or -EINVAL. */
static int parse_since(const char *s, int64_t now, int64_t *from)
{
	int64_t v = 0;

	if (s == NULL) {
		*from = now - REPORT_DEFAULT_MS;
		return 0;
	}
	if (probe_duration_parse(s, &v) == 0 && v > 0 && v < now) {
		*from = now - v;
		return 0;
	}
	if (cli_parse_time(s, now, &v) == 0 && v < now && strcmp(s, "now") != 0) {
		*from = v;
		return 0;
	}
	return -EINVAL;
}

int cli_report(int argc, char **argv)
{
	struct report_args a = { 0 };
	int64_t now = probe_now_ms(), from = 0;
	int status = parse_args(argc, argv, &a);

	if (status >= 0)
		return status;
	if (parse_since(a.since, now, &from) < 0)
		return cli_usage_error(usage_text,
				       "report: --since wants a duration (30d, 12h) or a past time such as "
				       "2026-11-01T00:00:00Z, not \"%s\"", a.since);
	struct cfg *cfg = cli_load_config(cli_config_path(a.config), CFG_SKIP_SECRETS);
	if (cfg == NULL)
		return 1;
	struct entry *v = calloc(cfg->nprobes + 1, sizeof(*v));
	size_t n = 0;
	status = v == NULL ? cli_fail(1, "report: out of memory") : 0;
	if (status == 0 && cli_check_target(cfg, "report", a.probe, a.tag) < 0)
		status = 1;
	for (size_t i = 0; status == 0 && i < cfg->nprobes; i++) {
		const struct probe_def *d = cfg->probes[i];
		if ((a.probe && strcmp(d->name, a.probe) != 0) || (a.tag && !cli_probe_has_tag(d, a.tag)))
			continue;
		v[n++].probe = d->name;
	}
	if (status == 0)
		status = read_reports(cfg, v, n, from, now);
	if (status == 0 && a.json)
		print_json(v, n, from, now);
	else if (status == 0)
		print_text(v, n, from, now);
	for (size_t i = 0; v && i < n; i++)
		store_report_clear(&v[i].r);
	free(v);
	cfg_free(cfg);
	return status;
}
