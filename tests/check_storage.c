/* check_storage.c - the storage module: schema and open, writes column by column, status reads, lock contention, bounds, close. */
#include "tests/tests.h"
#include "probes/probe.h"
#include "storage/storage.h"
#include "storage/sqlite_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>
#include <uv.h>

#define DAY_MS (24 * 60 * 60 * 1000LL)
#define T0 1700000000000LL

/* ------------------------------------------------------------------ fixture */

static char dir[64];
static char dbpath[128];

/* What the store logged, from its writer thread. */
static uv_mutex_t log_lock;
static int log_errs, log_notices;
static char log_last_err[1024], log_last_notice[1024];

static void log_cb(int prio, const char *msg, void *arg)
{
	(void)arg;
	uv_mutex_lock(&log_lock);
	if (prio == LOG_ERR) {
		log_errs++;
		snprintf(log_last_err, sizeof(log_last_err), "%s", msg);
	} else if (prio == LOG_NOTICE) {
		log_notices++;
		snprintf(log_last_notice, sizeof(log_last_notice), "%s", msg);
	}
	uv_mutex_unlock(&log_lock);
}

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/canary-storage-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(dbpath, sizeof(dbpath), "%s/canary.db", dir);
	ck_assert_int_eq(uv_mutex_init(&log_lock), 0);
	log_errs = log_notices = 0;
	log_last_err[0] = log_last_notice[0] = '\0';
}

static void teardown(void)
{
	DIR *d = opendir(dir);
	struct dirent *e = NULL;

	while (d && (e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
	rmdir(dir);
	uv_mutex_destroy(&log_lock);
}

/* Files in the temp directory. */
static int dir_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e = NULL;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

/* Whether any file in the temp directory holds needle. */
static bool dir_contains(const char *needle)
{
	DIR *d = opendir(dir);
	struct dirent *e = NULL;
	bool found = false;

	ck_assert_ptr_nonnull(d);
	while (!found && (e = readdir(d)) != NULL) {
		char *buf = NULL;
		FILE *f = NULL;
		size_t n = 0;

		if (e->d_name[0] == '.')
			continue;
		f = fdopen(openat(dirfd(d), e->d_name, O_RDONLY), "rb");
		ck_assert_ptr_nonnull(f);
		buf = malloc(1 << 22);
		n = fread(buf, 1, 1 << 22, f);
		fclose(f);
		found = memmem(buf, n, needle, strlen(needle)) != NULL;
		free(buf);
	}
	closedir(d);
	return found;
}

/* ------------------------------------------------------------------ helpers */

static struct store *open_store(unsigned flags, size_t max_pending, int batch_ms)
{
	struct store_opts o = {
		.path = dbpath, .flags = flags, .max_pending = max_pending,
		.batch_ms = batch_ms, .log = log_cb,
	};

	return t_store_open(&o);
}

static struct store *open_writer(size_t max_pending, int batch_ms)
{
	struct store *s = open_store(0, max_pending, batch_ms);

	ck_assert_int_eq(store_writer_start(s), 0);
	return s;
}

/* A result of nsteps steps named by names (NULL: "step N"), all with made-up timings. */
static struct probe_result *mk(const char *probe, int64_t started_ms, enum probe_class cls,
			       const char *error, size_t nsteps, const char *const *names)
{
	char name[64];
	struct probe_def def = { .name = name, .nsteps = nsteps };
	struct probe_result *r = NULL;

	snprintf(name, sizeof(name), "%s", probe);
	r = probe_result_new(&def, started_ms, cls, error);
	ck_assert_ptr_nonnull(r);
	r->duration_us = 1000 + started_ms % 1000;
	r->lag_us = 7;
	for (size_t i = 0; i < nsteps; i++) {
		struct probe_step_result *st = &r->steps[i];
		char buf[32];

		snprintf(buf, sizeof(buf), "step %zu", i + 1);
		st->name = strdup(names ? names[i] : buf);
		st->status = 200;
		st->dns_us = 1200 + (int64_t)i;
		st->connect_us = 2400;
		st->tls_us = 8100;
		st->ttfb_us = 35000;
		st->total_us = 41000 + (int64_t)i;
		st->bytes = 1800;
		r->nsteps++;
	}
	return r;
}

static void submit(struct store *s, struct probe_result *r)
{
	ck_assert_int_eq(store_submit(s, r), 0);
}

/* The first column of the first row as text, in buf. */
static const char *raw_text(sqlite3 *db, const char *sql, char *buf, size_t size)
{
	sqlite3_stmt *st = NULL;

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	snprintf(buf, size, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return buf;
}

/* One-off count on a fresh connection. */
static int64_t count(const char *sql)
{
	return t_db_file_int(dbpath, sql);
}

/* Column i is text want, or NULL when want is. */
static void col_is(sqlite3_stmt *st, int i, const char *want, int row)
{
	const char *got = (const char *)sqlite3_column_text(st, i);

	if (want == NULL)
		ck_assert_msg(sqlite3_column_type(st, i) == SQLITE_NULL,
			      "row %d column %s: want NULL, got \"%s\"", row,
			      sqlite3_column_name(st, i), got ? got : "");
	else
		ck_assert_msg(got && strcmp(got, want) == 0, "row %d column %s: want \"%s\", got \"%s\"",
			      row, sqlite3_column_name(st, i), want, got ? got : "NULL");
}

static void col_int(sqlite3_stmt *st, int i, int64_t want, int row)
{
	ck_assert_msg(sqlite3_column_type(st, i) == SQLITE_INTEGER &&
		      sqlite3_column_int64(st, i) == want, "row %d column %s: want %lld, got %s",
		      row, sqlite3_column_name(st, i), (long long)want,
		      (const char *)sqlite3_column_text(st, i));
}

static struct store_status status_of(struct store *s, const char *probe, int64_t now_ms)
{
	struct store_status st;

	ck_assert_int_eq(store_probe_status(s, probe, now_ms, &st), 0);
	return st;
}

/* ------------------------------------------------------------------ open */

START_TEST(open_creates_wal_v1)
{
	struct store *s = NULL;
	sqlite3 *db = NULL;
	char buf[32];

	ck_assert_int_ne(access(dbpath, F_OK), 0);
	s = open_store(0, 0, 0);
	ck_assert_int_eq(access(dbpath, F_OK), 0);
	db = t_db_open(dbpath);
	ck_assert_int_eq(t_db_int(db, "PRAGMA user_version"), STORE__SQLITE_SCHEMA);
	ck_assert_str_eq(raw_text(db, "PRAGMA journal_mode", buf, sizeof(buf)), "wal");
	ck_assert_int_eq(t_db_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND"
				 " name IN ('probes', 'step_names', 'runs', 'steps')"), 4);
	ck_assert_int_eq(t_db_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
				 " AND name = 'runs_by_probe'"), 1);
	sqlite3_close(db);
	store_close(s);
	store_close(NULL);
}
END_TEST

START_TEST(reopen_keeps_rows)
{
	struct store *s = open_writer(0, 0);
	struct store_status st;

	submit(s, mk("alpha", T0, PROBE_OK, NULL, 1, NULL));
	submit(s, mk("alpha", T0 + 1000, PROBE_OK, NULL, 1, NULL));
	ck_assert_int_eq(store_flush(s, 5000), 0);
	store_close(s);

	s = open_writer(0, 0);
	st = status_of(s, "alpha", T0 + 2000);
	ck_assert(st.has_run);
	ck_assert_int_eq(st.runs_24h, 2);
	submit(s, mk("alpha", T0 + 3000, PROBE_OK, NULL, 1, NULL));
	store_close(s);
	ck_assert_int_eq(count("SELECT count(*) FROM runs"), 3);
	ck_assert_int_eq(count("SELECT count(*) FROM probes"), 1);
	ck_assert_int_eq(count("SELECT count(*) FROM step_names"), 1);
	ck_assert_int_eq(count("PRAGMA user_version"), STORE__SQLITE_SCHEMA);
}
END_TEST

START_TEST(newer_schema_refused)
{
	struct store_opts o = { .path = dbpath };
	struct store *s = NULL;
	sqlite3 *db = t_db_open(dbpath);
	char *err = NULL, buf[32];
	int rc = 0;

	t_db_exec(db, "PRAGMA user_version = 99");
	sqlite3_close(db);
	rc = store_open(&o, &s, &err);
	ck_assert_int_eq(rc, -EPROTO);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(err);
	char want[16];
	snprintf(want, sizeof(want), "(%d)", STORE__SQLITE_SCHEMA);
	ck_assert_msg(strstr(err, "99") && strstr(err, want) && strstr(err, dbpath),
		      "message: %s", err);
	free(err);
	/* Left as it was: not switched to WAL, not migrated. */
	db = t_db_open(dbpath);
	ck_assert_int_eq(t_db_int(db, "PRAGMA user_version"), 99);
	ck_assert_str_eq(raw_text(db, "PRAGMA journal_mode", buf, sizeof(buf)), "delete");
	sqlite3_close(db);
}
END_TEST

START_TEST(foreign_database_refused)
{
	struct store_opts o = { .path = dbpath };
	struct store *s = NULL;
	sqlite3 *db = t_db_open(dbpath);
	char *err = NULL;

	t_db_exec(db, "CREATE TABLE contacts (name TEXT)");
	sqlite3_close(db);
	ck_assert_int_eq(store_open(&o, &s, &err), -EINVAL);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, "not a canary database"), "message: %s", err);
	free(err);
	ck_assert_int_eq(count("SELECT count(*) FROM sqlite_master"), 1);
}
END_TEST

START_TEST(readonly_missing_is_enoent)
{
	struct store_opts o = { .path = dbpath, .flags = STORE_READONLY };
	struct store *s = NULL;
	char *err = NULL;

	ck_assert_int_eq(store_open(&o, &s, &err), -ENOENT);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(strstr(err, dbpath), "message: %s", err);
	free(err);
	ck_assert_int_eq(dir_entries(), 0);
}
END_TEST

START_TEST(unknown_backend_refused)
{
	struct store_opts o = { .path = "postgres://db.example/canary" };
	struct store *s = NULL;
	char *err = NULL;

	ck_assert_int_eq(store_open(&o, &s, &err), -EPROTONOSUPPORT);
	ck_assert_msg(err && strstr(err, "\"postgres\""), "message: %s", err ? err : "NULL");
	free(err);
	ck_assert_int_eq(access("postgres:", F_OK), -1);
}
END_TEST

START_TEST(misuse_is_refused)
{
	struct store *s = NULL;
	struct store_stats st;

	store_close(open_store(0, 0, 0));
	s = open_store(STORE_READONLY, 0, 0);
	/* Stolen even when refused: valgrind and ASan see no leak. */
	ck_assert_int_eq(store_submit(s, mk("alpha", T0, PROBE_OK, NULL, 1, NULL)), -EROFS);
	ck_assert_int_eq(store_submit(NULL, mk("alpha", T0, PROBE_OK, NULL, 1, NULL)), -EINVAL);
	ck_assert_int_eq(store_writer_start(s), -EROFS);
	ck_assert_int_eq(store_flush(s, 0), 0);
	store_get_stats(s, &st);
	ck_assert_int_eq(st.submitted, 0);
	store_close(s);
	store_close(NULL);
	store_get_stats(NULL, &st);
	ck_assert_int_eq(st.pending, 0);
}
END_TEST

/* ------------------------------------------------------------------ writing */

START_TEST(columns_as_submitted)
{
	static const char *const two[] = { "login", "fetch" };
	static const char *const one[] = { "only" };
	static const char *const fail_msg = "step \"fetch\": expected status == 200, got 503";
	struct store *s = open_writer(0, 0);
	struct probe_result *r = NULL;
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	int row = 0;

	/* 0: passed, two steps, with trace fields that must not be stored. */
	r = mk("alpha", T0, PROBE_OK, NULL, 2, two);
	r->duration_us = 1234;
	r->lag_us = 56;
	r->steps[0] = (struct probe_step_result){
		.name = r->steps[0].name, .status = 200, .dns_us = 11, .connect_us = 22,
		.tls_us = 33, .ttfb_us = 44, .total_us = 55, .bytes = 66,
		.method = strdup("POST"), .url = strdup("https://example.test/secret-url-marker"),
	};
	submit(s, r);
	/* 1: failed at its second step. */
	r = mk("alpha", T0 + 30000, PROBE_ASSERTION, fail_msg, 2, two);
	r->failed_step = 1;
	r->steps[1].status = 503;
	r->steps[1].cls = PROBE_ASSERTION;
	r->steps[1].error = strdup(fail_msg);
	submit(s, r);
	/* 2: skipped, no step ran though the flow has three. */
	r = mk("beta", T0 + 1, PROBE_SKIPPED, "skipped: the previous run was still going", 0, NULL);
	submit(s, r);
	/* 3: aborted in its first step. */
	r = mk("beta", T0 + 2, PROBE_ABORTED, "aborted at shutdown", 1, one);
	r->failed_step = 0;
	r->steps[0].status = 0;
	r->steps[0].cls = PROBE_ABORTED;
	r->steps[0].error = strdup("aborted at shutdown");
	submit(s, r);
	/* 4: timed out. */
	r = mk("beta", T0 + 3, PROBE_TIMEOUT, "step \"only\": timed out after 5s", 1, one);
	r->failed_step = 0;
	r->steps[0].cls = PROBE_TIMEOUT;
	r->steps[0].error = strdup("timed out after 5s");
	submit(s, r);
	ck_assert_int_eq(store_flush(s, 5000), 0);

	db = t_db_open(dbpath);
	ck_assert_int_eq(sqlite3_prepare_v2(db,
		"SELECT p.name, r.started_ms, r.duration_us, r.lag_us, r.result, r.class,"
		" r.failed_step, r.error FROM runs r JOIN probes p ON p.id = r.probe_id ORDER BY r.id",
		-1, &st, NULL), SQLITE_OK);
	static const struct {
		const char *probe;
		int64_t started, duration, lag;
		int result;
		const char *cls;
		int failed;
		const char *error;
	} runs[] = {
		{ "alpha", T0, 1234, 56, 0, NULL, -1, NULL },
		{ "alpha", T0 + 30000, 1000, 7, 1, "assertion", 1, fail_msg },
		{ "beta", T0 + 1, 1001, 7, 2, "skipped", -1, "skipped: the previous run was still going" },
		{ "beta", T0 + 2, 1002, 7, 2, "aborted", 0, "aborted at shutdown" },
		{ "beta", T0 + 3, 1003, 7, 1, "timeout", 0, "step \"only\": timed out after 5s" },
	};
	for (row = 0; sqlite3_step(st) == SQLITE_ROW; row++) {
		ck_assert_int_lt(row, 5);
		col_is(st, 0, runs[row].probe, row);
		col_int(st, 1, runs[row].started, row);
		col_int(st, 2, runs[row].duration, row);
		col_int(st, 3, runs[row].lag, row);
		col_int(st, 4, runs[row].result, row);
		col_is(st, 5, runs[row].cls, row);
		if (runs[row].failed < 0)
			ck_assert_int_eq(sqlite3_column_type(st, 6), SQLITE_NULL);
		else
			col_int(st, 6, runs[row].failed, row);
		col_is(st, 7, runs[row].error, row);
	}
	ck_assert_int_eq(row, 5);
	sqlite3_finalize(st);

	ck_assert_int_eq(sqlite3_prepare_v2(db,
		"SELECT r.started_ms, s.idx, n.name, s.status, s.dns_us, s.connect_us, s.tls_us,"
		" s.ttfb_us, s.total_us, s.bytes, s.class, s.error FROM steps s"
		" JOIN runs r ON r.id = s.run_id JOIN step_names n ON n.id = s.name_id"
		" ORDER BY s.run_id, s.idx", -1, &st, NULL), SQLITE_OK);
	static const struct {
		int64_t started;
		int idx;
		const char *name;
		int64_t status, dns, connect, tls, ttfb, total, bytes;
		const char *cls, *error;
	} steps[] = {
		{ T0, 0, "login", 200, 11, 22, 33, 44, 55, 66, NULL, NULL },
		{ T0, 1, "fetch", 200, 1201, 2400, 8100, 35000, 41001, 1800, NULL, NULL },
		{ T0 + 30000, 0, "login", 200, 1200, 2400, 8100, 35000, 41000, 1800, NULL, NULL },
		{ T0 + 30000, 1, "fetch", 503, 1201, 2400, 8100, 35000, 41001, 1800, "assertion", fail_msg },
		{ T0 + 2, 0, "only", 0, 1200, 2400, 8100, 35000, 41000, 1800, "aborted", "aborted at shutdown" },
		{ T0 + 3, 0, "only", 200, 1200, 2400, 8100, 35000, 41000, 1800, "timeout", "timed out after 5s" },
	};
	for (row = 0; sqlite3_step(st) == SQLITE_ROW; row++) {
		ck_assert_int_lt(row, 6);
		col_int(st, 0, steps[row].started, row);
		col_int(st, 1, steps[row].idx, row);
		col_is(st, 2, steps[row].name, row);
		col_int(st, 3, steps[row].status, row);
		col_int(st, 4, steps[row].dns, row);
		col_int(st, 5, steps[row].connect, row);
		col_int(st, 6, steps[row].tls, row);
		col_int(st, 7, steps[row].ttfb, row);
		col_int(st, 8, steps[row].total, row);
		col_int(st, 9, steps[row].bytes, row);
		col_is(st, 10, steps[row].cls, row);
		col_is(st, 11, steps[row].error, row);
	}
	ck_assert_int_eq(row, 6);
	sqlite3_finalize(st);

	/* Names interned once each. */
	ck_assert_int_eq(t_db_int(db, "SELECT count(*) FROM step_names"), 3);
	ck_assert_int_eq(t_db_int(db, "SELECT count(DISTINCT name) FROM step_names"), 3);
	ck_assert_int_eq(t_db_int(db, "SELECT count(*) FROM probes"), 2);
	sqlite3_close(db);

	/* Nothing of the trace reached the disk: neither the file nor its WAL. */
	store_close(s);
	ck_assert(!dir_contains("secret-url-marker"));
	ck_assert(dir_contains("step \"fetch\": expected status"));
}
END_TEST

/* The schema's budget: at most 200 bytes of database per stored step, indexes included. */
START_TEST(bytes_per_step)
{
	static const char *const two[] = { "login", "dashboard" };
	enum { RUNS = 3000 };
	struct store *s = open_writer(0, 0);
	struct store_stats st;
	struct stat sb;

	for (int i = 0; i < RUNS; i++) {
		char probe[16];
		struct probe_result *r = NULL;

		snprintf(probe, sizeof(probe), "probe-%d", i % 20);
		r = mk(probe, T0 + (int64_t)i * 30000, PROBE_OK, NULL, 2, two);
		r->duration_us = 80000 + i % 50000;
		r->lag_us = 150 + i % 900;
		r->steps[0].total_us = 40000 + i % 30000;
		r->steps[1].bytes = 12000 + i % 3000;
		/* One in 50 fails, with a message, as a flaky API would. */
		if (i % 50 == 0) {
			r->cls = PROBE_HTTP;
			r->failed_step = 1;
			r->error = strdup("step \"dashboard\": HTTP 502 Bad Gateway");
			r->steps[1].cls = PROBE_HTTP;
			r->steps[1].status = 502;
			r->steps[1].error = strdup("HTTP 502 Bad Gateway");
		}
		submit(s, r);
	}
	ck_assert_int_eq(store_flush(s, 10000), 0);
	store_get_stats(s, &st);
	ck_assert_int_eq(st.written, RUNS);
	store_close(s);
	ck_assert_int_eq(stat(dbpath, &sb), 0);
	ck_assert_msg(sb.st_size / (2 * RUNS) <= 200, "%lld bytes per step",
		      (long long)(sb.st_size / (2 * RUNS)));
}
END_TEST

/* ------------------------------------------------------------------ status */

START_TEST(status_last_run)
{
	const int64_t now = T0 + 60000;
	struct store *s = open_writer(0, 0);
	struct store_status st;
	struct probe_result *r = NULL;

	r = mk("p", now - 3000, PROBE_OK, NULL, 1, NULL);
	r->duration_us = 1000;
	submit(s, r);
	r = mk("p", now - 2000, PROBE_TIMEOUT, "step \"a\": timed out after 5s", 1, NULL);
	r->duration_us = 5000123;
	submit(s, r);
	submit(s, mk("p", now - 1000, PROBE_SKIPPED, "skipped", 0, NULL));
	submit(s, mk("other", now - 500, PROBE_OK, NULL, 1, NULL));
	ck_assert_int_eq(store_flush(s, 5000), 0);

	st = status_of(s, "p", now);
	ck_assert(st.has_run);
	ck_assert(!st.last_ok);
	ck_assert_int_eq(st.last_run_ms, now - 2000);
	ck_assert_int_eq(st.latency_us, 5000123);
	ck_assert_pstr_eq(st.error_class, "timeout");
	ck_assert_pstr_eq(st.error, "step \"a\": timed out after 5s");
	ck_assert_int_eq(st.runs_24h, 2);
	ck_assert_int_eq(st.ok_24h, 1);
	store_status_clear(&st);
	ck_assert_ptr_null(st.error);

	/* Two runs in the same millisecond: the later written is the last. */
	submit(s, mk("p", now - 400, PROBE_DNS, "no such host", 1, NULL));
	r = mk("p", now - 400, PROBE_OK, NULL, 1, NULL);
	r->duration_us = 777;
	submit(s, r);
	ck_assert_int_eq(store_flush(s, 5000), 0);
	st = status_of(s, "p", now);
	ck_assert(st.has_run && st.last_ok);
	ck_assert_int_eq(st.last_run_ms, now - 400);
	ck_assert_int_eq(st.latency_us, 777);
	ck_assert_ptr_null(st.error_class);
	ck_assert_ptr_null(st.error);
	ck_assert_int_eq(st.runs_24h, 4);
	ck_assert_int_eq(st.ok_24h, 2);
	store_status_clear(&st);
	store_close(s);
}
END_TEST

START_TEST(status_window_bounds)
{
	const int64_t now = T0 + 2 * DAY_MS;
	struct store *s = open_writer(0, 0);
	struct store_status st;

	submit(s, mk("q", now - DAY_MS - 1, PROBE_OK, NULL, 1, NULL));      /* out */
	submit(s, mk("q", now - DAY_MS, PROBE_HTTP, "HTTP 500", 1, NULL));  /* in */
	submit(s, mk("q", now, PROBE_OK, NULL, 1, NULL));                   /* in */
	submit(s, mk("q", now + 1, PROBE_OK, NULL, 1, NULL));               /* out */
	submit(s, mk("q", now - 10, PROBE_ABORTED, "aborted", 0, NULL));    /* not run */
	submit(s, mk("r", now - 10, PROBE_OK, NULL, 1, NULL));              /* another probe */
	ck_assert_int_eq(store_flush(s, 5000), 0);
	st = status_of(s, "q", now);
	ck_assert_int_eq(st.runs_24h, 2);
	ck_assert_int_eq(st.ok_24h, 1);
	ck_assert_int_eq(st.last_run_ms, now + 1);
	store_status_clear(&st);
	st = status_of(s, "q", now + 1);
	ck_assert_int_eq(st.runs_24h, 2);
	ck_assert_int_eq(st.ok_24h, 2);
	store_status_clear(&st);
	store_close(s);
}
END_TEST

START_TEST(status_unknown_probe)
{
	struct store *s = open_writer(0, 0);
	struct store_status st;

	submit(s, mk("known", T0, PROBE_OK, NULL, 1, NULL));
	/* Only skipped runs: has_run stays false. */
	submit(s, mk("never-ran", T0, PROBE_SKIPPED, "skipped", 0, NULL));
	ck_assert_int_eq(store_flush(s, 5000), 0);
	memset(&st, 0xa5, sizeof(st));
	ck_assert_int_eq(store_probe_status(s, "nobody", T0, &st), 0);
	ck_assert(!st.has_run);
	ck_assert_int_eq(st.runs_24h, 0);
	ck_assert_int_eq(st.ok_24h, 0);
	ck_assert_ptr_null(st.error);
	ck_assert_ptr_null(st.error_class);
	st = status_of(s, "never-ran", T0);
	ck_assert(!st.has_run);
	ck_assert_int_eq(st.runs_24h, 0);
	store_close(s);
}
END_TEST

/* A read-only store (the CLI) reads while a writable one (the daemon) writes. */
START_TEST(status_readonly_while_writing)
{
	struct store *w = open_writer(0, 0), *ro = NULL;
	struct store_status st;

	submit(w, mk("p", T0, PROBE_OK, NULL, 1, NULL));
	ck_assert_int_eq(store_flush(w, 5000), 0);
	ro = open_store(STORE_READONLY, 0, 0);
	st = status_of(ro, "p", T0 + 1000);
	ck_assert(st.has_run && st.last_ok);
	ck_assert_int_eq(st.runs_24h, 1);
	submit(w, mk("p", T0 + 500, PROBE_CONNECT, "connection refused", 1, NULL));
	ck_assert_int_eq(store_flush(w, 5000), 0);
	st = status_of(ro, "p", T0 + 1000);
	ck_assert(st.has_run && !st.last_ok);
	ck_assert_int_eq(st.runs_24h, 2);
	ck_assert_pstr_eq(st.error, "connection refused");
	store_status_clear(&st);
	store_close(w);
	store_close(ro);

	/* And after the daemon is gone (its WAL checkpointed and removed). */
	ro = open_store(STORE_READONLY, 0, 0);
	st = status_of(ro, "p", T0 + 1000);
	ck_assert_int_eq(st.runs_24h, 2);
	store_status_clear(&st);
	store_close(ro);
}
END_TEST

/* Both status queries search runs_by_probe, never scan runs or sort. */
START_TEST(status_uses_index)
{
	static const enum store__sq which[] = { STORE__SQ_LAST_RUN, STORE__SQ_COUNT_RUNS };
	struct store *s = open_store(0, 0, 0);
	sqlite3 *db = t_db_open(dbpath);

	for (size_t i = 0; i < sizeof(which) / sizeof(which[0]); i++) {
		char sql[512], plan[512] = "";
		sqlite3_stmt *st = NULL;

		snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", store__sqlite_sql[which[i]]);
		ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW) {
			strncat(plan, (const char *)sqlite3_column_text(st, 3), 200);
			strcat(plan, "; ");
		}
		sqlite3_finalize(st);
		ck_assert_msg(strstr(plan, "SEARCH runs USING INDEX runs_by_probe (probe_id=?"),
			      "%s: %s", store__sqlite_sql[which[i]], plan);
		ck_assert_msg(!strstr(plan, "TEMP B-TREE") && !strstr(plan, "SCAN"), "%s: %s",
			      store__sqlite_sql[which[i]], plan);
	}
	sqlite3_close(db);
	store_close(s);
}
END_TEST

/* ------------------------------------------------------------------ contention */

/*
 * Another process holds the write lock for about 1.5 s: submissions stay
 * instant, the store reports failing, and once the lock goes every result is
 * written exactly once, with one error line and one recovery line logged.
 */
START_TEST(lock_held_then_released)
{
	enum { N = 20 };
	struct store *s = open_writer(0, 20);
	sqlite3 *db = t_db_open(dbpath);
	struct store_stats st;
	uint64_t locked_at = 0, worst = 0;

	t_db_exec(db, "BEGIN IMMEDIATE");
	locked_at = uv_hrtime();
	for (int i = 0; i < N; i++) {
		uint64_t t = uv_hrtime();

		submit(s, mk("p", T0 + i, PROBE_OK, NULL, 2, NULL));
		t = uv_hrtime() - t;
		worst = t > worst ? t : worst;
	}
	ck_assert_msg(worst < 50 * 1000000ull, "store_submit took %llu ms",
		      (unsigned long long)(worst / 1000000));
	ck_assert_msg(t_store_wait_failing(s, true, 5000), "the store never reported failing");
	store_get_stats(s, &st);
	ck_assert_int_eq(st.written, 0);
	ck_assert_int_eq(st.pending, N);
	/* Hold the lock for the rest of the 1.5 s, through a retry. */
	while (uv_hrtime() - locked_at < 1500 * 1000000ull)
		uv_sleep(20);
	t_db_exec(db, "ROLLBACK");

	ck_assert_int_eq(store_flush(s, 5000), 0);
	store_get_stats(s, &st);
	ck_assert(!st.failing);
	ck_assert_int_eq(st.written, N);
	ck_assert_int_eq(st.pending, 0);
	ck_assert_int_eq(st.dropped, 0);
	ck_assert_int_eq(t_db_int(db, "SELECT count(*) FROM runs"), N);
	ck_assert_int_eq(t_db_int(db, "SELECT count(DISTINCT started_ms) FROM runs"), N);
	ck_assert_int_eq(t_db_int(db, "SELECT count(*) FROM steps"), 2 * N);
	sqlite3_close(db);

	uv_mutex_lock(&log_lock);
	ck_assert_int_eq(log_errs, 1);
	ck_assert_int_eq(log_notices, 1);
	ck_assert_msg(strstr(log_last_err, "database is locked"), "%s", log_last_err);
	ck_assert_msg(strstr(log_last_notice, "20 results"), "%s", log_last_notice);
	uv_mutex_unlock(&log_lock);
	store_close(s);
}
END_TEST

START_TEST(full_queue_drops)
{
	struct store *s = open_writer(5, 10);
	sqlite3 *db = t_db_open(dbpath);
	struct store_stats st;

	t_db_exec(db, "BEGIN IMMEDIATE");
	for (int i = 0; i < 5; i++)
		submit(s, mk("p", T0 + i, PROBE_OK, NULL, 1, NULL));
	ck_assert_int_eq(store_submit(s, mk("p", T0 + 5, PROBE_OK, NULL, 1, NULL)), -ENOBUFS);
	store_get_stats(s, &st);
	ck_assert_int_eq(st.dropped, 1);
	ck_assert_int_eq(st.submitted, 5);
	ck_assert_int_eq(st.pending, 5);
	t_db_exec(db, "ROLLBACK");

	ck_assert_int_eq(store_flush(s, 5000), 0);
	ck_assert_int_eq(t_db_int(db, "SELECT count(*) FROM runs"), 5);
	ck_assert_int_eq(t_db_int(db, "SELECT max(started_ms) FROM runs"), T0 + 4);
	/* Room again. */
	submit(s, mk("p", T0 + 6, PROBE_OK, NULL, 1, NULL));
	ck_assert_int_eq(store_flush(s, 5000), 0);
	ck_assert_int_eq(t_db_int(db, "SELECT count(*) FROM runs"), 6);
	sqlite3_close(db);
	store_close(s);
}
END_TEST

/*
 * A batch fails part-way (a trigger refuses one run) after creating a probe
 * and a step name: the rollback takes them, the cache must forget their ids,
 * and the retry writes the whole batch once the cause is gone.
 */
START_TEST(failed_batch_rolls_back)
{
	static const char *const names[] = { "brand-new-step" };
	struct store *s = open_writer(0, 20);
	sqlite3 *db = t_db_open(dbpath);

	t_db_exec(db, "CREATE TRIGGER refuse BEFORE INSERT ON runs WHEN NEW.started_ms = 666"
		 " BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
	submit(s, mk("before", T0, PROBE_OK, NULL, 1, NULL));
	submit(s, mk("fresh", T0 + 1, PROBE_OK, NULL, 1, names));
	submit(s, mk("fresh", 666, PROBE_OK, NULL, 1, names));
	submit(s, mk("after", T0 + 2, PROBE_OK, NULL, 1, NULL));
	ck_assert_msg(t_store_wait_failing(s, true, 5000), "the store never reported failing");
	ck_assert_int_eq(t_db_int(db, "SELECT count(*) FROM probes"), 0);
	t_db_exec(db, "DROP TRIGGER refuse");

	ck_assert_int_eq(store_flush(s, 5000), 0);
	ck_assert_int_eq(t_db_int(db, "SELECT count(*) FROM runs"), 4);
	ck_assert_int_eq(t_db_int(db, "SELECT count(*) FROM runs r JOIN probes p ON p.id = r.probe_id"
				 " WHERE p.name = 'fresh'"), 2);
	ck_assert_int_eq(t_db_int(db, "SELECT count(*) FROM steps s JOIN step_names n"
				 " ON n.id = s.name_id WHERE n.name = 'brand-new-step'"), 2);
	ck_assert_int_eq(t_db_int(db, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
	sqlite3_close(db);
	uv_mutex_lock(&log_lock);
	ck_assert_int_eq(log_errs, 1);
	ck_assert_msg(strstr(log_last_err, "injected failure"), "%s", log_last_err);
	ck_assert_msg(strstr(log_last_notice, "4 results"), "%s", log_last_notice);
	uv_mutex_unlock(&log_lock);
	store_close(s);
}
END_TEST

/* ------------------------------------------------------------------ close */

START_TEST(close_writes_pending)
{
	/* A batch window far longer than the test: only close can write them. */
	struct store *s = open_writer(0, 60000);
	struct store_stats st;
	uint64_t t = 0;

	for (int i = 0; i < 50; i++)
		submit(s, mk("p", T0 + i, PROBE_OK, NULL, 1, NULL));
	store_get_stats(s, &st);
	ck_assert_int_eq(st.written, 0);
	t = uv_hrtime();
	store_close(s);
	ck_assert_int_lt(uv_hrtime() - t, 5000 * 1000000ull);
	ck_assert_int_eq(count("SELECT count(*) FROM runs"), 50);
}
END_TEST

START_TEST(close_without_writer_writes_pending)
{
	struct store *s = open_store(0, 0, 0);

	for (int i = 0; i < 10; i++)
		submit(s, mk("p", T0 + i, PROBE_OK, NULL, 1, NULL));
	/* No writer to wait for. */
	ck_assert_int_eq(store_flush(s, 100), -EINVAL);
	store_close(s);
	ck_assert_int_eq(count("SELECT count(*) FROM runs"), 10);
	ck_assert_int_eq(log_errs, 0);
}
END_TEST

/* ------------------------------------------------------------------ suite */

Suite *storage_suite(void)
{
	Suite *s = suite_create("storage");
	TCase *tc = NULL;

	tc = tcase_create("open");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, open_creates_wal_v1);
	tcase_add_test(tc, reopen_keeps_rows);
	tcase_add_test(tc, newer_schema_refused);
	tcase_add_test(tc, foreign_database_refused);
	tcase_add_test(tc, readonly_missing_is_enoent);
	tcase_add_test(tc, unknown_backend_refused);
	tcase_add_test(tc, misuse_is_refused);
	tcase_set_timeout(tc, 10);
	suite_add_tcase(s, tc);

	tc = tcase_create("write");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, columns_as_submitted);
	tcase_add_test(tc, bytes_per_step);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);

	tc = tcase_create("status");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, status_last_run);
	tcase_add_test(tc, status_window_bounds);
	tcase_add_test(tc, status_unknown_probe);
	tcase_add_test(tc, status_readonly_while_writing);
	tcase_add_test(tc, status_uses_index);
	tcase_set_timeout(tc, 10);
	suite_add_tcase(s, tc);

	tc = tcase_create("contention");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, lock_held_then_released);
	tcase_add_test(tc, full_queue_drops);
	tcase_add_test(tc, failed_batch_rolls_back);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);

	tc = tcase_create("close");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, close_writes_pending);
	tcase_add_test(tc, close_without_writer_writes_pending);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);
	return s;
}
