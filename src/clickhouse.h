/* A ClickHouse client over its HTTP interface (libcurl), and the check
 * of the database and table names Logthra writes into SQL. */
#ifndef LOGTHRA_CLICKHOUSE_H
#define LOGTHRA_CLICKHOUSE_H

#include <stddef.h>

#include "buf.h"

struct lt_ch;  /* one connection (a libcurl easy handle, reused) */

struct lt_ch_options {
	const char *url;        /* http://host:port/; may carry user:password@ */
	const char *user;       /* NULL: from the URL, or ClickHouse's default */
	const char *password;
	long connect_timeout_s;
	long timeout_s;         /* whole request */
};

/* What went wrong, for the operator: ClickHouse's own exception text when
 * the server answered, or libcurl's message when it could not be reached. */
struct lt_ch_error {
	long http_status;       /* 0 when no answer came */
	int exception_code;     /* X-ClickHouse-Exception-Code or "Code: N"; 0 if none */
	int timed_out;          /* libcurl gave up: longer than the request's timeout */
	char message[2048];
};

/* Returns NULL when libcurl cannot be initialised. */
struct lt_ch *lt_ch_open(const struct lt_ch_options *opt);
void lt_ch_close(struct lt_ch *ch);

/* Runs one statement sent as the POST body; the answer is appended to out
 * (may be NULL).  Returns 0, or -1 with *err filled in. */
int lt_ch_query(struct lt_ch *ch, const char *sql, struct lt_buf *out,
		struct lt_ch_error *err);

/* Settings for one read statement, sent as URL parameters so that the
 * statement itself stays the caller's. */
struct lt_ch_query_settings {
	long timeout_ms;            /* the whole request on our side; 0: the handle's */
	unsigned long max_execution_time_s;  /* 0: not sent */
	unsigned long long max_memory_usage;   /* bytes; 0: not sent */
	unsigned long long max_rows_to_read;   /* 0: not sent */
	int readonly;               /* 1 or 2: sent; 0: not sent */
	unsigned long long max_query_size;     /* bytes; 0: not sent */
	/* A sort over this many bytes spills to disk (0: not sent). */
	unsigned long long max_bytes_before_external_sort;
	/* distributed_product_mode=local: an IN subquery over a Distributed
	 * table reads each shard's own table (the streams index of a
	 * cluster indexes each shard's rows on that shard). */
	int distributed_local;
};

/* Receives the body of a 200 answer as it arrives.  Returns 0 to go on,
 * 1 to end the transfer early (the caller has enough), -1 to abort it
 * (the caller's own error). */
typedef int (*lt_ch_data_fn)(void *ctx, const char *data, size_t len);

/* Runs one read statement (the POST body) with settings s (may be NULL)
 * and hands the answer to fn piece by piece, so memory does not grow
 * with the answer.  An exception ClickHouse writes into the body after
 * a 200 began (its "Code: N. DB::Exception: ..." at the end) is an
 * error like any other, found when the transfer ends: the caller must
 * not use what fn got before it knows the result.  Returns 0 (the whole
 * answer, or fn asked to stop), -1 with *err filled in, or -2 when fn
 * returned -1. */
int lt_ch_query_stream(struct lt_ch *ch, const char *sql,
		       const struct lt_ch_query_settings *s, lt_ch_data_fn fn,
		       void *ctx, struct lt_ch_error *err);

/* Finds an exception ClickHouse appended to a 200 answer, in the answer's
 * last bytes: "Code: N. DB::Exception: ..." (or 18.16's "Code: N,
 * e.displayText() = DB::Exception: ...") on its last line, or framed by
 * "__exception__" lines when the answer carried X-ClickHouse-Exception-Tag
 * (tagged non-zero).  Returns 1 and fills *err, or 0. */
int lt_ch_find_late_exception(const char *tail, size_t len, int tagged,
			      struct lt_ch_error *err);

/* Runs "INSERT ... FORMAT X" given in the URL's query parameter with data
 * as the POST body.  block_rows > 0 sends max_insert_block_size=block_rows,
 * so that an INSERT of fewer rows is parsed as one block: one part, all
 * or nothing.  query_id (may be NULL) names the INSERT in ClickHouse's
 * system.processes.  Returns 0, or -1 with *err filled in. */
int lt_ch_insert(struct lt_ch *ch, const char *insert_sql, const void *data,
		 size_t len, size_t block_rows, const char *query_id,
		 struct lt_ch_error *err);

/* Settings sent with every INSERT from now on, "name=value&name=value"
 * (URL-encoded already), replacing earlier ones; NULL for none.  Returns
 * 0, or -1 when out of memory. */
int lt_ch_set_insert_settings(struct lt_ch *ch, const char *settings);

/* Whether an error code says ClickHouse could not take the data itself
 * (a parse error, a type mismatch), as opposed to a server or table
 * problem that another try may not have. */
int lt_ch_error_is_data(const struct lt_ch_error *err);

/* Fills *err from a non-200 answer: code_header is the value of
 * X-ClickHouse-Exception-Code (NULL when absent), else "Code: N" at the
 * start of the body is used; the message is the trimmed body. */
void lt_ch_error_from_body(struct lt_ch_error *err, long status,
			   const char *body, size_t len,
			   const char *code_header);

/* --- SQL --- */

/* Checks a database or table name: [A-Za-z_][A-Za-z0-9_]*, at most 64
 * bytes, so it can be written into SQL without quoting. */
int lt_ch_identifier_valid(const char *name);

/* The table's own SQL (DDL, INSERT) is in table.h. */

#endif
