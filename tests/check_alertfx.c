/* check_alertfx.c - tests of the fake alert receivers themselves: Slack, Instatus, hook, scripts, log, wait, reset. */
#include "tests/alertfx.h"
#include "tests/tests.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_S 20
#define JSON_TYPE "Content-Type: application/json\r\n"
#define AUTH "Authorization: Bearer " T_ALERTFX_INSTATUS_KEY "\r\n" JSON_TYPE

/* Each test gets a receiver of its own; teardown stops it by PID. */
static pid_t fx_pid;
static int fx_port;

static void fx_setup(void)
{
	fx_pid = t_alertfx_start(&fx_port);
}

static void fx_teardown(void)
{
	t_alertfx_stop(fx_pid);
	fx_pid = 0;
}

/* Sends one request and checks its status and (when body is not NULL) its exact body. */
static void expect(const char *method, const char *path, const char *headers, const char *req_body, int status,
		   const char *body)
{
	struct t_alertfx_resp r;

	t_alertfx_request(fx_port, method, path, headers, req_body, 5000, &r);
	ck_assert_msg(r.status == status, "%s %s: status %d, want %d (body %s)", method, path, r.status, status,
		      r.body ? r.body : "(none)");
	if (body)
		ck_assert_str_eq(r.body, body);
	t_alertfx_resp_free(&r);
}

static void slack(const char *json, int status, const char *body)
{
	expect("POST", "/services/T000/B000/XXXX", JSON_TYPE, json, status, body);
}

/* The statuses the log holds for route, as "500,500,200". */
static void expect_log_statuses(const char *route, const char *want)
{
	json_t *log = t_alertfx_log(fx_port, route), *e;
	char got[256] = "";
	size_t i;

	ck_assert_ptr_nonnull(log);
	json_array_foreach(log, i, e)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%lld", i ? "," : "",
			 (long long)json_integer_value(json_object_get(e, "status")));
	json_decref(log);
	ck_assert_str_eq(got, want);
}

/* ------------------------------------------------------------------ slack */

START_TEST(slack_ok)
{
	struct t_alertfx_resp r;
	char ctype[64];

	t_alertfx_request(fx_port, "POST", "/services/T1/B2/abc", "Content-Type: application/json; charset=utf-8\r\n",
			  "{\"text\":\"DOWN api\"}", 5000, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_str_eq(r.body, "ok");
	ck_assert(t_alertfx_header(&r, "content-type", ctype, sizeof(ctype)));
	ck_assert_str_eq(ctype, "text/plain");
	t_alertfx_resp_free(&r);

	json_t *log = t_alertfx_log(fx_port, "slack"), *e = json_array_get(log, 0);
	ck_assert_int_eq(json_array_size(log), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(e, "seq")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(e, "route")), "slack");
	ck_assert_str_eq(json_string_value(json_object_get(e, "method")), "POST");
	ck_assert_str_eq(json_string_value(json_object_get(e, "path")), "/services/T1/B2/abc");
	ck_assert(json_is_null(json_object_get(e, "authorization")));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(e, "body"), "text")), "DOWN api");
	ck_assert_int_eq(json_integer_value(json_object_get(e, "status")), 200);
	ck_assert_int_gt(json_integer_value(json_object_get(e, "t_ms")), 1600000000000LL);
	json_decref(log);
}
END_TEST

START_TEST(slack_no_text)
{
	slack("{}", 400, "no_text");
	slack("{\"text\":\"\"}", 400, "no_text");
	slack("{\"blocks\":[]}", 400, "no_text");
	/* Blocks alone are a message; text is then only the fallback. */
	slack("{\"blocks\":[{\"type\":\"divider\"}]}", 200, "ok");
}
END_TEST

START_TEST(slack_invalid_payload)
{
	expect("POST", "/services/T/B/X", "Content-Type: text/plain\r\n", "{\"text\":\"x\"}", 400, "invalid_payload");
	expect("POST", "/services/T/B/X", NULL, "{\"text\":\"x\"}", 400, "invalid_payload");
	slack("not json", 400, "invalid_payload");
	slack("[1,2]", 400, "invalid_payload");
	slack("{\"text\":5}", 400, "invalid_payload");
	expect("POST", "/services/T/B", JSON_TYPE, "{\"text\":\"x\"}", 404, "no_service");
	expect("GET", "/services/T/B/X", NULL, NULL, 404, NULL);
}
END_TEST

/* A string of n 'a's inside fmt (which has one %s), as a new string. */
static char *with_run(const char *fmt, size_t n)
{
	char *run = malloc(n + 1), *out = NULL;

	memset(run, 'a', n);
	run[n] = '\0';
	ck_assert_int_ge(asprintf(&out, fmt, run), 0);
	free(run);
	return out;
}

/* count copies of item joined with commas inside fmt (which has one %s), as a new string. */
static char *with_items(const char *fmt, const char *item, size_t count)
{
	size_t n = strlen(item);
	char *list = calloc(count, n + 1), *out = NULL;

	for (size_t i = 0; i < count; i++) {
		memcpy(list + i * (n + 1), item, n);
		list[i * (n + 1) + n] = i + 1 < count ? ',' : '\0';
	}
	ck_assert_int_ge(asprintf(&out, fmt, list), 0);
	free(list);
	return out;
}

static const char *const header_fmt = "{\"blocks\":[{\"type\":\"header\",\"text\":{\"type\":\"plain_text\",\"text\":\"%s\"}}]}";
static const char *const section_fmt = "{\"blocks\":[{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\":\"%s\"}}]}";
static const char *const field_fmt =
	"{\"blocks\":[{\"type\":\"section\",\"fields\":[{\"type\":\"mrkdwn\",\"text\":\"%s\"}]}]}";
static const char *const fields_fmt = "{\"blocks\":[{\"type\":\"section\",\"fields\":[%s]}]}";
static const char *const blocks_fmt = "{\"text\":\"fallback\",\"blocks\":[%s]}";
#define FIELD "{\"type\":\"plain_text\",\"text\":\"f\"}"
#define DIVIDER "{\"type\":\"divider\"}"

/* One Block Kit limit per row: the message at the limit passes, one past it is refused. */
static const struct {
	const char *what;
	int kind;		/* 0: a run of n characters in fmt; 1: n items in fmt */
	const char *const *fmt;
	const char *item;
	size_t limit;
} limits[] = {
	{ "header text", 0, &header_fmt, NULL, 150 },
	{ "section text", 0, &section_fmt, NULL, 3000 },
	{ "field text", 0, &field_fmt, NULL, 2000 },
	{ "fields", 1, &fields_fmt, FIELD, 10 },
	{ "blocks", 1, &blocks_fmt, DIVIDER, 50 },
};

START_TEST(slack_block_limits)
{
	for (size_t over = 0; over <= 1; over++) {
		size_t n = limits[_i].limit + over;
		char *msg = limits[_i].kind == 0 ? with_run(*limits[_i].fmt, n)
						 : with_items(*limits[_i].fmt, limits[_i].item, n);
		struct t_alertfx_resp r;
		t_alertfx_request(fx_port, "POST", "/services/T/B/X", JSON_TYPE, msg, 5000, &r);
		ck_assert_msg(r.status == (over ? 400 : 200) && strcmp(r.body, over ? "invalid_blocks" : "ok") == 0,
			      "%s at %zu: %d %s", limits[_i].what, n, r.status, r.body);
		t_alertfx_resp_free(&r);
		free(msg);
	}
}
END_TEST

START_TEST(slack_invalid_blocks)
{
	/* A header must be plain_text; unknown block types and malformed blocks are refused. */
	slack("{\"blocks\":[{\"type\":\"header\",\"text\":{\"type\":\"mrkdwn\",\"text\":\"x\"}}]}", 400, "invalid_blocks");
	slack("{\"blocks\":[{\"type\":\"bogus\"}]}", 400, "invalid_blocks");
	slack("{\"blocks\":[{\"type\":\"section\"}]}", 400, "invalid_blocks");
	slack("{\"blocks\":[\"divider\"]}", 400, "invalid_blocks");
	slack("{\"text\":\"x\",\"blocks\":{}}", 400, "invalid_blocks");
	/* Characters, not bytes: 150 two-byte characters still fit a header. */
	char *msg = NULL, run[301];
	for (int i = 0; i < 150; i++)
		memcpy(run + 2 * i, "\xc3\xa9", 2);
	run[300] = '\0';
	ck_assert_int_ge(asprintf(&msg, header_fmt, run), 0);
	slack(msg, 200, "ok");
	free(msg);
}
END_TEST

/* ------------------------------------------------------------------ scripts */

START_TEST(script_500_twice_then_ok)
{
	ck_assert_int_eq(t_alertfx_script(fx_port, "{\"route\":\"slack\",\"responses\":"
						   "[{\"status\":500,\"body\":\"rollup_error\",\"count\":2}]}"), 200);
	slack("{\"text\":\"a\"}", 500, "rollup_error");
	slack("{\"text\":\"a\"}", 500, "rollup_error");
	slack("{\"text\":\"a\"}", 200, "ok");
	expect_log_statuses("slack", "500,500,200");
}
END_TEST

START_TEST(script_retry_after)
{
	struct t_alertfx_resp r;
	char v[32];

	ck_assert_int_eq(t_alertfx_script(fx_port, "{\"route\":\"slack\",\"responses\":[{\"status\":429,\"retry_after\":2},"
						   "{\"status\":410}]}"), 200);
	t_alertfx_request(fx_port, "POST", "/services/T/B/X", JSON_TYPE, "{\"text\":\"a\"}", 5000, &r);
	ck_assert_int_eq(r.status, 429);
	ck_assert(t_alertfx_header(&r, "Retry-After", v, sizeof(v)));
	ck_assert_str_eq(v, "2");
	t_alertfx_resp_free(&r);
	/* Without a body, a scripted status answers Slack's own word for it. */
	t_alertfx_request(fx_port, "POST", "/services/T/B/X", JSON_TYPE, "{\"text\":\"a\"}", 5000, &r);
	ck_assert_int_eq(r.status, 410);
	ck_assert_str_eq(r.body, "channel_is_archived");
	ck_assert(!t_alertfx_header(&r, "Retry-After", v, sizeof(v)));
	t_alertfx_resp_free(&r);
	slack("{\"text\":\"a\"}", 200, "ok");
}
END_TEST

START_TEST(script_hang)
{
	struct t_alertfx_resp r;

	ck_assert_int_eq(t_alertfx_script(fx_port, "{\"route\":\"hook\",\"responses\":[{\"hang\":true}]}"), 200);
	ck_assert_int_eq(t_alertfx_request(fx_port, "POST", "/hook/x", NULL, "{}", 300, &r), -1);
	t_alertfx_resp_free(&r);
	expect("POST", "/hook/x", NULL, "{}", 200, "{\"ok\":true}");
	expect_log_statuses("hook", "0,200");
}
END_TEST

START_TEST(script_instatus_body_as_is)
{
	ck_assert_int_eq(t_alertfx_script(fx_port, "{\"route\":\"instatus\",\"responses\":"
						   "[{\"status\":503,\"body\":\"upstream <b>down</b>\"}]}"), 200);
	/* A scripted answer comes before the key check, and is logged like any other. */
	expect("GET", "/v1/pg/incidents", NULL, NULL, 503, "upstream <b>down</b>");
	expect("GET", "/v1/pg/incidents", AUTH, NULL, 200, "[]");
	expect_log_statuses("instatus", "503,200");
}
END_TEST

START_TEST(script_refused)
{
	ck_assert_int_eq(t_alertfx_script(fx_port, "{\"route\":\"pagerduty\",\"responses\":[{\"status\":500}]}"), 400);
	ck_assert_int_eq(t_alertfx_script(fx_port, "{\"route\":\"slack\",\"responses\":[]}"), 400);
	ck_assert_int_eq(t_alertfx_script(fx_port, "{\"route\":\"slack\",\"responses\":[{\"status\":500},{\"status\":99}]}"), 400);
	ck_assert_int_eq(t_alertfx_script(fx_port, "{\"route\":\"slack\",\"responses\":[{\"status\":500,\"cuont\":2}]}"), 400);
	ck_assert_int_eq(t_alertfx_script(fx_port, "not json"), 400);
	/* A refused script queues nothing, not even its good steps. */
	slack("{\"text\":\"a\"}", 200, "ok");
}
END_TEST

/* ------------------------------------------------------------------ instatus */

#define UNAUTHORIZED "{\"error\":{\"code\":\"unauthorized\",\"message\":\"Not authorized\"}}"
#define CREATE "{\"name\":\"api down\",\"status\":\"INVESTIGATING\",\"message\":\"503s\"," \
	       "\"components\":[\"cmp-api\"],\"statuses\":[{\"id\":\"cmp-api\",\"status\":\"MAJOROUTAGE\"}]," \
	       "\"notify\":false,\"started\":\"2024-05-01T12:04:00Z\"}"

/* POSTs or PUTs with the key; returns the 200 answer's JSON. New reference. */
static json_t *instatus_ok(const char *method, const char *path, const char *body)
{
	struct t_alertfx_resp r;
	json_t *j;

	t_alertfx_request(fx_port, method, path, AUTH, body, 5000, &r);
	ck_assert_msg(r.status == 200, "%s %s: %d %s", method, path, r.status, r.body);
	j = json_loadb(r.body, r.body_len, 0, NULL);
	t_alertfx_resp_free(&r);
	ck_assert_ptr_nonnull(j);
	return j;
}

START_TEST(instatus_auth)
{
	expect("POST", "/v1/pg/incidents", JSON_TYPE, CREATE, 401, UNAUTHORIZED);
	expect("POST", "/v1/pg/incidents", "Authorization: Bearer wrong\r\n" JSON_TYPE, CREATE, 401, UNAUTHORIZED);
	expect("GET", "/v1/pg/components", "Authorization: test-key\r\n", NULL, 401, UNAUTHORIZED);
	json_t *log = t_alertfx_log(fx_port, "instatus");
	ck_assert_int_eq(json_array_size(log), 3);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(log, 1), "authorization")), "Bearer wrong");
	json_decref(log);
	json_t *inc = instatus_ok("GET", "/v1/pg/incidents", NULL);
	ck_assert_int_eq(json_array_size(inc), 0);
	json_decref(inc);
}
END_TEST

START_TEST(instatus_create_update)
{
	json_t *inc = instatus_ok("POST", "/v1/pg/incidents", CREATE), *upd, *list;
	const char *id = json_string_value(json_object_get(inc, "id"));
	char path[256];

	ck_assert_ptr_nonnull(id);
	ck_assert_int_eq(strlen(id), 25);
	ck_assert(strncmp(id, "ck", 2) == 0 && strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789") == 25);
	ck_assert_str_eq(json_string_value(json_object_get(inc, "status")), "INVESTIGATING");
	ck_assert_str_eq(json_string_value(json_object_get(inc, "started")), "2024-05-01T12:04:00.000Z");
	ck_assert(json_is_null(json_object_get(inc, "resolved")) && json_is_null(json_object_get(inc, "duration")));
	ck_assert_int_eq(json_array_size(json_object_get(inc, "updates")), 0);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(inc, "components"), 0), "id")),
			 "cmp-api");

	snprintf(path, sizeof(path), "/v1/pg/incidents/%s/incident-updates", id);
	upd = instatus_ok("POST", path, "{\"status\":\"RESOLVED\",\"message\":\"ok again\",\"components\":[\"cmp-api\"],"
					"\"statuses\":[{\"id\":\"cmp-api\",\"status\":\"OPERATIONAL\"}],\"notify\":false}");
	ck_assert_int_eq(strlen(json_string_value(json_object_get(upd, "id"))), 25);
	ck_assert_str_ne(json_string_value(json_object_get(upd, "id")), id);
	ck_assert_str_eq(json_string_value(json_object_get(upd, "status")), "RESOLVED");
	ck_assert_str_eq(json_string_value(json_object_get(upd, "message")), "ok again");
	ck_assert(json_is_string(json_object_get(upd, "createdAt")) && json_is_false(json_object_get(upd, "notify")));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(upd, "incident"), "id")), id);

	list = instatus_ok("GET", "/v1/pg/incidents", NULL);
	ck_assert_int_eq(json_array_size(list), 1);
	json_t *got = json_array_get(list, 0);
	ck_assert_str_eq(json_string_value(json_object_get(got, "id")), id);
	ck_assert_str_eq(json_string_value(json_object_get(got, "status")), "RESOLVED");
	ck_assert(json_is_string(json_object_get(got, "resolved")) && json_is_integer(json_object_get(got, "duration")));
	ck_assert_int_eq(json_array_size(json_object_get(got, "updates")), 1);
	json_decref(list);
	list = instatus_ok("GET", "/v1/pg/incidents?status=INVESTIGATING,IDENTIFIED,MONITORING", NULL);
	ck_assert_int_eq(json_array_size(list), 0);
	json_decref(list);
	list = instatus_ok("GET", "/v1/other/incidents", NULL);
	ck_assert_int_eq(json_array_size(list), 0);
	json_decref(list);
	json_decref(upd);
	json_decref(inc);
}
END_TEST

START_TEST(instatus_refusals)
{
	json_t *inc = instatus_ok("POST", "/v1/pg/incidents", CREATE);
	char path[256];
	struct t_alertfx_resp r;

	/* statuses must name only components listed in components, on create and on update. */
	t_alertfx_request(fx_port, "POST", "/v1/pg/incidents", AUTH,
			  "{\"name\":\"x\",\"status\":\"INVESTIGATING\",\"components\":[\"a\"],"
			  "\"statuses\":[{\"id\":\"b\",\"status\":\"MAJOROUTAGE\"}]}", 5000, &r);
	ck_assert_int_eq(r.status, 400);
	json_t *err = json_loads(r.body, 0, NULL);
	ck_assert(json_is_string(json_object_get(json_object_get(err, "error"), "code")));
	ck_assert(json_is_string(json_object_get(json_object_get(err, "error"), "message")));
	json_decref(err);
	t_alertfx_resp_free(&r);
	snprintf(path, sizeof(path), "/v1/pg/incidents/%s/incident-updates", json_string_value(json_object_get(inc, "id")));
	expect("POST", path, AUTH, "{\"status\":\"RESOLVED\",\"components\":[],"
				   "\"statuses\":[{\"id\":\"cmp-api\",\"status\":\"OPERATIONAL\"}]}", 400, NULL);
	expect("POST", path, AUTH, "{\"status\":\"RESOLVED\",\"components\":[\"cmp-api\"]}", 400, NULL);
	expect("POST", path, AUTH, "{\"status\":\"DONE\",\"components\":[],\"statuses\":[]}", 400, NULL);
	expect("POST", "/v1/pg/incidents", AUTH, "{\"status\":\"INVESTIGATING\"}", 400, NULL);
	expect("POST", "/v1/pg/incidents", AUTH, "{\"name\":\"x\",\"status\":\"investigating\"}", 400, NULL);
	expect("POST", "/v1/pg/incidents", AUTH, "not json", 400, NULL);
	expect("POST", "/v1/pg/incidents/cknope/incident-updates", AUTH,
	       "{\"status\":\"RESOLVED\",\"components\":[],\"statuses\":[]}", 404,
	       "{\"error\":{\"code\":\"not_found\",\"message\":\"Incident not found\"}}");
	/* The refused requests changed nothing. */
	json_t *list = instatus_ok("GET", "/v1/pg/incidents", NULL);
	ck_assert_int_eq(json_array_size(list), 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "status")), "INVESTIGATING");
	json_decref(list);
	json_decref(inc);
}
END_TEST

START_TEST(instatus_components)
{
	json_t *c = instatus_ok("PUT", "/v1/pg/components/cmp-web", "{\"status\":\"PARTIALOUTAGE\"}"), *list;

	ck_assert_str_eq(json_string_value(json_object_get(c, "id")), "cmp-web");
	ck_assert_str_eq(json_string_value(json_object_get(c, "status")), "PARTIALOUTAGE");
	json_decref(c);
	json_decref(instatus_ok("POST", "/v1/pg/incidents", CREATE));
	/* Components seen so far, in the order first seen. */
	list = instatus_ok("GET", "/v1/pg/components", NULL);
	ck_assert_int_eq(json_array_size(list), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 0), "id")), "cmp-web");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 1), "id")), "cmp-api");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(list, 1), "status")), "MAJOROUTAGE");
	json_decref(list);
	expect("PUT", "/v1/pg/components/cmp-web", AUTH, "{\"status\":\"DOWN\"}", 400, NULL);
}
END_TEST

START_TEST(instatus_keeps_other_v1_routes)
{
	struct t_alertfx_resp r;

	t_alertfx_request(fx_port, "POST", "/v1/login", JSON_TYPE, "{\"username\":\"u\",\"password\":\"secret\"}", 5000, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "\"token\":\"tok-"));
	t_alertfx_resp_free(&r);
	expect("GET", "/v1/login", NULL, NULL, 404, "{\"error\":\"not found\"}");
	expect("GET", "/v1/pg/other", AUTH, NULL, 404, "{\"error\":\"not found\"}");
	/* None of these is an Instatus request: nothing logged. */
	json_t *log = t_alertfx_log(fx_port, NULL);
	ck_assert_int_eq(json_array_size(log), 0);
	json_decref(log);
}
END_TEST

/* ------------------------------------------------------------------ hook */

START_TEST(hook_any_path)
{
	expect("POST", "/hook/team/a", JSON_TYPE, "{\"event\":\"opened\"}", 200, "{\"ok\":true}");
	expect("PUT", "/hook/", NULL, "plain words", 200, "{\"ok\":true}");
	expect("GET", "/hook/x", NULL, NULL, 404, NULL);
	json_t *log = t_alertfx_log(fx_port, "hook");
	ck_assert_int_eq(json_array_size(log), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_array_get(log, 0), "body"), "event")),
			 "opened");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(log, 1), "body")), "plain words");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(log, 1), "method")), "PUT");
	json_decref(log);
	/* The route filter: nothing went to Slack. */
	log = t_alertfx_log(fx_port, "slack");
	ck_assert_int_eq(json_array_size(log), 0);
	json_decref(log);
}
END_TEST

/* ------------------------------------------------------------------ wait */

START_TEST(wait_returns_when_count_reached)
{
	int fd = t_alertfx_send(fx_port, "GET", "/_alerts/wait?route=slack&count=2&timeout_ms=8000", NULL, NULL);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct t_alertfx_resp r;
	char n[16];

	ck_assert_int_ge(fd, 0);
	/* Parked, and not in the way of other requests. */
	ck_assert_int_eq(poll(&p, 1, 200), 0);
	slack("{\"text\":\"one\"}", 200, "ok");
	expect("POST", "/hook/x", NULL, "{}", 200, NULL);
	ck_assert_int_eq(poll(&p, 1, 100), 0);
	int64_t t0 = t_mono_ms();
	slack("{\"text\":\"two\"}", 200, "ok");
	ck_assert_int_eq(t_alertfx_recv(fd, 5000, &r), 200);
	ck_assert_int_lt(t_mono_ms() - t0, 2000);
	ck_assert(t_alertfx_header(&r, "X-Count", n, sizeof(n)));
	ck_assert_str_eq(n, "2");
	json_t *list = json_loadb(r.body, r.body_len, 0, NULL);
	ck_assert_int_eq(json_array_size(list), 2);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_array_get(list, 1), "body"), "text")), "two");
	json_decref(list);
	t_alertfx_resp_free(&r);
}
END_TEST

START_TEST(wait_times_out_with_fewer)
{
	slack("{\"text\":\"one\"}", 200, "ok");
	int64_t t0 = t_mono_ms();
	json_t *list = t_alertfx_wait(fx_port, "slack", 3, 0, 300);
	int64_t took = t_mono_ms() - t0;

	ck_assert_ptr_nonnull(list);
	ck_assert_int_eq(json_array_size(list), 1);
	ck_assert_int_ge(took, 250);
	ck_assert_int_lt(took, 3000);
	json_decref(list);
	/* Filtered by status: no 500 yet, so none; at once when the count is already there. */
	list = t_alertfx_wait(fx_port, "slack", 1, 500, 200);
	ck_assert_int_eq(json_array_size(list), 0);
	json_decref(list);
	t0 = t_mono_ms();
	list = t_alertfx_wait(fx_port, "slack", 1, 200, 5000);
	ck_assert_int_eq(json_array_size(list), 1);
	ck_assert_int_lt(t_mono_ms() - t0, 2000);
	json_decref(list);
}
END_TEST

START_TEST(wait_status_filter_wakes)
{
	ck_assert_int_eq(t_alertfx_script(fx_port, "{\"route\":\"slack\",\"responses\":[{\"status\":500}]}"), 200);
	int fd = t_alertfx_send(fx_port, "GET", "/_alerts/wait?route=slack&status=200&count=1&timeout_ms=8000", NULL, NULL);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct t_alertfx_resp r;

	slack("{\"text\":\"a\"}", 500, "rollup_error");
	ck_assert_int_eq(poll(&p, 1, 150), 0);
	slack("{\"text\":\"a\"}", 200, "ok");
	ck_assert_int_eq(t_alertfx_recv(fd, 5000, &r), 200);
	json_t *list = json_loadb(r.body, r.body_len, 0, NULL);
	ck_assert_int_eq(json_array_size(list), 1);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(list, 0), "status")), 200);
	json_decref(list);
	t_alertfx_resp_free(&r);
}
END_TEST

START_TEST(wait_client_leaves)
{
	int fd = t_alertfx_send(fx_port, "GET", "/_alerts/wait?route=slack&count=1&timeout_ms=8000", NULL, NULL);

	ck_assert_int_ge(fd, 0);
	usleep(100 * 1000);
	close(fd);
	usleep(100 * 1000);
	/* The wait is forgotten with its connection; logging does not touch it. */
	slack("{\"text\":\"a\"}", 200, "ok");
	expect("GET", "/_alerts/wait?route=pagerduty", NULL, NULL, 400, NULL);
	expect("GET", "/_alerts/wait?count=x", NULL, NULL, 400, NULL);
	json_t *list = t_alertfx_wait(fx_port, "slack", 1, 0, 1000);
	ck_assert_int_eq(json_array_size(list), 1);
	json_decref(list);
}
END_TEST

/* ------------------------------------------------------------------ reset */

START_TEST(reset_clears_everything)
{
	slack("{\"text\":\"a\"}", 200, "ok");
	json_decref(instatus_ok("POST", "/v1/pg/incidents", CREATE));
	ck_assert_int_eq(t_alertfx_script(fx_port, "{\"route\":\"slack\",\"responses\":[{\"status\":500}]}"), 200);
	ck_assert_int_eq(t_alertfx_reset(fx_port), 200);

	json_t *log = t_alertfx_log(fx_port, NULL);
	ck_assert_int_eq(json_array_size(log), 0);
	json_decref(log);
	slack("{\"text\":\"a\"}", 200, "ok");	/* the script is gone */
	json_t *list = instatus_ok("GET", "/v1/pg/incidents", NULL);
	ck_assert_int_eq(json_array_size(list), 0);
	json_decref(list);
	list = instatus_ok("GET", "/v1/pg/components", NULL);
	ck_assert_int_eq(json_array_size(list), 0);
	json_decref(list);
	log = t_alertfx_log(fx_port, NULL);
	ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(log, 0), "seq")), 1);
	json_decref(log);
}
END_TEST

static TCase *fx_tcase(const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
	tcase_set_timeout(tc, TIMEOUT_S);
	return tc;
}

Suite *alertfx_suite(void)
{
	Suite *s = suite_create("alertfx");
	TCase *tc;

	tc = fx_tcase("slack");
	tcase_add_test(tc, slack_ok);
	tcase_add_test(tc, slack_no_text);
	tcase_add_test(tc, slack_invalid_payload);
	tcase_add_loop_test(tc, slack_block_limits, 0, (int)(sizeof(limits) / sizeof(limits[0])));
	tcase_add_test(tc, slack_invalid_blocks);
	suite_add_tcase(s, tc);

	tc = fx_tcase("script");
	tcase_add_test(tc, script_500_twice_then_ok);
	tcase_add_test(tc, script_retry_after);
	tcase_add_test(tc, script_hang);
	tcase_add_test(tc, script_instatus_body_as_is);
	tcase_add_test(tc, script_refused);
	suite_add_tcase(s, tc);

	tc = fx_tcase("instatus");
	tcase_add_test(tc, instatus_auth);
	tcase_add_test(tc, instatus_create_update);
	tcase_add_test(tc, instatus_refusals);
	tcase_add_test(tc, instatus_components);
	tcase_add_test(tc, instatus_keeps_other_v1_routes);
	suite_add_tcase(s, tc);

	tc = fx_tcase("hook");
	tcase_add_test(tc, hook_any_path);
	suite_add_tcase(s, tc);

	tc = fx_tcase("wait");
	tcase_add_test(tc, wait_returns_when_count_reached);
	tcase_add_test(tc, wait_times_out_with_fewer);
	tcase_add_test(tc, wait_status_filter_wakes);
	tcase_add_test(tc, wait_client_leaves);
	suite_add_tcase(s, tc);

	tc = fx_tcase("reset");
	tcase_add_test(tc, reset_clears_everything);
	suite_add_tcase(s, tc);
	return s;
}
