/* main.c - the canary entry point: hands argv to the subcommand table. */
#include <stdio.h>

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	puts("canary 0.1.0");
	return 0;
}
