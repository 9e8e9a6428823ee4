/* alert_int.h - what only alerting's files share: the channel plugin interface, events, and helpers. */
#ifndef CANARY_ALERT_INT_H
#define CANARY_ALERT_INT_H

#include "alerting/alert.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The event object. Built once when the event is created, stored in the
 * outbox as JSON text, and given to every channel: webhook and exec send it
 * as it is (README documents it), slack and instatus render from it.
 *
 * {
 *   "version": 1,
 *   "event": "opened",            opened | reminder | resolved | flapping | test
 *   "event_id": 17,
 *   "created": "2026-11-21T14:03:05Z",   "created_ms": 1795...,
 *   "probe": {"name": "vitals-submit", "description": "..." or null, "tags": ["vitals"]},
 *   "incident": {                 null for "test"
 *     "id": 4,
 *     "state": "open",            open | resolved
 *     "started": "...Z",  "started_ms": N,     the first failed run
 *     "detected": "...Z", "detected_ms": N,    the run that crossed the threshold
 *     "resolved": null,   "resolved_ms": null, the first passing run, once resolved
 *     "duration_s": 180,          resolved: the downtime; open: from start to the event
 *     "failed_runs": 3,
 *     "failed_step": "submit",    or null
 *     "error_class": "timeout",   the first failure
 *     "error": "step \"login\": timed out after 10000 ms waiting for the response",
 *     "last_error_class": "...", "last_error": "...",   the latest failure
 *     "latency_ms": 10000.0,      the latest failed run's duration
 *     "slow": false               true when only latency assertions failed
 *   },
 *   "flapping": {"changes": 7, "window_s": 1800},       "flapping" only
 *   "reminder": 2                                       "reminder" only: its number
 * }
 */
#define ALERT__EVENT_VERSION 1

/* What a channel renders from. */
struct alert_event {
	int64_t id;
	const char *kind;          /* borrowed; "opened", "reminder", "resolved", "flapping", "test" */
	int64_t incident_id;       /* 0 for "test" */
	const char *probe;         /* borrowed; never NULL */
	const json_t *payload;     /* borrowed: the event object above */
	const char *ref;           /* borrowed: what this channel returned for an earlier event
				      of the same incident (an Instatus incident id), or NULL */
};

enum alert_req_kind {
	ALERT_REQ_HTTP,
	ALERT_REQ_EXEC,
};

/* One thing to do for one event on one channel. Owned by whoever filled it; see alert__request_clear. */
struct alert_request {
	enum alert_req_kind kind;
	/* ALERT_REQ_HTTP */
	char *method;              /* "POST", "PUT", "GET" */
	char *url;
	char **headers;            /* "Name: value" lines */
	size_t nheaders;
	/* Both: the body, or what goes to the command's stdin. */
	char *body;
	size_t body_len;
	/* ALERT_REQ_EXEC */
	char **argv;               /* NULL-terminated */
};

/* What came back. Everything is borrowed and lives during classify only. */
struct alert_response {
	const char *error;         /* no answer: the transport error (or exec failure); NULL otherwise */
	long status;               /* HTTP status, or the exit status of a command; 0 when none */
	int term_signal;           /* exec: the signal that killed it, 0 when none */
	bool timed_out;            /* the request or command ran out of time */
	const char *body;          /* the answer's body (or the command's stdout), not NUL-terminated */
	size_t body_len;
	int64_t retry_after_ms;    /* from a Retry-After header; -1 when absent */
};

enum alert_verdict {
	ALERT_DELIVERED,
	ALERT_RETRY,               /* after out.retry_after_ms if >= 0, else the backoff */
	ALERT_GIVE_UP,             /* retrying cannot help; out.why says why */
};

struct alert_outcome {
	enum alert_verdict verdict;
	int64_t retry_after_ms;    /* -1: the dispatcher's backoff */
	char *why;                 /* new; a short reason for logs and the timeline ("HTTP 410 channel_is_archived") */
	char *ref;                 /* new, or NULL; kept for later events of the same incident */
};

/* The struct of type that holds, as its member, what ptr points at. */
#define alert__container_of(ptr, type, member) ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/*
 * A channel: the base every type embeds as its first member (h2o's super),
 * allocated zeroed with the type's size by alert__channel_new.
 */
struct alert_channel {
	const struct alert_channel_type *type;
	char *name;                /* owned */
	int rate_per_min;          /* the token bucket's rate and burst */
	int64_t retry_for_ms;      /* give up on an event older than this (24h) */
	int64_t timeout_ms;        /* per request or command (10s) */
	char **secrets;            /* owned; values that never appear in a log or the database */
	size_t nsecrets;
};

#define ALERT__TYPE_VERSION 1
/* render's return when the event means nothing to this channel. */
#define ALERT__SKIP 1

/*
 * A channel type, registered in channel.c's table. Adding one is one file and
 * one line there. Called only through the alert__channel_* wrappers.
 */
struct alert_channel_type {
	int version;               /* ALERT__TYPE_VERSION */
	const char *name;          /* "slack" */
	size_t size;               /* of the type's struct, which embeds struct alert_channel first */
	int rate_per_min;          /* default rate_per_min */
	const char *const *keys;   /* NULL-terminated: the type's own config keys */

	/*
	 * Required. Reads conf (already checked for unknown keys) into ch, whose
	 * base is filled. Reports every problem to err (path relative to conf).
	 * Adds its secret values with alert__channel_secret. Returns 0 or -EINVAL.
	 */
	int (*create)(struct alert_channel *ch, const json_t *conf, alert_err_fn err, void *ctx);

	/*
	 * Required. Fills req (zeroed) for ev. Returns 0, ALERT__SKIP with a new
	 * reason in *why when there is nothing to send, or a negative error.
	 */
	int (*render)(struct alert_channel *ch, const struct alert_event *ev, struct alert_request *req,
		      char **why);

	/* Required. Judges resp to ev; out is zeroed with retry_after_ms -1. */
	void (*classify)(struct alert_channel *ch, const struct alert_event *ev,
			 const struct alert_response *resp, struct alert_outcome *out);

	/* Optional. Frees what create allocated (not ch itself). */
	void (*destroy)(struct alert_channel *ch);
};

extern const struct alert_channel_type alert__slack_type;
extern const struct alert_channel_type alert__instatus_type;
extern const struct alert_channel_type alert__webhook_type;
extern const struct alert_channel_type alert__exec_type;

/* ------------------------------------------------------------------ channel.c */

/*
 * Builds channel name from conf: "type" picks the type, the common keys
 * (rate_per_min, retry_for, timeout) fill the base, unknown keys are refused.
 * Returns 0 and *out (new), or -EINVAL with every problem reported to err.
 */
int alert__channel_new(const char *name, const json_t *conf, alert_err_fn err, void *ctx,
		       struct alert_channel **out);
/* Frees ch and what its type made. Accepts NULL. */
void alert__channel_free(struct alert_channel *ch);
/* Records value (copied) as a secret of ch; empty values are ignored. Returns 0 or -ENOMEM. */
int alert__channel_secret(struct alert_channel *ch, const char *value);

/* Wrappers: the only callers of a type's methods. */
int alert__channel_render(struct alert_channel *ch, const struct alert_event *ev,
			  struct alert_request *req, char **why);
void alert__channel_classify(struct alert_channel *ch, const struct alert_event *ev,
			     const struct alert_response *resp, struct alert_outcome *out);

void alert__request_clear(struct alert_request *req);
void alert__outcome_clear(struct alert_outcome *out);

/* ------------------------------------------------------------------ helpers for types (util.c) */

/*
 * The HTTP verdict most APIs want: 2xx delivered; 429 and 503 retried after
 * Retry-After (or the backoff); 408, other 5xx and no answer retried; every
 * other status given up, with why = "HTTP <status> <first line of body>".
 */
void alert__http_classify(const struct alert_response *resp, struct alert_outcome *out);

/* "HTTP 410 channel_is_archived": status and the body's first line, cut at 200 bytes. New string. */
char *alert__http_why(const struct alert_response *resp);

/* "2026-11-21 14:02:05 UTC" into buf. */
char *alert__fmt_time(int64_t ms, char *buf, size_t size);
/* "2026-11-21T14:02:05Z" into buf. */
char *alert__fmt_iso(int64_t ms, char *buf, size_t size);
/* "1h 2m", "7m 12s", "45s" into buf. */
char *alert__fmt_span(int64_t ms, char *buf, size_t size);

/* Payload accessors: "" / 0 / false when the member is missing or null. */
const char *alert__str(const json_t *obj, const char *key);
int64_t alert__int(const json_t *obj, const char *key);
double alert__real(const json_t *obj, const char *key);
bool alert__bool(const json_t *obj, const char *key);

/* Appends "Name: value" to req's headers (a copy). Returns 0 or -ENOMEM. */
int alert__req_header(struct alert_request *req, const char *name, const char *value);
/* Sets req's body to the compact JSON of v (not stolen). Returns 0 or -ENOMEM. */
int alert__req_json(struct alert_request *req, const json_t *v);

/* Cuts s (UTF-8) to at most max bytes at a character boundary, ending in "…" when cut. New string. */
char *alert__truncate(const char *s, size_t max);

/*
 * Replaces every secret of secrets (and of ch, when not NULL) in s by
 * "[redacted]". Returns s or a new string that replaced it (NULL stays NULL).
 */
char *alert__scrub(char *s, const struct alert_secrets *secrets, const struct alert_channel *ch);

/* ------------------------------------------------------------------ more helpers for types (util.c) */

/*
 * Reports a printf-formatted message to err (may be NULL) at the JSON pointer
 * parent + "/" + key, key escaped (~0, ~1); key NULL: at parent itself.
 */
void alert__errf(alert_err_fn err, void *ctx, const char *parent, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/*
 * Reads conf[key] into *out (borrowed from conf; NULL when absent and not
 * required). A string must be non-empty and hold no NUL. Every problem goes to
 * err at path key. Returns 0 or -EINVAL.
 */
int alert__conf_str(const json_t *conf, const char *key, bool required, const char **out,
		    alert_err_fn err, void *ctx);
/* The same for an http:// or https:// URL; messages never quote it (it may be a secret). */
int alert__conf_url(const json_t *conf, const char *key, bool required, const char **out,
		    alert_err_fn err, void *ctx);
/* conf[key] as a boolean into *out, which keeps its value when the key is absent. */
int alert__conf_bool(const json_t *conf, const char *key, bool *out, alert_err_fn err, void *ctx);

/*
 * The first non-blank line of body (len bytes, no NUL needed), control
 * characters as spaces, cut at max bytes like alert__truncate. New string.
 */
char *alert__first_line(const char *body, size_t len, size_t max);
/* A new string formatted like printf, or NULL when out of memory. */
char *alert__strf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ------------------------------------------------------------------ the service's parts */

/* send.c: one attempt of one request: HTTP through the engine, or a command through uv_spawn. */
struct alert__send;
typedef void (*alert__send_cb)(const struct alert_response *resp, void *arg);

/*
 * Starts req (copied) with a time limit. cb fires once, later, on the loop.
 * Returns 0 and *out (may be NULL; valid until cb), or a negative error and
 * cb never fires.
 */
int alert__send_start(uv_loop_t *loop, struct probe_engine *e, const struct alert_request *req,
		      int64_t timeout_ms, alert__send_cb cb, void *arg, struct alert__send **out);
/* Ends an attempt now; cb fires before this returns, with resp->error "aborted". */
void alert__send_abort(struct alert__send *s);

/* An event in memory, shared by its deliveries. */
struct alert__event {
	int refs;
	int64_t id;
	int64_t incident_id;
	int64_t created_ms;
	char *kind;                /* owned */
	char *probe;               /* owned */
	json_t *payload;           /* owned */
};

/* One outbox row waiting in its channel's queue. */
struct alert__dlv {
	struct alert__dlv *next;
	struct alert__event *ev;   /* a reference */
	struct store_delivery st;  /* its state as stored; st.channel owned */
	uint64_t seq;              /* the store op that wrote the event; 0 when already stored */
};

/* A channel at run time: its queue in order, its token bucket, its refs. */
struct alert__chan {
	struct alert_channel *ch;  /* owned */
	struct alert__dlv *head, *tail;
	struct alert__send *send;  /* the attempt in flight for head, or NULL */
	double tokens;
	uint64_t refill_ns;        /* uv_hrtime of the last refill */
	json_t *refs;              /* owned; incident id (decimal) -> ref string */
	bool aborting;             /* the attempt in flight is being abandoned */
	struct alert_service *a;
};

/* A probe's incident state. */
struct alert__probe {
	struct alert__probe *hnext; /* in the service's hash */
	struct probe_def *def;     /* a reference */
	struct alert_policy pol;   /* owned */
	bool down;
	int fails, passes;         /* the current streaks */
	int64_t recover_start_ms;  /* the first passing run of the recovery streak */
	struct store_incident cur; /* the open incident (id > 0), the failing streak before detection (id 0), or empty */
	struct store_incident done;/* announced, resolved, resolution not yet announced; id 0 when none */
	int64_t *changes;          /* owned; ring of the last pol.flap_changes + 1 state changes, Unix ms */
	size_t nchanges, changes_at;
	bool flapping;
	int64_t last_alert_ms;     /* the latest opened/reminder/flapping event */
	int reminders;
};

struct alert_service {
	uv_loop_t *loop;
	struct probe_engine *engine;
	struct store *store;
	alert_log_fn log;
	struct alert_secrets secrets;
	char **secret_copies;      /* owned; secrets.v points here */

	struct alert__chan *chans; /* owned, n */
	size_t nchans;
	struct alert__probe **buckets; /* owned hash of probes by name */
	size_t nbuckets, nprobes;
	struct store_incident *loaded; /* owned: incidents read at start, until their probe is added */
	size_t nloaded;
	int64_t max_incident_id, max_event_id;

	struct store_maint *maints;/* owned: the active and coming windows */
	size_t nmaints;
	uv_timer_t maint_timer;
	uv_work_t maint_work;
	bool maint_busy;
	struct store_maint *maint_new; /* filled by the work, taken on the loop */
	size_t nmaint_new;
	int maint_rc;
	int64_t maint_poll_ms;

	uv_timer_t wake;           /* the dispatcher's next retry or token */
	uv_async_t committed_async;
	_Atomic uint64_t committed; /* the store's committed sequence, set from its writer thread */
	int open_handles;
	bool stopping, closing;
	void (*stop_cb)(void *arg);
	void *stop_arg;
	void (*close_cb)(void *arg);
	void *close_arg;
	struct alert_stats stats;
};

/* service.c: logs a line (formatted, scrubbed of every secret). */
void alert__logf(struct alert_service *a, int prio, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* service.c: is probe p inside a maintenance window at now_ms? Returns it (borrowed) or NULL. */
const struct store_maint *alert__in_maintenance(const struct alert_service *a, const struct alert__probe *p,
						int64_t now_ms);
/* service.c: the channel named name (borrowed), or NULL. */
struct alert__chan *alert__find_chan(struct alert_service *a, const char *name);

/* incident.c: takes over an incident read from the store. */
void alert__probe_restore(struct alert_service *a, struct alert__probe *p, struct store_incident *inc);
/* incident.c: the link in the service's hash that points at the probe named name; NULL when untracked. */
struct alert__probe **alert__probe_link(struct alert_service *a, const char *name);
/* incident.c: adds p to the service's hash (a->buckets must exist). Returns 0 or -EEXIST. */
int alert__probe_hash_add(struct alert_service *a, struct alert__probe *p);
/* incident.c: frees p. */
void alert__probe_free(struct alert__probe *p);

/* dispatch.c */
/* Queues an event (a reference is taken) on channel c, written by store op seq. Returns 0 or -ENOMEM. */
int alert__dispatch_add(struct alert__chan *c, struct alert__event *ev, const struct store_delivery *st,
			uint64_t seq);
/* Starts every delivery that may go now and arms the wake timer for the next. */
void alert__dispatch_pump(struct alert_service *a);
/* Frees a channel's queue, aborting its attempt in flight. */
void alert__dispatch_clear(struct alert__chan *c);
/* Sets (ref non-NULL) or drops the ref of incident id on c. */
void alert__chan_ref_set(struct alert__chan *c, int64_t incident_id, const char *ref);
/* The ref of incident id on c (borrowed, valid until it is set again), or NULL. */
const char *alert__chan_ref(const struct alert__chan *c, int64_t incident_id);

/* Returns a new event holding one reference (payload stolen, the strings copied), or NULL. */
struct alert__event *alert__event_new(int64_t id, int64_t incident_id, int64_t created_ms, const char *kind,
				      const char *probe, json_t *payload /* stolen */);
void alert__event_unref(struct alert__event *ev);

#endif
