/* storage_int.h - what only storage's files share: the backend vtable, the store's layout, the name cache. */
#ifndef CANARY_STORAGE_INT_H
#define CANARY_STORAGE_INT_H

#include "storage/storage.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* ------------------------------------------------------------------ tunables */

#define STORE__BATCH_MAX 1000         /* results per transaction */
#define STORE__BATCH_MS 200           /* default opts.batch_ms */
#define STORE__MAX_PENDING 100000     /* default opts.max_pending */
#define STORE__BACKOFF_MIN_MS 100     /* first retry after a failed batch */
#define STORE__BACKOFF_MAX_MS 2000    /* the backoff doubles up to this */
#define STORE__CLOSE_BUDGET_MS 10000  /* how long store_close keeps retrying */
#define STORE__RETENTION_BATCH 2000   /* default store_retention.batch */
#define STORE__RETENTION_BATCH_MAX 100000 /* store_retention.batch is capped at this */
#define STORE__RETENTION_PAUSE_MAX_MS 100 /* the longest pause between two retention steps */

/* ------------------------------------------------------------------ backends */

/* The struct of type that holds, as its member, what ptr points at. */
#define STORE__CONTAINER_OF(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/*
 * An open database. Each backend embeds it as the first member of its own
 * connection struct (h2o's `super`) and reaches the rest with container_of.
 * A connection is used by one thread at a time: the store serialises every
 * call through store.db_lock.
 */
struct store__conn {
	const struct store__backend *be;
};

/*
 * One queued submission: a result (store_submit) or an alert op
 * (store_submit_alert). The ring holds these by value, so queueing a result
 * costs no allocation beyond the result itself.
 */
enum store__item_kind {
	STORE__ITEM_RESULT,
	STORE__ITEM_ALERT,
};

struct store__item {
	int kind;                             /* enum store__item_kind */
	union {
		struct probe_result *result;
		struct store_alert_op *alert;
	} u;
};

#define STORE__BACKEND_VERSION 3

/*
 * One pass of store_retention_run, carried from one backend step to the next
 * (each step is one short transaction, made with the store's db_lock held,
 * which is released between steps). The store zeroes it and fills r and
 * now_ms; phase, cursor, cursor_ms, cursor_id and hour_ms are the backend's own; st
 * adds up what was done.
 */
struct store__retention_pass {
	struct store_retention r;     /* batch already defaulted (> 0) */
	int64_t now_ms;
	int phase;                    /* backend's: 0 at the start of a pass */
	int64_t cursor;               /* backend's */
	int64_t cursor_ms;            /* backend's */
	int64_t cursor_id;            /* backend's */
	int64_t hour_ms;              /* backend's */
	struct store_retention_stats st;
};

/*
 * A storage backend, registered by scheme in store.c's table. Backends speak
 * negative errno values and new English messages; nothing of their client
 * library (types, return codes, SQL) crosses this struct.
 */
struct store__backend {
	int version;            /* STORE__BACKEND_VERSION when built against this header */
	const char *name;       /* "sqlite" */

	/*
	 * Required. Opens what path names (flags are STORE_*), creating and
	 * migrating it forward unless STORE_READONLY. Returns 0 and a new *out,
	 * or a negative error and a new message in *err. A read-only open of a
	 * missing database gives -ENOENT and creates nothing.
	 */
	int (*open)(const char *path, unsigned flags, struct store__conn **out, char **err);

	/* Required. Closes and frees c. Accepts NULL. */
	void (*close)(struct store__conn *c);

	/*
	 * Optional (NULL on read-only backends). Writes the n items (borrowed),
	 * in order, in one transaction: all of them or, returning a negative
	 * error and a new message in *err, none. A result is inserted as a run;
	 * an alert op as store_alert_op documents. -EBUSY means another writer
	 * held the database for longer than the backend's own wait.
	 */
	int (*write_batch)(struct store__conn *c, const struct store__item *items, size_t n,
			   char **err);

	/*
	 * Optional. Fills out (zeroed by the caller) as store_probe_status
	 * documents. Returns 0, or a negative error and a new message in *err.
	 */
	int (*probe_status)(struct store__conn *c, const char *probe, int64_t now_ms,
			    struct store_status *out, char **err);

	/*
	 * Optional readers, each as its store_* function documents, with out
	 * zeroed by the caller. On failure they leave nothing allocated in out
	 * and set a new message in *err (-ENOENT included).
	 */
	int (*alert_load)(struct store__conn *c, struct store_alert_state *out, char **err);
	int (*incidents)(struct store__conn *c, const struct store_incident_filter *f,
			 struct store_incident **out, size_t *n, char **err);
	int (*incident_timeline)(struct store__conn *c, int64_t id, struct store_timeline *out,
				 char **err);
	int (*maint_list)(struct store__conn *c, int64_t active_at_ms, struct store_maint **out,
			  size_t *n, char **err);

	/*
	 * Optional direct writes (NULL on read-only backends), each one short
	 * transaction of its own, as store_maint_add and store_maint_end document.
	 */
	int (*maint_add)(struct store__conn *c, const struct store_maint *m, int64_t *id,
			 char **err);
	int (*maint_end)(struct store__conn *c, int64_t id, int64_t now_ms, char **err);

	/* Optional readers (version 3), as store_report and store_annotations document. */
	int (*report)(struct store__conn *c, const char *probe, int64_t since_ms, int64_t until_ms,
		      struct store_report *out, char **err);
	int (*annotations)(struct store__conn *c, int64_t from_ms, int64_t to_ms,
			   struct store_annotation **out, size_t *n, char **err);

	/* Optional direct write (version 3), one short transaction, as store_annotate documents. */
	int (*annotate)(struct store__conn *c, const struct store_annotation *a, int64_t *id,
			char **err);

	/*
	 * Optional (version 3). Does the next bit of the retention pass p in one
	 * short transaction of its own: returns 1 when there is more to do (the
	 * store then releases its lock and calls again), 0 when the pass is
	 * complete, or a negative error (the pass may be run again later: what
	 * committed stays, and the next pass resumes from it).
	 */
	int (*retention_step)(struct store__conn *c, struct store__retention_pass *p, char **err);
};

extern const struct store__backend store__sqlite_backend;

/*
 * The wrappers below are the only callers of a backend's methods: they
 * check optional methods and make sure *err is set whenever they fail, so
 * that callers can log it without a NULL check.
 */
char *store__strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static inline int store__be_open(const struct store__backend *be, const char *path,
				 unsigned flags, struct store__conn **out, char **err)
{
	int rc = be->open(path, flags, out, err);

	if (rc < 0 && *err == NULL)
		*err = store__strdupf("%s: cannot open (error %d)", path, rc);
	return rc;
}

static inline void store__be_close(struct store__conn *c)
{
	if (c != NULL)
		c->be->close(c);
}

static inline int store__be_write_batch(struct store__conn *c, const struct store__item *items,
					size_t n, char **err)
{
	int rc;

	*err = NULL;
	if (c->be->write_batch == NULL)
		rc = -ENOTSUP;
	else
		rc = c->be->write_batch(c, items, n, err);
	if (rc < 0 && *err == NULL)
		*err = store__strdupf("%s backend cannot write (error %d)", c->be->name, rc);
	return rc;
}

static inline int store__be_probe_status(struct store__conn *c, const char *probe,
					 int64_t now_ms, struct store_status *out, char **err)
{
	int rc;

	*err = NULL;
	if (c->be->probe_status == NULL)
		rc = -ENOTSUP;
	else
		rc = c->be->probe_status(c, probe, now_ms, out, err);
	if (rc < 0 && *err == NULL)
		*err = store__strdupf("%s backend cannot read (error %d)", c->be->name, rc);
	return rc;
}

/*
 * The optional readers and direct writes: -ENOTSUP when the backend lacks the
 * method, and a message whenever they fail.
 */
static inline int store__be_fail(struct store__conn *c, int rc, const char *what, char **err)
{
	if (rc < 0 && *err == NULL)
		*err = store__strdupf("%s backend cannot %s (error %d)", c->be->name, what, rc);
	return rc;
}

static inline int store__be_alert_load(struct store__conn *c, struct store_alert_state *out,
				       char **err)
{
	*err = NULL;
	return store__be_fail(c, c->be->alert_load == NULL ? -ENOTSUP
				 : c->be->alert_load(c, out, err), "read", err);
}

static inline int store__be_incidents(struct store__conn *c, const struct store_incident_filter *f,
				      struct store_incident **out, size_t *n, char **err)
{
	*err = NULL;
	return store__be_fail(c, c->be->incidents == NULL ? -ENOTSUP
				 : c->be->incidents(c, f, out, n, err), "read", err);
}

static inline int store__be_incident_timeline(struct store__conn *c, int64_t id,
					      struct store_timeline *out, char **err)
{
	*err = NULL;
	return store__be_fail(c, c->be->incident_timeline == NULL ? -ENOTSUP
				 : c->be->incident_timeline(c, id, out, err), "read", err);
}

static inline int store__be_maint_list(struct store__conn *c, int64_t active_at_ms,
				       struct store_maint **out, size_t *n, char **err)
{
	*err = NULL;
	return store__be_fail(c, c->be->maint_list == NULL ? -ENOTSUP
				 : c->be->maint_list(c, active_at_ms, out, n, err), "read", err);
}

static inline int store__be_maint_add(struct store__conn *c, const struct store_maint *m,
				      int64_t *id, char **err)
{
	*err = NULL;
	return store__be_fail(c, c->be->maint_add == NULL ? -ENOTSUP
				 : c->be->maint_add(c, m, id, err), "write", err);
}

static inline int store__be_maint_end(struct store__conn *c, int64_t id, int64_t now_ms,
				      char **err)
{
	*err = NULL;
	return store__be_fail(c, c->be->maint_end == NULL ? -ENOTSUP
				 : c->be->maint_end(c, id, now_ms, err), "write", err);
}

static inline int store__be_report(struct store__conn *c, const char *probe, int64_t since_ms,
				   int64_t until_ms, struct store_report *out, char **err)
{
	*err = NULL;
	return store__be_fail(c, c->be->report == NULL ? -ENOTSUP
				 : c->be->report(c, probe, since_ms, until_ms, out, err), "read", err);
}

static inline int store__be_annotations(struct store__conn *c, int64_t from_ms, int64_t to_ms,
					struct store_annotation **out, size_t *n, char **err)
{
	*err = NULL;
	return store__be_fail(c, c->be->annotations == NULL ? -ENOTSUP
				 : c->be->annotations(c, from_ms, to_ms, out, n, err), "read", err);
}

static inline int store__be_annotate(struct store__conn *c, const struct store_annotation *a,
				     int64_t *id, char **err)
{
	*err = NULL;
	return store__be_fail(c, c->be->annotate == NULL ? -ENOTSUP
				 : c->be->annotate(c, a, id, err), "write", err);
}

static inline int store__be_retention_step(struct store__conn *c, struct store__retention_pass *p,
					   char **err)
{
	*err = NULL;
	return store__be_fail(c, c->be->retention_step == NULL ? -ENOTSUP
				 : c->be->retention_step(c, p, err), "prune", err);
}

/* ------------------------------------------------------------------ the store */

/*
 * A store: one connection, and the queue between the loop's thread
 * (store_submit) and the writer thread. Lock order: lock, then db_lock is
 * never taken while holding lock (the writer drops lock around a batch).
 */
struct store {
	char *path;                   /* owned; as given, for messages */
	unsigned flags;               /* STORE_* */
	size_t max_pending;
	int batch_ms;
	store_log_fn log;
	void *log_arg;

	struct store__conn *conn;     /* owned */
	uv_mutex_t db_lock;           /* serialises every use of conn */

	void (*committed)(uint64_t seq, void *arg);  /* opts.committed, may be NULL */
	void *committed_arg;

	/*
	 * Guarded by lock. Sequence numbers count every accepted submission,
	 * results and alert ops alike (submitted), and every one that left the
	 * queue (done_seq); the results-only counters feed store_get_stats.
	 */
	uv_mutex_t lock;
	uv_cond_t wake;               /* to the writer: work, a flush, or stop */
	uv_cond_t progress;           /* from the writer: done_seq moved */
	struct store__item *ring;     /* owned, with what is in it: a FIFO */
	size_t cap, head, count;      /* count: items, results and alert ops */
	size_t nalerts;               /* alert ops among the count */
	uint64_t head_since_ns;       /* uv_hrtime() when the oldest waiting item came */
	uint64_t submitted;           /* accepted submissions: the last sequence number given */
	uint64_t alerts_submitted;    /* alert ops among them */
	uint64_t written, dropped;    /* results committed; results refused or lost */
	uint64_t done_seq;            /* submissions that left the queue: written, or lost at close */
	uint64_t flush_seq;           /* a flush waits for done_seq to reach this */
	uint64_t close_deadline_ns;   /* with stop: when to give up on failing writes */
	bool failing;
	bool stop;
	bool running;                 /* thread was created and not yet joined */
	uv_thread_t thread;
};

/*
 * Returns v (an array of elements of size bytes, *cap allocated) with room
 * for element n, doubling it when full (new slots zeroed). NULL when out of
 * memory, v then unchanged. (alert_types.c)
 */
void *store__grow(void *v, size_t size, size_t n, size_t *cap);

/* Calls the store's log function, if any, with a formatted line. Any thread. */
void store__logf(struct store *s, int prio, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Sets up the queue's locks (the struct is zeroed). Returns 0 or a negative error. */
int store__queue_init(struct store *s);

/*
 * Writes what waits, retrying failures for STORE__CLOSE_BUDGET_MS, then stops
 * and joins the writer (starting it first when items wait and it never
 * ran). What still waits is logged and freed (results counted as dropped),
 * and the committed callback learns that it left the queue.
 */
void store__writer_stop(struct store *s);

/* Frees the queue and its locks; the writer must be stopped. */
void store__queue_free(struct store *s);

/* ------------------------------------------------------------------ latency histograms (hist.c) */

/*
 * A latency histogram has log-scale buckets: bucket 0 holds values below
 * 1 us, bucket b >= 1 holds [2^((b-1)/32), 2^(b/32)) us, each 2.2 % wider
 * than the last, up to 2^32 us (71 minutes; larger values go in the last
 * bucket). A bucket stands for its geometric middle rounded to a whole us,
 * within 1.1 % (and that rounding) of any value in it; below ~50 us each
 * bucket holds one whole value at most, so small values stay exact.
 * store__series_blob documents how one is stored.
 */
#define STORE__HIST_SUB 32                               /* buckets per doubling */
#define STORE__HIST_BUCKETS (1 + 32 * STORE__HIST_SUB)    /* 32 doublings: to 2^32 us */

/* The bucket of v (us). */
int store__hist_bucket(int64_t v);

/* What bucket b stands for: its geometric middle, rounded (0 for bucket 0). */
int64_t store__hist_value(int b);

/*
 * The latencies of one thing (a probe's runs, or one of its steps) over a
 * range: exact (every value kept) until histogram data is merged in or
 * asked for, approximate (bucket counts) after. count, sum_us and max_us
 * are exact either way.
 */
struct store__series {
	int64_t key;                  /* what it measures: 0 the run, else a step name's id */
	int64_t idx;                  /* the smallest step index it was seen at */
	int64_t count, sum_us, max_us;
	int64_t *values;              /* owned; exact: count values */
	size_t cap;
	bool sorted;                  /* values are in ascending order */
	uint64_t *hist;               /* owned; NULL while exact, else STORE__HIST_BUCKETS counts */
};

/* Adds one value. Returns 0 or -ENOMEM. */
int store__series_add(struct store__series *s, int64_t v);

/* Makes s approximate, moving its values into a histogram. Returns 0 or -ENOMEM. */
int store__series_to_hist(struct store__series *s);

/*
 * Merges a stored histogram (blob, len bytes, as store__series_blob wrote it)
 * holding count values of sum sum_us and largest max_us; s becomes
 * approximate. Returns 0, -ENOMEM, or -EBADMSG (s unchanged) for a
 * malformed blob, one whose bucket counts do not add up to count, or a
 * count that would overflow s's. sum_us saturates instead.
 */
int store__series_merge(struct store__series *s, const void *blob, size_t len, int64_t count,
			int64_t sum_us, int64_t max_us);

/*
 * The p-th percentile (0 < p <= 100) by nearest rank, -1 when s is empty.
 * Exact series are sorted in place (once, until a value is added).
 * Approximate ones give the middle of the bucket holding that rank, never
 * above max_us.
 */
int64_t store__series_pct(struct store__series *s, int p);

/* Encodes s's histogram (s must be approximate) into *out (new), *len bytes. Returns 0 or -ENOMEM. */
int store__series_blob(const struct store__series *s, unsigned char **out, size_t *len);

/* Frees what s holds and zeroes it. Accepts NULL. */
void store__series_free(struct store__series *s);

/*
 * What one probe did over a range: run counts, the runs' latencies, and
 * each step's (by step name id, in first-seen order).
 */
struct store__summary {
	int64_t runs, ok, skipped;    /* passed + failed, passed, not run */
	struct store__series run;     /* key 0 */
	struct store__series *steps;  /* owned */
	size_t nsteps, cap;
	bool hist;                    /* series start approximate (rollups are built so) */
};

/* The series of step key (> 0), added (at idx) when new; NULL when out of memory. */
struct store__series *store__summary_step(struct store__summary *sum, int64_t key, int64_t idx);

/* Frees what sum holds and zeroes it. */
void store__summary_free(struct store__summary *sum);

/* ------------------------------------------------------------------ name cache */

/*
 * Interns names (probes, steps) as ids, so that each is looked up in the
 * database once per process. Ids a transaction just created are tentative:
 * a rollback forgets them (the rows are gone), a commit keeps them.
 */
struct store__names {
	struct store__name **buckets; /* owned, chained */
	size_t nbuckets;
	size_t count;
	struct store__name **fresh;   /* owned array of borrowed entries: tentative ids */
	size_t nfresh, fresh_cap;
};

/* Returns the id cached for name, or 0 when none is known. */
int64_t store__names_get(const struct store__names *n, const char *name);

/* Caches name -> id (id > 0), tentatively or for good. Returns 0 or -ENOMEM. */
int store__names_put(struct store__names *n, const char *name, int64_t id, bool tentative);

/* The transaction committed: tentative ids stand. */
void store__names_commit(struct store__names *n);

/* The transaction rolled back: tentative ids are forgotten. */
void store__names_rollback(struct store__names *n);

/* Frees every entry; n may be reused after. */
void store__names_clear(struct store__names *n);

#endif
