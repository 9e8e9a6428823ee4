/* value.c - subject values as text: what an extract stores, and what a failed assertion reports. */
#include "probes/probe.h"
#include "probes/assert_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A failure message quotes about this many bytes of a long value. */
#define DESCRIBE_MAX 120

char *probe__num_text(double x, char *buf, size_t size)
{
	if (x == 0) {
		/* Also for -0, which would print as "-0". */
		snprintf(buf, size, "0");
	} else if (x == floor(x) && fabs(x) < 1e17) {
		snprintf(buf, size, "%.0f", x);
	} else {
		/* The shortest of these that reads back as x: 123.4, not 123.40000000000001. */
		for (int prec = 15; prec <= 17; prec++) {
			snprintf(buf, size, "%.*g", prec, x);
			if (strtod(buf, NULL) == x)
				break;
		}
	}
	return buf;
}

/*
 * Returns the text of v as a new string: a string's content (up to an embedded
 * NUL, if any), an integer in decimal, a real by probe__num_text, true, false or
 * null, and arrays and objects as compact JSON. Returns NULL when v is NULL,
 * when out of memory, or for an array or object holding a string that is not
 * UTF-8 (which no parsed body can).
 */
char *probe_value_text(const json_t *v)
{
	char buf[64];

	if (v == NULL)
		return NULL;
	switch (json_typeof(v)) {
	case JSON_STRING:
		return strndup(json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return strdup(buf);
	case JSON_REAL:
		return strdup(probe__num_text(json_real_value(v), buf, sizeof(buf)));
	case JSON_TRUE:
		return strdup("true");
	case JSON_FALSE:
		return strdup("false");
	case JSON_NULL:
		return strdup("null");
	default:
		return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	}
}

/* The length of the valid UTF-8 sequence at s (n bytes left), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned cp;

	if (s[0] < 0xc2 || s[0] > 0xf4)
		return 0;
	len = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (len > n)
		return 0;
	cp = s[0] & (0x3f >> (len - 1));
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and what is past U+10FFFF. */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || (cp >= 0xd800 && cp < 0xe000) ||
	    cp > 0x10ffff)
		return 0;
	return len;
}

/*
 * Quotes len bytes of s as JSON would, cut near DESCRIBE_MAX bytes, never inside
 * an escape or a UTF-8 sequence. Bytes that are not UTF-8 come out as \xNN, so
 * that a binary body still gives a readable message. Returns a new string.
 */
static char *quote(const char *s, size_t len)
{
	char out[DESCRIBE_MAX + 16];
	size_t o = 0, i = 0;

	out[o++] = '"';
	while (i < len) {
		unsigned char c = (unsigned char)s[i];
		char unit[8];
		size_t ulen = 1, in = 1;

		if (c == '"' || c == '\\') {
			ulen = (size_t)snprintf(unit, sizeof(unit), "\\%c", c);
		} else if (c == '\n' || c == '\r' || c == '\t') {
			char e = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
			ulen = (size_t)snprintf(unit, sizeof(unit), "\\%c", e);
		} else if (c < 0x20 || c == 0x7f) {
			ulen = (size_t)snprintf(unit, sizeof(unit), "\\u%04x", c);
		} else if (c < 0x80) {
			unit[0] = (char)c;
		} else if ((in = utf8_len((const unsigned char *)s + i, len - i)) > 0) {
			memcpy(unit, s + i, in);
			ulen = in;
		} else {
			in = 1;
			ulen = (size_t)snprintf(unit, sizeof(unit), "\\x%02x", c);
		}
		if (o - 1 + ulen > DESCRIBE_MAX) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(out + o, unit, ulen);
		o += ulen;
		i += in;
	}
	out[o++] = '"';
	return strndup(out, o);
}

/* Cuts the compact JSON text (new) near DESCRIBE_MAX bytes with "...". Returns it. */
static char *cut_json(char *text)
{
	size_t n = text ? strlen(text) : 0;

	/* Cutting must save room for the "...". */
	if (n <= DESCRIBE_MAX + 3)
		return text;
	n = DESCRIBE_MAX;
	while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
		n--;
	strcpy(text + n, "...");
	return text;
}

char *probe__describe(const json_t *v, const char *why)
{
	char *s = NULL;

	if (v == NULL) {
		if (why == NULL)
			return strdup("nothing");
		if (asprintf(&s, "nothing (%s)", why) < 0)
			return NULL;
		return s;
	}
	if (json_is_string(v))
		return quote(json_string_value(v), json_string_length(v));
	if (json_is_array(v) || json_is_object(v)) {
		s = cut_json(json_dumps(v, JSON_COMPACT));
		return s ? s : strdup(json_is_array(v) ? "[...]" : "{...}");
	}
	return probe_value_text(v);
}
