/* Fuzz target: the LogQL log query parser.
 *
 * Every input is parsed as a query and as a selector.  A refusal must
 * say why in one line; a tree must hold what logql.h promises: label
 * names of [a-zA-Z_][a-zA-Z0-9_]*, strings present, label filters no
 * deeper than LT_LOGQL_MAX_DEPTH.  A tree is then written back as
 * LogQL, every label filter in parentheses and every string with Go
 * escapes, and parsed again: writing that tree must give the same text.
 * The first bytes are also read as a Go duration and a size. */
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
	lt_logql_free(sel);
	lt_logql_free(q);
	check_values(data, size);
	return 0;
}
