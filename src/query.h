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

#endif
