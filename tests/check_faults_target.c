/* check_faults_target.c - targets that misbehave: hangs, resets, slowloris, floods, garbage, TLS certificates, DNS. */
#include "tests/tests.h"

Suite *faults_target_suite(void)
{
	Suite *s = suite_create("faults_target");

	return s;
}
