/* Unit tests: OTLP's JSON encoding rewritten as protobuf, and the
 * answers (ExportLogsServiceResponse, google.rpc.Status) in both
 * encodings (otlp_json.c).  The expected protobuf is built by a small
 * encoder of its own here, field by field, from the numbers in
 * opentelemetry-proto's .proto files; the expected JSON answers are
 * written out by hand from the proto3 JSON mapping. */
#include "config.h"

#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "otlp.h"

/* ---- an independent protobuf encoder for the expected bytes ---- */

struct pb {
	unsigned char b[8192];
	size_t n;
};

static void
pb_raw(struct pb *p, const void *d, size_t n)
{
	ck_assert_uint_le(p->n + n, sizeof(p->b));
	if (n > 0)
		memcpy(p->b + p->n, d, n);
	p->n += n;
}

static void
pb_var(struct pb *p, uint64_t v)
{
	unsigned char c;

	do {
		c = v & 0x7f;
		v >>= 7;
		if (v != 0)
			c |= 0x80;
		pb_raw(p, &c, 1);
	} while (v != 0);
}

static void
f_var(struct pb *p, unsigned f, uint64_t v)
{
	pb_var(p, (uint64_t)f << 3);
	pb_var(p, v);
}

static void
f_fix64(struct pb *p, unsigned f, uint64_t v)
{
	unsigned char b[8];
	int i;

	for (i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	pb_var(p, (uint64_t)f << 3 | 1);
	pb_raw(p, b, 8);
}

static void
f_fix32(struct pb *p, unsigned f, uint32_t v)
{
	unsigned char b[4];
	int i;

	for (i = 0; i < 4; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	pb_var(p, (uint64_t)f << 3 | 5);
	pb_raw(p, b, 4);
}

static void
f_len(struct pb *p, unsigned f, const void *d, size_t n)
{
	pb_var(p, (uint64_t)f << 3 | 2);
	pb_var(p, n);
	pb_raw(p, d, n);
}

static void
f_str(struct pb *p, unsigned f, const char *s)
{
	f_len(p, f, s, strlen(s));
}

static void
f_msg(struct pb *p, unsigned f, const struct pb *m)
{
	f_len(p, f, m->b, m->n);
}

static void
f_double(struct pb *p, unsigned f, double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	f_fix64(p, f, u);
}

/* A KeyValue whose value is the AnyValue any. */
static void
f_kv(struct pb *p, unsigned f, const char *key, const struct pb *any)
{
	struct pb kv = {{0}, 0};

	f_str(&kv, 1, key);
	f_msg(&kv, 2, any);
	f_msg(p, f, &kv);
}

/* An AnyValue holding a string. */
static struct pb
any_str(const char *s)
{
	struct pb a = {{0}, 0};

	f_str(&a, 1, s);
	return a;
}

/* The request of one resource, one scope and the log record rec. */
static struct pb
wrap(const struct pb *rec)
{
	struct pb sl = {{0}, 0}, rl = {{0}, 0}, req = {{0}, 0};

	f_msg(&sl, 2, rec);
	f_msg(&rl, 2, &sl);
	f_msg(&req, 1, &rl);
	return req;
}

/* ---- running the converter ---- */

/* s with ' for ", so that the JSON in the tests reads easily. */
static const char *
jq(const char *s)
{
	static char buf[65536];
	size_t i;

	ck_assert_uint_lt(strlen(s), sizeof(buf));
	for (i = 0; s[i] != '\0'; i++)
		buf[i] = s[i] == '\'' ? '"' : s[i];
	buf[i] = '\0';
	return buf;
}

/* The request of one resource and one scope around the records. */
static const char *
jrec(const char *records)
{
	static char buf[65536];

	(void)snprintf(buf, sizeof(buf),
		       "{'resourceLogs':[{'scopeLogs':[{'logRecords':[%s]}]}]}",
		       records);
	return jq(buf);
}

static void
expect_pb(const char *json, const struct pb *want)
{
	struct lt_buf out = LT_BUF_INIT;
	char err[512] = "";
	size_t i;
	int rc;

	rc = lt_otlp_json_to_proto(json, strlen(json), &out, err, sizeof(err));
	ck_assert_msg(rc == 0, "rc %d: %s for %s", rc, err, json);
	for (i = 0; i < out.len && i < want->n; i++)
		ck_assert_msg(out.data[i] == want->b[i],
			      "byte %zu: %02x, expected %02x, for %s", i,
			      out.data[i], want->b[i], json);
	ck_assert_uint_eq(out.len, want->n);
	lt_buf_free(&out);
}

static void
expect_err(const char *json, const char *msg)
{
	struct lt_buf out = LT_BUF_INIT;
	char err[512] = "";
	int rc;

	ck_assert_int_eq(lt_buf_append(&out, "keep", 4), 0);
	rc = lt_otlp_json_to_proto(json, strlen(json), &out, err, sizeof(err));
	ck_assert_msg(rc == -1, "rc %d for %s", rc, json);
	ck_assert_str_eq(err, msg);
	/* What was in out before stays, and nothing more. */
	ck_assert_uint_eq(out.len, 4);
	ck_assert_int_eq(memcmp(out.data, "keep", 4), 0);
	lt_buf_free(&out);
}

/* An error in the only log record of a request built by jrec(). */
static void
expect_rec_err(const char *record, const char *msg)
{
	char full[8192], shown[8192];
	const char *colon;
	size_t plen;

	(void)snprintf(full, sizeof(full),
		       "resourceLogs[0].scopeLogs[0].logRecords[0]%s", msg);
	/* A path over 200 bytes is shown as its first and last 100. */
	colon = strstr(full, ": ");
	ck_assert_ptr_nonnull(colon);
	plen = (size_t)(colon - full);
	if (plen > 200)
		(void)snprintf(shown, sizeof(shown), "%.100s...%s", full,
			       full + plen - 100);
	else
		(void)snprintf(shown, sizeof(shown), "%s", full);
	expect_err(jrec(record), shown);
}

/* The record whose body is the AnyValue JSON any. */
static const char *
jbody(const char *any)
{
	static char buf[8192];

	(void)snprintf(buf, sizeof(buf), "{'body':%s}", any);
	return jrec(buf);
}

/* The request whose one record has the AnyValue any as its body. */
static struct pb
pb_body(const struct pb *any)
{
	struct pb rec = {{0}, 0};

	f_msg(&rec, 5, any);
	return wrap(&rec);
}

static void
expect_body(const char *json_any, const struct pb *any)
{
	struct pb want = pb_body(any);

	expect_pb(jbody(json_any), &want);
}

/* ---- the whole request ---- */

static struct pb
full_request(void)
{
	static const unsigned char trace[16] = {
		0x5b, 0x8e, 0xff, 0x79, 0x08, 0x7a, 0x36, 0xab,
		0x00, 0x01, 0x02, 0x03, 0xc4, 0xd5, 0xe6, 0xf7};
	static const unsigned char span[8] = {0xeb, 0xa4, 0x17, 0x7b,
					      0xcd, 0x3d, 0x10, 0x99};
	struct pb res = {{0}, 0}, sc = {{0}, 0}, rec = {{0}, 0};
	struct pb sl = {{0}, 0}, rl = {{0}, 0}, req = {{0}, 0};
	struct pb a;

	a = any_str("api");
	f_kv(&res, 1, "service.name", &a);
	f_var(&res, 2, 2);
	f_str(&sc, 1, "lib");
	f_str(&sc, 2, "1.2");
	a = any_str("b");
	f_kv(&sc, 3, "a", &a);
	f_var(&sc, 4, 1);
	f_fix64(&rec, 1, UINT64_C(1700000000000000001));
	f_var(&rec, 2, 9);
	f_str(&rec, 3, "INFO");
	a = any_str("hello");
	f_msg(&rec, 5, &a);
	a.n = 0;
	f_var(&a, 3, 42);
	f_kv(&rec, 6, "n", &a);
	f_var(&rec, 7, 3);
	f_fix32(&rec, 8, 1);
	f_len(&rec, 9, trace, sizeof(trace));
	f_len(&rec, 10, span, sizeof(span));
	f_fix64(&rec, 11, UINT64_C(1700000000000000002));
	f_str(&rec, 12, "ev");
	f_msg(&sl, 1, &sc);
	f_msg(&sl, 2, &rec);
	f_str(&sl, 3, "https://s/1");
	f_msg(&rl, 1, &res);
	f_msg(&rl, 2, &sl);
	f_str(&rl, 3, "https://r/1");
	f_msg(&req, 1, &rl);
	return req;
}

START_TEST(test_full_camel)
{
	struct pb want = full_request();

	/* Fields out of the .proto's order: the output follows it. */
	expect_pb(jq("{'resourceLogs':[{'schemaUrl':'https://r/1',"
		     "'scopeLogs':[{'logRecords':[{"
		     "'eventName':'ev','observedTimeUnixNano':'1700000000000000002',"
		     "'spanId':'eba4177bcd3d1099',"
		     "'traceId':'5b8eff79087a36ab00010203c4d5e6f7','flags':1,"
		     "'droppedAttributesCount':3,"
		     "'attributes':[{'key':'n','value':{'intValue':'42'}}],"
		     "'body':{'stringValue':'hello'},'severityText':'INFO',"
		     "'severityNumber':9,'timeUnixNano':'1700000000000000001'}],"
		     "'scope':{'droppedAttributesCount':1,"
		     "'attributes':[{'value':{'stringValue':'b'},'key':'a'}],"
		     "'version':'1.2','name':'lib'},'schemaUrl':'https://s/1'}],"
		     "'resource':{'droppedAttributesCount':2,'attributes':["
		     "{'key':'service.name','value':{'stringValue':'api'}}]}}]}"),
		  &want);
}
END_TEST

START_TEST(test_full_snake)
{
	struct pb want = full_request();

	/* The proto's own names, ids in capitals, times as numbers. */
	expect_pb(jq("{'resource_logs':[{'resource':{'attributes':["
		     "{'key':'service.name','value':{'string_value':'api'}}],"
		     "'dropped_attributes_count':2},"
		     "'scope_logs':[{'scope':{'name':'lib','version':'1.2',"
		     "'attributes':[{'key':'a','value':{'string_value':'b'}}],"
		     "'dropped_attributes_count':1},"
		     "'log_records':[{'time_unix_nano':1700000000000000001,"
		     "'severity_number':'SEVERITY_NUMBER_INFO',"
		     "'severity_text':'INFO','body':{'string_value':'hello'},"
		     "'attributes':[{'key':'n','value':{'int_value':42}}],"
		     "'dropped_attributes_count':'3','flags':'1',"
		     "'trace_id':'5B8EFF79087A36AB00010203C4D5E6F7',"
		     "'span_id':'EBA4177BCD3D1099',"
		     "'observed_time_unix_nano':1700000000000000002,"
		     "'event_name':'ev'}],'schema_url':'https://s/1'}],"
		     "'schema_url':'https://r/1'}]}"),
		  &want);
}
END_TEST

START_TEST(test_empty_and_null)
{
	struct pb want = {{0}, 0}, rl = {{0}, 0}, sl = {{0}, 0};
	struct pb rec = {{0}, 0}, res = {{0}, 0};

	expect_pb("{}", &want);
	expect_pb(jq("{'resourceLogs':[]}"), &want);
	expect_pb(jq("{'resourceLogs':null}"), &want);
	/* Present messages are written even when empty; defaults are not. */
	f_msg(&want, 1, &rl);
	expect_pb(jq("{'resourceLogs':[{}]}"), &want);
	expect_pb(jq("{'resourceLogs':[{'schemaUrl':'','resource':null,"
		     "'scopeLogs':null}]}"), &want);
	f_msg(&rl, 1, &res);
	f_msg(&sl, 2, &rec);
	f_msg(&rl, 2, &sl);
	want.n = 0;
	f_msg(&want, 1, &rl);
	expect_pb(jq("{'resourceLogs':[{'resource':{'attributes':[],"
		     "'droppedAttributesCount':0},"
		     "'scopeLogs':[{'logRecords':[{'timeUnixNano':'0',"
		     "'severityNumber':'SEVERITY_NUMBER_UNSPECIFIED',"
		     "'severityText':'','flags':0,'traceId':'','spanId':'',"
		     "'observedTimeUnixNano':0,'eventName':'','body':null}]}]}]}"),
		  &want);
}
END_TEST

START_TEST(test_unknown_fields)
{
	struct pb rec = {{0}, 0}, want, a = any_str("x");

	f_var(&rec, 2, 5);
	f_msg(&rec, 5, &a);
	want = wrap(&rec);
	/* Unknown fields anywhere, of any type, are skipped; so is a name
	 * in the wrong case. */
	expect_pb(jq("{'x':[1,{'y':null}],'resourceLogs':[{'entityRefs':[],"
		     "'scopeLogs':[{'unknown':true,'logRecords':[{'extra':"
		     "{'a':[]},'severityNumber':5,'Body':{'stringValue':'y'},"
		     "'body':{'stringValue':'x','fooValue':1}}]}]}]}"),
		  &want);
}
END_TEST

/* ---- AnyValue ---- */

START_TEST(test_any_scalars)
{
	struct pb a = {{0}, 0};

	a = any_str("");
	expect_body("{'stringValue':''}", &a);
	a = any_str("a\"\\\n\xc3\xa9");
	expect_body("{'stringValue':'a\\'\\\\\\n\\u00e9'}", &a);
	a.n = 0;
	pb_raw(&a, "\x0a\x03\x61\x00\x62", 5); /* a NUL inside */
	expect_body("{'stringValue':'a\\u0000b'}", &a);
	a.n = 0;
	f_var(&a, 2, 1);
	expect_body("{'boolValue':true}", &a);
	a.n = 0;
	f_var(&a, 2, 0);
	expect_body("{'bool_value':false}", &a);
	a.n = 0;
	f_var(&a, 3, 0);
	expect_body("{'intValue':0}", &a);
	a.n = 0;
	f_var(&a, 3, UINT64_MAX); /* -1, as ten bytes */
	expect_body("{'intValue':-1}", &a);
	expect_body("{'intValue':'-1'}", &a);
	a.n = 0;
	f_var(&a, 3, UINT64_C(9223372036854775807));
	expect_body("{'intValue':'9223372036854775807'}", &a);
	expect_body("{'intValue':9223372036854775807}", &a);
	a.n = 0;
	f_var(&a, 3, UINT64_C(0x8000000000000000));
	expect_body("{'intValue':'-9223372036854775808'}", &a);
	a.n = 0;
	f_var(&a, 3, 1000);
	expect_body("{'intValue':1e3}", &a);
	expect_body("{'intValue':'1e3'}", &a);
	expect_body("{'intValue':1000.0}", &a);
	a.n = 0;
	f_var(&a, 3, 0);
	expect_body("{'intValue':'-0'}", &a);
}
END_TEST

START_TEST(test_any_double)
{
	struct pb a = {{0}, 0};

	f_double(&a, 4, 1.5);
	expect_body("{'doubleValue':1.5}", &a);
	expect_body("{'doubleValue':'1.5'}", &a);
	expect_body("{'double_value':'15e-1'}", &a);
	a.n = 0;
	f_double(&a, 4, 2.0);
	expect_body("{'doubleValue':2}", &a);
	a.n = 0;
	f_double(&a, 4, 0.0);
	expect_body("{'doubleValue':0}", &a);
	a.n = 0;
	f_double(&a, 4, -0.0);
	expect_body("{'doubleValue':-0.0}", &a);
	a.n = 0;
	f_double(&a, 4, INFINITY);
	expect_body("{'doubleValue':'Infinity'}", &a);
	a.n = 0;
	f_double(&a, 4, -INFINITY);
	expect_body("{'doubleValue':'-Infinity'}", &a);
	a.n = 0;
	f_double(&a, 4, NAN);
	expect_body("{'doubleValue':'NaN'}", &a);
	a.n = 0;
	f_double(&a, 4, 1e300);
	expect_body("{'doubleValue':1e300}", &a);
	/* How Go and JavaScript write these doubles: integer literals that
	 * an int64 cannot hold, and -0 with its sign. */
	a.n = 0;
	f_double(&a, 4, 123456789012345680000.0);
	expect_body("{'doubleValue':123456789012345680000}", &a);
	a.n = 0;
	f_double(&a, 4, -1e21);
	expect_body("{'doubleValue':-1000000000000000000000}", &a);
	a.n = 0;
	f_double(&a, 4, -0.0);
	expect_body("{'doubleValue':-0}", &a);
}
END_TEST

START_TEST(test_any_bytes)
{
	struct pb a = {{0}, 0};

	f_len(&a, 7, "\xfb\xff", 2);
	expect_body("{'bytesValue':'+/8='}", &a);
	expect_body("{'bytesValue':'+/8'}", &a);
	expect_body("{'bytesValue':'-_8='}", &a);
	expect_body("{'bytes_value':'-_8'}", &a);
	a.n = 0;
	f_len(&a, 7, "hello", 5);
	expect_body("{'bytesValue':'aGVsbG8='}", &a);
	a.n = 0;
	f_len(&a, 7, "hell", 4);
	expect_body("{'bytesValue':'aGVsbA=='}", &a);
	expect_body("{'bytesValue':'aGVsbA'}", &a);
	a.n = 0;
	f_len(&a, 7, "hel", 3);
	expect_body("{'bytesValue':'aGVs'}", &a);
	a.n = 0;
	f_len(&a, 7, "", 0);
	expect_body("{'bytesValue':''}", &a);
}
END_TEST

START_TEST(test_any_nested)
{
	struct pb arr = {{0}, 0}, kvl = {{0}, 0}, in = {{0}, 0};
	struct pb a, x, inner_arr = {{0}, 0};

	/* [ "s", 7, [true], {"k": {"z": 1.5}}, {} ] */
	a = any_str("s");
	f_msg(&arr, 1, &a);
	a.n = 0;
	f_var(&a, 3, 7);
	f_msg(&arr, 1, &a);
	a.n = 0;
	f_var(&a, 2, 1);
	f_msg(&inner_arr, 1, &a);
	a.n = 0;
	f_msg(&a, 5, &inner_arr);
	f_msg(&arr, 1, &a);
	x.n = 0;
	f_double(&x, 4, 1.5);
	f_kv(&in, 1, "z", &x);
	x.n = 0;
	f_msg(&x, 6, &in);
	f_kv(&kvl, 1, "k", &x);
	a.n = 0;
	f_msg(&a, 6, &kvl);
	f_msg(&arr, 1, &a);
	a.n = 0;
	f_msg(&arr, 1, &a);
	x.n = 0;
	f_msg(&x, 5, &arr);
	expect_body("{'arrayValue':{'values':["
		    "{'stringValue':'s'},{'intValue':'7'},"
		    "{'array_value':{'values':[{'boolValue':true}]}},"
		    "{'kvlistValue':{'values':[{'key':'k','value':"
		    "{'kvlist_value':{'values':[{'key':'z','value':"
		    "{'doubleValue':1.5}}]}}}]}},{}]}}",
		    &x);
	/* Empty lists, and a key without a value. */
	x.n = 0;
	a.n = 0;
	f_msg(&x, 5, &a);
	expect_body("{'arrayValue':{}}", &x);
	expect_body("{'arrayValue':{'values':[]}}", &x);
	x.n = 0;
	in.n = 0;
	f_str(&in, 1, "k");
	f_msg(&a, 1, &in);
	f_msg(&x, 6, &a);
	expect_body("{'kvlistValue':{'values':[{'key':'k'}]}}", &x);
	expect_body("{'kvlistValue':{'values':[{'key':'k','value':null}]}}",
		    &x);
}
END_TEST

/* AnyValues nested depth deep: arrays in arrays around a string. */
static void
deep(int depth, char *json, size_t len, struct pb *want)
{
	struct pb any = any_str("x"), arr;
	size_t n = 0;
	int i;

	for (i = 1; i < depth; i++) {
		n += (size_t)snprintf(json + n, len - n,
				      "{'arrayValue':{'values':[");
		arr.n = 0;
		f_msg(&arr, 1, &any);
		any.n = 0;
		f_msg(&any, 5, &arr);
	}
	n += (size_t)snprintf(json + n, len - n, "{'stringValue':'x'}");
	for (i = 1; i < depth; i++)
		n += (size_t)snprintf(json + n, len - n, "]}}");
	ck_assert_uint_lt(n, len);
	*want = any;
}

START_TEST(test_depth)
{
	char json[4096], msg[4096], rec[4200];
	struct pb want;
	size_t n = 0;
	int i;

	deep(LT_OTLP_MAX_DEPTH, json, sizeof(json), &want);
	expect_body(json, &want);
	deep(LT_OTLP_MAX_DEPTH + 1, json, sizeof(json), &want);
	n += (size_t)snprintf(msg, sizeof(msg), ".body");
	for (i = 0; i < LT_OTLP_MAX_DEPTH; i++)
		n += (size_t)snprintf(msg + n, sizeof(msg) - n,
				      ".arrayValue.values[0]");
	(void)snprintf(msg + n, sizeof(msg) - n,
		       ": values nest more than %d deep", LT_OTLP_MAX_DEPTH);
	(void)snprintf(rec, sizeof(rec), "{'body':%s}", json);
	expect_rec_err(rec, msg);
	/* In a kvlist: a KeyValue's value is one level down. */
	(void)snprintf(rec, sizeof(rec), "{'attributes':[{'key':'k','value':"
		       "{'kvlistValue':{'values':[{'key':'j','value':%s}]}}}]}",
		       json);
	(void)snprintf(msg, sizeof(msg), "%s", ".attributes[0].value"
		       ".kvlistValue.values[0].value");
	n = strlen(msg);
	for (i = 0; i < LT_OTLP_MAX_DEPTH - 1; i++)
		n += (size_t)snprintf(msg + n, sizeof(msg) - n,
				      ".arrayValue.values[0]");
	(void)snprintf(msg + n, sizeof(msg) - n,
		       ": values nest more than %d deep", LT_OTLP_MAX_DEPTH);
	expect_rec_err(rec, msg);
}
END_TEST

/* ---- times, ids, severities ---- */

static struct pb
rec_fix64(unsigned f, uint64_t v)
{
	struct pb rec = {{0}, 0};

	f_fix64(&rec, f, v);
	return wrap(&rec);
}

START_TEST(test_times)
{
	struct pb want;

	want = rec_fix64(1, 1);
	expect_pb(jrec("{'timeUnixNano':1}"), &want);
	expect_pb(jrec("{'timeUnixNano':'1'}"), &want);
	want = rec_fix64(1, UINT64_C(9223372036854775807));
	expect_pb(jrec("{'timeUnixNano':9223372036854775807}"), &want);
	/* Over INT64_MAX: only a string can say it to jansson. */
	want = rec_fix64(1, UINT64_C(9223372036854775808));
	expect_pb(jrec("{'timeUnixNano':'9223372036854775808'}"), &want);
	/* and as a number, past what jansson keeps as an integer */
	expect_pb(jrec("{'timeUnixNano':9223372036854775808}"), &want);
	want = rec_fix64(11, UINT64_MAX);
	expect_pb(jrec("{'observedTimeUnixNano':'18446744073709551615'}"),
		  &want);
	want = rec_fix64(11, UINT64_C(1000000000000000000));
	expect_pb(jrec("{'observed_time_unix_nano':1e18}"), &want);
	expect_pb(jrec("{'observed_time_unix_nano':'1E18'}"), &want);
}
END_TEST

START_TEST(test_ids)
{
	static const unsigned char t[16] = {
		0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
		0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10};
	struct pb rec = {{0}, 0}, want;

	f_len(&rec, 9, t, 16);
	want = wrap(&rec);
	expect_pb(jrec("{'traceId':'0123456789abcdefFEDCBA9876543210',"
		       "'spanId':''}"), &want);
	rec.n = 0;
	f_len(&rec, 10, t + 8, 8);
	want = wrap(&rec);
	expect_pb(jrec("{'traceId':'','span_id':'fedcba9876543210'}"),
		  &want);
}
END_TEST

START_TEST(test_severity)
{
	static const struct {
		const char *name;
		uint64_t value;
	} names[] = {
		{"SEVERITY_NUMBER_TRACE", 1}, {"SEVERITY_NUMBER_TRACE4", 4},
		{"SEVERITY_NUMBER_DEBUG", 5}, {"SEVERITY_NUMBER_DEBUG2", 6},
		{"SEVERITY_NUMBER_INFO3", 11}, {"SEVERITY_NUMBER_WARN", 13},
		{"SEVERITY_NUMBER_ERROR", 17}, {"SEVERITY_NUMBER_ERROR4", 20},
		{"SEVERITY_NUMBER_FATAL", 21}, {"SEVERITY_NUMBER_FATAL4", 24},
	};
	struct pb rec, want;
	char json[128];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		rec.n = 0;
		f_var(&rec, 2, names[i].value);
		want = wrap(&rec);
		(void)snprintf(json, sizeof(json), "{'severityNumber':'%s'}",
			       names[i].name);
		expect_pb(jrec(json), &want);
		(void)snprintf(json, sizeof(json), "{'severityNumber':%d}",
			       (int)names[i].value);
		expect_pb(jrec(json), &want);
	}
	/* proto3 enums are open: any int32 goes, a negative as ten bytes. */
	rec.n = 0;
	f_var(&rec, 2, 99);
	want = wrap(&rec);
	expect_pb(jrec("{'severityNumber':99}"), &want);
	rec.n = 0;
	f_var(&rec, 2, (uint64_t)0 - 2147483648u);
	want = wrap(&rec);
	expect_pb(jrec("{'severityNumber':-2147483648}"), &want);
}
END_TEST

/* ---- errors ---- */

START_TEST(test_malformed)
{
	struct lt_buf out = LT_BUF_INIT;
	char err[512];
	const char *j;

	j = "{\n \"resourceLogs\": [,]\n}";
	ck_assert_int_eq(lt_otlp_json_to_proto(j, strlen(j), &out, err,
					       sizeof(err)), -1);
	ck_assert_msg(strncmp(err, "malformed JSON at line 2, column ", 33) ==
		      0, "%s", err);
	j = "{\"a\":1,\"a\":2}";
	ck_assert_int_eq(lt_otlp_json_to_proto(j, strlen(j), &out, err,
					       sizeof(err)), -1);
	ck_assert_msg(strstr(err, "duplicate object key") != NULL, "%s", err);
	j = "";
	ck_assert_int_eq(lt_otlp_json_to_proto(j, 0, &out, err, sizeof(err)),
			 -1);
	ck_assert_msg(strncmp(err, "malformed JSON at line 1, column ", 33) ==
		      0, "%s", err);
	/* A number past uint64 is read (jansson gets it quoted), and
	 * refused as out of range, not as malformed JSON. */
	j = "{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{"
	    "\"timeUnixNano\":18446744073709551616}]}]}]}";
	ck_assert_int_eq(lt_otlp_json_to_proto(j, strlen(j), &out, err,
					       sizeof(err)), -1);
	ck_assert_str_eq(err, "resourceLogs[0].scopeLogs[0].logRecords[0]."
			      "timeUnixNano: \"18446744073709551616\" is out "
			      "of range");
	ck_assert_uint_eq(out.len, 0);
	lt_buf_free(&out);
}
END_TEST

START_TEST(test_shape_errors)
{
	expect_err("[]", "the body is not a JSON object");
	expect_err(jq("{'resourceLogs':{}}"),
		   "resourceLogs: expected an array, found an object");
	expect_err(jq("{'resource_logs':[1]}"),
		   "resource_logs[0]: expected an object, found a number");
	expect_err(jq("{'resourceLogs':[{},null]}"),
		   "resourceLogs[1]: expected an object, found null");
	expect_err(jq("{'resourceLogs':[{'resource':[]}]}"),
		   "resourceLogs[0].resource: expected an object, found an "
		   "array");
	expect_err(jq("{'resourceLogs':[{'schemaUrl':true}]}"),
		   "resourceLogs[0].schemaUrl: expected a string, found a "
		   "boolean");
	expect_err(jq("{'resourceLogs':[{'scopeLogs':[{'scope':"
		      "{'name':1}}]}]}"),
		   "resourceLogs[0].scopeLogs[0].scope.name: expected a "
		   "string, found a number");
	expect_err(jq("{'resourceLogs':[{'resource':{'attributes':[{},{},{},"
		      "{'key':'k','value':{'stringValue':'a','intValue':1}}]}}]}"),
		   "resourceLogs[0].resource.attributes[3].value: more than "
		   "one of stringValue, intValue");
	expect_err(jq("{'resourceLogs':[{'resource':{'attributes':[{'key':"
		      "'k','value':{'bytes_value':'','kvlistValue':{},"
		      "'boolValue':false}}]}}]}"),
		   "resourceLogs[0].resource.attributes[0].value: more than "
		   "one of boolValue, kvlistValue, ...");
	expect_err(jq("{'resourceLogs':[{'resource':{'attributes':[{'key':"
		      "'k','value':{'stringValue':'a','string_value':'b'}}]}}]}"),
		   "resourceLogs[0].resource.attributes[0].value: both "
		   "stringValue and string_value are given");
	expect_err(jq("{'resourceLogs':[{},{'scopeLogs':[{},{'logRecords':"
		      "[{},{},{'traceId':'ab'}]}]}]}"),
		   "resourceLogs[1].scopeLogs[1].logRecords[2].traceId: \"ab\" "
		   "is not 32 hex digits");
}
END_TEST

START_TEST(test_field_errors)
{
	expect_rec_err("{'timeUnixNano':'1','time_unix_nano':'1'}",
		       ": both timeUnixNano and time_unix_nano are given");
	expect_rec_err("{'traceId':'0123456789abcdef0123456789abcdeg'}",
		       ".traceId: \"0123456789abcdef0123456789abcdeg\" is not "
		       "32 hex digits");
	expect_rec_err("{'trace_id':'0123456789abcdef0123456789abcdef00'}",
		       ".trace_id: \"0123456789abcdef0123456789abcdef00\" is "
		       "not 32 hex digits");
	expect_rec_err("{'spanId':'0123456789abcde'}",
		       ".spanId: \"0123456789abcde\" is not 16 hex digits");
	expect_rec_err("{'spanId':'0123456789abcde\\u0000'}",
		       ".spanId: \"0123456789abcde\\x00\" is not 16 hex digits");
	expect_rec_err("{'spanId':12}",
		       ".spanId: expected a string of hex digits, found a "
		       "number");
	expect_rec_err("{'timeUnixNano':-1}",
		       ".timeUnixNano: -1 is out of range (0 to "
		       "18446744073709551615)");
	expect_rec_err("{'timeUnixNano':'18446744073709551616'}",
		       ".timeUnixNano: \"18446744073709551616\" is out of "
		       "range");
	expect_rec_err("{'timeUnixNano':'1.5'}",
		       ".timeUnixNano: 1.5 is not an integer");
	expect_rec_err("{'timeUnixNano':'12a'}",
		       ".timeUnixNano: \"12a\" is not an integer");
	expect_rec_err("{'timeUnixNano':''}",
		       ".timeUnixNano: \"\" is not an integer");
	expect_rec_err("{'timeUnixNano':true}",
		       ".timeUnixNano: expected an integer, found a boolean");
	expect_rec_err("{'droppedAttributesCount':4294967296}",
		       ".droppedAttributesCount: 4294967296 is out of range "
		       "(0 to 4294967295)");
	expect_rec_err("{'flags':'-1'}",
		       ".flags: -1 is out of range (0 to 4294967295)");
	expect_rec_err("{'severityNumber':'INFO'}",
		       ".severityNumber: \"INFO\" is not a SeverityNumber");
	expect_rec_err("{'severityNumber':'SEVERITY_NUMBER_INFO5'}",
		       ".severityNumber: \"SEVERITY_NUMBER_INFO5\" is not a "
		       "SeverityNumber");
	expect_rec_err("{'severityNumber':2147483648}",
		       ".severityNumber: 2147483648 is out of range "
		       "(-2147483648 to 2147483647)");
	expect_rec_err("{'severityText':5}",
		       ".severityText: expected a string, found a number");
	expect_rec_err("{'body':'text'}",
		       ".body: expected an object, found a string");
	expect_rec_err("{'attributes':[{'key':5}]}",
		       ".attributes[0].key: expected a string, found a number");
	expect_rec_err("{'attributes':{}}",
		       ".attributes: expected an array, found an object");
}
END_TEST

START_TEST(test_value_errors)
{
	expect_rec_err("{'body':{'stringValue':5}}",
		       ".body.stringValue: expected a string, found a number");
	expect_rec_err("{'body':{'boolValue':'true'}}",
		       ".body.boolValue: expected a boolean, found a string");
	expect_rec_err("{'body':{'intValue':'9223372036854775808'}}",
		       ".body.intValue: 9223372036854775808 is out of range "
		       "(-9223372036854775808 to 9223372036854775807)");
	expect_rec_err("{'body':{'intValue':'-9223372036854775809'}}",
		       ".body.intValue: -9223372036854775809 is out of range "
		       "(-9223372036854775808 to 9223372036854775807)");
	expect_rec_err("{'body':{'intValue':1.5}}",
		       ".body.intValue: 1.5 is not an integer");
	expect_rec_err("{'body':{'int_value':'0x10'}}",
		       ".body.int_value: \"0x10\" is not an integer");
	expect_rec_err("{'body':{'intValue':'+1000'}}",
		       ".body.intValue: \"+1000\" is not an integer");
	expect_rec_err("{'body':{'intValue':'001000'}}",
		       ".body.intValue: \"001000\" is not an integer");
	expect_rec_err("{'body':{'intValue':' 1'}}",
		       ".body.intValue: \" 1\" is not an integer");
	expect_rec_err("{'body':{'intValue':{}}}",
		       ".body.intValue: expected an integer, found an object");
	expect_rec_err("{'body':{'doubleValue':'nan'}}",
		       ".body.doubleValue: \"nan\" is not a number");
	expect_rec_err("{'body':{'doubleValue':'1.5 '}}",
		       ".body.doubleValue: \"1.5 \" is not a number");
	expect_rec_err("{'body':{'doubleValue':false}}",
		       ".body.doubleValue: expected a number, found a boolean");
	expect_rec_err("{'body':{'bytesValue':'a'}}",
		       ".body.bytesValue: \"a\" is not base64");
	expect_rec_err("{'body':{'bytesValue':'ab!c'}}",
		       ".body.bytesValue: \"ab!c\" is not base64");
	expect_rec_err("{'body':{'bytesValue':'aGVsbA='}}",
		       ".body.bytesValue: \"aGVsbA=\" is not base64");
	expect_rec_err("{'body':{'bytesValue':'aG==='}}",
		       ".body.bytesValue: \"aG===\" is not base64");
	expect_rec_err("{'body':{'bytesValue':1}}",
		       ".body.bytesValue: expected a string of base64, found a "
		       "number");
	expect_rec_err("{'body':{'arrayValue':[]}}",
		       ".body.arrayValue: expected an object, found an array");
	expect_rec_err("{'body':{'arrayValue':{'values':[{},5]}}}",
		       ".body.arrayValue.values[1]: expected an object, found "
		       "a number");
	expect_rec_err("{'body':{'kvlistValue':{'values':[{'key':'a'},"
		       "{'key':'b','value':{'intValue':'x'}}]}}}",
		       ".body.kvlistValue.values[1].value.intValue: \"x\" is "
		       "not an integer");
}
END_TEST

START_TEST(test_appends)
{
	struct lt_buf out = LT_BUF_INIT;
	struct pb want = {{0}, 0}, rl = {{0}, 0};
	char err[64];
	const char *j = "{\"resourceLogs\":[{}]}";

	ck_assert_int_eq(lt_buf_append(&out, "ab", 2), 0);
	ck_assert_int_eq(lt_otlp_json_to_proto(j, strlen(j), &out, err,
					       sizeof(err)), 0);
	pb_raw(&want, "ab", 2);
	f_msg(&want, 1, &rl);
	ck_assert_uint_eq(out.len, want.n);
	ck_assert_int_eq(memcmp(out.data, want.b, want.n), 0);
	lt_buf_free(&out);
}
END_TEST

/* A long string: the length of a nested message takes several bytes. */
START_TEST(test_long_lengths)
{
	/* req{1: rl{2: sl{2: rec{5: any{1: s}}}}}, each length by hand:
	 * any 1 + 3 + 20000 = 20004, rec 20008, sl 20012, rl 20016. */
	static const unsigned char head[] = {
		0x0a, 0xb0, 0x9c, 0x01, /* req.1, 20016 */
		0x12, 0xac, 0x9c, 0x01, /* rl.2, 20012 */
		0x12, 0xa8, 0x9c, 0x01, /* sl.2, 20008 */
		0x2a, 0xa4, 0x9c, 0x01, /* rec.5, 20004 */
		0x0a, 0xa0, 0x9c, 0x01, /* any.1, 20000 */
	};
	static char json[21000], s[20001];
	struct lt_buf out = LT_BUF_INIT;
	const char *j;
	char err[64];
	size_t n = 20000, i;

	for (i = 0; i < n; i++)
		s[i] = (char)('a' + i % 26);
	s[n] = '\0';
	(void)snprintf(json, sizeof(json), "{'body':{'stringValue':'%s'}}",
		       s);
	j = jrec(json);
	ck_assert_int_eq(lt_otlp_json_to_proto(j, strlen(j), &out, err,
					       sizeof(err)), 0);
	ck_assert_uint_eq(out.len, sizeof(head) + n);
	ck_assert_int_eq(memcmp(out.data, head, sizeof(head)), 0);
	ck_assert_int_eq(memcmp(out.data + sizeof(head), s, n), 0);
	lt_buf_free(&out);
}
END_TEST

/* ---- the answers ---- */

static void
expect_bytes(const struct lt_buf *b, const void *want, size_t n)
{
	ck_assert_uint_eq(b->len, n);
	ck_assert(n == 0 || memcmp(b->data, want, n) == 0);
}

static void
expect_text(struct lt_buf *b, const char *want)
{
	ck_assert_int_eq(lt_buf_terminate(b), 0);
	ck_assert_str_eq((const char *)b->data, want);
}

START_TEST(test_response)
{
	struct lt_buf b = LT_BUF_INIT;

	ck_assert_int_eq(lt_otlp_response(&b, 0, 0, "ignored"), 0);
	expect_bytes(&b, "", 0);
	ck_assert_int_eq(lt_otlp_response(&b, 0, 3, "x"), 0);
	expect_bytes(&b, "\x0a\x05\x08\x03\x12\x01x", 7);
	lt_buf_reset(&b);
	ck_assert_int_eq(lt_otlp_response(&b, 0, 300, NULL), 0);
	expect_bytes(&b, "\x0a\x03\x08\xac\x02", 5);
	lt_buf_reset(&b);
	ck_assert_int_eq(lt_otlp_response(&b, 0, 1, ""), 0);
	expect_bytes(&b, "\x0a\x02\x08\x01", 4);
	lt_buf_reset(&b);
	ck_assert_int_eq(lt_otlp_response(&b, 1, 0, "ignored"), 0);
	expect_text(&b, "{}");
	lt_buf_reset(&b);
	ck_assert_int_eq(lt_otlp_response(&b, 1, 3, "2 of 5: \"x\"\n"), 0);
	expect_text(&b, "{\"partialSuccess\":{\"rejectedLogRecords\":\"3\","
			"\"errorMessage\":\"2 of 5: \\\"x\\\"\\n\"}}");
	lt_buf_reset(&b);
	ck_assert_int_eq(lt_otlp_response(&b, 1, 12345678901ULL, NULL), 0);
	expect_text(&b, "{\"partialSuccess\":{\"rejectedLogRecords\":"
			"\"12345678901\"}}");
	lt_buf_reset(&b);
	/* Control characters, a backslash, UTF-8 kept, a stray byte. */
	ck_assert_int_eq(lt_otlp_response(&b, 1, 1,
					  "a\x01\t\\\xc3\xa9\xff\xe2\x82"), 0);
	expect_text(&b, "{\"partialSuccess\":{\"rejectedLogRecords\":\"1\","
			"\"errorMessage\":\"a\\u0001\\t\\\\\xc3\xa9"
			"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"}}");
	lt_buf_free(&b);
}
END_TEST

START_TEST(test_status)
{
	struct lt_buf b = LT_BUF_INIT;

	ck_assert_int_eq(lt_otlp_status(&b, 0, 400, "bad"), 0);
	expect_bytes(&b, "\x08\x03\x12\x03" "bad", 7);
	lt_buf_reset(&b);
	ck_assert_int_eq(lt_otlp_status(&b, 0, 503, NULL), 0);
	expect_bytes(&b, "\x08\x0e", 2);
	lt_buf_reset(&b);
	ck_assert_int_eq(lt_otlp_status(&b, 1, 400, "bad \"json\""), 0);
	expect_text(&b, "{\"code\":3,\"message\":\"bad \\\"json\\\"\"}");
	lt_buf_reset(&b);
	ck_assert_int_eq(lt_otlp_status(&b, 1, 429, "slow down"), 0);
	expect_text(&b, "{\"code\":8,\"message\":\"slow down\"}");
	lt_buf_reset(&b);
	ck_assert_int_eq(lt_otlp_status(&b, 1, 500, ""), 0);
	expect_text(&b, "{\"code\":13}");
	lt_buf_free(&b);
}
END_TEST

START_TEST(test_grpc_codes)
{
	ck_assert_int_eq(lt_otlp_grpc_code(400), 3);
	ck_assert_int_eq(lt_otlp_grpc_code(401), 16);
	ck_assert_int_eq(lt_otlp_grpc_code(403), 7);
	ck_assert_int_eq(lt_otlp_grpc_code(404), 5);
	ck_assert_int_eq(lt_otlp_grpc_code(413), 8);
	ck_assert_int_eq(lt_otlp_grpc_code(429), 8);
	ck_assert_int_eq(lt_otlp_grpc_code(503), 14);
	ck_assert_int_eq(lt_otlp_grpc_code(500), 13);
	ck_assert_int_eq(lt_otlp_grpc_code(502), 13);
	ck_assert_int_eq(lt_otlp_grpc_code(405), 3);
	ck_assert_int_eq(lt_otlp_grpc_code(415), 3);
	ck_assert_int_eq(lt_otlp_grpc_code(200), 0);
}
END_TEST

static Suite *
otlp_json_suite(void)
{
	Suite *s = suite_create("otlp-json");
	TCase *tc = tcase_create("request");
	TCase *te = tcase_create("errors");
	TCase *ta = tcase_create("answers");

	tcase_add_test(tc, test_full_camel);
	tcase_add_test(tc, test_full_snake);
	tcase_add_test(tc, test_empty_and_null);
	tcase_add_test(tc, test_unknown_fields);
	tcase_add_test(tc, test_any_scalars);
	tcase_add_test(tc, test_any_double);
	tcase_add_test(tc, test_any_bytes);
	tcase_add_test(tc, test_any_nested);
	tcase_add_test(tc, test_depth);
	tcase_add_test(tc, test_times);
	tcase_add_test(tc, test_ids);
	tcase_add_test(tc, test_severity);
	tcase_add_test(tc, test_appends);
	tcase_add_test(tc, test_long_lengths);
	suite_add_tcase(s, tc);
	tcase_add_test(te, test_malformed);
	tcase_add_test(te, test_shape_errors);
	tcase_add_test(te, test_field_errors);
	tcase_add_test(te, test_value_errors);
	suite_add_tcase(s, te);
	tcase_add_test(ta, test_response);
	tcase_add_test(ta, test_status);
	tcase_add_test(ta, test_grpc_codes);
	suite_add_tcase(s, ta);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(otlp_json_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
