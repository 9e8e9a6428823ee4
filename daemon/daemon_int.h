/* daemon_int.h - what only the daemon's files share: the scheduler. */
#ifndef CANARY_DAEMON_INT_H
#define CANARY_DAEMON_INT_H

#include "alerting/alert.h"
#include "daemon/daemon.h"
#include "probes/probe.h"
#include "storage/storage.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define daemon__container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

struct daemon__sched;

/* One probe on its schedule. Freed once its timer has closed. */
struct daemon__entry {
	uv_timer_t timer;
	struct daemon__sched *sched;
	struct probe_def *def;       /* a reference */
	uint64_t due_ns;             /* the next scheduled start, on uv_hrtime's clock */
	int64_t run_lag_us;          /* how late the run in flight started */
	struct probe_run *run;       /* in flight, or NULL */
	int64_t failing;             /* consecutive failed runs, for log lines on changes */
};

struct daemon__sched {
	uv_loop_t *loop;
	struct probe_engine *engine; /* borrowed */
	struct store *store;         /* borrowed; may be NULL */
	struct alert_service *alerts; /* borrowed; may be NULL */
	struct daemon__entry **entries;
	size_t nentries;
	int open_timers;
	bool stopping;
	void (*idle_cb)(struct daemon__sched *s); /* called when stopping and no run is left */
	void (*close_cb)(struct daemon__sched *s);
	uint64_t runs, skipped;
};

/* Schedules every probe of cfg. Returns 0 or a negative error. */
int daemon__sched_start(struct daemon__sched *s, struct probe_def **probes, size_t n);
/* Stops scheduling new runs; runs in flight go on. idle_cb fires once none is left. */
void daemon__sched_stop(struct daemon__sched *s);
/* Aborts every run in flight (each is recorded as aborted). */
void daemon__sched_abort(struct daemon__sched *s);
/* Closes the timers; cb fires once every entry is freed. */
void daemon__sched_close(struct daemon__sched *s, void (*cb)(struct daemon__sched *s));

#endif
