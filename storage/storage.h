/* storage.h - backend-neutral storage of runs: a writer thread off the loop, and readers for the CLI. */
#ifndef CANARY_STORAGE_H
#define CANARY_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probes/probe.h"

/*
 * A store is one database (SQLite today; the API names no SQL so that other
 * backends can follow). A daemon opens it read-write and starts its writer;
 * the CLI opens it read-only and only reads. All functions but store_submit
 * may block on disk: call them off the loop, or before it runs.
 */
struct store;

/* Called from the writer thread for problems worth a log line. prio is a syslog LOG_* level. */
/* (Also from the thread calling store_close or store_probe_status, for their own failures.) */
typedef void (*store_log_fn)(int prio, const char *msg, void *arg);

enum {
	STORE_READONLY = 1,   /* never create, migrate or write */
};

struct store_opts {
	const char *path;     /* the database file */
	unsigned flags;
	size_t max_pending;   /* results held in memory while writes fail; 0: 100000 */
	int batch_ms;         /* how long a result may wait to be batched; 0: 200 */
	store_log_fn log;     /* may be NULL */
	void *log_arg;
};

/*
 * Opens (creating when writable and missing) and migrates the database forward.
 * Returns 0 and *out, or a negative error with a new message in *err.
 * Read-only on a missing file gives -ENOENT.
 */
int store_open(const struct store_opts *opts, struct store **out, char **err);

/*
 * Writes what is pending (waiting up to the writer's retry budget), stops the
 * writer and closes. Accepts NULL.
 */
void store_close(struct store *s);

/* Starts the writer thread. Returns 0 or a negative error. */
int store_writer_start(struct store *s);

/*
 * Queues r for writing; r is stolen. Never blocks on disk: when max_pending
 * results already wait, r is dropped, counted, and -ENOBUFS returned.
 * Safe from the loop's thread while the writer runs. A read-only store
 * refuses with -EROFS (r is freed all the same).
 */
int store_submit(struct store *s, struct probe_result *r);

/*
 * Waits until everything submitted before the call is written, or timeout_ms
 * passes. Returns 0, or -ETIMEDOUT.
 * A negative timeout_ms waits without limit. When results wait but the writer
 * was never started, returns -EINVAL at once (store_close still writes them).
 */
int store_flush(struct store *s, int timeout_ms);

struct store_stats {
	uint64_t submitted;   /* results accepted by store_submit */
	uint64_t written;     /* results committed */
	uint64_t dropped;     /* results lost to a full queue */
	uint64_t pending;     /* results waiting */
	bool failing;         /* the last write attempt failed */
};

void store_get_stats(struct store *s, struct store_stats *out);

/* ------------------------------------------------------------------ reading */

/* One probe's recent history, as `canary status` shows it. */
struct store_status {
	bool has_run;          /* a run (not skipped or aborted) is recorded */
	bool last_ok;          /* that run passed */
	int64_t last_run_ms;   /* its start, Unix ms */
	int64_t latency_us;    /* its total */
	char *error_class;     /* owned; NULL when it passed */
	char *error;           /* owned; NULL when it passed */
	int64_t runs_24h;      /* passed and failed runs in the 24 h before now */
	int64_t ok_24h;        /* passed among them */
};

/*
 * Fills out for the probe named probe, counting the 24 h before now_ms.
 * A probe with no runs gives has_run false and zero counts. Returns 0 or a
 * negative error.
 */
int store_probe_status(struct store *s, const char *probe, int64_t now_ms,
		       struct store_status *out);
void store_status_clear(struct store_status *st);

#endif
