/* probe.h - the probe engine's public API: flow definitions, templating, assertions, runs. */
#ifndef CANARY_PROBE_H
#define CANARY_PROBE_H

#include <jansson.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* ------------------------------------------------------------------ durations */

/*
 * Parses a duration: digits followed by one of ms, s, m, h, d ("250ms", "30s", "1d").
 * Stores milliseconds in *ms. Returns 0, -EINVAL on bad syntax or -ERANGE on overflow.
 * The _n form reads exactly len bytes of s, which need not be NUL-terminated.
 */
int probe_duration_parse(const char *s, int64_t *ms);
int probe_duration_parse_n(const char *s, size_t len, int64_t *ms);

/* Formats ms in the largest unit that divides it exactly ("90s", "2m"). Returns buf. */
char *probe_duration_format(int64_t ms, char *buf, size_t size);

/* ------------------------------------------------------------------ text */

/*
 * Replaces every occurrence of needle in s (new or owned; stolen) by
 * "[redacted]". Returns s, or a new string that replaced it. Out of memory,
 * s is emptied rather than left holding the secret.
 */
char *probe_redact(char *s, const char *needle);

/*
 * The word of the NULL-terminated lists a and b (b may be NULL) nearest to
 * word within two edits, for "did you mean"; NULL when none is that close.
 */
const char *probe_nearest(const char *word, const char *const *a, const char *const *b);

/* ------------------------------------------------------------------ errors */

/* How a run failed. The names (probe_class_name) are stored and shown to users. */
enum probe_class {
	PROBE_OK = 0,
	PROBE_DNS,           /* "dns": the name did not resolve */
	PROBE_CONNECT,       /* "connect": refused, unreachable */
	PROBE_TLS,           /* "tls": handshake or certificate */
	PROBE_TIMEOUT,       /* "timeout": the step or the flow ran out of time */
	PROBE_HTTP,          /* "http": transport or protocol (reset, garbage, empty reply) */
	PROBE_ASSERTION,     /* "assertion": an `expect` did not hold */
	PROBE_EXTRACT,       /* "extract": an `extract` found nothing */
	PROBE_BODY_TOO_LARGE, /* "body_too_large": over max_body */
	PROBE_TEMPLATE,      /* "template": a placeholder could not be rendered at run time */
	PROBE_SKIPPED,       /* "skipped": not run, the previous run was still going */
	PROBE_ABORTED,       /* "aborted": abandoned at shutdown */
	PROBE_CLASS_MAX
};

/* Returns the stable lower-case name of c ("timeout"); never NULL. */
const char *probe_class_name(enum probe_class c);
/* Returns the class named name, or -1. */
int probe_class_from_name(const char *name);

/*
 * A parse error: offset is the byte offset within the parsed text where the
 * problem starts, so that the config loader can turn it into FILE:LINE:COL.
 */
struct probe_perr {
	size_t offset;
	char msg[256];
};

/* ------------------------------------------------------------------ templates */

/*
 * A template is a string with {{name}} placeholders and ${kind:arg} secret
 * references. Secrets are resolved once, at parse time, through a callback;
 * placeholders are filled at each render from a scope.
 */
struct probe_tmpl;

/*
 * Resolves a secret reference: kind is "env", "file" or "cred", arg what follows
 * the colon. Stores a new string in *value and returns 0, or returns a negative
 * error with err->msg set (err->offset is filled in by the caller).
 */
typedef int (*probe_secret_fn)(const char *kind, const char *arg, char **value,
			       struct probe_perr *err, void *ctx);

/*
 * Parses text (len bytes). resolve may be NULL, which makes any ${...} an error.
 * Returns a new template, or NULL with err set.
 */
struct probe_tmpl *probe_tmpl_parse(const char *text, size_t len, probe_secret_fn resolve,
				    void *ctx, struct probe_perr *err);
void probe_tmpl_free(struct probe_tmpl *t);

/* True when the template has no {{name}} placeholder (it may hold secrets). */
bool probe_tmpl_is_static(const struct probe_tmpl *t);
/* True when the template holds a resolved secret. */
bool probe_tmpl_has_secret(const struct probe_tmpl *t);

/*
 * Calls fn for every placeholder with its name and byte offset in the parsed
 * text. Stops and returns fn's value when it is non-zero; returns 0 otherwise.
 */
int probe_tmpl_foreach_name(const struct probe_tmpl *t,
			    int (*fn)(const char *name, size_t offset, void *ctx), void *ctx);

/* A named value; a secret one is printed as [redacted] wherever it could be seen. */
struct probe_var {
	char *name;
	char *value;
	bool secret;
};

/* Names that are always defined: {{now}}, {{now_ms}}, {{uuid}}. */
bool probe_tmpl_is_builtin(const char *name);

/*
 * Where placeholders are looked up, in this order: this run's extracted values
 * (the latest first), the probe's vars, then the built-ins. All borrowed.
 */
struct probe_scope {
	const struct probe_var *vars;
	size_t nvars;
	const struct probe_var *extracted;
	size_t nextracted;
	int64_t now_ms;   /* {{now}} and {{now_ms}} */
	char uuid[37];    /* {{uuid}}, one per run, drawn when first rendered ("" until then) */
};

/* Sets scope's built-ins for a new run: the clock now, and a fresh {{uuid}} to come. */
void probe_scope_init_builtins(struct probe_scope *scope);

enum probe_tmpl_mode {
	PROBE_TMPL_RAW,  /* values as they are (headers, body) */
	PROBE_TMPL_URL,  /* values in the path or query percent-encoded; before it, raw */
};

/*
 * Renders t into a new NUL-terminated string in *out (length in *len, may be NULL).
 * With redact, secret values are written as [redacted]. Returns 0, or -ENOENT
 * for a name the scope does not define (err names it), -ENOMEM.
 */
int probe_tmpl_render(const struct probe_tmpl *t, enum probe_tmpl_mode mode,
		      const struct probe_scope *scope, bool redact, char **out, size_t *len,
		      struct probe_perr *err);

/* ------------------------------------------------------------------ subjects, paths, assertions */

/* A compiled JSON path such as ".items[0].id" (the part after "json"). */
struct probe_jpath;

/* Parses len bytes of text (may be empty: the whole document). NULL with err set on error. */
struct probe_jpath *probe_jpath_parse(const char *text, size_t len, struct probe_perr *err);
void probe_jpath_free(struct probe_jpath *p);
/*
 * Evaluates p on root. Returns a new reference, or NULL when the path leads
 * nowhere. A last segment "length" gives the length of an array, string or object
 * (unless the object has a member named "length").
 */
json_t *probe_jpath_eval(const struct probe_jpath *p, json_t *root);

enum probe_subject_kind {
	PROBE_SUBJ_STATUS,
	PROBE_SUBJ_LATENCY,   /* this step's total, in ms */
	PROBE_SUBJ_BODY,
	PROBE_SUBJ_HEADER,    /* header.NAME, case-insensitive */
	PROBE_SUBJ_JSON,      /* json.PATH */
	PROBE_SUBJ_TLS_DAYS,  /* tls.days_left */
};

struct probe_subject {
	enum probe_subject_kind kind;
	char *header;             /* PROBE_SUBJ_HEADER: the name; owned */
	struct probe_jpath *path; /* PROBE_SUBJ_JSON; owned */
};

/* What a step's response offers to subjects; filled by the run, read by assertions. */
struct probe_resp {
	long status;
	double latency_ms;
	const char *body;        /* borrowed; body_len bytes, not NUL-terminated */
	size_t body_len;
	const char *headers;     /* borrowed; the last response's header block, "Name: value\r\n" lines */
	size_t headers_len;
	int tls_days_left;
	bool has_tls;            /* tls_days_left is known */
	json_t *json;            /* the parsed body, lazily; owned, see probe_resp_clear */
	bool json_tried;
	char json_error[160];    /* why the body is not JSON, when json_tried and !json */
};

/* Releases what evaluation cached in r (the parsed body). */
void probe_resp_clear(struct probe_resp *r);

/* Parses a subject from len bytes of text. Returns 0, or -EINVAL with err set. */
int probe_subject_parse(const char *text, size_t len, struct probe_subject *out,
			struct probe_perr *err);
void probe_subject_clear(struct probe_subject *s);

/*
 * Looks the subject up in r. Returns a new reference (strings for body and
 * headers, integers or reals for numbers), or NULL when it does not exist; then,
 * if why is not NULL, *why says why in a few words ("body is not JSON: ...").
 * *why is borrowed: a static string or a per-thread buffer, valid until the
 * next call on the same thread.
 */
json_t *probe_subject_get(const struct probe_subject *s, struct probe_resp *r, const char **why);

enum probe_op {
	PROBE_OP_EQ, PROBE_OP_NE, PROBE_OP_LT, PROBE_OP_LE, PROBE_OP_GT, PROBE_OP_GE,
	PROBE_OP_CONTAINS, PROBE_OP_NCONTAINS, PROBE_OP_MATCHES, PROBE_OP_IN,
	PROBE_OP_EXISTS, PROBE_OP_NEXISTS,
};

enum probe_val_type { PROBE_VAL_NUM, PROBE_VAL_STR, PROBE_VAL_BOOL, PROBE_VAL_NULL };

struct probe_val {
	enum probe_val_type type;
	double num;       /* NUM, and BOOL as 0/1; a duration is in ms */
	bool duration;    /* NUM written as a duration ("2s") */
	char *str;        /* STR; owned */
};

/* One `expect` string, parsed. */
struct probe_assert {
	char *text;                  /* as written; owned */
	struct probe_subject subj;
	enum probe_op op;
	struct probe_val *vals;      /* one value, or the list of `in`; none for exists; owned */
	size_t nvals;
	regex_t *re;                 /* PROBE_OP_MATCHES; owned */
};

/* Parses one assertion. Returns 0, or -EINVAL with err->offset at the offending column. */
int probe_assert_parse(const char *text, struct probe_assert *out, struct probe_perr *err);
void probe_assert_clear(struct probe_assert *a);

/*
 * Evaluates a against r. Returns true when it holds. When it does not and
 * actual is not NULL, *actual is a new string describing what came back
 * ("503", "\"text\"", "nothing (body is not JSON: ...)"), for messages.
 */
bool probe_assert_eval(const struct probe_assert *a, struct probe_resp *r, char **actual);

/* Converts a subject's value to the text an extract stores. Returns a new string. */
char *probe_value_text(const json_t *v);

/* ------------------------------------------------------------------ flows */

struct probe_header {
	char *name;                 /* owned */
	struct probe_tmpl *value;   /* owned */
};

struct probe_extract {
	char *name;                 /* owned */
	struct probe_subject subj;
};

/* A string inside a step's `json` body that holds placeholders. */
struct probe_json_slot {
	json_t *node;               /* borrowed from probe_step.json */
	struct probe_tmpl *tmpl;    /* owned */
};

struct probe_step {
	char *name;                 /* owned; "step N" when the file gives none */
	char *method;               /* owned, upper case */
	struct probe_tmpl *url;     /* owned */
	struct probe_header *headers;
	size_t nheaders;
	json_t *json;               /* owned; the `json` body, or NULL */
	struct probe_json_slot *slots;
	size_t nslots;
	struct probe_tmpl *body;    /* owned; the `body` string, or NULL */
	struct probe_assert *asserts;
	size_t nasserts;
	struct probe_extract *extracts;
	size_t nextracts;
	int64_t timeout_ms;         /* 0: bounded by the flow's deadline only */
	bool follow_redirects;
	bool insecure;

	/* Derived by probe_def_prepare. */
	char *static_body;          /* the body when it has no placeholders */
	size_t static_body_len;
	unsigned needs;             /* PROBE_NEED_* */
};

enum {
	PROBE_NEED_BODY = 1,        /* keep the body: body, json or extract subjects */
	PROBE_NEED_HEADERS = 2,     /* keep the headers */
	PROBE_NEED_CERTINFO = 4,    /* ask libcurl for the certificate chain */
};

/*
 * A probe: a flow of steps with its schedule. Built by the config loader, then
 * shared by reference between the scheduler and runs (probe_def_ref/unref, on
 * the loop's thread only).
 */
struct probe_def {
	char *name;                 /* owned */
	char *file;                 /* owned; where it was defined, or NULL */
	char *description;          /* owned, or NULL */
	int64_t every_ms;
	int64_t timeout_ms;         /* the whole flow's deadline */
	int64_t max_body;           /* bytes per response body */
	bool reuse_connections;
	bool paused;                /* "paused": kept, but the daemon does not schedule it */
	char **tags;                /* owned */
	size_t ntags;
	struct probe_var *vars;     /* owned; values already resolved */
	size_t nvars;
	struct probe_step *steps;   /* owned */
	size_t nsteps;
	json_t *raw;                /* owned; the probe file as parsed, for later modules */

	/* Derived by probe_def_prepare. */
	char **secrets;             /* owned; every resolved secret value, for scrubbing */
	size_t nsecrets;
	int refs;
};

/* Returns a new, zeroed definition holding one reference, or NULL. */
struct probe_def *probe_def_new(void);
/* Computes the derived fields once the loader has filled the rest. Returns 0 or -ENOMEM. */
int probe_def_prepare(struct probe_def *d);
struct probe_def *probe_def_ref(struct probe_def *d);
/* Drops a reference; the last one frees everything. Accepts NULL. */
void probe_def_unref(struct probe_def *d);

/* ------------------------------------------------------------------ results */

/* The wall clock in Unix ms, as results record it. */
int64_t probe_now_ms(void);

/* One assertion's outcome; kept only for runs started with PROBE_RUN_TRACE. */
struct probe_check {
	const char *text;           /* borrowed from the definition */
	bool pass;
	char *actual;               /* owned; what came back when it failed, scrubbed */
};

struct probe_step_result {
	char *name;                 /* owned */
	long status;                /* HTTP status, 0 when none came */
	int64_t dns_us;             /* phases: name lookup */
	int64_t connect_us;         /*   TCP connect, after lookup */
	int64_t tls_us;             /*   TLS handshake, after connect; 0 without TLS */
	int64_t ttfb_us;            /*   time to first byte, from the step's start */
	int64_t total_us;           /*   the whole step */
	int64_t bytes;              /* body bytes received */
	enum probe_class cls;
	char *error;                /* owned; NULL when the step passed */

	/* With PROBE_RUN_TRACE only; all owned. */
	char *method;
	char *url;                  /* secrets redacted */
	struct probe_check *checks;
	size_t nchecks;
	struct probe_var *extracted; /* values as taken; secret is always true */
	size_t nextracted;
};

/*
 * The outcome of one run. Self-contained (no pointer into the definition but
 * probe_check.text), so it may be handed to another thread.
 */
struct probe_result {
	char *probe;                /* owned */
	int64_t started_ms;         /* wall clock, Unix ms */
	int64_t lag_us;             /* actual start minus scheduled start; set by the scheduler */
	int64_t duration_us;
	enum probe_class cls;       /* PROBE_OK when every step passed */
	int failed_step;            /* index into steps, -1 when none */
	char *error;                /* owned; "step \"submit\": expected ..., got 503"; NULL when ok */
	bool slow;                  /* it failed on latency assertions only (a partial outage) */
	size_t nsteps;              /* steps that ran, <= the definition's */
	size_t cap;
	struct probe_step_result steps[];
};

/*
 * Returns a new result for def with room for its steps and no step run, or NULL.
 * cls and error (copied, may be NULL) describe why, for skipped or aborted runs.
 */
struct probe_result *probe_result_new(const struct probe_def *def, int64_t started_ms,
				      enum probe_class cls, const char *error);
/* Frees r and everything it owns. Accepts NULL. */
void probe_result_free(struct probe_result *r);

/*
 * r as a new JSON object: probe, ok, class (null when ok), error, started_ms,
 * duration_ms and steps (each: name, method, url, status, dns_ms, connect_ms,
 * tls_ms, ttfb_ms, total_ms, bytes, class, error, checks, extracted). Secrets
 * are already scrubbed from a result. NULL out of memory.
 */
json_t *probe_result_json(const struct probe_result *r);

/*
 * Replaces, in place, every occurrence in s of a secret (def's, then the
 * extra ones) by "[redacted]". Returns s, or a new string that replaced it.
 * Secrets shorter than 4 bytes are left alone: they would redact everything.
 */
char *probe_scrub(char *s, const struct probe_def *def, const struct probe_var *extra, size_t nextra);

/* ------------------------------------------------------------------ the engine */

/* One per loop: a libcurl multi handle driven by the loop's polls and a timer. */
struct probe_engine;

/* Creates an engine on loop. Returns 0 and *out, or a negative error. */
int probe_engine_new(uv_loop_t *loop, struct probe_engine **out);

/*
 * Aborts every run still going (their callbacks fire with PROBE_ABORTED),
 * releases libcurl and closes the engine's handles. cb runs once everything is
 * closed and the engine freed; the loop must keep running until then.
 */
void probe_engine_close(struct probe_engine *e, void (*cb)(void *arg), void *arg);

/* Runs in flight. */
size_t probe_engine_active(const struct probe_engine *e);

/* Called once per run, on the loop. res is new: the callee owns it. */
typedef void (*probe_done_cb)(struct probe_result *res, void *arg);

enum {
	PROBE_RUN_TRACE = 1,        /* keep each assertion, extract, method and URL */
	PROBE_RUN_REVEAL = 2,       /* with TRACE: keep extracted values unredacted */
};

struct probe_run;

/*
 * Starts a run of def (a reference is taken). cb fires once, when the run ends.
 * Returns 0 and *out (may be NULL; valid until cb), or a negative error, and
 * then cb is never called.
 */
int probe_run_start(struct probe_engine *e, struct probe_def *def, unsigned flags,
		    probe_done_cb cb, void *arg, struct probe_run **out);

/* Ends a run now: its callback fires before this returns, with PROBE_ABORTED. */
void probe_run_abort(struct probe_run *run);

/* ------------------------------------------------------------------ plain requests */

/*
 * One HTTP request through the engine, for other modules (alert delivery):
 * no flow, no assertions, no redirects. Everything is copied at send.
 */
struct probe_http_req {
	const char *method;          /* "GET", "POST", "PUT", ... */
	const char *url;             /* http or https */
	const char *const *headers;  /* "Name: value" lines */
	size_t nheaders;
	const char *body;            /* may be NULL */
	size_t body_len;
	int64_t timeout_ms;          /* the whole request; 0: 10 s */
	size_t max_body;             /* of the answer kept; 0: 64 KiB (the rest is read and dropped) */
};

/* The outcome; every pointer is borrowed and valid during the callback only. */
struct probe_http_resp {
	const char *error;           /* no answer: why (scrub it, it may quote the URL); NULL otherwise */
	enum probe_class cls;        /* PROBE_OK when an answer came, whatever its status */
	long status;                 /* 0 when no answer */
	const char *body;            /* NUL-terminated, body_len bytes (cut at max_body) */
	size_t body_len;
	const char *headers;         /* the answer's header block, "Name: value\r\n" lines */
	size_t headers_len;
	int64_t total_us;
};

typedef void (*probe_http_cb)(const struct probe_http_resp *resp, void *arg);

struct probe_http;

/*
 * Sends req now. cb fires once, later, on the loop. Returns 0 and *out (may be
 * NULL; valid until cb), or a negative error and cb never fires.
 */
int probe_http_send(struct probe_engine *e, const struct probe_http_req *req, probe_http_cb cb,
		    void *arg, struct probe_http **out);

/* Ends a request now: its callback fires before this returns, with an "aborted" error. */
void probe_http_abort(struct probe_http *h);

/*
 * The value of header name (case-insensitive) in a header block, trimmed, as
 * a new string; NULL when absent.
 */
char *probe_http_header(const char *headers, size_t len, const char *name);

#endif
