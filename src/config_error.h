/* The answers of a CGI or inetd run whose configuration could not be
 * loaded: every request gets 500 with the error, so that the client and
 * the web server see why instead of an empty reply or a bare 502. */
#ifndef LOGTHRA_CONFIG_ERROR_H
#define LOGTHRA_CONFIG_ERROR_H

#include "http.h"

/* The answer: 500 with "configuration error: " and the error (the
 * file's PATH:LINE and the message lt_options_load() logged, which
 * names settings but never repeats a string value such as a password),
 * in the form OTLP/HTTP asks for at its paths. */
void lt_config_error_response(const struct lt_request *r, const char *error,
			      struct lt_response *resp);

/* CGI: reads the request's head from the environment, writes the answer
 * to out_fd and reads what is left of the body on in_fd, so that the web
 * server passes the status on.  Logs the answer. */
void lt_config_error_cgi(const char *error, int in_fd, int out_fd);

/* inetd: reads one request's head on the connection (within the default
 * limits: max_header_size, read_timeout), answers it with "Connection:
 * close" and lingers, so that the client gets the answer rather than a
 * reset.  Logs the answer. */
void lt_config_error_conn(const char *error, struct lt_conn *c);

/* Either, on standard input and output, for a program in CGI (cgi = 1)
 * or inetd mode (where a client that goes away must not kill it). */
void lt_config_error_serve(int cgi, const char *error);

#endif
