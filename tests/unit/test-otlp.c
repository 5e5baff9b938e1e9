/* Unit tests: OTLP logs read as Loki reads them (otlp.c).  Requests are
 * built with protobuf-c from opentelemetry-proto's files
 * (tests/proto/opentelemetry); what protobuf-c cannot emit (wrong wire
 * types, truncation, unknown fields) is written by hand.  The expected
 * streams and entries follow Loki's pkg/loghttp/push/otlp.go and
 * pcommon's Value.AsString(), worked out by hand. */
#include "config.h"

#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "opentelemetry/proto/collector/logs/v1/logs_service.pb-c.h"
#include "otlp.h"
#include "push-rec.h"

typedef Opentelemetry__Proto__Common__V1__AnyValue AV;
typedef Opentelemetry__Proto__Common__V1__ArrayValue ARR;
typedef Opentelemetry__Proto__Common__V1__KeyValueList KVL;
typedef Opentelemetry__Proto__Common__V1__KeyValue KV;
typedef Opentelemetry__Proto__Common__V1__InstrumentationScope SCOPE;
typedef Opentelemetry__Proto__Resource__V1__Resource RES;
typedef Opentelemetry__Proto__Logs__V1__LogRecord LR;
typedef Opentelemetry__Proto__Logs__V1__ScopeLogs SL;
typedef Opentelemetry__Proto__Logs__V1__ResourceLogs RL;
typedef Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceRequest REQ;

/* 2023-11-14T22:13:20Z; the receiver's clock is a minute later. */
#define T0 1700000000000000000ULL
#define NOW ((int64_t)T0 + 60000000000LL)

/* ---- protobuf-c messages, freed after each test ---- */

#define POOL_MAX 8192
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

static void
pool_free(void)
{
	while (npool > 0)
		free(pool[--npool]);
}

/* n pointers from the arguments, in a pooled array. */
static void **
ptrs(size_t n, va_list ap)
{
	void **a = palloc((n ? n : 1) * sizeof(void *));
	size_t i;

	for (i = 0; i < n; i++)
		a[i] = va_arg(ap, void *);
	return a;
}

static AV *
av(int kind)
{
	AV *v = palloc(sizeof(*v));

	opentelemetry__proto__common__v1__any_value__init(v);
	v->value_case = kind;
	return v;
}

static AV *
av_str(const char *s)
{
	AV *v = av(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE);

	v->string_value = (char *)s;
	return v;
}

static AV *
av_bool(int b)
{
	AV *v = av(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE);

	v->bool_value = b;
	return v;
}

static AV *
av_int(int64_t i)
{
	AV *v = av(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE);

	v->int_value = i;
	return v;
}

static AV *
av_dbl(double d)
{
	AV *v = av(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE);

	v->double_value = d;
	return v;
}

static AV *
av_bytes(const void *p, size_t n)
{
	AV *v = av(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE);

	v->bytes_value.data = (uint8_t *)p;
	v->bytes_value.len = n;
	return v;
}

static AV *
av_arr(size_t n, ...)
{
	AV *v = av(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE);
	ARR *a = palloc(sizeof(*a));
	va_list ap;

	opentelemetry__proto__common__v1__array_value__init(a);
	va_start(ap, n);
	a->values = (AV **)ptrs(n, ap);
	va_end(ap);
	a->n_values = n;
	v->array_value = a;
	return v;
}

static AV *
av_kvl(size_t n, ...)
{
	AV *v = av(OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE);
	KVL *l = palloc(sizeof(*l));
	va_list ap;

	opentelemetry__proto__common__v1__key_value_list__init(l);
	va_start(ap, n);
	l->values = (KV **)ptrs(n, ap);
	va_end(ap);
	l->n_values = n;
	v->kvlist_value = l;
	return v;
}

static KV *
kv(const char *key, AV *value)
{
	KV *k = palloc(sizeof(*k));

	opentelemetry__proto__common__v1__key_value__init(k);
	k->key = (char *)key;
	k->value = value;
	return k;
}

static RES *
res(size_t n, ...)
{
	RES *r = palloc(sizeof(*r));
	va_list ap;

	opentelemetry__proto__resource__v1__resource__init(r);
	va_start(ap, n);
	r->attributes = (KV **)ptrs(n, ap);
	va_end(ap);
	r->n_attributes = n;
	return r;
}

static SCOPE *
scope(const char *name, const char *version, size_t n, ...)
{
	SCOPE *s = palloc(sizeof(*s));
	va_list ap;

	opentelemetry__proto__common__v1__instrumentation_scope__init(s);
	s->name = (char *)name;
	s->version = (char *)version;
	va_start(ap, n);
	s->attributes = (KV **)ptrs(n, ap);
	va_end(ap);
	s->n_attributes = n;
	return s;
}

/* A record at time t (0: none) with a string body (NULL: none). */
static LR *
lr(uint64_t t, const char *body)
{
	LR *r = palloc(sizeof(*r));

	opentelemetry__proto__logs__v1__log_record__init(r);
	r->time_unix_nano = t;
	if (body != NULL)
		r->body = av_str(body);
	return r;
}

static LR *
lr_attrs(LR *r, size_t n, ...)
{
	va_list ap;

	va_start(ap, n);
	r->attributes = (KV **)ptrs(n, ap);
	va_end(ap);
	r->n_attributes = n;
	return r;
}

static SL *
sl(SCOPE *s, size_t n, ...)
{
	SL *l = palloc(sizeof(*l));
	va_list ap;

	opentelemetry__proto__logs__v1__scope_logs__init(l);
	l->scope = s;
	va_start(ap, n);
	l->log_records = (LR **)ptrs(n, ap);
	va_end(ap);
	l->n_log_records = n;
	return l;
}

static RL *
rl(RES *r, size_t n, ...)
{
	RL *l = palloc(sizeof(*l));
	va_list ap;

	opentelemetry__proto__logs__v1__resource_logs__init(l);
	l->resource = r;
	va_start(ap, n);
	l->scope_logs = (SL **)ptrs(n, ap);
	va_end(ap);
	l->n_scope_logs = n;
	return l;
}

/* The packed request of n ResourceLogs, appended to out. */
static void
req(struct lt_buf *out, size_t n, ...)
{
	REQ r;
	va_list ap;
	size_t len;

	opentelemetry__proto__collector__logs__v1__export_logs_service_request__init(&r);
	va_start(ap, n);
	r.resource_logs = (RL **)ptrs(n, ap);
	va_end(ap);
	r.n_resource_logs = n;
	len = protobuf_c_message_get_packed_size(&r.base);
	ck_assert_int_eq(lt_buf_reserve(out, len), 0);
	ck_assert_uint_eq(protobuf_c_message_pack(&r.base, out->data + out->len),
			  len);
	out->len += len;
}

/* ---- running the reader ---- */

static struct lt_limits lim;
static struct lt_push_result result;
static struct rec recd;

static void
setup(void)
{
	lt_limits_defaults(&lim);
	lim.discover_log_levels = 0; /* detected_level is push.c's, tested there */
	memset(&recd, 0, sizeof(recd));
}

static void
teardown(void)
{
	lt_buf_free(&recd.log);
	pool_free();
}

/* Parses body; returns the reader's answer, the sink's log in recd. */
static int
run(const struct lt_buf *body)
{
	struct lt_sink sink = {rec_stream, rec_entry, &recd};

	recd.log.len = 0;
	return lt_push_parse_otlp(body->data, body->len, &lim, NOW, &sink,
				  &result);
}

/* Parses body, expecting it accepted whole with the sink's log want. */
static void
expect_log(struct lt_buf *body, const char *want)
{
	ck_assert_int_eq(run(body), 0);
	ck_assert_str_eq(result.message, "");
	ck_assert_uint_eq(result.rejected, 0);
	ck_assert_str_eq(rec_text(&recd), want);
}

/* Expects the whole request refused with status and message. */
static void
expect_refused(struct lt_buf *body, int status, const char *message)
{
	ck_assert_int_eq(run(body), -1);
	ck_assert_int_eq(result.status, status);
	ck_assert_str_eq(result.message, message);
}

/* ---- the mapping ---- */

START_TEST(test_basic)
{
	struct lt_buf b = LT_BUF_INIT;
	LR *r = lr(T0, "hello");

	r->severity_number = 9;
	r->severity_text = "INFO";
	lr_attrs(r, 1, kv("http.method", av_str("GET")));
	req(&b, 1, rl(res(2, kv("service.name", av_str("api")),
			  kv("host.name", av_str("h1"))),
		      1, sl(scope("lib", "1.0", 0), 1, r)));
	expect_log(&b, "S service_name=api\n"
		       "E 1700000000000000000 hello [host_name=h1,"
		       "http_method=GET,scope_name=lib,scope_version=1.0,"
		       "severity_number=9,severity_text=INFO]\n");
	ck_assert_uint_eq(result.accepted, 1);
	lt_buf_free(&b);
}
END_TEST

START_TEST(test_empty_request)
{
	struct lt_buf b = LT_BUF_INIT;

	expect_log(&b, "");
	/* A resource without records sends nothing. */
	req(&b, 1, rl(res(1, kv("service.name", av_str("a"))), 0));
	expect_log(&b, "");
	lt_buf_free(&b);
}
END_TEST

START_TEST(test_value_types)
{
	static const unsigned char bytes[] = {0x00, 0xff, 0x10};
	struct lt_buf b = LT_BUF_INIT;
	LR *r = lr(T0, "x");

	lr_attrs(r, 19, kv("s", av_str("x")), kv("b", av_bool(1)),
		 kv("i", av_int(-42)), kv("d", av_dbl(1.5)),
		 kv("big", av_dbl(1e21)), kv("small", av_dbl(1e-7)),
		 kv("negz", av_dbl(-0.0)), kv("nan", av_dbl(NAN)),
		 kv("inf", av_dbl(-INFINITY)),
		 kv("f1", av_dbl(1e20)), kv("f2", av_dbl(0.000001)),
		 kv("f3", av_dbl(-2.5e22)),
		 kv("by", av_bytes(bytes, 3)),
		 kv("arr", av_arr(5, av_int(1), av_str("a"), av_bool(1),
				  av(0), av_dbl(1.5))),
		 kv("arr2", av_arr(3, av_kvl(2, kv("z", av_int(1)),
					     kv("a", av_str("<b>&"))),
				   av_bytes("hi", 2), av_bytes("", 0))),
		 kv("arrnan", av_arr(1, av_dbl(NAN))),
		 kv("kv", av_kvl(2, kv("b", av_int(1)),
				 kv("a", av_kvl(1, kv("c", av_str("<&>")))))),
		 kv("empty", av(0)),
		 kv("eb", av_bytes("", 0)));
	req(&b, 1, rl(res(0), 1, sl(NULL, 1, r)));
	expect_log(&b, "S service_name=unknown_service\n"
		       "E 1700000000000000000 x ["
		       "arr=[1,\"a\",true,null,1.5],"
		       "arr2=[{\"a\":\"\\u003cb\\u003e\\u0026\",\"z\":1},"
		       "\"aGk=\",null],"
		       "arrnan=,"
		       "b=true,big=1e+21,by=AP8Q,d=1.5,eb=,empty=,"
		       "f1=100000000000000000000,f2=0.000001,f3=-2.5e+22,"
		       "i=-42,inf=json: unsupported value: -Inf,"
		       "kv_a_c=<&>,kv_b=1,"
		       "nan=json: unsupported value: NaN,negz=-0,s=x,"
		       "small=1e-7]\n");
	lt_buf_free(&b);
}
END_TEST

START_TEST(test_bodies)
{
	struct lt_buf b = LT_BUF_INIT;
	LR *r[11];
	size_t i;

	for (i = 0; i < 11; i++)
		r[i] = lr(T0 + i, NULL);
	r[0]->body = av_str("s");
	r[1]->body = av_bool(0);
	r[2]->body = av_int(7);
	r[3]->body = av_dbl(0.1);
	r[4]->body = av_bytes("hi", 2);
	r[5]->body = av_arr(2, av_int(1), av_str("x"));
	r[6]->body = av_kvl(2, kv("k", av_str("v")), kv("a", av_arr(0)));
	r[7]->body = av(0);
	/* r[8]: no body */
	r[9]->body = av_kvl(0);
	r[10]->body = av_dbl(123456789.0);
	req(&b, 1, rl(res(0), 1, sl(NULL, 11, r[0], r[1], r[2], r[3], r[4],
				   r[5], r[6], r[7], r[8], r[9], r[10])));
	expect_log(&b, "S service_name=unknown_service\n"
		       "E 1700000000000000000 s\n"
		       "E 1700000000000000001 false\n"
		       "E 1700000000000000002 7\n"
		       "E 1700000000000000003 0.1\n"
		       "E 1700000000000000004 aGk=\n"
		       "E 1700000000000000005 [1,\"x\"]\n"
		       "E 1700000000000000006 {\"a\":[],\"k\":\"v\"}\n"
		       "E 1700000000000000007 \n"
		       "E 1700000000000000008 \n"
		       "E 1700000000000000009 {}\n"
		       "E 1700000000000000010 123456789\n");
	lt_buf_free(&b);
}
END_TEST

START_TEST(test_times)
{
	struct lt_buf b = LT_BUF_INIT;
	LR *both = lr(T0, "both"), *obs = lr(0, "observed"), *none = lr(0, "none");
	LR *huge = lr(UINT64_MAX, "huge");

	both->observed_time_unix_nano = T0 + 5;
	obs->observed_time_unix_nano = T0 + 7;
	req(&b, 1, rl(res(0), 1, sl(NULL, 4, both, obs, none, huge)));
	ck_assert_int_eq(run(&b), 0);
	ck_assert_str_eq(rec_text(&recd),
			 "S service_name=unknown_service\n"
			 "E 1700000000000000000 both "
			 "[observed_timestamp=1700000000000000005]\n"
			 "E 1700000000000000007 observed\n"
			 "E 1700000060000000000 none\n");
	/* Past INT64_MAX: rejected as too late, not wrapped to 1677. */
	ck_assert_uint_eq(result.accepted, 3);
	ck_assert_uint_eq(result.rejected, 1);
	ck_assert_str_eq(result.message,
			 "resource 1 {service_name=\"unknown_service\"}: "
			 "log record 4: timestamp "
			 "2262-04-11T23:47:16.854775807Z is after "
			 "2106-02-07T06:28:15Z, the end of ClickHouse's "
			 "DateTime");
	lt_buf_free(&b);
}
END_TEST

/* time_unix_nano and observed_time_unix_nano are nanoseconds, 0 being
 * unset: below 1e17 (1973-03-03T09:46:40Z) the record is rejected,
 * naming the unit the number looks like (worked out by hand). */
START_TEST(test_time_units)
{
	struct lt_buf b = LT_BUF_INIT;
	LR *sec = lr(1700000000, "s"), *ms = lr(1700000000000ULL, "ms");
	LR *us = lr(99999999999999999ULL, "us"), *edge = lr(100000000000000000ULL, "e");
	LR *obs = lr(0, "o"), *obs_both = lr(T0, "ob");

	obs->observed_time_unix_nano = 1700000000000000ULL;
	obs_both->observed_time_unix_nano = 1700000000;
	req(&b, 1, rl(res(0), 1, sl(NULL, 6, sec, ms, us, edge, obs, obs_both)));
	ck_assert_int_eq(run(&b), 0);
	ck_assert_str_eq(rec_text(&recd), "S service_name=unknown_service\n"
					  "E 100000000000000000 e\n");
	ck_assert_uint_eq(result.accepted, 1);
	ck_assert_uint_eq(result.rejected, 5);
	ck_assert_str_eq(result.message,
	    "resource 1 {service_name=\"unknown_service\"}: log record 1: "
	    "time_unix_nano 1700000000 looks like seconds, not nanoseconds "
	    "since 1970 (it would be 1970-01-01T00:00:01.7Z); send "
	    "1700000000000000000\n"
	    "resource 1 {service_name=\"unknown_service\"}: log record 2: "
	    "time_unix_nano 1700000000000 looks like milliseconds, not "
	    "nanoseconds since 1970 (it would be 1970-01-01T00:28:20Z); send "
	    "1700000000000000000\n"
	    "resource 1 {service_name=\"unknown_service\"}: log record 3: "
	    "time_unix_nano 99999999999999999 looks like microseconds, not "
	    "nanoseconds since 1970 (it would be "
	    "1973-03-03T09:46:39.999999999Z)\n"
	    "resource 1 {service_name=\"unknown_service\"}: log record 5: "
	    "observed_time_unix_nano 1700000000000000 looks like "
	    "microseconds, not nanoseconds since 1970 (it would be "
	    "1970-01-20T16:13:20Z); send 1700000000000000000\n"
	    "resource 1 {service_name=\"unknown_service\"}: log record 6: "
	    "observed_time_unix_nano 1700000000 looks like seconds, not "
	    "nanoseconds since 1970 (it would be 1970-01-01T00:00:01.7Z); "
	    "send 1700000000000000000");
	lt_buf_free(&b);
}
END_TEST

START_TEST(test_ids_flags)
{
	static const unsigned char trace[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
						11, 12, 13, 14, 15, 16};
	static const unsigned char span[8] = {0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1};
	static const unsigned char zero[16];
	struct lt_buf b = LT_BUF_INIT;
	LR *r = lr(T0, "a"), *z = lr(T0, "b");

	r->trace_id.data = (uint8_t *)trace;
	r->trace_id.len = 16;
	r->span_id.data = (uint8_t *)span;
	r->span_id.len = 8;
	r->flags = 1;
	r->dropped_attributes_count = 3;
	r->severity_number = 17;
	r->event_name = "ev"; /* Loki ignores it */
	/* All zero: no id, as pcommon's IsEmpty() says. */
	z->trace_id.data = (uint8_t *)zero;
	z->trace_id.len = 16;
	z->span_id.data = (uint8_t *)zero;
	z->span_id.len = 8;
	req(&b, 1, rl(res(0), 1, sl(NULL, 2, r, z)));
	expect_log(&b, "S service_name=unknown_service\n"
		       "E 1700000000000000000 a [dropped_attributes_count=3,"
		       "flags=1,severity_number=17,"
		       "span_id=deadbeef00000001,"
		       "trace_id=0102030405060708090a0b0c0d0e0f10]\n"
		       "E 1700000000000000000 b\n");
	lt_buf_free(&b);
}
END_TEST

START_TEST(test_bad_ids)
{
	struct lt_buf b = LT_BUF_INIT;
	LR *ok = lr(T0, "a"), *r = lr(T0, "b");

	r->trace_id.data = (uint8_t *)"abc";
	r->trace_id.len = 3;
	req(&b, 1, rl(res(0), 2, sl(NULL, 0), sl(NULL, 2, ok, r)));
	expect_refused(&b, 400, "malformed OTLP request: resource_logs[0]."
				"scope_logs[1].log_records[1]: trace_id is 3 "
				"bytes, not 16");
	b.len = 0;
	r->trace_id.len = 0;
	r->span_id.data = (uint8_t *)"0123456789";
	r->span_id.len = 10;
	req(&b, 1, rl(res(0), 2, sl(NULL, 0), sl(NULL, 2, ok, r)));
	expect_refused(&b, 400, "malformed OTLP request: resource_logs[0]."
				"scope_logs[1].log_records[1]: span_id is 10 "
				"bytes, not 8");
	lt_buf_free(&b);
}
END_TEST

START_TEST(test_scope_fields)
{
	struct lt_buf b = LT_BUF_INIT;
	SCOPE *s = scope("io.lib", "", 1, kv("lib.attr", av_str("x")));

	s->dropped_attributes_count = 2;
	req(&b, 1, rl(res(0), 2, sl(s, 1, lr(T0, "a")),
		      sl(scope("", "2", 0), 1, lr(T0, "b"))));
	expect_log(&b, "S service_name=unknown_service\n"
		       "E 1700000000000000000 a [lib_attr=x,"
		       "scope_dropped_attributes_count=2,scope_name=io.lib]\n"
		       "E 1700000000000000000 b [scope_version=2]\n");
	lt_buf_free(&b);
}
END_TEST

START_TEST(test_index_labels)
{
	struct lt_buf b = LT_BUF_INIT;
	RES *r = res(4, kv("service.name", av_str("a")),
		     kv("k8s.pod.name", av_str("p")), kv("team", av_str("t")),
		     kv("k8s.namespace.name", av_str("")));

	/* The default list: k8s.pod.name is a label, team is not, an empty
	 * value leaves its label out. */
	req(&b, 1, rl(r, 1, sl(NULL, 1, lr(T0, "x"))));
	expect_log(&b, "S k8s_pod_name=p,service_name=a\n"
		       "E 1700000000000000000 x [team=t]\n");
	/* A list of one's own. */
	lim.otlp_index_labels = "service.name, team";
	expect_log(&b, "S service_name=a,team=t\n"
		       "E 1700000000000000000 x [k8s_namespace_name=,"
		       "k8s_pod_name=p]\n");
	/* A kvlist index attribute makes one label per key. */
	lim.otlp_index_labels = "svc";
	b.len = 0;
	req(&b, 1, rl(res(1, kv("svc", av_kvl(2, kv("x", av_str("1")),
					       kv("y.z", av_int(2))))),
		      1, sl(NULL, 1, lr(T0, "x"))));
	expect_log(&b, "S service_name=unknown_service,svc_x=1,svc_y_z=2\n"
		       "E 1700000000000000000 x\n");
	lt_buf_free(&b);
}
END_TEST

START_TEST(test_drop_list)
{
	struct lt_buf b = LT_BUF_INIT;

	lim.otlp_drop_attributes = "http.*, secret";
	req(&b, 1, rl(res(2, kv("service.name", av_str("a")),
			  kv("secret", av_str("r"))),
		      1, sl(scope("s", "", 1, kv("http.x", av_int(1))), 1,
			    lr_attrs(lr(T0, "x"), 4,
				     kv("http.method", av_str("GET")),
				     kv("secret", av_str("s")),
				     kv("http", av_str("kept: no dot")),
				     kv("keep", av_str("k"))))));
	expect_log(&b, "S service_name=a\n"
		       "E 1700000000000000000 x [http=kept: no dot,keep=k,"
		       "scope_name=s]\n");
	/* Dropping service.name drops the label but it still counts as
	 * there: no unknown_service, as in Loki, and so no labels. */
	lim.otlp_drop_attributes = "service.name";
	ck_assert_int_eq(run(&b), 0);
	ck_assert_str_eq(rec_text(&recd), "");
	ck_assert_uint_eq(result.rejected, 1);
	ck_assert_str_eq(result.message, "resource 1: at least one label "
					 "pair is required per stream");
	lt_buf_free(&b);
}
END_TEST

START_TEST(test_service_name)
{
	struct lt_buf b = LT_BUF_INIT;

	/* None, or an empty one: unknown_service. */
	req(&b, 3, rl(res(1, kv("host.name", av_str("h"))), 1,
		      sl(NULL, 1, lr(T0, "a"))),
	    rl(res(1, kv("service.name", av_str(""))), 1,
	       sl(NULL, 1, lr(T0, "b"))),
	    /* Loki's discover_service_name: the first index label named
	     * in its list, in the resource's order. */
	    rl(res(3, kv("k8s.pod.name", av_str("p")),
		   kv("k8s.container.name", av_str("c")),
		   kv("k8s.job.name", av_str("j"))),
	       1, sl(NULL, 1, lr(T0, "c"))));
	expect_log(&b, "S service_name=unknown_service\n"
		       "E 1700000000000000000 a [host_name=h]\n"
		       "S service_name=unknown_service\n"
		       "E 1700000000000000000 b\n"
		       "S k8s_container_name=c,k8s_job_name=j,k8s_pod_name=p,"
		       "service_name=c\n"
		       "E 1700000000000000000 c\n");
	/* A service.name that is not a string still counts. */
	b.len = 0;
	req(&b, 1, rl(res(2, kv("service.name", av_int(0)),
			  kv("k8s.container.name", av_str("c"))),
		      1, sl(NULL, 1, lr(T0, "d"))));
	expect_log(&b, "S k8s_container_name=c,service_name=0\n"
		       "E 1700000000000000000 d\n");
	lt_buf_free(&b);
}
END_TEST

START_TEST(test_collisions)
{
	struct lt_buf b = LT_BUF_INIT;
	LR *r = lr(T0, "x");

	r->severity_text = "WARN";
	lr_attrs(r, 4, kv("a-b", av_str("record")),
		 kv("severity_text", av_str("attribute")),
		 kv("d.d", av_str("first")), kv("d_d", av_str("second")));
	req(&b, 1, rl(res(3, kv("a.b", av_str("resource")),
			  kv("x", av_str("resource")),
			  kv("y", av_str("resource"))),
		      1, sl(scope("", "", 2, kv("a_b", av_str("scope")),
				  kv("x", av_str("scope"))),
			    1, r)));
	/* The record's over its scope's over its resource's; within one,
	 * the later; severity_text the field over the attribute. */
	expect_log(&b, "S service_name=unknown_service\n"
		       "E 1700000000000000000 x [a_b=record,d_d=second,"
		       "severity_text=WARN,x=scope,y=resource]\n");
	lt_buf_free(&b);
}
END_TEST

START_TEST(test_names)
{
	struct lt_buf b = LT_BUF_INIT;

	/* otlptranslator.NormalizeLabel(): a leading digit gets "key_", a
	 * leading single '_' "key"; "__" stays; each non-ASCII character
	 * is one '_'.  An empty key is left out. */
	req(&b, 1, rl(res(0), 1, sl(NULL, 1, lr_attrs(lr(T0, "x"), 6,
		kv("1a", av_str("1")), kv("_b", av_str("2")),
		kv("__c", av_str("3")), kv("caf\xc3\xa9", av_str("4")),
		kv(".d", av_str("5")), kv("", av_str("6"))))));
	expect_log(&b, "S service_name=unknown_service\n"
		       "E 1700000000000000000 x [__c=3,caf_=4,key_1a=1,"
		       "key_b=2,key_d=5]\n");
	lt_buf_free(&b);
}
END_TEST

/* ---- limits ---- */

START_TEST(test_line_limit)
{
	struct lt_buf b = LT_BUF_INIT;

	lim.max_line_size = 10;
	req(&b, 1, rl(res(0), 1, sl(NULL, 3, lr(T0, "short"),
				   lr(T0, "this line is too long"),
				   lr(T0, "fine"))));
	ck_assert_int_eq(run(&b), 0);
	ck_assert_str_eq(rec_text(&recd), "S service_name=unknown_service\n"
					  "E 1700000000000000000 short\n"
					  "E 1700000000000000000 fine\n");
	ck_assert_uint_eq(result.accepted, 2);
	ck_assert_uint_eq(result.rejected, 1);
	ck_assert_str_eq(result.message,
			 "resource 1 {service_name=\"unknown_service\"}: "
			 "log record 2: line too long (21 bytes, limit 10)");
	/* A body that is not a string is made only up to the limit. */
	b.len = 0;
	{
		LR *fits = lr(T0, NULL), *over = lr(T0, NULL);

		fits->body = av_arr(4, av_int(1), av_int(2), av_int(3),
				    av_int(4)); /* [1,2,3,4]: 9 bytes */
		over->body = av_kvl(2, kv("key", av_str("value")),
				    kv("k2", av_int(1)));
		req(&b, 1, rl(res(0), 1, sl(NULL, 2, fits, over)));
	}
	ck_assert_int_eq(run(&b), 0);
	ck_assert_str_eq(rec_text(&recd), "S service_name=unknown_service\n"
					  "E 1700000000000000000 [1,2,3,4]\n");
	ck_assert_str_eq(result.message,
			 "resource 1 {service_name=\"unknown_service\"}: "
			 "log record 2: line too long (more than 10 bytes, "
			 "limit 10)");
	lt_buf_free(&b);
}
END_TEST

START_TEST(test_label_limit)
{
	struct lt_buf b = LT_BUF_INIT;

	lim.max_label_names = 2;
	req(&b, 2, rl(res(3, kv("service.name", av_str("a")),
			  kv("k8s.pod.name", av_str("p")),
			  kv("k8s.namespace.name", av_str("n"))),
		      1, sl(NULL, 2, lr(T0, "x"), lr(T0, "y"))),
	    rl(res(1, kv("service.name", av_str("b"))), 1,
	       sl(NULL, 1, lr(T0, "z"))));
	ck_assert_int_eq(run(&b), 0);
	ck_assert_str_eq(rec_text(&recd), "S service_name=b\n"
					  "E 1700000000000000000 z\n");
	ck_assert_uint_eq(result.accepted, 1);
	ck_assert_uint_eq(result.rejected, 2);
	ck_assert_str_eq(result.message,
			 "resource 1: too many labels (3, limit 2)");
	lt_buf_free(&b);
}
END_TEST

START_TEST(test_metadata_limits)
{
	struct lt_buf b = LT_BUF_INIT;

	/* Loki counts every pair, a replaced one too. */
	lim.max_metadata_entries = 2;
	req(&b, 1, rl(res(1, kv("r", av_str("1"))), 1,
		      sl(NULL, 2, lr_attrs(lr(T0, "ok"), 1, kv("a", av_str("2"))),
			 lr_attrs(lr(T0, "no"), 2, kv("a", av_str("2")),
				  kv("r", av_str("3"))))));
	ck_assert_int_eq(run(&b), 0);
	ck_assert_str_eq(rec_text(&recd), "S service_name=unknown_service\n"
					  "E 1700000000000000000 ok [a=2,r=1]\n");
	ck_assert_str_eq(result.message,
			 "resource 1 {service_name=\"unknown_service\"}: "
			 "log record 2: too many structured metadata items "
			 "(3, limit 2)");
	lt_buf_free(&b);
	lt_limits_defaults(&lim);
	lim.discover_log_levels = 0;
	lim.max_metadata_size = 10;
	b = (struct lt_buf)LT_BUF_INIT;
	req(&b, 1, rl(res(0), 1,
		      sl(NULL, 2, lr_attrs(lr(T0, "ok"), 1, kv("a", av_int(1234))),
			 lr_attrs(lr(T0, "no"), 1,
				  kv("a", av_arr(5, av_int(1), av_int(2),
						 av_int(3), av_int(4),
						 av_int(5)))))));
	ck_assert_int_eq(run(&b), 0);
	ck_assert_str_eq(rec_text(&recd), "S service_name=unknown_service\n"
					  "E 1700000000000000000 ok [a=1234]\n");
	ck_assert_str_eq(result.message,
			 "resource 1 {service_name=\"unknown_service\"}: "
			 "log record 2: structured metadata is too large "
			 "(12 bytes, limit 10)");
	lt_buf_free(&b);
}
END_TEST

START_TEST(test_max_entries)
{
	struct lt_buf b = LT_BUF_INIT;

	lim.max_entries_per_push = 2;
	req(&b, 2, rl(res(0), 1, sl(NULL, 2, lr(T0, "a"), lr(T0, "b"))),
	    rl(res(0), 1, sl(NULL, 1, lr(T0, "c"))));
	ck_assert_int_eq(run(&b), -1);
	ck_assert_int_eq(result.status, 413);
	ck_assert_str_eq(result.message,
			 "resource 2 {service_name=\"unknown_service\"}: "
			 "log record 1: more than 2 entries in one push "
			 "(max_entries_per_push)");
	lt_buf_free(&b);
}
END_TEST

/* ---- malformed requests ---- */

static void
w_tag(struct lt_buf *b, uint32_t num, unsigned wt)
{
	ck_assert_int_eq(lt_buf_append_varint(b, (uint64_t)num << 3 | wt), 0);
}

static void
w_msg(struct lt_buf *b, uint32_t num, const struct lt_buf *sub)
{
	w_tag(b, num, 2);
	ck_assert_int_eq(lt_buf_append_string(b, sub->data, sub->len), 0);
}

START_TEST(test_wire_errors)
{
	struct lt_buf b = LT_BUF_INIT, rec = LT_BUF_INIT, s = LT_BUF_INIT,
		      r = LT_BUF_INIT;

	/* resource_logs as a varint. */
	w_tag(&b, 1, 0);
	ck_assert_int_eq(lt_buf_append_byte(&b, 1), 0);
	expect_refused(&b, 400, "malformed OTLP request: field 1 "
				"(resource_logs) has wire type 0 (varint), "
				"expected 2 (length-delimited) at byte 0");
	/* A group. */
	b.len = 0;
	w_tag(&b, 1, 3);
	expect_refused(&b, 400, "malformed OTLP request: wire type 3 (group) "
				"of field 1 (resource_logs) is not supported");
	/* Truncated: the last byte of a valid request cut off. */
	b.len = 0;
	req(&b, 1, rl(res(0), 1, sl(NULL, 1, lr(T0, "hello"))));
	b.len--;
	expect_refused(&b, 400, "malformed OTLP request: field 1 "
				"(resource_logs) runs past the end of its "
				"message at byte 0");
	/* A record's time as a varint, deep inside. */
	b.len = 0;
	w_tag(&rec, 1, 0);
	ck_assert_int_eq(lt_buf_append_byte(&rec, 5), 0);
	w_msg(&s, 2, &rec);
	w_msg(&r, 2, &s);
	w_msg(&b, 1, &r);
	expect_refused(&b, 400, "malformed OTLP request: resource_logs[0]."
				"scope_logs[0].log_records[0]: field 1 "
				"(time_unix_nano) has wire type 0 (varint), "
				"expected 1 (64-bit) at byte 6");
	lt_buf_free(&b);
	lt_buf_free(&rec);
	lt_buf_free(&s);
	lt_buf_free(&r);
}
END_TEST

START_TEST(test_unknown_fields)
{
	struct lt_buf b = LT_BUF_INIT;

	req(&b, 1, rl(res(1, kv("service.name", av_str("a"))), 1,
		      sl(NULL, 1, lr(T0, "x"))));
	/* Field 15 as a varint, 64-bit, 32-bit and bytes: skipped. */
	w_tag(&b, 15, 0);
	ck_assert_int_eq(lt_buf_append_byte(&b, 7), 0);
	w_tag(&b, 15, 1);
	ck_assert_int_eq(lt_buf_append(&b, "12345678", 8), 0);
	w_tag(&b, 15, 5);
	ck_assert_int_eq(lt_buf_append(&b, "1234", 4), 0);
	w_tag(&b, 15, 2);
	ck_assert_int_eq(lt_buf_append_string(&b, "zz", 2), 0);
	expect_log(&b, "S service_name=a\nE 1700000000000000000 x\n");
	lt_buf_free(&b);
}
END_TEST

/* An attribute whose value nests depth AnyValues: arrays in arrays. */
static AV *
nested(int depth)
{
	return depth == 1 ? av_int(1) : av_arr(1, nested(depth - 1));
}

START_TEST(test_nesting)
{
	struct lt_buf b = LT_BUF_INIT;
	char want[256];
	int i, n;

	req(&b, 1, rl(res(0), 1, sl(NULL, 1, lr_attrs(lr(T0, "x"), 1,
		kv("deep", nested(LT_OTLP_MAX_DEPTH))))));
	ck_assert_int_eq(run(&b), 0);
	n = snprintf(want, sizeof(want), "S service_name=unknown_service\n"
		     "E 1700000000000000000 x [deep=");
	for (i = 1; i < LT_OTLP_MAX_DEPTH; i++)
		want[n++] = '[';
	want[n++] = '1';
	for (i = 1; i < LT_OTLP_MAX_DEPTH; i++)
		want[n++] = ']';
	(void)snprintf(want + n, sizeof(want) - (size_t)n, "]\n");
	ck_assert_str_eq(rec_text(&recd), want);
	b.len = 0;
	req(&b, 1, rl(res(0), 1, sl(NULL, 1, lr_attrs(lr(T0, "x"), 1,
		kv("deep", nested(LT_OTLP_MAX_DEPTH + 1))))));
	ck_assert_int_eq(run(&b), -1);
	ck_assert_int_eq(result.status, 400);
	ck_assert_ptr_nonnull(strstr(result.message,
				     "values nest deeper than 32 levels"));
	ck_assert_ptr_nonnull(strstr(result.message,
				     "log_records[0].attributes[0].value."
				     "array_value.values[0]"));
	/* A dropped attribute is checked all the same. */
	lim.otlp_drop_attributes = "deep";
	ck_assert_int_eq(run(&b), -1);
	ck_assert_int_eq(result.status, 400);
	lt_buf_free(&b);
}
END_TEST

START_TEST(test_list_check)
{
	char err[128];

	ck_assert_int_eq(lt_otlp_list_check("service.name, k8s.pod.name", 0,
					    err, sizeof(err)), 0);
	ck_assert_int_eq(lt_otlp_list_check("", 0, err, sizeof(err)), 0);
	ck_assert_int_eq(lt_otlp_list_check("http.*", 1, err, sizeof(err)), 0);
	ck_assert_int_eq(lt_otlp_list_check("http.*", 0, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "\"http.*\": '*' is not allowed here");
	ck_assert_int_eq(lt_otlp_list_check("a*b", 1, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "\"a*b\": '*' may only end a name");
}
END_TEST

static Suite *
otlp_suite(void)
{
	Suite *s = suite_create("otlp");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_basic);
	tcase_add_test(tc, test_empty_request);
	tcase_add_test(tc, test_value_types);
	tcase_add_test(tc, test_bodies);
	tcase_add_test(tc, test_times);
	tcase_add_test(tc, test_time_units);
	tcase_add_test(tc, test_ids_flags);
	tcase_add_test(tc, test_bad_ids);
	tcase_add_test(tc, test_scope_fields);
	tcase_add_test(tc, test_index_labels);
	tcase_add_test(tc, test_drop_list);
	tcase_add_test(tc, test_service_name);
	tcase_add_test(tc, test_collisions);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_line_limit);
	tcase_add_test(tc, test_label_limit);
	tcase_add_test(tc, test_metadata_limits);
	tcase_add_test(tc, test_max_entries);
	tcase_add_test(tc, test_wire_errors);
	tcase_add_test(tc, test_unknown_fields);
	tcase_add_test(tc, test_nesting);
	tcase_add_test(tc, test_list_check);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(otlp_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
