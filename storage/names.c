/* names.c - the in-memory name -> id cache that interns probe and step names for a backend. */
#include "storage/storage_int.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/*
 * The number of distinct names is small (probes and their steps, a few
 * thousand at most) and they are never removed while the process lives, so a
 * chained hash table that only grows is enough. Entries never move once
 * allocated, which lets the fresh list point at them.
 */
struct store__name {
	struct store__name *next;   /* in its bucket */
	int64_t id;                 /* 0: not known (its insert was rolled back) */
	uint32_t hash;
	bool tentative;             /* id comes from the open transaction */
	char name[];
};

#define NAMES_MIN_BUCKETS 64

/* FNV-1a: short keys, no adversary (names come from the operator's config). */
static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

static struct store__name *names_find(const struct store__names *n, const char *name,
				      uint32_t hash)
{
	if (n->nbuckets == 0)
		return NULL;
	for (struct store__name *e = n->buckets[hash & (n->nbuckets - 1)]; e; e = e->next)
		if (e->hash == hash && strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

/* Doubles the buckets (or makes the first ones). Returns 0 or -ENOMEM. */
static int names_grow(struct store__names *n)
{
	size_t nb = n->nbuckets ? n->nbuckets * 2 : NAMES_MIN_BUCKETS;
	struct store__name **b = calloc(nb, sizeof(*b));

	if (b == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n->nbuckets; i++) {
		struct store__name *e = n->buckets[i], *next = NULL;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(n->buckets);
	n->buckets = b;
	n->nbuckets = nb;
	return 0;
}

/* Remembers e as tentative. Returns 0 or -ENOMEM. */
static int names_mark_fresh(struct store__names *n, struct store__name *e)
{
	if (e->tentative)
		return 0;
	if (n->nfresh == n->fresh_cap) {
		size_t cap = n->fresh_cap ? n->fresh_cap * 2 : 16;
		struct store__name **f = realloc(n->fresh, cap * sizeof(*f));

		if (f == NULL)
			return -ENOMEM;
		n->fresh = f;
		n->fresh_cap = cap;
	}
	n->fresh[n->nfresh++] = e;
	e->tentative = true;
	return 0;
}

int64_t store__names_get(const struct store__names *n, const char *name)
{
	const struct store__name *e = names_find(n, name, name_hash(name));

	return e ? e->id : 0;
}

/*
 * Caches name -> id. On -ENOMEM nothing is cached, so a caller that fails its
 * transaction because of it leaves the cache as it was.
 */
int store__names_put(struct store__names *n, const char *name, int64_t id, bool tentative)
{
	uint32_t hash = name_hash(name);
	struct store__name *e = names_find(n, name, hash);
	size_t len = 0;
	int rc = 0;

	assert(id > 0);
	if (e == NULL) {
		if (n->count >= n->nbuckets && (rc = names_grow(n)) < 0)
			goto out;
		len = strlen(name);
		e = calloc(1, sizeof(*e) + len + 1);
		if (e == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		memcpy(e->name, name, len + 1);
		e->hash = hash;
		if (tentative && (rc = names_mark_fresh(n, e)) < 0) {
			free(e);
			goto out;
		}
		e->next = n->buckets[hash & (n->nbuckets - 1)];
		n->buckets[hash & (n->nbuckets - 1)] = e;
		n->count++;
	} else if (tentative && (rc = names_mark_fresh(n, e)) < 0) {
		goto out;
	}
	e->id = id;
out:
	return rc;
}

void store__names_commit(struct store__names *n)
{
	for (size_t i = 0; i < n->nfresh; i++)
		n->fresh[i]->tentative = false;
	n->nfresh = 0;
}

/*
 * The rows behind tentative ids are gone; another process may even reuse
 * those ids for other names. The entries stay (their memory is reused when
 * the name comes back) but with id 0, so the next lookup asks the database.
 */
void store__names_rollback(struct store__names *n)
{
	for (size_t i = 0; i < n->nfresh; i++) {
		n->fresh[i]->tentative = false;
		n->fresh[i]->id = 0;
	}
	n->nfresh = 0;
}

void store__names_clear(struct store__names *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->nbuckets; i++) {
		struct store__name *e = n->buckets[i], *next = NULL;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(n->buckets);
	free(n->fresh);
	memset(n, 0, sizeof(*n));
}
