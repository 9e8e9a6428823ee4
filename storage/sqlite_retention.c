/* sqlite_retention.c - the SQLite backend's retention: old hours of runs rolled up into hourly rows, then deleted, in short transactions. */
#include "storage/sqlite_int.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#define HOUR_MS (60 * 60 * 1000LL)

/*
 * How a pass goes, one transaction per step, each with the store's lock
 * held and released after, so the writer and readers go on in between:
 *
 * 1. DELETE: when the mark says an hour's runs are being deleted, delete up
 *    to a batch of them; the last batch clears that part of the mark.
 * 2. ROLLUP: find the oldest raw run (one runs_by_probe lookup per probe).
 *    If its hour H ended raw_ms before now, roll up H for every probe and,
 *    in the same transaction, set the mark: rolled up to H + 1 h, deleting
 *    H up to the largest run id counted. Then back to 1. A crash leaves
 *    either no rollup or a rollup with its mark, and 1 resumes deleting.
 * 3. HOURLY: delete rollups older than hourly_ms, a batch at a time.
 * 4. ANNOT: delete annotations older than hourly_ms (few; one statement).
 *
 * Deleting takes only runs with ids below the largest counted, and that
 * run last, with the mark cleared in the same transaction: a run written
 * after the rollup has a larger id (SQLite gives max(rowid) + 1, and the
 * largest counted row stays until the end), so it is never deleted uncounted.
 *
 * Late runs: a run written for an hour already rolled up (a clock set
 * back, results held that long) is left alone while that hour's deletion
 * goes on, and reports do not count it yet (their raw part starts at the
 * mark). It is then the oldest raw run, so step 2 rolls its hour up again:
 * the hour's rollup rows are read, the late runs added, the rows rewritten,
 * and the late runs deleted as in 1. A pass rolls up hours in increasing
 * order, each once (p->hour_ms: the last one, 0 before the first), looking
 * for the oldest run only after it: runs coming in late during a pass wait
 * for the next one, and a pass ends even if they keep coming.
 */
enum { PH_DELETE, PH_ROLLUP, PH_HOURLY, PH_ANNOT, PH_DONE };

const char *const store__sqlite_retention_sql[STORE__SQT_MAX] = {
	/* A lookup per probe in its runs_by_probe range. */
	[STORE__SQT_OLDEST] =
		"SELECT min((SELECT min(started_ms) FROM runs WHERE probe_id = p.id"
		" AND started_ms >= ?1)) FROM probes p",
	[STORE__SQT_PROBES] = "SELECT id FROM probes WHERE id >= ?1 ORDER BY id",
	[STORE__SQT_HOURLY_PUT] =
		"INSERT OR REPLACE INTO hourly (probe_id, hour_ms, step, idx, runs, ok, skipped, count,"
		" sum_us, max_us, hist) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[STORE__SQT_MARK] =
		"INSERT OR REPLACE INTO retention (id, rolled_ms, del_hour_ms, del_max_id)"
		" VALUES (1, ?1, ?2, ?3)",
	/* runs_by_probe alone answers (it carries the rowid). */
	[STORE__SQT_DEL_IDS] =
		"SELECT id FROM runs WHERE probe_id = ?1 AND started_ms >= ?2 AND started_ms < ?3"
		" AND id < ?4 LIMIT ?5",
	/* Steps are deleted by hand: ON DELETE CASCADE only acts while the
	 * connection has foreign keys on, which is a per-connection setting. */
	[STORE__SQT_DEL_STEPS] = "DELETE FROM steps WHERE run_id = ?1",
	[STORE__SQT_DEL_RUN] = "DELETE FROM runs WHERE id = ?1",
	[STORE__SQT_PRUNE_HOURLY] =
		"DELETE FROM hourly WHERE (probe_id, hour_ms, step) IN (SELECT probe_id, hour_ms, step"
		" FROM hourly WHERE probe_id = ?1 AND hour_ms < ?2 LIMIT ?3)",
};

/* Sets the mark: rolled up to rolled_ms, and deleting del_hour_ms up to del_max_id (-1: not deleting). */
static int mark_set(struct store__sqlite_conn *c, int64_t rolled_ms, int64_t del_hour_ms,
		    int64_t del_max_id, char **err)
{
	sqlite3_stmt *st = c->stt[STORE__SQT_MARK];
	int src = SQLITE_OK;

	store__sq_bind_int(st, 1, rolled_ms, &src);
	if (src == SQLITE_OK)
		src = del_hour_ms < 0 ? sqlite3_bind_null(st, 2) : sqlite3_bind_int64(st, 2, del_hour_ms);
	if (src == SQLITE_OK)
		src = del_hour_ms < 0 ? sqlite3_bind_null(st, 3) : sqlite3_bind_int64(st, 3, del_max_id);
	return store__sq_exec(c, st, src, err);
}

/* Deletes run id and its steps; *n counts the runs deleted. */
static int delete_run(struct store__sqlite_conn *c, int64_t id, int64_t *n, char **err)
{
	int rc = 0, src = SQLITE_OK;

	store__sq_bind_int(c->stt[STORE__SQT_DEL_STEPS], 1, id, &src);
	if ((rc = store__sq_exec(c, c->stt[STORE__SQT_DEL_STEPS], src, err)) < 0)
		return rc;
	store__sq_bind_int(c->stt[STORE__SQT_DEL_RUN], 1, id, &src);
	if ((rc = store__sq_exec(c, c->stt[STORE__SQT_DEL_RUN], src, err)) == 0)
		*n += sqlite3_changes(c->db);
	return rc;
}

/*
 * Appends to ids (room for batch) the ids of probe_id's runs still to
 * delete, until *n reaches batch. Returns 0 or a negative error.
 */
static int collect_ids(struct store__sqlite_conn *c, int64_t probe_id,
		       const struct store__sq_mark *m, int64_t *ids, int batch, int *n, char **err)
{
	sqlite3_stmt *st = c->stt[STORE__SQT_DEL_IDS];
	int rc = 0, src = SQLITE_OK;

	store__sq_bind_int(st, 1, probe_id, &src);
	store__sq_bind_int(st, 2, m->del_hour_ms, &src);
	store__sq_bind_int(st, 3, m->del_hour_ms + HOUR_MS, &src);
	store__sq_bind_int(st, 4, m->del_max_id, &src);
	store__sq_bind_int(st, 5, batch - *n, &src);
	if (src != SQLITE_OK)
		return store__sq_fail(c, src, err);
	while (*n < batch && (rc = store__sq_next(c, st, err)) > 0)
		ids[(*n)++] = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc < 0 ? rc : 0;
}

/*
 * Phase 1: a batch of the rolled-up hour's runs, gathered probe by probe
 * from p->cursor on (probes before it have none left: a run written since
 * has a larger id). Returns 1 (done some), 0 when no hour is being deleted.
 */
static int step_delete(struct store__sqlite_conn *c, struct store__retention_pass *p, char **err)
{
	sqlite3_stmt *st = c->stt[STORE__SQT_PROBES];
	struct store__sq_mark m;
	int64_t *ids = NULL;
	int n = 0, rc = 0, src = SQLITE_OK;

	if ((rc = store__sq_mark_get(c, &m, err)) < 0 || m.del_hour_ms < 0)
		return rc;
	/* The cursor holds for the rollup it was set in, known by its hour
	 * and largest id: if another process finished that one and is
	 * deleting another (a later hour, or the same one rolled up again
	 * for late runs, which may be in probes before the cursor), start over. */
	if (m.del_hour_ms != p->cursor_ms || m.del_max_id != p->cursor_id) {
		p->cursor = 0;
		p->cursor_ms = m.del_hour_ms;
		p->cursor_id = m.del_max_id;
	}
	if ((ids = malloc((size_t)p->r.batch * sizeof(*ids))) == NULL)
		return store__sq_oom(err);
	store__sq_bind_int(st, 1, p->cursor, &src);
	if (src != SQLITE_OK)
		rc = store__sq_fail(c, src, err);
	while (rc == 0 && n < p->r.batch && (rc = store__sq_next(c, st, err)) > 0) {
		p->cursor = sqlite3_column_int64(st, 0);
		rc = collect_ids(c, p->cursor, &m, ids, p->r.batch, &n, err);
	}
	sqlite3_reset(st);
	for (int i = 0; rc == 0 && i < n; i++)
		rc = delete_run(c, ids[i], &p->st.runs_deleted, err);
	/* Every probe gave all it had: the hour is done but for its largest run. */
	if (rc == 0 && n < p->r.batch) {
		if ((rc = delete_run(c, m.del_max_id, &p->st.runs_deleted, err)) == 0)
			rc = mark_set(c, m.rolled_ms, -1, 0, err);
		p->phase = PH_ROLLUP;
		p->cursor = 0;
	}
	free(ids);
	return rc < 0 ? rc : 1;
}

/* Writes series s of probe_id's hour as one hourly row (step s->key). */
static int put_series(struct store__sqlite_conn *c, int64_t probe_id, int64_t hour_ms,
		      const struct store__series *s, const struct store__summary *sum, char **err)
{
	sqlite3_stmt *st = c->stt[STORE__SQT_HOURLY_PUT];
	unsigned char *blob = NULL;
	size_t len = 0;
	int rc = 0, src = SQLITE_OK;

	if (store__series_blob(s, &blob, &len) < 0)
		return store__sq_oom(err);
	store__sq_bind_int(st, 1, probe_id, &src);
	store__sq_bind_int(st, 2, hour_ms, &src);
	store__sq_bind_int(st, 3, s->key, &src);
	store__sq_bind_int(st, 4, s->idx, &src);
	store__sq_bind_int(st, 5, s->key == 0 ? sum->runs : 0, &src);
	store__sq_bind_int(st, 6, s->key == 0 ? sum->ok : 0, &src);
	store__sq_bind_int(st, 7, s->key == 0 ? sum->skipped : 0, &src);
	store__sq_bind_int(st, 8, s->count, &src);
	store__sq_bind_int(st, 9, s->sum_us, &src);
	store__sq_bind_int(st, 10, s->max_us, &src);
	if (src == SQLITE_OK)
		src = sqlite3_bind_blob(st, 11, blob, (int)len, SQLITE_STATIC);
	rc = store__sq_exec(c, st, src, err);
	free(blob);
	return rc;
}

/*
 * Rolls up hour_ms of one probe: its rollup rows so far (there are some
 * only when late runs came in) plus its raw runs, rewritten whole.
 * *max_id is raised to the largest run id counted; *rolled counts the
 * probe-hours written.
 */
static int rollup_probe(struct store__sqlite_conn *c, int64_t probe_id, int64_t hour_ms,
			int64_t *max_id, int64_t *rolled, char **err)
{
	struct store__summary sum = { .hist = true };
	int64_t before = 0;
	int rc = 0;

	if (store__series_to_hist(&sum.run) < 0)
		return store__sq_oom(err);
	if ((rc = store__sq_rollups(c, probe_id, hour_ms, hour_ms + 1, true, &sum, NULL, err)) < 0)
		goto out;
	before = sum.runs + sum.skipped;
	if ((rc = store__sq_scan(c, probe_id, hour_ms, hour_ms + HOUR_MS, &sum, max_id, err)) < 0 ||
	    sum.runs + sum.skipped == before)
		goto out;
	(*rolled)++;
	if ((rc = put_series(c, probe_id, hour_ms, &sum.run, &sum, err)) < 0)
		goto out;
	for (size_t i = 0; i < sum.nsteps && rc == 0; i++)
		rc = put_series(c, probe_id, hour_ms, &sum.steps[i], &sum, err);
out:
	store__summary_free(&sum);
	return rc;
}

/*
 * Phase 2: rolls up the hour of the oldest raw run, for every probe, and
 * marks it. Returns 1 (rolled, go delete), 0 when no hour is due.
 */
static int step_rollup(struct store__sqlite_conn *c, struct store__retention_pass *p, char **err)
{
	sqlite3_stmt *st = c->stt[STORE__SQT_OLDEST];
	struct store__sq_mark m;
	int64_t hour = 0, max_id = 0;
	int rc = 0, src = SQLITE_OK;

	/* After the first rollup of a pass, only later hours are due in it. */
	store__sq_bind_int(st, 1, p->hour_ms != 0 ? p->hour_ms + HOUR_MS : INT64_MIN, &src);
	if (src != SQLITE_OK)
		return store__sq_fail(c, src, err);
	if ((rc = store__sq_next(c, st, err)) <= 0)
		return rc;
	if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
		sqlite3_reset(st);
		return 0;
	}
	hour = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	hour -= ((hour % HOUR_MS) + HOUR_MS) % HOUR_MS;
	if (hour + HOUR_MS > p->now_ms - p->r.raw_ms)
		return 0;
	if ((rc = store__sq_mark_get(c, &m, err)) < 0)
		return rc;
	if (m.del_hour_ms >= 0) {
		/* Another process rolled up meanwhile and is deleting: help it. */
		p->phase = PH_DELETE;
		return step_delete(c, p, err);
	}
	st = c->stt[STORE__SQT_PROBES];
	store__sq_bind_int(st, 1, 0, &src);
	if (src != SQLITE_OK)
		return store__sq_fail(c, src, err);
	while ((rc = store__sq_next(c, st, err)) > 0) {
		if ((rc = rollup_probe(c, sqlite3_column_int64(st, 0), hour, &max_id,
				       &p->st.hours_rolled, err)) < 0) {
			sqlite3_reset(st);
			return rc;
		}
	}
	if (rc == 0)
		rc = mark_set(c, m.rolled_ms > hour + HOUR_MS ? m.rolled_ms : hour + HOUR_MS, hour,
			      max_id, err);
	p->phase = PH_DELETE;
	p->cursor = 0;
	p->hour_ms = hour;
	return rc < 0 ? rc : 1;
}

/*
 * Phase 3: deletes up to a batch of rollups older than hourly_ms, probe by
 * probe from p->cursor on. Returns 1 when it deleted some, 0 when none
 * was left.
 */
static int step_hourly(struct store__sqlite_conn *c, struct store__retention_pass *p, char **err)
{
	sqlite3_stmt *st = c->stt[STORE__SQT_PROBES], *del = c->stt[STORE__SQT_PRUNE_HOURLY];
	int64_t n = 0;
	int rc = 0, src = SQLITE_OK;

	store__sq_bind_int(st, 1, p->cursor, &src);
	if (src != SQLITE_OK)
		return store__sq_fail(c, src, err);
	while (n < p->r.batch && (rc = store__sq_next(c, st, err)) > 0) {
		p->cursor = sqlite3_column_int64(st, 0);
		store__sq_bind_int(del, 1, p->cursor, &src);
		store__sq_bind_int(del, 2, p->now_ms - p->r.hourly_ms, &src);
		store__sq_bind_int(del, 3, p->r.batch - n, &src);
		if ((rc = store__sq_exec(c, del, src, err)) < 0)
			break;
		n += sqlite3_changes(c->db);
	}
	sqlite3_reset(st);
	p->st.hourly_deleted += n;
	if (rc < 0)
		return rc;
	if (n > 0 && n < p->r.batch) {
		/* Every probe is done: on to the next phase, after committing these. */
		p->phase = PH_ANNOT;
		p->cursor = 0;
	}
	return n > 0;
}

/* Phase 4: annotations go with the rollups they would be shown against. */
static int step_annot(struct store__sqlite_conn *c, struct store__retention_pass *p, char **err)
{
	int64_t n = 0;
	int rc = store__sq_annot_prune(c, p->now_ms - p->r.hourly_ms, &n, err);

	p->phase = PH_DONE;
	return rc < 0 ? rc : 1;
}

/*
 * One step: a transaction in which the pass's current phase does a bit of
 * work, moving on through phases that have none. Returns 1 while the pass
 * has more to do, 0 when it is complete, or a negative error (rolled back,
 * and p as it was, its figures included).
 */
int store__sq_retention_step(struct store__conn *conn, struct store__retention_pass *p,
			     char **err)
{
	static int (*const phases[])(struct store__sqlite_conn *, struct store__retention_pass *,
				     char **) = {
		[PH_DELETE] = step_delete,
		[PH_ROLLUP] = step_rollup,
		[PH_HOURLY] = step_hourly,
		[PH_ANNOT] = step_annot,
	};
	struct store__sqlite_conn *c = store__sq_conn(conn);
	struct store__retention_pass before = *p;
	int rc = 0, src = SQLITE_OK;

	if (c->readonly)
		return -EROFS;
	if ((src = store__sq_run(c->st[STORE__SQ_BEGIN_WRITE])) != SQLITE_OK)
		return store__sq_fail(c, src, err);
	while (p->phase < PH_DONE && (rc = phases[p->phase](c, p, err)) == 0) {
		p->phase++;
		p->cursor = 0;
	}
	if (rc >= 0 && (src = store__sq_run(c->st[STORE__SQ_COMMIT])) != SQLITE_OK)
		rc = store__sq_fail(c, src, err);
	if (rc < 0) {
		if (!sqlite3_get_autocommit(c->db))
			store__sq_run(c->st[STORE__SQ_ROLLBACK]);
		*p = before;
	}
	return rc < 0 ? rc : p->phase < PH_DONE;
}
