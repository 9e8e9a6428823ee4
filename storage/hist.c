/* hist.c - latency histograms and the series and summaries that reports and hourly rollups are built from. */
#include "storage/storage_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The first byte of a stored histogram: its encoding. */
#define HIST_FORMAT 1

int store__hist_bucket(int64_t v)
{
	double b = 0;

	if (v < 1)
		return 0;
	/* Floating point may put a value lying exactly on an edge into the
	 * bucket below: harmless, the error stays within one bucket's width. */
	b = floor(log2((double)v) * STORE__HIST_SUB) + 1;
	return b >= STORE__HIST_BUCKETS - 1 ? STORE__HIST_BUCKETS - 1 : (int)b;
}

int64_t store__hist_value(int b)
{
	if (b <= 0)
		return 0;
	return llround(exp2((b - 0.5) / STORE__HIST_SUB));
}

int store__series_add(struct store__series *s, int64_t v)
{
	int64_t *nv = NULL;

	if (s->hist != NULL) {
		s->hist[store__hist_bucket(v)]++;
	} else {
		if ((size_t)s->count == s->cap) {
			size_t cap = s->cap ? s->cap * 2 : 64;

			if ((nv = realloc(s->values, cap * sizeof(*nv))) == NULL)
				return -ENOMEM;
			s->values = nv;
			s->cap = cap;
		}
		s->values[s->count] = v;
		s->sorted = false;
	}
	if (s->count == 0 || v > s->max_us)
		s->max_us = v;
	s->count++;
	/* Only a corrupt duration can overflow the sum: it saturates then. */
	if (__builtin_add_overflow(s->sum_us, v, &s->sum_us))
		s->sum_us = v < 0 ? INT64_MIN : INT64_MAX;
	return 0;
}

int store__series_to_hist(struct store__series *s)
{
	if (s->hist != NULL)
		return 0;
	if ((s->hist = calloc(STORE__HIST_BUCKETS, sizeof(*s->hist))) == NULL)
		return -ENOMEM;
	for (int64_t i = 0; i < s->count; i++)
		s->hist[store__hist_bucket(s->values[i])]++;
	free(s->values);
	s->values = NULL;
	s->cap = 0;
	return 0;
}

/* Reads one LEB128 varint at *p (below end) into *v. Returns false when malformed. */
static bool get_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; *p < end && shift < 64; shift += 7) {
		unsigned char c = *(*p)++;

		*v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return true;
	}
	return false;
}

static unsigned char *put_varint(unsigned char *p, uint64_t v)
{
	do {
		*p = v & 0x7f;
		v >>= 7;
		*p++ |= v ? 0x80 : 0;
	} while (v);
	return p;
}

/*
 * The blob is checked whole before anything is added, so a malformed one
 * leaves s as it was. Besides its syntax, its bucket counts must add up to
 * count (rollups are written so), and the counts must not overflow: a
 * corrupt row must not turn into a rank past every bucket or a signed
 * overflow in store__series_pct.
 */
int store__series_merge(struct store__series *s, const void *blob, size_t len, int64_t count,
			int64_t sum_us, int64_t max_us)
{
	const unsigned char *p = blob, *end = NULL;
	uint64_t delta = 0, n = 0, b = 0, total = 0;
	int64_t ncount = 0;
	bool first = true;
	int rc = 0;

	if (blob == NULL || len < 1 || p[0] != HIST_FORMAT || count < 0 ||
	    __builtin_add_overflow(s->count, count, &ncount))
		return -EBADMSG;
	end = p + len;
	for (p++; p < end; b += delta, first = false) {
		/* Buckets ascending (every distance but the first at least 1), none empty. */
		if (!get_varint(&p, end, &delta) || !get_varint(&p, end, &n) ||
		    delta >= STORE__HIST_BUCKETS || (delta == 0 && !first) || n == 0 ||
		    b + delta >= STORE__HIST_BUCKETS || __builtin_add_overflow(total, n, &total))
			return -EBADMSG;
	}
	if (total != (uint64_t)count)
		return -EBADMSG;
	if ((rc = store__series_to_hist(s)) < 0)
		return rc;
	for (p = (const unsigned char *)blob + 1, b = 0; p < end;) {
		get_varint(&p, end, &delta);
		get_varint(&p, end, &n);
		b += delta;
		s->hist[b] += n;
	}
	if (count > 0 && (s->count == 0 || max_us > s->max_us))
		s->max_us = max_us;
	s->count = ncount;
	if (__builtin_add_overflow(s->sum_us, sum_us, &s->sum_us))
		s->sum_us = sum_us < 0 ? INT64_MIN : INT64_MAX;   /* as store__series_add */
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/*
 * The rank is computed in integers, ceil(p * n / 100) = (p * n + 99) / 100:
 * in floating point 0.95 * 100 is 95.00000000000001, whose ceiling is 96.
 */
int64_t store__series_pct(struct store__series *s, int p)
{
	int64_t rank = 0, seen = 0, v = 0;

	if (s->count <= 0)
		return -1;
	rank = ((int64_t)p * s->count + 99) / 100;
	if (rank < 1)
		rank = 1;
	if (rank > s->count)
		rank = s->count;
	if (s->hist == NULL) {
		if (!s->sorted)
			qsort(s->values, (size_t)s->count, sizeof(*s->values), cmp_i64);
		s->sorted = true;
		return s->values[rank - 1];
	}
	for (int b = 0; b < STORE__HIST_BUCKETS; b++) {
		if ((seen += (int64_t)s->hist[b]) >= rank) {
			v = store__hist_value(b);
			break;
		}
	}
	/* The largest value is known exactly; a bucket's middle may pass it. */
	return v > s->max_us ? s->max_us : v;
}

/*
 * Encoding, sparse: a format byte (1), then for each bucket that holds
 * values, in ascending order, two unsigned LEB128 varints (7 bits a byte,
 * low bits first, the high bit set on every byte but the last): the bucket's
 * distance from the previous one listed (from 0 for the first), and its
 * count. An hour of one probe at one run a minute takes some 40 bytes.
 */
int store__series_blob(const struct store__series *s, unsigned char **out, size_t *len)
{
	unsigned char *buf = NULL, *p = NULL;
	int used = 0, prev = 0;

	*out = NULL;
	*len = 0;
	for (int b = 0; b < STORE__HIST_BUCKETS; b++)
		used += s->hist[b] != 0;
	/* A bucket distance fits 2 bytes, a count 10. */
	if ((buf = malloc(1 + (size_t)used * 12)) == NULL)
		return -ENOMEM;
	p = buf;
	*p++ = HIST_FORMAT;
	for (int b = 0; b < STORE__HIST_BUCKETS; b++) {
		if (s->hist[b] == 0)
			continue;
		p = put_varint(p, (uint64_t)(b - prev));
		p = put_varint(p, s->hist[b]);
		prev = b;
	}
	*out = buf;
	*len = (size_t)(p - buf);
	return 0;
}

void store__series_free(struct store__series *s)
{
	if (s == NULL)
		return;
	free(s->values);
	free(s->hist);
	memset(s, 0, sizeof(*s));
}

struct store__series *store__summary_step(struct store__summary *sum, int64_t key, int64_t idx)
{
	struct store__series *nv = NULL, *st = NULL;

	/* A probe has a handful of steps: a linear search beats hashing. */
	for (size_t i = 0; i < sum->nsteps; i++) {
		if (sum->steps[i].key == key) {
			st = &sum->steps[i];
			if (idx < st->idx)
				st->idx = idx;
			return st;
		}
	}
	if ((nv = store__grow(sum->steps, sizeof(*nv), sum->nsteps, &sum->cap)) == NULL)
		return NULL;
	sum->steps = nv;
	st = &nv[sum->nsteps];
	st->key = key;
	st->idx = idx;
	if (sum->hist && store__series_to_hist(st) < 0)
		return NULL;
	sum->nsteps++;
	return st;
}

void store__summary_free(struct store__summary *sum)
{
	for (size_t i = 0; i < sum->nsteps; i++)
		store__series_free(&sum->steps[i]);
	free(sum->steps);
	store__series_free(&sum->run);
	memset(sum, 0, sizeof(*sum));
}
