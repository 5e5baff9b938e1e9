/* The SQL of logthra-flush's table: the layout for each ClickHouse
 * version, its DDL, TTL, INSERTs and what --migrate changes (table.h). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clickhouse.h"
#include "table.h"

#define SECONDS_PER_DAY INT64_C(86400)

int
lt_ch_version_parse(const char *text, struct lt_ch_version *v)
{
	int part[2] = {0, 0}, i, digits;

	for (i = 0; i < 2; i++) {
		for (digits = 0; *text >= '0' && *text <= '9'; text++, digits++) {
			if (part[i] > 100000)
				return -1;
			part[i] = part[i] * 10 + (*text - '0');
		}
		if (digits == 0)
			return -1;
		if (i == 0 && *text++ != '.')
			return -1;
	}
	/* After major.minor: the patch and build numbers, or the end. */
	if (*text != '\0' && *text != '.' && *text != '\n' && *text != '-')
		return -1;
	v->major = part[0];
	v->minor = part[1];
	return 0;
}

static int
at_least(const struct lt_ch_version *v, int major, int minor)
{
	return v->major > major || (v->major == major && v->minor >= minor);
}

const char *
lt_table_insert_settings(const struct lt_ch_version *v)
{
	return at_least(v, 21, 11) ? "async_insert=0" : NULL;
}

void
lt_table_spec_for(struct lt_table_spec *s, const struct lt_ch_version *v)
{
	/* 22.8 (an LTS release) has every part of the current layout:
	 * DateTime64, Map, codecs, tokenbf_v1, TTL with WHERE, REMOVE TTL.
	 * 26.2's text index is not made: it took more bytes per entry
	 * than the message itself (logthra(7), Bytes per entry), and
	 * logthra-query's position() filters do not use it. */
	if (at_least(v, 22, 8)) {
		s->layout = LT_LAYOUT_CURRENT;
		s->index = LT_INDEX_TOKENBF;
	} else {
		s->layout = LT_LAYOUT_PORTABLE;
		s->index = LT_INDEX_NONE;
	}
}

/* --- pieces of SQL --- */

/* A string literal: tenant ids are printable ASCII, but may hold a
 * quote or a backslash. */
static int
append_literal(struct lt_buf *out, const char *text)
{
	const char *p;

	if (lt_buf_append(out, "'", 1) < 0)
		return -1;
	for (p = text; *p != '\0'; p++) {
		if ((*p == '\'' || *p == '\\') && lt_buf_append(out, "\\", 1) < 0)
			return -1;
		if (lt_buf_append(out, p, 1) < 0)
			return -1;
	}
	return lt_buf_append(out, "'", 1);
}

/* "toDateTime(timestamp) + toIntervalDay(7)": written the way SHOW
 * CREATE TABLE prints it back, so that the two can be compared. */
static int
append_expiry(struct lt_buf *out, int64_t seconds, int streams)
{
	/* A streams row of day D stands for rows up to the end of D: it
	 * stays a day longer than they, in whole days, and Date needs no
	 * time zone. */
	if (streams)
		return lt_buf_printf(out, "day + toIntervalDay(%lld)",
				     (long long)((seconds + SECONDS_PER_DAY - 1) /
						 SECONDS_PER_DAY + 1));
	if (seconds % SECONDS_PER_DAY == 0)
		return lt_buf_printf(out, "toDateTime(timestamp) + toIntervalDay(%lld)",
				     (long long)(seconds / SECONDS_PER_DAY));
	return lt_buf_printf(out, "toDateTime(timestamp) + toIntervalSecond(%lld)",
			     (long long)seconds);
}

/* The TTL rules, without "TTL ": a rule for each tenant with a retention
 * of its own, then the table's for the others.  Nothing when all is
 * kept forever. */
static int
append_ttl_rules(struct lt_buf *out, const struct lt_table_spec *s, int streams)
{
	size_t i, n = 0, listed = 0;

	for (i = 0; i < s->n_tenants; i++) {
		if (s->tenants[i].seconds == 0)
			continue;
		if ((n++ > 0 && lt_buf_append(out, ", ", 2) < 0) ||
		    append_expiry(out, s->tenants[i].seconds, streams) < 0 ||
		    lt_buf_printf(out, " WHERE tenant_id = ") < 0 ||
		    append_literal(out, s->tenants[i].tenant) < 0)
			return -1;
	}
	if (s->retention_s == 0)
		return 0;
	if ((n > 0 && lt_buf_append(out, ", ", 2) < 0) ||
	    append_expiry(out, s->retention_s, streams) < 0)
		return -1;
	if (s->n_tenants == 0)
		return 0;
	if (lt_buf_printf(out, " WHERE tenant_id NOT IN (") < 0)
		return -1;
	for (i = 0; i < s->n_tenants; i++) {
		if ((listed++ > 0 && lt_buf_append(out, ", ", 2) < 0) ||
		    append_literal(out, s->tenants[i].tenant) < 0)
			return -1;
	}
	return lt_buf_append(out, ")", 1);
}

static int
has_ttl(const struct lt_table_spec *s)
{
	size_t i;

	if (s->layout != LT_LAYOUT_CURRENT)
		return 0;
	for (i = 0; i < s->n_tenants; i++)
		if (s->tenants[i].seconds != 0)
			return 1;
	return s->retention_s != 0;
}

/* Whole parts are dropped, rather than rows deleted by merges, only when
 * every row of a day expires together: no tenant rules. */
static int
wants_ttl_only_drop_parts(const struct lt_table_spec *s)
{
	return has_ttl(s) && s->n_tenants == 0;
}

/* The table as ClickHouse 18.16 can hold it: no DateTime64, so the
 * nanoseconds ride along in timestamp_ns; partitions by UTC day, so old
 * data goes with ALTER TABLE ... DROP PARTITION and an INSERT of one
 * day's rows is one part, written atomically (logthra-spool(5) says why
 * that and push_id make delivery exactly-once); the sort key puts one
 * tenant's hour together, which is what a query for recent logs reads. */
static const char portable_columns[] =
    "(\n"
    "    tenant_id String,\n"
    "    stream_id UInt64,\n"
    "    label Array(String),\n"
    "    timestamp DateTime,\n"
    "    timestamp_ns Int64,\n"
    "    msg String,\n"
    "    metadata Array(String),\n"
    "    push_id UInt64\n"
    ")\n";

static const char table_keys[] =
    "PARTITION BY toDate(timestamp, 'UTC')\n"
    "ORDER BY (tenant_id, toStartOfHour(timestamp), stream_id, timestamp)";

/* The codec of the strings: ZSTD's level 6, the first that looks for
 * matches lazily, takes 12% fewer bytes of access-log lines than level
 * 1 (3 to 5 no fewer), and reads back as fast; the label and metadata
 * arrays, whose string sizes 26.x keeps in a stream of their own, 0.05
 * bytes an entry rather than 2.7. */
#define STRING_CODEC "CODEC(ZSTD(6))"
/* labels: the label array as a Map ({'app': 'web'}), computed from it
 * when parts are written, so that the INSERT stays the same. */
#define LABELS_MAP_DEFINITION \
	"labels Map(String, String) MATERIALIZED CAST((" \
	"arrayMap(l -> substring(l, 1, position(l, '=') - 1), label), " \
	"arrayMap(l -> substring(l, position(l, '=') + 1), label)), " \
	"'Map(String, String)') " STRING_CODEC
#define LABEL_INDEX "label_bloom label TYPE bloom_filter(0.01) GRANULARITY 1"
#define TOKENBF_INDEX "msg_tokens msg TYPE tokenbf_v1(32768, 3, 0) GRANULARITY 1"
#define TEXT_INDEX "msg_text msg TYPE text(tokenizer = splitByNonAlpha)"
#define LABEL_COLUMN "label Array(String) " STRING_CODEC
#define MSG_COLUMN "msg String " STRING_CODEC
#define METADATA_COLUMN "metadata Array(String) " STRING_CODEC

/* The same logical table for current servers.  tenant_id repeats in
 * every row: LowCardinality (not the arrays' strings: logthra-query
 * read them twice as slowly).  timestamp is the exact time
 * (timestamp_ns an alias of it, for the same queries everywhere),
 * Delta-coded as rows of a stream come in time order.  The message
 * index serves hasToken() and LIKE '%word%'; the label index
 * has(label, 'app=web'). */
static const char current_columns[] =
    "(\n"
    "    tenant_id LowCardinality(String),\n"
    "    stream_id UInt64,\n"
    "    " LABEL_COLUMN ",\n"
    "    " LABELS_MAP_DEFINITION ",\n"
    "    timestamp DateTime64(9, 'UTC') CODEC(Delta(8), ZSTD(1)),\n"
    "    timestamp_ns Int64 ALIAS toUnixTimestamp64Nano(timestamp),\n"
    "    " MSG_COLUMN ",\n"
    "    " METADATA_COLUMN ",\n"
    "    push_id UInt64,\n"
    "    INDEX " LABEL_INDEX;

/* On a cluster, each shard's table is replicated, its ZooKeeper path
 * and replica name from the servers' {shard} and {replica} macros. */
static int
append_engine(struct lt_buf *out, const struct lt_table_spec *s)
{
	if (s->cluster != NULL)
		return lt_buf_printf(out, "ENGINE = ReplicatedMergeTree("
				     "'/clickhouse/tables/{shard}/%s/%s', '{replica}')\n",
				     s->database, s->local_table);
	return lt_buf_printf(out, "ENGINE = %s\n",
			     s->layout == LT_LAYOUT_PORTABLE ? "MergeTree()" : "MergeTree");
}

static int
append_current_table(struct lt_buf *out, const struct lt_table_spec *s)
{
	if (lt_buf_printf(out, "%s", current_columns) < 0 ||
	    (s->index == LT_INDEX_TOKENBF &&
	     lt_buf_printf(out, ",\n    INDEX %s", TOKENBF_INDEX) < 0) ||
	    (s->index == LT_INDEX_TEXT &&
	     lt_buf_printf(out, ",\n    INDEX %s", TEXT_INDEX) < 0) ||
	    lt_buf_printf(out, "\n)\n") < 0 || append_engine(out, s) < 0 ||
	    lt_buf_printf(out, "%s", table_keys) < 0)
		return -1;
	if (has_ttl(s) && (lt_buf_printf(out, "\nTTL ") < 0 ||
			   append_ttl_rules(out, s, 0) < 0))
		return -1;
	if (wants_ttl_only_drop_parts(s) &&
	    lt_buf_printf(out, "\nSETTINGS ttl_only_drop_parts = 1") < 0)
		return -1;
	return 0;
}

/* "TABLE_streams", or "TABLE_streams_local" for a cluster's shards;
 * "" when the name would be too long. */
static const char *
streams_name(const struct lt_table_spec *s, int local, char *name, size_t size)
{
	int n = snprintf(name, size, "%s_streams%s", s->table != NULL ? s->table : "",
			 local ? "_local" : "");

	if (n < 0 || (size_t)n >= size)
		name[0] = '\0';
	return name;
}

static int
names_valid(const struct lt_table_spec *s)
{
	char streams[LT_TABLE_NAME_SIZE], streams_local[LT_TABLE_NAME_SIZE];

	return lt_ch_identifier_valid(s->database) &&
	       lt_ch_identifier_valid(s->table) &&
	       lt_ch_identifier_valid(streams_name(s, 0, streams, sizeof(streams))) &&
	       (s->cluster == NULL ||
		(lt_ch_identifier_valid(s->cluster) &&
		 lt_ch_identifier_valid(s->local_table) &&
		 lt_ch_identifier_valid(streams_name(s, 1, streams_local,
						     sizeof(streams_local)))));
}

int
lt_table_streams_name(const struct lt_table_spec *s, int data_table, char *name,
		      size_t size)
{
	if (size == 0)
		return -1;
	(void)streams_name(s, data_table && s->cluster != NULL, name, size);
	if (!names_valid(s)) {
		name[0] = '\0';
		return -1;
	}
	return 0;
}

int
lt_table_set_cluster(struct lt_table_spec *s, const char *cluster)
{
	int n = snprintf(s->local_table, sizeof(s->local_table), "%s_local",
			 s->table != NULL ? s->table : "");

	s->cluster = cluster;
	if (n < 0 || (size_t)n >= sizeof(s->local_table) || !names_valid(s)) {
		s->cluster = NULL;
		s->local_table[0] = '\0';
		return -1;
	}
	return 0;
}

const char *
lt_table_data_table(const struct lt_table_spec *s)
{
	return s->cluster != NULL ? s->local_table : s->table;
}

/* " ON CLUSTER name", or "". */
static int
append_on_cluster(struct lt_buf *out, const struct lt_table_spec *s)
{
	return s->cluster != NULL ? lt_buf_printf(out, " ON CLUSTER %s", s->cluster) : 0;
}

/* The streams index, logthra(7), THE STREAMS INDEX: a stream's row per
 * UTC day it has rows on.  Rows come again (every batch writes its
 * streams, a retry writes them again): ReplacingMergeTree folds them,
 * and queries read it with GROUP BY.  Partitions by day, as the logs
 * table, so that old days go the same way. */
static const char portable_streams_columns[] =
    "(\n"
    "    tenant_id String,\n"
    "    stream_id UInt64,\n"
    "    label Array(String),\n"
    "    day Date\n"
    ")\n";
static const char current_streams_columns[] =
    "(\n"
    "    tenant_id LowCardinality(String),\n"
    "    stream_id UInt64,\n"
    "    label Array(String) CODEC(ZSTD(1)),\n"
    "    day Date\n"
    ")\n";
static const char streams_keys[] =
    "PARTITION BY day\n"
    "ORDER BY (tenant_id, stream_id, day)";

static int
append_streams_table(struct lt_buf *out, const struct lt_table_spec *s)
{
	char local[LT_TABLE_NAME_SIZE];
	int current = s->layout == LT_LAYOUT_CURRENT;

	if (lt_buf_printf(out, "%s", current ? current_streams_columns
					      : portable_streams_columns) < 0)
		return -1;
	if (s->cluster != NULL) {
		if (lt_buf_printf(out, "ENGINE = ReplicatedReplacingMergeTree("
				  "'/clickhouse/tables/{shard}/%s/%s', '{replica}')\n",
				  s->database, streams_name(s, 1, local, sizeof(local))) < 0)
			return -1;
	} else if (lt_buf_printf(out, "ENGINE = %s\n", current ? "ReplacingMergeTree"
							      : "ReplacingMergeTree()") < 0) {
		return -1;
	}
	if (lt_buf_printf(out, "%s", streams_keys) < 0)
		return -1;
	if (has_ttl(s) && (lt_buf_printf(out, "\nTTL ") < 0 ||
			   append_ttl_rules(out, s, 1) < 0))
		return -1;
	if (wants_ttl_only_drop_parts(s) &&
	    lt_buf_printf(out, "\nSETTINGS ttl_only_drop_parts = 1") < 0)
		return -1;
	return 0;
}

/* The statements, in order; a cluster's Distributed tables are left
 * out on one server. */
enum ddl_step {
	STEP_DATABASE,
	STEP_LOGS,
	STEP_LOGS_DISTRIBUTED,
	STEP_STREAMS,
	STEP_STREAMS_DISTRIBUTED,
	STEP_END,
};

/* The step of statement index, from first on: -1 past the last. */
static int
ddl_step(const struct lt_table_spec *s, enum ddl_step first, int index)
{
	int step;

	for (step = first; step < STEP_END; step++) {
		if (s->cluster == NULL && (step == STEP_LOGS_DISTRIBUTED ||
					   step == STEP_STREAMS_DISTRIBUTED))
			continue;
		if (index-- == 0)
			return step;
	}
	return -1;
}

/* Appends the statement of a step; 1 past the last, -1 on a bad name
 * or no memory (out then unchanged). */
static int
append_step(struct lt_buf *out, const struct lt_table_spec *s, int step)
{
	char streams[LT_TABLE_NAME_SIZE], streams_local[LT_TABLE_NAME_SIZE];
	size_t old = out->len;
	int rc;

	if (!names_valid(s))
		return -1;
	(void)streams_name(s, 0, streams, sizeof(streams));
	(void)streams_name(s, 1, streams_local, sizeof(streams_local));
	switch (step) {
	case STEP_DATABASE:
		rc = lt_buf_printf(out, "CREATE DATABASE IF NOT EXISTS %s",
				   s->database);
		if (rc == 0)
			rc = append_on_cluster(out, s);
		break;
	case STEP_LOGS:
		rc = lt_buf_printf(out, "CREATE TABLE IF NOT EXISTS %s.%s",
				   s->database, lt_table_data_table(s));
		if (rc == 0)
			rc = append_on_cluster(out, s);
		if (rc == 0)
			rc = lt_buf_append(out, "\n", 1);
		if (rc == 0 && s->layout == LT_LAYOUT_PORTABLE)
			rc = lt_buf_printf(out, "%s", portable_columns);
		if (rc == 0 && s->layout == LT_LAYOUT_PORTABLE)
			rc = append_engine(out, s);
		if (rc == 0 && s->layout == LT_LAYOUT_PORTABLE)
			rc = lt_buf_printf(out, "%s", table_keys);
		else if (rc == 0)
			rc = append_current_table(out, s);
		break;
	case STEP_LOGS_DISTRIBUTED:
		/* Queries read every shard through it; the sharding key is
		 * what logthra-flush routes by (push_id % shards). */
		rc = lt_buf_printf(out, "CREATE TABLE IF NOT EXISTS %s.%s ON CLUSTER %s "
				   "AS %s.%s\nENGINE = Distributed(%s, %s, %s, push_id)",
				   s->database, s->table, s->cluster, s->database,
				   s->local_table, s->cluster, s->database,
				   s->local_table);
		break;
	case STEP_STREAMS:
		rc = lt_buf_printf(out, "CREATE TABLE IF NOT EXISTS %s.%s", s->database,
				   s->cluster != NULL ? streams_local : streams);
		if (rc == 0)
			rc = append_on_cluster(out, s);
		if (rc == 0)
			rc = lt_buf_append(out, "\n", 1);
		if (rc == 0)
			rc = append_streams_table(out, s);
		break;
	case STEP_STREAMS_DISTRIBUTED:
		/* logthra-flush writes a stream's rows on the shard of the
		 * logs rows they index (so that a shard answers for its own
		 * rows); stream_id shards what else is written through it. */
		rc = lt_buf_printf(out, "CREATE TABLE IF NOT EXISTS %s.%s ON CLUSTER %s "
				   "AS %s.%s\nENGINE = Distributed(%s, %s, %s, stream_id)",
				   s->database, streams, s->cluster, s->database,
				   streams_local, s->cluster, s->database, streams_local);
		break;
	default:
		return 1;
	}
	if (rc < 0) {
		out->len = old;
		return -1;
	}
	return 0;
}

static int
append_statement(struct lt_buf *out, const struct lt_table_spec *s, int index)
{
	return append_step(out, s, ddl_step(s, STEP_DATABASE, index));
}

int
lt_table_ddl(struct lt_buf *out, const struct lt_table_spec *s)
{
	size_t old = out->len;
	int i, rc;

	for (i = 0; (rc = append_statement(out, s, i)) == 0; i++) {
		if (lt_buf_append(out, ";\n", 2) < 0) {
			rc = -1;
			break;
		}
	}
	if (rc < 0 || lt_buf_terminate(out) < 0) {
		out->len = old;
		return -1;
	}
	return 0;
}

static int
ddl_statement_from(struct lt_buf *out, const struct lt_table_spec *s,
		   enum ddl_step first, int index)
{
	int rc;

	if (index < 0)
		return 1;
	lt_buf_reset(out);
	rc = append_step(out, s, ddl_step(s, first, index));
	if (rc == 0 && lt_buf_terminate(out) < 0) {
		lt_buf_reset(out);
		return -1;
	}
	return rc;
}

int
lt_table_ddl_statement(struct lt_buf *out, const struct lt_table_spec *s,
		       int index)
{
	return ddl_statement_from(out, s, STEP_DATABASE, index);
}

int
lt_table_streams_ddl_statement(struct lt_buf *out, const struct lt_table_spec *s,
			       int index)
{
	return ddl_statement_from(out, s, STEP_STREAMS, index);
}

/* Appends a statement made by printf and terminates; out unchanged on
 * failure. */
static int
statement(struct lt_buf *out, int ok_so_far, size_t old)
{
	if (!ok_so_far || lt_buf_terminate(out) < 0) {
		out->len = old;
		return -1;
	}
	return 0;
}

int
lt_table_insert_sql(struct lt_buf *out, const struct lt_table_spec *s)
{
	size_t old = out->len;

	if (!names_valid(s))
		return -1;
	return statement(out, lt_buf_printf(out,
	    "INSERT INTO %s.%s (tenant_id, stream_id, label, timestamp, %smsg, "
	    "metadata, push_id) FORMAT RowBinary", s->database, lt_table_data_table(s),
	    s->layout == LT_LAYOUT_PORTABLE ? "timestamp_ns, " : "") == 0, old);
}

int
lt_table_columns_sql(struct lt_buf *out, const struct lt_table_spec *s)
{
	size_t old = out->len;

	if (!names_valid(s))
		return -1;
	return statement(out, lt_buf_printf(out,
	    "SELECT name, type, default_kind FROM system.columns WHERE database = '%s' "
	    "AND table = '%s' FORMAT TabSeparatedRaw", s->database,
	    lt_table_data_table(s)) == 0, old);
}

int
lt_table_time_range(struct lt_buf *out, enum lt_table_layout layout,
		    int64_t lo_ns, int64_t hi_ns)
{
	/* DateTime holds seconds (from the epoch on): the range is widened
	 * to whole seconds, which only asks about more rows. */
	if (layout == LT_LAYOUT_PORTABLE)
		return lt_buf_printf(out, "timestamp >= toDateTime(%" PRId64
				     ") AND timestamp <= toDateTime(%" PRId64 ")",
				     lo_ns / 1000000000, hi_ns / 1000000000);
	return lt_buf_printf(out, "timestamp >= fromUnixTimestamp64Nano(toInt64(%" PRId64
			     "), 'UTC') AND timestamp <= fromUnixTimestamp64Nano(toInt64(%" PRId64
			     "), 'UTC')", lo_ns, hi_ns);
}

int
lt_table_show_sql(struct lt_buf *out, const struct lt_table_spec *s)
{
	size_t old = out->len;

	if (!names_valid(s))
		return -1;
	return statement(out, lt_buf_printf(out,
	    "SHOW CREATE TABLE %s.%s FORMAT TabSeparatedRaw", s->database,
	    lt_table_data_table(s)) == 0, old);
}

/* --- an existing table --- */

/* The type and the default kind (ALIAS, MATERIALIZED, DEFAULT or "") of
 * column name in the columns answer, copied to type and kind; 0 when
 * there is no such column.  Either may be NULL. */
static int
column_info(const char *tsv, const char *name, char *type, char *kind,
	    size_t size)
{
	size_t name_len = strlen(name), n;
	const char *line, *end, *field;
	char *out[2] = {type, kind};
	int i;

	for (line = tsv; line != NULL && *line != '\0'; line = end ? end + 1 : NULL) {
		end = strchr(line, '\n');
		if (strncmp(line, name, name_len) != 0 || line[name_len] != '\t')
			continue;
		field = line + name_len + 1;
		for (i = 0; i < 2; i++) {
			n = strcspn(field, "\t\n");
			if (out[i] != NULL) {
				if (n >= size)
					n = size - 1;
				memcpy(out[i], field, n);
				out[i][n] = '\0';
			}
			field += strcspn(field, "\t\n");
			if (*field == '\t')
				field++;
			else
				field = "";
		}
		return 1;
	}
	return 0;
}

static int
column_type(const char *tsv, const char *name, char *type, size_t size)
{
	return column_info(tsv, name, type, NULL, size);
}

static int
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Whether a column's type takes what the INSERT sends for it. */
static int
type_takes(const char *name, const char *type, enum lt_table_layout layout)
{
	if (strcmp(name, "tenant_id") == 0 || strcmp(name, "msg") == 0)
		return strcmp(type, "String") == 0 ||
		       strcmp(type, "LowCardinality(String)") == 0;
	if (strcmp(name, "label") == 0 || strcmp(name, "metadata") == 0)
		return strcmp(type, "Array(String)") == 0 ||
		       strcmp(type, "Array(LowCardinality(String))") == 0;
	if (strcmp(name, "timestamp") == 0)
		return layout == LT_LAYOUT_PORTABLE ?
		       strcmp(type, "DateTime") == 0 || starts_with(type, "DateTime('") :
		       starts_with(type, "DateTime64(9");
	if (strcmp(name, "timestamp_ns") == 0)
		return strcmp(type, "Int64") == 0;
	return strcmp(type, "UInt64") == 0; /* stream_id, push_id */
}

/* Whether a column is filled as the INSERT expects: by the INSERT (no
 * ALIAS or MATERIALIZED), except timestamp_ns on the current layout,
 * which the INSERT leaves out and the table must compute; the queries
 * and the exactly-once count read it. */
static int
kind_fits(const char *name, const char *kind, enum lt_table_layout layout)
{
	int computed = strcmp(kind, "ALIAS") == 0 || strcmp(kind, "MATERIALIZED") == 0;

	if (layout == LT_LAYOUT_CURRENT && strcmp(name, "timestamp_ns") == 0)
		return computed;
	return !computed;
}

static void
note_missing(struct lt_table_found *f, const char *name, const char *type)
{
	size_t len = strlen(f->missing);

	(void)snprintf(f->missing + len, sizeof(f->missing) - len, "%s%s (%s)",
		       len > 0 ? ", " : "", name, type[0] ? type : "missing");
}

static int
ttl_matches(const struct lt_table_spec *s, const char *create_sql, int found_ttl,
	    int streams)
{
	struct lt_buf want = LT_BUF_INIT;
	const char *at;
	int match = 0;

	if (!has_ttl(s))
		return !found_ttl;
	if (lt_buf_printf(&want, "TTL ") < 0 || append_ttl_rules(&want, s, streams) < 0 ||
	    lt_buf_terminate(&want) < 0) {
		lt_buf_free(&want);
		return 0;
	}
	at = strstr(create_sql, (char *)want.data);
	/* The same rules, not the first of more: the clause ends with its
	 * line, or, where SHOW CREATE TABLE is one line, where the next
	 * clause starts.  A space alone would also be the " WHERE" of a
	 * tenant's rule, whose table's TTL "+ toIntervalDay(7)" then
	 * seemed to be everyone's 7 days. */
	if (at != NULL) {
		at += want.len;
		match = *at == '\0' || *at == '\n' || starts_with(at, " SETTINGS ") ||
			starts_with(at, " COMMENT ");
	}
	lt_buf_free(&want);
	return match;
}

/* Whether SHOW CREATE TABLE's text has the column with that type and
 * codec, its name in backquotes or not. */
static int
has_column(const char *create_sql, const char *name, const char *type)
{
	char quoted[128], bare[128];

	(void)snprintf(quoted, sizeof(quoted), "`%s` %s", name, type);
	(void)snprintf(bare, sizeof(bare), " %s %s", name, type);
	return strstr(create_sql, quoted) != NULL || strstr(create_sql, bare) != NULL;
}

void
lt_table_inspect(const struct lt_table_spec *s, const char *columns_tsv,
		 const char *create_sql, struct lt_table_found *f)
{
	static const char *const needed[] = {
		"tenant_id", "stream_id", "label", "timestamp", "timestamp_ns",
		"msg", "metadata", "push_id",
	};
	char type[128], kind[32];
	size_t i;

	memset(f, 0, sizeof(*f));
	if (create_sql == NULL)
		create_sql = "";
	f->exists = columns_tsv != NULL && columns_tsv[0] != '\0';
	if (!f->exists)
		return;
	f->layout = column_type(columns_tsv, "timestamp", type, sizeof(type)) &&
		    starts_with(type, "DateTime64") ? LT_LAYOUT_CURRENT :
		    LT_LAYOUT_PORTABLE;
	for (i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		if (!column_info(columns_tsv, needed[i], type, kind, sizeof(type)))
			note_missing(f, needed[i], "");
		else if (!type_takes(needed[i], type, f->layout))
			note_missing(f, needed[i], type);
		else if (!kind_fits(needed[i], kind, f->layout))
			note_missing(f, needed[i], kind[0] ? kind : "not computed from timestamp");
	}
	f->has_labels_map = column_type(columns_tsv, "labels", type, sizeof(type)) &&
			    starts_with(type, "Map(");
	f->codecs_match = has_column(create_sql, "label", "Array(String) " STRING_CODEC) &&
			  has_column(create_sql, "msg", "String " STRING_CODEC) &&
			  has_column(create_sql, "metadata", "Array(String) " STRING_CODEC) &&
			  strstr(create_sql, "'Map(String, String)') " STRING_CODEC) != NULL;
	f->has_label_index = strstr(create_sql, "INDEX label_bloom ") != NULL;
	if (strstr(create_sql, "INDEX msg_text ") != NULL)
		f->index = LT_INDEX_TEXT;
	else if (strstr(create_sql, "INDEX msg_tokens ") != NULL)
		f->index = LT_INDEX_TOKENBF;
	f->has_ttl = strstr(create_sql, "TTL ") != NULL;
	f->ttl_matches = ttl_matches(s, create_sql, f->has_ttl, 0);
	f->ttl_only_drop_parts = strstr(create_sql, "ttl_only_drop_parts = 1") != NULL;
}

/* --- --migrate --- */

/* "ALTER TABLE db.t[ ON CLUSTER c] " for the table that holds the data. */
static int
alter_start(struct lt_buf *out, const struct lt_table_spec *s, const char *table)
{
	if (lt_buf_printf(out, "ALTER TABLE %s.%s", s->database, table) < 0 ||
	    append_on_cluster(out, s) < 0)
		return -1;
	return lt_buf_append(out, " ", 1);
}

static int
alter(struct lt_buf *out, const struct lt_table_spec *s, const char *what)
{
	if (alter_start(out, s, lt_table_data_table(s)) < 0)
		return -1;
	return lt_buf_printf(out, "%s;\n", what);
}

static int
alter_ttl(struct lt_buf *out, const struct lt_table_spec *s)
{
	if (!has_ttl(s))
		return alter(out, s, "REMOVE TTL");
	if (alter_start(out, s, lt_table_data_table(s)) < 0 ||
	    lt_buf_printf(out, "MODIFY TTL ") < 0 ||
	    append_ttl_rules(out, s, 0) < 0)
		return -1;
	return lt_buf_append(out, ";\n", 2);
}

/* The labels column, on the shards' tables and, for queries, on the
 * Distributed one. */
static int
alter_add_labels(struct lt_buf *out, const struct lt_table_spec *s)
{
	static const char add[] = "ADD COLUMN IF NOT EXISTS " LABELS_MAP_DEFINITION
				  " AFTER label;\n";

	if (alter_start(out, s, lt_table_data_table(s)) < 0 ||
	    lt_buf_printf(out, "%s", add) < 0)
		return -1;
	if (s->cluster == NULL)
		return 0;
	if (alter_start(out, s, s->table) < 0)
		return -1;
	return lt_buf_printf(out, "%s", add);
}

static int
note(struct lt_buf *left, const char *line)
{
	return lt_buf_printf(left, "%s\n", line);
}

/* msg's index and the strings' codec.  A text index (which Logthra made
 * on 26.2 and later before) gives way to tokenbf_v1, an eighth of its
 * bytes; a codec change is ClickHouse's metadata alone, parts take it as
 * they are written or merged. */
static int
migrate_msg(const struct lt_table_spec *s, const struct lt_table_found *f,
	    struct lt_buf *out, int *n)
{
	int rc = 0;

	if (s->index == LT_INDEX_TEXT && f->index != LT_INDEX_TEXT && ++*n) {
		rc |= alter(out, s, "ADD INDEX IF NOT EXISTS " TEXT_INDEX);
		if (f->index == LT_INDEX_TOKENBF && ++*n)
			rc |= alter(out, s, "DROP INDEX IF EXISTS msg_tokens");
	} else if (s->index == LT_INDEX_TOKENBF && f->index != LT_INDEX_TOKENBF && ++*n) {
		rc |= alter(out, s, "ADD INDEX IF NOT EXISTS " TOKENBF_INDEX);
		if (f->index == LT_INDEX_TEXT && ++*n)
			rc |= alter(out, s, "DROP INDEX IF EXISTS msg_text");
	}
	if (f->layout == LT_LAYOUT_CURRENT && !f->codecs_match && ++*n)
		rc |= alter(out, s, "MODIFY COLUMN " LABEL_COLUMN ", MODIFY COLUMN "
			    LABELS_MAP_DEFINITION ", MODIFY COLUMN " MSG_COLUMN
			    ", MODIFY COLUMN " METADATA_COLUMN);
	return rc;
}

int
lt_table_migrations(const struct lt_table_spec *s,
		    const struct lt_table_found *f, struct lt_buf *out,
		    struct lt_buf *left)
{
	int n = 0, rc = 0;

	if (!names_valid(s))
		return -1;
	/* No table yet (CREATE makes it as s says), or an older server:
	 * its table is the portable one, and nothing of the current
	 * layout can be added. */
	if (!f->exists || s->layout != LT_LAYOUT_CURRENT)
		return 0;
	if (f->layout == LT_LAYOUT_PORTABLE)
		rc |= note(left, "the table has the portable layout (timestamp DateTime, "
			   "tenant_id String, no codecs); the current one needs a new "
			   "table and a copy of the rows: see logthra(7), THE TABLE, Migrating");
	if (!f->has_labels_map && ++n)
		rc |= alter_add_labels(out, s);
	if (!f->has_label_index && ++n)
		rc |= alter(out, s, "ADD INDEX IF NOT EXISTS " LABEL_INDEX);
	rc |= migrate_msg(s, f, out, &n);
	if (!f->ttl_matches && (has_ttl(s) || f->has_ttl) && ++n)
		rc |= alter_ttl(out, s);
	if (wants_ttl_only_drop_parts(s) != f->ttl_only_drop_parts && ++n)
		rc |= alter(out, s, wants_ttl_only_drop_parts(s) ?
			    "MODIFY SETTING ttl_only_drop_parts = 1" :
			    "MODIFY SETTING ttl_only_drop_parts = 0");
	return rc < 0 ? -1 : n;
}

int32_t
lt_table_oldest_day_kept(const struct lt_table_spec *s, int64_t now_s)
{
	int64_t longest = s->retention_s;
	size_t i;

	if (longest == 0)
		return -1;
	for (i = 0; i < s->n_tenants; i++) {
		if (s->tenants[i].seconds == 0)
			return -1;
		if (s->tenants[i].seconds > longest)
			longest = s->tenants[i].seconds;
	}
	/* The day that holds the oldest time kept: earlier days are past
	 * retention in all of their rows. */
	if (now_s < longest)
		return 0;
	return (int32_t)((now_s - longest) / SECONDS_PER_DAY);
}

/* --- the streams index --- */

int
lt_table_streams_insert_sql(struct lt_buf *out, const struct lt_table_spec *s)
{
	char name[LT_TABLE_NAME_SIZE];
	size_t old = out->len;

	if (lt_table_streams_name(s, 1, name, sizeof(name)) < 0)
		return -1;
	return statement(out, lt_buf_printf(out,
	    "INSERT INTO %s.%s (tenant_id, stream_id, label, day) FORMAT RowBinary",
	    s->database, name) == 0, old);
}

int
lt_table_streams_missing_days_sql(struct lt_buf *out, const struct lt_table_spec *s,
				  int streams_exist)
{
	char name[LT_TABLE_NAME_SIZE];
	size_t old = out->len;
	int ok;

	if (lt_table_streams_name(s, 1, name, sizeof(name)) < 0)
		return -1;
	/* The days of the logs table, less those whose every (tenant,
	 * stream) the index holds.  Only the cheap columns are read. */
	ok = lt_buf_printf(out, "SELECT toString(d) FROM (SELECT DISTINCT "
			   "toDate(timestamp, 'UTC') AS d, tenant_id, stream_id FROM %s.%s)",
			   s->database, lt_table_data_table(s)) == 0;
	if (ok && streams_exist)
		ok = lt_buf_printf(out, " WHERE (d, tenant_id, stream_id) NOT IN "
				   "(SELECT day, tenant_id, stream_id FROM %s.%s)",
				   s->database, name) == 0;
	if (ok)
		ok = lt_buf_printf(out, " GROUP BY d ORDER BY d FORMAT TabSeparatedRaw") == 0;
	return statement(out, ok, old);
}

int
lt_table_streams_backfill_sql(struct lt_buf *out, const struct lt_table_spec *s,
			      enum lt_table_layout logs_layout, int32_t day)
{
	char name[LT_TABLE_NAME_SIZE], date[11];
	int64_t start_ns = (int64_t)day * SECONDS_PER_DAY * 1000000000;
	time_t t = (time_t)day * SECONDS_PER_DAY;
	size_t old = out->len;
	struct tm tm;
	int ok;

	if (lt_table_streams_name(s, 1, name, sizeof(name)) < 0 ||
	    gmtime_r(&t, &tm) == NULL || strftime(date, sizeof(date), "%Y-%m-%d", &tm) != 10)
		return -1;
	/* One day, one partition of each table: the time range lets the
	 * logs table read that day alone; the streams the index holds of
	 * it already are left out, so that a second run adds nothing. */
	ok = lt_buf_printf(out, "INSERT INTO %s.%s (tenant_id, stream_id, label, day) "
			   "SELECT tenant_id, stream_id, any(label), toDate('%s') FROM %s.%s WHERE ",
			   s->database, name, date, s->database, lt_table_data_table(s)) == 0 &&
	     lt_table_time_range(out, logs_layout, start_ns,
				 start_ns + SECONDS_PER_DAY * 1000000000 - 1) == 0 &&
	     lt_buf_printf(out, " AND toDate(timestamp, 'UTC') = toDate('%s') AND "
			   "(tenant_id, stream_id) NOT IN (SELECT tenant_id, stream_id "
			   "FROM %s.%s WHERE day = toDate('%s')) GROUP BY tenant_id, stream_id",
			   date, s->database, name, date) == 0;
	return statement(out, ok, old);
}

int
lt_table_streams_migrations(const struct lt_table_spec *s, const char *create_sql,
			    struct lt_buf *out)
{
	char name[LT_TABLE_NAME_SIZE];
	int found_ttl = strstr(create_sql, "TTL ") != NULL;
	int only_drop_parts = strstr(create_sql, "ttl_only_drop_parts = 1") != NULL;
	int n = 0, rc = 0;

	if (lt_table_streams_name(s, 1, name, sizeof(name)) < 0)
		return -1;
	/* The portable layout has no TTL: its days go with the logs
	 * table's (lt_table_drop_old_days()). */
	if (s->layout != LT_LAYOUT_CURRENT)
		return 0;
	if (!ttl_matches(s, create_sql, found_ttl, 1) && (has_ttl(s) || found_ttl)) {
		n++;
		rc |= alter_start(out, s, name);
		if (!has_ttl(s))
			rc |= lt_buf_printf(out, "REMOVE TTL;\n");
		else
			rc |= lt_buf_printf(out, "MODIFY TTL ") | append_ttl_rules(out, s, 1) |
			      lt_buf_append(out, ";\n", 2);
	}
	if (wants_ttl_only_drop_parts(s) != only_drop_parts) {
		n++;
		rc |= alter_start(out, s, name);
		rc |= lt_buf_printf(out, "MODIFY SETTING ttl_only_drop_parts = %d;\n",
				    wants_ttl_only_drop_parts(s));
	}
	return rc < 0 ? -1 : n;
}
