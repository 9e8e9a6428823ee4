/* result.c - run results: allocation, error class names, and scrubbing of secrets from messages. */
#include "probes/probe.h"
#include "probes/probe_int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t probe_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *const class_names[PROBE_CLASS_MAX] = {
	[PROBE_OK] = "ok",
	[PROBE_DNS] = "dns",
	[PROBE_CONNECT] = "connect",
	[PROBE_TLS] = "tls",
	[PROBE_TIMEOUT] = "timeout",
	[PROBE_HTTP] = "http",
	[PROBE_ASSERTION] = "assertion",
	[PROBE_EXTRACT] = "extract",
	[PROBE_BODY_TOO_LARGE] = "body_too_large",
	[PROBE_TEMPLATE] = "template",
	[PROBE_SKIPPED] = "skipped",
	[PROBE_ABORTED] = "aborted",
};

const char *probe_class_name(enum probe_class c)
{
	if ((int)c < 0 || c >= PROBE_CLASS_MAX)
		return "unknown";
	return class_names[c];
}

int probe_class_from_name(const char *name)
{
	for (int i = 0; i < PROBE_CLASS_MAX; i++)
		if (strcmp(class_names[i], name) == 0)
			return i;
	return -1;
}

struct probe_result *probe_result_new(const struct probe_def *def, int64_t started_ms,
				      enum probe_class cls, const char *error)
{
	struct probe_result *r = calloc(1, sizeof(*r) + def->nsteps * sizeof(r->steps[0]));

	if (r == NULL)
		return NULL;
	r->cap = def->nsteps;
	r->started_ms = started_ms;
	r->cls = cls;
	r->failed_step = -1;
	r->probe = strdup(def->name);
	r->error = error ? strdup(error) : NULL;
	if (r->probe == NULL || (error && r->error == NULL)) {
		probe_result_free(r);
		return NULL;
	}
	return r;
}

static void step_result_clear(struct probe_step_result *s)
{
	free(s->name);
	free(s->error);
	free(s->method);
	free(s->url);
	for (size_t i = 0; i < s->nchecks; i++)
		free(s->checks[i].actual);
	free(s->checks);
	for (size_t i = 0; i < s->nextracted; i++) {
		free(s->extracted[i].name);
		free(s->extracted[i].value);
	}
	free(s->extracted);
}

void probe_result_free(struct probe_result *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nsteps; i++)
		step_result_clear(&r->steps[i]);
	free(r->probe);
	free(r->error);
	free(r);
}


char *probe_scrub(char *s, const struct probe_def *def, const struct probe_var *extra, size_t nextra)
{
	if (s == NULL)
		return NULL;
	for (size_t i = 0; def && i < def->nsecrets; i++)
		if (strlen(def->secrets[i]) >= 4)
			s = probe_redact(s, def->secrets[i]);
	for (size_t i = 0; i < nextra; i++)
		if (extra[i].value && strlen(extra[i].value) >= 4)
			s = probe_redact(s, extra[i].value);
	return s;
}
