/* check_tmpl.c - placeholder suite, replaced as the module lands. */
#include "tests/tests.h"

Suite *tmpl_suite(void)
{
	return suite_create("tmpl");
}
