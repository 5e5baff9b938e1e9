/* The growable byte buffer and its appenders: bytes, printf, little-endian
 * integers and varints, and the varint reader (buf.h). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

int
lt_buf_reserve(struct lt_buf *b, size_t extra)
{
	size_t need, cap;
	unsigned char *p;

	if (extra > SIZE_MAX - b->len - 1)
		return -1;
	need = b->len + extra + 1; /* room for lt_buf_terminate() */
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	p = realloc(b->data, cap);
	if (p == NULL)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

int
lt_buf_append(struct lt_buf *b, const void *data, size_t len)
{
	/* The usual case, room enough, without the checks of a resize
	 * (data may be NULL when len is 0, which memcpy must not get). */
	if (len > 0 && len < b->cap - b->len) {
		memcpy(b->data + b->len, data, len);
		b->len += len;
		return 0;
	}
	if (lt_buf_reserve(b, len) < 0)
		return -1;
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

int
lt_buf_append_byte(struct lt_buf *b, unsigned char c)
{
	return lt_buf_append(b, &c, 1);
}

int
lt_buf_printf(struct lt_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || lt_buf_reserve(b, (size_t)n) < 0)
		return -1;
	va_start(ap, fmt);
	(void)vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

int
lt_buf_append_u32le(struct lt_buf *b, uint32_t v)
{
	unsigned char p[4] = {(unsigned char)v, (unsigned char)(v >> 8),
			      (unsigned char)(v >> 16), (unsigned char)(v >> 24)};

	return lt_buf_append(b, p, sizeof(p));
}

int
lt_buf_append_u64le(struct lt_buf *b, uint64_t v)
{
	if (lt_buf_append_u32le(b, (uint32_t)v) < 0)
		return -1;
	if (lt_buf_append_u32le(b, (uint32_t)(v >> 32)) < 0) {
		b->len -= 4;
		return -1;
	}
	return 0;
}

int
lt_buf_append_varint(struct lt_buf *b, uint64_t v)
{
	unsigned char *p;

	if (lt_buf_reserve(b, 10) < 0)
		return -1;
	p = b->data + b->len;
	/* Most varints here (lengths, counts) take one byte. */
	while (v >= 0x80) {
		*p++ = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	*p++ = (unsigned char)v;
	b->len = (size_t)(p - b->data);
	return 0;
}

int
lt_buf_append_string(struct lt_buf *b, const void *s, size_t len)
{
	size_t old = b->len;

	if (lt_buf_append_varint(b, len) < 0)
		return -1;
	if (lt_buf_append(b, s, len) < 0) {
		b->len = old;
		return -1;
	}
	return 0;
}

int
lt_buf_terminate(struct lt_buf *b)
{
	if (lt_buf_reserve(b, 0) < 0)
		return -1;
	b->data[b->len] = '\0';
	return 0;
}

void
lt_buf_reset(struct lt_buf *b)
{
	b->len = 0;
}

void
lt_buf_free(struct lt_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

int
lt_varint_decode(const unsigned char **p, const unsigned char *end,
		 uint64_t *out)
{
	const unsigned char *q = *p;
	uint64_t v = 0;
	unsigned shift;

	for (shift = 0; shift < 70; shift += 7) {
		if (q >= end)
			return -1;
		if (shift == 63 && (*q & 0x7e))
			return -1; /* would overflow 64 bits */
		v |= (uint64_t)(*q & 0x7f) << shift;
		if (!(*q++ & 0x80)) {
			*p = q;
			*out = v;
			return 0;
		}
	}
	return -1;
}
