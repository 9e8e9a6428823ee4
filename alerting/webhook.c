/* webhook.c - the "webhook" channel type: the event object as JSON, sent to a URL of the user's. */
#include "alerting/alert_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct webhook_channel {
	struct alert_channel super;
	char *url;          /* owned; also in super.secrets (it may carry a token) */
	char *method;       /* owned: "POST" or "PUT" */
	char **headers;     /* owned: "Name: value" lines; the values are secrets */
	size_t nheaders;
	bool content_type;  /* the user set Content-Type: do not send ours too */
};

#define WEBHOOK(ch) alert__container_of(ch, struct webhook_channel, super)

static const char *const webhook_keys[] = { "url", "headers", "method", NULL };

/* RFC 9110 token characters, what a header name is made of. */
static bool is_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      (*s && strchr("!#$%&'*+-.^_`|~", *s))))
			return false;
	return true;
}

/* A value must not smuggle in another header (CR, LF) or end early (NUL). */
static bool value_ok(const json_t *v)
{
	const char *s = json_string_value(v);

	return s && strlen(s) == json_string_length(v) && strpbrk(s, "\r\n") == NULL;
}

/* Checks and copies "headers"; every value becomes a secret of ch. */
static int read_headers(struct webhook_channel *wc, const json_t *v, alert_err_fn err, void *ctx)
{
	const char *name;
	json_t *val;
	int rc = 0;

	if (!json_is_object(v)) {
		alert__errf(err, ctx, "headers", NULL, "\"headers\" must be an object of header names to values");
		return -EINVAL;
	}
	json_object_foreach((json_t *)v, name, val) {
		if (!is_token(name)) {
			alert__errf(err, ctx, "headers", name, "\"%s\" is not a valid header name", name);
			rc = -EINVAL;
		} else if (!value_ok(val)) {
			/* The value is a secret: name the header, never quote the value. */
			alert__errf(err, ctx, "headers", name,
				    "the value of header \"%s\" must be a string without line breaks", name);
			rc = -EINVAL;
		}
	}
	if (rc < 0)
		return rc;
	wc->headers = calloc(json_object_size(v) + 1, sizeof(*wc->headers));
	if (wc->headers == NULL)
		return -ENOMEM;
	json_object_foreach((json_t *)v, name, val) {
		const char *s = json_string_value(val);
		char *line = alert__strf("%s: %s", name, s);
		if (line == NULL || alert__channel_secret(&wc->super, s) < 0) {
			free(line);
			return -ENOMEM;
		}
		wc->headers[wc->nheaders++] = line;
		if (strcasecmp(name, "Content-Type") == 0)
			wc->content_type = true;
	}
	return 0;
}

static int webhook_create(struct alert_channel *ch, const json_t *conf, alert_err_fn err, void *ctx)
{
	struct webhook_channel *wc = WEBHOOK(ch);
	const char *url, *method;
	json_t *headers = json_object_get(conf, "headers");
	int rc = 0;

	if (alert__conf_url(conf, "url", true, &url, err, ctx) < 0)
		rc = -EINVAL;
	if (alert__conf_str(conf, "method", false, &method, err, ctx) < 0) {
		rc = -EINVAL;
	} else if (method && strcmp(method, "POST") != 0 && strcmp(method, "PUT") != 0) {
		alert__errf(err, ctx, "method", NULL, "\"method\" must be \"POST\" or \"PUT\", not \"%s\"", method);
		rc = -EINVAL;
	}
	if (headers) {
		int hrc = read_headers(wc, headers, err, ctx);
		if (hrc == -ENOMEM)
			return hrc;
		if (hrc < 0)
			rc = hrc;
	}
	if (rc < 0)
		return rc;
	wc->url = strdup(url);
	wc->method = strdup(method ? method : "POST");
	if (!wc->url || !wc->method || alert__channel_secret(ch, url) < 0)
		return -ENOMEM;
	return 0;
}

static void webhook_destroy(struct alert_channel *ch)
{
	struct webhook_channel *wc = WEBHOOK(ch);

	free(wc->url);
	free(wc->method);
	for (size_t i = 0; i < wc->nheaders; i++)
		free(wc->headers[i]);
	free(wc->headers);
}

/* Every event goes out as it is: the payload is the documented interface. */
static int webhook_render(struct alert_channel *ch, const struct alert_event *ev, struct alert_request *req,
			  char **why)
{
	struct webhook_channel *wc = WEBHOOK(ch);

	(void)why;
	req->kind = ALERT_REQ_HTTP;
	req->method = strdup(wc->method);
	req->url = strdup(wc->url);
	if (!req->method || !req->url)
		return -ENOMEM;
	if (!wc->content_type && alert__req_header(req, "Content-Type", "application/json") < 0)
		return -ENOMEM;
	for (size_t i = 0; i < wc->nheaders; i++) {
		char **v = realloc(req->headers, (req->nheaders + 1) * sizeof(*v));
		if (v == NULL)
			return -ENOMEM;
		req->headers = v;
		if ((v[req->nheaders] = strdup(wc->headers[i])) == NULL)
			return -ENOMEM;
		req->nheaders++;
	}
	return alert__req_json(req, ev->payload);
}

static void webhook_classify(struct alert_channel *ch, const struct alert_event *ev,
			     const struct alert_response *resp, struct alert_outcome *out)
{
	(void)ch;
	(void)ev;
	alert__http_classify(resp, out);
}

const struct alert_channel_type alert__webhook_type = {
	.version = ALERT__TYPE_VERSION,
	.name = "webhook",
	.size = sizeof(struct webhook_channel),
	.rate_per_min = 60,
	.keys = webhook_keys,
	.create = webhook_create,
	.render = webhook_render,
	.classify = webhook_classify,
	.destroy = webhook_destroy,
};
