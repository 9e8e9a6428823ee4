/* daemon_int.h - what only the daemon's files share: the daemon, its scheduler, control socket and reloads. */
#ifndef CANARY_DAEMON_INT_H
#define CANARY_DAEMON_INT_H

#include "alerting/alert.h"
#include "daemon/daemon.h"
#include "probes/probe.h"
#include "storage/storage.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define daemon__container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

/*
 * A request that is answered later (reload, run-now): its owner embeds it and
 * is told through done, once, on the loop. done steals answer (NULL only when
 * out of memory). A function that takes a pending and returns an error never
 * calls done.
 */
struct daemon__pending {
	struct daemon__pending *next;
	void (*done)(struct daemon__pending *p, json_t *answer);
};

/* ------------------------------------------------------------------ sched.c */

struct daemon__sched;

/*
 * One probe on its schedule. Freed at close, or, once retired by a reload,
 * when its timer has closed and its run in flight has ended.
 */
struct daemon__entry {
	uv_timer_t timer;
	struct daemon__sched *sched;
	struct probe_def *def;       /* a reference; a run in flight holds its own */
	uint64_t due_ns;             /* the next scheduled start, on uv_hrtime's clock */
	int64_t run_lag_us;          /* how late the run in flight started */
	struct probe_run *run;       /* in flight, or NULL */
	int64_t failing;             /* consecutive failed runs, for log lines on changes */
	struct daemon__pending *waiters; /* run-now requests answered when the run in flight ends */
	struct daemon__pending *starter; /* the one of them that started it, or NULL */
	uint64_t skipping;           /* runs skipped in a row while the last one went on */
	bool retired;                /* removed by a reload */
	bool timer_closed;
};

/*
 * A condition logged at most once per DAEMON__SUMMARY_NS: the first time at
 * once, then the count of what happened since. Each occurrence still has its
 * own debug line; these keep an overloaded daemon from flooding the journal.
 */
#define DAEMON__SUMMARY_NS (10 * 1000000000ull)
struct daemon__summary {
	uint64_t logged_ns; /* when last logged; 0: never */
	uint64_t n;         /* occurrences since */
};

struct daemon__sched {
	uv_loop_t *loop;
	struct probe_engine *engine; /* borrowed */
	struct store *store;         /* borrowed; may be NULL */
	struct alert_service *alerts; /* borrowed; may be NULL */
	struct daemon__entry **entries; /* sorted by name; retired ones too, until freed */
	size_t nentries, cap;
	size_t nretired;             /* of entries, the retired ones */
	int open_timers;
	bool stopping, closing;
	void (*idle_cb)(struct daemon__sched *s); /* called when stopping and no run is left */
	void (*close_cb)(struct daemon__sched *s);
	uint64_t runs, skipped;
	struct daemon__summary behind;  /* runs skipped because the daemon fell behind */
	struct daemon__summary dropped; /* results storage had no room for */
};

/* Schedules every probe of probes (each borrowed; a reference is taken) but the paused. Returns 0 or a negative error. */
int daemon__sched_start(struct daemon__sched *s, struct probe_def **probes, size_t n);
/* Stops scheduling new runs; runs in flight go on. idle_cb fires once none is left. */
void daemon__sched_stop(struct daemon__sched *s);
/* Aborts every run in flight (each is recorded as aborted). */
void daemon__sched_abort(struct daemon__sched *s);
/* Closes the timers; cb fires once every entry is freed. Call once no run is in flight. */
void daemon__sched_close(struct daemon__sched *s, void (*cb)(struct daemon__sched *s));

/* The entry (borrowed) of the probe named name, retired ones aside; NULL when none. */
struct daemon__entry *daemon__sched_find(struct daemon__sched *s, const char *name);
/* Reload: schedules def (a reference is taken), with its phase as at start-up. Returns 0 or a negative error. */
int daemon__sched_add(struct daemon__sched *s, struct probe_def *def);
/*
 * Reload: en runs def (a reference is taken) from its next run on; a run in
 * flight ends with the old one. The schedule stays when every is unchanged;
 * otherwise the next start is the previous one plus the new every, not before
 * now. Pausing stops the timer; resuming starts it again on the grid it left
 * (the first slot not before now), so a brief pause adds no run.
 */
void daemon__sched_update(struct daemon__sched *s, struct daemon__entry *en, struct probe_def *def);
/*
 * Reload: stops scheduling en; its run in flight ends and is recorded, then en
 * is freed. Should a probe of that name be added back meanwhile, its runs
 * wait for that one: they are skipped, or run-now joins it.
 */
void daemon__sched_remove(struct daemon__sched *s, struct daemon__entry *en);
/* Is a run of en's probe in flight (en's, or that of a removed entry of the same name)? */
bool daemon__sched_running(const struct daemon__sched *s, struct daemon__entry *en);
/*
 * run-now: p is answered {"ok": true, "result": ...} when the probe's run
 * ends: the run in flight ("joined": true), or one started now, which goes
 * the same way as a scheduled one. Returns 0, or a negative error (p is not kept).
 */
int daemon__sched_run_now(struct daemon__sched *s, struct daemon__entry *en, struct daemon__pending *p);

/* ------------------------------------------------------------------ control.c */

struct daemon__conn;

struct daemon__control {
	uv_pipe_t server;
	bool open;                   /* server is initialised and not closed */
	bool closing;                /* daemon__control_close was called: answers are the last words */
	struct daemon__conn *conns;  /* every connection not yet freed */
	size_t nconns;
};

/* ------------------------------------------------------------------ reload.c */

struct daemon__reload {
	uv_work_t work;
	bool busy;                   /* a load is on the thread pool */
	bool again;                  /* a reload was asked for during it */
	struct daemon__pending *current; /* answered by the load in flight */
	struct daemon__pending *next;    /* answered by the load after it */
	char *path;                  /* owned; the main file */
	struct cfg *loaded;          /* the load's outcome, taken on the loop */
	struct cfg_diags diags;
	int rc;
};

/* ------------------------------------------------------------------ the daemon */

struct daemon {
	uv_loop_t loop;
	struct cfg *cfg0;                /* borrowed from the caller: channels, state_dir, control_socket */
	struct cfg *cfg;                 /* the newest: cfg0 or one of ours, freed when replaced */
	struct daemon__sched sched;
	struct probe_engine *engine;
	struct store *store;
	struct alert_service *alerts;
	uv_mutex_t alerts_lock;          /* guards alerts against the store's writer thread */
	bool sched_idle, alerts_idle;
	uv_signal_t sigterm, sigint, sighup;
	uv_timer_t grace;
	int grace_ms;
	bool stopping;
	bool closing;
	int64_t started_ms;
	struct daemon__control control;
	struct daemon__reload reload;
	uv_timer_t watchdog, status_timer;
	uv_timer_t retention_timer;
	uv_work_t retention_work;
	bool retention_busy;
	atomic_bool retention_cancel;    /* set when stopping: the pass in flight ends after its transaction */
	struct store_retention retention; /* the pass in flight's, copied from cfg on the loop */
	int retention_rc;
	struct store_retention_stats retention_stats;
};

/*
 * control.c, first thing at start-up: -EADDRINUSE, logged, when another
 * canary answers on cfg0->control_socket; otherwise 0, a stale socket file
 * left by a crash removed.
 */
int daemon__control_claim(struct daemon *d);
/*
 * control.c: listens on cfg0->control_socket (mode 0660). When the socket
 * cannot be made, a warning says so and the daemon goes on without it.
 */
void daemon__control_open(struct daemon *d);
/* control.c: stops listening and unlinks the socket; connections stay. Safe to call twice. */
void daemon__control_stop(struct daemon *d);
/* control.c: also closes every connection; those waiting for an answer are freed once it comes. */
void daemon__control_close(struct daemon *d);

/*
 * reload.c: loads cfg->path again off the loop and applies it; p (may be
 * NULL, for SIGHUP) is answered by a load that starts after this call.
 * Returns 0, or a negative error (p is not kept).
 */
int daemon__reload_request(struct daemon *d, struct daemon__pending *p);
/* reload.c: frees what reloading holds (at exit, after the loop ran out). */
void daemon__reload_free(struct daemon *d);

/* status.c: the status answer (new). */
json_t *daemon__status_json(struct daemon *d);
/* status.c: sends systemd a STATUS line: probes, paused, runs, skipped. */
void daemon__notify_status(struct daemon *d);
/* status.c: starts the watchdog pings (when systemd asks for them) and the minutely STATUS. Returns 0 or a negative error. */
int daemon__status_start(struct daemon *d);
/* status.c: closes their timers. */
void daemon__status_close(struct daemon *d);

/* retention.c: a retention pass a minute after start, then hourly, on a worker. Returns 0 or a negative error. */
int daemon__retention_start(struct daemon *d);
/* retention.c: closes its timer and cancels a pass in flight, which ends after its transaction (the loop waits for it). */
void daemon__retention_close(struct daemon *d);

#endif
