/* Fuzz target: the snappy block decoder on arbitrary bytes, with small
 * caps.  Built with -DLT_FUZZ_REFERENCE (and -lsnappy) it also checks
 * every result against libsnappy's own decoder. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "decode.h"

#ifdef LT_FUZZ_REFERENCE
#include <snappy-c.h>
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PREFIX "prefix"
#define PREFIX_LEN (sizeof(PREFIX) - 1)
#define MAX_SIZE ((size_t)1 << 16)

/* The declared length, read independently of the decoder. */
static int
declared_length(const uint8_t *p, size_t n, uint64_t *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < n && i < 5; i++) {
		*v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80))
			return *v <= UINT32_MAX ? 0 : -1;
	}
	return -1;
}

static void
check_message(const char *err)
{
	if (err[0] == '\0' || strchr(err, '\n') != NULL)
		abort();
}

#ifdef LT_FUZZ_REFERENCE
/* libsnappy 1.1.9 adds the 1 to a 4-byte literal length in 32 bits, so
 * that 0xffffffff becomes a literal of 0 bytes; the format means 2^32,
 * which no body holds. */
static int
snappy_quirk(enum lt_decode_result res, const char *err)
{
	return res == LT_DECODE_CORRUPT &&
	       strstr(err, " needs 4294967296 bytes ") != NULL;
}

static void
check_reference(const uint8_t *data, size_t size, enum lt_decode_result res,
		const struct lt_buf *out, const char *err)
{
	size_t n;
	char *ref;

	if (res == LT_DECODE_TOO_BIG)
		return;
	if (snappy_uncompressed_length((const char *)data, size, &n) !=
	    SNAPPY_OK) {
		if (res == LT_DECODE_OK)
			abort();
		return;
	}
	if (n > MAX_SIZE) /* then it should have been too big */
		abort();
	ref = malloc(n ? n : 1);
	if (ref == NULL)
		abort();
	if (snappy_uncompress((const char *)data, size, ref, &n) == SNAPPY_OK) {
		if (snappy_quirk(res, err))
			;
		else if (res != LT_DECODE_OK || out->len != PREFIX_LEN + n ||
			 memcmp(out->data + PREFIX_LEN, ref, n) != 0)
			abort();
	} else if (res == LT_DECODE_OK)
		abort();
	free(ref);
}
#endif

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lt_decode_limits lim = {MAX_SIZE, 4};
	struct lt_buf out = LT_BUF_INIT;
	enum lt_decode_result res;
	uint64_t declared;
	char err[256];
	size_t n;

	if (lt_buf_append(&out, PREFIX, PREFIX_LEN) < 0)
		abort();
	err[0] = '\0';
	res = lt_snappy_decode(data, size, &lim, &out, err, sizeof(err));
	switch (res) {
	case LT_DECODE_OK:
		if (declared_length(data, size, &declared) < 0)
			abort();
		n = out.len - PREFIX_LEN;
		if (n != declared || n > MAX_SIZE)
			abort();
		break;
	case LT_DECODE_CORRUPT:
	case LT_DECODE_TOO_BIG:
		if (out.len != PREFIX_LEN)
			abort();
		check_message(err);
		break;
	default:
		abort();
	}
	if (memcmp(out.data, PREFIX, PREFIX_LEN) != 0)
		abort();
#ifdef LT_FUZZ_REFERENCE
	check_reference(data, size, res, &out, err);
#endif
	/* The cap is exact: one byte less refuses what decoded. */
	if (res == LT_DECODE_OK && out.len > PREFIX_LEN) {
		lim.max_size = out.len - PREFIX_LEN - 1;
		out.len = PREFIX_LEN;
		if (lt_snappy_decode(data, size, &lim, &out, err,
				     sizeof(err)) != LT_DECODE_TOO_BIG ||
		    out.len != PREFIX_LEN)
			abort();
	}
	lt_buf_free(&out);
	return 0;
}
