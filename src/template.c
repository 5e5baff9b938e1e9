/* The Go text/template subset of line_format and label_format: a lexer
 * and parser after Go's text/template/parse (same tokens, same
 * messages), and an executor after text/template's exec.go.  The tree
 * is an array of nodes linked by index, so freeing is one free() and
 * the node bound is a count.  Functions are in template_fn.c, Go's
 * printing in template_fmt.c. */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <errno.h>
#include <math.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labels.h"
#include "template.h"
#include "template_int.h"

/* The executing template's name in messages: Loki's line_format names
 * its template "line". */
#define TMPL_NAME "line"
/* Parentheses and if/with nest at most this deep: the parser and the
 * executor recurse. */
#define MAX_DEPTH 100
/* Strings an execution makes may take this many times max_out. */
#define SCRATCH_FACTOR 8
#define SCRATCH_MIN (1u << 20)
#define SCRATCH_CHUNK (64u << 10)
/* Regex work for one match: beyond it a pattern is catastrophic. */
#define RE_MATCH_LIMIT 200000
#define RE_DEPTH_LIMIT 10000

enum ntype {
	N_LIST, N_TEXT, N_ACTION, N_IF, N_WITH, N_PIPE, N_CMD,
	N_FIELD, N_DOT, N_STRING, N_NUMBER, N_BOOL, N_FUNC
};

struct node {
	enum ntype type;
	int first;		/* children: list items, commands, operands;
				 * if/with: the pipeline */
	int next;		/* next sibling */
	int list, elselist;	/* if/with bodies; -1 when absent */
	size_t pos, end;	/* source text, for messages */
	size_t off, len;	/* text, string or field chain in pool */
	int isint, isfloat, ideal_float;
	int64_t i;
	double f;
	int fn;			/* N_FUNC */
	pcre2_code *re;		/* N_CMD: a literal regex, compiled once */
};

struct lt_tmpl {
	struct node *nodes;
	int nnodes;
	int cap;
	int root;
	struct lt_buf pool;
	char *src;
	size_t srclen;
	pcre2_match_context *mctx;
};

/* ---- lexer ---- */

enum tok {
	T_EOF, T_RDELIM, T_SPACE, T_PIPE, T_LPAREN, T_RPAREN, T_STRING,
	T_RAW, T_CHAR, T_NUMBER, T_FIELD, T_DOT, T_IDENT, T_BOOL, T_NIL,
	T_KEYWORD, T_VARIABLE, T_ASSIGN, T_DECLARE, T_OTHER
};

struct token {
	enum tok type;
	size_t pos, len;
};

struct ps {
	struct lt_tmpl *t;
	const char *s;
	size_t n;
	size_t pos;
	int paren;
	int depth;
	int trim_text;		/* the last action ended with -}} */
	struct token peeked;
	int has_peek;
	char *why;
	size_t whylen;
	int failed;
};

/* Messages are one line: the template's own bytes quoted in them may
 * hold newlines and other control characters. */
static void
one_line(char *why)
{
	for (; *why != '\0'; why++)
		if ((unsigned char)*why < 0x20 || *why == 0x7f)
			*why = ' ';
}

static int perr(struct ps *, size_t, const char *, ...)
	__attribute__((format(printf, 3, 4)));

static int
line_of(const char *s, size_t pos)
{
	int line = 1;
	size_t i;

	for (i = 0; i < pos; i++)
		if (s[i] == '\n')
			line++;
	return line;
}

/* "template: line:3: message", Go's parse error. */
static int
perr(struct ps *p, size_t at, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (p->failed)
		return -1;
	p->failed = 1;
	if (p->why == NULL || p->whylen == 0)
		return -1;
	k = snprintf(p->why, p->whylen, "template: %s:%d: ", TMPL_NAME,
		     line_of(p->s, at > p->n ? p->n : at));
	if (k < 0 || (size_t)k >= p->whylen)
		return -1;
	va_start(ap, fmt);
	(void)vsnprintf(p->why + k, p->whylen - (size_t)k, fmt, ap);
	va_end(ap);
	one_line(p->why);
	return -1;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
is_alnum(char c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || (unsigned char)c >= 0x80;
}

static int
at(const struct ps *p, size_t i, const char *w)
{
	size_t k = strlen(w);

	return i <= p->n && p->n - i >= k && memcmp(p->s + i, w, k) == 0;
}

/* At "}}" or " -}}"; *trim set for the latter. */
static int
at_right_delim(const struct ps *p, size_t i, int *trim)
{
	*trim = 0;
	if (i < p->n && is_space(p->s[i]) && at(p, i + 1, "-}}")) {
		*trim = 1;
		return 1;
	}
	return at(p, i, "}}");
}

static int
at_terminator(const struct ps *p, size_t i)
{
	int trim;
	char c;

	if (i >= p->n)
		return 1;
	c = p->s[i];
	if (is_space(c) || c == '.' || c == ',' || c == '|' || c == ':' ||
	    c == ')' || c == '(')
		return 1;
	return at_right_delim(p, i, &trim);
}

static int
bad_char(struct ps *p, size_t i)
{
	uint32_t r;

	(void)lt_utf8_next(p->s + i, p->n - i, &r);
	if (r >= 0x20 && r < 0x7f)
		return perr(p, i, "bad character U+%04X '%c'", (unsigned)r,
			    (char)r);
	return perr(p, i, "bad character U+%04X", (unsigned)r);
}

static int
lex_number(struct ps *p, struct token *t)
{
	const char *digits = "0123456789_";
	size_t i = p->pos;

	if (i < p->n && (p->s[i] == '+' || p->s[i] == '-'))
		i++;
	if (i < p->n && p->s[i] == '0') {
		i++;
		if (i < p->n && (p->s[i] == 'x' || p->s[i] == 'X')) {
			digits = "0123456789abcdefABCDEF_";
			i++;
		} else if (i < p->n && (p->s[i] == 'o' || p->s[i] == 'O')) {
			digits = "01234567_";
			i++;
		} else if (i < p->n && (p->s[i] == 'b' || p->s[i] == 'B')) {
			digits = "01_";
			i++;
		}
	}
	while (i < p->n && strchr(digits, p->s[i]) != NULL && p->s[i] != '\0')
		i++;
	if (i < p->n && p->s[i] == '.') {
		i++;
		while (i < p->n && strchr(digits, p->s[i]) != NULL &&
		       p->s[i] != '\0')
			i++;
	}
	if (strlen(digits) == 11 && i < p->n && (p->s[i] == 'e' || p->s[i] == 'E')) {
		i++;
		if (i < p->n && (p->s[i] == '+' || p->s[i] == '-'))
			i++;
		while (i < p->n && ((p->s[i] >= '0' && p->s[i] <= '9') ||
				    p->s[i] == '_'))
			i++;
	}
	if (strlen(digits) == 23 && i < p->n && (p->s[i] == 'p' || p->s[i] == 'P')) {
		i++;
		if (i < p->n && (p->s[i] == '+' || p->s[i] == '-'))
			i++;
		while (i < p->n && ((p->s[i] >= '0' && p->s[i] <= '9') ||
				    p->s[i] == '_'))
			i++;
	}
	if (i < p->n && is_alnum(p->s[i]))
		return perr(p, p->pos, "bad number syntax: \"%.*s\"",
			    (int)(i + 1 - p->pos), p->s + p->pos);
	t->type = T_NUMBER;
	t->len = i - p->pos;
	return 0;
}

static int
lex_quote(struct ps *p, struct token *t, char q)
{
	size_t i = p->pos + 1;

	for (;;) {
		if (i >= p->n || p->s[i] == '\n')
			return perr(p, p->pos, q == '"' ?
				    "unterminated quoted string" :
				    "unterminated character constant");
		if (p->s[i] == '\\') {
			if (i + 1 >= p->n || p->s[i + 1] == '\n')
				return perr(p, p->pos, q == '"' ?
					    "unterminated quoted string" :
					    "unterminated character constant");
			i += 2;
			continue;
		}
		if (p->s[i] == q)
			break;
		i++;
	}
	t->type = q == '"' ? T_STRING : T_CHAR;
	t->len = i + 1 - p->pos;
	return 0;
}

static int
keyword(const char *s, size_t n)
{
	static const char *const kw[] = {
		"block", "break", "continue", "define", "else", "end", "if",
		"range", "template", "with", NULL
	};
	int k;

	for (k = 0; kw[k] != NULL; k++)
		if (strlen(kw[k]) == n && memcmp(kw[k], s, n) == 0)
			return 1;
	return 0;
}

/* The next token inside an action. */
static int
lex(struct ps *p, struct token *t)
{
	size_t i;
	int trim;
	char c;

	if (p->has_peek) {
		*t = p->peeked;
		p->has_peek = 0;
		return 0;
	}
	t->pos = p->pos;
	t->len = 0;
	if (at_right_delim(p, p->pos, &trim)) {
		if (p->paren > 0)
			return perr(p, p->pos, "unclosed left paren");
		t->type = T_RDELIM;
		t->len = trim ? 4 : 2;
		p->trim_text = trim;
		p->pos += t->len;
		return 0;
	}
	if (p->pos >= p->n)
		return perr(p, p->pos, "unclosed action");
	c = p->s[p->pos];
	if (is_space(c)) {
		for (i = p->pos; i < p->n && is_space(p->s[i]); i++)
			if (at_right_delim(p, i, &trim) && trim)
				break;
		t->type = T_SPACE;
		if (i == p->pos) {
			/* The space of " -}}". */
			return lex(p, t);
		}
		t->len = i - p->pos;
	} else if (c == '|') {
		t->type = T_PIPE;
		t->len = 1;
	} else if (c == '(') {
		t->type = T_LPAREN;
		t->len = 1;
		p->paren++;
	} else if (c == ')') {
		if (--p->paren < 0)
			return perr(p, p->pos, "unexpected right paren");
		t->type = T_RPAREN;
		t->len = 1;
	} else if (c == '"' || c == '\'') {
		if (lex_quote(p, t, c) < 0)
			return -1;
	} else if (c == '`') {
		for (i = p->pos + 1; i < p->n && p->s[i] != '`'; i++)
			;
		if (i >= p->n)
			return perr(p, p->pos, "unterminated raw quoted string");
		t->type = T_RAW;
		t->len = i + 1 - p->pos;
	} else if (c == '=') {
		t->type = T_ASSIGN;
		t->len = 1;
	} else if (c == ':') {
		if (p->pos + 1 >= p->n || p->s[p->pos + 1] != '=')
			return perr(p, p->pos, "expected :=");
		t->type = T_DECLARE;
		t->len = 2;
	} else if (c == '$') {
		for (i = p->pos + 1; i < p->n && is_alnum(p->s[i]); i++)
			;
		t->type = T_VARIABLE;
		t->len = i - p->pos;
	} else if (c == '.' && !(p->pos + 1 < p->n && p->s[p->pos + 1] >= '0' &&
				 p->s[p->pos + 1] <= '9')) {
		for (i = p->pos + 1; i < p->n && is_alnum(p->s[i]); i++)
			;
		if (!at_terminator(p, i))
			return bad_char(p, i);
		t->type = i == p->pos + 1 ? T_DOT : T_FIELD;
		t->len = i - p->pos;
	} else if (c == '.' || c == '+' || c == '-' || (c >= '0' && c <= '9')) {
		if (lex_number(p, t) < 0)
			return -1;
	} else if (is_alnum(c)) {
		for (i = p->pos; i < p->n && is_alnum(p->s[i]); i++)
			;
		if (!at_terminator(p, i))
			return bad_char(p, i);
		t->len = i - p->pos;
		if ((t->len == 4 && memcmp(p->s + p->pos, "true", 4) == 0) ||
		    (t->len == 5 && memcmp(p->s + p->pos, "false", 5) == 0))
			t->type = T_BOOL;
		else if (t->len == 3 && memcmp(p->s + p->pos, "nil", 3) == 0)
			t->type = T_NIL;
		else if (keyword(p->s + p->pos, t->len))
			t->type = T_KEYWORD;
		else
			t->type = T_IDENT;
	} else if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f) {
		t->type = T_OTHER;
		t->len = 1;
	} else {
		uint32_t r;

		(void)lt_utf8_next(p->s + p->pos, p->n - p->pos, &r);
		return perr(p, p->pos, "unrecognized character in action: U+%04X",
			    (unsigned)r);
	}
	p->pos += t->len;
	return 0;
}

static int
lex_nonspace(struct ps *p, struct token *t)
{
	do {
		if (lex(p, t) < 0)
			return -1;
	} while (t->type == T_SPACE);
	return 0;
}

static void
unlex(struct ps *p, const struct token *t)
{
	p->peeked = *t;
	p->has_peek = 1;
}

/* Go's item.String() in "unexpected X in Y". */
static int
unexpected(struct ps *p, const struct token *t, const char *context)
{
	if (t->type == T_EOF)
		return perr(p, t->pos, "unexpected EOF in %s", context);
	if (t->type == T_RDELIM)
		return perr(p, t->pos, "unexpected \"}}\" in %s", context);
	if (t->type == T_KEYWORD)
		return perr(p, t->pos, "unexpected <%.*s> in %s", (int)t->len,
			    p->s + t->pos, context);
	if (t->len > 10)
		return perr(p, t->pos, "unexpected \"%.10s\"... in %s",
			    p->s + t->pos, context);
	return perr(p, t->pos, "unexpected \"%.*s\" in %s", (int)t->len,
		    p->s + t->pos, context);
}

/* ---- nodes ---- */

static int
new_node(struct ps *p, enum ntype type, size_t pos)
{
	struct lt_tmpl *t = p->t;
	struct node *nodes;
	int cap;

	if (t->nnodes >= LT_TMPL_MAX_NODES)
		return perr(p, pos, "template over %d nodes", LT_TMPL_MAX_NODES);
	if (t->nnodes == t->cap) {
		cap = t->cap ? t->cap * 2 : 32;
		nodes = realloc(t->nodes, (size_t)cap * sizeof(*nodes));
		if (nodes == NULL) {
			p->failed = 1;
			if (p->why != NULL && p->whylen > 0)
				(void)snprintf(p->why, p->whylen, "out of memory");
			return -1;
		}
		t->nodes = nodes;
		t->cap = cap;
	}
	memset(&t->nodes[t->nnodes], 0, sizeof(t->nodes[0]));
	t->nodes[t->nnodes].type = type;
	t->nodes[t->nnodes].first = -1;
	t->nodes[t->nnodes].next = -1;
	t->nodes[t->nnodes].list = -1;
	t->nodes[t->nnodes].elselist = -1;
	t->nodes[t->nnodes].pos = pos;
	t->nodes[t->nnodes].end = pos;
	return t->nnodes++;
}

/* Appends child to parent's children; *last tracks the tail. */
static void
add_child(struct ps *p, int parent, int *last, int child)
{
	if (*last < 0)
		p->t->nodes[parent].first = child;
	else
		p->t->nodes[*last].next = child;
	*last = child;
}

static int
pool_add(struct ps *p, const void *s, size_t n, size_t *off)
{
	*off = p->t->pool.len;
	if (lt_buf_append(&p->t->pool, s, n) < 0) {
		p->failed = 1;
		if (p->why != NULL && p->whylen > 0)
			(void)snprintf(p->why, p->whylen, "out of memory");
		return -1;
	}
	return 0;
}

static int
put_rune_buf(struct lt_buf *b, uint32_t cp)
{
	char o[4];

	return lt_buf_append(b, o, lt_utf8_put(o, cp));
}

/* strconv.Unquote of a "..." or '...' body s[0..n) into out; -1 when
 * it is not valid Go.  q is the quote. */
static int
unquote(const char *s, size_t n, char q, struct lt_buf *out)
{
	size_t i = 0, k, nd;
	uint32_t v;
	int d;

	while (i < n) {
		if (s[i] == q)
			return -1;
		if (s[i] != '\\') {
			if (lt_buf_append_byte(out, (unsigned char)s[i++]) < 0)
				return -2;
			continue;
		}
		if (i + 1 >= n)
			return -1;
		switch (s[i + 1]) {
		case 'a': v = '\a'; break;
		case 'b': v = '\b'; break;
		case 'f': v = '\f'; break;
		case 'n': v = '\n'; break;
		case 'r': v = '\r'; break;
		case 't': v = '\t'; break;
		case 'v': v = '\v'; break;
		case '\\': v = '\\'; break;
		case '"':
		case '\'':
			if (s[i + 1] != q)
				return -1;
			v = (uint32_t)q;
			break;
		case 'x':
		case 'u':
		case 'U':
			nd = s[i + 1] == 'x' ? 2 : s[i + 1] == 'u' ? 4 : 8;
			if (n - i - 2 < nd)
				return -1;
			v = 0;
			for (k = 0; k < nd; k++) {
				if ((d = lt_hex_digit(s[i + 2 + k])) < 0)
					return -1;
				v = v << 4 | (uint32_t)d;
			}
			if (s[i + 1] == 'x') {
				if (lt_buf_append_byte(out, (unsigned char)v) < 0)
					return -2;
				i += 4;
				continue;
			}
			if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
				return -1;
			if (put_rune_buf(out, v) < 0)
				return -2;
			i += 2 + nd;
			continue;
		default:
			if (s[i + 1] < '0' || s[i + 1] > '7' || n - i < 4)
				return -1;
			v = 0;
			for (k = 1; k <= 3; k++) {
				if (s[i + k] < '0' || s[i + k] > '7')
					return -1;
				v = v * 8 + (uint32_t)(s[i + k] - '0');
			}
			if (v > 255)
				return -1;
			if (lt_buf_append_byte(out, (unsigned char)v) < 0)
				return -2;
			i += 4;
			continue;
		}
		if (lt_buf_append_byte(out, (unsigned char)v) < 0)
			return -2;
		i += 2;
	}
	return 0;
}

static int
string_node(struct ps *p, const struct token *tk)
{
	struct lt_buf b = LT_BUF_INIT;
	const char *s = p->s + tk->pos + 1;
	size_t n = tk->len - 2, k;
	int id, rc = 0;

	if (tk->type == T_RAW) {
		/* Unquote drops carriage returns from raw strings. */
		for (k = 0; k < n && rc == 0; k++)
			if (s[k] != '\r')
				rc = lt_buf_append_byte(&b, (unsigned char)s[k]);
		rc = rc < 0 ? -2 : 0;
	} else
		rc = unquote(s, n, '"', &b);
	if (rc == -1) {
		lt_buf_free(&b);
		return perr(p, tk->pos, "invalid syntax");
	}
	if ((id = new_node(p, N_STRING, tk->pos)) < 0 || rc < 0 ||
	    pool_add(p, b.data, b.len, &p->t->nodes[id].off) < 0) {
		lt_buf_free(&b);
		if (rc < 0)
			(void)pool_add(p, "", 0, &k); /* sets out of memory */
		return -1;
	}
	p->t->nodes[id].len = b.len;
	p->t->nodes[id].end = tk->pos + tk->len;
	lt_buf_free(&b);
	return id;
}

/* Go's parse.NewNumber for the number text s[0..n). */
static int
parse_number(const char *s, size_t n, struct node *nd)
{
	char buf[128];
	char *end;
	long long ll;
	double f;
	int base = 10;
	size_t skip = 0, k;

	if (n == 0 || n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (memchr(buf, '_', n) != NULL)
		return -1;
	k = buf[0] == '+' || buf[0] == '-';
	if (buf[k] == '0' && (buf[k + 1] == 'x' || buf[k + 1] == 'X'))
		base = 16;
	else if (buf[k] == '0' && (buf[k + 1] == 'o' || buf[k + 1] == 'O'))
		base = 8, skip = 2;
	else if (buf[k] == '0' && (buf[k + 1] == 'b' || buf[k + 1] == 'B'))
		base = 2, skip = 2;
	else if (buf[k] == '0' && buf[k + 1] != '\0')
		base = 8;
	if (skip > 0)
		memmove(buf + k, buf + k + skip, n + 1 - k - skip);
	errno = 0;
	ll = strtoll(buf, &end, base);
	if (*end == '\0' && errno == 0 && end != buf) {
		nd->isint = nd->isfloat = 1;
		nd->i = ll;
		nd->f = (double)ll;
		return 0;
	}
	if (skip > 0)
		return -1;
	errno = 0;
	f = strtod(buf, &end);
	if (*end != '\0' || end == buf || isinf(f) || isnan(f))
		return -1;
	nd->isfloat = 1;
	nd->f = f;
	nd->ideal_float = base != 16 && strpbrk(buf, ".eEpP") != NULL;
	if (f == floor(f) && f >= -9.2e18 && f <= 9.2e18) {
		nd->isint = 1;
		nd->i = (int64_t)f;
	}
	return 0;
}

static int
number_node(struct ps *p, const struct token *tk)
{
	struct lt_buf b = LT_BUF_INIT;
	uint32_t r;
	int id;

	if ((id = new_node(p, N_NUMBER, tk->pos)) < 0)
		return -1;
	p->t->nodes[id].end = tk->pos + tk->len;
	if (tk->type == T_CHAR) {
		int rc = unquote(p->s + tk->pos + 1, tk->len - 2, '\'', &b);

		if (rc == 0 && b.len > 0 &&
		    lt_utf8_next((const char *)b.data, b.len, &r) == b.len) {
			struct node *nd = &p->t->nodes[id];

			nd->isint = nd->isfloat = 1;
			nd->i = r;
			nd->f = r;
			lt_buf_free(&b);
			return id;
		}
		lt_buf_free(&b);
		return perr(p, tk->pos, "malformed character constant: %.*s",
			    (int)tk->len, p->s + tk->pos);
	}
	if (parse_number(p->s + tk->pos, tk->len, &p->t->nodes[id]) < 0)
		return perr(p, tk->pos, "illegal number syntax: \"%.*s\"",
			    (int)tk->len, p->s + tk->pos);
	return id;
}

/* ---- parser ---- */

static int parse_pipeline(struct ps *p, const char *context, enum tok closer);
static int parse_list(struct ps *p, int *term, size_t *term_pos);

enum term { TERM_EOF, TERM_END, TERM_ELSE };

/* One operand: a term and, on a field, a chain of fields after it. */
static int
parse_operand(struct ps *p)
{
	struct token tk;
	int id = -1;

	if (lex_nonspace(p, &tk) < 0)
		return -1;
	switch (tk.type) {
	case T_IDENT:
		id = new_node(p, N_FUNC, tk.pos);
		if (id < 0)
			return -1;
		p->t->nodes[id].fn = lt_tmpl_fn_find(p->s + tk.pos, tk.len);
		if (p->t->nodes[id].fn < 0)
			return perr(p, tk.pos, "function \"%.*s\" not defined",
				    (int)tk.len, p->s + tk.pos);
		p->t->nodes[id].end = tk.pos + tk.len;
		break;
	case T_DOT:
		if ((id = new_node(p, N_DOT, tk.pos)) < 0)
			return -1;
		p->t->nodes[id].end = tk.pos + 1;
		break;
	case T_FIELD:
		if ((id = new_node(p, N_FIELD, tk.pos)) < 0)
			return -1;
		p->t->nodes[id].end = tk.pos + tk.len;
		break;
	case T_BOOL:
		if ((id = new_node(p, N_BOOL, tk.pos)) < 0)
			return -1;
		p->t->nodes[id].i = p->s[tk.pos] == 't';
		p->t->nodes[id].end = tk.pos + tk.len;
		break;
	case T_NUMBER:
	case T_CHAR:
		if ((id = number_node(p, &tk)) < 0)
			return -1;
		break;
	case T_STRING:
	case T_RAW:
		if ((id = string_node(p, &tk)) < 0)
			return -1;
		break;
	case T_LPAREN:
		if (++p->depth > MAX_DEPTH)
			return perr(p, tk.pos, "parentheses nested too deep");
		id = parse_pipeline(p, "parenthesized pipeline", T_RPAREN);
		p->depth--;
		if (id < 0)
			return -1;
		p->t->nodes[id].pos = tk.pos;
		p->t->nodes[id].end = p->pos;
		break;
	case T_NIL:
		return perr(p, tk.pos, "nil is not a command");
	case T_VARIABLE:
		return perr(p, tk.pos, "variables are not supported");
	default:
		unlex(p, &tk);
		return -2;	/* no operand here */
	}
	/* .a.b: a chain of fields. */
	if (lex(p, &tk) < 0)
		return -1;
	if (tk.type != T_FIELD) {
		unlex(p, &tk);
		return id;
	}
	if (p->t->nodes[id].type != N_FIELD)
		return perr(p, tk.pos, "unexpected . after term \"%.*s\"",
			    (int)(p->t->nodes[id].end - p->t->nodes[id].pos),
			    p->s + p->t->nodes[id].pos);
	while (tk.type == T_FIELD) {
		p->t->nodes[id].end = tk.pos + tk.len;
		if (lex(p, &tk) < 0)
			return -1;
	}
	unlex(p, &tk);
	return id;
}

static int
parse_command(struct ps *p)
{
	struct token tk;
	int cmd, op, last = -1;

	if (lex_nonspace(p, &tk) < 0)
		return -1;
	unlex(p, &tk);
	if ((cmd = new_node(p, N_CMD, tk.pos)) < 0)
		return -1;
	for (;;) {
		op = parse_operand(p);
		if (op == -1)
			return -1;
		if (op >= 0) {
			add_child(p, cmd, &last, op);
			p->t->nodes[cmd].end = p->t->nodes[op].end;
		}
		if (lex(p, &tk) < 0)
			return -1;
		if (tk.type == T_SPACE)
			continue;
		if (tk.type == T_RDELIM || tk.type == T_RPAREN)
			unlex(p, &tk);
		else if (tk.type != T_PIPE)
			return unexpected(p, &tk, "operand");
		break;
	}
	if (last < 0)
		return perr(p, tk.pos, "empty command");
	return cmd;
}

/* Commands up to closer.  context names it in messages. */
static int
parse_pipeline(struct ps *p, const char *context, enum tok closer)
{
	struct token tk;
	int pipe, cmd, last = -1, stage = 0;
	enum ntype t0;

	if (lex_nonspace(p, &tk) < 0)
		return -1;
	unlex(p, &tk);
	if ((pipe = new_node(p, N_PIPE, tk.pos)) < 0)
		return -1;
	for (;;) {
		if (lex_nonspace(p, &tk) < 0)
			return -1;
		if (tk.type == closer)
			break;
		switch (tk.type) {
		case T_BOOL: case T_CHAR: case T_DOT: case T_FIELD: case T_IDENT:
		case T_NUMBER: case T_NIL: case T_RAW: case T_STRING:
		case T_VARIABLE: case T_LPAREN:
			unlex(p, &tk);
			if ((cmd = parse_command(p)) < 0)
				return -1;
			add_child(p, pipe, &last, cmd);
			stage++;
			t0 = p->t->nodes[p->t->nodes[cmd].first].type;
			if (stage > 1 && (t0 == N_BOOL || t0 == N_DOT ||
					  t0 == N_NUMBER || t0 == N_STRING))
				return perr(p, tk.pos, "non executable command "
					    "in pipeline stage %d", stage);
			break;
		case T_ASSIGN:
		case T_DECLARE:
			return perr(p, tk.pos, "variables are not supported");
		default:
			return unexpected(p, &tk, context);
		}
	}
	if (last < 0)
		return perr(p, tk.pos, "missing value for %s", context);
	p->t->nodes[pipe].end = tk.pos;
	return pipe;
}

/* {{if pipeline}} list [{{else}} list | {{else if ...}}] {{end}}, the
 * keyword already read. */
static int
parse_branch(struct ps *p, enum ntype type, size_t pos)
{
	struct token tk;
	int id, pipe, list, inner, term, last = -1;
	size_t term_pos;

	if (++p->depth > MAX_DEPTH)
		return perr(p, pos, "if and with nested too deep");
	if ((id = new_node(p, type, pos)) < 0)
		return -1;
	pipe = parse_pipeline(p, type == N_IF ? "if" : "with", T_RDELIM);
	if (pipe < 0)
		return -1;
	p->t->nodes[id].first = pipe;
	if ((list = parse_list(p, &term, &term_pos)) < 0)
		return -1;
	p->t->nodes[id].list = list;
	if (term == TERM_EOF)
		return perr(p, p->n, "unexpected EOF");
	if (term == TERM_ELSE) {
		if (lex_nonspace(p, &tk) < 0)
			return -1;
		if (tk.type == T_KEYWORD &&
		    ((tk.len == 2 && memcmp(p->s + tk.pos, "if", 2) == 0) ||
		     (tk.len == 4 && memcmp(p->s + tk.pos, "with", 4) == 0))) {
			/* else if: a list of one branch, which reads the
			 * {{end}} of both. */
			if ((list = new_node(p, N_LIST, tk.pos)) < 0)
				return -1;
			inner = parse_branch(p, p->s[tk.pos] == 'i' ? N_IF : N_WITH,
					     tk.pos);
			if (inner < 0)
				return -1;
			add_child(p, list, &last, inner);
			p->t->nodes[id].elselist = list;
			p->depth--;
			return id;
		}
		if (tk.type != T_RDELIM)
			return unexpected(p, &tk, "else");
		if ((list = parse_list(p, &term, &term_pos)) < 0)
			return -1;
		p->t->nodes[id].elselist = list;
		if (term == TERM_EOF)
			return perr(p, p->n, "unexpected EOF");
		if (term == TERM_ELSE)
			return perr(p, term_pos, "expected end; found {{else}}");
	}
	p->depth--;
	return id;
}

/* Text with its trim markers applied, as a node. */
static int
text_node(struct ps *p, size_t start, size_t end, int trim_left,
	  int trim_right)
{
	int id;

	if (trim_left)
		while (start < end && is_space(p->s[start]))
			start++;
	if (trim_right)
		while (end > start && is_space(p->s[end - 1]))
			end--;
	if (end == start)
		return -2;
	if ((id = new_node(p, N_TEXT, start)) < 0)
		return -1;
	p->t->nodes[id].end = end;
	if (pool_add(p, p->s + start, end - start, &p->t->nodes[id].off) < 0)
		return -1;
	p->t->nodes[id].len = end - start;
	return id;
}

/* A comment whose "/ *" is at p->pos: skips it and its closing
 * delimiter. */
static int
skip_comment(struct ps *p, size_t open)
{
	size_t i;
	int trim;

	for (i = p->pos + 2; i + 1 < p->n; i++)
		if (p->s[i] == '*' && p->s[i + 1] == '/')
			break;
	if (i + 1 >= p->n)
		return perr(p, open, "unclosed comment");
	i += 2;
	if (!at_right_delim(p, i, &trim))
		return perr(p, open, "comment ends before closing delimiter");
	p->trim_text = trim;
	p->pos = i + (trim ? 4 : 2);
	return 0;
}

/* Where the next "{{" starts, or n. */
static size_t
find_open(const struct ps *p, size_t from)
{
	const char *c;
	size_t i = from;

	while (i + 1 < p->n) {
		c = memchr(p->s + i, '{', p->n - i - 1);
		if (c == NULL)
			break;
		i = (size_t)(c - p->s);
		if (p->s[i + 1] == '{')
			return i;
		i++;
	}
	return p->n;
}

/* Text and actions up to {{end}}, {{else}} or the end: *term says
 * which. */
static int
parse_list(struct ps *p, int *term, size_t *term_pos)
{
	struct token tk;
	const char *open;
	size_t start, delim;
	int list, id, pipe, last = -1, trim_left;

	if ((list = new_node(p, N_LIST, p->pos)) < 0)
		return -1;
	for (;;) {
		start = p->pos;
		delim = find_open(p, start);
		open = delim < p->n ? p->s + delim : NULL;
		trim_left = open != NULL && delim + 3 < p->n &&
			    p->s[delim + 2] == '-' && is_space(p->s[delim + 3]);
		id = text_node(p, start, delim, p->trim_text, trim_left);
		p->trim_text = 0;
		if (id == -1)
			return -1;
		if (id >= 0)
			add_child(p, list, &last, id);
		if (open == NULL) {
			p->pos = p->n;
			*term = TERM_EOF;
			*term_pos = p->n;
			return list;
		}
		p->pos = delim + (trim_left ? 4 : 2);
		if (at(p, p->pos, "/*")) {
			if (skip_comment(p, delim) < 0)
				return -1;
			continue;
		}
		if (lex_nonspace(p, &tk) < 0)
			return -1;
		if (tk.type == T_KEYWORD) {
			if (tk.len == 3 && memcmp(p->s + tk.pos, "end", 3) == 0) {
				if (lex_nonspace(p, &tk) < 0)
					return -1;
				if (tk.type != T_RDELIM)
					return unexpected(p, &tk, "end");
				*term = TERM_END;
				*term_pos = delim;
				return list;
			}
			if (tk.len == 4 && memcmp(p->s + tk.pos, "else", 4) == 0) {
				*term = TERM_ELSE;
				*term_pos = delim;
				return list;
			}
			if (tk.len == 2 && memcmp(p->s + tk.pos, "if", 2) == 0)
				id = parse_branch(p, N_IF, tk.pos);
			else if (tk.len == 4 &&
				 memcmp(p->s + tk.pos, "with", 4) == 0)
				id = parse_branch(p, N_WITH, tk.pos);
			else
				return perr(p, tk.pos, "{{%.*s}} is not supported",
					    (int)tk.len, p->s + tk.pos);
			if (id < 0)
				return -1;
			add_child(p, list, &last, id);
			continue;
		}
		unlex(p, &tk);
		if ((id = new_node(p, N_ACTION, tk.pos)) < 0)
			return -1;
		/* Not assigned in one statement: the parse may move nodes. */
		pipe = parse_pipeline(p, "command", T_RDELIM);
		if (pipe < 0)
			return -1;
		p->t->nodes[id].first = pipe;
		p->t->nodes[id].end = p->t->nodes[pipe].end;
		add_child(p, list, &last, id);
	}
}

/* Compiles literal regexes of regex functions once, now. */
static void
precompile_regexes(struct lt_tmpl *t)
{
	struct node *cmd, *fn, *arg;
	PCRE2_SIZE erroff;
	int k, err;

	for (k = 0; k < t->nnodes; k++) {
		cmd = &t->nodes[k];
		if (cmd->type != N_CMD || cmd->first < 0)
			continue;
		fn = &t->nodes[cmd->first];
		if (fn->type != N_FUNC || !lt_tmpl_fns[fn->fn].regex_arg ||
		    fn->next < 0)
			continue;
		arg = &t->nodes[fn->next];
		if (arg->type != N_STRING)
			continue;
		/* A pattern that fails is compiled again when the
		 * function runs, which reports it as Go does. */
		cmd->re = pcre2_compile((PCRE2_SPTR)t->pool.data + arg->off,
					arg->len, LT_TMPL_RE_OPTIONS, &err,
					&erroff, NULL);
	}
}

static int
uses_regex(const struct lt_tmpl *t)
{
	int k;

	for (k = 0; k < t->nnodes; k++)
		if (t->nodes[k].type == N_FUNC &&
		    lt_tmpl_fns[t->nodes[k].fn].regex_arg)
			return 1;
	return 0;
}

struct lt_tmpl *
lt_tmpl_compile(const char *text, size_t len, char *why, size_t whylen)
{
	struct lt_tmpl *t;
	struct ps p;
	size_t term_pos;
	int term;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->src = malloc(len > 0 ? len : 1)) == NULL) {
		free(t);
		if (why != NULL && whylen > 0)
			(void)snprintf(why, whylen, "out of memory");
		return NULL;
	}
	if (len > 0)
		memcpy(t->src, text, len);
	t->srclen = len;
	memset(&p, 0, sizeof(p));
	p.t = t;
	p.s = t->src;
	p.n = len;
	p.why = why;
	p.whylen = whylen;
	t->root = parse_list(&p, &term, &term_pos);
	if (t->root >= 0 && term != TERM_EOF)
		(void)perr(&p, term_pos, "unexpected {{%s}}",
			   term == TERM_END ? "end" : "else");
	if (!p.failed && uses_regex(t)) {
		t->mctx = pcre2_match_context_create(NULL);
		if (t->mctx == NULL) {
			p.failed = 1;
			if (why != NULL && whylen > 0)
				(void)snprintf(why, whylen, "out of memory");
		} else {
			(void)pcre2_set_match_limit(t->mctx, RE_MATCH_LIMIT);
			(void)pcre2_set_depth_limit(t->mctx, RE_DEPTH_LIMIT);
			precompile_regexes(t);
		}
	}
	if (p.failed) {
		lt_tmpl_free(t);
		return NULL;
	}
	return t;
}

void
lt_tmpl_free(struct lt_tmpl *t)
{
	int k;

	if (t == NULL)
		return;
	for (k = 0; k < t->nnodes; k++)
		if (t->nodes[k].re != NULL)
			pcre2_code_free(t->nodes[k].re);
	pcre2_match_context_free(t->mctx);
	free(t->nodes);
	lt_buf_free(&t->pool);
	free(t->src);
	free(t);
}

void
lt_tmpl_labels(const struct lt_tmpl *t,
	       void (*fn)(void *ctx, const char *name, size_t len), void *ctx)
{
	const struct node *nd;
	size_t i, start;
	int k;

	for (k = 0; k < t->nnodes; k++) {
		nd = &t->nodes[k];
		if (nd->type != N_FIELD)
			continue;
		/* .a.b reads a and b, as Loki's listNodeFields lists. */
		for (i = nd->pos; i < nd->end;) {
			start = ++i;
			while (i < nd->end && t->src[i] != '.')
				i++;
			fn(ctx, t->src + start, i - start);
		}
	}
}

const void *
lt_tmpl_match_context(const struct tx *x)
{
	return x->t->mctx;
}

/* ---- execution ---- */

/* Scratch memory: chunks freed together when the execution ends.
 * Every allocation is aligned for any type (argument arrays live here
 * too). */
struct scratch {
	struct scratch *next;
	size_t cap, used;
	max_align_t data[];
};

#define SCRATCH_ALIGN (sizeof(max_align_t))

struct ex {
	struct tx x;
	struct lt_buf *out;
	size_t out_start, max_out;
	char *why;
	size_t whylen;
	int depth;
};

int
lt_tx_fail(struct tx *x, const char *fmt, ...)
{
	va_list ap;

	if (x->failed)
		return -1;
	x->failed = 1;
	va_start(ap, fmt);
	(void)vsnprintf(x->msg, sizeof(x->msg), fmt, ap);
	va_end(ap);
	return -1;
}

char *
lt_tx_alloc(struct tx *x, size_t n)
{
	struct scratch *s = x->scratch;
	size_t cap;

	if (n > x->scratch_max)
		n = x->scratch_max + 1;
	n = (n + SCRATCH_ALIGN - 1) / SCRATCH_ALIGN * SCRATCH_ALIGN;
	if (n > x->scratch_max || x->scratch_used > x->scratch_max - n) {
		(void)lt_tx_fail(x, "template needs over %zu bytes of memory",
				 x->scratch_max);
		return NULL;
	}
	if (s == NULL || s->cap - s->used < n) {
		cap = n > SCRATCH_CHUNK ? n : SCRATCH_CHUNK;
		if ((s = malloc(sizeof(*s) + cap)) == NULL) {
			(void)lt_tx_fail(x, "out of memory");
			return NULL;
		}
		s->next = x->scratch;
		s->cap = cap;
		s->used = 0;
		x->scratch = s;
	}
	x->scratch_used += n;
	s->used += n;
	return (char *)s->data + s->used - n;
}

int
lt_tx_keep(struct tx *x, struct lt_buf *b, struct tv *res)
{
	char *s = lt_tx_alloc(x, b->len > 0 ? b->len : 1);

	if (s == NULL)
		return -1;
	if (b->len > 0)
		memcpy(s, b->data, b->len);
	res->k = TV_STR;
	res->s = s;
	res->n = b->len;
	b->len = 0;
	return 0;
}

int
lt_tv_truth(const struct tv *v)
{
	switch (v->k) {
	case TV_STR: return v->n > 0;
	case TV_INT:
	case TV_INT64:
	case TV_BOOL: return v->i != 0;
	case TV_FLOAT: return v->f != 0;
	case TV_TIME:
	case TV_MAP: return 1;
	case TV_NONE: break;
	}
	return 0;
}

const char *
lt_tv_type(const struct tv *v)
{
	switch (v->k) {
	case TV_STR: return "string";
	case TV_INT: return "int";
	case TV_INT64: return "int64";
	case TV_FLOAT: return "float64";
	case TV_BOOL: return "bool";
	case TV_TIME: return "time.Time";
	case TV_MAP: return "map[string]string";
	case TV_NONE: break;
	}
	return "<nil>";
}

static const char *
tp_name(enum tp t)
{
	switch (t) {
	case TP_STR: return "string";
	case TP_INT: return "int";
	case TP_FLOAT: return "float64";
	case TP_TIME: return "time.Time";
	case TP_ANY:
	case TP_NONE: break;
	}
	return "interface {}";
}

/* "template: line:1:3: executing "line" at <ctx>: msg". */
static int
xerr(struct ex *e, int node, const char *msg)
{
	const struct lt_tmpl *t = e->x.t;
	const struct node *nd = &t->nodes[node];
	size_t pos = nd->pos, len = nd->end > nd->pos ? nd->end - nd->pos : 0;
	size_t line_start = pos;
	int more = len > 20;

	if (e->why == NULL || e->whylen == 0)
		return -1;
	while (len > 0 && is_space(t->src[pos + len - 1]))
		len--;
	more = len > 20;
	while (line_start > 0 && t->src[line_start - 1] != '\n')
		line_start--;
	(void)snprintf(e->why, e->whylen,
		       "template: %s:%d:%zu: executing \"%s\" at <%.*s%s>: %s",
		       TMPL_NAME, line_of(t->src, pos), pos - line_start,
		       TMPL_NAME, (int)(more ? 20 : len), t->src + pos,
		       more ? "..." : "", msg);
	one_line(e->why);
	return -1;
}

static int xerrf(struct ex *, int, const char *, ...)
	__attribute__((format(printf, 3, 4)));

static int
xerrf(struct ex *e, int node, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return xerr(e, node, msg);
}

/* A failure inside a helper that set x.msg (memory, printing). */
static int
xfail(struct ex *e, int node)
{
	if (!e->x.failed)
		(void)lt_tx_fail(&e->x, "out of memory");
	return xerr(e, node, e->x.msg);
}

static int eval_pipe(struct ex *e, int pipe, const struct tv *dot,
		     struct tv *res);

static int
eval_field(struct ex *e, int node, const struct tv *dot, int has_args,
	   struct tv *res)
{
	const struct lt_tmpl *t = e->x.t;
	const struct node *nd = &t->nodes[node];
	const char *name, *val;
	struct tv recv = *dot;
	size_t i, start, vlen;

	for (i = nd->pos; i < nd->end;) {
		start = ++i;
		while (i < nd->end && t->src[i] != '.')
			i++;
		name = t->src + start;
		if (recv.k != TV_MAP)
			return xerrf(e, node, "can't evaluate field %.*s in type %s",
				     (int)(i - start), name, lt_tv_type(&recv));
		if (i == nd->end && has_args)
			return xerrf(e, node, "%.*s is not a method but has "
				     "arguments", (int)(i - start), name);
		vlen = 0;
		val = e->x.e->lookup != NULL ?
			e->x.e->lookup(e->x.e->ctx, name, i - start, &vlen) : NULL;
		recv.k = TV_STR;
		recv.s = val != NULL ? val : "";
		recv.n = val != NULL ? vlen : 0;
	}
	*res = recv;
	return 0;
}

/* A constant as an interface{}: Go's idealConstant. */
static void
ideal(const struct node *nd, const struct lt_tmpl *t, struct tv *v)
{
	memset(v, 0, sizeof(*v));
	if (nd->type == N_STRING) {
		v->k = TV_STR;
		v->s = (const char *)t->pool.data + nd->off;
		v->n = nd->len;
	} else if (nd->type == N_BOOL) {
		v->k = TV_BOOL;
		v->i = nd->i;
	} else if (nd->isfloat && (nd->ideal_float || !nd->isint)) {
		v->k = TV_FLOAT;
		v->f = nd->f;
	} else {
		v->k = TV_INT;
		v->i = nd->i;
	}
}

static int
validate(struct ex *e, int node, enum tp want, const struct tv *v)
{
	int ok;

	switch (want) {
	case TP_STR: ok = v->k == TV_STR; break;
	case TP_INT: ok = v->k == TV_INT; break;
	case TP_FLOAT: ok = v->k == TV_FLOAT; break;
	case TP_TIME: ok = v->k == TV_TIME; break;
	default: ok = 1; break;
	}
	if (ok)
		return 0;
	if (v->k == TV_NONE)
		return xerrf(e, node, "invalid value; expected %s", tp_name(want));
	return xerrf(e, node, "wrong type for value; expected %s; got %s",
		     tp_name(want), lt_tv_type(v));
}

static int eval_call(struct ex *e, int cmd, int fnnode, int args,
		     const struct tv *dot, const struct tv *final,
		     struct tv *res);

/* One argument for a parameter of type want. */
static int
eval_arg(struct ex *e, int node, enum tp want, const struct tv *dot,
	 struct tv *v)
{
	const struct lt_tmpl *t = e->x.t;
	const struct node *nd = &t->nodes[node];
	const char *text = t->src + nd->pos;
	int len = (int)(nd->end - nd->pos);
	static const struct tv none = {TV_NONE, NULL, 0, 0, 0, 0};

	switch (nd->type) {
	case N_DOT:
		*v = *dot;
		return validate(e, node, want, v);
	case N_FIELD:
		if (eval_field(e, node, dot, 0, v) < 0)
			return -1;
		return validate(e, node, want, v);
	case N_PIPE:
		if (eval_pipe(e, node, dot, v) < 0)
			return -1;
		return validate(e, node, want, v);
	case N_FUNC:
		if (eval_call(e, node, node, -1, dot, &none, v) < 0)
			return -1;
		return validate(e, node, want, v);
	default:
		break;
	}
	ideal(nd, t, v);
	switch (want) {
	case TP_STR:
		if (nd->type != N_STRING)
			return xerrf(e, node, "expected string; found %.*s", len,
				     text);
		return 0;
	case TP_INT:
		if (nd->type != N_NUMBER || !nd->isint)
			return xerrf(e, node, "expected integer; found %.*s", len,
				     text);
		v->k = TV_INT;
		v->i = nd->i;
		return 0;
	case TP_FLOAT:
		if (nd->type != N_NUMBER || !nd->isfloat)
			return xerrf(e, node, "expected float; found %.*s", len,
				     text);
		v->k = TV_FLOAT;
		v->f = nd->f;
		return 0;
	case TP_TIME:
		return xerrf(e, node, "can't handle %.*s for arg of type "
			     "time.Time", len, text);
	default:
		return 0;
	}
}

/* and/or: arguments evaluated one at a time, the deciding one kept. */
static int
eval_and_or(struct ex *e, int args, const struct tv *dot,
	    const struct tv *final, int is_and, struct tv *res)
{
	const struct lt_tmpl *t = e->x.t;
	int a;

	for (a = args; a >= 0; a = t->nodes[a].next) {
		if (eval_arg(e, a, TP_ANY, dot, res) < 0)
			return -1;
		if (lt_tv_truth(res) != is_and)
			return 0;
	}
	if (final->k != TV_NONE)
		*res = *final;
	return 0;
}

/* A function call: fnnode names it, args is the first argument node
 * (-1: none), final the value piped in. */
static int
eval_call(struct ex *e, int cmd, int fnnode, int args, const struct tv *dot,
	  const struct tv *final, struct tv *res)
{
	const struct lt_tmpl *t = e->x.t;
	const struct tfn *f = &lt_tmpl_fns[t->nodes[fnnode].fn];
	struct tv *argv;
	enum tp want;
	int n = final->k != TV_NONE, a, k;

	for (a = args; a >= 0; a = t->nodes[a].next)
		n++;
	if (f->variadic != TP_NONE && n < f->nfixed)
		return xerrf(e, fnnode, "wrong number of args for %s: want at "
			     "least %d got %d", f->name, f->nfixed, n);
	if (f->variadic == TP_NONE && n != f->nfixed)
		return xerrf(e, fnnode, "wrong number of args for %s: want %d "
			     "got %d", f->name, f->nfixed, n);
	memset(res, 0, sizeof(*res));
	if (lt_tmpl_fn_is_and(t->nodes[fnnode].fn) ||
	    lt_tmpl_fn_is_or(t->nodes[fnnode].fn))
		return eval_and_or(e, args, dot, final,
				   lt_tmpl_fn_is_and(t->nodes[fnnode].fn), res);
	argv = (struct tv *)(void *)lt_tx_alloc(&e->x,
		(size_t)(n > 0 ? n : 1) * sizeof(*argv));
	if (argv == NULL)
		return xfail(e, cmd);
	for (a = args, k = 0; a >= 0; a = t->nodes[a].next, k++) {
		want = k < f->nfixed ? f->fixed[k] : f->variadic;
		if (eval_arg(e, a, want, dot, &argv[k]) < 0)
			return -1;
	}
	if (final->k != TV_NONE) {
		want = k < f->nfixed ? f->fixed[k] : f->variadic;
		if (validate(e, cmd, want, final) < 0)
			return -1;
		argv[k] = *final;
	}
	e->x.re = t->nodes[cmd].type == N_CMD ? t->nodes[cmd].re : NULL;
	e->x.failed = 0;
	if (f->call(&e->x, argv, n, res) < 0) {
		if (!e->x.failed)
			(void)lt_tx_fail(&e->x, "out of memory");
		return xerrf(e, cmd, "error calling %s: %s", f->name, e->x.msg);
	}
	return 0;
}

static int
not_a_function(struct ex *e, int cmd, int first, const struct tv *final)
{
	const struct node *nd = &e->x.t->nodes[first];

	if (nd->next >= 0 || final->k != TV_NONE)
		return xerrf(e, cmd, "can't give argument to non-function %.*s",
			     (int)(nd->end - nd->pos), e->x.t->src + nd->pos);
	return 0;
}

static int
eval_cmd(struct ex *e, int cmd, const struct tv *dot, struct tv *val)
{
	const struct lt_tmpl *t = e->x.t;
	int first = t->nodes[cmd].first;
	const struct node *nd = &t->nodes[first];
	struct tv final = *val;

	switch (nd->type) {
	case N_FIELD:
		return eval_field(e, first, dot,
				  nd->next >= 0 || final.k != TV_NONE, val);
	case N_FUNC:
		return eval_call(e, cmd, first, nd->next, dot, &final, val);
	case N_PIPE:
		if (not_a_function(e, cmd, first, &final) < 0)
			return -1;
		return eval_pipe(e, first, dot, val);
	case N_DOT:
		if (not_a_function(e, cmd, first, &final) < 0)
			return -1;
		*val = *dot;
		return 0;
	default:
		if (not_a_function(e, cmd, first, &final) < 0)
			return -1;
		ideal(nd, t, val);
		return 0;
	}
}

static int
eval_pipe(struct ex *e, int pipe, const struct tv *dot, struct tv *res)
{
	const struct lt_tmpl *t = e->x.t;
	int cmd;

	if (++e->depth > MAX_DEPTH * 4)
		return xerr(e, pipe, "nested too deep");
	memset(res, 0, sizeof(*res));
	res->k = TV_NONE;
	for (cmd = t->nodes[pipe].first; cmd >= 0; cmd = t->nodes[cmd].next)
		if (eval_cmd(e, cmd, dot, res) < 0)
			return -1;
	e->depth--;
	return 0;
}

static int
emit(struct ex *e, int node, const void *s, size_t n)
{
	if (n > e->max_out || e->out->len - e->out_start > e->max_out - n)
		return xerrf(e, node, "output over %zu bytes", e->max_out);
	if (lt_buf_append(e->out, s, n) < 0)
		return xerr(e, node, "out of memory");
	return 0;
}

static int
print_value(struct ex *e, int node, const struct tv *v)
{
	struct lt_buf b = LT_BUF_INIT;
	int rc;

	if (v->k == TV_STR)
		return emit(e, node, v->s, v->n);
	e->x.failed = 0;
	if (lt_tv_print(&e->x, v, &b) < 0) {
		lt_buf_free(&b);
		return xfail(e, node);
	}
	rc = emit(e, node, b.data, b.len);
	lt_buf_free(&b);
	return rc;
}

static int
walk(struct ex *e, int list, const struct tv *dot)
{
	const struct lt_tmpl *t = e->x.t;
	const struct node *nd;
	struct tv v;
	int k, body;

	for (k = t->nodes[list].first; k >= 0; k = t->nodes[k].next) {
		nd = &t->nodes[k];
		switch (nd->type) {
		case N_TEXT:
			if (emit(e, k, t->pool.data + nd->off, nd->len) < 0)
				return -1;
			break;
		case N_ACTION:
			if (eval_pipe(e, nd->first, dot, &v) < 0 ||
			    print_value(e, k, &v) < 0)
				return -1;
			break;
		case N_IF:
		case N_WITH:
			if (eval_pipe(e, nd->first, dot, &v) < 0)
				return -1;
			body = lt_tv_truth(&v) ? nd->list : nd->elselist;
			if (body >= 0 &&
			    walk(e, body, nd->type == N_WITH &&
				 body == nd->list ? &v : dot) < 0)
				return -1;
			break;
		default:
			break;
		}
	}
	return 0;
}

int
lt_tmpl_execute(const struct lt_tmpl *t, const struct lt_tmpl_entry *en,
		struct lt_buf *out, size_t max_out, char *why, size_t whylen)
{
	struct ex e;
	struct scratch *s, *next;
	struct tv dot;
	size_t bound;
	int rc;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	memset(&e, 0, sizeof(e));
	e.x.t = t;
	e.x.e = en;
	bound = max_out > (SIZE_MAX / 2) / SCRATCH_FACTOR ?
		SIZE_MAX / 2 : max_out * SCRATCH_FACTOR;
	e.x.scratch_max = bound < SCRATCH_MIN ? SCRATCH_MIN : bound;
	e.out = out;
	e.out_start = out->len;
	e.max_out = max_out;
	e.why = why;
	e.whylen = whylen;
	memset(&dot, 0, sizeof(dot));
	dot.k = TV_MAP;
	rc = walk(&e, t->root, &dot);
	for (s = e.x.scratch; s != NULL; s = next) {
		next = s->next;
		free(s);
	}
	return rc;
}
