/* engine.c - libcurl's multi interface driven from a libuv loop: one timer, one poll per socket. */
#include "probes/probe.h"
#include "probes/probe_int.h"

#include <errno.h>
#include <stdlib.h>

/*
 * A socket libcurl asked us to watch. Attached to libcurl with curl_multi_assign,
 * so no fd map of our own is needed; freed only in the poll's close callback.
 */
struct sock_ctx {
	uv_poll_t poll;
	curl_socket_t fd;
	struct probe_engine *e;
};

static void maybe_finish_close(struct probe_engine *e)
{
	if (!e->closing || e->open_handles > 0)
		return;
	void (*cb)(void *) = e->close_cb;
	void *arg = e->close_arg;
	free(e);
	if (cb)
		cb(arg);
}

static void on_sock_closed(uv_handle_t *h)
{
	struct sock_ctx *c = h->data;
	struct probe_engine *e = c->e;

	free(c);
	e->open_handles--;
	maybe_finish_close(e);
}

/* Hands every finished transfer to its run. Must follow every curl_multi_socket_action. */
static void drain(struct probe_engine *e)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(e->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		/* Copy out before the handle is removed: m dies with it. */
		CURL *easy = m->easy_handle;
		CURLcode rc = m->data.result;
		struct probe__xfer *x = NULL;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
		if (x != NULL)
			x->done(x, easy, rc);
	}
}

static void on_poll(uv_poll_t *h, int status, int events)
{
	struct sock_ctx *c = h->data;
	struct probe_engine *e = c->e;
	int flags = 0, running;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	else {
		if (events & UV_READABLE)
			flags |= CURL_CSELECT_IN;
		if (events & UV_WRITABLE)
			flags |= CURL_CSELECT_OUT;
	}
	curl_multi_socket_action(e->multi, c->fd, flags, &running);
	drain(e);
}

static void on_timer_closed(uv_handle_t *h)
{
	struct probe_engine *e = h->data;

	e->open_handles--;
	maybe_finish_close(e);
}

static void on_timeout(uv_timer_t *t)
{
	struct probe_engine *e = t->data;
	int running;

	curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	drain(e);
}

/*
 * CURLMOPT_SOCKETFUNCTION. easy may be one of libcurl's internal handles
 * (resolver, happy eyeballs): never read CURLINFO_PRIVATE from it.
 */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct probe_engine *e = userp;
	struct sock_ctx *c = socketp;
	int events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (c != NULL) {
			uv_poll_stop(&c->poll);
			curl_multi_assign(e->multi, s, NULL);
			/* uv_close does not close the fd: libcurl owns it. */
			uv_close((uv_handle_t *)&c->poll, on_sock_closed);
		}
		return 0;
	}
	if (c == NULL) {
		c = calloc(1, sizeof(*c));
		if (c == NULL)
			return -1;
		/* UV_EEXIST when a reused fd is still watched: fail this transfer, not the loop. */
		if (uv_poll_init_socket(e->loop, &c->poll, s) != 0) {
			free(c);
			return -1;
		}
		c->poll.data = c;
		c->fd = s;
		c->e = e;
		e->open_handles++;
		curl_multi_assign(e->multi, s, c);
	}
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		events |= UV_READABLE;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		events |= UV_WRITABLE;
	return uv_poll_start(&c->poll, events, on_poll) == 0 ? 0 : -1;
}

/* CURLMOPT_TIMERFUNCTION: one one-shot timer, re-armed on each call; never calls libcurl. */
static int on_timer_set(CURLM *multi, long timeout_ms, void *userp)
{
	struct probe_engine *e = userp;

	(void)multi;
	if (timeout_ms < 0)
		return uv_timer_stop(&e->timer) == 0 ? 0 : -1;
	return uv_timer_start(&e->timer, on_timeout, (uint64_t)timeout_ms, 0) == 0 ? 0 : -1;
}

int probe_engine_new(uv_loop_t *loop, struct probe_engine **out)
{
	static uv_once_t once = UV_ONCE_INIT;
	struct probe_engine *e = NULL;
	int rc;

	uv_once(&once, probe__curl_global_init);
	/* A synchronous resolver would block the loop on every lookup. */
	if (!(curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_ASYNCHDNS))
		return -ENOTSUP;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	e->loop = loop;
	e->multi = curl_multi_init();
	if (e->multi == NULL) {
		free(e);
		return -ENOMEM;
	}
	rc = uv_timer_init(loop, &e->timer);
	if (rc < 0) {
		curl_multi_cleanup(e->multi);
		free(e);
		return rc;
	}
	e->timer.data = e;
	rc = uv_timer_init(loop, &e->kick);
	if (rc < 0) {
		/* The timer is initialised: it must be closed, not just freed. */
		curl_multi_cleanup(e->multi);
		e->multi = NULL;
		e->closing = true;
		e->open_handles = 1;
		uv_close((uv_handle_t *)&e->timer, on_timer_closed);
		return rc;
	}
	e->kick.data = e;
	e->open_handles = 2;
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, on_timer_set);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
	*out = e;
	return 0;
}

size_t probe_engine_active(const struct probe_engine *e)
{
	return e->nruns;
}

CURL *probe__engine_easy(struct probe_engine *e)
{
	if (e->npool > 0)
		return e->pool[--e->npool];
	return curl_easy_init();
}

void probe__engine_release(struct probe_engine *e, CURL *easy)
{
	curl_multi_remove_handle(e->multi, easy);
	if (e->closing || e->npool == PROBE__POOL_MAX) {
		curl_easy_cleanup(easy);
		return;
	}
	/* Reset keeps nothing of the last run's options; connections live in the multi. */
	curl_easy_reset(easy);
	e->pool[e->npool++] = easy;
}

void probe__engine_link(struct probe_engine *e, struct probe_run *run)
{
	run->next = e->runs;
	run->prev = NULL;
	if (e->runs)
		e->runs->prev = run;
	e->runs = run;
	e->nruns++;
}

void probe__engine_unlink(struct probe_engine *e, struct probe_run *run)
{
	if (run->prev)
		run->prev->next = run->next;
	else
		e->runs = run->next;
	if (run->next)
		run->next->prev = run->prev;
	e->nruns--;
}

static void on_kick(uv_timer_t *t)
{
	probe__engine_kick(t->data);
}

void probe__engine_queue(struct probe_engine *e, struct probe_run *run)
{
	run->queued = true;
	run->next_start = NULL;
	if (e->starting_tail)
		e->starting_tail->next_start = run;
	else
		e->starting = run;
	e->starting_tail = run;
	if (!uv_is_active((uv_handle_t *)&e->kick))
		uv_timer_start(&e->kick, on_kick, 0, 0);
}

void probe__engine_dequeue(struct probe_engine *e, struct probe_run *run)
{
	struct probe_run **pp = &e->starting, *prev = NULL;

	while (*pp && *pp != run) {
		prev = *pp;
		pp = &(*pp)->next_start;
	}
	if (*pp == NULL)
		return;
	*pp = run->next_start;
	if (e->starting_tail == run)
		e->starting_tail = prev;
	run->queued = false;
	run->next_start = NULL;
}

void probe_engine_close(struct probe_engine *e, void (*cb)(void *arg), void *arg)
{
	e->closing = true;
	e->close_cb = cb;
	e->close_arg = arg;
	while (e->runs != NULL)
		probe_run_abort(e->runs);
	while (e->https != NULL)
		probe_http_abort(e->https);
	while (e->npool > 0)
		curl_easy_cleanup(e->pool[--e->npool]);
	/* Cleanup may call the socket and timer callbacks: the loop and timer must still live. */
	curl_multi_cleanup(e->multi);
	e->multi = NULL;
	uv_close((uv_handle_t *)&e->timer, on_timer_closed);
	uv_close((uv_handle_t *)&e->kick, on_timer_closed);
}
