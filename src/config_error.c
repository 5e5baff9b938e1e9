/* The 500 every request gets when the configuration could not be
 * loaded, in CGI and inetd mode (see config_error.h). */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "config_error.h"
#include "log.h"
#include "options.h"
#include "recv.h"

/* How long a closing connection waits for the client to stop sending,
 * as logthra-recv's. */
#define LINGER_MS 2000

void
lt_config_error_response(const struct lt_request *r, const char *error,
			 struct lt_response *resp)
{
	if (error == NULL || error[0] == '\0')
		error = "see the log";
	(void)lt_response_set(resp, 500, "configuration error: %s\n"
			      "Every request is answered 500 until it is "
			      "fixed (check with %s --check-config).",
			      error, lt_progname());
	if (r != NULL && r->path != NULL)
		lt_recv_answer_otlp(r, resp);
}

static void
log_answer(const struct lt_request *r)
{
	lt_error("answered 500 to %.20s %.200s: the configuration could not "
		 "be loaded", r->method ? r->method : "a request",
		 r->path ? r->path : "");
}

/* The limits of the framing, when the settings are not known. */
static void
default_limits(struct lt_http_limits *lim)
{
	struct lt_options o;

	lt_options_defaults(&o);
	*lim = o.http;
	lt_options_free(&o);
}

void
lt_config_error_cgi(const char *error, int in_fd, int out_fd)
{
	struct lt_http_limits lim;
	struct lt_request req;
	struct lt_response *resp;

	/* An answer holds its body: too large for the stack of a
	 * program that may run with a small one. */
	resp = calloc(1, sizeof(*resp));
	if (resp == NULL) {
		lt_error("out of memory");
		return;
	}
	default_limits(&lim);
	lt_request_init(&req);
	/* A head the environment gets wrong still gets this answer. */
	(void)lt_cgi_read_head(&req, resp);
	lt_config_error_response(&req, error, resp);
	log_answer(&req);
	if (lt_cgi_write_response(out_fd, resp) < 0)
		lt_error("could not write the CGI response: %m");
	else
		lt_cgi_drain(in_fd, &lim);
	lt_request_free(&req);
	free(resp);
}

void
lt_config_error_conn(const char *error, struct lt_conn *c)
{
	struct lt_http_limits lim;
	struct lt_request req;
	struct lt_response *resp;
	enum lt_read_result rr;

	resp = calloc(1, sizeof(*resp));
	if (resp == NULL) {
		lt_error("out of memory");
		return;
	}
	default_limits(&lim);
	lt_request_init(&req);
	rr = lt_http_read_head(c, &req, &lim, resp);
	if (rr != LT_READ_CLOSED) {
		lt_config_error_response(&req, error, resp);
		log_answer(&req);
		if (lt_http_write_response(c, resp, 0) == 0)
			lt_conn_linger(c, LINGER_MS);
	}
	lt_request_free(&req);
	free(resp);
}

void
lt_config_error_serve(int cgi, const char *error)
{
	struct lt_conn *c;

	if (cgi) {
		lt_config_error_cgi(error, STDIN_FILENO, STDOUT_FILENO);
		return;
	}
	(void)signal(SIGPIPE, SIG_IGN);
	c = malloc(sizeof(*c));
	if (c == NULL) {
		lt_error("out of memory");
		return;
	}
	lt_conn_init(c, STDIN_FILENO, STDOUT_FILENO);
	lt_config_error_conn(error, c);
	free(c);
}
