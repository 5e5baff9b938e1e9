/* The validating core of the push readers: limits, tenant and label
 * checks, rejections and their reasons, entries to the sink (push_int.h). */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "labels.h"
#include "level.h"
#include "log.h"
#include "push_int.h"

#define NS_PER_SEC 1000000000LL
/* ClickHouse's DateTime is an unsigned 32-bit count of seconds, so it
 * ends at 2106-02-07 06:28:15 UTC. */
#define MAX_TS_NS (((int64_t)UINT32_MAX + 1) * NS_PER_SEC - 1)
/* How much of a stream's labels an error message shows. */
#define LABEL_TEXT_MAX 100
/* How much of a name a message quotes. */
#define QUOTE_MAX (LT_QUOTE_BUF - 8)
/* Below this, insertion sort beats qsort and cannot go quadratic. */
#define SMALL_SORT 16

/* The pair add_level() inserts, its value filled in. */
static const struct lt_label level_label = {
	LT_LEVEL_NAME, LT_LEVEL_NAME_LEN, NULL, 0
};

void
lt_limits_defaults(struct lt_limits *l)
{
	memset(l, 0, sizeof(*l));
	l->max_line_size = 256 * 1024;
	l->max_label_names = 15;
	l->max_label_name_length = 1024;
	l->max_label_value_length = 2048;
	l->max_metadata_size = 64 * 1024;
	l->max_metadata_entries = 128;
	l->creation_grace_ns = 10 * 60 * NS_PER_SEC;
	l->max_age_ns = 0;
	l->ingestion_rate = 4u << 20;
	l->ingestion_burst = 6u << 20;
	/* Not Loki's (it has none): they bound the work and the spool file
	 * a push can cause, whatever its bytes.  A 16 MiB push of access-log
	 * lines holds about 90,000 entries. */
	l->max_streams_per_push = 10000;
	l->max_entries_per_push = 1000000;
	/* A client's retries of a push whose 204 it missed come within
	 * minutes (Promtail backs off up to 5 minutes, 10 tries). */
	l->dedup_window_s = 3600;
	l->discover_log_levels = 1;
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

const char *
lt_pp_quote(char *buf, const char *s, size_t len)
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
label_text(const struct lt_push_parse *p, char *buf)
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

void
lt_pp_init(struct lt_push_parse *p, const struct lt_limits *lim,
	   int64_t now_ns, const struct lt_sink *sink,
	   struct lt_push_result *res)
{
	memset(p, 0, sizeof(*p));
	memset(res, 0, sizeof(*res));
	p->lim = lim;
	p->now_ns = now_ns;
	p->sink = sink;
	p->res = res;
}

void
lt_pp_free(struct lt_push_parse *p)
{
	free(p->labels);
	free(p->meta);
	free(p->scratch);
	free(p->text_labels);
	p->labels = p->meta = p->text_labels = NULL;
	p->scratch = NULL;
}

/* Writes "stream 2 {app="x"}: entry 5: " for the stream and entry in
 * hand; returns the length written. */
static size_t
where(const struct lt_push_parse *p, char *m, size_t sz)
{
	char labels[LABEL_TEXT_MAX + 8];
	size_t n = 0;
	int r;

	if (p->stream_no > 0) {
		labels[0] = '\0';
		if (p->labels_ok)
			label_text(p, labels);
		r = snprintf(m, sz, "%s %zu%s%s: ",
			     p->stream_word ? p->stream_word : "stream",
			     p->stream_no,
			     p->labels_ok ? " " : "", labels);
		n = r < 0 ? 0 : (size_t)r;
	}
	if (p->entry_no > 0 && n < sz) {
		r = snprintf(m + n, sz - n, "%s %zu: ",
			     p->entry_word ? p->entry_word : "entry",
			     p->entry_no);
		n += r < 0 ? 0 : (size_t)r;
	}
	return n < sz ? n : sz - 1;
}

int
lt_pp_fail(struct lt_push_parse *p, const char *fmt, ...)
{
	char *m = p->res->message;
	size_t sz = sizeof(p->res->message), n;
	va_list ap;

	m[0] = '\0';
	n = where(p, m, sz);
	va_start(ap, fmt);
	(void)vsnprintf(m + n, sz - n, fmt, ap);
	va_end(ap);
	p->res->status = 400;
	p->res->n_reasons = 0;
	return -1;
}

int
lt_pp_oom(struct lt_push_parse *p)
{
	p->res->status = 503; /* worth a retry: the push is fine */
	p->res->n_reasons = 0;
	(void)snprintf(p->res->message, sizeof(p->res->message),
		       "out of memory");
	return -1;
}

static const char *const reason_names[LT_REJECT_REASONS] = {
	[LT_REJECT_OTHER] = "other",
	[LT_REJECT_LINE_TOO_LONG] = "line_too_long",
	[LT_REJECT_TOO_OLD] = "greater_than_max_sample_age",
	[LT_REJECT_TOO_NEW] = "too_far_in_future",
	[LT_REJECT_INVALID_TIMESTAMP] = "invalid_timestamp",
	[LT_REJECT_INVALID_LABELS] = "invalid_labels",
	[LT_REJECT_MISSING_LABELS] = "missing_labels",
	[LT_REJECT_TOO_MANY_LABELS] = "max_label_names_per_series",
	[LT_REJECT_LABEL_NAME_TOO_LONG] = "label_name_too_long",
	[LT_REJECT_LABEL_VALUE_TOO_LONG] = "label_value_too_long",
	[LT_REJECT_DUPLICATE_LABELS] = "duplicate_label_names",
	[LT_REJECT_METADATA_TOO_LARGE] = "structured_metadata_too_large",
	[LT_REJECT_METADATA_TOO_MANY] = "structured_metadata_too_many",
	[LT_REJECT_INVALID_METADATA] = "invalid_structured_metadata",
	[LT_REJECT_RATE_LIMITED] = "rate_limited",
};

const char *
lt_reject_reason_name(enum lt_reject_reason r)
{
	return (unsigned)r < LT_REJECT_REASONS ? reason_names[r] : NULL;
}

void
lt_pp_reject_more(struct lt_push_parse *p, size_t n)
{
	p->res->rejected += n;
	p->res->rejected_by[p->last_reason] += n;
}

int
lt_pp_reject(struct lt_push_parse *p, enum lt_reject_reason reason, size_t n,
	     const char *fmt, ...)
{
	struct lt_push_result *res = p->res;
	char line[512];
	size_t len;
	va_list ap;

	if ((unsigned)reason >= LT_REJECT_REASONS)
		reason = LT_REJECT_OTHER;
	p->last_reason = reason;
	lt_pp_reject_more(p, n);
	if (res->n_reasons == LT_PUSH_REASONS) {
		res->reasons_cut = 1;
		return 1;
	}
	len = where(p, line, sizeof(line));
	va_start(ap, fmt);
	(void)vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	va_end(ap);
	len = strlen(line);
	/* A reason line is at most 511 bytes and LT_PUSH_REASONS of them
	 * fit in the message, so nothing is ever cut. */
	if (p->msg_len > 0)
		res->message[p->msg_len++] = '\n';
	memcpy(res->message + p->msg_len, line, len);
	p->msg_len += len;
	res->message[p->msg_len] = '\0';
	res->n_reasons++;
	return 1;
}

_Static_assert(LT_PUSH_REASONS * 512 <=
		       sizeof(((struct lt_push_result *)0)->message),
	       "rejection reasons must fit in the message");

/* Checks one label of a stream; returns 0 or lt_pp_reject()'s 1. */
static int
check_label(struct lt_push_parse *p, const struct lt_label *l, size_t n_entries)
{
	const struct lt_limits *lim = p->lim;
	char q[LT_QUOTE_BUF];

	if (l->name_len > lim->max_label_name_length)
		return lt_pp_reject(p, LT_REJECT_LABEL_NAME_TOO_LONG, n_entries,
				    "label name %s is too long "
				    "(%zu bytes, limit %zu)",
				    lt_pp_quote(q, l->name, l->name_len),
				    l->name_len, lim->max_label_name_length);
	if (lt_label_name_valid(l->name, l->name_len) < 0)
		return lt_pp_reject(p, LT_REJECT_INVALID_LABELS, n_entries,
				    "invalid label name %s (must "
				    "match [a-zA-Z_][a-zA-Z0-9_]*)",
				    lt_pp_quote(q, l->name, l->name_len));
	if (l->value_len > lim->max_label_value_length)
		return lt_pp_reject(p, LT_REJECT_LABEL_VALUE_TOO_LONG, n_entries,
				    "label %s value is too long "
				    "(%zu bytes, limit %zu)",
				    lt_pp_quote(q, l->name, l->name_len),
				    l->value_len, lim->max_label_value_length);
	if (memchr(l->value, '\0', l->value_len) != NULL)
		return lt_pp_reject(p, LT_REJECT_INVALID_LABELS, n_entries,
				    "label %s value contains a "
				    "NUL byte", lt_pp_quote(q, l->name, l->name_len));
	if (!lt_utf8_valid(l->value, l->value_len))
		return lt_pp_reject(p, LT_REJECT_INVALID_LABELS, n_entries,
				    "label %s value is not valid "
				    "UTF-8", lt_pp_quote(q, l->name, l->name_len));
	return 0;
}

/* The first name that appears twice in a sorted array, or NULL. */
static const struct lt_label *
duplicate(const struct lt_label *a, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++)
		if (label_cmp(&a[i - 1], &a[i]) == 0)
			return &a[i];
	return NULL;
}

void
lt_pp_begin_stream(struct lt_push_parse *p)
{
	p->stream_no++;
	p->entry_no = 0;
	p->labels_ok = 0;
	p->stream_sent = 0;
	p->n_labels = 0;
	p->empty_labels = 0;
}

/* Copies the labels with a value into p->labels: Loki leaves out a label
 * whose value is empty (Prometheus' labels.Builder deletes it) before it
 * counts or compares them, so {app="x",env=""} is the stream {app="x"}.
 * Sets *kept to how many are kept; returns 0, or -1 when out of memory. */
static int
keep_valued(struct lt_push_parse *p, const struct lt_label *labels, size_t n,
	    size_t *kept)
{
	size_t i;

	*kept = 0;
	if (n == 0)
		return 0;
	if (reserve(&p->labels, &p->cap_labels, n) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (labels[i].value_len == 0)
			p->empty_labels++;
		else
			p->labels[(*kept)++] = labels[i];
	}
	return 0;
}

/* Checks a stream's labels, then keeps them sorted in p->labels.  When
 * n is over the limit, labels may be NULL (they were not kept). */
static int
check_stream(struct lt_push_parse *p, const struct lt_label *labels, size_t n,
	     size_t n_entries)
{
	const struct lt_label *dup;
	char q[LT_QUOTE_BUF];
	size_t i;

	if (labels != NULL && n <= p->lim->max_label_names &&
	    keep_valued(p, labels, n, &n) < 0)
		return lt_pp_oom(p);
	if (n == 0)
		return lt_pp_reject(p, LT_REJECT_MISSING_LABELS, n_entries,
				    "at least one label pair is required per "
				    "stream%s", p->empty_labels > 0 ?
				    " (labels with an empty value are left out)" :
				    "");
	if (n > p->lim->max_label_names)
		return lt_pp_reject(p, LT_REJECT_TOO_MANY_LABELS, n_entries,
				    "too many labels (%zu, limit %zu)",
				    n, p->lim->max_label_names);
	for (i = 0; i < n; i++)
		if (check_label(p, &p->labels[i], n_entries) != 0)
			return 1;
	sort_labels(p->labels, n);
	dup = duplicate(p->labels, n);
	if (dup != NULL)
		return lt_pp_reject(p, LT_REJECT_DUPLICATE_LABELS, n_entries,
				    "duplicate label name %s",
				    lt_pp_quote(q, dup->name, dup->name_len));
	p->n_labels = n;
	p->labels_ok = 1;
	return 0;
}

/* Counts a stream against max_streams_per_push; a push over it is
 * refused whole, as too large. */
static int
count_stream(struct lt_push_parse *p)
{
	const struct lt_limits *lim = p->lim;

	if (p->stream_no <= lim->max_streams_per_push)
		return 0;
	(void)lt_pp_fail(p, "more than %zu streams in one push "
			 "(max_streams_per_push)", lim->max_streams_per_push);
	p->res->status = 413;
	return -1;
}

int
lt_pp_stream(struct lt_push_parse *p, const struct lt_label *labels, size_t n,
	     size_t n_entries)
{
	if (count_stream(p) < 0)
		return -1;
	return check_stream(p, labels, n, n_entries);
}

int
lt_pp_next_entry(struct lt_push_parse *p)
{
	p->entry_no++;
	if (++p->entries_seen <= p->lim->max_entries_per_push)
		return 0;
	(void)lt_pp_fail(p, "more than %zu entries in one push "
			 "(max_entries_per_push)", p->lim->max_entries_per_push);
	p->res->status = 413;
	return -1;
}

/* Below this many nanoseconds (1973-03-03T09:46:40Z) a timestamp is
 * taken for another unit: Loki's JSON and OTLP carry nanoseconds, and a
 * client that sends seconds or milliseconds would see its entries stored
 * in 1970 (Loki refuses them as too old by default). */
#define MIN_PLAUSIBLE_NS 100000000000000000ULL

int
lt_pp_check_unit(struct lt_push_parse *p, const char *what, int quote,
		 uint64_t v)
{
	static const struct {
		uint64_t below, per_unit;
		const char *unit;
	} units[] = {
		{100000000000ULL, 1000000000, "seconds"},
		{100000000000000ULL, 1000000, "milliseconds"},
		{MIN_PLAUSIBLE_NS, 1000, "microseconds"},
	};
	const char *qt = quote ? "\"" : "";
	char t[48], fix[64] = "";
	size_t i;

	if (v >= MIN_PLAUSIBLE_NS)
		return 0;
	for (i = 0; v >= units[i].below; i++)
		;
	if (v <= (uint64_t)INT64_MAX / units[i].per_unit)
		(void)snprintf(fix, sizeof(fix), "; send %s%" PRIu64 "%s", qt,
			       v * units[i].per_unit, qt);
	return lt_pp_reject(p, LT_REJECT_INVALID_TIMESTAMP, 1,
			    "%s %s%" PRIu64 "%s looks like %s, not "
			    "nanoseconds since 1970 (it would be %s)%s", what,
			    qt, v, qt, units[i].unit,
			    time_text((int64_t)v, t, sizeof(t)), fix);
}

static int
check_time(struct lt_push_parse *p, int64_t ts)
{
	const struct lt_limits *lim = p->lim;
	char t[48], d[48];

	if (ts < 0)
		return lt_pp_reject(p, LT_REJECT_INVALID_TIMESTAMP, 1,
				    "timestamp %s is before 1970-01-01",
				    time_text(ts, t, sizeof(t)));
	if (ts > MAX_TS_NS)
		return lt_pp_reject(p, LT_REJECT_INVALID_TIMESTAMP, 1,
				    "timestamp %s is after "
				    "2106-02-07T06:28:15Z, the end of "
				    "ClickHouse's DateTime",
				    time_text(ts, t, sizeof(t)));
	/* Compared as differences so that neither side can overflow: ts is
	 * within [0, MAX_TS_NS] here and now_ns is the wall clock. */
	if (ts > p->now_ns && ts - p->now_ns > lim->creation_grace_ns)
		return lt_pp_reject(p, LT_REJECT_TOO_NEW, 1,
				    "timestamp %s is too far in the "
				    "future (more than %s ahead of the "
				    "receiver's clock)",
				    time_text(ts, t, sizeof(t)),
				    duration_text(lim->creation_grace_ns, d,
						  sizeof(d)));
	if (lim->max_age_ns > 0 && ts < p->now_ns &&
	    p->now_ns - ts > lim->max_age_ns)
		return lt_pp_reject(p, LT_REJECT_TOO_OLD, 1,
				    "timestamp %s is too old (more than "
				    "%s before the receiver's clock)",
				    time_text(ts, t, sizeof(t)),
				    duration_text(lim->max_age_ns, d,
						  sizeof(d)));
	return 0;
}

static int
is_level_name(const struct lt_label *l)
{
	return l->name_len == LT_LEVEL_NAME_LEN &&
	       memcmp(l->name, LT_LEVEL_NAME, LT_LEVEL_NAME_LEN) == 0;
}

/* Checks structured metadata and copies it, sorted, into p->meta. */
static int
check_metadata(struct lt_push_parse *p, const struct lt_label *md, size_t n,
	       size_t *size_out)
{
	const struct lt_limits *lim = p->lim;
	const struct lt_label *dup;
	char q[LT_QUOTE_BUF];
	size_t i, size = 0;

	if (n > lim->max_metadata_entries)
		return lt_pp_reject(p, LT_REJECT_METADATA_TOO_MANY, 1,
				    "too many structured metadata items "
				    "(%zu, limit %zu)", n,
				    lim->max_metadata_entries);
	for (i = 0; i < n; i++) {
		if (lt_label_name_valid(md[i].name, md[i].name_len) < 0)
			return lt_pp_reject(p, LT_REJECT_INVALID_METADATA, 1,
					    "invalid structured metadata "
					    "name %s (must match "
					    "[a-zA-Z_][a-zA-Z0-9_]*)",
					    lt_pp_quote(q, md[i].name,
							md[i].name_len));
		if (memchr(md[i].value, '\0', md[i].value_len) != NULL)
			return lt_pp_reject(p, LT_REJECT_INVALID_METADATA, 1,
					    "structured metadata %s value "
					    "contains a NUL byte",
					    lt_pp_quote(q, md[i].name,
							md[i].name_len));
		if (!lt_utf8_valid(md[i].value, md[i].value_len))
			return lt_pp_reject(p, LT_REJECT_INVALID_METADATA, 1,
					    "structured metadata %s value "
					    "is not valid UTF-8",
					    lt_pp_quote(q, md[i].name,
							md[i].name_len));
		/* Loki leaves detected_level out of the size, whoever
		 * set it (util.StructuredMetadataSize).  Both lie inside
		 * the body, so the sum cannot wrap. */
		if (!is_level_name(&md[i]))
			size += md[i].name_len + md[i].value_len;
	}
	if (size > lim->max_metadata_size)
		return lt_pp_reject(p, LT_REJECT_METADATA_TOO_LARGE, 1,
				    "structured metadata is too large "
				    "(%zu bytes, limit %zu)", size,
				    lim->max_metadata_size);
	if (reserve(&p->meta, &p->cap_meta, n) < 0)
		return lt_pp_oom(p);
	if (n > 0)
		memcpy(p->meta, md, n * sizeof(*md));
	sort_labels(p->meta, n);
	dup = duplicate(p->meta, n);
	if (dup != NULL)
		return lt_pp_reject(p, LT_REJECT_INVALID_METADATA, 1,
				    "duplicate structured metadata name %s",
				    lt_pp_quote(q, dup->name, dup->name_len));
	*size_out = size;
	return 0;
}

/* Loki's discover_log_levels, after the entry passed its checks: the
 * n sorted pairs of p->meta get detected_level (level.h), which the
 * limits do not count.  One the client sent is normalized and kept; an
 * empty one, which Loki drops before it looks, is filled in.  Returns
 * 0, or -1 when out of memory. */
static int
add_level(struct lt_push_parse *p, size_t *n, const char *line, size_t len)
{
	struct lt_label *m = p->meta;
	const char *level;
	size_t at, level_len;

	for (at = 0; at < *n && label_cmp(&m[at], &level_label) < 0; at++)
		;
	if (at < *n && is_level_name(&m[at]) && m[at].value_len > 0) {
		m[at].value = lt_level_normalize(m[at].value, m[at].value_len,
						 &m[at].value_len);
		return 0;
	}
	level = lt_level_detect(p->labels, p->n_labels, m, *n, line, len,
				&level_len);
	if (level == NULL)
		return 0;
	if (at == *n || !is_level_name(&m[at])) {
		if (reserve(&p->meta, &p->cap_meta, *n + 1) < 0)
			return -1;
		m = p->meta;
		memmove(m + at + 1, m + at, (*n - at) * sizeof(*m));
		m[at] = level_label;
		(*n)++;
	}
	m[at].value = level;
	m[at].value_len = level_len;
	return 0;
}

static int
send_entry(struct lt_push_parse *p, const struct lt_entry *e)
{
	const struct lt_sink *s = p->sink;

	if (s == NULL)
		return 0;
	if (!p->stream_sent && s->stream != NULL &&
	    s->stream(s->ctx, p->labels, p->n_labels) < 0)
		return -1;
	p->stream_sent = 1;
	if (s->entry != NULL && s->entry(s->ctx, e) < 0)
		return -1;
	return 0;
}

int
lt_pp_entry(struct lt_push_parse *p, int64_t ts_ns, const char *line,
	    size_t line_len, const struct lt_label *metadata, size_t n_meta)
{
	struct lt_entry e;
	size_t md_size = 0;
	int rc;

	if (check_time(p, ts_ns) != 0)
		return 1;
	if (line_len > p->lim->max_line_size)
		return lt_pp_reject(p, LT_REJECT_LINE_TOO_LONG, 1,
				    "line too long (%zu bytes, limit %zu)",
				    line_len, p->lim->max_line_size);
	rc = check_metadata(p, metadata, n_meta, &md_size);
	if (rc != 0)
		return rc;
	if (p->lim->discover_log_levels &&
	    add_level(p, &n_meta, line, line_len) < 0)
		return lt_pp_oom(p);
	e.ts_ns = ts_ns;
	e.line = line;
	e.line_len = line_len;
	e.metadata = n_meta > 0 ? p->meta : NULL;
	e.n_metadata = n_meta;
	if (send_entry(p, &e) < 0)
		return lt_pp_oom(p);
	p->res->accepted++;
	p->res->accepted_bytes += line_len + md_size;
	return 0;
}

int
lt_pp_stream_text(struct lt_push_parse *p, const char *text, size_t len,
		  size_t n_entries)
{
	size_t max = p->lim->max_label_names, n, dropped;
	char why[256];
	char *scratch;

	if (count_stream(p) < 0)
		return -1;
	if (len > p->cap_scratch) {
		scratch = realloc(p->scratch, len);
		if (scratch == NULL)
			return lt_pp_oom(p);
		p->scratch = scratch;
		p->cap_scratch = len;
	}
	if (reserve(&p->text_labels, &p->cap_text_labels, max) < 0)
		return lt_pp_oom(p);
	if (lt_labels_parse_set(text, len, p->scratch, p->text_labels, max, &n,
				&dropped, why, sizeof(why)) < 0)
		return lt_pp_reject(p, LT_REJECT_INVALID_LABELS, n_entries,
				    "invalid labels: %s", why);
	p->empty_labels += dropped;
	if (n > max) /* counted but not stored */
		return lt_pp_reject(p, LT_REJECT_TOO_MANY_LABELS, n_entries,
				    "too many labels (%zu, limit %zu)",
				    n, max);
	return check_stream(p, p->text_labels, n, n_entries);
}
