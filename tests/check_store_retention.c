/* check_store_retention.c - retention's rollups and pruning, annotations, read-only stores and the schema in storage. */
#include "tests/tests.h"
#include "tests/store_model.h"
#include "storage/storage.h"
#include "storage/storage_int.h"
#include "storage/sqlite_int.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* ------------------------------------------------------------------ retention */

/*
 * Rolling up six hours of two probes with a batch of 7: raw rows of those
 * hours go (steps too), hourly rows stand in, and reports over the whole
 * range give the same counts, the same maxima and percentiles within 5 %
 * (approx set), while one over the raw part only stays exact. Status counts
 * the week across rollups and raw runs.
 */
START_TEST(retention_rolls_up_and_prunes)
{
	struct sm_model m[2];
	struct store *s = sm_open_rw();
	struct store_retention_stats st;
	int64_t old = sm_seed_old(m);

	sm_check_reports(s, m, 2, OLD, NOW, false);
	ck_assert_int_eq(store_retention_run(s, &sm_keep_day, NOW, &st), 0);
	/* api has six hours, web four and a half. */
	ck_assert_int_eq(st.hours_rolled, 6 + 5);
	ck_assert_int_eq(st.runs_deleted, old);
	ck_assert_int_eq(st.hourly_deleted, 0);
	ck_assert_int_eq(sm_q("SELECT count(*) FROM runs WHERE started_ms < %lld", OLD + 6 * HOUR_MS), 0);
	ck_assert_int_eq(sm_q("SELECT count(*) FROM steps WHERE run_id NOT IN (SELECT id FROM runs)"), 0);
	ck_assert_int_eq(sm_q("SELECT count(*) FROM runs"), (int64_t)(m[0].n + m[1].n) - old);
	ck_assert_int_eq(sm_q("SELECT count(*) FROM hourly WHERE step = 0"), 11);
	ck_assert_int_eq(sm_q("SELECT sum(runs + skipped) FROM hourly WHERE step = 0"), old);
	ck_assert_int_eq(sm_q("SELECT rolled_ms FROM retention"), OLD + 6 * HOUR_MS);
	ck_assert_int_eq(sm_q("SELECT del_hour_ms IS NULL FROM retention"), 1);
	sm_check_reports(s, m, 2, OLD, NOW, true);
	sm_check_reports(s, m, 2, OLD + 6 * HOUR_MS, NOW, false);
	for (int k = 0; k < 2; k++)
		sm_check_status(s, &m[k], NOW);
	sm_free(m, 2, s);
}
END_TEST

/* A fingerprint of the hourly table, histograms included. */
#define HOURLY_SIG                                                                         \
	"SELECT sum(unicode(hex(hist)) + length(hist) * 7 + runs * 3 + ok * 5 + skipped"  \
	" + count * 11 + max_us + sum_us + hour_ms % 997 + step * 13) FROM hourly"

/* A second pass finds nothing to do and changes nothing, rollups included. */
START_TEST(retention_twice_changes_nothing)
{
	struct sm_model m[2];
	struct store *s = sm_open_rw();
	struct store_retention_stats st;
	int64_t runs = 0, sig = 0;

	sm_seed_old(m);
	ck_assert_int_eq(store_retention_run(s, &sm_keep_day, NOW, &st), 0);
	runs = sm_q("SELECT count(*) FROM runs");
	sig = sm_q("%s", HOURLY_SIG);
	ck_assert_int_eq(store_retention_run(s, &sm_keep_day, NOW, &st), 0);
	ck_assert_int_eq(st.hours_rolled + st.runs_deleted + st.hourly_deleted, 0);
	ck_assert_int_eq(sm_q("SELECT count(*) FROM runs"), runs);
	ck_assert_int_eq(sm_q("%s", HOURLY_SIG), sig);
	sm_free(m, 2, s);
}
END_TEST

/*
 * A cancelled pass (a stopping daemon) stops after the transaction in
 * progress and says there is more; the next pass finishes with the same
 * result as one uninterrupted pass. A budget of 1 ms stops early too.
 */
START_TEST(retention_stops_when_cancelled_and_resumes)
{
	struct sm_model m[2];
	struct store *s = sm_open_rw();
	struct store_retention_stats st;
	struct store_retention r = sm_keep_day;
	atomic_bool cancel = true;
	int64_t old = sm_seed_old(m), deleted = 0, passes = 0;

	r.batch = 7;
	r.cancel = &cancel;
	ck_assert_int_eq(store_retention_run(s, &r, NOW, &st), 0);
	ck_assert(st.more);
	ck_assert_int_lt(st.runs_deleted, old);
	deleted = st.runs_deleted;
	r.cancel = NULL;
	r.budget_ms = 1;
	do {
		ck_assert_int_eq(store_retention_run(s, &r, NOW, &st), 0);
		deleted += st.runs_deleted;
		ck_assert_int_lt(++passes, 10000);
	} while (st.more);
	ck_assert_int_gt(passes, 1);
	ck_assert_int_eq(deleted, old);
	ck_assert_int_eq(sm_q("SELECT sum(runs + skipped) FROM hourly WHERE step = 0"), old);
	sm_check_reports(s, m, 2, OLD, NOW, true);
	sm_free(m, 2, s);
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
	struct sm_model m[2];
	struct store *s = sm_open_rw();
	struct store_retention_stats st;
	struct store_retention r = sm_keep_day;
	int64_t old = sm_seed_old(m);

	r.batch = 10;
	t_db_exec(sm_db, "CREATE TABLE crash (n INTEGER); INSERT INTO crash VALUES (25);"
		  " CREATE TRIGGER crash_stop BEFORE DELETE ON runs WHEN (SELECT n FROM crash) <= 0"
		  " BEGIN SELECT RAISE(ABORT, 'simulated crash'); END;"
		  " CREATE TRIGGER crash_count AFTER DELETE ON runs BEGIN UPDATE crash SET n = n - 1; END");
	ck_assert_int_eq(store_retention_run(s, &r, NOW, &st), -EINVAL);
	ck_assert_msg(strstr(sm_log_last, "simulated crash"), "logged: %s", sm_log_last);
	ck_assert_int_eq(st.hours_rolled, 1);          /* api's first hour; web had none */
	ck_assert_int_eq(st.runs_deleted, 20);
	ck_assert_int_eq(sm_q("SELECT del_hour_ms FROM retention"), OLD);
	sm_check_reports(s, &m[0], 1, OLD, NOW, true);

	/* Late, for the hour being deleted: its id is above the rollup's largest. */
	sm_add_late(&m[0], OLD + 77, 0, 4321, true);
	t_db_exec(sm_db, "DROP TRIGGER crash_stop; DROP TRIGGER crash_count; DROP TABLE crash");
	ck_assert_int_eq(store_retention_run(s, &r, NOW, &st), 0);
	/* The rest of api's hours, web's five, and api's first again for the late run. */
	ck_assert_int_eq(st.hours_rolled, 5 + 5 + 1);
	ck_assert_int_eq(st.runs_deleted, old - 20 + 1);
	ck_assert_int_eq(sm_q("SELECT sum(runs + skipped) FROM hourly WHERE step = 0"), old + 1);
	ck_assert_int_eq(sm_q("SELECT count(*) FROM runs WHERE started_ms < %lld", OLD + 6 * HOUR_MS), 0);
	sm_check_reports(s, &m[0], 1, OLD, NOW, true);
	sm_free(m, 2, s);
}
END_TEST

/*
 * A run written for an hour rolled up by an earlier pass is left out of
 * reports until the next pass, which adds it (and its step) to that hour's
 * rollup and deletes it, then goes on with the hours that came due since.
 */
START_TEST(retention_rolls_late_runs_in)
{
	struct sm_model m[2];
	struct store *s = sm_open_rw();
	struct store_retention_stats st;
	struct store_report r;

	sm_seed_old(m);
	ck_assert_int_eq(store_retention_run(s, &sm_keep_day, NOW, &st), 0);
	sm_add_late(&m[1], OLD + 2 * HOUR_MS + 5, 1, 999999, true);
	r = sm_report(s, "web", OLD, NOW);
	ck_assert_int_eq(r.runs, (int64_t)m[1].n - 1);     /* web has no skipped runs */
	store_report_clear(&r);
	ck_assert_int_eq(store_retention_run(s, &sm_keep_day, NOW, &st), 0);
	ck_assert_int_eq(st.hours_rolled, 1);
	ck_assert_int_eq(st.runs_deleted, 1);
	ck_assert_int_eq(sm_q("SELECT count(*) FROM runs WHERE started_ms < %lld", OLD + 6 * HOUR_MS), 0);
	sm_check_reports(s, &m[1], 1, OLD, NOW, true);

	/* Two hours on, a late run again: it goes first, then the two hours now due. */
	sm_add_late(&m[0], OLD + 30, 0, 1234, false);
	ck_assert_int_eq(store_retention_run(s, &sm_keep_day, NOW + 2 * HOUR_MS, &st), 0);
	ck_assert_int_eq(st.hours_rolled, 1 + 2 * 2);
	ck_assert_int_eq(sm_q("SELECT count(*) FROM runs WHERE started_ms < %lld", OLD + 8 * HOUR_MS), 0);
	ck_assert_int_eq(sm_q("SELECT rolled_ms FROM retention"), OLD + 8 * HOUR_MS);
	sm_check_reports(s, m, 2, OLD, NOW, true);
	sm_free(m, 2, s);
}
END_TEST

/*
 * Rollups older than hourly_ms go, a batch at a time, and annotations with
 * them; younger ones stay.
 */
START_TEST(retention_prunes_hourly_rows)
{
	struct sm_model m = { .probe = "api" };
	struct store *s = sm_open_rw();
	struct store_retention_stats st;
	struct store_retention r = { .raw_ms = HOUR_MS, .hourly_ms = 400 * DAY_MS, .batch = 5 };
	struct store_annotation a = { .at_ms = T0 + 2 * HOUR_MS - 1, .text = "old deploy" };
	struct store_annotation *v = NULL;
	struct store_report rep;
	int64_t id = 0, now = T0 + 12 * HOUR_MS;
	size_t n = 0;

	sm_gen(&m, T0, T0 + 10 * HOUR_MS, 60000, 4, 0, true);
	sm_seed(&m);
	ck_assert_int_eq(store_annotate(s, &a, &id), 0);
	a.at_ms = T0 + 4 * HOUR_MS;
	a.text = "new deploy";
	ck_assert_int_eq(store_annotate(s, &a, &id), 0);
	ck_assert_int_eq(store_retention_run(s, &r, now, &st), 0);
	ck_assert_int_eq(st.hours_rolled, 10);
	/* Each hour: the run and login, submit, alt, logout. */
	ck_assert_int_eq(sm_q("SELECT count(*) FROM hourly"), 50);
	r.hourly_ms = now - (T0 + 4 * HOUR_MS);
	ck_assert_int_eq(store_retention_run(s, &r, now, &st), 0);
	ck_assert_int_eq(st.hourly_deleted, 20);
	ck_assert_int_eq(st.hours_rolled + st.runs_deleted, 0);
	ck_assert_int_eq(sm_q("SELECT min(hour_ms) FROM hourly"), T0 + 4 * HOUR_MS);
	ck_assert_int_eq(sm_q("SELECT count(*) FROM hourly"), 30);
	ck_assert_int_eq(store_annotations(s, 0, 0, &v, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(v[0].text, "new deploy");
	store_annotations_free(v, n);
	rep = sm_report(s, "api", T0, now);
	sm_check_report(&rep, &m, T0 + 4 * HOUR_MS, now, true);
	store_report_clear(&rep);
	sm_model_free(&m);
	store_close(s);
}
END_TEST

/* A retention pass on a thread of its own: its store, retention and outcome. */
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
	struct sm_model m[4] = { { .probe = "a" }, { .probe = "b" }, { .probe = "c" }, { .probe = "d" } };
	struct store *s = sm_open_rw(), *w = NULL, *ro = NULL;
	struct store_annotation a = { .text = "between batches" };
	struct bg b = { .s = s, .r = { .raw_ms = DAY_MS, .hourly_ms = 400 * DAY_MS, .batch = 10 } };
	int64_t id = 0, total = 0, mid = 0, writes = 0, writes_during = 0, submitted = 0;
	struct store_stats ss;
	uv_thread_t th;

	for (int k = 0; k < 4; k++) {
		sm_gen(&m[k], OLD, OLD + 6 * HOUR_MS, 15000, 7, 0, false);
		sm_seed(&m[k]);
		total += (int64_t)m[k].n;
	}
	w = sm_open(0);
	ro = sm_open(STORE_READONLY);
	ck_assert_int_eq(store_writer_start(s), 0);
	ck_assert_int_eq(uv_thread_create(&th, bg_retention, &b), 0);
	while (!atomic_load(&b.done)) {
		struct store_report r = sm_report(ro, "a", OLD, NOW);

		ck_assert_int_eq(r.runs, (int64_t)m[0].n);
		mid += r.approx && sm_q("SELECT count(*) FROM runs WHERE started_ms < %lld",
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
	ck_assert_int_eq(sm_q("SELECT count(*) FROM annotations"), writes);
	ck_assert_int_eq(sm_q("SELECT count(*) FROM runs"), submitted);
	ck_assert_int_eq(sm_q("SELECT sum(runs) FROM hourly WHERE step = 0"), total);
	store_close(ro);
	store_close(w);
	sm_free(m, 4, s);
}
END_TEST

/*
 * Two passes at once from two connections (a manual run while the daemon's
 * runs, say), both with a batch of 10: between them every hour is rolled
 * up once and every run deleted once, none uncounted.
 */
START_TEST(retention_two_passes_at_once)
{
	struct sm_model m[8] = {
		{ .probe = "a" }, { .probe = "b" }, { .probe = "c" }, { .probe = "d" },
		{ .probe = "e" }, { .probe = "f" }, { .probe = "g" }, { .probe = "h" },
	};
	struct store *s = sm_open_rw(), *s2 = sm_open(0);
	struct bg b[2] = {
		{ .s = s, .r = { .raw_ms = DAY_MS, .hourly_ms = 400 * DAY_MS, .batch = 10 } },
		{ .s = s2, .r = { .raw_ms = DAY_MS, .hourly_ms = 400 * DAY_MS, .batch = 10 } },
	};
	int64_t total = 0;
	uv_thread_t th[2];

	/* Few runs a probe-hour against the batch, so that batches span probes. */
	for (int k = 0; k < 8; k++) {
		sm_gen(&m[k], OLD + k * 60000, OLD + 6 * HOUR_MS, 240000, 5, 9, k % 2 == 0);
		sm_seed(&m[k]);
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
	ck_assert_int_eq(sm_q("SELECT count(*) FROM runs"), 0);
	ck_assert_int_eq(sm_q("SELECT count(*) FROM steps"), 0);
	ck_assert_int_eq(sm_q("SELECT sum(runs + skipped) FROM hourly WHERE step = 0"), total);
	sm_check_reports(s, m, 8, OLD, NOW, true);
	store_close(s2);
	sm_free(m, 8, s);
}
END_TEST

/*
 * A range that starts or ends inside rolled-up hours counts the hours that
 * start in it, whole, as storage.h says: [OLD + 30 min, OLD + 2 h 15 min)
 * is the hours OLD + 1 h and OLD + 2 h; [OLD + 5 h 30 min, OLD + 7 h) is
 * the raw runs from OLD + 6 h only, exact.
 */
START_TEST(report_rolled_hour_edges)
{
	struct sm_model m[2];
	struct store *s = sm_open_rw();
	struct store_report r;
	const int64_t half = HOUR_MS / 2, quarter = HOUR_MS / 4;

	sm_seed_old(m);
	ck_assert_int_eq(store_retention_run(s, &sm_keep_day, NOW, NULL), 0);
	r = sm_report(s, "api", OLD + half, OLD + 2 * HOUR_MS + quarter);
	sm_check_report(&r, &m[0], OLD + HOUR_MS, OLD + 3 * HOUR_MS, true);
	store_report_clear(&r);
	r = sm_report(s, "api", OLD + 5 * HOUR_MS + half, OLD + 7 * HOUR_MS);
	sm_check_report(&r, &m[0], OLD + 6 * HOUR_MS, OLD + 7 * HOUR_MS, false);
	store_report_clear(&r);
	/* Ending exactly at the mark, and starting exactly at it. */
	sm_check_reports(s, &m[1], 1, OLD, OLD + 6 * HOUR_MS, true);
	sm_check_reports(s, &m[1], 1, OLD + 6 * HOUR_MS, NOW, false);
	sm_free(m, 2, s);
}
END_TEST

/* One step of pass p on s's connection, as store_retention_run takes them (no writer runs). */
static int retention_step(struct store *s, struct store__retention_pass *p)
{
	char *err = NULL;
	int rc = store__be_retention_step(s->conn, p, &err);

	free(err);
	return rc;
}

/*
 * A pass deleting a rolled-up hour keeps its place (the probe it got to)
 * between steps. When meanwhile another pass finishes that hour and rolls
 * it up again for late runs, some of them in probes before that place, the
 * first pass starts over: else it would leave those runs behind, counted
 * in the rollup, for the next pass to count again.
 */
START_TEST(retention_cursor_follows_rerollup)
{
	static const int nruns[3] = { 3, 4, 3 };
	struct sm_model m[3] = { { .probe = "a" }, { .probe = "b" }, { .probe = "c" } };
	struct store *s = sm_open_rw(), *s2 = sm_open(0);
	struct store_retention r = { .raw_ms = DAY_MS, .hourly_ms = 400 * DAY_MS, .batch = 4 };
	struct store__retention_pass p = { .r = r, .now_ms = NOW };
	int rc = 0, steps = 0;

	for (int k = 0; k < 3; k++) {
		for (int i = 0; i < nruns[k]; i++)
			sm_add(&m[k], OLD + (k * 10 + i) * 60000, 0, 100 + i);
		sm_seed(&m[k]);
	}
	/* The first pass rolls the hour up (runs 1 to 10), then deletes a's three and b's first. */
	ck_assert_int_eq(retention_step(s, &p), 1);
	ck_assert_int_eq(sm_q("SELECT del_max_id FROM retention"), 10);
	ck_assert_int_eq(retention_step(s, &p), 1);
	ck_assert_int_eq(sm_q("SELECT count(*) FROM runs"), 6);
	/* Another finishes the hour; late runs come for a and c; it rolls them up, then stops. */
	ck_assert_int_eq(store_retention_run(s2, &r, NOW, NULL), 0);
	ck_assert_int_eq(sm_q("SELECT count(*) FROM runs"), 0);
	sm_add_late(&m[0], OLD + 5, 0, 555, false);
	sm_add_late(&m[2], OLD + 6, 1, 666, false);
	t_db_exec(sm_db, "CREATE TRIGGER stop BEFORE DELETE ON runs BEGIN SELECT RAISE(ABORT, 'stop'); END");
	ck_assert_int_eq(store_retention_run(s2, &r, NOW, NULL), -EINVAL);
	ck_assert_int_eq(sm_q("SELECT del_hour_ms FROM retention"), OLD);
	t_db_exec(sm_db, "DROP TRIGGER stop");
	/* The first pass goes on: both late runs go, and every run counts once. */
	while ((rc = retention_step(s, &p)) == 1 && ++steps < 100)
		;
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(sm_q("SELECT count(*) FROM runs"), 0);
	ck_assert_int_eq(store_retention_run(s2, &r, NOW, NULL), 0);
	ck_assert_int_eq(sm_q("SELECT sum(runs) FROM hourly WHERE step = 0"), 3 + 4 + 3 + 2);
	sm_check_reports(s, m, 3, OLD, NOW, true);
	store_close(s2);
	sm_free(m, 3, s);
}
END_TEST

/*
 * While another connection holds the write lock (the daemon's writer, a
 * CLI), retention and annotate wait for it, up to the busy timeout: a
 * short hold delays them, a hold past the timeout fails them with -EBUSY,
 * logged, with nothing half done (the mark untouched), and the next pass
 * does all.
 */
START_TEST(retention_waits_for_the_lock)
{
	struct sm_model m[2];
	struct store *s = sm_open_rw();
	struct store_retention_stats st = { .runs_deleted = 9 };
	struct store_annotation a = { .text = "during a lock" };
	struct bg b = { .s = s, .r = sm_keep_day };
	int64_t old = sm_seed_old(m), id = 0;
	uint64_t t = 0;
	uv_thread_t th;

	t_db_exec(sm_db, "BEGIN IMMEDIATE");
	t = uv_hrtime();
	ck_assert_int_eq(store_retention_run(s, &sm_keep_day, NOW, &st), -EBUSY);
	ck_assert_uint_ge(uv_hrtime() - t, 800 * 1000000ULL);
	ck_assert_int_eq(st.hours_rolled + st.runs_deleted + st.hourly_deleted, 0);
	ck_assert_msg(strstr(sm_log_last, "locked"), "logged: %s", sm_log_last);
	ck_assert_int_eq(store_annotate(s, &a, &id), -EBUSY);
	t_db_exec(sm_db, "COMMIT");
	ck_assert_int_eq(sm_q("SELECT rolled_ms FROM retention WHERE del_hour_ms IS NULL"), 0);
	ck_assert_int_eq(sm_q("SELECT count(*) FROM hourly"), 0);

	t_db_exec(sm_db, "BEGIN IMMEDIATE");
	ck_assert_int_eq(uv_thread_create(&th, bg_retention, &b), 0);
	uv_sleep(300);
	ck_assert(!atomic_load(&b.done));
	t_db_exec(sm_db, "COMMIT");
	ck_assert_int_eq(uv_thread_join(&th), 0);
	ck_assert_int_eq(b.rc, 0);
	ck_assert_int_eq(b.st.runs_deleted, old);
	ck_assert_int_eq(sm_q("SELECT sum(runs + skipped) FROM hourly WHERE step = 0"), old);
	ck_assert_int_eq(store_annotate(s, &a, &id), 0);
	sm_free(m, 2, s);
}
END_TEST

/* ------------------------------------------------------------------ annotations, read-only, schema */

START_TEST(annotations_round_trip)
{
	struct store *s = sm_open_rw();
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
	ck_assert_int_eq(sm_q("SELECT count(*) FROM annotations"), 4);
	store_close(s);
}
END_TEST

/* Only 0 means no upper bound: a negative to_ms bounds the range like any other. */
START_TEST(annotations_before_1970)
{
	struct store *s = sm_open_rw();
	struct store_annotation a = { .at_ms = -5000, .text = "before" }, *v = NULL;
	int64_t id = 0;
	size_t n = 0;

	ck_assert_int_eq(store_annotate(s, &a, &id), 0);
	a = (struct store_annotation){ .at_ms = T0, .text = "after" };
	ck_assert_int_eq(store_annotate(s, &a, &id), 0);
	ck_assert_int_eq(store_annotations(s, INT64_MIN, -1, &v, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(v[0].text, "before");
	store_annotations_free(v, n);
	ck_assert_int_eq(store_annotations(s, INT64_MIN, -5000, &v, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(store_annotations(s, -5000, 0, &v, &n), 0);
	ck_assert_uint_eq(n, 2);
	store_annotations_free(v, n);
	store_close(s);
}
END_TEST

/* A read-only store reads reports and annotations but refuses to write. */
START_TEST(readonly_refuses_writes)
{
	struct store *s = sm_open_rw(), *ro = NULL;
	struct store_annotation a = { .text = "x" }, *v = NULL;
	struct store_retention_stats st = { .runs_deleted = 9 };
	struct sm_model m = { .probe = "api" };
	struct store_report r;
	int64_t id = 0;
	size_t n = 0;

	sm_gen(&m, OLD, OLD + 2 * HOUR_MS, 60000, 0, 0, true);
	sm_seed(&m);
	ck_assert_int_eq(store_annotate(s, &a, &id), 0);
	store_close(s);
	ro = sm_open(STORE_READONLY);
	ck_assert_int_eq(store_annotate(ro, &a, &id), -EROFS);
	ck_assert_int_eq(id, 0);
	ck_assert_int_eq(store_retention_run(ro, &sm_keep_day, NOW, &st), -EROFS);
	ck_assert_int_eq(st.runs_deleted, 0);
	ck_assert_int_eq(store_annotations(ro, 0, 0, &v, &n), 0);
	ck_assert_uint_eq(n, 1);
	store_annotations_free(v, n);
	r = sm_report(ro, "api", OLD, NOW);
	sm_check_report(&r, &m, OLD, NOW, false);
	store_report_clear(&r);
	ck_assert_int_eq(sm_q("SELECT count(*) FROM runs"), (int64_t)m.n);
	store_close(ro);
	sm_model_free(&m);
}
END_TEST

/* A database left at schema v2 is brought to v3 with its runs, steps and incidents. */
START_TEST(v2_database_migrates)
{
	struct sm_model m = { .probe = "api" };
	struct store *s = NULL, *ro = NULL;
	struct store_report r;
	int64_t pid = 0;

	sm_db = t_db_open(sm_dbpath);
	t_db_exec(sm_db, "PRAGMA journal_mode = WAL; BEGIN");
	t_db_exec(sm_db, store__sqlite_schema_sql(1));
	t_db_exec(sm_db, store__sqlite_schema_sql(2));
	t_db_exec(sm_db, "PRAGMA user_version = 2; PRAGMA application_id = 1667329633; COMMIT");
	sm_gen(&m, T0, T0 + 3 * HOUR_MS, 60000, 6, 0, true);
	pid = sm_seed(&m);
	sm_add_incident(pid, 7, T0 + 10, T0 + 70, T0 + 130);
	t_db_exec(sm_db, "INSERT INTO maintenance (probe, start_ms, end_ms, created_ms)"
		  " VALUES ('api', 1, 2, 3)");

	s = sm_open(0);
	ck_assert_int_eq(sm_q("PRAGMA user_version"), 3);
	ck_assert_int_eq(sm_q("SELECT count(*) FROM sqlite_master WHERE name IN ('annotations',"
			   " 'annotations_by_at', 'hourly', 'retention')"), 4);
	ck_assert_int_eq(sm_q("SELECT rolled_ms FROM retention WHERE del_hour_ms IS NULL"), 0);
	ck_assert_int_eq(sm_q("SELECT count(*) FROM runs"), (int64_t)m.n);
	ck_assert_int_eq(sm_q("SELECT count(*) FROM maintenance"), 1);
	store_close(s);
	ro = sm_open(STORE_READONLY);
	r = sm_report(ro, "api", T0, T0 + DAY_MS);
	sm_check_report(&r, &m, T0, T0 + DAY_MS, false);
	ck_assert_int_eq(r.incidents, 1);
	ck_assert_int_eq(r.mttr_ms, 120);
	store_report_clear(&r);
	store_close(ro);
	sm_model_free(&m);
}
END_TEST

/*
 * The CLI opens read-only and never migrates: a database the daemon has
 * not brought to v3 yet (whose reports and annotations would name tables
 * it lacks) is refused at open with a message saying what to do, and left
 * as it was.
 */
START_TEST(readonly_refuses_v2_database)
{
	struct store_opts o = { .path = sm_dbpath, .flags = STORE_READONLY };
	struct store *s = NULL;
	char *err = NULL;

	sm_db = t_db_open(sm_dbpath);
	t_db_exec(sm_db, "PRAGMA journal_mode = WAL; BEGIN");
	t_db_exec(sm_db, store__sqlite_schema_sql(1));
	t_db_exec(sm_db, store__sqlite_schema_sql(2));
	t_db_exec(sm_db, "PRAGMA user_version = 2; PRAGMA application_id = 1667329633; COMMIT");
	ck_assert_int_eq(store_open(&o, &s, &err), -EPROTO);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, "schema version 2 is older") && strstr(err, "start the daemon once"),
		      "%s", err);
	free(err);
	ck_assert_int_eq(sm_q("PRAGMA user_version"), 2);
	ck_assert_int_eq(sm_q("SELECT count(*) FROM sqlite_master WHERE name = 'hourly'"), 0);
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
	struct store *s = sm_open_rw();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char sql[1024], plan[1024] = "";
		sqlite3_stmt *st = NULL;

		snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", cases[i].sql);
		ck_assert_msg(sqlite3_prepare_v2(sm_db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s",
			      cases[i].sql, sqlite3_errmsg(sm_db));
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

Suite *store_retention_suite(void)
{
	Suite *s = suite_create("store_retention");
	TCase *tc = sm_add_case(s, "retention", 30);

	tcase_add_test(tc, retention_rolls_up_and_prunes);
	tcase_add_test(tc, retention_twice_changes_nothing);
	tcase_add_test(tc, retention_stops_when_cancelled_and_resumes);
	tcase_add_test(tc, retention_resumes_after_failure);
	tcase_add_test(tc, retention_rolls_late_runs_in);
	tcase_add_test(tc, retention_prunes_hourly_rows);
	tcase_add_test(tc, retention_interleaves);
	tcase_add_test(tc, retention_two_passes_at_once);
	tcase_add_test(tc, report_rolled_hour_edges);
	tcase_add_test(tc, retention_cursor_follows_rerollup);
	tcase_add_test(tc, retention_waits_for_the_lock);

	tc = sm_add_case(s, "annotations_schema", 10);
	tcase_add_test(tc, annotations_round_trip);
	tcase_add_test(tc, annotations_before_1970);
	tcase_add_test(tc, readonly_refuses_writes);
	tcase_add_test(tc, v2_database_migrates);
	tcase_add_test(tc, readonly_refuses_v2_database);
	tcase_add_test(tc, queries_use_indexes);
	return s;
}