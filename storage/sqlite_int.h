/* sqlite_int.h - what only the SQLite backend's files share: its statements, schema version and error mapping. */
#ifndef CANARY_STORAGE_SQLITE_INT_H
#define CANARY_STORAGE_SQLITE_INT_H

#include "storage/storage_int.h"

#include <sqlite3.h>

/* The schema version this code writes (PRAGMA user_version). */
#define STORE__SQLITE_SCHEMA 1

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

#endif
