/* service.c - the alerting service: its channels, probes, state read back at start, maintenance windows and lifetime. */
#include "alerting/alert_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#define MAINT_POLL_MS 5000
#define NBUCKETS 4096

void alert__logf(struct alert_service *a, int prio, const char *fmt, ...)
{
	static const struct alert_secrets none = { 0 };
	char buf[1024], *line;
	va_list ap;

	if (a->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	line = alert__scrub(strdup(buf), &a->secrets, NULL);
	for (size_t i = 0; line != NULL && i < a->nchans; i++)
		line = alert__scrub(line, &none, a->chans[i].ch);
	/* Out of memory, the line is dropped rather than printed unscrubbed. */
	if (line != NULL)
		a->log(prio, line);
	free(line);
}

struct alert__chan *alert__find_chan(struct alert_service *a, const char *name)
{
	for (size_t i = 0; i < a->nchans; i++)
		if (strcmp(a->chans[i].ch->name, name) == 0)
			return &a->chans[i];
	return NULL;
}

const struct store_maint *alert__in_maintenance(const struct alert_service *a, const struct alert__probe *p,
						int64_t now_ms)
{
	for (size_t i = 0; i < a->nmaints; i++) {
		const struct store_maint *m = &a->maints[i];
		if (now_ms < m->start_ms || now_ms >= m->end_ms)
			continue;
		if (m->probe != NULL && strcmp(m->probe, p->def->name) == 0)
			return m;
		for (size_t k = 0; m->tag != NULL && k < p->def->ntags; k++)
			if (strcmp(m->tag, p->def->tags[k]) == 0)
				return m;
	}
	return NULL;
}

/* ------------------------------------------------------------------ maintenance windows */

/* Keeps the windows that have not ended: v is compacted in place. */
static size_t keep_current(struct store_maint *v, size_t n, int64_t now_ms)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (v[i].end_ms > now_ms)
			v[k++] = v[i];
		else
			store_maint_clear(&v[i]);
	}
	return k;
}

static void maint_work(uv_work_t *w)
{
	struct alert_service *a = w->data;

	/* On the thread pool: the store serialises this read with its writer. */
	a->maint_rc = store_maint_list(a->store, 0, &a->maint_new, &a->nmaint_new);
	if (a->maint_rc == 0)
		a->nmaint_new = keep_current(a->maint_new, a->nmaint_new, probe_now_ms());
}

static void maybe_closed(struct alert_service *a);

static void maint_done(uv_work_t *w, int status)
{
	struct alert_service *a = w->data;

	a->maint_busy = false;
	if (status == 0 && a->maint_rc == 0) {
		store_maints_free(a->maints, a->nmaints);
		a->maints = a->maint_new;
		a->nmaints = a->nmaint_new;
	} else {
		store_maints_free(a->maint_new, a->nmaint_new);
		if (status == 0)
			alert__logf(a, LOG_WARNING, "cannot read maintenance windows: %s", strerror(-a->maint_rc));
	}
	a->maint_new = NULL;
	a->nmaint_new = 0;
	if (a->closing)
		maybe_closed(a);
}

static void on_maint_timer(uv_timer_t *t)
{
	struct alert_service *a = t->data;

	if (a->maint_busy || a->closing)
		return;
	a->maint_work.data = a;
	if (uv_queue_work(a->loop, &a->maint_work, maint_work, maint_done) == 0)
		a->maint_busy = true;
}

/* ------------------------------------------------------------------ start */

static void on_committed(uv_async_t *h)
{
	alert__dispatch_pump(h->data);
}

void alert_committed(struct alert_service *a, uint64_t seq)
{
	atomic_store(&a->committed, seq);
	uv_async_send(&a->committed_async);
}

static void chan_err(const char *path, const char *msg, void *ctx)
{
	char **err = ctx;

	(void)path;
	if (*err == NULL)
		*err = strdup(msg);
}

static int build_channels(struct alert_service *a, const json_t *channels, char **err)
{
	const char *name;
	json_t *conf;
	int rc;

	a->chans = calloc(json_object_size(channels) + 1, sizeof(*a->chans));
	if (a->chans == NULL)
		return -ENOMEM;
	if (channels == NULL)
		return 0;
	json_object_foreach((json_t *)channels, name, conf) {
		struct alert__chan *c = &a->chans[a->nchans];
		char *why = NULL;
		if ((rc = alert__channel_new(name, conf, chan_err, &why, &c->ch)) < 0) {
			if (asprintf(err, "channel %s: %s", name, why ? why : "invalid") < 0)
				*err = NULL;
			free(why);
			return rc;
		}
		c->a = a;
		c->refs = json_object();
		c->refill_ns = uv_hrtime();
		/* A fresh start may send a burst (dispatch.c sizes it); after that, the rate. */
		c->tokens = c->ch->rate_per_min / 4.0 > 1.0 ? c->ch->rate_per_min / 4.0 : 1.0;
		a->nchans++;
	}
	return 0;
}

/* Queues the outbox rows left pending by the last run; rows of channels gone from the config are given up. */
static void restore_pending(struct alert_service *a, struct store_pending *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct store_pending *p = &v[i];
		struct alert__chan *c = alert__find_chan(a, p->dlv.channel);
		json_t *payload = json_loads(p->ev.payload ? p->ev.payload : "{}", 0, NULL);
		struct alert__event *ev = alert__event_new(p->ev.id, p->ev.incident_id, p->ev.created_ms,
							   p->ev.kind, p->ev.probe, payload);
		if (ev == NULL)
			continue;
		if (c != NULL) {
			if (p->ref != NULL && alert__chan_ref(c, p->ev.incident_id) == NULL)
				alert__chan_ref_set(c, p->ev.incident_id, p->ref);
			alert__dispatch_add(c, ev, &p->dlv, 0);
		} else {
			struct store_alert_op *op = calloc(1, sizeof(*op));
			struct store_delivery *st = calloc(1, sizeof(*st));
			alert__logf(a, LOG_WARNING, "alert %s (incident %" PRId64 ") for channel %s is dropped: "
				    "no such channel any more", p->ev.kind, p->ev.incident_id, p->dlv.channel);
			if (op && st) {
				*st = (struct store_delivery){ .event_id = p->ev.id, .channel = strdup(p->dlv.channel),
							       .state = STORE_DLV_GAVE_UP, .attempts = p->dlv.attempts,
							       .done_ms = probe_now_ms(),
							       .error = strdup("the channel is no longer configured") };
				op->deliveries = st;
				op->ndeliveries = 1;
				store_submit_alert(a->store, op, NULL);
			} else {
				free(op);
				free(st);
			}
		}
		alert__event_unref(ev);
	}
	if (n > 0)
		alert__logf(a, LOG_NOTICE, "%zu alert%s left undelivered by the last run will be sent", n,
			    n == 1 ? "" : "s");
}

static int load_state(struct alert_service *a, char **err)
{
	struct store_alert_state st = { 0 };
	int rc = store_alert_load(a->store, &st);

	if (rc < 0) {
		if (asprintf(err, "cannot read incidents and the outbox: %s", strerror(-rc)) < 0)
			*err = NULL;
		return rc;
	}
	a->max_incident_id = st.max_incident_id;
	a->max_event_id = st.max_event_id;
	a->loaded = st.incidents;
	a->nloaded = st.nincidents;
	st.incidents = NULL;
	st.nincidents = 0;
	restore_pending(a, st.pending, st.npending);
	store_alert_state_clear(&st);
	/* Windows are read once now, then every maint_poll_ms off the loop. */
	if (store_maint_list(a->store, 0, &a->maints, &a->nmaints) == 0)
		a->nmaints = keep_current(a->maints, a->nmaints, probe_now_ms());
	return 0;
}

static int init_handles(struct alert_service *a)
{
	int rc;

	if ((rc = uv_timer_init(a->loop, &a->wake)) < 0)
		return rc;
	a->wake.data = a;
	a->open_handles++;
	if ((rc = uv_timer_init(a->loop, &a->maint_timer)) < 0)
		return rc;
	a->maint_timer.data = a;
	a->open_handles++;
	if ((rc = uv_async_init(a->loop, &a->committed_async, on_committed)) < 0)
		return rc;
	a->committed_async.data = a;
	a->open_handles++;
	return uv_timer_start(&a->maint_timer, on_maint_timer, (uint64_t)a->maint_poll_ms,
			      (uint64_t)a->maint_poll_ms);
}

static int copy_secrets(struct alert_service *a, const struct alert_secrets *s)
{
	a->secret_copies = calloc(s->n + 1, sizeof(char *));
	if (a->secret_copies == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < s->n; i++)
		if ((a->secret_copies[i] = strdup(s->v[i])) == NULL)
			return -ENOMEM;
	a->secrets.v = (const char *const *)a->secret_copies;
	a->secrets.n = s->n;
	return 0;
}

int alert_new(const struct alert_opts *o, struct alert_service **out, char **err)
{
	struct alert_service *a = calloc(1, sizeof(*a));
	int rc = -ENOMEM;

	*out = NULL;
	*err = NULL;
	if (a == NULL)
		return -ENOMEM;
	a->loop = o->loop;
	a->engine = o->engine;
	a->store = o->store;
	a->log = o->log;
	a->maint_poll_ms = o->maint_poll_ms > 0 ? o->maint_poll_ms : MAINT_POLL_MS;
	a->nbuckets = NBUCKETS;
	if ((a->buckets = calloc(a->nbuckets, sizeof(*a->buckets))) == NULL ||
	    copy_secrets(a, &o->secrets) < 0)
		goto fail;
	if ((rc = build_channels(a, o->channels, err)) < 0 || (rc = load_state(a, err)) < 0)
		goto fail;
	if ((rc = init_handles(a)) < 0) {
		if (asprintf(err, "cannot start: %s", uv_strerror(rc)) < 0)
			*err = NULL;
		goto fail;
	}
	*out = a;
	return 0;
fail:
	/* Handles already initialised close on the loop; the rest is freed at once. */
	alert_close(a, NULL, NULL);
	return rc;
}

int alert_add_probe(struct alert_service *a, struct probe_def *def, const struct alert_policy *pol)
{
	struct alert__probe *p = calloc(1, sizeof(*p));
	struct alert_policy copy;
	int rc = -ENOMEM;

	if (p == NULL)
		return -ENOMEM;
	p->def = probe_def_ref(def);
	/* A parse over pol with nothing to read is a deep copy. */
	if (alert_policy_parse(NULL, pol, &copy, NULL, NULL) < 0) {
		alert_policy_clear(&copy);
		goto fail;
	}
	p->pol = copy;
	if ((p->changes = calloc((size_t)p->pol.flap_changes + 1, sizeof(*p->changes))) == NULL)
		goto fail;
	if ((rc = alert__probe_hash_add(a, p)) < 0)
		goto fail;
	for (size_t i = 0; i < a->nloaded; i++)
		if (a->loaded[i].probe != NULL && strcmp(a->loaded[i].probe, def->name) == 0)
			alert__probe_restore(a, p, &a->loaded[i]);
	return 0;
fail:
	alert__probe_free(p);
	return rc;
}

/* A new flap ring of cap slots holding the latest changes of p's, oldest first; NULL out of memory. */
static int64_t *ring_resize(struct alert__probe *p, size_t cap, size_t *kept)
{
	size_t old_cap = (size_t)p->pol.flap_changes + 1, n = p->nchanges < cap ? p->nchanges : cap;
	size_t first = (p->changes_at + old_cap - p->nchanges) % old_cap;
	int64_t *v = calloc(cap, sizeof(*v));

	if (v == NULL)
		return NULL;
	/* The oldest are dropped: flapping is judged on the latest. */
	for (size_t i = 0; i < n; i++)
		v[i] = p->changes[(first + p->nchanges - n + i) % old_cap];
	*kept = n;
	return v;
}

int alert_update_probe(struct alert_service *a, struct probe_def *def, const struct alert_policy *pol)
{
	struct alert__probe **link = alert__probe_link(a, def->name), *p = link ? *link : NULL;
	struct alert_policy copy;
	int64_t *ring = NULL;
	size_t kept = 0;

	if (p == NULL)
		return alert_add_probe(a, def, pol);
	if (alert_policy_parse(NULL, pol, &copy, NULL, NULL) < 0) {
		alert_policy_clear(&copy);
		return -ENOMEM;
	}
	if (copy.flap_changes != p->pol.flap_changes &&
	    (ring = ring_resize(p, (size_t)copy.flap_changes + 1, &kept)) == NULL) {
		alert_policy_clear(&copy);
		return -ENOMEM;
	}
	if (ring != NULL) {
		free(p->changes);
		p->changes = ring;
		p->nchanges = kept;
		p->changes_at = kept % ((size_t)copy.flap_changes + 1);
	}
	alert_policy_clear(&p->pol);
	p->pol = copy;
	probe_def_unref(p->def);
	p->def = probe_def_ref(def);
	return 0;
}

/* Keeps inc (taken over) for a probe of that name added later, as if read at start. */
static void keep_loaded(struct alert_service *a, struct store_incident *inc)
{
	struct store_incident *v;
	size_t i = 0;

	/* A slot a restored incident left empty first: removing and re-adding probes must not grow this. */
	while (i < a->nloaded && a->loaded[i].probe != NULL)
		i++;
	if (i == a->nloaded) {
		if ((v = realloc(a->loaded, (a->nloaded + 1) * sizeof(*v))) == NULL) {
			store_incident_clear(inc);
			return;
		}
		a->loaded = v;
		a->nloaded++;
	}
	a->loaded[i] = *inc;
	memset(inc, 0, sizeof(*inc));
}

void alert_remove_probe(struct alert_service *a, const char *name)
{
	struct alert__probe **link = alert__probe_link(a, name), *p = link ? *link : NULL;

	if (p == NULL)
		return;
	*link = p->hnext;
	a->nprobes--;
	/* Its incidents stay as stored; should the probe come back, it picks them up again. */
	if (p->cur.id > 0)
		keep_loaded(a, &p->cur);
	if (p->done.id > 0)
		keep_loaded(a, &p->done);
	alert__probe_free(p);
}

/* ------------------------------------------------------------------ stop and close */

void alert_stop(struct alert_service *a, void (*cb)(void *arg), void *arg)
{
	a->stopping = true;
	a->stop_cb = cb;
	a->stop_arg = arg;
	uv_timer_stop(&a->maint_timer);
	alert__dispatch_pump(a);
}

void alert_abort(struct alert_service *a)
{
	for (size_t i = 0; i < a->nchans; i++) {
		struct alert__chan *c = &a->chans[i];
		if (c->send != NULL) {
			c->aborting = true;
			alert__send_abort(c->send);
		}
	}
	if (a->stopping)
		alert__dispatch_pump(a);
}

static void free_service(struct alert_service *a)
{
	for (size_t i = 0; i < a->nchans; i++) {
		alert__dispatch_clear(&a->chans[i]);
		json_decref(a->chans[i].refs);
		alert__channel_free(a->chans[i].ch);
	}
	free(a->chans);
	for (size_t i = 0; a->buckets && i < a->nbuckets; i++) {
		while (a->buckets[i] != NULL) {
			struct alert__probe *p = a->buckets[i];
			a->buckets[i] = p->hnext;
			alert__probe_free(p);
		}
	}
	free(a->buckets);
	for (size_t i = 0; i < a->nloaded; i++)
		store_incident_clear(&a->loaded[i]);
	free(a->loaded);
	store_maints_free(a->maints, a->nmaints);
	for (size_t i = 0; a->secret_copies && i < a->secrets.n; i++)
		free(a->secret_copies[i]);
	free(a->secret_copies);
	free(a);
}

static void maybe_closed(struct alert_service *a)
{
	void (*cb)(void *) = a->close_cb;
	void *arg = a->close_arg;

	if (a->open_handles > 0 || a->maint_busy)
		return;
	free_service(a);
	if (cb)
		cb(arg);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct alert_service *a = h->data;

	a->open_handles--;
	maybe_closed(a);
}

void alert_close(struct alert_service *a, void (*cb)(void *arg), void *arg)
{
	uv_handle_t *hs[] = { (uv_handle_t *)&a->wake, (uv_handle_t *)&a->maint_timer,
			      (uv_handle_t *)&a->committed_async };

	a->closing = true;
	a->close_cb = cb;
	a->close_arg = arg;
	for (size_t i = 0; i < a->nchans; i++)
		alert__dispatch_clear(&a->chans[i]);
	if (a->maint_busy)
		uv_cancel((uv_req_t *)&a->maint_work);
	for (size_t i = 0; i < 3; i++)
		if (hs[i]->data == a && !uv_is_closing(hs[i]))
			uv_close(hs[i], on_handle_closed);
	maybe_closed(a);
}

void alert_get_stats(const struct alert_service *a, struct alert_stats *out)
{
	*out = a->stats;
}
