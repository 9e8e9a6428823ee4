/* helpers.c - what the integration tests share: temp dirs, child processes, the fixture API, direct SQLite access. */
#include "tests/tests.h"
#include "storage/storage.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

extern char **environ;

char *t_tmpdir(void)
{
	char tmpl[] = "/tmp/canary-test-XXXXXX";
	char *d = mkdtemp(tmpl);

	ck_assert_ptr_nonnull(d);
	return strdup(d);
}

void t_rmrf(const char *path)
{
	DIR *dir = opendir(path);
	struct dirent *e;

	if (dir == NULL) {
		unlink(path);
		return;
	}
	while ((e = readdir(dir)) != NULL) {
		char sub[4096];
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
		t_rmrf(sub);
	}
	closedir(dir);
	rmdir(path);
}

void t_writef(const char *dir, const char *name, const char *fmt, ...)
{
	char path[4096];
	va_list ap;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	ck_assert_msg(f != NULL, "cannot write %s", path);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

char *t_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (n + 65536 + 1 > cap) {
			cap = (n + 65536 + 1) * 2;
			buf = realloc(buf, cap);
		}
		size_t r = fread(buf + n, 1, 65536, f);
		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

pid_t t_spawn(char *const argv[], char *const envp_extra[], int *out_fd, int *err_fd)
{
	int out[2] = { -1, -1 }, err[2] = { -1, -1 };

	if (out_fd)
		ck_assert_int_eq(pipe2(out, O_CLOEXEC), 0);
	if (err_fd)
		ck_assert_int_eq(pipe2(err, O_CLOEXEC), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (out_fd)
			dup2(out[1], STDOUT_FILENO);
		if (err_fd)
			dup2(err[1], STDERR_FILENO);
		for (size_t i = 0; envp_extra && envp_extra[i]; i++)
			putenv(envp_extra[i]);
		execve(argv[0], argv, environ);
		_exit(127);
	}
	if (out_fd) {
		close(out[1]);
		*out_fd = out[0];
	}
	if (err_fd) {
		close(err[1]);
		*err_fd = err[0];
	}
	return pid;
}

int t_wait(pid_t pid, int timeout_ms)
{
	int fd = (int)syscall(SYS_pidfd_open, pid, 0), status;

	if (fd >= 0) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int r = poll(&p, 1, timeout_ms);
		close(fd);
		if (r == 0)
			return -1;
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void t_kill(pid_t pid)
{
	if (pid <= 0)
		return;
	if (kill(pid, SIGKILL) == 0)
		waitpid(pid, NULL, 0);
}

int64_t t_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool t_poll_again(int64_t deadline)
{
	struct timespec ts = { 0, 20 * 1000000 };

	if (t_mono_ms() >= deadline)
		return false;
	nanosleep(&ts, NULL);
	return true;
}

/* Appends what fd has to *acc; returns bytes read, 0 at EOF, -1 on error. */
static ssize_t drain(int fd, char **acc, size_t *len)
{
	char buf[65536];
	ssize_t r = read(fd, buf, sizeof(buf));

	if (r <= 0)
		return r;
	*acc = realloc(*acc, *len + (size_t)r + 1);
	memcpy(*acc + *len, buf, (size_t)r);
	*len += (size_t)r;
	(*acc)[*len] = '\0';
	return r;
}

static int count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay ? strstr(hay, needle) : NULL; p; p = strstr(p + 1, needle))
		n++;
	return n;
}

bool t_read_until(int fd, const char *needle, int count, int timeout_ms, char **acc)
{
	size_t len = *acc ? strlen(*acc) : 0;
	int64_t end = t_mono_ms() + timeout_ms;

	while (count_of(*acc, needle) < count) {
		int64_t left = end - t_mono_ms();
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return false;
		if (drain(fd, acc, &len) <= 0)
			return count_of(*acc, needle) >= count;
	}
	return true;
}

int t_run(char *const argv[], char *const envp_extra[], char **out, char **err, int timeout_ms)
{
	int ofd, efd;
	size_t olen = 0, elen = 0;
	pid_t pid = t_spawn(argv, envp_extra, &ofd, &efd);
	int64_t end = t_mono_ms() + timeout_ms;
	bool oopen = true, eopen = true;

	*out = calloc(1, 1);
	*err = calloc(1, 1);
	while (oopen || eopen) {
		struct pollfd p[2] = { { .fd = oopen ? ofd : -1, .events = POLLIN },
				       { .fd = eopen ? efd : -1, .events = POLLIN } };
		int64_t left = end - t_mono_ms();
		if (left <= 0 || poll(p, 2, (int)left) <= 0)
			break;
		if (p[0].revents && drain(ofd, out, &olen) <= 0)
			oopen = false;
		if (p[1].revents && drain(efd, err, &elen) <= 0)
			eopen = false;
	}
	close(ofd);
	close(efd);
	int64_t left = end - t_mono_ms();
	int status = t_wait(pid, left > 0 ? (int)left : 0);
	if (status < 0)
		t_kill(pid);
	return status;
}

const char *t_canary_bin(void)
{
	const char *b = getenv("CANARY_BIN");

	return b ? b : "build/canary";
}

pid_t t_fakeapi_start(int *port)
{
	return t_fakeapi_start_pw(port, "secret");
}

pid_t t_fakeapi_start_pw(int *port, const char *password)
{
	const char *bin = getenv("FAKEAPI_BIN");
	char *argv[] = { (char *)(bin ? bin : "build/fakeapi"), "--port", "0", "--password", (char *)password, NULL };
	char *acc = NULL;
	int fd;
	pid_t pid = t_spawn(argv, NULL, &fd, NULL);

	bool ok = t_read_until(fd, "\n", 1, 5000, &acc);
	close(fd);
	if (!ok || acc == NULL || sscanf(acc, "PORT %d", port) != 1) {
		free(acc);
		t_kill(pid);
		ck_abort_msg("the fixture API did not start");
	}
	free(acc);
	return pid;
}

void t_fakeapi_stop(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	if (t_wait(pid, 5000) < 0)
		t_kill(pid);
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
	(void)p;
	(void)ud;
	return size * n;
}

long t_http_post(int port, const char *path, const char *body)
{
	char url[256];
	long status = -1;
	CURL *c = curl_easy_init();

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	return status;
}

int t_closed_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

sqlite3 *t_db_open(const char *path)
{
	sqlite3 *db = NULL;

	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
					 NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	return db;
}

void t_db_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	ck_assert_msg(rc == SQLITE_OK, "%s: %s", sql, msg ? msg : "?");
}

int64_t t_db_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
		      sqlite3_errmsg(db));
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

int64_t t_db_file_int(const char *path, const char *sql)
{
	sqlite3 *db = t_db_open(path);
	int64_t n = t_db_int(db, sql);

	sqlite3_close(db);
	return n;
}

struct store *t_store_open(const struct store_opts *o)
{
	struct store *s = NULL;
	char *err = NULL;
	int rc = store_open(o, &s, &err);

	ck_assert_msg(rc == 0, "store_open: %d (%s)", rc, err ? err : "no message");
	ck_assert_ptr_null(err);
	ck_assert_ptr_nonnull(s);
	return s;
}

bool t_store_wait_failing(struct store *s, bool want, int max_ms)
{
	struct store_stats st;

	for (int waited = 0; waited <= max_ms; waited += 10) {
		store_get_stats(s, &st);
		if (st.failing == want)
			return true;
		uv_sleep(10);
	}
	return false;
}

int t_canary_run(char **out, char **err, ...)
{
	char *argv[32] = { (char *)t_canary_bin() };
	va_list ap;
	int n = 1;

	va_start(ap, err);
	for (char *a; n < 31 && (a = va_arg(ap, char *)) != NULL;)
		argv[n++] = a;
	va_end(ap);
	ck_assert_msg(n < 31, "t_canary_run: too many arguments");
	argv[n] = NULL;
	return t_run(argv, NULL, out, err, 10000);
}

json_t *t_json(const char *text)
{
	json_error_t jerr;
	json_t *j = json_loads(text, 0, &jerr);

	ck_assert_msg(j != NULL, "%s: %s", jerr.text, text);
	return j;
}

void t_assert_in_order(const char *hay, const char *const *needles, size_t n)
{
	const char *at = hay;

	for (size_t i = 0; i < n; i++) {
		const char *p = strstr(at, needles[i]);
		ck_assert_msg(p != NULL, "\"%s\" missing (or out of order) in:\n%s", needles[i], hay);
		at = p + strlen(needles[i]);
	}
}

char *t_time_fmt(int64_t ms, const char *fmt, char *buf, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, fmt, &tm);
	return buf;
}

void t_daemon_start(struct t_daemon *d, const char *cfgpath, char *const env_extra[])
{
	char *argv[] = { (char *)t_canary_bin(), "run", "-c", (char *)cfgpath, "-v", NULL };

	d->log = NULL;
	d->pid = t_spawn(argv, env_extra, NULL, &d->efd);
	ck_assert_int_gt(d->pid, 0);
}

void t_daemon_expect(struct t_daemon *d, const char *needle, int count, int timeout_ms)
{
	bool seen = t_read_until(d->efd, needle, count, timeout_ms, &d->log);

	ck_assert_msg(seen, "no \"%s\" (x%d) in the daemon's log:\n%s", needle, count, d->log ? d->log : "");
}

void t_daemon_stop(struct t_daemon *d)
{
	kill(d->pid, SIGTERM);
	int st = t_wait(d->pid, 8000);
	if (st < 0)
		t_kill(d->pid);
	t_read_until(d->efd, "\n\n", 1, 1000, &d->log); /* the rest, up to EOF */
	close(d->efd);
	ck_assert_msg(st == 0, "exit status %d:\n%s", st, d->log ? d->log : "");
	free(d->log);
	d->log = NULL;
}

int64_t t_db_intf(sqlite3 *db, const char *fmt, ...)
{
	char sql[2048];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	ck_assert_msg(n >= 0 && (size_t)n < sizeof(sql), "t_db_intf: the query is too long");
	return t_db_int(db, sql);
}
