/* http.c - one plain HTTP request through the engine's multi handle, for modules that are not probes. */
#include "probes/probe.h"
#include "probes/probe_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_MAX_BODY (64 * 1024)

/* A request in flight. Owns its easy handle until it is released to the engine. */
struct probe_http {
	struct probe__xfer xfer;       /* CURLOPT_PRIVATE */
	struct probe_engine *e;
	struct probe_http *prev, *next; /* in e->https */
	CURL *easy;
	struct curl_slist *headers;
	char *body;                    /* owned copy of the request body */
	struct probe__buf resp_body;
	struct probe__buf resp_headers;
	size_t max_body;
	probe_http_cb cb;
	void *arg;
	uint64_t start_ns;
	char errbuf[CURL_ERROR_SIZE];
};

static void link_http(struct probe_engine *e, struct probe_http *h)
{
	h->prev = NULL;
	h->next = e->https;
	if (e->https)
		e->https->prev = h;
	e->https = h;
}

static void unlink_http(struct probe_engine *e, struct probe_http *h)
{
	if (h->prev)
		h->prev->next = h->next;
	else
		e->https = h->next;
	if (h->next)
		h->next->prev = h->prev;
}

static void http_free(struct probe_http *h)
{
	if (h->easy)
		probe__engine_release(h->e, h->easy);
	curl_slist_free_all(h->headers);
	free(h->body);
	probe__buf_free(&h->resp_body);
	probe__buf_free(&h->resp_headers);
	free(h);
}

/* Unlinks h, tells its owner, frees it. resp is filled but for timing. */
static void finish(struct probe_http *h, struct probe_http_resp *resp)
{
	probe_http_cb cb = h->cb;
	void *arg = h->arg;

	unlink_http(h->e, h);
	resp->total_us = (int64_t)((uv_hrtime() - h->start_ns) / 1000);
	if (resp->body == NULL) {
		resp->body = h->resp_body.data ? h->resp_body.data : "";
		resp->body_len = h->resp_body.len;
	}
	resp->headers = h->resp_headers.data ? h->resp_headers.data : "";
	resp->headers_len = h->resp_headers.len;
	cb(resp, arg);
	http_free(h);
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct probe_http *h = arg;
	size_t len = size * n, room = h->max_body > h->resp_body.len ? h->max_body - h->resp_body.len : 0;

	/* An answer is read to its end (the connection stays usable), but only the start is kept. */
	if (room > 0 && probe__buf_append(&h->resp_body, p, len < room ? len : room) < 0)
		return 0;
	return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct probe_http *h = arg;
	size_t len = size * n;

	/* A new status line starts a new header block (100 Continue comes first). */
	if (len >= 5 && strncmp(p, "HTTP/", 5) == 0)
		h->resp_headers.len = 0;
	if (h->resp_headers.len + len > 64 * 1024)
		return len;
	return probe__buf_append(&h->resp_headers, p, len) < 0 ? 0 : len;
}

static void on_done(struct probe__xfer *x, CURL *easy, CURLcode rc)
{
	struct probe_http *h = (struct probe_http *)((char *)x - offsetof(struct probe_http, xfer));
	struct probe_http_resp resp = { 0 };

	if (rc == CURLE_OK) {
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &resp.status);
	} else {
		resp.cls = probe__curl_class(rc);
		resp.error = h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc);
	}
	finish(h, &resp);
}

static int setup(struct probe_http *h, const struct probe_http_req *req)
{
	CURL *easy = h->easy;
	int64_t timeout = req->timeout_ms > 0 ? req->timeout_ms : DEFAULT_TIMEOUT_MS;

	for (size_t i = 0; i < req->nheaders; i++) {
		struct curl_slist *l = curl_slist_append(h->headers, req->headers[i]);
		if (l == NULL)
			return -ENOMEM;
		h->headers = l;
	}
	curl_easy_setopt(easy, CURLOPT_URL, req->url);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, &h->xfer);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, "canary/" CANARY_VERSION);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)timeout);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, h);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, h->headers);
	if (strcmp(req->method, "GET") == 0 && req->body == NULL) {
		curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
		return 0;
	}
	if (strcmp(req->method, "POST") != 0)
		curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, req->method);
	if (req->body != NULL) {
		h->body = malloc(req->body_len + 1);
		if (h->body == NULL)
			return -ENOMEM;
		memcpy(h->body, req->body, req->body_len);
		h->body[req->body_len] = '\0';
	}
	curl_easy_setopt(easy, CURLOPT_POSTFIELDS, h->body ? h->body : "");
	curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(h->body ? req->body_len : 0));
	return 0;
}

int probe_http_send(struct probe_engine *e, const struct probe_http_req *req, probe_http_cb cb,
		    void *arg, struct probe_http **out)
{
	struct probe_http *h = NULL;
	int rc = 0;

	if (e->closing)
		return -ECANCELED;
	if (req == NULL || req->url == NULL || req->method == NULL || cb == NULL)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return -ENOMEM;
	h->e = e;
	h->xfer.done = on_done;
	h->cb = cb;
	h->arg = arg;
	h->max_body = req->max_body ? req->max_body : DEFAULT_MAX_BODY;
	h->start_ns = uv_hrtime();
	h->easy = probe__engine_easy(e);
	if (h->easy == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = setup(h, req)) < 0)
		goto out;
	if (curl_multi_add_handle(e->multi, h->easy) != CURLM_OK) {
		rc = -EIO;
		goto out;
	}
	link_http(e, h);
	if (out)
		*out = h;
	h = NULL;
out:
	if (h != NULL)
		http_free(h);
	return rc;
}

void probe_http_abort(struct probe_http *h)
{
	struct probe_http_resp resp = { .error = "aborted before an answer came", .cls = PROBE_ABORTED };

	finish(h, &resp);
}

char *probe_http_header(const char *headers, size_t len, const char *name)
{
	size_t nlen = strlen(name);
	const char *p = headers, *end = headers + len;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *line_end = eol ? eol : end;
		if ((size_t)(line_end - p) > nlen && strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
			const char *v = p + nlen + 1, *ve = line_end;
			while (v < ve && isspace((unsigned char)*v))
				v++;
			while (ve > v && isspace((unsigned char)ve[-1]))
				ve--;
			return strndup(v, (size_t)(ve - v));
		}
		p = line_end + 1;
	}
	return NULL;
}
