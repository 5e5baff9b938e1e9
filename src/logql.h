/* LogQL log queries: the syntax tree logthra-query works from, and its
 * parser.  A log query is a stream selector and a pipeline of stages:
 *
 *   {app="api", env=~"prod|stage"} |= "error" or "fatal" | json
 *       | status >= 500 and duration > 1s | line_format "{{.msg}}"
 *
 * The grammar and the error texts follow Loki's (pkg/logql/syntax);
 * logthra-query(1), LOGQL, lists what is accepted.  Metric queries are
 * not parsed here (yet): lt_logql_parse() refuses them with Loki's
 * message for an unexpected token.
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

#endif
