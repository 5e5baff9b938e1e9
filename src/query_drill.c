/* Grafana's endpoints beyond queries: /index/volume and volume_range
 * (the bytes of the matching streams per label set, in ClickHouse),
 * /detected_labels (the streams index) and /detected_fields (the
 * entries of a log query, read through query.c and parsed here as Loki's
 * query frontend does), answered in Loki 3's shapes. */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "labels.h"
#include "logql.h"
#include "pipeline.h"
#include "query.h"
#include "query_drill.h"
#include "query_int.h"

/* volume_max_series, Loki's default: more groups in one bucket fail. */
#define VOLUME_MAX_SERIES 1000
#define NS_PER_MS INT64_C(1000000)

/* The byte at off of b; a buffer never written to has no data at all,
 * and pointer arithmetic on NULL is undefined even by 0. */
static const unsigned char *
buf_at(const struct lt_buf *b, size_t off)
{
	static const unsigned char none[1];

	return b->data != NULL ? b->data + off : none;
}

static int
write_answer(const struct lt_query_sink *sink, const struct lt_buf *json,
	     struct lt_query_error *err)
{
	if (sink->write(sink->ctx, json->data, json->len) != 0)
		return lt_query_fail(err, 500, "the answer could not be written");
	return 0;
}

/* --- Go's parsers, as far as Loki's type detection uses them --- */

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Whether s[0..len) is lit, ignoring ASCII case. */
static int
equal_fold(const char *s, size_t len, const char *lit)
{
	size_t i;

	if (strlen(lit) != len)
		return 0;
	for (i = 0; i < len; i++)
		if (lower(s[i]) != lit[i])
			return 0;
	return 1;
}

/* strconv.ParseInt(s, 10, 64) succeeds. */
static int
go_int(const char *s, size_t len)
{
	size_t i = 0;
	uint64_t v = 0, max;
	int neg = 0;

	if (i < len && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	if (i == len)
		return 0;
	max = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < len; i++) {
		if (!is_digit(s[i]))
			return 0;
		if (v > (max - (uint64_t)(s[i] - '0')) / 10)
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	return 1;
}

/* strconv.ParseFloat(s, 64) succeeds, for decimal numbers, Inf, Infinity
 * and NaN (hexadecimal floats and underscores aside).  A number too large
 * for a float64 is an error in Go too. */
static int
go_float(const char *s, size_t len)
{
	size_t i = 0, digits = 0;
	char buf[64];
	double v;

	if (i < len && (s[i] == '+' || s[i] == '-'))
		i++;
	if (equal_fold(s + i, len - i, "inf") ||
	    equal_fold(s + i, len - i, "infinity"))
		return 1;
	if (equal_fold(s, len, "nan"))
		return 1;
	for (; i < len && is_digit(s[i]); i++)
		digits++;
	if (i < len && s[i] == '.')
		for (i++; i < len && is_digit(s[i]); i++)
			digits++;
	if (digits == 0)
		return 0;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i == len || !is_digit(s[i]))
			return 0;
		while (i < len && is_digit(s[i]))
			i++;
	}
	if (i != len)
		return 0;
	if (len >= sizeof(buf))
		return 1;   /* long digit strings: huge only with an exponent */
	memcpy(buf, s, len);
	buf[len] = '\0';
	v = strtod(buf, NULL);
	return !isinf(v);
}

/* strconv.ParseBool. */
static int
go_bool(const char *s, size_t len)
{
	static const char *const words[] = {
		"1", "t", "T", "TRUE", "true", "True",
		"0", "f", "F", "FALSE", "false", "False",
	};
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strlen(words[i]) == len && memcmp(words[i], s, len) == 0)
			return 1;
	return 0;
}

/* The nanoseconds of a time.ParseDuration unit, or 0. */
static uint64_t
duration_unit(const char *u, size_t len)
{
	static const struct {
		const char *name;
		uint64_t ns;
	} units[] = {
		{"ns", 1}, {"us", 1000}, {"\xc2\xb5s", 1000}, {"\xce\xbcs", 1000},
		{"ms", 1000000}, {"s", 1000000000}, {"m", UINT64_C(60000000000)},
		{"h", UINT64_C(3600000000000)},
	};
	size_t i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i].name) == len &&
		    memcmp(units[i].name, u, len) == 0)
			return units[i].ns;
	return 0;
}

/* time.ParseDuration succeeds: [-+]?([0-9]*(\.[0-9]*)?unit)+, or "0",
 * at most 1<<63 - 1 ns (1<<63 with the sign). */
static int
go_duration(const char *s, size_t len)
{
	const uint64_t limit = (uint64_t)1 << 63;
	uint64_t total = 0, v, unit;
	size_t i = 0, start, u;
	double frac, scale;
	int neg = 0, pre, post;

	if (i < len && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	if (len - i == 1 && s[i] == '0')
		return 1;
	if (i == len)
		return 0;
	while (i < len) {
		if (s[i] != '.' && !is_digit(s[i]))
			return 0;
		for (v = 0, start = i; i < len && is_digit(s[i]); i++) {
			if (v > (limit - 1) / 10)
				return 0;
			v = v * 10 + (uint64_t)(s[i] - '0');
			if (v > limit)
				return 0;
		}
		pre = i > start;
		frac = 0;
		scale = 1;
		post = 0;
		if (i < len && s[i] == '.') {
			for (i++, start = i; i < len && is_digit(s[i]); i++) {
				frac = frac * 10 + (s[i] - '0');
				scale *= 10;
			}
			post = i > start;
		}
		if (!pre && !post)
			return 0;
		for (u = i; i < len && s[i] != '.' && !is_digit(s[i]); i++)
			;
		if ((unit = duration_unit(s + u, i - u)) == 0)
			return 0;
		if (v > limit / unit)
			return 0;
		v = v * unit + (uint64_t)(frac * ((double)unit / scale));
		if (v > limit || (total += v) > limit)
			return 0;
	}
	return neg || total <= limit - 1;
}

int
lt_humanize_parse_bytes(const char *v, size_t len, uint64_t *bytes)
{
	static const struct {
		const char *name;
		double mult;
	} sizes[] = {
		{"b", 1}, {"", 1},
		{"kib", 1024.0}, {"kb", 1e3}, {"ki", 1024.0}, {"k", 1e3},
		{"mib", 1048576.0}, {"mb", 1e6}, {"mi", 1048576.0}, {"m", 1e6},
		{"gib", 1073741824.0}, {"gb", 1e9}, {"gi", 1073741824.0}, {"g", 1e9},
		{"tib", 1099511627776.0}, {"tb", 1e12}, {"ti", 1099511627776.0},
		{"t", 1e12},
		{"pib", 1125899906842624.0}, {"pb", 1e15}, {"pi", 1125899906842624.0},
		{"p", 1e15},
		{"eib", 1152921504606846976.0}, {"eb", 1e18},
		{"ei", 1152921504606846976.0}, {"e", 1e18},
	};
	char num[64];
	size_t i, n = 0, a, b;
	double f;

	for (i = 0; i < len && (is_digit(v[i]) || v[i] == '.' || v[i] == ',');
	     i++)
		if (v[i] != ',' && n + 1 < sizeof(num))
			num[n++] = v[i];
	num[n] = '\0';
	if (n == 0 || n + 1 >= sizeof(num) || !go_float(num, n))
		return -1;
	f = strtod(num, NULL);
	/* strings.TrimSpace, then the unit in lower case */
	for (a = i; a < len && (v[a] == ' ' || v[a] == '\t' || v[a] == '\n' ||
				v[a] == '\r' || v[a] == '\v' || v[a] == '\f'); a++)
		;
	for (b = len; b > a && (v[b - 1] == ' ' || v[b - 1] == '\t' ||
				v[b - 1] == '\n' || v[b - 1] == '\r' ||
				v[b - 1] == '\v' || v[b - 1] == '\f'); b--)
		;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if (!equal_fold(v + a, b - a, sizes[i].name))
			continue;
		f *= sizes[i].mult;
		if (f >= 18446744073709551615.0)
			return -1;
		*bytes = (uint64_t)f;
		return 0;
	}
	return -1;
}

void
lt_humanize_bytes(uint64_t bytes, char *buf, size_t len)
{
	static const char *const sizes[] = {"B", "kB", "MB", "GB", "TB", "PB",
					    "EB"};
	double e, val;

	if (bytes < 10) {
		(void)snprintf(buf, len, "%" PRIu64 " B", bytes);
		return;
	}
	e = floor(log((double)bytes) / log(1000.0));
	if (e > 6)
		e = 6;
	val = floor((double)bytes / pow(1000.0, e) * 10 + 0.5) / 10;
	(void)snprintf(buf, len, val < 10 ? "%.1f %s" : "%.0f %s", val,
		       sizes[(int)e]);
}

const char *
lt_field_type(const char *v, size_t len)
{
	uint64_t bytes;

	if (go_int(v, len))
		return "int";
	if (go_float(v, len))
		return "float";
	if (go_bool(v, len))
		return "boolean";
	if (go_duration(v, len))
		return "duration";
	if (lt_humanize_parse_bytes(v, len, &bytes) == 0)
		return "bytes";
	return "string";
}

/* --- Volume ---------------------------------------------------------------- */

/* A group of streams: its name as Loki writes it (a label set's text
 * {a="b", c="d"}, or a label name) and its "metric" object. */
struct vol_series {
	size_t name_off, name_len;
	size_t metric_off, metric_len;
	uint64_t hash;
	uint64_t first;        /* bytes of its earliest bucket */
	size_t n_samples;
};

struct vol_sample {
	uint32_t series;
	int64_t ts_ms;
	uint64_t bytes;
};

struct volume_run {
	const struct lt_volume_request *req;
	struct lt_buf text;               /* names and metric objects */
	struct vol_series *series;
	size_t n_series, cap_series;
	uint32_t *slots;                  /* series index + 1, by name hash */
	size_t cap_slots;
	struct vol_sample *bucket;        /* the rows of the bucket being read */
	size_t n_bucket, cap_bucket;
	int64_t bucket_id;
	struct vol_sample *samples;       /* those kept */
	size_t n_samples, cap_samples;
	struct lt_strings cells;
	struct lt_buf scratch;
	struct lt_label *lbl;
	size_t cap_lbl;
};

static int
grow(void **p, size_t *cap, size_t n, size_t size)
{
	void *q;
	size_t c;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 64;
	q = realloc(*p, c * size);
	if (q == NULL)
		return -1;
	*p = q;
	*cap = c;
	return 0;
}

static const char *
series_name(const struct volume_run *v, const struct vol_series *s)
{
	return (const char *)v->text.data + s->name_off;
}

/* Places series i in a table of cap slots. */
static void
slot_put(uint32_t *slots, size_t cap, uint64_t hash, uint32_t i)
{
	size_t j = hash & (cap - 1);

	while (slots[j] != 0)
		j = (j + 1) & (cap - 1);
	slots[j] = i + 1;
}

static int
slots_room(struct volume_run *v)
{
	uint32_t *slots;
	size_t cap, i;

	if ((v->n_series + 1) * 2 <= v->cap_slots)
		return 0;
	cap = v->cap_slots ? v->cap_slots * 2 : 256;
	slots = calloc(cap, sizeof(*slots));
	if (slots == NULL)
		return -1;
	for (i = 0; i < v->n_series; i++)
		slot_put(slots, cap, v->series[i].hash, (uint32_t)i);
	free(v->slots);
	v->slots = slots;
	v->cap_slots = cap;
	return 0;
}

/* The series whose name is the last name_len bytes of v->text before
 * metric_off, and whose metric object follows it; made when new (the
 * text then stays), dropped from the text when known.  -1: no memory. */
static long
series_intern(struct volume_run *v, size_t name_off, size_t name_len,
	      size_t metric_off)
{
	uint64_t hash = lt_fnv1a(LT_FNV_BASIS, v->text.data + name_off, name_len);
	struct vol_series *s;
	size_t j;

	if (slots_room(v) < 0)
		return -1;
	for (j = hash & (v->cap_slots - 1); v->slots[j] != 0;
	     j = (j + 1) & (v->cap_slots - 1)) {
		s = &v->series[v->slots[j] - 1];
		if (s->hash == hash && s->name_len == name_len &&
		    memcmp(series_name(v, s), v->text.data + name_off,
			   name_len) == 0) {
			v->text.len = name_off;
			return (long)(v->slots[j] - 1);
		}
	}
	if (v->n_series >= UINT32_MAX - 1 ||
	    grow((void **)&v->series, &v->cap_series, v->n_series,
		 sizeof(*v->series)) < 0)
		return -1;
	s = &v->series[v->n_series];
	memset(s, 0, sizeof(*s));
	s->name_off = name_off;
	s->name_len = name_len;
	s->metric_off = metric_off;
	s->metric_len = v->text.len - metric_off;
	s->hash = hash;
	v->slots[j] = (uint32_t)v->n_series + 1;
	return (long)v->n_series++;
}

/* The label set of a series group: {a="b", c="d"} and {"a":"b","c":"d"}. */
static long
series_of_labels(struct volume_run *v, const char *cell, size_t len)
{
	const char *text, *eq;
	size_t i, name_off = v->text.len, name_len, metric_off;
	struct lt_label *l;
	int rc = 0;

	lt_buf_reset(&v->cells.text);
	v->cells.n = 0;
	if ((rc = lt_tsv_array(cell, len, &v->cells, NULL, 0)) < 0)
		return rc == -2 ? -1 : -2;
	if (grow((void **)&v->lbl, &v->cap_lbl, v->cells.n, sizeof(*v->lbl)) < 0)
		return -1;
	text = (const char *)v->cells.text.data;
	for (i = 0; i < v->cells.n; i++) {
		l = &v->lbl[i];
		l->name = text + v->cells.items[i].off;
		eq = memchr(l->name, '=', v->cells.items[i].len);
		if (eq == NULL)
			return -2;
		l->name_len = (size_t)(eq - l->name);
		l->value = eq + 1;
		l->value_len = v->cells.items[i].len - l->name_len - 1;
	}
	if (v->cells.n > 1)
		qsort(v->lbl, v->cells.n, sizeof(*v->lbl), lt_label_cmp);
	rc |= lt_buf_append_byte(&v->text, '{');
	for (i = 0; i < v->cells.n; i++) {
		rc |= lt_buf_append(&v->text, ", ", i > 0 ? 2 : 0);
		rc |= lt_buf_append(&v->text, v->lbl[i].name, v->lbl[i].name_len);
		rc |= lt_buf_append_byte(&v->text, '=');
		rc |= lt_go_quote(&v->text, v->lbl[i].value, v->lbl[i].value_len);
	}
	rc |= lt_buf_append_byte(&v->text, '}');
	name_len = v->text.len - name_off;
	metric_off = v->text.len;
	rc |= lt_buf_append_byte(&v->text, '{');
	for (i = 0; i < v->cells.n; i++) {
		rc |= lt_buf_append(&v->text, ",", i > 0);
		rc |= lt_json_quote(&v->text, v->lbl[i].name, v->lbl[i].name_len);
		rc |= lt_buf_append_byte(&v->text, ':');
		rc |= lt_json_quote(&v->text, v->lbl[i].value, v->lbl[i].value_len);
	}
	rc |= lt_buf_append_byte(&v->text, '}');
	if (rc != 0)
		return -1;
	return series_intern(v, name_off, name_len, metric_off);
}

/* aggregateBy=labels: the group is a label name, its metric {"name":""}. */
static long
series_of_name(struct volume_run *v, const char *cell, size_t len)
{
	size_t name_off = v->text.len, name_len, metric_off;
	int rc = 0;

	rc |= lt_tsv_unescape(&v->text, cell, len);
	name_len = v->text.len - name_off;
	metric_off = v->text.len;
	lt_buf_reset(&v->scratch);
	rc |= lt_buf_append(&v->scratch, v->text.data + name_off, name_len);
	rc |= lt_buf_append_byte(&v->text, '{');
	rc |= lt_json_quote(&v->text, (const char *)v->scratch.data,
			    v->scratch.len);
	rc |= lt_buf_append(&v->text, ":\"\"}", 4);
	if (rc != 0)
		return -1;
	return series_intern(v, name_off, name_len, metric_off);
}

/* The time Loki gives bucket b: the end of the range for an instant
 * query and for the last bucket, else a millisecond before the next
 * step (util.ForInterval keeps a 1ms gap between splits). */
static int64_t
bucket_ms(const struct lt_volume_request *req, int64_t b)
{
	int64_t next;

	if (req->step_ns <= 0)
		return req->range.end_ns / NS_PER_MS;
	next = (b + 1) * req->step_ns;
	if (next >= req->range.end_ns)
		return req->range.end_ns / NS_PER_MS;
	return next / NS_PER_MS - 1;
}

static const struct volume_run *sorting_run;

/* Largest first, then by name (seriesvolume.MapToVolumeResponse). */
static int
bucket_order(const void *a, const void *b)
{
	const struct vol_sample *x = a, *y = b;
	const struct vol_series *sx = &sorting_run->series[x->series];
	const struct vol_series *sy = &sorting_run->series[y->series];
	size_t n = sx->name_len < sy->name_len ? sx->name_len : sy->name_len;
	int c;

	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	c = memcmp(series_name(sorting_run, sx), series_name(sorting_run, sy), n);
	if (c != 0)
		return c;
	return sx->name_len < sy->name_len ? -1 : sx->name_len > sy->name_len;
}

/* The bucket read: its limit largest groups become samples. */
static int
bucket_end(struct volume_run *v, struct lt_query_error *err)
{
	size_t i, keep;

	if (v->n_bucket > VOLUME_MAX_SERIES) {
		(void)snprintf(err->message, sizeof(err->message),
			       "the query hit the max number of series limit "
			       "(limit: %d series)", VOLUME_MAX_SERIES);
		err->status = 400;
		return -1;
	}
	sorting_run = v;
	if (v->n_bucket > 1)
		qsort(v->bucket, v->n_bucket, sizeof(*v->bucket), bucket_order);
	keep = v->n_bucket < v->req->limit ? v->n_bucket : v->req->limit;
	for (i = 0; i < keep; i++) {
		if (grow((void **)&v->samples, &v->cap_samples, v->n_samples,
			 sizeof(*v->samples)) < 0)
			return lt_query_no_memory(err);
		v->samples[v->n_samples] = v->bucket[i];
		v->samples[v->n_samples].ts_ms = bucket_ms(v->req, v->bucket_id);
		v->n_samples++;
	}
	v->n_bucket = 0;
	return 0;
}

/* "b TAB k TAB bytes" */
static int
volume_row(void *ctx, const char *line, size_t len, struct lt_query_error *err)
{
	struct volume_run *v = ctx;
	const char *tab1 = memchr(line, '\t', len), *tab2 = NULL;
	char num[32];
	int64_t b;
	uint64_t bytes;
	long s;

	if (tab1 != NULL)
		for (tab2 = line + len; tab2 > tab1 && tab2[-1] != '\t'; tab2--)
			;
	if (tab1 == NULL || tab2 == NULL || tab2 - 1 <= tab1 ||
	    (size_t)(tab1 - line) >= sizeof(num) ||
	    (size_t)(line + len - tab2) >= sizeof(num))
		return lt_query_fail(err, 502, "ClickHouse's answer could not be read: a volume row is not 3 cells");
	memcpy(num, line, (size_t)(tab1 - line));
	num[tab1 - line] = '\0';
	b = strtoll(num, NULL, 10);
	memcpy(num, tab2, (size_t)(line + len - tab2));
	num[line + len - tab2] = '\0';
	bytes = strtoull(num, NULL, 10);
	if (v->n_bucket > 0 && b != v->bucket_id && bucket_end(v, err) < 0)
		return -1;
	v->bucket_id = b;
	s = v->req->aggregate_by_labels ?
		series_of_name(v, tab1 + 1, (size_t)(tab2 - 1 - tab1 - 1)) :
		series_of_labels(v, tab1 + 1, (size_t)(tab2 - 1 - tab1 - 1));
	if (s == -2)
		return lt_query_fail(err, 502, "ClickHouse's answer could not be read: a volume group is no label array");
	if (s < 0 || grow((void **)&v->bucket, &v->cap_bucket, v->n_bucket,
			  sizeof(*v->bucket)) < 0)
		return lt_query_no_memory(err);
	v->bucket[v->n_bucket].series = (uint32_t)s;
	v->bucket[v->n_bucket].bytes = bytes;
	v->n_bucket++;
	return 0;
}

/* Loki's order of the answer: by the earliest bucket's bytes, largest
 * first, then by name (queryrange toPrometheusData). */
static int
series_order(const void *a, const void *b)
{
	const struct vol_series *sx = &sorting_run->series[*(const uint32_t *)a];
	const struct vol_series *sy = &sorting_run->series[*(const uint32_t *)b];
	size_t n = sx->name_len < sy->name_len ? sx->name_len : sy->name_len;
	int c;

	if (sx->first != sy->first)
		return sx->first > sy->first ? -1 : 1;
	c = memcmp(series_name(sorting_run, sx), series_name(sorting_run, sy), n);
	if (c != 0)
		return c;
	return sx->name_len < sy->name_len ? -1 : sx->name_len > sy->name_len;
}

/* A Prometheus model.Time: seconds, the milliseconds without trailing
 * zeros. */
static int
write_time(struct lt_buf *out, int64_t ms)
{
	int64_t s = ms / 1000, frac = ms % 1000;

	if (frac == 0)
		return lt_buf_printf(out, "%" PRId64, s);
	if (frac % 100 == 0)
		return lt_buf_printf(out, "%" PRId64 ".%01" PRId64, s, frac / 100);
	if (frac % 10 == 0)
		return lt_buf_printf(out, "%" PRId64 ".%02" PRId64, s, frac / 10);
	return lt_buf_printf(out, "%" PRId64 ".%03" PRId64, s, frac);
}

static int
write_sample(struct lt_buf *out, const struct vol_sample *s)
{
	int rc = lt_buf_append_byte(out, '[');

	rc |= write_time(out, s->ts_ms);
	rc |= lt_buf_printf(out, ",\"%" PRIu64 "\"]", s->bytes);
	return rc;
}

/* The samples of each series in time order, the series in Loki's. */
static int
sample_order(const void *a, const void *b)
{
	const struct vol_sample *x = a, *y = b;

	if (x->series != y->series)
		return x->series < y->series ? -1 : 1;
	return x->ts_ms < y->ts_ms ? -1 : x->ts_ms > y->ts_ms;
}

static int
volume_json(struct volume_run *v, struct lt_buf *out)
{
	struct lt_log_stats st;
	uint32_t *order, *rank;
	size_t i, n = 0, k;
	int matrix = 0, rc = 0, first;

	order = calloc(v->n_series + 1, sizeof(*order));
	rank = calloc(v->n_series + 1, sizeof(*rank));
	if (order == NULL || rank == NULL) {
		free(order);
		free(rank);
		return -1;
	}
	for (i = 0; i < v->n_samples; i++) {
		struct vol_series *s = &v->series[v->samples[i].series];

		if (s->n_samples++ == 0)
			s->first = v->samples[i].bytes;   /* buckets come in order */
		matrix |= s->n_samples > 1;
	}
	for (i = 0; i < v->n_series; i++)
		if (v->series[i].n_samples > 0)
			order[n++] = (uint32_t)i;
	sorting_run = v;
	if (n > 1)
		qsort(order, n, sizeof(*order), series_order);
	for (i = 0; i < n; i++)
		rank[order[i]] = (uint32_t)i;
	for (i = 0; i < v->n_samples; i++)
		v->samples[i].series = rank[v->samples[i].series];
	if (v->n_samples > 1)
		qsort(v->samples, v->n_samples, sizeof(*v->samples), sample_order);
	rc |= lt_buf_printf(out, "{\"status\":\"success\",\"data\":{\"resultType\":"
			    "\"%s\",\"result\":[", matrix ? "matrix" : "vector");
	for (i = 0, k = 0; i < n; i++) {
		const struct vol_series *s = &v->series[order[i]];

		rc |= lt_buf_append(out, ",", i > 0);
		rc |= lt_buf_append(out, "{\"metric\":", 10);
		rc |= lt_buf_append(out, v->text.data + s->metric_off, s->metric_len);
		rc |= lt_buf_append(out, matrix ? ",\"values\":[" : ",\"value\":",
				    matrix ? 11 : 9);
		for (first = 1; k < v->n_samples && v->samples[k].series == i;
		     k++, first = 0) {
			rc |= lt_buf_append(out, ",", !first);
			rc |= write_sample(out, &v->samples[k]);
		}
		rc |= lt_buf_append(out, matrix ? "]}" : "}", matrix ? 2 : 1);
	}
	memset(&st, 0, sizeof(st));
	rc |= lt_buf_append(out, "],\"stats\":", 10);
	rc |= lt_query_write_stats(out, &st, 0);
	rc |= lt_buf_append(out, "}}", 2);
	free(order);
	free(rank);
	return rc;
}

static void
volume_free(struct volume_run *v)
{
	lt_buf_free(&v->text);
	free(v->series);
	free(v->slots);
	free(v->bucket);
	free(v->samples);
	lt_strings_free(&v->cells);
	lt_buf_free(&v->scratch);
	free(v->lbl);
}

int
lt_query_volume(struct lt_ch *ch, const struct lt_sql_target *t,
		const struct lt_query_limits *lim,
		const struct lt_volume_request *req,
		const struct lt_query_sink *sink, struct lt_query_error *err)
{
	struct lt_sql_volume sv;
	struct volume_run v;
	struct lt_buf sql = LT_BUF_INIT, json = LT_BUF_INIT;
	int rc = -1;

	memset(&v, 0, sizeof(v));
	v.req = req;
	memset(&sv, 0, sizeof(sv));
	sv.step_ns = req->step_ns;
	sv.target_labels = req->target_labels;
	sv.n_target_labels = req->n_target_labels;
	sv.by_labels = req->aggregate_by_labels;
	/* One more than volume_max_series says a bucket has too many. */
	sv.per_bucket = VOLUME_MAX_SERIES + 1;
	/* Loki's ForInterval makes no bucket of an empty range. */
	if (req->step_ns > 0 && req->range.end_ns <= req->range.start_ns)
		goto write;
	if (lt_sql_volume(&sql, t, req->q, &req->range, &sv) < 0) {
		lt_query_no_memory(err);
		goto done;
	}
	if (lt_query_rows(ch, (const char *)sql.data, lim, volume_row, &v,
			  err) < 0 ||
	    (v.n_bucket > 0 && bucket_end(&v, err) < 0))
		goto done;
write:
	if (volume_json(&v, &json) != 0) {
		lt_query_no_memory(err);
		goto done;
	}
	rc = write_answer(sink, &json, err);
done:
	lt_buf_free(&sql);
	lt_buf_free(&json);
	volume_free(&v);
	return rc;
}

/* --- Detected labels ------------------------------------------------------- */

/* Loki's querier keeps these whatever their values look like. */
static int
static_label(const char *name, size_t len)
{
	static const char *const names[] = {"cluster", "namespace", "instance",
					    "pod"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0)
			return 1;
	return 0;
}

struct labels_run {
	struct lt_buf json;
	struct lt_buf name;
	size_t n;
};

/* "name TAB values TAB others" */
static int
detected_label_row(void *ctx, const char *line, size_t len,
		   struct lt_query_error *err)
{
	struct labels_run *r = ctx;
	const char *tab1 = memchr(line, '\t', len), *tab2;
	uint64_t values, others;
	char num[48];
	size_t rest;

	tab2 = tab1 != NULL ? memchr(tab1 + 1, '\t', len - (size_t)(tab1 + 1 - line))
			    : NULL;
	rest = tab2 != NULL ? (size_t)(line + len - tab2) : 0;
	if (tab2 == NULL || rest >= sizeof(num) ||
	    (size_t)(tab2 - tab1) >= sizeof(num))
		return lt_query_fail(err, 502, "ClickHouse's answer could not be read: a label row is not 3 cells");
	memcpy(num, tab1 + 1, (size_t)(tab2 - tab1));
	num[tab2 - tab1 - 1] = '\0';
	values = strtoull(num, NULL, 10);
	memcpy(num, tab2 + 1, rest - 1);
	num[rest - 1] = '\0';
	others = strtoull(num, NULL, 10);
	lt_buf_reset(&r->name);
	if (lt_tsv_unescape(&r->name, line, (size_t)(tab1 - line)) < 0)
		return lt_query_no_memory(err);
	/* containsAllIDTypes: a label all of whose values are numbers or
	 * UUIDs says nothing to someone exploring. */
	if (others == 0 && !(static_label((const char *)r->name.data,
					  r->name.len) && values > 0))
		return 0;
	if (lt_buf_append(&r->json, r->n > 0 ? "," : "[", 1) < 0 ||
	    lt_buf_append(&r->json, "{\"label\":", 9) < 0 ||
	    lt_json_quote(&r->json, (const char *)r->name.data, r->name.len) < 0 ||
	    lt_buf_printf(&r->json, ",\"cardinality\":%" PRIu64 "}", values) < 0)
		return lt_query_no_memory(err);
	r->n++;
	return 0;
}

int
lt_query_detected_labels(struct lt_ch *ch, const struct lt_sql_target *t,
			 const struct lt_query_limits *lim,
			 const struct lt_logql *q, const struct lt_sql_range *r,
			 const struct lt_query_sink *sink,
			 struct lt_query_error *err)
{
	struct lt_buf sql = LT_BUF_INIT;
	struct labels_run run;
	int rc = -1;

	memset(&run, 0, sizeof(run));
	if (lt_sql_detected_labels(&sql, t, q, r) < 0 ||
	    lt_buf_append(&run.json, "{\"detectedLabels\":", 18) < 0) {
		lt_query_no_memory(err);
		goto done;
	}
	if (lt_query_rows(ch, (const char *)sql.data, lim, detected_label_row,
			  &run, err) < 0)
		goto done;
	/* The list is omitempty in Loki's answer: none is {}. */
	if (run.n == 0) {
		lt_buf_reset(&run.json);
		if (lt_buf_append(&run.json, "{}", 2) < 0) {
			lt_query_no_memory(err);
			goto done;
		}
	} else if (lt_buf_append(&run.json, "]}", 2) < 0) {
		lt_query_no_memory(err);
		goto done;
	}
	rc = write_answer(sink, &run.json, err);
done:
	lt_buf_free(&sql);
	lt_buf_free(&run.json);
	lt_buf_free(&run.name);
	return rc;
}

/* --- Detected fields ------------------------------------------------------- */

/* Strings, each once, found by their hash. */
struct strtab {
	struct lt_buf text;
	struct lt_span *items;
	uint64_t *hashes;
	size_t n, cap;
	uint32_t *slots;
	size_t cap_slots;
};

static const char *
strtab_at(const struct strtab *t, size_t i, size_t *len)
{
	*len = t->items[i].len;
	return (const char *)t->text.data + t->items[i].off;
}

static int
strtab_room(struct strtab *t)
{
	uint32_t *slots;
	size_t cap, i, j;

	if ((t->n + 1) * 2 <= t->cap_slots)
		return 0;
	cap = t->cap_slots ? t->cap_slots * 2 : 64;
	if ((slots = calloc(cap, sizeof(*slots))) == NULL)
		return -1;
	for (i = 0; i < t->n; i++) {
		for (j = t->hashes[i] & (cap - 1); slots[j] != 0; j = (j + 1) & (cap - 1))
			;
		slots[j] = (uint32_t)i + 1;
	}
	free(t->slots);
	t->slots = slots;
	t->cap_slots = cap;
	return 0;
}

/* The index of s; added when add is set.  -1: absent, -2: no memory. */
static long
strtab_find(struct strtab *t, const char *s, size_t len, int add)
{
	uint64_t h = lt_fnv1a(LT_FNV_BASIS, s, len);
	size_t j, n;
	const char *x;

	if (strtab_room(t) < 0)
		return -2;
	for (j = h & (t->cap_slots - 1); t->slots[j] != 0;
	     j = (j + 1) & (t->cap_slots - 1)) {
		x = strtab_at(t, t->slots[j] - 1, &n);
		if (t->hashes[t->slots[j] - 1] == h && n == len &&
		    memcmp(x, s, len) == 0)
			return (long)(t->slots[j] - 1);
	}
	if (!add)
		return -1;
	if (t->n >= UINT32_MAX - 1 ||
	    grow((void **)&t->items, &t->cap, t->n, sizeof(*t->items)) < 0)
		return -2;
	if ((t->hashes = realloc(t->hashes, t->cap * sizeof(*t->hashes))) == NULL)
		return -2;
	t->items[t->n].off = t->text.len;
	t->items[t->n].len = len;
	t->hashes[t->n] = h;
	if (lt_buf_append(&t->text, s, len) < 0)
		return -2;
	t->slots[j] = (uint32_t)t->n + 1;
	return (long)t->n++;
}

static void
strtab_free(struct strtab *t)
{
	lt_buf_free(&t->text);
	free(t->items);
	free(t->hashes);
	free(t->slots);
}

/* The distinct values of a field, by their 64-bit hashes: cardinality,
 * exact where Loki estimates it with HyperLogLog. */
struct hset {
	uint64_t *v;
	size_t n, cap;
};

static int
hset_add(struct hset *s, uint64_t h)
{
	uint64_t *v;
	size_t cap, i, j;

	h |= 1;   /* 0 marks an empty slot */
	if ((s->n + 1) * 2 > s->cap) {
		cap = s->cap ? s->cap * 2 : 16;
		if ((v = calloc(cap, sizeof(*v))) == NULL)
			return -1;
		for (i = 0; i < s->cap; i++) {
			if (s->v[i] == 0)
				continue;
			for (j = s->v[i] & (cap - 1); v[j] != 0; j = (j + 1) & (cap - 1))
				;
			v[j] = s->v[i];
		}
		free(s->v);
		s->v = v;
		s->cap = cap;
	}
	for (j = h & (s->cap - 1); s->v[j] != 0; j = (j + 1) & (s->cap - 1))
		if (s->v[j] == h)
			return 0;
	s->v[j] = h;
	s->n++;
	return 0;
}

enum parser { PARSER_NONE = 0, PARSER_JSON = 1, PARSER_LOGFMT = 2 };

struct field {
	const char *type;
	unsigned char parsers[2];   /* in the order first seen */
	size_t n_parsers;
	struct lt_buf path;         /* jsonPath: its keys, lt_buf_append_string */
	int has_path;
	struct hset values;
};

/* An entry, kept until the answer is written. */
struct fentry {
	int64_t ts_ns;
	size_t seq;
	size_t key_off, key_len;    /* its stream's labels' text, in keys */
	size_t obs_off, obs_len;    /* what was found, in obs */
	enum parser parser;         /* that read its line */
};

/* One finding of an entry while it is read. */
struct obs {
	char kind;                  /* 'm' metadata, 'q' the query's parsers, 'p' the line's */
	const char *name, *value;
	size_t name_len, value_len;
};

struct lt_fields {
	size_t limit;
	char *values_of;
	struct lt_pipeline *json, *logfmt;
	struct fentry *entries;
	size_t n_entries, cap_entries;
	struct lt_buf keys, obs, paths;
	struct obs *tmp;
	size_t cap_tmp;
	int oom;
	struct strtab names;        /* fields, by name */
	struct field *fields;
	size_t cap_fields;
	struct strtab values;       /* values_of: its values */
};

static struct lt_pipeline *
parser_pipeline(const char *text, char *why, size_t whylen)
{
	struct lt_logql *q = lt_logql_parse(text, strlen(text), why, whylen);
	struct lt_pipeline *p;

	if (q == NULL)
		return NULL;
	p = lt_pipeline_new(q, NULL, why, whylen);
	lt_logql_free(q);
	return p;
}

/* json's leaves: "label, n keys, keys" records in paths. */
static void
json_leaf_path(void *ctx, const char *label, size_t len,
	       const struct lt_pl_json_key *path, size_t n)
{
	struct lt_fields *f = ctx;
	size_t i;
	int rc = 0;

	rc |= lt_buf_append_string(&f->paths, label, len);
	rc |= lt_buf_append_varint(&f->paths, n);
	for (i = 0; i < n; i++)
		rc |= lt_buf_append_string(&f->paths, path[i].key, path[i].len);
	if (rc != 0)
		f->oom = 1;
}

struct lt_fields *
lt_fields_new(size_t field_limit, const char *values_of, char *why,
	      size_t whylen)
{
	struct lt_fields *f = calloc(1, sizeof(*f));

	if (f == NULL)
		goto oom;
	f->limit = field_limit;
	if (values_of != NULL && (f->values_of = strdup(values_of)) == NULL)
		goto oom;
	f->json = parser_pipeline("{x=\"y\"} | json", why, whylen);
	f->logfmt = parser_pipeline("{x=\"y\"} | logfmt", why, whylen);
	if (f->json == NULL || f->logfmt == NULL) {
		lt_fields_free(f);
		return NULL;
	}
	lt_pipeline_json_paths(f->json, json_leaf_path, f);
	return f;
oom:
	lt_fields_free(f);
	(void)snprintf(why, whylen, "out of memory");
	return NULL;
}

void
lt_fields_free(struct lt_fields *f)
{
	size_t i;

	if (f == NULL)
		return;
	free(f->values_of);
	if (f->json != NULL)
		lt_pipeline_free(f->json);
	if (f->logfmt != NULL)
		lt_pipeline_free(f->logfmt);
	free(f->entries);
	lt_buf_free(&f->keys);
	lt_buf_free(&f->obs);
	lt_buf_free(&f->paths);
	free(f->tmp);
	for (i = 0; i < f->names.n; i++) {
		lt_buf_free(&f->fields[i].path);
		free(f->fields[i].values.v);
	}
	free(f->fields);
	strtab_free(&f->names);
	strtab_free(&f->values);
	free(f);
}

static int
has_name(const struct lt_label *l, size_t n, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (l[i].name_len == len && memcmp(l[i].name, name, len) == 0)
			return 1;
	return 0;
}

/* Loki leaves its error labels out of the fields. */
static int
error_label(const char *name, size_t len)
{
	return (len == 9 && memcmp(name, "__error__", 9) == 0) ||
	       (len == 17 && memcmp(name, "__error_details__", 17) == 0) ||
	       (len == 18 && memcmp(name, "__preserve_error__", 18) == 0);
}

static int
tmp_push(struct lt_fields *f, size_t *n, char kind, const struct lt_label *l)
{
	if (grow((void **)&f->tmp, &f->cap_tmp, *n, sizeof(*f->tmp)) < 0)
		return -1;
	f->tmp[*n].kind = kind;
	f->tmp[*n].name = l->name;
	f->tmp[*n].name_len = l->name_len;
	f->tmp[*n].value = l->value;
	f->tmp[*n].value_len = l->value_len;
	(*n)++;
	return 0;
}

/* What json, else logfmt, finds in the line (Loki's parseEntry): the
 * labels a parser added to the stream's, and which parser it was. */
static int
parse_line(struct lt_fields *f, const struct lt_fields_entry *e, size_t *n,
	   enum parser *parser)
{
	struct lt_pl_input in;
	struct lt_pl_output out;
	size_t i;

	memset(&in, 0, sizeof(in));
	in.ts_ns = e->ts_ns;
	in.line = e->line;
	in.line_len = e->line_len;
	in.labels = e->stream;
	in.n_labels = e->n_stream;
	lt_buf_reset(&f->paths);
	*parser = PARSER_JSON;
	if (lt_pipeline_run(f->json, &in, &out) < 0 || f->oom)
		return -1;
	if (has_name(out.labels, out.n_labels, "__error__", 9)) {
		*parser = PARSER_LOGFMT;
		if (lt_pipeline_run(f->logfmt, &in, &out) < 0)
			return -1;
		if (has_name(out.labels, out.n_labels, "__error__", 9)) {
			*parser = PARSER_NONE;
			return 0;
		}
	}
	for (i = 0; i < out.n_labels; i++)
		if (!has_name(e->stream, e->n_stream, out.labels[i].name,
			      out.labels[i].name_len) &&
		    !error_label(out.labels[i].name, out.labels[i].name_len) &&
		    tmp_push(f, n, 'p', &out.labels[i]) < 0)
			return -1;
	return 0;
}

static int
obs_order(const void *a, const void *b)
{
	const struct obs *x = a, *y = b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c;

	/* metadata first, as Loki reads it first */
	if ((x->kind == 'm') != (y->kind == 'm'))
		return x->kind == 'm' ? -1 : 1;
	c = memcmp(x->name, y->name, n);
	if (c != 0)
		return c;
	if (x->name_len != y->name_len)
		return x->name_len < y->name_len ? -1 : 1;
	return x->kind < y->kind ? -1 : x->kind > y->kind;
}

/* Appends the path json found for label name (the last one), as
 * "n keys, keys"; 0 keys when it has none. */
static int
append_path(struct lt_fields *f, const char *name, size_t len)
{
	const unsigned char *p = buf_at(&f->paths, 0), *end = p + f->paths.len;
	const unsigned char *found = NULL, *found_end = NULL, *rec;
	uint64_t l, k, i;
	int match;

	while (p < end) {
		if (lt_varint_decode(&p, end, &l) < 0 || l > (uint64_t)(end - p))
			return -1;
		match = l == len && memcmp(p, name, len) == 0;
		p += l;
		rec = p;
		if (lt_varint_decode(&p, end, &k) < 0)
			return -1;
		for (i = 0; i < k; i++) {
			if (lt_varint_decode(&p, end, &l) < 0 ||
			    l > (uint64_t)(end - p))
				return -1;
			p += l;
		}
		if (match) {
			found = rec;
			found_end = p;
		}
	}
	if (found == NULL)
		return lt_buf_append_varint(&f->obs, 0);
	return lt_buf_append(&f->obs, found, (size_t)(found_end - found));
}

int
lt_fields_add(struct lt_fields *f, const struct lt_fields_entry *e)
{
	struct fentry *fe;
	size_t n = 0, i;
	int rc = 0;

	if (grow((void **)&f->entries, &f->cap_entries, f->n_entries,
		 sizeof(*f->entries)) < 0)
		return -1;
	fe = &f->entries[f->n_entries];
	memset(fe, 0, sizeof(*fe));
	fe->ts_ns = e->ts_ns;
	fe->seq = f->n_entries;
	fe->key_off = f->keys.len;
	rc |= lt_buf_append_byte(&f->keys, '{');
	for (i = 0; i < e->n_stream; i++) {
		rc |= lt_buf_append(&f->keys, ", ", i > 0 ? 2 : 0);
		rc |= lt_buf_append(&f->keys, e->stream[i].name, e->stream[i].name_len);
		rc |= lt_buf_append_byte(&f->keys, '=');
		rc |= lt_go_quote(&f->keys, e->stream[i].value, e->stream[i].value_len);
	}
	rc |= lt_buf_append_byte(&f->keys, '}');
	fe->key_len = f->keys.len - fe->key_off;
	for (i = 0; i < e->n_metadata && rc == 0; i++)
		rc |= tmp_push(f, &n, 'm', &e->metadata[i]);
	/* What the query's own parsers added (Loki's Entry.Parsed). */
	for (i = 0; i < e->n_labels && rc == 0; i++)
		if (!has_name(e->stream, e->n_stream, e->labels[i].name,
			      e->labels[i].name_len) &&
		    !has_name(e->metadata, e->n_metadata, e->labels[i].name,
			      e->labels[i].name_len) &&
		    !error_label(e->labels[i].name, e->labels[i].name_len))
			rc |= tmp_push(f, &n, 'q', &e->labels[i]);
	if (rc != 0 || parse_line(f, e, &n, &fe->parser) < 0)
		return -1;
	if (n > 1)
		qsort(f->tmp, n, sizeof(*f->tmp), obs_order);
	fe->obs_off = f->obs.len;
	for (i = 0; i < n && rc == 0; i++) {
		rc |= lt_buf_append_byte(&f->obs, (unsigned char)f->tmp[i].kind);
		rc |= lt_buf_append_string(&f->obs, f->tmp[i].name, f->tmp[i].name_len);
		rc |= lt_buf_append_string(&f->obs, f->tmp[i].value, f->tmp[i].value_len);
		if (f->tmp[i].kind == 'p' && fe->parser == PARSER_JSON)
			rc |= append_path(f, f->tmp[i].name, f->tmp[i].name_len);
	}
	fe->obs_len = f->obs.len - fe->obs_off;
	if (rc != 0)
		return -1;
	f->n_entries++;
	return 0;
}

/* Reads a length-prefixed string of the findings. */
static const char *
read_string(const unsigned char **p, const unsigned char *end, size_t *len)
{
	const char *s;
	uint64_t l;

	if (lt_varint_decode(p, end, &l) < 0 || l > (uint64_t)(end - *p))
		return NULL;
	s = (const char *)*p;
	*p += l;
	*len = (size_t)l;
	return s;
}

static const struct lt_fields *sorting_fields;

/* Loki's answer to the log query: streams by their labels' text, each
 * one's entries newest first. */
static int
entry_order(const void *a, const void *b)
{
	const struct fentry *x = a, *y = b;
	const unsigned char *k = sorting_fields->keys.data;
	size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
	int c = memcmp(k + x->key_off, k + y->key_off, n);

	if (c != 0)
		return c;
	if (x->key_len != y->key_len)
		return x->key_len < y->key_len ? -1 : 1;
	if (x->ts_ns != y->ts_ns)
		return x->ts_ns > y->ts_ns ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The field of name; made while there are fewer than the limit with
 * the entry's parser.  NULL when there is none (*oom set when memory ran
 * out). */
static struct field *
field_get(struct lt_fields *f, const char *name, size_t len,
	  enum parser parser, int *oom)
{
	struct field *fd;
	long i = strtab_find(&f->names, name, len, 0);

	if (i == -2 || (i == -1 && f->names.n >= f->limit)) {
		*oom = i == -2;
		return NULL;
	}
	if (i == -1) {
		if (grow((void **)&f->fields, &f->cap_fields, f->names.n,
			 sizeof(*f->fields)) < 0 ||
		    (i = strtab_find(&f->names, name, len, 1)) < 0) {
			*oom = 1;
			return NULL;
		}
		fd = &f->fields[i];
		memset(fd, 0, sizeof(*fd));
		fd->type = "string";
	}
	fd = &f->fields[i];
	if (parser != PARSER_NONE && (fd->n_parsers == 0 ||
	    (fd->parsers[0] != parser && fd->n_parsers == 1)))
		fd->parsers[fd->n_parsers++] = (unsigned char)parser;
	return fd;
}

/* Reads one finding; p is left after it. */
static int
next_obs(const unsigned char **p, const unsigned char *end,
	 enum parser parser, struct obs *o, const unsigned char **path,
	 const unsigned char **path_end)
{
	uint64_t k, i;
	size_t l;

	o->kind = (char)*(*p)++;
	if ((o->name = read_string(p, end, &o->name_len)) == NULL ||
	    (o->value = read_string(p, end, &o->value_len)) == NULL)
		return -1;
	*path = *path_end = NULL;
	if (o->kind != 'p' || parser != PARSER_JSON)
		return 0;
	*path = *p;
	if (lt_varint_decode(p, end, &k) < 0)
		return -1;
	for (i = 0; i < k; i++)
		if (read_string(p, end, &l) == NULL)
			return -1;
	*path_end = *p;
	return 0;
}

static int
same_name(const struct obs *a, const struct obs *b)
{
	return a->name_len == b->name_len && (a->kind == 'm') == (b->kind == 'm') &&
	       memcmp(a->name, b->name, a->name_len) == 0;
}

/* One entry's findings into the fields (Loki's parseDetectedFields):
 * each name's type from its first value in the entry. */
static int
entry_fields(struct lt_fields *f, const struct fentry *fe)
{
	const unsigned char *p = buf_at(&f->obs, fe->obs_off);
	const unsigned char *end = p + fe->obs_len;
	const unsigned char *path, *path_end;
	struct obs o, prev;
	struct field *fd = NULL;
	int oom = 0, first;

	memset(&prev, 0, sizeof(prev));
	while (p < end) {
		if (next_obs(&p, end, fe->parser, &o, &path, &path_end) < 0)
			return -1;
		first = prev.name == NULL || !same_name(&prev, &o);
		prev = o;
		if (first) {
			fd = field_get(f, o.name, o.name_len,
				       o.kind == 'm' ? PARSER_NONE : fe->parser, &oom);
			if (oom)
				return -1;
			if (fd != NULL)
				fd->type = lt_field_type(o.value, o.value_len);
			if (fd != NULL && o.kind != 'm' && fe->parser == PARSER_JSON) {
				fd->has_path = 0;
				lt_buf_reset(&fd->path);
			}
		}
		if (fd == NULL)
			continue;
		if (hset_add(&fd->values, lt_fnv1a(LT_FNV_BASIS, o.value, o.value_len)) < 0)
			return -1;
		if (path != NULL && path_end > path + 1) {
			lt_buf_reset(&fd->path);
			fd->has_path = 1;
			if (lt_buf_append(&fd->path, path, (size_t)(path_end - path)) < 0)
				return -1;
		}
	}
	return 0;
}

/* Bytes with a unit read as go-humanize writes them, so that the value
 * goes into a query as it is (Loki's parseDetectedFieldValues). */
static int
value_text(const char *v, size_t len, char *buf, size_t buflen,
	   const char **out, size_t *outlen)
{
	static const char *const units[] = {
		"b", "kib", "kb", "mib", "mb", "gib", "gb", "tib", "tb", "pib",
		"pb", "eib", "eb", "ki", "k", "mi", "m", "gi", "g", "ti", "t",
		"pi", "p", "ei", "e",
	};
	uint64_t bytes;
	size_t i, u, o = 0;
	char h[64];

	*out = v;
	*outlen = len;
	if (lt_humanize_parse_bytes(v, len, &bytes) < 0)
		return 0;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		u = strlen(units[i]);
		if (u <= len && equal_fold(v + len - u, u, units[i]))
			break;
	}
	if (i == sizeof(units) / sizeof(units[0]))
		return 0;
	lt_humanize_bytes(bytes, h, sizeof(h));
	for (i = 0; h[i] != '\0' && o + 1 < buflen; i++)
		if (h[i] != ' ' || o != i)   /* the first space only */
			buf[o++] = h[i];
	*out = buf;
	*outlen = o;
	return 0;
}

/* One entry's values of the field asked for. */
static int
entry_values(struct lt_fields *f, const struct fentry *fe)
{
	const unsigned char *p = buf_at(&f->obs, fe->obs_off);
	const unsigned char *end = p + fe->obs_len;
	const unsigned char *path, *path_end;
	size_t want = strlen(f->values_of), len;
	const char *v;
	char buf[64];
	struct obs o;

	while (p < end) {
		if (next_obs(&p, end, fe->parser, &o, &path, &path_end) < 0)
			return -1;
		if (o.name_len != want || memcmp(o.name, f->values_of, want) != 0)
			continue;
		v = o.value;
		len = o.value_len;
		if (o.kind != 'm')
			(void)value_text(o.value, o.value_len, buf, sizeof(buf),
					 &v, &len);
		if (strtab_find(&f->values, v, len, 1) == -2)
			return -1;
	}
	return 0;
}

static const struct strtab *sorting_tab;

static int
name_order(const void *a, const void *b)
{
	size_t la, lb;
	const char *x = strtab_at(sorting_tab, *(const uint32_t *)a, &la);
	const char *y = strtab_at(sorting_tab, *(const uint32_t *)b, &lb);
	int c = memcmp(x, y, la < lb ? la : lb);

	if (c != 0)
		return c;
	return la < lb ? -1 : la > lb;
}

/* The indexes of a table's strings in byte order. */
static uint32_t *
sorted(const struct strtab *t)
{
	uint32_t *order = calloc(t->n + 1, sizeof(*order));
	size_t i;

	if (order == NULL)
		return NULL;
	for (i = 0; i < t->n; i++)
		order[i] = (uint32_t)i;
	sorting_tab = t;
	if (t->n > 1)
		qsort(order, t->n, sizeof(*order), name_order);
	return order;
}

static int
write_field(struct lt_buf *out, const char *name, size_t len,
	    const struct field *fd)
{
	static const char *const parser_names[] = {"", "json", "logfmt"};
	const unsigned char *p = buf_at(&fd->path, 0), *end = p + fd->path.len;
	const char *key;
	uint64_t k, i;
	size_t klen;
	int rc = 0;

	rc |= lt_buf_append(out, "{\"label\":", 9);
	rc |= lt_json_quote(out, name, len);
	rc |= lt_buf_printf(out, ",\"type\":\"%s\",\"cardinality\":%zu,\"parsers\":",
			    fd->type, fd->values.n);
	if (fd->n_parsers == 0)
		rc |= lt_buf_append(out, "null", 4);
	for (i = 0; i < fd->n_parsers; i++)
		rc |= lt_buf_printf(out, "%s\"%s\"", i > 0 ? "," : "[",
				    parser_names[fd->parsers[i]]);
	if (fd->n_parsers > 0)
		rc |= lt_buf_append_byte(out, ']');
	if (fd->has_path && lt_varint_decode(&p, end, &k) == 0 && k > 0) {
		rc |= lt_buf_append(out, ",\"jsonPath\":[", 13);
		for (i = 0; i < k; i++) {
			if ((key = read_string(&p, end, &klen)) == NULL)
				return -1;
			rc |= lt_buf_append(out, ",", i > 0);
			rc |= lt_json_quote(out, key, klen);
		}
		rc |= lt_buf_append_byte(out, ']');
	}
	return rc | lt_buf_append_byte(out, '}');
}

static int
write_fields(struct lt_fields *f, struct lt_buf *out)
{
	const struct strtab *t = f->values_of != NULL ? &f->values : &f->names;
	uint32_t *order;
	const char *s;
	size_t i, len;
	int rc = 0;

	/* Every member is omitempty in Loki's answer, the limit too when
	 * there is nothing. */
	if (t->n == 0)
		return lt_buf_append(out, "{}", 2);
	if ((order = sorted(t)) == NULL)
		return -1;
	if (f->values_of != NULL)
		rc |= lt_buf_printf(out, "{\"limit\":%zu,\"values\":[", f->limit);
	else
		rc |= lt_buf_append(out, "{\"fields\":[", 11);
	for (i = 0; i < t->n && rc == 0; i++) {
		s = strtab_at(t, order[i], &len);
		rc |= lt_buf_append(out, ",", i > 0);
		if (f->values_of != NULL)
			rc |= lt_json_quote(out, s, len);
		else
			rc |= write_field(out, s, len, &f->fields[order[i]]);
	}
	if (f->values_of != NULL)
		rc |= lt_buf_append(out, "]}", 2);
	else
		rc |= lt_buf_printf(out, "],\"limit\":%zu}", f->limit);
	free(order);
	return rc;
}

int
lt_fields_write(struct lt_fields *f, struct lt_buf *out)
{
	size_t i;

	sorting_fields = f;
	if (f->n_entries > 1)
		qsort(f->entries, f->n_entries, sizeof(*f->entries), entry_order);
	for (i = 0; i < f->n_entries; i++) {
		if (f->values_of == NULL) {
			if (entry_fields(f, &f->entries[i]) < 0)
				return -1;
		} else {
			/* Loki stops reading entries once it has the limit. */
			if (f->values.n >= f->limit)
				break;
			if (entry_values(f, &f->entries[i]) < 0)
				return -1;
		}
	}
	return write_fields(f, out);
}

/* A kept entry of the log query, to the fields. */
static int
fields_entry(void *ctx, const struct lt_log_row *row,
	     const struct lt_pl_output *out, struct lt_query_error *err)
{
	struct lt_fields_entry e;

	e.ts_ns = row->ts_ns;
	e.stream = row->labels;
	e.n_stream = row->n_labels;
	e.metadata = row->metadata;
	e.n_metadata = row->n_metadata;
	e.labels = out->labels;
	e.n_labels = out->n_labels;
	e.line = out->line;
	e.line_len = out->line_len;
	if (lt_fields_add(ctx, &e) < 0)
		return lt_query_no_memory(err);
	return 0;
}

int
lt_query_detected_fields(struct lt_ch *ch, const struct lt_sql_target *t,
			 const struct lt_query_limits *lim,
			 const struct lt_fields_request *req,
			 const struct lt_query_sink *sink,
			 struct lt_query_error *err)
{
	struct lt_log_request lr;
	struct lt_fields *f;
	struct lt_buf json = LT_BUF_INIT;
	char why[512];
	int rc = -1;

	if ((f = lt_fields_new(req->field_limit, req->values_of, why,
			       sizeof(why))) == NULL)
		return lt_query_fail(err, 500, "%s", why);
	memset(&lr, 0, sizeof(lr));
	lr.q = req->q;
	lr.range = req->range;
	lr.limit = req->line_limit;
	lr.forward = 0;
	if (lt_query_log_entries(ch, t, lim, &lr, fields_entry, f, err) < 0)
		goto done;
	if (lt_fields_write(f, &json) != 0) {
		lt_query_no_memory(err);
		goto done;
	}
	rc = write_answer(sink, &json, err);
done:
	lt_buf_free(&json);
	lt_fields_free(f);
	return rc;
}
