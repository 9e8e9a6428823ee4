/* text.c - small text routines every module needs: redacting a secret, suggesting a near miss. */
#include "probes/probe.h"
#include "probes/probe_int.h"

#include <stdlib.h>
#include <string.h>

char *probe_redact(char *s, const char *needle)
{
	static const char repl[] = PROBE__REDACTED;
	size_t nlen = strlen(needle), count = 0;

	for (const char *p = strstr(s, needle); p; p = strstr(p + nlen, needle))
		count++;
	if (count == 0)
		return s;

	size_t len = strlen(s);
	char *out = malloc(len + count * (sizeof(repl) - 1) + 1);
	if (out == NULL) {
		/* Better to lose the message than to leak a secret. */
		s[0] = '\0';
		return s;
	}
	char *o = out;
	const char *p = s, *hit;
	while ((hit = strstr(p, needle)) != NULL) {
		memcpy(o, p, (size_t)(hit - p));
		o += hit - p;
		memcpy(o, repl, sizeof(repl) - 1);
		o += sizeof(repl) - 1;
		p = hit + nlen;
	}
	strcpy(o, p);
	free(s);
	return out;
}

/* Edit distance, capped: only near misses are worth suggesting. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];

	if (la >= 63 || lb >= 63)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t best = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

const char *probe_nearest(const char *word, const char *const *a, const char *const *b)
{
	const char *const *lists[2] = { a, b };
	const char *near = NULL;
	size_t best = 3;

	for (size_t l = 0; l < 2; l++)
		for (const char *const *k = lists[l]; k && *k; k++) {
			size_t d = distance(*k, word);
			if (d < best)
				best = d, near = *k;
		}
	return near;
}
