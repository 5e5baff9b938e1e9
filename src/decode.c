/* Push bodies decoded: snappy's block format and zlib's inflate, each
 * stopped at its size and ratio caps before it allocates (decode.h). */
#include "config.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "decode.h"

/* When out is full, inflate() writes into a buffer of this size on the
 * stack first: the output is appended (and out grown) only once it is
 * known to stay within the caps, so a bomb stops before out doubles. */
#define STAGE_SIZE 16384

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    LT_PRINTF(3, 4);

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* The most bytes one call may decode from len encoded bytes: max_size,
 * and max_ratio times len but never less than the ratio floor. */
static size_t
decode_limit(const struct lt_decode_limits *lim, size_t len)
{
	size_t byratio;

	if (lim->max_ratio == 0 || len > SIZE_MAX / lim->max_ratio)
		return lim->max_size;
	byratio = len * lim->max_ratio;
	if (byratio < LT_DECODE_RATIO_FLOOR)
		byratio = LT_DECODE_RATIO_FLOOR;
	return byratio < lim->max_size ? byratio : lim->max_size;
}

static enum lt_decode_result
too_big(const struct lt_decode_limits *lim, size_t len, char *err,
	size_t errlen)
{
	size_t limit = decode_limit(lim, len);

	if (limit == lim->max_size)
		seterr(err, errlen, "decoded body would exceed %zu bytes",
		       limit);
	else
		seterr(err, errlen,
		       "decoded body would exceed %zu bytes, more than %zu "
		       "times its %zu encoded bytes",
		       limit, lim->max_ratio, len);
	return LT_DECODE_TOO_BIG;
}

/* Snappy's length preamble: a varint of at most 5 bytes whose value fits
 * in 32 bits, as the reference implementation requires. */
static int
snappy_length(const unsigned char **pp, const unsigned char *end,
	      uint32_t *out, char *err, size_t errlen)
{
	const unsigned char *p = *pp;
	uint32_t v = 0;
	unsigned shift;

	for (shift = 0; shift <= 28; shift += 7) {
		if (p >= end) {
			seterr(err, errlen,
			       "snappy: data ends inside the length at byte 0");
			return -1;
		}
		if (shift == 28 && *p > 0x0f) {
			seterr(err, errlen,
			       "snappy: the length at byte 0 does not fit in "
			       "32 bits");
			return -1;
		}
		v |= (uint32_t)(*p & 0x7f) << shift;
		if (!(*p++ & 0x80)) {
			*pp = p;
			*out = v;
			return 0;
		}
	}
	/* not reached: the 5th byte is at most 0x0f, so it ends the varint */
	return -1;
}

/* Room reserved past the declared length, so that short literals and
 * copies can move whole 16-byte blocks; a copy is at most 64 bytes. */
#define SNAPPY_SLACK 80

/* One block being decoded: the input, and the output so far. */
struct snappy {
	const unsigned char *start, *p, *end;
	unsigned char *dst;
	size_t n;		/* bytes decoded into dst */
	uint32_t declared;
	char *err;
	size_t errlen;
};

/* A literal: the tag's upper 6 bits are the length - 1, or 60 to 63 for
 * 1 to 4 little-endian bytes that hold it. */
static int
snappy_literal(struct snappy *s, size_t at, unsigned tag)
{
	size_t avail = (size_t)(s->end - s->p), extra, i;
	uint64_t len = (tag >> 2) + 1;

	if (len > 60) {
		extra = (size_t)len - 60;
		if (avail < extra) {
			seterr(s->err, s->errlen, "snappy: data ends inside "
			       "the length of the literal at byte %zu", at);
			return -1;
		}
		len = 0;
		for (i = 0; i < extra; i++)
			len |= (uint64_t)s->p[i] << (8 * i);
		len++; /* in 64 bits: 0xffffffff means 2^32 */
		s->p += extra;
		avail -= extra;
	}
	if (len > avail) {
		seterr(s->err, s->errlen, "snappy: literal at byte %zu needs %"
		       PRIu64 " bytes but only %zu remain", at, len, avail);
		return -1;
	}
	if (len > s->declared - s->n) {
		seterr(s->err, s->errlen, "snappy: literal at byte %zu runs "
		       "past the declared length of %" PRIu32 " bytes", at,
		       s->declared);
		return -1;
	}
	/* Most literals are short: one 16-byte move when the input has
	 * that much left (the output always has SNAPPY_SLACK). */
	if (len <= 16 && avail >= 16)
		memcpy(s->dst + s->n, s->p, 16);
	else
		memcpy(s->dst + s->n, s->p, (size_t)len);
	s->n += (size_t)len;
	s->p += (size_t)len;
	return 0;
}

/* A copy of earlier output, with a 1-, 2- or 4-byte offset. */
static int
snappy_copy(struct snappy *s, size_t at, unsigned tag)
{
	size_t extra = (tag & 3) == 3 ? 4 : (tag & 3), len, i;
	const unsigned char *src;
	unsigned char *dst;
	uint64_t off;

	if ((size_t)(s->end - s->p) < extra) {
		seterr(s->err, s->errlen,
		       "snappy: data ends inside the copy at byte %zu", at);
		return -1;
	}
	if ((tag & 3) == 1) {
		len = 4 + ((tag >> 2) & 7);
		off = (uint64_t)(tag >> 5) << 8 | s->p[0];
	} else if ((tag & 3) == 2) {
		len = (tag >> 2) + 1;
		off = (uint64_t)s->p[0] | (uint64_t)s->p[1] << 8;
	} else {
		len = (tag >> 2) + 1;
		off = lt_load_u32le(s->p);
	}
	s->p += extra;
	if (off == 0) {
		seterr(s->err, s->errlen,
		       "snappy: copy at byte %zu has offset 0", at);
		return -1;
	}
	if (off > s->n) {
		seterr(s->err, s->errlen, "snappy: copy at byte %zu reaches "
		       "back %" PRIu64 " bytes but only %zu are decoded", at,
		       off, s->n);
		return -1;
	}
	if (len > s->declared - s->n) {
		seterr(s->err, s->errlen, "snappy: copy at byte %zu runs past "
		       "the declared length of %" PRIu32 " bytes", at,
		       s->declared);
		return -1;
	}
	dst = s->dst + s->n;
	src = dst - off;
	s->n += len;
	/* 16 bytes at a time, into SNAPPY_SLACK past the end: with off at
	 * least 16 each move reads only bytes already in place. */
	if (off >= 16) {
		for (i = 0; i < len; i += 16)
			memcpy(dst + i, src + i, 16);
		return 0;
	}
	/* Source and destination overlap when off < len (offset 1 is a
	 * run of one byte), so memcpy will not do. */
	if (off >= len) {
		memcpy(dst, src, len);
		return 0;
	}
	for (i = 0; i < len; i++)
		dst[i] = src[i];
	return 0;
}

enum lt_decode_result
lt_snappy_decode(const void *in, size_t len,
		 const struct lt_decode_limits *lim, struct lt_buf *out,
		 char *err, size_t errlen)
{
	struct snappy s;
	size_t at;
	unsigned tag;
	int rc;

	if (len == 0) {
		seterr(err, errlen,
		       "snappy: data ends inside the length at byte 0");
		return LT_DECODE_CORRUPT;
	}
	memset(&s, 0, sizeof(s));
	s.start = s.p = in;
	s.end = s.start + len;
	s.err = err;
	s.errlen = errlen;
	if (snappy_length(&s.p, s.end, &s.declared, err, errlen) < 0)
		return LT_DECODE_CORRUPT;
	if (s.declared > decode_limit(lim, len))
		return too_big(lim, len, err, errlen);
	if (lt_buf_reserve(out, (size_t)s.declared + SNAPPY_SLACK) < 0) {
		seterr(err, errlen, "snappy: out of memory for %" PRIu32
		       " decoded bytes", s.declared);
		return LT_DECODE_NOMEM;
	}
	/* Decode past out->len and count it only at the end, so that out
	 * stays as it was on every failure. */
	s.dst = out->data + out->len;
	while (s.p < s.end) {
		at = (size_t)(s.p - s.start);
		tag = *s.p++;
		if ((tag & 3) == 0)
			rc = snappy_literal(&s, at, tag);
		else
			rc = snappy_copy(&s, at, tag);
		if (rc < 0)
			return LT_DECODE_CORRUPT;
	}
	if (s.n != s.declared) {
		seterr(err, errlen, "snappy: data ends after %zu of the "
		       "declared %" PRIu32 " bytes", s.n, s.declared);
		return LT_DECODE_CORRUPT;
	}
	out->len += s.n;
	return LT_DECODE_OK;
}

/* RFC 1950's header: deflate, a window of at most 32 KiB, a valid check
 * and no preset dictionary.  Anything else is taken for raw deflate. */
static int
is_zlib_header(const unsigned char *p, size_t len)
{
	if (len < 2)
		return 0;
	return (p[0] & 0x0f) == 8 && (p[0] >> 4) <= 7 &&
	       ((unsigned)p[0] << 8 | p[1]) % 31 == 0 && !(p[1] & 0x20);
}

struct inflater {
	z_stream zs;
	const unsigned char *in;
	size_t len;
	const char *name;
	enum lt_inflate_format format;
	size_t limit;	/* the most bytes this call may append */
	size_t oldlen;	/* out->len on entry */
};

/* Hands zlib the next stretch of input: avail_in is only a uInt. */
static void
inflater_feed(struct inflater *f)
{
	size_t used = (size_t)(f->zs.next_in - f->in), left = f->len - used;

	if (f->zs.avail_in == 0 && left > 0)
		f->zs.avail_in = left > UINT_MAX ? UINT_MAX : (uInt)left;
}

/* What zlib's return code after one inflate() call means for the whole
 * body: 1 to go on, 0 at the end, or a failure. */
static int
inflater_status(struct inflater *f, int zret, enum lt_decode_result *res,
		char *err, size_t errlen)
{
	size_t used = (size_t)(f->zs.next_in - f->in), left = f->len - used;

	switch (zret) {
	case Z_STREAM_END:
		if (left == 0) {
			*res = LT_DECODE_OK;
			return 0;
		}
		/* Another gzip member may follow; anything else is not
		 * part of the body. */
		if (f->format == LT_INFLATE_GZIP && f->in[used] == 0x1f &&
		    (left == 1 || f->in[used + 1] == 0x8b)) {
			if (inflateReset(&f->zs) != Z_OK)
				break;
			return 1;
		}
		seterr(err, errlen,
		       "%s: %zu bytes of trailing garbage at byte %zu, after "
		       "the end of the compressed stream", f->name, left,
		       used);
		*res = LT_DECODE_CORRUPT;
		return -1;
	case Z_OK:
	case Z_BUF_ERROR:
		/* Output space left over means zlib wanted more input. */
		if (f->zs.avail_out > 0 && f->zs.avail_in == 0 && left == 0) {
			seterr(err, errlen,
			       "%s: data ends before the end of the compressed "
			       "stream", f->name);
			*res = LT_DECODE_CORRUPT;
			return -1;
		}
		return 1;
	case Z_NEED_DICT:
		seterr(err, errlen,
		       "%s: the stream needs a preset dictionary", f->name);
		*res = LT_DECODE_CORRUPT;
		return -1;
	case Z_DATA_ERROR:
		seterr(err, errlen, "%s: %s at byte %zu", f->name,
		       f->zs.msg ? f->zs.msg : "corrupt data", used);
		*res = LT_DECODE_CORRUPT;
		return -1;
	case Z_MEM_ERROR:
		seterr(err, errlen, "%s: out of memory", f->name);
		*res = LT_DECODE_NOMEM;
		return -1;
	default:
		break;
	}
	seterr(err, errlen, "%s: zlib error %d at byte %zu", f->name, zret,
	       used);
	*res = LT_DECODE_CORRUPT;
	return -1;
}

/* Inflates straight into out's free space while it has some; when it is
 * full (or the cap is reached) it inflates into a stack buffer sized to
 * one byte past the cap, so that passing the cap is seen before out is
 * grown for it. */
static enum lt_decode_result
inflater_run(struct inflater *f, const struct lt_decode_limits *lim,
	     struct lt_buf *out, char *err, size_t errlen)
{
	unsigned char stage[STAGE_SIZE];
	enum lt_decode_result res = LT_DECODE_CORRUPT;
	size_t produced, allowed, room, got;
	uInt avail;
	int staged, zret;

	for (;;) {
		produced = out->len - f->oldlen;
		allowed = f->limit - produced;
		room = out->cap > out->len ? out->cap - out->len - 1 : 0;
		staged = room == 0 || allowed == 0;
		if (staged) {
			avail = allowed < STAGE_SIZE ? (uInt)allowed + 1
						     : STAGE_SIZE;
			f->zs.next_out = stage;
		} else {
			if (room > allowed)
				room = allowed;
			avail = room > UINT_MAX ? UINT_MAX : (uInt)room;
			f->zs.next_out = out->data + out->len;
		}
		f->zs.avail_out = avail;
		inflater_feed(f);
		zret = inflate(&f->zs, Z_NO_FLUSH);
		got = avail - f->zs.avail_out;
		if (got > allowed)
			return too_big(lim, f->len, err, errlen);
		if (!staged)
			out->len += got;
		else if (got > 0 && lt_buf_append(out, stage, got) < 0) {
			seterr(err, errlen, "%s: out of memory after %zu "
			       "decoded bytes", f->name, produced);
			return LT_DECODE_NOMEM;
		}
		switch (inflater_status(f, zret, &res, err, errlen)) {
		case 1:
			continue;
		default:
			return res;
		}
	}
}

enum lt_decode_result
lt_inflate(const void *in, size_t len, enum lt_inflate_format format,
	   const struct lt_decode_limits *lim, struct lt_buf *out, char *err,
	   size_t errlen)
{
	struct inflater f;
	enum lt_decode_result res;
	int wbits;

	memset(&f, 0, sizeof(f));
	f.in = in;
	f.len = len;
	f.format = format;
	f.limit = decode_limit(lim, len);
	f.oldlen = out->len;
	if (format == LT_INFLATE_GZIP) {
		f.name = "gzip";
		wbits = 16 + MAX_WBITS;
	} else if (is_zlib_header(in, len)) {
		f.name = "zlib";
		wbits = MAX_WBITS;
	} else {
		f.name = "deflate";
		wbits = -MAX_WBITS;
	}
	if (len == 0) {
		seterr(err, errlen, "%s: the body is empty", f.name);
		return LT_DECODE_CORRUPT;
	}
	f.zs.next_in = (z_const Bytef *)f.in;
	switch (inflateInit2(&f.zs, wbits)) {
	case Z_OK:
		break;
	case Z_MEM_ERROR:
		seterr(err, errlen, "%s: out of memory", f.name);
		return LT_DECODE_NOMEM;
	default:
		seterr(err, errlen, "%s: cannot initialise zlib", f.name);
		return LT_DECODE_NOMEM;
	}
	res = inflater_run(&f, lim, out, err, errlen);
	(void)inflateEnd(&f.zs);
	if (res != LT_DECODE_OK)
		out->len = f.oldlen;
	return res;
}
