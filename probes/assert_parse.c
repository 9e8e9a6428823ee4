/* assert_parse.c - parses `expect` assertions ("status == 200"), errors pointing at their column. */
#include "probes/probe.h"
#include "probes/assert_int.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ESCAPE_HINT "(use \\\" \\\\ \\n \\t or \\/)"
#define OP_HINT "(use ==, !=, <, <=, >, >=, contains, !contains, matches, in, exists or !exists)"

static const struct {
	const char *name;
	enum probe_op op;
} ops[] = {
	{ "==", PROBE_OP_EQ },
	{ "!=", PROBE_OP_NE },
	{ "<", PROBE_OP_LT },
	{ "<=", PROBE_OP_LE },
	{ ">", PROBE_OP_GT },
	{ ">=", PROBE_OP_GE },
	{ "contains", PROBE_OP_CONTAINS },
	{ "!contains", PROBE_OP_NCONTAINS },
	{ "matches", PROBE_OP_MATCHES },
	{ "in", PROBE_OP_IN },
	{ "exists", PROBE_OP_EXISTS },
	{ "!exists", PROBE_OP_NEXISTS },
};

/* Where the parser is in one assertion; len excludes trailing blanks. */
struct pstate {
	const char *text;
	size_t len;
	struct probe_perr *err;
	const char *opname;
	size_t opat;      /* where the operator starts */
};

const char *probe__excerpt(const char *s, size_t len, char *buf)
{
	size_t n = len;

	if (len > PROBE__QUOTE_MAX) {
		n = PROBE__QUOTE_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(buf, s, n);
	strcpy(buf + n, len > n ? "..." : "");
	return buf;
}

int probe__unquote(const char *text, size_t len, char **out, size_t *outlen, size_t *end,
		   struct probe_perr *err)
{
	char *buf = malloc(len);
	size_t n = 0;

	if (buf == NULL) {
		err->offset = 0;
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 1; i < len; i++) {
		char c = text[i];

		if (c == '"') {
			buf[n] = '\0';
			*out = buf;
			*outlen = n;
			*end = i + 1;
			return 0;
		}
		if (c == '\\' && i + 1 < len) {
			switch (text[++i]) {
			case '"': c = '"'; break;
			case '\\': c = '\\'; break;
			case '/': c = '/'; break;
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			default:
				free(buf);
				err->offset = i - 1;
				if (text[i] > ' ' && text[i] < 0x7f)
					snprintf(err->msg, sizeof(err->msg), "unknown escape \"\\%c\" "
						 ESCAPE_HINT, text[i]);
				else
					snprintf(err->msg, sizeof(err->msg), "unknown escape " ESCAPE_HINT);
				return -EINVAL;
			}
		}
		buf[n++] = c;
	}
	free(buf);
	err->offset = 0;
	snprintf(err->msg, sizeof(err->msg), "unterminated string");
	return -EINVAL;
}

__attribute__((format(printf, 3, 4)))
static int fail(struct pstate *ps, size_t offset, const char *fmt, ...)
{
	va_list ap;

	ps->err->offset = offset;
	va_start(ap, fmt);
	vsnprintf(ps->err->msg, sizeof(ps->err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static size_t skip_blanks(const struct pstate *ps, size_t i)
{
	while (i < ps->len && probe__is_blank(ps->text[i]))
		i++;
	return i;
}

/* The excerpt of the blank-delimited token at offset i, for messages. */
static const char *token_at(const struct pstate *ps, size_t i, char *buf)
{
	size_t j = i;

	while (j < ps->len && !probe__is_blank(ps->text[j]))
		j++;
	return probe__excerpt(ps->text + i, j - i, buf);
}

/* JSON's number syntax, with a leading '+' and a bare ".5" allowed too. */
static bool is_number(const char *s, size_t n)
{
	size_t i = 0, digits = 0;

	if (i < n && (s[i] == '-' || s[i] == '+'))
		i++;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		digits++;
	if (i < n && s[i] == '.')
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			digits++;
	if (digits == 0)
		return false;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t start;
		i++;
		if (i < n && (s[i] == '-' || s[i] == '+'))
			i++;
		for (start = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == start)
			return false;
	}
	return i == n;
}

/* Gives the bare word at text[i] (n bytes) its type: true, false, null, number, duration or string. */
static int classify(struct pstate *ps, size_t i, size_t n, struct probe_val *val)
{
	const char *w = ps->text + i;
	char ex[PROBE__EXCERPT_SIZE];
	int64_t ms;
	int rc;

	if ((n == 4 && memcmp(w, "true", 4) == 0) || (n == 5 && memcmp(w, "false", 5) == 0)) {
		val->type = PROBE_VAL_BOOL;
		val->num = n == 4;
		return 0;
	}
	if (n == 4 && memcmp(w, "null", 4) == 0) {
		val->type = PROBE_VAL_NULL;
		return 0;
	}
	if (is_number(w, n)) {
		/* The text goes on past the word: strtod needs a terminated copy. */
		char *copy = strndup(w, n);
		if (copy == NULL)
			return -ENOMEM;
		val->type = PROBE_VAL_NUM;
		val->num = strtod(copy, NULL);
		free(copy);
		if (!isfinite(val->num))
			return fail(ps, i, "number \"%s\" is out of range", probe__excerpt(w, n, ex));
		return 0;
	}
	rc = probe_duration_parse_n(w, n, &ms);
	if (rc == -ERANGE)
		return fail(ps, i, "duration \"%s\" is out of range", probe__excerpt(w, n, ex));
	if (rc == 0) {
		val->type = PROBE_VAL_NUM;
		val->num = (double)ms;
		val->duration = true;
		return 0;
	}
	val->type = PROBE_VAL_STR;
	val->str = strndup(w, n);
	return val->str ? 0 : -ENOMEM;
}

/*
 * Reads the value at offset i into val and stores the offset past it in *end.
 * A bare word stops at a blank or at any byte of stops; with typed false it is
 * taken as text, whatever it looks like (for contains and matches).
 */
static int read_value(struct pstate *ps, size_t i, const char *stops, bool typed,
		      struct probe_val *val, size_t *end)
{
	size_t j = i, qend;
	int rc;

	memset(val, 0, sizeof(*val));
	if (i < ps->len && ps->text[i] == '"') {
		size_t slen;
		rc = probe__unquote(ps->text + i, ps->len - i, &val->str, &slen, &qend, ps->err);
		if (rc < 0) {
			ps->err->offset += i;
			return rc;
		}
		val->type = PROBE_VAL_STR;
		*end = i + qend;
		return 0;
	}
	while (j < ps->len && !probe__is_blank(ps->text[j]) && strchr(stops, ps->text[j]) == NULL)
		j++;
	if (j == i)
		return fail(ps, i, "expected a value after \"%s\"", ps->opname);
	*end = j;
	if (typed)
		return classify(ps, i, j - i, val);
	val->type = PROBE_VAL_STR;
	val->str = strndup(ps->text + i, j - i);
	return val->str ? 0 : -ENOMEM;
}

/* Appends a zeroed value to a's list; returns it, or NULL when out of memory. */
static struct probe_val *new_val(struct probe_assert *a)
{
	struct probe_val *v = realloc(a->vals, (a->nvals + 1) * sizeof(*v));

	if (v == NULL)
		return NULL;
	a->vals = v;
	memset(&v[a->nvals], 0, sizeof(v[0]));
	return &v[a->nvals++];
}

/* Refuses a value that is not a number where only a number makes sense. */
static int check_num(struct pstate *ps, const struct probe_assert *a, size_t at)
{
	const struct probe_val *v = &a->vals[a->nvals - 1];

	if (v->type == PROBE_VAL_NUM)
		return 0;
	if (a->op >= PROBE_OP_LT && a->op <= PROBE_OP_GE)
		return fail(ps, at, "operator \"%s\" needs a number or a duration", ps->opname);
	if (a->subj.kind == PROBE_SUBJ_LATENCY)
		return fail(ps, at, "latency is compared with a number of ms or a duration (\"2s\")");
	return 0;
}

/* Reads "[v1, v2, ...]" at offset i, for `in`. */
static int read_list(struct pstate *ps, size_t i, struct probe_assert *a, size_t *end)
{
	char ex[PROBE__EXCERPT_SIZE];
	size_t open = i;
	int rc;

	if (i >= ps->len || ps->text[i] != '[')
		return fail(ps, i, "expected \"[\" after \"in\" (in [v1, v2, ...])");
	i = skip_blanks(ps, i + 1);
	if (i < ps->len && ps->text[i] == ']')
		return fail(ps, i, "empty list after \"in\"");
	for (;;) {
		struct probe_val *v = new_val(a);
		size_t at = i;

		if (v == NULL)
			return -ENOMEM;
		if (i >= ps->len)
			return fail(ps, open, "unclosed \"[\"");
		rc = read_value(ps, i, ",]", true, v, &i);
		if (rc == 0)
			rc = check_num(ps, a, at);
		if (rc < 0)
			return rc;
		i = skip_blanks(ps, i);
		if (i >= ps->len)
			return fail(ps, open, "unclosed \"[\"");
		if (ps->text[i] == ']')
			break;
		if (ps->text[i] != ',')
			return fail(ps, i, "expected \",\" or \"]\" before \"%s\"", token_at(ps, i, ex));
		ps->opname = ",";
		i = skip_blanks(ps, i + 1);
	}
	*end = i + 1;
	return 0;
}

/* Reads the operator at offset *i into a->op and moves *i past it. */
static int read_op(struct pstate *ps, size_t *i, struct probe_assert *a, size_t subj_start)
{
	static const char *const glued[] = { "==", "!=", "<=", ">=", "<", ">", "in" };
	char ex[PROBE__EXCERPT_SIZE];
	size_t j = *i, n;

	if (*i >= ps->len)
		return fail(ps, *i, "expected an operator after \"%s\" " OP_HINT,
			    probe__excerpt(ps->text + subj_start, ps->len - subj_start, ex));
	while (j < ps->len && !probe__is_blank(ps->text[j]))
		j++;
	n = j - *i;
	for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
		if (strlen(ops[k].name) == n && memcmp(ps->text + *i, ops[k].name, n) == 0) {
			a->op = ops[k].op;
			ps->opname = ops[k].name;
			ps->opat = *i;
			*i = j;
			return 0;
		}
	}
	/* "==200" or "in[1]": an operator stuck to its value. */
	for (size_t k = 0; k < sizeof(glued) / sizeof(glued[0]); k++) {
		size_t gl = strlen(glued[k]);
		if (gl >= n || memcmp(ps->text + *i, glued[k], gl) != 0)
			continue;
		char next = ps->text[*i + gl];
		bool word = glued[k][0] == 'i';
		if ((word && next == '[') || (!word && strchr("=<>!", next) == NULL))
			return fail(ps, *i + gl, "expected a blank after the operator \"%s\"", glued[k]);
	}
	return fail(ps, *i, "unknown operator \"%s\" " OP_HINT, token_at(ps, *i, ex));
}

/* Reads what follows the operator, from offset i to the end. */
static int read_operands(struct pstate *ps, size_t i, struct probe_assert *a)
{
	char ex[PROBE__EXCERPT_SIZE];
	bool as_text = a->op == PROBE_OP_CONTAINS || a->op == PROBE_OP_NCONTAINS ||
		       a->op == PROBE_OP_MATCHES;
	int rc;

	i = skip_blanks(ps, i);
	if (a->op == PROBE_OP_EXISTS || a->op == PROBE_OP_NEXISTS) {
		if (i < ps->len)
			return fail(ps, i, "unexpected \"%s\" after \"%s\"", token_at(ps, i, ex),
				    ps->opname);
		return 0;
	}
	if (as_text && a->subj.kind == PROBE_SUBJ_LATENCY)
		return fail(ps, ps->opat, "operator \"%s\" does not apply to latency (compare it with a "
			    "number or a duration)", ps->opname);
	if (a->op == PROBE_OP_IN) {
		rc = read_list(ps, i, a, &i);
		if (rc == 0 && (i = skip_blanks(ps, i)) < ps->len)
			rc = fail(ps, i, "unexpected \"%s\" after the list", token_at(ps, i, ex));
		return rc;
	}

	struct probe_val *v = new_val(a);
	size_t at = i;
	if (v == NULL)
		return -ENOMEM;
	rc = read_value(ps, i, "", !as_text, v, &i);
	if (rc == 0)
		rc = check_num(ps, a, at);
	if (rc == 0 && (i = skip_blanks(ps, i)) < ps->len)
		rc = fail(ps, i, "unexpected \"%s\" after the value (quote values that contain spaces)",
			  token_at(ps, i, ex));
	if (rc == 0 && a->op == PROBE_OP_MATCHES) {
		a->re = malloc(sizeof(*a->re));
		if (a->re == NULL)
			return -ENOMEM;
		int rerc = regcomp(a->re, v->str, REG_EXTENDED | REG_NOSUB);
		if (rerc != 0) {
			char why[160];
			regerror(rerc, a->re, why, sizeof(why));
			free(a->re);
			a->re = NULL;
			rc = fail(ps, at, "invalid regular expression: %s", why);
		}
	}
	return rc;
}

/* Parses the subject, which ends at the first blank outside a quoted path segment. */
static int read_subject(struct pstate *ps, size_t start, size_t *end, struct probe_assert *a)
{
	size_t n = probe__subject_end(ps->text + start, ps->len - start);
	int rc = probe_subject_parse(ps->text + start, n, &a->subj, ps->err);

	*end = start + n;
	if (rc != -EINVAL)
		return rc;
	ps->err->offset += start;
	/* "status==200": say what is wrong rather than call it an unknown subject. */
	size_t k = strcspn(ps->text + start, "=!<>");
	struct probe_subject tmp;
	struct probe_perr ignored;
	if (k > 0 && k < n && probe_subject_parse(ps->text + start, k, &tmp, &ignored) == 0) {
		probe_subject_clear(&tmp);
		return fail(ps, start + k, "expected a blank between the subject and the operator");
	}
	return rc;
}

/*
 * Parses one assertion from text (NUL-terminated). On success out holds a new
 * copy of text, the subject, the operator, its values and for `matches` the
 * compiled regex: free them with probe_assert_clear. Returns 0, or -EINVAL
 * (-ENOMEM) with err set and out zeroed; err->offset is the byte offset in text.
 */
int probe_assert_parse(const char *text, struct probe_assert *out, struct probe_perr *err)
{
	struct pstate ps = { .text = text, .len = strlen(text), .err = err, .opname = "" };
	size_t i, start, end;
	int rc;

	memset(out, 0, sizeof(*out));
	err->offset = 0;
	err->msg[0] = '\0';
	while (ps.len > 0 && probe__is_blank(text[ps.len - 1]))
		ps.len--;
	i = skip_blanks(&ps, 0);
	if (i >= ps.len) {
		rc = fail(&ps, i, "empty assertion (expected \"SUBJECT OPERATOR VALUE\")");
		goto fail;
	}
	start = i;
	rc = read_subject(&ps, start, &end, out);
	if (rc < 0)
		goto fail;
	i = skip_blanks(&ps, end);
	rc = read_op(&ps, &i, out, start);
	if (rc < 0)
		goto fail;
	rc = read_operands(&ps, i, out);
	if (rc < 0)
		goto fail;
	out->text = strdup(text);
	if (out->text == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	return 0;
fail:
	if (rc == -ENOMEM)
		fail(&ps, 0, "out of memory");
	probe_assert_clear(out);
	return rc;
}

/* Frees what a owns and zeroes it. Accepts a zeroed assertion. */
void probe_assert_clear(struct probe_assert *a)
{
	free(a->text);
	probe_subject_clear(&a->subj);
	for (size_t i = 0; i < a->nvals; i++)
		free(a->vals[i].str);
	free(a->vals);
	if (a->re != NULL) {
		regfree(a->re);
		free(a->re);
	}
	memset(a, 0, sizeof(*a));
}
