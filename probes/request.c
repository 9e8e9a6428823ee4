/* request.c - turns a step into a libcurl transfer: rendered URL, headers and body, limits, callbacks. */
#include "probes/probe.h"
#include "probes/probe_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADERS_MAX (64 * 1024)

void probe__curl_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

enum probe_class probe__curl_class(CURLcode rc)
{
	switch (rc) {
	case CURLE_OK:
		return PROBE_OK;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return PROBE_DNS;
	case CURLE_COULDNT_CONNECT:
		return PROBE_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return PROBE_TIMEOUT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_USE_SSL_FAILED:
		return PROBE_TLS;
	case CURLE_FILESIZE_EXCEEDED:
		return PROBE_BODY_TOO_LARGE;
	default:
		return PROBE_HTTP;
	}
}

/* Counts every body byte; keeps them only when a subject needs them; stops at max_body. */
static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
	struct probe_run *run = ud;
	size_t len = size * n;

	run->body_seen += (int64_t)len;
	if (run->body_seen > run->def->max_body) {
		/* Returning short aborts the transfer: memory stays bounded whatever is sent. */
		run->body_overflow = true;
		return 0;
	}
	if ((run->def->steps[run->step].needs & PROBE_NEED_BODY) &&
	    probe__buf_append(&run->body, p, len) < 0)
		return 0;
	return len;
}

/* Keeps the header block of the last response only (a redirect or 100 starts a new one). */
static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
	struct probe_run *run = ud;
	size_t len = size * n;

	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0)
		run->headers.len = 0;
	if (run->headers.len + len > HEADERS_MAX)
		return len;
	if (probe__buf_append(&run->headers, p, len) < 0)
		return 0;
	return len;
}

static bool has_header(const struct probe_step *s, const char *name)
{
	for (size_t i = 0; i < s->nheaders; i++)
		if (strcasecmp(s->headers[i].name, name) == 0)
			return true;
	return false;
}

static int add_header(struct probe_run *run, const char *line)
{
	struct curl_slist *n = curl_slist_append(run->req_headers, line);

	if (n == NULL)
		return -ENOMEM;
	run->req_headers = n;
	return 0;
}

static int setup_headers(struct probe_run *run, const struct probe_step *s)
{
	struct probe_perr err = { 0 };

	for (size_t i = 0; i < s->nheaders; i++) {
		char *v = NULL, *line = NULL;
		if (probe_tmpl_render(s->headers[i].value, PROBE_TMPL_RAW, &run->scope, false, &v, NULL,
				      &err) < 0)
			return probe__step_error(run, PROBE_TEMPLATE, "%s", err.msg);
		/* A line break in a value would smuggle in a header of its own. */
		if (strpbrk(v, "\r\n") != NULL) {
			free(v);
			return probe__step_error(run, PROBE_TEMPLATE, "header %s: value holds a line break",
					  s->headers[i].name);
		}
		int rc = asprintf(&line, "%s: %s", s->headers[i].name, v);
		free(v);
		if (rc < 0 || add_header(run, line) < 0) {
			free(rc < 0 ? NULL : line);
			return probe__step_error(run, PROBE_TEMPLATE, "%s", "out of memory");
		}
		free(line);
	}
	if (s->json && !has_header(s, "Content-Type") && add_header(run, "Content-Type: application/json") < 0)
		return probe__step_error(run, PROBE_TEMPLATE, "%s", "out of memory");
	/* Without this, libcurl waits up to a second for "100 Continue" on larger bodies. */
	if (add_header(run, "Expect:") < 0)
		return probe__step_error(run, PROBE_TEMPLATE, "%s", "out of memory");
	return 0;
}

/* Renders the request body; sets *body (borrowed from the step or run->req_body) and *len. */
static int setup_body(struct probe_run *run, const struct probe_step *s, const char **body, size_t *len)
{
	struct probe_perr err = { 0 };

	*body = NULL;
	*len = 0;
	if (s->static_body) {
		*body = s->static_body;
		*len = s->static_body_len;
		return 0;
	}
	if (s->body) {
		if (probe_tmpl_render(s->body, PROBE_TMPL_RAW, &run->scope, false, &run->req_body, len,
				      &err) < 0)
			return probe__step_error(run, PROBE_TEMPLATE, "%s", err.msg);
	} else if (s->json) {
		/* The loop is single-threaded: the step's own tree is filled in and dumped. */
		for (size_t k = 0; k < s->nslots; k++) {
			char *v = NULL;
			size_t n = 0;
			if (probe_tmpl_render(s->slots[k].tmpl, PROBE_TMPL_RAW, &run->scope, false, &v, &n,
					      &err) < 0)
				return probe__step_error(run, PROBE_TEMPLATE, "%s", err.msg);
			json_string_setn_nocheck(s->slots[k].node, v, n);
			free(v);
		}
		run->req_body = json_dumps(s->json, JSON_COMPACT | JSON_ENCODE_ANY);
		if (run->req_body == NULL)
			return probe__step_error(run, PROBE_TEMPLATE, "%s", "out of memory");
		*len = strlen(run->req_body);
	} else
		return 0;
	*body = run->req_body;
	return 0;
}

static void setup_method(CURL *easy, const struct probe_step *s, const char *body, size_t len)
{
	if (strcmp(s->method, "HEAD") == 0) {
		curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
		return;
	}
	if (strcmp(s->method, "GET") == 0 && body == NULL) {
		curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
		return;
	}
	if (strcmp(s->method, "POST") != 0)
		curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, s->method);
	if (body != NULL || strcmp(s->method, "POST") == 0) {
		curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
}

int probe__request_setup(struct probe_run *run, const struct probe_step *s, CURL *easy)
{
	struct probe_step_result *sr = &run->res->steps[run->step];
	struct probe_perr err = { 0 };
	const char *body;
	char *url = NULL;
	size_t len;
	int rc;

	if (probe_tmpl_render(s->url, PROBE_TMPL_URL, &run->scope, false, &url, NULL, &err) < 0)
		return probe__step_error(run, PROBE_TEMPLATE, "%s", err.msg);
	if (run->flags & PROBE_RUN_TRACE) {
		sr->method = strdup(s->method);
		probe_tmpl_render(s->url, PROBE_TMPL_URL, &run->scope, true, &sr->url, NULL, NULL);
	}
	if ((rc = setup_headers(run, s)) != 0 || (rc = setup_body(run, s, &body, &len)) != 0) {
		free(url);
		return rc;
	}
	curl_easy_setopt(easy, CURLOPT_URL, url);
	explicit_bzero(url, strlen(url));
	free(url);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, &run->xfer);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, run->errbuf);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, "canary/" CANARY_VERSION);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, s->follow_redirects ? 1L : 0L);
	curl_easy_setopt(easy, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)run->step_timeout_ms);
	curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)run->def->max_body);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, run);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, run->req_headers);
	if (s->needs & PROBE_NEED_HEADERS) {
		curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(easy, CURLOPT_HEADERDATA, run);
	}
	if (s->needs & PROBE_NEED_CERTINFO)
		curl_easy_setopt(easy, CURLOPT_CERTINFO, 1L);
	if (s->insecure) {
		curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (!run->def->reuse_connections) {
		/* Synthetic probes measure real lookup, connect and TLS time, every run. */
		curl_easy_setopt(easy, CURLOPT_FRESH_CONNECT, 1L);
		curl_easy_setopt(easy, CURLOPT_FORBID_REUSE, 1L);
		curl_easy_setopt(easy, CURLOPT_DNS_CACHE_TIMEOUT, 0L);
	}
	setup_method(easy, s, body, len);
	return 0;
}
