/* Loki's live tail: the engine polled from the newest entry sent, each
 * entry sent once over the WebSocket, slots in SPOOL/tail (query_tail.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "clock.h"
#include "fdio.h"
#include "hash.h"
#include "log.h"
#include "query_http.h"
#include "query_tail.h"
#include "websocket.h"

#define NS_PER_S INT64_C(1000000000)

/* Loki's maxDelayForInTailing. */
#define MAX_DELAY_FOR 5
/* Entries one poll asks for after the first: enough that a busy
 * stream's second fits, few enough to bound the answer held. */
#define POLL_BATCH 1000
/* The shortest wait between polls, and the multiple of the last poll's
 * time it grows to when ClickHouse is slow. */
#define POLL_MIN_MS 1000
/* How far before the end of the last poll the next one looks again: an
 * entry reaches ClickHouse when logthra-flush loads it, up to a timer's
 * period after its time.  Older than that behind the last poll, it is
 * not shown, so that a quiet tail reads minutes, not the whole hour
 * since start or since the last entry it sent. */
#define TAIL_GRACE_NS (INT64_C(300) * NS_PER_S)
#define POLL_SLOW_FACTOR 2
/* A ping keeps proxies from closing a quiet tail and finds a dead
 * client. */
#define PING_MS 10000
/* After our close frame, how long the client has to answer it. */
#define CLOSE_WAIT_MS 2000
/* A client frame larger than this is refused with 1009: a tail's client
 * sends only close, ping and pong. */
#define MAX_CLIENT_FRAME 16384
/* Hashes kept of the entries sent at the newest timestamp. */
#define SEEN_MAX 65536
#define MAX_DEPTH 64

void
lt_tail_state_free(struct lt_tail_state *st)
{
	free(st->seen);
	memset(st, 0, sizeof(*st));
}

/* --- Reading the engine's answer --- */

/* A JSON reader for answers this program wrote itself: it finds where
 * values lie, and checks only what it needs. */
struct scan {
	const char *p, *end;
};

static void
skip_ws(struct scan *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' ||
				 *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int
eat(struct scan *s, char c)
{
	skip_ws(s);
	if (s->p >= s->end || *s->p != c)
		return -1;
	s->p++;
	return 0;
}

/* At a string: moves past its closing quote. */
static int
skip_string(struct scan *s)
{
	if (eat(s, '"') < 0)
		return -1;
	for (; s->p < s->end; s->p++) {
		if (*s->p == '\\') {
			s->p++;
		} else if (*s->p == '"') {
			s->p++;
			return 0;
		}
	}
	return -1;
}

static int
skip_value(struct scan *s, int depth)
{
	char close;

	skip_ws(s);
	if (s->p >= s->end || depth > MAX_DEPTH)
		return -1;
	if (*s->p == '"')
		return skip_string(s);
	if (*s->p != '{' && *s->p != '[') {
		while (s->p < s->end && strchr(",}] \t\r\n", *s->p) == NULL)
			s->p++;
		return 0;
	}
	close = *s->p == '{' ? '}' : ']';
	s->p++;
	if (eat(s, close) == 0)
		return 0;
	for (;;) {
		if (close == '}' && (skip_string(s) < 0 || eat(s, ':') < 0))
			return -1;
		if (skip_value(s, depth + 1) < 0)
			return -1;
		if (eat(s, close) == 0)
			return 0;
		if (eat(s, ',') < 0)
			return -1;
	}
}

/* In an object (after its '{' or a ','), reads the next key; returns 1
 * with s at its value, 0 at the object's end, -1 when malformed. */
static int
next_key(struct scan *s, int first, const char **k, size_t *kl)
{
	const char *start;

	if (eat(s, '}') == 0)
		return 0;
	if (!first && eat(s, ',') < 0)
		return -1;
	skip_ws(s);
	start = s->p + 1;
	if (skip_string(s) < 0)
		return -1;
	*k = start;
	*kl = (size_t)(s->p - 1 - start);
	if (eat(s, ':') < 0)
		return -1;
	return 1;
}

static int
key_is(const char *k, size_t kl, const char *name)
{
	return kl == strlen(name) && memcmp(k, name, kl) == 0;
}

/* Moves s to the value of key name in the object at s; 0, or -1 when
 * the object has no such key. */
static int
find_key(struct scan *s, const char *name)
{
	const char *k;
	size_t kl;
	int first = 1, rc;

	if (eat(s, '{') < 0)
		return -1;
	while ((rc = next_key(s, first, &k, &kl)) == 1) {
		if (key_is(k, kl, name))
			return 0;
		if (skip_value(s, 1) < 0)
			return -1;
		first = 0;
	}
	return -1;
}

struct tail_entry {
	int64_t ts;
	const char *labels;     /* the stream's JSON object, as written */
	size_t labels_len;
	const char *line;       /* the line's JSON string, quotes included */
	size_t line_len;
	uint64_t hash;
	size_t order;           /* as read, to sort stably */
};

struct entries {
	struct tail_entry *v;
	size_t n, cap;
};

static int
entries_push(struct entries *es, const struct tail_entry *e)
{
	struct tail_entry *v;
	size_t cap;

	if (es->n == es->cap) {
		cap = es->cap ? es->cap * 2 : 64;
		v = reallocarray(es->v, cap, sizeof(*v));
		if (v == NULL)
			return -1;
		es->v = v;
		es->cap = cap;
	}
	es->v[es->n] = *e;
	es->v[es->n].order = es->n;
	es->n++;
	return 0;
}

/* ["ns","line"]: the entry's two values. */
static int
read_value(struct scan *s, struct tail_entry *e)
{
	const char *ts;
	char num[24];
	size_t n;
	char *end;

	if (eat(s, '[') < 0)
		return -1;
	skip_ws(s);
	ts = s->p + 1;
	if (skip_string(s) < 0)
		return -1;
	n = (size_t)(s->p - 1 - ts);
	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, ts, n);
	num[n] = '\0';
	errno = 0;
	e->ts = strtoll(num, &end, 10);
	if (*end != '\0' || errno != 0 || eat(s, ',') < 0)
		return -1;
	skip_ws(s);
	e->line = s->p;
	if (skip_string(s) < 0)
		return -1;
	e->line_len = (size_t)(s->p - e->line);
	/* A third value (structured metadata) is not sent by a tail. */
	while (eat(s, ',') == 0)
		if (skip_value(s, 2) < 0)
			return -1;
	return eat(s, ']');
}

static int
read_values(struct scan *s, struct tail_entry *proto, struct entries *es,
	    int *oom)
{
	struct tail_entry e = *proto;

	if (eat(s, '[') < 0)
		return -1;
	if (eat(s, ']') == 0)
		return 0;
	do {
		if (read_value(s, &e) < 0)
			return -1;
		e.hash = lt_fnv1a(LT_FNV_BASIS, e.labels,
			       e.labels_len);
		e.hash = lt_fnv1a(e.hash, e.line, e.line_len);
		e.hash = lt_fnv1a(e.hash, &e.ts, sizeof(e.ts));
		if (entries_push(es, &e) < 0) {
			*oom = 1;
			return -1;
		}
	} while (eat(s, ',') == 0);
	return eat(s, ']');
}

/* {"stream":{...},"values":[...]}, the stream's labels first. */
static int
read_stream(struct scan *s, struct entries *es, int *oom)
{
	struct tail_entry proto;
	const char *k;
	size_t kl;
	int first = 1, rc;

	memset(&proto, 0, sizeof(proto));
	if (eat(s, '{') < 0)
		return -1;
	while ((rc = next_key(s, first, &k, &kl)) == 1) {
		first = 0;
		if (key_is(k, kl, "stream")) {
			skip_ws(s);
			proto.labels = s->p;
			if (skip_value(s, 2) < 0)
				return -1;
			proto.labels_len = (size_t)(s->p - proto.labels);
		} else if (key_is(k, kl, "values") && proto.labels != NULL) {
			if (read_values(s, &proto, es, oom) < 0)
				return -1;
		} else if (skip_value(s, 2) < 0) {
			return -1;
		}
	}
	return rc;
}

static int
read_answer(const char *answer, size_t len, struct entries *es, int *oom)
{
	struct scan s = {answer, answer + len};

	if (find_key(&s, "data") < 0 || find_key(&s, "result") < 0 ||
	    eat(&s, '[') < 0)
		return -1;
	if (eat(&s, ']') == 0)
		return 0;
	do {
		if (read_stream(&s, es, oom) < 0)
			return -1;
	} while (eat(&s, ',') == 0);
	return eat(&s, ']');
}

static int
entry_order(const void *a, const void *b)
{
	const struct tail_entry *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* --- What was sent --- */

static int
seen_has(const struct lt_tail_state *st, uint64_t h)
{
	size_t i;

	for (i = 0; i < st->n_seen; i++)
		if (st->seen[i] == h)
			return 1;
	return 0;
}

static int
is_new(const struct lt_tail_state *st, const struct tail_entry *e)
{
	if (!st->have_cursor || e->ts > st->cursor_ns)
		return 1;
	return e->ts == st->cursor_ns && !seen_has(st, e->hash);
}

/* Records e as sent. */
static int
mark_sent(struct lt_tail_state *st, const struct tail_entry *e)
{
	uint64_t *p;
	size_t cap;

	if (!st->have_cursor || e->ts > st->cursor_ns) {
		st->cursor_ns = e->ts;
		st->have_cursor = 1;
		st->n_seen = 0;
	}
	if (st->n_seen == SEEN_MAX)
		return 0; /* an answer full of one nanosecond: see poll() */
	if (st->n_seen == st->cap_seen) {
		cap = st->cap_seen ? st->cap_seen * 2 : 16;
		p = reallocarray(st->seen, cap, sizeof(*p));
		if (p == NULL)
			return -1;
		st->seen = p;
		st->cap_seen = cap;
	}
	st->seen[st->n_seen++] = e->hash;
	return 0;
}

/* --- Writing the messages --- */

static int
message_entry(struct lt_buf *msg, const struct tail_entry *e, int first)
{
	return lt_buf_printf(msg, "%s{\"stream\":", first ? "" : ",") < 0 ||
	       lt_buf_append(msg, e->labels, e->labels_len) < 0 ||
	       lt_buf_printf(msg, ",\"values\":[[\"%" PRId64 "\",", e->ts) < 0 ||
	       lt_buf_append(msg, e->line, e->line_len) < 0 ||
	       lt_buf_append(msg, "]]}", 3) < 0 ? -1 : 0;
}

static int
end_message(struct lt_buf *msg, struct lt_buf *frames)
{
	int rc;

	if (lt_buf_append(msg, "]}", 2) < 0)
		return -1;
	rc = lt_ws_frame(frames, LT_WS_TEXT, msg->data, msg->len);
	lt_buf_reset(msg);
	return rc;
}

static long
write_messages(struct lt_tail_state *st, const struct entries *es,
	       size_t per_message, struct lt_buf *frames)
{
	struct lt_buf msg = LT_BUF_INIT;
	size_t i, in_msg = 0;
	long sent = 0;

	if (per_message == 0)
		per_message = LT_TAIL_PER_MESSAGE;
	for (i = 0; i < es->n; i++) {
		if (!is_new(st, &es->v[i]))
			continue;
		if (in_msg == 0 && lt_buf_append(&msg, "{\"streams\":[", 12) < 0)
			goto oom;
		if (message_entry(&msg, &es->v[i], in_msg == 0) < 0 ||
		    mark_sent(st, &es->v[i]) < 0)
			goto oom;
		sent++;
		if (++in_msg == per_message) {
			if (end_message(&msg, frames) < 0)
				goto oom;
			in_msg = 0;
		}
	}
	if (in_msg > 0 && end_message(&msg, frames) < 0)
		goto oom;
	lt_buf_free(&msg);
	return sent;
oom:
	lt_buf_free(&msg);
	return -1;
}

long
lt_tail_messages(struct lt_tail_state *st, const char *answer, size_t len,
		 size_t per_message, struct lt_buf *frames, char *why,
		 size_t whylen)
{
	struct entries es = {NULL, 0, 0};
	int oom = 0;
	long sent = -1;

	if (read_answer(answer, len, &es, &oom) < 0) {
		(void)snprintf(why, whylen, "%s", oom ? "out of memory"
			       : "the log query's answer could not be read");
		goto out;
	}
	if (es.n > 0)
		qsort(es.v, es.n, sizeof(*es.v), entry_order);
	sent = write_messages(st, &es, per_message, frames);
	if (sent < 0)
		(void)snprintf(why, whylen, "out of memory");
out:
	free(es.v);
	return sent;
}

/* --- Slots --- */

static int
make_dir(const char *path)
{
	return mkdir(path, 0770) == 0 || errno == EEXIST ? 0 : -1;
}

/* SPOOL/tail/TENANT, made as the spool's other directories are. */
static int
slot_dir(const char *spool, const char *tenant, char *dir, size_t len,
	 char *err, size_t errlen)
{
	int n;

	/* The caller validated the name; still, never leave SPOOL/tail. */
	if (*tenant == '\0' || strchr(tenant, '/') != NULL ||
	    strcmp(tenant, ".") == 0 || strcmp(tenant, "..") == 0) {
		(void)snprintf(err, errlen, "invalid tenant name \"%s\"", tenant);
		return -1;
	}
	n = snprintf(dir, len, "%s/tail", spool);
	if (n < 0 || (size_t)n >= len)
		goto too_long;
	if (make_dir(spool) < 0 || make_dir(dir) < 0)
		goto failed;
	n = snprintf(dir, len, "%s/tail/%s", spool, tenant);
	if (n < 0 || (size_t)n >= len)
		goto too_long;
	if (make_dir(dir) < 0)
		goto failed;
	return 0;
too_long:
	(void)snprintf(err, errlen, "tail slot path too long");
	return -1;
failed:
	(void)snprintf(err, errlen, "could not create directory \"%s\": %s",
		       dir, strerror(errno));
	return -1;
}

int
lt_tail_slot_take(const char *spool, const char *tenant, size_t max, int *fd,
		  char *err, size_t errlen)
{
	char dir[PATH_MAX], path[PATH_MAX];
	size_t i;
	int n;

	*fd = -1;
	if (max == 0)
		return 1;
	if (slot_dir(spool, tenant, dir, sizeof(dir), err, errlen) < 0)
		return -1;
	for (i = 0; i < max; i++) {
		n = snprintf(path, sizeof(path), "%s/%zu", dir, i);
		if (n < 0 || (size_t)n >= sizeof(path)) {
			(void)snprintf(err, errlen, "tail slot path too long");
			return -1;
		}
		*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
			   0660);
		if (*fd < 0) {
			(void)snprintf(err, errlen, "could not open \"%s\": %s",
				       path, strerror(errno));
			return -1;
		}
		if (flock(*fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		n = errno;
		(void)close(*fd);
		*fd = -1;
		if (n != EWOULDBLOCK && n != EINTR) {
			(void)snprintf(err, errlen, "could not lock \"%s\": %s",
				       path, strerror(n));
			return -1;
		}
	}
	return 1;
}

/* --- Parameters, as Loki's ParseTailQuery reads them --- */

struct tail_params {
	struct lt_logql *q;
	size_t limit;
	int64_t start_ns;
	int64_t delay_ns;
};

static int
param_error(struct lt_query_error *err, int status, const char *msg)
{
	err->status = status;
	(void)snprintf(err->message, sizeof(err->message), "%s", msg);
	return -1;
}

static int
tail_params(const struct lt_form *form, int64_t now_ns, struct tail_params *p,
	    struct lt_query_error *err)
{
	const char *text = lt_form_get(form, "query");
	const char *delay = lt_form_get(form, "delay_for");
	char why[900];
	int64_t end_ns, d = 0;

	if (text == NULL)
		text = "";
	p->q = lt_logql_parse(text, strlen(text), why, sizeof(why));
	if (p->q == NULL)
		return param_error(err, strcmp(why, "out of memory") == 0 ? 503
				   : 400, why);
	if (lt_query_param_limit(form, &p->limit, err) < 0 ||
	    lt_query_bounds(form, now_ns, &p->start_ns, &end_ns, err) < 0)
		return -1;
	if (delay != NULL && lt_go_atoi(delay, &d, why, sizeof(why)) < 0)
		return param_error(err, 400, why);
	/* Loki keeps it as a uint32: a negative one is larger than 5. */
	if (d < 0 || d > MAX_DELAY_FOR) {
		err->status = 400;
		(void)snprintf(err->message, sizeof(err->message),
			       "delay_for can't be greater than %d",
			       MAX_DELAY_FOR);
		return -1;
	}
	p->delay_ns = d * NS_PER_S;
	return 0;
}

/* --- The opening handshake --- */

/* Checks it as Gorilla's Upgrader (Loki's) does, with its messages.
 * Returns 0, or -1 with resp filled in. */
static int
check_handshake(const struct lt_request *r, struct lt_response *resp)
{
	static const char not_ws[] =
		"websocket: the client is not using the websocket protocol: ";

	if (!r->conn_upgrade)
		return lt_response_set(resp, 400, "%s'upgrade' token not found in 'Connection' header",
				       not_ws);
	if (r->upgrade == NULL || strcasecmp(r->upgrade, "websocket") != 0)
		return lt_response_set(resp, 400, "%s'websocket' token not found in 'Upgrade' header",
				       not_ws);
	if (strcmp(r->method, "GET") != 0) {
		(void)lt_response_set(resp, 405, "websocket: the client is not using the websocket protocol: request method is not GET");
		resp->allow = "GET";
		return -1;
	}
	if (r->ws_version == NULL || strcmp(r->ws_version, "13") != 0)
		return lt_response_set(resp, 400, "websocket: unsupported version: 13 not found in 'Sec-Websocket-Version' header");
	if (r->ws_key == NULL || !lt_ws_key_valid(r->ws_key))
		return lt_response_set(resp, 400, "websocket: not a websocket handshake: 'Sec-WebSocket-Key' header must be Base64 encoded value of 16-byte in length");
	return 0;
}

static int
write_101(struct lt_conn *c, const char *key)
{
	char accept[LT_WS_ACCEPT_LEN + 1], head[256];
	int n;

	lt_ws_accept(key, accept);
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 101 Switching Protocols\r\n"
		     "Upgrade: websocket\r\n"
		     "Connection: Upgrade\r\n"
		     "Sec-WebSocket-Accept: %s\r\n\r\n", accept);
	if (n < 0 || (size_t)n >= sizeof(head))
		return -1;
	return lt_fd_write_all(c->out_fd, head, (size_t)n);
}

/* --- The tail --- */

struct tail {
	const struct lt_options *o;
	const struct lt_query_engine *e;
	struct lt_conn *c;
	const char *tenant;
	struct tail_params p;
	struct lt_query_limits lim;
	struct lt_sql_target target;
	struct lt_ch *ch;
	struct lt_tail_state st;
	struct lt_buf answer;
	struct lt_buf out;
	int polled;              /* the first poll (the history) is done */
	int64_t polled_to_ns;    /* the end of the last poll's range */
	long long next_poll_ms;
	long long next_ping_ms;
	long long end_ms;        /* tail_max_duration */
	int done;                /* the connection is over */
};

static int
buf_sink(void *ctx, const void *data, size_t len)
{
	return lt_buf_append(ctx, data, len);
}

static int
send_out(struct tail *t)
{
	int rc = 0;

	if (t->out.len > 0)
		rc = lt_fd_write_all(t->c->out_fd, t->out.data, t->out.len);
	lt_buf_reset(&t->out);
	if (rc < 0)
		t->done = 1;
	return rc;
}

/* Sends a close frame, then gives the client a moment to answer it with
 * its own (RFC 6455 5.5.1), which is read and dropped. */
static void
close_with(struct tail *t, unsigned code, const char *reason)
{
	long long until = lt_monotonic_ms() + CLOSE_WAIT_MS;
	unsigned char drain[4096];
	long long left;

	if (t->done)
		return;
	lt_buf_reset(&t->out);
	if (lt_ws_close_frame(&t->out, code, reason) < 0 || send_out(t) < 0)
		return;
	t->done = 1;
	(void)shutdown(t->c->out_fd, SHUT_WR);
	/* Whatever comes first ends it: the answer, or a frame sent
	 * before ours arrived; the connection is over either way. */
	if ((left = until - lt_monotonic_ms()) > 0 &&
	    lt_fd_wait(t->c->in_fd, POLLIN, (int)left) == 1 &&
	    read(t->c->in_fd, drain, sizeof(drain)) < 0)
		lt_debug("tail: reading the client's close: %s",
			 strerror(errno));
}

/* The range and limit of the next poll: first the last `limit` entries
 * since start, newest first; then, oldest first, what came from the
 * newest entry sent on (from start while none was). */
static void
next_request(const struct tail *t, int64_t now_ns, struct lt_log_request *req)
{
	size_t cap = t->lim.max_entries;

	memset(req, 0, sizeof(*req));
	req->q = t->p.q;
	req->range.tenant = t->tenant;
	req->range.end_ns = now_ns - t->p.delay_ns;
	req->range.start_ns = t->st.have_cursor ? t->st.cursor_ns
						: t->p.start_ns;
	if (t->polled && t->polled_to_ns - TAIL_GRACE_NS > req->range.start_ns)
		req->range.start_ns = t->polled_to_ns - TAIL_GRACE_NS;
	req->forward = t->polled;
	req->limit = t->polled ? POLL_BATCH : t->p.limit;
	/* Loki does not hold a tail to max_entries_limit_per_query; the
	 * engine does, so a poll asks for no more. */
	if (cap > 0 && req->limit > cap)
		req->limit = cap;
}

/* One poll: the engine's answer turned into messages and sent.
 * Returns 0, or -1 when the tail must end (closed with the reason). */
static int
poll_once(struct tail *t)
{
	struct lt_query_sink sink = {buf_sink, &t->answer};
	struct lt_log_request req;
	struct lt_query_error err;
	long long began = lt_monotonic_ms(), took;
	char why[128];
	long sent;

	next_request(t, lt_now_ns(), &req);
	lt_buf_reset(&t->answer);
	if (req.range.end_ns > req.range.start_ns &&
	    t->e->logs(t->ch, &t->target, &t->lim, &req, &sink, &err) < 0) {
		lt_error("tail: %s", err.message);
		close_with(t, LT_WS_INTERNAL_ERROR, err.message);
		return -1;
	}
	took = lt_monotonic_ms() - began;
	sent = t->answer.len == 0 ? 0
		: lt_tail_messages(&t->st, (const char *)t->answer.data,
				   t->answer.len, LT_TAIL_PER_MESSAGE, &t->out,
				   why, sizeof(why));
	if (sent < 0) {
		lt_error("tail: %s", why);
		close_with(t, LT_WS_INTERNAL_ERROR, why);
		return -1;
	}
	t->polled = 1;
	if (req.range.end_ns > t->polled_to_ns)
		t->polled_to_ns = req.range.end_ns;
	t->next_poll_ms = lt_monotonic_ms() +
		(took * POLL_SLOW_FACTOR > POLL_MIN_MS ? took * POLL_SLOW_FACTOR
						       : POLL_MIN_MS);
	/* A full answer leaves more behind: ask again at once.  One full
	 * of entries already sent (more at one nanosecond than a poll
	 * holds) would come back forever: step past that nanosecond. */
	if (t->answer.len > 0 && req.forward && sent == 0 &&
	    t->st.n_seen >= req.limit)
		t->st.cursor_ns++;
	else if (req.forward && (size_t)sent >= req.limit)
		t->next_poll_ms = 0;
	return send_out(t);
}

/* Answers the client's frames in c->buf: a close with a close, a ping
 * with a pong; data frames are read and dropped, as Loki does. */
static void
client_frames(struct tail *t)
{
	struct lt_conn *c = t->c;
	struct lt_ws_frame f;
	unsigned code;
	size_t used;
	int rc, cc;

	while (!t->done && (rc = lt_ws_parse(c->buf + c->start,
					     c->end - c->start,
					     MAX_CLIENT_FRAME, &f, &used,
					     &code)) != 0) {
		if (rc < 0) {
			close_with(t, code, code == LT_WS_TOO_BIG
				   ? "frame too large" : "protocol error");
			return;
		}
		c->start += used;
		if (f.opcode == LT_WS_CLOSE) {
			/* Echo the code, as RFC 6455 5.5.1 has it. */
			cc = lt_ws_close_code(f.payload, f.len);
			if (lt_ws_close_frame(&t->out, cc == 1005 ? 0
					      : cc < 0 ? LT_WS_PROTOCOL_ERROR
					      : (unsigned)cc, NULL) == 0)
				(void)send_out(t);
			t->done = 1;
			return;
		}
		if (f.opcode == LT_WS_PING &&
		    (lt_ws_frame(&t->out, LT_WS_PONG, f.payload, f.len) < 0 ||
		     send_out(t) < 0))
			return;
	}
	/* Keep what is left of a frame at the buffer's start. */
	memmove(c->buf, c->buf + c->start, c->end - c->start);
	c->end -= c->start;
	c->start = 0;
}

static void
read_client(struct tail *t)
{
	struct lt_conn *c = t->c;
	ssize_t n;

	n = read(c->in_fd, c->buf + c->end, sizeof(c->buf) - c->end);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		t->done = 1; /* gone without a close frame */
		return;
	}
	c->end += (size_t)n;
	client_frames(t);
}

static long long
min_ll(long long a, long long b)
{
	return a < b ? a : b;
}

static void
tail_loop(struct tail *t)
{
	long long now, wake;
	int ready;

	/* Bytes the client sent right after the handshake. */
	client_frames(t);
	while (!t->done) {
		now = lt_monotonic_ms();
		if (now >= t->end_ms) {
			close_with(t, LT_WS_INTERNAL_ERROR,
				   "reached tail max duration limit");
			return;
		}
		if (now >= t->next_poll_ms && poll_once(t) < 0)
			return;
		if (now >= t->next_ping_ms) {
			t->next_ping_ms = now + PING_MS;
			if (lt_ws_frame(&t->out, LT_WS_PING, NULL, 0) < 0 ||
			    send_out(t) < 0)
				return;
		}
		wake = min_ll(min_ll(t->next_poll_ms, t->next_ping_ms), t->end_ms);
		now = lt_monotonic_ms();
		ready = lt_fd_wait(t->c->in_fd, POLLIN,
				   wake > now ? (int)min_ll(wake - now, INT_MAX) : 0);
		if (ready < 0)
			return;
		if (ready == 1)
			read_client(t);
	}
}

/* A write that blocks this long on a client that reads nothing ends the
 * tail (best effort: a pipe has no such option). */
static void
set_send_timeout(int fd, int ms)
{
	struct timeval tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* After the 101: the tenant's slot, ClickHouse, then the loop. */
static void
run_tail(struct tail *t)
{
	struct lt_query_error err;
	char why[512], msg[256];
	int slot = -1, rc;

	rc = lt_tail_slot_take(t->o->spool, t->tenant, t->lim.max_tails, &slot,
			       why, sizeof(why));
	if (rc != 0) {
		if (rc < 0)
			lt_error("tail: %s", why);
		/* Loki's words: the count this tail would make, the limit. */
		if (rc > 0)
			(void)snprintf(msg, sizeof(msg), "max concurrent tail requests limit exceeded, count > limit (%zu > %zu)",
				       t->lim.max_tails + 1, t->lim.max_tails);
		else
			(void)snprintf(msg, sizeof(msg), "could not count the tenant's tails");
		lt_info("tail: %s", msg);
		close_with(t, LT_WS_INTERNAL_ERROR, msg);
		return;
	}
	t->ch = t->e->open(t->o, &t->lim, &t->target, &err);
	if (t->ch == NULL) {
		lt_error("tail: %s", err.message);
		close_with(t, LT_WS_INTERNAL_ERROR, err.message);
	} else {
		lt_info("tail: started for tenant %s", t->tenant);
		tail_loop(t);
		t->e->close(t->ch);
	}
	(void)close(slot);
}

/* max_query_length over start..now, as Loki checks the tail's history
 * query.  Returns 0, or -1 with the message in msg. */
static int
check_length(const struct tail *t, int64_t now_ns, char *msg, size_t len)
{
	char have[64], max[64];

	if (t->lim.max_length_ns <= 0 ||
	    now_ns - t->p.start_ns <= t->lim.max_length_ns)
		return 0;
	lt_go_duration_format(now_ns - t->p.start_ns, have, sizeof(have));
	lt_prom_duration_format(t->lim.max_length_ns, max, sizeof(max));
	(void)snprintf(msg, len, "the query time range exceeds the limit (query length: %s, limit: %s)",
		       have, max);
	return -1;
}

/* Parameters and handshake; returns 0 when the 101 went out. */
static int
accept_tail(struct tail *t, struct lt_request *r, struct lt_response *resp)
{
	struct lt_query_error err;
	struct lt_form form;
	char why[256];
	int rc = -1;

	lt_form_init(&form);
	if (r->query != NULL &&
	    lt_form_parse(&form, r->query, strlen(r->query), why,
			  sizeof(why)) < 0) {
		(void)lt_response_set(resp, 400, "%s", why);
		goto out;
	}
	if (tail_params(&form, lt_now_ns(), &t->p, &err) < 0) {
		(void)lt_response_set(resp, err.status, "%s", err.message);
		goto out;
	}
	if (check_handshake(r, resp) < 0)
		goto out;
	if (write_101(t->c, r->ws_key) < 0) {
		t->done = 1;
		goto out;
	}
	rc = 0;
out:
	lt_form_free(&form);
	return rc;
}

int
lt_query_serve_tail(const struct lt_options *o,
		    const struct lt_query_engine *e, struct lt_conn *c,
		    struct lt_request *r, const char *tenant)
{
	struct lt_response resp = {0};
	struct tail *t;
	char msg[256];

	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		(void)lt_response_set(&resp, 503, "out of memory; try again later");
		goto refuse;
	}
	t->o = o;
	t->e = e;
	t->c = c;
	t->tenant = tenant;
	lt_options_query_limits_for(o, tenant, &t->lim);
	if (accept_tail(t, r, &resp) < 0) {
		if (t->done)
			goto out;
		goto refuse;
	}
	set_send_timeout(c->out_fd, o->http.read_timeout_ms);
	t->end_ms = lt_monotonic_ms() + o->tail_max_duration_ns / 1000000;
	t->next_ping_ms = lt_monotonic_ms() + PING_MS;
	if (check_length(t, lt_now_ns(), msg, sizeof(msg)) < 0)
		close_with(t, LT_WS_INTERNAL_ERROR, msg);
	else
		run_tail(t);
	lt_info("tail: ended for tenant %s", tenant);
	goto out;
refuse:
	if (resp.status >= 500)
		lt_error("%s: answered %d: %s", r->path, resp.status, resp.message);
	else
		lt_info("%s: answered %d: %s", r->path, resp.status, resp.message);
	if (lt_http_write_response(c, &resp, 0) == 0)
		lt_conn_linger(c, 2000);
out:
	if (t != NULL) {
		lt_logql_free(t->p.q);
		lt_tail_state_free(&t->st);
		lt_buf_free(&t->answer);
		lt_buf_free(&t->out);
		free(t);
	}
	return 0;
}

void
lt_query_tail_cgi_refusal(struct lt_response *resp)
{
	(void)lt_response_set(resp, 400,
		"/loki/api/v1/tail is a WebSocket, which cannot pass through "
		"CGI: point the web server's location for /loki/api/v1/tail "
		"at logthra-query's inetd listener (systemd socket activation "
		"or inetd), proxying the Upgrade; see logthra-query(1), LIVE "
		"TAIL");
}
