/* check_assert.c - placeholder suite, replaced as the module lands. */
#include "tests/tests.h"

Suite *assert_suite(void)
{
	return suite_create("assert");
}
