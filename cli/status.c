/* status.c - `canary status`: each probe's state, last run and 24 h uptime, read from the database. */
#include "cli/cli_int.h"
#include "storage/storage.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
	"usage: canary status [-c CONFIG] [--json]\n\n"
	"Shows, for each probe: its state (up, down, or unknown before its first run), the\n"
	"time of its last run, that run's total latency and error, and the share of passing\n"
	"runs in the last 24 h. Reads the database directly, so it works whether or not the\n"
	"daemon runs.\n\n"
	"  -c, --config FILE  the main config file\n"
	"      --json         an array of objects: name, state, last_run (RFC 3339 UTC),\n"
	"                     latency_ms, error, error_class, uptime_24h (0..1), runs_24h\n";

struct row {
	const char *name;
	struct store_status st;
};

static const char *state_name(const struct store_status *st)
{
	return !st->has_run ? "unknown" : st->last_ok ? "up" : "down";
}

static json_t *row_json(const struct row *r)
{
	char when[32];
	json_t *o = json_object();

	json_object_set_new(o, "name", json_string(r->name));
	json_object_set_new(o, "state", json_string(state_name(&r->st)));
	json_object_set_new(o, "last_run", r->st.has_run ? json_string(cli_time_rfc3339(r->st.last_run_ms, when,
											 sizeof(when)))
							 : json_null());
	json_object_set_new(o, "latency_ms", r->st.has_run ? json_real((double)r->st.latency_us / 1000.0) : json_null());
	json_object_set_new(o, "error", r->st.error ? json_string(r->st.error) : json_null());
	json_object_set_new(o, "error_class", r->st.error_class ? json_string(r->st.error_class) : json_null());
	json_object_set_new(o, "uptime_24h",
			    r->st.runs_24h > 0 ? json_real((double)r->st.ok_24h / (double)r->st.runs_24h) : json_null());
	json_object_set_new(o, "runs_24h", json_integer(r->st.runs_24h));
	return o;
}

static void print_json(const struct row *rows, size_t n)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, row_json(&rows[i]));
	char *text = json_dumps(arr, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
	if (text)
		puts(text);
	free(text);
	json_decref(arr);
}

static void print_table(const struct row *rows, size_t n)
{
	int w = 5;

	for (size_t i = 0; i < n; i++)
		if ((int)strlen(rows[i].name) > w)
			w = (int)strlen(rows[i].name);
	printf("%-*s  %-7s  %-20s  %10s  %10s  %s\n", w, "PROBE", "STATE", "LAST RUN", "LATENCY", "UPTIME 24H",
	       "ERROR");
	for (size_t i = 0; i < n; i++) {
		const struct store_status *st = &rows[i].st;
		char when[32] = "-", lat[32] = "-", up[32] = "-";
		if (st->has_run) {
			cli_time_rfc3339(st->last_run_ms, when, sizeof(when));
			snprintf(lat, sizeof(lat), "%.1f ms", (double)st->latency_us / 1000.0);
		}
		if (st->runs_24h > 0)
			snprintf(up, sizeof(up), "%.2f%%", 100.0 * (double)st->ok_24h / (double)st->runs_24h);
		printf("%-*s  %-7s  %-20s  %10s  %10s  %s\n", w, rows[i].name, state_name(st), when, lat, up,
		       st->error ? st->error : "-");
	}
}

/* Fills rows from the database; a database not yet created leaves every probe unknown. */
static int read_rows(const struct cfg *cfg, struct row *rows)
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
	int64_t now = probe_now_ms();
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
	struct row *rows = calloc(cfg->nprobes + 1, sizeof(*rows));
	int rc = rows ? 0 : -ENOMEM;
	for (size_t i = 0; rows && i < cfg->nprobes; i++)
		rows[i].name = cfg->probes[i]->name;
	if (rc == 0)
		rc = read_rows(cfg, rows);
	if (rc == 0 && json)
		print_json(rows, cfg->nprobes);
	else if (rc == 0)
		print_table(rows, cfg->nprobes);
	for (size_t i = 0; rows && i < cfg->nprobes; i++)
		store_status_clear(&rows[i].st);
	free(rows);
	cfg_free(cfg);
	return rc == 0 ? 0 : 1;
}
