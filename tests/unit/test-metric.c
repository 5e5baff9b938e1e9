/* Unit tests: metric queries evaluated as Loki's engine does.  Every
 * expected value below was worked out by hand from the samples, with
 * Loki's definitions (range_vector.go, evaluator.go, MergeBinOp) and
 * Go's number formatting. */
#include "config.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metric.h"

#define NO -12345.0   /* no point at this step */
#define S(x) ((int64_t)((x) * 1e9 + ((x) < 0 ? -0.5 : 0.5)))

/* "a=1,b=x" as labels pointing into the literal (sorted by the test). */
static size_t
L(const char *spec, struct lt_label *l)
{
	const char *p = spec, *eq, *end;
	size_t n = 0;

	while (*p != '\0') {
		eq = strchr(p, '=');
		end = strchr(eq, ',');
		if (end == NULL)
			end = eq + strlen(eq);
		l[n].name = p;
		l[n].name_len = (size_t)(eq - p);
		l[n].value = eq + 1;
		l[n].value_len = (size_t)(end - eq - 1);
		n++;
		p = *end != '\0' ? end + 1 : end;
	}
	return n;
}

static long
find(const struct lt_matrix *m, const char *spec)
{
	struct lt_label l[16];
	size_t n = L(spec, l), i, j;

	for (i = 0; i < m->n; i++) {
		const struct lt_series *se = &m->series[i];

		if (se->n_labels != n)
			continue;
		for (j = 0; j < n; j++)
			if (se->labels[j].name_len != l[j].name_len ||
			    se->labels[j].value_len != l[j].value_len ||
			    memcmp(se->labels[j].name, l[j].name, l[j].name_len) ||
			    memcmp(se->labels[j].value, l[j].value, l[j].value_len))
				break;
		if (j == n)
			return (long)i;
	}
	return -1;
}

/* The series' values: NO where it has none. */
static void
check_series(const struct lt_matrix *m, const char *spec, const double *want,
	     size_t n)
{
	long i = find(m, spec);
	size_t s;

	ck_assert_msg(i >= 0, "no series %s", spec);
	for (s = 0; s < n; s++) {
		const struct lt_series *se = &m->series[i];

		if (want[s] == NO) {
			ck_assert_msg(!se->has[s], "%s has a point at step %zu",
				      spec, s);
			continue;
		}
		ck_assert_msg(se->has[s], "%s has no point at step %zu", spec, s);
		if (isinf(want[s]))
			ck_assert_msg(se->v[s] == want[s], "%s step %zu: %g", spec,
				      s, se->v[s]);
		else if (isnan(want[s]))
			ck_assert_msg(isnan(se->v[s]), "%s step %zu: %g", spec, s,
				      se->v[s]);
		else
			ck_assert_msg(fabs(se->v[s] - want[s]) <= 1e-9 *
				      (1 + fabs(want[s])), "%s step %zu: %.17g, "
				      "want %.17g", spec, s, se->v[s], want[s]);
	}
}

#define SERIES(m, spec, ...) do { \
	const double w_[] = {__VA_ARGS__}; \
	check_series(m, spec, w_, sizeof(w_) / sizeof(w_[0])); \
} while (0)

/* Series with at least one point. */
static size_t
count_series(const struct lt_matrix *m)
{
	size_t i, s, n = 0;

	for (i = 0; i < m->n; i++)
		for (s = 0; s < m->n_steps; s++)
			if (m->series[i].has[s]) {
				n++;
				break;
			}
	return n;
}

/* --- Range aggregations --- */

struct smp {
	const char *labels;
	double ts;
	double v;
};

static void
range_expr(struct lt_expr *e, enum lt_range_op op, double range_s,
	   double offset_s)
{
	memset(e, 0, sizeof(*e));
	e->kind = LT_EXPR_RANGE;
	e->range_op = op;
	e->range_ns = S(range_s);
	e->offset_ns = S(offset_s);
}

/* Steps 100, 110, 120 s. */
static const struct lt_steps steps3 = {S(100), S(10), 3};

static struct lt_matrix *
run(const struct lt_expr *e, const struct lt_steps *st, int presummed,
    size_t max_series, size_t max_samples, const struct smp *s, size_t n,
    int *rc, char *why, size_t whylen)
{
	struct lt_range_eval *re = lt_range_eval_new(e, st, presummed,
						     max_series, max_samples);
	struct lt_label l[16];
	size_t i;

	ck_assert_ptr_nonnull(re);
	*rc = 0;
	for (i = 0; i < n; i++) {
		size_t nl = L(s[i].labels, l);

		if ((*rc = lt_range_eval_add(re, l, nl, S(s[i].ts), s[i].v, why,
					     whylen)) != 0) {
			lt_range_eval_free(re);
			return NULL;
		}
	}
	return lt_range_eval_finish(re);
}

static struct lt_matrix *
run_ok(const struct lt_expr *e, const struct lt_steps *st, int presummed,
       const struct smp *s, size_t n)
{
	char why[2048] = "";
	int rc;
	struct lt_matrix *m = run(e, st, presummed, 500, 100000, s, n, &rc, why,
				  sizeof(why));

	ck_assert_msg(rc == 0, "add: %d %s", rc, why);
	ck_assert_ptr_nonnull(m);
	return m;
}

/* 80 lies exactly at the first window's start (out), 100 exactly at
 * its end (in).  Windows (80,100], (90,110], (100,120]. */
static const struct smp edge[] = {
	{"app=a", 80, 100}, {"app=a", 85, 1}, {"app=a", 90, 2},
	{"app=a", 100, 4}, {"app=a", 105, 8}, {"app=a", 120, 16},
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

START_TEST(test_range_count_rate)
{
	struct lt_expr e;
	struct lt_matrix *m;

	range_expr(&e, LT_RANGE_COUNT, 20, 0);
	m = run_ok(&e, &steps3, 0, edge, N(edge));
	ck_assert_uint_eq(m->n, 1);
	SERIES(m, "app=a", 3, 2, 2);
	lt_matrix_free(m);

	range_expr(&e, LT_RANGE_RATE, 20, 0);
	m = run_ok(&e, &steps3, 0, edge, N(edge));
	SERIES(m, "app=a", 0.15, 0.1, 0.1);
	lt_matrix_free(m);

	/* rate of an unwrapped value: the sum per second. */
	e.unwrap = (char *)"v";
	m = run_ok(&e, &steps3, 0, edge, N(edge));
	SERIES(m, "app=a", 0.35, 0.6, 1.2);
	lt_matrix_free(m);

	range_expr(&e, LT_RANGE_BYTES, 20, 0);
	m = run_ok(&e, &steps3, 0, edge, N(edge));
	SERIES(m, "app=a", 7, 12, 24);
	lt_matrix_free(m);

	range_expr(&e, LT_RANGE_BYTES_RATE, 20, 0);
	m = run_ok(&e, &steps3, 0, edge, N(edge));
	SERIES(m, "app=a", 0.35, 0.6, 1.2);
	lt_matrix_free(m);
}
END_TEST

START_TEST(test_range_unwrapped)
{
	struct lt_expr e;
	struct lt_matrix *m;

	range_expr(&e, LT_RANGE_SUM, 20, 0);
	m = run_ok(&e, &steps3, 0, edge, N(edge));
	SERIES(m, "app=a", 7, 12, 24);
	lt_matrix_free(m);

	range_expr(&e, LT_RANGE_AVG, 20, 0);
	m = run_ok(&e, &steps3, 0, edge, N(edge));
	SERIES(m, "app=a", 7.0 / 3, 6, 12);
	lt_matrix_free(m);

	range_expr(&e, LT_RANGE_MIN, 20, 0);
	m = run_ok(&e, &steps3, 0, edge, N(edge));
	SERIES(m, "app=a", 1, 4, 8);
	lt_matrix_free(m);

	range_expr(&e, LT_RANGE_MAX, 20, 0);
	m = run_ok(&e, &steps3, 0, edge, N(edge));
	SERIES(m, "app=a", 4, 8, 16);
	lt_matrix_free(m);

	range_expr(&e, LT_RANGE_FIRST, 20, 0);
	m = run_ok(&e, &steps3, 0, edge, N(edge));
	SERIES(m, "app=a", 1, 4, 8);
	lt_matrix_free(m);

	range_expr(&e, LT_RANGE_LAST, 20, 0);
	m = run_ok(&e, &steps3, 0, edge, N(edge));
	SERIES(m, "app=a", 4, 8, 16);
	lt_matrix_free(m);

	/* {1,2,4}: mean 7/3, squared deviations 16/9 + 1/9 + 25/9. */
	range_expr(&e, LT_RANGE_STDVAR, 20, 0);
	m = run_ok(&e, &steps3, 0, edge, N(edge));
	SERIES(m, "app=a", 14.0 / 9, 4, 16);
	lt_matrix_free(m);

	range_expr(&e, LT_RANGE_STDDEV, 20, 0);
	m = run_ok(&e, &steps3, 0, edge, N(edge));
	SERIES(m, "app=a", sqrt(14.0 / 9), 2, 4);
	lt_matrix_free(m);

	/* rank q * (n - 1): 0.5 * 2 = 1 -> 2; 0.5 * 1 -> (4 + 8) / 2. */
	range_expr(&e, LT_RANGE_QUANTILE, 20, 0);
	e.param = 0.5;
	m = run_ok(&e, &steps3, 0, edge, N(edge));
	SERIES(m, "app=a", 2, 6, 12);
	lt_matrix_free(m);
	/* rank 1.8: 2 * 0.2 + 4 * 0.8. */
	e.param = 0.9;
	m = run_ok(&e, &steps3, 0, edge, N(edge));
	SERIES(m, "app=a", 3.6, 7.6, 15.2);
	lt_matrix_free(m);
	e.param = 1.5;
	m = run_ok(&e, &steps3, 0, edge, N(edge));
	SERIES(m, "app=a", INFINITY, INFINITY, INFINITY);
	lt_matrix_free(m);
}
END_TEST

/* Windows shorter than the step: (95,100], (105,110], (115,120]; 105
 * is at the second one's start, out. */
START_TEST(test_range_gaps_and_offset)
{
	struct lt_expr e;
	struct lt_matrix *m;

	range_expr(&e, LT_RANGE_COUNT, 5, 0);
	m = run_ok(&e, &steps3, 0, edge, N(edge));
	SERIES(m, "app=a", 1, NO, 1);
	lt_matrix_free(m);

	/* offset 10s: (70,90], (80,100], (90,110]; stamped 100, 110, 120. */
	range_expr(&e, LT_RANGE_COUNT, 20, 10);
	m = run_ok(&e, &steps3, 0, edge, N(edge));
	SERIES(m, "app=a", 3, 3, 2);
	lt_matrix_free(m);
	range_expr(&e, LT_RANGE_SUM, 20, 10);
	m = run_ok(&e, &steps3, 0, edge, N(edge));
	SERIES(m, "app=a", 103, 7, 12);
	lt_matrix_free(m);
}
END_TEST

START_TEST(test_range_series_and_grouping)
{
	static const struct smp s[] = {
		{"a=1,b=1", 95, 1}, {"a=1,b=2", 96, 10}, {"a=2,b=1", 97, 100},
		{"a=1,b=1", 105, 2},
	};
	static char *by[] = {(char *)"a"}, *wo[] = {(char *)"b"};
	struct lt_expr e;
	struct lt_matrix *m;

	/* Without grouping each label set is a series. */
	range_expr(&e, LT_RANGE_COUNT, 20, 0);
	m = run_ok(&e, &steps3, 0, s, N(s));
	ck_assert_uint_eq(m->n, 3);
	SERIES(m, "a=1,b=1", 1, 2, 1);
	SERIES(m, "a=1,b=2", 1, 1, NO);
	SERIES(m, "a=2,b=1", 1, 1, NO);
	lt_matrix_free(m);

	range_expr(&e, LT_RANGE_SUM, 20, 0);
	e.grouping.present = 1;
	e.grouping.labels = by;
	e.grouping.n_labels = 1;
	m = run_ok(&e, &steps3, 0, s, N(s));
	ck_assert_uint_eq(m->n, 2);
	SERIES(m, "a=1", 11, 13, 2);
	SERIES(m, "a=2", 100, 100, NO);
	lt_matrix_free(m);

	e.grouping.without = 1;
	e.grouping.labels = wo;
	m = run_ok(&e, &steps3, 0, s, N(s));
	ck_assert_uint_eq(m->n, 2);
	SERIES(m, "a=1", 11, 13, 2);
	lt_matrix_free(m);
}
END_TEST

/* Buckets of 5 s stamped at their end sum to what the entries give. */
START_TEST(test_range_presummed)
{
	static const struct smp entries[] = {
		{"app=a", 81, 1}, {"app=a", 82, 1}, {"app=a", 85, 1},
		{"app=a", 86, 1}, {"app=a", 99, 1}, {"app=a", 100, 1},
		{"app=a", 103, 1}, {"app=a", 117, 1},
	};
	static const struct smp buckets[] = {
		{"app=a", 85, 3}, {"app=a", 90, 1}, {"app=a", 100, 2},
		{"app=a", 105, 1}, {"app=a", 120, 1},
	};
	static const enum lt_range_op ops[] = {
		LT_RANGE_COUNT, LT_RANGE_RATE, LT_RANGE_BYTES,
		LT_RANGE_BYTES_RATE,
	};
	struct lt_expr e;
	struct lt_matrix *a, *b;
	size_t i, s;

	for (i = 0; i < N(ops); i++) {
		range_expr(&e, ops[i], 20, 0);
		a = run_ok(&e, &steps3, 0, entries, N(entries));
		b = run_ok(&e, &steps3, 1, buckets, N(buckets));
		ck_assert_uint_eq(a->n, 1);
		ck_assert_uint_eq(b->n, 1);
		for (s = 0; s < 3; s++) {
			ck_assert(a->series[0].has[s] && b->series[0].has[s]);
			ck_assert_double_eq(a->series[0].v[s], b->series[0].v[s]);
		}
		lt_matrix_free(a);
		lt_matrix_free(b);
	}
	range_expr(&e, LT_RANGE_COUNT, 20, 0);
	a = run_ok(&e, &steps3, 1, buckets, N(buckets));
	SERIES(a, "app=a", 6, 3, 2);
	lt_matrix_free(a);
}
END_TEST

START_TEST(test_range_absent)
{
	static struct lt_matcher ms[] = {
		{(char *)"app", (char *)"api", LT_MATCH_EQ},
		{(char *)"env", (char *)"p.*", LT_MATCH_RE},
		{(char *)"job", (char *)"x", LT_MATCH_EQ},
		{(char *)"job", (char *)"y", LT_MATCH_EQ},
		{(char *)"zone", (char *)"z", LT_MATCH_NE},
	};
	static const struct smp s[] = {{"app=api,env=prod", 85, 1}};
	struct lt_logql q = {ms, N(ms), NULL, 0};
	const struct lt_steps st = {S(90), S(10), 3};
	struct lt_expr e;
	struct lt_matrix *m;

	range_expr(&e, LT_RANGE_ABSENT, 10, 0);
	e.log = &q;
	/* (80,90] holds the sample: no point; then none: 1 with the one
	 * equality matcher that is alone on its name. */
	m = run_ok(&e, &st, 0, s, N(s));
	ck_assert_uint_eq(m->n, 1);
	SERIES(m, "app=api", NO, 1, 1);
	lt_matrix_free(m);
	/* No samples at all. */
	m = run_ok(&e, &st, 0, s, 0);
	SERIES(m, "app=api", 1, 1, 1);
	lt_matrix_free(m);
}
END_TEST

/* Loki's extrapolatedRate with its nanosecond timestamps: to the start
 * 60000 ns / 1000 = 60, to the end 0, interval 2e10 / 1000 = 2e7, the
 * increase 6 (3 - 2 + the reset's 5): 6 * (2e7 + 60) / 2e7 / 60. */
START_TEST(test_range_rate_counter)
{
	static const struct smp s[] = {
		{"app=a", 10, 2}, {"app=a", 20, 5}, {"app=a", 30, 3},
	};
	static const struct smp one[] = {{"app=a", 10, 2}};
	const struct lt_steps st = {S(30), S(1), 1};
	struct lt_expr e;
	struct lt_matrix *m;

	range_expr(&e, LT_RANGE_RATE_COUNTER, 60, 0);
	m = run_ok(&e, &st, 0, s, N(s));
	SERIES(m, "app=a", 6 * (2e7 + 60) / 2e7 / 60);
	lt_matrix_free(m);
	/* One sample: 0. */
	m = run_ok(&e, &st, 0, one, 1);
	SERIES(m, "app=a", 0);
	lt_matrix_free(m);
}
END_TEST

START_TEST(test_range_limits)
{
	static const struct smp three[] = {
		{"a=1", 95, 1}, {"a=2", 96, 1}, {"a=3", 97, 1},
	};
	static const struct smp held[] = {
		{"a=1", 96, 1}, {"a=1", 97, 1}, {"a=1", 98, 1}, {"a=1", 106, 1},
		{"a=1", 107, 1}, {"a=1", 108, 1}, {"a=1", 109, 1},
	};
	struct lt_expr e;
	struct lt_matrix *m;
	char why[1024];
	int rc;

	range_expr(&e, LT_RANGE_COUNT, 20, 0);
	m = run(&e, &steps3, 0, 2, 100, three, N(three), &rc, why, sizeof(why));
	ck_assert_ptr_null(m);
	ck_assert_int_eq(rc, -2);
	ck_assert_str_eq(why, "maximum number of series (2) reached for a "
			 "single query; consider reducing query cardinality by "
			 "adding more specific stream selectors, reducing the "
			 "time range, or aggregating results with functions "
			 "like sum(), count() or topk()");
	/* Windows of 5 s: each holds 3 samples, never more. */
	range_expr(&e, LT_RANGE_COUNT, 5, 0);
	m = run(&e, &steps3, 0, 10, 3, held, 6, &rc, why, sizeof(why));
	ck_assert_int_eq(rc, 0);
	SERIES(m, "a=1", 3, 3, NO);
	lt_matrix_free(m);
	m = run(&e, &steps3, 0, 10, 3, held, 7, &rc, why, sizeof(why));
	ck_assert_ptr_null(m);
	ck_assert_int_eq(rc, -2);
	ck_assert_msg(strstr(why, "samples held at once (3)") != NULL, "%s", why);
}
END_TEST

START_TEST(test_range_pipeline_error)
{
	static const struct smp bad[] = {
		{"__error__=JSONParserErr,app=a", 95, 1},
	};
	static const struct smp kept[] = {
		{"__error__=JSONParserErr,__preserve_error__=true,a=1", 95, 1},
		{"a=1,b=2", 96, 1},
	};
	static const struct smp outside[] = {
		{"__error__=JSONParserErr,app=a", 50, 1}, {"app=a", 95, 1},
	};
	static char *by[] = {(char *)"a"};
	struct lt_expr e;
	struct lt_matrix *m;
	char why[1024];
	int rc;

	range_expr(&e, LT_RANGE_COUNT, 20, 0);
	m = run(&e, &steps3, 0, 10, 100, bad, 1, &rc, why, sizeof(why));
	ck_assert_ptr_null(m);
	ck_assert_int_eq(rc, -2);
	ck_assert_str_eq(why, "pipeline error: 'JSONParserErr' for series: "
			 "'{__error__=\"JSONParserErr\", app=\"a\"}'.\n"
			 "Use a label filter to intentionally skip this error. "
			 "(e.g | __error__!=\"JSONParserErr\").\n"
			 "To skip all potential errors you can match empty "
			 "errors.(e.g __error__=\"\")\n"
			 "The label filter can also be specified after unwrap. "
			 "(e.g | unwrap latency | __error__=\"\" )\n");
	/* Outside every window it does not count. */
	m = run_ok(&e, &steps3, 0, outside, N(outside));
	SERIES(m, "app=a", 1, 1, NO);
	lt_matrix_free(m);
	/* Kept on purpose: its own series, not grouped. */
	range_expr(&e, LT_RANGE_SUM, 20, 0);
	e.grouping.present = 1;
	e.grouping.labels = by;
	e.grouping.n_labels = 1;
	m = run_ok(&e, &steps3, 0, kept, N(kept));
	ck_assert_uint_eq(m->n, 2);
	SERIES(m, "__error__=JSONParserErr,__preserve_error__=true,a=1", 1, 1,
	       NO);
	SERIES(m, "a=1", 1, 1, NO);
	lt_matrix_free(m);
}
END_TEST

/* The streaming windows against a plain scan of every window, over
 * random samples (three series, whole seconds, some equal stamps), for
 * overlapping, touching and gapped windows, with and without offset. */
static double
naive(enum lt_range_op op, const struct smp *s, size_t n, const char *labels,
      double lo, double hi, int *found)
{
	double r = 0;
	size_t i, c = 0;

	for (i = 0; i < n; i++) {
		if (strcmp(s[i].labels, labels) != 0 || s[i].ts <= lo ||
		    s[i].ts > hi)
			continue;
		if (op == LT_RANGE_MAX)
			r = c == 0 || s[i].v > r ? s[i].v : r;
		else if (op == LT_RANGE_LAST)
			r = s[i].v;
		else
			r += op == LT_RANGE_COUNT ? 1 : s[i].v;
		c++;
	}
	*found = c > 0;
	return r;
}

START_TEST(test_range_against_scan)
{
	static const char *names[] = {"k=a", "k=b", "k=c"};
	static const enum lt_range_op ops[] = {
		LT_RANGE_COUNT, LT_RANGE_SUM, LT_RANGE_MAX, LT_RANGE_LAST,
	};
	static const double shapes[][3] = {
		/* range, step, offset */
		{30, 10, 0}, {10, 10, 0}, {7, 10, 0}, {45, 15, 20}, {1, 1, 0},
	};
	struct smp s[300];
	struct lt_expr e;
	struct lt_matrix *m;
	double t = 0;
	size_t i, o, k, st_i, j;
	unsigned seed = 7;

	for (i = 0; i < N(s); i++) {
		seed = seed * 1103515245u + 12345u;
		t += (seed >> 16) % 3;
		s[i].labels = names[(seed >> 8) % 3];
		s[i].ts = t;
		s[i].v = (double)((seed >> 4) % 100);
	}
	for (k = 0; k < N(shapes); k++) {
		struct lt_steps st = {S(20), S(shapes[k][1]), 0};

		st.n = (size_t)(t / shapes[k][1]) + 3;
		if (st.n > 60)
			st.n = 60;
		for (o = 0; o < N(ops); o++) {
			range_expr(&e, ops[o], shapes[k][0], shapes[k][2]);
			m = run_ok(&e, &st, 0, s, N(s));
			for (j = 0; j < N(names); j++) {
				long idx = find(m, names[j]);

				for (st_i = 0; st_i < st.n; st_i++) {
					double hi = 20 + (double)st_i * shapes[k][1] -
						    shapes[k][2];
					int found;
					double want = naive(ops[o], s, N(s), names[j],
							    hi - shapes[k][0], hi,
							    &found);

					ck_assert_int_eq(found, idx >= 0 &&
							 m->series[idx].has[st_i]);
					if (found)
						ck_assert_double_eq(
							m->series[idx].v[st_i], want);
				}
			}
			lt_matrix_free(m);
		}
	}
}
END_TEST

/* --- The tree --- */

struct row {
	const char *labels;
	double v[4];
};

struct leafdef {
	const struct lt_expr *e;
	const struct row *rows;
	size_t n;
};

struct leaves {
	struct leafdef d[4];
	size_t n;
	const struct lt_grouping *sum_by;
	int calls;
};

static int
leaf_run(void *ctx, const struct lt_expr *range,
	 const struct lt_grouping *sum_by, const struct lt_steps *st,
	 struct lt_matrix **out, struct lt_query_error *err)
{
	struct leaves *lv = ctx;
	struct lt_label l[16];
	struct lt_matrix *m;
	size_t i, j, s;
	long idx;

	lv->calls++;
	lv->sum_by = sum_by;
	for (i = 0; i < lv->n && lv->d[i].e != range; i++)
		;
	if (i == lv->n) {
		err->status = 502;
		(void)snprintf(err->message, sizeof(err->message), "no leaf");
		return -1;
	}
	ck_assert_ptr_nonnull(m = lt_matrix_new(st->n));
	for (j = 0; j < lv->d[i].n; j++) {
		const struct row *r = &lv->d[i].rows[j];

		idx = lt_matrix_series(m, l, L(r->labels, l));
		ck_assert_int_ge(idx, 0);
		for (s = 0; s < st->n; s++)
			if (r->v[s] != NO) {
				m->series[idx].v[s] = r->v[s];
				m->series[idx].has[s] = 1;
			}
	}
	*out = m;
	return 0;
}

static const struct lt_steps steps_eval = {S(1000), S(60), 3};

static struct lt_matrix *
eval(const struct lt_expr *e, struct leaves *lv, size_t max_series,
     const struct lt_steps *st, struct lt_query_error *err)
{
	struct lt_leaf_source src = {leaf_run, lv};
	struct lt_matrix *m = NULL;

	err->status = 0;
	err->message[0] = '\0';
	if (lt_metric_eval(e, st, &src, max_series, &m, err) < 0) {
		ck_assert_ptr_null(m);
		return NULL;
	}
	ck_assert_ptr_nonnull(m);
	return m;
}

static struct lt_matrix *
eval_ok(const struct lt_expr *e, struct leaves *lv)
{
	struct lt_query_error err;
	struct lt_matrix *m = eval(e, lv, 500, &steps_eval, &err);

	ck_assert_msg(m != NULL, "eval: %d %s", err.status, err.message);
	return m;
}

static const struct row rows_l[] = {
	{"app=a,lvl=err", {1, 2, NO}},
	{"app=a,lvl=info", {3, 4, 5}},
	{"app=b,lvl=err", {10, NO, 6}},
};

static struct lt_expr leaf_l;

static void
one_leaf(struct leaves *lv, const struct row *rows, size_t n)
{
	memset(lv, 0, sizeof(*lv));
	range_expr(&leaf_l, LT_RANGE_COUNT, 60, 0);
	lv->d[0].e = &leaf_l;
	lv->d[0].rows = rows;
	lv->d[0].n = n;
	lv->n = 1;
}

static char *g_app[] = {(char *)"app"};
static char *g_lvl[] = {(char *)"lvl"};

static void
vagg(struct lt_expr *x, enum lt_vector_op op, const struct lt_expr *left,
     char **labels, size_t n, int without)
{
	memset(x, 0, sizeof(*x));
	x->kind = LT_EXPR_VECTOR_AGG;
	x->vector_op = op;
	x->left = (struct lt_expr *)(uintptr_t)left;
	x->grouping.present = labels != NULL;
	x->grouping.labels = labels;
	x->grouping.n_labels = n;
	x->grouping.without = without;
}

START_TEST(test_vector_sum_avg_count)
{
	struct leaves lv;
	struct lt_expr x;
	struct lt_matrix *m;

	one_leaf(&lv, rows_l, N(rows_l));
	vagg(&x, LT_VEC_SUM, &leaf_l, g_app, 1, 0);
	m = eval_ok(&x, &lv);
	ck_assert_ptr_eq(lv.sum_by, &x.grouping);
	ck_assert_uint_eq(count_series(m), 2);
	SERIES(m, "app=a", 4, 6, 5);
	SERIES(m, "app=b", 10, NO, 6);
	lt_matrix_free(m);

	vagg(&x, LT_VEC_SUM, &leaf_l, g_lvl, 1, 1);
	m = eval_ok(&x, &lv);
	SERIES(m, "app=a", 4, 6, 5);
	SERIES(m, "app=b", 10, NO, 6);
	lt_matrix_free(m);

	vagg(&x, LT_VEC_SUM, &leaf_l, NULL, 0, 0);
	m = eval_ok(&x, &lv);
	ck_assert_uint_eq(m->n, 1);
	SERIES(m, "", 14, 6, 11);
	lt_matrix_free(m);

	vagg(&x, LT_VEC_AVG, &leaf_l, g_app, 1, 0);
	m = eval_ok(&x, &lv);
	ck_assert_ptr_null(lv.sum_by);
	SERIES(m, "app=a", 2, 3, 5);
	SERIES(m, "app=b", 10, NO, 6);
	lt_matrix_free(m);

	vagg(&x, LT_VEC_COUNT, &leaf_l, g_app, 1, 0);
	m = eval_ok(&x, &lv);
	SERIES(m, "app=a", 2, 2, 1);
	SERIES(m, "app=b", 1, NO, 1);
	lt_matrix_free(m);
}
END_TEST

START_TEST(test_vector_min_max_std)
{
	struct leaves lv;
	struct lt_expr x;
	struct lt_matrix *m;

	one_leaf(&lv, rows_l, N(rows_l));
	vagg(&x, LT_VEC_MIN, &leaf_l, g_lvl, 1, 0);
	m = eval_ok(&x, &lv);
	SERIES(m, "lvl=err", 1, 2, 6);
	SERIES(m, "lvl=info", 3, 4, 5);
	lt_matrix_free(m);

	vagg(&x, LT_VEC_MAX, &leaf_l, NULL, 0, 0);
	m = eval_ok(&x, &lv);
	SERIES(m, "", 10, 4, 6);
	lt_matrix_free(m);

	/* {1,3,10}: mean 14/3, squared deviations (121 + 25 + 256) / 9. */
	vagg(&x, LT_VEC_STDVAR, &leaf_l, NULL, 0, 0);
	m = eval_ok(&x, &lv);
	SERIES(m, "", 402.0 / 27, 1, 0.25);
	lt_matrix_free(m);

	vagg(&x, LT_VEC_STDDEV, &leaf_l, NULL, 0, 0);
	m = eval_ok(&x, &lv);
	SERIES(m, "", sqrt(402.0 / 27), 1, 0.5);
	lt_matrix_free(m);
}
END_TEST

START_TEST(test_vector_topk_bottomk)
{
	static const struct row ties[] = {
		{"app=b", {7, 1, NO}}, {"app=a", {7, 2, NO}}, {"app=c", {NAN, 3, NO}},
	};
	struct leaves lv;
	struct lt_expr x;
	struct lt_matrix *m;

	one_leaf(&lv, rows_l, N(rows_l));
	vagg(&x, LT_VEC_TOPK, &leaf_l, NULL, 0, 0);
	x.param = 1;
	m = eval_ok(&x, &lv);
	ck_assert_uint_eq(count_series(m), 2);
	SERIES(m, "app=b,lvl=err", 10, NO, 6);
	SERIES(m, "app=a,lvl=info", NO, 4, NO);
	lt_matrix_free(m);

	vagg(&x, LT_VEC_TOPK, &leaf_l, g_app, 1, 0);
	x.param = 1;
	m = eval_ok(&x, &lv);
	SERIES(m, "app=a,lvl=info", 3, 4, 5);
	SERIES(m, "app=b,lvl=err", 10, NO, 6);
	ck_assert_int_lt(find(m, "app=a,lvl=err"), 0);
	lt_matrix_free(m);

	vagg(&x, LT_VEC_BOTTOMK, &leaf_l, NULL, 0, 0);
	x.param = 1;
	m = eval_ok(&x, &lv);
	SERIES(m, "app=a,lvl=err", 1, 2, NO);
	SERIES(m, "app=a,lvl=info", NO, NO, 5);
	lt_matrix_free(m);

	/* k < 1: nothing. */
	x.param = 0;
	m = eval_ok(&x, &lv);
	ck_assert_uint_eq(count_series(m), 0);
	lt_matrix_free(m);

	/* Ties by labels; NaN is never preferred. */
	one_leaf(&lv, ties, N(ties));
	vagg(&x, LT_VEC_TOPK, &leaf_l, NULL, 0, 0);
	x.param = 1;
	m = eval_ok(&x, &lv);
	SERIES(m, "app=a", 7, NO, NO);
	SERIES(m, "app=c", NO, 3, NO);
	ck_assert_int_lt(find(m, "app=b"), 0);
	lt_matrix_free(m);
	vagg(&x, LT_VEC_BOTTOMK, &leaf_l, NULL, 0, 0);
	x.param = 2;
	m = eval_ok(&x, &lv);
	SERIES(m, "app=a", 7, 2, NO);
	SERIES(m, "app=b", 7, 1, NO);
	ck_assert_int_lt(find(m, "app=c"), 0);
	lt_matrix_free(m);
}
END_TEST

static void
binary(struct lt_expr *x, enum lt_binary_op op, const struct lt_expr *l,
       const struct lt_expr *r)
{
	memset(x, 0, sizeof(*x));
	x->kind = LT_EXPR_BINARY;
	x->binary_op = op;
	x->left = (struct lt_expr *)(uintptr_t)l;
	x->right = (struct lt_expr *)(uintptr_t)r;
}

static void
number(struct lt_expr *x, double v)
{
	memset(x, 0, sizeof(*x));
	x->kind = LT_EXPR_NUMBER;
	x->param = v;
}

static const struct row rows_v[] = {
	{"a=1", {1, 2, 3}}, {"a=2", {0, -4, NO}},
};

START_TEST(test_binary_scalar)
{
	struct leaves lv;
	struct lt_expr x, two, one, zero;
	struct lt_matrix *m;

	one_leaf(&lv, rows_v, N(rows_v));
	number(&two, 2);
	number(&one, 1);
	number(&zero, 0);

	binary(&x, LT_BIN_MUL, &leaf_l, &two);
	m = eval_ok(&x, &lv);
	SERIES(m, "a=1", 2, 4, 6);
	SERIES(m, "a=2", 0, -8, NO);
	lt_matrix_free(m);

	binary(&x, LT_BIN_SUB, &two, &leaf_l);
	m = eval_ok(&x, &lv);
	SERIES(m, "a=1", 1, 0, -1);
	SERIES(m, "a=2", 2, 6, NO);
	lt_matrix_free(m);

	/* Division and modulo by zero: NaN, as Loki guards them. */
	binary(&x, LT_BIN_DIV, &leaf_l, &zero);
	m = eval_ok(&x, &lv);
	SERIES(m, "a=1", NAN, NAN, NAN);
	lt_matrix_free(m);
	binary(&x, LT_BIN_DIV, &one, &leaf_l);
	m = eval_ok(&x, &lv);
	SERIES(m, "a=1", 1, 0.5, 1.0 / 3);
	SERIES(m, "a=2", NAN, -0.25, NO);
	lt_matrix_free(m);
	binary(&x, LT_BIN_MOD, &leaf_l, &two);
	m = eval_ok(&x, &lv);
	SERIES(m, "a=1", 1, 0, 1);
	SERIES(m, "a=2", 0, -0.0, NO);
	lt_matrix_free(m);
	binary(&x, LT_BIN_POW, &leaf_l, &two);
	m = eval_ok(&x, &lv);
	SERIES(m, "a=1", 1, 4, 9);
	SERIES(m, "a=2", 0, 16, NO);
	lt_matrix_free(m);

	/* A comparison filters and keeps the vector's value. */
	binary(&x, LT_BIN_GT, &leaf_l, &one);
	m = eval_ok(&x, &lv);
	ck_assert_uint_eq(count_series(m), 1);
	SERIES(m, "a=1", NO, 2, 3);
	lt_matrix_free(m);
	binary(&x, LT_BIN_LT, &one, &leaf_l);
	m = eval_ok(&x, &lv);
	SERIES(m, "a=1", NO, 2, 3);
	lt_matrix_free(m);
	binary(&x, LT_BIN_GE, &leaf_l, &one);
	x.return_bool = 1;
	m = eval_ok(&x, &lv);
	SERIES(m, "a=1", 1, 1, 1);
	SERIES(m, "a=2", 0, 0, NO);
	lt_matrix_free(m);
	binary(&x, LT_BIN_EQ, &leaf_l, &two);
	m = eval_ok(&x, &lv);
	SERIES(m, "a=1", NO, 2, NO);
	lt_matrix_free(m);
	binary(&x, LT_BIN_NE, &leaf_l, &two);
	x.return_bool = 1;
	m = eval_ok(&x, &lv);
	SERIES(m, "a=1", 1, 0, 1);
	lt_matrix_free(m);
	binary(&x, LT_BIN_LE, &leaf_l, &zero);
	m = eval_ok(&x, &lv);
	SERIES(m, "a=2", 0, -4, NO);
	ck_assert_int_lt(find(m, "a=1"), 0);
	lt_matrix_free(m);
}
END_TEST

START_TEST(test_binary_scalars_only)
{
	struct leaves lv;
	struct lt_expr x, y, one, two;
	struct lt_matrix *m;

	one_leaf(&lv, rows_v, 0);
	number(&one, 1);
	number(&two, 2);
	binary(&x, LT_BIN_ADD, &one, &one);
	m = eval_ok(&x, &lv);
	ck_assert_int_eq(m->scalar, 1);
	SERIES(m, "", 2, 2, 2);
	lt_matrix_free(m);
	/* Scalars compared give 0 or 1, with bool or without. */
	binary(&x, LT_BIN_GT, &two, &one);
	m = eval_ok(&x, &lv);
	SERIES(m, "", 1, 1, 1);
	lt_matrix_free(m);
	binary(&y, LT_BIN_GT, &one, &two);
	y.return_bool = 1;
	m = eval_ok(&y, &lv);
	SERIES(m, "", 0, 0, 0);
	lt_matrix_free(m);
	/* vector(2) + 1 is a vector. */
	memset(&y, 0, sizeof(y));
	y.kind = LT_EXPR_VECTOR;
	y.param = 2;
	binary(&x, LT_BIN_ADD, &y, &one);
	m = eval_ok(&x, &lv);
	ck_assert_int_eq(m->scalar, 0);
	SERIES(m, "", 3, 3, 3);
	lt_matrix_free(m);
	ck_assert_int_eq(lv.calls, 0);
}
END_TEST

static struct lt_expr leaf_r;

static void
two_leaves(struct leaves *lv, const struct row *l, size_t nl,
	   const struct row *r, size_t nr)
{
	one_leaf(lv, l, nl);
	range_expr(&leaf_r, LT_RANGE_RATE, 60, 0);
	lv->d[1].e = &leaf_r;
	lv->d[1].rows = r;
	lv->d[1].n = nr;
	lv->n = 2;
}

static char *m_a[] = {(char *)"a"};
static char *m_b[] = {(char *)"b"};
static char *m_team[] = {(char *)"team"};

START_TEST(test_binary_matching)
{
	static const struct row l1[] = {{"a=1,b=x", {6, 8, NO}}, {"a=2,b=x", {1, 1, 1}}};
	static const struct row r1[] = {{"a=1,b=x", {3, 0, 1}}};
	static const struct row r_on[] = {{"a=1,c=y", {3, 2, 1}}};
	static const struct row r_ign[] = {{"a=1,b=z", {3, 2, 1}}};
	struct leaves lv;
	struct lt_expr x;
	struct lt_matrix *m;

	two_leaves(&lv, l1, N(l1), r1, N(r1));
	binary(&x, LT_BIN_DIV, &leaf_l, &leaf_r);
	m = eval_ok(&x, &lv);
	ck_assert_uint_eq(count_series(m), 1);
	SERIES(m, "a=1,b=x", 2, NAN, NO);
	lt_matrix_free(m);
	binary(&x, LT_BIN_GT, &leaf_l, &leaf_r);
	m = eval_ok(&x, &lv);
	SERIES(m, "a=1,b=x", 6, 8, NO);
	lt_matrix_free(m);
	x.return_bool = 1;
	x.binary_op = LT_BIN_LT;
	m = eval_ok(&x, &lv);
	SERIES(m, "a=1,b=x", 0, 0, NO);
	lt_matrix_free(m);

	/* on (a): the result keeps a alone. */
	two_leaves(&lv, l1, N(l1), r_on, N(r_on));
	binary(&x, LT_BIN_SUB, &leaf_l, &leaf_r);
	x.match.present = 1;
	x.match.on = 1;
	x.match.labels = m_a;
	x.match.n_labels = 1;
	m = eval_ok(&x, &lv);
	ck_assert_uint_eq(count_series(m), 1);
	SERIES(m, "a=1", 3, 6, NO);
	lt_matrix_free(m);

	/* ignoring (b): b is dropped. */
	two_leaves(&lv, l1, N(l1), r_ign, N(r_ign));
	x.match.on = 0;
	x.match.labels = m_b;
	m = eval_ok(&x, &lv);
	SERIES(m, "a=1", 3, 6, NO);
	lt_matrix_free(m);
}
END_TEST

START_TEST(test_binary_group)
{
	static const struct row many[] = {
		{"a=1,i=1", {10, 10, NO}}, {"a=1,i=2", {20, 20, NO}},
		{"a=2,i=1", {5, 5, NO}},
	};
	static const struct row one[] = {{"a=1,team=t", {2, 4, NO}}};
	static const struct row dup[] = {
		{"a=1,team=t", {2, 4, NO}}, {"a=1,team=u", {2, NO, NO}},
	};
	struct leaves lv;
	struct lt_expr x;
	struct lt_matrix *m;
	struct lt_query_error err;

	two_leaves(&lv, many, N(many), one, N(one));
	binary(&x, LT_BIN_DIV, &leaf_l, &leaf_r);
	x.match.present = 1;
	x.match.on = 1;
	x.match.labels = m_a;
	x.match.n_labels = 1;
	x.match.card = LT_CARD_GROUP_LEFT;
	x.match.include = m_team;
	x.match.n_include = 1;
	m = eval_ok(&x, &lv);
	ck_assert_uint_eq(count_series(m), 2);
	SERIES(m, "a=1,i=1,team=t", 5, 2.5, NO);
	SERIES(m, "a=1,i=2,team=t", 10, 5, NO);
	lt_matrix_free(m);

	/* group_right: the right is the "many" side; the left's value
	 * first. */
	two_leaves(&lv, one, N(one), many, N(many));
	x.match.card = LT_CARD_GROUP_RIGHT;
	x.match.n_include = 0;
	m = eval_ok(&x, &lv);
	SERIES(m, "a=1,i=1", 0.2, 0.4, NO);
	SERIES(m, "a=1,i=2", 0.1, 0.2, NO);
	lt_matrix_free(m);

	/* Many to one without group_left. */
	two_leaves(&lv, many, N(many), one, N(one));
	x.match.card = LT_CARD_ONE_TO_ONE;
	m = eval(&x, &lv, 500, &steps_eval, &err);
	ck_assert_ptr_null(m);
	ck_assert_int_eq(err.status, 400);
	ck_assert_str_eq(err.message, "multiple matches for labels: many-to-one "
			 "matching must be explicit (group_left/group_right)");

	/* Two series on the "one" side. */
	two_leaves(&lv, many, N(many), dup, N(dup));
	x.match.card = LT_CARD_GROUP_LEFT;
	m = eval(&x, &lv, 500, &steps_eval, &err);
	ck_assert_ptr_null(m);
	ck_assert_int_eq(err.status, 400);
	ck_assert_str_eq(err.message, "found duplicate series on the right "
			 "hand-side;many-to-many matching not allowed: matching "
			 "labels must be unique on one side");
}
END_TEST

START_TEST(test_binary_sets)
{
	static const struct row l[] = {{"a=1", {1, 1, NO}}, {"a=2", {2, 2, 2}}};
	static const struct row r[] = {{"a=2", {20, NO, NO}}, {"a=3", {30, 30, NO}}};
	static const struct row r_on[] = {{"a=1,c=y", {9, NO, NO}}};
	struct leaves lv;
	struct lt_expr x;
	struct lt_matrix *m;

	two_leaves(&lv, l, N(l), r, N(r));
	binary(&x, LT_BIN_AND, &leaf_l, &leaf_r);
	m = eval_ok(&x, &lv);
	ck_assert_uint_eq(count_series(m), 1);
	SERIES(m, "a=2", 2, NO, NO);
	lt_matrix_free(m);

	binary(&x, LT_BIN_OR, &leaf_l, &leaf_r);
	m = eval_ok(&x, &lv);
	SERIES(m, "a=1", 1, 1, NO);
	SERIES(m, "a=2", 2, 2, 2);
	SERIES(m, "a=3", 30, 30, NO);
	lt_matrix_free(m);

	binary(&x, LT_BIN_UNLESS, &leaf_l, &leaf_r);
	m = eval_ok(&x, &lv);
	SERIES(m, "a=1", 1, 1, NO);
	SERIES(m, "a=2", NO, 2, 2);
	lt_matrix_free(m);

	two_leaves(&lv, l, N(l), r_on, N(r_on));
	binary(&x, LT_BIN_AND, &leaf_l, &leaf_r);
	x.match.present = 1;
	x.match.on = 1;
	x.match.labels = m_a;
	x.match.n_labels = 1;
	m = eval_ok(&x, &lv);
	ck_assert_uint_eq(count_series(m), 1);
	SERIES(m, "a=1", 1, NO, NO);
	lt_matrix_free(m);
}
END_TEST

static void
replace(struct lt_expr *x, const struct lt_expr *left, const char *dst,
	const char *repl, const char *src, const char *re)
{
	memset(x, 0, sizeof(*x));
	x->kind = LT_EXPR_LABEL_REPLACE;
	x->left = (struct lt_expr *)(uintptr_t)left;
	x->dst = (char *)(uintptr_t)dst;
	x->replacement = (char *)(uintptr_t)repl;
	x->src = (char *)(uintptr_t)src;
	x->regex = (char *)(uintptr_t)re;
}

START_TEST(test_label_replace)
{
	static const struct row rows[] = {
		{"app=api-7,id=old", {1, NO, 2}}, {"app=web", {3, 3, 3}},
	};
	struct leaves lv;
	struct lt_expr x;
	struct lt_matrix *m;
	struct lt_query_error err;

	one_leaf(&lv, rows, N(rows));
	replace(&x, &leaf_l, "id", "$1", "app", "api-(.*)");
	m = eval_ok(&x, &lv);
	SERIES(m, "app=api-7,id=7", 1, NO, 2);
	SERIES(m, "app=web", 3, 3, 3);
	lt_matrix_free(m);

	replace(&x, &leaf_l, "x", "${1}x-$$", "app", "api-(.*)");
	m = eval_ok(&x, &lv);
	SERIES(m, "app=api-7,id=old,x=7x-$", 1, NO, 2);
	lt_matrix_free(m);

	/* $1x names group "1x", which there is not: empty, and an empty
	 * result deletes the label. */
	replace(&x, &leaf_l, "id", "$1x", "app", "api-(.*)");
	m = eval_ok(&x, &lv);
	SERIES(m, "app=api-7", 1, NO, 2);
	lt_matrix_free(m);

	replace(&x, &leaf_l, "num", "n$num", "app", "[a-z]+-(?P<num>[0-9]+)");
	m = eval_ok(&x, &lv);
	SERIES(m, "app=api-7,id=old,num=n7", 1, NO, 2);
	lt_matrix_free(m);

	/* Anchored: pi-.* does not match api-7. */
	replace(&x, &leaf_l, "id", "new", "app", "pi-.*");
	m = eval_ok(&x, &lv);
	SERIES(m, "app=api-7,id=old", 1, NO, 2);
	lt_matrix_free(m);

	/* A missing source label reads as "". */
	replace(&x, &leaf_l, "env", "none", "env", "");
	m = eval_ok(&x, &lv);
	SERIES(m, "app=web,env=none", 3, 3, 3);
	lt_matrix_free(m);

	replace(&x, &leaf_l, "id", "$1", "app", "(");
	m = eval(&x, &lv, 500, &steps_eval, &err);
	ck_assert_ptr_null(m);
	ck_assert_int_eq(err.status, 400);
	ck_assert_msg(strncmp(err.message, "invalid regex in label_replace: ",
			      32) == 0, "%s", err.message);
}
END_TEST

START_TEST(test_eval_limits)
{
	struct leaves lv;
	struct lt_expr x, two;
	struct lt_matrix *m;
	struct lt_query_error err;

	one_leaf(&lv, rows_l, N(rows_l));
	/* The leaf's 3 series are over 2. */
	vagg(&x, LT_VEC_SUM, &leaf_l, g_app, 1, 0);
	m = eval(&x, &lv, 2, &steps_eval, &err);
	ck_assert_ptr_null(m);
	ck_assert_int_eq(err.status, 400);
#define LIMIT2 "maximum number of series (2) reached for a single query;"
	ck_assert_msg(strncmp(err.message, LIMIT2, strlen(LIMIT2)) == 0, "%s",
		      err.message);
	/* 3 allows the leaf; the sum has 2. */
	m = eval(&x, &lv, 3, &steps_eval, &err);
	ck_assert_ptr_nonnull(m);
	lt_matrix_free(m);
	/* An intermediate result counts too: x * 2 of 3 series. */
	number(&two, 2);
	binary(&x, LT_BIN_MUL, &leaf_l, &two);
	m = eval(&x, &lv, 3, &steps_eval, &err);
	ck_assert_ptr_nonnull(m);
	lt_matrix_free(m);
	vagg(&x, LT_VEC_MAX, &leaf_l, g_lvl, 1, 0);
	m = eval(&x, &lv, 1, &steps_eval, &err);
	ck_assert_ptr_null(m);
	ck_assert_int_eq(err.status, 400);
	/* The source's error comes back as it is. */
	lv.n = 0;
	m = eval(&x, &lv, 10, &steps_eval, &err);
	ck_assert_ptr_null(m);
	ck_assert_int_eq(err.status, 502);
	ck_assert_str_eq(err.message, "no leaf");
}
END_TEST

/* --- JSON --- */

struct sink_buf {
	struct lt_buf b;
	int writes;
	int fail;
};

static int
sink_write(void *ctx, const void *data, size_t len)
{
	struct sink_buf *sb = ctx;

	if (sb->fail)
		return -1;
	sb->writes++;
	return lt_buf_append(&sb->b, data, len);
}

/* Writes m and checks the answer up to the stats, then the stats as
 * lt_query_write_stats() writes them for `returned`. */
static void
check_json(const struct lt_matrix *m, const struct lt_steps *st, int instant,
	   const char *want, uint64_t returned)
{
	struct sink_buf sb = {LT_BUF_INIT, 0, 0};
	struct lt_query_sink sink = {sink_write, &sb};
	struct lt_log_stats stats = {10, 200, 0.5};
	struct lt_buf full = LT_BUF_INIT;

	ck_assert_int_eq(lt_metric_write(m, st, instant, &stats, &sink), 0);
	ck_assert_int_eq(lt_buf_append(&full, want, strlen(want)), 0);
	ck_assert_int_eq(lt_buf_append(&full, ",\"stats\":", 9), 0);
	ck_assert_int_eq(lt_query_write_stats(&full, &stats, returned), 0);
	ck_assert_int_eq(lt_buf_append(&full, "}}", 2), 0);
	ck_assert_int_eq(lt_buf_terminate(&full), 0);
	ck_assert_int_eq(lt_buf_terminate(&sb.b), 0);
	ck_assert_str_eq((const char *)sb.b.data, (const char *)full.data);
	lt_buf_free(&full);
	lt_buf_free(&sb.b);
}

static long
add(struct lt_matrix *m, const char *spec)
{
	struct lt_label l[16];
	long i = lt_matrix_series(m, l, L(spec, l));

	ck_assert_int_ge(i, 0);
	return i;
}

static void
put(struct lt_matrix *m, long i, size_t s, double v)
{
	m->series[i].v[s] = v;
	m->series[i].has[s] = 1;
}

START_TEST(test_json_matrix)
{
	const struct lt_steps st = {S(1700000000), S(0.5), 3};
	struct lt_matrix *m = lt_matrix_new(3);
	long b, a, empty;

	ck_assert_ptr_nonnull(m);
	b = add(m, "b=2");
	a = add(m, "a=1,z=\"q\"");
	empty = add(m, "c=3");
	ck_assert_int_eq(add(m, "b=2"), b);
	(void)empty;
	put(m, b, 0, 1);
	put(m, b, 2, 2.5);
	put(m, a, 0, NAN);
	put(m, a, 1, INFINITY);
	put(m, a, 2, -INFINITY);
	check_json(m, &st, 0,
		   "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\","
		   "\"result\":[{\"metric\":{\"a\":\"1\",\"z\":\"\\\"q\\\"\"},"
		   "\"values\":[[1700000000,\"NaN\"],[1700000000.5,\"+Inf\"],"
		   "[1700000001,\"-Inf\"]]},{\"metric\":{\"b\":\"2\"},\"values\":"
		   "[[1700000000,\"1\"],[1700000001,\"2.5\"]]}]", 5);
	lt_matrix_free(m);
}
END_TEST

START_TEST(test_json_numbers)
{
	static const struct {
		double v;
		const char *text;
	} cases[] = {
		{0.1, "0.1"}, {100, "100"}, {1e21, "1000000000000000000000"},
		{1e-7, "0.0000001"}, {-0.5, "-0.5"}, {0.1 + 0.2, "0.30000000000000004"},
		{123456789.123, "123456789.123"}, {-0.0, "-0"}, {2.5e-5, "0.000025"},
		{1.0 / 3, "0.3333333333333333"}, {9007199254740993.0, "9007199254740992"},
		{1e15 + 0.5, "1000000000000000.5"},
	};
	const struct lt_steps st = {INT64_C(1700000000123) * 1000000, S(1), 1};
	char want[512];
	size_t i;

	for (i = 0; i < N(cases); i++) {
		struct lt_matrix *m = lt_matrix_new(1);

		ck_assert_ptr_nonnull(m);
		put(m, add(m, "k=v"), 0, cases[i].v);
		(void)snprintf(want, sizeof(want),
			       "{\"status\":\"success\",\"data\":{\"resultType\":"
			       "\"vector\",\"result\":[{\"metric\":{\"k\":\"v\"},"
			       "\"value\":[1700000000.123,\"%s\"]}]", cases[i].text);
		check_json(m, &st, 1, want, 1);
		lt_matrix_free(m);
	}
}
END_TEST

START_TEST(test_json_vector_scalar)
{
	const struct lt_steps st = {S(1700000000), S(1), 1};
	struct leaves lv;
	struct lt_expr x, two;
	struct lt_matrix *m;
	struct lt_query_error err;
	static const struct row rows[] = {
		{"a=1", {5, NO, NO}}, {"a=2", {7, NO, NO}}, {"a=3", {6, NO, NO}},
		{"a=4", {8, NO, NO}}, {"a=5", {NO, NO, NO}},
	};

	one_leaf(&lv, rows, N(rows));
	/* sort_desc keeps its order in an instant query... */
	vagg(&x, LT_VEC_SORT_DESC, &leaf_l, NULL, 0, 0);
	ck_assert_ptr_nonnull(m = eval(&x, &lv, 10, &st, &err));
	check_json(m, &st, 1,
		   "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
		   "\"result\":[{\"metric\":{\"a\":\"4\"},\"value\":[1700000000,"
		   "\"8\"]},{\"metric\":{\"a\":\"2\"},\"value\":[1700000000,\"7\"]},"
		   "{\"metric\":{\"a\":\"3\"},\"value\":[1700000000,\"6\"]},"
		   "{\"metric\":{\"a\":\"1\"},\"value\":[1700000000,\"5\"]}]", 4);
	lt_matrix_free(m);
	vagg(&x, LT_VEC_SORT, &leaf_l, NULL, 0, 0);
	ck_assert_ptr_nonnull(m = eval(&x, &lv, 10, &st, &err));
	check_json(m, &st, 1,
		   "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
		   "\"result\":[{\"metric\":{\"a\":\"1\"},\"value\":[1700000000,"
		   "\"5\"]},{\"metric\":{\"a\":\"3\"},\"value\":[1700000000,\"6\"]},"
		   "{\"metric\":{\"a\":\"2\"},\"value\":[1700000000,\"7\"]},"
		   "{\"metric\":{\"a\":\"4\"},\"value\":[1700000000,\"8\"]}]", 4);
	lt_matrix_free(m);
	/* ...topk does not (Loki sorts it by labels). */
	vagg(&x, LT_VEC_TOPK, &leaf_l, NULL, 0, 0);
	x.param = 2;
	ck_assert_ptr_nonnull(m = eval(&x, &lv, 10, &st, &err));
	check_json(m, &st, 1,
		   "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
		   "\"result\":[{\"metric\":{\"a\":\"2\"},\"value\":[1700000000,"
		   "\"7\"]},{\"metric\":{\"a\":\"4\"},\"value\":[1700000000,\"8\"]}]",
		   2);
	lt_matrix_free(m);
	/* A scalar: [ts, "v"], 0 entries returned. */
	number(&two, 2);
	ck_assert_ptr_nonnull(m = eval(&two, &lv, 10, &st, &err));
	check_json(m, &st, 1,
		   "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\","
		   "\"result\":[1700000000,\"2\"]", 0);
	lt_matrix_free(m);
	/* In a range query, a series without labels. */
	ck_assert_ptr_nonnull(m = eval(&two, &lv, 10, &steps_eval, &err));
	check_json(m, &steps_eval, 0,
		   "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\","
		   "\"result\":[{\"metric\":{},\"values\":[[1000,\"2\"],"
		   "[1060,\"2\"],[1120,\"2\"]]}]", 3);
	lt_matrix_free(m);
	/* An empty vector. */
	ck_assert_ptr_nonnull(m = lt_matrix_new(1));
	check_json(m, &st, 1,
		   "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\","
		   "\"result\":[]", 0);
	lt_matrix_free(m);
}
END_TEST

START_TEST(test_json_streamed)
{
	const struct lt_steps st = {S(1700000000), S(1), 200};
	struct sink_buf sb = {LT_BUF_INIT, 0, 0};
	struct lt_query_sink sink = {sink_write, &sb};
	struct lt_matrix *m = lt_matrix_new(200);
	char name[32];
	size_t i, s;
	long idx;

	ck_assert_ptr_nonnull(m);
	for (i = 0; i < 50; i++) {
		struct lt_label l = {"n", 1, name, 0};

		l.value_len = (size_t)snprintf(name, sizeof(name), "%03zu", i);
		ck_assert_int_ge(idx = lt_matrix_series(m, &l, 1), 0);
		for (s = 0; s < 200; s++)
			put(m, idx, s, (double)s + 0.25);
	}
	ck_assert_int_eq(lt_metric_write(m, &st, 0, NULL, &sink), 0);
	ck_assert_int_gt(sb.writes, 2);
	ck_assert_uint_gt(sb.b.len, 3 * 65536);
	ck_assert_int_eq(lt_buf_terminate(&sb.b), 0);
	ck_assert_ptr_nonnull(strstr((const char *)sb.b.data,
				     "{\"metric\":{\"n\":\"049\"},\"values\":"
				     "[[1700000000,\"0.25\"],[1700000001,\"1.25\"]"));
	ck_assert_ptr_nonnull(strstr((const char *)sb.b.data,
				     "\"totalEntriesReturned\":10000"));
	lt_buf_free(&sb.b);
	sb.fail = 1;
	ck_assert_int_eq(lt_metric_write(m, &st, 0, NULL, &sink), -1);
	lt_matrix_free(m);
}
END_TEST

static Suite *
metric_suite(void)
{
	Suite *s = suite_create("metric");
	TCase *tr = tcase_create("range");
	TCase *tv = tcase_create("vector");
	TCase *tb = tcase_create("binary");
	TCase *tj = tcase_create("json");

	tcase_add_test(tr, test_range_count_rate);
	tcase_add_test(tr, test_range_unwrapped);
	tcase_add_test(tr, test_range_gaps_and_offset);
	tcase_add_test(tr, test_range_series_and_grouping);
	tcase_add_test(tr, test_range_presummed);
	tcase_add_test(tr, test_range_absent);
	tcase_add_test(tr, test_range_rate_counter);
	tcase_add_test(tr, test_range_limits);
	tcase_add_test(tr, test_range_pipeline_error);
	tcase_add_test(tr, test_range_against_scan);
	suite_add_tcase(s, tr);
	tcase_add_test(tv, test_vector_sum_avg_count);
	tcase_add_test(tv, test_vector_min_max_std);
	tcase_add_test(tv, test_vector_topk_bottomk);
	tcase_add_test(tv, test_label_replace);
	tcase_add_test(tv, test_eval_limits);
	suite_add_tcase(s, tv);
	tcase_add_test(tb, test_binary_scalar);
	tcase_add_test(tb, test_binary_scalars_only);
	tcase_add_test(tb, test_binary_matching);
	tcase_add_test(tb, test_binary_group);
	tcase_add_test(tb, test_binary_sets);
	suite_add_tcase(s, tb);
	tcase_add_test(tj, test_json_matrix);
	tcase_add_test(tj, test_json_numbers);
	tcase_add_test(tj, test_json_vector_scalar);
	tcase_add_test(tj, test_json_streamed);
	suite_add_tcase(s, tj);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(metric_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
