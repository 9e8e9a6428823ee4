/* notify.c - systemd's notify protocol and watchdog interval, without libsystemd. */
#include "daemon/daemon.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Longer messages are refused, not cut: a cut "MAINPID=1234" would say something else. */
#define NOTIFY_MAX 1024

/*
 * Fills *sa from $NOTIFY_SOCKET: an absolute path, or "@name" for the
 * abstract namespace (the '@' becomes a NUL, and the length, not a
 * terminator, ends the name). Returns the address length, or a negative
 * error. systemd's other forms (vsock) are not supported.
 */
static int notify_addr(const char *env, struct sockaddr_un *sa)
{
	size_t n = strlen(env);
	bool abstract = env[0] == '@';

	if (env[0] != '/' && !abstract)
		return -EAFNOSUPPORT;
	if (n < 2)
		return -EINVAL;
	/* A path needs room for its NUL; an abstract name may fill sun_path. */
	if (n > sizeof(sa->sun_path) - (abstract ? 0 : 1))
		return -ENAMETOOLONG;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, env, n);
	if (abstract)
		sa->sun_path[0] = '\0';
	else
		n++; /* the path's terminating NUL */
	return (int)(offsetof(struct sockaddr_un, sun_path) + n);
}

int daemon_notify(const char *state)
{
	const char *env = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	int len, fd, rc = 0;

	if (env == NULL || env[0] == '\0')
		return 0;
	if ((len = notify_addr(env, &sa)) < 0)
		return len;
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return -errno;
	/*
	 * MSG_DONTWAIT: a manager that stopped reading must not stall the loop
	 * (the datagram is dropped and -EAGAIN returned). A datagram is sent
	 * whole or not at all.
	 */
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL | MSG_DONTWAIT, (struct sockaddr *)&sa,
		   (socklen_t)len) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

int daemon_notifyf(const char *fmt, ...)
{
	char buf[NOTIFY_MAX];
	va_list ap;
	int n;

	if (getenv("NOTIFY_SOCKET") == NULL)
		return 0;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= sizeof(buf))
		return -EMSGSIZE;
	return daemon_notify(buf);
}

/* Parses a whole decimal string into *v; false on anything else (sign, spaces, overflow). */
static bool parse_u64(const char *s, unsigned long long *v)
{
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0';
}

uint64_t daemon_watchdog_ms(void)
{
	const char *pid = getenv("WATCHDOG_PID");
	unsigned long long usec, p;

	if (!parse_u64(getenv("WATCHDOG_USEC"), &usec) || usec == 0)
		return 0;
	/* The variables may have been inherited from a parent the watchdog is meant for. */
	if (pid != NULL && (!parse_u64(pid, &p) || p != (unsigned long long)getpid()))
		return 0;
	return usec < 1000 ? 1 : usec / 1000;
}
