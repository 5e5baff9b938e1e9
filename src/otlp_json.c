/* OTLP logs: the JSON encoding rewritten as protobuf, and the answers
 * (ExportLogsServiceResponse, google.rpc.Status) in both (otlp.h).
 *
 * The JSON request is read with jansson, then walked message by message
 * in the order of the .proto's field numbers, each field looked up by its
 * lowerCamelCase name or the proto's own, so that what comes out is the
 * request as a protobuf encoder would write it and one reader (otlp.c)
 * handles both encodings.  Fields left at their proto3 default are not
 * written, except inside AnyValue's oneof, where the choice itself is the
 * value.  A nested message is written after a 5-byte gap for its length,
 * then moved back over what the length did not need: one buffer, no
 * scratch copies, at most 32 GiB per message. */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base64.h"
#include "labels.h"
#include "otlp.h"
#include "push_int.h"

/* Room for the JSON path of an error: field names are this code's own,
 * so the path is bounded by the nesting: 32 AnyValues of at most
 * ".kvlist_value.values[<20 digits>].value" and the messages around. */
#define PATH_MAX_BYTES 4096
/* A longer path is shown as its first and last PATH_SHOWN bytes, so
 * that what is wrong fits in the message. */
#define PATH_SHOWN 100
/* The gap a nested message's length is written into: 5 varint bytes
 * hold lengths below 2^35. */
#define LEN_GAP 5

/* Protobuf wire types. */
#define WT_VARINT 0
#define WT_FIXED64 1
#define WT_LEN 2
#define WT_FIXED32 5

struct conv {
	struct lt_buf *out;
	char path[PATH_MAX_BYTES];
	size_t plen;
	char *err;
	size_t errlen;
	int oom;
};

/* An integer as read from JSON: its sign and magnitude, so that both
 * int64's negatives and fixed64's values over INT64_MAX fit. */
struct num {
	int neg;
	uint64_t mag;
};

static int fail(struct conv *c, const char *fmt, ...) LT_PRINTF(2, 3);

/* "<path>: <what>", or only what at the top.  Returns -1. */
static int
fail(struct conv *c, const char *fmt, ...)
{
	va_list ap;
	int n = 0;

	if (c->err == NULL || c->errlen == 0)
		return -1;
	if (c->plen > 2 * PATH_SHOWN)
		n = snprintf(c->err, c->errlen, "%.*s...%s: ", PATH_SHOWN,
			     c->path, c->path + c->plen - PATH_SHOWN);
	else if (c->plen > 0)
		n = snprintf(c->err, c->errlen, "%s: ", c->path);
	if (n < 0 || (size_t)n >= c->errlen)
		return -1;
	va_start(ap, fmt);
	(void)vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static int
oom(struct conv *c)
{
	c->oom = 1;
	if (c->err != NULL && c->errlen > 0)
		(void)snprintf(c->err, c->errlen, "out of memory");
	return -1;
}

/* Counts n more bytes of the path, which snprintf() wrote or cut. */
static void
path_grow(struct conv *c, int n)
{
	size_t room = sizeof(c->path) - c->plen - 1;

	if (n > 0)
		c->plen += (size_t)n < room ? (size_t)n : room;
}

/* Appends ".name" or "[i]" to the path; returns the length to restore. */
static size_t
path_field(struct conv *c, const char *name)
{
	size_t saved = c->plen;

	path_grow(c, snprintf(c->path + c->plen, sizeof(c->path) - c->plen,
			      "%s%s", c->plen > 0 ? "." : "", name));
	return saved;
}

static size_t
path_index(struct conv *c, size_t i)
{
	size_t saved = c->plen;

	path_grow(c, snprintf(c->path + c->plen, sizeof(c->path) - c->plen,
			      "[%zu]", i));
	return saved;
}

static void
path_restore(struct conv *c, size_t saved)
{
	c->plen = saved;
	c->path[saved] = '\0';
}

static const char *
type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER:
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: break;
	}
	return "null";
}

static int
wrong_type(struct conv *c, const json_t *v, const char *want)
{
	return fail(c, "expected %s, found %s", want, type_name(v));
}

/* A string value quoted and shortened for a message. */
static const char *
quoted(char *buf, const json_t *v)
{
	return lt_pp_quote(buf, json_string_value(v), json_string_length(v));
}

/* ---- protobuf output ---- */

static int
put_varint(struct conv *c, uint64_t v)
{
	return lt_buf_append_varint(c->out, v) < 0 ? oom(c) : 0;
}

static int
put_tag(struct conv *c, uint32_t field, int wire)
{
	return put_varint(c, (uint64_t)field << 3 | (uint64_t)wire);
}

static int
put_varint_field(struct conv *c, uint32_t field, uint64_t v)
{
	if (put_tag(c, field, WT_VARINT) < 0)
		return -1;
	return put_varint(c, v);
}

static int
put_fixed64_field(struct conv *c, uint32_t field, uint64_t v)
{
	if (put_tag(c, field, WT_FIXED64) < 0)
		return -1;
	return lt_buf_append_u64le(c->out, v) < 0 ? oom(c) : 0;
}

static int
put_fixed32_field(struct conv *c, uint32_t field, uint32_t v)
{
	if (put_tag(c, field, WT_FIXED32) < 0)
		return -1;
	return lt_buf_append_u32le(c->out, v) < 0 ? oom(c) : 0;
}

static int
put_bytes_field(struct conv *c, uint32_t field, const void *p, size_t n)
{
	if (put_tag(c, field, WT_LEN) < 0 || put_varint(c, n) < 0)
		return -1;
	return lt_buf_append(c->out, p, n) < 0 ? oom(c) : 0;
}

/* Starts a nested message: its tag, then a gap for its length.  *start
 * is where its body begins. */
static int
msg_begin(struct conv *c, uint32_t field, size_t *start)
{
	static const unsigned char gap[LEN_GAP];

	if (put_tag(c, field, WT_LEN) < 0)
		return -1;
	if (lt_buf_append(c->out, gap, sizeof(gap)) < 0)
		return oom(c);
	*start = c->out->len;
	return 0;
}

/* Writes the length into the gap and moves the body back to close it. */
static int
msg_end(struct conv *c, size_t start)
{
	unsigned char len[10];
	size_t body = c->out->len - start, k = 0;
	uint64_t v = body;
	unsigned char *gap = c->out->data + start - LEN_GAP;

	do {
		len[k++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v > 0);
	if (k > LEN_GAP)
		return fail(c, "message of %zu bytes is too large", body);
	memcpy(gap, len, k);
	if (body > 0)
		memmove(gap + k, c->out->data + start, body);
	c->out->len = start - LEN_GAP + k + body;
	return 0;
}

/* ---- fields ---- */

/* Field camel (or snake, its proto name, when it differs) of obj: *v is
 * NULL when it is absent or null, *name the name it is given by. */
static int
lookup(struct conv *c, json_t *obj, const char *camel, const char *snake,
       json_t **v, const char **name)
{
	json_t *a = json_object_get(obj, camel);
	json_t *b = snake != NULL ? json_object_get(obj, snake) : NULL;

	if (a != NULL && json_is_null(a))
		a = NULL;
	if (b != NULL && json_is_null(b))
		b = NULL;
	if (a != NULL && b != NULL)
		return fail(c, "both %s and %s are given", camel, snake);
	*v = a != NULL ? a : b;
	*name = b != NULL ? snake : camel;
	return 0;
}

/* The same, with the field's name added to the path, which *saved
 * restores. */
static int
field(struct conv *c, json_t *obj, const char *camel, const char *snake,
      json_t **v, size_t *saved)
{
	const char *name;

	if (lookup(c, obj, camel, snake, v, &name) < 0)
		return -1;
	*saved = path_field(c, name);
	return 0;
}

/* Whether s[0..n) is a JSON number. */
static int
number_syntax(const char *s, size_t n)
{
	size_t i = 0, d;

	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0')
		i++;
	else if (i < n && s[i] >= '1' && s[i] <= '9')
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
	else
		return 0;
	if (i < n && s[i] == '.') {
		for (d = ++i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			continue;
		if (i == d)
			return 0;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		if (++i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			continue;
		if (i == d)
			return 0;
	}
	return i == n;
}

/* A JSON number given as a string, as a double; -1 when it is not one.
 * The string holds no NUL, being a number, so strtod() sees all of it. */
static int
string_double(const char *s, size_t n, double *d)
{
	char buf[128];

	if (n >= sizeof(buf) || !number_syntax(s, n))
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	*d = strtod(buf, NULL);
	return 0;
}

/* A double that must be an integer below 2^64 in magnitude. */
static int
real_num(struct conv *c, double d, struct num *x)
{
	if (!isfinite(d) || d != trunc(d))
		return fail(c, "%g is not an integer", d);
	if (fabs(d) >= 18446744073709551616.0)
		return fail(c, "%g is out of range", d);
	x->neg = d < 0;
	x->mag = (uint64_t)fabs(d);
	return 0;
}

/* An integer given as a string holding a JSON number, as protobuf's
 * JSON mapping has it: plain digits are read exactly (a fixed64 may be
 * over INT64_MAX), a fraction or an exponent as a double. */
static int
string_num(struct conv *c, const json_t *v, struct num *x)
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v), i;
	char q[LT_QUOTE_BUF];
	double d;

	if (!number_syntax(s, n))
		return fail(c, "%s is not an integer", quoted(q, v));
	x->neg = s[0] == '-';
	x->mag = 0;
	for (i = x->neg ? 1 : 0; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		if (x->mag > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return fail(c, "%s is out of range", quoted(q, v));
		x->mag = x->mag * 10 + (uint64_t)(s[i] - '0');
	}
	if (i == n)
		return 0;
	if (string_double(s, n, &d) < 0)
		return fail(c, "%s is too long a number", quoted(q, v));
	return real_num(c, d, x);
}

/* An integer: a JSON number or a string holding one. */
static int
get_num(struct conv *c, const json_t *v, struct num *x)
{
	json_int_t i;

	if (json_is_integer(v)) {
		i = json_integer_value(v);
		x->neg = i < 0;
		x->mag = i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;
		return 0;
	}
	if (json_is_real(v))
		return real_num(c, json_real_value(v), x);
	if (json_is_string(v))
		return string_num(c, v, x);
	return wrong_type(c, v, "an integer");
}

static const char *
num_text(char *buf, size_t len, const struct num *x)
{
	(void)snprintf(buf, len, "%s%llu", x->neg && x->mag > 0 ? "-" : "",
		       (unsigned long long)x->mag);
	return buf;
}

/* An unsigned integer up to max. */
static int
get_unsigned(struct conv *c, const json_t *v, uint64_t max, uint64_t *out)
{
	struct num x;
	char t[32];

	if (get_num(c, v, &x) < 0)
		return -1;
	if ((x.neg && x.mag > 0) || x.mag > max)
		return fail(c, "%s is out of range (0 to %llu)",
			    num_text(t, sizeof(t), &x), (unsigned long long)max);
	*out = x.mag;
	return 0;
}

/* A signed integer within [-max - 1, max], as its 64-bit two's
 * complement, which is how protobuf writes int32 and int64. */
static int
get_signed(struct conv *c, const json_t *v, uint64_t max, uint64_t *out)
{
	struct num x;
	char t[32];

	if (get_num(c, v, &x) < 0)
		return -1;
	if (x.neg ? x.mag > max + 1 : x.mag > max)
		return fail(c, "%s is out of range (-%llu to %llu)",
			    num_text(t, sizeof(t), &x),
			    (unsigned long long)max + 1,
			    (unsigned long long)max);
	*out = x.neg ? (uint64_t)0 - x.mag : x.mag;
	return 0;
}

/* A string field, left out when empty. */
static int
string_field(struct conv *c, json_t *obj, const char *camel,
	     const char *snake, uint32_t no)
{
	json_t *v;
	size_t saved;
	int rc = 0;

	if (field(c, obj, camel, snake, &v, &saved) < 0)
		return -1;
	if (v != NULL && !json_is_string(v))
		rc = wrong_type(c, v, "a string");
	else if (v != NULL && json_string_length(v) > 0)
		rc = put_bytes_field(c, no, json_string_value(v),
				     json_string_length(v));
	path_restore(c, saved);
	return rc;
}

/* A uint32 (varint), fixed32 or fixed64 field, left out when 0. */
static int
unsigned_field(struct conv *c, json_t *obj, const char *camel,
	       const char *snake, uint32_t no, int wire)
{
	uint64_t max = wire == WT_FIXED64 ? UINT64_MAX : UINT32_MAX, u = 0;
	json_t *v;
	size_t saved;
	int rc = 0;

	if (field(c, obj, camel, snake, &v, &saved) < 0)
		return -1;
	if (v != NULL)
		rc = get_unsigned(c, v, max, &u);
	if (rc == 0 && u != 0) {
		if (wire == WT_FIXED64)
			rc = put_fixed64_field(c, no, u);
		else if (wire == WT_FIXED32)
			rc = put_fixed32_field(c, no, (uint32_t)u);
		else
			rc = put_varint_field(c, no, u);
	}
	path_restore(c, saved);
	return rc;
}

/* SeverityNumber's names, by value. */
static const char *const severity_names[] = {
	"UNSPECIFIED", "TRACE", "TRACE2", "TRACE3", "TRACE4", "DEBUG",
	"DEBUG2", "DEBUG3", "DEBUG4", "INFO", "INFO2", "INFO3", "INFO4",
	"WARN", "WARN2", "WARN3", "WARN4", "ERROR", "ERROR2", "ERROR3",
	"ERROR4", "FATAL", "FATAL2", "FATAL3", "FATAL4",
};

/* The value of a SeverityNumber name (SEVERITY_NUMBER_INFO), or -1. */
static int
severity_value(const json_t *v)
{
	static const char prefix[] = "SEVERITY_NUMBER_";
	const char *s = json_string_value(v);
	size_t n = json_string_length(v), p = sizeof(prefix) - 1, i;

	if (n <= p || memcmp(s, prefix, p) != 0)
		return -1;
	for (i = 0; i < sizeof(severity_names) / sizeof(severity_names[0]);
	     i++)
		if (strlen(severity_names[i]) == n - p &&
		    memcmp(severity_names[i], s + p, n - p) == 0)
			return (int)i;
	return -1;
}

/* severityNumber: an int32 (proto3 enums are open) or a value's name. */
static int
severity_field(struct conv *c, json_t *obj)
{
	char q[LT_QUOTE_BUF];
	uint64_t u = 0;
	json_t *v;
	size_t saved;
	int rc = 0, named;

	if (field(c, obj, "severityNumber", "severity_number", &v, &saved) < 0)
		return -1;
	if (v != NULL && json_is_string(v)) {
		if ((named = severity_value(v)) < 0)
			rc = fail(c, "%s is not a SeverityNumber", quoted(q, v));
		u = named < 0 ? 0 : (uint64_t)named;
	} else if (v != NULL) {
		rc = get_signed(c, v, INT32_MAX, &u);
	}
	if (rc == 0 && u != 0)
		rc = put_varint_field(c, 2, u);
	path_restore(c, saved);
	return rc;
}

/* traceId or spanId: n bytes in hex; an empty string is no id. */
static int
id_field(struct conv *c, json_t *obj, const char *camel, const char *snake,
	 uint32_t no, size_t n)
{
	unsigned char id[16];
	char q[LT_QUOTE_BUF];
	const char *s;
	json_t *v;
	size_t saved, i;
	int rc = 0, hi, lo;

	if (field(c, obj, camel, snake, &v, &saved) < 0)
		return -1;
	if (v != NULL && !json_is_string(v)) {
		rc = wrong_type(c, v, "a string of hex digits");
	} else if (v != NULL && json_string_length(v) > 0) {
		s = json_string_value(v);
		for (i = 0; rc == 0 && i < n; i++) {
			hi = json_string_length(v) == 2 * n ?
				 lt_hex_digit(s[2 * i]) : -1;
			lo = hi < 0 ? -1 : lt_hex_digit(s[2 * i + 1]);
			if (lo < 0)
				rc = fail(c, "%s is not %zu hex digits",
					  quoted(q, v), 2 * n);
			else
				id[i] = (unsigned char)(hi << 4 | lo);
		}
		if (rc == 0)
			rc = put_bytes_field(c, no, id, n);
	}
	path_restore(c, saved);
	return rc;
}

/* ---- AnyValue ---- */

/* The value of a base64 character of the standard alphabet or the
 * URL-safe one, or -1. */
static int
b64_value(int ch)
{
	if (ch == '-')
		return 62;
	if (ch == '_')
		return 63;
	return lt_base64_value(ch);
}

/* Decodes base64 s[0..n), padded or not, to out (NULL: only counts);
 * *len is the number of bytes.  Returns -1 when s is not base64.  Bits
 * left over in the last character are ignored, as Go's decoder does. */
static int
b64_decode(const char *s, size_t n, unsigned char *out, size_t *len)
{
	size_t pad = 0, i, k = 0;
	uint32_t acc = 0;
	int v;

	while (pad < 2 && n > 0 && s[n - 1] == '=') {
		n--;
		pad++;
	}
	if (n % 4 == 1 || (pad > 0 && (n + pad) % 4 != 0))
		return -1;
	for (i = 0; i < n; i++) {
		if ((v = b64_value((unsigned char)s[i])) < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		if (i % 4 == 3) {
			if (out != NULL) {
				out[k] = (unsigned char)(acc >> 16);
				out[k + 1] = (unsigned char)(acc >> 8);
				out[k + 2] = (unsigned char)acc;
			}
			k += 3;
			acc = 0;
		}
	}
	if (n % 4 == 2 && out != NULL)
		out[k] = (unsigned char)(acc >> 4);
	if (n % 4 == 3 && out != NULL) {
		out[k] = (unsigned char)(acc >> 10);
		out[k + 1] = (unsigned char)(acc >> 2);
	}
	*len = k + (n % 4 == 0 ? 0 : n % 4 - 1);
	return 0;
}

static int
put_base64_field(struct conv *c, uint32_t no, const json_t *v)
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v), len;
	char q[LT_QUOTE_BUF];

	if (b64_decode(s, n, NULL, &len) < 0)
		return fail(c, "%s is not base64", quoted(q, v));
	if (put_tag(c, no, WT_LEN) < 0 || put_varint(c, len) < 0)
		return -1;
	if (lt_buf_reserve(c->out, len) < 0)
		return oom(c);
	(void)b64_decode(s, n, c->out->data + c->out->len, &len);
	c->out->len += len;
	return 0;
}

/* A double: a JSON number, or a string holding one or "NaN",
 * "Infinity", "-Infinity". */
static int
get_double(struct conv *c, const json_t *v, double *d)
{
	const char *s = json_string_value(v);
	char q[LT_QUOTE_BUF];

	if (json_is_integer(v)) {
		*d = (double)json_integer_value(v);
	} else if (json_is_real(v)) {
		*d = json_real_value(v);
	} else if (!json_is_string(v)) {
		return wrong_type(c, v, "a number");
	} else if (strcmp(s, "NaN") == 0) {
		*d = NAN;
	} else if (strcmp(s, "Infinity") == 0) {
		*d = INFINITY;
	} else if (strcmp(s, "-Infinity") == 0) {
		*d = -INFINITY;
	} else if (string_double(s, json_string_length(v), d) < 0) {
		return fail(c, "%s is not a number", quoted(q, v));
	}
	return 0;
}

typedef int (*msg_fn)(struct conv *, json_t *, int);

static int any_value(struct conv *, json_t *, int);
static int key_value(struct conv *, json_t *, int);

/* v, which must be an object, as message field no, written by fn. */
static int
message(struct conv *c, json_t *v, uint32_t no, msg_fn fn, int depth)
{
	size_t start;

	if (!json_is_object(v))
		return wrong_type(c, v, "an object");
	if (msg_begin(c, no, &start) < 0 || fn(c, v, depth) < 0)
		return -1;
	return msg_end(c, start);
}

/* A singular message field. */
static int
submessage(struct conv *c, json_t *obj, const char *camel, const char *snake,
	   uint32_t no, msg_fn fn, int depth)
{
	json_t *v;
	size_t saved;
	int rc = 0;

	if (field(c, obj, camel, snake, &v, &saved) < 0)
		return -1;
	if (v != NULL)
		rc = message(c, v, no, fn, depth);
	path_restore(c, saved);
	return rc;
}

/* A repeated message field: an array of objects. */
static int
repeated(struct conv *c, json_t *obj, const char *camel, const char *snake,
	 uint32_t no, msg_fn fn, int depth)
{
	json_t *arr;
	size_t saved, at, i;
	int rc = 0;

	if (field(c, obj, camel, snake, &arr, &saved) < 0)
		return -1;
	if (arr != NULL && !json_is_array(arr))
		rc = wrong_type(c, arr, "an array");
	for (i = 0; rc == 0 && arr != NULL && i < json_array_size(arr); i++) {
		at = path_index(c, i);
		rc = message(c, json_array_get(arr, i), no, fn, depth);
		path_restore(c, at);
	}
	path_restore(c, saved);
	return rc;
}

static int
array_value(struct conv *c, json_t *obj, int depth)
{
	return repeated(c, obj, "values", NULL, 1, any_value, depth + 1);
}

static int
kvlist_value(struct conv *c, json_t *obj, int depth)
{
	return repeated(c, obj, "values", NULL, 1, key_value, depth + 1);
}

/* AnyValue's oneof, by field number less one. */
static const char *const any_camel[] = {
	"stringValue", "boolValue", "intValue", "doubleValue", "arrayValue",
	"kvlistValue", "bytesValue",
};
static const char *const any_snake[] = {
	"string_value", "bool_value", "int_value", "double_value",
	"array_value", "kvlist_value", "bytes_value",
};
#define ANY_KINDS (sizeof(any_camel) / sizeof(any_camel[0]))

/* The member of the oneof that v gives, field number no. */
static int
any_member(struct conv *c, const json_t *v, uint32_t no, int depth)
{
	uint64_t u;
	double d = 0;

	switch (no) {
	case 1:
		if (!json_is_string(v))
			return wrong_type(c, v, "a string");
		return put_bytes_field(c, no, json_string_value(v),
				       json_string_length(v));
	case 2:
		if (!json_is_boolean(v))
			return wrong_type(c, v, "a boolean");
		return put_varint_field(c, no, json_is_true(v) ? 1 : 0);
	case 3:
		if (get_signed(c, v, INT64_MAX, &u) < 0)
			return -1;
		return put_varint_field(c, no, u);
	case 4:
		if (get_double(c, v, &d) < 0)
			return -1;
		memcpy(&u, &d, sizeof(u));
		return put_fixed64_field(c, no, u);
	case 5:
		return message(c, (json_t *)v, no, array_value, depth);
	case 6:
		return message(c, (json_t *)v, no, kvlist_value, depth);
	}
	if (!json_is_string(v))
		return wrong_type(c, v, "a string of base64");
	return put_base64_field(c, no, v);
}

/* An AnyValue at nesting depth (1 for a body or an attribute's value):
 * at most one member of the oneof, none being an empty value. */
static int
any_value(struct conv *c, json_t *obj, int depth)
{
	const char *names[ANY_KINDS], *name;
	json_t *v, *found = NULL;
	size_t i, n = 0, saved;
	uint32_t no = 0;
	int rc;

	if (depth > LT_OTLP_MAX_DEPTH)
		return fail(c, "values nest more than %d deep",
			    LT_OTLP_MAX_DEPTH);
	for (i = 0; i < ANY_KINDS; i++) {
		if (lookup(c, obj, any_camel[i], any_snake[i], &v, &name) < 0)
			return -1;
		if (v != NULL) {
			names[n++] = name;
			found = v;
			no = (uint32_t)i + 1;
		}
	}
	if (n > 1)
		return fail(c, "more than one of %s, %s%s", names[0], names[1],
			    n > 2 ? ", ..." : "");
	if (found == NULL)
		return 0;
	saved = path_field(c, names[0]);
	rc = any_member(c, found, no, depth);
	path_restore(c, saved);
	return rc;
}

/* ---- the request's messages ---- */

static int
key_value(struct conv *c, json_t *obj, int depth)
{
	if (string_field(c, obj, "key", NULL, 1) < 0)
		return -1;
	return submessage(c, obj, "value", NULL, 2, any_value, depth);
}

static int
resource(struct conv *c, json_t *obj, int depth)
{
	(void)depth;
	if (repeated(c, obj, "attributes", NULL, 1, key_value, 1) < 0)
		return -1;
	return unsigned_field(c, obj, "droppedAttributesCount",
			      "dropped_attributes_count", 2, WT_VARINT);
}

static int
scope(struct conv *c, json_t *obj, int depth)
{
	(void)depth;
	if (string_field(c, obj, "name", NULL, 1) < 0 ||
	    string_field(c, obj, "version", NULL, 2) < 0 ||
	    repeated(c, obj, "attributes", NULL, 3, key_value, 1) < 0)
		return -1;
	return unsigned_field(c, obj, "droppedAttributesCount",
			      "dropped_attributes_count", 4, WT_VARINT);
}

static int
log_record(struct conv *c, json_t *obj, int depth)
{
	(void)depth;
	if (unsigned_field(c, obj, "timeUnixNano", "time_unix_nano", 1,
			   WT_FIXED64) < 0 ||
	    severity_field(c, obj) < 0 ||
	    string_field(c, obj, "severityText", "severity_text", 3) < 0 ||
	    submessage(c, obj, "body", NULL, 5, any_value, 1) < 0 ||
	    repeated(c, obj, "attributes", NULL, 6, key_value, 1) < 0 ||
	    unsigned_field(c, obj, "droppedAttributesCount",
			   "dropped_attributes_count", 7, WT_VARINT) < 0 ||
	    unsigned_field(c, obj, "flags", NULL, 8, WT_FIXED32) < 0 ||
	    id_field(c, obj, "traceId", "trace_id", 9, 16) < 0 ||
	    id_field(c, obj, "spanId", "span_id", 10, 8) < 0 ||
	    unsigned_field(c, obj, "observedTimeUnixNano",
			   "observed_time_unix_nano", 11, WT_FIXED64) < 0)
		return -1;
	return string_field(c, obj, "eventName", "event_name", 12);
}

static int
scope_logs(struct conv *c, json_t *obj, int depth)
{
	if (submessage(c, obj, "scope", NULL, 1, scope, depth) < 0 ||
	    repeated(c, obj, "logRecords", "log_records", 2, log_record,
		     depth) < 0)
		return -1;
	return string_field(c, obj, "schemaUrl", "schema_url", 3);
}

static int
resource_logs(struct conv *c, json_t *obj, int depth)
{
	if (submessage(c, obj, "resource", NULL, 1, resource, depth) < 0 ||
	    repeated(c, obj, "scopeLogs", "scope_logs", 2, scope_logs,
		     depth) < 0)
		return -1;
	return string_field(c, obj, "schemaUrl", "schema_url", 3);
}

/* Integer literals jansson cannot keep: past int64 (it refuses them as
 * "too big integer") and -0 (an integer has no sign to keep).  Go's and
 * JavaScript's encoders write such doubles that way: 1.2345678901234568e20
 * as 123456789012345680000.  Every numeric field is also taken as a
 * string holding the number, so these literals are quoted before jansson
 * reads the text. */
static int
wide_integer(const char *s, size_t n)
{
	size_t digits = n - (s[0] == '-');

	if (s[0] == '-' && digits == 1 && s[1] == '0')
		return 1;
	return digits > 18;
}

/* The end of the number starting at i (a '-' or a digit); *integer says
 * whether it has neither fraction nor exponent. */
static size_t
number_end(const char *json, size_t len, size_t i, int *integer)
{
	if (json[i] == '-')
		i++;
	while (i < len && json[i] >= '0' && json[i] <= '9')
		i++;
	*integer = 1;
	while (i < len && ((json[i] >= '0' && json[i] <= '9') ||
			   json[i] == '.' || json[i] == 'e' || json[i] == 'E' ||
			   json[i] == '+' || json[i] == '-')) {
		*integer = 0;
		i++;
	}
	return i;
}

/* Copies the text to copy with every wide integer literal quoted; copy
 * stays empty when there is none.  Returns 0, or -1 when out of memory. */
static int
quote_wide_integers(const char *json, size_t len, struct lt_buf *copy)
{
	size_t i = 0, done = 0, end;
	int in_string = 0, integer;

	while (i < len) {
		if (in_string) {
			if (json[i] == '\\')
				i++;
			else if (json[i] == '"')
				in_string = 0;
			i++;
			continue;
		}
		if (json[i] == '"' || (json[i] != '-' &&
				       (json[i] < '0' || json[i] > '9'))) {
			in_string = json[i] == '"';
			i++;
			continue;
		}
		end = number_end(json, len, i, &integer);
		if (integer && wide_integer(json + i, end - i)) {
			if (lt_buf_append(copy, json + done, i - done) < 0 ||
			    lt_buf_append_byte(copy, '"') < 0 ||
			    lt_buf_append(copy, json + i, end - i) < 0 ||
			    lt_buf_append_byte(copy, '"') < 0)
				return -1;
			done = end;
		}
		i = end;
	}
	if (done > 0 && lt_buf_append(copy, json + done, len - done) < 0)
		return -1;
	return 0;
}

int
lt_otlp_json_to_proto(const char *json, size_t len, struct lt_buf *out,
		      char *err, size_t errlen)
{
	struct conv c;
	struct lt_buf quoted = LT_BUF_INIT;
	json_error_t jerr;
	json_t *root;
	size_t len0 = out->len;
	int rc;

	memset(&c, 0, sizeof(c));
	c.out = out;
	c.err = err;
	c.errlen = errlen;
	if (quote_wide_integers(json, len, &quoted) < 0) {
		lt_buf_free(&quoted);
		(void)oom(&c);
		return -2;
	}
	/* Duplicate keys are refused, as protobuf's JSON readers do. */
	root = quoted.len > 0
		? json_loadb((const char *)quoted.data, quoted.len,
			     JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr)
		: json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
			     &jerr);
	lt_buf_free(&quoted);
	if (root == NULL) {
		if (json_error_code(&jerr) == json_error_out_of_memory) {
			(void)oom(&c);
			return -2;
		}
		(void)snprintf(err, errlen,
			       "malformed JSON at line %d, column %d: %s",
			       jerr.line, jerr.column, jerr.text);
		return -1;
	}
	if (!json_is_object(root))
		rc = fail(&c, "the body is not a JSON object");
	else
		rc = repeated(&c, root, "resourceLogs", "resource_logs", 1,
			      resource_logs, 0);
	json_decref(root);
	if (rc < 0)
		out->len = len0;
	return rc < 0 ? (c.oom ? -2 : -1) : 0;
}

/* ---- the answers ---- */

/* s as a JSON string; bytes that are not UTF-8 become U+FFFD. */
static int
put_json_string(struct lt_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t k;
	int rc = lt_buf_append_byte(b, '"');

	while (rc == 0 && *p != '\0') {
		k = *p < 0x80 ? 1 : *p >= 0xc2 && *p <= 0xdf ? 2 :
		    *p >= 0xe0 && *p <= 0xef ? 3 : *p >= 0xf0 && *p <= 0xf4 ? 4 :
		    0;
		if (k > 1 && (strnlen((const char *)p, k) < k ||
			      !lt_utf8_valid((const char *)p, k)))
			k = 0;
		if (*p == '"' || *p == '\\')
			rc = lt_buf_printf(b, "\\%c", *p);
		else if (*p == '\n')
			rc = lt_buf_printf(b, "\\n");
		else if (*p == '\r')
			rc = lt_buf_printf(b, "\\r");
		else if (*p == '\t')
			rc = lt_buf_printf(b, "\\t");
		else if (*p < 0x20)
			rc = lt_buf_printf(b, "\\u%04x", *p);
		else if (k == 0)
			rc = lt_buf_append(b, "\xef\xbf\xbd", 3);
		else
			rc = lt_buf_append(b, p, k);
		p += k > 0 ? k : 1;
	}
	return rc < 0 ? -1 : lt_buf_append_byte(b, '"');
}

/* A message of two fields: varint field 1 (left out when 0) and string
 * field 2 (left out when empty), at top level or as field outer. */
static int
two_fields(struct lt_buf *out, uint32_t outer, uint64_t v1, const char *s2)
{
	struct conv c;
	size_t start = 0;

	memset(&c, 0, sizeof(c));
	c.out = out;
	if (outer > 0 && msg_begin(&c, outer, &start) < 0)
		return -1;
	if (v1 != 0 && put_varint_field(&c, 1, v1) < 0)
		return -1;
	if (*s2 != '\0' && put_bytes_field(&c, 2, s2, strlen(s2)) < 0)
		return -1;
	return outer > 0 ? msg_end(&c, start) : 0;
}

int
lt_otlp_response(struct lt_buf *out, int json, uint64_t rejected,
		 const char *error_message)
{
	const char *msg = error_message != NULL ? error_message : "";
	size_t len0 = out->len;
	int rc = 0;

	/* int64 in the proto: a count beyond it is told as its largest. */
	if (rejected > INT64_MAX)
		rejected = INT64_MAX;
	if (json && rejected == 0) {
		rc = lt_buf_append(out, "{}", 2);
	} else if (json) {
		rc = lt_buf_printf(out, "{\"partialSuccess\":{"
				   "\"rejectedLogRecords\":\"%llu\"",
				   (unsigned long long)rejected);
		if (rc == 0 && *msg != '\0')
			rc = lt_buf_append(out, ",\"errorMessage\":", 16) < 0 ?
				 -1 : put_json_string(out, msg);
		if (rc == 0)
			rc = lt_buf_append(out, "}}", 2);
	} else if (rejected > 0) {
		rc = two_fields(out, 1, rejected, msg);
	}
	if (rc < 0)
		out->len = len0;
	return rc < 0 ? -1 : 0;
}

int
lt_otlp_status(struct lt_buf *out, int json, int http_status,
	       const char *message)
{
	const char *msg = message != NULL ? message : "";
	int code = lt_otlp_grpc_code(http_status);
	size_t len0 = out->len;
	int rc;

	if (json) {
		rc = lt_buf_printf(out, "{\"code\":%d", code);
		if (rc == 0 && *msg != '\0')
			rc = lt_buf_append(out, ",\"message\":", 11) < 0 ?
				 -1 : put_json_string(out, msg);
		if (rc == 0)
			rc = lt_buf_append_byte(out, '}');
	} else {
		rc = two_fields(out, 0, (uint64_t)code, msg);
	}
	if (rc < 0)
		out->len = len0;
	return rc < 0 ? -1 : 0;
}

/* As otlp.h pairs them; below 400 (no error) is OK (0), and a status
 * outside 100 to 599 UNKNOWN (2). */
int
lt_otlp_grpc_code(int http_status)
{
	switch (http_status) {
	case 400: return 3;
	case 401: return 16;
	case 403: return 7;
	case 404: return 5;
	case 413:
	case 429: return 8;
	case 503: return 14;
	}
	if (http_status >= 500 && http_status < 600)
		return 13;
	if (http_status >= 400 && http_status < 500)
		return 3;
	if (http_status >= 100 && http_status < 400)
		return 0;
	return 2;
}
