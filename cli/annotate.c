/* annotate.c - `canary annotate`: records a marker shown in incident timelines. */
#include "cli/cli_int.h"

int cli_annotate(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_fail(1, "not implemented yet");
}
