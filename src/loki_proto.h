/* Loki's protobuf push, logproto.PushRequest (grafana/loki pkg/push/
 * push.proto), read straight from the wire format without generated
 * code: the message is small and fixed, and a hand-written reader keeps
 * every length checked against the bytes that are really there.
 *
 *   PushRequest      { repeated StreamAdapter streams = 1; }
 *   StreamAdapter    { string labels = 1; repeated EntryAdapter entries = 2;
 *                      uint64 hash = 3; }
 *   EntryAdapter     { google.protobuf.Timestamp timestamp = 1;
 *                      string line = 2;
 *                      repeated LabelPairAdapter structuredMetadata = 3;
 *                      repeated LabelPairAdapter parsed = 4; }
 *   LabelPairAdapter { string name = 1; string value = 2; }
 *   Timestamp        { int64 seconds = 1; int32 nanos = 2; }
 *
 * Unknown fields are skipped as protobuf requires (so newer clients that
 * send more still work); a known field with the wrong wire type, a length
 * past the end of its message, a truncated varint and the deprecated
 * group wire types are errors.  Singular fields that repeat follow
 * protobuf's rules: the last scalar wins, messages merge. */
#ifndef LOGTHRA_LOKI_PROTO_H
#define LOGTHRA_LOKI_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "push.h"

struct lt_pb_entry {
	int64_t seconds;  /* Timestamp.seconds; 0 when absent */
	int32_t nanos;    /* Timestamp.nanos as sent: not range-checked here */
	const char *line; /* into the body; not NUL-terminated */
	size_t line_len;
	/* Structured metadata in wire order, at most the visitor's
	 * max_metadata pairs; n_metadata counts all pairs on the wire, so
	 * it may be larger than what metadata holds. */
	const struct lt_label *metadata;
	size_t n_metadata;
};

struct lt_pb_visitor {
	/* Once per stream, before its entries: the label text as sent
	 * ({app="api", level="info"}; empty when absent) and the number of
	 * entries the stream has.  Returns 0 to receive them, 1 to skip
	 * them (they are still checked for well-formedness), -1 to abort. */
	int (*stream)(void *ctx, const char *labels, size_t len,
		      size_t n_entries);
	/* Each entry in order.  Returns 0, or -1 to abort. */
	int (*entry)(void *ctx, const struct lt_pb_entry *e);
	void *ctx;
	size_t max_metadata; /* pairs kept per entry, see lt_pb_entry */
};

/* Reads a whole PushRequest.  Returns 0; -1 when the body is not a valid
 * PushRequest, with err naming the place ("stream 2: entry 7: field 2
 * (line) runs past the end of its message at byte 4121"); -2 when a
 * callback aborted or memory ran out (err says which). */
int lt_pb_push_decode(const void *body, size_t len,
		      const struct lt_pb_visitor *v, char *err, size_t errlen);

#endif
