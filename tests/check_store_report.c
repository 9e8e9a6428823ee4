/* check_store_report.c - report, annotations, retention and status figures in storage. */
#include "tests/tests.h"

Suite *store_report_suite(void)
{
	Suite *s = suite_create("store_report");

	return s;
}
