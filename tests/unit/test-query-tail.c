/* Unit tests: Loki's live tail.  The engine's answers turned into tail
 * messages (order, one entry per stream object, the entries at the
 * newest timestamp sent once), the tenant's slots, and whole tails
 * served over a socketpair with an engine that stands in for
 * ClickHouse: handshake, history, a poll from the cursor, the client's
 * close, the limit of concurrent tails and the maximum duration. */
#include "config.h"

#include <check.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "options.h"
#include "query_http.h"
#include "query_tail.h"
#include "testutil.h"
#include "websocket.h"

/* --- Server frames read back (never masked) --- */

struct frame {
	int op;
	char payload[4096];
	size_t len;
};

/* Parses the frame at d; returns its size, 0 when incomplete. */
static size_t
frame_at(const unsigned char *d, size_t len, struct frame *f)
{
	size_t hlen = 2, plen;

	if (len < 2)
		return 0;
	ck_assert_uint_eq(d[1] & 0x80, 0); /* a server does not mask */
	plen = d[1] & 0x7f;
	if (plen == 126) {
		if (len < 4)
			return 0;
		plen = (size_t)d[2] << 8 | d[3];
		hlen = 4;
	}
	ck_assert_uint_ne(plen, 127);
	if (len < hlen + plen)
		return 0;
	ck_assert_uint_lt(plen, sizeof(f->payload));
	f->op = d[0] & 0x0f;
	ck_assert_uint_eq(d[0] & 0x80, 0x80);
	memcpy(f->payload, d + hlen, plen);
	f->payload[plen] = '\0';
	f->len = plen;
	return hlen + plen;
}

static const char answer_ab[] =
	"{\"status\":\"success\",\"data\":{\"resultType\":\"streams\",\"result\":["
	"{\"stream\":{\"app\":\"a\"},\"values\":[[\"10\",\"a1\"],[\"30\",\"a3\"]]},"
	"{\"stream\":{\"app\":\"b\",\"x\":\"q\\\"z\"},\"values\":[[\"20\",\"b\\\"2\"],[\"30\",\"b3\"]]}],"
	"\"stats\":{\"summary\":{\"bytesProcessedPerSecond\":0}}}}";

START_TEST(test_messages_order_and_shape)
{
	struct lt_tail_state st = {0};
	struct lt_buf frames = LT_BUF_INIT;
	struct frame f;
	char why[128];

	ck_assert_int_eq(lt_tail_messages(&st, answer_ab, sizeof(answer_ab) - 1,
					  100, &frames, why, sizeof(why)), 4);
	ck_assert_uint_eq(frame_at(frames.data, frames.len, &f), frames.len);
	ck_assert_int_eq(f.op, LT_WS_TEXT);
	/* Time order across streams, one entry per stream object, the
	 * labels and lines as they were escaped. */
	ck_assert_str_eq(f.payload,
		"{\"streams\":["
		"{\"stream\":{\"app\":\"a\"},\"values\":[[\"10\",\"a1\"]]},"
		"{\"stream\":{\"app\":\"b\",\"x\":\"q\\\"z\"},\"values\":[[\"20\",\"b\\\"2\"]]},"
		"{\"stream\":{\"app\":\"a\"},\"values\":[[\"30\",\"a3\"]]},"
		"{\"stream\":{\"app\":\"b\",\"x\":\"q\\\"z\"},\"values\":[[\"30\",\"b3\"]]}]}");
	ck_assert_int_eq(st.have_cursor, 1);
	ck_assert_int_eq(st.cursor_ns, 30);
	ck_assert_uint_eq(st.n_seen, 2);
	lt_buf_free(&frames);
	lt_tail_state_free(&st);
}
END_TEST

START_TEST(test_messages_boundary_sent_once)
{
	static const char next[] =
		"{\"status\":\"success\",\"data\":{\"resultType\":\"streams\",\"result\":["
		"{\"stream\":{\"app\":\"a\"},\"values\":[[\"30\",\"a3\"],[\"30\",\"a3 again\"],[\"40\",\"a4\"]]},"
		"{\"stream\":{\"app\":\"b\",\"x\":\"q\\\"z\"},\"values\":[[\"30\",\"b3\"]]}]}}";
	struct lt_tail_state st = {0};
	struct lt_buf frames = LT_BUF_INIT;
	struct frame f;
	char why[128];

	ck_assert_int_eq(lt_tail_messages(&st, answer_ab, sizeof(answer_ab) - 1,
					  100, &frames, why, sizeof(why)), 4);
	lt_buf_reset(&frames);
	/* a3 and b3 were sent at 30; "a3 again" at 30 and a4 were not. */
	ck_assert_int_eq(lt_tail_messages(&st, next, sizeof(next) - 1, 100,
					  &frames, why, sizeof(why)), 2);
	ck_assert_uint_eq(frame_at(frames.data, frames.len, &f), frames.len);
	ck_assert_str_eq(f.payload,
		"{\"streams\":["
		"{\"stream\":{\"app\":\"a\"},\"values\":[[\"30\",\"a3 again\"]]},"
		"{\"stream\":{\"app\":\"a\"},\"values\":[[\"40\",\"a4\"]]}]}");
	ck_assert_int_eq(st.cursor_ns, 40);
	ck_assert_uint_eq(st.n_seen, 1);
	lt_buf_reset(&frames);
	/* The same answer again brings nothing. */
	ck_assert_int_eq(lt_tail_messages(&st, next, sizeof(next) - 1, 100,
					  &frames, why, sizeof(why)), 0);
	ck_assert_uint_eq(frames.len, 0);
	lt_buf_free(&frames);
	lt_tail_state_free(&st);
}
END_TEST

START_TEST(test_messages_split_and_errors)
{
	static const char five[] =
		"{\"data\":{\"result\":[{\"stream\":{},\"values\":["
		"[\"1\",\"l1\"],[\"2\",\"l2\"],[\"3\",\"l3\"],[\"4\",\"l4\"],[\"5\",\"l5\"]]}]}}";
	static const char bad_ts[] =
		"{\"data\":{\"result\":[{\"stream\":{},\"values\":[[\"x\",\"l\"]]}]}}";
	static const char empty[] =
		"{\"status\":\"success\",\"data\":{\"resultType\":\"streams\",\"result\":[],\"stats\":{}}}";
	struct lt_tail_state st = {0};
	struct lt_buf frames = LT_BUF_INIT;
	struct frame f;
	size_t at = 0, n, count = 0;
	char why[128];

	/* Two entries a message: 2, 2 and 1. */
	ck_assert_int_eq(lt_tail_messages(&st, five, sizeof(five) - 1, 2,
					  &frames, why, sizeof(why)), 5);
	while ((n = frame_at(frames.data + at, frames.len - at, &f)) > 0) {
		count++;
		at += n;
		if (count == 3)
			ck_assert_str_eq(f.payload, "{\"streams\":[{\"stream\":{},\"values\":[[\"5\",\"l5\"]]}]}");
	}
	ck_assert_uint_eq(count, 3);
	ck_assert_uint_eq(at, frames.len);
	lt_buf_reset(&frames);
	ck_assert_int_eq(lt_tail_messages(&st, empty, sizeof(empty) - 1, 100,
					  &frames, why, sizeof(why)), 0);
	ck_assert_uint_eq(frames.len, 0);
	/* A timestamp that is no number. */
	ck_assert_int_eq(lt_tail_messages(&st, bad_ts, sizeof(bad_ts) - 1, 100,
					  &frames, why, sizeof(why)), -1);
	ck_assert_int_eq(lt_tail_messages(&st, "{\"data\":", 8, 100, &frames,
					  why, sizeof(why)), -1);
	ck_assert_str_eq(why, "the log query's answer could not be read");
	ck_assert_uint_eq(frames.len, 0);
	lt_buf_free(&frames);
	lt_tail_state_free(&st);
}
END_TEST

static char spool[64];

START_TEST(test_slots)
{
	char err[256];
	int a, b, c;

	tu_tmpdir(spool, sizeof(spool), "lt-tail");
	ck_assert_int_eq(lt_tail_slot_take(spool, "acme", 2, &a, err, sizeof(err)), 0);
	ck_assert_int_eq(lt_tail_slot_take(spool, "acme", 2, &b, err, sizeof(err)), 0);
	ck_assert_int_ne(a, b);
	ck_assert_int_eq(lt_tail_slot_take(spool, "acme", 2, &c, err, sizeof(err)), 1);
	ck_assert_int_eq(c, -1);
	/* Another tenant counts its own. */
	ck_assert_int_eq(lt_tail_slot_take(spool, "other", 1, &c, err, sizeof(err)), 0);
	ck_assert_int_eq(close(c), 0);
	/* A closed slot is free again. */
	ck_assert_int_eq(close(a), 0);
	ck_assert_int_eq(lt_tail_slot_take(spool, "acme", 2, &a, err, sizeof(err)), 0);
	ck_assert_int_eq(lt_tail_slot_take(spool, "acme", 0, &c, err, sizeof(err)), 1);
	ck_assert_int_eq(lt_tail_slot_take(spool, "..", 2, &c, err, sizeof(err)), -1);
	ck_assert_int_eq(close(a), 0);
	ck_assert_int_eq(close(b), 0);
	ck_assert_int_eq(tu_rm_rf(spool), 0);
}
END_TEST

/* --- Whole tails over a socketpair --- */

static int engine_calls;
static int engine_bad_start;
static int ch_dummy;

static struct lt_ch *
fake_open(const struct lt_options *o, const struct lt_query_limits *lim,
	  struct lt_sql_target *target, struct lt_query_error *err)
{
	(void)o;
	(void)lim;
	(void)target;
	(void)err;
	return (struct lt_ch *)&ch_dummy;
}

static void
fake_close(struct lt_ch *ch)
{
	(void)ch;
}

#define ANSWER(values) \
	"{\"status\":\"success\",\"data\":{\"resultType\":\"streams\",\"result\":[" \
	"{\"stream\":{\"app\":\"a\"},\"values\":[" values "]}]}}"

/* The entries below are far older than the polls, so each poll after
 * the history reads from 5 minutes before the end of the one before
 * (about now, delay_for being 0), not from the newest entry sent. */
static int
polls_from_grace(const struct lt_log_request *req)
{
	int64_t want = lt_now_ns() - INT64_C(300000000000);

	return req->range.start_ns > want - INT64_C(10000000000) &&
	       req->range.start_ns <= want;
}

/* The history: newest first asked for, two entries; then a poll finds
 * them with one more, and later ones nothing new. */

static int
fake_logs(struct lt_ch *ch, const struct lt_sql_target *t,
	  const struct lt_query_limits *lim, const struct lt_log_request *req,
	  const struct lt_query_sink *sink, struct lt_query_error *err)
{
	static const char history[] = ANSWER("[\"100\",\"one\"],[\"200\",\"two\"]");
	static const char later[] = ANSWER("[\"200\",\"two\"],[\"300\",\"three\"]");
	const char *a = history;

	(void)ch;
	(void)t;
	(void)lim;
	(void)err;
	engine_calls++;
	if (engine_calls == 1 && (req->forward || req->limit != 2))
		engine_bad_start = 1;
	if (engine_calls > 1) {
		if (!req->forward || !polls_from_grace(req))
			engine_bad_start = 1;
		a = later;
	}
	if (engine_bad_start)
		a = ANSWER("[\"999\",\"wrong request\"]");
	return sink->write(sink->ctx, a, strlen(a));
}

static const struct lt_query_engine fake_engine = {
	.open = fake_open,
	.close = fake_close,
	.logs = fake_logs,
};

struct served {
	char head[1024];
	struct frame frames[8];
	size_t n;
	int eof;
};

/* Runs the tail in a child on one end of a socketpair; returns the
 * other end. */
static int
serve_in_child(struct lt_options *o, const char *query, int upgrade,
	       pid_t *pid)
{
	struct lt_request r;
	struct lt_conn *c;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	*pid = fork();
	ck_assert_int_ge(*pid, 0);
	if (*pid > 0) {
		(void)close(sv[1]);
		return sv[0];
	}
	(void)close(sv[0]);
	lt_request_init(&r);
	r.method = strdup("GET");
	r.path = strdup("/loki/api/v1/tail");
	r.query = strdup(query);
	if (upgrade) {
		r.upgrade = strdup("websocket");
		r.conn_upgrade = 1;
		r.ws_key = strdup("dGhlIHNhbXBsZSBub25jZQ==");
		r.ws_version = strdup("13");
	}
	c = malloc(sizeof(*c));
	if (c == NULL)
		_exit(2);
	lt_conn_init(c, sv[1], sv[1]);
	(void)lt_query_serve_tail(o, &fake_engine, c, &r, "acme");
	lt_request_free(&r);
	free(c);
	_exit(engine_bad_start ? 3 : 0);
}

/* Reads what the server sends until want text frames came (then sends
 * a close with 1000) or the connection ends. */
static void
client(int fd, size_t want, struct served *s)
{
	static unsigned char buf[65536];
	static const unsigned char close_1000[] = {0x88, 0x82, 1, 2, 3, 4,
						   0x03 ^ 1, 0xe8 ^ 2};
	size_t have = 0, at = 0, n, texts = 0;
	const unsigned char *end;
	ssize_t got;

	memset(s, 0, sizeof(*s));
	for (;;) {
		struct pollfd p = {fd, POLLIN, 0};

		ck_assert_int_eq(poll(&p, 1, 10000), 1);
		got = read(fd, buf + have, sizeof(buf) - have);
		ck_assert_int_ge(got, 0);
		if (got == 0) {
			s->eof = 1;
			return;
		}
		have += (size_t)got;
		if (s->head[0] == '\0') {
			end = memmem(buf, have, "\r\n\r\n", 4);
			if (end == NULL)
				continue;
			at = (size_t)(end - buf) + 4;
			ck_assert_uint_lt(at, sizeof(s->head));
			memcpy(s->head, buf, at);
		}
		if (strncmp(s->head, "HTTP/1.1 101 ", 13) != 0) {
			/* A refusal: its body is text; end our side so the
			 * server's linger ends. */
			(void)shutdown(fd, SHUT_WR);
			continue;
		}
		while (s->n < 8 && (n = frame_at(buf + at, have - at,
						  &s->frames[s->n])) > 0) {
			at += n;
			/* The server's close answered, as a client does. */
			if (s->frames[s->n].op == LT_WS_CLOSE && texts < want)
				ck_assert_int_eq(write(fd, close_1000,
						       sizeof(close_1000)),
						 sizeof(close_1000));
			if (s->frames[s->n].op == LT_WS_TEXT && ++texts == want)
				ck_assert_int_eq(write(fd, close_1000,
						       sizeof(close_1000)),
						 sizeof(close_1000));
			if (s->frames[s->n].op != LT_WS_PING)
				s->n++;
		}
	}
}

static void
tail_options(struct lt_options *o, int64_t max_duration_ns, size_t max_tails)
{
	lt_options_defaults(o);
	free(o->spool);
	o->spool = strdup(spool);
	o->tail_max_duration_ns = max_duration_ns;
	o->query_limits.max_tails = max_tails;
}

static int
child_status(pid_t pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

START_TEST(test_serve_history_poll_close)
{
	struct lt_options o;
	struct served s;
	pid_t pid;
	int fd;

	tu_tmpdir(spool, sizeof(spool), "lt-tail");
	tail_options(&o, INT64_C(60000000000), 10);
	fd = serve_in_child(&o, "query=%7Bapp%3D%22a%22%7D&limit=2", 1, &pid);
	client(fd, 2, &s);
	ck_assert_int_eq(child_status(pid), 0);
	ck_assert_ptr_nonnull(strstr(s.head, "HTTP/1.1 101 Switching Protocols\r\n"));
	ck_assert_ptr_nonnull(strstr(s.head, "\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
	ck_assert_ptr_nonnull(strstr(s.head, "\r\nUpgrade: websocket\r\n"));
	ck_assert_uint_eq(s.n, 3);
	ck_assert_str_eq(s.frames[0].payload,
		"{\"streams\":[{\"stream\":{\"app\":\"a\"},\"values\":[[\"100\",\"one\"]]},"
		"{\"stream\":{\"app\":\"a\"},\"values\":[[\"200\",\"two\"]]}]}");
	ck_assert_str_eq(s.frames[1].payload,
		"{\"streams\":[{\"stream\":{\"app\":\"a\"},\"values\":[[\"300\",\"three\"]]}]}");
	/* Our close answered with the same code. */
	ck_assert_int_eq(s.frames[2].op, LT_WS_CLOSE);
	ck_assert_uint_eq(s.frames[2].len, 2);
	ck_assert_mem_eq(s.frames[2].payload, "\x03\xe8", 2);
	ck_assert_int_eq(s.eof, 1);
	ck_assert_int_eq(close(fd), 0);
	lt_options_free(&o);
	ck_assert_int_eq(tu_rm_rf(spool), 0);
}
END_TEST

START_TEST(test_serve_max_duration)
{
	struct lt_options o;
	struct served s;
	pid_t pid;
	int fd;

	tu_tmpdir(spool, sizeof(spool), "lt-tail");
	/* 1.5 s: the history, one poll, then the close. */
	tail_options(&o, INT64_C(1500000000), 10);
	fd = serve_in_child(&o, "query=%7Bapp%3D%22a%22%7D&limit=2", 1, &pid);
	client(fd, 99, &s);
	ck_assert_int_eq(child_status(pid), 0);
	ck_assert_uint_eq(s.n, 3);
	ck_assert_int_eq(s.frames[2].op, LT_WS_CLOSE);
	ck_assert_str_eq(s.frames[2].payload + 2, "reached tail max duration limit");
	ck_assert_mem_eq(s.frames[2].payload, "\x03\xf3", 2); /* 1011 */
	ck_assert_int_eq(close(fd), 0);
	lt_options_free(&o);
	ck_assert_int_eq(tu_rm_rf(spool), 0);
}
END_TEST

START_TEST(test_serve_limit_full)
{
	struct lt_options o;
	struct served s;
	char err[256];
	pid_t pid;
	int a, b, fd;

	tu_tmpdir(spool, sizeof(spool), "lt-tail");
	tail_options(&o, INT64_C(60000000000), 2);
	ck_assert_int_eq(lt_tail_slot_take(spool, "acme", 2, &a, err, sizeof(err)), 0);
	ck_assert_int_eq(lt_tail_slot_take(spool, "acme", 2, &b, err, sizeof(err)), 0);
	fd = serve_in_child(&o, "query=%7Bapp%3D%22a%22%7D", 1, &pid);
	client(fd, 99, &s);
	ck_assert_int_eq(child_status(pid), 0);
	ck_assert_ptr_nonnull(strstr(s.head, "HTTP/1.1 101 "));
	ck_assert_uint_eq(s.n, 1);
	ck_assert_int_eq(s.frames[0].op, LT_WS_CLOSE);
	ck_assert_str_eq(s.frames[0].payload + 2,
			 "max concurrent tail requests limit exceeded, count > limit (3 > 2)");
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(close(a), 0);
	ck_assert_int_eq(close(b), 0);
	lt_options_free(&o);
	ck_assert_int_eq(tu_rm_rf(spool), 0);
}
END_TEST

START_TEST(test_serve_refusals)
{
	struct lt_options o;
	struct served s;
	pid_t pid;
	int fd;

	tu_tmpdir(spool, sizeof(spool), "lt-tail");
	tail_options(&o, INT64_C(60000000000), 10);
	/* No Upgrade: Gorilla's 400, before any WebSocket. */
	fd = serve_in_child(&o, "query=%7Bapp%3D%22a%22%7D", 0, &pid);
	client(fd, 99, &s);
	ck_assert_int_eq(child_status(pid), 0);
	ck_assert_ptr_nonnull(strstr(s.head, "HTTP/1.1 400 Bad Request\r\n"));
	ck_assert_int_eq(close(fd), 0);
	/* Parameters are checked first, as Loki's ParseTailQuery does. */
	fd = serve_in_child(&o, "query=%7Bapp%3D%22a%22%7D&delay_for=6", 1, &pid);
	client(fd, 99, &s);
	ck_assert_int_eq(child_status(pid), 0);
	ck_assert_ptr_nonnull(strstr(s.head, "HTTP/1.1 400 Bad Request\r\n"));
	ck_assert_int_eq(close(fd), 0);
	lt_options_free(&o);
	ck_assert_int_eq(tu_rm_rf(spool), 0);
}
END_TEST

static Suite *
tail_suite(void)
{
	Suite *s = suite_create("query-tail");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_messages_order_and_shape);
	tcase_add_test(tc, test_messages_boundary_sent_once);
	tcase_add_test(tc, test_messages_split_and_errors);
	tcase_add_test(tc, test_slots);
	tcase_add_test(tc, test_serve_history_poll_close);
	tcase_add_test(tc, test_serve_max_duration);
	tcase_add_test(tc, test_serve_limit_full);
	tcase_add_test(tc, test_serve_refusals);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(tail_suite());
	int failed;

	(void)signal(SIGPIPE, SIG_IGN);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
