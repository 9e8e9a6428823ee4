/* jsonpos.c - an index of where each key and value of a JSON text stands, for FILE:LINE:COL messages. */
#include "config/config_int.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

static int add(struct cfg__pos *p, const char *path, size_t key_off, size_t val_off)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 32;
		struct cfg__pos_entry *n = realloc(p->v, cap * sizeof(*n));
		if (n == NULL)
			return -ENOMEM;
		p->v = n;
		p->cap = cap;
	}
	char *copy = strdup(path);
	if (copy == NULL)
		return -ENOMEM;
	p->v[p->n++] = (struct cfg__pos_entry){ copy, key_off, val_off };
	return 0;
}

static void skip_ws(const struct cfg__pos *p, size_t *i)
{
	while (*i < p->len && (p->text[*i] == ' ' || p->text[*i] == '\t' || p->text[*i] == '\n' ||
			       p->text[*i] == '\r'))
		(*i)++;
}

static void put_utf8(char **o, unsigned cp)
{
	unsigned char *u = (unsigned char *)*o;

	if (cp < 0x80) {
		*u++ = (unsigned char)cp;
	} else if (cp < 0x800) {
		*u++ = (unsigned char)(0xc0 | cp >> 6);
		*u++ = (unsigned char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*u++ = (unsigned char)(0xe0 | cp >> 12);
		*u++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		*u++ = (unsigned char)(0x80 | (cp & 0x3f));
	} else {
		*u++ = (unsigned char)(0xf0 | cp >> 18);
		*u++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		*u++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		*u++ = (unsigned char)(0x80 | (cp & 0x3f));
	}
	*o = (char *)u;
}

static unsigned hex4(const char *s)
{
	unsigned v = 0;

	for (int k = 0; k < 4; k++) {
		char c = s[k];
		v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return v;
}

/*
 * Decodes the string starting at the quote at *i into out (when not NULL, at
 * least as large as the raw string), leaving *i after the closing quote. When
 * stop is not SIZE_MAX, returns the raw offset where decoded byte stop begins.
 */
static size_t scan_string(const struct cfg__pos *p, size_t *i, char *out, size_t stop)
{
	char *o = out, tmp[4];
	size_t decoded = 0, at = SIZE_MAX;

	(*i)++;
	while (*i < p->len && p->text[*i] != '"') {
		char *w = out ? o : tmp;
		char *start = w;
		if (decoded >= stop && at == SIZE_MAX)
			at = *i;
		if (p->text[*i] != '\\') {
			*w++ = p->text[(*i)++];
		} else if (*i + 1 < p->len && p->text[*i + 1] == 'u' && *i + 5 < p->len) {
			unsigned cp = hex4(p->text + *i + 2);
			*i += 6;
			if (cp >= 0xd800 && cp < 0xdc00 && *i + 5 < p->len && p->text[*i] == '\\') {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (hex4(p->text + *i + 2) - 0xdc00);
				*i += 6;
			}
			put_utf8(&w, cp);
		} else {
			static const char from[] = "bfnrt", to[] = "\b\f\n\r\t";
			char c = p->text[*i + 1];
			const char *k = strchr(from, c);
			*w++ = k && c ? to[k - from] : c;
			*i += 2;
		}
		decoded += (size_t)(w - start);
		if (out)
			o = w;
	}
	if (at == SIZE_MAX)
		at = *i;
	if (out)
		*o = '\0';
	(*i)++;
	return at;
}

static int scan_value(struct cfg__pos *p, size_t *i, const char *path, size_t key_off, int depth);

char *cfg__path_join(const char *path, const char *key)
{
	size_t plen = strlen(path);
	char *out = malloc(plen + 2 * strlen(key) + 2), *o;

	if (out == NULL)
		return NULL;
	memcpy(out, path, plen);
	o = out + plen;
	if (plen > 0)
		*o++ = '/';
	for (const char *k = key; *k; k++) {
		if (*k == '~' || *k == '/') {
			*o++ = '~';
			*o++ = *k == '~' ? '0' : '1';
		} else
			*o++ = *k;
	}
	*o = '\0';
	return out;
}

/* Scans the member value at *i, indexed under sub (a new path, freed here), and its trailing comma. */
static int scan_member(struct cfg__pos *p, size_t *i, char *sub, size_t key_off, int depth)
{
	if (sub == NULL)
		return -ENOMEM;
	int rc = scan_value(p, i, sub, key_off, depth);
	free(sub);
	skip_ws(p, i);
	if (*i < p->len && p->text[*i] == ',')
		(*i)++;
	return rc;
}

static int scan_object(struct cfg__pos *p, size_t *i, const char *path, int depth)
{
	(*i)++;
	for (;;) {
		skip_ws(p, i);
		if (*i >= p->len || p->text[*i] == '}')
			break;
		size_t key_off = *i, raw = *i;
		/* A decoded key is never longer than its raw form. */
		scan_string(p, &raw, NULL, SIZE_MAX);
		char *key = malloc(raw - key_off + 1);
		if (key == NULL)
			return -ENOMEM;
		scan_string(p, i, key, SIZE_MAX);
		char *sub = cfg__path_join(path, key);
		free(key);
		skip_ws(p, i);
		(*i)++; /* ':' */
		int rc = scan_member(p, i, sub, key_off, depth + 1);
		if (rc < 0)
			return rc;
	}
	(*i)++;
	return 0;
}

static int scan_array(struct cfg__pos *p, size_t *i, const char *path, int depth)
{
	(*i)++;
	for (size_t idx = 0;; idx++) {
		skip_ws(p, i);
		if (*i >= p->len || p->text[*i] == ']')
			break;
		char seg[24];
		snprintf(seg, sizeof(seg), "%zu", idx);
		int rc = scan_member(p, i, cfg__path_join(path, seg), SIZE_MAX, depth + 1);
		if (rc < 0)
			return rc;
	}
	(*i)++;
	return 0;
}

/* Consumes one value without indexing it: what lies deeper than MAX_DEPTH is never reported on. */
static void skip_value(const struct cfg__pos *p, size_t *i)
{
	size_t depth = 0;

	while (*i < p->len) {
		char c = p->text[*i];
		if (c == '"') {
			scan_string(p, i, NULL, SIZE_MAX);
		} else if (c == '[' || c == '{') {
			depth++;
			(*i)++;
		} else if (c == ']' || c == '}') {
			if (depth == 0)
				return; /* the end of the container around the value */
			depth--;
			(*i)++;
		} else if (depth == 0 && c != '\0' && strchr(", \t\r\n", c)) {
			return; /* the end of a number or literal */
		} else {
			(*i)++;
		}
		/* A string, array or object at the top ends the value. */
		if (depth == 0 && (c == '"' || c == ']' || c == '}'))
			return;
	}
}

static int scan_value(struct cfg__pos *p, size_t *i, const char *path, size_t key_off, int depth)
{
	skip_ws(p, i);
	if (*i >= p->len)
		return 0;
	if (depth > MAX_DEPTH) {
		skip_value(p, i);
		return 0;
	}
	int rc = add(p, path, key_off, *i);
	if (rc < 0)
		return rc;
	switch (p->text[*i]) {
	case '{':
		return scan_object(p, i, path, depth);
	case '[':
		return scan_array(p, i, path, depth);
	case '"':
		scan_string(p, i, NULL, SIZE_MAX);
		return 0;
	default:
		/* strchr finds the terminator: a NUL byte must not count as a delimiter, or the scan stalls on it. */
		while (*i < p->len && (p->text[*i] == '\0' || !strchr(",]} \t\r\n", p->text[*i])))
			(*i)++;
		return 0;
	}
}

int cfg__pos_build(struct cfg__pos *p, const char *text, size_t len)
{
	size_t i = 0;

	*p = (struct cfg__pos){ .text = text, .len = len };
	return scan_value(p, &i, "", SIZE_MAX, 0);
}

void cfg__pos_free(struct cfg__pos *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->v[i].path);
	free(p->v);
	*p = (struct cfg__pos){ 0 };
}

void cfg__pos_linecol(const struct cfg__pos *p, size_t off, int *line, int *col)
{
	int l = 1, c = 1;

	for (size_t i = 0; i < off && i < p->len; i++) {
		unsigned char ch = (unsigned char)p->text[i];
		if (ch == '\n') {
			l++;
			c = 1;
		} else if ((ch & 0xc0) != 0x80) {
			c++; /* count characters, not UTF-8 continuation bytes */
		}
	}
	*line = l;
	*col = c;
}

static const struct cfg__pos_entry *find(const struct cfg__pos *p, const char *path)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->v[i].path, path) == 0)
			return &p->v[i];
	return NULL;
}

size_t cfg__pos_key(const struct cfg__pos *p, const char *path)
{
	const struct cfg__pos_entry *e = find(p, path);

	if (e == NULL)
		return 0;
	return e->key_off != SIZE_MAX ? e->key_off : e->val_off;
}

size_t cfg__pos_in_string(const struct cfg__pos *p, const char *path, size_t i)
{
	const struct cfg__pos_entry *e = find(p, path);

	if (e == NULL)
		return 0;
	if (p->text[e->val_off] != '"')
		return e->val_off;
	size_t at = e->val_off;
	return scan_string(p, &at, NULL, i);
}
