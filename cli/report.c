/* report.c - `canary report`: uptime, incidents, MTTD/MTTR and latency percentiles per probe. */
#include "cli/cli_int.h"

int cli_report(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_fail(1, "not implemented yet");
}
