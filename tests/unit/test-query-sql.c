/* Unit tests: the SQL of logthra-query (query_sql.c), for syntax trees
 * built by hand, and the quoting every request's text goes through. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "query_sql.h"

/* Strings of the tree: the tree's fields are char *, a compound
 * literal gives a writable copy. */
#define S(text) ((char[]){text})
#define MATCHER(n, o, v) {S(n), S(v), o}

static const struct lt_sql_target portable = {
	"logs", "log", "log_streams", LT_LAYOUT_PORTABLE,
};
static const struct lt_sql_target current = {
	"logs", "log", "log_streams", LT_LAYOUT_CURRENT,
};

/* 2023-11-14 22:13:20 UTC to 2023-11-16 01:59:00 UTC. */
static const struct lt_sql_range range = {
	"acme", INT64_C(1700000000000000000), INT64_C(1700096340000000000),
};

#define TENANT_DAYS "tenant_id = 'acme' AND day >= toDate('2023-11-14') " \
	"AND day <= toDate('2023-11-16')"
#define PORTABLE_RANGE "tenant_id = 'acme' AND timestamp >= " \
	"toDateTime(1700000000) AND timestamp <= toDateTime(1700096339) " \
	"AND timestamp_ns >= 1700000000000000000 AND timestamp_ns < " \
	"1700096340000000000"
#define CURRENT_RANGE "tenant_id = 'acme' AND timestamp >= " \
	"fromUnixTimestamp64Nano(toInt64(1700000000000000000), 'UTC') AND " \
	"timestamp <= fromUnixTimestamp64Nano(toInt64(1700096339999999999), " \
	"'UTC') AND timestamp_ns >= 1700000000000000000 AND timestamp_ns < " \
	"1700096340000000000"
#define COLUMNS "SELECT timestamp_ns, stream_id, label, metadata, msg FROM logs.log WHERE "

static struct lt_logql
selector(struct lt_matcher *m, size_t n)
{
	struct lt_logql q;

	memset(&q, 0, sizeof(q));
	q.matchers = m;
	q.n_matchers = n;
	return q;
}

static struct lt_stage
line_stage(enum lt_line_op op, char **values, size_t n)
{
	struct lt_stage s;

	memset(&s, 0, sizeof(s));
	s.kind = LT_STAGE_LINE_FILTER;
	s.line.op = op;
	s.line.values = values;
	s.line.n_values = n;
	return s;
}

static struct lt_stage
other_stage(enum lt_stage_kind kind)
{
	struct lt_stage s;

	memset(&s, 0, sizeof(s));
	s.kind = kind;
	return s;
}

static void
assert_sql(const struct lt_buf *b, const char *want)
{
	ck_assert_ptr_nonnull(b->data);
	ck_assert_str_eq((const char *)b->data, want);
	ck_assert_uint_eq(b->len, strlen(want));
}

/* --- lt_sql_quote --- */

static void
assert_quote(const char *in, size_t len, const char *want)
{
	struct lt_buf b = LT_BUF_INIT;

	ck_assert_int_eq(lt_sql_quote(&b, in, len), 0);
	ck_assert_int_eq(lt_buf_terminate(&b), 0);
	assert_sql(&b, want);
	lt_buf_free(&b);
}

START_TEST(test_quote_cases)
{
	assert_quote("", 0, "''");
	assert_quote("api", 3, "'api'");
	assert_quote("it's", 4, "'it\\'s'");
	assert_quote("a\\b", 3, "'a\\\\b'");
	assert_quote("\\'", 2, "'\\\\\\''");
	assert_quote("'; DROP TABLE logs.log; --", 26,
		     "'\\'; DROP TABLE logs.log; --'");
	assert_quote("a\0b", 3, "'a\\x00b'");
	assert_quote("\n\r\t", 3, "'\\x0A\\x0D\\x09'");
	assert_quote("\x1f\x20\x7e\x7f", 4, "'\\x1F ~\\x7F'");
	/* UTF-8, valid or not, goes as it is. */
	assert_quote("caf\xc3\xa9", 5, "'caf\xc3\xa9'");
	assert_quote("\xff\xfe\x80", 3, "'\xff\xfe\x80'");
	assert_quote("\"`", 2, "'\"`'");
}
END_TEST

static int
hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* ClickHouse's reading of a literal written as lt_sql_quote writes
 * them (the escapes it uses only): returns the decoded length, or
 * BAD when the literal does not end at its last byte, holds a raw
 * control byte or an escape lt_sql_quote does not write.  (No check
 * assertion per byte: the long test would take seconds.) */
#define BAD ((size_t)-1)
static size_t
decode_literal(const unsigned char *s, size_t len, unsigned char *out)
{
	size_t i, o = 0;
	int hi, lo;

	if (len < 2 || s[0] != '\'' || s[len - 1] != '\'')
		return BAD;
	for (i = 1; i < len - 1; i++) {
		if (s[i] == '\'' || s[i] < 0x20 || s[i] == 0x7f)
			return BAD;
		if (s[i] != '\\') {
			out[o++] = s[i];
			continue;
		}
		if (i + 1 >= len - 1)
			return BAD;
		if (s[i + 1] == '\\' || s[i + 1] == '\'') {
			out[o++] = s[++i];
			continue;
		}
		if (s[i + 1] != 'x' || i + 3 >= len - 1 ||
		    (hi = hex_digit(s[i + 2])) < 0 || (lo = hex_digit(s[i + 3])) < 0)
			return BAD;
		out[o++] = (unsigned char)(hi << 4 | lo);
		i += 3;
	}
	return o;
}

START_TEST(test_quote_every_byte)
{
	unsigned char in[3], out[8];
	struct lt_buf b = LT_BUF_INIT;
	int c = _i;
	size_t n;

	in[0] = 'a';
	in[1] = (unsigned char)c;
	in[2] = 'z';
	ck_assert_int_eq(lt_sql_quote(&b, (const char *)in, 3), 0);
	n = decode_literal(b.data, b.len, out);
	ck_assert_uint_eq(n, 3);
	ck_assert_mem_eq(out, in, 3);
	/* Escaped exactly when the header says. */
	if (c == '\\' || c == '\'')
		ck_assert_uint_eq(b.len, 6);
	else if (c < 0x20 || c == 0x7f)
		ck_assert_uint_eq(b.len, 8);
	else
		ck_assert_uint_eq(b.len, 5);
	lt_buf_free(&b);
}
END_TEST

/* Every byte value, many times over, in one long string; appended
 * after what the buffer held. */
START_TEST(test_quote_long)
{
	size_t len = 256 * 1024, i, n;
	unsigned char *in = malloc(len), *out = malloc(len);
	struct lt_buf b = LT_BUF_INIT;

	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(out);
	for (i = 0; i < len; i++)
		in[i] = (unsigned char)(i * 7 + i / 256);
	ck_assert_int_eq(lt_buf_append(&b, "x = ", 4), 0);
	ck_assert_int_eq(lt_sql_quote(&b, (const char *)in, len), 0);
	ck_assert_mem_eq(b.data, "x = ", 4);
	n = decode_literal(b.data + 4, b.len - 4, out);
	ck_assert_uint_eq(n, len);
	ck_assert(memcmp(in, out, len) == 0);
	free(in);
	free(out);
	lt_buf_free(&b);
}
END_TEST

/* NULs only, and quotes and backslashes only: worst cases for length. */
START_TEST(test_quote_runs)
{
	unsigned char in[64], out[64];
	struct lt_buf b = LT_BUF_INIT;
	size_t n;

	memset(in, 0, sizeof(in));
	ck_assert_int_eq(lt_sql_quote(&b, (const char *)in, sizeof(in)), 0);
	ck_assert_uint_eq(b.len, 2 + 4 * sizeof(in));
	n = decode_literal(b.data, b.len, out);
	ck_assert_uint_eq(n, sizeof(in));
	ck_assert_mem_eq(out, in, sizeof(in));
	lt_buf_reset(&b);
	memset(in, '\'', 32);
	memset(in + 32, '\\', 32);
	ck_assert_int_eq(lt_sql_quote(&b, (const char *)in, sizeof(in)), 0);
	ck_assert_uint_eq(b.len, 2 + 2 * sizeof(in));
	n = decode_literal(b.data, b.len, out);
	ck_assert_uint_eq(n, sizeof(in));
	ck_assert_mem_eq(out, in, sizeof(in));
	lt_buf_free(&b);
}
END_TEST

/* --- log queries --- */

START_TEST(test_log_simple)
{
	struct lt_matcher m[] = {MATCHER("app", LT_MATCH_EQ, "api")};
	struct lt_logql q = selector(m, 1);
	struct lt_buf b = LT_BUF_INIT;

	ck_assert_int_eq(lt_sql_log_query(&b, &portable, &q, &range, 0, 100, NULL), 0);
	assert_sql(&b, COLUMNS PORTABLE_RANGE " AND stream_id IN (SELECT stream_id "
		   "FROM logs.log_streams WHERE " TENANT_DAYS " AND has(label, "
		   "'app=api')) ORDER BY timestamp_ns DESC, stream_id, msg LIMIT 100 "
		   "FORMAT TabSeparated");
	lt_buf_free(&b);
}
END_TEST

/* {app="api", env=~"prod|stage"} |= "error" or "fatal" | json
 *   | line_format "{{.msg}}" != "debug", forward, no limit. */
START_TEST(test_log_current)
{
	struct lt_matcher m[] = {
		MATCHER("app", LT_MATCH_EQ, "api"),
		MATCHER("env", LT_MATCH_RE, "prod|stage"),
	};
	char *either[] = {S("error"), S("fatal")}, *debug[] = {S("debug")};
	struct lt_stage st[4];
	struct lt_logql q = selector(m, 2);
	struct lt_buf b = LT_BUF_INIT;
	unsigned char pushed[4];

	st[0] = line_stage(LT_LINE_CONTAINS, either, 2);
	st[1] = other_stage(LT_STAGE_JSON);
	st[2] = other_stage(LT_STAGE_LINE_FORMAT);
	st[2].text = S("{{.msg}}");
	st[3] = line_stage(LT_LINE_NOT_CONTAINS, debug, 1);
	q.stages = st;
	q.n_stages = 4;
	memset(pushed, 7, sizeof(pushed));
	ck_assert_int_eq(lt_sql_log_query(&b, &current, &q, &range, 1, 0, pushed), 0);
	assert_sql(&b, COLUMNS CURRENT_RANGE " AND stream_id IN (SELECT stream_id "
		   "FROM logs.log_streams WHERE " TENANT_DAYS " AND has(label, "
		   "'app=api') AND arrayExists(x -> startsWith(x, 'env=') AND "
		   "match(substring(x, 5), '(?-s)^(?:prod|stage)$'), label)) AND "
		   "(position(msg, 'error') > 0 OR position(msg, 'fatal') > 0) "
		   "ORDER BY timestamp_ns ASC, stream_id, msg FORMAT TabSeparated");
	ck_assert_uint_eq(pushed[0], 1);
	ck_assert_uint_eq(pushed[1], 0);
	ck_assert_uint_eq(pushed[2], 0);
	ck_assert_uint_eq(pushed[3], 0);
	lt_buf_free(&b);
}
END_TEST

/* Line filters before decolorize or line_format go to SQL, whatever
 * else is between; none after. */
START_TEST(test_log_pushed)
{
	struct lt_matcher m[] = {MATCHER("app", LT_MATCH_EQ, "api")};
	char *a[] = {S("a")}, *bc[] = {S("b"), S("c")}, *d[] = {S("d")},
	     *e[] = {S("e")}, *f[] = {S("f.*g")};
	struct lt_stage st[9];
	struct lt_logql q = selector(m, 1);
	struct lt_buf b = LT_BUF_INIT;
	unsigned char pushed[9];
	static const unsigned char want[9] = {1, 0, 0, 1, 1, 0, 0, 0, 0};
	size_t i;

	st[0] = line_stage(LT_LINE_MATCH, a, 1);
	st[1] = other_stage(LT_STAGE_JSON);
	st[2] = other_stage(LT_STAGE_LABEL_FILTER);
	st[3] = line_stage(LT_LINE_NOT_MATCH, bc, 2);
	st[4] = line_stage(LT_LINE_NOT_CONTAINS, f, 1);
	st[5] = other_stage(LT_STAGE_DECOLORIZE);
	st[6] = line_stage(LT_LINE_CONTAINS, d, 1);
	st[7] = other_stage(LT_STAGE_LABEL_FORMAT);
	st[8] = line_stage(LT_LINE_CONTAINS, e, 1);
	q.stages = st;
	q.n_stages = 9;
	memset(pushed, 7, sizeof(pushed));
	ck_assert_int_eq(lt_sql_log_query(&b, &portable, &q, &range, 0, 0, pushed), 0);
	assert_sql(&b, COLUMNS PORTABLE_RANGE " AND stream_id IN (SELECT stream_id "
		   "FROM logs.log_streams WHERE " TENANT_DAYS " AND has(label, "
		   "'app=api')) AND match(msg, '(?-s)(?:a)') AND (NOT match(msg, "
		   "'(?-s)(?:b)') AND NOT match(msg, '(?-s)(?:c)')) AND position(msg, "
		   "'f.*g') = 0 ORDER BY timestamp_ns DESC, stream_id, msg FORMAT "
		   "TabSeparated");
	for (i = 0; i < 9; i++)
		ck_assert_msg(pushed[i] == want[i], "pushed[%zu] %u", i, pushed[i]);
	lt_buf_free(&b);
}
END_TEST

/* A request's text reaches SQL only as literals. */
START_TEST(test_log_quoted)
{
	struct lt_matcher m[] = {
		MATCHER("app", LT_MATCH_EQ, "a\\b') OR 1 --\n"),
		MATCHER("env", LT_MATCH_RE, "x'|\\d"),
	};
	char *v[] = {S("it's\t\\")};
	struct lt_stage st[1];
	struct lt_logql q = selector(m, 2);
	struct lt_sql_range r = range;
	struct lt_buf b = LT_BUF_INIT;
	unsigned char pushed[1];

	r.tenant = "o'neil";
	st[0] = line_stage(LT_LINE_CONTAINS, v, 1);
	q.stages = st;
	q.n_stages = 1;
	ck_assert_int_eq(lt_sql_log_query(&b, &portable, &q, &r, 0, 5, pushed), 0);
	assert_sql(&b, COLUMNS "tenant_id = 'o\\'neil' AND timestamp >= "
		   "toDateTime(1700000000) AND timestamp <= toDateTime(1700096339) "
		   "AND timestamp_ns >= 1700000000000000000 AND timestamp_ns < "
		   "1700096340000000000 AND stream_id IN (SELECT stream_id FROM "
		   "logs.log_streams WHERE tenant_id = 'o\\'neil' AND day >= "
		   "toDate('2023-11-14') AND day <= toDate('2023-11-16') AND "
		   "has(label, 'app=a\\\\b\\') OR 1 --\\x0A') AND arrayExists(x -> "
		   "startsWith(x, 'env=') AND match(substring(x, 5), "
		   "'(?-s)^(?:x\\'|\\\\d)$'), label)) AND position(msg, "
		   "'it\\'s\\x09\\\\') > 0 ORDER BY timestamp_ns DESC, stream_id, "
		   "msg LIMIT 5 FORMAT TabSeparated");
	ck_assert_uint_eq(pushed[0], 1);
	lt_buf_free(&b);
}
END_TEST

/* The range is kept to what the tables hold: from 1970 to the end of
 * 2105. */
START_TEST(test_log_range_clamped)
{
	struct lt_matcher m[] = {MATCHER("app", LT_MATCH_EQ, "api")};
	struct lt_logql q = selector(m, 1);
	struct lt_sql_range r = {"acme", -5, INT64_MAX};
	struct lt_buf b = LT_BUF_INIT;

	ck_assert_int_eq(lt_sql_log_query(&b, &portable, &q, &r, 0, 1, NULL), 0);
	assert_sql(&b, COLUMNS "tenant_id = 'acme' AND timestamp >= toDateTime(0) "
		   "AND timestamp <= toDateTime(4291747199) AND timestamp_ns >= 0 "
		   "AND timestamp_ns < 4291747200000000000 AND stream_id IN (SELECT "
		   "stream_id FROM logs.log_streams WHERE tenant_id = 'acme' AND day "
		   ">= toDate('1970-01-01') AND day <= toDate('2105-12-31') AND "
		   "has(label, 'app=api')) ORDER BY timestamp_ns DESC, stream_id, "
		   "msg LIMIT 1 FORMAT TabSeparated");
	lt_buf_free(&b);
}
END_TEST

/* One nanosecond before midnight and midnight: the days of the last
 * nanosecond in the range, end excluded. */
START_TEST(test_days)
{
	struct lt_matcher m[] = {MATCHER("app", LT_MATCH_EQ, "api")};
	struct lt_logql q = selector(m, 1);
	/* 2024-02-28 23:59:59.999999999 to 2024-03-01 00:00:00 */
	struct lt_sql_range r = {"t", INT64_C(1709164799999999999),
				 INT64_C(1709251200000000000)};
	struct lt_buf b = LT_BUF_INIT;

	ck_assert_int_eq(lt_sql_stream_condition(&b, &portable, &q, &r), 0);
	assert_sql(&b, "stream_id IN (SELECT stream_id FROM logs.log_streams WHERE "
		   "tenant_id = 't' AND day >= toDate('2024-02-28') AND day <= "
		   "toDate('2024-02-29') AND has(label, 'app=api'))");
	lt_buf_free(&b);
}
END_TEST

/* Matchers an absent label satisfies take streams without it. */
START_TEST(test_empty_compatible)
{
	struct lt_matcher m[] = {
		MATCHER("app", LT_MATCH_EQ, "api"),
		MATCHER("a", LT_MATCH_EQ, ""),
		MATCHER("b", LT_MATCH_NE, "x"),
		MATCHER("c", LT_MATCH_RE, ".*"),
		MATCHER("d", LT_MATCH_RE, "x|"),
		MATCHER("e", LT_MATCH_NE, ""),
		MATCHER("f", LT_MATCH_NRE, ".*"),
		MATCHER("g", LT_MATCH_NRE, "y"),
		MATCHER("h", LT_MATCH_RE, ".+"),
		MATCHER("i", LT_MATCH_NRE, ".+"),
	};
	struct lt_logql q = selector(m, 10);
	struct lt_buf b = LT_BUF_INIT;

	ck_assert_int_eq(lt_sql_stream_condition(&b, &portable, &q, &range), 0);
	assert_sql(&b, "stream_id IN (SELECT stream_id FROM logs.log_streams WHERE "
		   TENANT_DAYS " AND has(label, 'app=api')"
		   " AND NOT arrayExists(x -> startsWith(x, 'a=') AND x != 'a=', label)"
		   " AND NOT has(label, 'b=x')"
		   " AND NOT arrayExists(x -> startsWith(x, 'c=') AND NOT "
		   "match(substring(x, 3), '(?-s)^(?:.*)$'), label)"
		   " AND NOT arrayExists(x -> startsWith(x, 'd=') AND NOT "
		   "match(substring(x, 3), '(?-s)^(?:x|)$'), label)"
		   " AND arrayExists(x -> startsWith(x, 'e=') AND x != 'e=', label)"
		   " AND arrayExists(x -> startsWith(x, 'f=') AND NOT "
		   "match(substring(x, 3), '(?-s)^(?:.*)$'), label)"
		   " AND NOT arrayExists(x -> startsWith(x, 'g=') AND "
		   "match(substring(x, 3), '(?-s)^(?:y)$'), label)"
		   " AND arrayExists(x -> startsWith(x, 'h=') AND "
		   "match(substring(x, 3), '(?-s)^(?:.+)$'), label)"
		   " AND NOT arrayExists(x -> startsWith(x, 'i=') AND "
		   "match(substring(x, 3), '(?-s)^(?:.+)$'), label))");
	lt_buf_free(&b);
}
END_TEST

/* --- the streams index --- */

START_TEST(test_labels)
{
	struct lt_matcher m[] = {MATCHER("env", LT_MATCH_NE, "dev")};
	struct lt_logql q = selector(m, 1);
	struct lt_buf b = LT_BUF_INIT;

	ck_assert_int_eq(lt_sql_labels(&b, &portable, NULL, &range), 0);
	assert_sql(&b, "SELECT DISTINCT arrayJoin(arrayMap(x -> substring(x, 1, "
		   "position(x, '=') - 1), label)) AS name FROM logs.log_streams "
		   "WHERE " TENANT_DAYS " ORDER BY name FORMAT TabSeparated");
	lt_buf_reset(&b);
	ck_assert_int_eq(lt_sql_labels(&b, &current, &q, &range), 0);
	assert_sql(&b, "SELECT DISTINCT arrayJoin(arrayMap(x -> substring(x, 1, "
		   "position(x, '=') - 1), label)) AS name FROM logs.log_streams "
		   "WHERE " TENANT_DAYS " AND NOT has(label, 'env=dev') ORDER BY "
		   "name FORMAT TabSeparated");
	lt_buf_free(&b);
}
END_TEST

START_TEST(test_label_values)
{
	struct lt_matcher m[] = {MATCHER("env", LT_MATCH_EQ, "prod")};
	struct lt_logql q = selector(m, 1);
	struct lt_buf b = LT_BUF_INIT;

	ck_assert_int_eq(lt_sql_label_values(&b, &portable, "app", &q, &range), 0);
	assert_sql(&b, "SELECT DISTINCT substring(arrayJoin(arrayFilter(x -> "
		   "startsWith(x, 'app='), label)), 5) AS value FROM "
		   "logs.log_streams WHERE " TENANT_DAYS " AND has(label, "
		   "'env=prod') ORDER BY value FORMAT TabSeparated");
	lt_buf_reset(&b);
	ck_assert_int_eq(lt_sql_label_values(&b, &portable, "service_name", NULL,
					     &range), 0);
	assert_sql(&b, "SELECT DISTINCT substring(arrayJoin(arrayFilter(x -> "
		   "startsWith(x, 'service_name='), label)), 14) AS value FROM "
		   "logs.log_streams WHERE " TENANT_DAYS " ORDER BY value FORMAT "
		   "TabSeparated");
	lt_buf_free(&b);
}
END_TEST

START_TEST(test_series)
{
	struct lt_matcher m1[] = {MATCHER("app", LT_MATCH_EQ, "api")};
	struct lt_matcher m2[] = {
		MATCHER("app", LT_MATCH_EQ, "web"),
		MATCHER("env", LT_MATCH_NE, "dev"),
	};
	struct lt_logql q1 = selector(m1, 1), q2 = selector(m2, 2);
	const struct lt_logql *qs[] = {&q1, &q2};
	struct lt_buf b = LT_BUF_INIT;

	ck_assert_int_eq(lt_sql_series(&b, &portable, qs, 2, &range, 10), 0);
	assert_sql(&b, "SELECT DISTINCT label FROM logs.log_streams WHERE "
		   TENANT_DAYS " AND ((1 AND has(label, 'app=api')) OR (1 AND "
		   "has(label, 'app=web') AND NOT has(label, 'env=dev'))) ORDER BY "
		   "label LIMIT 10 FORMAT TabSeparated");
	lt_buf_reset(&b);
	ck_assert_int_eq(lt_sql_series(&b, &portable, qs, 1, &range, 0), 0);
	assert_sql(&b, "SELECT DISTINCT label FROM logs.log_streams WHERE "
		   TENANT_DAYS " AND ((1 AND has(label, 'app=api'))) ORDER BY "
		   "label FORMAT TabSeparated");
	lt_buf_free(&b);
}
END_TEST

START_TEST(test_index_stats)
{
	struct lt_matcher m[] = {MATCHER("app", LT_MATCH_EQ, "api")};
	struct lt_logql q = selector(m, 1);
	struct lt_buf b = LT_BUF_INIT;

	ck_assert_int_eq(lt_sql_index_stats(&b, &current, &q, &range), 0);
	assert_sql(&b, "SELECT uniqExact(stream_id), uniqExact(stream_id, "
		   "toDate(timestamp, 'UTC')), count(), sum(length(msg)) FROM "
		   "logs.log WHERE " CURRENT_RANGE " AND stream_id IN (SELECT "
		   "stream_id FROM logs.log_streams WHERE " TENANT_DAYS " AND "
		   "has(label, 'app=api')) FORMAT TabSeparated");
	lt_buf_free(&b);
}
END_TEST

/* --- Grafana's endpoints --- */

#define VOLUME_FROM "SELECT b, k, sum(v) AS vol FROM (SELECT "
#define VOLUME_INNER " AS b, label, sum(length(msg)) AS v FROM logs.log WHERE " \
	PORTABLE_RANGE " AND stream_id IN (SELECT stream_id FROM " \
	"logs.log_streams WHERE " TENANT_DAYS
#define NAME_OF_X "substring(x, 1, position(x, '=') - 1)"

START_TEST(test_volume_series)
{
	struct lt_matcher m[] = {
		MATCHER("app", LT_MATCH_EQ, "api"),
		MATCHER("env", LT_MATCH_EQ, "prod"),
	};
	struct lt_logql q = selector(m, 2);
	struct lt_sql_volume v;
	struct lt_buf b = LT_BUF_INIT;

	/* instant: one bucket; the groups are the selector's labels */
	memset(&v, 0, sizeof(v));
	v.per_bucket = 1001;
	ck_assert_int_eq(lt_sql_volume(&b, &portable, &q, &range, &v), 0);
	assert_sql(&b, VOLUME_FROM "0" VOLUME_INNER " AND has(label, 'app=api') "
		   "AND has(label, 'env=prod')) GROUP BY b, label) GROUP BY b, "
		   "arrayFilter(x -> has(['app', 'env'], " NAME_OF_X "), label) "
		   "AS k ORDER BY b, vol DESC LIMIT 1001 BY b FORMAT TabSeparated");
	/* every stream ({}): whole label sets */
	lt_buf_reset(&b);
	v.per_bucket = 0;
	ck_assert_int_eq(lt_sql_volume(&b, &portable, NULL, &range, &v), 0);
	assert_sql(&b, VOLUME_FROM "0" VOLUME_INNER ") GROUP BY b, label) "
		   "GROUP BY b, label AS k ORDER BY b, vol DESC FORMAT TabSeparated");
	lt_buf_free(&b);
}
END_TEST

START_TEST(test_volume_targets)
{
	struct lt_matcher m[] = {MATCHER("app", LT_MATCH_EQ, "api")};
	struct lt_logql q = selector(m, 1);
	const char *targets[] = {"app", "pod"};
	struct lt_sql_volume v;
	struct lt_buf b = LT_BUF_INIT;

	/* buckets of a minute; pod=~".+" added, app named already */
	memset(&v, 0, sizeof(v));
	v.step_ns = INT64_C(60000000000);
	v.target_labels = targets;
	v.n_target_labels = 2;
	v.per_bucket = 1001;
	ck_assert_int_eq(lt_sql_volume(&b, &portable, &q, &range, &v), 0);
	assert_sql(&b, VOLUME_FROM "intDiv(timestamp_ns, 60000000000)"
		   VOLUME_INNER " AND has(label, 'app=api')) AND arrayExists(x -> "
		   "startsWith(x, 'pod='), label) GROUP BY b, label) GROUP BY b, "
		   "arrayFilter(x -> has(['app', 'pod'], " NAME_OF_X "), label) "
		   "AS k ORDER BY b, vol DESC LIMIT 1001 BY b FORMAT TabSeparated");
	/* aggregateBy=labels: each label name, or each target */
	lt_buf_reset(&b);
	v.by_labels = 1;
	v.n_target_labels = 1;
	ck_assert_int_eq(lt_sql_volume(&b, &portable, &q, &range, &v), 0);
	assert_sql(&b, VOLUME_FROM "intDiv(timestamp_ns, 60000000000)"
		   VOLUME_INNER " AND has(label, 'app=api')) GROUP BY b, label) "
		   "GROUP BY b, arrayJoin(arrayFilter(n -> has(['app'], n), "
		   "arrayMap(x -> " NAME_OF_X ", label))) AS k ORDER BY b, vol "
		   "DESC LIMIT 1001 BY b FORMAT TabSeparated");
	lt_buf_reset(&b);
	v.n_target_labels = 0;
	v.step_ns = 0;
	ck_assert_int_eq(lt_sql_volume(&b, &portable, &q, &range, &v), 0);
	assert_sql(&b, VOLUME_FROM "0" VOLUME_INNER " AND has(label, 'app=api')) "
		   "GROUP BY b, label) GROUP BY b, arrayJoin(arrayMap(x -> "
		   NAME_OF_X ", label)) AS k ORDER BY b, vol DESC LIMIT 1001 BY b "
		   "FORMAT TabSeparated");
	/* a target label's name is quoted like any text of a request */
	lt_buf_reset(&b);
	targets[0] = "a'b";
	v.by_labels = 0;
	v.n_target_labels = 1;
	v.per_bucket = 0;
	ck_assert_int_eq(lt_sql_volume(&b, &portable, &q, &range, &v), 0);
	assert_sql(&b, VOLUME_FROM "0" VOLUME_INNER " AND has(label, 'app=api')) "
		   "AND arrayExists(x -> startsWith(x, 'a\\'b='), label) GROUP BY "
		   "b, label) GROUP BY b, arrayFilter(x -> has(['a\\'b'], "
		   NAME_OF_X "), label) AS k ORDER BY b, vol DESC FORMAT "
		   "TabSeparated");
	lt_buf_free(&b);
}
END_TEST

#define UUID_RE "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-" \
	"[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

START_TEST(test_detected_labels)
{
	struct lt_matcher m[] = {MATCHER("app", LT_MATCH_EQ, "api")};
	struct lt_logql q = selector(m, 1);
	struct lt_buf b = LT_BUF_INIT;

	ck_assert_int_eq(lt_sql_detected_labels(&b, &portable, &q, &range), 0);
	/* the regex: a Go float (decimal, Inf, Infinity, NaN) or a UUID as
	 * google/uuid reads it; in the literal each \ is doubled */
	assert_sql(&b, "SELECT substring(pair, 1, position(pair, '=') - 1) AS "
		   "name, uniqExact(pair), countIf(NOT match(substring(pair, "
		   "position(pair, '=') + 1), '^(?:[+-]?(?:(?:[0-9]+(?:\\\\.[0-9]*)?"
		   "|\\\\.[0-9]+)(?:[eE][+-]?[0-9]+)?|(?i:inf(?:inity)?))|(?i:nan)|"
		   UUID_RE "|\\\\{" UUID_RE "\\\\}|(?i:urn:uuid:)" UUID_RE
		   "|[0-9a-fA-F]{32})$')) FROM (SELECT DISTINCT arrayJoin(label) "
		   "AS pair FROM logs.log_streams WHERE " TENANT_DAYS " AND "
		   "has(label, 'app=api')) GROUP BY name ORDER BY name FORMAT "
		   "TabSeparated");
	lt_buf_free(&b);
}
END_TEST

/* A table name that is no identifier is refused, and out kept. */
START_TEST(test_bad_names)
{
	struct lt_matcher m[] = {MATCHER("app", LT_MATCH_EQ, "api")};
	struct lt_logql q = selector(m, 1);
	struct lt_sql_target t = portable;
	struct lt_buf b = LT_BUF_INIT;

	ck_assert_int_eq(lt_buf_append(&b, "kept", 4), 0);
	t.streams_table = "log_streams; DROP";
	ck_assert_int_eq(lt_sql_labels(&b, &t, &q, &range), -1);
	ck_assert_int_eq(lt_sql_stream_condition(&b, &t, &q, &range), -1);
	t = portable;
	t.table = "log`";
	ck_assert_int_eq(lt_sql_log_query(&b, &t, &q, &range, 0, 0, NULL), -1);
	ck_assert_int_eq(lt_sql_index_stats(&b, &t, &q, &range), -1);
	ck_assert_int_eq(lt_sql_volume(&b, &t, &q, &range,
				       &(struct lt_sql_volume){0, NULL, 0, 0, 0}), -1);
	t = portable;
	t.streams_table = "";
	ck_assert_int_eq(lt_sql_detected_labels(&b, &t, &q, &range), -1);
	ck_assert_uint_eq(b.len, 4);
	ck_assert_mem_eq(b.data, "kept", 4);
	lt_buf_free(&b);
}
END_TEST

/* --- Metric buckets --- */

#define SEC INT64_C(1000000000)

static struct lt_sql_buckets
plan(int64_t start_s, int64_t step_s, size_t n, int64_t range_s,
     int64_t offset_s)
{
	struct lt_sql_buckets b;

	memset(&b, 0, sizeof(b));
	b.start_ns = start_s * SEC;
	b.step_ns = step_s * SEC;
	b.n_steps = n;
	b.range_ns = range_s * SEC;
	b.offset_ns = offset_s * SEC;
	ck_assert_int_eq(lt_sql_bucket_plan(&b), 0);
	return b;
}

/* Steps at 1000s, 1060s, 1120s over [5m]: windows (700, 1000],
 * (760, 1060], (820, 1120]; gcd(60, 300) = 60s buckets from 700s, seven
 * of them; the first window is buckets 0..4, the last 2..6. */
START_TEST(test_buckets_range)
{
	struct lt_sql_buckets b = plan(1000, 60, 3, 300, 0);

	ck_assert_int_eq(b.lo_ns, 700 * SEC);
	ck_assert_int_eq(b.hi_ns, 1120 * SEC);
	ck_assert_int_eq(b.width_ns, 60 * SEC);
	ck_assert_int_eq(b.n_buckets, 7);
	ck_assert_int_eq(lt_sql_bucket_end(&b, 0), 760 * SEC);
	ck_assert_int_eq(lt_sql_bucket_end(&b, 4), 1000 * SEC);
	ck_assert_int_eq(lt_sql_bucket_end(&b, 6), 1120 * SEC);
}
END_TEST

/* A step that does not divide the range: 45s and [1m] make 15s
 * buckets; windows at 1000s and 1045s are (940, 1000] and (985, 1045]:
 * buckets 0..3 and 3..6 (985 = 940 + 3 * 15). */
START_TEST(test_buckets_gcd)
{
	struct lt_sql_buckets b = plan(1000, 45, 2, 60, 0);

	ck_assert_int_eq(b.width_ns, 15 * SEC);
	ck_assert_int_eq(b.lo_ns, 940 * SEC);
	ck_assert_int_eq(b.hi_ns, 1045 * SEC);
	ck_assert_int_eq(b.n_buckets, 7);
	ck_assert_int_eq(lt_sql_bucket_end(&b, 2), 985 * SEC);
	ck_assert_int_eq(lt_sql_bucket_end(&b, 6), 1045 * SEC);
}
END_TEST

/* offset 10m moves every window back; offset -30s forward. */
START_TEST(test_buckets_offset)
{
	struct lt_sql_buckets b = plan(1000, 60, 3, 300, 600);

	ck_assert_int_eq(b.lo_ns, 100 * SEC);
	ck_assert_int_eq(b.hi_ns, 520 * SEC);
	ck_assert_int_eq(lt_sql_bucket_end(&b, 4), 400 * SEC);  /* 1000 - 600 */
	b = plan(1000, 60, 3, 300, -30);
	ck_assert_int_eq(b.lo_ns, 730 * SEC);
	ck_assert_int_eq(b.hi_ns, 1150 * SEC);
	ck_assert_int_eq(lt_sql_bucket_end(&b, 4), 1030 * SEC);
	ck_assert_int_eq(b.n_buckets, 7);
}
END_TEST

/* An instant query: one bucket, the window itself, whatever the step. */
START_TEST(test_buckets_instant)
{
	struct lt_sql_buckets b = plan(1000, 7, 1, 3600, 0);

	ck_assert_int_eq(b.width_ns, 3600 * SEC);
	ck_assert_int_eq(b.lo_ns, -2600 * SEC);
	ck_assert_int_eq(b.hi_ns, 1000 * SEC);
	ck_assert_int_eq(b.n_buckets, 1);
	ck_assert_int_eq(lt_sql_bucket_end(&b, 0), 1000 * SEC);
}
END_TEST

START_TEST(test_buckets_out_of_range)
{
	struct lt_sql_buckets b;

	memset(&b, 0, sizeof(b));
	b.start_ns = INT64_MAX - 10;
	b.step_ns = 1;
	b.n_steps = 100;
	b.range_ns = 5;
	ck_assert_int_eq(lt_sql_bucket_plan(&b), -1);
	b.start_ns = INT64_MIN + 3;
	b.n_steps = 1;
	ck_assert_int_eq(lt_sql_bucket_plan(&b), -1);
	b.start_ns = 0;
	b.range_ns = 0;
	ck_assert_int_eq(lt_sql_bucket_plan(&b), -1);
	b.range_ns = 5;
	b.step_ns = 0;
	b.n_steps = 2;
	ck_assert_int_eq(lt_sql_bucket_plan(&b), -1);
}
END_TEST

/* Rows 700s < ts <= 1120s: timestamp_ns >= 700s + 1ns, < 1120s + 1ns;
 * k = intDiv(ts - (700s + 1ns), 60s): 700s + 1ns and 760s are bucket 0,
 * 760s + 1ns bucket 1. */
START_TEST(test_buckets_sql)
{
	struct lt_matcher m[] = {MATCHER("app", LT_MATCH_EQ, "api")};
	char *a[] = {S("error")};
	struct lt_stage st[2];
	struct lt_logql q = selector(m, 1);
	struct lt_sql_buckets b = plan(1000, 60, 3, 300, 0);
	struct lt_buf out = LT_BUF_INIT;
	unsigned char pushed[2];

	st[0] = line_stage(LT_LINE_CONTAINS, a, 1);
	st[1] = other_stage(LT_STAGE_JSON);
	q.stages = st;
	q.n_stages = 2;
	memset(pushed, 7, sizeof(pushed));
	ck_assert_int_eq(lt_sql_metric_buckets(&out, &portable, &q, "acme", &b,
					       NULL, 0, pushed), 0);
	assert_sql(&out, "SELECT k, stream_id, lbl, m, c, b FROM (SELECT "
		   "intDiv(timestamp_ns - (700000000001), 60000000000) AS k, "
		   "stream_id, metadata AS m, count() AS c, 0 AS b "
		   "FROM logs.log WHERE tenant_id = 'acme' AND timestamp >= "
		   "toDateTime(700) AND timestamp <= toDateTime(1120) AND "
		   "timestamp_ns >= 700000000001 AND timestamp_ns < 1120000000001 "
		   "AND stream_id IN (SELECT stream_id FROM logs.log_streams WHERE "
		   "tenant_id = 'acme' AND day >= toDate('1970-01-01') AND day <= "
		   "toDate('1970-01-01') AND has(label, 'app=api')) AND "
		   "position(msg, 'error') > 0 GROUP BY stream_id, m, k) "
		   "AS counts ANY LEFT JOIN (SELECT stream_id, any(label) AS lbl FROM "
		   "logs.log_streams WHERE tenant_id = 'acme' AND day >= "
		   "toDate('1970-01-01') AND day <= toDate('1970-01-01') AND "
		   "has(label, 'app=api') GROUP BY stream_id) AS streams USING stream_id "
		   "ORDER BY k FORMAT TabSeparated");
	ck_assert_uint_eq(pushed[0], 1);
	ck_assert_uint_eq(pushed[1], 0);
	lt_buf_free(&out);
}
END_TEST

/* sum by (level, it's) and sum without (level): the arrays filtered by
 * name, the names quoted; sum() keeps no label. */
START_TEST(test_buckets_grouped)
{
	struct lt_matcher m[] = {MATCHER("app", LT_MATCH_EQ, "api")};
	char *names[] = {S("level"), S("it's")};
	struct lt_logql q = selector(m, 1);
	struct lt_sql_buckets b = plan(1000, 60, 1, 60, 0);
	struct lt_grouping by = {1, 0, names, 2};
	struct lt_buf out = LT_BUF_INIT;
	unsigned char pushed[1];
	const char *sql;

	ck_assert_int_eq(lt_sql_metric_buckets(&out, &portable, &q, "acme", &b,
					       &by, 1, pushed), 0);
	sql = (const char *)out.data;
	ck_assert_msg(strstr(sql, "SELECT k, stream_id, lbl, m, c, b FROM (SELECT "
			     "intDiv(timestamp_ns - (940000000001), 60000000000) "
			     "AS k, stream_id, arrayFilter(x -> (startsWith(x, "
			     "'level=') OR startsWith(x, 'it\\'s=')), metadata) AS "
			     "m, count() AS c, sum(length(msg)) AS b FROM logs.log "
			     "WHERE ") == sql, "%s", sql);
	ck_assert_ptr_nonnull(strstr(sql, " GROUP BY stream_id, m, k) AS counts "
				     "ANY LEFT JOIN (SELECT stream_id, arrayFilter(x -> "
				     "(startsWith(x, 'level=') OR startsWith(x, "
				     "'it\\'s=')), any(label)) AS lbl FROM "));
	ck_assert_ptr_nonnull(strstr(sql, " GROUP BY stream_id) AS streams USING "
				     "stream_id ORDER BY k FORMAT TabSeparated"));
	lt_buf_reset(&out);
	by.without = 1;
	by.n_labels = 1;
	ck_assert_int_eq(lt_sql_metric_buckets(&out, &portable, &q, "acme", &b,
					       &by, 1, pushed), 0);
	ck_assert_ptr_nonnull(strstr((const char *)out.data,
		"arrayFilter(x -> NOT (startsWith(x, 'level=')), metadata) AS m, "));
	ck_assert_ptr_nonnull(strstr((const char *)out.data,
		"arrayFilter(x -> NOT (startsWith(x, 'level=')), any(label)) AS lbl "));
	lt_buf_reset(&out);
	by.without = 0;
	by.n_labels = 0;
	ck_assert_int_eq(lt_sql_metric_buckets(&out, &portable, &q, "acme", &b,
					       &by, 1, pushed), 0);
	ck_assert_ptr_nonnull(strstr((const char *)out.data,
		"stream_id, emptyArrayString() AS m, count() AS c"));
	ck_assert_ptr_nonnull(strstr((const char *)out.data,
		"SELECT stream_id, emptyArrayString() AS lbl FROM "));
	lt_buf_free(&out);
}
END_TEST

/* A window before the epoch: the offset reaches back past 0; the rows'
 * range clamps, k still counts from lo. */
START_TEST(test_buckets_negative)
{
	struct lt_matcher m[] = {MATCHER("app", LT_MATCH_EQ, "api")};
	struct lt_logql q = selector(m, 1);
	struct lt_sql_buckets b = plan(100, 60, 1, 300, 0);
	struct lt_buf out = LT_BUF_INIT;
	unsigned char pushed[1];

	ck_assert_int_eq(b.lo_ns, -200 * SEC);
	ck_assert_int_eq(lt_sql_metric_buckets(&out, &portable, &q, "acme", &b,
					       NULL, 0, pushed), 0);
	ck_assert_msg(strncmp((const char *)out.data,
			      "SELECT k, stream_id, lbl, m, c, b FROM (SELECT "
			      "intDiv(timestamp_ns - (-199999999999), "
			      "300000000000) AS k, ", 106) == 0, "%s", out.data);
	ck_assert_ptr_nonnull(strstr((const char *)out.data,
		"timestamp_ns >= 0 AND timestamp_ns < 100000000001"));
	lt_buf_free(&out);
}
END_TEST

static Suite *
query_sql_suite(void)
{
	Suite *s = suite_create("query_sql");
	TCase *tq = tcase_create("quote");
	TCase *tl = tcase_create("log");
	TCase *ts = tcase_create("streams");
	TCase *tm = tcase_create("metric");

	tcase_add_test(tq, test_quote_cases);
	tcase_add_loop_test(tq, test_quote_every_byte, 0, 256);
	tcase_add_test(tq, test_quote_long);
	tcase_add_test(tq, test_quote_runs);
	suite_add_tcase(s, tq);
	tcase_add_test(tl, test_log_simple);
	tcase_add_test(tl, test_log_current);
	tcase_add_test(tl, test_log_pushed);
	tcase_add_test(tl, test_log_quoted);
	tcase_add_test(tl, test_log_range_clamped);
	tcase_add_test(tl, test_days);
	tcase_add_test(tl, test_empty_compatible);
	tcase_add_test(tl, test_bad_names);
	suite_add_tcase(s, tl);
	tcase_add_test(ts, test_labels);
	tcase_add_test(ts, test_label_values);
	tcase_add_test(ts, test_series);
	tcase_add_test(ts, test_volume_series);
	tcase_add_test(ts, test_volume_targets);
	tcase_add_test(ts, test_detected_labels);
	tcase_add_test(ts, test_index_stats);
	suite_add_tcase(s, ts);
	tcase_add_test(tm, test_buckets_range);
	tcase_add_test(tm, test_buckets_gcd);
	tcase_add_test(tm, test_buckets_offset);
	tcase_add_test(tm, test_buckets_instant);
	tcase_add_test(tm, test_buckets_out_of_range);
	tcase_add_test(tm, test_buckets_sql);
	tcase_add_test(tm, test_buckets_grouped);
	tcase_add_test(tm, test_buckets_negative);
	suite_add_tcase(s, tm);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(query_sql_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
