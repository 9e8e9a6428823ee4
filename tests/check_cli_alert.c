/* check_cli_alert.c - the real canary binary: incidents, incident show, maintenance windows, alert test. */
#include "tests/tests.h"
#include "storage/storage.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static char *dir;
static char cfgpath[4096];
static int64_t t0, t1, t3; /* the starts of incidents 1 (resolved), 2 (open) and 3 (older) */

/* The first error of incident 1: a pipe and a line break, which Markdown cells must escape. */
#define ERR_PIPE "step \"submit\": expected status in [200, 201], got 500 | upstream\nlocked"

/* ------------------------------------------------------------------ fixtures */

/* A config with two probes (one tagged "vitals") and one webhook channel; state in the temp dir. */
static void setup_config(void)
{
	char sub[4096];

	dir = t_tmpdir();
	snprintf(cfgpath, sizeof(cfgpath), "%s/canary.json", dir);
	t_writef(dir, "canary.json", "{ \"state_dir\": \"state\", \"probes_dir\": \"probes.d\",\n"
				     "  \"channels\": { \"ops-hook\": { \"type\": \"webhook\",\n"
				     "                                \"url\": \"http://127.0.0.1:9/hook\" } } }\n");
	snprintf(sub, sizeof(sub), "%s/probes.d", dir);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	t_writef(dir, "probes.d/vitals-submit.json",
		 "{ \"tags\": [\"vitals\"], \"url\": \"http://127.0.0.1:9/v1/measurements\" }\n");
	t_writef(dir, "probes.d/login.json", "{ \"url\": \"http://127.0.0.1:9/v1/login\" }\n");
}

static void teardown(void)
{
	t_rmrf(dir);
	free(dir);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void set_incident(struct store_incident *inc, int64_t id, const char *probe, int64_t started, int64_t resolved,
			 const char *cls, const char *err, const char *last_err)
{
	*inc = (struct store_incident){
		.id = id, .probe = strdup(probe), .started_ms = started, .detected_ms = started + 60000,
		.resolved_ms = resolved, .last_failed_ms = started + 600000, .failed_runs = 12,
		.failed_step = strdup("submit"), .first_class = strdup(cls), .first_error = strdup(err),
		.last_class = strdup("timeout"), .last_error = dup_or_null(last_err),
		.flags = STORE_INC_ANNOUNCED,
	};
}

/* An event of kind on the channels named in the NULL-terminated list. */
static void set_event(struct store_event *ev, int64_t id, int64_t inc, const char *probe, const char *kind,
		      int64_t created, ...)
{
	va_list ap;

	*ev = (struct store_event){ .id = id, .incident_id = inc, .probe = strdup(probe), .kind = strdup(kind),
				    .created_ms = created, .payload = strdup("{}"), .channels = calloc(4, sizeof(char *)) };
	va_start(ap, created);
	for (const char *c; (c = va_arg(ap, const char *)) != NULL;)
		ev->channels[ev->nchannels++] = strdup(c);
	va_end(ap);
}

static void set_dlv(struct store_delivery *d, int64_t ev, const char *channel, int state, int attempts, int64_t done,
		    long status, const char *error)
{
	*d = (struct store_delivery){ .event_id = ev, .channel = strdup(channel), .state = state, .attempts = attempts,
				      .done_ms = done, .status = status, .error = dup_or_null(error) };
}

/*
 * Seeds the database through the storage API, as the daemon's alerting would:
 * incident 1 (vitals-submit, resolved; slack delivered, statuspage gave up,
 * then skipped on recovery), incident 2 (login, open; slack still pending,
 * pager suppressed by maintenance), incident 3 (vitals-submit, older, with a
 * long error), newest first 2, 1, 3.
 */
static void setup(void)
{
	char state[4096], db[4200], *err = NULL, longerr[301];
	struct store *s = NULL;

	setup_config();
	t1 = (time(NULL) - 86400) * 1000;
	t0 = t1 - 2 * 86400 * 1000;
	t3 = t0 - 7 * 86400 * 1000;
	snprintf(state, sizeof(state), "%s/state", dir);
	ck_assert_int_eq(mkdir(state, 0750), 0);
	snprintf(db, sizeof(db), "%s/canary.db", state);
	struct store_opts so = { .path = db };
	ck_assert_msg(store_open(&so, &s, &err) == 0, "%s", err);
	ck_assert_int_eq(store_writer_start(s), 0);

	memset(longerr, 'x', 300);
	longerr[300] = '\0';
	struct store_alert_op *op = calloc(1, sizeof(*op));
	op->incidents = calloc(3, sizeof(*op->incidents));
	op->nincidents = 3;
	set_incident(&op->incidents[0], 1, "vitals-submit", t0, t0 + 660000, "status", ERR_PIPE,
		     "step \"submit\": timed out after 10000 ms");
	set_incident(&op->incidents[1], 2, "login", t1, 0, "timeout", "step \"login\": timed out", NULL);
	op->incidents[1].last_failed_ms = t1 + 120000;
	set_incident(&op->incidents[2], 3, "vitals-submit", t3, t3 + 120000, "status", longerr, NULL);
	op->events = calloc(3, sizeof(*op->events));
	op->nevents = 3;
	set_event(&op->events[0], 1, 1, "vitals-submit", "opened", t0 + 60000, "slack", "statuspage", NULL);
	set_event(&op->events[1], 2, 1, "vitals-submit", "resolved", t0 + 660000, "slack", "statuspage", NULL);
	set_event(&op->events[2], 3, 2, "login", "opened", t1 + 60000, "slack", "pager", NULL);
	ck_assert_int_eq(store_submit_alert(s, op, NULL), 0);

	/* The deliveries' outcomes, as later ops update the outbox rows the events made. */
	op = calloc(1, sizeof(*op));
	op->deliveries = calloc(6, sizeof(*op->deliveries));
	op->ndeliveries = 6;
	set_dlv(&op->deliveries[0], 1, "slack", STORE_DLV_DELIVERED, 1, t0 + 62000, 200, NULL);
	set_dlv(&op->deliveries[1], 1, "statuspage", STORE_DLV_GAVE_UP, 5, t0 + 300000, 401, "HTTP 401: bad API key");
	set_dlv(&op->deliveries[2], 2, "slack", STORE_DLV_DELIVERED, 1, t0 + 661000, 200, NULL);
	set_dlv(&op->deliveries[3], 2, "statuspage", STORE_DLV_SKIPPED, 0, t0 + 661000, 0,
		"no status-page incident to resolve");
	set_dlv(&op->deliveries[4], 3, "slack", STORE_DLV_PENDING, 3, 0, 0, "connection refused");
	set_dlv(&op->deliveries[5], 3, "pager", STORE_DLV_SUPPRESSED, 0, t1 + 60000, 0, "maintenance 7 (deploy)");
	ck_assert_int_eq(store_submit_alert(s, op, NULL), 0);
	ck_assert_int_eq(store_flush(s, 5000), 0);
	store_close(s);
}

/* ------------------------------------------------------------------ helpers */

/* "2026-11-21 14:02:05" of Unix ms, in a static buffer of n (0..3). */
static const char *utc(int64_t ms, int n)
{
	static char bufs[4][32];

	return t_time_fmt(ms, "%Y-%m-%d %H:%M:%S", bufs[n], sizeof(bufs[n]));
}

static void free2(char *out, char *err)
{
	free(out);
	free(err);
}

/* ------------------------------------------------------------------ incidents */

START_TEST(incidents_table_newest_first)
{
	char *out, *err, want[256];
	int st = t_canary_run(&out, &err, "incidents", "-c", cfgpath, NULL);

	ck_assert_msg(st == 0, "%d: %s", st, err);
	ck_assert_msg(strncmp(out, "ID  PROBE          STATE     STARTED              DURATION   RUNS  STEP    ERROR\n",
			      81) == 0, "%s", out);
	snprintf(want, sizeof(want), "\n2   login          open      %s", utc(t1, 0));
	const char *order[] = { want, "\n1   vitals-submit  resolved", "\n3   vitals-submit  resolved" };
	t_assert_in_order(out, order, 3);
	snprintf(want, sizeof(want), "%s  11m 0s       12  submit  step \"submit\": expected status in [200, 201], "
				     "got 500 | u...\n", utc(t0, 0));
	ck_assert_msg(strstr(out, want) != NULL, "%s", out);
	/* The long error is cut, one line per incident. */
	ck_assert_ptr_nonnull(strstr(out, "xxxxxxx...\n"));
	ck_assert_ptr_null(strstr(out, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
	free2(out, err);
}
END_TEST

START_TEST(incidents_json_keys_and_filters)
{
	static const char *const keys[] = { "id", "probe", "state", "started", "detected", "resolved", "started_ms",
					    "detected_ms", "resolved_ms", "duration_s", "failed_runs", "failed_step",
					    "error_class", "error", "last_error_class", "last_error", "slow" };
	char *out, *err;
	int st = t_canary_run(&out, &err, "incidents", "-c", cfgpath, "--json", NULL);

	ck_assert_msg(st == 0, "%s", err);
	json_t *arr = t_json(out);
	ck_assert_int_eq(json_array_size(arr), 3);
	json_t *open = json_array_get(arr, 0), *one = json_array_get(arr, 1);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		ck_assert_msg(json_object_get(one, keys[i]) != NULL, "no key %s", keys[i]);
	ck_assert_int_eq(json_object_size(one), sizeof(keys) / sizeof(keys[0]));
	ck_assert_int_eq(json_integer_value(json_object_get(open, "id")), 2);
	ck_assert_str_eq(json_string_value(json_object_get(open, "state")), "open");
	ck_assert(json_is_null(json_object_get(open, "resolved")));
	ck_assert(json_is_null(json_object_get(open, "resolved_ms")));
	ck_assert_int_eq(json_integer_value(json_object_get(one, "id")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(one, "state")), "resolved");
	ck_assert_int_eq(json_integer_value(json_object_get(one, "duration_s")), 660);
	ck_assert_int_eq(json_integer_value(json_object_get(one, "started_ms")), t0);
	ck_assert_int_eq(strlen(json_string_value(json_object_get(one, "started"))), 20);
	ck_assert_str_eq(json_string_value(json_object_get(one, "error")), ERR_PIPE);
	ck_assert_str_eq(json_string_value(json_object_get(one, "last_error_class")), "timeout");
	ck_assert(json_is_false(json_object_get(one, "slow")));
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(arr, 2), "id")), 3);
	json_decref(arr);
	free2(out, err);

	/* Each filter: the open one; one probe's; the latest; those started in the last two days. */
	const char *filters[][2] = { { "--open", NULL }, { "--probe", "vitals-submit" }, { "--limit", "1" },
				     { "--since", "2d" } };
	const size_t counts[] = { 1, 2, 1, 1 };
	const int first[] = { 2, 1, 2, 2 };
	for (size_t i = 0; i < 4; i++) {
		/* A filter without a value ends the arguments there. */
		st = t_canary_run(&out, &err, "incidents", "-c", cfgpath, "--json", filters[i][0], filters[i][1], NULL);
		ck_assert_msg(st == 0, "%s: %s", filters[i][0], err);
		arr = t_json(out);
		ck_assert_msg(json_array_size(arr) == counts[i], "%s: %s", filters[i][0], out);
		ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(arr, 0), "id")), first[i]);
		json_decref(arr);
		free2(out, err);
	}
	st = t_canary_run(&out, &err, "incidents", "-c", cfgpath, "--probe", "nobody", NULL);
	ck_assert_int_eq(st, 0);
	ck_assert_str_eq(out, "no incidents\n");
	free2(out, err);
	st = t_canary_run(&out, &err, "incidents", "-c", cfgpath, "--limit", "0", NULL);
	ck_assert_int_eq(st, 2);
	ck_assert_ptr_nonnull(strstr(err, "usage: canary incidents"));
	free2(out, err);
}
END_TEST

/* ------------------------------------------------------------------ incident show */

START_TEST(show_text_timeline_in_time_order)
{
	char *out, *err, rows[7][256];
	int st = t_canary_run(&out, &err, "incident", "show", "-c", cfgpath, "1", NULL);

	ck_assert_msg(st == 0, "%s", err);
	ck_assert_ptr_nonnull(strstr(out, "incident 1: vitals-submit (resolved)\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nlead time to first alert: 1m 2s\n"));
	ck_assert_ptr_nonnull(strstr(out, "\ntime to detect:           1m 0s\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nduration:                 11m 0s\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nfailed runs:              12\n"));
	snprintf(rows[0], 256, "%s  first failed run (status): step \"submit\": expected status in [200, 201], got 500 "
			       "| upstream locked\n", utc(t0, 0));
	snprintf(rows[1], 256, "%s  detected (incident opened)\n", utc(t0 + 60000, 0));
	snprintf(rows[2], 256, "%s  alert `opened` delivered to slack (HTTP 200)\n", utc(t0 + 62000, 0));
	snprintf(rows[3], 256, "%s  alert `opened` to statuspage not delivered: HTTP 401: bad API key\n",
		 utc(t0 + 300000, 0));
	snprintf(rows[4], 256, "%s  latest failed run (timeout): step \"submit\": timed out after 10000 ms\n",
		 utc(t0 + 600000, 0));
	snprintf(rows[5], 256, "%s  recovered: first passing run\n", utc(t0 + 660000, 0));
	snprintf(rows[6], 256, "%s  alert `resolved` delivered to slack (HTTP 200)\n", utc(t0 + 661000, 0));
	const char *order[] = { "\ntimeline (UTC):\n", rows[0], rows[1], rows[2], rows[3], rows[4], rows[5], rows[6],
				"alert `resolved` skipped for statuspage: no status-page incident to resolve\n" };
	t_assert_in_order(out, order, 9);
	free2(out, err);

	/* The open one: no alert delivered yet, a pending and a suppressed one. */
	st = t_canary_run(&out, &err, "incident", "show", "2", "-c", cfgpath, NULL);
	ck_assert_msg(st == 0, "%s", err);
	ck_assert_ptr_nonnull(strstr(out, "incident 2: login (open)\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nresolved:                 not yet (open)\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nlead time to first alert: no alert was delivered\n"));
	ck_assert_ptr_nonnull(strstr(out, " so far\n"));
	ck_assert_ptr_nonnull(strstr(out, "alert `opened` not sent to pager: maintenance 7 (deploy)\n"));
	ck_assert_ptr_nonnull(strstr(out, "alert `opened` to slack still pending after 3 attempts, last: connection "
					  "refused\n"));
	free2(out, err);
}
END_TEST

/* Every line of the Markdown tables is one row: starts and ends with a pipe, no bare pipe in a cell. */
static void assert_table_rows(const char *md)
{
	char *copy = strdup(md), *save = NULL;
	int rows = 0;

	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (line[0] != '|')
			continue;
		rows++;
		ck_assert_msg(line[strlen(line) - 1] == '|', "a broken row: %s", line);
		int cells = 0;
		for (char *p = line; *p; p++)
			cells += *p == '|' && (p == line || p[-1] != '\\');
		ck_assert_msg(cells == 3, "%d pipes in: %s", cells, line);
	}
	ck_assert_int_ge(rows, 20);
	free(copy);
}

START_TEST(show_markdown_escapes_cells)
{
	char *out, *err, want[256];
	int st = t_canary_run(&out, &err, "incident", "show", "-c", cfgpath, "1", "--markdown", NULL);

	ck_assert_msg(st == 0, "%s", err);
	ck_assert_msg(strncmp(out, "## Incident 1: vitals-submit (resolved)\n\n| Field | Value |\n| --- | --- |\n", 72) == 0,
		      "%s", out);
	const char *order[] = { "| Probe | vitals-submit |\n", "| Failing step | submit |\n",
				"| First error | status: `step \"submit\": expected status in [200, 201], got 500 \\| "
				"upstream locked` |\n",
				"| Lead time to first alert | 1m 2s |\n", "| Failed runs | 12 |\n",
				"\n### Timeline (UTC)\n\n| Time | Event |\n| --- | --- |\n" };
	t_assert_in_order(out, order, 6);
	snprintf(want, sizeof(want), "| %s | alert `opened` to statuspage not delivered: `HTTP 401: bad API key` |\n",
		 utc(t0 + 300000, 0));
	ck_assert_msg(strstr(out, want) != NULL, "%s", out);
	assert_table_rows(out);
	free2(out, err);
}
END_TEST

START_TEST(show_json_figures_and_timeline)
{
	char *out, *err;
	int st = t_canary_run(&out, &err, "incident", "show", "-c", cfgpath, "1", "--json", NULL);

	ck_assert_msg(st == 0, "%s", err);
	json_t *o = t_json(out), *fig = json_object_get(o, "figures"), *tl = json_object_get(o, "timeline");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(o, "incident"), "id")), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(fig, "duration_s")), 660);
	ck_assert_int_eq(json_integer_value(json_object_get(fig, "detect_s")), 60);
	ck_assert_int_eq(json_integer_value(json_object_get(fig, "lead_s")), 62);
	ck_assert_int_eq(json_array_size(tl), 8);
	static const char *const kinds[] = { "first_failure", "detected", "alert", "alert",
					     "last_failure", "resolved", "alert", "alert" };
	int64_t prev = 0;
	for (size_t i = 0; i < json_array_size(tl); i++) {
		json_t *r = json_array_get(tl, i);
		int64_t at = json_integer_value(json_object_get(r, "at_ms"));
		ck_assert_msg(at >= prev, "row %zu out of order", i);
		prev = at;
		ck_assert_str_eq(json_string_value(json_object_get(r, "kind")), kinds[i]);
		ck_assert_int_eq(strlen(json_string_value(json_object_get(r, "at"))), 20);
	}
	json_t *gave_up = json_array_get(tl, 3);
	ck_assert_str_eq(json_string_value(json_object_get(gave_up, "state")), "gave_up");
	ck_assert_str_eq(json_string_value(json_object_get(gave_up, "event")), "opened");
	ck_assert_str_eq(json_string_value(json_object_get(gave_up, "channel")), "statuspage");
	ck_assert_int_eq(json_integer_value(json_object_get(gave_up, "status")), 401);
	ck_assert_int_eq(json_integer_value(json_object_get(gave_up, "attempts")), 5);
	ck_assert_str_eq(json_string_value(json_object_get(gave_up, "error")), "HTTP 401: bad API key");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(tl, 0), "what")),
			 "first failed run (status): " ERR_PIPE);
	json_decref(o);
	free2(out, err);

	st = t_canary_run(&out, &err, "incident", "show", "-c", cfgpath, "2", "--json", NULL);
	ck_assert_msg(st == 0, "%s", err);
	o = t_json(out);
	ck_assert(json_is_null(json_object_get(json_object_get(o, "figures"), "lead_s")));
	json_decref(o);
	free2(out, err);
}
END_TEST

START_TEST(show_unknown_id_and_usage_errors)
{
	char *out, *err;
	int st = t_canary_run(&out, &err, "incident", "show", "-c", cfgpath, "42", NULL);

	ck_assert_int_eq(st, 1);
	ck_assert_ptr_nonnull(strstr(err, "no incident 42"));
	free2(out, err);
	st = t_canary_run(&out, &err, "incident", "show", "-c", cfgpath, "four", NULL);
	ck_assert_int_eq(st, 2);
	ck_assert_ptr_nonnull(strstr(err, "usage: canary incident show"));
	free2(out, err);
	st = t_canary_run(&out, &err, "incident", "show", "-c", cfgpath, "1", "--json", "--markdown", NULL);
	ck_assert_int_eq(st, 2);
	free2(out, err);
	st = t_canary_run(&out, &err, "incident", "list", NULL);
	ck_assert_int_eq(st, 2);
	free2(out, err);
	st = t_canary_run(&out, &err, "incident", "show", "--help", NULL);
	ck_assert_int_eq(st, 0);
	ck_assert_ptr_nonnull(strstr(out, "--markdown"));
	free2(out, err);
}
END_TEST

/* ------------------------------------------------------------------ no database yet */

START_TEST(missing_database_lists_nothing)
{
	char *out, *err;
	int st = t_canary_run(&out, &err, "incidents", "-c", cfgpath, NULL);

	ck_assert_int_eq(st, 0);
	ck_assert_str_eq(out, "");
	ck_assert_ptr_nonnull(strstr(err, "no database at "));
	ck_assert_ptr_nonnull(strstr(err, "/state/canary.db yet (has the daemon run?)"));
	free2(out, err);
	st = t_canary_run(&out, &err, "incidents", "-c", cfgpath, "--json", NULL);
	ck_assert_int_eq(st, 0);
	ck_assert_str_eq(out, "[]\n");
	free2(out, err);
	st = t_canary_run(&out, &err, "maintenance", "list", "-c", cfgpath, "--json", NULL);
	ck_assert_int_eq(st, 0);
	ck_assert_str_eq(out, "[]\n");
	free2(out, err);
	/* Showing one incident is asking for something that is not there. */
	st = t_canary_run(&out, &err, "incident", "show", "-c", cfgpath, "1", NULL);
	ck_assert_int_eq(st, 1);
	ck_assert_ptr_nonnull(strstr(err, "no database at "));
	free2(out, err);
	/* A config that does not load is an error. */
	st = t_canary_run(&out, &err, "incidents", "-c", "/nonexistent/canary.json", NULL);
	ck_assert_int_eq(st, 1);
	free2(out, err);
}
END_TEST

/* ------------------------------------------------------------------ maintenance */

START_TEST(maintenance_add_list_end)
{
	char *out, *err;
	int st = t_canary_run(&out, &err, "maintenance", "add", "-c", cfgpath, "--probe", "vitals-submit", "--for", "2h",
			"--reason", "deploy 1.4.2", NULL);

	ck_assert_msg(st == 0, "%s", err);
	ck_assert_msg(strncmp(out, "maintenance 1: probe vitals-submit until ", 41) == 0, "%s", out);
	ck_assert_ptr_nonnull(strstr(out, " UTC (deploy 1.4.2)\n"));
	ck_assert_str_eq(err, "");
	free2(out, err);
	st = t_canary_run(&out, &err, "maintenance", "add", "-c", cfgpath, "--tag", "vitals", "--for", "30m", NULL);
	ck_assert_msg(st == 0, "%s", err);
	ck_assert_msg(strncmp(out, "maintenance 2: tag vitals until ", 32) == 0, "%s", out);
	free2(out, err);
	/* A tag no probe has: warned, added all the same. */
	st = t_canary_run(&out, &err, "maintenance", "add", "-c", cfgpath, "--tag", "nosuch", "--for", "1d", NULL);
	ck_assert_int_eq(st, 0);
	ck_assert_ptr_nonnull(strstr(err, "warning: no probe in "));
	ck_assert_ptr_nonnull(strstr(out, "maintenance 3: tag nosuch"));
	free2(out, err);
	/* One to come. */
	st = t_canary_run(&out, &err, "maintenance", "add", "-c", cfgpath, "--probe", "login", "--for", "1h", "--start",
		    "2999-01-01T10:00:00+01:00", NULL);
	ck_assert_msg(st == 0, "%s", err);
	ck_assert_str_eq(out, "maintenance 4: probe login from 2999-01-01 09:00:00 until 2999-01-01 10:00:00 UTC\n");
	free2(out, err);

	st = t_canary_run(&out, &err, "maintenance", "list", "-c", cfgpath, "--json", NULL);
	ck_assert_msg(st == 0, "%s", err);
	json_t *arr = t_json(out), *w1 = json_array_get(arr, 0);
	ck_assert_int_eq(json_array_size(arr), 4);
	static const char *const keys[] = { "id", "probe", "tag", "start", "end", "start_ms", "end_ms", "reason", "state" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		ck_assert_msg(json_object_get(w1, keys[i]) != NULL, "no key %s", keys[i]);
	ck_assert_int_eq(json_integer_value(json_object_get(w1, "id")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(w1, "probe")), "vitals-submit");
	ck_assert(json_is_null(json_object_get(w1, "tag")));
	ck_assert_str_eq(json_string_value(json_object_get(w1, "reason")), "deploy 1.4.2");
	ck_assert_str_eq(json_string_value(json_object_get(w1, "state")), "active");
	ck_assert_int_eq(json_integer_value(json_object_get(w1, "end_ms")) -
				 json_integer_value(json_object_get(w1, "start_ms")),
			 2 * 3600 * 1000);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(arr, 1), "tag")), "vitals");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(arr, 3), "state")), "scheduled");
	json_decref(arr);
	free2(out, err);

	st = t_canary_run(&out, &err, "maintenance", "end", "-c", cfgpath, "1", NULL);
	ck_assert_msg(st == 0, "%s", err);
	ck_assert_str_eq(out, "maintenance 1 ended\n");
	free2(out, err);
	st = t_canary_run(&out, &err, "maintenance", "list", "-c", cfgpath, NULL);
	ck_assert_int_eq(st, 0);
	ck_assert_msg(strncmp(out, "ID    MATCH", 11) == 0, "%s", out);
	ck_assert_ptr_null(strstr(out, "\n1 "));
	ck_assert_ptr_nonnull(strstr(out, "\n2     tag vitals "));
	free2(out, err);
	st = t_canary_run(&out, &err, "maintenance", "list", "-c", cfgpath, "--all", "--json", NULL);
	ck_assert_int_eq(st, 0);
	arr = t_json(out);
	ck_assert_int_eq(json_array_size(arr), 4);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(arr, 0), "state")), "ended");
	json_decref(arr);
	free2(out, err);
	st = t_canary_run(&out, &err, "maintenance", "end", "-c", cfgpath, "99", NULL);
	ck_assert_int_eq(st, 1);
	ck_assert_ptr_nonnull(strstr(err, "no maintenance window 99"));
	free2(out, err);
}
END_TEST

START_TEST(maintenance_usage_errors)
{
	const char *bad[][8] = {
		{ "--probe", "login", "--tag", "vitals", "--for", "1h", NULL },
		{ "--for", "1h", NULL },
		{ "--probe", "login", NULL },
		{ "--probe", "login", "--for", "10s", NULL },
		{ "--probe", "login", "--for", "31d", NULL },
		{ "--probe", "login", "--for", "soon", NULL },
		{ "--probe", "login", "--for", "1h", "--start", "2026-02-30T10:00:00Z", NULL },
		{ "--probe", "login", "--for", "1h", "--start", "2001-01-01T10:00:00Z", NULL },
	};
	char *out, *err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *argv[16] = { (char *)t_canary_bin(), "maintenance", "add", "-c", cfgpath };
		size_t n = 5;
		for (size_t k = 0; bad[i][k]; k++)
			argv[n++] = (char *)bad[i][k];
		int st = t_run(argv, NULL, &out, &err, 10000);
		ck_assert_msg(st == 2, "case %zu: status %d: %s", i, st, err);
		ck_assert_msg(strstr(err, "usage: canary maintenance add") != NULL, "case %zu: %s", i, err);
		free2(out, err);
	}
	int st = t_canary_run(&out, &err, "maintenance", "end", "-c", cfgpath, NULL);
	ck_assert_int_eq(st, 2);
	free2(out, err);
	st = t_canary_run(&out, &err, "maintenance", "pause", NULL);
	ck_assert_int_eq(st, 2);
	free2(out, err);
}
END_TEST

/* ------------------------------------------------------------------ alert test */

START_TEST(alert_test_unknown_channel)
{
	char *out, *err;
	int st = t_canary_run(&out, &err, "alert", "test", "-c", cfgpath, "nosuch", NULL);

	ck_assert_msg(st == 2, "%d: %s", st, err);
	ck_assert_msg(strstr(err, "no channel \"nosuch\" in ") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "canary.json (channels: ops-hook)") != NULL, "%s", err);
	free2(out, err);
	st = t_canary_run(&out, &err, "alert", "test", "-c", cfgpath, NULL);
	ck_assert_int_eq(st, 2);
	ck_assert_ptr_nonnull(strstr(err, "usage: canary alert test"));
	free2(out, err);
}
END_TEST

/* Adds a TCase named name to s, each test in a temp dir prepared by setup_fn; every test bounded in time. */
static TCase *add_tcase(Suite *s, const char *name, void (*setup_fn)(void))
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup_fn, teardown);
	tcase_set_timeout(tc, 30);
	suite_add_tcase(s, tc);
	return tc;
}

Suite *cli_alert_suite(void)
{
	Suite *s = suite_create("cli_alert");
	TCase *tc = add_tcase(s, "incidents", setup);

	tcase_add_test(tc, incidents_table_newest_first);
	tcase_add_test(tc, incidents_json_keys_and_filters);
	tcase_add_test(tc, show_text_timeline_in_time_order);
	tcase_add_test(tc, show_markdown_escapes_cells);
	tcase_add_test(tc, show_json_figures_and_timeline);
	tcase_add_test(tc, show_unknown_id_and_usage_errors);
	tc = add_tcase(s, "no_database", setup_config);
	tcase_add_test(tc, missing_database_lists_nothing);
	tcase_add_test(tc, alert_test_unknown_channel);
	tc = add_tcase(s, "maintenance", setup_config);
	tcase_add_test(tc, maintenance_add_list_end);
	tcase_add_test(tc, maintenance_usage_errors);
	return s;
}
