/* sqlite_maint.c - the SQLite backend's maintenance windows: short direct writes from the CLI, reads for the daemon and the CLI. */
#include "storage/sqlite_int.h"

#include <errno.h>
#include <stdlib.h>

#define MAINT_COLS "id, probe, tag, start_ms, end_ms, reason, created_ms"

const char *const store__sqlite_maint_sql[STORE__SQM_MAX] = {
	[STORE__SQM_ADD] =
		"INSERT INTO maintenance (probe, tag, start_ms, end_ms, reason, created_ms)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[STORE__SQM_END] = "UPDATE maintenance SET end_ms = ?2 WHERE id = ?1 AND end_ms > ?2",
	[STORE__SQM_GET] = "SELECT count(*) FROM maintenance WHERE id = ?1",
	[STORE__SQM_ALL] = "SELECT " MAINT_COLS " FROM maintenance ORDER BY id",
	[STORE__SQM_ACTIVE] =
		"SELECT " MAINT_COLS " FROM maintenance WHERE end_ms > ?1 AND start_ms <= ?1"
		" ORDER BY id",
};

/* Lists windows by id, all or (active_at_ms > 0) those active then. One statement, one snapshot. */
int store__sq_maint_list(struct store__conn *conn, int64_t active_at_ms,
			 struct store_maint **out, size_t *n, char **err)
{
	struct store__sqlite_conn *c = store__sq_conn(conn);
	sqlite3_stmt *st = c->stm[active_at_ms > 0 ? STORE__SQM_ACTIVE : STORE__SQM_ALL];
	struct store_maint *nv = NULL, *m = NULL;
	size_t cap = 0;
	int rc = 0, src = SQLITE_OK;

	if (active_at_ms > 0)
		store__sq_bind_int(st, 1, active_at_ms, &src);
	if (src != SQLITE_OK)
		return store__sq_fail(c, src, err);
	while ((rc = store__sq_next(c, st, err)) > 0) {
		if ((nv = store__grow(*out, sizeof(*nv), *n, &cap)) == NULL) {
			rc = store__sq_oom(err);
			break;
		}
		*out = nv;
		m = &nv[*n];
		m->id = sqlite3_column_int64(st, 0);
		m->start_ms = sqlite3_column_int64(st, 3);
		m->end_ms = sqlite3_column_int64(st, 4);
		m->created_ms = sqlite3_column_int64(st, 6);
		if (store__sq_column_dup(st, 1, &m->probe) < 0 ||
		    store__sq_column_dup(st, 2, &m->tag) < 0 ||
		    store__sq_column_dup(st, 5, &m->reason) < 0) {
			store_maint_clear(m);
			rc = store__sq_oom(err);
			break;
		}
		(*n)++;
	}
	sqlite3_reset(st);
	if (rc < 0) {
		store_maints_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

/*
 * One INSERT in autocommit mode: the shortest write transaction there is, so
 * that the CLI holds the lock the daemon's writer waits on for microseconds.
 * created_ms 0 means now.
 */
int store__sq_maint_add(struct store__conn *conn, const struct store_maint *m, int64_t *id,
			char **err)
{
	struct store__sqlite_conn *c = store__sq_conn(conn);
	sqlite3_stmt *st = c->stm[STORE__SQM_ADD];
	int rc = 0, src = SQLITE_OK;

	if (c->readonly)
		return -EROFS;
	store__sq_bind_text(st, 1, m->probe, &src);
	store__sq_bind_text(st, 2, m->tag, &src);
	store__sq_bind_int(st, 3, m->start_ms, &src);
	store__sq_bind_int(st, 4, m->end_ms, &src);
	store__sq_bind_text(st, 5, m->reason, &src);
	store__sq_bind_int(st, 6, m->created_ms > 0 ? m->created_ms : probe_now_ms(), &src);
	if ((rc = store__sq_exec(c, st, src, err)) == 0)
		*id = sqlite3_last_insert_rowid(c->db);
	return rc;
}

/*
 * One UPDATE in autocommit mode; when it changed nothing, the window either
 * ended already (0) or does not exist (-ENOENT). Windows are never deleted,
 * so the two statements need no transaction around them.
 */
int store__sq_maint_end(struct store__conn *conn, int64_t id, int64_t now_ms, char **err)
{
	struct store__sqlite_conn *c = store__sq_conn(conn);
	sqlite3_stmt *st = c->stm[STORE__SQM_END];
	int rc = 0, src = SQLITE_OK;

	if (c->readonly)
		return -EROFS;
	store__sq_bind_int(st, 1, id, &src);
	store__sq_bind_int(st, 2, now_ms, &src);
	if ((rc = store__sq_exec(c, st, src, err)) < 0 || sqlite3_changes(c->db) > 0)
		return rc;
	st = c->stm[STORE__SQM_GET];
	store__sq_bind_int(st, 1, id, &src);
	if (src != SQLITE_OK)
		return store__sq_fail(c, src, err);
	if ((rc = store__sq_next(c, st, err)) > 0) {
		rc = sqlite3_column_int64(st, 0) > 0 ? 0 : -ENOENT;
		sqlite3_reset(st);
	}
	if (rc == -ENOENT)
		*err = store__strdupf("no maintenance window %lld", (long long)id);
	return rc;
}
