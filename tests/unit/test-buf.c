/* Unit tests: byte buffers, varints and CRC-32C. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crc32c.h"

START_TEST(test_append_and_printf)
{
	struct lt_buf b = LT_BUF_INIT;

	ck_assert_int_eq(lt_buf_append(&b, "ab", 2), 0);
	ck_assert_int_eq(lt_buf_printf(&b, "-%d-%s", 42, "x"), 0);
	ck_assert_uint_eq(b.len, 7);
	ck_assert_mem_eq(b.data, "ab-42-x", 7);
	ck_assert_int_eq(b.data[7], '\0'); /* printf leaves it terminated */
	lt_buf_reset(&b);
	ck_assert_uint_eq(b.len, 0);
	lt_buf_free(&b);
	ck_assert_ptr_null(b.data);
}
END_TEST

START_TEST(test_growth)
{
	struct lt_buf b = LT_BUF_INIT;
	size_t i;

	for (i = 0; i < 100000; i++)
		ck_assert_int_eq(lt_buf_append_byte(&b, (unsigned char)i), 0);
	ck_assert_uint_eq(b.len, 100000);
	ck_assert_uint_eq(b.data[99999], (unsigned char)99999);
	ck_assert_int_eq(lt_buf_reserve(&b, SIZE_MAX), -1);
	ck_assert_uint_eq(b.len, 100000);
	lt_buf_free(&b);
}
END_TEST

START_TEST(test_little_endian)
{
	struct lt_buf b = LT_BUF_INIT;
	static const unsigned char want[] = {0x04, 0x03, 0x02, 0x01, 0x08, 0x07,
					     0x06, 0x05, 0x04, 0x03, 0x02, 0x01};

	ck_assert_int_eq(lt_buf_append_u32le(&b, 0x01020304u), 0);
	ck_assert_int_eq(lt_buf_append_u64le(&b, UINT64_C(0x0102030405060708)), 0);
	ck_assert_mem_eq(b.data, want, sizeof(want));
	ck_assert_uint_eq(lt_load_u32le(b.data), 0x01020304u);
	ck_assert(lt_load_u64le(b.data + 4) == UINT64_C(0x0102030405060708));
	lt_buf_free(&b);
}
END_TEST

/* LEB128 as ClickHouse's RowBinary writes it. */
START_TEST(test_varint_roundtrip)
{
	static const uint64_t values[] = {0, 1, 127, 128, 300, 16383, 16384,
					  UINT32_MAX, UINT64_MAX};
	struct lt_buf b = LT_BUF_INIT;
	const unsigned char *p;
	uint64_t v;
	size_t i;

	ck_assert_int_eq(lt_buf_append_varint(&b, 300), 0);
	ck_assert_uint_eq(b.len, 2);
	ck_assert_uint_eq(b.data[0], 0xac);
	ck_assert_uint_eq(b.data[1], 0x02);
	lt_buf_reset(&b);
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		ck_assert_int_eq(lt_buf_append_varint(&b, values[i]), 0);
	ck_assert_uint_eq(b.data[b.len - 1], 0x01); /* 10th byte of 2^64-1 */
	p = b.data;
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		ck_assert_int_eq(lt_varint_decode(&p, b.data + b.len, &v), 0);
		ck_assert(v == values[i]);
	}
	ck_assert_ptr_eq(p, b.data + b.len);
	lt_buf_free(&b);
}
END_TEST

START_TEST(test_varint_rejects)
{
	static const unsigned char truncated[] = {0x80, 0x80};
	static const unsigned char overlong[] = {0xff, 0xff, 0xff, 0xff, 0xff,
						 0xff, 0xff, 0xff, 0xff, 0x7f};
	const unsigned char *p = truncated;
	uint64_t v;

	ck_assert_int_eq(lt_varint_decode(&p, truncated + 2, &v), -1);
	ck_assert_ptr_eq(p, truncated);
	p = overlong;
	ck_assert_int_eq(lt_varint_decode(&p, overlong + 10, &v), -1);
}
END_TEST

START_TEST(test_string)
{
	struct lt_buf b = LT_BUF_INIT;

	ck_assert_int_eq(lt_buf_append_string(&b, "acme", 4), 0);
	ck_assert_uint_eq(b.len, 5);
	ck_assert_mem_eq(b.data, "\x04" "acme", 5);
	lt_buf_free(&b);
}
END_TEST

/* Check values from RFC 3720 (iSCSI), appendix B.4. */
START_TEST(test_crc32c)
{
	unsigned char zeros[32] = {0}, ones[32], inc[32];
	const char *s = "123456789";
	uint32_t split;
	size_t i;

	memset(ones, 0xff, sizeof(ones));
	for (i = 0; i < sizeof(inc); i++)
		inc[i] = (unsigned char)i;
	ck_assert_uint_eq(lt_crc32c(0, s, 9), 0xe3069283u);
	ck_assert_uint_eq(lt_crc32c(0, zeros, 32), 0x8a9136aau);
	ck_assert_uint_eq(lt_crc32c(0, ones, 32), 0x62a8ab43u);
	ck_assert_uint_eq(lt_crc32c(0, inc, 32), 0x46dd794eu);
	split = lt_crc32c(lt_crc32c(0, s, 4), s + 4, 5);
	ck_assert_uint_eq(split, 0xe3069283u);
	ck_assert_uint_eq(lt_crc32c(0, s, 0), 0);
	ck_assert_uint_eq(lt_crc32c_portable(0, s, 9), 0xe3069283u);
	ck_assert_uint_eq(lt_crc32c_portable(0, inc, 32), 0x46dd794eu);
}
END_TEST

/* Whichever way lt_crc32c() computes (the CPU's instruction where there
 * is one), it agrees with the portable tables at every length and
 * alignment, and when fed in pieces. */
START_TEST(test_crc32c_paths_agree)
{
	static unsigned char data[4096 + 16];
	uint32_t x = 2463534242u, a, b;
	size_t i, off, len;

	for (i = 0; i < sizeof(data); i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		data[i] = (unsigned char)x;
	}
	for (off = 0; off < 8; off++)
		for (len = 0; len < 300; len++) {
			a = lt_crc32c(0, data + off, len);
			b = lt_crc32c_portable(0, data + off, len);
			ck_assert_msg(a == b, "offset %zu length %zu: %08x != %08x",
				      off, len, a, b);
		}
	a = lt_crc32c(lt_crc32c(0x12345678u, data, 1001), data + 1001, 3000);
	b = lt_crc32c_portable(0x12345678u, data, 4001);
	ck_assert_uint_eq(a, b);
	(void)printf("crc32c: %s\n", lt_crc32c_hardware()
		     ? "the CPU's CRC32 instruction" : "portable tables only");
}
END_TEST

static Suite *
buf_suite(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_append_and_printf);
	tcase_add_test(tc, test_growth);
	tcase_add_test(tc, test_little_endian);
	tcase_add_test(tc, test_varint_roundtrip);
	tcase_add_test(tc, test_varint_rejects);
	tcase_add_test(tc, test_string);
	tcase_add_test(tc, test_crc32c);
	tcase_add_test(tc, test_crc32c_paths_agree);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(buf_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
