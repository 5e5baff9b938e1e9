/* Unit tests: Grafana's detected fields (query_drill.c) without
 * ClickHouse: how a value's type is told (Go's and go-humanize's
 * parsers, as Loki calls them), and the fields of a few entries found
 * and written as Loki's query frontend does.  The expected answers are
 * worked out by hand in the comments. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "query_drill.h"

static void
type_is(const char *v, const char *want)
{
	const char *got = lt_field_type(v, strlen(v));

	ck_assert_msg(strcmp(got, want) == 0, "%s: %s, not %s", v, got, want);
}

START_TEST(test_types)
{
	/* strconv.ParseInt(v, 10, 64) first */
	type_is("42", "int");
	type_is("-7", "int");
	type_is("0", "int");
	/* out of int64's range: a float for ParseFloat */
	type_is("9223372036854775808", "float");
	type_is("1.5", "float");
	type_is(".5", "float");
	type_is("1e3", "float");
	type_is("Inf", "float");
	type_is("-infinity", "float");
	type_is("NaN", "float");
	/* no sign before NaN for Go; too large for a float64 */
	type_is("+nan", "string");
	type_is("1e400", "string");
	/* ParseBool's words only */
	type_is("true", "boolean");
	type_is("T", "boolean");
	type_is("False", "boolean");
	type_is("yes", "string");
	/* time.ParseDuration: units ns us µs ms s m h, each with a number */
	type_is("15ms", "duration");
	type_is("1h30m", "duration");
	type_is("-1.5s", "duration");
	type_is("1.5\xc2\xb5s", "duration");
	type_is("3d", "string");
	type_is("ms", "string");
	/* go-humanize's ParseBytes: a number, spaces, a unit of its table */
	type_is("10KB", "bytes");
	type_is("1.5 GiB", "bytes");
	type_is("1,024k", "bytes");
	type_is("5 m", "bytes");     /* no duration with a space */
	type_is("", "string");
	type_is("GET /index", "string");
}
END_TEST

START_TEST(test_humanize)
{
	uint64_t b = 0;
	char s[32];

	ck_assert_int_eq(lt_humanize_parse_bytes("10KB", 4, &b), 0);
	ck_assert_uint_eq(b, 10000);
	ck_assert_int_eq(lt_humanize_parse_bytes("1.5 GiB", 7, &b), 0);
	ck_assert_uint_eq(b, 1610612736);            /* 1.5 * 2^30 */
	ck_assert_int_eq(lt_humanize_parse_bytes("1,024k", 6, &b), 0);
	ck_assert_uint_eq(b, 1024000);
	ck_assert_int_eq(lt_humanize_parse_bytes("42", 2, &b), 0);
	ck_assert_uint_eq(b, 42);
	ck_assert_int_eq(lt_humanize_parse_bytes(" 5 mb", 5, &b), -1);
	ck_assert_int_eq(lt_humanize_parse_bytes("5 parsecs", 9, &b), -1);
	ck_assert_int_eq(lt_humanize_parse_bytes("18446744073709551616", 20, &b), -1);

	lt_humanize_bytes(9, s, sizeof(s));
	ck_assert_str_eq(s, "9 B");
	lt_humanize_bytes(999, s, sizeof(s));
	ck_assert_str_eq(s, "999 B");
	lt_humanize_bytes(1500, s, sizeof(s));
	ck_assert_str_eq(s, "1.5 kB");
	lt_humanize_bytes(10000, s, sizeof(s));
	ck_assert_str_eq(s, "10 kB");
	/* 82.854982 MB: one decimal kept, 82.9, then "%.0f" */
	lt_humanize_bytes(82854982, s, sizeof(s));
	ck_assert_str_eq(s, "83 MB");
}
END_TEST

/* --- Entries ---
 *
 * E1 {app="a"} t=3, metadata trace=t1: {"lvl":"info","n":1,"sub":{"k":"v"}}
 * E2 {app="a"} t=2:                    {"lvl":"warn","n":2.5}
 * E3 {app="b"} t=1:                    lvl=error took=5ms app=x
 *
 * Loki reads its answer to the log query: stream {app="a"} first, newest
 * first (E1, E2), then {app="b"} (E3), whatever the order they came in. */

static const struct lt_label stream_a[] = {{"app", 3, "a", 1}};
static const struct lt_label stream_b[] = {{"app", 3, "b", 1}};
static const struct lt_label meta1[] = {{"trace", 5, "t1", 2}};
static const struct lt_label out1[] = {{"app", 3, "a", 1}, {"trace", 5, "t1", 2}};

static void
add(struct lt_fields *f, int which)
{
	static const char *const lines[] = {
		"",
		"{\"lvl\":\"info\",\"n\":1,\"sub\":{\"k\":\"v\"}}",
		"{\"lvl\":\"warn\",\"n\":2.5}",
		"lvl=error took=5ms app=x",
	};
	struct lt_fields_entry e;

	memset(&e, 0, sizeof(e));
	e.ts_ns = 4 - which;
	e.stream = which == 3 ? stream_b : stream_a;
	e.n_stream = 1;
	e.labels = which == 3 ? stream_b : stream_a;
	e.n_labels = 1;
	if (which == 1) {
		e.metadata = meta1;
		e.n_metadata = 1;
		e.labels = out1;
		e.n_labels = 2;
	}
	e.line = lines[which];
	e.line_len = strlen(lines[which]);
	ck_assert_int_eq(lt_fields_add(f, &e), 0);
}

static void
answer_is(struct lt_fields *f, const char *want)
{
	struct lt_buf out = LT_BUF_INIT;

	ck_assert_int_eq(lt_fields_write(f, &out), 0);
	ck_assert_int_eq(lt_buf_terminate(&out), 0);
	ck_assert_str_eq((const char *)out.data, want);
	lt_buf_free(&out);
	lt_fields_free(f);
}

static struct lt_fields *
fields(size_t limit, const char *values_of)
{
	char why[256];
	struct lt_fields *f = lt_fields_new(limit, values_of, why, sizeof(why));

	ck_assert_msg(f != NULL, "%s", why);
	return f;
}

START_TEST(test_fields)
{
	struct lt_fields *f = fields(1000, NULL);

	/* E2 before E1: read in E1, E2 order, n's type is E2's "2.5" */
	add(f, 2);
	add(f, 1);
	add(f, 3);
	/* lvl: info, warn, error; json then logfmt; its path from E1, E2.
	 * app in E3's line: a stream label, so app_extracted.
	 * trace: metadata, no parser (null).  By label. */
	answer_is(f, "{\"fields\":["
		  "{\"label\":\"app_extracted\",\"type\":\"string\",\"cardinality\":1,"
		  "\"parsers\":[\"logfmt\"]},"
		  "{\"label\":\"lvl\",\"type\":\"string\",\"cardinality\":3,"
		  "\"parsers\":[\"json\",\"logfmt\"],\"jsonPath\":[\"lvl\"]},"
		  "{\"label\":\"n\",\"type\":\"float\",\"cardinality\":2,"
		  "\"parsers\":[\"json\"],\"jsonPath\":[\"n\"]},"
		  "{\"label\":\"sub_k\",\"type\":\"string\",\"cardinality\":1,"
		  "\"parsers\":[\"json\"],\"jsonPath\":[\"sub\",\"k\"]},"
		  "{\"label\":\"took\",\"type\":\"duration\",\"cardinality\":1,"
		  "\"parsers\":[\"logfmt\"]},"
		  "{\"label\":\"trace\",\"type\":\"string\",\"cardinality\":1,"
		  "\"parsers\":null}],\"limit\":1000}");
}
END_TEST

START_TEST(test_field_limit)
{
	struct lt_fields *f = fields(2, NULL);

	/* E1 makes trace (metadata first), then lvl (its parsed names in
	 * order: lvl, n, sub_k); the limit of 2 is then reached, and only
	 * those two take more values. */
	add(f, 3);
	add(f, 2);
	add(f, 1);
	answer_is(f, "{\"fields\":["
		  "{\"label\":\"lvl\",\"type\":\"string\",\"cardinality\":3,"
		  "\"parsers\":[\"json\",\"logfmt\"],\"jsonPath\":[\"lvl\"]},"
		  "{\"label\":\"trace\",\"type\":\"string\",\"cardinality\":1,"
		  "\"parsers\":null}],\"limit\":2}");
}
END_TEST

START_TEST(test_values)
{
	struct lt_fields *f = fields(1000, "lvl");

	add(f, 1);
	add(f, 2);
	add(f, 3);
	answer_is(f, "{\"limit\":1000,\"values\":[\"error\",\"info\",\"warn\"]}");
	/* Loki stops at the entry where it has the limit: E1's info */
	f = fields(1, "lvl");
	add(f, 3);
	add(f, 1);
	add(f, 2);
	answer_is(f, "{\"limit\":1,\"values\":[\"info\"]}");
	/* nothing: {} */
	f = fields(1000, "nothing");
	add(f, 1);
	answer_is(f, "{}");
}
END_TEST

START_TEST(test_bytes_values)
{
	struct lt_fields *f = fields(1000, "size");
	struct lt_fields_entry e;
	const char *line = "{\"size\":\"2 MiB\"} ";
	const char *plain = "size=42";

	/* 2 MiB is 2097152 bytes, which go-humanize writes "2.1 MB": the
	 * value goes into a query as 2.1MB.  A bare number stays. */
	memset(&e, 0, sizeof(e));
	e.stream = stream_a;
	e.n_stream = 1;
	e.labels = stream_a;
	e.n_labels = 1;
	e.line = line;
	e.line_len = strlen(line);
	ck_assert_int_eq(lt_fields_add(f, &e), 0);
	e.line = plain;
	e.line_len = strlen(plain);
	ck_assert_int_eq(lt_fields_add(f, &e), 0);
	answer_is(f, "{\"limit\":1000,\"values\":[\"2.1MB\",\"42\"]}");
}
END_TEST

START_TEST(test_query_parsed)
{
	static const struct lt_label out[] = {
		{"app", 3, "a", 1}, {"route", 5, "/x", 2},
	};
	struct lt_fields *f = fields(1000, NULL);
	struct lt_fields_entry e;

	/* A label the query's own parsers added (route) is a field with the
	 * parser that read the line: plain text is no JSON, and logfmt finds
	 * no pair in it but no error either.  Nothing else is found. */
	memset(&e, 0, sizeof(e));
	e.stream = stream_a;
	e.n_stream = 1;
	e.labels = out;
	e.n_labels = 2;
	e.line = "plain text";
	e.line_len = 10;
	ck_assert_int_eq(lt_fields_add(f, &e), 0);
	answer_is(f, "{\"fields\":[{\"label\":\"route\",\"type\":\"string\","
		  "\"cardinality\":1,\"parsers\":[\"logfmt\"]}],\"limit\":1000}");
}
END_TEST

static Suite *
query_drill_suite(void)
{
	Suite *s = suite_create("query_drill");
	TCase *tc = tcase_create("fields");

	tcase_add_test(tc, test_types);
	tcase_add_test(tc, test_humanize);
	tcase_add_test(tc, test_fields);
	tcase_add_test(tc, test_field_limit);
	tcase_add_test(tc, test_values);
	tcase_add_test(tc, test_bytes_values);
	tcase_add_test(tc, test_query_parsed);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(query_drill_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
