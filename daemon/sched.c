/* sched.c - runs each probe every `every`, spread over the interval, never overlapping itself. */
#include "daemon/daemon_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_MS 1000000ull

/* A stable phase per name: restarts keep each probe's slot, and probes don't all fire at once. */
static uint64_t phase_ns(const struct probe_def *def)
{
	uint64_t h = 1469598103934665603ull;

	for (const char *c = def->name; *c; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ull;
	return (h % (uint64_t)def->every_ms) * NS_PER_MS;
}

/* Hands res (stolen) to storage; name is borrowed from the definition, as res may be gone. */
static void submit(struct daemon__sched *s, struct probe_result *res, const char *name)
{
	if (s->store == NULL) {
		probe_result_free(res);
		return;
	}
	if (store_submit(s->store, res) == -ENOBUFS)
		daemon_log(LOG_WARNING, "storage is behind: a result of probe %s was dropped", name);
}

static void log_result(struct daemon__entry *en, const struct probe_result *res)
{
	const char *name = en->def->name;
	double ms = (double)res->duration_us / 1000.0;

	if (res->cls == PROBE_OK) {
		if (en->failing > 0)
			daemon_log(LOG_NOTICE, "probe %s recovered after %" PRId64 " failed run%s (%.1f ms)",
				   name, en->failing, en->failing == 1 ? "" : "s", ms);
		else
			daemon_log(LOG_DEBUG, "probe %s ok in %.1f ms (%zu step%s)", name, ms,
				   res->nsteps, res->nsteps == 1 ? "" : "s");
		en->failing = 0;
		return;
	}
	if (res->cls == PROBE_ABORTED) {
		daemon_log(LOG_INFO, "probe %s: run abandoned at shutdown", name);
		return;
	}
	en->failing++;
	daemon_log(en->failing == 1 ? LOG_WARNING : LOG_INFO, "probe %s failed (%s, %.0f ms): %s%s", name,
		   probe_class_name(res->cls), ms, res->error ? res->error : "",
		   en->failing == 1 ? "" : " (again)");
}

static void on_run_done(struct probe_result *res, void *arg)
{
	struct daemon__entry *en = arg;
	struct daemon__sched *s = en->sched;

	en->run = NULL;
	res->lag_us = en->run_lag_us;
	s->runs++;
	log_result(en, res);
	/* Before submit: the incident change is queued behind the run it follows. */
	if (s->alerts)
		alert_on_result(s->alerts, res);
	submit(s, res, en->def->name);
	if (s->stopping && probe_engine_active(s->engine) == 0 && s->idle_cb)
		s->idle_cb(s);
}

static void record_skip(struct daemon__entry *en, const char *why)
{
	struct probe_result *res = probe_result_new(en->def, probe_now_ms(), PROBE_SKIPPED, why);

	en->sched->skipped++;
	daemon_log(LOG_INFO, "probe %s: run skipped: %s", en->def->name, why);
	if (res)
		submit(en->sched, res, en->def->name);
}

static void on_due(uv_timer_t *t);

static void arm(struct daemon__entry *en)
{
	/* Refresh the loop's clock, or the timer is measured from a stale "now" and fires late. */
	uv_update_time(en->sched->loop);
	uint64_t now = uv_hrtime();
	uint64_t delay = en->due_ns > now ? (en->due_ns - now + NS_PER_MS - 1) / NS_PER_MS : 0;
	uv_timer_start(&en->timer, on_due, delay, 0);
}

static void on_due(uv_timer_t *t)
{
	struct daemon__entry *en = t->data;
	struct daemon__sched *s = en->sched;
	uint64_t every = (uint64_t)en->def->every_ms * NS_PER_MS, now = uv_hrtime();

	if (s->stopping)
		return;
	/* The loop's clock is coarser than hrtime: a timer may fire a little early. */
	if (now + NS_PER_MS < en->due_ns) {
		arm(en);
		return;
	}
	if (en->run != NULL) {
		record_skip(en, "the previous run was still going");
	} else {
		en->run_lag_us = (int64_t)(now - en->due_ns) / 1000;
		int rc = probe_run_start(s->engine, en->def, 0, on_run_done, en, &en->run);
		if (rc < 0) {
			en->run = NULL;
			daemon_log(LOG_ERR, "probe %s: cannot start a run: %s", en->def->name, uv_strerror(rc));
		}
	}
	en->due_ns += every;
	/* A loop that stalled for whole intervals: those runs did not happen, and say so. */
	while (en->due_ns + NS_PER_MS <= now) {
		record_skip(en, "the daemon fell behind its schedule");
		en->due_ns += every;
	}
	arm(en);
}

int daemon__sched_start(struct daemon__sched *s, struct probe_def **probes, size_t n)
{
	uint64_t now = uv_hrtime();

	s->entries = calloc(n ? n : 1, sizeof(*s->entries));
	if (s->entries == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct daemon__entry *en = calloc(1, sizeof(*en));
		if (en == NULL)
			return -ENOMEM;
		int rc = uv_timer_init(s->loop, &en->timer);
		if (rc < 0) {
			free(en);
			return rc;
		}
		en->timer.data = en;
		en->sched = s;
		en->def = probe_def_ref(probes[i]);
		en->due_ns = now + phase_ns(en->def);
		s->entries[s->nentries++] = en;
		s->open_timers++;
		arm(en);
	}
	return 0;
}

void daemon__sched_stop(struct daemon__sched *s)
{
	s->stopping = true;
	for (size_t i = 0; i < s->nentries; i++)
		uv_timer_stop(&s->entries[i]->timer);
	if (probe_engine_active(s->engine) == 0 && s->idle_cb)
		s->idle_cb(s);
}

void daemon__sched_abort(struct daemon__sched *s)
{
	for (size_t i = 0; i < s->nentries; i++)
		if (s->entries[i]->run)
			probe_run_abort(s->entries[i]->run);
}

static void on_entry_closed(uv_handle_t *h)
{
	struct daemon__entry *en = h->data;
	struct daemon__sched *s = en->sched;

	probe_def_unref(en->def);
	free(en);
	if (--s->open_timers == 0) {
		free(s->entries);
		s->entries = NULL;
		s->nentries = 0;
		s->close_cb(s);
	}
}

void daemon__sched_close(struct daemon__sched *s, void (*cb)(struct daemon__sched *s))
{
	s->close_cb = cb;
	if (s->open_timers == 0) {
		free(s->entries);
		s->entries = NULL;
		cb(s);
		return;
	}
	for (size_t i = 0; i < s->nentries; i++)
		uv_close((uv_handle_t *)&s->entries[i]->timer, on_entry_closed);
}
