/* store_model.h - what the storage report and retention suites share: a temp database, runs as the test knows them, and the figures expected of them. */
#ifndef CANARY_TESTS_STORE_MODEL_H
#define CANARY_TESTS_STORE_MODEL_H

#include <check.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/storage.h"

#define HOUR_MS (60 * 60 * 1000LL)
#define DAY_MS (24 * HOUR_MS)
/* On an hour boundary, so that tests know which hours are whole. */
#define T0 (1700000000000LL / HOUR_MS * HOUR_MS)
/* now, and the hours retention has to roll up with raw_ms = 1 day: [OLD, OLD + 6 h). */
#define NOW (T0 + 10 * DAY_MS + 30 * 60 * 1000)
#define OLD (T0 + 9 * DAY_MS - 6 * HOUR_MS)

/* ------------------------------------------------------------------ fixture */

/* The test's database file, and the test's own connection to it (seeds and checks; NULL until sm_open_rw). */
extern char sm_dbpath[512];
extern sqlite3 *sm_db;
/* The store's last error line (written from any thread; read it once the call that logged returned). */
extern char sm_log_last[1024];

/* A checked fixture: a temp directory for sm_dbpath; teardown closes sm_db and removes the directory. */
void sm_setup(void);
void sm_teardown(void);

/* Opens a store on sm_dbpath with flags (STORE_*), logging to sm_log_last; fails the test otherwise. */
struct store *sm_open(unsigned flags);
/* A writable store (creating the schema), and sm_db opened on the same file. */
struct store *sm_open_rw(void);

/* The integer a printf-formatted query gives on sm_db. */
#define sm_q(...) t_db_intf(sm_db, __VA_ARGS__)

/* A TCase of s with the fixture above and a time bound (timeout 0: neither). */
TCase *sm_add_case(Suite *s, const char *name, int timeout);

/* ------------------------------------------------------------------ the model: runs as the test knows them */

struct sm_run {
	int64_t t, dur;
	int result;                 /* 0 passed, 1 failed, 2 skipped */
	int nsteps;
	const char *step[3];
	int idx[3];
	int64_t total[3];
};

struct sm_model {
	const char *probe;
	struct sm_run *v;           /* owned; sm_model_free */
	size_t n, cap;
};

/* A fixed pseudo-random sequence (xorshift), and a latency with a tail drawn from it (2..120 ms, one in twenty x16). */
uint64_t sm_rnd(void);
int64_t sm_rnd_us(void);

/* Appends a run at t to m (a skipped one has no duration); borrowed, valid until the next sm_add. */
struct sm_run *sm_add(struct sm_model *m, int64_t t, int result, int64_t dur);
/* Adds a step with a random total to r. */
void sm_add_step(struct sm_run *r, const char *name, int idx);
/*
 * Runs every every_ms in [from, to): one in fail_every failed (0: none), one
 * in skip_every skipped (0: none). Passed runs record login, then submit (or,
 * one in five, alt, at the same index), then logout; failed ones stop
 * after the second step; with steps false, none.
 */
void sm_gen(struct sm_model *m, int64_t from, int64_t to, int64_t every_ms, int fail_every,
	    int skip_every, bool steps);
void sm_model_free(struct sm_model *m);
/* Frees the n models of m and closes s (how most tests end). */
void sm_free(struct sm_model *m, size_t n, struct store *s);

/* Writes runs [from, m->n) of m into the database through sm_db, in one transaction; returns the probe id. */
int64_t sm_seed_from(struct sm_model *m, size_t from);
int64_t sm_seed(struct sm_model *m);
/* An incident of probe pid; resolved 0 leaves it open. */
void sm_add_incident(int64_t pid, int64_t id, int64_t started, int64_t detected, int64_t resolved);

/* ------------------------------------------------------------------ expected figures, computed here */

/* Nearest rank, the slow way: the smallest k with k / n >= p / 100; -1 when n is 0. */
int64_t sm_nearest_rank(const int64_t *v, size_t n, int p);
/* Checks r against m over [since, until): counts exactly, percentiles exactly or (approx) within 5 %. */
void sm_check_report(const struct store_report *r, const struct sm_model *m, int64_t since,
		     int64_t until, bool approx);
/* store_report, which must succeed; clear the result with store_report_clear. */
struct store_report sm_report(struct store *s, const char *probe, int64_t since, int64_t until);
/* sm_check_report of the report on each of the n probes of m. */
void sm_check_reports(struct store *s, const struct sm_model *m, size_t n, int64_t since,
		      int64_t until, bool approx);
/* Checks store_probe_status of m's probe at now against what m says, worked out run by run. */
void sm_check_status(struct store *s, const struct sm_model *m, int64_t now);

/* ------------------------------------------------------------------ retention */

/* Raw runs kept a day, rollups 400 days, batches of 7. */
extern const struct store_retention sm_keep_day;
/*
 * Two probes, api and web, every 30 s from OLD to two hours past the last
 * hour due at NOW, written to the database; returns how many runs are due
 * for rollup at NOW. m has room for 2.
 */
int64_t sm_seed_old(struct sm_model *m);
/* Adds a run at t to m, written to the database at once (with one login step unless step is false). */
void sm_add_late(struct sm_model *m, int64_t t, int result, int64_t dur, bool step);

#endif
