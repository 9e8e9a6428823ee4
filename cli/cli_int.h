/* cli_int.h - what only the subcommands' files share. */
#ifndef CANARY_CLI_INT_H
#define CANARY_CLI_INT_H

#include "cli/cli.h"
#include "config/config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Exit statuses of `canary check`, as monitoring plugins use them. */
enum { CLI_CHECK_OK = 0, CLI_CHECK_FAIL = 2, CLI_CHECK_INVALID = 3 };

int cli_check(int argc, char **argv);
int cli_config(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_status(int argc, char **argv);
int cli_incidents(int argc, char **argv);   /* incidents.c: `canary incidents` */
int cli_incident(int argc, char **argv);    /* incidents.c: `canary incident show` */
int cli_maintenance(int argc, char **argv); /* maint.c: `canary maintenance add|list|end` */
int cli_alert(int argc, char **argv);       /* alert_cmd.c: `canary alert test` */
int cli_probe(int argc, char **argv);       /* probe_cmd.c: `canary probe add|list|show|rm|pause|resume` */
int cli_run_now(int argc, char **argv);     /* run_now.c: `canary run-now NAME` */
int cli_report(int argc, char **argv);      /* report.c: `canary report` */
int cli_annotate(int argc, char **argv);    /* annotate.c: `canary annotate TEXT` */

/* ---- control.c: the client side of the daemon's control socket (see daemon/daemon.h) ---- */

/*
 * Sends req (one JSON object) to the daemon at socket_path and waits up to
 * timeout_ms for its one-line answer. Returns 0 and *answer (a new reference;
 * "ok" may be false), -ENOENT or -ECONNREFUSED when no daemon listens there,
 * -EACCES when the socket may not be opened, -ETIMEDOUT, or another negative
 * error (-EPROTO: the answer was not a JSON object).
 */
int cli_control_call(const char *socket_path, const json_t *req, int timeout_ms, json_t **answer);

/* The exit status of a usage error in the incident, maintenance and alert commands. */
enum { CLI_USAGE = 2 };

/*
 * Loads the config at path (flags: CFG_*), printing every problem to stderr as FILE:LINE:COL.
 * Returns the config or NULL.
 */
struct cfg *cli_load_config(const char *path, unsigned flags);

/* The config path: -c's value, else $CANARY_CONFIG, else CFG_DEFAULT_PATH. */
const char *cli_config_path(const char *given);

/*
 * Formats Unix ms as RFC 3339 UTC ("2026-11-21T10:00:00Z") into buf, or "?" when
 * it cannot be broken down into a date or does not fit. Returns buf.
 */
char *cli_time_rfc3339(int64_t ms, char *buf, size_t size);

/* ---- shared.c: what the incident, maintenance and alert commands share ---- */

struct store;

/* Formats Unix ms as UTC "2026-11-21 14:02:05" into buf (at least 20 bytes). Returns buf. */
char *cli_time_utc(int64_t ms, char *buf, size_t size);

/* Formats a span of ms as "45s", "7m 12s", "3h 5m" or "2d 4h" into buf. Returns buf. */
char *cli_span(int64_t ms, char *buf, size_t size);

/* Parses a positive decimal integer (an id, a limit) into *out. Returns 0 or -EINVAL. */
int cli_parse_id(const char *s, int64_t *out);

/*
 * Opens cfg's database (flags: STORE_*) into *out, printing why not to
 * stderr. Read-only on a missing file prints "no database at PATH yet (has
 * the daemon run?)" and returns -ENOENT; read-write creates state_dir (one
 * level) and the database. Returns 0 or a negative error.
 */
int cli_store_open(const struct cfg *cfg, unsigned flags, struct store **out);

/*
 * Prints "canary: MSG" (unless fmt is NULL: getopt has said what was wrong)
 * and the usage lines of usage (up to its first blank line) to stderr;
 * returns CLI_USAGE.
 */
int cli_usage_error(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * For `canary CMD SUB ...` (argv[0] is CMD): returns the index of argv[1] in
 * subs (NULL-terminated). Otherwise returns -1 and sets *status: 0 having
 * printed usage for --help, CLI_USAGE having said what is wrong.
 */
int cli_subcommand(int argc, char **argv, const char *const *subs, const char *usage, int *status);

/* Prints v (borrowed) to stdout as indented JSON and a newline. */
void cli_json_print(const json_t *v);

/* A new JSON string of s (bytes that are not UTF-8 become "?"), or null for NULL. */
json_t *cli_json_text(const char *s);

/* A new RFC 3339 string of Unix ms, or null when ms <= 0 (unset) or cannot be formatted. */
json_t *cli_json_time(int64_t ms);

/*
 * Prints s on one line: control characters become spaces. Past max
 * characters (UTF-8; 0: no limit) it is cut, ending in "...".
 */
void cli_put_flat(FILE *out, const char *s, size_t max);

/*
 * Prints prose text, then ": " and detail (an error message; may be NULL):
 * on one line (md false), or as one Markdown table cell, "|" escaped, line
 * breaks as <br> and detail as a code span.
 */
void cli_put_cell(FILE *out, bool md, const char *text, const char *detail);

/* Prints "canary CMD: MSG" to stderr; returns status, for `return cli_fail(2, ...)`. */
int cli_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- shared.c: times given, probes named, latencies (report, annotate, status, maintenance, incident show) ---- */

/*
 * Parses "now" (now) or ISO 8601 "YYYY-MM-DD(T| )HH:MM[:SS[.fff]][Z|+HH:MM|-HHMM]"
 * (no zone: UTC) into Unix ms in *out; a fraction counts to the millisecond,
 * finer digits are dropped. Returns 0 or -EINVAL.
 */
int cli_parse_time(const char *s, int64_t now, int64_t *out);

/* Whether d (may be NULL) has tag (may be NULL: false). */
bool cli_probe_has_tag(const struct probe_def *d, const char *tag);

/*
 * Refuses a probe (or tag) that no probe of cfg is named (or has), printing
 * "canary CMD: no probe named ..." with a "did you mean" to stderr: returns
 * -ENOENT then, else 0 (also when both are NULL).
 */
int cli_check_target(const struct cfg *cfg, const char *cmd, const char *probe, const char *tag);

struct store_status;

/* A probe's state as status and probe show name it: "paused", "up", "down" or "unknown" (no run yet). */
const char *cli_probe_state(bool paused, const struct store_status *st);

/* A new JSON real of us in milliseconds, or null when us < 0 (none). */
json_t *cli_json_ms(int64_t us);

/*
 * Formats the share of ok among runs as "99.93%" into buf ("-" when runs is
 * 0): two decimals, but never 100.00% while a run failed nor 0.00% while one
 * passed. Returns buf.
 */
char *cli_uptime_text(int64_t ok, int64_t runs, char *buf, size_t size);

/* Formats us as "12.3 ms" ("-" when us < 0) into buf. Returns buf. */
char *cli_ms_text(int64_t us, char *buf, size_t size);

/*
 * A step's error as printed under that step: without the leading
 * `step "NAME": ` that the run's one-line error needs. "" for NULL.
 */
const char *cli_step_error(const char *error, const char *step);

/* ---- probe_cmd.c, probe_add.c, probe_edit.c: `canary probe` ---- */

/* The subcommands of `canary probe` (argv[0] is the subcommand's name); each returns the exit status. */
int cli_probe_add(int argc, char **argv);    /* probe_add.c */
int cli_probe_rm(int argc, char **argv);     /* probe_edit.c */
int cli_probe_pause(int argc, char **argv);  /* probe_edit.c */
int cli_probe_resume(int argc, char **argv); /* probe_edit.c */

/*
 * probe_cmd.c; run-now uses it too. Parses "[-c CONFIG] [--json] [NAME]" for
 * command cmd ("probe rm"), whose name getopt's messages then carry: json NULL
 * refuses --json, name NULL refuses a NAME, otherwise one is required.
 * Returns -1 having set *config (NULL when not given), *json and *name
 * (borrowed from argv), or the exit status: 0 after --help (usage printed),
 * CLI_USAGE having said what is wrong.
 */
int cli_name_args(int argc, char **argv, const char *cmd, const char *usage, const char **config, bool *json,
		  const char **name);

/* What a probe command changed, for cli_probe_reload's message. */
enum cli_probe_change { CLI_PROBE_ADDED, CLI_PROBE_REPLACED, CLI_PROBE_REMOVED, CLI_PROBE_PAUSED, CLI_PROBE_RESUMED };

/*
 * After probe name's file was changed: asks the daemon of cfg (borrowed) to
 * reload and prints whether it took the change ("probe web added; the daemon
 * picked it up"). Returns the exit status: 0 when it did, when no daemon runs
 * (the change applies at its next start) or when it may not be told
 * (permission: the message says how); 1 when it refused the new config,
 * did not answer, or did not take the change. refused_file (may be NULL) is
 * set when the daemon refused the config with a problem in the file named
 * file (may be NULL), which the caller may then put back as it was.
 */
int cli_probe_reload(const struct cfg *cfg, const char *name, enum cli_probe_change change, const char *file,
		     bool *refused_file);

/*
 * Reads all of the file at path ("-": stdin) into *text (new, NUL-terminated)
 * and *len, up to 4 MiB as the loader. Returns 0, -EFBIG or a negative error.
 */
int cli_read_input(const char *path, char **text, size_t *len);

/* root (borrowed) as the text of a probe file: indented by 2, keys in order, a final newline. New string or NULL. */
char *cli_probe_text(const json_t *root);

/*
 * Replaces (or, without replace, creates) the file at path with len bytes of
 * text, atomically: a hidden temp file beside it (the loader ignores dot
 * files), fsync, rename, fsync of the directory; the temp file is removed on
 * any failure. An existing file keeps its mode and, when we may, its owner; a
 * new one is 0644. Returns 0, -EEXIST (path exists and !replace) or a negative
 * error; once the file is in place it returns 0, a directory that cannot be
 * synced being only warned about on stderr.
 */
int cli_write_atomic(const char *path, const char *text, size_t len, bool replace);

/* ---- run_now.c: results the daemon sends ---- */

/*
 * Prints res (a probe_result_json() object, borrowed) as `canary check` does:
 * a header, each step with its status, timings and assertions, then OK or
 * FAIL. def (may be NULL) names the steps that did not run.
 */
void cli_result_print(const json_t *res, const struct probe_def *def);

#endif
