/* The WebSocket of the live tail: SHA-1 and the handshake's accept key,
 * frames written and the client's frames read (websocket.h). */
#include "config.h"

#include <string.h>

#include "base64.h"
#include "websocket.h"

/* --- SHA-1 --- */

static uint32_t
rol(uint32_t x, int n)
{
	return x << n | x >> (32 - n);
}

static void
sha1_block(uint32_t h[5], const unsigned char *p)
{
	uint32_t w[80], a, b, c, d, e, f, k, t;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (; i < 80; i++)
		w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	a = h[0];
	b = h[1];
	c = h[2];
	d = h[3];
	e = h[4];
	for (i = 0; i < 80; i++) {
		if (i < 20) {
			f = (b & c) | (~b & d);
			k = 0x5a827999;
		} else if (i < 40) {
			f = b ^ c ^ d;
			k = 0x6ed9eba1;
		} else if (i < 60) {
			f = (b & c) | (b & d) | (c & d);
			k = 0x8f1bbcdc;
		} else {
			f = b ^ c ^ d;
			k = 0xca62c1d6;
		}
		t = rol(a, 5) + f + e + k + w[i];
		e = d;
		d = c;
		c = rol(b, 30);
		b = a;
		a = t;
	}
	h[0] += a;
	h[1] += b;
	h[2] += c;
	h[3] += d;
	h[4] += e;
}

void
lt_sha1(const void *data, size_t len, unsigned char digest[LT_SHA1_LEN])
{
	uint32_t h[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476,
			 0xc3d2e1f0};
	const unsigned char *p = data;
	unsigned char last[128];
	uint64_t bits = (uint64_t)len * 8;
	size_t rest, n, i;

	for (; len >= 64; p += 64, len -= 64)
		sha1_block(h, p);
	/* The padding: 0x80, zeros, the length in bits, big-endian; one
	 * block or two. */
	rest = len;
	memset(last, 0, sizeof(last));
	if (rest > 0)
		memcpy(last, p, rest);
	last[rest] = 0x80;
	n = rest + 1 + 8 <= 64 ? 64 : 128;
	for (i = 0; i < 8; i++)
		last[n - 1 - i] = (unsigned char)(bits >> (8 * i));
	sha1_block(h, last);
	if (n == 128)
		sha1_block(h, last + 64);
	for (i = 0; i < 5; i++) {
		digest[4 * i] = (unsigned char)(h[i] >> 24);
		digest[4 * i + 1] = (unsigned char)(h[i] >> 16);
		digest[4 * i + 2] = (unsigned char)(h[i] >> 8);
		digest[4 * i + 3] = (unsigned char)h[i];
	}
}

/* --- The handshake --- */

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

int
lt_ws_key_valid(const char *key)
{
	size_t i;

	if (strlen(key) != 24 || key[22] != '=' || key[23] != '=')
		return 0;
	for (i = 0; i < 22; i++)
		if (lt_base64_value(key[i]) < 0)
			return 0;
	/* 16 bytes end on 4 bits of the 22nd character; the other 2
	 * must be zero in a canonical encoding. */
	return (lt_base64_value(key[21]) & 15) == 0;
}

void
lt_ws_accept(const char *key, char out[LT_WS_ACCEPT_LEN + 1])
{
	unsigned char digest[LT_SHA1_LEN];
	char text[128];
	size_t n = strlen(key);

	/* A longer key is no valid key; it is cut, not overrun. */
	if (n > sizeof(text) - sizeof(WS_GUID))
		n = sizeof(text) - sizeof(WS_GUID);
	memcpy(text, key, n);
	memcpy(text + n, WS_GUID, sizeof(WS_GUID) - 1);
	lt_sha1(text, n + sizeof(WS_GUID) - 1, digest);
	(void)lt_base64(digest, sizeof(digest), out, LT_WS_ACCEPT_LEN + 1);
}

/* --- Frames --- */

static int
is_control(unsigned op)
{
	return op >= 0x8;
}

int
lt_ws_frame(struct lt_buf *b, enum lt_ws_opcode op, const void *payload,
	    size_t len)
{
	unsigned char head[10];
	size_t n = 0, i;

	if (is_control((unsigned)op) && len > LT_WS_CONTROL_MAX)
		return -1;
	head[n++] = (unsigned char)(0x80 | (unsigned)op);
	if (len < 126) {
		head[n++] = (unsigned char)len;
	} else if (len <= 0xffff) {
		head[n++] = 126;
		head[n++] = (unsigned char)(len >> 8);
		head[n++] = (unsigned char)len;
	} else {
		head[n++] = 127;
		for (i = 0; i < 8; i++)
			head[n++] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
	}
	if (lt_buf_reserve(b, n + len) < 0)
		return -1;
	(void)lt_buf_append(b, head, n);
	if (len > 0)
		(void)lt_buf_append(b, payload, len);
	return 0;
}

int
lt_ws_close_frame(struct lt_buf *b, unsigned code, const char *reason)
{
	unsigned char body[LT_WS_CONTROL_MAX];
	size_t n;

	if (code == 0)
		return lt_ws_frame(b, LT_WS_CLOSE, NULL, 0);
	body[0] = (unsigned char)(code >> 8);
	body[1] = (unsigned char)code;
	n = reason != NULL ? strlen(reason) : 0;
	if (n > sizeof(body) - 2) {
		n = sizeof(body) - 2;
		/* Not inside a character: back to the start of one. */
		while (n > 0 && ((unsigned char)reason[n] & 0xc0) == 0x80)
			n--;
	}
	if (n > 0)
		memcpy(body + 2, reason, n);
	return lt_ws_frame(b, LT_WS_CLOSE, body, n + 2);
}

/* The payload length after the first two bytes; returns the header's
 * length, 0 when more bytes are needed, -1 when not in shortest form. */
static int
payload_length(const unsigned char *d, size_t len, uint64_t *plen)
{
	unsigned l7 = d[1] & 0x7f;
	int i;

	if (l7 < 126) {
		*plen = l7;
		return 2;
	}
	if (l7 == 126) {
		if (len < 4)
			return 0;
		*plen = (uint64_t)d[2] << 8 | d[3];
		return *plen < 126 ? -1 : 4;
	}
	if (len < 10)
		return 0;
	*plen = 0;
	for (i = 0; i < 8; i++)
		*plen = *plen << 8 | d[2 + i];
	/* The most significant bit must be 0 (RFC 6455 5.2). */
	return *plen <= 0xffff || *plen >> 63 ? -1 : 10;
}

int
lt_ws_parse(unsigned char *data, size_t len, size_t max_payload,
	    struct lt_ws_frame *f, size_t *used, unsigned *close_code)
{
	unsigned op;
	uint64_t plen;
	size_t i;
	int hlen;

	*close_code = LT_WS_PROTOCOL_ERROR;
	if (len < 2)
		return 0;
	op = data[0] & 0x0f;
	if ((data[0] & 0x70) != 0 || (op > 0x2 && op < 0x8) || op > 0xa)
		return -1;
	if ((data[1] & 0x80) == 0)
		return -1;
	if (is_control(op) && ((data[0] & 0x80) == 0 ||
			       (data[1] & 0x7f) > LT_WS_CONTROL_MAX))
		return -1;
	hlen = payload_length(data, len, &plen);
	if (hlen < 0)
		return -1;
	if (hlen == 0)
		return 0;
	if (plen > max_payload) {
		*close_code = LT_WS_TOO_BIG;
		return -1;
	}
	if (len - (size_t)hlen < 4 || len - (size_t)hlen - 4 < plen)
		return 0;
	f->fin = (data[0] & 0x80) != 0;
	f->opcode = (enum lt_ws_opcode)op;
	f->payload = data + hlen + 4;
	f->len = (size_t)plen;
	for (i = 0; i < f->len; i++)
		f->payload[i] ^= data[hlen + (int)(i & 3)];
	*used = (size_t)hlen + 4 + f->len;
	*close_code = 0;
	return 1;
}

int
lt_ws_close_code(const unsigned char *payload, size_t len)
{
	unsigned code;

	if (len == 0)
		return 1005;
	if (len == 1)
		return -1;
	code = (unsigned)payload[0] << 8 | payload[1];
	/* 1004-1006 and 1015 are reserved, never sent in a frame; below
	 * 1000 and up to 2999 unassigned; 3000-4999 for applications. */
	if ((code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
	    (code >= 3000 && code <= 4999))
		return (int)code;
	return -1;
}
