/* LogQL log queries: the syntax tree logthra-query works from, and its
 * parser.  A log query is a stream selector and a pipeline of stages:
 *
 *   {app="api", env=~"prod|stage"} |= "error" or "fatal" | json
 *       | status >= 500 and duration > 1s | line_format "{{.msg}}"
 *
 * The grammar and the error texts follow Loki's (pkg/logql/syntax);
 * logthra-query(1), LOGQL, lists what is accepted.  lt_logql_parse()
 * takes log queries only; lt_logql_parse_query() takes a log query or a
 * metric query (range and vector aggregations, binary operators, ...),
 * whose tree is struct lt_expr below.
 *
 * Every string in the tree is its own NUL-terminated, unescaped copy,
 * owned by the tree and freed with lt_logql_free(). */
#ifndef LOGTHRA_LOGQL_H
#define LOGTHRA_LOGQL_H

#include <stddef.h>
#include <stdint.h>

/* The comparison of a label matcher: =, !=, =~, !~. */
enum lt_match_op {
	LT_MATCH_EQ,
	LT_MATCH_NE,
	LT_MATCH_RE,
	LT_MATCH_NRE,
};

/* name OP "value".  A regex is anchored at both ends, as Loki's are. */
struct lt_matcher {
	char *name;
	char *value;
	enum lt_match_op op;
};

/* A line filter: |= "a" or "b", != "a", |~ "re", !~ "re".  Alternatives
 * joined by `or` are values[1..]; the filter keeps a line when any of
 * them matches (for |= and |~), drops it when any matches (!= and !~).
 * A regex here is not anchored.  Loki's ip("...") filter is not
 * supported. */
enum lt_line_op {
	LT_LINE_CONTAINS,      /* |= */
	LT_LINE_NOT_CONTAINS,  /* != */
	LT_LINE_MATCH,         /* |~ */
	LT_LINE_NOT_MATCH,     /* !~ */
};

struct lt_line_filter {
	enum lt_line_op op;
	char **values;
	size_t n_values;
};

/* A comparison of a label filter against a number, a duration or a size. */
enum lt_cmp_op {
	LT_CMP_EQ,  /* == or = */
	LT_CMP_NE,  /* != */
	LT_CMP_GT,
	LT_CMP_GE,
	LT_CMP_LT,
	LT_CMP_LE,
};

/* A label filter expression: | status >= 500 and (level="error" or
 * level="fatal"), duration > 1s, size < 20KB.  `,` and a space between
 * two filters mean `and`. */
enum lt_label_filter_kind {
	LT_LF_AND,       /* left and right */
	LT_LF_OR,        /* left or right */
	LT_LF_STRING,    /* matcher: name =|!=|=~|!~ "string" */
	LT_LF_NUMBER,    /* name cmp number: the label read as a float */
	LT_LF_DURATION,  /* name cmp 1m30s: the label read as a Go duration */
	LT_LF_BYTES,     /* name cmp 20KB: the label read as a size */
};

struct lt_label_filter {
	enum lt_label_filter_kind kind;
	struct lt_label_filter *left, *right;  /* LT_LF_AND, LT_LF_OR */
	struct lt_matcher matcher;             /* LT_LF_STRING */
	char *name;                            /* NUMBER, DURATION, BYTES */
	enum lt_cmp_op cmp;
	double number;   /* NUMBER: the value; DURATION: seconds; BYTES: bytes */
};

/* One `name=expression` of json (expression: a JSON path such as
 * "a.b[0]" or `a["b c"]`), of logfmt (expression: a key), or of
 * label_format (expression: a label name or, when is_template, a
 * template); also a drop/keep item (expression NULL, or a matcher value
 * with op). */
struct lt_named {
	char *name;
	char *expression;     /* may be NULL: bare name */
	int is_template;      /* label_format dst="{{...}}" */
	enum lt_match_op op;  /* drop/keep name="value" (expression = value) */
};

enum lt_stage_kind {
	LT_STAGE_LINE_FILTER,
	LT_STAGE_JSON,        /* | json, | json a="x.y", b */
	LT_STAGE_LOGFMT,      /* | logfmt [--strict] [--keep-empty] [a="k", ...] */
	LT_STAGE_REGEXP,      /* | regexp "(?P<name>re)" */
	LT_STAGE_PATTERN,     /* | pattern "<ip> - <_> <status>" */
	LT_STAGE_UNPACK,      /* | unpack */
	LT_STAGE_LABEL_FILTER,
	LT_STAGE_LINE_FORMAT, /* | line_format "{{.a}}" */
	LT_STAGE_LABEL_FORMAT,/* | label_format a=b, c="{{.d}}" */
	LT_STAGE_DROP,        /* | drop a, b="x" */
	LT_STAGE_KEEP,        /* | keep a, b="x" */
	LT_STAGE_DECOLORIZE,  /* | decolorize */
};

struct lt_stage {
	enum lt_stage_kind kind;
	struct lt_line_filter line;       /* LINE_FILTER */
	struct lt_label_filter *filter;   /* LABEL_FILTER */
	char *text;       /* REGEXP, PATTERN: the expression; LINE_FORMAT: the template */
	struct lt_named *params;          /* JSON, LOGFMT, LABEL_FORMAT, DROP, KEEP */
	size_t n_params;
	int logfmt_strict, logfmt_keep_empty;
};

struct lt_logql {
	struct lt_matcher *matchers;  /* the stream selector, in the order written */
	size_t n_matchers;
	struct lt_stage *stages;      /* the pipeline, in order */
	size_t n_stages;
};

/* Parses a log query.  Returns the tree, or NULL with why set to Loki's
 * kind of message, "parse error at line 1, col 13: syntax error:
 * unexpected $end", or for a query no stream could match, "queries
 * require at least one regexp or equality matcher that does not have an
 * empty-compatible value. For instance, app=~\".*\" does not meet this
 * requirement, but app=~\".+\" will".  Also NULL (why "out of memory")
 * when memory runs out.  Nesting and length are bounded: a query over
 * LT_LOGQL_MAX_LEN bytes, or label filters nested deeper than
 * LT_LOGQL_MAX_DEPTH, are refused with a message naming the limit. */
#define LT_LOGQL_MAX_LEN   65536
#define LT_LOGQL_MAX_DEPTH 64
struct lt_logql *lt_logql_parse(const char *text, size_t len, char *why,
				size_t whylen);
void lt_logql_free(struct lt_logql *q);

/* Parses a stream selector alone ({app="api"}), as the match[] of
 * /series and the query of /label/NAME/values take it.  Same errors. */
struct lt_logql *lt_logql_parse_selector(const char *text, size_t len,
					 char *why, size_t whylen);

/* Whether a value matches a matcher (a regex anchored at both ends, RE2
 * syntax through PCRE2); an absent label matches as "".  Returns 1, 0,
 * or -1 when the regex does not compile or exceeds its match limit. */
int lt_matcher_matches(const struct lt_matcher *m, const char *value, size_t len);

/* Parses a Go duration ("1h30m", "500ms", "1.5s", "-2m"; units ns us µs
 * ms s m h) into seconds; returns 0 or -1.  Parses a size ("20KB",
 * "1.5MiB", "42", units B kB KB KiB MB MiB GB GiB TB TiB, as Loki's
 * humanize) into bytes; returns 0 or -1. */
int lt_go_duration(const char *s, double *seconds);
int lt_go_bytes(const char *s, double *bytes);

/* --- Metric queries ----------------------------------------------------

 *   sum by (level) (count_over_time({app="api"} |= "error" [5m]))
 *   quantile_over_time(0.99, {app="api"} | json | unwrap duration(took)
 *       | __error__="" [1m] offset 1h) by (route)
 *   topk(3, rate({env="prod"}[1m])) / on (app) group_left sum by (app) (...)
 *   vector(1) + vector(1)
 */

/* Range aggregations: op(log range) */
enum lt_range_op {
	LT_RANGE_COUNT,        /* count_over_time */
	LT_RANGE_RATE,         /* rate: entries per second, or unwrapped sum per second */
	LT_RANGE_BYTES,        /* bytes_over_time */
	LT_RANGE_BYTES_RATE,   /* bytes_rate */
	LT_RANGE_ABSENT,       /* absent_over_time */
	/* over unwrapped values only */
	LT_RANGE_SUM,          /* sum_over_time */
	LT_RANGE_AVG,
	LT_RANGE_MIN,
	LT_RANGE_MAX,
	LT_RANGE_FIRST,
	LT_RANGE_LAST,
	LT_RANGE_STDDEV,
	LT_RANGE_STDVAR,
	LT_RANGE_QUANTILE,     /* quantile_over_time(phi, ...): param */
	LT_RANGE_RATE_COUNTER, /* rate_counter */
};

/* How an unwrapped label's value becomes a number. */
enum lt_unwrap_conv {
	LT_UNWRAP_NUMBER,           /* | unwrap x: a float */
	LT_UNWRAP_DURATION,         /* | unwrap duration(x) or duration_seconds(x): seconds */
	LT_UNWRAP_BYTES,            /* | unwrap bytes(x): bytes */
};

enum lt_vector_op {
	LT_VEC_SUM,
	LT_VEC_AVG,
	LT_VEC_MIN,
	LT_VEC_MAX,
	LT_VEC_COUNT,
	LT_VEC_STDDEV,
	LT_VEC_STDVAR,
	LT_VEC_TOPK,           /* param: k */
	LT_VEC_BOTTOMK,        /* param: k */
	LT_VEC_SORT,
	LT_VEC_SORT_DESC,
};

enum lt_binary_op {
	LT_BIN_OR,             /* lowest precedence */
	LT_BIN_AND,
	LT_BIN_UNLESS,
	LT_BIN_EQ,             /* == */
	LT_BIN_NE,
	LT_BIN_GT,
	LT_BIN_GE,
	LT_BIN_LT,
	LT_BIN_LE,
	LT_BIN_ADD,
	LT_BIN_SUB,
	LT_BIN_MUL,
	LT_BIN_DIV,
	LT_BIN_MOD,
	LT_BIN_POW,            /* highest, right associative */
};

/* by (a, b) or without (a, b); present 0 when neither was written
 * (sum(x) aggregates everything into one series, as sum by () does). */
struct lt_grouping {
	int present;
	int without;
	char **labels;
	size_t n_labels;
};

/* A binary operator's vector matching: on (a) / ignoring (a), then
 * group_left (b) / group_right (b).  present 0: neither was written
 * (match on all labels, one to one). */
enum lt_card {
	LT_CARD_ONE_TO_ONE,
	LT_CARD_GROUP_LEFT,    /* many left series to one right */
	LT_CARD_GROUP_RIGHT,
};

struct lt_vector_match {
	int present;
	int on;                /* on(...) rather than ignoring(...) */
	char **labels;
	size_t n_labels;
	enum lt_card card;
	char **include;        /* the labels of group_left(...) / group_right(...) */
	size_t n_include;
};

enum lt_expr_kind {
	LT_EXPR_RANGE,         /* a range aggregation */
	LT_EXPR_VECTOR_AGG,    /* a vector aggregation of left */
	LT_EXPR_BINARY,        /* left op right */
	LT_EXPR_NUMBER,        /* a scalar: param (an optional unary - folded in) */
	LT_EXPR_VECTOR,        /* vector(param): one series, no labels */
	LT_EXPR_LABEL_REPLACE, /* label_replace(left, dst, replacement, src, regex) */
};

struct lt_expr {
	enum lt_expr_kind kind;

	/* LT_EXPR_RANGE: the log query (selector and stages before any
	 * unwrap), the unwrapped label (NULL: none) and its conversion, the
	 * label filters written after the unwrap (NULL: none), the range
	 * [r] and offset. */
	enum lt_range_op range_op;
	struct lt_logql *log;
	char *unwrap;
	enum lt_unwrap_conv conv;
	struct lt_label_filter *unwrap_filter;
	int64_t range_ns;
	int64_t offset_ns;

	/* LT_RANGE_QUANTILE's phi, topk/bottomk's k, a NUMBER's or VECTOR's
	 * value. */
	double param;

	/* LT_EXPR_RANGE (the unwrapped ops, whose samples are grouped
	 * before they are aggregated) and LT_EXPR_VECTOR_AGG. */
	struct lt_grouping grouping;

	enum lt_vector_op vector_op;

	/* LT_EXPR_VECTOR_AGG and LT_EXPR_LABEL_REPLACE: left is the operand. */
	struct lt_expr *left, *right;
	enum lt_binary_op binary_op;
	int return_bool;                  /* == bool, > bool, ... */
	struct lt_vector_match match;

	/* LT_EXPR_LABEL_REPLACE (regex: RE2, anchored at both ends) */
	char *dst, *replacement, *src, *regex;
};

/* A query as a client sends it: a log query or a metric query, exactly
 * one of the two set. */
struct lt_query_ast {
	struct lt_logql *log;
	struct lt_expr *metric;
};

/* Parses either kind.  Returns 0, or -1 with why as lt_logql_parse()
 * gives it (Loki's texts: "parse error at line 1, col 24: syntax error:
 * unexpected ...", "parse error : invalid aggregation sum_over_time
 * without unwrap", "parse error : invalid aggregation count_over_time
 * with unwrap", ...).  A log query is lt_logql_parse()'s tree.  Two
 * scalars under an operator are folded into one, as Loki does (1 + 2 is
 * the NUMBER 3, 1 > 2 is 0).  lt_query_ast_free() frees what a holds,
 * not a itself. */
int lt_logql_parse_query(const char *text, size_t len, struct lt_query_ast *out,
			 char *why, size_t whylen);
void lt_query_ast_free(struct lt_query_ast *a);
void lt_expr_free(struct lt_expr *e);

#endif
