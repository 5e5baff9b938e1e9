/* Inside the template engine: the values an execution passes between
 * functions, the execution state, and the functions' table.  Shared by
 * template.c (parse, execute), template_fn.c (the functions) and
 * template_fmt.c (Go's printing of values, printf, times). */
#ifndef LOGTHRA_TEMPLATE_INT_H
#define LOGTHRA_TEMPLATE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "template.h"

/* A value's Go type: the messages name it ("expected string; got
 * int64"), and Go's int and int64 are distinct types to its checks. */
enum tv_kind {
	TV_NONE,	/* no value: nothing piped in */
	TV_MAP,		/* the labels, "." outside with */
	TV_STR,
	TV_INT,		/* Go's int */
	TV_INT64,
	TV_FLOAT,
	TV_BOOL,
	TV_TIME
};

struct tv {
	enum tv_kind k;
	const char *s;	/* TV_STR */
	size_t n;
	int64_t i;	/* ints; bools as 0/1; times: seconds since 1970 */
	double f;	/* TV_FLOAT */
	int32_t ns;	/* TV_TIME: nanoseconds within the second */
};

/* Go's zero time.Time, 0001-01-01 00:00:00 UTC, in Unix seconds. */
#define TV_ZERO_TIME_SEC (-62135596800LL)

struct tx;

/* What a function's parameter accepts, as Go's reflect checks it. */
enum tp {
	TP_NONE,
	TP_STR,
	TP_INT,
	TP_FLOAT,
	TP_TIME,
	TP_ANY
};

#define TFN_MAX_FIXED 4

struct tfn {
	const char *name;
	int (*call)(struct tx *x, struct tv *a, int n, struct tv *res);
	int nfixed;
	enum tp fixed[TFN_MAX_FIXED];
	enum tp variadic;	/* TP_NONE: no variadic part */
	int regex_arg;		/* 1: the first argument is a regex */
};

extern const struct tfn lt_tmpl_fns[];
/* The index of name in lt_tmpl_fns, or -1. */
int lt_tmpl_fn_find(const char *name, size_t len);
/* Index of and/or: they evaluate their arguments lazily. */
int lt_tmpl_fn_is_and(int fn);
int lt_tmpl_fn_is_or(int fn);

/* Execution state. */
struct tx {
	const struct lt_tmpl *t;
	const struct lt_tmpl_entry *e;
	struct scratch *scratch;	/* strings made while executing */
	size_t scratch_used;
	size_t scratch_max;
	const void *re;			/* a compiled regex the template keeps */
	int failed;			/* a function has set msg */
	char msg[512];			/* a function's error, before context */
};

/* Room for n bytes that live until the execution ends; NULL (and the
 * error set) when the execution's memory bound is reached. */
char *lt_tx_alloc(struct tx *x, size_t n);
/* res becomes a string holding b's bytes; b is reset.  -1 on memory. */
int lt_tx_keep(struct tx *x, struct lt_buf *b, struct tv *res);
/* A function's failure: sets msg, returns -1. */
int lt_tx_fail(struct tx *x, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Go's truth: false, 0, "" are false; times and the labels are true. */
int lt_tv_truth(const struct tv *v);
/* Go's type names: "string", "int", "int64", "float64", ... */
const char *lt_tv_type(const struct tv *v);

/* Appends v as Go's fmt.Print does.  -1 on memory, or an unprintable
 * value (msg set). */
int lt_tv_print(struct tx *x, const struct tv *v, struct lt_buf *out);
/* Go's %v of a float64: the shortest digits that read back the same,
 * with an exponent below 1e-4 and from 1e6 on (strconv's %g). */
int lt_fmt_float_v(struct lt_buf *out, double f);
/* fmt.Sprintf. */
int lt_fmt_printf(struct tx *x, const char *fmt, size_t fmtlen,
		  const struct tv *a, int n, struct lt_buf *out);
/* strconv.Quote. */
int lt_fmt_quote(struct lt_buf *out, const char *s, size_t n);

/* time.Time.Format in UTC. */
int lt_time_format(struct lt_buf *out, const char *layout, size_t llen,
		   int64_t sec, int32_t ns);
/* time.Parse in UTC: 0, or -1 when value does not fit the layout. */
int lt_time_parse(const char *layout, size_t llen, const char *value,
		  size_t vlen, int64_t *sec, int32_t *ns);

/* How patterns compile: Go's regexps are UTF-8, $ is the end of the
 * text only, and \C (one byte of a rune) does not exist.  Where it is
 * used, pcre2.h is included. */
#define LT_TMPL_RE_OPTIONS (PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | \
			    PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C)
/* The template's pcre2_match_context (match limits). */
const void *lt_tmpl_match_context(const struct tx *x);

#endif
