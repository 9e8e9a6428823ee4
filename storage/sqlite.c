/* sqlite.c - the SQLite storage backend: connection set-up and batched writes. */
#include "storage/sqlite_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *const store__sqlite_sql[STORE__SQ_MAX] = {
	/* IMMEDIATE takes the write lock up front, waiting busy_timeout for it: a
	 * deferred transaction that read first could get SQLITE_BUSY_SNAPSHOT in
	 * WAL mode, which no wait cures. */
	[STORE__SQ_BEGIN_WRITE] = "BEGIN IMMEDIATE",
	[STORE__SQ_BEGIN_READ] = "BEGIN",
	[STORE__SQ_COMMIT] = "COMMIT",
	[STORE__SQ_ROLLBACK] = "ROLLBACK",
	[STORE__SQ_PROBE_GET] = "SELECT id FROM probes WHERE name = ?1",
	[STORE__SQ_PROBE_ADD] = "INSERT INTO probes (name) VALUES (?1)",
	[STORE__SQ_NAME_GET] = "SELECT id FROM step_names WHERE name = ?1",
	[STORE__SQ_NAME_ADD] = "INSERT INTO step_names (name) VALUES (?1)",
	[STORE__SQ_RUN_ADD] =
		"INSERT INTO runs (probe_id, started_ms, duration_us, lag_us, result, class,"
		" failed_step, error) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[STORE__SQ_STEP_ADD] =
		"INSERT INTO steps (run_id, idx, name_id, status, dns_us, connect_us, tls_us,"
		" ttfb_us, total_us, bytes, class, error)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	/* Both status readers walk runs_by_probe backwards from the end of the
	 * probe's range (id breaks ties on the rowid the index carries): the last
	 * run, then (COUNT_RUNS) every run since ?2, which sqlite_status.c
	 * counts and takes the streak and p95 from. */
	[STORE__SQ_LAST_RUN] =
		"SELECT started_ms, duration_us, result, class, error FROM runs"
		" WHERE probe_id = ?1 AND result < 2 ORDER BY started_ms DESC, id DESC LIMIT 1",
	[STORE__SQ_COUNT_RUNS] =
		"SELECT started_ms, duration_us, result FROM runs"
		" WHERE probe_id = ?1 AND started_ms >= ?2 AND result < 2"
		" ORDER BY started_ms DESC, id DESC",
};

int store__sqlite_errno(sqlite3 *db, int rc)
{
	int sys = db ? sqlite3_system_errno(db) : 0;

	switch (rc & 0xff) {
	case SQLITE_OK: case SQLITE_ROW: case SQLITE_DONE:
		return 0;
	case SQLITE_BUSY: case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_CANTOPEN:
		return sys > 0 ? -sys : -EACCES;
	case SQLITE_PERM: case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CORRUPT: case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_TOOBIG:
		return -E2BIG;
	case SQLITE_INTERRUPT:
		return -EINTR;
	case SQLITE_PROTOCOL:
		return -EPROTO;
	case SQLITE_ERROR: case SQLITE_CONSTRAINT: case SQLITE_MISMATCH: case SQLITE_RANGE:
	case SQLITE_MISUSE:
		return -EINVAL;
	default:   /* SQLITE_IOERR and anything newer */
		return -EIO;
	}
}

int store__sq_fail(struct store__sqlite_conn *c, int rc, char **err)
{
	if (*err == NULL)
		*err = store__strdupf("%s", c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
	return store__sqlite_errno(c->db, rc);
}

int store__sq_run(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

int store__sq_oom(char **err)
{
	if (*err == NULL)
		*err = store__strdupf("out of memory");
	return -ENOMEM;
}

int store__sq_next(struct store__sqlite_conn *c, sqlite3_stmt *st, char **err)
{
	int src = sqlite3_step(st), rc = 0;

	if (src == SQLITE_ROW)
		return 1;
	if (src != SQLITE_DONE)
		rc = store__sq_fail(c, src, err);
	sqlite3_reset(st);
	return rc;
}

int store__sq_exec(struct store__sqlite_conn *c, sqlite3_stmt *st, int src, char **err)
{
	if (src == SQLITE_OK)
		src = store__sq_run(st);
	return src == SQLITE_OK ? 0 : store__sq_fail(c, src, err);
}

int store__sq_intern(struct store__sqlite_conn *c, struct store__names *names,
		     enum store__sq get, enum store__sq add, const char *name, int64_t *id,
		     char **err)
{
	sqlite3_stmt *st = c->st[get];
	bool fresh = false;
	int rc = 0, src = SQLITE_OK;

	if ((*id = store__names_get(names, name)) > 0)
		goto out;
	store__sq_bind_text(st, 1, name, &src);
	if (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		src = SQLITE_OK;
	} else if (src == SQLITE_DONE) {
		src = SQLITE_OK;
	}
	sqlite3_reset(st);
	if (src == SQLITE_OK && *id == 0 && add != STORE__SQ_MAX) {
		st = c->st[add];
		store__sq_bind_text(st, 1, name, &src);
		if (src == SQLITE_OK && (src = store__sq_run(st)) == SQLITE_OK) {
			*id = sqlite3_last_insert_rowid(c->db);
			fresh = true;
		}
	}
	if (src != SQLITE_OK) {
		rc = store__sq_fail(c, src, err);
		goto out;
	}
	if (*id > 0 && store__names_put(names, name, *id, fresh) < 0) {
		rc = -ENOMEM;
		*err = store__strdupf("out of memory");
	}
out:
	return rc;
}

int store__sq_probe_id(struct store__sqlite_conn *c, const char *probe, int64_t *id, char **err)
{
	return store__sq_intern(c, &c->probes, STORE__SQ_PROBE_GET, STORE__SQ_PROBE_ADD,
				probe ? probe : "", id, err);
}

/* 0 passed, 1 failed, 2 not run: the runs.result column. */
static int result_code(enum probe_class cls)
{
	if (cls == PROBE_OK)
		return 0;
	return cls == PROBE_SKIPPED || cls == PROBE_ABORTED ? 2 : 1;
}

static int sq_insert_step(struct store__sqlite_conn *c, int64_t run_id, size_t idx,
			  const struct probe_step_result *s, char **err)
{
	sqlite3_stmt *st = c->st[STORE__SQ_STEP_ADD];
	int64_t name_id = 0;
	int rc = 0, src = SQLITE_OK;

	if ((rc = store__sq_intern(c, &c->steps, STORE__SQ_NAME_GET, STORE__SQ_NAME_ADD,
				   s->name ? s->name : "", &name_id, err)) < 0)
		return rc;
	store__sq_bind_int(st, 1, run_id, &src);
	store__sq_bind_int(st, 2, (int64_t)idx, &src);
	store__sq_bind_int(st, 3, name_id, &src);
	store__sq_bind_int(st, 4, s->status, &src);
	store__sq_bind_int(st, 5, s->dns_us, &src);
	store__sq_bind_int(st, 6, s->connect_us, &src);
	store__sq_bind_int(st, 7, s->tls_us, &src);
	store__sq_bind_int(st, 8, s->ttfb_us, &src);
	store__sq_bind_int(st, 9, s->total_us, &src);
	store__sq_bind_int(st, 10, s->bytes, &src);
	store__sq_bind_text(st, 11, s->cls == PROBE_OK ? NULL : probe_class_name(s->cls), &src);
	store__sq_bind_text(st, 12, s->error, &src);
	return store__sq_exec(c, st, src, err);
}

/*
 * Inserts one run and the steps that ran. Only the summary fields and the
 * already scrubbed error strings are stored: never the trace (method, url,
 * checks, extracted values), which may hold what a probe fetched.
 */
static int sq_insert_run(struct store__sqlite_conn *c, const struct probe_result *r, char **err)
{
	sqlite3_stmt *st = c->st[STORE__SQ_RUN_ADD];
	int64_t probe_id = 0, run_id = 0;
	int result = result_code(r->cls), rc = 0, src = SQLITE_OK;
	size_t nsteps = r->nsteps < r->cap ? r->nsteps : r->cap;

	if ((rc = store__sq_probe_id(c, r->probe, &probe_id, err)) < 0)
		goto out;
	store__sq_bind_int(st, 1, probe_id, &src);
	store__sq_bind_int(st, 2, r->started_ms, &src);
	store__sq_bind_int(st, 3, r->duration_us, &src);
	store__sq_bind_int(st, 4, r->lag_us, &src);
	store__sq_bind_int(st, 5, result, &src);
	store__sq_bind_text(st, 6, result == 0 ? NULL : probe_class_name(r->cls), &src);
	if (src == SQLITE_OK)
		src = r->failed_step >= 0 ? sqlite3_bind_int(st, 7, r->failed_step)
					  : sqlite3_bind_null(st, 7);
	store__sq_bind_text(st, 8, r->error, &src);
	if ((rc = store__sq_exec(c, st, src, err)) < 0)
		goto out;
	run_id = sqlite3_last_insert_rowid(c->db);
	for (size_t i = 0; i < nsteps; i++)
		if ((rc = sq_insert_step(c, run_id, i, &r->steps[i], err)) < 0)
			goto out;
out:
	return rc;
}

/*
 * Writes the batch in one IMMEDIATE transaction, in queue order: all or,
 * after a ROLLBACK, nothing, with the name cache rolled back too. The message
 * in *err is sqlite's own ("database is locked", "disk I/O error").
 */
static int sq_write_batch(struct store__conn *conn, const struct store__item *items, size_t n,
			  char **err)
{
	struct store__sqlite_conn *c = STORE__CONTAINER_OF(conn, struct store__sqlite_conn, super);
	int rc = 0, src = SQLITE_OK;

	if ((src = store__sq_run(c->st[STORE__SQ_BEGIN_WRITE])) != SQLITE_OK) {
		rc = store__sq_fail(c, src, err);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (items[i].kind == STORE__ITEM_ALERT)
			rc = store__sq_write_alert(c, items[i].u.alert, err);
		else
			rc = sq_insert_run(c, items[i].u.result, err);
		if (rc < 0)
			goto out;
	}
	if ((src = store__sq_run(c->st[STORE__SQ_COMMIT])) != SQLITE_OK)
		rc = store__sq_fail(c, src, err);
out:
	if (rc < 0) {
		/* A failed COMMIT (or an I/O error mid-way) may leave the
		 * transaction open; some errors roll it back themselves. */
		if (!sqlite3_get_autocommit(c->db))
			store__sq_run(c->st[STORE__SQ_ROLLBACK]);
		store__names_rollback(&c->probes);
		store__names_rollback(&c->steps);
	} else {
		store__names_commit(&c->probes);
		store__names_commit(&c->steps);
	}
	return rc;
}

int store__sq_bind3(struct store__sqlite_conn *c, sqlite3_stmt *st, int64_t v1, int64_t v2,
		    int64_t v3, char **err)
{
	int src = SQLITE_OK;

	store__sq_bind_int(st, 1, v1, &src);
	store__sq_bind_int(st, 2, v2, &src);
	store__sq_bind_int(st, 3, v3, &src);
	return src == SQLITE_OK ? 0 : store__sq_fail(c, src, err);
}

int store__sq_column_dup(sqlite3_stmt *st, int i, char **out)
{
	const unsigned char *v = sqlite3_column_text(st, i);

	*out = NULL;
	if (v == NULL)
		return 0;
	*out = strdup((const char *)v);
	return *out ? 0 : -ENOMEM;
}

/* Every statement array of a connection with its SQL, prepared at open, finalized at close. */
#define STMT_SET(sql, member, n) { sql, offsetof(struct store__sqlite_conn, member), n }

static const struct {
	const char *const *sql;
	size_t off;             /* of the sqlite3_stmt * array in the connection */
	int n;
} stmt_sets[] = {
	STMT_SET(store__sqlite_sql, st, STORE__SQ_MAX),
	STMT_SET(store__sqlite_alert_sql, sta, STORE__SQA_MAX),
	STMT_SET(store__sqlite_maint_sql, stm, STORE__SQM_MAX),
	STMT_SET(store__sqlite_report_sql, str, STORE__SQR_MAX),
	STMT_SET(store__sqlite_retention_sql, stt, STORE__SQT_MAX),
	STMT_SET(store__sqlite_annot_sql, stn, STORE__SQN_MAX),
};

#define NSETS (sizeof(stmt_sets) / sizeof(stmt_sets[0]))

static sqlite3_stmt **stmt_array(struct store__sqlite_conn *c, size_t set)
{
	return (sqlite3_stmt **)(void *)((char *)c + stmt_sets[set].off);
}

static void sq_close(struct store__conn *conn)
{
	struct store__sqlite_conn *c = NULL;

	if (conn == NULL)
		return;
	c = STORE__CONTAINER_OF(conn, struct store__sqlite_conn, super);
	for (size_t set = 0; set < NSETS; set++)
		for (int i = 0; i < stmt_sets[set].n; i++)
			sqlite3_finalize(stmt_array(c, set)[i]);
	/* The last connection to close checkpoints and removes the WAL. */
	sqlite3_close_v2(c->db);
	store__names_clear(&c->probes);
	store__names_clear(&c->steps);
	free(c->path);
	free(c);
}

/*
 * Sets up a writable connection: WAL (which must take), NORMAL sync (a crash
 * may lose the last batches, never corrupt), foreign keys, and a bound on the
 * WAL file once checkpointed. The WAL and its -shm index are kept when the
 * daemon closes (PERSIST_WAL): without them a reader that cannot write the
 * directory (the CLI as another user) cannot open a WAL database at all.
 * Returns 0, or a negative error and a new message in *err.
 */
static int sq_pragmas(struct store__sqlite_conn *c, char **err)
{
	sqlite3_stmt *st = NULL;
	int rc = 0, one = 1, src = SQLITE_OK;

	sqlite3_file_control(c->db, "main", SQLITE_FCNTL_PERSIST_WAL, &one);
	src = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);

	if (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
		const char *mode = (const char *)sqlite3_column_text(st, 0);

		src = SQLITE_OK;
		if (mode == NULL || strcmp(mode, "wal") != 0) {
			rc = -ENOTSUP;
			*err = store__strdupf("%s: cannot use write-ahead logging (journal mode %s)",
					      c->path, mode ? mode : "unknown");
			goto out;
		}
	}
	if (src == SQLITE_OK)
		src = sqlite3_exec(c->db, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
				   " PRAGMA journal_size_limit = 4194304", NULL, NULL, NULL);
	if (src != SQLITE_OK && src != SQLITE_DONE) {
		rc = store__sqlite_errno(c->db, src);
		*err = store__strdupf("%s: %s", c->path, sqlite3_errmsg(c->db));
	}
out:
	sqlite3_finalize(st);
	return rc;
}

/* Prepares the n statements of sql into st, to be reused until close. */
static int sq_prepare(struct store__sqlite_conn *c, const char *const *sql, sqlite3_stmt **st,
		      int n, char **err)
{
	int rc = 0, src = SQLITE_OK;

	for (int i = 0; i < n; i++) {
		src = sqlite3_prepare_v3(c->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st[i], NULL);
		if (src != SQLITE_OK) {
			rc = store__sqlite_errno(c->db, src);
			*err = store__strdupf("%s: cannot prepare a statement: %s", c->path,
					      sqlite3_errmsg(c->db));
			break;
		}
	}
	return rc;
}

/*
 * Opens path: read-write (creating, switching to WAL, migrating) or, with
 * STORE_READONLY, read-only (never creating: a missing file is -ENOENT).
 * Access is serialised by the store, so the connection needs no mutex of
 * its own (SQLITE_OPEN_NOMUTEX).
 */
static int sq_open(const char *path, unsigned flags, struct store__conn **out, char **err)
{
	struct store__sqlite_conn *c = NULL;
	struct stat sb;
	int rc = 0, src = SQLITE_OK, oflags = SQLITE_OPEN_NOMUTEX;

	*out = NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->path = strdup(path)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	c->super.be = &store__sqlite_backend;
	c->readonly = flags & STORE_READONLY;
	if (c->readonly && stat(path, &sb) < 0) {
		rc = -errno;
		*err = store__strdupf(rc == -ENOENT ? "%s: %s (the daemon creates it when it starts)"
					: "%s: %s", path, strerror(-rc));
		goto out;
	}
	oflags |= c->readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	if ((src = sqlite3_open_v2(path, &c->db, oflags, NULL)) != SQLITE_OK) {
		rc = store__sqlite_errno(c->db, src);
		*err = store__strdupf("%s: cannot open: %s", path,
				      c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(src));
		goto out;
	}
	sqlite3_busy_timeout(c->db, STORE__SQLITE_BUSY_MS);
	/* Checked before the pragmas: a newer or foreign file is left untouched. */
	if ((rc = store__sqlite_check_version(c->db, path, c->readonly, err)) < 0) {
		if (rc == -EROFS && c->readonly) {
			/* SQLite must create the -shm index to read a WAL database. */
			free(*err);
			*err = store__strdupf("%s: cannot read it without its -shm file, which this "
					      "user cannot create; run as the daemon's user, or start "
					      "the daemon once", path);
		}
		goto out;
	}
	if (!c->readonly && ((rc = sq_pragmas(c, err)) < 0 ||
			     (rc = store__sqlite_migrate(c->db, path, err)) < 0))
		goto out;
	for (size_t set = 0; set < NSETS; set++)
		if ((rc = sq_prepare(c, stmt_sets[set].sql, stmt_array(c, set), stmt_sets[set].n,
				     err)) < 0)
			goto out;
	*out = &c->super;
	c = NULL;
out:
	if (rc == -ENOMEM && *err == NULL)
		*err = store__strdupf("%s: out of memory", path);
	sq_close(c ? &c->super : NULL);
	return rc;
}

const struct store__backend store__sqlite_backend = {
	.version = STORE__BACKEND_VERSION,
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.write_batch = sq_write_batch,
	.probe_status = store__sq_probe_status,
	.alert_load = store__sq_alert_load,
	.incidents = store__sq_incidents,
	.incident_timeline = store__sq_incident_timeline,
	.maint_list = store__sq_maint_list,
	.maint_add = store__sq_maint_add,
	.maint_end = store__sq_maint_end,
	.report = store__sq_report,
	.annotations = store__sq_annotations,
	.annotate = store__sq_annotate,
	.retention_step = store__sq_retention_step,
};
