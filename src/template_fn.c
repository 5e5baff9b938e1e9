/* The functions of LogQL's templates: Go's builtins (eq, printf, and,
 * len, ...), the Sprig functions Loki lends (lower, trunc, add, date,
 * default, ...) and Loki's own (__line__, regexReplaceAll, bytes,
 * alignLeft, ...), with Sprig's conversions of strings to numbers
 * (add "1" 2 is 3) and Go's messages. */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <math.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base64.h"
#include "labels.h"
#include "template_int.h"

/* A function of the table: its arguments a[0..n), already of the
 * parameters' types. */
#define F(name) \
	static int fn_##name(struct tx *x, struct tv *a, int n, struct tv *res)

/* ---- results ---- */

static int
ret_str(struct tv *res, const char *s, size_t n)
{
	memset(res, 0, sizeof(*res));
	res->k = TV_STR;
	res->s = s;
	res->n = n;
	return 0;
}

static int
ret_int(struct tv *res, enum tv_kind k, int64_t i)
{
	memset(res, 0, sizeof(*res));
	res->k = k;
	res->i = i;
	return 0;
}

static int
ret_float(struct tv *res, double f)
{
	memset(res, 0, sizeof(*res));
	res->k = TV_FLOAT;
	res->f = f;
	return 0;
}

static int
ret_bool(struct tv *res, int b)
{
	return ret_int(res, TV_BOOL, b != 0);
}

static int
ret_time(struct tv *res, int64_t sec, int32_t ns)
{
	memset(res, 0, sizeof(*res));
	res->k = TV_TIME;
	res->i = sec;
	res->ns = ns;
	return 0;
}

/* A string built in b, kept for the rest of the execution. */
static int
ret_buf(struct tx *x, struct lt_buf *b, struct tv *res)
{
	int rc = lt_tx_keep(x, b, res);

	lt_buf_free(b);
	return rc;
}

static int
ret_decimal(struct tx *x, struct tv *res, long long v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%lld", v);
	char *s;

	if (n < 0 || (size_t)n >= sizeof(tmp) ||
	    (s = lt_tx_alloc(x, (size_t)n)) == NULL)
		return -1;
	memcpy(s, tmp, (size_t)n);
	return ret_str(res, s, (size_t)n);
}

/* ---- Sprig's conversions (spf13/cast) ---- */

/* strconv.ParseInt(s, 0, 64) */
static int
parse_int_go(const char *s, size_t n, int64_t *out)
{
	uint64_t v = 0, lim;
	size_t i = 0;
	int neg = 0, base = 10, d;

	if (i < n && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	if (n - i >= 2 && s[i] == '0') {
		char c = s[i + 1];

		if (c == 'x' || c == 'X')
			base = 16, i += 2;
		else if (c == 'o' || c == 'O')
			base = 8, i += 2;
		else if (c == 'b' || c == 'B')
			base = 2, i += 2;
		else
			base = 8, i += 1;
	}
	if (i >= n)
		return base == 8 && n > 0 && s[n - 1] == '0' ? (*out = 0, 0) : -1;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < n; i++) {
		char c = s[i];

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		if (d >= base || v > (lim - (uint64_t)d) / (uint64_t)base)
			return -1;
		v = v * (uint64_t)base + (uint64_t)d;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

/* strconv.ParseFloat(s, 64) */
static int
parse_float_go(const char *s, size_t n, double *out)
{
	char buf[128];
	char *end;

	if (n == 0 || n >= sizeof(buf) || s[0] == ' ' || s[0] == '\t' ||
	    s[0] == '\n' || s[0] == '\r' || s[0] == '\v' || s[0] == '\f')
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	*out = strtod(buf, &end);
	return *end == '\0' ? 0 : -1;
}

/* cast.ToInt64: "3" and "3.00" are 3, "3.5" and "x" are 0. */
static int64_t
to_int64(const struct tv *v)
{
	int64_t r;
	size_t n;
	int zero = 0;

	switch (v->k) {
	case TV_INT:
	case TV_INT64:
	case TV_BOOL:
		return v->i;
	case TV_FLOAT:
		if (isnan(v->f))
			return INT64_MIN;
		if (v->f >= 9223372036854775807.0 || v->f < -9223372036854775807.0)
			return INT64_MIN;
		return (int64_t)v->f;
	case TV_STR:
		/* trimZeroDecimal */
		for (n = v->n; n > 0; n--) {
			if (v->s[n - 1] == '0') {
				zero = 1;
				continue;
			}
			if (v->s[n - 1] == '.' && zero)
				n--;
			else
				n = v->n;
			break;
		}
		if (n == 0)
			n = v->n;
		return parse_int_go(v->s, n, &r) == 0 ? r : 0;
	default:
		return 0;
	}
}

static double
to_float64(const struct tv *v)
{
	double f;

	switch (v->k) {
	case TV_INT:
	case TV_INT64:
	case TV_BOOL:
		return (double)v->i;
	case TV_FLOAT:
		return v->f;
	case TV_STR:
		return parse_float_go(v->s, v->n, &f) == 0 ? f : 0;
	default:
		return 0;
	}
}

/* Sprig does float arithmetic in decimals (shopspring/decimal) from
 * each float's shortest digits: addf 0.1 0.2 is 0.3, not the double
 * sum 0.30000000000000004.  A decimal here is m * 10^e with m in 128
 * bits, enough for two 17-digit operands; when a result does not fit,
 * the double arithmetic stands in. */
struct dec {
	__int128 m;
	int e;
};

#define DEC_LIMIT ((__int128)1000000000000000000 * 1000000000000000000 * 10)

static int
dec_from(const struct tv *v, struct dec *d)
{
	char tmp[40];
	double f = to_float64(v);
	const char *c;
	int p, nd = 0, neg = f < 0;

	if (isnan(f) || isinf(f))
		return -1;
	d->m = 0;
	d->e = 0;
	if (f == 0)
		return 0;
	for (p = 1; p <= 17; p++) {
		(void)snprintf(tmp, sizeof(tmp), "%.*e", p - 1, f);
		if (strtod(tmp, NULL) == f)
			break;
	}
	for (c = tmp; *c != '\0' && *c != 'e'; c++)
		if (*c >= '0' && *c <= '9') {
			d->m = d->m * 10 + (*c - '0');
			nd++;
		}
	d->e = (*c == 'e' ? atoi(c + 1) : 0) - (nd - 1);
	if (neg)
		d->m = -d->m;
	return 0;
}

static __int128
dec_abs(__int128 m)
{
	return m < 0 ? -m : m;
}

/* Brings d to exponent e (below its own): -1 when m grows too big. */
static int
dec_lower(struct dec *d, int e)
{
	while (d->e > e) {
		if (dec_abs(d->m) >= DEC_LIMIT / 10)
			return -1;
		d->m *= 10;
		d->e--;
	}
	return 0;
}

static int
dec_add(struct dec *a, struct dec b)
{
	if (a->m == 0) {
		*a = b;
		return 0;
	}
	if (b.m == 0)
		return 0;
	if (dec_lower(a, b.e) < 0 || dec_lower(&b, a->e) < 0)
		return -1;
	a->m += b.m;
	return dec_abs(a->m) >= DEC_LIMIT ? -1 : 0;
}

static int
dec_mul(struct dec *a, struct dec b)
{
	if (a->m != 0 && dec_abs(b.m) > DEC_LIMIT / dec_abs(a->m))
		return -1;
	a->m *= b.m;
	a->e += b.e;
	return 0;
}

/* Decimal division: 16 digits after the point, half away from zero. */
static int
dec_div(struct dec *a, struct dec b)
{
	__int128 q, r;
	int k = a->e - b.e + 16;

	/* The quotient of a mantissa by a divisor made 10^-k times larger
	 * is then in units of 10^-16 too; a divisor too large for that
	 * makes the quotient round to 0. */
	for (; k < 0; k++) {
		if (dec_abs(b.m) >= DEC_LIMIT / 10) {
			a->m = 0;
			a->e = 0;
			return 0;
		}
		b.m *= 10;
	}
	while (k-- > 0) {
		if (dec_abs(a->m) >= DEC_LIMIT / 10)
			return -1;
		a->m *= 10;
		a->e--;
	}
	q = a->m / b.m;
	r = a->m % b.m;
	if (2 * dec_abs(r) >= dec_abs(b.m))
		q += (a->m < 0) != (b.m < 0) ? -1 : 1;
	a->m = q;
	a->e = -16;
	return 0;
}

static double
dec_double(struct dec d)
{
	char tmp[64];
	size_t i = sizeof(tmp) - 1;
	__int128 m = dec_abs(d.m);
	int k;

	tmp[i] = '\0';
	k = snprintf(NULL, 0, "e%d", d.e);
	i -= (size_t)k;
	(void)snprintf(tmp + i, (size_t)k + 1, "e%d", d.e);
	do {
		tmp[--i] = (char)('0' + (int)(m % 10));
		m /= 10;
	} while (m > 0);
	if (d.m < 0)
		tmp[--i] = '-';
	return strtod(tmp + i, NULL);
}

enum decop { DEC_ADD, DEC_SUB, DEC_MUL, DEC_DIV };

/* a[0] op a[1] op ...; *zero_div when a divisor is 0. */
static double
dec_fold(const struct tv *a, int n, enum decop op, int *zero_div)
{
	struct dec acc, d;
	double f = n > 0 ? to_float64(&a[0]) : 0, g;
	int k, exact = n == 0 || dec_from(&a[0], &acc) == 0;

	if (n == 0)
		acc.m = 0, acc.e = 0;
	for (k = 1; k < n; k++) {
		g = to_float64(&a[k]);
		if (op == DEC_DIV && g == 0) {
			*zero_div = 1;
			return 0;
		}
		if (exact && dec_from(&a[k], &d) < 0)
			exact = 0;
		if (exact && op == DEC_SUB)
			d.m = -d.m;
		if (exact && (op == DEC_ADD || op == DEC_SUB))
			exact = dec_add(&acc, d) == 0;
		else if (exact && op == DEC_MUL)
			exact = dec_mul(&acc, d) == 0;
		else if (exact)
			exact = dec_div(&acc, d) == 0;
		f = op == DEC_ADD ? f + g : op == DEC_SUB ? f - g :
		    op == DEC_MUL ? f * g : f / g;
	}
	return exact ? dec_double(acc) : f;
}

/* ---- strings ---- */

static int
is_uspace(uint32_t r)
{
	return r == ' ' || (r >= '\t' && r <= '\r') || r == 0x85 || r == 0xa0 ||
	       r == 0x1680 || (r >= 0x2000 && r <= 0x200a) || r == 0x2028 ||
	       r == 0x2029 || r == 0x202f || r == 0x205f || r == 0x3000;
}

static int
in_cutset(const struct tv *cut, uint32_t r)
{
	size_t i = 0, w;
	uint32_t c;

	while (i < cut->n) {
		w = lt_utf8_next(cut->s + i, cut->n - i, &c);
		if (c == r)
			return 1;
		i += w;
	}
	return 0;
}

/* The length of the last rune of s[0..n), as Go decodes backwards. */
static size_t
last_rune(const char *s, size_t n, uint32_t *r)
{
	size_t k, start = n > 4 ? n - 4 : 0;

	for (k = n - 1;; k--) {
		if (((unsigned char)s[k] & 0xc0) != 0x80 || k == start) {
			if (lt_utf8_next(s + k, n - k, r) == n - k)
				return n - k;
			break;
		}
	}
	*r = 0xfffd;
	return 1;
}

/* strings.Trim family: left and/or right, runes in cut (or spaces). */
static int
trim_runes(const struct tv *s, const struct tv *cut, int left, int right,
	   struct tv *res)
{
	size_t a = 0, b = s->n, w;
	uint32_t r;

	while (left && a < b) {
		w = lt_utf8_next(s->s + a, b - a, &r);
		if (cut != NULL ? !in_cutset(cut, r) : !is_uspace(r))
			break;
		a += w;
	}
	while (right && b > a) {
		w = last_rune(s->s + a, b - a, &r);
		if (cut != NULL ? !in_cutset(cut, r) : !is_uspace(r))
			break;
		b -= w;
	}
	return ret_str(res, s->s + a, b - a);
}

static int
has_prefix(const struct tv *s, const struct tv *p)
{
	return s->n >= p->n && memcmp(s->s, p->s, p->n) == 0;
}

static int
has_suffix(const struct tv *s, const struct tv *p)
{
	return s->n >= p->n && memcmp(s->s + s->n - p->n, p->s, p->n) == 0;
}

static int
find(const struct tv *s, size_t from, const struct tv *sub, size_t *at)
{
	size_t i;

	if (sub->n > s->n)
		return 0;
	for (i = from; i + sub->n <= s->n; i++)
		if (memcmp(s->s + i, sub->s, sub->n) == 0) {
			*at = i;
			return 1;
		}
	return 0;
}

/* strings.Replace(s, old, new, n); n < 0: all. */
static int
replace(struct tx *x, const struct tv *s, const struct tv *old,
	const struct tv *new, int64_t n, struct tv *res)
{
	struct lt_buf b = LT_BUF_INIT;
	size_t i = 0, at, w;
	uint32_t r;
	int rc = 0;

	if (old->n == 0) {
		/* An empty old matches before every rune and at the end. */
		while (rc == 0 && n != 0) {
			rc = lt_buf_append(&b, new->s, new->n);
			n--;
			if (i >= s->n)
				break;
			w = lt_utf8_next(s->s + i, s->n - i, &r);
			if (rc == 0)
				rc = lt_buf_append(&b, s->s + i, w);
			i += w;
			if (b.len > x->scratch_max)
				rc = -1;
		}
	} else {
		while (rc == 0 && n != 0 && find(s, i, old, &at)) {
			rc = lt_buf_append(&b, s->s + i, at - i);
			if (rc == 0)
				rc = lt_buf_append(&b, new->s, new->n);
			i = at + old->n;
			n--;
			if (b.len > x->scratch_max)
				rc = -1;
		}
	}
	if (rc == 0 && i < s->n)
		rc = lt_buf_append(&b, s->s + i, s->n - i);
	if (rc < 0) {
		lt_buf_free(&b);
		return lt_tx_fail(x, "result over %zu bytes", x->scratch_max);
	}
	return ret_buf(x, &b, res);
}

static int
map_ascii(struct tx *x, const struct tv *s, int upper, struct tv *res)
{
	char *o = lt_tx_alloc(x, s->n > 0 ? s->n : 1);
	size_t i;
	char c;

	if (o == NULL)
		return -1;
	for (i = 0; i < s->n; i++) {
		c = s->s[i];
		if (upper && c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (!upper && c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		o[i] = c;
	}
	return ret_str(res, o, s->n);
}

/* Byte offset of rune number k of s (or s->n). */
static size_t
rune_offset(const struct tv *s, int64_t k)
{
	size_t i = 0;
	uint32_t r;

	while (k > 0 && i < s->n) {
		i += lt_utf8_next(s->s + i, s->n - i, &r);
		k--;
	}
	return i;
}

static int64_t
rune_len(const struct tv *s)
{
	size_t i = 0;
	int64_t k = 0;
	uint32_t r;

	while (i < s->n) {
		i += lt_utf8_next(s->s + i, s->n - i, &r);
		k++;
	}
	return k;
}

static int
repeat(struct tx *x, const char *s, size_t n, int64_t count, struct lt_buf *b)
{
	if (count < 0)
		return lt_tx_fail(x, "strings: negative Repeat count");
	if (n > 0 && (uint64_t)count > x->scratch_max / n)
		return lt_tx_fail(x, "result over %zu bytes", x->scratch_max);
	while (count-- > 0)
		if (lt_buf_append(b, s, n) < 0)
			return -1;
	return 0;
}

F(line)
{
	(void)a;
	(void)n;
	return ret_str(res, x->e->line != NULL ? x->e->line : "",
		       x->e->line != NULL ? x->e->line_len : 0);
}

F(timestamp)
{
	int64_t ns = x->e->ts_ns, sec = ns / 1000000000, rem = ns % 1000000000;

	(void)a;
	(void)n;
	if (rem < 0) {
		rem += 1000000000;
		sec--;
	}
	return ret_time(res, sec, (int32_t)rem);
}

F(now)
{
	struct timespec ts;

	(void)a;
	(void)n;
	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return lt_tx_fail(x, "no clock");
	return ret_time(res, (int64_t)ts.tv_sec, (int32_t)ts.tv_nsec);
}

F(lower) { (void)n; return map_ascii(x, &a[0], 0, res); }
F(upper) { (void)n; return map_ascii(x, &a[0], 1, res); }

/* strings.Title: the first letter of each word in upper case. */
F(title)
{
	char *o = lt_tx_alloc(x, a[0].n > 0 ? a[0].n : 1);
	char prev = ' ', c;
	size_t i;

	(void)n;
	if (o == NULL)
		return -1;
	for (i = 0; i < a[0].n; i++) {
		c = a[0].s[i];
		if (!((prev >= 'a' && prev <= 'z') || (prev >= 'A' && prev <= 'Z') ||
		      (prev >= '0' && prev <= '9') || prev == '_' ||
		      (unsigned char)prev >= 0x80) && c >= 'a' && c <= 'z')
			o[i] = (char)(c - 'a' + 'A');
		else
			o[i] = c;
		prev = c;
	}
	return ret_str(res, o, a[0].n);
}

F(trim) { (void)x; (void)n; return trim_runes(&a[0], NULL, 1, 1, res); }
F(trimAll) { (void)x; (void)n; return trim_runes(&a[1], &a[0], 1, 1, res); }
F(Trim) { (void)x; (void)n; return trim_runes(&a[0], &a[1], 1, 1, res); }
F(TrimLeft) { (void)x; (void)n; return trim_runes(&a[0], &a[1], 1, 0, res); }
F(TrimRight) { (void)x; (void)n; return trim_runes(&a[0], &a[1], 0, 1, res); }

static int
trim_prefix(const struct tv *s, const struct tv *p, struct tv *res)
{
	if (has_prefix(s, p))
		return ret_str(res, s->s + p->n, s->n - p->n);
	return ret_str(res, s->s, s->n);
}

static int
trim_suffix(const struct tv *s, const struct tv *p, struct tv *res)
{
	if (has_suffix(s, p))
		return ret_str(res, s->s, s->n - p->n);
	return ret_str(res, s->s, s->n);
}

F(trimPrefix) { (void)x; (void)n; return trim_prefix(&a[1], &a[0], res); }
F(trimSuffix) { (void)x; (void)n; return trim_suffix(&a[1], &a[0], res); }
F(TrimPrefix) { (void)x; (void)n; return trim_prefix(&a[0], &a[1], res); }
F(TrimSuffix) { (void)x; (void)n; return trim_suffix(&a[0], &a[1], res); }

F(contains)
{
	size_t at;

	(void)x;
	(void)n;
	return ret_bool(res, find(&a[1], 0, &a[0], &at));
}

F(hasPrefix) { (void)x; (void)n; return ret_bool(res, has_prefix(&a[1], &a[0])); }
F(hasSuffix) { (void)x; (void)n; return ret_bool(res, has_suffix(&a[1], &a[0])); }

F(replace) { (void)n; return replace(x, &a[2], &a[0], &a[1], -1, res); }
F(Replace) { (void)n; return replace(x, &a[0], &a[1], &a[2], a[3].i, res); }

/* Loki's trunc: the first c runes, or with c < 0 the last -c. */
F(trunc)
{
	int64_t c = a[0].i, l = rune_len(&a[1]);
	size_t off;

	(void)x;
	(void)n;
	if (c < 0 && l + c > 0) {
		off = rune_offset(&a[1], l + c);
		return ret_str(res, a[1].s + off, a[1].n - off);
	}
	if (c >= 0 && l > c)
		return ret_str(res, a[1].s, rune_offset(&a[1], c));
	return ret_str(res, a[1].s, a[1].n);
}

/* Loki's substring, in runes. */
F(substr)
{
	int64_t start = a[0].i, end = a[1].i, l = rune_len(&a[2]);
	size_t s0, s1;

	(void)x;
	(void)n;
	if (end > l)
		end = l;
	if (start > l)
		start = l;
	if (start < 0) {
		if (end < 0)
			return ret_str(res, "", 0);
		return ret_str(res, a[2].s, rune_offset(&a[2], end));
	}
	if (end < 0) {
		s0 = rune_offset(&a[2], start);
		return ret_str(res, a[2].s + s0, a[2].n - s0);
	}
	if (start > end)
		return ret_str(res, "", 0);
	s0 = rune_offset(&a[2], start);
	s1 = rune_offset(&a[2], end);
	return ret_str(res, a[2].s + s0, s1 - s0);
}

static int
indent(struct tx *x, int64_t spaces, const struct tv *s, int newline,
       struct tv *res)
{
	struct lt_buf b = LT_BUF_INIT, pad = LT_BUF_INIT;
	size_t i;
	int rc;

	rc = repeat(x, " ", 1, spaces, &pad);
	if (rc == 0 && newline)
		rc = lt_buf_append_byte(&b, '\n');
	if (rc == 0)
		rc = lt_buf_append(&b, pad.data, pad.len);
	for (i = 0; rc == 0 && i < s->n; i++) {
		rc = lt_buf_append_byte(&b, (unsigned char)s->s[i]);
		if (rc == 0 && s->s[i] == '\n')
			rc = lt_buf_append(&b, pad.data, pad.len);
		if (b.len > x->scratch_max)
			rc = lt_tx_fail(x, "result over %zu bytes", x->scratch_max);
	}
	lt_buf_free(&pad);
	if (rc < 0) {
		lt_buf_free(&b);
		return -1;
	}
	return ret_buf(x, &b, res);
}

F(indent) { (void)n; return indent(x, a[0].i, &a[1], 0, res); }
F(nindent) { (void)n; return indent(x, a[0].i, &a[1], 1, res); }

F(repeat)
{
	struct lt_buf b = LT_BUF_INIT;

	(void)n;
	if (repeat(x, a[1].s, a[1].n, a[0].i, &b) < 0) {
		lt_buf_free(&b);
		return -1;
	}
	return ret_buf(x, &b, res);
}

static int
align(struct tx *x, int64_t count, const struct tv *s, int left,
      struct tv *res)
{
	struct lt_buf b = LT_BUF_INIT;
	int64_t l = rune_len(s);
	size_t off;
	int rc;

	if (count < 0 || count == l)
		return ret_str(res, s->s, s->n);
	if (count < l) {
		if (left)
			return ret_str(res, s->s, rune_offset(s, count));
		off = rune_offset(s, l - count);
		return ret_str(res, s->s + off, s->n - off);
	}
	rc = left ? lt_buf_append(&b, s->s, s->n) : 0;
	if (rc == 0)
		rc = repeat(x, " ", 1, count - l, &b);
	if (rc == 0 && !left)
		rc = lt_buf_append(&b, s->s, s->n);
	if (rc < 0) {
		lt_buf_free(&b);
		return -1;
	}
	return ret_buf(x, &b, res);
}

F(alignLeft) { (void)n; return align(x, a[0].i, &a[1], 1, res); }
F(alignRight) { (void)n; return align(x, a[0].i, &a[1], 0, res); }

/* Sprig's empty(): "", 0, false and nothing are empty. */
static int
empty(const struct tv *v)
{
	switch (v->k) {
	case TV_TIME:
	case TV_MAP:
		return 0;
	default:
		return !lt_tv_truth(v);
	}
}

F(default)
{
	(void)x;
	*res = n < 2 || empty(&a[1]) ? a[0] : a[1];
	return 0;
}

/* ---- Go's builtins ---- */

F(not) { (void)x; (void)n; return ret_bool(res, !lt_tv_truth(&a[0])); }
F(and) { (void)x; (void)a; (void)n; (void)res; return 0; }
F(or) { (void)x; (void)a; (void)n; (void)res; return 0; }

F(len)
{
	(void)n;
	if (a[0].k == TV_STR)
		return ret_int(res, TV_INT, (int64_t)a[0].n);
	if (a[0].k == TV_MAP)
		return lt_tx_fail(x, "len of the label set is not supported");
	return lt_tx_fail(x, "len of type %s", lt_tv_type(&a[0]));
}

enum bkind { BK_BAD, BK_BOOL, BK_INT, BK_FLOAT, BK_STR };

static enum bkind
basic_kind(const struct tv *v)
{
	switch (v->k) {
	case TV_BOOL: return BK_BOOL;
	case TV_INT:
	case TV_INT64: return BK_INT;
	case TV_FLOAT: return BK_FLOAT;
	case TV_STR: return BK_STR;
	default: return BK_BAD;
	}
}

static int
str_cmp(const struct tv *a, const struct tv *b)
{
	size_t m = a->n < b->n ? a->n : b->n;
	int c = m > 0 ? memcmp(a->s, b->s, m) : 0;

	if (c != 0)
		return c;
	return a->n < b->n ? -1 : a->n > b->n;
}

/* Go's eq for two values: 1, 0, or -1 with msg set. */
static int
equal(struct tx *x, const struct tv *a, const struct tv *b)
{
	enum bkind k1 = basic_kind(a), k2 = basic_kind(b);

	if (k1 != k2 || (k1 == BK_BAD && a->k != b->k))
		return lt_tx_fail(x, "incompatible types for comparison");
	switch (k1) {
	case BK_BOOL:
	case BK_INT: return a->i == b->i;
	case BK_FLOAT: return a->f == b->f;
	case BK_STR: return str_cmp(a, b) == 0;
	case BK_BAD: break;
	}
	if (a->k == TV_TIME)
		return a->i == b->i && a->ns == b->ns;
	return lt_tx_fail(x, "non-comparable type %s", lt_tv_type(a));
}

F(eq)
{
	int k, r;

	if (n < 2)
		return lt_tx_fail(x, "missing argument for comparison");
	for (k = 1; k < n; k++) {
		if ((r = equal(x, &a[0], &a[k])) < 0)
			return -1;
		if (r)
			return ret_bool(res, 1);
	}
	return ret_bool(res, 0);
}

F(ne)
{
	int r = equal(x, &a[0], &a[1]);

	(void)n;
	return r < 0 ? -1 : ret_bool(res, !r);
}

/* Go's lt: -1, 0, 1 in *c; -1 with msg set when not comparable. */
static int
less(struct tx *x, const struct tv *a, const struct tv *b, int *c)
{
	enum bkind k1 = basic_kind(a), k2 = basic_kind(b);

	if (k1 == BK_BAD || k1 == BK_BOOL || k2 == BK_BAD || k2 == BK_BOOL)
		return lt_tx_fail(x, "invalid type for comparison");
	if (k1 != k2)
		return lt_tx_fail(x, "incompatible types for comparison");
	if (k1 == BK_INT)
		*c = a->i < b->i ? -1 : a->i > b->i;
	else if (k1 == BK_FLOAT)
		*c = a->f < b->f ? -1 : a->f > b->f;
	else
		*c = str_cmp(a, b);
	return 0;
}

F(lt) { int c; (void)n; return less(x, &a[0], &a[1], &c) < 0 ? -1 : ret_bool(res, c < 0); }
F(le) { int c; (void)n; return less(x, &a[0], &a[1], &c) < 0 ? -1 : ret_bool(res, c <= 0); }
F(gt) { int c; (void)n; return less(x, &a[0], &a[1], &c) < 0 ? -1 : ret_bool(res, c > 0); }
F(ge) { int c; (void)n; return less(x, &a[0], &a[1], &c) < 0 ? -1 : ret_bool(res, c >= 0); }

F(printf)
{
	struct lt_buf b = LT_BUF_INIT;

	if (lt_fmt_printf(x, a[0].s, a[0].n, a + 1, n - 1, &b) < 0) {
		lt_buf_free(&b);
		return -1;
	}
	return ret_buf(x, &b, res);
}

/* fmt.Sprint: a space between operands when neither is a string;
 * fmt.Sprintln: always, and a newline. */
static int
sprint(struct tx *x, struct tv *a, int n, int ln, struct tv *res)
{
	struct lt_buf b = LT_BUF_INIT;
	int k, rc = 0;

	for (k = 0; k < n && rc == 0; k++) {
		if (k > 0 && (ln || (a[k].k != TV_STR && a[k - 1].k != TV_STR)))
			rc = lt_buf_append_byte(&b, ' ');
		if (rc == 0)
			rc = lt_tv_print(x, &a[k], &b);
	}
	if (rc == 0 && ln)
		rc = lt_buf_append_byte(&b, '\n');
	if (rc < 0) {
		lt_buf_free(&b);
		return -1;
	}
	return ret_buf(x, &b, res);
}

F(print) { return sprint(x, a, n, 0, res); }
F(println) { return sprint(x, a, n, 1, res); }

/* ---- numbers ---- */

F(int) { (void)x; (void)n; return ret_int(res, TV_INT, to_int64(&a[0])); }
F(float64) { (void)x; (void)n; return ret_float(res, to_float64(&a[0])); }

F(add)
{
	uint64_t s = 0;
	int k;

	(void)x;
	for (k = 0; k < n; k++)
		s += (uint64_t)to_int64(&a[k]);
	return ret_int(res, TV_INT64, (int64_t)s);
}

F(sub)
{
	(void)x;
	(void)n;
	return ret_int(res, TV_INT64,
		       (int64_t)((uint64_t)to_int64(&a[0]) - (uint64_t)to_int64(&a[1])));
}

F(mul)
{
	uint64_t p = (uint64_t)to_int64(&a[0]);
	int k;

	(void)x;
	for (k = 1; k < n; k++)
		p *= (uint64_t)to_int64(&a[k]);
	return ret_int(res, TV_INT64, (int64_t)p);
}

static int
divmod(struct tx *x, struct tv *a, int mod, struct tv *res)
{
	int64_t p = to_int64(&a[0]), q = to_int64(&a[1]);

	if (q == 0)
		return lt_tx_fail(x, "runtime error: integer divide by zero");
	if (q == -1)	/* Go wraps INT64_MIN / -1 */
		return ret_int(res, TV_INT64, mod ? 0 : (int64_t)(0 - (uint64_t)p));
	return ret_int(res, TV_INT64, mod ? p % q : p / q);
}

F(div) { (void)n; return divmod(x, a, 0, res); }
F(mod) { (void)n; return divmod(x, a, 1, res); }

static int
minmax(struct tv *a, int n, int max, struct tv *res)
{
	int64_t m = to_int64(&a[0]), v;
	int k;

	for (k = 1; k < n; k++) {
		v = to_int64(&a[k]);
		if (max ? v > m : v < m)
			m = v;
	}
	return ret_int(res, TV_INT64, m);
}

F(max) { (void)x; return minmax(a, n, 1, res); }
F(min) { (void)x; return minmax(a, n, 0, res); }

static int
minmaxf(struct tv *a, int n, int max, struct tv *res)
{
	double m = to_float64(&a[0]), v;
	int k;

	for (k = 1; k < n; k++) {
		v = to_float64(&a[k]);
		m = max ? fmax(m, v) : fmin(m, v);
		if (isnan(v))
			m = v;
	}
	return ret_float(res, m);
}

F(maxf) { (void)x; return minmaxf(a, n, 1, res); }
F(minf) { (void)x; return minmaxf(a, n, 0, res); }

F(addf)
{
	int z = 0;

	(void)x;
	return ret_float(res, dec_fold(a, n, DEC_ADD, &z));
}

F(subf)
{
	int z = 0;

	(void)x;
	return ret_float(res, dec_fold(a, n, DEC_SUB, &z));
}

F(mulf)
{
	int z = 0;

	(void)x;
	return ret_float(res, dec_fold(a, n, DEC_MUL, &z));
}

F(divf)
{
	int z = 0;
	double q = dec_fold(a, n, DEC_DIV, &z);

	if (z)
		return lt_tx_fail(x, "decimal division by 0");
	return ret_float(res, q);
}

F(ceil) { (void)x; (void)n; return ret_float(res, ceil(to_float64(&a[0]))); }
F(floor) { (void)x; (void)n; return ret_float(res, floor(to_float64(&a[0]))); }

/* Sprig's round(a, places, roundOn = .5). */
F(round)
{
	double val = to_float64(&a[0]), on = n > 2 ? a[2].f : .5;
	double pw = pow(10, (double)a[1].i), digit = pw * val, ip, frac;

	(void)x;
	frac = modf(digit, &ip);
	return ret_float(res, (frac >= on ? ceil(digit) : floor(digit)) / pw);
}

/* ---- encodings ---- */

F(b64enc)
{
	size_t size = LT_BASE64_SIZE(a[0].n), len;
	char *d;

	(void)n;
	if ((d = lt_tx_alloc(x, size)) == NULL)
		return -1;
	len = lt_base64(a[0].s, a[0].n, d, size);
	return ret_str(res, d, len);
}

static int
b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* base64.StdEncoding.DecodeString; on failure Sprig returns the
 * error's text as the result. */
static int
b64_decode(const char *s, size_t len, char *d, size_t *dlen, size_t *bad)
{
	size_t si = 0, o = 0;
	uint32_t q;
	int j, v;

	while (si < len) {
		q = 0;
		for (j = 0; j < 4; j++) {
			while (si < len && (s[si] == '\n' || s[si] == '\r'))
				si++;
			if (si == len) {
				if (j == 0)
					goto done;
				*bad = si - (size_t)j;
				return -1;
			}
			if (s[si] == '=') {
				if (j < 2) {
					*bad = si;
					return -1;
				}
				si++;
				if (j == 2) {
					while (si < len && (s[si] == '\n' || s[si] == '\r'))
						si++;
					if (si == len) {
						*bad = len;
						return -1;
					}
					if (s[si] != '=') {
						*bad = si - 1;
						return -1;
					}
					si++;
				}
				while (si < len && (s[si] == '\n' || s[si] == '\r'))
					si++;
				if (si < len) {
					*bad = si;
					return -1;
				}
				q <<= 6 * (4 - j);
				d[o++] = (char)(q >> 16);
				if (j == 3)
					d[o++] = (char)(q >> 8);
				goto done;
			}
			if ((v = b64val(s[si])) < 0) {
				*bad = si;
				return -1;
			}
			q = q << 6 | (uint32_t)v;
			si++;
		}
		d[o++] = (char)(q >> 16);
		d[o++] = (char)(q >> 8);
		d[o++] = (char)q;
	}
done:
	*dlen = o;
	return 0;
}

F(b64dec)
{
	char *d = lt_tx_alloc(x, a[0].n / 4 * 3 + 3);
	size_t dlen = 0, bad = 0;
	char msg[64];
	int k;

	(void)n;
	if (d == NULL)
		return -1;
	if (b64_decode(a[0].s, a[0].n, d, &dlen, &bad) == 0)
		return ret_str(res, d, dlen);
	k = snprintf(msg, sizeof(msg), "illegal base64 data at input byte %zu",
		     bad);
	if ((d = lt_tx_alloc(x, (size_t)k)) == NULL)
		return -1;
	memcpy(d, msg, (size_t)k);
	return ret_str(res, d, (size_t)k);
}

F(urlencode)
{
	static const char hex[] = "0123456789ABCDEF";
	char *d = lt_tx_alloc(x, a[0].n * 3 + 1);
	size_t i, o = 0;
	unsigned char c;

	(void)n;
	if (d == NULL)
		return -1;
	for (i = 0; i < a[0].n; i++) {
		c = (unsigned char)a[0].s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
		    c == '~')
			d[o++] = (char)c;
		else if (c == ' ')
			d[o++] = '+';
		else {
			d[o++] = '%';
			d[o++] = hex[c >> 4];
			d[o++] = hex[c & 15];
		}
	}
	return ret_str(res, d, o);
}

static int
hexdig(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

F(urldecode)
{
	char *d = lt_tx_alloc(x, a[0].n + 1);
	const char *s = a[0].s;
	size_t i, o = 0, len = a[0].n;

	(void)n;
	if (d == NULL)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] == '%') {
			if (len - i < 3 || hexdig(s[i + 1]) < 0 ||
			    hexdig(s[i + 2]) < 0) {
				struct lt_buf q = LT_BUF_INIT;
				int rc = lt_fmt_quote(&q, s + i,
						      len - i < 3 ? len - i : 3);

				if (rc == 0)
					(void)lt_tx_fail(x, "invalid URL escape %.*s",
							 (int)q.len, (char *)q.data);
				lt_buf_free(&q);
				return -1;
			}
			d[o++] = (char)(hexdig(s[i + 1]) << 4 | hexdig(s[i + 2]));
			i += 2;
		} else
			d[o++] = s[i] == '+' ? ' ' : s[i];
	}
	return ret_str(res, d, o);
}

/* ---- times ---- */

F(unixEpoch) { (void)n; return ret_decimal(x, res, (long long)a[0].i); }

F(unixEpochMillis)
{
	(void)n;
	return ret_decimal(x, res, (long long)(int64_t)((uint64_t)a[0].i * 1000u +
				  (uint64_t)(a[0].ns / 1000000)));
}

F(unixEpochNanos)
{
	(void)n;
	return ret_decimal(x, res, (long long)(int64_t)((uint64_t)a[0].i *
				  1000000000u + (uint64_t)a[0].ns));
}

static int
to_date(const struct tv *layout, const struct tv *value, struct tv *res)
{
	int64_t sec;
	int32_t ns;

	/* Errors are ignored, as Sprig and Loki do: the zero time. */
	if (lt_time_parse(layout->s, layout->n, value->s, value->n, &sec, &ns) < 0)
		return ret_time(res, TV_ZERO_TIME_SEC, 0);
	return ret_time(res, sec, ns);
}

F(toDate) { (void)x; (void)n; return to_date(&a[0], &a[1], res); }
F(toDateInZone) { (void)x; (void)n; return to_date(&a[0], &a[2], res); }

F(date)
{
	struct lt_buf b = LT_BUF_INIT;
	struct timespec ts;
	int64_t sec = 0;
	int32_t ns = 0;

	(void)n;
	if (a[1].k == TV_TIME) {
		sec = a[1].i;
		ns = a[1].ns;
	} else if (a[1].k == TV_INT || a[1].k == TV_INT64) {
		sec = a[1].i;
	} else if (clock_gettime(CLOCK_REALTIME, &ts) == 0) {
		sec = (int64_t)ts.tv_sec;
		ns = (int32_t)ts.tv_nsec;
	}
	if (lt_time_format(&b, a[0].s, a[0].n, sec, ns) < 0) {
		lt_buf_free(&b);
		return -1;
	}
	return ret_buf(x, &b, res);
}

/* Loki's unixToTime: the epoch's length says its unit. */
F(unixToTime)
{
	int64_t v;
	size_t k;

	(void)n;
	for (k = 0; k < a[0].n; k++)
		if (a[0].s[k] < '0' || a[0].s[k] > '9')
			break;
	if (k != a[0].n || parse_int_go(a[0].s, a[0].n, &v) < 0 ||
	    (a[0].n != 5 && a[0].n != 10 && a[0].n != 13 && a[0].n != 16 &&
	     a[0].n != 19))
		return lt_tx_fail(x, "unable to parse time '%.*s'",
				  (int)(a[0].n > 64 ? 64 : a[0].n), a[0].s);
	switch (a[0].n) {
	case 5: return ret_time(res, v * 86400, 0);
	case 10: return ret_time(res, v, 0);
	case 13: return ret_time(res, v / 1000, (int32_t)(v % 1000 * 1000000));
	case 16: return ret_time(res, v / 1000000, (int32_t)(v % 1000000 * 1000));
	default: return ret_time(res, v / 1000000000, (int32_t)(v % 1000000000));
	}
}

/* go-humanize's ParseBytes, as a float64. */
F(bytes)
{
	static const struct { const char *u; double m; } units[] = {
		{"", 1}, {"b", 1}, {"k", 1e3}, {"kb", 1e3}, {"ki", 1024},
		{"kib", 1024}, {"m", 1e6}, {"mb", 1e6}, {"mi", 1048576.0},
		{"mib", 1048576.0}, {"g", 1e9}, {"gb", 1e9},
		{"gi", 1073741824.0}, {"gib", 1073741824.0}, {"t", 1e12},
		{"tb", 1e12}, {"ti", 1099511627776.0}, {"tib", 1099511627776.0},
		{"p", 1e15}, {"pb", 1e15}, {"pi", 1125899906842624.0},
		{"pib", 1125899906842624.0}, {"e", 1e18}, {"eb", 1e18},
		{"ei", 1152921504606846976.0}, {"eib", 1152921504606846976.0},
		{NULL, 0}
	};
	char num[64], unit[8];
	size_t i, k = 0, e, ul = 0;
	double f;
	int u;

	(void)n;
	for (i = 0; i < a[0].n; i++) {
		char c = a[0].s[i];

		if (!((c >= '0' && c <= '9') || c == '.' || c == ','))
			break;
		if (c != ',' && k + 1 < sizeof(num))
			num[k++] = c;
	}
	num[k] = '\0';
	if (parse_float_go(num, k, &f) < 0)
		return lt_tx_fail(x, "strconv.ParseFloat: parsing \"%s\": invalid "
				  "syntax", num);
	for (e = a[0].n; e > i && is_uspace((unsigned char)a[0].s[e - 1]); e--)
		;
	while (i < e && is_uspace((unsigned char)a[0].s[i]))
		i++;
	for (; i < e && ul + 1 < sizeof(unit); i++) {
		char c = a[0].s[i];

		unit[ul++] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	unit[ul] = '\0';
	for (u = 0; units[u].u != NULL; u++) {
		if (i != e || strcmp(units[u].u, unit) != 0)
			continue;
		f *= units[u].m;
		if (f >= 18446744073709551615.0)
			return lt_tx_fail(x, "too large: %.*s",
					  (int)(a[0].n > 64 ? 64 : a[0].n), a[0].s);
		return ret_float(res, (double)(uint64_t)f);
	}
	return lt_tx_fail(x, "unhandled size name: %.*s", (int)ul, unit);
}

/* time.ParseDuration, in seconds. */
static int
parse_duration(const char *s, size_t n, int64_t *out)
{
	static const struct { const char *u; int64_t ns; } units[] = {
		{"ns", 1}, {"us", 1000}, {"\xc2\xb5s", 1000}, {"\xce\xbcs", 1000},
		{"ms", 1000000}, {"s", 1000000000}, {"m", 60000000000LL},
		{"h", 3600000000000LL}, {NULL, 0}
	};
	size_t i = 0, us, k;
	int neg = 0, any, u;
	uint64_t total = 0, v, f, scale;

	if (i < n && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	if (n - i == 1 && s[i] == '0') {
		*out = 0;
		return 0;
	}
	if (i == n)
		return -1;
	while (i < n) {
		v = f = 0;
		scale = 1;
		any = 0;
		if (!(s[i] == '.' || (s[i] >= '0' && s[i] <= '9')))
			return -1;
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, any = 1) {
			if (v > (UINT64_C(1) << 63) / 10)
				return -1;
			v = v * 10 + (uint64_t)(s[i] - '0');
		}
		if (i < n && s[i] == '.') {
			for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, any = 1)
				if (scale < UINT64_C(1000000000000000000)) {
					f = f * 10 + (uint64_t)(s[i] - '0');
					scale *= 10;
				}
		}
		if (!any)
			return -1;
		for (us = i; i < n && s[i] != '.' && (s[i] < '0' || s[i] > '9'); i++)
			;
		if (i == us)
			return -2;
		for (u = 0; units[u].u != NULL; u++) {
			k = strlen(units[u].u);
			if (k == i - us && memcmp(s + us, units[u].u, k) == 0)
				break;
		}
		if (units[u].u == NULL)
			return -3;
		if (v > (UINT64_C(1) << 63) / (uint64_t)units[u].ns)
			return -1;
		v *= (uint64_t)units[u].ns;
		v += (uint64_t)((double)f * ((double)units[u].ns / (double)scale));
		total += v;
		if (total > (UINT64_C(1) << 63) - (neg ? 0 : 1))
			return -1;
	}
	*out = neg ? (int64_t)(0 - total) : (int64_t)total;
	return 0;
}

F(duration)
{
	int64_t d;
	int rc = parse_duration(a[0].s, a[0].n, &d);
	int shown = (int)(a[0].n > 64 ? 64 : a[0].n);

	(void)n;
	if (rc == -2)
		return lt_tx_fail(x, "time: missing unit in duration \"%.*s\"",
				  shown, a[0].s);
	if (rc == -3)
		return lt_tx_fail(x, "time: unknown unit in duration \"%.*s\"",
				  shown, a[0].s);
	if (rc < 0)
		return lt_tx_fail(x, "time: invalid duration \"%.*s\"", shown,
				  a[0].s);
	return ret_float(res, (double)(d / 1000000000) +
			 (double)(d % 1000000000) / 1e9);
}

/* ---- regexes ---- */

struct re {
	pcre2_code *code;
	int owned;
	pcre2_match_data *md;
	const pcre2_match_context *mctx;
};

static int
re_open(struct tx *x, const struct tv *pat, struct re *re)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off;
	int err;

	memset(re, 0, sizeof(*re));
	re->mctx = lt_tmpl_match_context(x);
	if (x->re != NULL) {
		re->code = (pcre2_code *)(uintptr_t)x->re;
	} else {
		re->code = pcre2_compile((PCRE2_SPTR)pat->s, pat->n,
					 LT_TMPL_RE_OPTIONS, &err, &off, NULL);
		if (re->code == NULL) {
			(void)pcre2_get_error_message(err, msg, sizeof(msg));
			return lt_tx_fail(x, "error parsing regexp: %s: `%.*s`",
					  (char *)msg,
					  (int)(pat->n > 64 ? 64 : pat->n), pat->s);
		}
		re->owned = 1;
	}
	re->md = pcre2_match_data_create_from_pattern(re->code, NULL);
	if (re->md == NULL) {
		if (re->owned)
			pcre2_code_free(re->code);
		return lt_tx_fail(x, "out of memory");
	}
	return 0;
}

static void
re_close(struct re *re)
{
	pcre2_match_data_free(re->md);
	if (re->owned)
		pcre2_code_free(re->code);
}

/* The next match at or after from: 1 and its bounds in the match data,
 * 0 for none, -1 with msg set when the regex gives up. */
static int
re_next(struct tx *x, struct re *re, const struct tv *s, size_t from,
	PCRE2_SIZE **ov)
{
	int rc = pcre2_match(re->code, (PCRE2_SPTR)s->s, s->n, from, 0, re->md,
			     (pcre2_match_context *)(uintptr_t)re->mctx);

	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
	    rc == PCRE2_ERROR_HEAPLIMIT)
		return lt_tx_fail(x, "regexp match limit exceeded");
	if (rc < 0)
		return lt_tx_fail(x, "regexp match failed (%d)", rc);
	*ov = pcre2_get_ovector_pointer(re->md);
	if ((*ov)[0] > (*ov)[1] || (*ov)[1] > s->n)
		return lt_tx_fail(x, "regexp match out of order");
	return 1;
}

static size_t
rune_width(const struct tv *s, size_t at)
{
	uint32_t r;

	return at < s->n ? lt_utf8_next(s->s + at, s->n - at, &r) : 0;
}

static int
is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || (unsigned char)c >= 0x80;
}

/* Regexp.Expand: $1, ${1}, $name, ${name}; $$ is $. */
static int
expand(struct re *re, const struct tv *tmpl, const struct tv *src,
       const PCRE2_SIZE *ov, struct lt_buf *b)
{
	const char *t = tmpl->s;
	size_t n = tmpl->n, i = 0, j, name, nlen;
	uint32_t groups = pcre2_get_ovector_count(re->md);
	char namebuf[64];
	long num;
	int brace, g;

	while (i < n) {
		if (t[i] != '$') {
			if (lt_buf_append_byte(b, (unsigned char)t[i++]) < 0)
				return -1;
			continue;
		}
		i++;
		if (i < n && t[i] == '$') {
			if (lt_buf_append_byte(b, '$') < 0)
				return -1;
			i++;
			continue;
		}
		brace = i < n && t[i] == '{';
		name = i + brace;
		for (j = name; j < n && is_name_char(t[j]); j++)
			;
		nlen = j - name;
		if (nlen == 0 || (brace && (j >= n || t[j] != '}'))) {
			if (lt_buf_append_byte(b, '$') < 0)
				return -1;
			continue;
		}
		i = j + brace;
		num = 0;
		for (j = name; j < name + nlen; j++) {
			if (t[j] < '0' || t[j] > '9' || num >= 100000000) {
				num = -1;
				break;
			}
			num = num * 10 + (t[j] - '0');
		}
		if (t[name] == '0' && nlen > 1)
			num = -1;
		if (num < 0) {
			if (nlen >= sizeof(namebuf))
				continue;
			memcpy(namebuf, t + name, nlen);
			namebuf[nlen] = '\0';
			g = pcre2_substring_number_from_name(re->code,
							     (PCRE2_SPTR)namebuf);
			if (g <= 0)
				continue;
			num = g;
		}
		if ((uint32_t)num >= groups || ov[2 * num] == PCRE2_UNSET)
			continue;
		if (lt_buf_append(b, src->s + ov[2 * num],
				  ov[2 * num + 1] - ov[2 * num]) < 0)
			return -1;
	}
	return 0;
}

/* Regexp.ReplaceAllString and ReplaceAllLiteralString. */
static int
regex_replace(struct tx *x, struct tv *a, int literal, struct tv *res)
{
	const struct tv *s = &a[1], *repl = &a[2];
	struct lt_buf b = LT_BUF_INIT;
	struct re re;
	PCRE2_SIZE *ov;
	size_t search = 0, last = 0, w;
	int rc = 0, m;

	if (re_open(x, &a[0], &re) < 0)
		return -1;
	while (search <= s->n) {
		if ((m = re_next(x, &re, s, search, &ov)) <= 0) {
			rc = m;
			break;
		}
		rc = lt_buf_append(&b, s->s + last, ov[0] - last);
		/* No replacement for an empty match right after a match. */
		if (rc == 0 && (ov[1] > last || ov[0] == 0))
			rc = literal ? lt_buf_append(&b, repl->s, repl->n) :
				expand(&re, repl, s, ov, &b);
		if (rc == 0 && b.len > x->scratch_max)
			rc = lt_tx_fail(x, "result over %zu bytes", x->scratch_max);
		if (rc < 0)
			break;
		last = ov[1];
		w = rune_width(s, search);
		if (search + w > ov[1])
			search += w;
		else if (search + 1 > ov[1])
			search++;
		else
			search = ov[1];
	}
	if (rc == 0 && last < s->n)
		rc = lt_buf_append(&b, s->s + last, s->n - last);
	re_close(&re);
	if (rc < 0) {
		lt_buf_free(&b);
		return -1;
	}
	return ret_buf(x, &b, res);
}

F(regexReplaceAll) { (void)n; return regex_replace(x, a, 0, res); }
F(regexReplaceAllLiteral) { (void)n; return regex_replace(x, a, 1, res); }

/* len(FindAllStringIndex(s, -1)) */
F(count)
{
	const struct tv *s = &a[1];
	struct re re;
	PCRE2_SIZE *ov;
	size_t pos = 0, prev_end = (size_t)-1;
	int64_t found = 0;
	int m = 0, accept;

	(void)n;
	if (re_open(x, &a[0], &re) < 0)
		return -1;
	while (pos <= s->n) {
		if ((m = re_next(x, &re, s, pos, &ov)) <= 0)
			break;
		accept = 1;
		if (ov[1] == pos) {
			if (ov[0] == prev_end)
				accept = 0;
			pos += pos < s->n ? rune_width(s, pos) : 1;
		} else
			pos = ov[1];
		prev_end = ov[1];
		found += accept;
	}
	re_close(&re);
	if (m < 0)
		return -1;
	return ret_int(res, TV_INT, found);
}

/* ---- the table ---- */

#define S TP_STR
#define I TP_INT
#define A TP_ANY
#define T TP_TIME
#define FL TP_FLOAT
#define N TP_NONE

const struct tfn lt_tmpl_fns[] = {
	{"__line__", fn_line, 0, {N}, N, 0},
	{"__timestamp__", fn_timestamp, 0, {N}, N, 0},
	{"now", fn_now, 0, {N}, N, 0},
	/* Go's builtins */
	{"and", fn_and, 1, {A}, A, 0},
	{"or", fn_or, 1, {A}, A, 0},
	{"not", fn_not, 1, {A}, N, 0},
	{"len", fn_len, 1, {A}, N, 0},
	{"eq", fn_eq, 1, {A}, A, 0},
	{"ne", fn_ne, 2, {A, A}, N, 0},
	{"lt", fn_lt, 2, {A, A}, N, 0},
	{"le", fn_le, 2, {A, A}, N, 0},
	{"gt", fn_gt, 2, {A, A}, N, 0},
	{"ge", fn_ge, 2, {A, A}, N, 0},
	{"printf", fn_printf, 1, {S}, A, 0},
	{"print", fn_print, 0, {N}, A, 0},
	{"println", fn_println, 0, {N}, A, 0},
	/* Loki's older names, Go's strings package */
	{"ToLower", fn_lower, 1, {S}, N, 0},
	{"ToUpper", fn_upper, 1, {S}, N, 0},
	{"Replace", fn_Replace, 4, {S, S, S, I}, N, 0},
	{"Trim", fn_Trim, 2, {S, S}, N, 0},
	{"TrimLeft", fn_TrimLeft, 2, {S, S}, N, 0},
	{"TrimRight", fn_TrimRight, 2, {S, S}, N, 0},
	{"TrimPrefix", fn_TrimPrefix, 2, {S, S}, N, 0},
	{"TrimSuffix", fn_TrimSuffix, 2, {S, S}, N, 0},
	{"TrimSpace", fn_trim, 1, {S}, N, 0},
	/* Sprig's */
	{"lower", fn_lower, 1, {S}, N, 0},
	{"upper", fn_upper, 1, {S}, N, 0},
	{"title", fn_title, 1, {S}, N, 0},
	{"trunc", fn_trunc, 2, {I, S}, N, 0},
	{"substr", fn_substr, 3, {I, I, S}, N, 0},
	{"replace", fn_replace, 3, {S, S, S}, N, 0},
	{"trim", fn_trim, 1, {S}, N, 0},
	{"trimAll", fn_trimAll, 2, {S, S}, N, 0},
	{"trimPrefix", fn_trimPrefix, 2, {S, S}, N, 0},
	{"trimSuffix", fn_trimSuffix, 2, {S, S}, N, 0},
	{"contains", fn_contains, 2, {S, S}, N, 0},
	{"hasPrefix", fn_hasPrefix, 2, {S, S}, N, 0},
	{"hasSuffix", fn_hasSuffix, 2, {S, S}, N, 0},
	{"indent", fn_indent, 2, {I, S}, N, 0},
	{"nindent", fn_nindent, 2, {I, S}, N, 0},
	{"repeat", fn_repeat, 2, {I, S}, N, 0},
	{"default", fn_default, 1, {A}, A, 0},
	{"int", fn_int, 1, {A}, N, 0},
	{"float64", fn_float64, 1, {A}, N, 0},
	{"add", fn_add, 0, {N}, A, 0},
	{"sub", fn_sub, 2, {A, A}, N, 0},
	{"mul", fn_mul, 1, {A}, A, 0},
	{"div", fn_div, 2, {A, A}, N, 0},
	{"mod", fn_mod, 2, {A, A}, N, 0},
	{"max", fn_max, 1, {A}, A, 0},
	{"min", fn_min, 1, {A}, A, 0},
	{"maxf", fn_maxf, 1, {A}, A, 0},
	{"minf", fn_minf, 1, {A}, A, 0},
	{"addf", fn_addf, 0, {N}, A, 0},
	{"subf", fn_subf, 1, {A}, A, 0},
	{"mulf", fn_mulf, 1, {A}, A, 0},
	{"divf", fn_divf, 1, {A}, A, 0},
	{"ceil", fn_ceil, 1, {A}, N, 0},
	{"floor", fn_floor, 1, {A}, N, 0},
	{"round", fn_round, 2, {A, I}, FL, 0},
	{"b64enc", fn_b64enc, 1, {S}, N, 0},
	{"b64dec", fn_b64dec, 1, {S}, N, 0},
	{"date", fn_date, 2, {S, A}, N, 0},
	{"toDate", fn_toDate, 2, {S, S}, N, 0},
	{"unixEpoch", fn_unixEpoch, 1, {T}, N, 0},
	/* Loki's own */
	{"regexReplaceAll", fn_regexReplaceAll, 3, {S, S, S}, N, 1},
	{"regexReplaceAllLiteral", fn_regexReplaceAllLiteral, 3, {S, S, S}, N, 1},
	{"count", fn_count, 2, {S, S}, N, 1},
	{"urlencode", fn_urlencode, 1, {S}, N, 0},
	{"urldecode", fn_urldecode, 1, {S}, N, 0},
	{"bytes", fn_bytes, 1, {S}, N, 0},
	{"duration", fn_duration, 1, {S}, N, 0},
	{"duration_seconds", fn_duration, 1, {S}, N, 0},
	{"unixEpochMillis", fn_unixEpochMillis, 1, {T}, N, 0},
	{"unixEpochNanos", fn_unixEpochNanos, 1, {T}, N, 0},
	{"toDateInZone", fn_toDateInZone, 3, {S, S, S}, N, 0},
	{"unixToTime", fn_unixToTime, 1, {S}, N, 0},
	{"alignLeft", fn_alignLeft, 2, {I, S}, N, 0},
	{"alignRight", fn_alignRight, 2, {I, S}, N, 0},
	{NULL, NULL, 0, {N}, N, 0}
};

int
lt_tmpl_fn_find(const char *name, size_t len)
{
	int k;

	for (k = 0; lt_tmpl_fns[k].name != NULL; k++)
		if (strlen(lt_tmpl_fns[k].name) == len &&
		    memcmp(lt_tmpl_fns[k].name, name, len) == 0)
			return k;
	return -1;
}

int
lt_tmpl_fn_is_and(int fn)
{
	return lt_tmpl_fns[fn].call == fn_and;
}

int
lt_tmpl_fn_is_or(int fn)
{
	return lt_tmpl_fns[fn].call == fn_or;
}
