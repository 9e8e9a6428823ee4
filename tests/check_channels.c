/* check_channels.c - placeholder until the suite is written. */
#include "tests/tests.h"

Suite *channels_suite(void)
{
	return suite_create("channels");
}
