/* --check-config: the settings, then the credentials file, the password
 * file and a program's own checks, each reported on standard output when
 * valid; the first error is logged with its file and line. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "check_config.h"
#include "log.h"

/* The credentials file, loaded as logthra-recv and logthra-query load
 * it for each request. */
static int
check_credentials(const struct lt_options *o)
{
	struct lt_auth *a = NULL;
	char err[512];

	if (o->credentials_file == NULL || o->credentials_file[0] == '\0')
		return 0;
	if (lt_auth_load(o->credentials_file, &a, err, sizeof(err)) < 0) {
		lt_error("%s", err);
		return -1;
	}
	lt_auth_free(a);
	(void)printf("%s: credentials file \"%s\" is valid\n", lt_progname(),
		     o->credentials_file);
	return 0;
}

static int
check_files(struct lt_options *o, unsigned what,
	    int (*check)(const struct lt_options *))
{
	if ((what & LT_CHECK_CREDENTIALS) && check_credentials(o) < 0)
		return -1;
	if ((what & LT_CHECK_PASSWORD) && lt_options_read_password(o) < 0)
		return -1;
	if (check != NULL && check(o) < 0)
		return -1;
	return 0;
}

int
lt_cli_check_config(struct lt_cli *cli, unsigned what,
		    int (*check)(const struct lt_options *))
{
	struct lt_options o;
	int rc = 1;

	if (lt_cli_apply(cli, &o) < 0)
		goto hint;
	if (o.config_file != NULL)
		(void)printf("%s: configuration file \"%s\" is valid\n",
			     lt_progname(), o.config_file);
	else
		(void)printf("%s: no configuration file (\"%s\" does not "
			     "exist); the built-in defaults and the environment "
			     "are valid\n", lt_progname(), LT_DEFAULT_CONFIG);
	if (check_files(&o, what, check) == 0)
		rc = 0;
	if (o.clickhouse_password != NULL)
		explicit_bzero(o.clickhouse_password,
			       strlen(o.clickhouse_password));
	lt_options_free(&o);
	if (fflush(stdout) != 0) {
		lt_error("could not write to standard output: %m");
		return 1;
	}
	if (rc == 0)
		return 0;
hint:
	lt_hint("Fix what is named above, then run \"%s --check-config%s%s\" "
		"again; logthra.conf(5) lists the settings.", lt_progname(),
		cli->config != NULL ? " -c " : "",
		cli->config != NULL ? cli->config : "");
	return 1;
}

