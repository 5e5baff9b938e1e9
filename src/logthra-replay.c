/* logthra-replay: recovers interrupted work.  See logthra-replay(1). */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <unistd.h>

#include "clock.h"
#include "flush.h"
#include "log.h"
#include "check_config.h"
#include "options.h"
#include "replay.h"
#include "spool.h"

static void
usage(void)
{
	(void)printf(
		"%s recovers interrupted work in the spool.\n\n"
		"Usage:\n"
		"  %s --recover [OPTION]...\n"
		"  %s [OPTION]... ARCHIVE...\n"
		"  %s --check-config [OPTION]...\n\n"
		"Actions:\n"
		"      --recover              take back interrupted claims, remove stale\n"
		"                             temporary files and half-written archives\n"
		"  ARCHIVE...                 re-import the spool files in these archives\n"
		"      --check-config         check the configuration file, then exit\n\n"
		"Re-import options:\n"
		"      --tenant=TENANT        only this tenant's files\n"
		"      --since=TIME           only entries at or after TIME (a timestamp,\n"
		"                             or a duration ago such as 2h or 7d)\n"
		"      --until=TIME           only entries before TIME\n"
		"  -n, --dry-run              say what would be imported, change nothing\n"
		"      --force                import even rows ClickHouse already holds\n\n"
		"Options:\n"
		"  -c, --config=FILE          read settings from FILE\n"
		"  -D, --spool=DIR            spool directory (default %s)\n"
		"      --tmp-max-age=DURATION temporary files older than this are stale\n"
		"                             (default 1h)\n"
		"  -v, --verbose              say more\n"
		"  -V, --version              output version information, then exit\n"
		"  -?, --help                 show this help, then exit\n",
		lt_progname(), lt_progname(), lt_progname(), lt_progname(),
		LT_DEFAULT_SPOOL);
}

enum { OPT_RECOVER = 256, OPT_TMP_MAX_AGE, OPT_TENANT, OPT_SINCE, OPT_UNTIL,
       OPT_FORCE, OPT_CHECK_CONFIG };

static const struct option long_options[] = {
	{"recover", no_argument, NULL, OPT_RECOVER},
	{"config", required_argument, NULL, 'c'},
	{"spool", required_argument, NULL, 'D'},
	{"tmp-max-age", required_argument, NULL, OPT_TMP_MAX_AGE},
	{"tenant", required_argument, NULL, OPT_TENANT},
	{"since", required_argument, NULL, OPT_SINCE},
	{"until", required_argument, NULL, OPT_UNTIL},
	{"dry-run", no_argument, NULL, 'n'},
	{"force", no_argument, NULL, OPT_FORCE},
	{"check-config", no_argument, NULL, OPT_CHECK_CONFIG},
	{"verbose", no_argument, NULL, 'v'},
	{"version", no_argument, NULL, 'V'},
	{"help", no_argument, NULL, '?'},
	{NULL, 0, NULL, 0},
};

static int
recover(const struct lt_options *o)
{
	struct lt_recover_stats st;
	int status;

	status = lt_recover(o, &st);
	(void)printf("recovered %zu claimed files, removed %zu stale temporary files and %zu half-written archives\n",
		     st.unclaimed, st.tmp_removed, st.archives_removed);
	return status;
}

static int
parse_time(const char *option, const char *arg, int64_t *ns)
{
	if (lt_parse_time_arg(arg, lt_now_ns(), ns) == 0)
		return 0;
	lt_error("invalid value \"%s\" for option %s", arg, option);
	lt_hint("Give a timestamp (2024-01-01, 2024-01-01T12:00:00Z, unix nanoseconds) or a duration ago (2h, 7d).");
	return -1;
}

static int
reimport(const struct lt_options *o, struct lt_replay_opts *ro, int argc,
	 char **argv)
{
	struct lt_replay_stats st = {0};
	const char *why;
	int i, rc, status = LT_EX_OK;

	if (ro->tenant && lt_tenant_valid(ro->tenant, &why) < 0) {
		lt_error("invalid tenant id \"%s\": %s", ro->tenant, why);
		return LT_EX_ERROR;
	}
	ro->progress = isatty(STDERR_FILENO);
	for (i = 0; i < argc; i++) {
		rc = lt_replay_archive(o, argv[i], ro, &st);
		if (rc == -2) {
			status = LT_EX_TEMPFAIL;
			break;
		}
		if (rc < 0)
			status = LT_EX_ERROR;
	}
	(void)printf("%s %zu files (%llu entries) from %zu archives; skipped %zu (other tenants or outside the window); %zu corrupt\n",
		     ro->dry_run ? "would replay" : "replayed", st.files,
		     (unsigned long long)st.entries, st.archives, st.skipped,
		     st.corrupt);
	if (status == LT_EX_OK && st.corrupt > 0)
		status = LT_EX_DATAERR;
	return status;
}

/* What a run does: re-import the archives named, unless an option asks
 * for another mode. */
enum mode { MODE_REIMPORT, MODE_RECOVER, MODE_CHECK_CONFIG };

/* The name of the first re-import option given, for the message when
 * --recover comes with one. */
static const char *
first(const char *seen, const char *option)
{
	return seen != NULL ? seen : option;
}

int
main(int argc, char **argv)
{
	struct lt_cli cli = {0};
	struct lt_options o;
	struct lt_replay_opts ro = {0};
	struct lt_cli_mode mode = {0};
	const char *since = NULL, *until = NULL;
	const char *reimport_only = NULL; /* the first option only re-import reads */
	int c, rc = 0, status;

	/* Before anything is created: the spool needs the group's bits. */
	(void)lt_spool_umask();
	lt_log_init(argv[0]);
	lt_cli_early(argc, argv, usage);
	while (rc == 0 &&
	       (c = getopt_long(argc, argv, "c:D:nvV?", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_RECOVER: rc = lt_cli_mode(&mode, MODE_RECOVER, "--recover"); break;
		case OPT_TMP_MAX_AGE: lt_cli_set(&cli, "--tmp-max-age", "tmp_max_age", optarg); break;
		case OPT_TENANT: ro.tenant = optarg; reimport_only = first(reimport_only, "--tenant"); break;
		case OPT_SINCE: since = optarg; reimport_only = first(reimport_only, "--since"); break;
		case OPT_UNTIL: until = optarg; reimport_only = first(reimport_only, "--until"); break;
		case 'n': ro.dry_run = 1; reimport_only = first(reimport_only, "-n/--dry-run"); break;
		case OPT_FORCE: ro.force = 1; reimport_only = first(reimport_only, "--force"); break;
		case OPT_CHECK_CONFIG: rc = lt_cli_mode(&mode, MODE_CHECK_CONFIG, "--check-config"); break;
		default:
			lt_cli_common(&cli, c, argv, usage);
		}
	}
	if (rc < 0)
		return 1;
	if (mode.mode == MODE_CHECK_CONFIG) {
		lt_cli_operands(argc, argv, 0);
		lt_log_set_verbosity(cli.verbose);
		return lt_cli_check_config(&cli, 0, NULL);
	}
	if (mode.mode == MODE_RECOVER && reimport_only != NULL) {
		/* Ignoring it would be worse than refusing: --recover -n
		 * would change the spool that the operator asked to look at. */
		lt_error("%s goes with re-importing archives, not with --recover",
			 reimport_only);
		lt_hint("--recover takes back every tenant's interrupted claims; it has no dry run and no filters.");
		lt_try_help();
		return 1;
	}
	if ((mode.mode == MODE_RECOVER) == (optind < argc)) {
		lt_error(mode.mode == MODE_RECOVER ? "--recover takes no archives"
						   : "nothing to do");
		lt_hint("Use --recover, or name the archives to re-import.");
		lt_try_help();
		return 1;
	}
	if ((since && parse_time("--since", since, &ro.since_ns) < 0) ||
	    (until && parse_time("--until", until, &ro.until_ns) < 0))
		return 1;
	lt_log_set_verbosity(cli.verbose);
	if (lt_cli_apply(&cli, &o) < 0)
		return 1;
	if (mode.mode == MODE_RECOVER)
		status = recover(&o);
	else
		status = reimport(&o, &ro, argc - optind, argv + optind);
	lt_options_free(&o);
	return status;
}
