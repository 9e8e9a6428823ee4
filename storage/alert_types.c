/* alert_types.c - freeing the incident, event, delivery, timeline, maintenance, report and annotation structs storage hands out. */
#include "storage/storage.h"
#include "storage/storage_int.h"

#include <stdlib.h>
#include <string.h>

/*
 * Every function here accepts NULL and zeroed structs, and leaves what it
 * clears zeroed, so that clearing twice is harmless.
 */

void store_incident_clear(struct store_incident *inc)
{
	if (inc == NULL)
		return;
	free(inc->probe);
	free(inc->failed_step);
	free(inc->first_class);
	free(inc->first_error);
	free(inc->last_class);
	free(inc->last_error);
	memset(inc, 0, sizeof(*inc));
}

void store_event_clear(struct store_event *ev)
{
	if (ev == NULL)
		return;
	free(ev->probe);
	free(ev->kind);
	free(ev->payload);
	for (size_t i = 0; i < ev->nchannels; i++)
		free(ev->channels[i]);
	free(ev->channels);
	memset(ev, 0, sizeof(*ev));
}

void store_delivery_clear(struct store_delivery *d)
{
	if (d == NULL)
		return;
	free(d->channel);
	free(d->error);
	free(d->ref);
	memset(d, 0, sizeof(*d));
}

void store_alert_op_free(struct store_alert_op *op)
{
	if (op == NULL)
		return;
	for (size_t i = 0; i < op->nincidents; i++)
		store_incident_clear(&op->incidents[i]);
	free(op->incidents);
	for (size_t i = 0; i < op->nevents; i++)
		store_event_clear(&op->events[i]);
	free(op->events);
	for (size_t i = 0; i < op->ndeliveries; i++)
		store_delivery_clear(&op->deliveries[i]);
	free(op->deliveries);
	free(op);
}

void store_alert_state_clear(struct store_alert_state *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < st->nincidents; i++)
		store_incident_clear(&st->incidents[i]);
	free(st->incidents);
	for (size_t i = 0; i < st->npending; i++) {
		store_event_clear(&st->pending[i].ev);
		store_delivery_clear(&st->pending[i].dlv);
		free(st->pending[i].ref);
	}
	free(st->pending);
	memset(st, 0, sizeof(*st));
}

void store_timeline_clear(struct store_timeline *t)
{
	if (t == NULL)
		return;
	store_incident_clear(&t->inc);
	for (size_t i = 0; i < t->nevents; i++) {
		struct store_timeline_event *te = &t->events[i];

		store_event_clear(&te->ev);
		for (size_t j = 0; j < te->ndlv; j++)
			store_delivery_clear(&te->dlv[j]);
		free(te->dlv);
	}
	free(t->events);
	memset(t, 0, sizeof(*t));
}

void store_maint_clear(struct store_maint *m)
{
	if (m == NULL)
		return;
	free(m->probe);
	free(m->tag);
	free(m->reason);
	memset(m, 0, sizeof(*m));
}

/* Clears the n windows of v and frees v. */
void store_maints_free(struct store_maint *v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		store_maint_clear(&v[i]);
	free(v);
}

/*
 * Returns v with room for element n (of size bytes each; *cap allocated),
 * doubling when full, with the new slots zeroed; NULL when out of memory (v
 * is then left as it was, still owned by the caller).
 */
void *store__grow(void *v, size_t size, size_t n, size_t *cap)
{
	char *nv = NULL;
	size_t ncap = 0;

	if (n < *cap)
		return v;
	ncap = *cap ? *cap * 2 : 8;
	nv = realloc(v, ncap * size);
	if (nv == NULL)
		return NULL;
	memset(nv + *cap * size, 0, (ncap - *cap) * size);
	*cap = ncap;
	return nv;
}

void store_report_clear(struct store_report *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->nsteps; i++)
		free(r->steps[i].name);
	free(r->steps);
	memset(r, 0, sizeof(*r));
}

void store_annotation_clear(struct store_annotation *a)
{
	if (a == NULL)
		return;
	free(a->probe);
	free(a->tag);
	free(a->text);
	memset(a, 0, sizeof(*a));
}

void store_annotations_free(struct store_annotation *v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		store_annotation_clear(&v[i]);
	free(v);
}
