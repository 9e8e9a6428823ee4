/* check_main.c - the Check runner: adds every suite and exits non-zero on any failure. */
#include "tests/tests.h"

#include <stdlib.h>

int main(void)
{
	SRunner *sr = srunner_create(duration_suite());

	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
