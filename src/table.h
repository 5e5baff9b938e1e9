/* The table logthra-flush writes: one logical table (the same column
 * names and query idioms everywhere), the best physical layout for each
 * ClickHouse version, its DDL, the INSERT that fits an existing table,
 * retention, and what --migrate may change.  logthra(7), THE TABLE,
 * specifies it; this file is the only place that writes its SQL. */
#ifndef LOGTHRA_TABLE_H
#define LOGTHRA_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* A ClickHouse release, as far as the table cares. */
struct lt_ch_version {
	int major;
	int minor;
};

/* Reads "26.7.2.1", "18.16.1" or "24.8" (what SELECT version() answers,
 * or --server-version); returns 0, or -1 when text is not such a
 * version. */
int lt_ch_version_parse(const char *text, struct lt_ch_version *v);

enum lt_table_layout {
	/* Every server from Debian 12's 18.16 on: DateTime seconds beside
	 * timestamp_ns, String columns, no TTL (logthra-flush drops old
	 * partitions itself). */
	LT_LAYOUT_PORTABLE,
	/* 22.8 on: LowCardinality tenant, DateTime64(9) (timestamp_ns an
	 * ALIAS of it), a Map of the labels, codecs, skip indexes, TTL. */
	LT_LAYOUT_CURRENT,
};

enum lt_msg_index {
	LT_INDEX_NONE,
	LT_INDEX_TOKENBF,  /* tokenbf_v1: every current server */
	LT_INDEX_TEXT,     /* the full-text index (26.2 on), which Logthra made
			    * there before: found, replaced by --migrate */
};

/* A tenant whose retention differs from the table's. */
struct lt_tenant_retention {
	const char *tenant;
	int64_t seconds;   /* 0: kept forever */
};

/* Room for a table's name: identifiers are at most 64 bytes. */
#define LT_TABLE_NAME_SIZE 80

struct lt_table_spec {
	const char *database;
	const char *table;       /* what queries read; Distributed on a cluster */
	/* On a cluster (logthra-flush --cluster): its name in ClickHouse's
	 * remote_servers, and the shards' own table, "TABLE_local", which
	 * the rows go into.  NULL and "" on one server. */
	const char *cluster;
	char local_table[80];
	enum lt_table_layout layout;
	enum lt_msg_index index;
	int64_t retention_s;   /* 0: kept forever */
	const struct lt_tenant_retention *tenants;
	size_t n_tenants;
};

/* The settings every INSERT needs on this version ("name=value&...", or
 * NULL): async_insert=0 from 21.11, where the setting exists (26.2 turns
 * it on by default), since Logthra's delivery argument rests on one
 * INSERT being written as one part before it is answered. */
const char *lt_table_insert_settings(const struct lt_ch_version *v);

/* The layout and index for a server version; names and retention are
 * the caller's. */
void lt_table_spec_for(struct lt_table_spec *s, const struct lt_ch_version *v);

/* Makes s a cluster's: ON CLUSTER DDL, ReplicatedMergeTree tables
 * TABLE_local on every shard and a Distributed TABLE over them, sharded
 * by push_id.  Returns -1 for an invalid cluster or table name. */
int lt_table_set_cluster(struct lt_table_spec *s, const char *cluster);

/* The table rows are inserted into and read back from for the
 * exactly-once count: TABLE, or TABLE_local on a cluster. */
const char *lt_table_data_table(const struct lt_table_spec *s);

/* The statements that create the database and the table, each ending
 * in ";\n", appended to out.  These functions return -1 for an invalid
 * name or when memory is exhausted (out then unchanged). */
int lt_table_ddl(struct lt_buf *out, const struct lt_table_spec *s);
/* The same one at a time: index 0, 1, ... replaces out's content with a
 * statement and returns 0; returns 1 past the last. */
int lt_table_ddl_statement(struct lt_buf *out, const struct lt_table_spec *s,
			   int index);

/* The INSERT whose RowBinary body lt_spool_rowbinary() writes for a
 * table of this layout. */
int lt_table_insert_sql(struct lt_buf *out, const struct lt_table_spec *s);

/* Appends "timestamp >= A AND timestamp <= B": the entries from lo_ns to
 * hi_ns (nanoseconds since the epoch), both included, in the type of the
 * timestamp of a table of this layout.  A DateTime64 column is compared
 * with DateTime64 values: ClickHouse 26.7's index analysis skipped whole
 * parts when a DateTime64 timestamp was bounded strictly by a DateTime
 * (logthra(7), THE TABLE, warns users too).  Returns 0, or -1 when out
 * of memory. */
int lt_table_time_range(struct lt_buf *out, enum lt_table_layout layout,
			int64_t lo_ns, int64_t hi_ns);

/* The query whose TabSeparated answer lt_table_read_columns() reads:
 * name and type of each column of the table, in order. */
int lt_table_columns_sql(struct lt_buf *out, const struct lt_table_spec *s);

/* The statement whose answer (FORMAT TabSeparatedRaw) is the text of
 * SHOW CREATE TABLE. */
int lt_table_show_sql(struct lt_buf *out, const struct lt_table_spec *s);

/* What an existing table is, compared with s. */
struct lt_table_found {
	int exists;
	enum lt_table_layout layout;  /* by the type of timestamp */
	int has_labels_map;
	int has_label_index;
	enum lt_msg_index index;
	int codecs_match;             /* label, labels, msg and metadata have
				       * the current layout's CODEC */
	int ttl_matches;              /* the TTL s asks for, or none when it asks none */
	int has_ttl;
	int ttl_only_drop_parts;
	char missing[256];            /* columns the INSERT needs, missing or of
				       * another type: "" when it can insert */
	int created;                  /* lt_table_ensure() made the table or
				       * the streams index just now */
};

/* Reads the columns answer (name TAB type per line; empty: no table)
 * and the text of SHOW CREATE TABLE. */
void lt_table_inspect(const struct lt_table_spec *s, const char *columns_tsv,
		      const char *create_sql, struct lt_table_found *f);

/* The changes --migrate makes to bring a found table towards s, each an
 * ALTER statement appended to out with ";\n": the labels column, the
 * indexes (tokenbf_v1 replacing a text index), the string columns'
 * codec (for parts written and merged from then on), TTL and its
 * setting.  Changes that would rewrite all the data (another layout)
 * are not made: a line for each is appended to left.  Returns the
 * number of statements, or -1. */
int lt_table_migrations(const struct lt_table_spec *s,
			const struct lt_table_found *f, struct lt_buf *out,
			struct lt_buf *left);

/* The UTC days (days since 1970-01-01) a table without TTL keeps: older
 * ones logthra-flush drops.  The longest retention wins, as a partition
 * holds every tenant; -1 when everything is kept. */
int32_t lt_table_oldest_day_kept(const struct lt_table_spec *s, int64_t now_s);

/* --- the streams index (logthra(7), THE STREAMS INDEX) ---
 *
 * TABLE_streams (tenant_id, stream_id, label, day Date): a row per
 * stream and UTC day it has rows on, which logthra-flush writes before
 * the rows themselves; on a cluster TABLE_streams_local on each shard,
 * holding the streams of that shard's rows, and a Distributed
 * TABLE_streams.  lt_table_ddl() creates it with the logs table; so
 * does lt_table_ensure() when it alone is missing; lt_table_set_cluster()
 * and the names' checks cover its names too. */

/* The streams table's name into name: what queries read (data_table
 * 0), or the one rows are written to (data_table 1: TABLE_streams_local
 * on a cluster).  Returns -1 when a name is invalid or too long. */
int lt_table_streams_name(const struct lt_table_spec *s, int data_table,
			  char *name, size_t size);

/* The statements that create the streams table alone (on a cluster its
 * shards' table, then the Distributed one), as lt_table_ddl_statement(). */
int lt_table_streams_ddl_statement(struct lt_buf *out, const struct lt_table_spec *s,
				   int index);

/* The INSERT whose body lt_stream_days_rowbinary() (spool.h) writes. */
int lt_table_streams_insert_sql(struct lt_buf *out, const struct lt_table_spec *s);

/* --migrate's backfill, on each server that holds rows (each shard):
 * the query whose answer (one "2024-01-01" per line) is the days of
 * the logs table with a (tenant, stream) the index lacks (every day
 * when the streams table does not exist yet, streams_exist 0), and the
 * INSERT ... SELECT that adds exactly those of one day (days since
 * 1970-01-01), from a logs table of layout logs_layout. */
int lt_table_streams_missing_days_sql(struct lt_buf *out,
				      const struct lt_table_spec *s,
				      int streams_exist);
int lt_table_streams_backfill_sql(struct lt_buf *out, const struct lt_table_spec *s,
				  enum lt_table_layout logs_layout, int32_t day);

/* The ALTERs (each ending ";\n", appended to out) that bring the TTL
 * and ttl_only_drop_parts of an existing streams table, whose SHOW
 * CREATE TABLE text is create_sql, to s's retention: a day longer than
 * the logs table's, in whole days.  Returns their number, or -1. */
int lt_table_streams_migrations(const struct lt_table_spec *s,
				const char *create_sql, struct lt_buf *out);

/* --- on the server (table_server.c) --- */

struct lt_ch;
struct lt_ch_error;

/* SELECT version(). */
int lt_table_server_version(struct lt_ch *ch, struct lt_ch_version *v,
			    struct lt_ch_error *err);

/* Reads what the table is (f->exists 0 when there is none). */
int lt_table_fetch(struct lt_ch *ch, const struct lt_table_spec *s,
		   struct lt_table_found *f, struct lt_ch_error *err);

/* Creates the database and the table as s says when they are missing
 * (system.tables; an existing table is left as it is), and the streams
 * table when it alone is missing, then reads what the logs table is. */
int lt_table_ensure(struct lt_ch *ch, const struct lt_table_spec *s,
		    struct lt_table_found *f, struct lt_ch_error *err);

/* Drops the partitions (UTC days) older than the retention: for tables
 * without TTL; the streams table's too.  The names of the dropped ones ("2024-01-01") are
 * appended to dropped, one per line.  Returns how many, or -1. */
int lt_table_drop_old_days(struct lt_ch *ch, const struct lt_table_spec *s,
			   int64_t now_s, struct lt_buf *dropped,
			   struct lt_ch_error *err);

/* Whether the streams table (and on a cluster its shards' table beside
 * the Distributed one) exists: 1, 0, or -1 with err set. */
int lt_table_streams_present(struct lt_ch *ch, const struct lt_table_spec *s,
			     struct lt_ch_error *err);

/* The text of SHOW CREATE TABLE of the streams table rows go to, into
 * create (NUL-terminated). */
int lt_table_streams_show(struct lt_ch *ch, const struct lt_table_spec *s,
			  struct lt_buf *create, struct lt_ch_error *err);

/* Creates the streams table when it is missing (ON CLUSTER on a
 * cluster).  Returns 1 when it made it, 0 when it was there, -1. */
int lt_table_ensure_streams(struct lt_ch *ch, const struct lt_table_spec *s,
			    struct lt_ch_error *err);

/* The days (days since 1970-01-01, ascending) for which this server's
 * logs table has streams its streams table lacks, into days; returns
 * how many, or -1. */
int lt_table_streams_missing_days(struct lt_ch *ch, const struct lt_table_spec *s,
				  int streams_exist, int32_t **days,
				  struct lt_ch_error *err);

#endif
