/* What logthra-query does with one read request, however it arrived
 * (CGI, inetd, the terminal): Loki's query API answered from ClickHouse.
 * The engine (query.c) runs log queries, labels, label values, series
 * and index stats and writes Loki's JSON answers; the front
 * (query_http.c) reads the request's parameters and routes. */
#ifndef LOGTHRA_QUERY_H
#define LOGTHRA_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "clickhouse.h"
#include "logql.h"
#include "query_sql.h"

/* Loki's limits, per tenant ([tenant] sections of logthra.conf(5)). */
struct lt_query_limits {
	size_t max_entries;        /* max_entries_limit_per_query, 5000 */
	int64_t max_length_ns;     /* max_query_length, 30d1h */
	size_t max_series;         /* max_query_series, 500 */
	int64_t timeout_ns;        /* query_timeout, 1m */
	/* ClickHouse's own, set on every statement */
	uint64_t max_rows_to_read; /* 0: none */
	uint64_t max_memory;       /* max_memory_usage, bytes; 0: none */
	size_t max_tails;          /* max_concurrent_tail_requests, 10 */
};

/* A log query over a range. */
struct lt_log_request {
	const struct lt_logql *q;
	struct lt_sql_range range;
	size_t limit;              /* entries, <= max_entries */
	int forward;               /* direction=forward */
};

/* Where an answer goes as it is made: the front streams it to the
 * client (so an answer's size does not set memory use) or buffers it. */
struct lt_query_sink {
	int (*write)(void *ctx, const void *data, size_t len);
	void *ctx;
};

/* An error for the client: 400 for a bad query, bad parameters or a
 * limit exceeded (Loki's message, which names the limit); 502 when
 * ClickHouse could not be reached or failed, 504 when it took longer
 * than the query timeout; message is plain text. */
struct lt_query_error {
	int status;
	char message[1024];
};

/* Runs a log query; writes {"status":"success","data":{"resultType":
 * "streams","result":[...],"stats":{...}}} to sink.  Returns 0, or -1
 * with *err filled in and nothing written. */
int lt_query_logs(struct lt_ch *ch, const struct lt_sql_target *t,
		  const struct lt_query_limits *lim, const struct lt_log_request *req,
		  const struct lt_query_sink *sink, struct lt_query_error *err);

/* {"status":"success","data":["a","b"]} */
int lt_query_labels(struct lt_ch *ch, const struct lt_sql_target *t,
		    const struct lt_logql *q, const struct lt_sql_range *r,
		    const struct lt_query_sink *sink, struct lt_query_error *err);
int lt_query_label_values(struct lt_ch *ch, const struct lt_sql_target *t,
			  const char *name, const struct lt_logql *q,
			  const struct lt_sql_range *r,
			  const struct lt_query_sink *sink, struct lt_query_error *err);

/* {"status":"success","data":[{"app":"api",...},...]}; more than
 * lim->max_series series is a 400 naming the limit. */
int lt_query_series(struct lt_ch *ch, const struct lt_sql_target *t,
		    const struct lt_query_limits *lim,
		    const struct lt_logql *const *q, size_t n,
		    const struct lt_sql_range *r,
		    const struct lt_query_sink *sink, struct lt_query_error *err);

/* {"streams":N,"chunks":N,"entries":N,"bytes":N} */
int lt_query_index_stats(struct lt_ch *ch, const struct lt_sql_target *t,
			 const struct lt_logql *q, const struct lt_sql_range *r,
			 const struct lt_query_sink *sink, struct lt_query_error *err);

/* --- Metric queries (query_metric.c) --- */

/* A metric query (logql.h, struct lt_expr) evaluated at start_ns +
 * i * step_ns for i < n_steps; an instant query has n_steps 1. */
struct lt_metric_request {
	const struct lt_expr *e;
	const char *tenant;
	int64_t start_ns;
	int64_t step_ns;
	size_t n_steps;
	int instant;
};

/* Runs it: the leaves in ClickHouse (counts and bytes per time bucket
 * with GROUP BY where the whole pipeline is SQL; otherwise the rows
 * through the pipeline in C), the rest in C (metric.h).  Writes Loki's
 * matrix, vector or scalar answer.  Returns 0, or -1 with *err (400 for
 * a limit, with Loki's message) and nothing written. */
int lt_query_metric(struct lt_ch *ch, const struct lt_sql_target *t,
		    const struct lt_query_limits *lim,
		    const struct lt_metric_request *req,
		    const struct lt_query_sink *sink, struct lt_query_error *err);

/* --- Grafana's endpoints: volume, detected labels and fields
 * (query_drill.c) --- */

/* /loki/api/v1/index/volume (step_ns 0: one value per series over the
 * range, a "vector") and /index/volume_range (a "matrix" of step_ns
 * buckets): the bytes of the lines of the streams matching q, per
 * series (aggregate_by_labels 0: the streams' labels, or only
 * target_labels when given) or per label name (aggregate_by_labels 1),
 * the limit largest. */
struct lt_volume_request {
	const struct lt_logql *q;
	struct lt_sql_range range;
	int64_t step_ns;
	size_t limit;
	const char *const *target_labels;
	size_t n_target_labels;
	int aggregate_by_labels;
};

int lt_query_volume(struct lt_ch *ch, const struct lt_sql_target *t,
		    const struct lt_query_limits *lim,
		    const struct lt_volume_request *req,
		    const struct lt_query_sink *sink, struct lt_query_error *err);

/* /loki/api/v1/detected_labels: the stream labels of the streams
 * matching q (NULL: all) in the range, with their cardinality:
 * {"detectedLabels":[{"label":"app","cardinality":3},...]}. */
int lt_query_detected_labels(struct lt_ch *ch, const struct lt_sql_target *t,
			     const struct lt_query_limits *lim,
			     const struct lt_logql *q, const struct lt_sql_range *r,
			     const struct lt_query_sink *sink,
			     struct lt_query_error *err);

/* /loki/api/v1/detected_fields: the fields of the last line_limit lines
 * of the log query q (structured metadata, and the keys json or logfmt
 * finds in the lines), each with its type, cardinality and parsers, at
 * most field_limit; with values_of set (/detected_field/NAME/values),
 * that field's values instead. */
struct lt_fields_request {
	const struct lt_logql *q;
	struct lt_sql_range range;
	size_t line_limit;
	size_t field_limit;
	const char *values_of;
};

int lt_query_detected_fields(struct lt_ch *ch, const struct lt_sql_target *t,
			     const struct lt_query_limits *lim,
			     const struct lt_fields_request *req,
			     const struct lt_query_sink *sink,
			     struct lt_query_error *err);

#endif
