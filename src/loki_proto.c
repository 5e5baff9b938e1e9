#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "loki_proto.h"

/* Wire types (protobuf's encoding guide calls them VARINT, I64, LEN,
 * SGROUP, EGROUP and I32). */
enum {
	WT_VARINT = 0,
	WT_I64 = 1,
	WT_LEN = 2,
	WT_SGROUP = 3,
	WT_EGROUP = 4,
	WT_I32 = 5,
};

/* The bytes of one message, [pos, end) of the body.  Offsets count from
 * the start of the body so that errors can name them: an error about a
 * field names the byte where its tag starts, one about a varint the
 * byte where the varint starts. */
struct pb_msg {
	const unsigned char *body;
	size_t pos;
	size_t end;
};

/* One field as read: its number and wire type, the offset of its tag,
 * and its value: a varint, or for LEN the payload [off, off + len). */
struct pb_field {
	uint32_t num;
	int wt;
	size_t at;
	uint64_t varint;
	size_t off;
	size_t len;
};

/* The field names of one message type, indexed by field number. */
struct pb_names {
	const char *const *name;
	size_t n;
};

static const char *const push_names[] = {NULL, "streams"};
static const char *const stream_names[] = {NULL, "labels", "entries", "hash"};
static const char *const entry_names[] = {NULL, "timestamp", "line",
					  "structuredMetadata", "parsed"};
static const char *const pair_names[] = {NULL, "name", "value"};
static const char *const ts_names[] = {NULL, "seconds", "nanos"};

#define NAMES(a) {(a), sizeof(a) / sizeof((a)[0])}
static const struct pb_names push_msg = NAMES(push_names);
static const struct pb_names stream_msg = NAMES(stream_names);
static const struct pb_names entry_msg = NAMES(entry_names);
static const struct pb_names pair_msg = NAMES(pair_names);
static const struct pb_names ts_msg = NAMES(ts_names);

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

/* "field 2 (line)", or "field 9" for a field the message does not
 * define. */
static const char *
field_desc(char *buf, size_t size, uint32_t num, const struct pb_names *names)
{
	if (num < names->n && names->name[num] != NULL)
		(void)snprintf(buf, size, "field %lu (%s)", (unsigned long)num,
			       names->name[num]);
	else
		(void)snprintf(buf, size, "field %lu", (unsigned long)num);
	return buf;
}

static const char *
wire_type_name(int wt)
{
	switch (wt) {
	case WT_VARINT:
		return "varint";
	case WT_I64:
		return "64-bit";
	case WT_LEN:
		return "length-delimited";
	case WT_SGROUP:
		return "group";
	case WT_EGROUP:
		return "end group";
	case WT_I32:
		return "32-bit";
	default:
		return "invalid";
	}
}

enum { VARINT_OK, VARINT_TRUNCATED, VARINT_OVERLONG };

/* Reads a varint of at most 10 bytes; the 10th may only carry bit 63, as
 * anything more would not fit in 64 bits. */
static int
read_varint(struct pb_msg *m, uint64_t *out)
{
	uint64_t v = 0;
	unsigned shift;
	unsigned char c;

	for (shift = 0; shift < 70; shift += 7) {
		if (m->pos >= m->end)
			return VARINT_TRUNCATED;
		c = m->body[m->pos++];
		if (shift == 63 && c > 1)
			return VARINT_OVERLONG;
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*out = v;
			return VARINT_OK;
		}
	}
	return VARINT_OVERLONG; /* not reached: the 10th byte ends it */
}

/* Reports a bad varint that starts at byte at, inside field desc (NULL
 * for a tag). */
static int
varint_fail(struct pb_dec *d, int r, const char *desc, size_t at)
{
	const char *what = r == VARINT_TRUNCATED ? "truncated" : "overlong";

	if (desc == NULL)
		return fail(d, -1, "%s varint at byte %zu", what, at);
	return fail(d, -1, "%s: %s varint at byte %zu", desc, what, at);
}

/* Reads the next field of m, whatever its number, and checks that its
 * wire type is valid and its value lies inside m.  Returns 1 with *f
 * filled in, 0 at the end of m, -1 on error. */
static int
next_field(struct pb_dec *d, struct pb_msg *m, const struct pb_names *names,
	   struct pb_field *f)
{
	char desc[64];
	uint64_t tag, len;
	size_t at;
	int r;

	if (m->pos >= m->end)
		return 0;
	f->at = m->pos;
	if ((r = read_varint(m, &tag)) != VARINT_OK)
		return varint_fail(d, r, NULL, f->at);
	/* Tags are 32 bits: field numbers end at 2^29 - 1. */
	if (tag > UINT32_MAX)
		return fail(d, -1, "field number too large at byte %zu", f->at);
	f->num = (uint32_t)(tag >> 3);
	f->wt = (int)(tag & 7);
	if (f->num == 0)
		return fail(d, -1, "field number 0 at byte %zu", f->at);
	at = m->pos;
	switch (f->wt) {
	case WT_VARINT:
		if ((r = read_varint(m, &f->varint)) != VARINT_OK)
			return varint_fail(d, r,
			    field_desc(desc, sizeof(desc), f->num, names), at);
		return 1;
	case WT_I64:
		len = 8;
		break;
	case WT_LEN:
		if ((r = read_varint(m, &len)) != VARINT_OK)
			return varint_fail(d, r,
			    field_desc(desc, sizeof(desc), f->num, names), at);
		break;
	case WT_I32:
		len = 4;
		break;
	case WT_SGROUP:
	case WT_EGROUP:
		/* Deprecated since proto2, never sent by Loki's clients;
		 * skipping a group means matching nested start and end
		 * tags, which is not worth the code. */
		return fail(d, -1, "wire type %d (%s) of %s is not supported",
			    f->wt, wire_type_name(f->wt),
			    field_desc(desc, sizeof(desc), f->num, names));
	default:
		return fail(d, -1, "invalid wire type %d of %s", f->wt,
			    field_desc(desc, sizeof(desc), f->num, names));
	}
	if (len > m->end - m->pos)
		return fail(d, -1,
			    "%s runs past the end of its message at byte %zu",
			    field_desc(desc, sizeof(desc), f->num, names),
			    f->at);
	f->off = m->pos;
	f->len = (size_t)len;
	m->pos += (size_t)len;
	return 1;
}

/* Checks that a field the message defines has the wire type it must. */
static int
expect(struct pb_dec *d, const struct pb_field *f, const struct pb_names *names,
       int wt)
{
	char desc[64];

	if (f->wt == wt)
		return 0;
	return fail(d, -1, "%s has wire type %d (%s), expected %d (%s) at byte %zu",
		    field_desc(desc, sizeof(desc), f->num, names), f->wt,
		    wire_type_name(f->wt), wt, wire_type_name(wt), f->at);
}

static struct pb_msg
sub_msg(const struct pb_msg *parent, const struct pb_field *f)
{
	struct pb_msg m = {parent->body, f->off, f->off + f->len};

	return m;
}

/* Two's complement without relying on implementation-defined
 * conversions of out-of-range values. */
static int64_t
as_int64(uint64_t v)
{
	return v <= INT64_MAX ? (int64_t)v : -(int64_t)~v - 1;
}

/* protobuf's int32: the low 32 bits of the varint, as signed. */
static int32_t
as_int32(uint64_t v)
{
	uint32_t u = (uint32_t)v;

	return u <= INT32_MAX ? (int32_t)u : -(int32_t)~u - 1;
}

/* LabelPairAdapter: the last name and the last value win. */
static int
decode_pair(struct pb_dec *d, struct pb_msg *m, struct lt_label *l)
{
	struct pb_field f;
	int r;

	l->name = l->value = "";
	l->name_len = l->value_len = 0;
	while ((r = next_field(d, m, &pair_msg, &f)) > 0) {
		if (f.num != 1 && f.num != 2)
			continue;
		if (expect(d, &f, &pair_msg, WT_LEN) < 0)
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
decode_timestamp(struct pb_dec *d, struct pb_msg *m, struct lt_pb_entry *e)
{
	struct pb_field f;
	int r;

	while ((r = next_field(d, m, &ts_msg, &f)) > 0) {
		if (f.num != 1 && f.num != 2)
			continue;
		if (expect(d, &f, &ts_msg, WT_VARINT) < 0)
			return -1;
		if (f.num == 1)
			e->seconds = as_int64(f.varint);
		else
			e->nanos = as_int32(f.varint);
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
decode_entry(struct pb_dec *d, struct pb_msg *m, struct lt_pb_entry *e)
{
	struct pb_field f;
	struct pb_msg sub;
	struct lt_label l;
	size_t kept = 0, n_parsed = 0;
	int r;

	memset(e, 0, sizeof(*e));
	e->line = "";
	while ((r = next_field(d, m, &entry_msg, &f)) > 0) {
		if (f.num < 1 || f.num > 4)
			continue;
		if (expect(d, &f, &entry_msg, WT_LEN) < 0)
			return -1;
		sub = sub_msg(m, &f);
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
scan_stream(struct pb_dec *d, struct pb_msg m, const char **labels,
	    size_t *labels_len, size_t *n_entries)
{
	struct pb_field f;
	int r;

	*labels = "";
	*labels_len = 0;
	*n_entries = 0;
	while ((r = next_field(d, &m, &stream_msg, &f)) > 0) {
		switch (f.num) {
		case 1:
			if (expect(d, &f, &stream_msg, WT_LEN) < 0)
				return -1;
			*labels = (const char *)m.body + f.off;
			*labels_len = f.len;
			break;
		case 2:
			if (expect(d, &f, &stream_msg, WT_LEN) < 0)
				return -1;
			(*n_entries)++;
			break;
		case 3: /* hash: Loki's own, ignored */
			if (expect(d, &f, &stream_msg, WT_VARINT) < 0)
				return -1;
			break;
		}
	}
	return r;
}

static int
decode_stream(struct pb_dec *d, struct pb_msg m)
{
	const struct lt_pb_visitor *v = d->v;
	struct pb_field f;
	struct pb_msg sub;
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
		sub = sub_msg(&m, &f);
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
	struct pb_msg m = {body, 0, len};
	struct pb_field f;
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
		if ((r = expect(&d, &f, &push_msg, WT_LEN)) < 0)
			break;
		d.stream = ++n_streams;
		if ((r = decode_stream(&d, sub_msg(&m, &f))) < 0)
			break;
		d.stream = 0;
	}
	free(d.md);
	return r < 0 ? r : 0;
}
