/* HTTP framing under CGI (RFC 3875): the request read from the
 * environment and standard input, the response written back (http.h). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http.h"

#define READ_CHUNK 65536

/* An unset variable and an empty one are the same for the few variables
 * a web server always passes (nginx's fastcgi_params sets CONTENT_TYPE and
 * CONTENT_LENGTH to "" when the request had none). */
static const char *
env_nonempty(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && *v != '\0' ? v : NULL;
}

static int
dup_env(char **dst, const char *value, struct lt_response *resp)
{
	if (value == NULL)
		return 0;
	*dst = strdup(value);
	if (*dst == NULL) {
		lt_response_set(resp, 503, "out of memory; try again later");
		return -1;
	}
	return 0;
}

static char *
build_path(void)
{
	const char *uri = getenv("REQUEST_URI");
	const char *script = getenv("SCRIPT_NAME");
	const char *info = getenv("PATH_INFO");
	size_t slen, ilen;
	char *p;

	/* REQUEST_URI is what the client sent, undecoded, as for the
	 * inetd server; an absolute-form one is left to the fallback. */
	if (uri != NULL && uri[0] == '/')
		return strndup(uri, strcspn(uri, "?"));
	slen = script != NULL ? strlen(script) : 0;
	ilen = info != NULL ? strlen(info) : 0;
	if (slen + ilen == 0)
		return strdup("/");
	p = malloc(slen + ilen + 1);
	if (p == NULL)
		return NULL;
	if (slen > 0)
		memcpy(p, script, slen);
	if (ilen > 0)
		memcpy(p + slen, info, ilen);
	p[slen + ilen] = '\0';
	return p;
}

/* nginx before 1.23 passes a header sent twice as two parameters of one
 * name, and fcgiwrap puts both into the environment in the order sent,
 * where getenv() sees the first.  As in inetd mode, a repeat with the
 * same value is taken as one header (Go's Header.Get reads the first);
 * one with another value could be read two ways and is refused.  Content-
 * Type reaches CONTENT_TYPE once, from the first header, but every copy
 * reaches HTTP_CONTENT_TYPE, which is where a different one shows. */
static int
check_once(const char *var, const char *header, int fold_case,
	   struct lt_response *resp)
{
	size_t n = strlen(var);
	const char *first = NULL, *v;
	char **e;

	for (e = environ; *e != NULL; e++) {
		if (strncmp(*e, var, n) != 0 || (*e)[n] != '=')
			continue;
		v = *e + n + 1;
		if (first == NULL) {
			first = v;
			continue;
		}
		if (!lt_header_same(first, strlen(first), v, strlen(v),
				    fold_case)) {
			lt_response_set(resp, 400, "duplicate %s header with a "
					     "different value", header);
			return -1;
		}
	}
	return 0;
}

/* The headers inetd mode takes once, with the same comparison. */
static int
check_repeats(struct lt_response *resp)
{
	static const struct {
		const char *var, *header;
		int fold_case;
	} once[] = {
		{"HTTP_TENANT_ID", "tenant-id", 0},
		{"HTTP_X_SCOPE_ORGID", "X-Scope-OrgID", 0},
		{"HTTP_CONTENT_TYPE", "Content-Type", 1},
		{"HTTP_CONTENT_ENCODING", "Content-Encoding", 1},
		{"HTTP_CONTENT_LENGTH", "Content-Length", 0},
		{"HTTP_TRANSFER_ENCODING", "Transfer-Encoding", 1},
		{"HTTP_AUTHORIZATION", "Authorization", 0},
	};
	size_t i;

	for (i = 0; i < sizeof(once) / sizeof(once[0]); i++)
		if (check_once(once[i].var, once[i].header, once[i].fold_case,
			       resp) < 0)
			return -1;
	return 0;
}

static int
parse_length(const char *s, long long *out, struct lt_response *resp)
{
	long long n = 0;
	const char *q;

	for (q = s; *q != '\0'; q++) {
		if (*q < '0' || *q > '9') {
			lt_response_set(resp, 400, "invalid Content-Length");
			return -1;
		}
		if (n > (LLONG_MAX - (*q - '0')) / 10) {
			lt_response_set(resp, 413, "Content-Length is too large");
			return -1;
		}
		n = n * 10 + (*q - '0');
	}
	*out = n;
	return 0;
}

int
lt_cgi_read_head(struct lt_request *r, struct lt_response *resp)
{
	const char *method = env_nonempty("REQUEST_METHOD");
	const char *length = env_nonempty("CONTENT_LENGTH");

	if (method == NULL) {
		lt_response_set(resp, 500, "REQUEST_METHOD is not set: not run as "
				     "a CGI program");
		return -1;
	}
	if (check_repeats(resp) < 0)
		return -1;
	if (length != NULL && parse_length(length, &r->content_length,
					   resp) < 0)
		return -1;
	if (length == NULL)
		r->content_length = -1;
	r->method = strdup(method);
	r->path = build_path();
	if (r->method == NULL || r->path == NULL) {
		lt_response_set(resp, 503, "out of memory; try again later");
		return -1;
	}
	if (dup_env(&r->content_type, env_nonempty("CONTENT_TYPE"), resp) < 0 ||
	    dup_env(&r->tenant_id, getenv("HTTP_TENANT_ID"), resp) < 0 ||
	    dup_env(&r->scope_orgid, getenv("HTTP_X_SCOPE_ORGID"), resp) < 0 ||
	    dup_env(&r->content_encoding, getenv("HTTP_CONTENT_ENCODING"),
		    resp) < 0 ||
	    dup_env(&r->authorization, getenv("HTTP_AUTHORIZATION"), resp) < 0 ||
	    dup_env(&r->remote_user, env_nonempty("REMOTE_USER"), resp) < 0 ||
	    dup_env(&r->query, getenv("QUERY_STRING"), resp) < 0)
		return -1;
	r->cgi = 1;
	/* The web server owns the connection and Expect. */
	r->keep_alive = 0;
	r->expect_continue = 0;
	return 0;
}

/* One read of at most want bytes into the body.  Returns the count, 0 at
 * EOF, or -1 with resp filled in. */
static ssize_t
read_some(struct lt_request *r, int fd, size_t want,
	  const struct lt_http_limits *lim, struct lt_response *resp)
{
	ssize_t n;
	int w;

	if (lt_buf_reserve(&r->body, want) < 0) {
		lt_response_set(resp, 503, "out of memory; try again later");
		return -1;
	}
	for (;;) {
		w = lt_fd_wait(fd, POLLIN, lim->read_timeout_ms);
		if (w == 0) {
			lt_response_set(resp, 408, "timed out reading the request "
					     "body");
			return -1;
		}
		if (w < 0)
			break;
		n = read(fd, r->body.data + r->body.len, want);
		if (n >= 0) {
			r->body.len += (size_t)n;
			return n;
		}
		if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
			break;
	}
	lt_response_set(resp, 400, "cannot read the request body: %s",
		  strerror(errno));
	return -1;
}

int
lt_cgi_read_body(struct lt_request *r, int fd,
		 const struct lt_http_limits *lim, struct lt_response *resp)
{
	size_t left, want;
	ssize_t n;

	lt_buf_reset(&r->body);
	if (r->content_length >= 0) {
		if ((unsigned long long)r->content_length >
		    lim->max_body_size)
			goto too_large;
		left = (size_t)r->content_length;
		if (left > 0 && lt_buf_reserve(&r->body, left) < 0) {
			lt_response_set(resp, 503, "out of memory; try again later");
			return -1;
		}
		/* Exactly CONTENT_LENGTH bytes (RFC 3875 4.2): the server
		 * may leave more on stdin. */
		while (left > 0) {
			n = read_some(r, fd, left, lim, resp);
			if (n < 0)
				return -1;
			if (n == 0) {
				lt_response_set(resp, 400, "request body is "
						     "truncated");
				return -1;
			}
			left -= (size_t)n;
		}
		return 0;
	}
	/* No length: up to EOF, reading one byte past the limit to tell
	 * "exactly at the limit" from "over it". */
	for (;;) {
		left = lim->max_body_size - r->body.len;
		want = left < READ_CHUNK ? left + 1 : READ_CHUNK;
		n = read_some(r, fd, want, lim, resp);
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		if (r->body.len > lim->max_body_size)
			goto too_large;
	}
too_large:
	lt_response_set(resp, 413, "request body exceeds %zu bytes",
		  lim->max_body_size);
	return -1;
}

void
lt_cgi_drain(int fd, const struct lt_http_limits *lim)
{
	unsigned char sink[READ_CHUNK];
	ssize_t n;

	for (;;) {
		if (lt_fd_wait(fd, POLLIN, lim->read_timeout_ms) != 1)
			return;
		n = read(fd, sink, sizeof(sink));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
	}
}

int
lt_cgi_write_response(int fd, const struct lt_response *resp)
{
	struct lt_buf b = LT_BUF_INIT;
	int rc = -1;

	if (lt_response_format(&b, resp, 1, 0) == 0)
		rc = lt_fd_write_all(fd, b.data, b.len);
	lt_buf_free(&b);
	return rc;
}
