/* run.c - one run of a flow: steps in order, timings, assertions, extracts, and the result. */
#include "probes/probe.h"
#include "probes/probe_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int probe__step_error(struct probe_run *run, enum probe_class cls, const char *fmt, ...)
{
	struct probe_step_result *sr = &run->res->steps[run->step];
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	free(sr->error);
	if (asprintf(&sr->error, "step \"%s\": %s", sr->name, msg) < 0)
		sr->error = NULL;
	sr->cls = cls;
	return cls;
}

static void run_free(struct probe_run *run)
{
	for (size_t i = 0; i < run->nextracted; i++) {
		free(run->extracted[i].name);
		explicit_bzero(run->extracted[i].value, strlen(run->extracted[i].value));
		free(run->extracted[i].value);
	}
	free(run->extracted);
	curl_slist_free_all(run->req_headers);
	free(run->req_body);
	probe__buf_free(&run->body);
	probe__buf_free(&run->headers);
	probe_def_unref(run->def);
	free(run);
}

/* Hands the result to the callback and frees the run. */
static void finish(struct probe_run *run)
{
	struct probe_result *res = run->res;
	probe_done_cb cb = run->cb;
	void *arg = run->cb_arg;

	res->duration_us = (int64_t)((uv_hrtime() - run->start_ns) / 1000);
	for (size_t i = 0; i < res->nsteps; i++) {
		struct probe_step_result *sr = &res->steps[i];
		sr->error = probe_scrub(sr->error, run->def, run->extracted, run->nextracted);
		if (sr->cls != PROBE_OK && res->failed_step < 0) {
			res->failed_step = (int)i;
			res->cls = sr->cls;
			res->error = sr->error ? strdup(sr->error) : NULL;
		}
	}
	if (run->aborted && res->failed_step < 0) {
		res->cls = PROBE_ABORTED;
		res->error = strdup("aborted before it started");
	}
	probe__engine_unlink(run->e, run);
	run->res = NULL;
	run_free(run);
	cb(res, arg);
}

static void release_transfer(struct probe_run *run)
{
	if (run->easy) {
		probe__engine_release(run->e, run->easy);
		run->easy = NULL;
	}
	curl_slist_free_all(run->req_headers);
	run->req_headers = NULL;
	free(run->req_body);
	run->req_body = NULL;
	/* Keep small buffers for the next step; let a large one go. */
	if (run->body.cap > 65536)
		probe__buf_free(&run->body);
	run->body.len = 0;
	run->headers.len = 0;
	run->body_seen = 0;
	run->body_overflow = false;
	run->errbuf[0] = '\0';
}

/* Starts step run->step. Returns false when it failed before a transfer began. */
static bool start_step(struct probe_run *run)
{
	const struct probe_step *s = &run->def->steps[run->step];
	struct probe_step_result *sr = &run->res->steps[run->step];
	uint64_t now = uv_hrtime();

	sr->name = strdup(s->name);
	run->res->nsteps = run->step + 1;
	if (sr->name == NULL) {
		sr->cls = PROBE_TEMPLATE;
		return false;
	}
	if (now >= run->deadline_ns) {
		probe__step_error(run, PROBE_TIMEOUT, "the flow's deadline (%" PRId64 " ms) passed before the step began",
			       run->def->timeout_ms);
		return false;
	}
	int64_t left_ms = (int64_t)((run->deadline_ns - now + 999999) / 1000000);
	run->step_timeout_ms = s->timeout_ms > 0 && s->timeout_ms < left_ms ? s->timeout_ms : left_ms;
	run->easy = probe__engine_easy(run->e);
	if (run->easy == NULL) {
		probe__step_error(run, PROBE_TEMPLATE, "out of memory");
		return false;
	}
	if (probe__request_setup(run, s, run->easy) != 0) {
		release_transfer(run);
		return false;
	}
	if (curl_multi_add_handle(run->e->multi, run->easy) != CURLM_OK) {
		probe__step_error(run, PROBE_HTTP, "libcurl refused the transfer");
		release_transfer(run);
		return false;
	}
	return true;
}

static void collect_timings(CURL *easy, struct probe_step_result *sr)
{
	curl_off_t dns = 0, conn = 0, tls = 0, ttfb = 0, total = 0, bytes = 0;

	curl_easy_getinfo(easy, CURLINFO_NAMELOOKUP_TIME_T, &dns);
	curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &conn);
	curl_easy_getinfo(easy, CURLINFO_APPCONNECT_TIME_T, &tls);
	curl_easy_getinfo(easy, CURLINFO_STARTTRANSFER_TIME_T, &ttfb);
	curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &total);
	curl_easy_getinfo(easy, CURLINFO_SIZE_DOWNLOAD_T, &bytes);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &sr->status);
	/* libcurl's times are offsets from the start; phases are the gaps between them. */
	sr->dns_us = dns;
	sr->connect_us = conn > dns ? conn - dns : 0;
	sr->tls_us = tls > conn ? tls - conn : 0;
	sr->ttfb_us = ttfb;
	sr->total_us = total;
	sr->bytes = bytes;
}

/* Days until the leaf certificate expires, from libcurl's certificate info. */
static void collect_tls(CURL *easy, struct probe_resp *resp)
{
	struct curl_certinfo *ci = NULL;

	if (curl_easy_getinfo(easy, CURLINFO_CERTINFO, &ci) != CURLE_OK || ci == NULL ||
	    ci->num_of_certs < 1)
		return;
	for (struct curl_slist *l = ci->certinfo[0]; l; l = l->next) {
		struct tm tm = { 0 };
		if (strncmp(l->data, "Expire date:", 12) != 0 ||
		    strptime(l->data + 12, "%b %d %H:%M:%S %Y", &tm) == NULL)
			continue;
		time_t exp = timegm(&tm);
		double days = difftime(exp, time(NULL)) / 86400.0;
		resp->tls_days_left = days < 0 ? (int)days - 1 : (int)days;
		resp->has_tls = true;
		return;
	}
}

/* Where a transfer that ran out of time was stuck, from libcurl's own clock. */
static const char *hung_in(CURL *easy)
{
	curl_off_t dns = 0, conn = 0, tls = 0, ttfb = 0;
	const char *scheme = NULL;

	curl_easy_getinfo(easy, CURLINFO_NAMELOOKUP_TIME_T, &dns);
	curl_easy_getinfo(easy, CURLINFO_CONNECT_TIME_T, &conn);
	curl_easy_getinfo(easy, CURLINFO_APPCONNECT_TIME_T, &tls);
	curl_easy_getinfo(easy, CURLINFO_STARTTRANSFER_TIME_T, &ttfb);
	curl_easy_getinfo(easy, CURLINFO_SCHEME, &scheme);
	if (dns == 0 && conn == 0)
		return "while resolving the name";
	if (conn == 0)
		return "while connecting";
	if (tls == 0 && scheme && strcasecmp(scheme, "https") == 0)
		return "during the TLS handshake";
	return ttfb == 0 ? "waiting for the response" : "while reading the response";
}

static void transport_error(struct probe_run *run, CURL *easy, CURLcode rc)
{
	enum probe_class cls = probe__curl_class(rc);

	if (run->body_overflow || cls == PROBE_BODY_TOO_LARGE) {
		probe__step_error(run, PROBE_BODY_TOO_LARGE, "response body exceeds max_body (%" PRId64 " bytes)",
			       run->def->max_body);
		return;
	}
	if (cls == PROBE_TIMEOUT) {
		/* A lock looks like a timeout: say which phase it hung in. */
		probe__step_error(run, cls, "timed out after %" PRId64 " ms %s", run->step_timeout_ms, hung_in(easy));
		return;
	}
	probe__step_error(run, cls, "%s", run->errbuf[0] ? run->errbuf : curl_easy_strerror(rc));
}

static void add_check(struct probe_step_result *sr, const struct probe_assert *a, bool pass, char *actual)
{
	struct probe_check *n = realloc(sr->checks, (sr->nchecks + 1) * sizeof(*n));

	if (n == NULL) {
		free(actual);
		return;
	}
	sr->checks = n;
	sr->checks[sr->nchecks++] = (struct probe_check){ a->text, pass, actual };
}

/* Evaluates the step's assertions; the first that fails names the step's error. */
static bool check_asserts(struct probe_run *run, const struct probe_step *s, struct probe_resp *resp)
{
	struct probe_step_result *sr = &run->res->steps[run->step];
	bool trace = run->flags & PROBE_RUN_TRACE, ok = true, slow = true;

	/* After a latency failure the rest is still evaluated: "slow" means nothing else failed. */
	for (size_t i = 0; i < s->nasserts && (ok || trace || slow); i++) {
		char *actual = NULL;
		bool pass = probe_assert_eval(&s->asserts[i], resp, &actual);
		actual = probe_scrub(actual, run->def, run->extracted, run->nextracted);
		if (!pass && s->asserts[i].subj.kind != PROBE_SUBJ_LATENCY)
			slow = false;
		if (!pass && ok) {
			probe__step_error(run, PROBE_ASSERTION, "expected %s, got %s", s->asserts[i].text,
				       actual ? actual : "?");
			ok = false;
		}
		if (trace)
			add_check(sr, &s->asserts[i], pass, actual);
		else
			free(actual);
	}
	run->res->slow = !ok && slow;
	return ok;
}

static int push_var(struct probe_var **v, size_t *n, const char *name, const char *value)
{
	struct probe_var *nv = realloc(*v, (*n + 1) * sizeof(*nv));

	if (nv == NULL)
		return -ENOMEM;
	*v = nv;
	nv[*n] = (struct probe_var){ strdup(name), strdup(value), true };
	if (nv[*n].name == NULL || nv[*n].value == NULL) {
		free(nv[*n].name);
		free(nv[*n].value);
		return -ENOMEM;
	}
	(*n)++;
	return 0;
}

static bool do_extracts(struct probe_run *run, const struct probe_step *s, struct probe_resp *resp)
{
	struct probe_step_result *sr = &run->res->steps[run->step];

	for (size_t i = 0; i < s->nextracts; i++) {
		const char *why = "not found";
		json_t *v = probe_subject_get(&s->extracts[i].subj, resp, &why);
		char *text = v ? probe_value_text(v) : NULL;
		json_decref(v);
		if (text == NULL) {
			probe__step_error(run, PROBE_EXTRACT, "extract \"%s\": %s", s->extracts[i].name,
				       why ? why : "not found");
			return false;
		}
		int rc = push_var(&run->extracted, &run->nextracted, s->extracts[i].name, text);
		if (rc == 0 && (run->flags & PROBE_RUN_TRACE))
			push_var(&sr->extracted, &sr->nextracted, s->extracts[i].name,
				 (run->flags & PROBE_RUN_REVEAL) ? text : PROBE__REDACTED);
		explicit_bzero(text, strlen(text));
		free(text);
		if (rc < 0) {
			probe__step_error(run, PROBE_EXTRACT, "extract \"%s\": out of memory", s->extracts[i].name);
			return false;
		}
		run->scope.extracted = run->extracted;
		run->scope.nextracted = run->nextracted;
	}
	return true;
}

void probe__run_transfer_done(struct probe_run *run, CURL *easy, CURLcode rc)
{
	const struct probe_step *s = &run->def->steps[run->step];
	struct probe_step_result *sr = &run->res->steps[run->step];
	struct probe_resp resp = { 0 };
	bool ok;

	collect_timings(easy, sr);
	if (run->body_overflow)
		sr->bytes = run->body_seen;
	if (s->needs & PROBE_NEED_CERTINFO)
		collect_tls(easy, &resp);
	if (rc != CURLE_OK) {
		transport_error(run, easy, rc);
		ok = false;
	} else {
		resp.status = sr->status;
		resp.latency_ms = (double)sr->total_us / 1000.0;
		resp.body = run->body.data ? run->body.data : "";
		resp.body_len = run->body.len;
		resp.headers = run->headers.data ? run->headers.data : "";
		resp.headers_len = run->headers.len;
		ok = check_asserts(run, s, &resp) && do_extracts(run, s, &resp);
	}
	probe_resp_clear(&resp);
	release_transfer(run);
	/* A step that fails before its transfer starts ends the run like any failed step. */
	if (ok && ++run->step < run->def->nsteps && start_step(run))
		return;
	finish(run);
}

static void transfer_done(struct probe__xfer *x, CURL *easy, CURLcode rc)
{
	probe__run_transfer_done((struct probe_run *)((char *)x - offsetof(struct probe_run, xfer)), easy, rc);
}

/* Starts the first step of runs queued by probe_run_start, outside the caller's stack. */
void probe__engine_kick(struct probe_engine *e)
{
	while (e->starting != NULL) {
		struct probe_run *run = e->starting;
		e->starting = run->next_start;
		if (e->starting == NULL)
			e->starting_tail = NULL;
		run->next_start = NULL;
		run->queued = false;
		run->start_ns = uv_hrtime();
		run->deadline_ns = run->start_ns + (uint64_t)run->def->timeout_ms * 1000000u;
		run->res->started_ms = probe_now_ms();
		if (!start_step(run))
			finish(run);
	}
}

int probe_run_start(struct probe_engine *e, struct probe_def *def, unsigned flags,
		    probe_done_cb cb, void *arg, struct probe_run **out)
{
	struct probe_run *run;

	if (e->closing)
		return -ECANCELED;
	if (def->nsteps == 0)
		return -EINVAL;
	run = calloc(1, sizeof(*run));
	if (run == NULL)
		return -ENOMEM;
	run->res = probe_result_new(def, probe_now_ms(), PROBE_OK, NULL);
	if (run->res == NULL) {
		free(run);
		return -ENOMEM;
	}
	run->xfer.done = transfer_done;
	run->e = e;
	run->def = probe_def_ref(def);
	run->flags = flags;
	run->cb = cb;
	run->cb_arg = arg;
	run->scope.vars = def->vars;
	run->scope.nvars = def->nvars;
	probe_scope_init_builtins(&run->scope);
	probe__engine_link(e, run);
	probe__engine_queue(e, run);
	if (out)
		*out = run;
	return 0;
}

void probe_run_abort(struct probe_run *run)
{
	if (run->queued)
		probe__engine_dequeue(run->e, run);
	if (run->easy != NULL) {
		probe__step_error(run, PROBE_ABORTED, "aborted before it finished");
		release_transfer(run);
	}
	/* An aborted run is neither up nor down: the whole result says so. */
	run->aborted = true;
	finish(run);
}
