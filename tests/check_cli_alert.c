/* check_cli_alert.c - placeholder until the suite is written. */
#include "tests/tests.h"

Suite *cli_alert_suite(void)
{
	return suite_create("cli_alert");
}
