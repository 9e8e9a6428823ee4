/* assert_int.h - what the files of subjects, JSON paths and assertions share inside the probe module. */
#ifndef CANARY_ASSERT_INT_H
#define CANARY_ASSERT_INT_H

#include "probes/probe.h"

#include <stdbool.h>
#include <stddef.h>

/* Longest excerpt of user text quoted in an error message, in bytes. */
#define PROBE__QUOTE_MAX 40

/* Spaces and tabs separate the tokens of an assertion. */
static inline bool probe__is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Reads a double-quoted string at text[0] (which must be '"'), len bytes at
 * most. Escapes: \" \\ \n \t \/. Stores the unescaped bytes in *out (new,
 * NUL-terminated, *outlen bytes long) and the offset just past the closing
 * quote in *end. Returns 0, -EINVAL with err set (offset relative to text) or
 * -ENOMEM. (assert_parse.c)
 */
int probe__unquote(const char *text, size_t len, char **out, size_t *outlen, size_t *end,
		   struct probe_perr *err);

/* Room for an excerpt: PROBE__QUOTE_MAX bytes, "..." and the NUL. */
#define PROBE__EXCERPT_SIZE (PROBE__QUOTE_MAX + 4)

/*
 * Copies len bytes of s into buf (PROBE__EXCERPT_SIZE bytes at least) for
 * quoting in an error message; a longer text is cut, not inside a UTF-8
 * sequence, and ends with "...". Returns buf. (assert_parse.c)
 */
const char *probe__excerpt(const char *s, size_t len, char *buf);

/*
 * Returns how many of the len bytes of text make up the subject: up to the first
 * blank, except inside the ["quoted"] segments of a JSON path. (subject.c)
 */
size_t probe__subject_end(const char *text, size_t len);

/* Returns the path's source text (borrowed, NUL-terminated), "" for the whole document. (jpath.c) */
const char *probe__jpath_text(const struct probe_jpath *p);

/*
 * Formats a number the way messages and extracts show it: integral values
 * without decimals, others in the shortest form that reads back the same.
 * Returns buf. (value.c)
 */
char *probe__num_text(double x, char *buf, size_t size);

/*
 * Describes v for a failure message (new string, NULL when out of memory):
 * strings JSON-quoted and cut near 120 bytes, numbers as text, compact JSON for
 * arrays and objects, and "nothing (<why>)" when v is NULL. (value.c)
 */
char *probe__describe(const json_t *v, const char *why);

#endif
