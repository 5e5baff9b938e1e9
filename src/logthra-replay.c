/* logthra-replay: recovers interrupted work.  See logthra-replay(1). */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "flush.h"
#include "log.h"
#include "options.h"
#include "replay.h"

static void
usage(void)
{
	(void)printf(
		"%s recovers interrupted work in the spool.\n\n"
		"Usage:\n"
		"  %s --recover [OPTION]...\n\n"
		"Actions:\n"
		"      --recover              return interrupted claims to ready/ and remove\n"
		"                             stale temporary files\n\n"
		"Options:\n"
		"  -c, --config=FILE          read settings from FILE\n"
		"  -D, --spool=DIR            spool directory (default %s)\n"
		"      --tmp-max-age=DURATION temporary files older than this are stale\n"
		"                             (default 1h)\n"
		"  -v, --verbose              say more\n"
		"  -V, --version              output version information, then exit\n"
		"  -?, --help                 show this help, then exit\n",
		lt_progname(), lt_progname(), LT_DEFAULT_SPOOL);
}

enum { OPT_RECOVER = 256, OPT_TMP_MAX_AGE };

static const struct option long_options[] = {
	{"recover", no_argument, NULL, OPT_RECOVER},
	{"config", required_argument, NULL, 'c'},
	{"spool", required_argument, NULL, 'D'},
	{"tmp-max-age", required_argument, NULL, OPT_TMP_MAX_AGE},
	{"verbose", no_argument, NULL, 'v'},
	{"version", no_argument, NULL, 'V'},
	{"help", no_argument, NULL, '?'},
	{NULL, 0, NULL, 0},
};

int
main(int argc, char **argv)
{
	struct lt_cli cli = {0};
	struct lt_options o;
	struct lt_recover_stats st;
	int c, recover = 0, status;

	lt_log_init(argv[0]);
	lt_cli_early(argc, argv, usage);
	while ((c = getopt_long(argc, argv, "c:D:vV?", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_RECOVER: recover = 1; break;
		case OPT_TMP_MAX_AGE: lt_cli_set(&cli, "--tmp-max-age", "tmp_max_age", optarg); break;
		default:
			lt_cli_common(&cli, c, argv, usage);
		}
	}
	lt_cli_operands(argc, argv, 0);
	if (!recover) {
		lt_error("no action given");
		lt_hint("Use --recover; re-importing archives comes in a later version.");
		lt_try_help();
		return 1;
	}
	lt_log_set_verbosity(cli.verbose);
	if (lt_cli_apply(&cli, &o) < 0)
		return 1;
	status = lt_recover(&o, &st);
	(void)printf("recovered %zu claimed files, removed %zu stale temporary files\n",
		     st.unclaimed, st.tmp_removed);
	lt_options_free(&o);
	return status;
}
