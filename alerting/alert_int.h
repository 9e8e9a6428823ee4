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
	const char *kind;          /* "opened", "reminder", "resolved", "flapping", "test" */
	int64_t incident_id;       /* 0 for "test" */
	const char *probe;
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

#endif
