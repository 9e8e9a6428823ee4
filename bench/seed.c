/* seed.c - `make bench` helper: seeds a database with raw runs, rolls them up with canary's own retention, and replicates the rollups back over N days. */
#include "storage/storage.h"

#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HOUR_MS 3600000LL

/*
 * Usage: bench_seed DB NPROBES EVERY_S DAYS RAW_HOURS
 *
 * 1. store_open creates the schema (the daemon's own code).
 * 2. RAW_HOURS of raw runs (one step, named after its probe, as a url-only
 *    probe's is) are inserted for probes p00000..,
 *    one every EVERY_S, phase-spread, about 1 % failing, in one transaction.
 * 3. store_retention_run (raw 1 h) rolls every whole hour older than 1 h up
 *    into `hourly` and deletes those raw runs: the real rollup code.
 * 4. The rolled-up hours are copied, hist blobs and all, to every earlier
 *    hour back to DAYS days ago, so the report reads DAYS of rollups of
 *    realistic shape. What stays raw is the last hour or so.
 * Prints one line of JSON with what it made. Exit 0 or 1.
 */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		fprintf(stderr, "bench_seed: %s: %s\n", sql, msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* A latency around 2 ms with a tail, deterministic. */
static int64_t latency_us(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	int64_t v = 1500 + (int64_t)(*x % 1000);
	if (*x % 100 == 0)
		v += (int64_t)(*x % 50000);
	return v;
}

static int insert_raw(sqlite3 *db, int nprobes, int every_s, int raw_hours, int64_t now,
		      int64_t *nruns)
{
	sqlite3_stmt *run = NULL, *stp = NULL, *pr = NULL, *nm = NULL;
	uint64_t x = 88172645463325252ull;
	int64_t every = (int64_t)every_s * 1000, from = now - (int64_t)raw_hours * HOUR_MS;
	int rc = -1;

	if (exec(db, "BEGIN") < 0)
		return -1;
	if (sqlite3_prepare_v2(db, "INSERT INTO probes (id, name) VALUES (?1, ?2)", -1, &pr, NULL) ||
	    sqlite3_prepare_v2(db, "INSERT INTO step_names (id, name) VALUES (?1, ?2)", -1, &nm, NULL) ||
	    sqlite3_prepare_v2(db, "INSERT INTO runs (probe_id, started_ms, duration_us, lag_us, result,"
			       " class, failed_step, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
			       -1, &run, NULL) ||
	    sqlite3_prepare_v2(db, "INSERT INTO steps (run_id, idx, name_id, status, dns_us, connect_us,"
			       " tls_us, ttfb_us, total_us, bytes, class, error)"
			       " VALUES (?1, 0, ?7, ?2, 10, 80, 0, ?3, ?4, 52, ?5, ?6)", -1, &stp, NULL)) {
		fprintf(stderr, "bench_seed: prepare: %s\n", sqlite3_errmsg(db));
		goto out;
	}
	for (int p = 1; p <= nprobes; p++) {
		char name[32];
		snprintf(name, sizeof(name), "p%05d", p - 1);
		sqlite3_bind_int(pr, 1, p);
		sqlite3_bind_text(pr, 2, name, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(pr) != SQLITE_DONE)
			goto fail;
		sqlite3_reset(pr);
		/* A probe with one unnamed step names the step after itself, as the daemon does. */
		sqlite3_bind_int(nm, 1, p);
		sqlite3_bind_text(nm, 2, name, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(nm) != SQLITE_DONE)
			goto fail;
		sqlite3_reset(nm);
	}
	/* Time-ordered, as the daemon writes them. */
	for (int64_t t = from; t < now; t += every) {
		for (int p = 1; p <= nprobes; p++) {
			int64_t at = t + (int64_t)p * every / nprobes, lat = latency_us(&x);
			int failed = x % 97 == 0;

			sqlite3_bind_int(run, 1, p);
			sqlite3_bind_int64(run, 2, at);
			sqlite3_bind_int64(run, 3, lat + 30);
			sqlite3_bind_int64(run, 4, (int64_t)(x % 400));
			sqlite3_bind_int(run, 5, failed);
			if (failed) {
				sqlite3_bind_text(run, 6, "assertion", -1, SQLITE_STATIC);
				sqlite3_bind_int(run, 7, 0);
				sqlite3_bind_text(run, 8, "status == 200: got 503", -1, SQLITE_STATIC);
			} else {
				sqlite3_bind_null(run, 6);
				sqlite3_bind_null(run, 7);
				sqlite3_bind_null(run, 8);
			}
			if (sqlite3_step(run) != SQLITE_DONE)
				goto fail;
			sqlite3_reset(run);
			sqlite3_bind_int64(stp, 1, sqlite3_last_insert_rowid(db));
			sqlite3_bind_int(stp, 2, failed ? 503 : 200);
			sqlite3_bind_int64(stp, 3, lat - 200);
			sqlite3_bind_int64(stp, 4, lat);
			sqlite3_bind_int(stp, 7, p);
			if (failed) {
				sqlite3_bind_text(stp, 5, "assertion", -1, SQLITE_STATIC);
				sqlite3_bind_text(stp, 6, "status == 200: got 503", -1, SQLITE_STATIC);
			} else {
				sqlite3_bind_null(stp, 5);
				sqlite3_bind_null(stp, 6);
			}
			if (sqlite3_step(stp) != SQLITE_DONE)
				goto fail;
			sqlite3_reset(stp);
			(*nruns)++;
		}
	}
	rc = exec(db, "COMMIT");
	goto out;
fail:
	fprintf(stderr, "bench_seed: insert: %s\n", sqlite3_errmsg(db));
out:
	sqlite3_finalize(pr);
	sqlite3_finalize(nm);
	sqlite3_finalize(run);
	sqlite3_finalize(stp);
	return rc;
}

/* Copies the rollups of hour tmpl to every hour from first down to last (first >= last). */
static int replicate(sqlite3 *db, int64_t tmpl, int64_t first, int64_t last, int64_t *hours)
{
	sqlite3_stmt *st = NULL;
	int rc = -1;

	if (exec(db, "BEGIN") < 0)
		return -1;
	if (sqlite3_prepare_v2(db, "INSERT INTO hourly SELECT probe_id, ?2, step, idx, runs, ok, skipped,"
			       " count, sum_us, max_us, hist FROM hourly WHERE hour_ms = ?1", -1, &st, NULL))
		goto out;
	for (int64_t h = first; h >= last; h -= HOUR_MS) {
		sqlite3_bind_int64(st, 1, tmpl);
		sqlite3_bind_int64(st, 2, h);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto out;
		sqlite3_reset(st);
		(*hours)++;
	}
	rc = exec(db, "COMMIT");
out:
	if (rc < 0)
		fprintf(stderr, "bench_seed: replicate: %s\n", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc;
}

static int64_t query1(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

int main(int argc, char **argv)
{
	struct store_opts o = { 0 };
	struct store *s = NULL;
	struct store_retention_stats rs = { 0 };
	sqlite3 *db = NULL;
	char *err = NULL;
	int64_t now = now_ms(), nruns = 0, copied = 0, rolled = 0;
	int rc;

	if (argc != 6) {
		fprintf(stderr, "usage: bench_seed DB NPROBES EVERY_S DAYS RAW_HOURS\n");
		return 1;
	}
	int nprobes = atoi(argv[2]), every_s = atoi(argv[3]), days = atoi(argv[4]), raw_hours = atoi(argv[5]);
	if (nprobes <= 0 || every_s <= 0 || days <= 0 || raw_hours < 2) {
		fprintf(stderr, "bench_seed: bad arguments\n");
		return 1;
	}
	o.path = argv[1];
	if ((rc = store_open(&o, &s, &err)) < 0) {
		fprintf(stderr, "bench_seed: %s\n", err);
		return 1;
	}
	store_close(s);
	s = NULL;

	if (sqlite3_open(argv[1], &db) != SQLITE_OK || exec(db, "PRAGMA synchronous = OFF") < 0 ||
	    insert_raw(db, nprobes, every_s, raw_hours, now, &nruns) < 0)
		goto fail;
	sqlite3_close(db);
	db = NULL;

	if ((rc = store_open(&o, &s, &err)) < 0) {
		fprintf(stderr, "bench_seed: %s\n", err);
		return 1;
	}
	struct store_retention r = { .raw_ms = HOUR_MS, .hourly_ms = 400LL * 24 * HOUR_MS, .batch = 100000 };
	do {
		if ((rc = store_retention_run(s, &r, now, &rs)) < 0) {
			fprintf(stderr, "bench_seed: retention: %s\n", strerror(-rc));
			store_close(s);
			return 1;
		}
		rolled += rs.hours_rolled;
	} while (rs.more);
	store_close(s);

	if (sqlite3_open(argv[1], &db) != SQLITE_OK)
		goto fail;
	int64_t lo = query1(db, "SELECT min(hour_ms) FROM hourly");
	if (lo < 0) {
		fprintf(stderr, "bench_seed: nothing was rolled up\n");
		goto fail;
	}
	/* The oldest rolled hour is partial (seeding started mid-hour): copy the next, whole one. */
	int64_t tmpl = query1(db, "SELECT max(hour_ms) FROM hourly");
	if (replicate(db, tmpl, lo - HOUR_MS, now - (int64_t)days * 24 * HOUR_MS - HOUR_MS, &copied) < 0 ||
	    exec(db, "PRAGMA wal_checkpoint(TRUNCATE)") < 0)
		goto fail;
	printf("{\"seeded_runs\": %" PRId64 ", \"rolled_groups\": %" PRId64 ", \"hours_copied\": %" PRId64
	       ", \"hourly_rows\": %" PRId64 ", \"raw_runs_left\": %" PRId64 ", \"rolled_ms\": %" PRId64 "}\n",
	       nruns, rolled, copied, query1(db, "SELECT count(*) FROM hourly"),
	       query1(db, "SELECT count(*) FROM runs"), query1(db, "SELECT rolled_ms FROM retention"));
	sqlite3_close(db);
	return 0;
fail:
	if (db)
		fprintf(stderr, "bench_seed: %s\n", sqlite3_errmsg(db));
	sqlite3_close(db);
	return 1;
}
