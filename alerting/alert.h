/* alert.h - incidents from results, and their events delivered through channel plugins (Slack, Instatus, webhook, exec). */
#ifndef CANARY_ALERT_H
#define CANARY_ALERT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#include "probes/probe.h"
#include "storage/storage.h"

/*
 * Alerting turns results into incidents (a state machine per probe) and
 * their events into deliveries: each event is written to the outbox in the
 * transaction that changes the incident, then delivered from there, per
 * channel, in order, rate-limited and retried. It knows results and
 * incidents, never HTTP flows.
 */

/* Reports a problem in a JSON object being validated: path is a JSON pointer
 * relative to that object ("after", "components/api"), "" for the object. */
typedef void (*alert_err_fn)(const char *path, const char *msg, void *ctx);

/* ------------------------------------------------------------------ policy */

/* When a probe's incidents open and close, and where their events go. */
struct alert_policy {
	int after;                 /* consecutive failed runs that open an incident (2) */
	int recover_after;         /* consecutive passing runs that resolve it (1) */
	int flap_changes;          /* more state changes than this ... (6) */
	int64_t flap_window_ms;    /* ... within this window is flapping (30m) */
	int64_t remind_every_ms;   /* 0: no reminders (the default) */
	char **channels;           /* owned; channel names */
	size_t nchannels;
};

/* Fills p with the built-in defaults and no channel. */
void alert_policy_init(struct alert_policy *p);

/*
 * Reads an "alert" object (may be NULL: base as it is) over base (NULL: the
 * built-ins) into out, which must be cleared by the caller. Keys: after,
 * recover_after, flap_changes, flap_window, remind_every, channels. Every
 * problem goes to err (may be NULL). Returns 0, or -EINVAL when there was one.
 */
int alert_policy_parse(const json_t *obj, const struct alert_policy *base, struct alert_policy *out,
		       alert_err_fn err, void *ctx);
void alert_policy_clear(struct alert_policy *p);

/* ------------------------------------------------------------------ channels */

/*
 * Validates one channel's config ({"type": ..., ...}), reporting every
 * problem to err. Returns 0 or -EINVAL.
 */
int alert_channel_check(const json_t *conf, alert_err_fn err, void *ctx);

/*
 * Secret values to keep out of every line alerting prints, logs or stores:
 * the config's resolved ${...} references. Each channel adds its own
 * (webhook URLs, API keys, header values).
 */
struct alert_secrets {
	const char *const *v;      /* borrowed */
	size_t n;
};

/*
 * `canary alert test`: sends a test event through channel name of channels
 * (the config's resolved "channels" object) now, on a loop of its own, and
 * writes the answer to out. Returns 0 when the channel took it, 1 when it
 * did not, 2 when the channel is unknown or cannot be set up.
 */
int alert_test(const json_t *channels, const char *name, const struct alert_secrets *secrets,
	       FILE *out);

/* ------------------------------------------------------------------ the service */

typedef void (*alert_log_fn)(int prio, const char *msg);

struct alert_opts {
	uv_loop_t *loop;
	struct probe_engine *engine;   /* borrowed: deliveries share the probes' libcurl multi */
	struct store *store;           /* borrowed, read-write, writer started */
	const json_t *channels;        /* borrowed; the config's resolved "channels" */
	struct alert_secrets secrets;
	alert_log_fn log;              /* lines are scrubbed of secrets before */
	int64_t maint_poll_ms;         /* how often maintenance windows are re-read; 0: 5000 */
};

struct alert_service;

/*
 * Creates the service: builds the channels and reads the open incidents and
 * the undelivered outbox from the store (blocking: call before the loop
 * runs). Returns 0 and *out, or a negative error with a new message in *err.
 */
int alert_new(const struct alert_opts *o, struct alert_service **out, char **err);

/* Tracks def (a reference is taken) under pol (copied). Returns 0 or a negative error. */
int alert_add_probe(struct alert_service *a, struct probe_def *def, const struct alert_policy *pol);

/*
 * For reload: tracks def under pol like alert_add_probe, or, when a probe of
 * that name is tracked, swaps in def and pol and keeps its state (streaks,
 * open incident, flap history). Returns 0 or a negative error.
 */
int alert_update_probe(struct alert_service *a, struct probe_def *def, const struct alert_policy *pol);

/*
 * For reload: stops tracking the probe named name (its open incident stays as
 * it is in the database; results of it that still arrive are ignored).
 */
void alert_remove_probe(struct alert_service *a, const char *name);

/*
 * Feeds one result (borrowed) of a tracked probe, in run order, on the loop.
 * Skipped and aborted runs are ignored. The store's writer queue is used, so
 * call it before the result is handed to store_submit.
 */
void alert_on_result(struct alert_service *a, const struct probe_result *res);

/*
 * Tells the service that the store committed everything up to seq: give it
 * the store's committed callback. Safe from any thread.
 */
void alert_committed(struct alert_service *a, uint64_t seq);

/* Stops starting deliveries; cb fires (once) when none is in flight. */
void alert_stop(struct alert_service *a, void (*cb)(void *arg), void *arg);
/* Abandons deliveries in flight; they stay pending in the outbox. */
void alert_abort(struct alert_service *a);
/* Closes every handle; cb fires once everything is freed. */
void alert_close(struct alert_service *a, void (*cb)(void *arg), void *arg);

/* Outbox deliveries done so far, and those still waiting (in memory and the outbox). */
struct alert_stats {
	uint64_t delivered, retried, gave_up, skipped;
	uint64_t pending;
};
void alert_get_stats(const struct alert_service *a, struct alert_stats *out);

#endif
