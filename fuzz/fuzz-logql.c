/* Fuzz target: the LogQL log query parser.
 *
 * Every input is parsed as a query and as a selector.  A refusal must
 * say why in one line; a tree must hold what logql.h promises: label
 * names of [a-zA-Z_][a-zA-Z0-9_]*, strings present, label filters no
 * deeper than LT_LOGQL_MAX_DEPTH.  A tree is then written back as
 * LogQL, every label filter in parentheses and every string with Go
 * escapes, and parsed again: writing that tree must give the same text.
 * The first bytes are also read as a Go duration and a size.
 *
 * Every input is also parsed by lt_logql_parse_query(): a log query it
 * gives must be lt_logql_parse()'s (and whatever lt_logql_parse() takes
 * it takes as a log query); a metric tree must hold what logql.h
 * promises (no two scalars under one operator, a range's selector and
 * unwrap, height within LT_LOGQL_MAX_DEPTH), and written back as LogQL
 * it must parse to a tree that writes the same text. */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logql.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct text {
	char *s;
	size_t len, room;
	int exact;  /* 0: a value no text gives back exactly */
};

static void put(struct text *, const char *, ...)
	__attribute__((format(printf, 2, 3)));

static void
put(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->room == 0) {
		t->room = 256;
		if ((t->s = malloc(t->room)) == NULL)
			abort();
	}
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->s + t->len, t->room - t->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			abort();
		if ((size_t)n < t->room - t->len)
			break;
		t->room = (t->room + (size_t)n) * 2;
		if ((t->s = realloc(t->s, t->room)) == NULL)
			abort();
	}
	t->len += (size_t)n;
}

static void
check_name(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0')
		abort();
	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '_' || (i > 0 && c >= '0' && c <= '9')))
			abort();
	}
}

/* A Go string literal with the same bytes. */
static void
put_quoted(struct text *t, const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	if (s == NULL)
		abort();
	put(t, "\"");
	for (; *u != '\0'; u++) {
		if (*u == '"' || *u == '\\')
			put(t, "\\%c", *u);
		else if (*u < 0x20 || *u >= 0x7f)
			put(t, "\\x%02x", *u);
		else
			put(t, "%c", *u);
	}
	put(t, "\"");
}

static const char *
match_op(enum lt_match_op op)
{
	switch (op) {
	case LT_MATCH_EQ: return "=";
	case LT_MATCH_NE: return "!=";
	case LT_MATCH_RE: return "=~";
	case LT_MATCH_NRE: return "!~";
	}
	abort();
}

static const char *
cmp_op(enum lt_cmp_op op)
{
	switch (op) {
	case LT_CMP_EQ: return "==";
	case LT_CMP_NE: return "!=";
	case LT_CMP_GT: return ">";
	case LT_CMP_GE: return ">=";
	case LT_CMP_LT: return "<";
	case LT_CMP_LE: return "<=";
	}
	abort();
}

static size_t
put_filter(struct text *t, const struct lt_label_filter *f)
{
	size_t dl, dr;
	double ns;

	if (f == NULL)
		abort();
	switch (f->kind) {
	case LT_LF_AND:
	case LT_LF_OR:
		put(t, "(");
		dl = put_filter(t, f->left);
		put(t, f->kind == LT_LF_AND ? " and " : " or ");
		dr = put_filter(t, f->right);
		put(t, ")");
		return 1 + (dl > dr ? dl : dr);
	case LT_LF_STRING:
		check_name(f->matcher.name);
		put(t, "%s%s", f->matcher.name, match_op(f->matcher.op));
		put_quoted(t, f->matcher.value);
		return 1;
	case LT_LF_NUMBER:
		check_name(f->name);
		if (!isfinite(f->number))
			t->exact = 0;
		/* "- 0", not "-0", which Loki reads as a duration. */
		put(t, "%s %s %s%.17g", f->name, cmp_op(f->cmp),
		    signbit(f->number) ? "- " : "", fabs(f->number));
		return 1;
	case LT_LF_DURATION:
		check_name(f->name);
		ns = f->number * 1e9;
		if (!(fabs(ns) < 4503599627370496.0))  /* 2^52 */
			t->exact = 0;
		put(t, "%s %s %.0fns", f->name, cmp_op(f->cmp), ns);
		return 1;
	case LT_LF_BYTES:
		check_name(f->name);
		if (!(f->number >= 0) || f->number != floor(f->number))
			abort();
		put(t, "%s %s %.0fB", f->name, cmp_op(f->cmp), f->number);
		return 1;
	}
	abort();
}

static void
put_params(struct text *t, const struct lt_stage *s)
{
	const struct lt_named *n;
	size_t i;

	for (i = 0; i < s->n_params; i++) {
		n = &s->params[i];
		check_name(n->name);
		put(t, "%s%s", i == 0 ? " " : ", ", n->name);
		if (n->expression == NULL) {
			if (s->kind == LT_STAGE_LABEL_FORMAT)
				abort();
			continue;
		}
		if (s->kind == LT_STAGE_LABEL_FORMAT && !n->is_template) {
			check_name(n->expression);
			put(t, "=%s", n->expression);
		} else if (s->kind == LT_STAGE_DROP || s->kind == LT_STAGE_KEEP) {
			put(t, "%s", match_op(n->op));
			put_quoted(t, n->expression);
		} else {
			put(t, "=");
			put_quoted(t, n->expression);
		}
	}
}

static void
put_stage(struct text *t, const struct lt_stage *s)
{
	static const char *const line_ops[] = { "|=", "!=", "|~", "!~" };
	size_t i;

	switch (s->kind) {
	case LT_STAGE_LINE_FILTER:
		if (s->line.n_values == 0 || (unsigned)s->line.op > 3)
			abort();
		put(t, " %s ", line_ops[s->line.op]);
		for (i = 0; i < s->line.n_values; i++) {
			if (i > 0)
				put(t, " or ");
			put_quoted(t, s->line.values[i]);
		}
		return;
	case LT_STAGE_JSON:
		put(t, " | json");
		break;
	case LT_STAGE_LOGFMT:
		put(t, " | logfmt%s%s", s->logfmt_strict ? " --strict" : "",
		    s->logfmt_keep_empty ? " --keep-empty" : "");
		break;
	case LT_STAGE_REGEXP:
		put(t, " | regexp ");
		put_quoted(t, s->text);
		return;
	case LT_STAGE_PATTERN:
		put(t, " | pattern ");
		put_quoted(t, s->text);
		return;
	case LT_STAGE_UNPACK:
		put(t, " | unpack");
		break;
	case LT_STAGE_LABEL_FILTER:
		put(t, " | ");
		if (put_filter(t, s->filter) > LT_LOGQL_MAX_DEPTH)
			abort();
		return;
	case LT_STAGE_LINE_FORMAT:
		put(t, " | line_format ");
		put_quoted(t, s->text);
		return;
	case LT_STAGE_LABEL_FORMAT:
		if (s->n_params == 0)
			abort();
		put(t, " | label_format");
		break;
	case LT_STAGE_DROP:
	case LT_STAGE_KEEP:
		if (s->n_params == 0)
			abort();
		put(t, " | %s", s->kind == LT_STAGE_DROP ? "drop" : "keep");
		break;
	case LT_STAGE_DECOLORIZE:
		put(t, " | decolorize");
		break;
	default:
		abort();
	}
	put_params(t, s);
}

static void
put_query(struct text *t, const struct lt_logql *q)
{
	size_t i;

	t->len = 0;
	t->exact = 1;
	if (q->n_matchers == 0)
		abort();
	put(t, "{");
	for (i = 0; i < q->n_matchers; i++) {
		check_name(q->matchers[i].name);
		put(t, "%s%s%s", i == 0 ? "" : ", ", q->matchers[i].name,
		    match_op(q->matchers[i].op));
		put_quoted(t, q->matchers[i].value);
	}
	put(t, "}");
	for (i = 0; i < q->n_stages; i++)
		put_stage(t, &q->stages[i]);
}

/* The message is one non-empty line of a known kind. */
static void
check_why(const char *why)
{
	size_t i;

	if (strncmp(why, "parse error", 11) != 0 &&
	    strcmp(why, "only label matchers are supported") != 0 &&
	    strcmp(why, "out of memory") != 0)
		abort();
	for (i = 0; why[i] != '\0'; i++)
		if (why[i] == '\n' || why[i] == '\r')
			abort();
}

static void
round_trip(const struct lt_logql *q)
{
	struct text a = { NULL, 0, 0, 1 }, b = { NULL, 0, 0, 1 };
	struct lt_logql *again;
	char why[512];

	put_query(&a, q);
	if (!a.exact || a.len > LT_LOGQL_MAX_LEN)
		goto done;
	again = lt_logql_parse(a.s, a.len, why, sizeof(why));
	if (again == NULL) {
		/* Parentheses on every filter nest deeper than the input did. */
		if (strstr(why, "LT_LOGQL_MAX_DEPTH") != NULL)
			goto done;
		(void)fprintf(stderr, "written back: %s\nrefused: %s\n", a.s, why);
		abort();
	}
	put_query(&b, again);
	if (a.len != b.len || memcmp(a.s, b.s, a.len) != 0) {
		(void)fprintf(stderr, "written back: %s\nthen: %s\n", a.s, b.s);
		abort();
	}
	lt_logql_free(again);
done:
	free(a.s);
	free(b.s);
}

/* ---- metric queries ---- */

static const char *const range_names[] = {
	"count_over_time", "rate", "bytes_over_time", "bytes_rate",
	"absent_over_time", "sum_over_time", "avg_over_time", "min_over_time",
	"max_over_time", "first_over_time", "last_over_time",
	"stddev_over_time", "stdvar_over_time", "quantile_over_time",
	"rate_counter",
};

static const char *const vector_names[] = {
	"sum", "avg", "min", "max", "count", "stddev", "stdvar", "topk",
	"bottomk", "sort", "sort_desc",
};

static const char *const binary_names[] = {
	"or", "and", "unless", "==", "!=", ">", ">=", "<", "<=", "+", "-",
	"*", "/", "%", "^",
};

static void
put_names(struct text *t, char **names, size_t n)
{
	size_t i;

	if (n > 0 && names == NULL)
		abort();
	put(t, " (");
	for (i = 0; i < n; i++) {
		check_name(names[i]);
		put(t, "%s%s", i == 0 ? "" : ", ", names[i]);
	}
	put(t, ")");
}

static void
put_grouping(struct text *t, const struct lt_grouping *g)
{
	if (!g->present) {
		if (g->n_labels != 0 || g->without)
			abort();
		return;
	}
	put(t, " %s", g->without ? "without" : "by");
	put_names(t, g->labels, g->n_labels);
}

static size_t put_expr(struct text *, const struct lt_expr *);

static void
put_range(struct text *t, const struct lt_expr *e)
{
	static const char *const convs[] = { "", "duration", "bytes" };
	struct text log = { NULL, 0, 0, 1 };

	if ((unsigned)e->range_op > LT_RANGE_RATE_COUNTER || e->log == NULL ||
	    e->left != NULL || e->right != NULL ||
	    (e->unwrap == NULL && e->unwrap_filter != NULL))
		abort();
	put(t, "%s(", range_names[e->range_op]);
	if (e->range_op == LT_RANGE_QUANTILE) {
		if (!(e->param >= 0) || isinf(e->param))
			abort();
		put(t, "%.17g, ", e->param);
	}
	put_query(&log, e->log);
	if (!log.exact)
		t->exact = 0;
	put(t, "%s", log.s);
	free(log.s);
	if (e->unwrap != NULL) {
		check_name(e->unwrap);
		if ((unsigned)e->conv > LT_UNWRAP_BYTES)
			abort();
		if (e->conv == LT_UNWRAP_NUMBER)
			put(t, " | unwrap %s", e->unwrap);
		else
			put(t, " | unwrap %s(%s)", convs[e->conv], e->unwrap);
	}
	if (e->unwrap_filter != NULL) {
		put(t, " | ");
		if (put_filter(t, e->unwrap_filter) > LT_LOGQL_MAX_DEPTH)
			abort();
	}
	/* Prometheus' durations: whole milliseconds at least.  Past 2^52
	 * nanoseconds the seconds the lexer reads lose some. */
	if (e->range_ns < 0 || e->range_ns % 1000000 != 0)
		abort();
	if (e->range_ns >= 4503599627370496LL ||
	    e->offset_ns >= 4503599627370496LL ||
	    e->offset_ns <= -4503599627370496LL)
		t->exact = 0;
	put(t, " [%lldms]", (long long)(e->range_ns / 1000000));
	if (e->offset_ns != 0)
		put(t, " offset %lldns", (long long)e->offset_ns);
	put(t, ")");
	put_grouping(t, &e->grouping);
}

static size_t
put_binary(struct text *t, const struct lt_expr *e)
{
	const struct lt_vector_match *m = &e->match;
	size_t dl, dr;

	if ((unsigned)e->binary_op > LT_BIN_POW || e->left == NULL ||
	    e->right == NULL || (e->left->kind == LT_EXPR_NUMBER &&
				 e->right->kind == LT_EXPR_NUMBER))
		abort();
	put(t, "(");
	dl = put_expr(t, e->left);
	put(t, " %s%s", binary_names[e->binary_op],
	    e->return_bool ? " bool" : "");
	if (m->present) {
		put(t, " %s", m->on ? "on" : "ignoring");
		put_names(t, m->labels, m->n_labels);
		if (m->card != LT_CARD_ONE_TO_ONE) {
			put(t, " %s", m->card == LT_CARD_GROUP_LEFT ?
			    "group_left" : "group_right");
			put_names(t, m->include, m->n_include);
		}
	} else if (m->n_labels != 0 || m->card != LT_CARD_ONE_TO_ONE)
		abort();
	if (m->card == LT_CARD_ONE_TO_ONE && m->n_include != 0)
		abort();
	put(t, " ");
	dr = put_expr(t, e->right);
	put(t, ")");
	return 1 + (dl > dr ? dl : dr);
}

/* Writes e; returns its height. */
static size_t
put_expr(struct text *t, const struct lt_expr *e)
{
	size_t d;

	if (e == NULL)
		abort();
	switch (e->kind) {
	case LT_EXPR_RANGE:
		put_range(t, e);
		return 1;
	case LT_EXPR_VECTOR_AGG:
		if ((unsigned)e->vector_op > LT_VEC_SORT_DESC || e->right != NULL)
			abort();
		put(t, "%s", vector_names[e->vector_op]);
		put_grouping(t, &e->grouping);
		put(t, " (");
		if (e->vector_op == LT_VEC_TOPK || e->vector_op == LT_VEC_BOTTOMK) {
			if (!(e->param >= 1) || e->param != floor(e->param))
				abort();
			put(t, "%.0f, ", e->param);
		}
		d = put_expr(t, e->left);
		put(t, ")");
		return d + 1;
	case LT_EXPR_BINARY:
		return put_binary(t, e);
	case LT_EXPR_NUMBER:
		if (e->left != NULL || e->right != NULL)
			abort();
		if (!isfinite(e->param))
			t->exact = 0;
		/* "- 0": "-0" is a duration. */
		put(t, "(%s%.17g)", signbit(e->param) ? "- " : "",
		    fabs(e->param));
		return 1;
	case LT_EXPR_VECTOR:
		if (!(e->param >= 0) || isinf(e->param))
			abort();
		put(t, "vector(%.17g)", e->param);
		return 1;
	case LT_EXPR_LABEL_REPLACE:
		put(t, "label_replace(");
		d = put_expr(t, e->left);
		put(t, ", ");
		put_quoted(t, e->dst);
		put(t, ", ");
		put_quoted(t, e->replacement);
		put(t, ", ");
		put_quoted(t, e->src);
		put(t, ", ");
		put_quoted(t, e->regex);
		put(t, ")");
		return d + 1;
	}
	abort();
}

static void
round_trip_metric(const struct lt_expr *e)
{
	struct text a = { NULL, 0, 0, 1 }, b = { NULL, 0, 0, 1 };
	struct lt_query_ast again;
	char why[512];

	if (put_expr(&a, e) > LT_LOGQL_MAX_DEPTH)
		abort();
	if (!a.exact || a.len > LT_LOGQL_MAX_LEN)
		goto done;
	if (lt_logql_parse_query(a.s, a.len, &again, why, sizeof(why)) != 0) {
		/* Parentheses everywhere nest deeper than the input did. */
		if (strstr(why, "LT_LOGQL_MAX_DEPTH") != NULL)
			goto done;
		(void)fprintf(stderr, "written back: %s\nrefused: %s\n", a.s, why);
		abort();
	}
	if (again.metric == NULL)
		abort();
	b.exact = 1;
	(void)put_expr(&b, again.metric);
	if (a.len != b.len || memcmp(a.s, b.s, a.len) != 0) {
		(void)fprintf(stderr, "written back: %s\nthen: %s\n", a.s, b.s);
		abort();
	}
	lt_query_ast_free(&again);
done:
	free(a.s);
	free(b.s);
}

/* lt_logql_parse_query() against lt_logql_parse()'s q. */
static void
check_query(const char *text, size_t size, const struct lt_logql *q)
{
	struct text a = { NULL, 0, 0, 1 }, b = { NULL, 0, 0, 1 };
	struct lt_query_ast ast;
	char why[512];

	why[0] = '\0';
	if (lt_logql_parse_query(text, size, &ast, why, sizeof(why)) != 0) {
		check_why(why);
		if (ast.log != NULL || ast.metric != NULL || q != NULL)
			abort();
		return;
	}
	if ((ast.log == NULL) == (ast.metric == NULL))
		abort();
	if (ast.log != NULL) {
		if (q == NULL)
			abort();
		put_query(&a, q);
		put_query(&b, ast.log);
		if (a.len != b.len || memcmp(a.s, b.s, a.len) != 0)
			abort();
		free(a.s);
		free(b.s);
	} else {
		if (q != NULL)
			abort();
		round_trip_metric(ast.metric);
	}
	lt_query_ast_free(&ast);
}

static void
check_values(const uint8_t *data, size_t size)
{
	char s[32];
	double v;
	size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;

	memcpy(s, data, n);
	s[n] = '\0';
	if (lt_go_duration(s, &v) == 0 && !isfinite(v))
		abort();
	if (lt_go_bytes(s, &v) == 0 && (!(v >= 0) || !isfinite(v)))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct lt_logql *q, *sel;
	char why[512], why2[512];

	why[0] = why2[0] = '\0';
	q = lt_logql_parse(text, size, why, sizeof(why));
	sel = lt_logql_parse_selector(text, size, why2, sizeof(why2));
	if (q == NULL) {
		check_why(why);
		/* The selector parse fails the same way. */
		if (sel != NULL || strcmp(why, why2) != 0)
			abort();
	} else {
		round_trip(q);
		if ((sel != NULL) != (q->n_stages == 0))
			abort();
		if (sel == NULL)
			check_why(why2);
	}
	check_query(text, size, q);
	lt_logql_free(sel);
	lt_logql_free(q);
	check_values(data, size);
	return 0;
}
