/* check_faults_daemon.c - the daemon under faults: a locked or read-only database, kill -9, a channel down, SIGHUP storms, malformed input. */
#include "tests/alertfx.h"
#include "tests/ctlclient.h"
#include "tests/tests.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/*
 * Every test runs the real binary against the fixture API (api_port) and
 * sends its alerts to the fake generic webhook (rx_port, route "hook"), both
 * on loopback, started once per TCase.
 */
static pid_t api_pid, rx_pid;
static int api_port, rx_port;
static char *dir;
static char cfgpath[4096], dbpath[4096], sockpath[4096];

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void start_servers(void)
{
	api_pid = t_fakeapi_start(&api_port);
	rx_pid = t_alertfx_start(&rx_port);
}

static void stop_servers(void)
{
	t_fakeapi_stop(api_pid);
	t_alertfx_stop(rx_pid);
}

/* The main config with extra (main-file members, each followed by a comma) before the rest. */
static void write_main_with(const char *extra)
{
	t_writef(dir, "canary.json",
		 "{ %s\"state_dir\": \"state\", \"probes_dir\": \"probes.d\", \"control_socket\": \"ctl.sock\",\n"
		 "  \"defaults\": { \"every\": \"200ms\", \"timeout\": \"2s\", \"alert\": { \"channels\": [\"hook\"] } },\n"
		 "  \"channels\": { \"hook\": { \"type\": \"webhook\", \"url\": \"http://127.0.0.1:%d/hook/canary\" } } }\n",
		 extra, rx_port);
}

/* The main config: probes every 200 ms unless they say otherwise, alerts to the fake webhook. */
static void write_main(void)
{
	write_main_with("");
}

static void setup(void)
{
	char sub[4200];

	dir = t_tmpdir();
	snprintf(cfgpath, sizeof(cfgpath), "%s/canary.json", dir);
	snprintf(dbpath, sizeof(dbpath), "%s/state/canary.db", dir);
	snprintf(sockpath, sizeof(sockpath), "%s/ctl.sock", dir);
	snprintf(sub, sizeof(sub), "%s/probes.d", dir);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	write_main();
	ck_assert_int_eq(t_alertfx_reset(rx_port), 200);
}

static void teardown(void)
{
	t_rmrf(dir);
	free(dir);
}

/* Writes probes.d/NAME.json aside, then renames it: a reload never reads half a file. */
static void write_probe(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void write_probe(const char *name, const char *fmt, ...)
{
	char path[4200], tmp[4300];
	va_list ap;

	snprintf(path, sizeof(path), "%s/probes.d/%s.json", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/probes.d/.%s.tmp", dir, name);
	FILE *f = fopen(tmp, "w");
	ck_assert_ptr_nonnull(f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(rename(tmp, path), 0);
}

/* A probe of GET path on the fixture API every `every`, expecting a 200. */
static void http_probe(const char *name, const char *every, const char *path)
{
	write_probe(name, "{ \"every\": \"%s\", \"url\": \"http://127.0.0.1:%d%s\", \"expect\": [\"status == 200\"] }\n",
		    every, api_port, path);
}

/* ------------------------------------------------------------------ the daemon */

/* Starts `canary run -c cfgpath` (-v when verbose), through prefix (NULL-terminated, may be NULL) if given. */
static void dmn_start(struct t_daemon *d, bool verbose, const char *const *prefix)
{
	char *argv[16];
	size_t n = 0;

	for (; prefix != NULL && prefix[n] != NULL; n++)
		argv[n] = (char *)prefix[n];
	argv[n++] = (char *)t_canary_bin();
	argv[n++] = "run";
	argv[n++] = "-c";
	argv[n++] = cfgpath;
	if (verbose)
		argv[n++] = "-v";
	argv[n] = NULL;
	d->log = NULL;
	d->pid = t_spawn(argv, NULL, NULL, &d->efd);
	ck_assert_int_gt(d->pid, 0);
}

/*
 * Reads the daemon's log until needle has appeared count times; fails the test
 * after timeout_ms, with the end of the log on stderr (Check's messages are short).
 */
static void dmn_expect(struct t_daemon *d, const char *needle, int count, int timeout_ms)
{
	if (t_read_until(d->efd, needle, count, timeout_ms, &d->log))
		return;
	size_t len = d->log ? strlen(d->log) : 0;
	fprintf(stderr, "%s\n", d->log ? d->log + (len > 8000 ? len - 8000 : 0) : "");
	ck_abort_msg("no \"%s\" (x%d) in the daemon's log (its end is above)", needle, count);
}

/* Reads the daemon's log for ms (it must be read: a full pipe would stall it). */
static void dmn_drain(struct t_daemon *d, int ms)
{
	t_read_until(d->efd, "\x01never logged\x01", 1, ms, &d->log);
}

/*
 * SIGTERM; fails the test unless it exits 0 within wait_ms with every loop
 * handle closed. Returns its whole log (new), for the caller to read and free.
 */
static char *dmn_finish(struct t_daemon *d, int wait_ms)
{
	ck_assert_int_eq(kill(d->pid, SIGTERM), 0);
	int st = t_wait(d->pid, wait_ms);
	if (st < 0)
		t_kill(d->pid);
	t_read_until(d->efd, "\n\n", 1, 2000, &d->log); /* the rest, up to EOF */
	close(d->efd);
	char *log = d->log ? d->log : strdup("");
	d->log = NULL;
	ck_assert_msg(st == 0, "exit status %d:\n%s", st, log);
	ck_assert_msg(strstr(log, "the loop still had handles") == NULL, "%s", log);
	ck_assert_msg(strstr(log, "Sanitizer") == NULL && strstr(log, "runtime error") == NULL, "%s", log);
	return log;
}

/* kill -9, reaped; the log is dropped. */
static void dmn_kill9(struct t_daemon *d)
{
	ck_assert_int_eq(kill(d->pid, SIGKILL), 0);
	ck_assert_int_eq(t_wait(d->pid, 5000), 128 + SIGKILL);
	close(d->efd);
	free(d->log);
	d->log = NULL;
}

/* The N of "stopped after N runs (S skipped)" in log; fails the test without it. */
static int64_t stopped_runs(const char *log, int64_t *skipped)
{
	const char *p = strstr(log, "stopped after ");
	long long n = -1, s = -1;

	ck_assert_msg(p != NULL && sscanf(p, "stopped after %lld runs (%lld skipped)", &n, &s) == 2, "%s", log);
	*skipped = s;
	return n;
}

static int count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay ? strstr(hay, needle) : NULL; p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* ------------------------------------------------------------------ the database */

static int64_t dbq(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int64_t dbq(const char *fmt, ...)
{
	char sql[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	return t_db_file_int(dbpath, sql);
}

/* Polls until the query's integer reaches at least want; false after timeout_ms. */
static bool wait_dbq_ge(const char *sql, int64_t want, int timeout_ms)
{
	int64_t end = t_mono_ms() + timeout_ms;

	/* The file may be there before its tables: the daemon creates both as it starts. */
	while (access(dbpath, F_OK) < 0 ||
	       t_db_file_int(dbpath, "SELECT count(*) FROM sqlite_master WHERE name = 'runs'") == 0 ||
	       t_db_file_int(dbpath, sql) < want)
		if (!t_poll_again(end))
			return false;
	return true;
}

/* The text PRAGMA integrity_check gives on its own connection. */
static void expect_integrity_ok(void)
{
	sqlite3 *db = t_db_open(dbpath);
	sqlite3_stmt *st;

	ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_str_eq((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* Runs with the same probe and start: a run recorded twice. */
#define DOUBLED_RUNS "SELECT count(*) FROM (SELECT 1 FROM runs GROUP BY probe_id, started_ms HAVING count(*) > 1)"

/* ------------------------------------------------------------------ the webhook's log */

/* The event_ids of the hook requests answered 200, oldest first, into ids (up to max); returns how many. */
static size_t delivered_ids(int64_t *ids, size_t max)
{
	json_t *log = t_alertfx_log(rx_port, "hook"), *e;
	size_t i, n = 0;

	ck_assert_ptr_nonnull(log);
	json_array_foreach(log, i, e) {
		if (json_integer_value(json_object_get(e, "status")) != 200)
			continue;
		json_t *id = json_object_get(json_object_get(e, "body"), "event_id");
		ck_assert_msg(json_is_integer(id), "a delivery without an event_id");
		ck_assert_uint_lt(n, max);
		ids[n++] = json_integer_value(id);
	}
	json_decref(log);
	return n;
}

/*
 * Each event in the database went to the hook exactly once, and every hook
 * delivery is an event of the database; in_order: in event_id order too.
 */
static void expect_each_event_once(bool in_order)
{
	static int64_t ids[4096];
	size_t n = delivered_ids(ids, sizeof(ids) / sizeof(ids[0]));
	int64_t events = dbq("SELECT count(*) FROM events");

	ck_assert_msg((int64_t)n == events, "%zu deliveries for %lld events", n, (long long)events);
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(dbq("SELECT count(*) FROM events WHERE id = %lld", (long long)ids[i]), 1);
		for (size_t j = 0; j < i; j++)
			ck_assert_msg(ids[j] != ids[i], "event %lld delivered twice", (long long)ids[i]);
		if (in_order && i > 0)
			ck_assert_msg(ids[i] > ids[i - 1], "event %lld delivered after %lld", (long long)ids[i],
				      (long long)ids[i - 1]);
	}
}

/* ------------------------------------------------------------------ a locked database */

/*
 * Another process holds the write lock for 10 s: the probes keep their
 * schedule, nothing opens an incident because of it, and once the lock goes
 * every result is written: the rows are the runs the daemon counted.
 */
START_TEST(a_locked_database_delays_writes_but_loses_nothing)
{
	struct t_daemon d;
	char name[16];

	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "ok%d", i);
		http_probe(name, "200ms", "/health");
	}
	http_probe("down", "200ms", "/status/500");
	dmn_start(&d, true, NULL);
	dmn_expect(&d, "running 5 probes", 1, 5000);
	ck_assert(wait_dbq_ge("SELECT count(*) FROM incidents", 1, 5000));
	json_decref(t_alertfx_wait(rx_port, "hook", 1, 200, 5000));

	dmn_drain(&d, 100); /* what was logged before the lock, read */
	sqlite3 *lock = t_db_open(dbpath);
	t_db_exec(lock, "BEGIN IMMEDIATE");
	int64_t from = wall_ms();
	int before = count_of(d.log, "probe ok0 ok in");
	dmn_drain(&d, 10000);
	int64_t to = wall_ms();
	/* The runs went on while the lock was held: about 50 of them. */
	int during = count_of(d.log, "probe ok0 ok in") - before;
	ck_assert_msg(during >= 45 && during <= 55, "%d runs of ok0 logged in 10 s", during);
	t_db_exec(lock, "COMMIT");
	sqlite3_close(lock);
	/* Once the lock goes, the held results land while the daemon runs on (not only at its stop). */
	char sql[256];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM runs r JOIN probes p ON p.id = r.probe_id WHERE p.name = "
		 "'ok0' AND r.started_ms BETWEEN %lld AND %lld", (long long)from, (long long)to);
	int64_t released = t_mono_ms();
	ck_assert(wait_dbq_ge(sql, (to - from) / 200 - 1, 5000));
	released = t_mono_ms() - released;

	dmn_drain(&d, 500);
	char *log = dmn_finish(&d, 15000);
	int64_t skipped, runs = stopped_runs(log, &skipped);

	/* Nothing lost, nothing doubled: every run the daemon made is a row. */
	ck_assert_int_eq(skipped, 0);
	ck_assert_int_eq(dbq("SELECT count(*) FROM runs"), runs);
	ck_assert_int_eq(dbq(DOUBLED_RUNS), 0);
	for (int i = 0; i < 4; i++) {
		int64_t n = dbq("SELECT count(*) FROM runs r JOIN probes p ON p.id = r.probe_id WHERE p.name = 'ok%d' "
				"AND r.started_ms BETWEEN %lld AND %lld", i, (long long)from, (long long)to);
		ck_assert_msg(n >= (to - from) / 200 - 1 && n <= (to - from) / 200 + 1, "ok%d: %lld runs in %lld ms", i,
			      (long long)n, (long long)(to - from));
		/* On schedule while the lock was held: started late by little, every 200 ms. */
		int64_t lag = dbq("SELECT max(r.lag_us) FROM runs r JOIN probes p ON p.id = r.probe_id WHERE p.name = "
				  "'ok%d' AND r.started_ms BETWEEN %lld AND %lld", i, (long long)from, (long long)to);
		ck_assert_msg(lag < 100000, "ok%d started up to %lld us late during the lock", i, (long long)lag);
		ck_assert_int_eq(dbq("SELECT count(*) FROM runs r JOIN probes p ON p.id = r.probe_id WHERE p.name = "
				     "'ok%d' AND r.result <> 0", i), 0);
	}
	/* One incident, the failing probe's, still open; none for the probes that passed. */
	ck_assert_int_eq(dbq("SELECT count(*) FROM incidents"), 1);
	ck_assert_int_eq(dbq("SELECT count(*) FROM incidents i JOIN probes p ON p.id = i.probe_id WHERE p.name = "
			     "'down' AND i.resolved_ms IS NULL"), 1);
	fprintf(stderr, "faults_daemon: locked 10 s: %d runs of ok0 logged during the lock, written %lld ms after it "
		"went; %lld runs in all, \"cannot write\" logged %d times\n", during, (long long)released,
		(long long)runs, count_of(log, "cannot write"));
	free(log);
}
END_TEST

/* ------------------------------------------------------------------ a read-only database */

/*
 * The database file made read-only (the daemon runs as nobody: root writes
 * whatever the mode): the failure is logged as an error naming the file, the
 * results wait in memory, the probes go on and the alerts go out; at the
 * stop, what could not be written is counted in the log.
 */
/* The daemon as nobody: root writes whatever the mode, so a read-only file needs another user. */
static const char *const as_nobody[] = { "/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
					 NULL };

/* Opens the test's directories to nobody; false (and says so) when this is not root or has no setpriv. */
static bool ready_for_nobody(const char *test)
{
	char state[4200], sub[4200];

	if (access(as_nobody[0], X_OK) != 0 || getuid() != 0) {
		fprintf(stderr, "faults_daemon: %s needs root and setpriv; skipped\n", test);
		return false;
	}
	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(sub, sizeof(sub), "%s/probes.d", dir);
	ck_assert_int_eq(mkdir(state, 0777), 0);
	ck_assert_int_eq(chmod(dir, 0777), 0);
	ck_assert_int_eq(chmod(state, 0777), 0);
	ck_assert_int_eq(chmod(sub, 0777), 0);
	ck_assert_int_eq(chmod(cfgpath, 0644), 0);
	return true;
}

/* A first run (as nobody) creates the database with a few runs, then it is made read-only; returns its rows. */
static int64_t make_database_read_only(void)
{
	struct t_daemon d;

	dmn_start(&d, true, as_nobody);
	dmn_expect(&d, "running 1 probe", 1, 5000);
	ck_assert(wait_dbq_ge("SELECT count(*) FROM runs", 3, 5000));
	free(dmn_finish(&d, 15000));
	ck_assert_int_eq(chmod(dbpath, 0444), 0);
	return dbq("SELECT count(*) FROM runs");
}

START_TEST(a_read_only_database_is_loud_and_probing_and_alerting_go_on)
{
	struct t_daemon d;

	if (!ready_for_nobody("read-only database test"))
		return;
	http_probe("ok0", "200ms", "/health");

	int64_t rows = make_database_read_only();

	http_probe("down", "200ms", "/status/500");
	dmn_start(&d, true, as_nobody);
	dmn_expect(&d, "running 2 probes", 1, 5000);
	char want[4400];
	snprintf(want, sizeof(want), "error: storage: cannot write to %s: attempt to write a readonly database; keeping",
		 dbpath);
	dmn_expect(&d, want, 1, 5000);
	int seen = count_of(d.log, "probe ok0 ok in");
	/* Probing goes on... */
	dmn_expect(&d, "probe ok0 ok in", seen + 10, 5000);
	/* ... and alerting: the failing probe's incident reaches the webhook. */
	json_t *hook = t_alertfx_wait(rx_port, "hook", 1, 200, 8000);
	ck_assert_int_eq(json_array_size(hook), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_array_get(hook, 0), "body"), "event")),
			 "opened");
	json_decref(hook);
	dmn_expect(&d, "probe ok0 ok in", seen + 15, 5000);
	/* Logged once, not once per retry. */
	ck_assert_int_eq(count_of(d.log, "cannot write to"), 1);
	char *log = dmn_finish(&d, 20000);
	int64_t skipped, runs = stopped_runs(log, &skipped);
	/* Every run is accounted for as lost at the stop, loudly. */
	char lost[128];
	snprintf(lost, sizeof(lost), "error: storage: %lld results could not be written", (long long)runs);
	ck_assert_msg(strstr(log, lost) != NULL, "no \"%s\":\n%s", lost, log);
	ck_assert_int_eq(dbq("SELECT count(*) FROM runs"), rows);
	free(log);
}
END_TEST

/* The status answer's integer member key; fails the test when it is not one. */
static int64_t status_int(json_t *ans, const char *key)
{
	json_t *v = json_object_get(ans, key);

	ck_assert_msg(json_is_integer(v), "status has no integer \"%s\"", key);
	return json_integer_value(v);
}

/*
 * "storage": {"max_pending": 5} and a read-only database: five results wait
 * in memory and every later one is dropped and counted, while the probe keeps
 * its schedule and the daemon keeps running; the status answer shows both
 * figures, and at the stop the five held are the ones counted as lost.
 */
START_TEST(a_full_result_queue_drops_and_counts_and_probing_goes_on)
{
	struct t_daemon d;

	write_main_with("\"storage\": { \"max_pending\": 5 },\n  ");
	if (!ready_for_nobody("full result queue test"))
		return;
	http_probe("ok0", "100ms", "/health");

	/* The bound only matters while writes fail. */
	int64_t rows = make_database_read_only();

	dmn_start(&d, true, as_nobody);
	dmn_expect(&d, "running 1 probe", 1, 5000);
	dmn_expect(&d, "cannot write to", 1, 5000);
	/* Polled on the socket until results were dropped; the log is read meanwhile (a full pipe would stall it). */
	struct t_ctl *c = t_ctl_open(sockpath);
	json_t *ans = NULL;
	int64_t end = t_mono_ms() + 8000, dropped = 0;
	for (;;) {
		ans = t_ctl_call(c, "{\"cmd\": \"status\"}", 3000);
		ck_assert(json_is_true(json_object_get(ans, "ok")));
		if ((dropped = status_int(ans, "results_dropped")) >= 3)
			break;
		json_decref(ans);
		ck_assert_msg(t_mono_ms() < end, "no results dropped after 8 s: %lld", (long long)dropped);
		dmn_drain(&d, 20);
	}
	/* Held up to the bound and no further; every run is either held or dropped (nothing was written). */
	ck_assert_int_eq(status_int(ans, "results_pending"), 5);
	ck_assert_int_eq(status_int(ans, "runs") + status_int(ans, "skipped"), 5 + dropped);
	json_decref(ans);

	/* A reload cannot resize the queue: it says a restart is needed, and the bound stays 5 (below). */
	write_main_with("\"storage\": { \"max_pending\": 50 },\n  ");
	ans = t_ctl_call(c, "{\"cmd\": \"reload\"}", 5000);
	ck_assert(json_is_true(json_object_get(ans, "ok")));
	json_t *restart = json_object_get(ans, "restart_needed");
	const char *key = json_string_value(json_array_get(restart, 0));
	ck_assert_msg(json_array_size(restart) == 1 && key != NULL && strcmp(key, "storage.max_pending") == 0,
		      "restart_needed is not [\"storage.max_pending\"]");
	json_decref(ans);
	/* Read up to here, so that the ten runs counted below all come after the status answer above. */
	dmn_expect(&d, "reload: changed: storage.max_pending; these apply only after a restart", 1, 3000);

	/* Probing goes on, and the daemon with it. */
	int seen = count_of(d.log, "probe ok0 ok in");
	dmn_expect(&d, "probe ok0 ok in", seen + 10, 5000);
	ck_assert_int_eq(kill(d.pid, 0), 0);
	ans = t_ctl_call(c, "{\"cmd\": \"status\"}", 3000);
	ck_assert_int_eq(status_int(ans, "results_pending"), 5);
	ck_assert_int_ge(status_int(ans, "results_dropped"), dropped + 10);
	json_decref(ans);
	t_ctl_close(c);
	/* Logged once, not once per retry. */
	ck_assert_int_eq(count_of(d.log, "cannot write to"), 1);

	char *log = dmn_finish(&d, 20000);
	int64_t skipped, runs = stopped_runs(log, &skipped);
	/* The five held are the ones lost at the stop; the rest (the ten runs above among them) were dropped. */
	ck_assert_msg(strstr(log, "error: storage: 5 results could not be written") != NULL, "%s", log);
	ck_assert_int_ge(runs + skipped, 5 + dropped + 10);
	ck_assert_int_eq(dbq("SELECT count(*) FROM runs"), rows);
	/* The drops are summed up: the first at once, then a count every 10 s and one at the stop. */
	ck_assert_msg(strstr(log, "warning: storage is behind: 1 result dropped; further ones are counted every 10 s"),
		      "%s", log);
	int summaries = count_of(log, "warning: storage is behind:");
	ck_assert_msg(summaries >= 2 && summaries <= 4, "%d drop warnings for %lld drops", summaries,
		      (long long)dropped);
	fprintf(stderr, "faults_daemon: max_pending 5: %lld runs, %lld skipped, 5 held and lost at the stop, the "
		"rest dropped\n", (long long)runs, (long long)skipped);
	free(log);
}
END_TEST

/* ------------------------------------------------------------------ kill -9 */

/*
 * kill -9 under load five times, restarting each time: the file stays sound,
 * no run is recorded twice, incidents that were open stay open (and are not
 * opened again), and every alert event reaches the webhook exactly once.
 */
START_TEST(kill9_five_times_under_load_loses_and_doubles_nothing)
{
	struct t_daemon d;
	char name[16];

	for (int i = 0; i < 17; i++) {
		snprintf(name, sizeof(name), "ok%02d", i);
		http_probe(name, i % 2 ? "100ms" : "200ms", "/health");
	}
	for (int i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "down%d", i);
		http_probe(name, "150ms", "/status/500");
	}
	int64_t target = 0, events = 0;
	for (int round = 0; round < 5; round++) {
		/* A probe that flips each round: an opened or a resolved event each time. */
		http_probe("flip", "100ms", round % 2 ? "/health" : "/status/503");
		dmn_start(&d, false, NULL);
		/*
		 * Killed at a different point each round: once some hundred runs
		 * are in, or (odd rounds) as soon as the flip's event is recorded,
		 * while its delivery is likely under way.
		 */
		target += 150 + 37 * round;
		if (round % 2 == 1)
			ck_assert_msg(wait_dbq_ge("SELECT count(*) FROM events", events + 1, 10000),
				      "round %d: no new event", round);
		else
			ck_assert_msg(wait_dbq_ge("SELECT count(*) FROM runs", target, 10000),
				      "round %d: fewer than %lld runs", round, (long long)target);
		dmn_kill9(&d);
		events = dbq("SELECT count(*) FROM events");
		target = dbq("SELECT count(*) FROM runs");
	}
	http_probe("flip", "100ms", "/health");
	dmn_start(&d, false, NULL);
	/* Wait for the last events and their deliveries: the flip resolved, nothing left to deliver. */
	int64_t end = t_mono_ms() + 15000;
	while (dbq("SELECT count(*) FROM incidents i JOIN probes p ON p.id = i.probe_id WHERE p.name = 'flip' "
		   "AND i.resolved_ms IS NULL") != 0 ||
	       dbq("SELECT count(*) FROM outbox WHERE state <> 1") != 0) {
		ck_assert_msg(t_mono_ms() < end, "the outbox never emptied: %lld pending",
			      (long long)dbq("SELECT count(*) FROM outbox WHERE state <> 1"));
		dmn_drain(&d, 20);
	}
	char *log = dmn_finish(&d, 15000);
	free(log);

	expect_integrity_ok();
	ck_assert_int_eq(dbq(DOUBLED_RUNS), 0);
	/* The probes that never recovered: one incident each, still open, opened once. */
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(dbq("SELECT count(*) FROM incidents i JOIN probes p ON p.id = i.probe_id WHERE "
				     "p.name = 'down%d'", i), 1);
		ck_assert_int_eq(dbq("SELECT count(*) FROM incidents i JOIN probes p ON p.id = i.probe_id WHERE "
				     "p.name = 'down%d' AND i.resolved_ms IS NULL", i), 1);
	}
	ck_assert_int_eq(dbq("SELECT count(*) FROM incidents i JOIN probes p ON p.id = i.probe_id WHERE p.name "
			     "LIKE 'ok%%'"), 0);
	expect_each_event_once(false);
	fprintf(stderr, "faults_daemon: kill -9 x5: %lld runs, %lld events, %lld incidents\n",
		(long long)dbq("SELECT count(*) FROM runs"), (long long)dbq("SELECT count(*) FROM events"),
		(long long)dbq("SELECT count(*) FROM incidents"));
}
END_TEST

/* ------------------------------------------------------------------ a channel down */

/* Waits until flip has (open) or has not an open incident. */
static void wait_flip_open(bool open)
{
	int64_t end = t_mono_ms() + 8000;

	while (dbq("SELECT count(*) FROM incidents i JOIN probes p ON p.id = i.probe_id WHERE p.name = 'flip' AND "
		   "i.resolved_ms IS NULL") != (open ? 1 : 0))
		ck_assert_msg(t_poll_again(end), "flip never %s", open ? "opened" : "resolved");
}

/*
 * The webhook answers 503 for two minutes while a probe goes down and up
 * again; once it answers 200, every event arrives, in order, once. The wait
 * after the outage is bounded by the dispatcher's backoff (doubling from 1 s,
 * 75-125% jitter): the retry due after two minutes of failures may come up to
 * 160 s later.
 */
START_TEST(a_channel_down_two_minutes_then_back_gets_every_event_in_order_once)
{
	struct t_daemon d;

	http_probe("flip", "200ms", "/status/500");
	http_probe("ok0", "200ms", "/health");
	ck_assert_int_eq(t_alertfx_script(rx_port, "{\"route\":\"hook\",\"responses\":[{\"status\":503,\"count\":9999}]}"),
			 200);
	int64_t down = t_mono_ms();
	dmn_start(&d, false, NULL);
	dmn_expect(&d, "running 2 probes", 1, 5000);
	wait_flip_open(true);
	for (int i = 0; i < 4; i++) {
		http_probe("flip", "200ms", i % 2 ? "/status/500" : "/health");
		ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
		dmn_expect(&d, "reloaded", i + 1, 5000);
		wait_flip_open(i % 2 == 1);
	}
	int64_t events = dbq("SELECT count(*) FROM events");
	ck_assert_int_ge(events, 5);
	/* Down for two minutes: read the log meanwhile, and nothing gets through. */
	while (t_mono_ms() < down + 120000)
		dmn_drain(&d, (int)(down + 120000 - t_mono_ms()));
	json_t *hook = t_alertfx_log(rx_port, "hook");
	size_t attempts = json_array_size(hook);
	ck_assert_uint_ge(attempts, 1);
	for (size_t i = 0; i < attempts; i++)
		ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(hook, i), "status")), 503);
	json_decref(hook);
	/* Back: the script and the log cleared, every answer is a 200. */
	ck_assert_int_eq(t_alertfx_reset(rx_port), 200);
	int64_t back = t_mono_ms(), end = back + 200000;
	int64_t delivered = 0;
	while ((delivered = dbq("SELECT count(*) FROM outbox WHERE state = 1")) < events) {
		ck_assert_msg(t_mono_ms() < end, "%lld of %lld events delivered %lld s after the channel came back",
			      (long long)delivered, (long long)events, (long long)(t_mono_ms() - back) / 1000);
		dmn_drain(&d, 500);
	}
	int64_t took = t_mono_ms() - back;
	dmn_drain(&d, 1500);
	free(dmn_finish(&d, 15000));
	ck_assert_int_eq(dbq("SELECT count(*) FROM events"), events);
	ck_assert_int_eq(dbq("SELECT count(*) FROM outbox WHERE state <> 1"), 0);
	expect_each_event_once(true);
	fprintf(stderr, "faults_daemon: channel down 120 s: %zu attempts failed, %lld events, all delivered %.1f s "
		"after it came back (%.1f s in all)\n", attempts, (long long)events, (double)took / 1000.0,
		(double)(t_mono_ms() - down) / 1000.0);
}
END_TEST

/* ------------------------------------------------------------------ SIGHUP storm */

/*
 * 500 probes every second, fifty SIGHUPs, half of them back to back: no
 * crash, a clean exit (under ASan, no leak), and per probe no run lost or
 * doubled: consecutive runs 1 s apart within half a second, one row per run.
 */
START_TEST(fifty_sighups_with_500_probes_lose_or_double_no_run)
{
	struct t_daemon d;
	char name[32];

	for (int i = 0; i < 500; i++) {
		snprintf(name, sizeof(name), "probes.d/p%03d.json", i);
		t_writef(dir, name, "{ \"every\": \"1s\", \"url\": \"http://127.0.0.1:%d/health\", "
			 "\"expect\": [\"status == 200\"] }\n", api_port);
	}
	dmn_start(&d, false, NULL);
	dmn_expect(&d, "running 500 probes", 1, 10000);
	ck_assert(wait_dbq_ge("SELECT count(*) FROM runs", 1000, 10000));
	int64_t from = wall_ms();
	/* Half paced, by the runs: a reload done, then about half a second of runs (250), then the next. */
	for (int i = 0; i < 25; i++) {
		int64_t before = dbq("SELECT count(*) FROM runs");
		ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
		dmn_expect(&d, "reloaded", i + 1, 10000);
		ck_assert(wait_dbq_ge("SELECT count(*) FROM runs", before + 250, 10000));
	}
	for (int i = 0; i < 25; i++)
		ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
	/* At least one reload after the burst; then let it settle. */
	dmn_expect(&d, "reloaded", 26, 10000);
	dmn_drain(&d, 3000);
	int64_t to = wall_ms();
	int reloads = count_of(d.log, "reloaded");
	char *log = dmn_finish(&d, 15000);
	int64_t skipped, runs = stopped_runs(log, &skipped);

	ck_assert_int_eq(skipped, 0);
	ck_assert_int_eq(dbq("SELECT count(*) FROM runs"), runs);
	ck_assert_int_eq(dbq(DOUBLED_RUNS), 0);
	ck_assert_int_eq(dbq("SELECT count(*) FROM runs WHERE result <> 0"), 0);
	static const char pairs[] = "WITH a AS (SELECT probe_id p, started_ms s, row_number() OVER (PARTITION BY "
				    "probe_id ORDER BY started_ms) k FROM runs) SELECT %s FROM a x JOIN a y ON "
				    "y.p = x.p AND y.k = x.k + 1";
	int64_t maxgap = dbq(pairs, "max(y.s - x.s)"), mingap = dbq(pairs, "min(y.s - x.s)");
	ck_assert_msg(maxgap <= 1500 && mingap >= 500, "gaps between %lld and %lld ms", (long long)mingap,
		      (long long)maxgap);
	/* Every probe ran all through the storm. */
	int64_t fewest = dbq("SELECT min(n) FROM (SELECT count(r.started_ms) n FROM probes p LEFT JOIN runs r ON "
			     "r.probe_id = p.id AND r.started_ms BETWEEN %lld AND %lld GROUP BY p.id)",
			     (long long)from, (long long)to);
	ck_assert_msg(fewest >= (to - from) / 1000 - 1, "a probe ran %lld times in %lld ms", (long long)fewest,
		      (long long)(to - from));
	fprintf(stderr, "faults_daemon: 50 SIGHUPs, %d reloads logged, %lld runs over %.1f s, gaps %lld..%lld ms\n",
		reloads, (long long)runs, (double)(to - from) / 1000.0, (long long)mingap, (long long)maxgap);
	free(log);
}
END_TEST

/* ------------------------------------------------------------------ malformed control requests */


/* A small deterministic PRNG (xorshift32): the same garbage on every run. */
static uint32_t rnd_state;

static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

/* Appends fmt to buf at *len (bounded by size). */
static void addf(char *buf, size_t size, size_t *len, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void addf(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf + *len, size - *len, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len += (size_t)n < size - *len ? (size_t)n : size - *len - 1;
}

/* Fills buf with the i-th malformed request (no newline); returns its length. */
static size_t bad_request(int i, char *buf, size_t size)
{
	static const char *const valid[] = { "{\"cmd\": \"status\"}", "{\"cmd\": \"reload\"}",
					     "{\"cmd\": \"run-now\", \"probe\": \"ok0\"}" };
	static const char *const types[] = { "7", "-1.5", "true", "null", "[]", "{}", "[\"status\"]", "{\"cmd\": \"status\"}" };
	size_t len = 0;

	switch (i % 10) {
	case 0: /* random bytes, never a newline, never JSON */
		buf[len++] = '#';
		for (size_t n = rnd() % 300; n > 0; n--) {
			char ch = (char)(rnd() & 0xff);
			buf[len++] = ch == '\n' ? ' ' : ch;
		}
		break;
	case 1: { /* a good request cut short */
		const char *v = valid[rnd() % 3];
		len = rnd() % (strlen(v) - 1);
		memcpy(buf, v, len);
		break;
	}
	case 2: /* cmd of the wrong type */
		addf(buf, size, &len, "{\"cmd\": %s}", types[rnd() % 8]);
		break;
	case 3: /* huge numbers */
		addf(buf, size, &len, rnd() % 2 ? "{\"cmd\": 1e%u999}" : "{\"cmd\": \"run-now\", \"probe\": %u%u%u%u}",
		     rnd(), rnd(), rnd(), rnd());
		break;
	case 4: { /* arrays nested up to 5,000 deep */
		size_t depth = 1 + rnd() % 5000;
		for (size_t n = 0; n < depth; n++)
			buf[len++] = '[';
		for (size_t n = 0; n < depth; n++)
			buf[len++] = ']';
		break;
	}
	case 5: /* unknown commands */
		addf(buf, size, &len, "{\"cmd\": \"%s%u\"}", rnd() % 2 ? "status" : "shutdown", rnd());
		break;
	case 6: /* missing fields */
		addf(buf, size, &len, "%s", rnd() % 2 ? "{\"probe\": \"ok0\"}" : rnd() % 2 ? "{\"cmd\": \"run-now\"}" : "{}");
		break;
	case 7: { /* NUL bytes inside a request */
		const char *v = valid[rnd() % 3];
		len = strlen(v);
		memcpy(buf, v, len);
		buf[1 + rnd() % (len - 1)] = '\0';
		break;
	}
	case 8: /* run-now of what is not a probe */
		addf(buf, size, &len, "{\"cmd\": \"run-now\", \"probe\": %s}",
		     rnd() % 2 ? "\"no such probe\"" : types[rnd() % 8]);
		break;
	default: /* JSON that is not an object, or a duplicated key */
		addf(buf, size, &len, "%s", rnd() % 2 ? "[{\"cmd\": \"status\"}]" : rnd() % 2 ? "\"status\""
						   : "{\"cmd\": \"status\", \"cmd\": \"status\"}");
		break;
	}
	return len;
}

/*
 * 1,000 malformed requests over a few connections: each answered ok:false
 * with an error (an oversized line: that or the connection closed), the
 * daemon alive and answering status all along, and a clean exit.
 */
START_TEST(a_thousand_malformed_requests_get_errors)
{
	static char line[80 * 1024];
	struct t_daemon d;
	struct t_ctl *c = NULL;
	bool eof;
	int closed = 0;

	http_probe("ok0", "1s", "/health");
	dmn_start(&d, false, NULL);
	dmn_expect(&d, "running 1 probe", 1, 5000);
	rnd_state = 2463534242u;
	for (int i = 0; i < 1000; i++) {
		if (c == NULL)
			c = t_ctl_open(sockpath);
		size_t len;
		if (i % 97 == 96) { /* past the 64 KiB a line may hold */
			len = 65 * 1024 + rnd() % 8192;
			memset(line, '{', len);
		} else {
			len = bad_request(i, line, sizeof(line) - 1);
		}
		line[len++] = '\n';
		json_t *ans = t_ctl_send(c, line, len) ? t_ctl_read(c, 3000, &eof) : (eof = true, NULL);
		if (ans == NULL) {
			ck_assert_msg(eof && len > 64 * 1024, "request %d (%zu bytes): %s", i, len,
				      eof ? "connection closed" : "no answer");
			closed++;
			t_ctl_close(c);
			c = NULL;
			continue;
		}
		ck_assert_msg(json_is_false(json_object_get(ans, "ok")), "request %d was accepted: %.*s", i,
			      (int)(len - 1), line);
		const char *err = json_string_value(json_object_get(ans, "error"));
		ck_assert_msg(err != NULL && err[0] != '\0', "request %d: no error", i);
		json_decref(ans);
		/* An oversized line is answered, then its connection closed. */
		if (len > 64 * 1024) {
			t_ctl_close(c);
			c = NULL;
			continue;
		}
		/* A fresh connection every 100 requests, and a good request on it. */
		if (i % 100 == 99) {
			ck_assert(t_ctl_send(c, "{\"cmd\": \"status\"}\n", 18));
			ans = t_ctl_read(c, 3000, &eof);
			ck_assert_msg(ans != NULL && json_is_true(json_object_get(ans, "ok")), "status after %d", i);
			json_decref(ans);
			t_ctl_close(c);
			c = NULL;
		}
	}
	if (c != NULL)
		t_ctl_close(c);
	ck_assert_int_eq(kill(d.pid, 0), 0);
	c = t_ctl_open(sockpath);
	ck_assert(t_ctl_send(c, "{\"cmd\": \"status\"}\n", 18));
	json_t *ans = t_ctl_read(c, 3000, &eof);
	ck_assert(ans != NULL && json_is_true(json_object_get(ans, "ok")));
	json_decref(ans);
	t_ctl_close(c);
	free(dmn_finish(&d, 15000));
	fprintf(stderr, "faults_daemon: 1000 malformed requests: %d oversized ones closed before an answer\n", closed);
}
END_TEST

/* ------------------------------------------------------------------ malformed probe files */

/* Writes the i-th malformed probe file, probes.d/badNNNN.json: a valid probe mutated. */
static void write_bad_probe(int i)
{
	char name[64], body[1024];
	int n = snprintf(body, sizeof(body), "{ \"every\": \"1s\", \"url\": \"http://127.0.0.1:%d/health\",\n"
			 "  \"expect\": [\"status == 200\"] }\n", api_port);
	static const char *const wrong[] = { "\"every\": 5", "\"url\": 7", "\"expect\": 200",
					     "\"every\": [\"1s\"]", "\"timeout\": {}", "\"method\": 42" };
	static const char *const durations[] = { "5 parsecs", "-1s", "0s", "", "1s2", "9999999999999h", "ms" };
	static const char *const asserts[] = { "status === 200", "status ==", "nope(1)", "body.x <> 3",
					       "status == \\\"", "== 200", "status in [1," };

	snprintf(name, sizeof(name), "probes.d/bad%04d.json", i);
	switch (i % 8) {
	case 0: /* cut short, somewhere before its last brace */
		t_writef(dir, name, "%.*s", (int)(1 + rnd() % (uint32_t)(n - 3)), body);
		break;
	case 1:
		t_writef(dir, name, "{ \"every\": \"1s\", \"url\": \"http://127.0.0.1:%d/health\",\n  \"zq%u\": 1 }\n",
			 api_port, rnd());
		break;
	case 2:
		t_writef(dir, name, "{ \"url\": \"http://127.0.0.1:%d/health\",\n  %s }\n", api_port, wrong[rnd() % 6]);
		break;
	case 3:
		t_writef(dir, name, "{ \"url\": \"http://127.0.0.1:%d/health\",\n  \"every\": \"%s\" }\n", api_port,
			 durations[rnd() % 7]);
		break;
	case 4:
		t_writef(dir, name, "{ \"url\": \"http://127.0.0.1:%d/health\",\n  \"expect\": [\"%s\"] }\n", api_port,
			 asserts[rnd() % 7]);
		break;
	case 5:
		t_writef(dir, name, "{ \"url\": \"http://127.0.0.1:%d/{{ nope%u\" }\n", api_port, rnd());
		break;
	case 6: { /* a structural byte replaced */
		char *colon = strchr(body, ':');
		*colon = "x;=!"[rnd() % 4];
		t_writef(dir, name, "%s", body);
		break;
	}
	default:
		t_writef(dir, name, "%s", rnd() % 2 ? "[1, 2]\n" : "42\n");
		break;
	}
}

/*
 * 1,000 malformed probe files: a running daemon's reload refuses them with
 * diagnostics and runs on; `canary config check` names every one of them, as
 * FILE:LINE:COL: or FILE:, and exits 1.
 */
START_TEST(a_thousand_malformed_probe_files_are_each_reported)
{
	struct t_daemon d;
	char *out = NULL, *err = NULL, want[4200];
	bool eof = false;

	http_probe("ok0", "1s", "/health");
	dmn_start(&d, false, NULL);
	dmn_expect(&d, "running 1 probe", 1, 5000);
	rnd_state = 88172645u;
	for (int i = 0; i < 1000; i++)
		write_bad_probe(i);

	struct t_ctl *c = t_ctl_open(sockpath);
	ck_assert(t_ctl_send(c, "{\"cmd\": \"reload\"}\n", 18));
	int64_t t0 = t_mono_ms();
	json_t *ans = NULL;
	/* The daemon logs each diagnostic too: its log is read meanwhile, or it would stall on a full pipe. */
	while (ans == NULL && !eof && t_mono_ms() < t0 + 30000) {
		dmn_drain(&d, 20);
		ans = t_ctl_read(c, 20, &eof);
	}
	int64_t reload_ms = t_mono_ms() - t0;
	ck_assert_msg(ans != NULL, "no answer to the reload");
	ck_assert(json_is_false(json_object_get(ans, "ok")));
	size_t ndiag = json_array_size(json_object_get(ans, "diagnostics"));
	ck_assert_uint_ge(ndiag, 1);
	json_decref(ans);
	ck_assert(t_ctl_send(c, "{\"cmd\": \"status\"}\n", 18));
	ans = t_ctl_read(c, 3000, &eof);
	ck_assert(ans != NULL && json_is_true(json_object_get(ans, "ok")));
	ck_assert_int_eq(json_array_size(json_object_get(ans, "probes")), 1);
	json_decref(ans);
	t_ctl_close(c);
	dmn_expect(&d, "still running the previous config", 1, 3000);

	int st = t_canary_run(&out, &err, "config", "check", "-c", cfgpath, NULL);
	ck_assert_msg(st == 1, "exit %d", st);
	ck_assert_msg(strstr(err, "Sanitizer") == NULL && strstr(err, "runtime error") == NULL, "%s", err);
	int missing = 0;
	for (int i = 0; i < 1000; i++) {
		snprintf(want, sizeof(want), "%s/probes.d/bad%04d.json:", dir, i);
		if (strstr(err, want) == NULL && missing++ < 5)
			fprintf(stderr, "faults_daemon: config check does not name %s\n", want);
	}
	ck_assert_msg(missing == 0, "%d bad files not named by config check", missing);
	snprintf(want, sizeof(want), "%s/probes.d/ok0.json:", dir);
	ck_assert_msg(strstr(err, want) == NULL, "the good file was reported");
	ck_assert_int_eq(kill(d.pid, 0), 0);
	free(dmn_finish(&d, 15000));
	fprintf(stderr, "faults_daemon: 1000 bad probe files: reload refused in %lld ms with %zu diagnostics, %zu "
		"bytes from config check\n", (long long)reload_ms, ndiag, strlen(err));
	free(out);
	free(err);
}
END_TEST

Suite *faults_daemon_suite(void)
{
	Suite *s = suite_create("faults_daemon");
	TCase *tc = tcase_create("database");

	tcase_add_unchecked_fixture(tc, start_servers, stop_servers);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, a_locked_database_delays_writes_but_loses_nothing);
	tcase_add_test(tc, a_read_only_database_is_loud_and_probing_and_alerting_go_on);
	tcase_add_test(tc, a_full_result_queue_drops_and_counts_and_probing_goes_on);
	suite_add_tcase(s, tc);

	tc = tcase_create("restarts");
	tcase_add_unchecked_fixture(tc, start_servers, stop_servers);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, kill9_five_times_under_load_loses_and_doubles_nothing);
	tcase_add_test(tc, fifty_sighups_with_500_probes_lose_or_double_no_run);
	suite_add_tcase(s, tc);

	tc = tcase_create("malformed");
	tcase_add_unchecked_fixture(tc, start_servers, stop_servers);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, a_thousand_malformed_requests_get_errors);
	tcase_add_test(tc, a_thousand_malformed_probe_files_are_each_reported);
	suite_add_tcase(s, tc);

	/* Two real minutes of outage, then up to 200 s for the backoff's next retry. */
	tc = tcase_create("channel_down");
	/* Two real minutes of outage: `make asan` leaves it out (CK_EXCLUDE_TAGS=slow) to keep CI under its budget. */
	tcase_set_tags(tc, "slow");
	tcase_add_unchecked_fixture(tc, start_servers, stop_servers);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 360);
	tcase_add_test(tc, a_channel_down_two_minutes_then_back_gets_every_event_in_order_once);
	suite_add_tcase(s, tc);
	return s;
}
