/* Stream label text, {app="api"}, parsed strictly with Go's escapes, and
 * the UTF-8 helpers the parsers share (labels.h). */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "labels.h"

/* Names are echoed in messages; a name can be as long as the text, so
 * show only its start. */
#define NAME_SHOWN 64

/* State of one parse.  name is the label whose value is being read, for
 * the messages. */
struct lp {
	const char *text;
	size_t len;
	size_t pos;
	const char *name;
	size_t name_len;
	char *why;
	size_t whylen;
};

static int fail(struct lp *, size_t, const char *, ...)
	__attribute__((format(printf, 3, 4)));
static int fail_value(struct lp *, size_t, const char *, ...)
	__attribute__((format(printf, 3, 4)));
static void vsay(struct lp *, const char *, va_list)
	__attribute__((format(printf, 2, 0)));

static void
vsay(struct lp *p, const char *fmt, va_list ap)
{
	if (p->why == NULL || p->whylen == 0)
		return;
	(void)vsnprintf(p->why, p->whylen, fmt, ap);
}

/* The message, then " at byte <at>". */
static int
fail(struct lp *p, size_t at, const char *fmt, ...)
{
	va_list ap;
	size_t used;

	va_start(ap, fmt);
	vsay(p, fmt, ap);
	va_end(ap);
	if (p->why != NULL && p->whylen > 0) {
		used = strlen(p->why);
		(void)snprintf(p->why + used, p->whylen - used, " at byte %zu",
			       at);
	}
	return -1;
}

/* The message, then " in the value of label "<name>" at byte <at>". */
static int
fail_value(struct lp *p, size_t at, const char *fmt, ...)
{
	va_list ap;
	size_t used, shown;

	va_start(ap, fmt);
	vsay(p, fmt, ap);
	va_end(ap);
	if (p->why != NULL && p->whylen > 0) {
		used = strlen(p->why);
		shown = p->name_len > NAME_SHOWN ? NAME_SHOWN : p->name_len;
		(void)snprintf(p->why + used, p->whylen - used,
			       " in the value of label \"%.*s%s\" at byte %zu",
			       (int)shown, p->name,
			       shown < p->name_len ? "..." : "", at);
	}
	return -1;
}

static size_t
shown_len(const struct lp *p)
{
	return p->name_len > NAME_SHOWN ? NAME_SHOWN : p->name_len;
}

static const char *
ellipsis(const struct lp *p)
{
	return p->name_len > NAME_SHOWN ? "..." : "";
}

/* The text ended inside a value: say where it ended. */
static int
unterminated(struct lp *p)
{
	return fail(p, p->len, "unterminated value of label \"%.*s%s\"",
		    (int)shown_len(p), p->name, ellipsis(p));
}

static void
skip_ws(struct lp *p)
{
	char c;

	while (p->pos < p->len) {
		c = p->text[p->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static int
name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int
name_char(char c)
{
	return name_start(c) || (c >= '0' && c <= '9');
}

int
lt_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Reads ndigits hex digits at text[at..] into *v; -1 if any is
 * missing. */
static int
hexrun(const struct lp *p, size_t at, int ndigits, uint32_t *v)
{
	int i, d;

	*v = 0;
	if (p->len - at < (size_t)ndigits)
		return -1;
	for (i = 0; i < ndigits; i++) {
		if ((d = lt_hex_digit(p->text[at + (size_t)i])) < 0)
			return -1;
		*v = *v << 4 | (uint32_t)d;
	}
	return 0;
}

size_t
lt_utf8_next(const char *str, size_t n, uint32_t *r)
{
	const unsigned char *s = (const unsigned char *)str;
	uint32_t cp, min;
	size_t len, k;

	*r = 0xfffd;
	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*r = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = s[0] & 0x07;
		min = 0x10000;
	} else
		return 1;
	if (n < len)
		return 1;
	for (k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 1;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 1;
	*r = cp;
	return len;
}

size_t
lt_utf8_put(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	o[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Reads the escape whose backslash is at p->pos, as Go's
 * strconv.UnquoteChar does inside double quotes, and appends what it
 * stands for to out.  Every escape is at least as long as what it writes
 * (\u: 6 for at most 3, \U: 10 for at most 4), so out never overtakes
 * the text read. */
static int
escape(struct lp *p, char *out, size_t *o)
{
	size_t at = p->pos;
	const char *t = p->text;
	uint32_t v;
	int ndigits;
	char c;

	if (p->len - at < 2)
		return unterminated(p);
	c = t[at + 1];
	switch (c) {
	case 'a': out[(*o)++] = '\a'; break;
	case 'b': out[(*o)++] = '\b'; break;
	case 'f': out[(*o)++] = '\f'; break;
	case 'n': out[(*o)++] = '\n'; break;
	case 'r': out[(*o)++] = '\r'; break;
	case 't': out[(*o)++] = '\t'; break;
	case 'v': out[(*o)++] = '\v'; break;
	case '\\': out[(*o)++] = '\\'; break;
	case '"': out[(*o)++] = '"'; break;
	case '0': case '1': case '2': case '3':
	case '4': case '5': case '6': case '7':
		/* Exactly three octal digits, and a byte: \000 to \377. */
		if (p->len - at < 4 || t[at + 2] < '0' || t[at + 2] > '7' ||
		    t[at + 3] < '0' || t[at + 3] > '7')
			return fail_value(p, at, "invalid octal escape "
					  "(expected 3 octal digits)");
		v = (uint32_t)((c - '0') << 6 | (t[at + 2] - '0') << 3 |
			       (t[at + 3] - '0'));
		if (v > 0xff)
			return fail_value(p, at, "octal escape \\%.3s is above "
					  "\\377", t + at + 1);
		/* The byte itself, as Go does: possibly not UTF-8. */
		out[(*o)++] = (char)v;
		p->pos += 4;
		return 0;
	case 'x':
		if (hexrun(p, at + 2, 2, &v) < 0)
			return fail_value(p, at, "invalid \\x escape "
					  "(expected 2 hex digits)");
		out[(*o)++] = (char)v;
		p->pos += 4;
		return 0;
	case 'u':
	case 'U':
		ndigits = c == 'u' ? 4 : 8;
		if (hexrun(p, at + 2, ndigits, &v) < 0)
			return fail_value(p, at, "invalid \\%c escape "
					  "(expected %d hex digits)", c,
					  ndigits);
		if (v >= 0xd800 && v <= 0xdfff)
			return fail_value(p, at, "escape \\%.*s is a surrogate, "
					  "not a character", ndigits + 1,
					  t + at + 1);
		if (v > 0x10ffff)
			return fail_value(p, at, "escape \\%.*s is above "
					  "U+10FFFF", ndigits + 1, t + at + 1);
		*o += lt_utf8_put(out + *o, v);
		p->pos += 2 + (size_t)ndigits;
		return 0;
	default:
		/* Also \' and \?: Go allows \' only in rune literals. */
		if (c > ' ' && c < 0x7f)
			return fail_value(p, at, "unknown escape \\%c", c);
		return fail_value(p, at, "unknown escape: backslash followed "
				  "by byte 0x%02x", (unsigned char)c);
	}
	p->pos += 2;
	return 0;
}

/* Reads the double-quoted value at p->pos into out. */
static int
value(struct lp *p, char *out, size_t *outlen)
{
	size_t o = 0;
	char c;

	p->pos++; /* the opening quote */
	for (;;) {
		if (p->pos >= p->len)
			return unterminated(p);
		c = p->text[p->pos];
		if (c == '"')
			break;
		if (c == '\\') {
			if (escape(p, out, &o) < 0)
				return -1;
			continue;
		}
		/* Go refuses a raw newline but takes every other byte,
		 * control bytes and invalid UTF-8 included. */
		if (c == '\n')
			return fail_value(p, p->pos, "raw newline");
		out[o++] = c;
		p->pos++;
	}
	p->pos++; /* the closing quote */
	*outlen = o;
	return 0;
}

/* Whether text[pos..] starts with one of the matchers that are not '='. */
static int
other_matcher(const struct lp *p)
{
	char a, b;

	if (p->len - p->pos < 2)
		return 0;
	a = p->text[p->pos];
	b = p->text[p->pos + 1];
	return (a == '!' && (b == '=' || b == '~')) || (a == '=' && b == '~');
}

/* One name="value" pair at p->pos; the value goes to out. */
static int
pair(struct lp *p, char *out, struct lt_label *l)
{
	char c;

	l->name = p->text + p->pos;
	while (p->pos < p->len && name_char(p->text[p->pos]))
		p->pos++;
	l->name_len = (size_t)(p->text + p->pos - l->name);
	p->name = l->name;
	p->name_len = l->name_len;
	skip_ws(p);
	if (other_matcher(p))
		return fail(p, p->pos, "only '=' is allowed between a label "
			    "name and its value, found \"%.2s\"",
			    p->text + p->pos);
	if (p->pos >= p->len || p->text[p->pos] != '=')
		return fail(p, p->pos, "expected '=' after label name "
			    "\"%.*s%s\"", (int)shown_len(p), p->name,
			    ellipsis(p));
	p->pos++;
	skip_ws(p);
	c = p->pos < p->len ? p->text[p->pos] : '\0';
	if (c == '\'' || c == '`')
		return fail(p, p->pos, "value of label \"%.*s%s\" must be "
			    "in double quotes, not %s", (int)shown_len(p),
			    p->name, ellipsis(p),
			    c == '\'' ? "single quotes" : "backquotes");
	if (p->pos >= p->len || c != '"')
		return fail(p, p->pos, "expected '\"' to start the value of "
			    "label \"%.*s%s\"", (int)shown_len(p), p->name,
			    ellipsis(p));
	l->value = out;
	return value(p, out, &l->value_len);
}

/* lt_labels_parse(), and with dropped != NULL lt_labels_parse_set(). */
static int
parse_pairs(const char *text, size_t len, char *scratch, struct lt_label *out,
	    size_t max, size_t *n, size_t *dropped, char *why, size_t whylen)
{
	struct lp p = {text, len, 0, NULL, 0, why, whylen};
	struct lt_label l;
	size_t count = 0, used = 0, comma = 0, seen = 0;

	if (n != NULL)
		*n = 0;
	if (dropped != NULL)
		*dropped = 0;
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	skip_ws(&p);
	if (p.pos >= len || text[p.pos] != '{') {
		if (why != NULL && whylen > 0)
			(void)snprintf(why, whylen,
				       "label text must start with '{'");
		return -1;
	}
	p.pos++;
	skip_ws(&p);
	if (p.pos < len && text[p.pos] == '}')
		goto close;
	for (;;) {
		if (p.pos >= len || !name_start(text[p.pos])) {
			if (seen == 0)
				return fail(&p, p.pos, "expected a label name "
					    "or '}'");
			if (p.pos < len && text[p.pos] == '}')
				return fail(&p, comma, "trailing comma before "
					    "'}'");
			return fail(&p, p.pos, "expected a label name after "
				    "','");
		}
		/* Each value is no longer than its literal and the literals
		 * do not overlap, so scratch + used stays within len. */
		if (pair(&p, scratch + used, &l) < 0)
			return -1;
		used += l.value_len;
		seen++;
		if (dropped != NULL && l.value_len == 0) {
			(*dropped)++;
		} else {
			if (count < max)
				out[count] = l;
			count++;
		}
		skip_ws(&p);
		if (p.pos < len && text[p.pos] == ',') {
			comma = p.pos++;
			skip_ws(&p);
			continue;
		}
		if (p.pos < len && text[p.pos] == '}')
			break;
		return fail(&p, p.pos, "expected ',' or '}' after the value "
			    "of label \"%.*s%s\"", (int)shown_len(&p), p.name,
			    ellipsis(&p));
	}
close:
	p.pos++; /* the '}' */
	skip_ws(&p);
	if (p.pos < len)
		return fail(&p, p.pos, "unexpected bytes after '}'");
	if (n != NULL)
		*n = count;
	return 0;
}

int
lt_labels_parse(const char *text, size_t len, char *scratch,
		struct lt_label *out, size_t max, size_t *n, char *why,
		size_t whylen)
{
	return parse_pairs(text, len, scratch, out, max, n, NULL, why, whylen);
}

int
lt_labels_parse_set(const char *text, size_t len, char *scratch,
		    struct lt_label *out, size_t max, size_t *n,
		    size_t *dropped, char *why, size_t whylen)
{
	size_t ignored;

	return parse_pairs(text, len, scratch, out, max, n,
			   dropped != NULL ? dropped : &ignored, why, whylen);
}

/* The bytes allowed after a lead byte, per the Unicode standard's table
 * of well-formed sequences (3-7): the narrowed second-byte ranges after
 * E0, ED, F0 and F4 exclude overlong forms, surrogates and code points
 * above U+10FFFF. */
int
lt_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p, *end;
	unsigned char c, lo, hi;
	uint64_t w;
	size_t need;

	if (len == 0)
		return 1;
	p = (const unsigned char *)s;
	end = p + len;
	while (p < end) {
		if (*p < 0x80) {
			/* Log lines are mostly ASCII: eight bytes at a time. */
			while (end - p >= 8) {
				memcpy(&w, p, sizeof(w));
				if (w & UINT64_C(0x8080808080808080))
					break;
				p += 8;
			}
			while (p < end && *p < 0x80)
				p++;
			continue;
		}
		c = *p;
		lo = 0x80;
		hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf)
			need = 1;
		else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			if (c == 0xe0)
				lo = 0xa0;
			else if (c == 0xed)
				hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			if (c == 0xf0)
				lo = 0x90;
			else if (c == 0xf4)
				hi = 0x8f;
		} else
			return 0; /* 80-C1: continuation or overlong; F5-FF */
		if ((size_t)(end - p) <= need)
			return 0;
		if (p[1] < lo || p[1] > hi)
			return 0;
		if (need >= 2 && (p[2] & 0xc0) != 0x80)
			return 0;
		if (need == 3 && (p[3] & 0xc0) != 0x80)
			return 0;
		p += need + 1;
	}
	return 1;
}

int
lt_label_cmp(const void *a, const void *b)
{
	const struct lt_label *x = a, *y = b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = memcmp(x->name, y->name, n);

	if (c != 0)
		return c;
	return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}
