/* util.c - what the channel types share: HTTP verdicts, times, payload access, truncation, scrubbing, config checks. */
#include "alerting/alert_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define ELLIPSIS "\xe2\x80\xa6" /* U+2026, 3 bytes */

/* ------------------------------------------------------------------ HTTP */

/* Used for the "why" of HTTP answers and of commands alike. */
char *alert__first_line(const char *body, size_t len, size_t max)
{
	size_t i = 0;

	/* Leading blank lines say nothing; skip them. */
	while (i < len && (body[i] == '\r' || body[i] == '\n' || body[i] == ' ' || body[i] == '\t'))
		i++;
	size_t end = i;
	while (end < len && body[end] != '\r' && body[end] != '\n' && body[end] != '\0')
		end++;
	char *line = strndup(body + i, end - i);
	if (line == NULL)
		return NULL;
	/* A control character would break the one-line log format. */
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	char *cut = alert__truncate(line, max);
	free(line);
	return cut;
}

char *alert__http_why(const struct alert_response *resp)
{
	char *line = NULL, *why = NULL;

	if (resp->status == 0) {
		if (asprintf(&why, "no answer: %s",
			     resp->error ? resp->error : resp->timed_out ? "timed out" : "no HTTP status") < 0)
			return NULL;
		return why;
	}
	if (resp->body && resp->body_len > 0)
		line = alert__first_line(resp->body, resp->body_len, 200);
	if (asprintf(&why, "HTTP %ld%s%s", resp->status, line && *line ? " " : "", line ? line : "") < 0)
		why = NULL;
	free(line);
	return why;
}

void alert__http_classify(const struct alert_response *resp, struct alert_outcome *out)
{
	long s = resp->status;

	out->retry_after_ms = -1;
	if (resp->error || s == 0) {
		out->verdict = ALERT_RETRY;
		struct alert_response none = *resp;
		none.status = 0; /* a status that came with a transport error means nothing */
		out->why = alert__http_why(&none);
		return;
	}
	if (s >= 200 && s < 300) {
		out->verdict = ALERT_DELIVERED;
		return;
	}
	if (s == 429 || s == 503) {
		out->verdict = ALERT_RETRY;
		out->retry_after_ms = resp->retry_after_ms >= 0 ? resp->retry_after_ms : -1;
	} else if (s == 408 || s >= 500) {
		out->verdict = ALERT_RETRY;
	} else {
		out->verdict = ALERT_GIVE_UP;
	}
	out->why = alert__http_why(resp);
}

/* ------------------------------------------------------------------ times */

/* Splits ms into broken-down UTC time; false when it cannot be represented. */
static bool utc(int64_t ms, struct tm *tm)
{
	/* Floor division: -1 ms is 1969-12-31 23:59:59, not 1970-01-01 00:00:00. */
	int64_t s = ms / 1000 - (ms % 1000 < 0);
	time_t t = (time_t)s;

	return gmtime_r(&t, tm) != NULL;
}

static char *fmt_utc(int64_t ms, const char *fmt, char *buf, size_t size)
{
	struct tm tm;

	if (size == 0)
		return buf;
	if (!utc(ms, &tm) || strftime(buf, size, fmt, &tm) == 0)
		snprintf(buf, size, "?");
	return buf;
}

char *alert__fmt_time(int64_t ms, char *buf, size_t size)
{
	return fmt_utc(ms, "%Y-%m-%d %H:%M:%S UTC", buf, size);
}

char *alert__fmt_iso(int64_t ms, char *buf, size_t size)
{
	return fmt_utc(ms, "%Y-%m-%dT%H:%M:%SZ", buf, size);
}

/* The two largest units, the second omitted when zero: "1d 2h", "1h", "7m 12s", "45s". */
char *alert__fmt_span(int64_t ms, char *buf, size_t size)
{
	int64_t s = ms > 0 ? ms / 1000 : 0;
	int64_t d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60, sec = s % 60;
	int64_t big, small;
	char ub, us;

	if (d > 0)
		big = d, ub = 'd', small = h, us = 'h';
	else if (h > 0)
		big = h, ub = 'h', small = m, us = 'm';
	else if (m > 0)
		big = m, ub = 'm', small = sec, us = 's';
	else
		big = sec, ub = 's', small = 0, us = 's';
	if (small > 0)
		snprintf(buf, size, "%" PRId64 "%c %" PRId64 "%c", big, ub, small, us);
	else
		snprintf(buf, size, "%" PRId64 "%c", big, ub);
	return buf;
}

/* ------------------------------------------------------------------ payload */

const char *alert__str(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "";
}

int64_t alert__int(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	if (json_is_integer(v))
		return (int64_t)json_integer_value(v);
	return json_is_real(v) ? (int64_t)json_real_value(v) : 0;
}

double alert__real(const json_t *obj, const char *key)
{
	return json_number_value(json_object_get(obj, key));
}

bool alert__bool(const json_t *obj, const char *key)
{
	return json_is_true(json_object_get(obj, key));
}

/* ------------------------------------------------------------------ requests */

int alert__req_header(struct alert_request *req, const char *name, const char *value)
{
	char *line = NULL;
	char **v = realloc(req->headers, (req->nheaders + 1) * sizeof(*v));

	if (v == NULL)
		return -ENOMEM;
	req->headers = v;
	if (asprintf(&line, "%s: %s", name, value) < 0)
		return -ENOMEM;
	req->headers[req->nheaders++] = line;
	return 0;
}

int alert__req_json(struct alert_request *req, const json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

	if (s == NULL)
		return -ENOMEM;
	free(req->body);
	req->body = s;
	req->body_len = strlen(s);
	return 0;
}

/* ------------------------------------------------------------------ text */

char *alert__truncate(const char *s, size_t max)
{
	size_t len = strlen(s);

	if (len <= max)
		return strdup(s);
	/* Too small for the ellipsis: a clean cut is all that fits. */
	size_t keep = max >= sizeof(ELLIPSIS) - 1 ? max - (sizeof(ELLIPSIS) - 1) : max;
	/* Back up over continuation bytes (10xxxxxx) so that s[keep] starts a character. */
	size_t back = 0;
	while (keep > 0 && back < 4 && ((unsigned char)s[keep] & 0xC0) == 0x80)
		keep--, back++;
	char *out = malloc(max + 1);
	if (out == NULL)
		return NULL;
	memcpy(out, s, keep);
	out[keep] = '\0';
	if (max >= sizeof(ELLIPSIS) - 1)
		strcat(out, ELLIPSIS);
	return out;
}


static int by_length_desc(const void *a, const void *b)
{
	size_t la = strlen(*(const char *const *)a), lb = strlen(*(const char *const *)b);
	return la < lb ? 1 : la > lb ? -1 : 0;
}

char *alert__scrub(char *s, const struct alert_secrets *secrets, const struct alert_channel *ch)
{
	size_t n = (secrets ? secrets->n : 0) + (ch ? ch->nsecrets : 0), k = 0;

	if (s == NULL || n == 0)
		return s;
	const char **v = malloc(n * sizeof(*v));
	if (v == NULL) {
		s[0] = '\0';
		return s;
	}
	for (size_t i = 0; secrets && i < secrets->n; i++)
		if (secrets->v[i] && strlen(secrets->v[i]) >= 4)
			v[k++] = secrets->v[i];
	for (size_t i = 0; ch && i < ch->nsecrets; i++)
		if (strlen(ch->secrets[i]) >= 4)
			v[k++] = ch->secrets[i];
	/* Longest first: a secret that contains a shorter one must go whole, not in part. */
	qsort(v, k, sizeof(*v), by_length_desc);
	for (size_t i = 0; i < k; i++)
		s = probe_redact(s, v[i]);
	free(v);
	return s;
}

/* ------------------------------------------------------------------ config */

/* Appends key to path as a JSON pointer token: "~" is "~0" and "/" is "~1". */
static char *path_join(const char *parent, const char *key)
{
	size_t extra = 0;

	for (const char *p = key; *p; p++)
		extra += *p == '~' || *p == '/';
	size_t plen = strlen(parent);
	char *out = malloc(plen + 1 + strlen(key) + extra + 1), *o = out;
	if (out == NULL)
		return NULL;
	memcpy(o, parent, plen);
	o += plen;
	if (plen > 0)
		*o++ = '/';
	for (const char *p = key; *p; p++) {
		if (*p == '~' || *p == '/') {
			*o++ = '~';
			*o++ = *p == '~' ? '0' : '1';
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return out;
}

void alert__errf(alert_err_fn err, void *ctx, const char *parent, const char *key, const char *fmt, ...)
{
	char *path = NULL, *msg = NULL;
	va_list ap;

	if (err == NULL)
		return;
	path = key ? path_join(parent, key) : strdup(parent);
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	/* Out of memory: report something rather than let the config pass. */
	err(path ? path : parent, msg ? msg : "out of memory", ctx);
	free(path);
	free(msg);
}

int alert__conf_str(const json_t *conf, const char *key, bool required, const char **out,
		    alert_err_fn err, void *ctx)
{
	json_t *v = json_object_get(conf, key);

	*out = NULL;
	if (v == NULL) {
		if (!required)
			return 0;
		alert__errf(err, ctx, "", key, "\"%s\" is required", key);
		return -EINVAL;
	}
	const char *s = json_string_value(v);
	/* An embedded NUL would silently cut the value short. */
	if (s == NULL || *s == '\0' || strlen(s) != json_string_length(v)) {
		alert__errf(err, ctx, "", key, "\"%s\" must be a non-empty string", key);
		return -EINVAL;
	}
	*out = s;
	return 0;
}

/* True for "http://host..." or "https://host..." without spaces or control characters. */
static bool is_http_url(const char *s)
{
	size_t skip;

	if (strncasecmp(s, "http://", 7) == 0)
		skip = 7;
	else if (strncasecmp(s, "https://", 8) == 0)
		skip = 8;
	else
		return false;
	if (s[skip] == '\0' || strchr("/?#", s[skip]))
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return false;
	return true;
}

int alert__conf_url(const json_t *conf, const char *key, bool required, const char **out,
		    alert_err_fn err, void *ctx)
{
	json_t *v = json_object_get(conf, key);
	const char *s;

	*out = NULL;
	if (v == NULL && !required)
		return 0;
	if (v == NULL) {
		alert__errf(err, ctx, "", key, "\"%s\" is required", key);
		return -EINVAL;
	}
	s = json_string_value(v);
	if (s == NULL || strlen(s) != json_string_length(v) || !is_http_url(s)) {
		/* Never quote the value: a webhook URL is the credential itself. */
		alert__errf(err, ctx, "", key, "\"%s\" must be an http:// or https:// URL", key);
		return -EINVAL;
	}
	*out = s;
	return 0;
}

int alert__conf_bool(const json_t *conf, const char *key, bool *out, alert_err_fn err, void *ctx)
{
	json_t *v = json_object_get(conf, key);

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v)) {
		alert__errf(err, ctx, "", key, "\"%s\" must be true or false", key);
		return -EINVAL;
	}
	*out = json_is_true(v);
	return 0;
}

char *alert__strf(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}
