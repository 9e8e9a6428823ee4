/* check_notify.c - systemd notify messages and the watchdog, read from a socket of our own. */
#include "tests/tests.h"

Suite *notify_suite(void)
{
	Suite *s = suite_create("notify");

	return s;
}
