/* LogQL metric queries: a recursive-descent parser that builds the
 * struct lt_expr tree of logql.h on the lexer and the log query parser
 * of logql.c.
 *
 * It follows Loki's grammar (pkg/logql/syntax/expr.y) and the checks its
 * constructors make (ast.go, parser.go):
 *
 *   - binary operators by yacc's precedences, lowest first: or; and
 *     unless; == != > >= < <=; + -; * / %; ^ (the only one to the
 *     right); each may carry bool, on/ignoring (...) and then
 *     group_left/group_right [(...)].  A leg must be a metric
 *     expression; a set operator takes no scalar leg; two scalars are
 *     folded into one at once, as Loki's reduceBinOp does (1 > 2 is 0,
 *     with or without bool).
 *   - a number is NUMBER, + NUMBER or - NUMBER: the sign belongs to the
 *     literal, so -2 ^ 2 is 4.
 *   - a range aggregation takes a log range: {sel} <pipeline> [| unwrap
 *     ...] [5m] [offset 1h], {sel}[5m] [offset 1h] <pipeline> [| unwrap
 *     ...], ({sel} <pipeline> [| unwrap ...])[5m] [offset 1h], or one
 *     of these in parentheses; by/without only after its ")".
 *   - a vector aggregation takes by/without before its "(" or after
 *     its ")", and topk and bottomk a NUMBER first.
 *
 * Loki's syntax errors come from goyacc's tables; this parser gives the
 * same "unexpected X" at the same token, with goyacc's ", expecting ..."
 * where the state is simple enough to know it. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logql.h"
#include "logql_int.h"

/* A log query standing where a metric expression may (a leg of a binary
 * operator, the whole query): e->log holds it.  Only this parser sees
 * the kind; it never leaves it. */
#define KIND_LOG ((enum lt_expr_kind)1000)

struct range_op {
	const char *token;     /* the yacc name of the function token */
	const char *name;      /* Loki's name of the operation */
	enum lt_range_op op;
	int grouping;          /* takes by/without */
	int unwrap;            /* takes | unwrap */
	int plain;             /* takes a log range without unwrap */
};

/* From RangeAggregationExpr.validate. */
static const struct range_op range_ops[] = {
	{ "COUNT_OVER_TIME", "count_over_time", LT_RANGE_COUNT, 0, 0, 1 },
	{ "RATE", "rate", LT_RANGE_RATE, 0, 1, 1 },
	{ "BYTES_OVER_TIME", "bytes_over_time", LT_RANGE_BYTES, 0, 0, 1 },
	{ "BYTES_RATE", "bytes_rate", LT_RANGE_BYTES_RATE, 0, 0, 1 },
	{ "ABSENT_OVER_TIME", "absent_over_time", LT_RANGE_ABSENT, 0, 1, 1 },
	{ "SUM_OVER_TIME", "sum_over_time", LT_RANGE_SUM, 0, 1, 0 },
	{ "AVG_OVER_TIME", "avg_over_time", LT_RANGE_AVG, 1, 1, 0 },
	{ "MIN_OVER_TIME", "min_over_time", LT_RANGE_MIN, 1, 1, 0 },
	{ "MAX_OVER_TIME", "max_over_time", LT_RANGE_MAX, 1, 1, 0 },
	{ "FIRST_OVER_TIME", "first_over_time", LT_RANGE_FIRST, 1, 1, 0 },
	{ "LAST_OVER_TIME", "last_over_time", LT_RANGE_LAST, 1, 1, 0 },
	{ "STDDEV_OVER_TIME", "stddev_over_time", LT_RANGE_STDDEV, 1, 1, 0 },
	{ "STDVAR_OVER_TIME", "stdvar_over_time", LT_RANGE_STDVAR, 1, 1, 0 },
	{ "QUANTILE_OVER_TIME", "quantile_over_time", LT_RANGE_QUANTILE,
	  1, 1, 0 },
	{ "RATE_COUNTER", "rate_counter", LT_RANGE_RATE_COUNTER, 0, 1, 0 },
};

struct vector_op {
	const char *token;
	const char *name;
	enum lt_vector_op op;
};

static const struct vector_op vector_ops[] = {
	{ "SUM", "sum", LT_VEC_SUM }, { "AVG", "avg", LT_VEC_AVG },
	{ "MIN", "min", LT_VEC_MIN }, { "MAX", "max", LT_VEC_MAX },
	{ "COUNT", "count", LT_VEC_COUNT },
	{ "STDDEV", "stddev", LT_VEC_STDDEV },
	{ "STDVAR", "stdvar", LT_VEC_STDVAR },
	{ "TOPK", "topk", LT_VEC_TOPK }, { "BOTTOMK", "bottomk", LT_VEC_BOTTOMK },
	{ "SORT", "sort", LT_VEC_SORT },
	{ "SORT_DESC", "sort_desc", LT_VEC_SORT_DESC },
};

/* Loki's names of the binary operators, in enum lt_binary_op's order. */
static const char *const binary_names[] = {
	"or", "and", "unless", "==", "!=", ">", ">=", "<", "<=",
	"+", "-", "*", "/", "%", "^",
};

static struct lt_expr *expr_at(struct parser *, int, struct lt_expr *);

/* ---- the tree ---- */

static void
free_names(char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static void
free_match(struct lt_vector_match *m)
{
	free_names(m->labels, m->n_labels);
	free_names(m->include, m->n_include);
	memset(m, 0, sizeof(*m));
}

void
lt_expr_free(struct lt_expr *e)
{
	if (e == NULL)
		return;
	lt_expr_free(e->left);
	lt_expr_free(e->right);
	lt_logql_free(e->log);
	free(e->unwrap);
	lq_free_filter(e->unwrap_filter);
	free_names(e->grouping.labels, e->grouping.n_labels);
	free_match(&e->match);
	free(e->dst);
	free(e->replacement);
	free(e->src);
	free(e->regex);
	free(e);
}

void
lt_query_ast_free(struct lt_query_ast *a)
{
	if (a == NULL)
		return;
	lt_logql_free(a->log);
	lt_expr_free(a->metric);
	a->log = NULL;
	a->metric = NULL;
}

static struct lt_expr *
new_expr(struct parser *p, enum lt_expr_kind kind)
{
	struct lt_expr *e;

	if ((e = calloc(1, sizeof(*e))) == NULL) {
		lq_oom(p);
		return NULL;
	}
	e->kind = kind;
	return e;
}

/* ---- small pieces ---- */

static int
is_kw(const struct parser *p, const char *name)
{
	return p->tok.kind == T_KEYWORD && strcmp(p->tok.name, name) == 0;
}

static int
too_deep(struct parser *p, size_t depth)
{
	if (depth > LT_LOGQL_MAX_DEPTH) {
		lq_fail_at(p, p->tok.start, "expressions nested deeper than "
			   "LT_LOGQL_MAX_DEPTH (%d)", LT_LOGQL_MAX_DEPTH);
		return 1;
	}
	return 0;
}

/* Every nested call passes here: the stack stays bounded.  The query
 * itself is one call, so LT_LOGQL_MAX_DEPTH parentheses around a log
 * query pass, as lt_logql_parse() lets them. */
static int
enter(struct parser *p)
{
	p->nest++;
	return too_deep(p, (size_t)p->nest - 1) ? -1 : 0;
}

static int64_t
to_ns(double seconds)
{
	double ns = seconds * 1e9;

	if (ns >= 9223372036854775807.0)
		return INT64_MAX;
	if (ns <= -9223372036854775808.0)
		return INT64_MIN;
	return (int64_t)llround(ns);
}

/* The value of the NUMBER look-ahead as Go's strconv.ParseFloat reads
 * its text: -1 when out of range. */
static int
number_value(struct parser *p, double *v)
{
	char *text;

	if ((text = lq_tok_text_dup(p)) == NULL)
		return -2;
	*v = strtod(text, NULL);
	free(text);
	return isinf(*v) ? -1 : 0;
}

/* Go's %f: 1.000000, NaN, +Inf, -Inf. */
static void
go_f(char *buf, size_t len, double v)
{
	if (isnan(v))
		(void)snprintf(buf, len, "NaN");
	else if (isinf(v))
		(void)snprintf(buf, len, "%sInf", v > 0 ? "+" : "-");
	else
		(void)snprintf(buf, len, "%f", v);
}

/* ( a, b, ... ) or (): the look-ahead is the "(". */
static int
label_list(struct parser *p, char ***labels, size_t *n)
{
	char **l;

	if (lq_expect(p, T_LPAREN, "(") != 0 || lq_next(p) != 0)
		return -1;
	if (p->tok.kind == T_RPAREN)
		return lq_next(p);
	for (;;) {
		if (lq_expect(p, T_IDENT, *n == 0 ? "IDENTIFIER or )" :
			      "IDENTIFIER") != 0)
			return -1;
		l = lq_append(p, (void **)labels, n, sizeof(*l));
		if (l == NULL || (*l = lq_tok_text_dup(p)) == NULL ||
		    lq_next(p) != 0)
			return -1;
		if (p->tok.kind == T_RPAREN)
			return lq_next(p);
		if (lq_expect(p, T_COMMA, ", or )") != 0 || lq_next(p) != 0)
			return -1;
	}
}

/* by (...) or without (...): the look-ahead is by or without. */
static int
grouping(struct parser *p, struct lt_grouping *g)
{
	g->present = 1;
	g->without = is_kw(p, "without");
	if (lq_next(p) != 0)
		return -1;
	return label_list(p, &g->labels, &g->n_labels);
}

static int
at_grouping(const struct parser *p)
{
	return is_kw(p, "by") || is_kw(p, "without");
}

/* ---- log ranges ---- */

/* | unwrap label, | unwrap duration(label), ..., then | label filters:
 * the look-ahead is the unwrap, its "|" read. */
static int
unwrap(struct parser *p, struct lt_expr *e)
{
	static const struct {
		const char *token;
		enum lt_unwrap_conv conv;
	} convs[] = {
		{ "BYTES_CONV", LT_UNWRAP_BYTES },
		{ "DURATION_CONV", LT_UNWRAP_DURATION },
		{ "DURATION_SECONDS_CONV", LT_UNWRAP_DURATION },
	};
	size_t k, n = sizeof(convs) / sizeof(convs[0]);
	int call = 0;

	if (lq_next(p) != 0)
		return -1;
	for (k = 0; p->tok.kind == T_FUNC && k < n; k++)
		if (strcmp(p->tok.name, convs[k].token) == 0) {
			e->conv = convs[k].conv;
			call = 1;
			if (lq_next(p) != 0 || lq_expect(p, T_LPAREN, "(") != 0 ||
			    lq_next(p) != 0)
				return -1;
			break;
		}
	if (lq_expect(p, T_IDENT, call ? "IDENTIFIER" : "IDENTIFIER or "
		      "BYTES_CONV or DURATION_CONV or DURATION_SECONDS_CONV") != 0 ||
	    (e->unwrap = lq_tok_text_dup(p)) == NULL || lq_next(p) != 0)
		return -1;
	if (call && (lq_expect(p, T_RPAREN, ")") != 0 || lq_next(p) != 0))
		return -1;
	return 0;
}

/* The label filters after an unwrap, each after a "|", joined by and. */
static int
unwrap_filters(struct parser *p, struct lt_expr *e)
{
	struct lt_label_filter *f, *both;
	size_t depth = 0, d;

	while (p->tok.kind == T_PIPE) {
		if (lq_next(p) != 0)
			return -1;
		if (p->tok.kind != T_IDENT && p->tok.kind != T_LPAREN) {
			lq_unexpected(p, NULL);
			return -1;
		}
		if ((f = lq_filter_expr(p, 0, 0, &d)) == NULL)
			return -1;
		if (e->unwrap_filter == NULL) {
			e->unwrap_filter = f;
			depth = d;
			continue;
		}
		if ((both = calloc(1, sizeof(*both))) == NULL) {
			lq_free_filter(f);
			lq_oom(p);
			return -1;
		}
		both->kind = LT_LF_AND;
		both->left = e->unwrap_filter;
		both->right = f;
		e->unwrap_filter = both;
		depth = 1 + (depth > d ? depth : d);
		if (depth > LT_LOGQL_MAX_DEPTH) {
			lq_fail_at(p, p->tok.start, "label filters nested deeper "
				   "than LT_LOGQL_MAX_DEPTH (%d)",
				   LT_LOGQL_MAX_DEPTH);
			return -1;
		}
	}
	return 0;
}

/* A pipeline that may end in an unwrap. */
static int
pipeline_unwrap(struct parser *p, struct lt_expr *e)
{
	int rc;

	p->in_range = 1;
	p->at_unwrap = 0;
	rc = lq_parse_pipeline(p, e->log);
	p->in_range = 0;
	if (rc != 0)
		return -1;
	if (!p->at_unwrap)
		return 0;
	p->at_unwrap = 0;
	if (unwrap(p, e) != 0)
		return -1;
	return unwrap_filters(p, e);
}

/* [5m] and an optional offset 1h; expecting: goyacc's list when the
 * range is all the state takes. */
static int
range_offset(struct parser *p, struct lt_expr *e, const char *expecting)
{
	if (lq_expect(p, T_RANGE, expecting) != 0)
		return -1;
	e->range_ns = to_ns(p->tok.num);
	if (lq_next(p) != 0)
		return -1;
	if (!is_kw(p, "offset"))
		return 0;
	if (lq_next(p) != 0 || lq_expect(p, T_DURATION, "DURATION") != 0)
		return -1;
	e->offset_ns = to_ns(p->tok.num);
	return lq_next(p);
}

/* expr.y's logRangeExpr into e: the look-ahead is its "{" or "(". */
static int
log_range(struct parser *p, struct lt_expr *e)
{
	int paren = 0, rc = -1;

	if (enter(p) != 0)
		goto out;
	if (p->tok.kind == T_LPAREN) {
		paren = 1;
		if (lq_next(p) != 0)
			goto out;
		if (p->tok.kind == T_LPAREN) {
			rc = log_range(p, e);
			goto close;
		}
	}
	if (lq_expect(p, T_LBRACE, NULL) != 0)
		goto out;
	if ((e->log = calloc(1, sizeof(*e->log))) == NULL) {
		lq_oom(p);
		goto out;
	}
	if (lq_parse_selector(p, e->log) != 0)
		goto out;
	if (p->tok.kind == T_RANGE) {
		/* {sel}[5m] offset 1h | json | unwrap x */
		rc = range_offset(p, e, NULL) != 0 ||
		     pipeline_unwrap(p, e) != 0 ? -1 : 0;
	} else {
		if (pipeline_unwrap(p, e) != 0)
			goto out;
		/* ({sel} | json)[5m] */
		if (paren && p->tok.kind == T_RPAREN) {
			paren = 0;
			if (lq_next(p) != 0)
				goto out;
			rc = range_offset(p, e, "RANGE");
		} else
			rc = range_offset(p, e, NULL);
	}
close:
	if (rc == 0 && paren)
		rc = lq_expect(p, T_RPAREN, NULL) != 0 || lq_next(p) != 0 ? -1 : 0;
out:
	p->nest--;
	return rc;
}

/* ---- range aggregations ---- */

/* newRangeAggregationExpr's checks; param: the text of the NUMBER
 * written first, or NULL. */
static int
check_range(struct parser *p, struct lt_expr *e, const struct range_op *op,
	    const char *param, size_t plen, int param_ok)
{
	if (param != NULL && e->range_op != LT_RANGE_QUANTILE)
		lq_say(p, "parse error : parameter %.*s not supported for "
		       "operation %s", (int)plen, param, op->name);
	else if (param != NULL && !param_ok)
		lq_say(p, "parse error : invalid parameter for operation %s: "
		       "strconv.ParseFloat: parsing \"%.*s\": value out of "
		       "range", op->name, (int)plen, param);
	else if (param == NULL && e->range_op == LT_RANGE_QUANTILE)
		lq_say(p, "parse error : parameter required for operation %s",
		       op->name);
	else if (e->grouping.present && !op->grouping)
		lq_say(p, "parse error : grouping not allowed for %s "
		       "aggregation", op->name);
	else if (e->unwrap != NULL && !op->unwrap)
		lq_say(p, "parse error : invalid aggregation %s with unwrap",
		       op->name);
	else if (e->unwrap == NULL && !op->plain)
		lq_say(p, "parse error : invalid aggregation %s without unwrap",
		       op->name);
	else
		return 0;
	return -1;
}

/* op([phi,] log range) [by|without (...)]: the look-ahead is op. */
static struct lt_expr *
range_agg(struct parser *p, const struct range_op *op)
{
	struct lt_expr *e;
	size_t pstart = 0, plen = 0;
	int has_param = 0, param_ok = 1, rc;

	if ((e = new_expr(p, LT_EXPR_RANGE)) == NULL)
		return NULL;
	e->range_op = op->op;
	if (lq_next(p) != 0 || lq_expect(p, T_LPAREN, "(") != 0 ||
	    lq_next(p) != 0)
		goto fail;
	if (p->tok.kind == T_NUMBER) {
		has_param = 1;
		pstart = p->tok.start;
		plen = p->tok.end - p->tok.start;
		if ((rc = number_value(p, &e->param)) == -2)
			goto fail;
		param_ok = rc == 0;
		if (lq_next(p) != 0 || lq_expect(p, T_COMMA, ",") != 0 ||
		    lq_next(p) != 0)
			goto fail;
	}
	if (p->tok.kind != T_LBRACE && p->tok.kind != T_LPAREN) {
		lq_unexpected(p, has_param ? "{ or (" : "NUMBER or { or (");
		goto fail;
	}
	if (log_range(p, e) != 0 || lq_expect(p, T_RPAREN, NULL) != 0 ||
	    lq_next(p) != 0)
		goto fail;
	if (at_grouping(p) && grouping(p, &e->grouping) != 0)
		goto fail;
	if (check_range(p, e, op, has_param ? p->text + pstart : NULL, plen,
			param_ok) != 0)
		goto fail;
	p->height = 1;
	return e;
fail:
	lt_expr_free(e);
	return NULL;
}

/* ---- vector aggregations, vector(), label_replace() ---- */

/* A scalar of value v, the NUMBER text at start..end, already read. */
static struct lt_expr *
literal(struct parser *p, double v, size_t start, size_t end)
{
	struct lt_expr *e;

	if (isinf(v)) {
		lq_say(p, "parse error : unable to parse literal as a float: "
		       "strconv.ParseFloat: parsing \"%.*s\": value out of "
		       "range", (int)(end - start), p->text + start);
		return NULL;
	}
	if ((e = new_expr(p, LT_EXPR_NUMBER)) == NULL)
		return NULL;
	e->param = v;
	p->height = 1;
	return e;
}

/* The NUMBER look-ahead, negated or not, as a scalar. */
static struct lt_expr *
number(struct parser *p, int negate)
{
	size_t start = p->tok.start, end = p->tok.end;
	double v;

	if (number_value(p, &v) == -2 || lq_next(p) != 0)
		return NULL;
	/* Loki negates after parsing: -1e999 is out of range too. */
	return literal(p, negate ? -v : v, start, end);
}

/* A metric expression, its first primary left when not NULL: a log
 * query there is a syntax error at the token after it, where yacc
 * would want a binary operator. */
static struct lt_expr *
metric_operand(struct parser *p, struct lt_expr *left)
{
	struct lt_expr *e;

	if ((e = expr_at(p, 0, left)) != NULL && e->kind == KIND_LOG) {
		lq_unexpected(p, NULL);
		lt_expr_free(e);
		return NULL;
	}
	return e;
}

/* Whether text (a NUMBER's) is a Go int, as strconv.Atoi reads it. */
static int
go_atoi(const char *text, size_t len, long long *v)
{
	size_t i;

	*v = 0;
	if (len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return 0;
		if (*v > (INT64_MAX - (text[i] - '0')) / 10)
			return 0;
		*v = *v * 10 + (text[i] - '0');
	}
	return 1;
}

/* mustNewVectorAggregationExpr's checks. */
static int
check_vector(struct parser *p, struct lt_expr *e, const struct vector_op *op,
	     const char *param, size_t plen)
{
	long long k;

	if (e->vector_op != LT_VEC_TOPK && e->vector_op != LT_VEC_BOTTOMK) {
		if (param == NULL)
			return 0;
		lq_say(p, "parse error : unsupported parameter for operation "
		       "%s(%.*s,", op->name, (int)plen, param);
		return -1;
	}
	if (param == NULL) {
		lq_say(p, "parse error : parameter required for operation %s",
		       op->name);
		return -1;
	}
	if (!go_atoi(param, plen, &k)) {
		lq_say(p, "parse error : invalid parameter %s(%.*s,", op->name,
		       (int)plen, param);
		return -1;
	}
	if (k <= 0) {
		lq_say(p, "parse error : invalid parameter (must be greater "
		       "than 0) %s(%.*s", op->name, (int)plen, param);
		return -1;
	}
	e->param = (double)k;
	return 0;
}

/* The arguments of a vector aggregation: [NUMBER ,] metric expression.
 * A NUMBER not followed by "," begins the expression. */
static int
vector_args(struct parser *p, struct lt_expr *e, size_t *pstart, size_t *plen)
{
	size_t start = p->tok.start, end = p->tok.end;
	struct lt_expr *lit;
	double v;

	if (p->tok.kind != T_NUMBER) {
		e->left = metric_operand(p, NULL);
		return e->left == NULL ? -1 : 0;
	}
	if (number_value(p, &v) == -2 || lq_next(p) != 0)
		return -1;
	if (p->tok.kind == T_COMMA) {
		*pstart = start;
		*plen = end - start;
		if (lq_next(p) != 0)
			return -1;
		e->left = metric_operand(p, NULL);
	} else if ((lit = literal(p, v, start, end)) != NULL)
		e->left = metric_operand(p, lit);
	return e->left == NULL ? -1 : 0;
}

/* op [grouping] ([k,] expr) [grouping]: the look-ahead is op. */
static struct lt_expr *
vector_agg(struct parser *p, const struct vector_op *op)
{
	struct lt_expr *e;
	size_t pstart = 0, plen = 0, h;
	int before = 0;

	if ((e = new_expr(p, LT_EXPR_VECTOR_AGG)) == NULL)
		return NULL;
	e->vector_op = op->op;
	if (lq_next(p) != 0)
		goto fail;
	if (at_grouping(p)) {
		before = 1;
		if (grouping(p, &e->grouping) != 0)
			goto fail;
	}
	if (lq_expect(p, T_LPAREN, "(") != 0 || lq_next(p) != 0 ||
	    vector_args(p, e, &pstart, &plen) != 0)
		goto fail;
	h = p->height;
	if (lq_expect(p, T_RPAREN, NULL) != 0 || lq_next(p) != 0)
		goto fail;
	if (!before && at_grouping(p) && grouping(p, &e->grouping) != 0)
		goto fail;
	if (check_vector(p, e, op, plen > 0 ? p->text + pstart : NULL,
			 plen) != 0)
		goto fail;
	p->height = h + 1;
	if (too_deep(p, p->height))
		goto fail;
	return e;
fail:
	lt_expr_free(e);
	return NULL;
}

/* vector(NUMBER): the look-ahead is vector. */
static struct lt_expr *
vector_fn(struct parser *p)
{
	struct lt_expr *e;
	int rc;

	if ((e = new_expr(p, LT_EXPR_VECTOR)) == NULL)
		return NULL;
	if (lq_next(p) != 0 || lq_expect(p, T_LPAREN, "(") != 0 ||
	    lq_next(p) != 0 || lq_expect(p, T_NUMBER, "NUMBER") != 0)
		goto fail;
	if ((rc = number_value(p, &e->param)) != 0) {
		if (rc == -1)
			lq_say(p, "parse error : unable to parse vectorExpr as a "
			       "float: strconv.ParseFloat: parsing \"%.*s\": "
			       "value out of range",
			       (int)(p->tok.end - p->tok.start),
			       p->text + p->tok.start);
		goto fail;
	}
	if (lq_next(p) != 0 || lq_expect(p, T_RPAREN, ")") != 0 ||
	    lq_next(p) != 0)
		goto fail;
	p->height = 1;
	return e;
fail:
	lt_expr_free(e);
	return NULL;
}

/* label_replace's regex must compile as Loki's ^(?:regex)$. */
static int
check_replace_regex(struct parser *p, const char *re)
{
	char err[256], shown[4 * LQ_SHOWN + 8];
	pcre2_code *code;

	if ((code = lq_re_compile(re, 1, err, sizeof(err))) != NULL) {
		pcre2_code_free(code);
		return 0;
	}
	lq_show_text(re, strlen(re), 0, shown, sizeof(shown));
	lq_say(p, "parse error : invalid regex in label_replace: error "
	       "parsing regexp: %s: `^(?:%s)$`", err, shown);
	return -1;
}

/* label_replace(expr, "dst", "replacement", "src", "regex"). */
static struct lt_expr *
label_replace(struct parser *p)
{
	struct lt_expr *e;
	char **strs[4];
	size_t h, i;

	if ((e = new_expr(p, LT_EXPR_LABEL_REPLACE)) == NULL)
		return NULL;
	strs[0] = &e->dst;
	strs[1] = &e->replacement;
	strs[2] = &e->src;
	strs[3] = &e->regex;
	if (lq_next(p) != 0 || lq_expect(p, T_LPAREN, "(") != 0 ||
	    lq_next(p) != 0 || (e->left = metric_operand(p, NULL)) == NULL)
		goto fail;
	h = p->height;
	if (lq_expect(p, T_COMMA, NULL) != 0)
		goto fail;
	for (i = 0; i < 4; i++) {
		if (lq_next(p) != 0 || lq_expect(p, T_STRING, "STRING") != 0)
			goto fail;
		*strs[i] = lq_take_str(p);
		if (lq_next(p) != 0 ||
		    lq_expect(p, i < 3 ? T_COMMA : T_RPAREN, i < 3 ? "," : ")"))
			goto fail;
	}
	if (lq_next(p) != 0 || check_replace_regex(p, e->regex) != 0)
		goto fail;
	p->height = h + 1;
	if (too_deep(p, p->height))
		goto fail;
	return e;
fail:
	lt_expr_free(e);
	return NULL;
}

/* ---- primaries ---- */

/* A function: the look-ahead is its T_FUNC. */
static struct lt_expr *
call(struct parser *p)
{
	size_t k;

	for (k = 0; k < sizeof(range_ops) / sizeof(range_ops[0]); k++)
		if (strcmp(p->tok.name, range_ops[k].token) == 0)
			return range_agg(p, &range_ops[k]);
	for (k = 0; k < sizeof(vector_ops) / sizeof(vector_ops[0]); k++)
		if (strcmp(p->tok.name, vector_ops[k].token) == 0)
			return vector_agg(p, &vector_ops[k]);
	if (strcmp(p->tok.name, "VECTOR") == 0)
		return vector_fn(p);
	if (strcmp(p->tok.name, "label_replace") == 0)
		return label_replace(p);
	if (strcmp(p->tok.name, "APPROX_TOPK") == 0) {
		lq_fail_at(p, p->tok.start, "syntax error: unexpected %s: "
			   "approx_topk is not supported", p->tok.name);
		return NULL;
	}
	lq_unexpected(p, NULL);
	return NULL;
}

/* A log query: selector and pipeline. */
static struct lt_expr *
log_query(struct parser *p)
{
	struct lt_expr *e;

	if ((e = new_expr(p, KIND_LOG)) == NULL)
		return NULL;
	if ((e->log = calloc(1, sizeof(*e->log))) == NULL) {
		lq_oom(p);
		goto fail;
	}
	if (lq_parse_selector(p, e->log) != 0 ||
	    lq_parse_pipeline(p, e->log) != 0)
		goto fail;
	p->height = 1;
	return e;
fail:
	lt_expr_free(e);
	return NULL;
}

static struct lt_expr *
primary(struct parser *p)
{
	struct lt_expr *e;
	int negate;

	switch (p->tok.kind) {
	case T_LPAREN:
		/* lt_logql_parse()'s limit and words for a log query's. */
		if (p->nest > LT_LOGQL_MAX_DEPTH) {
			lq_fail_at(p, p->tok.start, "parentheses nested deeper "
				   "than LT_LOGQL_MAX_DEPTH (%d)",
				   LT_LOGQL_MAX_DEPTH);
			return NULL;
		}
		if (lq_next(p) != 0 || (e = expr_at(p, 0, NULL)) == NULL)
			return NULL;
		if (lq_expect(p, T_RPAREN, NULL) != 0 || lq_next(p) != 0) {
			lt_expr_free(e);
			return NULL;
		}
		return e;
	case T_LBRACE:
		return log_query(p);
	case T_NUMBER:
		return number(p, 0);
	case T_ADD:
	case T_SUB:
		negate = p->tok.kind == T_SUB;
		if (lq_next(p) != 0 || lq_expect(p, T_NUMBER, "NUMBER") != 0)
			return NULL;
		return number(p, negate);
	case T_FUNC:
		return call(p);
	default:
		lq_unexpected(p, NULL);
		return NULL;
	}
}

/* ---- binary operators ---- */

/* The operator at the look-ahead and its precedence (1 lowest), or 0. */
static int
binary_op(const struct parser *p, enum lt_binary_op *op)
{
	static const struct {
		enum tok kind;
		enum lt_binary_op op;
		int prec;
	} ops[] = {
		{ T_OR, LT_BIN_OR, 1 }, { T_AND, LT_BIN_AND, 2 },
		{ T_CMP_EQ, LT_BIN_EQ, 3 }, { T_NEQ, LT_BIN_NE, 3 },
		{ T_GT, LT_BIN_GT, 3 }, { T_GE, LT_BIN_GE, 3 },
		{ T_LT, LT_BIN_LT, 3 }, { T_LE, LT_BIN_LE, 3 },
		{ T_ADD, LT_BIN_ADD, 4 }, { T_SUB, LT_BIN_SUB, 4 },
		{ T_MUL, LT_BIN_MUL, 5 }, { T_DIV, LT_BIN_DIV, 5 },
		{ T_MOD, LT_BIN_MOD, 5 }, { T_POW, LT_BIN_POW, 6 },
	};
	size_t k;

	if (is_kw(p, "unless")) {
		*op = LT_BIN_UNLESS;
		return 2;
	}
	for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
		if (p->tok.kind == ops[k].kind) {
			*op = ops[k].op;
			return ops[k].prec;
		}
	return 0;
}

/* [bool] [on|ignoring (...) [group_left|group_right [(...)]]] into
 * m's return_bool and match. */
static int
modifier(struct parser *p, struct lt_expr *m)
{
	struct lt_vector_match *vm = &m->match;

	if (is_kw(p, "bool")) {
		m->return_bool = 1;
		if (lq_next(p) != 0)
			return -1;
	}
	if (!is_kw(p, "on") && !is_kw(p, "ignoring"))
		return 0;
	vm->present = 1;
	vm->on = is_kw(p, "on");
	if (lq_next(p) != 0 || label_list(p, &vm->labels, &vm->n_labels) != 0)
		return -1;
	if (!is_kw(p, "group_left") && !is_kw(p, "group_right"))
		return 0;
	vm->card = is_kw(p, "group_left") ? LT_CARD_GROUP_LEFT :
		   LT_CARD_GROUP_RIGHT;
	if (lq_next(p) != 0)
		return -1;
	if (p->tok.kind == T_LPAREN)
		return label_list(p, &vm->include, &vm->n_include);
	return 0;
}

/* reduceBinOp: two scalars are one (MergeBinOp without filtering: a
 * comparison gives 1 or 0; x/0 and x%0 give NaN). */
static double
fold(enum lt_binary_op op, double l, double r)
{
	switch (op) {
	case LT_BIN_ADD: return l + r;
	case LT_BIN_SUB: return l - r;
	case LT_BIN_MUL: return l * r;
	case LT_BIN_DIV: return r == 0 ? NAN : l / r;
	case LT_BIN_MOD: return r == 0 ? NAN : fmod(l, r);
	case LT_BIN_POW: return pow(l, r);
	case LT_BIN_EQ: return l == r;
	case LT_BIN_NE: return l != r;
	case LT_BIN_GT: return l > r;
	case LT_BIN_GE: return l >= r;
	case LT_BIN_LT: return l < r;
	case LT_BIN_LE: return l <= r;
	default: return NAN;  /* set operators never reach here */
	}
}

/* mustNewBinOpExpr's checks on the legs. */
static int
check_legs(struct parser *p, enum lt_binary_op op, const struct lt_expr *l,
	   const struct lt_expr *r)
{
	const char *name = binary_names[op];
	char num[64];

	if (l->kind == KIND_LOG || r->kind == KIND_LOG) {
		const struct lt_expr *leg = l->kind == KIND_LOG ? l : r;

		lq_say(p, "parse error : unexpected type for %s leg of binary "
		       "operation (%s): *syntax.%s", leg == l ? "left" : "right",
		       name, leg->log->n_stages > 0 ? "PipelineExpr" :
		       "MatchersExpr");
		return -1;
	}
	if (op != LT_BIN_OR && op != LT_BIN_AND && op != LT_BIN_UNLESS)
		return 0;
	if (l->kind == LT_EXPR_NUMBER || r->kind == LT_EXPR_NUMBER) {
		go_f(num, sizeof(num), l->kind == LT_EXPR_NUMBER ? l->param :
		     r->param);
		lq_say(p, "parse error : unexpected literal for %s leg of "
		       "logical/set binary operation (%s): %s",
		       l->kind == LT_EXPR_NUMBER ? "left" : "right", name, num);
		return -1;
	}
	return 0;
}

/* l op r, m's modifiers moved into it; lh: the height of l. */
static struct lt_expr *
binary(struct parser *p, enum lt_binary_op op, struct lt_expr *m,
       struct lt_expr *l, struct lt_expr *r, size_t lh)
{
	size_t rh = p->height;
	struct lt_expr *e = NULL;

	if (check_legs(p, op, l, r) != 0)
		goto out;
	if (l->kind == LT_EXPR_NUMBER && r->kind == LT_EXPR_NUMBER) {
		l->param = fold(op, l->param, r->param);
		e = l;
		l = NULL;
		p->height = 1;
		goto out;
	}
	if ((e = new_expr(p, LT_EXPR_BINARY)) == NULL)
		goto out;
	e->binary_op = op;
	e->return_bool = m->return_bool;
	e->match = m->match;
	memset(&m->match, 0, sizeof(m->match));
	e->left = l;
	e->right = r;
	l = r = NULL;
	p->height = 1 + (lh > rh ? lh : rh);
	if (too_deep(p, p->height)) {
		lt_expr_free(e);
		e = NULL;
	}
out:
	free_match(&m->match);
	lt_expr_free(l);
	lt_expr_free(r);
	return e;
}

/* Precedence climbing: operators binding at least min_prec, after left
 * (read here when NULL). */
static struct lt_expr *
expr_at(struct parser *p, int min_prec, struct lt_expr *left)
{
	struct lt_expr mod, *right;
	enum lt_binary_op op;
	size_t lh;
	int prec;

	if (enter(p) != 0 || (left == NULL && (left = primary(p)) == NULL))
		goto fail;
	while ((prec = binary_op(p, &op)) > 0 && prec >= min_prec) {
		lh = p->height;
		memset(&mod, 0, sizeof(mod));
		if (lq_next(p) != 0 || modifier(p, &mod) != 0) {
			free_match(&mod.match);
			goto fail;
		}
		/* ^ is right associative: its right side takes another ^. */
		right = expr_at(p, op == LT_BIN_POW ? prec : prec + 1, NULL);
		if (right == NULL) {
			free_match(&mod.match);
			goto fail;
		}
		if ((left = binary(p, op, &mod, left, right, lh)) == NULL)
			goto fail;
	}
	p->nest--;
	return left;
fail:
	p->nest--;
	lt_expr_free(left);
	return NULL;
}

/* ---- the query ---- */

/* validateSampleExpr, after the parse: the selector of every range
 * aggregation must select, sort and sort_desc take no labels. */
static int
validate(struct parser *p, const struct lt_expr *e)
{
	switch (e->kind) {
	case LT_EXPR_BINARY:
		return validate(p, e->left) != 0 ? -1 : validate(p, e->right);
	case LT_EXPR_VECTOR_AGG:
		if ((e->vector_op == LT_VEC_SORT ||
		     e->vector_op == LT_VEC_SORT_DESC) &&
		    e->grouping.n_labels > 0) {
			lq_say(p, "parse error : sort and sort_desc doesn't allow "
			       "grouping by ");
			return -1;
		}
		return validate(p, e->left);
	case LT_EXPR_LABEL_REPLACE:
		return validate(p, e->left);
	case LT_EXPR_RANGE:
		return lq_check_selective(p, e->log);
	default:
		return 0;
	}
}

int
lt_logql_parse_query(const char *text, size_t len, struct lt_query_ast *out,
		     char *why, size_t whylen)
{
	struct parser p;
	struct lt_expr *e = NULL;

	memset(out, 0, sizeof(*out));
	memset(&p, 0, sizeof(p));
	if (text == NULL) {
		text = "";
		len = 0;
	}
	p.text = text;
	p.len = len;
	p.why = why;
	p.whylen = whylen;
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (len > LT_LOGQL_MAX_LEN) {
		lq_say(&p, "parse error : input size too long (%zu > %d): "
		       "LT_LOGQL_MAX_LEN", len, LT_LOGQL_MAX_LEN);
		return -1;
	}
	if (lq_next(&p) != 0 || (e = expr_at(&p, 0, NULL)) == NULL ||
	    lq_expect(&p, T_EOF, NULL) != 0)
		goto fail;
	free(p.tok.str);
	if (e->kind == KIND_LOG) {
		/* The log query parser's own tree and checks. */
		lt_expr_free(e);
		out->log = lt_logql_parse(text, len, why, whylen);
		return out->log == NULL ? -1 : 0;
	}
	if (validate(&p, e) != 0) {
		lt_expr_free(e);
		return -1;
	}
	out->metric = e;
	return 0;
fail:
	if (!p.failed)
		lq_oom(&p);
	free(p.tok.str);
	lt_expr_free(e);
	return -1;
}
