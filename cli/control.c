/* control.c - the client side of the daemon's control socket: one request line out, one answer line back. */
#include "cli/cli_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* The longest answer read: a run-now result with many steps is a few KiB; this bounds a confused peer. */
#define ANSWER_MAX (16 * 1024 * 1024)

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events or the deadline passes. Returns 0, -ETIMEDOUT or a negative error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - mono_ms();
		struct pollfd p = { .fd = fd, .events = events };
		if (left <= 0)
			return -ETIMEDOUT;
		int r = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

/*
 * Connects to the socket at path. A Unix socket connects at once or fails at
 * once, except when the daemon's backlog is full: then Linux says EAGAIN and,
 * unlike TCP, does not go on connecting in the background, so we try again
 * shortly, until the deadline.
 */
static int connect_unix(const char *path, int64_t deadline, int *out)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd, err = 0;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	memcpy(a.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	while (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			err = -errno;
			break;
		}
		if (mono_ms() >= deadline) {
			err = -ETIMEDOUT;
			break;
		}
		poll(NULL, 0, 10);
	}
	if (err < 0) {
		close(fd);
		return err;
	}
	*out = fd;
	return 0;
}

static int send_all(int fd, const char *buf, size_t len, int64_t deadline)
{
	while (len > 0) {
		/* MSG_NOSIGNAL: a daemon that went away is an error here, not a SIGPIPE. */
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return -errno;
		if (n < 0) {
			int rc = wait_fd(fd, POLLOUT, deadline);
			if (rc < 0)
				return rc;
			continue;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads one line (without its "\n") into *line (new). An end before the newline is -ECONNRESET. */
static int read_line(int fd, int64_t deadline, char **line, size_t *out_len)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int rc = 0;

	for (;;) {
		char *nl = len ? memchr(buf, '\n', len) : NULL;
		if (nl) {
			*nl = '\0';
			*line = buf;
			*out_len = (size_t)(nl - buf);
			return 0;
		}
		if (len + 4096 + 1 > cap) {
			size_t ncap = cap ? cap * 2 : 8192;
			char *n = ncap <= ANSWER_MAX ? realloc(buf, ncap) : NULL;
			if (n == NULL) {
				rc = ncap > ANSWER_MAX ? -EMSGSIZE : -ENOMEM;
				break;
			}
			buf = n;
			cap = ncap;
		}
		ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
		if (r > 0) {
			len += (size_t)r;
			continue;
		}
		if (r == 0) {
			rc = -ECONNRESET;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			rc = -errno;
			break;
		}
		if ((rc = wait_fd(fd, POLLIN, deadline)) < 0)
			break;
	}
	free(buf);
	return rc;
}

int cli_control_call(const char *socket_path, const json_t *req, int timeout_ms, json_t **answer)
{
	int64_t deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	char *text = json_dumps(req, JSON_COMPACT), *line = NULL;
	size_t len = 0;
	int fd = -1, rc;
	json_t *a = NULL;

	*answer = NULL;
	if (text == NULL)
		return -ENOMEM;
	rc = connect_unix(socket_path, deadline, &fd);
	if (rc == 0) {
		/* json_dumps never writes a raw newline: the line ends where the request does. */
		size_t n = strlen(text);
		text[n] = '\n';
		rc = send_all(fd, text, n + 1, deadline);
		text[n] = '\0';
	}
	if (rc == 0)
		rc = read_line(fd, deadline, &line, &len);
	if (rc == 0) {
		a = json_loadb(line, len, 0, NULL);
		rc = json_is_object(a) ? 0 : -EPROTO;
	}
	/*
	 * A peer the daemon's SO_PEERCRED check refuses gets an answer, not a
	 * connect error; it means what a socket we may not open means.
	 */
	if (rc == 0 && !json_is_true(json_object_get(a, "ok")) &&
	    json_is_string(json_object_get(a, "error")) &&
	    strcmp(json_string_value(json_object_get(a, "error")), "permission denied") == 0)
		rc = -EACCES;
	if (rc == 0)
		*answer = json_incref(a);
	json_decref(a);
	free(line);
	free(text);
	if (fd >= 0)
		close(fd);
	return rc;
}
