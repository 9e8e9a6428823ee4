/* check_store_report.c - latency histograms, percentiles, status and report figures in storage. */
#include "tests/tests.h"
#include "tests/store_model.h"
#include "storage/storage.h"
#include "storage/sqlite_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
		int64_t v = sm_rnd_us();

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

/* A blob to merge, with the count its row claims. */
struct blob_case {
	unsigned char b[16];
	size_t len;
	int64_t count;
};

/*
 * Blobs that parse but do not hold what their row says are refused as well,
 * leaving the series as it was: a bucket distance that wraps around 2^64
 * back into range, counts that do not add up to the row's, a bucket listed
 * twice or empty, a negative count, no blob at all, and a count that would
 * overflow the series'. Well-formed ones still merge, and sums saturate.
 */
START_TEST(hist_blob_refuses_inconsistent)
{
	static const struct blob_case bad[] = {
		{ { 1, 5, 1, 0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 1 }, 14, 2 },
		{ { 1, 3, 2 }, 3, 1 },
		{ { 1, 3, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01 }, 12, 1 },
		{ { 1, 3, 1, 0, 1 }, 5, 2 },
		{ { 1, 3, 0 }, 3, 0 },
		{ { 1 }, 1, -1 },
	};
	static const struct blob_case good[] = {
		{ { 1 }, 1, 0 }, { { 1, 0, 2 }, 3, 2 }, { { 1, 3, 1, 1, 1 }, 5, 2 },
	};
	struct store__series s = { 0 }, big = { .count = INT64_MAX };
	int64_t p50 = 0;

	ck_assert_int_eq(store__series_add(&s, 40), 0);
	ck_assert_int_eq(store__series_to_hist(&s), 0);
	p50 = store__series_pct(&s, 50);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(store__series_merge(&s, bad[i].b, bad[i].len, bad[i].count, 1, 1) ==
			      -EBADMSG, "bad blob %zu accepted", i);
		ck_assert_int_eq(s.count, 1);
		ck_assert_int_eq(store__series_pct(&s, 100), p50);
	}
	ck_assert_int_eq(store__series_merge(&s, NULL, 0, 0, 0, 0), -EBADMSG);
	ck_assert_int_eq(store__series_merge(&big, good[2].b, good[2].len, 2, 0, 0), -EBADMSG);
	ck_assert_int_eq(big.count, INT64_MAX);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_int_eq(store__series_merge(&s, good[i].b, good[i].len, good[i].count, 1, 9), 0);
	ck_assert_int_eq(s.count, 5);
	ck_assert_int_eq(store__series_pct(&s, 1), 0);     /* bucket 0 */
	ck_assert_int_eq(store__series_pct(&s, 100), 40);  /* never above the largest value */
	store__series_free(&s);
	/* Only corrupt durations get there; the sum saturates instead of overflowing. */
	ck_assert_int_eq(store__series_add(&s, INT64_MAX), 0);
	ck_assert_int_eq(store__series_add(&s, INT64_MAX), 0);
	ck_assert_int_eq(s.sum_us, INT64_MAX);
	store__series_free(&s);
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

/*
 * Ten days of runs every 10 min for probes in different states: a streak
 * that began today, one that began before the week the scan covers (up and
 * down), none at all, and a tie on started_ms; checked at the end and
 * mid-way (counts move, the streak is the latest run's).
 */
START_TEST(status_streaks_and_windows)
{
	struct sm_model m[6] = {
		{ .probe = "flappy" }, { .probe = "steady" }, { .probe = "always" },
		{ .probe = "down" }, { .probe = "tie" }, { .probe = "gap" },
	};
	struct store *s = sm_open_rw();
	int64_t end = T0 + 10 * DAY_MS, step = 10 * 60 * 1000;

	/* flappy: fails one run in 9, one in 7 skipped, then a down streak of 3. */
	sm_gen(&m[0], T0, end - 3 * step, step, 9, 7, false);
	for (int i = 0; i < 3; i++)
		sm_add(&m[0], end - (3 - i) * step, 1, 5000 + i);
	sm_add(&m[0], end, 2, 0);
	/* steady: one failure nine days ago, passing since (and after now). */
	sm_gen(&m[1], T0, end + step, step, 0, 0, false);
	m[1].v[100].result = 1;
	sm_gen(&m[2], T0 + step / 2, end, step, 0, 0, false);
	/* down: passing for two days, failing for eight. */
	sm_gen(&m[3], T0, T0 + 2 * DAY_MS, step, 0, 0, false);
	sm_gen(&m[3], T0 + 2 * DAY_MS, end, step, 1, 0, false);
	/* tie: a failure and a pass at the same millisecond; the pass has the larger id. */
	sm_gen(&m[4], T0, end - step, step, 3, 0, false);
	sm_add(&m[4], end, 1, 700);
	sm_add(&m[4], end, 0, 800);
	/* gap: a skipped run between a failure and the passes after it. */
	sm_add(&m[5], end - 5 * step, 1, 100);
	sm_add(&m[5], end - 4 * step, 2, 0);
	sm_add(&m[5], end - 3 * step, 0, 300);
	sm_add(&m[5], end - 2 * step, 0, 200);
	for (int i = 0; i < 6; i++)
		sm_seed(&m[i]);
	for (int i = 0; i < 6; i++) {
		sm_check_status(s, &m[i], end);
		sm_check_status(s, &m[i], end - 3 * DAY_MS - 1234);
	}
	/* The exact edges of the windows count: [now - 24 h, now]. */
	sm_check_status(s, &m[2], T0 + 8 * DAY_MS + step / 2);
	for (int i = 0; i < 6; i++)
		sm_model_free(&m[i]);
	store_close(s);
}
END_TEST

/* An unknown probe, and one whose runs were all skipped, have no streak and no p95. */
START_TEST(status_without_runs)
{
	struct sm_model m = { .probe = "paused" };
	struct store *s = sm_open_rw();
	struct store_status st;

	sm_gen(&m, T0, T0 + HOUR_MS, 60000, 0, 1, false);
	sm_seed(&m);
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
	sm_model_free(&m);
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
	struct sm_model m = { .probe = "api" }, other = { .probe = "web" };
	struct store *s = sm_open_rw();
	struct store_report r;
	int64_t pid = 0, since = T0 + 6 * HOUR_MS, until = T0 + 30 * HOUR_MS;

	sm_gen(&m, T0, T0 + 2 * DAY_MS, 60000, 13, 17, true);
	sm_gen(&other, T0, T0 + 2 * DAY_MS, 60000, 2, 0, true);
	pid = sm_seed(&m);
	sm_seed(&other);
	sm_add_incident(pid, 1, since - 1, since + 100, since + 1000);      /* before */
	sm_add_incident(pid, 2, since, since + 3000, since + 60000);
	sm_add_incident(pid, 3, since + HOUR_MS, since + HOUR_MS + 5000, 0); /* open */
	sm_add_incident(pid, 4, until - 1, until + 2001, until + 7001);
	sm_add_incident(pid, 5, until, until + 1, until + 2);              /* after */
	r = sm_report(s, "api", since, until);
	sm_check_report(&r, &m, since, until, false);
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
	sm_model_free(&m);
	sm_model_free(&other);
	store_close(s);
}
END_TEST

/* since is in the range, until is not; empty and unknown give zeros and -1s. */
START_TEST(report_range_edges)
{
	struct sm_model m = { .probe = "api" };
	struct store *s = sm_open_rw();
	struct store_report r;
	int64_t since = T0 + 1000, until = T0 + 5000, pid = 0;

	sm_add(&m, since - 1, 0, 11);
	sm_add(&m, since, 0, 22);
	sm_add_step(sm_add(&m, until - 1, 1, 33), "login", 0);
	m.v[m.n - 1].total[0] = 55;
	sm_add(&m, until, 0, 44);
	pid = sm_seed(&m);
	sm_add_incident(pid, 1, since, since + 10, 0);
	sm_add_incident(pid, 2, until, until + 10, 0);
	r = sm_report(s, "api", since, until);
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
		r = sm_report(s, i ? "nobody" : "api", since, since);
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
	sm_model_free(&m);
	store_close(s);
}
END_TEST

/*
 * A rollup row whose histogram does not hold the runs the row counts (a
 * corrupt or foreign row) makes reports and status fail with a message
 * naming it, instead of wrong figures; a sound row in its place is read.
 */
START_TEST(report_refuses_malformed_rollup)
{
	struct sm_model m = { .probe = "api" };
	struct store *s = sm_open_rw();
	struct store_report r;
	struct store_status st;
	char sql[512];

	sm_add(&m, T0 + 2 * HOUR_MS, 0, 70);
	/* Hour T0 rolled up: 5 runs, its histogram holding 1. */
	snprintf(sql, sizeof(sql), "UPDATE retention SET rolled_ms = %lld;"
		 " INSERT INTO hourly (probe_id, hour_ms, step, idx, runs, ok, skipped, count, sum_us,"
		 " max_us, hist) VALUES (%lld, %lld, 0, 0, 5, 5, 0, 5, 500, 100, x'010301')",
		 (long long)(T0 + HOUR_MS), (long long)sm_seed(&m), (long long)T0);
	t_db_exec(sm_db, sql);
	ck_assert_int_eq(store_report(s, "api", T0, T0 + DAY_MS, &r), -EBADMSG);
	ck_assert_ptr_null(r.steps);
	ck_assert_int_eq(r.runs, 0);
	ck_assert_msg(strstr(sm_log_last, "malformed hourly rollup"), "logged: %s", sm_log_last);
	ck_assert_int_eq(store_probe_status(s, "api", T0 + 3 * HOUR_MS, &st), -EBADMSG);
	ck_assert_ptr_null(st.error);
	t_db_exec(sm_db, "UPDATE hourly SET hist = x'010305'");   /* bucket 3 (1 us): 5 runs */
	r = sm_report(s, "api", T0, T0 + DAY_MS);
	ck_assert_int_eq(r.runs, 6);
	ck_assert_int_eq(r.ok, 6);
	ck_assert(r.approx);
	ck_assert_int_eq(r.p50_us, 1);
	store_report_clear(&r);
	sm_model_free(&m);
	store_close(s);
}
END_TEST

Suite *store_report_suite(void)
{
	Suite *s = suite_create("store_report");
	TCase *tc = sm_add_case(s, "hist", 0);

	tcase_add_test(tc, hist_buckets_are_tight);
	tcase_add_test(tc, hist_blob_round_trip);
	tcase_add_test(tc, hist_blob_refuses_inconsistent);
	tcase_add_test(tc, pct_is_nearest_rank);

	tc = sm_add_case(s, "status", 20);
	tcase_add_test(tc, status_streaks_and_windows);
	tcase_add_test(tc, status_without_runs);

	tc = sm_add_case(s, "report", 20);
	tcase_add_test(tc, report_exact_figures);
	tcase_add_test(tc, report_range_edges);
	tcase_add_test(tc, report_refuses_malformed_rollup);

	return s;
}
