/* Metric queries from ClickHouse: the leaves of the tree (range
 * aggregations) read from the table, everything above them in C
 * (metric.c).  A leaf that only counts entries or their bytes over a log
 * query ClickHouse can filter whole is counted there, per series and
 * time bucket (the fast path); any other leaf reads the rows in time
 * order and runs them through the pipeline (the general path). */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "metric.h"
#include "pipeline.h"
#include "query.h"
#include "query_http.h"
#include "query_int.h"

/* Samples held at once by one range aggregation, over all its series. */
#define MAX_SAMPLES ((size_t)4 << 20)
/* Buckets per series on the fast path; a query whose step and range have
 * a tiny common divisor reads its rows instead (the same answer). */
#define MAX_BUCKETS 100000
/* Loki's frontend splits a query by split_queries_by_interval (1h by
 * default) and each querier checks max_query_length on its part plus
 * the range [r]. */
#define SPLIT_NS (INT64_C(3600) * 1000000000)

struct metric_run {
	struct lt_ch *ch;
	const struct lt_sql_target *t;
	const struct lt_query_limits *lim;
	const char *tenant;
	uint64_t lines, bytes;
};

/* --- What a leaf reads ---------------------------------------------------- */

/* max_query_length as a querier checks it: the part of the query one
 * querier runs and the range. */
static int
check_length(const struct lt_query_limits *lim, const struct lt_expr *e,
	     const struct lt_steps *st, struct lt_query_error *err)
{
	int64_t span = (int64_t)(st->n - 1) * st->step_ns, len;
	char have[64], max[64];

	if (lim == NULL || lim->max_length_ns <= 0)
		return 0;
	if (span > SPLIT_NS)
		span = SPLIT_NS;
	if (__builtin_add_overflow(span, e->range_ns, &len))
		len = INT64_MAX;
	if (len <= lim->max_length_ns)
		return 0;
	lt_go_duration_format(len, have, sizeof(have));
	lt_prom_duration_format(lim->max_length_ns, max, sizeof(max));
	return lt_query_fail(err, 400, "the query time range exceeds the limit (query length: %s, limit: %s)",
			 have, max);
}

/* Whether a sum above the leaf may group its samples at the source, as
 * Loki's CanInjectVectorGrouping: the ops a sum distributes over. */
static int
sum_injectable(enum lt_range_op op)
{
	return op == LT_RANGE_COUNT || op == LT_RANGE_RATE ||
	       op == LT_RANGE_BYTES || op == LT_RANGE_BYTES_RATE ||
	       op == LT_RANGE_SUM;
}

/* Whether a stage changes nothing for counting: `| drop __error__,
 * __error_details__` with no parser before it (Grafana adds it). */
static int
drops_errors_only(const struct lt_stage *s)
{
	size_t i;

	if (s->kind != LT_STAGE_DROP)
		return 0;
	for (i = 0; i < s->n_params; i++)
		if (s->params[i].expression != NULL ||
		    (strcmp(s->params[i].name, "__error__") != 0 &&
		     strcmp(s->params[i].name, "__error_details__") != 0))
			return 0;
	return 1;
}

static int
counts_only(const struct lt_expr *e)
{
	if (e->unwrap != NULL)
		return 0;
	switch (e->range_op) {
	case LT_RANGE_COUNT:
	case LT_RANGE_RATE:
	case LT_RANGE_BYTES:
	case LT_RANGE_BYTES_RATE:
	case LT_RANGE_ABSENT:
		return 1;
	default:
		return 0;
	}
}

/* --- Labels --------------------------------------------------------------- */

static int
label_is(const struct lt_label *l, const char *name)
{
	return l->name_len == strlen(name) && memcmp(l->name, name, l->name_len) == 0;
}

static int
grouping_has(const struct lt_grouping *g, const struct lt_label *l)
{
	size_t i;

	for (i = 0; i < g->n_labels; i++)
		if (label_is(l, g->labels[i]))
			return 1;
	return 0;
}

/* The labels a sample keeps: those of by (by NULL: all), less the
 * unwrapped label when drop is not NULL.  out has room for n. */
static size_t
group_labels(const struct lt_label *l, size_t n, const struct lt_grouping *by,
	     const char *drop, struct lt_label *out)
{
	size_t i, k = 0;
	int keep;

	for (i = 0; i < n; i++) {
		if (by == NULL || !by->present)
			keep = by == NULL;
		else
			keep = grouping_has(by, &l[i]) != by->without;
		if (keep && drop != NULL && label_is(&l[i], drop))
			keep = 0;
		if (keep)
			out[k++] = l[i];
	}
	return k;
}

/* Whether an aggregation adds up the lines' bytes, not the lines. */
static int
counts_bytes(enum lt_range_op op)
{
	return op == LT_RANGE_BYTES || op == LT_RANGE_BYTES_RATE;
}

static int
has_error(const struct lt_label *l, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (label_is(&l[i], "__error__") && l[i].value_len > 0)
			return 1;
	return 0;
}

/* --- Reading a leaf --------------------------------------------------------- */

struct leaf_read {
	struct lt_line_reader lr;       /* first: the reader is the run */
	struct metric_run *run;
	const struct lt_expr *e;
	const struct lt_steps *st;
	const struct lt_grouping *by;   /* the sum's grouping, when injected */
	const char *drop;               /* the unwrapped label, when removed */
	struct lt_pipeline *pl;
	struct lt_range_eval *re;
	struct lt_log_row row;
	struct lt_label *grouped;
	struct lt_sql_buckets b;        /* fast path: buckets */
	struct lt_query_error *err;
};

static int
add_sample(struct leaf_read *lf, const struct lt_label *l, size_t n,
	   int64_t ts, double v)
{
	char why[512];
	int rc;

	why[0] = '\0';
	rc = lt_range_eval_add(lf->re, l, n, ts, v, why, sizeof(why));
	if (rc == -1) {
		lf->lr.oom = 1;
		return -1;
	}
	if (rc == -2) {
		(void)lt_query_fail(lf->err, 400, "%s", why);
		return -1;
	}
	return 0;
}

static struct lt_pl_input *
row_input(const struct lt_log_row *row, struct lt_pl_input *in)
{
	in->ts_ns = row->ts_ns;
	in->line = row->msg;
	in->line_len = row->msg_len;
	in->labels = row->labels;
	in->n_labels = row->n_labels;
	in->metadata = row->metadata;
	in->n_metadata = row->n_metadata;
	return in;
}

/* Parses a row into lf->row; 1 when it is one, 0 when not (lr->bad set),
 * -1 when out of memory. */
static int
parse_row(struct leaf_read *lf, const char *line, size_t len)
{
	int rc = lt_log_row_parse(&lf->row, line, len, lf->lr.why,
				  sizeof(lf->lr.why));

	if (rc == -2) {
		lf->lr.oom = 1;
		return -1;
	}
	if (rc < 0) {
		lf->lr.bad = 1;
		return 0;
	}
	return 1;
}

/* The general path: one entry of the log query. */
static int
entry_row(struct lt_line_reader *lr, const char *line, size_t len)
{
	struct leaf_read *lf = (struct leaf_read *)lr;
	struct lt_pl_input in;
	struct lt_pl_output out;
	size_t n;
	double v;
	int rc;

	if ((rc = parse_row(lf, line, len)) <= 0)
		return rc;
	lf->run->lines++;
	lf->run->bytes += lf->row.msg_len;
	rc = lt_pipeline_run(lf->pl, row_input(&lf->row, &in), &out);
	if (rc < 0) {
		lr->oom = 1;
		return -1;
	}
	if (rc == 0)
		return 0;
	if (lf->e->unwrap != NULL)
		v = out.value;
	else if (counts_bytes(lf->e->range_op))
		v = (double)out.line_len;
	else
		v = 1;
	/* A sample with an error keeps all its labels, as Loki's
	 * GroupedLabels(): the range aggregation refuses it with Loki's
	 * pipeline error when a window holds it. */
	if (has_error(out.labels, out.n_labels))
		return add_sample(lf, out.labels, out.n_labels, in.ts_ns, v);
	n = group_labels(out.labels, out.n_labels, lf->by, lf->drop, lf->grouped);
	return add_sample(lf, lf->grouped, n, in.ts_ns, v);
}

/* A number of the fast path's answer. */
static int
parse_count(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;

	*v = 0;
	if (s == end || *s < '0' || *s > '9')
		return -1;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (*v > (UINT64_MAX - 9) / 10)
			return -1;
		*v = *v * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	return 0;
}

/* The fast path: k, stream_id, label, metadata, count, bytes.  The row
 * reader takes the last two cells as the message. */
static int
bucket_row(struct lt_line_reader *lr, const char *line, size_t len)
{
	struct leaf_read *lf = (struct leaf_read *)lr;
	struct lt_pl_input in;
	struct lt_pl_output out;
	const char *p, *end;
	uint64_t count, bytes;
	int64_t ts;
	int rc;

	if ((rc = parse_row(lf, line, len)) <= 0)
		return rc;
	p = lf->row.msg;
	end = p + lf->row.msg_len;
	if (parse_count(&p, end, &count) < 0 || p == end || *p++ != '\t' ||
	    parse_count(&p, end, &bytes) < 0 || p != end || lf->row.ts_ns < 0 ||
	    lf->row.ts_ns >= lf->b.n_buckets) {
		lr->bad = 1;
		(void)snprintf(lr->why, sizeof(lr->why), "a bucket's row is not k, series, counts");
		return 0;
	}
	lf->run->lines += count;
	lf->run->bytes += bytes;
	/* The bucket's last nanosecond. */
	ts = lt_sql_bucket_end(&lf->b, lf->row.ts_ns);
	/* The pipeline has no stages: it merges the labels and metadata. */
	in.line = "";
	in.line_len = 0;
	row_input(&lf->row, &in);
	if (lt_pipeline_run(lf->pl, &in, &out) < 0) {
		lr->oom = 1;
		return -1;
	}
	return add_sample(lf, out.labels, out.n_labels, ts,
			  counts_bytes(lf->e->range_op) ? (double)bytes :
							  (double)count);
}

/* Runs sql into lf. */
static int
read_rows(struct leaf_read *lf, const struct lt_buf *sql)
{
	return lt_query_run_lines(lf->run->ch, (const char *)sql->data,
				  lf->run->lim, &lf->lr, lf->err);
}

/* The fast path's statement, or 0 when the leaf cannot take it (sql
 * left empty). */
static int
bucket_sql(struct leaf_read *lf, struct lt_buf *sql)
{
	const struct lt_expr *e = lf->e;
	unsigned char *pushed;
	size_t i;
	int ok = 1;

	if (!counts_only(e) || lf->b.n_buckets > MAX_BUCKETS)
		return 0;
	if ((pushed = calloc(e->log->n_stages + 1, 1)) == NULL)
		return lt_query_no_memory(lf->err);
	if (lt_sql_metric_buckets(sql, lf->run->t, e->log, lf->run->tenant,
				  &lf->b, lf->by, counts_bytes(e->range_op),
				  pushed) < 0) {
		free(pushed);
		return lt_query_no_memory(lf->err);
	}
	for (i = 0; i < e->log->n_stages; i++)
		if (!pushed[i] && !drops_errors_only(&e->log->stages[i]))
			ok = 0;
	free(pushed);
	if (!ok)
		lt_buf_reset(sql);
	return ok;
}

/* The general path's pipeline and statement: lo < ts <= hi, oldest
 * first. */
static int
entry_sql(struct leaf_read *lf, struct lt_buf *sql)
{
	const struct lt_expr *e = lf->e;
	struct lt_sql_range r;
	unsigned char *pushed;
	char why[512];
	int rc = -1;

	r.tenant = lf->run->tenant;
	r.start_ns = lf->b.lo_ns + 1;
	r.end_ns = lf->b.hi_ns + 1;
	if ((pushed = calloc(e->log->n_stages + 1, 1)) == NULL)
		return lt_query_no_memory(lf->err);
	if (lt_sql_log_query(sql, lf->run->t, e->log, &r, 1, 0, pushed) < 0) {
		lt_query_no_memory(lf->err);
		goto done;
	}
	why[0] = '\0';
	lf->pl = lt_pipeline_new(e->log, pushed, why, sizeof(why));
	if (lf->pl != NULL && e->unwrap != NULL &&
	    lt_pipeline_unwrap(lf->pl, e->unwrap, e->conv, e->unwrap_filter,
			       why, sizeof(why)) < 0) {
		lt_pipeline_free(lf->pl);
		lf->pl = NULL;
	}
	if (lf->pl == NULL) {
		if (strcmp(why, "out of memory") == 0)
			lt_query_no_memory(lf->err);
		else
			lt_query_fail(lf->err, 400, "%s", why);
		goto done;
	}
	rc = 0;
done:
	free(pushed);
	return rc;
}

static void
leaf_free(struct leaf_read *lf)
{
	lt_buf_free(&lf->lr.partial);
	lt_log_row_free(&lf->row);
	if (lf->pl != NULL)
		lt_pipeline_free(lf->pl);
	if (lf->re != NULL)
		lt_range_eval_free(lf->re);
	free(lf->grouped);
}

/* How the leaf groups: a sum above it that may group at the source does
 * (and the leaf's own grouping, which it overrides as in Loki, is left
 * out of *eval); the unwrapped label goes unless a by () keeps it. */
static void
plan_grouping(struct leaf_read *lf, const struct lt_grouping *sum_by,
	      struct lt_grouping *no_labels, struct lt_expr *eval)
{
	const struct lt_expr *e = lf->e;

	*eval = *e;
	lf->by = NULL;
	if (sum_by != NULL && sum_injectable(e->range_op)) {
		if (sum_by->present) {
			lf->by = sum_by;
		} else {
			memset(no_labels, 0, sizeof(*no_labels));
			no_labels->present = 1;
			lf->by = no_labels;
		}
		memset(&eval->grouping, 0, sizeof(eval->grouping));
	}
	lf->drop = NULL;
	if (e->unwrap != NULL &&
	    (lf->by != NULL ? lf->by->without :
			      !e->grouping.present || e->grouping.without))
		lf->drop = e->unwrap;
}

static int
leaf_run(void *ctx, const struct lt_expr *e, const struct lt_grouping *sum_by,
	 const struct lt_steps *st, struct lt_matrix **out,
	 struct lt_query_error *err)
{
	struct metric_run *run = ctx;
	struct leaf_read lf;
	struct lt_grouping no_labels;
	struct lt_expr eval;
	struct lt_logql none;
	struct lt_buf sql = LT_BUF_INIT;
	size_t max_series;
	int fast, rc = -1;

	*out = NULL;
	if (check_length(run->lim, e, st, err) < 0)
		return -1;
	memset(&lf, 0, sizeof(lf));
	lf.b.start_ns = st->start_ns;
	lf.b.step_ns = st->step_ns;
	lf.b.n_steps = st->n;
	lf.b.range_ns = e->range_ns;
	lf.b.offset_ns = e->offset_ns;
	if (lt_sql_bucket_plan(&lf.b) < 0)
		return lt_query_fail(err, 400, "the query's time range and offset are out of range");
	lf.run = run;
	lf.e = e;
	lf.st = st;
	lf.err = err;
	plan_grouping(&lf, sum_by, &no_labels, &eval);
	if ((fast = bucket_sql(&lf, &sql)) < 0)
		goto done;
	if (fast) {
		memset(&none, 0, sizeof(none));
		lf.pl = lt_pipeline_new(&none, NULL, err->message, sizeof(err->message));
		if (lf.pl == NULL) {
			lt_query_no_memory(err);
			goto done;
		}
		lf.lr.row = bucket_row;
	} else {
		if (entry_sql(&lf, &sql) < 0)
			goto done;
		lf.lr.row = entry_row;
		lf.grouped = calloc(LT_PL_MAX_LABELS + 2, sizeof(*lf.grouped));
		if (lf.grouped == NULL) {
			lt_query_no_memory(err);
			goto done;
		}
	}
	max_series = run->lim != NULL && run->lim->max_series > 0 ?
		run->lim->max_series : SIZE_MAX;
	lf.re = lt_range_eval_new(&eval, st, fast, max_series, MAX_SAMPLES);
	if (lf.re == NULL) {
		lt_query_no_memory(err);
		goto done;
	}
	if (read_rows(&lf, &sql) < 0)
		goto done;
	*out = lt_range_eval_finish(lf.re);
	lf.re = NULL;
	if (*out == NULL) {
		lt_query_no_memory(err);
		goto done;
	}
	rc = 0;
done:
	lt_buf_free(&sql);
	leaf_free(&lf);
	return rc;
}

/* --- The query -------------------------------------------------------------- */

int
lt_query_metric(struct lt_ch *ch, const struct lt_sql_target *t,
		const struct lt_query_limits *lim,
		const struct lt_metric_request *req,
		const struct lt_query_sink *sink, struct lt_query_error *err)
{
	struct metric_run run;
	struct lt_leaf_source src;
	struct lt_steps st;
	struct lt_matrix *m = NULL;
	struct lt_log_stats stats;
	double started = lt_query_clock();
	size_t max_series;

	if (req->n_steps == 0 || req->n_steps > LT_METRIC_MAX_STEPS ||
	    req->step_ns <= 0)
		return lt_query_fail(err, 400, "exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter");
	memset(&run, 0, sizeof(run));
	run.ch = ch;
	run.t = t;
	run.lim = lim;
	run.tenant = req->tenant;
	src.run = leaf_run;
	src.ctx = &run;
	st.start_ns = req->start_ns;
	st.step_ns = req->step_ns;
	st.n = req->n_steps;
	max_series = lim != NULL && lim->max_series > 0 ? lim->max_series : SIZE_MAX;
	if (lt_metric_eval(req->e, &st, &src, max_series, &m, err) < 0)
		return -1;
	stats.lines = run.lines;
	stats.bytes = run.bytes;
	stats.exec_s = lt_query_clock() - started;
	if (lt_metric_write(m, &st, req->instant, &stats, sink) < 0) {
		lt_matrix_free(m);
		return lt_query_fail(err, 500, "the answer could not be written");
	}
	lt_matrix_free(m);
	return 0;
}
