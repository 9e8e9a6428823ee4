/* ctlclient.c - a raw client of the daemon's control socket for tests. */
#include "tests/ctlclient.h"
#include "tests/tests.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct t_ctl *t_ctl_open(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct t_ctl *c = calloc(1, sizeof(*c));
	/* The daemon listens just after it logs that it runs: a moment may pass. */
	int64_t end = t_mono_ms() + 2000;

	ck_assert_ptr_nonnull(c);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(c->fd, 0);
	ck_assert_uint_lt(strlen(path), sizeof(a.sun_path));
	memcpy(a.sun_path, path, strlen(path) + 1);
	while (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		ck_assert_msg((errno == ENOENT || errno == ECONNREFUSED) && t_mono_ms() < end, "connect %s: %s", path,
			      strerror(errno));
		struct timespec ts = { 0, 5 * 1000000 };
		nanosleep(&ts, NULL);
	}
	return c;
}

void t_ctl_close(struct t_ctl *c)
{
	close(c->fd);
	free(c);
}

bool t_ctl_send(struct t_ctl *c, const char *data, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t w = send(c->fd, data + off, len - off, MSG_NOSIGNAL);
		if (w < 0 && (errno == EPIPE || errno == ECONNRESET))
			return false;
		ck_assert_msg(w > 0, "write: %s", strerror(errno));
		off += (size_t)w;
	}
	return true;
}

bool t_ctl_sendl(struct t_ctl *c, const char *line)
{
	return t_ctl_send(c, line, strlen(line)) && t_ctl_send(c, "\n", 1);
}

json_t *t_ctl_read(struct t_ctl *c, int timeout_ms, bool *eof)
{
	int64_t end = t_mono_ms() + timeout_ms;
	char *nl;

	*eof = false;
	while ((nl = memchr(c->buf, '\n', c->len)) == NULL) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		int64_t left = end - t_mono_ms();
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return NULL;
		ssize_t r = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (r <= 0) {
			*eof = true;
			return NULL;
		}
		c->len += (size_t)r;
		ck_assert_uint_lt(c->len, sizeof(c->buf));
	}
	json_error_t jerr;
	json_t *v = json_loadb(c->buf, (size_t)(nl - c->buf), 0, &jerr);
	ck_assert_msg(v != NULL, "the answer is not JSON (%s): %.*s", jerr.text, (int)(nl - c->buf), c->buf);
	ck_assert_msg(json_is_object(v), "the answer is not an object: %.*s", (int)(nl - c->buf), c->buf);
	c->len -= (size_t)(nl + 1 - c->buf);
	memmove(c->buf, nl + 1, c->len);
	return v;
}

json_t *t_ctl_call(struct t_ctl *c, const char *line, int timeout_ms)
{
	bool eof;
	json_t *v;

	t_ctl_sendl(c, line);
	v = t_ctl_read(c, timeout_ms, &eof);
	ck_assert_msg(v != NULL, "no answer to %.80s (%s)", line, eof ? "closed" : "timed out");
	return v;
}
