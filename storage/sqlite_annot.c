/* sqlite_annot.c - the SQLite backend's annotations: markers written directly by the CLI, listed by time, pruned with the rollups. */
#include "storage/sqlite_int.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

const char *const store__sqlite_annot_sql[STORE__SQN_MAX] = {
	[STORE__SQN_ADD] =
		"INSERT INTO annotations (at_ms, probe, tag, text, created_ms)"
		" VALUES (?1, ?2, ?3, ?4, ?5)",
	[STORE__SQN_LIST] =
		"SELECT id, at_ms, probe, tag, text FROM annotations"
		" WHERE at_ms >= ?1 AND at_ms < ?2 ORDER BY at_ms, id",
	[STORE__SQN_PRUNE] = "DELETE FROM annotations WHERE at_ms < ?1",
};

/*
 * One INSERT in autocommit mode, like a maintenance window: the CLI holds
 * the write lock the daemon's writer waits on for microseconds.
 */
int store__sq_annotate(struct store__conn *conn, const struct store_annotation *a, int64_t *id,
		       char **err)
{
	struct store__sqlite_conn *c = store__sq_conn(conn);
	sqlite3_stmt *st = c->stn[STORE__SQN_ADD];
	int64_t now = probe_now_ms();
	int rc = 0, src = SQLITE_OK;

	if (c->readonly)
		return -EROFS;
	store__sq_bind_int(st, 1, a->at_ms != 0 ? a->at_ms : now, &src);
	store__sq_bind_text(st, 2, a->probe, &src);
	store__sq_bind_text(st, 3, a->tag, &src);
	store__sq_bind_text(st, 4, a->text, &src);
	store__sq_bind_int(st, 5, now, &src);
	if ((rc = store__sq_exec(c, st, src, err)) == 0)
		*id = sqlite3_last_insert_rowid(c->db);
	return rc;
}

/* Reads the row st is on into a. Returns 0 or -ENOMEM (a then cleared). */
static int annot_row(sqlite3_stmt *st, struct store_annotation *a)
{
	a->id = sqlite3_column_int64(st, 0);
	a->at_ms = sqlite3_column_int64(st, 1);
	if (store__sq_column_dup(st, 2, &a->probe) < 0 || store__sq_column_dup(st, 3, &a->tag) < 0 ||
	    store__sq_column_dup(st, 4, &a->text) < 0) {
		store_annotation_clear(a);
		return -ENOMEM;
	}
	return 0;
}

/* One statement, one snapshot, through annotations_by_at. */
int store__sq_annotations(struct store__conn *conn, int64_t from_ms, int64_t to_ms,
			  struct store_annotation **out, size_t *n, char **err)
{
	struct store__sqlite_conn *c = store__sq_conn(conn);
	sqlite3_stmt *st = c->stn[STORE__SQN_LIST];
	struct store_annotation *nv = NULL;
	size_t cap = 0;
	int rc = 0, src = SQLITE_OK;

	store__sq_bind_int(st, 1, from_ms, &src);
	/* Only 0 means no bound: a negative to_ms is a bound like any other. */
	store__sq_bind_int(st, 2, to_ms != 0 ? to_ms : INT64_MAX, &src);
	if (src != SQLITE_OK)
		return store__sq_fail(c, src, err);
	while ((rc = store__sq_next(c, st, err)) > 0) {
		if ((nv = store__grow(*out, sizeof(*nv), *n, &cap)) == NULL ||
		    annot_row(st, &nv[*n]) < 0) {
			if (nv != NULL)
				*out = nv;
			rc = store__sq_oom(err);
			sqlite3_reset(st);
			break;
		}
		*out = nv;
		(*n)++;
	}
	if (rc < 0) {
		store_annotations_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

int store__sq_annot_prune(struct store__sqlite_conn *c, int64_t before_ms, int64_t *n, char **err)
{
	sqlite3_stmt *st = c->stn[STORE__SQN_PRUNE];
	int rc = 0, src = SQLITE_OK;

	store__sq_bind_int(st, 1, before_ms, &src);
	if ((rc = store__sq_exec(c, st, src, err)) == 0)
		*n = sqlite3_changes(c->db);
	return rc;
}
