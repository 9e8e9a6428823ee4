/* channel.c - the registry of channel types, building channels from config, and the wrappers around their methods. */
#include "alerting/alert_int.h"

#include <stdlib.h>
#include <string.h>

/* Every channel type; adding one is one file and one line here. */
static const struct alert_channel_type *const types[] = {
	&alert__slack_type,
	&alert__instatus_type,
	&alert__webhook_type,
	&alert__exec_type,
};
#define NTYPES (sizeof(types) / sizeof(types[0]))

/* Keys every channel takes, whatever its type. */
static const char *const common_keys[] = { "type", "rate_per_min", "retry_for", "timeout", NULL };

#define DEFAULT_RETRY_FOR_MS (24 * 3600 * 1000LL)
#define DEFAULT_TIMEOUT_MS (10 * 1000LL)

/* ------------------------------------------------------------------ registry */

/* A type built against another interface version, or missing a method, is never used. */
static bool type_usable(const struct alert_channel_type *t)
{
	return t->version == ALERT__TYPE_VERSION && t->name && t->size >= sizeof(struct alert_channel) &&
	       t->create && t->render && t->classify;
}

/* The usable type called name, or NULL; a name registered twice is refused outright. */
static const struct alert_channel_type *type_find(const char *name)
{
	const struct alert_channel_type *found = NULL;

	for (size_t i = 0; i < NTYPES; i++) {
		if (!type_usable(types[i]) || strcmp(types[i]->name, name) != 0)
			continue;
		if (found)
			return NULL;
		found = types[i];
	}
	return found;
}

/* ------------------------------------------------------------------ building */

/* Counts the problems reported while passing them on, so create cannot hide one. */
struct report {
	alert_err_fn err;
	void *ctx;
	int n;
};

static void report_fn(const char *path, const char *msg, void *ctx)
{
	struct report *r = ctx;

	r->n++;
	if (r->err)
		r->err(path, msg, r->ctx);
}

/* The type conf names, or NULL after reporting why at "type". */
static const struct alert_channel_type *pick_type(const json_t *conf, struct report *r)
{
	const char *name = json_string_value(json_object_get(conf, "type"));
	const char *names[NTYPES + 1] = { NULL };
	char known[256] = "";

	for (size_t i = 0, k = 0; i < NTYPES; i++) {
		if (!type_usable(types[i]))
			continue;
		names[k++] = types[i]->name;
		snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s", k > 1 ? ", " : "",
			 types[i]->name);
	}
	if (name == NULL) {
		alert__errf(report_fn, r, "type", NULL, "\"type\" %s: one of %s",
			    json_object_get(conf, "type") ? "must be a string" : "is required", known);
		return NULL;
	}
	const struct alert_channel_type *t = type_find(name);
	if (t)
		return t;
	const char *near = probe_nearest(name, names, NULL);
	if (near)
		alert__errf(report_fn, r, "type", NULL,
			    "unknown channel type \"%s\" (did you mean \"%s\"?); known types: %s", name, near,
			    known);
	else
		alert__errf(report_fn, r, "type", NULL, "unknown channel type \"%s\"; known types: %s", name,
			    known);
	return NULL;
}

/* conf[key] as a duration within [min, max] into *ms, which keeps its default when absent. */
static void read_duration(const json_t *conf, const char *key, int64_t min, int64_t max, const char *range,
			  int64_t *ms, struct report *r)
{
	json_t *v = json_object_get(conf, key);
	int64_t val = 0;

	if (v == NULL)
		return;
	if (!json_is_string(v) || probe_duration_parse(json_string_value(v), &val) < 0 || val < min ||
	    val > max) {
		alert__errf(report_fn, r, key, NULL, "\"%s\" must be a duration %s", key, range);
		return;
	}
	*ms = val;
}

/* Fills the base's common settings from conf (t may be NULL: only checked). */
static void read_common(const json_t *conf, const struct alert_channel_type *t, struct alert_channel *base,
			struct report *r)
{
	json_t *v = json_object_get(conf, "rate_per_min");

	base->rate_per_min = t ? t->rate_per_min : 60;
	base->retry_for_ms = DEFAULT_RETRY_FOR_MS;
	base->timeout_ms = DEFAULT_TIMEOUT_MS;
	if (v && (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 6000))
		alert__errf(report_fn, r, "rate_per_min", NULL, "\"rate_per_min\" must be an integer from 1 to 6000");
	else if (v)
		base->rate_per_min = (int)json_integer_value(v);
	read_duration(conf, "retry_for", 1000, INT64_MAX, "of at least 1s, such as \"30m\" or \"24h\"",
		      &base->retry_for_ms, r);
	read_duration(conf, "timeout", 100, 5 * 60 * 1000, "from 100ms to 5m, such as \"10s\"", &base->timeout_ms,
		      r);
}

/* Reports every key that neither the base nor type t knows. */
static void check_keys(const json_t *conf, const struct alert_channel_type *t, struct report *r)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)conf, key, v) {
		bool ok = false;
		for (const char *const *k = common_keys; *k && !ok; k++)
			ok = strcmp(*k, key) == 0;
		for (const char *const *k = t->keys; k && *k && !ok; k++)
			ok = strcmp(*k, key) == 0;
		if (ok)
			continue;
		const char *near = probe_nearest(key, common_keys, t->keys);
		const char *a = strchr("aeiou", t->name[0]) ? "an" : "a";
		if (near)
			alert__errf(report_fn, r, "", key, "unknown key \"%s\" in %s %s channel (did you mean \"%s\"?)",
				    key, a, t->name, near);
		else
			alert__errf(report_fn, r, "", key, "unknown key \"%s\" in %s %s channel", key, a, t->name);
	}
}

int alert__channel_new(const char *name, const json_t *conf, alert_err_fn err, void *ctx,
		       struct alert_channel **out)
{
	struct report r = { err, ctx, 0 };
	struct alert_channel base = { 0 }, *ch = NULL;
	int rc;

	*out = NULL;
	if (!json_is_object(conf)) {
		alert__errf(report_fn, &r, "", NULL, "a channel must be an object with a \"type\"");
		return -EINVAL;
	}
	const struct alert_channel_type *t = pick_type(conf, &r);
	read_common(conf, t, &base, &r);
	if (t == NULL)
		return -EINVAL;
	check_keys(conf, t, &r);

	ch = calloc(1, t->size);
	if (ch == NULL)
		return -ENOMEM;
	*ch = base;
	ch->type = t;
	ch->name = strdup(name ? name : "");
	if (ch->name == NULL) {
		alert__channel_free(ch);
		return -ENOMEM;
	}
	/* Called even after a problem with the common keys, so that every problem is reported. */
	rc = t->create(ch, conf, report_fn, &r);
	if (rc == 0 && r.n > 0)
		rc = -EINVAL;
	if (rc < 0) {
		alert__channel_free(ch);
		return rc;
	}
	*out = ch;
	return 0;
}

int alert_channel_check(const json_t *conf, alert_err_fn err, void *ctx)
{
	struct alert_channel *ch = NULL;
	int rc = alert__channel_new("", conf, err, ctx, &ch);

	alert__channel_free(ch);
	return rc < 0 ? -EINVAL : 0;
}

/* The type's destroy must cope with a channel whose create failed half-way (the struct starts zeroed). */
void alert__channel_free(struct alert_channel *ch)
{
	if (ch == NULL)
		return;
	if (ch->type && ch->type->destroy)
		ch->type->destroy(ch);
	for (size_t i = 0; i < ch->nsecrets; i++)
		free(ch->secrets[i]);
	free(ch->secrets);
	free(ch->name);
	free(ch);
}

int alert__channel_secret(struct alert_channel *ch, const char *value)
{
	if (value == NULL || *value == '\0')
		return 0;
	for (size_t i = 0; i < ch->nsecrets; i++)
		if (strcmp(ch->secrets[i], value) == 0)
			return 0;
	char **v = realloc(ch->secrets, (ch->nsecrets + 1) * sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	ch->secrets = v;
	if ((v[ch->nsecrets] = strdup(value)) == NULL)
		return -ENOMEM;
	ch->nsecrets++;
	return 0;
}

/* ------------------------------------------------------------------ wrappers */

/*
 * Zeroes req, calls render, and enforces its contract: a reason on ALERT__SKIP,
 * no reason otherwise, nothing left in req unless it returns 0, and no secret
 * of the channel in the reason.
 */
int alert__channel_render(struct alert_channel *ch, const struct alert_event *ev,
			  struct alert_request *req, char **why)
{
	memset(req, 0, sizeof(*req));
	*why = NULL;
	int rc = ch->type->render(ch, ev, req, why);
	if (rc > 0 && rc != ALERT__SKIP)
		rc = -EINVAL;
	if (rc != 0)
		alert__request_clear(req);
	if (rc != ALERT__SKIP) {
		free(*why);
		*why = NULL;
		return rc;
	}
	if (*why == NULL && (*why = strdup("nothing to send for this event")) == NULL)
		return -ENOMEM;
	*why = alert__scrub(*why, NULL, ch);
	return rc;
}

/* Zeroes out (retry_after_ms -1), calls classify, and makes sure a failure says why without a secret. */
void alert__channel_classify(struct alert_channel *ch, const struct alert_event *ev,
			     const struct alert_response *resp, struct alert_outcome *out)
{
	memset(out, 0, sizeof(*out));
	out->retry_after_ms = -1;
	ch->type->classify(ch, ev, resp, out);
	if (out->why == NULL && out->verdict != ALERT_DELIVERED)
		out->why = strdup(out->verdict == ALERT_RETRY ? "will retry" : "gave up");
	out->why = alert__scrub(out->why, NULL, ch);
}

void alert__request_clear(struct alert_request *req)
{
	if (req == NULL)
		return;
	free(req->method);
	free(req->url);
	for (size_t i = 0; i < req->nheaders; i++)
		free(req->headers[i]);
	free(req->headers);
	free(req->body);
	for (char **a = req->argv; a && *a; a++)
		free(*a);
	free(req->argv);
	memset(req, 0, sizeof(*req));
}

void alert__outcome_clear(struct alert_outcome *out)
{
	if (out == NULL)
		return;
	free(out->why);
	free(out->ref);
	memset(out, 0, sizeof(*out));
	out->retry_after_ms = -1;
}
