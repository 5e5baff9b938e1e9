/* Unit tests: the ClickHouse client's SQL quoting, its reading of the
 * server's error texts, and its requests against a fake HTTP server in a
 * child process (the integration tests use a real ClickHouse). */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "clickhouse.h"

/* --- SQL (the table's own is in test-table.c) --- */

START_TEST(test_identifiers)
{
	char name[66];

	ck_assert_int_eq(lt_ch_identifier_valid(NULL), 0);
	ck_assert_int_eq(lt_ch_identifier_valid(""), 0);
	ck_assert_int_eq(lt_ch_identifier_valid("a-b"), 0);
	ck_assert_int_eq(lt_ch_identifier_valid("1a"), 0);
	ck_assert_int_eq(lt_ch_identifier_valid("a;b"), 0);
	ck_assert_int_eq(lt_ch_identifier_valid("a b"), 0);
	ck_assert_int_eq(lt_ch_identifier_valid("a.b"), 0);
	ck_assert_int_eq(lt_ch_identifier_valid("`a`"), 0);
	ck_assert_int_eq(lt_ch_identifier_valid("l\xc3\xb6gs"), 0);

	ck_assert_int_eq(lt_ch_identifier_valid("logs"), 1);
	ck_assert_int_eq(lt_ch_identifier_valid("_x1"), 1);
	ck_assert_int_eq(lt_ch_identifier_valid("_"), 1);
	ck_assert_int_eq(lt_ch_identifier_valid("Log_2024"), 1);

	memset(name, 'a', 64);
	name[64] = '\0';
	ck_assert_int_eq(lt_ch_identifier_valid(name), 1);
	name[64] = 'a';
	name[65] = '\0';
	ck_assert_int_eq(lt_ch_identifier_valid(name), 0);
}
END_TEST

/* --- error texts --- */

static struct lt_ch_error err;

static void
from_body(long status, const char *body, const char *header)
{
	memset(&err, 0x55, sizeof(err));
	lt_ch_error_from_body(&err, status, body, body ? strlen(body) : 0,
			      header);
}

START_TEST(test_error_18_16)
{
	from_body(404,
		  "Code: 47, e.displayText() = DB::Exception: Unknown "
		  "identifier: nosuch, e.what() = DB::Exception\n",
		  NULL);
	ck_assert_int_eq(err.http_status, 404);
	ck_assert_int_eq(err.exception_code, 47);
	ck_assert_str_eq(err.message,
			 "Code: 47, e.displayText() = DB::Exception: Unknown "
			 "identifier: nosuch, e.what() = DB::Exception");
}
END_TEST

/* Which refusals mean "these rows", so that the flusher looks for the
 * file at fault instead of waiting for the server. */
START_TEST(test_error_is_data)
{
	from_body(500, "Code: 27, e.displayText() = DB::Exception: Cannot parse input", NULL);
	ck_assert_int_eq(lt_ch_error_is_data(&err), 1);
	from_body(500, "Code: 33. DB::Exception: Cannot read all data", NULL);
	ck_assert_int_eq(lt_ch_error_is_data(&err), 1);
	from_body(500, "Code: 252. DB::Exception: Too many parts", NULL);
	ck_assert_int_eq(lt_ch_error_is_data(&err), 0);
	from_body(500, "Code: 241, e.displayText() = DB::Exception: Memory limit", NULL);
	ck_assert_int_eq(lt_ch_error_is_data(&err), 0);
	from_body(404, "Code: 16. DB::Exception: No such column push_id", NULL);
	ck_assert_int_eq(lt_ch_error_is_data(&err), 0);
}
END_TEST

START_TEST(test_error_modern)
{
	from_body(404,
		  "Code: 60. DB::Exception: Table logs.nosuch does not "
		  "exist. (UNKNOWN_TABLE) (version 23.8.2.7 (official "
		  "build))\n",
		  NULL);
	ck_assert_int_eq(err.http_status, 404);
	ck_assert_int_eq(err.exception_code, 60);
	ck_assert_str_eq(err.message,
			 "Code: 60. DB::Exception: Table logs.nosuch does not "
			 "exist. (UNKNOWN_TABLE) (version 23.8.2.7 (official "
			 "build))");
}
END_TEST

START_TEST(test_error_header)
{
	/* The header wins over the body. */
	from_body(500, "Code: 47. DB::Exception: x\n", "241");
	ck_assert_int_eq(err.exception_code, 241);
	ck_assert_str_eq(err.message, "Code: 47. DB::Exception: x");
	/* A header that is no number is ignored. */
	from_body(500, "Code: 47. DB::Exception: x", "abc");
	ck_assert_int_eq(err.exception_code, 47);
	from_body(500, "Code: 47. DB::Exception: x", "");
	ck_assert_int_eq(err.exception_code, 47);
	from_body(500, "Code: 47. DB::Exception: x", "12x");
	ck_assert_int_eq(err.exception_code, 47);
	/* A header and a body that is not ClickHouse's. */
	from_body(500, "boom", "3");
	ck_assert_int_eq(err.exception_code, 3);
	ck_assert_str_eq(err.message, "boom");
}
END_TEST

START_TEST(test_error_not_clickhouse)
{
	from_body(502,
		  "\r\n<html>\r\n<head><title>502 Bad Gateway</title></head>"
		  "\r\n</html>\r\n",
		  NULL);
	ck_assert_int_eq(err.http_status, 502);
	ck_assert_int_eq(err.exception_code, 0);
	ck_assert_str_eq(err.message,
			 "<html>\r\n<head><title>502 Bad Gateway</title>"
			 "</head>\r\n</html>");

	from_body(401, "", NULL);
	ck_assert_int_eq(err.exception_code, 0);
	ck_assert_str_eq(err.message, "HTTP status 401 with an empty answer");
	from_body(503, NULL, NULL);
	ck_assert_str_eq(err.message, "HTTP status 503 with an empty answer");
	from_body(500, " \n\t ", NULL);
	ck_assert_str_eq(err.message, "HTTP status 500 with an empty answer");

	/* Only a real "Code: N" at the start counts. */
	from_body(500, "Code: x", NULL);
	ck_assert_int_eq(err.exception_code, 0);
	from_body(500, "Code: 99999999999, e.displayText()", NULL);
	ck_assert_int_eq(err.exception_code, 0);
	from_body(500, "Code: 12abc", NULL);
	ck_assert_int_eq(err.exception_code, 0);
	from_body(500, "Error Code: 12, x", NULL);
	ck_assert_int_eq(err.exception_code, 0);
	from_body(500, "Code: -5, x", NULL);
	ck_assert_int_eq(err.exception_code, 0);
}
END_TEST

START_TEST(test_error_long_body)
{
	char body[4000];

	/* 2046 ASCII bytes and then "é": the two-byte character would be
	 * cut after its first byte, so it goes altogether. */
	memset(body, 'x', sizeof(body));
	memcpy(body, "Code: 1, ", 9);
	body[2046] = '\xc3';
	body[2047] = '\xa9';
	lt_ch_error_from_body(&err, 500, body, sizeof(body), NULL);
	ck_assert_int_eq(err.exception_code, 1);
	ck_assert_uint_eq(strlen(err.message), 2046);

	body[2046] = 'y';
	body[2047] = 'z';
	lt_ch_error_from_body(&err, 500, body, sizeof(body), NULL);
	ck_assert_uint_eq(strlen(err.message), 2047);
	ck_assert_int_eq(err.message[2046], 'y');

	/* A NUL ends the text. */
	lt_ch_error_from_body(&err, 500, "ab\0cd", 5, NULL);
	ck_assert_str_eq(err.message, "ab");
}
END_TEST

/* --- the client, against a fake server in a child process --- */

struct fake {
	pid_t pid;
	int port;
	int rd;        /* the requests as the child received them */
};

static size_t
request_end(const char *buf, size_t len)
{
	const char *eoh, *cl;
	char *end;
	unsigned long body = 0;

	eoh = memmem(buf, len, "\r\n\r\n", 4);
	if (eoh == NULL)
		return 0;
	cl = strcasestr(buf, "\r\nContent-Length:");
	if (cl != NULL && cl < eoh) {
		errno = 0;
		body = strtoul(cl + 17, &end, 10);
		if (errno != 0 || end == cl + 17)
			return 0;
	}
	if ((size_t)(eoh + 4 - buf) + body > len)
		return 0;
	return (size_t)(eoh + 4 - buf) + body;
}

/* Serves the answers in order on one connection, so a request that
 * opens a new connection finds nobody.  buf is NUL-terminated. */
static void
fake_child(int lfd, int wr, const char *const *answers)
{
	static char buf[65536];
	size_t len, n, i;
	ssize_t r;
	int fd;

	alarm(10);
	fd = accept(lfd, NULL, NULL);
	if (fd < 0)
		_exit(2);
	for (i = 0; answers[i] != NULL; i++) {
		len = 0;
		while ((n = request_end(buf, len)) == 0) {
			if (len == sizeof(buf) - 1)
				_exit(3);
			r = read(fd, buf + len, sizeof(buf) - 1 - len);
			if (r <= 0)
				_exit(4);
			len += (size_t)r;
			buf[len] = '\0';
		}
		if (n != len)
			_exit(5);
		if (write(wr, buf, len) != (ssize_t)len)
			_exit(6);
		n = strlen(answers[i]);
		if (write(fd, answers[i], n) != (ssize_t)n)
			_exit(7);
	}
	(void)close(fd);
	_exit(0);
}

static void
fake_start(struct fake *f, const char *const *answers)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	int lfd, p[2];

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(lfd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 4), 0);
	ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&sa, &salen), 0);
	f->port = ntohs(sa.sin_port);
	ck_assert_int_eq(pipe(p), 0);
	f->pid = fork();
	ck_assert_int_ge(f->pid, 0);
	if (f->pid == 0) {
		(void)close(p[0]);
		fake_child(lfd, p[1], answers);
	}
	(void)close(p[1]);
	(void)close(lfd);
	f->rd = p[0];
}

static void
fake_finish(struct fake *f, struct lt_buf *requests)
{
	char buf[4096];
	ssize_t r;
	int status;

	while ((r = read(f->rd, buf, sizeof(buf))) > 0)
		ck_assert_int_eq(lt_buf_append(requests, buf, (size_t)r), 0);
	ck_assert_int_eq(r, 0);
	(void)close(f->rd);
	ck_assert_int_eq(waitpid(f->pid, &status, 0), f->pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_int_eq(lt_buf_terminate(requests), 0);
}

static struct lt_ch *
open_fake(const struct fake *f, const char *user, const char *password,
	  const char *path)
{
	static char url[128];
	struct lt_ch_options o;
	struct lt_ch *ch;

	(void)snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", f->port,
		       path);
	memset(&o, 0, sizeof(o));
	o.url = url;
	o.user = user;
	o.password = password;
	o.connect_timeout_s = 5;
	o.timeout_s = 5;
	ch = lt_ch_open(&o);
	ck_assert_ptr_ne(ch, NULL);
	return ch;
}

START_TEST(test_query_keepalive_auth)
{
	static const char *const answers[] = {
	    "HTTP/1.1 200 OK\r\nConnection: Keep-Alive\r\n"
	    "Content-Length: 7\r\n\r\n18.16.1",
	    "HTTP/1.1 200 OK\r\nConnection: Keep-Alive\r\n"
	    "Content-Length: 0\r\n\r\n",
	    NULL};
	struct fake f;
	struct lt_buf out = LT_BUF_INIT, req = LT_BUF_INIT;
	struct lt_ch *ch;
	char *second;

	fake_start(&f, answers);
	ch = open_fake(&f, "default", "sekret", "/");
	ck_assert_int_eq(lt_buf_printf(&out, "v="), 0);
	ck_assert_int_eq(lt_ch_query(ch, "SELECT version()", &out, &err), 0);
	ck_assert_str_eq((char *)out.data, "v=18.16.1");
	/* The second request must reuse the connection: the fake server
	 * accepts only one. */
	ck_assert_int_eq(lt_ch_query(ch, "SELECT 1", NULL, &err), 0);
	lt_ch_close(ch);
	fake_finish(&f, &req);

	ck_assert_int_eq(strncmp((char *)req.data, "POST / HTTP/1.1\r\n", 17),
			 0);
	ck_assert_ptr_ne(strstr((char *)req.data,
				"\r\nAuthorization: Basic ZGVmYXVsdDpzZWtyZXQ="
				"\r\n"),
			 NULL);
	ck_assert_ptr_ne(strstr((char *)req.data, "\r\nContent-Type: "
						  "text/plain; charset=UTF-8"
						  "\r\n"),
			 NULL);
	ck_assert_ptr_eq(strcasestr((char *)req.data, "\r\nExpect:"), NULL);
	second = strstr((char *)req.data, "\r\n\r\nSELECT version()POST /");
	ck_assert_ptr_ne(second, NULL);
	ck_assert_int_eq(strcmp(second + strlen(second) - 12,
				"\r\n\r\nSELECT 1"),
			 0);
	lt_buf_free(&out);
	lt_buf_free(&req);
}
END_TEST

START_TEST(test_insert_url)
{
	static const char *const answers[] = {
	    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", NULL};
	static const unsigned char body[] = {4, 'a', 'c', 'm', 'e', 0, 0, 0,
					     0xff, '\r', '\n'};
	struct fake f;
	struct lt_buf req = LT_BUF_INIT;
	struct lt_ch *ch;
	const char *p;

	fake_start(&f, answers);
	ch = open_fake(&f, NULL, NULL, "/?max_insert_block_size=10");
	ck_assert_int_eq(lt_ch_insert(ch,
				      "INSERT INTO logs.log (a, b) FORMAT "
				      "RowBinary",
				      body, sizeof(body), 0, NULL, &err),
			 0);
	lt_ch_close(ch);
	fake_finish(&f, &req);

	ck_assert_int_eq(
	    strncmp((char *)req.data,
		    "POST /?max_insert_block_size=10&query=INSERT+INTO+logs.log"
		    "+%28a%2c+b%29+FORMAT+RowBinary HTTP/1.1\r\n",
		    strlen("POST /?max_insert_block_size=10&query=INSERT+INTO+"
			   "logs.log+%28a%2c+b%29+FORMAT+RowBinary "
			   "HTTP/1.1\r\n")),
	    0);
	ck_assert_ptr_eq(strcasestr((char *)req.data, "\r\nAuthorization:"),
			 NULL);
	ck_assert_ptr_eq(strcasestr((char *)req.data, "\r\nExpect:"), NULL);
	ck_assert_ptr_ne(strstr((char *)req.data,
				"\r\nContent-Type: application/octet-stream\r\n"),
			 NULL);
	ck_assert_ptr_ne(strstr((char *)req.data, "\r\nContent-Length: 11\r\n"),
			 NULL);
	ck_assert_uint_gt(req.len, sizeof(body));
	p = (const char *)req.data + req.len - sizeof(body);
	ck_assert_int_eq(memcmp(p - 4, "\r\n\r\n", 4), 0);
	ck_assert_int_eq(memcmp(p, body, sizeof(body)), 0);
	lt_buf_free(&req);
}
END_TEST

struct got {
	struct lt_buf data;
	int calls;
	int stop;          /* ask to stop at the first call */
};

static int
on_data(void *ctx, const char *data, size_t len)
{
	struct got *g = ctx;

	g->calls++;
	ck_assert_int_eq(lt_buf_append(&g->data, data, len), 0);
	return g->stop;
}

/* A read statement's settings ride in the URL; an exception written
 * after a 200 began is an error with its code; the handle serves
 * lt_ch_query() afterwards as before. */
START_TEST(test_stream_late_exception)
{
	static const char *const answers[] = {
	    "HTTP/1.1 200 OK\r\nContent-Length: 51\r\n\r\n"
	    "1\t2\n3\t4\nCode: 159. DB::Exception: Timeout exceeded\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n5\t6\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n42", NULL};
	struct lt_ch_query_settings st;
	struct fake f;
	struct got g;
	struct lt_buf out = LT_BUF_INIT, req = LT_BUF_INIT;
	struct lt_ch *ch;

	memset(&g, 0, sizeof(g));
	memset(&st, 0, sizeof(st));
	st.readonly = 2;
	st.max_execution_time_s = 60;
	st.max_memory_usage = 1000;
	st.max_rows_to_read = 5;
	st.timeout_ms = 4000;
	fake_start(&f, answers);
	ch = open_fake(&f, NULL, NULL, "/");
	ck_assert_int_eq(lt_ch_query_stream(ch, "SELECT a", &st, on_data, &g,
					    &err), -1);
	ck_assert_int_eq(err.exception_code, 159);
	ck_assert_int_eq(err.http_status, 200);
	ck_assert_str_eq(err.message, "Code: 159. DB::Exception: Timeout exceeded");
	ck_assert_uint_eq(g.data.len, 51);
	ck_assert_int_eq(memcmp(g.data.data, "1\t2\n3\t4\n", 8), 0);
	/* Without settings, and an answer with no exception. */
	lt_buf_reset(&g.data);
	ck_assert_int_eq(lt_ch_query_stream(ch, "SELECT b", NULL, on_data, &g,
					    &err), 0);
	ck_assert_uint_eq(g.data.len, 4);
	ck_assert_int_eq(lt_ch_query(ch, "SELECT 42", &out, &err), 0);
	ck_assert_str_eq((char *)out.data, "42");
	lt_ch_close(ch);
	fake_finish(&f, &req);
	ck_assert_int_eq(strncmp((char *)req.data,
				 "POST /?readonly=2&max_execution_time=60&"
				 "max_memory_usage=1000&max_rows_to_read=5 "
				 "HTTP/1.1\r\n", 91), 0);
	ck_assert_ptr_ne(strstr((char *)req.data, "SELECT aPOST / HTTP/1.1\r\n"),
			 NULL);
	ck_assert_ptr_ne(strstr((char *)req.data, "SELECT bPOST / HTTP/1.1\r\n"),
			 NULL);
	lt_buf_free(&g.data);
	lt_buf_free(&out);
	lt_buf_free(&req);
}
END_TEST

/* An error status: its body is the message, not data; a callback that
 * asks to stop ends the transfer with success. */
START_TEST(test_stream_error_and_stop)
{
	static const char *const answers[] = {
	    "HTTP/1.1 404 Not Found\r\nX-ClickHouse-Exception-Code: 47\r\n"
	    "Content-Length: 40\r\n\r\n"
	    "Code: 47. DB::Exception: Unknown x. (UN)",
	    "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n1\n2\n3\n4\n", NULL};
	struct fake f;
	struct got g;
	struct lt_buf req = LT_BUF_INIT;
	struct lt_ch *ch;

	memset(&g, 0, sizeof(g));
	fake_start(&f, answers);
	ch = open_fake(&f, NULL, NULL, "/");
	ck_assert_int_eq(lt_ch_query_stream(ch, "SELECT x", NULL, on_data, &g,
					    &err), -1);
	ck_assert_int_eq(g.calls, 0);
	ck_assert_int_eq(err.http_status, 404);
	ck_assert_int_eq(err.exception_code, 47);
	ck_assert_str_eq(err.message, "Code: 47. DB::Exception: Unknown x. (UN)");
	g.stop = 1;
	ck_assert_int_eq(lt_ch_query_stream(ch, "SELECT y", NULL, on_data, &g,
					    &err), 0);
	ck_assert_int_eq(g.calls, 1);
	lt_ch_close(ch);
	fake_finish(&f, &req);
	lt_buf_free(&g.data);
	lt_buf_free(&req);
}
END_TEST

/* Settings for every INSERT go after the URL's own, before the query. */
START_TEST(test_insert_settings_url)
{
	static const char *const answers[] = {
	    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	    "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", NULL};
	static const char want[] =
	    "POST /?max_insert_block_size=10&async_insert=0&query_id=q1&query=INSERT+INTO+t+FORMAT+RowBinary HTTP/1.1\r\n";
	struct fake f;
	struct lt_buf req = LT_BUF_INIT;
	struct lt_ch *ch;

	fake_start(&f, answers);
	ch = open_fake(&f, NULL, NULL, "/?max_insert_block_size=10");
	ck_assert_int_eq(lt_ch_set_insert_settings(ch, "async_insert=0"), 0);
	ck_assert_int_eq(lt_ch_insert(ch, "INSERT INTO t FORMAT RowBinary", "x", 1,
				      0, "q1", &err), 0);
	ck_assert_int_eq(lt_ch_set_insert_settings(ch, NULL), 0);
	ck_assert_int_eq(lt_ch_insert(ch, "INSERT INTO t FORMAT RowBinary", "x", 1,
				      0, "q1", &err), 0);
	lt_ch_close(ch);
	fake_finish(&f, &req);
	ck_assert_int_eq(lt_buf_terminate(&req), 0);
	ck_assert_int_eq(strncmp((char *)req.data, want, strlen(want)), 0);
	/* The second INSERT has none. */
	ck_assert_ptr_nonnull(strstr((char *)req.data + 1,
	    "POST /?max_insert_block_size=10&query_id=q1&query=INSERT"));
	lt_buf_free(&req);
}
END_TEST

START_TEST(test_query_error_answer)
{
	static const char *const answers[] = {
	    "HTTP/1.1 404 Not Found\r\nConnection: Keep-Alive\r\n"
	    "X-ClickHouse-Exception-Code: 60\r\n"
	    "Content-Length: 49\r\n\r\n"
	    "Code: 60. DB::Exception: Table x.y doesn't exist\n",
	    "HTTP/1.1 500 Internal Server Error\r\n"
	    "Content-Length: 30\r\n\r\n"
	    "Code: 241, e.displayText() = \n",
	    NULL};
	struct fake f;
	struct lt_buf out = LT_BUF_INIT, req = LT_BUF_INIT;
	struct lt_ch *ch;

	fake_start(&f, answers);
	ch = open_fake(&f, NULL, NULL, "/");
	ck_assert_int_eq(lt_buf_printf(&out, "keep"), 0);
	ck_assert_int_eq(lt_ch_query(ch, "SELECT * FROM x.y", &out, &err), -1);
	ck_assert_int_eq(err.http_status, 404);
	ck_assert_int_eq(err.exception_code, 60);
	ck_assert_str_eq(err.message,
			 "Code: 60. DB::Exception: Table x.y doesn't exist");
	/* The error text does not end up in the caller's buffer. */
	ck_assert_uint_eq(out.len, 4);
	/* Nor does the last answer's header carry over. */
	ck_assert_int_eq(lt_ch_insert(ch, "INSERT INTO x.y FORMAT RowBinary",
				      "", 0, 0, NULL, &err),
			 -1);
	ck_assert_msg(err.http_status == 500, "%s", err.message);
	ck_assert_int_eq(err.exception_code, 241);
	ck_assert_str_eq(err.message, "Code: 241, e.displayText() =");
	lt_ch_close(ch);
	fake_finish(&f, &req);
	ck_assert_ptr_ne(strstr((char *)req.data, "\r\nContent-Length: 0\r\n"),
			 NULL);
	lt_buf_free(&out);
	lt_buf_free(&req);
}
END_TEST

START_TEST(test_unreachable)
{
	struct sockaddr_in sa;
	socklen_t salen = sizeof(sa);
	struct lt_ch_options o;
	struct lt_ch *ch;
	char url[128], expect[128];
	int fd;

	/* A bound socket that does not listen: connecting is refused, and
	 * nobody else gets the port meanwhile. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &salen), 0);
	(void)snprintf(url, sizeof(url), "http://u:sekret@127.0.0.1:%d/",
		       ntohs(sa.sin_port));
	(void)snprintf(expect, sizeof(expect),
		       "could not reach ClickHouse at http://u@127.0.0.1:%d/: ",
		       ntohs(sa.sin_port));
	memset(&o, 0, sizeof(o));
	o.url = url;
	ch = lt_ch_open(&o);
	ck_assert_ptr_ne(ch, NULL);
	memset(&err, 0x55, sizeof(err));
	ck_assert_int_eq(lt_ch_query(ch, "SELECT 1", NULL, &err), -1);
	ck_assert_int_eq(err.http_status, 0);
	ck_assert_int_eq(err.exception_code, 0);
	ck_assert_int_eq(strncmp(err.message, expect, strlen(expect)), 0);
	ck_assert_uint_gt(strlen(err.message), strlen(expect));
	ck_assert_ptr_eq(strstr(err.message, "sekret"), NULL);
	ck_assert_int_eq(lt_ch_insert(ch, "INSERT INTO a.b FORMAT RowBinary",
				      "x", 1, 5, "logthra-1", &err),
			 -1);
	ck_assert_int_eq(strncmp(err.message, expect, strlen(expect)), 0);
	lt_ch_close(ch);
	(void)close(fd);
}
END_TEST

START_TEST(test_bad_url)
{
	struct lt_ch_options o;
	struct lt_ch *ch;

	memset(&o, 0, sizeof(o));
	o.url = "http://user:pw@127.0.0.1:99999/";
	o.password = "pw2";
	ch = lt_ch_open(&o);
	ck_assert_ptr_ne(ch, NULL);
	ck_assert_int_eq(lt_ch_query(ch, "SELECT 1", NULL, &err), -1);
	ck_assert_int_eq(err.http_status, 0);
	ck_assert_str_eq(err.message,
			 "could not reach ClickHouse at "
			 "http://user@127.0.0.1:99999/: invalid URL: Port number "
			 "was not a decimal number between 0 and 65535");
	lt_ch_close(ch);

	o.url = "ftp://127.0.0.1/";
	o.password = NULL;
	ch = lt_ch_open(&o);
	ck_assert_ptr_ne(ch, NULL);
	ck_assert_int_eq(lt_ch_query(ch, "SELECT 1", NULL, &err), -1);
	/* libcurl's own wording varies between versions. */
	ck_assert_int_eq(strncmp(err.message,
				 "could not reach ClickHouse at "
				 "ftp://127.0.0.1/: Protocol \"ftp\" ",
				 strlen("could not reach ClickHouse at "
					"ftp://127.0.0.1/: Protocol \"ftp\" ")),
			 0);
	lt_ch_close(ch);
}
END_TEST

static Suite *
clickhouse_suite(void)
{
	Suite *s = suite_create("clickhouse");
	TCase *tc;

	tc = tcase_create("sql");
	tcase_add_test(tc, test_identifiers);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, test_error_18_16);
	tcase_add_test(tc, test_error_is_data);
	tcase_add_test(tc, test_error_modern);
	tcase_add_test(tc, test_error_header);
	tcase_add_test(tc, test_error_not_clickhouse);
	tcase_add_test(tc, test_error_long_body);
	suite_add_tcase(s, tc);

	tc = tcase_create("client");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_query_keepalive_auth);
	tcase_add_test(tc, test_insert_url);
	tcase_add_test(tc, test_insert_settings_url);
	tcase_add_test(tc, test_stream_late_exception);
	tcase_add_test(tc, test_stream_error_and_stop);
	tcase_add_test(tc, test_query_error_answer);
	tcase_add_test(tc, test_unreachable);
	tcase_add_test(tc, test_bad_url);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(clickhouse_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
