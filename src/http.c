/* HTTP/1.1 framing on a connection (inetd, socket activation): requests
 * read under limits and timeouts, responses and streams written (http.h). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdio.h"
#include "http.h"

/* How long a response write may wait for a peer that does not read.  The
 * sockets inetd hands over are blocking, so this only matters when
 * someone passes a non-blocking one. */

/* Results of conn_fill(). */
#define FILL_EOF 0
#define FILL_ERROR -1
#define FILL_TIMEOUT -2

void
lt_request_init(struct lt_request *r)
{
	memset(r, 0, sizeof(*r));
	r->content_length = -1;
	r->body = (struct lt_buf)LT_BUF_INIT;
}

/* Frees the strings but keeps the body's memory for the next request on
 * the same connection. */
static void
request_clear(struct lt_request *r)
{
	struct lt_buf body = r->body;

	free(r->method);
	free(r->path);
	free(r->query);
	free(r->tenant_id);
	free(r->scope_orgid);
	free(r->content_type);
	free(r->content_encoding);
	free(r->authorization);
	free(r->remote_user);
	free(r->upgrade);
	free(r->ws_key);
	free(r->ws_version);
	lt_request_init(r);
	r->body = body;
	lt_buf_reset(&r->body);
}

void
lt_request_free(struct lt_request *r)
{
	lt_buf_free(&r->body);
	request_clear(r);
}

const char *
lt_http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 417: return "Expectation Failed";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

int
lt_response_set(struct lt_response *resp, int status, const char *fmt, ...)
{
	va_list ap;

	resp->status = status;
	/* A 503 is always worth a retry; say when. */
	resp->retry_after = status == 503 ? LT_RETRY_AFTER_S : 0;
	resp->allow = NULL;
	resp->www_authenticate = NULL;
	resp->content_type = NULL;
	resp->body_len = 0;
	va_start(ap, fmt);
	(void)vsnprintf(resp->message, sizeof(resp->message), fmt, ap);
	va_end(ap);
	return -1;
}

int
lt_response_set_body(struct lt_response *resp, const char *content_type,
		     const void *body, size_t len)
{
	if (len > sizeof(resp->body))
		return -1;
	if (len > 0)
		memcpy(resp->body, body, len);
	resp->body_len = len;
	resp->content_type = content_type;
	return 0;
}

void
lt_conn_init(struct lt_conn *c, int in_fd, int out_fd)
{
	c->in_fd = in_fd;
	c->out_fd = out_fd;
	c->start = c->end = 0;
	c->deadline_ms = 0;
}

/* Starts the clock of a request when its first byte is there: a client
 * that sends a byte now and then resets the read timeout every time, but
 * not this one. */
static void
start_request_clock(struct lt_conn *c, const struct lt_http_limits *lim)
{
	if (c->deadline_ms == 0 && lim->request_timeout_ms > 0)
		c->deadline_ms = lt_monotonic_ms() + lim->request_timeout_ms;
}

/* Waiting for the next request of a connection: idle_timeout, where 0
 * (or less) waits forever, as it does for lt_fd_wait(). */
static int
idle_wait_ms(const struct lt_http_limits *lim)
{
	return lim->idle_timeout_ms > 0 ? lim->idle_timeout_ms : -1;
}

/* The timeout for the next read: read_timeout, cut short by the request's
 * deadline.  0 when the deadline has passed. */
static int
read_wait_ms(const struct lt_conn *c, const struct lt_http_limits *lim)
{
	int base = lim->read_timeout_ms > 0 ? lim->read_timeout_ms : -1;
	long long left;

	if (c->deadline_ms == 0)
		return base;
	left = c->deadline_ms - lt_monotonic_ms();
	if (left <= 0)
		return 0;
	if (base > 0 && left > base)
		return base;
	return left > INT_MAX ? INT_MAX : (int)left;
}

/* Reads at most cap (> 0) bytes of input into dst, waiting at most
 * timeout_ms for them.  Returns the number read (> 0), FILL_EOF,
 * FILL_ERROR or FILL_TIMEOUT. */
static int
read_some(struct lt_conn *c, unsigned char *dst, size_t cap, int timeout_ms)
{
	ssize_t n;
	int w;

	if (timeout_ms == 0)
		return FILL_TIMEOUT; /* the request's deadline has passed */
	if (cap > INT_MAX)
		cap = INT_MAX;
	for (;;) {
		w = lt_fd_wait(c->in_fd, POLLIN, timeout_ms);
		if (w == 0)
			return FILL_TIMEOUT;
		if (w < 0)
			return FILL_ERROR;
		n = read(c->in_fd, dst, cap);
		if (n > 0)
			return (int)n;
		if (n == 0)
			return FILL_EOF;
		if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
			return FILL_ERROR;
	}
}

/* Reads more input into c->buf after what is there.  Returns the number
 * of bytes read (> 0), FILL_EOF, FILL_ERROR or FILL_TIMEOUT.  The caller
 * makes sure the buffer is not full of unconsumed input. */
static int
conn_fill(struct lt_conn *c, int timeout_ms)
{
	int n;

	/* Moving the unconsumed bytes to the front keeps room for a whole
	 * header section behind c->start. */
	if (c->start == c->end) {
		c->start = c->end = 0;
	} else if (c->start > 0) {
		memmove(c->buf, c->buf + c->start, c->end - c->start);
		c->end -= c->start;
		c->start = 0;
	}
	if (c->end == sizeof(c->buf))
		return FILL_ERROR;
	n = read_some(c, c->buf + c->end, sizeof(c->buf) - c->end, timeout_ms);
	if (n > 0)
		c->end += (size_t)n;
	return n;
}

static size_t
header_cap(const struct lt_conn *c, const struct lt_http_limits *lim)
{
	return lim->max_header_size < sizeof(c->buf) ? lim->max_header_size
						      : sizeof(c->buf);
}

/* RFC 9110 5.6.2 tchar. */
static int
is_tchar(unsigned char ch)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9'))
		return 1;
	return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static int
is_token(const unsigned char *s, size_t len)
{
	size_t i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++)
		if (!is_tchar(s[i]))
			return 0;
	return 1;
}

/* Field values: visible characters, SP, HTAB and obs-text. */
static int
is_field_text(const unsigned char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] != '\t' && (s[i] < 0x20 || s[i] == 0x7f))
			return 0;
	return 1;
}

static int
name_is(const unsigned char *name, size_t len, const char *want)
{
	return strlen(want) == len &&
	       strncasecmp((const char *)name, want, len) == 0;
}

static int
value_is(const unsigned char *v, size_t len, const char *want)
{
	return name_is(v, len, want);
}

static int
is_ows(unsigned char ch)
{
	return ch == ' ' || ch == '\t';
}

/* Takes the next line of [*p, end); the caller made sure a '\n' is there.
 * A bare CR inside a line is malformed (RFC 9112 2.2). */
static int
next_line(const unsigned char **p, const unsigned char *end,
	  const unsigned char **ls, size_t *len)
{
	const unsigned char *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n;

	*ls = *p;
	n = (size_t)(nl - *p);
	*p = nl + 1;
	if (n > 0 && (*ls)[n - 1] == '\r')
		n--;
	if (memchr(*ls, '\r', n) != NULL)
		return -1;
	*len = n;
	return 0;
}

static char *
dup_bytes(const unsigned char *s, size_t len)
{
	char *d = malloc(len + 1);

	if (d != NULL) {
		memcpy(d, s, len);
		d[len] = '\0';
	}
	return d;
}

struct head_state {
	int version;            /* 10 or 11 */
	int have_cl;
	long long cl;
	int have_te;
	int te_chunked;
	const unsigned char *te;  /* the first Transfer-Encoding's value */
	size_t te_len;
	int hosts;
	int conn_close;
	int conn_keep_alive;
};

static int
parse_request_line(const unsigned char *s, size_t len, struct lt_request *r,
		   struct head_state *h, struct lt_response *resp)
{
	const unsigned char *end = s + len, *sp1, *sp2, *t, *v, *q;
	size_t tlen, vlen;

	sp1 = memchr(s, ' ', len);
	if (sp1 == NULL || !is_token(s, (size_t)(sp1 - s)))
		goto bad;
	t = sp1 + 1;
	sp2 = memchr(t, ' ', (size_t)(end - t));
	if (sp2 == NULL || sp2 == t)
		goto bad;
	tlen = (size_t)(sp2 - t);
	v = sp2 + 1;
	vlen = (size_t)(end - v);
	if (vlen == 8 && memcmp(v, "HTTP/1.1", 8) == 0) {
		h->version = 11;
	} else if (vlen == 8 && memcmp(v, "HTTP/1.0", 8) == 0) {
		h->version = 10;
	} else if (vlen == 8 && memcmp(v, "HTTP/", 5) == 0 &&
		   v[5] >= '0' && v[5] <= '9' && v[6] == '.' &&
		   v[7] >= '0' && v[7] <= '9') {
		lt_response_set(resp, 505, "only HTTP/1.0 and HTTP/1.1 are supported");
		return -1;
	} else {
		goto bad;
	}
	for (q = t; q < sp2; q++)
		if (*q <= 0x20 || *q >= 0x7f || *q == '#')
			goto bad;
	if (t[0] != '/') {
		lt_response_set(resp, 400, "the request target must be a path "
				     "starting with \"/\"");
		return -1;
	}
	q = memchr(t, '?', tlen);
	if (q != NULL) {
		r->query = dup_bytes(q + 1, (size_t)(sp2 - q - 1));
		tlen = (size_t)(q - t);
	}
	r->method = dup_bytes(s, (size_t)(sp1 - s));
	r->path = dup_bytes(t, tlen);
	r->http10 = h->version == 10;
	if (r->method == NULL || r->path == NULL ||
	    (q != NULL && r->query == NULL)) {
		lt_response_set(resp, 503, "out of memory; try again later");
		return -1;
	}
	return 0;
bad:
	lt_response_set(resp, 400, "malformed request line");
	return -1;
}

int
lt_header_same(const char *a, size_t alen, const char *b, size_t blen,
	       int fold_case)
{
	while (alen > 0 && is_ows((unsigned char)*a)) {
		a++;
		alen--;
	}
	while (alen > 0 && is_ows((unsigned char)a[alen - 1]))
		alen--;
	while (blen > 0 && is_ows((unsigned char)*b)) {
		b++;
		blen--;
	}
	while (blen > 0 && is_ows((unsigned char)b[blen - 1]))
		blen--;
	if (alen != blen)
		return 0;
	return fold_case ? strncasecmp(a, b, alen) == 0
			 : memcmp(a, b, alen) == 0;
}

/* A header taken once: sent again with the same value, the repeat is
 * ignored (Go's Header.Get, which Loki uses, reads the first); with
 * another value the request could be read two ways and is refused.
 * fold_case compares media types and codings, whose tokens are
 * case-insensitive. */
static int
store_once(char **dst, const unsigned char *v, size_t len, const char *name,
	   int fold_case, struct lt_response *resp)
{
	if (*dst != NULL) {
		if (lt_header_same(*dst, strlen(*dst), (const char *)v, len,
				   fold_case))
			return 0;
		lt_response_set(resp, 400, "duplicate %s header with a "
				     "different value", name);
		return -1;
	}
	*dst = dup_bytes(v, len);
	if (*dst == NULL) {
		lt_response_set(resp, 503, "out of memory; try again later");
		return -1;
	}
	return 0;
}

static int
parse_content_length(const unsigned char *v, size_t len, struct head_state *h,
		     struct lt_response *resp)
{
	long long n = 0;
	size_t i;

	if (len == 0)
		goto bad;
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			goto bad;
		if (n > (LLONG_MAX - (v[i] - '0')) / 10) {
			lt_response_set(resp, 413, "Content-Length is too large");
			return -1;
		}
		n = n * 10 + (v[i] - '0');
	}
	if (h->have_cl && h->cl != n) {
		lt_response_set(resp, 400, "duplicate Content-Length header "
				     "with a different value");
		return -1;
	}
	h->have_cl = 1;
	h->cl = n;
	return 0;
bad:
	lt_response_set(resp, 400, "invalid Content-Length");
	return -1;
}

/* A second Transfer-Encoding applies another coding on top of the
 * first (RFC 9112 6.1): with the same value, chunked twice, which is not
 * supported (Go answers 501 too); with another value the body could be
 * read two ways. */
static int
parse_transfer_encoding(const unsigned char *v, size_t len,
			struct head_state *h, struct lt_response *resp)
{
	if (h->have_te && !lt_header_same((const char *)h->te, h->te_len,
					  (const char *)v, len, 1)) {
		lt_response_set(resp, 400, "duplicate Transfer-Encoding header "
				     "with a different value");
		return -1;
	}
	h->te_chunked = !h->have_te && value_is(v, len, "chunked");
	if (!h->have_te) {
		h->te = v;
		h->te_len = len;
	}
	h->have_te = 1;
	return 0;
}

/* Connection is a comma-separated list of tokens; three matter here. */
static void
parse_connection(const unsigned char *v, size_t len, struct head_state *h,
		 struct lt_request *r)
{
	const unsigned char *end = v + len, *tok, *comma;
	size_t n;

	while (v < end) {
		comma = memchr(v, ',', (size_t)(end - v));
		if (comma == NULL)
			comma = end;
		tok = v;
		while (tok < comma && is_ows(*tok))
			tok++;
		n = (size_t)(comma - tok);
		while (n > 0 && is_ows(tok[n - 1]))
			n--;
		if (value_is(tok, n, "close"))
			h->conn_close = 1;
		else if (value_is(tok, n, "keep-alive"))
			h->conn_keep_alive = 1;
		else if (value_is(tok, n, "upgrade"))
			r->conn_upgrade = 1;
		v = comma < end ? comma + 1 : end;
	}
}

static int
parse_field(const unsigned char *s, size_t len, struct lt_request *r,
	    struct head_state *h, struct lt_response *resp)
{
	const unsigned char *colon, *v;
	size_t nlen, vlen;

	if (is_ows(s[0])) {
		lt_response_set(resp, 400, "obsolete header line folding");
		return -1;
	}
	colon = memchr(s, ':', len);
	if (colon == NULL) {
		lt_response_set(resp, 400, "malformed header line");
		return -1;
	}
	nlen = (size_t)(colon - s);
	if (nlen > 0 && is_ows(s[nlen - 1])) {
		lt_response_set(resp, 400, "whitespace before the colon of a header");
		return -1;
	}
	if (!is_token(s, nlen)) {
		lt_response_set(resp, 400, "malformed header name");
		return -1;
	}
	v = colon + 1;
	vlen = len - nlen - 1;
	while (vlen > 0 && is_ows(*v)) {
		v++;
		vlen--;
	}
	while (vlen > 0 && is_ows(v[vlen - 1]))
		vlen--;
	if (!is_field_text(v, vlen)) {
		lt_response_set(resp, 400, "invalid character in header value");
		return -1;
	}

	if (name_is(s, nlen, "tenant-id"))
		return store_once(&r->tenant_id, v, vlen, "tenant-id", 0,
				  resp);
	if (name_is(s, nlen, "X-Scope-OrgID"))
		return store_once(&r->scope_orgid, v, vlen, "X-Scope-OrgID",
				  0, resp);
	if (name_is(s, nlen, "Content-Type"))
		return store_once(&r->content_type, v, vlen, "Content-Type",
				  1, resp);
	if (name_is(s, nlen, "Content-Encoding"))
		return store_once(&r->content_encoding, v, vlen,
				  "Content-Encoding", 1, resp);
	if (name_is(s, nlen, "Authorization"))
		return store_once(&r->authorization, v, vlen, "Authorization",
				  0, resp);
	if (name_is(s, nlen, "Content-Length"))
		return parse_content_length(v, vlen, h, resp);
	if (name_is(s, nlen, "Transfer-Encoding"))
		return parse_transfer_encoding(v, vlen, h, resp);
	if (name_is(s, nlen, "Connection")) {
		parse_connection(v, vlen, h, r);
		return 0;
	}
	/* A WebSocket's opening handshake (RFC 6455 4.1), for the tail. */
	if (name_is(s, nlen, "Upgrade"))
		return store_once(&r->upgrade, v, vlen, "Upgrade", 1, resp);
	if (name_is(s, nlen, "Sec-WebSocket-Key"))
		return store_once(&r->ws_key, v, vlen, "Sec-WebSocket-Key",
				  0, resp);
	if (name_is(s, nlen, "Sec-WebSocket-Version"))
		return store_once(&r->ws_version, v, vlen,
				  "Sec-WebSocket-Version", 0, resp);
	if (name_is(s, nlen, "Host")) {
		h->hosts++;
		return 0;
	}
	if (name_is(s, nlen, "Expect")) {
		if (!value_is(v, vlen, "100-continue")) {
			lt_response_set(resp, 417, "only \"Expect: 100-continue\" "
					     "is supported");
			return -1;
		}
		/* RFC 9110 10.1.1: ignored in an HTTP/1.0 request. */
		r->expect_continue = h->version == 11;
		return 0;
	}
	return 0;
}

/* Checks what only the whole header section tells. */
static int
finish_head(struct lt_request *r, const struct head_state *h,
	    struct lt_response *resp)
{
	if (h->have_cl && h->have_te) {
		lt_response_set(resp, 400, "both Content-Length and "
				     "Transfer-Encoding given");
		return -1;
	}
	if (h->have_te && h->version == 10) {
		/* RFC 9112 6.1: faulty framing. */
		lt_response_set(resp, 400, "Transfer-Encoding in an HTTP/1.0 request");
		return -1;
	}
	if (h->have_te && !h->te_chunked) {
		lt_response_set(resp, 501, "only the chunked transfer coding is "
				     "supported");
		return -1;
	}
	if (h->hosts > 1 || (h->version == 11 && h->hosts == 0)) {
		/* RFC 9112 3.2: a MUST. */
		lt_response_set(resp, 400, "an HTTP/1.1 request needs exactly one "
				     "Host header");
		return -1;
	}
	if (h->have_cl)
		r->content_length = h->cl;
	else if (h->have_te)
		r->content_length = -1; /* chunked */
	else if (strcmp(r->method, "POST") == 0) {
		lt_response_set(resp, 411, "a POST needs Content-Length or chunked "
				     "Transfer-Encoding");
		return -1;
	} else
		r->content_length = 0;
	if (h->version == 11)
		r->keep_alive = !h->conn_close;
	else
		r->keep_alive = h->conn_keep_alive && !h->conn_close;
	return 0;
}

static int
parse_head(const unsigned char *p, size_t len, struct lt_request *r,
	   const struct lt_http_limits *lim, struct lt_response *resp)
{
	const unsigned char *end = p + len, *ls;
	struct head_state h;
	size_t n, fields = 0;

	memset(&h, 0, sizeof(h));
	if (next_line(&p, end, &ls, &n) < 0 ||
	    parse_request_line(ls, n, r, &h, resp) < 0)
		goto bad_line;
	for (;;) {
		if (next_line(&p, end, &ls, &n) < 0) {
			lt_response_set(resp, 400, "bare CR in a header line");
			return -1;
		}
		if (n == 0)
			break;
		if (++fields > lim->max_headers) {
			lt_response_set(resp, 431, "more than %zu header fields "
					     "(max_headers)", lim->max_headers);
			return -1;
		}
		if (parse_field(ls, n, r, &h, resp) < 0)
			return -1;
	}
	return finish_head(r, &h, resp);
bad_line:
	if (resp->status == 0)
		lt_response_set(resp, 400, "malformed request line");
	return -1;
}

enum lt_read_result
lt_http_read_head(struct lt_conn *c, struct lt_request *r,
		  const struct lt_http_limits *lim, struct lt_response *resp)
{
	size_t max = header_cap(c, lim), off = 0, scan = 0, skipped = 0;
	size_t avail, n;
	const unsigned char *p, *nl;
	int in_progress, got;

	request_clear(r);
	memset(resp, 0, sizeof(*resp));
	c->deadline_ms = 0;
	for (;;) {
		p = c->buf + c->start;
		avail = c->end - c->start;
		/* [off, scan) holds no LF: a slow client sending a long
		 * line byte by byte must not make this quadratic. */
		if (scan < off)
			scan = off;
		nl = memchr(p + scan, '\n', avail - scan);
		if (nl != NULL) {
			n = (size_t)(nl - (p + off)); /* without the LF */
			if (n == 0 || (n == 1 && p[off] == '\r')) {
				if (off > 0) {
					off += n + 1;
					break;
				}
				/* RFC 9112 2.2: empty lines before a request
				 * line are ignored (some clients send CRLF
				 * after a POST body). */
				c->start += n + 1;
				scan = 0;
				skipped += n + 1;
				if (skipped > max)
					goto too_large;
				continue;
			}
			off += n + 1;
			if (off > max)
				goto too_large;
			continue;
		}
		scan = avail;
		if (avail >= max)
			goto too_large;
		in_progress = avail > 0;
		if (in_progress)
			start_request_clock(c, lim);
		got = conn_fill(c, in_progress ? read_wait_ms(c, lim)
					       : idle_wait_ms(lim));
		if (got > 0)
			continue;
		if (!in_progress)
			return LT_READ_CLOSED;
		if (got == FILL_TIMEOUT)
			lt_response_set(resp, 408, "timed out reading the request "
					     "header");
		else
			lt_response_set(resp, 400, "incomplete request header");
		return LT_READ_ERROR;
	}
	if (off > max)
		goto too_large;
	p = c->buf + c->start;
	c->start += off;
	if (parse_head(p, off, r, lim, resp) < 0) {
		r->keep_alive = 0;
		return LT_READ_ERROR;
	}
	return LT_READ_OK;
too_large:
	lt_response_set(resp, 431, "request header section exceeds %zu bytes", max);
	return LT_READ_ERROR;
}

/* Answers a read of the body that got nothing (got <= 0). */
static int
body_read_failed(int got, struct lt_response *resp)
{
	if (got == FILL_TIMEOUT)
		lt_response_set(resp, 408, "timed out reading the request body");
	else
		lt_response_set(resp, 400, "request body is truncated");
	return -1;
}

static int
fill_or_fail(struct lt_conn *c, const struct lt_http_limits *lim,
	     struct lt_response *resp)
{
	int got = conn_fill(c, read_wait_ms(c, lim));

	return got > 0 ? 0 : body_read_failed(got, resp);
}

/* Moves want bytes of input into the body.  Once what was buffered is
 * taken, the rest of a large body is read straight into it: through
 * c->buf it was copied once more, and read 64 KiB at a time. */
static int
read_exact(struct lt_conn *c, struct lt_request *r, size_t want,
	   const struct lt_http_limits *lim, struct lt_response *resp)
{
	size_t take;
	int got;

	if (lt_buf_reserve(&r->body, want) < 0) {
		lt_response_set(resp, 503, "out of memory; try again later");
		return -1;
	}
	while (want > 0) {
		if (c->start == c->end && want >= sizeof(c->buf)) {
			got = read_some(c, r->body.data + r->body.len, want,
					read_wait_ms(c, lim));
			if (got <= 0)
				return body_read_failed(got, resp);
			r->body.len += (size_t)got;
			want -= (size_t)got;
			continue;
		}
		if (c->start == c->end && fill_or_fail(c, lim, resp) < 0)
			return -1;
		take = c->end - c->start;
		if (take > want)
			take = want;
		(void)lt_buf_append(&r->body, c->buf + c->start, take);
		c->start += take;
		want -= take;
	}
	return 0;
}

/* Takes one line of body framing (chunk size, chunk end, trailer) out of
 * the buffer.  *line stays valid until the next read.  Lines longer than
 * max are refused with too_long_status. */
static int
body_line(struct lt_conn *c, const struct lt_http_limits *lim, size_t max,
	  int too_long_status, const unsigned char **line, size_t *len,
	  size_t *consumed, struct lt_response *resp)
{
	const unsigned char *p, *nl;
	size_t n, scanned = 0;

	for (;;) {
		p = c->buf + c->start;
		nl = memchr(p + scanned, '\n', c->end - c->start - scanned);
		if (nl != NULL)
			break;
		scanned = c->end - c->start;
		if (scanned >= max) {
			lt_response_set(resp, too_long_status,
				  too_long_status == 431
					  ? "request trailer section too large"
					  : "chunk size line too long");
			return -1;
		}
		if (fill_or_fail(c, lim, resp) < 0)
			return -1;
	}
	n = (size_t)(nl - p);
	*consumed = n + 1;
	c->start += n + 1;
	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (memchr(p, '\r', n) != NULL) {
		lt_response_set(resp, 400, "malformed chunked encoding");
		return -1;
	}
	*line = p;
	*len = n;
	return 0;
}

static int
hex_value(unsigned char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* chunk-size [ chunk-ext ]; the extensions carry nothing we use. */
static int
parse_chunk_size(const unsigned char *s, size_t len, size_t room,
		 size_t *size, struct lt_response *resp)
{
	unsigned long long v = 0;
	size_t i;
	int d, over = 0;

	/* Past room the value no longer matters, only that it is too
	 * large; the rest of the line is still checked, as malformed is
	 * 400 whatever the size. */
	for (i = 0; i < len && (d = hex_value(s[i])) >= 0; i++) {
		if (!over && (v > (ULLONG_MAX - (unsigned)d) / 16 ||
			      v * 16 + (unsigned)d > room))
			over = 1;
		else if (!over)
			v = v * 16 + (unsigned)d;
	}
	if (i == 0)
		goto bad;
	while (i < len && is_ows(s[i]))
		i++;
	if (i < len && (s[i] != ';' || !is_field_text(s + i, len - i)))
		goto bad;
	if (over) {
		lt_response_set(resp, 413, "request body too large");
		return -1;
	}
	*size = (size_t)v;
	return 0;
bad:
	lt_response_set(resp, 400, "malformed chunk size line");
	return -1;
}

static int
read_chunked(struct lt_conn *c, struct lt_request *r,
	     const struct lt_http_limits *lim, struct lt_response *resp)
{
	size_t max_line = header_cap(c, lim), len, used, size, trailers = 0;
	size_t fields = 0;
	const unsigned char *line;

	for (;;) {
		if (body_line(c, lim, max_line, 400, &line, &len, &used,
			      resp) < 0)
			return -1;
		if (parse_chunk_size(line, len,
				     lim->max_body_size - r->body.len, &size,
				     resp) < 0)
			return -1;
		if (size == 0)
			break;
		if (read_exact(c, r, size, lim, resp) < 0)
			return -1;
		if (body_line(c, lim, max_line, 400, &line, &len, &used,
			      resp) < 0)
			return -1;
		if (len != 0) {
			lt_response_set(resp, 400, "chunk data not followed by CRLF");
			return -1;
		}
	}
	/* The trailer section: counted like a header section, then
	 * dropped; nothing we need may come in a trailer. */
	for (;;) {
		if (body_line(c, lim, max_line, 431, &line, &len, &used,
			      resp) < 0)
			return -1;
		trailers += used;
		if (trailers > max_line) {
			lt_response_set(resp, 431, "request trailer section too "
					     "large");
			return -1;
		}
		if (len == 0)
			return 0;
		if (++fields > lim->max_headers) {
			lt_response_set(resp, 431, "more than %zu trailer fields "
					     "(max_headers)", lim->max_headers);
			return -1;
		}
		if (is_ows(line[0]) || memchr(line, ':', len) == NULL) {
			lt_response_set(resp, 400, "malformed trailer line");
			return -1;
		}
	}
}

int
lt_http_read_body(struct lt_conn *c, struct lt_request *r,
		  const struct lt_http_limits *lim, struct lt_response *resp)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

	lt_buf_reset(&r->body);
	start_request_clock(c, lim);
	if (r->content_length >= 0 &&
	    (unsigned long long)r->content_length > lim->max_body_size) {
		/* Not read: the caller closes the connection after the
		 * answer, and a client waiting for 100 never sends it. */
		lt_response_set(resp, 413, "request body exceeds %zu bytes",
			  lim->max_body_size);
		return -1;
	}
	if (r->content_length == 0)
		return 0;
	if (r->expect_continue) {
		r->expect_continue = 0;
		if (lt_fd_write_all(c->out_fd, cont, sizeof(cont) - 1) < 0) {
			lt_response_set(resp, 400, "cannot send 100 Continue");
			return -1;
		}
	}
	if (r->content_length > 0)
		return read_exact(c, r, (size_t)r->content_length, lim, resp);
	return read_chunked(c, r, lim, resp);
}

/* Allow is set by the caller from constants; still, a CR or LF in it
 * would split the response. */
static int
safe_header_value(const char *s)
{
	return strpbrk(s, "\r\n") == NULL;
}

int
lt_response_format(struct lt_buf *b, const struct lt_response *resp, int cgi,
		   int keep_alive)
{
	size_t mlen = strnlen(resp->message, sizeof(resp->message));
	int no_body = resp->status == 204 || resp->status == 304 ||
		      resp->status < 200;
	int typed = resp->content_type != NULL && !no_body &&
		    safe_header_value(resp->content_type);
	int body = mlen > 0 && !no_body && !typed;

	if (lt_buf_printf(b, "%s %d %s\r\n", cgi ? "Status:" : "HTTP/1.1",
			  resp->status, lt_http_reason(resp->status)) < 0)
		return -1;
	if (typed) {
		/* An empty body still says its type: an OTLP client reads
		 * an empty protobuf answer as one that rejected nothing. */
		if (lt_buf_printf(b, "Content-Type: %s\r\nContent-Length: %zu\r\n",
				  resp->content_type, resp->body_len) < 0)
			return -1;
	} else if (body) {
		if (lt_buf_printf(b, "Content-Type: text/plain; "
				     "charset=utf-8\r\nContent-Length: %zu\r\n",
				  mlen + 1) < 0)
			return -1;
	} else if (!no_body) {
		if (lt_buf_printf(b, "Content-Length: 0\r\n") < 0)
			return -1;
	}
	if (resp->retry_after > 0 &&
	    lt_buf_printf(b, "Retry-After: %d\r\n", resp->retry_after) < 0)
		return -1;
	if (resp->allow != NULL && safe_header_value(resp->allow) &&
	    lt_buf_printf(b, "Allow: %s\r\n", resp->allow) < 0)
		return -1;
	if (resp->www_authenticate != NULL &&
	    safe_header_value(resp->www_authenticate) &&
	    lt_buf_printf(b, "WWW-Authenticate: %s\r\n",
			  resp->www_authenticate) < 0)
		return -1;
	if (!cgi && !keep_alive && lt_buf_printf(b, "Connection: close\r\n") < 0)
		return -1;
	if (lt_buf_append(b, "\r\n", 2) < 0)
		return -1;
	if (resp->head)
		return 0;
	if (body && (lt_buf_append(b, resp->message, mlen) < 0 ||
		     lt_buf_append_byte(b, '\n') < 0))
		return -1;
	if (typed && resp->body_len > 0 &&
	    lt_buf_append(b, resp->body, resp->body_len) < 0)
		return -1;
	return 0;
}

int
lt_http_write_response(struct lt_conn *c, const struct lt_response *resp,
		       int keep_alive)
{
	struct lt_buf b = LT_BUF_INIT;
	int rc = -1;

	if (lt_response_format(&b, resp, 0, keep_alive) == 0)
		rc = lt_fd_write_all(c->out_fd, b.data, b.len);
	lt_buf_free(&b);
	return rc;
}

void
lt_conn_linger(struct lt_conn *c, int timeout_ms)
{
	unsigned char sink[4096];
	long long end = lt_monotonic_ms() + timeout_ms, left;
	ssize_t n;

	if (shutdown(c->out_fd, SHUT_WR) < 0)
		return; /* not a socket (a test's pipe): nothing to linger on */
	/* timeout_ms in all, not per read: a client that keeps sending must
	 * not keep the process. */
	for (;;) {
		left = end - lt_monotonic_ms();
		if (left <= 0 || lt_fd_wait(c->in_fd, POLLIN, (int)left) != 1)
			return;
		n = read(c->in_fd, sink, sizeof(sink));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
	}
}

void
lt_http_stream_init(struct lt_http_stream *s, int fd, int cgi, int http10,
		    int keep_alive, const char *content_type)
{
	s->fd = fd;
	s->cgi = cgi;
	/* HTTP/1.0 has no chunked coding: the body ends with the
	 * connection. */
	s->chunked = !cgi && !http10;
	s->keep_alive = !cgi && !http10 && keep_alive;
	s->started = 0;
	s->failed = 0;
	s->content_type = content_type;
	s->len = 0;
}

static int
stream_head(struct lt_http_stream *s)
{
	struct lt_buf b = LT_BUF_INIT;
	int rc = -1;

	if (lt_buf_printf(&b, "%s 200 OK\r\nContent-Type: %s\r\n",
			  s->cgi ? "Status:" : "HTTP/1.1",
			  s->content_type) < 0)
		goto out;
	if (s->chunked &&
	    lt_buf_printf(&b, "Transfer-Encoding: chunked\r\n") < 0)
		goto out;
	if (!s->cgi && !s->keep_alive &&
	    lt_buf_printf(&b, "Connection: close\r\n") < 0)
		goto out;
	if (lt_buf_append(&b, "\r\n", 2) < 0)
		goto out;
	rc = lt_fd_write_all(s->fd, b.data, b.len);
out:
	lt_buf_free(&b);
	return rc;
}

/* Writes the gathered bytes, as one chunk when chunked. */
static int
stream_flush(struct lt_http_stream *s)
{
	char size[32];
	int n;

	if (s->failed)
		return -1;
	if (!s->started) {
		s->started = 1;
		if (stream_head(s) < 0)
			goto fail;
	}
	if (s->len == 0)
		return 0;
	if (s->chunked) {
		n = snprintf(size, sizeof(size), "%zx\r\n", s->len);
		if (n < 0 || lt_fd_write_all(s->fd, size, (size_t)n) < 0)
			goto fail;
	}
	if (lt_fd_write_all(s->fd, s->buf, s->len) < 0 ||
	    (s->chunked && lt_fd_write_all(s->fd, "\r\n", 2) < 0))
		goto fail;
	s->len = 0;
	return 0;
fail:
	s->failed = 1;
	return -1;
}

int
lt_http_stream_write(struct lt_http_stream *s, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t take;

	while (len > 0) {
		if (s->failed)
			return -1;
		if (s->len == sizeof(s->buf) && stream_flush(s) < 0)
			return -1;
		take = sizeof(s->buf) - s->len;
		if (take > len)
			take = len;
		memcpy(s->buf + s->len, p, take);
		s->len += take;
		p += take;
		len -= take;
	}
	return s->failed ? -1 : 0;
}

int
lt_http_stream_end(struct lt_http_stream *s)
{
	static const char last[] = "0\r\n\r\n";

	if (stream_flush(s) < 0)
		return -1;
	if (s->chunked && lt_fd_write_all(s->fd, last, sizeof(last) - 1) < 0) {
		s->failed = 1;
		return -1;
	}
	return 0;
}

int
lt_http_stream_keep_alive(const struct lt_http_stream *s)
{
	return s->keep_alive && !s->failed;
}
