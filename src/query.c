/* logthra-query's engine: statements run on ClickHouse, TabSeparated
 * rows read, Loki's JSON answers written (query.h, query_int.h). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hash.h"
#include "labels.h"
#include "log.h"
#include "pipeline.h"
#include "query.h"
#include "query_int.h"

/* A row longer than this is refused rather than held: the table's lines
 * are far shorter (logthra-recv's limits), so it is not a row. */
#define MAX_ROW (64u << 20)
/* After a line that is not a row, how much more is read to find the
 * exception ClickHouse may have written after it. */
#define AFTER_BAD (64u << 10)
/* The answer goes to the sink in pieces of about this size. */
#define WRITE_CHUNK 65536
/* ErrorCodes.cpp */
#define CH_TOO_MANY_ROWS 158
#define CH_TIMEOUT_EXCEEDED 159
#define CH_READONLY 164

/* --- JSON ---------------------------------------------------------------- */

/* The length of the valid UTF-8 sequence at s (of at most len bytes),
 * or 0 when the bytes there are not one: overlong forms, surrogates and
 * code points past U+10FFFF are invalid, as in Go's unicode/utf8. */
static size_t
utf8_valid_len(const unsigned char *s, size_t len, uint32_t *cp)
{
	unsigned char c = s[0];
	size_t n, i;
	uint32_t v, min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		v = c & 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		v = c & 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		v = c & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

int
lt_json_quote(struct lt_buf *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	const unsigned char *run;
	size_t saved = out->len, n;
	uint32_t cp;
	char esc[8];
	const char *e;

	if (lt_buf_append_byte(out, '"') < 0)
		return -1;
	while (p < end) {
		/* Copy the bytes that need nothing in one go. */
		run = p;
		while (p < end && *p >= 0x20 && *p != '"' && *p != '\\' &&
		       *p < 0x80)
			p++;
		if (p > run && lt_buf_append(out, run, (size_t)(p - run)) < 0)
			goto oom;
		if (p == end)
			break;
		e = NULL;
		n = 1;
		switch (*p) {
		case '"': e = "\\\""; break;
		case '\\': e = "\\\\"; break;
		case '\b': e = "\\b"; break;
		case '\f': e = "\\f"; break;
		case '\n': e = "\\n"; break;
		case '\r': e = "\\r"; break;
		case '\t': e = "\\t"; break;
		default:
			if (*p < 0x20) {
				(void)snprintf(esc, sizeof(esc), "\\u%04x", *p);
				e = esc;
				break;
			}
			n = utf8_valid_len(p, (size_t)(end - p), &cp);
			if (n == 0) {
				e = "\\ufffd";
				n = 1;
			} else if (cp == 0x2028 || cp == 0x2029) {
				/* As Go writes them, for JavaScript's sake. */
				e = cp == 0x2028 ? "\\u2028" : "\\u2029";
			}
		}
		if (e != NULL ? lt_buf_append(out, e, strlen(e)) < 0 :
				lt_buf_append(out, p, n) < 0)
			goto oom;
		p += n;
	}
	if (lt_buf_append_byte(out, '"') < 0)
		goto oom;
	return 0;
oom:
	out->len = saved;
	return -1;
}

/* --- TabSeparated -------------------------------------------------------- */

/* The escape at s[0] == '\\' of at most len bytes, as ClickHouse reads
 * it back (parseComplexEscapeSequence): sets *byte, returns the bytes
 * it takes. */
static size_t
unescape_one(const unsigned char *s, size_t len, unsigned char *byte)
{
	int hi, lo;

	if (len < 2) {
		*byte = '\\';
		return 1;
	}
	switch (s[1]) {
	case 'a': *byte = '\a'; break;
	case 'b': *byte = '\b'; break;
	case 'e': *byte = 0x1b; break;
	case 'f': *byte = '\f'; break;
	case 'n': *byte = '\n'; break;
	case 'r': *byte = '\r'; break;
	case 't': *byte = '\t'; break;
	case 'v': *byte = '\v'; break;
	case '0': *byte = '\0'; break;
	case 'x':
		if (len >= 4 && (hi = lt_hex_digit(s[2])) >= 0 &&
		    (lo = lt_hex_digit(s[3])) >= 0) {
			*byte = (unsigned char)(hi << 4 | lo);
			return 4;
		}
		*byte = 'x';
		break;
	default:
		*byte = s[1];
	}
	return 2;
}

/* Appends s[0..len) unescaped, up to an unescaped stop byte (when stop
 * is not -1).  Returns the bytes read, or (size_t)-1 when out of memory. */
static size_t
unescape_until(struct lt_buf *out, const unsigned char *s, size_t len,
	       int stop)
{
	size_t i = 0, start, n;
	unsigned char byte;

	while (i < len) {
		start = i;
		while (i < len && s[i] != '\\' && (int)s[i] != stop)
			i++;
		if (i > start && lt_buf_append(out, s + start, i - start) < 0)
			return (size_t)-1;
		if (i == len || (int)s[i] == stop)
			break;
		n = unescape_one(s + i, len - i, &byte);
		if (lt_buf_append_byte(out, byte) < 0)
			return (size_t)-1;
		i += n;
	}
	return i;
}

int
lt_tsv_unescape(struct lt_buf *out, const char *s, size_t len)
{
	size_t saved = out->len;

	if (unescape_until(out, (const unsigned char *)s, len, -1) ==
	    (size_t)-1) {
		out->len = saved;
		return -1;
	}
	return 0;
}

static void
say(char *why, size_t whylen, const char *msg, size_t at)
{
	if (why != NULL && whylen > 0)
		(void)snprintf(why, whylen, "%s at byte %zu", msg, at);
}

static int
strings_push(struct lt_strings *out, size_t off, size_t len)
{
	struct lt_span *items;
	size_t cap;

	if (out->n == out->cap) {
		cap = out->cap ? out->cap * 2 : 16;
		items = realloc(out->items, cap * sizeof(*items));
		if (items == NULL)
			return -1;
		out->items = items;
		out->cap = cap;
	}
	out->items[out->n].off = off;
	out->items[out->n].len = len;
	out->n++;
	return 0;
}

static size_t
skip_spaces(const char *s, size_t len, size_t i)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n'))
		i++;
	return i;
}

int
lt_tsv_array(const char *s, size_t len, struct lt_strings *out, char *why,
	     size_t whylen)
{
	size_t i, off, n;

	i = skip_spaces(s, len, 0);
	if (i == len || s[i] != '[') {
		say(why, whylen, "an array does not start with '['", i);
		return -1;
	}
	i = skip_spaces(s, len, i + 1);
	if (i < len && s[i] == ']')
		goto closed;
	for (;;) {
		if (i == len || s[i] != '\'') {
			say(why, whylen, "an array element is not a quoted string", i);
			return -1;
		}
		i++;
		off = out->text.len;
		n = unescape_until(&out->text, (const unsigned char *)s + i,
				   len - i, '\'');
		if (n == (size_t)-1)
			return -2;
		i += n;
		if (i == len) {
			say(why, whylen, "an array element is not closed", i);
			return -1;
		}
		i++;
		if (strings_push(out, off, out->text.len - off) < 0)
			return -2;
		i = skip_spaces(s, len, i);
		if (i < len && s[i] == ',') {
			i = skip_spaces(s, len, i + 1);
			continue;
		}
		if (i < len && s[i] == ']')
			break;
		say(why, whylen, "an array lacks ',' or ']'", i);
		return -1;
	}
closed:
	i = skip_spaces(s, len, i + 1);
	if (i != len) {
		say(why, whylen, "bytes follow an array", i);
		return -1;
	}
	return 0;
}

void
lt_strings_free(struct lt_strings *s)
{
	lt_buf_free(&s->text);
	free(s->items);
	s->items = NULL;
	s->n = s->cap = 0;
}

/* A decimal integer filling s[0..len); negative only when allowed. */
static int
parse_int(const char *s, size_t len, int allow_negative, uint64_t *mag,
	  int *negative)
{
	size_t i = 0;
	uint64_t v = 0;

	*negative = 0;
	if (allow_negative && len > 0 && s[0] == '-') {
		*negative = 1;
		i = 1;
	}
	if (i == len)
		return -1;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*mag = v;
	return 0;
}

static int
parse_i64(const char *s, size_t len, int64_t *out)
{
	uint64_t mag;
	int neg;

	if (parse_int(s, len, 1, &mag, &neg) < 0)
		return -1;
	if (neg) {
		if (mag > (uint64_t)INT64_MAX + 1)
			return -1;
		*out = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN :
							  -(int64_t)mag;
	} else {
		if (mag > (uint64_t)INT64_MAX)
			return -1;
		*out = (int64_t)mag;
	}
	return 0;
}

static int
parse_u64(const char *s, size_t len, uint64_t *out)
{
	int neg;

	return parse_int(s, len, 0, out, &neg);
}

/* Whether labels are in name order already, as the table keeps them. */
static int
labels_sorted(const struct lt_label *l, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++)
		if (lt_label_cmp(&l[i - 1], &l[i]) > 0)
			return 0;
	return 1;
}

/* Makes out[0 .. to - from) of the cells' items [from, to): "name=value"
 * each, sorted by name. */
static int
split_items(const struct lt_strings *cells, size_t from, size_t to,
	    struct lt_label *out, char *why, size_t whylen)
{
	const char *text = (const char *)cells->text.data;
	const char *item, *eq;
	struct lt_label *l;
	size_t i;

	for (i = from; i < to; i++) {
		item = text + cells->items[i].off;
		eq = memchr(item, '=', cells->items[i].len);
		if (eq == NULL) {
			if (why != NULL && whylen > 0)
				(void)snprintf(why, whylen,
					       "a label without '=' in a row");
			return -1;
		}
		l = &out[i - from];
		l->name = item;
		l->name_len = (size_t)(eq - item);
		l->value = eq + 1;
		l->value_len = cells->items[i].len - l->name_len - 1;
	}
	if (to - from > 1 && !labels_sorted(out, to - from))
		qsort(out, to - from, sizeof(*out), lt_label_cmp);
	return 0;
}

static int
grow_labels(struct lt_label **lbl, size_t *cap, size_t n)
{
	struct lt_label *l;

	/* Never NULL after success, even for no labels: callers add an
	 * offset to it, and an offset from NULL is undefined. */
	if (n == 0)
		n = 1;
	if (n <= *cap && *lbl != NULL)
		return 0;
	l = realloc(*lbl, n * sizeof(*l));
	if (l == NULL)
		return -1;
	*lbl = l;
	*cap = n;
	return 0;
}

/* A stream's label array as last seen, and its labels.  A query's rows
 * come in time order, the streams' rows interleaved: a slot per
 * stream_id modulo ROW_STREAM_SLOTS keeps each one's parse for its next
 * row.  Arrays longer than ROW_STREAM_MAX_CELL are parsed every time,
 * so that the slots stay small. */
#define ROW_STREAM_SLOTS 64
#define ROW_STREAM_MAX_CELL 4096

struct row_stream {
	int used;
	struct lt_buf cell;             /* the array as ClickHouse wrote it */
	struct lt_strings items;        /* its elements, unescaped */
	struct lt_label *lbl;
	size_t n, cap;
};

struct lt_row_streams {
	struct row_stream slot[ROW_STREAM_SLOTS];
};

/* Sets r->labels from cell, parsed or the same as a slot's. */
static int
cached_labels(struct lt_log_row *r, const char *cell, size_t len, char *why,
	      size_t whylen)
{
	struct row_stream *s;
	int rc;

	if (r->streams == NULL &&
	    (r->streams = calloc(1, sizeof(*r->streams))) == NULL)
		return -2;
	s = &r->streams->slot[r->stream_id % ROW_STREAM_SLOTS];
	/* The bytes decide, not the id: the labels are those of this row. */
	if (!s->used || s->cell.len != len ||
	    (len > 0 && memcmp(s->cell.data, cell, len) != 0)) {
		s->used = 0;
		lt_buf_reset(&s->cell);
		lt_buf_reset(&s->items.text);
		s->items.n = 0;
		rc = lt_tsv_array(cell, len, &s->items, why, whylen);
		if (rc < 0)
			return rc;
		if (grow_labels(&s->lbl, &s->cap, s->items.n) < 0 ||
		    lt_buf_append(&s->cell, cell, len) < 0)
			return -2;
		if (split_items(&s->items, 0, s->items.n, s->lbl, why,
				whylen) < 0)
			return -1;
		s->n = s->items.n;
		s->used = 1;
	}
	r->labels = s->lbl;
	r->n_labels = s->n;
	return 0;
}

int
lt_log_row_parse(struct lt_log_row *r, const char *line, size_t len,
		 char *why, size_t whylen)
{
	const char *cell[5];
	size_t cell_len[5], n, start = 0, n_label = 0;
	const char *tab;
	int rc;

	/* Four tabs end the first four cells; the message is the rest of
	 * the line, tabs and all. */
	for (n = 0; n < 4; n++) {
		tab = memchr(line + start, '\t', len - start);
		if (tab == NULL)
			break;
		cell[n] = line + start;
		cell_len[n] = (size_t)(tab - line) - start;
		start = (size_t)(tab - line) + 1;
	}
	cell[n] = line + start;
	cell_len[n] = len - start;
	n++;
	if (n != 5) {
		if (why != NULL && whylen > 0)
			(void)snprintf(why, whylen,
				       "a row has %zu cells, not 5", n);
		return -1;
	}
	if (parse_i64(cell[0], cell_len[0], &r->ts_ns) < 0 ||
	    parse_u64(cell[1], cell_len[1], &r->stream_id) < 0) {
		if (why != NULL && whylen > 0)
			(void)snprintf(why, whylen,
				       "a row's timestamp or stream is no number");
		return -1;
	}
	lt_buf_reset(&r->cells.text);
	r->cells.n = 0;
	if (cell_len[2] <= ROW_STREAM_MAX_CELL)
		rc = cached_labels(r, cell[2], cell_len[2], why, whylen);
	else {
		rc = lt_tsv_array(cell[2], cell_len[2], &r->cells, why, whylen);
		n_label = r->cells.n;
	}
	if (rc < 0)
		return rc;
	rc = lt_tsv_array(cell[3], cell_len[3], &r->cells, why, whylen);
	if (rc < 0)
		return rc;
	if (grow_labels(&r->lbl, &r->lbl_cap, r->cells.n) < 0)
		return -2;
	if (split_items(&r->cells, 0, n_label, r->lbl, why, whylen) < 0 ||
	    split_items(&r->cells, n_label, r->cells.n, r->lbl + n_label, why,
			whylen) < 0)
		return -1;
	if (cell_len[2] > ROW_STREAM_MAX_CELL) {
		r->labels = r->lbl;
		r->n_labels = n_label;
	}
	r->metadata = r->lbl + n_label;
	r->n_metadata = r->cells.n - n_label;
	/* Most lines have no escape: then the line is the cell itself. */
	if (memchr(cell[4], '\\', cell_len[4]) == NULL) {
		r->msg = cell_len[4] > 0 ? cell[4] : "";
		r->msg_len = cell_len[4];
		return 0;
	}
	lt_buf_reset(&r->msg_buf);
	if (lt_tsv_unescape(&r->msg_buf, cell[4], cell_len[4]) < 0)
		return -2;
	r->msg = (const char *)r->msg_buf.data;
	r->msg_len = r->msg_buf.len;
	return 0;
}

void
lt_log_row_free(struct lt_log_row *r)
{
	size_t i;

	lt_strings_free(&r->cells);
	lt_buf_free(&r->msg_buf);
	free(r->lbl);
	r->lbl = NULL;
	r->lbl_cap = 0;
	if (r->streams != NULL) {
		for (i = 0; i < ROW_STREAM_SLOTS; i++) {
			lt_buf_free(&r->streams->slot[i].cell);
			lt_strings_free(&r->streams->slot[i].items);
			free(r->streams->slot[i].lbl);
		}
		free(r->streams);
		r->streams = NULL;
	}
}

/* --- The entries of an answer -------------------------------------------- */

struct lr_entry {
	int64_t ts_ns;
	uint32_t stream;
	uint32_t seq;       /* order of arrival, for a stable order */
	size_t line_off;
	size_t line_len;
	uint64_t hash;
};

struct lr_stream {
	size_t key_off, key_len;    /* the labels, length-prefixed, in keys */
	size_t text_off, text_len;  /* {a="b", c="d"} in texts */
	size_t n_labels;
	uint64_t hash;
};

/* An open-addressing table of indexes + 1 (0: empty), half full at most. */
struct slots {
	uint32_t *v;
	size_t cap;     /* a power of two */
};

struct lt_log_result {
	size_t limit;
	int forward;
	struct lr_entry *entries;
	size_t n_entries, cap_entries;
	struct lr_stream *streams;
	size_t n_streams, cap_streams;
	struct lt_buf lines, keys, texts;
	struct slots stream_slots, entry_slots;
	struct lt_buf key;  /* the key of the entry being added */
};

struct lt_log_result *
lt_log_result_new(size_t limit, int forward)
{
	struct lt_log_result *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	r->limit = limit;
	r->forward = forward;
	return r;
}

void
lt_log_result_free(struct lt_log_result *r)
{
	if (r == NULL)
		return;
	free(r->entries);
	free(r->streams);
	lt_buf_free(&r->lines);
	lt_buf_free(&r->keys);
	lt_buf_free(&r->texts);
	lt_buf_free(&r->key);
	free(r->stream_slots.v);
	free(r->entry_slots.v);
	free(r);
}

size_t
lt_log_result_count(const struct lt_log_result *r)
{
	return r->n_entries;
}

int
lt_log_result_full(const struct lt_log_result *r)
{
	return r->n_entries >= r->limit;
}

/* Doubles a table when it would be more than half full with one more,
 * placing every index again by its hash. */
static int
slots_make_room(struct slots *s, size_t used,
		uint64_t (*hash_of)(const struct lt_log_result *, uint32_t),
		const struct lt_log_result *r)
{
	uint32_t *v;
	size_t cap, i, j;

	if ((used + 1) * 2 <= s->cap)
		return 0;
	cap = s->cap ? s->cap * 2 : 64;
	v = calloc(cap, sizeof(*v));
	if (v == NULL)
		return -1;
	for (i = 0; i < s->cap; i++) {
		if (s->v[i] == 0)
			continue;
		j = hash_of(r, s->v[i] - 1) & (cap - 1);
		while (v[j] != 0)
			j = (j + 1) & (cap - 1);
		v[j] = s->v[i];
	}
	free(s->v);
	s->v = v;
	s->cap = cap;
	return 0;
}

static uint64_t
stream_hash(const struct lt_log_result *r, uint32_t i)
{
	return r->streams[i].hash;
}

static uint64_t
entry_hash(const struct lt_log_result *r, uint32_t i)
{
	return r->entries[i].hash;
}

/* Appends v as Go's strconv.Quote would write it, closely enough to
 * order streams as Loki does: \" \\ and control bytes escaped. */
static int
append_go_quoted(struct lt_buf *out, const char *v, size_t len)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t i;
	int rc = lt_buf_append_byte(out, '"');

	for (i = 0; i < len && rc == 0; i++) {
		if (p[i] == '"' || p[i] == '\\')
			rc = lt_buf_printf(out, "\\%c", p[i]);
		else if (p[i] == '\n')
			rc = lt_buf_append(out, "\\n", 2);
		else if (p[i] == '\t')
			rc = lt_buf_append(out, "\\t", 2);
		else if (p[i] < 0x20 || p[i] == 0x7f)
			rc = lt_buf_printf(out, "\\x%02x", p[i]);
		else
			rc = lt_buf_append_byte(out, p[i]);
	}
	if (rc == 0)
		rc = lt_buf_append_byte(out, '"');
	return rc;
}

int
lt_go_quote(struct lt_buf *out, const char *v, size_t len)
{
	return append_go_quoted(out, v, len);
}

static int
stream_text(struct lt_buf *out, const struct lt_label *l, size_t n)
{
	size_t i;

	if (lt_buf_append_byte(out, '{') < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if ((i > 0 && lt_buf_append(out, ", ", 2) < 0) ||
		    lt_buf_append(out, l[i].name, l[i].name_len) < 0 ||
		    lt_buf_append_byte(out, '=') < 0 ||
		    append_go_quoted(out, l[i].value, l[i].value_len) < 0)
			return -1;
	}
	return lt_buf_append_byte(out, '}');
}

static int
make_key(struct lt_buf *key, const struct lt_label *l, size_t n)
{
	size_t i;

	lt_buf_reset(key);
	for (i = 0; i < n; i++)
		if (lt_buf_append_string(key, l[i].name, l[i].name_len) < 0 ||
		    lt_buf_append_string(key, l[i].value, l[i].value_len) < 0)
			return -1;
	return 0;
}

/* The index of the stream with labels l (its key in r->key), made when
 * new; -1 when out of memory. */
static long
find_stream(struct lt_log_result *r, const struct lt_label *l, size_t n)
{
	uint64_t h = lt_fnv1a(LT_FNV_BASIS, r->key.data, r->key.len);
	struct lr_stream *s;
	size_t j, cap, keys_len = r->keys.len, texts_len = r->texts.len;
	uint32_t idx;

	if (r->stream_slots.cap > 0) {
		j = h & (r->stream_slots.cap - 1);
		while ((idx = r->stream_slots.v[j]) != 0) {
			s = &r->streams[idx - 1];
			if (s->hash == h && s->key_len == r->key.len &&
			    (s->key_len == 0 ||
			     memcmp(r->keys.data + s->key_off, r->key.data,
				    s->key_len) == 0))
				return (long)(idx - 1);
			j = (j + 1) & (r->stream_slots.cap - 1);
		}
	}
	if (r->n_streams == r->cap_streams) {
		cap = r->cap_streams ? r->cap_streams * 2 : 16;
		s = realloc(r->streams, cap * sizeof(*s));
		if (s == NULL)
			return -1;
		r->streams = s;
		r->cap_streams = cap;
	}
	if (slots_make_room(&r->stream_slots, r->n_streams, stream_hash, r) < 0 ||
	    lt_buf_append(&r->keys, r->key.data, r->key.len) < 0 ||
	    stream_text(&r->texts, l, n) < 0) {
		r->keys.len = keys_len;
		r->texts.len = texts_len;
		return -1;
	}
	s = &r->streams[r->n_streams];
	s->key_off = keys_len;
	s->key_len = r->key.len;
	s->text_off = texts_len;
	s->text_len = r->texts.len - texts_len;
	s->n_labels = n;
	s->hash = h;
	j = h & (r->stream_slots.cap - 1);
	while (r->stream_slots.v[j] != 0)
		j = (j + 1) & (r->stream_slots.cap - 1);
	r->stream_slots.v[j] = (uint32_t)(r->n_streams + 1);
	return (long)r->n_streams++;
}

int
lt_log_result_add(struct lt_log_result *r, int64_t ts_ns,
		  const struct lt_label *labels, size_t n, const char *line,
		  size_t len)
{
	struct lr_entry *e;
	uint32_t stream, idx;
	uint64_t h;
	size_t j, cap;
	long si;

	if (lt_log_result_full(r))
		return 0;
	if (make_key(&r->key, labels, n) < 0 ||
	    (si = find_stream(r, labels, n)) < 0)
		return -1;
	stream = (uint32_t)si;
	h = lt_fnv1a(LT_FNV_BASIS, &stream, sizeof(stream));
	h = lt_fnv1a(h, &ts_ns, sizeof(ts_ns));
	h = lt_fnv1a(h, line, len);
	if (r->entry_slots.cap > 0) {
		j = h & (r->entry_slots.cap - 1);
		while ((idx = r->entry_slots.v[j]) != 0) {
			e = &r->entries[idx - 1];
			if (e->hash == h && e->stream == stream &&
			    e->ts_ns == ts_ns && e->line_len == len &&
			    (len == 0 || memcmp(r->lines.data + e->line_off,
						line, len) == 0))
				return 0;
			j = (j + 1) & (r->entry_slots.cap - 1);
		}
	}
	if (r->n_entries == r->cap_entries) {
		cap = r->cap_entries ? r->cap_entries * 2 : 64;
		e = realloc(r->entries, cap * sizeof(*e));
		if (e == NULL)
			return -1;
		r->entries = e;
		r->cap_entries = cap;
	}
	if (slots_make_room(&r->entry_slots, r->n_entries, entry_hash, r) < 0)
		return -1;
	e = &r->entries[r->n_entries];
	e->line_off = r->lines.len;
	if (lt_buf_append(&r->lines, line, len) < 0)
		return -1;
	e->ts_ns = ts_ns;
	e->stream = stream;
	e->seq = (uint32_t)r->n_entries;
	e->line_len = len;
	e->hash = h;
	j = h & (r->entry_slots.cap - 1);
	while (r->entry_slots.v[j] != 0)
		j = (j + 1) & (r->entry_slots.cap - 1);
	r->entry_slots.v[j] = (uint32_t)(r->n_entries + 1);
	r->n_entries++;
	return 1;
}

/* qsort has no context argument: the result being written. */
static const struct lt_log_result *sorting;
static uint32_t *sorting_rank;

static int
stream_order(const void *a, const void *b)
{
	const struct lr_stream *x = &sorting->streams[*(const uint32_t *)a];
	const struct lr_stream *y = &sorting->streams[*(const uint32_t *)b];
	size_t n = x->text_len < y->text_len ? x->text_len : y->text_len;
	int c = memcmp(sorting->texts.data + x->text_off,
		       sorting->texts.data + y->text_off, n);

	if (c != 0)
		return c;
	return x->text_len < y->text_len ? -1 : x->text_len > y->text_len;
}

static int
entry_order(const void *a, const void *b)
{
	const struct lr_entry *x = &sorting->entries[*(const uint32_t *)a];
	const struct lr_entry *y = &sorting->entries[*(const uint32_t *)b];
	uint32_t rx = sorting_rank[x->stream], ry = sorting_rank[y->stream];

	if (rx != ry)
		return rx < ry ? -1 : 1;
	if (x->ts_ns != y->ts_ns) {
		if (sorting->forward)
			return x->ts_ns < y->ts_ns ? -1 : 1;
		return x->ts_ns > y->ts_ns ? -1 : 1;
	}
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sends what out holds when it is big enough, or when at the end. */
static int
flush_out(struct lt_buf *out, const struct lt_query_sink *sink, int last)
{
	if (!last && out->len < WRITE_CHUNK)
		return 0;
	if (out->len > 0 && sink->write(sink->ctx, out->data, out->len) != 0)
		return -1;
	lt_buf_reset(out);
	return 0;
}

/* The labels of a stream's key as a JSON object. */
static int
write_labels(struct lt_buf *out, const unsigned char *key, size_t len)
{
	const unsigned char *p = key, *end = key + len;
	uint64_t nl, vl;
	int first = 1;

	if (lt_buf_append_byte(out, '{') < 0)
		return -1;
	while (p < end) {
		if (lt_varint_decode(&p, end, &nl) < 0 ||
		    nl > (uint64_t)(end - p))
			return -1;
		if ((!first && lt_buf_append_byte(out, ',') < 0) ||
		    lt_json_quote(out, (const char *)p, (size_t)nl) < 0 ||
		    lt_buf_append_byte(out, ':') < 0)
			return -1;
		p += nl;
		if (lt_varint_decode(&p, end, &vl) < 0 ||
		    vl > (uint64_t)(end - p) ||
		    lt_json_quote(out, (const char *)p, (size_t)vl) < 0)
			return -1;
		p += vl;
		first = 0;
	}
	return lt_buf_append_byte(out, '}');
}

/* Loki's stats object (pkg/logqlmodel/stats): what we know in summary,
 * the rest 0, so that clients reading it find every field. */
int
lt_query_write_stats(struct lt_buf *out, const struct lt_log_stats *st,
		     uint64_t returned)
{
	static const char store[] =
		"{\"totalChunksRef\":0,\"totalChunksDownloaded\":0,"
		"\"chunksDownloadTime\":0,\"queryReferencedStructuredMetadata\":false,"
		"\"chunk\":{\"headChunkBytes\":0,\"headChunkLines\":0,"
		"\"decompressedBytes\":0,\"decompressedLines\":0,"
		"\"compressedBytes\":0,\"totalDuplicates\":0,"
		"\"postFilterLines\":0,\"headChunkStructuredMetadataBytes\":0,"
		"\"decompressedStructuredMetadataBytes\":0},"
		"\"chunkRefsFetchTime\":0,\"congestionControlLatency\":0,"
		"\"pipelineWrapperFilteredLines\":0}";
	static const char cache[] =
		"{\"entriesFound\":0,\"entriesRequested\":0,\"entriesStored\":0,"
		"\"bytesReceived\":0,\"bytesSent\":0,\"requests\":0,"
		"\"downloadTime\":0,\"queryLengthServed\":0}";
	static const char *const caches[] = {
		"chunk", "index", "statsResult", "seriesResult", "labelResult",
		"volumeResult", "instantMetricResult", "result"};
	uint64_t bps = 0, lps = 0;
	size_t i;

	if (st->exec_s > 0) {
		bps = (uint64_t)((double)st->bytes / st->exec_s);
		lps = (uint64_t)((double)st->lines / st->exec_s);
	}
	if (lt_buf_printf(out,
			  "{\"summary\":{\"bytesProcessedPerSecond\":%" PRIu64
			  ",\"linesProcessedPerSecond\":%" PRIu64
			  ",\"totalBytesProcessed\":%" PRIu64
			  ",\"totalLinesProcessed\":%" PRIu64
			  ",\"execTime\":%.9f,\"queueTime\":0,\"subqueries\":0"
			  ",\"totalEntriesReturned\":%" PRIu64
			  ",\"splits\":0,\"shards\":0,\"totalPostFilterLines\":%" PRIu64
			  ",\"totalStructuredMetadataBytesProcessed\":0},"
			  "\"querier\":{\"store\":%s},"
			  "\"ingester\":{\"totalReached\":0,\"totalChunksMatched\":0,"
			  "\"totalBatches\":0,\"totalLinesSent\":0,\"store\":%s},"
			  "\"cache\":{",
			  bps, lps, st->bytes, st->lines, st->exec_s, returned,
			  returned, store, store) < 0)
		return -1;
	for (i = 0; i < sizeof(caches) / sizeof(caches[0]); i++)
		if (lt_buf_printf(out, "%s\"%s\":%s", i ? "," : "", caches[i],
				  cache) < 0)
			return -1;
	return lt_buf_printf(out, "},\"index\":{\"totalChunks\":0,"
				  "\"postFilterChunks\":0,\"shardsDuration\":0,"
				  "\"usedBloomFilters\":false}}");
}

static int
write_entries(const struct lt_log_result *r, const uint32_t *order,
	      struct lt_buf *out, const struct lt_query_sink *sink)
{
	const struct lr_entry *e;
	const struct lr_stream *s;
	uint32_t prev = UINT32_MAX;
	size_t i;

	for (i = 0; i < r->n_entries; i++) {
		e = &r->entries[order[i]];
		if (e->stream != prev) {
			s = &r->streams[e->stream];
			if ((prev != UINT32_MAX &&
			     lt_buf_append(out, "]},", 3) < 0) ||
			    lt_buf_append(out, "{\"stream\":", 10) < 0 ||
			    write_labels(out, r->keys.data + s->key_off,
					 s->key_len) < 0 ||
			    lt_buf_append(out, ",\"values\":[", 11) < 0)
				return -1;
			prev = e->stream;
		} else if (lt_buf_append_byte(out, ',') < 0)
			return -1;
		if (lt_buf_printf(out, "[\"%" PRId64 "\",", e->ts_ns) < 0 ||
		    lt_json_quote(out, (const char *)r->lines.data + e->line_off,
				   e->line_len) < 0 ||
		    lt_buf_append_byte(out, ']') < 0 ||
		    flush_out(out, sink, 0) < 0)
			return -1;
	}
	if (prev != UINT32_MAX && lt_buf_append(out, "]}", 2) < 0)
		return -1;
	return 0;
}

int
lt_log_result_write(const struct lt_log_result *r,
		    const struct lt_log_stats *st,
		    const struct lt_query_sink *sink)
{
	struct lt_buf out = LT_BUF_INIT;
	uint32_t *streams = NULL, *rank = NULL, *order = NULL;
	size_t i;
	int rc = -1;

	streams = malloc((r->n_streams + 1) * sizeof(*streams));
	rank = malloc((r->n_streams + 1) * sizeof(*rank));
	order = malloc((r->n_entries + 1) * sizeof(*order));
	if (streams == NULL || rank == NULL || order == NULL)
		goto done;
	for (i = 0; i < r->n_streams; i++)
		streams[i] = (uint32_t)i;
	for (i = 0; i < r->n_entries; i++)
		order[i] = (uint32_t)i;
	sorting = r;
	qsort(streams, r->n_streams, sizeof(*streams), stream_order);
	for (i = 0; i < r->n_streams; i++)
		rank[streams[i]] = (uint32_t)i;
	sorting_rank = rank;
	qsort(order, r->n_entries, sizeof(*order), entry_order);
	sorting = NULL;
	sorting_rank = NULL;
	if (lt_buf_printf(&out, "{\"status\":\"success\",\"data\":{"
				"\"resultType\":\"streams\",\"result\":[") < 0 ||
	    write_entries(r, order, &out, sink) < 0 ||
	    lt_buf_append(&out, "],\"stats\":", 10) < 0 ||
	    lt_query_write_stats(&out, st, r->n_entries) < 0 ||
	    lt_buf_append(&out, "}}", 2) < 0 || flush_out(&out, sink, 1) < 0)
		goto done;
	rc = 0;
done:
	lt_buf_free(&out);
	free(streams);
	free(rank);
	free(order);
	return rc;
}

/* --- Running statements -------------------------------------------------- */

double
lt_query_clock(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
lt_query_fail(struct lt_query_error *err, int status, const char *fmt, ...)
{
	va_list ap;

	err->status = status;
	va_start(ap, fmt);
	(void)vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return -1;
}

int
lt_query_no_memory(struct lt_query_error *err)
{
	return lt_query_fail(err, 503, "out of memory; try again later");
}

/* What the client hears of a failed statement. */
static int
ch_failed(struct lt_query_error *err, const struct lt_ch_error *ce,
	  const struct lt_query_limits *lim)
{
	if (ce->timed_out || ce->exception_code == CH_TIMEOUT_EXCEEDED)
		lt_query_fail(err, 504,
			  "the query took longer than query_timeout (%" PRId64
			  "s): %s",
			  lim != NULL ? lim->timeout_ns / 1000000000 : 0,
			  ce->message);
	else if (ce->exception_code == CH_TOO_MANY_ROWS)
		lt_query_fail(err, 400,
			  "the query would read too many rows (limit: %llu "
			  "rows, max_rows_to_read); consider adding more "
			  "specific stream selectors or reduce the time range "
			  "of the query",
			  lim != NULL ? (unsigned long long)lim->max_rows_to_read :
					0ULL);
	else
		lt_query_fail(err, 502, "%s%s",
			  ce->http_status != 0 ? "ClickHouse: " : "",
			  ce->message);
	return -1;
}

static void
settings_for(struct lt_ch_query_settings *s,
	     const struct lt_query_limits *lim)
{
	int64_t secs;

	memset(s, 0, sizeof(*s));
	s->readonly = 2;
	/* A query of LT_LOGQL_MAX_LEN bytes quotes to at most four times
	 * that; 18.16 refuses a statement over its 256 KiB default with a
	 * misleading syntax error. */
	s->max_query_size = 1u << 20;
	s->distributed_local = 1;
	if (lim == NULL)
		return;
	if (lim->timeout_ns > 0) {
		secs = (lim->timeout_ns + 999999999) / 1000000000;
		s->max_execution_time_s = (unsigned long)secs;
		/* ClickHouse's own limit first, with its message; ours when
		 * it does not answer at all. */
		s->timeout_ms = (long)(secs + 5) * 1000;
	}
	s->max_memory_usage = lim->max_memory;
	/* A log query whose pipeline may drop lines carries no LIMIT, and
	 * ClickHouse sorts all of its selection: past half the memory
	 * limit the sort goes to disk instead of failing the query. */
	s->max_bytes_before_external_sort = lim->max_memory / 2;
	s->max_rows_to_read = lim->max_rows_to_read;
}

static int
on_lines(void *ctx, const char *data, size_t len)
{
	struct lt_line_reader *lr = ctx;
	const char *nl;
	size_t piece;
	int rc;

	while (len > 0) {
		if (lr->bad) {
			/* An exception may follow, and is short. */
			lr->after_bad += len;
			return lr->after_bad > AFTER_BAD;
		}
		nl = memchr(data, '\n', len);
		piece = nl != NULL ? (size_t)(nl - data) : len;
		if (lr->partial.len + piece > MAX_ROW) {
			lr->bad = 1;
			(void)snprintf(lr->why, sizeof(lr->why),
				       "a row longer than %u bytes", MAX_ROW);
			return 0;
		}
		if (nl == NULL || lr->partial.len > 0) {
			if (lt_buf_append(&lr->partial, data, piece) < 0) {
				lr->oom = 1;
				return -1;
			}
			if (nl == NULL)
				return 0;
			rc = lr->row(lr, (const char *)lr->partial.data,
				     lr->partial.len);
			lt_buf_reset(&lr->partial);
		} else
			rc = lr->row(lr, data, piece);
		if (rc != 0)
			return rc;
		data += piece + 1;
		len -= piece + 1;
	}
	return 0;
}

/* Runs sql and hands its rows to lr->row; the result as for a query. */
static int
run_lines(struct lt_ch *ch, const char *sql,
	  const struct lt_query_limits *lim, struct lt_line_reader *lr,
	  struct lt_query_error *err)
{
	struct lt_ch_query_settings s;
	struct lt_ch_error ce;
	int rc;

	/* At -vv: what ClickHouse is asked, to rerun it alone. */
	lt_debug("SQL: %s", sql);
	settings_for(&s, lim);
	rc = lt_ch_query_stream(ch, sql, &s, on_lines, lr, &ce);
	/* A user whose profile is readonly=1 may change no setting, and
	 * can write nothing anyway: run the statement as it is. */
	if (rc == -1 && ce.exception_code == CH_READONLY &&
	    ce.http_status != 200) {
		memset(&s, 0, sizeof(s));
		s.timeout_ms = lim != NULL && lim->timeout_ns > 0 ?
			(long)(lim->timeout_ns / 1000000 + 5000) : 0;
		rc = lt_ch_query_stream(ch, sql, &s, on_lines, lr, &ce);
	}
	if (rc == -1)
		return ch_failed(err, &ce, lim);
	if (rc == -2 && lr->oom)
		return lt_query_no_memory(err);
	if (rc == -2)
		return -1; /* lr->row set err */
	if (lr->bad) {
		lt_query_fail(err, 502, "ClickHouse's answer could not be read: %s",
			  lr->why);
		return -1;
	}
	return 0;
}

int
lt_query_run_lines(struct lt_ch *ch, const char *sql,
		   const struct lt_query_limits *lim, struct lt_line_reader *lr,
		   struct lt_query_error *err)
{
	if (run_lines(ch, sql, lim, lr, err) < 0)
		return -1;
	/* A reader that had enough left nothing half read: the rest of
	 * the answer was not taken in. */
	if (lr->partial.len > 0)
		return lt_query_fail(err, 502, "ClickHouse's answer ended inside a row");
	return 0;
}

/* --- Log queries ---------------------------------------------------------- */

struct log_run {
	struct lt_line_reader lr;          /* first: the reader is the run */
	struct lt_pipeline *pl;
	struct lt_log_result *res;
	struct lt_log_row row;
	struct lt_query_error *err;
	uint64_t lines, bytes;
	int stopped;
	/* lt_query_log_entries(): each entry kept goes here instead. */
	lt_log_entry_fn entry_fn;
	void *entry_ctx;
	size_t kept, limit;
};

/* An entry the pipeline kept, to the caller's function: 0 to go on, 1
 * when the limit is reached, -1 when it failed (its error set). */
static int
entry_kept(struct log_run *run, const struct lt_pl_output *out)
{
	if (run->entry_fn(run->entry_ctx, &run->row, out, run->err) < 0)
		return -1;
	if (++run->kept >= run->limit) {
		run->stopped = 1;
		return 1;
	}
	return 0;
}

static int
log_row(struct lt_line_reader *lr, const char *line, size_t len)
{
	struct log_run *run = (struct log_run *)lr;
	struct lt_pl_input in;
	struct lt_pl_output out;
	int rc;

	rc = lt_log_row_parse(&run->row, line, len, lr->why, sizeof(lr->why));
	if (rc == -2) {
		lr->oom = 1;
		return -1;
	}
	if (rc < 0) {
		lr->bad = 1;
		return 0;
	}
	run->lines++;
	run->bytes += run->row.msg_len;
	in.ts_ns = run->row.ts_ns;
	in.line = run->row.msg;
	in.line_len = run->row.msg_len;
	in.labels = run->row.labels;
	in.n_labels = run->row.n_labels;
	in.metadata = run->row.metadata;
	in.n_metadata = run->row.n_metadata;
	rc = lt_pipeline_run(run->pl, &in, &out);
	if (rc < 0) {
		lr->oom = 1;
		return -1;
	}
	if (rc == 0)
		return 0;
	if (run->entry_fn != NULL)
		return entry_kept(run, &out);
	if (lt_log_result_add(run->res, in.ts_ns, out.labels, out.n_labels,
			      out.line, out.line_len) < 0) {
		lr->oom = 1;
		return -1;
	}
	if (lt_log_result_full(run->res)) {
		run->stopped = 1;
		return 1;
	}
	return 0;
}

/* The pipeline of what the SQL leaves to C, and whether ClickHouse may
 * apply the limit: only when nothing left can drop an entry. */
static int
plan_log_query(const struct lt_sql_target *t, const struct lt_log_request *req,
	       struct lt_pipeline **pl, int *sql_limits,
	       struct lt_query_error *err)
{
	struct lt_buf sql = LT_BUF_INIT;
	unsigned char *pushed;
	char why[512];
	int rc = -1;

	pushed = calloc(req->q->n_stages + 1, 1);
	if (pushed == NULL)
		return lt_query_no_memory(err);
	if (lt_sql_log_query(&sql, t, req->q, &req->range, req->forward, 0,
			     pushed) < 0) {
		lt_query_no_memory(err);
		goto done;
	}
	why[0] = '\0';
	*pl = lt_pipeline_new(req->q, pushed, why, sizeof(why));
	if (*pl == NULL) {
		if (strcmp(why, "out of memory") == 0)
			lt_query_no_memory(err);
		else
			lt_query_fail(err, 400, "%s", why);
		goto done;
	}
	*sql_limits = lt_pipeline_keeps_all(*pl);
	rc = 0;
done:
	lt_buf_free(&sql);
	free(pushed);
	return rc;
}

/* One run of the statement with LIMIT sql_limit (0: none) into a new
 * result. */
static int
run_log_query(struct lt_ch *ch, const struct lt_sql_target *t,
	      const struct lt_query_limits *lim,
	      const struct lt_log_request *req, size_t sql_limit,
	      struct log_run *run, struct lt_query_error *err)
{
	struct lt_buf sql = LT_BUF_INIT;
	unsigned char *pushed;
	int rc = -1;

	lt_log_result_free(run->res);
	run->res = lt_log_result_new(req->limit, req->forward);
	pushed = calloc(req->q->n_stages + 1, 1);
	if (run->res == NULL || pushed == NULL ||
	    lt_sql_log_query(&sql, t, req->q, &req->range, req->forward,
			     sql_limit, pushed) < 0 ||
	    lt_buf_terminate(&sql) < 0) {
		lt_query_no_memory(err);
		goto done;
	}
	run->lines = run->bytes = 0;
	run->stopped = 0;
	run->lr.bad = 0;
	run->lr.after_bad = 0;
	lt_buf_reset(&run->lr.partial);
	if (run_lines(ch, (const char *)sql.data, lim, &run->lr, err) < 0)
		goto done;
	if (!run->stopped && run->lr.partial.len > 0) {
		lt_query_fail(err, 502, "ClickHouse's answer ended inside a row");
		goto done;
	}
	rc = 0;
done:
	lt_buf_free(&sql);
	free(pushed);
	return rc;
}

/* With LIMIT in the SQL, duplicates among the rows leave fewer entries
 * than asked for: the statement runs again with a larger LIMIT, and at
 * last with none (the transfer then stops when the result is full). */
#define SQL_LIMIT_TRIES 4

int
lt_query_logs(struct lt_ch *ch, const struct lt_sql_target *t,
	      const struct lt_query_limits *lim, const struct lt_log_request *req,
	      const struct lt_query_sink *sink, struct lt_query_error *err)
{
	struct log_run run;
	struct lt_log_stats st;
	double started = lt_query_clock();
	uint64_t lines = 0, bytes = 0;
	size_t sql_limit = 0;
	int rc = -1, sql_limits = 0, tries = 0;

	memset(&run, 0, sizeof(run));
	run.lr.row = log_row;
	run.err = err;
	if (lim != NULL && lim->max_entries > 0 && req->limit > lim->max_entries) {
		lt_query_fail(err, 400,
			  "max entries limit per query exceeded, limit > "
			  "max_entries_limit (%zu > %zu)",
			  req->limit, lim->max_entries);
		return -1;
	}
	if (plan_log_query(t, req, &run.pl, &sql_limits, err) < 0)
		goto done;
	if (sql_limits)
		sql_limit = req->limit;
	if (req->limit == 0 &&
	    (run.res = lt_log_result_new(0, req->forward)) == NULL) {
		lt_query_no_memory(err);
		goto done;
	}
	while (req->limit > 0) {
		if (run_log_query(ch, t, lim, req, sql_limit, &run, err) < 0)
			goto done;
		lines += run.lines;
		bytes += run.bytes;
		if (sql_limit == 0 || lt_log_result_full(run.res) ||
		    run.lines < sql_limit)
			break;
		sql_limit = ++tries < SQL_LIMIT_TRIES ? sql_limit * 4 : 0;
	}
	st.lines = lines;
	st.bytes = bytes;
	st.exec_s = lt_query_clock() - started;
	if (lt_log_result_write(run.res, &st, sink) < 0) {
		lt_query_fail(err, 500, "the answer could not be written");
		goto done;
	}
	rc = 0;
done:
	lt_buf_free(&run.lr.partial);
	lt_log_row_free(&run.row);
	if (run.pl != NULL)
		lt_pipeline_free(run.pl);
	lt_log_result_free(run.res);
	return rc;
}

int
lt_query_log_entries(struct lt_ch *ch, const struct lt_sql_target *t,
		     const struct lt_query_limits *lim,
		     const struct lt_log_request *req, lt_log_entry_fn fn,
		     void *ctx, struct lt_query_error *err)
{
	struct log_run run;
	int rc = -1, sql_limits = 0;

	memset(&run, 0, sizeof(run));
	run.lr.row = log_row;
	run.err = err;
	run.entry_fn = fn;
	run.entry_ctx = ctx;
	run.limit = req->limit;
	if (req->limit == 0)
		return 0;
	if (plan_log_query(t, req, &run.pl, &sql_limits, err) < 0)
		goto done;
	/* No duplicates are merged here: the first LIMIT is enough. */
	if (run_log_query(ch, t, lim, req, sql_limits ? req->limit : 0, &run,
			  err) < 0)
		goto done;
	rc = 0;
done:
	lt_buf_free(&run.lr.partial);
	lt_log_row_free(&run.row);
	if (run.pl != NULL)
		lt_pipeline_free(run.pl);
	lt_log_result_free(run.res);
	return rc;
}

/* --- Rows of any statement ------------------------------------------------ */

struct rows_run {
	struct lt_line_reader lr;
	lt_query_row_fn fn;
	void *ctx;
	struct lt_query_error *err;
};

static int
any_row(struct lt_line_reader *lr, const char *line, size_t len)
{
	struct rows_run *run = (struct rows_run *)lr;

	return run->fn(run->ctx, line, len, run->err);
}

int
lt_query_rows(struct lt_ch *ch, const char *sql,
	      const struct lt_query_limits *lim, lt_query_row_fn fn, void *ctx,
	      struct lt_query_error *err)
{
	struct rows_run run;
	int rc;

	memset(&run, 0, sizeof(run));
	run.lr.row = any_row;
	run.fn = fn;
	run.ctx = ctx;
	run.err = err;
	rc = lt_query_run_lines(ch, sql, lim, &run.lr, err);
	lt_buf_free(&run.lr.partial);
	return rc;
}

/* --- Labels, label values, series, index stats ------------------------- */

/* Answers built whole before they are written, so that a failure writes
 * nothing: {"status":"success","data":[ ... ]}. */
struct list_run {
	struct lt_line_reader lr;
	struct lt_buf json;
	struct lt_buf cell;
	struct lt_log_row series;       /* the label array of a series */
	size_t n;
	size_t max;                     /* series: more is an error */
	int over;
};

static int
list_begin(struct list_run *run)
{
	return lt_buf_printf(&run->json, "{\"status\":\"success\",\"data\":[");
}

static int
list_end(struct list_run *run, const struct lt_query_sink *sink,
	 struct lt_query_error *err)
{
	if (lt_buf_append(&run->json, "]}", 2) < 0)
		return lt_query_no_memory(err);
	if (sink->write(sink->ctx, run->json.data, run->json.len) != 0) {
		lt_query_fail(err, 500, "the answer could not be written");
		return -1;
	}
	return 0;
}

static void
list_free(struct list_run *run)
{
	lt_buf_free(&run->lr.partial);
	lt_buf_free(&run->json);
	lt_buf_free(&run->cell);
	lt_log_row_free(&run->series);
}

/* A line with one string: a label name or value. */
static int
name_row(struct lt_line_reader *lr, const char *line, size_t len)
{
	struct list_run *run = (struct list_run *)lr;

	lt_buf_reset(&run->cell);
	if (lt_tsv_unescape(&run->cell, line, len) < 0 ||
	    (run->n > 0 && lt_buf_append_byte(&run->json, ',') < 0) ||
	    lt_json_quote(&run->json, (const char *)run->cell.data,
			   run->cell.len) < 0) {
		lr->oom = 1;
		return -1;
	}
	run->n++;
	return 0;
}

static int
run_names(struct lt_ch *ch, struct lt_buf *sql, const struct lt_query_sink *sink,
	  struct lt_query_error *err)
{
	struct list_run run;
	int rc = -1;

	memset(&run, 0, sizeof(run));
	run.lr.row = name_row;
	if (lt_buf_terminate(sql) < 0 || list_begin(&run) < 0) {
		lt_query_no_memory(err);
		goto done;
	}
	if (run_lines(ch, (const char *)sql->data, NULL, &run.lr, err) < 0 ||
	    list_end(&run, sink, err) < 0)
		goto done;
	rc = 0;
done:
	list_free(&run);
	return rc;
}

int
lt_query_labels(struct lt_ch *ch, const struct lt_sql_target *t,
		const struct lt_logql *q, const struct lt_sql_range *r,
		const struct lt_query_sink *sink, struct lt_query_error *err)
{
	struct lt_buf sql = LT_BUF_INIT;
	int rc;

	if (lt_sql_labels(&sql, t, q, r) < 0)
		rc = lt_query_no_memory(err);
	else
		rc = run_names(ch, &sql, sink, err);
	lt_buf_free(&sql);
	return rc;
}

int
lt_query_label_values(struct lt_ch *ch, const struct lt_sql_target *t,
		      const char *name, const struct lt_logql *q,
		      const struct lt_sql_range *r,
		      const struct lt_query_sink *sink,
		      struct lt_query_error *err)
{
	struct lt_buf sql = LT_BUF_INIT;
	int rc;

	if (lt_sql_label_values(&sql, t, name, q, r) < 0)
		rc = lt_query_no_memory(err);
	else
		rc = run_names(ch, &sql, sink, err);
	lt_buf_free(&sql);
	return rc;
}

/* A line with a label array: one series, as a JSON object. */
static int
series_row(struct lt_line_reader *lr, const char *line, size_t len)
{
	struct list_run *run = (struct list_run *)lr;
	struct lt_log_row *s = &run->series;
	size_t i;
	int rc;

	if (run->n >= run->max) {
		run->over = 1;
		return 1;
	}
	lt_buf_reset(&s->cells.text);
	s->cells.n = 0;
	rc = lt_tsv_array(line, len, &s->cells, lr->why, sizeof(lr->why));
	if (rc == -2)
		goto oom;
	if (rc < 0) {
		lr->bad = 1;
		return 0;
	}
	if (grow_labels(&s->lbl, &s->lbl_cap, s->cells.n) < 0)
		goto oom;
	if (split_items(&s->cells, 0, s->cells.n, s->lbl, lr->why,
			sizeof(lr->why)) < 0) {
		lr->bad = 1;
		return 0;
	}
	if ((run->n > 0 && lt_buf_append_byte(&run->json, ',') < 0) ||
	    lt_buf_append_byte(&run->json, '{') < 0)
		goto oom;
	for (i = 0; i < s->cells.n; i++)
		if ((i > 0 && lt_buf_append_byte(&run->json, ',') < 0) ||
		    lt_json_quote(&run->json, s->lbl[i].name,
				   s->lbl[i].name_len) < 0 ||
		    lt_buf_append_byte(&run->json, ':') < 0 ||
		    lt_json_quote(&run->json, s->lbl[i].value,
				   s->lbl[i].value_len) < 0)
			goto oom;
	if (lt_buf_append_byte(&run->json, '}') < 0)
		goto oom;
	run->n++;
	return 0;
oom:
	lr->oom = 1;
	return -1;
}

int
lt_query_series(struct lt_ch *ch, const struct lt_sql_target *t,
		const struct lt_query_limits *lim,
		const struct lt_logql *const *q, size_t n,
		const struct lt_sql_range *r,
		const struct lt_query_sink *sink, struct lt_query_error *err)
{
	struct lt_buf sql = LT_BUF_INIT;
	struct list_run run;
	size_t max = lim != NULL && lim->max_series > 0 ? lim->max_series :
							    SIZE_MAX - 1;
	int rc = -1;

	memset(&run, 0, sizeof(run));
	run.lr.row = series_row;
	run.max = max;
	/* One more than the limit says whether there are more. */
	if (lt_sql_series(&sql, t, q, n, r, max + 1) < 0 ||
	    lt_buf_terminate(&sql) < 0 || list_begin(&run) < 0) {
		lt_query_no_memory(err);
		goto done;
	}
	if (run_lines(ch, (const char *)sql.data, lim, &run.lr, err) < 0)
		goto done;
	if (run.over) {
		lt_query_fail(err, 400,
			  "maximum number of series (%zu) reached for a single "
			  "query; consider reducing query cardinality by adding "
			  "more specific stream selectors, reducing the time "
			  "range, or aggregating results with functions like "
			  "sum(), count() or topk() (max_query_series)",
			  max);
		goto done;
	}
	if (list_end(&run, sink, err) < 0)
		goto done;
	rc = 0;
done:
	lt_buf_free(&sql);
	list_free(&run);
	return rc;
}

struct stats_run {
	struct lt_line_reader lr;
	uint64_t v[4];
	int rows;
};

static int
stats_row(struct lt_line_reader *lr, const char *line, size_t len)
{
	struct stats_run *run = (struct stats_run *)lr;
	size_t i, start = 0, k = 0;

	if (run->rows++ > 0)
		return 0;
	for (i = 0; i <= len && k < 4; i++) {
		if (i < len && line[i] != '\t')
			continue;
		if (parse_u64(line + start, i - start, &run->v[k]) < 0)
			break;
		k++;
		start = i + 1;
	}
	if (k != 4 || i <= len) {
		lr->bad = 1;
		(void)snprintf(lr->why, sizeof(lr->why),
			       "index stats are not 4 numbers");
	}
	return 0;
}

int
lt_query_index_stats(struct lt_ch *ch, const struct lt_sql_target *t,
		     const struct lt_logql *q, const struct lt_sql_range *r,
		     const struct lt_query_sink *sink, struct lt_query_error *err)
{
	struct lt_buf sql = LT_BUF_INIT, json = LT_BUF_INIT;
	struct stats_run run;
	int rc = -1;

	memset(&run, 0, sizeof(run));
	run.lr.row = stats_row;
	if (lt_sql_index_stats(&sql, t, q, r) < 0 || lt_buf_terminate(&sql) < 0) {
		lt_query_no_memory(err);
		goto done;
	}
	if (run_lines(ch, (const char *)sql.data, NULL, &run.lr, err) < 0)
		goto done;
	if (lt_buf_printf(&json,
			  "{\"streams\":%" PRIu64 ",\"chunks\":%" PRIu64
			  ",\"entries\":%" PRIu64 ",\"bytes\":%" PRIu64 "}",
			  run.v[0], run.v[1], run.v[2], run.v[3]) < 0) {
		lt_query_no_memory(err);
		goto done;
	}
	if (sink->write(sink->ctx, json.data, json.len) != 0) {
		lt_query_fail(err, 500, "the answer could not be written");
		goto done;
	}
	rc = 0;
done:
	lt_buf_free(&sql);
	lt_buf_free(&json);
	lt_buf_free(&run.lr.partial);
	return rc;
}
