/* The table per ClickHouse version: versions, DDL, INSERT, what an
 * existing table is, --migrate's changes, retention by days. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "table.h"

static const char portable_ddl[] =
    "CREATE DATABASE IF NOT EXISTS logs;\n"
    "CREATE TABLE IF NOT EXISTS logs.log\n"
    "(\n"
    "    tenant_id String,\n"
    "    stream_id UInt64,\n"
    "    label Array(String),\n"
    "    timestamp DateTime,\n"
    "    timestamp_ns Int64,\n"
    "    msg String,\n"
    "    metadata Array(String),\n"
    "    push_id UInt64\n"
    ")\n"
    "ENGINE = MergeTree()\n"
    "PARTITION BY toDate(timestamp, 'UTC')\n"
    "ORDER BY (tenant_id, toStartOfHour(timestamp), stream_id, timestamp);\n"
    "CREATE TABLE IF NOT EXISTS logs.log_streams\n"
    "(\n"
    "    tenant_id String,\n"
    "    stream_id UInt64,\n"
    "    label Array(String),\n"
    "    day Date\n"
    ")\n"
    "ENGINE = ReplacingMergeTree()\n"
    "PARTITION BY day\n"
    "ORDER BY (tenant_id, stream_id, day);\n";

/* The columns answer of a table made by each layout, as ClickHouse
 * gives them (name TAB type). */
static const char portable_columns[] =
    "tenant_id\tString\nstream_id\tUInt64\nlabel\tArray(String)\n"
    "timestamp\tDateTime\ntimestamp_ns\tInt64\nmsg\tString\n"
    "metadata\tArray(String)\npush_id\tUInt64\n";
static const char current_columns[] =
    "tenant_id\tLowCardinality(String)\nstream_id\tUInt64\nlabel\tArray(String)\n"
    "labels\tMap(String, String)\tMATERIALIZED\ntimestamp\tDateTime64(9, 'UTC')\t\n"
    "timestamp_ns\tInt64\tALIAS\nmsg\tString\t\nmetadata\tArray(String)\t\npush_id\tUInt64\t\n";
/* The string columns of SHOW CREATE TABLE as this version makes them. */
#define STRING_COLUMNS \
    "    `label` Array(String) CODEC(ZSTD(6)),\n" \
    "    `labels` Map(String, String) MATERIALIZED CAST((arrayMap(l -> " \
    "substring(l, 1, position(l, '=') - 1), label), arrayMap(l -> " \
    "substring(l, position(l, '=') + 1), label)), 'Map(String, String)') " \
    "CODEC(ZSTD(6)),\n" \
    "    `msg` String CODEC(ZSTD(6)),\n" \
    "    `metadata` Array(String) CODEC(ZSTD(6)),\n"

static struct lt_table_spec
spec_for(int major, int minor)
{
	struct lt_table_spec s = {.database = "logs", .table = "log"};
	struct lt_ch_version v = {major, minor};

	lt_table_spec_for(&s, &v);
	return s;
}

static char *
ddl_of(const struct lt_table_spec *s)
{
	struct lt_buf b = LT_BUF_INIT;

	ck_assert_int_eq(lt_table_ddl(&b, s), 0);
	return (char *)b.data; /* the caller frees */
}

START_TEST(test_versions)
{
	struct lt_ch_version v;

	ck_assert_int_eq(lt_ch_version_parse("18.16.1", &v), 0);
	ck_assert_int_eq(v.major, 18);
	ck_assert_int_eq(v.minor, 16);
	ck_assert_int_eq(lt_ch_version_parse("26.7.2.1\n", &v), 0);
	ck_assert_int_eq(v.major, 26);
	ck_assert_int_eq(v.minor, 7);
	ck_assert_int_eq(lt_ch_version_parse("24.8", &v), 0);
	ck_assert_int_eq(v.minor, 8);
	ck_assert_int_eq(lt_ch_version_parse("24", &v), -1);
	ck_assert_int_eq(lt_ch_version_parse("24.", &v), -1);
	ck_assert_int_eq(lt_ch_version_parse("v24.8", &v), -1);
	ck_assert_int_eq(lt_ch_version_parse("24.8x", &v), -1);
	ck_assert_int_eq(lt_ch_version_parse("", &v), -1);
	ck_assert_int_eq(lt_ch_version_parse("99999999999.1", &v), -1);
}
END_TEST

START_TEST(test_insert_settings)
{
	struct lt_ch_version v = {18, 16};

	ck_assert_ptr_null(lt_table_insert_settings(&v));
	v = (struct lt_ch_version){21, 10};
	ck_assert_ptr_null(lt_table_insert_settings(&v));
	v = (struct lt_ch_version){21, 11};
	ck_assert_str_eq(lt_table_insert_settings(&v), "async_insert=0");
	v = (struct lt_ch_version){26, 7};
	ck_assert_str_eq(lt_table_insert_settings(&v), "async_insert=0");
}
END_TEST

START_TEST(test_layout_per_version)
{
	ck_assert_int_eq(spec_for(18, 16).layout, LT_LAYOUT_PORTABLE);
	ck_assert_int_eq(spec_for(21, 8).layout, LT_LAYOUT_PORTABLE);
	ck_assert_int_eq(spec_for(22, 3).layout, LT_LAYOUT_PORTABLE);
	ck_assert_int_eq(spec_for(22, 8).layout, LT_LAYOUT_CURRENT);
	ck_assert_int_eq(spec_for(22, 8).index, LT_INDEX_TOKENBF);
	ck_assert_int_eq(spec_for(24, 8).index, LT_INDEX_TOKENBF);
	ck_assert_int_eq(spec_for(26, 1).index, LT_INDEX_TOKENBF);
	/* Not the text index: it took more bytes than the messages. */
	ck_assert_int_eq(spec_for(26, 2).index, LT_INDEX_TOKENBF);
	ck_assert_int_eq(spec_for(27, 0).index, LT_INDEX_TOKENBF);
	ck_assert_int_eq(spec_for(18, 16).index, LT_INDEX_NONE);
}
END_TEST

/* Debian's 18.16 gets the table Logthra always made, byte for byte. */
START_TEST(test_portable_ddl)
{
	struct lt_table_spec s = spec_for(18, 16);
	char *ddl;

	s.retention_s = 30 * 86400; /* no TTL there: days are dropped */
	ddl = ddl_of(&s);
	ck_assert_str_eq(ddl, portable_ddl);
	free(ddl);
}
END_TEST

START_TEST(test_current_ddl)
{
	struct lt_table_spec s = spec_for(24, 8);
	char *ddl = ddl_of(&s);

	ck_assert_ptr_nonnull(strstr(ddl, "    tenant_id LowCardinality(String),\n"));
	ck_assert_ptr_nonnull(strstr(ddl, "    timestamp DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),\n"));
	ck_assert_ptr_nonnull(strstr(ddl, "    timestamp_ns Int64 ALIAS toUnixTimestamp64Nano(timestamp),\n"));
	ck_assert_ptr_nonnull(strstr(ddl, "    label Array(String) CODEC(ZSTD(6)),\n"));
	ck_assert_ptr_nonnull(strstr(ddl, "    labels Map(String, String) MATERIALIZED CAST(("));
	ck_assert_ptr_nonnull(strstr(ddl, "'Map(String, String)') CODEC(ZSTD(6)),\n"));
	ck_assert_ptr_nonnull(strstr(ddl, "    msg String CODEC(ZSTD(6)),\n"));
	ck_assert_ptr_nonnull(strstr(ddl, "    metadata Array(String) CODEC(ZSTD(6)),\n"));
	ck_assert_ptr_nonnull(strstr(ddl, "INDEX label_bloom label TYPE bloom_filter(0.01) GRANULARITY 1"));
	ck_assert_ptr_nonnull(strstr(ddl, "INDEX msg_tokens msg TYPE tokenbf_v1("));
	ck_assert_ptr_null(strstr(ddl, "msg_text"));
	ck_assert_ptr_nonnull(strstr(ddl, "PARTITION BY toDate(timestamp, 'UTC')\n"));
	ck_assert_ptr_nonnull(strstr(ddl, "ORDER BY (tenant_id, toStartOfHour(timestamp), stream_id, timestamp);\n"));
	/* No retention, no TTL. */
	ck_assert_ptr_null(strstr(ddl, "TTL"));
	ck_assert_ptr_null(strstr(ddl, "ttl_only_drop_parts"));
	free(ddl);

	s = spec_for(26, 7);
	ddl = ddl_of(&s);
	ck_assert_ptr_nonnull(strstr(ddl, "INDEX msg_tokens msg TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1"));
	ck_assert_ptr_null(strstr(ddl, "msg_text"));
	free(ddl);
}
END_TEST

START_TEST(test_ttl)
{
	struct lt_table_spec s = spec_for(24, 8);
	struct lt_tenant_retention t[] = {{"acme", 7 * 86400}, {"it's", 0}, {"b\\c", 3600}};
	char *ddl;

	s.retention_s = 30 * 86400;
	ddl = ddl_of(&s);
	ck_assert_ptr_nonnull(strstr(ddl, "\nTTL toDateTime(timestamp) + toIntervalDay(30)\n"
				     "SETTINGS ttl_only_drop_parts = 1;\n"));
	free(ddl);

	/* Tenants of their own: a rule each (none for "kept forever"),
	 * quoted; the table's rule for the others; rows, not parts. */
	s.tenants = t;
	s.n_tenants = 3;
	ddl = ddl_of(&s);
	ck_assert_ptr_nonnull(strstr(ddl,
	    "\nTTL toDateTime(timestamp) + toIntervalDay(7) WHERE tenant_id = 'acme', "
	    "toDateTime(timestamp) + toIntervalSecond(3600) WHERE tenant_id = 'b\\\\c', "
	    "toDateTime(timestamp) + toIntervalDay(30) WHERE tenant_id NOT IN "
	    "('acme', 'it\\'s', 'b\\\\c');\n"));
	ck_assert_ptr_null(strstr(ddl, "ttl_only_drop_parts"));
	free(ddl);

	/* Only tenant rules: everyone else is kept. */
	s.retention_s = 0;
	s.n_tenants = 1;
	ddl = ddl_of(&s);
	ck_assert_ptr_nonnull(strstr(ddl, "\nTTL toDateTime(timestamp) + toIntervalDay(7) "
				     "WHERE tenant_id = 'acme';\n"));
	free(ddl);
}
END_TEST

START_TEST(test_statements_match_ddl)
{
	struct lt_table_spec s = spec_for(26, 7);
	struct lt_buf b = LT_BUF_INIT, all = LT_BUF_INIT;
	char *ddl;
	int i;

	s.retention_s = 86400;
	ck_assert_int_eq(lt_buf_printf(&b, "junk"), 0);
	ck_assert_int_eq(lt_table_ddl_statement(&b, &s, 0), 0);
	ck_assert_str_eq((char *)b.data, "CREATE DATABASE IF NOT EXISTS logs");
	for (i = 0; lt_table_ddl_statement(&b, &s, i) == 0; i++) {
		ck_assert_ptr_null(strchr((char *)b.data, ';'));
		ck_assert_int_eq(lt_buf_append(&all, b.data, b.len), 0);
		ck_assert_int_eq(lt_buf_append(&all, ";\n", 2), 0);
	}
	ck_assert_int_eq(i, 3);
	ck_assert_int_eq(lt_table_ddl_statement(&b, &s, -1), 1);
	ck_assert_int_eq(lt_buf_terminate(&all), 0);
	ddl = ddl_of(&s);
	ck_assert_str_eq((char *)all.data, ddl);
	free(ddl);
	lt_buf_free(&b);
	lt_buf_free(&all);
}
END_TEST

START_TEST(test_bad_names)
{
	struct lt_table_spec s = spec_for(24, 8);
	struct lt_buf b = LT_BUF_INIT;

	ck_assert_int_eq(lt_buf_printf(&b, "keep"), 0);
	s.database = "logs; DROP";
	ck_assert_int_eq(lt_table_ddl(&b, &s), -1);
	ck_assert_int_eq(lt_table_insert_sql(&b, &s), -1);
	ck_assert_int_eq(lt_table_columns_sql(&b, &s), -1);
	ck_assert_uint_eq(b.len, 4);
	s.database = "logs";
	s.table = "";
	ck_assert_int_eq(lt_table_ddl_statement(&b, &s, 1), -1);
	lt_buf_free(&b);
}
END_TEST

START_TEST(test_insert_sql)
{
	struct lt_table_spec s = spec_for(18, 16);
	struct lt_buf b = LT_BUF_INIT;

	ck_assert_int_eq(lt_table_insert_sql(&b, &s), 0);
	ck_assert_str_eq((char *)b.data,
			 "INSERT INTO logs.log (tenant_id, stream_id, label, "
			 "timestamp, timestamp_ns, msg, metadata, push_id) "
			 "FORMAT RowBinary");
	lt_buf_reset(&b);
	s = spec_for(26, 7);
	ck_assert_int_eq(lt_table_insert_sql(&b, &s), 0);
	ck_assert_str_eq((char *)b.data,
			 "INSERT INTO logs.log (tenant_id, stream_id, label, "
			 "timestamp, msg, metadata, push_id) FORMAT RowBinary");
	lt_buf_free(&b);
}
END_TEST

static void
check_time_range(enum lt_table_layout layout, const char *expected)
{
	struct lt_buf b = LT_BUF_INIT;

	ck_assert_int_eq(lt_table_time_range(&b, layout, 1710547486000000000,
					     1710720286999999999), 0);
	ck_assert_int_eq(lt_buf_terminate(&b), 0);
	ck_assert_str_eq((char *)b.data, expected);
	lt_buf_free(&b);
}

START_TEST(test_time_range)
{
	/* Whole seconds on DateTime, both ends included. */
	check_time_range(LT_LAYOUT_PORTABLE,
			 "timestamp >= toDateTime(1710547486) AND "
			 "timestamp <= toDateTime(1710720286)");
	/* DateTime64(9) is bounded by DateTime64(9) values, to the
	 * nanosecond: never by a DateTime. */
	check_time_range(LT_LAYOUT_CURRENT,
			 "timestamp >= fromUnixTimestamp64Nano(toInt64(1710547486000000000), 'UTC') AND "
			 "timestamp <= fromUnixTimestamp64Nano(toInt64(1710720286999999999), 'UTC')");
}
END_TEST

START_TEST(test_inspect_layouts)
{
	struct lt_table_spec s = spec_for(26, 7);
	struct lt_table_found f;

	lt_table_inspect(&s, "", "", &f);
	ck_assert_int_eq(f.exists, 0);

	lt_table_inspect(&s, portable_columns, "CREATE TABLE logs.log (...) ENGINE = MergeTree()", &f);
	ck_assert_int_eq(f.exists, 1);
	ck_assert_int_eq(f.layout, LT_LAYOUT_PORTABLE);
	ck_assert_str_eq(f.missing, "");
	ck_assert_int_eq(f.has_labels_map, 0);
	ck_assert_int_eq(f.index, LT_INDEX_NONE);
	ck_assert_int_eq(f.has_ttl, 0);
	ck_assert_int_eq(f.ttl_matches, 1);

	lt_table_inspect(&s, current_columns,
			 "CREATE TABLE logs.log\n(\n ..., INDEX label_bloom label TYPE "
			 "bloom_filter(0.01) GRANULARITY 1,\n INDEX msg_tokens msg TYPE "
			 "tokenbf_v1(32768, 3, 0) GRANULARITY 1\n)\nENGINE = MergeTree\n",
			 &f);
	ck_assert_int_eq(f.layout, LT_LAYOUT_CURRENT);
	ck_assert_str_eq(f.missing, "");
	ck_assert_int_eq(f.has_labels_map, 1);
	ck_assert_int_eq(f.has_label_index, 1);
	ck_assert_int_eq(f.index, LT_INDEX_TOKENBF);
}
END_TEST

/* A table the INSERT cannot fill is named with what is wrong. */
START_TEST(test_inspect_unusable)
{
	struct lt_table_spec s = spec_for(18, 16);
	struct lt_table_found f;

	/* The seed's table. */
	lt_table_inspect(&s,
			 "tenant_id\tFixedString(10)\nlabel\tArray(String)\n"
			 "timestamp\tDate\nmsg\tString\n", "CREATE TABLE x", &f);
	ck_assert_int_eq(f.exists, 1);
	ck_assert_str_eq(f.missing,
			 "tenant_id (FixedString(10)), stream_id (missing), "
			 "timestamp (Date), timestamp_ns (missing), "
			 "metadata (missing), push_id (missing)");
	/* DateTime64 of another precision cannot take nanoseconds. */
	lt_table_inspect(&s,
			 "tenant_id\tString\nstream_id\tUInt64\nlabel\tArray(String)\n"
			 "timestamp\tDateTime64(3)\nmsg\tString\nmetadata\tArray(String)\n"
			 "push_id\tUInt64\n", "", &f);
	ck_assert_int_eq(f.layout, LT_LAYOUT_CURRENT);
	ck_assert_str_eq(f.missing, "timestamp (DateTime64(3)), timestamp_ns (missing)");
	/* On the current layout timestamp_ns must be computed: the INSERT
	 * leaves it out, and a plain column would hold 0. */
	lt_table_inspect(&s,
			 "tenant_id\tString\t\nstream_id\tUInt64\t\nlabel\tArray(String)\t\n"
			 "timestamp\tDateTime64(9)\t\ntimestamp_ns\tInt64\t\nmsg\tString\t\n"
			 "metadata\tArray(String)\t\npush_id\tUInt64\t\n", "", &f);
	ck_assert_str_eq(f.missing, "timestamp_ns (not computed from timestamp)");
	lt_table_inspect(&s,
			 "tenant_id\tString\t\nstream_id\tUInt64\t\nlabel\tArray(String)\t\n"
			 "timestamp\tDateTime64(9)\t\ntimestamp_ns\tInt64\tMATERIALIZED\n"
			 "msg\tString\t\nmetadata\tArray(String)\t\npush_id\tUInt64\t\n", "", &f);
	ck_assert_str_eq(f.missing, "");
	/* On the portable one the rows carry it: an ALIAS cannot take it. */
	lt_table_inspect(&s,
			 "tenant_id\tString\t\nstream_id\tUInt64\t\nlabel\tArray(String)\t\n"
			 "timestamp\tDateTime\t\ntimestamp_ns\tInt64\tALIAS\nmsg\tString\t\n"
			 "metadata\tArray(String)\t\npush_id\tUInt64\tDEFAULT\n", "", &f);
	ck_assert_str_eq(f.missing, "timestamp_ns (ALIAS)");
	/* A time zone on DateTime is fine. */
	lt_table_inspect(&s,
			 "tenant_id\tString\nstream_id\tUInt64\nlabel\tArray(String)\n"
			 "timestamp\tDateTime('UTC')\ntimestamp_ns\tInt64\nmsg\tString\n"
			 "metadata\tArray(String)\npush_id\tUInt64", "", &f);
	ck_assert_str_eq(f.missing, "");
}
END_TEST

/* What --migrate does to a portable table on a current server: adds
 * what can be added, says what cannot. */
START_TEST(test_migrations_portable_on_current)
{
	struct lt_table_spec s = spec_for(26, 7);
	struct lt_buf out = LT_BUF_INIT, left = LT_BUF_INIT;
	struct lt_table_found f;

	s.retention_s = 30 * 86400;
	lt_table_inspect(&s, portable_columns, "CREATE TABLE logs.log (...)", &f);
	ck_assert_int_eq(lt_table_migrations(&s, &f, &out, &left), 5);
	ck_assert_int_eq(lt_buf_terminate(&out), 0);
	ck_assert_int_eq(lt_buf_terminate(&left), 0);
	ck_assert_ptr_nonnull(strstr((char *)out.data,
	    "ALTER TABLE logs.log ADD COLUMN IF NOT EXISTS labels Map(String, String) MATERIALIZED "));
	ck_assert_ptr_nonnull(strstr((char *)out.data, " AFTER label;\n"));
	ck_assert_ptr_nonnull(strstr((char *)out.data,
	    "ALTER TABLE logs.log ADD INDEX IF NOT EXISTS label_bloom label TYPE bloom_filter(0.01) GRANULARITY 1;\n"));
	ck_assert_ptr_nonnull(strstr((char *)out.data,
	    "ALTER TABLE logs.log ADD INDEX IF NOT EXISTS msg_tokens msg TYPE "
	    "tokenbf_v1(32768, 3, 0) GRANULARITY 1;\n"));
	ck_assert_ptr_null(strstr((char *)out.data, "MODIFY COLUMN"));
	ck_assert_ptr_nonnull(strstr((char *)out.data,
	    "ALTER TABLE logs.log MODIFY TTL toDateTime(timestamp) + toIntervalDay(30);\n"));
	ck_assert_ptr_nonnull(strstr((char *)out.data,
	    "ALTER TABLE logs.log MODIFY SETTING ttl_only_drop_parts = 1;\n"));
	ck_assert_ptr_nonnull(strstr((char *)left.data, "portable layout"));
	lt_buf_free(&out);
	lt_buf_free(&left);
}
END_TEST

/* A table as this version makes it needs nothing; a changed retention
 * is one MODIFY TTL; a table made with the text index and ZSTD(1) gets
 * tokenbf_v1 and the strings' codec. */
START_TEST(test_migrations_current)
{
	static const char made_by_24_8[] =
	    "CREATE TABLE logs.log\n(\n    `tenant_id` LowCardinality(String),\n"
	    STRING_COLUMNS
	    "    INDEX label_bloom label TYPE bloom_filter(0.01) GRANULARITY 1,\n"
	    "    INDEX msg_tokens msg TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1\n)\n"
	    "ENGINE = MergeTree\nPARTITION BY toDate(timestamp, 'UTC')\n"
	    "ORDER BY (tenant_id, toStartOfHour(timestamp), stream_id, timestamp)\n"
	    "TTL toDateTime(timestamp) + toIntervalDay(30)\n"
	    "SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1";
	static const char made_by_26_7_before[] =
	    "CREATE TABLE logs.log\n(\n    `tenant_id` LowCardinality(String),\n"
	    "    `msg` String CODEC(ZSTD(1)),\n"
	    "    INDEX label_bloom label TYPE bloom_filter(0.01) GRANULARITY 1,\n"
	    "    INDEX msg_text msg TYPE text(tokenizer = splitByNonAlpha) "
	    "GRANULARITY 100000000\n)\n"
	    "ENGINE = MergeTree\nPARTITION BY toDate(timestamp, 'UTC')\n"
	    "ORDER BY (tenant_id, toStartOfHour(timestamp), stream_id, timestamp)\n"
	    "TTL toDateTime(timestamp) + toIntervalDay(30)\n"
	    "SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1";
	struct lt_table_spec s = spec_for(24, 8);
	struct lt_buf out = LT_BUF_INIT, left = LT_BUF_INIT;
	struct lt_table_found f;

	s.retention_s = 30 * 86400;
	lt_table_inspect(&s, current_columns, made_by_24_8, &f);
	ck_assert_int_eq(f.ttl_matches, 1);
	ck_assert_int_eq(lt_table_migrations(&s, &f, &out, &left), 0);
	ck_assert_uint_eq(out.len, 0);
	ck_assert_uint_eq(left.len, 0);

	/* 30 days is not the first of 300. */
	s.retention_s = 3 * 86400;
	lt_table_inspect(&s, current_columns, made_by_24_8, &f);
	ck_assert_int_eq(f.ttl_matches, 0);
	ck_assert_int_eq(lt_table_migrations(&s, &f, &out, &left), 1);
	ck_assert_int_eq(lt_buf_terminate(&out), 0);
	ck_assert_str_eq((char *)out.data,
			 "ALTER TABLE logs.log MODIFY TTL toDateTime(timestamp) + toIntervalDay(3);\n");

	/* Retention off: the TTL goes, and the setting with it. */
	lt_buf_reset(&out);
	s.retention_s = 0;
	lt_table_inspect(&s, current_columns, made_by_24_8, &f);
	ck_assert_int_eq(lt_table_migrations(&s, &f, &out, &left), 2);
	ck_assert_int_eq(lt_buf_terminate(&out), 0);
	ck_assert_str_eq((char *)out.data,
			 "ALTER TABLE logs.log REMOVE TTL;\n"
			 "ALTER TABLE logs.log MODIFY SETTING ttl_only_drop_parts = 0;\n");

	/* The same table on 26.7 needs nothing either. */
	lt_buf_reset(&out);
	s = spec_for(26, 7);
	s.retention_s = 30 * 86400;
	lt_table_inspect(&s, current_columns, made_by_24_8, &f);
	ck_assert_int_eq(lt_table_migrations(&s, &f, &out, &left), 0);

	/* 26.7's table as Logthra made it before. */
	lt_table_inspect(&s, current_columns, made_by_26_7_before, &f);
	ck_assert_int_eq(f.index, LT_INDEX_TEXT);
	ck_assert_int_eq(f.codecs_match, 0);
	ck_assert_int_eq(lt_table_migrations(&s, &f, &out, &left), 3);
	ck_assert_int_eq(lt_buf_terminate(&out), 0);
	ck_assert_str_eq((char *)out.data,
			 "ALTER TABLE logs.log ADD INDEX IF NOT EXISTS msg_tokens msg TYPE "
			 "tokenbf_v1(32768, 3, 0) GRANULARITY 1;\n"
			 "ALTER TABLE logs.log DROP INDEX IF EXISTS msg_text;\n"
			 "ALTER TABLE logs.log MODIFY COLUMN label Array(String) CODEC(ZSTD(6)), "
			 "MODIFY COLUMN labels Map(String, String) MATERIALIZED CAST((arrayMap(l -> "
			 "substring(l, 1, position(l, '=') - 1), label), arrayMap(l -> "
			 "substring(l, position(l, '=') + 1), label)), 'Map(String, String)') "
			 "CODEC(ZSTD(6)), MODIFY COLUMN msg String CODEC(ZSTD(6)), "
			 "MODIFY COLUMN metadata Array(String) CODEC(ZSTD(6));\n");
	ck_assert_uint_eq(left.len, 0);
	lt_buf_free(&out);
	lt_buf_free(&left);
}
END_TEST

/* A table whose first TTL rule is a tenant's is not the table-wide
 * retention of the same length: the rules after it differ. */
START_TEST(test_ttl_tenant_rule_is_not_the_table_s)
{
	static const char made_with_acme_7d[] =
	    "CREATE TABLE logs.log\n(\n    `tenant_id` LowCardinality(String),\n"
	    STRING_COLUMNS
	    "    INDEX label_bloom label TYPE bloom_filter(0.01) GRANULARITY 1,\n"
	    "    INDEX msg_tokens msg TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1\n)\n"
	    "ENGINE = MergeTree\nPARTITION BY toDate(timestamp, 'UTC')\n"
	    "ORDER BY (tenant_id, toStartOfHour(timestamp), stream_id, timestamp)\n"
	    "TTL toDateTime(timestamp) + toIntervalDay(7) WHERE tenant_id = 'acme', "
	    "toDateTime(timestamp) + toIntervalDay(30) WHERE tenant_id NOT IN ('acme')\n"
	    "SETTINGS index_granularity = 8192";
	/* What servers that print SHOW CREATE TABLE on one line answer. */
	static const char one_line[] =
	    "CREATE TABLE logs.log (`tenant_id` LowCardinality(String)) "
	    "ENGINE = MergeTree PARTITION BY toDate(timestamp, 'UTC') "
	    "ORDER BY (tenant_id, toStartOfHour(timestamp), stream_id, timestamp) "
	    "TTL toDateTime(timestamp) + toIntervalDay(7) "
	    "SETTINGS index_granularity = 8192, ttl_only_drop_parts = 1";
	struct lt_table_spec s = spec_for(26, 7);
	struct lt_buf out = LT_BUF_INIT, left = LT_BUF_INIT;
	struct lt_table_found f;

	s.retention_s = 7 * 86400;
	lt_table_inspect(&s, current_columns, made_with_acme_7d, &f);
	ck_assert_int_eq(f.has_ttl, 1);
	ck_assert_int_eq(f.ttl_matches, 0);
	ck_assert_int_eq(lt_table_migrations(&s, &f, &out, &left), 2);
	ck_assert_int_eq(lt_buf_terminate(&out), 0);
	ck_assert_str_eq((char *)out.data,
			 "ALTER TABLE logs.log MODIFY TTL toDateTime(timestamp) + toIntervalDay(7);\n"
			 "ALTER TABLE logs.log MODIFY SETTING ttl_only_drop_parts = 1;\n");

	lt_table_inspect(&s, current_columns, one_line, &f);
	ck_assert_int_eq(f.ttl_matches, 1);
	lt_buf_free(&out);
	lt_buf_free(&left);
}
END_TEST

/* An old server: nothing to migrate, whatever the table. */
START_TEST(test_migrations_old_server)
{
	struct lt_table_spec s = spec_for(18, 16);
	struct lt_buf out = LT_BUF_INIT, left = LT_BUF_INIT;
	struct lt_table_found f;

	s.retention_s = 86400;
	lt_table_inspect(&s, portable_columns, "CREATE TABLE logs.log (...)", &f);
	ck_assert_int_eq(lt_table_migrations(&s, &f, &out, &left), 0);
	ck_assert_uint_eq(out.len + left.len, 0);
	lt_buf_free(&out);
	lt_buf_free(&left);
}
END_TEST

START_TEST(test_oldest_day_kept)
{
	struct lt_table_spec s = spec_for(18, 16);
	struct lt_tenant_retention t[] = {{"acme", 40 * 86400}, {"b", 0}};
	int64_t now = 19723 * INT64_C(86400) + 3600; /* 2024-01-01 01:00 UTC */

	ck_assert_int_eq(lt_table_oldest_day_kept(&s, now), -1);
	s.retention_s = 30 * 86400;
	/* 2023-12-02 01:00 is 30 days back: that day is kept, the one
	 * before is not. */
	ck_assert_int_eq(lt_table_oldest_day_kept(&s, now), 19723 - 30);
	s.retention_s = 12 * 3600;
	ck_assert_int_eq(lt_table_oldest_day_kept(&s, now), 19722);
	/* The longest retention wins: a day holds every tenant. */
	s.retention_s = 30 * 86400;
	s.tenants = t;
	s.n_tenants = 1;
	ck_assert_int_eq(lt_table_oldest_day_kept(&s, now), 19723 - 40);
	s.n_tenants = 2;
	ck_assert_int_eq(lt_table_oldest_day_kept(&s, now), -1);
	s.n_tenants = 1;
	ck_assert_int_eq(lt_table_oldest_day_kept(&s, 5), 0);
}
END_TEST

/* A cluster: ON CLUSTER everywhere, replicated shard tables, a
 * Distributed table over them sharded by push_id; rows go to the shard
 * tables, ALTERs too (the labels column on both). */
START_TEST(test_cluster)
{
	static const char want[] =
	    "CREATE DATABASE IF NOT EXISTS logs ON CLUSTER web;\n"
	    "CREATE TABLE IF NOT EXISTS logs.log_local ON CLUSTER web\n"
	    "(\n"
	    "    tenant_id String,\n"
	    "    stream_id UInt64,\n"
	    "    label Array(String),\n"
	    "    timestamp DateTime,\n"
	    "    timestamp_ns Int64,\n"
	    "    msg String,\n"
	    "    metadata Array(String),\n"
	    "    push_id UInt64\n"
	    ")\n"
	    "ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/logs/log_local', '{replica}')\n"
	    "PARTITION BY toDate(timestamp, 'UTC')\n"
	    "ORDER BY (tenant_id, toStartOfHour(timestamp), stream_id, timestamp);\n"
	    "CREATE TABLE IF NOT EXISTS logs.log ON CLUSTER web AS logs.log_local\n"
	    "ENGINE = Distributed(web, logs, log_local, push_id);\n"
	    "CREATE TABLE IF NOT EXISTS logs.log_streams_local ON CLUSTER web\n"
	    "(\n"
	    "    tenant_id String,\n"
	    "    stream_id UInt64,\n"
	    "    label Array(String),\n"
	    "    day Date\n"
	    ")\n"
	    "ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/logs/log_streams_local', '{replica}')\n"
	    "PARTITION BY day\n"
	    "ORDER BY (tenant_id, stream_id, day);\n"
	    "CREATE TABLE IF NOT EXISTS logs.log_streams ON CLUSTER web AS logs.log_streams_local\n"
	    "ENGINE = Distributed(web, logs, log_streams_local, stream_id);\n";
	struct lt_table_spec s = spec_for(18, 16);
	struct lt_buf b = LT_BUF_INIT, left = LT_BUF_INIT;
	struct lt_table_found f;
	char *ddl;

	ck_assert_int_eq(lt_table_set_cluster(&s, "web"), 0);
	ck_assert_str_eq(lt_table_data_table(&s), "log_local");
	ddl = ddl_of(&s);
	ck_assert_str_eq(ddl, want);
	free(ddl);
	ck_assert_int_eq(lt_table_insert_sql(&b, &s), 0);
	ck_assert_ptr_nonnull(strstr((char *)b.data, "INSERT INTO logs.log_local ("));
	lt_buf_reset(&b);
	ck_assert_int_eq(lt_table_columns_sql(&b, &s), 0);
	ck_assert_ptr_nonnull(strstr((char *)b.data, "AND table = 'log_local'"));

	s = spec_for(26, 7);
	ck_assert_int_eq(lt_table_set_cluster(&s, "web"), 0);
	ddl = ddl_of(&s);
	ck_assert_ptr_nonnull(strstr(ddl, "ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/logs/log_local', '{replica}')\nPARTITION BY"));
	ck_assert_ptr_nonnull(strstr(ddl, "INDEX msg_tokens"));
	free(ddl);
	lt_buf_reset(&b);
	lt_table_inspect(&s, portable_columns, "CREATE TABLE logs.log_local (...)", &f);
	ck_assert_int_gt(lt_table_migrations(&s, &f, &b, &left), 0);
	ck_assert_int_eq(lt_buf_terminate(&b), 0);
	ck_assert_ptr_nonnull(strstr((char *)b.data,
	    "ALTER TABLE logs.log_local ON CLUSTER web ADD COLUMN IF NOT EXISTS labels "));
	ck_assert_ptr_nonnull(strstr((char *)b.data,
	    "ALTER TABLE logs.log ON CLUSTER web ADD COLUMN IF NOT EXISTS labels "));
	ck_assert_ptr_nonnull(strstr((char *)b.data,
	    "ALTER TABLE logs.log_local ON CLUSTER web ADD INDEX IF NOT EXISTS msg_tokens"));

	/* Bad names, and a table whose _local name is too long. */
	s = spec_for(24, 8);
	ck_assert_int_eq(lt_table_set_cluster(&s, "a-b"), -1);
	ck_assert_ptr_null(s.cluster);
	s.table = "t123456789012345678901234567890123456789012345678901234567890";
	ck_assert_int_eq(lt_table_set_cluster(&s, "web"), -1);
	lt_buf_free(&b);
	lt_buf_free(&left);
}
END_TEST

/* The streams index on the current layout: LowCardinality tenant, a
 * codec on the labels, and a TTL a day longer than the rows' in whole
 * days (a row of day D stands for rows up to the end of D), with the
 * tenants' rules; its statements alone, after the logs table's. */
START_TEST(test_streams_current)
{
	static const char want[] =
	    "CREATE TABLE IF NOT EXISTS logs.log_streams\n"
	    "(\n"
	    "    tenant_id LowCardinality(String),\n"
	    "    stream_id UInt64,\n"
	    "    label Array(String) CODEC(ZSTD(1)),\n"
	    "    day Date\n"
	    ")\n"
	    "ENGINE = ReplacingMergeTree\n"
	    "PARTITION BY day\n"
	    "ORDER BY (tenant_id, stream_id, day)\n"
	    "TTL day + toIntervalDay(31)\n"
	    "SETTINGS ttl_only_drop_parts = 1";
	struct lt_table_spec s = spec_for(26, 7);
	struct lt_tenant_retention t[] = {{"acme", 7 * 86400}, {"it's", 0}, {"b", 3600}};
	struct lt_buf b = LT_BUF_INIT;
	char *ddl;

	s.retention_s = 30 * 86400;
	ck_assert_int_eq(lt_table_streams_ddl_statement(&b, &s, 0), 0);
	ck_assert_str_eq((char *)b.data, want);
	ck_assert_int_eq(lt_table_streams_ddl_statement(&b, &s, 1), 1);
	/* The last statement of the whole DDL. */
	ddl = ddl_of(&s);
	ck_assert_ptr_nonnull(strstr(ddl, want));
	ck_assert_str_eq(strstr(ddl, want) + strlen(want), ";\n");
	free(ddl);

	/* 3600 s: the rows of day D go by D + 1 at the latest; the index
	 * keeps D until D + 2. */
	s.tenants = t;
	s.n_tenants = 3;
	ck_assert_int_eq(lt_table_streams_ddl_statement(&b, &s, 0), 0);
	ck_assert_ptr_nonnull(strstr((char *)b.data,
	    "\nTTL day + toIntervalDay(8) WHERE tenant_id = 'acme', "
	    "day + toIntervalDay(2) WHERE tenant_id = 'b', "
	    "day + toIntervalDay(31) WHERE tenant_id NOT IN ('acme', 'it\\'s', 'b')"));
	ck_assert_ptr_null(strstr((char *)b.data, "ttl_only_drop_parts"));

	/* Kept forever: no TTL. */
	s.retention_s = 0;
	s.n_tenants = 0;
	ck_assert_int_eq(lt_table_streams_ddl_statement(&b, &s, 0), 0);
	ck_assert_ptr_null(strstr((char *)b.data, "TTL"));
	lt_buf_free(&b);
}
END_TEST

/* Names, the INSERT and --migrate's SQL, on one server and a cluster. */
START_TEST(test_streams_sql)
{
	struct lt_table_spec s = spec_for(18, 16);
	struct lt_buf b = LT_BUF_INIT;
	char name[LT_TABLE_NAME_SIZE];

	ck_assert_int_eq(lt_table_streams_name(&s, 0, name, sizeof(name)), 0);
	ck_assert_str_eq(name, "log_streams");
	ck_assert_int_eq(lt_table_streams_name(&s, 1, name, sizeof(name)), 0);
	ck_assert_str_eq(name, "log_streams");
	ck_assert_int_eq(lt_table_streams_insert_sql(&b, &s), 0);
	ck_assert_str_eq((char *)b.data, "INSERT INTO logs.log_streams "
			 "(tenant_id, stream_id, label, day) FORMAT RowBinary");
	lt_buf_reset(&b);
	ck_assert_int_eq(lt_table_streams_missing_days_sql(&b, &s, 1), 0);
	ck_assert_str_eq((char *)b.data,
	    "SELECT toString(d) FROM (SELECT DISTINCT toDate(timestamp, 'UTC') AS d, "
	    "tenant_id, stream_id FROM logs.log) WHERE (d, tenant_id, stream_id) NOT IN "
	    "(SELECT day, tenant_id, stream_id FROM logs.log_streams) "
	    "GROUP BY d ORDER BY d FORMAT TabSeparatedRaw");
	lt_buf_reset(&b);
	ck_assert_int_eq(lt_table_streams_missing_days_sql(&b, &s, 0), 0);
	ck_assert_ptr_null(strstr((char *)b.data, "log_streams"));
	lt_buf_reset(&b);
	/* 19723: 2024-01-01. */
	ck_assert_int_eq(lt_table_streams_backfill_sql(&b, &s, LT_LAYOUT_PORTABLE, 19723), 0);
	ck_assert_str_eq((char *)b.data,
	    "INSERT INTO logs.log_streams (tenant_id, stream_id, label, day) "
	    "SELECT tenant_id, stream_id, any(label), toDate('2024-01-01') FROM logs.log "
	    "WHERE timestamp >= toDateTime(1704067200) AND timestamp <= toDateTime(1704153599) "
	    "AND toDate(timestamp, 'UTC') = toDate('2024-01-01') AND (tenant_id, stream_id) "
	    "NOT IN (SELECT tenant_id, stream_id FROM logs.log_streams WHERE day = "
	    "toDate('2024-01-01')) GROUP BY tenant_id, stream_id");

	/* A cluster: rows and the backfill go to the shards' tables. */
	ck_assert_int_eq(lt_table_set_cluster(&s, "web"), 0);
	ck_assert_int_eq(lt_table_streams_name(&s, 0, name, sizeof(name)), 0);
	ck_assert_str_eq(name, "log_streams");
	ck_assert_int_eq(lt_table_streams_name(&s, 1, name, sizeof(name)), 0);
	ck_assert_str_eq(name, "log_streams_local");
	lt_buf_reset(&b);
	ck_assert_int_eq(lt_table_streams_insert_sql(&b, &s), 0);
	ck_assert_ptr_nonnull(strstr((char *)b.data, "INSERT INTO logs.log_streams_local ("));
	lt_buf_reset(&b);
	ck_assert_int_eq(lt_table_streams_backfill_sql(&b, &s, LT_LAYOUT_CURRENT, 19723), 0);
	ck_assert_ptr_nonnull(strstr((char *)b.data,
	    "INSERT INTO logs.log_streams_local (tenant_id"));
	ck_assert_ptr_nonnull(strstr((char *)b.data, " FROM logs.log_local WHERE timestamp >= "
				     "fromUnixTimestamp64Nano(toInt64(1704067200000000000), 'UTC')"));
	ck_assert_ptr_nonnull(strstr((char *)b.data, "FROM logs.log_streams_local WHERE day"));
	ck_assert_int_eq(lt_table_streams_ddl_statement(&b, &s, 0), 0);
	ck_assert_ptr_nonnull(strstr((char *)b.data,
	    "CREATE TABLE IF NOT EXISTS logs.log_streams_local ON CLUSTER web\n"));
	ck_assert_int_eq(lt_table_streams_ddl_statement(&b, &s, 1), 0);
	ck_assert_str_eq((char *)b.data,
	    "CREATE TABLE IF NOT EXISTS logs.log_streams ON CLUSTER web AS "
	    "logs.log_streams_local\nENGINE = Distributed(web, logs, log_streams_local, stream_id)");
	ck_assert_int_eq(lt_table_streams_ddl_statement(&b, &s, 2), 1);

	/* A table name whose index's name is too long (57 + 8 > 64). */
	s = spec_for(18, 16);
	s.table = "t12345678901234567890123456789012345678901234567890123456";
	ck_assert_int_eq(lt_table_streams_name(&s, 0, name, sizeof(name)), -1);
	lt_buf_reset(&b);
	ck_assert_int_eq(lt_table_ddl(&b, &s), -1);
	ck_assert_int_eq(lt_table_streams_insert_sql(&b, &s), -1);
	ck_assert_uint_eq(b.len, 0);
	lt_buf_free(&b);
}
END_TEST

static Suite *
table_suite(void)
{
	Suite *s = suite_create("table");
	TCase *tc = tcase_create("table");

	tcase_add_test(tc, test_versions);
	tcase_add_test(tc, test_layout_per_version);
	tcase_add_test(tc, test_insert_settings);
	tcase_add_test(tc, test_portable_ddl);
	tcase_add_test(tc, test_current_ddl);
	tcase_add_test(tc, test_ttl);
	tcase_add_test(tc, test_statements_match_ddl);
	tcase_add_test(tc, test_bad_names);
	tcase_add_test(tc, test_insert_sql);
	tcase_add_test(tc, test_time_range);
	tcase_add_test(tc, test_inspect_layouts);
	tcase_add_test(tc, test_inspect_unusable);
	tcase_add_test(tc, test_migrations_portable_on_current);
	tcase_add_test(tc, test_migrations_current);
	tcase_add_test(tc, test_ttl_tenant_rule_is_not_the_table_s);
	tcase_add_test(tc, test_migrations_old_server);
	tcase_add_test(tc, test_oldest_day_kept);
	tcase_add_test(tc, test_cluster);
	tcase_add_test(tc, test_streams_current);
	tcase_add_test(tc, test_streams_sql);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(table_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
