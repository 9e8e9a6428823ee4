/* cli_int.h - what only the subcommands' files share. */
#ifndef CANARY_CLI_INT_H
#define CANARY_CLI_INT_H

#include "cli/cli.h"
#include "config/config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Exit statuses of `canary check`, as monitoring plugins use them. */
enum { CLI_CHECK_OK = 0, CLI_CHECK_FAIL = 2, CLI_CHECK_INVALID = 3 };

int cli_check(int argc, char **argv);
int cli_config(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_status(int argc, char **argv);

/*
 * Loads the config at path (flags: CFG_*), printing every problem to stderr as FILE:LINE:COL.
 * Returns the config or NULL.
 */
struct cfg *cli_load_config(const char *path, unsigned flags);

/* The config path: -c's value, else $CANARY_CONFIG, else CFG_DEFAULT_PATH. */
const char *cli_config_path(const char *given);

/* Formats Unix ms as RFC 3339 UTC ("2026-11-21T10:00:00Z") into buf. Returns buf. */
char *cli_time_rfc3339(int64_t ms, char *buf, size_t size);

/* Prints "canary CMD: MSG" to stderr; returns status, for `return cli_fail(2, ...)`. */
int cli_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
