/* writer.c - the queue from the loop to the writer thread, which batches it into transactions and retries failures. */
#include "storage/storage.h"
#include "storage/storage_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#define NS_PER_MS 1000000ull
#define RING_MIN 1024

/*
 * The queue is a ring of items (a result or an alert op) guarded by s->lock.
 * The loop's thread appends (store_submit, store_submit_alert) and only the
 * writer removes, and only from the head, after the batch it copied from
 * there has committed: while a batch is written its items stay queued, so a
 * failed batch loses nothing and is simply tried again.
 */

static struct store__item ring_at(const struct store *s, size_t i)
{
	return s->ring[(s->head + i) % s->cap];
}

/* Frees what it holds. */
static void item_free(struct store__item it)
{
	if (it.kind == STORE__ITEM_ALERT)
		store_alert_op_free(it.u.alert);
	else
		probe_result_free(it.u.result);
}

/*
 * Appends it. The caller has checked max_pending for results; alert ops may
 * go past it. Returns 0 or -ENOMEM. Called with lock held.
 */
static int ring_push(struct store *s, struct store__item it)
{
	if (s->count == s->cap) {
		/* Doubling is rare (a handful of times per outage), so the copy under
		 * the lock is short. Results alone never need more than max_pending
		 * slots; alert ops beyond it grow the ring past it. */
		size_t cap = s->cap ? s->cap * 2 : RING_MIN;
		struct store__item *ring = NULL;

		if (cap > s->max_pending && s->max_pending > s->count)
			cap = s->max_pending;
		ring = malloc(cap * sizeof(*ring));
		if (ring == NULL)
			return -ENOMEM;
		for (size_t i = 0; i < s->count; i++)
			ring[i] = ring_at(s, i);
		free(s->ring);
		s->ring = ring;
		s->cap = cap;
		s->head = 0;
	}
	s->ring[(s->head + s->count) % s->cap] = it;
	s->count++;
	return 0;
}

/* Removes the n oldest items (what they hold is the caller's). Called with lock held. */
static void ring_pop(struct store *s, size_t n)
{
	s->head = (s->head + n) % s->cap;
	s->count -= n;
	if (s->count == 0 && s->cap > 4 * RING_MIN) {
		/* After an outage, give back the memory the backlog needed. */
		free(s->ring);
		s->ring = NULL;
		s->cap = s->head = 0;
	}
}

/* ------------------------------------------------------------------ the thread */

/* What only the writer thread reads and writes. */
struct writer {
	uint64_t backoff_ms;      /* 0 while writes work */
	uint64_t retry_at_ns;     /* while failing: not before */
	uint64_t streak_since_ns; /* while failing: the first failure */
};

/* When the next batch may start. Called with lock held. */
static uint64_t writer_ready_at(const struct store *s, const struct writer *w, uint64_t now)
{
	uint64_t at = 0;

	if (s->failing) {
		at = w->retry_at_ns;
		if (s->stop && s->close_deadline_ns < at)
			at = s->close_deadline_ns;
	} else if (s->stop || s->count >= STORE__BATCH_MAX || s->flush_seq > s->done_seq ||
		   s->nalerts > 0) {
		/* An alert op does not wait for batch_ms: its events are delivered
		 * only once committed, and alert latency matters more than
		 * transactions per second. What queued before it goes along. */
		at = now;
	} else {
		at = s->head_since_ns + (uint64_t)s->batch_ms * NS_PER_MS;
	}
	return at;
}

/*
 * The batch of the n oldest items (nalerts of them alert ops) committed: log
 * the end of a failure streak, publish, tell the committed callback, free.
 * Called with lock held; returns with it held.
 */
static void writer_committed(struct store *s, struct writer *w, const struct store__item *batch,
			     size_t n, size_t nalerts, uint64_t start, uint64_t now)
{
	uint64_t done = 0;
	char *msg = NULL;

	if (s->failing) {
		/* Logged before the results are published as written, so that
		 * whoever sees them written (a flush) also sees the line. */
		msg = store__strdupf("writing to %s works again after %.1f s; %zu results had waited",
				     s->path, (double)(now - w->streak_since_ns) / 1e9,
				     s->count - s->nalerts);
		s->failing = false;
		w->backoff_ms = 0;
		uv_mutex_unlock(&s->lock);
		store__logf(s, LOG_NOTICE, "%s", msg ? msg : "writing works again");
		uv_mutex_lock(&s->lock);
	}
	ring_pop(s, n);
	s->nalerts -= nalerts;
	s->written += n - nalerts;
	s->done_seq += n;
	done = s->done_seq;
	/* What is left came while this batch was written (or did not fit in it):
	 * it has waited since about the start of this batch. */
	s->head_since_ns = start;
	uv_cond_broadcast(&s->progress);
	uv_mutex_unlock(&s->lock);
	/* Outside the lock: the callback may take a lock of its own or wake a
	 * loop. Only this thread calls it while the writer runs, so the values
	 * it sees never go backwards. */
	if (s->committed != NULL)
		s->committed(done, s->committed_arg);
	for (size_t i = 0; i < n; i++)
		item_free(batch[i]);
	free(msg);
	uv_mutex_lock(&s->lock);
}

/*
 * The batch failed with err: log the start of a failure streak, schedule the
 * retry. Called with lock held; returns with it held. Returns true when the
 * writer should give up: it is stopping and the close budget is spent.
 */
static bool writer_failed(struct store *s, struct writer *w, const char *err, uint64_t start,
			  uint64_t now)
{
	char *msg = NULL;

	if (!s->failing) {
		msg = store__strdupf("cannot write to %s: %s; keeping %zu results in memory and "
				     "retrying", s->path, err, s->count - s->nalerts);
		uv_mutex_unlock(&s->lock);
		store__logf(s, LOG_ERR, "%s", msg ? msg : "cannot write");
		uv_mutex_lock(&s->lock);
		s->failing = true;
		w->streak_since_ns = start;
	}
	w->backoff_ms = w->backoff_ms ? w->backoff_ms * 2 : STORE__BACKOFF_MIN_MS;
	if (w->backoff_ms > STORE__BACKOFF_MAX_MS)
		w->backoff_ms = STORE__BACKOFF_MAX_MS;
	w->retry_at_ns = now + w->backoff_ms * NS_PER_MS;
	free(msg);
	/* Closing: give up unless another attempt, as slow as this one (the
	 * backend's busy wait), can end before the deadline. */
	return s->stop && w->retry_at_ns + (now - start) > s->close_deadline_ns;
}

/*
 * Writes the oldest items (up to a batch) in one transaction. They stay
 * queued meanwhile; only a commit removes them. Called with lock held, which
 * it drops around the write. Returns true when the writer should give up.
 */
static bool writer_batch(struct store *s, struct writer *w, struct store__item *batch)
{
	size_t n = s->count < STORE__BATCH_MAX ? s->count : STORE__BATCH_MAX, nalerts = 0;
	uint64_t start = uv_hrtime(), now = 0;
	char *err = NULL;
	bool give_up = false;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		batch[i] = ring_at(s, i);
		nalerts += batch[i].kind == STORE__ITEM_ALERT;
	}
	uv_mutex_unlock(&s->lock);
	uv_mutex_lock(&s->db_lock);
	rc = store__be_write_batch(s->conn, batch, n, &err);
	uv_mutex_unlock(&s->db_lock);
	now = uv_hrtime();
	uv_mutex_lock(&s->lock);
	if (rc == 0)
		writer_committed(s, w, batch, n, nalerts, start, now);
	else
		give_up = writer_failed(s, w, err, start, now);
	free(err);
	return give_up;
}

/*
 * The writer: waits for items, lets results gather for batch_ms (or until a
 * batch is full, an alert op or a flush asks, or the store closes), writes,
 * and on failure retries the same items with a doubling backoff. It exits
 * once stopped and empty, or stopped, failing and past the close deadline.
 */
static void writer_main(void *arg)
{
	struct store *s = arg;
	struct store__item batch[STORE__BATCH_MAX];
	struct writer w = { 0 };

	uv_mutex_lock(&s->lock);
	for (;;) {
		uint64_t now = uv_hrtime(), at = 0;

		if (s->count == 0) {
			if (s->stop)
				break;
			uv_cond_wait(&s->wake, &s->lock);
			continue;
		}
		at = writer_ready_at(s, &w, now);
		if (now < at) {
			uv_cond_timedwait(&s->wake, &s->lock, at - now);
			continue;
		}
		if (writer_batch(s, &w, batch))
			break;
	}
	uv_mutex_unlock(&s->lock);
}

/* ------------------------------------------------------------------ the API */

int store__queue_init(struct store *s)
{
	int rc = 0, done = 0;

	if ((rc = uv_mutex_init(&s->lock)) < 0)
		goto out;
	done++;
	if ((rc = uv_mutex_init(&s->db_lock)) < 0)
		goto out;
	done++;
	if ((rc = uv_cond_init(&s->wake)) < 0)
		goto out;
	done++;
	rc = uv_cond_init(&s->progress);
out:
	if (rc < 0) {
		if (done > 2)
			uv_cond_destroy(&s->wake);
		if (done > 1)
			uv_mutex_destroy(&s->db_lock);
		if (done > 0)
			uv_mutex_destroy(&s->lock);
	}
	return rc;
}

int store_writer_start(struct store *s)
{
	int rc = 0;

	if (s == NULL) {
		rc = -EINVAL;
		goto out;
	}
	if ((s->flags & STORE_READONLY) || s->conn->be->write_batch == NULL) {
		rc = -EROFS;
		goto out;
	}
	uv_mutex_lock(&s->lock);
	if (s->running) {
		rc = -EALREADY;
	} else {
		s->stop = false;
		rc = uv_thread_create(&s->thread, writer_main, s);
		s->running = rc == 0;
	}
	uv_mutex_unlock(&s->lock);
out:
	return rc;
}

int store_submit(struct store *s, struct probe_result *r)
{
	int rc = 0;

	if (s == NULL || r == NULL) {
		rc = -EINVAL;
		goto out;
	}
	if (s->flags & STORE_READONLY) {
		rc = -EROFS;
		goto out;
	}
	uv_mutex_lock(&s->lock);
	rc = s->count - s->nalerts >= s->max_pending
		? -ENOBUFS : ring_push(s, (struct store__item){ STORE__ITEM_RESULT, { .result = r } });
	if (rc < 0) {
		s->dropped++;
	} else {
		r = NULL;
		s->submitted++;
		if (s->count == 1)
			s->head_since_ns = uv_hrtime();
		/* The writer sleeps without a deadline on an empty queue, and until
		 * batch_ms on a partial batch: wake it only when that changes. */
		if (s->count == 1 || s->count == STORE__BATCH_MAX)
			uv_cond_signal(&s->wake);
	}
	uv_mutex_unlock(&s->lock);
out:
	probe_result_free(r);
	return rc;
}

/*
 * Like store_submit, but an alert op is never refused for a full queue, and
 * it wakes the writer at once (writer_ready_at does not let it wait batch_ms).
 */
int store_submit_alert(struct store *s, struct store_alert_op *op, uint64_t *seq)
{
	int rc = 0;

	if (seq != NULL)
		*seq = 0;
	if (s == NULL || op == NULL) {
		rc = -EINVAL;
		goto out;
	}
	if (s->flags & STORE_READONLY) {
		rc = -EROFS;
		goto out;
	}
	uv_mutex_lock(&s->lock);
	rc = ring_push(s, (struct store__item){ STORE__ITEM_ALERT, { .alert = op } });
	if (rc == 0) {
		op = NULL;
		s->nalerts++;
		s->alerts_submitted++;
		s->submitted++;
		if (seq != NULL)
			*seq = s->submitted;
		if (s->count == 1)
			s->head_since_ns = uv_hrtime();
		uv_cond_signal(&s->wake);
	}
	uv_mutex_unlock(&s->lock);
out:
	store_alert_op_free(op);
	return rc;
}

int store_flush(struct store *s, int timeout_ms)
{
	uint64_t target = 0, deadline = 0, now = 0;
	int rc = 0;

	if (s == NULL) {
		rc = -EINVAL;
		goto out;
	}
	uv_mutex_lock(&s->lock);
	/* Every accepted submission is either queued or done, in order. */
	target = s->submitted;
	if (s->done_seq >= target)
		goto unlock;
	if (!s->running) {
		rc = -EINVAL;
		goto unlock;
	}
	if (s->flush_seq < target)
		s->flush_seq = target;
	uv_cond_signal(&s->wake);
	deadline = uv_hrtime() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0) * NS_PER_MS;
	while (s->done_seq < target) {
		if (timeout_ms < 0) {
			uv_cond_wait(&s->progress, &s->lock);
			continue;
		}
		now = uv_hrtime();
		if (now >= deadline) {
			rc = -ETIMEDOUT;
			break;
		}
		uv_cond_timedwait(&s->progress, &s->lock, deadline - now);
	}
unlock:
	uv_mutex_unlock(&s->lock);
out:
	return rc;
}

void store_get_stats(struct store *s, struct store_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return;
	uv_mutex_lock(&s->lock);
	/* Results only, as storage.h documents them: alert ops have sequence
	 * numbers but no place in these counters. */
	out->submitted = s->submitted - s->alerts_submitted;
	out->written = s->written;
	out->dropped = s->dropped;
	out->pending = s->count - s->nalerts;
	out->failing = s->failing;
	uv_mutex_unlock(&s->lock);
}

void store__writer_stop(struct store *s)
{
	bool start = false;
	size_t lost = 0, lost_alerts = 0;
	uint64_t done = 0;
	int rc = 0;

	uv_mutex_lock(&s->lock);
	start = !s->running && s->count > 0;
	uv_mutex_unlock(&s->lock);
	if (start && (rc = store_writer_start(s)) < 0)
		store__logf(s, LOG_ERR, "cannot start the writer for %s: %s", s->path,
			    uv_strerror(rc));

	uv_mutex_lock(&s->lock);
	if (s->running) {
		s->stop = true;
		s->close_deadline_ns = uv_hrtime() + STORE__CLOSE_BUDGET_MS * NS_PER_MS;
		uv_cond_signal(&s->wake);
		uv_mutex_unlock(&s->lock);
		uv_thread_join(&s->thread);
		uv_mutex_lock(&s->lock);
		s->running = false;
	}
	/* The writer gave up (or never ran): what is left is lost. */
	lost = s->count;
	lost_alerts = s->nalerts;
	for (size_t i = 0; i < lost; i++)
		item_free(ring_at(s, i));
	if (lost > 0)
		ring_pop(s, lost);
	s->nalerts = 0;
	s->dropped += lost - lost_alerts;
	s->done_seq += lost;
	done = s->done_seq;
	uv_cond_broadcast(&s->progress);
	uv_mutex_unlock(&s->lock);
	if (lost > lost_alerts)
		store__logf(s, LOG_ERR, "%zu results could not be written to %s and are lost",
			    lost - lost_alerts, s->path);
	if (lost_alerts > 0)
		store__logf(s, LOG_ERR, "%zu alert updates (incidents, events, deliveries) could "
			    "not be written to %s and are lost", lost_alerts, s->path);
	/* The writer is joined: this thread is the only caller now. */
	if (lost > 0 && s->committed != NULL)
		s->committed(done, s->committed_arg);
}

void store__queue_free(struct store *s)
{
	free(s->ring);
	s->ring = NULL;
	uv_cond_destroy(&s->progress);
	uv_cond_destroy(&s->wake);
	uv_mutex_destroy(&s->db_lock);
	uv_mutex_destroy(&s->lock);
}
