/* storage.h - backend-neutral storage of runs: a writer thread off the loop, and readers for the CLI. */
#ifndef CANARY_STORAGE_H
#define CANARY_STORAGE_H

#include <stdatomic.h>
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
	/*
	 * May be NULL. Called from the writer thread after each commit (and at
	 * close, for what was lost) with the sequence number up to which every
	 * submission (results and alert ops) has left the queue. Must not block.
	 * Never called with the store's own lock held, and never after
	 * store_close returns (at close it runs on the thread calling it).
	 */
	void (*committed)(uint64_t seq, void *arg);
	void *committed_arg;
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

/* Results only: alert ops take sequence numbers but are not counted here. */
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
	int64_t since_ms;      /* the first run of the current streak (runs with last_ok's result since
				* the latest run with the other result; skipped runs do not count),
				* Unix ms; 0 when !has_run. Raw runs only: when retention pruned the
				* streak's start, its first run kept */
	int64_t runs_7d;       /* as runs_24h and ok_24h, over the 7 days before now (with raw
				* retention under a week, rolled-up hours starting in it count too) */
	int64_t ok_7d;
	int64_t p95_us_24h;    /* p95 (nearest rank) of the total latency of the runs_24h runs; -1 when none */
};

/*
 * Fills out for the probe named probe, counting the 24 h and 7 days before
 * now_ms (both ends included). A probe with no runs gives has_run false,
 * zero counts and p95_us_24h -1. Returns 0 or a negative error. Reads the
 * probe's last week of runs (and, when its streak is older, the streak's).
 */
int store_probe_status(struct store *s, const char *probe, int64_t now_ms,
		       struct store_status *out);
void store_status_clear(struct store_status *st);


/* ------------------------------------------------------------------ incidents and the alert outbox */

/* Incident flags (store_incident.flags). */
enum {
	STORE_INC_ANNOUNCED = 1,       /* an event telling channels it is down was queued */
	STORE_INC_RESOLVE_SENT = 2,    /* the matching `resolved` event was queued */
	STORE_INC_SLOW = 4,            /* only latency assertions failed (a partial outage) */
};

/* One incident: a streak of failed runs of one probe, as alerting tracks it. */
struct store_incident {
	int64_t id;                /* > 0; assigned by alerting (store_alert_state.max_incident_id + 1 ...) */
	char *probe;               /* owned */
	int64_t started_ms;        /* the first failed run of the streak, Unix ms */
	int64_t detected_ms;       /* the run that crossed the threshold */
	int64_t resolved_ms;       /* the first passing run of the recovery streak; 0 while open */
	int64_t last_failed_ms;    /* the latest failed run */
	int64_t failed_runs;
	int64_t latency_us;        /* the latest failed run's duration */
	char *failed_step;         /* owned; the first failure's step name, or NULL */
	char *first_class;         /* owned; probe_class_name() of the first failure */
	char *first_error;         /* owned; its message (already scrubbed of secrets) */
	char *last_class;          /* owned */
	char *last_error;          /* owned */
	unsigned flags;            /* STORE_INC_* */
};

/* Delivery states of one event on one channel (an outbox row). */
enum store_dlv_state {
	STORE_DLV_PENDING = 0,     /* waiting or retrying */
	STORE_DLV_DELIVERED = 1,
	STORE_DLV_GAVE_UP = 2,     /* error says why */
	STORE_DLV_SKIPPED = 3,     /* the channel had nothing to send for it (error says why) */
	STORE_DLV_SUPPRESSED = 4,  /* not sent: maintenance (error says which window) */
};

/* One event, created by alerting; inserting it creates one PENDING outbox row per channel. */
struct store_event {
	int64_t id;                /* > 0; assigned by alerting */
	int64_t incident_id;       /* 0 for none */
	char *probe;               /* owned */
	char *kind;                /* owned; "opened", "reminder", "resolved", "flapping" */
	int64_t created_ms;
	char *payload;             /* owned; the event as JSON text (no secret in it) */
	char **channels;           /* owned; the channel names it goes to */
	size_t nchannels;
};

/* The state of one outbox row (event_id, channel). */
struct store_delivery {
	int64_t event_id;
	char *channel;             /* owned */
	int state;                 /* enum store_dlv_state */
	int attempts;              /* requests made so far */
	int64_t next_ms;           /* PENDING: not before (Unix ms); 0: at once */
	int64_t done_ms;           /* DELIVERED/GAVE_UP/SKIPPED: when */
	char *error;               /* owned; the last failure or why given up/skipped; NULL */
	char *ref;                 /* owned; what the receiver returned to refer to later (an Instatus incident id); NULL */
	long status;               /* the last HTTP status (or exit status), 0 when none */
};

/*
 * A change written in one transaction, together with whatever else the writer
 * batches with it: incidents upserted (by id, every column replaced), events
 * inserted with their outbox rows, and outbox rows updated (by event_id and
 * channel; rows not found are ignored). The op owns every string in it.
 */
struct store_alert_op {
	struct store_incident *incidents;
	size_t nincidents;
	struct store_event *events;
	size_t nevents;
	struct store_delivery *deliveries;
	size_t ndeliveries;
};

/* Frees what op holds and op itself. Accepts NULL. */
void store_alert_op_free(struct store_alert_op *op);
void store_incident_clear(struct store_incident *inc);
void store_event_clear(struct store_event *ev);
void store_delivery_clear(struct store_delivery *d);

/*
 * Queues op (stolen) behind everything submitted before it. Alert ops are
 * never dropped for a full queue (they are few and must not be lost). *seq
 * (may be NULL) receives the op's sequence number: it is committed once the
 * store's committed callback (store_opts.committed) reports a value >= *seq.
 * Returns 0, or a negative error (-EROFS on a read-only store; op is freed).
 * The writer commits a queued op at once, with whatever queued before it,
 * instead of waiting batch_ms. -EINVAL when s or op is NULL (op is freed).
 */
int store_submit_alert(struct store *s, struct store_alert_op *op, uint64_t *seq);

/* One pending outbox row with what delivering it needs. */
struct store_pending {
	struct store_event ev;     /* ev.channels is empty */
	struct store_delivery dlv;
	char *ref;                 /* owned; the newest non-NULL ref of another row of the same incident and channel, or NULL */
};

/* What a starting daemon needs back from the database. All owned; see store_alert_state_clear. */
struct store_alert_state {
	int64_t max_incident_id;
	int64_t max_event_id;
	struct store_incident *incidents; /* open ones, and those ANNOUNCED without RESOLVE_SENT; by id */
	size_t nincidents;
	struct store_pending *pending;    /* PENDING rows, by event id then channel */
	size_t npending;
};

/* Reads the alerting state. Blocking: call before the loop runs. Returns 0 or a negative error. */
int store_alert_load(struct store *s, struct store_alert_state *out);
void store_alert_state_clear(struct store_alert_state *st);

/* ------------------------------------------------------------------ incidents, for the CLI */

struct store_incident_filter {
	bool open_only;
	const char *probe;         /* NULL: every probe */
	int64_t since_ms;          /* incidents started at or after; 0: all */
	size_t limit;              /* 0: no limit; newest first */
};

/*
 * Lists incidents, newest (by started_ms, then id) first; f may be NULL for
 * all. *out is a new array of n entries (each cleared by store_incident_clear,
 * then the array freed), NULL when n is 0. Works on a read-only store.
 */
int store_incidents(struct store *s, const struct store_incident_filter *f,
		    struct store_incident **out, size_t *n);

/* One event of an incident and every delivery of it. */
struct store_timeline_event {
	struct store_event ev;          /* ev.channels lists the channels */
	struct store_delivery *dlv;     /* owned; one per channel, by channel name */
	size_t ndlv;
};

/*
 * Reads incident id and its events (oldest first). Returns 0, -ENOENT when
 * there is no such incident, or another negative error. Free with
 * store_timeline_clear.
 */
struct store_timeline {
	struct store_incident inc;
	struct store_timeline_event *events;
	size_t nevents;
};
int store_incident_timeline(struct store *s, int64_t id, struct store_timeline *out);
void store_timeline_clear(struct store_timeline *t);

/* ------------------------------------------------------------------ maintenance windows */

struct store_maint {
	int64_t id;
	char *probe;               /* owned; NULL when it matches by tag */
	char *tag;                 /* owned; NULL when it matches by probe */
	int64_t start_ms;
	int64_t end_ms;            /* ending it early sets end_ms to now */
	char *reason;              /* owned; may be NULL */
	int64_t created_ms;
};

void store_maint_clear(struct store_maint *m);
void store_maints_free(struct store_maint *v, size_t n);

/*
 * Adds a window (m->id is ignored); returns 0 and its new id in *id. A direct write, not queued.
 * m->created_ms 0 means now. -EINVAL when it names neither probe nor tag, or
 * end_ms <= start_ms; -EROFS on a read-only store.
 */
int store_maint_add(struct store *s, const struct store_maint *m, int64_t *id);
/*
 * Lists windows by id. active_at_ms > 0: only those with start_ms <= it < end_ms;
 * 0: all. *out is a new array.
 */
int store_maint_list(struct store *s, int64_t active_at_ms, struct store_maint **out, size_t *n);
/*
 * Ends window id at now_ms (when it has not ended already: then it is left as
 * it is and 0 returned). Returns 0, or -ENOENT (-EROFS on a read-only store).
 */
int store_maint_end(struct store *s, int64_t id, int64_t now_ms);


/* ------------------------------------------------------------------ reports */

/*
 * Percentiles are by nearest rank: of n values sorted ascending, the p-th is
 * the one at 1-based rank ceil(p / 100 * n). Latencies count the passed and
 * failed runs (skipped and aborted ones have none), and every step those runs
 * recorded.
 */

/* One step's latency over a report's range. */
struct store_report_step {
	char *name;                /* owned */
	int64_t count;             /* recorded executions of the step */
	int64_t p50_us, p95_us, p99_us, max_us; /* of its total_us; -1 when count is 0 */
};

/* One probe over [since_ms, until_ms). */
struct store_report {
	int64_t runs;              /* passed + failed runs started in the range */
	int64_t ok;                /* passed among them */
	int64_t skipped;           /* runs not made (skipped, aborted) */
	int64_t p50_us, p95_us, p99_us, max_us; /* of the runs' total duration; -1 when runs is 0 */
	int64_t incidents;         /* incidents started in the range */
	int64_t resolved;          /* of those, resolved */
	int64_t mttd_ms;           /* mean of detected - started over those incidents, rounded toward
				    * zero; -1 when none */
	int64_t mttr_ms;           /* mean of resolved - started over the resolved ones (so rounded);
				    * -1 when none */
	struct store_report_step *steps; /* owned; in step order (by the step's index, then name) */
	size_t nsteps;
	bool approx;               /* some of the range came from hourly rollups: counts and max_us are
				    * exact, percentiles within ~1.1 % (a histogram bucket's half width) */
};

/*
 * Reports on probe over [since_ms, until_ms). Raw runs are used where they are
 * still kept; the part of the range older than them (pruned by retention)
 * comes from hourly rollups, a rolled-up hour counting whole when it starts
 * in the range. Incidents always come whole. A probe without runs (or an
 * empty range) gives zero counts and -1s; until_ms < since_ms is -EINVAL.
 * One snapshot of the database, so a retention pass running meanwhile
 * never makes a run count twice or not at all. Runs written late for hours
 * already rolled up are left out until the next retention pass rolls them
 * in. Works on a read-only store. Free with store_report_clear.
 */
int store_report(struct store *s, const char *probe, int64_t since_ms, int64_t until_ms,
		 struct store_report *out);
void store_report_clear(struct store_report *r);

/* ------------------------------------------------------------------ annotations */

/* A marker an operator records: a deploy, a migration. */
struct store_annotation {
	int64_t id;
	int64_t at_ms;             /* when it happened, Unix ms */
	char *probe;               /* owned; NULL: not tied to one probe */
	char *tag;                 /* owned; NULL: not tied to a tag (neither: it concerns every probe) */
	char *text;                /* owned */
};

void store_annotation_clear(struct store_annotation *a);
void store_annotations_free(struct store_annotation *v, size_t n);

/*
 * Records a (a->id ignored; at_ms 0 means now; a is borrowed). A direct
 * write, not queued. Returns 0 and *id, or -EROFS, -EINVAL (text NULL or
 * empty). Retention deletes annotations older than its hourly_ms.
 */
int store_annotate(struct store *s, const struct store_annotation *a, int64_t *id);

/*
 * Lists the annotations with from_ms <= at_ms < to_ms (to_ms 0: no upper
 * bound), oldest first (then by id). The caller matches probe and tag.
 * *out is a new array (NULL when n is 0).
 */
int store_annotations(struct store *s, int64_t from_ms, int64_t to_ms, struct store_annotation **out,
		      size_t *n);

/* ------------------------------------------------------------------ retention */

struct store_retention {
	int64_t raw_ms;            /* runs (and their steps) older than this are rolled up, then deleted */
	int64_t hourly_ms;         /* hourly rollups older than this are deleted */
	int batch;                 /* rows per transaction; 0: 2000 (at most 100000) */
	int64_t budget_ms;         /* stop after about this long (the rest is left for the next pass); 0: no limit */
	const atomic_bool *cancel; /* may be NULL; once true, the pass stops after the transaction in progress */
};

struct store_retention_stats {
	int64_t hours_rolled;      /* (probe, hour) groups rolled up */
	int64_t runs_deleted;
	int64_t hourly_deleted;
	bool more;                 /* stopped by budget_ms or cancel with work left: run another pass soon */
};

/*
 * One pass of retention at now_ms: every whole hour older than raw_ms is
 * rolled up into hourly aggregates (runs, passed, skipped, and latency
 * histograms per probe and per step), then its raw runs are deleted, in
 * transactions of at most batch rows each so that no lock is held long: the
 * daemon's writer and the CLI's readers go on between them. Crash-safe and
 * resumable: an hour is rolled up once (the rollup and the mark that it was
 * made commit together) and deleting resumes where it stopped. Between two
 * transactions it pauses as long as the last one took (1 to 100 ms), so the
 * writer thread and other processes get in. Runs written late for an hour
 * already rolled up are added to its rollup by the next pass. Annotations
 * older than hourly_ms are deleted too. Blocking: call it off the loop (the
 * daemon runs it hourly on a worker thread), never concurrently with
 * store_close. -EINVAL unless raw_ms and hourly_ms are positive; -EROFS on
 * a read-only store. A pass stopped by budget_ms or cancel returns 0 with
 * st->more set. Returns 0 or a negative error (what committed stays,
 * and the next pass resumes from it); st (may be NULL) says what was done,
 * failed or not.
 */
int store_retention_run(struct store *s, const struct store_retention *r, int64_t now_ms,
			struct store_retention_stats *st);

#endif
