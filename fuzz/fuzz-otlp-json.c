/* libFuzzer target: OTLP's JSON requests rewritten as protobuf
 * (otlp_json.c).  A request it accepts must come out as a well-formed
 * ExportLogsServiceRequest, which a walker that knows the schema checks
 * here: every field of its expected wire type, lengths inside their
 * message, fields in the .proto's order with singular ones once, ids of
 * 16 and 8 bytes, one member of each AnyValue, strings in UTF-8 and
 * AnyValues nested at most LT_OTLP_MAX_DEPTH deep.  One it refuses must
 * say why and leave the output as it was. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "labels.h"
#include "otlp.h"

enum msg { NONE, REQ, RL, RES, SL, SCOPE, LR, KV, ANY, ARR, KVL };

/* What a field must be: its wire type, the message it holds (NONE for
 * a scalar), whether it repeats, and for bytes a fixed length (0: any;
 * -1: UTF-8 text). */
struct fdef {
	int known;
	int wire;
	enum msg sub;
	int rep;
	int len;
};

#define MAX_FIELD 12
#define F(wire, sub, rep, len) {1, wire, sub, rep, len}

static const struct fdef schema[][MAX_FIELD + 1] = {
	[REQ] = {[1] = F(2, RL, 1, 0)},
	[RL] = {[1] = F(2, RES, 0, 0), [2] = F(2, SL, 1, 0),
		[3] = F(2, NONE, 0, -1)},
	[RES] = {[1] = F(2, KV, 1, 0), [2] = F(0, NONE, 0, 0)},
	[SL] = {[1] = F(2, SCOPE, 0, 0), [2] = F(2, LR, 1, 0),
		[3] = F(2, NONE, 0, -1)},
	[SCOPE] = {[1] = F(2, NONE, 0, -1), [2] = F(2, NONE, 0, -1),
		   [3] = F(2, KV, 1, 0), [4] = F(0, NONE, 0, 0)},
	[LR] = {[1] = F(1, NONE, 0, 0), [2] = F(0, NONE, 0, 0),
		[3] = F(2, NONE, 0, -1), [5] = F(2, ANY, 0, 0),
		[6] = F(2, KV, 1, 0), [7] = F(0, NONE, 0, 0),
		[8] = F(5, NONE, 0, 0), [9] = F(2, NONE, 0, 16),
		[10] = F(2, NONE, 0, 8), [11] = F(1, NONE, 0, 0),
		[12] = F(2, NONE, 0, -1)},
	[KV] = {[1] = F(2, NONE, 0, -1), [2] = F(2, ANY, 0, 0)},
	[ANY] = {[1] = F(2, NONE, 0, -1), [2] = F(0, NONE, 0, 0),
		 [3] = F(0, NONE, 0, 0), [4] = F(1, NONE, 0, 0),
		 [5] = F(2, ARR, 0, 0), [6] = F(2, KVL, 0, 0),
		 [7] = F(2, NONE, 0, 0)},
	[ARR] = {[1] = F(2, ANY, 1, 0)},
	[KVL] = {[1] = F(2, KV, 1, 0)},
};

static void walk(const unsigned char *p, const unsigned char *end,
		 enum msg m, int depth);

/* One field's value at *p, of definition f. */
static void
value(const unsigned char **p, const unsigned char *end,
      const struct fdef *f, int depth)
{
	uint64_t v;

	if (f->wire == 0) {
		if (lt_varint_decode(p, end, &v) < 0)
			abort();
		return;
	}
	if (f->wire == 1 || f->wire == 5) {
		if ((size_t)(end - *p) < (f->wire == 1 ? 8u : 4u))
			abort();
		*p += f->wire == 1 ? 8 : 4;
		return;
	}
	if (lt_varint_decode(p, end, &v) < 0 || v > (uint64_t)(end - *p))
		abort();
	if (f->len > 0 && v != (uint64_t)f->len)
		abort();
	if (f->len < 0 && !lt_utf8_valid((const char *)*p, (size_t)v))
		abort();
	if (f->sub != NONE)
		walk(*p, *p + v, f->sub, depth);
	*p += v;
}

static void
walk(const unsigned char *p, const unsigned char *end, enum msg m,
     int depth)
{
	const struct fdef *f;
	uint64_t tag, last = 0;
	int members = 0;

	if (m == ANY && ++depth > LT_OTLP_MAX_DEPTH)
		abort();
	while (p < end) {
		if (lt_varint_decode(&p, end, &tag) < 0)
			abort();
		if ((tag >> 3) == 0 || (tag >> 3) > MAX_FIELD)
			abort();
		f = &schema[m][tag >> 3];
		/* Unknown fields are never written. */
		if (!f->known || (int)(tag & 7) != f->wire)
			abort();
		if ((tag >> 3) < last || ((tag >> 3) == last && !f->rep))
			abort();
		last = tag >> 3;
		if (m == ANY && ++members > 1)
			abort();
		value(&p, end, f, depth);
	}
	if (p != end)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lt_buf out = LT_BUF_INIT;
	char err[256] = "";
	char *body;
	int rc;

	/* An exact-size copy, so that ASan catches a read past the end. */
	body = malloc(size > 0 ? size : 1);
	if (body == NULL)
		return 0;
	if (size > 0)
		memcpy(body, data, size);
	if (lt_buf_append(&out, "x", 1) < 0)
		abort();
	rc = lt_otlp_json_to_proto(body, size, &out, err, sizeof(err));
	if (rc == 0)
		walk(out.data + 1, out.data + out.len, REQ, 0);
	else if (rc != -1 || err[0] == '\0' || out.len != 1)
		abort();
	lt_buf_free(&out);
	free(body);
	return 0;
}
