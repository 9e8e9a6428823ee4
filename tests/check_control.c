/* check_control.c - the daemon's control socket, reload and run-now. */
#include "tests/tests.h"

Suite *control_suite(void)
{
	Suite *s = suite_create("control");

	return s;
}
