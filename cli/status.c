/* status.c - `canary status`: each probe's state and since when, last run, uptime and p95, read from the database. */
#include "cli/cli_int.h"
#include "storage/storage.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage: canary status [-c CONFIG] [--json]\n\n"
	"Shows, for each probe: its state (up, down, paused, or unknown before its first\n"
	"run) and for how long it has been up or down, the time of its last run, that run's\n"
	"total latency and error, the p95 of the total latency over the last 24 h, and the\n"
	"share of passing runs in the last 24 h and 7 d. Reads the database directly, so\n"
	"it works whether or not the daemon runs.\n\n"
	"  -c, --config FILE  the main config file\n"
	"      --json         an array of objects: name, state, since (RFC 3339 UTC: the\n"
	"                     first run of the current up or down streak), since_s, last_run\n"
	"                     (RFC 3339 UTC), latency_ms, p95_ms (24 h), error, error_class,\n"
	"                     uptime_24h, uptime_7d (0..1), runs_24h, runs_7d, paused\n";

struct row {
	const char *name;     /* borrowed from the config */
	bool paused;          /* its definition says "paused": true */
	struct store_status st;
};

/* The share of ok among runs (0..1), or null when there were none. New reference. */
static json_t *share_json(int64_t ok, int64_t runs)
{
	return runs > 0 ? json_real((double)ok / (double)runs) : json_null();
}

/* How long r has been in its state at now, in ms (0 without runs; never negative across clock skew). */
static int64_t since_ms(const struct row *r, int64_t now)
{
	return r->st.has_run && now > r->st.since_ms ? now - r->st.since_ms : 0;
}

static json_t *row_json(const struct row *r, int64_t now)
{
	const struct store_status *st = &r->st;
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string(r->name));
	json_object_set_new(o, "state", json_string(cli_probe_state(r->paused, &r->st)));
	json_object_set_new(o, "since", st->has_run ? cli_json_time(st->since_ms) : json_null());
	json_object_set_new(o, "since_s", st->has_run ? json_integer(since_ms(r, now) / 1000) : json_null());
	json_object_set_new(o, "last_run", st->has_run ? cli_json_time(st->last_run_ms) : json_null());
	json_object_set_new(o, "latency_ms", cli_json_ms(st->has_run ? st->latency_us : -1));
	json_object_set_new(o, "p95_ms", cli_json_ms(st->runs_24h > 0 ? st->p95_us_24h : -1));
	json_object_set_new(o, "error", cli_json_text(st->error));
	json_object_set_new(o, "error_class", cli_json_text(st->error_class));
	json_object_set_new(o, "uptime_24h", share_json(st->ok_24h, st->runs_24h));
	json_object_set_new(o, "runs_24h", json_integer(st->runs_24h));
	json_object_set_new(o, "uptime_7d", share_json(st->ok_7d, st->runs_7d));
	json_object_set_new(o, "runs_7d", json_integer(st->runs_7d));
	json_object_set_new(o, "paused", json_boolean(r->paused));
	return o;
}

static void print_json(const struct row *rows, size_t n, int64_t now)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, row_json(&rows[i], now));
	cli_json_print(arr);
	json_decref(arr);
}

/* The columns before ERROR, which comes last, on one line whatever it holds. */
#define TABLE_FMT "%-*s  %-7s  %-8s  %-20s  %10s  %10s  %10s  %9s  "

static void print_table(const struct row *rows, size_t n, int64_t now)
{
	int w = 5;

	for (size_t i = 0; i < n; i++)
		if ((int)strlen(rows[i].name) > w)
			w = (int)strlen(rows[i].name);
	printf(TABLE_FMT "ERROR\n", w, "PROBE", "STATE", "SINCE", "LAST RUN", "LATENCY", "P95 24H", "UPTIME 24H",
	       "UPTIME 7D");
	for (size_t i = 0; i < n; i++) {
		const struct store_status *st = &rows[i].st;
		char since[32] = "-", when[32] = "-", lat[32] = "-", p95[32], up[32], up7[32];
		if (st->has_run) {
			cli_span(since_ms(&rows[i], now), since, sizeof(since));
			cli_time_rfc3339(st->last_run_ms, when, sizeof(when));
			cli_ms_text(st->latency_us, lat, sizeof(lat));
		}
		cli_ms_text(st->runs_24h > 0 ? st->p95_us_24h : -1, p95, sizeof(p95));
		printf(TABLE_FMT, w, rows[i].name, cli_probe_state(rows[i].paused, &rows[i].st), since, when, lat, p95,
		       cli_uptime_text(st->ok_24h, st->runs_24h, up, sizeof(up)),
		       cli_uptime_text(st->ok_7d, st->runs_7d, up7, sizeof(up7)));
		cli_put_flat(stdout, st->error ? st->error : "-", 0);
		putchar('\n');
	}
}

/* Fills rows from the database; a database not yet created leaves every probe unknown. */
static int read_rows(const struct cfg *cfg, struct row *rows, int64_t now)
{
	struct store_opts so = { .path = cfg->db_path, .flags = STORE_READONLY };
	struct store *s = NULL;
	char *err = NULL;
	int rc = store_open(&so, &s, &err);

	if (rc == -ENOENT) {
		free(err);
		return 0;
	}
	if (rc < 0) {
		cli_fail(0, "status: cannot open %s: %s", cfg->db_path, err ? err : strerror(-rc));
		free(err);
		return rc;
	}
	for (size_t i = 0; i < cfg->nprobes && rc == 0; i++)
		rc = store_probe_status(s, rows[i].name, now, &rows[i].st);
	if (rc < 0)
		cli_fail(0, "status: cannot read %s: %s", cfg->db_path, strerror(-rc));
	store_close(s);
	return rc;
}

int cli_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL;
	bool json = false;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'j': json = true; break;
		case 'h': fputs(usage_text, stdout); return 0;
		default: fputs(usage_text, stderr); return 1;
		}
	}
	if (optind != argc) {
		fputs(usage_text, stderr);
		return 1;
	}
	struct cfg *cfg = cli_load_config(cli_config_path(config), CFG_SKIP_SECRETS);
	if (cfg == NULL)
		return 1;
	int64_t now = probe_now_ms();
	struct row *rows = calloc(cfg->nprobes + 1, sizeof(*rows));
	int rc = rows ? 0 : -ENOMEM;
	for (size_t i = 0; rows && i < cfg->nprobes; i++) {
		rows[i].name = cfg->probes[i]->name;
		rows[i].paused = cfg->probes[i]->paused;
	}
	if (rc == 0)
		rc = read_rows(cfg, rows, now);
	if (rc == 0 && json)
		print_json(rows, cfg->nprobes, now);
	else if (rc == 0)
		print_table(rows, cfg->nprobes, now);
	for (size_t i = 0; rows && i < cfg->nprobes; i++)
		store_status_clear(&rows[i].st);
	free(rows);
	cfg_free(cfg);
	return rc == 0 ? 0 : 1;
}
