/* --check-config, which every program takes: the configuration and the
 * files a program reads at start, checked before a restart rather than
 * found broken by the first request.  Apart from options.c so that the
 * settings' reader needs no credentials code. */
#ifndef LOGTHRA_CHECK_CONFIG_H
#define LOGTHRA_CHECK_CONFIG_H

#include "options.h"

/* What --check-config checks besides the settings themselves. */
#define LT_CHECK_CREDENTIALS 1u /* credentials_file loads */
#define LT_CHECK_PASSWORD    2u /* clickhouse_password_file can be read */

/* --check-config: loads the settings as lt_cli_apply() does, then the
 * files named in what, then runs check (NULL: none), a program's own
 * checks, which log their errors.  Prints "PROG: configuration file
 * \"PATH\" is valid" (and a line for each other file checked) on stdout
 * and returns 0; or logs the error (the file's, with PATH:LINE) and a
 * hint and returns 1, the exit status of a configuration error. */
int lt_cli_check_config(struct lt_cli *cli, unsigned what,
			int (*check)(const struct lt_options *));

#endif
