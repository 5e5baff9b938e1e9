/* The JSON reader of push_json.c: the JSON grammar itself (escapes,
 * UTF-8, numbers, nesting, duplicate keys, error positions), zero-copy
 * strings, member order, and agreement with jansson, the reader it
 * replaced, on which documents are malformed. */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "buf.h"
#include "push.h"
#include "push-rec.h"

#define NOW_NS 1717200000000000000LL

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
	lim.creation_grace_ns = INT64_MAX;
	/* The reader's tests see entries as sent (test-level tests the
	 * level Loki adds). */
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
	lt_buf_reset(&rec.log);
	return lt_push_parse_json(body, len, &lim, NOW_NS, &sink, &res);
}

static int
push(const char *body)
{
	return push_n(body, strlen(body));
}

static int
malformed_msg(void)
{
	return res.status == 400 &&
	       strncmp(res.message, "malformed JSON at line ", 23) == 0;
}

/* body (of len bytes) is refused as malformed JSON, and jansson agrees. */
static void
malformed_n(const char *body, size_t len)
{
	json_error_t e;
	json_t *j;

	ck_assert_msg(push_n(body, len) == -1 && malformed_msg(),
		      "'%.*s' not malformed: %d %s", (int)len, body,
		      res.status, res.message);
	ck_assert_msg(strstr(res.message, "(byte ") != NULL, "%s",
		      res.message);
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &e);
	ck_assert_msg(j == NULL, "jansson accepts '%.*s'", (int)len, body);
}

static void
malformed(const char *body)
{
	malformed_n(body, strlen(body));
}

/* body is a good push of one entry, whose line is then in the log. */
static void
accepted(const char *body)
{
	json_error_t e;
	json_t *j;

	ck_assert_msg(push(body) == 0 && res.accepted == 1,
		      "'%s' refused: %s", body, res.message);
	j = json_loads(body, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &e);
	ck_assert_msg(j != NULL, "jansson refuses '%s': %s", body, e.text);
	json_decref(j);
}

/* A push of one entry whose line is the JSON text lit. */
#define LINE(lit) "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":" \
	"[[\"1704067200000000001\",\"" lit "\"]]}]}"
/* A good push with one more top-level member whose value is the text. */
#define EXTRA(lit) "{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":" \
	"[[\"1704067200000000001\",\"l\"]]}],\"x\":" lit "}"

START_TEST(test_escapes)
{
	static const char want[] = "S a=b\nE 1704067200000000001 \"\\/\b\f\n\r\t"
				   "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
				   "A\xc3\xa9z\n";

	accepted(LINE("\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u20AC"
		      "\\ud83d\\uDE00\\u0041\\u00E9z"));
	ck_assert_uint_eq(rec.log.len, sizeof(want) - 1);
	ck_assert(memcmp(rec.log.data, want, rec.log.len) == 0);
	/* U+0000 is allowed in values, not in keys. */
	accepted(LINE("x\\u0000y"));
	ck_assert(memcmp(rec.log.data, "S a=b\nE 1704067200000000001 x\0y\n", 14) == 0);
	malformed(EXTRA("{\"k\\u0000\":1}"));
	malformed(LINE("\\x41"));
	malformed(LINE("\\U0041"));
	malformed(LINE("\\u00g1"));
	malformed(LINE("\\u004"));
	malformed(LINE("\\'"));
	malformed(LINE("\\"));
	malformed("{\"streams\":[],\"x\":\"\\u12");
	malformed("{\"streams\":[],\"x\":\"abc");
	/* Raw control bytes are not allowed, DEL is. */
	malformed(LINE("a\tb"));
	malformed(LINE("a\nb"));
	malformed_n(LINE("a\0b"), sizeof(LINE("a\0b")) - 1);
	accepted(LINE("a\x7f" "b"));
}
END_TEST

START_TEST(test_surrogates)
{
	accepted(LINE("\\ud800\\udc00"));
	accepted(LINE("\\udbff\\udfff"));
	ck_assert_ptr_nonnull(strstr(rec_text(&rec), "E 1704067200000000001 \xf4\x8f\xbf\xbf\n"));
	malformed(LINE("\\ud800"));
	malformed(LINE("\\ud800x"));
	malformed(LINE("\\ud800\\u0041"));
	malformed(LINE("\\ud800\\ud800"));
	malformed(LINE("\\udc00"));
	malformed(LINE("\\udc00\\ud800"));
	malformed(LINE("\\ud800\\n"));
	malformed("{\"streams\":[],\"x\":\"\\ud800\\u");
}
END_TEST

START_TEST(test_utf8)
{
	accepted(LINE("\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf"
		      "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"));
	malformed(LINE("\xc0\x80"));          /* overlong NUL */
	malformed(LINE("\xc1\xbf"));          /* overlong */
	malformed(LINE("\xe0\x80\x80"));      /* overlong 3 */
	malformed(LINE("\xf0\x80\x80\x80"));  /* overlong 4 */
	malformed(LINE("\xed\xa0\x80"));      /* surrogate U+D800 */
	malformed(LINE("\xed\xbf\xbf"));      /* surrogate U+DFFF */
	malformed(LINE("\xf4\x90\x80\x80"));  /* above U+10FFFF */
	malformed(LINE("\xf5\x80\x80\x80"));
	malformed(LINE("\xff"));
	malformed(LINE("\x80"));              /* a lone continuation */
	malformed(LINE("\xe2\x82"));          /* truncated */
	malformed(LINE("a\xe2\x82"));
	malformed("{\"streams\":[],\"x\":\"\xe2\x82");
	malformed(LINE("\xc3\xa9\xc3"));
	/* In a key and outside strings too. */
	malformed(EXTRA("{\"\xff\":1}"));
	malformed("{\"streams\":[]}\xc3\xa9");
	malformed("\xef\xbb\xbf{\"streams\":[]}"); /* a BOM */
	/* Long lines, so that the wide scan meets them at any offset. */
	accepted(LINE("0123456789abcdef0123456789abcdef\xc3\xa9"
		      "0123456789abcdef0123456789abcde\xe2\x82\xac"
		      "0123456789abcdef\\n0123456789abcdef\\u00e9"));
	malformed(LINE("0123456789abcdef0123456789abcdef0123456789\xe2\x82"));
	malformed(LINE("0123456789abcdef0123456789abcdef0123456\x1f"));
}
END_TEST

START_TEST(test_numbers)
{
	static const char *const good[] = {
		"0", "-0", "1", "-1", "1e5", "1E5", "1.5E-3", "-1.25e+10",
		"0.0", "10", "123456789", "9223372036854775807",
		"-9223372036854775808", "1e308", "1.7976931348623157e308",
		"1e-400", "0e99999", "0.000001e-300",
		"123456789012345678901234567890.5",
	};
	static const char *const bad_[] = {
		"01", "-01", "1.", ".5", "+1", "1e", "1e+", "1E-", "-", "--1",
		"1.e5", "0x1", "1_0", "1.5.5", "1e5e5", "- 1", "NaN",
		"Infinity", "-Infinity", "9223372036854775808",
		"-9223372036854775809", "99999999999999999999", "1e400",
		"-1e400", "1.8e308", "1000000000000000000000000000000e300",
	};
	char body[256];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		(void)snprintf(body, sizeof(body), EXTRA("%s"), good[i]);
		accepted(body);
		(void)snprintf(body, sizeof(body), EXTRA("[%s,{\"n\":%s}]"),
			       good[i], good[i]);
		accepted(body);
	}
	for (i = 0; i < sizeof(bad_) / sizeof(bad_[0]); i++) {
		(void)snprintf(body, sizeof(body), EXTRA("%s"), bad_[i]);
		malformed(body);
		(void)snprintf(body, sizeof(body), EXTRA("[%s]"), bad_[i]);
		malformed(body);
	}
	/* A number ends the body. */
	malformed("{\"streams\":[],\"x\":1");
	malformed("{\"streams\":[],\"x\":-");
}
END_TEST

START_TEST(test_literals)
{
	accepted(EXTRA("true"));
	accepted(EXTRA("false"));
	accepted(EXTRA("null"));
	accepted(EXTRA("[true,false,null,\"s\",1,{},[]]"));
	malformed(EXTRA("tru"));
	malformed(EXTRA("True"));
	malformed(EXTRA("nul"));
	malformed(EXTRA("nulll"));
	malformed(EXTRA("undefined"));
	malformed(EXTRA("'s'"));
	malformed("{\"streams\":[],\"x\":t");
	malformed("{\"streams\":[],\"x\":fals");
}
END_TEST

/* A body whose member "x" nests n arrays or objects around mid. */
static char *
nested(int n, const char *open, const char *mid, const char *close)
{
	struct lt_buf b = LT_BUF_INIT;
	int i;

	ck_assert_int_eq(lt_buf_printf(&b, "{\"streams\":[],\"x\":"), 0);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(lt_buf_printf(&b, "%s", open), 0);
	ck_assert_int_eq(lt_buf_printf(&b, "%s", mid), 0);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(lt_buf_printf(&b, "%s", close), 0);
	ck_assert_int_eq(lt_buf_printf(&b, "}"), 0);
	ck_assert_int_eq(lt_buf_terminate(&b), 0);
	return (char *)b.data;
}

START_TEST(test_depth)
{
	char *s;

	/* The top object is level 1: 63 more levels are allowed. */
	s = nested(63, "[", "", "]");
	ck_assert_int_eq(push(s), 0);
	free(s);
	s = nested(63, "{\"k\":", "1", "}");
	ck_assert_int_eq(push(s), 0);
	free(s);
	s = nested(64, "[", "", "]");
	ck_assert_int_eq(push(s), -1);
	ck_assert(malformed_msg());
	ck_assert_ptr_nonnull(strstr(res.message, "nesting too deep"));
	free(s);
	s = nested(64, "{\"k\":", "1", "}");
	ck_assert_int_eq(push(s), -1);
	ck_assert_ptr_nonnull(strstr(res.message, "nesting too deep"));
	free(s);
	/* Far deeper: refused at once, without recursion. */
	s = nested(1000000, "[", "", "]");
	ck_assert_int_eq(push(s), -1);
	ck_assert_ptr_nonnull(strstr(res.message, "nesting too deep"));
	free(s);
	/* Deep inside the push itself: in a metadata value. */
	s = nested(64, "[", "", "]");
	ck_assert_int_eq(push("{\"streams\":[{\"stream\":{\"a\":\"b\"},"
			      "\"values\":[[\"1704067200000000001\",\"l\",{\"k\":[[[]]]}]]}]}"),
			 -1);
	ck_assert_ptr_nonnull(strstr(res.message, "structured metadata \"k\" "
					       "is not a string"));
	free(s);
}
END_TEST

/* An object of n keys "k0".."k<n-1>", and one more key dup when set. */
static char *
many_keys(int n, const char *dup, int dup_first)
{
	struct lt_buf b = LT_BUF_INIT;
	int i;

	ck_assert_int_eq(lt_buf_printf(&b, "{\"streams\":[],\"x\":{"), 0);
	if (dup != NULL && dup_first)
		ck_assert_int_eq(lt_buf_printf(&b, "\"%s\":0,", dup), 0);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(lt_buf_printf(&b, "%s\"k%d\":%d", i ? "," : "",
					       i, i), 0);
	if (dup != NULL && !dup_first)
		ck_assert_int_eq(lt_buf_printf(&b, ",\"%s\":0", dup), 0);
	ck_assert_int_eq(lt_buf_printf(&b, "}}"), 0);
	ck_assert_int_eq(lt_buf_terminate(&b), 0);
	return (char *)b.data;
}

static double
seconds(void)
{
	struct timespec t;

	ck_assert_int_eq(clock_gettime(CLOCK_MONOTONIC, &t), 0);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

START_TEST(test_duplicates)
{
	double t0;
	char *s;

	malformed(EXTRA("{\"a\":1,\"a\":2}"));
	malformed(EXTRA("{\"a\":1,\"\\u0061\":2}"));
	malformed(EXTRA("{\"\":1,\"\":2}"));
	malformed(EXTRA("[{\"a\":{\"b\":1,\"b\":1}}]"));
	ck_assert_ptr_nonnull(strstr(res.message, "duplicate object key \"b\""));
	accepted(EXTRA("{\"a\":1,\"A\":2,\"a \":3,\"ab\":{\"a\":1},\"b\":{\"a\":1}}"));
	malformed("{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[],"
		  "\"values\":[]}]}");
	malformed("{\"streams\":[{\"stream\":{\"a\":\"b\"},\"stream\":{}}]}");
	malformed("{\"streams\":[{\"labels\":\"{a=\\\"b\\\"}\",\"entries\":"
		  "[{\"ts\":\"1\",\"line\":\"l\",\"ts\":\"2\"}]}]}");

	/* 50,000 keys: sorted, not compared pairwise. */
	s = many_keys(50000, NULL, 0);
	t0 = seconds();
	ck_assert_int_eq(push(s), 0);
	ck_assert_msg(seconds() - t0 < 3.0, "50k keys took %.2f s",
		      seconds() - t0);
	free(s);
	s = many_keys(50000, "k49999", 0);
	malformed(s);
	ck_assert_ptr_nonnull(strstr(res.message, "duplicate object key \"k49999\""));
	free(s);
	s = many_keys(50000, "k7", 1);
	malformed(s);
	free(s);
	s = many_keys(20, "k3", 0);
	malformed(s);
	free(s);
}
END_TEST

START_TEST(test_position)
{
	static const char body[] = "{\n  \"streams\": [\n    {\"stream\": x}\n]}";

	ck_assert_int_eq(push(body), -1);
	ck_assert_str_eq(res.message, "malformed JSON at line 3, column 16 "
				      "(byte 32): expected a value near 'x'");
	ck_assert_int_eq(push("{\"streams\":[}"), -1);
	ck_assert_str_eq(res.message, "malformed JSON at line 1, column 13 "
				      "(byte 12): expected a value near '}'");
	ck_assert_int_eq(push(""), -1);
	ck_assert_str_eq(res.message, "malformed JSON at line 1, column 1 "
				      "(byte 0): '[' or '{' expected at the "
				      "end of the input");
	ck_assert_int_eq(push("{\"streams\":[]}\r\n\r\n  x"), -1);
	ck_assert_str_eq(res.message, "malformed JSON at line 3, column 3 "
				      "(byte 20): end of input expected near "
				      "'x'");
	ck_assert_int_eq(push("{\"streams\":[],\n\"a\":1,\"a\":2}"), -1);
	ck_assert_str_eq(res.message, "malformed JSON at line 2, column 7 "
				      "(byte 21): duplicate object key \"a\"");
	ck_assert_int_eq(push("{\"streams\":[],\"x\":\"\xc3\"}"), -1);
	ck_assert_str_eq(res.message, "malformed JSON at line 1, column 20 "
				      "(byte 19): invalid UTF-8 near byte 0xc3");
	/* Columns count bytes. */
	ck_assert_int_eq(push("{\"x\":\"\xc3\xa9\",\"streams\":[1,]}"), -1);
	ck_assert_ptr_nonnull(strstr(res.message, "line 1, column 24 (byte 23)"));
}
END_TEST

START_TEST(test_zero_copy)
{
	static const char plain_[] = LINE("a plain line");
	static const char esc[] = LINE("a line\\twith an escape");

	ck_assert_int_eq(push(plain_), 0);
	ck_assert(rec.last_line >= plain_ &&
		  rec.last_line < plain_ + sizeof(plain_));
	ck_assert_int_eq(push(esc), 0);
	ck_assert(rec.last_line < esc || rec.last_line >= esc + sizeof(esc));
	ck_assert_ptr_nonnull(strstr(rec_text(&rec), "E 1704067200000000001 a line\twith an escape\n"));
	/* Labels with escapes stay valid for all the stream's entries. */
	ck_assert_int_eq(push("{\"streams\":[{\"stream\":{\"\\u0061\":\"\\u0062\","
			      "\"c\":\"d\\\"\"},\"values\":[[\"1704067200000000001\",\"x\\ty\"],"
			      "[\"1704067200000000002\",\"\\u007a\"]],\"z\":\"\\n\"},{\"stream\":{"
			      "\"a\":\"\\u00e9\"},\"values\":[[\"1704067200000000003\",\"\\\\\"]]}]}"),
			 0);
	ck_assert_str_eq(rec_text(&rec), "S a=b,c=d\"\nE 1704067200000000001 x\ty\nE 1704067200000000002 z\n"
					 "S a=\xc3\xa9\nE 1704067200000000003 \\\n");
}
END_TEST

START_TEST(test_whitespace)
{
	ck_assert_int_eq(push(" \t\r\n{ \t\r\n\"streams\" \t\r\n: \t\r\n[ \n{ "
			      "\"stream\" : { \"a\" : \"b\" } , \"values\" : [ "
			      "[ \"1704067200000000001\" , \"l\" , { } ] ] } ] \n} \t\r\n"),
			 0);
	ck_assert_uint_eq(res.accepted, 1);
	malformed("\f{\"streams\":[]}");
	malformed("{\"streams\":[]\v}");
	malformed("{\"streams\":\xc2\xa0[]}");
	malformed_n("{\"streams\":[]}\0", 15);
	malformed("   ");
	malformed("{\"streams\":[],}");
	malformed("{\"streams\":[1,]}");
	malformed("{\"streams\" []}");
	malformed("{streams:[]}");
	malformed("{\"streams\":[]");
	malformed("{\"streams\":[]}}");
	malformed("{\"streams\":[][]}");
}
END_TEST

START_TEST(test_member_order)
{
	ck_assert_int_eq(push("{\"x\":[1,{\"y\":null}],\"streams\":[{\"values\":"
			      "[[\"1704067200000000001\",\"a\"],[\"1704067200000000002\",\"b\"]],\"other\":{},\"stream\":"
			      "{\"app\":\"x\"},\"labels\":7}],\"z\":\"\"}"),
			 0);
	ck_assert_str_eq(rec_text(&rec), "S app=x\nE 1704067200000000001 a\nE 1704067200000000002 b\n");
	ck_assert_int_eq(push("{\"streams\":[{\"entries\":[{\"line\":\"l\","
			      "\"x\":1,\"ts\":\"1704067200000000005\"}],\"labels\":\"{a=\\\"b\\\"}\"}]}"),
			 0);
	ck_assert_str_eq(rec_text(&rec), "S a=b\nE 1704067200000000005 l\n");
	/* With "stream" present, "labels" and "entries" mean nothing. */
	ck_assert_int_eq(push("{\"streams\":[{\"labels\":\"{a=\\\"b\\\"}\","
			      "\"entries\":[],\"stream\":{\"c\":\"d\"}}]}"),
			 -1);
	ck_assert_str_eq(res.message, "stream 1: no \"values\" array");
	/* A rejected stream counts its entries, either order. */
	lim.max_label_names = 1;
	ck_assert_int_eq(push("{\"streams\":[{\"stream\":{\"a\":\"1\",\"b\":\"2\"},"
			      "\"values\":[[\"1704067200000000001\",\"a\"],[\"x\"],3]}]}"),
			 0);
	ck_assert_uint_eq(res.rejected, 3);
	ck_assert_str_eq(res.message, "stream 1: too many labels (2, limit 1)");
	ck_assert_int_eq(push("{\"streams\":[{\"values\":[[\"1704067200000000001\",\"a\"],[\"x\"]],"
			      "\"stream\":{\"a\":\"1\",\"b\":\"2\"}}]}"),
			 0);
	ck_assert_uint_eq(res.rejected, 2);
	lim.max_label_names = 15;
	/* The checks come in the same order whatever the member order. */
	ck_assert_int_eq(push("{\"streams\":[{\"values\":5,\"stream\":{\"a\":1}}]}"),
			 -1);
	ck_assert_str_eq(res.message, "stream 1: \"values\" is not an array");
	ck_assert_int_eq(push("{\"streams\":[{\"stream\":{\"a\":1},\"values\":5}]}"),
			 -1);
	ck_assert_str_eq(res.message, "stream 1: \"values\" is not an array");
	ck_assert_int_eq(push("{\"streams\":[{\"stream\":{\"a\":1}}]}"), -1);
	ck_assert_str_eq(res.message, "stream 1: no \"values\" array");
	ck_assert_int_eq(push("{\"streams\":[{\"values\":[],\"stream\":{\"a\":1}}]}"),
			 -1);
	ck_assert_str_eq(res.message, "stream 1: label \"a\" is not a string");
	ck_assert_int_eq(push("{\"streams\":[{\"values\":[],\"stream\":5}]}"), -1);
	ck_assert_str_eq(res.message, "stream 1: \"stream\" is not an object");
	ck_assert_int_eq(push("{\"streams\":[{\"entries\":[],\"labels\":5}]}"), -1);
	ck_assert_str_eq(res.message, "stream 1: \"labels\" is not a string");
	ck_assert_int_eq(push("{\"streams\":[{\"entries\":{},\"labels\":\"{}\"}]}"),
			 -1);
	ck_assert_str_eq(res.message, "stream 1: \"entries\" is not an array");
	ck_assert_int_eq(push("{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":"
			      "[[\"1704067200000000001\",\"a\"],[5,\"b\",{},3]]}]}"),
			 -1);
	ck_assert_str_eq(res.message, "stream 1 {a=\"b\"}: entry 2: not an array "
				      "of [timestamp, line] or [timestamp, line, "
				      "{metadata}]");
	ck_assert_int_eq(push("{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":"
			      "[[\"1704067200000000001\",\"a\",{\"m\":1,\"n\":[]}]]}]}"),
			 -1);
	ck_assert_str_eq(res.message, "stream 1 {a=\"b\"}: entry 1: structured "
				      "metadata \"m\" is not a string");
	ck_assert_int_eq(push("{\"streams\":[{\"labels\":\"{a=\\\"b\\\"}\","
			      "\"entries\":[{\"ts\":1}]}]}"),
			 -1);
	ck_assert_str_eq(res.message, "stream 1 {a=\"b\"}: entry 1: no \"line\"");
}
END_TEST

START_TEST(test_syntax_beats_shape)
{
	/* jansson read the whole body first: a syntax error anywhere
	 * wins over a shape error or the entries before it. */
	malformed("{\"streams\":[3,}");
	malformed("{\"streams\":{},\"x\":[}");
	malformed("[1,2");
	malformed("{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"1704067200000000001\","
		  "\"l\"]]},{\"values\":[]}],\"streams\":[]}");
	ck_assert_uint_eq(res.accepted, 0);
	ck_assert_uint_eq(res.rejected, 0);
	ck_assert_uint_eq(res.n_reasons, 0);
	lim.max_line_size = 0;
	malformed("{\"streams\":[{\"stream\":{\"a\":\"b\"},\"values\":[[\"1704067200000000001\","
		  "\"l\"]]}],\"x\":tru}");
	ck_assert_uint_eq(res.rejected, 0);
	/* Not an object at all. */
	ck_assert_int_eq(push("[{\"streams\":[]}]"), -1);
	ck_assert_str_eq(res.message, "the body is not a JSON object");
	malformed("\"streams\"");
	malformed("3");
	malformed("null");
}
END_TEST

/* The agreement with jansson on one document: when jansson refuses it,
 * it is malformed JSON; when jansson reads it, it is not. */
static void
agree(const char *d, size_t n)
{
	json_error_t e;
	json_t *j;
	int rc;

	j = json_loadb(d, n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &e);
	rc = push_n(d, n);
	if (j == NULL)
		ck_assert_msg(rc == -1 && malformed_msg(),
			      "jansson refuses '%.*s' (%s), we say %d '%s'",
			      (int)n, d, e.text, rc, res.message);
	else if (memchr(d, '\0', n) == NULL)
		/* jansson skips a NUL byte right after a number or
		 * literal ("[1\0]" reads as [1]); we refuse it. */
		ck_assert_msg(!malformed_msg(),
			      "jansson reads '%.*s', we say '%s'", (int)n, d,
			      res.message);
	json_decref(j);
}

static uint32_t
rnd(uint32_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

START_TEST(test_differential)
{
	static const char *const corpus[] = {
		"{\"streams\":[]}",
		"{\"streams\":[{\"stream\":{\"app\":\"x\",\"lvl\":\"info\"},"
		"\"values\":[[\"1704067200000000000\",\"hello \\\"w\\u00e9\\\"\"],"
		"[\"2024-01-01\",\"two\",{\"trace\":\"abc\",\"s\":\"\\ud83d\\ude00\"}]]}]}",
		"{\"streams\":[{\"labels\":\"{a=\\\"b\\\"}\",\"entries\":[{\"ts\":"
		"\"2024-01-01T00:00:00Z\",\"line\":\"l\"}]}]}",
		"{\"x\":[1,-2.5e3,true,false,null,{\"a\":[{}]}],\"streams\":[]}",
		" {\"streams\" : [ { \"values\" : [ [ \"1\" , \"a\" ] ] , "
		"\"stream\" : { \"k\" : \"v\" } } ] } ",
		"{\"streams\":[{\"stream\":{\"a\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"},"
		"\"values\":[[\"1704067200000000001\",\"0123456789abcdef0123456789\\n\"]]}]}",
		"{\"a\":{\"b\":{\"c\":{\"d\":[[[[1]]]]}}},\"streams\":[],\"n\":"
		"-0.0e+0}",
	};
	static const char alphabet[] = "{}[]\",:\\u0123456789abcdefnrtEe.-+ \n"
				       "\x80\xc3\xa9\xed\xf4\x00";
	char buf[512];
	size_t c, n, len, k;
	uint32_t st = 12345;
	int i, m, checked = 0;

	for (c = 0; c < sizeof(corpus) / sizeof(corpus[0]); c++) {
		agree(corpus[c], strlen(corpus[c]));
		checked++;
		for (i = 0; i < 3000; i++) {
			len = strlen(corpus[c]);
			memcpy(buf, corpus[c], len);
			for (m = 0; m < 1 + (int)(rnd(&st) % 3); m++) {
				k = rnd(&st) % (len + 1);
				switch (rnd(&st) % 4) {
				case 0: /* replace */
					if (k < len)
						buf[k] = alphabet[rnd(&st) %
							 (sizeof(alphabet) - 1)];
					break;
				case 1: /* delete */
					if (k < len) {
						memmove(buf + k, buf + k + 1,
							len - k - 1);
						len--;
					}
					break;
				case 2: /* insert */
					if (len + 1 < sizeof(buf)) {
						memmove(buf + k + 1, buf + k,
							len - k);
						buf[k] = alphabet[rnd(&st) %
							 (sizeof(alphabet) - 1)];
						len++;
					}
					break;
				default: /* cut */
					len = k;
					break;
				}
			}
			n = len;
			agree(buf, n);
			checked++;
		}
	}
	ck_assert_int_gt(checked, 20000);
}
END_TEST

static Suite *
json_suite(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("reader");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_escapes);
	tcase_add_test(tc, test_surrogates);
	tcase_add_test(tc, test_utf8);
	tcase_add_test(tc, test_numbers);
	tcase_add_test(tc, test_literals);
	tcase_add_test(tc, test_depth);
	tcase_add_test(tc, test_duplicates);
	tcase_add_test(tc, test_position);
	tcase_add_test(tc, test_zero_copy);
	tcase_add_test(tc, test_whitespace);
	tcase_add_test(tc, test_member_order);
	tcase_add_test(tc, test_syntax_beats_shape);
	tcase_add_test(tc, test_differential);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(json_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
