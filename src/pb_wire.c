/* The protobuf wire format's primitives (pb_wire.h). */
#include "config.h"

#include <stdio.h>

#include "buf.h"
#include "pb_wire.h"

/* "field 2 (line)", or "field 9" for a field the message does not
 * define. */
static const char *
field_desc(char *buf, size_t size, uint32_t num,
	   const struct lt_pbw_names *names)
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
	case LT_WT_VARINT:
		return "varint";
	case LT_WT_I64:
		return "64-bit";
	case LT_WT_LEN:
		return "length-delimited";
	case LT_WT_SGROUP:
		return "group";
	case LT_WT_EGROUP:
		return "end group";
	case LT_WT_I32:
		return "32-bit";
	default:
		return "invalid";
	}
}

enum { VARINT_OK, VARINT_TRUNCATED, VARINT_OVERLONG };

/* Reads a varint of at most 10 bytes; the 10th may only carry bit 63, as
 * anything more would not fit in 64 bits. */
static int
read_varint(struct lt_pbw_msg *m, uint64_t *out)
{
	uint64_t v = 0;
	unsigned shift;
	unsigned char c;

	/* Tags and most lengths take one byte. */
	if (m->pos < m->end && m->body[m->pos] < 0x80) {
		*out = m->body[m->pos++];
		return VARINT_OK;
	}
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
varint_fail(int r, const char *desc, size_t at, char *why, size_t whylen)
{
	const char *what = r == VARINT_TRUNCATED ? "truncated" : "overlong";

	if (desc == NULL)
		(void)snprintf(why, whylen, "%s varint at byte %zu", what, at);
	else
		(void)snprintf(why, whylen, "%s: %s varint at byte %zu", desc,
			       what, at);
	return -1;
}

/* The tag: field number and wire type. */
static int
read_tag(struct lt_pbw_msg *m, struct lt_pbw_field *f, char *why,
	 size_t whylen)
{
	uint64_t tag;
	int r;

	f->at = m->pos;
	if ((r = read_varint(m, &tag)) != VARINT_OK)
		return varint_fail(r, NULL, f->at, why, whylen);
	/* Tags are 32 bits: field numbers end at 2^29 - 1. */
	if (tag > UINT32_MAX) {
		(void)snprintf(why, whylen, "field number too large at byte %zu",
			       f->at);
		return -1;
	}
	f->num = (uint32_t)(tag >> 3);
	f->wt = (int)(tag & 7);
	if (f->num == 0) {
		(void)snprintf(why, whylen, "field number 0 at byte %zu", f->at);
		return -1;
	}
	return 0;
}

int
lt_pbw_next(struct lt_pbw_msg *m, const struct lt_pbw_names *names,
	    struct lt_pbw_field *f, char *why, size_t whylen)
{
	char desc[64];
	uint64_t len;
	size_t at;
	int r;

	if (m->pos >= m->end)
		return 0;
	if (read_tag(m, f, why, whylen) < 0)
		return -1;
	at = m->pos;
	switch (f->wt) {
	case LT_WT_VARINT:
		if ((r = read_varint(m, &f->varint)) != VARINT_OK)
			return varint_fail(r, field_desc(desc, sizeof(desc),
							 f->num, names),
					   at, why, whylen);
		return 1;
	case LT_WT_I64:
		len = 8;
		break;
	case LT_WT_LEN:
		if ((r = read_varint(m, &len)) != VARINT_OK)
			return varint_fail(r, field_desc(desc, sizeof(desc),
							 f->num, names),
					   at, why, whylen);
		break;
	case LT_WT_I32:
		len = 4;
		break;
	case LT_WT_SGROUP:
	case LT_WT_EGROUP:
		/* Deprecated since proto2, never sent by our clients;
		 * skipping a group means matching nested start and end
		 * tags, which is not worth the code. */
		(void)snprintf(why, whylen,
			       "wire type %d (%s) of %s is not supported", f->wt,
			       wire_type_name(f->wt),
			       field_desc(desc, sizeof(desc), f->num, names));
		return -1;
	default:
		(void)snprintf(why, whylen, "invalid wire type %d of %s", f->wt,
			       field_desc(desc, sizeof(desc), f->num, names));
		return -1;
	}
	if (len > m->end - m->pos) {
		(void)snprintf(why, whylen,
			       "%s runs past the end of its message at byte %zu",
			       field_desc(desc, sizeof(desc), f->num, names),
			       f->at);
		return -1;
	}
	f->off = m->pos;
	f->len = (size_t)len;
	m->pos += (size_t)len;
	return 1;
}

int
lt_pbw_expect(const struct lt_pbw_field *f, const struct lt_pbw_names *names,
	      int wt, char *why, size_t whylen)
{
	char desc[64];

	if (f->wt == wt)
		return 0;
	(void)snprintf(why, whylen,
		       "%s has wire type %d (%s), expected %d (%s) at byte %zu",
		       field_desc(desc, sizeof(desc), f->num, names), f->wt,
		       wire_type_name(f->wt), wt, wire_type_name(wt), f->at);
	return -1;
}

struct lt_pbw_msg
lt_pbw_sub(const struct lt_pbw_msg *parent, const struct lt_pbw_field *f)
{
	struct lt_pbw_msg m = {parent->body, f->off, f->off + f->len};

	return m;
}

uint64_t
lt_pbw_fixed64(const struct lt_pbw_msg *m, const struct lt_pbw_field *f)
{
	return lt_load_u64le(m->body + f->off);
}

uint32_t
lt_pbw_fixed32(const struct lt_pbw_msg *m, const struct lt_pbw_field *f)
{
	return lt_load_u32le(m->body + f->off);
}

int64_t
lt_pbw_int64(uint64_t v)
{
	return v <= INT64_MAX ? (int64_t)v : -(int64_t)~v - 1;
}

int32_t
lt_pbw_int32(uint64_t v)
{
	uint32_t u = (uint32_t)v;

	return u <= INT32_MAX ? (int32_t)u : -(int32_t)~u - 1;
}
