/* check_jpath.c - placeholder suite, replaced as the module lands. */
#include "tests/tests.h"

Suite *jpath_suite(void)
{
	return suite_create("jpath");
}
