/* send.c - one delivery attempt: an HTTP request through the probes' engine, or a command run with the event on stdin. */
#include "alerting/alert_int.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define OUT_MAX 4096   /* of a command's stdout, kept for the verdict */

/*
 * An attempt. HTTP: a probe_http in flight. EXEC: a process with a pipe to its
 * stdin, a pipe from its stdout and a timer; freed once all three handles
 * (and the write) are done.
 */
struct alert__send {
	enum alert_req_kind kind;
	alert__send_cb cb;
	void *arg;
	bool fired;
	/* HTTP */
	struct probe_http *http;
	/* EXEC */
	uv_process_t proc;
	uv_pipe_t in, out;
	uv_timer_t timer;
	uv_write_t wreq;
	char *input;               /* owned: what goes to stdin */
	size_t input_len;
	char outbuf[OUT_MAX];
	size_t outlen;
	int open_handles;
	bool exited, out_eof, timed_out;
	int64_t exit_status;
	int term_signal;
	const char *spawn_error;
};

/* Retry-After is seconds or an HTTP date; -1 when absent or unreadable. */
static int64_t retry_after(const char *headers, size_t len)
{
	char *v = probe_http_header(headers, len, "Retry-After"), *end = NULL;
	int64_t ms = -1;

	if (v == NULL)
		return -1;
	long long secs = strtoll(v, &end, 10);
	if (end != v && *end == '\0' && secs >= 0) {
		ms = secs * 1000;
	} else {
		time_t at = curl_getdate(v, NULL);
		if (at != (time_t)-1) {
			int64_t d = ((int64_t)at * 1000) - probe_now_ms();
			ms = d > 0 ? d : 0;
		}
	}
	free(v);
	return ms;
}

static void on_http(const struct probe_http_resp *r, void *arg)
{
	struct alert__send *s = arg;
	struct alert_response resp = {
		.error = r->error,
		.status = r->status,
		.timed_out = r->cls == PROBE_TIMEOUT,
		.body = r->body,
		.body_len = r->body_len,
		.retry_after_ms = r->error ? -1 : retry_after(r->headers, r->headers_len),
	};

	s->cb(&resp, s->arg);
	free(s);
}

static int start_http(struct alert__send *s, struct probe_engine *e, const struct alert_request *req,
		      int64_t timeout_ms)
{
	struct probe_http_req hr = {
		.method = req->method,
		.url = req->url,
		.headers = (const char *const *)req->headers,
		.nheaders = req->nheaders,
		.body = req->body,
		.body_len = req->body_len,
		.timeout_ms = timeout_ms,
	};

	return probe_http_send(e, &hr, on_http, s, &s->http);
}

/* ------------------------------------------------------------------ exec */

static void exec_closed(uv_handle_t *h)
{
	struct alert__send *s = h->data;

	if (--s->open_handles == 0) {
		free(s->input);
		free(s);
	}
}

static void exec_close_all(struct alert__send *s)
{
	uv_handle_t *hs[] = { (uv_handle_t *)&s->proc, (uv_handle_t *)&s->in, (uv_handle_t *)&s->out,
			      (uv_handle_t *)&s->timer };

	for (size_t i = 0; i < 4; i++)
		if (hs[i]->data != NULL && !uv_is_closing(hs[i]))
			uv_close(hs[i], exec_closed);
}

/* The command is over once it exited and its stdout is drained (or it was given up on). */
static void exec_maybe_done(struct alert__send *s, bool force)
{
	struct alert_response resp = { .retry_after_ms = -1 };

	if (s->fired || (!force && !(s->exited && s->out_eof)))
		return;
	s->fired = true;
	resp.error = s->spawn_error;
	resp.timed_out = s->timed_out;
	resp.status = (long)s->exit_status;
	resp.term_signal = s->term_signal;
	resp.body = s->outbuf;
	resp.body_len = s->outlen;
	s->cb(&resp, s->arg);
	exec_close_all(s);
}

static void on_exit_cb(uv_process_t *p, int64_t status, int sig)
{
	struct alert__send *s = p->data;

	s->exited = true;
	s->exit_status = status;
	s->term_signal = sig;
	uv_timer_stop(&s->timer);
	exec_maybe_done(s, false);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	static char sink[4096];
	struct alert__send *s = h->data;

	(void)suggested;
	/* Past OUT_MAX the output is read and dropped, so the command never blocks on a full pipe. */
	if (s->outlen < OUT_MAX)
		*buf = uv_buf_init(s->outbuf + s->outlen, (unsigned)(OUT_MAX - s->outlen));
	else
		*buf = uv_buf_init(sink, sizeof(sink));
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
	struct alert__send *s = st->data;

	if (n > 0 && buf->base == s->outbuf + s->outlen)
		s->outlen += (size_t)n;
	if (n < 0) {
		uv_read_stop(st);
		s->out_eof = true;
		exec_maybe_done(s, false);
	}
}

static void on_written(uv_write_t *w, int status)
{
	struct alert__send *s = w->data;

	(void)status; /* a command that does not read its input is its own business */
	if (!uv_is_closing((uv_handle_t *)&s->in))
		uv_close((uv_handle_t *)&s->in, exec_closed);
}

static void on_exec_timeout(uv_timer_t *t)
{
	struct alert__send *s = t->data;

	s->timed_out = true;
	uv_process_kill(&s->proc, SIGKILL);
	/* Its stdout may be held open by a child of its own: do not wait for it. */
	s->out_eof = true;
	exec_maybe_done(s, false);
}

static int init_exec_handles(struct alert__send *s, uv_loop_t *loop)
{
	int rc;

	if ((rc = uv_pipe_init(loop, &s->in, 0)) < 0)
		return rc;
	s->in.data = s;
	s->open_handles++;
	if ((rc = uv_pipe_init(loop, &s->out, 0)) < 0)
		return rc;
	s->out.data = s;
	s->open_handles++;
	if ((rc = uv_timer_init(loop, &s->timer)) < 0)
		return rc;
	s->timer.data = s;
	s->open_handles++;
	return 0;
}

static int start_exec(struct alert__send *s, uv_loop_t *loop, const struct alert_request *req,
		      int64_t timeout_ms)
{
	/* A clean environment: the daemon's may hold secrets meant for probes. */
	char *env[] = { "PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8", NULL };
	uv_stdio_container_t stdio[3];
	uv_process_options_t o = { 0 };
	uv_buf_t b;
	int rc;

	if ((rc = init_exec_handles(s, loop)) < 0)
		return rc;
	stdio[0] = (uv_stdio_container_t){ .flags = UV_CREATE_PIPE | UV_READABLE_PIPE, .data.stream = (uv_stream_t *)&s->in };
	stdio[1] = (uv_stdio_container_t){ .flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&s->out };
	stdio[2] = (uv_stdio_container_t){ .flags = UV_INHERIT_FD, .data.fd = 2 };
	o.file = req->argv[0];
	o.args = req->argv;
	o.env = env;
	o.stdio = stdio;
	o.stdio_count = 3;
	o.exit_cb = on_exit_cb;
	s->proc.data = s;
	if ((rc = uv_spawn(loop, &s->proc, &o)) < 0) {
		/* The process handle is initialised even on failure and must be closed too. */
		s->open_handles++;
		return rc;
	}
	s->open_handles++;
	s->input = malloc(req->body_len + 1);
	if (s->input == NULL)
		return -ENOMEM;
	memcpy(s->input, req->body ? req->body : "", req->body_len);
	s->input_len = req->body_len;
	b = uv_buf_init(s->input, (unsigned)s->input_len);
	s->wreq.data = s;
	if ((rc = uv_write(&s->wreq, (uv_stream_t *)&s->in, &b, 1, on_written)) < 0)
		uv_close((uv_handle_t *)&s->in, exec_closed);
	uv_read_start((uv_stream_t *)&s->out, on_alloc, on_read);
	uv_timer_start(&s->timer, on_exec_timeout, (uint64_t)timeout_ms, 0);
	return 0;
}

/* ------------------------------------------------------------------ the API */

int alert__send_start(uv_loop_t *loop, struct probe_engine *e, const struct alert_request *req,
		      int64_t timeout_ms, alert__send_cb cb, void *arg, struct alert__send **out)
{
	struct alert__send *s = calloc(1, sizeof(*s));
	int rc;

	if (s == NULL)
		return -ENOMEM;
	s->kind = req->kind;
	s->cb = cb;
	s->arg = arg;
	if (out)
		*out = s;
	if (req->kind == ALERT_REQ_HTTP) {
		if ((rc = start_http(s, e, req, timeout_ms)) < 0)
			free(s);
		return rc;
	}
	if (req->argv == NULL || req->argv[0] == NULL) {
		free(s);
		return -EINVAL;
	}
	if ((rc = start_exec(s, loop, req, timeout_ms)) < 0) {
		/* cb must not fire: the handles close quietly and the last one frees s. */
		s->fired = true;
		if (s->open_handles == 0)
			free(s);
		else
			exec_close_all(s);
	}
	return rc;
}

void alert__send_abort(struct alert__send *s)
{
	if (s->kind == ALERT_REQ_HTTP) {
		probe_http_abort(s->http);
		return;
	}
	if (!s->exited)
		uv_process_kill(&s->proc, SIGKILL);
	s->spawn_error = "aborted";
	exec_maybe_done(s, true);
}
