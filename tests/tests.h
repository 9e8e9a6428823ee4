/* tests.h - the suites of the Check runner and the helpers they share. */
#ifndef CANARY_TESTS_H
#define CANARY_TESTS_H

#include <check.h>

Suite *duration_suite(void);
Suite *tmpl_suite(void);
Suite *jpath_suite(void);
Suite *assert_suite(void);
Suite *config_suite(void);
Suite *storage_suite(void);
Suite *engine_suite(void);
Suite *cli_suite(void);

#endif
