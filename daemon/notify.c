/* notify.c - systemd's notify protocol and watchdog interval. */
#include "daemon/daemon.h"

int daemon_notify(const char *state)
{
	(void)state;
	return 0;
}

int daemon_notifyf(const char *fmt, ...)
{
	(void)fmt;
	return 0;
}

uint64_t daemon_watchdog_ms(void)
{
	return 0;
}
