/* def.c - probe definitions: reference counting, freeing, and the fields derived once at load. */
#include "probes/probe.h"
#include "probes/probe_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct probe_def *probe_def_new(void)
{
	struct probe_def *d = calloc(1, sizeof(*d));

	if (d)
		d->refs = 1;
	return d;
}

static void step_clear(struct probe_step *s)
{
	free(s->name);
	free(s->method);
	probe_tmpl_free(s->url);
	for (size_t i = 0; i < s->nheaders; i++) {
		free(s->headers[i].name);
		probe_tmpl_free(s->headers[i].value);
	}
	free(s->headers);
	for (size_t i = 0; i < s->nslots; i++)
		probe_tmpl_free(s->slots[i].tmpl);
	free(s->slots);
	json_decref(s->json);
	probe_tmpl_free(s->body);
	for (size_t i = 0; i < s->nasserts; i++)
		probe_assert_clear(&s->asserts[i]);
	free(s->asserts);
	for (size_t i = 0; i < s->nextracts; i++) {
		free(s->extracts[i].name);
		probe_subject_clear(&s->extracts[i].subj);
	}
	free(s->extracts);
	if (s->static_body)
		explicit_bzero(s->static_body, s->static_body_len);
	free(s->static_body);
}

static void def_free(struct probe_def *d)
{
	for (size_t i = 0; i < d->nsteps; i++)
		step_clear(&d->steps[i]);
	free(d->steps);
	for (size_t i = 0; i < d->nvars; i++) {
		free(d->vars[i].name);
		if (d->vars[i].secret && d->vars[i].value)
			explicit_bzero(d->vars[i].value, strlen(d->vars[i].value));
		free(d->vars[i].value);
	}
	free(d->vars);
	for (size_t i = 0; i < d->ntags; i++)
		free(d->tags[i]);
	free(d->tags);
	for (size_t i = 0; i < d->nsecrets; i++) {
		explicit_bzero(d->secrets[i], strlen(d->secrets[i]));
		free(d->secrets[i]);
	}
	free(d->secrets);
	json_decref(d->raw);
	free(d->name);
	free(d->file);
	free(d->description);
	free(d);
}

struct probe_def *probe_def_ref(struct probe_def *d)
{
	d->refs++;
	return d;
}

void probe_def_unref(struct probe_def *d)
{
	if (d != NULL && --d->refs == 0)
		def_free(d);
}

struct secret_list {
	struct probe_def *d;
	int rc;
};

static void add_secret(const char *value, void *ctx)
{
	struct secret_list *l = ctx;
	struct probe_def *d = l->d;

	if (l->rc < 0 || value[0] == '\0')
		return;
	for (size_t i = 0; i < d->nsecrets; i++)
		if (strcmp(d->secrets[i], value) == 0)
			return;
	char **n = realloc(d->secrets, (d->nsecrets + 1) * sizeof(*n));
	char *copy = strdup(value);
	if (n == NULL || copy == NULL) {
		free(copy);
		if (n)
			d->secrets = n;
		l->rc = -ENOMEM;
		return;
	}
	d->secrets = n;
	d->secrets[d->nsecrets++] = copy;
}

static void collect_secrets(struct probe_def *d, struct secret_list *l)
{
	for (size_t i = 0; i < d->nvars; i++)
		if (d->vars[i].secret)
			add_secret(d->vars[i].value, l);
	for (size_t i = 0; i < d->nsteps; i++) {
		struct probe_step *s = &d->steps[i];
		if (s->url)
			probe__tmpl_foreach_secret(s->url, add_secret, l);
		if (s->body)
			probe__tmpl_foreach_secret(s->body, add_secret, l);
		for (size_t h = 0; h < s->nheaders; h++)
			probe__tmpl_foreach_secret(s->headers[h].value, add_secret, l);
		for (size_t k = 0; k < s->nslots; k++)
			probe__tmpl_foreach_secret(s->slots[k].tmpl, add_secret, l);
	}
}

static unsigned subject_needs(const struct probe_subject *subj)
{
	switch (subj->kind) {
	case PROBE_SUBJ_BODY:
	case PROBE_SUBJ_JSON:
		return PROBE_NEED_BODY;
	case PROBE_SUBJ_HEADER:
		return PROBE_NEED_HEADERS;
	case PROBE_SUBJ_TLS_DAYS:
		return PROBE_NEED_CERTINFO;
	default:
		return 0;
	}
}

/* A body without placeholders is rendered once here, not on every run. */
static int prepare_static_body(struct probe_step *s)
{
	static const struct probe_scope none;

	if (s->body && probe_tmpl_is_static(s->body))
		return probe_tmpl_render(s->body, PROBE_TMPL_RAW, &none, false, &s->static_body,
					 &s->static_body_len, NULL);
	if (s->json == NULL)
		return 0;
	for (size_t k = 0; k < s->nslots; k++)
		if (!probe_tmpl_is_static(s->slots[k].tmpl))
			return 0;
	for (size_t k = 0; k < s->nslots; k++) {
		char *v = NULL;
		size_t n = 0;
		if (probe_tmpl_render(s->slots[k].tmpl, PROBE_TMPL_RAW, &none, false, &v, &n, NULL) < 0)
			return -ENOMEM;
		json_string_setn_nocheck(s->slots[k].node, v, n);
		free(v);
	}
	s->static_body = json_dumps(s->json, JSON_COMPACT | JSON_ENCODE_ANY);
	if (s->static_body == NULL)
		return -ENOMEM;
	s->static_body_len = strlen(s->static_body);
	return 0;
}

int probe_def_prepare(struct probe_def *d)
{
	struct secret_list l = { d, 0 };

	for (size_t i = 0; i < d->nsteps; i++) {
		struct probe_step *s = &d->steps[i];
		s->needs = 0;
		for (size_t a = 0; a < s->nasserts; a++)
			s->needs |= subject_needs(&s->asserts[a].subj);
		for (size_t x = 0; x < s->nextracts; x++)
			s->needs |= subject_needs(&s->extracts[x].subj);
		if (s->static_body == NULL && prepare_static_body(s) < 0)
			return -ENOMEM;
	}
	collect_secrets(d, &l);
	return l.rc;
}
