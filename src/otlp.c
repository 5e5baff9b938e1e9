/* OTLP logs: the protobuf ExportLogsServiceRequest read straight from the
 * wire (pb_wire.h), as loki_proto.c reads Loki's push, and Loki's mapping
 * onto streams, entries and structured metadata (otlp.h, and grafana/loki
 * pkg/loghttp/push/otlp.go).
 *
 *   ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
 *   ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2;
 *                  string schema_url = 3; }
 *   Resource     { repeated KeyValue attributes = 1;
 *                  uint32 dropped_attributes_count = 2; }
 *   ScopeLogs    { InstrumentationScope scope = 1;
 *                  repeated LogRecord log_records = 2; string schema_url = 3; }
 *   InstrumentationScope { string name = 1; string version = 2;
 *                  repeated KeyValue attributes = 3;
 *                  uint32 dropped_attributes_count = 4; }
 *   LogRecord    { fixed64 time_unix_nano = 1; SeverityNumber
 *                  severity_number = 2; string severity_text = 3;
 *                  AnyValue body = 5; repeated KeyValue attributes = 6;
 *                  uint32 dropped_attributes_count = 7; fixed32 flags = 8;
 *                  bytes trace_id = 9; bytes span_id = 10;
 *                  fixed64 observed_time_unix_nano = 11;
 *                  string event_name = 12; }
 *   KeyValue     { string key = 1; AnyValue value = 2; }
 *   AnyValue     oneof { string string_value = 1; bool bool_value = 2;
 *                  int64 int_value = 3; double double_value = 4;
 *                  ArrayValue array_value = 5;
 *                  KeyValueList kvlist_value = 6; bytes bytes_value = 7; }
 *   ArrayValue   { repeated AnyValue values = 1; }
 *   KeyValueList { repeated KeyValue values = 1; }
 *
 * Strings point into the body.  Texts that have to be made (a name
 * normalized, a number, an array as JSON) go to buffers reused from one
 * resource, scope and record to the next, each bounded by the limit its
 * texts are checked against: a text is cut one byte past that limit,
 * which is enough for the check to reject it. */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "buf.h"
#include "float_fmt.h"
#include "labels.h"
#include "otlp.h"
#include "pb_wire.h"
#include "push_int.h"

/* The path of the message being read, for errors. */
#define PATH_MAX_SEGS (3 * LT_OTLP_MAX_DEPTH + 16)
#define NO_INDEX SIZE_MAX

static const char *const req_names[] = {NULL, "resource_logs"};
static const char *const rl_names[] = {NULL, "resource", "scope_logs",
				       "schema_url"};
static const char *const res_names[] = {NULL, "attributes",
					"dropped_attributes_count"};
static const char *const sl_names[] = {NULL, "scope", "log_records",
				       "schema_url"};
static const char *const scope_names[] = {NULL, "name", "version",
					  "attributes",
					  "dropped_attributes_count"};
static const char *const rec_names[] = {
	NULL, "time_unix_nano", "severity_number", "severity_text", NULL,
	"body", "attributes", "dropped_attributes_count", "flags", "trace_id",
	"span_id", "observed_time_unix_nano", "event_name"};
static const char *const kv_names[] = {NULL, "key", "value"};
static const char *const any_names[] = {NULL, "string_value", "bool_value",
					"int_value", "double_value",
					"array_value", "kvlist_value",
					"bytes_value"};
static const char *const list_names[] = {NULL, "values"};

static const struct lt_pbw_names req_msg = LT_PBW_NAMES(req_names);
static const struct lt_pbw_names rl_msg = LT_PBW_NAMES(rl_names);
static const struct lt_pbw_names res_msg = LT_PBW_NAMES(res_names);
static const struct lt_pbw_names sl_msg = LT_PBW_NAMES(sl_names);
static const struct lt_pbw_names scope_msg = LT_PBW_NAMES(scope_names);
static const struct lt_pbw_names rec_msg = LT_PBW_NAMES(rec_names);
static const struct lt_pbw_names kv_msg = LT_PBW_NAMES(kv_names);
static const struct lt_pbw_names any_msg = LT_PBW_NAMES(any_names);
static const struct lt_pbw_names list_msg = LT_PBW_NAMES(list_names);

/* Loki's default discover_service_name (pkg/validation/limits.go): the
 * index labels, normalized, that give service_name when service.name
 * is missing. */
static const char *const discover_service_name[] = {
	"service", "app", "application", "app_name", "name",
	"app_kubernetes_io_name", "container", "container_name",
	"k8s_container_name", "component", "workload", "job", "k8s_job_name"};

enum any_kind {
	ANY_NONE = 0,
	ANY_STRING = 1,
	ANY_BOOL = 2,
	ANY_INT = 3,
	ANY_DOUBLE = 4,
	ANY_ARRAY = 5,
	ANY_KVLIST = 6,
	ANY_BYTES = 7,
};

/* An AnyValue as read: the oneof field set last, its scalar or its
 * payload. */
struct anyv {
	int kind;
	uint64_t u;
	struct lt_pbw_msg m;
};

/* Where an item's text lies: in the body, or at an offset of its bag's
 * arena (which moves as it grows). */
struct item {
	struct lt_label l;
	size_t name_off, value_off;
	uint64_t rank; /* the more specific and the later, the higher */
	unsigned char name_in_arena, value_in_arena;
};

/* The name/value pairs of one level: a resource's labels or structured
 * metadata, a scope's, a record's.  Items beyond max are counted, not
 * kept: the entry they belong to is rejected anyway. */
struct bag {
	struct item *items;
	size_t n, cap, max;
	size_t count;      /* items, kept or not */
	size_t size;       /* their names' and values' bytes */
	size_t budget;     /* bytes the arena may hold */
	size_t name_cap;   /* a made name is cut one byte past this */
	size_t value_cap;  /* and a made value past this */
	int labels;        /* a stream's labels: a name given again replaces */
	int over;          /* the arena ran out of budget */
	uint64_t rank_base;
	struct lt_buf arena;
};

/* A text being made: appends stop at limit bytes past start, setting
 * over; later appends are ignored.  A NULL b writes nothing (checking
 * only). */
struct tout {
	struct lt_buf *b;
	size_t start;
	size_t limit;
	int over;
	int oom;
};

struct seg {
	const char *name;
	size_t idx;
};

struct od {
	struct lt_push_parse *p;
	const struct lt_limits *lim;
	const char *index_list;
	const char *drop_list;
	struct seg path[PATH_MAX_SEGS];
	size_t n_path;
	char err[400];
	struct bag labels, res, scope, rec;
	struct item *merged;
	size_t cap_merged;
	struct lt_label *out;
	size_t cap_out;
	struct lt_buf body;
	int has_service_name; /* the resource's service.name is not empty */
	int skip;             /* the stream was rejected: check records only */
};

static int bad(struct od *, const char *, ...) LT_PRINTF(2, 3);

/* --- errors and the path ----------------------------------------------- */

static void
push_seg(struct od *d, const char *name, size_t idx)
{
	if (d->n_path < PATH_MAX_SEGS) {
		d->path[d->n_path].name = name;
		d->path[d->n_path].idx = idx;
	}
	d->n_path++;
}

static void
pop_seg(struct od *d)
{
	d->n_path--;
}

/* Formats err as "resource_logs[0].scope_logs[1]: " and the message;
 * returns -1 (not a request). */
static int
bad(struct od *d, const char *fmt, ...)
{
	size_t n = 0, i, segs;
	va_list ap;
	int r;

	/* Without a reader: a look ahead at bytes read properly later. */
	if (d == NULL)
		return -1;
	segs = d->n_path;
	d->err[0] = '\0';
	if (segs > PATH_MAX_SEGS)
		segs = PATH_MAX_SEGS;
	for (i = 0; i < segs && n < sizeof(d->err); i++) {
		/* A deep path keeps its start and its end. */
		if (n > sizeof(d->err) / 3 && i + 2 < segs) {
			r = snprintf(d->err + n, sizeof(d->err) - n, "..");
			n += r < 0 ? 0 : (size_t)r;
			i = segs - 2;
		}
		if (d->path[i].idx == NO_INDEX)
			r = snprintf(d->err + n, sizeof(d->err) - n, "%s%s",
				     i > 0 ? "." : "", d->path[i].name);
		else
			r = snprintf(d->err + n, sizeof(d->err) - n,
				     "%s%s[%zu]", i > 0 ? "." : "",
				     d->path[i].name, d->path[i].idx);
		n += r < 0 ? 0 : (size_t)r;
	}
	if (segs > 0 && n < sizeof(d->err)) {
		r = snprintf(d->err + n, sizeof(d->err) - n, ": ");
		n += r < 0 ? 0 : (size_t)r;
	}
	if (n < sizeof(d->err)) {
		va_start(ap, fmt);
		(void)vsnprintf(d->err + n, sizeof(d->err) - n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int
next_field(struct od *d, struct lt_pbw_msg *m, const struct lt_pbw_names *names,
	   struct lt_pbw_field *f)
{
	char why[192];
	int r = lt_pbw_next(m, names, f, why, sizeof(why));

	return r < 0 ? bad(d, "%s", why) : r;
}

static int
expect(struct od *d, const struct lt_pbw_field *f,
       const struct lt_pbw_names *names, int wt)
{
	char why[192];

	if (lt_pbw_expect(f, names, wt, why, sizeof(why)) < 0)
		return bad(d, "%s", why);
	return 0;
}

/* Checks the wire type of field f, one of the message's own with the
 * types in wts (indexed by field number; -1: not a field). */
static int
expect_known(struct od *d, const struct lt_pbw_field *f,
	     const struct lt_pbw_names *names, const signed char *wts,
	     size_t n_wts)
{
	if (f->num >= n_wts || wts[f->num] < 0)
		return 0;
	return expect(d, f, names, wts[f->num]);
}

/* --- texts ------------------------------------------------------------- */

static void
tout_init(struct tout *o, struct lt_buf *b, size_t limit)
{
	o->b = b;
	o->start = b != NULL ? b->len : 0;
	o->limit = limit;
	o->over = o->oom = 0;
}

static void
tput(struct tout *o, const void *s, size_t n)
{
	size_t used;

	if (o->b == NULL || o->over || o->oom)
		return;
	used = o->b->len - o->start;
	if (n > o->limit - used) {
		/* Keep what fits: the text is then limit bytes long,
		 * and over says it is longer. */
		n = o->limit - used;
		o->over = 1;
	}
	if (n > 0 && lt_buf_append(o->b, s, n) < 0)
		o->oom = 1;
}

static void
tputs(struct tout *o, const char *s)
{
	tput(o, s, strlen(s));
}

static void
tprintf_u(struct tout *o, uint64_t v)
{
	char n[24];

	(void)snprintf(n, sizeof(n), "%" PRIu64, v);
	tputs(o, n);
}

static void
tprintf_i(struct tout *o, int64_t v)
{
	char n[24];

	(void)snprintf(n, sizeof(n), "%" PRId64, v);
	tputs(o, n);
}

/* Go's encoding/json string: HTML characters escaped too, invalid UTF-8
 * as U+FFFD, U+2028 and U+2029 escaped. */
static void
json_string(struct tout *o, const unsigned char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	char esc[8];
	size_t i = 0, run;
	uint32_t cp;
	size_t w;

	tput(o, "\"", 1);
	while (i < len && !o->over) {
		for (run = i; i < len && s[i] >= 0x20 && s[i] < 0x80 &&
			      s[i] != '"' && s[i] != '\\' && s[i] != '<' &&
			      s[i] != '>' && s[i] != '&';
		     i++)
			;
		tput(o, s + run, i - run);
		if (i == len)
			break;
		if (s[i] < 0x80) {
			switch (s[i]) {
			case '"': tputs(o, "\\\""); break;
			case '\\': tputs(o, "\\\\"); break;
			case '\b': tputs(o, "\\b"); break;
			case '\f': tputs(o, "\\f"); break;
			case '\n': tputs(o, "\\n"); break;
			case '\r': tputs(o, "\\r"); break;
			case '\t': tputs(o, "\\t"); break;
			default:
				(void)snprintf(esc, sizeof(esc), "\\u00%c%c",
					       hex[s[i] >> 4], hex[s[i] & 15]);
				tputs(o, esc);
			}
			i++;
			continue;
		}
		w = lt_utf8_next((const char *)s + i, len - i, &cp);
		if (cp == 0xfffd && w == 1)
			tputs(o, "\\ufffd");
		else if (cp == 0x2028 || cp == 0x2029)
			tputs(o, cp == 0x2028 ? "\\u2028" : "\\u2029");
		else
			tput(o, s + i, w);
		i += w;
	}
	tput(o, "\"", 1);
}

static void
put_base64(struct tout *o, const unsigned char *s, size_t len)
{
	size_t need = LT_BASE64_SIZE(len), n;

	if (o->b == NULL || o->over || o->oom)
		return;
	if (need - 1 > o->limit - (o->b->len - o->start)) {
		o->over = 1;
		return;
	}
	if (lt_buf_reserve(o->b, need) < 0) {
		o->oom = 1;
		return;
	}
	n = lt_base64(s, len, (char *)o->b->data + o->b->len, need);
	o->b->len += n;
}

/* A double as pcommon's AsString() and Go's JSON write it; returns 1 for
 * NaN and infinities, which JSON cannot hold. */
static int
put_double(struct tout *o, double f)
{
	struct lt_buf tmp = LT_BUF_INIT;
	int r;

	if (o->b == NULL)
		return 0;
	r = lt_float_json(&tmp, f);
	if (r == 0)
		tput(o, tmp.data, tmp.len);
	else if (r < 0)
		o->oom = 1;
	lt_buf_free(&tmp);
	return r > 0;
}

/* --- AnyValue ---------------------------------------------------------- */

static const signed char any_wts[] = {-1, LT_WT_LEN, LT_WT_VARINT,
				      LT_WT_VARINT, LT_WT_I64, LT_WT_LEN,
				      LT_WT_LEN, LT_WT_LEN};

/* Reads an AnyValue; the oneof field that comes last wins. */
static int
read_any(struct od *d, struct lt_pbw_msg m, struct anyv *v)
{
	struct lt_pbw_field f;
	int r;

	memset(v, 0, sizeof(*v));
	while ((r = next_field(d, &m, &any_msg, &f)) > 0) {
		if (f.num < 1 || f.num > 7)
			continue;
		if (expect_known(d, &f, &any_msg, any_wts, sizeof(any_wts)) < 0)
			return -1;
		v->kind = (int)f.num;
		v->m = lt_pbw_sub(&m, &f);
		if (f.wt == LT_WT_VARINT)
			v->u = f.varint;
		else if (f.wt == LT_WT_I64)
			v->u = lt_pbw_fixed64(&m, &f);
	}
	return r;
}

/* Reads a KeyValue: its key and its value's bytes (empty when absent). */
static int
read_kv(struct od *d, struct lt_pbw_msg m, const unsigned char **key,
	size_t *key_len, struct lt_pbw_msg *value)
{
	struct lt_pbw_field f;
	int r;

	*key = (const unsigned char *)"";
	*key_len = 0;
	value->body = m.body;
	value->pos = value->end = m.pos;
	while ((r = next_field(d, &m, &kv_msg, &f)) > 0) {
		if (f.num != 1 && f.num != 2)
			continue;
		if (expect(d, &f, &kv_msg, LT_WT_LEN) < 0)
			return -1;
		if (f.num == 1) {
			*key = m.body + f.off;
			*key_len = f.len;
		} else {
			*value = lt_pbw_sub(&m, &f);
		}
	}
	return r;
}

static double
as_double(uint64_t bits)
{
	double f;

	memcpy(&f, &bits, sizeof(f));
	return f;
}

/* Checks a whole AnyValue tree, depth its level (1 for an attribute's
 * value or a body). */
static int
check_any(struct od *d, struct lt_pbw_msg m, int depth)
{
	struct lt_pbw_field f;
	struct lt_pbw_msg sub, value;
	const unsigned char *key;
	struct anyv v;
	size_t i = 0, key_len;
	int r;

	if (depth > LT_OTLP_MAX_DEPTH)
		return bad(d, "values nest deeper than %d levels",
			   LT_OTLP_MAX_DEPTH);
	if (read_any(d, m, &v) < 0)
		return -1;
	if (v.kind != ANY_ARRAY && v.kind != ANY_KVLIST)
		return 0;
	push_seg(d, v.kind == ANY_ARRAY ? "array_value.values" :
					  "kvlist_value.values", 0);
	sub = v.m;
	while ((r = next_field(d, &sub, &list_msg, &f)) > 0) {
		if (f.num != 1)
			continue;
		if (expect(d, &f, &list_msg, LT_WT_LEN) < 0)
			return -1;
		d->path[d->n_path - 1].idx = i++;
		value = lt_pbw_sub(&sub, &f);
		if (v.kind == ANY_KVLIST) {
			if (read_kv(d, value, &key, &key_len, &value) < 0)
				return -1;
			push_seg(d, "value", NO_INDEX);
		}
		if (check_any(d, value, depth + 1) < 0)
			return -1;
		if (v.kind == ANY_KVLIST)
			pop_seg(d);
	}
	if (r == 0)
		pop_seg(d);
	return r;
}

/* The rest writes values that check_any() has passed. */
static int json_any(struct tout *o, struct lt_pbw_msg m, int *unsupported);

/* The next element of an ArrayValue or a KeyValueList (checked). */
static int
next_value(struct lt_pbw_msg *m, struct lt_pbw_msg *value)
{
	struct lt_pbw_field f;
	char why[8];
	int r;

	while ((r = lt_pbw_next(m, &list_msg, &f, why, sizeof(why))) > 0)
		if (f.num == 1) {
			*value = lt_pbw_sub(m, &f);
			return 1;
		}
	return 0;
}

static int
json_array(struct tout *o, struct lt_pbw_msg m, int *unsupported)
{
	struct lt_pbw_msg value;
	size_t i = 0;

	tput(o, "[", 1);
	while (next_value(&m, &value) > 0) {
		if (i++ > 0)
			tput(o, ",", 1);
		if (json_any(o, value, unsupported) < 0)
			return -1;
	}
	tput(o, "]", 1);
	return 0;
}

/* One pair of a kvlist being written as a JSON object. */
struct jkey {
	const unsigned char *key;
	size_t len;
	size_t idx;
	struct lt_pbw_msg value;
};

static int
jkey_cmp(const void *a, const void *b)
{
	const struct jkey *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = n > 0 ? memcmp(x->key, y->key, n) : 0;

	if (c != 0)
		return c;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	/* The same key twice: the later first, as it replaces in Go's map. */
	return x->idx > y->idx ? -1 : x->idx < y->idx;
}

static int
same_key(const struct jkey *a, const struct jkey *b)
{
	return a->len == b->len &&
	       (a->len == 0 || memcmp(a->key, b->key, a->len) == 0);
}

/* A kvlist as Go's encoding/json writes a map: keys sorted, a key given
 * twice keeping its last value.  Each pair takes at least 7 bytes
 * ("":null), so one with more pairs than its room allows is over
 * without being sorted; the sort's memory is bounded by both. */
static int
json_kvlist(struct tout *o, struct lt_pbw_msg m, int *unsupported)
{
	struct jkey *keys;
	struct lt_pbw_msg value, all = m;
	size_t n = 0, i, max, shown = 0;
	int rc = 0;

	if (o->b == NULL || o->over)
		return 0;
	max = (o->limit - (o->b->len - o->start)) / 7 + 1;
	while (next_value(&all, &value) > 0)
		if (++n > max) {
			o->over = 1;
			return 0;
		}
	if ((keys = calloc(n ? n : 1, sizeof(*keys))) == NULL)
		return -1;
	for (i = 0; i < n && next_value(&m, &value) > 0; i++) {
		(void)read_kv(NULL, value, &keys[i].key, &keys[i].len,
			      &keys[i].value);
		keys[i].idx = i;
	}
	if (n > 1)
		qsort(keys, n, sizeof(*keys), jkey_cmp);
	tput(o, "{", 1);
	for (i = 0; i < n && rc == 0; i++) {
		if (i > 0 && same_key(&keys[i], &keys[i - 1]))
			continue;
		if (shown++ > 0)
			tput(o, ",", 1);
		json_string(o, keys[i].key, keys[i].len);
		tput(o, ":", 1);
		rc = json_any(o, keys[i].value, unsupported);
	}
	tput(o, "}", 1);
	free(keys);
	return rc;
}

/* Appends an AnyValue as Go's encoding/json writes pcommon's AsRaw():
 * absent and empty bytes as null.  *unsupported is set by a NaN or an
 * infinity, for which Go's json.Marshal fails.  Returns 0, or -1 when
 * out of memory. */
static int
json_any(struct tout *o, struct lt_pbw_msg m, int *unsupported)
{
	struct anyv v;

	(void)read_any(NULL, m, &v);
	switch (v.kind) {
	case ANY_STRING:
		json_string(o, v.m.body + v.m.pos, v.m.end - v.m.pos);
		break;
	case ANY_BOOL:
		tputs(o, v.u != 0 ? "true" : "false");
		break;
	case ANY_INT:
		tprintf_i(o, lt_pbw_int64(v.u));
		break;
	case ANY_DOUBLE:
		if (put_double(o, as_double(v.u)))
			*unsupported = 1;
		break;
	case ANY_BYTES:
		if (v.m.end == v.m.pos) {
			tputs(o, "null");
			break;
		}
		tput(o, "\"", 1);
		put_base64(o, v.m.body + v.m.pos, v.m.end - v.m.pos);
		tput(o, "\"", 1);
		break;
	case ANY_ARRAY:
		return json_array(o, v.m, unsupported);
	case ANY_KVLIST:
		return json_kvlist(o, v.m, unsupported);
	default:
		tputs(o, "null");
	}
	return o->oom ? -1 : 0;
}

/* The text of a value that is not a string, as pcommon's
 * Value.AsString() writes it, appended to o (a string is used in
 * place).  The value has been checked.  Returns 0, or -2 when out of
 * memory. */
static int
any_text(struct tout *o, const struct anyv *v)
{
	size_t start = o->b != NULL ? o->b->len : 0;
	int unsupported = 0;
	double f;

	switch (v->kind) {
	case ANY_BOOL:
		tputs(o, v->u != 0 ? "true" : "false");
		break;
	case ANY_INT:
		tprintf_i(o, lt_pbw_int64(v->u));
		break;
	case ANY_DOUBLE:
		f = as_double(v->u);
		if (put_double(o, f)) {
			tputs(o, "json: unsupported value: ");
			tputs(o, f != f ? "NaN" : f > 0 ? "+Inf" : "-Inf");
		}
		break;
	case ANY_BYTES:
		put_base64(o, v->m.body + v->m.pos, v->m.end - v->m.pos);
		break;
	case ANY_ARRAY:
	case ANY_KVLIST:
		if (v->kind == ANY_ARRAY ? json_array(o, v->m, &unsupported) < 0
					 : json_kvlist(o, v->m, &unsupported) < 0)
			return -2;
		/* Go's json.Marshal failed: AsString() gives "". */
		if (unsupported && o->b != NULL) {
			o->b->len = start;
			o->over = 0;
		}
		break;
	}
	return o->oom ? -2 : 0;
}

/* --- bags of pairs ------------------------------------------------------ */

/* A text: in the body (or static), or at off in a bag's arena. */
struct tref {
	const char *p;
	size_t off;
	size_t len;
	int in_arena;
};

static const char *
tref_ptr(const struct bag *b, const struct tref *t)
{
	return t->in_arena ? (const char *)b->arena.data + t->off : t->p;
}

static void
bag_init(struct bag *b, size_t max, size_t name_cap, size_t value_cap,
	 size_t budget, int labels, uint64_t rank_base)
{
	b->max = max;
	b->name_cap = name_cap;
	b->value_cap = value_cap;
	b->budget = budget;
	b->labels = labels;
	b->rank_base = rank_base;
}

static void
bag_reset(struct bag *b)
{
	b->n = b->count = b->size = 0;
	b->over = 0;
	b->arena.len = 0;
}

static void
bag_free(struct bag *b)
{
	free(b->items);
	lt_buf_free(&b->arena);
}

/* Starts a text in the bag's arena, cut one byte past cap and at the
 * budget. */
static void
bag_text(struct bag *b, struct tout *o, struct tref *t, size_t cap)
{
	size_t room = b->budget > b->arena.len ? b->budget - b->arena.len : 0;

	tout_init(o, &b->arena, cap < room ? cap + 1 : room);
	t->p = NULL;
	t->off = b->arena.len;
	t->in_arena = 1;
}

static int
bag_text_end(struct bag *b, struct tout *o, struct tref *t, size_t cap)
{
	if (o->oom)
		return -2;
	t->len = b->arena.len - t->off;
	if (o->over && t->len <= cap)
		b->over = 1; /* cut by the budget, not by the cap */
	if (t->len == 0) { /* the arena may have no bytes at all */
		t->p = "";
		t->in_arena = 0;
	}
	return 0;
}

static int
names_equal(const struct bag *b, const struct item *it, const char *name,
	    size_t len)
{
	const char *p = it->name_in_arena ?
			(const char *)b->arena.data + it->name_off : it->l.name;

	return it->l.name_len == len && (len == 0 || memcmp(p, name, len) == 0);
}

/* Adds a pair.  In a bag of labels a name given again replaces the
 * value, as in Loki's label set; otherwise every pair is kept (up to
 * max) and counted. */
static int
bag_add(struct bag *b, const struct tref *name, const struct tref *value)
{
	struct item *it = NULL, *na;
	size_t i, cap;

	if (b->labels) {
		for (i = 0; i < b->n && it == NULL; i++)
			if (names_equal(b, &b->items[i], tref_ptr(b, name),
					name->len))
				it = &b->items[i];
	}
	if (it == NULL) {
		b->count++;
		if (b->n == b->max)
			goto counted;
		if (b->n == b->cap) {
			cap = b->cap ? b->cap * 2 : 16;
			if (cap > b->max)
				cap = b->max;
			na = reallocarray(b->items, cap, sizeof(*na));
			if (na == NULL)
				return -2;
			b->items = na;
			b->cap = cap;
		}
		it = &b->items[b->n++];
	}
	it->l.name = name->p;
	it->l.name_len = name->len;
	it->name_off = name->off;
	it->l.value = value->p;
	it->l.value_len = value->len;
	it->value_off = value->off;
	it->name_in_arena = (unsigned char)name->in_arena;
	it->value_in_arena = (unsigned char)value->in_arena;
	it->rank = b->rank_base + b->count;
counted:
	if (!b->labels && b->size <= SIZE_MAX / 2)
		b->size += name->len + value->len;
	return 0;
}

/* Points the items at their texts, once the arena has stopped growing. */
static void
bag_resolve(struct bag *b)
{
	const char *base = (const char *)b->arena.data;
	size_t i;

	for (i = 0; i < b->n; i++) {
		if (b->items[i].name_in_arena)
			b->items[i].l.name = base + b->items[i].name_off;
		if (b->items[i].value_in_arena)
			b->items[i].l.value = base + b->items[i].value_off;
		b->items[i].name_in_arena = b->items[i].value_in_arena = 0;
	}
}

/* --- names --------------------------------------------------------------- */

static int
is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* A key that NormalizeLabel() leaves as it is. */
static int
name_is_normal(const unsigned char *k, size_t len)
{
	size_t i;

	if (len == 0 || (k[0] >= '0' && k[0] <= '9'))
		return 0;
	if (k[0] == '_' && (len == 1 || k[1] != '_'))
		return 0;
	for (i = 0; i < len; i++)
		if (!is_alnum(k[i]) && k[i] != '_')
			return 0;
	return 1;
}

/* Loki's name for an attribute: otlptranslator.NormalizeLabel() of
 * prefix_key (of key alone without a prefix): each character (a UTF-8
 * sequence, or a byte that is not one) outside [a-zA-Z0-9] becomes '_',
 * then a leading digit gets "key_" before it and a leading single '_'
 * "key".  A prefix is a name made so already, so only key changes. */
static int
make_name(struct bag *b, const struct tref *prefix, const unsigned char *key,
	  size_t len, struct tref *name)
{
	struct tout o;
	uint32_t cp;
	size_t i, w;

	if (prefix == NULL && name_is_normal(key, len)) {
		name->p = (const char *)key;
		name->len = len;
		name->in_arena = 0;
		return 0;
	}
	bag_text(b, &o, name, b->name_cap);
	if (prefix != NULL) {
		/* The prefix lies in the arena the name goes to: room first,
		 * so that appending cannot move it from under the copy. */
		if (lt_buf_reserve(&b->arena, prefix->len + 1) < 0)
			return -2;
		tput(&o, tref_ptr(b, prefix), prefix->len);
		tput(&o, "_", 1);
	} else if (len > 0 && key[0] >= '0' && key[0] <= '9') {
		tput(&o, "key_", 4);
	} else if (len > 0 && !is_alnum(key[0])) {
		/* s starts with '_': "key" before it, unless the second
		 * character becomes '_' as well. */
		w = lt_utf8_next((const char *)key, len, &cp);
		if (w == 0 || w >= len || is_alnum(key[w]))
			tput(&o, "key", 3);
	}
	for (i = 0; i < len && !o.over; i += w) {
		w = lt_utf8_next((const char *)key + i, len - i, &cp);
		if (w == 0)
			w = 1;
		tput(&o, is_alnum(key[i]) ? (const char *)key + i : "_", 1);
	}
	return bag_text_end(b, &o, name, b->name_cap);
}

/* --- attribute lists ----------------------------------------------------- */

static int
is_sep(char c)
{
	return c == ' ' || c == ',' || c == '\t' || c == '\n';
}

/* The next name of a list at or after *s, its length in *n, or NULL at
 * the end; *s moves past it. */
static const char *
next_name(const char **s, size_t *n)
{
	const char *p = *s, *e;

	while (is_sep(*p))
		p++;
	if (*p == '\0')
		return NULL;
	for (e = p; *e != '\0' && !is_sep(*e); e++)
		;
	*n = (size_t)(e - p);
	*s = e;
	return p;
}

/* Whether list names key; with allow_prefix a name ending in '*'
 * matches every key that starts with what precedes it. */
static int
listed(const char *list, const unsigned char *key, size_t len,
       int allow_prefix)
{
	const char *s = list, *name;
	size_t n;

	if (list == NULL)
		return 0;
	while ((name = next_name(&s, &n)) != NULL) {
		if (allow_prefix && name[n - 1] == '*') {
			if (n - 1 <= len && memcmp(name, key, n - 1) == 0)
				return 1;
		} else if (n == len && memcmp(name, key, n) == 0) {
			return 1;
		}
	}
	return 0;
}

int
lt_otlp_list_check(const char *list, int allow_prefix, char *err,
		   size_t errlen)
{
	const char *s = list, *name, *star;
	size_t n, i;

	while ((name = next_name(&s, &n)) != NULL) {
		star = memchr(name, '*', n);
		if (star != NULL && (!allow_prefix || star != name + n - 1)) {
			(void)snprintf(err, errlen, "\"%.*s\": %s", (int)n, name,
				       allow_prefix ?
				       "'*' may only end a name" :
				       "'*' is not allowed here");
			return -1;
		}
		for (i = 0; i < n; i++)
			if ((unsigned char)name[i] < 0x21 || name[i] == 0x7f) {
				(void)snprintf(err, errlen,
					       "a name holds control character "
					       "0x%02x", (unsigned char)name[i]);
				return -1;
			}
	}
	return 0;
}

/* --- attributes ---------------------------------------------------------- */

static int
in_discover_list(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < sizeof(discover_service_name) /
				sizeof(discover_service_name[0]);
	     i++)
		if (strlen(discover_service_name[i]) == len &&
		    memcmp(discover_service_name[i], name, len) == 0)
			return 1;
	return 0;
}

/* A value's text for a bag: a string in place, anything else made in
 * the arena. */
static int
value_ref(struct bag *b, const struct anyv *v, struct tref *t)
{
	struct tout o;

	if (v->kind == ANY_STRING) {
		t->p = (const char *)v->m.body + v->m.pos;
		t->len = v->m.end - v->m.pos;
		t->in_arena = 0;
		return 0;
	}
	bag_text(b, &o, t, b->value_cap);
	if (any_text(&o, v) < 0)
		return -2;
	return bag_text_end(b, &o, t, b->value_cap);
}

static int flatten(struct od *d, struct bag *b, const struct tref *prefix,
		   const unsigned char *key, size_t len,
		   struct lt_pbw_msg value, int depth);

/* A kvlist attribute, one pair per key: Loki's attributeToLabels(). */
static int
flatten_kvlist(struct od *d, struct bag *b, const struct tref *name,
	       struct lt_pbw_msg m, int depth)
{
	struct lt_pbw_field f;
	struct lt_pbw_msg value;
	const unsigned char *key;
	size_t i = 0, len;
	int r;

	push_seg(d, "kvlist_value.values", 0);
	while ((r = next_field(d, &m, &list_msg, &f)) > 0) {
		if (f.num != 1)
			continue;
		if (expect(d, &f, &list_msg, LT_WT_LEN) < 0)
			return -1;
		d->path[d->n_path - 1].idx = i++;
		if (read_kv(d, lt_pbw_sub(&m, &f), &key, &len, &value) < 0)
			return -1;
		push_seg(d, "value", NO_INDEX);
		if ((r = flatten(d, b, name, key, len, value, depth + 1)) < 0)
			return r;
		pop_seg(d);
	}
	if (r == 0)
		pop_seg(d);
	return r;
}

/* Loki's service_name discovery: without service.name, the first index
 * label named in discover_service_name gives it its value. */
static int
discover(struct od *d, struct bag *b, const struct tref *name,
	 const struct tref *value)
{
	static const struct tref sn = {"service_name", 0, 12, 0};

	if (d->has_service_name || !in_discover_list(tref_ptr(b, name),
						     name->len))
		return 0;
	d->has_service_name = 1;
	return bag_add(b, &sn, value);
}

static int
flatten(struct od *d, struct bag *b, const struct tref *prefix,
	const unsigned char *key, size_t len, struct lt_pbw_msg value,
	int depth)
{
	struct tref name, text;
	struct anyv v;
	int r;

	if (depth > LT_OTLP_MAX_DEPTH)
		return bad(d, "values nest deeper than %d levels",
			   LT_OTLP_MAX_DEPTH);
	if (read_any(d, value, &v) < 0)
		return -1;
	if ((r = make_name(b, prefix, key, len, &name)) < 0)
		return r;
	if (v.kind == ANY_KVLIST)
		return flatten_kvlist(d, b, &name, v.m, depth);
	if (v.kind == ANY_ARRAY && check_any(d, value, depth) < 0)
		return -1;
	if ((r = value_ref(b, &v, &text)) < 0)
		return r;
	if ((r = bag_add(b, &name, &text)) < 0)
		return r;
	return b == &d->labels ? discover(d, b, &name, &text) : 0;
}

enum { AT_RESOURCE, AT_SCOPE, AT_RECORD };

/* One KeyValue of attributes: left out when its key is empty or in the
 * drop list (its value still checked), an index label when it is a
 * resource's listed in the index list, else structured metadata. */
static int
attribute(struct od *d, struct lt_pbw_msg kv, int where, struct bag *md)
{
	const unsigned char *key;
	struct lt_pbw_msg value;
	size_t len;
	struct bag *b = md;
	int r;

	if (read_kv(d, kv, &key, &len, &value) < 0)
		return -1;
	push_seg(d, "value", NO_INDEX);
	if (len == 0 || listed(d->drop_list, key, len, 1))
		r = check_any(d, value, 1);
	else {
		if (where == AT_RESOURCE && listed(d->index_list, key, len, 0))
			b = &d->labels;
		r = flatten(d, b, NULL, key, len, value, 1);
	}
	if (r == 0)
		pop_seg(d);
	return r;
}

/* --- resources and scopes ------------------------------------------------ */

static const signed char rl_wts[] = {-1, LT_WT_LEN, LT_WT_LEN, LT_WT_LEN};
static const signed char res_wts[] = {-1, LT_WT_LEN, LT_WT_VARINT};
static const signed char sl_wts[] = {-1, LT_WT_LEN, LT_WT_LEN, LT_WT_LEN};
static const signed char scope_wts[] = {-1, LT_WT_LEN, LT_WT_LEN, LT_WT_LEN,
					LT_WT_VARINT};

#define WTS(a) (a), sizeof(a)

/* Calls fn for each field number num of m, with the field on the path
 * as name[i] when it is repeated, as name when it is not (a message
 * given twice merges); checks the wire types of the message's other
 * known fields on the way. */
static int
each(struct od *d, struct lt_pbw_msg m, const struct lt_pbw_names *names,
     const signed char *wts, size_t n_wts, uint32_t num, const char *name,
     int repeated, int (*fn)(struct od *, struct lt_pbw_msg, void *), void *arg)
{
	struct lt_pbw_field f;
	size_t i = 0;
	int r;

	while ((r = next_field(d, &m, names, &f)) > 0) {
		if (expect_known(d, &f, names, wts, n_wts) < 0)
			return -1;
		if (f.num != num)
			continue;
		push_seg(d, name, repeated ? i++ : NO_INDEX);
		if ((r = fn(d, lt_pbw_sub(&m, &f), arg)) < 0)
			return r;
		pop_seg(d);
	}
	return r;
}

static int
count_one(struct od *d, struct lt_pbw_msg m, void *arg)
{
	(void)d;
	(void)m;
	(*(size_t *)arg)++;
	return 0;
}

static int
count_records(struct od *d, struct lt_pbw_msg m, void *arg)
{
	return each(d, m, &sl_msg, WTS(sl_wts), 2, "log_records", 1, count_one,
		    arg);
}

struct attr_arg {
	int where;
	struct bag *md;
};

static int
attr_fn(struct od *d, struct lt_pbw_msg m, void *arg)
{
	struct attr_arg *a = arg;

	return attribute(d, m, a->where, a->md);
}

static int
resource_fn(struct od *d, struct lt_pbw_msg m, void *arg)
{
	return each(d, m, &res_msg, WTS(res_wts), 1, "attributes", 1, attr_fn,
		    arg);
}

/* Whether the first service.name of the resource has a text that is not
 * empty (resAttrs.Get(), as Loki looks before the labels). */
static int
find_service_name(struct od *d, struct lt_pbw_msg m, void *arg)
{
	struct lt_pbw_field f;
	struct lt_pbw_msg sub, value;
	const unsigned char *key;
	struct anyv v;
	size_t len;
	int *found = arg;
	char why[8];

	(void)d;
	while (*found == 0 &&
	       lt_pbw_next(&m, &res_msg, &f, why, sizeof(why)) > 0) {
		if (f.num != 1 || f.wt != LT_WT_LEN)
			continue;
		sub = lt_pbw_sub(&m, &f);
		if (read_kv(NULL, sub, &key, &len, &value) < 0 || len != 12 ||
		    memcmp(key, "service.name", 12) != 0)
			continue;
		if (read_any(NULL, value, &v) < 0)
			return 0;
		*found = v.kind == ANY_STRING || v.kind == ANY_BYTES ?
				 (v.m.end > v.m.pos ? 1 : -1) :
				 (v.kind != ANY_NONE ? 1 : -1);
	}
	return 0;
}

/* The stream's labels: those made of index attributes, service_name
 * (unknown_service when nothing gave it), empty ones left out as Loki
 * leaves them. */
static int
stream_labels(struct od *d, size_t *n)
{
	static const struct tref sn = {"service_name", 0, 12, 0};
	static const struct tref unknown = {"unknown_service", 0, 15, 0};
	struct bag *b = &d->labels;
	struct lt_label *na;
	size_t i;
	int r;

	if (!d->has_service_name && (r = bag_add(b, &sn, &unknown)) < 0)
		return r;
	bag_resolve(b);
	if (b->n > d->cap_out) {
		na = reallocarray(d->out, b->n, sizeof(*na));
		if (na == NULL)
			return -2;
		d->out = na;
		d->cap_out = b->n;
	}
	*n = 0;
	for (i = 0; i < b->n; i++)
		if (b->items[i].l.value_len > 0)
			d->out[(*n)++] = b->items[i].l;
	return 0;
}

/* The scope's fields, kept until its structured metadata is made: the
 * last of each wins, as protobuf merges a message given twice. */
struct scope_fields {
	struct attr_arg attrs;
	struct tref name, version;
	uint64_t dropped;
};

static int
scope_fn(struct od *d, struct lt_pbw_msg m, void *arg)
{
	struct scope_fields *s = arg;
	struct lt_pbw_field f;
	struct lt_pbw_msg start = m;
	int r;

	while ((r = next_field(d, &m, &scope_msg, &f)) > 0) {
		if (expect_known(d, &f, &scope_msg, WTS(scope_wts)) < 0)
			return -1;
		if (f.num == 1 || f.num == 2) {
			struct tref *t = f.num == 1 ? &s->name : &s->version;

			t->p = (const char *)m.body + f.off;
			t->len = f.len;
		} else if (f.num == 4) {
			s->dropped = (uint32_t)f.varint;
		}
	}
	if (r < 0)
		return r;
	return each(d, start, &scope_msg, WTS(scope_wts), 3, "attributes", 1,
		    attr_fn, &s->attrs);
}

/* A number's text in a bag's arena. */
static int
number_item(struct bag *b, const char *name, int64_t v, int is_signed)
{
	struct tref n = {name, 0, strlen(name), 0}, t;
	struct tout o;

	bag_text(b, &o, &t, b->value_cap);
	if (is_signed)
		tprintf_i(&o, v);
	else
		tprintf_u(&o, (uint64_t)v);
	if (bag_text_end(b, &o, &t, b->value_cap) < 0)
		return -2;
	return bag_add(b, &n, &t);
}

static int
text_item(struct bag *b, const char *name, const struct tref *value)
{
	struct tref n = {name, 0, strlen(name), 0};

	return value->len > 0 ? bag_add(b, &n, value) : 0;
}

/* A scope: its attributes, scope_name, scope_version and
 * scope_dropped_attributes_count into d->scope. */
static int
scope_metadata(struct od *d, struct lt_pbw_msg m)
{
	struct scope_fields s;
	int r;

	memset(&s, 0, sizeof(s));
	s.attrs.where = AT_SCOPE;
	s.attrs.md = &d->scope;
	bag_reset(&d->scope);
	r = each(d, m, &sl_msg, WTS(sl_wts), 1, "scope", 0, scope_fn, &s);
	if (r < 0)
		return r;
	if ((r = text_item(&d->scope, "scope_name", &s.name)) < 0 ||
	    (r = text_item(&d->scope, "scope_version", &s.version)) < 0)
		return r;
	if (s.dropped != 0 &&
	    (r = number_item(&d->scope, "scope_dropped_attributes_count",
			     (int64_t)s.dropped, 0)) < 0)
		return r;
	bag_resolve(&d->scope);
	return 0;
}

/* --- log records ---------------------------------------------------------- */

static const signed char rec_wts[] = {
	-1, LT_WT_I64, LT_WT_VARINT, LT_WT_LEN, -1, LT_WT_LEN, LT_WT_LEN,
	LT_WT_VARINT, LT_WT_I32, LT_WT_LEN, LT_WT_LEN, LT_WT_I64, LT_WT_LEN};

struct record {
	uint64_t time, observed;
	int32_t severity;
	struct tref severity_text;
	struct lt_pbw_msg body;
	int has_body;
	uint32_t dropped, flags;
	const unsigned char *trace_id, *span_id;
	size_t trace_len, span_len;
};

/* An id as Loki writes it: hex, left out when all zero (pcommon's
 * IsEmpty()); the length was checked. */
static int
id_item(struct bag *b, const char *name, const unsigned char *id, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	struct tref n = {name, 0, strlen(name), 0}, t;
	struct tout o;
	size_t i, zero = 0;
	char c[2];

	for (i = 0; i < len; i++)
		zero += id[i] == 0;
	if (zero == len)
		return 0;
	bag_text(b, &o, &t, b->value_cap);
	for (i = 0; i < len; i++) {
		c[0] = hex[id[i] >> 4];
		c[1] = hex[id[i] & 15];
		tput(&o, c, 2);
	}
	if (bag_text_end(b, &o, &t, b->value_cap) < 0)
		return -2;
	return bag_add(b, &n, &t);
}

/* One field of a LogRecord; attributes go straight into d->rec. */
static int
record_field(struct od *d, struct lt_pbw_msg *m, const struct lt_pbw_field *f,
	     struct record *r, size_t *n_attrs)
{
	switch (f->num) {
	case 1:
		r->time = lt_pbw_fixed64(m, f);
		break;
	case 2:
		r->severity = lt_pbw_int32(f->varint);
		break;
	case 3:
		r->severity_text.p = (const char *)m->body + f->off;
		r->severity_text.len = f->len;
		break;
	case 5:
		r->body = lt_pbw_sub(m, f);
		r->has_body = 1;
		break;
	case 6: {
		struct attr_arg a = {AT_RECORD, &d->rec};
		int rc;

		push_seg(d, "attributes", (*n_attrs)++);
		if ((rc = attr_fn(d, lt_pbw_sub(m, f), &a)) < 0)
			return rc;
		pop_seg(d);
		break;
	}
	case 7:
		r->dropped = (uint32_t)f->varint;
		break;
	case 8:
		r->flags = lt_pbw_fixed32(m, f);
		break;
	case 9:
	case 10:
		if (f->len != 0 && f->len != (f->num == 9 ? 16u : 8u))
			return bad(d, "%s is %zu bytes, not %u",
				   f->num == 9 ? "trace_id" : "span_id", f->len,
				   f->num == 9 ? 16u : 8u);
		*(f->num == 9 ? &r->trace_id : &r->span_id) = m->body + f->off;
		*(f->num == 9 ? &r->trace_len : &r->span_len) = f->len;
		break;
	case 11:
		r->observed = lt_pbw_fixed64(m, f);
		break;
	}
	return 0;
}

/* Reads a LogRecord: its attributes, then the fields Loki keeps as
 * structured metadata, in Loki's order, into d->rec. */
static int
read_record(struct od *d, struct lt_pbw_msg m, struct record *r)
{
	struct lt_pbw_field f;
	size_t n_attrs = 0;
	int rc;

	memset(r, 0, sizeof(*r));
	bag_reset(&d->rec);
	while ((rc = next_field(d, &m, &rec_msg, &f)) > 0) {
		if (expect_known(d, &f, &rec_msg, WTS(rec_wts)) < 0)
			return -1;
		if ((rc = record_field(d, &m, &f, r, &n_attrs)) < 0)
			return rc;
	}
	if (rc < 0)
		return rc;
	if (r->has_body) {
		push_seg(d, "body", NO_INDEX);
		if (check_any(d, r->body, 1) < 0)
			return -1;
		pop_seg(d);
	}
	/* Without time_unix_nano the entry's time is observed_time, so it
	 * is not kept twice. */
	if (r->time != 0 && r->observed != 0 &&
	    (rc = number_item(&d->rec, "observed_timestamp",
			      lt_pbw_int64(r->observed), 1)) < 0)
		return rc;
	if (r->severity != 0 &&
	    (rc = number_item(&d->rec, "severity_number", r->severity, 1)) < 0)
		return rc;
	if ((rc = text_item(&d->rec, "severity_text", &r->severity_text)) < 0)
		return rc;
	if (r->dropped != 0 &&
	    (rc = number_item(&d->rec, "dropped_attributes_count", r->dropped,
			      0)) < 0)
		return rc;
	if (r->flags != 0 &&
	    (rc = number_item(&d->rec, "flags", r->flags, 0)) < 0)
		return rc;
	rc = id_item(&d->rec, "trace_id", r->trace_id, r->trace_len);
	if (rc == 0)
		rc = id_item(&d->rec, "span_id", r->span_id, r->span_len);
	if (rc < 0)
		return rc;
	bag_resolve(&d->rec);
	return 0;
}

static int
item_cmp(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	size_t n = x->l.name_len < y->l.name_len ? x->l.name_len :
						   y->l.name_len;
	int c = n > 0 ? memcmp(x->l.name, y->l.name, n) : 0;

	if (c != 0)
		return c;
	if (x->l.name_len != y->l.name_len)
		return x->l.name_len < y->l.name_len ? -1 : 1;
	return x->rank > y->rank ? -1 : x->rank < y->rank;
}

static void
append_items(struct item *to, size_t *n, const struct bag *b)
{
	if (b->n > 0)
		memcpy(to + *n, b->items, b->n * sizeof(*to));
	*n += b->n;
}

/* The record's, its scope's and its resource's pairs, one per name: the
 * more specific wins, and within one the later. */
static int
merge_metadata(struct od *d, size_t *n_out)
{
	size_t n = 0, total = d->res.n + d->scope.n + d->rec.n, i;
	struct item *na;
	struct lt_label *nl;

	if (total > d->cap_merged) {
		na = reallocarray(d->merged, total, sizeof(*na));
		if (na == NULL)
			return -2;
		d->merged = na;
		d->cap_merged = total;
	}
	if (total > d->cap_out) {
		nl = reallocarray(d->out, total, sizeof(*nl));
		if (nl == NULL)
			return -2;
		d->out = nl;
		d->cap_out = total;
	}
	append_items(d->merged, &n, &d->res);
	append_items(d->merged, &n, &d->scope);
	append_items(d->merged, &n, &d->rec);
	if (n > 1)
		qsort(d->merged, n, sizeof(*d->merged), item_cmp);
	*n_out = 0;
	for (i = 0; i < n; i++) {
		if (i > 0 && d->merged[i - 1].l.name_len ==
				     d->merged[i].l.name_len &&
		    memcmp(d->merged[i - 1].l.name, d->merged[i].l.name,
			   d->merged[i].l.name_len) == 0)
			continue;
		d->out[(*n_out)++] = d->merged[i].l;
	}
	return 0;
}

/* Loki counts every pair, those that a more specific one replaces too;
 * the bags keep only what fits the limits, so the limits are checked
 * here, on all of them. */
static int
check_metadata_totals(struct od *d)
{
	const struct lt_limits *lim = d->lim;
	size_t count = d->res.count + d->scope.count + d->rec.count;
	size_t size = d->res.size + d->scope.size + d->rec.size;

	if (count > lim->max_metadata_entries)
		return lt_pp_reject(d->p, LT_REJECT_METADATA_TOO_MANY, 1,
				    "too many structured metadata "
				    "items (%zu, limit %zu)", count,
				    lim->max_metadata_entries);
	if (d->res.over || d->scope.over || d->rec.over)
		return lt_pp_reject(d->p, LT_REJECT_METADATA_TOO_LARGE, 1,
				    "structured metadata is too large "
				    "(more than %zu bytes, limit %zu)",
				    lim->max_metadata_size,
				    lim->max_metadata_size);
	if (size > lim->max_metadata_size)
		return lt_pp_reject(d->p, LT_REJECT_METADATA_TOO_LARGE, 1,
				    "structured metadata is too large "
				    "(%zu bytes, limit %zu)", size,
				    lim->max_metadata_size);
	return 0;
}

/* The entry's time: time_unix_nano, else observed_time_unix_nano, else
 * the receive time.  One past INT64_MAX stays past every limit rather
 * than wrapping as Go's int64() does. */
static int64_t
record_time(const struct od *d, const struct record *r)
{
	uint64_t t = r->time != 0 ? r->time : r->observed;

	if (t == 0)
		return d->p->now_ns;
	return t > INT64_MAX ? INT64_MAX : (int64_t)t;
}

/* Hands a record read by read_record() to the core as an entry. */
static int
send_record(struct od *d, const struct record *r)
{
	struct anyv v;
	struct tout o;
	const char *line = "";
	size_t len = 0, n_md;
	int rc;

	if (lt_pp_next_entry(d->p) < 0)
		return -3;
	/* Nanoseconds, 0 meaning unset: a small number is another unit. */
	if ((r->time != 0 &&
	     lt_pp_check_unit(d->p, "time_unix_nano", 0, r->time) != 0) ||
	    (r->observed != 0 &&
	     lt_pp_check_unit(d->p, "observed_time_unix_nano", 0,
			      r->observed) != 0))
		return 0;
	if (r->has_body && read_any(d, r->body, &v) < 0)
		return -1;
	if (r->has_body && v.kind == ANY_STRING) {
		line = (const char *)v.m.body + v.m.pos;
		len = v.m.end - v.m.pos;
	} else if (r->has_body) {
		d->body.len = 0;
		tout_init(&o, &d->body, d->lim->max_line_size + 1);
		if (any_text(&o, &v) < 0)
			return -2;
		/* Made only up to the limit: its length is not known. */
		if (o.over) {
			(void)lt_pp_reject(d->p, LT_REJECT_LINE_TOO_LONG, 1,
					   "line too long (more than "
					   "%zu bytes, limit %zu)",
					   d->lim->max_line_size,
					   d->lim->max_line_size);
			return 0;
		}
		line = (const char *)d->body.data;
		len = d->body.len;
	}
	if (check_metadata_totals(d) != 0)
		return 0;
	if ((rc = merge_metadata(d, &n_md)) < 0)
		return rc;
	rc = lt_pp_entry(d->p, record_time(d, r), line != NULL ? line : "", len,
			 d->out, n_md);
	return rc < 0 ? -3 : 0;
}

static int
record_fn(struct od *d, struct lt_pbw_msg m, void *arg)
{
	struct record r;
	int rc;

	(void)arg;
	if ((rc = read_record(d, m, &r)) < 0)
		return rc;
	return d->skip ? 0 : send_record(d, &r);
}

static int
scope_logs_fn(struct od *d, struct lt_pbw_msg m, void *arg)
{
	int rc;

	if ((rc = scope_metadata(d, m)) < 0)
		return rc;
	return each(d, m, &sl_msg, WTS(sl_wts), 2, "log_records", 1, record_fn,
		    arg);
}

/* --- requests ------------------------------------------------------------ */

/* One ResourceLogs: one stream, its entries the records of all its
 * scopes. */
static int
resource_logs_fn(struct od *d, struct lt_pbw_msg m, void *arg)
{
	struct attr_arg a = {AT_RESOURCE, &d->res};
	size_t n_records = 0, n_labels;
	int found = 0, rc;

	(void)arg;
	if ((rc = each(d, m, &rl_msg, WTS(rl_wts), 2, "scope_logs", 1,
		       count_records, &n_records)) < 0)
		return rc;
	(void)each(d, m, &rl_msg, WTS(rl_wts), 1, "resource", 0,
		   find_service_name, &found);
	d->has_service_name = found == 1;
	bag_reset(&d->labels);
	bag_reset(&d->res);
	if ((rc = each(d, m, &rl_msg, WTS(rl_wts), 1, "resource", 0,
		       resource_fn, &a)) < 0)
		return rc;
	bag_resolve(&d->res);
	if ((rc = stream_labels(d, &n_labels)) < 0)
		return rc;
	lt_pp_begin_stream(d->p);
	rc = lt_pp_stream(d->p, d->out, n_labels, n_records);
	if (rc < 0)
		return -3;
	d->skip = rc > 0;
	if (!d->skip && d->labels.over) {
		(void)lt_pp_reject(d->p, LT_REJECT_LABEL_VALUE_TOO_LONG,
				   n_records, "resource attributes make "
				   "labels longer than their limits allow");
		d->skip = 1;
	}
	return each(d, m, &rl_msg, WTS(rl_wts), 2, "scope_logs", 1,
		    scope_logs_fn, NULL);
}

static void
od_init(struct od *d, struct lt_push_parse *p, const struct lt_limits *lim)
{
	size_t md = lim->max_metadata_size, lab;

	memset(d, 0, sizeof(*d));
	d->p = p;
	d->lim = lim;
	d->index_list = lim->otlp_index_labels != NULL ?
				lim->otlp_index_labels :
				LT_OTLP_DEFAULT_INDEX_LABELS;
	d->drop_list = lim->otlp_drop_attributes;
	/* Labels: a few more than the limit, so that too many is seen. */
	lab = lim->max_label_names + 2;
	bag_init(&d->labels, lab, lim->max_label_name_length,
		 lim->max_label_value_length,
		 lab * (lim->max_label_name_length +
			lim->max_label_value_length + 2),
		 1, 0);
	bag_init(&d->res, lim->max_metadata_entries + 1, md, md, md + 1, 0, 0);
	bag_init(&d->scope, lim->max_metadata_entries + 1, md, md, md + 1, 0,
		 (uint64_t)1 << 40);
	bag_init(&d->rec, lim->max_metadata_entries + 1, md, md, md + 1, 0,
		 (uint64_t)2 << 40);
}

static void
od_free(struct od *d)
{
	bag_free(&d->labels);
	bag_free(&d->res);
	bag_free(&d->scope);
	bag_free(&d->rec);
	free(d->merged);
	free(d->out);
	lt_buf_free(&d->body);
}

int
lt_push_parse_otlp(const void *body, size_t len,
		   const struct lt_limits *limits, int64_t now_ns,
		   const struct lt_sink *sink, struct lt_push_result *res)
{
	static const signed char req_wts[] = {-1, LT_WT_LEN};
	struct lt_push_parse p;
	struct lt_pbw_msg m = {body, 0, len};
	struct od *d;
	int rc;

	lt_pp_init(&p, limits, now_ns, sink, res);
	p.stream_word = "resource";
	p.entry_word = "log record";
	if ((d = malloc(sizeof(*d))) == NULL) {
		lt_pp_free(&p);
		return lt_pp_oom(&p);
	}
	od_init(d, &p, limits);
	rc = each(d, m, &req_msg, WTS(req_wts), 1, "resource_logs", 1,
		  resource_logs_fn, NULL);
	if (rc == -1) {
		/* The message names the place itself. */
		p.stream_no = p.entry_no = 0;
		(void)lt_pp_fail(&p, "malformed OTLP request: %s", d->err);
	} else if (rc == -2) {
		(void)lt_pp_oom(&p);
	}
	od_free(d);
	free(d);
	lt_pp_free(&p);
	return rc < 0 ? -1 : 0;
}
