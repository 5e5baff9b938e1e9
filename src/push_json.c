/* JSON pushes: Loki's v1 format and its legacy one, read by a JSON reader
 * made for this one job and checked by the shared core (push.c).
 *
 * The reader walks the body once, validating all of it as RFC 8259 JSON
 * (UTF-8, no duplicate keys anywhere, as jansson's JSON_REJECT_DUPLICATES
 * did) while it hands streams and entries to the core.  Strings without
 * escapes are used where they lie in the body; the others are unescaped
 * into one arena of the body's size, allocated once: a string never grows
 * when unescaped, and no literal is unescaped twice while its copy is in
 * use, so the arena never fills.
 *
 * jansson read the whole document before looking at its shape, so a
 * syntax error anywhere beat a shape error.  The reader keeps that: when
 * the push is refused for its shape (or the sink fails), the whole body
 * is validated again and a syntax error, if any, is reported instead. */
#include "config.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__) && !defined(LT_JSON_NO_SIMD)
#include <emmintrin.h>
#endif

#include "push_int.h"

/* How deep arrays and objects may nest; a push needs 6 levels. */
#define MAX_DEPTH 64
/* Up to this many keys an object is checked for duplicates key by key;
 * a larger one is sorted when it ends, so that it costs n log n. */
#define LINEAR_KEYS 16
/* Significant digits of a real number given to strtod() to see whether it
 * overflows a double, as jansson refused it; more cannot change that. */
#define REAL_DIGITS 800

/* An object key: where it is, for duplicates and their message. */
struct key {
	const char *p;
	size_t len;
	size_t off; /* byte offset of its opening quote */
};

/* The reader. */
struct rd {
	const unsigned char *s;
	size_t len, pos;
	char *arena;  /* unescaped strings, len bytes */
	size_t atop;  /* bytes of the arena in use */
	struct key *keys; /* keys of the objects open, innermost last */
	size_t nkeys, cap_keys;
	int depth;
	int oom;
	int failed;         /* a syntax error: err, at err_pos */
	int err_found;      /* the message names the byte found */
	const char *err;
	size_t err_pos;
	char err_buf[LT_QUOTE_BUF + 32];
};

/* What an entry's member was: the first byte of its value ('"' for a
 * string), 0 when absent, and its text when a string. */
struct val {
	int type;
	const char *s;
	size_t len;
};

struct json_parse {
	struct lt_push_parse core;
	struct rd rd;
	struct lt_label *lab;  /* a stream's labels as sent */
	size_t cap_lab;
	struct lt_label *meta; /* an entry's metadata as sent */
	size_t cap_meta;
};

/* Bytes that need no attention inside a string. */
static const unsigned char plain[256] = {
	[0x20] = 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

static const unsigned char space[256] = {
	[' '] = 1, ['\t'] = 1, ['\n'] = 1, ['\r'] = 1,
};

/* Records a syntax error at byte pos (the first one only).  Returns -1. */
static int
bad(struct rd *r, size_t pos, const char *what)
{
	if (!r->failed) {
		r->failed = 1;
		r->err = what;
		r->err_pos = pos;
		r->err_found = 1;
	}
	return -1;
}

/* The same for an error that is not about the byte at pos. */
static int
bad_here(struct rd *r, size_t pos, const char *what)
{
	if (!r->failed) {
		(void)bad(r, pos, what);
		r->err_found = 0;
	}
	return -1;
}

static int
oom(struct rd *r)
{
	r->oom = 1;
	return -1;
}

static inline void
ws(struct rd *r)
{
	while (r->pos < r->len && space[r->s[r->pos]])
		r->pos++;
}

/* The byte at the reader after white space, or -1 at the end. */
static inline int
peek(struct rd *r)
{
	ws(r);
	return r->pos < r->len ? r->s[r->pos] : -1;
}

/* The first byte from i on that a string must look at: a quote, a
 * backslash, a control byte or a non-ASCII byte; n when none. */
static inline size_t
scan_plain(const unsigned char *s, size_t i, size_t n)
{
#if defined(__SSE2__) && !defined(LT_JSON_NO_SIMD)
	const __m128i q = _mm_set1_epi8('"'), b = _mm_set1_epi8('\\'),
		      sp = _mm_set1_epi8(0x20);
	__m128i x;
	int m;

	/* A signed compare with 0x20 catches control bytes and, as
	 * negative numbers, the bytes from 0x80 on. */
	while (n - i >= 16) {
		x = _mm_loadu_si128((const void *)(s + i));
		m = _mm_movemask_epi8(_mm_or_si128(
		    _mm_or_si128(_mm_cmpeq_epi8(x, q), _mm_cmpeq_epi8(x, b)),
		    _mm_cmplt_epi8(x, sp)));
		if (m != 0)
			return i + (size_t)__builtin_ctz((unsigned)m);
		i += 16;
	}
#else
	const uint64_t ones = UINT64_C(0x0101010101010101),
		       high = UINT64_C(0x8080808080808080);
	uint64_t x, t, u;

	while (n - i >= 8) {
		memcpy(&x, s + i, sizeof(x));
		t = x ^ (ones * '"');
		u = x ^ (ones * '\\');
		if ((((t - ones) & ~t) | ((u - ones) & ~u) |
		     ((x - ones * 0x20) & ~x) | x) & high)
			break;
		i += 8;
	}
#endif
	while (i < n && plain[s[i]])
		i++;
	return i;
}

/* The length of the UTF-8 sequence at s (its first byte from 0x80 on),
 * or 0 when it is not valid: overlong, a surrogate, above U+10FFFF or cut
 * short, which jansson refused too. */
static size_t
utf8_seq(const unsigned char *s, size_t avail)
{
	unsigned c = s[0];

	if (c >= 0xc2 && c <= 0xdf)
		return avail >= 2 && (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (avail < 3 || (s[1] & 0xc0) != 0x80 ||
		    (s[2] & 0xc0) != 0x80 || (c == 0xe0 && s[1] < 0xa0) ||
		    (c == 0xed && s[1] > 0x9f))
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (avail < 4 || (s[1] & 0xc0) != 0x80 ||
		    (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80 ||
		    (c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
			return 0;
		return 4;
	}
	return 0;
}

/* Four hex digits at s, or -1. */
static long
hex4(const unsigned char *s)
{
	long v = 0;
	int i, d;

	for (i = 0; i < 4; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			d = s[i] - '0';
		else if ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'f')
			d = (s[i] | 0x20) - 'a' + 10;
		else
			return -1;
		v = v << 4 | d;
	}
	return v;
}

static char *
put_utf8(char *d, unsigned long cp)
{
	if (cp < 0x80) {
		*d++ = (char)cp;
	} else if (cp < 0x800) {
		*d++ = (char)(0xc0 | cp >> 6);
		*d++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*d++ = (char)(0xe0 | cp >> 12);
		*d++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*d++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*d++ = (char)(0xf0 | cp >> 18);
		*d++ = (char)(0x80 | (cp >> 12 & 0x3f));
		*d++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*d++ = (char)(0x80 | (cp & 0x3f));
	}
	return d;
}

/* The escape at s[*ip] (a backslash): checks it, writes what it stands
 * for at *dp when dp is not NULL, and moves *ip past it. */
static int
escape(struct rd *r, size_t *ip, char **dp, int *nul)
{
	static const char simple[][2] = {
		{'"', '"'}, {'\\', '\\'}, {'/', '/'}, {'b', '\b'},
		{'f', '\f'}, {'n', '\n'}, {'r', '\r'}, {'t', '\t'},
	};
	const unsigned char *s = r->s;
	size_t i = *ip, k;
	long cp, lo;

	if (r->len - i < 2)
		return bad(r, r->len, "unterminated string");
	if (s[i + 1] != 'u') {
		for (k = 0; k < sizeof(simple) / sizeof(simple[0]); k++)
			if (s[i + 1] == (unsigned char)simple[k][0])
				break;
		if (k == sizeof(simple) / sizeof(simple[0]))
			return bad(r, i, "invalid escape");
		if (dp != NULL)
			*(*dp)++ = simple[k][1];
		*ip = i + 2;
		return 0;
	}
	if (r->len - i < 6 || (cp = hex4(s + i + 2)) < 0)
		return bad(r, i, "invalid \\u escape");
	*ip = i + 6;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return bad(r, i, "lone low surrogate in a \\u escape");
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (r->len - i < 12 || s[i + 6] != '\\' || s[i + 7] != 'u' ||
		    (lo = hex4(s + i + 8)) < 0xdc00 || lo > 0xdfff)
			return bad(r, i, "lone high surrogate in a \\u escape");
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		*ip = i + 12;
	}
	if (cp == 0)
		*nul = 1;
	if (dp != NULL)
		*dp = put_utf8(*dp, (unsigned long)cp);
	return 0;
}

/* Reads the string whose opening quote is at the reader.  With out not
 * NULL, *out and *outlen get its value: in the body when it has no
 * escape, else unescaped into the arena.  *nul tells whether it holds
 * U+0000 (only an escape can write it). */
static int
str_read(struct rd *r, const char **out, size_t *outlen, int *nul)
{
	const unsigned char *s = r->s;
	size_t n = r->len, i = r->pos + 1, run = i, k;
	char *d = NULL, *d0 = NULL;
	int z = 0;

	for (;;) {
		i = scan_plain(s, i, n);
		if (i == n)
			return bad(r, n, "unterminated string");
		if (s[i] == '"')
			break;
		if (s[i] >= 0x80) {
			if ((k = utf8_seq(s + i, n - i)) == 0)
				return bad(r, i, "invalid UTF-8");
			i += k;
			continue;
		}
		if (s[i] < 0x20)
			return bad(r, i, "control character in a string");
		if (out != NULL) {
			if (d == NULL)
				d = d0 = r->arena + r->atop;
			memcpy(d, s + run, i - run);
			d += i - run;
		}
		if (escape(r, &i, out != NULL ? &d : NULL, &z) < 0)
			return -1;
		run = i;
	}
	if (out != NULL && d != NULL) {
		memcpy(d, s + run, i - run);
		d += i - run;
		*out = d0;
		*outlen = (size_t)(d - d0);
		r->atop += *outlen;
	} else if (out != NULL) {
		*out = (const char *)s + r->pos + 1;
		*outlen = i - r->pos - 1;
	}
	if (nul != NULL)
		*nul = z;
	r->pos = i + 1;
	return 0;
}

/* Whether the real number s[st..end) overflows a double, which jansson
 * refused.  strtod() gets its significant digits with an exponent and no
 * decimal point, so that the locale cannot change the answer. */
static int
real_overflows(const unsigned char *s, size_t st, size_t end)
{
	char buf[REAL_DIGITS + 32];
	size_t i = st, nd = 0;
	long long e10 = 0, ex = 0;
	int seen = 0, frac = 0, neg = 0;
	double v;

	if (s[i] == '-')
		i++;
	for (; i < end && s[i] != 'e' && s[i] != 'E'; i++) {
		if (s[i] == '.') {
			frac = 1;
			continue;
		}
		if (!seen && s[i] == '0') {
			if (frac)
				e10--;
			continue;
		}
		seen = 1;
		if (!frac)
			e10++;
		if (nd < REAL_DIGITS)
			buf[nd++] = (char)s[i];
	}
	if (i < end) {
		i++;
		if (s[i] == '-' || s[i] == '+')
			neg = s[i++] == '-';
		for (; i < end; i++)
			if (ex < 1000000)
				ex = ex * 10 + (s[i] - '0');
	}
	if (!seen)
		return 0;
	e10 += neg ? -ex : ex; /* the value is 0.<digits> * 10^e10 */
	if (e10 > 400)
		return 1;
	if (e10 < -400)
		return 0;
	(void)snprintf(buf + nd, sizeof(buf) - nd, "e%lld",
		       e10 - (long long)nd);
	v = strtod(buf, NULL);
	return isinf(v);
}

/* A number; jansson also refused integers outside long long and reals
 * that overflow a double, so they are malformed here too. */
static int
number(struct rd *r)
{
	static const char max[] = "9223372036854775807",
			  min[] = "9223372036854775808";
	const unsigned char *s = r->s;
	size_t n = r->len, st = r->pos, i = st, d0, nd;
	int real = 0;

	if (s[i] == '-')
		i++;
	d0 = i;
	if (i >= n || s[i] < '0' || s[i] > '9')
		return bad(r, i, "invalid number");
	if (s[i] == '0')
		i++;
	else
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	nd = i - d0;
	if (i < n && s[i] == '.') {
		if (++i >= n || s[i] < '0' || s[i] > '9')
			return bad(r, i, "invalid number");
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		real = 1;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		if (++i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= n || s[i] < '0' || s[i] > '9')
			return bad(r, i, "invalid number");
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		real = 1;
	}
	r->pos = i;
	if (real)
		return real_overflows(s, st, i) ?
			   bad_here(r, st, "real number overflow") : 0;
	/* "-9223372036854775808" fits: its last digit may be one more. */
	if (nd > 19 ||
	    (nd == 19 && memcmp(s + d0, st != d0 ? min : max, 19) > 0))
		return bad_here(r, st, "integer out of range");
	return 0;
}

static int
literal(struct rd *r, const char *word, size_t len)
{
	if (r->len - r->pos < len || memcmp(r->s + r->pos, word, len) != 0)
		return bad(r, r->pos, "invalid literal");
	r->pos += len;
	return 0;
}

/* Duplicate keys: the message quotes the key. */
static int
dup_key(struct rd *r, const struct key *k)
{
	char q[LT_QUOTE_BUF];

	if (r->failed)
		return -1;
	(void)snprintf(r->err_buf, sizeof(r->err_buf),
		       "duplicate object key %s", lt_pp_quote(q, k->p, k->len));
	return bad_here(r, k->off, r->err_buf);
}

static int
key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	int c;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	if (x->len == 0)
		return 0;
	c = memcmp(x->p, y->p, x->len);
	if (c != 0)
		return c;
	/* Equal keys by position, so the later one is reported. */
	return x->off < y->off ? -1 : x->off > y->off;
}

/* Adds a key to the object whose keys start at base; a small object is
 * checked for the key at once. */
static int
key_add(struct rd *r, size_t base, const char *p, size_t len, size_t off)
{
	struct key *k;
	size_t i, cap;

	if (r->nkeys - base < LINEAR_KEYS)
		for (i = base; i < r->nkeys; i++)
			if (r->keys[i].len == len &&
			    memcmp(r->keys[i].p, p, len) == 0) {
				struct key dup = {p, len, off};

				return dup_key(r, &dup);
			}
	if (r->nkeys == r->cap_keys) {
		cap = r->cap_keys ? r->cap_keys * 2 : 64;
		k = reallocarray(r->keys, cap, sizeof(*k));
		if (k == NULL)
			return oom(r);
		r->keys = k;
		r->cap_keys = cap;
	}
	r->keys[r->nkeys].p = p;
	r->keys[r->nkeys].len = len;
	r->keys[r->nkeys].off = off;
	r->nkeys++;
	return 0;
}

/* The object whose keys start at base has ended: a large one is sorted
 * and checked for duplicates. */
static int
keys_end(struct rd *r, size_t base)
{
	size_t n = r->nkeys - base, i;
	struct key *k;

	r->nkeys = base;
	if (n <= LINEAR_KEYS)
		return 0;
	k = r->keys + base;
	qsort(k, n, sizeof(*k), key_cmp);
	for (i = 1; i < n; i++)
		if (k[i].len == k[i - 1].len &&
		    memcmp(k[i].p, k[i - 1].p, k[i].len) == 0)
			return dup_key(r, &k[i]);
	return 0;
}

/* Reads an object key and the colon after it; keys are unescaped to be
 * compared, and jansson refused a key holding U+0000. */
static int
key_read(struct rd *r, size_t base, const char **k, size_t *kl)
{
	size_t off;
	int nul;

	if (peek(r) != '"')
		return bad(r, r->pos, "expected a string key");
	off = r->pos;
	if (str_read(r, k, kl, &nul) < 0)
		return -1;
	if (nul)
		return bad_here(r, off, "NUL byte in an object key");
	if (key_add(r, base, *k, *kl, off) < 0)
		return -1;
	if (peek(r) != ':')
		return bad(r, r->pos, "expected ':'");
	r->pos++;
	ws(r);
	return 0;
}

/* Skips any value, validating it, without recursion. */
static int
skip_value(struct rd *r)
{
	size_t base[MAX_DEPTH + 1], mark[MAX_DEPTH + 1];
	unsigned char obj[MAX_DEPTH + 1];
	const char *k;
	size_t kl;
	int top = 0, c;

value:
	switch (c = peek(r)) {
	case '{':
	case '[':
		if (r->depth >= MAX_DEPTH)
			return bad(r, r->pos, "nesting too deep (more than 64 "
				   "levels)");
		r->depth++;
		r->pos++;
		obj[top] = c == '{';
		base[top] = r->nkeys;
		mark[top] = r->atop;
		top++;
		if (peek(r) == (c == '{' ? '}' : ']')) {
			r->pos++;
			goto close;
		}
		if (c == '[')
			goto value;
		goto key;
	case '"':
		if (str_read(r, NULL, NULL, NULL) < 0)
			return -1;
		break;
	case 't':
		if (literal(r, "true", 4) < 0)
			return -1;
		break;
	case 'f':
		if (literal(r, "false", 5) < 0)
			return -1;
		break;
	case 'n':
		if (literal(r, "null", 4) < 0)
			return -1;
		break;
	default:
		if (c == '-' || (c >= '0' && c <= '9')) {
			if (number(r) < 0)
				return -1;
			break;
		}
		return bad(r, r->pos, "expected a value");
	}
	goto next;
close:
	top--;
	r->depth--;
	if (obj[top]) {
		if (keys_end(r, base[top]) < 0)
			return -1;
		/* Keys unescaped for the comparison are no longer needed. */
		r->atop = mark[top];
	}
next:
	if (top == 0)
		return 0;
	c = peek(r);
	if (c == ',') {
		r->pos++;
		if (obj[top - 1])
			goto key;
		goto value;
	}
	if (c == (obj[top - 1] ? '}' : ']')) {
		r->pos++;
		goto close;
	}
	return bad(r, r->pos, obj[top - 1] ? "expected ',' or '}'"
					   : "expected ',' or ']'");
key:
	if (key_read(r, base[top - 1], &k, &kl) < 0)
		return -1;
	goto value;
}

/* Walking an object or array whose members the push reader looks at. */
struct it {
	size_t base;
	int first;
};

static int
enter(struct rd *r, struct it *it)
{
	if (r->depth >= MAX_DEPTH)
		return bad(r, r->pos, "nesting too deep (more than 64 levels)");
	r->depth++;
	r->pos++;
	it->base = r->nkeys;
	it->first = 1;
	return 0;
}

/* Moves to the next member of an object: 1 with its key and the reader
 * at its value, 0 past the end of the object, -1 on error. */
static int
obj_next(struct rd *r, struct it *it, const char **k, size_t *kl)
{
	int c = peek(r);

	if (c == '}') {
		r->pos++;
		r->depth--;
		return keys_end(r, it->base);
	}
	if (!it->first) {
		if (c != ',')
			return bad(r, r->pos, "expected ',' or '}'");
		r->pos++;
	}
	it->first = 0;
	return key_read(r, it->base, k, kl) < 0 ? -1 : 1;
}

/* The same for an array: 1 with the reader at the next element. */
static int
arr_next(struct rd *r, struct it *it)
{
	int c = peek(r);

	if (c == ']') {
		r->pos++;
		r->depth--;
		return 0;
	}
	if (!it->first) {
		if (c != ',')
			return bad(r, r->pos, "expected ',' or ']'");
		r->pos++;
		ws(r);
	}
	it->first = 0;
	return 1;
}

/* The byte at the reader (after white space already skipped). */
static inline int
cur(const struct rd *r)
{
	return r->pos < r->len ? r->s[r->pos] : -1;
}

static inline int
is_key(const char *k, size_t kl, const char *name, size_t len)
{
	return kl == len && memcmp(k, name, len) == 0;
}
#define IS(k, kl, lit) is_key(k, kl, lit, sizeof(lit) - 1)

/* Skips an array (the reader at its '['), counting its elements. */
static int
skip_array(struct rd *r, size_t *n)
{
	struct it it;
	int rc;

	*n = 0;
	if (enter(r, &it) < 0)
		return -1;
	while ((rc = arr_next(r, &it)) == 1) {
		if (skip_value(r) < 0)
			return -1;
		(*n)++;
	}
	return rc;
}

/* A string member, or its type. */
static int
read_val(struct rd *r, struct val *v)
{
	v->type = cur(r);
	if (v->type == '"')
		return str_read(r, &v->s, &v->len, NULL);
	return skip_value(r);
}

static int
reserve_pairs(struct json_parse *jp, struct lt_label **a, size_t *cap,
	      size_t n)
{
	struct lt_label *l;
	size_t c;

	if (n <= *cap)
		return 0;
	c = *cap ? *cap * 2 : 16;
	if (c < n)
		c = n;
	l = reallocarray(*a, c, sizeof(*l));
	if (l == NULL) {
		jp->rd.oom = 1;
		return -1;
	}
	*a = l;
	*cap = c;
	return 0;
}

/* Reads an object of name/string pairs (a stream's labels, an entry's
 * metadata) into *a, keeping at most max pairs; *count gets the number
 * of members and *bad the first whose value is not a string.  With
 * drop_empty (labels) a pair whose value is "" is left out, and not
 * counted, as Loki does. */
static int
read_pairs(struct json_parse *jp, struct lt_label **a, size_t *cap,
	   size_t max, int drop_empty, size_t *count, struct val *bad_name)
{
	struct rd *r = &jp->rd;
	struct lt_label *l;
	struct it it;
	const char *k;
	size_t kl;
	int rc;

	*count = 0;
	bad_name->type = 0;
	if (enter(r, &it) < 0)
		return -1;
	while ((rc = obj_next(r, &it, &k, &kl)) == 1) {
		if (cur(r) != '"') {
			if (!bad_name->type) {
				bad_name->type = 1;
				bad_name->s = k;
				bad_name->len = kl;
			}
			if (skip_value(r) < 0)
				return -1;
		} else if (drop_empty && r->pos + 1 < r->len &&
			   r->s[r->pos + 1] == '"') {
			/* "": Loki leaves the label out before it counts
			 * them (an escape never makes an empty string). */
			jp->core.empty_labels++;
			if (str_read(r, NULL, NULL, NULL) < 0)
				return -1;
			continue;
		} else if (*count < max) {
			if (reserve_pairs(jp, a, cap, *count + 1) < 0)
				return -1;
			l = &(*a)[*count];
			l->name = k;
			l->name_len = kl;
			if (str_read(r, &l->value, &l->value_len, NULL) < 0)
				return -1;
		} else if (str_read(r, NULL, NULL, NULL) < 0) {
			return -1;
		}
		(*count)++;
	}
	return rc;
}

/* Whether s[0..len) is all digits: a timestamp in unix nanoseconds. */
static int
is_decimal(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return len > 0;
}

/* An entry whose shape is right: a bad timestamp rejects it. */
static int
entry(struct json_parse *jp, const struct val *ts, const struct val *line,
      size_t n_md)
{
	struct lt_push_parse *p = &jp->core;
	char q[LT_QUOTE_BUF];
	const char *why;
	int64_t ts_ns;

	if (lt_parse_timestamp(ts->s, ts->len, &ts_ns, &why) < 0)
		return lt_pp_reject(p, LT_REJECT_INVALID_TIMESTAMP, 1,
				    "invalid timestamp %s: %s",
				    lt_pp_quote(q, ts->s, ts->len), why);
	/* Only digits are nanoseconds; the dates and RFC 3339 times carry
	 * their unit. */
	if (is_decimal(ts->s, ts->len) &&
	    lt_pp_check_unit(p, "timestamp", 1, (uint64_t)ts_ns) != 0)
		return 1;
	return lt_pp_entry(p, ts_ns, line->s, line->len, jp->meta, n_md);
}

/* [ts, line] or [ts, line, {metadata}]. */
static int
v1_entry(struct json_parse *jp)
{
	static const char shape[] = "not an array of [timestamp, line] or "
				    "[timestamp, line, {metadata}]";
	struct lt_push_parse *p = &jp->core;
	struct rd *r = &jp->rd;
	struct val v[3], bad_md;
	char q[LT_QUOTE_BUF];
	size_t n = 0, n_md = 0;
	struct it it;
	int rc;

	if (cur(r) != '[')
		return lt_pp_fail(p, "%s", shape);
	if (enter(r, &it) < 0)
		return -1;
	bad_md.type = 0;
	while ((rc = arr_next(r, &it)) == 1) {
		if (n < 2)
			rc = read_val(r, &v[n]);
		else if (n == 2 && (v[2].type = cur(r)) == '{')
			rc = read_pairs(jp, &jp->meta, &jp->cap_meta, SIZE_MAX, 0,
					&n_md, &bad_md);
		else
			rc = skip_value(r);
		if (rc < 0)
			return -1;
		n++;
	}
	if (rc < 0)
		return -1;
	if (n != 2 && n != 3)
		return lt_pp_fail(p, "%s", shape);
	if (v[0].type != '"')
		return lt_pp_fail(p, "timestamp is not a string");
	if (v[1].type != '"')
		return lt_pp_fail(p, "line is not a string");
	if (n == 3 && v[2].type != '{')
		return lt_pp_fail(p, "structured metadata is not an object");
	if (bad_md.type)
		return lt_pp_fail(p, "structured metadata %s is not a string",
				  lt_pp_quote(q, bad_md.s, bad_md.len));
	return entry(jp, &v[0], &v[1], n_md);
}

/* {"ts": ts, "line": line}. */
static int
legacy_entry(struct json_parse *jp)
{
	struct lt_push_parse *p = &jp->core;
	struct rd *r = &jp->rd;
	struct val ts = {0, NULL, 0}, line = {0, NULL, 0};
	const char *k;
	size_t kl;
	struct it it;
	int rc;

	if (cur(r) != '{')
		return lt_pp_fail(p, "not an object of \"ts\" and \"line\"");
	if (enter(r, &it) < 0)
		return -1;
	while ((rc = obj_next(r, &it, &k, &kl)) == 1) {
		if (IS(k, kl, "ts"))
			rc = read_val(r, &ts);
		else if (IS(k, kl, "line"))
			rc = read_val(r, &line);
		else
			rc = skip_value(r);
		if (rc < 0)
			return -1;
	}
	if (rc < 0)
		return -1;
	if (!ts.type)
		return lt_pp_fail(p, "no \"ts\"");
	if (!line.type)
		return lt_pp_fail(p, "no \"line\"");
	if (ts.type != '"')
		return lt_pp_fail(p, "timestamp is not a string");
	if (line.type != '"')
		return lt_pp_fail(p, "line is not a string");
	return entry(jp, &ts, &line, 0);
}

/* The entries array, the reader at its '['. */
static int
entries(struct json_parse *jp, int legacy)
{
	struct rd *r = &jp->rd;
	struct it it;
	size_t mark;
	int rc;

	if (enter(r, &it) < 0)
		return -1;
	while ((rc = arr_next(r, &it)) == 1) {
		if (lt_pp_next_entry(&jp->core) < 0)
			return -1;
		mark = r->atop;
		rc = legacy ? legacy_entry(jp) : v1_entry(jp);
		/* The entry's strings are done with. */
		r->atop = mark;
		if (rc < 0)
			return -1;
	}
	return rc;
}

/* What a stream object holds, gathered as it is read. */
struct stream_state {
	int has_stream;      /* "stream", an object, read into jp->lab */
	size_t n_labels;     /* its members */
	struct val bad_label; /* its first member that is not a string */
	struct val labels;   /* "labels" (legacy): type, and where */
	size_t labels_pos;
	int values, entries; /* the type of "values", "entries"; 0 = absent */
	size_t values_pos, entries_pos;
	size_t n_values, n_entries;
	int done;            /* the entries went by already */
};

/* The labels of a v1 stream, once its entries are known to be an array:
 * 0 when its entries should follow, 1 when it was rejected, -1. */
static int
v1_labels(struct json_parse *jp, const struct stream_state *st,
	  size_t n_entries)
{
	struct lt_push_parse *p = &jp->core;
	char q[LT_QUOTE_BUF];
	size_t n = st->n_labels;

	if (n > p->lim->max_label_names || n == 0)
		return lt_pp_stream(p, NULL, n, n_entries);
	if (st->bad_label.type)
		return lt_pp_fail(p, "label %s is not a string",
				  lt_pp_quote(q, st->bad_label.s,
					      st->bad_label.len));
	return lt_pp_stream(p, jp->lab, n, n_entries);
}

/* "values" after "stream", the usual order: the entries go to the core
 * as they are read.  Their number is only needed when the stream is
 * rejected, so it is counted then and added to the rejected ones. */
static int
values_now(struct json_parse *jp, struct stream_state *st)
{
	struct lt_push_parse *p = &jp->core;
	size_t n;
	int rc;

	st->done = 1;
	if (cur(&jp->rd) != '[')
		return lt_pp_fail(p, "\"values\" is not an array");
	rc = v1_labels(jp, st, 0);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return entries(jp, 0);
	if (skip_array(&jp->rd, &n) < 0)
		return -1;
	lt_pp_reject_more(p, n);
	return 0;
}

/* Any other order, or a legacy stream: the checks in the order the
 * jansson reader made them, then the entries read again. */
static int
stream_end(struct json_parse *jp, struct stream_state *st)
{
	struct lt_push_parse *p = &jp->core;
	struct rd *r = &jp->rd;
	int legacy = !st->has_stream && st->labels.type != 0, type, rc;
	size_t end = r->pos, n;

	if (!st->has_stream && !legacy)
		return lt_pp_fail(p, "no \"stream\" object of labels");
	if (legacy && st->labels.type != '"')
		return lt_pp_fail(p, "\"labels\" is not a string");
	type = legacy ? st->entries : st->values;
	if (type == 0)
		return lt_pp_fail(p, legacy ? "no \"entries\" array"
					    : "no \"values\" array");
	if (type != '[')
		return lt_pp_fail(p, legacy ? "\"entries\" is not an array"
					    : "\"values\" is not an array");
	n = legacy ? st->n_entries : st->n_values;
	if (legacy) {
		r->pos = st->labels_pos;
		if (str_read(r, &st->labels.s, &st->labels.len, NULL) < 0)
			return -1;
		rc = lt_pp_stream_text(p, st->labels.s, st->labels.len, n);
	} else {
		rc = v1_labels(jp, st, n);
	}
	if (rc == 0) {
		r->pos = legacy ? st->entries_pos : st->values_pos;
		rc = entries(jp, legacy);
	}
	r->pos = end;
	return rc < 0 ? -1 : 0;
}

/* A member "values" or "entries" met before it can be used: skipped,
 * with where it is and how many elements it has. */
static int
defer_array(struct rd *r, int *type, size_t *pos, size_t *n)
{
	*type = cur(r);
	*pos = r->pos;
	if (*type == '[')
		return skip_array(r, n);
	return skip_value(r);
}

/* A stream of either format; shape errors refuse the push, label
 * errors reject the stream. */
static int
stream(struct json_parse *jp)
{
	struct lt_push_parse *p = &jp->core;
	struct rd *r = &jp->rd;
	struct stream_state st;
	size_t mark = r->atop, kl;
	const char *k;
	struct it it;
	int rc;

	lt_pp_begin_stream(p);
	memset(&st, 0, sizeof(st));
	if (cur(r) != '{')
		return lt_pp_fail(p, "not an object");
	if (enter(r, &it) < 0)
		return -1;
	while ((rc = obj_next(r, &it, &k, &kl)) == 1) {
		if (IS(k, kl, "stream")) {
			if (cur(r) != '{')
				return lt_pp_fail(p, "\"stream\" is not an "
						  "object");
			st.has_stream = 1;
			rc = read_pairs(jp, &jp->lab, &jp->cap_lab,
					p->lim->max_label_names, 1,
					&st.n_labels, &st.bad_label);
		} else if (IS(k, kl, "values")) {
			if (st.has_stream)
				rc = values_now(jp, &st);
			else
				rc = defer_array(r, &st.values, &st.values_pos,
						 &st.n_values);
		} else if (IS(k, kl, "entries")) {
			rc = defer_array(r, &st.entries, &st.entries_pos,
					 &st.n_entries);
		} else if (IS(k, kl, "labels")) {
			st.labels.type = cur(r);
			st.labels_pos = r->pos;
			rc = skip_value(r);
		} else {
			rc = skip_value(r);
		}
		if (rc < 0)
			return -1;
	}
	if (rc == 0 && !st.done)
		rc = stream_end(jp, &st);
	/* The stream's labels are done with. */
	r->atop = mark;
	return rc;
}

static int
streams(struct json_parse *jp)
{
	struct rd *r = &jp->rd;
	struct it it;
	int rc;

	if (enter(r, &it) < 0)
		return -1;
	while ((rc = arr_next(r, &it)) == 1)
		if (stream(jp) < 0)
			return -1;
	return rc;
}

/* Nothing but white space may follow the value. */
static int
doc_end(struct rd *r)
{
	if (peek(r) != -1)
		return bad(r, r->pos, "end of input expected");
	return 0;
}

static int
parse_push(struct json_parse *jp)
{
	struct lt_push_parse *p = &jp->core;
	struct rd *r = &jp->rd;
	const char *k;
	size_t kl;
	struct it it;
	int c, seen = 0, rc;

	c = peek(r);
	if (c == '[') {
		if (skip_value(r) < 0 || doc_end(r) < 0)
			return -1;
		return lt_pp_fail(p, "the body is not a JSON object");
	}
	if (c != '{')
		return bad(r, r->pos, "'[' or '{' expected");
	if (enter(r, &it) < 0)
		return -1;
	while ((rc = obj_next(r, &it, &k, &kl)) == 1) {
		if (IS(k, kl, "streams")) {
			seen = 1;
			if (cur(r) != '[')
				return lt_pp_fail(p, "\"streams\" is not an "
						  "array");
			rc = streams(jp);
		} else {
			rc = skip_value(r);
		}
		if (rc < 0)
			return -1;
	}
	if (rc < 0 || doc_end(r) < 0)
		return -1;
	if (!seen)
		return lt_pp_fail(p, "no \"streams\" array");
	return 0;
}

/* Validates the whole body from the start, pushing nothing. */
static int
validate(struct rd *r)
{
	int c;

	r->pos = 0;
	r->depth = 0;
	r->nkeys = 0;
	r->atop = 0;
	c = peek(r);
	if (c != '{' && c != '[')
		return bad(r, r->pos, "'[' or '{' expected");
	if (skip_value(r) < 0)
		return -1;
	return doc_end(r);
}

/* Refuses the push for a syntax error, as if nothing had been read:
 * jansson found it before any stream was looked at. */
static int
malformed(struct json_parse *jp)
{
	struct lt_push_parse *p = &jp->core;
	struct lt_push_result *res = p->res;
	struct rd *r = &jp->rd;
	const unsigned char *s = r->s, *nl;
	size_t line = 1, bol = 0, i = 0;
	char found[48] = "";

	while (i < r->err_pos &&
	       (nl = memchr(s + i, '\n', r->err_pos - i)) != NULL) {
		line++;
		i = bol = (size_t)(nl - s) + 1;
	}
	if (r->err_found && r->err_pos >= r->len)
		(void)snprintf(found, sizeof(found),
			       " at the end of the input");
	else if (r->err_found && s[r->err_pos] > 0x20 && s[r->err_pos] < 0x7f)
		(void)snprintf(found, sizeof(found), " near '%c'",
			       s[r->err_pos]);
	else if (r->err_found)
		(void)snprintf(found, sizeof(found), " near byte 0x%02x",
			       s[r->err_pos]);
	p->stream_no = 0;
	p->entry_no = 0;
	p->labels_ok = 0;
	p->msg_len = 0;
	res->accepted = 0;
	res->accepted_bytes = 0;
	res->rejected = 0;
	memset(res->rejected_by, 0, sizeof(res->rejected_by));
	res->reasons_cut = 0;
	return lt_pp_fail(p, "malformed JSON at line %zu, column %zu "
			  "(byte %zu): %s%s", line, r->err_pos - bol + 1,
			  r->err_pos, r->err, found);
}

int
lt_push_parse_json(const char *body, size_t len,
		   const struct lt_limits *limits, int64_t now_ns,
		   const struct lt_sink *sink, struct lt_push_result *res)
{
	struct json_parse jp;
	struct lt_push_parse *p = &jp.core;
	struct rd *r = &jp.rd;
	int rc;

	memset(&jp, 0, sizeof(jp));
	lt_pp_init(p, limits, now_ns, sink, res);
	r->s = (const unsigned char *)body;
	r->len = len;
	r->arena = malloc(len > 0 ? len : 1);
	if (r->arena == NULL) {
		rc = lt_pp_oom(p);
		goto out;
	}
	rc = parse_push(&jp);
	/* Refused for its shape, or the sink failed: a syntax error
	 * further on still makes it malformed JSON. */
	if (rc < 0 && !r->failed && !r->oom) {
		if (validate(r) < 0 && r->failed)
			rc = malformed(&jp);
	} else if (r->failed) {
		rc = malformed(&jp);
	} else if (r->oom) {
		rc = lt_pp_oom(p);
	}
out:
	free(r->arena);
	free(r->keys);
	free(jp.lab);
	free(jp.meta);
	lt_pp_free(p);
	return rc < 0 ? -1 : 0;
}
