/* retention.c - rolls up and prunes old runs: a pass a minute after start, then hourly, on a worker thread. */
#include "daemon/daemon_int.h"

#include <inttypes.h>
#include <string.h>

#define FIRST_PASS_MS 60000
#define PASS_EVERY_MS 3600000
/* A pass stops after this long, so a large backlog (retention just enabled or shortened) is worked off in slices. */
#define PASS_BUDGET_MS 30000
#define NEXT_SLICE_MS 60000

static void retention_work(uv_work_t *w)
{
	struct daemon *d = w->data;

	memset(&d->retention_stats, 0, sizeof(d->retention_stats));
	/* Blocking, in short transactions: the writer and readers go on between them. */
	d->retention_rc = store_retention_run(d->store, &d->retention, probe_now_ms(), &d->retention_stats);
}

static void on_retention_timer(uv_timer_t *t);

static void retention_done(uv_work_t *w, int status)
{
	struct daemon *d = w->data;
	const struct store_retention_stats *st = &d->retention_stats;

	d->retention_busy = false;
	if (status < 0)
		return;
	if (d->retention_rc < 0) {
		daemon_log(LOG_ERR, "retention: %s; trying again in an hour", strerror(-d->retention_rc));
		return;
	}
	if (st->more && !d->stopping)
		uv_timer_start(&d->retention_timer, on_retention_timer, NEXT_SLICE_MS, PASS_EVERY_MS);
	if (st->hours_rolled > 0 || st->runs_deleted > 0 || st->hourly_deleted > 0)
		daemon_log(LOG_INFO, "retention: rolled up %" PRId64 " probe-hour%s, deleted %" PRId64
			   " run%s and %" PRId64 " hourly rollup%s", st->hours_rolled, st->hours_rolled == 1 ? "" : "s",
			   st->runs_deleted, st->runs_deleted == 1 ? "" : "s", st->hourly_deleted,
			   st->hourly_deleted == 1 ? "" : "s");
}

static void on_retention_timer(uv_timer_t *t)
{
	struct daemon *d = t->data;
	int rc;

	/* One pass at a time: a long one simply delays the next. */
	if (d->retention_busy || d->stopping || d->store == NULL)
		return;
	/* Copied on the loop: a reload may free the config while the pass runs. */
	d->retention = (struct store_retention){ .raw_ms = d->cfg->retention_raw_ms,
						 .hourly_ms = d->cfg->retention_hourly_ms,
						 .budget_ms = PASS_BUDGET_MS, .cancel = &d->retention_cancel };
	d->retention_work.data = d;
	if ((rc = uv_queue_work(&d->loop, &d->retention_work, retention_work, retention_done)) < 0)
		daemon_log(LOG_ERR, "retention: cannot start a pass: %s", uv_strerror(rc));
	else
		d->retention_busy = true;
}

int daemon__retention_start(struct daemon *d)
{
	int rc;

	if ((rc = uv_timer_init(&d->loop, &d->retention_timer)) < 0)
		return rc;
	d->retention_timer.data = d;
	return uv_timer_start(&d->retention_timer, on_retention_timer, FIRST_PASS_MS, PASS_EVERY_MS);
}

void daemon__retention_close(struct daemon *d)
{
	uv_handle_t *h = (uv_handle_t *)&d->retention_timer;

	/* A pass in flight keeps the loop running until its done callback (store_close comes after): cut it short. */
	atomic_store(&d->retention_cancel, true);
	if (h->data == d && !uv_is_closing(h))
		uv_close(h, NULL);
}
