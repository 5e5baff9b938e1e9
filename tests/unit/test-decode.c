/* Unit tests: the snappy block decoder and the zlib inflater, checked
 * against libsnappy and zlib themselves, hand-built blocks, corrupt
 * input and compression bombs. */
#include "config.h"

#include <check.h>
#include <snappy-c.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "buf.h"
#include "decode.h"

#define MIB ((size_t)1 << 20)
#define PREFIX "prefix:"
#define PREFIX_LEN (sizeof(PREFIX) - 1)

static const struct lt_decode_limits nolimits = {SIZE_MAX, 0};

enum kind { LOGS, ZEROS, RANDOM, MIXED, NKINDS };

static const size_t sizes[] = {
	0, 1, 59, 60, 61, 62, 63, 64, 65, 4095, 4096,
	65535, 65536, 65537, 131071, 131072, 131073, 1 << 20,
};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static uint64_t rng_state;

static uint64_t
rng(void)
{
	/* xorshift64*: deterministic, so a failure can be replayed */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

/* Fills n bytes of the given kind: log lines like a push carries, zeros,
 * incompressible noise, or stretches of each. */
static unsigned char *
make_data(enum kind k, size_t n)
{
	static const char *levels[] = {"info", "warn", "error", "debug"};
	unsigned char *d = malloc(n ? n : 1);
	char line[160];
	size_t i = 0, m;
	int len;

	ck_assert_ptr_nonnull(d);
	rng_state = UINT64_C(0x9e3779b97f4a7c15) + n * 31 + (uint64_t)k;
	switch (k) {
	case LOGS:
		while (i < n) {
			len = snprintf(line, sizeof(line),
				       "ts=2024-05-%02u level=%s msg=\"request "
				       "handled\" path=/api/v1/push status=%u "
				       "took=%ums\n",
				       (unsigned)(rng() % 28 + 1),
				       levels[rng() % 4],
				       (unsigned)(200 + rng() % 4 * 100),
				       (unsigned)(rng() % 1000));
			m = (size_t)len < n - i ? (size_t)len : n - i;
			memcpy(d + i, line, m);
			i += m;
		}
		break;
	case ZEROS:
		memset(d, 0, n);
		break;
	case RANDOM:
		for (; i < n; i++)
			d[i] = (unsigned char)rng();
		break;
	default:
		while (i < n) {
			m = rng() % 300 + 1;
			if (m > n - i)
				m = n - i;
			if (rng() % 2)
				memset(d + i, (int)(rng() % 4), m);
			else if (i > 0 && rng() % 2)
				memset(d + i, d[i - 1], m);
			else
				for (size_t j = 0; j < m; j++)
					d[i + j] = (unsigned char)rng();
			i += m;
		}
		break;
	}
	return d;
}

static void
snappy_encode(const void *in, size_t n, struct lt_buf *out)
{
	size_t clen = snappy_max_compressed_length(n);

	lt_buf_reset(out);
	ck_assert_int_eq(lt_buf_reserve(out, clen), 0);
	ck_assert_int_eq(snappy_compress(in, n, (char *)out->data, &clen),
			 SNAPPY_OK);
	out->len = clen;
}

/* Compresses with zlib: wbits 15 + 16 is gzip, 15 zlib, -15 raw. */
static void
z_encode(const void *in, size_t n, int wbits, int level, struct lt_buf *out)
{
	z_stream zs;
	int ret;

	memset(&zs, 0, sizeof(zs));
	ck_assert_int_eq(deflateInit2(&zs, level, Z_DEFLATED, wbits, 8,
				      Z_DEFAULT_STRATEGY),
			 Z_OK);
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)n;
	do {
		ck_assert_int_eq(lt_buf_reserve(out, 65536), 0);
		zs.next_out = out->data + out->len;
		zs.avail_out = 65536;
		ret = deflate(&zs, Z_FINISH);
		ck_assert(ret == Z_OK || ret == Z_STREAM_END);
		out->len += 65536 - zs.avail_out;
	} while (ret != Z_STREAM_END);
	ck_assert_int_eq(deflateEnd(&zs), Z_OK);
}

static void
set_prefix(struct lt_buf *b)
{
	lt_buf_reset(b);
	ck_assert_int_eq(lt_buf_append(b, PREFIX, PREFIX_LEN), 0);
}

/* A failure leaves out exactly as it was. */
static void
assert_untouched(const struct lt_buf *b)
{
	ck_assert_uint_eq(b->len, PREFIX_LEN);
	ck_assert_mem_eq(b->data, PREFIX, PREFIX_LEN);
}

static void
assert_decoded(const struct lt_buf *b, const void *want, size_t n)
{
	ck_assert_uint_eq(b->len, PREFIX_LEN + n);
	ck_assert_mem_eq(b->data, PREFIX, PREFIX_LEN);
	if (n > 0)
		ck_assert(memcmp(b->data + PREFIX_LEN, want, n) == 0);
}

static enum lt_decode_result
snappy(const void *in, size_t n, const struct lt_decode_limits *lim,
       struct lt_buf *out, char *err)
{
	err[0] = '\0';
	return lt_snappy_decode(in, n, lim, out, err, 256);
}

/* Decodes a hand-built block and expects it to fail with status want
 * and message msg. */
static void
snappy_fails(const unsigned char *in, size_t n, enum lt_decode_result want,
	     const char *msg)
{
	struct lt_buf out = LT_BUF_INIT;
	char err[256];

	set_prefix(&out);
	ck_assert_int_eq(snappy(in, n, &nolimits, &out, err), want);
	ck_assert_str_eq(err, msg);
	assert_untouched(&out);
	lt_buf_free(&out);
}

static void
snappy_decodes(const unsigned char *in, size_t n, const void *want,
	       size_t wantlen)
{
	struct lt_buf out = LT_BUF_INIT;
	char err[256];

	set_prefix(&out);
	ck_assert_int_eq(snappy(in, n, &nolimits, &out, err), LT_DECODE_OK);
	assert_decoded(&out, want, wantlen);
	lt_buf_free(&out);
}

/* Every size and kind of data, compressed by libsnappy, comes back. */
START_TEST(test_snappy_roundtrip)
{
	struct lt_buf enc = LT_BUF_INIT, out = LT_BUF_INIT;
	unsigned char *d;
	char err[256];
	size_t i;
	int k;

	for (k = 0; k < NKINDS; k++) {
		for (i = 0; i < NSIZES; i++) {
			d = make_data((enum kind)k, sizes[i]);
			snappy_encode(d, sizes[i], &enc);
			set_prefix(&out);
			ck_assert_msg(snappy(enc.data, enc.len, &nolimits, &out,
					     err) == LT_DECODE_OK,
				      "kind %d size %zu: %s", k, sizes[i], err);
			assert_decoded(&out, d, sizes[i]);
			free(d);
		}
	}
	lt_buf_free(&enc);
	lt_buf_free(&out);
}
END_TEST

START_TEST(test_snappy_literals)
{
	unsigned char in[80000], want[70000];
	size_t i;

	for (i = 0; i < sizeof(want); i++)
		want[i] = (unsigned char)(i * 7 + 3);

	/* declared 0, no elements */
	snappy_decodes((const unsigned char *)"\x00", 1, "", 0);

	/* inline lengths 1 and 60 */
	in[0] = 1, in[1] = 0 << 2, in[2] = want[0];
	snappy_decodes(in, 3, want, 1);
	in[0] = 60, in[1] = 59 << 2;
	memcpy(in + 2, want, 60);
	snappy_decodes(in, 62, want, 60);

	/* one length byte: 61 and 256 */
	in[0] = 61, in[1] = 60 << 2, in[2] = 60;
	memcpy(in + 3, want, 61);
	snappy_decodes(in, 64, want, 61);
	in[0] = 0x80, in[1] = 0x02, in[2] = 60 << 2, in[3] = 255;
	memcpy(in + 4, want, 256);
	snappy_decodes(in, 260, want, 256);

	/* two length bytes: 300 */
	in[0] = 0xac, in[1] = 0x02, in[2] = 61 << 2, in[3] = 0x2b, in[4] = 1;
	memcpy(in + 5, want, 300);
	snappy_decodes(in, 305, want, 300);

	/* three length bytes: 70000 (69999 = 0x01116f) */
	in[0] = 0xf0, in[1] = 0xa2, in[2] = 0x04; /* 70000 */
	in[3] = 62 << 2, in[4] = 0x6f, in[5] = 0x11, in[6] = 0x01;
	memcpy(in + 7, want, 70000);
	snappy_decodes(in, 70007, want, 70000);

	/* four length bytes, used for a short literal */
	in[0] = 5, in[1] = 63 << 2, in[2] = 4, in[3] = in[4] = in[5] = 0;
	memcpy(in + 6, want, 5);
	snappy_decodes(in, 11, want, 5);

	/* two literals in a row */
	in[0] = 4, in[1] = 1 << 2, in[2] = want[0], in[3] = want[1];
	in[4] = 1 << 2, in[5] = want[2], in[6] = want[3];
	snappy_decodes(in, 7, want, 4);
}
END_TEST

START_TEST(test_snappy_copies)
{
	unsigned char in[400], want[400];
	size_t i;

	/* 1-byte offset: "abcd" then 8 bytes from 4 back */
	static const unsigned char c1[] = {12, 3 << 2, 'a', 'b', 'c', 'd',
					   1 | (8 - 4) << 2, 4};
	snappy_decodes(c1, sizeof(c1), "abcdabcdabcd", 12);

	/* 1-byte kind with the offset's high bits in the tag: 300 bytes,
	 * then 11 bytes from 260 back */
	for (i = 0; i < 300; i++)
		want[i] = (unsigned char)(i * 13);
	memcpy(want + 300, want + 40, 11);
	in[0] = 0xb7, in[1] = 0x02; /* 311 */
	in[2] = 61 << 2, in[3] = 0x2b, in[4] = 1;
	memcpy(in + 5, want, 300);
	in[305] = 1 | (11 - 4) << 2 | (260 >> 8) << 5;
	in[306] = 260 & 0xff;
	snappy_decodes(in, 307, want, 311);

	/* 2-byte offset, length 64 from 10 back */
	for (i = 0; i < 10; i++)
		want[i] = (unsigned char)('0' + i);
	for (; i < 74; i++)
		want[i] = want[i - 10];
	in[0] = 74, in[1] = 9 << 2;
	memcpy(in + 2, want, 10);
	in[12] = 2 | 63 << 2, in[13] = 10, in[14] = 0;
	snappy_decodes(in, 15, want, 74);

	/* 4-byte offset, length 5 from 300 back */
	for (i = 0; i < 300; i++)
		want[i] = (unsigned char)(i * 5 + 1);
	memcpy(want + 300, want, 5);
	in[0] = 0xb1, in[1] = 0x02; /* 305 */
	in[2] = 61 << 2, in[3] = 0x2b, in[4] = 1;
	memcpy(in + 5, want, 300);
	in[305] = 3 | 4 << 2;
	in[306] = 0x2c, in[307] = 1, in[308] = in[309] = 0;
	snappy_decodes(in, 310, want, 305);

	/* overlapping copies: offset 1 length 64 is run-length encoding,
	 * with each copy kind */
	memset(want, 'x', 65 + 64 + 11);
	in[0] = 65, in[1] = 0, in[2] = 'x', in[3] = 2 | 63 << 2, in[4] = 1;
	in[5] = 0;
	snappy_decodes(in, 6, want, 65);
	in[0] = 65, in[3] = 3 | 63 << 2, in[4] = 1, in[5] = in[6] = in[7] = 0;
	snappy_decodes(in, 8, want, 65);
	in[0] = 12, in[3] = 1 | 7 << 2, in[4] = 1;
	snappy_decodes(in, 5, want, 12);

	/* offset 3, length 10: "abc" repeating */
	static const unsigned char o3[] = {13, 2 << 2, 'a', 'b', 'c',
					   2 | 9 << 2, 3, 0};
	snappy_decodes(o3, sizeof(o3), "abcabcabcabca", 13);

	/* a copy reaching exactly to the start */
	static const unsigned char o0[] = {8, 3 << 2, 'w', 'x', 'y', 'z',
					   1 | 0 << 2, 4};
	snappy_decodes(o0, sizeof(o0), "wxyzwxyz", 8);
}
END_TEST

START_TEST(test_snappy_corrupt)
{
	/* the length */
	snappy_fails(NULL, 0, LT_DECODE_CORRUPT,
		     "snappy: data ends inside the length at byte 0");
	snappy_fails((const unsigned char *)"\x80", 1, LT_DECODE_CORRUPT,
		     "snappy: data ends inside the length at byte 0");
	snappy_fails((const unsigned char *)"\xff\xff\xff\xff", 4,
		     LT_DECODE_CORRUPT,
		     "snappy: data ends inside the length at byte 0");
	snappy_fails((const unsigned char *)"\xff\xff\xff\xff\x10", 5,
		     LT_DECODE_CORRUPT,
		     "snappy: the length at byte 0 does not fit in 32 bits");
	snappy_fails((const unsigned char *)"\x80\x80\x80\x80\x80\x00", 6,
		     LT_DECODE_CORRUPT,
		     "snappy: the length at byte 0 does not fit in 32 bits");

	/* copies */
	static const unsigned char off0[] = {5, 0, 'a', 1, 0};
	snappy_fails(off0, sizeof(off0), LT_DECODE_CORRUPT,
		     "snappy: copy at byte 3 has offset 0");
	static const unsigned char off0b[] = {5, 0, 'a', 2 | 3 << 2, 0, 0};
	snappy_fails(off0b, sizeof(off0b), LT_DECODE_CORRUPT,
		     "snappy: copy at byte 3 has offset 0");
	static const unsigned char off0c[] = {5, 0, 'a', 3 | 3 << 2,
					      0, 0, 0, 0};
	snappy_fails(off0c, sizeof(off0c), LT_DECODE_CORRUPT,
		     "snappy: copy at byte 3 has offset 0");
	/* 10 + 2 literal bytes, then a copy at byte 17 from 40 back */
	static const unsigned char far[] = {
	    20, 9 << 2, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j',
	    61 << 2, 1, 0, 'k', 'l', 2 | 3 << 2, 40, 0};
	snappy_fails(far, sizeof(far), LT_DECODE_CORRUPT,
		     "snappy: copy at byte 17 reaches back 40 bytes but only 12 "
		     "are decoded");
	static const unsigned char far4[] = {8, 0, 'a', 3 | 3 << 2,
					     0,	 0, 0,	 0x80};
	snappy_fails(far4, sizeof(far4), LT_DECODE_CORRUPT,
		     "snappy: copy at byte 3 reaches back 2147483648 bytes but "
		     "only 1 are decoded");
	static const unsigned char first[] = {4, 1, 1};
	snappy_fails(first, sizeof(first), LT_DECODE_CORRUPT,
		     "snappy: copy at byte 1 reaches back 1 bytes but only 0 are "
		     "decoded");
	static const unsigned char cut1[] = {5, 0, 'a', 1};
	snappy_fails(cut1, sizeof(cut1), LT_DECODE_CORRUPT,
		     "snappy: data ends inside the copy at byte 3");
	static const unsigned char cut2[] = {5, 0, 'a', 2, 1};
	snappy_fails(cut2, sizeof(cut2), LT_DECODE_CORRUPT,
		     "snappy: data ends inside the copy at byte 3");
	static const unsigned char cut4[] = {5, 0, 'a', 3, 1, 0, 0};
	snappy_fails(cut4, sizeof(cut4), LT_DECODE_CORRUPT,
		     "snappy: data ends inside the copy at byte 3");

	/* output short or long */
	static const unsigned char shrt[] = {5, 2 << 2, 'a', 'b', 'c'};
	snappy_fails(shrt, sizeof(shrt), LT_DECODE_CORRUPT,
		     "snappy: data ends after 3 of the declared 5 bytes");
	snappy_fails((const unsigned char *)"\x01", 1, LT_DECODE_CORRUPT,
		     "snappy: data ends after 0 of the declared 1 bytes");
	static const unsigned char lng[] = {2, 2 << 2, 'a', 'b', 'c'};
	snappy_fails(lng, sizeof(lng), LT_DECODE_CORRUPT,
		     "snappy: literal at byte 1 runs past the declared length of "
		     "2 bytes");
	static const unsigned char lngc[] = {4, 0, 'a', 1, 1};
	snappy_fails(lngc, sizeof(lngc), LT_DECODE_CORRUPT,
		     "snappy: copy at byte 3 runs past the declared length of 4 "
		     "bytes");
	static const unsigned char extra[] = {1, 0, 'a', 0, 'b'};
	snappy_fails(extra, sizeof(extra), LT_DECODE_CORRUPT,
		     "snappy: literal at byte 3 runs past the declared length of "
		     "1 bytes");

	/* truncated literals */
	static const unsigned char tl[] = {5, 4 << 2, 'a', 'b', 'c'};
	snappy_fails(tl, sizeof(tl), LT_DECODE_CORRUPT,
		     "snappy: literal at byte 1 needs 5 bytes but only 3 remain");
	static const unsigned char tll[] = {70, 61 << 2, 69};
	snappy_fails(tll, sizeof(tll), LT_DECODE_CORRUPT,
		     "snappy: data ends inside the length of the literal at byte "
		     "1");
	static const unsigned char tl4[] = {70, 63 << 2, 0xff, 0xff, 0xff, 0xff,
					    'a'};
	snappy_fails(tl4, sizeof(tl4), LT_DECODE_CORRUPT,
		     "snappy: literal at byte 1 needs 4294967296 bytes but only 1 "
		     "remain");
}
END_TEST

START_TEST(test_snappy_caps)
{
	struct lt_buf out = LT_BUF_INIT, enc = LT_BUF_INIT;
	struct lt_decode_limits lim = {64 * MIB, 0};
	static const unsigned char huge[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
	unsigned char *d;
	char err[256];
	size_t cap;

	/* 4 GiB - 1 declared: refused before anything is allocated */
	ck_assert_int_eq(snappy(huge, sizeof(huge), &lim, &out, err),
			 LT_DECODE_TOO_BIG);
	ck_assert_str_eq(err, "decoded body would exceed 67108864 bytes");
	ck_assert_ptr_null(out.data);
	ck_assert_uint_eq(out.cap, 0);
	set_prefix(&out);
	cap = out.cap;
	ck_assert_int_eq(snappy(huge, sizeof(huge), &lim, &out, err),
			 LT_DECODE_TOO_BIG);
	ck_assert_uint_eq(out.cap, cap);
	assert_untouched(&out);

	/* exactly max_size is fine, one more is not */
	d = make_data(LOGS, 5000);
	snappy_encode(d, 5000, &enc);
	lim.max_size = 5000;
	set_prefix(&out);
	ck_assert_int_eq(snappy(enc.data, enc.len, &lim, &out, err),
			 LT_DECODE_OK);
	assert_decoded(&out, d, 5000);
	lim.max_size = 4999;
	set_prefix(&out);
	ck_assert_int_eq(snappy(enc.data, enc.len, &lim, &out, err),
			 LT_DECODE_TOO_BIG);
	ck_assert_str_eq(err, "decoded body would exceed 4999 bytes");
	assert_untouched(&out);
	free(d);

	/* the ratio: 2 MiB declared in 4 bytes passes the floor */
	lim.max_size = SIZE_MAX;
	lim.max_ratio = 100;
	static const unsigned char two[] = {0x80, 0x80, 0x80, 0x01};
	set_prefix(&out);
	ck_assert_int_eq(snappy(two, sizeof(two), &lim, &out, err),
			 LT_DECODE_TOO_BIG);
	ck_assert_str_eq(err, "decoded body would exceed 1048576 bytes, more "
			      "than 100 times its 4 encoded bytes");
	assert_untouched(&out);
	/* ... while the floor itself is never refused for its ratio */
	static const unsigned char one[] = {0x80, 0x80, 0x40};
	ck_assert_int_eq(snappy(one, sizeof(one), &lim, &out, err),
			 LT_DECODE_CORRUPT);
	ck_assert_str_eq(err, "snappy: data ends after 0 of the declared "
			      "1048576 bytes");
	assert_untouched(&out);

	/* real data: 2 MiB of zeros squeeze about 21:1 */
	d = make_data(ZEROS, 2 * MIB);
	snappy_encode(d, 2 * MIB, &enc);
	lim.max_ratio = 10;
	ck_assert_int_eq(snappy(enc.data, enc.len, &lim, &out, err),
			 LT_DECODE_TOO_BIG);
	assert_untouched(&out);
	lim.max_ratio = 100;
	ck_assert_int_eq(snappy(enc.data, enc.len, &lim, &out, err),
			 LT_DECODE_OK);
	assert_decoded(&out, d, 2 * MIB);
	free(d);

	/* no room for an error message is fine too */
	ck_assert_int_eq(lt_snappy_decode(huge, sizeof(huge), &lim, &out,
					  NULL, 0),
			 LT_DECODE_TOO_BIG);
	lt_buf_free(&out);
	lt_buf_free(&enc);
}
END_TEST

static enum lt_decode_result
inflate_(const void *in, size_t n, enum lt_inflate_format fmt,
	 const struct lt_decode_limits *lim, struct lt_buf *out, char *err)
{
	err[0] = '\0';
	return lt_inflate(in, n, fmt, lim, out, err, 256);
}

/* Every size and kind of data, in each container and at a few levels. */
START_TEST(test_inflate_roundtrip)
{
	static const struct {
		int wbits;
		enum lt_inflate_format fmt;
	} forms[] = {{15 + 16, LT_INFLATE_GZIP},
		     {15, LT_INFLATE_DEFLATE},
		     {-15, LT_INFLATE_DEFLATE}};
	static const int levels[] = {0, 1, 6, 9};
	struct lt_buf enc = LT_BUF_INIT, out = LT_BUF_INIT;
	unsigned char *d;
	char err[256];
	size_t i, f;
	int k;

	for (k = 0; k < NKINDS; k++) {
		for (i = 0; i < NSIZES; i++) {
			d = make_data((enum kind)k, sizes[i]);
			for (f = 0; f < 3; f++) {
				lt_buf_reset(&enc);
				z_encode(d, sizes[i], forms[f].wbits,
					 levels[(i + f) % 4], &enc);
				set_prefix(&out);
				ck_assert_msg(inflate_(enc.data, enc.len,
						       forms[f].fmt, &nolimits,
						       &out, err) == LT_DECODE_OK,
					      "kind %d size %zu wbits %d: %s", k,
					      sizes[i], forms[f].wbits, err);
				assert_decoded(&out, d, sizes[i]);
			}
			free(d);
		}
	}
	lt_buf_free(&enc);
	lt_buf_free(&out);
}
END_TEST

/* zlib headers with smaller windows are still zlib; gzip header fields
 * are skipped. */
START_TEST(test_inflate_headers)
{
	struct lt_buf enc = LT_BUF_INIT, out = LT_BUF_INIT;
	unsigned char *d = make_data(MIXED, 100000);
	char err[256];
	gz_header h;
	z_stream zs;
	int wbits;

	for (wbits = 9; wbits <= 15; wbits++) {
		lt_buf_reset(&enc);
		z_encode(d, 100000, wbits, 6, &enc);
		set_prefix(&out);
		ck_assert_int_eq(inflate_(enc.data, enc.len, LT_INFLATE_DEFLATE,
					  &nolimits, &out, err),
				 LT_DECODE_OK);
		assert_decoded(&out, d, 100000);
	}

	memset(&h, 0, sizeof(h));
	h.name = (Bytef *)"push.json";
	h.comment = (Bytef *)"a comment";
	h.extra = (Bytef *)"XYZ";
	h.extra_len = 3;
	h.hcrc = 1;
	memset(&zs, 0, sizeof(zs));
	ck_assert_int_eq(deflateInit2(&zs, 6, Z_DEFLATED, 31, 8,
				      Z_DEFAULT_STRATEGY),
			 Z_OK);
	ck_assert_int_eq(deflateSetHeader(&zs, &h), Z_OK);
	lt_buf_reset(&enc);
	ck_assert_int_eq(lt_buf_reserve(&enc, deflateBound(&zs, 100000) + 64),
			 0);
	zs.next_in = d;
	zs.avail_in = 100000;
	zs.next_out = enc.data;
	zs.avail_out = (uInt)(enc.cap - 1);
	ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
	enc.len = zs.total_out;
	ck_assert_int_eq(deflateEnd(&zs), Z_OK);
	set_prefix(&out);
	ck_assert_int_eq(inflate_(enc.data, enc.len, LT_INFLATE_GZIP,
				  &nolimits, &out, err),
			 LT_DECODE_OK);
	assert_decoded(&out, d, 100000);
	/* a bad header CRC */
	enc.data[10 + 2 + 3 + 10 + 10] ^= 1;
	set_prefix(&out);
	ck_assert_int_eq(inflate_(enc.data, enc.len, LT_INFLATE_GZIP,
				  &nolimits, &out, err),
			 LT_DECODE_CORRUPT);
	ck_assert_str_eq(err, "gzip: header crc mismatch at byte 37");
	assert_untouched(&out);

	free(d);
	lt_buf_free(&enc);
	lt_buf_free(&out);
}
END_TEST

START_TEST(test_inflate_members)
{
	struct lt_buf enc = LT_BUF_INIT, out = LT_BUF_INIT;
	unsigned char *a = make_data(LOGS, 70000), *b = make_data(MIXED, 3000);
	unsigned char *both = malloc(73000);
	char err[256];

	ck_assert_ptr_nonnull(both);
	memcpy(both, a, 70000);
	memcpy(both + 70000, b, 3000);
	z_encode(a, 70000, 31, 6, &enc);
	z_encode(b, 3000, 31, 1, &enc);
	set_prefix(&out);
	ck_assert_int_eq(inflate_(enc.data, enc.len, LT_INFLATE_GZIP,
				  &nolimits, &out, err),
			 LT_DECODE_OK);
	assert_decoded(&out, both, 73000);

	/* an empty member in between and at the end */
	lt_buf_reset(&enc);
	z_encode(a, 70000, 31, 6, &enc);
	z_encode("", 0, 31, 6, &enc);
	z_encode(b, 3000, 31, 9, &enc);
	z_encode("", 0, 31, 6, &enc);
	set_prefix(&out);
	ck_assert_int_eq(inflate_(enc.data, enc.len, LT_INFLATE_GZIP,
				  &nolimits, &out, err),
			 LT_DECODE_OK);
	assert_decoded(&out, both, 73000);

	/* a second member cut short */
	lt_buf_reset(&enc);
	z_encode(a, 70000, 31, 6, &enc);
	z_encode(b, 3000, 31, 9, &enc);
	set_prefix(&out);
	ck_assert_int_eq(inflate_(enc.data, enc.len - 1, LT_INFLATE_GZIP,
				  &nolimits, &out, err),
			 LT_DECODE_CORRUPT);
	ck_assert_str_eq(err, "gzip: data ends before the end of the "
			      "compressed stream");
	assert_untouched(&out);

	/* the sizes of the members count together against the cap */
	struct lt_decode_limits lim = {72999, 0};
	ck_assert_int_eq(inflate_(enc.data, enc.len, LT_INFLATE_GZIP, &lim,
				  &out, err),
			 LT_DECODE_TOO_BIG);
	assert_untouched(&out);
	lim.max_size = 73000;
	ck_assert_int_eq(inflate_(enc.data, enc.len, LT_INFLATE_GZIP, &lim,
				  &out, err),
			 LT_DECODE_OK);
	assert_decoded(&out, both, 73000);

	free(a);
	free(b);
	free(both);
	lt_buf_free(&enc);
	lt_buf_free(&out);
}
END_TEST

START_TEST(test_inflate_trailing)
{
	struct lt_buf enc = LT_BUF_INIT, out = LT_BUF_INIT;
	unsigned char *d = make_data(LOGS, 1000);
	char err[256], want[256];
	size_t n;

	z_encode(d, 1000, 31, 6, &enc);
	n = enc.len;
	ck_assert_int_eq(lt_buf_append(&enc, "\n\0\0", 3), 0);
	set_prefix(&out);
	ck_assert_int_eq(inflate_(enc.data, enc.len, LT_INFLATE_GZIP,
				  &nolimits, &out, err),
			 LT_DECODE_CORRUPT);
	snprintf(want, sizeof(want),
		 "gzip: 3 bytes of trailing garbage at byte %zu, after the end "
		 "of the compressed stream", n);
	ck_assert_str_eq(err, want);
	assert_untouched(&out);
	/* what starts like a member but is not one */
	enc.len = n;
	ck_assert_int_eq(lt_buf_append(&enc, "\x1f\x8b\x01\0\0\0\0\0\0\0", 10),
			 0);
	ck_assert_int_eq(inflate_(enc.data, enc.len, LT_INFLATE_GZIP,
				  &nolimits, &out, err),
			 LT_DECODE_CORRUPT);
	snprintf(want, sizeof(want),
		 "gzip: unknown compression method at byte %zu", n + 4);
	ck_assert_str_eq(err, want);
	assert_untouched(&out);
	/* a lone 0x1f is a member cut short */
	enc.len = n;
	ck_assert_int_eq(lt_buf_append_byte(&enc, 0x1f), 0);
	ck_assert_int_eq(inflate_(enc.data, enc.len, LT_INFLATE_GZIP,
				  &nolimits, &out, err),
			 LT_DECODE_CORRUPT);
	ck_assert_str_eq(err, "gzip: data ends before the end of the "
			      "compressed stream");
	assert_untouched(&out);

	lt_buf_reset(&enc);
	z_encode(d, 1000, 15, 6, &enc);
	n = enc.len;
	ck_assert_int_eq(lt_buf_append_byte(&enc, 0), 0);
	ck_assert_int_eq(inflate_(enc.data, enc.len, LT_INFLATE_DEFLATE,
				  &nolimits, &out, err),
			 LT_DECODE_CORRUPT);
	snprintf(want, sizeof(want),
		 "zlib: 1 bytes of trailing garbage at byte %zu, after the end "
		 "of the compressed stream", n);
	ck_assert_str_eq(err, want);
	assert_untouched(&out);
	/* a second zlib stream is not read as one body */
	enc.len = n;
	z_encode(d, 1000, 15, 6, &enc);
	ck_assert_int_eq(inflate_(enc.data, enc.len, LT_INFLATE_DEFLATE,
				  &nolimits, &out, err),
			 LT_DECODE_CORRUPT);
	assert_untouched(&out);

	lt_buf_reset(&enc);
	z_encode(d, 1000, -15, 6, &enc);
	n = enc.len;
	ck_assert_int_eq(lt_buf_append(&enc, "junk", 4), 0);
	ck_assert_int_eq(inflate_(enc.data, enc.len, LT_INFLATE_DEFLATE,
				  &nolimits, &out, err),
			 LT_DECODE_CORRUPT);
	snprintf(want, sizeof(want),
		 "deflate: 4 bytes of trailing garbage at byte %zu, after the "
		 "end of the compressed stream", n);
	ck_assert_str_eq(err, want);
	assert_untouched(&out);

	free(d);
	lt_buf_free(&enc);
	lt_buf_free(&out);
}
END_TEST

/* Every prefix of a small body is corrupt, and nothing crashes. */
START_TEST(test_inflate_truncated)
{
	static const struct {
		int wbits;
		enum lt_inflate_format fmt;
		const char *name;
	} forms[] = {{31, LT_INFLATE_GZIP, "gzip"},
		     {15, LT_INFLATE_DEFLATE, "zlib"},
		     {-15, LT_INFLATE_DEFLATE, "deflate"}};
	struct lt_buf enc = LT_BUF_INIT, out = LT_BUF_INIT;
	unsigned char *d = make_data(LOGS, 2000), *copy;
	char err[256];
	size_t f, i;

	for (f = 0; f < 3; f++) {
		lt_buf_reset(&enc);
		z_encode(d, 2000, forms[f].wbits, 9, &enc);
		for (i = 0; i < enc.len; i++) {
			/* a copy of exactly i bytes, so that valgrind and
			 * ASan see any read past the end */
			copy = malloc(i ? i : 1);
			ck_assert_ptr_nonnull(copy);
			memcpy(copy, enc.data, i);
			set_prefix(&out);
			ck_assert_msg(inflate_(i ? copy : NULL, i, forms[f].fmt,
					       &nolimits, &out,
					       err) == LT_DECODE_CORRUPT,
				      "%s cut at %zu", forms[f].name, i);
			assert_untouched(&out);
			ck_assert(err[0] != '\0');
			ck_assert(strchr(err, '\n') == NULL);
			free(copy);
		}
		set_prefix(&out);
		ck_assert_int_eq(inflate_(enc.data, enc.len, forms[f].fmt,
					  &nolimits, &out, err),
				 LT_DECODE_OK);
		assert_decoded(&out, d, 2000);
	}

	/* the cut after the header: zlib and gzip say so exactly */
	lt_buf_reset(&enc);
	z_encode(d, 2000, 31, 9, &enc);
	set_prefix(&out);
	ck_assert_int_eq(inflate_(enc.data, 10, LT_INFLATE_GZIP, &nolimits,
				  &out, err),
			 LT_DECODE_CORRUPT);
	ck_assert_str_eq(err, "gzip: data ends before the end of the "
			      "compressed stream");
	set_prefix(&out);
	ck_assert_int_eq(inflate_(enc.data, enc.len - 4, LT_INFLATE_GZIP,
				  &nolimits, &out, err),
			 LT_DECODE_CORRUPT);
	ck_assert_str_eq(err, "gzip: data ends before the end of the "
			      "compressed stream");
	assert_untouched(&out);
	ck_assert_int_eq(inflate_("", 0, LT_INFLATE_GZIP, &nolimits, &out,
				  err),
			 LT_DECODE_CORRUPT);
	ck_assert_str_eq(err, "gzip: the body is empty");
	ck_assert_int_eq(inflate_(NULL, 0, LT_INFLATE_DEFLATE, &nolimits,
				  &out, err),
			 LT_DECODE_CORRUPT);
	ck_assert_str_eq(err, "deflate: the body is empty");
	lt_buf_reset(&enc);
	z_encode(d, 2000, 15, 9, &enc);
	ck_assert_int_eq(inflate_(enc.data, 2, LT_INFLATE_DEFLATE, &nolimits,
				  &out, err),
			 LT_DECODE_CORRUPT);
	ck_assert_str_eq(err, "zlib: data ends before the end of the "
			      "compressed stream");
	assert_untouched(&out);

	free(d);
	lt_buf_free(&enc);
	lt_buf_free(&out);
}
END_TEST

START_TEST(test_inflate_corrupt)
{
	struct lt_buf enc = LT_BUF_INIT, out = LT_BUF_INIT;
	unsigned char *d = make_data(LOGS, 2000);
	unsigned char dict[] = "level=info msg=";
	char err[256], want[256];
	z_stream zs;

	/* checksums */
	z_encode(d, 2000, 31, 6, &enc);
	enc.data[enc.len - 8] ^= 0x01;
	set_prefix(&out);
	ck_assert_int_eq(inflate_(enc.data, enc.len, LT_INFLATE_GZIP,
				  &nolimits, &out, err),
			 LT_DECODE_CORRUPT);
	snprintf(want, sizeof(want), "gzip: incorrect data check at byte %zu",
		 enc.len - 4);
	ck_assert_str_eq(err, want);
	assert_untouched(&out);
	enc.data[enc.len - 8] ^= 0x01;
	enc.data[enc.len - 1] ^= 0x01;
	ck_assert_int_eq(inflate_(enc.data, enc.len, LT_INFLATE_GZIP,
				  &nolimits, &out, err),
			 LT_DECODE_CORRUPT);
	snprintf(want, sizeof(want), "gzip: incorrect length check at byte %zu",
		 enc.len);
	ck_assert_str_eq(err, want);
	assert_untouched(&out);

	lt_buf_reset(&enc);
	z_encode(d, 2000, 15, 6, &enc);
	enc.data[enc.len - 1] ^= 0x80;
	ck_assert_int_eq(inflate_(enc.data, enc.len, LT_INFLATE_DEFLATE,
				  &nolimits, &out, err),
			 LT_DECODE_CORRUPT);
	snprintf(want, sizeof(want), "zlib: incorrect data check at byte %zu",
		 enc.len);
	ck_assert_str_eq(err, want);
	assert_untouched(&out);

	/* not gzip at all */
	ck_assert_int_eq(inflate_("hello, world", 12, LT_INFLATE_GZIP,
				  &nolimits, &out, err),
			 LT_DECODE_CORRUPT);
	ck_assert_str_eq(err, "gzip: incorrect header check at byte 2");
	assert_untouched(&out);
	/* raw deflate with the reserved block type 3 */
	ck_assert_int_eq(inflate_("\x07\x00", 2, LT_INFLATE_DEFLATE,
				  &nolimits, &out, err),
			 LT_DECODE_CORRUPT);
	ck_assert_str_eq(err, "deflate: invalid block type at byte 1");
	assert_untouched(&out);

	/* a zlib stream with a preset dictionary is not taken for zlib
	 * (FDICT is set), and is no raw deflate either */
	memset(&zs, 0, sizeof(zs));
	ck_assert_int_eq(deflateInit(&zs, 6), Z_OK);
	ck_assert_int_eq(deflateSetDictionary(&zs, dict, sizeof(dict) - 1),
			 Z_OK);
	lt_buf_reset(&enc);
	ck_assert_int_eq(lt_buf_reserve(&enc, deflateBound(&zs, 2000)), 0);
	zs.next_in = d;
	zs.avail_in = 2000;
	zs.next_out = enc.data;
	zs.avail_out = (uInt)(enc.cap - 1);
	ck_assert_int_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
	enc.len = zs.total_out;
	ck_assert_int_eq(deflateEnd(&zs), Z_OK);
	ck_assert(enc.data[1] & 0x20);
	ck_assert_int_eq(inflate_(enc.data, enc.len, LT_INFLATE_DEFLATE,
				  &nolimits, &out, err),
			 LT_DECODE_CORRUPT);
	ck_assert(strncmp(err, "deflate: ", 9) == 0);
	assert_untouched(&out);

	/* no room for an error message is fine too */
	ck_assert_int_eq(lt_inflate("x", 1, LT_INFLATE_GZIP, &nolimits, &out,
				    NULL, 0),
			 LT_DECODE_CORRUPT);
	assert_untouched(&out);

	free(d);
	lt_buf_free(&enc);
	lt_buf_free(&out);
}
END_TEST

START_TEST(test_inflate_caps)
{
	struct lt_buf enc = LT_BUF_INIT, out = LT_BUF_INIT;
	struct lt_decode_limits lim = {100000, 0};
	unsigned char *d = make_data(MIXED, 100000), *z;
	char err[256], want[256];
	int wb;

	/* exactly max_size passes, one byte less refuses, in each format */
	for (wb = 0; wb < 3; wb++) {
		lt_buf_reset(&enc);
		z_encode(d, 100000, wb == 0 ? 31 : wb == 1 ? 15 : -15, 6, &enc);
		lim.max_size = 100000;
		set_prefix(&out);
		ck_assert_int_eq(inflate_(enc.data, enc.len,
					  wb ? LT_INFLATE_DEFLATE
					     : LT_INFLATE_GZIP,
					  &lim, &out, err),
				 LT_DECODE_OK);
		assert_decoded(&out, d, 100000);
		lim.max_size = 99999;
		set_prefix(&out);
		ck_assert_int_eq(inflate_(enc.data, enc.len,
					  wb ? LT_INFLATE_DEFLATE
					     : LT_INFLATE_GZIP,
					  &lim, &out, err),
				 LT_DECODE_TOO_BIG);
		ck_assert_str_eq(err, "decoded body would exceed 99999 bytes");
		assert_untouched(&out);
	}
	/* a cap of 0 allows only empty bodies */
	lim.max_size = 0;
	lt_buf_reset(&enc);
	z_encode("", 0, 31, 6, &enc);
	ck_assert_int_eq(inflate_(enc.data, enc.len, LT_INFLATE_GZIP, &lim,
				  &out, err),
			 LT_DECODE_OK);
	assert_untouched(&out);
	lt_buf_reset(&enc);
	z_encode("a", 1, 31, 6, &enc);
	ck_assert_int_eq(inflate_(enc.data, enc.len, LT_INFLATE_GZIP, &lim,
				  &out, err),
			 LT_DECODE_TOO_BIG);
	assert_untouched(&out);
	free(d);

	/* a power of two exactly at the cap, into an empty buffer */
	z = make_data(ZEROS, 4 * MIB);
	lt_buf_reset(&enc);
	z_encode(z, 4 * MIB, -15, 9, &enc);
	lim.max_size = 4 * MIB;
	lt_buf_free(&out);
	ck_assert_int_eq(inflate_(enc.data, enc.len, LT_INFLATE_DEFLATE, &lim,
				  &out, err),
			 LT_DECODE_OK);
	ck_assert_uint_eq(out.len, 4 * MIB);
	ck_assert(memcmp(out.data, z, 4 * MIB) == 0);
	lim.max_size = 4 * MIB - 1;
	lt_buf_free(&out);
	ck_assert_int_eq(inflate_(enc.data, enc.len, LT_INFLATE_DEFLATE, &lim,
				  &out, err),
			 LT_DECODE_TOO_BIG);
	ck_assert_uint_eq(out.len, 0);
	ck_assert_uint_lt(out.cap, 2 * lim.max_size);

	/* the ratio floor: 1 MiB of zeros passes whatever its ratio, one
	 * byte more does not */
	lim.max_size = SIZE_MAX;
	lim.max_ratio = 100;
	lt_buf_reset(&enc);
	z_encode(z, MIB, 31, 9, &enc);
	set_prefix(&out);
	ck_assert_int_eq(inflate_(enc.data, enc.len, LT_INFLATE_GZIP, &lim,
				  &out, err),
			 LT_DECODE_OK);
	assert_decoded(&out, z, MIB);
	lt_buf_reset(&enc);
	z_encode(z, MIB + 1, 31, 9, &enc);
	set_prefix(&out);
	ck_assert_int_eq(inflate_(enc.data, enc.len, LT_INFLATE_GZIP, &lim,
				  &out, err),
			 LT_DECODE_TOO_BIG);
	snprintf(want, sizeof(want),
		 "decoded body would exceed 1048576 bytes, more than 100 times "
		 "its %zu encoded bytes", enc.len);
	ck_assert_str_eq(err, want);
	assert_untouched(&out);
	/* with a ratio of 0 only max_size counts */
	lim.max_ratio = 0;
	set_prefix(&out);
	ck_assert_int_eq(inflate_(enc.data, enc.len, LT_INFLATE_GZIP, &lim,
				  &out, err),
			 LT_DECODE_OK);
	assert_decoded(&out, z, MIB + 1);
	free(z);

	lt_buf_free(&enc);
	lt_buf_free(&out);
}
END_TEST

/* 1 GiB of zeros in about 1 MiB of gzip, made once for the bomb tests
 * (in the parent, before they fork). */
static struct lt_buf bomb = LT_BUF_INIT;
#define BOMB_SIZE ((size_t)1 << 30)

static void
bomb_setup(void)
{
	static unsigned char zeros[1 << 20];
	unsigned char chunk[65536];
	z_stream zs;
	size_t i;
	int ret = Z_OK, flush;

	if (bomb.len > 0)
		return;
	memset(&zs, 0, sizeof(zs));
	/* Z_RLE finds the same 258-byte matches much faster */
	if (deflateInit2(&zs, 9, Z_DEFLATED, 31, 9, Z_RLE) != Z_OK)
		abort();
	for (i = 0; i < BOMB_SIZE / sizeof(zeros); i++) {
		zs.next_in = zeros;
		zs.avail_in = sizeof(zeros);
		flush = i + 1 == BOMB_SIZE / sizeof(zeros) ? Z_FINISH
							   : Z_NO_FLUSH;
		do {
			zs.next_out = chunk;
			zs.avail_out = sizeof(chunk);
			ret = deflate(&zs, flush);
			if (ret != Z_OK && ret != Z_STREAM_END)
				abort();
			if (lt_buf_append(&bomb, chunk,
					  sizeof(chunk) - zs.avail_out) < 0)
				abort();
		} while (zs.avail_out == 0);
	}
	if (ret != Z_STREAM_END || zs.total_in != BOMB_SIZE)
		abort();
	(void)deflateEnd(&zs);
}

static void
bomb_teardown(void)
{
	lt_buf_free(&bomb);
}

START_TEST(test_bomb_size)
{
	struct lt_decode_limits lim = {64 * MIB, 0};
	struct lt_buf out = LT_BUF_INIT;
	char err[256];

	ck_assert_uint_lt(bomb.len, 2 * MIB);
	ck_assert_int_eq(inflate_(bomb.data, bomb.len, LT_INFLATE_GZIP, &lim,
				  &out, err),
			 LT_DECODE_TOO_BIG);
	ck_assert_str_eq(err, "decoded body would exceed 67108864 bytes");
	ck_assert_uint_eq(out.len, 0);
	ck_assert_uint_lt(out.cap, 2 * lim.max_size);

	/* the same with a ratio cap that allows more than max_size */
	lim.max_ratio = 1000;
	set_prefix(&out);
	ck_assert_int_eq(inflate_(bomb.data, bomb.len, LT_INFLATE_GZIP, &lim,
				  &out, err),
			 LT_DECODE_TOO_BIG);
	ck_assert_str_eq(err, "decoded body would exceed 67108864 bytes");
	assert_untouched(&out);
	ck_assert_uint_lt(out.cap, 2 * lim.max_size);
	lt_buf_free(&out);
}
END_TEST

START_TEST(test_bomb_ratio)
{
	struct lt_decode_limits lim = {SIZE_MAX, 100};
	struct lt_buf out = LT_BUF_INIT;
	char err[256], want[256];

	ck_assert_int_eq(inflate_(bomb.data, bomb.len, LT_INFLATE_GZIP, &lim,
				  &out, err),
			 LT_DECODE_TOO_BIG);
	snprintf(want, sizeof(want),
		 "decoded body would exceed %zu bytes, more than 100 times its "
		 "%zu encoded bytes", 100 * bomb.len, bomb.len);
	ck_assert_str_eq(err, want);
	ck_assert_uint_eq(out.len, 0);
	ck_assert_uint_lt(out.cap, 2 * 100 * bomb.len);
	lt_buf_free(&out);
}
END_TEST

static Suite *
decode_suite(void)
{
	Suite *s = suite_create("decode");
	TCase *tc;

	tc = tcase_create("snappy");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_snappy_roundtrip);
	tcase_add_test(tc, test_snappy_literals);
	tcase_add_test(tc, test_snappy_copies);
	tcase_add_test(tc, test_snappy_corrupt);
	tcase_add_test(tc, test_snappy_caps);
	suite_add_tcase(s, tc);

	tc = tcase_create("inflate");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_inflate_roundtrip);
	tcase_add_test(tc, test_inflate_headers);
	tcase_add_test(tc, test_inflate_members);
	tcase_add_test(tc, test_inflate_trailing);
	tcase_add_test(tc, test_inflate_truncated);
	tcase_add_test(tc, test_inflate_corrupt);
	tcase_add_test(tc, test_inflate_caps);
	suite_add_tcase(s, tc);

	tc = tcase_create("bomb");
	tcase_set_timeout(tc, 600);
	tcase_add_unchecked_fixture(tc, bomb_setup, bomb_teardown);
	tcase_add_test(tc, test_bomb_size);
	tcase_add_test(tc, test_bomb_ratio);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(decode_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
