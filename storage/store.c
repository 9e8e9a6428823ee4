/* store.c - opening and closing a store, choosing its backend by path, the readers and the direct writes. */
#include "storage/storage.h"
#include "storage/storage_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

/*
 * The backends, by the scheme a path may start with ("sqlite:///var/lib/x").
 * A plain path (no "scheme://") is a SQLite file; that is the common case
 * and the only one with a default.
 */
static const struct {
	const char *scheme;
	const struct store__backend *be;
} backends[] = {
	{ "sqlite", &store__sqlite_backend },
};

#define DEFAULT_BACKEND (&store__sqlite_backend)

char *store__strdupf(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

void store__logf(struct store *s, int prio, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (s == NULL || s->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	s->log(prio, line, s->log_arg);
}

/*
 * Picks the backend for path and, in *rest (borrowed, inside path), what the
 * backend is to open. Returns 0, or -EPROTONOSUPPORT with a new message.
 */
static int pick_backend(const char *path, const struct store__backend **be,
			const char **rest, char **err)
{
	const char *p = path;
	size_t len = 0;
	int rc = 0;

	*be = DEFAULT_BACKEND;
	*rest = path;
	/* RFC 3986 scheme: a letter, then letters, digits, '+', '-' or '.'. */
	if (!isalpha((unsigned char)*p))
		goto out;
	while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
		p++;
	if (strncmp(p, "://", 3) != 0)
		goto out;
	len = (size_t)(p - path);
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		if (strlen(backends[i].scheme) == len &&
		    strncasecmp(backends[i].scheme, path, len) == 0) {
			*be = backends[i].be;
			*rest = p + 3;
			goto out;
		}
	}
	rc = -EPROTONOSUPPORT;
	*err = store__strdupf("%s: no storage backend for \"%.*s\" in this build", path,
			      (int)len, path);
out:
	return rc;
}

/*
 * Opens the store described by opts: picks the backend, opens (creating and
 * migrating unless read-only) and sets up the queue. The writer is not started.
 * Returns 0 and a new *out, or a negative error and a new message in *err.
 */
int store_open(const struct store_opts *opts, struct store **out, char **err)
{
	const struct store__backend *be = NULL;
	const char *rest = NULL;
	struct store *s = NULL;
	bool locks = false;
	int rc = 0;

	*out = NULL;
	*err = NULL;
	if (opts == NULL || opts->path == NULL || opts->path[0] == '\0') {
		rc = -EINVAL;
		*err = store__strdupf("no database path given");
		goto out;
	}
	if ((rc = pick_backend(opts->path, &be, &rest, err)) < 0)
		goto out;
	if (be->version != STORE__BACKEND_VERSION || be->open == NULL || be->close == NULL) {
		rc = -ENOTSUP;
		*err = store__strdupf("%s: the %s backend was built for another storage API",
				      opts->path, be->name);
		goto out;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->path = strdup(opts->path)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	s->flags = opts->flags;
	s->max_pending = opts->max_pending ? opts->max_pending : STORE__MAX_PENDING;
	s->batch_ms = opts->batch_ms > 0 ? opts->batch_ms : STORE__BATCH_MS;
	s->log = opts->log;
	s->log_arg = opts->log_arg;
	s->committed = opts->committed;
	s->committed_arg = opts->committed_arg;
	if ((rc = store__queue_init(s)) < 0)
		goto out;
	locks = true;
	if ((rc = store__be_open(be, rest, s->flags, &s->conn, err)) < 0)
		goto out;
	*out = s;
	s = NULL;
out:
	if (s != NULL) {
		if (locks)
			store__queue_free(s);
		free(s->path);
		free(s);
	}
	if (rc == -ENOMEM && *err == NULL)
		*err = store__strdupf("out of memory");
	return rc;
}

/*
 * Writes what is pending (store__writer_stop gives failing writes up to
 * STORE__CLOSE_BUDGET_MS, then counts and logs the rest as lost), stops the
 * writer, closes the backend and frees s. No store_submit may run
 * concurrently. Accepts NULL.
 */
void store_close(struct store *s)
{
	if (s == NULL)
		return;
	store__writer_stop(s);
	store__be_close(s->conn);
	store__queue_free(s);
	free(s->path);
	free(s);
}

/*
 * Runs call, a store__be_* wrapper (which gives an rc and may set err), with
 * s->db_lock held, so that it is serialised with the writer's batches, and
 * stores its rc in rc.
 */
#define LOCKED(s, rc, call)                     \
	do {                                    \
		uv_mutex_lock(&(s)->db_lock);   \
		(rc) = (call);                  \
		uv_mutex_unlock(&(s)->db_lock); \
	} while (0)

/*
 * Starts a reader that hands out an array: *out and *n are NULL and 0 from
 * here on unless it fills them, and when s, out or n is NULL the reader
 * returns -EINVAL.
 */
#define LIST_START(s, out, n)                                     \
	do {                                                      \
		if ((out) != NULL)                                \
			*(out) = NULL;                            \
		if ((n) != NULL)                                  \
			*(n) = 0;                                 \
		if ((out) == NULL || (n) == NULL || (s) == NULL)  \
			return -EINVAL;                           \
	} while (0)

/*
 * Ends a backend call: logs a failure (rc < 0, except -ENOENT when
 * enoent_answers says that is an answer) as "cannot WHAT PATH: ERR", WHAT
 * being what_fmt formatted. Frees err (stolen). Returns rc.
 */
static int logged(struct store *s, int rc, char *err, bool enoent_answers, const char *what_fmt,
		  ...) __attribute__((format(printf, 5, 6)));

static int logged(struct store *s, int rc, char *err, bool enoent_answers, const char *what_fmt,
		  ...)
{
	char what[512];
	va_list ap;

	if (rc < 0 && !(rc == -ENOENT && enoent_answers)) {
		va_start(ap, what_fmt);
		vsnprintf(what, sizeof(what), what_fmt, ap);
		va_end(ap);
		store__logf(s, LOG_ERR, "cannot %s %s: %s", what, s->path, err);
	}
	free(err);
	return rc;
}

/*
 * Reads one probe's status through the backend. Serialised with the writer's
 * batches on db_lock, so it may wait for one batch (including the backend's
 * own busy wait) on a writable store; a read-only store never waits for
 * another process's writer (WAL readers do not block).
 */
int store_probe_status(struct store *s, const char *probe, int64_t now_ms,
		       struct store_status *out)
{
	char *err = NULL;
	int rc = 0;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (out == NULL || s == NULL || probe == NULL)
		return -EINVAL;
	LOCKED(s, rc, store__be_probe_status(s->conn, probe, now_ms, out, &err));
	if ((rc = logged(s, rc, err, false, "read the status of %s from", probe)) < 0)
		store_status_clear(out);
	return rc;
}

void store_status_clear(struct store_status *st)
{
	if (st == NULL)
		return;
	free(st->error_class);
	free(st->error);
	memset(st, 0, sizeof(*st));
}

/* ------------------------------------------------------------------ alerting's readers and direct writes */

/*
 * Each of these is serialised with the writer's batches on db_lock, like
 * store_probe_status, and logs its failure (but not -ENOENT, which is an
 * answer) before returning it.
 */

int store_alert_load(struct store *s, struct store_alert_state *out)
{
	char *err = NULL;
	int rc = 0;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (out == NULL || s == NULL)
		return -EINVAL;
	LOCKED(s, rc, store__be_alert_load(s->conn, out, &err));
	if ((rc = logged(s, rc, err, false, "read the alerting state from")) < 0)
		store_alert_state_clear(out);
	return rc;
}

int store_incidents(struct store *s, const struct store_incident_filter *f,
		    struct store_incident **out, size_t *n)
{
	static const struct store_incident_filter all = { 0 };
	char *err = NULL;
	int rc = 0;

	LIST_START(s, out, n);
	LOCKED(s, rc, store__be_incidents(s->conn, f ? f : &all, out, n, &err));
	return logged(s, rc, err, false, "read incidents from");
}

int store_incident_timeline(struct store *s, int64_t id, struct store_timeline *out)
{
	char *err = NULL;
	int rc = 0;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (out == NULL || s == NULL)
		return -EINVAL;
	LOCKED(s, rc, store__be_incident_timeline(s->conn, id, out, &err));
	if ((rc = logged(s, rc, err, true, "read incident %lld from", (long long)id)) < 0)
		store_timeline_clear(out);
	return rc;
}

int store_maint_list(struct store *s, int64_t active_at_ms, struct store_maint **out, size_t *n)
{
	char *err = NULL;
	int rc = 0;

	LIST_START(s, out, n);
	LOCKED(s, rc, store__be_maint_list(s->conn, active_at_ms, out, n, &err));
	return logged(s, rc, err, false, "read maintenance windows from");
}

/*
 * A window must match something (a probe, a tag or both) and last a while:
 * one with end_ms <= start_ms could never be active. A read-only store gives
 * -EROFS. The write waits for another process's writer (the daemon) for the
 * backend's busy timeout at most.
 */
int store_maint_add(struct store *s, const struct store_maint *m, int64_t *id)
{
	char *err = NULL;
	int rc = 0;

	if (id != NULL)
		*id = 0;
	if (s == NULL || m == NULL || id == NULL || (m->probe == NULL && m->tag == NULL) ||
	    m->end_ms <= m->start_ms)
		return -EINVAL;
	if (s->flags & STORE_READONLY)
		return -EROFS;
	LOCKED(s, rc, store__be_maint_add(s->conn, m, id, &err));
	return logged(s, rc, err, false, "add a maintenance window to");
}

/* Ending a window that has already ended (end_ms <= now_ms) changes nothing and returns 0. */
int store_maint_end(struct store *s, int64_t id, int64_t now_ms)
{
	char *err = NULL;
	int rc = 0;

	if (s == NULL)
		return -EINVAL;
	if (s->flags & STORE_READONLY)
		return -EROFS;
	LOCKED(s, rc, store__be_maint_end(s->conn, id, now_ms, &err));
	return logged(s, rc, err, true, "end maintenance window %lld in", (long long)id);
}

/* ------------------------------------------------------------------ reports, annotations and retention */

/* An empty range (until_ms <= since_ms) gives zero counts and -1s; a reversed one is -EINVAL. */
int store_report(struct store *s, const char *probe, int64_t since_ms, int64_t until_ms,
		 struct store_report *out)
{
	char *err = NULL;
	int rc = 0;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (out == NULL || s == NULL || probe == NULL || until_ms < since_ms)
		return -EINVAL;
	LOCKED(s, rc, store__be_report(s->conn, probe, since_ms, until_ms, out, &err));
	if ((rc = logged(s, rc, err, false, "report on %s from", probe)) < 0)
		store_report_clear(out);
	return rc;
}

/* Text is required (NULL or empty is -EINVAL); a read-only store gives -EROFS. */
int store_annotate(struct store *s, const struct store_annotation *a, int64_t *id)
{
	char *err = NULL;
	int rc = 0;

	if (id != NULL)
		*id = 0;
	if (s == NULL || a == NULL || id == NULL || a->text == NULL || a->text[0] == '\0')
		return -EINVAL;
	if (s->flags & STORE_READONLY)
		return -EROFS;
	LOCKED(s, rc, store__be_annotate(s->conn, a, id, &err));
	return logged(s, rc, err, false, "add an annotation to");
}

int store_annotations(struct store *s, int64_t from_ms, int64_t to_ms,
		      struct store_annotation **out, size_t *n)
{
	char *err = NULL;
	int rc = 0;

	LIST_START(s, out, n);
	LOCKED(s, rc, store__be_annotations(s->conn, from_ms, to_ms, out, n, &err));
	return logged(s, rc, err, false, "read annotations from");
}

/*
 * How long to leave the database alone after a retention step that took ns:
 * as long again (at least 1 ms, at most STORE__RETENTION_PAUSE_MAX_MS).
 * Releasing the locks is not enough: a mutex handed back at once is mostly
 * retaken by the thread that released it, and another process's SQLite
 * waits by sleeping and polling (1, 2, 5 ... 100 ms), so without a pause
 * the writer and the CLI would wait until the whole pass is over.
 */
static unsigned retention_pause_ms(uint64_t ns)
{
	uint64_t ms = ns / 1000000 + 1;

	return ms < STORE__RETENTION_PAUSE_MAX_MS ? (unsigned)ms : STORE__RETENTION_PAUSE_MAX_MS;
}

/*
 * Calls the backend's retention step until the pass is complete, taking
 * db_lock for each step only and pausing between steps (retention_pause_ms),
 * so that the writer thread, other callers and other processes get the
 * database meanwhile. raw_ms and hourly_ms must be positive, batch is
 * capped at STORE__RETENTION_BATCH_MAX; a read-only store gives -EROFS.
 */
int store_retention_run(struct store *s, const struct store_retention *r, int64_t now_ms,
			struct store_retention_stats *st)
{
	struct store__retention_pass p = { .now_ms = now_ms };
	char *err = NULL;
	int rc = 0;

	if (st != NULL)
		memset(st, 0, sizeof(*st));
	if (s == NULL || r == NULL || r->raw_ms <= 0 || r->hourly_ms <= 0 || r->batch < 0)
		return -EINVAL;
	if (s->flags & STORE_READONLY)
		return -EROFS;
	p.r = *r;
	if (p.r.batch == 0)
		p.r.batch = STORE__RETENTION_BATCH;
	if (p.r.batch > STORE__RETENTION_BATCH_MAX)
		p.r.batch = STORE__RETENTION_BATCH_MAX;
	uint64_t began = uv_hrtime();
	for (;;) {
		uint64_t start = uv_hrtime();

		LOCKED(s, rc, store__be_retention_step(s->conn, &p, &err));
		rc = logged(s, rc, err, false, "apply retention to");
		err = NULL;
		if (rc <= 0)
			break;
		/* A stopping daemon must not wait for a large backlog: the marks let the next pass resume. */
		if ((r->cancel != NULL && atomic_load(r->cancel)) ||
		    (r->budget_ms > 0 && (uv_hrtime() - began) / 1000000 >= (uint64_t)r->budget_ms)) {
			p.st.more = true;
			rc = 0;
			break;
		}
		uv_sleep(retention_pause_ms(uv_hrtime() - start));
	}
	if (st != NULL)
		*st = p.st;
	return rc;
}
