/* sqlite_report.c - the SQLite backend's reports: a probe's figures over a range, from raw runs and, where retention pruned them, hourly rollups. */
#include "storage/sqlite_int.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ROLLUP_COLS "step, idx, runs, ok, skipped, count, sum_us, max_us, hist"

const char *const store__sqlite_report_sql[STORE__SQR_MAX] = {
	[STORE__SQR_ROLLED] =
		"SELECT rolled_ms, coalesce(del_hour_ms, -1), coalesce(del_max_id, 0)"
		" FROM retention WHERE id = 1",
	/* Both walk runs_by_probe, the first backwards from ?2 until a run with
	 * the other result: as far as the streak is long (status only needs it
	 * when the streak is older than its scan). */
	[STORE__SQR_STREAK] =
		"SELECT started_ms, id FROM runs WHERE probe_id = ?1 AND started_ms < ?2"
		" AND result < 2 AND result <> ?3 ORDER BY started_ms DESC, id DESC LIMIT 1",
	[STORE__SQR_FIRST_AFTER] =
		"SELECT started_ms FROM runs WHERE probe_id = ?1 AND (started_ms, id) > (?2, ?3)"
		" AND result < 2 ORDER BY started_ms, id LIMIT 1",
	/* One pass over the probe's runs in runs_by_probe, each run's steps
	 * found by the steps key (run_id, idx): rows of a run come together, the
	 * run's columns repeated on each, NULL steps for a run without any. */
	[STORE__SQR_SCAN] =
		"SELECT r.id, r.result, r.duration_us, s.name_id, s.idx, s.total_us"
		" FROM runs r LEFT JOIN steps s ON s.run_id = r.id AND r.result < 2"
		" WHERE r.probe_id = ?1 AND r.started_ms >= ?2 AND r.started_ms < ?3",
	[STORE__SQR_HOURLY] =
		"SELECT " ROLLUP_COLS " FROM hourly"
		" WHERE probe_id = ?1 AND hour_ms >= ?2 AND hour_ms < ?3",
	[STORE__SQR_HOURLY_RUNS] =
		"SELECT " ROLLUP_COLS " FROM hourly"
		" WHERE probe_id = ?1 AND hour_ms >= ?2 AND hour_ms < ?3 AND step = 0",
	[STORE__SQR_INCIDENTS] =
		"SELECT count(*), count(resolved_ms), coalesce(sum(detected_ms - started_ms), 0),"
		" coalesce(sum(resolved_ms - started_ms), 0) FROM incidents"
		" WHERE probe_id = ?1 AND started_ms >= ?2 AND started_ms < ?3",
	[STORE__SQR_STEP_NAME] = "SELECT name FROM step_names WHERE id = ?1",
};

int store__sq_read_begin(struct store__sqlite_conn *c, const char *probe, int64_t *probe_id,
			 char **err)
{
	int src = store__sq_run(c->st[STORE__SQ_BEGIN_READ]);

	*probe_id = 0;
	if (src != SQLITE_OK)
		return store__sq_fail(c, src, err);
	/* Looked up, never added: readers do not write. */
	return store__sq_intern(c, &c->probes, STORE__SQ_PROBE_GET, STORE__SQ_MAX, probe,
				probe_id, err);
}

void store__sq_read_end(struct store__sqlite_conn *c)
{
	/* A transaction left open would make the next BEGIN fail, and keep
	 * an old snapshot that stops checkpoints: if COMMIT fails, roll back. */
	if (!sqlite3_get_autocommit(c->db) && store__sq_run(c->st[STORE__SQ_COMMIT]) != SQLITE_OK &&
	    !sqlite3_get_autocommit(c->db))
		store__sq_run(c->st[STORE__SQ_ROLLBACK]);
}

int store__sq_mark_get(struct store__sqlite_conn *c, struct store__sq_mark *m, char **err)
{
	sqlite3_stmt *st = c->str[STORE__SQR_ROLLED];
	int rc = store__sq_next(c, st, err);

	*m = (struct store__sq_mark){ .del_hour_ms = -1 };
	if (rc > 0) {
		m->rolled_ms = sqlite3_column_int64(st, 0);
		m->del_hour_ms = sqlite3_column_int64(st, 1);
		m->del_max_id = sqlite3_column_int64(st, 2);
		sqlite3_reset(st);
		rc = 0;
	}
	return rc;
}

/* Adds one row of SCAN (a run, or a step of it) to sum. Returns 0 or -ENOMEM. */
static int scan_row(sqlite3_stmt *st, struct store__summary *sum, int64_t *prev_id,
		    int64_t *max_id)
{
	int64_t id = sqlite3_column_int64(st, 0);
	struct store__series *step = NULL;
	int rc = 0;

	if (id != *prev_id) {
		*prev_id = id;
		if (max_id != NULL && id > *max_id)
			*max_id = id;
		if (sqlite3_column_int(st, 1) == 2) {
			sum->skipped++;
		} else {
			sum->runs++;
			sum->ok += sqlite3_column_int(st, 1) == 0;
			rc = store__series_add(&sum->run, sqlite3_column_int64(st, 2));
		}
	}
	if (rc < 0 || sqlite3_column_type(st, 3) == SQLITE_NULL)
		return rc;
	step = store__summary_step(sum, sqlite3_column_int64(st, 3), sqlite3_column_int64(st, 4));
	return step ? store__series_add(step, sqlite3_column_int64(st, 5)) : -ENOMEM;
}

int store__sq_scan(struct store__sqlite_conn *c, int64_t probe_id, int64_t from_ms,
		   int64_t to_ms, struct store__summary *sum, int64_t *max_id, char **err)
{
	sqlite3_stmt *st = c->str[STORE__SQR_SCAN];
	int64_t prev_id = 0;
	int rc = 0;

	if ((rc = store__sq_bind3(c, st, probe_id, from_ms, to_ms, err)) < 0)
		return rc;
	while ((rc = store__sq_next(c, st, err)) > 0) {
		if (scan_row(st, sum, &prev_id, max_id) < 0) {
			sqlite3_reset(st);
			return store__sq_oom(err);
		}
	}
	return rc;
}

/* Merges one row of HOURLY into sum. Returns 0, -ENOMEM or -EBADMSG. */
static int rollup_row(sqlite3_stmt *st, struct store__summary *sum)
{
	int64_t key = sqlite3_column_int64(st, 0);
	struct store__series *s = &sum->run;

	if (key == 0) {
		sum->runs += sqlite3_column_int64(st, 2);
		sum->ok += sqlite3_column_int64(st, 3);
		sum->skipped += sqlite3_column_int64(st, 4);
	} else if ((s = store__summary_step(sum, key, sqlite3_column_int64(st, 1))) == NULL) {
		return -ENOMEM;
	}
	return store__series_merge(s, sqlite3_column_blob(st, 8), (size_t)sqlite3_column_bytes(st, 8),
				   sqlite3_column_int64(st, 5), sqlite3_column_int64(st, 6),
				   sqlite3_column_int64(st, 7));
}

int store__sq_rollups(struct store__sqlite_conn *c, int64_t probe_id, int64_t from_ms,
		      int64_t to_ms, bool steps, struct store__summary *sum, bool *found,
		      char **err)
{
	sqlite3_stmt *st = c->str[steps ? STORE__SQR_HOURLY : STORE__SQR_HOURLY_RUNS];
	int rc = 0;

	if ((rc = store__sq_bind3(c, st, probe_id, from_ms, to_ms, err)) < 0)
		return rc;
	while ((rc = store__sq_next(c, st, err)) > 0) {
		if (found != NULL)
			*found = true;
		if ((rc = rollup_row(st, sum)) < 0) {
			sqlite3_reset(st);
			if (rc == -EBADMSG)
				*err = store__strdupf("%s: a malformed hourly rollup of probe %lld",
						      c->path, (long long)probe_id);
			return rc == -ENOMEM ? store__sq_oom(err) : rc;
		}
	}
	return rc;
}

/* Counts the incidents started in the range and their mean times to detect and resolve. */
static int report_incidents(struct store__sqlite_conn *c, int64_t probe_id, int64_t since_ms,
			    int64_t until_ms, struct store_report *out, char **err)
{
	sqlite3_stmt *st = c->str[STORE__SQR_INCIDENTS];
	int rc = 0;

	if ((rc = store__sq_bind3(c, st, probe_id, since_ms, until_ms, err)) < 0)
		return rc;
	if ((rc = store__sq_next(c, st, err)) > 0) {
		out->incidents = sqlite3_column_int64(st, 0);
		out->resolved = sqlite3_column_int64(st, 1);
		/* Integer means, rounded toward zero (times are whole ms). */
		if (out->incidents > 0)
			out->mttd_ms = sqlite3_column_int64(st, 2) / out->incidents;
		if (out->resolved > 0)
			out->mttr_ms = sqlite3_column_int64(st, 3) / out->resolved;
		sqlite3_reset(st);
		rc = 0;
	}
	return rc;
}

/* A step of the report, with what orders it. */
struct ordered_step {
	int64_t idx;
	struct store_report_step step;
};

static int cmp_steps(const void *a, const void *b)
{
	const struct ordered_step *x = a, *y = b;

	if (x->idx != y->idx)
		return x->idx < y->idx ? -1 : 1;
	return strcmp(x->step.name, y->step.name);
}

/* Fills one report step from series s, its name looked up in step_names. */
static int report_step(struct store__sqlite_conn *c, struct store__series *s,
		       struct ordered_step *o, char **err)
{
	sqlite3_stmt *st = c->str[STORE__SQR_STEP_NAME];
	int rc = 0, src = SQLITE_OK;

	o->idx = s->idx;
	o->step.count = s->count;
	o->step.p50_us = store__series_pct(s, 50);
	o->step.p95_us = store__series_pct(s, 95);
	o->step.p99_us = store__series_pct(s, 99);
	o->step.max_us = s->count > 0 ? s->max_us : -1;
	store__sq_bind_int(st, 1, s->key, &src);
	if (src != SQLITE_OK)
		return store__sq_fail(c, src, err);
	if ((rc = store__sq_next(c, st, err)) > 0) {
		rc = store__sq_column_dup(st, 0, &o->step.name) < 0 ? store__sq_oom(err) : 0;
		sqlite3_reset(st);
	}
	/* A name row cannot go while steps use it; should it all the same, say so. */
	if (rc == 0 && o->step.name == NULL && (o->step.name = store__strdupf("#%lld",
								(long long)s->key)) == NULL)
		rc = store__sq_oom(err);
	return rc;
}

/* Moves what sum says into out: counts, percentiles, and the steps in order. */
static int report_fill(struct store__sqlite_conn *c, struct store__summary *sum,
		       struct store_report *out, char **err)
{
	struct ordered_step *v = NULL;
	int rc = 0;

	out->runs = sum->runs;
	out->ok = sum->ok;
	out->skipped = sum->skipped;
	out->p50_us = store__series_pct(&sum->run, 50);
	out->p95_us = store__series_pct(&sum->run, 95);
	out->p99_us = store__series_pct(&sum->run, 99);
	out->max_us = sum->run.count > 0 ? sum->run.max_us : -1;
	if (sum->nsteps == 0)
		return 0;
	if ((v = calloc(sum->nsteps, sizeof(*v))) == NULL ||
	    (out->steps = calloc(sum->nsteps, sizeof(*out->steps))) == NULL) {
		rc = store__sq_oom(err);
		goto out;
	}
	for (size_t i = 0; i < sum->nsteps && rc == 0; i++)
		rc = report_step(c, &sum->steps[i], &v[i], err);
	if (rc == 0)
		qsort(v, sum->nsteps, sizeof(*v), cmp_steps);
	for (size_t i = 0; i < sum->nsteps; i++)
		out->steps[i] = v[i].step;
	out->nsteps = sum->nsteps;
out:
	free(v);
	return rc;
}

/*
 * One read transaction, so that the retention mark, the rollups and the raw
 * runs are one snapshot: retention commits a rollup with the mark that
 * moves the raw part's start past its hour, and deletes the hour's runs
 * after, so each run is counted once whenever the report runs. Raw runs of
 * rolled-up hours still waiting for deletion (or that came in late, see
 * sqlite_retention.c) are not read.
 *
 * The rollups serve the hours starting in [since_ms, until_ms) before the
 * mark, whole: a range that starts or ends inside a rolled-up hour is
 * widened or narrowed to its hours' starts there.
 */
int store__sq_report(struct store__conn *conn, const char *probe, int64_t since_ms,
		     int64_t until_ms, struct store_report *out, char **err)
{
	struct store__sqlite_conn *c = store__sq_conn(conn);
	struct store__summary sum = { 0 };
	struct store__sq_mark mark;
	int64_t probe_id = 0, raw_from = since_ms;
	int rc = 0;

	out->p50_us = out->p95_us = out->p99_us = out->max_us = -1;
	out->mttd_ms = out->mttr_ms = -1;
	if ((rc = store__sq_read_begin(c, probe, &probe_id, err)) < 0 || probe_id == 0)
		goto out;
	if ((rc = store__sq_mark_get(c, &mark, err)) < 0)
		goto out;
	if (since_ms < mark.rolled_ms) {
		rc = store__sq_rollups(c, probe_id, since_ms,
				       until_ms < mark.rolled_ms ? until_ms : mark.rolled_ms, true,
				       &sum, &out->approx, err);
		raw_from = mark.rolled_ms;
	}
	if (rc == 0 && raw_from < until_ms)
		rc = store__sq_scan(c, probe_id, raw_from, until_ms, &sum, NULL, err);
	if (rc == 0)
		rc = report_incidents(c, probe_id, since_ms, until_ms, out, err);
	if (rc == 0)
		rc = report_fill(c, &sum, out, err);
out:
	store__sq_read_end(c);
	store__summary_free(&sum);
	if (rc < 0)
		store_report_clear(out);
	return rc;
}
