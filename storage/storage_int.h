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

#define STORE__BACKEND_VERSION 2

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
