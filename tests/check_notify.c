/* check_notify.c - systemd notify messages and the watchdog, read from a socket of our own. */
#include "tests/tests.h"
#include "daemon/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static char *dir;
static char sockpath[4096], cfgpath[4096];
static pid_t api_pid, daemon_pid;
static int api_port;

/* What arrived on our socket: every datagram, in order, with when it arrived. */
static struct {
	int fd;
	char **msg;      /* owned, NUL-terminated */
	int64_t *at_ms;  /* CLOCK_MONOTONIC */
	size_t n;
} ns = { .fd = -1 };

/* Binds a datagram socket at path, or at the abstract name when abstract. Returns the fd. */
static int bind_dgram(const char *name, bool abstract)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_uint_lt(n + 1, sizeof(sa.sun_path));
	memcpy(sa.sun_path + (abstract ? 1 : 0), name, n);
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	ck_assert_msg(bind(fd, (struct sockaddr *)&sa, len) == 0, "bind %s: %s", name, strerror(errno));
	return fd;
}

/* Receives one datagram from fd within timeout_ms into ns. False when none came. */
static bool recv_one(int timeout_ms)
{
	struct pollfd p = { .fd = ns.fd, .events = POLLIN };
	char buf[4096];

	if (poll(&p, 1, timeout_ms < 0 ? 0 : timeout_ms) <= 0)
		return false;
	ssize_t r = recv(ns.fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	if (r < 0)
		return false;
	buf[r] = '\0';
	ns.msg = realloc(ns.msg, (ns.n + 1) * sizeof(*ns.msg));
	ns.at_ms = realloc(ns.at_ms, (ns.n + 1) * sizeof(*ns.at_ms));
	ns.msg[ns.n] = strdup(buf);
	ns.at_ms[ns.n++] = t_mono_ms();
	return true;
}

/* True when one of msg's newline-separated lines is want (or, when want ends in '=', starts with it). */
static bool has_line(const char *msg, const char *want)
{
	size_t wn = strlen(want);
	bool prefix = wn > 0 && want[wn - 1] == '=';

	for (const char *l = msg; *l;) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) : strlen(l);
		if (prefix ? n >= wn && memcmp(l, want, wn) == 0 : n == wn && memcmp(l, want, wn) == 0)
			return true;
		if (e == NULL)
			break;
		l = e + 1;
	}
	return false;
}

/* The index of the first datagram at or after from with line want, waiting up to timeout_ms; -1 if none. */
static ssize_t wait_for(size_t from, const char *want, int timeout_ms)
{
	int64_t end = t_mono_ms() + timeout_ms;

	for (size_t i = from;; i++) {
		while (i >= ns.n)
			if (!recv_one((int)(end - t_mono_ms())))
				return -1;
		if (has_line(ns.msg[i], want))
			return (ssize_t)i;
	}
}

/* How many datagrams in [from, ns.n) arrived before until_ms and have line want. */
static int count_before(size_t from, const char *want, int64_t until_ms)
{
	int c = 0;

	for (size_t i = from; i < ns.n; i++)
		c += ns.at_ms[i] < until_ms && has_line(ns.msg[i], want);
	return c;
}

/* Everything received, one datagram per line (its newlines shown as '|'), then the daemon's log. */
static char *transcript(void)
{
	char path[4200], *out = NULL, *log;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	for (size_t i = 0; i < ns.n; i++) {
		fputs("  datagram: ", f);
		for (const char *c = ns.msg[i]; *c; c++)
			fputc(*c == '\n' ? '|' : *c, f);
		fputc('\n', f);
	}
	snprintf(path, sizeof(path), "%s/daemon.log", dir);
	log = t_slurp(path, NULL);
	fprintf(f, "daemon log:\n%s", log ? log : "(none)\n");
	free(log);
	fclose(f);
	return out;
}

/* ------------------------------------------------------------------ daemon_notify itself */

static void direct_setup(void)
{
	dir = t_tmpdir();
	snprintf(sockpath, sizeof(sockpath), "%s/notify.sock", dir);
	ns.fd = bind_dgram(sockpath, false);
}

static void direct_teardown(void)
{
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	if (ns.fd >= 0)
		close(ns.fd);
	ns.fd = -1;
	for (size_t i = 0; i < ns.n; i++)
		free(ns.msg[i]);
	free(ns.msg);
	free(ns.at_ms);
	ns.msg = NULL;
	ns.at_ms = NULL;
	ns.n = 0;
	t_rmrf(dir);
	free(dir);
}

/* The lowest free descriptor: unchanged after the calls proves none leaked. */
static int lowest_free_fd(void)
{
	int fd = dup(0);

	close(fd);
	return fd;
}

START_TEST(notify_to_a_path_socket)
{
	int fd0 = lowest_free_fd();

	setenv("NOTIFY_SOCKET", sockpath, 1);
	ck_assert_int_eq(daemon_notify("READY=1"), 0);
	ck_assert_int_eq(daemon_notifyf("STATUS=%d probes, %s", 3, "all up"), 0);
	ck_assert_int_eq(daemon_notify("RELOADING=1\nMONOTONIC_USEC=1"), 0);
	ck_assert(recv_one(1000) && recv_one(1000) && recv_one(1000));
	ck_assert_str_eq(ns.msg[0], "READY=1");
	ck_assert_str_eq(ns.msg[1], "STATUS=3 probes, all up");
	ck_assert_str_eq(ns.msg[2], "RELOADING=1\nMONOTONIC_USEC=1"); /* one datagram */
	ck_assert(!recv_one(0));
	ck_assert_int_eq(lowest_free_fd(), fd0);
}
END_TEST

START_TEST(notify_to_an_abstract_socket)
{
	char name[64], env[80];

	snprintf(name, sizeof(name), "canary-check-notify-%ld-%ld", (long)getpid(), (long)t_mono_ms());
	snprintf(env, sizeof(env), "@%s", name);
	close(ns.fd);
	ns.fd = bind_dgram(name, true);
	setenv("NOTIFY_SOCKET", env, 1);
	ck_assert_int_eq(daemon_notify("WATCHDOG=1"), 0);
	ck_assert(recv_one(1000));
	ck_assert_str_eq(ns.msg[0], "WATCHDOG=1");
	/* The name is the whole of it: a prefix of it is another socket, with nobody there. */
	env[strlen(env) - 1] = '\0';
	setenv("NOTIFY_SOCKET", env, 1);
	ck_assert_int_eq(daemon_notify("WATCHDOG=1"), -ECONNREFUSED);
}
END_TEST

START_TEST(notify_without_notify_socket_does_nothing)
{
	unsetenv("NOTIFY_SOCKET");
	ck_assert_int_eq(daemon_notify("READY=1"), 0);
	ck_assert_int_eq(daemon_notifyf("STATUS=%s", "x"), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	ck_assert_int_eq(daemon_notify("READY=1"), 0);
	ck_assert(!recv_one(0));
}
END_TEST

START_TEST(notify_errors_are_returned)
{
	char path[4200], big[2048];

	snprintf(path, sizeof(path), "%s/nobody.sock", dir);
	setenv("NOTIFY_SOCKET", path, 1);
	ck_assert_int_eq(daemon_notify("READY=1"), -ENOENT);
	setenv("NOTIFY_SOCKET", "relative.sock", 1);
	ck_assert_int_eq(daemon_notify("READY=1"), -EAFNOSUPPORT);
	setenv("NOTIFY_SOCKET", "@", 1);
	ck_assert_int_eq(daemon_notify("READY=1"), -EINVAL);
	memset(big, 'x', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	setenv("NOTIFY_SOCKET", big, 1);
	ck_assert_int_eq(daemon_notify("READY=1"), -ENAMETOOLONG);
	/* Too long to format is refused whole, never cut. */
	setenv("NOTIFY_SOCKET", sockpath, 1);
	ck_assert_int_eq(daemon_notifyf("STATUS=%s", big), -EMSGSIZE);
	ck_assert(!recv_one(0));
}
END_TEST

START_TEST(notify_never_blocks_on_a_full_socket)
{
	int rc = 0;

	/* Nobody reads: the queue fills (net.unix.max_dgram_qlen), then sends fail at once. */
	setenv("NOTIFY_SOCKET", sockpath, 1);
	for (int i = 0; i < 100000 && rc == 0; i++)
		rc = daemon_notify("WATCHDOG=1");
	ck_assert_int_eq(rc, -EAGAIN);
}
END_TEST

START_TEST(watchdog_interval_from_the_environment)
{
	char self[32], other[32];
	const struct {
		const char *usec, *pid;
		uint64_t ms;
	} cases[] = {
		{ NULL, NULL, 0 },         { "200000", NULL, 200 },   { "30000000", NULL, 30000 },
		{ "500", NULL, 1 },        { "0", NULL, 0 },          { "", NULL, 0 },
		{ "abc", NULL, 0 },        { "-5", NULL, 0 },         { " 200000", NULL, 0 },
		{ "200000x", NULL, 0 },    { "99999999999999999999999", NULL, 0 },
		{ "200000", self, 200 },   { "200000", other, 0 },    { "200000", "abc", 0 },
		{ "200000", "", 0 },
	};

	snprintf(self, sizeof(self), "%ld", (long)getpid());
	snprintf(other, sizeof(other), "%ld", (long)getpid() + 1);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].usec)
			setenv("WATCHDOG_USEC", cases[i].usec, 1);
		else
			unsetenv("WATCHDOG_USEC");
		if (cases[i].pid)
			setenv("WATCHDOG_PID", cases[i].pid, 1);
		else
			unsetenv("WATCHDOG_PID");
		ck_assert_msg(daemon_watchdog_ms() == cases[i].ms, "WATCHDOG_USEC=%s WATCHDOG_PID=%s: %llu, not %llu",
			      cases[i].usec ? cases[i].usec : "(unset)", cases[i].pid ? cases[i].pid : "(unset)",
			      (unsigned long long)daemon_watchdog_ms(), (unsigned long long)cases[i].ms);
	}
}
END_TEST

/* ------------------------------------------------------------------ the daemon under a fake manager */

static void start_api(void)
{
	api_pid = t_fakeapi_start(&api_port);
}

static void stop_api(void)
{
	t_fakeapi_stop(api_pid);
}

/* A config with everything in the temp dir, and one probe on the fixture's /health. */
static void daemon_setup(void)
{
	char sub[4200];

	direct_setup();
	daemon_pid = 0;
	snprintf(cfgpath, sizeof(cfgpath), "%s/canary.json", dir);
	t_writef(dir, "canary.json", "{ \"state_dir\": \"state\", \"probes_dir\": \"probes.d\",\n"
				     "  \"control_socket\": \"control.sock\",\n"
				     "  \"defaults\": { \"every\": \"1s\", \"timeout\": \"2s\" } }\n");
	snprintf(sub, sizeof(sub), "%s/probes.d", dir);
	ck_assert_int_eq(mkdir(sub, 0755), 0);
	t_writef(dir, "probes.d/health.json", "{ \"url\": \"http://127.0.0.1:%d/health\",\n"
					      "  \"expect\": [\"status == 200\"] }\n", api_port);
}

static void daemon_teardown(void)
{
	t_kill(daemon_pid);
	daemon_pid = 0;
	direct_teardown();
}

/*
 * Starts `canary run` with NOTIFY_SOCKET on our socket and env (NULL-ended)
 * added, stderr in dir/daemon.log. It dies with the test process, so a failed
 * assertion leaves no daemon behind.
 */
static void spawn_daemon(char *const env[])
{
	char *argv[] = { (char *)t_canary_bin(), "run", "-c", cfgpath, NULL };
	char log[4200], notify[4200];
	pid_t parent = getpid();

	snprintf(log, sizeof(log), "%s/daemon.log", dir);
	snprintf(notify, sizeof(notify), "NOTIFY_SOCKET=%s", sockpath);
	daemon_pid = fork();
	ck_assert_int_ge(daemon_pid, 0);
	if (daemon_pid > 0)
		return;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
		_exit(127);
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	putenv(notify);
	for (size_t i = 0; env && env[i]; i++)
		putenv(env[i]);
	execv(argv[0], argv);
	_exit(127);
}

/* Waits for the first READY=1; returns its index. */
static size_t wait_ready(void)
{
	ssize_t r = wait_for(0, "READY=1", 10000);

	ck_assert_msg(r >= 0, "no READY=1 within 10 s\n%s", transcript());
	return (size_t)r;
}

/* SIGTERM, a clean exit, and STOPPING=1 among what it sent (so before it exited). */
static void stop_daemon(size_t after)
{
	ck_assert_int_eq(kill(daemon_pid, SIGTERM), 0);
	int st = t_wait(daemon_pid, 10000);
	if (st >= 0)
		daemon_pid = 0;
	while (recv_one(0))
		;
	ck_assert_msg(st == 0, "exit status %d\n%s", st, transcript());
	ck_assert_msg(wait_for(after, "STOPPING=1", 0) >= 0, "no STOPPING=1 before exit\n%s", transcript());
}

/* True when a STATUS= line of a datagram at or after from says "1 probe" (not "11 probes"). */
static bool status_counts_one_probe(size_t from)
{
	for (size_t i = from; i < ns.n; i++) {
		const char *s = strstr(ns.msg[i], "STATUS=");
		if (s == NULL || (s != ns.msg[i] && s[-1] != '\n'))
			continue;
		const char *e = strchr(s, '\n');
		for (const char *p = strstr(s, "1 probe"); p && (e == NULL || p < e); p = strstr(p + 1, "1 probe"))
			if (p[-1] < '0' || p[-1] > '9')
				return true;
	}
	return false;
}

START_TEST(ready_status_and_stopping)
{
	spawn_daemon(NULL);
	size_t ready = wait_ready();
	int64_t end = t_mono_ms() + 3000;

	while (!status_counts_one_probe(0) && recv_one((int)(end - t_mono_ms())))
		;
	ck_assert_msg(status_counts_one_probe(0), "no STATUS= line says \"1 probe\"\n%s", transcript());
	/* Without WATCHDOG_USEC there is no ping: wait longer than a short interval would take. */
	ck_assert_msg(wait_for(0, "WATCHDOG=1", 700) < 0, "WATCHDOG=1 without a watchdog\n%s", transcript());
	stop_daemon(ready + 1);
}
END_TEST

START_TEST(watchdog_pings_at_half_the_interval)
{
	char *env[] = { "WATCHDOG_USEC=200000", NULL };

	spawn_daemon(env);
	size_t ready = wait_ready();
	int64_t from = ns.at_ms[ready], end = from + 1000;

	/* At half of 200 ms that is about ten a second: three is the least a working timer gives. */
	while (t_mono_ms() < end && recv_one((int)(end - t_mono_ms())))
		;
	int pings = count_before(0, "WATCHDOG=1", end);
	ck_assert_msg(pings >= 3, "%d WATCHDOG=1 in the second after READY=1\n%s", pings, transcript());
	ck_assert_msg(pings <= 50, "%d WATCHDOG=1 in a second: a timer that spins\n%s", pings, transcript());
	stop_daemon(ready + 1);
}
END_TEST

START_TEST(watchdog_meant_for_another_pid_is_ignored)
{
	char pid[64];
	char *env[] = { "WATCHDOG_USEC=200000", pid, NULL };

	snprintf(pid, sizeof(pid), "WATCHDOG_PID=%ld", (long)getpid());
	spawn_daemon(env);
	size_t ready = wait_ready();
	ck_assert_msg(wait_for(0, "WATCHDOG=1", 700) < 0, "WATCHDOG=1 for another pid's watchdog\n%s",
		      transcript());
	stop_daemon(ready + 1);
}
END_TEST

START_TEST(sighup_reloads_between_reloading_and_ready)
{
	spawn_daemon(NULL);
	size_t ready = wait_ready();

	ck_assert_int_eq(kill(daemon_pid, SIGHUP), 0);
	ssize_t reloading = wait_for(ready + 1, "RELOADING=1", 5000);
	ck_assert_msg(reloading >= 0, "no RELOADING=1 after SIGHUP\n%s", transcript());
	/* With the CLOCK_MONOTONIC time, in µs, that Type=notify-reload (systemd 253) matches to its reload. */
	const char *mono = strstr(ns.msg[reloading], "MONOTONIC_USEC=");
	ck_assert_msg(mono != NULL, "RELOADING=1 without MONOTONIC_USEC=\n%s", transcript());
	long long usec = strtoll(mono + strlen("MONOTONIC_USEC="), NULL, 10);
	ck_assert_msg(usec / 1000 <= ns.at_ms[reloading] && usec / 1000 > ns.at_ms[reloading] - 5000,
		      "MONOTONIC_USEC=%lld is not the time it was sent (%lld ms)", usec, (long long)ns.at_ms[reloading]);
	ssize_t again = wait_for((size_t)reloading, "READY=1", 5000);
	ck_assert_msg(again >= 0, "no READY=1 after RELOADING=1\n%s", transcript());
	/* A datagram saying both would be read as still reloading: READY=1 comes in a later one. */
	ck_assert_msg(again > reloading, "RELOADING=1 and READY=1 in one datagram\n%s", transcript());
	stop_daemon((size_t)again + 1);
}
END_TEST

Suite *notify_suite(void)
{
	Suite *s = suite_create("notify");
	TCase *tc = tcase_create("daemon_notify");

	tcase_add_checked_fixture(tc, direct_setup, direct_teardown);
	tcase_add_test(tc, notify_to_a_path_socket);
	tcase_add_test(tc, notify_to_an_abstract_socket);
	tcase_add_test(tc, notify_without_notify_socket_does_nothing);
	tcase_add_test(tc, notify_errors_are_returned);
	tcase_add_test(tc, notify_never_blocks_on_a_full_socket);
	tcase_add_test(tc, watchdog_interval_from_the_environment);
	suite_add_tcase(s, tc);

	tc = tcase_create("daemon");
	tcase_add_unchecked_fixture(tc, start_api, stop_api);
	tcase_add_checked_fixture(tc, daemon_setup, daemon_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, ready_status_and_stopping);
	tcase_add_test(tc, watchdog_pings_at_half_the_interval);
	tcase_add_test(tc, watchdog_meant_for_another_pid_is_ignored);
	tcase_add_test(tc, sighup_reloads_between_reloading_and_ready);
	suite_add_tcase(s, tc);
	return s;
}
