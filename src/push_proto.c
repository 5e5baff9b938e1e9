/* Protobuf pushes: Loki's logproto.PushRequest, read by the wire decoder
 * (loki_proto.c) and checked by the shared core (push.c). */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "loki_proto.h"
#include "push_int.h"

#define NS_PER_SEC INT64_C(1000000000)

static int
on_stream(void *ctx, const char *labels, size_t len, size_t n_entries)
{
	struct lt_push_parse *p = ctx;
	int rc;

	lt_pp_begin_stream(p);
	rc = lt_pp_stream_text(p, labels, len, n_entries);
	return rc < 0 ? -1 : rc;
}

/* google.protobuf.Timestamp to unix nanoseconds; a time that does not
 * fit rejects the entry, not the push. */
static int
entry_time(struct lt_push_parse *p, const struct lt_pb_entry *e,
	   int64_t *ts_ns)
{
	if (e->nanos < 0 || e->nanos >= NS_PER_SEC)
		return lt_pp_reject(p, LT_REJECT_INVALID_TIMESTAMP, 1,
				    "invalid timestamp: nanos %" PRId32
				    " is outside 0 to 999999999", e->nanos);
	if (e->seconds < 0)
		return lt_pp_reject(p, LT_REJECT_INVALID_TIMESTAMP, 1,
				    "timestamp of %" PRId64 " seconds "
				    "is before 1970-01-01", e->seconds);
	if (e->seconds > (INT64_MAX - e->nanos) / NS_PER_SEC)
		return lt_pp_reject(p, LT_REJECT_INVALID_TIMESTAMP, 1,
				    "timestamp of %" PRId64 " seconds "
				    "is after 2106-02-07T06:28:15Z, the end of "
				    "ClickHouse's DateTime", e->seconds);
	*ts_ns = e->seconds * NS_PER_SEC + e->nanos;
	return 0;
}

static int
on_entry(void *ctx, const struct lt_pb_entry *e)
{
	struct lt_push_parse *p = ctx;
	size_t max = p->lim->max_metadata_entries;
	int64_t ts_ns = 0;

	if (lt_pp_next_entry(p) < 0)
		return -1;
	if (entry_time(p, e, &ts_ns) != 0)
		return 0;
	/* The decoder keeps at most max pairs, so more is rejected here,
	 * with the count it saw. */
	if (e->n_metadata > max) {
		(void)lt_pp_reject(p, LT_REJECT_METADATA_TOO_MANY, 1,
				   "too many structured metadata items "
				   "(%zu, limit %zu)", e->n_metadata, max);
		return 0;
	}
	return lt_pp_entry(p, ts_ns, e->line, e->line_len, e->metadata,
			   e->n_metadata) < 0 ? -1 : 0;
}

int
lt_push_parse_proto(const void *body, size_t len,
		    const struct lt_limits *limits, int64_t now_ns,
		    const struct lt_sink *sink, struct lt_push_result *res)
{
	struct lt_push_parse p;
	struct lt_pb_visitor v;
	char err[256];
	int rc;

	lt_pp_init(&p, limits, now_ns, sink, res);
	v.stream = on_stream;
	v.entry = on_entry;
	v.ctx = &p;
	v.max_metadata = limits->max_metadata_entries;
	rc = lt_pb_push_decode(body, len, &v, err, sizeof(err));
	if (rc == -1) {
		/* The message names the place itself. */
		p.stream_no = p.entry_no = 0;
		(void)lt_pp_fail(&p, "malformed protobuf push: %s", err);
	} else if (rc == -2 && res->status == 0) {
		(void)lt_pp_oom(&p);
	}
	lt_pp_free(&p);
	return rc < 0 ? -1 : 0;
}
