/* probe_cmd.c - `canary probe`: add, list, show, rm, pause and resume probe files. */
#include "cli/cli_int.h"

int cli_probe(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_fail(1, "not implemented yet");
}
