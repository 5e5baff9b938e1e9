/* Unit tests: Loki's JSON push read and checked, entry by entry, with
 * the limits, label rules and rejections Loki's distributor applies. */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "push.h"
#include "push-rec.h"

/* 2024-06-01T00:00:00Z: the receiver's clock in these tests. */
#define NOW_NS 1717200000000000000LL
#define JAN1_NS 1704067200000000000LL

static struct rec rec;
static struct lt_sink sink = {rec_stream, rec_entry, &rec};
static struct lt_limits lim;
static struct lt_push_result res;

static void
setup(void)
{
	memset(&rec, 0, sizeof(rec));
	memset(&res, 0, sizeof(res));
	lt_limits_defaults(&lim);
	/* The parsers' own tests see entries as sent: the level Loki adds
	 * is tested in test_detected_level* and in test-level. */
	lim.discover_log_levels = 0;
}

static void
teardown(void)
{
	lt_buf_free(&rec.log);
}

static int
push_n(const char *body, size_t len)
{
	return lt_push_parse_json(body, len, &lim, NOW_NS, &sink, &res);
}

static int
push(const char *body)
{
	return push_n(body, strlen(body));
}

/* Checks that res.message holds each of the n strings. */
static void
message_has(const char *const *subs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		ck_assert_msg(strstr(res.message, subs[i]) != NULL,
			      "message '%s' lacks '%s'", res.message, subs[i]);
}

/* The whole push refused (not a push at all), with a message holding
 * each of the given strings. */
#define ck_assert_refused(body, ...)                                       \
	do {                                                               \
		const char *subs_[] = {__VA_ARGS__};                       \
		ck_assert_int_eq(push(body), -1);                          \
		ck_assert_int_eq(res.status, 400);                         \
		message_has(subs_, sizeof(subs_) / sizeof(subs_[0]));      \
	} while (0)

/* Entries or a stream rejected, the rest kept: a reason holding each of
 * the given strings. */
#define ck_assert_rejected(body, ...)                                      \
	do {                                                               \
		const char *subs_[] = {__VA_ARGS__};                       \
		ck_assert_int_eq(push(body), 0);                           \
		ck_assert_int_eq(res.status, 0);                           \
		ck_assert_uint_ge(res.n_reasons, 1);                       \
		message_has(subs_, sizeof(subs_) / sizeof(subs_[0]));      \
	} while (0)

/* One stream {app="x"} holding the given entries. */
#define ONE(values) "{\"streams\":[{\"stream\":{\"app\":\"x\"},\"values\":[" \
	values "]}]}"

START_TEST(test_defaults)
{
	ck_assert_uint_eq(lim.max_line_size, 262144);
	ck_assert_uint_eq(lim.max_label_names, 15);
	ck_assert_uint_eq(lim.max_label_name_length, 1024);
	ck_assert_uint_eq(lim.max_label_value_length, 2048);
	ck_assert_uint_eq(lim.max_metadata_size, 65536);
	ck_assert_uint_eq(lim.max_metadata_entries, 128);
	ck_assert(lim.creation_grace_ns == 600LL * 1000000000);
	ck_assert(lim.max_age_ns == 0);
	lt_limits_defaults(&lim);
	ck_assert_int_eq(lim.discover_log_levels, 1);
}
END_TEST

START_TEST(test_seed)
{
	ck_assert_int_eq(push("{\"streams\":[{\"stream\":{\"level\":\"info\","
			      "\"app\":\"test-app\"},\"values\":[[\"2024-01-01\","
			      "\"starting up\"],[\"2024-01-01\",\"ready\"]]}]}"),
			 0);
	ck_assert_uint_eq(res.accepted, 2);
	ck_assert_str_eq(rec_text(&rec), "S app=test-app,level=info\n"
					 "E 1704067200000000000 starting up\n"
					 "E 1704067200000000000 ready\n");
}
END_TEST

START_TEST(test_several_streams)
{
	ck_assert_int_eq(
	    push("{\"streams\":[{\"stream\":{\"b\":\"2\",\"a\":\"1\",\"c\":\"3\"},"
		 "\"values\":[[\"1704067200000000001\",\"one\"]]},"
		 "{\"stream\":{\"app\":\"empty\"},\"values\":[]},"
		 "{\"stream\":{\"zz\":\"z\",\"_a\":\"u\",\"Z\":\"Z\"},"
		 "\"values\":[[\"1704067200000000002\",\"two\"],"
		 "[\"1704067200000000003\",\"three\"]]}]}"),
	    0);
	ck_assert_uint_eq(res.accepted, 3);
	/* Bytewise order: uppercase before underscore before lowercase;
	 * the stream without entries reaches no sink. */
	ck_assert_str_eq(rec_text(&rec), "S a=1,b=2,c=3\n"
					 "E 1704067200000000001 one\n"
					 "S Z=Z,_a=u,zz=z\n"
					 "E 1704067200000000002 two\n"
					 "E 1704067200000000003 three\n");
}
END_TEST

START_TEST(test_empty_push)
{
	ck_assert_int_eq(push("{\"streams\":[]}"), 0);
	ck_assert_uint_eq(res.accepted, 0);
	ck_assert_uint_eq(rec.log.len, 0);
	ck_assert_int_eq(push(" {\"streams\" : [ ] , \"other\": 1}\n"), 0);
	ck_assert_uint_eq(res.accepted, 0);
}
END_TEST

START_TEST(test_metadata)
{
	ck_assert_int_eq(
	    push(ONE("[\"1704067200000000000\",\"hi\",{\"trace_id\":\"abc\","
		     "\"a\":\"\",\"Span\":\"s1\"}],"
		     "[\"1704067200000000000\",\"bye\",{}]")),
	    0);
	ck_assert_uint_eq(res.accepted, 2);
	ck_assert_str_eq(rec_text(&rec), "S app=x\n"
					 "E 1704067200000000000 hi [Span=s1,a=,trace_id=abc]\n"
					 "E 1704067200000000000 bye\n");
}
END_TEST

START_TEST(test_metadata_many_sorted)
{
	struct lt_buf b = LT_BUF_INIT, want = LT_BUF_INIT;
	int i;

	/* More items than insertion sort handles: written in reverse. */
	ck_assert_int_eq(lt_buf_printf(&b, "{\"streams\":[{\"stream\":{\"a\":"
					   "\"b\"},\"values\":[[\"1704067200000000001\",\"l\",{"), 0);
	for (i = 99; i >= 0; i--)
		ck_assert_int_eq(lt_buf_printf(&b, "%s\"k%02d\":\"%d\"",
					       i == 99 ? "" : ",", i, i), 0);
	ck_assert_int_eq(lt_buf_printf(&b, "}]]}]}"), 0);
	ck_assert_int_eq(lt_buf_printf(&want, "S a=b\nE 1704067200000000001 l ["), 0);
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(lt_buf_printf(&want, "%sk%02d=%d",
					       i ? "," : "", i, i), 0);
	ck_assert_int_eq(lt_buf_printf(&want, "]\n"), 0);
	lim.creation_grace_ns = INT64_MAX;
	ck_assert_int_eq(push_n((const char *)b.data, b.len), 0);
	ck_assert_str_eq(rec_text(&rec), (const char *)want.data);
	lt_buf_free(&b);
	lt_buf_free(&want);
}
END_TEST

START_TEST(test_timestamps_in_push)
{
	ck_assert_int_eq(
	    push(ONE("[\"1704067200000000000\",\"a\"],"
		     "[\"2024-01-01T01:00:00.123456789+01:00\",\"b\"],"
		     "[\"2024-01-01T00:00:00Z\",\"c\"],"
		     "[\"2024-01-01 00:00:00.5z\",\"d\"]")),
	    0);
	ck_assert_str_eq(rec_text(&rec), "S app=x\n"
					 "E 1704067200000000000 a\n"
					 "E 1704067200123456789 b\n"
					 "E 1704067200000000000 c\n"
					 "E 1704067200500000000 d\n");
}
END_TEST

START_TEST(test_nul)
{
	static const char body[] =
	    "{\"streams\":[{\"stream\":{\"app\":\"x\"},\"values\":"
	    "[[\"1704067200000000001\",\"a\\u0000b\"]]}]}";
	const char *l;

	ck_assert_int_eq(push(body), 0);
	ck_assert_uint_eq(rec.log.len, strlen("S app=x\nE 1704067200000000001 a") + 3);
	l = (const char *)rec.log.data;
	ck_assert(memcmp(l, "S app=x\nE 1704067200000000001 a\0b\n", rec.log.len) == 0);

	lt_buf_reset(&rec.log);
	ck_assert_rejected("{\"streams\":[{\"stream\":{\"app\":\"x\\u0000y\"},"
			   "\"values\":[]}]}",
			   "stream 1: ", "label \"app\"", "NUL");
	ck_assert_rejected(ONE("[\"1704067200000000001\",\"l\",{\"k\":\"a\\u0000\"}]"),
			   "stream 1 {app=\"x\"}: entry 1: ",
			   "structured metadata \"k\"", "NUL");
	/* jansson itself refuses NUL in object keys. */
	ck_assert_refused("{\"streams\":[{\"stream\":{\"a\\u0000b\":\"x\"},"
			   "\"values\":[]}]}",
			   "malformed JSON");
}
END_TEST

START_TEST(test_malformed)
{
	ck_assert_refused("{\"streams\":[}", "malformed JSON at line 1, column ",
			   "(byte ");
	ck_assert_refused("", "malformed JSON");
	ck_assert_refused("{\"streams\":[]} x", "malformed JSON");
	ck_assert_refused("{\"streams\":[],\"streams\":[]}", "malformed JSON",
			   "duplicate");
	ck_assert_refused("{\"streams\":[{\"stream\":{\"a\":\"1\",\"a\":\"2\"},"
			   "\"values\":[]}]}",
			   "duplicate");
	ck_assert_refused(ONE("[\"1704067200000000001\",\"l\",{\"k\":\"1\",\"k\":\"2\"}]"),
			   "duplicate");
}
END_TEST

START_TEST(test_structure)
{
	ck_assert_refused("[]", "not a JSON object");
	ck_assert_refused("{}", "no \"streams\" array");
	ck_assert_refused("{\"streams\":{}}", "\"streams\" is not an array");
	ck_assert_refused("{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[]},"
			   "3]}",
			   "stream 2: not an object");
	ck_assert_refused("{\"streams\":[{\"values\":[]}]}",
			   "stream 1: no \"stream\" object");
	ck_assert_refused("{\"streams\":[{\"stream\":[],\"values\":[]}]}",
			   "stream 1: \"stream\" is not an object");
	ck_assert_refused("{\"streams\":[{\"stream\":{\"a\":\"b\"}}]}",
			   "stream 1: no \"values\" array");
	ck_assert_refused("{\"streams\":[{\"stream\":{\"a\":\"b\"},"
			   "\"values\":{}}]}",
			   "stream 1: \"values\" is not an array");
	ck_assert_refused("{\"streams\":[{\"stream\":{\"a\":1},\"values\":[]}]}",
			   "stream 1: label \"a\" is not a string");
	ck_assert_rejected("{\"streams\":[{\"stream\":{},\"values\":[]}]}",
			   "stream 1: at least one label pair is required per "
			   "stream");
	ck_assert_refused(ONE("[\"1704067200000000001\",\"a\"],\"x\""),
			   "stream 1 {app=\"x\"}: entry 2: not an array");
	ck_assert_refused(ONE("[\"1704067200000000001\"]"), "entry 1: not an array");
	ck_assert_refused(ONE("[\"1704067200000000001\",\"a\",{},4]"), "entry 1: not an array");
	ck_assert_refused(ONE("[1,\"a\"]"),
			   "entry 1: timestamp is not a string");
	ck_assert_refused(ONE("[\"1704067200000000001\",2]"), "entry 1: line is not a string");
	ck_assert_refused(ONE("[\"1704067200000000001\",null]"), "entry 1: line is not a string");
	ck_assert_refused(ONE("[\"1704067200000000001\",\"a\",[]]"),
			   "entry 1: structured metadata is not an object");
	ck_assert_refused(ONE("[\"1704067200000000001\",\"a\",{\"k\":{\"n\":\"v\"}}]"),
			   "entry 1: structured metadata \"k\" is not a string");
	ck_assert_rejected(ONE("[\"1704067200000000001\",\"a\",{\"1k\":\"v\"}]"),
			   "entry 1: invalid structured metadata name \"1k\"");
}
END_TEST

START_TEST(test_position_and_label_text)
{
	ck_assert_rejected(
	    "{\"streams\":[{\"stream\":{\"app\":\"a\"},\"values\":[[\"1704067200000000001\",\"x\"]]},"
	    "{\"stream\":{\"level\":\"info\",\"app\":\"q\\\"\\\\\\n\"},"
	    "\"values\":[[\"1704067200000000001\",\"x\"],[\"1704067200000000002\",\"y\"],[\"x\",\"z\"]]}]}",
	    "stream 2 {app=\"q\\\"\\\\\\n\",level=\"info\"}: entry 3: "
	    "invalid timestamp \"x\": not a number of unix nanoseconds");
	/* Everything before the error went to the sink: the caller drops it. */
	ck_assert_uint_eq(res.accepted, 3);
}
END_TEST

START_TEST(test_label_text_truncated)
{
	struct lt_buf b = LT_BUF_INIT;
	const char *dots;
	int i;

	ck_assert_int_eq(lt_buf_printf(&b, "{\"streams\":[{\"stream\":{\"app\":\""),
			 0);
	for (i = 0; i < 300; i++)
		ck_assert_int_eq(lt_buf_append_byte(&b, 'v'), 0);
	ck_assert_int_eq(lt_buf_printf(&b, "\"},\"values\":[[\"z\",\"l\"]]}]}"),
			 0);
	ck_assert_int_eq(lt_buf_terminate(&b), 0);
	ck_assert_rejected((const char *)b.data, "stream 1 {app=\"vvvv",
			   "...: entry 1: invalid timestamp");
	dots = strstr(res.message, "...");
	ck_assert_ptr_nonnull(dots);
	ck_assert_int_le(dots - res.message, 120);
	lt_buf_free(&b);
}
END_TEST

START_TEST(test_labels)
{
	struct lt_buf b = LT_BUF_INIT;
	int i;

	ck_assert_rejected("{\"streams\":[{\"stream\":{\"1a\":\"x\"},\"values\":[]}]}",
			   "stream 1: invalid label name \"1a\"",
			   "[a-zA-Z_][a-zA-Z0-9_]*");
	ck_assert_rejected("{\"streams\":[{\"stream\":{\"a-b\":\"x\"},\"values\":[]}]}",
			   "invalid label name \"a-b\"");
	ck_assert_rejected("{\"streams\":[{\"stream\":{\"\":\"x\"},\"values\":[]}]}",
			   "invalid label name \"\"");

	/* 15 labels pass, 16 do not. */
	ck_assert_int_eq(lt_buf_printf(&b, "{\"streams\":[{\"stream\":{"), 0);
	for (i = 0; i < 15; i++)
		ck_assert_int_eq(lt_buf_printf(&b, "%s\"l%d\":\"v\"",
					       i ? "," : "", i), 0);
	ck_assert_int_eq(lt_buf_printf(&b, "},\"values\":[[\"1704067200000000001\",\"x\"]]}]}"), 0);
	ck_assert_int_eq(push_n((const char *)b.data, b.len), 0);
	lt_buf_reset(&b);
	ck_assert_int_eq(lt_buf_printf(&b, "{\"streams\":[{\"stream\":{"), 0);
	for (i = 0; i < 16; i++)
		ck_assert_int_eq(lt_buf_printf(&b, "%s\"l%d\":\"v\"",
					       i ? "," : "", i), 0);
	ck_assert_int_eq(lt_buf_printf(&b, "},\"values\":[]}]}"), 0);
	ck_assert_int_eq(lt_buf_terminate(&b), 0);
	ck_assert_rejected((const char *)b.data,
			   "stream 1: too many labels (16, limit 15)");

	/* Lengths, against a small limit. */
	lim.max_label_name_length = 4;
	lim.max_label_value_length = 3;
	ck_assert_int_eq(push("{\"streams\":[{\"stream\":{\"abcd\":\"xyz\"},"
			      "\"values\":[]}]}"),
			 0);
	ck_assert_rejected("{\"streams\":[{\"stream\":{\"abcde\":\"x\"},"
			   "\"values\":[]}]}",
			   "label name \"abcde\" is too long (5 bytes, limit 4)");
	ck_assert_rejected("{\"streams\":[{\"stream\":{\"a\":\"wxyz\"},"
			   "\"values\":[]}]}",
			   "label \"a\" value is too long (4 bytes, limit 3)");
	lt_buf_free(&b);
}
END_TEST

START_TEST(test_label_name_valid)
{
	ck_assert_int_eq(lt_label_name_valid("a", 1), 0);
	ck_assert_int_eq(lt_label_name_valid("_", 1), 0);
	ck_assert_int_eq(lt_label_name_valid("__name__", 8), 0);
	ck_assert_int_eq(lt_label_name_valid("Az_09", 5), 0);
	ck_assert_int_eq(lt_label_name_valid("", 0), -1);
	ck_assert_int_eq(lt_label_name_valid("0a", 2), -1);
	ck_assert_int_eq(lt_label_name_valid("a.b", 3), -1);
	ck_assert_int_eq(lt_label_name_valid("a b", 3), -1);
	ck_assert_int_eq(lt_label_name_valid("\xc3\xa9", 2), -1);
	ck_assert_int_eq(lt_label_name_valid("a\0b", 3), -1);
	/* The length counts, not a NUL. */
	ck_assert_int_eq(lt_label_name_valid("ab!", 2), 0);
}
END_TEST

START_TEST(test_line_size)
{
	lim.max_line_size = 5;
	ck_assert_int_eq(push(ONE("[\"1704067200000000001\",\"12345\"]")), 0);
	ck_assert_rejected(ONE("[\"1704067200000000001\",\"12345\"],[\"1704067200000000001\",\"123456\"]"),
			   "stream 1 {app=\"x\"}: entry 2: line too long "
			   "(6 bytes, limit 5)");
	/* Bytes after unescaping, not JSON text. */
	ck_assert_int_eq(push(ONE("[\"1704067200000000001\",\"\\u00e9\\u00e9\"]")), 0);
	ck_assert_rejected(ONE("[\"1704067200000000001\",\"\\u00e9\\u00e9\\u00e9\"]"),
			   "line too long (6 bytes, limit 5)");
}
END_TEST

START_TEST(test_metadata_limits)
{
	lim.max_metadata_entries = 2;
	lim.max_metadata_size = 6;
	ck_assert_int_eq(push(ONE("[\"1704067200000000001\",\"l\",{\"a\":\"bc\",\"d\":\"ef\"}]")),
			 0);
	ck_assert_rejected(ONE("[\"1704067200000000001\",\"l\",{\"a\":\"b\",\"c\":\"d\",\"e\":\"f\"}]"),
			   "entry 1: too many structured metadata items (3, "
			   "limit 2)");
	ck_assert_rejected(ONE("[\"1704067200000000001\",\"l\",{\"a\":\"bc\",\"d\":\"efg\"}]"),
			   "entry 1: structured metadata is too large (7 bytes, "
			   "limit 6)");
}
END_TEST

START_TEST(test_time_limits)
{
	/* NOW is 2024-06-01T00:00:00Z; the grace is 10 minutes. */
	ck_assert_int_eq(push(ONE("[\"2024-06-01T00:10:00Z\",\"ok\"]")), 0);
	ck_assert_rejected(ONE("[\"2024-06-01T00:10:00.000000001Z\",\"no\"]"),
			   "stream 1 {app=\"x\"}: entry 1: timestamp "
			   "2024-06-01T00:10:00.000000001Z is too far in the "
			   "future (more than 10m0s ahead of the receiver's "
			   "clock)");
	ck_assert_rejected(ONE("[\"2030-01-01\",\"no\"]"),
			   "timestamp 2030-01-01T00:00:00Z is too far in the future");
	/* No maximum age by default. */
	ck_assert_int_eq(push(ONE("[\"1970-01-01\",\"old\"]")), 0);
	lim.max_age_ns = 7 * 24 * 3600 * 1000000000LL;
	ck_assert_int_eq(push(ONE("[\"2024-05-25T00:00:00Z\",\"week\"]")), 0);
	ck_assert_rejected(ONE("[\"1970-01-01T00:00:00.000000001Z\",\"a\"],"
			       "[\"2024-05-24T23:59:59Z\",\"old\"]"),
			   "entry 1: timestamp 1970-01-01T00:00:00.000000001Z "
			   "is too old (more than 168h0m0s before the "
			   "receiver's clock)");
	ck_assert_rejected(ONE("[\"2024-05-25\",\"a\"],[\"2024-05-24T23:59:59Z\","
			       "\"old\"]"),
			   "entry 2: timestamp 2024-05-24T23:59:59Z is too old");
	lim.max_age_ns = 0;
	lim.creation_grace_ns = INT64_MAX;
	ck_assert_rejected(ONE("[\"1969-12-31T23:59:59Z\",\"a\"]"),
			   "timestamp 1969-12-31T23:59:59Z is before 1970-01-01");
	ck_assert_int_eq(push(ONE("[\"2106-02-07T06:28:15.999999999Z\",\"a\"]")),
			 0);
	ck_assert_rejected(ONE("[\"2106-02-07T06:28:16Z\",\"a\"]"),
			   "timestamp 2106-02-07T06:28:16Z is after "
			   "2106-02-07T06:28:15Z");
	ck_assert_rejected(ONE("[\"9223372036854775807\",\"a\"]"),
			   "is after 2106-02-07T06:28:15Z");
	ck_assert_rejected(ONE("[\"9999-01-01\",\"a\"]"), "invalid timestamp",
			   "out of the range");
}
END_TEST

/* Loki JSON's timestamps are nanoseconds: a number below 1e17 (before
 * 1973-03-03T09:46:40Z) is refused as the entry, naming the unit its size
 * suggests and the value in nanoseconds when that fits an int64.  The
 * expected texts are worked out by hand. */
static const struct {
	const char *ts, *why;
} unit_cases[] = {
	{"1704067200", "timestamp \"1704067200\" looks like seconds, not "
	 "nanoseconds since 1970 (it would be 1970-01-01T00:00:01.7040672Z); "
	 "send \"1704067200000000000\""},
	{"1704067200000", "timestamp \"1704067200000\" looks like milliseconds, "
	 "not nanoseconds since 1970 (it would be 1970-01-01T00:28:24.0672Z); "
	 "send \"1704067200000000000\""},
	{"1704067200000000", "timestamp \"1704067200000000\" looks like "
	 "microseconds, not nanoseconds since 1970 (it would be "
	 "1970-01-20T17:21:07.2Z); send \"1704067200000000000\""},
	{"0", "timestamp \"0\" looks like seconds, not nanoseconds since 1970 "
	 "(it would be 1970-01-01T00:00:00Z); send \"0\""},
	/* The boundaries; nine digits more than an int64 holds: no value. */
	{"99999999999", "timestamp \"99999999999\" looks like seconds, not "
	 "nanoseconds since 1970 (it would be 1970-01-01T00:01:39.999999999Z)"},
	{"100000000000", "timestamp \"100000000000\" looks like milliseconds, "
	 "not nanoseconds since 1970 (it would be 1970-01-01T00:01:40Z); send "
	 "\"100000000000000000\""},
	{"99999999999999", "timestamp \"99999999999999\" looks like "
	 "milliseconds, not nanoseconds since 1970 (it would be "
	 "1970-01-02T03:46:39.999999999Z)"},
	{"100000000000000", "timestamp \"100000000000000\" looks like "
	 "microseconds, not nanoseconds since 1970 (it would be "
	 "1970-01-02T03:46:40Z); send \"100000000000000000\""},
	{"99999999999999999", "timestamp \"99999999999999999\" looks like "
	 "microseconds, not nanoseconds since 1970 (it would be "
	 "1973-03-03T09:46:39.999999999Z)"},
	{"000001704067200", "timestamp \"1704067200\" looks like seconds, not "
	 "nanoseconds since 1970 (it would be 1970-01-01T00:00:01.7040672Z); "
	 "send \"1704067200000000000\""},
};

START_TEST(test_timestamp_units)
{
	char body[256], want[512];

	(void)snprintf(body, sizeof(body), ONE("[\"%s\",\"x\"],"
		       "[\"2024-01-01\",\"kept\"]"), unit_cases[_i].ts);
	ck_assert_int_eq(push(body), 0);
	ck_assert_uint_eq(res.rejected, 1);
	ck_assert_uint_eq(res.accepted, 1);
	(void)snprintf(want, sizeof(want), "stream 1 {app=\"x\"}: entry 1: %s",
		       unit_cases[_i].why);
	ck_assert_str_eq(res.message, want);
	ck_assert_str_eq(rec_text(&rec), "S app=x\nE 1704067200000000000 kept\n");
}
END_TEST

/* 1e17 ns is taken; dates and RFC 3339 times, the seed's included, carry
 * their unit and are read as before, 1970 too. */
START_TEST(test_timestamp_units_taken)
{
	ck_assert_int_eq(push(ONE("[\"100000000000000000\",\"a\"],"
				  "[\"1970-01-01\",\"b\"],"
				  "[\"1970-01-01T00:00:01Z\",\"c\"]")), 0);
	ck_assert_uint_eq(res.rejected, 0);
	ck_assert_str_eq(rec_text(&rec), "S app=x\nE 100000000000000000 a\n"
					 "E 0 b\nE 1000000000 c\n");
}
END_TEST

START_TEST(test_sink_failure)
{
	static const char body[] =
	    "{\"streams\":[{\"stream\":{\"app\":\"x\"},"
	    "\"values\":[[\"1704067200000000001\",\"a\"],[\"1704067200000000002\",\"b\"]]}]}";

	rec.fail_at = 1;
	ck_assert_int_eq(push(body), -1);
	ck_assert_int_eq(res.status, 503);
	ck_assert_str_eq(res.message, "out of memory");
	rec.calls = 0;
	rec.fail_at = 3;
	ck_assert_int_eq(push(body), -1);
	ck_assert_int_eq(res.status, 503);
	ck_assert_str_eq(res.message, "out of memory");
	/* A NULL sink only validates. */
	ck_assert_int_eq(lt_push_parse_json(body, strlen(body), &lim, NOW_NS,
					    NULL, &res),
			 0);
	ck_assert_uint_eq(res.accepted, 2);
}
END_TEST

START_TEST(test_partial)
{
	/* Loki's rule: the good entries are kept, the bad ones listed. */
	lim.max_line_size = 3;
	ck_assert_int_eq(
	    push("{\"streams\":[{\"stream\":{\"app\":\"a\"},\"values\":["
		 "[\"1704067200000000001\",\"ok\"],[\"1704067200000000002\",\"long\"],[\"x\",\"no\"],[\"1704067200000000003\",\"yes\"]]},"
		 "{\"stream\":{\"app\":\"\"},\"values\":[[\"1704067200000000001\",\"z\"],[\"1704067200000000001\",\"z\"]]},"
		 "{\"stream\":{\"app\":\"c\"},\"values\":[[\"1704067200000000004\",\"end\"]]}]}"),
	    0);
	ck_assert_int_eq(res.status, 0);
	ck_assert_uint_eq(res.accepted, 3);
	ck_assert_uint_eq(res.accepted_bytes, 8);
	ck_assert_uint_eq(res.rejected, 4);
	ck_assert_uint_eq(res.n_reasons, 3);
	ck_assert_int_eq(res.reasons_cut, 0);
	ck_assert_str_eq(res.message,
			 "stream 1 {app=\"a\"}: entry 2: line too long (4 bytes, limit 3)\n"
			 "stream 1 {app=\"a\"}: entry 3: invalid timestamp \"x\": not a "
			 "number of unix nanoseconds, a date (2024-01-01) or an RFC 3339 time\n"
			 "stream 2: at least one label pair is required per stream "
			 "(labels with an empty value are left out)");
	ck_assert_str_eq(rec_text(&rec), "S app=a\nE 1704067200000000001 ok\nE 1704067200000000003 yes\nS app=c\nE 1704067200000000004 end\n");
}
END_TEST

/* Loki leaves out a label with an empty value and keeps the entries:
 * {app="x",env=""} is the stream {app="x"}.  It is left out before the
 * duplicate names and the label count are checked; a stream left with no
 * label is refused in Loki's words. */
START_TEST(test_empty_label_values)
{
	struct lt_buf b = LT_BUF_INIT;
	int i;

	ck_assert_int_eq(
	    push("{\"streams\":[{\"stream\":{\"app\":\"x\",\"env\":\"\"},"
		 "\"values\":[[\"2024-01-01\",\"one\"]]},"
		 "{\"stream\":{\"app\":\"x\"},\"values\":[[\"2024-01-01\",\"two\"]]},"
		 "{\"stream\":{\"a\":\"\",\"app\":\"y\",\"z\":\"\"},"
		 "\"values\":[[\"2024-01-01\",\"three\"]]}]}"),
	    0);
	ck_assert_uint_eq(res.accepted, 3);
	ck_assert_uint_eq(res.rejected, 0);
	ck_assert_str_eq(rec_text(&rec), "S app=x\nE 1704067200000000000 one\n"
					 "S app=x\nE 1704067200000000000 two\n"
					 "S app=y\nE 1704067200000000000 three\n");

	/* Nothing left: refused, and the message says why. */
	rec.log.len = 0;
	ck_assert_rejected("{\"streams\":[{\"stream\":{\"env\":\"\"},"
			   "\"values\":[[\"2024-01-01\",\"l\"],[\"2024-01-01\",\"m\"]]}]}",
			   "stream 1: at least one label pair is required per "
			   "stream (labels with an empty value are left out)");
	ck_assert_uint_eq(res.rejected, 2);
	ck_assert_uint_eq(res.accepted, 0);

	/* Left out before they are counted: 15 labels and one empty pass.
	 * (A name twice is a duplicate JSON key, refused as malformed; the
	 * duplicate names come in label text, test_empty_label_values_text.) */
	ck_assert_int_eq(lt_buf_printf(&b, "{\"streams\":[{\"stream\":{"
				       "\"e\":\"\""), 0);
	for (i = 0; i < 15; i++)
		ck_assert_int_eq(lt_buf_printf(&b, ",\"l%d\":\"v\"", i), 0);
	ck_assert_int_eq(lt_buf_printf(&b, "},\"values\":[[\"2024-01-01\","
				       "\"x\"]]}]}"), 0);
	ck_assert_int_eq(push_n((const char *)b.data, b.len), 0);
	ck_assert_uint_eq(res.accepted, 1);
	ck_assert_uint_eq(res.rejected, 0);
	lt_buf_free(&b);
}
END_TEST

/* The same in Loki's legacy JSON push, whose labels are text; a name
 * repeated with an empty value is left out before the duplicates are
 * looked for. */
START_TEST(test_empty_label_values_text)
{
	ck_assert_int_eq(
	    push("{\"streams\":[{\"labels\":\"{app=\\\"x\\\", env=\\\"\\\", "
		 "app=\\\"\\\"}\",\"entries\":[{\"ts\":\"2024-01-01\",\"line\":\"one\"}]},"
		 "{\"labels\":\"{env=\\\"\\\"}\",\"entries\":[{\"ts\":\"2024-01-01\","
		 "\"line\":\"two\"}]}]}"),
	    0);
	ck_assert_uint_eq(res.accepted, 1);
	ck_assert_uint_eq(res.rejected, 1);
	ck_assert_str_eq(rec_text(&rec), "S app=x\nE 1704067200000000000 one\n");
	ck_assert_str_eq(res.message, "stream 2: at least one label pair is "
			 "required per stream (labels with an empty value are "
			 "left out)");
}
END_TEST

START_TEST(test_partial_nothing_kept)
{
	/* A stream whose every entry is rejected never reaches the sink. */
	lim.max_line_size = 1;
	ck_assert_rejected(ONE("[\"1704067200000000001\",\"ab\"],[\"1704067200000000002\",\"cd\"]"),
			   "entry 1: line too long", "entry 2: line too long");
	ck_assert_uint_eq(res.accepted, 0);
	ck_assert_uint_eq(res.rejected, 2);
	ck_assert_uint_eq(rec.log.len, 0);
}
END_TEST

START_TEST(test_reasons_capped)
{
	struct lt_buf b = LT_BUF_INIT;
	int i;

	lim.max_line_size = 0;
	ck_assert_int_eq(lt_buf_printf(&b, "{\"streams\":[{\"stream\":{\"a\":"
					   "\"b\"},\"values\":["), 0);
	for (i = 0; i < 50; i++)
		ck_assert_int_eq(lt_buf_printf(&b, "%s[\"1704067200000000001\",\"x\"]", i ? "," : ""),
				 0);
	ck_assert_int_eq(lt_buf_printf(&b, "]}]}"), 0);
	ck_assert_int_eq(push_n((const char *)b.data, b.len), 0);
	ck_assert_uint_eq(res.rejected, 50);
	ck_assert_uint_eq(res.n_reasons, LT_PUSH_REASONS);
	ck_assert_int_eq(res.reasons_cut, 1);
	ck_assert_ptr_nonnull(strstr(res.message, "entry 10: line too long"));
	ck_assert_ptr_null(strstr(res.message, "entry 11:"));
	lt_buf_free(&b);
}
END_TEST

START_TEST(test_legacy_json)
{
	/* Loki's legacy push (/api/prom/push): label text and "ts"/"line". */
	ck_assert_int_eq(
	    push("{\"streams\":[{\"labels\":\"{job=\\\"x\\\", app=\\\"q\\\\\\\"\\\"}\","
		 "\"entries\":[{\"ts\":\"2024-01-01T00:00:00.000000001Z\",\"line\":\"one\"},"
		 "{\"ts\":\"1704067200000000002\",\"line\":\"two\"}]}]}"),
	    0);
	ck_assert_uint_eq(res.rejected, 0);
	ck_assert_str_eq(rec_text(&rec), "S app=q\",job=x\n"
					 "E 1704067200000000001 one\n"
					 "E 1704067200000000002 two\n");
	ck_assert_rejected("{\"streams\":[{\"labels\":\"{job=x}\",\"entries\":"
			   "[{\"ts\":\"1704067200000000001\",\"line\":\"l\"}]}]}",
			   "stream 1: invalid labels: ");
	ck_assert_uint_eq(res.rejected, 1);
	ck_assert_rejected("{\"streams\":[{\"labels\":\"{a=\\\"1\\\",a=\\\"2\\\"}\","
			   "\"entries\":[]}]}",
			   "stream 1: duplicate label name \"a\"");
	ck_assert_refused("{\"streams\":[{\"labels\":\"{a=\\\"1\\\"}\",\"entries\":"
			  "[{\"line\":\"l\"}]}]}", "entry 1: no \"ts\"");
	ck_assert_refused("{\"streams\":[{\"labels\":\"{a=\\\"1\\\"}\"}]}",
			  "stream 1: no \"entries\" array");
	ck_assert_refused("{\"streams\":[{\"labels\":7,\"entries\":[]}]}",
			  "stream 1: \"labels\" is not a string");
}
END_TEST

/* A minimal protobuf writer for the tests of the protobuf front end; the
 * wire decoder itself is tested against protoc-c's encoder in
 * test-loki-proto. */
static void
pb_varint(struct lt_buf *b, uint64_t v)
{
	ck_assert_int_eq(lt_buf_append_varint(b, v), 0);
}

static void
pb_bytes(struct lt_buf *b, unsigned field, const void *p, size_t n)
{
	pb_varint(b, (uint64_t)field << 3 | 2);
	pb_varint(b, n);
	ck_assert_int_eq(lt_buf_append(b, p, n), 0);
}

static void
pb_entry(struct lt_buf *stream, int64_t s, int32_t ns, const char *line,
	 const char *md_name, const char *md_value)
{
	struct lt_buf e = LT_BUF_INIT, t = LT_BUF_INIT, m = LT_BUF_INIT;

	pb_varint(&t, 1 << 3);
	pb_varint(&t, (uint64_t)s);
	pb_varint(&t, 2 << 3);
	pb_varint(&t, (uint64_t)(int64_t)ns);
	pb_bytes(&e, 1, t.data, t.len);
	pb_bytes(&e, 2, line, strlen(line));
	if (md_name != NULL) {
		pb_bytes(&m, 1, md_name, strlen(md_name));
		pb_bytes(&m, 2, md_value, strlen(md_value));
		pb_bytes(&e, 3, m.data, m.len);
	}
	pb_bytes(stream, 2, e.data, e.len);
	lt_buf_free(&e);
	lt_buf_free(&t);
	lt_buf_free(&m);
}

static int
push_pb(const struct lt_buf *b)
{
	return lt_push_parse_proto(b->data, b->len, &lim, NOW_NS, &sink, &res);
}

START_TEST(test_proto)
{
	struct lt_buf req = LT_BUF_INIT, st = LT_BUF_INIT;
	static const char labels[] = "{app=\"api\", level=\"in\\\"fo\"}";

	pb_bytes(&st, 1, labels, strlen(labels));
	pb_entry(&st, 1704067200, 123456789, "first", "trace_id", "abc");
	pb_entry(&st, 1704067200, 1000000000, "bad nanos", NULL, NULL);
	pb_entry(&st, 1704067201, 0, "second", NULL, NULL);
	pb_bytes(&req, 1, st.data, st.len);
	lt_buf_reset(&st);
	pb_bytes(&st, 1, "{app=api}", 9);
	pb_entry(&st, 1, 0, "unquoted", NULL, NULL);
	pb_bytes(&req, 1, st.data, st.len);

	ck_assert_int_eq(push_pb(&req), 0);
	ck_assert_uint_eq(res.accepted, 2);
	ck_assert_uint_eq(res.accepted_bytes, 5 + 8 + 3 + 6);
	ck_assert_uint_eq(res.rejected, 2);
	ck_assert_str_eq(rec_text(&rec), "S app=api,level=in\"fo\n"
					 "E 1704067200123456789 first [trace_id=abc]\n"
					 "E 1704067201000000000 second\n");
	ck_assert_ptr_nonnull(strstr(res.message,
		"stream 1 {app=\"api\",level=\"in\\\"fo\"}: entry 2: invalid "
		"timestamp: nanos 1000000000 is outside 0 to 999999999"));
	ck_assert_ptr_nonnull(strstr(res.message, "stream 2: invalid labels: "));

	/* A body that is not a PushRequest refuses the whole push. */
	req.len -= 3;
	ck_assert_int_eq(push_pb(&req), -1);
	ck_assert_int_eq(res.status, 400);
	ck_assert_msg(strncmp(res.message, "malformed protobuf push: ", 25) == 0,
		      "%s", res.message);
	lt_buf_free(&req);
	lt_buf_free(&st);
}
END_TEST

START_TEST(test_proto_limits)
{
	struct lt_buf req = LT_BUF_INIT, st = LT_BUF_INIT;
	static const char dup[] = "{a=\"1\", b=\"2\", a=\"3\"}";

	/* Duplicate names are an error, whatever their order. */
	pb_bytes(&st, 1, dup, strlen(dup));
	pb_entry(&st, 1, 0, "x", NULL, NULL);
	pb_bytes(&req, 1, st.data, st.len);
	ck_assert_int_eq(push_pb(&req), 0);
	ck_assert_uint_eq(res.rejected, 1);
	ck_assert_str_eq(res.message, "stream 1: duplicate label name \"a\"");

	lt_buf_reset(&req);
	lt_buf_reset(&st);
	lim.max_metadata_entries = 0;
	lim.max_label_names = 1;
	pb_bytes(&st, 1, "{a=\"1\"}", 7);
	pb_entry(&st, 1, 0, "x", "k", "v");
	pb_entry(&st, -1, 0, "x", NULL, NULL);
	pb_bytes(&req, 1, st.data, st.len);
	lt_buf_reset(&st);
	pb_bytes(&st, 1, "{a=\"1\",b=\"2\"}", 13);
	pb_bytes(&req, 1, st.data, st.len);
	ck_assert_int_eq(push_pb(&req), 0);
	ck_assert_uint_eq(res.accepted, 0);
	ck_assert_str_eq(res.message,
		"stream 1 {a=\"1\"}: entry 1: too many structured metadata items (1, limit 0)\n"
		"stream 1 {a=\"1\"}: entry 2: timestamp of -1 seconds is before 1970-01-01\n"
		"stream 2: too many labels (2, limit 1)");
	lt_buf_free(&req);
	lt_buf_free(&st);
}
END_TEST

/* Loki's protobuf push: labels with an empty value are left out before
 * the count and the duplicate names, and a stream with none left is
 * refused. */
START_TEST(test_proto_empty_label_values)
{
	struct lt_buf req = LT_BUF_INIT, st = LT_BUF_INIT;
	static const char some[] = "{app=\"x\", env=\"\", a=\"\"}";
	static const char none[] = "{env=\"\"}";

	lim.max_label_names = 1;
	pb_bytes(&st, 1, some, strlen(some));
	pb_entry(&st, 1704067200, 5, "kept", NULL, NULL);
	pb_bytes(&req, 1, st.data, st.len);
	lt_buf_reset(&st);
	pb_bytes(&st, 1, none, strlen(none));
	pb_entry(&st, 1704067200, 6, "refused", NULL, NULL);
	pb_bytes(&req, 1, st.data, st.len);
	ck_assert_int_eq(push_pb(&req), 0);
	ck_assert_uint_eq(res.accepted, 1);
	ck_assert_uint_eq(res.rejected, 1);
	ck_assert_str_eq(rec_text(&rec), "S app=x\nE 1704067200000000005 kept\n");
	ck_assert_str_eq(res.message, "stream 2: at least one label pair is "
			 "required per stream (labels with an empty value are "
			 "left out)");
	lt_buf_free(&req);
	lt_buf_free(&st);
}
END_TEST

/* Streams and entries per push: over either, the push is refused whole
 * as too large, in JSON and in protobuf, and the sink saw nothing of the
 * stream that broke the limit. */
START_TEST(test_push_size_limits)
{
	struct lt_buf req = LT_BUF_INIT, st = LT_BUF_INIT;
	static const char two[] = "{\"streams\":["
		"{\"stream\":{\"a\":\"1\"},\"values\":[[\"1704067200000000001\",\"x\"],[\"1704067200000000002\",\"y\"]]},"
		"{\"stream\":{\"a\":\"2\"},\"values\":[[\"1704067200000000003\",\"z\"]]}]}";

	lim.max_streams_per_push = 2;
	lim.max_entries_per_push = 3;
	ck_assert_int_eq(push(two), 0);
	ck_assert_uint_eq(res.accepted, 3);

	lim.max_streams_per_push = 1;
	ck_assert_int_eq(push(two), -1);
	ck_assert_int_eq(res.status, 413);
	ck_assert_str_eq(res.message, "stream 2: more than 1 streams in one "
			 "push (max_streams_per_push)");

	lim.max_streams_per_push = 2;
	lim.max_entries_per_push = 2;
	ck_assert_int_eq(push(two), -1);
	ck_assert_int_eq(res.status, 413);
	ck_assert_str_eq(res.message, "stream 2 {a=\"2\"}: entry 1: more than "
			 "2 entries in one push (max_entries_per_push)");

	/* Rejected entries count too. */
	lim.max_entries_per_push = 1;
	lim.max_line_size = 0;
	ck_assert_int_eq(push(ONE("[\"1704067200000000001\",\"x\"],[\"1704067200000000002\",\"y\"]")), -1);
	ck_assert_int_eq(res.status, 413);

	lt_limits_defaults(&lim);
	lim.max_entries_per_push = 1;
	pb_bytes(&st, 1, "{a=\"1\"}", 7);
	pb_entry(&st, 1, 0, "x", NULL, NULL);
	pb_entry(&st, 2, 0, "y", NULL, NULL);
	pb_bytes(&req, 1, st.data, st.len);
	ck_assert_int_eq(push_pb(&req), -1);
	ck_assert_int_eq(res.status, 413);
	ck_assert_str_eq(res.message, "stream 1 {a=\"1\"}: entry 2: more than "
			 "1 entries in one push (max_entries_per_push)");
	lt_buf_free(&req);
	lt_buf_free(&st);
}
END_TEST

static int64_t
ts(const char *s)
{
	const char *why = NULL;
	int64_t ns = -42;

	ck_assert_msg(lt_parse_timestamp(s, strlen(s), &ns, &why) == 0,
		      "'%s' refused: %s", s, why);
	return ns;
}

static const char *
ts_why(const char *s)
{
	const char *why = NULL;
	int64_t ns = -42;

	ck_assert_msg(lt_parse_timestamp(s, strlen(s), &ns, &why) == -1,
		      "'%s' accepted as %lld", s, (long long)ns);
	ck_assert_ptr_nonnull(why);
	ck_assert(ns == -42);
	return why;
}

START_TEST(test_parse_timestamp)
{
	const char *why;
	int64_t ns;

	ck_assert(ts("0") == 0);
	ck_assert(ts("1") == 1);
	ck_assert(ts("1704067200000000000") == JAN1_NS);
	ck_assert(ts("9223372036854775807") == INT64_MAX);
	ck_assert(ts("0000000000000000001") == 1);
	ck_assert(ts("2024-01-01") == JAN1_NS);
	ck_assert(ts("1970-01-01") == 0);
	ck_assert(ts("2024-02-29") == JAN1_NS + 59LL * 86400 * 1000000000);
	ck_assert(ts("2000-02-29") == 951782400LL * 1000000000);
	ck_assert(ts("2024-01-01T01:00:00.123456789+01:00") ==
		  JAN1_NS + 123456789);
	ck_assert(ts("2024-01-01T00:00:00Z") == JAN1_NS);
	ck_assert(ts("2024-01-01t00:00:00z") == JAN1_NS);
	ck_assert(ts("2024-01-01 00:00:00Z") == JAN1_NS);
	ck_assert(ts("2024-01-01T12:00:00.5+02:00") ==
		  JAN1_NS + 10LL * 3600 * 1000000000 + 500000000);
	ck_assert(ts("2023-12-31T19:30:00-04:30") == JAN1_NS);
	ck_assert(ts("2024-01-01T00:00:00.1Z") == JAN1_NS + 100000000);
	ck_assert(ts("2024-01-01T00:00:00.000000001Z") == JAN1_NS + 1);
	ck_assert(ts("2024-12-31T23:59:59Z") == 1735689599LL * 1000000000);
	ck_assert(ts("1969-12-31T23:59:59.5Z") == -500000000);
	ck_assert(ts("1900-01-01") == -2208988800LL * 1000000000);

	/* The length given counts, not a NUL: "2024-01-01" inside more. */
	ck_assert_int_eq(lt_parse_timestamp("2024-01-01xyz", 10, &ns, &why), 0);
	ck_assert(ns == JAN1_NS);
	ck_assert_int_eq(lt_parse_timestamp("12345", 2, &ns, &why), 0);
	ck_assert(ns == 12);

	why = ts_why("");
	ck_assert_str_eq(why, "not a number of unix nanoseconds, a date "
			      "(2024-01-01) or an RFC 3339 time");
	ts_why("-1");
	ts_why("+1");
	ts_why(" 1");
	ts_why("1 ");
	ts_why("1.5");
	ts_why("1e9");
	ts_why("0x10");
	ts_why("9223372036854775808");
	ts_why("18446744073709551616");
	ts_why("99999999999999999999");
	ts_why("00000000000000000001");
	ts_why("2024-1-01");
	ts_why("2024-01-1");
	ts_why("2024/01/01");
	ts_why("24-01-01");
	ts_why("2024-01-01T");
	ts_why("2024-01-01T00:00:00");
	ts_why("2024-01-01T00:00Z");
	ts_why("2024-01-01X00:00:00Z");
	ts_why("2024-01-01T00:00:00.Z");
	ts_why("2024-01-01T00:00:00.1234567890Z");
	ts_why("2024-01-01T00:00:00+0100");
	ts_why("2024-01-01T00:00:00+01");
	ts_why("2024-01-01T00:00:00+01:00x");
	ts_why("2024-01-01T00:00:00ZZ");
	ts_why("2024-01-01T00:00:00 Z");
	ts_why("2024-01-01T0a:00:00Z");
	ts_why("2024-13-01");
	ts_why("2024-00-01");
	ts_why("2024-01-00");
	ts_why("2024-01-32");
	ts_why("2023-02-29");
	ts_why("1900-02-29");
	ts_why("2024-04-31");
	ts_why("2024-01-01T24:00:00Z");
	ts_why("2024-01-01T23:60:00Z");
	ts_why("2024-01-01T23:59:60Z");
	ts_why("2024-01-01T00:00:00+24:00");
	ts_why("2024-01-01T00:00:00+01:60");
	ts_why("2262-04-12");
	ts_why("1677-01-01");
	ts_why("9999-12-31T23:59:59Z");
	ck_assert_int_eq(lt_parse_timestamp("2024-01-01\0002", 12, &ns, &why),
			 -1);
	ck_assert_int_eq(lt_parse_timestamp("1\0002", 3, &ns, &why), -1);
}
END_TEST

START_TEST(test_tenant)
{
	char name[152];
	const char *why = NULL;

	ck_assert_int_eq(lt_tenant_valid("fake", &why), 0);
	ck_assert_int_eq(lt_tenant_valid("a!-_.*'()Z9", &why), 0);
	ck_assert_int_eq(lt_tenant_valid("...", &why), 0);
	ck_assert_int_eq(lt_tenant_valid(".a", &why), 0);

	ck_assert_int_eq(lt_tenant_valid("", &why), -1);
	ck_assert_str_eq(why, "is empty");
	ck_assert_int_eq(lt_tenant_valid(".", &why), -1);
	ck_assert_str_eq(why, "must not be \".\" or \"..\"");
	ck_assert_int_eq(lt_tenant_valid("..", &why), -1);
	ck_assert_str_eq(why, "must not be \".\" or \"..\"");
	ck_assert_int_eq(lt_tenant_valid("../x", &why), -1);
	ck_assert_str_eq(why, "contains a character other than letters, "
			      "digits and !-_.*'()");
	ck_assert_int_eq(lt_tenant_valid("a/b", &why), -1);
	ck_assert_int_eq(lt_tenant_valid("a b", &why), -1);
	ck_assert_int_eq(lt_tenant_valid("a\\b", &why), -1);
	ck_assert_int_eq(lt_tenant_valid("a|b", &why), -1);
	ck_assert_int_eq(lt_tenant_valid("\xc3\xa9", &why), -1);

	memset(name, 'a', sizeof(name));
	name[150] = '\0';
	ck_assert_int_eq(lt_tenant_valid(name, &why), 0);
	name[150] = 'a';
	name[151] = '\0';
	ck_assert_int_eq(lt_tenant_valid(name, &why), -1);
	ck_assert_str_eq(why, "is longer than 150 bytes");
}
END_TEST

/* Loki's discover_log_levels: every accepted entry gets detected_level,
 * in its sorted place among the metadata; one sent is normalized, an
 * empty one filled in; none counts toward the size limit or the bytes
 * of the rate limit. */
START_TEST(test_detected_level)
{
	lim.discover_log_levels = 1;
	ck_assert_int_eq(push("{\"streams\":[{\"stream\":{\"app\":\"x\"},"
		"\"values\":[[\"1704067200000000001\",\"level=error msg=x\"],"
		"[\"1704067200000000002\",\"hi\",{\"trace_id\":\"abc\",\"a\":\"1\"}],"
		"[\"1704067200000000003\",\"x\",{\"detected_level\":\"WARNING\"}],"
		"[\"1704067200000000004\",\"lvl=dbg\",{\"detected_level\":\"\"}],"
		"[\"1704067200000000005\",\"x\",{\"detected_level\":\"notice\"}]]},"
		"{\"stream\":{\"level\":\"Info\",\"app\":\"y\"},"
		"\"values\":[[\"1704067200000000006\",\"level=error\"]]}]}"), 0);
	ck_assert_uint_eq(res.accepted, 6);
	ck_assert_str_eq(rec_text(&rec),
		"S app=x\n"
		"E 1704067200000000001 level=error msg=x [detected_level=error]\n"
		"E 1704067200000000002 hi [a=1,detected_level=unknown,trace_id=abc]\n"
		"E 1704067200000000003 x [detected_level=warn]\n"
		"E 1704067200000000004 lvl=dbg [detected_level=debug]\n"
		"E 1704067200000000005 x [detected_level=notice]\n"
		"S app=y,level=Info\n"
		"E 1704067200000000006 level=error [detected_level=info]\n");
	/* Lines, then a=1 and trace_id=abc: 17 + 2 + 1 + 7 + 1 + 11, and
	 * 2 + 11. */
	ck_assert_uint_eq(res.accepted_bytes, 39 + 13);

	/* detected_level is left out of max_metadata_size, even as sent
	 * and with discover_log_levels off. */
	teardown();
	setup();
	lim.max_metadata_size = 3;
	ck_assert_int_eq(push(ONE("[\"1704067200000000001\",\"x\",{\"detected_level\":\"critical\"}],"
				  "[\"1704067200000000002\",\"y\",{\"ab\":\"cd\"}]")), 0);
	ck_assert_uint_eq(res.accepted, 1);
	ck_assert_uint_eq(res.accepted_bytes, 1);
	ck_assert_ptr_nonnull(strstr(res.message, "entry 2: structured "
				     "metadata is too large (4 bytes, limit 3)"));
	ck_assert_str_eq(rec_text(&rec), "S app=x\nE 1704067200000000001 x [detected_level=critical]\n");
}
END_TEST

START_TEST(test_detected_level_off)
{
	ck_assert_int_eq(push(ONE("[\"1704067200000000001\",\"level=error msg=x\"]")), 0);
	ck_assert_str_eq(rec_text(&rec), "S app=x\nE 1704067200000000001 level=error msg=x\n");
}
END_TEST

START_TEST(test_detected_level_proto)
{
	struct lt_buf req = LT_BUF_INIT, st = LT_BUF_INIT;
	static const char labels[] = "{app=\"api\"}";

	lim.discover_log_levels = 1;
	pb_bytes(&st, 1, labels, strlen(labels));
	pb_entry(&st, 1, 0, "level=warn", NULL, NULL);
	pb_entry(&st, 2, 0, "{\"msg\":\"x\"}", "severity_number", "17");
	pb_bytes(&req, 1, st.data, st.len);
	ck_assert_int_eq(push_pb(&req), 0);
	ck_assert_str_eq(rec_text(&rec), "S app=api\n"
		"E 1000000000 level=warn [detected_level=warn]\n"
		"E 2000000000 {\"msg\":\"x\"} "
		"[detected_level=error,severity_number=17]\n");
	lt_buf_free(&req);
	lt_buf_free(&st);
}
END_TEST

static Suite *
push_suite(void)
{
	Suite *s = suite_create("push");
	TCase *tc = tcase_create("json");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_seed);
	tcase_add_test(tc, test_several_streams);
	tcase_add_test(tc, test_empty_push);
	tcase_add_test(tc, test_metadata);
	tcase_add_test(tc, test_metadata_many_sorted);
	tcase_add_test(tc, test_timestamps_in_push);
	tcase_add_test(tc, test_nul);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_structure);
	tcase_add_test(tc, test_position_and_label_text);
	tcase_add_test(tc, test_label_text_truncated);
	tcase_add_test(tc, test_labels);
	tcase_add_test(tc, test_label_name_valid);
	tcase_add_test(tc, test_line_size);
	tcase_add_test(tc, test_push_size_limits);
	tcase_add_test(tc, test_metadata_limits);
	tcase_add_test(tc, test_time_limits);
	tcase_add_loop_test(tc, test_timestamp_units, 0,
			    (int)(sizeof(unit_cases) / sizeof(unit_cases[0])));
	tcase_add_test(tc, test_timestamp_units_taken);
	tcase_add_test(tc, test_sink_failure);
	tcase_add_test(tc, test_partial);
	tcase_add_test(tc, test_partial_nothing_kept);
	tcase_add_test(tc, test_reasons_capped);
	tcase_add_test(tc, test_legacy_json);
	tcase_add_test(tc, test_empty_label_values);
	tcase_add_test(tc, test_empty_label_values_text);
	tcase_add_test(tc, test_proto);
	tcase_add_test(tc, test_proto_limits);
	tcase_add_test(tc, test_proto_empty_label_values);
	tcase_add_test(tc, test_detected_level);
	tcase_add_test(tc, test_detected_level_off);
	tcase_add_test(tc, test_detected_level_proto);
	suite_add_tcase(s, tc);

	tc = tcase_create("names");
	tcase_add_test(tc, test_parse_timestamp);
	tcase_add_test(tc, test_tenant);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(push_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);

	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
