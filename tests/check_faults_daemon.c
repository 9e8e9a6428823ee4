/* check_faults_daemon.c - the daemon under faults: a locked or read-only database, kill -9, a channel down, SIGHUP storms, malformed input. */
#include "tests/tests.h"

Suite *faults_daemon_suite(void)
{
	Suite *s = suite_create("faults_daemon");

	return s;
}
