/* sqlite_schema.c - the SQLite backend's schema versions and the migrations that bring a database forward. */
#include "storage/sqlite_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* PRAGMA application_id: "cana", so that `file` and we can tell our databases. */
#define APPLICATION_ID 0x63616e61

/*
 * Schema v1. Hot rows (runs, steps) hold integers only, names are interned in
 * probes and step_names, and steps is WITHOUT ROWID keyed by (run_id, idx):
 * together about 100 bytes per stored step, indexes included (the target is
 * at most 200). class and error are NULL on passing rows, so they cost a byte
 * of record header each.
 */
static const char schema_v1[] =
	"CREATE TABLE probes (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
	"CREATE TABLE step_names (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);"
	"CREATE TABLE runs ("
	" id INTEGER PRIMARY KEY,"
	" probe_id INTEGER NOT NULL REFERENCES probes(id),"
	" started_ms INTEGER NOT NULL,"    /* wall clock, Unix ms */
	" duration_us INTEGER NOT NULL,"
	" lag_us INTEGER NOT NULL,"        /* scheduling lag */
	" result INTEGER NOT NULL,"        /* 0 passed, 1 failed, 2 not run (skipped, aborted) */
	" class TEXT,"                     /* probe_class_name(), NULL when passed */
	" failed_step INTEGER,"            /* index, NULL when none */
	" error TEXT);"                    /* NULL when passed */
	"CREATE INDEX runs_by_probe ON runs (probe_id, started_ms);"
	"CREATE TABLE steps ("
	" run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
	" idx INTEGER NOT NULL,"
	" name_id INTEGER NOT NULL REFERENCES step_names(id),"
	" status INTEGER NOT NULL,"
	" dns_us INTEGER NOT NULL, connect_us INTEGER NOT NULL, tls_us INTEGER NOT NULL,"
	" ttfb_us INTEGER NOT NULL, total_us INTEGER NOT NULL, bytes INTEGER NOT NULL,"
	" class TEXT, error TEXT,"         /* NULL when the step passed */
	" PRIMARY KEY (run_id, idx)) WITHOUT ROWID;";

/*
 * Schema v2: alerting. Small tables (incidents and events number in the
 * thousands, not millions), so readability wins over bytes here. Probe names
 * are interned in probes like runs'; maintenance keeps its probe as text,
 * because a window may name a probe that never ran.
 *
 * incidents_live holds exactly what a starting daemon loads (open, or
 * announced and not yet resolved to the channels); a query for open ones
 * only (resolved_ms IS NULL) can use it too. events.incident_id has no
 * foreign key on purpose: a writer batch that fails on a constraint is
 * retried and blocks every run behind it, so only constraints that storage
 * itself guarantees are declared. outbox_pending makes the daemon's start
 * and retries read only the rows still waiting.
 */
static const char schema_v2[] =
	"CREATE TABLE incidents ("
	" id INTEGER PRIMARY KEY,"         /* assigned by alerting */
	" probe_id INTEGER NOT NULL REFERENCES probes(id),"
	" started_ms INTEGER NOT NULL,"
	" detected_ms INTEGER NOT NULL,"
	" resolved_ms INTEGER,"            /* NULL while open */
	" last_failed_ms INTEGER NOT NULL,"
	" failed_runs INTEGER NOT NULL,"
	" latency_us INTEGER NOT NULL,"
	" failed_step TEXT,"
	" first_class TEXT, first_error TEXT, last_class TEXT, last_error TEXT,"
	" flags INTEGER NOT NULL);"        /* STORE_INC_* */
	"CREATE INDEX incidents_by_probe ON incidents (probe_id, started_ms);"
	"CREATE INDEX incidents_live ON incidents (id)"
	" WHERE resolved_ms IS NULL OR flags & 3 = 1;"
	"CREATE TABLE events ("
	" id INTEGER PRIMARY KEY,"         /* assigned by alerting */
	" incident_id INTEGER,"            /* NULL for none */
	" probe_id INTEGER NOT NULL REFERENCES probes(id),"
	" kind TEXT,"                      /* opened, reminder, resolved, flapping */
	" created_ms INTEGER NOT NULL,"
	" payload TEXT);"                  /* the event as JSON */
	"CREATE INDEX events_by_incident ON events (incident_id);"
	"CREATE TABLE outbox ("
	" event_id INTEGER NOT NULL REFERENCES events(id),"
	" channel TEXT NOT NULL,"
	" state INTEGER NOT NULL,"         /* enum store_dlv_state */
	" attempts INTEGER NOT NULL,"
	" next_ms INTEGER NOT NULL,"
	" done_ms INTEGER,"                /* NULL until done */
	" error TEXT, ref TEXT,"
	" status INTEGER NOT NULL,"
	" PRIMARY KEY (event_id, channel)) WITHOUT ROWID;"
	"CREATE INDEX outbox_pending ON outbox (event_id, channel) WHERE state = 0;"
	"CREATE TABLE maintenance ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"  /* never reused: the CLI shows ids */
	" probe TEXT, tag TEXT,"           /* either or both */
	" start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL,"
	" reason TEXT,"
	" created_ms INTEGER NOT NULL);"
	"CREATE INDEX maintenance_by_end ON maintenance (end_ms);";

/*
 * Schema v3: annotations, hourly rollups and retention's progress. All new
 * and small, so plain DDL (no big table is touched).
 *
 * hourly holds, per probe and whole hour (hour_ms, a multiple of 1 h), one
 * row for the runs (step 0: runs, ok and skipped counted; count, sum_us,
 * max_us and hist over the passed and failed runs' durations) and one per
 * step name (step = step_names.id; idx its smallest index that hour, for
 * ordering; runs, ok and skipped 0). hist is a latency histogram as hist.c
 * encodes it. Keyed by probe first: a report reads one probe's hours.
 *
 * retention is one row: rolled_ms says every hour before it is rolled up;
 * del_hour_ms/del_max_id, when set, name the hour being deleted and the
 * largest run id its rollup counted (see sqlite_retention.c).
 */
static const char schema_v3[] =
	"CREATE TABLE annotations ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"  /* never reused: the CLI shows ids */
	" at_ms INTEGER NOT NULL,"
	" probe TEXT, tag TEXT,"           /* neither: every probe */
	" text TEXT NOT NULL,"
	" created_ms INTEGER NOT NULL);"
	"CREATE INDEX annotations_by_at ON annotations (at_ms);"
	"CREATE TABLE hourly ("
	" probe_id INTEGER NOT NULL REFERENCES probes(id),"
	" hour_ms INTEGER NOT NULL,"
	" step INTEGER NOT NULL,"          /* 0: the run; else step_names.id */
	" idx INTEGER NOT NULL,"
	" runs INTEGER NOT NULL, ok INTEGER NOT NULL, skipped INTEGER NOT NULL,"
	" count INTEGER NOT NULL, sum_us INTEGER NOT NULL, max_us INTEGER NOT NULL,"
	" hist BLOB NOT NULL,"
	" PRIMARY KEY (probe_id, hour_ms, step)) WITHOUT ROWID;"
	"CREATE TABLE retention ("
	" id INTEGER PRIMARY KEY CHECK (id = 1),"
	" rolled_ms INTEGER NOT NULL,"
	" del_hour_ms INTEGER,"            /* NULL: no deletion under way */
	" del_max_id INTEGER);"
	"INSERT INTO retention (id, rolled_ms) VALUES (1, 0);";

/*
 * One step per schema version, applied in order, each in its own transaction
 * that also sets PRAGMA user_version, so that a crash leaves the database at
 * one version or the next, never between.
 *
 * Later migrations that touch a big table (runs and steps reach millions of
 * rows) must not rewrite it in one transaction: the daemon's writer and every
 * CLI reader would wait on the lock for minutes. Give such a step a function
 * (fn) that works in small batches (a few thousand rows per transaction, each
 * committed before the next, resumable after a crash) and bumps the version in
 * its last one. Plain DDL on small tables can be sql.
 */
struct migration {
	int version;
	const char *sql;                        /* run in one transaction, or NULL */
	int (*fn)(sqlite3 *db, char **err);     /* runs its own transactions, or NULL */
};

static const struct migration migrations[] = {
	{ 1, schema_v1, NULL },
	{ 2, schema_v2, NULL },
	{ 3, schema_v3, NULL },
};

const char *store__sqlite_schema_sql(int version)
{
	for (size_t i = 0; i < sizeof(migrations) / sizeof(migrations[0]); i++)
		if (migrations[i].version == version)
			return migrations[i].sql;
	return NULL;
}

/* Runs a statement giving one integer (a PRAGMA, a count) into *out. Returns a sqlite rc. */
static int query_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		*out = 0;
		rc = SQLITE_OK;
	}
out:
	sqlite3_finalize(st);
	return rc;
}

/* Builds the message and error for a failed sqlite call rc, with sqlite's text. */
static int fail(sqlite3 *db, int rc, char **err, const char *path, const char *what)
{
	*err = store__strdupf("%s: %s: %s", path, what, sqlite3_errmsg(db));
	return store__sqlite_errno(db, rc);
}

int store__sqlite_check_version(sqlite3 *db, const char *path, bool readonly, char **err)
{
	int64_t version = 0, app = 0, tables = 0;
	int rc = 0, src = SQLITE_OK;

	if ((src = query_int(db, "PRAGMA user_version", &version)) != SQLITE_OK ||
	    (src = query_int(db, "PRAGMA application_id", &app)) != SQLITE_OK ||
	    (src = query_int(db, "SELECT count(*) FROM sqlite_master", &tables)) != SQLITE_OK) {
		rc = fail(db, src, err, path, "cannot read the schema version");
		goto out;
	}
	if (version > STORE__SQLITE_SCHEMA) {
		rc = -EPROTO;
		*err = store__strdupf("%s: database schema version %lld is newer than this canary "
				      "knows (%d); use a newer canary", path, (long long)version,
				      STORE__SQLITE_SCHEMA);
	} else if ((app != 0 && app != APPLICATION_ID) || (version == 0 && tables > 0)) {
		rc = -EINVAL;
		*err = store__strdupf("%s: not a canary database (it holds other tables)", path);
	} else if (readonly && version < STORE__SQLITE_SCHEMA) {
		rc = -EPROTO;
		*err = store__strdupf("%s: database schema version %lld is older than this canary "
				      "reads (%d); start the daemon once to migrate it", path,
				      (long long)version, STORE__SQLITE_SCHEMA);
	}
out:
	return rc;
}

/* Applies m if the database is still below it, in one transaction. */
static int migrate_step(sqlite3 *db, const char *path, const struct migration *m, char **err)
{
	char sql[96];
	int64_t version = 0;
	int rc = 0, src = SQLITE_OK;

	if (m->fn != NULL) {
		rc = m->fn(db, err);
		goto out;
	}
	if ((src = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) != SQLITE_OK) {
		rc = fail(db, src, err, path, "cannot start migrating the schema");
		goto out;
	}
	/* Another process may have migrated between our read and our lock. */
	if ((src = query_int(db, "PRAGMA user_version", &version)) != SQLITE_OK) {
		rc = fail(db, src, err, path, "cannot read the schema version");
		goto out;
	}
	if (version >= m->version)
		goto out;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d; PRAGMA application_id = %d",
		 m->version, APPLICATION_ID);
	if ((src = sqlite3_exec(db, m->sql, NULL, NULL, NULL)) != SQLITE_OK ||
	    (src = sqlite3_exec(db, sql, NULL, NULL, NULL)) != SQLITE_OK ||
	    (src = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK) {
		char what[64];

		snprintf(what, sizeof(what), "cannot migrate the schema to version %d", m->version);
		rc = fail(db, src, err, path, what);
	}
out:
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, rc < 0 ? "ROLLBACK" : "COMMIT", NULL, NULL, NULL);
	return rc;
}

int store__sqlite_migrate(sqlite3 *db, const char *path, char **err)
{
	int64_t version = 0;
	int rc = 0, src = SQLITE_OK;

	if ((src = query_int(db, "PRAGMA user_version", &version)) != SQLITE_OK) {
		rc = fail(db, src, err, path, "cannot read the schema version");
		goto out;
	}
	for (size_t i = 0; i < sizeof(migrations) / sizeof(migrations[0]); i++) {
		if (migrations[i].version <= version)
			continue;
		if ((rc = migrate_step(db, path, &migrations[i], err)) < 0)
			goto out;
	}
out:
	return rc;
}
