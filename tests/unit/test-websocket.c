/* Unit tests: SHA-1 and base64 against their RFCs' vectors, the
 * WebSocket handshake's key of RFC 6455, and frames written and read
 * as the bytes RFC 6455 5.7 shows. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "websocket.h"

static void
hex(const unsigned char *d, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		(void)snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void
check_sha1(const void *data, size_t len, const char *want)
{
	unsigned char d[LT_SHA1_LEN];
	char got[2 * LT_SHA1_LEN + 1];

	lt_sha1(data, len, d);
	hex(d, sizeof(d), got);
	ck_assert_str_eq(got, want);
}

/* RFC 3174 section 7.3 and FIPS 180 examples. */
START_TEST(test_sha1_vectors)
{
	static const char two_blocks[] =
		"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	char *million;
	size_t i;

	check_sha1("", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	check_sha1("abc", 3, "a9993e364706816aba3e25717850c26c9cd0d89d");
	check_sha1(two_blocks, sizeof(two_blocks) - 1,
		   "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
	million = malloc(1000000);
	ck_assert_ptr_nonnull(million);
	memset(million, 'a', 1000000);
	check_sha1(million, 1000000, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
	free(million);
	/* TEST4 of RFC 3174: 10 times 64 bytes. */
	million = malloc(640);
	ck_assert_ptr_nonnull(million);
	for (i = 0; i < 10; i++)
		memcpy(million + 64 * i,
		       "0123456701234567012345670123456701234567012345670123456701234567",
		       64);
	check_sha1(million, 640, "dea356a2cddd90c7a7ecedc5ebb563934f460452");
	free(million);
}
END_TEST

/* RFC 4648 section 10. */
START_TEST(test_base64_vectors)
{
	static const char *const want[] = {
		"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy",
	};
	char out[16];
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		ck_assert_uint_eq(lt_base64("foobar", i, out, sizeof(out)),
				  strlen(want[i]));
		ck_assert_str_eq(out, want[i]);
	}
	/* "Zm9v" needs 5 bytes with its NUL. */
	ck_assert_uint_eq(lt_base64("foo", 3, out, 4), 0);
	ck_assert_str_eq(out, "");
	ck_assert_uint_eq(lt_base64("foo", 3, out, 5), 4);
}
END_TEST

/* RFC 6455 1.3's example. */
START_TEST(test_accept_key)
{
	char acc[LT_WS_ACCEPT_LEN + 1];

	lt_ws_accept("dGhlIHNhbXBsZSBub25jZQ==", acc);
	ck_assert_str_eq(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	ck_assert_int_eq(lt_ws_key_valid("dGhlIHNhbXBsZSBub25jZQ=="), 1);
	ck_assert_int_eq(lt_ws_key_valid(""), 0);
	ck_assert_int_eq(lt_ws_key_valid("dGhlIHNhbXBsZSBub25jZQ="), 0);
	ck_assert_int_eq(lt_ws_key_valid("dGhlIHNhbXBsZSBub25jZQ=x"), 0);
	ck_assert_int_eq(lt_ws_key_valid("dGhlIHNh*XBsZSBub25jZQ=="), 0);
	/* 'R' leaves bits set past the 16th byte. */
	ck_assert_int_eq(lt_ws_key_valid("dGhlIHNhbXBsZSBub25jZR=="), 0);
	/* 20 bytes' worth is no key either. */
	ck_assert_int_eq(lt_ws_key_valid("dGhlIHNhbXBsZSBub25jZQABCDE="), 0);
}
END_TEST

/* RFC 6455 5.7: unmasked frames as a server sends them. */
START_TEST(test_write_frames)
{
	static const unsigned char hello[] = {0x81, 0x05, 'H', 'e', 'l', 'l', 'o'};
	static const unsigned char ping[] = {0x89, 0x05, 'H', 'e', 'l', 'l', 'o'};
	struct lt_buf b = LT_BUF_INIT;
	unsigned char big[65536];

	ck_assert_int_eq(lt_ws_frame(&b, LT_WS_TEXT, "Hello", 5), 0);
	ck_assert_uint_eq(b.len, sizeof(hello));
	ck_assert_mem_eq(b.data, hello, sizeof(hello));
	lt_buf_reset(&b);
	ck_assert_int_eq(lt_ws_frame(&b, LT_WS_PING, "Hello", 5), 0);
	ck_assert_mem_eq(b.data, ping, sizeof(ping));
	lt_buf_reset(&b);
	memset(big, 'x', sizeof(big));
	/* 256 bytes: 0x7E and a 16-bit length. */
	ck_assert_int_eq(lt_ws_frame(&b, LT_WS_BINARY, big, 256), 0);
	ck_assert_uint_eq(b.len, 4 + 256);
	ck_assert_mem_eq(b.data, "\x82\x7e\x01\x00", 4);
	lt_buf_reset(&b);
	/* 64 KiB: 0x7F and a 64-bit length. */
	ck_assert_int_eq(lt_ws_frame(&b, LT_WS_BINARY, big, 65536), 0);
	ck_assert_uint_eq(b.len, 10 + 65536);
	ck_assert_mem_eq(b.data, "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);
	lt_buf_reset(&b);
	/* 125 and 126 bytes sit on either side of the first boundary. */
	ck_assert_int_eq(lt_ws_frame(&b, LT_WS_TEXT, big, 125), 0);
	ck_assert_mem_eq(b.data, "\x81\x7d", 2);
	ck_assert_uint_eq(b.len, 127);
	lt_buf_reset(&b);
	ck_assert_int_eq(lt_ws_frame(&b, LT_WS_TEXT, big, 126), 0);
	ck_assert_mem_eq(b.data, "\x81\x7e\x00\x7e", 4);
	lt_buf_reset(&b);
	/* A control frame holds 125 bytes at most. */
	ck_assert_int_eq(lt_ws_frame(&b, LT_WS_PONG, big, 126), -1);
	ck_assert_uint_eq(b.len, 0);
	lt_buf_free(&b);
}
END_TEST

START_TEST(test_close_frames)
{
	struct lt_buf b = LT_BUF_INIT;
	char reason[200];

	/* 1011 is 0x03F3; the reason's 31 bytes follow the code. */
	ck_assert_int_eq(lt_ws_close_frame(&b, 1011,
					   "reached tail max duration limit"), 0);
	ck_assert_uint_eq(b.len, 2 + 2 + 31);
	ck_assert_mem_eq(b.data, "\x88\x21\x03\xf3reached tail", 16);
	lt_buf_reset(&b);
	ck_assert_int_eq(lt_ws_close_frame(&b, 0, NULL), 0);
	ck_assert_uint_eq(b.len, 2);
	ck_assert_mem_eq(b.data, "\x88\x00", 2);
	lt_buf_reset(&b);
	/* A long reason is cut to 123 bytes... */
	memset(reason, 'x', sizeof(reason) - 1);
	reason[sizeof(reason) - 1] = '\0';
	ck_assert_int_eq(lt_ws_close_frame(&b, 1000, reason), 0);
	ck_assert_uint_eq(b.len, 2 + 125);
	ck_assert_uint_eq(b.data[1], 125);
	lt_buf_reset(&b);
	/* ...but not inside a character: 122 ASCII bytes and an "é"
	 * (C3 A9) would end on C3; the é goes whole. */
	memset(reason, 'a', 122);
	memcpy(reason + 122, "\xc3\xa9", 3);
	ck_assert_int_eq(lt_ws_close_frame(&b, 1000, reason), 0);
	ck_assert_uint_eq(b.data[1], 2 + 122);
	lt_buf_free(&b);
}
END_TEST

/* RFC 6455 5.7: "Hello" masked with 37 fa 21 3d. */
START_TEST(test_read_masked)
{
	unsigned char text[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
				0x7f, 0x9f, 0x4d, 0x51, 0x58};
	unsigned char pong[] = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d,
				0x7f, 0x9f, 0x4d, 0x51, 0x58};
	struct lt_ws_frame f;
	size_t used = 0, n;
	unsigned code = 0;

	ck_assert_int_eq(lt_ws_parse(text, sizeof(text), 1024, &f, &used,
				     &code), 1);
	ck_assert_uint_eq(used, sizeof(text));
	ck_assert_int_eq(f.fin, 1);
	ck_assert_int_eq(f.opcode, LT_WS_TEXT);
	ck_assert_uint_eq(f.len, 5);
	ck_assert_mem_eq(f.payload, "Hello", 5);
	ck_assert_int_eq(lt_ws_parse(pong, sizeof(pong), 1024, &f, &used,
				     &code), 1);
	ck_assert_int_eq(f.opcode, LT_WS_PONG);
	ck_assert_mem_eq(f.payload, "Hello", 5);
	/* Every shorter prefix is a frame not complete yet. */
	memcpy(text, "\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11);
	for (n = 0; n < sizeof(text); n++)
		ck_assert_int_eq(lt_ws_parse(text, n, 1024, &f, &used, &code), 0);
}
END_TEST

START_TEST(test_read_two_and_close)
{
	/* A close with 1000 "bye" and a ping after it, mask 00 00 00 00
	 * so the payload reads as it is. */
	unsigned char d[] = {0x88, 0x85, 0, 0, 0, 0, 0x03, 0xe8, 'b', 'y', 'e',
			     0x89, 0x80, 1, 2, 3, 4};
	struct lt_ws_frame f;
	size_t used = 0;
	unsigned code = 0;

	ck_assert_int_eq(lt_ws_parse(d, sizeof(d), 1024, &f, &used, &code), 1);
	ck_assert_uint_eq(used, 11);
	ck_assert_int_eq(f.opcode, LT_WS_CLOSE);
	ck_assert_int_eq(lt_ws_close_code(f.payload, f.len), 1000);
	ck_assert_mem_eq(f.payload + 2, "bye", 3);
	ck_assert_int_eq(lt_ws_parse(d + used, sizeof(d) - used, 1024, &f,
				     &used, &code), 1);
	ck_assert_int_eq(f.opcode, LT_WS_PING);
	ck_assert_uint_eq(f.len, 0);
	ck_assert_uint_eq(used, 6);
}
END_TEST

static int
parse_code(const unsigned char *bytes, size_t len, size_t max, unsigned *code)
{
	unsigned char d[64];
	struct lt_ws_frame f;
	size_t used;

	memcpy(d, bytes, len);
	*code = 0;
	return lt_ws_parse(d, len, max, &f, &used, code);
}

START_TEST(test_read_refused)
{
	unsigned code;

	/* Unmasked: a client must mask (RFC 6455 5.1). */
	ck_assert_int_eq(parse_code((const unsigned char *)"\x81\x05Hello", 7,
				    1024, &code), -1);
	ck_assert_uint_eq(code, 1002);
	/* A reserved bit. */
	ck_assert_int_eq(parse_code((const unsigned char *)"\xc1\x80\0\0\0\0",
				    6, 1024, &code), -1);
	ck_assert_uint_eq(code, 1002);
	/* Reserved opcodes 3 and 0xB. */
	ck_assert_int_eq(parse_code((const unsigned char *)"\x83\x80\0\0\0\0",
				    6, 1024, &code), -1);
	ck_assert_int_eq(parse_code((const unsigned char *)"\x8b\x80\0\0\0\0",
				    6, 1024, &code), -1);
	/* A fragmented ping. */
	ck_assert_int_eq(parse_code((const unsigned char *)"\x09\x80\0\0\0\0",
				    6, 1024, &code), -1);
	ck_assert_uint_eq(code, 1002);
	/* A ping with a 16-bit length. */
	ck_assert_int_eq(parse_code((const unsigned char *)"\x89\xfe\x00\x7e",
				    4, 1024, &code), -1);
	/* Length 5 written in 16 bits: not the shortest form. */
	ck_assert_int_eq(parse_code((const unsigned char *)"\x81\xfe\x00\x05",
				    4, 1024, &code), -1);
	ck_assert_uint_eq(code, 1002);
	/* Over the cap: refused from the header alone, 1009. */
	ck_assert_int_eq(parse_code((const unsigned char *)"\x81\x8b", 2, 10,
				    &code), -1);
	ck_assert_uint_eq(code, 1009);
	ck_assert_int_eq(parse_code((const unsigned char *)
				    "\x82\xff\x00\x00\x00\x01\x00\x00\x00\x00",
				    10, 1 << 20, &code), -1);
	ck_assert_uint_eq(code, 1009);
	/* The top bit of a 64-bit length must be 0. */
	ck_assert_int_eq(parse_code((const unsigned char *)
				    "\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00",
				    10, (size_t)-1, &code), -1);
	ck_assert_uint_eq(code, 1002);
	/* At the cap is fine: 10 bytes, allowed 10, still incomplete. */
	ck_assert_int_eq(parse_code((const unsigned char *)"\x81\x8a", 2, 10,
				    &code), 0);
}
END_TEST

START_TEST(test_close_codes)
{
	ck_assert_int_eq(lt_ws_close_code(NULL, 0), 1005);
	ck_assert_int_eq(lt_ws_close_code((const unsigned char *)"\x03", 1), -1);
	ck_assert_int_eq(lt_ws_close_code((const unsigned char *)"\x03\xe8", 2), 1000);
	ck_assert_int_eq(lt_ws_close_code((const unsigned char *)"\x03\xe9", 2), 1001);
	/* 1005 and 1006 never travel in a frame. */
	ck_assert_int_eq(lt_ws_close_code((const unsigned char *)"\x03\xed", 2), -1);
	ck_assert_int_eq(lt_ws_close_code((const unsigned char *)"\x03\xee", 2), -1);
	ck_assert_int_eq(lt_ws_close_code((const unsigned char *)"\x03\xe7", 2), -1);
	ck_assert_int_eq(lt_ws_close_code((const unsigned char *)"\x0b\xb8", 2), 3000);
	ck_assert_int_eq(lt_ws_close_code((const unsigned char *)"\x13\x88", 2), -1);
}
END_TEST

static Suite *
websocket_suite(void)
{
	Suite *s = suite_create("websocket");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_sha1_vectors);
	tcase_add_test(tc, test_base64_vectors);
	tcase_add_test(tc, test_accept_key);
	tcase_add_test(tc, test_write_frames);
	tcase_add_test(tc, test_close_frames);
	tcase_add_test(tc, test_read_masked);
	tcase_add_test(tc, test_read_two_and_close);
	tcase_add_test(tc, test_read_refused);
	tcase_add_test(tc, test_close_codes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(websocket_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
