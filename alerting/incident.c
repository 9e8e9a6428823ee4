/* incident.c - each probe's incident state machine: thresholds, flapping, maintenance, and the events they send. */
#include "alerting/alert_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

/*
 * Incidents are records; events are what channels are told. Channels are
 * told only while the probe is not "quiet" (flapping, or in a maintenance
 * window). Whenever it is not quiet, reconcile() brings the channels up to
 * date: the resolution of an announced incident, then the opening of the
 * current one. So an incident opened during maintenance is announced when
 * the window ends, and nothing is announced twice.
 */

/* The events of one result, written in one transaction with the incident rows. */
struct batch {
	struct store_alert_op *op; /* made on first use: most results change nothing and cost no allocation */
	struct alert__event *evs[4];
	char **channels[4];        /* borrowed from the probe's policy */
	size_t nchannels[4];
	size_t nevs;
};

static char *dup0(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void incident_copy(struct store_incident *dst, const struct store_incident *src)
{
	*dst = *src;
	dst->probe = dup0(src->probe);
	dst->failed_step = dup0(src->failed_step);
	dst->first_class = dup0(src->first_class);
	dst->first_error = dup0(src->first_error);
	dst->last_class = dup0(src->last_class);
	dst->last_error = dup0(src->last_error);
}

/* b's op, made when first needed; NULL when out of memory. */
static struct store_alert_op *batch_op(struct batch *b)
{
	if (b->op == NULL)
		b->op = calloc(1, sizeof(*b->op));
	return b->op;
}

static int op_incident(struct batch *b, const struct store_incident *inc)
{
	struct store_incident *n;

	if (batch_op(b) == NULL)
		return -ENOMEM;
	n = realloc(b->op->incidents, (b->op->nincidents + 1) * sizeof(*n));

	if (n == NULL)
		return -ENOMEM;
	b->op->incidents = n;
	incident_copy(&n[b->op->nincidents++], inc);
	return 0;
}

static json_t *iso_or_null(int64_t ms)
{
	char buf[32];

	return ms > 0 ? json_string(alert__fmt_iso(ms, buf, sizeof(buf))) : json_null();
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *incident_json(const struct store_incident *inc, int64_t now_ms)
{
	int64_t end = inc->resolved_ms > 0 ? inc->resolved_ms : now_ms;

	return json_pack("{sI ss so sI so sI so so sI sI so so so so so sf sb}",
			 "id", (json_int_t)inc->id,
			 "state", inc->resolved_ms > 0 ? "resolved" : "open",
			 "started", iso_or_null(inc->started_ms), "started_ms", (json_int_t)inc->started_ms,
			 "detected", iso_or_null(inc->detected_ms), "detected_ms", (json_int_t)inc->detected_ms,
			 "resolved", iso_or_null(inc->resolved_ms),
			 "resolved_ms", inc->resolved_ms > 0 ? json_integer(inc->resolved_ms) : json_null(),
			 "duration_s", (json_int_t)((end - inc->started_ms) / 1000),
			 "failed_runs", (json_int_t)inc->failed_runs,
			 "failed_step", str_or_null(inc->failed_step),
			 "error_class", str_or_null(inc->first_class),
			 "error", str_or_null(inc->first_error),
			 "last_error_class", str_or_null(inc->last_class),
			 "last_error", str_or_null(inc->last_error),
			 "latency_ms", (double)inc->latency_us / 1000.0,
			 "slow", (inc->flags & STORE_INC_SLOW) != 0);
}

static json_t *probe_json(const struct probe_def *d)
{
	json_t *tags = json_array();

	for (size_t i = 0; i < d->ntags; i++)
		json_array_append_new(tags, json_string(d->tags[i]));
	return json_pack("{ss so so}", "name", d->name, "description", str_or_null(d->description),
			 "tags", tags);
}

/* Adds an event about inc to b (and to the op); its deliveries are queued once the op is submitted. */
static void emit(struct alert_service *a, struct batch *b, struct alert__probe *p, const char *kind,
		 const struct store_incident *inc, int64_t now_ms)
{
	char buf[32];
	int64_t id = ++a->max_event_id;
	json_t *payload = json_pack("{si ss sI ss sI so so}", "version", ALERT__EVENT_VERSION,
				    "event", kind, "event_id", (json_int_t)id,
				    "created", alert__fmt_iso(now_ms, buf, sizeof(buf)),
				    "created_ms", (json_int_t)now_ms, "probe", probe_json(p->def),
				    "incident", incident_json(inc, now_ms));
	struct store_event *ev;

	if (payload == NULL || b->nevs == sizeof(b->evs) / sizeof(b->evs[0]) || batch_op(b) == NULL)
		goto fail;
	if (strcmp(kind, "flapping") == 0)
		json_object_set_new(payload, "flapping",
				    json_pack("{si sI}", "changes", (int)p->nchanges,
					      "window_s", (json_int_t)(p->pol.flap_window_ms / 1000)));
	if (strcmp(kind, "reminder") == 0)
		json_object_set_new(payload, "reminder", json_integer(p->reminders));
	ev = realloc(b->op->events, (b->op->nevents + 1) * sizeof(*ev));
	if (ev == NULL)
		goto fail;
	b->op->events = ev;
	ev = &ev[b->op->nevents];
	*ev = (struct store_event){ .id = id, .incident_id = inc->id, .probe = strdup(p->def->name),
				    .kind = strdup(kind), .created_ms = now_ms,
				    .payload = json_dumps(payload, JSON_COMPACT) };
	ev->channels = calloc(p->pol.nchannels + 1, sizeof(char *));
	for (size_t i = 0; ev->channels && i < p->pol.nchannels; i++)
		if ((ev->channels[ev->nchannels] = strdup(p->pol.channels[i])) != NULL)
			ev->nchannels++;
	b->op->nevents++;
	b->evs[b->nevs] = alert__event_new(id, inc->id, now_ms, kind, p->def->name, payload);
	b->channels[b->nevs] = p->pol.channels;
	b->nchannels[b->nevs++] = p->pol.nchannels;
	alert__logf(a, LOG_NOTICE, "probe %s: incident %" PRId64 ": %s event to %zu channel%s", p->def->name,
		    inc->id, kind, p->pol.nchannels, p->pol.nchannels == 1 ? "" : "s");
	return;
fail:
	json_decref(payload);
	alert__logf(a, LOG_ERR, "probe %s: out of memory: a %s event is lost", p->def->name, kind);
}

static bool quiet(struct alert_service *a, struct alert__probe *p, int64_t now_ms)
{
	return p->flapping || alert__in_maintenance(a, p, now_ms) != NULL;
}

static void reconcile(struct alert_service *a, struct batch *b, struct alert__probe *p, int64_t now_ms)
{
	bool unannounced = p->cur.id > 0 && !(p->cur.flags & STORE_INC_ANNOUNCED);

	/* The cheap test first: this runs after every result. */
	if ((p->done.id == 0 && !unannounced) || quiet(a, p, now_ms))
		return;
	if (p->done.id > 0) {
		p->done.flags |= STORE_INC_RESOLVE_SENT;
		emit(a, b, p, "resolved", &p->done, now_ms);
		op_incident(b, &p->done);
		store_incident_clear(&p->done);
	}
	if (unannounced) {
		p->cur.flags |= STORE_INC_ANNOUNCED;
		emit(a, b, p, "opened", &p->cur, now_ms);
		op_incident(b, &p->cur);
		p->last_alert_ms = now_ms;
		p->reminders = 0;
	}
}

/* Records a state change; true when it made the probe flap. */
static bool note_change(struct alert_service *a, struct alert__probe *p, int64_t now_ms)
{
	size_t cap = (size_t)p->pol.flap_changes + 1, recent = 0;

	p->changes[p->changes_at] = now_ms;
	p->changes_at = (p->changes_at + 1) % cap;
	if (p->nchanges < cap)
		p->nchanges++;
	for (size_t i = 0; i < p->nchanges; i++)
		if (p->changes[i] > now_ms - p->pol.flap_window_ms)
			recent++;
	if (p->flapping || recent <= (size_t)p->pol.flap_changes)
		return false;
	p->flapping = true;
	alert__logf(a, LOG_WARNING, "probe %s is flapping: %zu state changes within %" PRId64
		    " s; holding open/resolve alerts until it is stable", p->def->name, recent,
		    p->pol.flap_window_ms / 1000);
	return true;
}

/* The run made a stable probe flap: one event says so, and it stands for the current incident. */
static void start_flapping(struct alert_service *a, struct batch *b, struct alert__probe *p, int64_t now_ms)
{
	const struct store_incident *about = p->cur.id > 0 ? &p->cur : &p->done;

	if (alert__in_maintenance(a, p, now_ms) != NULL || about->id == 0)
		return;
	if (p->cur.id > 0) {
		p->cur.flags |= STORE_INC_ANNOUNCED;
		op_incident(b, &p->cur);
	}
	emit(a, b, p, "flapping", about, now_ms);
	p->last_alert_ms = now_ms;
}

static void set_failure(struct store_incident *inc, const struct probe_result *res)
{
	const char *cls = probe_class_name(res->cls);

	if (inc->failed_runs == 0) {
		inc->started_ms = res->started_ms;
		free(inc->first_class);
		free(inc->first_error);
		free(inc->failed_step);
		inc->first_class = strdup(cls);
		inc->first_error = dup0(res->error);
		inc->failed_step = res->failed_step >= 0 && (size_t)res->failed_step < res->nsteps
					   ? dup0(res->steps[res->failed_step].name) : NULL;
	}
	inc->failed_runs++;
	inc->last_failed_ms = res->started_ms;
	inc->latency_us = res->duration_us;
	free(inc->last_class);
	free(inc->last_error);
	inc->last_class = strdup(cls);
	inc->last_error = dup0(res->error);
	if (inc->failed_runs == 1 ? res->slow : (inc->flags & STORE_INC_SLOW) && res->slow)
		inc->flags |= STORE_INC_SLOW;
	else
		inc->flags &= ~(unsigned)STORE_INC_SLOW;
}

static void on_fail(struct alert_service *a, struct batch *b, struct alert__probe *p,
		    const struct probe_result *res)
{
	p->passes = 0;
	if (p->cur.probe == NULL)
		p->cur.probe = strdup(p->def->name);
	set_failure(&p->cur, res);
	if (p->down) {
		op_incident(b, &p->cur);
		return;
	}
	if (++p->fails < p->pol.after)
		return;
	p->down = true;
	p->cur.id = ++a->max_incident_id;
	p->cur.detected_ms = res->started_ms;
	alert__logf(a, LOG_WARNING, "probe %s: incident %" PRId64 " opened after %d failed run%s: %s",
		    p->def->name, p->cur.id, p->fails, p->fails == 1 ? "" : "s",
		    p->cur.first_error ? p->cur.first_error : "");
	op_incident(b, &p->cur);
	if (note_change(a, p, res->started_ms))
		start_flapping(a, b, p, res->started_ms);
	else
		reconcile(a, b, p, res->started_ms);
}

static void on_pass(struct alert_service *a, struct batch *b, struct alert__probe *p,
		    const struct probe_result *res)
{
	if (!p->down) {
		p->fails = 0;
		store_incident_clear(&p->cur);
		return;
	}
	if (p->passes++ == 0)
		p->recover_start_ms = res->started_ms;
	if (p->passes < p->pol.recover_after)
		return;
	p->down = false;
	p->fails = p->passes = 0;
	p->cur.resolved_ms = p->recover_start_ms;
	alert__logf(a, LOG_NOTICE, "probe %s: incident %" PRId64 " resolved after %" PRId64 " s",
		    p->def->name, p->cur.id, (p->cur.resolved_ms - p->cur.started_ms) / 1000);
	op_incident(b, &p->cur);
	if (p->cur.flags & STORE_INC_ANNOUNCED) {
		store_incident_clear(&p->done);
		p->done = p->cur;
		memset(&p->cur, 0, sizeof(p->cur));
	} else {
		store_incident_clear(&p->cur);
	}
	if (note_change(a, p, res->started_ms))
		start_flapping(a, b, p, res->started_ms);
	else
		reconcile(a, b, p, res->started_ms);
}

/* What time alone changes: the end of flapping or of a window, and reminders. */
static void on_time(struct alert_service *a, struct batch *b, struct alert__probe *p, int64_t now_ms)
{
	if (p->flapping && p->nchanges > 0) {
		size_t cap = (size_t)p->pol.flap_changes + 1;
		int64_t last = p->changes[(p->changes_at + cap - 1) % cap];
		if (now_ms - last >= p->pol.flap_window_ms) {
			p->flapping = false;
			alert__logf(a, LOG_NOTICE, "probe %s is stable again", p->def->name);
		}
	}
	reconcile(a, b, p, now_ms);
	if (p->pol.remind_every_ms > 0 && p->cur.id > 0 && (p->cur.flags & STORE_INC_ANNOUNCED) &&
	    !quiet(a, p, now_ms) && now_ms - p->last_alert_ms >= p->pol.remind_every_ms) {
		p->reminders++;
		p->last_alert_ms = now_ms;
		emit(a, b, p, "reminder", &p->cur, now_ms);
	}
}

static size_t bucket_of(const struct alert_service *a, const char *name)
{
	uint64_t h = 1469598103934665603ull;

	for (const char *c = name; *c; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ull;
	return (size_t)(h % a->nbuckets);
}

struct alert__probe **alert__probe_link(struct alert_service *a, const char *name)
{
	for (struct alert__probe **l = &a->buckets[bucket_of(a, name)]; *l != NULL; l = &(*l)->hnext)
		if (strcmp((*l)->def->name, name) == 0)
			return l;
	return NULL;
}

static struct alert__probe *find_probe(struct alert_service *a, const char *name)
{
	struct alert__probe **l = alert__probe_link(a, name);

	return l ? *l : NULL;
}

/* Submits b's op, then queues its events' deliveries behind it. */
static void submit(struct alert_service *a, struct batch *b)
{
	uint64_t seq = 0;
	int rc;

	if (b->op == NULL)
		return;
	rc = store_submit_alert(a->store, b->op, &seq);
	if (rc < 0)
		alert__logf(a, LOG_ERR, "cannot record an incident change: %s", strerror(-rc));
	for (size_t i = 0; i < b->nevs; i++) {
		for (size_t k = 0; rc == 0 && b->evs[i] && k < b->nchannels[i]; k++) {
			struct alert__chan *c = alert__find_chan(a, b->channels[i][k]);
			struct store_delivery st = { .event_id = b->evs[i]->id, .channel = b->channels[i][k] };
			if (c != NULL)
				alert__dispatch_add(c, b->evs[i], &st, seq);
		}
		alert__event_unref(b->evs[i]);
	}
	alert__dispatch_pump(a);
}

void alert_on_result(struct alert_service *a, const struct probe_result *res)
{
	struct alert__probe *p = NULL;
	struct batch b = { 0 };

	if (a == NULL || res->cls == PROBE_SKIPPED || res->cls == PROBE_ABORTED || a->nbuckets == 0)
		return;
	if ((p = find_probe(a, res->probe)) == NULL)
		return;
	if (res->cls == PROBE_OK)
		on_pass(a, &b, p, res);
	else
		on_fail(a, &b, p, res);
	on_time(a, &b, p, res->started_ms);
	submit(a, &b);
}

void alert__probe_restore(struct alert_service *a, struct alert__probe *p, struct store_incident *inc)
{
	(void)a;
	if (inc->resolved_ms == 0) {
		store_incident_clear(&p->cur);
		p->cur = *inc;
		p->down = true;
		p->fails = p->pol.after;
	} else {
		store_incident_clear(&p->done);
		p->done = *inc;
	}
	memset(inc, 0, sizeof(*inc));
	p->last_alert_ms = probe_now_ms();
}

void alert__probe_free(struct alert__probe *p)
{
	if (p == NULL)
		return;
	store_incident_clear(&p->cur);
	store_incident_clear(&p->done);
	alert_policy_clear(&p->pol);
	probe_def_unref(p->def);
	free(p->changes);
	free(p);
}

int alert__probe_hash_add(struct alert_service *a, struct alert__probe *p)
{
	size_t i = bucket_of(a, p->def->name);

	if (find_probe(a, p->def->name) != NULL)
		return -EEXIST;
	p->hnext = a->buckets[i];
	a->buckets[i] = p;
	a->nprobes++;
	return 0;
}
