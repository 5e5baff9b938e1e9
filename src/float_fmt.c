/* Floats as Go writes them (float_fmt.h). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "float_fmt.h"

void
lt_float_digits(double f, char *d, int *nd, int *dp)
{
	char tmp[48];
	int p, n = 0, exp;
	const char *c;

	for (p = 1; p <= 17; p++) {
		(void)snprintf(tmp, sizeof(tmp), "%.*e", p - 1, f);
		if (strtod(tmp, NULL) == f)
			break;
	}
	for (c = tmp; *c != '\0' && *c != 'e'; c++)
		if (*c >= '0' && *c <= '9')
			d[n++] = *c;
	exp = *c == 'e' ? atoi(c + 1) : 0;
	while (n > 1 && d[n - 1] == '0')
		n--;
	d[n] = '\0';
	*nd = n;
	*dp = exp + 1;
}

static int
put_zeros(struct lt_buf *out, int n)
{
	for (; n > 0; n--)
		if (lt_buf_append_byte(out, '0') < 0)
			return -1;
	return 0;
}

/* strconv's 'f' with the shortest digits: f = 0.d * 10^dp. */
static int
put_fixed(struct lt_buf *out, const char *d, int nd, int dp)
{
	int rc;

	if (dp <= 0) {
		rc = lt_buf_append(out, "0.", 2);
		if (rc == 0)
			rc = put_zeros(out, -dp);
		if (rc == 0)
			rc = lt_buf_append(out, d, (size_t)nd);
		return rc;
	}
	if (dp >= nd) {
		rc = lt_buf_append(out, d, (size_t)nd);
		return rc == 0 ? put_zeros(out, dp - nd) : rc;
	}
	rc = lt_buf_append(out, d, (size_t)dp);
	if (rc == 0)
		rc = lt_buf_append_byte(out, '.');
	if (rc == 0)
		rc = lt_buf_append(out, d + dp, (size_t)(nd - dp));
	return rc;
}

int
lt_float_json(struct lt_buf *out, double f)
{
	char d[32];
	int nd, dp, exp;

	if (isnan(f) || isinf(f))
		return 1;
	if (signbit(f) && lt_buf_append_byte(out, '-') < 0)
		return -1;
	f = fabs(f);
	if (f == 0)
		return lt_buf_append_byte(out, '0');
	lt_float_digits(f, d, &nd, &dp);
	if (f >= 1e-6 && f < 1e21)
		return put_fixed(out, d, nd, dp);
	/* 'e' form; Go's json writes one exponent digit where strconv
	 * writes two for a negative exponent ("e-7", but "e+21"). */
	exp = dp - 1;
	if (lt_buf_append_byte(out, (unsigned char)d[0]) < 0)
		return -1;
	if (nd > 1 && (lt_buf_append_byte(out, '.') < 0 ||
		       lt_buf_append(out, d + 1, (size_t)nd - 1) < 0))
		return -1;
	if (exp < 0)
		return lt_buf_printf(out, "e-%d", -exp);
	return lt_buf_printf(out, "e+%02d", exp);
}
