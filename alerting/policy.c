/* policy.c - the "alert" settings of a probe (or of defaults): thresholds, flapping, reminders, channels. */
#include "alerting/alert_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COUNT 1000

static const char *const keys[] = { "after", "recover_after", "flap_changes", "flap_window",
				    "remind_every", "channels", NULL };

void alert_policy_init(struct alert_policy *p)
{
	*p = (struct alert_policy){
		.after = 2,
		.recover_after = 1,
		.flap_changes = 6,
		.flap_window_ms = 30 * 60 * 1000,
		.remind_every_ms = 0,
	};
}

void alert_policy_clear(struct alert_policy *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->nchannels; i++)
		free(p->channels[i]);
	free(p->channels);
	p->channels = NULL;
	p->nchannels = 0;
}

static void report(alert_err_fn err, void *ctx, const char *path, const char *fmt, const char *arg)
{
	char msg[256];

	if (err == NULL)
		return;
	snprintf(msg, sizeof(msg), fmt, arg);
	err(path, msg, ctx);
}

static int count_key(const json_t *obj, const char *key, int min, int *out, alert_err_fn err, void *ctx)
{
	const json_t *v = json_object_get(obj, key);

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > MAX_COUNT) {
		char msg[128];
		snprintf(msg, sizeof(msg), "\"%s\" must be a whole number from %d to %d", key, min, MAX_COUNT);
		report(err, ctx, key, "%s", msg);
		return -EINVAL;
	}
	*out = (int)json_integer_value(v);
	return 0;
}

/* A duration key; allow_off accepts "off" (and 0) as 0. */
static int duration_key(const json_t *obj, const char *key, bool allow_off, int64_t *out,
			alert_err_fn err, void *ctx)
{
	const json_t *v = json_object_get(obj, key);
	int64_t ms = 0;

	if (v == NULL)
		return 0;
	if (allow_off && json_is_string(v) && strcmp(json_string_value(v), "off") == 0) {
		*out = 0;
		return 0;
	}
	if (!json_is_string(v) || probe_duration_parse(json_string_value(v), &ms) < 0 || ms < 1000) {
		report(err, ctx, key, allow_off ? "\"%s\" must be a duration of at least 1s (\"30m\") or \"off\""
						: "\"%s\" must be a duration of at least 1s (\"30m\")", key);
		return -EINVAL;
	}
	*out = ms;
	return 0;
}

static int channels_key(const json_t *obj, struct alert_policy *out, alert_err_fn err, void *ctx)
{
	const json_t *v = json_object_get(obj, "channels"), *item;
	size_t i;
	int rc = 0;

	if (v == NULL)
		return 0;
	if (!json_is_array(v)) {
		report(err, ctx, "channels", "%s", "\"channels\" must be a list of channel names");
		return -EINVAL;
	}
	/* Given here, the list replaces the inherited one: [] silences a probe. */
	alert_policy_clear(out);
	out->channels = calloc(json_array_size(v) + 1, sizeof(*out->channels));
	if (out->channels == NULL)
		return -ENOMEM;
	json_array_foreach(v, i, item) {
		char path[32];
		snprintf(path, sizeof(path), "channels/%zu", i);
		if (!json_is_string(item) || json_string_length(item) == 0) {
			report(err, ctx, path, "%s", "a channel name must be a non-empty string");
			rc = -EINVAL;
			continue;
		}
		out->channels[out->nchannels] = strdup(json_string_value(item));
		if (out->channels[out->nchannels++] == NULL)
			return -ENOMEM;
	}
	return rc;
}

static int copy_channels(struct alert_policy *out, const struct alert_policy *base)
{
	out->channels = NULL;
	out->nchannels = 0;
	if (base->nchannels == 0)
		return 0;
	out->channels = calloc(base->nchannels, sizeof(*out->channels));
	if (out->channels == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < base->nchannels; i++) {
		out->channels[i] = strdup(base->channels[i]);
		if (out->channels[i] == NULL)
			return -ENOMEM;
		out->nchannels++;
	}
	return 0;
}

int alert_policy_parse(const json_t *obj, const struct alert_policy *base, struct alert_policy *out,
		       alert_err_fn err, void *ctx)
{
	struct alert_policy builtin;
	const char *key;
	const json_t *v;
	int rc = 0, bad = 0;

	alert_policy_init(&builtin);
	if (base == NULL)
		base = &builtin;
	*out = *base;
	if ((rc = copy_channels(out, base)) < 0)
		return rc;
	if (obj == NULL)
		return 0;
	if (!json_is_object(obj)) {
		report(err, ctx, "", "%s", "\"alert\" must be an object");
		return -EINVAL;
	}
	json_object_foreach((json_t *)obj, key, v) {
		size_t i = 0;
		while (keys[i] && strcmp(keys[i], key) != 0)
			i++;
		if (keys[i] == NULL) {
			report(err, ctx, key, "unknown key \"%s\" in \"alert\" (known: after, recover_after, "
			       "flap_changes, flap_window, remind_every, channels)", key);
			bad++;
		}
	}
	bad += count_key(obj, "after", 1, &out->after, err, ctx) < 0;
	bad += count_key(obj, "recover_after", 1, &out->recover_after, err, ctx) < 0;
	bad += count_key(obj, "flap_changes", 2, &out->flap_changes, err, ctx) < 0;
	bad += duration_key(obj, "flap_window", false, &out->flap_window_ms, err, ctx) < 0;
	bad += duration_key(obj, "remind_every", true, &out->remind_every_ms, err, ctx) < 0;
	if ((rc = channels_key(obj, out, err, ctx)) == -ENOMEM)
		return rc;
	bad += rc < 0;
	return bad ? -EINVAL : 0;
}
