/* Unit tests: the protobuf reader of Loki's PushRequest.  Valid bodies
 * are built with protobuf-c from tests/proto/push.proto; what protobuf-c
 * cannot emit (repeated singular fields, fields out of order, unknown
 * fields, malformed wire bytes) is appended by hand.  protobuf-c's own
 * unpacker serves as the reference wherever the body is valid. */
#include "config.h"

#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "loki_proto.h"
#include "push.pb-c.h"

/* ---- protobuf-c messages, freed after each test ---- */

#define POOL_MAX 4096
static void *pool[POOL_MAX];
static size_t npool;

static void *
palloc(size_t n)
{
	void *p = calloc(1, n);

	ck_assert_ptr_nonnull(p);
	ck_assert_uint_lt(npool, POOL_MAX);
	pool[npool++] = p;
	return p;
}

/* Grows an array of n pointers to n + 1, keeping it in the pool. */
static void *
pgrow(void *arr, size_t n)
{
	size_t i;
	void *p;

	if (arr == NULL)
		return palloc(sizeof(void *));
	for (i = 0; i < npool && pool[i] != arr; i++)
		continue;
	ck_assert_uint_lt(i, npool);
	p = realloc(arr, (n + 1) * sizeof(void *));
	ck_assert_ptr_nonnull(p);
	pool[i] = p;
	return p;
}

static void
pool_free(void)
{
	while (npool > 0)
		free(pool[--npool]);
}

static Google__Protobuf__Timestamp *
mk_ts(int64_t s, int32_t n)
{
	Google__Protobuf__Timestamp *t = palloc(sizeof(*t));

	google__protobuf__timestamp__init(t);
	t->seconds = s;
	t->nanos = n;
	return t;
}

static Logproto__LabelPairAdapter *
mk_pair(const char *name, const char *value)
{
	Logproto__LabelPairAdapter *p = palloc(sizeof(*p));

	logproto__label_pair_adapter__init(p);
	p->name = (char *)name;
	p->value = (char *)value;
	return p;
}

static Logproto__EntryAdapter *
mk_entry(Google__Protobuf__Timestamp *ts, const char *line)
{
	Logproto__EntryAdapter *e = palloc(sizeof(*e));

	logproto__entry_adapter__init(e);
	e->timestamp = ts;
	e->line = (char *)line;
	return e;
}

static void
add_md(Logproto__EntryAdapter *e, const char *name, const char *value)
{
	e->structuredmetadata = pgrow(e->structuredmetadata,
				      e->n_structuredmetadata);
	e->structuredmetadata[e->n_structuredmetadata++] =
	    mk_pair(name, value);
}

static void
add_parsed(Logproto__EntryAdapter *e, const char *name, const char *value)
{
	e->parsed = pgrow(e->parsed, e->n_parsed);
	e->parsed[e->n_parsed++] = mk_pair(name, value);
}

static Logproto__StreamAdapter *
mk_stream(const char *labels, uint64_t hash)
{
	Logproto__StreamAdapter *s = palloc(sizeof(*s));

	logproto__stream_adapter__init(s);
	s->labels = (char *)labels;
	s->hash = hash;
	return s;
}

static Logproto__EntryAdapter *
add_entry(Logproto__StreamAdapter *s, Google__Protobuf__Timestamp *ts,
	  const char *line)
{
	Logproto__EntryAdapter *e = mk_entry(ts, line);

	s->entries = pgrow(s->entries, s->n_entries);
	s->entries[s->n_entries++] = e;
	return e;
}

static Logproto__PushRequest *
mk_push(void)
{
	Logproto__PushRequest *p = palloc(sizeof(*p));

	logproto__push_request__init(p);
	return p;
}

static Logproto__StreamAdapter *
add_stream(Logproto__PushRequest *p, const char *labels, uint64_t hash)
{
	Logproto__StreamAdapter *s = mk_stream(labels, hash);

	p->streams = pgrow(p->streams, p->n_streams);
	p->streams[p->n_streams++] = s;
	return s;
}

/* Appends the packed message. */
static void
pack(const void *msg, struct lt_buf *out)
{
	const ProtobufCMessage *m = msg;
	size_t n = protobuf_c_message_get_packed_size(m);

	ck_assert_int_eq(lt_buf_reserve(out, n), 0);
	ck_assert_uint_eq(protobuf_c_message_pack(m, out->data + out->len), n);
	out->len += n;
}

/* ---- wire bytes by hand ---- */

static void
w_raw(struct lt_buf *b, const void *p, size_t n)
{
	ck_assert_int_eq(lt_buf_append(b, p, n), 0);
}

static void
w_tag(struct lt_buf *b, uint32_t num, unsigned wt)
{
	ck_assert_int_eq(lt_buf_append_varint(b, (uint64_t)num << 3 | wt), 0);
}

static void
w_varint(struct lt_buf *b, uint32_t num, uint64_t v)
{
	w_tag(b, num, 0);
	ck_assert_int_eq(lt_buf_append_varint(b, v), 0);
}

static void
w_bytes(struct lt_buf *b, uint32_t num, const void *p, size_t n)
{
	w_tag(b, num, 2);
	ck_assert_int_eq(lt_buf_append_string(b, p, n), 0);
}

static void
w_str(struct lt_buf *b, uint32_t num, const char *s)
{
	w_bytes(b, num, s, strlen(s));
}

static void
w_msg(struct lt_buf *b, uint32_t num, const struct lt_buf *sub)
{
	w_bytes(b, num, sub->data, sub->len);
}

static void
w_fixed64(struct lt_buf *b, uint32_t num, uint64_t v)
{
	w_tag(b, num, 1);
	ck_assert_int_eq(lt_buf_append_u64le(b, v), 0);
}

static void
w_fixed32(struct lt_buf *b, uint32_t num, uint32_t v)
{
	w_tag(b, num, 5);
	ck_assert_int_eq(lt_buf_append_u32le(b, v), 0);
}

/* One unknown field of every valid wire type. */
static void
w_unknown(struct lt_buf *b)
{
	w_varint(b, 15, UINT64_MAX);
	w_fixed64(b, 100, 0x0a0a0a0a0a0a0a0aULL);
	w_str(b, 16, "\x0a\x05junk");
	w_fixed32(b, 536870911, 0x12121212u);
	w_bytes(b, 999, "", 0);
}

/* ---- what a decode sees, as text ---- */

static void
tr_bytes(struct lt_buf *out, const char *p, size_t n)
{
	size_t i;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			ck_assert_int_eq(lt_buf_append_byte(out, c), 0);
		else
			ck_assert_int_eq(lt_buf_printf(out, "\\x%02x", c), 0);
	}
}

static void
tr_stream(struct lt_buf *out, const char *labels, size_t len, size_t n)
{
	ck_assert_int_eq(lt_buf_append(out, "S ", 2), 0);
	tr_bytes(out, labels, len);
	ck_assert_int_eq(lt_buf_printf(out, " %zu\n", n), 0);
}

static void
tr_entry_head(struct lt_buf *out, int64_t s, int32_t ns, const char *line,
	      size_t len, size_t n_md)
{
	ck_assert_int_eq(lt_buf_printf(out, "E %" PRId64 " %" PRId32 " ", s, ns),
			 0);
	tr_bytes(out, line, len);
	ck_assert_int_eq(lt_buf_printf(out, " %zu", n_md), 0);
}

static void
tr_pair(struct lt_buf *out, const char *n, size_t nl, const char *v, size_t vl)
{
	ck_assert_int_eq(lt_buf_append_byte(out, ' '), 0);
	tr_bytes(out, n, nl);
	ck_assert_int_eq(lt_buf_append_byte(out, '='), 0);
	tr_bytes(out, v, vl);
}

struct rec {
	struct lt_buf out;
	size_t max_md;
	size_t streams, entries; /* callbacks so far */
	int stream_ret[8];       /* what stream() returns, by stream */
	size_t abort_entry;      /* entry() fails at this entry; 0 = never */
};

static int
rec_stream(void *ctx, const char *labels, size_t len, size_t n)
{
	struct rec *r = ctx;

	ck_assert_ptr_nonnull(labels);
	tr_stream(&r->out, labels, len, n);
	r->streams++;
	return r->streams < 8 ? r->stream_ret[r->streams] : 0;
}

static int
rec_entry(void *ctx, const struct lt_pb_entry *e)
{
	struct rec *r = ctx;
	size_t i, kept = e->n_metadata < r->max_md ? e->n_metadata : r->max_md;

	ck_assert_ptr_nonnull(e->line);
	tr_entry_head(&r->out, e->seconds, e->nanos, e->line, e->line_len,
		      e->n_metadata);
	for (i = 0; i < kept; i++)
		tr_pair(&r->out, e->metadata[i].name, e->metadata[i].name_len,
			e->metadata[i].value, e->metadata[i].value_len);
	ck_assert_int_eq(lt_buf_append_byte(&r->out, '\n'), 0);
	r->entries++;
	return r->entries == r->abort_entry ? -1 : 0;
}

static void
rec_init(struct rec *r, size_t max_md)
{
	memset(r, 0, sizeof(*r));
	r->max_md = max_md;
}

static int
run(const void *body, size_t len, struct rec *r, char *err, size_t errlen)
{
	struct lt_pb_visitor v = {rec_stream, rec_entry, r, r->max_md};
	int status;

	lt_buf_reset(&r->out);
	r->streams = r->entries = 0;
	memset(err, 'X', errlen);
	status = lt_pb_push_decode(body, len, &v, err, errlen);
	ck_assert_int_eq(lt_buf_terminate(&r->out), 0);
	if (status == 0)
		ck_assert_str_eq(err, "");
	else
		ck_assert_uint_gt(strlen(err), 0);
	ck_assert_uint_lt(strlen(err), errlen);
	return status;
}

/* The same body as protobuf-c reads it, keeping all metadata: -1 when
 * protobuf-c refuses it. */
static int
oracle(const struct lt_buf *body, struct lt_buf *out)
{
	Logproto__PushRequest *p;
	const Logproto__StreamAdapter *s;
	const Logproto__EntryAdapter *e;
	const Logproto__LabelPairAdapter *m;
	size_t i, j, k;

	lt_buf_reset(out);
	p = logproto__push_request__unpack(NULL, body->len, body->data);
	if (p == NULL)
		return -1;
	for (i = 0; i < p->n_streams; i++) {
		s = p->streams[i];
		tr_stream(out, s->labels, strlen(s->labels), s->n_entries);
		for (j = 0; j < s->n_entries; j++) {
			e = s->entries[j];
			tr_entry_head(out, e->timestamp ? e->timestamp->seconds : 0,
				      e->timestamp ? e->timestamp->nanos : 0,
				      e->line, strlen(e->line),
				      e->n_structuredmetadata);
			for (k = 0; k < e->n_structuredmetadata; k++) {
				m = e->structuredmetadata[k];
				tr_pair(out, m->name, strlen(m->name), m->value,
					strlen(m->value));
			}
			ck_assert_int_eq(lt_buf_append_byte(out, '\n'), 0);
		}
	}
	logproto__push_request__free_unpacked(p, NULL);
	ck_assert_int_eq(lt_buf_terminate(out), 0);
	return 0;
}

/* Decodes body and expects success and the transcript want. */
static void
expect_decode(const struct lt_buf *body, const char *want)
{
	struct rec r;
	char err[256];

	rec_init(&r, 1000);
	ck_assert_int_eq(run(body->data, body->len, &r, err, sizeof(err)), 0);
	ck_assert_str_eq((char *)r.out.data, want);
	lt_buf_free(&r.out);
}

/* The same, and checks that protobuf-c reads the body the same way. */
static void
expect_ok(const struct lt_buf *body, const char *want)
{
	struct lt_buf ref = LT_BUF_INIT;

	expect_decode(body, want);
	ck_assert_int_eq(oracle(body, &ref), 0);
	ck_assert_str_eq((char *)ref.data, want);
	lt_buf_free(&ref);
}

/* Decodes body and expects -1 with the message want. */
static void
expect_bad(const struct lt_buf *body, const char *want)
{
	struct rec r;
	char err[256];

	rec_init(&r, 1000);
	ck_assert_int_eq(run(body->data, body->len, &r, err, sizeof(err)), -1);
	ck_assert_str_eq(err, want);
	lt_buf_free(&r.out);
}

/* Wraps entry bytes as the one entry of the one stream of a body. */
static void
wrap_entry(struct lt_buf *body, const struct lt_buf *entry)
{
	struct lt_buf s = LT_BUF_INIT;

	w_msg(&s, 2, entry);
	w_msg(body, 1, &s);
	lt_buf_free(&s);
}

/* ---- tests ---- */

START_TEST(test_empty_body)
{
	struct rec r;
	char err[64];

	rec_init(&r, 10);
	ck_assert_int_eq(run("", 0, &r, err, sizeof(err)), 0);
	ck_assert_uint_eq(r.out.len, 0);
	ck_assert_int_eq(run(NULL, 0, &r, err, sizeof(err)), 0);
	ck_assert_uint_eq(r.streams, 0);
	lt_buf_free(&r.out);
}
END_TEST

START_TEST(test_all_fields)
{
	Logproto__PushRequest *p = mk_push();
	Logproto__StreamAdapter *s;
	Logproto__EntryAdapter *e;
	struct lt_buf body = LT_BUF_INIT;

	s = add_stream(p, "{app=\"api\", level=\"info\"}", 0xfedcba9876543210ULL);
	e = add_entry(s, mk_ts(1704067200, 123456789), "hello");
	add_md(e, "trace_id", "abc");
	add_md(e, "user", "bob");
	add_parsed(e, "ignored", "yes");
	add_entry(s, mk_ts(-62135596800LL, 0), "year one");
	add_entry(s, mk_ts(-1, -1), "negative nanos");
	add_entry(s, mk_ts(5, 1500000000), "nanos out of range");
	add_entry(s, mk_ts(INT64_MAX, INT32_MIN), "extremes");
	add_entry(s, mk_ts(INT64_MIN, INT32_MAX), "extremes 2");
	s = add_stream(p, "{app=\"db\"}", 1);
	e = add_entry(s, NULL, "no timestamp");
	add_parsed(e, "only", "parsed");
	add_entry(s, mk_ts(0, 0), "");
	pack(p, &body);
	expect_ok(&body,
		  "S {app=\"api\", level=\"info\"} 6\n"
		  "E 1704067200 123456789 hello 2 trace_id=abc user=bob\n"
		  "E -62135596800 0 year one 0\n"
		  "E -1 -1 negative nanos 0\n"
		  "E 5 1500000000 nanos out of range 0\n"
		  "E 9223372036854775807 -2147483648 extremes 0\n"
		  "E -9223372036854775808 2147483647 extremes 2 0\n"
		  "S {app=\"db\"} 2\n"
		  "E 0 0 no timestamp 0\n"
		  "E 0 0  0\n");
	lt_buf_free(&body);
}
END_TEST

/* Lines and labels are bytes: NULs and invalid UTF-8 arrive as sent. */
START_TEST(test_line_bytes)
{
	static const char line[] = "a\0\0b\xff\xfe\xc3(\0";
	static const char labels[] = "{x=\"\xc0\x80\0\"}";
	static const char mdv[] = "\0\xf5";
	const size_t line_len = sizeof(line) - 1, labels_len = sizeof(labels) - 1;
	Logproto__PushRequest *p = mk_push();
	Logproto__StreamAdapter *s;
	Logproto__EntryAdapter *e;
	struct lt_buf body = LT_BUF_INIT;
	unsigned char *at;
	struct rec r;
	char err[64], tmp[16];

	/* protobuf-c takes NUL-terminated strings: pack placeholders of
	 * the same length and put the NULs in afterwards. */
	s = add_stream(p, "{x=\"\xc0\x80~\"}", 0);
	e = add_entry(s, mk_ts(1, 2), "a~~b\xff\xfe\xc3(~");
	add_md(e, "k", "~\xf5");
	pack(p, &body);
	memcpy(tmp, "a~~b\xff\xfe\xc3(~", line_len);
	at = memmem(body.data, body.len, tmp, line_len);
	ck_assert_ptr_nonnull(at);
	memcpy(at, line, line_len);
	at = memmem(body.data, body.len, "{x=\"\xc0\x80~\"}", labels_len);
	ck_assert_ptr_nonnull(at);
	memcpy(at, labels, labels_len);
	at = memmem(body.data, body.len, "~\xf5", 2);
	ck_assert_ptr_nonnull(at);
	memcpy(at, mdv, 2);

	rec_init(&r, 4);
	ck_assert_int_eq(run(body.data, body.len, &r, err, sizeof(err)), 0);
	ck_assert_str_eq((char *)r.out.data,
			 "S {x=\"\\xc0\\x80\\x00\"} 1\n"
			 "E 1 2 a\\x00\\x00b\\xff\\xfe\\xc3(\\x00 1 k=\\x00\\xf5\n");
	lt_buf_free(&r.out);
	lt_buf_free(&body);
}
END_TEST

struct md_check {
	size_t max;
	size_t calls;
	size_t want_n[4];
};

/* Checks every kept pair against what the entries were built with:
 * name mN_I, value vI. */
static int
md_entry(void *ctx, const struct lt_pb_entry *e)
{
	struct md_check *c = ctx;
	char name[32], value[32];
	size_t i, kept;

	ck_assert_uint_lt(c->calls, 4);
	ck_assert_uint_eq(e->n_metadata, c->want_n[c->calls]);
	kept = e->n_metadata < c->max ? e->n_metadata : c->max;
	for (i = 0; i < kept; i++) {
		(void)snprintf(name, sizeof(name), "m%zu_%zu", c->calls, i);
		(void)snprintf(value, sizeof(value), "v%zu", i);
		ck_assert_uint_eq(e->metadata[i].name_len, strlen(name));
		ck_assert_mem_eq(e->metadata[i].name, name, strlen(name));
		ck_assert_uint_eq(e->metadata[i].value_len, strlen(value));
		ck_assert_mem_eq(e->metadata[i].value, value, strlen(value));
	}
	c->calls++;
	return 0;
}

/* 0, 1 and many pairs, kept up to max_metadata and counted past it; the
 * array is reused from a large entry to a small one. */
START_TEST(test_metadata_limits)
{
	static const size_t counts[4] = {0, 1, 40, 2};
	static const size_t maxes[] = {0, 1, 3, 40, 41, 1000, SIZE_MAX};
	Logproto__PushRequest *p = mk_push();
	Logproto__StreamAdapter *s = add_stream(p, "{a=\"b\"}", 0);
	Logproto__EntryAdapter *e;
	struct lt_pb_visitor v = {NULL, md_entry, NULL, 0};
	struct lt_buf body = LT_BUF_INIT;
	struct md_check c;
	char name[32], *n, *val;
	size_t i, j, k;
	char err[64];

	for (i = 0; i < 4; i++) {
		e = add_entry(s, mk_ts(1, 0), "x");
		for (j = 0; j < counts[i]; j++) {
			(void)snprintf(name, sizeof(name), "m%zu_%zu", i, j);
			n = palloc(strlen(name) + 1);
			memcpy(n, name, strlen(name) + 1);
			(void)snprintf(name, sizeof(name), "v%zu", j);
			val = palloc(strlen(name) + 1);
			memcpy(val, name, strlen(name) + 1);
			add_md(e, n, val);
			if (j % 3 == 0)
				add_parsed(e, "p", "q");
		}
	}
	pack(p, &body);
	for (k = 0; k < sizeof(maxes) / sizeof(maxes[0]); k++) {
		memset(&c, 0, sizeof(c));
		c.max = maxes[k];
		memcpy(c.want_n, counts, sizeof(counts));
		v.ctx = &c;
		v.max_metadata = maxes[k];
		ck_assert_int_eq(lt_pb_push_decode(body.data, body.len, &v, err,
						   sizeof(err)), 0);
		ck_assert_uint_eq(c.calls, 4);
	}
	lt_buf_free(&body);
}
END_TEST

START_TEST(test_transcript_metadata_cap)
{
	Logproto__PushRequest *p = mk_push();
	Logproto__EntryAdapter *e;
	struct lt_buf body = LT_BUF_INIT;
	struct rec r;
	char err[64];

	e = add_entry(add_stream(p, "{}", 0), NULL, "l");
	add_md(e, "a", "1");
	add_md(e, "b", "2");
	add_md(e, "a", "3"); /* duplicates pass through: push.c decides */
	pack(p, &body);
	rec_init(&r, 2);
	ck_assert_int_eq(run(body.data, body.len, &r, err, sizeof(err)), 0);
	ck_assert_str_eq((char *)r.out.data, "S {} 1\nE 0 0 l 3 a=1 b=2\n");
	lt_buf_free(&r.out);
	lt_buf_free(&body);
}
END_TEST

/* Streams with nothing in them, without labels, entries with nothing. */
START_TEST(test_empty_messages)
{
	struct lt_buf body = LT_BUF_INIT, s = LT_BUF_INIT, e = LT_BUF_INIT;

	w_bytes(&body, 1, "", 0); /* empty stream */
	w_bytes(&s, 2, "", 0);    /* an empty entry, no labels */
	w_bytes(&s, 2, "", 0);
	w_msg(&body, 1, &s);
	lt_buf_reset(&s);
	w_str(&s, 1, "");         /* labels present but empty */
	w_bytes(&e, 1, "", 0);    /* empty timestamp */
	w_bytes(&e, 2, "", 0);    /* empty line */
	w_bytes(&e, 3, "", 0);    /* empty metadata pair */
	w_bytes(&e, 4, "", 0);    /* empty parsed pair */
	w_msg(&s, 2, &e);
	w_varint(&s, 3, 0);
	w_msg(&body, 1, &s);
	expect_ok(&body, "S  0\n"
			 "S  2\nE 0 0  0\nE 0 0  0\n"
			 "S  1\nE 0 0  1 =\n");
	lt_buf_free(&e);
	lt_buf_free(&s);
	lt_buf_free(&body);
}
END_TEST

/* Every field in reverse order of number. */
START_TEST(test_reverse_order)
{
	struct lt_buf body = LT_BUF_INIT, s = LT_BUF_INIT, e = LT_BUF_INIT,
		      sub = LT_BUF_INIT;

	w_varint(&s, 3, 42);
	lt_buf_reset(&sub);
	w_str(&sub, 2, "pv");
	w_str(&sub, 1, "pn");
	w_msg(&e, 4, &sub);
	lt_buf_reset(&sub);
	w_str(&sub, 2, "v1");
	w_str(&sub, 1, "n1");
	w_msg(&e, 3, &sub);
	w_str(&e, 2, "the line");
	lt_buf_reset(&sub);
	w_varint(&sub, 2, 999);
	w_varint(&sub, 1, 1700000000);
	w_msg(&e, 1, &sub);
	w_msg(&s, 2, &e);
	w_str(&s, 1, "{r=\"1\"}");
	w_msg(&body, 1, &s);
	expect_ok(&body, "S {r=\"1\"} 1\nE 1700000000 999 the line 1 n1=v1\n");
	lt_buf_free(&sub);
	lt_buf_free(&e);
	lt_buf_free(&s);
	lt_buf_free(&body);
}
END_TEST

/* Singular fields that repeat: the last scalar wins, messages merge,
 * whether appended by hand or by concatenating packed messages. */
START_TEST(test_repeated_singular)
{
	Logproto__StreamAdapter *sa, *sb;
	Logproto__EntryAdapter *ea, *eb;
	struct lt_buf body = LT_BUF_INIT, s = LT_BUF_INIT, e = LT_BUF_INIT,
		      sub = LT_BUF_INIT;

	/* Two packed streams concatenated are one stream. */
	sa = mk_stream("{first=\"1\"}", 7);
	add_entry(sa, mk_ts(1, 1), "a");
	sb = mk_stream("{second=\"2\"}", 8);
	add_entry(sb, mk_ts(2, 2), "b");
	pack(sa, &s);
	pack(sb, &s);
	/* Two packed entries concatenated are one entry. */
	ea = mk_entry(mk_ts(10, 20), "line a");
	add_md(ea, "m", "1");
	eb = mk_entry(mk_ts(11, 0), "line b"); /* nanos 0 is not sent */
	add_md(eb, "m", "2");
	pack(ea, &e);
	pack(eb, &e);
	/* By hand: seconds then nanos in separate timestamps, then the
	 * seconds again; a metadata pair whose name and value repeat. */
	lt_buf_reset(&sub);
	w_varint(&sub, 1, 30);
	w_msg(&e, 1, &sub);
	lt_buf_reset(&sub);
	w_varint(&sub, 2, 40);
	w_varint(&sub, 2, 41);
	w_msg(&e, 1, &sub);
	lt_buf_reset(&sub);
	w_str(&sub, 1, "x");
	w_str(&sub, 2, "y");
	w_str(&sub, 1, "name");
	w_str(&sub, 2, "value");
	w_msg(&e, 3, &sub);
	w_str(&e, 2, "last line");
	w_msg(&s, 2, &e);
	w_varint(&s, 3, 9);
	w_str(&s, 1, "{last=\"3\"}");
	w_msg(&body, 1, &s);
	/* Not checked against protobuf-c: its unpacker replaces a
	 * repeated Timestamp instead of merging it. */
	expect_decode(&body, "S {last=\"3\"} 3\n"
			 "E 1 1 a 0\n"
			 "E 2 2 b 0\n"
			 "E 30 41 last line 3 m=1 m=2 name=value\n");
	lt_buf_free(&sub);
	lt_buf_free(&e);
	lt_buf_free(&s);
	lt_buf_free(&body);
}
END_TEST

/* Unknown fields of every wire type, in every message, are skipped. */
START_TEST(test_unknown_fields)
{
	struct lt_buf body = LT_BUF_INIT, s = LT_BUF_INIT, e = LT_BUF_INIT,
		      sub = LT_BUF_INIT;

	w_unknown(&body);
	w_unknown(&s);
	w_str(&s, 1, "{u=\"1\"}");
	w_unknown(&s);
	w_unknown(&e);
	lt_buf_reset(&sub);
	w_unknown(&sub);
	w_varint(&sub, 1, 5);
	w_unknown(&sub);
	w_varint(&sub, 2, 6);
	w_unknown(&sub);
	w_msg(&e, 1, &sub);
	w_unknown(&e);
	w_str(&e, 2, "line");
	lt_buf_reset(&sub);
	w_unknown(&sub);
	w_str(&sub, 1, "n");
	w_unknown(&sub);
	w_str(&sub, 2, "v");
	w_unknown(&sub);
	w_msg(&e, 3, &sub);
	w_msg(&e, 4, &sub);
	w_unknown(&e);
	w_msg(&s, 2, &e);
	w_unknown(&s);
	w_varint(&s, 3, 1);
	w_unknown(&s);
	w_msg(&body, 1, &s);
	w_unknown(&body);
	expect_ok(&body, "S {u=\"1\"} 1\nE 5 6 line 1 n=v\n");
	lt_buf_free(&sub);
	lt_buf_free(&e);
	lt_buf_free(&s);
	lt_buf_free(&body);
}
END_TEST

/* Varints at their limits: 10 bytes, int32 from a 64-bit varint. */
START_TEST(test_varint_limits)
{
	static const unsigned char max10[] = {0xff, 0xff, 0xff, 0xff, 0xff,
					      0xff, 0xff, 0xff, 0xff, 0x01};
	static const unsigned char big10[] = {0x80, 0x80, 0x80, 0x80, 0x80,
					      0x80, 0x80, 0x80, 0x80, 0x01};
	struct lt_buf body = LT_BUF_INIT, sub = LT_BUF_INIT, e = LT_BUF_INIT;

	/* seconds = 2^64 - 1 is -1; nanos = 2^32 + 5 is 5 (the low 32
	 * bits); a 10-byte -7 for nanos is -7. */
	w_tag(&sub, 1, 0);
	w_raw(&sub, max10, sizeof(max10));
	w_varint(&sub, 2, (UINT64_C(1) << 32) + 5);
	w_msg(&e, 1, &sub);
	w_str(&e, 2, "one");
	wrap_entry(&body, &e);
	lt_buf_reset(&sub);
	lt_buf_reset(&e);
	w_tag(&sub, 1, 0);
	w_raw(&sub, big10, sizeof(big10));
	w_varint(&sub, 2, (uint64_t)-7);
	w_varint(&sub, 2, UINT64_C(0xffffffff)); /* -1, then */
	w_varint(&sub, 2, UINT64_C(0x80000000)); /* INT32_MIN wins */
	w_msg(&e, 1, &sub);
	w_str(&e, 2, "two");
	wrap_entry(&body, &e);
	/* Overlong but in range encodings of small numbers are valid. */
	w_tag(&body, 77, 0);
	w_raw(&body, "\x80\x80\x80\x00", 4);
	expect_ok(&body, "S  1\nE -1 5 one 0\n"
			 "S  1\nE -9223372036854775808 -2147483648 two 0\n");
	lt_buf_free(&e);
	lt_buf_free(&sub);
	lt_buf_free(&body);
}
END_TEST

START_TEST(test_bad_varints)
{
	static const unsigned char eleven[] = {0x10, 0xff, 0xff, 0xff, 0xff,
					       0xff, 0xff, 0xff, 0xff, 0xff,
					       0xff, 0x01};
	static const unsigned char tenth2[] = {0x10, 0xff, 0xff, 0xff, 0xff,
					       0xff, 0xff, 0xff, 0xff, 0xff,
					       0x02};
	struct lt_buf body = LT_BUF_INIT, e = LT_BUF_INIT;

	w_raw(&body, eleven, sizeof(eleven));
	expect_bad(&body, "field 2: overlong varint at byte 1");
	lt_buf_reset(&body);
	w_raw(&body, tenth2, sizeof(tenth2));
	expect_bad(&body, "field 2: overlong varint at byte 1");
	lt_buf_reset(&body);
	w_raw(&body, "\x10\xff", 2);
	expect_bad(&body, "field 2: truncated varint at byte 1");
	lt_buf_reset(&body);
	w_raw(&body, "\x10\x01\xff\xff", 4);
	expect_bad(&body, "truncated varint at byte 2");
	lt_buf_reset(&body);
	/* An 11-byte tag. */
	w_raw(&body, eleven + 1, sizeof(eleven) - 1);
	expect_bad(&body, "overlong varint at byte 0");
	lt_buf_reset(&body);
	/* A tag wider than 32 bits. */
	w_raw(&body, "\x80\x80\x80\x80\x10", 5);
	expect_bad(&body, "field number too large at byte 0");
	lt_buf_reset(&body);
	/* The length of a LEN field, truncated by its message. */
	w_raw(&body, "\x0a\x02\x12\xff\x7f", 5);
	expect_bad(&body, "stream 1: field 2 (entries): truncated varint at byte 3");
	lt_buf_reset(&body);
	/* A varint inside a timestamp, cut by the timestamp's end. */
	w_raw(&e, "\x0a\x02\x08\x80\x12\x01x", 7);
	wrap_entry(&body, &e);
	expect_bad(&body, "stream 1: entry 1: timestamp: field 1 (seconds): "
			  "truncated varint at byte 7");
	lt_buf_free(&e);
	lt_buf_free(&body);
}
END_TEST

START_TEST(test_len_overflow)
{
	struct lt_buf body = LT_BUF_INIT, e = LT_BUF_INIT, sub = LT_BUF_INIT;

	w_raw(&body, "\x0a\x05\x01\x02", 4);
	expect_bad(&body, "field 1 (streams) runs past the end of its message at byte 0");
	lt_buf_reset(&body);
	/* The entry's length fits the body but not its stream. */
	w_raw(&body, "\x0a\x04\x12\x05\x0a\x01xxxxxx", 12);
	expect_bad(&body, "stream 1: field 2 (entries) runs past the end of its "
			  "message at byte 2");
	lt_buf_reset(&body);
	/* A line that runs past its entry. */
	w_raw(&e, "\x08\x01\x12\x05xx", 6);
	wrap_entry(&body, &e);
	w_raw(&body, "xxxxxxxx", 8);
	expect_bad(&body, "stream 1: entry 1: field 1 (timestamp) has wire type 0 "
			  "(varint), expected 2 (length-delimited) at byte 4");
	lt_buf_reset(&body);
	lt_buf_reset(&e);
	w_raw(&e, "\x12\x05xx", 4);
	wrap_entry(&body, &e);
	w_raw(&body, "xxxxxxxx", 8);
	expect_bad(&body, "stream 1: entry 1: field 2 (line) runs past the end of "
			  "its message at byte 4");
	lt_buf_reset(&body);
	/* A metadata value past its pair, 64- and 32-bit fields past
	 * their timestamp, an unknown LEN past the stream. */
	lt_buf_reset(&e);
	w_raw(&e, "\x1a\x03\x12\x02v", 5);
	w_raw(&e, "\x12\x01z", 3);
	wrap_entry(&body, &e);
	expect_bad(&body, "stream 1: entry 1: structuredMetadata 1: field 2 "
			  "(value) runs past the end of its message at byte 6");
	lt_buf_reset(&body);
	lt_buf_reset(&e);
	w_raw(&e, "\x22\x00\x22\x02\x0a\x05", 6);
	wrap_entry(&body, &e);
	expect_bad(&body, "stream 1: entry 1: parsed 2: field 1 (name) runs past "
			  "the end of its message at byte 8");
	lt_buf_reset(&body);
	lt_buf_reset(&e);
	w_raw(&e, "\x0a\x05\x19\x01\x02\x03\x04", 7);
	wrap_entry(&body, &e);
	expect_bad(&body, "stream 1: entry 1: timestamp: field 3 runs past the "
			  "end of its message at byte 6");
	lt_buf_reset(&body);
	lt_buf_reset(&e);
	w_raw(&e, "\x0a\x04\x1d\x01\x02\x03", 6);
	wrap_entry(&body, &e);
	expect_bad(&body, "stream 1: entry 1: timestamp: field 3 runs past the "
			  "end of its message at byte 6");
	lt_buf_reset(&body);
	w_raw(&sub, "\x0a\x01x\x7a\x10", 5);
	w_msg(&body, 1, &sub);
	expect_bad(&body, "stream 1: field 15 runs past the end of its message "
			  "at byte 5");
	lt_buf_reset(&body);
	/* A length that needs all 64 bits. */
	w_raw(&body, "\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11);
	expect_bad(&body, "field 1 (streams) runs past the end of its message at byte 0");
	lt_buf_free(&sub);
	lt_buf_free(&e);
	lt_buf_free(&body);
}
END_TEST

/* The message from the header, naming stream 2, entry 7. */
START_TEST(test_error_place)
{
	Logproto__PushRequest *p = mk_push();
	Logproto__StreamAdapter *st;
	struct lt_buf body = LT_BUF_INIT, s = LT_BUF_INIT, e = LT_BUF_INIT;
	char want[128];
	size_t i, at;

	st = add_stream(p, "{n=\"1\"}", 0);
	add_entry(st, mk_ts(1, 0), "first stream");
	pack(p, &body);
	for (i = 0; i < 6; i++)
		w_str(&s, 2, "\x12\x02ok");
	w_raw(&e, "\x0a\x02\x08\x01\x12\x09short", 11);
	w_msg(&s, 2, &e);
	w_msg(&body, 1, &s);
	/* The line's tag: after the stream's tag and length, six entries
	 * of 6 bytes, the seventh's tag and length, the timestamp. */
	at = body.len - s.len + 6 * 6 + 2 + 4;
	(void)snprintf(want, sizeof(want), "stream 2: entry 7: field 2 (line) "
		       "runs past the end of its message at byte %zu", at);
	expect_bad(&body, want);
	lt_buf_free(&e);
	lt_buf_free(&s);
	lt_buf_free(&body);
}
END_TEST

START_TEST(test_wire_types)
{
	struct lt_buf body = LT_BUF_INIT, e = LT_BUF_INIT;

	w_raw(&body, "\x0a\x01\x2b", 3);
	expect_bad(&body, "stream 1: wire type 3 (group) of field 5 is not supported");
	lt_buf_reset(&body);
	w_raw(&body, "\x0b\x0c", 2);
	expect_bad(&body, "wire type 3 (group) of field 1 (streams) is not supported");
	lt_buf_reset(&body);
	w_raw(&body, "\x0c", 1);
	expect_bad(&body, "wire type 4 (end group) of field 1 (streams) is not "
			  "supported");
	lt_buf_reset(&body);
	w_raw(&body, "\x0e", 1);
	expect_bad(&body, "invalid wire type 6 of field 1 (streams)");
	lt_buf_reset(&body);
	w_raw(&body, "\x0a\x00\x0a\x01\x1f", 5);
	expect_bad(&body, "stream 2: invalid wire type 7 of field 3 (hash)");
	lt_buf_reset(&body);
	w_raw(&e, "\x0a\x02\x13\x14", 4);
	wrap_entry(&body, &e);
	expect_bad(&body, "stream 1: entry 1: timestamp: wire type 3 (group) of "
			  "field 2 (nanos) is not supported");
	lt_buf_free(&e);
	lt_buf_free(&body);
}
END_TEST

START_TEST(test_field_zero)
{
	struct lt_buf body = LT_BUF_INIT, e = LT_BUF_INIT;

	w_raw(&body, "\x00\x00", 2);
	expect_bad(&body, "field number 0 at byte 0");
	lt_buf_reset(&body);
	w_raw(&body, "\x0a\x00\x02\x00", 4);
	expect_bad(&body, "field number 0 at byte 2");
	lt_buf_reset(&body);
	w_raw(&e, "\x1a\x02\x05\x00", 4); /* wire type 5 and field 0 */
	wrap_entry(&body, &e);
	expect_bad(&body, "stream 1: entry 1: structuredMetadata 1: field "
			  "number 0 at byte 6");
	lt_buf_free(&e);
	lt_buf_free(&body);
}
END_TEST

START_TEST(test_wrong_wire_type)
{
	static const struct {
		const char *entry; /* an entry's bytes, or NULL */
		const char *stream;
		size_t len;
		const char *want;
	} cases[] = {
	    {NULL, "\x08\x01", 2,
	     "stream 1: field 1 (labels) has wire type 0 (varint), expected 2 "
	     "(length-delimited) at byte 2"},
	    {NULL, "\x15\x01\x02\x03\x04", 5,
	     "stream 1: field 2 (entries) has wire type 5 (32-bit), expected 2 "
	     "(length-delimited) at byte 2"},
	    {NULL, "\x1a\x01x", 3,
	     "stream 1: field 3 (hash) has wire type 2 (length-delimited), "
	     "expected 0 (varint) at byte 2"},
	    {"\x11\x01\x02\x03\x04\x05\x06\x07\x08", NULL, 9,
	     "stream 1: entry 1: field 2 (line) has wire type 1 (64-bit), "
	     "expected 2 (length-delimited) at byte 4"},
	    {"\x18\x01", NULL, 2,
	     "stream 1: entry 1: field 3 (structuredMetadata) has wire type 0 "
	     "(varint), expected 2 (length-delimited) at byte 4"},
	    {"\x20\x01", NULL, 2,
	     "stream 1: entry 1: field 4 (parsed) has wire type 0 (varint), "
	     "expected 2 (length-delimited) at byte 4"},
	    {"\x0a\x03\x0a\x01x", NULL, 5,
	     "stream 1: entry 1: timestamp: field 1 (seconds) has wire type 2 "
	     "(length-delimited), expected 0 (varint) at byte 6"},
	    {"\x0a\x05\x15\x01\x02\x03\x04", NULL, 7,
	     "stream 1: entry 1: timestamp: field 2 (nanos) has wire type 5 "
	     "(32-bit), expected 0 (varint) at byte 6"},
	    {"\x1a\x02\x08\x01", NULL, 4,
	     "stream 1: entry 1: structuredMetadata 1: field 1 (name) has wire "
	     "type 0 (varint), expected 2 (length-delimited) at byte 6"},
	    {"\x22\x00\x22\x09\x11\x01\x02\x03\x04\x05\x06\x07\x08", NULL, 13,
	     "stream 1: entry 1: parsed 2: field 2 (value) has wire type 1 "
	     "(64-bit), expected 2 (length-delimited) at byte 8"},
	};
	struct lt_buf body = LT_BUF_INIT, b = LT_BUF_INIT;
	size_t i;

	w_raw(&body, "\x08\x01", 2);
	expect_bad(&body, "field 1 (streams) has wire type 0 (varint), expected "
			  "2 (length-delimited) at byte 0");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		lt_buf_reset(&body);
		lt_buf_reset(&b);
		if (cases[i].entry != NULL) {
			w_raw(&b, cases[i].entry, cases[i].len);
			wrap_entry(&body, &b);
		} else {
			w_raw(&b, cases[i].stream, cases[i].len);
			w_msg(&body, 1, &b);
		}
		expect_bad(&body, cases[i].want);
	}
	lt_buf_free(&b);
	lt_buf_free(&body);
}
END_TEST

/* A valid body of several streams, as the truncation test and the
 * callback tests use it. */
static void
three_streams(struct lt_buf *body)
{
	Logproto__PushRequest *p = mk_push();
	Logproto__StreamAdapter *s;
	Logproto__EntryAdapter *e;

	s = add_stream(p, "{s=\"1\"}", 11);
	e = add_entry(s, mk_ts(1704067200, 5), "one");
	add_md(e, "k", "v");
	add_parsed(e, "p", "q");
	add_entry(s, mk_ts(-3, 999999999), "two");
	s = add_stream(p, "{s=\"2\"}", 0);
	add_entry(s, NULL, "three");
	e = add_entry(s, mk_ts(300, 0), "four");
	add_md(e, "a", "b");
	add_md(e, "c", "");
	s = add_stream(p, "{s=\"3\"}", UINT64_MAX);
	add_entry(s, mk_ts(1, 1), "five");
	pack(p, body);
}

/* Every prefix of a valid body is refused or read exactly as protobuf-c
 * reads it, and the same way each time. */
START_TEST(test_truncation)
{
	struct lt_buf body = LT_BUF_INIT, part = LT_BUF_INIT, ref = LT_BUF_INIT;
	struct rec r;
	char err[256], err2[256], *first;
	size_t n, bad = 0;
	int st, ost;

	three_streams(&body);
	rec_init(&r, 100);
	for (n = 0; n < body.len; n++) {
		lt_buf_reset(&part);
		w_raw(&part, body.data, n);
		/* A copy of exactly n bytes, so valgrind sees any read
		 * past the end. */
		st = run(part.data, part.len, &r, err, sizeof(err));
		ck_assert(st == 0 || st == -1);
		first = strdup((char *)r.out.data);
		ck_assert_ptr_nonnull(first);
		ck_assert_int_eq(run(part.data, part.len, &r, err2, sizeof(err2)),
				 st);
		ck_assert_str_eq(err, err2);
		ck_assert_str_eq((char *)r.out.data, first);
		free(first);
		ost = oracle(&part, &ref);
		ck_assert_int_eq(st, ost);
		if (st == 0)
			ck_assert_str_eq((char *)r.out.data, (char *)ref.data);
		else
			bad++;
	}
	/* Only the cuts between streams are valid. */
	ck_assert_uint_eq(bad, body.len - 3);
	lt_buf_free(&ref);
	lt_buf_free(&part);
	lt_buf_free(&r.out);
	lt_buf_free(&body);
}
END_TEST

START_TEST(test_skip_stream)
{
	struct lt_buf body = LT_BUF_INIT, s = LT_BUF_INIT;
	struct rec r;
	char err[128], want[128];
	size_t at;

	three_streams(&body);
	rec_init(&r, 10);
	r.stream_ret[2] = 1;
	ck_assert_int_eq(run(body.data, body.len, &r, err, sizeof(err)), 0);
	ck_assert_str_eq((char *)r.out.data,
			 "S {s=\"1\"} 2\n"
			 "E 1704067200 5 one 1 k=v\n"
			 "E -3 999999999 two 0\n"
			 "S {s=\"2\"} 2\n"
			 "S {s=\"3\"} 1\n"
			 "E 1 1 five 0\n");
	/* A skipped stream's entries are still checked.  The bad line's
	 * tag follows the stream's tag and length, the labels and the
	 * entry's tag and length. */
	at = body.len + 2 + 11 + 2;
	w_str(&s, 1, "{bad=\"1\"}");
	w_str(&s, 2, "\x12\x05x");
	w_msg(&body, 1, &s);
	r.stream_ret[4] = 1;
	ck_assert_int_eq(run(body.data, body.len, &r, err, sizeof(err)), -1);
	(void)snprintf(want, sizeof(want), "stream 4: entry 1: field 2 (line) "
		       "runs past the end of its message at byte %zu", at);
	ck_assert_str_eq(err, want);
	ck_assert_uint_eq(r.streams, 4);
	lt_buf_free(&s);
	lt_buf_free(&r.out);
	lt_buf_free(&body);
}
END_TEST

START_TEST(test_abort)
{
	struct lt_buf body = LT_BUF_INIT;
	struct rec r;
	char err[128];

	three_streams(&body);
	rec_init(&r, 10);
	r.stream_ret[2] = -1;
	ck_assert_int_eq(run(body.data, body.len, &r, err, sizeof(err)), -2);
	ck_assert_str_eq(err, "stream 2: aborted by the stream callback");
	ck_assert_uint_eq(r.streams, 2);
	ck_assert_uint_eq(r.entries, 2);

	lt_buf_free(&r.out);
	rec_init(&r, 10);
	r.abort_entry = 3;
	ck_assert_int_eq(run(body.data, body.len, &r, err, sizeof(err)), -2);
	ck_assert_str_eq(err, "stream 2: entry 1: aborted by the entry callback");
	ck_assert_uint_eq(r.streams, 2);
	ck_assert_uint_eq(r.entries, 3);
	lt_buf_free(&r.out);
	lt_buf_free(&body);
}
END_TEST

/* A stream's own fields are checked before stream() is called: nothing
 * of a stream with a bad hash reaches the visitor. */
START_TEST(test_stream_checked_first)
{
	struct lt_buf body = LT_BUF_INIT, s = LT_BUF_INIT;
	struct rec r;
	char err[128];

	w_str(&s, 1, "{a=\"b\"}");
	w_str(&s, 2, "\x12\x01x");
	w_str(&s, 3, "not a varint");
	w_msg(&body, 1, &s);
	rec_init(&r, 10);
	ck_assert_int_eq(run(body.data, body.len, &r, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "stream 1: field 3 (hash) has wire type 2 "
			      "(length-delimited), expected 0 (varint) at byte 16");
	ck_assert_uint_eq(r.streams, 0);
	lt_buf_free(&r.out);
	lt_buf_free(&s);
	lt_buf_free(&body);
}
END_TEST

static int
count_entry(void *ctx, const struct lt_pb_entry *e)
{
	size_t *n = ctx;

	(void)e;
	(*n)++;
	return 0;
}

/* No callbacks, a tiny or missing err buffer, many entries. */
START_TEST(test_visitor_edges)
{
	struct lt_pb_visitor none = {NULL, NULL, NULL, 0};
	struct lt_pb_visitor counter = {NULL, count_entry, NULL, 4};
	struct lt_buf body = LT_BUF_INIT, s = LT_BUF_INIT;
	char err[8];
	size_t i, n = 0;

	three_streams(&body);
	ck_assert_int_eq(lt_pb_push_decode(body.data, body.len, &none, NULL, 0), 0);
	for (i = 0; i < 100000; i++)
		w_bytes(&s, 2, "\x12\x01x\x1a\x02\x0a\x00", 7);
	w_msg(&body, 1, &s);
	counter.ctx = &n;
	ck_assert_int_eq(lt_pb_push_decode(body.data, body.len, &counter, err,
					   sizeof(err)), 0);
	ck_assert_uint_eq(n, 100005);
	w_raw(&body, "\x0e", 1);
	ck_assert_int_eq(lt_pb_push_decode(body.data, body.len, &none, err,
					   sizeof(err)), -1);
	ck_assert_str_eq(err, "invalid");
	ck_assert_int_eq(lt_pb_push_decode(body.data, body.len, &none, NULL, 0),
			 -1);
	ck_assert_int_eq(lt_pb_push_decode(body.data, body.len, &none, err, 1), -1);
	ck_assert_str_eq(err, "");
	lt_buf_free(&s);
	lt_buf_free(&body);
}
END_TEST

static Suite *
loki_proto_suite(void)
{
	Suite *s = suite_create("loki_proto");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, NULL, pool_free);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_empty_body);
	tcase_add_test(tc, test_all_fields);
	tcase_add_test(tc, test_line_bytes);
	tcase_add_test(tc, test_metadata_limits);
	tcase_add_test(tc, test_transcript_metadata_cap);
	tcase_add_test(tc, test_empty_messages);
	tcase_add_test(tc, test_reverse_order);
	tcase_add_test(tc, test_repeated_singular);
	tcase_add_test(tc, test_unknown_fields);
	tcase_add_test(tc, test_varint_limits);
	tcase_add_test(tc, test_bad_varints);
	tcase_add_test(tc, test_len_overflow);
	tcase_add_test(tc, test_error_place);
	tcase_add_test(tc, test_wire_types);
	tcase_add_test(tc, test_field_zero);
	tcase_add_test(tc, test_wrong_wire_type);
	tcase_add_test(tc, test_truncation);
	tcase_add_test(tc, test_skip_stream);
	tcase_add_test(tc, test_abort);
	tcase_add_test(tc, test_stream_checked_first);
	tcase_add_test(tc, test_visitor_edges);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(loki_proto_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
