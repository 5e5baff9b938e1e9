/* Unit tests: the query engine's reading of ClickHouse's TabSeparated
 * answers, its JSON strings, and the grouping, order and deduplication
 * of a log query's entries into Loki's answer. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clickhouse.h"
#include "query_int.h"

/* --- JSON strings --- */

static void
assert_json(const char *in, size_t len, const char *want)
{
	struct lt_buf b = LT_BUF_INIT;

	ck_assert_int_eq(lt_json_quote(&b, in, len), 0);
	ck_assert_int_eq(lt_buf_terminate(&b), 0);
	ck_assert_str_eq((const char *)b.data, want);
	lt_buf_free(&b);
}

#define JSON(lit, want) assert_json(lit, sizeof(lit) - 1, want)

START_TEST(test_json_escapes)
{
	JSON("", "\"\"");
	JSON("plain text 123", "\"plain text 123\"");
	JSON("a\"b\\c/d", "\"a\\\"b\\\\c/d\"");
	/* The short escapes, and \u00XX for the other control bytes. */
	JSON("\n\r\t\b\f", "\"\\n\\r\\t\\b\\f\"");
	JSON("\x01\x1f", "\"\\u0001\\u001f\"");
	JSON("a\0b", "\"a\\u0000b\"");
	/* DEL and < > & need nothing in JSON. */
	JSON("\x7f<>&", "\"\x7f<>&\"");
}
END_TEST

START_TEST(test_json_utf8)
{
	/* Valid sequences of 2, 3 and 4 bytes pass as they are. */
	JSON("\xc3\xa9", "\"\xc3\xa9\"");
	JSON("\xe2\x82\xac", "\"\xe2\x82\xac\"");
	JSON("\xf0\x9f\x98\x80", "\"\xf0\x9f\x98\x80\"");
	/* Each invalid byte is one U+FFFD, as Go's encoding/json writes:
	 * a stray continuation byte, a lead byte never valid, a sequence
	 * cut short (2 bytes of 3: two), an overlong '/' (two), a UTF-16
	 * surrogate (three), past U+10FFFF (four). */
	JSON("a\x80z", "\"a\\ufffdz\"");
	JSON("\xff", "\"\\ufffd\"");
	JSON("\xe2\x82", "\"\\ufffd\\ufffd\"");
	JSON("\xe2\x82x", "\"\\ufffd\\ufffdx\"");
	JSON("\xc0\xaf", "\"\\ufffd\\ufffd\"");
	JSON("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"");
	JSON("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	/* U+2028 and U+2029 escaped, as Go does. */
	JSON("\xe2\x80\xa8\xe2\x80\xa9", "\"\\u2028\\u2029\"");
}
END_TEST

/* --- TabSeparated --- */

static void
assert_unescape(const char *in, size_t len, const char *want, size_t wlen)
{
	struct lt_buf b = LT_BUF_INIT;

	ck_assert_int_eq(lt_tsv_unescape(&b, in, len), 0);
	ck_assert_uint_eq(b.len, wlen);
	if (wlen > 0)
		ck_assert_mem_eq(b.data, want, wlen);
	lt_buf_free(&b);
}

#define UNESC(lit, want) \
	assert_unescape(lit, sizeof(lit) - 1, want, sizeof(want) - 1)

START_TEST(test_tsv_unescape)
{
	UNESC("plain", "plain");
	UNESC("", "");
	/* What ClickHouse writes: \b \f \n \r \t \0 \\ \'. */
	UNESC("a\\tb\\nc", "a\tb\nc");
	UNESC("\\b\\f\\r\\0\\\\\\'", "\b\f\r\0\\'");
	/* What it reads besides: \a \v \e, \xHH, and \c for any other c. */
	UNESC("\\a\\v\\e", "\a\v\x1b");
	UNESC("\\x41\\x7e\\xfF", "A~\xff");
	UNESC("\\xZZ", "xZZ");
	UNESC("\\x4", "x4");
	UNESC("\\q\\\"\\/", "q\"/");
	/* A backslash at the very end stays. */
	UNESC("end\\", "end\\");
	/* Raw bytes pass, NUL and tabs included (a cell is already cut). */
	UNESC("x\x01\x7f\xff", "x\x01\x7f\xff");
}
END_TEST

static void
assert_item(const struct lt_strings *s, size_t i, const char *want, size_t wlen)
{
	ck_assert_uint_lt(i, s->n);
	ck_assert_uint_eq(s->items[i].len, wlen);
	if (wlen > 0)
		ck_assert_mem_eq(s->text.data + s->items[i].off, want, wlen);
}

#define ITEM(s, i, lit) assert_item(s, i, lit, sizeof(lit) - 1)

START_TEST(test_tsv_array)
{
	struct lt_strings s;
	char why[128];
	/* As ClickHouse 18.16 answered SELECT ['a=b','c\'d','t\te\nn\\x',
	 * 'q"','nul\0x\x01\x7f\b\f\r'] FORMAT TabSeparated: elements
	 * quoted, \x01 and \x7f raw. */
	static const char ch[] = "['a=b','c\\'d','t\\te\\nn\\\\x','q\"',"
				 "'nul\\0x\x01\x7f\\b\\f\\r']";

	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(lt_tsv_array(ch, sizeof(ch) - 1, &s, why, sizeof(why)), 0);
	ck_assert_uint_eq(s.n, 5);
	ITEM(&s, 0, "a=b");
	ITEM(&s, 1, "c'd");
	ITEM(&s, 2, "t\te\nn\\x");
	ITEM(&s, 3, "q\"");
	ITEM(&s, 4, "nul\0x\x01\x7f\b\f\r");

	/* Items add to what is there. */
	ck_assert_int_eq(lt_tsv_array("['x=,]']", 8, &s, why, sizeof(why)), 0);
	ck_assert_uint_eq(s.n, 6);
	ITEM(&s, 5, "x=,]");
	ITEM(&s, 0, "a=b");

	s.n = 0;
	lt_buf_reset(&s.text);
	ck_assert_int_eq(lt_tsv_array("[]", 2, &s, why, sizeof(why)), 0);
	ck_assert_uint_eq(s.n, 0);
	ck_assert_int_eq(lt_tsv_array("['']", 4, &s, why, sizeof(why)), 0);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_uint_eq(s.items[0].len, 0);
	/* Spaces ClickHouse does not write are taken anyway. */
	ck_assert_int_eq(lt_tsv_array(" [ 'a' , 'b' ] ", 15, &s, why, sizeof(why)), 0);
	ck_assert_uint_eq(s.n, 3);
	ITEM(&s, 2, "b");
	lt_strings_free(&s);
}
END_TEST

static const char *const bad_arrays[] = {
	"", "x", "[", "['a'", "['a',", "['a' 'b']", "['a']x", "[a]", "['a\\']",
	"['a',]",
};

START_TEST(test_tsv_array_bad)
{
	struct lt_strings s;
	char why[128];
	const char *in = bad_arrays[_i];

	memset(&s, 0, sizeof(s));
	why[0] = '\0';
	ck_assert_int_eq(lt_tsv_array(in, strlen(in), &s, why, sizeof(why)), -1);
	ck_assert_msg(why[0] != '\0', "no message for %s", in);
	lt_strings_free(&s);
}
END_TEST

static void
assert_label(const struct lt_label *l, const char *name, const char *value)
{
	ck_assert_uint_eq(l->name_len, strlen(name));
	ck_assert_mem_eq(l->name, name, l->name_len);
	ck_assert_uint_eq(l->value_len, strlen(value));
	ck_assert_mem_eq(l->value, value, l->value_len);
}

START_TEST(test_log_row)
{
	struct lt_log_row r;
	char why[128];
	static const char row[] =
		"1700000000123456789\t42\t['env=prod','app=api','a=x=y']\t"
		"['trace_id=abc\\'d']\tGET /a\\tb\\\\ 200\\n";
	static const char row2[] = "-5\t18446744073709551615\t[]\t[]\t";

	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(lt_log_row_parse(&r, row, sizeof(row) - 1, why,
					  sizeof(why)), 0);
	ck_assert(r.ts_ns == 1700000000123456789LL);
	ck_assert(r.stream_id == 42);
	/* Labels sorted by name, split at the first '='. */
	ck_assert_uint_eq(r.n_labels, 3);
	assert_label(&r.labels[0], "a", "x=y");
	assert_label(&r.labels[1], "app", "api");
	assert_label(&r.labels[2], "env", "prod");
	ck_assert_uint_eq(r.n_metadata, 1);
	assert_label(&r.metadata[0], "trace_id", "abc'd");
	ck_assert_uint_eq(r.msg_len, 14);
	ck_assert_mem_eq(r.msg, "GET /a\tb\\ 200\n", 14);

	/* The same memory serves the next row; an empty line, no labels. */
	ck_assert_int_eq(lt_log_row_parse(&r, row2, sizeof(row2) - 1, why,
					  sizeof(why)), 0);
	ck_assert(r.ts_ns == -5);
	ck_assert(r.stream_id == UINT64_MAX);
	ck_assert_uint_eq(r.n_labels, 0);
	ck_assert_uint_eq(r.n_metadata, 0);
	ck_assert_uint_eq(r.msg_len, 0);
	lt_log_row_free(&r);
}
END_TEST

/* A stream's label array is parsed once and kept for its later rows;
 * what decides is the array's bytes, so a row of the same stream id with
 * other labels (a collision, or a slot shared by ids 64 apart) gets its
 * own.  A message without escapes is the cell itself. */
START_TEST(test_log_row_streams)
{
	struct lt_log_row r;
	char why[128];
	static const char a1[] = "1\t7\t['app=a','env=x']\t[]\tone\ttab";
	static const char b1[] = "2\t71\t['app=b']\t['k=v']\ttwo";
	static const char a2[] = "3\t7\t['app=a','env=x']\t[]\tthree";
	static const char c1[] = "4\t7\t['app=c']\t[]\tfour";
	static const char big_head[] = "5\t7\t['app=";
	struct lt_buf big = LT_BUF_INIT;
	size_t i;

	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(lt_log_row_parse(&r, a1, sizeof(a1) - 1, why, sizeof(why)), 0);
	ck_assert_uint_eq(r.n_labels, 2);
	assert_label(&r.labels[0], "app", "a");
	assert_label(&r.labels[1], "env", "x");
	ck_assert_uint_eq(r.msg_len, 7);
	ck_assert_mem_eq(r.msg, "one\ttab", 7);
	/* 71 = 7 + 64: the same slot. */
	ck_assert_int_eq(lt_log_row_parse(&r, b1, sizeof(b1) - 1, why, sizeof(why)), 0);
	ck_assert_uint_eq(r.n_labels, 1);
	assert_label(&r.labels[0], "app", "b");
	ck_assert_uint_eq(r.n_metadata, 1);
	assert_label(&r.metadata[0], "k", "v");
	ck_assert_int_eq(lt_log_row_parse(&r, a2, sizeof(a2) - 1, why, sizeof(why)), 0);
	ck_assert_uint_eq(r.n_labels, 2);
	assert_label(&r.labels[0], "app", "a");
	assert_label(&r.labels[1], "env", "x");
	ck_assert_uint_eq(r.n_metadata, 0);
	ck_assert_mem_eq(r.msg, "three", 5);
	ck_assert_int_eq(lt_log_row_parse(&r, a2, sizeof(a2) - 1, why, sizeof(why)), 0);
	ck_assert_uint_eq(r.n_labels, 2);
	assert_label(&r.labels[1], "env", "x");
	ck_assert_int_eq(lt_log_row_parse(&r, c1, sizeof(c1) - 1, why, sizeof(why)), 0);
	ck_assert_uint_eq(r.n_labels, 1);
	assert_label(&r.labels[0], "app", "c");
	/* A label array past 4096 bytes is parsed on its own. */
	ck_assert_int_eq(lt_buf_append(&big, big_head, sizeof(big_head) - 1), 0);
	for (i = 0; i < 5000; i++)
		ck_assert_int_eq(lt_buf_append_byte(&big, 'v'), 0);
	ck_assert_int_eq(lt_buf_append(&big, "','b=2']\t['m=1']\tfive", 22), 0);
	ck_assert_int_eq(lt_log_row_parse(&r, (const char *)big.data, big.len, why,
					  sizeof(why)), 0);
	ck_assert_uint_eq(r.n_labels, 2);
	ck_assert_uint_eq(r.labels[0].value_len, 5000);
	assert_label(&r.labels[1], "b", "2");
	ck_assert_uint_eq(r.n_metadata, 1);
	assert_label(&r.metadata[0], "m", "1");
	ck_assert_mem_eq(r.msg, "five", 4);
	lt_buf_free(&big);
	lt_log_row_free(&r);
}
END_TEST

static const char *const bad_rows[] = {
	"1\t2\t[]\t[]",                       /* four cells */
	"x\t2\t[]\t[]\tm",                    /* no number */
	"1\t-2\t[]\t[]\tm",                   /* stream ids are unsigned */
	"99999999999999999999\t2\t[]\t[]\tm", /* past Int64 */
	"1\t2\t['app']\t[]\tm",               /* a label without '=' */
	"1\t2\t[]\t['k=v'\tm",                /* an array not closed */
	"Code: 159, e.displayText() = DB::Exception: Timeout exceeded",
};

START_TEST(test_log_row_bad)
{
	struct lt_log_row r;
	char why[128];
	const char *in = bad_rows[_i];

	memset(&r, 0, sizeof(r));
	why[0] = '\0';
	ck_assert_int_eq(lt_log_row_parse(&r, in, strlen(in), why, sizeof(why)), -1);
	ck_assert_msg(why[0] != '\0', "no message for %s", in);
	lt_log_row_free(&r);
}
END_TEST

/* --- ClickHouse's exception after a 200 --- */

START_TEST(test_late_exception)
{
	struct lt_ch_error e;
	static const char old[] =
		"1\t2\n3\t4\nCode: 159, e.displayText() = DB::Exception: "
		"Timeout exceeded: elapsed 1.001 seconds, maximum: 1, "
		"e.what() = DB::Exception\n";
	static const char cut[] =
		"1\t2\n3\tpartCode: 241. DB::Exception: Memory limit (for "
		"query) exceeded. (MEMORY_LIMIT_EXCEEDED) (version 24.8.1.1)\n";
	static const char tagged[] =
		"1\t2\n__exception__\r\nq1w2e3r4\r\nCode: 395. DB::Exception: "
		"boom. (FUNCTION_THROW_IF_VALUE_IS_NON_ZERO)\r\n72 q1w2e3r4\r\n"
		"__exception__\r\n";

	memset(&e, 0, sizeof(e));
	ck_assert_int_eq(lt_ch_find_late_exception(old, sizeof(old) - 1, 0, &e), 1);
	ck_assert_int_eq(e.exception_code, 159);
	ck_assert_str_eq(e.message,
			 "Code: 159, e.displayText() = DB::Exception: Timeout "
			 "exceeded: elapsed 1.001 seconds, maximum: 1, "
			 "e.what() = DB::Exception");
	ck_assert_int_eq(lt_ch_find_late_exception(cut, sizeof(cut) - 1, 0, &e), 1);
	ck_assert_int_eq(e.exception_code, 241);
	ck_assert_int_eq(strncmp(e.message, "Code: 241. DB::Exception: Memory", 32), 0);
	ck_assert_int_eq(lt_ch_find_late_exception(tagged, sizeof(tagged) - 1, 1, &e), 1);
	ck_assert_int_eq(e.exception_code, 395);
	ck_assert_str_eq(e.message, "Code: 395. DB::Exception: boom. "
				    "(FUNCTION_THROW_IF_VALUE_IS_NON_ZERO)");

	/* Rows that only look like it: not the last line, no DB::, no
	 * number; a tagged answer without its frame. */
	ck_assert_int_eq(lt_ch_find_late_exception(
		"Code: 159. DB::Exception: x\n1\t2\n", 32, 0, &e), 0);
	ck_assert_int_eq(lt_ch_find_late_exception("1\tCode: 1. nothing\n", 19, 0, &e), 0);
	ck_assert_int_eq(lt_ch_find_late_exception("Code: x. DB::E\n", 15, 0, &e), 0);
	ck_assert_int_eq(lt_ch_find_late_exception(old, sizeof(old) - 1, 1, &e), 0);
	ck_assert_int_eq(lt_ch_find_late_exception("", 0, 0, &e), 0);
	/* An empty answer has no buffer at all (UBSan: no offset from NULL). */
	ck_assert_int_eq(lt_ch_find_late_exception(NULL, 0, 0, &e), 0);
	ck_assert_int_eq(lt_ch_find_late_exception(NULL, 0, 1, &e), 0);
}
END_TEST

/* --- Grouping, order, deduplication --- */

struct sink_buf {
	struct lt_buf b;
	int writes;
	int fail;
};

static int
sink_write(void *ctx, const void *data, size_t len)
{
	struct sink_buf *s = ctx;

	s->writes++;
	if (s->fail)
		return -1;
	return lt_buf_append(&s->b, data, len);
}

static const char head[] =
	"{\"status\":\"success\",\"data\":{\"resultType\":\"streams\",\"result\":";

/* Writes r and checks the result array (between head and ,"stats") and
 * the count of entries in the stats. */
static void
assert_written(const struct lt_log_result *r, const char *result,
	       const char *entries_returned)
{
	struct sink_buf s;
	struct lt_query_sink sink;
	struct lt_log_stats st = {10, 100, 0.5};
	const char *p, *stats;
	char want[64];

	memset(&s, 0, sizeof(s));
	sink.write = sink_write;
	sink.ctx = &s;
	ck_assert_int_eq(lt_log_result_write(r, &st, &sink), 0);
	ck_assert_int_eq(lt_buf_terminate(&s.b), 0);
	p = (const char *)s.b.data;
	ck_assert_int_eq(strncmp(p, head, sizeof(head) - 1), 0);
	p += sizeof(head) - 1;
	stats = strstr(p, ",\"stats\":{\"summary\":{");
	ck_assert_ptr_nonnull(stats);
	ck_assert_uint_eq((size_t)(stats - p), strlen(result));
	ck_assert_mem_eq(p, result, strlen(result));
	(void)snprintf(want, sizeof(want), "\"totalEntriesReturned\":%s,",
		       entries_returned);
	ck_assert_ptr_nonnull(strstr(stats, want));
	/* 100 bytes, 10 lines in half a second. */
	ck_assert_ptr_nonnull(strstr(stats, "\"bytesProcessedPerSecond\":200,"
					    "\"linesProcessedPerSecond\":20,"
					    "\"totalBytesProcessed\":100,"
					    "\"totalLinesProcessed\":10,"
					    "\"execTime\":0.5"));
	ck_assert_ptr_nonnull(strstr(stats, "\"querier\":{\"store\":{"));
	ck_assert_ptr_nonnull(strstr(stats, "\"ingester\":{\"totalReached\":0"));
	/* It ends the object it began. */
	ck_assert_str_eq(p + strlen(p) - 3, "}}}");
	lt_buf_free(&s.b);
}

#define L(n, v) {n, sizeof(n) - 1, v, sizeof(v) - 1}

static int
add(struct lt_log_result *r, int64_t ts, const struct lt_label *l, size_t n,
    const char *line)
{
	return lt_log_result_add(r, ts, l, n, line, strlen(line));
}

START_TEST(test_result_backward)
{
	struct lt_log_result *r = lt_log_result_new(10, 0);
	const struct lt_label a[] = {L("app", "a")};
	const struct lt_label b[] = {L("app", "b")};

	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(add(r, 3, b, 1, "x"), 1);
	ck_assert_int_eq(add(r, 3, a, 1, "y"), 1);
	ck_assert_int_eq(add(r, 2, b, 1, "z"), 1);
	/* The same entry again is shown once; the same line at another
	 * time, or in another stream, is another entry. */
	ck_assert_int_eq(add(r, 3, b, 1, "x"), 0);
	ck_assert_int_eq(add(r, 3, b, 1, "x2"), 1);
	ck_assert_int_eq(add(r, 2, a, 1, "x"), 1);
	ck_assert_int_eq(add(r, 1, b, 1, "x"), 1);
	ck_assert_uint_eq(lt_log_result_count(r), 6);
	/* Streams by their text, {app="a"} before {app="b"}; newest first. */
	assert_written(r,
		       "[{\"stream\":{\"app\":\"a\"},\"values\":[[\"3\",\"y\"],"
		       "[\"2\",\"x\"]]},"
		       "{\"stream\":{\"app\":\"b\"},\"values\":[[\"3\",\"x\"],"
		       "[\"3\",\"x2\"],[\"2\",\"z\"],[\"1\",\"x\"]]}]",
		       "6");
	lt_log_result_free(r);
}
END_TEST

START_TEST(test_result_forward)
{
	struct lt_log_result *r = lt_log_result_new(10, 1);
	const struct lt_label a[] = {L("app", "a")};

	/* Whatever order they come in, values go oldest first. */
	ck_assert_int_eq(add(r, 5, a, 1, "five"), 1);
	ck_assert_int_eq(add(r, 1, a, 1, "one"), 1);
	ck_assert_int_eq(add(r, 3, a, 1, "three"), 1);
	assert_written(r,
		       "[{\"stream\":{\"app\":\"a\"},\"values\":[[\"1\",\"one\"],"
		       "[\"3\",\"three\"],[\"5\",\"five\"]]}]",
		       "3");
	lt_log_result_free(r);
}
END_TEST

START_TEST(test_result_stream_order)
{
	struct lt_log_result *r = lt_log_result_new(10, 0);
	const struct lt_label ax[] = {L("a", "x")};
	const struct lt_label axby[] = {L("a", "x"), L("b", "y")};
	const struct lt_label quote[] = {L("a", "x\"")};
	const struct lt_label none[] = {{NULL, 0, NULL, 0}};

	/* As Loki compares label texts: {a="x", b="y"} before {a="x"}
	 * (',' < '}'), {a="x\""} after both ('\\' > '"'), and {} after
	 * all ('a' < '}'). */
	ck_assert_int_eq(add(r, 1, quote, 1, "q"), 1);
	ck_assert_int_eq(add(r, 1, ax, 1, "1"), 1);
	ck_assert_int_eq(add(r, 1, axby, 2, "2"), 1);
	ck_assert_int_eq(add(r, 1, none, 0, "0"), 1);
	assert_written(r,
		       "[{\"stream\":{\"a\":\"x\",\"b\":\"y\"},\"values\":[[\"1\",\"2\"]]},"
		       "{\"stream\":{\"a\":\"x\"},\"values\":[[\"1\",\"1\"]]},"
		       "{\"stream\":{\"a\":\"x\\\"\"},\"values\":[[\"1\",\"q\"]]},"
		       "{\"stream\":{},\"values\":[[\"1\",\"0\"]]}]",
		       "4");
	lt_log_result_free(r);
}
END_TEST

START_TEST(test_result_limit)
{
	struct lt_log_result *r = lt_log_result_new(2, 0);
	const struct lt_label a[] = {L("app", "a")};

	ck_assert_int_eq(add(r, 3, a, 1, "1"), 1);
	ck_assert(!lt_log_result_full(r));
	/* A duplicate does not count toward the limit. */
	ck_assert_int_eq(add(r, 3, a, 1, "1"), 0);
	ck_assert(!lt_log_result_full(r));
	ck_assert_int_eq(add(r, 2, a, 1, "2"), 1);
	ck_assert(lt_log_result_full(r));
	ck_assert_int_eq(add(r, 1, a, 1, "3"), 0);
	assert_written(r,
		       "[{\"stream\":{\"app\":\"a\"},\"values\":[[\"3\",\"1\"],"
		       "[\"2\",\"2\"]]}]",
		       "2");
	lt_log_result_free(r);
}
END_TEST

START_TEST(test_result_escapes_and_empty)
{
	struct lt_log_result *r = lt_log_result_new(5, 0);
	const struct lt_label l[] = {L("k", "v\"\n\xff")};

	assert_written(r, "[]", "0");
	ck_assert_int_eq(add(r, -1, l, 1, "a\tb\x01\xc3"), 1);
	assert_written(r,
		       "[{\"stream\":{\"k\":\"v\\\"\\n\\ufffd\"},\"values\":"
		       "[[\"-1\",\"a\\tb\\u0001\\ufffd\"]]}]",
		       "1");
	lt_log_result_free(r);
}
END_TEST

START_TEST(test_result_many)
{
	/* Enough entries and streams that the tables grow, each found
	 * again as a duplicate afterwards. */
	struct lt_log_result *r = lt_log_result_new(5000, 1);
	struct lt_label l;
	char v[16], line[32];
	int i;

	for (i = 0; i < 5000; i++) {
		(void)snprintf(v, sizeof(v), "s%d", i % 300);
		(void)snprintf(line, sizeof(line), "line %d", i);
		l.name = "app";
		l.name_len = 3;
		l.value = v;
		l.value_len = strlen(v);
		ck_assert_int_eq(lt_log_result_add(r, i / 7, &l, 1, line,
						   strlen(line)), 1);
	}
	ck_assert(lt_log_result_full(r));
	lt_log_result_free(r);
	r = lt_log_result_new(5000, 1);
	for (i = 0; i < 4000; i++) {
		(void)snprintf(v, sizeof(v), "s%d", i % 300);
		(void)snprintf(line, sizeof(line), "line %d", i);
		l.value = v;
		l.value_len = strlen(v);
		ck_assert_int_eq(lt_log_result_add(r, i, &l, 1, line, strlen(line)), 1);
	}
	for (i = 0; i < 4000; i++) {
		(void)snprintf(v, sizeof(v), "s%d", i % 300);
		(void)snprintf(line, sizeof(line), "line %d", i);
		l.value = v;
		l.value_len = strlen(v);
		ck_assert_int_eq(lt_log_result_add(r, i, &l, 1, line, strlen(line)), 0);
	}
	ck_assert_uint_eq(lt_log_result_count(r), 4000);
	lt_log_result_free(r);
}
END_TEST

START_TEST(test_result_sink_fails)
{
	struct lt_log_result *r = lt_log_result_new(5, 0);
	const struct lt_label a[] = {L("app", "a")};
	struct sink_buf s;
	struct lt_query_sink sink;
	struct lt_log_stats st = {0, 0, 0};

	memset(&s, 0, sizeof(s));
	s.fail = 1;
	sink.write = sink_write;
	sink.ctx = &s;
	ck_assert_int_eq(add(r, 1, a, 1, "x"), 1);
	ck_assert_int_eq(lt_log_result_write(r, &st, &sink), -1);
	ck_assert_int_eq(s.writes, 1);
	lt_buf_free(&s.b);
	lt_log_result_free(r);
}
END_TEST

static Suite *
query_suite(void)
{
	Suite *s = suite_create("query");
	TCase *tj = tcase_create("json");
	TCase *tt = tcase_create("tsv");
	TCase *tr = tcase_create("result");

	tcase_add_test(tj, test_json_escapes);
	tcase_add_test(tj, test_json_utf8);
	suite_add_tcase(s, tj);
	tcase_add_test(tt, test_tsv_unescape);
	tcase_add_test(tt, test_tsv_array);
	tcase_add_loop_test(tt, test_tsv_array_bad, 0,
			    (int)(sizeof(bad_arrays) / sizeof(bad_arrays[0])));
	tcase_add_test(tt, test_log_row);
	tcase_add_test(tt, test_log_row_streams);
	tcase_add_loop_test(tt, test_log_row_bad, 0,
			    (int)(sizeof(bad_rows) / sizeof(bad_rows[0])));
	tcase_add_test(tt, test_late_exception);
	suite_add_tcase(s, tt);
	tcase_add_test(tr, test_result_backward);
	tcase_add_test(tr, test_result_forward);
	tcase_add_test(tr, test_result_stream_order);
	tcase_add_test(tr, test_result_limit);
	tcase_add_test(tr, test_result_escapes_and_empty);
	tcase_add_test(tr, test_result_many);
	tcase_add_test(tr, test_result_sink_fails);
	suite_add_tcase(s, tr);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(query_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
