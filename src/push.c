#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "log.h"
#include "push.h"

#define NS_PER_SEC 1000000000LL
/* ClickHouse's DateTime is an unsigned 32-bit count of seconds, so it
 * ends at 2106-02-07 06:28:15 UTC. */
#define MAX_TS_NS (((int64_t)UINT32_MAX + 1) * NS_PER_SEC - 1)
/* How much of a stream's labels an error message shows. */
#define LABEL_TEXT_MAX 100
/* How much of a name a message quotes. */
#define QUOTE_MAX 64
/* Below this, insertion sort beats qsort and cannot go quadratic. */
#define SMALL_SORT 16

void
lt_limits_defaults(struct lt_limits *l)
{
	l->max_line_size = 256 * 1024;
	l->max_label_names = 15;
	l->max_label_name_length = 1024;
	l->max_label_value_length = 2048;
	l->max_metadata_size = 64 * 1024;
	l->max_metadata_entries = 128;
	l->creation_grace_ns = 10 * 60 * NS_PER_SEC;
	l->max_age_ns = 0;
}

int
lt_tenant_valid(const char *tenant, const char **why)
{
	size_t len = strnlen(tenant, 151), i;
	unsigned char c;

	if (len == 0) {
		*why = "is empty";
		return -1;
	}
	if (len > 150) {
		*why = "is longer than 150 bytes";
		return -1;
	}
	for (i = 0; i < len; i++) {
		c = (unsigned char)tenant[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("!-_.*'()", c) != NULL)
			continue;
		*why = "contains a character other than letters, digits and "
		       "!-_.*'()";
		return -1;
	}
	if (strcmp(tenant, ".") == 0 || strcmp(tenant, "..") == 0) {
		*why = "must not be \".\" or \"..\"";
		return -1;
	}
	return 0;
}

int
lt_label_name_valid(const char *name, size_t len)
{
	size_t i;
	unsigned char c;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		c = (unsigned char)name[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c == '_' || (i > 0 && c >= '0' && c <= '9'))
			continue;
		return -1;
	}
	return 0;
}

/* State of one parse.  The label and metadata arrays are reused from
 * stream to stream and entry to entry; they never grow past the limits,
 * because the counts are checked before the arrays are. */
struct parse {
	const struct lt_limits *lim;
	int64_t now_ns;
	const struct lt_sink *sink;
	struct lt_push_error *err;
	size_t stream_no;   /* 1-based; 0 before the first stream */
	size_t entry_no;    /* 1-based; 0 outside entries */
	int labels_ok;      /* labels[0..n_labels) are valid and sorted */
	struct lt_label *labels;
	size_t n_labels, cap_labels;
	struct lt_label *meta;
	size_t cap_meta;
};

/* Appends one byte of a label value escaped as Prometheus prints it,
 * plus \t, \r and \xHH for the other control bytes so that a message
 * stays on one line. */
static size_t
escape_byte(unsigned char c, char out[5])
{
	switch (c) {
	case '\\':
	case '"':
		out[0] = '\\';
		out[1] = (char)c;
		return 2;
	case '\n':
		memcpy(out, "\\n", 2);
		return 2;
	case '\t':
		memcpy(out, "\\t", 2);
		return 2;
	case '\r':
		memcpy(out, "\\r", 2);
		return 2;
	}
	if (c < 0x20 || c == 0x7f) {
		(void)snprintf(out, 5, "\\x%02x", c);
		return 4;
	}
	out[0] = (char)c;
	return 1;
}

/* A bounded text being built for a message: appends stop at max bytes,
 * never splitting an escape or a UTF-8 sequence, and mark the cut with
 * "...". */
struct text {
	char *p;
	size_t len, max;
	int cut;
};

static void
text_put(struct text *t, const char *s, size_t n)
{
	if (t->cut)
		return;
	if (t->len + n > t->max) {
		memcpy(t->p + t->len, "...", 3);
		t->len += 3;
		t->cut = 1;
		return;
	}
	memcpy(t->p + t->len, s, n);
	t->len += n;
}

static void
text_escaped(struct text *t, const char *s, size_t len)
{
	char e[5];
	size_t i, n;

	for (i = 0; i < len && !t->cut; i += n) {
		if ((unsigned char)s[i] < 0x80) {
			n = 1;
			text_put(t, e, escape_byte((unsigned char)s[i], e));
			continue;
		}
		/* Keep a UTF-8 sequence whole: the lead byte and its
		 * continuation bytes go in together. */
		for (n = 1; i + n < len && n < 4 &&
			    ((unsigned char)s[i + n] & 0xc0) == 0x80;
		     n++)
			;
		text_put(t, s + i, n);
	}
}

/* Writes "s" quoted, escaped and shortened to buf (of at least
 * QUOTE_MAX + 8 bytes). */
static const char *
quote(char *buf, const char *s, size_t len)
{
	struct text t = {buf, 0, QUOTE_MAX + 1, 0};

	text_put(&t, "\"", 1);
	text_escaped(&t, s, len);
	t.cut = 0; /* the closing quote always fits: max leaves room */
	t.max += 4;
	text_put(&t, "\"", 1);
	buf[t.len] = '\0';
	return buf;
}

/* The stream's labels as Loki prints them, {app="x",level="info"}. */
static void
label_text(const struct parse *p, char *buf)
{
	struct text t = {buf, 0, LABEL_TEXT_MAX, 0};
	size_t i;

	text_put(&t, "{", 1);
	for (i = 0; i < p->n_labels; i++) {
		if (i > 0)
			text_put(&t, ",", 1);
		text_put(&t, p->labels[i].name, p->labels[i].name_len);
		text_put(&t, "=\"", 2);
		text_escaped(&t, p->labels[i].value, p->labels[i].value_len);
		text_put(&t, "\"", 1);
	}
	text_put(&t, "}", 1);
	buf[t.len] = '\0';
}

/* Fills in the error: the stream and entry it happened in, then the
 * reason.  Always returns -1 so that callers can return fail(...). */
static int LT_PRINTF(2, 3)
fail(struct parse *p, const char *fmt, ...)
{
	char labels[LABEL_TEXT_MAX + 8];
	char *m = p->err->message;
	size_t sz = sizeof(p->err->message), n = 0;
	int r;
	va_list ap;

	p->err->status = 400;
	m[0] = '\0';
	if (p->stream_no > 0) {
		labels[0] = '\0';
		if (p->labels_ok)
			label_text(p, labels);
		r = snprintf(m, sz, "stream %zu%s%s: ", p->stream_no,
			     p->labels_ok ? " " : "", labels);
		n = r < 0 ? 0 : (size_t)r;
	}
	if (p->entry_no > 0 && n < sz) {
		r = snprintf(m + n, sz - n, "entry %zu: ", p->entry_no);
		n += r < 0 ? 0 : (size_t)r;
	}
	if (n < sz) {
		va_start(ap, fmt);
		(void)vsnprintf(m + n, sz - n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int
fail_oom(struct parse *p)
{
	p->err->status = 500;
	(void)snprintf(p->err->message, sizeof(p->err->message),
		       "out of memory");
	return -1;
}

/* Makes room for n pairs; n is bounded by a limit already checked. */
static int
reserve(struct lt_label **a, size_t *cap, size_t n)
{
	struct lt_label *na;

	if (n <= *cap)
		return 0;
	na = reallocarray(*a, n, sizeof(**a));
	if (na == NULL)
		return -1;
	*a = na;
	*cap = n;
	return 0;
}

static int
label_cmp(const struct lt_label *a, const struct lt_label *b)
{
	size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
	int c = memcmp(a->name, b->name, n);

	if (c != 0)
		return c;
	return a->name_len < b->name_len ? -1 : a->name_len > b->name_len;
}

static int
label_qsort_cmp(const void *a, const void *b)
{
	return label_cmp(a, b);
}

static void
sort_labels(struct lt_label *a, size_t n)
{
	struct lt_label x;
	size_t i, j;

	if (n > SMALL_SORT) {
		qsort(a, n, sizeof(*a), label_qsort_cmp);
		return;
	}
	for (i = 1; i < n; i++) {
		x = a[i];
		for (j = i; j > 0 && label_cmp(&a[j - 1], &x) > 0; j--)
			a[j] = a[j - 1];
		a[j] = x;
	}
}

/* Go's time.Duration.String() for whole seconds, as Loki prints limits:
 * 10m0s, 168h0m0s; a fraction of a second is shown in milliseconds. */
static const char *
duration_text(int64_t ns, char *buf, size_t sz)
{
	int64_t s = ns / NS_PER_SEC, ms = ns % NS_PER_SEC / 1000000;
	char frac[8] = "";

	if (ms != 0)
		(void)snprintf(frac, sizeof(frac), ".%03" PRId64, ms);
	if (s >= 3600)
		(void)snprintf(buf, sz, "%" PRId64 "h%" PRId64 "m%" PRId64 "%ss",
			       s / 3600, s / 60 % 60, s % 60, frac);
	else if (s >= 60)
		(void)snprintf(buf, sz, "%" PRId64 "m%" PRId64 "%ss", s / 60,
			       s % 60, frac);
	else
		(void)snprintf(buf, sz, "%" PRId64 "%ss", s, frac);
	return buf;
}

/* RFC 3339 in UTC with the fraction only when there is one. */
static const char *
time_text(int64_t ns, char *buf, size_t sz)
{
	int64_t s = ns / NS_PER_SEC, f = ns % NS_PER_SEC;
	time_t t;
	struct tm tm;
	char frac[16] = "";
	int digits = 9;

	if (f < 0) {
		f += NS_PER_SEC;
		s--;
	}
	t = (time_t)s;
	if (gmtime_r(&t, &tm) == NULL) {
		(void)snprintf(buf, sz, "%" PRId64 "ns", ns);
		return buf;
	}
	if (f != 0) {
		while (f % 10 == 0) {
			f /= 10;
			digits--;
		}
		(void)snprintf(frac, sizeof(frac), ".%0*" PRId64, digits, f);
	}
	(void)snprintf(buf, sz, "%04d-%02d-%02dT%02d:%02d:%02d%sZ",
		       tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		       tm.tm_min, tm.tm_sec, frac);
	return buf;
}

/* Reads the stream's "stream" object into p->labels, checks it and sorts
 * it. */
static int
parse_labels(struct parse *p, json_t *obj)
{
	const struct lt_limits *lim = p->lim;
	char q[QUOTE_MAX + 8];
	struct lt_label *l;
	const char *name, *value;
	size_t n = json_object_size(obj), name_len, value_len;
	void *it;
	json_t *v;

	if (n == 0)
		return fail(p, "no labels (a stream needs at least one)");
	if (n > lim->max_label_names)
		return fail(p, "too many labels (%zu, limit %zu)", n,
			    lim->max_label_names);
	if (reserve(&p->labels, &p->cap_labels, n) < 0)
		return fail_oom(p);
	p->n_labels = 0;
	for (it = json_object_iter(obj); it != NULL;
	     it = json_object_iter_next(obj, it)) {
		name = json_object_iter_key(it);
		name_len = json_object_iter_key_len(it);
		v = json_object_iter_value(it);
		if (name_len > lim->max_label_name_length)
			return fail(p, "label name %s is too long (%zu bytes, "
				    "limit %zu)", quote(q, name, name_len),
				    name_len, lim->max_label_name_length);
		if (lt_label_name_valid(name, name_len) < 0)
			return fail(p, "invalid label name %s (must match "
				    "[a-zA-Z_][a-zA-Z0-9_]*)",
				    quote(q, name, name_len));
		if (!json_is_string(v))
			return fail(p, "label %s is not a string",
				    quote(q, name, name_len));
		value = json_string_value(v);
		value_len = json_string_length(v);
		if (value_len == 0)
			return fail(p, "label %s has an empty value",
				    quote(q, name, name_len));
		if (value_len > lim->max_label_value_length)
			return fail(p, "label %s value is too long (%zu bytes, "
				    "limit %zu)", quote(q, name, name_len),
				    value_len, lim->max_label_value_length);
		if (memchr(value, '\0', value_len) != NULL)
			return fail(p, "label %s value contains a NUL byte",
				    quote(q, name, name_len));
		l = &p->labels[p->n_labels++];
		l->name = name;
		l->name_len = name_len;
		l->value = value;
		l->value_len = value_len;
	}
	sort_labels(p->labels, p->n_labels);
	p->labels_ok = 1;
	return 0;
}

/* Reads an entry's structured metadata into p->meta, sorted. */
static int
parse_metadata(struct parse *p, json_t *obj, struct lt_entry *e)
{
	const struct lt_limits *lim = p->lim;
	char q[QUOTE_MAX + 8];
	struct lt_label *l;
	const char *name;
	size_t n, name_len, size = 0;
	void *it;
	json_t *v;

	e->metadata = NULL;
	e->n_metadata = 0;
	if (obj == NULL)
		return 0;
	if (!json_is_object(obj))
		return fail(p, "structured metadata is not an object");
	n = json_object_size(obj);
	if (n > lim->max_metadata_entries)
		return fail(p, "too many structured metadata items (%zu, "
			    "limit %zu)", n, lim->max_metadata_entries);
	if (reserve(&p->meta, &p->cap_meta, n) < 0)
		return fail_oom(p);
	for (it = json_object_iter(obj); it != NULL;
	     it = json_object_iter_next(obj, it)) {
		name = json_object_iter_key(it);
		name_len = json_object_iter_key_len(it);
		v = json_object_iter_value(it);
		if (lt_label_name_valid(name, name_len) < 0)
			return fail(p, "invalid structured metadata name %s "
				    "(must match [a-zA-Z_][a-zA-Z0-9_]*)",
				    quote(q, name, name_len));
		if (!json_is_string(v))
			return fail(p, "structured metadata %s is not a string",
				    quote(q, name, name_len));
		l = &p->meta[e->n_metadata++];
		l->name = name;
		l->name_len = name_len;
		l->value = json_string_value(v);
		l->value_len = json_string_length(v);
		if (memchr(l->value, '\0', l->value_len) != NULL)
			return fail(p, "structured metadata %s value contains "
				    "a NUL byte", quote(q, name, name_len));
		/* Names are at most the JSON's size, so this cannot wrap. */
		size += name_len + l->value_len;
	}
	if (size > lim->max_metadata_size)
		return fail(p, "structured metadata is too large (%zu bytes, "
			    "limit %zu)", size, lim->max_metadata_size);
	sort_labels(p->meta, e->n_metadata);
	e->metadata = p->meta;
	return 0;
}

static int
check_time(struct parse *p, int64_t ts)
{
	const struct lt_limits *lim = p->lim;
	char t[48], d[48];

	if (ts < 0)
		return fail(p, "timestamp %s is before 1970-01-01",
			    time_text(ts, t, sizeof(t)));
	if (ts > MAX_TS_NS)
		return fail(p, "timestamp %s is after 2106-02-07T06:28:15Z, "
			    "the end of ClickHouse's DateTime",
			    time_text(ts, t, sizeof(t)));
	/* Compared as differences so that neither side can overflow: ts is
	 * within [0, MAX_TS_NS] here and now_ns is the wall clock. */
	if (ts > p->now_ns && ts - p->now_ns > lim->creation_grace_ns)
		return fail(p, "timestamp %s is too far in the future (more "
			    "than %s ahead of the receiver's clock)",
			    time_text(ts, t, sizeof(t)),
			    duration_text(lim->creation_grace_ns, d,
					  sizeof(d)));
	if (lim->max_age_ns > 0 && ts < p->now_ns &&
	    p->now_ns - ts > lim->max_age_ns)
		return fail(p, "timestamp %s is too old (more than %s before "
			    "the receiver's clock)",
			    time_text(ts, t, sizeof(t)),
			    duration_text(lim->max_age_ns, d, sizeof(d)));
	return 0;
}

static int
parse_entry(struct parse *p, json_t *val)
{
	char q[QUOTE_MAX + 8];
	struct lt_entry e;
	json_t *ts, *line;
	const char *why;
	size_t n = json_is_array(val) ? json_array_size(val) : 0;

	if (n != 2 && n != 3)
		return fail(p, "not an array of [timestamp, line] or "
			    "[timestamp, line, {metadata}]");
	ts = json_array_get(val, 0);
	line = json_array_get(val, 1);
	if (!json_is_string(ts))
		return fail(p, "timestamp is not a string");
	if (lt_parse_timestamp(json_string_value(ts), json_string_length(ts),
			       &e.ts_ns, &why) < 0)
		return fail(p, "invalid timestamp %s: %s",
			    quote(q, json_string_value(ts),
				  json_string_length(ts)),
			    why);
	if (check_time(p, e.ts_ns) < 0)
		return -1;
	if (!json_is_string(line))
		return fail(p, "line is not a string");
	e.line = json_string_value(line);
	e.line_len = json_string_length(line);
	if (e.line_len > p->lim->max_line_size)
		return fail(p, "line too long (%zu bytes, limit %zu)",
			    e.line_len, p->lim->max_line_size);
	if (parse_metadata(p, n == 3 ? json_array_get(val, 2) : NULL, &e) < 0)
		return -1;
	if (p->sink != NULL && p->sink->entry != NULL &&
	    p->sink->entry(p->sink->ctx, &e) < 0)
		return fail_oom(p);
	return 0;
}

static int
parse_stream(struct parse *p, json_t *st, size_t *n_entries)
{
	json_t *labels, *values;
	size_t i, n;

	p->labels_ok = 0;
	p->entry_no = 0;
	if (!json_is_object(st))
		return fail(p, "not an object");
	labels = json_object_get(st, "stream");
	if (labels == NULL)
		return fail(p, "no \"stream\" object of labels");
	if (!json_is_object(labels))
		return fail(p, "\"stream\" is not an object");
	values = json_object_get(st, "values");
	if (values == NULL)
		return fail(p, "no \"values\" array");
	if (!json_is_array(values))
		return fail(p, "\"values\" is not an array");
	if (parse_labels(p, labels) < 0)
		return -1;
	n = json_array_size(values);
	if (n == 0)
		return 0; /* nothing to store, so nothing for the sink */
	if (p->sink != NULL && p->sink->stream != NULL &&
	    p->sink->stream(p->sink->ctx, p->labels, p->n_labels) < 0)
		return fail_oom(p);
	for (i = 0; i < n; i++) {
		p->entry_no = i + 1;
		if (parse_entry(p, json_array_get(values, i)) < 0)
			return -1;
		(*n_entries)++;
	}
	p->entry_no = 0;
	return 0;
}

int
lt_push_parse_json(const char *body, size_t len,
		   const struct lt_limits *limits, int64_t now_ns,
		   const struct lt_sink *sink, size_t *n_entries,
		   struct lt_push_error *err)
{
	struct parse p;
	json_error_t jerr;
	json_t *root, *streams;
	size_t i, n, count = 0;
	int rc = -1;

	memset(&p, 0, sizeof(p));
	p.lim = limits;
	p.now_ns = now_ns;
	p.sink = sink;
	p.err = err;
	*n_entries = 0;
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
			  &jerr);
	if (root == NULL) {
		err->status = 400;
		(void)snprintf(err->message, sizeof(err->message),
			       "malformed JSON at line %d, column %d (byte %d): "
			       "%s", jerr.line, jerr.column, jerr.position,
			       jerr.text);
		return -1;
	}
	if (!json_is_object(root)) {
		(void)fail(&p, "the body is not a JSON object");
		goto out;
	}
	streams = json_object_get(root, "streams");
	if (streams == NULL) {
		(void)fail(&p, "no \"streams\" array");
		goto out;
	}
	if (!json_is_array(streams)) {
		(void)fail(&p, "\"streams\" is not an array");
		goto out;
	}
	n = json_array_size(streams);
	for (i = 0; i < n; i++) {
		p.stream_no = i + 1;
		if (parse_stream(&p, json_array_get(streams, i), &count) < 0)
			goto out;
	}
	rc = 0;
out:
	*n_entries = count;
	json_decref(root);
	free(p.labels);
	free(p.meta);
	return rc;
}
