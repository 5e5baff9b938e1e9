/* logthra-flush: loads spool files into ClickHouse.  See logthra-flush(1). */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clickhouse.h"
#include "flush.h"
#include "log.h"
#include "options.h"

static void
usage(void)
{
	(void)printf(
		"%s loads spooled log pushes into ClickHouse.\n\n"
		"Usage:\n"
		"  %s [OPTION]...\n\n"
		"Options:\n"
		"  -c, --config=FILE          read settings from FILE\n"
		"  -D, --spool=DIR            spool directory (default %s)\n"
		"  -U, --clickhouse-url=URL   ClickHouse HTTP interface (default http://127.0.0.1:8123/)\n"
		"  -d, --database=NAME        database (default logs)\n"
		"  -t, --table=NAME           table (default log)\n"
		"      --batch-bytes=SIZE     largest INSERT body (default 64MiB)\n"
		"      --batch-rows=N         most rows per INSERT (default 1000000)\n"
		"      --retry-now            retry deferred files now, not at their retry time\n"
		"      --print-ddl            print the CREATE statements and exit\n"
		"      --print-config         print the effective settings and exit\n"
		"  -v, --verbose              say more (twice for debug messages)\n"
		"  -V, --version              output version information, then exit\n"
		"  -?, --help                 show this help, then exit\n\n"
		"Environment: LOGTHRA_CONFIG, LOGTHRA_SPOOL, LOGTHRA_CLICKHOUSE_URL,\n"
		"LOGTHRA_CLICKHOUSE_USER, LOGTHRA_CLICKHOUSE_PASSWORD and LOGTHRA_<SETTING>.\n"
		"Exit status: 0 done, 65 a file was quarantined, 75 try again later.\n",
		lt_progname(), lt_progname(), LT_DEFAULT_SPOOL);
}

enum { OPT_BATCH_BYTES = 256, OPT_BATCH_ROWS, OPT_PRINT_DDL, OPT_PRINT_CONFIG,
       OPT_RETRY_NOW };

static const struct option long_options[] = {
	{"config", required_argument, NULL, 'c'},
	{"spool", required_argument, NULL, 'D'},
	{"clickhouse-url", required_argument, NULL, 'U'},
	{"database", required_argument, NULL, 'd'},
	{"table", required_argument, NULL, 't'},
	{"batch-bytes", required_argument, NULL, OPT_BATCH_BYTES},
	{"batch-rows", required_argument, NULL, OPT_BATCH_ROWS},
	{"print-ddl", no_argument, NULL, OPT_PRINT_DDL},
	{"retry-now", no_argument, NULL, OPT_RETRY_NOW},
	{"print-config", no_argument, NULL, OPT_PRINT_CONFIG},
	{"verbose", no_argument, NULL, 'v'},
	{"version", no_argument, NULL, 'V'},
	{"help", no_argument, NULL, '?'},
	{NULL, 0, NULL, 0},
};

static int
print_ddl(const struct lt_options *o)
{
	struct lt_buf ddl = LT_BUF_INIT;
	int rc = 0;

	if (lt_ch_ddl(&ddl, o->database, o->table) < 0 ||
	    fwrite(ddl.data, 1, ddl.len, stdout) != ddl.len ||
	    fflush(stdout) != 0) {
		lt_error("could not print the DDL: %m");
		rc = 1;
	}
	lt_buf_free(&ddl);
	return rc;
}

static int
check_names(const struct lt_options *o)
{
	if (!lt_ch_identifier_valid(o->database)) {
		lt_error("invalid database name \"%s\"", o->database);
		lt_hint("Use letters, digits and underscores, starting with a letter or underscore.");
		return -1;
	}
	if (!lt_ch_identifier_valid(o->table)) {
		lt_error("invalid table name \"%s\"", o->table);
		lt_hint("Use letters, digits and underscores, starting with a letter or underscore.");
		return -1;
	}
	return 0;
}

static double
seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	(void)clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	       (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

int
main(int argc, char **argv)
{
	struct lt_cli cli = {0};
	struct lt_options o;
	struct lt_flush_stats st;
	struct timespec t0;
	int c, ddl = 0, show = 0, flags = 0, status;

	lt_log_init(argv[0]);
	lt_cli_early(argc, argv, usage);
	while ((c = getopt_long(argc, argv, "c:D:U:d:t:vV?", long_options, NULL)) != -1) {
		switch (c) {
		case 'U': lt_cli_set(&cli, "-U/--clickhouse-url", "clickhouse_url", optarg); break;
		case 'd': lt_cli_set(&cli, "-d/--database", "database", optarg); break;
		case 't': lt_cli_set(&cli, "-t/--table", "table", optarg); break;
		case OPT_BATCH_BYTES: lt_cli_set(&cli, "--batch-bytes", "batch_max_bytes", optarg); break;
		case OPT_BATCH_ROWS: lt_cli_set(&cli, "--batch-rows", "batch_max_rows", optarg); break;
		case OPT_PRINT_DDL: ddl = 1; break;
		case OPT_RETRY_NOW: flags |= LT_FLUSH_RETRY_NOW; break;
		case OPT_PRINT_CONFIG: show = 1; break;
		default:
			lt_cli_common(&cli, c, argv, usage);
		}
	}
	lt_cli_operands(argc, argv, 0);
	lt_log_set_verbosity(cli.verbose);
	if (lt_cli_apply(&cli, &o) < 0)
		return 1;
	if (check_names(&o) < 0) {
		status = 1;
	} else if (ddl) {
		status = print_ddl(&o);
	} else if (show) {
		lt_options_print(&o);
		status = 0;
	} else {
		(void)clock_gettime(CLOCK_MONOTONIC, &t0);
		status = lt_flush_run(&o, flags, &st);
		(void)printf("flushed %zu files, %zu rows, %zu bytes in %.3f s",
			     st.files, st.rows, st.bytes, seconds_since(&t0));
		if (st.deferred + st.waiting > 0)
			(void)printf("; %zu files wait for a retry", st.deferred + st.waiting);
		if (st.quarantined > 0)
			(void)printf("; %zu files quarantined", st.quarantined);
		(void)printf("\n");
	}
	lt_options_free(&o);
	return status;
}
