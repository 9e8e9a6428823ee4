/* probe_int.h - what only the probe engine's files share. */
#ifndef CANARY_PROBE_INT_H
#define CANARY_PROBE_INT_H

#include "probes/probe.h"

#include <curl/curl.h>

/* What a secret is printed as. */
#define PROBE__REDACTED "[redacted]"

/* A growable byte buffer; data is always NUL-terminated once anything is appended. */
struct probe__buf {
	char *data;
	size_t len;
	size_t cap;
};

int probe__buf_append(struct probe__buf *b, const char *s, size_t n);
int probe__buf_printf(struct probe__buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns the data (new; the caller owns it) and empties b. Never NULL unless out of memory. */
char *probe__buf_steal(struct probe__buf *b);
void probe__buf_free(struct probe__buf *b);

/*
 * What CURLOPT_PRIVATE points at: every transfer of the engine (a run's step,
 * a plain request) embeds one, so that the engine can hand it back.
 */
struct probe__xfer {
	void (*done)(struct probe__xfer *x, CURL *easy, CURLcode rc);
};

/* The engine: one libcurl multi handle on one loop. Freed once every handle has closed. */
#define PROBE__POOL_MAX 256

struct epoll_event;

struct probe_engine {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;
	int epfd;                    /* private epoll instance holding every libcurl socket; -1 if none */
	uv_poll_t epoll;             /* readable whenever epfd has events; referenced only while nsocks > 0 */
	size_t nsocks;               /* sockets in epfd */
	struct epoll_event *batch;   /* the events being dispatched; NULL outside a dispatch */
	int batch_next;              /* the first event of batch not yet dispatched */
	int batch_len;
	uv_timer_t kick;             /* starts queued runs on the next loop turn */
	struct probe_run *starting;  /* runs queued by probe_run_start, FIFO */
	struct probe_run *starting_tail;
	struct probe_run *runs;      /* runs in flight, a doubly linked list */
	size_t nruns;
	struct probe_http *https;    /* plain requests in flight, a doubly linked list */
	CURL *pool[PROBE__POOL_MAX]; /* idle easy handles, reused to spare set-up work */
	size_t npool;
	int open_handles;            /* the timers and the epoll poll not yet closed */
	bool closing;
	void (*close_cb)(void *arg);
	void *close_arg;
};

/* One run of one probe: the steps of its flow, one transfer at a time. */
struct probe_run {
	struct probe__xfer xfer;     /* CURLOPT_PRIVATE */
	struct probe_engine *e;
	struct probe_run *prev, *next;
	struct probe_run *next_start; /* in the engine's start queue */
	bool queued;
	bool aborted;
	struct probe_def *def;       /* a reference */
	unsigned flags;
	probe_done_cb cb;
	void *cb_arg;
	struct probe_result *res;    /* owned until handed to cb */
	struct probe_scope scope;
	struct probe_var *extracted; /* owned; this run's extracted values */
	size_t nextracted;
	size_t step;                 /* the step in flight */
	uint64_t start_ns;           /* uv_hrtime() at the start */
	uint64_t deadline_ns;
	int64_t step_timeout_ms;     /* the limit the step in flight was given */
	CURL *easy;                  /* the step's transfer; NULL between steps */
	struct curl_slist *req_headers;
	char *req_body;
	struct probe__buf body;      /* the response, kept only when the step needs it */
	struct probe__buf headers;
	int64_t body_seen;
	bool body_overflow;
	char errbuf[CURL_ERROR_SIZE];
};

void probe__curl_global_init(void);
CURL *probe__engine_easy(struct probe_engine *e);
/* Removes easy from the multi and keeps it for reuse (or frees it). */
void probe__engine_release(struct probe_engine *e, CURL *easy);
void probe__engine_link(struct probe_engine *e, struct probe_run *run);
void probe__engine_unlink(struct probe_engine *e, struct probe_run *run);
/* Queues run to start on the next loop turn, so that probe_run_start never calls back. */
void probe__engine_queue(struct probe_engine *e, struct probe_run *run);
void probe__engine_dequeue(struct probe_engine *e, struct probe_run *run);
/* Starts every queued run (in run.c). */
void probe__engine_kick(struct probe_engine *e);
/* Called by the engine when run's transfer easy has ended with rc. */
void probe__run_transfer_done(struct probe_run *run, CURL *easy, CURLcode rc);

/*
 * Sets the error of run's current step: cls and "step \"NAME\": " followed by
 * the formatted text. Returns cls, for `return probe__step_error(...)`.
 */
int probe__step_error(struct probe_run *run, enum probe_class cls, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Sets up easy for step s of run (options, headers, body). Returns 0, or a class with run->res's step error set. */
int probe__request_setup(struct probe_run *run, const struct probe_step *s, CURL *easy);
/* Maps a libcurl error to a class. */
enum probe_class probe__curl_class(CURLcode rc);

/* Calls fn for every resolved secret value in t. */
void probe__tmpl_foreach_secret(const struct probe_tmpl *t, void (*fn)(const char *value, void *ctx),
				void *ctx);

#endif
