/* Unit tests: GET /ready's probe of the spool and its answers, the HEAD
 * form of an answer, and the 500 a CGI or inetd run gives every request
 * when its configuration could not be loaded. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "config_error.h"
#include "options.h"
#include "ready.h"
#include "testutil.h"

static char dir[64];

static void
setup(void)
{
	tu_tmpdir(dir, sizeof(dir), "logthra-test-ready");
}

static void
teardown(void)
{
	ck_assert_int_eq(tu_rm_rf(dir), 0);
}

static char *
path_in(const char *name)
{
	static char p[128];

	(void)snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

/* Entries of a directory, to see that a probe left nothing behind. */
static int
count_entries(const char *d)
{
	char cmd[160];
	FILE *f;
	int n = -1;

	(void)snprintf(cmd, sizeof(cmd), "find '%s' -mindepth 1 | wc -l", d);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%d", &n), 1);
	ck_assert_int_eq(pclose(f), 0);
	return n;
}

START_TEST(test_spool_ready)
{
	char err[512], from[128];

	ck_assert_int_eq(lt_spool_ready(dir, 0, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(count_entries(dir), 0);
	ck_assert_int_eq(mkdir(path_in("tenants"), 0770), 0);
	ck_assert_int_eq(mkdir(path_in("rate"), 0770), 0);
	ck_assert_int_eq(lt_spool_ready(dir, 0, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(count_entries(dir), 2);

	/* Missing: a push creates it when its parent lets it. */
	ck_assert_int_eq(lt_spool_ready(path_in("new"), 0, 0, err,
					sizeof(err)), 0);
	ck_assert_int_eq(lt_spool_ready(path_in("no/spool"), 0, 0, err,
					sizeof(err)), ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "no/spool\" does not exist"));

	/* A file where the spool or one of its directories should be. */
	ck_assert_int_eq(close(open(path_in("file"), O_CREAT | O_WRONLY, 0600)), 0);
	ck_assert_int_eq(lt_spool_ready(path_in("file"), 0, 0, err,
					sizeof(err)), ENOTDIR);
	ck_assert_ptr_nonnull(strstr(err, "file\" is not a directory"));
	(void)snprintf(from, sizeof(from), "%s", path_in("file"));
	ck_assert_int_eq(rename(from, path_in("seen")), 0);
	ck_assert_int_eq(lt_spool_ready(dir, 0, 0, err, sizeof(err)), ENOTDIR);
	ck_assert_ptr_nonnull(strstr(err, "seen\" is not a directory"));
	ck_assert_int_eq(unlink(path_in("seen")), 0);

	/* The reserve: more than any disk has. */
	ck_assert_int_eq(lt_spool_ready(dir, (size_t)1 << 62, 0, err,
					sizeof(err)), ENOSPC);
	ck_assert_ptr_nonnull(strstr(err, "(min_free_space)"));
}
END_TEST

/* Permissions: root may write anyway, so only an unprivileged run can
 * see them refuse. */
START_TEST(test_spool_not_writable)
{
	char err[512];

	if (geteuid() == 0)
		return;
	ck_assert_int_eq(mkdir(path_in("tenants"), 0500), 0);
	ck_assert_int_eq(lt_spool_ready(dir, 0, 0, err, sizeof(err)), EACCES);
	ck_assert_ptr_nonnull(strstr(err, "tenants\" is not writable: "
				     "Permission denied"));
	ck_assert_int_eq(chmod(dir, 0500), 0);
	ck_assert_int_eq(lt_spool_ready(dir, 0, 0, err, sizeof(err)), EACCES);
	ck_assert_int_eq(chmod(dir, 0700), 0);
	ck_assert_int_eq(chmod(path_in("tenants"), 0700), 0);
}
END_TEST

static void
ready_answer(const char *method, const char *spool, struct lt_response *resp)
{
	struct lt_request r;
	struct lt_options o;

	lt_options_defaults(&o);
	free(o.spool);
	o.spool = strdup(spool);
	ck_assert_ptr_nonnull(o.spool);
	o.min_free_space = 0;
	o.min_free_inodes = 0;
	lt_request_init(&r);
	r.method = strdup(method);
	r.path = strdup("/ready");
	ck_assert_ptr_nonnull(r.method);
	memset(resp, 0, sizeof(*resp));
	lt_recv_ready(&o, &r, resp);
	lt_request_free(&r);
	lt_options_free(&o);
}

static char *
formatted(const struct lt_response *resp, struct lt_buf *b)
{
	lt_buf_reset(b);
	ck_assert_int_eq(lt_response_format(b, resp, 0, 1), 0);
	ck_assert_int_eq(lt_buf_append_byte(b, '\0'), 0);
	return (char *)b->data;
}

START_TEST(test_ready_answers)
{
	struct lt_response *resp = malloc(sizeof(*resp));
	struct lt_buf b = LT_BUF_INIT;
	char want[256];

	ck_assert_ptr_nonnull(resp);
	ck_assert(lt_recv_is_ready_path("/ready"));
	ck_assert(!lt_recv_is_ready_path("/ready/"));
	ck_assert(!lt_recv_is_ready_path("/loki/api/v1/ready"));

	ready_answer("GET", dir, resp);
	ck_assert_str_eq(formatted(resp, &b),
			 "HTTP/1.1 200 OK\r\n"
			 "Content-Type: text/plain; charset=utf-8\r\n"
			 "Content-Length: 6\r\n\r\nready\n");
	/* HEAD: GET's headers, no body. */
	ready_answer("HEAD", dir, resp);
	ck_assert_str_eq(formatted(resp, &b),
			 "HTTP/1.1 200 OK\r\n"
			 "Content-Type: text/plain; charset=utf-8\r\n"
			 "Content-Length: 6\r\n\r\n");
	ready_answer("POST", dir, resp);
	ck_assert_int_eq(resp->status, 405);
	ck_assert_str_eq(resp->allow, "GET, HEAD");

	(void)snprintf(want, sizeof(want), "not ready: spool directory "
		       "\"%s/a/b\" does not exist", dir);
	ready_answer("GET", path_in("a/b"), resp);
	ck_assert_int_eq(resp->status, 503);
	ck_assert_str_eq(resp->message, want);
	ck_assert_int_eq(resp->retry_after, 30);
	lt_buf_free(&b);
	free(resp);
}
END_TEST

START_TEST(test_config_error_response)
{
	struct lt_response *resp = calloc(1, sizeof(*resp));
	struct lt_request r;

	ck_assert_ptr_nonnull(resp);
	lt_request_init(&r);
	r.method = strdup("POST");
	r.path = strdup("/loki/api/v1/push");
	lt_config_error_response(&r, "/etc/x.conf:3: unrecognized setting \"a\"",
				 resp);
	ck_assert_int_eq(resp->status, 500);
	ck_assert_ptr_null(resp->content_type);
	ck_assert_ptr_nonnull(strstr(resp->message, "configuration error: "
				     "/etc/x.conf:3: unrecognized setting \"a\""));

	/* OTLP's paths get a google.rpc.Status, here in JSON. */
	free(r.path);
	r.path = strdup("/otlp/v1/logs");
	r.content_type = strdup("application/json");
	lt_config_error_response(&r, "/etc/x.conf:3: bad", resp);
	ck_assert_int_eq(resp->status, 500);
	ck_assert_str_eq(resp->content_type, "application/json");
	ck_assert_int_eq(strncmp((char *)resp->body, "{\"code\":13,\"message\":"
				 "\"configuration error: /etc/x.conf:3: bad", 58), 0);

	/* No text kept: the log has it. */
	lt_config_error_response(NULL, "", resp);
	ck_assert_ptr_nonnull(strstr(resp->message, "configuration error: see the log"));
	lt_request_free(&r);
	free(resp);
}
END_TEST

/* Reads what the other side wrote until it closes. */
static void
read_all(int fd, struct lt_buf *b)
{
	char chunk[4096];
	ssize_t n;

	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		ck_assert_int_eq(lt_buf_append(b, chunk, (size_t)n), 0);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(lt_buf_append_byte(b, '\0'), 0);
}

/* inetd: the head is read first, the answer closes the connection. */
START_TEST(test_config_error_conn)
{
	static const char req[] = "POST /loki/api/v1/push HTTP/1.1\r\n"
				  "Host: x\r\nContent-Length: 5\r\n\r\nhello";
	struct lt_conn *c = malloc(sizeof(*c));
	struct lt_buf b = LT_BUF_INIT;
	const char *text;
	int sv[2];

	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	ck_assert_int_eq(write(sv[0], req, sizeof(req) - 1),
			 (ssize_t)sizeof(req) - 1);
	ck_assert_int_eq(shutdown(sv[0], SHUT_WR), 0);
	lt_conn_init(c, sv[1], sv[1]);
	lt_config_error_conn("/etc/x.conf:2: syntax error", c);
	read_all(sv[0], &b);
	text = (const char *)b.data;
	ck_assert_int_eq(strncmp(text, "HTTP/1.1 500 Internal Server Error\r\n",
				 36), 0);
	ck_assert_ptr_nonnull(strstr(text, "\r\nConnection: close\r\n"));
	ck_assert_ptr_nonnull(strstr(text, "\r\n\r\nconfiguration error: "
				     "/etc/x.conf:2: syntax error\n"));
	(void)close(sv[0]);
	(void)close(sv[1]);
	lt_buf_free(&b);
	free(c);
}
END_TEST

/* CGI: the answer on stdout, the body drained from stdin. */
START_TEST(test_config_error_cgi)
{
	int in[2], out[2];
	struct lt_buf b = LT_BUF_INIT;
	char left;
	const char *text;

	ck_assert_int_eq(setenv("REQUEST_METHOD", "GET", 1), 0);
	ck_assert_int_eq(setenv("REQUEST_URI", "/ready", 1), 0);
	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_eq(pipe(out), 0);
	ck_assert_int_eq(write(in[1], "body", 4), 4);
	ck_assert_int_eq(close(in[1]), 0);
	lt_config_error_cgi("/etc/x.conf:9: bad", in[0], out[1]);
	ck_assert_int_eq(close(out[1]), 0);
	/* Drained: nothing is left for the web server to choke on. */
	ck_assert_int_eq(read(in[0], &left, 1), 0);
	read_all(out[0], &b);
	text = (const char *)b.data;
	ck_assert_int_eq(strncmp(text, "Status: 500 Internal Server Error\r\n",
				 35), 0);
	ck_assert_ptr_nonnull(strstr(text, "\r\n\r\nconfiguration error: "
				     "/etc/x.conf:9: bad\n"));
	(void)close(in[0]);
	(void)close(out[0]);
	lt_buf_free(&b);
}
END_TEST

static Suite *
ready_suite(void)
{
	Suite *s = suite_create("ready");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_spool_ready);
	tcase_add_test(tc, test_spool_not_writable);
	tcase_add_test(tc, test_ready_answers);
	tcase_add_test(tc, test_config_error_response);
	tcase_add_test(tc, test_config_error_conn);
	tcase_add_test(tc, test_config_error_cgi);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ready_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
