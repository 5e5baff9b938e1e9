/* libFuzzer target: the HTTP/1.1 server of inetd mode on a connection
 * whose bytes are the input.  The first byte picks the limits (bits 0-2
 * the header size cap, bits 3-5 the body cap, bits 6-7 the number of
 * header fields, so that 431 and 413 come often); the rest is what the
 * client sends.  It is written whole into a
 * socketpair, which is then shut down for writing, before the server
 * reads: no read ever waits, and a 408 is a bug.
 *
 * The server side loops as logthra-recv's inetd mode does (serve_one()
 * in src/logthra-recv.c): head, body, response, and the next request
 * while the connection may be kept; lt_conn_linger() when it may not.
 * Checks that a request read has what its head promised, that no body
 * outgrows its limit, that every refusal has a 4xx or 5xx status and a
 * one-line message, and that each answer read back from the client's
 * side is "100 Continue" exactly when due, followed by exactly one
 * response whose status line, headers and body agree. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "http.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CONTINUE "HTTP/1.1 100 Continue\r\n\r\n"
#define CONTINUE_LEN (sizeof(CONTINUE) - 1)

/* The last header cap is over the connection buffer: it is clamped. */
static const size_t header_caps[8] = {16384, 24, 48, 96, 200, 1024, 4096,
				      100000};
static const size_t body_caps[8] = {65536, 0, 1, 7, 16, 64, 300, 4096};
/* 100 (the default) for a first byte from '@' to DEL, as the seeds have. */
static const size_t field_caps[4] = {3, 100, 1, 0};
/* What the harness answers to a request read whole. */
static const int statuses[8] = {204, 200, 400, 405, 413, 429, 503, 401};

static struct lt_conn conn;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* As run_inetd(): a write to a closed peer fails with EPIPE. */
	(void)signal(SIGPIPE, SIG_IGN);
	return 0;
}

static int
is_tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') ||
	       (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* A header value as stored: field text without OWS at either end. */
static void
check_value(const char *v)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t n;

	if (v == NULL)
		return;
	n = strlen(v);
	if (n > 0 && (p[0] == ' ' || p[0] == '\t' || p[n - 1] == ' ' ||
		      p[n - 1] == '\t'))
		abort();
	for (; *p; p++)
		if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
			abort();
}

static void
check_request(const struct lt_request *r)
{
	const unsigned char *p;

	if (r->method == NULL || r->path == NULL || r->method[0] == '\0' ||
	    r->path[0] != '/' || r->content_length < -1)
		abort();
	for (p = (const unsigned char *)r->method; *p; p++)
		if (!is_tchar(*p))
			abort();
	for (p = (const unsigned char *)r->path; *p; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '#' || *p == '?')
			abort();
	check_value(r->tenant_id);
	check_value(r->scope_orgid);
	check_value(r->content_type);
	check_value(r->content_encoding);
	check_value(r->authorization);
	/* Only a web server authenticates a user. */
	if (r->remote_user != NULL || r->cgi)
		abort();
}

/* A refusal: a 4xx or 5xx status with a one-line message; never a
 * timeout, as the whole input is there before the server reads. */
static void
check_refusal(const struct lt_response *resp)
{
	if (resp->status < 400 || resp->status > 599 ||
	    resp->status == 408 || resp->message[0] == '\0' ||
	    strchr(resp->message, '\n') != NULL ||
	    strchr(resp->message, '\r') != NULL)
		abort();
}

/* Everything the server wrote since the last call. */
static void
take_output(int fd, struct lt_buf *out)
{
	unsigned char chunk[16384];
	ssize_t n;

	lt_buf_reset(out);
	for (;;) {
		n = recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT);
		if (n > 0) {
			if (lt_buf_append(out, chunk, (size_t)n) < 0)
				abort();
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0 || errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		abort();
	}
}

static int
starts_with(const unsigned char *p, size_t len, const char *s)
{
	size_t n = strlen(s);

	return len >= n && memcmp(p, s, n) == 0;
}

static size_t
parse_number(const unsigned char *p, size_t len)
{
	size_t i, v = 0;

	if (len == 0 || len > 9)
		abort();
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			abort();
		v = v * 10 + (size_t)(p[i] - '0');
	}
	return v;
}

/* Parses p as exactly one response: status line, headers, body. */
static void
check_response(const unsigned char *p, size_t len,
	       const struct lt_response *resp, int keep)
{
	const unsigned char *end = p + len, *ls, *crlf;
	size_t mlen = strnlen(resp->message, sizeof(resp->message));
	size_t cl = 0, n, body_len;
	int have_cl = 0, have_close = 0, have_allow = 0, have_auth = 0;
	int want_body;
	char line[128];

	want_body = mlen > 0 && resp->status != 204 && resp->status >= 200;
	if (snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n", resp->status,
		     lt_http_reason(resp->status)) >= (int)sizeof(line))
		abort();
	if (!starts_with(p, len, line))
		abort();
	p += strlen(line);
	for (;;) {
		crlf = NULL;
		for (ls = p; ls + 1 < end; ls++)
			if (ls[0] == '\r' && ls[1] == '\n') {
				crlf = ls;
				break;
			}
		if (crlf == NULL)
			abort(); /* headers not terminated */
		n = (size_t)(crlf - p);
		if (n == 0) {
			p = crlf + 2;
			break;
		}
		/* One header per line: no CR or LF inside. */
		if (memchr(p, '\n', n) != NULL || memchr(p, '\r', n) != NULL)
			abort();
		if (starts_with(p, n, "Content-Length: ")) {
			if (have_cl)
				abort();
			have_cl = 1;
			cl = parse_number(p + 16, n - 16);
		} else if (n == 17 && starts_with(p, n, "Connection: close")) {
			have_close = 1;
		} else if (starts_with(p, n, "Allow: ")) {
			have_allow = 1;
		} else if (starts_with(p, n, "WWW-Authenticate: ")) {
			have_auth = 1;
		} else if (!starts_with(p, n, "Content-Type: text/plain") &&
			   !starts_with(p, n, "Retry-After: ")) {
			abort();
		}
		p = crlf + 2;
	}
	body_len = (size_t)(end - p);
	if (have_close == keep || (have_allow && resp->allow == NULL) ||
	    (have_auth && resp->www_authenticate == NULL))
		abort();
	if (resp->status == 204) {
		if (have_cl || body_len != 0)
			abort();
		return;
	}
	if (!have_cl || cl != body_len)
		abort();
	if (want_body) {
		if (body_len != mlen + 1 || memcmp(p, resp->message, mlen) != 0 ||
		    p[mlen] != '\n')
			abort();
	} else if (body_len != 0) {
		abort();
	}
}

/* The answer to a request read whole, made from the request itself so
 * that messages and header values with any bytes get formatted. */
static void
make_answer(const struct lt_request *r, struct lt_response *resp,
	    char *value, size_t value_size)
{
	const struct lt_buf *b = &r->body;
	size_t n = b->len < value_size - 1 ? b->len : value_size - 1;
	int status = statuses[(b->len + strlen(r->path)) & 7];

	if (b->len > 0)
		(void)lt_response_set(resp, status, "%.*s", (int)b->len,
				      (const char *)b->data);
	else
		(void)lt_response_set(resp, status, "%s %s", r->method,
				      r->path);
	if (status == 204)
		resp->message[0] = '\0';
	if (status == 429 || status == 503)
		resp->retry_after = (int)(b->len % 3);
	if (status == 405 || status == 401) {
		/* A CR or LF here must not split the response. */
		if (n > 0)
			memcpy(value, b->data, n);
		value[n] = '\0';
		if (status == 405)
			resp->allow = value;
		else
			resp->www_authenticate = value;
	}
}

/* One request, as serve_one() does it.  Returns 1 to go on. */
static int
serve_one(int client, const struct lt_http_limits *lim, struct lt_buf *out)
{
	struct lt_request req;
	struct lt_response resp;
	enum lt_read_result rr;
	char value[64];
	int keep = 0, want_continue = 0;
	size_t skip;

	lt_request_init(&req);
	memset(&resp, 0, sizeof(resp));
	rr = lt_http_read_head(&conn, &req, lim, &resp);
	if (rr == LT_READ_CLOSED)
		goto out;
	if (rr == LT_READ_OK) {
		check_request(&req);
		want_continue = req.expect_continue &&
				req.content_length != 0 &&
				!(req.content_length > 0 &&
				  (unsigned long long)req.content_length >
					  lim->max_body_size);
		if (lt_http_read_body(&conn, &req, lim, &resp) == 0) {
			if (req.body.len > lim->max_body_size ||
			    (req.content_length >= 0 &&
			     req.body.len != (size_t)req.content_length))
				abort();
			make_answer(&req, &resp, value, sizeof(value));
			keep = req.keep_alive;
		} else {
			check_refusal(&resp);
			if (resp.status == 413 && req.content_length >= 0 &&
			    (unsigned long long)req.content_length <=
				    lim->max_body_size)
				abort();
		}
	} else if (rr == LT_READ_ERROR) {
		check_refusal(&resp);
	} else {
		abort();
	}
	if (lt_http_write_response(&conn, &resp, keep) < 0)
		abort(); /* the client side is open and drained */
	take_output(client, out);
	skip = 0;
	if (want_continue) {
		if (!starts_with(out->data, out->len, CONTINUE))
			abort();
		skip = CONTINUE_LEN;
	}
	check_response(out->data + skip, out->len - skip, &resp, keep);
	if (!keep)
		lt_conn_linger(&conn, 1000);
out:
	lt_request_free(&req);
	return keep;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lt_http_limits lim;
	struct lt_buf out = LT_BUF_INIT;
	ssize_t n;
	int sv[2];

	if (size < 1)
		return 0;
	lim.max_header_size = header_caps[data[0] & 7];
	lim.max_body_size = body_caps[(data[0] >> 3) & 7];
	lim.max_headers = field_caps[data[0] >> 6];
	/* Never reached: reads find data or the end at once. */
	lim.read_timeout_ms = 5000;
	lim.idle_timeout_ms = 5000;
	lim.request_timeout_ms = 10000;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	/* Never waits: what does not fit in the socket is left out. */
	if (size > 1) {
		n = send(sv[0], data + 1, size - 1, MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN)
			abort();
	}
	if (shutdown(sv[0], SHUT_WR) < 0)
		abort();
	lt_conn_init(&conn, sv[1], sv[1]);
	while (serve_one(sv[0], &lim, &out))
		;
	lt_buf_free(&out);
	if (close(sv[0]) < 0 || close(sv[1]) < 0)
		abort();
	return 0;
}
