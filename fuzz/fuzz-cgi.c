/* libFuzzer target: a CGI request (RFC 3875) as logthra-recv reads it.
 * The first byte picks the body limit (bits 0-1) and a header the web
 * server passes twice (bits 2-3: none, tenant-id, X-Scope-OrgID or
 * Content-Encoding, as "dup" after the input's value, as nginx before
 * 1.23 with fcgiwrap does); the rest is split at NUL bytes
 * into the values of the variables in vars[], in that order (a value of
 * a single 0x01 byte, or one the input does not reach, leaves the
 * variable unset); what follows the last of them is the body, on a pipe
 * that is closed once it holds it all.
 *
 * lt_cgi_read_head() and lt_cgi_read_body() are checked against a model
 * of what they must do: the method, path and headers taken from the
 * environment, CONTENT_LENGTH's number or -1, the body exactly the first
 * CONTENT_LENGTH bytes or all of it up to the limit; every refusal a 4xx
 * or 5xx with a one-line message (never 408: the body is all there).
 * The response is written to a pipe and read back as one "Status:"
 * line, headers and the body its Content-Length announces. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "http.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum {
	V_METHOD,
	V_URI,
	V_SCRIPT,
	V_INFO,
	V_LENGTH,
	V_TYPE,
	V_TENANT,
	V_ORGID,
	V_ENCODING,
	V_AUTHORIZATION,
	V_REMOTE_USER,
	N_VARS
};

static const char *const vars[N_VARS] = {
	"REQUEST_METHOD", "REQUEST_URI", "SCRIPT_NAME", "PATH_INFO",
	"CONTENT_LENGTH", "CONTENT_TYPE", "HTTP_TENANT_ID",
	"HTTP_X_SCOPE_ORGID", "HTTP_CONTENT_ENCODING", "HTTP_AUTHORIZATION",
	"REMOTE_USER",
};

static const size_t body_caps[4] = {65536, 0, 10, 1000};

/* The variable passed twice, by bits 2-3 of the first byte. */
static const int dup_vars[4] = {-1, V_TENANT, V_ORGID, V_ENCODING};

extern char **environ;

/* The environment the harness started with, without the variables
 * above.  Each run gets an environ of its own made from it: setenv()
 * would keep a copy of every value ever set (glibc never frees them),
 * and neither it nor putenv() can pass a variable twice. */
static char **base_env;
static size_t n_base_env;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	size_t i;
	char **e;

	(void)argc;
	(void)argv;
	(void)signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < N_VARS; i++)
		if (unsetenv(vars[i]) < 0)
			abort();
	for (e = environ; *e != NULL; e++)
		n_base_env++;
	if ((base_env = malloc((n_base_env + 1) * sizeof(*base_env))) == NULL)
		abort();
	memcpy(base_env, environ, n_base_env * sizeof(*base_env));
	return 0;
}

static char *
env_string(const char *name, const char *value)
{
	size_t nlen = strlen(name), vlen = strlen(value);
	char *s;

	if ((s = malloc(nlen + 1 + vlen + 1)) == NULL)
		abort();
	memcpy(s, name, nlen);
	s[nlen] = '=';
	memcpy(s + nlen + 1, value, vlen + 1);
	return s;
}

/* Makes environ the base environment, the variables that val sets and
 * the duplicate.  Returns the previous environ for restore_env(). */
static char **
make_env(const char *const *val, int dup)
{
	char **env, **old = environ;
	size_t i, n = n_base_env;

	if ((env = malloc((n_base_env + N_VARS + 2) * sizeof(*env))) == NULL)
		abort();
	memcpy(env, base_env, n_base_env * sizeof(*env));
	for (i = 0; i < N_VARS; i++)
		if (val[i] != NULL)
			env[n++] = env_string(vars[i], val[i]);
	if (dup >= 0)
		env[n++] = env_string(vars[dup], "dup");
	env[n] = NULL;
	environ = env;
	return old;
}

static void
restore_env(char **old)
{
	char **e;

	for (e = environ + n_base_env; *e != NULL; e++)
		free(*e);
	free(environ);
	environ = old;
}

static int
same(const char *got, const char *want)
{
	if (got == NULL || want == NULL)
		return got == want;
	return strcmp(got, want) == 0;
}

static const char *
nonempty(const char *s)
{
	return s != NULL && *s != '\0' ? s : NULL;
}

static void
check_refusal(const struct lt_response *resp)
{
	if (resp->status < 400 || resp->status > 599 ||
	    resp->status == 408 || resp->message[0] == '\0' ||
	    strchr(resp->message, '\n') != NULL)
		abort();
}

/* CONTENT_LENGTH as the model reads it: -1 when unset or empty, -2 when
 * malformed, -3 when it does not fit in a long long. */
static long long
model_length(const char *s)
{
	long long n = 0;

	if (s == NULL || *s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -2;
		if (n > (LLONG_MAX - (*s - '0')) / 10)
			return -3;
		n = n * 10 + (*s - '0');
	}
	return n;
}

/* The path the model expects; malloc'ed. */
static char *
model_path(const char *uri, const char *script, const char *info)
{
	struct lt_buf b = LT_BUF_INIT;

	if (uri != NULL && uri[0] == '/') {
		if (lt_buf_append(&b, uri, strcspn(uri, "?")) < 0)
			abort();
	} else {
		if ((script != NULL &&
		     lt_buf_append(&b, script, strlen(script)) < 0) ||
		    (info != NULL && lt_buf_append(&b, info, strlen(info)) < 0))
			abort();
		if (b.len == 0 && lt_buf_append_byte(&b, '/') < 0)
			abort();
	}
	if (lt_buf_terminate(&b) < 0)
		abort();
	return (char *)b.data;
}

static void
check_head(const struct lt_request *r, const char *const *val)
{
	char *path = model_path(val[V_URI], val[V_SCRIPT], val[V_INFO]);

	if (!same(r->method, val[V_METHOD]) || !same(r->path, path) ||
	    !same(r->content_type, nonempty(val[V_TYPE])) ||
	    !same(r->tenant_id, val[V_TENANT]) ||
	    !same(r->scope_orgid, val[V_ORGID]) ||
	    !same(r->content_encoding, val[V_ENCODING]) ||
	    !same(r->authorization, val[V_AUTHORIZATION]) ||
	    !same(r->remote_user, nonempty(val[V_REMOTE_USER])) ||
	    r->content_length != model_length(val[V_LENGTH]) ||
	    !r->cgi || r->keep_alive || r->expect_continue)
		abort();
	free(path);
}

static void
check_body(const struct lt_request *r, int rc, const struct lt_response *resp,
	   const uint8_t *body, size_t len, size_t max)
{
	long long cl = r->content_length;

	if (rc == 0) {
		if (r->body.len > max)
			abort();
		if (cl >= 0 ? (size_t)cl != r->body.len || (size_t)cl > len
			    : r->body.len != len)
			abort();
		if (r->body.len > 0 && memcmp(r->body.data, body, r->body.len) != 0)
			abort();
		return;
	}
	check_refusal(resp);
	switch (resp->status) {
	case 413:
		if (cl >= 0 ? (unsigned long long)cl <= max : len <= max)
			abort();
		break;
	case 400: /* short */
		if (cl < 0 || (unsigned long long)cl > max || (size_t)cl <= len)
			abort();
		break;
	default:
		abort();
	}
}

/* Reads back what lt_cgi_write_response() wrote: one Status line, the
 * headers and exactly the body Content-Length announces. */
static void
check_written(int fd, const struct lt_response *resp)
{
	char buf[16384], line[128];
	size_t len = 0, mlen, cl = 0, hlen;
	const char *hend, *p;
	ssize_t n;

	for (;;) {
		n = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			abort();
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == sizeof(buf) - 1)
			abort();
	}
	buf[len] = '\0';
	(void)snprintf(line, sizeof(line), "Status: %d %s\r\n", resp->status,
		       lt_http_reason(resp->status));
	if (strncmp(buf, line, strlen(line)) != 0)
		abort();
	hend = strstr(buf, "\r\n\r\n");
	if (hend == NULL)
		abort();
	hlen = (size_t)(hend - buf) + 4;
	if (memmem(buf, hlen, "Connection:", 11) != NULL)
		abort();
	p = strstr(buf, "\r\nContent-Length: ");
	if (resp->status == 204) {
		if ((p != NULL && p < hend) || len != hlen)
			abort();
		return;
	}
	if (p == NULL || p > hend)
		abort();
	cl = strtoul(p + 18, NULL, 10);
	mlen = strnlen(resp->message, sizeof(resp->message));
	if (cl != len - hlen || (mlen > 0 && cl != mlen + 1) ||
	    (mlen > 0 && (memcmp(buf + hlen, resp->message, mlen) != 0 ||
			  buf[len - 1] != '\n')))
		abort();
}

static void
respond(const struct lt_response *resp)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		abort();
	if (lt_cgi_write_response(p[1], resp) < 0 || close(p[1]) < 0)
		abort();
	check_written(p[0], resp);
	if (close(p[0]) < 0)
		abort();
}

/* Whether a header's two values are one: equal once the spaces and tabs
 * around them are left out, and for a coding without regard to case. */
static int
model_same(const char *a, const char *b, int fold_case)
{
	size_t la, lb, i;

	while (*a == ' ' || *a == '\t')
		a++;
	while (*b == ' ' || *b == '\t')
		b++;
	la = strlen(a);
	lb = strlen(b);
	while (la > 0 && (a[la - 1] == ' ' || a[la - 1] == '\t'))
		la--;
	while (lb > 0 && (b[lb - 1] == ' ' || b[lb - 1] == '\t'))
		lb--;
	if (la != lb)
		return 0;
	for (i = 0; i < la; i++) {
		unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

		if (fold_case) {
			x = (unsigned char)(x >= 'A' && x <= 'Z' ? x + 32 : x);
			y = (unsigned char)(y >= 'A' && y <= 'Z' ? y + 32 : y);
		}
		if (x != y)
			return 0;
	}
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char unset[] = {1, 0};
	const char *val[N_VARS];
	char **saved_env;
	struct lt_http_limits lim;
	struct lt_request req;
	struct lt_response resp;
	const uint8_t *p, *end, *nul, *body;
	char *copy;
	size_t i, body_len;
	ssize_t n;
	int fds[2], rc, dup, dup_refused;

	if (size < 1)
		return 0;
	lim.max_header_size = 16384;
	lim.max_body_size = body_caps[data[0] & 3];
	dup = dup_vars[(data[0] >> 2) & 3];
	lim.read_timeout_ms = 5000;
	lim.idle_timeout_ms = 5000;
	/* A NUL-terminated copy: the values are pointers into it. */
	if ((copy = malloc(size)) == NULL)
		abort();
	memcpy(copy, data + 1, size - 1);
	copy[size - 1] = '\0';
	p = (const uint8_t *)copy;
	end = p + size - 1;
	for (i = 0; i < N_VARS; i++) {
		val[i] = NULL;
		if (p >= end)
			continue;
		nul = memchr(p, '\0', (size_t)(end - p));
		if (nul == NULL)
			nul = end;
		if (memcmp(p, unset, 2) != 0)
			val[i] = (const char *)p;
		p = nul + 1;
	}
	body = p < end ? p : end;
	body_len = (size_t)(end - body);
	saved_env = make_env(val, dup);
	/* Passed twice with another value, the variable is refused; with
	 * the same value it is one header; passed once as the duplicate
	 * alone, it is an ordinary value. */
	dup_refused = dup >= 0 && val[dup] != NULL &&
		      !model_same(val[dup], "dup", dup == V_ENCODING);
	if (dup >= 0 && val[dup] == NULL)
		val[dup] = "dup";

	if (pipe2(fds, O_CLOEXEC) < 0)
		abort();
	if (fcntl(fds[1], F_SETPIPE_SZ, 1 << 20) < 0 && body_len > 65536)
		abort();
	if (body_len > 0) {
		n = write(fds[1], body, body_len);
		if (n < 0 || (size_t)n != body_len)
			abort();
	}
	if (close(fds[1]) < 0)
		abort();

	lt_request_init(&req);
	memset(&resp, 0, sizeof(resp));
	rc = lt_cgi_read_head(&req, &resp);
	if (rc == 0) {
		check_head(&req, val);
		rc = lt_cgi_read_body(&req, fds[0], &lim, &resp);
		check_body(&req, rc, &resp, body, body_len, lim.max_body_size);
		if (rc != 0)
			lt_cgi_drain(fds[0], &lim);
	} else {
		check_refusal(&resp);
		if (nonempty(val[V_METHOD]) == NULL ? resp.status != 500
		    : dup_refused ? resp.status != 400 ||
				    strstr(resp.message, "duplicate") == NULL
		    : model_length(val[V_LENGTH]) == -2 ? resp.status != 400
		    : model_length(val[V_LENGTH]) == -3 ? resp.status != 413
							: 1)
			abort();
		lt_cgi_drain(fds[0], &lim);
	}
	if (rc == 0)
		(void)lt_response_set(&resp, 204, "%s", "");
	respond(&resp);
	lt_request_free(&req);
	if (close(fds[0]) < 0)
		abort();
	restore_env(saved_env);
	free(copy);
	return 0;
}
