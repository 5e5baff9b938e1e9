/* The front of Loki's query API: forms, times and durations read as Loki
 * reads them, routing, parameter checks and the endpoints (query_http.h). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "auth.h"
#include "clock.h"
#include "log.h"
#include "query_http.h"
#include "query_int.h"
#include "query_tail.h"
#include "recv.h"

#define NS_PER_S INT64_C(1000000000)
#define NS_PER_MS INT64_C(1000000)

/* Loki's defaults (pkg/loghttp/params.go). */
#define DEFAULT_LIMIT 100
#define DEFAULT_SINCE_NS (3600 * NS_PER_S)
#define MAX_POINTS 11000

/* --- Forms --- */

void
lt_form_init(struct lt_form *f)
{
	memset(f, 0, sizeof(*f));
}

void
lt_form_free(struct lt_form *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		free(f->fields[i].name);
		free(f->fields[i].value);
	}
	free(f->fields);
	lt_form_init(f);
}

static int
hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes s[0..len) into a new string, as Go's QueryUnescape (plus_space)
 * or PathUnescape.  Returns it, or NULL with err set. */
static char *
unescape(const char *s, size_t len, int plus_space, size_t *outlen, char *err,
	 size_t errlen)
{
	char *out = malloc(len + 1);
	size_t i, o = 0;
	int hi, lo;

	if (out == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (i = 0; i < len; i++) {
		if (s[i] == '%') {
			hi = i + 1 < len ? hex_digit((unsigned char)s[i + 1]) : -1;
			lo = i + 2 < len ? hex_digit((unsigned char)s[i + 2]) : -1;
			if (hi < 0 || lo < 0) {
				/* Go quotes at most the three bytes. */
				(void)snprintf(err, errlen,
					       "invalid URL escape \"%.*s\"",
					       (int)(len - i < 3 ? len - i : 3),
					       s + i);
				free(out);
				return NULL;
			}
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (s[i] == '+' && plus_space) {
			out[o++] = ' ';
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	if (outlen != NULL)
		*outlen = o;
	return out;
}

static int
form_push(struct lt_form *f, char *name, char *value, size_t value_len)
{
	struct lt_form_field *p;
	size_t cap;

	if (f->n == f->cap) {
		cap = f->cap ? f->cap * 2 : 16;
		p = reallocarray(f->fields, cap, sizeof(*p));
		if (p == NULL)
			return -1;
		f->fields = p;
		f->cap = cap;
	}
	f->fields[f->n].name = name;
	f->fields[f->n].value = value;
	f->fields[f->n].value_len = value_len;
	f->n++;
	return 0;
}

int
lt_form_add(struct lt_form *f, const char *name, const char *value)
{
	char *n = strdup(name), *v = strdup(value);

	if (n == NULL || v == NULL || form_push(f, n, v, strlen(v)) < 0) {
		free(n);
		free(v);
		return -1;
	}
	return 0;
}

/* One "key=value" of a form. */
static int
form_field(struct lt_form *f, const char *s, size_t len, char *err,
	   size_t errlen)
{
	const char *eq = memchr(s, '=', len);
	size_t klen = eq != NULL ? (size_t)(eq - s) : len, vlen = 0;
	char *name, *value;

	name = unescape(s, klen, 1, NULL, err, errlen);
	if (name == NULL)
		return -1;
	value = eq != NULL ? unescape(eq + 1, len - klen - 1, 1, &vlen, err,
				      errlen)
			   : strdup("");
	if (value == NULL) {
		if (eq == NULL)
			(void)snprintf(err, errlen, "out of memory");
		free(name);
		return -1;
	}
	if (form_push(f, name, value, vlen) < 0) {
		(void)snprintf(err, errlen, "out of memory");
		free(name);
		free(value);
		return -1;
	}
	return 0;
}

int
lt_form_parse(struct lt_form *f, const char *s, size_t len, char *err,
	      size_t errlen)
{
	const char *end = s + len, *amp;
	size_t n;

	while (s < end) {
		amp = memchr(s, '&', (size_t)(end - s));
		n = amp != NULL ? (size_t)(amp - s) : (size_t)(end - s);
		/* Go 1.17 on: a ';' no longer separates, and is refused. */
		if (memchr(s, ';', n) != NULL) {
			(void)snprintf(err, errlen,
				       "invalid semicolon separator in query");
			return -1;
		}
		if (n > 0 && form_field(f, s, n, err, errlen) < 0)
			return -1;
		s += n + (amp != NULL);
	}
	return 0;
}

const char *
lt_form_get(const struct lt_form *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->fields[i].name, name) == 0)
			return f->fields[i].value[0] != '\0'
				       ? f->fields[i].value : NULL;
	return NULL;
}

/* --- Go's strconv, as far as Loki's messages show it --- */

/* s as strconv.Quote writes it, cut to fit. */
static void
go_quote(const char *s, char *buf, size_t len)
{
	size_t o = 0;
	unsigned char c;
	int n;

	if (len < 3) {
		if (len > 0)
			buf[0] = '\0';
		return;
	}
	buf[o++] = '"';
	for (; *s != '\0' && o + 6 < len; s++) {
		c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			n = snprintf(buf + o, len - o, "\\x%02x", c);
			if (n > 0)
				o += (size_t)n;
		} else {
			buf[o++] = (char)c;
		}
	}
	buf[o++] = '"';
	buf[o] = '\0';
}

/* strconv.ParseInt(s, 10, 64).  fn names the function for the message
 * ("ParseInt", "Atoi"). */
static int
go_parse_int(const char *s, const char *fn, int64_t *out, char *err,
	     size_t errlen)
{
	const char *p = s;
	uint64_t v = 0, max;
	int neg = 0, range = 0;
	char q[160];

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (*p == '\0')
		goto syntax;
	max = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			goto syntax;
		if (v > (max - (uint64_t)(*p - '0')) / 10)
			range = 1;
		else
			v = v * 10 + (uint64_t)(*p - '0');
	}
	if (range) {
		go_quote(s, q, sizeof(q));
		(void)snprintf(err, errlen, "strconv.%s: parsing %s: value out of range",
			       fn, q);
		return -1;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
syntax:
	go_quote(s, q, sizeof(q));
	(void)snprintf(err, errlen, "strconv.%s: parsing %s: invalid syntax", fn, q);
	return -1;
}

/* strconv.ParseFloat(s, 64) for decimal text: [+-]digits[.digits][e[+-]digits]
 * with digits on at least one side of the point. */
static int
go_parse_float(const char *s, double *out, char *err, size_t errlen)
{
	const char *p = s;
	size_t digits = 0;
	char q[160], *end;

	if (*p == '+' || *p == '-')
		p++;
	for (; *p >= '0' && *p <= '9'; p++)
		digits++;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			digits++;
	if (digits > 0 && (*p == 'e' || *p == 'E')) {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (*p < '0' || *p > '9')
			digits = 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (digits == 0 || *p != '\0')
		goto syntax;
	errno = 0;
	*out = strtod(s, &end);
	if (*end != '\0')
		goto syntax;
	return 0;
syntax:
	go_quote(s, q, sizeof(q));
	(void)snprintf(err, errlen, "strconv.ParseFloat: parsing %s: invalid syntax", q);
	return -1;
}

/* --- Times --- */

static int
digits(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static int
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* time.Parse(time.RFC3339Nano, s): 2006-01-02T15:04:05[.frac](Z|±hh:mm). */
static int
parse_rfc3339(const char *s, int64_t *ns)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, sec, oh, om, frac = 0, nd = 0, sign;
	int64_t t;
	const char *p;

	if (strlen(s) < 20 || digits(s, 4, &y) < 0 || s[4] != '-' ||
	    digits(s + 5, 2, &mo) < 0 || s[7] != '-' ||
	    digits(s + 8, 2, &d) < 0 || s[10] != 'T' ||
	    digits(s + 11, 2, &h) < 0 || s[13] != ':' ||
	    digits(s + 14, 2, &mi) < 0 || s[16] != ':' ||
	    digits(s + 17, 2, &sec) < 0)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] + (mo == 2 && leap(y)) || h > 23 || mi > 59 ||
	    sec > 59)
		return -1;
	p = s + 19;
	if (*p == '.' || *p == ',') {
		for (p++; *p >= '0' && *p <= '9'; p++, nd++)
			if (nd < 9)
				frac = frac * 10 + (*p - '0');
		if (nd == 0)
			return -1;
		for (; nd < 9; nd++)
			frac *= 10;
	}
	if (p[0] == 'Z' && p[1] == '\0') {
		sign = 0;
		oh = om = 0;
	} else if ((p[0] == '+' || p[0] == '-') && strlen(p) == 6 &&
		   digits(p + 1, 2, &oh) == 0 && p[3] == ':' &&
		   digits(p + 4, 2, &om) == 0 && oh <= 23 && om <= 59) {
		sign = p[0] == '-' ? -1 : 1;
	} else {
		return -1;
	}
	t = lt_days_from_civil(y, mo, d) * 86400 + h * 3600 +
	    mi * 60 + sec;
	if (sign != 0)
		t -= sign * (oh * 3600 + om * 60);
	*ns = t * NS_PER_S + frac;
	return 0;
}

int
lt_query_parse_time(const char *s, int64_t *ns, char *err, size_t errlen)
{
	double t, ms;
	int64_t v;

	if (parse_rfc3339(s, ns) == 0)
		return 0;
	if (strchr(s, '.') != NULL) {
		if (go_parse_float(s, &t, err, errlen) < 0)
			return -1;
		if (isnan(t) || isinf(t)) {
			(void)snprintf(err, errlen, "floating point timestamp is NaN or Inf");
			return -1;
		}
		/* What fits in int64 nanoseconds, not Go's int64 seconds:
		 * later times cannot be stored anyway. */
		if (t >= 9.2e18 || t <= -9.2e9 || (t <= 1e10 && t >= 9.2e9)) {
			(void)snprintf(err, errlen, "floating point timestamp exceeds integer range");
			return -1;
		}
		v = (int64_t)t;          /* math.Modf: toward zero */
		if (v > INT64_C(10000000000)) {
			*ns = v;         /* nanoseconds; the fraction dropped */
			return 0;
		}
		/* The fraction rounded to the millisecond, half away from
		 * zero as math.Round. */
		ms = (t - (double)v) * 1000;
		ms = ms >= 0 ? (double)(int64_t)(ms + 0.5)
			     : -(double)(int64_t)(-ms + 0.5);
		*ns = v * NS_PER_S + (int64_t)(ms * 1e6);
		return 0;
	}
	if (go_parse_int(s, "ParseInt", &v, err, errlen) < 0)
		return -1;
	if (v <= INT64_C(10000000000)) {
		if (v < INT64_MIN / NS_PER_S || v > INT64_MAX / NS_PER_S) {
			(void)snprintf(err, errlen, "timestamp %s is out of range", s);
			return -1;
		}
		*ns = v * NS_PER_S;
	} else {
		*ns = v;
	}
	return 0;
}

int
lt_prom_duration(const char *s, int64_t *ns)
{
	static const struct {
		const char *unit;
		int64_t ms;
	} units[] = {
		{"y", INT64_C(365) * 86400000}, {"w", INT64_C(7) * 86400000},
		{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000},
		{"ms", 1},
	};
	const char *p = s;
	size_t next = 0, i, ulen;
	uint64_t v;
	int64_t total = 0;

	if (strcmp(s, "0") == 0) {
		*ns = 0;
		return 0;
	}
	if (*p == '\0')
		return -1;
	while (*p != '\0') {
		if (*p < '0' || *p > '9')
			return -1;
		for (v = 0; *p >= '0' && *p <= '9'; p++) {
			if (v > (UINT64_MAX - 9) / 10)
				return -1;
			v = v * 10 + (uint64_t)(*p - '0');
		}
		/* "ms" before "m": the longest unit that matches. */
		for (i = next; i < sizeof(units) / sizeof(units[0]); i++) {
			ulen = strlen(units[i].unit);
			if (strncmp(p, units[i].unit, ulen) != 0)
				continue;
			if (strcmp(units[i].unit, "m") == 0 && p[1] == 's')
				continue;
			break;
		}
		if (i == sizeof(units) / sizeof(units[0]))
			return -1;
		if (v > (uint64_t)(INT64_MAX / NS_PER_MS / units[i].ms) ||
		    total > INT64_MAX - (int64_t)v * units[i].ms * NS_PER_MS)
			return -1;
		total += (int64_t)v * units[i].ms * NS_PER_MS;
		p += strlen(units[i].unit);
		next = i + 1;
	}
	*ns = total;
	return 0;
}

/* Appends "%d" and a unit, or nothing when it does not fit. */
static void
append(char *buf, size_t len, size_t *o, const char *fmt, ...)
	LT_PRINTF(4, 5);

static void
append(char *buf, size_t len, size_t *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*o >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *o, len - *o, fmt, ap);
	va_end(ap);
	if (n > 0)
		*o += (size_t)n < len - *o ? (size_t)n : len - *o - 1;
}

/* The fraction of v / unit without trailing zeros, ".5" or "". */
static void
fraction(uint64_t rem, uint64_t unit, char *out, size_t len)
{
	size_t o = 0;

	out[0] = '\0';
	if (rem == 0 || len < 2)
		return;
	out[o++] = '.';
	while (rem > 0 && unit > 1 && o + 1 < len) {
		unit /= 10;
		out[o++] = (char)('0' + rem / unit);
		rem %= unit;
	}
	out[o] = '\0';
}

void
lt_go_duration_format(int64_t ns, char *buf, size_t len)
{
	uint64_t u = ns < 0 ? 0 - (uint64_t)ns : (uint64_t)ns, h, m;
	const char *sign = ns < 0 ? "-" : "";
	char frac[16];
	size_t o = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (u == 0) {
		append(buf, len, &o, "0s");
	} else if (u < 1000) {
		append(buf, len, &o, "%s%" PRIu64 "ns", sign, u);
	} else if (u < 1000000) {
		fraction(u % 1000, 1000, frac, sizeof(frac));
		append(buf, len, &o, "%s%" PRIu64 "%s\xc2\xb5s", sign, u / 1000, frac);
	} else if (u < 1000000000) {
		fraction(u % 1000000, 1000000, frac, sizeof(frac));
		append(buf, len, &o, "%s%" PRIu64 "%sms", sign, u / 1000000, frac);
	} else {
		fraction(u % 1000000000, 1000000000, frac, sizeof(frac));
		u /= 1000000000;
		h = u / 3600;
		m = u / 60 % 60;
		append(buf, len, &o, "%s", sign);
		if (h > 0)
			append(buf, len, &o, "%" PRIu64 "h", h);
		if (h > 0 || m > 0)
			append(buf, len, &o, "%" PRIu64 "m", m);
		append(buf, len, &o, "%" PRIu64 "%ss", u % 60, frac);
	}
}

void
lt_prom_duration_format(int64_t ns, char *buf, size_t len)
{
	static const struct {
		const char *unit;
		int64_t ms;
		int exact;
	} units[] = {
		{"y", INT64_C(365) * 86400000, 1}, {"w", INT64_C(7) * 86400000, 1},
		{"d", 86400000, 0}, {"h", 3600000, 0}, {"m", 60000, 0},
		{"s", 1000, 0}, {"ms", 1, 0},
	};
	int64_t ms = ns / NS_PER_MS, v;
	size_t o = 0, i;

	if (len == 0)
		return;
	buf[0] = '\0';
	if (ms <= 0) {
		append(buf, len, &o, "0s");
		return;
	}
	/* Years and weeks only when exact: 90d reads better than 12w6d. */
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (units[i].exact && ms % units[i].ms != 0)
			continue;
		v = ms / units[i].ms;
		if (v > 0) {
			append(buf, len, &o, "%" PRId64 "%s", v, units[i].unit);
			ms -= v * units[i].ms;
		}
	}
}

int
lt_query_bounds(const struct lt_form *form, int64_t now_ns, int64_t *start_ns,
		int64_t *end_ns, struct lt_query_error *err)
{
	const char *start = lt_form_get(form, "start");
	const char *end = lt_form_get(form, "end");
	const char *since = lt_form_get(form, "since");
	int64_t since_ns = DEFAULT_SINCE_NS, end_or_now;
	char why[512], q[160];

	if (since != NULL && lt_prom_duration(since, &since_ns) < 0) {
		go_quote(since, q, sizeof(q));
		return lt_query_fail(err, 400, "could not parse 'since' parameter: not a valid duration string: %s", q);
	}
	*end_ns = now_ns;
	if (end != NULL && lt_query_parse_time(end, end_ns, why, sizeof(why)) < 0)
		return lt_query_fail(err, 400, "could not parse 'end' parameter: %s", why);
	/* An end in the future counts from now, as Loki does. */
	end_or_now = *end_ns > now_ns ? now_ns : *end_ns;
	*start_ns = end_or_now - since_ns;
	if (start != NULL &&
	    lt_query_parse_time(start, start_ns, why, sizeof(why)) < 0)
		return lt_query_fail(err, 400, "could not parse 'start' parameter: %s", why);
	return 0;
}

/* --- Routing --- */

#define API "/loki/api/v1/"

/* Whether path is prefix NAME/values; NAME, percent decoded, goes to
 * name. */
static int
named_path(const char *path, const char *prefix, char *name, size_t namelen)
{
	const char *p, *slash;
	char err[64], *decoded;
	size_t n;

	if (strncmp(path, prefix, strlen(prefix)) != 0)
		return 0;
	p = path + strlen(prefix);
	slash = strchr(p, '/');
	if (slash == NULL || slash == p || strcmp(slash, "/values") != 0)
		return 0;
	decoded = unescape(p, (size_t)(slash - p), 0, &n, err, sizeof(err));
	if (decoded == NULL)
		return 0;
	if (n + 1 > namelen || memchr(decoded, '\0', n) != NULL) {
		free(decoded);
		return 0;
	}
	memcpy(name, decoded, n + 1);
	free(decoded);
	return 1;
}

enum lt_query_endpoint
lt_query_route(const char *path, char *name, size_t namelen)
{
	static const struct {
		const char *path;
		enum lt_query_endpoint ep;
	} fixed[] = {
		{API "query_range", LT_EP_QUERY_RANGE},
		{API "query", LT_EP_QUERY},
		{API "labels", LT_EP_LABELS},
		{API "label", LT_EP_LABELS},
		{API "series", LT_EP_SERIES},
		{API "index/stats", LT_EP_INDEX_STATS},
		{API "status/buildinfo", LT_EP_BUILDINFO},
		{API "index/volume", LT_EP_VOLUME},
		{API "index/volume_range", LT_EP_VOLUME_RANGE},
		{API "detected_labels", LT_EP_DETECTED_LABELS},
		{API "detected_fields", LT_EP_DETECTED_FIELDS},
		{API "patterns", LT_EP_PATTERNS},
		{API "tail", LT_EP_TAIL},
		{"/ready", LT_EP_READY},
	};
	size_t i;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (strcmp(path, fixed[i].path) == 0)
			return fixed[i].ep;
	if (named_path(path, API "label/", name, namelen))
		return LT_EP_LABEL_VALUES;
	if (named_path(path, API "detected_field/", name, namelen))
		return LT_EP_DETECTED_FIELD_VALUES;
	return LT_EP_NONE;
}

int
lt_query_is_path(const char *path)
{
	char name[256];

	/* Every other path of Loki's API too, so that the answer for one
	 * not served here is the query front's 404, not the receiver's. */
	return strcmp(path, "/ready") == 0 ||
	       (strncmp(path, API, sizeof(API) - 1) == 0 &&
		strcmp(path, API "push") != 0) ||
	       lt_query_route(path, name, sizeof(name)) != LT_EP_NONE;
}

int
lt_query_check_head(const struct lt_options *o, const struct lt_request *r,
		    const char **tenant, struct lt_response *resp)
{
	char name[256];
	enum lt_query_endpoint ep = lt_query_route(r->path, name, sizeof(name));

	*tenant = NULL;
	if (ep == LT_EP_NONE)
		return lt_response_set(resp, 404, "404 page not found");
	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "POST") != 0) {
		(void)lt_response_set(resp, 405, "method %.20s not allowed: use GET or POST",
				      r->method);
		resp->allow = "GET, POST";
		return -1;
	}
	if (r->content_length >= 0 &&
	    (unsigned long long)r->content_length > o->http.max_body_size)
		return lt_response_set(resp, 413,
			      "request body of %lld bytes is over the limit of %zu bytes",
			      r->content_length, o->http.max_body_size);
	if (ep == LT_EP_READY || ep == LT_EP_BUILDINFO)
		return 0;
	return lt_request_tenant(o, r, LT_AUTH_READ, tenant, resp);
}

/* --- Parameters --- */

static int
param_limit(const struct lt_form *form, size_t *limit,
	    struct lt_query_error *err)
{
	const char *s = lt_form_get(form, "limit");
	char why[256];
	int64_t v = DEFAULT_LIMIT;

	if (s != NULL && go_parse_int(s, "Atoi", &v, why, sizeof(why)) < 0)
		return lt_query_fail(err, 400, "%s", why);
	if (v <= 0)
		return lt_query_fail(err, 400, "limit must be a positive value");
	*limit = (uint64_t)v > SIZE_MAX ? SIZE_MAX : (size_t)v;
	return 0;
}

int
lt_query_param_limit(const struct lt_form *form, size_t *limit,
		     struct lt_query_error *err)
{
	return param_limit(form, limit, err);
}

int
lt_go_atoi(const char *s, int64_t *out, char *err, size_t errlen)
{
	return go_parse_int(s, "Atoi", out, err, errlen);
}

static int
param_direction(const struct lt_form *form, int *forward,
		struct lt_query_error *err)
{
	const char *s = lt_form_get(form, "direction");

	*forward = 0;
	if (s == NULL || strcasecmp(s, "backward") == 0)
		return 0;
	if (strcasecmp(s, "forward") == 0) {
		*forward = 1;
		return 0;
	}
	return lt_query_fail(err, 400, "invalid direction '%.200s'", s);
}

/* parseSecondsOrDuration: float seconds, else a Prometheus duration. */
static int
seconds_or_duration(const char *s, int64_t *ns, struct lt_query_error *err)
{
	char why[256], q[160];
	double d;

	if (go_parse_float(s, &d, why, sizeof(why)) == 0 ||
	    strcasecmp(s, "inf") == 0 || strcasecmp(s, "+inf") == 0 ||
	    strcasecmp(s, "-inf") == 0) {
		if (strcasecmp(s, "inf") == 0 || strcasecmp(s, "+inf") == 0)
			d = INFINITY;
		else if (strcasecmp(s, "-inf") == 0)
			d = -INFINITY;
		d *= 1e9;
		if (d > 9223372036854775807.0 || d < -9223372036854775808.0) {
			go_quote(s, q, sizeof(q));
			return lt_query_fail(err, 400, "cannot parse %s to a valid duration. It overflows int64", q);
		}
		*ns = (int64_t)d;
		return 0;
	}
	if (lt_prom_duration(s, ns) == 0)
		return 0;
	go_quote(s, q, sizeof(q));
	return lt_query_fail(err, 400, "cannot parse %s to a valid duration", q);
}

/* step and interval: a metric query is evaluated every step (Loki's
 * default: the range over 250, at least 1s); a log query does not use
 * them, but Loki refuses the same values.  *step_out (may be NULL) gets
 * the step. */
static int
param_step(const struct lt_form *form, int64_t start, int64_t end,
	   int64_t *step_out, struct lt_query_error *err)
{
	const char *s = lt_form_get(form, "step");
	const char *iv = lt_form_get(form, "interval");
	int64_t step, interval;

	if (s == NULL) {
		step = (end - start) / NS_PER_S / 250;
		step = (step < 1 ? 1 : step) * NS_PER_S;
	} else if (seconds_or_duration(s, &step, err) < 0) {
		return -1;
	}
	if (step <= 0)
		return lt_query_fail(err, 400, "zero or negative query resolution step widths are not accepted. Try a positive integer");
	if ((end - start) / step > MAX_POINTS)
		return lt_query_fail(err, 400, "exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter");
	if (iv != NULL) {
		if (seconds_or_duration(iv, &interval, err) < 0)
			return -1;
		if (interval < 0)
			return lt_query_fail(err, 400, "interval must be >= 0");
	}
	if (step_out != NULL)
		*step_out = step;
	return 0;
}

/* max_query_length, for every endpoint with a range. */
static int
check_length(const struct lt_query_limits *lim, int64_t start, int64_t end,
	     struct lt_query_error *err)
{
	char len[64], max[64];

	if (lim->max_length_ns <= 0 || end - start <= lim->max_length_ns)
		return 0;
	lt_go_duration_format(end - start, len, sizeof(len));
	lt_prom_duration_format(lim->max_length_ns, max, sizeof(max));
	return lt_query_fail(err, 400, "the query time range exceeds the limit (query length: %s, limit: %s)",
			 len, max);
}

static int
parse_query(const char *text, int selector_only, struct lt_logql **q,
	    struct lt_query_error *err)
{
	char why[900];

	if (text == NULL)
		text = "";
	*q = selector_only ? lt_logql_parse_selector(text, strlen(text), why, sizeof(why))
			   : lt_logql_parse(text, strlen(text), why, sizeof(why));
	if (*q != NULL)
		return 0;
	return lt_query_fail(err, strcmp(why, "out of memory") == 0 ? 503 : 400,
			 "%s", why);
}

/* A log query or a metric query, for /query and /query_range. */
static int
parse_any(const char *text, struct lt_query_ast *ast, struct lt_query_error *err)
{
	char why[900];

	memset(ast, 0, sizeof(*ast));
	if (text == NULL)
		text = "";
	why[0] = '\0';
	if (lt_logql_parse_query(text, strlen(text), ast, why, sizeof(why)) == 0)
		return 0;
	return lt_query_fail(err, strcmp(why, "out of memory") == 0 ? 503 : 400,
			 "%s", why);
}

/* --- Endpoints --- */

struct run {
	const struct lt_options *o;
	const struct lt_query_engine *e;
	const char *tenant;
	const struct lt_form *form;
	int64_t now_ns;
	const struct lt_query_sink *sink;
	struct lt_query_error *err;
	struct lt_query_limits lim;
	struct lt_sql_range range;
};

/* Connects and runs fn, then closes. */
static int
with_engine(struct run *r, int (*fn)(struct run *r, struct lt_ch *ch,
				     const struct lt_sql_target *t, void *arg),
	    void *arg)
{
	struct lt_sql_target target;
	struct lt_ch *ch;
	int rc;

	memset(&target, 0, sizeof(target));
	ch = r->e->open(r->o, &r->lim, &target, r->err);
	if (ch == NULL)
		return -1;
	rc = fn(r, ch, &target, arg);
	r->e->close(ch);
	return rc;
}

struct logs_arg {
	struct lt_log_request req;
};

static int
call_logs(struct run *r, struct lt_ch *ch, const struct lt_sql_target *t,
	  void *arg)
{
	struct logs_arg *a = arg;

	return r->e->logs(ch, t, &r->lim, &a->req, r->sink, r->err);
}

static int
call_metric(struct run *r, struct lt_ch *ch, const struct lt_sql_target *t,
	    void *arg)
{
	return r->e->metric(ch, t, &r->lim, arg, r->sink, r->err);
}

/* A log query over the range, newest or oldest entries first. */
static int
run_log_range(struct run *r, const struct lt_logql *q, size_t limit,
	      int forward)
{
	struct logs_arg a;

	if (r->lim.max_entries > 0 && limit > r->lim.max_entries)
		return lt_query_fail(r->err, 400, "max entries limit per query exceeded, limit > max_entries_limit_per_query (%zu > %zu)",
				 limit, r->lim.max_entries);
	memset(&a, 0, sizeof(a));
	a.req.q = q;
	a.req.range = r->range;
	a.req.limit = limit;
	a.req.forward = forward;
	return with_engine(r, call_logs, &a);
}

/* A metric query evaluated at start, start + step, ... up to end. */
static int
run_metric_range(struct run *r, const struct lt_expr *e, int64_t step)
{
	struct lt_metric_request req;

	memset(&req, 0, sizeof(req));
	req.e = e;
	req.tenant = r->tenant;
	req.start_ns = r->range.start_ns;
	req.step_ns = step;
	req.n_steps = (size_t)((r->range.end_ns - r->range.start_ns) / step) + 1;
	return with_engine(r, call_metric, &req);
}

static int
run_query_range(struct run *r)
{
	struct lt_query_ast ast;
	size_t limit;
	int64_t step = 0;
	int forward, rc = -1;

	if (lt_query_bounds(r->form, r->now_ns, &r->range.start_ns,
			    &r->range.end_ns, r->err) < 0)
		return -1;
	if (r->range.end_ns < r->range.start_ns)
		return lt_query_fail(r->err, 400, "end timestamp must not be before or equal to start time");
	if (param_limit(r->form, &limit, r->err) < 0 ||
	    param_direction(r->form, &forward, r->err) < 0 ||
	    param_step(r->form, r->range.start_ns, r->range.end_ns, &step,
		       r->err) < 0 ||
	    parse_any(lt_form_get(r->form, "query"), &ast, r->err) < 0)
		return -1;
	if (check_length(&r->lim, r->range.start_ns, r->range.end_ns, r->err) < 0)
		goto out;
	if (ast.log != NULL)
		rc = run_log_range(r, ast.log, limit, forward);
	else
		rc = run_metric_range(r, ast.metric, step);
out:
	lt_query_ast_free(&ast);
	return rc;
}

static int
run_instant(struct run *r)
{
	struct lt_query_ast ast;
	struct lt_metric_request req;
	const char *t = lt_form_get(r->form, "time");
	size_t limit;
	int64_t ns = r->now_ns;
	int forward, rc;
	char why[512];

	if (param_limit(r->form, &limit, r->err) < 0)
		return -1;
	if (t != NULL && lt_query_parse_time(t, &ns, why, sizeof(why)) < 0)
		return lt_query_fail(r->err, 400, "%s", why);
	if (param_direction(r->form, &forward, r->err) < 0 ||
	    parse_any(lt_form_get(r->form, "query"), &ast, r->err) < 0)
		return -1;
	if (ast.log != NULL) {
		/* Loki 3 answers a log query only over a range. */
		lt_query_ast_free(&ast);
		return lt_query_fail(r->err, 400, "log queries are not supported as an instant query type, please change your query to a range query type");
	}
	memset(&req, 0, sizeof(req));
	req.e = ast.metric;
	req.tenant = r->tenant;
	req.start_ns = ns;
	req.step_ns = 1;   /* one step: any positive width */
	req.n_steps = 1;
	req.instant = 1;
	rc = with_engine(r, call_metric, &req);
	lt_query_ast_free(&ast);
	return rc;
}

struct labels_arg {
	const char *name;      /* NULL: label names */
	struct lt_logql *q;    /* NULL: no selector */
	struct lt_logql **groups;
	size_t n;
};

static int
call_labels(struct run *r, struct lt_ch *ch, const struct lt_sql_target *t,
	    void *arg)
{
	struct labels_arg *a = arg;

	if (a->name != NULL)
		return r->e->label_values(ch, t, a->name, a->q, &r->range,
					  r->sink, r->err);
	return r->e->labels(ch, t, a->q, &r->range, r->sink, r->err);
}

static int
run_labels(struct run *r, const char *name)
{
	struct labels_arg a = {name, NULL, NULL, 0};
	const char *query = lt_form_get(r->form, "query");
	int rc = -1;

	if (lt_query_bounds(r->form, r->now_ns, &r->range.start_ns,
			    &r->range.end_ns, r->err) < 0 ||
	    (query != NULL && parse_query(query, 1, &a.q, r->err) < 0))
		return -1;
	if (check_length(&r->lim, r->range.start_ns, r->range.end_ns, r->err) == 0)
		rc = with_engine(r, call_labels, &a);
	lt_logql_free(a.q);
	return rc;
}

static int
call_series(struct run *r, struct lt_ch *ch, const struct lt_sql_target *t,
	    void *arg)
{
	struct labels_arg *a = arg;

	return r->e->series(ch, t, &r->lim,
			    (const struct lt_logql *const *)a->groups, a->n,
			    &r->range, r->sink, r->err);
}

static int
cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* Whether s is "{}" once its spaces are taken out. */
static int
is_empty_selector(const char *s)
{
	char c[3];
	size_t n = 0;

	for (; *s != '\0'; s++) {
		if (*s == ' ')
			continue;
		if (n == 2)
			return 0;
		c[n++] = *s;
	}
	return n == 2 && c[0] == '{' && c[1] == '}';
}

/* The values of match[] and match, each once, sorted, as Loki's
 * ParseSeriesQuery; a lone "{}" is the same as none. */
static int
series_matchers(const struct lt_form *form, const char ***out, size_t *n)
{
	const char **v;
	size_t i, k = 0;

	*out = NULL;
	*n = 0;
	v = reallocarray(NULL, form->n ? form->n : 1, sizeof(*v));
	if (v == NULL)
		return -1;
	for (i = 0; i < form->n; i++)
		if (strcmp(form->fields[i].name, "match[]") == 0 ||
		    strcmp(form->fields[i].name, "match") == 0)
			v[k++] = form->fields[i].value;
	qsort(v, k, sizeof(*v), cmp_str);
	for (i = 0, *n = 0; i < k; i++)
		if (*n == 0 || strcmp(v[*n - 1], v[i]) != 0)
			v[(*n)++] = v[i];
	if (*n == 1 && is_empty_selector(v[0]))
		*n = 0;
	*out = v;
	return 0;
}

static int
run_series(struct run *r)
{
	struct labels_arg a = {NULL, NULL, NULL, 0};
	const char **m = NULL;
	size_t n = 0, i;
	int rc = -1;

	if (lt_query_bounds(r->form, r->now_ns, &r->range.start_ns,
			    &r->range.end_ns, r->err) < 0)
		return -1;
	if (series_matchers(r->form, &m, &n) < 0)
		return lt_query_no_memory(r->err);
	a.groups = calloc(n ? n : 1, sizeof(*a.groups));
	if (a.groups == NULL) {
		(void)lt_query_no_memory(r->err);
		goto out;
	}
	for (i = 0; i < n; i++, a.n++)
		if (parse_query(m[i], 1, &a.groups[i], r->err) < 0)
			goto out;
	if (check_length(&r->lim, r->range.start_ns, r->range.end_ns, r->err) == 0)
		rc = with_engine(r, call_series, &a);
out:
	for (i = 0; i < a.n; i++)
		lt_logql_free(a.groups[i]);
	free(a.groups);
	free(m);
	return rc;
}

static int
call_stats(struct run *r, struct lt_ch *ch, const struct lt_sql_target *t,
	   void *arg)
{
	struct labels_arg *a = arg;

	return r->e->index_stats(ch, t, a->q, &r->range, r->sink, r->err);
}

static int
run_index_stats(struct run *r)
{
	struct labels_arg a = {NULL, NULL, NULL, 0};
	int rc = -1;

	if (lt_query_bounds(r->form, r->now_ns, &r->range.start_ns,
			    &r->range.end_ns, r->err) < 0)
		return -1;
	if (r->range.end_ns < r->range.start_ns)
		return lt_query_fail(r->err, 400, "end timestamp must not be before or equal to start time");
	if (parse_query(lt_form_get(r->form, "query"), 0, &a.q, r->err) < 0)
		return -1;
	if (check_length(&r->lim, r->range.start_ns, r->range.end_ns, r->err) == 0)
		rc = with_engine(r, call_stats, &a);
	lt_logql_free(a.q);
	return rc;
}

static int
run_buildinfo(struct run *r)
{
	char json[512];
	int n;

	/* Loki's fields; the version is Logthra's own. */
	n = snprintf(json, sizeof(json),
		     "{\"version\":\"%s\",\"revision\":\"\",\"branch\":\"\","
		     "\"buildUser\":\"\",\"buildDate\":\"\",\"goVersion\":\"\"}",
		     PACKAGE_VERSION);
	if (n < 0 || (size_t)n >= sizeof(json) ||
	    r->sink->write(r->sink->ctx, json, (size_t)n) < 0)
		return lt_query_fail(r->err, 500, "could not write the answer");
	return 0;
}

/* --- Grafana's endpoints: volume, detected labels and fields, patterns --- */

/* seriesvolume.DefaultLimit, and loghttp's defaults for detected fields. */
#define VOLUME_DEFAULT_LIMIT 100
#define FIELDS_DEFAULT_LINE_LIMIT 100
#define FIELDS_DEFAULT_LIMIT 1000

/* An optional positive integer parameter, as Loki's parseInt and its
 * "limit must be a positive value"; zero is the default when
 * zero_default is set (volumeLimit). */
static int
param_positive(const struct lt_form *form, const char *name, int64_t def,
	       int zero_default, size_t *out, struct lt_query_error *err)
{
	const char *s = lt_form_get(form, name);
	char why[256];
	int64_t v = def;

	if (s != NULL && go_parse_int(s, "Atoi", &v, why, sizeof(why)) < 0)
		return lt_query_fail(err, 400, "%s", why);
	if (v == 0 && zero_default)
		v = def;
	if (v <= 0)
		return lt_query_fail(err, 400, "limit must be a positive value");
	*out = (uint64_t)v > SIZE_MAX ? SIZE_MAX : (size_t)v;
	return 0;
}

static int
check_end(struct run *r)
{
	if (r->range.end_ns < r->range.start_ns)
		return lt_query_fail(r->err, 400, "end timestamp must not be before or equal to start time");
	return 0;
}

/* A selector that may be "{}" (every stream: *q stays NULL), as Loki's
 * seriesvolume.MatchAny; "" is none when allow_none. */
static int
param_selector(struct run *r, int allow_none, struct lt_logql **q)
{
	const char *text = lt_form_get(r->form, "query");

	*q = NULL;
	if ((text == NULL && allow_none) ||
	    (text != NULL && is_empty_selector(text)))
		return 0;
	return parse_query(text, 1, q, r->err);
}

struct drill_arg {
	struct lt_volume_request volume;
	struct lt_fields_request fields;
	struct lt_logql *q;
	char **targets;
	size_t n_targets;
};

static void
drill_arg_free(struct drill_arg *a)
{
	size_t i;

	for (i = 0; i < a->n_targets; i++)
		free(a->targets[i]);
	free(a->targets);
	lt_logql_free(a->q);
}

/* targetLabels: names separated by commas, as strings.Split. */
static int
param_targets(struct run *r, struct drill_arg *a)
{
	const char *s = lt_form_get(r->form, "targetLabels"), *comma;
	size_t n = 1, i;

	if (s == NULL)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		n += s[i] == ',';
	if ((a->targets = calloc(n, sizeof(*a->targets))) == NULL)
		return lt_query_no_memory(r->err);
	for (; a->n_targets < n; s = comma + 1) {
		comma = strchr(s, ',');
		if (comma == NULL)
			comma = s + strlen(s);
		a->targets[a->n_targets] = strndup(s, (size_t)(comma - s));
		if (a->targets[a->n_targets] == NULL)
			return lt_query_no_memory(r->err);
		a->n_targets++;
	}
	return 0;
}

static int
param_aggregate_by(struct run *r, int *by_labels)
{
	const char *s = lt_form_get(r->form, "aggregateBy");

	*by_labels = 0;
	if (s == NULL || strcmp(s, "series") == 0)
		return 0;
	if (strcmp(s, "labels") == 0) {
		*by_labels = 1;
		return 0;
	}
	return lt_query_fail(r->err, 400, "invalid aggregation option");
}

static int
call_volume(struct run *r, struct lt_ch *ch, const struct lt_sql_target *t,
	    void *arg)
{
	struct drill_arg *a = arg;

	return r->e->volume(ch, t, &r->lim, &a->volume, r->sink, r->err);
}

/* The parameters of /index/volume_range as ParseRangeQuery reads them:
 * its step, which Loki carries in milliseconds. */
static int
volume_range_params(struct run *r, int64_t *step)
{
	int forward;

	if (lt_query_bounds(r->form, r->now_ns, &r->range.start_ns,
			    &r->range.end_ns, r->err) < 0 ||
	    check_end(r) < 0 || param_direction(r->form, &forward, r->err) < 0 ||
	    param_step(r->form, r->range.start_ns, r->range.end_ns, step,
			     r->err) < 0)
		return -1;
	*step = *step / NS_PER_MS * NS_PER_MS;
	return 0;
}

/* /index/volume's, as ParseInstantQuery and then bounds() read them. */
static int
volume_instant_params(struct run *r, int *by_labels)
{
	const char *t = lt_form_get(r->form, "time");
	char why[512];
	int64_t ns;
	int forward;

	if (t != NULL && lt_query_parse_time(t, &ns, why, sizeof(why)) < 0)
		return lt_query_fail(r->err, 400, "%s", why);
	if (param_direction(r->form, &forward, r->err) < 0 ||
	    param_aggregate_by(r, by_labels) < 0 ||
	    lt_query_bounds(r->form, r->now_ns, &r->range.start_ns,
			    &r->range.end_ns, r->err) < 0)
		return -1;
	return check_end(r);
}

static int
run_volume(struct run *r, int range)
{
	struct drill_arg a;
	int64_t step = 0;
	int by_labels = 0, rc = -1;

	memset(&a, 0, sizeof(a));
	if (param_positive(r->form, "limit", VOLUME_DEFAULT_LIMIT, 1,
			   &a.volume.limit, r->err) < 0)
		return -1;
	if (range ? volume_range_params(r, &step) < 0 ||
		    param_aggregate_by(r, &by_labels) < 0 :
		    volume_instant_params(r, &by_labels) < 0)
		return -1;
	if (param_targets(r, &a) < 0 || param_selector(r, 0, &a.q) < 0 ||
	    check_length(&r->lim, r->range.start_ns, r->range.end_ns, r->err) < 0)
		goto out;
	a.volume.q = a.q;
	a.volume.range = r->range;
	a.volume.step_ns = step;
	a.volume.target_labels = (const char *const *)a.targets;
	a.volume.n_target_labels = a.n_targets;
	a.volume.aggregate_by_labels = by_labels;
	rc = with_engine(r, call_volume, &a);
out:
	drill_arg_free(&a);
	return rc;
}

static int
call_detected_labels(struct run *r, struct lt_ch *ch,
		     const struct lt_sql_target *t, void *arg)
{
	struct drill_arg *a = arg;

	return r->e->detected_labels(ch, t, &r->lim, a->q, &r->range, r->sink,
				     r->err);
}

static int
run_detected_labels(struct run *r)
{
	struct drill_arg a;
	int rc = -1;

	memset(&a, 0, sizeof(a));
	if (lt_query_bounds(r->form, r->now_ns, &r->range.start_ns,
			    &r->range.end_ns, r->err) < 0 || check_end(r) < 0 ||
	    param_selector(r, 1, &a.q) < 0)
		return -1;
	if (check_length(&r->lim, r->range.start_ns, r->range.end_ns, r->err) == 0)
		rc = with_engine(r, call_detected_labels, &a);
	drill_arg_free(&a);
	return rc;
}

static int
call_detected_fields(struct run *r, struct lt_ch *ch,
		     const struct lt_sql_target *t, void *arg)
{
	struct drill_arg *a = arg;

	return r->e->detected_fields(ch, t, &r->lim, &a->fields, r->sink, r->err);
}

/* ParseDetectedFieldsQuery, then the query frontend's checks. */
static int
run_detected_fields(struct run *r, const char *values_of)
{
	struct drill_arg a;
	const char *limit = lt_form_get(r->form, "limit");
	size_t line_limit, field_limit;
	int rc = -1;

	memset(&a, 0, sizeof(a));
	if (lt_query_bounds(r->form, r->now_ns, &r->range.start_ns,
			    &r->range.end_ns, r->err) < 0 || check_end(r) < 0 ||
	    param_positive(r->form, "line_limit", FIELDS_DEFAULT_LINE_LIMIT, 0,
			   &line_limit, r->err) < 0 ||
	    /* field_limit: Loki's older name, read when limit is not given */
	    param_positive(r->form, limit != NULL ? "limit" : "field_limit",
			   FIELDS_DEFAULT_LIMIT, 0, &field_limit, r->err) < 0 ||
	    param_step(r->form, r->range.start_ns, r->range.end_ns, NULL, r->err) < 0 ||
	    parse_query(lt_form_get(r->form, "query"), 0, &a.q, r->err) < 0)
		return -1;
	if (r->lim.max_entries > 0 && line_limit > r->lim.max_entries) {
		(void)lt_query_fail(r->err, 400, "max entries limit per query exceeded, limit > max_entries_limit_per_query (%zu > %zu)",
				line_limit, r->lim.max_entries);
		goto out;
	}
	if (check_length(&r->lim, r->range.start_ns, r->range.end_ns, r->err) < 0)
		goto out;
	a.fields.q = a.q;
	a.fields.range = r->range;
	a.fields.line_limit = line_limit;
	a.fields.field_limit = field_limit;
	a.fields.values_of = values_of;
	rc = with_engine(r, call_detected_fields, &a);
out:
	drill_arg_free(&a);
	return rc;
}

/* Loki's patterns come from its pattern ingester, which has no
 * counterpart here: the answer is Loki's shape with no pattern. */
static int
run_patterns(struct run *r)
{
	static const char empty[] = "{\"status\":\"success\",\"data\":[]}";

	if (lt_query_bounds(r->form, r->now_ns, &r->range.start_ns,
			    &r->range.end_ns, r->err) < 0 || check_end(r) < 0)
		return -1;
	if (r->sink->write(r->sink->ctx, empty, sizeof(empty) - 1) != 0)
		return lt_query_fail(r->err, 500, "could not write the answer");
	return 0;
}

int
lt_query_run(const struct lt_options *o, const struct lt_query_engine *e,
	     enum lt_query_endpoint ep, const char *label_name,
	     const char *tenant, const struct lt_form *form, int64_t now_ns,
	     const struct lt_query_sink *sink, struct lt_query_error *err)
{
	struct run r;

	memset(&r, 0, sizeof(r));
	r.o = o;
	r.e = e;
	r.tenant = tenant;
	r.form = form;
	r.now_ns = now_ns;
	r.sink = sink;
	r.err = err;
	r.range.tenant = tenant;
	err->status = 0;
	err->message[0] = '\0';
	if (tenant != NULL)
		lt_options_query_limits_for(o, tenant, &r.lim);
	switch (ep) {
	case LT_EP_QUERY_RANGE:
		return run_query_range(&r);
	case LT_EP_QUERY:
		return run_instant(&r);
	case LT_EP_LABELS:
		return run_labels(&r, NULL);
	case LT_EP_LABEL_VALUES:
		return run_labels(&r, label_name);
	case LT_EP_SERIES:
		return run_series(&r);
	case LT_EP_INDEX_STATS:
		return run_index_stats(&r);
	case LT_EP_BUILDINFO:
		return run_buildinfo(&r);
	case LT_EP_READY:
		return lt_query_fail(err, 200, "ready");
	case LT_EP_VOLUME:
	case LT_EP_VOLUME_RANGE:
		return run_volume(&r, ep == LT_EP_VOLUME_RANGE);
	case LT_EP_DETECTED_LABELS:
		return run_detected_labels(&r);
	case LT_EP_DETECTED_FIELDS:
		return run_detected_fields(&r, NULL);
	case LT_EP_DETECTED_FIELD_VALUES:
		return run_detected_fields(&r, label_name);
	case LT_EP_PATTERNS:
		return run_patterns(&r);
	case LT_EP_TAIL:
		/* Served over its own connection (query_tail.c). */
		return lt_query_fail(err, 400, "websocket: the client is not using the websocket protocol: 'upgrade' token not found in 'Connection' header");
	case LT_EP_NONE:
		break;
	}
	return lt_query_fail(err, 404, "404 page not found");
}

/* Whether a Content-Type is form encoding, whatever its parameters. */
static int
is_form_type(const char *ct)
{
	static const char type[] = "application/x-www-form-urlencoded";
	size_t n = sizeof(type) - 1;

	if (ct == NULL || strncasecmp(ct, type, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

int
lt_query_handle(const struct lt_options *o, const struct lt_query_engine *e,
		const struct lt_request *r, const char *tenant, int64_t now_ns,
		const struct lt_query_sink *sink, struct lt_query_error *err)
{
	struct lt_form form;
	enum lt_query_endpoint ep;
	char name[256], why[256];
	int rc = -1;

	lt_form_init(&form);
	ep = lt_query_route(r->path, name, sizeof(name));
	if (strcmp(r->method, "POST") == 0 && is_form_type(r->content_type) &&
	    lt_form_parse(&form, (const char *)r->body.data, r->body.len, why,
			  sizeof(why)) < 0)
		goto bad_form;
	if (r->query != NULL &&
	    lt_form_parse(&form, r->query, strlen(r->query), why, sizeof(why)) < 0)
		goto bad_form;
	rc = lt_query_run(o, e, ep, name, tenant, &form, now_ns, sink, err);
	goto out;
bad_form:
	(void)lt_query_fail(err, strcmp(why, "out of memory") == 0 ? 503 : 400,
			"%s", why);
out:
	lt_form_free(&form);
	return rc;
}

/* --- Serving --- */

static int
stream_sink_write(void *ctx, const void *data, size_t len)
{
	return lt_http_stream_write(ctx, data, len);
}

static void
log_answer(const struct lt_request *r, int status, const char *message)
{
	if (status >= 500)
		lt_error("%s: answered %d: %s", r->path, status, message);
	else if (status >= 400)
		lt_info("%s: answered %d: %s", r->path, status, message);
}

/* Runs the request into stream; when it fails before anything was
 * written, fills resp instead.  Returns 0 when the stream carries the
 * answer. */
static int
answer(const struct lt_options *o, const struct lt_query_engine *e,
       const struct lt_request *r, const char *tenant,
       struct lt_http_stream *stream, struct lt_response *resp)
{
	struct lt_query_sink sink = {stream_sink_write, stream};
	struct lt_query_error *err;
	int rc;

	err = malloc(sizeof(*err));
	if (err == NULL) {
		(void)lt_response_set(resp, 503, "out of memory; try again later");
		return -1;
	}
	rc = lt_query_handle(o, e, r, tenant, lt_now_ns(), &sink, err);
	if (rc == 0) {
		free(err);
		return lt_http_stream_end(stream) < 0 ? 1 : 0;
	}
	if (stream->started) {
		/* Too late for a status: the client sees a cut answer. */
		lt_error("%s: the answer failed after it started: %s", r->path,
			 err->message);
		stream->failed = 1;
		free(err);
		return 1;
	}
	stream->len = 0;
	if (err->status == 0)
		err->status = 500;
	(void)lt_response_set(resp, err->status, "%s", err->message);
	free(err);
	return -1;
}

int
lt_query_serve_conn(struct lt_options *o, const struct lt_query_engine *e,
		    struct lt_conn *c, struct lt_request *r)
{
	struct lt_http_stream *stream = NULL;
	struct lt_response resp = {0};
	const char *tenant;
	char name[256];
	int keep = 0, rc;

	if (lt_query_check_head(o, r, &tenant, &resp) < 0)
		goto refuse;
	if (lt_query_route(r->path, name, sizeof(name)) == LT_EP_TAIL)
		return lt_query_serve_tail(o, e, c, r, tenant);
	if (lt_http_read_body(c, r, &o->http, &resp) < 0)
		goto refuse;
	stream = malloc(sizeof(*stream));
	if (stream == NULL) {
		(void)lt_response_set(&resp, 503, "out of memory; try again later");
		goto refuse;
	}
	lt_http_stream_init(stream, c->out_fd, 0, r->http10, r->keep_alive,
			    "application/json; charset=utf-8");
	rc = answer(o, e, r, tenant, stream, &resp);
	if (rc >= 0) {
		keep = rc == 0 && lt_http_stream_keep_alive(stream);
		free(stream);
		return keep;
	}
	free(stream);
	keep = r->keep_alive;
	log_answer(r, resp.status, resp.message);
	if (lt_http_write_response(c, &resp, keep) < 0)
		keep = 0;
	return keep;
refuse:
	log_answer(r, resp.status, resp.message);
	/* The body may be unread: the connection cannot go on. */
	if (lt_http_write_response(c, &resp, 0) == 0)
		lt_conn_linger(c, 2000);
	return 0;
}

void
lt_query_serve_cgi(const struct lt_options *o, const struct lt_query_engine *e,
		   struct lt_request *r, int in_fd, int out_fd)
{
	struct lt_http_stream *stream = NULL;
	struct lt_response resp = {0};
	const char *tenant;
	char name[256];
	int body_read = 0;

	if (lt_query_check_head(o, r, &tenant, &resp) < 0)
		goto refuse;
	if (lt_query_route(r->path, name, sizeof(name)) == LT_EP_TAIL) {
		/* No WebSocket through CGI: the web server owns the
		 * connection, and fcgiwrap buffers the answer. */
		lt_query_tail_cgi_refusal(&resp);
		goto refuse;
	}
	if (lt_cgi_read_body(r, in_fd, &o->http, &resp) < 0)
		goto refuse;
	body_read = 1;
	stream = malloc(sizeof(*stream));
	if (stream == NULL) {
		(void)lt_response_set(&resp, 503, "out of memory; try again later");
		goto refuse;
	}
	lt_http_stream_init(stream, out_fd, 1, 0, 0,
			    "application/json; charset=utf-8");
	if (answer(o, e, r, tenant, stream, &resp) >= 0) {
		free(stream);
		return;
	}
	free(stream);
refuse:
	log_answer(r, resp.status, resp.message);
	if (lt_cgi_write_response(out_fd, &resp) < 0)
		lt_error("could not write the CGI response: %m");
	else if (!body_read)
		lt_cgi_drain(in_fd, &o->http);
}
