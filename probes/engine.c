/* engine.c - libcurl's multi interface driven from a libuv loop: one timer, one private epoll for every socket. */
#include "probes/probe.h"
#include "probes/probe_int.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

/*
 * Events taken per epoll_wait, and at most this many full batches per loop turn,
 * so that a flood of ready sockets cannot starve the rest of the loop. What is left
 * keeps the epoll fd readable: libuv calls us again on the next turn.
 */
#define ENGINE_BATCH 256
#define ENGINE_ROUNDS 4

/*
 * What curl_multi_assign attaches to a socket while it is in epfd: only its
 * address matters. Sockets need no state of ours beyond the epoll registration,
 * which saves a libuv handle (and its epoll_ctl, ioctl and close callback) each.
 */
static char sock_in_epoll;

/* Frees the engine once it is closing and its last handle has closed. */
static void maybe_finish_close(struct probe_engine *e)
{
	if (!e->closing || e->open_handles > 0)
		return;
	void (*cb)(void *) = e->close_cb;
	void *arg = e->close_arg;
	/* Only now: libuv watched this fd until the epoll handle's close callback. */
	if (e->epfd >= 0)
		close(e->epfd);
	free(e);
	if (cb)
		cb(arg);
}

static void on_handle_closed(uv_handle_t *h)
{
	struct probe_engine *e = h->data;

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

/*
 * A registration's data: the socket in the low 32 bits, what it waits for
 * (EPOLLIN, EPOLLOUT) above, so that an event can be read without a lookup.
 */
static uint64_t sock_key(curl_socket_t s, uint32_t want)
{
	return (uint64_t)(uint32_t)s | (uint64_t)want << 32;
}

static curl_socket_t key_sock(uint64_t key)
{
	return (curl_socket_t)(uint32_t)key;
}

/*
 * Maps what epoll reported to libcurl's flags. An error or a hang-up also
 * counts as whichever directions are waited for, so that libcurl meets the
 * failed read or write itself: an error alone makes it fail the transfer
 * with "select/poll returned error" where the on-call engineer should read
 * "Connection reset by peer"; and a hang-up would otherwise wake us for
 * nothing, forever.
 */
static int sock_flags(uint32_t got, uint32_t want)
{
	int flags = 0;

	if (got & EPOLLERR)
		flags |= CURL_CSELECT_ERR;
	if (got & (EPOLLERR | EPOLLHUP))
		got |= want;
	if (got & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (got & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	return flags;
}

/*
 * Drops the events of s that this dispatch has not delivered yet. Called when
 * s's registration changes: libcurl may have closed s, and its number may already
 * belong to a new socket, which a stale CURL_CSELECT_ERR would fail. Nothing is
 * lost: epoll is level-triggered and reports what is still true next time.
 */
static void forget_pending(struct probe_engine *e, curl_socket_t s)
{
	for (int i = e->batch_next; i < e->batch_len; i++)
		if (key_sock(e->batch[i].data.u64) == s)
			e->batch[i].events = 0;
}

/* Delivers n events from epoll_wait to libcurl. drain() is left to the caller. */
static void dispatch(struct probe_engine *e, struct epoll_event *ev, int n)
{
	int running;

	e->batch = ev;
	e->batch_len = n;
	e->batch_next = 0;
	while (e->batch_next < n) {
		struct epoll_event *p = &ev[e->batch_next++];
		if (p->events == 0)
			continue;
		curl_multi_socket_action(e->multi, key_sock(p->data.u64),
					 sock_flags(p->events, (uint32_t)(p->data.u64 >> 32)), &running);
	}
	e->batch = NULL;
	e->batch_len = e->batch_next = 0;
}

/* The epoll fd is readable: some libcurl socket is ready. */
static void on_epoll(uv_poll_t *h, int status, int events)
{
	struct probe_engine *e = h->data;
	struct epoll_event ev[ENGINE_BATCH];
	int n, rounds = 0;

	(void)events;
	/* libuv stops a poll handle that reports an error; an epoll fd has none to report, but keep listening. */
	if (status < 0)
		uv_poll_start(h, UV_READABLE, on_epoll);
	do {
		n = epoll_wait(e->epfd, ev, ENGINE_BATCH, 0);
		if (n > 0)
			dispatch(e, ev, n);
	} while (n == ENGINE_BATCH && ++rounds < ENGINE_ROUNDS);
	/* Once for all the events: done callbacks may start runs or even close the engine. */
	drain(e);
}

static void on_timeout(uv_timer_t *t)
{
	struct probe_engine *e = t->data;
	int running;

	curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	drain(e);
}

/*
 * Adds s to epfd, or changes what it waits for when added says it is there.
 * Returns 0 or a negative errno.
 */
static int sock_watch(struct probe_engine *e, curl_socket_t s, uint32_t want, bool added)
{
	struct epoll_event ev = { .events = want, .data.u64 = sock_key(s, want) };

	if (epoll_ctl(e->epfd, added ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, s, &ev) == 0)
		return 0;
	/*
	 * Our belief was wrong. ENOENT: libcurl closed the socket without a REMOVE, the
	 * kernel dropped it, and the number came back. EEXIST: libcurl forgot the socket
	 * (and our marker) without a REMOVE while it stayed open. The other operation is right.
	 */
	if (errno != (added ? ENOENT : EEXIST))
		return -errno;
	return epoll_ctl(e->epfd, added ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, s, &ev) == 0 ? 0 : -errno;
}

/*
 * Keeps the loop alive exactly while some socket is watched, as the per-socket
 * poll handles did: uv_run must return once the transfers are over. uv_ref and
 * uv_unref only flip a flag, where stopping the poll would cost epoll_ctl calls.
 */
static void sock_count(struct probe_engine *e, int delta)
{
	if (delta < 0 && --e->nsocks == 0)
		uv_unref((uv_handle_t *)&e->epoll);
	else if (delta > 0 && e->nsocks++ == 0)
		uv_ref((uv_handle_t *)&e->epoll);
}

/*
 * CURLMOPT_SOCKETFUNCTION. easy may be one of libcurl's internal handles
 * (resolver, happy eyeballs): never read CURLINFO_PRIVATE from it. socketp is
 * &sock_in_epoll while s is in epfd, else NULL.
 */
static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct probe_engine *e = userp;
	uint32_t want = 0;

	(void)easy;
	forget_pending(e, s);
	if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
		want |= EPOLLIN;
	if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
		want |= EPOLLOUT;
	if (want == 0) {
		/*
		 * REMOVE (s may be closed already: ENOENT or EBADF, nothing to undo), or
		 * nothing wanted, where a hang-up epoll always reports would spin the loop.
		 */
		if (socketp != NULL) {
			epoll_ctl(e->epfd, EPOLL_CTL_DEL, s, NULL);
			/* After a REMOVE libcurl forgets s itself. */
			if (what != CURL_POLL_REMOVE)
				curl_multi_assign(e->multi, s, NULL);
			sock_count(e, -1);
		}
		return 0;
	}
	/*
	 * Only a real failure (ENOMEM, ENOSPC for max_user_watches) gets here. libcurl
	 * (7.84 and later) then fails every transfer of the multi handle, not just this one.
	 */
	if (sock_watch(e, s, want, socketp != NULL) < 0)
		return -1;
	if (socketp == NULL) {
		curl_multi_assign(e->multi, s, &sock_in_epoll);
		sock_count(e, +1);
	}
	return 0;
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

/*
 * Undoes a probe_engine_new that failed after initialising the first n of its
 * handles (timer, kick, epoll): they must be closed, not just freed, and the
 * engine goes with the last close callback (at once when n is 0).
 */
static void engine_unwind(struct probe_engine *e, int n)
{
	uv_handle_t *h[] = { (uv_handle_t *)&e->timer, (uv_handle_t *)&e->kick, (uv_handle_t *)&e->epoll };

	curl_multi_cleanup(e->multi);
	e->multi = NULL;
	e->closing = true;
	e->open_handles = n;
	for (int i = 0; i < n; i++)
		uv_close(h[i], on_handle_closed);
	maybe_finish_close(e);
}

int probe_engine_new(uv_loop_t *loop, struct probe_engine **out)
{
	static uv_once_t once = UV_ONCE_INIT;
	struct probe_engine *e = NULL;
	int rc, n = 0;

	uv_once(&once, probe__curl_global_init);
	/* A synchronous resolver would block the loop on every lookup. */
	if (!(curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_ASYNCHDNS))
		return -ENOTSUP;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	e->loop = loop;
	e->epfd = -1;
	e->multi = curl_multi_init();
	if (e->multi == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	e->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (e->epfd < 0) {
		rc = -errno;
		goto fail;
	}
	if ((rc = uv_timer_init(loop, &e->timer)) < 0)
		goto fail;
	e->timer.data = e;
	n++;
	if ((rc = uv_timer_init(loop, &e->kick)) < 0)
		goto fail;
	e->kick.data = e;
	n++;
	/* An epoll fd is itself pollable: readable while any socket in it is ready. */
	if ((rc = uv_poll_init(loop, &e->epoll, e->epfd)) < 0)
		goto fail;
	e->epoll.data = e;
	n++;
	if ((rc = uv_poll_start(&e->epoll, UV_READABLE, on_epoll)) < 0)
		goto fail;
	/* No socket yet: an idle engine must not keep the loop running (sock_count). */
	uv_unref((uv_handle_t *)&e->epoll);
	e->open_handles = n;
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, on_timer_set);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
	*out = e;
	return 0;
fail:
	engine_unwind(e, n);
	return rc;
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
	uv_close((uv_handle_t *)&e->timer, on_handle_closed);
	uv_close((uv_handle_t *)&e->kick, on_handle_closed);
	/* The epoll fd itself is closed once this handle has closed (maybe_finish_close). */
	uv_close((uv_handle_t *)&e->epoll, on_handle_closed);
}
