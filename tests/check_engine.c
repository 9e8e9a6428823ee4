/* check_engine.c - placeholder suite, replaced as the module lands. */
#include "tests/tests.h"

Suite *engine_suite(void)
{
	return suite_create("engine");
}
