/* Unit tests: the LogQL metric query parser, lt_logql_parse_query().
 *
 * Valid queries are checked through a plain rendering of their tree,
 * written out by hand for each:
 *
 *   range:   op(PARAM, {sel} STAGES unwrap CONV(x) post FILTER [Ns] offset Ns) by(a,b)
 *   vector:  op by(a)(X), op without()(X), topk(K,X)
 *   binary:  (L op bool on(a) group_left(b) R), each modifier when present
 *   others:  a number as %g, vector(N), label_replace(X,"d","r","s","re")
 *
 * (stages and label filters as in test-logql.c: |="x", | json, and(l,r),
 * num(name>n)...).  The expected trees follow Loki's grammar
 * (pkg/logql/syntax/expr.y) worked through by hand: precedence, the
 * forms of a log range, where by/without may stand, literals folded as
 * reduceBinOp folds them.  The errors are Loki's texts, from
 * parser_test.go where it has the case (marked "parser_test.go") and
 * otherwise from the constructors in ast.go and parser.go. */
#include "config.h"

#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logql.h"

struct out {
	char buf[8192];
	size_t len;
};

static void put(struct out *, const char *, ...)
	__attribute__((format(printf, 2, 3)));

static void
put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, sizeof(o->buf) - o->len, fmt, ap);
	va_end(ap);
	ck_assert_int_ge(n, 0);
	ck_assert_uint_lt(o->len + (size_t)n, sizeof(o->buf));
	o->len += (size_t)n;
}

static const char *
match_op(enum lt_match_op op)
{
	static const char *const s[] = { "=", "!=", "=~", "!~" };

	ck_assert_int_ge(op, LT_MATCH_EQ);
	ck_assert_int_le(op, LT_MATCH_NRE);
	return s[op];
}

static void
render_filter(struct out *o, const struct lt_label_filter *f)
{
	static const char *const cmp[] = { "==", "!=", ">", ">=", "<", "<=" };

	ck_assert_ptr_nonnull(f);
	switch (f->kind) {
	case LT_LF_AND:
	case LT_LF_OR:
		put(o, "%s(", f->kind == LT_LF_AND ? "and" : "or");
		render_filter(o, f->left);
		put(o, ",");
		render_filter(o, f->right);
		put(o, ")");
		break;
	case LT_LF_STRING:
		put(o, "%s%s\"%s\"", f->matcher.name, match_op(f->matcher.op),
		    f->matcher.value);
		break;
	default:
		put(o, "%s(%s%s%.15g)", f->kind == LT_LF_NUMBER ? "num" :
		    f->kind == LT_LF_DURATION ? "dur" : "bytes", f->name,
		    cmp[f->cmp], f->number);
	}
}

/* The log query of a range: the selector, and stages briefly. */
static void
render_log(struct out *o, const struct lt_logql *q)
{
	static const char *const line_ops[] = { "|=", "!=", "|~", "!~" };
	const struct lt_stage *s;
	size_t i, k;

	ck_assert_ptr_nonnull(q);
	put(o, "{");
	for (i = 0; i < q->n_matchers; i++)
		put(o, "%s%s%s\"%s\"", i == 0 ? "" : ",", q->matchers[i].name,
		    match_op(q->matchers[i].op), q->matchers[i].value);
	put(o, "}");
	for (i = 0; i < q->n_stages; i++) {
		s = &q->stages[i];
		switch (s->kind) {
		case LT_STAGE_LINE_FILTER:
			put(o, " %s", line_ops[s->line.op]);
			for (k = 0; k < s->line.n_values; k++)
				put(o, "%s\"%s\"", k == 0 ? "" : " or ",
				    s->line.values[k]);
			break;
		case LT_STAGE_JSON:
			put(o, " | json");
			break;
		case LT_STAGE_LOGFMT:
			put(o, " | logfmt");
			break;
		case LT_STAGE_LABEL_FILTER:
			put(o, " | ");
			render_filter(o, s->filter);
			break;
		default:
			put(o, " | stage%d", (int)s->kind);
		}
	}
}

static void
render_names(struct out *o, char **names, size_t n)
{
	size_t i;

	put(o, "(");
	for (i = 0; i < n; i++)
		put(o, "%s%s", i == 0 ? "" : ",", names[i]);
	put(o, ")");
}

static void
render_grouping(struct out *o, const struct lt_grouping *g)
{
	if (!g->present) {
		ck_assert_int_eq(g->without, 0);
		ck_assert_uint_eq(g->n_labels, 0);
		return;
	}
	put(o, " %s", g->without ? "without" : "by");
	render_names(o, g->labels, g->n_labels);
}

static void render(struct out *, const struct lt_expr *);

static void
render_range(struct out *o, const struct lt_expr *e)
{
	static const char *const ops[] = {
		"count_over_time", "rate", "bytes_over_time", "bytes_rate",
		"absent_over_time", "sum_over_time", "avg_over_time",
		"min_over_time", "max_over_time", "first_over_time",
		"last_over_time", "stddev_over_time", "stdvar_over_time",
		"quantile_over_time", "rate_counter",
	};
	static const char *const convs[] = { "", "duration", "bytes" };

	ck_assert_int_le(e->range_op, LT_RANGE_RATE_COUNTER);
	put(o, "%s(", ops[e->range_op]);
	if (e->range_op == LT_RANGE_QUANTILE)
		put(o, "%g, ", e->param);
	render_log(o, e->log);
	if (e->unwrap != NULL)
		put(o, " unwrap %s%s%s%s", convs[e->conv],
		    e->conv != LT_UNWRAP_NUMBER ? "(" : "", e->unwrap,
		    e->conv != LT_UNWRAP_NUMBER ? ")" : "");
	else
		ck_assert_ptr_null(e->unwrap_filter);
	if (e->unwrap_filter != NULL) {
		put(o, " post ");
		render_filter(o, e->unwrap_filter);
	}
	put(o, " [%gs]", (double)e->range_ns / 1e9);
	if (e->offset_ns != 0)
		put(o, " offset %gs", (double)e->offset_ns / 1e9);
	put(o, ")");
	render_grouping(o, &e->grouping);
	ck_assert_ptr_null(e->left);
	ck_assert_ptr_null(e->right);
}

static void
render_vector_agg(struct out *o, const struct lt_expr *e)
{
	static const char *const ops[] = {
		"sum", "avg", "min", "max", "count", "stddev", "stdvar", "topk",
		"bottomk", "sort", "sort_desc",
	};

	ck_assert_int_le(e->vector_op, LT_VEC_SORT_DESC);
	put(o, "%s", ops[e->vector_op]);
	render_grouping(o, &e->grouping);
	put(o, "(");
	if (e->vector_op == LT_VEC_TOPK || e->vector_op == LT_VEC_BOTTOMK)
		put(o, "%g,", e->param);
	render(o, e->left);
	put(o, ")");
	ck_assert_ptr_null(e->right);
	ck_assert_ptr_null(e->log);
}

static void
render_binary(struct out *o, const struct lt_expr *e)
{
	static const char *const ops[] = {
		"or", "and", "unless", "==", "!=", ">", ">=", "<", "<=",
		"+", "-", "*", "/", "%", "^",
	};
	const struct lt_vector_match *m = &e->match;

	ck_assert_int_le(e->binary_op, LT_BIN_POW);
	put(o, "(");
	render(o, e->left);
	put(o, " %s", ops[e->binary_op]);
	if (e->return_bool)
		put(o, " bool");
	if (m->present) {
		put(o, " %s", m->on ? "on" : "ignoring");
		render_names(o, m->labels, m->n_labels);
		if (m->card != LT_CARD_ONE_TO_ONE) {
			put(o, " %s", m->card == LT_CARD_GROUP_LEFT ?
			    "group_left" : "group_right");
			render_names(o, m->include, m->n_include);
		} else
			ck_assert_uint_eq(m->n_include, 0);
	} else {
		ck_assert_int_eq(m->card, LT_CARD_ONE_TO_ONE);
		ck_assert_uint_eq(m->n_labels, 0);
	}
	put(o, " ");
	render(o, e->right);
	put(o, ")");
}

static void
render(struct out *o, const struct lt_expr *e)
{
	ck_assert_ptr_nonnull(e);
	switch (e->kind) {
	case LT_EXPR_RANGE:
		render_range(o, e);
		break;
	case LT_EXPR_VECTOR_AGG:
		render_vector_agg(o, e);
		break;
	case LT_EXPR_BINARY:
		render_binary(o, e);
		break;
	case LT_EXPR_NUMBER:
		put(o, "%g", e->param);
		ck_assert_ptr_null(e->left);
		break;
	case LT_EXPR_VECTOR:
		put(o, "vector(%g)", e->param);
		break;
	case LT_EXPR_LABEL_REPLACE:
		put(o, "label_replace(");
		render(o, e->left);
		put(o, ",\"%s\",\"%s\",\"%s\",\"%s\")", e->dst, e->replacement,
		    e->src, e->regex);
		break;
	default:
		ck_abort_msg("expression kind %d", (int)e->kind);
	}
}

#define A "rate({a=\"b\"}[1m])"
#define RA "rate({a=\"b\"} [60s])"

static const struct {
	const char *in, *tree;
} good[] = {
	/* Range aggregations. */
	{ "count_over_time({app=\"foo\"}[5m])",
	  "count_over_time({app=\"foo\"} [300s])" },
	{ "rate({app=\"foo\"} |= \"error\" [1m])",
	  "rate({app=\"foo\"} |=\"error\" [60s])" },
	{ "bytes_over_time({a=\"b\"}[1h30m])", "bytes_over_time({a=\"b\"} [5400s])" },
	{ "bytes_rate({a=\"b\"}[1d])", "bytes_rate({a=\"b\"} [86400s])" },
	{ "absent_over_time({a=\"b\"}[1w])",
	  "absent_over_time({a=\"b\"} [604800s])" },
	{ "count_over_time({a=\"b\"}[500ms])",
	  "count_over_time({a=\"b\"} [0.5s])" },
	{ "sum_over_time({a=\"b\"} | unwrap x [5m])",
	  "sum_over_time({a=\"b\"} unwrap x [300s])" },
	{ "avg_over_time({a=\"b\"} | json | unwrap duration(d) [5m]) by (host)",
	  "avg_over_time({a=\"b\"} | json unwrap duration(d) [300s]) by(host)" },
	{ "max_over_time({a=\"b\"} | unwrap duration_seconds(d) [5m]) without (a, b)",
	  "max_over_time({a=\"b\"} unwrap duration(d) [300s]) without(a,b)" },
	{ "min_over_time({a=\"b\"} | unwrap bytes(size) [5m]) by ()",
	  "min_over_time({a=\"b\"} unwrap bytes(size) [300s]) by()" },
	{ "first_over_time({a=\"b\"} | unwrap x [1m])",
	  "first_over_time({a=\"b\"} unwrap x [60s])" },
	{ "last_over_time({a=\"b\"} | unwrap x [1m]) by (a)",
	  "last_over_time({a=\"b\"} unwrap x [60s]) by(a)" },
	{ "stddev_over_time({a=\"b\"} | unwrap x [1m])",
	  "stddev_over_time({a=\"b\"} unwrap x [60s])" },
	{ "stdvar_over_time({a=\"b\"} | unwrap x [1m])",
	  "stdvar_over_time({a=\"b\"} unwrap x [60s])" },
	{ "quantile_over_time(0.99, {a=\"b\"} | logfmt | unwrap took | "
	  "__error__=\"\" [1m] offset 1h) by (route)",
	  "quantile_over_time(0.99, {a=\"b\"} | logfmt unwrap took post "
	  "__error__=\"\" [60s] offset 3600s) by(route)" },
	/* rate with unwrap is the rate of the sum; rate_counter needs it. */
	{ "rate({a=\"b\"} | unwrap x [1m])", "rate({a=\"b\"} unwrap x [60s])" },
	{ "rate_counter({a=\"b\"} | unwrap x [1m])",
	  "rate_counter({a=\"b\"} unwrap x [60s])" },
	{ "absent_over_time({a=\"b\"} | unwrap x [1m])",
	  "absent_over_time({a=\"b\"} unwrap x [60s])" },
	/* Post-filters: each "|" one more, joined by and. */
	{ "sum_over_time({a=\"b\"} | unwrap x | x > 1 | y=\"z\", w < 2s [1m])",
	  "sum_over_time({a=\"b\"} unwrap x post and(num(x>1),and(y=\"z\","
	  "dur(w<2))) [60s])" },
	/* The range first, the pipeline after it. */
	{ "count_over_time({a=\"b\"}[5m] | json)",
	  "count_over_time({a=\"b\"} | json [300s])" },
	{ "sum_over_time({a=\"b\"}[5m] offset 1h | logfmt | unwrap x | x > 1)",
	  "sum_over_time({a=\"b\"} | logfmt unwrap x post num(x>1) [300s] "
	  "offset 3600s)" },
	{ "sum_over_time({a=\"b\"}[5m] offset 2m | unwrap x)",
	  "sum_over_time({a=\"b\"} unwrap x [300s] offset 120s)" },
	/* Parentheses. */
	{ "count_over_time(({a=\"b\"} |= \"x\")[5m])",
	  "count_over_time({a=\"b\"} |=\"x\" [300s])" },
	{ "count_over_time(({a=\"b\"} |= \"x\" [5m]))",
	  "count_over_time({a=\"b\"} |=\"x\" [300s])" },
	{ "count_over_time((({a=\"b\"})[5m] offset 2m))",
	  "count_over_time({a=\"b\"} [300s] offset 120s)" },
	{ "sum_over_time(({a=\"b\"} | unwrap x)[5m])",
	  "sum_over_time({a=\"b\"} unwrap x [300s])" },
	{ "rate(((({a=\"b\"}[5m] | json))))",
	  "rate({a=\"b\"} | json [300s])" },
	/* Offsets: Loki's durations, negative too. */
	{ "rate({a=\"b\"}[5m] offset -1h30m)",
	  "rate({a=\"b\"} [300s] offset -5400s)" },
	{ "rate({a=\"b\"}[5m] offset 1.5s)",
	  "rate({a=\"b\"} [300s] offset 1.5s)" },
	/* Keywords in any case, comments. */
	{ "SUM BY (a) (RATE({a=\"b\"}[1m])) # the total",
	  "sum by(a)(" RA ")" },

	/* Vector aggregations, by/without before or after. */
	{ "sum(" A ")", "sum(" RA ")" },
	{ "sum by (a, b) (" A ")", "sum by(a,b)(" RA ")" },
	{ "sum(" A ") by (a)", "sum by(a)(" RA ")" },
	{ "avg without (a) (" A ")", "avg without(a)(" RA ")" },
	{ "count(" A ") without ()", "count without()(" RA ")" },
	{ "min(" A ")", "min(" RA ")" },
	{ "max by () (" A ")", "max by()(" RA ")" },
	{ "stddev(" A ")", "stddev(" RA ")" },
	{ "stdvar(" A ")", "stdvar(" RA ")" },
	{ "topk(3, " A ")", "topk(3," RA ")" },
	{ "bottomk by (a) (2, " A ")", "bottomk by(a)(2," RA ")" },
	{ "topk(5, " A ") by (a)", "topk by(a)(5," RA ")" },
	{ "sort(" A ")", "sort(" RA ")" },
	{ "sort_desc(" A ")", "sort_desc(" RA ")" },
	{ "sort by () (" A ")", "sort by()(" RA ")" },
	{ "sum(sum by (a) (" A "))", "sum(sum by(a)(" RA "))" },
	/* A number first that is no k: the operand begins with it. */
	{ "sum(2 * " A ")", "sum((2 * " RA "))" },
	{ "sum(vector(0))", "sum(vector(0))" },

	/* Binary operators: precedence and associativity. */
	{ A " + " A " * " A, "(" RA " + (" RA " * " RA "))" },
	{ A " * " A " + " A, "((" RA " * " RA ") + " RA ")" },
	{ A " - " A " - " A, "((" RA " - " RA ") - " RA ")" },
	{ A " / " A " % " A, "((" RA " / " RA ") % " RA ")" },
	{ A " ^ " A " ^ " A, "(" RA " ^ (" RA " ^ " RA "))" },
	{ A " * " A " ^ " A, "(" RA " * (" RA " ^ " RA "))" },
	{ A " or " A " and " A, "(" RA " or (" RA " and " RA "))" },
	{ A " and " A " unless " A, "((" RA " and " RA ") unless " RA ")" },
	{ A " unless " A " or " A, "((" RA " unless " RA ") or " RA ")" },
	{ A " > " A " + " A, "(" RA " > (" RA " + " RA "))" },
	{ A " == " A " != " A, "((" RA " == " RA ") != " RA ")" },
	{ A " and " A " >= " A, "(" RA " and (" RA " >= " RA "))" },
	{ "(" A " + " A ") * " A, "((" RA " + " RA ") * " RA ")" },
	{ A " < 0.5", "(" RA " < 0.5)" },
	{ A " <= -1", "(" RA " <= -1)" },
	{ "1 + " A, "(1 + " RA ")" },
	{ A " -1", "(" RA " - 1)" },
	/* Modifiers. */
	{ A " == bool " A, "(" RA " == bool " RA ")" },
	{ A " > bool 1", "(" RA " > bool 1)" },
	{ A " / on (x) group_left (y) " A,
	  "(" RA " / on(x) group_left(y) " RA ")" },
	{ A " * ignoring (x, z) group_right " A,
	  "(" RA " * ignoring(x,z) group_right() " RA ")" },
	{ A " + ignoring () " A, "(" RA " + ignoring() " RA ")" },
	{ A " > bool on () group_left () " A,
	  "(" RA " > bool on() group_left() " RA ")" },
	{ A " and on (a) " A, "(" RA " and on(a) " RA ")" },
	/* Scalars: the sign belongs to the number; two are folded. */
	{ "1", "1" },
	{ "-1", "-1" },
	{ "+1.5", "1.5" },
	{ "1e3", "1000" },
	{ ".5", "0.5" },
	{ "1 + 2 * 3", "7" },
	{ "(1 + 2) * 3", "9" },
	{ "2 ^ 3 ^ 2", "512" },
	{ "-2 ^ 2", "4" },
	{ "7 % 3", "1" },
	{ "-7 % 3", "-1" },
	{ "2 - -1", "3" },
	{ "1 / 0", "nan" },
	{ "0 % 0", "nan" },
	{ "1 > 2", "0" },
	{ "1 < 2", "1" },
	{ "1 >= 1 > 1", "0" },                         /* parser_test.go */
	{ "1 > 1 < 1", "1" },                          /* parser_test.go */
	{ "1 > 1 > bool 1", "0" },                     /* parser_test.go */
	{ "1 == bool 1", "1" },
	{ "1 != 1", "0" },
	{ "((1))", "1" },
	{ "vector(1)", "vector(1)" },
	{ "vector(1) + vector(2)", "(vector(1) + vector(2))" },
	{ "vector(1) + 2 * 3", "(vector(1) + 6)" },
	{ "sum(" A ") or vector(0)", "(sum(" RA ") or vector(0))" },
	/* label_replace. */
	{ "label_replace(" A ", \"dst\", \"$1\", \"src\", \"(.*)\")",
	  "label_replace(" RA ",\"dst\",\"$1\",\"src\",\"(.*)\")" },
	{ "label_replace(vector(0), \"foo\", \"bar\", \"\", \"\")",  /* parser_test.go */
	  "label_replace(vector(0),\"foo\",\"bar\",\"\",\"\")" },
	{ "sum by (x) (label_replace(" A ", \"x\", \"$1\", \"a\", \"(.)\"))",
	  "sum by(x)(label_replace(" RA ",\"x\",\"$1\",\"a\",\"(.)\"))" },
};

static const char *
kind_name(const struct lt_expr *e)
{
	return e == NULL ? "none" : "metric";
}

START_TEST(test_good)
{
	struct lt_query_ast a;
	struct out o;
	char why[512];
	int rc;

	memset(&o, 0, sizeof(o));
	rc = lt_logql_parse_query(good[_i].in, strlen(good[_i].in), &a, why,
				  sizeof(why));
	ck_assert_msg(rc == 0, "%s: %s", good[_i].in, why);
	ck_assert_msg(a.metric != NULL && a.log == NULL, "%s: %s", good[_i].in,
		      kind_name(a.metric));
	render(&o, a.metric);
	ck_assert_msg(strcmp(o.buf, good[_i].tree) == 0, "%s\n  gave %s\n  want %s",
		      good[_i].in, o.buf, good[_i].tree);
	lt_query_ast_free(&a);
	ck_assert_ptr_null(a.metric);
}
END_TEST

#define E "parse error : "

static const struct {
	const char *in, *why;
} bad[] = {
	/* parser_test.go */
	{ "sum_over_time({app=\"foo\"} |= \"bar\" | json | latency >= 250ms "
	  "[5m])", E "invalid aggregation sum_over_time without unwrap" },
	{ "count_over_time({app=\"foo\"} |= \"foo\" | json | unwrap foo [5m])",
	  E "invalid aggregation count_over_time with unwrap" },
	{ "{foo=\"bar\"} + {foo=\"bar\"}", E "unexpected type for left leg of "
	  "binary operation (+): *syntax.MatchersExpr" },
	{ "sum(count_over_time({foo=\"bar\"}[5m])) by (foo) - {foo=\"bar\"}",
	  E "unexpected type for right leg of binary operation (-): "
	  "*syntax.MatchersExpr" },
	{ "{foo=\"bar\"} / sum(count_over_time({foo=\"bar\"}[5m])) by (foo)",
	  E "unexpected type for left leg of binary operation (/): "
	  "*syntax.MatchersExpr" },
	{ "sum(count_over_time({foo=\"bar\"}[5m])) by (foo) or 1",
	  E "unexpected literal for right leg of logical/set binary operation "
	  "(or): 1.000000" },
	{ "1 unless sum(count_over_time({foo=\"bar\"}[5m])) by (foo)",
	  E "unexpected literal for left leg of logical/set binary operation "
	  "(unless): 1.000000" },
	{ "sum(count_over_time({foo=\"bar\"}[5m])) by (foo) + 1 or 1",
	  E "unexpected literal for right leg of logical/set binary operation "
	  "(or): 1.000000" },
	{ "count_over_time({ foo = \"bar\" }[12m]) > { foo = \"bar\" }",
	  E "unexpected type for right leg of binary operation (>): "
	  "*syntax.MatchersExpr" },
	{ "bool 1 > 1 > bool 1",
	  "parse error at line 1, col 1: syntax error: unexpected bool" },
	{ "sum_over_time({namespace=\"tns\"} |= \"level=error\" | json "
	  "|foo>=5,bar<25ms| unwrap latency [5m]) by (foo)",
	  E "grouping not allowed for sum_over_time aggregation" },
	{ "sum_over_time(50,{namespace=\"tns\"} |= \"level=error\" | json "
	  "|foo>=5,bar<25ms| unwrap latency [5m])",
	  E "parameter 50 not supported for operation sum_over_time" },
	{ "quantile_over_time({namespace=\"tns\"} |= \"level=error\" | json "
	  "|foo>=5,bar<25ms| unwrap latency [5m])",
	  E "parameter required for operation quantile_over_time" },
	{ "quantile_over_time(foo,{namespace=\"tns\"} |= \"level=error\" | json "
	  "|foo>=5,bar<25ms| unwrap latency [5m])",
	  "parse error at line 1, col 20: syntax error: unexpected IDENTIFIER, "
	  "expecting NUMBER or { or (" },
	{ "vector(abc)", "parse error at line 1, col 8: syntax error: "
	  "unexpected IDENTIFIER, expecting NUMBER" },

	/* Range aggregations: RangeAggregationExpr.validate, in its order. */
	{ "count_over_time({a=\"b\"}[5m]) by (a)",
	  E "grouping not allowed for count_over_time aggregation" },
	{ "rate({a=\"b\"}[1m]) without (a)",
	  E "grouping not allowed for rate aggregation" },
	{ "rate({a=\"b\"} | unwrap x [1m]) by (a)",
	  E "grouping not allowed for rate aggregation" },
	{ "bytes_rate({a=\"b\"} | unwrap x [5m])",
	  E "invalid aggregation bytes_rate with unwrap" },
	{ "bytes_over_time({a=\"b\"} | unwrap x [5m])",
	  E "invalid aggregation bytes_over_time with unwrap" },
	{ "rate_counter({a=\"b\"}[5m])",
	  E "invalid aggregation rate_counter without unwrap" },
	{ "avg_over_time({a=\"b\"}[5m]) by (a)",
	  E "invalid aggregation avg_over_time without unwrap" },
	{ "quantile_over_time(1e999, {a=\"b\"} | unwrap x [5m])",
	  E "invalid parameter for operation quantile_over_time: "
	  "strconv.ParseFloat: parsing \"1e999\": value out of range" },
	{ "rate(0.5, {a=\"b\"}[5m])",
	  E "parameter 0.5 not supported for operation rate" },
	/* Vector aggregations: mustNewVectorAggregationExpr. */
	{ "topk(" A ")", E "parameter required for operation topk" },
	{ "bottomk by (a) (" A ")", E "parameter required for operation bottomk" },
	{ "topk(0, " A ")",
	  E "invalid parameter (must be greater than 0) topk(0" },
	{ "topk(1.5, " A ")", E "invalid parameter topk(1.5," },
	{ "bottomk(1e3, " A ")", E "invalid parameter bottomk(1e3," },
	{ "topk(99999999999999999999, " A ")",
	  E "invalid parameter topk(99999999999999999999," },
	{ "sum(5, " A ")", E "unsupported parameter for operation sum(5," },
	{ "sort_desc(2, " A ")",
	  E "unsupported parameter for operation sort_desc(2," },
	/* parser.go's validateSortGrouping, with its trailing space. */
	{ "sort by (a) (" A ")", E "sort and sort_desc doesn't allow grouping by " },
	{ "sort_desc(" A ") without (a)",
	  E "sort and sort_desc doesn't allow grouping by " },
	/* Legs of binary operators. */
	{ "{a=\"b\"} | json + 1", E "unexpected type for left leg of binary "
	  "operation (+): *syntax.PipelineExpr" },
	{ "(0 / 0) and " A, E "unexpected literal for left leg of logical/set "
	  "binary operation (and): NaN" },
	{ "vector(1) or -2.5", E "unexpected literal for right leg of "
	  "logical/set binary operation (or): -2.500000" },
	{ "1 and 1", E "unexpected literal for left leg of logical/set binary "
	  "operation (and): 1.000000" },
	/* Literals: strconv.ParseFloat's range. */
	{ "1e999", E "unable to parse literal as a float: strconv.ParseFloat: "
	  "parsing \"1e999\": value out of range" },
	{ "vector(1e999)", E "unable to parse vectorExpr as a float: "
	  "strconv.ParseFloat: parsing \"1e999\": value out of range" },
	/* validateMatchers on every selector, after the parse. */
	{ "rate({a=~\".*\"}[1m])", E "queries require at least one regexp or "
	  "equality matcher that does not have an empty-compatible value. For "
	  "instance, app=~\".*\" does not meet this requirement, but "
	  "app=~\".+\" will" },
	{ A " + count_over_time({}[1m])", E "queries require at least one "
	  "regexp or equality matcher that does not have an empty-compatible "
	  "value. For instance, app=~\".*\" does not meet this requirement, "
	  "but app=~\".+\" will" },
	/* label_replace compiles ^(?:regex)$ (PCRE2's words for the fault). */
	{ "label_replace(" A ", \"d\", \"r\", \"s\", \"(\")",
	  E "invalid regex in label_replace: error parsing regexp: missing "
	  "closing parenthesis: `^(?:()$`" },
	/* Syntax, worked through expr.y. */
	{ "sum({a=\"b\"})",
	  "parse error at line 1, col 12: syntax error: unexpected )" },
	{ "sum(" A ") by (a) by (b)",
	  "parse error at line 1, col 31: syntax error: unexpected by" },
	{ "sum by (a) (" A ") by (b)",
	  "parse error at line 1, col 32: syntax error: unexpected by" },
	{ "rate by (a) ({a=\"b\"}[1m])",
	  "parse error at line 1, col 6: syntax error: unexpected by, "
	  "expecting (" },
	{ "vector(-1)", "parse error at line 1, col 8: syntax error: "
	  "unexpected -, expecting NUMBER" },
	{ "bottomk(-1, " A ")",
	  "parse error at line 1, col 11: syntax error: unexpected ," },
	{ "- " A, "parse error at line 1, col 3: syntax error: unexpected "
	  "RATE, expecting NUMBER" },
	{ "rate({a=\"b\"})",
	  "parse error at line 1, col 13: syntax error: unexpected )" },
	{ "rate({a=\"b\"}[5m] offset 1h offset 1h)",
	  "parse error at line 1, col 28: syntax error: unexpected offset" },
	{ "rate({a=\"b\"}[5m] offset 5)", "parse error at line 1, col 25: "
	  "syntax error: unexpected NUMBER, expecting DURATION" },
	{ "sum_over_time({a=\"b\"} | unwrap x | json [5m])",
	  "parse error at line 1, col 36: syntax error: unexpected json" },
	{ "sum_over_time({a=\"b\"} | unwrap [5m])",
	  "parse error at line 1, col 32: syntax error: unexpected RANGE, "
	  "expecting IDENTIFIER or BYTES_CONV or DURATION_CONV or "
	  "DURATION_SECONDS_CONV" },
	{ "sum_over_time({a=\"b\"} | unwrap bytes(1) [5m])",
	  "parse error at line 1, col 38: syntax error: unexpected NUMBER, "
	  "expecting IDENTIFIER" },
	{ "rate(({a=\"b\"}))", "parse error at line 1, col 15: syntax error: "
	  "unexpected ), expecting RANGE" },
	{ "count_over_time(({a=\"b\"})[5m] | json)", "parse error at line 1, "
	  "col 31: syntax error: unexpected |" },
	{ "rate({a=\"b\"}[5m]) [5m]",
	  "parse error at line 1, col 19: syntax error: unexpected RANGE" },
	{ "rate({a=\"b\"}[5m] [5m])",
	  "parse error at line 1, col 18: syntax error: unexpected RANGE" },
	{ "sum(" A ") by (a,)", "parse error at line 1, col 30: syntax error: "
	  "unexpected ), expecting IDENTIFIER" },
	{ A " + on (a) bool " A,
	  "parse error at line 1, col 28: syntax error: unexpected bool" },
	{ A " + group_left " A,
	  "parse error at line 1, col 21: syntax error: unexpected group_left" },
	{ "label_replace(" A ", \"d\", \"r\", \"s\")",
	  "parse error at line 1, col 47: syntax error: unexpected ), "
	  "expecting ," },
	{ "approx_topk(3, " A ")", "parse error at line 1, col 1: syntax "
	  "error: unexpected APPROX_TOPK: approx_topk is not supported" },
	{ "", "parse error at line 1, col 1: syntax error: unexpected $end" },
	{ "-0", "parse error at line 1, col 1: syntax error: unexpected "
	  "DURATION" },
	{ A " > 5m", "parse error at line 1, col 21: syntax error: unexpected "
	  "DURATION" },
	{ A " +", "parse error at line 1, col 20: syntax error: unexpected "
	  "$end" },
	{ "(" A, "parse error at line 1, col 19: syntax error: unexpected "
	  "$end" },
};

START_TEST(test_bad)
{
	struct lt_query_ast a;
	char why[512];

	memset(why, 'x', sizeof(why));
	memset(&a, 0x5a, sizeof(a));
	ck_assert_int_eq(lt_logql_parse_query(bad[_i].in, strlen(bad[_i].in),
					      &a, why, sizeof(why)), -1);
	ck_assert_ptr_null(a.log);
	ck_assert_ptr_null(a.metric);
	ck_assert_msg(strcmp(why, bad[_i].why) == 0, "%s\n  gave %s\n  want %s",
		      bad[_i].in, why, bad[_i].why);
}
END_TEST

/* Fields the rendering leaves out, checked one by one. */
START_TEST(test_fields)
{
	struct lt_query_ast a;
	const struct lt_expr *e, *r;
	char why[256];
	const char *q = "quantile_over_time(0.5, {app=\"api\", env=~\"p.*\"} "
			"|= \"x\" | json | unwrap duration(took) | took > 1s "
			"[2m] offset 30s) by (route) / on (app) group_right "
			"(env) sum without (pod) (rate({app=\"api\"}[2m]))";

	ck_assert_int_eq(lt_logql_parse_query(q, strlen(q), &a, why,
					      sizeof(why)), 0);
	e = a.metric;
	ck_assert_int_eq(e->kind, LT_EXPR_BINARY);
	ck_assert_int_eq(e->binary_op, LT_BIN_DIV);
	ck_assert_int_eq(e->return_bool, 0);
	ck_assert_int_eq(e->match.present, 1);
	ck_assert_int_eq(e->match.on, 1);
	ck_assert_uint_eq(e->match.n_labels, 1);
	ck_assert_str_eq(e->match.labels[0], "app");
	ck_assert_int_eq(e->match.card, LT_CARD_GROUP_RIGHT);
	ck_assert_uint_eq(e->match.n_include, 1);
	ck_assert_str_eq(e->match.include[0], "env");

	r = e->left;
	ck_assert_int_eq(r->kind, LT_EXPR_RANGE);
	ck_assert_int_eq(r->range_op, LT_RANGE_QUANTILE);
	ck_assert(r->param == 0.5);
	ck_assert_uint_eq(r->log->n_matchers, 2);
	ck_assert_str_eq(r->log->matchers[1].name, "env");
	ck_assert_int_eq(r->log->matchers[1].op, LT_MATCH_RE);
	ck_assert_str_eq(r->log->matchers[1].value, "p.*");
	ck_assert_uint_eq(r->log->n_stages, 2);
	ck_assert_int_eq(r->log->stages[0].kind, LT_STAGE_LINE_FILTER);
	ck_assert_int_eq(r->log->stages[1].kind, LT_STAGE_JSON);
	ck_assert_str_eq(r->unwrap, "took");
	ck_assert_int_eq(r->conv, LT_UNWRAP_DURATION);
	ck_assert_ptr_nonnull(r->unwrap_filter);
	ck_assert_int_eq(r->unwrap_filter->kind, LT_LF_DURATION);
	ck_assert_str_eq(r->unwrap_filter->name, "took");
	ck_assert_int_eq(r->unwrap_filter->cmp, LT_CMP_GT);
	ck_assert(r->unwrap_filter->number == 1);
	ck_assert_int_eq(r->range_ns, 120000000000LL);
	ck_assert_int_eq(r->offset_ns, 30000000000LL);
	ck_assert_int_eq(r->grouping.present, 1);
	ck_assert_int_eq(r->grouping.without, 0);
	ck_assert_uint_eq(r->grouping.n_labels, 1);
	ck_assert_str_eq(r->grouping.labels[0], "route");

	r = e->right;
	ck_assert_int_eq(r->kind, LT_EXPR_VECTOR_AGG);
	ck_assert_int_eq(r->vector_op, LT_VEC_SUM);
	ck_assert_int_eq(r->grouping.present, 1);
	ck_assert_int_eq(r->grouping.without, 1);
	ck_assert_str_eq(r->grouping.labels[0], "pod");
	ck_assert_int_eq(r->left->kind, LT_EXPR_RANGE);
	ck_assert_int_eq(r->left->range_op, LT_RANGE_RATE);
	ck_assert_ptr_null(r->left->unwrap);
	ck_assert_int_eq(r->left->grouping.present, 0);
	ck_assert_int_eq(r->left->offset_ns, 0);
	lt_query_ast_free(&a);

	/* No grouping written: present 0, sum of everything. */
	ck_assert_int_eq(lt_logql_parse_query("sum(" A ")", strlen("sum(" A ")"),
					      &a, why, sizeof(why)), 0);
	ck_assert_int_eq(a.metric->grouping.present, 0);
	ck_assert_int_eq(a.metric->match.present, 0);
	lt_query_ast_free(&a);

	/* The sign of a literal, and - 0 (-0 is a Go duration). */
	ck_assert_int_eq(lt_logql_parse_query("- 0", 3, &a, why, sizeof(why)), 0);
	ck_assert_int_eq(a.metric->kind, LT_EXPR_NUMBER);
	ck_assert(a.metric->param == 0 && signbit(a.metric->param));
	lt_query_ast_free(&a);
	lt_query_ast_free(NULL);
	lt_expr_free(NULL);
}
END_TEST

/* A log query comes out as lt_logql_parse() gives it: same tree, same
 * errors. */
START_TEST(test_log_queries)
{
	static const char *const queries[] = {
		"{a=\"b\"}", "({a=\"b\"} |= \"x\" | json | y > 1)",
		"{a=\"b\"} | logfmt | line_format \"{{.a}}\"",
		"{a=\"b\"} | unwrap x", "{a=~\".*\"}", "{a=\"b\"} [5m]",
		"{a=\"b\"", "(({a=\"b\"})", "{a=\"b\"} |~ \"(\"",
	};
	struct lt_query_ast a;
	struct lt_logql *q;
	char why[512], why2[512];
	size_t i, len;
	int rc;

	for (i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		len = strlen(queries[i]);
		rc = lt_logql_parse_query(queries[i], len, &a, why, sizeof(why));
		q = lt_logql_parse(queries[i], len, why2, sizeof(why2));
		ck_assert_ptr_null(a.metric);
		if (q == NULL) {
			ck_assert_msg(rc == -1, "%s parsed", queries[i]);
			ck_assert_str_eq(why, why2);
			continue;
		}
		ck_assert_msg(rc == 0, "%s: %s", queries[i], why);
		ck_assert_ptr_nonnull(a.log);
		ck_assert_uint_eq(a.log->n_matchers, q->n_matchers);
		ck_assert_uint_eq(a.log->n_stages, q->n_stages);
		ck_assert_str_eq(a.log->matchers[0].value, q->matchers[0].value);
		lt_logql_free(q);
		lt_query_ast_free(&a);
		ck_assert_ptr_null(a.log);
	}
	/* These are the only log queries here that parse. */
	ck_assert_int_eq(lt_logql_parse_query("{a=\"b\"} | json", 14, &a, why,
					      sizeof(why)), 0);
	ck_assert_int_eq(a.log->stages[0].kind, LT_STAGE_JSON);
	lt_query_ast_free(&a);
	/* lt_logql_parse() still refuses metric queries. */
	ck_assert_ptr_null(lt_logql_parse(A, strlen(A), why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "metric queries are not supported"));
}
END_TEST

/* ---- limits ---- */

static char *
repeat(const char *head, const char *unit, size_t n, const char *tail)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail), i;
	char *s = malloc(hl + n * ul + tl + 1);

	ck_assert_ptr_nonnull(s);
	memcpy(s, head, hl);
	for (i = 0; i < n; i++)
		memcpy(s + hl + i * ul, unit, ul);
	memcpy(s + hl + n * ul, tail, tl + 1);
	return s;
}

/* Parses text; 1 when it is a query, why filled in otherwise. */
static int
parses(const char *text, char *why, size_t whylen)
{
	struct lt_query_ast a;
	int rc = lt_logql_parse_query(text, strlen(text), &a, why, whylen);

	lt_query_ast_free(&a);
	return rc == 0;
}

static void
check_refused(char *text, const char *limit)
{
	char why[512];

	ck_assert_msg(!parses(text, why, sizeof(why)), "%.60s... parsed", text);
	ck_assert_msg(strstr(why, limit) != NULL, "%s", why);
	free(text);
}

static void
check_parses(char *text)
{
	char why[512];

	ck_assert_msg(parses(text, why, sizeof(why)), "%s", why);
	free(text);
}

START_TEST(test_limits)
{
	char *open, *text;
	size_t len = LT_LOGQL_MAX_LEN + 1;

	/* Parentheses, function calls, chains of operators: all nest. */
	open = repeat("", "(", 40, A);
	check_parses(repeat(open, ")", 40, ""));
	free(open);
	check_refused(repeat("", "(", 1000, A), "LT_LOGQL_MAX_DEPTH");
	open = repeat("", "sum(", 40, A);
	check_parses(repeat(open, ")", 40, ""));
	free(open);
	check_refused(repeat("", "sum(", 1000, A), "LT_LOGQL_MAX_DEPTH");
	check_parses(repeat(A, " + " A, 40, ""));
	check_refused(repeat(A, " + " A, 200, ""), "LT_LOGQL_MAX_DEPTH");
	check_refused(repeat(A, " ^ " A, 200, ""), "LT_LOGQL_MAX_DEPTH");
	check_refused(repeat("rate(", "(", 1000, "{a=\"b\"}[1m])"),
		      "LT_LOGQL_MAX_DEPTH");
	/* Scalars fold as they are read: no tree grows. */
	check_parses(repeat("1", " + 1", 2000, ""));
	/* Post-filters of an unwrap, joined by and. */
	check_refused(repeat("sum_over_time({a=\"b\"} | unwrap x",
			     " | x > 1", 200, " [1m])"), "LT_LOGQL_MAX_DEPTH");
	check_parses(repeat("sum_over_time({a=\"b\"} | unwrap x",
			    " | x > 1", 40, " [1m])"));
	/* The length. */
	text = malloc(len + 1);
	ck_assert_ptr_nonnull(text);
	memset(text, ' ', len);
	memcpy(text, A, strlen(A));
	text[len] = '\0';
	{
		struct lt_query_ast a;
		char why[512];

		ck_assert_int_eq(lt_logql_parse_query(text, len, &a, why,
						      sizeof(why)), -1);
		ck_assert_ptr_nonnull(strstr(why, "LT_LOGQL_MAX_LEN"));
		ck_assert_int_eq(lt_logql_parse_query(text, len - 1, &a, why,
						      sizeof(why)), 0);
		lt_query_ast_free(&a);
		/* Only len bytes are read. */
		ck_assert_int_eq(lt_logql_parse_query(A "GARBAGE", strlen(A),
						      &a, NULL, 0), 0);
		lt_query_ast_free(&a);
	}
	free(text);
}
END_TEST

static Suite *
logql_metric_suite(void)
{
	Suite *s = suite_create("logql-metric");
	TCase *tp = tcase_create("parse");

	tcase_add_loop_test(tp, test_good, 0,
			    (int)(sizeof(good) / sizeof(good[0])));
	tcase_add_loop_test(tp, test_bad, 0,
			    (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tp, test_fields);
	tcase_add_test(tp, test_log_queries);
	tcase_add_test(tp, test_limits);
	suite_add_tcase(s, tp);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(logql_metric_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
