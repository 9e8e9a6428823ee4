/* test.c - `canary alert test`: one test event through one channel, now, on a loop of its own. */
#include "alerting/alert_int.h"

#include <stdlib.h>
#include <string.h>

struct test_run {
	struct alert_channel *ch;
	const struct alert_secrets *secrets;
	struct alert_event ev;
	FILE *out;
	int status;                /* alert_test's return */
};

static void print_scrubbed(struct test_run *t, const char *fmt, const char *a, const char *b)
{
	char *line = NULL;

	if (asprintf(&line, fmt, a, b) < 0)
		return;
	line = alert__scrub(line, t->secrets, t->ch);
	if (line)
		fputs(line, t->out);
	free(line);
}

static void on_answer(const struct alert_response *resp, void *arg)
{
	struct test_run *t = arg;
	struct alert_outcome out = { .retry_after_ms = -1 };
	char status[32], *body = NULL;

	alert__channel_classify(t->ch, &t->ev, resp, &out);
	if (resp->error || resp->timed_out) {
		print_scrubbed(t, "no answer: %s%s\n", resp->error ? resp->error : "timed out", "");
	} else {
		snprintf(status, sizeof(status), "%ld", resp->status);
		char *raw = strndup(resp->body ? resp->body : "", resp->body_len);
		body = raw ? alert__truncate(raw, 500) : NULL;
		print_scrubbed(t, "answer: %s %s\n", status, body ? body : "");
		free(raw);
		free(body);
	}
	if (out.verdict == ALERT_DELIVERED) {
		print_scrubbed(t, "channel %s took the test event%s\n", t->ch->name, "");
		t->status = 0;
	} else {
		print_scrubbed(t, "channel %s did not take it: %s\n", t->ch->name,
			       out.why ? out.why : (out.verdict == ALERT_RETRY ? "it would be retried" : "refused"));
		t->status = 1;
	}
	alert__outcome_clear(&out);
}

static void on_engine_closed(void *arg)
{
	(void)arg;
}

static json_t *test_payload(const char *name)
{
	char buf[32];
	int64_t now = probe_now_ms();

	return json_pack("{si ss si ss sI s{ss so s[]} so}", "version", ALERT__EVENT_VERSION, "event", "test",
			 "event_id", 0, "created", alert__fmt_iso(now, buf, sizeof(buf)), "created_ms",
			 (json_int_t)now, "probe", "name", "canary-test", "description",
			 json_sprintf("a test of channel %s", name), "tags", "incident", json_null());
}

/* Renders and sends; returns alert_test's status. */
static int run_test(struct test_run *t)
{
	struct alert_request req = { 0 };
	struct probe_engine *e = NULL;
	uv_loop_t loop;
	char *why = NULL;
	int rc;

	rc = alert__channel_render(t->ch, &t->ev, &req, &why);
	if (rc != 0) {
		print_scrubbed(t, "channel %s sends nothing for a test: %s\n", t->ch->name,
			       rc == ALERT__SKIP && why ? why : "cannot build the message");
		free(why);
		return 1;
	}
	if (uv_loop_init(&loop) < 0 || probe_engine_new(&loop, &e) < 0) {
		alert__request_clear(&req);
		return 2;
	}
	t->status = 1;
	rc = alert__send_start(&loop, e, &req, t->ch->timeout_ms, on_answer, t, NULL);
	alert__request_clear(&req);
	if (rc < 0)
		print_scrubbed(t, "cannot send: %s%s\n", uv_strerror(rc), "");
	uv_run(&loop, UV_RUN_DEFAULT);
	probe_engine_close(e, on_engine_closed, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	return t->status;
}

static void on_err(const char *path, const char *msg, void *ctx)
{
	FILE *out = ctx;

	fprintf(out, "%s%s%s\n", path, path[0] ? ": " : "", msg);
}

int alert_test(const json_t *channels, const char *name, const struct alert_secrets *secrets, FILE *out)
{
	struct test_run t = { .secrets = secrets, .out = out, .status = 2 };
	const json_t *conf = json_object_get(channels, name);
	json_t *payload = NULL;

	if (conf == NULL) {
		fprintf(out, "no channel named \"%s\"\n", name);
		return 2;
	}
	if (alert__channel_new(name, conf, on_err, out, &t.ch) < 0)
		return 2;
	payload = test_payload(name);
	t.ev = (struct alert_event){ .kind = "test", .probe = "canary-test", .payload = payload };
	t.status = payload ? run_test(&t) : 2;
	json_decref(payload);
	alert__channel_free(t.ch);
	return t.status;
}
