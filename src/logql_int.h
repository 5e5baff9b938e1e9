/* Inside the LogQL parser: the lexer and the parts of the log query
 * parser that the metric query parser builds on.  Shared by logql.c
 * (lexer, log queries) and logql_metric.c (metric queries). */
#ifndef LOGTHRA_LOGQL_INT_H
#define LOGTHRA_LOGQL_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <stddef.h>

#include "logql.h"

enum tok {
	T_EOF,
	T_IDENT,
	T_BAD,       /* what Loki reads as IDENTIFIER but no rule takes */
	T_STRING,
	T_NUMBER,
	T_DURATION,
	T_BYTES,
	T_RANGE,
	T_FLAG,
	T_FUNC,      /* rate(, sum by (, ip(: metric queries, ip() */
	T_LBRACE, T_RBRACE, T_LPAREN, T_RPAREN, T_RBRACKET, T_COMMA, T_DOT,
	T_EQ, T_NEQ, T_RE, T_NRE, T_CMP_EQ, T_GT, T_GE, T_LT, T_LE,
	T_PIPE, T_PIPE_EXACT, T_PIPE_MATCH, T_PIPE_PATTERN, T_NPA,
	T_ADD, T_SUB, T_MUL, T_DIV, T_MOD, T_POW,
	T_OR, T_AND,
	T_JSON, T_LOGFMT, T_REGEXP, T_PATTERN, T_UNPACK, T_LINE_FMT,
	T_LABEL_FMT, T_DECOLORIZE, T_DROP, T_KEEP,
	T_KEYWORD,   /* by, unwrap, offset...: not in log queries */
};

struct token {
	enum tok kind;
	size_t start, end;   /* bytes of the text */
	char *str;           /* T_STRING: the unquoted value, owned */
	size_t str_len;
	double num;          /* NUMBER; DURATION and RANGE in seconds; BYTES */
	const char *name;    /* T_FUNC, T_KEYWORD: the yacc name */
};

struct parser {
	const char *text;
	size_t len;
	size_t pos;          /* the lexer's next byte */
	struct token tok;    /* the look-ahead */
	char *why;
	size_t whylen;
	int failed;
	/* Inside a log range, a pipeline stops at `| unwrap`, the "|"
	 * read and at_unwrap set, the look-ahead the unwrap. */
	int in_range, at_unwrap;
	/* The metric parser: calls under way, and the height of the tree
	 * it built last. */
	int nest;
	size_t height;
};

/* Messages: the first one sticks (p->failed). */
void lq_say(struct parser *, const char *, ...)
	__attribute__((format(printf, 2, 3)));
void lq_fail_at(struct parser *, size_t, const char *, ...)
	__attribute__((format(printf, 3, 4)));
void lq_oom(struct parser *);
void lq_unexpected(struct parser *, const char *expecting);
const char *lq_tok_name(const struct token *);

/* The lexer: lq_next() reads the next token into p->tok. */
int lq_next(struct parser *);
int lq_expect(struct parser *, enum tok, const char *expecting);
char *lq_take_str(struct parser *);
char *lq_tok_text_dup(struct parser *);
void *lq_append(struct parser *, void **arr, size_t *n, size_t size);

/* Regexes as Go reads them; text shown in a message. */
pcre2_code *lq_re_compile(const char *re, int anchored, char *err,
			  size_t errlen);
#define LQ_SHOWN 200
void lq_show_text(const char *s, size_t len, int quoted, char *buf,
		  size_t buflen);

/* Parts of a log query. */
int lq_parse_selector(struct parser *, struct lt_logql *);
int lq_parse_pipeline(struct parser *, struct lt_logql *);
struct lt_label_filter *lq_filter_expr(struct parser *, int min_prec,
				       int nest, size_t *depth);
void lq_free_filter(struct lt_label_filter *);
int lq_check_selective(struct parser *, const struct lt_logql *);

#endif
