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
#include "flush_state.h"
#include "follow.h"
#include "log.h"
#include "check_config.h"
#include "options.h"
#include "spool.h"
#include "status.h"
#include "table.h"

static void
usage(void)
{
	(void)printf(
		"%s loads spooled log pushes into ClickHouse.\n\n"
		"Usage:\n"
		"  %s [OPTION]...\n"
		"  %s --status [--json] [--no-ping] [OPTION]...\n"
		"  %s --migrate [--dry-run] [OPTION]...\n"
		"  %s --print-ddl [--server-version=X.Y] [OPTION]...\n\n"
		"Options:\n"
		"  -c, --config=FILE          read settings from FILE\n"
		"  -D, --spool=DIR            spool directory (default %s)\n"
		"  -U, --clickhouse-url=URL   ClickHouse HTTP interface (default http://127.0.0.1:8123/)\n"
		"  -d, --database=NAME        database (default logs)\n"
		"  -t, --table=NAME           table (default log)\n"
		"      --retention=DAYS       keep rows DAYS days (or a time: 12h) in ClickHouse\n"
		"      --cluster=NAME         write to the ClickHouse cluster NAME (remote_servers)\n"
		"      --shard-urls=\"URL...\"  its shards' HTTP interfaces, in shard order\n"
		"      --batch-bytes=SIZE     largest INSERT body (default 8MiB)\n"
		"      --batch-rows=N         most rows per INSERT (default 1000000)\n"
		"      --retry-now            retry deferred files now, not at their retry time\n"
		"  -F, --follow               keep running: flush new files as they arrive\n"
		"      --follow-delay=TIME    with --follow, wait TIME after a new file (default 200ms)\n"
		"      --metrics-file=PATH    after every run, write Prometheus metrics to PATH\n"
		"      --status               show the spool's backlog and the last run, change nothing\n"
		"      --json                 with --status, as one JSON object\n"
		"      --no-ping              with --status, do not ask ClickHouse\n"
		"      --migrate              make the safe changes the table lacks, then exit\n"
		"      --dry-run              with --migrate, print them, change nothing\n"
		"      --print-ddl            print the CREATE statements for the server and exit\n"
		"      --server-version=X.Y   with --print-ddl, for that version, not connecting\n"
		"      --print-config         print the effective settings and exit\n"
		"      --check-config         check the configuration file and the\n"
		"                             password file, then exit\n"
		"  -v, --verbose              say more (twice for debug messages)\n"
		"  -V, --version              output version information, then exit\n"
		"  -?, --help                 show this help, then exit\n\n"
		"Environment: LOGTHRA_CONFIG, LOGTHRA_SPOOL, LOGTHRA_CLICKHOUSE_URL,\n"
		"LOGTHRA_CLICKHOUSE_USER, LOGTHRA_CLICKHOUSE_PASSWORD and LOGTHRA_<SETTING>.\n"
		"Exit status: 0 done, 65 a file was quarantined, 75 try again later;\n"
		"with --follow, 0 when stopped by SIGTERM or SIGINT; with --status, 0 healthy,\n"
		"1 the spool cannot be read, 2 the last run failed, 3 ClickHouse does not answer.\n",
		lt_progname(), lt_progname(), lt_progname(), lt_progname(),
		lt_progname(), LT_DEFAULT_SPOOL);
}

enum { OPT_BATCH_BYTES = 256, OPT_BATCH_ROWS, OPT_PRINT_DDL, OPT_PRINT_CONFIG,
       OPT_CHECK_CONFIG, OPT_RETRY_NOW, OPT_FOLLOW_DELAY, OPT_STATUS, OPT_JSON, OPT_NO_PING,
       OPT_METRICS_FILE, OPT_RETENTION, OPT_MIGRATE, OPT_DRY_RUN,
       OPT_SERVER_VERSION, OPT_CLUSTER, OPT_SHARD_URLS };

static const struct option long_options[] = {
	{"config", required_argument, NULL, 'c'},
	{"spool", required_argument, NULL, 'D'},
	{"clickhouse-url", required_argument, NULL, 'U'},
	{"database", required_argument, NULL, 'd'},
	{"table", required_argument, NULL, 't'},
	{"batch-bytes", required_argument, NULL, OPT_BATCH_BYTES},
	{"batch-rows", required_argument, NULL, OPT_BATCH_ROWS},
	{"print-ddl", no_argument, NULL, OPT_PRINT_DDL},
	{"server-version", required_argument, NULL, OPT_SERVER_VERSION},
	{"retention", required_argument, NULL, OPT_RETENTION},
	{"cluster", required_argument, NULL, OPT_CLUSTER},
	{"shard-urls", required_argument, NULL, OPT_SHARD_URLS},
	{"migrate", no_argument, NULL, OPT_MIGRATE},
	{"dry-run", no_argument, NULL, OPT_DRY_RUN},
	{"retry-now", no_argument, NULL, OPT_RETRY_NOW},
	{"follow", no_argument, NULL, 'F'},
	{"follow-delay", required_argument, NULL, OPT_FOLLOW_DELAY},
	{"print-config", no_argument, NULL, OPT_PRINT_CONFIG},
	{"check-config", no_argument, NULL, OPT_CHECK_CONFIG},
	{"status", no_argument, NULL, OPT_STATUS},
	{"json", no_argument, NULL, OPT_JSON},
	{"no-ping", no_argument, NULL, OPT_NO_PING},
	{"metrics-file", required_argument, NULL, OPT_METRICS_FILE},
	{"verbose", no_argument, NULL, 'v'},
	{"version", no_argument, NULL, 'V'},
	{"help", no_argument, NULL, '?'},
	{NULL, 0, NULL, 0},
};

static struct lt_ch *
connect_clickhouse(const struct lt_options *o)
{
	struct lt_ch_options co = lt_flush_ch_options(o);
	struct lt_ch *ch = lt_ch_open(&co);

	if (ch == NULL)
		lt_error("could not initialize libcurl");
	return ch;
}

/* The server's version: from --server-version, or asked. */
static int
server_version(const struct lt_options *o, const char *given,
	       struct lt_ch_version *v)
{
	struct lt_ch_error err;
	struct lt_ch *ch;
	int rc;

	if (given != NULL) {
		if (lt_ch_version_parse(given, v) == 0)
			return 0;
		lt_error("invalid --server-version \"%s\"", given);
		lt_hint("Give a ClickHouse release as MAJOR.MINOR, such as 18.16 or 24.8.");
		return -1;
	}
	ch = connect_clickhouse(o);
	if (ch == NULL)
		return -1;
	rc = lt_table_server_version(ch, v, &err);
	if (rc < 0) {
		lt_error("could not ask ClickHouse at %s for its version", o->clickhouse_url);
		lt_detail("%s", err.message);
		lt_hint("--server-version=X.Y prints the statements for that version without connecting.");
	}
	lt_ch_close(ch);
	return rc;
}

static int
write_out(const struct lt_buf *b)
{
	if (fwrite(b->data, 1, b->len, stdout) != b->len || fflush(stdout) != 0) {
		lt_error("could not write to standard output: %m");
		return -1;
	}
	return 0;
}

static const char *
layout_name(const struct lt_table_spec *s)
{
	if (s->layout == LT_LAYOUT_PORTABLE)
		return "the portable layout, retention by dropping old days";
	return s->index == LT_INDEX_TEXT ? "the current layout, with the text index"
					 : "the current layout, with tokenbf_v1";
}

static int
print_ddl(const struct lt_options *o, const char *given_version)
{
	struct lt_buf ddl = LT_BUF_INIT;
	struct lt_tenant_retention *tenants = NULL;
	struct lt_table_spec spec;
	struct lt_ch_version v;
	int rc = 1;

	if (server_version(o, given_version, &v) < 0)
		return 1;
	if (lt_flush_table_spec(o, &v, &spec, &tenants) < 0 ||
	    lt_buf_printf(&ddl, "-- Logthra's table for ClickHouse %d.%d: %s%s%s.\n",
			  v.major, v.minor, layout_name(&spec),
			  spec.cluster ? "; cluster " : "",
			  spec.cluster ? spec.cluster : "") < 0 ||
	    lt_table_ddl(&ddl, &spec) < 0)
		lt_error("out of memory");
	else if (write_out(&ddl) == 0)
		rc = 0;
	free(tenants);
	lt_buf_free(&ddl);
	return rc;
}

/* Prints a statement of --migrate and, unless dry_run, sends it.
 * Returns 0, or -1 (logged) when ClickHouse refused it. */
static int
migrate_statement(struct lt_ch *ch, const char *sql, int dry_run)
{
	struct lt_ch_error err;

	(void)printf("%s;\n", sql);
	if (dry_run)
		return 0;
	if (lt_ch_query(ch, sql, NULL, &err) < 0) {
		lt_error("ClickHouse refused the change");
		lt_detail("%s", err.message);
		lt_hint("The changes printed before this one were made.");
		return -1;
	}
	return 0;
}

/* The streams index's part of --migrate (logthra(7), THE STREAMS
 * INDEX): its table when missing, then, on each server that holds rows
 * (each shard of a cluster), the days of the logs table with streams it
 * lacks, filled in a day at a time. */
struct streams_plan {
	int present;
	struct lt_ch **servers;
	size_t n_servers;
	int own_servers;      /* the shards' connections, ours to close */
	int32_t **days;       /* per server */
	int *n_days;
	struct lt_buf alters; /* of an existing table's TTL, ";\n" after each */
	int changes;
};

static void
streams_plan_free(struct streams_plan *p)
{
	size_t k;

	for (k = 0; k < p->n_servers; k++) {
		if (p->own_servers)
			lt_ch_close(p->servers[k]);
		if (p->days != NULL)
			free(p->days[k]);
	}
	if (p->own_servers)
		free(p->servers);
	free(p->days);
	free(p->n_days);
	lt_buf_free(&p->alters);
}

/* Asks what is to be done.  Returns LT_EX_OK, or another status. */
static int
plan_streams(const struct lt_options *o, struct lt_ch **ch,
	     const struct lt_table_spec *spec, struct streams_plan *p)
{
	struct lt_ch_error err;
	size_t k;
	int n;

	memset(p, 0, sizeof(*p));
	p->present = lt_table_streams_present(*ch, spec, &err);
	if (p->present < 0) {
		lt_error("could not ask ClickHouse whether the streams index exists");
		lt_detail("%s", err.message);
		return LT_EX_TEMPFAIL;
	}
	p->changes = p->present ? 0 : 1 + (spec->cluster != NULL);
	if (p->present) {
		struct lt_buf create = LT_BUF_INIT;

		n = lt_table_streams_show(*ch, spec, &create, &err);
		if (n == 0)
			n = lt_table_streams_migrations(spec, (char *)create.data, &p->alters);
		lt_buf_free(&create);
		if (n < 0 || lt_buf_terminate(&p->alters) < 0) {
			lt_error("could not read the streams index's table");
			lt_detail("%s", err.message);
			return LT_EX_TEMPFAIL;
		}
		p->changes += n;
	}
	if (o->cluster == NULL) {
		p->servers = ch;
		p->n_servers = 1;
	} else {
		p->own_servers = 1;
		if (lt_flush_open_shards(o, &p->servers, &p->n_servers) < 0)
			return LT_EX_ERROR;
	}
	p->days = calloc(p->n_servers, sizeof(*p->days));
	p->n_days = calloc(p->n_servers, sizeof(*p->n_days));
	if (p->days == NULL || p->n_days == NULL) {
		lt_error("out of memory");
		return LT_EX_ERROR;
	}
	for (k = 0; k < p->n_servers; k++) {
		n = lt_table_streams_missing_days(p->servers[k], spec, p->present,
						  &p->days[k], &err);
		if (n < 0) {
			lt_error("could not ask ClickHouse which days the streams index lacks");
			lt_detail("%s", err.message);
			return LT_EX_TEMPFAIL;
		}
		p->n_days[k] = n;
		p->changes += n;
	}
	return LT_EX_OK;
}

/* Prints and (unless dry_run) makes the changes of the plan. */
static int
carry_out_streams(struct lt_ch *ch, const struct lt_table_spec *spec,
		  enum lt_table_layout logs_layout, const struct streams_plan *p,
		  int dry_run)
{
	struct lt_buf sql = LT_BUF_INIT;
	int i, n = 0, rc = LT_EX_TEMPFAIL;
	size_t k;

	char *stmt, *end;

	for (i = 0; !p->present && (n = lt_table_streams_ddl_statement(&sql, spec, i)) == 0; i++)
		if (migrate_statement(ch, (char *)sql.data, dry_run) < 0)
			goto out;
	if (n < 0) {
		lt_error("out of memory");
		goto out;
	}
	for (stmt = (char *)p->alters.data; stmt != NULL && (end = strchr(stmt, '\n')) != NULL;
	     stmt = end + 1) {
		end[-1] = '\0'; /* the ';' */
		if (migrate_statement(ch, stmt, dry_run) < 0)
			goto out;
	}
	for (k = 0; k < p->n_servers; k++) {
		for (i = 0; i < p->n_days[k]; i++) {
			lt_buf_reset(&sql);
			if (lt_table_streams_backfill_sql(&sql, spec, logs_layout,
							  p->days[k][i]) < 0) {
				lt_error("out of memory");
				goto out;
			}
			if (migrate_statement(p->servers[k], (char *)sql.data, dry_run) < 0)
				goto out;
		}
	}
	rc = LT_EX_OK;
out:
	lt_buf_free(&sql);
	return rc;
}

/* --migrate: reads the table, prints the changes, makes them unless
 * dry_run. */
static int
migrate(const struct lt_options *o, int dry_run)
{
	struct lt_buf alters = LT_BUF_INIT, left = LT_BUF_INIT;
	struct lt_tenant_retention *tenants = NULL;
	struct lt_table_found found;
	struct lt_table_spec spec;
	struct lt_ch_version v;
	struct lt_ch_error err;
	struct lt_ch *ch = connect_clickhouse(o);
	struct streams_plan plan = {0};
	char *stmt, *end;
	int n, rc = LT_EX_TEMPFAIL;

	if (ch == NULL)
		return LT_EX_ERROR;
	if (lt_table_server_version(ch, &v, &err) < 0 ||
	    lt_flush_table_spec(o, &v, &spec, &tenants) < 0 ||
	    lt_table_fetch(ch, &spec, &found, &err) < 0) {
		lt_error("could not read table %s.%s from ClickHouse at %s",
			 o->database, o->table, o->clickhouse_url);
		lt_detail("%s", err.message);
		goto out;
	}
	rc = LT_EX_ERROR;
	n = lt_table_migrations(&spec, &found, &alters, &left);
	if (n < 0 || lt_buf_terminate(&alters) < 0 || lt_buf_terminate(&left) < 0) {
		lt_error("out of memory");
		goto out;
	}
	if (found.exists && (rc = plan_streams(o, &ch, &spec, &plan)) != LT_EX_OK)
		goto out;
	if (!found.exists)
		(void)printf("-- %s.%s does not exist: logthra-flush creates it as --print-ddl shows.\n",
			     o->database, o->table);
	else if (n == 0 && plan.changes == 0)
		(void)printf("-- %s.%s needs no change that --migrate makes (ClickHouse %d.%d).\n",
			     o->database, o->table, v.major, v.minor);
	for (stmt = (char *)left.data; (end = strchr(stmt, '\n')) != NULL; stmt = end + 1)
		(void)printf("-- not changed: %.*s\n", (int)(end - stmt), stmt);
	rc = LT_EX_OK;
	for (stmt = (char *)alters.data; (end = strchr(stmt, '\n')) != NULL; stmt = end + 1) {
		*end = '\0';
		end[-1] = '\0'; /* the ';' */
		if (migrate_statement(ch, stmt, dry_run) < 0) {
			rc = LT_EX_TEMPFAIL;
			break;
		}
	}
	if (rc == LT_EX_OK && found.exists)
		rc = carry_out_streams(ch, &spec, found.layout, &plan, dry_run);
	if (fflush(stdout) != 0) {
		lt_error("could not write to standard output: %m");
		rc = LT_EX_ERROR;
	}
out:
	streams_plan_free(&plan);
	free(tenants);
	lt_buf_free(&alters);
	lt_buf_free(&left);
	lt_ch_close(ch);
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
	if (o->cluster == NULL) {
		struct lt_table_spec s = {.database = o->database, .table = o->table};
		char name[LT_TABLE_NAME_SIZE];

		if (lt_table_streams_name(&s, 0, name, sizeof(name)) < 0) {
			lt_error("table name \"%s\" is too long", o->table);
			lt_hint("The streams index beside it is TABLE_streams, at most 64 characters.");
			return -1;
		}
	} else {
		struct lt_table_spec s = {.database = o->database, .table = o->table};

		if (!lt_ch_identifier_valid(o->cluster)) {
			lt_error("invalid cluster name \"%s\"", o->cluster);
			lt_hint("Use letters, digits and underscores, starting with a letter or underscore.");
			return -1;
		}
		if (lt_table_set_cluster(&s, o->cluster) < 0) {
			lt_error("table name \"%s\" is too long for a cluster", o->table);
			lt_hint("The shards' tables are named TABLE_local and TABLE_streams_local, at most 64 characters.");
			return -1;
		}
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
		lt_state_record_run(o, &st, status, (int64_t)time(NULL),
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

/* What a run does: the modes of the command line, one at a time. */
enum mode { MODE_FLUSH, MODE_FOLLOW, MODE_STATUS, MODE_PRINT_DDL,
	    MODE_MIGRATE, MODE_PRINT_CONFIG, MODE_CHECK_CONFIG };

/* The command line, beyond the settings. */
struct args {
	struct lt_cli_mode mode;
	int flags;                /* LT_FLUSH_*, for a flush or --follow */
	int json, do_ping;        /* --status */
	int dry_run;              /* --migrate */
	const char *given_version; /* --print-ddl */
};

/* The options that qualify a mode go with it alone. */
static int
check_qualifiers(const struct args *a)
{
	int mode = a->mode.mode;
	const char *msg = NULL;

	if ((a->json || !a->do_ping) && mode != MODE_STATUS)
		msg = "--json and --no-ping go with --status";
	else if (a->dry_run && mode != MODE_MIGRATE)
		msg = "--dry-run goes with --migrate";
	else if (a->given_version != NULL && mode != MODE_PRINT_DDL)
		msg = "--server-version goes with --print-ddl";
	if (msg == NULL)
		return 0;
	lt_error("%s", msg);
	lt_try_help();
	return -1;
}

/* Every mode's home.  The names are checked first; the password file
 * is read by the modes that talk to ClickHouse. */
static int
run_mode(struct lt_options *o, const struct args *a)
{
	enum mode mode = (enum mode)a->mode.mode;

	if (check_names(o) < 0)
		return 1;
	switch (mode) {
	case MODE_CHECK_CONFIG:
		break; /* answered before the settings were applied: main() */
	case MODE_STATUS: /* reads the password file itself, when it may */
		return lt_status_main(o, a->json, a->do_ping);
	case MODE_PRINT_CONFIG:
		lt_options_print(o);
		return 0;
	case MODE_PRINT_DDL: /* asks ClickHouse its version unless given */
		if (a->given_version == NULL && lt_options_read_password(o) < 0)
			return 1;
		return print_ddl(o, a->given_version);
	case MODE_MIGRATE:
		return lt_options_read_password(o) < 0 ? 1 : migrate(o, a->dry_run);
	case MODE_FOLLOW:
		return lt_options_read_password(o) < 0 ? 1 : follow(o, a->flags);
	case MODE_FLUSH:
		return lt_options_read_password(o) < 0 ? 1 : flush_once(o, a->flags);
	}
	return 1;
}

int
main(int argc, char **argv)
{
	struct lt_cli cli = {0};
	struct lt_options o;
	struct args a = {.do_ping = 1};
	int c, rc = 0, status;
	char days[32];

	/* Before anything is created: the spool needs the group's bits. */
	(void)lt_spool_umask();
	lt_log_init(argv[0]);
	lt_cli_early(argc, argv, usage);
	while (rc == 0 &&
	       (c = getopt_long(argc, argv, "c:D:U:d:t:FvV?", long_options, NULL)) != -1) {
		switch (c) {
		case 'U': lt_cli_set(&cli, "-U/--clickhouse-url", "clickhouse_url", optarg); break;
		case 'd': lt_cli_set(&cli, "-d/--database", "database", optarg); break;
		case 't': lt_cli_set(&cli, "-t/--table", "table", optarg); break;
		case OPT_BATCH_BYTES: lt_cli_set(&cli, "--batch-bytes", "batch_max_bytes", optarg); break;
		case OPT_BATCH_ROWS: lt_cli_set(&cli, "--batch-rows", "batch_max_rows", optarg); break;
		case OPT_PRINT_DDL: rc = lt_cli_mode(&a.mode, MODE_PRINT_DDL, "--print-ddl"); break;
		case OPT_SERVER_VERSION: a.given_version = optarg; break;
		case OPT_MIGRATE: rc = lt_cli_mode(&a.mode, MODE_MIGRATE, "--migrate"); break;
		case OPT_CLUSTER: lt_cli_set(&cli, "--cluster", "cluster", optarg); break;
		case OPT_SHARD_URLS: lt_cli_set(&cli, "--shard-urls", "shard_urls", optarg); break;
		case OPT_DRY_RUN: a.dry_run = 1; break;
		case OPT_RETENTION:
			/* A bare number is days, as the option's name says. */
			if (optarg[0] != '\0' && strspn(optarg, "0123456789") == strlen(optarg) &&
			    strlen(optarg) < sizeof(days) - 1) {
				(void)snprintf(days, sizeof(days), "%sd", optarg);
				lt_cli_set(&cli, "--retention", "retention", days);
			} else {
				lt_cli_set(&cli, "--retention", "retention", optarg);
			}
			break;
		case OPT_RETRY_NOW: a.flags |= LT_FLUSH_RETRY_NOW; break;
		case 'F': rc = lt_cli_mode(&a.mode, MODE_FOLLOW, "-F/--follow"); break;
		case OPT_FOLLOW_DELAY: lt_cli_set(&cli, "--follow-delay", "follow_delay", optarg); break;
		case OPT_PRINT_CONFIG: rc = lt_cli_mode(&a.mode, MODE_PRINT_CONFIG, "--print-config"); break;
		case OPT_CHECK_CONFIG: rc = lt_cli_mode(&a.mode, MODE_CHECK_CONFIG, "--check-config"); break;
		case OPT_STATUS: rc = lt_cli_mode(&a.mode, MODE_STATUS, "--status"); break;
		case OPT_JSON: a.json = 1; break;
		case OPT_NO_PING: a.do_ping = 0; break;
		case OPT_METRICS_FILE: lt_cli_set(&cli, "--metrics-file", "metrics_file", optarg); break;
		default:
			lt_cli_common(&cli, c, argv, usage);
		}
	}
	if (rc < 0)
		return 1;
	lt_cli_operands(argc, argv, 0);
	lt_log_set_verbosity(cli.verbose);
	if (check_qualifiers(&a) < 0)
		return 1;
	/* --check-config loads the configuration itself, to report on it. */
	if (a.mode.mode == MODE_CHECK_CONFIG)
		return lt_cli_check_config(&cli, LT_CHECK_PASSWORD, check_names);
	if (lt_cli_apply(&cli, &o) < 0)
		return 1;
	status = run_mode(&o, &a);
	lt_options_free(&o);
	return status;
}
