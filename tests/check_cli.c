/* check_cli.c - placeholder suite, replaced as the module lands. */
#include "tests/tests.h"

Suite *cli_suite(void)
{
	return suite_create("cli");
}
