/* A log query's JSON answer printed as lines, the way logcli prints them
 * by default (query_cli.h). */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "labels.h"
#include "query_cli.h"

/* Deep enough for the answer's shape; anything deeper is not one. */
#define MAX_DEPTH 32

struct reader {
	const char *p, *end;
	char *err;
	size_t errlen;
};

struct entry {
	int64_t ts;
	size_t stream;   /* index into the streams' labels */
	size_t line;     /* offset of the line in the text buffer */
	size_t line_len;
	size_t order;    /* for a stable sort */
};

struct collect {
	struct lt_buf text;      /* label sets and lines, one after the other */
	size_t *labels;          /* offset of each stream's label set in text */
	size_t n_streams, cap_streams;
	struct entry *entries;
	size_t n, cap;
};

static int
fail(struct reader *r, const char *what)
{
	(void)snprintf(r->err, r->errlen, "unexpected answer: %s", what);
	return -1;
}

static void
ws(struct reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' ||
				 *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

static int
expect(struct reader *r, char c)
{
	ws(r);
	if (r->p >= r->end || *r->p != c)
		return -1;
	r->p++;
	return 0;
}

static int
hex4(const char *p, unsigned *v)
{
	int i;

	*v = 0;
	for (i = 0; i < 4; i++) {
		*v <<= 4;
		if (p[i] >= '0' && p[i] <= '9')
			*v |= (unsigned)(p[i] - '0');
		else if (p[i] >= 'a' && p[i] <= 'f')
			*v |= (unsigned)(p[i] - 'a' + 10);
		else if (p[i] >= 'A' && p[i] <= 'F')
			*v |= (unsigned)(p[i] - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

static int
put_utf8(struct lt_buf *b, unsigned c)
{
	char u[4];

	return lt_buf_append(b, u, lt_utf8_put(u, c));
}

/* A JSON string, unescaped, appended to out (NULL: skipped). */
static int
string(struct reader *r, struct lt_buf *out)
{
	unsigned c, lo;
	const char *s;

	if (expect(r, '"') < 0)
		return fail(r, "a string was expected");
	for (;;) {
		s = r->p;
		while (r->p < r->end && *r->p != '"' && *r->p != '\\')
			r->p++;
		if (r->p >= r->end)
			return fail(r, "unterminated string");
		if (out != NULL && lt_buf_append(out, s, (size_t)(r->p - s)) < 0)
			return fail(r, "out of memory");
		if (*r->p++ == '"')
			return 0;
		if (r->p >= r->end)
			return fail(r, "unterminated string");
		c = (unsigned char)*r->p++;
		switch (c) {
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 't': c = '\t'; break;
		case 'u':
			if (r->end - r->p < 4 || hex4(r->p, &c) < 0)
				return fail(r, "bad \\u escape");
			r->p += 4;
			if (c >= 0xd800 && c < 0xdc00 && r->end - r->p >= 6 &&
			    r->p[0] == '\\' && r->p[1] == 'u' &&
			    hex4(r->p + 2, &lo) == 0 && lo >= 0xdc00 &&
			    lo < 0xe000) {
				c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
				r->p += 6;
			} else if (c >= 0xd800 && c < 0xe000) {
				c = 0xfffd;
			}
			break;
		default:
			break; /* \" \\ \/ stand for themselves */
		}
		if (out != NULL && put_utf8(out, c) < 0)
			return fail(r, "out of memory");
	}
}

/* Skips any value. */
static int
skip(struct reader *r, int depth)
{
	char close;

	ws(r);
	if (r->p >= r->end || depth > MAX_DEPTH)
		return fail(r, "a value was expected");
	if (*r->p == '"')
		return string(r, NULL);
	if (*r->p != '{' && *r->p != '[') {
		while (r->p < r->end && strchr(",]} \t\r\n", *r->p) == NULL)
			r->p++;
		return 0;
	}
	close = *r->p == '{' ? '}' : ']';
	r->p++;
	ws(r);
	if (r->p < r->end && *r->p == close) {
		r->p++;
		return 0;
	}
	for (;;) {
		if (close == '}' && (string(r, NULL) < 0 || expect(r, ':') < 0))
			return fail(r, "bad object");
		if (skip(r, depth + 1) < 0)
			return -1;
		ws(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		return expect(r, close) < 0 ? fail(r, "bad container") : 0;
	}
}

/* Calls fn for each member of an object, with r at its value. */
static int
members(struct reader *r, int (*fn)(struct reader *, const char *, void *),
	void *arg)
{
	struct lt_buf key = LT_BUF_INIT;
	int rc = -1;

	if (expect(r, '{') < 0)
		return fail(r, "an object was expected");
	ws(r);
	if (r->p < r->end && *r->p == '}') {
		r->p++;
		return 0;
	}
	for (;;) {
		lt_buf_reset(&key);
		if (string(r, &key) < 0 || lt_buf_terminate(&key) < 0 ||
		    expect(r, ':') < 0)
			goto out;
		if (fn(r, (const char *)key.data, arg) < 0)
			goto out;
		ws(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		if (expect(r, '}') < 0) {
			(void)fail(r, "bad object");
			goto out;
		}
		break;
	}
	rc = 0;
out:
	lt_buf_free(&key);
	return rc;
}

/* Calls fn for each element of an array. */
static int
elements(struct reader *r, int (*fn)(struct reader *, void *), void *arg)
{
	if (expect(r, '[') < 0)
		return fail(r, "an array was expected");
	ws(r);
	if (r->p < r->end && *r->p == ']') {
		r->p++;
		return 0;
	}
	for (;;) {
		if (fn(r, arg) < 0)
			return -1;
		ws(r);
		if (r->p < r->end && *r->p == ',') {
			r->p++;
			continue;
		}
		return expect(r, ']') < 0 ? fail(r, "bad array") : 0;
	}
}

/* --- The label set, as Loki's LabelSet.String(): sorted, ", " --- */

struct label {
	size_t name, name_len, value, value_len;
};

struct labels {
	struct lt_buf raw;
	struct label *v;
	size_t n, cap;
	const char *base;
};

static int
label_member(struct reader *r, const char *key, void *arg)
{
	struct labels *ls = arg;
	struct label *p;
	size_t cap;

	if (ls->n == ls->cap) {
		cap = ls->cap ? ls->cap * 2 : 8;
		p = reallocarray(ls->v, cap, sizeof(*p));
		if (p == NULL)
			return fail(r, "out of memory");
		ls->v = p;
		ls->cap = cap;
	}
	p = &ls->v[ls->n];
	p->name = ls->raw.len;
	p->name_len = strlen(key);
	if (lt_buf_append(&ls->raw, key, p->name_len) < 0)
		return fail(r, "out of memory");
	p->value = ls->raw.len;
	if (string(r, &ls->raw) < 0)
		return -1;
	p->value_len = ls->raw.len - p->value;
	ls->n++;
	return 0;
}

static const char *label_base;

static int
label_cmp(const void *x, const void *y)
{
	const struct label *a = x, *b = y;
	size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
	int c = memcmp(label_base + a->name, label_base + b->name, n);

	if (c != 0)
		return c;
	return (a->name_len > b->name_len) - (a->name_len < b->name_len);
}

/* Appends s as Go's strconv.Quote would, for printable text. */
static int
quote(struct lt_buf *out, const char *s, size_t len)
{
	size_t i;
	unsigned char c;

	if (lt_buf_append_byte(out, '"') < 0)
		return -1;
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			if (lt_buf_append_byte(out, '\\') < 0 ||
			    lt_buf_append_byte(out, c) < 0)
				return -1;
		} else if (c == '\n') {
			if (lt_buf_append(out, "\\n", 2) < 0)
				return -1;
		} else if (c == '\t') {
			if (lt_buf_append(out, "\\t", 2) < 0)
				return -1;
		} else if (c < 0x20 || c == 0x7f) {
			if (lt_buf_printf(out, "\\x%02x", c) < 0)
				return -1;
		} else if (lt_buf_append_byte(out, c) < 0) {
			return -1;
		}
	}
	return lt_buf_append_byte(out, '"');
}

static int
stream_labels(struct reader *r, struct collect *c)
{
	struct labels ls;
	size_t i, *p, cap;
	int rc = -1;

	memset(&ls, 0, sizeof(ls));
	if (members(r, label_member, &ls) < 0)
		goto out;
	label_base = (const char *)ls.raw.data;
	if (ls.n > 0)
		qsort(ls.v, ls.n, sizeof(*ls.v), label_cmp);
	if (c->n_streams == c->cap_streams) {
		cap = c->cap_streams ? c->cap_streams * 2 : 16;
		p = reallocarray(c->labels, cap, sizeof(*p));
		if (p == NULL)
			goto nomem;
		c->labels = p;
		c->cap_streams = cap;
	}
	c->labels[c->n_streams++] = c->text.len;
	if (lt_buf_append_byte(&c->text, '{') < 0)
		goto nomem;
	for (i = 0; i < ls.n; i++) {
		if ((i > 0 && lt_buf_append(&c->text, ", ", 2) < 0) ||
		    lt_buf_append(&c->text, ls.raw.data + ls.v[i].name,
				  ls.v[i].name_len) < 0 ||
		    lt_buf_append_byte(&c->text, '=') < 0 ||
		    quote(&c->text, (const char *)ls.raw.data + ls.v[i].value,
			  ls.v[i].value_len) < 0)
			goto nomem;
	}
	if (lt_buf_append(&c->text, "}", 2) < 0) /* with its NUL */
		goto nomem;
	rc = 0;
	goto out;
nomem:
	(void)fail(r, "out of memory");
out:
	lt_buf_free(&ls.raw);
	free(ls.v);
	return rc;
}

/* ["ns", "line"(, {metadata})] */
static int
value(struct reader *r, void *arg)
{
	struct collect *c = arg;
	struct lt_buf ts = LT_BUF_INIT;
	struct entry *e;
	size_t cap;
	char *end;
	int rc = -1;

	if (c->n == c->cap) {
		cap = c->cap ? c->cap * 2 : 256;
		e = reallocarray(c->entries, cap, sizeof(*e));
		if (e == NULL)
			return fail(r, "out of memory");
		c->entries = e;
		c->cap = cap;
	}
	e = &c->entries[c->n];
	if (expect(r, '[') < 0) {
		(void)fail(r, "an entry was expected");
		goto out;
	}
	if (string(r, &ts) < 0 || lt_buf_terminate(&ts) < 0)
		goto out;
	e->ts = strtoll((const char *)ts.data, &end, 10);
	if (end == (char *)ts.data || *end != '\0') {
		(void)fail(r, "a timestamp was expected");
		goto out;
	}
	if (expect(r, ',') < 0) {
		(void)fail(r, "an entry's line was expected");
		goto out;
	}
	e->line = c->text.len;
	if (string(r, &c->text) < 0)
		goto out;
	e->line_len = c->text.len - e->line;
	ws(r);
	if (r->p < r->end && *r->p == ',') {
		r->p++;
		if (skip(r, 0) < 0)
			goto out;
	}
	if (expect(r, ']') < 0) {
		(void)fail(r, "bad entry");
		goto out;
	}
	e->stream = c->n_streams - 1;
	e->order = c->n++;
	rc = 0;
out:
	lt_buf_free(&ts);
	return rc;
}

static int
stream_member(struct reader *r, const char *key, void *arg)
{
	struct collect *c = arg;

	if (strcmp(key, "stream") == 0)
		return stream_labels(r, c);
	if (strcmp(key, "values") == 0) {
		if (c->n_streams == 0)
			return fail(r, "values before stream");
		return elements(r, value, c);
	}
	return skip(r, 0);
}

static int
stream(struct reader *r, void *arg)
{
	return members(r, stream_member, arg);
}

static int
data_member(struct reader *r, const char *key, void *arg)
{
	if (strcmp(key, "result") == 0)
		return elements(r, stream, arg);
	return skip(r, 0);
}

static int
top_member(struct reader *r, const char *key, void *arg)
{
	if (strcmp(key, "data") == 0)
		return members(r, data_member, arg);
	return skip(r, 0);
}

static int by_forward;

static int
entry_cmp(const void *x, const void *y)
{
	const struct entry *a = x, *b = y;
	int c = (a->ts > b->ts) - (a->ts < b->ts);

	if (!by_forward)
		c = -c;
	return c != 0 ? c : (a->order > b->order) - (a->order < b->order);
}

/* RFC3339 in the local time zone, as Go's time.RFC3339 writes it. */
static void
format_time(int64_t ns, char *buf, size_t len)
{
	time_t s = (time_t)(ns / 1000000000 - (ns % 1000000000 < 0));
	struct tm tm;
	long off;
	char zone[48];

	if (localtime_r(&s, &tm) == NULL) {
		(void)snprintf(buf, len, "%lld", (long long)ns);
		return;
	}
	off = tm.tm_gmtoff;
	if (off == 0)
		(void)snprintf(zone, sizeof(zone), "Z");
	else
		(void)snprintf(zone, sizeof(zone), "%c%02d:%02d",
			       off < 0 ? '-' : '+', (int)(labs(off) / 3600 % 100),
			       (int)(labs(off) / 60 % 60));
	(void)snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%.8s",
		       tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		       tm.tm_min, tm.tm_sec, zone);
}

static int
print_entries(struct collect *c, FILE *out)
{
	const char *text = (const char *)c->text.data;
	size_t i, width = 0, n, len;
	const struct entry *e;
	char ts[64];

	for (i = 0; i < c->n_streams; i++) {
		n = strlen(text + c->labels[i]);
		if (n > width)
			width = n;
	}
	for (i = 0; i < c->n; i++) {
		e = &c->entries[i];
		len = e->line_len;
		while (len > 0 && (text[e->line + len - 1] == '\n' ||
				   text[e->line + len - 1] == '\r'))
			len--;
		format_time(e->ts, ts, sizeof(ts));
		if (fprintf(out, "%s %-*s %.*s\n", ts, (int)width,
			    text + c->labels[e->stream], (int)len,
			    text + e->line) < 0)
			return -1;
	}
	return 0;
}

long
lt_query_print_lines(const char *json, size_t len, int forward, FILE *out,
		     char *err, size_t errlen)
{
	struct reader r = {json, json + len, err, errlen};
	struct collect c;
	long rc = -1;

	memset(&c, 0, sizeof(c));
	if (members(&r, top_member, &c) < 0)
		goto out;
	by_forward = forward;
	if (c.n > 0)
		qsort(c.entries, c.n, sizeof(*c.entries), entry_cmp);
	if (print_entries(&c, out) < 0) {
		(void)snprintf(err, errlen, "could not write the output");
		goto out;
	}
	rc = (long)c.n;
out:
	lt_buf_free(&c.text);
	free(c.labels);
	free(c.entries);
	return rc;
}
