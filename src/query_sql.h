/* The SQL logthra-query sends: a log query's selector, time range and
 * line filters as a WHERE clause ClickHouse can serve from its sort key
 * and the streams index; labels, label values and series from the
 * streams index alone.  Nothing from a request reaches SQL except
 * through lt_sql_quote(). */
#ifndef LOGTHRA_QUERY_SQL_H
#define LOGTHRA_QUERY_SQL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "logql.h"
#include "table.h"

/* Appends s[0..len) as a ClickHouse string literal: '...' with \\, \',
 * and every byte below 0x20 or 0x7f as \xHH.  Any bytes are safe, a NUL
 * included.  Returns 0, or -1 when out of memory (out unchanged). */
int lt_sql_quote(struct lt_buf *out, const char *s, size_t len);

/* Where the rows are: the table's names and layout (table.h), and the
 * streams index beside it (logthra(7), THE STREAMS INDEX): TABLE_streams,
 *
 *   tenant_id String, stream_id UInt64, label Array(String), day Date
 *
 * one row per stream and UTC day it has rows on (more after merges are
 * due: read it with GROUP BY or DISTINCT).
 *
 * The functions below append a NUL-terminated statement (or condition)
 * to out and return 0, or return -1, out unchanged, when memory runs out
 * or a database or table name is no identifier.  A statement holds the
 * request's text up to four times its length (\xHH): past 256 KiB,
 * ClickHouse wants a larger max_query_size on the request's URL. */
struct lt_sql_target {
	const char *database;
	const char *table;          /* the logs table (Distributed on a cluster) */
	const char *streams_table;  /* TABLE_streams */
	enum lt_table_layout layout;
};

/* What a request asks for, after its parameters were checked. */
struct lt_sql_range {
	const char *tenant;
	int64_t start_ns;   /* start <= ts < end */
	int64_t end_ns;
};

/* A log query:
 *
 *   SELECT timestamp_ns, stream_id, label, metadata, msg FROM TABLE
 *   WHERE tenant_id = ... AND time range AND stream_id IN (streams of
 *   the selector from the index) AND line filters
 *   ORDER BY timestamp_ns DESC|ASC[, stream_id, msg] [LIMIT n]
 *   FORMAT TabSeparated
 *
 * Sets pushed[i] (q->n_stages bytes) for each stage the SQL does: line
 * filters no earlier stage changes the line for (line_format and
 * decolorize do), with |= and != as position() and |~ !~ as match(),
 * Go's RE2 and ClickHouse's being the same syntax.  limit > 0 adds
 * LIMIT (the caller passes 0 when a stage left to C may drop entries).
 * Returns 0, or -1 when out of memory. */
int lt_sql_log_query(struct lt_buf *out, const struct lt_sql_target *t,
		     const struct lt_logql *q, const struct lt_sql_range *r,
		     int forward, size_t limit, unsigned char *pushed);

/* The fast path of a range aggregation that counts entries or their
 * bytes (count_over_time, rate, bytes_over_time, bytes_rate,
 * absent_over_time) over a log query whose every stage the SQL does:
 * ClickHouse counts the rows per series and time bucket.
 *
 * The aggregation is evaluated at start + i * step for i < n_steps, its
 * window at t being (t - offset - range, t - offset].
 * lt_sql_bucket_plan() sets the rest: the rows any window holds, lo <
 * ts <= hi (lo = start - offset - range, hi = the last step - offset),
 * and buckets of width_ns = gcd(step, range) (range for one step), so
 * that each window is a whole number of them: bucket k holds lo + k *
 * width < ts <= lo + (k + 1) * width, and lt_sql_bucket_end() is its
 * last nanosecond.  It returns 0, or -1 when a time is out of range. */
struct lt_sql_buckets {
	int64_t start_ns;
	int64_t step_ns;
	size_t n_steps;
	int64_t range_ns;
	int64_t offset_ns;
	/* lt_sql_bucket_plan() */
	int64_t lo_ns, hi_ns;
	int64_t width_ns;
	int64_t n_buckets;
};

int lt_sql_bucket_plan(struct lt_sql_buckets *b);
int64_t lt_sql_bucket_end(const struct lt_sql_buckets *b, int64_t k);

/* The statement, with pushed[i] (q->n_stages bytes) set for each stage
 * it does (the caller checks that none is left):
 *
 *   SELECT k, stream_id, label, metadata, count, bytes
 *
 * one TabSeparated row per stream, structured metadata and bucket,
 * ordered by k; bytes (of the lines) is 0 unless want_bytes.  With a
 * sum's grouping, `by (a, b)` or `without (a, b)` (by () or a sum
 * without grouping: none), label and metadata hold only the labels it
 * keeps, and the caller adds up the streams left with the same labels
 * (merging the two arrays, metadata first).  The stream's labels come
 * from the streams index. */
int lt_sql_metric_buckets(struct lt_buf *out, const struct lt_sql_target *t,
			  const struct lt_logql *q, const char *tenant,
			  const struct lt_sql_buckets *b,
			  const struct lt_grouping *by, int want_bytes,
			  unsigned char *pushed);

/* Label names of the streams with rows in the range (and matching the
 * selector when q is not NULL), sorted: one per line, FORMAT
 * TabSeparated. */
int lt_sql_labels(struct lt_buf *out, const struct lt_sql_target *t,
		  const struct lt_logql *q, const struct lt_sql_range *r);

/* The values of label name, likewise. */
int lt_sql_label_values(struct lt_buf *out, const struct lt_sql_target *t,
			const char *name, const struct lt_logql *q,
			const struct lt_sql_range *r);

/* The label sets of the streams matching any of the n selectors, one
 * label array per line (TabSeparated of Array(String)), at most limit
 * (0: no limit). */
int lt_sql_series(struct lt_buf *out, const struct lt_sql_target *t,
		  const struct lt_logql *const *q, size_t n,
		  const struct lt_sql_range *r, size_t limit);

/* index/stats for a selector: streams, chunks (the streams' days),
 * entries and bytes (of the lines) in the range, one TabSeparated row. */
int lt_sql_index_stats(struct lt_buf *out, const struct lt_sql_target *t,
		       const struct lt_logql *q, const struct lt_sql_range *r);

/* The condition "stream_id IN (SELECT ... FROM TABLE_streams ...)" for
 * a selector, for other statements to build on. */
int lt_sql_stream_condition(struct lt_buf *out, const struct lt_sql_target *t,
			    const struct lt_logql *q, const struct lt_sql_range *r);

/* /index/volume: the bytes of the lines in the range of the streams
 * matching q (NULL or no matchers: every stream), per bucket b of
 * step_ns (intDiv(timestamp_ns, step_ns); 0 when step_ns is 0) and
 * group k, one "b TAB k TAB bytes" row each, ordered by b and bytes
 * (largest first), at most per_bucket rows a bucket (0: all).  The
 * group k is a label array (TabSeparated Array(String)): the stream's
 * labels named by target_labels, or else by q's matchers, or all of
 * them for no matchers; with by_labels, a label name (String) for each
 * label of the stream (or each of target_labels it has).  A stream
 * counts only when it has every target label, as Loki adds name=~".+"
 * for each target its selector does not name. */
struct lt_sql_volume {
	int64_t step_ns;
	const char *const *target_labels;
	size_t n_target_labels;
	int by_labels;
	size_t per_bucket;
};

int lt_sql_volume(struct lt_buf *out, const struct lt_sql_target *t,
		  const struct lt_logql *q, const struct lt_sql_range *r,
		  const struct lt_sql_volume *v);

/* /detected_labels: for each label name of the streams (matching q when
 * not NULL) with rows in the range, in name order: "name TAB values TAB
 * others", values its distinct values, others those of them that are no
 * number (Go's ParseFloat: decimal, Inf, NaN) and no UUID. */
int lt_sql_detected_labels(struct lt_buf *out, const struct lt_sql_target *t,
			   const struct lt_logql *q,
			   const struct lt_sql_range *r);

#endif
