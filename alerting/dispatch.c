/* dispatch.c - delivers the outbox: per channel in order, one attempt at a time, rate-limited, retried with backoff. */
#include "alerting/alert_int.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/random.h>

#define NS_PER_MS 1000000ull
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS (5 * 60 * 1000)

/*
 * Each channel is a FIFO: an event waits until the transaction that wrote it
 * has committed (so a crash can never leave a delivered event unrecorded),
 * until its retry time, and until the channel's token bucket has a token.
 * One attempt per channel is in flight at a time, so events of the same
 * incident (and every other) keep their order on each channel.
 */

struct alert__event *alert__event_new(int64_t id, int64_t incident_id, int64_t created_ms, const char *kind,
				      const char *probe, json_t *payload)
{
	struct alert__event *ev = calloc(1, sizeof(*ev));

	if (ev == NULL || (ev->kind = strdup(kind)) == NULL || (ev->probe = strdup(probe)) == NULL) {
		if (ev)
			free(ev->kind);
		free(ev);
		json_decref(payload);
		return NULL;
	}
	ev->refs = 1;
	ev->id = id;
	ev->incident_id = incident_id;
	ev->created_ms = created_ms;
	ev->payload = payload;
	return ev;
}

void alert__event_unref(struct alert__event *ev)
{
	if (ev == NULL || --ev->refs > 0)
		return;
	free(ev->kind);
	free(ev->probe);
	json_decref(ev->payload);
	free(ev);
}

int alert__dispatch_add(struct alert__chan *c, struct alert__event *ev, const struct store_delivery *st,
			uint64_t seq)
{
	struct alert__dlv *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return -ENOMEM;
	d->st = *st;
	d->st.channel = strdup(st->channel);
	d->st.error = st->error ? strdup(st->error) : NULL;
	d->st.ref = NULL;
	d->seq = seq;
	d->ev = ev;
	ev->refs++;
	if (c->tail)
		c->tail->next = d;
	else
		c->head = d;
	c->tail = d;
	c->a->stats.pending++;
	return 0;
}

static void dlv_free(struct alert__dlv *d)
{
	alert__event_unref(d->ev);
	store_delivery_clear(&d->st);
	free(d);
}

static void pop(struct alert__chan *c)
{
	struct alert__dlv *d = c->head;

	c->head = d->next;
	if (c->head == NULL)
		c->tail = NULL;
	c->a->stats.pending--;
	dlv_free(d);
}

void alert__chan_ref_set(struct alert__chan *c, int64_t incident_id, const char *ref)
{
	char key[24];

	snprintf(key, sizeof(key), "%" PRId64, incident_id);
	if (ref)
		json_object_set_new(c->refs, key, json_string(ref));
	else
		json_object_del(c->refs, key);
}

const char *alert__chan_ref(const struct alert__chan *c, int64_t incident_id)
{
	char key[24];

	snprintf(key, sizeof(key), "%" PRId64, incident_id);
	return json_string_value(json_object_get(c->refs, key));
}

/* Writes d's state to the outbox (a copy, scrubbed). */
static void persist(struct alert__chan *c, const struct alert__dlv *d)
{
	struct alert_service *a = c->a;
	struct store_alert_op *op = calloc(1, sizeof(*op));
	struct store_delivery *st = calloc(1, sizeof(*st));

	if (op == NULL || st == NULL) {
		free(op);
		free(st);
		alert__logf(a, LOG_ERR, "out of memory: the state of an alert to %s is not recorded", c->ch->name);
		return;
	}
	*st = d->st;
	st->channel = strdup(d->st.channel);
	st->error = alert__scrub(d->st.error ? strdup(d->st.error) : NULL, &a->secrets, c->ch);
	st->ref = d->st.ref ? strdup(d->st.ref) : NULL;
	op->deliveries = st;
	op->ndeliveries = 1;
	if (store_submit_alert(a->store, op, NULL) < 0)
		alert__logf(a, LOG_ERR, "cannot record the state of an alert to %s", c->ch->name);
}

/* Exponential, with jitter so that channels (and canaries) that failed together do not retry together. */
static int64_t backoff_ms(int attempts)
{
	int64_t ms = BACKOFF_MIN_MS;
	uint32_t r = 0;

	for (int i = 1; i < attempts && ms < BACKOFF_MAX_MS; i++)
		ms *= 2;
	if (ms > BACKOFF_MAX_MS)
		ms = BACKOFF_MAX_MS;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)uv_hrtime();
	/* 75% to 125% of the step. */
	return ms * 3 / 4 + (int64_t)(r % (uint32_t)(ms / 2 + 1));
}

static void set_error(struct alert__dlv *d, const char *why)
{
	free(d->st.error);
	d->st.error = why ? strdup(why) : NULL;
}

/* The end of d: delivered, given up or skipped. Logged, recorded, popped. */
static void settle(struct alert__chan *c, int state, const char *why, int prio)
{
	struct alert__dlv *d = c->head;
	struct alert_service *a = c->a;
	static const char *const verbs[] = { "", "delivered to", "given up for", "skipped for" };

	d->st.state = state;
	d->st.done_ms = probe_now_ms();
	d->st.next_ms = 0;
	set_error(d, why);
	alert__logf(a, prio, "alert %s (incident %" PRId64 ", probe %s) %s %s%s%s", d->ev->kind,
		    d->ev->incident_id, d->ev->probe, verbs[state], c->ch->name, why ? ": " : "", why ? why : "");
	if (state == STORE_DLV_DELIVERED)
		a->stats.delivered++;
	else if (state == STORE_DLV_GAVE_UP)
		a->stats.gave_up++;
	else
		a->stats.skipped++;
	persist(c, d);
	pop(c);
}

static void retry_later(struct alert__chan *c, int64_t after_ms, const char *why)
{
	struct alert__dlv *d = c->head;
	struct alert_service *a = c->a;
	int64_t now = probe_now_ms(), delay = after_ms >= 0 ? after_ms : backoff_ms(d->st.attempts);

	if (now + delay - d->ev->created_ms > c->ch->retry_for_ms) {
		char msg[512];
		snprintf(msg, sizeof(msg), "still failing after retrying for %" PRId64 " s: %s",
			 (now - d->ev->created_ms) / 1000, why ? why : "no answer");
		settle(c, STORE_DLV_GAVE_UP, msg, LOG_ERR);
		return;
	}
	d->st.next_ms = now + delay;
	set_error(d, why);
	a->stats.retried++;
	alert__logf(a, d->st.attempts == 1 ? LOG_WARNING : LOG_NOTICE,
		    "alert %s (incident %" PRId64 ", probe %s) to %s failed (attempt %d: %s); retrying in %.1f s",
		    d->ev->kind, d->ev->incident_id, d->ev->probe, c->ch->name, d->st.attempts,
		    why ? why : "no answer", (double)delay / 1000.0);
	persist(c, d);
}

static struct alert_event view(const struct alert__chan *c, const struct alert__dlv *d)
{
	return (struct alert_event){ .id = d->ev->id, .kind = d->ev->kind, .incident_id = d->ev->incident_id,
				     .probe = d->ev->probe, .payload = d->ev->payload,
				     .ref = alert__chan_ref(c, d->ev->incident_id) };
}

static void on_answer(const struct alert_response *resp, void *arg)
{
	struct alert__chan *c = arg;
	struct alert__dlv *d = c->head;
	struct alert_event ev = view(c, d);
	struct alert_outcome out = { .retry_after_ms = -1 };

	c->send = NULL;
	if (c->aborting) {
		/* Abandoned at shutdown: it stays pending in the outbox for the next start. */
		c->aborting = false;
		return;
	}
	alert__channel_classify(c->ch, &ev, resp, &out);
	d->st.status = resp->status;
	out.why = alert__scrub(out.why, &c->a->secrets, c->ch);
	if (out.verdict == ALERT_DELIVERED) {
		if (out.ref) {
			alert__chan_ref_set(c, d->ev->incident_id, out.ref);
			d->st.ref = strdup(out.ref);
		}
		if (strcmp(d->ev->kind, "resolved") == 0)
			alert__chan_ref_set(c, d->ev->incident_id, NULL);
		settle(c, STORE_DLV_DELIVERED, out.why, LOG_INFO);
	} else if (out.verdict == ALERT_RETRY) {
		retry_later(c, out.retry_after_ms, out.why);
	} else {
		settle(c, STORE_DLV_GAVE_UP, out.why ? out.why : "refused", LOG_ERR);
	}
	alert__outcome_clear(&out);
	alert__dispatch_pump(c->a);
}

/* Renders and starts head's attempt, or settles head when there is nothing to send. */
static void attempt(struct alert__chan *c)
{
	struct alert__dlv *d = c->head;
	struct alert_event ev = view(c, d);
	struct alert_request req = { 0 };
	char *why = NULL, msg[160];
	int rc = alert__channel_render(c->ch, &ev, &req, &why);

	enum alert_req_kind kind = req.kind;

	if (rc == ALERT__SKIP) {
		c->tokens += 1.0; /* nothing was sent */
		settle(c, STORE_DLV_SKIPPED, why, LOG_DEBUG);
		free(why);
		return;
	}
	free(why);
	if (rc < 0) {
		snprintf(msg, sizeof(msg), "cannot build the message: %s", strerror(-rc));
		settle(c, STORE_DLV_GAVE_UP, msg, LOG_ERR);
		return;
	}
	d->st.attempts++;
	rc = alert__send_start(c->a->loop, c->a->engine, &req, c->ch->timeout_ms, on_answer, c, &c->send);
	alert__request_clear(&req);
	if (rc < 0) {
		c->send = NULL;
		snprintf(msg, sizeof(msg), "cannot start: %s", uv_strerror(rc));
		/* A command that cannot be spawned will not start next time either. */
		if (kind == ALERT_REQ_EXEC)
			settle(c, STORE_DLV_GAVE_UP, msg, LOG_ERR);
		else
			retry_later(c, -1, msg);
	}
}

/* Takes a token if one is there; otherwise says when the next comes. */
static bool take_token(struct alert__chan *c, uint64_t now_ns, uint64_t *wait_ns)
{
	double rate = (double)c->ch->rate_per_min / 60e9, burst = c->ch->rate_per_min / 4.0;

	if (burst < 1.0)
		burst = 1.0;
	c->tokens += (double)(now_ns - c->refill_ns) * rate;
	if (c->tokens > burst)
		c->tokens = burst;
	c->refill_ns = now_ns;
	if (c->tokens >= 1.0) {
		c->tokens -= 1.0;
		return true;
	}
	*wait_ns = (uint64_t)((1.0 - c->tokens) / rate) + 1;
	return false;
}

static void on_wake(uv_timer_t *t)
{
	alert__dispatch_pump(t->data);
}

/*
 * Works channel c's queue as far as it may go now; *next_ns gets when to look
 * again (0: not by time). An event waits for its commit, except while the
 * store cannot write: alerting must go on then, at the price of a possible
 * repeat if the daemon also dies before the write succeeds.
 */
static void pump_chan(struct alert__chan *c, uint64_t committed, bool store_failing, uint64_t now_ns,
		      uint64_t *next_ns)
{
	while (c->head != NULL && c->send == NULL && !c->a->stopping) {
		struct alert__dlv *d = c->head;
		int64_t now_ms = probe_now_ms();
		uint64_t wait = 0;
		if (d->seq > committed && !store_failing) {
			/* The commit's callback pumps again; look anyway in a second,
			 * in case writes have started failing meanwhile. */
			wait = 1000 * NS_PER_MS;
			if (*next_ns == 0 || now_ns + wait < *next_ns)
				*next_ns = now_ns + wait;
			return;
		}
		if (d->st.next_ms > now_ms) {
			wait = (uint64_t)(d->st.next_ms - now_ms) * NS_PER_MS;
		} else if (!take_token(c, now_ns, &wait)) {
			/* wait was set */
		} else {
			attempt(c);
			continue;
		}
		if (*next_ns == 0 || now_ns + wait < *next_ns)
			*next_ns = now_ns + wait;
		return;
	}
}

void alert__dispatch_pump(struct alert_service *a)
{
	uint64_t committed = atomic_load(&a->committed), next = 0, now = uv_hrtime();
	struct store_stats st;

	if (a->closing)
		return;
	store_get_stats(a->store, &st);
	for (size_t i = 0; i < a->nchans; i++)
		pump_chan(&a->chans[i], committed, st.failing, now, &next);
	uv_timer_stop(&a->wake);
	if (next > 0 && !a->stopping)
		uv_timer_start(&a->wake, on_wake, (next - now + NS_PER_MS - 1) / NS_PER_MS, 0);
	if (a->stopping && a->stop_cb != NULL) {
		for (size_t i = 0; i < a->nchans; i++)
			if (a->chans[i].send != NULL)
				return;
		void (*cb)(void *) = a->stop_cb;
		a->stop_cb = NULL;
		cb(a->stop_arg);
	}
}

void alert__dispatch_clear(struct alert__chan *c)
{
	if (c->send != NULL) {
		c->aborting = true;
		alert__send_abort(c->send);
	}
	c->send = NULL;
	while (c->head != NULL)
		pop(c);
}
