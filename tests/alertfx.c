/* alertfx.c - starts the fake alert receivers and talks to them over loopback with a tiny blocking HTTP client. */
#include "tests/alertfx.h"
#include "tests/tests.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define START_MS 5000
#define REQUEST_MS 5000
#define MAX_ANSWER (16u << 20)

extern char **environ;

/*
 * Like t_spawn, but the child asks to be killed when its parent goes: in
 * Check's fork mode a failed assertion exits the test process without
 * running teardown, and the receiver must not outlive it.
 */
static pid_t spawn_tied(char *const argv[], int *out_fd)
{
	pid_t parent = getpid();
	int out[2];

	ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
			_exit(127);
		dup2(out[1], STDOUT_FILENO);
		execve(argv[0], argv, environ);
		_exit(127);
	}
	close(out[1]);
	*out_fd = out[0];
	return pid;
}

pid_t t_alertfx_start(int *port)
{
	const char *bin = getenv("FAKEAPI_BIN");
	char *argv[] = { (char *)(bin ? bin : "build/fakeapi"), "--port", "0", "--instatus-key",
			 T_ALERTFX_INSTATUS_KEY, NULL };
	char *acc = NULL;
	int fd;
	pid_t pid = spawn_tied(argv, &fd);
	bool ok = t_read_until(fd, "\n", 1, START_MS, &acc);

	close(fd);
	if (!ok || acc == NULL || sscanf(acc, "PORT %d", port) != 1) {
		free(acc);
		t_kill(pid);
		ck_abort_msg("the fake alert receiver did not start");
	}
	free(acc);
	return pid;
}

void t_alertfx_stop(pid_t pid)
{
	t_fakeapi_stop(pid);
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int t_alertfx_send(int port, const char *method, const char *path, const char *headers, const char *body)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	size_t blen = body ? strlen(body) : 0;
	char *req = NULL;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, n;

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	n = asprintf(&req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n"
			   "Content-Length: %zu\r\n%s\r\n%s",
		     method, path, port, blen, headers ? headers : "", body ? body : "");
	if (n < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || write_all(fd, req, (size_t)n) != 0) {
		free(n < 0 ? NULL : req);
		close(fd);
		return -1;
	}
	free(req);
	return fd;
}

/* The Content-Length of a header block, or -1 when it has none. */
static long long content_length(const char *head)
{
	for (const char *p = strstr(head, "\r\n"); p && p[2] != '\r'; p = strstr(p + 2, "\r\n"))
		if (strncasecmp(p + 2, "content-length:", 15) == 0)
			return strtoll(p + 17, NULL, 10);
	return -1;
}

/* Splits buf (len bytes) into out; false if the header block is not complete or not HTTP. */
static bool parse_answer(const char *buf, size_t len, bool eof, struct t_alertfx_resp *out)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4);
	size_t hlen, blen;
	long long clen;
	int status;

	if (!end || sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
		return false;
	hlen = (size_t)(end - buf) + 2;
	out->head = strndup(buf, hlen);
	if (!out->head)
		return false;
	clen = content_length(out->head);
	blen = len - hlen - 2;
	if (clen >= 0 ? (size_t)clen > blen : !eof) {
		free(out->head);
		out->head = NULL;
		return false;
	}
	if (clen >= 0)
		blen = (size_t)clen;
	out->body = strndup(end + 4, blen);
	out->body_len = blen;
	out->status = out->body ? status : -1;
	return out->body != NULL;
}

int t_alertfx_recv(int fd, int timeout_ms, struct t_alertfx_resp *out)
{
	int64_t deadline = t_mono_ms() + timeout_ms;
	size_t len = 0, cap = 65536;
	char *buf = calloc(1, cap);
	bool eof = false;

	memset(out, 0, sizeof(*out));
	out->status = -1;
	while (buf && !eof && !parse_answer(buf, len, false, out)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - t_mono_ms();
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		if (len + 4096 > cap) {
			char *nb = cap < MAX_ANSWER ? realloc(buf, cap *= 2) : NULL;
			if (!nb)
				break;
			buf = nb;
		}
		ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			eof = true;
		else
			len += (size_t)r;
		buf[len] = '\0';	/* parse_answer's sscanf reads a string */
	}
	/* A body without Content-Length ends at EOF. */
	if (buf && eof && out->status < 0)
		parse_answer(buf, len, true, out);
	free(buf);
	close(fd);
	return out->status;
}

int t_alertfx_request(int port, const char *method, const char *path, const char *headers, const char *body,
		      int timeout_ms, struct t_alertfx_resp *out)
{
	int fd = t_alertfx_send(port, method, path, headers, body);

	if (fd < 0) {
		memset(out, 0, sizeof(*out));
		out->status = -1;
		return -1;
	}
	return t_alertfx_recv(fd, timeout_ms, out);
}

bool t_alertfx_header(const struct t_alertfx_resp *r, const char *name, char *out, size_t size)
{
	size_t n = strlen(name);

	for (const char *p = r->head ? strstr(r->head, "\r\n") : NULL; p && p[2] != '\0'; p = strstr(p + 2, "\r\n")) {
		const char *line = p + 2, *eol = strstr(line, "\r\n");
		if (eol && strncasecmp(line, name, n) == 0 && line[n] == ':') {
			const char *v = line + n + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			snprintf(out, size, "%.*s", (int)(eol - v), v);
			return true;
		}
	}
	return false;
}

void t_alertfx_resp_free(struct t_alertfx_resp *r)
{
	free(r->head);
	free(r->body);
	r->head = r->body = NULL;
}

int t_alertfx_script(int port, const char *json)
{
	struct t_alertfx_resp r;
	int status = t_alertfx_request(port, "POST", "/_alerts/script", "Content-Type: application/json\r\n",
				       json, REQUEST_MS, &r);

	t_alertfx_resp_free(&r);
	return status;
}

int t_alertfx_reset(int port)
{
	struct t_alertfx_resp r;
	int status = t_alertfx_request(port, "POST", "/_alerts/reset", NULL, NULL, REQUEST_MS, &r);

	t_alertfx_resp_free(&r);
	return status;
}

/* GETs path and parses a 200 answer's body as JSON. New reference, NULL on error. */
static json_t *get_json(int port, const char *path, int timeout_ms)
{
	struct t_alertfx_resp r;
	json_t *j = NULL;

	if (t_alertfx_request(port, "GET", path, NULL, NULL, timeout_ms, &r) == 200)
		j = json_loadb(r.body, r.body_len, 0, NULL);
	t_alertfx_resp_free(&r);
	return j;
}

json_t *t_alertfx_log(int port, const char *route)
{
	char path[256];

	snprintf(path, sizeof(path), "/_alerts/log%s%s", route ? "?route=" : "", route ? route : "");
	return get_json(port, path, REQUEST_MS);
}

json_t *t_alertfx_wait(int port, const char *route, int count, int status, int timeout_ms)
{
	char path[256];

	snprintf(path, sizeof(path), "/_alerts/wait?count=%d&status=%d&timeout_ms=%d%s%s", count, status,
		 timeout_ms, route ? "&route=" : "", route ? route : "");
	/* The receiver answers at its own timeout; the margin covers a slow (sanitised) build. */
	return get_json(port, path, timeout_ms + REQUEST_MS);
}
