/* sched.c - runs each probe every `every`, spread over the interval, never overlapping itself. */
#include "daemon/daemon_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_MS 1000000ull
/*
 * The longest interval the schedule computes with, about 146 years: the
 * config puts no upper bound on "every", and a product that wrapped past
 * 2^64 ns would turn "once in 600 years" into "every half millisecond".
 * Clock values (ns since boot) plus two of these still fit in 64 bits.
 */
#define EVERY_MAX_MS ((1ull << 62) / NS_PER_MS)
#define SKIP_OVERLAP "the previous run was still going"
#define SKIP_BEHIND "the daemon fell behind its schedule"

/* def's interval in ns, saturated at EVERY_MAX_MS. */
static uint64_t every_ns(const struct probe_def *def)
{
	uint64_t ms = def->every_ms > 0 ? (uint64_t)def->every_ms : 1;

	return (ms < EVERY_MAX_MS ? ms : EVERY_MAX_MS) * NS_PER_MS;
}

/* A stable phase per name: restarts keep each probe's slot, and probes don't all fire at once. */
static uint64_t phase_ns(const struct probe_def *def)
{
	uint64_t h = 1469598103934665603ull;

	/*
	 * Whole milliseconds, not coarser slots: probes sharing a slot start in
	 * one burst, which saves wake-ups at low rates but, at 4,000 runs/s, put
	 * 2 ms more of the loop's own work into measured latencies (p99).
	 */
	for (const char *c = def->name; *c; c++)
		h = (h ^ (unsigned char)*c) * 1099511628211ull;
	return (h % (every_ns(def) / NS_PER_MS)) * NS_PER_MS;
}

/* Counts k occurrences of sum's condition; true when they are to be logged, with *n the count since the last time. */
static bool summary_due(struct daemon__summary *sum, uint64_t k, uint64_t now, uint64_t *n)
{
	sum->n += k;
	if (sum->logged_ns != 0 && now - sum->logged_ns < DAEMON__SUMMARY_NS)
		return false;
	*n = sum->n;
	sum->n = 0;
	sum->logged_ns = now;
	return true;
}

static void log_behind(uint64_t n, bool first)
{
	daemon_log(LOG_WARNING, "the daemon is behind schedule: %" PRIu64 "%s run%s skipped%s", n,
		   first ? "" : " more", n == 1 ? "" : "s", first ? "; further ones are counted every 10 s" : "");
}

static void log_dropped(uint64_t n, bool first)
{
	daemon_log(LOG_WARNING, "storage is behind: %" PRIu64 "%s result%s dropped%s", n, first ? "" : " more",
		   n == 1 ? "" : "s", first ? "; further ones are counted every 10 s" : "");
}

/* Hands res (stolen) to storage; name is borrowed from the definition, as res may be gone. */
static void submit(struct daemon__sched *s, struct probe_result *res, const char *name)
{
	if (s->store == NULL) {
		probe_result_free(res);
		return;
	}
	if (store_submit(s->store, res) != -ENOBUFS)
		return;
	bool first = s->dropped.logged_ns == 0;
	uint64_t n;
	daemon_log(LOG_DEBUG, "storage is behind: a result of probe %s was dropped", name);
	if (summary_due(&s->dropped, 1, uv_hrtime(), &n))
		log_dropped(n, first);
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

/* Removes en from the array and frees it; its timer has closed and no run is left. */
static void entry_free(struct daemon__sched *s, struct daemon__entry *en)
{
	for (size_t i = 0; i < s->nentries; i++) {
		if (s->entries[i] != en)
			continue;
		memmove(&s->entries[i], &s->entries[i + 1], (s->nentries - i - 1) * sizeof(*s->entries));
		s->nentries--;
		if (en->retired)
			s->nretired--;
		break;
	}
	probe_def_unref(en->def);
	free(en);
}

/* Answers the run-now requests waiting for en's run; result is borrowed (NULL: out of memory). */
static void answer_waiters(struct daemon__entry *en, json_t *result)
{
	struct daemon__pending *w = en->waiters, *starter = en->starter, *next;

	/* Detached first: an answer may make its connection ask for another run at once. */
	en->waiters = NULL;
	en->starter = NULL;
	for (; w != NULL; w = next) {
		next = w->next;
		json_t *ans = result ? json_pack("{s:b, s:O}", "ok", 1, "result", result) : NULL;
		if (ans != NULL && w != starter)
			json_object_set_new(ans, "joined", json_true());
		w->done(w, ans);
	}
}

static void on_run_done(struct probe_result *res, void *arg)
{
	struct daemon__entry *en = arg;
	struct daemon__sched *s = en->sched;
	/* Built now: storage steals the result. */
	json_t *rj = en->waiters ? probe_result_json(res) : NULL;

	en->run = NULL;
	res->lag_us = en->run_lag_us;
	s->runs++;
	log_result(en, res);
	/* Before submit: the incident change is queued behind the run it follows. */
	if (s->alerts)
		alert_on_result(s->alerts, res);
	submit(s, res, en->def->name);
	answer_waiters(en, rj);
	json_decref(rj);
	if (en->retired && en->timer_closed && en->run == NULL)
		entry_free(s, en);
	if (s->stopping && probe_engine_active(s->engine) == 0 && s->idle_cb)
		s->idle_cb(s);
}

/* Records the run due at due (uv_hrtime's clock) as skipped, at the time it was due. */
static void record_skip(struct daemon__entry *en, const char *why, int prio, uint64_t due, uint64_t now)
{
	/* A timer may fire up to a millisecond early (on_due): then it is not late at all. */
	int64_t late_ms = now > due ? (int64_t)((now - due) / NS_PER_MS) : 0;
	struct probe_result *res = probe_result_new(en->def, probe_now_ms() - late_ms, PROBE_SKIPPED, why);

	en->sched->skipped++;
	daemon_log(prio, "probe %s: run skipped: %s", en->def->name, why);
	/* started_ms is the slot's time: a skipped run did not start late, it did not start. */
	if (res)
		submit(en->sched, res, en->def->name);
}

/* Where name goes in the sorted array: the index of the first entry not before it. */
static size_t slot_of(const struct daemon__sched *s, const char *name)
{
	size_t lo = 0, hi = s->nentries;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(s->entries[mid]->def->name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * The entry whose run in flight a run of en would overlap: en itself, or a
 * retired entry of the same name (removed by one reload, added back by a
 * later one while its last run goes on). NULL when none is running.
 */
static struct daemon__entry *running_as(const struct daemon__sched *s, struct daemon__entry *en)
{
	const char *name = en->def->name;

	if (en->run != NULL)
		return en;
	if (s->nretired == 0)
		return NULL;
	/* Entries of one name sort together. */
	for (size_t i = slot_of(s, name); i < s->nentries && strcmp(s->entries[i]->def->name, name) == 0; i++)
		if (s->entries[i]->run != NULL)
			return s->entries[i];
	return NULL;
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
	uint64_t every = every_ns(en->def), now = uv_hrtime(), behind = 0, n;

	if (s->stopping)
		return;
	/* The loop's clock is coarser than hrtime: a timer may fire a little early. */
	if (now + NS_PER_MS < en->due_ns) {
		arm(en);
		return;
	}
	if (running_as(s, en) != NULL) {
		/* The first of a row is news; the rest are debug lines. */
		record_skip(en, SKIP_OVERLAP, ++en->skipping == 1 ? LOG_INFO : LOG_DEBUG, en->due_ns, now);
	} else {
		if (en->skipping > 1)
			daemon_log(LOG_INFO, "probe %s: %" PRIu64 " runs in a row were skipped while a run went on",
				   en->def->name, en->skipping);
		en->skipping = 0;
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
		record_skip(en, SKIP_BEHIND, LOG_DEBUG, en->due_ns, now);
		en->due_ns += every;
		behind++;
	}
	/* Every probe falls behind at once: one line for all, not one per run. */
	bool first = s->behind.logged_ns == 0;
	if (behind > 0 && summary_due(&s->behind, behind, now, &n))
		log_behind(n, first);
	arm(en);
}

/* A new entry for def, in the array, its timer armed unless def is paused. */
static int entry_add(struct daemon__sched *s, struct probe_def *def, uint64_t now)
{
	struct daemon__entry *en;
	size_t at;
	int rc;

	if (s->nentries == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct daemon__entry **v = realloc(s->entries, cap * sizeof(*v));
		if (v == NULL)
			return -ENOMEM;
		s->entries = v;
		s->cap = cap;
	}
	if ((en = calloc(1, sizeof(*en))) == NULL)
		return -ENOMEM;
	if ((rc = uv_timer_init(s->loop, &en->timer)) < 0) {
		free(en);
		return rc;
	}
	en->timer.data = en;
	en->sched = s;
	en->def = probe_def_ref(def);
	en->due_ns = now + phase_ns(def);
	at = slot_of(s, def->name);
	memmove(&s->entries[at + 1], &s->entries[at], (s->nentries - at) * sizeof(*s->entries));
	s->entries[at] = en;
	s->nentries++;
	s->open_timers++;
	if (!def->paused)
		arm(en);
	return 0;
}

int daemon__sched_start(struct daemon__sched *s, struct probe_def **probes, size_t n)
{
	uint64_t now = uv_hrtime();
	int rc;

	for (size_t i = 0; i < n; i++)
		if ((rc = entry_add(s, probes[i], now)) < 0)
			return rc;
	return 0;
}

struct daemon__entry *daemon__sched_find(struct daemon__sched *s, const char *name)
{
	/* A retired entry may share the name of a live one; it sorts next to it. */
	for (size_t i = slot_of(s, name); i < s->nentries && strcmp(s->entries[i]->def->name, name) == 0; i++)
		if (!s->entries[i]->retired)
			return s->entries[i];
	return NULL;
}

int daemon__sched_add(struct daemon__sched *s, struct probe_def *def)
{
	return entry_add(s, def, uv_hrtime());
}

/* The first start on en's grid (due_ns, every apart) that is not before now. */
static uint64_t next_slot(const struct daemon__entry *en, uint64_t every, uint64_t now)
{
	if (en->due_ns >= now)
		return en->due_ns;
	return en->due_ns + (now - en->due_ns + every - 1) / every * every;
}

void daemon__sched_update(struct daemon__sched *s, struct daemon__entry *en, struct probe_def *def)
{
	struct probe_def *old = en->def;
	uint64_t now = uv_hrtime(), old_every = every_ns(old), new_every = every_ns(def);

	(void)s;
	en->def = probe_def_ref(def);
	if (def->paused) {
		uv_timer_stop(&en->timer);
	} else if (old->paused) {
		/* Back on the grid it left: a pause and resume within one interval is not a second run in it. */
		en->due_ns = next_slot(en, new_every, now);
		arm(en);
	} else if (new_every != old_every) {
		/*
		 * due_ns is the previous start plus the old every: the next start is
		 * that plus the new every, neither a second run soon nor a gap. Added
		 * before subtracting: soon after boot the clock may be below an every.
		 */
		en->due_ns = en->due_ns + new_every > old_every ? en->due_ns + new_every - old_every : 0;
		if (en->due_ns < now)
			en->due_ns = now;
		arm(en);
	}
	probe_def_unref(old);
}

static void on_timer_closed(uv_handle_t *h)
{
	struct daemon__entry *en = h->data;
	struct daemon__sched *s = en->sched;

	en->timer_closed = true;
	s->open_timers--;
	if (s->closing) {
		if (s->open_timers > 0)
			return;
		while (s->nentries > 0)
			entry_free(s, s->entries[s->nentries - 1]);
		free(s->entries);
		s->entries = NULL;
		s->cap = 0;
		s->close_cb(s);
		return;
	}
	if (en->retired && en->run == NULL)
		entry_free(s, en);
}

void daemon__sched_remove(struct daemon__sched *s, struct daemon__entry *en)
{
	en->retired = true;
	s->nretired++;
	uv_close((uv_handle_t *)&en->timer, on_timer_closed);
}

bool daemon__sched_running(const struct daemon__sched *s, struct daemon__entry *en)
{
	return running_as(s, en) != NULL;
}

int daemon__sched_run_now(struct daemon__sched *s, struct daemon__entry *en, struct daemon__pending *p)
{
	/* A run in flight, en's or its retired namesake's, is joined: two never overlap. */
	struct daemon__entry *runner = running_as(s, en);
	struct daemon__pending **tail;

	if (s->stopping)
		return -ECANCELED;
	if (runner == NULL) {
		/* Traced, for the operator: each step's checks, method and URL come back. */
		int rc = probe_run_start(s->engine, en->def, PROBE_RUN_TRACE, on_run_done, en, &en->run);
		if (rc < 0) {
			en->run = NULL;
			return rc;
		}
		en->run_lag_us = 0;
		en->starter = p;
		runner = en;
	}
	for (tail = &runner->waiters; *tail != NULL; tail = &(*tail)->next)
		;
	p->next = NULL;
	*tail = p;
	return 0;
}

void daemon__sched_stop(struct daemon__sched *s)
{
	s->stopping = true;
	for (size_t i = 0; i < s->nentries; i++)
		if (!s->entries[i]->retired)
			uv_timer_stop(&s->entries[i]->timer);
	if (probe_engine_active(s->engine) == 0 && s->idle_cb)
		s->idle_cb(s);
}

void daemon__sched_abort(struct daemon__sched *s)
{
	/* Backwards: an abort's callback may free a retired entry, which shifts the ones after it. */
	for (size_t i = s->nentries; i-- > 0;)
		if (i < s->nentries && s->entries[i]->run)
			probe_run_abort(s->entries[i]->run);
}

void daemon__sched_close(struct daemon__sched *s, void (*cb)(struct daemon__sched *s))
{
	/* What the summaries counted since they last spoke. */
	if (s->behind.n > 0)
		log_behind(s->behind.n, false);
	if (s->dropped.n > 0)
		log_dropped(s->dropped.n, false);
	s->behind.n = s->dropped.n = 0;
	s->close_cb = cb;
	s->closing = true;
	if (s->open_timers == 0) {
		while (s->nentries > 0)
			entry_free(s, s->entries[s->nentries - 1]);
		free(s->entries);
		s->entries = NULL;
		s->cap = 0;
		cb(s);
		return;
	}
	for (size_t i = 0; i < s->nentries; i++)
		if (!uv_is_closing((uv_handle_t *)&s->entries[i]->timer))
			uv_close((uv_handle_t *)&s->entries[i]->timer, on_timer_closed);
}
