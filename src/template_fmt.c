/* Go's ways of writing values, for the template engine: fmt.Print's
 * (shortest float digits, time.Time's String), fmt.Sprintf's verbs,
 * strconv.Quote, and the time package's layouts for formatting and
 * parsing ("2006-01-02T15:04:05Z07:00").  Times are always UTC: Loki
 * servers run in UTC, and an entry's timestamp has no zone. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "float_fmt.h"
#include "labels.h"
#include "template_int.h"

/* Go's fmt refuses widths and precisions over a million. */
#define FMT_TOO_LARGE 1000000

static int
put_rune(struct lt_buf *out, uint32_t cp)
{
	char o[4];

	if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	return lt_buf_append(out, o, lt_utf8_put(o, cp));
}

static size_t
rune_count(const char *s, size_t n)
{
	size_t i = 0, count = 0;
	uint32_t r;

	while (i < n) {
		i += lt_utf8_next(s + i, n - i, &r);
		count++;
	}
	return count;
}

static int
put_repeat(struct lt_buf *out, char c, size_t n)
{
	if (lt_buf_reserve(out, n) < 0)
		return -1;
	memset(out->data + out->len, c, n);
	out->len += n;
	return 0;
}

/* strconv's shortest %g: the exponent form when the exponent is below
 * -4 or at least eprec (6 for fmt's %v and %g). */
static int
put_float_shortest(struct lt_buf *out, double f, int eprec, char e)
{
	char d[32];
	int nd, dp, exp, i;

	if (isnan(f))
		return lt_buf_append(out, "NaN", 3);
	if (isinf(f))
		return lt_buf_append(out, f > 0 ? "+Inf" : "-Inf", 4);
	if (signbit(f) && lt_buf_append_byte(out, '-') < 0)
		return -1;
	f = fabs(f);
	if (f == 0)
		return lt_buf_append_byte(out, '0');
	lt_float_digits(f, d, &nd, &dp);
	exp = dp - 1;
	if (exp < -4 || exp >= eprec) {
		if (lt_buf_append_byte(out, (unsigned char)d[0]) < 0)
			return -1;
		if (nd > 1 && (lt_buf_append_byte(out, '.') < 0 ||
			       lt_buf_append(out, d + 1, (size_t)nd - 1) < 0))
			return -1;
		return lt_buf_printf(out, "%c%c%02d", e, exp < 0 ? '-' : '+',
				     exp < 0 ? -exp : exp);
	}
	if (dp <= 0) {
		if (lt_buf_append(out, "0.", 2) < 0 ||
		    put_repeat(out, '0', (size_t)-dp) < 0)
			return -1;
		return lt_buf_append(out, d, (size_t)nd);
	}
	if (dp >= nd) {
		if (lt_buf_append(out, d, (size_t)nd) < 0)
			return -1;
		return put_repeat(out, '0', (size_t)(dp - nd));
	}
	for (i = 0; i < nd; i++) {
		if (i == dp && lt_buf_append_byte(out, '.') < 0)
			return -1;
		if (lt_buf_append_byte(out, (unsigned char)d[i]) < 0)
			return -1;
	}
	return 0;
}

int
lt_fmt_float_v(struct lt_buf *out, double f)
{
	return put_float_shortest(out, f, 6, 'e');
}

int
lt_fmt_quote(struct lt_buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0, w;
	uint32_t r;
	unsigned char c;
	int rc = lt_buf_append_byte(out, '"');

	while (rc == 0 && i < n) {
		c = (unsigned char)s[i];
		w = lt_utf8_next(s + i, n - i, &r);
		if (w == 1 && c >= 0x80) {
			rc = lt_buf_printf(out, "\\x%c%c", hex[c >> 4],
					   hex[c & 15]);
		} else if (r == '"' || r == '\\') {
			rc = lt_buf_append_byte(out, '\\');
			if (rc == 0)
				rc = lt_buf_append_byte(out, (unsigned char)r);
		} else if (r >= 0x20 && r < 0x7f) {
			rc = lt_buf_append_byte(out, (unsigned char)r);
		} else if (r < 0x20 || r == 0x7f) {
			switch (r) {
			case '\a': rc = lt_buf_append(out, "\\a", 2); break;
			case '\b': rc = lt_buf_append(out, "\\b", 2); break;
			case '\f': rc = lt_buf_append(out, "\\f", 2); break;
			case '\n': rc = lt_buf_append(out, "\\n", 2); break;
			case '\r': rc = lt_buf_append(out, "\\r", 2); break;
			case '\t': rc = lt_buf_append(out, "\\t", 2); break;
			case '\v': rc = lt_buf_append(out, "\\v", 2); break;
			default:
				rc = lt_buf_printf(out, "\\x%02x", (unsigned)r);
			}
		} else if (r < 0xa0 || r == 0xad || (r >= 0x2028 && r <= 0x2029) ||
			   r == 0xfeff) {
			rc = lt_buf_printf(out, "\\u%04x", (unsigned)r);
		} else {
			rc = lt_buf_append(out, s + i, w);
		}
		i += w;
	}
	return rc == 0 ? lt_buf_append_byte(out, '"') : -1;
}

/* ---- times ---- */

static const char *const month_names[12] = {
	"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December"
};
static const char *const day_names[7] = {
	"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
	"Saturday"
};

static int
is_leap(int64_t y)
{
	return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static int
days_in(int m, int64_t y)
{
	static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
				    30, 31};

	return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

struct civil {
	int64_t year;
	int month, day, hour, min, sec, wday, yday;
	int32_t ns;
};

static void
to_civil(int64_t sec, int32_t ns, struct civil *c)
{
	int64_t days = sec / 86400, rem = sec % 86400;

	if (rem < 0) {
		rem += 86400;
		days--;
	}
	lt_civil_from_days(days, &c->year, &c->month, &c->day);
	c->hour = (int)(rem / 3600);
	c->min = (int)(rem / 60 % 60);
	c->sec = (int)(rem % 60);
	c->wday = (int)(((days + 4) % 7 + 7) % 7);
	c->yday = (int)(days - lt_days_from_civil(c->year, 1, 1)) + 1;
	c->ns = ns;
}

/* The layout elements of Go's time package. */
enum std {
	STD_NONE, STD_LONG_MONTH, STD_MONTH, STD_NUM_MONTH, STD_ZERO_MONTH,
	STD_LONG_WEEKDAY, STD_WEEKDAY, STD_DAY, STD_UNDER_DAY, STD_ZERO_DAY,
	STD_UNDER_YEARDAY, STD_ZERO_YEARDAY, STD_HOUR, STD_HOUR12,
	STD_ZERO_HOUR12, STD_MINUTE, STD_ZERO_MINUTE, STD_SECOND,
	STD_ZERO_SECOND, STD_LONG_YEAR, STD_YEAR, STD_PM, STD_pm, STD_TZ,
	STD_ISO_TZ, STD_ISO_COLON_TZ, STD_ISO_SHORT_TZ, STD_NUM_TZ,
	STD_NUM_COLON_TZ, STD_NUM_SHORT_TZ, STD_FRAC0, STD_FRAC9
};

static int
lower_at(const char *s, size_t n, size_t i)
{
	return i < n && s[i] >= 'a' && s[i] <= 'z';
}

static int
starts(const char *s, size_t n, size_t i, const char *w)
{
	size_t k = strlen(w);

	return n - i >= k && memcmp(s + i, w, k) == 0;
}

/* The element starting at l[i], its length in *len; STD_NONE when
 * l[i] is literal.  For fractions, *digits is how many. */
static enum std
std_at(const char *l, size_t n, size_t i, size_t *len, int *digits)
{
	size_t j;

	*len = 0;
	switch (l[i]) {
	case 'J':
		if (starts(l, n, i, "January")) {
			*len = 7;
			return STD_LONG_MONTH;
		}
		if (starts(l, n, i, "Jan") && !lower_at(l, n, i + 3)) {
			*len = 3;
			return STD_MONTH;
		}
		break;
	case 'M':
		if (starts(l, n, i, "Monday")) {
			*len = 6;
			return STD_LONG_WEEKDAY;
		}
		if (starts(l, n, i, "Mon") && !lower_at(l, n, i + 3)) {
			*len = 3;
			return STD_WEEKDAY;
		}
		if (starts(l, n, i, "MST")) {
			*len = 3;
			return STD_TZ;
		}
		break;
	case '0':
		if (i + 1 < n && l[i + 1] >= '1' && l[i + 1] <= '6') {
			static const enum std zx[6] = {
				STD_ZERO_MONTH, STD_ZERO_DAY, STD_ZERO_HOUR12,
				STD_ZERO_MINUTE, STD_ZERO_SECOND, STD_YEAR
			};
			*len = 2;
			return zx[l[i + 1] - '1'];
		}
		if (starts(l, n, i, "002")) {
			*len = 3;
			return STD_ZERO_YEARDAY;
		}
		break;
	case '1':
		if (starts(l, n, i, "15")) {
			*len = 2;
			return STD_HOUR;
		}
		*len = 1;
		return STD_NUM_MONTH;
	case '2':
		if (starts(l, n, i, "2006")) {
			*len = 4;
			return STD_LONG_YEAR;
		}
		*len = 1;
		return STD_DAY;
	case '_':
		if (starts(l, n, i, "_2") && !starts(l, n, i, "_2006")) {
			*len = 2;
			return STD_UNDER_DAY;
		}
		if (starts(l, n, i, "__2")) {
			*len = 3;
			return STD_UNDER_YEARDAY;
		}
		break;
	case '3':
		*len = 1;
		return STD_HOUR12;
	case '4':
		*len = 1;
		return STD_MINUTE;
	case '5':
		*len = 1;
		return STD_SECOND;
	case 'P':
		if (starts(l, n, i, "PM")) {
			*len = 2;
			return STD_PM;
		}
		break;
	case 'p':
		if (starts(l, n, i, "pm")) {
			*len = 2;
			return STD_pm;
		}
		break;
	case '-':
		if (starts(l, n, i, "-07:00")) {
			*len = 6;
			return STD_NUM_COLON_TZ;
		}
		if (starts(l, n, i, "-0700")) {
			*len = 5;
			return STD_NUM_TZ;
		}
		if (starts(l, n, i, "-07")) {
			*len = 3;
			return STD_NUM_SHORT_TZ;
		}
		break;
	case 'Z':
		if (starts(l, n, i, "Z07:00")) {
			*len = 6;
			return STD_ISO_COLON_TZ;
		}
		if (starts(l, n, i, "Z0700")) {
			*len = 5;
			return STD_ISO_TZ;
		}
		if (starts(l, n, i, "Z07")) {
			*len = 3;
			return STD_ISO_SHORT_TZ;
		}
		break;
	case '.':
	case ',':
		if (i + 1 < n && (l[i + 1] == '0' || l[i + 1] == '9')) {
			for (j = i + 1; j < n && l[j] == l[i + 1]; j++)
				;
			if (j < n && l[j] >= '0' && l[j] <= '9')
				break;
			*len = j - i;
			*digits = (int)(j - i - 1);
			return l[i + 1] == '0' ? STD_FRAC0 : STD_FRAC9;
		}
		break;
	default:
		break;
	}
	return STD_NONE;
}

static int
put_num(struct lt_buf *out, int64_t v, int width)
{
	return lt_buf_printf(out, "%0*lld", width, (long long)v);
}

static int
format_one(struct lt_buf *out, enum std s, const struct civil *c,
	   const char *l, size_t len, int digits)
{
	char frac[16];
	int k;

	switch (s) {
	case STD_LONG_MONTH:
		return lt_buf_printf(out, "%s", month_names[c->month - 1]);
	case STD_MONTH:
		return lt_buf_printf(out, "%.3s", month_names[c->month - 1]);
	case STD_NUM_MONTH: return put_num(out, c->month, 0);
	case STD_ZERO_MONTH: return put_num(out, c->month, 2);
	case STD_LONG_WEEKDAY:
		return lt_buf_printf(out, "%s", day_names[c->wday]);
	case STD_WEEKDAY:
		return lt_buf_printf(out, "%.3s", day_names[c->wday]);
	case STD_DAY: return put_num(out, c->day, 0);
	case STD_UNDER_DAY: return lt_buf_printf(out, "%2d", c->day);
	case STD_ZERO_DAY: return put_num(out, c->day, 2);
	case STD_UNDER_YEARDAY: return lt_buf_printf(out, "%3d", c->yday);
	case STD_ZERO_YEARDAY: return put_num(out, c->yday, 3);
	case STD_HOUR: return put_num(out, c->hour, 2);
	case STD_HOUR12:
		return put_num(out, c->hour % 12 == 0 ? 12 : c->hour % 12, 0);
	case STD_ZERO_HOUR12:
		return put_num(out, c->hour % 12 == 0 ? 12 : c->hour % 12, 2);
	case STD_MINUTE: return put_num(out, c->min, 0);
	case STD_ZERO_MINUTE: return put_num(out, c->min, 2);
	case STD_SECOND: return put_num(out, c->sec, 0);
	case STD_ZERO_SECOND: return put_num(out, c->sec, 2);
	case STD_LONG_YEAR:
		if (c->year < 0)
			return lt_buf_printf(out, "-%04lld", (long long)-c->year);
		return put_num(out, c->year, 4);
	case STD_YEAR: return put_num(out, (c->year % 100 + 100) % 100, 2);
	case STD_PM: return lt_buf_append(out, c->hour >= 12 ? "PM" : "AM", 2);
	case STD_pm: return lt_buf_append(out, c->hour >= 12 ? "pm" : "am", 2);
	case STD_TZ: return lt_buf_append(out, "UTC", 3);
	case STD_ISO_TZ:
	case STD_ISO_COLON_TZ:
	case STD_ISO_SHORT_TZ:
		return lt_buf_append_byte(out, 'Z');
	case STD_NUM_TZ: return lt_buf_append(out, "+0000", 5);
	case STD_NUM_COLON_TZ: return lt_buf_append(out, "+00:00", 6);
	case STD_NUM_SHORT_TZ: return lt_buf_append(out, "+00", 3);
	case STD_FRAC0:
	case STD_FRAC9:
		(void)snprintf(frac, sizeof(frac), "%09d", (int)c->ns);
		k = digits > 9 ? 9 : digits;
		if (s == STD_FRAC9)
			while (k > 0 && frac[k - 1] == '0')
				k--;
		if (k == 0)
			return 0;
		if (lt_buf_append_byte(out, (unsigned char)l[0]) < 0 ||
		    lt_buf_append(out, frac, (size_t)k) < 0)
			return -1;
		return 0;
	case STD_NONE:
		break;
	}
	return lt_buf_append(out, l, len);
}

int
lt_time_format(struct lt_buf *out, const char *layout, size_t llen,
	       int64_t sec, int32_t ns)
{
	struct civil c;
	size_t i = 0, len;
	int digits = 0;
	enum std s;

	to_civil(sec, ns, &c);
	while (i < llen) {
		s = std_at(layout, llen, i, &len, &digits);
		if (s == STD_NONE)
			len = 1;
		if (format_one(out, s, &c, layout + i, len, digits) < 0)
			return -1;
		i += len;
	}
	return 0;
}

/* ---- parsing, as time.Parse ---- */

struct tparse {
	const char *v;
	size_t n, i;
};

static int
digit_at(const struct tparse *p, size_t k)
{
	return p->i + k < p->n && p->v[p->i + k] >= '0' &&
	       p->v[p->i + k] <= '9';
}

/* Go's getnum: one or two digits, exactly two when fixed. */
static int
getnum(struct tparse *p, int fixed, int *out)
{
	if (!digit_at(p, 0))
		return -1;
	if (!digit_at(p, 1)) {
		if (fixed)
			return -1;
		*out = p->v[p->i++] - '0';
		return 0;
	}
	*out = (p->v[p->i] - '0') * 10 + (p->v[p->i + 1] - '0');
	p->i += 2;
	return 0;
}

static int
lookup_name(struct tparse *p, const char *const *names, int count,
	    size_t cut, int *out)
{
	int k;
	size_t len, j;

	for (k = 0; k < count; k++) {
		len = cut ? cut : strlen(names[k]);
		if (p->n - p->i < len)
			continue;
		for (j = 0; j < len; j++) {
			char a = p->v[p->i + j], b = names[k][j];

			if (a >= 'A' && a <= 'Z')
				a = (char)(a - 'A' + 'a');
			if (b >= 'A' && b <= 'Z')
				b = (char)(b - 'A' + 'a');
			if (a != b)
				break;
		}
		if (j == len) {
			p->i += len;
			*out = k;
			return 0;
		}
	}
	return -1;
}

/* Literal layout text: runs of spaces match runs of spaces. */
static int
skip_literal(struct tparse *p, const char *lit, size_t len)
{
	size_t k = 0;

	while (k < len) {
		if (lit[k] == ' ') {
			if (p->i < p->n && p->v[p->i] != ' ')
				return -1;
			while (k < len && lit[k] == ' ')
				k++;
			while (p->i < p->n && p->v[p->i] == ' ')
				p->i++;
			continue;
		}
		if (p->i >= p->n || p->v[p->i] != lit[k])
			return -1;
		p->i++;
		k++;
	}
	return 0;
}

/* The separator and digits of a fraction, nbytes in all. */
static int
parse_nanos(struct tparse *p, size_t nbytes, int32_t *ns)
{
	size_t k;
	int32_t v = 0;
	int scale;

	if (p->v[p->i] != '.' && p->v[p->i] != ',')
		return -1;
	for (k = 1; k < nbytes; k++) {
		if (!digit_at(p, k))
			return -1;
		if (k <= 9)
			v = v * 10 + (p->v[p->i + k] - '0');
	}
	for (scale = (int)(nbytes > 10 ? 9 : nbytes - 1); scale < 9; scale++)
		v *= 10;
	*ns = v;
	p->i += nbytes;
	return 0;
}

static int
parse_offset(struct tparse *p, enum std s, int *offset)
{
	int hh, mm = 0, sign;

	if (s == STD_ISO_TZ || s == STD_ISO_COLON_TZ || s == STD_ISO_SHORT_TZ) {
		if (p->i < p->n && p->v[p->i] == 'Z') {
			p->i++;
			*offset = 0;
			return 0;
		}
	}
	if (p->i >= p->n || (p->v[p->i] != '+' && p->v[p->i] != '-'))
		return -1;
	sign = p->v[p->i++] == '-' ? -1 : 1;
	if (getnum(p, 1, &hh) < 0)
		return -1;
	if (s == STD_NUM_COLON_TZ || s == STD_ISO_COLON_TZ) {
		if (p->i >= p->n || p->v[p->i] != ':')
			return -1;
		p->i++;
	}
	if (s != STD_NUM_SHORT_TZ && s != STD_ISO_SHORT_TZ &&
	    getnum(p, 1, &mm) < 0)
		return -1;
	if (hh > 24 || mm > 60)
		return -1;
	*offset = sign * (hh * 3600 + mm * 60);
	return 0;
}

struct tfields {
	int64_t year;
	int month, day, hour, min, sec, pm, am, offset;
	int32_t ns;
};

static int
parse_one(struct tparse *p, enum std s, int digits, const char *layout,
	  size_t llen, size_t next, struct tfields *f)
{
	size_t k, len;
	int v, dummy = 0;
	enum std after;

	switch (s) {
	case STD_YEAR:
		if (!digit_at(p, 0) || !digit_at(p, 1))
			return -1;
		v = (p->v[p->i] - '0') * 10 + (p->v[p->i + 1] - '0');
		p->i += 2;
		f->year = v >= 69 ? 1900 + v : 2000 + v;
		return 0;
	case STD_LONG_YEAR:
		for (k = 0; k < 4; k++)
			if (!digit_at(p, k))
				return -1;
		f->year = (p->v[p->i] - '0') * 1000 + (p->v[p->i + 1] - '0') * 100 +
			  (p->v[p->i + 2] - '0') * 10 + (p->v[p->i + 3] - '0');
		p->i += 4;
		return 0;
	case STD_MONTH:
		if (lookup_name(p, month_names, 12, 3, &v) < 0)
			return -1;
		f->month = v + 1;
		return 0;
	case STD_LONG_MONTH:
		if (lookup_name(p, month_names, 12, 0, &v) < 0)
			return -1;
		f->month = v + 1;
		return 0;
	case STD_NUM_MONTH:
	case STD_ZERO_MONTH:
		if (getnum(p, s == STD_ZERO_MONTH, &f->month) < 0 ||
		    f->month < 1 || f->month > 12)
			return -1;
		return 0;
	case STD_WEEKDAY:
		return lookup_name(p, day_names, 7, 3, &dummy);
	case STD_LONG_WEEKDAY:
		return lookup_name(p, day_names, 7, 0, &dummy);
	case STD_DAY:
	case STD_UNDER_DAY:
	case STD_ZERO_DAY:
		if (s == STD_UNDER_DAY && p->i < p->n && p->v[p->i] == ' ')
			p->i++;
		return getnum(p, s == STD_ZERO_DAY, &f->day);
	case STD_HOUR:
		if (getnum(p, 0, &f->hour) < 0 || f->hour >= 24)
			return -1;
		return 0;
	case STD_HOUR12:
	case STD_ZERO_HOUR12:
		if (getnum(p, s == STD_ZERO_HOUR12, &f->hour) < 0 ||
		    f->hour > 12)
			return -1;
		return 0;
	case STD_MINUTE:
	case STD_ZERO_MINUTE:
		if (getnum(p, s == STD_ZERO_MINUTE, &f->min) < 0 ||
		    f->min >= 60)
			return -1;
		return 0;
	case STD_SECOND:
	case STD_ZERO_SECOND:
		if (getnum(p, s == STD_ZERO_SECOND, &f->sec) < 0 ||
		    f->sec >= 60)
			return -1;
		/* A fraction the layout does not name is taken anyway,
		 * unless the layout's next element is the fraction. */
		if (p->n - p->i >= 2 &&
		    (p->v[p->i] == '.' || p->v[p->i] == ',') && digit_at(p, 1)) {
			after = next < llen ? std_at(layout, llen, next, &len,
						     &dummy) : STD_NONE;
			if (after == STD_FRAC0 || after == STD_FRAC9)
				return 0;
			for (k = 2; digit_at(p, k); k++)
				;
			return parse_nanos(p, k, &f->ns);
		}
		return 0;
	case STD_PM:
	case STD_pm:
		if (p->n - p->i < 2)
			return -1;
		if (memcmp(p->v + p->i, s == STD_PM ? "PM" : "pm", 2) == 0)
			f->pm = 1;
		else if (memcmp(p->v + p->i, s == STD_PM ? "AM" : "am", 2) == 0)
			f->am = 1;
		else
			return -1;
		p->i += 2;
		return 0;
	case STD_TZ:
		if (starts(p->v, p->n, p->i, "UTC")) {
			p->i += 3;
			return 0;
		}
		for (k = 0; p->i + k < p->n && p->v[p->i + k] >= 'A' &&
			    p->v[p->i + k] <= 'Z'; k++)
			;
		if (k < 3 || k > 5)
			return -1;
		p->i += k;
		return 0;
	case STD_ISO_TZ:
	case STD_ISO_COLON_TZ:
	case STD_ISO_SHORT_TZ:
	case STD_NUM_TZ:
	case STD_NUM_COLON_TZ:
	case STD_NUM_SHORT_TZ:
		return parse_offset(p, s, &f->offset);
	case STD_FRAC0:
		if (p->n - p->i < (size_t)digits + 1)
			return -1;
		return parse_nanos(p, (size_t)digits + 1, &f->ns);
	case STD_FRAC9:
		if (p->n - p->i < 2 || (p->v[p->i] != '.' && p->v[p->i] != ',') ||
		    !digit_at(p, 1))
			return 0;
		for (k = 1; digit_at(p, k); k++)
			;
		return parse_nanos(p, k, &f->ns);
	case STD_UNDER_YEARDAY:
	case STD_ZERO_YEARDAY:
	case STD_NONE:
		break;
	}
	return -1;
}

int
lt_time_parse(const char *layout, size_t llen, const char *value,
	      size_t vlen, int64_t *sec, int32_t *ns)
{
	struct tparse p = {value, vlen, 0};
	struct tfields f;
	size_t i = 0, lit, len;
	int digits = 0;
	enum std s;

	memset(&f, 0, sizeof(f));
	f.month = 1;
	f.day = -1;
	while (i < llen) {
		for (lit = i; lit < llen; lit++)
			if (std_at(layout, llen, lit, &len, &digits) != STD_NONE)
				break;
		if (skip_literal(&p, layout + i, lit - i) < 0)
			return -1;
		if (lit >= llen)
			break;
		s = std_at(layout, llen, lit, &len, &digits);
		if (parse_one(&p, s, digits, layout, llen, lit + len, &f) < 0)
			return -1;
		i = lit + len;
	}
	if (p.i != p.n)
		return -1;
	if (f.pm && f.hour < 12)
		f.hour += 12;
	else if (f.am && f.hour == 12)
		f.hour = 0;
	if (f.day < 0)
		f.day = 1;
	if (f.day < 1 || f.day > days_in(f.month, f.year))
		return -1;
	*sec = lt_days_from_civil(f.year, f.month, f.day) * 86400 +
	       f.hour * 3600 + f.min * 60 + f.sec - f.offset;
	*ns = f.ns;
	return 0;
}

/* ---- printing values ---- */

int
lt_tv_print(struct tx *x, const struct tv *v, struct lt_buf *out)
{
	switch (v->k) {
	case TV_STR:
		return lt_buf_append(out, v->s, v->n);
	case TV_INT:
	case TV_INT64:
		return lt_buf_printf(out, "%lld", (long long)v->i);
	case TV_FLOAT:
		return lt_fmt_float_v(out, v->f);
	case TV_BOOL:
		return lt_buf_printf(out, "%s", v->i ? "true" : "false");
	case TV_TIME:
		return lt_time_format(out, "2006-01-02 15:04:05.999999999 -0700 MST",
				      39, v->i, v->ns);
	case TV_NONE:
		return lt_buf_append(out, "<no value>", 10);
	case TV_MAP:
		break;
	}
	return lt_tx_fail(x, "printing the whole label set is not supported");
}

/* ---- fmt.Sprintf ---- */

struct spec {
	int minus, plus, space, zero, sharp;
	int wid, prec;		/* -1: absent */
	uint32_t verb;
};

/* Pads s (of rune count runes) to the width, as Go's fmt.pad does. */
static int
pad(struct lt_buf *out, const struct spec *sp, const char *s, size_t n,
    size_t runes)
{
	size_t fill = sp->wid > 0 && (size_t)sp->wid > runes ?
		(size_t)sp->wid - runes : 0;

	if (sp->minus) {
		if (lt_buf_append(out, s, n) < 0)
			return -1;
		return put_repeat(out, ' ', fill);
	}
	if (put_repeat(out, sp->zero ? '0' : ' ', fill) < 0)
		return -1;
	return lt_buf_append(out, s, n);
}

/* A number's text with its sign first: zero padding goes between. */
static int
pad_number(struct lt_buf *out, const struct spec *sp, const char *s, size_t n)
{
	size_t fill = sp->wid > 0 && (size_t)sp->wid > n ?
		(size_t)sp->wid - n : 0;
	size_t signlen = n > 0 && (s[0] == '-' || s[0] == '+' || s[0] == ' ');

	if (sp->minus) {
		if (lt_buf_append(out, s, n) < 0)
			return -1;
		return put_repeat(out, ' ', fill);
	}
	if (sp->zero) {
		if (lt_buf_append(out, s, signlen) < 0 ||
		    put_repeat(out, '0', fill) < 0)
			return -1;
		return lt_buf_append(out, s + signlen, n - signlen);
	}
	if (put_repeat(out, ' ', fill) < 0)
		return -1;
	return lt_buf_append(out, s, n);
}

static int
fmt_string(struct lt_buf *out, const struct spec *sp, const char *s, size_t n)
{
	size_t i = 0, runes = 0;
	uint32_t r;

	if (sp->prec >= 0) {
		while (i < n && runes < (size_t)sp->prec) {
			i += lt_utf8_next(s + i, n - i, &r);
			runes++;
		}
		n = i;
	} else
		runes = rune_count(s, n);
	return pad(out, sp, s, n, runes);
}

/* Go's fmtInteger: precision is the least number of digits; the 0 flag
 * with a width becomes a precision; # adds 0x, 0b or 0. */
static int
fmt_integer(struct lt_buf *out, const struct spec *sp, int64_t v, int base,
	    int upper)
{
	const char *digs = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char buf[96];
	size_t i = sizeof(buf);
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	int prec = 0, neg = v < 0, ndig = 0;
	struct spec plain = *sp;

	if (sp->prec >= 0) {
		prec = sp->prec;
		if (prec == 0 && u == 0) {
			plain.zero = 0;
			return pad(out, &plain, "", 0, 0);
		}
	} else if (sp->zero && !sp->minus && sp->wid > 0) {
		prec = sp->wid;
		if (neg || sp->plus || sp->space)
			prec--;
	}
	if (prec > 64)
		prec = 64;
	do {
		buf[--i] = digs[u % (uint64_t)base];
		u /= (uint64_t)base;
		ndig++;
	} while (u > 0);
	while (ndig < prec) {
		buf[--i] = '0';
		ndig++;
	}
	if (sp->sharp || sp->verb == 'O') {
		if (base == 16) {
			buf[--i] = upper ? 'X' : 'x';
			buf[--i] = '0';
		} else if (base == 2) {
			buf[--i] = 'b';
			buf[--i] = '0';
		} else if (base == 8 && sp->verb == 'O') {
			buf[--i] = 'o';
			buf[--i] = '0';
		} else if (base == 8 && buf[i] != '0')
			buf[--i] = '0';
	}
	if (neg)
		buf[--i] = '-';
	else if (sp->plus)
		buf[--i] = '+';
	else if (sp->space)
		buf[--i] = ' ';
	plain.zero = 0;
	return pad(out, &plain, buf + i, sizeof(buf) - i, sizeof(buf) - i);
}

static int
fmt_float(struct lt_buf *out, const struct spec *sp, double f, char verb)
{
	struct lt_buf num = LT_BUF_INIT;
	char cfmt[16];
	size_t k = 0;
	int rc;
	struct spec nz = *sp;

	if (isnan(f) || isinf(f)) {
		const char *s = isnan(f) ? "NaN" : f > 0 ? "+Inf" : "-Inf";

		if (isnan(f) && sp->plus)
			s = "+NaN";
		else if (f > 0 && !sp->plus)
			s = sp->space ? " Inf" : "Inf";
		nz.zero = 0;
		return pad(out, &nz, s, strlen(s), strlen(s));
	}
	if ((verb == 'g' || verb == 'G') && sp->prec < 0) {
		if (!signbit(f) && sp->plus)
			rc = lt_buf_append_byte(&num, '+');
		else if (!signbit(f) && sp->space)
			rc = lt_buf_append_byte(&num, ' ');
		else
			rc = 0;
		if (rc == 0)
			rc = put_float_shortest(&num, f, 6,
						verb == 'G' ? 'E' : 'e');
	} else {
		cfmt[k++] = '%';
		if (sp->plus)
			cfmt[k++] = '+';
		else if (sp->space)
			cfmt[k++] = ' ';
		if (sp->sharp)
			cfmt[k++] = '#';
		memcpy(cfmt + k, ".*", 2);
		k += 2;
		cfmt[k++] = verb;
		cfmt[k] = '\0';
		/* cfmt is built above from known pieces only. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		rc = lt_buf_printf(&num, cfmt, sp->prec < 0 ? 6 : sp->prec, f);
#pragma GCC diagnostic pop
	}
	if (rc == 0)
		rc = pad_number(out, sp, (const char *)num.data, num.len);
	lt_buf_free(&num);
	return rc;
}

/* %!verb(type=value) */
static int
bad_verb(struct tx *x, struct lt_buf *out, uint32_t verb, const struct tv *v)
{
	if (lt_buf_append(out, "%!", 2) < 0 || put_rune(out, verb) < 0)
		return -1;
	if (v == NULL)
		return lt_buf_append(out, "(MISSING)", 9);
	if (lt_buf_printf(out, "(%s=", lt_tv_type(v)) < 0 ||
	    lt_tv_print(x, v, out) < 0)
		return -1;
	return lt_buf_append_byte(out, ')');
}

static int
fmt_hex_string(struct lt_buf *out, const struct spec *sp, const char *s,
	       size_t n, int upper)
{
	struct lt_buf hex = LT_BUF_INIT;
	const char *digs = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	size_t i;
	int rc = 0;

	if (sp->prec >= 0 && (size_t)sp->prec < n)
		n = (size_t)sp->prec;
	for (i = 0; i < n && rc == 0; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i > 0 && sp->space)
			rc = lt_buf_append_byte(&hex, ' ');
		if (rc == 0 && sp->sharp && (i == 0 || sp->space))
			rc = lt_buf_append(&hex, upper ? "0X" : "0x", 2);
		if (rc == 0)
			rc = lt_buf_append_byte(&hex, (unsigned char)digs[c >> 4]);
		if (rc == 0)
			rc = lt_buf_append_byte(&hex, (unsigned char)digs[c & 15]);
	}
	if (rc == 0)
		rc = pad(out, sp, (const char *)hex.data, hex.len, hex.len);
	lt_buf_free(&hex);
	return rc;
}

static int
fmt_quoted(struct lt_buf *out, const struct spec *sp, const char *s, size_t n)
{
	struct lt_buf q = LT_BUF_INIT;
	int rc = lt_fmt_quote(&q, s, n);

	if (rc == 0)
		rc = pad(out, sp, (const char *)q.data, q.len,
			 rune_count((const char *)q.data, q.len));
	lt_buf_free(&q);
	return rc;
}

static int
fmt_time(struct tx *x, struct lt_buf *out, const struct spec *sp,
	 const struct tv *v)
{
	struct lt_buf s = LT_BUF_INIT;
	int rc = lt_tv_print(x, v, &s);

	if (rc == 0) {
		if (sp->verb == 'q')
			rc = fmt_quoted(out, sp, (const char *)s.data, s.len);
		else if (sp->verb == 'x' || sp->verb == 'X')
			rc = fmt_hex_string(out, sp, (const char *)s.data, s.len,
					    sp->verb == 'X');
		else
			rc = fmt_string(out, sp, (const char *)s.data, s.len);
	}
	lt_buf_free(&s);
	return rc;
}

static int
fmt_int_verb(struct tx *x, struct lt_buf *out, const struct spec *sp,
	     const struct tv *v)
{
	struct lt_buf q = LT_BUF_INIT;
	uint32_t r;
	int rc;

	switch (sp->verb) {
	case 'v':
	case 'd': return fmt_integer(out, sp, v->i, 10, 0);
	case 'b': return fmt_integer(out, sp, v->i, 2, 0);
	case 'o':
	case 'O': return fmt_integer(out, sp, v->i, 8, 0);
	case 'x': return fmt_integer(out, sp, v->i, 16, 0);
	case 'X': return fmt_integer(out, sp, v->i, 16, 1);
	case 'c':
	case 'q':
		r = v->i < 0 || v->i > 0x10ffff ? 0xfffd : (uint32_t)v->i;
		rc = put_rune(&q, r);
		if (rc == 0 && sp->verb == 'c')
			rc = pad(out, sp, (const char *)q.data, q.len, 1);
		else if (rc == 0) {
			struct lt_buf qq = LT_BUF_INIT;

			rc = lt_fmt_quote(&qq, (const char *)q.data, q.len);
			if (rc == 0) {
				qq.data[0] = '\'';
				qq.data[qq.len - 1] = '\'';
				rc = pad(out, sp, (const char *)qq.data, qq.len,
					 rune_count((const char *)qq.data, qq.len));
			}
			lt_buf_free(&qq);
		}
		lt_buf_free(&q);
		return rc;
	case 'U':
		rc = lt_buf_printf(&q, "U+%04llX", (unsigned long long)v->i);
		if (rc == 0)
			rc = pad(out, sp, (const char *)q.data, q.len, q.len);
		lt_buf_free(&q);
		return rc;
	default:
		return bad_verb(x, out, sp->verb, v);
	}
}

static int
fmt_one(struct tx *x, struct lt_buf *out, const struct spec *sp,
	const struct tv *v)
{
	uint32_t vb = sp->verb;

	switch (v->k) {
	case TV_STR:
		if (vb == 's' || vb == 'v')
			return fmt_string(out, sp, v->s, v->n);
		if (vb == 'q')
			return fmt_quoted(out, sp, v->s, v->n);
		if (vb == 'x' || vb == 'X')
			return fmt_hex_string(out, sp, v->s, v->n, vb == 'X');
		break;
	case TV_INT:
	case TV_INT64:
		return fmt_int_verb(x, out, sp, v);
	case TV_FLOAT:
		if (vb == 'v')
			return fmt_float(out, sp, v->f, 'g');
		if (vb == 'e' || vb == 'E' || vb == 'f' || vb == 'F' ||
		    vb == 'g' || vb == 'G')
			return fmt_float(out, sp, v->f, (char)(vb == 'F' ? 'f' : vb));
		break;
	case TV_BOOL:
		if (vb == 't' || vb == 'v')
			return pad(out, sp, v->i ? "true" : "false",
				   v->i ? 4 : 5, v->i ? 4 : 5);
		break;
	case TV_TIME:
		if (vb == 's' || vb == 'v' || vb == 'q' || vb == 'x' || vb == 'X')
			return fmt_time(x, out, sp, v);
		break;
	case TV_NONE:
	case TV_MAP:
		break;
	}
	return bad_verb(x, out, vb, v);
}

/* A width or precision: digits, or * taking an int argument.  1 when
 * there is one, 0 when not, -1 for a bad *, -2 for too many digits. */
static int
fmt_num(struct tx *x, const char *f, size_t n, size_t *i, const struct tv *a,
	int na, int *argi, int *val)
{
	int64_t v = 0;

	(void)x;
	if (*i < n && f[*i] == '*') {
		(*i)++;
		if (*argi >= na || (a[*argi].k != TV_INT && a[*argi].k != TV_INT64))
			return -1;
		v = a[(*argi)++].i;
		if (v < -FMT_TOO_LARGE || v > FMT_TOO_LARGE)
			return -1;
		*val = (int)v;
		return 1;
	}
	if (*i >= n || f[*i] < '0' || f[*i] > '9')
		return 0;
	while (*i < n && f[*i] >= '0' && f[*i] <= '9') {
		/* Go gives up on a crazy long number, and on the rest of
		 * the format with it. */
		if (v > FMT_TOO_LARGE) {
			*i = n;
			return -2;
		}
		v = v * 10 + (f[*i] - '0');
		(*i)++;
	}
	*val = (int)v;
	return 1;
}

int
lt_fmt_printf(struct tx *x, const char *f, size_t n, const struct tv *a,
	      int na, struct lt_buf *out)
{
	struct spec sp;
	size_t i = 0, start;
	int argi = 0, rc, k;
	uint32_t r;

	while (i < n) {
		start = i;
		while (i < n && f[i] != '%')
			i++;
		if (lt_buf_append(out, f + start, i - start) < 0)
			return -1;
		if (i >= n)
			break;
		i++;
		memset(&sp, 0, sizeof(sp));
		sp.wid = sp.prec = -1;
		for (; i < n; i++) {
			if (f[i] == '-') {
				sp.minus = 1;
				sp.zero = 0;
			} else if (f[i] == '+')
				sp.plus = 1;
			else if (f[i] == ' ')
				sp.space = 1;
			else if (f[i] == '0')
				sp.zero = !sp.minus;
			else if (f[i] == '#')
				sp.sharp = 1;
			else
				break;
		}
		rc = fmt_num(x, f, n, &i, a, na, &argi, &sp.wid);
		if (rc == -2)
			sp.wid = -1;
		else if (rc < 0) {
			if (lt_buf_append(out, "%!(BADWIDTH)", 12) < 0)
				return -1;
			sp.wid = -1;
		} else if (rc > 0 && sp.wid < 0) {
			sp.minus = 1;
			sp.zero = 0;
			sp.wid = -sp.wid;
		}
		if (i < n && f[i] == '.') {
			i++;
			rc = fmt_num(x, f, n, &i, a, na, &argi, &sp.prec);
			if (rc == -2)
				sp.prec = -1;
			else if (rc < 0 || sp.prec < -1) {
				if (lt_buf_append(out, "%!(BADPREC)", 11) < 0)
					return -1;
				sp.prec = -1;
			} else if (rc == 0)
				sp.prec = 0;
		}
		if (i >= n) {
			if (lt_buf_append(out, "%!(NOVERB)", 10) < 0)
				return -1;
			break;
		}
		i += lt_utf8_next(f + i, n - i, &r);
		sp.verb = r;
		if (r == '%') {
			if (lt_buf_append_byte(out, '%') < 0)
				return -1;
			continue;
		}
		if (argi >= na) {
			if (bad_verb(x, out, r, NULL) < 0)
				return -1;
			continue;
		}
		if (fmt_one(x, out, &sp, &a[argi++]) < 0)
			return -1;
		if (out->len > x->scratch_max)
			return lt_tx_fail(x, "printf output over %zu bytes",
					  x->scratch_max);
	}
	if (argi < na) {
		if (lt_buf_append(out, "%!(EXTRA ", 9) < 0)
			return -1;
		for (k = argi; k < na; k++) {
			if (k > argi && lt_buf_append(out, ", ", 2) < 0)
				return -1;
			if (lt_buf_printf(out, "%s=", lt_tv_type(&a[k])) < 0 ||
			    lt_tv_print(x, &a[k], out) < 0)
				return -1;
		}
		if (lt_buf_append_byte(out, ')') < 0)
			return -1;
	}
	return 0;
}
