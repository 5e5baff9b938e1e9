/* Timestamps as pushes and --since give them: unix nanoseconds, a date or
 * RFC 3339, read to unix nanoseconds (push.h). */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "clock.h"
#include "push.h"

#define NS_PER_SEC 1000000000LL

static const char why_syntax[] =
    "not a number of unix nanoseconds, a date (2024-01-01) or an RFC 3339 time";

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Reads exactly n digits at s; -1 when one is not a digit. */
static int
digits(const char *s, size_t n, int *out)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int y, int m)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30,
				      31, 31, 30, 31, 30, 31};

	return m == 2 && is_leap(y) ? 29 : mdays[m - 1];
}

static int
parse_unix_ns(const char *s, size_t len, int64_t *ns, const char **why)
{
	uint64_t v = 0;
	size_t i;

	if (len > 19) {
		*why = "too many digits for unix nanoseconds";
		return -1;
	}
	for (i = 0; i < len; i++) {
		v = v * 10 + (uint64_t)(s[i] - '0');
		/* 19 digits fit in uint64_t, so checking once at the end
		 * is enough. */
	}
	if (v > (uint64_t)INT64_MAX) {
		*why = "too large for unix nanoseconds";
		return -1;
	}
	*ns = (int64_t)v;
	return 0;
}

/* Combines the parts of a date and time into nanoseconds, refusing what
 * does not fit in an int64_t (before 1677 or after 2262). */
static int
combine(int y, int mo, int d, int64_t sec_of_day, int64_t offset_sec,
	int64_t frac_ns, int64_t *ns, const char **why)
{
	int64_t secs;

	secs = lt_days_from_civil(y, mo, d) * 86400 + sec_of_day - offset_sec;
	if (secs > INT64_MAX / NS_PER_SEC - 1 ||
	    secs < INT64_MIN / NS_PER_SEC + 1) {
		*why = "out of the range of unix nanoseconds (1677 to 2262)";
		return -1;
	}
	*ns = secs * NS_PER_SEC;
	if (*ns > 0 && frac_ns > INT64_MAX - *ns) {
		*why = "out of the range of unix nanoseconds (1677 to 2262)";
		return -1;
	}
	*ns += frac_ns;
	return 0;
}

static int
parse_date(const char *s, int *y, int *mo, int *d, const char **why)
{
	if (digits(s, 4, y) < 0 || s[4] != '-' || digits(s + 5, 2, mo) < 0 ||
	    s[7] != '-' || digits(s + 8, 2, d) < 0) {
		*why = why_syntax;
		return -1;
	}
	if (*mo < 1 || *mo > 12 || *d < 1 || *d > days_in_month(*y, *mo)) {
		*why = "no such date";
		return -1;
	}
	return 0;
}

/* YYYY-MM-DD[Tt ]HH:MM:SS[.fraction](Z|z|+HH:MM|-HH:MM); the date is
 * already checked and len is at least 19. */
static int
parse_rfc3339(const char *s, size_t len, int y, int mo, int d, int64_t *ns,
	      const char **why)
{
	int h, mi, sec, oh, om;
	int64_t frac = 0, offset = 0;
	size_t i = 19, nfrac;

	if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    digits(s + 11, 2, &h) < 0 || s[13] != ':' ||
	    digits(s + 14, 2, &mi) < 0 || s[16] != ':' ||
	    digits(s + 17, 2, &sec) < 0)
		goto syntax;
	if (i < len && s[i] == '.') {
		for (i++, nfrac = 0; i < len && is_digit(s[i]); i++, nfrac++) {
			if (nfrac == 9) {
				*why = "more than 9 digits of fraction";
				return -1;
			}
			frac = frac * 10 + (s[i] - '0');
		}
		if (nfrac == 0)
			goto syntax;
		for (; nfrac < 9; nfrac++)
			frac *= 10;
	}
	if (i == len)
		goto syntax; /* RFC 3339 requires the offset */
	if (s[i] == 'Z' || s[i] == 'z') {
		i++;
	} else if (s[i] == '+' || s[i] == '-') {
		if (len - i != 6 || digits(s + i + 1, 2, &oh) < 0 ||
		    s[i + 3] != ':' || digits(s + i + 4, 2, &om) < 0)
			goto syntax;
		if (oh > 23 || om > 59) {
			*why = "time zone offset out of range";
			return -1;
		}
		offset = (int64_t)oh * 3600 + om * 60;
		if (s[i] == '-')
			offset = -offset;
		i += 6;
	} else
		goto syntax;
	if (i != len)
		goto syntax;
	/* A leap second cannot be represented in unix time; refuse it
	 * rather than silently move the entry. */
	if (h > 23 || mi > 59 || sec > 59) {
		*why = "hour, minute or second out of range";
		return -1;
	}
	return combine(y, mo, d, (int64_t)h * 3600 + mi * 60 + sec, offset,
		       frac, ns, why);
syntax:
	*why = why_syntax;
	return -1;
}

int
lt_parse_timestamp(const char *s, size_t len, int64_t *ns, const char **why)
{
	int y, mo, d;
	size_t i;

	for (i = 0; i < len && is_digit(s[i]); i++)
		;
	if (len > 0 && i == len)
		return parse_unix_ns(s, len, ns, why);
	if (i != 4 || (len != 10 && len < 20)) {
		*why = why_syntax;
		return -1;
	}
	if (parse_date(s, &y, &mo, &d, why) < 0)
		return -1;
	if (len == 10)
		return combine(y, mo, d, 0, 0, 0, ns, why);
	return parse_rfc3339(s, len, y, mo, d, ns, why);
}
