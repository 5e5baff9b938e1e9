/* Metric queries evaluated in C: the value of every series at every step
 * of a query, as Loki's engine (pkg/logql/evaluator.go,
 * range_vector.go, vector aggregations, binary operators) computes it.
 *
 * A range query is evaluated at start, start+step, ... up to end; an
 * instant query at its time alone.  A range aggregation's window at step
 * t covers (t - offset - range, t - offset], and a window without
 * samples gives the series no point at that step.
 *
 * The leaves of a tree (range aggregations) come from a source (for
 * logthra-query, ClickHouse through query_metric.c): either as samples
 * fed one by one to a range evaluator, or as samples already summed per
 * time bucket by ClickHouse.  Everything above the leaves (vector
 * aggregations, binary operators, label_replace, vector(), scalars) is
 * done here, on matrices whose size the limits bound. */
#ifndef LOGTHRA_METRIC_H
#define LOGTHRA_METRIC_H

#include <stddef.h>
#include <stdint.h>

#include "logql.h"
#include "push.h"
#include "query.h"
#include "query_int.h"

/* The steps of a query: start_ns + i * step_ns for i < n.  An instant
 * query has n 1 (step_ns is then any positive value). */
struct lt_steps {
	int64_t start_ns;
	int64_t step_ns;
	size_t n;
};

/* Loki's limit on points per series, 11,000 (the front refuses a range
 * query with more steps). */
#define LT_METRIC_MAX_STEPS 11000

/* One series: its labels (sorted by name, no duplicates; the strings
 * belong to the matrix) and its value at each step where has[i] is 1. */
struct lt_series {
	struct lt_label *labels;
	size_t n_labels;
	double *v;
	unsigned char *has;
};

struct lt_matrix_mem;

/* A set of series over the same steps.  scalar: the value of a scalar
 * expression (2, 2 * 3): one series without labels with a value at
 * every step. */
struct lt_matrix {
	size_t n_steps;
	int scalar;
	int ordered;                 /* keep the series' order in an instant
				      * query's vector (sort, sort_desc) */
	struct lt_series *series;
	size_t n, cap;
	struct lt_matrix_mem *mem;   /* the labels' strings, values */
};

struct lt_matrix *lt_matrix_new(size_t n_steps);
void lt_matrix_free(struct lt_matrix *m);

/* The index of the series with these labels (sorted by name), added
 * with no points when there is none.  Returns the index, or -1 when out
 * of memory. */
long lt_matrix_series(struct lt_matrix *m, const struct lt_label *l, size_t n);

/* --- Range aggregations --- */

/* Evaluates one range aggregation (e->kind LT_EXPR_RANGE) over st from
 * samples given in ascending time order.  It groups each sample's
 * labels by e->grouping (unwrapped ops) and keeps, per series, only the
 * samples the current window needs.
 *
 * presummed 0: each sample is one entry: v is 1 for count_over_time and
 * rate, the line's bytes for bytes_over_time and bytes_rate, the
 * unwrapped value otherwise.
 * presummed 1 (count, rate, bytes, bytes_rate and absent only): each
 * sample is the count or the bytes of all entries of a series in one
 * time bucket that lies whole inside every window it overlaps, stamped
 * with the bucket's last nanosecond; the windows sum them.
 *
 * Limits: max_series series in the answer, max_samples samples held at
 * once (over all series); past either, lt_range_eval_add() returns -2
 * with Loki's words in why ("maximum number of series (500) reached for
 * a single query; ...").
 *
 * A sample with an __error__ label in some step's window makes the query
 * fail as Loki's does (-2, why: "pipeline error: 'JSONParserErr' for
 * series: '{...}'. Use a label filter to intentionally skip this
 * error...", a 400), unless it also has __preserve_error__="true": then
 * it is a series of its own, its labels not grouped. */
struct lt_range_eval;

struct lt_range_eval *lt_range_eval_new(const struct lt_expr *e,
					const struct lt_steps *st,
					int presummed, size_t max_series,
					size_t max_samples);

/* One sample of the series with labels l (sorted by name: stream labels,
 * structured metadata and parsed labels, as the pipeline left them).
 * Returns 0, -1 when out of memory, -2 when a limit was passed or for a
 * pipeline error (why set).  After an error, re only wants freeing. */
int lt_range_eval_add(struct lt_range_eval *re, const struct lt_label *l,
		      size_t n, int64_t ts_ns, double v, char *why,
		      size_t whylen);

/* Ends the samples and gives the result (the caller frees it), or NULL
 * when out of memory.  re is freed either way. */
struct lt_matrix *lt_range_eval_finish(struct lt_range_eval *re);
void lt_range_eval_free(struct lt_range_eval *re);

/* --- The whole tree --- */

/* Where the leaves come from.  run() gives the matrix of the range
 * aggregation `range` over st, or -1 with err filled in.  sum_by, when
 * not NULL, is the grouping of a `sum` right above the leaf: the source
 * may return series already summed by it (the answer is the same, with
 * fewer series to carry). */
struct lt_leaf_source {
	int (*run)(void *ctx, const struct lt_expr *range,
		   const struct lt_grouping *sum_by, const struct lt_steps *st,
		   struct lt_matrix **out, struct lt_query_error *err);
	void *ctx;
};

/* Evaluates e over st.  Returns 0 with *out (the caller frees it), or -1
 * with err: 400 with Loki's message for a limit (more than max_series
 * series in any intermediate or final result) or a bad argument
 * (topk's k, label_replace's regex), what run() gave, or 503 when out
 * of memory. */
int lt_metric_eval(const struct lt_expr *e, const struct lt_steps *st,
		   const struct lt_leaf_source *src, size_t max_series,
		   struct lt_matrix **out, struct lt_query_error *err);

/* Writes Loki's answer for m: a range query's
 *   {"status":"success","data":{"resultType":"matrix","result":
 *    [{"metric":{"a":"b"},"values":[[1700000000,"2"],...]}],"stats":{...}}}
 * an instant query's "vector" ({"metric":{},"value":[ts,"2"]}) or, for a
 * scalar, "scalar" ([ts,"2"]).  Series are in Loki's order: by labels,
 * except an instant query's vector when m->ordered (a tree with sort or
 * sort_desc, as Loki's Sortable(): topk alone is sorted by labels),
 * values as Go's strconv.FormatFloat(v, 'f', -1, 64) ("NaN", "+Inf").
 * Returns 0, or -1 when out of memory or the sink failed. */
int lt_metric_write(const struct lt_matrix *m, const struct lt_steps *st,
		    int instant, const struct lt_log_stats *stats,
		    const struct lt_query_sink *sink);

#endif
