/* instatus.c - the "instatus" channel type: incidents and their updates on an Instatus status page. */
#include "alerting/alert_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_API_URL "https://api.instatus.com"
/* The status page is public: a short version of the error is enough there. */
#define PAGE_ERR_MAX 500

struct instatus_channel {
	struct alert_channel super;
	char *api_url;       /* owned, without a trailing slash */
	char *api_key;       /* owned; also in super.secrets */
	char *page_id;       /* owned */
	json_t *components;  /* owned copy: probe name or tag -> component id; NULL when none */
	bool reminders;      /* post an update on reminder events */
	bool notify;         /* let Instatus notify the page's subscribers */
};

#define INSTATUS(ch) alert__container_of(ch, struct instatus_channel, super)

static const char *const instatus_keys[] = { "api_url", "api_key", "page_id", "components", "reminders", "notify",
					     NULL };

/* ------------------------------------------------------------------ config */

/* Page ids go into URL paths; Instatus mints them from letters and digits. */
static bool id_ok(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-' ||
		      *s == '_'))
			return false;
	return true;
}

/* Checks "components": an object of non-empty strings. */
static int check_components(const json_t *v, alert_err_fn err, void *ctx)
{
	const char *key;
	json_t *id;
	int rc = 0;

	if (!json_is_object(v)) {
		alert__errf(err, ctx, "components", NULL,
			    "\"components\" must be an object mapping probe names or tags to component ids");
		return -EINVAL;
	}
	json_object_foreach((json_t *)v, key, id) {
		if (!json_is_string(id) || json_string_length(id) == 0) {
			alert__errf(err, ctx, "components", key,
				    "the component id for \"%s\" must be a non-empty string", key);
			rc = -EINVAL;
		}
	}
	return rc;
}

static int instatus_create(struct alert_channel *ch, const json_t *conf, alert_err_fn err, void *ctx)
{
	struct instatus_channel *ic = INSTATUS(ch);
	const char *key, *page, *url;
	json_t *comp = json_object_get(conf, "components");
	int rc = 0;

	if (alert__conf_str(conf, "api_key", true, &key, err, ctx) < 0)
		rc = -EINVAL;
	for (const char *p = key; p && *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
			/* It goes into a header; never quote it. */
			alert__errf(err, ctx, "api_key", NULL,
				    "\"api_key\" must not contain spaces or control characters");
			rc = -EINVAL, key = NULL;
			break;
		}
	if (alert__conf_str(conf, "page_id", true, &page, err, ctx) < 0)
		rc = -EINVAL;
	if (page && !id_ok(page)) {
		alert__errf(err, ctx, "page_id", NULL, "\"page_id\" \"%s\" may hold only letters, digits, - and _",
			    page);
		rc = -EINVAL;
	}
	if (alert__conf_url(conf, "api_url", false, &url, err, ctx) < 0)
		rc = -EINVAL;
	if (comp && check_components(comp, err, ctx) < 0)
		rc = -EINVAL;
	if (alert__conf_bool(conf, "reminders", &ic->reminders, err, ctx) < 0 ||
	    alert__conf_bool(conf, "notify", &ic->notify, err, ctx) < 0)
		rc = -EINVAL;
	if (rc < 0)
		return rc;
	ic->api_url = strdup(url ? url : DEFAULT_API_URL);
	ic->api_key = strdup(key);
	ic->page_id = strdup(page);
	ic->components = comp ? json_deep_copy(comp) : NULL;
	if (!ic->api_url || !ic->api_key || !ic->page_id || (comp && !ic->components) ||
	    alert__channel_secret(ch, key) < 0)
		return -ENOMEM;
	for (size_t n = strlen(ic->api_url); n > 0 && ic->api_url[n - 1] == '/'; n--)
		ic->api_url[n - 1] = '\0';
	return 0;
}

static void instatus_destroy(struct alert_channel *ch)
{
	struct instatus_channel *ic = INSTATUS(ch);

	free(ic->api_url);
	free(ic->api_key);
	free(ic->page_id);
	json_decref(ic->components);
}

/* ------------------------------------------------------------------ requests */

/* Appends the component id mapped to key, if any and not there yet. */
static int add_component(const struct instatus_channel *ic, const char *key, json_t *ids)
{
	json_t *id = json_object_get(ic->components, key), *v;
	size_t i;

	if (!json_is_string(id))
		return 0;
	json_array_foreach(ids, i, v)
		if (json_equal(v, id))
			return 0;
	return json_array_append(ids, id) == 0 ? 0 : -ENOMEM;
}

/* The event's component ids: the probe's own, then its tags'. New array, or NULL. */
static json_t *component_ids(const struct instatus_channel *ic, const struct alert_event *ev, const char *probe)
{
	json_t *ids = json_array(), *tag;
	size_t i;
	int rc = ids ? add_component(ic, probe, ids) : -ENOMEM;

	json_array_foreach(json_object_get(json_object_get(ev->payload, "probe"), "tags"), i, tag)
		if (rc == 0 && json_is_string(tag))
			rc = add_component(ic, json_string_value(tag), ids);
	if (rc < 0)
		ids = (json_decref(ids), NULL);
	return ids;
}

/* {"components": ids, "statuses": [{id, status}...]} members set on body; every status id is a component. */
static int set_components(json_t *body, json_t *ids, const char *status)
{
	json_t *st = json_array(), *id;
	size_t i;

	json_array_foreach(ids, i, id)
		if (json_array_append_new(st, json_pack("{s:O, s:s}", "id", id, "status", status)) < 0)
			break;
	if (st == NULL || json_array_size(st) != json_array_size(ids)) {
		json_decref(st);
		return -ENOMEM;
	}
	/* The _new setter takes st even when it fails. */
	if (json_object_set_new(body, "statuses", st) < 0 || json_object_set(body, "components", ids) < 0)
		return -ENOMEM;
	return 0;
}

/* s with every byte but RFC 3986's unreserved ones percent-encoded, for a URL path segment. New string. */
static char *pct(const char *s)
{
	char *out = malloc(strlen(s) * 3 + 1), *o = out;

	if (out == NULL)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("-._~", *p))
			*o++ = (char)*p;
		else
			o += sprintf(o, "%%%02X", *p);
	}
	*o = '\0';
	return out;
}

/* Fills req: method to api_url + path (stolen), the auth headers and body (may be NULL). */
static int finish(const struct instatus_channel *ic, struct alert_request *req, const char *method, char *path,
		  const json_t *body)
{
	char *auth = alert__strf("Bearer %s", ic->api_key);
	int rc = 0;

	req->kind = ALERT_REQ_HTTP;
	req->method = strdup(method);
	req->url = path ? alert__strf("%s%s", ic->api_url, path) : NULL;
	if (!auth || !req->method || !req->url || alert__req_header(req, "Authorization", auth) < 0 ||
	    alert__req_header(req, "Content-Type", "application/json") < 0 || (body && alert__req_json(req, body) < 0))
		rc = -ENOMEM;
	free(auth);
	free(path);
	return rc;
}

/* POST /v1/{page}/incidents: a new incident named "<probe> <what>". */
static int create_incident(const struct instatus_channel *ic, const struct alert_event *ev, const char *probe,
			   const char *what, const char *status, const char *impact, const char *message,
			   struct alert_request *req)
{
	const json_t *inc = json_object_get(ev->payload, "incident");
	json_t *ids = component_ids(ic, ev, probe), *body = NULL;
	char started[32], *name = alert__strf("%s %s", probe, what);
	int rc = -ENOMEM;

	alert__fmt_iso(alert__int(inc, "started_ms"), started, sizeof(started));
	if (ids && name)
		body = json_pack("{s:s, s:s, s:s, s:b, s:s}", "name", name, "message", message, "status", status,
				 "notify", ic->notify, "started", started);
	if (body && set_components(body, ids, impact) == 0)
		rc = finish(ic, req, "POST", alert__strf("/v1/%s/incidents", ic->page_id), body);
	json_decref(ids);
	json_decref(body);
	free(name);
	return rc;
}

/* POST /v1/{page}/incidents/{ref}/incident-updates. */
static int post_update(const struct instatus_channel *ic, const struct alert_event *ev, const char *probe,
		       const char *status, const char *impact, const char *message, struct alert_request *req)
{
	json_t *ids = component_ids(ic, ev, probe), *body = NULL;
	char *ref = pct(ev->ref);
	int rc = -ENOMEM;

	if (ids)
		body = json_pack("{s:s, s:s, s:b}", "status", status, "message", message, "notify", ic->notify);
	if (body && ref && set_components(body, ids, impact) == 0)
		rc = finish(ic, req, "POST", alert__strf("/v1/%s/incidents/%s/incident-updates", ic->page_id, ref),
			    body);
	json_decref(ids);
	json_decref(body);
	free(ref);
	return rc;
}

/* ------------------------------------------------------------------ events */

/* "The \"api\" check fails at step \"submit\" with timeout errors since ...: <short error>". New string. */
static char *opened_message(const json_t *inc, const char *probe)
{
	const char *step = alert__str(inc, "failed_step"), *cls = alert__str(inc, "error_class");
	char since[64], *err = alert__truncate(alert__str(inc, "error"), PAGE_ERR_MAX), *msg = NULL;

	alert__fmt_time(alert__int(inc, "started_ms"), since, sizeof(since));
	if (err)
		msg = alert__strf("The \"%s\" check fails%s%s%s with %s errors since %s%s%s", probe,
				  *step ? " at step \"" : "", step, *step ? "\"" : "", *cls ? cls : "unknown", since,
				  *err ? ": " : ".", err);
	free(err);
	return msg;
}

/* flapping: an update of the incident already on the page, else a new one while the incident is open. */
static int render_flapping(const struct instatus_channel *ic, const struct alert_event *ev, const char *probe,
			   struct alert_request *req, char **why)
{
	const json_t *flap = json_object_get(ev->payload, "flapping");
	const json_t *inc = json_object_get(ev->payload, "incident");
	char window[32], *msg;
	int rc;

	if (!ev->ref && strcmp(alert__str(inc, "state"), "open") != 0) {
		*why = strdup("nothing open on the status page");
		return ALERT__SKIP;
	}
	alert__fmt_span(alert__int(flap, "window_s") * 1000, window, sizeof(window));
	msg = alert__strf("The \"%s\" check is failing intermittently: it changed state %" PRId64 " times in %s.",
			  probe, alert__int(flap, "changes"), window);
	if (msg == NULL)
		return -ENOMEM;
	if (ev->ref)
		rc = post_update(ic, ev, probe, "IDENTIFIED", "PARTIALOUTAGE", msg, req);
	else
		rc = create_incident(ic, ev, probe, "is unstable", "IDENTIFIED", "PARTIALOUTAGE", msg, req);
	free(msg);
	return rc;
}

static int render_reminder(const struct instatus_channel *ic, const struct alert_event *ev, const char *probe,
			   struct alert_request *req, char **why)
{
	const json_t *inc = json_object_get(ev->payload, "incident");
	char span[32], *msg;
	int rc;

	if (!ic->reminders || !ev->ref) {
		*why = strdup(!ic->reminders ? "reminders are off for this channel"
					     : "no status page incident to update");
		return ALERT__SKIP;
	}
	alert__fmt_span(alert__int(inc, "duration_s") * 1000, span, sizeof(span));
	if ((msg = alert__strf("Still failing after %s.", span)) == NULL)
		return -ENOMEM;
	rc = post_update(ic, ev, probe, "IDENTIFIED", alert__bool(inc, "slow") ? "PARTIALOUTAGE" : "MAJOROUTAGE", msg,
			 req);
	free(msg);
	return rc;
}

static int render_resolved(const struct instatus_channel *ic, const struct alert_event *ev, const char *probe,
			   struct alert_request *req, char **why)
{
	const json_t *inc = json_object_get(ev->payload, "incident");
	char since[64], span[32], *msg;
	int rc;

	if (!ev->ref) {
		*why = strdup("no status page incident was created");
		return ALERT__SKIP;
	}
	alert__fmt_time(alert__int(inc, "resolved_ms"), since, sizeof(since));
	alert__fmt_span(alert__int(inc, "duration_s") * 1000, span, sizeof(span));
	if ((msg = alert__strf("Resolved: checks pass again since %s; down for %s.", since, span)) == NULL)
		return -ENOMEM;
	rc = post_update(ic, ev, probe, "RESOLVED", "OPERATIONAL", msg, req);
	free(msg);
	return rc;
}

static int instatus_render(struct alert_channel *ch, const struct alert_event *ev, struct alert_request *req,
			   char **why)
{
	const struct instatus_channel *ic = INSTATUS(ch);
	const char *probe = ev->probe ? ev->probe : alert__str(json_object_get(ev->payload, "probe"), "name");
	const json_t *inc = json_object_get(ev->payload, "incident");
	struct alert_event e = *ev;

	/* An empty ref is no ref: it could only make a broken URL. */
	if (e.ref && *e.ref == '\0')
		e.ref = NULL;
	if (strcmp(ev->kind, "opened") == 0) {
		bool slow = alert__bool(inc, "slow");
		char *msg = opened_message(inc, probe);
		int rc = msg ? create_incident(ic, &e, probe, slow ? "is slow" : "is down", "INVESTIGATING",
					       slow ? "PARTIALOUTAGE" : "MAJOROUTAGE", msg, req)
			     : -ENOMEM;
		free(msg);
		return rc;
	}
	if (strcmp(ev->kind, "reminder") == 0)
		return render_reminder(ic, &e, probe, req, why);
	if (strcmp(ev->kind, "resolved") == 0)
		return render_resolved(ic, &e, probe, req, why);
	if (strcmp(ev->kind, "flapping") == 0)
		return render_flapping(ic, &e, probe, req, why);
	if (strcmp(ev->kind, "test") == 0)
		/* Listing components proves the key and the page id without touching the public page. */
		return finish(ic, req, "GET", alert__strf("/v1/%s/components", ic->page_id), NULL);
	*why = alert__strf("instatus has nothing to do for \"%s\" events", ev->kind);
	return ALERT__SKIP;
}

/* ------------------------------------------------------------------ answers */

/* "HTTP 401 Not authorized" from Instatus' {"error":{"code","message"}}, else the body's first line. */
static char *error_why(const struct alert_response *resp)
{
	json_t *root = resp->body ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
	const char *msg = json_string_value(json_object_get(json_object_get(root, "error"), "message"));
	char *cut = msg ? alert__truncate(msg, 200) : NULL;
	char *why = cut ? alert__strf("HTTP %ld %s", resp->status, cut) : alert__http_why(resp);

	free(cut);
	json_decref(root);
	return why;
}

/* A 2xx answer: what it means depends on what render sent for this event. */
static void took(const struct alert_event *ev, const struct alert_response *resp, struct alert_outcome *out)
{
	bool ref = ev->ref && *ev->ref;
	json_t *root = resp->body ? json_loadb(resp->body, resp->body_len, 0, NULL) : NULL;
	const char *id = json_string_value(json_object_get(root, "id"));

	out->verdict = ALERT_DELIVERED;
	if (strcmp(ev->kind, "test") == 0) {
		if (json_is_array(root))
			out->why = alert__strf("%zu components", json_array_size(root));
	} else if (strcmp(ev->kind, "opened") == 0 || (strcmp(ev->kind, "flapping") == 0 && !ref)) {
		/* Without the id no later update could find the incident. */
		if (id && *id) {
			out->ref = strdup(id);
		} else {
			out->verdict = ALERT_GIVE_UP;
			out->why = strdup("no incident id in the answer");
		}
	} else if (strcmp(ev->kind, "resolved") != 0 && ref) {
		/* An update: the incident stays the same, for whatever comes next. */
		out->ref = strdup(ev->ref);
	}
	json_decref(root);
}

static void instatus_classify(struct alert_channel *ch, const struct alert_event *ev,
			      const struct alert_response *resp, struct alert_outcome *out)
{
	long s = resp->status;

	(void)ch;
	/* ALERT-APIS.md §3: 429 and 5xx are worth another try, every other 4xx is not. */
	if (resp->error || s == 0 || s == 429 || s >= 500)
		alert__http_classify(resp, out);
	else if (s >= 200 && s < 300)
		took(ev, resp, out);
	else {
		out->verdict = ALERT_GIVE_UP;
		out->why = error_why(resp);
	}
}

const struct alert_channel_type alert__instatus_type = {
	.version = ALERT__TYPE_VERSION,
	.name = "instatus",
	.size = sizeof(struct instatus_channel),
	.rate_per_min = 30,
	.keys = instatus_keys,
	.create = instatus_create,
	.render = instatus_render,
	.classify = instatus_classify,
	.destroy = instatus_destroy,
};
