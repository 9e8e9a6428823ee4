/* check_config.c - placeholder suite, replaced as the module lands. */
#include "tests/tests.h"

Suite *config_suite(void)
{
	return suite_create("config");
}
