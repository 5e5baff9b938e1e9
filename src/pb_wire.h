/* The protobuf wire format, read without generated code: the primitives
 * the hand-written readers (loki_proto.c, otlp.c) share.  Every length is
 * checked against the bytes that are really there; the deprecated group
 * wire types are refused, as no client of ours sends them.  Errors are
 * written to a caller's buffer without any place, which the caller
 * prefixes with its own ("stream 2: entry 7: ..."). */
#ifndef LOGTHRA_PB_WIRE_H
#define LOGTHRA_PB_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* Wire types (protobuf's encoding guide calls them VARINT, I64, LEN,
 * SGROUP, EGROUP and I32). */
enum {
	LT_WT_VARINT = 0,
	LT_WT_I64 = 1,
	LT_WT_LEN = 2,
	LT_WT_SGROUP = 3,
	LT_WT_EGROUP = 4,
	LT_WT_I32 = 5,
};

/* The bytes of one message, [pos, end) of the body.  Offsets count from
 * the start of the body so that errors can name them: an error about a
 * field names the byte where its tag starts, one about a varint the
 * byte where the varint starts. */
struct lt_pbw_msg {
	const unsigned char *body;
	size_t pos;
	size_t end;
};

/* One field as read: its number and wire type, the offset of its tag,
 * and its value: a varint, or for I64, I32 and LEN the payload
 * [off, off + len). */
struct lt_pbw_field {
	uint32_t num;
	int wt;
	size_t at;
	uint64_t varint;
	size_t off;
	size_t len;
};

/* The field names of one message type, indexed by field number, for
 * the messages. */
struct lt_pbw_names {
	const char *const *name;
	size_t n;
};

#define LT_PBW_NAMES(a) {(a), sizeof(a) / sizeof((a)[0])}

/* Reads the next field of m, whatever its number, and checks that its
 * wire type is valid and its value lies inside m.  Returns 1 with *f
 * filled in, 0 at the end of m, -1 with why set. */
int lt_pbw_next(struct lt_pbw_msg *m, const struct lt_pbw_names *names,
		struct lt_pbw_field *f, char *why, size_t whylen);

/* Checks that a field the message defines has the wire type it must.
 * Returns 0, or -1 with why set. */
int lt_pbw_expect(const struct lt_pbw_field *f,
		  const struct lt_pbw_names *names, int wt, char *why,
		  size_t whylen);

/* The field's payload as a message of its own. */
struct lt_pbw_msg lt_pbw_sub(const struct lt_pbw_msg *parent,
			     const struct lt_pbw_field *f);

/* The value of an I64 or I32 field, little-endian. */
uint64_t lt_pbw_fixed64(const struct lt_pbw_msg *m,
			const struct lt_pbw_field *f);
uint32_t lt_pbw_fixed32(const struct lt_pbw_msg *m,
			const struct lt_pbw_field *f);

/* protobuf's int64 and int32 from a varint, in two's complement without
 * relying on implementation-defined conversions. */
int64_t lt_pbw_int64(uint64_t v);
int32_t lt_pbw_int32(uint64_t v);

#endif
