/* check_main.c - the Check runner: adds every suite and exits non-zero on any failure. */
#include "tests/tests.h"

#include <stdlib.h>

int main(void)
{
	Suite *(*const suites[])(void) = {
		duration_suite, tmpl_suite, jpath_suite, assert_suite, config_suite,
		storage_suite,  engine_suite, cli_suite, alert_store_suite, channels_suite,
		alert_suite, cli_alert_suite, alertfx_suite, store_report_suite, control_suite,
		notify_suite, cli_probe_suite, cli_report_suite, faults_target_suite, faults_daemon_suite, store_retention_suite,
	};
	SRunner *sr = srunner_create(NULL);

	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		srunner_add_suite(sr, suites[i]());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
