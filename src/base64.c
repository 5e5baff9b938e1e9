/* base64 (RFC 4648, section 4), the standard alphabet with padding: the
 * WebSocket handshake's accept key and the templates' b64enc. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "base64.h"

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
lt_base64(const void *in, size_t len, char *out, size_t outlen)
{
	const unsigned char *p = in;
	size_t o = 0, i;
	uint32_t v;

	if (outlen == 0)
		return 0;
	if ((len + 2) / 3 > (outlen - 1) / 4) {
		out[0] = '\0';
		return 0;
	}
	for (i = 0; i + 3 <= len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = b64[v >> 18];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = b64[v >> 6 & 63];
		out[o++] = b64[v & 63];
	}
	if (i < len) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		out[o++] = b64[v >> 18];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < len ? b64[v >> 6 & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

int
lt_base64_value(int c)
{
	const char *pos;

	if (c == '\0' || (pos = strchr(b64, c)) == NULL)
		return -1;
	return (int)(pos - b64);
}
