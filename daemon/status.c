/* status.c - what the daemon says about itself: the status answer, systemd's STATUS line and watchdog pings. */
#include "daemon/daemon_int.h"

#include <unistd.h>

#define STATUS_EVERY_MS 60000

/* Probes scheduled and paused, retired ones aside. */
static void count_probes(const struct daemon__sched *s, size_t *all, size_t *paused)
{
	*all = *paused = 0;
	for (size_t i = 0; i < s->nentries; i++) {
		if (s->entries[i]->retired)
			continue;
		(*all)++;
		if (s->entries[i]->def->paused)
			(*paused)++;
	}
}

json_t *daemon__status_json(struct daemon *d)
{
	struct alert_stats st = { 0 };
	struct store_stats ss;
	json_t *probes = json_array();

	for (size_t i = 0; i < d->sched.nentries; i++) {
		struct daemon__entry *en = d->sched.entries[i];
		if (en->retired)
			continue;
		bool running = daemon__sched_running(&d->sched, en);
		json_array_append_new(probes, json_pack("{s:s, s:b, s:b, s:I, s:I}", "name", en->def->name, "paused",
							en->def->paused, "running", running, "every_ms",
							(json_int_t)en->def->every_ms, "failing",
							(json_int_t)en->failing));
	}
	if (d->alerts)
		alert_get_stats(d->alerts, &st);
	/* Results waiting for the database, and those lost because too many waited (storage.max_pending). */
	store_get_stats(d->store, &ss);
	return json_pack("{s:b, s:I, s:s, s:I, s:s, s:o, s:I, s:I, s:I, s:I, s:I}", "ok", 1, "pid",
			 (json_int_t)getpid(), "version", CANARY_VERSION, "started_ms", (json_int_t)d->started_ms,
			 "config", d->cfg->path, "probes", probes, "runs", (json_int_t)d->sched.runs, "skipped",
			 (json_int_t)d->sched.skipped, "alerts_pending", (json_int_t)st.pending, "results_pending",
			 (json_int_t)ss.pending, "results_dropped", (json_int_t)ss.dropped);
}

void daemon__notify_status(struct daemon *d)
{
	size_t all, paused;

	count_probes(&d->sched, &all, &paused);
	daemon_notifyf("STATUS=running %zu probes (%zu paused); %llu runs, %llu skipped", all, paused,
		       (unsigned long long)d->sched.runs, (unsigned long long)d->sched.skipped);
}

static void on_watchdog(uv_timer_t *t)
{
	(void)t;
	daemon_notify("WATCHDOG=1");
}

static void on_status_timer(uv_timer_t *t)
{
	daemon__notify_status(t->data);
}

int daemon__status_start(struct daemon *d)
{
	uint64_t wd = daemon_watchdog_ms();
	int rc;

	if ((rc = uv_timer_init(&d->loop, &d->status_timer)) < 0)
		return rc;
	d->status_timer.data = d;
	if ((rc = uv_timer_start(&d->status_timer, on_status_timer, STATUS_EVERY_MS, STATUS_EVERY_MS)) < 0)
		return rc;
	if (wd == 0)
		return 0;
	if ((rc = uv_timer_init(&d->loop, &d->watchdog)) < 0)
		return rc;
	d->watchdog.data = d;
	/* On the loop, at half the interval: a loop that is stuck stops the pings and systemd notices. */
	return uv_timer_start(&d->watchdog, on_watchdog, wd / 2 ? wd / 2 : 1, wd / 2 ? wd / 2 : 1);
}

void daemon__status_close(struct daemon *d)
{
	uv_handle_t *hs[] = { (uv_handle_t *)&d->status_timer, (uv_handle_t *)&d->watchdog };

	for (size_t i = 0; i < 2; i++) {
		if (hs[i]->data == d && !uv_is_closing(hs[i]))
			uv_close(hs[i], NULL);
	}
}
