/* cli.h - the `canary` command line: a table of subcommands, each returning the exit status. */
#ifndef CANARY_CLI_H
#define CANARY_CLI_H

/* Runs the subcommand named by argv[1]; returns the process exit status. */
int cli_main(int argc, char **argv);

#endif
