/* check_cli_probe.c - probe add/list/show/rm/pause/resume and run-now, on the real binary. */
#include "tests/tests.h"

Suite *cli_probe_suite(void)
{
	Suite *s = suite_create("cli_probe");

	return s;
}
