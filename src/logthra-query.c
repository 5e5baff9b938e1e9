/* logthra-query: answers Loki's query API (LogQL log queries, labels,
 * series) from ClickHouse, as a CGI program, an inetd service or a
 * terminal command.  See logthra-query(1). */
#include "config.h"

#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "config_error.h"
#include "flush.h"
#include "http.h"
#include "log.h"
#include "check_config.h"
#include "clock.h"
#include "options.h"
#include "query_cli.h"
#include "query_http.h"
#include "recv.h"

/* logcli's default: a terminal shows a screenful. */
#define CLI_DEFAULT_LIMIT "30"

enum mode { MODE_AUTO, MODE_CGI, MODE_INETD, MODE_COMMAND };
/* What a run does: serve or query (in the mode above), unless an option
 * asks for one of the others. */
enum action { ACT_SERVE, ACT_PRINT_CONFIG, ACT_CHECK_CONFIG };
enum output { OUT_LINES, OUT_JSON };

static void
usage(void)
{
	(void)printf(
		"%s answers Loki's query API (LogQL log and metric queries, labels,\n"
		"series, volume) from ClickHouse.\n\n"
		"Usage:\n"
		"  %s [OPTION]...             as CGI or inetd service\n"
		"  %s [OPTION]... QUERY       run a query, print what it finds\n\n"
		"Options:\n"
		"  -c, --config=FILE          read settings from FILE\n"
		"  -m, --mode=MODE            cgi, inetd or command (default: chosen from\n"
		"                             GATEWAY_INTERFACE and standard input)\n"
		"  -T, --tenant=TENANT        tenant to query (command; default_tenant)\n"
		"      --since=DURATION       how far back from --to (default 1h)\n"
		"      --from=TIME            start of the range (RFC3339 or unix time)\n"
		"      --to=TIME              end of the range (default: now)\n"
		"      --limit=N              at most N entries (default %s)\n"
		"      --forward              oldest first (default: newest first)\n"
		"      --step=DURATION        a metric query's resolution (default:\n"
		"                             the range / 250, at least 1s)\n"
		"      --instant              a metric query at --to only\n"
		"  -o, --output=FORMAT        lines or json (default lines)\n"
		"      --default-tenant=TENANT  tenant of requests that name none\n"
		"      --print-config         print the effective settings and exit\n"
		"      --check-config         check the configuration file, the\n"
		"                             credentials file and the password file,\n"
		"                             then exit\n"
		"  -v, --verbose              say more (twice for debug messages)\n"
		"  -V, --version              output version information, then exit\n"
		"  -?, --help                 show this help, then exit\n\n"
		"Endpoints: GET or POST /loki/api/v1/query_range, /query, /labels,\n"
		"/label/NAME/values, /series, /index/stats, /status/buildinfo and /ready;\n"
		"/loki/api/v1/tail (a WebSocket) in inetd mode only;\n"
		"tenant from the X-Scope-OrgID or tenant-id header.\n",
		lt_progname(), lt_progname(), lt_progname(), CLI_DEFAULT_LIMIT);
}

enum {
	OPT_DEFAULT_TENANT = 256, OPT_PRINT_CONFIG, OPT_SINCE, OPT_FROM,
	OPT_TO, OPT_LIMIT, OPT_FORWARD, OPT_STEP, OPT_INSTANT, OPT_CHECK_CONFIG,
};

static const struct option long_options[] = {
	{"config", required_argument, NULL, 'c'},
	{"mode", required_argument, NULL, 'm'},
	{"tenant", required_argument, NULL, 'T'},
	{"output", required_argument, NULL, 'o'},
	{"since", required_argument, NULL, OPT_SINCE},
	{"from", required_argument, NULL, OPT_FROM},
	{"to", required_argument, NULL, OPT_TO},
	{"limit", required_argument, NULL, OPT_LIMIT},
	{"forward", no_argument, NULL, OPT_FORWARD},
	{"step", required_argument, NULL, OPT_STEP},
	{"instant", no_argument, NULL, OPT_INSTANT},
	{"default-tenant", required_argument, NULL, OPT_DEFAULT_TENANT},
	{"print-config", no_argument, NULL, OPT_PRINT_CONFIG},
	{"check-config", no_argument, NULL, OPT_CHECK_CONFIG},
	{"verbose", no_argument, NULL, 'v'},
	{"version", no_argument, NULL, 'V'},
	{"help", no_argument, NULL, '?'},
	{NULL, 0, NULL, 0},
};

/* What the command line asks of a command-mode query. */
struct command {
	const char *tenant;
	const char *since, *from, *to, *limit, *step;
	int forward;
	int instant;
	enum output output;
};

static enum mode
auto_mode(void)
{
	struct stat st;

	if (getenv("GATEWAY_INTERFACE") != NULL)
		return MODE_CGI;
	if (fstat(STDIN_FILENO, &st) == 0 && S_ISSOCK(st.st_mode))
		return MODE_INETD;
	return MODE_COMMAND;
}

static int
run_cgi(const struct lt_options *o)
{
	struct lt_request req;
	struct lt_response resp = {0};

	lt_request_init(&req);
	if (lt_cgi_read_head(&req, &resp) == 0) {
		lt_query_serve_cgi(o, &lt_query_clickhouse, &req, STDIN_FILENO,
				   STDOUT_FILENO);
	} else if (lt_cgi_write_response(STDOUT_FILENO, &resp) < 0) {
		lt_error("could not write the CGI response: %m");
	}
	lt_request_free(&req);
	return 0;
}

static int
serve_one(struct lt_options *o, struct lt_conn *c, struct lt_auth **auth)
{
	struct lt_request req;
	struct lt_response resp = {0};
	enum lt_read_result rr;
	int keep = 0;

	lt_request_init(&req);
	rr = lt_http_read_head(c, &req, &o->http, &resp);
	if (rr == LT_READ_CLOSED)
		goto out;
	if (rr == LT_READ_ERROR) {
		if (lt_http_write_response(c, &resp, 0) == 0)
			lt_conn_linger(c, 2000);
		goto out;
	}
	(void)lt_recv_load_auth(o, auth);
	keep = lt_query_serve_conn(o, &lt_query_clickhouse, c, &req);
out:
	lt_request_free(&req);
	return keep;
}

static int
run_inetd(struct lt_options *o)
{
	struct lt_auth *auth = NULL;
	struct lt_conn *c;

	(void)signal(SIGPIPE, SIG_IGN);
	c = malloc(sizeof(*c));
	if (c == NULL) {
		lt_error("out of memory");
		return 1;
	}
	lt_conn_init(c, STDIN_FILENO, STDOUT_FILENO);
	while (serve_one(o, c, &auth))
		;
	lt_auth_free(auth);
	o->auth = NULL;
	free(c);
	return 0;
}

/* --- Command mode --- */

static int
buf_sink_write(void *ctx, const void *data, size_t len)
{
	return lt_buf_append(ctx, data, len);
}

static int
file_sink_write(void *ctx, const void *data, size_t len)
{
	return fwrite(data, 1, len, ctx) == len ? 0 : -1;
}

/* The exit status for an error the front or the engine answered. */
static int
error_status(const struct lt_query_error *err)
{
	if (err->status >= 500)
		return LT_EX_TEMPFAIL;
	return LT_EX_DATAERR;
}

static void
report(const struct lt_query_error *err)
{
	lt_error("%s", err->message);
	if (strstr(err->message, "parse error") != NULL)
		lt_hint("See logthra-query(1), LOGQL, for the queries it takes.");
	else if (strstr(err->message, "max_entries_limit_per_query") != NULL)
		lt_hint("Ask for fewer entries with --limit, or raise max_entries_limit_per_query.");
	else if (strstr(err->message, "time range exceeds") != NULL)
		lt_hint("Shorten the range with --since or --from/--to, or raise max_query_length.");
	else if (strstr(err->message, "'start'") != NULL ||
		 strstr(err->message, "'end'") != NULL)
		lt_hint("Give --from and --to as RFC3339 (2024-05-01T12:00:00Z) or unix time.");
	else if (err->status >= 500)
		lt_hint("Check clickhouse_url and the table settings (%s).",
			"logthra-query --print-config shows them");
}

static int
build_form(struct lt_form *form, const char *query, const struct command *cmd)
{
	return lt_form_add(form, "query", query) < 0 ||
	       lt_form_add(form, "limit", cmd->limit ? cmd->limit
						     : CLI_DEFAULT_LIMIT) < 0 ||
	       lt_form_add(form, "direction",
			   cmd->forward ? "forward" : "backward") < 0 ||
	       (cmd->since && lt_form_add(form, "since", cmd->since) < 0) ||
	       (cmd->from && lt_form_add(form, "start", cmd->from) < 0) ||
	       (cmd->to && lt_form_add(form, "end", cmd->to) < 0) ||
	       (cmd->to && cmd->instant && lt_form_add(form, "time", cmd->to) < 0) ||
	       (cmd->step && lt_form_add(form, "step", cmd->step) < 0)
		       ? -1 : 0;
}

/* Whether an answer is a log query's: the engine writes resultType
 * first, so its opening says. */
static int
is_streams(const struct lt_buf *answer)
{
	static const char head[] =
		"{\"status\":\"success\",\"data\":{\"resultType\":\"streams\"";

	return answer->len >= sizeof(head) - 1 &&
	       memcmp(answer->data, head, sizeof(head) - 1) == 0;
}

static int
run_command(const struct lt_options *o, const struct command *cmd,
	    const char *query)
{
	struct lt_buf answer = LT_BUF_INIT;
	struct lt_query_sink sink;
	struct lt_query_error err;
	struct lt_form form;
	const char *tenant = cmd->tenant ? cmd->tenant : o->default_tenant;
	const char *why;
	char msg[512];
	int status = LT_EX_ERROR;

	lt_form_init(&form);
	if (tenant == NULL) {
		lt_error("no tenant given");
		lt_hint("Name the tenant with -T/--tenant, or set default_tenant.");
		goto out;
	}
	if (lt_tenant_valid(tenant, &why) < 0) {
		lt_error("invalid tenant id \"%s\": %s", tenant, why);
		goto out;
	}
	if (build_form(&form, query, cmd) < 0) {
		lt_error("out of memory");
		goto out;
	}
	/* JSON goes out as it is made; lines need every stream first, to
	 * put entries in time order across them. */
	if (cmd->output == OUT_JSON) {
		sink.write = file_sink_write;
		sink.ctx = stdout;
	} else {
		sink.write = buf_sink_write;
		sink.ctx = &answer;
	}
	if (lt_query_run(o, &lt_query_clickhouse,
			 cmd->instant ? LT_EP_QUERY : LT_EP_QUERY_RANGE, NULL,
			 tenant, &form, lt_now_ns(), &sink, &err) < 0) {
		report(&err);
		status = error_status(&err);
		goto out;
	}
	if (cmd->output == OUT_JSON) {
		if (fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
			lt_error("could not write the output: %m");
			goto out;
		}
	} else if (!is_streams(&answer)) {
		/* A metric query's matrix or vector: as logcli does, the
		 * answer as it is. */
		if (fwrite(answer.data, 1, answer.len, stdout) != answer.len ||
		    fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
			lt_error("could not write the output: %m");
			goto out;
		}
	} else if (lt_query_print_lines((const char *)answer.data, answer.len,
					cmd->forward, stdout, msg,
					sizeof(msg)) < 0 ||
		   fflush(stdout) != 0) {
		lt_error("%s", msg);
		goto out;
	}
	status = LT_EX_OK;
out:
	lt_form_free(&form);
	lt_buf_free(&answer);
	return status;
}

static int
parse_mode(const char *s, enum mode *m)
{
	if (strcmp(s, "cgi") == 0)
		*m = MODE_CGI;
	else if (strcmp(s, "inetd") == 0)
		*m = MODE_INETD;
	else if (strcmp(s, "command") == 0)
		*m = MODE_COMMAND;
	else
		return -1;
	return 0;
}

/* Checks a --from or --to as the front will read it, to fail with the
 * option's name rather than the parameter's. */
static void
check_time(const char *option, const char *value)
{
	char why[512];
	int64_t ns;

	if (lt_query_parse_time(value, &ns, why, sizeof(why)) == 0)
		return;
	lt_error("invalid time \"%s\" for option %s: %s", value, option, why);
	lt_hint("Use RFC3339 (2024-05-01T12:00:00Z), unix seconds or nanoseconds.");
	exit(1);
}

/* Reads the command line into cli, cmd, mode and action.  Returns 0, or
 * -1 after the message (the caller exits with status 1). */
static int
read_options(int argc, char **argv, struct lt_cli *cli, struct command *cmd,
	     enum mode *mode, struct lt_cli_mode *action)
{
	int64_t ns;
	int c, rc = 0;

	while (rc == 0 &&
	       (c = getopt_long(argc, argv, "c:m:T:o:vV?", long_options, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (parse_mode(optarg, mode) < 0) {
				lt_error("invalid mode \"%s\" for option -m/--mode: use cgi, inetd or command", optarg);
				lt_try_help();
				return -1;
			}
			break;
		case 'T': cmd->tenant = optarg; break;
		case 'o':
			if (strcmp(optarg, "lines") == 0) {
				cmd->output = OUT_LINES;
			} else if (strcmp(optarg, "json") == 0) {
				cmd->output = OUT_JSON;
			} else {
				lt_error("invalid output \"%s\" for option -o/--output: use lines or json", optarg);
				lt_try_help();
				return -1;
			}
			break;
		case OPT_SINCE:
			if (lt_prom_duration(optarg, &ns) < 0) {
				lt_error("invalid duration \"%s\" for option --since", optarg);
				lt_hint("Use 30m, 1h, 7d or 1h30m.");
				return -1;
			}
			cmd->since = optarg;
			break;
		case OPT_FROM: check_time("--from", optarg); cmd->from = optarg; break;
		case OPT_TO: check_time("--to", optarg); cmd->to = optarg; break;
		case OPT_LIMIT: cmd->limit = optarg; break;
		case OPT_FORWARD: cmd->forward = 1; break;
		case OPT_STEP: cmd->step = optarg; break;
		case OPT_INSTANT: cmd->instant = 1; break;
		case OPT_DEFAULT_TENANT: lt_cli_set(cli, "--default-tenant", "default_tenant", optarg); break;
		case OPT_PRINT_CONFIG: rc = lt_cli_mode(action, ACT_PRINT_CONFIG, "--print-config"); break;
		case OPT_CHECK_CONFIG: rc = lt_cli_mode(action, ACT_CHECK_CONFIG, "--check-config"); break;
		default:
			lt_cli_common(cli, c, argv, usage);
		}
	}
	return rc;
}

int
main(int argc, char **argv)
{
	struct lt_cli cli = {0};
	struct lt_options o;
	struct command cmd = {0};
	enum mode mode = MODE_AUTO;
	struct lt_auth *auth = NULL;
	struct lt_cli_mode action = {0};
	int status;

	lt_log_init(argv[0]);
	lt_cli_early(argc, argv, usage);
	if (read_options(argc, argv, &cli, &cmd, &mode, &action) < 0)
		return 1;
	if (mode == MODE_AUTO)
		mode = optind < argc ? MODE_COMMAND : auto_mode();
	/* A QUERY is command mode's, which no other action takes. */
	lt_cli_operands(argc, argv,
			action.mode == ACT_SERVE && mode == MODE_COMMAND ? 1 : 0);
	if (mode == MODE_COMMAND && action.mode == ACT_SERVE && optind == argc) {
		lt_error("no query given");
		lt_hint("Run, for example: %s '{app=\"api\"} |= \"error\"' --since=1h",
			lt_progname());
		return 1;
	}
	lt_log_set_verbosity(cli.verbose);
	if (action.mode == ACT_CHECK_CONFIG)
		return lt_cli_check_config(&cli, LT_CHECK_CREDENTIALS |
					   LT_CHECK_PASSWORD, NULL);
	if (mode == MODE_INETD && action.mode != ACT_PRINT_CONFIG)
		lt_log_keep_stderr_off_the_wire(); /* before anything is logged */
	if (lt_cli_apply(&cli, &o) < 0) {
		/* Every request still gets an answer: 500 and the error. */
		if (action.mode != ACT_PRINT_CONFIG &&
		    (mode == MODE_CGI || mode == MODE_INETD))
			lt_config_error_serve(mode == MODE_CGI,
					      lt_log_last_error());
		return 1;
	}
	if (action.mode == ACT_PRINT_CONFIG) {
		lt_options_print(&o);
		status = 0;
	} else if (mode == MODE_COMMAND && lt_options_read_password(&o) < 0) {
		status = 1;
	} else if (mode == MODE_CGI) {
		/* Every request still gets an answer: without the password,
		 * ClickHouse's refusal, and the reason in the log. */
		(void)lt_options_read_password(&o);
		(void)lt_recv_load_auth(&o, &auth);
		status = run_cgi(&o);
	} else if (mode == MODE_INETD) {
		(void)lt_options_read_password(&o);
		status = run_inetd(&o);
	} else {
		status = run_command(&o, &cmd, argv[optind]);
	}
	lt_auth_free(auth);
	lt_options_free(&o);
	return status;
}
