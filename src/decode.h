/* Content decoding of push bodies: snappy's block format (the body of
 * every Loki protobuf push) and gzip, zlib or raw deflate (what
 * Content-Encoding: gzip and deflate carry).  Each decoder is capped in
 * size and in ratio, so that a small body cannot expand without bound
 * (a "zip bomb"): it stops as soon as the output would pass a cap,
 * before allocating for it. */
#ifndef LOGTHRA_DECODE_H
#define LOGTHRA_DECODE_H

#include <stddef.h>

#include "buf.h"

struct lt_decode_limits {
	size_t max_size;  /* decoded bytes at most */
	size_t max_ratio; /* decoded bytes per encoded byte at most; checked
			   * only once the output passes LT_DECODE_RATIO_FLOOR,
			   * since small bodies cannot hurt; 0 = no ratio cap */
};

/* Output up to this size is never refused for its ratio. */
#define LT_DECODE_RATIO_FLOOR ((size_t)1 << 20)

enum lt_decode_result {
	LT_DECODE_OK = 0,
	LT_DECODE_CORRUPT = -1, /* not valid data of the format: 400 */
	LT_DECODE_TOO_BIG = -2, /* over max_size or max_ratio: 413 */
	LT_DECODE_NOMEM = -3,   /* out of memory: 500 */
};

/* Decodes one snappy block (a varint of the decoded length, then literal
 * and copy elements; not the framing format) and appends the result to
 * out.  The decoded length the block declares is checked against the
 * caps before anything is allocated, and the elements must produce
 * exactly that many bytes.  On failure err says why, naming the byte
 * offset ("copy at byte 17 reaches back 40 bytes but only 12 are
 * decoded"), and out
 * is left as it was. */
enum lt_decode_result lt_snappy_decode(const void *in, size_t len,
				       const struct lt_decode_limits *lim,
				       struct lt_buf *out, char *err,
				       size_t errlen);

enum lt_inflate_format {
	LT_INFLATE_GZIP,    /* RFC 1952; concatenated members are read as one */
	LT_INFLATE_DEFLATE, /* RFC 1950 zlib or RFC 1951 raw deflate: HTTP's
			     * "deflate" means zlib, but many clients (and
			     * Loki, which reads it with Go's flate) send raw
			     * deflate, so the header decides */
};

/* Inflates with zlib and appends the result to out.  Trailing bytes after
 * the compressed data, a truncated stream and a bad checksum are
 * LT_DECODE_CORRUPT.  On failure err says why and out is left as it was. */
enum lt_decode_result lt_inflate(const void *in, size_t len,
				 enum lt_inflate_format format,
				 const struct lt_decode_limits *lim,
				 struct lt_buf *out, char *err, size_t errlen);

#endif
