#include "config.h"

#include <string.h>

#include "clickhouse.h"

/* ClickHouse's own limit is much higher; 64 keeps names readable and
 * comfortably inside the file name limits of the server's data path. */
#define LT_CH_IDENT_MAX 64

/* The table as ClickHouse 18.16 can hold it: no DateTime64, so the
 * nanoseconds ride along in timestamp_ns; partitions by UTC day, so old
 * data goes with ALTER TABLE ... DROP PARTITION and an INSERT of one
 * day's rows is one part, written atomically (logthra-spool(5) says why
 * that and push_id make delivery exactly-once); the sort key puts one
 * tenant's hour together, which is what a query for recent logs reads. */
static const char table_columns[] =
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
    "ORDER BY (tenant_id, toStartOfHour(timestamp), stream_id, timestamp)";

int
lt_ch_identifier_valid(const char *name)
{
	size_t i;

	if (name == NULL || name[0] == '\0')
		return 0;
	if (!(name[0] == '_' || (name[0] >= 'A' && name[0] <= 'Z') ||
	      (name[0] >= 'a' && name[0] <= 'z')))
		return 0;
	for (i = 1; name[i] != '\0'; i++) {
		if (i >= LT_CH_IDENT_MAX)
			return 0;
		if (!(name[i] == '_' || (name[i] >= 'A' && name[i] <= 'Z') ||
		      (name[i] >= 'a' && name[i] <= 'z') ||
		      (name[i] >= '0' && name[i] <= '9')))
			return 0;
	}
	return 1;
}

/* Appends statement index; 1 past the last, -1 on a bad name or no
 * memory (out then unchanged). */
static int
append_statement(struct lt_buf *out, const char *database, const char *table,
		 int index)
{
	size_t old = out->len;
	int rc;

	if (!lt_ch_identifier_valid(database) || !lt_ch_identifier_valid(table))
		return -1;
	switch (index) {
	case 0:
		rc = lt_buf_printf(out, "CREATE DATABASE IF NOT EXISTS %s",
				   database);
		break;
	case 1:
		rc = lt_buf_printf(out, "CREATE TABLE IF NOT EXISTS %s.%s\n%s",
				   database, table, table_columns);
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

int
lt_ch_ddl(struct lt_buf *out, const char *database, const char *table)
{
	size_t old = out->len;
	int i, rc;

	for (i = 0; (rc = append_statement(out, database, table, i)) == 0; i++) {
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

int
lt_ch_ddl_statement(struct lt_buf *out, const char *database,
		    const char *table, int index)
{
	int rc;

	if (index < 0)
		return 1;
	lt_buf_reset(out);
	rc = append_statement(out, database, table, index);
	if (rc == 0 && lt_buf_terminate(out) < 0) {
		lt_buf_reset(out);
		return -1;
	}
	return rc;
}

int
lt_ch_insert_sql(struct lt_buf *out, const char *database, const char *table)
{
	size_t old = out->len;

	if (!lt_ch_identifier_valid(database) || !lt_ch_identifier_valid(table))
		return -1;
	if (lt_buf_printf(out,
			  "INSERT INTO %s.%s (tenant_id, stream_id, label, "
			  "timestamp, timestamp_ns, msg, metadata, push_id) "
			  "FORMAT RowBinary",
			  database, table) < 0 ||
	    lt_buf_terminate(out) < 0) {
		out->len = old;
		return -1;
	}
	return 0;
}
