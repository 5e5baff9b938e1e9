/* logthra-recv: receives log pushes and writes them to the spool, as a
 * CGI program, an inetd service or a command.  See logthra-recv(1). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#ifdef HAVE_MALLOC_H
#include <malloc.h>
#endif
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
#include "query_http.h"
#include "ready.h"
#include "recv.h"
#include "recv_stats.h"
#include "spool.h"

/* How long a closing connection waits for the client to stop sending. */
#define LINGER_MS 2000

enum mode { MODE_AUTO, MODE_CGI, MODE_INETD, MODE_FILE };

/* What a run does: serve (in the mode above), unless an option asks for
 * one of the others. */
enum action { ACT_SERVE, ACT_NEW_TOKEN, ACT_PRINT_CONFIG, ACT_CHECK_CONFIG,
	      ACT_METRICS };

static void
usage(void)
{
	(void)printf(
		"%s receives log pushes and writes each to the spool.\n\n"
		"Usage:\n"
		"  %s [OPTION]...             as CGI or inetd service\n"
		"  %s -T TENANT [FILE]        push one payload from FILE or stdin\n"
		"  %s --new-token NAME TENANTS  make a token for credentials_file\n\n"
		"Options:\n"
		"  -c, --config=FILE          read settings from FILE\n"
		"  -D, --spool=DIR            spool directory (default %s)\n"
		"  -m, --mode=MODE            cgi, inetd or file (default: chosen from\n"
		"                             GATEWAY_INTERFACE and standard input)\n"
		"  -T, --tenant=TENANT        tenant of the payload (file mode)\n"
		"  -f, --format=FORMAT        what the payload is (file mode): loki\n"
		"                             (default) or otlp (OpenTelemetry logs)\n"
		"      --new-token            print a credentials_file line for a new\n"
		"                             token of NAME for TENANTS (a comma-separated\n"
		"                             list, or *); the token goes to stderr\n"
		"      --default-tenant=TENANT  tenant of requests that name none\n"
		"      --print-config         print the effective settings and exit\n"
		"      --check-config         check the configuration file and the\n"
		"                             credentials file, then exit\n"
		"      --metrics              print the receiver's counters as Prometheus\n"
		"                             metrics and exit\n"
		"  -v, --verbose              say more (twice for debug messages)\n"
		"  -V, --version              output version information, then exit\n"
		"  -?, --help                 show this help, then exit\n\n"
		"Endpoints: POST /loki/api/v1/push, /api/prom/push and /api/push, with\n"
		"Loki's JSON or snappy protobuf, optionally gzip or deflate; POST\n"
		"/otlp/v1/logs (or /v1/logs) with OpenTelemetry logs (OTLP/HTTP) in\n"
		"protobuf or JSON, optionally gzip or deflate; tenant from the\n"
		"X-Scope-OrgID or tenant-id header.  Loki's query paths\n"
		"(/loki/api/v1/query_range, /labels, ...) are answered as by\n"
		"logthra-query(1).  GET /ready answers 200 when the spool can take\n"
		"a push, else 503 and why.\n",
		lt_progname(), lt_progname(), lt_progname(), lt_progname(),
		LT_DEFAULT_SPOOL);
}

enum { OPT_DEFAULT_TENANT = 256, OPT_PRINT_CONFIG, OPT_NEW_TOKEN,
       OPT_CHECK_CONFIG, OPT_METRICS };

static const struct option long_options[] = {
	{"config", required_argument, NULL, 'c'},
	{"spool", required_argument, NULL, 'D'},
	{"mode", required_argument, NULL, 'm'},
	{"tenant", required_argument, NULL, 'T'},
	{"format", required_argument, NULL, 'f'},
	{"default-tenant", required_argument, NULL, OPT_DEFAULT_TENANT},
	{"print-config", no_argument, NULL, OPT_PRINT_CONFIG},
	{"check-config", no_argument, NULL, OPT_CHECK_CONFIG},
	{"new-token", no_argument, NULL, OPT_NEW_TOKEN},
	{"metrics", no_argument, NULL, OPT_METRICS},
	{"verbose", no_argument, NULL, 'v'},
	{"version", no_argument, NULL, 'V'},
	{"help", no_argument, NULL, '?'},
	{NULL, 0, NULL, 0},
};

static enum mode
auto_mode(void)
{
	struct stat st;

	if (getenv("GATEWAY_INTERFACE") != NULL)
		return MODE_CGI;
	if (fstat(STDIN_FILENO, &st) == 0 && S_ISSOCK(st.st_mode))
		return MODE_INETD;
	return MODE_FILE;
}

static void
log_refusal(const struct lt_response *resp)
{
	/* 4xx are the client's business; the operator sees them with -v. */
	if (resp->status >= 500)
		lt_error("answered %d: %s", resp->status, resp->message);
	else if (resp->status >= 400)
		lt_info("answered %d: %s", resp->status, resp->message);
	else if (resp->message[0] != '\0') /* OTLP's partial success */
		lt_info("answered %d: %s", resp->status, resp->message);
}

/* The query front needs ClickHouse's password, which pushes do not: read
 * when the first query comes.  When it cannot be read, the queries
 * fail at ClickHouse and the reason is in the log. */
static void
read_password_once(struct lt_options *o)
{
	static int done;

	if (done)
		return;
	done = 1;
	(void)lt_options_read_password(o);
}

static int
run_cgi(struct lt_options *o)
{
	struct lt_request req;
	struct lt_response resp = {0};
	struct lt_body_format fmt;
	const char *tenant = NULL;
	int body_read = 0, probe = 0;

	lt_request_init(&req);
	if (lt_cgi_read_head(&req, &resp) == 0 &&
	    lt_recv_is_ready_path(req.path)) {
		/* Not counted: a probe every few seconds is no request of a
		 * tenant's, and must not write to the spool it probes. */
		lt_recv_ready(o, &req, &resp);
		probe = 1;
	} else if (resp.status == 0 && lt_query_is_path(req.path)) {
		/* One address for pushes and queries: the query front
		 * answers the read paths. */
		read_password_once(o);
		lt_query_serve_cgi(o, &lt_query_clickhouse, &req, STDIN_FILENO,
				   STDOUT_FILENO);
		lt_request_free(&req);
		return 0;
	}
	if (resp.status == 0 &&
	    lt_recv_check_head(o, &req, &tenant, &fmt, &resp) == 0 &&
	    lt_cgi_read_body(&req, STDIN_FILENO, &o->http, &resp) == 0) {
		body_read = 1;
		lt_recv_store(o, tenant, &fmt, (char *)req.body.data,
			      req.body.len, lt_now_ns(), &resp);
	} else if (!probe) {
		lt_recv_count_refusal(o, tenant, resp.status);
	}
	lt_recv_answer_otlp(&req, &resp);
	log_refusal(&resp);
	if (lt_cgi_write_response(STDOUT_FILENO, &resp) < 0)
		lt_error("could not write the CGI response: %m");
	else if (!body_read)
		lt_cgi_drain(STDIN_FILENO, &o->http);
	lt_request_free(&req);
	return 0;
}

/* One request on the connection.  Returns 1 to go on with the next.
 * *auth holds the credentials file, read afresh for each request. */
static int
serve_one(struct lt_options *o, struct lt_conn *c, struct lt_auth **auth)
{
	struct lt_request req;
	struct lt_response resp = {0};
	struct lt_body_format fmt;
	const char *tenant = NULL;
	enum lt_read_result rr;
	int keep = 0;

	lt_request_init(&req);
	rr = lt_http_read_head(c, &req, &o->http, &resp);
	if (rr == LT_READ_CLOSED)
		goto out;
	if (rr == LT_READ_OK && lt_recv_is_ready_path(req.path)) {
		/* A probe's body, if it sends one, is read so that the
		 * connection stays usable. */
		if (lt_http_read_body(c, &req, &o->http, &resp) == 0) {
			lt_recv_ready(o, &req, &resp);
			keep = req.keep_alive;
		}
		goto answer;
	}
	if (rr == LT_READ_OK)
		(void)lt_recv_load_auth(o, auth);
	if (rr == LT_READ_OK && lt_query_is_path(req.path)) {
		read_password_once(o);
		keep = lt_query_serve_conn(o, &lt_query_clickhouse, c, &req);
		goto out;
	}
	if (rr == LT_READ_OK &&
	    lt_recv_check_head(o, &req, &tenant, &fmt, &resp) == 0 &&
	    lt_http_read_body(c, &req, &o->http, &resp) == 0) {
		lt_recv_store(o, tenant, &fmt, (char *)req.body.data,
			      req.body.len, lt_now_ns(), &resp);
		/* Only a fully read request leaves the connection usable. */
		keep = req.keep_alive;
	} else {
		lt_recv_count_refusal(o, tenant, resp.status);
	}
answer:
	lt_recv_answer_otlp(&req, &resp);
	log_refusal(&resp);
	if (lt_http_write_response(c, &resp, keep) < 0)
		keep = 0;
	else if (!keep)
		lt_conn_linger(c, LINGER_MS);
out:
	lt_request_free(&req);
	return keep;
}

/* A kept-alive connection carries push after push of much the same
 * size.  With malloc's defaults the buffers of each (a MB or more for
 * a 1 MB push) went back to the system when it was answered and the
 * next push faulted fresh pages in again, page by page.  Keep up to
 * 16 MiB freed at the top of the heap for the next push; blocks of
 * 8 MiB or more (pushes near max_body_size) still come from mmap and
 * go back at once, so an idle connection holds no more than that. */
static void
keep_memory_between_pushes(void)
{
#if defined(HAVE_MALLOPT) && defined(M_TRIM_THRESHOLD) && defined(M_MMAP_THRESHOLD)
	if (mallopt(M_MMAP_THRESHOLD, 8 << 20) != 1 ||
	    mallopt(M_TRIM_THRESHOLD, 16 << 20) != 1)
		lt_debug("mallopt refused; malloc keeps its defaults");
#endif
}

static int
run_inetd(struct lt_options *o)
{
	struct lt_auth *auth = NULL;
	struct lt_conn *c;

	/* A client that goes away must not kill us in the middle of a
	 * write; write() then fails with EPIPE and the loop ends. */
	(void)signal(SIGPIPE, SIG_IGN);
	keep_memory_between_pushes();
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

/* Reads the payload.  Returns 0, LT_EX_TEMPFAIL when memory ran out (the
 * same run may work later) or LT_EX_DATAERR. */
static int
read_file(const char *path, size_t max, struct lt_buf *out)
{
	unsigned char chunk[65536];
	ssize_t n;
	int fd = STDIN_FILENO, rc = LT_EX_DATAERR;

	if (strcmp(path, "-") != 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			lt_error("could not open file \"%s\": %m", path);
			return LT_EX_DATAERR;
		}
	}
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			lt_error("could not read file \"%s\": %m", path);
			goto out;
		}
		if (n == 0)
			break;
		if (out->len + (size_t)n > max) {
			lt_error("file \"%s\" is larger than max_body_size (%zu bytes)",
				 path, max);
			goto out;
		}
		if (lt_buf_append(out, chunk, (size_t)n) < 0) {
			lt_error("out of memory reading file \"%s\"; nothing was stored", path);
			rc = LT_EX_TEMPFAIL;
			goto out;
		}
	}
	rc = 0;
out:
	if (fd != STDIN_FILENO)
		(void)close(fd);
	return rc;
}

static int
run_file(const struct lt_options *o, const char *tenant, const char *path,
	 int otlp)
{
	/* A file carries no headers: gzip and JSON are recognized by their
	 * first bytes, anything else is read as protobuf, Loki's or, with
	 * --format otlp, OpenTelemetry's. */
	const struct lt_body_format sniff = {
		otlp ? LT_BODY_OTLP_SNIFF : LT_BODY_SNIFF, LT_CODING_SNIFF};
	struct lt_buf body = LT_BUF_INIT;
	struct lt_response resp = {0};
	const char *why;
	int status = LT_EX_DATAERR;

	if (tenant == NULL)
		tenant = o->default_tenant;
	if (tenant == NULL) {
		lt_error("no tenant given");
		lt_hint("Name the tenant with -T/--tenant.");
		return 1;
	}
	if (lt_tenant_valid(tenant, &why) < 0) {
		lt_error("invalid tenant id \"%s\": %s", tenant, why);
		return 1;
	}
	status = read_file(path, o->http.max_body_size, &body);
	if (status != 0)
		goto out;
	status = LT_EX_DATAERR;
	lt_recv_store(o, tenant, &sniff, (char *)body.data, body.len,
		      lt_now_ns(), &resp);
	/* OTLP's partial success is a 200 with a message: the records it
	 * lists were not stored, as with Loki's 400 below. */
	if (resp.status == 204 ||
	    (resp.status == 200 && resp.message[0] == '\0')) {
		status = LT_EX_OK;
		lt_info("stored the push of \"%s\" for tenant \"%s\"", path, tenant);
	} else if (resp.status >= 500 ||
		   (resp.status == 429 && resp.retry_after > 0)) {
		status = LT_EX_TEMPFAIL; /* lt_recv_store logged 5xx causes */
		if (resp.status == 429)
			lt_error("%s", resp.message);
	} else {
		lt_error("invalid push in \"%s\": %s", path, resp.message);
	}
out:
	lt_buf_free(&body);
	return status;
}

/* --metrics: the counters the receivers keep in the spool, as the
 * metrics file of logthra-flush holds them. */
static int
print_metrics(const struct lt_options *o)
{
	struct lt_buf text = LT_BUF_INIT;
	struct lt_rstats rs;
	char err[512];
	int rc = 1;

	if (lt_rstats_read(o->spool, &rs, err, sizeof(err)) != 0) {
		lt_error("%s", err);
		return 1;
	}
	if (rs.bad > 0)
		lt_warning("%zu torn or corrupt record%s of the counters left out",
			   rs.bad, rs.bad == 1 ? "" : "s");
	if (lt_rstats_format(&text, &rs) < 0) {
		lt_error("out of memory");
		goto out;
	}
	if (fwrite(text.data, 1, text.len, stdout) != text.len ||
	    fflush(stdout) != 0) {
		lt_error("could not write the metrics: %m");
		goto out;
	}
	rc = 0;
out:
	lt_buf_free(&text);
	lt_rstats_free(&rs);
	return rc;
}

/* --new-token NAME TENANTS: the line for credentials_file on stdout
 * (to append to the file), the token once on stderr (for the client);
 * only its hash is kept. */
static int
new_token(const struct lt_options *o, const char *name, const char *tenants)
{
	char token[128], line[1024], err[512];
	struct lt_auth *a = NULL;
	const char *who = NULL;

	/* A name already in the file would make the whole file invalid. */
	if (o->credentials_file != NULL && o->credentials_file[0] != '\0' &&
	    access(o->credentials_file, F_OK) == 0) {
		if (lt_auth_load(o->credentials_file, &a, err, sizeof(err)) < 0) {
			lt_error("%s", err);
			return 1;
		}
		(void)lt_auth_check_user(a, name, NULL, &who);
		lt_auth_free(a);
		if (who != NULL) {
			lt_error("\"%s\" is in %s already", name, o->credentials_file);
			lt_hint("Choose another name, or remove its line first.");
			return 1;
		}
	}
	if (lt_auth_new_token(token, sizeof(token)) < 0) {
		lt_error("could not make a token: %m");
		return 1;
	}
	if (lt_auth_format_entry(line, sizeof(line), name, token, tenants, err,
				 sizeof(err)) < 0) {
		lt_error("%s", err);
		explicit_bzero(token, sizeof(token));
		return 1;
	}
	(void)fprintf(stderr, "token for %s (give it to the client; it is not "
		      "stored anywhere): %s\n", name, token);
	explicit_bzero(token, sizeof(token));
	if (fputs(line, stdout) == EOF || fflush(stdout) != 0) {
		lt_error("could not write the line: %m");
		return 1;
	}
	return 0;
}

static int
parse_mode(const char *s, enum mode *m)
{
	if (strcmp(s, "cgi") == 0)
		*m = MODE_CGI;
	else if (strcmp(s, "inetd") == 0)
		*m = MODE_INETD;
	else if (strcmp(s, "file") == 0)
		*m = MODE_FILE;
	else
		return -1;
	return 0;
}

int
main(int argc, char **argv)
{
	struct lt_cli cli = {0};
	struct lt_options o;
	enum mode mode = MODE_AUTO;
	const char *tenant = NULL;
	struct lt_auth *auth = NULL;
	struct lt_cli_mode action = {0};
	int c, rc = 0, otlp = 0, for_person, status;

	/* Before anything is created: the spool needs the group's bits. */
	(void)lt_spool_umask();
	lt_log_init(argv[0]);
	lt_cli_early(argc, argv, usage);
	while (rc == 0 &&
	       (c = getopt_long(argc, argv, "c:D:f:m:T:vV?", long_options, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (parse_mode(optarg, &mode) < 0) {
				lt_error("invalid mode \"%s\" for option -m/--mode: use cgi, inetd or file", optarg);
				lt_try_help();
				return 1;
			}
			break;
		case 'T': tenant = optarg; break;
		case 'f':
			if (strcmp(optarg, "loki") != 0 &&
			    strcmp(optarg, "otlp") != 0) {
				lt_error("invalid format \"%s\" for option -f/--format: use loki or otlp", optarg);
				lt_try_help();
				return 1;
			}
			otlp = strcmp(optarg, "otlp") == 0;
			break;
		case OPT_DEFAULT_TENANT: lt_cli_set(&cli, "--default-tenant", "default_tenant", optarg); break;
		case OPT_PRINT_CONFIG: rc = lt_cli_mode(&action, ACT_PRINT_CONFIG, "--print-config"); break;
		case OPT_NEW_TOKEN: rc = lt_cli_mode(&action, ACT_NEW_TOKEN, "--new-token"); break;
		case OPT_CHECK_CONFIG: rc = lt_cli_mode(&action, ACT_CHECK_CONFIG, "--check-config"); break;
		case OPT_METRICS: rc = lt_cli_mode(&action, ACT_METRICS, "--metrics"); break;
		default:
			lt_cli_common(&cli, c, argv, usage);
		}
	}
	if (rc < 0)
		return 1;
	if (action.mode == ACT_NEW_TOKEN && argc - optind != 2) {
		lt_error("--new-token needs a NAME and the TENANTS it may push to");
		lt_try_help();
		return 1;
	}
	if (mode == MODE_AUTO)
		mode = tenant ? MODE_FILE : auto_mode();
	/* A FILE is file mode's payload, which no other action takes. */
	if (action.mode != ACT_NEW_TOKEN)
		lt_cli_operands(argc, argv,
				action.mode == ACT_SERVE && mode == MODE_FILE ? 1 : 0);
	lt_log_set_verbosity(cli.verbose);
	if (action.mode == ACT_CHECK_CONFIG)
		return lt_cli_check_config(&cli, LT_CHECK_CREDENTIALS, NULL);
	/* What these print is for the person who ran them, not a client. */
	for_person = action.mode == ACT_NEW_TOKEN || action.mode == ACT_PRINT_CONFIG;
	if (mode == MODE_INETD && !for_person)
		lt_log_keep_stderr_off_the_wire(); /* before anything is logged */
	if (lt_cli_apply(&cli, &o) < 0) {
		/* The request still gets an answer: 500 and the error,
		 * rather than an empty reply or a web server's bare 502. */
		if (!for_person && (mode == MODE_CGI || mode == MODE_INETD))
			lt_config_error_serve(mode == MODE_CGI,
					      lt_log_last_error());
		return 1;
	}
	if (action.mode == ACT_NEW_TOKEN) {
		status = new_token(&o, argv[optind], argv[optind + 1]);
	} else if (action.mode == ACT_PRINT_CONFIG) {
		lt_options_print(&o);
		status = 0;
	} else if (action.mode == ACT_METRICS) {
		status = print_metrics(&o);
	} else if (mode == MODE_CGI) {
		/* A file that cannot be loaded still gets an answer, 500 for
		 * every push, and the reason in the log rather than a web
		 * server's bare 502. */
		(void)lt_recv_load_auth(&o, &auth);
		status = run_cgi(&o);
	} else if (mode == MODE_INETD) {
		status = run_inetd(&o);
	} else {
		status = run_file(&o, tenant, optind < argc ? argv[optind] : "-",
				  otlp);
	}
	lt_auth_free(auth);
	lt_options_free(&o);
	return status;
}
