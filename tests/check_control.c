/* check_control.c - the daemon's control socket, reload and run-now, on the real binary against the fixture API. */
#include "tests/ctlclient.h"
#include "tests/tests.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t api_pid;
static int port;
static char *dir;
static char cfgpath[4096], sockpath[4096], dbpath[4096];

static void start_api(void)
{
	api_pid = t_fakeapi_start(&port);
}

static void stop_api(void)
{
	t_fakeapi_stop(api_pid);
}

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes probes.d/NAME.json with printf-formatted content. */
static void write_probe(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void write_probe(const char *name, const char *fmt, ...)
{
	char path[4200], tmp[4300];
	va_list ap;

	/* Written aside, then renamed: a reload never reads half a file. */
	snprintf(path, sizeof(path), "%s/probes.d/%s.json", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/probes.d/.%s.tmp", dir, name);
	FILE *f = fopen(tmp, "w");
	ck_assert_ptr_nonnull(f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
	ck_assert_int_eq(rename(tmp, path), 0);
}

/* A probe of GET /health (or path) every `every`, expecting a 200. */
static void health_probe(const char *name, const char *every, const char *path)
{
	write_probe(name, "{ \"every\": \"%s\", \"url\": \"http://127.0.0.1:%d%s\", \"expect\": [\"status == 200\"] }\n",
		    every, port, path ? path : "/health");
}

static void remove_probe(const char *name)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/probes.d/%s.json", dir, name);
	ck_assert_int_eq(unlink(path), 0);
}

static void write_main(const char *socket)
{
	t_writef(dir, "canary.json", "{ \"state_dir\": \"state\", \"probes_dir\": \"probes.d\", \"control_socket\": \"%s\",\n"
				     "  \"defaults\": { \"every\": \"200ms\", \"timeout\": \"2s\" } }\n", socket);
}

static void setup(void)
{
	char sub[4200];

	dir = t_tmpdir();
	snprintf(cfgpath, sizeof(cfgpath), "%s/canary.json", dir);
	snprintf(sockpath, sizeof(sockpath), "%s/ctl.sock", dir);
	snprintf(dbpath, sizeof(dbpath), "%s/state/canary.db", dir);
	snprintf(sub, sizeof(sub), "%s/probes.d", dir);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	write_main("ctl.sock");
	health_probe("alpha", "200ms", NULL);
}

static sqlite3 *db_conn;

static void teardown(void)
{
	if (db_conn != NULL)
		sqlite3_close(db_conn);
	db_conn = NULL;
	t_rmrf(dir);
	free(dir);
}

/* ------------------------------------------------------------------ the daemon */

/* Starts the daemon and waits until it runs its probes and has its control socket (or said it cannot). */
static void dmn_start(struct t_daemon *d)
{
	t_daemon_start(d, cfgpath, NULL);
	t_daemon_expect(d, " running ", 1, 5000);
	t_daemon_expect(d, "control socket", 1, 1000);
}

/*
 * Once the daemon exits by itself: reads its log up to EOF (it has exited,
 * so t_daemon_stop's SIGTERM meets a zombie, not a daemon winding down),
 * checks that its loop closed every handle, then reaps it as t_daemon_stop
 * does: exit status 0.
 */
static void dmn_exited(struct t_daemon *d)
{
	t_read_until(d->efd, "\n\n", 1, 8000, &d->log);
	ck_assert_msg(d->log == NULL || strstr(d->log, "the loop still had handles") == NULL, "%s", d->log);
	t_daemon_stop(d);
}

/* SIGTERM, then as dmn_exited. */
static void dmn_stop(struct t_daemon *d)
{
	ck_assert_int_eq(kill(d->pid, SIGTERM), 0);
	dmn_exited(d);
}

/* ------------------------------------------------------------------ a client */

/* One request on a connection of its own. */
static json_t *call(const char *line, int timeout_ms)
{
	struct t_ctl *c = t_ctl_open(sockpath);
	json_t *v = t_ctl_call(c, line, timeout_ms);

	t_ctl_close(c);
	return v;
}

static bool is_ok(const json_t *ans)
{
	return json_is_true(json_object_get(ans, "ok"));
}

static const char *error_of(const json_t *ans)
{
	const char *e = json_string_value(json_object_get(ans, "error"));

	return e ? e : "";
}

/* Does a string of the array ans[key] start with prefix? */
static bool listed_prefix(const json_t *ans, const char *key, const char *prefix)
{
	size_t i;
	json_t *v;

	json_array_foreach(json_object_get(ans, key), i, v)
		if (json_is_string(v) && strncmp(json_string_value(v), prefix, strlen(prefix)) == 0)
			return true;
	return false;
}

/* Is name in the array ans[key]? */
static bool listed(const json_t *ans, const char *key, const char *name)
{
	size_t i;
	json_t *v;

	json_array_foreach(json_object_get(ans, key), i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
			return true;
	return false;
}

/* Does status, asked on c, say that probe name has a run in flight? */
static bool probe_running(struct t_ctl *c, const char *name)
{
	json_t *st = t_ctl_call(c, "{\"cmd\": \"status\"}", 3000), *p;
	bool running = false;
	size_t i;

	json_array_foreach(json_object_get(st, "probes"), i, p)
		if (strcmp(json_string_value(json_object_get(p, "name")), name) == 0)
			running = json_is_true(json_object_get(p, "running"));
	json_decref(st);
	return running;
}

/* Asks status on c until probe name runs; fails the test after 3 s. */
static void wait_running(struct t_ctl *c, const char *name)
{
	int64_t end = t_mono_ms() + 3000;

	while (!probe_running(c, name))
		ck_assert_msg(t_mono_ms() < end, "probe %s never ran", name);
}

/* ------------------------------------------------------------------ the database */

/* The test's connection to the daemon's database, opened once the daemon has made it. */
static sqlite3 *db(void)
{
	if (db_conn == NULL)
		db_conn = t_db_open(dbpath);
	return db_conn;
}

/* Runs of probe name recorded that started after since_ms (wall clock) and have result res (-1: any). */
static int64_t runs_of(const char *name, int64_t since_ms, int res)
{
	return t_db_intf(db(), "SELECT count(*) FROM runs r JOIN probes p ON p.id = r.probe_id WHERE p.name = '%s' "
		      "AND r.started_ms > %lld AND (%d < 0 OR r.result = %d)",
		      name, (long long)since_ms, res, res);
}

/* Polls the database until probe name has at least n runs since since_ms (result res, -1: any). */
static bool wait_runs(const char *name, int64_t since_ms, int res, int64_t n, int timeout_ms)
{
	int64_t end = t_mono_ms() + timeout_ms;

	while (access(dbpath, F_OK) < 0 || runs_of(name, since_ms, res) < n)
		if (!t_poll_again(end))
			return false;
	return true;
}

/* The daemon still answers. */
static void expect_alive(void)
{
	json_t *ans = call("{\"cmd\": \"status\"}", 3000);

	ck_assert_msg(is_ok(ans), "status: %s", error_of(ans));
	json_decref(ans);
}

/* ------------------------------------------------------------------ malformed requests */

START_TEST(malformed_requests_get_errors_and_never_crash)
{
	static const char *const bad[] = {
		"not json at all",
		"[\"cmd\", \"status\"]",
		"42",
		"{\"cmd\": \"shutdown\"}",
		"{\"cmd\": 7}",
		"{}",
		"{\"cmd\": \"run-now\"}",
		"{\"cmd\": \"run-now\", \"probe\": 12}",
		"{\"cmd\": \"status\", \"cmd\": \"reload\"}",
		"{\"cmd\": \"\xff\xfe\"}",
		"",
		"{\"cmd\": \"status\"",
	};
	struct t_daemon d;
	bool eof;

	dmn_start(&d);
	struct t_ctl *c = t_ctl_open(sockpath);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *ans = t_ctl_call(c, bad[i], 3000);
		ck_assert_msg(json_is_false(json_object_get(ans, "ok")), "%s was accepted", bad[i]);
		ck_assert_msg(strlen(error_of(ans)) > 0, "no error for %s", bad[i]);
		json_decref(ans);
	}
	/* Binary garbage, NUL bytes included, then a good request on the same connection. */
	static const char garbage[] = "\x00\x01\x02\xff{\"cmd\x00\": \"status\"}\x7f\x80\n";
	t_ctl_send(c, garbage, sizeof(garbage) - 1);
	json_t *ans = t_ctl_read(c, 3000, &eof);
	ck_assert_ptr_nonnull(ans);
	ck_assert(json_is_false(json_object_get(ans, "ok")));
	json_decref(ans);
	ans = t_ctl_call(c, "{\"cmd\": \"status\"}", 3000);
	ck_assert(is_ok(ans));
	json_decref(ans);
	t_ctl_close(c);

	/* A 70 KiB line: an error answer or the connection closed, nothing worse. */
	size_t big = 70 * 1024;
	char *line = malloc(big + 1);
	memset(line, 'a', big);
	line[0] = '{';
	line[big] = '\n';
	c = t_ctl_open(sockpath);
	t_ctl_send(c, line, 64 * 1024 + 512); /* a write past the limit may fail once the daemon has closed */
	ssize_t w = send(c->fd, line + 64 * 1024 + 512, big + 1 - (64 * 1024 + 512), MSG_NOSIGNAL);
	(void)w;
	ans = t_ctl_read(c, 3000, &eof);
	ck_assert_msg(ans != NULL || eof, "neither an answer nor a close for an oversized line");
	if (ans != NULL) {
		ck_assert(json_is_false(json_object_get(ans, "ok")));
		json_decref(ans);
	}
	t_ctl_close(c);
	free(line);

	/* A client that connects and leaves, or leaves half a line. */
	t_ctl_close(t_ctl_open(sockpath));
	c = t_ctl_open(sockpath);
	t_ctl_send(c, "{\"cmd\": \"sta", 12);
	t_ctl_close(c);

	expect_alive();
	ck_assert_int_eq(kill(d.pid, 0), 0);
	dmn_stop(&d);
}
END_TEST

START_TEST(a_last_line_without_newline_is_answered_at_eof)
{
	struct t_daemon d;
	bool eof;

	dmn_start(&d);
	struct t_ctl *c = t_ctl_open(sockpath);
	t_ctl_send(c, "{\"cmd\": \"status\"}\n{\"cmd\": \"status\"}", 35);
	ck_assert_int_eq(shutdown(c->fd, SHUT_WR), 0);
	for (int i = 0; i < 2; i++) {
		json_t *ans = t_ctl_read(c, 3000, &eof);
		ck_assert_msg(ans != NULL, "answer %d missing", i);
		ck_assert(is_ok(ans));
		json_decref(ans);
	}
	ck_assert_ptr_null(t_ctl_read(c, 3000, &eof));
	ck_assert(eof);
	t_ctl_close(c);
	dmn_stop(&d);
}
END_TEST

START_TEST(connections_past_64_are_refused)
{
	struct t_ctl *cs[64];
	struct t_daemon d;
	bool eof;

	dmn_start(&d);
	for (int i = 0; i < 64; i++)
		cs[i] = t_ctl_open(sockpath);
	/* Each is accepted before the next answer comes: one round trip on the last. */
	json_t *ans = t_ctl_call(cs[63], "{\"cmd\": \"status\"}", 3000);
	ck_assert(is_ok(ans));
	json_decref(ans);
	struct t_ctl *extra = t_ctl_open(sockpath);
	ans = t_ctl_read(extra, 3000, &eof);
	ck_assert_ptr_nonnull(ans);
	ck_assert_str_eq(error_of(ans), "too many connections");
	json_decref(ans);
	t_ctl_close(extra);
	for (int i = 0; i < 64; i++)
		t_ctl_close(cs[i]);
	/* Once the daemon has seen them go, there is room again. */
	int64_t end = t_mono_ms() + 3000;
	for (bool ok = false; !ok;) {
		ans = call("{\"cmd\": \"status\"}", 3000);
		ok = is_ok(ans);
		ck_assert_msg(ok || strcmp(error_of(ans), "too many connections") == 0, "%s", error_of(ans));
		json_decref(ans);
		ck_assert_msg(ok || t_poll_again(end), "the closed connections still count");
	}
	dmn_stop(&d);
}
END_TEST

/* ------------------------------------------------------------------ status */

START_TEST(status_answers_every_documented_key)
{
	struct t_daemon d;

	write_probe("quiet", "{ \"paused\": true, \"every\": \"1s\", \"url\": \"http://127.0.0.1:%d/health\" }\n", port);
	dmn_start(&d);
	ck_assert(wait_runs("alpha", 0, 0, 1, 3000));
	json_t *ans = call("{\"cmd\": \"status\"}", 3000);
	ck_assert(is_ok(ans));
	ck_assert_int_eq(json_integer_value(json_object_get(ans, "pid")), d.pid);
	ck_assert_str_eq(json_string_value(json_object_get(ans, "version")), "0.1.0");
	ck_assert_int_gt(json_integer_value(json_object_get(ans, "started_ms")), 1600000000000LL);
	ck_assert_str_eq(json_string_value(json_object_get(ans, "config")), cfgpath);
	ck_assert_int_ge(json_integer_value(json_object_get(ans, "runs")), 1);
	ck_assert(json_is_integer(json_object_get(ans, "skipped")));
	ck_assert(json_is_integer(json_object_get(ans, "alerts_pending")));
	json_t *probes = json_object_get(ans, "probes");
	ck_assert_int_eq(json_array_size(probes), 2);
	json_t *a = json_array_get(probes, 0), *q = json_array_get(probes, 1);
	ck_assert_str_eq(json_string_value(json_object_get(a, "name")), "alpha");
	ck_assert(json_is_false(json_object_get(a, "paused")));
	ck_assert(json_is_boolean(json_object_get(a, "running")));
	ck_assert_int_eq(json_integer_value(json_object_get(a, "every_ms")), 200);
	ck_assert_int_eq(json_integer_value(json_object_get(a, "failing")), 0);
	ck_assert_str_eq(json_string_value(json_object_get(q, "name")), "quiet");
	ck_assert(json_is_true(json_object_get(q, "paused")));
	ck_assert_int_eq(json_integer_value(json_object_get(q, "every_ms")), 1000);
	json_decref(ans);
	dmn_stop(&d);
}
END_TEST

/* ------------------------------------------------------------------ reload */

START_TEST(reload_adds_changes_and_removes_probes)
{
	struct t_daemon d;

	health_probe("beta", "200ms", NULL);
	dmn_start(&d);
	ck_assert(wait_runs("beta", 0, 0, 1, 3000));
	health_probe("gamma", "200ms", NULL);
	health_probe("beta", "200ms", "/status/500");
	remove_probe("alpha");
	int64_t t0 = t_mono_ms();
	json_t *ans = call("{\"cmd\": \"reload\"}", 5000);
	int64_t at = wall_ms();
	ck_assert_msg(is_ok(ans), "%s", error_of(ans));
	ck_assert(listed(ans, "added", "gamma"));
	ck_assert(listed(ans, "changed", "beta"));
	ck_assert(listed(ans, "removed", "alpha"));
	ck_assert_int_eq(json_array_size(json_object_get(ans, "unchanged")), 0);
	ck_assert_int_eq(json_array_size(json_object_get(ans, "paused")), 0);
	ck_assert_int_eq(json_array_size(json_object_get(ans, "restart_needed")), 0);
	json_decref(ans);
	/* The new probe runs within a second of the request; the changed one fails as its new URL says. */
	ck_assert(wait_runs("gamma", at, 0, 1, 1000 - (int)(t_mono_ms() - t0)));
	ck_assert(wait_runs("beta", at, 1, 2, 3000));
	ck_assert(wait_runs("gamma", at, 0, 4, 3000));
	/* Rows commit in order: gamma's later runs are in, so every run of alpha is too. None started after. */
	ck_assert_int_eq(runs_of("alpha", at, -1), 0);
	ck_assert_int_eq(runs_of("beta", at + 50, 0), 0);
	t_daemon_expect(&d, "added gamma; changed beta; removed alpha", 1, 1000);
	dmn_stop(&d);
}
END_TEST

START_TEST(an_invalid_config_is_refused_and_the_old_one_runs_on)
{
	struct t_daemon d;
	char want[4400];

	dmn_start(&d);
	write_probe("broken", "{ \"url\": \"http://127.0.0.1:%d/health\",\n  \"expect\": [\"status === 200\"] }\n", port);
	json_t *ans = call("{\"cmd\": \"reload\"}", 5000);
	int64_t at = wall_ms();
	ck_assert(json_is_false(json_object_get(ans, "ok")));
	ck_assert(strlen(error_of(ans)) > 0);
	json_t *diags = json_object_get(ans, "diagnostics");
	ck_assert_int_ge(json_array_size(diags), 1);
	snprintf(want, sizeof(want), "%s/probes.d/broken.json:2:22: unknown operator \"===\"", dir);
	ck_assert_msg(listed_prefix(ans, "diagnostics", want), "%s not in the diagnostics", want);
	json_decref(ans);
	t_daemon_expect(&d, want, 1, 1000);
	t_daemon_expect(&d, "error: reload: ", 1, 1000);
	/* The running probes go on. */
	ck_assert(wait_runs("alpha", at, 0, 3, 3000));
	ans = call("{\"cmd\": \"status\"}", 3000);
	ck_assert_int_eq(json_array_size(json_object_get(ans, "probes")), 1);
	json_decref(ans);
	dmn_stop(&d);
}
END_TEST

/* Diagnostics go to the socket's clients and the log: a secret the bad value came from is never quoted. */
START_TEST(an_invalid_config_never_quotes_a_secret)
{
	static const char secret[] = "not-a-path-but-a-SeCrEt";
	struct t_daemon d;

	t_writef(dir, "token", "%s\n", secret);
	dmn_start(&d);
	t_writef(dir, "canary.json", "{ \"state_dir\": \"state\", \"probes_dir\": \"probes.d\", \"control_socket\": \"ctl.sock\",\n"
				     "  \"channels\": { \"run\": { \"type\": \"exec\", \"command\": [\"${file:token}\"] } } }\n");
	json_t *ans = call("{\"cmd\": \"reload\"}", 5000);
	char *text = json_dumps(ans, 0);
	ck_assert(json_is_false(json_object_get(ans, "ok")));
	ck_assert_msg(listed_prefix(ans, "diagnostics", cfgpath), "%s", text);
	ck_assert_msg(strstr(text, secret) == NULL, "the answer quotes the secret: %s", text);
	free(text);
	json_decref(ans);
	t_daemon_expect(&d, "still running the previous config", 1, 1000);
	ck_assert_msg(strstr(d.log, secret) == NULL, "the log quotes the secret:\n%s", d.log);
	dmn_stop(&d);
}
END_TEST

START_TEST(sighup_reloads_even_without_a_socket)
{
	struct t_daemon d;

	write_main("no-such-dir/ctl.sock");
	dmn_start(&d);
	ck_assert_msg(strstr(d.log, "control socket unavailable") && strstr(d.log, "reload with SIGHUP"), "%s", d.log);
	health_probe("delta", "200ms", NULL);
	kill(d.pid, SIGHUP);
	int64_t at = wall_ms();
	t_daemon_expect(&d, "SIGHUP: reloading", 1, 3000);
	t_daemon_expect(&d, "added delta", 1, 3000);
	ck_assert(wait_runs("delta", at, 0, 2, 3000));
	dmn_stop(&d);
}
END_TEST

START_TEST(restart_only_keys_are_reported)
{
	struct t_daemon d;

	dmn_start(&d);
	t_writef(dir, "canary.json", "{ \"state_dir\": \"state2\", \"probes_dir\": \"probes.d\", \"control_socket\": \"ctl.sock\",\n"
				     "  \"channels\": { \"hook\": { \"type\": \"webhook\", \"url\": \"http://127.0.0.1:%d/hook/x\" } },\n"
				     "  \"defaults\": { \"every\": \"200ms\", \"timeout\": \"2s\" } }\n", port);
	json_t *ans = call("{\"cmd\": \"reload\"}", 5000);
	ck_assert_msg(is_ok(ans), "%s", error_of(ans));
	ck_assert(listed(ans, "restart_needed", "state_dir"));
	ck_assert(listed(ans, "restart_needed", "channels"));
	ck_assert(!listed(ans, "restart_needed", "control_socket"));
	ck_assert(listed(ans, "unchanged", "alpha"));
	json_decref(ans);
	t_daemon_expect(&d, "apply only after a restart", 1, 1000);
	dmn_stop(&d);
}
END_TEST

/*
 * The hard requirement: reloads, no-ops or changing another probe, never
 * move, lose or double a run of a probe they do not change.
 */
START_TEST(reloads_lose_or_double_no_run)
{
	struct t_daemon d;

	health_probe("other", "200ms", NULL);
	dmn_start(&d);
	ck_assert(wait_runs("alpha", 0, 0, 2, 3000));
	int64_t from = wall_ms();
	struct t_ctl *c = t_ctl_open(sockpath);
	for (int i = 0; i < 10; i++) {
		if (i % 2 == 1)
			health_probe("other", i % 4 == 1 ? "300ms" : "200ms", i % 4 == 1 ? "/status/200" : NULL);
		json_t *ans = t_ctl_call(c, "{\"cmd\": \"reload\"}", 5000);
		ck_assert_msg(is_ok(ans), "%s", error_of(ans));
		ck_assert(listed(ans, "unchanged", "alpha"));
		ck_assert(listed(ans, i % 2 ? "changed" : "unchanged", "other"));
		json_decref(ans);
		/* Paced by alpha's runs, about one reload per run. */
		t_daemon_expect(&d, "probe alpha ok in", 3 + i, 3000);
	}
	t_ctl_close(c);
	int64_t to = wall_ms();
	dmn_stop(&d);

	int64_t n = t_db_intf(db(), "SELECT count(*) FROM runs r JOIN probes p ON p.id = r.probe_id WHERE p.name = 'alpha' "
			   "AND r.started_ms BETWEEN %lld AND %lld", (long long)from, (long long)to);
	/* As many runs as 200 ms slots in the window, give or take the one at each end. */
	ck_assert_msg(n >= (to - from) / 200 - 1 && n <= (to - from) / 200 + 1, "%lld runs in %lld ms", (long long)n,
		      (long long)(to - from));
	ck_assert_int_eq(t_db_intf(db(), "SELECT count(*) FROM runs r JOIN probes p ON p.id = r.probe_id "
				"WHERE p.name = 'alpha' AND r.result <> 0"), 0);
	/* Consecutive runs: started every 200 ms within half an interval either way... */
	static const char pairs[] = "WITH a AS (SELECT r.started_ms s, r.started_ms * 1000 - r.lag_us sched, "
				    "row_number() OVER (ORDER BY r.started_ms) k FROM runs r JOIN probes p ON p.id = r.probe_id "
				    "WHERE p.name = 'alpha') SELECT %s FROM a x JOIN a y ON y.k = x.k + 1";
	int64_t maxgap = t_db_intf(db(), pairs, "max(y.s - x.s)"), mingap = t_db_intf(db(), pairs, "min(y.s - x.s)");
	ck_assert_msg(maxgap <= 300 && mingap >= 100, "gaps between %lld and %lld ms over %lld pairs", (long long)mingap,
		      (long long)maxgap, (long long)t_db_intf(db(), pairs, "count(*)"));
	/* ... and, lag taken out, on the very same 200 ms grid as before the reloads. */
	ck_assert_int_eq(t_db_intf(db(), pairs, "count(*) FILTER (WHERE abs((y.sched - x.sched) - 200000) > 30000)"), 0);
}
END_TEST

/* Each requester is answered by a load that started after its request: it sees what was written before it asked. */
START_TEST(a_reload_asked_during_another_sees_what_came_before_it)
{
	struct t_ctl *a, *b;
	struct t_daemon d;
	char name[32];
	bool eof;

	dmn_start(&d);
	a = t_ctl_open(sockpath);
	b = t_ctl_open(sockpath);
	for (int i = 0; i < 5; i++) {
		t_ctl_sendl(a, "{\"cmd\": \"reload\"}");
		/* Likely while a's load runs: b must not get a's answer, which may predate the file. */
		snprintf(name, sizeof(name), "co%d", i);
		health_probe(name, "1s", NULL);
		t_ctl_sendl(b, "{\"cmd\": \"reload\"}");
		json_t *ra = t_ctl_read(a, 5000, &eof), *rb = t_ctl_read(b, 5000, &eof);
		ck_assert_ptr_nonnull(ra);
		ck_assert_ptr_nonnull(rb);
		ck_assert(is_ok(ra) && is_ok(rb));
		ck_assert_msg(listed(rb, "added", name) || (listed(ra, "added", name) && listed(rb, "unchanged", name)),
			      "the reload asked after %s was written does not know it", name);
		json_decref(ra);
		json_decref(rb);
	}
	t_ctl_close(a);
	t_ctl_close(b);
	dmn_stop(&d);
}
END_TEST

/* Open incidents of probe name, and all of them. */
static int64_t incidents_of(const char *name, bool open_only)
{
	return t_db_intf(db(), "SELECT count(*) FROM incidents i JOIN probes p ON p.id = i.probe_id WHERE p.name = '%s'%s",
		      name, open_only ? " AND i.resolved_ms IS NULL" : "");
}

static bool wait_incidents(const char *name, bool open_only, int64_t n, int timeout_ms)
{
	int64_t end = t_mono_ms() + timeout_ms;

	while (incidents_of(name, open_only) != n)
		if (!t_poll_again(end))
			return false;
	return true;
}

static void flaky_probe(const char *path, const char *extra)
{
	write_probe("flaky", "{ \"url\": \"http://127.0.0.1:%d%s\", \"expect\": [\"status == 200\"]%s }\n", port, path,
		    extra);
}

static void reload_expecting(const char *key, const char *name)
{
	json_t *ans = call("{\"cmd\": \"reload\"}", 5000);

	ck_assert_msg(is_ok(ans), "%s", error_of(ans));
	ck_assert_msg(listed(ans, key, name), "%s not %s", name, key);
	json_decref(ans);
}

/* A changed probe keeps its incident: the same one stays open and is the one resolved. */
START_TEST(a_changed_or_returning_probe_keeps_its_incident)
{
	struct t_daemon d;

	flaky_probe("/status/500", "");
	dmn_start(&d);
	ck_assert(wait_incidents("flaky", true, 1, 3000));
	/* Changed, still failing, with a smaller flap ring: no second incident. */
	flaky_probe("/status/500", ", \"timeout\": \"3s\", \"alert\": { \"flap_changes\": 2 }");
	reload_expecting("changed", "flaky");
	int64_t at = wall_ms();
	ck_assert(wait_runs("flaky", at, 1, 3, 3000));
	ck_assert_int_eq(incidents_of("flaky", false), 1);
	/* Removed while open, then back: it picks its incident up again. */
	remove_probe("flaky");
	reload_expecting("removed", "flaky");
	flaky_probe("/status/500", "");
	reload_expecting("added", "flaky");
	at = wall_ms();
	ck_assert(wait_runs("flaky", at, 1, 3, 3000));
	ck_assert_int_eq(incidents_of("flaky", false), 1);
	/* Fixed: that incident is resolved. */
	flaky_probe("/health", "");
	reload_expecting("changed", "flaky");
	ck_assert(wait_incidents("flaky", true, 0, 3000));
	ck_assert_int_eq(incidents_of("flaky", false), 1);
	dmn_stop(&d);
}
END_TEST

/* a asks for a run of the paused probe "slow" (answered when it ends); returns once b sees it in flight. */
static void start_slow_run(struct t_ctl *a, struct t_ctl *b)
{
	t_ctl_sendl(a, "{\"cmd\": \"run-now\", \"probe\": \"slow\"}");
	wait_running(b, "slow");
}

/* b asks for a run of "slow" too: both are answered with a's run, b's "joined". Returns its started_ms. Closes both. */
static int64_t expect_joined(struct t_ctl *a, struct t_ctl *b)
{
	bool eof;

	t_ctl_sendl(b, "{\"cmd\": \"run-now\", \"probe\": \"slow\"}");
	json_t *ra = t_ctl_read(a, 5000, &eof), *rb = t_ctl_read(b, 5000, &eof);
	ck_assert_ptr_nonnull(ra);
	ck_assert_ptr_nonnull(rb);
	ck_assert(is_ok(ra) && is_ok(rb));
	ck_assert(json_is_true(json_object_get(rb, "joined")));
	ck_assert(!json_is_true(json_object_get(ra, "joined")));
	int64_t started = json_integer_value(json_object_get(json_object_get(ra, "result"), "started_ms"));
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(rb, "result"), "started_ms")), started);
	json_decref(ra);
	json_decref(rb);
	t_ctl_close(a);
	t_ctl_close(b);
	return started;
}

/* Runs of probe name (not skipped) that started while another of them was going, 20 ms of clock slack aside. */
static int64_t overlapping_runs(const char *name)
{
	return t_db_intf(db(), "SELECT count(*) FROM runs x JOIN runs y ON y.probe_id = x.probe_id AND y.id <> x.id "
			 "JOIN probes p ON p.id = x.probe_id WHERE p.name = '%s' AND x.result < 2 AND y.result < 2 "
			 "AND y.started_ms >= x.started_ms AND y.started_ms < x.started_ms + x.duration_us / 1000 - 20",
			 name);
}

/* Removed while its run goes on, then added back: the new schedule waits for that run, and run-now joins it. */
START_TEST(a_probe_added_back_waits_for_its_last_run)
{
	struct t_daemon d;

	write_probe("slow", "{ \"paused\": true, \"url\": \"http://127.0.0.1:%d/delay/1500\" }\n", port);
	dmn_start(&d);
	struct t_ctl *a = t_ctl_open(sockpath), *b = t_ctl_open(sockpath);
	start_slow_run(a, b);
	remove_probe("slow");
	reload_expecting("removed", "slow");
	/* Back every 200 ms: its first slot comes while the old run still has more than a second to go. */
	write_probe("slow", "{ \"every\": \"200ms\", \"url\": \"http://127.0.0.1:%d/delay/1500\" }\n", port);
	reload_expecting("added", "slow");
	ck_assert_msg(probe_running(b, "slow"), "status does not count the run of the removed probe");
	int64_t started = expect_joined(a, b);
	/* The schedule's first run came after that one, not beside it. */
	ck_assert(wait_runs("slow", started, 0, 1, 5000));
	ck_assert_int_eq(overlapping_runs("slow"), 0);
	dmn_stop(&d);
}
END_TEST

/*
 * A changed every is applied without wrapping around 2^64 ns: the clock
 * (ns since boot) may be below a long every. The config caps every at 365d,
 * so a value that would wrap (2^64 ns) is refused by the reload and the
 * running schedule stays.
 */
START_TEST(a_changed_every_never_wraps_the_schedule)
{
	struct t_daemon d;

	/* The longest every allowed: more than the clock has likely counted since boot, its first slot far away. */
	health_probe("rare", "365d", NULL);
	health_probe("flood", "200ms", NULL);
	dmn_start(&d);
	ck_assert(wait_runs("flood", 0, 0, 1, 3000));
	/* Shorter: the previous slot plus 200 ms is past, so it runs now. */
	health_probe("rare", "200ms", NULL);
	json_t *ans = call("{\"cmd\": \"reload\"}", 5000);
	ck_assert(listed(ans, "changed", "rare"));
	json_decref(ans);
	ck_assert_msg(wait_runs("rare", 0, 0, 2, 3000), "the shortened probe does not run");
	/* 18446744073710 ms is 2^64 ns and 448384 ns: refused, with its place, and flood keeps its 200 ms. */
	health_probe("flood", "18446744073710ms", NULL);
	ans = call("{\"cmd\": \"reload\"}", 5000);
	ck_assert(!is_ok(ans));
	ck_assert(listed_prefix(ans, "diagnostics", dir));
	json_decref(ans);
	int64_t at = wall_ms();
	ck_assert(wait_runs("flood", at, 0, 3, 3000));
	dmn_stop(&d);
}
END_TEST

/* ------------------------------------------------------------------ run-now */

START_TEST(run_now_answers_with_the_result)
{
	struct t_daemon d;

	write_probe("flow", "{ \"paused\": true, \"steps\": [\n"
			    "  { \"name\": \"first\", \"url\": \"http://127.0.0.1:%d/health\", \"expect\": [\"status == 200\"] },\n"
			    "  { \"name\": \"second\", \"url\": \"http://127.0.0.1:%d/status/503\", \"expect\": [\"status == 200\"] } ] }\n",
		    port, port);
	dmn_start(&d);
	int64_t at = wall_ms();
	json_t *ans = call("{\"cmd\": \"run-now\", \"probe\": \"flow\"}", 5000);
	ck_assert_msg(is_ok(ans), "%s", error_of(ans));
	ck_assert_ptr_null(json_object_get(ans, "joined"));
	json_t *res = json_object_get(ans, "result");
	ck_assert_str_eq(json_string_value(json_object_get(res, "probe")), "flow");
	ck_assert(json_is_false(json_object_get(res, "ok")));
	ck_assert_str_eq(json_string_value(json_object_get(res, "class")), "assertion");
	json_t *steps = json_object_get(res, "steps");
	ck_assert_int_eq(json_array_size(steps), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(steps, 0), "name")), "first");
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(steps, 1), "status")), 503);
	ck_assert_int_ge(json_array_size(json_object_get(json_array_get(steps, 1), "checks")), 1);
	json_decref(ans);
	/* The same path as a scheduled run: recorded and logged. */
	ck_assert(wait_runs("flow", at - 1, 1, 1, 3000));
	t_daemon_expect(&d, "probe flow failed (assertion", 1, 1000);

	ans = call("{\"cmd\": \"run-now\", \"probe\": \"nope\"}", 3000);
	ck_assert(json_is_false(json_object_get(ans, "ok")));
	ck_assert_str_eq(error_of(ans), "no probe named \"nope\"");
	json_decref(ans);
	dmn_stop(&d);
}
END_TEST

START_TEST(run_now_joins_a_run_in_flight)
{
	struct t_daemon d;

	write_probe("slow", "{ \"paused\": true, \"url\": \"http://127.0.0.1:%d/delay/700\" }\n", port);
	dmn_start(&d);
	struct t_ctl *a = t_ctl_open(sockpath), *b = t_ctl_open(sockpath);
	/* The run is in flight once status says so; then b joins it. */
	start_slow_run(a, b);
	expect_joined(a, b);
	/* One run, recorded once. */
	ck_assert(wait_runs("slow", 0, 0, 1, 3000));
	ck_assert_int_eq(runs_of("slow", 0, -1), 1);
	dmn_stop(&d);
}
END_TEST

START_TEST(a_client_leaving_mid_run_now_breaks_nothing)
{
	struct t_daemon d;

	write_probe("slow", "{ \"paused\": true, \"url\": \"http://127.0.0.1:%d/delay/500\" }\n", port);
	dmn_start(&d);
	for (int i = 0; i < 3; i++) {
		struct t_ctl *c = t_ctl_open(sockpath);
		t_ctl_sendl(c, "{\"cmd\": \"run-now\", \"probe\": \"slow\"}");
		t_ctl_sendl(c, "{\"cmd\": \"status\"}"); /* queued behind the run, never read */
		t_ctl_close(c);
	}
	/* The runs end and are recorded (the later requests may have joined the first run). */
	ck_assert(wait_runs("slow", 0, 0, 1, 3000));
	json_t *ans = call("{\"cmd\": \"run-now\", \"probe\": \"slow\"}", 5000);
	ck_assert(is_ok(ans));
	int64_t started = json_integer_value(json_object_get(json_object_get(ans, "result"), "started_ms"));
	json_decref(ans);
	ck_assert(wait_runs("slow", started - 1, 0, 1, 3000));
	expect_alive();
	dmn_stop(&d);
}
END_TEST

/* ------------------------------------------------------------------ pause */

START_TEST(paused_probes_do_not_run_until_resumed)
{
	struct t_daemon d;

	write_probe("idle", "{ \"paused\": true, \"url\": \"http://127.0.0.1:%d/health\" }\n", port);
	dmn_start(&d);
	ck_assert(wait_runs("alpha", 0, 0, 4, 3000));
	ck_assert_int_eq(t_db_intf(db(), "SELECT count(*) FROM probes p JOIN runs r ON r.probe_id = p.id WHERE p.name = 'idle'"), 0);
	json_t *ans = call("{\"cmd\": \"status\"}", 3000);
	json_t *idle = json_array_get(json_object_get(ans, "probes"), 1);
	ck_assert_str_eq(json_string_value(json_object_get(idle, "name")), "idle");
	ck_assert(json_is_true(json_object_get(idle, "paused")));
	json_decref(ans);
	ans = call("{\"cmd\": \"reload\"}", 5000);
	ck_assert(listed(ans, "paused", "idle"));
	ck_assert(listed(ans, "unchanged", "idle"));
	json_decref(ans);

	health_probe("idle", "200ms", NULL);
	ans = call("{\"cmd\": \"reload\"}", 5000);
	int64_t at = wall_ms();
	ck_assert(listed(ans, "changed", "idle"));
	ck_assert(!listed(ans, "paused", "idle"));
	json_decref(ans);
	ck_assert(wait_runs("idle", at, 0, 2, 3000));

	/* Pausing again stops it: no run starts after the answer. */
	write_probe("idle", "{ \"paused\": true, \"url\": \"http://127.0.0.1:%d/health\" }\n", port);
	ans = call("{\"cmd\": \"reload\"}", 5000);
	at = wall_ms();
	ck_assert(listed(ans, "changed", "idle"));
	json_decref(ans);
	ck_assert(wait_runs("alpha", at, 0, 3, 3000));
	ck_assert_int_eq(runs_of("idle", at, -1), 0);
	/* The operator may still run it by hand. */
	ans = call("{\"cmd\": \"run-now\", \"probe\": \"idle\"}", 5000);
	ck_assert(is_ok(ans));
	json_decref(ans);
	dmn_stop(&d);
}
END_TEST

/* ------------------------------------------------------------------ stopping */

/*
 * SIGTERM while a reload's load waits on a secret file (a FIFO the test
 * feeds): the daemon winds down, a SIGHUP then (`systemctl reload`) does
 * not kill it, the pending reload is answered, and it exits 0 with its loop
 * closed once the load ends.
 */
START_TEST(stopping_with_a_reload_in_flight_answers_it_and_ignores_sighup)
{
	static const char token[] = "a-token-from-a-fifo\n";
	struct t_daemon d;
	char fifo[4200];
	bool eof;
	int w;

	snprintf(fifo, sizeof(fifo), "%s/token", dir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	dmn_start(&d);
	write_probe("gated", "{ \"url\": \"http://127.0.0.1:%d/health\", \"headers\": { \"X-Token\": \"${file:%s}\" } }\n",
		    port, fifo);
	struct t_ctl *idle = t_ctl_open(sockpath), *a = t_ctl_open(sockpath);
	t_ctl_sendl(a, "{\"cmd\": \"reload\"}");
	/* Opening the writing end succeeds once the load holds the reading end: it then waits for the token. */
	int64_t end = t_mono_ms() + 3000;
	while ((w = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC)) < 0) {
		ck_assert_int_eq(errno, ENXIO);
		ck_assert_msg(t_poll_again(end), "the reload never opened %s", fifo);
	}
	ck_assert_int_eq(kill(d.pid, SIGTERM), 0);
	/* The idle connection closes when the daemon has wound down, its signal watchers closed too. */
	ck_assert_ptr_null(t_ctl_read(idle, 5000, &eof));
	ck_assert(eof);
	ck_assert_int_eq(kill(d.pid, SIGHUP), 0);
	/* Had the SIGHUP killed it, this write would raise SIGPIPE: the answer below says what went wrong instead. */
	signal(SIGPIPE, SIG_IGN);
	ssize_t wrote = write(w, token, sizeof(token) - 1);
	close(w);
	json_t *ans = t_ctl_read(a, 5000, &eof);
	ck_assert_msg(ans != NULL, "the pending reload got no answer (%s; token %s)", eof ? "closed" : "timed out",
		      wrote > 0 ? "written" : strerror(errno));
	ck_assert(json_is_false(json_object_get(ans, "ok")));
	ck_assert_str_eq(error_of(ans), "canary is stopping");
	json_decref(ans);
	t_ctl_close(idle);
	t_ctl_close(a);
	dmn_exited(&d);
}
END_TEST

/*
 * SIGTERM with a run-now in flight: the socket file goes at once, a client
 * still connected is refused new work but answered status, the run finishes
 * within the grace and its requester gets the result; then every connection
 * closes and the daemon exits 0.
 */
START_TEST(stopping_lets_runs_finish_and_refuses_new_work)
{
	static const char *const refused[] = { "{\"cmd\": \"run-now\", \"probe\": \"slow\"}", "{\"cmd\": \"reload\"}" };
	struct t_daemon d;
	bool eof;

	write_probe("slow", "{ \"paused\": true, \"url\": \"http://127.0.0.1:%d/delay/1000\" }\n", port);
	dmn_start(&d);
	struct t_ctl *a = t_ctl_open(sockpath), *b = t_ctl_open(sockpath);
	start_slow_run(a, b);
	ck_assert_int_eq(kill(d.pid, SIGTERM), 0);
	t_daemon_expect(&d, "letting runs in flight finish", 1, 3000);
	ck_assert_int_ne(access(sockpath, F_OK), 0);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		json_t *ans = t_ctl_call(b, refused[i], 3000);
		ck_assert_str_eq(error_of(ans), "canary is stopping");
		json_decref(ans);
	}
	json_t *ans = t_ctl_call(b, "{\"cmd\": \"status\"}", 3000);
	ck_assert(is_ok(ans));
	json_decref(ans);
	ans = t_ctl_read(a, 5000, &eof);
	ck_assert_msg(ans != NULL && is_ok(ans), "the run in flight was not answered");
	ck_assert(json_is_true(json_object_get(json_object_get(ans, "result"), "ok")));
	json_decref(ans);
	ck_assert_ptr_null(t_ctl_read(b, 5000, &eof));
	ck_assert(eof);
	t_ctl_close(a);
	t_ctl_close(b);
	dmn_exited(&d);
}
END_TEST

/* ------------------------------------------------------------------ peers and the socket file */

/*
 * Sends a status request as uid and gid 65534 with the supplementary groups
 * (n of them) and returns the first answer line (new), "" when none came.
 */
static char *status_as_nobody(const gid_t *groups, size_t n)
{
	char *buf = calloc(1, 512);
	int p[2];

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		const char req[] = "{\"cmd\": \"status\"}\n";
		char ans[512];
		ssize_t got = 0;
		close(p[0]);
		if (setgroups(n, groups) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
			_exit(2);
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		memcpy(a.sun_path, sockpath, strlen(sockpath) + 1); /* short: a temp dir */
		if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
			_exit(3);
		/* The daemon may have answered and closed already: no SIGPIPE, and the answer is read anyway. */
		if (send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) < 0 && errno != EPIPE && errno != ECONNRESET)
			_exit(4);
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		if (poll(&pf, 1, 3000) == 1)
			got = read(fd, ans, sizeof(ans) - 1);
		if (got > 0 && write(p[1], ans, (size_t)got) < 0)
			_exit(5);
		_exit(0);
	}
	close(p[1]);
	ck_assert_int_eq(t_wait(pid, 5000), 0);
	ssize_t got = read(p[0], buf, 511);
	close(p[0]);
	ck_assert_int_ge(got, 0);
	return buf;
}

/* The daemon's group counts as a supplementary group too (usermod -aG), not only as the primary one. */
START_TEST(group_members_are_allowed_and_other_users_denied)
{
	static const struct {
		bool in_group;  /* our gid among the peer's supplementary groups */
		bool allowed;
	} cases[] = { { false, false }, { true, true } };
	struct t_daemon d;
	gid_t ours = getegid(), other = 65533;

	if (geteuid() != 0)
		return; /* needs root to become another user */
	dmn_start(&d);
	/* The file's mode lets anyone connect: only the daemon's check decides. */
	ck_assert_int_eq(chmod(dir, 0755), 0);
	ck_assert_int_eq(chmod(sockpath, 0666), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* Many groups, ours last: a list too long for a small buffer still counts. */
		gid_t groups[100];
		size_t n = cases[i].in_group ? 100 : 1;
		for (size_t k = 0; k < n; k++)
			groups[k] = other - (gid_t)k;
		if (cases[i].in_group)
			groups[n - 1] = ours;
		char *ans = status_as_nobody(groups, n);
		if (cases[i].allowed)
			ck_assert_msg(strstr(ans, "\"ok\":true") != NULL, "a member of group %u was refused: %s",
				      (unsigned)ours, ans);
		else
			ck_assert_msg(strstr(ans, "\"ok\":false") && strstr(ans, "permission denied"), "%s", ans);
		free(ans);
	}
	expect_alive();
	dmn_stop(&d);
}
END_TEST

START_TEST(a_stale_socket_is_replaced_and_a_live_one_refuses_a_second_daemon)
{
	struct t_daemon d, d2;
	struct stat st;

	dmn_start(&d);
	t_kill(d.pid); /* SIGKILL: the socket file stays behind */
	close(d.efd);
	free(d.log);
	ck_assert_int_eq(stat(sockpath, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));

	dmn_start(&d2);
	ck_assert_int_eq(stat(sockpath, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0660);
	json_t *ans = call("{\"cmd\": \"status\"}", 3000);
	ck_assert_int_eq(json_integer_value(json_object_get(ans, "pid")), d2.pid);
	json_decref(ans);

	/* A second daemon on the same socket refuses to start, and leaves the first one's socket alone. */
	char *argv[] = { (char *)t_canary_bin(), "run", "-c", cfgpath, NULL };
	char *out, *err;
	int rc = t_run(argv, NULL, &out, &err, 5000);
	ck_assert_msg(rc == 1, "status %d: %s", rc, err);
	ck_assert_msg(strstr(err, "another canary is running") != NULL, "%s", err);
	free(out);
	free(err);
	ans = call("{\"cmd\": \"status\"}", 3000);
	ck_assert_int_eq(json_integer_value(json_object_get(ans, "pid")), d2.pid);
	json_decref(ans);
	dmn_stop(&d2);
	/* A clean stop removes it. */
	ck_assert_int_ne(stat(sockpath, &st), 0);
}
END_TEST

/* A test case on the fixture API, with a fresh temp dir per test. */
static TCase *daemon_tcase(Suite *s, const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_unchecked_fixture(tc, start_api, stop_api);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	suite_add_tcase(s, tc);
	return tc;
}

Suite *control_suite(void)
{
	Suite *s = suite_create("control");
	TCase *tc = daemon_tcase(s, "socket");

	tcase_add_test(tc, malformed_requests_get_errors_and_never_crash);
	tcase_add_test(tc, a_last_line_without_newline_is_answered_at_eof);
	tcase_add_test(tc, connections_past_64_are_refused);
	tcase_add_test(tc, status_answers_every_documented_key);
	tcase_add_test(tc, group_members_are_allowed_and_other_users_denied);
	tcase_add_test(tc, a_stale_socket_is_replaced_and_a_live_one_refuses_a_second_daemon);

	tc = daemon_tcase(s, "reload");
	tcase_add_test(tc, reload_adds_changes_and_removes_probes);
	tcase_add_test(tc, an_invalid_config_is_refused_and_the_old_one_runs_on);
	tcase_add_test(tc, an_invalid_config_never_quotes_a_secret);
	tcase_add_test(tc, sighup_reloads_even_without_a_socket);
	tcase_add_test(tc, restart_only_keys_are_reported);
	tcase_add_test(tc, reloads_lose_or_double_no_run);
	tcase_add_test(tc, a_reload_asked_during_another_sees_what_came_before_it);
	tcase_add_test(tc, paused_probes_do_not_run_until_resumed);
	tcase_add_test(tc, a_changed_or_returning_probe_keeps_its_incident);
	tcase_add_test(tc, a_probe_added_back_waits_for_its_last_run);
	tcase_add_test(tc, a_changed_every_never_wraps_the_schedule);

	tc = daemon_tcase(s, "run-now");
	tcase_add_test(tc, run_now_answers_with_the_result);
	tcase_add_test(tc, run_now_joins_a_run_in_flight);
	tcase_add_test(tc, a_client_leaving_mid_run_now_breaks_nothing);

	tc = daemon_tcase(s, "stopping");
	tcase_add_test(tc, stopping_lets_runs_finish_and_refuses_new_work);
	tcase_add_test(tc, stopping_with_a_reload_in_flight_answers_it_and_ignores_sighup);
	return s;
}
