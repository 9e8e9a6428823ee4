/* check_cli_report.c - status, report and annotate on the real binary, checked independently. */
#include "tests/tests.h"
#include "cli/cli_int.h"
#include "storage/storage.h"

#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MIN_MS (60 * 1000LL)
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS (24 * HOUR_MS)

static char *dir;
static char cfgpath[4096], dbpath[4200];
static int64_t now0; /* the test's wall clock at setup, Unix ms: the binary's now is a little later */

/* The probes of the config, by name as the config sorts them. */
static const struct tprobe {
	const char *name;
	const char *tags;      /* a JSON array */
	bool paused;
	int nsteps;
	const char *steps[3];
	int64_t scale_us[3];   /* a step takes scale/2 to 3*scale/2 */
} probes[] = {
	{ "api-login", "[\"web\", \"api\"]", false, 2, { "login", "token" }, { 300000, 80000 } },
	{ "checkout", "[\"web\"]", false, 3, { "login", "cart", "pay" }, { 20000, 60000, 250000 } },
	{ "idle", "[]", false, 1, { "ping" }, { 1000 } },
	{ "search", "[\"internal\"]", true, 1, { "query" }, { 40000 } },
};
enum { P_API, P_CHECKOUT, P_IDLE, P_SEARCH, NPROBES };

/* ------------------------------------------------------------------ fixtures */

/* A config with the probes above (none reachable: nothing here runs them); no database yet. */
static void setup(void)
{
	char sub[4096], name[256], steps[1024];

	dir = t_tmpdir();
	now0 = (int64_t)time(NULL) * 1000;
	snprintf(cfgpath, sizeof(cfgpath), "%s/canary.json", dir);
	snprintf(dbpath, sizeof(dbpath), "%s/state/canary.db", dir);
	t_writef(dir, "canary.json", "{ \"state_dir\": \"state\", \"probes_dir\": \"probes.d\" }\n");
	snprintf(sub, sizeof(sub), "%s/probes.d", dir);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	for (int p = 0; p < NPROBES; p++) {
		size_t len = 0;
		for (int k = 0; k < probes[p].nsteps; k++)
			len += (size_t)snprintf(steps + len, sizeof(steps) - len,
						"%s{ \"name\": \"%s\", \"url\": \"http://127.0.0.1:9/%s\" }", k ? ", " : "",
						probes[p].steps[k], probes[p].steps[k]);
		snprintf(name, sizeof(name), "probes.d/%s.json", probes[p].name);
		t_writef(dir, name, "{ \"tags\": %s, \"paused\": %s, \"steps\": [ %s ] }\n", probes[p].tags,
			 probes[p].paused ? "true" : "false", steps);
	}
}

static void teardown(void)
{
	t_rmrf(dir);
	free(dir);
}

/* Creates the database as the daemon would (the current schema), then a connection to seed it. */
static sqlite3 *db_create(void)
{
	char state[4200];
	struct store_opts so = { .path = dbpath };

	snprintf(state, sizeof(state), "%s/state", dir);
	ck_assert_int_eq(mkdir(state, 0750), 0);
	store_close(t_store_open(&so));
	sqlite3 *db = t_db_open(dbpath);
	t_db_exec(db, "BEGIN");
	for (int p = 0; p < NPROBES; p++) {
		char *sql = sqlite3_mprintf("INSERT INTO probes (name) VALUES (%Q)", probes[p].name);
		t_db_exec(db, sql);
		sqlite3_free(sql);
	}
	return db;
}

static void db_done(sqlite3 *db)
{
	t_db_exec(db, "COMMIT");
	sqlite3_close(db);
}

/* Runs the printf-formatted statement (sqlite3_mprintf: %Q quotes text). */
static void db_execf(sqlite3 *db, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	char *sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	t_db_exec(db, sql);
	sqlite3_free(sql);
}

/* ------------------------------------------------------------------ seeded runs and incidents */

enum { R_PASSED = 0, R_FAILED = 1, R_SKIPPED = 2 };

struct trun {
	int probe;
	int64_t at, dur_us;
	int result;
	int nrec;              /* steps recorded: all when passed, up to the failing one when failed */
	int64_t step_us[3];
};

struct tinc {
	int probe;
	int64_t started, detected, resolved; /* resolved 0: open */
};

#define RUNS_MAX 1000
static struct trun runs[RUNS_MAX];
static size_t nruns;
static struct tinc incs[8];
static size_t nincs;
static uint32_t rng;

static uint32_t rnd(void)
{
	rng = rng * 1103515245u + 12345u;
	return (rng >> 8) & 0xffffff;
}

/* Adds a run of probe p at at; result R_*; failing at step fail_at when failed. */
static struct trun *add_run(int p, int64_t at, int result, int fail_at)
{
	ck_assert_uint_lt(nruns, RUNS_MAX);
	struct trun *r = &runs[nruns++];

	*r = (struct trun){ .probe = p, .at = at, .result = result };
	if (result == R_SKIPPED)
		return r;
	r->nrec = result == R_PASSED ? probes[p].nsteps : fail_at + 1;
	r->dur_us = 500;
	for (int k = 0; k < r->nrec; k++) {
		int64_t scale = probes[p].scale_us[k];
		r->step_us[k] = scale / 2 + (int64_t)(rnd() % (uint32_t)scale);
		r->dur_us += r->step_us[k];
	}
	return r;
}

static void insert_runs(sqlite3 *db)
{
	for (size_t i = 0; i < nruns; i++) {
		const struct trun *r = &runs[i];
		const char *name = probes[r->probe].name;
		bool failed = r->result == R_FAILED;
		db_execf(db,
			 "INSERT INTO runs (id, probe_id, started_ms, duration_us, lag_us, result, class, failed_step, error)"
			 " VALUES (%lld, (SELECT id FROM probes WHERE name = %Q), %lld, %lld, 0, %d, %Q, NULLIF(%d, -1), %Q)",
			 (long long)i + 1, name, (long long)r->at, (long long)r->dur_us, r->result,
			 failed ? "status" : r->result == R_SKIPPED ? "skipped" : NULL, failed ? r->nrec - 1 : -1,
			 failed ? "step failed: expected status 200, got 503" : r->result == R_SKIPPED ? "skipped" : NULL);
		for (int k = 0; k < r->nrec; k++) {
			const char *step = probes[r->probe].steps[k];
			db_execf(db, "INSERT OR IGNORE INTO step_names (name) VALUES (%Q)", step);
			db_execf(db,
				 "INSERT INTO steps (run_id, idx, name_id, status, dns_us, connect_us, tls_us, ttfb_us,"
				 " total_us, bytes, class, error) VALUES (%lld, %d, (SELECT id FROM step_names WHERE name = %Q),"
				 " %d, 0, 0, 0, 0, %lld, 100, NULL, NULL)",
				 (long long)i + 1, k, step, failed && k == r->nrec - 1 ? 503 : 200, (long long)r->step_us[k]);
		}
	}
}

static void add_incident(sqlite3 *db, int p, int64_t started, int64_t detect_ms, int64_t resolve_ms)
{
	struct tinc *inc = &incs[nincs++];

	*inc = (struct tinc){ .probe = p, .started = started, .detected = started + detect_ms,
			      .resolved = resolve_ms ? started + resolve_ms : 0 };
	db_execf(db,
		 "INSERT INTO incidents (id, probe_id, started_ms, detected_ms, resolved_ms, last_failed_ms, failed_runs,"
		 " latency_us, failed_step, first_class, first_error, last_class, last_error, flags) VALUES (%d,"
		 " (SELECT id FROM probes WHERE name = %Q), %lld, %lld, NULLIF(%lld, 0), %lld, 3, 1000, %Q, 'timeout',"
		 " 'step timed out', 'timeout', 'step timed out', 1)",
		 (int)nincs, probes[p].name, (long long)inc->started, (long long)inc->detected, (long long)inc->resolved,
		 (long long)inc->started + detect_ms, probes[p].steps[0]);
}

/* The time of search's run 100 (whole seconds): --since it keeps that run and drops the one 1 ms earlier. */
static int64_t search_cut;

/*
 * The report's data: api-login 300 runs every 5 minutes over the last day,
 * checkout 250 and search 200 (and one run 1 ms before search_cut), idle
 * none; about 6% failed and 3% skipped; five incidents, one open and one
 * started two days and an hour ago.
 */
static void seed_report(void)
{
	static const int counts[NPROBES] = { 300, 250, 0, 200 };
	int64_t base = now0 / MIN_MS * MIN_MS - 26 * HOUR_MS;
	sqlite3 *db = db_create();

	nruns = nincs = 0;
	rng = 12345;
	for (int p = 0; p < NPROBES; p++)
		for (int i = 0; i < counts[p]; i++) {
			uint32_t dice = rnd() % 100;
			int result = dice < 6 ? R_FAILED : dice < 9 ? R_SKIPPED : R_PASSED;
			add_run(p, base + i * 5 * MIN_MS + p * 7000, result, (int)(rnd() % (uint32_t)probes[p].nsteps));
		}
	search_cut = base + 100 * 5 * MIN_MS + P_SEARCH * 7000;
	add_run(P_SEARCH, search_cut - 1, R_PASSED, 0);
	insert_runs(db);
	add_incident(db, P_API, base + 2 * HOUR_MS, 60000, 12 * MIN_MS + 5000);
	add_incident(db, P_API, base + 20 * HOUR_MS, 90000, 0);
	add_incident(db, P_CHECKOUT, now0 - 2 * DAY_MS - HOUR_MS, 30000, 90 * MIN_MS);
	add_incident(db, P_CHECKOUT, base + 5 * HOUR_MS, 45000, 5 * MIN_MS + 5000);
	add_incident(db, P_SEARCH, base + 10 * HOUR_MS, 120000, 20 * MIN_MS);
	db_done(db);
}

/* ------------------------------------------------------------------ the figures, computed here */

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The p-th percentile of v (n values, sorted here) by nearest rank: 1-based rank ceil(p/100 n); -1 when empty. */
static int64_t pct(int64_t *v, size_t n, int p)
{
	if (n == 0)
		return -1;
	qsort(v, n, sizeof(*v), cmp64);
	size_t rank = ((size_t)p * n + 99) / 100;
	return v[rank ? rank - 1 : 0];
}

struct tstep {
	int64_t count, p50, p95, p99, max;
};

struct expect {
	int64_t runs, ok, skipped, incidents, resolved;
	double mttd_s, mttr_s; /* < 0: none */
	int64_t p50, p95, p99, max;
	struct tstep steps[3];
	int nsteps, slowest;   /* slowest -1: none */
};

/* What the report of probe p over [from, until) must say, from the seeded arrays alone. */
static void expect_of(int p, int64_t from, int64_t until, struct expect *e)
{
	static int64_t tot[RUNS_MAX], st[3][RUNS_MAX];
	int64_t mttd = 0, mttr = 0;

	memset(e, 0, sizeof(*e));
	for (size_t i = 0; i < nruns; i++) {
		const struct trun *r = &runs[i];
		if (r->probe != p || r->at < from || r->at >= until)
			continue;
		if (r->result == R_SKIPPED) {
			e->skipped++;
			continue;
		}
		tot[e->runs++] = r->dur_us;
		e->ok += r->result == R_PASSED;
		for (int k = 0; k < r->nrec; k++) {
			st[k][e->steps[k].count++] = r->step_us[k];
			e->nsteps = k + 1 > e->nsteps ? k + 1 : e->nsteps;
		}
	}
	e->p50 = pct(tot, (size_t)e->runs, 50);
	e->p95 = pct(tot, (size_t)e->runs, 95);
	e->p99 = pct(tot, (size_t)e->runs, 99);
	e->max = pct(tot, (size_t)e->runs, 100);
	e->slowest = -1;
	for (int k = 0; k < e->nsteps; k++) {
		struct tstep *s = &e->steps[k];
		size_t n = (size_t)s->count;
		s->p50 = pct(st[k], n, 50);
		s->p95 = pct(st[k], n, 95);
		s->p99 = pct(st[k], n, 99);
		s->max = pct(st[k], n, 100);
		if (e->slowest < 0 || s->p95 > e->steps[e->slowest].p95)
			e->slowest = k;
	}
	for (size_t i = 0; i < nincs; i++) {
		if (incs[i].probe != p || incs[i].started < from || incs[i].started >= until)
			continue;
		e->incidents++;
		mttd += incs[i].detected - incs[i].started;
		if (incs[i].resolved) {
			e->resolved++;
			mttr += incs[i].resolved - incs[i].started;
		}
	}
	e->mttd_s = e->incidents ? (double)mttd / (double)e->incidents / 1000.0 : -1;
	e->mttr_s = e->resolved ? (double)mttr / (double)e->resolved / 1000.0 : -1;
}

/* ------------------------------------------------------------------ checking the output */

static int64_t jint(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	ck_assert_msg(json_is_integer(v), "%s is not an integer", key);
	return json_integer_value(v);
}

/* Asserts o[key] is null when want < 0, else a number within tol of want. */
static void assert_num(const json_t *o, const char *key, double want, double tol, const char *probe)
{
	const json_t *v = json_object_get(o, key);

	ck_assert_msg(v != NULL, "%s: no %s", probe, key);
	if (want < 0) {
		ck_assert_msg(json_is_null(v), "%s: %s should be null", probe, key);
		return;
	}
	ck_assert_msg(json_is_number(v), "%s: %s is not a number", probe, key);
	ck_assert_msg(fabs(json_number_value(v) - want) <= tol, "%s: %s is %.6f, want %.6f", probe, key,
		      json_number_value(v), want);
}

/* Latencies: us as the ms the JSON gives, or null for -1. */
static void assert_ms(const json_t *o, const char *key, int64_t us, const char *probe)
{
	assert_num(o, key, us < 0 ? -1 : (double)us / 1000.0, 1e-6, probe);
}

/* Asserts the report's object o for probe p matches what the seeded data gives over [from, until). */
static void check_probe(const json_t *o, int p, int64_t from, int64_t until)
{
	const char *name = probes[p].name;
	struct expect e;

	expect_of(p, from, until, &e);
	ck_assert_str_eq(json_string_value(json_object_get(o, "probe")), name);
	ck_assert_int_eq(jint(o, "runs"), e.runs);
	ck_assert_int_eq(jint(o, "ok"), e.ok);
	ck_assert_int_eq(jint(o, "skipped"), e.skipped);
	assert_num(o, "uptime", e.runs ? (double)e.ok / (double)e.runs : -1, 1e-9, name);
	ck_assert_int_eq(jint(o, "incidents"), e.incidents);
	ck_assert_int_eq(jint(o, "resolved"), e.resolved);
	/* The store keeps means in whole ms. */
	assert_num(o, "mttd_s", e.mttd_s, 0.0015, name);
	assert_num(o, "mttr_s", e.mttr_s, 0.0015, name);
	assert_ms(o, "p50_ms", e.p50, name);
	assert_ms(o, "p95_ms", e.p95, name);
	assert_ms(o, "p99_ms", e.p99, name);
	assert_ms(o, "max_ms", e.max, name);
	ck_assert(json_is_false(json_object_get(o, "approx")));
	const json_t *slowest = json_object_get(o, "slowest_step");
	if (e.slowest < 0)
		ck_assert_msg(json_is_null(slowest), "%s: slowest_step should be null", name);
	else
		ck_assert_str_eq(json_string_value(slowest), probes[p].steps[e.slowest]);
	const json_t *steps = json_object_get(o, "steps");
	ck_assert_msg(json_array_size(steps) == (size_t)e.nsteps, "%s: %zu steps, want %d", name, json_array_size(steps),
		      e.nsteps);
	for (int k = 0; k < e.nsteps; k++) {
		const json_t *s = json_array_get(steps, (size_t)k);
		ck_assert_str_eq(json_string_value(json_object_get(s, "name")), probes[p].steps[k]);
		ck_assert_int_eq(jint(s, "count"), e.steps[k].count);
		assert_ms(s, "p50_ms", e.steps[k].p50, name);
		assert_ms(s, "p95_ms", e.steps[k].p95, name);
		assert_ms(s, "p99_ms", e.steps[k].p99, name);
		assert_ms(s, "max_ms", e.steps[k].max, name);
	}
}

/* "2026-11-21T14:02:05Z" of Unix ms, in one of four static buffers (n). */
static const char *rfc3339(int64_t ms, int n)
{
	static char bufs[4][32];

	return t_time_fmt(ms, "%Y-%m-%dT%H:%M:%SZ", bufs[n], sizeof(bufs[n]));
}

/* "2026-11-21 14:02:05" of Unix ms, in one of four static buffers (n). */
static const char *utc(int64_t ms, int n)
{
	static char bufs[4][32];

	return t_time_fmt(ms, "%Y-%m-%d %H:%M:%S", bufs[n], sizeof(bufs[n]));
}

/* A command that must be refused: its arguments after -c CONFIG, the exit status and what stderr says. */
struct refusal {
	const char *args[6];
	int status;
	const char *says;
};

static void assert_refused(const struct refusal *v, size_t n)
{
	char *out, *err;

	for (size_t i = 0; i < n; i++) {
		const char *const *a = v[i].args;
		int st = t_canary_run(&out, &err, a[0], "-c", cfgpath, a[1], a[2], a[3], a[4], a[5], NULL);
		ck_assert_msg(st == v[i].status, "%s %s: status %d, want %d: %s", a[0], a[1], st, v[i].status, err);
		ck_assert_msg(strstr(err, v[i].says) != NULL, "%s %s: \"%s\" not in: %s", a[0], a[1], v[i].says, err);
		free(out);
		free(err);
	}
}

static void free2(char *out, char *err)
{
	free(out);
	free(err);
}

/* Runs `report -c CONFIG --json` with up to two more options; returns the parsed output (new). */
static json_t *report_json(const char *a, const char *b, const char *c, const char *d)
{
	char *out, *err;
	int st = t_canary_run(&out, &err, "report", "-c", cfgpath, "--json", a, b, c, d, NULL);

	ck_assert_msg(st == 0, "report %s %s: status %d: %s", a ? a : "", b ? b : "", st, err);
	json_t *j = t_json(out);
	free2(out, err);
	return j;
}

/* The names of the report's probes, comma-separated, into buf. */
static const char *probe_names(const json_t *rep, char *buf, size_t size)
{
	const json_t *v = json_object_get(rep, "probes");
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < json_array_size(v) && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? "," : "",
					json_string_value(json_object_get(json_array_get(v, i), "probe")));
	return buf;
}

/* ------------------------------------------------------------------ report */

START_TEST(report_json_matches_the_runs)
{
	json_t *rep = report_json("--since", "2d", NULL, NULL);
	const json_t *v = json_object_get(rep, "probes");
	char names[256];

	ck_assert_str_eq(probe_names(rep, names, sizeof(names)), "api-login,checkout,idle,search");
	for (int p = 0; p < NPROBES; p++)
		check_probe(json_array_get(v, (size_t)p), p, now0 - 2 * DAY_MS, now0);
	/* The range: two days back from now. */
	const char *since = json_string_value(json_object_get(rep, "since"));
	const char *until = json_string_value(json_object_get(rep, "until"));
	ck_assert_ptr_nonnull(since);
	ck_assert_ptr_nonnull(until);
	ck_assert_int_eq(strlen(until), 20);
	ck_assert_msg(strcmp(since, rfc3339(now0 - 2 * DAY_MS, 0)) >= 0 && strcmp(until, rfc3339(now0, 1)) >= 0,
		      "range %s .. %s", since, until);
	/* Seeded so: the slow login of api-login, the open incident, and no runs for idle. */
	const json_t *api = json_array_get(v, P_API), *idle = json_array_get(v, P_IDLE);
	ck_assert_str_eq(json_string_value(json_object_get(api, "slowest_step")), "login");
	ck_assert_int_eq(jint(api, "incidents") - jint(api, "resolved"), 1);
	ck_assert(json_is_null(json_object_get(idle, "uptime")));
	ck_assert_int_eq(json_array_size(json_object_get(idle, "steps")), 0);
	json_decref(rep);
}
END_TEST

START_TEST(report_since_time_is_a_sharp_boundary)
{
	char cut[32];

	snprintf(cut, sizeof(cut), "%s", rfc3339(search_cut, 0));
	json_t *rep = report_json("--since", cut, "--probe", "search");
	const json_t *v = json_object_get(rep, "probes");
	struct expect all, from_cut;

	ck_assert_int_eq(json_array_size(v), 1);
	check_probe(json_array_get(v, 0), P_SEARCH, search_cut, now0);
	ck_assert_str_eq(json_string_value(json_object_get(rep, "since")), cut);
	/* The run at the cut counts, the one a millisecond before does not. */
	expect_of(P_SEARCH, search_cut - 1, now0, &all);
	expect_of(P_SEARCH, search_cut, now0, &from_cut);
	ck_assert_int_eq(all.runs, from_cut.runs + 1);
	ck_assert_int_eq(jint(json_array_get(v, 0), "runs"), from_cut.runs);
	json_decref(rep);

	/* A duration leaves out the incident that started before it (checkout's first). */
	rep = report_json("--since", "2d", "--probe", "checkout");
	ck_assert_int_eq(jint(json_array_get(json_object_get(rep, "probes"), 0), "incidents"), 1);
	json_decref(rep);
	rep = report_json("--since", "3d", "--probe", "checkout");
	check_probe(json_array_get(json_object_get(rep, "probes"), 0), P_CHECKOUT, now0 - 3 * DAY_MS, now0);
	ck_assert_int_eq(jint(json_array_get(json_object_get(rep, "probes"), 0), "incidents"), 2);
	json_decref(rep);
}
END_TEST

START_TEST(report_selects_by_probe_and_tag)
{
	static const char *const sel[][3] = {
		{ "--tag", "web", "api-login,checkout" },
		{ "--tag", "internal", "search" },
		{ "--probe", "checkout", "checkout" },
	};
	char names[256];

	for (size_t i = 0; i < sizeof(sel) / sizeof(sel[0]); i++) {
		json_t *rep = report_json(sel[i][0], sel[i][1], NULL, NULL);
		ck_assert_str_eq(probe_names(rep, names, sizeof(names)), sel[i][2]);
		json_decref(rep);
	}
	/* The default range is 30 days: every seeded incident is in it. */
	json_t *rep = report_json("--probe", "checkout", NULL, NULL);
	check_probe(json_array_get(json_object_get(rep, "probes"), 0), P_CHECKOUT, now0 - 30 * DAY_MS, now0);
	json_decref(rep);
}
END_TEST

/* The step name on the line of the n-th (0-based) "<- slowest" mark of out, in a static buffer. */
static const char *marked_step(const char *out, int n)
{
	static char name[64];
	const char *mark = strstr(out, "<- slowest");

	for (int i = 0; i < n && mark; i++)
		mark = strstr(mark + 1, "<- slowest");
	ck_assert_msg(mark != NULL, "no slowest mark %d in:\n%s", n, out);
	while (mark > out && mark[-1] != '\n')
		mark--;
	ck_assert_int_eq(sscanf(mark, " %63s", name), 1);
	return name;
}

START_TEST(report_text_blocks)
{
	char *out, *err, head[256], up[32];
	struct expect e;
	int st = t_canary_run(&out, &err, "report", "-c", cfgpath, "--since", "2d", NULL);

	ck_assert_msg(st == 0, "%s", err);
	ck_assert_msg(strncmp(out, "report from ", 12) == 0, "%s", out);
	expect_of(P_API, now0 - 2 * DAY_MS, now0, &e);
	snprintf(up, sizeof(up), "%.2f%%", 100.0 * (double)e.ok / (double)e.runs);
	snprintf(head, sizeof(head), "\napi-login  uptime %s (%lld/%lld runs, %lld skipped)  incidents 2 (1 open)  "
				     "MTTD 1m 15s  MTTR 12m 5s\n", up, (long long)e.ok, (long long)e.runs, (long long)e.skipped);
	const char *order[] = { head, "  STEP ", "  login ", "  <- slowest\n", "  token ", "  (whole run) ",
				"\ncheckout  uptime ", "\nidle  uptime - (0/0 runs)  incidents 0  MTTD -  MTTR -\n"
				"  no runs in this range\n", "\nsearch  uptime " };
	t_assert_in_order(out, order, sizeof(order) / sizeof(order[0]));
	ck_assert_str_eq(marked_step(out, 0), "login");
	ck_assert_str_eq(marked_step(out, 1), "pay");
	ck_assert_str_eq(marked_step(out, 2), "query");
	ck_assert_ptr_null(strstr(out, "approximate"));
	free2(out, err);
}
END_TEST

START_TEST(report_refuses_bad_usage)
{
	static const struct refusal v[] = {
		{ { "report", "--probe", "search", "--tag", "web" }, 2, "usage: canary report" },
		{ { "report", "--since", "yesterday" }, 2, "usage: canary report" },
		{ { "report", "--since", "2999-01-01T00:00:00Z" }, 2, "usage: canary report" },
		{ { "report", "extra" }, 2, "usage: canary report" },
		{ { "report", "--probe", "serch" }, 1, "did you mean \"search\"" },
		{ { "report", "--tag", "wbe" }, 1, "did you mean \"web\"" },
	};

	assert_refused(v, sizeof(v) / sizeof(v[0]));
}
END_TEST

START_TEST(report_without_a_database)
{
	char *out, *err;
	json_t *rep = report_json(NULL, NULL, NULL, NULL);
	const json_t *v = json_object_get(rep, "probes");

	ck_assert_int_eq(json_array_size(v), NPROBES);
	for (int p = 0; p < NPROBES; p++) {
		const json_t *o = json_array_get(v, (size_t)p);
		ck_assert_int_eq(jint(o, "runs"), 0);
		ck_assert(json_is_null(json_object_get(o, "uptime")));
		ck_assert(json_is_null(json_object_get(o, "mttd_s")));
		ck_assert(json_is_null(json_object_get(o, "slowest_step")));
	}
	json_decref(rep);
	int st = t_canary_run(&out, &err, "report", "-c", cfgpath, NULL);
	ck_assert_msg(st == 0, "%s", err);
	ck_assert_ptr_nonnull(strstr(err, "no database"));
	ck_assert_ptr_nonnull(strstr(out, "\nsearch  uptime - (0/0 runs)"));
	ck_assert_int_ne(access(dbpath, F_OK), 0); /* reading never creates it */
	free2(out, err);
}
END_TEST

/* ------------------------------------------------------------------ status */

/* Status runs: every 30 minutes back from 10 minutes ago; run i at status_at(i). */
static int64_t status_at(int i)
{
	return now0 - 10 * MIN_MS - i * 30 * MIN_MS;
}

/*
 * api-login over 7.5 days, failing at run 6 and every ninth before it, up
 * since run 5, with a skipped run after the last; checkout down since run
 * 3; search (paused) up; idle never run.
 */
static void seed_status(void)
{
	sqlite3 *db = db_create();

	nruns = nincs = 0;
	rng = 777;
	for (int i = 359; i >= 0; i--)
		add_run(P_API, status_at(i), i == 6 || (i > 6 && i % 9 == 0) ? R_FAILED : R_PASSED, 0);
	add_run(P_API, now0 - 5 * MIN_MS, R_SKIPPED, 0);
	for (int i = 100; i >= 0; i--)
		add_run(P_CHECKOUT, status_at(i), i <= 3 || i % 5 == 0 ? R_FAILED : R_PASSED, 2);
	for (int i = 20; i >= 0; i--)
		add_run(P_SEARCH, status_at(i), R_PASSED, 0);
	insert_runs(db);
	db_done(db);
}

/* The runs of p (passed and failed) in [from, now0), the passed among them, and the p95 of their durations. */
static void window(int p, int64_t from, int64_t *n, int64_t *ok, int64_t *p95)
{
	static int64_t d[RUNS_MAX];

	*n = *ok = 0;
	for (size_t i = 0; i < nruns; i++)
		if (runs[i].probe == p && runs[i].result != R_SKIPPED && runs[i].at >= from && runs[i].at < now0) {
			d[(*n)++] = runs[i].dur_us;
			*ok += runs[i].result == R_PASSED;
		}
	if (p95)
		*p95 = pct(d, (size_t)*n, 95);
}

/* The status object of probe p: state, since (run since_i), uptimes and p95 as the seeded runs give them. */
static void check_status(const json_t *o, int p, const char *state, int since_i)
{
	const char *name = probes[p].name;
	int64_t n24, ok24, n7, ok7, p95;

	window(p, now0 - DAY_MS, &n24, &ok24, &p95);
	window(p, now0 - 7 * DAY_MS, &n7, &ok7, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(o, "name")), name);
	ck_assert_str_eq(json_string_value(json_object_get(o, "state")), state);
	ck_assert(json_boolean_value(json_object_get(o, "paused")) == probes[p].paused);
	ck_assert_int_eq(jint(o, "runs_24h"), n24);
	ck_assert_int_eq(jint(o, "runs_7d"), n7);
	assert_num(o, "uptime_24h", n24 ? (double)ok24 / (double)n24 : -1, 1e-9, name);
	assert_num(o, "uptime_7d", n7 ? (double)ok7 / (double)n7 : -1, 1e-9, name);
	assert_ms(o, "p95_ms", p95, name);
	if (since_i < 0) {
		ck_assert(json_is_null(json_object_get(o, "since")));
		ck_assert(json_is_null(json_object_get(o, "since_s")));
		ck_assert(json_is_null(json_object_get(o, "last_run")));
		return;
	}
	int64_t since_s = (now0 - status_at(since_i)) / 1000;
	ck_assert_str_eq(json_string_value(json_object_get(o, "since")), rfc3339(status_at(since_i), 0));
	ck_assert_msg(jint(o, "since_s") >= since_s && jint(o, "since_s") <= since_s + 15, "%s: since_s %lld, want %lld",
		      name, (long long)jint(o, "since_s"), (long long)since_s);
	ck_assert_str_eq(json_string_value(json_object_get(o, "last_run")), rfc3339(status_at(0), 0));
	for (size_t i = 0; i < nruns; i++)
		if (runs[i].probe == p && runs[i].at == status_at(0))
			assert_ms(o, "latency_ms", runs[i].dur_us, name);
}

START_TEST(status_since_uptimes_p95_and_paused)
{
	static const char *const keys[] = { "name", "state", "last_run", "latency_ms", "error", "error_class",
					    "uptime_24h", "runs_24h", "since", "since_s", "uptime_7d", "runs_7d",
					    "p95_ms", "paused" };
	char *out, *err;
	int64_t n24, ok24, n7, ok7;

	seed_status();
	/* Seeded so that the week differs from the day. */
	window(P_API, now0 - DAY_MS, &n24, &ok24, NULL);
	window(P_API, now0 - 7 * DAY_MS, &n7, &ok7, NULL);
	ck_assert_int_ne(ok24 * n7, ok7 * n24);
	int st = t_canary_run(&out, &err, "status", "-c", cfgpath, "--json", NULL);
	ck_assert_msg(st == 0, "%s", err);
	json_t *arr = t_json(out);
	ck_assert_int_eq(json_array_size(arr), NPROBES);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		ck_assert_msg(json_object_get(json_array_get(arr, 0), keys[i]) != NULL, "no key %s", keys[i]);
	check_status(json_array_get(arr, P_API), P_API, "up", 5);
	check_status(json_array_get(arr, P_CHECKOUT), P_CHECKOUT, "down", 3);
	check_status(json_array_get(arr, P_SEARCH), P_SEARCH, "paused", 20);
	check_status(json_array_get(arr, P_IDLE), P_IDLE, "unknown", -1);
	const json_t *down = json_array_get(arr, P_CHECKOUT);
	ck_assert_str_eq(json_string_value(json_object_get(down, "error_class")), "status");
	ck_assert(json_is_null(json_object_get(json_array_get(arr, P_IDLE), "p95_ms")));
	json_decref(arr);
	free2(out, err);

	st = t_canary_run(&out, &err, "status", "-c", cfgpath, NULL);
	ck_assert_msg(st == 0, "%s", err);
	const char *order[] = { "PROBE      STATE    SINCE     LAST RUN", "LATENCY     P95 24H  UPTIME 24H  UPTIME 7D  ERROR",
				"\napi-login  up       2h 40m    ", "\ncheckout   down     1h 40m    ",
				"\nidle       unknown  -         -  ", "\nsearch     paused   10h 10m   " };
	t_assert_in_order(out, order, sizeof(order) / sizeof(order[0]));
	free2(out, err);
}
END_TEST

/* ------------------------------------------------------------------ annotate and incident timelines */

static int64_t inc_start; /* api-login's incident 1 (resolved after 20 minutes); checkout's 2 is open */

static void seed_incidents(void)
{
	sqlite3 *db = db_create();

	nruns = nincs = 0;
	inc_start = (now0 / 1000 - 7200) * 1000;
	add_incident(db, P_API, inc_start, 60000, 20 * MIN_MS);
	add_incident(db, P_CHECKOUT, now0 - 30 * MIN_MS, 60000, 0);
	db_done(db);
}

/* Runs `annotate -c CONFIG TEXT --at AT` with up to two more options; asserts it worked. */
static void annotate(const char *text, int64_t at, const char *opt, const char *val)
{
	char *out, *err, when[32];

	snprintf(when, sizeof(when), "%s", rfc3339(at, 3));
	int st = t_canary_run(&out, &err, "annotate", "-c", cfgpath, text, "--at", when, opt, val, NULL);
	ck_assert_msg(st == 0, "annotate %s: %d: %s", text, st, err);
	ck_assert_msg(strncmp(out, "annotation ", 11) == 0 && strstr(out, utc(at, 3)) != NULL, "%s", out);
	free2(out, err);
}

START_TEST(annotations_in_the_incident_timeline)
{
	char *out, *err, rows[4][256];

	seed_incidents();
	annotate("deploy 1.4.2", inc_start - 5 * MIN_MS, "--probe", "api-login");
	annotate("schema migration", inc_start - 2 * HOUR_MS, NULL, NULL);       /* too early */
	annotate("search reindex", inc_start - 3 * MIN_MS, "--probe", "search"); /* another probe's */
	annotate("batch job", inc_start - 2 * MIN_MS, "--tag", "internal");      /* a tag api-login lacks */
	annotate("cdn purge", inc_start + 2 * MIN_MS, "--tag", "web");
	annotate("config reload", inc_start + 5 * MIN_MS, NULL, NULL);           /* every probe */
	annotate("after the fact", inc_start + 30 * MIN_MS, "--probe", "api-login");

	int st = t_canary_run(&out, &err, "incident", "show", "-c", cfgpath, "1", NULL);
	ck_assert_msg(st == 0, "%s", err);
	snprintf(rows[0], 256, "%s  annotation  deploy 1.4.2 (probe api-login)\n", utc(inc_start - 5 * MIN_MS, 0));
	snprintf(rows[1], 256, "%s  first failed run (timeout)", utc(inc_start, 0));
	snprintf(rows[2], 256, "%s  annotation  cdn purge (tag web)\n", utc(inc_start + 2 * MIN_MS, 0));
	snprintf(rows[3], 256, "%s  annotation  config reload\n", utc(inc_start + 5 * MIN_MS, 0));
	const char *order[] = { "\ntimeline (UTC):\n", rows[0], rows[1], rows[2], rows[3], "recovered" };
	t_assert_in_order(out, order, 6);
	static const char *const absent[] = { "schema migration", "search reindex", "batch job", "after the fact" };
	for (size_t i = 0; i < 4; i++)
		ck_assert_msg(strstr(out, absent[i]) == NULL, "%s shown:\n%s", absent[i], out);
	free2(out, err);

	st = t_canary_run(&out, &err, "incident", "show", "-c", cfgpath, "1", "--markdown", NULL);
	ck_assert_msg(st == 0, "%s", err);
	snprintf(rows[0], 256, "| %s | annotation  deploy 1.4.2 (probe api-login) |\n", utc(inc_start - 5 * MIN_MS, 0));
	snprintf(rows[1], 256, "| %s | first failed run", utc(inc_start, 0));
	const char *md[] = { "### Timeline (UTC)", rows[0], rows[1], "| annotation  cdn purge (tag web) |" };
	t_assert_in_order(out, md, 4);
	ck_assert_ptr_null(strstr(out, "schema migration"));
	free2(out, err);

	st = t_canary_run(&out, &err, "incident", "show", "-c", cfgpath, "1", "--json", NULL);
	ck_assert_msg(st == 0, "%s", err);
	json_t *j = t_json(out);
	const json_t *tl = json_object_get(j, "timeline"), *first = json_array_get(tl, 0);
	ck_assert_str_eq(json_string_value(json_object_get(first, "kind")), "annotation");
	ck_assert_str_eq(json_string_value(json_object_get(first, "text")), "deploy 1.4.2");
	ck_assert_str_eq(json_string_value(json_object_get(first, "probe")), "api-login");
	ck_assert(json_is_null(json_object_get(first, "tag")));
	ck_assert_int_eq(jint(first, "at_ms"), inc_start - 5 * MIN_MS);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(tl, 1), "kind")), "first_failure");
	size_t n = 0;
	for (size_t i = 0; i < json_array_size(tl); i++) {
		const json_t *r = json_array_get(tl, i);
		if (strcmp(json_string_value(json_object_get(r, "kind")), "annotation") != 0)
			continue;
		n++;
		if (strcmp(json_string_value(json_object_get(r, "text")), "cdn purge") == 0)
			ck_assert_str_eq(json_string_value(json_object_get(r, "tag")), "web");
	}
	ck_assert_int_eq(n, 3);
	json_decref(j);
	free2(out, err);
}
END_TEST

START_TEST(annotation_now_in_an_open_incident)
{
	char *out, *err;

	seed_incidents();
	int st = t_canary_run(&out, &err, "annotate", "-c", cfgpath, "hotfix", "rollout", "--tag", "web", NULL);
	ck_assert_msg(st == 0, "%s", err);
	ck_assert_msg(strstr(out, " UTC (tag web)\n") != NULL, "%s", out);
	free2(out, err);
	/* Open: until now, so the marker just made is in; the resolved one ended long before it. */
	st = t_canary_run(&out, &err, "incident", "show", "-c", cfgpath, "2", NULL);
	ck_assert_msg(st == 0, "%s", err);
	ck_assert_msg(strstr(out, "  annotation  hotfix rollout (tag web)\n") != NULL, "%s", out);
	free2(out, err);
	st = t_canary_run(&out, &err, "incident", "show", "-c", cfgpath, "1", NULL);
	ck_assert_msg(st == 0, "%s", err);
	ck_assert_ptr_null(strstr(out, "hotfix"));
	free2(out, err);
}
END_TEST

START_TEST(annotate_refuses_and_creates)
{
	static const struct refusal v[] = {
		{ { "annotate", "text", "--probe", "search", "--tag", "web" }, 2, "usage: canary annotate" },
		{ { "annotate", "--probe", "search" }, 2, "usage: canary annotate" },
		{ { "annotate", "text", "--at", "tomorrowish" }, 2, "usage: canary annotate" },
		{ { "annotate", "deploy", "--probe", "api-logn" }, 1, "did you mean \"api-login\"" },
		{ { "annotate", "deploy", "--tag", "nosuchtag" }, 1, "has the tag \"nosuchtag\"" },
	};
	char *out, *err;

	assert_refused(v, sizeof(v) / sizeof(v[0]));
	ck_assert_int_ne(access(dbpath, F_OK), 0); /* refused before the database was touched */

	/* The database is created when missing; "YYYY-MM-DD HH:MM" is UTC. */
	int st = t_canary_run(&out, &err, "annotate", "-c", cfgpath, "first deploy", "--at", "2026-03-01 09:30", NULL);
	ck_assert_msg(st == 0, "%s", err);
	ck_assert_str_eq(out, "annotation 1 recorded at 2026-03-01 09:30:00 UTC\n");
	free2(out, err);
	ck_assert_int_eq(t_db_file_int(dbpath, "SELECT count(*) FROM annotations"), 1);
}
END_TEST

/* ------------------------------------------------------------------ rounding, times given and shown */

/*
 * One failure in 20,000 runs over the last day is 99.995 %: "%.2f" alone
 * rounds that to 100.00 %, which must never be shown while a run failed.
 */
START_TEST(uptime_never_shows_100_with_a_failure)
{
	char *out, *err;
	sqlite3 *db = db_create();

	db_execf(db, "WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < 19999)"
		     " INSERT INTO runs (probe_id, started_ms, duration_us, lag_us, result, class, error)"
		     " SELECT (SELECT id FROM probes WHERE name = 'idle'), %lld - 1000 - i * 4000, 1000, 0,"
		     " i = 7, CASE WHEN i = 7 THEN 'status' END, CASE WHEN i = 7 THEN 'got 503' END FROM k",
		 (long long)now0);
	db_done(db);
	int st = t_canary_run(&out, &err, "status", "-c", cfgpath, NULL);
	ck_assert_msg(st == 0, "%s", err);
	const char *row = strstr(out, "\nidle ");
	ck_assert_msg(row && strstr(row, "  99.99%     99.99%  -\n"), "%s", out);
	ck_assert_ptr_null(strstr(out, "100.00%"));
	free2(out, err);
	st = t_canary_run(&out, &err, "report", "-c", cfgpath, "--probe", "idle", "--since", "2d", NULL);
	ck_assert_msg(st == 0, "%s", err);
	ck_assert_msg(strstr(out, "\nidle  uptime 99.99% (19999/20000 runs)") != NULL, "%s", out);
	free2(out, err);
}
END_TEST

/* A time given with a fraction keeps its milliseconds (--at, as --since and maintenance --start). */
START_TEST(times_given_keep_their_milliseconds)
{
	char *out, *err;
	int st = t_canary_run(&out, &err, "annotate", "-c", cfgpath, "deploy", "--at", "2026-03-01T09:30:00.25+01:00",
			      NULL);

	ck_assert_msg(st == 0, "%s", err);
	free2(out, err);
	ck_assert_int_eq(t_db_file_int(dbpath, "SELECT at_ms FROM annotations"), 1772353800250LL);
	/* A point with no digits after it is not a time. */
	st = t_canary_run(&out, &err, "annotate", "-c", cfgpath, "deploy", "--at", "2026-03-01T09:30:00.Z", NULL);
	ck_assert_int_eq(st, 2);
	free2(out, err);
}
END_TEST

/* What gmtime cannot break down, or a buffer cannot hold, is "?", never the bytes of an unset struct tm. */
START_TEST(time_formatting_never_prints_garbage)
{
	char buf[64];

	ck_assert_str_eq(cli_time_rfc3339(1772353800250LL, buf, sizeof(buf)), "2026-03-01T08:30:00Z");
	memset(buf, 'x', sizeof(buf));
	ck_assert_str_eq(cli_time_rfc3339(1772353800250LL, buf, 12), "?");
	ck_assert_str_eq(cli_time_utc(1772353800250LL, buf, sizeof(buf)), "2026-03-01 08:30:00");
	json_t *j = cli_json_time(1772353800250LL);
	ck_assert_str_eq(json_string_value(j), "2026-03-01T08:30:00Z");
	json_decref(j);
}
END_TEST

Suite *cli_report_suite(void)
{
	Suite *s = suite_create("cli_report");
	TCase *tc = tcase_create("report");

	/* The report's data, seeded afresh for each test. */
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_checked_fixture(tc, seed_report, NULL);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, report_json_matches_the_runs);
	tcase_add_test(tc, report_since_time_is_a_sharp_boundary);
	tcase_add_test(tc, report_selects_by_probe_and_tag);
	tcase_add_test(tc, report_text_blocks);
	tcase_add_test(tc, report_refuses_bad_usage);
	suite_add_tcase(s, tc);

	/* Each of these seeds what it needs, or nothing at all. */
	tc = tcase_create("status_annotate");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, report_without_a_database);
	tcase_add_test(tc, status_since_uptimes_p95_and_paused);
	tcase_add_test(tc, annotations_in_the_incident_timeline);
	tcase_add_test(tc, annotation_now_in_an_open_incident);
	tcase_add_test(tc, annotate_refuses_and_creates);
	tcase_add_test(tc, uptime_never_shows_100_with_a_failure);
	tcase_add_test(tc, times_given_keep_their_milliseconds);
	tcase_add_test(tc, time_formatting_never_prints_garbage);
	suite_add_tcase(s, tc);
	return s;
}
