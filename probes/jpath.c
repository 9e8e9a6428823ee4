/* jpath.c - JSON paths such as ".items[0].id": parsing them and walking a document with them. */
#include "probes/probe.h"
#include "probes/assert_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One step of a path: a member by key, or an array element by index. */
struct jseg {
	char *key;          /* owned; NULL for an index */
	size_t keylen;
	long long index;    /* negative counts from the end */
	bool bare;          /* written ".key": only then may "length" mean the length */
};

struct probe_jpath {
	char *text;         /* owned; as written, for messages */
	size_t nseg;
	struct jseg seg[];
};

static void set_err(struct probe_perr *err, size_t offset, const char *msg)
{
	err->offset = offset;
	snprintf(err->msg, sizeof(err->msg), "%s", msg);
}

/* Reads the digits of "[N]" at text[i] (after the '['); stores the index and the end. */
static int parse_index(const char *text, size_t len, size_t i, long long *index, size_t *end,
		       struct probe_perr *err)
{
	size_t start = i;
	bool neg = false;
	long long n = 0;

	if (text[i] == '-') {
		neg = true;
		i++;
	}
	if (i >= len || text[i] < '0' || text[i] > '9') {
		set_err(err, i, "expected digits after \"-\" in \"[...]\"");
		return -EINVAL;
	}
	while (i < len && text[i] >= '0' && text[i] <= '9') {
		if (n > (LLONG_MAX - 9) / 10) {
			set_err(err, start, "array index is too large");
			return -EINVAL;
		}
		n = n * 10 + (text[i++] - '0');
	}
	*index = neg ? -n : n;
	*end = i;
	return 0;
}

/* Parses the "[...]" segment whose '[' is at text[i]; stores the offset past its ']' in *end. */
static int parse_bracket(const char *text, size_t len, size_t i, struct jseg *seg, size_t *end,
			 struct probe_perr *err)
{
	size_t open = i, j = i + 1;
	int rc;

	if (j >= len) {
		set_err(err, open, "unclosed \"[\"");
		return -EINVAL;
	}
	if (text[j] == '"') {
		size_t qend;
		rc = probe__unquote(text + j, len - j, &seg->key, &seg->keylen, &qend, err);
		if (rc < 0) {
			err->offset += j;
			return rc;
		}
		j += qend;
	} else if (text[j] == '-' || (text[j] >= '0' && text[j] <= '9')) {
		rc = parse_index(text, len, j, &seg->index, &j, err);
		if (rc < 0)
			return rc;
	} else {
		set_err(err, j, "expected an index or a \"quoted key\" inside \"[...]\"");
		return -EINVAL;
	}
	if (j >= len) {
		set_err(err, open, "unclosed \"[\"");
		return -EINVAL;
	}
	if (text[j] != ']') {
		set_err(err, j, "expected \"]\"");
		return -EINVAL;
	}
	*end = j + 1;
	return 0;
}

/* Parses the ".key" segment whose '.' is at text[i]. */
static int parse_dot(const char *text, size_t len, size_t i, struct jseg *seg, size_t *end,
		     struct probe_perr *err)
{
	size_t start = i + 1, j = start;

	while (j < len && text[j] != '.' && text[j] != '[' && !probe__is_blank(text[j]))
		j++;
	if (j == start) {
		set_err(err, start, "expected a key after \".\"");
		return -EINVAL;
	}
	seg->key = malloc(j - start + 1);
	if (seg->key == NULL) {
		set_err(err, start, "out of memory");
		return -ENOMEM;
	}
	memcpy(seg->key, text + start, j - start);
	seg->key[j - start] = '\0';
	seg->keylen = j - start;
	seg->bare = true;
	*end = j;
	return 0;
}

/*
 * Parses len bytes of text: nothing (the whole document), then any number of
 * ".key", "[N]" (negative N counts from the end) and "[\"quoted key\"]".
 * Returns a new path, or NULL with err set (offset relative to text).
 */
struct probe_jpath *probe_jpath_parse(const char *text, size_t len, struct probe_perr *err)
{
	/* Every segment takes at least two bytes, so this bounds their number. */
	struct probe_jpath *p = calloc(1, sizeof(*p) + (len / 2 + 1) * sizeof(p->seg[0]));
	size_t i = 0;
	int rc = 0;

	if (p == NULL || (p->text = strndup(text, len)) == NULL) {
		set_err(err, 0, "out of memory");
		goto fail;
	}
	while (i < len) {
		struct jseg *seg = &p->seg[p->nseg];

		if (text[i] == '.') {
			rc = parse_dot(text, len, i, seg, &i, err);
		} else if (text[i] == '[') {
			rc = parse_bracket(text, len, i, seg, &i, err);
		} else {
			set_err(err, i, "expected \".\" or \"[\" in the JSON path");
			rc = -EINVAL;
		}
		/* Counted even on failure: parse_bracket may have set a key to free. */
		p->nseg++;
		if (rc < 0)
			goto fail;
	}
	return p;
fail:
	probe_jpath_free(p);
	return NULL;
}

/* Frees p. Accepts NULL. */
void probe_jpath_free(struct probe_jpath *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->nseg; i++)
		free(p->seg[i].key);
	free(p->text);
	free(p);
}

const char *probe__jpath_text(const struct probe_jpath *p)
{
	return p->text;
}

/* The length that a last ".length" stands for; NULL when node has none. New reference. */
static json_t *length_of(json_t *node)
{
	if (json_is_array(node))
		return json_integer((json_int_t)json_array_size(node));
	if (json_is_object(node))
		return json_integer((json_int_t)json_object_size(node));
	/* In bytes, not characters: cheap, and exact for the ASCII most APIs return. */
	if (json_is_string(node))
		return json_integer((json_int_t)json_string_length(node));
	return NULL;
}

/* Follows one segment from node. Returns a borrowed reference or NULL. */
static json_t *step(json_t *node, const struct jseg *seg)
{
	if (seg->key != NULL)
		return json_is_object(node) ? json_object_getn(node, seg->key, seg->keylen) : NULL;
	if (!json_is_array(node))
		return NULL;

	size_t n = json_array_size(node);
	long long i = seg->index;
	if (i < 0)
		i += (long long)n;
	if (i < 0 || (unsigned long long)i >= n)
		return NULL;
	return json_array_get(node, (size_t)i);
}

/*
 * Evaluates p on root (borrowed; may be NULL). Returns a new reference, or NULL
 * when the path leads nowhere. A last segment written ".length" gives the
 * length of an array, of a string (in bytes) or of an object that has no member
 * named "length"; written ["length"] it is always a member.
 */
json_t *probe_jpath_eval(const struct probe_jpath *p, json_t *root)
{
	json_t *node = root;

	for (size_t i = 0; node != NULL && i < p->nseg; i++) {
		const struct jseg *seg = &p->seg[i];
		json_t *next = step(node, seg);

		if (next == NULL && i + 1 == p->nseg && seg->bare && strcmp(seg->key, "length") == 0)
			return length_of(node);
		node = next;
	}
	return json_incref(node);
}
