/* check_engine.c - the probe engine against a real HTTP server on 127.0.0.1: flows, faults, timings. */
#include "tests/tests.h"
#include "config/config.h"
#include "probes/probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static pid_t api_pid;
static int port;
static char *dir;

static void start_api(void)
{
	api_pid = t_fakeapi_start(&port);
}

static void stop_api(void)
{
	t_fakeapi_stop(api_pid);
}

static void setup(void)
{
	dir = t_tmpdir();
	ck_assert_int_eq(t_http_post(port, "/_control/mode", "all=ok"), 200);
}

static void teardown(void)
{
	t_rmrf(dir);
	free(dir);
}

/* Loads a probe from JSON text in which every %d is the fixture's port. */
static struct probe_def *probe(const char *json)
{
	char path[4096], *text = NULL;
	struct cfg_diags d = { 0 };
	struct probe_def *def = NULL;
	const char *p;
	size_t n = 0;

	/* Replace each "PORT" with the fixture's port. */
	for (p = json; (p = strstr(p, "PORT")) != NULL; p += 4)
		n++;
	text = malloc(strlen(json) + n * 8 + 1);
	char *o = text;
	for (p = json; *p;) {
		if (strncmp(p, "PORT", 4) == 0) {
			o += sprintf(o, "%d", port);
			p += 4;
		} else
			*o++ = *p++;
	}
	*o = '\0';
	t_writef(dir, "probe.json", "%s", text);
	free(text);
	snprintf(path, sizeof(path), "%s/probe.json", dir);
	if (cfg_load_probe(path, NULL, &def, &d) < 0) {
		cfg_diags_print(&d, stderr);
		ck_abort_msg("the probe does not load");
	}
	cfg_diags_free(&d);
	return def;
}

static void on_done(struct probe_result *res, void *arg)
{
	*(struct probe_result **)arg = res;
}

static void on_closed(void *arg)
{
	*(bool *)arg = true;
}

/* Runs def once on a fresh loop; proves every handle closed. Returns the result (new). */
static struct probe_result *run(struct probe_def *def, unsigned flags)
{
	uv_loop_t loop;
	struct probe_engine *e;
	struct probe_result *res = NULL;
	bool closed = false;

	ck_assert_int_eq(uv_loop_init(&loop), 0);
	ck_assert_int_eq(probe_engine_new(&loop, &e), 0);
	ck_assert_int_eq(probe_run_start(e, def, flags, on_done, &res, NULL), 0);
	ck_assert_ptr_null(res); /* the callback never fires from inside probe_run_start */
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_ptr_nonnull(res);
	probe_engine_close(e, on_closed, &closed);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert(closed);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	probe_def_unref(def);
	return res;
}

static const char flow[] =
	"{ \"timeout\": \"3s\", \"vars\": { \"base\": \"http://127.0.0.1:PORT\", \"pw\": \"secret\" },\n"
	"  \"steps\": [\n"
	"    { \"name\": \"login\", \"method\": \"POST\", \"url\": \"{{base}}/v1/login\",\n"
	"      \"json\": { \"username\": \"probe@example.org\", \"password\": \"{{pw}}\" },\n"
	"      \"expect\": [\"status == 200\", \"json.token exists\", \"latency < 2s\"],\n"
	"      \"extract\": { \"token\": \"json.token\" } },\n"
	"    { \"name\": \"submit\", \"method\": \"POST\", \"url\": \"{{base}}/v1/measurements\",\n"
	"      \"headers\": { \"Authorization\": \"Bearer %s\" },\n"
	"      \"json\": { \"type\": \"heart_rate\", \"value\": 72 },\n"
	"      \"expect\": [\"status in [200, 201]\", \"json.id exists\", \"latency < 1500ms\"] } ] }\n";

static struct probe_def *flow_with_token(const char *token)
{
	char text[sizeof(flow) + 64];

	snprintf(text, sizeof(text), flow, token);
	return probe(text);
}

START_TEST(login_then_submit_passes)
{
	struct probe_result *r = run(flow_with_token("{{token}}"), PROBE_RUN_TRACE);

	ck_assert_msg(r->cls == PROBE_OK, "%s", r->error ? r->error : "");
	ck_assert_int_eq(r->nsteps, 2);
	ck_assert_int_eq(r->failed_step, -1);
	ck_assert_int_eq(r->steps[0].status, 200);
	ck_assert_int_eq(r->steps[1].status, 201);
	ck_assert_int_eq(r->steps[1].checks[0].pass, true);
	/* Timings are libcurl's: connect happened, the total covers it, bytes came. */
	ck_assert_int_gt(r->steps[0].total_us, 0);
	ck_assert_int_ge(r->steps[0].total_us, r->steps[0].ttfb_us);
	ck_assert_int_gt(r->steps[0].bytes, 0);
	ck_assert_int_eq(r->steps[0].tls_us, 0);
	ck_assert_int_gt(r->duration_us, 0);
	ck_assert_int_eq(r->steps[0].nextracted, 1);
	ck_assert_str_eq(r->steps[0].extracted[0].value, "[redacted]");
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1/login", port);
	ck_assert_str_eq(r->steps[0].url, url);
	ck_assert_str_eq(r->steps[0].method, "POST");
	probe_result_free(r);
}
END_TEST

START_TEST(reveal_shows_extracted_values)
{
	struct probe_result *r = run(flow_with_token("{{token}}"), PROBE_RUN_TRACE | PROBE_RUN_REVEAL);

	ck_assert_int_eq(r->cls, PROBE_OK);
	ck_assert_int_eq(strncmp(r->steps[0].extracted[0].value, "tok-", 4), 0);
	probe_result_free(r);
}
END_TEST

START_TEST(wrong_token_fails_at_step_two)
{
	struct probe_result *r = run(flow_with_token("not-a-token"), 0);

	ck_assert_int_eq(r->cls, PROBE_ASSERTION);
	ck_assert_int_eq(r->failed_step, 1);
	ck_assert_str_eq(r->error, "step \"submit\": expected status in [200, 201], got 401");
	ck_assert_int_eq(r->steps[0].cls, PROBE_OK);
	probe_result_free(r);
}
END_TEST

START_TEST(health_ok_while_login_fails)
{
	ck_assert_int_eq(t_http_post(port, "/_control/mode", "login=500"), 200);
	struct probe_result *r = run(probe("{ \"steps\": [\n"
					   "  { \"name\": \"health\", \"url\": \"http://127.0.0.1:PORT/health\",\n"
					   "    \"expect\": [\"status == 200\", \"json.status == ok\"] },\n"
					   "  { \"name\": \"login\", \"method\": \"POST\", \"url\": \"http://127.0.0.1:PORT/v1/login\",\n"
					   "    \"json\": { \"username\": \"u\", \"password\": \"secret\" },\n"
					   "    \"expect\": [\"status == 200\"] } ] }\n"),
				     0);

	ck_assert_int_eq(r->steps[0].cls, PROBE_OK);
	ck_assert_int_eq(r->steps[0].status, 200);
	ck_assert_int_eq(r->cls, PROBE_ASSERTION);
	ck_assert_int_eq(r->failed_step, 1);
	ck_assert_str_eq(r->error, "step \"login\": expected status == 200, got 500");
	probe_result_free(r);
}
END_TEST

START_TEST(hang_is_cut_at_the_timeout)
{
	struct probe_result *r = run(probe("{ \"timeout\": \"400ms\", \"steps\": [\n"
					   "  { \"name\": \"hang\", \"url\": \"http://127.0.0.1:PORT/hang\" } ] }\n"),
				     0);

	ck_assert_int_eq(r->cls, PROBE_TIMEOUT);
	ck_assert_ptr_nonnull(strstr(r->error, "step \"hang\": timed out after 400 ms waiting for the response"));
	ck_assert_int_lt(r->duration_us, 2000000);
	ck_assert_int_ge(r->duration_us, 390000);
	probe_result_free(r);
}
END_TEST

START_TEST(step_timeout_is_tighter_than_the_flow)
{
	struct probe_result *r = run(probe("{ \"timeout\": \"5s\", \"steps\": [\n"
					   "  { \"name\": \"slow\", \"timeout\": \"200ms\",\n"
					   "    \"url\": \"http://127.0.0.1:PORT/delay/3000\" } ] }\n"),
				     0);

	ck_assert_int_eq(r->cls, PROBE_TIMEOUT);
	ck_assert_ptr_nonnull(strstr(r->error, "after 200 ms"));
	ck_assert_int_lt(r->duration_us, 1500000);
	probe_result_free(r);
}
END_TEST

START_TEST(big_body_is_capped)
{
	struct probe_result *r = run(probe("{ \"url\": \"http://127.0.0.1:PORT/big/5242880\",\n"
					   "  \"expect\": [\"body contains x\"] }\n"),
				     0);

	ck_assert_int_eq(r->cls, PROBE_BODY_TOO_LARGE);
	ck_assert_ptr_nonnull(strstr(r->error, "exceeds max_body (1048576 bytes)"));
	probe_result_free(r);
}
END_TEST

START_TEST(big_body_without_length_is_capped)
{
	/* max_body below what arrives, however it arrives: the write callback stops it. */
	struct probe_result *r = run(probe("{ \"url\": \"http://127.0.0.1:PORT/big/300000\", \"max_body\": \"64KiB\" }\n"),
				     0);

	ck_assert_int_eq(r->cls, PROBE_BODY_TOO_LARGE);
	probe_result_free(r);
}
END_TEST

START_TEST(refused_connection_is_connect)
{
	char text[256];

	snprintf(text, sizeof(text), "{ \"url\": \"http://127.0.0.1:%d/\" }\n", t_closed_port());
	struct probe_result *r = run(probe(text), 0);

	ck_assert_int_eq(r->cls, PROBE_CONNECT);
	ck_assert_int_eq(r->steps[0].status, 0);
	ck_assert_int_eq(strncmp(r->error, "step \"probe\": ", 14), 0);
	probe_result_free(r);
}
END_TEST

START_TEST(values_are_escaped_where_they_land)
{
	setenv("CANARY_TEST_WEIRD", "a \"quoted\" b/c\\d", 1);
	struct probe_result *r = run(
		probe(
		"{ \"vars\": { \"v\": \"${env:CANARY_TEST_WEIRD}\", \"p\": \"x y&z\" },\n"
		"  \"method\": \"PUT\", \"url\": \"http://127.0.0.1:PORT/echo/{{p}}?q={{p}}\",\n"
		"  \"headers\": { \"X-V\": \"<{{v}}>\" },\n"
		"  \"json\": { \"s\": \"[{{v}}]\", \"n\": 1 },\n"
		"  \"expect\": [\"json.method == PUT\", \"json.target == \\\"/echo/x%20y%26z?q=x%20y%26z\\\"\",\n"
		"             \"json.headers.x-v == \\\"<a \\\\\\\"quoted\\\\\\\" b/c\\\\\\\\d>\\\"\",\n"
		"             \"json.headers.content-type == application/json\",\n"
		"             \"json.body contains \\\"\\\\\\\"s\\\\\\\":\\\\\\\"[a \\\\\\\\\\\\\\\"quoted\\\\\\\\\\\\\\\" b/c\\\\\\\\\\\\\\\\d]\\\\\\\"\\\"\"] }\n"),
		PROBE_RUN_TRACE);

	for (size_t i = 0; i < r->steps[0].nchecks; i++)
		ck_assert_msg(r->steps[0].checks[i].pass, "%s: got %s", r->steps[0].checks[i].text,
			      r->steps[0].checks[i].actual);
	ck_assert_msg(r->cls == PROBE_OK, "%s", r->error ? r->error : "");
	char url[128];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/echo/x%%20y%%26z?q=x%%20y%%26z", port);
	ck_assert_str_eq(r->steps[0].url, url);
	probe_result_free(r);
}
END_TEST

START_TEST(step_failing_before_its_transfer_ends_the_run)
{
	/* Step 2's header takes a value with a line break: it fails to start, and step 3 never runs. */
	struct probe_result *r = run(probe("{ \"steps\": [\n"
					   "  { \"name\": \"a\", \"method\": \"POST\", \"url\": \"http://127.0.0.1:PORT/echo\",\n"
					   "    \"body\": \"line1\\nline2\", \"extract\": { \"v\": \"json.body\" } },\n"
					   "  { \"name\": \"b\", \"url\": \"http://127.0.0.1:PORT/health\",\n"
					   "    \"headers\": { \"X-V\": \"{{v}}\" } },\n"
					   "  { \"name\": \"c\", \"url\": \"http://127.0.0.1:PORT/health\" } ] }\n"),
				     0);

	ck_assert_int_eq(r->cls, PROBE_TEMPLATE);
	ck_assert_int_eq(r->failed_step, 1);
	ck_assert_int_eq(r->nsteps, 2);
	ck_assert_str_eq(r->error, "step \"b\": header X-V: value holds a line break");
	probe_result_free(r);
}
END_TEST

START_TEST(fresh_connections_unless_reuse_is_asked)
{
	static const char text[] = "{ \"reuse_connections\": %s, \"steps\": [\n"
				   "  { \"url\": \"http://127.0.0.1:PORT/health\" },\n"
				   "  { \"url\": \"http://127.0.0.1:PORT/health\" } ] }\n";
	char buf[sizeof(text) + 8];

	snprintf(buf, sizeof(buf), text, "false");
	struct probe_result *r = run(probe(buf), 0);
	ck_assert_int_eq(r->cls, PROBE_OK);
	ck_assert_int_gt(r->steps[1].connect_us, 0); /* step 2 connected anew */
	probe_result_free(r);
	snprintf(buf, sizeof(buf), text, "true");
	r = run(probe(buf), 0);
	ck_assert_int_eq(r->cls, PROBE_OK);
	ck_assert_int_eq(r->steps[1].connect_us, 0); /* step 2 rode step 1's connection */
	probe_result_free(r);
}
END_TEST

START_TEST(extract_missing_fails_the_step)
{
	struct probe_result *r = run(probe("{ \"url\": \"http://127.0.0.1:PORT/health\",\n"
					   "  \"extract\": { \"t\": \"json.token\" } }\n"),
				     0);

	ck_assert_int_eq(r->cls, PROBE_EXTRACT);
	ck_assert_ptr_nonnull(strstr(r->error, "extract \"t\": "));
	probe_result_free(r);
}
END_TEST

START_TEST(headers_and_redirects)
{
	struct probe_result *r = run(probe("{ \"steps\": [\n"
					   "  { \"name\": \"h\", \"url\": \"http://127.0.0.1:PORT/headers\",\n"
					   "    \"expect\": [\"header.x-canary-test == hello\", \"header.X-Nope !exists\"] },\n"
					   "  { \"name\": \"r0\", \"url\": \"http://127.0.0.1:PORT/redirect/2\",\n"
					   "    \"expect\": [\"status == 302\"] },\n"
					   "  { \"name\": \"r1\", \"url\": \"http://127.0.0.1:PORT/redirect/2\", \"follow_redirects\": true,\n"
					   "    \"expect\": [\"status == 200\", \"json.redirects == done\"] } ] }\n"),
				     0);

	ck_assert_msg(r->cls == PROBE_OK, "%s", r->error ? r->error : "");
	ck_assert_int_eq(r->nsteps, 3);
	probe_result_free(r);
}
END_TEST

struct abort_test {
	struct probe_engine *e;
	struct probe_result *res;
	bool closed;
	bool res_before_close_returned;
};

static void on_abort_done(struct probe_result *res, void *arg)
{
	struct abort_test *t = arg;

	t->res = res;
}

static void on_abort_closed(void *arg)
{
	struct abort_test *t = arg;

	t->closed = true;
}

/* The request is out and the server sits on it: close the engine now. */
static void on_abort_timer(uv_timer_t *timer)
{
	struct abort_test *t = timer->data;

	ck_assert_ptr_null(t->res);
	probe_engine_close(t->e, on_abort_closed, t);
	t->res_before_close_returned = t->res != NULL;
	uv_close((uv_handle_t *)timer, NULL);
}

START_TEST(close_aborts_runs_in_flight)
{
	struct probe_def *def = probe("{ \"timeout\": \"10s\", \"url\": \"http://127.0.0.1:PORT/hang\" }\n");
	struct abort_test t = { 0 };
	uv_loop_t loop;
	uv_timer_t timer;

	ck_assert_int_eq(uv_loop_init(&loop), 0);
	ck_assert_int_eq(probe_engine_new(&loop, &t.e), 0);
	ck_assert_int_eq(probe_run_start(t.e, def, 0, on_abort_done, &t, NULL), 0);
	ck_assert_int_eq(uv_timer_init(&loop, &timer), 0);
	timer.data = &t;
	ck_assert_int_eq(uv_timer_start(&timer, on_abort_timer, 200, 0), 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert(t.res_before_close_returned);
	ck_assert(t.closed);
	ck_assert_int_eq(t.res->cls, PROBE_ABORTED);
	ck_assert_int_eq(t.res->nsteps, 1);
	ck_assert_int_lt(t.res->duration_us, 2000000);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	probe_result_free(t.res);
	probe_def_unref(def);
}
END_TEST

Suite *engine_suite(void)
{
	Suite *s = suite_create("engine");
	TCase *tc = tcase_create("flows");

	tcase_add_unchecked_fixture(tc, start_api, stop_api);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, login_then_submit_passes);
	tcase_add_test(tc, reveal_shows_extracted_values);
	tcase_add_test(tc, wrong_token_fails_at_step_two);
	tcase_add_test(tc, health_ok_while_login_fails);
	tcase_add_test(tc, values_are_escaped_where_they_land);
	tcase_add_test(tc, extract_missing_fails_the_step);
	tcase_add_test(tc, step_failing_before_its_transfer_ends_the_run);
	tcase_add_test(tc, fresh_connections_unless_reuse_is_asked);
	tcase_add_test(tc, headers_and_redirects);
	suite_add_tcase(s, tc);
	tc = tcase_create("faults");
	tcase_add_unchecked_fixture(tc, start_api, stop_api);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, hang_is_cut_at_the_timeout);
	tcase_add_test(tc, step_timeout_is_tighter_than_the_flow);
	tcase_add_test(tc, big_body_is_capped);
	tcase_add_test(tc, big_body_without_length_is_capped);
	tcase_add_test(tc, refused_connection_is_connect);
	tcase_add_test(tc, close_aborts_runs_in_flight);
	suite_add_tcase(s, tc);
	return s;
}
