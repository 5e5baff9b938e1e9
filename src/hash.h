/* FNV-1a, the 64-bit hash of the query code's tables (label sets,
 * entries, field values): small, fast on short keys, and not exposed to
 * anything that could pick keys to collide but the requester's own
 * answer. */
#ifndef LOGTHRA_HASH_H
#define LOGTHRA_HASH_H

#include <stddef.h>
#include <stdint.h>

#define LT_FNV_BASIS UINT64_C(0xcbf29ce484222325)

/* h carried on over data[0..len): start with LT_FNV_BASIS. */
static inline uint64_t
lt_fnv1a(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

#endif
