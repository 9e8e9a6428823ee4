/* sqlite_int.h - what only the SQLite backend's files share: the connection, its statements, schema version and error mapping. */
#ifndef CANARY_STORAGE_SQLITE_INT_H
#define CANARY_STORAGE_SQLITE_INT_H

#include "storage/storage_int.h"

#include <sqlite3.h>

/* The schema version this code writes (PRAGMA user_version). */
#define STORE__SQLITE_SCHEMA 3

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

/* The status and report readers' statements (sqlite_report.c); retention scans with SCAN too. */
enum store__sqr {
	STORE__SQR_ROLLED,        /* the retention mark */
	STORE__SQR_STREAK,        /* the latest run with another result, before a time */
	STORE__SQR_FIRST_AFTER,   /* the first run after one */
	STORE__SQR_SCAN,          /* runs and their steps over a range */
	STORE__SQR_HOURLY,        /* rollups over a range of hours */
	STORE__SQR_HOURLY_RUNS,   /* the same, the runs' rows only */
	STORE__SQR_INCIDENTS,
	STORE__SQR_STEP_NAME,
	STORE__SQR_MAX
};

extern const char *const store__sqlite_report_sql[STORE__SQR_MAX];

/* Retention's statements (sqlite_retention.c). */
enum store__sqt {
	STORE__SQT_OLDEST,        /* the oldest raw run of any probe */
	STORE__SQT_PROBES,        /* probe ids from one on */
	STORE__SQT_HOURLY_PUT,
	STORE__SQT_MARK,          /* sets the retention mark */
	STORE__SQT_DEL_IDS,       /* rolled-up runs of a probe still to delete */
	STORE__SQT_DEL_STEPS,
	STORE__SQT_DEL_RUN,
	STORE__SQT_PRUNE_HOURLY,
	STORE__SQT_MAX
};

extern const char *const store__sqlite_retention_sql[STORE__SQT_MAX];

/* Annotations' statements (sqlite_annot.c). */
enum store__sqn {
	STORE__SQN_ADD,
	STORE__SQN_LIST,
	STORE__SQN_PRUNE,
	STORE__SQN_MAX
};

extern const char *const store__sqlite_annot_sql[STORE__SQN_MAX];

/* A connection: the base struct first, then what only SQLite needs. */
struct store__sqlite_conn {
	struct store__conn super;
	sqlite3 *db;
	char *path;                     /* owned, for messages */
	bool readonly;
	sqlite3_stmt *st[STORE__SQ_MAX];
	sqlite3_stmt *sta[STORE__SQA_MAX];
	sqlite3_stmt *stm[STORE__SQM_MAX];
	sqlite3_stmt *str[STORE__SQR_MAX];
	sqlite3_stmt *stt[STORE__SQT_MAX];
	sqlite3_stmt *stn[STORE__SQN_MAX];
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

/* Binds ?1, ?2 and ?3 of st to integers (a probe and a range, mostly). Returns 0 or a negative error. */
int store__sq_bind3(struct store__sqlite_conn *c, sqlite3_stmt *st, int64_t v1, int64_t v2,
		    int64_t v3, char **err);

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

/* ------------------------------------------------------------------ status, reports and retention */

/* The backend methods of the same names in storage_int.h (sqlite_status.c, sqlite_report.c). */
int store__sq_probe_status(struct store__conn *conn, const char *probe, int64_t now_ms,
			   struct store_status *out, char **err);
int store__sq_report(struct store__conn *conn, const char *probe, int64_t since_ms,
		     int64_t until_ms, struct store_report *out, char **err);

/*
 * Opens a read transaction and looks probe up (never adding it): *probe_id
 * is 0 when unknown. Returns 0 or a negative error. store__sq_read_end ends
 * the transaction, whatever happened (sqlite_report.c).
 */
int store__sq_read_begin(struct store__sqlite_conn *c, const char *probe, int64_t *probe_id,
			 char **err);
void store__sq_read_end(struct store__sqlite_conn *c);

/* The retention mark, read inside the caller's transaction. */
struct store__sq_mark {
	int64_t rolled_ms;        /* every hour before it is rolled up (0: none is) */
	int64_t del_hour_ms;      /* an hour rolled up whose runs are being deleted, or -1 */
	int64_t del_max_id;       /* the largest run id that rollup counted */
};

/* Reads the mark into *m. Returns 0 or a negative error. */
int store__sq_mark_get(struct store__sqlite_conn *c, struct store__sq_mark *m, char **err);

/*
 * Adds the raw runs of probe_id started in [from_ms, to_ms), and the steps
 * of those that ran, to sum; *max_id (may be NULL) is raised to the largest
 * run id seen. Returns 0 or a negative error.
 */
int store__sq_scan(struct store__sqlite_conn *c, int64_t probe_id, int64_t from_ms,
		   int64_t to_ms, struct store__summary *sum, int64_t *max_id, char **err);

/*
 * Merges the hourly rollups of probe_id for the hours starting in
 * [from_ms, to_ms) into sum (the runs' rows only unless steps). *found (may
 * be NULL) is set when there was one. Returns 0 or a negative error.
 */
int store__sq_rollups(struct store__sqlite_conn *c, int64_t probe_id, int64_t from_ms,
		      int64_t to_ms, bool steps, struct store__summary *sum, bool *found,
		      char **err);

/* sqlite_retention.c */
int store__sq_retention_step(struct store__conn *conn, struct store__retention_pass *p,
			     char **err);

/* sqlite_annot.c */
int store__sq_annotate(struct store__conn *conn, const struct store_annotation *a, int64_t *id,
		       char **err);
int store__sq_annotations(struct store__conn *conn, int64_t from_ms, int64_t to_ms,
			  struct store_annotation **out, size_t *n, char **err);
/* Deletes the annotations older than before_ms, in the caller's transaction; *n gets how many. */
int store__sq_annot_prune(struct store__sqlite_conn *c, int64_t before_ms, int64_t *n, char **err);

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
