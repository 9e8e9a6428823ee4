/* check_storage.c - placeholder suite, replaced as the module lands. */
#include "tests/tests.h"

Suite *storage_suite(void)
{
	return suite_create("storage");
}
