/* The front of logthra-query: Loki's query API over HTTP.  It reads a
 * request's parameters (the query string and a form-encoded POST body),
 * routes it to an endpoint, checks the parameters and the tenant's
 * limits as Loki does, answering in Loki's words, and has the engine
 * (query.h) write the answer through a sink.  logthra-query uses it in
 * every mode, and logthra-recv for the query paths it is sent, so that
 * one address serves pushes and queries. */
#ifndef LOGTHRA_QUERY_HTTP_H
#define LOGTHRA_QUERY_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "clickhouse.h"
#include "http.h"
#include "options.h"
#include "query.h"

/* --- Forms (application/x-www-form-urlencoded, as Go's url.ParseQuery) --- */

struct lt_form_field {
	char *name;
	char *value;       /* NUL-terminated; may hold NULs before the end */
	size_t value_len;
};

struct lt_form {
	struct lt_form_field *fields;  /* in the order given */
	size_t n, cap;
};

void lt_form_init(struct lt_form *f);
void lt_form_free(struct lt_form *f);

/* Adds the fields of s[0..len): "a=1&b=x+y&c=%41&a=2", '+' a space, %XX
 * a byte; a field without '=' has the value "", empty fields are
 * skipped.  Returns 0, or -1 with Go's message in err: 'invalid URL
 * escape "%zz"', "invalid semicolon separator in query", or "out of
 * memory". */
int lt_form_parse(struct lt_form *f, const char *s, size_t len, char *err,
		  size_t errlen);

/* Adds one field as it is (for the command line). */
int lt_form_add(struct lt_form *f, const char *name, const char *value);

/* The first value of name, or NULL; "" counts as absent, as Go's
 * Form.Get gives "" for both. */
const char *lt_form_get(const struct lt_form *f, const char *name);

/* --- Times and durations, as Loki's parameters take them --- */

/* A timestamp (Loki 3's parseTimestamp): RFC3339 or RFC3339Nano;
 * with a '.', a float: seconds with the fraction rounded to the
 * millisecond when the whole part is <= 1e10, else nanoseconds; an
 * integer: seconds when <= 1e10, else nanoseconds.  Returns 0 with *ns
 * (unix nanoseconds), or -1 with Go's message in err. */
int lt_query_parse_time(const char *s, int64_t *ns, char *err, size_t errlen);

/* A Prometheus duration (model.ParseDuration): "1h30m", "7d", "2w",
 * "500ms", "0"; units y w d h m s ms, each once, largest first.
 * Returns 0 or -1. */
int lt_prom_duration(const char *s, int64_t *ns);

/* Formats ns as Go's time.Duration.String() ("744h0m0s", "1.5s") and
 * as Prometheus's model.Duration ("30d1h", "1w", "0s"). */
void lt_go_duration_format(int64_t ns, char *buf, size_t len);
void lt_prom_duration_format(int64_t ns, char *buf, size_t len);

/* start, end and since as Loki's bounds(): end defaults to now, start
 * to min(end, now) - since, since to 1h.  Returns 0, or -1 with err
 * (400, "could not parse 'start' parameter: ..."). */
int lt_query_bounds(const struct lt_form *form, int64_t now_ns,
		    int64_t *start_ns, int64_t *end_ns,
		    struct lt_query_error *err);

/* limit, as every endpoint takes it: 100 when absent; Go's Atoi
 * messages; "limit must be a positive value".  Returns 0 or -1 with err
 * (400). */
int lt_query_param_limit(const struct lt_form *form, size_t *limit,
			 struct lt_query_error *err);

/* strconv.Atoi(s), with Go's message in err.  Returns 0 or -1. */
int lt_go_atoi(const char *s, int64_t *out, char *err, size_t errlen);

/* --- Routing --- */

enum lt_query_endpoint {
	LT_EP_NONE,
	LT_EP_QUERY_RANGE,   /* /loki/api/v1/query_range */
	LT_EP_QUERY,         /* /loki/api/v1/query */
	LT_EP_LABELS,        /* /loki/api/v1/labels (and /label) */
	LT_EP_LABEL_VALUES,  /* /loki/api/v1/label/NAME/values */
	LT_EP_SERIES,        /* /loki/api/v1/series */
	LT_EP_INDEX_STATS,   /* /loki/api/v1/index/stats */
	LT_EP_BUILDINFO,     /* /loki/api/v1/status/buildinfo */
	LT_EP_READY,         /* /ready */
	LT_EP_VOLUME,        /* /loki/api/v1/index/volume */
	LT_EP_VOLUME_RANGE,  /* /loki/api/v1/index/volume_range */
	LT_EP_DETECTED_LABELS, /* /loki/api/v1/detected_labels */
	LT_EP_DETECTED_FIELDS, /* /loki/api/v1/detected_fields */
	LT_EP_DETECTED_FIELD_VALUES, /* /loki/api/v1/detected_field/NAME/values */
	LT_EP_PATTERNS,      /* /loki/api/v1/patterns */
	LT_EP_TAIL,          /* /loki/api/v1/tail (a websocket) */
};

/* The endpoint of a path; for label values, the label's name (percent
 * decoded, NUL-terminated) goes to name.  LT_EP_NONE for any other path,
 * or a label name longer than namelen - 1. */
enum lt_query_endpoint lt_query_route(const char *path, char *name,
				      size_t namelen);

/* Whether logthra-recv should hand a request for path to the query
 * front: every path above. */
int lt_query_is_path(const char *path);

/* --- The engine, as a table so that tests can stand in for ClickHouse --- */

struct lt_query_engine {
	/* Connects for one request of a tenant, with its limits; fills
	 * target.  NULL with err filled in (502) when it cannot. */
	struct lt_ch *(*open)(const struct lt_options *o,
			      const struct lt_query_limits *lim,
			      struct lt_sql_target *target,
			      struct lt_query_error *err);
	void (*close)(struct lt_ch *ch);
	int (*logs)(struct lt_ch *ch, const struct lt_sql_target *t,
		    const struct lt_query_limits *lim,
		    const struct lt_log_request *req,
		    const struct lt_query_sink *sink, struct lt_query_error *err);
	int (*labels)(struct lt_ch *ch, const struct lt_sql_target *t,
		      const struct lt_logql *q, const struct lt_sql_range *r,
		      const struct lt_query_sink *sink,
		      struct lt_query_error *err);
	int (*label_values)(struct lt_ch *ch, const struct lt_sql_target *t,
			    const char *name, const struct lt_logql *q,
			    const struct lt_sql_range *r,
			    const struct lt_query_sink *sink,
			    struct lt_query_error *err);
	int (*series)(struct lt_ch *ch, const struct lt_sql_target *t,
		      const struct lt_query_limits *lim,
		      const struct lt_logql *const *q, size_t n,
		      const struct lt_sql_range *r,
		      const struct lt_query_sink *sink,
		      struct lt_query_error *err);
	int (*index_stats)(struct lt_ch *ch, const struct lt_sql_target *t,
			   const struct lt_logql *q,
			   const struct lt_sql_range *r,
			   const struct lt_query_sink *sink,
			   struct lt_query_error *err);
	int (*metric)(struct lt_ch *ch, const struct lt_sql_target *t,
		      const struct lt_query_limits *lim,
		      const struct lt_metric_request *req,
		      const struct lt_query_sink *sink,
		      struct lt_query_error *err);
	int (*volume)(struct lt_ch *ch, const struct lt_sql_target *t,
		      const struct lt_query_limits *lim,
		      const struct lt_volume_request *req,
		      const struct lt_query_sink *sink,
		      struct lt_query_error *err);
	int (*detected_labels)(struct lt_ch *ch, const struct lt_sql_target *t,
			       const struct lt_query_limits *lim,
			       const struct lt_logql *q,
			       const struct lt_sql_range *r,
			       const struct lt_query_sink *sink,
			       struct lt_query_error *err);
	int (*detected_fields)(struct lt_ch *ch, const struct lt_sql_target *t,
			       const struct lt_query_limits *lim,
			       const struct lt_fields_request *req,
			       const struct lt_query_sink *sink,
			       struct lt_query_error *err);
};

/* The real one: ClickHouse through query.c (query_engine.c). */
extern const struct lt_query_engine lt_query_clickhouse;

/* --- Answering --- */

/* Checks what can be checked before a body is read: the path (404), the
 * method (405, Allow: GET, POST), the tenant and the credentials for
 * reading (lt_request_tenant(): 400, 401, 403), Content-Length (413).
 * Returns 0 with *tenant set (NULL for /ready and buildinfo, which
 * need none), or -1 with resp filled in. */
int lt_query_check_head(const struct lt_options *o, const struct lt_request *r,
			const char **tenant, struct lt_response *resp);

/* Runs one endpoint with its parameters for tenant.  Returns 0 when the
 * answer (Loki's JSON) went through sink, or -1 with err filled in (and
 * nothing written): status 200 with a text answer for /ready, 400 for
 * bad parameters or a limit, 502/504 from the engine. */
int lt_query_run(const struct lt_options *o, const struct lt_query_engine *e,
		 enum lt_query_endpoint ep, const char *label_name,
		 const char *tenant, const struct lt_form *form, int64_t now_ns,
		 const struct lt_query_sink *sink, struct lt_query_error *err);

/* A whole request whose head passed lt_query_check_head() and whose body
 * has been read: decodes the form (the body first when it is form
 * encoded, then the query string, as Go's ParseForm) and runs it.  Same
 * returns as lt_query_run(). */
int lt_query_handle(const struct lt_options *o, const struct lt_query_engine *e,
		    const struct lt_request *r, const char *tenant,
		    int64_t now_ns, const struct lt_query_sink *sink,
		    struct lt_query_error *err);

/* Serves one request on an inetd connection (keep-alive, the same
 * framing code as pushes) or as CGI, head already read: checks it, reads
 * the body, runs it and writes the answer, streamed with chunked
 * transfer coding (HTTP/1.1), or to the connection's close (HTTP/1.0).
 * Returns 1 when the connection can carry another request. */
int lt_query_serve_conn(struct lt_options *o, const struct lt_query_engine *e,
			struct lt_conn *c, struct lt_request *r);
void lt_query_serve_cgi(const struct lt_options *o,
			const struct lt_query_engine *e, struct lt_request *r,
			int in_fd, int out_fd);

#endif
