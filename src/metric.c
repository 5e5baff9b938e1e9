/* Metric queries evaluated in C, as Loki's engine evaluates them
 * (pkg/logql/range_vector.go, evaluator.go, syntax.MergeBinOp): range
 * aggregations over windows of samples, vector aggregations, binary
 * operators, label_replace, and Loki's JSON answer. */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "buf.h"
#include "hash.h"
#include "metric.h"

/* Loki's words (logqlmodel.NewSeriesLimitError). */
#define SERIES_LIMIT_FMT "maximum number of series (%zu) reached for a " \
	"single query; consider reducing query cardinality by adding more " \
	"specific stream selectors, reducing the time range, or aggregating " \
	"results with functions like sum(), count() or topk()"

/* label_replace's regex may not spin (as the pipeline's regexes). */
#define RE_MATCH_LIMIT 1000000
#define RE_DEPTH_LIMIT 10000

/* The answer is handed to the sink in pieces of about this size. */
#define WRITE_CHUNK 65536

/* --- Matrices ----------------------------------------------------------- */

/* The matrix's strings and values live in chunks freed together. */
struct arena_chunk {
	struct arena_chunk *next;
	size_t cap, used;
	max_align_t data[];
};

struct lt_matrix_mem {
	struct arena_chunk *chunks;
	uint64_t *hash;      /* per series: the hash of its labels */
	uint32_t *slots;     /* series index + 1; 0: empty */
	size_t n_slots;
};

#define ARENA_CHUNK 65536

static void *
arena_alloc(struct lt_matrix_mem *mem, size_t size)
{
	struct arena_chunk *c = mem->chunks;
	size_t align = sizeof(max_align_t), cap;
	void *p;

	size = (size + align - 1) / align * align;
	if (size == 0)
		size = align;
	if (c == NULL || c->cap - c->used < size) {
		cap = size > ARENA_CHUNK ? size : ARENA_CHUNK;
		if ((c = calloc(1, sizeof(*c) + cap)) == NULL)
			return NULL;
		c->cap = cap;
		c->next = mem->chunks;
		mem->chunks = c;
	}
	p = (char *)c->data + c->used;
	c->used += size;
	return p;
}

struct lt_matrix *
lt_matrix_new(size_t n_steps)
{
	struct lt_matrix *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	if ((m->mem = calloc(1, sizeof(*m->mem))) == NULL) {
		free(m);
		return NULL;
	}
	m->n_steps = n_steps;
	return m;
}

void
lt_matrix_free(struct lt_matrix *m)
{
	struct arena_chunk *c, *next;

	if (m == NULL)
		return;
	for (c = m->mem->chunks; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(m->mem->hash);
	free(m->mem->slots);
	free(m->mem);
	free(m->series);
	free(m);
}

/* FNV-1a over each name and value, each followed by a byte no UTF-8
 * text holds, so that {a="bc"} and {ab="c"} differ. */
static uint64_t
hash_bytes(uint64_t h, const char *s, size_t len)
{
	static const unsigned char end = 0xff;

	return lt_fnv1a(lt_fnv1a(h, s, len), &end, 1);
}

static uint64_t
labels_hash(const struct lt_label *l, size_t n)
{
	uint64_t h = LT_FNV_BASIS;
	size_t i;

	for (i = 0; i < n; i++) {
		h = hash_bytes(h, l[i].name, l[i].name_len);
		h = hash_bytes(h, l[i].value, l[i].value_len);
	}
	return h;
}

static int
bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* Prometheus' labels.Compare: name, then value, label by label; the
 * shorter set first. */
static int
labels_cmp(const struct lt_label *a, size_t na, const struct lt_label *b,
	   size_t nb)
{
	size_t i;
	int c;

	for (i = 0; i < na && i < nb; i++) {
		if ((c = bytes_cmp(a[i].name, a[i].name_len, b[i].name,
				   b[i].name_len)) != 0)
			return c;
		if ((c = bytes_cmp(a[i].value, a[i].value_len, b[i].value,
				   b[i].value_len)) != 0)
			return c;
	}
	return na < nb ? -1 : na > nb;
}

static long
matrix_find(const struct lt_matrix *m, uint64_t h, const struct lt_label *l,
	    size_t n)
{
	const struct lt_matrix_mem *mem = m->mem;
	size_t mask, i;
	uint32_t s;

	if (mem->n_slots == 0)
		return -1;
	mask = mem->n_slots - 1;
	for (i = (size_t)h & mask; (s = mem->slots[i]) != 0; i = (i + 1) & mask) {
		const struct lt_series *se = &m->series[s - 1];

		if (mem->hash[s - 1] == h &&
		    labels_cmp(se->labels, se->n_labels, l, n) == 0)
			return (long)s - 1;
	}
	return -1;
}

static int
matrix_rehash(struct lt_matrix *m, size_t n_slots)
{
	struct lt_matrix_mem *mem = m->mem;
	uint32_t *slots;
	size_t i, j, mask = n_slots - 1;

	if ((slots = calloc(n_slots, sizeof(*slots))) == NULL)
		return -1;
	for (i = 0; i < m->n; i++) {
		for (j = (size_t)mem->hash[i] & mask; slots[j] != 0;
		     j = (j + 1) & mask)
			;
		slots[j] = (uint32_t)(i + 1);
	}
	free(mem->slots);
	mem->slots = slots;
	mem->n_slots = n_slots;
	return 0;
}

static int
matrix_grow(struct lt_matrix *m)
{
	struct lt_series *series;
	uint64_t *hash;
	size_t cap;

	if (m->n == m->cap) {
		cap = m->cap == 0 ? 16 : m->cap * 2;
		if (cap > UINT32_MAX - 1)
			return -1;
		if ((series = realloc(m->series, cap * sizeof(*series))) == NULL)
			return -1;
		m->series = series;
		if ((hash = realloc(m->mem->hash, cap * sizeof(*hash))) == NULL)
			return -1;
		m->mem->hash = hash;
		m->cap = cap;
	}
	if ((m->n + 1) * 2 > m->mem->n_slots)
		return matrix_rehash(m, m->mem->n_slots == 0 ? 32 :
					m->mem->n_slots * 2);
	return 0;
}

static char *
arena_str(struct lt_matrix_mem *mem, const char *s, size_t len)
{
	char *p = arena_alloc(mem, len + 1);

	if (p != NULL) {
		if (len > 0)
			memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

static long
matrix_add(struct lt_matrix *m, uint64_t h, const struct lt_label *l, size_t n)
{
	struct lt_matrix_mem *mem = m->mem;
	struct lt_series se;
	struct lt_label *copy = NULL;
	size_t i, mask;

	if (matrix_grow(m) < 0)
		return -1;
	if (n > 0 && (copy = arena_alloc(mem, n * sizeof(*copy))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		copy[i].name_len = l[i].name_len;
		copy[i].value_len = l[i].value_len;
		copy[i].name = arena_str(mem, l[i].name, l[i].name_len);
		copy[i].value = arena_str(mem, l[i].value, l[i].value_len);
		if (copy[i].name == NULL || copy[i].value == NULL)
			return -1;
	}
	se.labels = copy;
	se.n_labels = n;
	se.v = arena_alloc(mem, m->n_steps * sizeof(double));
	se.has = arena_alloc(mem, m->n_steps);
	if (se.v == NULL || se.has == NULL)
		return -1;
	m->series[m->n] = se;
	mem->hash[m->n] = h;
	mask = mem->n_slots - 1;
	for (i = (size_t)h & mask; mem->slots[i] != 0; i = (i + 1) & mask)
		;
	mem->slots[i] = (uint32_t)(m->n + 1);
	return (long)m->n++;
}

long
lt_matrix_series(struct lt_matrix *m, const struct lt_label *l, size_t n)
{
	uint64_t h = labels_hash(l, n);
	long i = matrix_find(m, h, l, n);

	return i >= 0 ? i : matrix_add(m, h, l, n);
}

static void
series_set(struct lt_series *se, size_t step, double v)
{
	se->v[step] = v;
	se->has[step] = 1;
}

static int
series_has_points(const struct lt_matrix *m, const struct lt_series *se)
{
	return memchr(se->has, 1, m->n_steps) != NULL;
}

/* --- Label sets being built ---------------------------------------------- */

/* A label set under construction, sorted by name; the strings belong to
 * whatever the labels were taken from. */
struct lbuild {
	struct lt_label *l;
	size_t n, cap;
};

static int
lb_reserve(struct lbuild *b, size_t n)
{
	struct lt_label *l;
	size_t cap;

	if (n <= b->cap)
		return 0;
	cap = b->cap == 0 ? 16 : b->cap;
	while (cap < n)
		cap *= 2;
	if ((l = realloc(b->l, cap * sizeof(*l))) == NULL)
		return -1;
	b->l = l;
	b->cap = cap;
	return 0;
}

static int
lb_from(struct lbuild *b, const struct lt_label *l, size_t n)
{
	if (lb_reserve(b, n) < 0)
		return -1;
	if (n > 0)
		memcpy(b->l, l, n * sizeof(*l));
	b->n = n;
	return 0;
}

static int
name_is(const struct lt_label *l, const char *name)
{
	size_t len = strlen(name);

	return l->name_len == len && memcmp(l->name, name, len) == 0;
}

static int
name_listed(const struct lt_label *l, char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (name_is(l, names[i]))
			return 1;
	return 0;
}

/* Keeps the labels named (keep 1) or not named (keep 0) in names. */
static void
lb_filter(struct lbuild *b, char *const *names, size_t n, int keep)
{
	size_t i, o = 0;

	for (i = 0; i < b->n; i++)
		if (name_listed(&b->l[i], names, n) == keep)
			b->l[o++] = b->l[i];
	b->n = o;
}

static void
lb_del(struct lbuild *b, const char *name)
{
	char *names[1];

	names[0] = (char *)(uintptr_t)name;
	lb_filter(b, names, 1, 0);
}

/* Sets name to value (len bytes), in its place by name. */
static int
lb_set(struct lbuild *b, const char *name, const char *value, size_t len)
{
	size_t nlen = strlen(name), i;
	int c = 1;

	for (i = 0; i < b->n; i++)
		if ((c = bytes_cmp(b->l[i].name, b->l[i].name_len, name,
				   nlen)) >= 0)
			break;
	if (i < b->n && c == 0) {
		b->l[i].value = value;
		b->l[i].value_len = len;
		return 0;
	}
	if (lb_reserve(b, b->n + 1) < 0)
		return -1;
	memmove(&b->l[i + 1], &b->l[i], (b->n - i) * sizeof(b->l[0]));
	b->l[i].name = name;
	b->l[i].name_len = nlen;
	b->l[i].value = value;
	b->l[i].value_len = len;
	b->n++;
	return 0;
}

static const struct lt_label *
label_get(const struct lt_label *l, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (name_is(&l[i], name))
			return &l[i];
	return NULL;
}

/* by (a, b) keeps a and b; without (a, b) drops them; no grouping
 * leaves no labels. */
static void
lb_group(struct lbuild *b, const struct lt_grouping *g)
{
	if (!g->present) {
		b->n = 0;
		return;
	}
	lb_filter(b, g->labels, g->n_labels, !g->without);
}

/* --- Numbers as Go writes them ------------------------------------------ */

/* strconv.FormatFloat(v, 'f', -1, 64): the fewest digits that read back
 * as v, never an exponent.  out holds at least 400 bytes. */
static void
go_float(char *out, size_t outlen, double v)
{
	char e[48], digits[24];
	const char *p;
	size_t nd = 0, o = 0;
	int prec, exp;

	if (isnan(v)) {
		(void)snprintf(out, outlen, "NaN");
		return;
	}
	if (isinf(v)) {
		(void)snprintf(out, outlen, "%s", v > 0 ? "+Inf" : "-Inf");
		return;
	}
	for (prec = 0; prec < 17; prec++) {
		(void)snprintf(e, sizeof(e), "%.*e", prec, v);
		if (strtod(e, NULL) == v)
			break;
	}
	p = e;
	if (*p == '-')
		out[o++] = *p++;
	for (; *p != 'e' && *p != '\0'; p++)
		if (*p >= '0' && *p <= '9' && nd < sizeof(digits))
			digits[nd++] = *p;
	exp = *p == 'e' ? atoi(p + 1) : 0;
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	if (exp < 0) {
		out[o++] = '0';
		out[o++] = '.';
		for (; exp < -1 && o < outlen - 30; exp++)
			out[o++] = '0';
		memcpy(out + o, digits, nd);
		o += nd;
	} else {
		size_t i, intd = (size_t)exp + 1;

		for (i = 0; i < intd && o < outlen - 30; i++)
			out[o++] = i < nd ? digits[i] : '0';
		if (nd > intd) {
			out[o++] = '.';
			memcpy(out + o, digits + intd, nd - intd);
			o += nd - intd;
		}
	}
	out[o] = '\0';
}

/* Prometheus' model.Time.String(): the step's milliseconds as seconds. */
static void
go_time(char *out, size_t outlen, int64_t ts_ns)
{
	int64_t ms = ts_ns / 1000000;

	go_float(out, outlen, (double)ms / 1000.0);
}

/* Go's strconv.Quote of a label value, for messages: printable bytes as
 * they are, the rest escaped. */
static void
go_quote(struct lt_buf *b, const char *s, size_t len)
{
	size_t i;

	(void)lt_buf_append_byte(b, '"');
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			(void)lt_buf_printf(b, "\\%c", c);
		else if (c == '\n')
			(void)lt_buf_append(b, "\\n", 2);
		else if (c == '\t')
			(void)lt_buf_append(b, "\\t", 2);
		else if (c == '\r')
			(void)lt_buf_append(b, "\\r", 2);
		else if (c < 0x20 || c == 0x7f)
			(void)lt_buf_printf(b, "\\x%02x", c);
		else
			(void)lt_buf_append_byte(b, c);
	}
	(void)lt_buf_append_byte(b, '"');
}

/* Prometheus' labels.Labels.String(): {a="b", c="d"}. */
static void
labels_string(struct lt_buf *b, const struct lt_label *l, size_t n)
{
	size_t i;

	(void)lt_buf_append_byte(b, '{');
	for (i = 0; i < n; i++) {
		if (i > 0)
			(void)lt_buf_append(b, ", ", 2);
		(void)lt_buf_append(b, l[i].name, l[i].name_len);
		(void)lt_buf_append_byte(b, '=');
		go_quote(b, l[i].value, l[i].value_len);
	}
	(void)lt_buf_append_byte(b, '}');
}

/* --- Range aggregations --------------------------------------------------- */

struct win_sample {
	int64_t ts;
	double v;
};

/* The samples of one series that the coming windows still need:
 * s[head .. head + n), oldest first.  sum: their values' sum, for the
 * ops whose values are whole numbers (counts, bytes), where adding and
 * taking away stays exact. */
struct win {
	struct win_sample *s;
	size_t head, n, cap;
	double sum;
};

struct lt_range_eval {
	const struct lt_expr *e;
	struct lt_steps st;
	int presummed;
	size_t max_series, max_samples;
	size_t held;              /* samples in all windows */
	struct lt_matrix *out;    /* one series per group; absent: one */
	struct win *wins;
	size_t n_wins;
	size_t next_step;         /* the first step not yet computed */
	struct lbuild lb;
	double *scratch;          /* quantile's sorted values */
	size_t scratch_cap;
	int failed;
};

/* Go's time.Duration.Seconds(). */
static double
duration_seconds(int64_t ns)
{
	return (double)(ns / 1000000000) + (double)(ns % 1000000000) / 1e9;
}

static int64_t
window_end(const struct lt_range_eval *re, size_t step)
{
	return re->st.start_ns + (int64_t)step * re->st.step_ns -
	       re->e->offset_ns;
}

struct lt_range_eval *
lt_range_eval_new(const struct lt_expr *e, const struct lt_steps *st,
		  int presummed, size_t max_series, size_t max_samples)
{
	struct lt_range_eval *re;

	if ((re = calloc(1, sizeof(*re))) == NULL)
		return NULL;
	re->e = e;
	re->st = *st;
	if (re->st.step_ns <= 0)
		re->st.step_ns = 1;
	re->presummed = presummed;
	re->max_series = max_series;
	re->max_samples = max_samples;
	if ((re->out = lt_matrix_new(st->n)) == NULL) {
		free(re);
		return NULL;
	}
	return re;
}

void
lt_range_eval_free(struct lt_range_eval *re)
{
	size_t i;

	if (re == NULL)
		return;
	for (i = 0; i < re->n_wins; i++)
		free(re->wins[i].s);
	free(re->wins);
	free(re->lb.l);
	free(re->scratch);
	lt_matrix_free(re->out);
	free(re);
}

static void
win_drop_until(struct lt_range_eval *re, struct win *w, int64_t start)
{
	while (w->n > 0 && w->s[w->head].ts <= start) {
		w->sum -= w->s[w->head].v;
		w->head++;
		w->n--;
		re->held--;
	}
	if (w->n == 0) {
		w->head = 0;
		w->sum = 0;
	}
}

static int
win_push(struct win *w, int64_t ts, double v)
{
	struct win_sample *s;
	size_t cap;

	if (w->head + w->n == w->cap) {
		if (w->head > w->cap / 2) {
			memmove(w->s, w->s + w->head, w->n * sizeof(*w->s));
			w->head = 0;
		} else {
			cap = w->cap == 0 ? 8 : w->cap * 2;
			if ((s = realloc(w->s, cap * sizeof(*s))) == NULL)
				return -1;
			w->s = s;
			w->cap = cap;
		}
	}
	w->s[w->head + w->n].ts = ts;
	w->s[w->head + w->n].v = v;
	w->n++;
	w->sum += v;
	return 0;
}

/* avgOverTime: a running mean that survives infinities. */
static double
avg_over_time(const struct win_sample *s, size_t n)
{
	double mean = 0, count = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		double v = s[i].v;

		count++;
		if (isinf(mean)) {
			if (isinf(v) && (mean > 0) == (v > 0))
				continue;
			if (!isinf(v) && !isnan(v))
				continue;
		}
		mean += v / count - mean / count;
	}
	return mean;
}

/* Welford's variance, as stdvarOverTime. */
static double
var_over_time(const struct win_sample *s, size_t n)
{
	double aux = 0, count = 0, mean = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		double delta = s[i].v - mean;

		count++;
		mean += delta / count;
		aux += delta * (s[i].v - mean);
	}
	return aux / count;
}

static double
min_max_over_time(const struct win_sample *s, size_t n, int max)
{
	double r = s[0].v;
	size_t i;

	for (i = 0; i < n; i++)
		if ((max ? s[i].v > r : s[i].v < r) || isnan(r))
			r = s[i].v;
	return r;
}

static int
double_order(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	if (isnan(x))
		return isnan(y) ? 0 : -1;
	if (isnan(y))
		return 1;
	return x < y ? -1 : x > y;
}

/* Loki's Quantile: linear interpolation between the two nearest ranks. */
static double
quantile(double q, double *v, size_t n)
{
	double rank, lower, upper, weight;

	if (n == 0)
		return NAN;
	if (q < 0)
		return -INFINITY;
	if (q > 1)
		return INFINITY;
	if (n > 1)
		qsort(v, n, sizeof(*v), double_order);
	rank = q * (double)(n - 1);
	lower = fmax(0, floor(rank));
	upper = fmin((double)(n - 1), lower + 1);
	weight = rank - floor(rank);
	return v[(size_t)lower] * (1 - weight) + v[(size_t)upper] * weight;
}

/* Loki's extrapolatedRate for rate_counter, as range_vector.go has it:
 * the samples' timestamps in nanoseconds, the range start taken as the
 * first sample less the range's milliseconds, the end as the last
 * sample. */
static double
rate_counter(const struct win_sample *s, size_t n, int64_t range_ns)
{
	double result, last = 0, to_start, to_end, interval, avg, threshold;
	double extrapolate;
	int64_t range_start, range_end;
	size_t i;

	if (n < 2)
		return 0;
	range_start = s[0].ts - range_ns / 1000000;
	range_end = s[n - 1].ts;
	result = s[n - 1].v - s[0].v;
	for (i = 0; i < n; i++) {
		if (s[i].v < last)
			result += last;
		last = s[i].v;
	}
	to_start = (double)(s[0].ts - range_start) / 1000;
	to_end = (double)(range_end - s[n - 1].ts) / 1000;
	interval = (double)(s[n - 1].ts - s[0].ts) / 1000;
	avg = interval / (double)(n - 1);
	if (result > 0 && s[0].v >= 0) {
		double to_zero = interval * (s[0].v / result);

		if (to_zero < to_start)
			to_start = to_zero;
	}
	threshold = avg * 1.1;
	extrapolate = interval;
	extrapolate += to_start < threshold ? to_start : avg / 2;
	extrapolate += to_end < threshold ? to_end : avg / 2;
	result = result * (extrapolate / interval);
	return result / duration_seconds(range_ns);
}

static int
window_quantile(struct lt_range_eval *re, const struct win_sample *s, size_t n,
		double *out)
{
	size_t i;

	if (n > re->scratch_cap) {
		double *p = realloc(re->scratch, n * sizeof(*p));

		if (p == NULL)
			return -1;
		re->scratch = p;
		re->scratch_cap = n;
	}
	for (i = 0; i < n; i++)
		re->scratch[i] = s[i].v;
	*out = quantile(re->e->param, re->scratch, n);
	return 0;
}

/* The value of a window holding n > 0 samples. */
static int
window_value(struct lt_range_eval *re, const struct win *w, double *out)
{
	const struct win_sample *s = w->s + w->head;
	double secs = duration_seconds(re->e->range_ns), sum = 0;
	size_t i;

	switch (re->e->range_op) {
	case LT_RANGE_COUNT:
		*out = re->presummed ? w->sum : (double)w->n;
		return 0;
	case LT_RANGE_BYTES:
		*out = w->sum;
		return 0;
	case LT_RANGE_BYTES_RATE:
		*out = w->sum / secs;
		return 0;
	case LT_RANGE_ABSENT:
		*out = 1;
		return 0;
	case LT_RANGE_RATE:
		if (re->e->unwrap == NULL) {
			*out = (re->presummed ? w->sum : (double)w->n) / secs;
			return 0;
		}
		for (i = 0; i < w->n; i++)
			sum += s[i].v;
		*out = sum / secs;
		return 0;
	case LT_RANGE_SUM:
		for (i = 0; i < w->n; i++)
			sum += s[i].v;
		*out = sum;
		return 0;
	case LT_RANGE_AVG:
		*out = avg_over_time(s, w->n);
		return 0;
	case LT_RANGE_MIN:
	case LT_RANGE_MAX:
		*out = min_max_over_time(s, w->n, re->e->range_op == LT_RANGE_MAX);
		return 0;
	case LT_RANGE_FIRST:
		*out = s[0].v;
		return 0;
	case LT_RANGE_LAST:
		*out = s[w->n - 1].v;
		return 0;
	case LT_RANGE_STDVAR:
		*out = var_over_time(s, w->n);
		return 0;
	case LT_RANGE_STDDEV:
		*out = sqrt(var_over_time(s, w->n));
		return 0;
	case LT_RANGE_QUANTILE:
		return window_quantile(re, s, w->n, out);
	case LT_RANGE_RATE_COUNTER:
		*out = rate_counter(s, w->n, re->e->range_ns);
		return 0;
	}
	return -1;
}

/* Computes step `step` of every series: the window slides past the
 * samples it no longer covers.  Every sample held is at or before the
 * window's end (samples come in time order and the steps before them
 * were computed first). */
static int
compute_step(struct lt_range_eval *re, size_t step)
{
	int64_t start = window_end(re, step) - re->e->range_ns;
	size_t i;
	double v;

	for (i = 0; i < re->n_wins; i++) {
		struct win *w = &re->wins[i];

		win_drop_until(re, w, start);
		if (w->n == 0)
			continue;
		if (window_value(re, w, &v) < 0)
			return -1;
		series_set(&re->out->series[i], step, v);
		/* What the next window no longer needs goes now: the
		 * samples held stay those of one window. */
		if (step + 1 < re->st.n)
			win_drop_until(re, w, window_end(re, step + 1) -
					      re->e->range_ns);
	}
	return 0;
}

/* Whether a sample at ts lies in some step's window. */
static int
in_some_window(const struct lt_range_eval *re, int64_t ts)
{
	int64_t first_end = window_end(re, 0), step;

	if (ts <= first_end)
		step = 0;
	else
		step = (ts - first_end + re->st.step_ns - 1) / re->st.step_ns;
	if (step >= (int64_t)re->st.n)
		return 0;
	return ts > window_end(re, (size_t)step) - re->e->range_ns;
}

static int
say(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
say(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		(void)vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -2;
}

/* Loki refuses a metric query whose pipeline failed on a line the
 * windows use, unless the query keeps the errors on purpose
 * (logqlmodel.PipelineError). */
static int
pipeline_error(const struct lt_label *l, size_t n, char *why, size_t whylen)
{
	const struct lt_label *err = label_get(l, n, "__error__");
	const struct lt_label *keep = label_get(l, n, "__preserve_error__");
	struct lt_buf b = LT_BUF_INIT;
	int rc;

	if (err == NULL || err->value_len == 0)
		return 0;
	if (keep != NULL && keep->value_len == 4 &&
	    memcmp(keep->value, "true", 4) == 0)
		return 0;
	labels_string(&b, l, n);
	if (lt_buf_terminate(&b) < 0) {
		lt_buf_free(&b);
		return say(why, whylen, "out of memory");
	}
	rc = say(why, whylen,
		 "pipeline error: '%.*s' for series: '%s'.\n"
		 "Use a label filter to intentionally skip this error. "
		 "(e.g | __error__!=\"%.*s\").\n"
		 "To skip all potential errors you can match empty errors."
		 "(e.g __error__=\"\")\n"
		 "The label filter can also be specified after unwrap. "
		 "(e.g | unwrap latency | __error__=\"\" )\n",
		 (int)err->value_len, err->value, (const char *)b.data,
		 (int)err->value_len, err->value);
	lt_buf_free(&b);
	return rc;
}

/* The window of the series with labels l, made when new. */
static long
window_of(struct lt_range_eval *re, const struct lt_label *l, size_t n,
	  char *why, size_t whylen)
{
	long idx;

	if (lb_from(&re->lb, l, n) < 0)
		return -1;
	if (re->e->range_op == LT_RANGE_ABSENT)
		re->lb.n = 0;
	else if (re->e->grouping.present &&
		 label_get(l, n, "__error__") == NULL)
		lb_group(&re->lb, &re->e->grouping);
	if ((idx = lt_matrix_series(re->out, re->lb.l, re->lb.n)) < 0)
		return -1;
	if ((size_t)idx < re->n_wins)
		return idx;
	if (re->max_series > 0 && re->out->n > re->max_series)
		return say(why, whylen, SERIES_LIMIT_FMT, re->max_series);
	if (re->out->n > re->n_wins) {
		struct win *w = realloc(re->wins, re->out->cap * sizeof(*w));

		if (w == NULL)
			return -1;
		re->wins = w;
		memset(&re->wins[re->n_wins], 0,
		       (re->out->n - re->n_wins) * sizeof(*w));
		re->n_wins = re->out->n;
	}
	return idx;
}

int
lt_range_eval_add(struct lt_range_eval *re, const struct lt_label *l,
		  size_t n, int64_t ts_ns, double v, char *why, size_t whylen)
{
	long idx;
	int rc;

	if (re->failed)
		return say(why, whylen, "the range aggregation failed before");
	if (!in_some_window(re, ts_ns))
		return 0;
	while (re->next_step < re->st.n && window_end(re, re->next_step) < ts_ns)
		if (compute_step(re, re->next_step++) < 0)
			goto no_memory;
	if ((rc = pipeline_error(l, n, why, whylen)) != 0)
		goto failed;
	if ((idx = window_of(re, l, n, why, whylen)) == -2) {
		rc = -2;
		goto failed;
	}
	if (idx < 0 || win_push(&re->wins[idx], ts_ns, v) < 0)
		goto no_memory;
	if (++re->held > re->max_samples && re->max_samples > 0) {
		rc = say(why, whylen,
			 "maximum number of samples held at once (%zu) reached "
			 "for a single query; use a shorter range [...] or a "
			 "narrower stream selector", re->max_samples);
		goto failed;
	}
	return 0;
no_memory:
	rc = -1;
	(void)say(why, whylen, "out of memory");
failed:
	re->failed = 1;
	return rc;
}

/* Loki's absentLabels: the selector's equality matchers; a name also
 * matched otherwise, or twice, is left out. */
static int
absent_labels(const struct lt_expr *e, struct lbuild *b)
{
	const struct lt_logql *q = e->log;
	size_t i, j;

	b->n = 0;
	if (q == NULL)
		return 0;
	for (i = 0; i < q->n_matchers; i++) {
		const struct lt_matcher *m = &q->matchers[i];
		int other = 0;

		if (m->op != LT_MATCH_EQ || label_get(b->l, b->n, m->name))
			continue;
		for (j = 0; j < q->n_matchers; j++)
			if (j != i && strcmp(q->matchers[j].name, m->name) == 0)
				other = 1;
		if (!other && lb_set(b, m->name, m->value, strlen(m->value)) < 0)
			return -1;
	}
	return 0;
}

static struct lt_matrix *
absent_result(struct lt_range_eval *re)
{
	struct lt_matrix *m = lt_matrix_new(re->st.n);
	const struct lt_series *seen = re->out->n > 0 ? &re->out->series[0] : NULL;
	long idx = -1;
	size_t s;

	if (m == NULL || absent_labels(re->e, &re->lb) < 0)
		goto fail;
	for (s = 0; s < re->st.n; s++) {
		if (seen != NULL && seen->has[s])
			continue;
		if (idx < 0 && (idx = lt_matrix_series(m, re->lb.l, re->lb.n)) < 0)
			goto fail;
		series_set(&m->series[idx], s, 1);
	}
	return m;
fail:
	lt_matrix_free(m);
	return NULL;
}

struct lt_matrix *
lt_range_eval_finish(struct lt_range_eval *re)
{
	struct lt_matrix *m = NULL;

	if (re->failed)
		goto done;
	while (re->next_step < re->st.n)
		if (compute_step(re, re->next_step++) < 0)
			goto done;
	if (re->e->range_op == LT_RANGE_ABSENT) {
		m = absent_result(re);
	} else {
		m = re->out;
		re->out = NULL;
	}
done:
	lt_range_eval_free(re);
	return m;
}

/* --- The tree ------------------------------------------------------------ */

struct ev {
	const struct lt_steps *st;
	const struct lt_leaf_source *src;
	size_t max_series;
	struct lt_query_error *err;
	struct lbuild lb;
};

static int
ev_error(struct ev *ev, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
ev_error(struct ev *ev, int status, const char *fmt, ...)
{
	va_list ap;

	ev->err->status = status;
	va_start(ap, fmt);
	(void)vsnprintf(ev->err->message, sizeof(ev->err->message), fmt, ap);
	va_end(ap);
	return -1;
}

static int
ev_no_memory(struct ev *ev)
{
	return ev_error(ev, 503, "out of memory evaluating the metric query");
}

/* A series of m, made when new; more than max_series is Loki's error. */
static long
ev_series(struct ev *ev, struct lt_matrix *m, const struct lt_label *l,
	  size_t n)
{
	long idx = lt_matrix_series(m, l, n);

	if (idx < 0)
		return ev_no_memory(ev);
	if (ev->max_series > 0 && m->n > ev->max_series)
		return ev_error(ev, 400, SERIES_LIMIT_FMT, ev->max_series);
	return idx;
}

static int ev_eval(struct ev *ev, const struct lt_expr *e,
		   const struct lt_grouping *sum_by, struct lt_matrix **out);

static struct lt_matrix *
ev_matrix(struct ev *ev)
{
	struct lt_matrix *m = lt_matrix_new(ev->st->n);

	if (m == NULL)
		(void)ev_no_memory(ev);
	return m;
}

/* NUMBER (a scalar) and vector(n): one series without labels. */
static int
eval_constant(struct ev *ev, const struct lt_expr *e, int scalar,
	      struct lt_matrix **out)
{
	struct lt_matrix *m = ev_matrix(ev);
	long idx;
	size_t s;

	if (m == NULL)
		return -1;
	if ((idx = ev_series(ev, m, NULL, 0)) < 0) {
		lt_matrix_free(m);
		return -1;
	}
	for (s = 0; s < m->n_steps; s++)
		series_set(&m->series[idx], s, e->param);
	m->scalar = scalar;
	*out = m;
	return 0;
}

static int
eval_leaf(struct ev *ev, const struct lt_expr *e,
	  const struct lt_grouping *sum_by, struct lt_matrix **out)
{
	struct lt_matrix *m = NULL;

	if (ev->src == NULL || ev->src->run == NULL)
		return ev_error(ev, 500, "no source for the range aggregation");
	if (ev->src->run(ev->src->ctx, e, sum_by, ev->st, &m, ev->err) < 0) {
		lt_matrix_free(m);
		return -1;
	}
	if (m == NULL)
		return ev_no_memory(ev);
	if (m->n_steps != ev->st->n) {
		lt_matrix_free(m);
		return ev_error(ev, 500, "the range aggregation gave %zu steps, "
				"not %zu", m->n_steps, ev->st->n);
	}
	if (ev->max_series > 0 && m->n > ev->max_series) {
		lt_matrix_free(m);
		return ev_error(ev, 400, SERIES_LIMIT_FMT, ev->max_series);
	}
	*out = m;
	return 0;
}

/* --- Vector aggregations --- */

/* The group of each series of in that has points (-1: none), made in
 * groups with the grouping's labels. */
static long *
group_series(struct ev *ev, const struct lt_matrix *in,
	     const struct lt_grouping *g, struct lt_matrix *groups)
{
	long *gidx = malloc((in->n + 1) * sizeof(*gidx));
	size_t i;

	if (gidx == NULL) {
		(void)ev_no_memory(ev);
		return NULL;
	}
	for (i = 0; i < in->n; i++) {
		const struct lt_series *se = &in->series[i];

		gidx[i] = -1;
		if (!series_has_points(in, se))
			continue;
		if (lb_from(&ev->lb, se->labels, se->n_labels) < 0) {
			(void)ev_no_memory(ev);
			goto fail;
		}
		lb_group(&ev->lb, g);
		if ((gidx[i] = ev_series(ev, groups, ev->lb.l, ev->lb.n)) < 0)
			goto fail;
	}
	return gidx;
fail:
	free(gidx);
	return NULL;
}

struct acc {
	double value, mean;
	size_t count;
};

/* One sample into its group, as Loki's VectorAggEvaluator. */
static void
acc_add(struct acc *a, enum lt_vector_op op, double v)
{
	double delta;

	if (a->count == 0) {
		a->value = op == LT_VEC_STDDEV || op == LT_VEC_STDVAR ? 0 : v;
		a->mean = v;
		a->count = 1;
		return;
	}
	a->count++;
	switch (op) {
	case LT_VEC_SUM:
		a->value += v;
		break;
	case LT_VEC_AVG:
		a->mean += (v - a->mean) / (double)a->count;
		break;
	case LT_VEC_MAX:
		if (a->value < v || isnan(a->value))
			a->value = v;
		break;
	case LT_VEC_MIN:
		if (a->value > v || isnan(a->value))
			a->value = v;
		break;
	case LT_VEC_STDDEV:
	case LT_VEC_STDVAR:
		delta = v - a->mean;
		a->mean += delta / (double)a->count;
		a->value += delta * (v - a->mean);
		break;
	default:
		break;
	}
}

static double
acc_value(const struct acc *a, enum lt_vector_op op)
{
	switch (op) {
	case LT_VEC_AVG:
		return a->mean;
	case LT_VEC_COUNT:
		return (double)a->count;
	case LT_VEC_STDDEV:
		return sqrt(a->value / (double)a->count);
	case LT_VEC_STDVAR:
		return a->value / (double)a->count;
	default:
		return a->value;
	}
}

/* sum, avg, min, max, count, stddev, stdvar by/without. */
static int
eval_grouped(struct ev *ev, const struct lt_expr *e, const struct lt_matrix *in,
	     struct lt_matrix *out)
{
	struct acc *acc = NULL;
	long *gidx;
	size_t s, i;

	if ((gidx = group_series(ev, in, &e->grouping, out)) == NULL)
		return -1;
	if ((acc = calloc(out->n + 1, sizeof(*acc))) == NULL) {
		free(gidx);
		return ev_no_memory(ev);
	}
	for (s = 0; s < out->n_steps; s++) {
		memset(acc, 0, (out->n + 1) * sizeof(*acc));
		for (i = 0; i < in->n; i++)
			if (gidx[i] >= 0 && in->series[i].has[s])
				acc_add(&acc[gidx[i]], e->vector_op,
					in->series[i].v[s]);
		for (i = 0; i < out->n; i++)
			if (acc[i].count > 0)
				series_set(&out->series[i], s,
					   acc_value(&acc[i], e->vector_op));
	}
	free(acc);
	free(gidx);
	return 0;
}

/* topk, bottomk, sort and sort_desc: members of a group in the order
 * the op ranks them.  NaN goes last (Loki's heaps treat it as the one
 * to drop); equal values by labels. */
struct rank_ctx {
	const struct lt_matrix *in;
	size_t step;
	int descending;
};

static const struct rank_ctx *ranking;

static int
rank_order(const void *pa, const void *pb)
{
	const struct lt_series *a = &ranking->in->series[*(const size_t *)pa];
	const struct lt_series *b = &ranking->in->series[*(const size_t *)pb];
	double x = a->v[ranking->step], y = b->v[ranking->step];

	if (isnan(x) != isnan(y))
		return isnan(x) ? 1 : -1;
	if (!isnan(x) && x != y)
		return (x < y) == ranking->descending ? 1 : -1;
	return labels_cmp(a->labels, a->n_labels, b->labels, b->n_labels);
}

/* The members of one group with a value at step s, ranked. */
static size_t
rank_members(const struct lt_matrix *in, const size_t *group, size_t n_group,
	     size_t s, int descending, size_t *members)
{
	struct rank_ctx ctx;
	size_t i, n = 0;

	for (i = 0; i < n_group; i++)
		if (in->series[group[i]].has[s])
			members[n++] = group[i];
	ctx.in = in;
	ctx.step = s;
	ctx.descending = descending;
	ranking = &ctx;
	if (n > 1)
		qsort(members, n, sizeof(*members), rank_order);
	ranking = NULL;
	return n;
}

static const long *grouping_of;

static int
group_order(const void *pa, const void *pb)
{
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;

	if (grouping_of[a] != grouping_of[b])
		return grouping_of[a] < grouping_of[b] ? -1 : 1;
	return a < b ? -1 : a > b;
}

/* The series with points, group after group: byg[start[g] ..
 * start[g + 1]) are group g's, so that a step looks at each series
 * once. */
static void
group_lists(const long *gidx, size_t n, size_t n_groups, size_t *byg,
	    size_t *start)
{
	size_t i, m = 0;

	for (i = 0; i < n; i++)
		if (gidx[i] >= 0)
			byg[m++] = i;
	grouping_of = gidx;
	if (m > 1)
		qsort(byg, m, sizeof(*byg), group_order);
	grouping_of = NULL;
	memset(start, 0, (n_groups + 1) * sizeof(*start));
	for (i = 0; i < m; i++)
		start[gidx[byg[i]] + 1]++;
	for (i = 0; i < n_groups; i++)
		start[i + 1] += start[i];
}

/* Picks each step's members of each group into out. */
static int
rank_steps(struct ev *ev, const struct lt_matrix *in, const size_t *byg,
	   const size_t *start, size_t n_groups, int descending, size_t k,
	   size_t *members, struct lt_matrix *out)
{
	size_t s, g, i, n;
	long idx;

	for (s = 0; s < in->n_steps && k > 0; s++)
		for (g = 0; g < n_groups; g++) {
			n = rank_members(in, byg + start[g], start[g + 1] - start[g],
					 s, descending, members);
			for (i = 0; i < n && i < k; i++) {
				const struct lt_series *se = &in->series[members[i]];

				if ((idx = ev_series(ev, out, se->labels,
						     se->n_labels)) < 0)
					return -1;
				series_set(&out->series[idx], s, se->v[s]);
			}
		}
	return 0;
}

static int
eval_ranked(struct ev *ev, const struct lt_expr *e, const struct lt_matrix *in,
	    struct lt_matrix *out)
{
	enum lt_vector_op op = e->vector_op;
	int descending = op == LT_VEC_TOPK || op == LT_VEC_SORT_DESC;
	struct lt_matrix *groups = ev_matrix(ev);
	size_t *members = NULL, *byg = NULL, *start = NULL, k = SIZE_MAX;
	long *gidx = NULL;
	int rc = -1;

	if (op == LT_VEC_TOPK || op == LT_VEC_BOTTOMK)
		k = e->param < 1 ? 0 : e->param >= 1e18 ? SIZE_MAX :
						 (size_t)e->param;
	if (groups == NULL ||
	    (gidx = group_series(ev, in, &e->grouping, groups)) == NULL)
		goto done;
	members = malloc((in->n + 1) * sizeof(*members));
	byg = malloc((in->n + 1) * sizeof(*byg));
	start = malloc((groups->n + 1) * sizeof(*start));
	if (members == NULL || byg == NULL || start == NULL) {
		rc = ev_no_memory(ev);
		goto done;
	}
	group_lists(gidx, in->n, groups->n, byg, start);
	if (rank_steps(ev, in, byg, start, groups->n, descending, k, members,
		       out) < 0)
		goto done;
	out->ordered = op == LT_VEC_SORT || op == LT_VEC_SORT_DESC;
	rc = 0;
done:
	free(members);
	free(byg);
	free(start);
	free(gidx);
	lt_matrix_free(groups);
	return rc;
}

static int
eval_vector_agg(struct ev *ev, const struct lt_expr *e, struct lt_matrix **out)
{
	const struct lt_grouping *sum_by = NULL;
	struct lt_matrix *in = NULL, *m;
	int rc;

	if (e->vector_op == LT_VEC_SUM && e->left != NULL &&
	    e->left->kind == LT_EXPR_RANGE)
		sum_by = &e->grouping;
	if (ev_eval(ev, e->left, sum_by, &in) < 0)
		return -1;
	if ((m = ev_matrix(ev)) == NULL) {
		lt_matrix_free(in);
		return -1;
	}
	switch (e->vector_op) {
	case LT_VEC_TOPK:
	case LT_VEC_BOTTOMK:
	case LT_VEC_SORT:
	case LT_VEC_SORT_DESC:
		rc = eval_ranked(ev, e, in, m);
		break;
	default:
		rc = eval_grouped(ev, e, in, m);
		break;
	}
	lt_matrix_free(in);
	if (rc < 0) {
		lt_matrix_free(m);
		return -1;
	}
	*out = m;
	return 0;
}

/* --- Binary operators --- */

static int
is_comparison(enum lt_binary_op op)
{
	return op >= LT_BIN_EQ && op <= LT_BIN_LE;
}

/* Loki's MergeBinOp on two values.  Returns 0 when a filtering
 * comparison drops the pair, else 1 with *out: the arithmetic's result,
 * a comparison's 0 or 1, or (filtering) the vector side's value, kept. */
static int
merge(enum lt_binary_op op, double l, double r, int filter, double kept,
      double *out)
{
	int truth;

	switch (op) {
	case LT_BIN_ADD: *out = l + r; return 1;
	case LT_BIN_SUB: *out = l - r; return 1;
	case LT_BIN_MUL: *out = l * r; return 1;
	case LT_BIN_DIV: *out = r == 0 ? NAN : l / r; return 1;
	case LT_BIN_MOD: *out = r == 0 ? NAN : fmod(l, r); return 1;
	case LT_BIN_POW: *out = pow(l, r); return 1;
	case LT_BIN_EQ: truth = l == r; break;
	case LT_BIN_NE: truth = l != r; break;
	case LT_BIN_GT: truth = l > r; break;
	case LT_BIN_GE: truth = l >= r; break;
	case LT_BIN_LT: truth = l < r; break;
	case LT_BIN_LE: truth = l <= r; break;
	default: *out = NAN; return 1;
	}
	if (!truth && filter)
		return 0;
	*out = filter ? kept : truth;
	return 1;
}

/* scalar op scalar (a comparison gives 0 or 1), vector op scalar and
 * scalar op vector: the vector's series keep their labels. */
static int
eval_with_scalar(struct ev *ev, const struct lt_expr *e, struct lt_matrix *l,
		 struct lt_matrix *r, struct lt_matrix *out)
{
	const struct lt_matrix *vec = l->scalar ? r : l;
	const struct lt_series *sc = l->scalar ? &l->series[0] : &r->series[0];
	int both = l->scalar && r->scalar;
	int filter = !both && !e->return_bool && is_comparison(e->binary_op);
	size_t i, s;
	double lv, rv, v;
	long idx;

	out->scalar = both;
	for (i = 0; i < vec->n; i++) {
		const struct lt_series *se = &vec->series[i];

		idx = -1;
		for (s = 0; s < out->n_steps; s++) {
			if (!se->has[s] || !sc->has[s])
				continue;
			lv = l->scalar ? sc->v[s] : se->v[s];
			rv = l->scalar ? se->v[s] : sc->v[s];
			if (!merge(e->binary_op, lv, rv, filter, se->v[s], &v))
				continue;
			if (idx < 0 && (idx = ev_series(ev, out, se->labels,
							se->n_labels)) < 0)
				return -1;
			series_set(&out->series[idx], s, v);
		}
	}
	return 0;
}

/* Loki's matchingSignature: a hash of the labels on() names, of those
 * ignoring() leaves, or of all. */
static uint64_t *
signatures(struct ev *ev, const struct lt_matrix *m,
	   const struct lt_vector_match *vm)
{
	uint64_t *sig = malloc((m->n + 1) * sizeof(*sig));
	size_t i;

	if (sig == NULL) {
		(void)ev_no_memory(ev);
		return NULL;
	}
	for (i = 0; i < m->n; i++) {
		const struct lt_series *se = &m->series[i];

		if (lb_from(&ev->lb, se->labels, se->n_labels) < 0) {
			free(sig);
			(void)ev_no_memory(ev);
			return NULL;
		}
		if (vm->present)
			lb_filter(&ev->lb, vm->labels, vm->n_labels, vm->on);
		sig[i] = labels_hash(ev->lb.l, ev->lb.n);
	}
	return sig;
}

/* A set of 64-bit keys with a value each, emptied at every step by a
 * new generation rather than by clearing. */
struct u64map {
	uint64_t *key;
	long *val;
	uint32_t *gen;
	size_t cap;
	uint32_t cur;
};

static int
u64map_init(struct u64map *t, size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n + 2)
		cap *= 2;
	t->key = malloc(cap * sizeof(*t->key));
	t->val = malloc(cap * sizeof(*t->val));
	t->gen = calloc(cap, sizeof(*t->gen));
	t->cap = cap;
	t->cur = 1;
	return t->key == NULL || t->val == NULL || t->gen == NULL ? -1 : 0;
}

static void
u64map_free(struct u64map *t)
{
	free(t->key);
	free(t->val);
	free(t->gen);
}

/* The slot of key: found (gen current) or where it goes. */
static size_t
u64map_slot(const struct u64map *t, uint64_t key)
{
	size_t i, mask = t->cap - 1;

	for (i = (size_t)(key ^ key >> 29) & mask; t->gen[i] == t->cur;
	     i = (i + 1) & mask)
		if (t->key[i] == key)
			return i;
	return i;
}

static long
u64map_get(const struct u64map *t, uint64_t key)
{
	size_t i = u64map_slot(t, key);

	return t->gen[i] == t->cur ? t->val[i] : -1;
}

/* Returns 1 when key was there already. */
static int
u64map_put(struct u64map *t, uint64_t key, long val)
{
	size_t i = u64map_slot(t, key);

	if (t->gen[i] == t->cur)
		return 1;
	t->gen[i] = t->cur;
	t->key[i] = key;
	t->val[i] = val;
	return 0;
}

/* and, or, unless at one step. */
static int
set_op_step(struct ev *ev, enum lt_binary_op op, const struct lt_matrix *l,
	    const struct lt_matrix *r, const uint64_t *ls, const uint64_t *rs,
	    struct u64map *t, size_t s, struct lt_matrix *out)
{
	size_t i, nl = 0, nr = 0;
	long idx;

	t->cur++;
	for (i = 0; i < l->n; i++)
		nl += l->series[i].has[s];
	for (i = 0; i < r->n; i++)
		nr += r->series[i].has[s];
	if (op == LT_BIN_AND && (nl == 0 || nr == 0))
		return 0;
	for (i = 0; i < (op == LT_BIN_OR ? l->n : r->n); i++)
		if ((op == LT_BIN_OR ? l : r)->series[i].has[s])
			(void)u64map_put(t, op == LT_BIN_OR ? ls[i] : rs[i], 0);
	for (i = 0; i < l->n; i++) {
		const struct lt_series *se = &l->series[i];
		int found = u64map_get(t, ls[i]) >= 0;

		if (!se->has[s] || (op == LT_BIN_AND && !found) ||
		    (op == LT_BIN_UNLESS && found && nr > 0))
			continue;
		if ((idx = ev_series(ev, out, se->labels, se->n_labels)) < 0)
			return -1;
		series_set(&out->series[idx], s, se->v[s]);
	}
	for (i = 0; op == LT_BIN_OR && i < r->n; i++) {
		const struct lt_series *se = &r->series[i];

		if (!se->has[s] || (nl > 0 && u64map_get(t, rs[i]) >= 0))
			continue;
		if ((idx = ev_series(ev, out, se->labels, se->n_labels)) < 0)
			return -1;
		series_set(&out->series[idx], s, se->v[s]);
	}
	return 0;
}

static int
eval_set_op(struct ev *ev, const struct lt_expr *e, const struct lt_matrix *l,
	    const struct lt_matrix *r, struct lt_matrix *out)
{
	uint64_t *ls = signatures(ev, l, &e->match);
	uint64_t *rs = ls != NULL ? signatures(ev, r, &e->match) : NULL;
	struct u64map t = {0};
	size_t s;
	int rc = -1;

	if (rs == NULL)
		goto done;
	if (u64map_init(&t, l->n + r->n) < 0) {
		rc = ev_no_memory(ev);
		goto done;
	}
	for (s = 0; s < out->n_steps; s++)
		if (set_op_step(ev, e->binary_op, l, r, ls, rs, &t, s, out) < 0)
			goto done;
	rc = 0;
done:
	u64map_free(&t);
	free(ls);
	free(rs);
	return rc;
}

/* Loki's resultMetric: the "many" side's labels; one-to-one keeps only
 * the on() labels or drops the ignoring() ones; group_x's include
 * labels come from the "one" side. */
static int
result_labels(struct ev *ev, const struct lt_vector_match *vm,
	      const struct lt_series *many, const struct lt_series *one)
{
	const struct lt_label *v;
	size_t i;

	if (lb_from(&ev->lb, many->labels, many->n_labels) < 0)
		return ev_no_memory(ev);
	if (!vm->present)
		return 0;
	if (vm->card == LT_CARD_ONE_TO_ONE)
		lb_filter(&ev->lb, vm->labels, vm->n_labels, vm->on);
	for (i = 0; i < vm->n_include; i++) {
		v = label_get(one->labels, one->n_labels, vm->include[i]);
		if (v != NULL && v->value_len > 0) {
			if (lb_set(&ev->lb, vm->include[i], v->value,
				   v->value_len) < 0)
				return ev_no_memory(ev);
		} else {
			lb_del(&ev->lb, vm->include[i]);
		}
	}
	return 0;
}

/* What a vector/vector arithmetic or comparison works from: the "many"
 * side (the left, or the right for group_right) and the "one" side,
 * their signatures, and per "many" series the "one" series it last
 * matched and the output series that made. */
struct binop {
	const struct lt_expr *e;
	const struct lt_matrix *many, *one;
	uint64_t *msig, *osig;
	long *last_one, *last_out;
	uint64_t *last_hash;
	struct u64map ones, matched;
	int swapped;
};

/* The hash of the labels the pair (many i, one j) gives, which are left
 * in ev->lb unless the pair is the one i matched last. */
static int
binop_labels(struct ev *ev, struct binop *b, size_t i, long j, uint64_t *hash)
{
	if (b->last_one[i] == j) {
		*hash = b->last_hash[i];
		return 0;
	}
	if (result_labels(ev, &b->e->match, &b->many->series[i],
			  &b->one->series[j]) < 0)
		return -1;
	b->last_one[i] = j;
	b->last_out[i] = -1;
	b->last_hash[i] = *hash = labels_hash(ev->lb.l, ev->lb.n);
	return 0;
}

/* The output series of the pair binop_labels() just saw. */
static long
binop_output(struct ev *ev, struct binop *b, size_t i, struct lt_matrix *out)
{
	long idx;

	if (b->last_out[i] >= 0)
		return b->last_out[i];
	if (result_labels(ev, &b->e->match, &b->many->series[i],
			  &b->one->series[b->last_one[i]]) < 0 ||
	    (idx = ev_series(ev, out, ev->lb.l, ev->lb.n)) < 0)
		return -1;
	return b->last_out[i] = idx;
}

static int
binop_step(struct ev *ev, struct binop *b, size_t s, struct lt_matrix *out)
{
	const struct lt_vector_match *vm = &b->e->match;
	int one_to_one = !vm->present || vm->card == LT_CARD_ONE_TO_ONE;
	double mv, ov, v;
	uint64_t hash;
	size_t i;
	long j, idx;

	b->ones.cur++;
	b->matched.cur++;
	for (i = 0; i < b->one->n; i++)
		if (b->one->series[i].has[s] &&
		    u64map_put(&b->ones, b->osig[i], (long)i))
			return ev_error(ev, 400, "found duplicate series on the "
					"%s hand-side;many-to-many matching not "
					"allowed: matching labels must be unique "
					"on one side", b->swapped ? "left" : "right");
	for (i = 0; i < b->many->n; i++) {
		if (!b->many->series[i].has[s] ||
		    (j = u64map_get(&b->ones, b->msig[i])) < 0)
			continue;
		if (binop_labels(ev, b, i, j, &hash) < 0)
			return -1;
		if (one_to_one && u64map_put(&b->matched, b->msig[i], 0))
			return ev_error(ev, 400, "multiple matches for labels: "
					"many-to-one matching must be explicit "
					"(group_left/group_right)");
		if (!one_to_one &&
		    u64map_put(&b->matched, b->msig[i] * UINT64_C(31) ^ hash, 0))
			return ev_error(ev, 400, "multiple matches for labels: "
					"grouping labels must ensure unique "
					"matches");
		mv = b->many->series[i].v[s];
		ov = b->one->series[j].v[s];
		if (!merge(b->e->binary_op, b->swapped ? ov : mv,
			   b->swapped ? mv : ov, !b->e->return_bool,
			   b->swapped ? ov : mv, &v))
			continue;
		if ((idx = binop_output(ev, b, i, out)) < 0)
			return -1;
		series_set(&out->series[idx], s, v);
	}
	return 0;
}

static int
eval_vector_binop(struct ev *ev, const struct lt_expr *e,
		  const struct lt_matrix *l, const struct lt_matrix *r,
		  struct lt_matrix *out)
{
	struct binop b = {0};
	size_t i, s;
	int rc = -1;

	b.e = e;
	b.swapped = e->match.present && e->match.card == LT_CARD_GROUP_RIGHT;
	b.many = b.swapped ? r : l;
	b.one = b.swapped ? l : r;
	if ((b.msig = signatures(ev, b.many, &e->match)) == NULL ||
	    (b.osig = signatures(ev, b.one, &e->match)) == NULL)
		goto done;
	b.last_one = malloc((b.many->n + 1) * sizeof(long));
	b.last_out = malloc((b.many->n + 1) * sizeof(long));
	b.last_hash = malloc((b.many->n + 1) * sizeof(uint64_t));
	if (b.last_one == NULL || b.last_out == NULL || b.last_hash == NULL ||
	    u64map_init(&b.ones, b.one->n) < 0 ||
	    u64map_init(&b.matched, b.many->n) < 0) {
		rc = ev_no_memory(ev);
		goto done;
	}
	for (i = 0; i < b.many->n; i++)
		b.last_one[i] = -1;
	for (s = 0; s < out->n_steps; s++)
		if (binop_step(ev, &b, s, out) < 0)
			goto done;
	rc = 0;
done:
	free(b.msig);
	free(b.osig);
	free(b.last_one);
	free(b.last_out);
	free(b.last_hash);
	u64map_free(&b.ones);
	u64map_free(&b.matched);
	return rc;
}

static int
eval_binary(struct ev *ev, const struct lt_expr *e, struct lt_matrix **out)
{
	struct lt_matrix *l = NULL, *r = NULL, *m = NULL;
	enum lt_binary_op op = e->binary_op;
	int rc = -1;

	if (ev_eval(ev, e->left, NULL, &l) < 0 ||
	    ev_eval(ev, e->right, NULL, &r) < 0 || (m = ev_matrix(ev)) == NULL)
		goto done;
	if (l->scalar || r->scalar)
		rc = eval_with_scalar(ev, e, l, r, m);
	else if (op == LT_BIN_AND || op == LT_BIN_OR || op == LT_BIN_UNLESS)
		rc = eval_set_op(ev, e, l, r, m);
	else
		rc = eval_vector_binop(ev, e, l, r, m);
done:
	lt_matrix_free(l);
	lt_matrix_free(r);
	if (rc < 0) {
		lt_matrix_free(m);
		return -1;
	}
	*out = m;
	return 0;
}

/* --- label_replace --- */

static pcre2_code *
replace_regex(struct ev *ev, const char *re)
{
	pcre2_compile_context *cc;
	pcre2_code *code;
	struct lt_buf pat = LT_BUF_INIT;
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off = 0;
	int ec = 0;

	if (lt_buf_printf(&pat, "^(?:%s)$", re) < 0 ||
	    (cc = pcre2_compile_context_create(NULL)) == NULL) {
		lt_buf_free(&pat);
		(void)ev_no_memory(ev);
		return NULL;
	}
	(void)pcre2_set_newline(cc, PCRE2_NEWLINE_LF);
	code = pcre2_compile((PCRE2_SPTR)pat.data, pat.len,
			     PCRE2_UTF | PCRE2_MATCH_INVALID_UTF |
			     PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C,
			     &ec, &off, cc);
	pcre2_compile_context_free(cc);
	lt_buf_free(&pat);
	if (code == NULL) {
		if (pcre2_get_error_message(ec, msg, sizeof(msg)) < 0)
			(void)snprintf((char *)msg, sizeof(msg), "error %d", ec);
		(void)ev_error(ev, 400, "invalid regex in label_replace: %s",
			       (const char *)msg);
	}
	return code;
}

static int
name_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_';
}

/* The group a $name or ${name} refers to, as Go's Regexp.Expand reads
 * it: a number without leading zeros, else a group's name; -1: none. */
static int
template_group(const pcre2_code *code, const char *name, size_t len)
{
	char buf[64];
	size_t i;
	int num = 0;

	for (i = 0; i < len; i++) {
		if (name[i] < '0' || name[i] > '9' || num >= 100000000) {
			num = -1;
			break;
		}
		num = num * 10 + (name[i] - '0');
	}
	if (num >= 0 && !(name[0] == '0' && len > 1))
		return num;
	if (num >= 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, name, len);
	buf[len] = '\0';
	num = pcre2_substring_number_from_name(code, (PCRE2_SPTR)buf);
	return num < 0 ? -1 : num;
}

/* Go's Regexp.ExpandString of tmpl for the match in src. */
static int
expand(struct lt_buf *out, const pcre2_code *code, const char *tmpl,
       const char *src, const PCRE2_SIZE *ov, uint32_t n_groups)
{
	const char *p = tmpl, *name, *end;
	size_t len;
	int g;

	while (*p != '\0') {
		if (*p != '$' || p[1] == '\0') {
			if (lt_buf_append_byte(out, (unsigned char)*p++) < 0)
				return -1;
			continue;
		}
		if (p[1] == '$') {
			if (lt_buf_append_byte(out, '$') < 0)
				return -1;
			p += 2;
			continue;
		}
		name = p[1] == '{' ? p + 2 : p + 1;
		for (end = name; name_byte((unsigned char)*end); end++)
			;
		len = (size_t)(end - name);
		if (len == 0 || (p[1] == '{' && *end != '}')) {
			if (lt_buf_append_byte(out, (unsigned char)*p++) < 0)
				return -1;
			continue;
		}
		p = p[1] == '{' ? end + 1 : end;
		g = template_group(code, name, len);
		if (g < 0 || (uint32_t)g >= n_groups || ov[2 * g] == PCRE2_UNSET)
			continue;
		if (lt_buf_append(out, src + ov[2 * g], ov[2 * g + 1] - ov[2 * g]) < 0)
			return -1;
	}
	return 0;
}

/* The labels of one series after label_replace, in ev->lb (value in
 * val). */
static int
replace_labels(struct ev *ev, const struct lt_expr *e, pcre2_code *code,
	       pcre2_match_data *md, pcre2_match_context *mc,
	       const struct lt_series *se, struct lt_buf *val)
{
	const struct lt_label *src = label_get(se->labels, se->n_labels, e->src);
	const char *sv = src != NULL ? src->value : "";
	size_t slen = src != NULL ? src->value_len : 0;
	int rc;

	if (lb_from(&ev->lb, se->labels, se->n_labels) < 0)
		return ev_no_memory(ev);
	rc = pcre2_match(code, (PCRE2_SPTR)sv, slen, 0, 0, md, mc);
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc < 0)
		return ev_error(ev, 400, "label_replace: the regex %s could not "
				"be matched (error %d)", e->regex, rc);
	lt_buf_reset(val);
	if (expand(val, code, e->replacement, sv, pcre2_get_ovector_pointer(md),
		   pcre2_get_ovector_count(md)) < 0)
		return ev_no_memory(ev);
	lb_del(&ev->lb, e->dst);
	if (val->len > 0 &&
	    lb_set(&ev->lb, e->dst, (const char *)val->data, val->len) < 0)
		return ev_no_memory(ev);
	return 0;
}

static int
replace_all(struct ev *ev, const struct lt_expr *e, pcre2_code *code,
	    const struct lt_matrix *in, struct lt_matrix *out)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(code, NULL);
	pcre2_match_context *mc = pcre2_match_context_create(NULL);
	struct lt_buf val = LT_BUF_INIT;
	size_t i, s;
	long idx;
	int rc = -1;

	if (md == NULL || mc == NULL) {
		(void)ev_no_memory(ev);
		goto done;
	}
	(void)pcre2_set_match_limit(mc, RE_MATCH_LIMIT);
	(void)pcre2_set_depth_limit(mc, RE_DEPTH_LIMIT);
	for (i = 0; i < in->n; i++) {
		const struct lt_series *se = &in->series[i];

		if (!series_has_points(in, se))
			continue;
		if (replace_labels(ev, e, code, md, mc, se, &val) < 0 ||
		    (idx = ev_series(ev, out, ev->lb.l, ev->lb.n)) < 0)
			goto done;
		for (s = 0; s < in->n_steps; s++)
			if (se->has[s])
				series_set(&out->series[idx], s, se->v[s]);
	}
	rc = 0;
done:
	lt_buf_free(&val);
	pcre2_match_data_free(md);
	pcre2_match_context_free(mc);
	return rc;
}

static int
eval_label_replace(struct ev *ev, const struct lt_expr *e,
		   struct lt_matrix **out)
{
	struct lt_matrix *in = NULL, *m = NULL;
	pcre2_code *code;
	int rc = -1;

	if ((code = replace_regex(ev, e->regex != NULL ? e->regex : "")) == NULL)
		return -1;
	if (ev_eval(ev, e->left, NULL, &in) < 0 || (m = ev_matrix(ev)) == NULL)
		goto done;
	rc = replace_all(ev, e, code, in, m);
	m->ordered = in->ordered;
done:
	pcre2_code_free(code);
	lt_matrix_free(in);
	if (rc < 0) {
		lt_matrix_free(m);
		return -1;
	}
	*out = m;
	return 0;
}

static int
ev_eval(struct ev *ev, const struct lt_expr *e,
	const struct lt_grouping *sum_by, struct lt_matrix **out)
{
	*out = NULL;
	if (e == NULL)
		return ev_error(ev, 400, "empty metric expression");
	switch (e->kind) {
	case LT_EXPR_RANGE:
		return eval_leaf(ev, e, sum_by, out);
	case LT_EXPR_VECTOR_AGG:
		return eval_vector_agg(ev, e, out);
	case LT_EXPR_BINARY:
		return eval_binary(ev, e, out);
	case LT_EXPR_NUMBER:
		return eval_constant(ev, e, 1, out);
	case LT_EXPR_VECTOR:
		return eval_constant(ev, e, 0, out);
	case LT_EXPR_LABEL_REPLACE:
		return eval_label_replace(ev, e, out);
	}
	return ev_error(ev, 400, "unknown metric expression");
}

/* Loki's Sortable(): sort or sort_desc anywhere in the tree. */
static int
sortable(const struct lt_expr *e)
{
	if (e == NULL)
		return 0;
	if (e->kind == LT_EXPR_VECTOR_AGG &&
	    (e->vector_op == LT_VEC_SORT || e->vector_op == LT_VEC_SORT_DESC))
		return 1;
	return sortable(e->left) || sortable(e->right);
}

int
lt_metric_eval(const struct lt_expr *e, const struct lt_steps *st,
	       const struct lt_leaf_source *src, size_t max_series,
	       struct lt_matrix **out, struct lt_query_error *err)
{
	struct ev ev;
	int rc;

	memset(&ev, 0, sizeof(ev));
	ev.st = st;
	ev.src = src;
	ev.max_series = max_series;
	ev.err = err;
	*out = NULL;
	rc = ev_eval(&ev, e, NULL, out);
	free(ev.lb.l);
	if (rc == 0)
		(*out)->ordered = sortable(e);
	return rc;
}

/* --- Loki's JSON --------------------------------------------------------- */

struct writer {
	struct lt_buf out;
	const struct lt_query_sink *sink;
	int failed;
};

static int
w_flush(struct writer *w, int all)
{
	if (w->failed)
		return -1;
	if (w->out.len == 0 || (!all && w->out.len < WRITE_CHUNK))
		return 0;
	if (w->sink->write(w->sink->ctx, w->out.data, w->out.len) < 0) {
		w->failed = 1;
		return -1;
	}
	lt_buf_reset(&w->out);
	return 0;
}

static int
w_metric(struct writer *w, const struct lt_series *se)
{
	size_t i;

	if (lt_buf_append(&w->out, "{\"metric\":{", 11) < 0)
		return -1;
	for (i = 0; i < se->n_labels; i++)
		if ((i > 0 && lt_buf_append_byte(&w->out, ',') < 0) ||
		    lt_json_quote(&w->out, se->labels[i].name,
				  se->labels[i].name_len) < 0 ||
		    lt_buf_append_byte(&w->out, ':') < 0 ||
		    lt_json_quote(&w->out, se->labels[i].value,
				  se->labels[i].value_len) < 0)
			return -1;
	return lt_buf_append_byte(&w->out, '}');
}

/* [ts,"v"] */
static int
w_point(struct writer *w, int64_t ts_ns, double v)
{
	char t[400], n[400];

	go_time(t, sizeof(t), ts_ns);
	go_float(n, sizeof(n), v);
	return lt_buf_printf(&w->out, "[%s,\"%s\"]", t, n);
}

static int
w_series(struct writer *w, const struct lt_matrix *m,
	 const struct lt_series *se, const struct lt_steps *st, int instant,
	 uint64_t *points)
{
	size_t s;
	int first = 1;

	if (w_metric(w, se) < 0)
		return -1;
	if (instant) {
		(*points)++;
		if (lt_buf_append(&w->out, ",\"value\":", 9) < 0 ||
		    w_point(w, st->start_ns, se->v[0]) < 0)
			return -1;
		return lt_buf_append_byte(&w->out, '}');
	}
	if (lt_buf_append(&w->out, ",\"values\":[", 11) < 0)
		return -1;
	for (s = 0; s < m->n_steps; s++) {
		if (!se->has[s])
			continue;
		(*points)++;
		if ((!first && lt_buf_append_byte(&w->out, ',') < 0) ||
		    w_point(w, st->start_ns + (int64_t)s * st->step_ns,
			    se->v[s]) < 0)
			return -1;
		first = 0;
		if (w_flush(w, 0) < 0)
			return -1;
	}
	return lt_buf_append(&w->out, "]}", 2);
}

static const struct lt_matrix *writing;

static int
series_order(const void *pa, const void *pb)
{
	const struct lt_series *a = &writing->series[*(const size_t *)pa];
	const struct lt_series *b = &writing->series[*(const size_t *)pb];

	return labels_cmp(a->labels, a->n_labels, b->labels, b->n_labels);
}

/* The series to write, in Loki's order; NULL when out of memory. */
static size_t *
write_order(const struct lt_matrix *m, int instant, size_t *n)
{
	size_t *order = malloc((m->n + 1) * sizeof(*order)), i;

	if (order == NULL)
		return NULL;
	*n = 0;
	for (i = 0; i < m->n; i++)
		if (instant ? m->series[i].has[0] != 0 :
			      series_has_points(m, &m->series[i]))
			order[(*n)++] = i;
	if (!(instant && m->ordered)) {
		writing = m;
		if (*n > 1)
			qsort(order, *n, sizeof(*order), series_order);
		writing = NULL;
	}
	return order;
}

static int
w_result(struct writer *w, const struct lt_matrix *m,
	 const struct lt_steps *st, int instant, uint64_t *points)
{
	size_t *order, n, i;
	int rc = -1;

	if (instant && m->scalar) {
		if (m->n == 0 || !m->series[0].has[0])
			return lt_buf_append(&w->out, "[]", 2);
		return w_point(w, st->start_ns, m->series[0].v[0]);
	}
	if ((order = write_order(m, instant, &n)) == NULL)
		return -1;
	if (lt_buf_append_byte(&w->out, '[') < 0)
		goto done;
	for (i = 0; i < n; i++)
		if ((i > 0 && lt_buf_append_byte(&w->out, ',') < 0) ||
		    w_series(w, m, &m->series[order[i]], st, instant,
			     points) < 0 ||
		    w_flush(w, 0) < 0)
			goto done;
	rc = lt_buf_append_byte(&w->out, ']');
done:
	free(order);
	return rc;
}

int
lt_metric_write(const struct lt_matrix *m, const struct lt_steps *st,
		int instant, const struct lt_log_stats *stats,
		const struct lt_query_sink *sink)
{
	static const struct lt_log_stats none;
	struct writer w;
	uint64_t points = 0;
	const char *type = !instant ? "matrix" : m->scalar ? "scalar" : "vector";
	int rc = -1;

	memset(&w, 0, sizeof(w));
	w.sink = sink;
	if (lt_buf_printf(&w.out, "{\"status\":\"success\",\"data\":{"
			  "\"resultType\":\"%s\",\"result\":", type) < 0 ||
	    w_result(&w, m, st, instant, &points) < 0 ||
	    lt_buf_append(&w.out, ",\"stats\":", 9) < 0 ||
	    lt_query_write_stats(&w.out, stats != NULL ? stats : &none,
				 instant && m->scalar ? 0 : points) < 0 ||
	    lt_buf_append(&w.out, "}}", 2) < 0 || w_flush(&w, 1) < 0)
		goto done;
	rc = 0;
done:
	lt_buf_free(&w.out);
	return rc;
}
