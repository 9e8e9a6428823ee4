/* check_store_report.c - report, annotations, retention and status figures in storage. */
#include "tests/tests.h"
#include "probes/probe.h"
#include "storage/storage.h"
#include "storage/sqlite_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <uv.h>

#define HOUR_MS (60 * 60 * 1000LL)
#define DAY_MS (24 * HOUR_MS)
/* On an hour boundary, so that tests know which hours are whole. */
#define T0 (1700000000000LL / HOUR_MS * HOUR_MS)

/* ------------------------------------------------------------------ fixture */

static char *dir;
static char dbpath[512];
static sqlite3 *db;                 /* the test's own connection: seeds and checks */

static uv_mutex_t log_lock;
static char log_last[1024];         /* the store's last error line */

static void log_cb(int prio, const char *msg, void *arg)
{
	(void)arg;
	uv_mutex_lock(&log_lock);
	if (prio <= LOG_ERR)
		snprintf(log_last, sizeof(log_last), "%s", msg);
	uv_mutex_unlock(&log_lock);
}

/* Step names already interned in this test's database. */
struct interned {
	const char *name;
	int64_t id;
};
static struct interned names[16];
static size_t nnames;

static void setup(void)
{
	dir = t_tmpdir();
	snprintf(dbpath, sizeof(dbpath), "%s/canary.db", dir);
	ck_assert_int_eq(uv_mutex_init(&log_lock), 0);
	log_last[0] = '\0';
	nnames = 0;
	db = NULL;
}

static void teardown(void)
{
	sqlite3_close(db);
	uv_mutex_destroy(&log_lock);
	t_rmrf(dir);
	free(dir);
}

static struct store *open_flags(unsigned flags)
{
	struct store_opts o = { .path = dbpath, .flags = flags, .batch_ms = 5, .log = log_cb };

	return t_store_open(&o);
}

/* A writable store (creating the schema), and the test's connection to the same file. */
static struct store *open_rw(void)
{
	struct store *s = open_flags(0);

	if (db == NULL)
		db = t_db_open(dbpath);
	return s;
}

static int64_t q(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The integer a formatted query gives, on the test's connection. */
static int64_t q(const char *fmt, ...)
{
	char sql[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	return t_db_int(db, sql);
}

/* ------------------------------------------------------------------ the model: runs as the test knows them */

struct trun {
	int64_t t, dur;
	int result;                 /* 0 passed, 1 failed, 2 skipped */
	int nsteps;
	const char *step[3];
	int idx[3];
	int64_t total[3];
};

struct model {
	const char *probe;
	struct trun *v;
	size_t n, cap;
};

static uint64_t rnd_state = 88172645463325252ULL;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* A latency with a tail: mostly 2..120 ms, one in twenty up to 2 s. */
static int64_t rnd_us(void)
{
	int64_t v = 2000 + (int64_t)(rnd() % 118000);

	return rnd() % 20 == 0 ? v * 16 : v;
}

static struct trun *add(struct model *m, int64_t t, int result, int64_t dur)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 256;
		m->v = realloc(m->v, m->cap * sizeof(*m->v));
		ck_assert_ptr_nonnull(m->v);
	}
	m->v[m->n] = (struct trun){ .t = t, .dur = result == 2 ? 0 : dur, .result = result };
	return &m->v[m->n++];
}

static void add_step(struct trun *r, const char *name, int idx)
{
	r->step[r->nsteps] = name;
	r->idx[r->nsteps] = idx;
	r->total[r->nsteps++] = rnd_us();
}

/*
 * Runs every every_ms in [from, to): one in fail_every failed (0: none), one
 * in skip_every skipped (0: none). Passed runs record login, then submit (or,
 * one in five, alt, at the same index), then logout; failed ones stop
 * after the second step; with steps false, none.
 */
static void gen(struct model *m, int64_t from, int64_t to, int64_t every_ms, int fail_every,
		int skip_every, bool steps)
{
	for (int64_t t = from, i = 0; t < to; t += every_ms, i++) {
		int result = skip_every && i % skip_every == skip_every - 1 ? 2
			     : fail_every && i % fail_every == fail_every - 1 ? 1 : 0;
		struct trun *r = add(m, t, result, rnd_us());

		if (!steps || result == 2)
			continue;
		add_step(r, "login", 0);
		add_step(r, rnd() % 5 == 0 ? "alt" : "submit", 1);
		if (result == 0)
			add_step(r, "logout", 2);
	}
}

static void model_free(struct model *m)
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
		t_db_exec(db, sql);
		snprintf(sql, sizeof(sql), "SELECT id FROM %s WHERE name = '%s'", table, name);
		id = t_db_int(db, sql);
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

/* Writes runs [from, m->n) of m into the database, in one transaction; returns the probe id. */
static int64_t seed_from(struct model *m, size_t from)
{
	sqlite3_stmt *run = NULL, *step = NULL;
	int64_t pid = 0;

	t_db_exec(db, "BEGIN");
	pid = intern("probes", m->probe);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "INSERT INTO runs (probe_id, started_ms, duration_us,"
					    " lag_us, result, class, error) VALUES (?, ?, ?, 0, ?, ?, ?)",
					    -1, &run, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "INSERT INTO steps (run_id, idx, name_id, status,"
					    " dns_us, connect_us, tls_us, ttfb_us, total_us, bytes)"
					    " VALUES (?, ?, ?, 200, 1, 1, 1, 1, ?, 10)", -1, &step, NULL),
			 SQLITE_OK);
	for (size_t i = from; i < m->n; i++) {
		const struct trun *r = &m->v[i];
		int64_t id = 0;

		sqlite3_bind_int64(run, 1, pid);
		sqlite3_bind_int64(run, 2, r->t);
		sqlite3_bind_int64(run, 3, r->dur);
		sqlite3_bind_int(run, 4, r->result);
		sqlite3_bind_text(run, 5, r->result == 1 ? "http" : NULL, -1, SQLITE_STATIC);
		sqlite3_bind_text(run, 6, r->result == 1 ? "HTTP 503" : NULL, -1, SQLITE_STATIC);
		stmt_done(run);
		id = sqlite3_last_insert_rowid(db);
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
	t_db_exec(db, "COMMIT");
	return pid;
}

static int64_t seed(struct model *m)
{
	return seed_from(m, 0);
}

/* An incident of probe pid; resolved 0 leaves it open. */
static void add_incident(int64_t pid, int64_t id, int64_t started, int64_t detected,
			 int64_t resolved)
{
	char sql[512];

	snprintf(sql, sizeof(sql),
		 "INSERT INTO incidents (id, probe_id, started_ms, detected_ms, resolved_ms,"
		 " last_failed_ms, failed_runs, latency_us, flags) VALUES (%lld, %lld, %lld, %lld,"
		 " nullif(%lld, 0), %lld, 3, 100, 1)", (long long)id, (long long)pid,
		 (long long)started, (long long)detected, (long long)resolved, (long long)detected);
	t_db_exec(db, sql);
}

/* ------------------------------------------------------------------ expected figures, computed here */

/* Nearest rank, the slow way: the smallest k with k / n >= p / 100. */
static int64_t nearest_rank(const int64_t *v, size_t n, int p)
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

static void want_of(const struct model *m, int64_t since, int64_t until, struct want *w)
{
	memset(w, 0, sizeof(*w));
	for (size_t i = 0; i < m->n; i++) {
		const struct trun *r = &m->v[i];

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

/* Checks r against m over [since, until): counts exactly, percentiles exactly or (approx) within 5 %. */
static void check_report(const struct store_report *r, const struct model *m, int64_t since,
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
		near(got, nearest_rank(w.dur.v, w.dur.n, pcts[i]), approx, what);
	}
	ck_assert_uint_eq(r->nsteps, w.nsteps);
	for (size_t j = 0; j < w.nsteps; j++) {
		const struct store_report_step *s = &r->steps[j];
		char what[64];

		ck_assert_str_eq(s->name, w.step[j].name);
		ck_assert_int_eq(s->count, (int64_t)w.step[j].v.n);
		ck_assert_int_eq(s->max_us, vmax(&w.step[j].v));
		snprintf(what, sizeof(what), "%s p50", s->name);
		near(s->p50_us, nearest_rank(w.step[j].v.v, w.step[j].v.n, 50), approx, what);
		snprintf(what, sizeof(what), "%s p95", s->name);
		near(s->p95_us, nearest_rank(w.step[j].v.v, w.step[j].v.n, 95), approx, what);
		snprintf(what, sizeof(what), "%s p99", s->name);
		near(s->p99_us, nearest_rank(w.step[j].v.v, w.step[j].v.n, 99), approx, what);
	}
	want_free(&w);
}

static struct store_report report(struct store *s, const char *probe, int64_t since, int64_t until)
{
	struct store_report r;

	ck_assert_int_eq(store_report(s, probe, since, until, &r), 0);
	return r;
}

/* ------------------------------------------------------------------ histograms */

/* Every bucket's middle is within 1.1 % (and half a us of rounding) of the values in it, and exact for small ones. */
START_TEST(hist_buckets_are_tight)
{
	int prev = -1;

	/* Below ~50 us buckets are narrower than 1 us: each value is its own. */
	for (int64_t v = 0; v < 50; v++)
		ck_assert_int_eq(store__hist_value(store__hist_bucket(v)), v);
	for (double x = 50; x < 3.6e9; x *= 1.0007) {
		int64_t v = (int64_t)x, got = store__hist_value(store__hist_bucket(v));
		int b = store__hist_bucket(v);

		ck_assert_msg(llabs(got - v) * 1000 <= v * 11 + 500, "%lld -> %lld", (long long)v,
			      (long long)got);
		ck_assert_int_ge(b, prev);       /* monotonic */
		prev = b;
	}
	ck_assert_int_eq(store__hist_bucket(-5), 0);
	ck_assert_int_eq(store__hist_bucket(INT64_MAX), STORE__HIST_BUCKETS - 1);
}
END_TEST

/*
 * A series made approximate, stored, and merged back gives the same
 * percentiles, within 2.2 % of the exact ones; malformed blobs are refused.
 */
START_TEST(hist_blob_round_trip)
{
	static const unsigned char bad[][4] = {
		{ 0 }, { 2, 1, 1 }, { 1, 0x80 }, { 1, 0xff, 0x7f, 1 }, { 1, 5 },
	};
	static const size_t badlen[] = { 0, 3, 2, 4, 2 };
	struct store__series exact = { 0 }, approx = { 0 }, back = { 0 };
	unsigned char *blob = NULL;
	size_t len = 0;

	for (int i = 0; i < 5000; i++) {
		int64_t v = rnd_us();

		ck_assert_int_eq(store__series_add(&exact, v), 0);
		ck_assert_int_eq(store__series_add(&approx, v), 0);
	}
	ck_assert_int_eq(store__series_to_hist(&approx), 0);
	ck_assert_int_eq(store__series_blob(&approx, &blob, &len), 0);
	ck_assert_uint_lt(len, 5000);
	ck_assert_int_eq(store__series_merge(&back, blob, len, approx.count, approx.sum_us,
					     approx.max_us), 0);
	ck_assert_int_eq(back.count, 5000);
	ck_assert_int_eq(back.max_us, exact.max_us);
	for (int p = 1; p <= 100; p++) {
		int64_t e = store__series_pct(&exact, p), a = store__series_pct(&approx, p);

		ck_assert_int_eq(store__series_pct(&back, p), a);
		ck_assert_msg(llabs(a - e) * 1000 <= e * 22, "p%d: %lld vs %lld", p, (long long)a,
			      (long long)e);
	}
	for (size_t i = 0; i < sizeof(badlen) / sizeof(badlen[0]); i++) {
		ck_assert_int_eq(store__series_merge(&back, bad[i], badlen[i], 1, 1, 1), -EBADMSG);
		ck_assert_int_eq(back.count, 5000);
	}
	free(blob);
	store__series_free(&exact);
	store__series_free(&approx);
	store__series_free(&back);
	ck_assert_int_eq(store__series_pct(&exact, 50), -1);
}
END_TEST

/*
 * Nearest rank for every p and every count up to 300, against the
 * definition: the smallest k with k / n >= p / 100 (in floating point,
 * ceil(0.07 * 100) is 8, not 7). The values, 3k for k = 1..n, come
 * shuffled; approximate series agree within a bucket.
 */
START_TEST(pct_is_nearest_rank)
{
	for (int64_t n = 1; n <= 300; n++) {
		struct store__series s = { 0 }, h = { 0 };

		for (int64_t i = 0; i < n; i++) {
			/* 7919 is a prime above n: i * 7919 % n is a permutation. */
			int64_t v = 3 * (1 + (i * 7919) % n);

			ck_assert_int_eq(store__series_add(&s, v), 0);
			ck_assert_int_eq(store__series_add(&h, v), 0);
		}
		ck_assert_int_eq(store__series_to_hist(&h), 0);
		for (int p = 1; p <= 100; p++) {
			int64_t k = 1;

			while (k * 100 < p * n)
				k++;
			ck_assert_msg(store__series_pct(&s, p) == 3 * k, "n %lld p%d: %lld, want %lld",
				      (long long)n, p, (long long)store__series_pct(&s, p),
				      (long long)(3 * k));
			ck_assert_int_le(llabs(store__series_pct(&h, p) - 3 * k) * 100, 3 * k * 3);
		}
		store__series_free(&s);
		store__series_free(&h);
	}
}
END_TEST

/* ------------------------------------------------------------------ status */

/* What store_probe_status should say of m at now, worked out run by run. */
static void want_status(const struct model *m, int64_t now, struct store_status *w)
{
	const struct trun *last = NULL;
	size_t di = SIZE_MAX;
	struct vec day = { 0 };

	memset(w, 0, sizeof(*w));
	for (size_t i = 0; i < m->n; i++)      /* ties go to the later insert (the larger id) */
		if (m->v[i].result < 2 && (last == NULL || m->v[i].t >= last->t))
			last = &m->v[i];
	for (size_t i = 0; i < m->n; i++) {
		const struct trun *r = &m->v[i];

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
	w->p95_us_24h = nearest_rank(day.v, day.n, 95);
	free(day.v);
	if (last == NULL)
		return;
	w->has_run = true;
	w->last_ok = last->result == 0;
	w->last_run_ms = last->t;
	w->latency_us = last->dur;
	/* The latest run with the other result; then the earliest run after it. */
	for (size_t i = 0; i < m->n; i++) {
		const struct trun *r = &m->v[i];

		if (r->result < 2 && r->result != last->result &&
		    (di == SIZE_MAX || r->t > m->v[di].t || (r->t == m->v[di].t && i > di)))
			di = i;
	}
	w->since_ms = last->t;
	for (size_t i = 0; i < m->n; i++) {
		const struct trun *r = &m->v[i];
		bool after = di == SIZE_MAX || r->t > m->v[di].t || (r->t == m->v[di].t && i > di);

		if (r->result < 2 && after && r->t < w->since_ms)
			w->since_ms = r->t;
	}
}

static void check_status(struct store *s, const struct model *m, int64_t now)
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

/*
 * Ten days of runs every 10 min for probes in different states: a streak
 * that began today, one that began before the week the scan covers (up and
 * down), none at all, and a tie on started_ms; checked at the end and
 * mid-way (counts move, the streak is the latest run's).
 */
START_TEST(status_streaks_and_windows)
{
	struct model m[6] = {
		{ .probe = "flappy" }, { .probe = "steady" }, { .probe = "always" },
		{ .probe = "down" }, { .probe = "tie" }, { .probe = "gap" },
	};
	struct store *s = open_rw();
	int64_t end = T0 + 10 * DAY_MS, step = 10 * 60 * 1000;

	/* flappy: fails one run in 9, one in 7 skipped, then a down streak of 3. */
	gen(&m[0], T0, end - 3 * step, step, 9, 7, false);
	for (int i = 0; i < 3; i++)
		add(&m[0], end - (3 - i) * step, 1, 5000 + i);
	add(&m[0], end, 2, 0);
	/* steady: one failure nine days ago, passing since (and after now). */
	gen(&m[1], T0, end + step, step, 0, 0, false);
	m[1].v[100].result = 1;
	gen(&m[2], T0 + step / 2, end, step, 0, 0, false);
	/* down: passing for two days, failing for eight. */
	gen(&m[3], T0, T0 + 2 * DAY_MS, step, 0, 0, false);
	gen(&m[3], T0 + 2 * DAY_MS, end, step, 1, 0, false);
	/* tie: a failure and a pass at the same millisecond; the pass has the larger id. */
	gen(&m[4], T0, end - step, step, 3, 0, false);
	add(&m[4], end, 1, 700);
	add(&m[4], end, 0, 800);
	/* gap: a skipped run between a failure and the passes after it. */
	add(&m[5], end - 5 * step, 1, 100);
	add(&m[5], end - 4 * step, 2, 0);
	add(&m[5], end - 3 * step, 0, 300);
	add(&m[5], end - 2 * step, 0, 200);
	for (int i = 0; i < 6; i++)
		seed(&m[i]);
	for (int i = 0; i < 6; i++) {
		check_status(s, &m[i], end);
		check_status(s, &m[i], end - 3 * DAY_MS - 1234);
	}
	/* The exact edges of the windows count: [now - 24 h, now]. */
	check_status(s, &m[2], T0 + 8 * DAY_MS + step / 2);
	for (int i = 0; i < 6; i++)
		model_free(&m[i]);
	store_close(s);
}
END_TEST

/* An unknown probe, and one whose runs were all skipped, have no streak and no p95. */
START_TEST(status_without_runs)
{
	struct model m = { .probe = "paused" };
	struct store *s = open_rw();
	struct store_status st;

	gen(&m, T0, T0 + HOUR_MS, 60000, 0, 1, false);
	seed(&m);
	ck_assert_int_eq(store_probe_status(s, "nobody", T0 + HOUR_MS, &st), 0);
	ck_assert(!st.has_run);
	ck_assert_int_eq(st.since_ms, 0);
	ck_assert_int_eq(st.p95_us_24h, -1);
	ck_assert_int_eq(st.runs_7d, 0);
	ck_assert_int_eq(store_probe_status(s, "paused", T0 + HOUR_MS, &st), 0);
	ck_assert(!st.has_run);
	ck_assert_int_eq(st.since_ms, 0);
	ck_assert_int_eq(st.runs_24h + st.ok_24h + st.runs_7d + st.ok_7d, 0);
	ck_assert_int_eq(st.p95_us_24h, -1);
	model_free(&m);
	store_close(s);
}
END_TEST

/* ------------------------------------------------------------------ report */

/*
 * Two days of runs with steps, failures and skips, and incidents in and
 * out of range: every figure matches what the test computes from the same
 * runs, and the steps come by index, then name (alt before submit).
 */
START_TEST(report_exact_figures)
{
	struct model m = { .probe = "api" }, other = { .probe = "web" };
	struct store *s = open_rw();
	struct store_report r;
	int64_t pid = 0, since = T0 + 6 * HOUR_MS, until = T0 + 30 * HOUR_MS;

	gen(&m, T0, T0 + 2 * DAY_MS, 60000, 13, 17, true);
	gen(&other, T0, T0 + 2 * DAY_MS, 60000, 2, 0, true);
	pid = seed(&m);
	seed(&other);
	add_incident(pid, 1, since - 1, since + 100, since + 1000);      /* before */
	add_incident(pid, 2, since, since + 3000, since + 60000);
	add_incident(pid, 3, since + HOUR_MS, since + HOUR_MS + 5000, 0); /* open */
	add_incident(pid, 4, until - 1, until + 2001, until + 7001);
	add_incident(pid, 5, until, until + 1, until + 2);              /* after */
	r = report(s, "api", since, until);
	check_report(&r, &m, since, until, false);
	ck_assert_uint_eq(r.nsteps, 4);
	ck_assert_str_eq(r.steps[1].name, "alt");
	ck_assert_str_eq(r.steps[2].name, "submit");
	ck_assert_int_eq(r.incidents, 3);
	ck_assert_int_eq(r.resolved, 2);
	ck_assert_int_eq(r.mttd_ms, (3000 + 5000 + 2002) / 3);
	ck_assert_int_eq(r.mttr_ms, (60000 + 7002) / 2);
	store_report_clear(&r);
	ck_assert_ptr_null(r.steps);
	store_report_clear(NULL);
	model_free(&m);
	model_free(&other);
	store_close(s);
}
END_TEST

/* since is in the range, until is not; empty and unknown give zeros and -1s. */
START_TEST(report_range_edges)
{
	struct model m = { .probe = "api" };
	struct store *s = open_rw();
	struct store_report r;
	int64_t since = T0 + 1000, until = T0 + 5000, pid = 0;

	add(&m, since - 1, 0, 11);
	add(&m, since, 0, 22);
	add_step(add(&m, until - 1, 1, 33), "login", 0);
	m.v[m.n - 1].total[0] = 55;
	add(&m, until, 0, 44);
	pid = seed(&m);
	add_incident(pid, 1, since, since + 10, 0);
	add_incident(pid, 2, until, until + 10, 0);
	r = report(s, "api", since, until);
	ck_assert_int_eq(r.runs, 2);
	ck_assert_int_eq(r.ok, 1);
	ck_assert_int_eq(r.p50_us, 22);
	ck_assert_int_eq(r.p99_us, 33);
	ck_assert_int_eq(r.incidents, 1);
	ck_assert_int_eq(r.resolved, 0);
	ck_assert_int_eq(r.mttd_ms, 10);
	ck_assert_int_eq(r.mttr_ms, -1);
	ck_assert_uint_eq(r.nsteps, 1);
	ck_assert_int_eq(r.steps[0].p50_us, 55);
	ck_assert_int_eq(r.steps[0].max_us, 55);
	store_report_clear(&r);
	for (int i = 0; i < 2; i++) {
		r = report(s, i ? "nobody" : "api", since, since);
		ck_assert_int_eq(r.runs + r.ok + r.skipped + r.incidents, 0);
		ck_assert_int_eq(r.p50_us, -1);
		ck_assert_int_eq(r.p95_us, -1);
		ck_assert_int_eq(r.p99_us, -1);
		ck_assert_int_eq(r.mttd_ms, -1);
		ck_assert_int_eq(r.mttr_ms, -1);
		ck_assert_uint_eq(r.nsteps, 0);
		store_report_clear(&r);
	}
	ck_assert_int_eq(store_report(s, "api", until, since, &r), -EINVAL);
	ck_assert_int_eq(store_report(s, NULL, since, until, &r), -EINVAL);
	model_free(&m);
	store_close(s);
}
END_TEST

/* ------------------------------------------------------------------ retention */

/* now, and the hours retention has to roll up with raw_ms = 1 day: [OLD, OLD + 6 h). */
#define NOW (T0 + 10 * DAY_MS + 30 * 60 * 1000)
#define OLD (T0 + 9 * DAY_MS - 6 * HOUR_MS)

static const struct store_retention keep_day = { .raw_ms = DAY_MS, .hourly_ms = 400 * DAY_MS,
						 .batch = 7 };

/* Two probes, every 30 s from OLD to two hours past the last hour due (raw, and the hour still partly young). */
static void gen_old(struct model *m)
{
	m[0] = (struct model){ .probe = "api" };
	m[1] = (struct model){ .probe = "web" };
	gen(&m[0], OLD, OLD + 8 * HOUR_MS, 30000, 11, 23, true);
	gen(&m[1], OLD + 90 * 60 * 1000, OLD + 8 * HOUR_MS, 30000, 5, 0, true);
}

/* gen_old, written to the database; returns how many runs are due for rollup at NOW. */
static int64_t seed_old(struct model *m)
{
	int64_t c = 0;

	gen_old(m);
	for (size_t k = 0; k < 2; k++) {
		seed(&m[k]);
		for (size_t i = 0; i < m[k].n; i++)
			c += m[k].v[i].t < OLD + 6 * HOUR_MS;
	}
	return c;
}

/* Adds a run at t to m, written to the database at once (with one login step unless step is false). */
static void add_late(struct model *m, int64_t t, int result, int64_t dur, bool step)
{
	size_t from = m->n;
	struct trun *r = add(m, t, result, dur);

	if (step)
		add_step(r, "login", 0);
	seed_from(m, from);
}

static void free_old(struct model *m, struct store *s)
{
	model_free(&m[0]);
	model_free(&m[1]);
	store_close(s);
}

/*
 * Rolling up six hours of two probes with a batch of 7: raw rows of those
 * hours go (steps too), hourly rows stand in, and reports over the whole
 * range give the same counts, the same maxima and percentiles within 5 %
 * (approx set), while one over the raw part only stays exact. Status counts
 * the week across rollups and raw runs.
 */
START_TEST(retention_rolls_up_and_prunes)
{
	struct model m[2];
	struct store *s = open_rw();
	struct store_retention_stats st;
	struct store_report r;
	int64_t old = seed_old(m);

	for (int k = 0; k < 2; k++) {
		r = report(s, m[k].probe, OLD, NOW);
		check_report(&r, &m[k], OLD, NOW, false);
		store_report_clear(&r);
	}
	ck_assert_int_eq(store_retention_run(s, &keep_day, NOW, &st), 0);
	/* api has six hours, web four and a half. */
	ck_assert_int_eq(st.hours_rolled, 6 + 5);
	ck_assert_int_eq(st.runs_deleted, old);
	ck_assert_int_eq(st.hourly_deleted, 0);
	ck_assert_int_eq(q("SELECT count(*) FROM runs WHERE started_ms < %lld", OLD + 6 * HOUR_MS), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM steps WHERE run_id NOT IN (SELECT id FROM runs)"), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM runs"), (int64_t)(m[0].n + m[1].n) - old);
	ck_assert_int_eq(q("SELECT count(*) FROM hourly WHERE step = 0"), 11);
	ck_assert_int_eq(q("SELECT sum(runs + skipped) FROM hourly WHERE step = 0"), old);
	ck_assert_int_eq(q("SELECT rolled_ms FROM retention"), OLD + 6 * HOUR_MS);
	ck_assert_int_eq(q("SELECT del_hour_ms IS NULL FROM retention"), 1);
	for (int k = 0; k < 2; k++) {
		r = report(s, m[k].probe, OLD, NOW);
		check_report(&r, &m[k], OLD, NOW, true);
		store_report_clear(&r);
		r = report(s, m[k].probe, OLD + 6 * HOUR_MS, NOW);
		check_report(&r, &m[k], OLD + 6 * HOUR_MS, NOW, false);
		store_report_clear(&r);
		check_status(s, &m[k], NOW);
	}
	free_old(m, s);
}
END_TEST

/* A fingerprint of the hourly table, histograms included. */
#define HOURLY_SIG                                                                         \
	"SELECT sum(unicode(hex(hist)) + length(hist) * 7 + runs * 3 + ok * 5 + skipped"  \
	" + count * 11 + max_us + sum_us + hour_ms % 997 + step * 13) FROM hourly"

/* A second pass finds nothing to do and changes nothing, rollups included. */
START_TEST(retention_twice_changes_nothing)
{
	struct model m[2];
	struct store *s = open_rw();
	struct store_retention_stats st;
	int64_t runs = 0, sig = 0;

	seed_old(m);
	ck_assert_int_eq(store_retention_run(s, &keep_day, NOW, &st), 0);
	runs = q("SELECT count(*) FROM runs");
	sig = q("%s", HOURLY_SIG);
	ck_assert_int_eq(store_retention_run(s, &keep_day, NOW, &st), 0);
	ck_assert_int_eq(st.hours_rolled + st.runs_deleted + st.hourly_deleted, 0);
	ck_assert_int_eq(q("SELECT count(*) FROM runs"), runs);
	ck_assert_int_eq(q("%s", HOURLY_SIG), sig);
	free_old(m, s);
}
END_TEST

/*
 * A failure in the middle of deleting (a trigger aborts the third batch,
 * as a crash would end it) leaves the rollup and its mark: reports still
 * count every run once. A run that comes in late for that hour meanwhile
 * is not deleted with it. The next pass resumes, rolls up nothing twice,
 * and rolls the late run in.
 */
START_TEST(retention_resumes_after_failure)
{
	struct model m[2];
	struct store *s = open_rw();
	struct store_retention_stats st;
	struct store_retention r = keep_day;
	struct store_report rep;
	int64_t old = seed_old(m);

	r.batch = 10;
	t_db_exec(db, "CREATE TABLE crash (n INTEGER); INSERT INTO crash VALUES (25);"
		  " CREATE TRIGGER crash_stop BEFORE DELETE ON runs WHEN (SELECT n FROM crash) <= 0"
		  " BEGIN SELECT RAISE(ABORT, 'simulated crash'); END;"
		  " CREATE TRIGGER crash_count AFTER DELETE ON runs BEGIN UPDATE crash SET n = n - 1; END");
	ck_assert_int_eq(store_retention_run(s, &r, NOW, &st), -EINVAL);
	ck_assert_msg(strstr(log_last, "simulated crash"), "logged: %s", log_last);
	ck_assert_int_eq(st.hours_rolled, 1);          /* api's first hour; web had none */
	ck_assert_int_eq(st.runs_deleted, 20);
	ck_assert_int_eq(q("SELECT del_hour_ms FROM retention"), OLD);
	rep = report(s, "api", OLD, NOW);
	check_report(&rep, &m[0], OLD, NOW, true);
	store_report_clear(&rep);

	/* Late, for the hour being deleted: its id is above the rollup's largest. */
	add_late(&m[0], OLD + 77, 0, 4321, true);
	t_db_exec(db, "DROP TRIGGER crash_stop; DROP TRIGGER crash_count; DROP TABLE crash");
	ck_assert_int_eq(store_retention_run(s, &r, NOW, &st), 0);
	/* The rest of api's hours, web's five, and api's first again for the late run. */
	ck_assert_int_eq(st.hours_rolled, 5 + 5 + 1);
	ck_assert_int_eq(st.runs_deleted, old - 20 + 1);
	ck_assert_int_eq(q("SELECT sum(runs + skipped) FROM hourly WHERE step = 0"), old + 1);
	ck_assert_int_eq(q("SELECT count(*) FROM runs WHERE started_ms < %lld", OLD + 6 * HOUR_MS), 0);
	rep = report(s, "api", OLD, NOW);
	check_report(&rep, &m[0], OLD, NOW, true);
	store_report_clear(&rep);
	free_old(m, s);
}
END_TEST

/*
 * A run written for an hour rolled up by an earlier pass is left out of
 * reports until the next pass, which adds it (and its step) to that hour's
 * rollup and deletes it, then goes on with the hours that came due since.
 */
START_TEST(retention_rolls_late_runs_in)
{
	struct model m[2];
	struct store *s = open_rw();
	struct store_retention_stats st;
	struct store_report r;

	seed_old(m);
	ck_assert_int_eq(store_retention_run(s, &keep_day, NOW, &st), 0);
	add_late(&m[1], OLD + 2 * HOUR_MS + 5, 1, 999999, true);
	r = report(s, "web", OLD, NOW);
	ck_assert_int_eq(r.runs, (int64_t)m[1].n - 1);     /* web has no skipped runs */
	store_report_clear(&r);
	ck_assert_int_eq(store_retention_run(s, &keep_day, NOW, &st), 0);
	ck_assert_int_eq(st.hours_rolled, 1);
	ck_assert_int_eq(st.runs_deleted, 1);
	ck_assert_int_eq(q("SELECT count(*) FROM runs WHERE started_ms < %lld", OLD + 6 * HOUR_MS), 0);
	r = report(s, "web", OLD, NOW);
	check_report(&r, &m[1], OLD, NOW, true);
	store_report_clear(&r);

	/* Two hours on, a late run again: it goes first, then the two hours now due. */
	add_late(&m[0], OLD + 30, 0, 1234, false);
	ck_assert_int_eq(store_retention_run(s, &keep_day, NOW + 2 * HOUR_MS, &st), 0);
	ck_assert_int_eq(st.hours_rolled, 1 + 2 * 2);
	ck_assert_int_eq(q("SELECT count(*) FROM runs WHERE started_ms < %lld", OLD + 8 * HOUR_MS), 0);
	ck_assert_int_eq(q("SELECT rolled_ms FROM retention"), OLD + 8 * HOUR_MS);
	for (int k = 0; k < 2; k++) {
		r = report(s, m[k].probe, OLD, NOW);
		check_report(&r, &m[k], OLD, NOW, true);
		store_report_clear(&r);
	}
	free_old(m, s);
}
END_TEST

/*
 * Rollups older than hourly_ms go, a batch at a time, and annotations with
 * them; younger ones stay.
 */
START_TEST(retention_prunes_hourly_rows)
{
	struct model m = { .probe = "api" };
	struct store *s = open_rw();
	struct store_retention_stats st;
	struct store_retention r = { .raw_ms = HOUR_MS, .hourly_ms = 400 * DAY_MS, .batch = 5 };
	struct store_annotation a = { .at_ms = T0 + 2 * HOUR_MS - 1, .text = "old deploy" };
	struct store_annotation *v = NULL;
	struct store_report rep;
	int64_t id = 0, now = T0 + 12 * HOUR_MS;
	size_t n = 0;

	gen(&m, T0, T0 + 10 * HOUR_MS, 60000, 4, 0, true);
	seed(&m);
	ck_assert_int_eq(store_annotate(s, &a, &id), 0);
	a.at_ms = T0 + 4 * HOUR_MS;
	a.text = "new deploy";
	ck_assert_int_eq(store_annotate(s, &a, &id), 0);
	ck_assert_int_eq(store_retention_run(s, &r, now, &st), 0);
	ck_assert_int_eq(st.hours_rolled, 10);
	/* Each hour: the run and login, submit, alt, logout. */
	ck_assert_int_eq(q("SELECT count(*) FROM hourly"), 50);
	r.hourly_ms = now - (T0 + 4 * HOUR_MS);
	ck_assert_int_eq(store_retention_run(s, &r, now, &st), 0);
	ck_assert_int_eq(st.hourly_deleted, 20);
	ck_assert_int_eq(st.hours_rolled + st.runs_deleted, 0);
	ck_assert_int_eq(q("SELECT min(hour_ms) FROM hourly"), T0 + 4 * HOUR_MS);
	ck_assert_int_eq(q("SELECT count(*) FROM hourly"), 30);
	ck_assert_int_eq(store_annotations(s, 0, 0, &v, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(v[0].text, "new deploy");
	store_annotations_free(v, n);
	rep = report(s, "api", T0, now);
	check_report(&rep, &m, T0 + 4 * HOUR_MS, now, true);
	store_report_clear(&rep);
	model_free(&m);
	store_close(s);
}
END_TEST

/* What the retention thread of retention_interleaves does. */
struct bg {
	struct store *s;
	struct store_retention r;
	struct store_retention_stats st;
	int rc;
	atomic_int done;
};

static void bg_retention(void *arg)
{
	struct bg *b = arg;

	b->rc = store_retention_run(b->s, &b->r, NOW, &b->st);
	atomic_store(&b->done, 1);
}

static struct probe_result *result_at(int64_t t)
{
	struct probe_def def = { .name = (char *)"fresh" };
	struct probe_result *r = probe_result_new(&def, t, PROBE_OK, NULL);

	ck_assert_ptr_nonnull(r);
	r->duration_us = 1234;
	return r;
}

/*
 * With a batch of 10, retention (on a worker thread, its store's writer
 * running) lets others in between batches: while it runs, the writer
 * commits results, another connection commits annotations (each waiting
 * for the lock at most the busy timeout, or failing), and a read-only one
 * reports, counting each run exactly once, some of them mid-way (hours
 * rolled up, runs of them still to delete).
 */
START_TEST(retention_interleaves)
{
	struct model m[4] = { { .probe = "a" }, { .probe = "b" }, { .probe = "c" }, { .probe = "d" } };
	struct store *s = open_rw(), *w = NULL, *ro = NULL;
	struct store_annotation a = { .text = "between batches" };
	struct bg b = { .s = s, .r = { .raw_ms = DAY_MS, .hourly_ms = 400 * DAY_MS, .batch = 10 } };
	int64_t id = 0, total = 0, mid = 0, writes = 0, writes_during = 0, submitted = 0;
	struct store_stats ss;
	uv_thread_t th;

	for (int k = 0; k < 4; k++) {
		gen(&m[k], OLD, OLD + 6 * HOUR_MS, 15000, 7, 0, false);
		seed(&m[k]);
		total += (int64_t)m[k].n;
	}
	w = open_flags(0);
	ro = open_flags(STORE_READONLY);
	ck_assert_int_eq(store_writer_start(s), 0);
	ck_assert_int_eq(uv_thread_create(&th, bg_retention, &b), 0);
	while (!atomic_load(&b.done)) {
		struct store_report r = report(ro, "a", OLD, NOW);

		ck_assert_int_eq(r.runs, (int64_t)m[0].n);
		mid += r.approx && q("SELECT count(*) FROM runs WHERE started_ms < %lld",
				     OLD + 6 * HOUR_MS) > 0;
		store_report_clear(&r);
		ck_assert_int_eq(store_annotate(w, &a, &id), 0);
		writes++;
		writes_during += !atomic_load(&b.done);
		ck_assert_int_eq(store_submit(s, result_at(NOW - submitted)), 0);
		submitted++;
	}
	store_get_stats(s, &ss);
	ck_assert_int_eq(uv_thread_join(&th), 0);
	ck_assert_int_eq(b.rc, 0);
	ck_assert_int_eq(b.st.hours_rolled, 4 * 6);
	ck_assert_int_eq(b.st.runs_deleted, total);
	ck_assert_msg(mid > 0 && writes_during >= 10 && ss.written > 0,
		      "mid-way: %lld reports, %lld of %lld annotations, %llu results",
		      (long long)mid, (long long)writes_during, (long long)writes,
		      (unsigned long long)ss.written);
	ck_assert_int_eq(store_flush(s, 5000), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM annotations"), writes);
	ck_assert_int_eq(q("SELECT count(*) FROM runs"), submitted);
	ck_assert_int_eq(q("SELECT sum(runs) FROM hourly WHERE step = 0"), total);
	store_close(ro);
	store_close(w);
	for (int k = 0; k < 4; k++)
		model_free(&m[k]);
	store_close(s);
}
END_TEST

/*
 * Two passes at once from two connections (a manual run while the daemon's
 * runs, say), both with a batch of 10: between them every hour is rolled
 * up once and every run deleted once, none uncounted.
 */
START_TEST(retention_two_passes_at_once)
{
	struct model m[8] = {
		{ .probe = "a" }, { .probe = "b" }, { .probe = "c" }, { .probe = "d" },
		{ .probe = "e" }, { .probe = "f" }, { .probe = "g" }, { .probe = "h" },
	};
	struct store *s = open_rw(), *s2 = open_flags(0);
	struct bg b[2] = {
		{ .s = s, .r = { .raw_ms = DAY_MS, .hourly_ms = 400 * DAY_MS, .batch = 10 } },
		{ .s = s2, .r = { .raw_ms = DAY_MS, .hourly_ms = 400 * DAY_MS, .batch = 10 } },
	};
	int64_t total = 0;
	uv_thread_t th[2];

	/* Few runs a probe-hour against the batch, so that batches span probes. */
	for (int k = 0; k < 8; k++) {
		gen(&m[k], OLD + k * 60000, OLD + 6 * HOUR_MS, 240000, 5, 9, k % 2 == 0);
		seed(&m[k]);
		total += (int64_t)m[k].n;
	}
	for (int i = 0; i < 2; i++)
		ck_assert_int_eq(uv_thread_create(&th[i], bg_retention, &b[i]), 0);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(uv_thread_join(&th[i]), 0);
		ck_assert_int_eq(b[i].rc, 0);
	}
	ck_assert_int_eq(b[0].st.hours_rolled + b[1].st.hours_rolled, 8 * 6);
	ck_assert_int_eq(b[0].st.runs_deleted + b[1].st.runs_deleted, total);
	ck_assert_int_eq(q("SELECT count(*) FROM runs"), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM steps"), 0);
	ck_assert_int_eq(q("SELECT sum(runs + skipped) FROM hourly WHERE step = 0"), total);
	for (int k = 0; k < 8; k++) {
		struct store_report r = report(s, m[k].probe, OLD, NOW);

		check_report(&r, &m[k], OLD, NOW, true);
		store_report_clear(&r);
		model_free(&m[k]);
	}
	store_close(s2);
	store_close(s);
}
END_TEST

/* ------------------------------------------------------------------ annotations, read-only, schema */

START_TEST(annotations_round_trip)
{
	struct store *s = open_rw();
	struct store_annotation a = { .at_ms = T0 + 500, .probe = "api", .text = "deploy 1.2" };
	struct store_annotation *v = NULL;
	int64_t ids[4] = { 0 }, t = 0;
	size_t n = 0;

	ck_assert_int_eq(store_annotate(s, &a, &ids[0]), 0);
	a = (struct store_annotation){ .at_ms = T0 + 100, .tag = "db", .text = "migration" };
	ck_assert_int_eq(store_annotate(s, &a, &ids[1]), 0);
	a = (struct store_annotation){ .at_ms = T0 + 500, .text = "same time, later id" };
	ck_assert_int_eq(store_annotate(s, &a, &ids[2]), 0);
	t = probe_now_ms();
	a = (struct store_annotation){ .text = "now" };
	ck_assert_int_eq(store_annotate(s, &a, &ids[3]), 0);
	ck_assert(ids[0] > 0 && ids[1] > ids[0] && ids[2] > ids[1] && ids[3] > ids[2]);

	ck_assert_int_eq(store_annotations(s, T0 + 100, T0 + 501, &v, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(v[0].id, ids[1]);
	ck_assert_pstr_eq(v[0].probe, NULL);
	ck_assert_pstr_eq(v[0].tag, "db");
	ck_assert_int_eq(v[1].id, ids[0]);
	ck_assert_pstr_eq(v[1].probe, "api");
	ck_assert_str_eq(v[1].text, "deploy 1.2");
	ck_assert_int_eq(v[2].id, ids[2]);
	store_annotations_free(v, n);
	/* from is in the range, to is not; 0 is no upper bound. */
	ck_assert_int_eq(store_annotations(s, T0 + 101, T0 + 500, &v, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(v);
	ck_assert_int_eq(store_annotations(s, T0 + 501, 0, &v, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_ge(v[0].at_ms, t);
	ck_assert_int_le(v[0].at_ms, probe_now_ms());
	store_annotations_free(v, n);
	store_annotations_free(NULL, 0);

	a = (struct store_annotation){ .at_ms = T0 };
	ck_assert_int_eq(store_annotate(s, &a, &ids[0]), -EINVAL);
	a.text = "";
	ck_assert_int_eq(store_annotate(s, &a, &ids[0]), -EINVAL);
	ck_assert_int_eq(q("SELECT count(*) FROM annotations"), 4);
	store_close(s);
}
END_TEST

/* A read-only store reads reports and annotations but refuses to write. */
START_TEST(readonly_refuses_writes)
{
	struct store *s = open_rw(), *ro = NULL;
	struct store_annotation a = { .text = "x" }, *v = NULL;
	struct store_retention_stats st = { .runs_deleted = 9 };
	struct model m = { .probe = "api" };
	struct store_report r;
	int64_t id = 0;
	size_t n = 0;

	gen(&m, OLD, OLD + 2 * HOUR_MS, 60000, 0, 0, true);
	seed(&m);
	ck_assert_int_eq(store_annotate(s, &a, &id), 0);
	store_close(s);
	ro = open_flags(STORE_READONLY);
	ck_assert_int_eq(store_annotate(ro, &a, &id), -EROFS);
	ck_assert_int_eq(id, 0);
	ck_assert_int_eq(store_retention_run(ro, &keep_day, NOW, &st), -EROFS);
	ck_assert_int_eq(st.runs_deleted, 0);
	ck_assert_int_eq(store_annotations(ro, 0, 0, &v, &n), 0);
	ck_assert_uint_eq(n, 1);
	store_annotations_free(v, n);
	r = report(ro, "api", OLD, NOW);
	check_report(&r, &m, OLD, NOW, false);
	store_report_clear(&r);
	ck_assert_int_eq(q("SELECT count(*) FROM runs"), (int64_t)m.n);
	store_close(ro);
	model_free(&m);
}
END_TEST

/* A database left at schema v2 is brought to v3 with its runs, steps and incidents. */
START_TEST(v2_database_migrates)
{
	struct model m = { .probe = "api" };
	struct store *s = NULL, *ro = NULL;
	struct store_report r;
	int64_t pid = 0;

	db = t_db_open(dbpath);
	t_db_exec(db, "PRAGMA journal_mode = WAL; BEGIN");
	t_db_exec(db, store__sqlite_schema_sql(1));
	t_db_exec(db, store__sqlite_schema_sql(2));
	t_db_exec(db, "PRAGMA user_version = 2; PRAGMA application_id = 1667329633; COMMIT");
	gen(&m, T0, T0 + 3 * HOUR_MS, 60000, 6, 0, true);
	pid = seed(&m);
	add_incident(pid, 7, T0 + 10, T0 + 70, T0 + 130);
	t_db_exec(db, "INSERT INTO maintenance (probe, start_ms, end_ms, created_ms)"
		  " VALUES ('api', 1, 2, 3)");

	s = open_flags(0);
	ck_assert_int_eq(q("PRAGMA user_version"), 3);
	ck_assert_int_eq(q("SELECT count(*) FROM sqlite_master WHERE name IN ('annotations',"
			   " 'annotations_by_at', 'hourly', 'retention')"), 4);
	ck_assert_int_eq(q("SELECT rolled_ms FROM retention WHERE del_hour_ms IS NULL"), 0);
	ck_assert_int_eq(q("SELECT count(*) FROM runs"), (int64_t)m.n);
	ck_assert_int_eq(q("SELECT count(*) FROM maintenance"), 1);
	store_close(s);
	ro = open_flags(STORE_READONLY);
	r = report(ro, "api", T0, T0 + DAY_MS);
	check_report(&r, &m, T0, T0 + DAY_MS, false);
	ck_assert_int_eq(r.incidents, 1);
	ck_assert_int_eq(r.mttr_ms, 120);
	store_report_clear(&r);
	store_close(ro);
	model_free(&m);
}
END_TEST

/* The readers and retention's deletes search indexes: none scans runs, steps or hourly, or sorts. */
START_TEST(queries_use_indexes)
{
	struct {
		const char *sql;
		const char *want;
	} cases[] = {
		{ store__sqlite_sql[STORE__SQ_COUNT_RUNS], "USING INDEX runs_by_probe (probe_id=?" },
		{ store__sqlite_report_sql[STORE__SQR_STREAK], "USING INDEX runs_by_probe (probe_id=?" },
		{ store__sqlite_report_sql[STORE__SQR_FIRST_AFTER], "runs_by_probe (probe_id=? AND started_ms>?)" },
		{ store__sqlite_report_sql[STORE__SQR_SCAN], "USING PRIMARY KEY (run_id=?)" },
		{ store__sqlite_report_sql[STORE__SQR_HOURLY], "USING PRIMARY KEY (probe_id=? AND hour_ms>?" },
		{ store__sqlite_report_sql[STORE__SQR_HOURLY_RUNS], "USING PRIMARY KEY (probe_id=?" },
		{ store__sqlite_report_sql[STORE__SQR_INCIDENTS], "incidents_by_probe (probe_id=?" },
		{ store__sqlite_retention_sql[STORE__SQT_OLDEST], "COVERING INDEX runs_by_probe (probe_id=?" },
		{ store__sqlite_retention_sql[STORE__SQT_DEL_IDS], "COVERING INDEX runs_by_probe (probe_id=?" },
		{ store__sqlite_retention_sql[STORE__SQT_DEL_STEPS], "USING PRIMARY KEY (run_id=?)" },
		{ store__sqlite_retention_sql[STORE__SQT_PRUNE_HOURLY], "PRIMARY KEY (probe_id=? AND hour_ms<?)" },
		{ store__sqlite_annot_sql[STORE__SQN_LIST], "annotations_by_at (at_ms>? AND at_ms<?)" },
		{ store__sqlite_annot_sql[STORE__SQN_PRUNE], "annotations_by_at (at_ms<?)" },
	};
	struct store *s = open_rw();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char sql[1024], plan[1024] = "";
		sqlite3_stmt *st = NULL;

		snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", cases[i].sql);
		ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s",
			      cases[i].sql, sqlite3_errmsg(db));
		while (sqlite3_step(st) == SQLITE_ROW) {
			strncat(plan, (const char *)sqlite3_column_text(st, 3), 200);
			strcat(plan, "; ");
		}
		sqlite3_finalize(st);
		ck_assert_msg(strstr(plan, cases[i].want), "%s: %s", cases[i].sql, plan);
		ck_assert_msg(!strstr(plan, "TEMP B-TREE") && !strstr(plan, "SCAN"), "%s: %s",
			      cases[i].sql, plan);
	}
	store_close(s);
}
END_TEST

/* A test case with the temp-database fixture and a time bound (timeout 0: neither). */
static TCase *add_case(Suite *s, const char *name, int timeout)
{
	TCase *tc = tcase_create(name);

	if (timeout > 0) {
		tcase_add_checked_fixture(tc, setup, teardown);
		tcase_set_timeout(tc, timeout);
	}
	suite_add_tcase(s, tc);
	return tc;
}

Suite *store_report_suite(void)
{
	Suite *s = suite_create("store_report");
	TCase *tc = add_case(s, "hist", 0);

	tcase_add_test(tc, hist_buckets_are_tight);
	tcase_add_test(tc, hist_blob_round_trip);
	tcase_add_test(tc, pct_is_nearest_rank);

	tc = add_case(s, "status", 20);
	tcase_add_test(tc, status_streaks_and_windows);
	tcase_add_test(tc, status_without_runs);

	tc = add_case(s, "report", 20);
	tcase_add_test(tc, report_exact_figures);
	tcase_add_test(tc, report_range_edges);

	tc = add_case(s, "retention", 30);
	tcase_add_test(tc, retention_rolls_up_and_prunes);
	tcase_add_test(tc, retention_twice_changes_nothing);
	tcase_add_test(tc, retention_resumes_after_failure);
	tcase_add_test(tc, retention_rolls_late_runs_in);
	tcase_add_test(tc, retention_prunes_hourly_rows);
	tcase_add_test(tc, retention_interleaves);
	tcase_add_test(tc, retention_two_passes_at_once);

	tc = add_case(s, "annotations_schema", 10);
	tcase_add_test(tc, annotations_round_trip);
	tcase_add_test(tc, readonly_refuses_writes);
	tcase_add_test(tc, v2_database_migrates);
	tcase_add_test(tc, queries_use_indexes);
	return s;
}
