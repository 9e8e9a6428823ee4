/* daemon.h - the long-running side of canary: the loop, the scheduler, signals and logging. */
#ifndef CANARY_DAEMON_H
#define CANARY_DAEMON_H

#include <stdint.h>
#include <syslog.h>

#include "config/config.h"

struct daemon_opts {
	int log_level;        /* the most verbose syslog priority logged, e.g. LOG_INFO */
	int grace_ms;         /* how long in-flight runs may finish at shutdown; 0: 4500 */
};

/*
 * The control socket (cfg->control_socket, mode 0660): line-delimited JSON,
 * one request object per line in, one answer object per line out, on a
 * connection that stays open for more requests. Requests:
 *
 *   {"cmd": "reload"}
 *   {"cmd": "run-now", "probe": "NAME"}
 *   {"cmd": "status"}
 *
 * Every answer has "ok": true, or "ok": false and "error" (a message for a
 * person). A malformed line (not JSON, not an object, unknown cmd, a line over
 * 64 KiB) gets {"ok": false, "error": "..."}, never a crash.
 *
 *   reload   {"ok": true, "added": [names], "changed": [names], "removed": [names],
 *             "unchanged": [names], "paused": [names of paused probes],
 *             "restart_needed": [main-file keys that changed but apply only at
 *             restart: "state_dir", "control_socket", "storage.max_pending", "channels"]}
 *            or, when the new config is invalid (the running one stays):
 *            {"ok": false, "error": "...", "diagnostics": ["FILE:LINE:COL: message", ...]}
 *   run-now  answered when the run ends: {"ok": true, "result": probe_result_json()}
 *            (a run already in flight is waited for and its result given, with "joined": true);
 *            {"ok": false, "error": "no probe named \"X\""} otherwise
 *   status   {"ok": true, "pid": N, "version": "0.1.0", "started_ms": N, "config": PATH,
 *             "probes": [{"name", "paused", "running", "every_ms", "failing"}],
 *             "runs": N, "skipped": N, "alerts_pending": N,
 *             "results_pending": N, "results_dropped": N}
 *            (probes sorted by name; "failing" is the number of consecutive failed
 *            runs, 0 when the last one passed; results_pending wait for the
 *            database, results_dropped were lost when storage.max_pending waited)
 *
 * Peers are checked: root, the daemon's own uid, or a process in the
 * daemon's group, as its primary gid (SO_PEERCRED) or one of its
 * supplementary groups (SO_PEERGROUPS, Linux 4.13; on older kernels only the
 * primary gid counts), all as they were when it connected; any other gets
 * {"ok": false, "error": "permission denied"} and is disconnected.
 *
 * While canary stops, the socket file is removed at once; connections still
 * open get "canary is stopping" for reload and run-now, and are closed once
 * the last run has ended (a reload then pending is answered first).
 */

/*
 * Runs every probe of cfg (borrowed) on its schedule until SIGTERM or SIGINT,
 * storing each run. Returns the process exit status: 0 after a clean stop,
 * 1 when start-up failed (the reason is logged).
 */
int daemon_run(struct cfg *cfg, const struct daemon_opts *opts);

/*
 * systemd's notify protocol, written directly: a datagram to $NOTIFY_SOCKET
 * (a path, or "@name" for the abstract namespace). Without NOTIFY_SOCKET it
 * does nothing and returns 0. Returns 0 or a negative error. Non-blocking.
 */
int daemon_notify(const char *state);
int daemon_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * The watchdog interval systemd asks for ($WATCHDOG_USEC, when $WATCHDOG_PID
 * is unset or our pid), in ms; 0 when none. The daemon sends WATCHDOG=1 from
 * a loop timer at half of it, so a stuck loop misses the deadline.
 */
uint64_t daemon_watchdog_ms(void);

/*
 * Logging: one line per event on stderr. Under systemd (JOURNAL_STREAM names
 * our stderr) lines carry "<N>" priority prefixes for the journal; elsewhere
 * a UTC timestamp and the level name. Never pass a secret.
 */
void daemon_log_init(int max_prio);
void daemon_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parses "debug", "info", "notice", "warning", "err"/"error"; returns the LOG_* value or -1. */
int daemon_log_level_parse(const char *name);

#endif
