/* The parts of query.c its unit tests reach: ClickHouse's TabSeparated
 * cells read back, JSON strings written, and the entries of a log
 * query's answer kept, grouped into streams and written as Loki does. */
#ifndef LOGTHRA_QUERY_INT_H
#define LOGTHRA_QUERY_INT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "log.h"
#include "pipeline.h"
#include "push.h"
#include "query.h"

/* Fills err with status and the message, and returns -1. */
int lt_query_fail(struct lt_query_error *err, int status, const char *fmt, ...)
	LT_PRINTF(3, 4);

/* err: 503, "out of memory; try again later" (memory may be there for
 * the next try, as the front says too); returns -1. */
int lt_query_no_memory(struct lt_query_error *err);

/* Seconds on the monotonic clock, for the execTime of a query's stats. */
double lt_query_clock(void);

/* Appends s[0..len) as a JSON string, quotes included: ", \ and control
 * characters escaped, each byte of invalid UTF-8 as U+FFFD (as Go's
 * encoding/json does).  Returns 0, or -1 when out of memory. */
int lt_json_quote(struct lt_buf *out, const char *s, size_t len);

/* Appends a TabSeparated cell unescaped: \b \f \n \r \t \0 \a \v \e,
 * \xHH, and a backslash before any other byte stands for that byte.
 * Returns 0, or -1 when out of memory. */
int lt_tsv_unescape(struct lt_buf *out, const char *s, size_t len);

/* Appends v as Go's strconv.Quote writes it, as far as Loki's label
 * set texts ({a="b", c="d"}) need it for their order.  Returns 0, or -1
 * when out of memory. */
int lt_go_quote(struct lt_buf *out, const char *v, size_t len);

/* A byte range of a buffer (offsets, as the buffer may move). */
struct lt_span {
	size_t off;
	size_t len;
};

/* Strings read from cells: their bytes in text, where each one is in
 * items.  Reused row after row. */
struct lt_strings {
	struct lt_buf text;
	struct lt_span *items;
	size_t n, cap;
};

/* Parses an Array(String) cell as ClickHouse writes it in TabSeparated,
 * ['a=b','c\'d'] (elements quoted and escaped, the array itself not
 * escaped again), adding each element to out.  Returns 0, -1 when the
 * cell is not such an array (why set), -2 when out of memory. */
int lt_tsv_array(const char *s, size_t len, struct lt_strings *out,
		 char *why, size_t whylen);
void lt_strings_free(struct lt_strings *s);

/* One row of a log query's answer: timestamp_ns, stream_id, label,
 * metadata, msg.  labels and metadata are split at their first '=' and
 * sorted by name; everything points into the row's own memory, or msg
 * into the line parsed, valid until the next parse. */
struct lt_row_streams;

struct lt_log_row {
	int64_t ts_ns;
	uint64_t stream_id;
	const struct lt_label *labels;
	size_t n_labels;
	const struct lt_label *metadata;
	size_t n_metadata;
	const char *msg;
	size_t msg_len;
	/* Memory of the row. */
	struct lt_strings cells;     /* label elements, then metadata's */
	struct lt_buf msg_buf;
	struct lt_label *lbl;
	size_t lbl_cap;
	/* The label sets of recent streams, parsed once: every row of a
	 * stream repeats its label array (query.c). */
	struct lt_row_streams *streams;
};

/* Parses one line (without its '\n').  Returns 0, -1 when the line is
 * not such a row (why set), -2 when out of memory. */
int lt_log_row_parse(struct lt_log_row *r, const char *line, size_t len,
		     char *why, size_t whylen);
void lt_log_row_free(struct lt_log_row *r);

/* The entries of a log query's answer, at most limit of them. */
struct lt_log_result;

struct lt_log_stats {
	uint64_t lines;    /* rows read from ClickHouse */
	uint64_t bytes;    /* their lines' bytes */
	double exec_s;
};

struct lt_log_result *lt_log_result_new(size_t limit, int forward);
void lt_log_result_free(struct lt_log_result *r);

/* Adds an entry of the stream with the given labels (sorted by name, no
 * duplicates).  An entry equal to one kept (same labels, timestamp and
 * line) is shown once, as Loki does.  Returns 1 when kept, 0 for a
 * duplicate or when the result is full, -1 when out of memory. */
int lt_log_result_add(struct lt_log_result *r, int64_t ts_ns,
		      const struct lt_label *labels, size_t n,
		      const char *line, size_t len);
size_t lt_log_result_count(const struct lt_log_result *r);
int lt_log_result_full(const struct lt_log_result *r);

/* Appends Loki's stats object (pkg/logqlmodel/stats) for a query that
 * read st's lines and returned `returned` entries (or samples): every
 * field a client may read, the ones not known here 0.  Returns 0, or -1
 * when out of memory. */
int lt_query_write_stats(struct lt_buf *out, const struct lt_log_stats *st,
			 uint64_t returned);

/* Writes Loki's answer: the streams ordered as Loki orders them (by
 * their label set's text, {a="b", c="d"}), each one's values by
 * timestamp in the result's direction.  Returns 0, or -1 when out of
 * memory or sink failed. */
int lt_log_result_write(const struct lt_log_result *r,
			const struct lt_log_stats *st,
			const struct lt_query_sink *sink);

/* --- For the other engines (query_drill.c) --- */

/* Called with each line of a statement's answer (without its '\n'):
 * returns 0 to go on, 1 when it has read enough, -1 when it failed,
 * with err set. */
typedef int (*lt_query_row_fn)(void *ctx, const char *line, size_t len,
			       struct lt_query_error *err);

/* Runs sql (FORMAT TabSeparated) with the limits' settings and hands its
 * rows to fn.  Returns 0, or -1 with err set: ClickHouse's failures as
 * for a log query, or fn's own. */
int lt_query_rows(struct lt_ch *ch, const char *sql,
		  const struct lt_query_limits *lim, lt_query_row_fn fn,
		  void *ctx, struct lt_query_error *err);

/* Called with each entry a log query keeps: the row as stored (stream
 * labels, structured metadata, line) and what the pipeline made of it.
 * Both are valid during the call only.  Returns 0 to go on, -1 when it
 * failed, with err set. */
typedef int (*lt_log_entry_fn)(void *ctx, const struct lt_log_row *row,
			       const struct lt_pl_output *out,
			       struct lt_query_error *err);

/* Runs a log query as lt_query_logs() does (the same SQL and pipeline)
 * but hands each kept entry to fn, in the query's direction, at most
 * req->limit of them; entries that are the same are not merged.
 * Returns 0, or -1 with err set. */
int lt_query_log_entries(struct lt_ch *ch, const struct lt_sql_target *t,
			 const struct lt_query_limits *lim,
			 const struct lt_log_request *req, lt_log_entry_fn fn,
			 void *ctx, struct lt_query_error *err);

/* Lines of an answer, one at a time, to a row function (for the
 * statements of query.c and query_metric.c). */
struct lt_line_reader {
	struct lt_buf partial;          /* a line begun in an earlier piece */
	/* Returns 0 to go on, 1 when it has enough, -1 to abort (with
	 * oom set, or the caller's error filled in). */
	int (*row)(struct lt_line_reader *lr, const char *line, size_t len);
	int bad;                        /* a line was not a row: ignore the rest */
	size_t after_bad;               /* bytes read since */
	int oom;
	char why[256];
};

/* Runs sql with the settings of lim (NULL: none but readonly) and hands
 * its rows to lr->row.  Returns 0, or -1 with err: ClickHouse's failure
 * (502, 504 past the query timeout, 400 past max_rows_to_read), 503 out
 * of memory, 502 for an answer that is not rows or ends inside one; when
 * lr->row aborted without oom, err is left as it set it. */
int lt_query_run_lines(struct lt_ch *ch, const char *sql,
		       const struct lt_query_limits *lim,
		       struct lt_line_reader *lr, struct lt_query_error *err);

#endif
