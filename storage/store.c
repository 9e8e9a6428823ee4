/* store.c - opening and closing a store, choosing its backend by path, and the readers. */
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
	if (out == NULL || s == NULL || probe == NULL) {
		rc = -EINVAL;
		goto out;
	}
	uv_mutex_lock(&s->db_lock);
	rc = store__be_probe_status(s->conn, probe, now_ms, out, &err);
	uv_mutex_unlock(&s->db_lock);
	if (rc < 0) {
		store__logf(s, LOG_ERR, "cannot read the status of %s from %s: %s", probe,
			    s->path, err);
		store_status_clear(out);
	}
out:
	free(err);
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
