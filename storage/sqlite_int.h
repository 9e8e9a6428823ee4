/* sqlite_int.h - what only the SQLite backend's files share: the connection, its statements, schema version and error mapping. */
#ifndef CANARY_STORAGE_SQLITE_INT_H
#define CANARY_STORAGE_SQLITE_INT_H

#include "storage/storage_int.h"

#include <sqlite3.h>

/* The schema version this code writes (PRAGMA user_version). */
#define STORE__SQLITE_SCHEMA 2

/*
 * How long a statement waits for another connection's lock before failing
 * with SQLITE_BUSY. Short, because the writer has its own backoff and keeps
 * results in memory meanwhile; a batch rarely holds the lock for a few ms.
 */
#define STORE__SQLITE_BUSY_MS 1000

/* The statements a connection prepares once at open and reuses. */
enum store__sq {
	STORE__SQ_BEGIN_WRITE,
	STORE__SQ_BEGIN_READ,
	STORE__SQ_COMMIT,
	STORE__SQ_ROLLBACK,
	STORE__SQ_PROBE_GET,
	STORE__SQ_PROBE_ADD,
	STORE__SQ_NAME_GET,
	STORE__SQ_NAME_ADD,
	STORE__SQ_RUN_ADD,
	STORE__SQ_STEP_ADD,
	STORE__SQ_LAST_RUN,
	STORE__SQ_COUNT_RUNS,
	STORE__SQ_MAX
};

/* Their text, by enum store__sq (tests check the query plans of the readers). */
extern const char *const store__sqlite_sql[STORE__SQ_MAX];

/* Alerting's statements (sqlite_alert.c), also prepared once at open. */
enum store__sqa {
	STORE__SQA_INC_UPSERT,
	STORE__SQA_EVENT_ADD,
	STORE__SQA_OUTBOX_ADD,
	STORE__SQA_DLV_SET,
	STORE__SQA_MAX_IDS,
	STORE__SQA_LIVE_INCIDENTS,
	STORE__SQA_PENDING,
	STORE__SQA_INC_GET,
	STORE__SQA_INC_EVENTS,
	STORE__SQA_EVENT_DLV,
	STORE__SQA_MAX
};

extern const char *const store__sqlite_alert_sql[STORE__SQA_MAX];

/* Maintenance windows' statements (sqlite_maint.c). */
enum store__sqm {
	STORE__SQM_ADD,
	STORE__SQM_END,
	STORE__SQM_GET,
	STORE__SQM_ALL,
	STORE__SQM_ACTIVE,
	STORE__SQM_MAX
};

extern const char *const store__sqlite_maint_sql[STORE__SQM_MAX];

/* A connection: the base struct first, then what only SQLite needs. */
struct store__sqlite_conn {
	struct store__conn super;
	sqlite3 *db;
	char *path;                     /* owned, for messages */
	bool readonly;
	sqlite3_stmt *st[STORE__SQ_MAX];
	sqlite3_stmt *sta[STORE__SQA_MAX];
	sqlite3_stmt *stm[STORE__SQM_MAX];
	struct store__names probes;     /* probes.name -> probes.id */
	struct store__names steps;      /* step_names.name -> step_names.id */
};

/* ------------------------------------------------------------------ helpers (sqlite.c) */

static inline struct store__sqlite_conn *store__sq_conn(struct store__conn *conn)
{
	return STORE__CONTAINER_OF(conn, struct store__sqlite_conn, super);
}

/* Sets "out of memory" in *err (unless a message is there) and returns -ENOMEM. */
int store__sq_oom(char **err);

/* Keeps sqlite's message for rc (the first failure wins) and returns its errno value. */
int store__sq_fail(struct store__sqlite_conn *c, int rc, char **err);

/* Steps st to its end and resets it. Returns a sqlite rc (SQLITE_DONE is OK). */
int store__sq_run(sqlite3_stmt *st);

/*
 * Steps st: 1 for a row, 0 at its end, or a negative error with sqlite's
 * message. At the end or on error st is reset; a caller leaving early resets it.
 */
int store__sq_next(struct store__sqlite_conn *c, sqlite3_stmt *st, char **err);

/* Runs st (bound, src being the binders' result) to its end. Returns 0 or a negative error. */
int store__sq_exec(struct store__sqlite_conn *c, sqlite3_stmt *st, int src, char **err);

/* Binders that do nothing once one failed, so a row is bound with one check. */
static inline void store__sq_bind_int(sqlite3_stmt *st, int i, int64_t v, int *rc)
{
	if (*rc == SQLITE_OK)
		*rc = sqlite3_bind_int64(st, i, v);
}

/* Binds v, or NULL when v is NULL. v must outlive the step (SQLITE_STATIC). */
static inline void store__sq_bind_text(sqlite3_stmt *st, int i, const char *v, int *rc)
{
	if (*rc == SQLITE_OK)
		*rc = sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

/*
 * Looks name up in the cache, then in the table (get), and when add is not
 * STORE__SQ_MAX inserts it. Stores the id in *id, 0 when unknown and not added.
 * Ids inserted here are tentative until the transaction ends.
 */
int store__sq_intern(struct store__sqlite_conn *c, struct store__names *names,
		     enum store__sq get, enum store__sq add, const char *name, int64_t *id,
		     char **err);

/* The id of probe (NULL as ""), through store__sq_intern, inserted when new. */
int store__sq_probe_id(struct store__sqlite_conn *c, const char *probe, int64_t *id, char **err);

/* Copies column i (text or NULL) into *out. Returns 0 or -ENOMEM. */
int store__sq_column_dup(sqlite3_stmt *st, int i, char **out);

/* ------------------------------------------------------------------ alerting (sqlite_alert.c) */

/*
 * Writes op inside the batch's open transaction: incidents upserted, events
 * and their outbox rows inserted, deliveries updated. Returns 0, or a
 * negative error and a new message in *err (the caller rolls back).
 */
int store__sq_write_alert(struct store__sqlite_conn *c, const struct store_alert_op *op,
			  char **err);

/* The backend methods of the same names in storage_int.h. */
int store__sq_alert_load(struct store__conn *conn, struct store_alert_state *out, char **err);
int store__sq_incidents(struct store__conn *conn, const struct store_incident_filter *f,
			struct store_incident **out, size_t *n, char **err);
int store__sq_incident_timeline(struct store__conn *conn, int64_t id, struct store_timeline *out,
				char **err);
/* sqlite_maint.c */
int store__sq_maint_list(struct store__conn *conn, int64_t active_at_ms,
			 struct store_maint **out, size_t *n, char **err);
int store__sq_maint_add(struct store__conn *conn, const struct store_maint *m, int64_t *id,
			char **err);
int store__sq_maint_end(struct store__conn *conn, int64_t id, int64_t now_ms, char **err);

/*
 * Translates a sqlite return code (primary or extended) into a negative errno
 * value: BUSY/LOCKED -EBUSY, READONLY -EROFS, IOERR -EIO, FULL -ENOSPC,
 * NOMEM -ENOMEM, CANTOPEN the OS error, CORRUPT/NOTADB -EBADMSG, and so on.
 * OK, ROW and DONE give 0. db may be NULL.
 */
int store__sqlite_errno(sqlite3 *db, int rc);

/*
 * Refuses a database this code must not touch: a newer schema, another
 * application's file, or (read-only) an older schema it cannot migrate.
 * Returns 0, or a negative error and a new message naming path in *err.
 */
int store__sqlite_check_version(sqlite3 *db, const char *path, bool readonly, char **err);

/*
 * Brings the schema forward to STORE__SQLITE_SCHEMA, one transaction per
 * step. Returns 0, or a negative error and a new message in *err; the steps
 * already committed stay.
 */
int store__sqlite_migrate(sqlite3 *db, const char *path, char **err);

/* The SQL that migration step version runs, or NULL (tests build old databases with it). */
const char *store__sqlite_schema_sql(int version);

#endif
