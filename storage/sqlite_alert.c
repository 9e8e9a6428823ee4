/* sqlite_alert.c - the SQLite backend's incidents, events and outbox: written in writer batches, read back for the daemon and the CLI. */
#include "storage/sqlite_int.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The SQL below and schema v2's partial indexes spell these values out. */
_Static_assert(STORE_INC_ANNOUNCED == 1 && STORE_INC_RESOLVE_SENT == 2,
	       "incidents_live and STORE__SQA_LIVE_INCIDENTS use flags & 3 = 1");
_Static_assert(STORE_DLV_PENDING == 0, "outbox_pending and STORE__SQA_OUTBOX_ADD use state 0");

/* Column lists shared by statements and the functions that read their rows. */
#define INC_COLS                                                                        \
	"i.id, p.name, i.started_ms, i.detected_ms, i.resolved_ms, i.last_failed_ms,"   \
	" i.failed_runs, i.latency_us, i.failed_step, i.first_class, i.first_error,"     \
	" i.last_class, i.last_error, i.flags"
#define INC_FROM " FROM incidents i JOIN probes p ON p.id = i.probe_id"
#define EV_COLS "e.id, e.incident_id, p.name, e.kind, e.created_ms, e.payload"
#define EV_NCOLS 6
#define EV_FROM " FROM events e JOIN probes p ON p.id = e.probe_id"
#define DLV_COLS                                                                        \
	"o.event_id, o.channel, o.state, o.attempts, o.next_ms, o.done_ms, o.error, o.ref," \
	" o.status"
#define DLV_NCOLS 9

const char *const store__sqlite_alert_sql[STORE__SQA_MAX] = {
	[STORE__SQA_INC_UPSERT] =
		"INSERT INTO incidents (id, probe_id, started_ms, detected_ms, resolved_ms,"
		" last_failed_ms, failed_runs, latency_us, failed_step, first_class, first_error,"
		" last_class, last_error, flags)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
		" ON CONFLICT (id) DO UPDATE SET probe_id = excluded.probe_id,"
		" started_ms = excluded.started_ms, detected_ms = excluded.detected_ms,"
		" resolved_ms = excluded.resolved_ms, last_failed_ms = excluded.last_failed_ms,"
		" failed_runs = excluded.failed_runs, latency_us = excluded.latency_us,"
		" failed_step = excluded.failed_step, first_class = excluded.first_class,"
		" first_error = excluded.first_error, last_class = excluded.last_class,"
		" last_error = excluded.last_error, flags = excluded.flags",
	[STORE__SQA_EVENT_ADD] =
		"INSERT INTO events (id, incident_id, probe_id, kind, created_ms, payload)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	/* A channel named twice in one event is one row, not a failed batch. */
	[STORE__SQA_OUTBOX_ADD] =
		"INSERT INTO outbox (event_id, channel, state, attempts, next_ms, status)"
		" VALUES (?1, ?2, 0, 0, 0, 0) ON CONFLICT DO NOTHING",
	[STORE__SQA_DLV_SET] =
		"UPDATE outbox SET state = ?3, attempts = ?4, next_ms = ?5, done_ms = ?6, error = ?7,"
		" ref = ?8, status = ?9 WHERE event_id = ?1 AND channel = ?2",
	[STORE__SQA_MAX_IDS] =
		"SELECT (SELECT coalesce(max(id), 0) FROM incidents),"
		" (SELECT coalesce(max(id), 0) FROM events)",
	/* The WHERE is incidents_live's, word for word, so that the index serves it. */
	[STORE__SQA_LIVE_INCIDENTS] =
		"SELECT " INC_COLS INC_FROM
		" WHERE i.resolved_ms IS NULL OR i.flags & 3 = 1 ORDER BY i.id",
	/* The ref: the newest one (by event id) another event of the incident got
	 * back from the same channel, found through events_by_incident. */
	[STORE__SQA_PENDING] =
		"SELECT " EV_COLS ", " DLV_COLS ","
		" (SELECT o2.ref FROM events e2 JOIN outbox o2 ON o2.event_id = e2.id"
		"  WHERE e2.incident_id = e.incident_id AND o2.channel = o.channel"
		"  AND e2.id <> e.id AND o2.ref IS NOT NULL ORDER BY e2.id DESC LIMIT 1)"
		" FROM outbox o JOIN events e ON e.id = o.event_id JOIN probes p ON p.id = e.probe_id"
		" WHERE o.state = 0 ORDER BY o.event_id, o.channel",
	[STORE__SQA_INC_GET] = "SELECT " INC_COLS INC_FROM " WHERE i.id = ?1",
	[STORE__SQA_INC_EVENTS] =
		"SELECT " EV_COLS EV_FROM " WHERE e.incident_id = ?1 ORDER BY e.created_ms, e.id",
	[STORE__SQA_EVENT_DLV] =
		"SELECT " DLV_COLS " FROM outbox o WHERE o.event_id = ?1 ORDER BY o.channel",
};

/* Binds v, or NULL when v is 0 (an unset time, no incident). */
static void bind_opt(sqlite3_stmt *st, int i, int64_t v, int *rc)
{
	if (*rc == SQLITE_OK)
		*rc = v ? sqlite3_bind_int64(st, i, v) : sqlite3_bind_null(st, i);
}

/* Starts a read transaction, so that what one reader returns is one snapshot. */
static int sq_begin_read(struct store__sqlite_conn *c, char **err)
{
	return store__sq_exec(c, c->st[STORE__SQ_BEGIN_READ], SQLITE_OK, err);
}

static void sq_end_read(struct store__sqlite_conn *c)
{
	if (!sqlite3_get_autocommit(c->db))
		store__sq_run(c->st[STORE__SQ_COMMIT]);
}

/* ------------------------------------------------------------------ writing, inside a batch */

static int put_incident(struct store__sqlite_conn *c, const struct store_incident *inc, char **err)
{
	sqlite3_stmt *st = c->sta[STORE__SQA_INC_UPSERT];
	int64_t probe_id = 0;
	int rc = 0, src = SQLITE_OK;

	if ((rc = store__sq_probe_id(c, inc->probe, &probe_id, err)) < 0)
		return rc;
	store__sq_bind_int(st, 1, inc->id, &src);
	store__sq_bind_int(st, 2, probe_id, &src);
	store__sq_bind_int(st, 3, inc->started_ms, &src);
	store__sq_bind_int(st, 4, inc->detected_ms, &src);
	bind_opt(st, 5, inc->resolved_ms, &src);
	store__sq_bind_int(st, 6, inc->last_failed_ms, &src);
	store__sq_bind_int(st, 7, inc->failed_runs, &src);
	store__sq_bind_int(st, 8, inc->latency_us, &src);
	store__sq_bind_text(st, 9, inc->failed_step, &src);
	store__sq_bind_text(st, 10, inc->first_class, &src);
	store__sq_bind_text(st, 11, inc->first_error, &src);
	store__sq_bind_text(st, 12, inc->last_class, &src);
	store__sq_bind_text(st, 13, inc->last_error, &src);
	store__sq_bind_int(st, 14, (int64_t)inc->flags, &src);
	return store__sq_exec(c, st, src, err);
}

/* Inserts ev and one PENDING outbox row per channel (NULL channel names are skipped). */
static int put_event(struct store__sqlite_conn *c, const struct store_event *ev, char **err)
{
	sqlite3_stmt *st = c->sta[STORE__SQA_EVENT_ADD];
	int64_t probe_id = 0;
	int rc = 0, src = SQLITE_OK;

	if ((rc = store__sq_probe_id(c, ev->probe, &probe_id, err)) < 0)
		return rc;
	store__sq_bind_int(st, 1, ev->id, &src);
	bind_opt(st, 2, ev->incident_id, &src);
	store__sq_bind_int(st, 3, probe_id, &src);
	store__sq_bind_text(st, 4, ev->kind, &src);
	store__sq_bind_int(st, 5, ev->created_ms, &src);
	store__sq_bind_text(st, 6, ev->payload, &src);
	if ((rc = store__sq_exec(c, st, src, err)) < 0)
		return rc;
	st = c->sta[STORE__SQA_OUTBOX_ADD];
	for (size_t i = 0; i < ev->nchannels && rc == 0; i++) {
		if (ev->channels[i] == NULL)
			continue;
		src = SQLITE_OK;
		store__sq_bind_int(st, 1, ev->id, &src);
		store__sq_bind_text(st, 2, ev->channels[i], &src);
		rc = store__sq_exec(c, st, src, err);
	}
	return rc;
}

/* Replaces every column of the row (d->event_id, d->channel); no such row is no error. */
static int put_delivery(struct store__sqlite_conn *c, const struct store_delivery *d, char **err)
{
	sqlite3_stmt *st = c->sta[STORE__SQA_DLV_SET];
	int src = SQLITE_OK;

	if (d->channel == NULL)
		return 0;
	store__sq_bind_int(st, 1, d->event_id, &src);
	store__sq_bind_text(st, 2, d->channel, &src);
	store__sq_bind_int(st, 3, d->state, &src);
	store__sq_bind_int(st, 4, d->attempts, &src);
	store__sq_bind_int(st, 5, d->next_ms, &src);
	bind_opt(st, 6, d->done_ms, &src);
	store__sq_bind_text(st, 7, d->error, &src);
	store__sq_bind_text(st, 8, d->ref, &src);
	store__sq_bind_int(st, 9, (int64_t)d->status, &src);
	return store__sq_exec(c, st, src, err);
}

/* Incidents first, then events (which may name them), then deliveries (which may name those). */
int store__sq_write_alert(struct store__sqlite_conn *c, const struct store_alert_op *op,
			  char **err)
{
	int rc = 0;

	for (size_t i = 0; i < op->nincidents && rc == 0; i++)
		rc = put_incident(c, &op->incidents[i], err);
	for (size_t i = 0; i < op->nevents && rc == 0; i++)
		rc = put_event(c, &op->events[i], err);
	for (size_t i = 0; i < op->ndeliveries && rc == 0; i++)
		rc = put_delivery(c, &op->deliveries[i], err);
	return rc;
}

/* ------------------------------------------------------------------ reading rows */

/* Reads an INC_COLS row from column 0. Returns 0 or -ENOMEM (inc then cleared). */
static int read_incident(sqlite3_stmt *st, struct store_incident *inc)
{
	int rc = 0;

	inc->id = sqlite3_column_int64(st, 0);
	inc->started_ms = sqlite3_column_int64(st, 2);
	inc->detected_ms = sqlite3_column_int64(st, 3);
	inc->resolved_ms = sqlite3_column_int64(st, 4);
	inc->last_failed_ms = sqlite3_column_int64(st, 5);
	inc->failed_runs = sqlite3_column_int64(st, 6);
	inc->latency_us = sqlite3_column_int64(st, 7);
	inc->flags = (unsigned)sqlite3_column_int64(st, 13);
	if (store__sq_column_dup(st, 1, &inc->probe) < 0 ||
	    store__sq_column_dup(st, 8, &inc->failed_step) < 0 ||
	    store__sq_column_dup(st, 9, &inc->first_class) < 0 ||
	    store__sq_column_dup(st, 10, &inc->first_error) < 0 ||
	    store__sq_column_dup(st, 11, &inc->last_class) < 0 ||
	    store__sq_column_dup(st, 12, &inc->last_error) < 0) {
		store_incident_clear(inc);
		rc = -ENOMEM;
	}
	return rc;
}

/* Reads an EV_COLS row from column 0 (channels left empty). Returns 0 or -ENOMEM. */
static int read_event(sqlite3_stmt *st, struct store_event *ev)
{
	int rc = 0;

	ev->id = sqlite3_column_int64(st, 0);
	ev->incident_id = sqlite3_column_int64(st, 1);
	ev->created_ms = sqlite3_column_int64(st, 4);
	if (store__sq_column_dup(st, 2, &ev->probe) < 0 ||
	    store__sq_column_dup(st, 3, &ev->kind) < 0 ||
	    store__sq_column_dup(st, 5, &ev->payload) < 0) {
		store_event_clear(ev);
		rc = -ENOMEM;
	}
	return rc;
}

/* Reads a DLV_COLS row from column c0. Returns 0 or -ENOMEM. */
static int read_delivery(sqlite3_stmt *st, int c0, struct store_delivery *d)
{
	int rc = 0;

	d->event_id = sqlite3_column_int64(st, c0);
	d->state = (int)sqlite3_column_int64(st, c0 + 2);
	d->attempts = (int)sqlite3_column_int64(st, c0 + 3);
	d->next_ms = sqlite3_column_int64(st, c0 + 4);
	d->done_ms = sqlite3_column_int64(st, c0 + 5);
	d->status = (long)sqlite3_column_int64(st, c0 + 8);
	if (store__sq_column_dup(st, c0 + 1, &d->channel) < 0 ||
	    store__sq_column_dup(st, c0 + 6, &d->error) < 0 ||
	    store__sq_column_dup(st, c0 + 7, &d->ref) < 0) {
		store_delivery_clear(d);
		rc = -ENOMEM;
	}
	return rc;
}

/*
 * Appends the incidents st gives (bound) to *v (*n of them, *cap allocated).
 * Returns 0 or a negative error; what was read stays in *v for the caller.
 */
static int read_incidents(struct store__sqlite_conn *c, sqlite3_stmt *st,
			  struct store_incident **v, size_t *n, size_t *cap, char **err)
{
	struct store_incident *nv = NULL;
	int rc = 0;

	while ((rc = store__sq_next(c, st, err)) > 0) {
		if ((nv = store__grow(*v, sizeof(**v), *n, cap)) == NULL ||
		    read_incident(st, &nv[*n]) < 0) {
			*v = nv ? nv : *v;
			rc = store__sq_oom(err);
			break;
		}
		*v = nv;
		(*n)++;
	}
	sqlite3_reset(st);
	return rc;
}

/* ------------------------------------------------------------------ alerting's state */

static int load_pending(struct store__sqlite_conn *c, struct store_alert_state *out, char **err)
{
	sqlite3_stmt *st = c->sta[STORE__SQA_PENDING];
	struct store_pending *nv = NULL, *p = NULL;
	size_t cap = 0;
	int rc = 0;

	while ((rc = store__sq_next(c, st, err)) > 0) {
		if ((nv = store__grow(out->pending, sizeof(*nv), out->npending, &cap)) == NULL) {
			rc = store__sq_oom(err);
			break;
		}
		out->pending = nv;
		p = &nv[out->npending];
		if (read_event(st, &p->ev) < 0 || read_delivery(st, EV_NCOLS, &p->dlv) < 0 ||
		    store__sq_column_dup(st, EV_NCOLS + DLV_NCOLS, &p->ref) < 0) {
			store_event_clear(&p->ev);
			store_delivery_clear(&p->dlv);
			rc = store__sq_oom(err);
			break;
		}
		out->npending++;
	}
	sqlite3_reset(st);
	return rc;
}

int store__sq_alert_load(struct store__conn *conn, struct store_alert_state *out, char **err)
{
	struct store__sqlite_conn *c = store__sq_conn(conn);
	sqlite3_stmt *st = c->sta[STORE__SQA_MAX_IDS];
	size_t cap = 0;
	int rc = 0;

	if ((rc = sq_begin_read(c, err)) < 0)
		goto out;
	if ((rc = store__sq_next(c, st, err)) > 0) {
		out->max_incident_id = sqlite3_column_int64(st, 0);
		out->max_event_id = sqlite3_column_int64(st, 1);
		sqlite3_reset(st);
		rc = 0;
	}
	if (rc < 0)
		goto out;
	rc = read_incidents(c, c->sta[STORE__SQA_LIVE_INCIDENTS], &out->incidents,
			    &out->nincidents, &cap, err);
	if (rc < 0)
		goto out;
	rc = load_pending(c, out, err);
out:
	sq_end_read(c);
	if (rc < 0)
		store_alert_state_clear(out);
	return rc;
}

/* ------------------------------------------------------------------ the CLI's readers */

/*
 * Lists incidents as f asks, newest (by start) first. The SQL is built per
 * call (the CLI calls it once): each filter adds its term, and a probe
 * filter goes through incidents_by_probe.
 */
int store__sq_incidents(struct store__conn *conn, const struct store_incident_filter *f,
			struct store_incident **out, size_t *n, char **err)
{
	struct store__sqlite_conn *c = store__sq_conn(conn);
	sqlite3_stmt *st = NULL;
	int64_t probe_id = 0;
	size_t cap = 0;
	char sql[sizeof(INC_COLS INC_FROM) + 256];
	int rc = 0, src = SQLITE_OK;

	if ((rc = sq_begin_read(c, err)) < 0)
		goto out;
	if (f->probe != NULL) {
		rc = store__sq_intern(c, &c->probes, STORE__SQ_PROBE_GET, STORE__SQ_MAX, f->probe,
				      &probe_id, err);
		if (rc < 0 || probe_id == 0)    /* a probe never seen has no incident */
			goto out;
	}
	snprintf(sql, sizeof(sql), "SELECT " INC_COLS INC_FROM " WHERE 1%s%s%s"
		 " ORDER BY i.started_ms DESC, i.id DESC%s",
		 f->open_only ? " AND i.resolved_ms IS NULL" : "",
		 f->probe ? " AND i.probe_id = ?1" : "",
		 f->since_ms > 0 ? " AND i.started_ms >= ?2" : "",
		 f->limit > 0 ? " LIMIT ?3" : "");
	if ((src = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL)) != SQLITE_OK) {
		rc = store__sq_fail(c, src, err);
		goto out;
	}
	if (f->probe)
		store__sq_bind_int(st, 1, probe_id, &src);
	if (f->since_ms > 0)
		store__sq_bind_int(st, 2, f->since_ms, &src);
	if (f->limit > 0)
		store__sq_bind_int(st, 3, f->limit > INT64_MAX ? INT64_MAX : (int64_t)f->limit,
				   &src);
	if (src != SQLITE_OK) {
		rc = store__sq_fail(c, src, err);
		goto out;
	}
	rc = read_incidents(c, st, out, n, &cap, err);
out:
	sqlite3_finalize(st);
	sq_end_read(c);
	if (rc < 0) {
		for (size_t i = 0; i < *n; i++)
			store_incident_clear(&(*out)[i]);
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

/* Reads the deliveries of te->ev (by channel), and lists their channels in te->ev.channels. */
static int read_timeline_dlv(struct store__sqlite_conn *c, struct store_timeline_event *te,
			     char **err)
{
	sqlite3_stmt *st = c->sta[STORE__SQA_EVENT_DLV];
	struct store_delivery *nv = NULL;
	size_t cap = 0;
	int rc = 0, src = SQLITE_OK;

	store__sq_bind_int(st, 1, te->ev.id, &src);
	if (src != SQLITE_OK)
		return store__sq_fail(c, src, err);
	while ((rc = store__sq_next(c, st, err)) > 0) {
		if ((nv = store__grow(te->dlv, sizeof(*nv), te->ndlv, &cap)) == NULL ||
		    read_delivery(st, 0, &nv[te->ndlv]) < 0) {
			te->dlv = nv ? nv : te->dlv;
			rc = store__sq_oom(err);
			break;
		}
		te->dlv = nv;
		te->ndlv++;
	}
	sqlite3_reset(st);
	if (rc < 0 || te->ndlv == 0)
		return rc;
	if ((te->ev.channels = calloc(te->ndlv, sizeof(char *))) == NULL)
		return store__sq_oom(err);
	for (; te->ev.nchannels < te->ndlv; te->ev.nchannels++) {
		te->ev.channels[te->ev.nchannels] = strdup(te->dlv[te->ev.nchannels].channel);
		if (te->ev.channels[te->ev.nchannels] == NULL)
			return store__sq_oom(err);
	}
	return 0;
}

/* Reads the events of incident out->inc (oldest first), each with its deliveries. */
static int read_timeline_events(struct store__sqlite_conn *c, struct store_timeline *out,
				char **err)
{
	sqlite3_stmt *st = c->sta[STORE__SQA_INC_EVENTS];
	struct store_timeline_event *nv = NULL;
	size_t cap = 0;
	int rc = 0, src = SQLITE_OK;

	store__sq_bind_int(st, 1, out->inc.id, &src);
	if (src != SQLITE_OK)
		return store__sq_fail(c, src, err);
	while ((rc = store__sq_next(c, st, err)) > 0) {
		if ((nv = store__grow(out->events, sizeof(*nv), out->nevents, &cap)) == NULL ||
		    read_event(st, &nv[out->nevents].ev) < 0) {
			out->events = nv ? nv : out->events;
			rc = store__sq_oom(err);
			break;
		}
		out->events = nv;
		out->nevents++;
	}
	sqlite3_reset(st);
	/* The deliveries are read once the events' statement is done with. */
	for (size_t i = 0; i < out->nevents && rc == 0; i++)
		rc = read_timeline_dlv(c, &out->events[i], err);
	return rc;
}

int store__sq_incident_timeline(struct store__conn *conn, int64_t id, struct store_timeline *out,
				char **err)
{
	struct store__sqlite_conn *c = store__sq_conn(conn);
	sqlite3_stmt *st = c->sta[STORE__SQA_INC_GET];
	int rc = 0, src = SQLITE_OK;

	if ((rc = sq_begin_read(c, err)) < 0)
		goto out;
	store__sq_bind_int(st, 1, id, &src);
	if (src != SQLITE_OK) {
		rc = store__sq_fail(c, src, err);
		goto out;
	}
	if ((rc = store__sq_next(c, st, err)) == 0) {
		rc = -ENOENT;
		*err = store__strdupf("no incident %lld", (long long)id);
		goto out;
	}
	if (rc > 0) {
		rc = read_incident(st, &out->inc) < 0 ? store__sq_oom(err) : 0;
		sqlite3_reset(st);
	}
	if (rc == 0)
		rc = read_timeline_events(c, out, err);
out:
	sq_end_read(c);
	if (rc < 0)
		store_timeline_clear(out);
	return rc;
}
