/* store_model.c - what the storage report and retention suites share: a temp database, runs as the test knows them, and the figures expected of them. */
#include "tests/store_model.h"
#include "tests/tests.h"
#include "storage/storage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <uv.h>

/* ------------------------------------------------------------------ fixture */

static char *dir;
char sm_dbpath[512];
sqlite3 *sm_db;                 /* the test's own connection: seeds and checks */

static uv_mutex_t log_lock;
char sm_log_last[1024];         /* the store's last error line */

static void log_cb(int prio, const char *msg, void *arg)
{
	(void)arg;
	uv_mutex_lock(&log_lock);
	if (prio <= LOG_ERR)
		snprintf(sm_log_last, sizeof(sm_log_last), "%s", msg);
	uv_mutex_unlock(&log_lock);
}

/* Step names already interned in this test's database. */
struct interned {
	const char *name;
	int64_t id;
};
static struct interned names[16];
static size_t nnames;

void sm_setup(void)
{
	dir = t_tmpdir();
	snprintf(sm_dbpath, sizeof(sm_dbpath), "%s/canary.db", dir);
	ck_assert_int_eq(uv_mutex_init(&log_lock), 0);
	sm_log_last[0] = '\0';
	nnames = 0;
	sm_db = NULL;
}

void sm_teardown(void)
{
	sqlite3_close(sm_db);
	uv_mutex_destroy(&log_lock);
	t_rmrf(dir);
	free(dir);
}

struct store *sm_open(unsigned flags)
{
	struct store_opts o = { .path = sm_dbpath, .flags = flags, .batch_ms = 5, .log = log_cb };

	return t_store_open(&o);
}

struct store *sm_open_rw(void)
{
	struct store *s = sm_open(0);

	if (sm_db == NULL)
		sm_db = t_db_open(sm_dbpath);
	return s;
}

/* ------------------------------------------------------------------ the model: runs as the test knows them */

static uint64_t rnd_state = 88172645463325252ULL;

uint64_t sm_rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

int64_t sm_rnd_us(void)
{
	int64_t v = 2000 + (int64_t)(sm_rnd() % 118000);

	return sm_rnd() % 20 == 0 ? v * 16 : v;
}

struct sm_run *sm_add(struct sm_model *m, int64_t t, int result, int64_t dur)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 256;
		m->v = realloc(m->v, m->cap * sizeof(*m->v));
		ck_assert_ptr_nonnull(m->v);
	}
	m->v[m->n] = (struct sm_run){ .t = t, .dur = result == 2 ? 0 : dur, .result = result };
	return &m->v[m->n++];
}

void sm_add_step(struct sm_run *r, const char *name, int idx)
{
	r->step[r->nsteps] = name;
	r->idx[r->nsteps] = idx;
	r->total[r->nsteps++] = sm_rnd_us();
}

void sm_gen(struct sm_model *m, int64_t from, int64_t to, int64_t every_ms, int fail_every,
	    int skip_every, bool steps)
{
	for (int64_t t = from, i = 0; t < to; t += every_ms, i++) {
		int result = skip_every && i % skip_every == skip_every - 1 ? 2
			     : fail_every && i % fail_every == fail_every - 1 ? 1 : 0;
		struct sm_run *r = sm_add(m, t, result, sm_rnd_us());

		if (!steps || result == 2)
			continue;
		sm_add_step(r, "login", 0);
		sm_add_step(r, sm_rnd() % 5 == 0 ? "alt" : "submit", 1);
		if (result == 0)
			sm_add_step(r, "logout", 2);
	}
}

void sm_model_free(struct sm_model *m)
{
	free(m->v);
	memset(m, 0, sizeof(*m));
}

static int64_t intern(const char *table, const char *name)
{
	for (size_t i = 0; i < nnames && strcmp(table, "step_names") == 0; i++)
		if (strcmp(names[i].name, name) == 0)
			return names[i].id;
	{
		char sql[256];
		int64_t id = 0;

		snprintf(sql, sizeof(sql), "INSERT OR IGNORE INTO %s (name) VALUES ('%s')", table, name);
		t_db_exec(sm_db, sql);
		snprintf(sql, sizeof(sql), "SELECT id FROM %s WHERE name = '%s'", table, name);
		id = t_db_int(sm_db, sql);
		if (strcmp(table, "step_names") == 0 && nnames < 16)
			names[nnames++] = (struct interned){ name, id };
		return id;
	}
}

static void stmt_done(sqlite3_stmt *st)
{
	ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
	sqlite3_reset(st);
}

int64_t sm_seed_from(struct sm_model *m, size_t from)
{
	sqlite3_stmt *run = NULL, *step = NULL;
	int64_t pid = 0;

	t_db_exec(sm_db, "BEGIN");
	pid = intern("probes", m->probe);
	ck_assert_int_eq(sqlite3_prepare_v2(sm_db, "INSERT INTO runs (probe_id, started_ms, duration_us,"
					    " lag_us, result, class, error) VALUES (?, ?, ?, 0, ?, ?, ?)",
					    -1, &run, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(sm_db, "INSERT INTO steps (run_id, idx, name_id, status,"
					    " dns_us, connect_us, tls_us, ttfb_us, total_us, bytes)"
					    " VALUES (?, ?, ?, 200, 1, 1, 1, 1, ?, 10)", -1, &step, NULL),
			 SQLITE_OK);
	for (size_t i = from; i < m->n; i++) {
		const struct sm_run *r = &m->v[i];
		int64_t id = 0;

		sqlite3_bind_int64(run, 1, pid);
		sqlite3_bind_int64(run, 2, r->t);
		sqlite3_bind_int64(run, 3, r->dur);
		sqlite3_bind_int(run, 4, r->result);
		sqlite3_bind_text(run, 5, r->result == 1 ? "http" : NULL, -1, SQLITE_STATIC);
		sqlite3_bind_text(run, 6, r->result == 1 ? "HTTP 503" : NULL, -1, SQLITE_STATIC);
		stmt_done(run);
		id = sqlite3_last_insert_rowid(sm_db);
		for (int k = 0; k < r->nsteps; k++) {
			sqlite3_bind_int64(step, 1, id);
			sqlite3_bind_int(step, 2, r->idx[k]);
			sqlite3_bind_int64(step, 3, intern("step_names", r->step[k]));
			sqlite3_bind_int64(step, 4, r->total[k]);
			stmt_done(step);
		}
	}
	sqlite3_finalize(run);
	sqlite3_finalize(step);
	t_db_exec(sm_db, "COMMIT");
	return pid;
}

int64_t sm_seed(struct sm_model *m)
{
	return sm_seed_from(m, 0);
}

void sm_add_incident(int64_t pid, int64_t id, int64_t started, int64_t detected, int64_t resolved)
{
	char sql[512];

	snprintf(sql, sizeof(sql),
		 "INSERT INTO incidents (id, probe_id, started_ms, detected_ms, resolved_ms,"
		 " last_failed_ms, failed_runs, latency_us, flags) VALUES (%lld, %lld, %lld, %lld,"
		 " nullif(%lld, 0), %lld, 3, 100, 1)", (long long)id, (long long)pid,
		 (long long)started, (long long)detected, (long long)resolved, (long long)detected);
	t_db_exec(sm_db, sql);
}

/* ------------------------------------------------------------------ expected figures, computed here */

/* Nearest rank, the slow way: the smallest k with k / n >= p / 100. */
int64_t sm_nearest_rank(const int64_t *v, size_t n, int p)
{
	int64_t *s = NULL, out = -1;

	if (n == 0)
		return -1;
	s = malloc(n * sizeof(*s));
	memcpy(s, v, n * sizeof(*s));
	for (size_t i = 1; i < n; i++)          /* insertion sort: tests have few values */
		for (size_t j = i; j > 0 && s[j - 1] > s[j]; j--) {
			int64_t x = s[j];

			s[j] = s[j - 1];
			s[j - 1] = x;
		}
	for (size_t k = 1; k <= n; k++)
		if (k * 100 >= (size_t)p * n) {
			out = s[k - 1];
			break;
		}
	free(s);
	return out;
}

struct vec {
	int64_t *v;
	size_t n, cap;
};

static void push(struct vec *x, int64_t v)
{
	if (x->n == x->cap) {
		x->cap = x->cap ? x->cap * 2 : 64;
		x->v = realloc(x->v, x->cap * sizeof(*x->v));
	}
	x->v[x->n++] = v;
}

struct want_step {
	const char *name;
	int idx;
	struct vec v;
};

struct want {
	int64_t runs, ok, skipped;
	struct vec dur;
	struct want_step step[8];
	size_t nsteps;
};

static void want_of(const struct sm_model *m, int64_t since, int64_t until, struct want *w)
{
	memset(w, 0, sizeof(*w));
	for (size_t i = 0; i < m->n; i++) {
		const struct sm_run *r = &m->v[i];

		if (r->t < since || r->t >= until)
			continue;
		if (r->result == 2) {
			w->skipped++;
			continue;
		}
		w->runs++;
		w->ok += r->result == 0;
		push(&w->dur, r->dur);
		for (int k = 0; k < r->nsteps; k++) {
			size_t j = 0;

			while (j < w->nsteps && strcmp(w->step[j].name, r->step[k]) != 0)
				j++;
			if (j == w->nsteps) {
				w->step[j].name = r->step[k];
				w->step[j].idx = r->idx[k];
				w->nsteps++;
			}
			if (r->idx[k] < w->step[j].idx)
				w->step[j].idx = r->idx[k];
			push(&w->step[j].v, r->total[k]);
		}
	}
	/* By index, then name: a bubble sort of at most 8. */
	for (size_t a = 0; a < w->nsteps; a++)
		for (size_t b = 0; b + 1 < w->nsteps - a; b++)
			if (w->step[b].idx > w->step[b + 1].idx ||
			    (w->step[b].idx == w->step[b + 1].idx &&
			     strcmp(w->step[b].name, w->step[b + 1].name) > 0)) {
				struct want_step x = w->step[b];

				w->step[b] = w->step[b + 1];
				w->step[b + 1] = x;
			}
}

static void want_free(struct want *w)
{
	free(w->dur.v);
	for (size_t i = 0; i < w->nsteps; i++)
		free(w->step[i].v.v);
}

static int64_t vmax(const struct vec *x)
{
	int64_t m = -1;

	for (size_t i = 0; i < x->n; i++)
		if (x->v[i] > m)
			m = x->v[i];
	return m;
}

/* got is want, or (approx) within 5 % of it. */
static void near(int64_t got, int64_t want, bool approx, const char *what)
{
	int64_t d = got > want ? got - want : want - got;

	if (approx)
		ck_assert_msg(d * 100 <= want * 5, "%s: %lld, want %lld within 5%%", what,
			      (long long)got, (long long)want);
	else
		ck_assert_msg(d == 0, "%s: %lld, want %lld", what, (long long)got, (long long)want);
}

void sm_check_report(const struct store_report *r, const struct sm_model *m, int64_t since,
		     int64_t until, bool approx)
{
	static const int pcts[3] = { 50, 95, 99 };
	struct want w;

	want_of(m, since, until, &w);
	ck_assert_int_eq(r->approx, approx);
	ck_assert_int_eq(r->runs, w.runs);
	ck_assert_int_eq(r->ok, w.ok);
	ck_assert_int_eq(r->skipped, w.skipped);
	for (int i = 0; i < 3; i++) {
		int64_t got = i == 0 ? r->p50_us : i == 1 ? r->p95_us : r->p99_us;
		char what[64];

		snprintf(what, sizeof(what), "run p%d", pcts[i]);
		near(got, sm_nearest_rank(w.dur.v, w.dur.n, pcts[i]), approx, what);
	}
	/* The maximum stays exact across rollups. */
	ck_assert_int_eq(r->max_us, sm_nearest_rank(w.dur.v, w.dur.n, 100));
	ck_assert_uint_eq(r->nsteps, w.nsteps);
	for (size_t j = 0; j < w.nsteps; j++) {
		const struct store_report_step *s = &r->steps[j];
		char what[64];

		ck_assert_str_eq(s->name, w.step[j].name);
		ck_assert_int_eq(s->count, (int64_t)w.step[j].v.n);
		ck_assert_int_eq(s->max_us, vmax(&w.step[j].v));
		snprintf(what, sizeof(what), "%s p50", s->name);
		near(s->p50_us, sm_nearest_rank(w.step[j].v.v, w.step[j].v.n, 50), approx, what);
		snprintf(what, sizeof(what), "%s p95", s->name);
		near(s->p95_us, sm_nearest_rank(w.step[j].v.v, w.step[j].v.n, 95), approx, what);
		snprintf(what, sizeof(what), "%s p99", s->name);
		near(s->p99_us, sm_nearest_rank(w.step[j].v.v, w.step[j].v.n, 99), approx, what);
	}
	want_free(&w);
}

struct store_report sm_report(struct store *s, const char *probe, int64_t since, int64_t until)
{
	struct store_report r;

	ck_assert_int_eq(store_report(s, probe, since, until, &r), 0);
	return r;
}

void sm_check_reports(struct store *s, const struct sm_model *m, size_t n, int64_t since,
		      int64_t until, bool approx)
{
	for (size_t k = 0; k < n; k++) {
		struct store_report r = sm_report(s, m[k].probe, since, until);

		sm_check_report(&r, &m[k], since, until, approx);
		store_report_clear(&r);
	}
}

/* What store_probe_status should say of m at now, worked out run by run. */
static void want_status(const struct sm_model *m, int64_t now, struct store_status *w)
{
	const struct sm_run *last = NULL;
	size_t di = SIZE_MAX;
	struct vec day = { 0 };

	memset(w, 0, sizeof(*w));
	for (size_t i = 0; i < m->n; i++)      /* ties go to the later insert (the larger id) */
		if (m->v[i].result < 2 && (last == NULL || m->v[i].t >= last->t))
			last = &m->v[i];
	for (size_t i = 0; i < m->n; i++) {
		const struct sm_run *r = &m->v[i];

		if (r->result == 2 || r->t > now || r->t < now - 7 * DAY_MS)
			continue;
		w->runs_7d++;
		w->ok_7d += r->result == 0;
		if (r->t >= now - DAY_MS) {
			w->runs_24h++;
			w->ok_24h += r->result == 0;
			push(&day, r->dur);
		}
	}
	w->p95_us_24h = sm_nearest_rank(day.v, day.n, 95);
	free(day.v);
	if (last == NULL)
		return;
	w->has_run = true;
	w->last_ok = last->result == 0;
	w->last_run_ms = last->t;
	w->latency_us = last->dur;
	/* The latest run with the other result; then the earliest run after it. */
	for (size_t i = 0; i < m->n; i++) {
		const struct sm_run *r = &m->v[i];

		if (r->result < 2 && r->result != last->result &&
		    (di == SIZE_MAX || r->t > m->v[di].t || (r->t == m->v[di].t && i > di)))
			di = i;
	}
	w->since_ms = last->t;
	for (size_t i = 0; i < m->n; i++) {
		const struct sm_run *r = &m->v[i];
		bool after = di == SIZE_MAX || r->t > m->v[di].t || (r->t == m->v[di].t && i > di);

		if (r->result < 2 && after && r->t < w->since_ms)
			w->since_ms = r->t;
	}
}

void sm_check_status(struct store *s, const struct sm_model *m, int64_t now)
{
	struct store_status got, w;

	want_status(m, now, &w);
	ck_assert_int_eq(store_probe_status(s, m->probe, now, &got), 0);
	ck_assert_msg(got.has_run == w.has_run && got.last_ok == w.last_ok,
		      "%s: has_run %d last_ok %d", m->probe, got.has_run, got.last_ok);
	ck_assert_int_eq(got.last_run_ms, w.last_run_ms);
	ck_assert_int_eq(got.latency_us, w.latency_us);
	ck_assert_msg(got.since_ms == w.since_ms, "%s at %lld: since %lld, want %lld", m->probe,
		      (long long)now, (long long)got.since_ms, (long long)w.since_ms);
	ck_assert_int_eq(got.runs_24h, w.runs_24h);
	ck_assert_int_eq(got.ok_24h, w.ok_24h);
	ck_assert_int_eq(got.runs_7d, w.runs_7d);
	ck_assert_int_eq(got.ok_7d, w.ok_7d);
	ck_assert_int_eq(got.p95_us_24h, w.p95_us_24h);
	if (got.has_run && !got.last_ok)
		ck_assert_pstr_eq(got.error, "HTTP 503");
	store_status_clear(&got);
}

/* ------------------------------------------------------------------ retention */

const struct store_retention sm_keep_day = { .raw_ms = DAY_MS, .hourly_ms = 400 * DAY_MS,
						 .batch = 7 };

/* Two probes, every 30 s from OLD to two hours past the last hour due (raw, and the hour still partly young). */
static void gen_old(struct sm_model *m)
{
	m[0] = (struct sm_model){ .probe = "api" };
	m[1] = (struct sm_model){ .probe = "web" };
	sm_gen(&m[0], OLD, OLD + 8 * HOUR_MS, 30000, 11, 23, true);
	sm_gen(&m[1], OLD + 90 * 60 * 1000, OLD + 8 * HOUR_MS, 30000, 5, 0, true);
}

int64_t sm_seed_old(struct sm_model *m)
{
	int64_t c = 0;

	gen_old(m);
	for (size_t k = 0; k < 2; k++) {
		sm_seed(&m[k]);
		for (size_t i = 0; i < m[k].n; i++)
			c += m[k].v[i].t < OLD + 6 * HOUR_MS;
	}
	return c;
}

void sm_add_late(struct sm_model *m, int64_t t, int result, int64_t dur, bool step)
{
	size_t from = m->n;
	struct sm_run *r = sm_add(m, t, result, dur);

	if (step)
		sm_add_step(r, "login", 0);
	sm_seed_from(m, from);
}

void sm_free(struct sm_model *m, size_t n, struct store *s)
{
	for (size_t k = 0; k < n; k++)
		sm_model_free(&m[k]);
	store_close(s);
}

/* ------------------------------------------------------------------ suites */

TCase *sm_add_case(Suite *s, const char *name, int timeout)
{
	TCase *tc = tcase_create(name);

	if (timeout > 0) {
		tcase_add_checked_fixture(tc, sm_setup, sm_teardown);
		tcase_set_timeout(tc, timeout);
	}
	suite_add_tcase(s, tc);
	return tc;
}
