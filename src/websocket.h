/* The WebSocket protocol (RFC 6455) as far as Loki's live tail needs
 * it: the opening handshake's Sec-WebSocket-Accept (SHA-1 and base64),
 * the server's frames (text, close, ping, pong; never masked), and a
 * reader of the client's frames (always masked), which refuses what the
 * RFC makes a protocol error and frames over a size cap. */
#ifndef LOGTHRA_WEBSOCKET_H
#define LOGTHRA_WEBSOCKET_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* --- SHA-1 (RFC 3174) --- */

#define LT_SHA1_LEN 20

void lt_sha1(const void *data, size_t len, unsigned char digest[LT_SHA1_LEN]);

/* --- The opening handshake --- */

/* "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=": 28 characters. */
#define LT_WS_ACCEPT_LEN 28

/* Whether a Sec-WebSocket-Key is what RFC 6455 4.1 asks of a client: the
 * base64 of 16 bytes (24 characters, the last two "=="). */
int lt_ws_key_valid(const char *key);

/* The Sec-WebSocket-Accept answering key: base64(SHA-1(key followed by
 * the GUID 258EAFA5-E914-47DA-95CA-C5AB0DC85B11)), NUL-terminated. */
void lt_ws_accept(const char *key, char out[LT_WS_ACCEPT_LEN + 1]);

/* --- Frames --- */

enum lt_ws_opcode {
	LT_WS_CONTINUATION = 0x0,
	LT_WS_TEXT = 0x1,
	LT_WS_BINARY = 0x2,
	LT_WS_CLOSE = 0x8,
	LT_WS_PING = 0x9,
	LT_WS_PONG = 0xa,
};

/* Status codes of a close frame (RFC 6455 7.4.1). */
#define LT_WS_NORMAL 1000
#define LT_WS_GOING_AWAY 1001
#define LT_WS_PROTOCOL_ERROR 1002
#define LT_WS_TOO_BIG 1009
#define LT_WS_INTERNAL_ERROR 1011

/* A control frame's payload is at most this long (RFC 6455 5.5), a
 * close frame's reason 2 bytes less. */
#define LT_WS_CONTROL_MAX 125

/* Appends one unfragmented server frame (FIN set, not masked) with the
 * payload.  Control frames (close, ping, pong) take at most
 * LT_WS_CONTROL_MAX bytes: more is -1.  Returns 0, or -1 (also when out
 * of memory, b then unchanged). */
int lt_ws_frame(struct lt_buf *b, enum lt_ws_opcode op, const void *payload,
		size_t len);

/* Appends a close frame with the status code and reason, the reason cut
 * to fit (at a UTF-8 character's start).  code 0 sends no body, as for a
 * close without status.  Returns 0 or -1. */
int lt_ws_close_frame(struct lt_buf *b, unsigned code, const char *reason);

/* A frame read from the client; payload points into the bytes given to
 * lt_ws_parse(), unmasked in place. */
struct lt_ws_frame {
	int fin;
	enum lt_ws_opcode opcode;
	unsigned char *payload;
	size_t len;
};

/* Reads the frame at the start of data[0..len).  Returns 1 with *f set
 * and *used the frame's bytes; 0 when the frame is not complete yet;
 * -1 when the bytes break the protocol, with *close_code set to the
 * code to close with: 1002 for reserved bits, an unknown opcode, a
 * fragmented or long control frame, an unmasked frame (a client must
 * mask every frame) or a length not in its shortest form; 1009 for a
 * payload over max_payload. */
int lt_ws_parse(unsigned char *data, size_t len, size_t max_payload,
		struct lt_ws_frame *f, size_t *used, unsigned *close_code);

/* The status code of a close frame's payload: 1005 (no status) when it
 * is empty, -1 when it is one byte or the code is not one a peer may
 * send (RFC 6455 7.4). */
int lt_ws_close_code(const unsigned char *payload, size_t len);

#endif
