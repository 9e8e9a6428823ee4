/* tests.h - the suites of the Check runner and the helpers they share. */
#ifndef CANARY_TESTS_H
#define CANARY_TESTS_H

#include <check.h>

Suite *duration_suite(void);
Suite *tmpl_suite(void);
Suite *jpath_suite(void);
Suite *assert_suite(void);
Suite *config_suite(void);
Suite *storage_suite(void);
Suite *engine_suite(void);
Suite *cli_suite(void);
Suite *alert_store_suite(void);   /* check_alert_store.c: incidents, outbox, maintenance in storage */
Suite *channels_suite(void);      /* check_channels.c: channel plugins' render and classify */
Suite *alert_suite(void);         /* check_alert.c: incident state machine and dispatcher */
Suite *cli_alert_suite(void);     /* check_cli_alert.c: incidents, incident show, maintenance, alert test */
Suite *store_report_suite(void); /* check_store_report.c: histograms, percentiles, status and report figures in storage */
Suite *control_suite(void);   /* check_control.c: the daemon's control socket, reload and run-now */
Suite *notify_suite(void);    /* check_notify.c: systemd notify messages and the watchdog, read from a socket of our own */
Suite *cli_probe_suite(void); /* check_cli_probe.c: probe add/list/show/rm/pause/resume and run-now, on the real binary */
Suite *cli_report_suite(void); /* check_cli_report.c: status, report and annotate on the real binary, checked independently */
Suite *faults_target_suite(void);  /* check_faults_target.c: targets that misbehave: hangs, resets, slowloris, floods, garbage, TLS certificates, DNS */
Suite *faults_daemon_suite(void);  /* check_faults_daemon.c: the daemon under faults: a locked or read-only database, kill -9, a channel down, SIGHUP storms, malformed input */
Suite *alertfx_suite(void);       /* check_alertfx.c: the fake Slack/Instatus/webhook receivers themselves */
Suite *store_retention_suite(void); /* check_store_retention.c: retention, annotations, read-only stores and the schema in storage */

/* ---- helpers (helpers.c) ---- */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>
#include <sys/types.h>

/* CLOCK_MONOTONIC in ms, for deadlines. */
int64_t t_mono_ms(void);
/* Pauses 20 ms before a condition is polled again; false once deadline (t_mono_ms) has passed. */
bool t_poll_again(int64_t deadline);

/* A new temp directory (owned string); t_rmrf removes it and everything in it. */
char *t_tmpdir(void);
void t_rmrf(const char *path);
/* Writes a file; the path is dir/name, printf-formatted content. */
void t_writef(const char *dir, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Reads a whole file into a new string (NULL if it cannot); *len may be NULL. */
char *t_slurp(const char *path, size_t *len);

/* Starts argv with stdout/stderr piped to *out_fd / *err_fd (NULL: inherited). */
pid_t t_spawn(char *const argv[], char *const envp_extra[], int *out_fd, int *err_fd);
/* Waits for pid to exit, up to timeout_ms; returns its exit status, 128+signal, or -1 on timeout. */
int t_wait(pid_t pid, int timeout_ms);
/* Kills pid (by PID) with SIGKILL if still there, and reaps it. */
void t_kill(pid_t pid);
/* Runs argv to completion (up to timeout_ms), capturing stdout and stderr (new strings). Returns the status. */
int t_run(char *const argv[], char *const envp_extra[], char **out, char **err, int timeout_ms);
/*
 * Reads fd until needle has appeared count times or timeout_ms passes. What was
 * read is appended to *acc (new or grown). Returns true when found.
 */
bool t_read_until(int fd, const char *needle, int count, int timeout_ms, char **acc);

/* The binaries under test, from $CANARY_BIN and $FAKEAPI_BIN. */
const char *t_canary_bin(void);
/* Starts the fixture API on an ephemeral loopback port with login password "secret". */
pid_t t_fakeapi_start(int *port);
/* The same, with another login password. */
pid_t t_fakeapi_start_pw(int *port, const char *password);
void t_fakeapi_stop(pid_t pid);
/* POSTs body to http://127.0.0.1:port/path; returns the HTTP status or -1. */
long t_http_post(int port, const char *path, const char *body);
/* A loopback port that nothing listens on (bound, then closed). */
int t_closed_port(void);

/* Direct SQLite access, to check what the store wrote or to prepare what it reads; each fails the test on an error. */

/* A new connection to path (created when missing), waiting up to 5 s for locks; sqlite3_close it. */
sqlite3 *t_db_open(const char *path);
/* Runs the statements in sql. */
void t_db_exec(sqlite3 *db, const char *sql);
/* The first column of the first row of sql, as an integer; the query must return a row. */
int64_t t_db_int(sqlite3 *db, const char *sql);
/* The same on a connection of its own to path, opened and closed around the query. */
int64_t t_db_file_int(const char *path, const char *sql);

struct store;
struct store_opts;
/* Opens a store as o (borrowed) says, failing the test unless that works; a new store for store_close. */
struct store *t_store_open(const struct store_opts *o);
/* Polls the stats of s every 10 ms, up to max_ms, until failing is want; false if it never is. */
bool t_store_wait_failing(struct store *s, bool want, int max_ms);

/* ---- helpers.c: the CLI on the real binary (check_cli_report.c and any other CLI suite) ---- */

#include <jansson.h>

/* Runs the canary binary with the NULL-terminated args (up to 30), 10 s at most; as t_run. */
int t_canary_run(char **out, char **err, ...);
/* Parses text as JSON, failing the test otherwise. New reference. */
json_t *t_json(const char *text);
/* Asserts that each of the n needles appears in hay, each after the one before. */
void t_assert_in_order(const char *hay, const char *const *needles, size_t n);
/* Formats Unix ms (UTC) with strftime's fmt into buf. Returns buf. */
char *t_time_fmt(int64_t ms, const char *fmt, char *buf, size_t size);

/* ---- helpers.c: the daemon on the real binary (check_control.c, and any suite that runs it) ---- */

struct t_daemon {
	pid_t pid;
	int efd;       /* its stderr */
	char *log;     /* what was read of it so far */
};

/* Starts `canary run -c cfgpath -v` with env_extra (may be NULL) added to the environment. */
void t_daemon_start(struct t_daemon *d, const char *cfgpath, char *const env_extra[]);
/* Reads the daemon's log until needle has appeared count times; fails the test after timeout_ms. */
void t_daemon_expect(struct t_daemon *d, const char *needle, int count, int timeout_ms);
/* SIGTERM, then the rest of the log; fails the test unless it exits 0 within 8 s. Frees the log. */
void t_daemon_stop(struct t_daemon *d);
/* The first column of the first row of a printf-formatted query on db, as t_db_int. */
int64_t t_db_intf(sqlite3 *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
