/* buf.c - a growable byte buffer for building requests, URLs and messages. */
#include "probes/probe_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int reserve(struct probe__buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + extra + 1)
		cap *= 2;
	char *n = realloc(b->data, cap);
	if (n == NULL)
		return -ENOMEM;
	b->data = n;
	b->cap = cap;
	return 0;
}

int probe__buf_append(struct probe__buf *b, const char *s, size_t n)
{
	if (reserve(b, n) < 0)
		return -ENOMEM;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int probe__buf_printf(struct probe__buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || reserve(b, (size_t)n) < 0)
		return -ENOMEM;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

char *probe__buf_steal(struct probe__buf *b)
{
	char *d = b->data;

	if (d == NULL)
		d = strdup("");
	*b = (struct probe__buf){ 0 };
	return d;
}

void probe__buf_free(struct probe__buf *b)
{
	free(b->data);
	*b = (struct probe__buf){ 0 };
}
