/* Fuzz target: the inflater on arbitrary bytes.  The first byte picks the
 * format (bit 0: gzip or deflate) and the caps (bits 1-2); the rest is
 * the body. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PREFIX "prefix"
#define PREFIX_LEN (sizeof(PREFIX) - 1)

static const struct lt_decode_limits caps[] = {
    {1024, 0},
    {(size_t)1 << 16, 0},
    /* past the floor, the ratio decides: 4 bytes per input byte */
    {((size_t)1 << 20) + 65536, 4},
    {0, 0},
};

static void
check_message(const char *err)
{
	if (err[0] == '\0' || strchr(err, '\n') != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lt_decode_limits lim;
	struct lt_buf out = LT_BUF_INIT;
	enum lt_inflate_format format;
	enum lt_decode_result res;
	const uint8_t *body;
	char err[256];
	size_t n, len;

	if (size < 1)
		return 0;
	format = data[0] & 1 ? LT_INFLATE_DEFLATE : LT_INFLATE_GZIP;
	lim = caps[(data[0] >> 1) & 3];
	/* an exact-length copy, so that reads past the end are caught */
	len = size - 1;
	body = len ? data + 1 : NULL;
	if (lt_buf_append(&out, PREFIX, PREFIX_LEN) < 0)
		abort();
	err[0] = '\0';
	res = lt_inflate(body, len, format, &lim, &out, err, sizeof(err));
	n = out.len - PREFIX_LEN;
	switch (res) {
	case LT_DECODE_OK:
		if (n > lim.max_size)
			abort();
		if (lim.max_ratio && n > LT_DECODE_RATIO_FLOOR &&
		    len <= SIZE_MAX / lim.max_ratio && n > len * lim.max_ratio)
			abort();
		break;
	case LT_DECODE_CORRUPT:
	case LT_DECODE_TOO_BIG:
		if (n != 0)
			abort();
		check_message(err);
		break;
	default:
		abort();
	}
	if (memcmp(out.data, PREFIX, PREFIX_LEN) != 0)
		abort();
	/* The cap is exact: one byte less refuses what inflated. */
	if (res == LT_DECODE_OK && n > 0) {
		lim.max_size = n - 1;
		lim.max_ratio = 0;
		out.len = PREFIX_LEN;
		if (lt_inflate(body, len, format, &lim, &out, err,
			       sizeof(err)) != LT_DECODE_TOO_BIG ||
		    out.len != PREFIX_LEN)
			abort();
	}
	lt_buf_free(&out);
	return 0;
}
