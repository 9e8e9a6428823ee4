/* main.c - the canary entry point: hands argv to the subcommand table. */
#include "cli/cli.h"

int main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
