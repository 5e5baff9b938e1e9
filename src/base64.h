/* base64 (RFC 4648, section 4): the standard alphabet, with padding. */
#ifndef LOGTHRA_BASE64_H
#define LOGTHRA_BASE64_H

#include <stddef.h>

/* The bytes lt_base64() writes for len bytes, its NUL included. */
#define LT_BASE64_SIZE(len) (((len) + 2) / 3 * 4 + 1)

/* Writes the base64 of in[0..len) with padding and a NUL to out, which
 * must hold LT_BASE64_SIZE(len) bytes.  Returns the length written
 * (without the NUL), or 0 when out is too small (out then ""). */
size_t lt_base64(const void *in, size_t len, char *out, size_t outlen);

/* The value (0 to 63) of a character of the alphabet, or -1 (also for
 * the padding '='). */
int lt_base64_value(int c);

#endif
