/* assert_eval.c - evaluates parsed assertions against a step's response. */
#include "probes/probe.h"
#include "probes/assert_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Reads v as a number: a JSON number, or a string that strtod reads entirely
 * ("42", "1.5e3"). When the expected value was written as a duration, a string
 * that is a duration ("5m") counts too, in ms.
 */
static bool as_number(const json_t *v, bool durations, double *x)
{
	const char *s;
	char *end;
	size_t n;
	int64_t ms;

	if (json_is_number(v)) {
		*x = json_number_value(v);
		return true;
	}
	if (!json_is_string(v) || (n = json_string_length(v)) == 0)
		return false;
	s = json_string_value(v);
	*x = strtod(s, &end);
	if (end != s && (size_t)(end - s) == n)
		return true;
	if (durations && probe_duration_parse_n(s, n, &ms) == 0) {
		*x = (double)ms;
		return true;
	}
	return false;
}

/*
 * The text of a scalar for comparisons: numbers formatted, true, false, null.
 * Stores the length in *n; returns NULL for strings, arrays and objects.
 */
static const char *scalar_text(const json_t *v, char *buf, size_t size, size_t *n)
{
	const char *t = NULL;

	if (json_is_integer(v)) {
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		t = buf;
	} else if (json_is_real(v)) {
		t = probe__num_text(json_real_value(v), buf, size);
	} else if (json_is_true(v)) {
		t = "true";
	} else if (json_is_false(v)) {
		t = "false";
	} else if (json_is_null(v)) {
		t = "null";
	}
	if (t != NULL)
		*n = strlen(t);
	return t;
}

/* The text of an expected value (for contains); buf holds it when it is not a string. */
static const char *val_text(const struct probe_val *val, char *buf, size_t size, size_t *n)
{
	const char *t;

	switch (val->type) {
	case PROBE_VAL_STR:
		t = val->str;
		break;
	case PROBE_VAL_NUM:
		t = probe__num_text(val->num, buf, size);
		break;
	case PROBE_VAL_BOOL:
		t = val->num != 0 ? "true" : "false";
		break;
	default:
		t = "null";
		break;
	}
	*n = strlen(t);
	return t;
}

/* Whether v, as text, is the n bytes of s: strings byte-wise, scalars by their text. */
static bool text_eq(const json_t *v, const char *s, size_t n)
{
	char buf[64];
	const char *t;
	size_t tn;

	if (json_is_string(v))
		return json_string_length(v) == n && memcmp(json_string_value(v), s, n) == 0;
	t = scalar_text(v, buf, sizeof(buf), &tn);
	return t != NULL && tn == n && memcmp(t, s, n) == 0;
}

/* `==`: the rules depend on the type of the expected value. */
static bool eq(const json_t *v, const struct probe_val *val)
{
	double x;

	switch (val->type) {
	case PROBE_VAL_NUM:
		return as_number(v, val->duration, &x) && x == val->num;
	case PROBE_VAL_STR:
		return text_eq(v, val->str, strlen(val->str));
	case PROBE_VAL_BOOL:
		return json_is_boolean(v) && json_is_true(v) == (val->num != 0);
	case PROBE_VAL_NULL:
		return json_is_null(v);
	}
	return false;
}

/* `< <= > >=`: only numbers (and numeric strings) compare; anything else fails. */
static bool order(const json_t *v, enum probe_op op, const struct probe_val *val)
{
	double x;

	if (val->type != PROBE_VAL_NUM || !as_number(v, val->duration, &x))
		return false;
	switch (op) {
	case PROBE_OP_LT: return x < val->num;
	case PROBE_OP_LE: return x <= val->num;
	case PROBE_OP_GT: return x > val->num;
	case PROBE_OP_GE: return x >= val->num;
	default: return false;
	}
}

/*
 * `contains`: a substring of a string (bytes, so any body will do), an element
 * `==` the value of an array, a key of an object, a substring of a scalar's text.
 */
static bool contains(const json_t *v, const struct probe_val *val)
{
	char vbuf[64], abuf[64];
	size_t n, an;
	const char *s = val_text(val, vbuf, sizeof(vbuf), &n), *t;

	if (json_is_string(v))
		return memmem(json_string_value(v), json_string_length(v), s, n) != NULL;
	if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++)
			if (eq(json_array_get(v, i), val))
				return true;
		return false;
	}
	if (json_is_object(v))
		return json_object_getn(v, s, n) != NULL;
	t = scalar_text(v, abuf, sizeof(abuf), &an);
	return t != NULL && memmem(t, an, s, n) != NULL;
}

/* `matches`: the value's text against the regex; a string is read up to a NUL it may hold. */
static bool matches(const json_t *v, const regex_t *re)
{
	char *text;
	bool ok;

	if (re == NULL)
		return false;
	if (json_is_string(v))
		return regexec(re, json_string_value(v), 0, NULL, 0) == 0;
	text = probe_value_text(v);
	ok = text != NULL && regexec(re, text, 0, NULL, 0) == 0;
	free(text);
	return ok;
}

/* Whether a holds for the value v, which exists. */
static bool holds(const struct probe_assert *a, const json_t *v)
{
	const struct probe_val *val = a->nvals > 0 ? &a->vals[0] : NULL;

	if (val == NULL)
		return false;
	switch (a->op) {
	case PROBE_OP_EQ:
		return eq(v, val);
	case PROBE_OP_NE:
		return !eq(v, val);
	case PROBE_OP_LT:
	case PROBE_OP_LE:
	case PROBE_OP_GT:
	case PROBE_OP_GE:
		return order(v, a->op, val);
	case PROBE_OP_CONTAINS:
		return contains(v, val);
	case PROBE_OP_NCONTAINS:
		return !contains(v, val);
	case PROBE_OP_MATCHES:
		return matches(v, a->re);
	case PROBE_OP_IN:
		for (size_t i = 0; i < a->nvals; i++)
			if (eq(v, &a->vals[i]))
				return true;
		return false;
	default:
		return false;
	}
}

/*
 * Evaluates a against r (r caches the parsed body). exists holds when the
 * subject has a value, !exists when it has none; every other operator fails on
 * a missing value, `!=` and `!contains` included. Returns whether a holds; when
 * it does not and actual is not NULL, *actual is a new string saying what came
 * back (NULL if out of memory); when it holds, *actual is set to NULL.
 */
bool probe_assert_eval(const struct probe_assert *a, struct probe_resp *r, char **actual)
{
	const char *why = NULL;
	json_t *v = probe_subject_get(&a->subj, r, &why);
	bool pass;

	if (a->op == PROBE_OP_EXISTS)
		pass = v != NULL;
	else if (a->op == PROBE_OP_NEXISTS)
		pass = v == NULL;
	else
		pass = v != NULL && holds(a, v);
	if (actual != NULL)
		*actual = pass ? NULL : probe__describe(v, why);
	json_decref(v);
	return pass;
}
