/* logthra-flush: loads spool files into ClickHouse.  See logthra-flush(1). */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clickhouse.h"
#include "flush.h"
#include "follow.h"
#include "log.h"
#include "options.h"
#include "spool.h"
#include "status.h"

static void
usage(void)
{
	(void)printf(
		"%s loads spooled log pushes into ClickHouse.\n\n"
		"Usage:\n"
		"  %s [OPTION]...\n"
		"  %s --status [--json] [--no-ping] [OPTION]...\n\n"
		"Options:\n"
		"  -c, --config=FILE          read settings from FILE\n"
		"  -D, --spool=DIR            spool directory (default %s)\n"
		"  -U, --clickhouse-url=URL   ClickHouse HTTP interface (default http://127.0.0.1:8123/)\n"
		"  -d, --database=NAME        database (default logs)\n"
		"  -t, --table=NAME           table (default log)\n"
		"      --batch-bytes=SIZE     largest INSERT body (default 8MiB)\n"
		"      --batch-rows=N         most rows per INSERT (default 1000000)\n"
		"      --retry-now            retry deferred files now, not at their retry time\n"
		"  -F, --follow               keep running: flush new files as they arrive\n"
		"      --follow-delay=TIME    with --follow, wait TIME after a new file (default 200ms)\n"
		"      --metrics-file=PATH    after every run, write Prometheus metrics to PATH\n"
		"      --status               show the spool's backlog and the last run, change nothing\n"
		"      --json                 with --status, as one JSON object\n"
		"      --no-ping              with --status, do not ask ClickHouse\n"
		"      --print-ddl            print the CREATE statements and exit\n"
		"      --print-config         print the effective settings and exit\n"
		"  -v, --verbose              say more (twice for debug messages)\n"
		"  -V, --version              output version information, then exit\n"
		"  -?, --help                 show this help, then exit\n\n"
		"Environment: LOGTHRA_CONFIG, LOGTHRA_SPOOL, LOGTHRA_CLICKHOUSE_URL,\n"
		"LOGTHRA_CLICKHOUSE_USER, LOGTHRA_CLICKHOUSE_PASSWORD and LOGTHRA_<SETTING>.\n"
		"Exit status: 0 done, 65 a file was quarantined, 75 try again later;\n"
		"with --follow, 0 when stopped by SIGTERM or SIGINT; with --status, 0 healthy,\n"
		"1 the spool cannot be read, 2 the last run failed, 3 ClickHouse does not answer.\n",
		lt_progname(), lt_progname(), lt_progname(), LT_DEFAULT_SPOOL);
}

enum { OPT_BATCH_BYTES = 256, OPT_BATCH_ROWS, OPT_PRINT_DDL, OPT_PRINT_CONFIG,
       OPT_RETRY_NOW, OPT_FOLLOW_DELAY, OPT_STATUS, OPT_JSON, OPT_NO_PING,
       OPT_METRICS_FILE };

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
	{"follow", no_argument, NULL, 'F'},
	{"follow-delay", required_argument, NULL, OPT_FOLLOW_DELAY},
	{"print-config", no_argument, NULL, OPT_PRINT_CONFIG},
	{"status", no_argument, NULL, OPT_STATUS},
	{"json", no_argument, NULL, OPT_JSON},
	{"no-ping", no_argument, NULL, OPT_NO_PING},
	{"metrics-file", required_argument, NULL, OPT_METRICS_FILE},
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

/* One flush, its record in SPOOL/flush.state (and the metrics file) and
 * its summary line.  The lock is taken here rather than by
 * lt_flush_run(), so that the record is written under it too.  stdout
 * may be a pipe to a journal, where --follow's lines must show up as
 * they happen. */
static int
flush_once(const struct lt_options *o, int flags)
{
	struct lt_flush_stats st;
	struct timespec t0;
	double took = 0;
	int status = LT_EX_OK, lock_fd = -1;

	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&st, 0, sizeof(st));
	lt_log_clear_last_error();
	if (!(flags & LT_FLUSH_LOCKED))
		status = lt_flush_lock(o, &lock_fd);
	if (status == LT_EX_OK) {
		status = lt_flush_run(o, flags | LT_FLUSH_LOCKED, &st);
		took = seconds_since(&t0);
		lt_status_record_run(o, &st, status, (int64_t)time(NULL),
				     (int64_t)(took * 1e6), lt_log_last_error());
	}
	if (lock_fd >= 0)
		(void)close(lock_fd);
	(void)printf("flushed %zu files, %zu rows, %zu bytes in %.3f s",
		     st.files, st.rows, st.bytes, took);
	if (st.deferred + st.waiting > 0)
		(void)printf("; %zu files wait for a retry", st.deferred + st.waiting);
	if (st.quarantined > 0)
		(void)printf("; %zu files quarantined", st.quarantined);
	(void)printf("\n");
	(void)fflush(stdout);
	lt_flush_stats_free(&st);
	return status;
}

/* --- --follow --- */

static volatile sig_atomic_t stop_requested;

static void
on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

struct follow_ctx {
	const struct lt_options *o;
	int flags;
};

static int
follow_pass(void *arg)
{
	struct follow_ctx *fc = arg;
	int status = flush_once(fc->o, fc->flags);

	/* --retry-now is for the first pass; later ones keep the retry
	 * times. */
	fc->flags &= ~LT_FLUSH_RETRY_NOW;
	return status;
}

/* Handles SIGTERM and SIGINT by setting a flag.  They stay blocked but
 * while lt_follow() waits, so that they never cut a pass short.  SIGINT
 * stays ignored when it was (a background job of a shell without job
 * control), as for any program. */
static int
stop_signals(sigset_t *wait_mask)
{
	struct sigaction sa, old;
	sigset_t block;

	(void)sigemptyset(&block);
	(void)sigaddset(&block, SIGTERM);
	(void)sigaddset(&block, SIGINT);
	if (sigprocmask(SIG_BLOCK, &block, wait_mask) < 0)
		return -1;
	(void)sigdelset(wait_mask, SIGTERM);
	(void)sigdelset(wait_mask, SIGINT);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	(void)sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0 ||
	    sigaction(SIGINT, NULL, &old) < 0 ||
	    (old.sa_handler != SIG_IGN && sigaction(SIGINT, &sa, NULL) < 0))
		return -1;
	return 0;
}

/* Takes the lock for the life of the process (another logthra-flush,
 * say one started by a timer, gives up as it always does), then flushes
 * whenever files arrive until SIGTERM or SIGINT. */
static int
follow(const struct lt_options *o, int flags)
{
	struct follow_ctx fc = {o, flags | LT_FLUSH_LOCKED};
	sigset_t wait_mask;
	int lock_fd = -1, status;

	if (stop_signals(&wait_mask) < 0) {
		lt_error("could not set up signal handling: %m");
		return LT_EX_ERROR;
	}
	status = lt_flush_lock(o, &lock_fd);
	if (status != LT_EX_OK)
		return status;
	status = lt_follow(o, follow_pass, &fc, &stop_requested, &wait_mask) < 0
			 ? LT_EX_ERROR
			 : LT_EX_OK;
	(void)close(lock_fd);
	if (status == LT_EX_OK)
		lt_info("stopped by a signal");
	return status;
}

int
main(int argc, char **argv)
{
	struct lt_cli cli = {0};
	struct lt_options o;
	int c, ddl = 0, show = 0, flags = 0, follow_mode = 0, status;
	int status_mode = 0, json = 0, do_ping = 1;

	/* Before anything is created: the spool needs the group's bits. */
	(void)lt_spool_umask();
	lt_log_init(argv[0]);
	lt_cli_early(argc, argv, usage);
	while ((c = getopt_long(argc, argv, "c:D:U:d:t:FvV?", long_options, NULL)) != -1) {
		switch (c) {
		case 'U': lt_cli_set(&cli, "-U/--clickhouse-url", "clickhouse_url", optarg); break;
		case 'd': lt_cli_set(&cli, "-d/--database", "database", optarg); break;
		case 't': lt_cli_set(&cli, "-t/--table", "table", optarg); break;
		case OPT_BATCH_BYTES: lt_cli_set(&cli, "--batch-bytes", "batch_max_bytes", optarg); break;
		case OPT_BATCH_ROWS: lt_cli_set(&cli, "--batch-rows", "batch_max_rows", optarg); break;
		case OPT_PRINT_DDL: ddl = 1; break;
		case OPT_RETRY_NOW: flags |= LT_FLUSH_RETRY_NOW; break;
		case 'F': follow_mode = 1; break;
		case OPT_FOLLOW_DELAY: lt_cli_set(&cli, "--follow-delay", "follow_delay", optarg); break;
		case OPT_PRINT_CONFIG: show = 1; break;
		case OPT_STATUS: status_mode = 1; break;
		case OPT_JSON: json = 1; break;
		case OPT_NO_PING: do_ping = 0; break;
		case OPT_METRICS_FILE: lt_cli_set(&cli, "--metrics-file", "metrics_file", optarg); break;
		default:
			lt_cli_common(&cli, c, argv, usage);
		}
	}
	lt_cli_operands(argc, argv, 0);
	lt_log_set_verbosity(cli.verbose);
	if ((json || !do_ping) && !status_mode) {
		lt_error("--json and --no-ping go with --status");
		lt_try_help();
		return 1;
	}
	if (lt_cli_apply(&cli, &o) < 0)
		return 1;
	/* --status reads the password file itself, when it may. */
	if (check_names(&o) < 0 ||
	    (!ddl && !show && !status_mode && lt_options_read_password(&o) < 0)) {
		status = 1;
	} else if (status_mode) {
		status = lt_status_main(&o, json, do_ping);
	} else if (ddl) {
		status = print_ddl(&o);
	} else if (show) {
		lt_options_print(&o);
		status = 0;
	} else if (follow_mode) {
		status = follow(&o, flags);
	} else {
		status = flush_once(&o, flags);
	}
	lt_options_free(&o);
	return status;
}
