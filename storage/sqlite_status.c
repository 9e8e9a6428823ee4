/* sqlite_status.c - the SQLite backend's status reader: a probe's last run, its current streak, and its day and week. */
#include "storage/sqlite_int.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#define DAY_MS (24 * 60 * 60 * 1000LL)
#define WEEK_MS (7 * DAY_MS)

/* Reads the last run that ran into out. Returns 0 or a negative error. */
static int sq_last_run(struct store__sqlite_conn *c, int64_t probe_id, struct store_status *out,
		       char **err)
{
	sqlite3_stmt *st = c->st[STORE__SQ_LAST_RUN];
	int rc = 0, src = SQLITE_OK;

	store__sq_bind_int(st, 1, probe_id, &src);
	if (src != SQLITE_OK)
		return store__sq_fail(c, src, err);
	if ((rc = store__sq_next(c, st, err)) > 0) {
		rc = 0;
		out->has_run = true;
		out->last_run_ms = sqlite3_column_int64(st, 0);
		out->latency_us = sqlite3_column_int64(st, 1);
		out->last_ok = sqlite3_column_int(st, 2) == 0;
		if (!out->last_ok && (store__sq_column_dup(st, 3, &out->error_class) < 0 ||
				      store__sq_column_dup(st, 4, &out->error) < 0))
			rc = store__sq_oom(err);
		sqlite3_reset(st);
	}
	return rc;
}

/* The day and the week before now, as they are counted. */
struct windows {
	struct store__summary day;    /* its run series: the day's latencies */
	struct store__summary week;   /* counts only */
	bool streak_open;             /* the scan saw no run with the other result */
};

/*
 * Walks the raw runs from the newest back to from_ms (COUNT_RUNS): those up
 * to now_ms count in the week and, from now_ms - 24 h, in the day; and the
 * current streak (runs with the last run's result) is followed back as far
 * as the scan goes, its first run in out->since_ms.
 */
static int scan_recent(struct store__sqlite_conn *c, int64_t probe_id, int64_t from_ms,
		       int64_t now_ms, struct store_status *out, struct windows *w, char **err)
{
	sqlite3_stmt *st = c->st[STORE__SQ_COUNT_RUNS];
	int last = out->last_ok ? 0 : 1, rc = 0, src = SQLITE_OK;

	store__sq_bind_int(st, 1, probe_id, &src);
	store__sq_bind_int(st, 2, from_ms, &src);
	if (src != SQLITE_OK)
		return store__sq_fail(c, src, err);
	w->streak_open = true;
	while ((rc = store__sq_next(c, st, err)) > 0) {
		int64_t t = sqlite3_column_int64(st, 0);
		int result = sqlite3_column_int(st, 2);

		if (w->streak_open && result == last)
			out->since_ms = t;
		else
			w->streak_open = false;
		if (t > now_ms)
			continue;
		w->week.runs++;
		w->week.ok += result == 0;
		if (t < now_ms - DAY_MS)
			continue;
		w->day.runs++;
		w->day.ok += result == 0;
		if (store__series_add(&w->day.run, sqlite3_column_int64(st, 1)) < 0) {
			sqlite3_reset(st);
			return store__sq_oom(err);
		}
	}
	return rc;
}

/*
 * The streak is older than the scan (from_ms): finds the latest run before
 * it with the other result (STREAK, as long as the streak is), and the first
 * run after that, or the probe's first run when there is none.
 */
static int streak_start(struct store__sqlite_conn *c, int64_t probe_id, int64_t from_ms,
			struct store_status *out, char **err)
{
	sqlite3_stmt *st = c->str[STORE__SQR_STREAK];
	int64_t t = INT64_MIN, id = 0;
	int rc = 0;

	if ((rc = store__sq_bind3(c, st, probe_id, from_ms, out->last_ok ? 0 : 1, err)) < 0)
		return rc;
	if ((rc = store__sq_next(c, st, err)) > 0) {
		t = sqlite3_column_int64(st, 0);
		id = sqlite3_column_int64(st, 1);
		sqlite3_reset(st);
	}
	if (rc < 0)
		return rc;
	st = c->str[STORE__SQR_FIRST_AFTER];
	if ((rc = store__sq_bind3(c, st, probe_id, t, id, err)) < 0)
		return rc;
	if ((rc = store__sq_next(c, st, err)) > 0) {
		out->since_ms = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		rc = 0;
	}
	return rc;
}

/*
 * Fills the counts, p95 and streak. Raw runs are read from the retention
 * mark on; when retention keeps raw runs less than a week, the hours
 * before the mark come from the hourly rollups (those starting in the
 * window), and the day's p95 from their histograms then.
 */
static int sq_windows(struct store__sqlite_conn *c, int64_t probe_id, int64_t now_ms,
		      struct store_status *out, struct windows *w, char **err)
{
	struct store__sq_mark mark;
	int64_t from = now_ms - WEEK_MS, to = 0;
	int rc = 0;

	if ((rc = store__sq_mark_get(c, &mark, err)) < 0)
		return rc;
	if (mark.rolled_ms > from) {
		to = mark.rolled_ms <= now_ms ? mark.rolled_ms : now_ms + 1;
		if ((rc = store__sq_rollups(c, probe_id, from, to, false, &w->week, NULL, err)) < 0 ||
		    (rc = store__sq_rollups(c, probe_id, now_ms - DAY_MS, to, false, &w->day, NULL,
					    err)) < 0)
			return rc;
		from = mark.rolled_ms;
	}
	if ((rc = scan_recent(c, probe_id, from, now_ms, out, w, err)) < 0)
		return rc;
	if (out->has_run && w->streak_open)
		rc = streak_start(c, probe_id, from, out, err);
	out->runs_24h = w->day.runs;
	out->ok_24h = w->day.ok;
	out->runs_7d = w->week.runs;
	out->ok_7d = w->week.ok;
	out->p95_us_24h = store__series_pct(&w->day.run, 95);
	return rc;
}

/*
 * Reads in one read transaction, so the last run, the streak and the counts
 * agree. Cost: the week's runs of the probe through runs_by_probe, plus, when
 * the current streak began before that, the streak's.
 */
int store__sq_probe_status(struct store__conn *conn, const char *probe, int64_t now_ms,
			   struct store_status *out, char **err)
{
	struct store__sqlite_conn *c = store__sq_conn(conn);
	struct windows w = { 0 };
	int64_t probe_id = 0;
	int rc = 0;

	out->p95_us_24h = -1;
	if ((rc = store__sq_read_begin(c, probe, &probe_id, err)) < 0 || probe_id == 0)
		goto out;
	if ((rc = sq_last_run(c, probe_id, out, err)) == 0)
		rc = sq_windows(c, probe_id, now_ms, out, &w, err);
out:
	store__sq_read_end(c);
	store__summary_free(&w.day);
	store__summary_free(&w.week);
	return rc;
}
