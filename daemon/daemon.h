/* daemon.h - the long-running side of canary: the loop, the scheduler, signals and logging. */
#ifndef CANARY_DAEMON_H
#define CANARY_DAEMON_H

#include <syslog.h>

#include "config/config.h"

struct daemon_opts {
	int log_level;        /* the most verbose syslog priority logged, e.g. LOG_INFO */
	int grace_ms;         /* how long in-flight runs may finish at shutdown; 0: 4500 */
};

/*
 * Runs every probe of cfg (borrowed) on its schedule until SIGTERM or SIGINT,
 * storing each run. Returns the process exit status: 0 after a clean stop,
 * 1 when start-up failed (the reason is logged).
 */
int daemon_run(struct cfg *cfg, const struct daemon_opts *opts);

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
