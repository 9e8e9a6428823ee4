/* check_alert_store.c - storage for alerting: incidents, events and the outbox through the writer, their readers, maintenance windows, schema v2. */
#include "tests/tests.h"
#include "probes/probe.h"
#include "storage/storage.h"
#include "storage/sqlite_int.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#define T0 1700000000000LL
#define MIN_MS (60 * 1000LL)
#define HOUR_MS (60 * MIN_MS)

/* ------------------------------------------------------------------ fixture */

static char *dir;
static char dbpath[4096];

/* What the committed callback saw, from the writer thread (or store_close's). */
static struct {
	uv_mutex_t lock;
	uv_cond_t cond;
	uint64_t last;
	int calls;
	bool backwards;
} rec;

static void committed_cb(uint64_t seq, void *arg)
{
	ck_assert_ptr_eq(arg, &rec);
	uv_mutex_lock(&rec.lock);
	rec.backwards |= seq < rec.last;
	rec.last = seq;
	rec.calls++;
	uv_cond_broadcast(&rec.cond);
	uv_mutex_unlock(&rec.lock);
}

static void setup(void)
{
	dir = t_tmpdir();
	snprintf(dbpath, sizeof(dbpath), "%s/canary.db", dir);
	ck_assert_int_eq(uv_mutex_init(&rec.lock), 0);
	ck_assert_int_eq(uv_cond_init(&rec.cond), 0);
	rec.last = 0;
	rec.calls = 0;
	rec.backwards = false;
}

static void teardown(void)
{
	t_rmrf(dir);
	free(dir);
	uv_cond_destroy(&rec.cond);
	uv_mutex_destroy(&rec.lock);
}

/* Waits (bounded) until the committed callback has reported seq. */
static bool wait_committed(uint64_t seq, int max_ms)
{
	uint64_t deadline = uv_hrtime() + (uint64_t)max_ms * 1000000ull, now = 0;
	bool ok = false;

	uv_mutex_lock(&rec.lock);
	while (!(ok = rec.last >= seq) && (now = uv_hrtime()) < deadline)
		uv_cond_timedwait(&rec.cond, &rec.lock, deadline - now);
	uv_mutex_unlock(&rec.lock);
	return ok;
}

static uint64_t committed_now(void)
{
	uint64_t v = 0;

	uv_mutex_lock(&rec.lock);
	v = rec.last;
	uv_mutex_unlock(&rec.lock);
	return v;
}

/* ------------------------------------------------------------------ helpers */

static struct store *open_store(unsigned flags, size_t max_pending, int batch_ms)
{
	struct store_opts o = {
		.path = dbpath, .flags = flags, .max_pending = max_pending, .batch_ms = batch_ms,
		.committed = committed_cb, .committed_arg = &rec,
	};

	return t_store_open(&o);
}

static struct store *open_writer(size_t max_pending, int batch_ms)
{
	struct store *s = open_store(0, max_pending, batch_ms);

	ck_assert_int_eq(store_writer_start(s), 0);
	return s;
}

static struct store_alert_op *op_new(void)
{
	struct store_alert_op *op = calloc(1, sizeof(*op));

	ck_assert_ptr_nonnull(op);
	return op;
}

/* Appends an incident whose other fields derive from id and started_ms. */
static struct store_incident *add_inc(struct store_alert_op *op, int64_t id, const char *probe,
				      int64_t started_ms, int64_t resolved_ms, unsigned flags)
{
	struct store_incident *inc = NULL;

	op->incidents = realloc(op->incidents, (op->nincidents + 1) * sizeof(*inc));
	inc = &op->incidents[op->nincidents++];
	*inc = (struct store_incident){
		.id = id, .probe = strdup(probe), .started_ms = started_ms,
		.detected_ms = started_ms + MIN_MS, .resolved_ms = resolved_ms,
		.last_failed_ms = started_ms + 2 * MIN_MS, .failed_runs = 3, .latency_us = 5000,
		.failed_step = strdup("login"), .first_class = strdup("timeout"),
		.first_error = strdup("timed out"), .last_class = strdup("timeout"),
		.last_error = strdup("timed out again"), .flags = flags,
	};
	return inc;
}

/* Appends an event going to the NULL-terminated channels. */
static void add_event(struct store_alert_op *op, int64_t id, int64_t incident_id, const char *probe,
		      const char *kind, int64_t created_ms, const char *const *channels)
{
	struct store_event *ev = NULL;
	char payload[128];

	op->events = realloc(op->events, (op->nevents + 1) * sizeof(*ev));
	ev = &op->events[op->nevents++];
	snprintf(payload, sizeof(payload), "{\"event\":\"%s\",\"event_id\":%lld}", kind,
		 (long long)id);
	*ev = (struct store_event){
		.id = id, .incident_id = incident_id, .probe = strdup(probe), .kind = strdup(kind),
		.created_ms = created_ms, .payload = strdup(payload),
	};
	while (channels && channels[ev->nchannels])
		ev->nchannels++;
	ev->channels = calloc(ev->nchannels + 1, sizeof(char *));
	for (size_t i = 0; i < ev->nchannels; i++)
		ev->channels[i] = strdup(channels[i]);
}

static void add_dlv(struct store_alert_op *op, int64_t event_id, const char *channel, int state,
		    int attempts, int64_t next_ms, int64_t done_ms, const char *error,
		    const char *ref, long status)
{
	struct store_delivery *d = NULL;

	op->deliveries = realloc(op->deliveries, (op->ndeliveries + 1) * sizeof(*d));
	d = &op->deliveries[op->ndeliveries++];
	*d = (struct store_delivery){
		.event_id = event_id, .channel = strdup(channel), .state = state,
		.attempts = attempts, .next_ms = next_ms, .done_ms = done_ms,
		.error = error ? strdup(error) : NULL, .ref = ref ? strdup(ref) : NULL,
		.status = status,
	};
}

static uint64_t submit_op(struct store *s, struct store_alert_op *op)
{
	uint64_t seq = 0;

	ck_assert_int_eq(store_submit_alert(s, op, &seq), 0);
	ck_assert_uint_gt(seq, 0);
	return seq;
}

/* Submits op and waits until the writer committed it. */
static void commit_op(struct store *s, struct store_alert_op *op)
{
	uint64_t seq = submit_op(s, op);

	ck_assert_msg(wait_committed(seq, 5000), "seq %llu never committed",
		      (unsigned long long)seq);
}

static struct probe_result *mk(const char *probe, int64_t started_ms)
{
	char name[64];
	struct probe_def def = { .name = name };
	struct probe_result *r = NULL;

	snprintf(name, sizeof(name), "%s", probe);
	r = probe_result_new(&def, started_ms, PROBE_OK, NULL);
	ck_assert_ptr_nonnull(r);
	return r;
}

/* One query on a connection of its own to the test's database. */
static int64_t count(const char *sql)
{
	return t_db_file_int(dbpath, sql);
}

/* The ids of the n elements of v (each stride bytes, starting with its id), as "1,3,4". */
static const char *ids_of(const void *v, size_t stride, size_t n, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%lld", i ? "," : "",
					(long long)*(const int64_t *)((const char *)v + i * stride));
	return buf;
}

#define inc_ids(v, n, buf, size) ids_of((v), sizeof(struct store_incident), (n), (buf), (size))

static void incidents_free(struct store_incident *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_incident_clear(&v[i]);
	free(v);
}

/* store_incidents' ids for f, as "4,3,1". */
static const char *list_ids(struct store *s, const struct store_incident_filter *f, char *buf,
			    size_t size)
{
	struct store_incident *v = NULL;
	size_t n = 99;

	ck_assert_int_eq(store_incidents(s, f, &v, &n), 0);
	inc_ids(v, n, buf, size);
	if (n == 0)
		ck_assert_ptr_null(v);
	incidents_free(v, n);
	return buf;
}

static const char *maint_ids(struct store *s, int64_t at, char *buf, size_t size)
{
	struct store_maint *v = NULL;
	size_t n = 99;

	ck_assert_int_eq(store_maint_list(s, at, &v, &n), 0);
	ids_of(v, sizeof(*v), n, buf, size);
	store_maints_free(v, n);
	return buf;
}

/* ------------------------------------------------------------------ ops */

START_TEST(op_round_trip)
{
	static const char *const both[] = { "slack", "instatus", NULL };
	static const char *const twice[] = { "slack", "instatus", "slack", NULL };
	static const char *const slack[] = { "slack", NULL };
	static const char *const inst[] = { "instatus", NULL };
	struct store *s = open_writer(0, 20);
	struct store_alert_op *op = op_new();
	struct store_alert_state st;
	struct store_incident *inc = NULL;
	struct store_pending *p = NULL;
	uint64_t seq1 = 0, seq2 = 0;
	char buf[64];

	add_inc(op, 1, "api", T0, 0, STORE_INC_ANNOUNCED);
	add_event(op, 1, 1, "api", "opened", T0 + MIN_MS, both);
	seq1 = submit_op(s, op);

	op = op_new();
	/* Every column of incident 1 is replaced, NULLs included. */
	inc = add_inc(op, 1, "api", T0, 0, STORE_INC_ANNOUNCED);
	inc->failed_runs = 5;
	inc->latency_us = 7000;
	free(inc->failed_step);
	inc->failed_step = NULL;
	free(inc->last_class);
	inc->last_class = strdup("http");
	add_inc(op, 2, "web", T0 + 1, T0 + 10, STORE_INC_ANNOUNCED | STORE_INC_RESOLVE_SENT);
	add_inc(op, 3, "web", T0 + 2, T0 + 20, STORE_INC_ANNOUNCED);
	add_inc(op, 4, "db", T0 + 3, 0, STORE_INC_SLOW);
	add_event(op, 2, 1, "api", "reminder", T0 + 2 * MIN_MS, twice);
	add_event(op, 3, 0, "web", "flapping", T0 + 3 * MIN_MS, slack);
	add_dlv(op, 1, "instatus", STORE_DLV_DELIVERED, 1, 0, T0 + MIN_MS + 5, NULL, "inst-77", 200);
	/* A row inserted in this very op, and one that does not exist. */
	add_dlv(op, 2, "slack", STORE_DLV_PENDING, 2, T0 + 999, 0, "HTTP 500", "own-ref", 500);
	add_dlv(op, 99, "slack", STORE_DLV_DELIVERED, 1, 0, T0, NULL, NULL, 200);
	seq2 = submit_op(s, op);
	ck_assert_uint_eq(seq2, seq1 + 1);
	ck_assert(wait_committed(seq2, 5000));

	ck_assert_int_eq(store_alert_load(s, &st), 0);
	ck_assert_int_eq(st.max_incident_id, 4);
	ck_assert_int_eq(st.max_event_id, 3);
	/* Open ones and the announced one whose resolution was not sent; not 2. */
	ck_assert_str_eq(inc_ids(st.incidents, st.nincidents, buf, sizeof(buf)), "1,3,4");
	inc = &st.incidents[0];
	ck_assert_str_eq(inc->probe, "api");
	ck_assert_int_eq(inc->started_ms, T0);
	ck_assert_int_eq(inc->detected_ms, T0 + MIN_MS);
	ck_assert_int_eq(inc->resolved_ms, 0);
	ck_assert_int_eq(inc->last_failed_ms, T0 + 2 * MIN_MS);
	ck_assert_int_eq(inc->failed_runs, 5);
	ck_assert_int_eq(inc->latency_us, 7000);
	ck_assert_ptr_null(inc->failed_step);
	ck_assert_str_eq(inc->first_class, "timeout");
	ck_assert_str_eq(inc->first_error, "timed out");
	ck_assert_str_eq(inc->last_class, "http");
	ck_assert_str_eq(inc->last_error, "timed out again");
	ck_assert_uint_eq(inc->flags, STORE_INC_ANNOUNCED);
	ck_assert_int_eq(st.incidents[1].resolved_ms, T0 + 20);
	ck_assert_uint_eq(st.incidents[2].flags, STORE_INC_SLOW);

	/* By event id then channel; the delivered row is not pending. */
	ck_assert_int_eq(st.npending, 4);
	p = &st.pending[0];
	ck_assert_int_eq(p->ev.id, 1);
	ck_assert_str_eq(p->dlv.channel, "slack");
	ck_assert_int_eq(p->ev.incident_id, 1);
	ck_assert_str_eq(p->ev.probe, "api");
	ck_assert_str_eq(p->ev.kind, "opened");
	ck_assert_int_eq(p->ev.created_ms, T0 + MIN_MS);
	ck_assert_str_eq(p->ev.payload, "{\"event\":\"opened\",\"event_id\":1}");
	ck_assert_uint_eq(p->ev.nchannels, 0);
	ck_assert_int_eq(p->dlv.event_id, 1);
	ck_assert_int_eq(p->dlv.state, STORE_DLV_PENDING);
	ck_assert_int_eq(p->dlv.attempts, 0);
	ck_assert_int_eq(p->dlv.next_ms, 0);
	ck_assert_ptr_null(p->dlv.ref);
	/* Another row of incident 1 on slack (event 2's) has a ref: any other
	 * row counts, later events' included. */
	ck_assert_pstr_eq(p->ref, "own-ref");
	p = &st.pending[1];
	ck_assert(p->ev.id == 2 && strcmp(p->dlv.channel, "instatus") == 0);
	ck_assert_pstr_eq(p->ref, "inst-77");   /* event 1's, same incident and channel */
	ck_assert_ptr_null(p->dlv.ref);
	p = &st.pending[2];
	ck_assert(p->ev.id == 2 && strcmp(p->dlv.channel, "slack") == 0);
	ck_assert_int_eq(p->dlv.attempts, 2);
	ck_assert_int_eq(p->dlv.next_ms, T0 + 999);
	ck_assert_pstr_eq(p->dlv.error, "HTTP 500");
	ck_assert_int_eq(p->dlv.status, 500);
	ck_assert_pstr_eq(p->dlv.ref, "own-ref");
	ck_assert_ptr_null(p->ref);             /* its own ref does not count */
	p = &st.pending[3];
	ck_assert(p->ev.id == 3 && strcmp(p->dlv.channel, "slack") == 0);
	ck_assert_int_eq(p->ev.incident_id, 0);
	ck_assert_str_eq(p->ev.kind, "flapping");
	ck_assert_ptr_null(p->ref);
	store_alert_state_clear(&st);
	ck_assert_ptr_null(st.pending);

	/* The newest ref wins. */
	op = op_new();
	add_dlv(op, 2, "instatus", STORE_DLV_DELIVERED, 1, 0, T0 + 3 * MIN_MS, NULL, "inst-78", 201);
	add_event(op, 4, 1, "api", "resolved", T0 + 4 * MIN_MS, inst);
	commit_op(s, op);
	ck_assert_int_eq(store_alert_load(s, &st), 0);
	ck_assert_int_eq(st.npending, 4);
	ck_assert_int_eq(st.pending[3].ev.id, 4);
	ck_assert_pstr_eq(st.pending[3].ref, "inst-78");
	store_alert_state_clear(&st);
	store_close(s);

	ck_assert_int_eq(count("SELECT count(*) FROM outbox"), 6);
	ck_assert_int_eq(count("SELECT count(*) FROM events WHERE incident_id IS NULL"), 1);
	ck_assert_int_eq(count("SELECT done_ms FROM outbox WHERE event_id = 1 AND channel = 'instatus'"),
			 T0 + MIN_MS + 5);
	ck_assert_int_eq(count("SELECT count(*) FROM incidents WHERE resolved_ms IS NULL"), 2);
	ck_assert_int_eq(count("SELECT count(*) FROM pragma_foreign_key_check"), 0);
	ck_assert(!rec.backwards);
}
END_TEST

/* The queue: sequence numbers, the committed callback, no waiting for batch_ms. */
START_TEST(committed_reaches_seq_promptly)
{
	/* A batch window far longer than the test: only the op can make it commit. */
	struct store *s = open_writer(0, 60000);
	struct store_alert_op *op = op_new();
	struct store_stats st;
	uint64_t seq = 0;
	int calls = 0;

	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(store_submit(s, mk("p", T0 + i)), 0);
	add_inc(op, 1, "p", T0, 0, 0);
	ck_assert_int_eq(store_submit_alert(s, op, &seq), 0);
	ck_assert_uint_eq(seq, 4);
	ck_assert_msg(wait_committed(4, 5000), "the op waited for batch_ms");
	/* The results queued before it went along; stats count results only. */
	store_get_stats(s, &st);
	ck_assert_uint_eq(st.submitted, 3);
	ck_assert_uint_eq(st.written, 3);
	ck_assert_uint_eq(st.pending, 0);
	ck_assert_int_eq(count("SELECT count(*) FROM runs"), 3);
	ck_assert_int_eq(count("SELECT count(*) FROM incidents"), 1);

	ck_assert_int_eq(store_submit(s, mk("p", T0 + 10)), 0);
	op = op_new();
	add_inc(op, 2, "p", T0 + 10, 0, 0);
	ck_assert_int_eq(store_submit_alert(s, op, NULL), 0);   /* seq may be NULL */
	ck_assert(wait_committed(6, 5000));
	store_close(s);
	uv_mutex_lock(&rec.lock);
	calls = rec.calls;
	ck_assert_uint_eq(rec.last, 6);
	ck_assert(!rec.backwards);
	uv_mutex_unlock(&rec.lock);
	ck_assert_int_ge(calls, 2);
	ck_assert_int_eq(count("SELECT count(*) FROM incidents"), 2);
}
END_TEST

START_TEST(op_accepted_past_full_queue)
{
	enum { OPS = 50 };
	struct store *s = open_writer(2, 10);
	sqlite3 *db = t_db_open(dbpath);
	struct store_alert_op *op = NULL;
	struct store_stats st;
	uint64_t seq = 0;

	t_db_exec(db, "BEGIN IMMEDIATE");
	ck_assert_int_eq(store_submit(s, mk("p", T0)), 0);
	ck_assert_int_eq(store_submit(s, mk("p", T0 + 1)), 0);
	ck_assert_int_eq(store_submit(s, mk("p", T0 + 2)), -ENOBUFS);
	/* Many more ops than max_pending: the ring grows past it for them. */
	for (int i = 1; i <= OPS; i++) {
		op = op_new();
		add_inc(op, i, "p", T0 + i, 0, 0);
		seq = submit_op(s, op);
	}
	ck_assert_uint_eq(seq, 2 + OPS);
	/* Queued ops take no room from results, and none from the stats. */
	ck_assert_int_eq(store_submit(s, mk("p", T0 + 3)), -ENOBUFS);
	store_get_stats(s, &st);
	ck_assert_uint_eq(st.submitted, 2);
	ck_assert_uint_eq(st.pending, 2);
	ck_assert_uint_eq(st.dropped, 2);
	ck_assert_uint_eq(committed_now(), 0);
	t_db_exec(db, "ROLLBACK");

	ck_assert(wait_committed(seq, 10000));
	ck_assert_int_eq(t_db_int(db, "SELECT count(*) FROM incidents"), OPS);
	ck_assert_int_eq(t_db_int(db, "SELECT count(*) FROM runs"), 2);
	sqlite3_close(db);
	store_close(s);
}
END_TEST

/*
 * Another connection holds the write lock: results and ops interleaved wait
 * together, nothing is committed (the callback stays at 0), and once the lock
 * goes everything is written exactly once, in order.
 */
START_TEST(locked_batch_retried)
{
	static const char *const ab[] = { "a", "b", NULL };
	struct store *s = open_writer(0, 20);
	sqlite3 *db = t_db_open(dbpath);
	struct store_alert_op *op = NULL;
	struct store_stats st;

	t_db_exec(db, "BEGIN IMMEDIATE");
	ck_assert_int_eq(store_submit(s, mk("p", T0)), 0);
	op = op_new();
	add_inc(op, 1, "brand-new", T0, 0, STORE_INC_ANNOUNCED);
	add_event(op, 1, 1, "brand-new", "opened", T0, ab);
	submit_op(s, op);
	ck_assert_int_eq(store_submit(s, mk("p", T0 + 1)), 0);
	/* Depends on the row the previous op inserts: order matters. */
	op = op_new();
	add_dlv(op, 1, "a", STORE_DLV_DELIVERED, 1, 0, T0 + 5, NULL, "r-1", 200);
	submit_op(s, op);
	ck_assert_int_eq(store_submit(s, mk("p", T0 + 2)), 0);
	ck_assert_msg(t_store_wait_failing(s, true, 5000), "the store never reported failing");
	ck_assert_uint_eq(committed_now(), 0);
	t_db_exec(db, "ROLLBACK");

	ck_assert_int_eq(store_flush(s, 5000), 0);
	ck_assert(wait_committed(5, 1000));
	store_get_stats(s, &st);
	ck_assert(!st.failing);
	ck_assert_uint_eq(st.written, 3);
	ck_assert_uint_eq(st.dropped, 0);
	ck_assert_int_eq(t_db_int(db, "SELECT count(*) FROM runs"), 3);
	ck_assert_int_eq(t_db_int(db, "SELECT count(*) FROM incidents"), 1);
	ck_assert_int_eq(t_db_int(db, "SELECT count(*) FROM outbox"), 2);
	ck_assert_int_eq(t_db_int(db, "SELECT state FROM outbox WHERE channel = 'a'"),
			 STORE_DLV_DELIVERED);
	ck_assert_int_eq(t_db_int(db, "SELECT count(*) FROM probes WHERE name = 'brand-new'"), 1);
	sqlite3_close(db);
	store_close(s);
}
END_TEST

/*
 * An op fails part-way (a trigger refuses its event) after interning a new
 * probe for its incident: the rollback takes the probe, the cache must forget
 * its id (or the retry would point at a missing probe), and the retry writes
 * everything once the cause is gone.
 */
START_TEST(failed_midway_rolls_back_op)
{
	static const char *const a[] = { "a", NULL };
	struct store *s = open_writer(0, 20);
	sqlite3 *db = t_db_open(dbpath);
	struct store_alert_op *op = op_new();

	t_db_exec(db, "CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.id = 666"
		 " BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
	add_inc(op, 1, "fresh", T0, 0, 0);
	add_event(op, 666, 1, "fresh", "opened", T0, a);
	submit_op(s, op);
	ck_assert_int_eq(store_submit(s, mk("other", T0)), 0);
	ck_assert_msg(t_store_wait_failing(s, true, 5000), "the store never reported failing");
	ck_assert_int_eq(t_db_int(db, "SELECT count(*) FROM probes"), 0);
	ck_assert_int_eq(t_db_int(db, "SELECT count(*) FROM incidents"), 0);
	ck_assert_uint_eq(committed_now(), 0);
	t_db_exec(db, "DROP TRIGGER refuse");

	ck_assert(wait_committed(2, 5000));
	ck_assert_int_eq(t_db_int(db, "SELECT count(*) FROM incidents i JOIN probes p"
				 " ON p.id = i.probe_id WHERE p.name = 'fresh'"), 1);
	ck_assert_int_eq(t_db_int(db, "SELECT count(*) FROM events e JOIN probes p"
				 " ON p.id = e.probe_id WHERE p.name = 'fresh'"), 1);
	ck_assert_int_eq(t_db_int(db, "SELECT count(*) FROM outbox WHERE event_id = 666"), 1);
	ck_assert_int_eq(t_db_int(db, "SELECT count(*) FROM runs"), 1);
	ck_assert_int_eq(t_db_int(db, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
	sqlite3_close(db);
	store_close(s);
}
END_TEST

/* No writer ever started: store_close writes the op and reports it committed. */
START_TEST(close_writes_queued_ops)
{
	struct store *s = open_store(0, 0, 0);
	struct store_alert_op *op = op_new();

	add_inc(op, 7, "p", T0, 0, 0);
	ck_assert_uint_eq(submit_op(s, op), 1);
	ck_assert_int_eq(store_flush(s, 100), -EINVAL);
	store_close(s);
	ck_assert_uint_eq(committed_now(), 1);
	ck_assert_int_eq(count("SELECT id FROM incidents"), 7);
}
END_TEST

/* ------------------------------------------------------------------ readers */

START_TEST(incidents_filtered)
{
	struct store *s = open_writer(0, 20), *ro = NULL;
	struct store_alert_op *op = op_new();
	struct store_incident_filter f = { 0 };
	struct store_incident *v = NULL;
	size_t n = 0;
	char buf[64];

	add_inc(op, 1, "api", T0, T0 + 100, STORE_INC_ANNOUNCED | STORE_INC_RESOLVE_SENT);
	add_inc(op, 2, "web", T0 + 1000, 0, 0);
	add_inc(op, 3, "api", T0 + 2000, 0, STORE_INC_ANNOUNCED);
	add_inc(op, 4, "api", T0 + 3000, T0 + 3100, 0);
	add_inc(op, 5, "db", T0 + 1500, T0 + 1600, 0);
	add_inc(op, 6, "web", T0 + 3000, T0 + 3200, 0);   /* a tie on started_ms */
	commit_op(s, op);

	ck_assert_str_eq(list_ids(s, &f, buf, sizeof(buf)), "6,4,3,5,2,1");
	ck_assert_str_eq(list_ids(s, NULL, buf, sizeof(buf)), "6,4,3,5,2,1");
	f.open_only = true;
	ck_assert_str_eq(list_ids(s, &f, buf, sizeof(buf)), "3,2");
	f = (struct store_incident_filter){ .probe = "api" };
	ck_assert_str_eq(list_ids(s, &f, buf, sizeof(buf)), "4,3,1");
	f.open_only = true;
	ck_assert_str_eq(list_ids(s, &f, buf, sizeof(buf)), "3");
	f = (struct store_incident_filter){ .since_ms = T0 + 1500 };
	ck_assert_str_eq(list_ids(s, &f, buf, sizeof(buf)), "6,4,3,5");
	f = (struct store_incident_filter){ .limit = 2 };
	ck_assert_str_eq(list_ids(s, &f, buf, sizeof(buf)), "6,4");
	f = (struct store_incident_filter){ .probe = "api", .since_ms = T0 + 1, .limit = 1 };
	ck_assert_str_eq(list_ids(s, &f, buf, sizeof(buf)), "4");
	f = (struct store_incident_filter){ .probe = "nobody" };
	ck_assert_str_eq(list_ids(s, &f, buf, sizeof(buf)), "");

	/* The rows are whole; and a read-only store (the CLI) reads the same. */
	ro = open_store(STORE_READONLY, 0, 0);
	f = (struct store_incident_filter){ .probe = "api", .limit = 1 };
	ck_assert_int_eq(store_incidents(ro, &f, &v, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(v[0].id, 4);
	ck_assert_str_eq(v[0].probe, "api");
	ck_assert_int_eq(v[0].resolved_ms, T0 + 3100);
	ck_assert_str_eq(v[0].failed_step, "login");
	incidents_free(v, n);
	f = (struct store_incident_filter){ .open_only = true };
	ck_assert_str_eq(list_ids(ro, &f, buf, sizeof(buf)), "3,2");
	store_close(ro);
	store_close(s);
}
END_TEST

START_TEST(timeline_of_incident)
{
	static const char *const two[] = { "slack", "instatus", NULL };
	static const char *const hook[] = { "webhook", NULL };
	struct store *s = open_writer(0, 20);
	struct store_alert_op *op = op_new();
	struct store_timeline t;
	struct store_timeline_event *te = NULL;

	add_inc(op, 7, "api", T0, T0 + 40, STORE_INC_ANNOUNCED | STORE_INC_RESOLVE_SENT);
	add_inc(op, 8, "web", T0, 0, 0);
	add_inc(op, 9, "db", T0, 0, 0);
	/* Inserted out of time order: the timeline is by created_ms. */
	add_event(op, 10, 7, "api", "opened", T0 + 10, two);
	add_event(op, 12, 7, "api", "resolved", T0 + 30, hook);
	add_event(op, 11, 7, "api", "reminder", T0 + 20, two);
	add_event(op, 13, 8, "web", "opened", T0 + 15, two);
	add_dlv(op, 10, "instatus", STORE_DLV_DELIVERED, 1, 0, T0 + 11, NULL, "inst-1", 200);
	add_dlv(op, 10, "slack", STORE_DLV_GAVE_UP, 5, 0, T0 + 12, "HTTP 410 gone", NULL, 410);
	commit_op(s, op);

	ck_assert_int_eq(store_incident_timeline(s, 7, &t), 0);
	ck_assert_int_eq(t.inc.id, 7);
	ck_assert_str_eq(t.inc.probe, "api");
	ck_assert_int_eq(t.inc.resolved_ms, T0 + 40);
	ck_assert_uint_eq(t.nevents, 3);
	ck_assert_int_eq(t.events[0].ev.id, 10);
	ck_assert_int_eq(t.events[1].ev.id, 11);
	ck_assert_int_eq(t.events[2].ev.id, 12);
	te = &t.events[0];
	ck_assert_str_eq(te->ev.kind, "opened");
	ck_assert_int_eq(te->ev.incident_id, 7);
	ck_assert_str_eq(te->ev.payload, "{\"event\":\"opened\",\"event_id\":10}");
	/* Deliveries and channels by channel name. */
	ck_assert_uint_eq(te->ndlv, 2);
	ck_assert_uint_eq(te->ev.nchannels, 2);
	ck_assert_str_eq(te->ev.channels[0], "instatus");
	ck_assert_str_eq(te->ev.channels[1], "slack");
	ck_assert_str_eq(te->dlv[0].channel, "instatus");
	ck_assert_int_eq(te->dlv[0].state, STORE_DLV_DELIVERED);
	ck_assert_pstr_eq(te->dlv[0].ref, "inst-1");
	ck_assert_int_eq(te->dlv[0].done_ms, T0 + 11);
	ck_assert_str_eq(te->dlv[1].channel, "slack");
	ck_assert_int_eq(te->dlv[1].state, STORE_DLV_GAVE_UP);
	ck_assert_int_eq(te->dlv[1].attempts, 5);
	ck_assert_pstr_eq(te->dlv[1].error, "HTTP 410 gone");
	ck_assert_int_eq(te->dlv[1].status, 410);
	ck_assert_int_eq(t.events[1].dlv[0].state, STORE_DLV_PENDING);
	ck_assert_int_eq(t.events[1].dlv[0].done_ms, 0);
	ck_assert_uint_eq(t.events[2].ndlv, 1);
	ck_assert_str_eq(t.events[2].dlv[0].channel, "webhook");
	store_timeline_clear(&t);
	ck_assert_ptr_null(t.events);

	ck_assert_int_eq(store_incident_timeline(s, 9, &t), 0);
	ck_assert_int_eq(t.inc.id, 9);
	ck_assert_uint_eq(t.nevents, 0);
	store_timeline_clear(&t);

	memset(&t, 0xa5, sizeof(t));
	ck_assert_int_eq(store_incident_timeline(s, 999, &t), -ENOENT);
	ck_assert_ptr_null(t.events);
	ck_assert_ptr_null(t.inc.probe);
	store_timeline_clear(&t);
	store_close(s);
}
END_TEST

/* The load queries read only their partial index (what is live, what is pending), and the timeline its index. */
START_TEST(load_uses_partial_indexes)
{
	static const struct { enum store__sqa q; const char *index; bool sorts; } want[] = {
		{ STORE__SQA_LIVE_INCIDENTS, "incidents_live", false },
		{ STORE__SQA_PENDING, "outbox_pending", false },
		/* One incident's few events, sorted by time. */
		{ STORE__SQA_INC_EVENTS, "events_by_incident", true },
	};
	struct store *s = open_store(0, 0, 0);
	sqlite3 *db = t_db_open(dbpath);

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		char sql[2048], plan[1024] = "";
		sqlite3_stmt *st = NULL;

		snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", store__sqlite_alert_sql[want[i].q]);
		ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW) {
			strncat(plan, (const char *)sqlite3_column_text(st, 3), 200);
			strncat(plan, "; ", 3);
		}
		sqlite3_finalize(st);
		ck_assert_msg(strstr(plan, want[i].index), "%s", plan);
		ck_assert_msg(want[i].sorts || !strstr(plan, "TEMP B-TREE"), "%s", plan);
	}
	sqlite3_close(db);
	store_close(s);
}
END_TEST

/* ------------------------------------------------------------------ maintenance */

START_TEST(maintenance_windows)
{
	struct store *daemon = open_writer(0, 5), *cli = NULL, *ro = NULL;
	struct store_maint m = { .probe = "api", .start_ms = T0, .end_ms = T0 + HOUR_MS,
				 .reason = "deploy" };
	struct store_maint *v = NULL;
	int64_t id = 0, before = probe_now_ms(), after = 0;
	size_t n = 0;
	char buf[64];

	/* The CLI writes while the daemon's writer is busy with results. */
	for (int i = 0; i < 200; i++)
		ck_assert_int_eq(store_submit(daemon, mk("api", T0 + i)), 0);
	cli = open_store(0, 0, 0);
	m.id = 42;   /* ignored */
	ck_assert_int_eq(store_maint_add(cli, &m, &id), 0);
	after = probe_now_ms();
	ck_assert_int_eq(id, 1);
	m = (struct store_maint){ .tag = "db", .start_ms = T0 + 30 * MIN_MS,
				  .end_ms = T0 + 2 * HOUR_MS, .created_ms = T0 - 5 };
	ck_assert_int_eq(store_maint_add(cli, &m, &id), 0);
	ck_assert_int_eq(id, 2);
	m = (struct store_maint){ .probe = "x", .tag = "y", .start_ms = T0 - 2 * HOUR_MS,
				  .end_ms = T0 - HOUR_MS };
	ck_assert_int_eq(store_maint_add(cli, &m, &id), 0);
	ck_assert_int_eq(id, 3);
	ck_assert_int_eq(store_flush(daemon, 5000), 0);
	ck_assert_int_eq(count("SELECT count(*) FROM runs"), 200);

	/* Refused: matching nothing, or never active. */
	m = (struct store_maint){ .start_ms = T0, .end_ms = T0 + 1 };
	ck_assert_int_eq(store_maint_add(cli, &m, &id), -EINVAL);
	m = (struct store_maint){ .probe = "api", .start_ms = T0, .end_ms = T0 };
	ck_assert_int_eq(store_maint_add(cli, &m, &id), -EINVAL);

	ck_assert_int_eq(store_maint_list(cli, 0, &v, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(v[0].id, 1);
	ck_assert_str_eq(v[0].probe, "api");
	ck_assert_ptr_null(v[0].tag);
	ck_assert_str_eq(v[0].reason, "deploy");
	ck_assert_int_eq(v[0].start_ms, T0);
	ck_assert_int_eq(v[0].end_ms, T0 + HOUR_MS);
	ck_assert(v[0].created_ms >= before && v[0].created_ms <= after);
	ck_assert_ptr_null(v[1].probe);
	ck_assert_str_eq(v[1].tag, "db");
	ck_assert_ptr_null(v[1].reason);
	ck_assert_int_eq(v[1].created_ms, T0 - 5);
	ck_assert_str_eq(v[2].probe, "x");
	ck_assert_str_eq(v[2].tag, "y");
	store_maints_free(v, n);

	/* Active: start inclusive, end exclusive. */
	ck_assert_str_eq(maint_ids(cli, T0, buf, sizeof(buf)), "1");
	ck_assert_str_eq(maint_ids(cli, T0 + 45 * MIN_MS, buf, sizeof(buf)), "1,2");
	ck_assert_str_eq(maint_ids(cli, T0 + HOUR_MS, buf, sizeof(buf)), "2");
	ck_assert_str_eq(maint_ids(cli, T0 + 3 * HOUR_MS, buf, sizeof(buf)), "");

	/* Ending early; ending again or a window already over changes nothing. */
	ck_assert_int_eq(store_maint_end(cli, 1, T0 + 10 * MIN_MS), 0);
	ck_assert_str_eq(maint_ids(cli, T0 + 20 * MIN_MS, buf, sizeof(buf)), "");
	ck_assert_str_eq(maint_ids(cli, T0 + 5 * MIN_MS, buf, sizeof(buf)), "1");
	ck_assert_int_eq(store_maint_end(cli, 1, T0 + 50 * MIN_MS), 0);
	ck_assert_int_eq(store_maint_end(cli, 3, T0), 0);
	ck_assert_int_eq(store_maint_end(cli, 999, T0), -ENOENT);
	ck_assert_int_eq(count("SELECT end_ms FROM maintenance WHERE id = 1"), T0 + 10 * MIN_MS);
	ck_assert_int_eq(count("SELECT end_ms FROM maintenance WHERE id = 3"), T0 - HOUR_MS);

	/* The daemon (another connection) sees them; a read-only store reads, never writes. */
	ck_assert_str_eq(maint_ids(daemon, T0 + 45 * MIN_MS, buf, sizeof(buf)), "2");
	ro = open_store(STORE_READONLY, 0, 0);
	ck_assert_str_eq(maint_ids(ro, 0, buf, sizeof(buf)), "1,2,3");
	m = (struct store_maint){ .probe = "api", .start_ms = T0, .end_ms = T0 + 1 };
	ck_assert_int_eq(store_maint_add(ro, &m, &id), -EROFS);
	ck_assert_int_eq(store_maint_end(ro, 2, T0), -EROFS);
	store_close(ro);
	store_close(cli);
	store_close(daemon);
	ck_assert_int_eq(count("SELECT count(*) FROM maintenance"), 3);
}
END_TEST

/* ------------------------------------------------------------------ schema and read-only */

START_TEST(v1_database_migrates)
{
	struct store_opts ro_opts = { .path = dbpath, .flags = STORE_READONLY };
	struct store_alert_state st;
	struct store *s = NULL;
	struct store_alert_op *op = NULL;
	sqlite3 *db = t_db_open(dbpath);
	char *err = NULL;

	/* A database as schema v1 left it, with a run in it. */
	t_db_exec(db, "PRAGMA journal_mode = WAL");
	t_db_exec(db, "BEGIN");
	t_db_exec(db, store__sqlite_schema_sql(1));
	t_db_exec(db, "PRAGMA user_version = 1; PRAGMA application_id = 1667329633");
	t_db_exec(db, "INSERT INTO probes (name) VALUES ('old');"
		 " INSERT INTO runs (probe_id, started_ms, duration_us, lag_us, result)"
		 " VALUES (1, 1700000000000, 5, 0, 0)");
	t_db_exec(db, "COMMIT");
	sqlite3_close(db);

	/* The CLI cannot migrate it, and says so. */
	ck_assert_int_eq(store_open(&ro_opts, &s, &err), -EPROTO);
	ck_assert_msg(err && strstr(err, "older"), "%s", err ? err : "NULL");
	free(err);
	err = NULL;

	s = open_writer(0, 20);
	db = t_db_open(dbpath);
	ck_assert_int_eq(t_db_int(db, "PRAGMA user_version"), STORE__SQLITE_SCHEMA);
	ck_assert_int_eq(t_db_int(db, "SELECT count(*) FROM runs"), 1);
	ck_assert_int_eq(t_db_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND"
				 " name IN ('incidents', 'events', 'outbox', 'maintenance')"), 4);
	ck_assert_int_eq(t_db_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND"
				 " name IN ('incidents_by_probe', 'incidents_live', 'events_by_incident',"
				 " 'outbox_pending', 'maintenance_by_end')"), 5);
	sqlite3_close(db);
	ck_assert_int_eq(store_alert_load(s, &st), 0);
	ck_assert_int_eq(st.max_incident_id, 0);
	ck_assert_int_eq(st.max_event_id, 0);
	ck_assert_uint_eq(st.nincidents + st.npending, 0);
	store_alert_state_clear(&st);
	/* The old probe's interned id is reused. */
	op = op_new();
	add_inc(op, 1, "old", T0, 0, 0);
	commit_op(s, op);
	store_close(s);
	ck_assert_int_eq(count("SELECT count(*) FROM probes"), 1);
	ck_assert_int_eq(count("SELECT probe_id FROM incidents WHERE id = 1"), 1);

	s = open_store(STORE_READONLY, 0, 0);
	ck_assert_int_eq(store_alert_load(s, &st), 0);
	ck_assert_int_eq(st.max_incident_id, 1);
	store_alert_state_clear(&st);
	store_close(s);
}
END_TEST

START_TEST(readonly_store)
{
	struct store_opts o = { .path = dbpath, .flags = STORE_READONLY };
	struct store_alert_state st;
	struct store_timeline t;
	struct store_alert_op *op = NULL;
	struct store *s = NULL;
	uint64_t seq = 99;
	char *err = NULL, buf[32];

	ck_assert_int_eq(store_open(&o, &s, &err), -ENOENT);
	ck_assert_ptr_null(s);
	free(err);
	ck_assert_int_ne(access(dbpath, F_OK), 0);

	s = open_writer(0, 20);
	op = op_new();
	add_inc(op, 3, "api", T0, 0, 0);
	commit_op(s, op);
	store_close(s);

	s = open_store(STORE_READONLY, 0, 0);
	ck_assert_int_eq(store_alert_load(s, &st), 0);
	ck_assert_int_eq(st.max_incident_id, 3);
	ck_assert_uint_eq(st.nincidents, 1);
	store_alert_state_clear(&st);
	ck_assert_str_eq(list_ids(s, NULL, buf, sizeof(buf)), "3");
	ck_assert_int_eq(store_incident_timeline(s, 3, &t), 0);
	store_timeline_clear(&t);
	ck_assert_str_eq(maint_ids(s, 0, buf, sizeof(buf)), "");
	/* Stolen even when refused: ASan sees no leak. */
	op = op_new();
	add_inc(op, 4, "api", T0, 0, 0);
	ck_assert_int_eq(store_submit_alert(s, op, &seq), -EROFS);
	ck_assert_uint_eq(seq, 0);
	op = op_new();
	add_inc(op, 4, "api", T0, 0, 0);
	ck_assert_int_eq(store_submit_alert(NULL, op, NULL), -EINVAL);
	store_close(s);
	ck_assert_int_eq(count("SELECT count(*) FROM incidents"), 1);
}
END_TEST

/* Every free function takes NULL, zeroed structs, and a second call. */
START_TEST(free_functions_accept_null)
{
	struct store_incident inc = { 0 };
	struct store_event ev = { 0 };
	struct store_delivery d = { 0 };
	struct store_alert_state st = { 0 };
	struct store_timeline t = { 0 };
	struct store_maint m = { .probe = strdup("p"), .reason = strdup("r") };

	store_alert_op_free(NULL);
	store_alert_op_free(op_new());
	store_incident_clear(NULL);
	store_event_clear(NULL);
	store_delivery_clear(NULL);
	store_alert_state_clear(NULL);
	store_timeline_clear(NULL);
	store_maint_clear(NULL);
	store_maints_free(NULL, 0);
	store_incident_clear(&inc);
	store_event_clear(&ev);
	store_delivery_clear(&d);
	store_alert_state_clear(&st);
	store_timeline_clear(&t);
	store_maint_clear(&m);
	ck_assert_ptr_null(m.probe);
	store_maint_clear(&m);
}
END_TEST

/* ------------------------------------------------------------------ suite */

/* Adds a TCase named name to s, each test in a temp directory of its own and bounded by timeout_s. */
static TCase *add_tcase(Suite *s, const char *name, int timeout_s)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, timeout_s);
	suite_add_tcase(s, tc);
	return tc;
}

Suite *alert_store_suite(void)
{
	Suite *s = suite_create("alert_store");
	TCase *tc = add_tcase(s, "ops", 20);

	tcase_add_test(tc, op_round_trip);
	tcase_add_test(tc, committed_reaches_seq_promptly);
	tcase_add_test(tc, op_accepted_past_full_queue);
	tcase_add_test(tc, locked_batch_retried);
	tcase_add_test(tc, failed_midway_rolls_back_op);
	tcase_add_test(tc, close_writes_queued_ops);
	tc = add_tcase(s, "read", 10);
	tcase_add_test(tc, incidents_filtered);
	tcase_add_test(tc, timeline_of_incident);
	tcase_add_test(tc, load_uses_partial_indexes);
	tcase_add_test(tc, maintenance_windows);
	tc = add_tcase(s, "schema", 10);
	tcase_add_test(tc, v1_database_migrates);
	tcase_add_test(tc, readonly_store);
	tcase_add_test(tc, free_functions_accept_null);
	return s;
}
