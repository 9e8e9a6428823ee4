/* check_channels.c - channel plugins: building from config, rendering events, classifying answers; their helpers. */
#include "tests/tests.h"
#include "alerting/alert_int.h"

#include <stdlib.h>
#include <string.h>

/* 2026-11-21 14:02:05 UTC, when the example incident starts. */
#define T0 1795269725000LL
#define SLACK_URL "https://hooks.slack.com/services/T000/B000/sEcReTtOkEn42"

/* ------------------------------------------------------------------ fixtures */

/* The problems a build reported, as "path: message". */
struct errs {
	char *v[32];
	size_t n;
};

static void collect(const char *path, const char *msg, void *ctx)
{
	struct errs *e = ctx;

	if (e->n < 32)
		e->v[e->n++] = alert__strf("%s: %s", path, msg);
}

static void errs_free(struct errs *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i]);
	e->n = 0;
}

/* True when some problem is at path and its message holds msg. */
static bool has_err(const struct errs *e, const char *path, const char *msg)
{
	size_t plen = strlen(path);

	for (size_t i = 0; i < e->n; i++)
		if (strncmp(e->v[i], path, plen) == 0 && strncmp(e->v[i] + plen, ": ", 2) == 0 &&
		    strstr(e->v[i] + plen + 2, msg))
			return true;
	return false;
}

static bool errs_mention(const struct errs *e, const char *s)
{
	for (size_t i = 0; i < e->n; i++)
		if (strstr(e->v[i], s))
			return true;
	return false;
}

/* Builds channel "ops" from JSON text; problems go to e. */
static int build(const char *text, struct alert_channel **ch, struct errs *e)
{
	json_error_t jerr;
	json_t *conf = json_loads(text, 0, &jerr);

	ck_assert_msg(conf != NULL, "bad test JSON: %s", jerr.text);
	int rc = alert__channel_new("ops", conf, collect, e, ch);
	json_decref(conf);
	return rc;
}

static struct alert_channel *build_ok(const char *text)
{
	struct alert_channel *ch = NULL;
	struct errs e = { .n = 0 };
	int rc = build(text, &ch, &e);

	ck_assert_msg(rc == 0 && e.n == 0, "%s: rc %d, %s", text, rc, e.n ? e.v[0] : "no message");
	return ch;
}

/* An event object as alert_int.h documents it, for the example probe "vitals-submit". */
static json_t *mk_payload(const char *kind, const char *error, bool slow)
{
	json_t *p = json_pack("{s:i, s:s, s:i, s:s, s:I, s:{s:s, s:n, s:[s, s]}}", "version", 1, "event", kind,
			      "event_id", 17, "created", "2026-11-21T14:05:05Z",
			      "created_ms", (json_int_t)(T0 + 180000),
			      "probe", "name", "vitals-submit", "description", "tags", "vitals", "web");
	bool resolved = strcmp(kind, "resolved") == 0;

	ck_assert_ptr_nonnull(p);
	if (strcmp(kind, "test") == 0) {
		json_object_set_new(p, "incident", json_null());
		return p;
	}
	json_t *inc = json_pack("{s:i, s:s, s:s, s:I, s:s, s:I, s:i, s:i, s:s, s:s, s:s, s:s, s:s, s:f, s:b}", "id", 4,
				"state", resolved ? "resolved" : "open", "started", "2026-11-21T14:02:05Z",
				"started_ms", (json_int_t)T0, "detected", "2026-11-21T14:03:05Z", "detected_ms",
				(json_int_t)(T0 + 60000), "duration_s", resolved ? 432 : 180, "failed_runs", 3,
				"failed_step", "submit", "error_class", "timeout", "error", error, "last_error_class",
				"http", "last_error", "step \"submit\": HTTP 502", "latency_ms", 10000.0, "slow", slow);
	ck_assert_ptr_nonnull(inc);
	json_object_set_new(inc, "resolved", resolved ? json_string("2026-11-21T14:09:17Z") : json_null());
	json_object_set_new(inc, "resolved_ms", resolved ? json_integer(T0 + 432000) : json_null());
	json_object_set_new(p, "incident", inc);
	if (strcmp(kind, "flapping") == 0)
		json_object_set_new(p, "flapping", json_pack("{s:i, s:i}", "changes", 7, "window_s", 1800));
	if (strcmp(kind, "reminder") == 0)
		json_object_set_new(p, "reminder", json_integer(2));
	return p;
}

static struct alert_event mk_event(const char *kind, const json_t *payload, const char *ref)
{
	const char *probe = json_string_value(json_object_get(json_object_get(payload, "probe"), "name"));
	struct alert_event ev = { 17, kind, strcmp(kind, "test") ? 4 : 0, probe, payload, ref };
	return ev;
}

/*
 * A render test's state, a checked fixture: the channel, the last payload
 * rendered and what came out of it. go() replaces the last render; the
 * teardown frees everything, even after a failed assertion.
 */
static struct {
	struct alert_channel *ch;
	json_t *payload;
	struct alert_request req;
	char *why;
	json_t *body;   /* req's body, parsed */
} cur;

static void render_clear(void)
{
	json_decref(cur.payload);
	json_decref(cur.body);
	alert__request_clear(&cur.req);
	free(cur.why);
	cur.payload = cur.body = NULL;
	cur.why = NULL;
}

static void render_setup(void)
{
	memset(&cur, 0, sizeof(cur));
}

static void render_teardown(void)
{
	render_clear();
	alert__channel_free(cur.ch);
	cur.ch = NULL;
}

/* Renders a kind event of payload (stolen) with ref on cur.ch. Returns the parsed body, NULL when skipped. */
static json_t *go(const char *kind, json_t *payload, const char *ref)
{
	render_clear();
	cur.payload = payload;
	struct alert_event ev = mk_event(kind, payload, ref);
	int rc = alert__channel_render(cur.ch, &ev, &cur.req, &cur.why);

	ck_assert_msg(rc == 0 || rc == ALERT__SKIP, "render %s: %d", kind, rc);
	if (rc == ALERT__SKIP) {
		ck_assert_ptr_nonnull(cur.why);
		return NULL;
	}
	ck_assert_ptr_null(cur.why);
	cur.body = cur.req.body ? json_loadb(cur.req.body, cur.req.body_len, 0, NULL) : NULL;
	ck_assert_msg(cur.req.body == NULL || cur.body != NULL, "body is not JSON: %s", cur.req.body);
	return cur.body;
}

static bool has_header(const struct alert_request *req, const char *line)
{
	for (size_t i = 0; i < req->nheaders; i++)
		if (strcmp(req->headers[i], line) == 0)
			return true;
	return false;
}

/* o[k] as a string, or NULL. */
static const char *js(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static struct alert_response mk_resp(long status, const char *body)
{
	struct alert_response r = { NULL, status, 0, false, body, body ? strlen(body) : 0, -1 };
	return r;
}

static bool utf8_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		size_t n = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2
			 : (*p & 0xF8) == 0xF0 ? 3 : 9;
		if (n == 9)
			return false;
		for (size_t i = 1; i <= n; i++)
			if ((p[i] & 0xC0) != 0x80)
				return false;
		p += n + 1;
	}
	return true;
}

/* ------------------------------------------------------------------ config */

#define DAY (24 * 3600 * 1000LL)
#define A50 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define MANY_A A50 A50 A50 A50 A50 /* 250 bytes */

START_TEST(valid_configs_build)
{
	static const struct {
		const char *conf;
		int rate;
		int64_t retry_for, timeout;
	} ok[] = {
		{ "{\"type\":\"slack\",\"webhook_url\":\"" SLACK_URL "\",\"mention\":\"<!here>\"}", 20, DAY, 10000 },
		{ "{\"type\":\"instatus\",\"api_key\":\"k3y-abcdef\",\"page_id\":\"pg1\","
		  "\"components\":{\"vitals-submit\":\"cmpA\"},\"reminders\":true,\"notify\":false}", 30, DAY, 10000 },
		{ "{\"type\":\"webhook\",\"url\":\"http://127.0.0.1:9/hook\",\"method\":\"PUT\","
		  "\"headers\":{\"Authorization\":\"Bearer t0ken-xyz\"}}", 60, DAY, 10000 },
		{ "{\"type\":\"exec\",\"command\":[\"/usr/local/bin/notify\",\"--flag\"]}", 60, DAY, 10000 },
		{ "{\"type\":\"exec\",\"command\":[\"/bin/true\"],\"rate_per_min\":6000,\"retry_for\":\"30m\","
		  "\"timeout\":\"100ms\"}", 6000, 1800000, 100 },
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct alert_channel *ch = build_ok(ok[i].conf);
		ck_assert_str_eq(ch->name, "ops");
		ck_assert_int_eq(ch->rate_per_min, ok[i].rate);
		ck_assert_int_eq(ch->retry_for_ms, ok[i].retry_for);
		ck_assert_int_eq(ch->timeout_ms, ok[i].timeout);
		alert__channel_free(ch);
	}
	alert__channel_free(NULL);
}
END_TEST

START_TEST(every_problem_is_reported)
{
	struct alert_channel *ch = NULL;
	struct errs e = { .n = 0 };

	ck_assert_int_eq(build("{\"type\":\"slack\",\"webhok_url\":\"" SLACK_URL "\",\"rate_per_min\":0,"
			       "\"retry_for\":\"0s\",\"timeout\":\"1h\",\"mention\":3}", &ch, &e), -EINVAL);
	ck_assert_ptr_null(ch);
	ck_assert(has_err(&e, "webhok_url",
			  "unknown key \"webhok_url\" in a slack channel (did you mean \"webhook_url\"?)"));
	ck_assert(has_err(&e, "webhook_url", "\"webhook_url\" is required"));
	ck_assert(has_err(&e, "rate_per_min", "integer from 1 to 6000"));
	ck_assert(has_err(&e, "retry_for", "at least 1s"));
	ck_assert(has_err(&e, "timeout", "from 100ms to 5m"));
	ck_assert(has_err(&e, "mention", "non-empty string"));
	ck_assert_int_eq(e.n, 6);
	ck_assert(!errs_mention(&e, "sEcReT"));
	errs_free(&e);
}
END_TEST

/* Secrets in a bad config: type_specific_problems checks the single-problem cases. */
START_TEST(secrets_stay_out_of_messages)
{
	struct alert_channel *ch = NULL;
	struct errs e = { .n = 0 };

	ck_assert_int_eq(build("{\"type\":\"webhook\",\"url\":\"https://x.example/sEcReT\","
			       "\"headers\":{\"X-Token\":\"sEcReT\\r\\nHost: evil\",\"Bad Name\":\"v\"}}", &ch, &e),
			 -EINVAL);
	ck_assert(has_err(&e, "headers/X-Token", "without line breaks"));
	ck_assert(has_err(&e, "headers/Bad Name", "not a valid header name"));
	ck_assert(!errs_mention(&e, "sEcReT"));
	errs_free(&e);
}
END_TEST

START_TEST(channel_secrets_are_recorded)
{
	struct alert_channel *ch = build_ok("{\"type\":\"webhook\",\"url\":\"https://x.example/h\","
					    "\"headers\":{\"A\":\"val-one\",\"B\":\"val-two\",\"C\":\"\"}}");

	ck_assert_int_eq(ch->nsecrets, 3);
	ck_assert_str_eq(ch->secrets[0], "val-one");
	ck_assert_str_eq(ch->secrets[2], "https://x.example/h");
	alert__channel_free(ch);
	ch = build_ok("{\"type\":\"slack\",\"webhook_url\":\"" SLACK_URL "\"}");
	ck_assert_int_eq(ch->nsecrets, 1);
	ck_assert_str_eq(ch->secrets[0], SLACK_URL);
	ck_assert_int_eq(alert__channel_secret(ch, SLACK_URL), 0); /* no duplicate */
	ck_assert_int_eq(alert__channel_secret(ch, ""), 0);
	ck_assert_int_eq(ch->nsecrets, 1);
	alert__channel_free(ch);
	ch = build_ok("{\"type\":\"instatus\",\"api_key\":\"k3y-abcdef\",\"page_id\":\"pg\"}");
	ck_assert_str_eq(ch->secrets[0], "k3y-abcdef");
	alert__channel_free(ch);
}
END_TEST

START_TEST(type_specific_problems)
{
	static const struct {
		const char *conf, *path, *msg;
	} bad[] = {
		{ "{\"type\":\"slak\",\"webhook_url\":\"" SLACK_URL "\"}", "type",
		  "unknown channel type \"slak\" (did you mean \"slack\"?); "
		  "known types: slack, instatus, webhook, exec" },
		{ "{\"type\":\"pagerduty\"}", "type", "unknown channel type \"pagerduty\"; known types" },
		{ "{\"webhook_url\":\"" SLACK_URL "\"}", "type", "\"type\" is required" },
		{ "{\"type\":5}", "type", "\"type\" must be a string" },
		{ "[\"slack\"]", "", "a channel must be an object" },
		{ "{\"type\":\"slack\",\"webhook_url\":\"ftp://hooks/sEcReTtOkEn42\"}", "webhook_url",
		  "\"webhook_url\" must be an http:// or https:// URL" },
		{ "{\"type\":\"instatus\",\"api_key\":\"sEcReT key\",\"page_id\":\"pg\"}", "api_key",
		  "must not contain spaces" },
		{ "{\"type\":\"instatus\",\"page_id\":\"pg\"}", "api_key", "\"api_key\" is required" },
		{ "{\"type\":\"instatus\",\"api_key\":\"kkkk\"}", "page_id", "\"page_id\" is required" },
		{ "{\"type\":\"instatus\",\"api_key\":\"kkkk\",\"page_id\":\"a/b\"}", "page_id", "only letters" },
		{ "{\"type\":\"instatus\",\"api_key\":\"kkkk\",\"page_id\":\"p\",\"components\":{\"a/pi\":5}}",
		  "components/a~1pi", "component id for \"a/pi\"" },
		{ "{\"type\":\"instatus\",\"api_key\":\"kkkk\",\"page_id\":\"p\",\"components\":[]}", "components",
		  "must be an object" },
		{ "{\"type\":\"instatus\",\"api_key\":\"kkkk\",\"page_id\":\"p\",\"notify\":\"yes\"}", "notify",
		  "true or false" },
		{ "{\"type\":\"instatus\",\"api_key\":\"kkkk\",\"page_id\":\"p\",\"api_url\":\"api.instatus.com\"}",
		  "api_url", "http:// or https://" },
		{ "{\"type\":\"webhook\",\"url\":\"https://x.example\",\"method\":\"GET\"}", "method",
		  "\"POST\" or \"PUT\"" },
		{ "{\"type\":\"webhook\",\"url\":\"https://x.example\",\"headers\":[]}", "headers",
		  "must be an object" },
		{ "{\"type\":\"webhook\"}", "url", "\"url\" is required" },
		{ "{\"type\":\"slack\",\"webhook_url\":\"https://h.example/x\",\"mention\":\"" MANY_A "\"}", "mention",
		  "at most 200 bytes" },
		{ "{\"type\":\"exec\",\"command\":[\"notify\"]}", "command/0", "must be an absolute path" },
		{ "{\"type\":\"exec\",\"command\":[]}", "command", "non-empty array" },
		{ "{\"type\":\"exec\",\"command\":[\"/bin/x\",7]}", "command/1", "must be a string" },
		{ "{\"type\":\"exec\"}", "command", "\"command\" is required" },
		{ "{\"type\":\"exec\",\"command\":[\"/bin/x\"],\"url\":\"u\"}", "url",
		  "unknown key \"url\" in an exec channel" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct alert_channel *ch = NULL;
		struct errs e = { .n = 0 };
		ck_assert_int_eq(build(bad[i].conf, &ch, &e), -EINVAL);
		ck_assert_ptr_null(ch);
		ck_assert_int_eq(e.n, 1);
		ck_assert_msg(has_err(&e, bad[i].path, bad[i].msg), "%s: got %s", bad[i].conf,
			      e.n ? e.v[0] : "nothing");
		ck_assert(!errs_mention(&e, "sEcReT"));
		errs_free(&e);
	}
}
END_TEST

START_TEST(check_builds_and_frees)
{
	json_t *good = json_pack("{s:s, s:s}", "type", "slack", "webhook_url", SLACK_URL);
	json_t *bad = json_pack("{s:s}", "type", "slack");
	struct errs e = { .n = 0 };

	ck_assert_int_eq(alert_channel_check(good, collect, &e), 0);
	ck_assert_int_eq(e.n, 0);
	ck_assert_int_eq(alert_channel_check(bad, collect, &e), -EINVAL);
	ck_assert_int_eq(e.n, 1);
	ck_assert_int_eq(alert_channel_check(bad, NULL, NULL), -EINVAL);
	errs_free(&e);
	json_decref(good);
	json_decref(bad);
}
END_TEST

/* ------------------------------------------------------------------ slack */

static const char *block_text(const json_t *block)
{
	return js(json_object_get(block, "text"), "text");
}

/* The text of block i of a Slack message. */
static const char *blk(const json_t *body, size_t i)
{
	return block_text(json_array_get(json_object_get(body, "blocks"), i));
}

/* Holds body to ALERT-APIS.md §1: a text fallback and Block Kit within its limits. */
static void check_slack_limits(const json_t *body)
{
	const json_t *blocks = json_object_get(body, "blocks"), *b;
	size_t i;

	ck_assert(json_is_string(json_object_get(body, "text")));
	ck_assert_int_gt(json_string_length(json_object_get(body, "text")), 0);
	ck_assert_int_le(json_string_length(json_object_get(body, "text")), 40000);
	ck_assert(json_is_array(blocks));
	ck_assert_int_le(json_array_size(blocks), 50);
	json_array_foreach(blocks, i, b) {
		const char *type = js(b, "type");
		const json_t *fields = json_object_get(b, "fields"), *f;
		size_t j;
		ck_assert_ptr_nonnull(type);
		if (strcmp(type, "header") == 0) {
			ck_assert_str_eq(js(json_object_get(b, "text"), "type"), "plain_text");
			ck_assert_int_le(strlen(block_text(b)), 150);
		} else if (strcmp(type, "section") == 0) {
			ck_assert(block_text(b) || fields);
			if (block_text(b)) {
				ck_assert_int_ge(strlen(block_text(b)), 1);
				ck_assert_int_le(strlen(block_text(b)), 3000);
			}
			ck_assert_int_le(json_array_size(fields), 10);
			json_array_foreach(fields, j, f)
				ck_assert_int_le(strlen(js(f, "text")), 2000);
		} else {
			ck_assert_str_eq(type, "context");
		}
	}
}

/* The first section's field whose title is title, or NULL. */
static const char *slack_field(const json_t *body, const char *title)
{
	const json_t *b, *f;
	size_t i, j;
	size_t tlen = strlen(title);

	json_array_foreach(json_object_get(body, "blocks"), i, b)
		json_array_foreach(json_object_get(b, "fields"), j, f) {
			const char *t = js(f, "text");
			if (t[0] == '*' && strncmp(t + 1, title, tlen) == 0 && strncmp(t + 1 + tlen, "*\n", 2) == 0)
				return t + tlen + 3;
		}
	return NULL;
}

static struct alert_channel *slack(void)
{
	return build_ok("{\"type\":\"slack\",\"webhook_url\":\"" SLACK_URL "\",\"mention\":\"<!here>\"}");
}

START_TEST(slack_opened)
{
	cur.ch = slack();
	json_t *body = go("opened", mk_payload("opened", "step \"submit\": timed out after 10000 ms", false), NULL);
	const json_t *context = json_array_get(json_object_get(body, "blocks"), 3);

	ck_assert_str_eq(cur.req.method, "POST");
	ck_assert_str_eq(cur.req.url, SLACK_URL);
	ck_assert(has_header(&cur.req, "Content-Type: application/json; charset=utf-8"));
	check_slack_limits(body);
	ck_assert_str_eq(js(body, "text"), "<!here> DOWN vitals-submit: step \"submit\": timed out after 10000 ms "
					   "(since 2026-11-21 14:02:05 UTC)");
	ck_assert(strstr(blk(body, 0), "DOWN: vitals-submit"));
	ck_assert(strncmp(blk(body, 1), "<!here> ", 8) == 0);
	ck_assert_str_eq(slack_field(body, "Failing step"), "submit");
	ck_assert_str_eq(slack_field(body, "Error class"), "timeout");
	ck_assert_str_eq(slack_field(body, "Since"), "2026-11-21 14:02:05 UTC (3m ago)");
	ck_assert_str_eq(slack_field(body, "Detected"), "2026-11-21 14:03:05 UTC");
	ck_assert_str_eq(slack_field(body, "Latency"), "10000 ms");
	ck_assert_str_eq(slack_field(body, "Failed runs"), "3");
	ck_assert_str_eq(slack_field(body, "Tags"), "vitals, web");
	ck_assert_str_eq(blk(body, 2), "*Error*\n```\nstep \"submit\": timed out after 10000 ms\n```");
	ck_assert_str_eq(js(json_array_get(json_object_get(context, "elements"), 0), "text"),
			 "canary incident #4 \xc2\xb7 event 17");
}
END_TEST

/* A 100 KB error of multi-byte characters and mrkdwn specials still makes a valid message. */
START_TEST(slack_huge_error_within_limits)
{
	static const char *const bits[] = { "\xc3\xa9", "<", "&", "`", "\xf0\x9f\x94\xa5", "x" };
	static const char *const kinds[] = { "opened", "reminder", "resolved" };
	size_t n = 100 * 1024;
	char *err = malloc(n + 1);

	for (size_t i = 0, k = 0; i + strlen(bits[k % 6]) <= n; k++) {
		memcpy(err + i, bits[k % 6], strlen(bits[k % 6]));
		i += strlen(bits[k % 6]);
		err[i] = '\0';
	}
	cur.ch = slack();
	for (size_t k = 0; k < 3; k++) {
		json_t *p = mk_payload(kinds[k], err, false);
		json_object_set_new(json_object_get(p, "incident"), "last_error", json_string(err));
		json_t *body = go(kinds[k], p, NULL);
		check_slack_limits(body);
		const char *code = blk(body, 2);
		ck_assert_str_eq(code + strlen(code) - 7, "\xe2\x80\xa6\n```");
		ck_assert(strstr(code, "&lt;&amp;") != NULL);
		size_t ticks = 0;
		for (const char *c = code; *c; c++)
			ticks += *c == '`';
		ck_assert_int_eq(ticks, 6); /* the error's backticks cannot close the block early */
		ck_assert_int_lt(cur.req.body_len, 20000);
	}
	free(err);
}
END_TEST

START_TEST(slack_long_probe_name_and_escaping)
{
	char name[301];
	json_t *p = mk_payload("opened", "<html> & </html>", false);

	memset(name, 'n', 300);
	name[300] = '\0';
	json_object_set_new(json_object_get(p, "probe"), "name", json_string(name));
	cur.ch = slack();
	json_t *body = go("opened", p, NULL);
	check_slack_limits(body);
	ck_assert_str_eq(blk(body, 2), "*Error*\n```\n&lt;html&gt; &amp; &lt;/html&gt;\n```");
}
END_TEST

START_TEST(slack_reminder_resolved_flapping_test)
{
	cur.ch = slack();
	json_t *body = go("reminder", mk_payload("reminder", "first", false), NULL);
	check_slack_limits(body);
	ck_assert_str_eq(js(body, "text"), "STILL DOWN vitals-submit for 3m: step \"submit\": HTTP 502");
	ck_assert(strstr(blk(body, 0), "STILL DOWN: vitals-submit"));
	ck_assert(strstr(blk(body, 1), "down for 3m"));
	ck_assert_str_eq(slack_field(body, "Error class"), "http");

	body = go("resolved", mk_payload("resolved", "first", false), NULL);
	check_slack_limits(body);
	ck_assert_str_eq(js(body, "text"), "RESOLVED vitals-submit after 7m 12s");
	ck_assert(strstr(blk(body, 0), "RESOLVED: vitals-submit"));
	ck_assert(strstr(blk(body, 1), "Down for 7m 12s, from 14:02:05 to 14:09:17 UTC"));
	ck_assert_str_eq(slack_field(body, "Failed runs"), "3");
	ck_assert(strstr(blk(body, 2), "first"));

	body = go("flapping", mk_payload("flapping", "first", false), NULL);
	check_slack_limits(body);
	ck_assert(strstr(blk(body, 0), "FLAPPING: vitals-submit"));
	ck_assert(strstr(blk(body, 1), "changed state 7 times in the last 30m"));
	ck_assert(strstr(blk(body, 1), "stable for a whole window"));

	body = go("test", mk_payload("test", "", false), NULL);
	ck_assert_str_eq(js(body, "text"), "canary test message for channel ops");
}
END_TEST

/* ------------------------------------------------------------------ instatus */

static struct alert_channel *instatus(bool reminders)
{
	char conf[512];

	snprintf(conf, sizeof(conf),
		 "{\"type\":\"instatus\",\"api_url\":\"http://127.0.0.1:8/\",\"api_key\":\"k3y-abcdef\","
		 "\"page_id\":\"PG\","
		 "\"components\":{\"vitals-submit\":\"cmpA\",\"vitals\":\"cmpA\",\"web\":\"cmpB\",\"other\":\"cmpC\"},"
		 "\"reminders\":%s,\"notify\":true}",
		 reminders ? "true" : "false");
	return build_ok(conf);
}

/* Every id in statuses is in components, each with status want. */
static void check_statuses(const json_t *body, size_t n, const char *want)
{
	const json_t *comps = json_object_get(body, "components"), *st = json_object_get(body, "statuses"), *s, *c;
	size_t i, j;

	ck_assert_int_eq(json_array_size(comps), n);
	ck_assert_int_eq(json_array_size(st), n);
	json_array_foreach(st, i, s) {
		bool found = false;
		json_array_foreach(comps, j, c)
			found |= json_equal(c, json_object_get(s, "id"));
		ck_assert(found);
		ck_assert_str_eq(js(s, "status"), want);
	}
}

START_TEST(instatus_opened)
{
	cur.ch = instatus(false);
	json_t *body = go("opened", mk_payload("opened", "step \"submit\": timed out", false), NULL);
	const char *msg = js(body, "message");

	ck_assert_str_eq(cur.req.method, "POST");
	ck_assert_str_eq(cur.req.url, "http://127.0.0.1:8/v1/PG/incidents");
	ck_assert(has_header(&cur.req, "Authorization: Bearer k3y-abcdef"));
	ck_assert(has_header(&cur.req, "Content-Type: application/json"));
	ck_assert_str_eq(js(body, "name"), "vitals-submit is down");
	ck_assert_str_eq(js(body, "status"), "INVESTIGATING");
	ck_assert_str_eq(js(body, "started"), "2026-11-21T14:02:05Z");
	ck_assert(json_is_true(json_object_get(body, "notify")));
	/* The probe's own and its tags' components, each once. */
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(body, "components"), 0)), "cmpA");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(body, "components"), 1)), "cmpB");
	check_statuses(body, 2, "MAJOROUTAGE");
	ck_assert(strstr(msg, "step \"submit\"") && strstr(msg, "timeout") && strstr(msg, "2026-11-21 14:02:05 UTC"));

	/* Slow: another name and a partial outage; a long error is cut. */
	char big[4000];
	memset(big, 'e', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	body = go("opened", mk_payload("opened", big, true), NULL);
	ck_assert_str_eq(js(body, "name"), "vitals-submit is slow");
	check_statuses(body, 2, "PARTIALOUTAGE");
	ck_assert_int_lt(json_string_length(json_object_get(body, "message")), 700);

	/* No component for this probe: empty lists, and the default API URL. */
	render_teardown();
	cur.ch = build_ok("{\"type\":\"instatus\",\"api_key\":\"k3y-abcdef\",\"page_id\":\"PG\"}");
	body = go("opened", mk_payload("opened", "e", false), NULL);
	ck_assert_str_eq(cur.req.url, "https://api.instatus.com/v1/PG/incidents");
	ck_assert(json_is_array(json_object_get(body, "components")));
	check_statuses(body, 0, "MAJOROUTAGE");
	ck_assert(json_is_false(json_object_get(body, "notify")));
}
END_TEST

START_TEST(instatus_reminder_and_resolved)
{
	cur.ch = instatus(false);
	ck_assert_ptr_null(go("reminder", mk_payload("reminder", "e", false), "inc1"));
	ck_assert_str_eq(cur.why, "reminders are off for this channel");
	ck_assert_ptr_null(go("resolved", mk_payload("resolved", "e", false), NULL));
	ck_assert_str_eq(cur.why, "no status page incident was created");
	json_t *body = go("resolved", mk_payload("resolved", "e", false), "ck/9 x");
	ck_assert_str_eq(cur.req.url, "http://127.0.0.1:8/v1/PG/incidents/ck%2F9%20x/incident-updates");
	ck_assert_str_eq(js(body, "status"), "RESOLVED");
	ck_assert_str_eq(js(body, "message"),
			 "Resolved: checks pass again since 2026-11-21 14:09:17 UTC; down for 7m 12s.");
	check_statuses(body, 2, "OPERATIONAL");

	render_teardown();
	cur.ch = instatus(true);
	ck_assert_ptr_null(go("reminder", mk_payload("reminder", "e", false), NULL));
	ck_assert_str_eq(cur.why, "no status page incident to update");
	body = go("reminder", mk_payload("reminder", "e", false), "inc1");
	ck_assert_str_eq(cur.req.url, "http://127.0.0.1:8/v1/PG/incidents/inc1/incident-updates");
	ck_assert_str_eq(js(body, "status"), "IDENTIFIED");
	ck_assert_str_eq(js(body, "message"), "Still failing after 3m.");
	check_statuses(body, 2, "MAJOROUTAGE");
}
END_TEST

START_TEST(instatus_flapping_and_test)
{
	cur.ch = instatus(false);
	json_t *body = go("flapping", mk_payload("flapping", "e", false), "inc1");
	ck_assert_str_eq(cur.req.url, "http://127.0.0.1:8/v1/PG/incidents/inc1/incident-updates");
	ck_assert_str_eq(js(body, "status"), "IDENTIFIED");
	ck_assert(strstr(js(body, "message"), "failing intermittently"));
	check_statuses(body, 2, "PARTIALOUTAGE");

	body = go("flapping", mk_payload("flapping", "e", false), NULL);
	ck_assert_str_eq(cur.req.url, "http://127.0.0.1:8/v1/PG/incidents");
	ck_assert_str_eq(js(body, "name"), "vitals-submit is unstable");
	ck_assert_str_eq(js(body, "status"), "IDENTIFIED");
	check_statuses(body, 2, "PARTIALOUTAGE");

	json_t *p = mk_payload("flapping", "e", false);
	json_object_set_new(json_object_get(p, "incident"), "state", json_string("resolved"));
	ck_assert_ptr_null(go("flapping", p, NULL));
	ck_assert_str_eq(cur.why, "nothing open on the status page");

	ck_assert_ptr_null(go("test", mk_payload("test", "", false), NULL));
	ck_assert_str_eq(cur.req.method, "GET");
	ck_assert_str_eq(cur.req.url, "http://127.0.0.1:8/v1/PG/components");
	ck_assert(has_header(&cur.req, "Authorization: Bearer k3y-abcdef"));
}
END_TEST

/* ------------------------------------------------------------------ webhook and exec */

START_TEST(webhook_sends_the_payload)
{
	static const char *const kinds[] = { "opened", "reminder", "resolved", "flapping", "test" };

	cur.ch = build_ok("{\"type\":\"webhook\",\"url\":\"https://x.example/h\",\"method\":\"PUT\","
			  "\"headers\":{\"Authorization\":\"Bearer t0ken-xyz\"}}");
	for (size_t i = 0; i < 5; i++) {
		json_t *body = go(kinds[i], mk_payload(kinds[i], "e", false), NULL);
		ck_assert(json_equal(body, cur.payload));
		ck_assert_ptr_null(strchr(cur.req.body, '\n')); /* compact */
		ck_assert_str_eq(cur.req.method, "PUT");
		ck_assert_str_eq(cur.req.url, "https://x.example/h");
		ck_assert(has_header(&cur.req, "Content-Type: application/json"));
		ck_assert(has_header(&cur.req, "Authorization: Bearer t0ken-xyz"));
	}
	/* The user's Content-Type replaces ours rather than doubling it. */
	render_teardown();
	cur.ch = build_ok("{\"type\":\"webhook\",\"url\":\"https://x.example/h\","
			  "\"headers\":{\"content-type\":\"text/json\"}}");
	go("test", mk_payload("test", "", false), NULL);
	ck_assert_str_eq(cur.req.method, "POST");
	ck_assert_int_eq(cur.req.nheaders, 1);
	ck_assert_str_eq(cur.req.headers[0], "content-type: text/json");
}
END_TEST

START_TEST(exec_renders_argv_and_stdin)
{
	cur.ch = build_ok("{\"type\":\"exec\",\"command\":[\"/usr/local/bin/notify\",\"--flag\"]}");
	json_t *body = go("opened", mk_payload("opened", "e", false), NULL);

	ck_assert_int_eq(cur.req.kind, ALERT_REQ_EXEC);
	ck_assert_str_eq(cur.req.argv[0], "/usr/local/bin/notify");
	ck_assert_str_eq(cur.req.argv[1], "--flag");
	ck_assert_ptr_null(cur.req.argv[2]);
	ck_assert_ptr_null(cur.req.url);
	ck_assert_ptr_eq(strchr(cur.req.body, '\n'), cur.req.body + cur.req.body_len - 1);
	ck_assert(json_equal(body, cur.payload));
}
END_TEST

/* ------------------------------------------------------------------ answers */

enum { SL, IN, WH, EX };
/* Short names keep a row of the table on one line (undefined after it). */
#define D ALERT_DELIVERED
#define R ALERT_RETRY
#define G ALERT_GIVE_UP
#define OP "opened"
static const char *const answer_confs[] = {
	[SL] = "{\"type\":\"slack\",\"webhook_url\":\"" SLACK_URL "\"}",
	[IN] = "{\"type\":\"instatus\",\"api_key\":\"k3y-abcdef\",\"page_id\":\"PG\",\"reminders\":true}",
	[WH] = "{\"type\":\"webhook\",\"url\":\"https://x.example/h\"}",
	[EX] = "{\"type\":\"exec\",\"command\":[\"/bin/true\"]}",
};

#define BODY "\r\nbody line\r\nsecond"
#define IERR(m) "{\"error\":{\"code\":\"forbidden\",\"message\":\"" m "\"}}"

/* One answer to one event, and what the channel must make of it. ra and after: 0 stands for none (-1). */
static const struct answer {
	int chan;
	const char *kind, *ref;
	long status;
	const char *body, *error;
	int64_t ra;
	enum alert_verdict verdict;
	const char *why, *ref_out;
	int64_t after;
	bool timed_out;
	int sig;
} answers[] = {
	/* Slack: plain-text bodies (ALERT-APIS.md §1); the URL never shows. */
	{ SL, OP, NULL, 200, "ok", NULL, 0, D, NULL, NULL, 0, false, 0 },
	{ SL, OP, NULL, 200, "ok\n", NULL, 0, D, NULL, NULL, 0, false, 0 },
	{ SL, OP, NULL, 200, "odd", NULL, 0, D, "HTTP 200 odd", NULL, 0, false, 0 },
	{ SL, OP, NULL, 408, "", NULL, 0, G, "HTTP 408", NULL, 0, false, 0 },
	{ SL, OP, NULL, 429, "", NULL, 30000, R, "HTTP 429", NULL, 30000, false, 0 },
	{ SL, OP, NULL, 429, "", NULL, 0, R, "HTTP 429", NULL, 0, false, 0 },
	{ SL, OP, NULL, 500, "rollup_error", NULL, 0, R, "HTTP 500 rollup_error", NULL, 0, false, 0 },
	{ SL, OP, NULL, 502, "", NULL, 0, R, "HTTP 502", NULL, 0, false, 0 },
	{ SL, OP, NULL, 503, "", NULL, 5000, R, "HTTP 503", NULL, 5000, false, 0 },
	{ SL, OP, NULL, 504, "", NULL, 0, R, "HTTP 504", NULL, 0, false, 0 },
	{ SL, OP, NULL, 0, NULL, "Could not connect to " SLACK_URL, 0, R,
	  "no answer: Could not connect to [redacted]", NULL, 0, false, 0 },
	{ SL, OP, NULL, 400, "invalid_blocks", NULL, 0, G, "HTTP 400 invalid_blocks", NULL, 0, false, 0 },
	{ SL, OP, NULL, 400, "invalid_payload", NULL, 0, G, "HTTP 400 invalid_payload", NULL, 0, false, 0 },
	{ SL, OP, NULL, 403, "action_prohibited", NULL, 0, G, "HTTP 403 action_prohibited", NULL, 0, false, 0 },
	{ SL, OP, NULL, 404, "channel_not_found", NULL, 0, G, "HTTP 404 channel_not_found", NULL, 0, false, 0 },
	{ SL, OP, NULL, 410, "channel_is_archived\n", NULL, 0, G, "HTTP 410 channel_is_archived", NULL, 0, false, 0 },
	{ SL, OP, NULL, 418, "teapot " SLACK_URL, NULL, 0, G, "HTTP 418 teapot [redacted]", NULL, 0, false, 0 },
	/* Instatus: creates keep the incident id, updates carry it on, errors read {"error":{...}}. */
	{ IN, OP, NULL, 200, "{\"id\":\"ckf01m59\",\"name\":\"x\"}", NULL, 0, D, NULL, "ckf01m59", 0, false, 0 },
	{ IN, OP, NULL, 200, "{\"name\":\"x\"}", NULL, 0, G, "no incident id in the answer", NULL, 0, false, 0 },
	{ IN, OP, NULL, 200, "not json", NULL, 0, G, "no incident id in the answer", NULL, 0, false, 0 },
	{ IN, OP, NULL, 429, "", NULL, 60000, R, "HTTP 429", NULL, 60000, false, 0 },
	{ IN, OP, NULL, 500, "oops", NULL, 0, R, "HTTP 500 oops", NULL, 0, false, 0 },
	{ IN, OP, NULL, 0, NULL, "timeout", 0, R, "no answer: timeout", NULL, 0, false, 0 },
	{ IN, OP, NULL, 401, IERR("Not authorized"), NULL, 0, G, "HTTP 401 Not authorized", NULL, 0, false, 0 },
	{ IN, OP, NULL, 404, "Not Found", NULL, 0, G, "HTTP 404 Not Found", NULL, 0, false, 0 },
	{ IN, "flapping", NULL, 200, "{\"id\":\"inc9\"}", NULL, 0, D, NULL, "inc9", 0, false, 0 },
	{ IN, "flapping", "inc1", 200, "{\"id\":\"upd5\"}", NULL, 0, D, NULL, "inc1", 0, false, 0 },
	{ IN, "reminder", "inc1", 200, "{}", NULL, 0, D, NULL, "inc1", 0, false, 0 },
	{ IN, "resolved", "inc1", 200, "{}", NULL, 0, D, NULL, NULL, 0, false, 0 },
	{ IN, "resolved", "inc1", 400, IERR("statuses"), NULL, 0, G, "HTTP 400 statuses", NULL, 0, false, 0 },
	{ IN, "test", NULL, 200, "[{\"id\":\"a\"},{\"id\":\"b\"}]", NULL, 0, D, "2 components", NULL, 0, false, 0 },
	{ IN, "test", NULL, 403, IERR("API key does not belong to a user."), NULL, 0, G,
	  "HTTP 403 API key does not belong to a user.", NULL, 0, false, 0 },
	/* Webhook: alert__http_classify. */
	{ WH, OP, NULL, 200, BODY, NULL, 0, D, NULL, NULL, 0, false, 0 },
	{ WH, OP, NULL, 204, BODY, NULL, 0, D, NULL, NULL, 0, false, 0 },
	{ WH, OP, NULL, 429, BODY, NULL, 2000, R, "HTTP 429 body line", NULL, 2000, false, 0 },
	{ WH, OP, NULL, 503, BODY, NULL, 7000, R, "HTTP 503 body line", NULL, 7000, false, 0 },
	{ WH, OP, NULL, 500, BODY, NULL, 7000, R, "HTTP 500 body line", NULL, 0, false, 0 },
	{ WH, OP, NULL, 408, BODY, NULL, 0, R, "HTTP 408 body line", NULL, 0, false, 0 },
	{ WH, OP, NULL, 0, BODY, "Connection refused", 0, R, "no answer: Connection refused", NULL, 0, false, 0 },
	{ WH, OP, NULL, 404, BODY, NULL, 0, G, "HTTP 404 body line", NULL, 0, false, 0 },
	{ WH, OP, NULL, 301, BODY, NULL, 0, G, "HTTP 301 body line", NULL, 0, false, 0 },
	/* Exec: the exit status, stdout's first line in why. */
	{ EX, OP, NULL, 0, NULL, "no such file", 0, G, "could not start: no such file", NULL, 0, false, 0 },
	{ EX, OP, NULL, 0, NULL, NULL, 0, R, "timed out", NULL, 0, .timed_out = true, .sig = 9 },
	{ EX, OP, NULL, 0, NULL, NULL, 0, R, "killed by signal 15", NULL, 0, .sig = 15 },
	{ EX, OP, NULL, 0, "sent\n", NULL, 0, D, NULL, NULL, 0, false, 0 },
	{ EX, OP, NULL, 75, "busy\n", NULL, 0, R, "exited with status 75: busy", NULL, 0, false, 0 },
	{ EX, OP, NULL, 2, "bad token\nmore", NULL, 0, G, "exited with status 2: bad token", NULL, 0, false, 0 },
	{ EX, OP, NULL, 3, NULL, NULL, 0, G, "exited with status 3", NULL, 0, false, 0 },
};
#undef D
#undef R
#undef G
#undef OP

START_TEST(classify_table)
{
	const struct answer *a = &answers[_i];
	struct alert_channel *ch = build_ok(answer_confs[a->chan]);
	json_t *p = mk_payload(a->kind, "e", false);
	struct alert_event ev = mk_event(a->kind, p, a->ref);
	struct alert_response r = mk_resp(a->status, a->body);
	struct alert_outcome out;

	r.error = a->error;
	r.retry_after_ms = a->ra ? a->ra : -1;
	r.timed_out = a->timed_out;
	r.term_signal = a->sig;
	alert__channel_classify(ch, &ev, &r, &out);
	ck_assert_msg(out.verdict == a->verdict, "row %d: verdict %d", _i, out.verdict);
	ck_assert_int_eq(out.retry_after_ms, a->after ? a->after : -1);
	if (a->why)
		ck_assert_str_eq(out.why, a->why);
	else
		ck_assert_ptr_null(out.why);
	if (a->ref_out)
		ck_assert_str_eq(out.ref, a->ref_out);
	else
		ck_assert_ptr_null(out.ref);
	alert__outcome_clear(&out);
	json_decref(p);
	alert__channel_free(ch);
}
END_TEST

/* ------------------------------------------------------------------ helpers */

START_TEST(truncate_keeps_utf8_whole)
{
	char *s;

	ck_assert_str_eq((s = alert__truncate("short", 5)), "short");
	free(s);
	ck_assert_str_eq((s = alert__truncate("abcdef", 5)), "ab\xe2\x80\xa6");
	free(s);
	ck_assert_str_eq((s = alert__truncate("\xc3\xa9\xc3\xa9\xc3\xa9", 6)), "\xc3\xa9\xc3\xa9\xc3\xa9");
	free(s);
	ck_assert_str_eq((s = alert__truncate("\xc3\xa9\xc3\xa9\xc3\xa9", 5)), "\xc3\xa9\xe2\x80\xa6");
	free(s);
	ck_assert_str_eq((s = alert__truncate("\xc3\xa9\xc3\xa9\xc3\xa9", 4)), "\xe2\x80\xa6");
	free(s);
	ck_assert_str_eq((s = alert__truncate("abcdef", 2)), "ab");
	free(s);
	ck_assert_str_eq((s = alert__truncate("\xc3\xa9z", 1)), "");
	free(s);
	/* Every cut of a string mixing 1- to 4-byte characters is valid UTF-8 within the limit. */
	const char *mix = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x94\xa5" "b\xf0\x9f\x94\xa5\xe2\x82\xac\xc3\xa9z";
	for (size_t max = 0; max <= strlen(mix) + 1; max++) {
		s = alert__truncate(mix, max);
		ck_assert_int_le(strlen(s), max);
		ck_assert_msg(utf8_ok(s), "max %zu", max);
		if (max >= strlen(mix))
			ck_assert_str_eq(s, mix);
		else if (max >= 3)
			ck_assert_str_eq(s + strlen(s) - 3, "\xe2\x80\xa6");
		free(s);
	}
}
END_TEST

START_TEST(scrub_replaces_secrets)
{
	const char *const global[] = { "abcd", "abc", NULL, "abcdefgh" };
	struct alert_secrets sec = { global, 4 };
	struct alert_channel *ch = build_ok("{\"type\":\"slack\",\"webhook_url\":\"" SLACK_URL "\"}");
	char *s = strdup("x abcdefgh abcd ab abc " SLACK_URL " abcd");

	s = alert__scrub(s, &sec, ch);
	ck_assert_str_eq(s, "x [redacted] [redacted] ab abc [redacted] [redacted]");
	free(s);
	s = alert__scrub(strdup("nothing here"), &sec, NULL);
	ck_assert_str_eq(s, "nothing here");
	free(s);
	ck_assert_ptr_null(alert__scrub(NULL, &sec, ch));
	s = alert__scrub(strdup("abcd"), NULL, NULL);
	ck_assert_str_eq(s, "abcd");
	free(s);
	alert__channel_free(ch);
}
END_TEST

START_TEST(times_and_spans)
{
	char buf[64];

	ck_assert_str_eq(alert__fmt_time(T0, buf, sizeof(buf)), "2026-11-21 14:02:05 UTC");
	ck_assert_str_eq(alert__fmt_iso(T0 + 999, buf, sizeof(buf)), "2026-11-21T14:02:05Z");
	ck_assert_str_eq(alert__fmt_iso(0, buf, sizeof(buf)), "1970-01-01T00:00:00Z");
	ck_assert_str_eq(alert__fmt_iso(-1, buf, sizeof(buf)), "1969-12-31T23:59:59Z");
	static const struct {
		int64_t ms;
		const char *want;
	} spans[] = {
		{ 0, "0s" },           { 999, "0s" },         { 45000, "45s" },       { 60000, "1m" },
		{ 432000, "7m 12s" },  { 3720000, "1h 2m" },  { 3600000, "1h" },      { 3659000, "1h" },
		{ 183600000, "2d 3h" }, { 86400000, "1d" },   { -5000, "0s" },
	};
	for (size_t i = 0; i < sizeof(spans) / sizeof(spans[0]); i++)
		ck_assert_str_eq(alert__fmt_span(spans[i].ms, buf, sizeof(buf)), spans[i].want);
}
END_TEST

START_TEST(payload_accessors_and_why)
{
	json_t *o = json_pack("{s:s, s:I, s:f, s:b, s:n}", "s", "v", "i", (json_int_t)5000000000LL, "r", 1.5, "b", 1,
			      "n");
	char long_body[600];

	ck_assert_str_eq(alert__str(o, "s"), "v");
	ck_assert_str_eq(alert__str(o, "n"), "");
	ck_assert_str_eq(alert__str(NULL, "s"), "");
	ck_assert_int_eq(alert__int(o, "i"), 5000000000LL);
	ck_assert_int_eq(alert__int(o, "r"), 1);
	ck_assert_int_eq(alert__int(o, "missing"), 0);
	ck_assert(alert__real(o, "r") == 1.5 && alert__real(o, "i") == 5e9 && alert__real(o, "s") == 0);
	ck_assert(alert__bool(o, "b") && !alert__bool(o, "s") && !alert__bool(NULL, "b"));
	json_decref(o);

	memset(long_body, 'x', sizeof(long_body));
	struct alert_response r = { NULL, 400, 0, false, long_body, sizeof(long_body), -1 };
	char *why = alert__http_why(&r);
	ck_assert_int_le(strlen(why), strlen("HTTP 400 ") + 200);
	free(why);
	r.body_len = 0;
	ck_assert_str_eq((why = alert__http_why(&r)), "HTTP 400");
	free(why);
	r.body = "bad\tthing\x01\nnext";
	r.body_len = strlen(r.body);
	ck_assert_str_eq((why = alert__http_why(&r)), "HTTP 400 bad thing ");
	free(why);
}
END_TEST

START_TEST(wrappers_keep_their_contract)
{
	struct alert_response r = mk_resp(0, NULL);
	struct alert_outcome out;

	/* An unknown event kind is skipped with a reason, leaving req empty. */
	cur.ch = slack();
	ck_assert_ptr_null(go("escalated", mk_payload("opened", "e", false), NULL));
	ck_assert(strstr(cur.why, "escalated"));
	ck_assert_ptr_null(cur.req.body);
	/* Clearing twice, or something never filled, is harmless. */
	alert__request_clear(&cur.req);
	alert__request_clear(NULL);
	memset(&out, 0x5a, sizeof(out));
	out.why = NULL, out.ref = NULL;
	alert__outcome_clear(&out);
	ck_assert_int_eq(out.retry_after_ms, -1);
	alert__outcome_clear(NULL);
	/* A transport error quoting the webhook URL never reaches why. */
	struct alert_event ev = mk_event("opened", cur.payload, NULL);
	r.error = "Failed to connect to " SLACK_URL;
	alert__channel_classify(cur.ch, &ev, &r, &out);
	ck_assert_int_eq(out.verdict, ALERT_RETRY);
	ck_assert_ptr_null(strstr(out.why, "sEcReT"));
	alert__outcome_clear(&out);
}
END_TEST

/* ------------------------------------------------------------------ suite */

Suite *channels_suite(void)
{
	Suite *s = suite_create("channels");
	TCase *tc;

	tc = tcase_create("config");
	tcase_add_test(tc, valid_configs_build);
	tcase_add_test(tc, every_problem_is_reported);
	tcase_add_test(tc, secrets_stay_out_of_messages);
	tcase_add_test(tc, channel_secrets_are_recorded);
	tcase_add_test(tc, type_specific_problems);
	tcase_add_test(tc, check_builds_and_frees);
	suite_add_tcase(s, tc);

	tc = tcase_create("render");
	tcase_add_checked_fixture(tc, render_setup, render_teardown);
	tcase_add_test(tc, slack_opened);
	tcase_add_test(tc, slack_huge_error_within_limits);
	tcase_add_test(tc, slack_long_probe_name_and_escaping);
	tcase_add_test(tc, slack_reminder_resolved_flapping_test);
	tcase_add_test(tc, instatus_opened);
	tcase_add_test(tc, instatus_reminder_and_resolved);
	tcase_add_test(tc, instatus_flapping_and_test);
	tcase_add_test(tc, webhook_sends_the_payload);
	tcase_add_test(tc, exec_renders_argv_and_stdin);
	tcase_add_test(tc, wrappers_keep_their_contract);
	suite_add_tcase(s, tc);

	tc = tcase_create("classify");
	tcase_add_loop_test(tc, classify_table, 0, sizeof(answers) / sizeof(answers[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("helpers");
	tcase_add_test(tc, truncate_keeps_utf8_whole);
	tcase_add_test(tc, scrub_replaces_secrets);
	tcase_add_test(tc, times_and_spans);
	tcase_add_test(tc, payload_accessors_and_why);
	suite_add_tcase(s, tc);
	return s;
}
