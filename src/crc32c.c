/* CRC-32C: slicing-by-8 in portable C, or SSE4.2's instruction when the
 * CPU has it (crc32c.h). */
#include "config.h"

#include <string.h>

#include "crc32c.h"

/* Two ways to the same checksum.  The portable one is slicing-by-8 over
 * tables built on first use, about 1.5 GB/s on one core.  On x86-64 with
 * SSE4.2 the CRC32 instruction computes exactly this polynomial at
 * several times that: a 1 MB push is checksummed record by record, and
 * there the table version showed in profiles at 10% of the receiver. */

#define POLY 0x82f63b78u /* Castagnoli, reflected */

static uint32_t table[8][256];
static int table_ready;

static void
build_table(void)
{
	uint32_t i, j, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (j = 0; j < 8; j++)
			c = (c >> 1) ^ (POLY & (0u - (c & 1)));
		table[0][i] = c;
	}
	for (i = 0; i < 256; i++) {
		c = table[0][i];
		for (j = 1; j < 8; j++) {
			c = table[0][c & 0xff] ^ (c >> 8);
			table[j][i] = c;
		}
	}
	table_ready = 1;
}

uint32_t
lt_crc32c_portable(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;
	uint32_t c = ~crc, lo, hi;

	if (!table_ready)
		build_table();
	while (len >= 8) {
		lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
			  (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
		hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 |
		     (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
		c = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^
		    table[5][(lo >> 16) & 0xff] ^ table[4][lo >> 24] ^
		    table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
		    table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len--)
		c = table[0][(c ^ *p++) & 0xff] ^ (c >> 8);
	return ~c;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>

#define HAVE_CRC32C_HW 1

__attribute__((target("sse4.2"))) static uint32_t
crc32c_sse42(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t c = ~crc, v;
	uint32_t c32;

	while (len >= 8) {
		memcpy(&v, p, 8); /* unaligned, little-endian */
		c = _mm_crc32_u64(c, v);
		p += 8;
		len -= 8;
	}
	c32 = (uint32_t)c;
	while (len--)
		c32 = _mm_crc32_u8(c32, *p++);
	return ~c32;
}

int
lt_crc32c_hardware(void)
{
	static int have = -1;

	if (have < 0) {
		__builtin_cpu_init();
		have = __builtin_cpu_supports("sse4.2") != 0;
	}
	return have;
}

uint32_t
lt_crc32c(uint32_t crc, const void *data, size_t len)
{
	if (lt_crc32c_hardware())
		return crc32c_sse42(crc, data, len);
	return lt_crc32c_portable(crc, data, len);
}
#else
int
lt_crc32c_hardware(void)
{
	return 0;
}

uint32_t
lt_crc32c(uint32_t crc, const void *data, size_t len)
{
	return lt_crc32c_portable(crc, data, len);
}
#endif
