/* slack.c - the "slack" channel type: Block Kit messages posted to an incoming webhook. */
#include "alerting/alert_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Block Kit limits (ALERT-APIS.md §1), in bytes, which never count fewer than Slack's characters. */
#define HEADER_MAX 150
#define SECTION_MAX 3000
#define FIELD_MAX 2000
/* Enough of the error for a notification line; the blocks carry the rest. */
#define FALLBACK_ERR_MAX 500
/* Mentions are short ("<!here>", "<@U024BE7LH>", "<!subteam^SAZ94GDB8>"); a cap keeps the section within limits. */
#define MENTION_MAX 200
#define ELLIPSIS "\xe2\x80\xa6"

struct slack_channel {
	struct alert_channel super;
	char *url;       /* owned; the credential itself, also in super.secrets */
	char *mention;   /* owned or NULL: raw mrkdwn such as "<!here>" */
};

#define SLACK(ch) alert__container_of(ch, struct slack_channel, super)

static const char *const slack_keys[] = { "webhook_url", "mention", NULL };

/* What one event becomes: the notification fallback and the blocks. */
struct slack_msg {
	char *text;      /* owned */
	json_t *blocks;  /* owned, or NULL for a plain text message */
};

/* ------------------------------------------------------------------ text */

/* Slack's mrkdwn reads &, < and > as markup (links, mentions); they must be escaped. */
static size_t esc_len(unsigned char c)
{
	return c == '&' ? 5 : (c == '<' || c == '>') ? 4 : 1;
}

/*
 * s escaped for mrkdwn in at most max bytes: cut between characters, never
 * inside an entity or a UTF-8 sequence, ending in "…" when cut. New string.
 */
static char *mrk(const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t total = 0;

	for (const unsigned char *q = p; *q; q++)
		total += esc_len(*q);
	size_t budget = total <= max ? total : max >= 3 ? max - 3 : 0;
	char *out = malloc(budget + 4), *o = out;
	if (out == NULL)
		return NULL;
	while (*p) {
		size_t clen = 1, need = esc_len(*p);
		while (clen < 4 && (p[clen] & 0xC0) == 0x80)
			need += esc_len(p[clen++]);
		if ((size_t)(o - out) + need > budget)
			break;
		for (size_t i = 0; i < clen; i++, p++) {
			const char *e = *p == '&' ? "&amp;" : *p == '<' ? "&lt;" : *p == '>' ? "&gt;" : NULL;
			if (e)
				o = stpcpy(o, e);
			else
				*o++ = (char)*p;
		}
	}
	*o = '\0';
	if (total > max && max >= 3)
		strcpy(o, ELLIPSIS);
	return out;
}

/* ------------------------------------------------------------------ blocks */

static int push(json_t *arr, json_t *v)
{
	return v && json_array_append_new(arr, v) == 0 ? 0 : -ENOMEM;
}

/* A plain_text header "LABEL: probe", cut to the header limit. */
static json_t *header_block(const char *label, const char *probe)
{
	char *t = alert__strf("%s: %s", label, probe), *cut = t ? alert__truncate(t, HEADER_MAX) : NULL;
	json_t *b = json_pack("{s:s, s:{s:s, s:s, s:b}}", "type", "header", "text", "type", "plain_text",
			      "text", cut, "emoji", 1);
	free(t);
	free(cut);
	return b;
}

/* A section of mrkdwn text (stolen; already escaped and within the limit) with fields (stolen, may be NULL). */
static json_t *section_block(char *text, json_t *fields)
{
	json_t *b = json_pack("{s:s}", "type", "section");

	if (b && text && json_object_set_new(b, "text", json_pack("{s:s, s:s}", "type", "mrkdwn", "text", text)))
		b = (json_decref(b), NULL);
	if (b && fields && json_object_set(b, "fields", fields))
		b = (json_decref(b), NULL);
	free(text);
	json_decref(fields);
	return b;
}

/* Appends a "*Title*\nvalue" field, value escaped and cut so that the whole stays within the limit. */
static int add_field(json_t *fields, const char *title, const char *value)
{
	char *v = mrk(value, FIELD_MAX - strlen(title) - 3);
	char *t = v ? alert__strf("*%s*\n%s", title, v) : NULL;
	int rc = t ? push(fields, json_pack("{s:s, s:s}", "type", "mrkdwn", "text", t)) : -ENOMEM;

	free(v);
	free(t);
	return rc;
}

/* "*Title*" then err in a code block, cut so that the closing ``` always survives. */
static json_t *code_block(const char *title, const char *err)
{
	char *raw = strdup(*err ? err : "(no message)"), *body = NULL, *text = NULL;

	/* A backtick could close the block early; Slack has no escape for it. */
	for (char *p = raw; p && *p; p++)
		if (*p == '`')
			*p = '\'';
	if (raw)
		body = mrk(raw, SECTION_MAX - strlen(title) - sizeof("**\n```\n\n```"));
	if (body)
		text = alert__strf("*%s*\n```\n%s\n```", title, body);
	free(raw);
	free(body);
	return text ? section_block(text, NULL) : NULL;
}

static json_t *context_block(const struct alert_event *ev)
{
	char *t = alert__strf("canary incident #%" PRId64 " \xc2\xb7 event %" PRId64, ev->incident_id, ev->id);
	json_t *b = json_pack("{s:s, s:[{s:s, s:s}]}", "type", "context", "elements", "type", "mrkdwn", "text", t);

	free(t);
	return b;
}

/* ------------------------------------------------------------------ events */

/* The fields of an open incident; last picks the latest failure's class over the first's. */
static json_t *down_fields(const json_t *payload, bool last)
{
	const json_t *inc = json_object_get(payload, "incident");
	const json_t *tags = json_object_get(json_object_get(payload, "probe"), "tags");
	const char *step = alert__str(inc, "failed_step");
	const char *cls = alert__str(inc, last ? "last_error_class" : "error_class");
	char since[64], ago[32], detected[64], num[64], list[FIELD_MAX + 1] = "";
	json_t *f = json_array(), *tag;
	size_t i;
	int rc = 0;

	if (*cls == '\0')
		cls = alert__str(inc, "error_class");
	alert__fmt_time(alert__int(inc, "started_ms"), since, sizeof(since));
	alert__fmt_span(alert__int(inc, "duration_s") * 1000, ago, sizeof(ago));
	alert__fmt_time(alert__int(inc, "detected_ms"), detected, sizeof(detected));
	rc |= add_field(f, "Failing step", *step ? step : "-");
	rc |= add_field(f, "Error class", alert__bool(inc, "slow") ? "slow (only latency assertions failed)" : cls);
	char *s = alert__strf("%s (%s ago)", since, ago);
	rc |= s ? add_field(f, "Since", s) : -ENOMEM;
	free(s);
	rc |= add_field(f, "Detected", detected);
	snprintf(num, sizeof(num), "%.0f ms", alert__real(inc, "latency_ms"));
	rc |= add_field(f, "Latency", num);
	snprintf(num, sizeof(num), "%" PRId64, alert__int(inc, "failed_runs"));
	rc |= add_field(f, "Failed runs", num);
	json_array_foreach(tags, i, tag)
		if (json_is_string(tag) && strlen(list) + json_string_length(tag) + 2 < sizeof(list))
			snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", *list ? ", " : "",
				 json_string_value(tag));
	if (*list)
		rc |= add_field(f, "Tags", list);
	if (rc != 0 || f == NULL)
		f = (json_decref(f), NULL);
	return f;
}

/* opened and reminder: what fails, since when, and the error. */
static int render_down(struct slack_channel *sc, const struct alert_event *ev, const char *probe, bool reminder,
		       struct slack_msg *m)
{
	const json_t *inc = json_object_get(ev->payload, "incident");
	const char *err = alert__str(inc, reminder ? "last_error" : "error");
	const char *men = !reminder && sc->mention ? sc->mention : NULL, *sp = men ? " " : "";
	char since[64], span[32], *p = mrk(probe, 200), *e = NULL, *lead = NULL;
	int rc = 0;

	if (reminder && *err == '\0')
		err = alert__str(inc, "error");
	alert__fmt_time(alert__int(inc, "started_ms"), since, sizeof(since));
	alert__fmt_span(alert__int(inc, "duration_s") * 1000, span, sizeof(span));
	e = mrk(err, FALLBACK_ERR_MAX);
	if (p && e && reminder) {
		m->text = alert__strf("STILL DOWN %s for %s: %s", p, span, e);
		lead = alert__strf("*%s* has been down for %s (reminder %" PRId64 ").", p, span,
				   alert__int(ev->payload, "reminder"));
	} else if (p && e) {
		m->text = alert__strf("%s%sDOWN %s: %s (since %s)", men ? men : "", sp, p, e, since);
		lead = alert__strf("%s%s*%s* is failing since %s.", men ? men : "", sp, p, since);
	}
	json_t *fields = down_fields(ev->payload, reminder);
	bool ok = m->text && lead && fields;
	m->blocks = json_array();
	/* push and section_block take what they are given even when they fail. */
	rc |= push(m->blocks, header_block(reminder ? "\xf0\x9f\x94\xb4 STILL DOWN" : "\xf0\x9f\x94\xb4 DOWN", probe));
	rc |= push(m->blocks, section_block(lead, fields));
	rc |= push(m->blocks, code_block(reminder ? "Latest error" : "Error", err));
	rc |= push(m->blocks, context_block(ev));
	free(p);
	free(e);
	return ok ? rc : -ENOMEM;
}

/* "from 14:02:05 to 14:09:17 UTC", with dates when the two are on different days. */
static void fmt_range(int64_t from_ms, int64_t to_ms, char *buf, size_t size)
{
	char a[64], b[64];

	alert__fmt_time(from_ms, a, sizeof(a));
	alert__fmt_time(to_ms, b, sizeof(b));
	/* "YYYY-MM-DD HH:MM:SS UTC": the date is the first 10 bytes, the time the 8 from offset 11. */
	if (strlen(a) >= 19 && strlen(b) >= 19 && memcmp(a, b, 10) == 0)
		snprintf(buf, size, "from %.8s to %.8s UTC", a + 11, b + 11);
	else
		snprintf(buf, size, "from %.19s to %s", a, b);
}

static int render_resolved(const struct alert_event *ev, const char *probe, struct slack_msg *m)
{
	const json_t *inc = json_object_get(ev->payload, "incident");
	char span[32], range[128], num[32], *p = mrk(probe, 200), *lead;
	json_t *fields = json_array();
	int rc = 0;

	alert__fmt_span(alert__int(inc, "duration_s") * 1000, span, sizeof(span));
	fmt_range(alert__int(inc, "started_ms"), alert__int(inc, "resolved_ms"), range, sizeof(range));
	snprintf(num, sizeof(num), "%" PRId64, alert__int(inc, "failed_runs"));
	m->text = p ? alert__strf("RESOLVED %s after %s", p, span) : NULL;
	lead = p ? alert__strf("*%s* is passing again. Down for %s, %s.", p, span, range) : NULL;
	rc |= add_field(fields, "Failed runs", num);
	const char *cls = alert__str(inc, "error_class");
	rc |= add_field(fields, "First error class", *cls ? cls : "-");
	if (*alert__str(inc, "failed_step"))
		rc |= add_field(fields, "Failing step", alert__str(inc, "failed_step"));
	bool ok = m->text && lead && fields;
	m->blocks = json_array();
	rc |= push(m->blocks, header_block("\xe2\x9c\x85 RESOLVED", probe));
	rc |= push(m->blocks, section_block(lead, fields));
	rc |= push(m->blocks, code_block("First error", alert__str(inc, "error")));
	rc |= push(m->blocks, context_block(ev));
	free(p);
	return ok ? rc : -ENOMEM;
}

static int render_flapping(const struct alert_event *ev, const char *probe, struct slack_msg *m)
{
	const json_t *flap = json_object_get(ev->payload, "flapping");
	int64_t changes = alert__int(flap, "changes");
	char window[32], *p = mrk(probe, 200), *lead;
	int rc = 0;

	alert__fmt_span(alert__int(flap, "window_s") * 1000, window, sizeof(window));
	m->text = p ? alert__strf("FLAPPING %s: changed state %" PRId64 " times in %s", p, changes, window) : NULL;
	lead = p ? alert__strf("*%s* changed state %" PRId64 " times in the last %s. Open and resolve alerts for it "
			       "are paused until it stays stable for a whole window (%s).",
			       p, changes, window, window)
		 : NULL;
	bool ok = m->text && lead;
	m->blocks = json_array();
	rc |= push(m->blocks, header_block("\xf0\x9f\x9f\xa1 FLAPPING", probe));
	rc |= push(m->blocks, section_block(lead, NULL));
	rc |= push(m->blocks, context_block(ev));
	free(p);
	return ok ? rc : -ENOMEM;
}

/* ------------------------------------------------------------------ methods */

static int slack_create(struct alert_channel *ch, const json_t *conf, alert_err_fn err, void *ctx)
{
	struct slack_channel *sc = SLACK(ch);
	const char *url, *mention;
	int rc = 0;

	if (alert__conf_url(conf, "webhook_url", true, &url, err, ctx) < 0)
		rc = -EINVAL;
	if (alert__conf_str(conf, "mention", false, &mention, err, ctx) < 0) {
		rc = -EINVAL;
	} else if (mention && strlen(mention) > MENTION_MAX) {
		/* It goes into a section whose text has a limit of its own. */
		alert__errf(err, ctx, "mention", NULL, "\"mention\" must be at most %d bytes", MENTION_MAX);
		rc = -EINVAL;
		mention = NULL;
	}
	if (url && ((sc->url = strdup(url)) == NULL || alert__channel_secret(ch, url) < 0))
		return -ENOMEM;
	if (mention && (sc->mention = strdup(mention)) == NULL)
		return -ENOMEM;
	return rc;
}

static void slack_destroy(struct alert_channel *ch)
{
	struct slack_channel *sc = SLACK(ch);

	free(sc->url);
	free(sc->mention);
}

static int slack_render(struct alert_channel *ch, const struct alert_event *ev, struct alert_request *req,
			char **why)
{
	struct slack_channel *sc = SLACK(ch);
	const char *probe = ev->probe ? ev->probe : alert__str(json_object_get(ev->payload, "probe"), "name");
	struct slack_msg m = { NULL, NULL };
	json_t *body = NULL;
	int rc;

	if (strcmp(ev->kind, "opened") == 0 || strcmp(ev->kind, "reminder") == 0) {
		rc = render_down(sc, ev, probe, strcmp(ev->kind, "reminder") == 0, &m);
	} else if (strcmp(ev->kind, "resolved") == 0) {
		rc = render_resolved(ev, probe, &m);
	} else if (strcmp(ev->kind, "flapping") == 0) {
		rc = render_flapping(ev, probe, &m);
	} else if (strcmp(ev->kind, "test") == 0) {
		char *name = mrk(ch->name, 200);
		m.text = name ? alert__strf("canary test message for channel %s", name) : NULL;
		free(name);
		rc = m.text ? 0 : -ENOMEM;
	} else {
		*why = alert__strf("slack has no message for \"%s\" events", ev->kind);
		return ALERT__SKIP;
	}
	if (rc == 0)
		body = m.blocks ? json_pack("{s:s, s:O}", "text", m.text, "blocks", m.blocks)
				: json_pack("{s:s}", "text", m.text);
	if (rc == 0 && body == NULL)
		rc = -ENOMEM;
	if (rc == 0 && ((req->method = strdup("POST")) == NULL || (req->url = strdup(sc->url)) == NULL ||
			alert__req_header(req, "Content-Type", "application/json; charset=utf-8") < 0 ||
			alert__req_json(req, body) < 0))
		rc = -ENOMEM;
	req->kind = ALERT_REQ_HTTP;
	free(m.text);
	json_decref(m.blocks);
	json_decref(body);
	return rc;
}

/* Slack answers in plain text; only 200 "ok" is a clean success (ALERT-APIS.md §1). */
static void slack_classify(struct alert_channel *ch, const struct alert_event *ev,
			   const struct alert_response *resp, struct alert_outcome *out)
{
	long s = resp->status;

	size_t len = resp->body_len;

	(void)ch;
	(void)ev;
	if (resp->error || s == 0 || s == 429 || s >= 500) {
		/* No answer, rate limit (Retry-After honoured) or Slack's own trouble. */
		alert__http_classify(resp, out);
		return;
	}
	if (s == 200) {
		out->verdict = ALERT_DELIVERED;
		while (len > 0 && (resp->body[len - 1] == '\n' || resp->body[len - 1] == '\r'))
			len--;
		/* Delivered all the same, but an unexpected answer is worth a line in the log. */
		if (len != 2 || memcmp(resp->body, "ok", 2) != 0)
			out->why = alert__http_why(resp);
		return;
	}
	/* Slack says any other status is a failure: 4xx errors and odd 2xx/3xx will not fix themselves. */
	out->verdict = ALERT_GIVE_UP;
	out->why = alert__http_why(resp);
}

const struct alert_channel_type alert__slack_type = {
	.version = ALERT__TYPE_VERSION,
	.name = "slack",
	.size = sizeof(struct slack_channel),
	.rate_per_min = 20,
	.keys = slack_keys,
	.create = slack_create,
	.render = slack_render,
	.classify = slack_classify,
	.destroy = slack_destroy,
};
