/* control.c - the control socket: line-delimited JSON requests from local operators, one answer per line. */
#include "daemon/daemon_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_LINE (64 * 1024)
#define READ_CHUNK 4096
#define MAX_CONNS 64
#define MAX_BACKLOG (256 * 1024) /* answers not yet taken by the client, in bytes */

/*
 * One client. Requests are handled one at a time, so answers go out in
 * order: while one waits (reload, run-now), reading stops and what is
 * buffered waits too. The struct lives until its handle has closed and no
 * request of it is pending, whichever comes last.
 */
struct daemon__conn {
	uv_pipe_t pipe;
	struct daemon *d;
	struct daemon__conn *prev, *next;
	struct daemon__pending pend;
	char *buf;                   /* what was read and not yet handled */
	size_t len, cap;
	int writes;                  /* answers not yet written */
	bool busy;                   /* pend waits for its answer */
	bool reading;
	bool eof;                    /* the client sends nothing more */
	bool closing;                /* closes once its answers are out */
	bool closed;                 /* uv_close was called */
	bool handle_closed;         /* its close callback has run */
};

struct write_req {
	uv_write_t req;
	struct daemon__conn *c;
	char *text;                  /* owned */
};

static void process(struct daemon__conn *c);

static void conn_free(struct daemon__conn *c)
{
	struct daemon__control *ctl = &c->d->control;

	if (c->prev)
		c->prev->next = c->next;
	else
		ctl->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	ctl->nconns--;
	free(c->buf);
	free(c);
}

static void on_conn_closed(uv_handle_t *h)
{
	struct daemon__conn *c = h->data;

	c->handle_closed = true;
	/* A pending request still points here: freed when it is answered. */
	if (!c->busy)
		conn_free(c);
}

static void conn_close_now(struct daemon__conn *c)
{
	if (c->closed)
		return;
	c->closed = c->closing = true;
	uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
}

/* Closes c once the answers queued are written and the one pending (if any) has come. */
static void conn_close(struct daemon__conn *c)
{
	c->closing = true;
	if (c->reading) {
		uv_read_stop((uv_stream_t *)&c->pipe);
		c->reading = false;
	}
	if (c->writes == 0 && !c->busy)
		conn_close_now(c);
}

static void on_written(uv_write_t *req, int status)
{
	struct write_req *w = daemon__container_of(req, struct write_req, req);
	struct daemon__conn *c = w->c;

	free(w->text);
	free(w);
	c->writes--;
	if (status < 0 || c->closing)
		conn_close(c); /* the client has gone, or c closes once its answers are out */
	else if (!c->busy)
		process(c); /* requests held back while the client was not reading */
}

/* Writes answer (stolen; NULL: out of memory) as one line. */
static void send_answer(struct daemon__conn *c, json_t *answer)
{
	struct write_req *w = NULL;
	/* 12 digits: latencies read 0.036, not 0.035999999999999997. */
	char *text = answer ? json_dumps(answer, JSON_COMPACT | JSON_REAL_PRECISION(12)) : NULL;

	json_decref(answer);
	if (c->closed)
		goto drop;
	if (text == NULL)
		text = strdup("{\"ok\":false,\"error\":\"out of memory\"}");
	if (text == NULL || (w = calloc(1, sizeof(*w))) == NULL)
		goto drop;
	/* json_dumps never writes a raw newline: the line ends here. */
	size_t n = strlen(text);
	char *line = realloc(text, n + 2);
	if (line == NULL)
		goto drop;
	text = line;
	text[n] = '\n';
	text[n + 1] = '\0';
	w->c = c;
	w->text = text;
	uv_buf_t b = uv_buf_init(text, (unsigned)(n + 1));
	if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, on_written) == 0) {
		c->writes++;
		return;
	}
drop:
	free(text);
	free(w);
	if (!c->closed)
		conn_close(c);
}

/* {"ok": false, "error": msg}; bytes of msg that are not printable ASCII become '?', as they may echo input. */
static json_t *error_answer(const char *msg)
{
	char buf[512];
	size_t n = 0;

	for (; msg[n] != '\0' && n < sizeof(buf) - 1; n++)
		buf[n] = msg[n] >= 0x20 && msg[n] < 0x7f ? msg[n] : '?';
	buf[n] = '\0';
	return json_pack("{s:b, s:s}", "ok", 0, "error", buf);
}

static void on_pending_answer(struct daemon__pending *p, json_t *answer)
{
	struct daemon__conn *c = daemon__container_of(p, struct daemon__conn, pend);

	c->busy = false;
	send_answer(c, answer);
	if (c->handle_closed)
		conn_free(c);
	else if (c->d->control.closing)
		conn_close_now(c); /* the daemon exits: the answer went out if the client had room for it */
	else if (c->closing)
		conn_close(c);
	else
		process(c);
}

/* ------------------------------------------------------------------ commands */

static json_t *cmd_status(struct daemon__conn *c, json_t *req)
{
	(void)req;
	return daemon__status_json(c->d);
}

static json_t *cmd_reload(struct daemon__conn *c, json_t *req)
{
	int rc;

	(void)req;
	if (c->d->stopping)
		return error_answer("canary is stopping");
	if ((rc = daemon__reload_request(c->d, &c->pend)) < 0)
		return error_answer(strerror(-rc));
	c->busy = true;
	return NULL;
}

static json_t *cmd_run_now(struct daemon__conn *c, json_t *req)
{
	const char *name = json_string_value(json_object_get(req, "probe"));
	struct daemon__entry *en;
	int rc;

	if (name == NULL)
		return error_answer("run-now needs \"probe\": the name of a probe");
	if (c->d->stopping)
		return error_answer("canary is stopping");
	/* name is valid UTF-8 (jansson checked it), so it may be echoed whole. */
	if ((en = daemon__sched_find(&c->d->sched, name)) == NULL)
		return json_pack("{s:b, s:s++}", "ok", 0, "error", "no probe named \"", name, "\"");
	if ((rc = daemon__sched_run_now(&c->d->sched, en, &c->pend)) < 0)
		return json_pack("{s:b, s:s+++}", "ok", 0, "error", "cannot start a run of ", name, ": ",
				 uv_strerror(rc));
	c->busy = true;
	return NULL;
}

/* The commands, by name; each answers at once, or returns NULL having made c busy. */
static const struct command {
	const char *name;
	json_t *(*fn)(struct daemon__conn *c, json_t *req);
} commands[] = {
	{ "status", cmd_status },
	{ "reload", cmd_reload },
	{ "run-now", cmd_run_now },
};

static void handle_line(struct daemon__conn *c, const char *line, size_t len)
{
	json_error_t jerr;
	json_t *req = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr), *answer = NULL;
	const char *cmd;
	char msg[300];

	if (req == NULL) {
		snprintf(msg, sizeof(msg), "not JSON: %s", jerr.text);
		answer = error_answer(msg);
	} else if (!json_is_object(req)) {
		answer = error_answer("a request must be a JSON object such as {\"cmd\": \"status\"}");
	} else if ((cmd = json_string_value(json_object_get(req, "cmd"))) == NULL) {
		answer = error_answer("a request needs \"cmd\": \"reload\", \"run-now\" or \"status\"");
	} else {
		size_t i = 0;
		while (i < sizeof(commands) / sizeof(commands[0]) && strcmp(commands[i].name, cmd) != 0)
			i++;
		if (i < sizeof(commands) / sizeof(commands[0])) {
			answer = commands[i].fn(c, req);
		} else {
			snprintf(msg, sizeof(msg), "unknown cmd \"%.100s\" (reload, run-now or status)", cmd);
			answer = error_answer(msg);
		}
	}
	json_decref(req);
	if (!c->busy)
		send_answer(c, answer);
}

/* ------------------------------------------------------------------ reading */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct daemon__conn *c = h->data;

	(void)suggested;
	if (c->cap - c->len < READ_CHUNK) {
		char *n = realloc(c->buf, c->len + READ_CHUNK);
		if (n == NULL) {
			*b = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS */
			return;
		}
		c->buf = n;
		c->cap = c->len + READ_CHUNK;
	}
	*b = uv_buf_init(c->buf + c->len, (unsigned)(c->cap - c->len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
	struct daemon__conn *c = s->data;

	(void)b;
	if (nread == UV_EOF) {
		c->eof = true;
	} else if (nread < 0) {
		conn_close(c);
		return;
	}
	c->len += nread > 0 ? (size_t)nread : 0;
	process(c);
}

/* A client that sends requests but does not read the answers is not answered further until it does. */
static bool backlogged(struct daemon__conn *c)
{
	return uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) > MAX_BACKLOG;
}

/* Handles every complete line buffered, one request at a time, then reads on (or closes). */
static void process(struct daemon__conn *c)
{
	while (!c->busy && !c->closing && !backlogged(c)) {
		char *nl = c->len > 0 ? memchr(c->buf, '\n', c->len) : NULL;
		size_t n = nl ? (size_t)(nl - c->buf) : c->len;
		if (n > MAX_LINE) {
			send_answer(c, error_answer("request line over 64 KiB"));
			conn_close(c);
			return;
		}
		if (nl == NULL && !(c->eof && c->len > 0))
			break;
		/* The last line may end without a newline when the client has shut its side. */
		handle_line(c, c->buf, n && c->buf[n - 1] == '\r' ? n - 1 : n);
		size_t used = nl ? n + 1 : n;
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
	}
	if (c->closing)
		return;
	bool held = c->busy || backlogged(c);
	if (c->eof && !held) {
		conn_close(c); /* every line is answered */
	} else if (held || c->eof) {
		if (c->reading)
			uv_read_stop((uv_stream_t *)&c->pipe);
		c->reading = false;
	} else if (!c->reading) {
		if (uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) == 0)
			c->reading = true;
		else
			conn_close(c);
	}
}

/* ------------------------------------------------------------------ accepting */

/*
 * Is gid among the peer's supplementary groups (as they were when it
 * connected)? SO_PEERGROUPS needs Linux 4.13; where it is missing, false.
 */
static bool peer_in_group(int fd, gid_t gid)
{
	bool found = false;
#ifdef SO_PEERGROUPS
	gid_t few[32], *v = few;
	socklen_t len = sizeof(few);
	int rc = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, v, &len);

	/* ERANGE sets len to the room the list needs; the list is fixed at connect, so one retry does. */
	if (rc < 0 && errno == ERANGE && len > sizeof(few) && (v = malloc(len)) != NULL)
		rc = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, v, &len);
	for (size_t i = 0; rc == 0 && i < len / sizeof(*v) && !found; i++)
		found = v[i] == gid;
	if (v != few)
		free(v);
#else
	(void)fd;
	(void)gid;
#endif
	return found;
}

/* Root, our own uid, or a member of our group (primary or supplementary) may talk to us. */
static bool peer_allowed(struct daemon__conn *c)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	uv_os_fd_t fd;

	if (uv_fileno((uv_handle_t *)&c->pipe, &fd) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return false;
	return cr.uid == 0 || cr.uid == geteuid() || cr.gid == getegid() || peer_in_group(fd, getegid());
}

static void on_connection(uv_stream_t *server, int status)
{
	struct daemon *d = server->data;
	struct daemon__control *ctl = &d->control;
	struct daemon__conn *c;

	if (status < 0) {
		daemon_log(LOG_WARNING, "control socket: %s", uv_strerror(status));
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL || uv_pipe_init(&d->loop, &c->pipe, 0) < 0) {
		free(c);
		return;
	}
	c->d = d;
	c->pipe.data = c;
	c->pend.done = on_pending_answer;
	c->next = ctl->conns;
	if (ctl->conns)
		ctl->conns->prev = c;
	ctl->conns = c;
	ctl->nconns++;
	if (uv_accept(server, (uv_stream_t *)&c->pipe) < 0) {
		conn_close_now(c);
		return;
	}
	if (!peer_allowed(c)) {
		send_answer(c, error_answer("permission denied"));
		conn_close(c);
	} else if (ctl->nconns > MAX_CONNS) {
		send_answer(c, error_answer("too many connections"));
		conn_close(c);
	} else {
		process(c);
	}
}

/* ------------------------------------------------------------------ the socket */

/* Is a canary answering at path? Connecting tells: a stale file refuses. */
static bool someone_listens(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	/* Non-blocking: a canary that is alive but stuck, its backlog full, answers EAGAIN instead of hanging us. */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	bool yes;

	if (fd < 0)
		return false;
	memcpy(a.sun_path, path, strlen(path) + 1);
	yes = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 || errno == EAGAIN;
	close(fd);
	return yes;
}

static void unavailable(const char *path, const char *why)
{
	daemon_log(LOG_WARNING, "control socket unavailable: %s: %s; reload with SIGHUP", path, why);
}

int daemon__control_claim(struct daemon *d)
{
	const char *path = d->cfg0->control_socket;
	struct sockaddr_un a;
	struct stat st;

	if (strlen(path) >= sizeof(a.sun_path) || lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return 0; /* daemon__control_open says what is wrong with it */
	if (someone_listens(path)) {
		daemon_log(LOG_ERR, "another canary is running: it answers on %s", path);
		return -EADDRINUSE;
	}
	/* Left by a canary that did not stop cleanly. */
	unlink(path);
	return 0;
}

/* Why path's directory cannot hold the socket, or NULL (libuv reports a missing one as EACCES). */
static const char *dir_problem(const char *path, char *buf, size_t size)
{
	char *slash;
	struct stat st;

	snprintf(buf, size, "%s", path);
	if ((slash = strrchr(buf, '/')) == NULL)
		return NULL;
	slash[slash == buf ? 1 : 0] = '\0';
	if (stat(buf, &st) == 0)
		return NULL;
	snprintf(buf, size, "its directory: %s", strerror(errno));
	return buf;
}

void daemon__control_open(struct daemon *d)
{
	struct daemon__control *ctl = &d->control;
	const char *path = d->cfg0->control_socket;
	struct sockaddr_un a;
	char why[4200];
	int rc;

	if (strlen(path) >= sizeof(a.sun_path)) {
		unavailable(path, "the path is too long for a socket");
		return;
	}
	if (access(path, F_OK) == 0) {
		/* Only a socket that nobody answers on is removed, by daemon__control_claim. */
		unavailable(path, "it exists and is not a socket of ours");
		return;
	}
	if ((rc = uv_pipe_init(&d->loop, &ctl->server, 0)) < 0) {
		unavailable(path, uv_strerror(rc));
		return;
	}
	ctl->server.data = d;
	ctl->open = true;
	rc = uv_pipe_bind(&ctl->server, path);
	/* Bound with the umask's mode: the group may talk to us, no one else. */
	if (rc == 0 && chmod(path, 0660) < 0)
		rc = -errno;
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&ctl->server, 16, on_connection);
	if (rc < 0) {
		unavailable(path, dir_problem(path, why, sizeof(why)) ? why : uv_strerror(rc));
		/* Closing a bound pipe unlinks its path: a half-made socket is not left behind. */
		daemon__control_stop(d);
		return;
	}
	daemon_log(LOG_INFO, "control socket: listening on %s", path);
}

void daemon__control_stop(struct daemon *d)
{
	struct daemon__control *ctl = &d->control;

	if (!ctl->open)
		return;
	ctl->open = false;
	uv_close((uv_handle_t *)&ctl->server, NULL);
}

void daemon__control_close(struct daemon *d)
{
	daemon__control_stop(d);
	d->control.closing = true;
	for (struct daemon__conn *c = d->control.conns, *next; c != NULL; c = next) {
		next = c->next;
		/* One waiting for a reload gets its answer first ("canary is stopping"), then closes. */
		if (c->busy)
			conn_close(c);
		else
			conn_close_now(c);
	}
}
