/* SHA-256 (FIPS 180-4), for the digests of access tokens in the
 * credentials file (see auth.h) and of pushes (dedup.h).  A streaming interface for data that
 * comes in pieces and a one-shot helper. */
#ifndef LOGTHRA_SHA256_H
#define LOGTHRA_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define LT_SHA256_LEN 32   /* bytes of a digest */
#define LT_SHA256_BLOCK 64 /* bytes of a message block */

struct lt_sha256 {
	uint32_t h[8];                       /* the intermediate hash value */
	uint64_t bytes;                      /* message bytes so far */
	unsigned char block[LT_SHA256_BLOCK]; /* a partial block */
	size_t fill;                         /* bytes in block */
};

void lt_sha256_init(struct lt_sha256 *c);
void lt_sha256_update(struct lt_sha256 *c, const void *data, size_t len);
/* Writes the digest and wipes the context, which may hold bytes of a
 * secret; lt_sha256_init() must run again before it is reused. */
void lt_sha256_final(struct lt_sha256 *c, unsigned char digest[LT_SHA256_LEN]);

/* The digest of one buffer. */
void lt_sha256(const void *data, size_t len,
	       unsigned char digest[LT_SHA256_LEN]);

/* The compression of n whole blocks into h (FIPS 180-4 6.2.2): with the
 * CPU's SHA instructions when it has them (lt_sha256_hardware), else in
 * portable C, which the tests compare it with. */
void lt_sha256_blocks(uint32_t h[8], const unsigned char *p, size_t n);
void lt_sha256_blocks_portable(uint32_t h[8], const unsigned char *p,
			       size_t n);
int lt_sha256_hardware(void);

#endif
