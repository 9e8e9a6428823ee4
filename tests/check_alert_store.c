/* check_alert_store.c - placeholder until the suite is written. */
#include "tests/tests.h"

Suite *alert_store_suite(void)
{
	return suite_create("alert_store");
}
