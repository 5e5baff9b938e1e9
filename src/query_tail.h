/* Loki's live tail, /loki/api/v1/tail: a WebSocket (websocket.h) over
 * which the last `limit` entries since `start` go first, then every new
 * entry as it reaches ClickHouse, found by polling with the log query's
 * engine call from the newest entry sent on.  Only over a connection of
 * its own (inetd, systemd socket activation): CGI cannot carry it. */
#ifndef LOGTHRA_QUERY_TAIL_H
#define LOGTHRA_QUERY_TAIL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "http.h"
#include "options.h"

struct lt_query_engine;

/* Loki's maxEntriesPerTailResponse: entries in one message. */
#define LT_TAIL_PER_MESSAGE 100

/* What has been sent: every entry before cursor_ns, and the entries at
 * cursor_ns whose hashes are in seen (an answer from cursor_ns on holds
 * them again). */
struct lt_tail_state {
	int64_t cursor_ns;
	int have_cursor;        /* an entry was sent */
	uint64_t *seen;
	size_t n_seen, cap_seen;
};

void lt_tail_state_free(struct lt_tail_state *st);

/* Reads a log query's answer (the engine's JSON, {"status":"success",
 * "data":{"resultType":"streams","result":[...]}}) and appends to frames
 * the WebSocket text frames of Loki's tail messages for the entries not
 * sent yet, in time order, at most per_message entries a message:
 * {"streams":[{"stream":{...},"values":[["ns","line"]]},...]} with one
 * entry per stream object, as Loki's tailer sends them.  Moves the
 * cursor.  Returns the number of entries sent, or -1 with why set (an
 * answer that is not such JSON, or out of memory). */
long lt_tail_messages(struct lt_tail_state *st, const char *answer,
		      size_t len, size_t per_message, struct lt_buf *frames,
		      char *why, size_t whylen);

/* A tail's slot among the tenant's max (max_concurrent_tail_requests),
 * across processes: SPOOL/tail/TENANT/N for N < max, each held with an
 * flock(2) for the tail's life, so that a process that dies frees its
 * slot.  Returns 0 with *fd holding the slot (close it to free it), 1
 * when all max are taken, -1 with err set when the files cannot be
 * used. */
int lt_tail_slot_take(const char *spool, const char *tenant, size_t max,
		      int *fd, char *err, size_t errlen);

/* Serves a request for /loki/api/v1/tail whose head passed
 * lt_query_check_head(): checks the parameters (400 as Loki answers
 * them), the WebSocket handshake (400, 405), answers 101 Switching
 * Protocols, and tails until the client closes, the connection breaks
 * or tail_max_duration passes.  The connection is never reused:
 * returns 0. */
int lt_query_serve_tail(const struct lt_options *o,
			const struct lt_query_engine *e, struct lt_conn *c,
			struct lt_request *r, const char *tenant);

/* The answer to /loki/api/v1/tail through CGI: 400 saying why it cannot
 * work and where to send it instead. */
void lt_query_tail_cgi_refusal(struct lt_response *resp);

#endif
