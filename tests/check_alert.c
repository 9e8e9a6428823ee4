/* check_alert.c - placeholder until the suite is written. */
#include "tests/tests.h"

Suite *alert_suite(void)
{
	return suite_create("alert");
}
