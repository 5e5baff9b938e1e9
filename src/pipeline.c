/* The LogQL pipeline run on one entry at a time: see pipeline.h.  Every
 * stage follows Loki's pkg/logql/log (parser.go, label_filter.go,
 * line_filter.go, fmt.go, drop_labels.go, keep_labels.go, labels.go).
 *
 * Per entry the pipeline keeps the current line and a label set sorted by
 * name.  Values point into the input, into the current line, or into an
 * arena of chunks that is reset (not freed) for every entry: in the steady
 * state a run allocates nothing. */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "labels.h"
#include "pipeline.h"
#include "template.h"

/* A regex may not spin: PCRE2 stops a match past these and the match
 * counts as failed. */
#define MATCH_LIMIT     10000000u
#define DEPTH_LIMIT     100000u
#define HEAP_LIMIT_KIB  (64u * 1024u)
#define JIT_STACK_MAX   (1u << 20)

/* Objects nested deeper than this are not walked by json (their leaves
 * are not extracted): the walk recurses. */
#define JSON_MAX_DEPTH 128

#define ARENA_CHUNK (64u * 1024u)
/* What one entry may allocate in all: line rewrites and label values. */
#define ARENA_MAX   ((size_t)64 << 20)

#define ERROR_LABEL   "__error__"
#define DETAILS_LABEL "__error_details__"
#define EXTRACTED     "_extracted"

/* jsonparser's messages (github.com/buger/jsonparser), as Loki reports
 * them in __error_details__. */
#define JSON_ERR_OBJECT  "Value looks like object, but can't find closing '}' symbol"
#define JSON_ERR_ARRAY   "Value is array, but can't find closing ']' symbol"
#define JSON_ERR_STRING  "Value is string, but can't find closing '\"' symbol"
#define JSON_ERR_VALUE   "Value looks like Number/Boolean/None, but can't find its end: ',' or '}' symbol"
#define JSON_ERR_UNKNOWN "Unknown value type"
#define JSON_ERR_ESCAPE  "Encountered an invalid escape sequence in a string"
/* Loki's unpack on a line that is not an object (jsoniter's ObjectValue
 * is 6). */
#define UNPACK_ERR_OBJECT "expecting json object(6), but it is not"

/* The ANSI escape sequences decolorize removes: the expression of
 * github.com/acarl005/stripansi, which Loki uses. */
static const char ansi_re[] =
	"[\\x{1B}\\x{9B}][[\\]()#;?]*(?:(?:(?:[a-zA-Z\\d]*(?:;[a-zA-Z\\d]*)*)?"
	"\\x{07})|(?:(?:\\d{1,4}(?:;\\d{0,4})*)?[\\dA-PRZcf-ntqry=><~]))";

struct chunk {
	struct chunk *next;
	size_t cap, used;
	char data[];
};

struct arena {
	struct chunk *head, *cur;
	size_t used;  /* by the current entry, all chunks together */
};

/* A compiled string matcher: of a label filter, drop or keep. */
struct pl_matcher {
	char *name;
	size_t name_len;
	char *value;           /* NULL: drop/keep by name only */
	size_t value_len;
	enum lt_match_op op;
	pcre2_code *re;        /* for =~ and !~ */
};

struct pl_filter {
	enum lt_label_filter_kind kind;
	struct pl_filter *left, *right;
	struct pl_matcher m;   /* STRING; NUMBER, DURATION, BYTES use m.name */
	enum lt_cmp_op cmp;
	double number;
};

/* One step of a JSON path: a key or an index. */
struct pl_step {
	char *key;             /* NULL: index */
	size_t key_len;
	size_t index;
};

/* A json, logfmt or label_format parameter. */
struct pl_param {
	char *name;
	size_t name_len;
	char *expr;            /* logfmt key; label_format source label */
	size_t expr_len;
	struct pl_step *path;  /* json */
	size_t n_path;
	struct lt_tmpl *tmpl;  /* label_format dst="{{...}}" */
};

/* A piece of a pattern: literal text, or a capture (name NULL: <_>). */
struct pl_piece {
	char *text;
	size_t len;
	int capture;
};

struct pl_stage {
	enum lt_stage_kind kind;
	/* LINE_FILTER */
	enum lt_line_op line_op;
	char **values;
	size_t *value_lens;
	pcre2_code **res;
	size_t n_values;
	/* LABEL_FILTER */
	struct pl_filter *filter;
	/* REGEXP, DECOLORIZE */
	pcre2_code *re;
	uint32_t *groups;
	char **group_names;
	size_t n_groups;
	/* PATTERN */
	struct pl_piece *pieces;
	size_t n_pieces;
	/* JSON, LOGFMT, LABEL_FORMAT */
	struct pl_param *params;
	size_t n_params;
	int strict, keep_empty;
	/* LINE_FORMAT */
	struct lt_tmpl *tmpl;
	/* DROP, KEEP */
	struct pl_matcher *matchers;
	size_t n_matchers;
};

struct lt_pipeline {
	struct pl_stage *stages;
	size_t n_stages;
	int keeps_all;
	pcre2_match_context *mctx;
	pcre2_jit_stack *jit;
	pcre2_match_data *md;
	uint32_t md_pairs;

	/* The entry being run. */
	const struct lt_pl_input *in;
	struct arena arena;
	const char *line;
	size_t line_len;
	struct lt_label *labels;  /* sorted by name, unique */
	size_t n_labels;
	struct lt_label *out;     /* labels and the error labels */
	const char *err, *details;
	size_t err_len, details_len;
	struct lt_buf name;       /* a label name being built */
	struct lt_buf tmp;        /* template output, NUL-terminated numbers */
	int oom;
	/* Metric queries: the label read as the entry's value after the
	 * stages, and the label filters after it (lt_pipeline_unwrap()). */
	char *unwrap;
	enum lt_unwrap_conv conv;
	struct pl_filter *post;
};

/* ---- small helpers ---- */

static void say(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
say(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

static char *
dup_mem(const char *s, size_t len)
{
	char *d = malloc(len + 1);

	if (d == NULL)
		return NULL;
	if (len > 0)
		memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

static int
name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	size_t m = alen < blen ? alen : blen;
	int c;

	/* Names mostly differ in their first byte: no call for those
	 * (every parsed label of every entry is looked up). */
	if (m > 0 && a[0] != b[0])
		return (unsigned char)a[0] < (unsigned char)b[0] ? -1 : 1;
	c = m > 0 ? memcmp(a, b, m) : 0;

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static int
is_name(const char *s, size_t len, const char *lit)
{
	return len == strlen(lit) && memcmp(s, lit, len) == 0;
}

/* Where needle first occurs in hay, or NULL. */
static const char *
find_mem(const char *hay, size_t hlen, const char *needle, size_t nlen)
{
	const char *p, *end;

	if (nlen == 0)
		return hay;
	if (nlen > hlen)
		return NULL;
	end = hay + (hlen - nlen) + 1;
	for (p = hay; p < end; p++) {
		p = memchr(p, needle[0], (size_t)(end - p));
		if (p == NULL)
			return NULL;
		if (memcmp(p, needle, nlen) == 0)
			return p;
	}
	return NULL;
}

/* ---- the arena ---- */

static void
arena_reset(struct arena *a)
{
	struct chunk *c;

	for (c = a->head; c != NULL; c = c->next)
		c->used = 0;
	a->cur = a->head;
	a->used = 0;
}

static void
arena_free(struct arena *a)
{
	struct chunk *c, *next;

	for (c = a->head; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	a->head = a->cur = NULL;
}

/* n bytes that stay put until the next reset; NULL past ARENA_MAX or
 * when memory runs out. */
static char *
arena_alloc(struct arena *a, size_t n)
{
	struct chunk *c;
	size_t cap;

	if (n > ARENA_MAX - a->used)
		return NULL;
	for (c = a->cur; c != NULL; c = c->next) {
		if (c->cap - c->used >= n)
			break;
	}
	if (c == NULL) {
		cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
		if ((c = malloc(sizeof(*c) + cap)) == NULL)
			return NULL;
		c->cap = cap;
		c->used = 0;
		/* After the current chunk: the ones behind it are full. */
		if (a->cur == NULL) {
			c->next = a->head;
			a->head = c;
		} else {
			c->next = a->cur->next;
			a->cur->next = c;
		}
	}
	a->cur = c;
	c->used += n;
	a->used += n;
	return c->data + c->used - n;
}

static char *
arena_dup(struct lt_pipeline *p, const char *s, size_t len)
{
	char *d = arena_alloc(&p->arena, len + 1);

	if (d == NULL) {
		p->oom = 1;
		return NULL;
	}
	if (len > 0)
		memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

/* ---- the label set ---- */

/* The index of name in the set, or where it would go (*found 0). */
static size_t
label_find(const struct lt_label *l, size_t n, const char *name, size_t len,
	   int *found)
{
	size_t lo = 0, hi = n, mid;
	int c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = name_cmp(l[mid].name, l[mid].name_len, name, len);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = 0;
	return lo;
}

/* The value of a label of the entry, or NULL when it has none. */
static const char *
label_get(const struct lt_pipeline *p, const char *name, size_t len,
	  size_t *vlen)
{
	size_t i;
	int found;

	i = label_find(p->labels, p->n_labels, name, len, &found);
	if (!found)
		return NULL;
	*vlen = p->labels[i].value_len;
	return p->labels[i].value;
}

static void
set_error(struct lt_pipeline *p, const char *err, const char *details,
	  size_t details_len)
{
	p->err = err;
	p->err_len = strlen(err);
	if (details != NULL) {
		p->details = details;
		p->details_len = details_len;
	}
}

/* Sets __error__ and __error_details__ (formatted), as Loki's
 * addErrLabel. */
static void set_errorf(struct lt_pipeline *, const char *, const char *, ...)
	__attribute__((format(printf, 3, 4)));

static void
set_errorf(struct lt_pipeline *p, const char *err, const char *fmt, ...)
{
	char msg[512];
	char *d;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg))
		n = (int)sizeof(msg) - 1;
	d = arena_dup(p, msg, (size_t)n);
	set_error(p, err, d, d != NULL ? (size_t)n : 0);
}

/* Sets a label (its name and value must stay put for the entry).  The
 * error labels live apart, as in Loki's LabelsBuilder.  Past
 * LT_PL_MAX_LABELS labels, new names are not added. */
static void
label_set(struct lt_pipeline *p, const char *name, size_t nlen,
	  const char *value, size_t vlen)
{
	struct lt_label *l;
	size_t i;
	int found;

	if (value == NULL)
		value = "";
	if (is_name(name, nlen, ERROR_LABEL)) {
		p->err = value;
		p->err_len = vlen;
		return;
	}
	if (is_name(name, nlen, DETAILS_LABEL)) {
		p->details = value;
		p->details_len = vlen;
		return;
	}
	i = label_find(p->labels, p->n_labels, name, nlen, &found);
	if (!found) {
		if (p->n_labels >= LT_PL_MAX_LABELS)
			return;
		memmove(p->labels + i + 1, p->labels + i,
			(p->n_labels - i) * sizeof(*p->labels));
		p->n_labels++;
	}
	l = &p->labels[i];
	l->name = name;
	l->name_len = nlen;
	l->value = value;
	l->value_len = vlen;
}

static void
label_del(struct lt_pipeline *p, const char *name, size_t nlen)
{
	size_t i;
	int found;

	i = label_find(p->labels, p->n_labels, name, nlen, &found);
	if (!found)
		return;
	memmove(p->labels + i, p->labels + i + 1,
		(p->n_labels - i - 1) * sizeof(*p->labels));
	p->n_labels--;
}

/* Whether the entry's stream labels have name: then a parser names its
 * label NAME_extracted.  Structured metadata does not count: as in
 * Loki's LabelsBuilder.BaseHas, a parsed label of the same name replaces
 * it. */
static int
base_has(const struct lt_pipeline *p, const char *name, size_t len)
{
	int found;

	(void)label_find(p->in->labels, p->in->n_labels, name, len, &found);
	return found;
}

/* Sets a parsed label: the name is copied (with _extracted when the base
 * labels have it), the value must stay put. */
static void
parsed_set(struct lt_pipeline *p, const char *name, size_t nlen,
	   const char *value, size_t vlen)
{
	char *n;
	size_t len = nlen;

	if (nlen == 0)
		return;
	if (base_has(p, name, nlen))
		len += sizeof(EXTRACTED) - 1;
	if ((n = arena_alloc(&p->arena, len + 1)) == NULL) {
		p->oom = 1;
		return;
	}
	memcpy(n, name, nlen);
	if (len > nlen)
		memcpy(n + nlen, EXTRACTED, sizeof(EXTRACTED) - 1);
	n[len] = '\0';
	label_set(p, n, len, value, vlen);
}

/* ---- UTF-8 and escapes ---- */

/* The length of the valid UTF-8 sequence at s, or 0 (Go's DecodeRune then
 * yields RuneError for one byte).  *cp gets the code point. */
static size_t
utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c = s[0];
	size_t len, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		c &= 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		c &= 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		c &= 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (len == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	*cp = c;
	return len;
}

/* Loki turns what Go reads as utf8.RuneError (invalid bytes, and U+FFFD
 * itself) into spaces: Prometheus refuses it in label values.  Returns s
 * when there is none, else a copy in the arena (NULL: out of memory). */
static const char *
utf8_fix(struct lt_pipeline *p, const char *s, size_t len, size_t *outlen)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, k, o;
	uint32_t cp;
	char *d;

	for (i = 0; i < len; i += k) {
		k = 1;
		if (u[i] < 0x80) /* ASCII, most values: no decoding */
			continue;
		k = utf8_seq(u + i, len - i, &cp);
		if (k == 0 || cp == 0xfffd)
			break;
	}
	*outlen = len;
	if (i == len)
		return s;
	if ((d = arena_alloc(&p->arena, len + 1)) == NULL) {
		p->oom = 1;
		return NULL;
	}
	memcpy(d, s, i);
	for (o = i; i < len; i += k) {
		k = utf8_seq(u + i, len - i, &cp);
		if (k == 0 || cp == 0xfffd) {
			d[o++] = ' ';
			if (k == 0)
				k = 1;
			continue;
		}
		memcpy(d + o, s + i, k);
		o += k;
	}
	d[o] = '\0';
	*outlen = o;
	return d;
}

static int
hex4(const char *s, uint32_t *v)
{
	int i;
	char c;

	*v = 0;
	for (i = 0; i < 4; i++) {
		c = s[i];
		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

/* Unescapes the inside of a JSON string into d (at least len bytes: an
 * escape is never shorter than what it stands for).  logfmt (its
 * unquoteBytes) also takes \' and refuses control characters.  Returns
 * the length, or -1 for an invalid escape. */
static long
json_unescape(const char *s, size_t len, char *d, int logfmt)
{
	size_t i = 0, o = 0;
	uint32_t cp, lo;

	while (i < len) {
		if (logfmt && (unsigned char)s[i] < ' ')
			return -1;
		if (s[i] != '\\') {
			d[o++] = s[i++];
			continue;
		}
		if (i + 1 >= len)
			return -1;
		switch (s[i + 1]) {
		case '"': d[o++] = '"'; break;
		case '\\': d[o++] = '\\'; break;
		case '/': d[o++] = '/'; break;
		case 'b': d[o++] = '\b'; break;
		case 'f': d[o++] = '\f'; break;
		case 'n': d[o++] = '\n'; break;
		case 'r': d[o++] = '\r'; break;
		case 't': d[o++] = '\t'; break;
		case '\'':
			if (!logfmt)
				return -1;
			d[o++] = '\'';
			break;
		case 'u':
			if (len - i < 6 || hex4(s + i + 2, &cp) < 0)
				return -1;
			i += 6;
			if (cp >= 0xd800 && cp <= 0xdbff && len - i >= 6 &&
			    s[i] == '\\' && s[i + 1] == 'u' &&
			    hex4(s + i + 2, &lo) == 0 && lo >= 0xdc00 &&
			    lo <= 0xdfff) {
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				i += 6;
			} else if (cp >= 0xd800 && cp <= 0xdfff) {
				cp = 0xfffd;
			}
			o += lt_utf8_put(d + o, cp);
			continue;
		default:
			return -1;
		}
		i += 2;
	}
	return (long)o;
}

/* A JSON string's value as a label value: unescaped, its invalid UTF-8
 * turned to spaces; "" when an escape is invalid (Loki's
 * unescapeJSONString).  Points into s when nothing changes. */
static const char *
json_string_value(struct lt_pipeline *p, const char *s, size_t len,
		  int escaped, size_t *outlen)
{
	char *d;
	long n;

	if (escaped) {
		if ((d = arena_alloc(&p->arena, len + 1)) == NULL) {
			p->oom = 1;
			return NULL;
		}
		if ((n = json_unescape(s, len, d, 0)) < 0) {
			*outlen = 0;
			return "";
		}
		d[n] = '\0';
		s = d;
		len = (size_t)n;
	}
	return utf8_fix(p, s, len, outlen);
}

/* Appends key to a label name as Loki's sanitizeLabelKey/appendSanitized:
 * spaces around trimmed, a leading digit (of the whole name) prefixed with
 * "_", every character but [a-zA-Z0-9_] turned into one "_". */
static int
append_sanitized(struct lt_buf *b, const char *key, size_t len)
{
	const unsigned char *u = (const unsigned char *)key;
	size_t i, k;
	uint32_t cp;
	unsigned char c;

	while (len > 0 && (key[0] == ' ' || (key[0] >= '\t' && key[0] <= '\r'))) {
		key++;
		u++;
		len--;
	}
	while (len > 0 && (key[len - 1] == ' ' ||
			   (key[len - 1] >= '\t' && key[len - 1] <= '\r')))
		len--;
	if (len == 0)
		return 0;
	if (b->len == 0 && u[0] >= '0' && u[0] <= '9' &&
	    lt_buf_append_byte(b, '_') < 0)
		return -1;
	/* At most a byte each, written in place. */
	if (lt_buf_reserve(b, len) < 0)
		return -1;
	for (i = 0; i < len; i += k) {
		c = u[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_') {
			k = 1;
		} else {
			k = utf8_seq(u + i, len - i, &cp);
			if (k == 0)
				k = 1;
			c = '_';
		}
		b->data[b->len++] = c;
	}
	return 0;
}

/* ---- regexes ---- */

static pcre2_code *
re_compile(const char *re, size_t len, uint32_t extra, char *why,
	   size_t whylen)
{
	pcre2_code *code;
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	int errcode;

	code = pcre2_compile((PCRE2_SPTR)re, len,
			     PCRE2_UTF | PCRE2_MATCH_INVALID_UTF |
			     PCRE2_DOLLAR_ENDONLY | extra,
			     &errcode, &off, NULL);
	if (code == NULL) {
		if (pcre2_get_error_message(errcode, msg, sizeof(msg)) < 0)
			msg[0] = '\0';
		say(why, whylen, "invalid regexp \"%.*s\": %s at offset %zu",
		    len > 200 ? 200 : (int)len, re, (const char *)msg,
		    (size_t)off);
		return NULL;
	}
	/* JIT when the platform has it; its failure is no error. */
	(void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
	return code;
}

/* Whether re matches subject: 1, 0; a match past the limits counts as no
 * match. */
static int
re_match(struct lt_pipeline *p, pcre2_code *re, const char *s, size_t len,
	 size_t start)
{
	int rc;

	rc = pcre2_match(re, (PCRE2_SPTR)(s != NULL ? s : ""), len, start, 0,
			 p->md, p->mctx);
	return rc >= 0;
}

static int
matcher_matches(struct lt_pipeline *p, const struct pl_matcher *m,
		const char *v, size_t len)
{
	int eq;

	switch (m->op) {
	case LT_MATCH_EQ:
	case LT_MATCH_NE:
		eq = len == m->value_len &&
		     (len == 0 || memcmp(v, m->value, len) == 0);
		return m->op == LT_MATCH_EQ ? eq : !eq;
	case LT_MATCH_RE:
		return re_match(p, m->re, v, len, 0);
	case LT_MATCH_NRE:
		return !re_match(p, m->re, v, len, 0);
	}
	return 0;
}

/* Compiles a matcher: name op "value" (value NULL: by name only). */
static int
matcher_init(struct pl_matcher *m, const char *name, const char *value,
	     enum lt_match_op op, char *why, size_t whylen)
{
	m->name_len = strlen(name);
	if ((m->name = dup_mem(name, m->name_len)) == NULL)
		goto oom;
	m->op = op;
	if (value == NULL)
		return 0;
	m->value_len = strlen(value);
	if ((m->value = dup_mem(value, m->value_len)) == NULL)
		goto oom;
	if (op == LT_MATCH_RE || op == LT_MATCH_NRE) {
		/* Anchored at both ends, as Prometheus' matchers are. */
		m->re = re_compile(value, m->value_len,
				   PCRE2_ANCHORED | PCRE2_ENDANCHORED, why,
				   whylen);
		if (m->re == NULL)
			return -1;
	}
	return 0;
oom:
	say(why, whylen, "out of memory");
	return -1;
}

static void
matcher_free(struct pl_matcher *m)
{
	free(m->name);
	free(m->value);
	pcre2_code_free(m->re);
}

/* The value a matcher reads: the error labels live apart; an absent label
 * is "". */
static const char *
matcher_value(const struct lt_pipeline *p, const struct pl_matcher *m,
	      size_t *len)
{
	const char *v;

	if (is_name(m->name, m->name_len, ERROR_LABEL)) {
		*len = p->err != NULL ? p->err_len : 0;
		return p->err != NULL ? p->err : "";
	}
	if (is_name(m->name, m->name_len, DETAILS_LABEL)) {
		*len = p->details != NULL ? p->details_len : 0;
		return p->details != NULL ? p->details : "";
	}
	if ((v = label_get(p, m->name, m->name_len, len)) == NULL) {
		*len = 0;
		return "";
	}
	return v;
}

/* ---- line filters ---- */

static int
run_line_filter(struct lt_pipeline *p, const struct pl_stage *s)
{
	size_t i;
	int hit = 0;

	for (i = 0; i < s->n_values && !hit; i++) {
		if (s->res != NULL)
			hit = re_match(p, s->res[i], p->line, p->line_len, 0);
		else
			hit = find_mem(p->line, p->line_len, s->values[i],
				       s->value_lens[i]) != NULL;
	}
	if (s->line_op == LT_LINE_CONTAINS || s->line_op == LT_LINE_MATCH)
		return hit;
	return !hit;
}

/* ---- json ---- */

struct js {
	const char *s;
	size_t n, pos;
	const char *err;
};

enum js_type { JS_STRING, JS_NUMBER, JS_BOOL, JS_NULL, JS_OBJECT, JS_ARRAY };

static void
js_ws(struct js *j)
{
	char c;

	while (j->pos < j->n) {
		c = j->s[j->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			return;
		j->pos++;
	}
}

/* The string whose quote is at pos: its inside [*a, *b). */
static int
js_string(struct js *j, size_t *a, size_t *b, int *escaped)
{
	size_t i = j->pos + 1;

	*escaped = 0;
	while (i < j->n) {
		if (j->s[i] == '\\') {
			*escaped = 1;
			i += 2;
			continue;
		}
		if (j->s[i] == '"') {
			*a = j->pos + 1;
			*b = i;
			j->pos = i + 1;
			return 0;
		}
		i++;
	}
	j->err = JSON_ERR_STRING;
	return -1;
}

/* Skips the object or array at pos, counting its brackets outside
 * strings, as jsonparser's blockEnd. */
static int
js_block(struct js *j)
{
	char open = j->s[j->pos], close = open == '{' ? '}' : ']';
	size_t a, b;
	int level = 0, esc;
	char c;

	while (j->pos < j->n) {
		c = j->s[j->pos];
		if (c == '"') {
			if (js_string(j, &a, &b, &esc) < 0)
				return -1;
			continue;
		}
		if (c == open) {
			level++;
		} else if (c == close && --level == 0) {
			j->pos++;
			return 0;
		}
		j->pos++;
	}
	j->err = open == '{' ? JSON_ERR_OBJECT : JSON_ERR_ARRAY;
	return -1;
}

/* Reads the value at pos (after spaces): its type and extent (of a
 * string, the inside). */
static int
js_value(struct js *j, enum js_type *t, size_t *a, size_t *b, int *escaped)
{
	size_t e;
	char c;

	*escaped = 0;
	js_ws(j);
	if (j->pos >= j->n) {
		j->err = JSON_ERR_VALUE;
		return -1;
	}
	c = j->s[j->pos];
	if (c == '"') {
		*t = JS_STRING;
		return js_string(j, a, b, escaped);
	}
	if (c == '{' || c == '[') {
		*t = c == '{' ? JS_OBJECT : JS_ARRAY;
		*a = j->pos;
		if (js_block(j) < 0)
			return -1;
		*b = j->pos;
		return 0;
	}
	for (e = j->pos; e < j->n; e++) {
		c = j->s[e];
		if (c == ' ' || c == '\n' || c == '\r' || c == '\t' ||
		    c == ',' || c == '}' || c == ']')
			break;
	}
	if (e == j->pos) {
		j->err = JSON_ERR_VALUE;
		return -1;
	}
	*a = j->pos;
	*b = e;
	c = j->s[j->pos];
	if ((e - j->pos == 4 && memcmp(j->s + j->pos, "true", 4) == 0) ||
	    (e - j->pos == 5 && memcmp(j->s + j->pos, "false", 5) == 0))
		*t = JS_BOOL;
	else if (e - j->pos == 4 && memcmp(j->s + j->pos, "null", 4) == 0)
		*t = JS_NULL;
	else if (c == '-' || (c >= '0' && c <= '9'))
		*t = JS_NUMBER;
	else {
		j->err = JSON_ERR_UNKNOWN;
		return -1;
	}
	j->pos = e;
	return 0;
}

/* After a member: "," (1), "}" (0), or an error. */
static int
js_next(struct js *j)
{
	js_ws(j);
	if (j->pos < j->n && j->s[j->pos] == ',') {
		j->pos++;
		return 1;
	}
	if (j->pos < j->n && j->s[j->pos] == '}') {
		j->pos++;
		return 0;
	}
	j->err = JSON_ERR_OBJECT;
	return -1;
}

/* Reads the key of a member at pos and its ":": the key unescaped into
 * the arena when it has escapes. */
static int
js_key(struct lt_pipeline *p, struct js *j, const char **key, size_t *len)
{
	size_t a, b;
	char *d;
	long n;
	int esc;

	js_ws(j);
	if (j->pos >= j->n || j->s[j->pos] != '"') {
		j->err = JSON_ERR_OBJECT;
		return -1;
	}
	if (js_string(j, &a, &b, &esc) < 0)
		return -1;
	*key = j->s + a;
	*len = b - a;
	if (esc) {
		if ((d = arena_alloc(&p->arena, b - a + 1)) == NULL) {
			p->oom = 1;
			return -1;
		}
		if ((n = json_unescape(j->s + a, b - a, d, 0)) < 0) {
			j->err = JSON_ERR_ESCAPE;
			return -1;
		}
		*key = d;
		*len = (size_t)n;
	}
	js_ws(j);
	if (j->pos >= j->n || j->s[j->pos] != ':') {
		j->err = JSON_ERR_OBJECT;
		return -1;
	}
	j->pos++;
	return 0;
}

/* The label value of a leaf. */
static const char *
js_leaf_value(struct lt_pipeline *p, const struct js *j, enum js_type t,
	      size_t a, size_t b, int esc, size_t *len)
{
	if (t == JS_STRING)
		return json_string_value(p, j->s + a, b - a, esc, len);
	*len = b - a;
	return j->s + a;
}

/* Walks the object at pos, setting a label for every string, number and
 * boolean leaf, named by the keys that lead to it joined with "_"
 * (p->name holds the prefix).  Labels set before an error stay, as with
 * Loki's jsonparser.ObjectEach. */
static int
json_walk(struct lt_pipeline *p, struct js *j, int depth)
{
	const char *key, *v;
	size_t klen, a, b, vlen, prefix = p->name.len;
	enum js_type t;
	int esc, more;

	js_ws(j);
	if (j->pos >= j->n || j->s[j->pos] != '{') {
		j->err = JSON_ERR_OBJECT;
		return -1;
	}
	j->pos++;
	js_ws(j);
	if (j->pos < j->n && j->s[j->pos] == '}') {
		j->pos++;
		return 0;
	}
	do {
		if (js_key(p, j, &key, &klen) < 0)
			return -1;
		p->name.len = prefix;
		if ((prefix > 0 && lt_buf_append_byte(&p->name, '_') < 0) ||
		    append_sanitized(&p->name, key, klen) < 0) {
			p->oom = 1;
			return -1;
		}
		js_ws(j);
		if (j->pos < j->n && j->s[j->pos] == '{' &&
		    depth < JSON_MAX_DEPTH) {
			if (json_walk(p, j, depth + 1) < 0)
				return -1;
		} else {
			if (js_value(j, &t, &a, &b, &esc) < 0)
				return -1;
			if (t == JS_STRING || t == JS_NUMBER || t == JS_BOOL) {
				v = js_leaf_value(p, j, t, a, b, esc, &vlen);
				if (p->oom)
					return -1;
				parsed_set(p, (const char *)p->name.data,
					   p->name.len, v, vlen);
				if (p->oom)
					return -1;
			}
		}
		p->name.len = prefix;
	} while ((more = js_next(j)) == 1);
	return more;
}

/* Finds the member of the object at pos whose key is key; leaves pos at
 * its value.  Returns 1, 0 when there is none, -1 when malformed. */
static int
js_find_key(struct lt_pipeline *p, struct js *j, const char *want,
	    size_t want_len)
{
	const char *key;
	size_t klen, a, b;
	enum js_type t;
	int esc, more;

	js_ws(j);
	if (j->pos >= j->n || j->s[j->pos] != '{')
		return 0;
	j->pos++;
	js_ws(j);
	if (j->pos < j->n && j->s[j->pos] == '}')
		return 0;
	do {
		if (js_key(p, j, &key, &klen) < 0)
			return -1;
		if (klen == want_len && memcmp(key, want, klen) == 0)
			return 1;
		if (js_value(j, &t, &a, &b, &esc) < 0)
			return -1;
	} while ((more = js_next(j)) == 1);
	return more < 0 ? -1 : 0;
}

static int
js_find_index(struct js *j, size_t index)
{
	size_t i, a, b;
	enum js_type t;
	int esc;

	js_ws(j);
	if (j->pos >= j->n || j->s[j->pos] != '[')
		return 0;
	j->pos++;
	js_ws(j);
	if (j->pos < j->n && j->s[j->pos] == ']')
		return 0;
	for (i = 0;; i++) {
		if (i == index)
			return 1;
		if (js_value(j, &t, &a, &b, &esc) < 0)
			return -1;
		js_ws(j);
		if (j->pos >= j->n || j->s[j->pos] != ',')
			return 0;
		j->pos++;
	}
}

/* json a="x.y[0]": the value at the path, as Loki's JSONExpressionParser
 * (jsonparser.EachKey): strings unescaped, objects as their text. */
static int
json_path_value(struct lt_pipeline *p, const struct pl_param *prm,
		const char **v, size_t *vlen)
{
	struct js j = {p->line, p->line_len, 0, NULL};
	size_t i, a, b;
	enum js_type t;
	int esc, rc;

	for (i = 0; i < prm->n_path; i++) {
		if (prm->path[i].key != NULL)
			rc = js_find_key(p, &j, prm->path[i].key,
					 prm->path[i].key_len);
		else
			rc = js_find_index(&j, prm->path[i].index);
		if (rc <= 0)
			return 0;
	}
	if (js_value(&j, &t, &a, &b, &esc) < 0)
		return 0;
	if (t == JS_NULL) {
		*v = "";
		*vlen = 0;
	} else if (t == JS_OBJECT) {
		*v = p->line + a;
		*vlen = b - a;
	} else {
		*v = json_string_value(p, p->line + a, b - a,
				       t == JS_STRING ? esc :
				       memchr(p->line + a, '\\', b - a) != NULL,
				       vlen);
	}
	return 1;
}

static void
run_json_params(struct lt_pipeline *p, const struct pl_stage *s)
{
	const struct pl_param *prm;
	const char *v;
	size_t i, vlen;

	if (p->line_len == 0)
		return;
	if (p->line[0] != '"' && p->line[0] != '{' && p->line[0] != '[') {
		set_error(p, "JSONParserErr", NULL, 0);
		return;
	}
	for (i = 0; i < s->n_params && !p->oom; i++) {
		prm = &s->params[i];
		if (json_path_value(p, prm, &v, &vlen)) {
			if (!p->oom)
				parsed_set(p, prm->name, prm->name_len, v, vlen);
		} else if (label_get(p, prm->name, prm->name_len, &vlen) ==
			   NULL) {
			label_set(p, prm->name, prm->name_len, "", 0);
		}
	}
}

static void
run_json(struct lt_pipeline *p, const struct pl_stage *s)
{
	struct js j = {p->line, p->line_len, 0, NULL};

	if (s->n_params > 0) {
		run_json_params(p, s);
		return;
	}
	p->name.len = 0;
	if (json_walk(p, &j, 0) < 0 && !p->oom)
		set_error(p, "JSONParserErr", j.err, strlen(j.err));
}

/* ---- logfmt: Loki's fork of go-logfmt's decoder ---- */

struct lfd {
	const char *s;
	size_t n, pos;
	const char *key, *val;
	size_t klen, vlen;
	int val_esc;        /* val is a quoted value with escapes */
	char err[96];
	int has_err;
};

static void
lfd_error(struct lfd *d, const char *msg)
{
	d->has_err = 1;
	(void)snprintf(d->err, sizeof(d->err),
		       "logfmt syntax error at pos %zu : %s", d->pos + 1, msg);
}

static void
lfd_unexpected(struct lfd *d, char c)
{
	char msg[16];

	if (c == '"')
		(void)snprintf(msg, sizeof(msg), "unexpected '\"'");
	else
		(void)snprintf(msg, sizeof(msg), "unexpected '%c'", c);
	lfd_error(d, msg);
}

/* Whether key holds what Go reads as utf8.RuneError. */
static int
has_rune_error(const char *s, size_t len)
{
	size_t i, k;
	uint32_t cp;

	for (i = 0; i < len; i += k) {
		k = utf8_seq((const unsigned char *)s + i, len - i, &cp);
		if (k == 0 || cp == 0xfffd)
			return 1;
	}
	return 0;
}

static int
lfd_skip_value(struct lfd *d)
{
	while (d->pos < d->n && (unsigned char)d->s[d->pos] > ' ')
		d->pos++;
	return 0;
}

static int
lfd_key_ok(struct lfd *d, size_t start, int multibyte)
{
	d->key = d->s + start;
	d->klen = d->pos - start;
	if (multibyte && has_rune_error(d->key, d->klen)) {
		d->key = NULL;
		lfd_error(d, "invalid key");
		return 0;
	}
	return 1;
}

static int
lfd_qvalue(struct lfd *d)
{
	size_t i, start = d->pos;
	int esc = 0, has_esc = 0;
	char c;

	for (i = d->pos + 1; i < d->n; i++) {
		c = d->s[i];
		if (esc) {
			esc = 0;
		} else if (c == '\\') {
			has_esc = esc = 1;
		} else if (c == '"') {
			d->pos = i + 1;
			d->val = d->s + start + 1;
			d->vlen = i - start - 1;
			d->val_esc = has_esc;
			return 1;
		}
	}
	d->pos = d->n;
	lfd_error(d, "unterminated quoted value");
	return 0;
}

/* The next key=value: 1 with key (and value) set, 0 at the end of the
 * line or after an error (has_err). */
static int
lfd_scan(struct lfd *d)
{
	size_t start;
	int multibyte = 0;
	unsigned char c;

	d->key = d->val = NULL;
	d->klen = d->vlen = 0;
	d->val_esc = 0;
	while (d->pos < d->n && (unsigned char)d->s[d->pos] <= ' ')
		d->pos++;
	if (d->pos >= d->n)
		return 0;
	for (start = d->pos; d->pos < d->n; d->pos++) {
		c = (unsigned char)d->s[d->pos];
		if (c == '=') {
			if (d->pos == start) {
				lfd_unexpected(d, '=');
				return lfd_skip_value(d);
			}
			if (!lfd_key_ok(d, start, multibyte))
				return lfd_skip_value(d);
			break;
		}
		if (c == '"') {
			lfd_unexpected(d, '"');
			return lfd_skip_value(d);
		}
		if (c <= ' ')
			return lfd_key_ok(d, start, multibyte);
		if (c >= 0x80)
			multibyte = 1;
	}
	if (d->pos >= d->n)
		return lfd_key_ok(d, start, multibyte);
	/* At '=' */
	d->pos++;
	if (d->pos >= d->n || (unsigned char)d->s[d->pos] <= ' ')
		return 1;
	if (d->s[d->pos] == '"')
		return lfd_qvalue(d);
	for (start = d->pos; d->pos < d->n; d->pos++) {
		c = (unsigned char)d->s[d->pos];
		if (c == '=' || c == '"') {
			lfd_unexpected(d, (char)c);
			d->key = NULL;
			return lfd_skip_value(d);
		}
		if (c <= ' ')
			break;
	}
	d->val = d->s + start;
	d->vlen = d->pos - start;
	return 1;
}

/* The value just scanned, unquoted and with its RuneErrors as spaces.
 * NULL with *bad set when its escapes are invalid. */
static const char *
lfd_value(struct lt_pipeline *p, struct lfd *d, size_t *len, int *bad)
{
	char *o;
	long n;

	*bad = 0;
	if (d->val == NULL) {
		*len = 0;
		return "";
	}
	if (!d->val_esc)
		return utf8_fix(p, d->val, d->vlen, len);
	if ((o = arena_alloc(&p->arena, d->vlen + 1)) == NULL) {
		p->oom = 1;
		return NULL;
	}
	if ((n = json_unescape(d->val, d->vlen, o, 1)) < 0) {
		*bad = 1;
		return NULL;
	}
	o[n] = '\0';
	return utf8_fix(p, o, (size_t)n, len);
}

/* Which parameter a key (sanitized) names, as Loki's
 * LogfmtExpressionParser: first a parameter whose expression is the key,
 * then one whose name is. */
static const struct pl_param *
logfmt_param(const struct pl_stage *s, const char *key, size_t len)
{
	size_t i;

	for (i = 0; i < s->n_params; i++) {
		if (s->params[i].expr_len == len &&
		    memcmp(s->params[i].expr, key, len) == 0)
			return &s->params[i];
	}
	for (i = 0; i < s->n_params; i++) {
		if (s->params[i].name_len == len &&
		    memcmp(s->params[i].name, key, len) == 0)
			return &s->params[i];
	}
	return NULL;
}

static void
run_logfmt(struct lt_pipeline *p, const struct pl_stage *s)
{
	struct lfd d;
	const struct pl_param *prm;
	const char *v;
	size_t i, vlen;
	int bad;

	memset(&d, 0, sizeof(d));
	d.s = p->line;
	d.n = p->line_len;
	/* With parameters, every one gets a label, "" until found. */
	for (i = 0; i < s->n_params; i++) {
		prm = &s->params[i];
		if (!base_has(p, prm->name, prm->name_len))
			label_set(p, prm->name, prm->name_len, "", 0);
	}
	while (d.pos < d.n && !p->oom) {
		if (!lfd_scan(&d) || d.key == NULL) {
			if (s->strict)
				break;
			continue;
		}
		v = lfd_value(p, &d, &vlen, &bad);
		if (bad) {
			lfd_error(&d, "invalid quoted value");
			if (s->strict)
				break;
			continue;
		}
		if (p->oom)
			break;
		p->name.len = 0;
		if (append_sanitized(&p->name, d.key, d.klen) < 0) {
			p->oom = 1;
			break;
		}
		if (p->name.len == 0)
			continue;
		if (s->n_params > 0) {
			prm = logfmt_param(s, (const char *)p->name.data,
					   p->name.len);
			if (prm != NULL)
				parsed_set(p, prm->name, prm->name_len, v,
					   vlen);
			continue;
		}
		if (!s->keep_empty && vlen == 0)
			continue;
		parsed_set(p, (const char *)p->name.data, p->name.len, v,
			   vlen);
	}
	if (s->strict && d.has_err && !p->oom)
		set_errorf(p, "LogfmtParserErr", "%s", d.err);
}

/* ---- regexp, pattern, unpack ---- */

static void
run_regexp(struct lt_pipeline *p, const struct pl_stage *s)
{
	PCRE2_SIZE *ov;
	uint32_t g;
	size_t i;
	int rc;

	rc = pcre2_match(s->re, (PCRE2_SPTR)p->line, p->line_len, 0, 0, p->md,
			 p->mctx);
	if (rc < 0)
		return;
	ov = pcre2_get_ovector_pointer(p->md);
	for (i = 0; i < s->n_groups && !p->oom; i++) {
		g = s->groups[i];
		if (g >= (uint32_t)rc || ov[2 * g] == PCRE2_UNSET)
			parsed_set(p, s->group_names[i],
				   strlen(s->group_names[i]), "", 0);
		else
			parsed_set(p, s->group_names[i],
				   strlen(s->group_names[i]), p->line + ov[2 * g],
				   ov[2 * g + 1] - ov[2 * g]);
	}
}

/* Loki's pattern matcher: the leading literal must start the line; each
 * capture takes what comes before the next literal, the last one the
 * rest; a literal not found ends the match with the capture before it
 * taking the rest. */
static void
run_pattern(struct lt_pipeline *p, const struct pl_stage *s)
{
	const struct pl_piece *cap;
	const char *in = p->line, *at;
	size_t i = 0, len = p->line_len;

	if (len == 0 || s->n_pieces == 0)
		return;
	if (!s->pieces[0].capture) {
		if (len < s->pieces[0].len ||
		    memcmp(in, s->pieces[0].text, s->pieces[0].len) != 0)
			return;
		in += s->pieces[0].len;
		len -= s->pieces[0].len;
		i = 1;
	}
	while (i < s->n_pieces && !p->oom) {
		cap = &s->pieces[i];
		if (i + 1 == s->n_pieces) {
			if (cap->text != NULL)
				parsed_set(p, cap->text, cap->len, in, len);
			return;
		}
		at = find_mem(in, len, s->pieces[i + 1].text,
			      s->pieces[i + 1].len);
		if (at == NULL) {
			if (cap->text != NULL)
				parsed_set(p, cap->text, cap->len, in, len);
			return;
		}
		if (cap->text != NULL)
			parsed_set(p, cap->text, cap->len, in, (size_t)(at - in));
		len -= (size_t)(at - in) + s->pieces[i + 1].len;
		in = at + s->pieces[i + 1].len;
		i += 2;
	}
}

/* Walks the members of the unpacked object: finds its _entry (pass 0) or
 * sets a label for every other string member (pass 1).  Returns 0 or -1
 * (j->err set, or p->oom). */
static int
unpack_pass(struct lt_pipeline *p, struct js *j, int pass,
	    const char **entry, size_t *entry_len)
{
	const char *key, *v;
	size_t klen, a, b, vlen;
	enum js_type t;
	int esc, more;
	char *d;
	long m;

	j->pos = 1;
	js_ws(j);
	if (j->pos < j->n && j->s[j->pos] == '}')
		return 0;
	do {
		if (js_key(p, j, &key, &klen) < 0 ||
		    js_value(j, &t, &a, &b, &esc) < 0)
			return -1;
		if (t != JS_STRING)
			continue;
		if (is_name(key, klen, "_entry")) {
			if (pass == 1)
				continue;
			*entry = j->s + a;
			*entry_len = b - a;
			if (!esc)
				continue;
			if ((d = arena_alloc(&p->arena, b - a + 1)) == NULL) {
				p->oom = 1;
				return -1;
			}
			if ((m = json_unescape(j->s + a, b - a, d, 0)) < 0) {
				j->err = JSON_ERR_ESCAPE;
				return -1;
			}
			*entry = d;
			*entry_len = (size_t)m;
			continue;
		}
		if (pass == 0)
			continue;
		v = json_string_value(p, j->s + a, b - a, esc, &vlen);
		p->name.len = 0;
		if (p->oom || append_sanitized(&p->name, key, klen) < 0) {
			p->oom = 1;
			return -1;
		}
		parsed_set(p, (const char *)p->name.data, p->name.len, v, vlen);
	} while ((more = js_next(j)) == 1);
	return more;
}

/* unpack: a JSON object's string members become labels and its _entry the
 * line.  As Loki's UnpackParser, the labels are set only when there is an
 * _entry (what Promtail's pack stage wrote). */
static void
run_unpack(struct lt_pipeline *p)
{
	struct js j = {p->line, p->line_len, 0, NULL};
	const char *entry = NULL;
	size_t entry_len = 0;

	if (p->line_len == 0)
		return;
	if (p->line[0] != '{') {
		set_error(p, "JSONParserErr", UNPACK_ERR_OBJECT,
			  strlen(UNPACK_ERR_OBJECT));
		return;
	}
	if (unpack_pass(p, &j, 0, &entry, &entry_len) < 0) {
		if (!p->oom)
			set_error(p, "JSONParserErr", j.err, strlen(j.err));
		return;
	}
	if (entry == NULL)
		return;
	if (unpack_pass(p, &j, 1, &entry, &entry_len) < 0)
		return;
	p->line = entry;
	p->line_len = entry_len;
}

/* ---- label filters ---- */

/* Go's strconv.ParseFloat, near enough: no spaces, no C-only forms (hex
 * without an exponent, nan(...)).  Returns 0, or -1 with why ("invalid
 * syntax", "value out of range"). */
static int
go_parse_float(const char *s, double *v, const char **why)
{
	const char *x;
	char *end;

	*why = "invalid syntax";
	if (s[0] == '\0' || s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r') ||
	    strchr(s, '(') != NULL)
		return -1;
	x = s + (s[0] == '+' || s[0] == '-');
	if (x[0] == '0' && (x[1] == 'x' || x[1] == 'X') &&
	    strpbrk(x, "pP") == NULL)
		return -1;
	errno = 0;
	*v = strtod(s, &end);
	if (*end != '\0')
		return -1;
	if (errno == ERANGE && isinf(*v)) {
		*why = "value out of range";
		return -1;
	}
	return 0;
}

static int
compare(double a, enum lt_cmp_op op, double b)
{
	switch (op) {
	case LT_CMP_EQ: return a == b;
	case LT_CMP_NE: return a != b;
	case LT_CMP_GT: return a > b;
	case LT_CMP_GE: return a >= b;
	case LT_CMP_LT: return a < b;
	case LT_CMP_LE: return a <= b;
	}
	return 0;
}

/* A number, duration or size filter: an absent label drops the entry, one
 * that does not parse marks it (unless it has an error already) and keeps
 * it, as Loki's NumericLabelFilter. */
static int
run_compare(struct lt_pipeline *p, const struct pl_filter *f)
{
	const char *v, *why;
	size_t len;
	double x;
	int rc;

	if ((v = label_get(p, f->m.name, f->m.name_len, &len)) == NULL)
		return 0;
	p->tmp.len = 0;
	if (lt_buf_append(&p->tmp, v, len) < 0 || lt_buf_terminate(&p->tmp) < 0) {
		p->oom = 1;
		return 0;
	}
	v = (const char *)p->tmp.data;
	why = "invalid syntax";
	if (f->kind == LT_LF_DURATION)
		rc = lt_go_duration(v, &x);
	else if (f->kind == LT_LF_BYTES)
		rc = lt_go_bytes(v, &x);
	else
		rc = go_parse_float(v, &x, &why);
	if (rc == 0)
		return compare(x, f->cmp, f->number);
	if (p->err == NULL) {
		if (f->kind == LT_LF_DURATION)
			set_errorf(p, "LabelFilterErr",
				   "time: invalid duration \"%.200s\"", v);
		else
			set_errorf(p, "LabelFilterErr",
				   "strconv.ParseFloat: parsing \"%.200s\": %s",
				   v, why);
	}
	return 1;
}

/* Evaluates a filter as Loki's BinaryLabelFilter: `or` stops at a true
 * left side, `and` evaluates both. */
static int
run_filter(struct lt_pipeline *p, const struct pl_filter *f)
{
	const char *v;
	size_t len;
	int l, r;

	switch (f->kind) {
	case LT_LF_AND:
		l = run_filter(p, f->left);
		r = run_filter(p, f->right);
		return l && r;
	case LT_LF_OR:
		if (run_filter(p, f->left))
			return 1;
		return run_filter(p, f->right);
	case LT_LF_STRING:
		v = matcher_value(p, &f->m, &len);
		return matcher_matches(p, &f->m, v, len);
	case LT_LF_NUMBER:
	case LT_LF_DURATION:
	case LT_LF_BYTES:
		return run_compare(p, f);
	}
	return 0;
}

/* ---- formats, drop, keep, decolorize ---- */

static const char *
tmpl_lookup(void *ctx, const char *name, size_t name_len, size_t *len)
{
	return label_get(ctx, name, name_len, len);
}

/* Executes t on the entry into p->tmp.  Returns 0, or -1 having set
 * __error__=TemplateFormatErr. */
static int
run_tmpl(struct lt_pipeline *p, const struct lt_tmpl *t)
{
	struct lt_tmpl_entry e;
	char why[256];

	e.lookup = tmpl_lookup;
	e.ctx = p;
	e.line = p->line;
	e.line_len = p->line_len;
	e.ts_ns = p->in->ts_ns;
	p->tmp.len = 0;
	why[0] = '\0';
	if (lt_tmpl_execute(t, &e, &p->tmp, LT_PL_MAX_LINE, why,
			    sizeof(why)) < 0) {
		if (strcmp(why, "out of memory") == 0)
			p->oom = 1;
		else
			set_errorf(p, "TemplateFormatErr", "%s", why);
		return -1;
	}
	return 0;
}

static void
run_line_format(struct lt_pipeline *p, const struct pl_stage *s)
{
	char *d;

	if (run_tmpl(p, s->tmpl) < 0)
		return;
	if ((d = arena_dup(p, (const char *)p->tmp.data, p->tmp.len)) == NULL)
		return;
	p->line = d;
	p->line_len = p->tmp.len;
}

/* label_format: dst=src moves src's value to dst (src removed);
 * dst="{{...}}" sets dst from the template. */
static void
run_label_format(struct lt_pipeline *p, const struct pl_stage *s)
{
	const struct pl_param *prm;
	const char *v;
	char *d;
	size_t i, len;

	for (i = 0; i < s->n_params && !p->oom; i++) {
		prm = &s->params[i];
		if (prm->tmpl == NULL) {
			v = label_get(p, prm->expr, prm->expr_len, &len);
			if (v == NULL)
				continue;
			label_set(p, prm->name, prm->name_len, v, len);
			label_del(p, prm->expr, prm->expr_len);
			continue;
		}
		if (run_tmpl(p, prm->tmpl) < 0)
			continue;
		if ((d = arena_dup(p, (const char *)p->tmp.data, p->tmp.len)) ==
		    NULL)
			return;
		label_set(p, prm->name, prm->name_len, d, p->tmp.len);
	}
}

static void
run_drop(struct lt_pipeline *p, const struct pl_stage *s)
{
	const struct pl_matcher *m;
	const char *v;
	size_t i, len;

	for (i = 0; i < s->n_matchers; i++) {
		m = &s->matchers[i];
		if (m->value != NULL) {
			v = matcher_value(p, m, &len);
			if (!matcher_matches(p, m, v, len))
				continue;
		}
		if (is_name(m->name, m->name_len, ERROR_LABEL))
			p->err = NULL;
		else if (is_name(m->name, m->name_len, DETAILS_LABEL))
			p->details = NULL;
		else
			label_del(p, m->name, m->name_len);
	}
}

/* keep: every label that no item names (or whose matcher it fails) goes;
 * the error labels stay. */
static void
run_keep(struct lt_pipeline *p, const struct pl_stage *s)
{
	const struct pl_matcher *m;
	const struct lt_label *l;
	size_t i, k, o = 0;
	int keep;

	for (i = 0; i < p->n_labels; i++) {
		l = &p->labels[i];
		keep = 0;
		for (k = 0; k < s->n_matchers && !keep; k++) {
			m = &s->matchers[k];
			if (name_cmp(m->name, m->name_len, l->name,
				     l->name_len) != 0)
				continue;
			keep = m->value == NULL ||
			       matcher_matches(p, m, l->value, l->value_len);
		}
		if (keep)
			p->labels[o++] = *l;
	}
	p->n_labels = o;
}

static void
run_decolorize(struct lt_pipeline *p, const struct pl_stage *s)
{
	PCRE2_SIZE *ov;
	size_t at = 0, o = 0;
	char *d = NULL;

	while (at <= p->line_len &&
	       pcre2_match(s->re, (PCRE2_SPTR)p->line, p->line_len, at, 0,
			   p->md, p->mctx) > 0) {
		ov = pcre2_get_ovector_pointer(p->md);
		if (d == NULL && (d = arena_alloc(&p->arena,
						  p->line_len + 1)) == NULL) {
			p->oom = 1;
			return;
		}
		memcpy(d + o, p->line + at, ov[0] - at);
		o += ov[0] - at;
		/* Every escape sequence is at least one byte long. */
		at = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
	}
	if (d == NULL)
		return;
	if (at < p->line_len) {
		memcpy(d + o, p->line + at, p->line_len - at);
		o += p->line_len - at;
	}
	d[o] = '\0';
	p->line = d;
	p->line_len = o;
}

/* ---- unwrap (metric queries) ---- */

/* Go's time.ParseDuration message for s, which lt_go_duration() refused:
 * "missing unit" or "unknown unit" where its scan stops there, else
 * "invalid duration". */
static void
duration_error(const char *s, char *out, size_t len)
{
	static const char *const units[] = {"ns", "us", "\xc2\xb5s",
		"\xce\xbcs", "ms", "s", "m", "h"};
	const char *p = s + (*s == '+' || *s == '-'), *u;
	size_t i, n;
	int digits;

	while (*p != '\0') {
		digits = 0;
		for (; *p >= '0' && *p <= '9'; p++)
			digits = 1;
		if (*p == '.')
			for (p++; *p >= '0' && *p <= '9'; p++)
				digits = 1;
		if (!digits)
			break;
		for (u = p; *p != '\0' && *p != '.' && (*p < '0' || *p > '9'); p++)
			;
		n = (size_t)(p - u);
		if (n == 0) {
			(void)snprintf(out, len, "time: missing unit in duration \"%.200s\"", s);
			return;
		}
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strlen(units[i]) == n && memcmp(units[i], u, n) == 0)
				break;
		if (i == sizeof(units) / sizeof(units[0])) {
			(void)snprintf(out, len, "time: unknown unit \"%.*s\" in duration \"%.200s\"",
				       (int)(n > 100 ? 100 : n), u, s);
			return;
		}
	}
	(void)snprintf(out, len, "time: invalid duration \"%.200s\"", s);
}

/* go-humanize's ParseBytes message for s, which lt_go_bytes() refused:
 * the number before the unit does not parse, or the unit is unknown
 * (lower case, spaces trimmed). */
static void
bytes_error(const char *s, char *out, size_t len)
{
	char num[128], unit[128];
	const char *p = s, *why;
	size_t n = 0, k = 0, end;
	double v;

	for (; (*p >= '0' && *p <= '9') || *p == '.' || *p == ','; p++)
		if (*p != ',' && n + 1 < sizeof(num))
			num[n++] = *p;
	num[n] = '\0';
	if (go_parse_float(num, &v, &why) < 0) {
		(void)snprintf(out, len, "strconv.ParseFloat: parsing \"%s\": %s",
			       num, why);
		return;
	}
	while (*p == ' ' || (*p >= '\t' && *p <= '\r'))
		p++;
	for (end = strlen(p); end > 0 && (p[end - 1] == ' ' ||
		     (p[end - 1] >= '\t' && p[end - 1] <= '\r')); end--)
		;
	for (; k < end && k + 1 < sizeof(unit); k++)
		unit[k] = (char)(p[k] >= 'A' && p[k] <= 'Z' ? p[k] - 'A' + 'a' : p[k]);
	unit[k] = '\0';
	(void)snprintf(out, len, "unhandled size name: %s", unit);
}

/* After the stages: the unwrapped label's value as a number.  An absent
 * or empty label drops the entry; one that does not convert sets
 * SampleExtractionErr and keeps it with the value 0 (or Go's infinity
 * for a float out of range); then the label filters written after the
 * unwrap.  As Loki's labelSampleExtractor.  Returns 1 keep, 0 drop. */
static int
run_unwrap(struct lt_pipeline *p, double *value)
{
	const char *v, *why = "invalid syntax";
	char msg[512];
	size_t len;
	int rc;

	*value = 0;
	v = label_get(p, p->unwrap, strlen(p->unwrap), &len);
	if (v == NULL || len == 0)
		return 0;
	p->tmp.len = 0;
	if (lt_buf_append(&p->tmp, v, len) < 0 || lt_buf_terminate(&p->tmp) < 0) {
		p->oom = 1;
		return 0;
	}
	v = (const char *)p->tmp.data;
	if (p->conv == LT_UNWRAP_DURATION)
		rc = lt_go_duration(v, value);
	else if (p->conv == LT_UNWRAP_BYTES)
		rc = lt_go_bytes(v, value);
	else
		rc = go_parse_float(v, value, &why);
	if (rc < 0) {
		if (p->conv == LT_UNWRAP_DURATION)
			duration_error(v, msg, sizeof(msg));
		else if (p->conv == LT_UNWRAP_BYTES)
			bytes_error(v, msg, sizeof(msg));
		else
			(void)snprintf(msg, sizeof(msg),
				       "strconv.ParseFloat: parsing \"%.200s\": %s", v, why);
		if (p->conv != LT_UNWRAP_NUMBER || strcmp(why, "invalid syntax") == 0)
			*value = 0;
		set_errorf(p, "SampleExtractionErr", "%s", msg);
	}
	return p->post == NULL || run_filter(p, p->post);
}

/* ---- running ---- */

/* Runs one stage: 1 keep, 0 drop. */
static int
run_stage(struct lt_pipeline *p, const struct pl_stage *s)
{
	switch (s->kind) {
	case LT_STAGE_LINE_FILTER:
		return run_line_filter(p, s);
	case LT_STAGE_LABEL_FILTER:
		return run_filter(p, s->filter);
	case LT_STAGE_JSON:
		run_json(p, s);
		break;
	case LT_STAGE_LOGFMT:
		run_logfmt(p, s);
		break;
	case LT_STAGE_REGEXP:
		run_regexp(p, s);
		break;
	case LT_STAGE_PATTERN:
		run_pattern(p, s);
		break;
	case LT_STAGE_UNPACK:
		run_unpack(p);
		break;
	case LT_STAGE_LINE_FORMAT:
		run_line_format(p, s);
		break;
	case LT_STAGE_LABEL_FORMAT:
		run_label_format(p, s);
		break;
	case LT_STAGE_DROP:
		run_drop(p, s);
		break;
	case LT_STAGE_KEEP:
		run_keep(p, s);
		break;
	case LT_STAGE_DECOLORIZE:
		run_decolorize(p, s);
		break;
	}
	return 1;
}

/* The stream labels and the structured metadata, merged (metadata wins a
 * name both have, as Loki's categories rank them). */
static void
start_labels(struct lt_pipeline *p, const struct lt_pl_input *in)
{
	size_t i = 0, k = 0;
	int c;

	p->n_labels = 0;
	while ((i < in->n_labels || k < in->n_metadata) &&
	       p->n_labels < LT_PL_MAX_LABELS) {
		if (i == in->n_labels)
			c = 1;
		else if (k == in->n_metadata)
			c = -1;
		else
			c = name_cmp(in->labels[i].name, in->labels[i].name_len,
				     in->metadata[k].name,
				     in->metadata[k].name_len);
		if (c < 0) {
			p->labels[p->n_labels++] = in->labels[i++];
		} else {
			if (c == 0)
				i++;
			p->labels[p->n_labels++] = in->metadata[k++];
		}
	}
}

/* The labels and the error labels, in order. */
static size_t
finish_labels(struct lt_pipeline *p)
{
	struct lt_label extra[2];
	size_t n_extra = 0, i = 0, k = 0, o = 0;

	if (p->err != NULL && p->err_len > 0) {
		extra[n_extra].name = ERROR_LABEL;
		extra[n_extra].name_len = sizeof(ERROR_LABEL) - 1;
		extra[n_extra].value = p->err;
		extra[n_extra++].value_len = p->err_len;
	}
	if (p->details != NULL && p->details_len > 0) {
		extra[n_extra].name = DETAILS_LABEL;
		extra[n_extra].name_len = sizeof(DETAILS_LABEL) - 1;
		extra[n_extra].value = p->details;
		extra[n_extra++].value_len = p->details_len;
	}
	while (i < p->n_labels || k < n_extra) {
		if (k == n_extra ||
		    (i < p->n_labels &&
		     name_cmp(p->labels[i].name, p->labels[i].name_len,
			      extra[k].name, extra[k].name_len) < 0))
			p->out[o++] = p->labels[i++];
		else
			p->out[o++] = extra[k++];
	}
	return o;
}

int
lt_pipeline_run(struct lt_pipeline *p, const struct lt_pl_input *in,
		struct lt_pl_output *out)
{
	size_t i;

	arena_reset(&p->arena);
	p->in = in;
	p->oom = 0;
	p->err = p->details = NULL;
	p->err_len = p->details_len = 0;
	p->line = in->line != NULL ? in->line : "";
	p->line_len = in->line_len;
	start_labels(p, in);
	for (i = 0; i < p->n_stages; i++) {
		if (!run_stage(p, &p->stages[i]))
			return p->oom ? -1 : 0;
		if (p->oom)
			return -1;
	}
	out->value = 0;
	if (p->unwrap != NULL && !run_unwrap(p, &out->value))
		return p->oom ? -1 : 0;
	if (p->oom)
		return -1;
	out->line = p->line;
	out->line_len = p->line_len;
	out->labels = p->out;
	out->n_labels = finish_labels(p);
	return 1;
}

int
lt_pipeline_keeps_all(const struct lt_pipeline *p)
{
	return p->keeps_all;
}

/* ---- compiling ---- */

static void
filter_free(struct pl_filter *f)
{
	if (f == NULL)
		return;
	filter_free(f->left);
	filter_free(f->right);
	matcher_free(&f->m);
	free(f);
}

static struct pl_filter *
filter_new(const struct lt_label_filter *src, char *why, size_t whylen)
{
	struct pl_filter *f;

	if ((f = calloc(1, sizeof(*f))) == NULL) {
		say(why, whylen, "out of memory");
		return NULL;
	}
	f->kind = src->kind;
	f->cmp = src->cmp;
	f->number = src->number;
	switch (src->kind) {
	case LT_LF_AND:
	case LT_LF_OR:
		if ((f->left = filter_new(src->left, why, whylen)) == NULL ||
		    (f->right = filter_new(src->right, why, whylen)) == NULL)
			goto fail;
		break;
	case LT_LF_STRING:
		if (matcher_init(&f->m, src->matcher.name, src->matcher.value,
				 src->matcher.op, why, whylen) < 0)
			goto fail;
		break;
	case LT_LF_NUMBER:
	case LT_LF_DURATION:
	case LT_LF_BYTES:
		if (matcher_init(&f->m, src->name, NULL, LT_MATCH_EQ, why,
				 whylen) < 0)
			goto fail;
		break;
	}
	return f;
fail:
	filter_free(f);
	return NULL;
}

/* Parses a JSON path as Loki's jsonexpr: a.b, a[0], a["b c"], ["a"]. */
static int
path_parse(struct pl_param *prm, const char *e, char *why, size_t whylen)
{
	size_t len = strlen(e), i = 0, start, n = 0, cap = 0;
	struct pl_step *steps = NULL, *grown;
	struct pl_step step;
	char *k;
	int want_field = 1;

	while (i < len) {
		memset(&step, 0, sizeof(step));
		if (e[i] == '[') {
			i++;
			if (i < len && e[i] == '"') {
				start = ++i;
				if ((k = malloc(len - start + 1)) == NULL)
					goto oom;
				step.key = k;
				while (i < len && e[i] != '"') {
					if (e[i] == '\\' && i + 1 < len)
						i++;
					k[step.key_len++] = e[i++];
				}
				if (i >= len)
					goto bad_step;
				i++;
			} else if (i < len && e[i] >= '0' && e[i] <= '9') {
				while (i < len && e[i] >= '0' && e[i] <= '9') {
					if (step.index > 100000000)
						goto bad;
					step.index = step.index * 10 +
						     (size_t)(e[i++] - '0');
				}
			} else {
				goto bad;
			}
			if (i >= len || e[i] != ']')
				goto bad_step;
			i++;
			want_field = 0;
		} else {
			if (e[i] == '.') {
				if (n == 0 || want_field)
					goto bad;
				i++;
			} else if (!want_field) {
				goto bad;
			}
			start = i;
			while (i < len && e[i] != '.' && e[i] != '[' &&
			       e[i] != ']' && e[i] != '"' && e[i] != ' ')
				i++;
			if (i == start)
				goto bad;
			if ((step.key = dup_mem(e + start, i - start)) == NULL)
				goto oom;
			step.key_len = i - start;
			want_field = 0;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 4;
			grown = realloc(steps, cap * sizeof(*steps));
			if (grown == NULL) {
				free(step.key);
				goto oom;
			}
			steps = grown;
		}
		steps[n++] = step;
	}
	if (n == 0)
		goto bad;
	prm->path = steps;
	prm->n_path = n;
	return 0;
bad_step:
	free(step.key);
bad:
	say(why, whylen, "cannot parse expression [%s]: syntax error", e);
	goto fail;
oom:
	say(why, whylen, "out of memory");
fail:
	while (n > 0)
		free(steps[--n].key);
	free(steps);
	return -1;
}

static void
param_free(struct pl_param *prm)
{
	size_t i;

	free(prm->name);
	free(prm->expr);
	for (i = 0; i < prm->n_path; i++)
		free(prm->path[i].key);
	free(prm->path);
	if (prm->tmpl != NULL)
		lt_tmpl_free(prm->tmpl);
}

static int
params_new(struct pl_stage *s, const struct lt_stage *src, char *why,
	   size_t whylen)
{
	const struct lt_named *nm;
	struct pl_param *prm;
	const char *expr;
	size_t i;

	if (src->n_params == 0)
		return 0;
	if ((s->params = calloc(src->n_params, sizeof(*s->params))) == NULL)
		goto oom;
	for (i = 0; i < src->n_params; i++) {
		nm = &src->params[i];
		prm = &s->params[s->n_params++];
		expr = nm->expression != NULL ? nm->expression : nm->name;
		prm->name_len = strlen(nm->name);
		prm->expr_len = strlen(expr);
		if ((prm->name = dup_mem(nm->name, prm->name_len)) == NULL ||
		    (prm->expr = dup_mem(expr, prm->expr_len)) == NULL)
			goto oom;
		if (src->kind == LT_STAGE_JSON &&
		    path_parse(prm, expr, why, whylen) < 0)
			return -1;
		if (src->kind == LT_STAGE_LABEL_FORMAT && nm->is_template) {
			prm->tmpl = lt_tmpl_compile(expr, prm->expr_len, why,
						    whylen);
			if (prm->tmpl == NULL)
				return -1;
		}
	}
	return 0;
oom:
	say(why, whylen, "out of memory");
	return -1;
}

static int
matchers_new(struct pl_stage *s, const struct lt_stage *src, char *why,
	     size_t whylen)
{
	const struct lt_named *nm;
	size_t i;

	if (src->n_params == 0)
		return 0;
	s->matchers = calloc(src->n_params, sizeof(*s->matchers));
	if (s->matchers == NULL) {
		say(why, whylen, "out of memory");
		return -1;
	}
	for (i = 0; i < src->n_params; i++) {
		nm = &src->params[i];
		s->n_matchers++;
		if (matcher_init(&s->matchers[i], nm->name, nm->expression,
				 nm->op, why, whylen) < 0)
			return -1;
	}
	return 0;
}

static int
line_filter_new(struct pl_stage *s, const struct lt_stage *src, char *why,
		size_t whylen)
{
	const struct lt_line_filter *lf = &src->line;
	int regex = lf->op == LT_LINE_MATCH || lf->op == LT_LINE_NOT_MATCH;
	size_t i;

	s->line_op = lf->op;
	if (lf->n_values == 0)
		return 0;
	s->values = calloc(lf->n_values, sizeof(*s->values));
	s->value_lens = calloc(lf->n_values, sizeof(*s->value_lens));
	if (s->values == NULL || s->value_lens == NULL)
		goto oom;
	if (regex && (s->res = calloc(lf->n_values, sizeof(*s->res))) == NULL)
		goto oom;
	for (i = 0; i < lf->n_values; i++) {
		s->value_lens[i] = strlen(lf->values[i]);
		s->n_values++;
		s->values[i] = dup_mem(lf->values[i], s->value_lens[i]);
		if (s->values[i] == NULL)
			goto oom;
		if (regex && (s->res[i] = re_compile(lf->values[i],
						     s->value_lens[i], 0, why,
						     whylen)) == NULL)
			return -1;
	}
	return 0;
oom:
	say(why, whylen, "out of memory");
	return -1;
}

/* regexp: at least one named group; each becomes a label. */
static int
regexp_new(struct pl_stage *s, const char *re, char *why, size_t whylen)
{
	PCRE2_SPTR table;
	uint32_t count = 0, size = 0, i;
	const unsigned char *e;

	if ((s->re = re_compile(re, strlen(re), 0, why, whylen)) == NULL)
		return -1;
	if (pcre2_pattern_info(s->re, PCRE2_INFO_NAMECOUNT, &count) != 0 ||
	    pcre2_pattern_info(s->re, PCRE2_INFO_NAMEENTRYSIZE, &size) != 0 ||
	    pcre2_pattern_info(s->re, PCRE2_INFO_NAMETABLE, &table) != 0)
		count = 0;
	if (count == 0) {
		say(why, whylen, "at least one named capture must be supplied");
		return -1;
	}
	s->groups = calloc(count, sizeof(*s->groups));
	s->group_names = calloc(count, sizeof(*s->group_names));
	if (s->groups == NULL || s->group_names == NULL)
		goto oom;
	for (i = 0; i < count; i++) {
		e = table + (size_t)i * size;
		s->groups[i] = (uint32_t)e[0] << 8 | e[1];
		s->n_groups++;
		s->group_names[i] = dup_mem((const char *)e + 2,
					    strlen((const char *)e + 2));
		if (s->group_names[i] == NULL)
			goto oom;
	}
	return 0;
oom:
	say(why, whylen, "out of memory");
	return -1;
}

static int
valid_capture_name(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (i = 0; i < len; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	}
	return 1;
}

static int
piece_add(struct pl_stage *s, const char *text, size_t len, int capture)
{
	struct pl_piece *pc = &s->pieces[s->n_pieces];

	pc->capture = capture;
	pc->len = len;
	pc->text = NULL;
	/* <_> captures without a name. */
	if (!(capture && len == 1 && text[0] == '_') &&
	    (pc->text = dup_mem(text, len)) == NULL)
		return -1;
	s->n_pieces++;
	return 0;
}

/* pattern: <name> captures, <_> skips, the rest is literal text.  The
 * checks and messages are Loki's pattern.New(). */
static int
pattern_new(struct pl_stage *s, const char *pat, char *why, size_t whylen)
{
	size_t len = strlen(pat), i = 0, lit = 0, e, k, named = 0, prev = 0;

	/* At most one piece per byte, and one more. */
	if ((s->pieces = calloc(len + 1, sizeof(*s->pieces))) == NULL)
		goto oom;
	while (i < len) {
		if (pat[i] == '<') {
			for (e = i + 1; e < len && pat[e] != '>'; e++)
				;
			if (e < len && (valid_capture_name(pat + i + 1,
							   e - i - 1))) {
				if (i > lit && piece_add(s, pat + lit, i - lit,
							 0) < 0)
					goto oom;
				if (s->n_pieces > 0 &&
				    s->pieces[s->n_pieces - 1].capture) {
					say(why, whylen,
					    "found consecutive capture '%.*s': invalid expression",
					    (int)(e + 1 - prev), pat + prev);
					return -1;
				}
				if (piece_add(s, pat + i + 1, e - i - 1, 1) < 0)
					goto oom;
				prev = i;
				i = lit = e + 1;
				continue;
			}
		}
		i++;
	}
	if (len > lit && piece_add(s, pat + lit, len - lit, 0) < 0)
		goto oom;
	for (i = 0; i < s->n_pieces; i++) {
		if (!s->pieces[i].capture || s->pieces[i].text == NULL)
			continue;
		named++;
		for (k = 0; k < i; k++) {
			if (s->pieces[k].capture && s->pieces[k].text != NULL &&
			    strcmp(s->pieces[k].text, s->pieces[i].text) == 0) {
				say(why, whylen,
				    "duplicate capture name (%s): invalid expression",
				    s->pieces[i].text);
				return -1;
			}
		}
	}
	if (named == 0) {
		say(why, whylen, "at least one capture is required");
		return -1;
	}
	return 0;
oom:
	say(why, whylen, "out of memory");
	return -1;
}

static int
stage_new(struct lt_pipeline *p, struct pl_stage *s,
	  const struct lt_stage *src, char *why, size_t whylen)
{
	s->kind = src->kind;
	s->strict = src->logfmt_strict;
	s->keep_empty = src->logfmt_keep_empty;
	switch (src->kind) {
	case LT_STAGE_LINE_FILTER:
		p->keeps_all = 0;
		return line_filter_new(s, src, why, whylen);
	case LT_STAGE_LABEL_FILTER:
		p->keeps_all = 0;
		s->filter = filter_new(src->filter, why, whylen);
		return s->filter != NULL ? 0 : -1;
	case LT_STAGE_JSON:
	case LT_STAGE_LOGFMT:
	case LT_STAGE_LABEL_FORMAT:
		return params_new(s, src, why, whylen);
	case LT_STAGE_REGEXP:
		return regexp_new(s, src->text, why, whylen);
	case LT_STAGE_PATTERN:
		return pattern_new(s, src->text, why, whylen);
	case LT_STAGE_LINE_FORMAT:
		s->tmpl = lt_tmpl_compile(src->text, strlen(src->text), why,
					  whylen);
		return s->tmpl != NULL ? 0 : -1;
	case LT_STAGE_DROP:
	case LT_STAGE_KEEP:
		return matchers_new(s, src, why, whylen);
	case LT_STAGE_DECOLORIZE:
		s->re = re_compile(ansi_re, sizeof(ansi_re) - 1, 0, why,
				   whylen);
		return s->re != NULL ? 0 : -1;
	case LT_STAGE_UNPACK:
		return 0;
	}
	return 0;
}

static void
stage_free(struct pl_stage *s)
{
	size_t i;

	for (i = 0; i < s->n_values; i++) {
		free(s->values[i]);
		if (s->res != NULL)
			pcre2_code_free(s->res[i]);
	}
	free(s->values);
	free(s->value_lens);
	free(s->res);
	filter_free(s->filter);
	pcre2_code_free(s->re);
	for (i = 0; i < s->n_groups; i++)
		free(s->group_names[i]);
	free(s->groups);
	free(s->group_names);
	for (i = 0; i < s->n_pieces; i++)
		free(s->pieces[i].text);
	free(s->pieces);
	for (i = 0; i < s->n_params; i++)
		param_free(&s->params[i]);
	free(s->params);
	if (s->tmpl != NULL)
		lt_tmpl_free(s->tmpl);
	for (i = 0; i < s->n_matchers; i++)
		matcher_free(&s->matchers[i]);
	free(s->matchers);
}

void
lt_pipeline_free(struct lt_pipeline *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n_stages; i++)
		stage_free(&p->stages[i]);
	free(p->stages);
	pcre2_match_data_free(p->md);
	pcre2_match_context_free(p->mctx);
	pcre2_jit_stack_free(p->jit);
	arena_free(&p->arena);
	free(p->unwrap);
	filter_free(p->post);
	free(p->labels);
	free(p->out);
	lt_buf_free(&p->name);
	lt_buf_free(&p->tmp);
	free(p);
}

static int
alloc_run_state(struct lt_pipeline *p)
{
	p->labels = calloc(LT_PL_MAX_LABELS, sizeof(*p->labels));
	p->out = calloc(LT_PL_MAX_LABELS + 2, sizeof(*p->out));
	p->mctx = pcre2_match_context_create(NULL);
	if (p->labels == NULL || p->out == NULL || p->mctx == NULL)
		return -1;
	if (pcre2_set_match_limit(p->mctx, MATCH_LIMIT) != 0 ||
	    pcre2_set_depth_limit(p->mctx, DEPTH_LIMIT) != 0 ||
	    pcre2_set_heap_limit(p->mctx, HEAP_LIMIT_KIB) != 0)
		return -1;
	/* The JIT stack is optional: without it, JIT uses 32 KiB. */
	p->jit = pcre2_jit_stack_create(32 * 1024, JIT_STACK_MAX, NULL);
	if (p->jit != NULL)
		pcre2_jit_stack_assign(p->mctx, NULL, p->jit);
	if (lt_buf_reserve(&p->name, 256) < 0 ||
	    lt_buf_reserve(&p->tmp, 256) < 0)
		return -1;
	return 0;
}

/* Match data with room for every group of the pipeline's regexes. */
static int
alloc_match_data(struct lt_pipeline *p)
{
	uint32_t pairs = 1, c;
	size_t i, k;
	const struct pl_stage *s;

	for (i = 0; i < p->n_stages; i++) {
		s = &p->stages[i];
		if (s->re != NULL &&
		    pcre2_pattern_info(s->re, PCRE2_INFO_CAPTURECOUNT, &c) == 0 &&
		    c + 1 > pairs)
			pairs = c + 1;
		for (k = 0; s->res != NULL && k < s->n_values; k++) {
			if (pcre2_pattern_info(s->res[k],
					       PCRE2_INFO_CAPTURECOUNT,
					       &c) == 0 && c + 1 > pairs)
				pairs = c + 1;
		}
	}
	p->md = pcre2_match_data_create(pairs, NULL);
	p->md_pairs = pairs;
	return p->md != NULL ? 0 : -1;
}

struct lt_pipeline *
lt_pipeline_new(const struct lt_logql *q, const unsigned char *skip,
		char *why, size_t whylen)
{
	struct lt_pipeline *p;
	size_t i;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		goto oom;
	p->keeps_all = 1;
	if (q->n_stages > 0 &&
	    (p->stages = calloc(q->n_stages, sizeof(*p->stages))) == NULL)
		goto oom;
	for (i = 0; i < q->n_stages; i++) {
		if (skip != NULL && skip[i])
			continue;
		if (stage_new(p, &p->stages[p->n_stages++], &q->stages[i], why,
			      whylen) < 0)
			goto fail;
	}
	if (alloc_run_state(p) < 0 || alloc_match_data(p) < 0)
		goto oom;
	return p;
oom:
	say(why, whylen, "out of memory");
fail:
	lt_pipeline_free(p);
	return NULL;
}

int
lt_pipeline_unwrap(struct lt_pipeline *p, const char *label,
		   enum lt_unwrap_conv conv, const struct lt_label_filter *post,
		   char *why, size_t whylen)
{
	if ((p->unwrap = strdup(label)) == NULL) {
		say(why, whylen, "out of memory");
		return -1;
	}
	p->conv = conv;
	if (post != NULL && (p->post = filter_new(post, why, whylen)) == NULL)
		return -1;
	/* An entry without the label is dropped. */
	p->keeps_all = 0;
	return 0;
}
