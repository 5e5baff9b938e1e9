/* Unit tests: HTTP framing, in inetd mode over a socket pair and under
 * CGI from a prepared environment. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http.h"

/* One connection: the test writes the client side into sv[0], the code
 * under test reads sv[1]. */
struct fixture {
	int sv[2];
	struct lt_conn conn;
	struct lt_request req;
	struct lt_response resp;
	struct lt_http_limits lim;
};

static struct fixture *fx;

static void
setup(void)
{
	fx = calloc(1, sizeof(*fx));
	ck_assert_ptr_nonnull(fx);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fx->sv), 0);
	lt_conn_init(&fx->conn, fx->sv[1], fx->sv[1]);
	lt_request_init(&fx->req);
	fx->lim.max_header_size = 8192;
	fx->lim.max_body_size = 1024;
	fx->lim.read_timeout_ms = 2000;
	fx->lim.idle_timeout_ms = 2000;
	fx->lim.max_headers = 100;
}

static void
teardown(void)
{
	lt_request_free(&fx->req);
	(void)close(fx->sv[0]);
	(void)close(fx->sv[1]);
	free(fx);
	fx = NULL;
}

static void
send_str(const char *s)
{
	size_t len = strlen(s);

	ck_assert_int_eq(write(fx->sv[0], s, len), (ssize_t)len);
}

static void
send_eof(void)
{
	ck_assert_int_eq(shutdown(fx->sv[0], SHUT_WR), 0);
}

static enum lt_read_result
read_head(void)
{
	return lt_http_read_head(&fx->conn, &fx->req, &fx->lim, &fx->resp);
}

static int
read_body(void)
{
	return lt_http_read_body(&fx->conn, &fx->req, &fx->lim, &fx->resp);
}

static void
assert_body(const char *want)
{
	ck_assert_uint_eq(fx->req.body.len, strlen(want));
	ck_assert(memcmp(fx->req.body.data, want, strlen(want)) == 0);
}

static void
assert_head_error(int status)
{
	ck_assert_int_eq(read_head(), LT_READ_ERROR);
	ck_assert_int_eq(fx->resp.status, status);
	ck_assert(fx->resp.message[0] != '\0');
}

/* Reads whatever the server side wrote to the client end. */
static size_t
recv_all(int fd, char *buf, size_t cap)
{
	ssize_t n;

	n = recv(fd, buf, cap - 1, MSG_DONTWAIT);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	return (size_t)n;
}

START_TEST(test_content_length)
{
	send_str("POST /loki/api/v1/push?x=1 HTTP/1.1\r\n"
		 "Host: example\r\n"
		 "Content-Type: application/json\r\n"
		 "tenant-id: acme\r\n"
		 "X-Scope-OrgID:  org7 \r\n"
		 "Content-Encoding: gzip\r\n"
		 "Content-Length: 11\r\n"
		 "\r\n"
		 "hello world");
	ck_assert_int_eq(read_head(), LT_READ_OK);
	ck_assert_str_eq(fx->req.method, "POST");
	ck_assert_str_eq(fx->req.path, "/loki/api/v1/push");
	ck_assert_str_eq(fx->req.content_type, "application/json");
	ck_assert_str_eq(fx->req.tenant_id, "acme");
	ck_assert_str_eq(fx->req.scope_orgid, "org7");
	ck_assert_str_eq(fx->req.content_encoding, "gzip");
	ck_assert_int_eq(fx->req.content_length, 11);
	ck_assert_int_eq(fx->req.keep_alive, 1);
	ck_assert_int_eq(fx->req.expect_continue, 0);
	ck_assert_int_eq(read_body(), 0);
	assert_body("hello world");
}
END_TEST

START_TEST(test_header_case_and_bare_lf)
{
	send_str("POST /p HTTP/1.1\nhost: h\nTENANT-ID: t1\n"
		 "content-length: 2\n\nab");
	ck_assert_int_eq(read_head(), LT_READ_OK);
	ck_assert_str_eq(fx->req.tenant_id, "t1");
	ck_assert_ptr_null(fx->req.scope_orgid);
	ck_assert_ptr_null(fx->req.content_type);
	ck_assert_int_eq(read_body(), 0);
	assert_body("ab");
}
END_TEST

START_TEST(test_chunked)
{
	send_str("POST /p HTTP/1.1\r\nHost: h\r\n"
		 "Transfer-Encoding: Chunked\r\n\r\n"
		 "5;name=value\r\nhello\r\n"
		 "1 ; ext\r\n \r\n"
		 "00005\r\nworld\r\n"
		 "0\r\n"
		 "X-Trailer: yes\r\n"
		 "Other: 1\r\n"
		 "\r\n");
	ck_assert_int_eq(read_head(), LT_READ_OK);
	ck_assert_int_eq(fx->req.content_length, -1);
	ck_assert_int_eq(read_body(), 0);
	assert_body("hello world");
	/* Everything was consumed: the next read finds EOF. */
	send_eof();
	ck_assert_int_eq(read_head(), LT_READ_CLOSED);
}
END_TEST

START_TEST(test_chunked_malformed)
{
	send_str("POST /p HTTP/1.1\r\nHost: h\r\n"
		 "Transfer-Encoding: chunked\r\n\r\n"
		 "5\r\nhelloXX\r\n0\r\n\r\n");
	ck_assert_int_eq(read_head(), LT_READ_OK);
	ck_assert_int_eq(read_body(), -1);
	ck_assert_int_eq(fx->resp.status, 400);
}
END_TEST

START_TEST(test_chunked_bad_size)
{
	send_str("POST /p HTTP/1.1\r\nHost: h\r\n"
		 "Transfer-Encoding: chunked\r\n\r\n"
		 "zz\r\n");
	ck_assert_int_eq(read_head(), LT_READ_OK);
	ck_assert_int_eq(read_body(), -1);
	ck_assert_int_eq(fx->resp.status, 400);
}
END_TEST

START_TEST(test_chunked_too_large)
{
	/* 1000 + 100 > 1024, and a size that overflows 64 bits. */
	static char req[2048];
	int n;

	n = snprintf(req, sizeof(req),
		     "POST /p HTTP/1.1\r\nHost: h\r\n"
		     "Transfer-Encoding: chunked\r\n\r\n3e8\r\n%01000d\r\n"
		     "64\r\n",
		     0);
	ck_assert_int_lt(n, (int)sizeof(req));
	send_str(req);
	ck_assert_int_eq(read_head(), LT_READ_OK);
	ck_assert_int_eq(read_body(), -1);
	ck_assert_int_eq(fx->resp.status, 413);
}
END_TEST

START_TEST(test_chunked_huge_size)
{
	send_str("POST /p HTTP/1.1\r\nHost: h\r\n"
		 "Transfer-Encoding: chunked\r\n\r\n"
		 "fffffffffffffffffffffffff\r\n");
	ck_assert_int_eq(read_head(), LT_READ_OK);
	ck_assert_int_eq(read_body(), -1);
	ck_assert_int_eq(fx->resp.status, 413);
}
END_TEST

START_TEST(test_chunked_trailers_too_large)
{
	char line[200];
	int i;

	fx->lim.max_header_size = 300;
	send_str("POST /p HTTP/1.1\r\nHost: h\r\n"
		 "Transfer-Encoding: chunked\r\n\r\n0\r\n");
	memset(line, 'a', sizeof(line));
	memcpy(line, "X-T: ", 5);
	line[sizeof(line) - 3] = '\r';
	line[sizeof(line) - 2] = '\n';
	line[sizeof(line) - 1] = '\0';
	for (i = 0; i < 3; i++)
		send_str(line);
	send_str("\r\n");
	ck_assert_int_eq(read_head(), LT_READ_OK);
	ck_assert_int_eq(read_body(), -1);
	ck_assert_int_eq(fx->resp.status, 431);
}
END_TEST

START_TEST(test_cl_and_te)
{
	send_str("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
		 "Transfer-Encoding: chunked\r\n\r\n");
	assert_head_error(400);
	ck_assert_int_eq(fx->req.keep_alive, 0);
}
END_TEST

START_TEST(test_te_not_chunked)
{
	send_str("POST /p HTTP/1.1\r\nHost: h\r\n"
		 "Transfer-Encoding: gzip, chunked\r\n\r\n");
	assert_head_error(501);
}
END_TEST

START_TEST(test_te_twice)
{
	send_str("POST /p HTTP/1.1\r\nHost: h\r\n"
		 "Transfer-Encoding: chunked\r\n"
		 "Transfer-Encoding: chunked\r\n\r\n");
	assert_head_error(501);
}
END_TEST

START_TEST(test_header_too_large)
{
	char big[300];

	fx->lim.max_header_size = 200;
	memset(big, 'a', sizeof(big));
	memcpy(big, "X-Big: ", 7);
	big[sizeof(big) - 1] = '\0';
	send_str("GET / HTTP/1.1\r\nHost: h\r\n");
	send_str(big);
	assert_head_error(431);
}
END_TEST

START_TEST(test_header_just_fits)
{
	const char *req = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";

	fx->lim.max_header_size = strlen(req);
	send_str(req);
	ck_assert_int_eq(read_head(), LT_READ_OK);
	fx->lim.max_header_size = strlen(req) - 1;
	send_str(req);
	assert_head_error(431);
}
END_TEST

/* A cap above the buffer size is clamped: a 70000-byte head is 431, not
 * a hang or an overflow. */
START_TEST(test_header_cap_clamped)
{
	pid_t pid;
	int status;

	fx->lim.max_header_size = 1 << 20;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		static char big[70000];
		size_t off = 0;
		ssize_t n;

		/* Else the parent's close would not end the connection. */
		(void)close(fx->sv[1]);
		memset(big, 'a', sizeof(big));
		memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
		while (off < sizeof(big)) {
			n = write(fx->sv[0], big + off, sizeof(big) - off);
			if (n <= 0)
				_exit(0); /* the reader closed: fine */
			off += (size_t)n;
		}
		_exit(0);
	}
	assert_head_error(431);
	(void)close(fx->sv[1]);
	fx->sv[1] = -1;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
}
END_TEST

START_TEST(test_expect_continue)
{
	char got[256];

	send_str("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
		 "Expect: 100-Continue\r\n\r\n");
	ck_assert_int_eq(read_head(), LT_READ_OK);
	ck_assert_int_eq(fx->req.expect_continue, 1);
	/* Nothing is sent before the body is asked for. */
	errno = 0;
	ck_assert_int_eq(recv(fx->sv[0], got, sizeof(got), MSG_DONTWAIT), -1);
	ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
	send_str("abc"); /* fits the socket buffer */
	ck_assert_int_eq(read_body(), 0);
	assert_body("abc");
	recv_all(fx->sv[0], got, sizeof(got));
	ck_assert_str_eq(got, "HTTP/1.1 100 Continue\r\n\r\n");
}
END_TEST

START_TEST(test_expect_continue_too_large)
{
	char got[256];

	send_str("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 5000\r\n"
		 "Expect: 100-continue\r\n\r\n");
	ck_assert_int_eq(read_head(), LT_READ_OK);
	ck_assert_int_eq(read_body(), -1);
	ck_assert_int_eq(fx->resp.status, 413);
	/* No 100 Continue: the client must not send the body. */
	errno = 0;
	ck_assert_int_eq(recv(fx->sv[0], got, sizeof(got), MSG_DONTWAIT), -1);
}
END_TEST

START_TEST(test_expect_other)
{
	send_str("POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
		 "Expect: something\r\n\r\n");
	assert_head_error(417);
}
END_TEST

START_TEST(test_pipelined)
{
	send_str("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\none"
		 "\r\n" /* a stray CRLF after a body is tolerated */
		 "POST /b HTTP/1.1\r\nHost: h\r\n"
		 "Transfer-Encoding: chunked\r\n\r\n3\r\ntwo\r\n0\r\n\r\n"
		 "GET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
	ck_assert_int_eq(read_head(), LT_READ_OK);
	ck_assert_str_eq(fx->req.path, "/a");
	ck_assert_int_eq(read_body(), 0);
	assert_body("one");
	ck_assert_int_eq(fx->req.keep_alive, 1);

	ck_assert_int_eq(read_head(), LT_READ_OK);
	ck_assert_str_eq(fx->req.path, "/b");
	ck_assert_int_eq(read_body(), 0);
	assert_body("two");
	ck_assert_int_eq(fx->req.keep_alive, 1);

	ck_assert_int_eq(read_head(), LT_READ_OK);
	ck_assert_str_eq(fx->req.method, "GET");
	ck_assert_str_eq(fx->req.path, "/c");
	ck_assert_int_eq(fx->req.content_length, 0);
	ck_assert_int_eq(fx->req.keep_alive, 0);
	ck_assert_int_eq(read_body(), 0);
	ck_assert_uint_eq(fx->req.body.len, 0);
}
END_TEST

/* A body larger than the connection's buffer, read from a file (a
 * socket pair would need a second writer), with the next request right
 * behind it: every byte in place, and not one byte of the next
 * request taken into the body.  want_body is 0 for a file that ends
 * inside the body. */
static void
large_body_from_file(size_t body_len, size_t sent, int want_body)
{
	static const char next[] = "GET /next HTTP/1.1\r\nHost: h\r\n\r\n";
	char head[128], path[] = "/tmp/test-http-XXXXXX";
	unsigned char *body = malloc(body_len);
	size_t i;
	int fd, n;

	ck_assert_ptr_nonnull(body);
	for (i = 0; i < body_len; i++)
		body[i] = (unsigned char)(i * 7 + i / 251);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(unlink(path), 0);
	n = snprintf(head, sizeof(head), "POST /big HTTP/1.1\r\nHost: h\r\n"
		     "Content-Length: %zu\r\n\r\n", body_len);
	ck_assert_int_eq(write(fd, head, (size_t)n), n);
	ck_assert_int_eq(write(fd, body, sent), (ssize_t)sent);
	if (sent == body_len)
		ck_assert_int_eq(write(fd, next, strlen(next)),
				 (ssize_t)strlen(next));
	ck_assert_int_eq(lseek(fd, 0, SEEK_SET), 0);
	lt_conn_init(&fx->conn, fd, fx->sv[1]);
	fx->lim.max_body_size = body_len;

	ck_assert_int_eq(read_head(), LT_READ_OK);
	if (!want_body) {
		ck_assert_int_eq(read_body(), -1);
		ck_assert_int_eq(fx->resp.status, 400);
	} else {
		ck_assert_int_eq(read_body(), 0);
		ck_assert_uint_eq(fx->req.body.len, body_len);
		ck_assert(memcmp(fx->req.body.data, body, body_len) == 0);
		ck_assert_int_eq(read_head(), LT_READ_OK);
		ck_assert_str_eq(fx->req.path, "/next");
	}
	(void)close(fd);
	free(body);
}

START_TEST(test_large_body_then_next)
{
	large_body_from_file(300000, 300000, 1);
	/* Exactly the buffer's size, and one byte more. */
	lt_request_free(&fx->req);
	lt_request_init(&fx->req);
	large_body_from_file(65536, 65536, 1);
	lt_request_free(&fx->req);
	lt_request_init(&fx->req);
	large_body_from_file(65537, 65537, 1);
}
END_TEST

START_TEST(test_large_body_truncated)
{
	large_body_from_file(300000, 200000, 0);
}
END_TEST

START_TEST(test_connection_close)
{
	send_str("POST /p HTTP/1.1\r\nHost: h\r\n"
		 "Connection: TE, Close\r\nContent-Length: 0\r\n\r\n");
	ck_assert_int_eq(read_head(), LT_READ_OK);
	ck_assert_int_eq(fx->req.keep_alive, 0);
	ck_assert_int_eq(fx->req.content_length, 0);
}
END_TEST

/* A WebSocket's opening handshake (RFC 6455 4.1), for the live tail:
 * "upgrade" among Connection's tokens, the three headers kept. */
START_TEST(test_websocket_headers)
{
	send_str("GET /loki/api/v1/tail?query=x HTTP/1.1\r\nHost: h\r\n"
		 "Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n"
		 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		 "sec-websocket-version: 13\r\n\r\n");
	ck_assert_int_eq(read_head(), LT_READ_OK);
	ck_assert_int_eq(fx->req.conn_upgrade, 1);
	ck_assert_str_eq(fx->req.upgrade, "websocket");
	ck_assert_str_eq(fx->req.ws_key, "dGhlIHNhbXBsZSBub25jZQ==");
	ck_assert_str_eq(fx->req.ws_version, "13");
	ck_assert_str_eq(fx->req.query, "query=x");
	/* Without them, nothing is set. */
	lt_request_free(&fx->req);
	lt_request_init(&fx->req);
	send_str("GET /p HTTP/1.1\r\nHost: h\r\n\r\n");
	ck_assert_int_eq(read_head(), LT_READ_OK);
	ck_assert_int_eq(fx->req.conn_upgrade, 0);
	ck_assert_ptr_null(fx->req.upgrade);
	ck_assert_ptr_null(fx->req.ws_key);
	/* Two keys are no handshake. */
	lt_request_free(&fx->req);
	lt_request_init(&fx->req);
	send_str("GET /p HTTP/1.1\r\nHost: h\r\nSec-WebSocket-Key: a\r\n"
		 "Sec-WebSocket-Key: b\r\n\r\n");
	ck_assert_int_eq(read_head(), LT_READ_ERROR);
	ck_assert_int_eq(fx->resp.status, 400);
}
END_TEST

START_TEST(test_http10)
{
	send_str("POST /p HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi");
	ck_assert_int_eq(read_head(), LT_READ_OK);
	ck_assert_int_eq(fx->req.keep_alive, 0);
	ck_assert_int_eq(read_body(), 0);
	assert_body("hi");
	send_str("POST /p HTTP/1.0\r\nConnection: keep-alive\r\n"
		 "Expect: 100-continue\r\nContent-Length: 0\r\n\r\n");
	ck_assert_int_eq(read_head(), LT_READ_OK);
	ck_assert_int_eq(fx->req.keep_alive, 1);
	ck_assert_int_eq(fx->req.expect_continue, 0); /* ignored in 1.0 */
}
END_TEST

START_TEST(test_http10_chunked)
{
	send_str("POST /p HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n");
	assert_head_error(400);
}
END_TEST

START_TEST(test_bad_versions)
{
	send_str("GET / HTTP/2.0\r\nHost: h\r\n\r\n");
	assert_head_error(505);
}
END_TEST

START_TEST(test_bad_version_syntax)
{
	send_str("GET / HTTX/1.1\r\nHost: h\r\n\r\n");
	assert_head_error(400);
}
END_TEST

static const char *const bad_requests[] = {
	"GET http://example.com/ HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET * HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET  / HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET / HTTP/1.1 \r\nHost: h\r\n\r\n",
	"G(T / HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET /\x01 HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET / HTTP/1.1\r\nHost : h\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n  folded\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n",
	"GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x7f\r\n\r\n",
	"GET / HTTP/1.1\r\n\r\n",                     /* no Host */
	"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", /* two */
	"POST / HTTP/1.1\r\nHost: h\r\ntenant-id: a\r\ntenant-id: b\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: h\r\nX-Scope-OrgID: a\r\n"
	"x-scope-orgid: b\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: h\r\nContent-Type: a/b\r\n"
	"Content-Type: a/c\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: h\r\nContent-Encoding: gzip\r\n"
	"Content-Encoding: snappy\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n"
	"Content-Length: 2\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 1\r\n\r\n",
	"POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n",
};

START_TEST(test_bad_request)
{
	send_str(bad_requests[_i]);
	assert_head_error(400);
}
END_TEST

START_TEST(test_same_content_length_twice)
{
	send_str("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n"
		 "Content-Length: 2\r\n\r\nok");
	ck_assert_int_eq(read_head(), LT_READ_OK);
	ck_assert_int_eq(fx->req.content_length, 2);
}
END_TEST

/* A header repeated with the same value (@myunisoft/loki sends its
 * Content-Type twice) is one header; the first is kept, as Go's
 * Header.Get reads it.  White space around a value is not part of it;
 * media types and codings compare without case. */
static const struct {
	const char *first, *second;
} same_twice[] = {
	{"tenant-id: acme", "tenant-id: acme"},
	{"X-Scope-OrgID: acme", "x-scope-orgid:   acme\t"},
	{"Content-Type: application/json", "content-type: application/json"},
	{"Content-Type: application/json", "Content-Type: Application/JSON"},
	{"Content-Encoding: gzip", "Content-Encoding: GZIP"},
	{"Authorization: Basic YTpi", "Authorization: Basic YTpi"},
};

START_TEST(test_same_header_twice)
{
	char req[512];

	(void)snprintf(req, sizeof(req), "POST / HTTP/1.1\r\nHost: h\r\n"
		       "%s\r\n%s\r\nContent-Length: 0\r\n\r\n",
		       same_twice[_i].first, same_twice[_i].second);
	send_str(req);
	ck_assert_int_eq(read_head(), LT_READ_OK);
	switch (_i) {
	case 0:
		ck_assert_str_eq(fx->req.tenant_id, "acme");
		break;
	case 1:
		ck_assert_str_eq(fx->req.scope_orgid, "acme");
		break;
	case 2:
	case 3:
		ck_assert_str_eq(fx->req.content_type, "application/json");
		break;
	case 4:
		ck_assert_str_eq(fx->req.content_encoding, "gzip");
		break;
	default:
		ck_assert_str_eq(fx->req.authorization, "Basic YTpi");
		break;
	}
}
END_TEST

/* Repeated with another value, the request could be read two ways. */
static const struct {
	const char *name, *first, *second;
} differ_twice[] = {
	{"tenant-id", "acme", "other"},
	{"X-Scope-OrgID", "acme", "ACME"},
	{"Content-Type", "application/json", "application/x-protobuf"},
	{"Content-Encoding", "gzip", "snappy"},
	{"Authorization", "Basic YTpi", "Basic YTpj"},
	{"Content-Length", "2", "3"},
	{"Transfer-Encoding", "chunked", "gzip"},
};

START_TEST(test_header_twice_differs)
{
	char req[512], want[128];

	(void)snprintf(req, sizeof(req), "POST / HTTP/1.1\r\nHost: h\r\n"
		       "%s: %s\r\n%s: %s\r\n\r\n", differ_twice[_i].name,
		       differ_twice[_i].first, differ_twice[_i].name,
		       differ_twice[_i].second);
	send_str(req);
	assert_head_error(400);
	(void)snprintf(want, sizeof(want), "duplicate %s header with a "
		       "different value", differ_twice[_i].name);
	ck_assert_str_eq(fx->resp.message, want);
}
END_TEST

START_TEST(test_content_length_overflow)
{
	send_str("POST / HTTP/1.1\r\nHost: h\r\n"
		 "Content-Length: 99999999999999999999\r\n\r\n");
	assert_head_error(413);
}
END_TEST

START_TEST(test_length_required)
{
	send_str("POST / HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_head_error(411);
}
END_TEST

START_TEST(test_body_too_large)
{
	send_str("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1025\r\n\r\n");
	ck_assert_int_eq(read_head(), LT_READ_OK);
	ck_assert_int_eq(read_body(), -1);
	/* Answered at once: the body, never sent, is not waited for. */
	ck_assert_int_eq(fx->resp.status, 413);
}
END_TEST

START_TEST(test_body_at_limit)
{
	static char req[2048];
	int n;

	n = snprintf(req, sizeof(req),
		     "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1024\r\n"
		     "\r\n%01024d",
		     0);
	ck_assert_int_lt(n, (int)sizeof(req));
	send_str(req);
	ck_assert_int_eq(read_head(), LT_READ_OK);
	ck_assert_int_eq(read_body(), 0);
	ck_assert_uint_eq(fx->req.body.len, 1024);
}
END_TEST

START_TEST(test_body_truncated)
{
	send_str("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n"
		 "12345");
	send_eof();
	ck_assert_int_eq(read_head(), LT_READ_OK);
	ck_assert_int_eq(read_body(), -1);
	ck_assert_int_eq(fx->resp.status, 400);
}
END_TEST

START_TEST(test_chunked_truncated)
{
	send_str("POST / HTTP/1.1\r\nHost: h\r\n"
		 "Transfer-Encoding: chunked\r\n\r\n5\r\nab");
	send_eof();
	ck_assert_int_eq(read_head(), LT_READ_OK);
	ck_assert_int_eq(read_body(), -1);
	ck_assert_int_eq(fx->resp.status, 400);
}
END_TEST

START_TEST(test_body_timeout)
{
	fx->lim.read_timeout_ms = 100;
	send_str("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n"
		 "12345");
	ck_assert_int_eq(read_head(), LT_READ_OK);
	ck_assert_int_eq(read_body(), -1);
	ck_assert_int_eq(fx->resp.status, 408);
}
END_TEST

START_TEST(test_idle_eof)
{
	send_eof();
	ck_assert_int_eq(read_head(), LT_READ_CLOSED);
}
END_TEST

START_TEST(test_idle_timeout)
{
	fx->lim.idle_timeout_ms = 100;
	fx->lim.read_timeout_ms = 10000;
	ck_assert_int_eq(read_head(), LT_READ_CLOSED);
}
END_TEST

START_TEST(test_head_timeout)
{
	fx->lim.idle_timeout_ms = 10000;
	fx->lim.read_timeout_ms = 100;
	send_str("POST / HTTP/1.1\r\nHost:");
	assert_head_error(408);
}
END_TEST

START_TEST(test_head_eof)
{
	send_str("POST / HTTP/1.1\r\nHost:");
	send_eof();
	assert_head_error(400);
}
END_TEST

/* Bytes arriving one at a time still make one request. */
START_TEST(test_slow_client)
{
	const char *req = "POST /s HTTP/1.1\r\nHost: h\r\nContent-Length: 2"
			  "\r\n\r\nok";
	pid_t pid;
	int status;

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		const char *p;

		for (p = req; *p != '\0'; p++) {
			if (write(fx->sv[0], p, 1) != 1)
				_exit(1);
			(void)usleep(1000);
		}
		_exit(0);
	}
	ck_assert_int_eq(read_head(), LT_READ_OK);
	ck_assert_str_eq(fx->req.path, "/s");
	ck_assert_int_eq(read_body(), 0);
	assert_body("ok");
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

/* A client dripping bytes resets the read timeout each time, but the
 * request as a whole has a deadline: the head and the body. */
static void
drip(const char *req, int gap_us)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		const char *p;

		for (p = req; *p != '\0'; p++) {
			if (write(fx->sv[0], p, 1) != 1)
				_exit(0); /* the reader gave up: expected */
			(void)usleep((useconds_t)gap_us);
		}
		_exit(0);
	}
}

static long long
elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &t1), 0);
	return (t1.tv_sec - t0->tv_sec) * 1000LL +
	       (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

START_TEST(test_request_deadline_head)
{
	struct timespec t0;

	fx->lim.read_timeout_ms = 1000;
	fx->lim.request_timeout_ms = 300;
	ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &t0), 0);
	drip("POST / HTTP/1.1\r\nHost: a-very-slow-client.example\r\n"
	     "X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n",
	     50 * 1000);
	assert_head_error(408);
	ck_assert_int_ge(elapsed_ms(&t0), 250);
	ck_assert_int_lt(elapsed_ms(&t0), 900);
}
END_TEST

START_TEST(test_request_deadline_body)
{
	struct timespec t0;

	fx->lim.read_timeout_ms = 1000;
	fx->lim.request_timeout_ms = 300;
	send_str("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n");
	ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &t0), 0);
	ck_assert_int_eq(read_head(), LT_READ_OK);
	drip("0123456789012345678901234567890123456789", 50 * 1000);
	ck_assert_int_eq(read_body(), -1);
	ck_assert_int_eq(fx->resp.status, 408);
	ck_assert_int_ge(elapsed_ms(&t0), 250);
	ck_assert_int_lt(elapsed_ms(&t0), 900);
}
END_TEST

/* The deadline is per request: the second request on a connection gets
 * a fresh one. */
START_TEST(test_request_deadline_per_request)
{
	fx->lim.request_timeout_ms = 200;
	send_str("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nok");
	ck_assert_int_eq(read_head(), LT_READ_OK);
	ck_assert_int_eq(read_body(), 0);
	(void)usleep(300 * 1000);
	send_str("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nok");
	ck_assert_int_eq(read_head(), LT_READ_OK);
	ck_assert_int_eq(read_body(), 0);
	assert_body("ok");
}
END_TEST

START_TEST(test_max_headers)
{
	fx->lim.max_headers = 3;
	send_str("POST / HTTP/1.1\r\nHost: h\r\nA: 1\r\nContent-Length: 2\r\n\r\nok");
	ck_assert_int_eq(read_head(), LT_READ_OK);
	ck_assert_int_eq(read_body(), 0);
	send_str("POST / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n"
		 "Content-Length: 2\r\n\r\nok");
	assert_head_error(431);
	ck_assert_str_eq(fx->resp.message,
			 "more than 3 header fields (max_headers)");
}
END_TEST

START_TEST(test_max_trailers)
{
	fx->lim.max_headers = 2;
	send_str("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
		 "2\r\nok\r\n0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n");
	ck_assert_int_eq(read_head(), LT_READ_OK);
	ck_assert_int_eq(read_body(), -1);
	ck_assert_int_eq(fx->resp.status, 431);
}
END_TEST

static void
check_http_response(const struct lt_response *resp, int keep_alive,
		    const char *want)
{
	char got[4096];

	ck_assert_int_eq(lt_http_write_response(&fx->conn, resp, keep_alive),
			 0);
	recv_all(fx->sv[0], got, sizeof(got));
	ck_assert_str_eq(got, want);
}

START_TEST(test_http_response_204)
{
	struct lt_response r = {.status = 204};

	check_http_response(&r, 1, "HTTP/1.1 204 No Content\r\n\r\n");
}
END_TEST

START_TEST(test_http_response_400)
{
	struct lt_response r = {.status = 400};

	(void)snprintf(r.message, sizeof(r.message), "bad tenant");
	check_http_response(&r, 0,
			    "HTTP/1.1 400 Bad Request\r\n"
			    "Content-Type: text/plain; charset=utf-8\r\n"
			    "Content-Length: 11\r\n"
			    "Connection: close\r\n"
			    "\r\n"
			    "bad tenant\n");
}
END_TEST

START_TEST(test_http_response_headers)
{
	struct lt_response r = {.status = 503, .retry_after = 30};
	struct lt_response a = {.status = 405, .allow = "POST"};

	check_http_response(&r, 1,
			    "HTTP/1.1 503 Service Unavailable\r\n"
			    "Content-Length: 0\r\n"
			    "Retry-After: 30\r\n"
			    "\r\n");
	check_http_response(&a, 0,
			    "HTTP/1.1 405 Method Not Allowed\r\n"
			    "Content-Length: 0\r\n"
			    "Allow: POST\r\n"
			    "Connection: close\r\n"
			    "\r\n");
}
END_TEST

/* A body of its own type replaces the text, which stays for the log;
 * Retry-After and the other headers stay. */
START_TEST(test_http_response_typed_body)
{
	static const unsigned char proto[] = {0x08, 0x0e, 0x12, 0x01, 'x'};
	struct lt_response r;
	char want[512];

	(void)lt_response_set(&r, 503, "spool full");
	ck_assert_int_eq(lt_response_set_body(&r, "application/x-protobuf",
					      proto, sizeof(proto)), 0);
	ck_assert_str_eq(r.message, "spool full");
	ck_assert_int_eq(lt_http_write_response(&fx->conn, &r, 1), 0);
	recv_all(fx->sv[0], want, sizeof(want));
	/* The body holds no NUL, so the string compare sees all of it. */
	ck_assert_str_eq(want, "HTTP/1.1 503 Service Unavailable\r\n"
			       "Content-Type: application/x-protobuf\r\n"
			       "Content-Length: 5\r\n"
			       "Retry-After: 30\r\n"
			       "\r\n"
			       "\x08\x0e\x12\x01x");
}
END_TEST

/* An empty body of a type is still typed: an OTLP client reads an empty
 * protobuf answer as a full success. */
START_TEST(test_http_response_typed_empty)
{
	struct lt_response r;

	(void)lt_response_set(&r, 200, "%s", "");
	ck_assert_int_eq(lt_response_set_body(&r, "application/x-protobuf",
					      NULL, 0), 0);
	check_http_response(&r, 0,
			    "HTTP/1.1 200 OK\r\n"
			    "Content-Type: application/x-protobuf\r\n"
			    "Content-Length: 0\r\n"
			    "Connection: close\r\n"
			    "\r\n");
}
END_TEST

/* lt_response_set() drops a body set before, so that a later refusal
 * never goes out with an earlier answer's body. */
START_TEST(test_response_set_clears_body)
{
	struct lt_response r;

	(void)lt_response_set(&r, 200, "%s", "");
	ck_assert_int_eq(lt_response_set_body(&r, "application/json", "{}", 2),
			 0);
	ck_assert_int_eq(r.body_len, 2);
	(void)lt_response_set(&r, 400, "bad");
	ck_assert_ptr_null(r.content_type);
	ck_assert_int_eq(r.body_len, 0);
	check_http_response(&r, 1,
			    "HTTP/1.1 400 Bad Request\r\n"
			    "Content-Type: text/plain; charset=utf-8\r\n"
			    "Content-Length: 4\r\n"
			    "\r\n"
			    "bad\n");
}
END_TEST

/* A body over the room is refused and leaves the answer as it was. */
START_TEST(test_response_body_too_long)
{
	static char big[LT_RESPONSE_BODY_MAX + 1];
	struct lt_response r;

	(void)lt_response_set(&r, 400, "bad");
	ck_assert_int_eq(lt_response_set_body(&r, "application/json", big,
					      sizeof(big)), -1);
	ck_assert_ptr_null(r.content_type);
	ck_assert_int_eq(r.body_len, 0);
	ck_assert_int_eq(lt_response_set_body(&r, "application/json", big,
					      sizeof(big) - 1), 0);
	ck_assert_int_eq(r.body_len, LT_RESPONSE_BODY_MAX);
}
END_TEST

START_TEST(test_http_response_epipe)
{
	struct lt_response r = {.status = 204};

	(void)close(fx->sv[0]);
	fx->sv[0] = -1;
	ck_assert_int_eq(lt_http_write_response(&fx->conn, &r, 1), -1);
}
END_TEST

START_TEST(test_reason)
{
	ck_assert_str_eq(lt_http_reason(200), "OK");
	ck_assert_str_eq(lt_http_reason(204), "No Content");
	ck_assert_str_eq(lt_http_reason(408), "Request Timeout");
	ck_assert_str_eq(lt_http_reason(411), "Length Required");
	ck_assert_str_eq(lt_http_reason(431),
			 "Request Header Fields Too Large");
	ck_assert_str_eq(lt_http_reason(505), "HTTP Version Not Supported");
	ck_assert_str_eq(lt_http_reason(299), "Unknown");
}
END_TEST

/* --- CGI --- */

static void
clear_cgi_env(void)
{
	static const char *const vars[] = {
		"REQUEST_METHOD", "REQUEST_URI", "SCRIPT_NAME", "PATH_INFO",
		"CONTENT_LENGTH", "CONTENT_TYPE", "HTTP_TENANT_ID",
		"HTTP_X_SCOPE_ORGID", "HTTP_CONTENT_ENCODING",
	};
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		ck_assert_int_eq(unsetenv(vars[i]), 0);
}

static int
cgi_head(void)
{
	return lt_cgi_read_head(&fx->req, &fx->resp);
}

START_TEST(test_cgi_head)
{
	clear_cgi_env();
	setenv("REQUEST_METHOD", "POST", 1);
	setenv("REQUEST_URI", "/loki/api/v1/push?a=b?c", 1);
	setenv("SCRIPT_NAME", "/cgi-bin/logthra-recv", 1);
	setenv("CONTENT_LENGTH", "42", 1);
	setenv("CONTENT_TYPE", "application/x-protobuf", 1);
	setenv("HTTP_TENANT_ID", "acme", 1);
	setenv("HTTP_X_SCOPE_ORGID", "org", 1);
	setenv("HTTP_CONTENT_ENCODING", "snappy", 1);
	ck_assert_int_eq(cgi_head(), 0);
	ck_assert_str_eq(fx->req.method, "POST");
	ck_assert_str_eq(fx->req.path, "/loki/api/v1/push");
	ck_assert_int_eq(fx->req.content_length, 42);
	ck_assert_str_eq(fx->req.content_type, "application/x-protobuf");
	ck_assert_str_eq(fx->req.tenant_id, "acme");
	ck_assert_str_eq(fx->req.scope_orgid, "org");
	ck_assert_str_eq(fx->req.content_encoding, "snappy");
	ck_assert_int_eq(fx->req.keep_alive, 0);
}
END_TEST

START_TEST(test_cgi_head_script_path)
{
	clear_cgi_env();
	setenv("REQUEST_METHOD", "GET", 1);
	setenv("REQUEST_URI", "", 1);
	setenv("SCRIPT_NAME", "/cgi-bin/recv", 1);
	setenv("PATH_INFO", "/loki/api/v1/push", 1);
	setenv("CONTENT_LENGTH", "", 1); /* nginx passes it empty */
	setenv("CONTENT_TYPE", "", 1);
	ck_assert_int_eq(cgi_head(), 0);
	ck_assert_str_eq(fx->req.method, "GET");
	ck_assert_str_eq(fx->req.path, "/cgi-bin/recv/loki/api/v1/push");
	ck_assert_int_eq(fx->req.content_length, -1);
	ck_assert_ptr_null(fx->req.content_type);
	ck_assert_ptr_null(fx->req.tenant_id);
	ck_assert_ptr_null(fx->req.scope_orgid);
	ck_assert_ptr_null(fx->req.content_encoding);
}
END_TEST

START_TEST(test_cgi_head_errors)
{
	clear_cgi_env();
	ck_assert_int_eq(cgi_head(), -1);
	ck_assert_int_eq(fx->resp.status, 500);

	setenv("REQUEST_METHOD", "POST", 1);
	setenv("CONTENT_LENGTH", "12x", 1);
	ck_assert_int_eq(cgi_head(), -1);
	ck_assert_int_eq(fx->resp.status, 400);

	setenv("CONTENT_LENGTH", "-1", 1);
	ck_assert_int_eq(cgi_head(), -1);
	ck_assert_int_eq(fx->resp.status, 400);

	setenv("CONTENT_LENGTH", "99999999999999999999", 1);
	ck_assert_int_eq(cgi_head(), -1);
	ck_assert_int_eq(fx->resp.status, 413);
}
END_TEST

/* A header sent twice reaches a CGI program as two variables of one
 * name, in the order sent (nginx before 1.23 with fcgiwrap; Content-Type
 * as CONTENT_TYPE once and HTTP_CONTENT_TYPE twice): with another value
 * refused as in inetd mode, naming the header. */
START_TEST(test_cgi_head_duplicates)
{
	static const char *const names[][2] = {
		{"HTTP_TENANT_ID", "tenant-id"},
		{"HTTP_X_SCOPE_ORGID", "X-Scope-OrgID"},
		{"HTTP_CONTENT_ENCODING", "Content-Encoding"},
		{"HTTP_CONTENT_TYPE", "Content-Type"},
		{"HTTP_AUTHORIZATION", "Authorization"},
		{"HTTP_CONTENT_LENGTH", "Content-Length"},
	};
	char **saved = environ, *env[8], first[64], second[64], want[96];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		(void)snprintf(first, sizeof(first), "%s=acme", names[i][0]);
		(void)snprintf(second, sizeof(second), "%s=../evil",
			       names[i][0]);
		env[0] = "REQUEST_METHOD=POST";
		env[1] = "REQUEST_URI=/api/push";
		env[2] = first;
		env[3] = "HTTP_TENANT_IDX=1"; /* another name */
		env[4] = second;
		env[5] = NULL;
		environ = env;
		ck_assert_int_eq(cgi_head(), -1);
		environ = saved;
		ck_assert_int_eq(fx->resp.status, 400);
		(void)snprintf(want, sizeof(want), "duplicate %s header with "
			       "a different value", names[i][1]);
		ck_assert_str_eq(fx->resp.message, want);
		lt_request_free(&fx->req);
		lt_request_init(&fx->req);
	}
	env[0] = "REQUEST_METHOD=POST";
	env[1] = "REQUEST_URI=/api/push";
	env[2] = "HTTP_TENANT_ID=acme";
	env[3] = "HTTP_TENANT_IDX=1";
	env[4] = "XHTTP_TENANT_ID=2";
	env[5] = NULL;
	environ = env;
	ck_assert_int_eq(cgi_head(), 0);
	environ = saved;
	ck_assert_str_eq(fx->req.tenant_id, "acme");
}
END_TEST

/* The same header twice with the same value is one header, the first
 * taken: what nginx 1.22 + fcgiwrap pass for @myunisoft/loki's two
 * Content-Types, and for a tenant sent twice. */
START_TEST(test_cgi_head_same_twice)
{
	char **saved = environ;
	char *env[] = {
		"REQUEST_METHOD=POST",
		"REQUEST_URI=/loki/api/v1/push",
		"CONTENT_TYPE=application/json",
		"HTTP_CONTENT_TYPE=application/json",
		"HTTP_X_SCOPE_ORGID=acme",
		"HTTP_CONTENT_TYPE=Application/JSON",
		"HTTP_X_SCOPE_ORGID= acme",
		"HTTP_CONTENT_ENCODING=gzip",
		"HTTP_CONTENT_ENCODING=gzip",
		NULL,
	};

	environ = env;
	ck_assert_int_eq(cgi_head(), 0);
	environ = saved;
	ck_assert_str_eq(fx->req.content_type, "application/json");
	ck_assert_str_eq(fx->req.scope_orgid, "acme");
	ck_assert_str_eq(fx->req.content_encoding, "gzip");
}
END_TEST

/* Feeds data into a pipe (it fits the pipe buffer), closes it when eof,
 * and reads it as a CGI body. */
static int
cgi_body(const char *data, int eof)
{
	int p[2], rc;
	size_t len = strlen(data);

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write(p[1], data, len), (ssize_t)len);
	if (eof) {
		(void)close(p[1]);
		p[1] = -1;
	}
	rc = lt_cgi_read_body(&fx->req, p[0], &fx->lim, &fx->resp);
	(void)close(p[0]);
	if (p[1] >= 0)
		(void)close(p[1]);
	return rc;
}

START_TEST(test_cgi_body_length)
{
	/* Exactly CONTENT_LENGTH bytes, even when more are there. */
	fx->req.content_length = 5;
	ck_assert_int_eq(cgi_body("hello, world", 0), 0);
	assert_body("hello");
}
END_TEST

START_TEST(test_cgi_body_short)
{
	fx->req.content_length = 10;
	ck_assert_int_eq(cgi_body("hello", 1), -1);
	ck_assert_int_eq(fx->resp.status, 400);
}
END_TEST

START_TEST(test_cgi_body_timeout)
{
	fx->lim.read_timeout_ms = 100;
	fx->req.content_length = 10;
	ck_assert_int_eq(cgi_body("hello", 0), -1);
	ck_assert_int_eq(fx->resp.status, 408);
}
END_TEST

START_TEST(test_cgi_body_too_large)
{
	fx->req.content_length = 1025;
	ck_assert_int_eq(cgi_body("", 0), -1); /* no wait: not read */
	ck_assert_int_eq(fx->resp.status, 413);
}
END_TEST

START_TEST(test_cgi_body_to_eof)
{
	clear_cgi_env();
	setenv("REQUEST_METHOD", "POST", 1);
	setenv("REQUEST_URI", "/push", 1);
	ck_assert_int_eq(cgi_head(), 0);
	ck_assert_int_eq(fx->req.content_length, -1);
	fx->lim.max_body_size = 10;
	ck_assert_int_eq(cgi_body("0123456789", 1), 0);
	assert_body("0123456789");
	ck_assert_int_eq(cgi_body("0123456789a", 1), -1);
	ck_assert_int_eq(fx->resp.status, 413);
	ck_assert_int_eq(cgi_body("", 1), 0);
	ck_assert_uint_eq(fx->req.body.len, 0);
}
END_TEST

static void
check_cgi_response(const struct lt_response *resp, const char *want)
{
	char got[4096];
	int p[2];
	ssize_t n;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(lt_cgi_write_response(p[1], resp), 0);
	(void)close(p[1]);
	n = read(p[0], got, sizeof(got) - 1);
	(void)close(p[0]);
	ck_assert_int_ge(n, 0);
	got[n] = '\0';
	ck_assert_str_eq(got, want);
}

START_TEST(test_cgi_response)
{
	struct lt_response ok = {.status = 204};
	struct lt_response bad = {.status = 400};
	struct lt_response busy = {.status = 503, .retry_after = 5};
	struct lt_response meth = {.status = 405, .allow = "POST"};

	(void)snprintf(bad.message, sizeof(bad.message), "bad tenant");
	check_cgi_response(&ok, "Status: 204 No Content\r\n\r\n");
	check_cgi_response(&bad, "Status: 400 Bad Request\r\n"
				 "Content-Type: text/plain; charset=utf-8\r\n"
				 "Content-Length: 11\r\n"
				 "\r\n"
				 "bad tenant\n");
	check_cgi_response(&busy, "Status: 503 Service Unavailable\r\n"
				  "Content-Length: 0\r\n"
				  "Retry-After: 5\r\n"
				  "\r\n");
	check_cgi_response(&meth, "Status: 405 Method Not Allowed\r\n"
				  "Content-Length: 0\r\n"
				  "Allow: POST\r\n"
				  "\r\n");
}
END_TEST

START_TEST(test_cgi_response_typed_body)
{
	struct lt_response r;

	(void)lt_response_set(&r, 400, "invalid tenant id");
	ck_assert_int_eq(lt_response_set_body(&r, "application/json",
					      "{\"code\":3}", 10), 0);
	check_cgi_response(&r, "Status: 400 Bad Request\r\n"
			       "Content-Type: application/json\r\n"
			       "Content-Length: 10\r\n"
			       "\r\n"
			       "{\"code\":3}");
}
END_TEST

static Suite *
http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc;

	tc = tcase_create("inetd");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_content_length);
	tcase_add_test(tc, test_header_case_and_bare_lf);
	tcase_add_test(tc, test_chunked);
	tcase_add_test(tc, test_chunked_malformed);
	tcase_add_test(tc, test_chunked_bad_size);
	tcase_add_test(tc, test_chunked_too_large);
	tcase_add_test(tc, test_chunked_huge_size);
	tcase_add_test(tc, test_chunked_trailers_too_large);
	tcase_add_test(tc, test_cl_and_te);
	tcase_add_test(tc, test_te_not_chunked);
	tcase_add_test(tc, test_te_twice);
	tcase_add_test(tc, test_header_too_large);
	tcase_add_test(tc, test_header_just_fits);
	tcase_add_test(tc, test_header_cap_clamped);
	tcase_add_test(tc, test_expect_continue);
	tcase_add_test(tc, test_expect_continue_too_large);
	tcase_add_test(tc, test_expect_other);
	tcase_add_test(tc, test_pipelined);
	tcase_add_test(tc, test_large_body_then_next);
	tcase_add_test(tc, test_large_body_truncated);
	tcase_add_test(tc, test_connection_close);
	tcase_add_test(tc, test_websocket_headers);
	tcase_add_test(tc, test_http10);
	tcase_add_test(tc, test_http10_chunked);
	tcase_add_test(tc, test_bad_versions);
	tcase_add_test(tc, test_bad_version_syntax);
	tcase_add_loop_test(tc, test_bad_request, 0,
			    (int)(sizeof(bad_requests) /
				  sizeof(bad_requests[0])));
	tcase_add_test(tc, test_same_content_length_twice);
	tcase_add_loop_test(tc, test_same_header_twice, 0,
			    (int)(sizeof(same_twice) / sizeof(same_twice[0])));
	tcase_add_loop_test(tc, test_header_twice_differs, 0,
			    (int)(sizeof(differ_twice) / sizeof(differ_twice[0])));
	tcase_add_test(tc, test_content_length_overflow);
	tcase_add_test(tc, test_length_required);
	tcase_add_test(tc, test_body_too_large);
	tcase_add_test(tc, test_body_at_limit);
	tcase_add_test(tc, test_body_truncated);
	tcase_add_test(tc, test_chunked_truncated);
	tcase_add_test(tc, test_body_timeout);
	tcase_add_test(tc, test_idle_eof);
	tcase_add_test(tc, test_idle_timeout);
	tcase_add_test(tc, test_head_timeout);
	tcase_add_test(tc, test_head_eof);
	tcase_add_test(tc, test_slow_client);
	tcase_add_test(tc, test_request_deadline_head);
	tcase_add_test(tc, test_request_deadline_body);
	tcase_add_test(tc, test_request_deadline_per_request);
	tcase_add_test(tc, test_max_headers);
	tcase_add_test(tc, test_max_trailers);
	tcase_add_test(tc, test_http_response_204);
	tcase_add_test(tc, test_http_response_400);
	tcase_add_test(tc, test_http_response_headers);
	tcase_add_test(tc, test_http_response_typed_body);
	tcase_add_test(tc, test_http_response_typed_empty);
	tcase_add_test(tc, test_response_set_clears_body);
	tcase_add_test(tc, test_response_body_too_long);
	tcase_add_test(tc, test_http_response_epipe);
	tcase_add_test(tc, test_reason);
	suite_add_tcase(s, tc);

	tc = tcase_create("cgi");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_cgi_head);
	tcase_add_test(tc, test_cgi_head_script_path);
	tcase_add_test(tc, test_cgi_head_errors);
	tcase_add_test(tc, test_cgi_head_duplicates);
	tcase_add_test(tc, test_cgi_head_same_twice);
	tcase_add_test(tc, test_cgi_body_length);
	tcase_add_test(tc, test_cgi_body_short);
	tcase_add_test(tc, test_cgi_body_timeout);
	tcase_add_test(tc, test_cgi_body_too_large);
	tcase_add_test(tc, test_cgi_body_to_eof);
	tcase_add_test(tc, test_cgi_response);
	tcase_add_test(tc, test_cgi_response_typed_body);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	/* A write to a closed peer must fail with EPIPE, as in the
	 * programs. */
	(void)signal(SIGPIPE, SIG_IGN);
	sr = srunner_create(http_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
