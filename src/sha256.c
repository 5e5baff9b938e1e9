/* SHA-256 as FIPS 180-4 (August 2015) describes it, section by section:
 * the constants of 4.2.2, the initial hash value of 5.3.3, the padding
 * of 5.1.1 and the computation of 6.2.2. */
#include "config.h"

#include <string.h>

#include "sha256.h"

/* 4.2.2: the first 32 bits of the fractional parts of the cube roots of
 * the first 64 primes. */
static const uint32_t K[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
	0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
	0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
	0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
	0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
	0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
	0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
	0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define CH(x, y, z) (((x) & (y)) ^ (~(x) & (z)))
#define MAJ(x, y, z) (((x) & (y)) ^ ((x) & (z)) ^ ((y) & (z)))
#define BSIG0(x) (ROTR(x, 2) ^ ROTR(x, 13) ^ ROTR(x, 22))
#define BSIG1(x) (ROTR(x, 6) ^ ROTR(x, 11) ^ ROTR(x, 25))
#define SSIG0(x) (ROTR(x, 7) ^ ROTR(x, 18) ^ ((x) >> 3))
#define SSIG1(x) (ROTR(x, 17) ^ ROTR(x, 19) ^ ((x) >> 10))

static uint32_t
load_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void
store_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* 6.2.2: one 64-byte block into the hash value. */
static void
compress(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, hh, t1, t2;
	int t;

	for (t = 0; t < 16; t++)
		w[t] = load_be32(p + 4 * t);
	for (t = 16; t < 64; t++)
		w[t] = SSIG1(w[t - 2]) + w[t - 7] + SSIG0(w[t - 15]) + w[t - 16];
	a = h[0];
	b = h[1];
	c = h[2];
	d = h[3];
	e = h[4];
	f = h[5];
	g = h[6];
	hh = h[7];
	for (t = 0; t < 64; t++) {
		t1 = hh + BSIG1(e) + CH(e, f, g) + K[t] + w[t];
		t2 = BSIG0(a) + MAJ(a, b, c);
		hh = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
	h[5] += f;
	h[6] += g;
	h[7] += hh;
}

void
lt_sha256_blocks_portable(uint32_t h[8], const unsigned char *p, size_t n)
{
	for (; n > 0; n--, p += LT_SHA256_BLOCK)
		compress(h, p);
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>

/* The SHA extensions (SHA-NI) of x86: about ten times the portable C's
 * speed, which matters for the digest of every push (dedup.c).  The
 * state is held as ABEF and CDGH, the layout sha256rnds2 works on; each
 * step does four rounds, two per sha256rnds2, and computes the next
 * four words of the schedule (6.2.2 step 1) with sha256msg1/msg2. */
__attribute__((target("sha,sse4.1"))) static void
blocks_shani(uint32_t h[8], const unsigned char *p, size_t n)
{
	const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL,
					    0x0405060700010203LL);
	__m128i abef, cdgh, abef_in, cdgh_in, t, msg, w[4];
	int i;

	t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]), 0xb1);
	cdgh = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]), 0x1b);
	abef = _mm_alignr_epi8(t, cdgh, 8);
	cdgh = _mm_blend_epi16(cdgh, t, 0xf0);
	for (; n > 0; n--, p += LT_SHA256_BLOCK) {
		abef_in = abef;
		cdgh_in = cdgh;
		/* Unrolled, w[] stays in registers: about a third faster. */
#pragma GCC unroll 16
		for (i = 0; i < 16; i++) {
			if (i < 4) {
				w[i] = _mm_shuffle_epi8(
				    _mm_loadu_si128((const __m128i *)(p + 16 * i)), swap);
			} else {
				t = _mm_sha256msg1_epu32(w[i & 3], w[(i + 1) & 3]);
				t = _mm_add_epi32(t, _mm_alignr_epi8(w[(i + 3) & 3],
								  w[(i + 2) & 3], 4));
				w[i & 3] = _mm_sha256msg2_epu32(t, w[(i + 3) & 3]);
			}
			msg = _mm_add_epi32(w[i & 3],
					    _mm_loadu_si128((const __m128i *)&K[4 * i]));
			cdgh = _mm_sha256rnds2_epu32(cdgh, abef, msg);
			abef = _mm_sha256rnds2_epu32(abef, cdgh,
						     _mm_shuffle_epi32(msg, 0x0e));
		}
		abef = _mm_add_epi32(abef, abef_in);
		cdgh = _mm_add_epi32(cdgh, cdgh_in);
	}
	t = _mm_shuffle_epi32(abef, 0x1b);
	cdgh = _mm_shuffle_epi32(cdgh, 0xb1);
	_mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(t, cdgh, 0xf0));
	_mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(cdgh, t, 8));
}

int
lt_sha256_hardware(void)
{
	static int have = -1;
	unsigned a, b, c, d;

	/* cpuid rather than __builtin_cpu_supports, which not every
	 * clang knows "sha" for: leaf 7 EBX bit 29 is SHA, leaf 1 ECX bit
	 * 19 SSE4.1. */
	if (have < 0) {
		have = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b >> 29 & 1) &&
		       __get_cpuid(1, &a, &b, &c, &d) && (c >> 19 & 1);
	}
	return have;
}

void
lt_sha256_blocks(uint32_t h[8], const unsigned char *p, size_t n)
{
	if (lt_sha256_hardware())
		blocks_shani(h, p, n);
	else
		lt_sha256_blocks_portable(h, p, n);
}
#else
int
lt_sha256_hardware(void)
{
	return 0;
}

void
lt_sha256_blocks(uint32_t h[8], const unsigned char *p, size_t n)
{
	lt_sha256_blocks_portable(h, p, n);
}
#endif

void
lt_sha256_init(struct lt_sha256 *c)
{
	/* 5.3.3: the fractional parts of the square roots of the first 8
	 * primes. */
	static const uint32_t h0[8] = {
		0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
		0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
	};

	memcpy(c->h, h0, sizeof(h0));
	c->bytes = 0;
	c->fill = 0;
}

void
lt_sha256_update(struct lt_sha256 *c, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t n;

	c->bytes += len;
	if (c->fill > 0) {
		n = LT_SHA256_BLOCK - c->fill;
		if (n > len)
			n = len;
		memcpy(c->block + c->fill, p, n);
		c->fill += n;
		p += n;
		len -= n;
		if (c->fill < LT_SHA256_BLOCK)
			return;
		lt_sha256_blocks(c->h, c->block, 1);
		c->fill = 0;
	}
	n = len / LT_SHA256_BLOCK;
	if (n > 0) {
		lt_sha256_blocks(c->h, p, n);
		p += n * LT_SHA256_BLOCK;
		len -= n * LT_SHA256_BLOCK;
	}
	if (len > 0) {
		memcpy(c->block, p, len);
		c->fill = len;
	}
}

void
lt_sha256_final(struct lt_sha256 *c, unsigned char digest[LT_SHA256_LEN])
{
	uint64_t bits = c->bytes * 8;
	int i;

	/* 5.1.1: a 1 bit, zeros up to 56 bytes into a block, the length in
	 * bits as a 64-bit big-endian number. */
	c->block[c->fill++] = 0x80;
	if (c->fill > LT_SHA256_BLOCK - 8) {
		memset(c->block + c->fill, 0, LT_SHA256_BLOCK - c->fill);
		lt_sha256_blocks(c->h, c->block, 1);
		c->fill = 0;
	}
	memset(c->block + c->fill, 0, LT_SHA256_BLOCK - 8 - c->fill);
	store_be32(c->block + 56, (uint32_t)(bits >> 32));
	store_be32(c->block + 60, (uint32_t)bits);
	lt_sha256_blocks(c->h, c->block, 1);
	for (i = 0; i < 8; i++)
		store_be32(digest + 4 * i, c->h[i]);
	explicit_bzero(c, sizeof(*c));
}

void
lt_sha256(const void *data, size_t len, unsigned char digest[LT_SHA256_LEN])
{
	struct lt_sha256 c;

	lt_sha256_init(&c);
	lt_sha256_update(&c, data, len);
	lt_sha256_final(&c, digest);
}
