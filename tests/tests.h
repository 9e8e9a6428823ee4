/* tests.h - the suites of the Check runner and the helpers they share. */
#ifndef CANARY_TESTS_H
#define CANARY_TESTS_H

#include <check.h>

Suite *duration_suite(void);

#endif
