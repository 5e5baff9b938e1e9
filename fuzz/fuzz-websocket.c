/* Fuzz target: the reader of a live-tail client's WebSocket frames.
 *
 * The input is a stream of bytes from a client; it is read frame after
 * frame as query_tail.c reads it.  Each frame the reader accepts is
 * checked against a second decoding of its header written here from RFC
 * 6455 5.2: the same FIN bit, opcode and length, the payload inside the
 * input and unmasked with the key before it.  The input is copied to a
 * buffer of exactly its length, so AddressSanitizer catches a read past
 * its end. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "websocket.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define MAX_PAYLOAD 4096

/* The header of the frame at p (at least 2 bytes): its length and the
 * payload's offset, or 0 when the input ends inside it. */
static size_t
ref_header(const uint8_t *p, size_t len, uint64_t *plen)
{
	size_t off = 2;
	unsigned i;

	*plen = p[1] & 0x7f;
	if (*plen == 126) {
		if (len < 4)
			return 0;
		*plen = (uint64_t)p[2] << 8 | p[3];
		off = 4;
	} else if (*plen == 127) {
		if (len < 10)
			return 0;
		*plen = 0;
		for (i = 0; i < 8; i++)
			*plen = *plen << 8 | p[2 + i];
		off = 10;
	}
	return off + 4 <= len ? off + 4 : 0;
}

static void
check_frame(const uint8_t *orig, size_t len, unsigned char *buf,
	    const struct lt_ws_frame *f, size_t used)
{
	uint64_t plen;
	size_t off, i;

	if (used > len || used < 2)
		abort();
	off = ref_header(orig, len, &plen);
	if (off == 0 || f->len != plen || off + plen != used)
		abort();
	if (f->fin != !!(orig[0] & 0x80) || (unsigned)f->opcode != (orig[0] & 0x0f))
		abort();
	if (!(orig[1] & 0x80) || (orig[0] & 0x70) != 0 || f->len > MAX_PAYLOAD)
		abort();
	if (f->len > 0 && f->payload != buf + off)
		abort();
	for (i = 0; i < f->len; i++)
		if (f->payload[i] != (orig[off + i] ^ orig[off - 4 + i % 4]))
			abort();
	if (f->opcode == LT_WS_CLOSE)
		(void)lt_ws_close_code(f->payload, f->len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *buf = malloc(size ? size : 1);
	struct lt_ws_frame f;
	size_t pos = 0, used;
	unsigned code;
	int rc;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	while (pos < size) {
		code = 0;
		rc = lt_ws_parse(buf + pos, size - pos, MAX_PAYLOAD, &f, &used,
				 &code);
		if (rc == 0)
			break;
		if (rc < 0) {
			if (code != LT_WS_PROTOCOL_ERROR && code != LT_WS_TOO_BIG)
				abort();
			break;
		}
		check_frame(data + pos, size - pos, buf + pos, &f, used);
		pos += used;
	}
	free(buf);
	return 0;
}
