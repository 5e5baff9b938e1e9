/* Loki's protobuf push read from the wire (loki_proto.h). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "loki_proto.h"
#include "pb_wire.h"

static const char *const push_names[] = {NULL, "streams"};
static const char *const stream_names[] = {NULL, "labels", "entries", "hash"};
static const char *const entry_names[] = {NULL, "timestamp", "line",
					  "structuredMetadata", "parsed"};
static const char *const pair_names[] = {NULL, "name", "value"};
static const char *const ts_names[] = {NULL, "seconds", "nanos"};

static const struct lt_pbw_names push_msg = LT_PBW_NAMES(push_names);
static const struct lt_pbw_names stream_msg = LT_PBW_NAMES(stream_names);
static const struct lt_pbw_names entry_msg = LT_PBW_NAMES(entry_names);
static const struct lt_pbw_names pair_msg = LT_PBW_NAMES(pair_names);
static const struct lt_pbw_names ts_msg = LT_PBW_NAMES(ts_names);

struct pb_dec {
	const struct lt_pb_visitor *v;
	char *err;
	size_t errlen;
	/* Where the reader is, for errors: 1-based indexes, 0 outside. */
	size_t stream;
	size_t entry;
	const char *sub; /* the entry's sub-message being read, or NULL */
	size_t sub_idx;  /* its index among its kind; 0 for timestamp */
	/* The kept structured metadata of the current entry, reused from
	 * one entry to the next. */
	struct lt_label *md;
	size_t md_cap;
};

static int fail(struct pb_dec *, int, const char *, ...) LT_PRINTF(3, 4);

/* Formats err as "stream 2: entry 7: structuredMetadata 3: " followed by
 * the message, and returns status. */
static int
fail(struct pb_dec *d, int status, const char *fmt, ...)
{
	va_list ap;
	size_t n = 0;
	int r;

	if (d->err == NULL || d->errlen == 0)
		return status;
	d->err[0] = '\0';
	if (d->stream > 0) {
		r = snprintf(d->err, d->errlen, "stream %zu: ", d->stream);
		n = r < 0 ? 0 : (size_t)r;
	}
	if (d->entry > 0 && n < d->errlen) {
		r = snprintf(d->err + n, d->errlen - n, "entry %zu: ", d->entry);
		n += r < 0 ? 0 : (size_t)r;
	}
	if (d->sub != NULL && n < d->errlen) {
		if (d->sub_idx > 0)
			r = snprintf(d->err + n, d->errlen - n, "%s %zu: ",
				     d->sub, d->sub_idx);
		else
			r = snprintf(d->err + n, d->errlen - n, "%s: ", d->sub);
		n += r < 0 ? 0 : (size_t)r;
	}
	if (n < d->errlen) {
		va_start(ap, fmt);
		(void)vsnprintf(d->err + n, d->errlen - n, fmt, ap);
		va_end(ap);
	}
	return status;
}

/* The wire reader's primitives (pb_wire.h), with errors prefixed by
 * the place. */
static int
next_field(struct pb_dec *d, struct lt_pbw_msg *m,
	   const struct lt_pbw_names *names, struct lt_pbw_field *f)
{
	char why[192];
	int r = lt_pbw_next(m, names, f, why, sizeof(why));

	return r < 0 ? fail(d, -1, "%s", why) : r;
}

static int
expect(struct pb_dec *d, const struct lt_pbw_field *f,
       const struct lt_pbw_names *names, int wt)
{
	char why[192];

	if (lt_pbw_expect(f, names, wt, why, sizeof(why)) < 0)
		return fail(d, -1, "%s", why);
	return 0;
}

/* LabelPairAdapter: the last name and the last value win. */
static int
decode_pair(struct pb_dec *d, struct lt_pbw_msg *m, struct lt_label *l)
{
	struct lt_pbw_field f;
	int r;

	l->name = l->value = "";
	l->name_len = l->value_len = 0;
	while ((r = next_field(d, m, &pair_msg, &f)) > 0) {
		if (f.num != 1 && f.num != 2)
			continue;
		if (expect(d, &f, &pair_msg, LT_WT_LEN) < 0)
			return -1;
		if (f.num == 1) {
			l->name = (const char *)m->body + f.off;
			l->name_len = f.len;
		} else {
			l->value = (const char *)m->body + f.off;
			l->value_len = f.len;
		}
	}
	return r;
}

/* Timestamp: repeated occurrences merge, so only the fields present
 * overwrite. */
static int
decode_timestamp(struct pb_dec *d, struct lt_pbw_msg *m, struct lt_pb_entry *e)
{
	struct lt_pbw_field f;
	int r;

	while ((r = next_field(d, m, &ts_msg, &f)) > 0) {
		if (f.num != 1 && f.num != 2)
			continue;
		if (expect(d, &f, &ts_msg, LT_WT_VARINT) < 0)
			return -1;
		if (f.num == 1)
			e->seconds = lt_pbw_int64(f.varint);
		else
			e->nanos = lt_pbw_int32(f.varint);
	}
	return r;
}

/* Keeps the pair as the entry's next item of metadata while fewer than
 * max_metadata are kept, growing the array as pairs arrive rather than
 * by max_metadata up front. */
static int
keep_metadata(struct pb_dec *d, size_t *kept, const struct lt_label *l)
{
	struct lt_label *p;
	size_t cap;

	if (*kept >= d->v->max_metadata)
		return 0;
	if (*kept == d->md_cap) {
		cap = d->md_cap ? d->md_cap * 2 : 8;
		if (cap > d->v->max_metadata || cap < d->md_cap)
			cap = d->v->max_metadata;
		if (cap > SIZE_MAX / sizeof(*p))
			return fail(d, -2, "out of memory");
		p = realloc(d->md, cap * sizeof(*p));
		if (p == NULL)
			return fail(d, -2, "out of memory");
		d->md = p;
		d->md_cap = cap;
	}
	d->md[(*kept)++] = *l;
	return 0;
}

static int
decode_entry(struct pb_dec *d, struct lt_pbw_msg *m, struct lt_pb_entry *e)
{
	struct lt_pbw_field f;
	struct lt_pbw_msg sub;
	struct lt_label l;
	size_t kept = 0, n_parsed = 0;
	int r;

	memset(e, 0, sizeof(*e));
	e->line = "";
	while ((r = next_field(d, m, &entry_msg, &f)) > 0) {
		if (f.num < 1 || f.num > 4)
			continue;
		if (expect(d, &f, &entry_msg, LT_WT_LEN) < 0)
			return -1;
		sub = lt_pbw_sub(m, &f);
		switch (f.num) {
		case 1:
			d->sub = "timestamp";
			d->sub_idx = 0;
			r = decode_timestamp(d, &sub, e);
			break;
		case 2:
			e->line = (const char *)m->body + f.off;
			e->line_len = f.len;
			break;
		case 3:
			d->sub = "structuredMetadata";
			d->sub_idx = ++e->n_metadata;
			if ((r = decode_pair(d, &sub, &l)) == 0)
				r = keep_metadata(d, &kept, &l);
			break;
		case 4:
			/* Loki's own components fill it; a client's is
			 * checked and dropped. */
			d->sub = "parsed";
			d->sub_idx = ++n_parsed;
			r = decode_pair(d, &sub, &l);
			break;
		}
		if (r < 0)
			return r;
		d->sub = NULL;
	}
	e->metadata = d->md;
	return r;
}

/* First pass over a stream: checks its fields, finds its labels (the
 * last occurrence wins) and counts its entries. */
static int
scan_stream(struct pb_dec *d, struct lt_pbw_msg m, const char **labels,
	    size_t *labels_len, size_t *n_entries)
{
	struct lt_pbw_field f;
	int r;

	*labels = "";
	*labels_len = 0;
	*n_entries = 0;
	while ((r = next_field(d, &m, &stream_msg, &f)) > 0) {
		switch (f.num) {
		case 1:
			if (expect(d, &f, &stream_msg, LT_WT_LEN) < 0)
				return -1;
			*labels = (const char *)m.body + f.off;
			*labels_len = f.len;
			break;
		case 2:
			if (expect(d, &f, &stream_msg, LT_WT_LEN) < 0)
				return -1;
			(*n_entries)++;
			break;
		case 3: /* hash: Loki's own, ignored */
			if (expect(d, &f, &stream_msg, LT_WT_VARINT) < 0)
				return -1;
			break;
		}
	}
	return r;
}

static int
decode_stream(struct pb_dec *d, struct lt_pbw_msg m)
{
	const struct lt_pb_visitor *v = d->v;
	struct lt_pbw_field f;
	struct lt_pbw_msg sub;
	struct lt_pb_entry e;
	const char *labels;
	size_t labels_len, n_entries;
	int r, skip = 0;

	if (scan_stream(d, m, &labels, &labels_len, &n_entries) < 0)
		return -1;
	if (v->stream != NULL) {
		r = v->stream(v->ctx, labels, labels_len, n_entries);
		if (r < 0)
			return fail(d, -2, "aborted by the stream callback");
		skip = r > 0;
	}
	/* Second pass: the fields were checked by the first. */
	while ((r = next_field(d, &m, &stream_msg, &f)) > 0) {
		if (f.num != 2)
			continue;
		d->entry++;
		sub = lt_pbw_sub(&m, &f);
		if ((r = decode_entry(d, &sub, &e)) < 0)
			return r;
		if (!skip && v->entry != NULL && v->entry(v->ctx, &e) != 0)
			return fail(d, -2, "aborted by the entry callback");
	}
	d->entry = 0;
	return r;
}

int
lt_pb_push_decode(const void *body, size_t len, const struct lt_pb_visitor *v,
		  char *err, size_t errlen)
{
	struct pb_dec d;
	struct lt_pbw_msg m = {body, 0, len};
	struct lt_pbw_field f;
	size_t n_streams = 0;
	int r;

	memset(&d, 0, sizeof(d));
	d.v = v;
	d.err = err;
	d.errlen = errlen;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	while ((r = next_field(&d, &m, &push_msg, &f)) > 0) {
		if (f.num != 1)
			continue;
		if ((r = expect(&d, &f, &push_msg, LT_WT_LEN)) < 0)
			break;
		d.stream = ++n_streams;
		if ((r = decode_stream(&d, lt_pbw_sub(&m, &f))) < 0)
			break;
		d.stream = 0;
	}
	free(d.md);
	return r < 0 ? r : 0;
}
