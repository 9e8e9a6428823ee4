/* check_alert.c - incidents and alerts end to end: the real daemon, a fake target and fake Slack/Instatus receivers. */
#include "tests/alertfx.h"
#include "tests/tests.h"

#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Secrets long enough to be unmistakable when grepped for. */
#define SLACK_TOKEN "XsL4ck-t0ken-s3cret"
#define INSTATUS_KEY "test-key"

static pid_t api_pid, rx_pid;
static int api_port, rx_port;
static char *dir;
static char cfgpath[4096];
static char slack_env[256];
static char *env[] = { slack_env, "INSTATUS_KEY=" INSTATUS_KEY, NULL };

static void start_servers(void)
{
	api_pid = t_fakeapi_start(&api_port);
	rx_pid = t_alertfx_start(&rx_port);
	snprintf(slack_env, sizeof(slack_env), "SLACK_URL=http://127.0.0.1:%d/services/T01/B02/%s", rx_port,
		 SLACK_TOKEN);
}

static void stop_servers(void)
{
	t_fakeapi_stop(api_pid);
	t_alertfx_stop(rx_pid);
}

/* A login probe (every 200ms) and a config with Slack and Instatus; alert holds defaults.alert's members. */
static void write_config(const char *alert, const char *slack_extra)
{
	char sub[4096];

	snprintf(cfgpath, sizeof(cfgpath), "%s/canary.json", dir);
	t_writef(dir, "canary.json",
		 "{ \"state_dir\": \"state\", \"probes_dir\": \"probes.d\",\n"
		 "  \"defaults\": { \"every\": \"200ms\", \"timeout\": \"1s\",\n"
		 "                \"alert\": { \"channels\": [\"slack\", \"status\"]%s%s } },\n"
		 "  \"channels\": {\n"
		 "    \"slack\": { \"type\": \"slack\", \"webhook_url\": \"${env:SLACK_URL}\"%s },\n"
		 "    \"status\": { \"type\": \"instatus\", \"api_url\": \"http://127.0.0.1:%d\",\n"
		 "                \"api_key\": \"${env:INSTATUS_KEY}\", \"page_id\": \"page1\",\n"
		 "                \"components\": { \"login\": \"cmp-api\" } } } }\n",
		 alert[0] ? ", " : "", alert, slack_extra, rx_port);
	snprintf(sub, sizeof(sub), "%s/probes.d", dir);
	mkdir(sub, 0755);
	t_writef(dir, "probes.d/login.json",
		 "{ \"method\": \"POST\", \"url\": \"http://127.0.0.1:%d/v1/login\",\n"
		 "  \"json\": { \"username\": \"u\", \"password\": \"secret\" },\n"
		 "  \"tags\": [\"api\"], \"expect\": [\"status == 200\"] }\n", api_port);
}

static void setup(void)
{
	dir = t_tmpdir();
	ck_assert_int_eq(t_http_post(api_port, "/_control/mode", "all=ok"), 200);
	ck_assert_int_eq(t_http_post(rx_port, "/_alerts/reset", ""), 200);
	write_config("", "");
}

static void teardown(void)
{
	t_rmrf(dir);
	free(dir);
}

struct daemon {
	pid_t pid;
	int efd;
	char *log;
};

static void daemon_start(struct daemon *d)
{
	char *argv[] = { (char *)t_canary_bin(), "run", "-c", cfgpath, NULL };

	d->log = NULL;
	d->pid = t_spawn(argv, env, NULL, &d->efd);
	ck_assert_int_gt(d->pid, 0);
}

/* Reads the daemon's log until needle has appeared count times. */
static void daemon_expect(struct daemon *d, const char *needle, int count, int timeout_ms)
{
	bool seen = t_read_until(d->efd, needle, count, timeout_ms, &d->log);

	ck_assert_msg(seen, "no \"%s\" (x%d) in the daemon's log:\n%s", needle, count, d->log ? d->log : "");
}

/* SIGTERM, then the rest of the log; checks a clean exit and that no secret was logged. */
static void daemon_stop(struct daemon *d)
{
	kill(d->pid, SIGTERM);
	int st = t_wait(d->pid, 8000);
	if (st < 0)
		t_kill(d->pid);
	t_read_until(d->efd, "\n\n", 1, 1000, &d->log);
	close(d->efd);
	ck_assert_msg(st == 0, "exit status %d:\n%s", st, d->log ? d->log : "");
	ck_assert_msg(d->log == NULL || strstr(d->log, SLACK_TOKEN) == NULL, "the webhook URL was logged");
	ck_assert_msg(d->log == NULL || strstr(d->log, "Bearer " INSTATUS_KEY) == NULL, "the API key was logged");
}

static void daemon_free(struct daemon *d)
{
	free(d->log);
	d->log = NULL;
}

static const char *slack_header(json_t *req)
{
	json_t *blocks = json_object_get(json_object_get(req, "body"), "blocks");
	json_t *b0 = json_array_get(blocks, 0);

	return json_string_value(json_object_get(json_object_get(b0, "text"), "text"));
}

/* The request of log arr at i that reached route and was answered status. */
static size_t count_status(json_t *arr, long status)
{
	size_t i, n = 0;
	json_t *r;

	json_array_foreach(arr, i, r)
		if (json_integer_value(json_object_get(r, "status")) == status)
			n++;
	return n;
}

/* ------------------------------------------------------------------ the outage flow */

START_TEST(outage_opens_and_resolves_once_on_each_channel)
{
	struct daemon d;
	json_t *slack, *inst;

	daemon_start(&d);
	ck_assert_int_eq(t_http_post(api_port, "/_control/mode", "login=500"), 200);
	slack = t_alertfx_wait(rx_port, "slack", 1, 200, 8000);
	inst = t_alertfx_wait(rx_port, "instatus", 1, 200, 8000);
	ck_assert_int_eq(json_array_size(slack), 1);
	ck_assert_int_eq(json_array_size(inst), 1);
	ck_assert_ptr_nonnull(strstr(slack_header(json_array_get(slack, 0)), "DOWN"));
	json_t *create = json_object_get(json_array_get(inst, 0), "body");
	ck_assert_str_eq(json_string_value(json_object_get(create, "status")), "INVESTIGATING");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(create, "statuses"), 0),
							   "status")), "MAJOROUTAGE");
	json_decref(slack);
	json_decref(inst);

	ck_assert_int_eq(t_http_post(api_port, "/_control/mode", "login=ok"), 200);
	slack = t_alertfx_wait(rx_port, "slack", 2, 200, 8000);
	inst = t_alertfx_wait(rx_port, "instatus", 2, 200, 8000);
	ck_assert_int_eq(json_array_size(slack), 2);
	ck_assert_int_eq(json_array_size(inst), 2);
	ck_assert_ptr_nonnull(strstr(slack_header(json_array_get(slack, 1)), "RESOLVED"));
	/* The Instatus incident id minted at create is the one resolved. */
	json_t *listed = t_alertfx_log(rx_port, "instatus");
	const char *path = json_string_value(json_object_get(json_array_get(inst, 1), "path"));
	json_t *upd = json_object_get(json_array_get(inst, 1), "body");
	ck_assert_ptr_nonnull(strstr(path, "/v1/page1/incidents/"));
	ck_assert_ptr_nonnull(strstr(path, "/incident-updates"));
	ck_assert_str_eq(json_string_value(json_object_get(upd, "status")), "RESOLVED");
	json_decref(listed);
	json_decref(slack);
	json_decref(inst);

	/* Nothing more: once each. */
	slack = t_alertfx_wait(rx_port, "slack", 3, 0, 1200);
	ck_assert_int_eq(json_array_size(slack), 2);
	json_decref(slack);
	daemon_stop(&d);
	daemon_free(&d);
}
END_TEST

START_TEST(reminders_repeat_while_down)
{
	struct daemon d;
	json_t *slack;

	write_config("\"remind_every\": \"1s\"", "");
	daemon_start(&d);
	ck_assert_int_eq(t_http_post(api_port, "/_control/mode", "login=500"), 200);
	slack = t_alertfx_wait(rx_port, "slack", 3, 200, 8000);
	ck_assert_int_eq(json_array_size(slack), 3);
	ck_assert_ptr_nonnull(strstr(slack_header(json_array_get(slack, 0)), "DOWN"));
	ck_assert_ptr_nonnull(strstr(slack_header(json_array_get(slack, 1)), "STILL DOWN"));
	ck_assert_ptr_nonnull(strstr(slack_header(json_array_get(slack, 2)), "STILL DOWN"));
	json_decref(slack);
	/* Instatus posts no update for reminders unless asked to. */
	slack = t_alertfx_log(rx_port, "instatus");
	ck_assert_int_eq(json_array_size(slack), 1);
	json_decref(slack);
	daemon_stop(&d);
	daemon_free(&d);
}
END_TEST

START_TEST(webhook_and_exec_get_the_event_object)
{
	struct daemon d;
	json_t *hook;
	char sub[4096], *got = NULL;

	snprintf(sub, sizeof(sub), "%s/events.jsonl", dir);
	t_writef(dir, "canary.json",
		 "{ \"state_dir\": \"state\", \"probes_dir\": \"probes.d\",\n"
		 "  \"defaults\": { \"every\": \"200ms\", \"timeout\": \"1s\",\n"
		 "                \"alert\": { \"channels\": [\"hook\", \"script\", \"gone\", \"slow\"] } },\n"
		 "  \"channels\": {\n"
		 "    \"hook\": { \"type\": \"webhook\", \"url\": \"http://127.0.0.1:%d/hook/ops\",\n"
		 "              \"headers\": { \"X-Token\": \"${env:INSTATUS_KEY}\" } },\n"
		 "    \"gone\": { \"type\": \"exec\", \"command\": [\"/nonexistent/notify\"] },\n"
		 "    \"slow\": { \"type\": \"exec\", \"command\": [\"/bin/sleep\", \"10\"], \"timeout\": \"200ms\" },\n"
		 "    \"script\": { \"type\": \"exec\", \"command\": [\"/bin/sh\", \"-c\", \"cat >> %s\"] } } }\n",
		 rx_port, sub);
	daemon_start(&d);
	ck_assert_int_eq(t_http_post(api_port, "/_control/mode", "login=500"), 200);
	hook = t_alertfx_wait(rx_port, "hook", 1, 200, 8000);
	ck_assert_int_eq(json_array_size(hook), 1);
	json_t *ev = json_object_get(json_array_get(hook, 0), "body");
	ck_assert_str_eq(json_string_value(json_object_get(ev, "event")), "opened");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(ev, "probe"), "name")), "login");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(ev, "incident"), "error_class")),
			 "assertion");
	json_decref(hook);
	daemon_expect(&d, "delivered to script", 1, 8000);
	/* A command that cannot be started is given up at once, with the reason. */
	daemon_expect(&d, "given up for gone: cannot start", 1, 8000);
	/* A command that runs out of time is killed and retried, not given up. */
	daemon_expect(&d, "to slow failed (attempt 1: timed out)", 1, 8000);
	got = t_slurp(sub, NULL);
	ck_assert_ptr_nonnull(got);
	ev = json_loads(got, JSON_DISABLE_EOF_CHECK, NULL);
	ck_assert_ptr_nonnull(ev);
	ck_assert_str_eq(json_string_value(json_object_get(ev, "event")), "opened");
	json_decref(ev);
	free(got);
	daemon_stop(&d);
	daemon_free(&d);
}
END_TEST

/* ------------------------------------------------------------------ retries */

START_TEST(slack_failing_then_back_loses_nothing)
{
	struct daemon d;
	json_t *slack;

	ck_assert_int_eq(t_alertfx_script(rx_port, "{\"route\":\"slack\",\"responses\":"
					  "[{\"status\":500,\"body\":\"rollup_error\",\"count\":2}]}"), 200);
	daemon_start(&d);
	ck_assert_int_eq(t_http_post(api_port, "/_control/mode", "login=500"), 200);
	slack = t_alertfx_wait(rx_port, "slack", 1, 200, 12000);
	ck_assert_int_eq(json_array_size(slack), 1);
	json_decref(slack);
	slack = t_alertfx_log(rx_port, "slack");
	ck_assert_int_eq(json_array_size(slack), 3);
	ck_assert_int_eq(count_status(slack, 500), 2);
	json_decref(slack);
	daemon_expect(&d, "rollup_error", 1, 1000);
	daemon_stop(&d);
	daemon_free(&d);
}
END_TEST

START_TEST(retry_after_is_honoured)
{
	struct daemon d;
	json_t *slack;

	ck_assert_int_eq(t_alertfx_script(rx_port, "{\"route\":\"slack\",\"responses\":"
					  "[{\"status\":429,\"retry_after\":2}]}"), 200);
	daemon_start(&d);
	ck_assert_int_eq(t_http_post(api_port, "/_control/mode", "login=500"), 200);
	json_decref(t_alertfx_wait(rx_port, "slack", 1, 200, 10000));
	slack = t_alertfx_log(rx_port, "slack");
	ck_assert_int_eq(json_array_size(slack), 2);
	json_int_t t0 = json_integer_value(json_object_get(json_array_get(slack, 0), "t_ms"));
	json_int_t t1 = json_integer_value(json_object_get(json_array_get(slack, 1), "t_ms"));
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(slack, 0), "status")), 429);
	ck_assert_msg(t1 - t0 >= 1900, "retried after %lld ms, not the 2 s asked", (long long)(t1 - t0));
	json_decref(slack);
	daemon_stop(&d);
	daemon_free(&d);
}
END_TEST

START_TEST(gone_channel_is_given_up_with_a_reason)
{
	struct daemon d;
	json_t *slack;

	ck_assert_int_eq(t_alertfx_script(rx_port, "{\"route\":\"slack\",\"responses\":"
					  "[{\"status\":410,\"body\":\"channel_is_archived\"}]}"), 200);
	daemon_start(&d);
	ck_assert_int_eq(t_http_post(api_port, "/_control/mode", "login=500"), 200);
	daemon_expect(&d, "channel_is_archived", 1, 8000);
	ck_assert_ptr_nonnull(strstr(d.log, "given up"));
	/* Not retried. */
	slack = t_alertfx_wait(rx_port, "slack", 2, 0, 2500);
	ck_assert_int_eq(json_array_size(slack), 1);
	json_decref(slack);
	daemon_stop(&d);
	daemon_free(&d);
}
END_TEST

/* ------------------------------------------------------------------ restarts */

START_TEST(kill9_before_delivery_then_restart_delivers_once)
{
	struct daemon d;
	json_t *slack;

	/* The first delivery hangs: the daemon dies with the event written but not delivered. */
	ck_assert_int_eq(t_alertfx_script(rx_port, "{\"route\":\"slack\",\"responses\":[{\"hang\":true}]}"), 200);
	daemon_start(&d);
	ck_assert_int_eq(t_http_post(api_port, "/_control/mode", "login=500"), 200);
	slack = t_alertfx_wait(rx_port, "slack", 1, 0, 8000);
	ck_assert_int_eq(json_array_size(slack), 1);
	json_decref(slack);
	kill(d.pid, SIGKILL);
	t_wait(d.pid, 5000);
	close(d.efd);
	daemon_free(&d);

	daemon_start(&d);
	slack = t_alertfx_wait(rx_port, "slack", 1, 200, 8000);
	ck_assert_int_eq(json_array_size(slack), 1);
	json_decref(slack);
	/* Exactly once, and the incident was still open: no second `opened`. */
	slack = t_alertfx_wait(rx_port, "slack", 2, 200, 1500);
	ck_assert_int_eq(json_array_size(slack), 1);
	json_decref(slack);
	ck_assert_int_eq(t_http_post(api_port, "/_control/mode", "login=ok"), 200);
	slack = t_alertfx_wait(rx_port, "slack", 2, 200, 8000);
	ck_assert_int_eq(json_array_size(slack), 2);
	ck_assert_ptr_nonnull(strstr(slack_header(json_array_get(slack, 1)), "RESOLVED"));
	json_decref(slack);
	daemon_stop(&d);
	daemon_free(&d);
}
END_TEST

START_TEST(alerts_go_out_while_the_database_is_locked)
{
	struct daemon d;
	json_t *slack;
	char db[4096];

	daemon_start(&d);
	daemon_expect(&d, "running 1 probe", 1, 5000);
	snprintf(db, sizeof(db), "%s/state/canary.db", dir);
	sqlite3 *lock = t_db_open(db);
	t_db_exec(lock, "BEGIN EXCLUSIVE");
	ck_assert_int_eq(t_http_post(api_port, "/_control/mode", "login=500"), 200);
	/* The writer cannot commit the incident, but the alert does not wait for it. */
	slack = t_alertfx_wait(rx_port, "slack", 1, 200, 10000);
	ck_assert_int_eq(json_array_size(slack), 1);
	json_decref(slack);
	daemon_expect(&d, "cannot write", 1, 5000);
	t_db_exec(lock, "COMMIT");
	sqlite3_close(lock);
	daemon_stop(&d);
	daemon_free(&d);
	/* Once the lock went, everything was written, the delivery included. */
	ck_assert_int_eq(t_db_file_int(db, "SELECT count(*) FROM incidents"), 1);
	ck_assert_int_ge(t_db_file_int(db, "SELECT count(*) FROM outbox WHERE channel = 'slack' AND state = 1"), 1);
}
END_TEST

/* ------------------------------------------------------------------ not flooding */

START_TEST(rate_limit_holds_under_a_burst)
{
	struct daemon d;
	int closed = t_closed_port();
	json_t *slack;

	/* 50 probes failing at once, one alert each; Slack allows 60/min (a burst of 15, then 1/s). */
	write_config("\"after\": 1", ", \"rate_per_min\": 60");
	for (int i = 0; i < 50; i++) {
		char name[64];
		snprintf(name, sizeof(name), "probes.d/p%02d.json", i);
		t_writef(dir, name, "{ \"url\": \"http://127.0.0.1:%d/\", \"every\": \"1s\", "
				    "\"alert\": { \"channels\": [\"slack\"] } }\n", closed);
	}
	daemon_start(&d);
	daemon_expect(&d, "opened after", 50, 8000);
	slack = t_alertfx_wait(rx_port, "slack", 50, 0, 4000);
	/* Counted on the receiver's clock, from the first alert: at most the burst and 3 more. */
	json_int_t t0 = json_integer_value(json_object_get(json_array_get(slack, 0), "t_ms"));
	size_t n = 0;
	for (size_t i = 0; i < json_array_size(slack); i++)
		n += json_integer_value(json_object_get(json_array_get(slack, i), "t_ms")) < t0 + 3000;
	ck_assert_msg(n >= 15 && n <= 19, "%zu alerts in the first 3 s", n);
	ck_assert_int_lt(json_array_size(slack), 50);
	json_decref(slack);
	daemon_stop(&d);
	/* What the rate held back waits in the outbox, and the stop says so. */
	ck_assert_ptr_nonnull(strstr(d.log, "will be sent at the next start"));
	daemon_free(&d);
}
END_TEST

START_TEST(flapping_sends_one_alert_not_dozens)
{
	struct daemon d;
	json_t *slack;

	write_config("\"after\": 1, \"flap_changes\": 3, \"flap_window\": \"1m\"", "");
	daemon_start(&d);
	/* Ten state changes, each awaited in the log: fail, recover, fail, ... */
	for (int i = 1; i <= 5; i++) {
		ck_assert_int_eq(t_http_post(api_port, "/_control/mode", "login=500"), 200);
		daemon_expect(&d, "opened after", i, 5000);
		ck_assert_int_eq(t_http_post(api_port, "/_control/mode", "login=ok"), 200);
		daemon_expect(&d, "resolved after", i, 5000);
	}
	/* Changes 1-3 are alerted (opened, resolved, opened); the 4th makes it flap; then silence. */
	slack = t_alertfx_wait(rx_port, "slack", 5, 0, 2000);
	ck_assert_int_eq(json_array_size(slack), 4);
	int flapping = 0;
	for (size_t i = 0; i < json_array_size(slack); i++)
		flapping += strstr(slack_header(json_array_get(slack, i)), "FLAPPING") != NULL;
	ck_assert_int_eq(flapping, 1);
	ck_assert_ptr_nonnull(strstr(d.log, "is flapping"));
	json_decref(slack);
	daemon_stop(&d);
	daemon_free(&d);
}
END_TEST

/* ------------------------------------------------------------------ maintenance */

static int canary_cmd(char **out, ...)
{
	char *argv[16] = { (char *)t_canary_bin() }, *err = NULL;
	va_list ap;
	int n = 1, st;

	va_start(ap, out);
	while (n < 15 && (argv[n] = va_arg(ap, char *)) != NULL)
		n++;
	va_end(ap);
	argv[n] = NULL;
	st = t_run(argv, env, out, &err, 10000);
	free(err);
	return st;
}

START_TEST(maintenance_suppresses_then_announces)
{
	struct daemon d;
	json_t *slack;
	char *out = NULL, id[32];

	ck_assert_int_eq(canary_cmd(&out, "maintenance", "add", "-c", cfgpath, "--probe", "login", "--for", "1h",
				    "--reason", "migration", NULL), 0);
	ck_assert_int_eq(sscanf(out, "maintenance %31[0-9]", id), 1);
	free(out);
	daemon_start(&d);
	ck_assert_int_eq(t_http_post(api_port, "/_control/mode", "login=500"), 200);
	daemon_expect(&d, "opened after", 1, 5000);
	slack = t_alertfx_wait(rx_port, "slack", 1, 0, 1000);
	ck_assert_int_eq(json_array_size(slack), 0);
	json_decref(slack);

	ck_assert_int_eq(canary_cmd(&out, "maintenance", "end", "-c", cfgpath, id, NULL), 0);
	free(out);
	/* Windows are re-read every 5 s; the open incident is announced then. */
	slack = t_alertfx_wait(rx_port, "slack", 1, 200, 10000);
	ck_assert_int_eq(json_array_size(slack), 1);
	ck_assert_ptr_nonnull(strstr(slack_header(json_array_get(slack, 0)), "DOWN"));
	json_decref(slack);
	daemon_stop(&d);
	daemon_free(&d);
}
END_TEST

/* ------------------------------------------------------------------ alert test */

START_TEST(alert_test_sends_now_and_prints_the_answer)
{
	char *out = NULL;

	ck_assert_int_eq(canary_cmd(&out, "alert", "test", "-c", cfgpath, "slack", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "200"));
	ck_assert_ptr_null(strstr(out, SLACK_TOKEN));
	free(out);
	ck_assert_int_eq(canary_cmd(&out, "alert", "test", "-c", cfgpath, "status", NULL), 0);
	free(out);
	ck_assert_int_eq(t_alertfx_script(rx_port, "{\"route\":\"slack\",\"responses\":"
					  "[{\"status\":404,\"body\":\"channel_not_found\"}]}"), 200);
	ck_assert_int_eq(canary_cmd(&out, "alert", "test", "-c", cfgpath, "slack", NULL), 1);
	ck_assert_ptr_nonnull(strstr(out, "channel_not_found"));
	free(out);
	ck_assert_int_eq(canary_cmd(&out, "alert", "test", "-c", cfgpath, "nope", NULL), 2);
	free(out);
}
END_TEST

Suite *alert_suite(void)
{
	Suite *s = suite_create("alert");
	TCase *flow = tcase_create("flow"), *retry = tcase_create("retry"), *restart = tcase_create("restart");
	TCase *flood = tcase_create("flood"), *maint = tcase_create("maintenance"), *cmd = tcase_create("alert-test");
	TCase *all[] = { flow, retry, restart, flood, maint, cmd };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		tcase_add_unchecked_fixture(all[i], start_servers, stop_servers);
		tcase_add_checked_fixture(all[i], setup, teardown);
		tcase_set_timeout(all[i], 40);
		suite_add_tcase(s, all[i]);
	}
	tcase_add_test(flow, outage_opens_and_resolves_once_on_each_channel);
	tcase_add_test(flow, reminders_repeat_while_down);
	tcase_add_test(flow, webhook_and_exec_get_the_event_object);
	tcase_add_test(retry, slack_failing_then_back_loses_nothing);
	tcase_add_test(retry, retry_after_is_honoured);
	tcase_add_test(retry, gone_channel_is_given_up_with_a_reason);
	tcase_add_test(restart, kill9_before_delivery_then_restart_delivers_once);
	tcase_add_test(restart, alerts_go_out_while_the_database_is_locked);
	tcase_add_test(flood, rate_limit_holds_under_a_burst);
	tcase_add_test(flood, flapping_sends_one_alert_not_dozens);
	tcase_add_test(maint, maintenance_suppresses_then_announces);
	tcase_add_test(cmd, alert_test_sends_now_and_prints_the_answer);
	return s;
}
