/* subject.c - what assertions and extracts look at ("status", "json.PATH"...): parsing and lookup. */
#include "probes/probe.h"
#include "probes/assert_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char subject_hint[] =
	"(use status, latency, body, header.NAME, json.PATH or tls.days_left)";

/*
 * Why a subject is missing, when the reason names something ("no header X-Id").
 * probe_subject_get's *why points here until its next call on the same thread.
 */
static _Thread_local char why_buf[256];

/* Whether text (len bytes) is exactly word. */
static bool is_word(const char *text, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(text, word, len) == 0;
}

/* RFC 7230 tchar: what a header name is made of. */
static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

size_t probe__subject_end(const char *text, size_t len)
{
	size_t i = 0;

	while (i < len && !probe__is_blank(text[i])) {
		if (text[i] == '[' && i + 1 < len && text[i + 1] == '"') {
			/* A quoted key may hold blanks: skip to its closing quote. */
			for (i += 2; i < len && text[i] != '"'; i++)
				if (text[i] == '\\' && i + 1 < len)
					i++;
			if (i >= len)
				return len;
		}
		i++;
	}
	return i;
}

static int parse_header(const char *text, size_t len, struct probe_subject *out,
			struct probe_perr *err)
{
	static const size_t skip = sizeof("header.") - 1;

	if (len <= skip) {
		err->offset = len;
		snprintf(err->msg, sizeof(err->msg), "expected a header name after \"header.\"");
		return -EINVAL;
	}
	for (size_t i = skip; i < len; i++) {
		if (!is_tchar(text[i])) {
			err->offset = i;
			if (text[i] > ' ' && text[i] < 0x7f)
				snprintf(err->msg, sizeof(err->msg),
					 "invalid character \"%c\" in a header name", text[i]);
			else
				snprintf(err->msg, sizeof(err->msg),
					 "invalid byte 0x%02x in a header name", (unsigned char)text[i]);
			return -EINVAL;
		}
	}
	out->header = strndup(text + skip, len - skip);
	if (out->header == NULL) {
		err->offset = 0;
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return -ENOMEM;
	}
	out->kind = PROBE_SUBJ_HEADER;
	return 0;
}

/*
 * Parses the subject written in the len bytes of text, all of them. On success
 * out holds a new header name or path (free with probe_subject_clear). Returns 0,
 * or -EINVAL (-ENOMEM) with err set, err->offset relative to text, and out zeroed.
 */
int probe_subject_parse(const char *text, size_t len, struct probe_subject *out,
			struct probe_perr *err)
{
	memset(out, 0, sizeof(*out));
	if (is_word(text, len, "status")) {
		out->kind = PROBE_SUBJ_STATUS;
		return 0;
	}
	if (is_word(text, len, "latency")) {
		out->kind = PROBE_SUBJ_LATENCY;
		return 0;
	}
	if (is_word(text, len, "body")) {
		out->kind = PROBE_SUBJ_BODY;
		return 0;
	}
	if (is_word(text, len, "tls.days_left")) {
		out->kind = PROBE_SUBJ_TLS_DAYS;
		return 0;
	}
	if (len >= 6 && memcmp(text, "header", 6) == 0 && (len == 6 || text[6] == '.'))
		return parse_header(text, len, out, err);
	if (len >= 4 && memcmp(text, "json", 4) == 0 &&
	    (len == 4 || text[4] == '.' || text[4] == '[')) {
		out->path = probe_jpath_parse(text + 4, len - 4, err);
		if (out->path == NULL) {
			err->offset += 4;
			return strcmp(err->msg, "out of memory") == 0 ? -ENOMEM : -EINVAL;
		}
		out->kind = PROBE_SUBJ_JSON;
		return 0;
	}
	if (len == 0) {
		err->offset = 0;
		snprintf(err->msg, sizeof(err->msg), "expected a subject %s", subject_hint);
		return -EINVAL;
	}
	char ex[PROBE__EXCERPT_SIZE];
	err->offset = 0;
	snprintf(err->msg, sizeof(err->msg), "unknown subject \"%s\" %s", probe__excerpt(text, len, ex),
		 subject_hint);
	return -EINVAL;
}

/* Frees what s owns and zeroes it. Accepts a zeroed subject. */
void probe_subject_clear(struct probe_subject *s)
{
	free(s->header);
	probe_jpath_free(s->path);
	memset(s, 0, sizeof(*s));
}

/* Releases the parsed body cached in r, so that r may describe another response. */
void probe_resp_clear(struct probe_resp *r)
{
	json_decref(r->json);
	r->json = NULL;
	r->json_tried = false;
	r->json_error[0] = '\0';
}

/*
 * Returns the value of the first header called name in r's header block (new
 * reference), blanks trimmed, or NULL. Status lines ("HTTP/1.1 200 OK") are not
 * headers; a block may hold several when the run followed redirects.
 */
static json_t *find_header(const struct probe_resp *r, const char *name)
{
	const char *p = r->headers, *end;
	size_t nlen = strlen(name);

	if (r->headers == NULL)
		return NULL;
	end = r->headers + r->headers_len;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *next = eol ? eol + 1 : end;
		const char *line_end = eol ? eol : end;
		const char *colon = memchr(p, ':', (size_t)(line_end - p));

		if (colon != NULL && !((size_t)(line_end - p) >= 5 && memcmp(p, "HTTP/", 5) == 0)) {
			const char *nend = colon;
			while (nend > p && probe__is_blank(nend[-1]))
				nend--;
			if ((size_t)(nend - p) == nlen && strncasecmp(p, name, nlen) == 0) {
				const char *v = colon + 1, *vend = line_end;
				while (v < vend && probe__is_blank(*v))
					v++;
				while (vend > v && (probe__is_blank(vend[-1]) || vend[-1] == '\r'))
					vend--;
				return json_stringn_nocheck(v, (size_t)(vend - v));
			}
		}
		p = next;
	}
	return NULL;
}

/* Parses r's body once, caching the document or the reason it is not JSON. */
static json_t *body_json(struct probe_resp *r)
{
	json_error_t jerr;

	if (r->json_tried)
		return r->json;
	r->json_tried = true;
	if (r->body == NULL || r->body_len == 0) {
		snprintf(r->json_error, sizeof(r->json_error), "the body is empty");
		return NULL;
	}
	/* JSON_ALLOW_NUL: "\u0000" is valid JSON; lengths are kept wherever it matters. */
	r->json = json_loadb(r->body, r->body_len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (r->json == NULL)
		snprintf(r->json_error, sizeof(r->json_error), "%s", jerr.text);
	return r->json;
}

static json_t *get_json(const struct probe_subject *s, struct probe_resp *r, const char **why)
{
	json_t *doc = body_json(r), *v;

	if (doc == NULL) {
		snprintf(why_buf, sizeof(why_buf), "body is not JSON: %s", r->json_error);
		*why = why_buf;
		return NULL;
	}
	v = probe_jpath_eval(s->path, doc);
	if (v == NULL) {
		snprintf(why_buf, sizeof(why_buf), "json%s not found", probe__jpath_text(s->path));
		*why = why_buf;
	}
	return v;
}

/*
 * Looks s up in r (r's parsed body is cached in it: see probe_resp_clear).
 * Returns a new reference: an integer for status and tls.days_left, a real for
 * latency, a string for body and headers (not checked for UTF-8), any JSON
 * value for a path. Returns NULL when there is nothing there, and then stores
 * in *why (unless why is NULL) a short reason, borrowed: it stays valid until
 * the next call on the same thread or until r is cleared.
 */
json_t *probe_subject_get(const struct probe_subject *s, struct probe_resp *r, const char **why)
{
	const char *reason = "out of memory";
	json_t *v = NULL;

	switch (s->kind) {
	case PROBE_SUBJ_STATUS:
		v = json_integer(r->status);
		break;
	case PROBE_SUBJ_LATENCY:
		v = json_real(r->latency_ms);
		break;
	case PROBE_SUBJ_BODY:
		v = json_stringn_nocheck(r->body ? r->body : "", r->body ? r->body_len : 0);
		break;
	case PROBE_SUBJ_HEADER:
		v = find_header(r, s->header);
		if (v == NULL) {
			snprintf(why_buf, sizeof(why_buf), "no header %s", s->header);
			reason = why_buf;
		}
		break;
	case PROBE_SUBJ_JSON:
		v = get_json(s, r, &reason);
		break;
	case PROBE_SUBJ_TLS_DAYS:
		if (r->has_tls)
			v = json_integer(r->tls_days_left);
		else
			reason = "no TLS";
		break;
	default:
		reason = "unknown subject";
		break;
	}
	if (v == NULL && why != NULL)
		*why = reason;
	return v;
}
