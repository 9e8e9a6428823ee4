/* run_now.c - `canary run-now NAME`: asks the daemon to run a probe now and prints the result. */
#include "cli/cli_int.h"

int cli_run_now(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_fail(1, "not implemented yet");
}
