/* check_cli.c - the real canary binary: check, config check, run until SIGTERM, status, and secrets. */
#include "tests/tests.h"

#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Long enough to be unmistakable when grepped for in outputs and files. */
#define PASSWORD "Sup3r-s3cret-pa55word"

static pid_t api_pid;
static int port;
static char *dir;
static char cfgpath[4096];
static char *pw_env[] = { "CANARY_TEST_PW=" PASSWORD, NULL };

static void start_api(void)
{
	api_pid = t_fakeapi_start_pw(&port, PASSWORD);
}

static void stop_api(void)
{
	t_fakeapi_stop(api_pid);
}

/* A config with two probes: the login flow, and one whose failure echoes the password back. */
static void setup(void)
{
	char sub[4096];

	dir = t_tmpdir();
	ck_assert_int_eq(t_http_post(port, "/_control/mode", "all=ok"), 200);
	snprintf(cfgpath, sizeof(cfgpath), "%s/canary.json", dir);
	t_writef(dir, "canary.json", "{ \"state_dir\": \"state\", \"probes_dir\": \"probes.d\",\n"
				     "  \"defaults\": { \"every\": \"300ms\", \"timeout\": \"2s\" } }\n");
	snprintf(sub, sizeof(sub), "%s/probes.d", dir);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	t_writef(dir, "probes.d/vitals.json",
		 "{ \"vars\": { \"base\": \"http://127.0.0.1:%d\", \"pw\": \"${env:CANARY_TEST_PW}\" },\n"
		 "  \"steps\": [\n"
		 "    { \"name\": \"login\", \"method\": \"POST\", \"url\": \"{{base}}/v1/login\",\n"
		 "      \"json\": { \"username\": \"u\", \"password\": \"{{pw}}\" },\n"
		 "      \"expect\": [\"status == 200\"], \"extract\": { \"token\": \"json.token\" } },\n"
		 "    { \"name\": \"submit\", \"method\": \"POST\", \"url\": \"{{base}}/v1/measurements?t={{token}}\",\n"
		 "      \"headers\": { \"Authorization\": \"Bearer {{token}}\" },\n"
		 "      \"json\": { \"type\": \"heart_rate\", \"value\": 72 },\n"
		 "      \"expect\": [\"status in [200, 201]\", \"json.id exists\"] } ] }\n",
		 port);
	t_writef(dir, "probes.d/leaky.json",
		 "{ \"method\": \"POST\", \"url\": \"http://127.0.0.1:%d/echo\",\n"
		 "  \"headers\": { \"X-Key\": \"${env:CANARY_TEST_PW}\" },\n"
		 "  \"expect\": [\"json.headers.x-key == nope\"] }\n",
		 port);
}

static void teardown(void)
{
	t_rmrf(dir);
	free(dir);
}

/*
 * Runs canary with args (NULL-terminated) and env added to its environment;
 * returns the status, outputs in *out, *err. Not t_canary_run: that one takes
 * no environment, and what is in it (the password, or not) is what these tests are about.
 */
static int canary(char **out, char **err, char *const env[], ...)
{
	char *argv[32] = { (char *)t_canary_bin() };
	va_list ap;
	int n = 1;

	va_start(ap, env);
	for (char *a; n < 31 && (a = va_arg(ap, char *)) != NULL;)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	return t_run(argv, env, out, err, 20000);
}

START_TEST(check_prints_every_step_and_exits_0)
{
	char *out, *err, url[128];
	int st = canary(&out, &err, pw_env, "check", "-c", cfgpath, "vitals", NULL);

	ck_assert_msg(st == 0, "status %d\n%s%s", st, out, err);
	snprintf(url, sizeof(url), "[1/2] login: POST http://127.0.0.1:%d/v1/login\n", port);
	ck_assert_ptr_nonnull(strstr(out, url));
	/* The token is a secret: redacted in the URL and in what was extracted. */
	snprintf(url, sizeof(url), "[2/2] submit: POST http://127.0.0.1:%d/v1/measurements?t=[redacted]\n", port);
	ck_assert_ptr_nonnull(strstr(out, url));
	ck_assert_ptr_nonnull(strstr(out, "      PASS status == 200\n"));
	ck_assert_ptr_nonnull(strstr(out, "      PASS json.id exists\n"));
	ck_assert_ptr_nonnull(strstr(out, "      extracted token = [redacted]\n"));
	ck_assert_ptr_nonnull(strstr(out, "(dns "));
	ck_assert_ptr_nonnull(strstr(out, ", ttfb "));
	ck_assert_ptr_nonnull(strstr(out, "OK vitals: 2 steps passed"));
	ck_assert_ptr_null(strstr(out, "tok-"));
	free(out);
	free(err);
}
END_TEST

START_TEST(check_reveal_shows_extracted_values)
{
	char *out, *err;
	int st = canary(&out, &err, pw_env, "check", "--reveal", "-c", cfgpath, "vitals", NULL);

	ck_assert_int_eq(st, 0);
	ck_assert_ptr_nonnull(strstr(out, "extracted token = tok-"));
	free(out);
	free(err);
}
END_TEST

START_TEST(check_failure_exits_2_and_names_the_step)
{
	char *out, *err;
	char *env[] = { "CANARY_TEST_PW=wrong-password", NULL };
	int st = canary(&out, &err, env, "check", "-c", cfgpath, "vitals", NULL);

	ck_assert_int_eq(st, 2);
	ck_assert_ptr_nonnull(strstr(out, "      FAIL status == 200: got 401\n"));
	ck_assert_ptr_nonnull(strstr(out, "[2/2] submit: not run (an earlier step failed)\n"));
	ck_assert_ptr_nonnull(strstr(out, "FAIL vitals (assertion): step \"login\": expected status == 200, got 401"));
	free(out);
	free(err);
}
END_TEST

START_TEST(check_invalid_probe_exits_3_with_position)
{
	char *out, *err, want[4200];
	char path[4096];

	t_writef(dir, "bad.json", "{ \"url\": \"http://127.0.0.1:1/\",\n  \"expect\": [\"status === 200\"] }\n");
	snprintf(path, sizeof(path), "%s/bad.json", dir);
	int st = canary(&out, &err, NULL, "check", path, NULL);
	ck_assert_int_eq(st, 3);
	snprintf(want, sizeof(want), "%s:2:22: unknown operator \"===\"", path);
	ck_assert_msg(strstr(err, want) != NULL, "%s", err);
	free(out);
	free(err);
	st = canary(&out, &err, pw_env, "check", "-c", cfgpath, "no-such-probe", NULL);
	ck_assert_int_eq(st, 3);
	ck_assert_ptr_nonnull(strstr(err, "no probe named \"no-such-probe\""));
	free(out);
	free(err);
	st = canary(&out, &err, NULL, "check", NULL);
	ck_assert_int_eq(st, 3);
	free(out);
	free(err);
}
END_TEST

START_TEST(check_json_output)
{
	char *out, *err;
	int st = canary(&out, &err, pw_env, "check", "--json", "-c", cfgpath, "vitals", NULL);

	ck_assert_int_eq(st, 0);
	json_t *o = t_json(out);
	ck_assert(json_is_true(json_object_get(o, "ok")));
	json_t *steps = json_object_get(o, "steps");
	ck_assert_int_eq(json_array_size(steps), 2);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(steps, 1), "status")), 201);
	ck_assert(json_is_number(json_object_get(json_array_get(steps, 0), "connect_ms")));
	json_decref(o);
	free(out);
	free(err);
}
END_TEST

START_TEST(config_check_valid_and_invalid)
{
	char *out, *err, want[4200];
	int st = canary(&out, &err, pw_env, "config", "check", "-c", cfgpath, NULL);

	ck_assert_msg(st == 0, "%s", err);
	ck_assert_ptr_nonnull(strstr(out, "ok, 2 probes"));
	free(out);
	free(err);
	t_writef(dir, "probes.d/typo.json", "{ \"url\": \"http://127.0.0.1:1/\",\n  \"expcet\": [] }\n");
	st = canary(&out, &err, pw_env, "config", "check", "-c", cfgpath, NULL);
	ck_assert_int_eq(st, 1);
	snprintf(want, sizeof(want), "%s/probes.d/typo.json:2:3: unknown key \"expcet\" (did you mean \"expect\"?)",
		 dir);
	ck_assert_msg(strstr(err, want) != NULL, "%s", err);
	free(out);
	free(err);
}
END_TEST

static int64_t db_count(const char *sql)
{
	char path[4096];
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t n = -1;

	snprintf(path, sizeof(path), "%s/state/canary.db", dir);
	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* Runs the daemon until the flow has passed n times, then stops it with SIGTERM. Returns its stderr. */
static char *run_daemon(int n)
{
	char *argv[] = { (char *)t_canary_bin(), "run", "-c", cfgpath, "-v", NULL };
	char *log = NULL;
	int efd;
	pid_t pid = t_spawn(argv, pw_env, NULL, &efd);

	bool seen = t_read_until(efd, "probe vitals ok in", n, 10000, &log);
	kill(pid, SIGTERM);
	int st = t_wait(pid, 7000);
	if (st < 0)
		t_kill(pid);
	t_read_until(efd, "\n\n", 1, 1000, &log); /* the rest, up to EOF */
	close(efd);
	ck_assert_msg(seen, "the flow did not pass %d times:\n%s", n, log);
	ck_assert_msg(st == 0, "exit status %d:\n%s", st, log);
	return log;
}

START_TEST(run_records_every_run_and_stops_cleanly)
{
	char *log = run_daemon(4);

	ck_assert_ptr_nonnull(strstr(log, "stopping"));
	ck_assert_ptr_nonnull(strstr(log, "stopped after"));
	ck_assert_ptr_null(strstr(log, "lost"));
	/* Every run the daemon logged is in the database, once. */
	int logged_ok = count(log, "probe vitals ok in");
	ck_assert_int_ge(logged_ok, 4);
	ck_assert_int_eq(db_count("SELECT count(*) FROM runs JOIN probes p ON p.id = probe_id "
				  "WHERE p.name = 'vitals' AND result = 0"),
			 logged_ok);
	ck_assert_int_eq(db_count("SELECT count(*) FROM steps s JOIN runs r ON r.id = s.run_id "
				  "JOIN probes p ON p.id = r.probe_id WHERE p.name = 'vitals' AND r.result = 0"),
			 2 * logged_ok);
	ck_assert_int_ge(db_count("SELECT count(*) FROM runs JOIN probes p ON p.id = probe_id "
				  "WHERE p.name = 'leaky' AND result = 1 AND class = 'assertion'"),
			 1);
	free(log);

	/* status reads the database the daemon left, without its secrets in the environment. */
	char *out, *err;
	int st = canary(&out, &err, NULL, "status", "-c", cfgpath, "--json", NULL);
	ck_assert_msg(st == 0, "%s", err);
	json_t *arr = t_json(out);
	ck_assert_int_eq(json_array_size(arr), 2);
	json_t *leaky = json_array_get(arr, 0), *vitals = json_array_get(arr, 1);
	ck_assert_str_eq(json_string_value(json_object_get(vitals, "name")), "vitals");
	ck_assert_str_eq(json_string_value(json_object_get(vitals, "state")), "up");
	ck_assert(json_real_value(json_object_get(vitals, "uptime_24h")) == 1.0);
	ck_assert(json_is_null(json_object_get(vitals, "error")));
	ck_assert_int_eq(strlen(json_string_value(json_object_get(vitals, "last_run"))), 20);
	ck_assert_str_eq(json_string_value(json_object_get(leaky, "state")), "down");
	ck_assert(json_real_value(json_object_get(leaky, "uptime_24h")) == 0.0);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(leaky, "error")), "[redacted]"));
	json_decref(arr);
	free(out);
	free(err);
}
END_TEST

START_TEST(secrets_never_reach_output_logs_or_database)
{
	char *log = run_daemon(2), *out, *err;

	ck_assert_ptr_null(strstr(log, PASSWORD));
	ck_assert_ptr_nonnull(strstr(log, "[redacted]")); /* the echoed secret was in a message */
	free(log);
	canary(&out, &err, pw_env, "check", "-c", cfgpath, "leaky", NULL);
	ck_assert_ptr_nonnull(strstr(out, "FAIL json.headers.x-key == nope: got \"[redacted]\""));
	ck_assert_ptr_null(strstr(out, PASSWORD));
	ck_assert_ptr_null(strstr(err, PASSWORD));
	free(out);
	free(err);
	canary(&out, &err, pw_env, "check", "--json", "-c", cfgpath, "leaky", NULL);
	ck_assert_ptr_null(strstr(out, PASSWORD));
	free(out);
	free(err);
	/* Every byte of the database and its journal, not just the columns we know of. */
	const char *files[] = { "state/canary.db", "state/canary.db-wal", "state/canary.db-shm" };
	for (size_t i = 0; i < 3; i++) {
		char path[4096];
		size_t len = 0;
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		char *data = t_slurp(path, &len);
		if (data == NULL)
			continue;
		ck_assert_msg(memmem(data, len, PASSWORD, strlen(PASSWORD)) == NULL, "the password is in %s", files[i]);
		ck_assert_msg(memmem(data, len, "tok-", 4) == NULL, "a token is in %s", files[i]);
		free(data);
	}
}
END_TEST

START_TEST(overlapping_runs_are_skipped_and_recorded)
{
	/* Every 300 ms, but each run takes a second: the runs between are skipped, never stacked. */
	char sub[4096], *log = NULL;
	int efd;

	snprintf(sub, sizeof(sub), "%s/slow.d", dir);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	t_writef(dir, "slow.d/slow.json", "{ \"every\": \"300ms\", \"timeout\": \"3s\",\n"
					  "  \"url\": \"http://127.0.0.1:%d/delay/1000\" }\n", port);
	t_writef(dir, "canary.json", "{ \"state_dir\": \"state\", \"probes_dir\": \"slow.d\" }\n");
	char *argv[] = { (char *)t_canary_bin(), "run", "-c", cfgpath, "-v", NULL };
	pid_t pid = t_spawn(argv, NULL, NULL, &efd);
	bool seen = t_read_until(efd, "probe slow ok in", 2, 10000, &log);
	kill(pid, SIGTERM);
	ck_assert_int_eq(t_wait(pid, 7000), 0);
	t_read_until(efd, "\n\n", 1, 1000, &log);
	close(efd);
	ck_assert_msg(seen, "%s", log);
	int skipped = count(log, "probe slow: run skipped: the previous run was still going");
	ck_assert_int_ge(skipped, 2);
	/* Only the first of a row is news (info); a run that finally starts says how many were skipped. */
	ck_assert_int_lt(count(log, "info: probe slow: run skipped:"), skipped);
	ck_assert_int_ge(count(log, "runs in a row were skipped while a run went on"), 1);
	ck_assert_int_eq(db_count("SELECT count(*) FROM runs WHERE result = 2 AND class = 'skipped'"), skipped);
	ck_assert_int_eq(db_count("SELECT count(*) FROM runs WHERE result = 0"), count(log, "probe slow ok in"));
	/* A skip is recorded at its slot: after the first run's start, and within the test's minute. */
	ck_assert_int_eq(db_count("SELECT count(*) FROM runs, (SELECT min(started_ms) AS t0 FROM runs WHERE result = 0) "
				  "WHERE result = 2 AND (started_ms <= t0 OR started_ms > t0 + 60000)"),
			 0);
	/* No run started before the previous one ended (1 ms of rounding aside). */
	ck_assert_int_eq(db_count("SELECT count(*) FROM runs a JOIN runs b ON b.id = (SELECT min(id) FROM runs "
				  "WHERE id > a.id AND result < 2) WHERE a.result < 2 "
				  "AND b.started_ms < a.started_ms + a.duration_us / 1000 - 1"),
			 0);
	free(log);
}
END_TEST

/* Starts canary run with stderr on a pipe whose "dev:inode" JOURNAL_STREAM names (or not). */
static pid_t spawn_with_journal(bool journal, int *efd)
{
	char *argv[] = { (char *)t_canary_bin(), "run", "-c", cfgpath, "-v", NULL };
	char env[128];
	struct stat st;
	int p[2];

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(fstat(p[1], &st), 0);
	snprintf(env, sizeof(env), "JOURNAL_STREAM=%lu:%lu", (unsigned long)st.st_dev,
		 (unsigned long)st.st_ino + (journal ? 0 : 1));
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(p[1], STDERR_FILENO);
		close(p[0]);
		close(p[1]);
		putenv(env);
		putenv(pw_env[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	*efd = p[0];
	return pid;
}

START_TEST(journal_prefixes_only_when_stderr_is_the_journal)
{
	for (int journal = 1; journal >= 0; journal--) {
		char *log = NULL;
		int efd;
		pid_t pid = spawn_with_journal(journal, &efd);
		bool seen = t_read_until(efd, "probe vitals ok in", 1, 10000, &log);
		kill(pid, SIGTERM);
		ck_assert_int_eq(t_wait(pid, 7000), 0);
		close(efd);
		ck_assert_msg(seen, "%s", log);
		if (journal) {
			ck_assert_msg(strncmp(log, "<6>canary ", 10) == 0, "%s", log);
			ck_assert_ptr_nonnull(strstr(log, "\n<7>probe vitals ok in"));
		} else {
			ck_assert_ptr_null(strstr(log, "<6>"));
			ck_assert_ptr_nonnull(strstr(log, "Z debug: probe vitals ok in"));
		}
		free(log);
	}
}
END_TEST

/* A loopback listener that accepts and never answers; returns its fd and sets *lport. */
static int silent_listener(int *lport)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*lport = ntohs(a.sin_port);
	return fd;
}

static void use_only(const char *probe_json)
{
	char sub[4096];

	snprintf(sub, sizeof(sub), "%s/only.d", dir);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	t_writef(dir, "only.d/only.json", "%s", probe_json);
	t_writef(dir, "canary.json", "{ \"state_dir\": \"state\", \"probes_dir\": \"only.d\" }\n");
}

/* Under its step, a step's error is not prefixed with the step's name again; the summary line names it. */
START_TEST(check_prints_a_step_error_once_under_its_step)
{
	char *out, *err;

	use_only("{ \"steps\": [ { \"name\": \"login\", \"url\": \"http://127.0.0.1:1/x\" } ] }\n");
	int st = canary(&out, &err, NULL, "check", "-c", cfgpath, "only", NULL);
	ck_assert_int_eq(st, 2);
	ck_assert_msg(strstr(out, "      ERROR (connect) Failed to connect to 127.0.0.1 port 1") != NULL, "%s", out);
	ck_assert_ptr_null(strstr(out, "ERROR (connect) step"));
	ck_assert_msg(strstr(out, "FAIL only (connect): step \"login\": Failed to connect") != NULL, "%s", out);
	free(out);
	free(err);
}
END_TEST

START_TEST(sigterm_abandons_runs_past_the_grace)
{
	char probe_json[256], *log = NULL;
	int lport, lfd = silent_listener(&lport), efd;

	snprintf(probe_json, sizeof(probe_json),
		 "{ \"every\": \"100ms\", \"timeout\": \"60s\", \"url\": \"http://127.0.0.1:%d/\" }\n", lport);
	use_only(probe_json);
	char *argv[] = { (char *)t_canary_bin(), "run", "-c", cfgpath, NULL };
	pid_t pid = t_spawn(argv, NULL, NULL, &efd);
	struct pollfd pf = { .fd = lfd, .events = POLLIN };
	ck_assert_int_eq(poll(&pf, 1, 5000), 1); /* the run has connected and waits for an answer */
	int conn = accept(lfd, NULL, NULL);
	ck_assert_int_ge(conn, 0);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	kill(pid, SIGTERM);
	int st = t_wait(pid, 10000);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	t_read_until(efd, "\n\n", 1, 1000, &log);
	close(efd);
	close(conn);
	close(lfd);
	ck_assert_msg(st == 0, "status %d: %s", st, log);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	ck_assert_msg(secs >= 4.0 && secs < 6.0, "stopped after %.2f s", secs);
	ck_assert_ptr_nonnull(strstr(log, "abandoning 1 run still going"));
	ck_assert_int_eq(db_count("SELECT count(*) FROM runs WHERE result = 2 AND class = 'aborted'"), 1);
	free(log);
}
END_TEST

START_TEST(a_stalled_daemon_records_the_runs_it_missed)
{
	char probe_json[256], *log = NULL;
	int efd;

	snprintf(probe_json, sizeof(probe_json),
		 "{ \"every\": \"200ms\", \"url\": \"http://127.0.0.1:%d/health\" }\n", port);
	use_only(probe_json);
	char *argv[] = { (char *)t_canary_bin(), "run", "-c", cfgpath, "-v", NULL };
	pid_t pid = t_spawn(argv, NULL, NULL, &efd);
	ck_assert(t_read_until(efd, "probe only ok in", 1, 5000, &log));
	/* The stall is the stimulus, not a wait for something: a second stopped, five intervals. */
	kill(pid, SIGSTOP);
	struct timespec stall = { 1, 0 };
	nanosleep(&stall, NULL);
	kill(pid, SIGCONT);
	bool seen = t_read_until(efd, "run skipped: the daemon fell behind its schedule", 3, 5000, &log);
	kill(pid, SIGTERM);
	ck_assert_int_eq(t_wait(pid, 7000), 0);
	t_read_until(efd, "\n\n", 1, 1000, &log);
	close(efd);
	ck_assert_msg(seen, "%s", log);
	int missed = count(log, "the daemon fell behind its schedule");
	/* One warning for the stall, with the count; the per-run lines are debug ones. */
	char want[128];
	snprintf(want, sizeof(want), "warning: the daemon is behind schedule: %d run%s skipped; further ones", missed,
		 missed == 1 ? "" : "s");
	ck_assert_msg(count(log, "warning: the daemon is behind schedule") == 1 && strstr(log, want) != NULL,
		      "no \"%s\" (once) in:\n%s", want, log);
	ck_assert_int_eq(db_count("SELECT count(*) FROM runs WHERE result = 2 AND "
				  "error = 'the daemon fell behind its schedule'"),
			 missed);
	free(log);
}
END_TEST

START_TEST(run_refuses_an_invalid_config)
{
	char *out, *err, want[4200], db[4200];

	t_writef(dir, "probes.d/typo.json", "{ \"url\": \"http://127.0.0.1:1/\", \"every\": \"often\" }\n");
	int st = canary(&out, &err, pw_env, "run", "-c", cfgpath, NULL);
	ck_assert_int_eq(st, 1);
	snprintf(want, sizeof(want), "%s/probes.d/typo.json:1:33: \"every\": expected a duration", dir);
	ck_assert_msg(strstr(err, want) != NULL, "%s", err);
	ck_assert_ptr_nonnull(strstr(err, "refusing to start"));
	snprintf(db, sizeof(db), "%s/state/canary.db", dir);
	ck_assert_int_ne(access(db, F_OK), 0);
	free(out);
	free(err);
}
END_TEST

START_TEST(status_before_any_run)
{
	char *out, *err, db[4200];
	int st = canary(&out, &err, NULL, "status", "-c", cfgpath, NULL);

	ck_assert_msg(st == 0, "%s", err);
	ck_assert_ptr_nonnull(strstr(out, "PROBE"));
	ck_assert_int_eq(count(out, "unknown"), 2);
	snprintf(db, sizeof(db), "%s/state/canary.db", dir);
	ck_assert_int_ne(access(db, F_OK), 0); /* reading never creates the database */
	free(out);
	free(err);
}
END_TEST

START_TEST(help_and_unknown_commands)
{
	char *out, *err;

	ck_assert_int_eq(canary(&out, &err, NULL, "--help", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "usage: canary COMMAND"));
	free(out);
	free(err);
	const char *cmds[] = { "check", "run", "status" };
	for (size_t i = 0; i < 3; i++) {
		ck_assert_int_eq(canary(&out, &err, NULL, cmds[i], "--help", NULL), 0);
		ck_assert_ptr_nonnull(strstr(out, "usage: canary"));
		free(out);
		free(err);
	}
	ck_assert_int_eq(canary(&out, &err, NULL, "frobnicate", NULL), 1);
	ck_assert_ptr_nonnull(strstr(err, "unknown command \"frobnicate\""));
	free(out);
	free(err);
}
END_TEST

Suite *cli_suite(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("commands");

	tcase_add_unchecked_fixture(tc, start_api, stop_api);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, check_prints_every_step_and_exits_0);
	tcase_add_test(tc, check_reveal_shows_extracted_values);
	tcase_add_test(tc, check_failure_exits_2_and_names_the_step);
	tcase_add_test(tc, check_invalid_probe_exits_3_with_position);
	tcase_add_test(tc, check_json_output);
	tcase_add_test(tc, config_check_valid_and_invalid);
	tcase_add_test(tc, run_refuses_an_invalid_config);
	tcase_add_test(tc, status_before_any_run);
	tcase_add_test(tc, help_and_unknown_commands);
	suite_add_tcase(s, tc);
	tc = tcase_create("daemon");
	tcase_add_unchecked_fixture(tc, start_api, stop_api);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, run_records_every_run_and_stops_cleanly);
	tcase_add_test(tc, secrets_never_reach_output_logs_or_database);
	tcase_add_test(tc, overlapping_runs_are_skipped_and_recorded);
	tcase_add_test(tc, journal_prefixes_only_when_stderr_is_the_journal);
	tcase_add_test(tc, check_prints_a_step_error_once_under_its_step);
	tcase_add_test(tc, sigterm_abandons_runs_past_the_grace);
	tcase_add_test(tc, a_stalled_daemon_records_the_runs_it_missed);
	suite_add_tcase(s, tc);
	return s;
}
