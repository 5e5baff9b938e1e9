/* A growable byte buffer: the one way this code builds bodies, spool
 * files and messages whose size is not known in advance. */
#ifndef LOGTHRA_BUF_H
#define LOGTHRA_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"

struct lt_buf {
	unsigned char *data;
	size_t len;
	size_t cap;
};

#define LT_BUF_INIT {NULL, 0, 0}

/* All return 0, or -1 when memory is exhausted (the buffer is unchanged). */
int lt_buf_reserve(struct lt_buf *b, size_t extra);
int lt_buf_append(struct lt_buf *b, const void *data, size_t len);
int lt_buf_append_byte(struct lt_buf *b, unsigned char c);
int lt_buf_printf(struct lt_buf *b, const char *fmt, ...) LT_PRINTF(2, 3);
/* Little-endian fixed-width integers and LEB128 varints, as ClickHouse's
 * RowBinary and the spool format use them. */
int lt_buf_append_u32le(struct lt_buf *b, uint32_t v);
int lt_buf_append_u64le(struct lt_buf *b, uint64_t v);
int lt_buf_append_varint(struct lt_buf *b, uint64_t v);
/* A varint length followed by the bytes: RowBinary's String. */
int lt_buf_append_string(struct lt_buf *b, const void *s, size_t len);
/* Makes data a NUL-terminated C string without counting the NUL in len. */
int lt_buf_terminate(struct lt_buf *b);
void lt_buf_reset(struct lt_buf *b);
void lt_buf_free(struct lt_buf *b);

/* Reads a varint from [*p, end); returns 0 and advances *p, or -1 when it
 * is truncated or longer than 10 bytes. */
int lt_varint_decode(const unsigned char **p, const unsigned char *end,
		     uint64_t *out);

static inline uint32_t
lt_load_u32le(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t
lt_load_u64le(const unsigned char *p)
{
	return (uint64_t)lt_load_u32le(p) | (uint64_t)lt_load_u32le(p + 4) << 32;
}

#endif
