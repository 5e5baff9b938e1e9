/* Fuzz target: the protobuf reader of Loki's PushRequest.  The visitor
 * reads every byte it is given, so that AddressSanitizer catches a
 * pointer or length that reaches past the body, skips every other
 * stream, and checks what the header promises. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loki_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct state {
	const uint8_t *data;
	size_t size;
	size_t max_md;
	size_t streams;
	size_t want_entries; /* of the stream being received */
	size_t entries;
	int receiving;
	unsigned sum;
};

/* Reads all n bytes at p, which must lie inside the body. */
static void
touch(struct state *st, const char *p, size_t n)
{
	const uint8_t *q = (const uint8_t *)p;
	size_t i;

	if (p == NULL)
		abort();
	if (n > 0 && (q < st->data || n > st->size ||
		      (size_t)(q - st->data) > st->size - n))
		abort();
	for (i = 0; i < n; i++)
		st->sum += q[i];
}

static int
on_stream(void *ctx, const char *labels, size_t len, size_t n_entries)
{
	struct state *st = ctx;

	/* The previous stream delivered all it announced. */
	if (st->receiving && st->entries != st->want_entries)
		abort();
	touch(st, labels, len);
	st->receiving = st->streams++ % 2 == 0;
	st->want_entries = n_entries;
	st->entries = 0;
	return st->receiving ? 0 : 1;
}

static int
on_entry(void *ctx, const struct lt_pb_entry *e)
{
	struct state *st = ctx;
	size_t i, kept;

	if (!st->receiving || ++st->entries > st->want_entries)
		abort();
	touch(st, e->line, e->line_len);
	kept = e->n_metadata < st->max_md ? e->n_metadata : st->max_md;
	if (kept > 0 && e->metadata == NULL)
		abort();
	for (i = 0; i < kept; i++) {
		touch(st, e->metadata[i].name, e->metadata[i].name_len);
		touch(st, e->metadata[i].value, e->metadata[i].value_len);
	}
	st->sum += (unsigned)e->seconds + (unsigned)e->nanos;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t maxes[] = {0, 1, 2, 8, 128};
	struct state st;
	struct lt_pb_visitor v = {on_stream, on_entry, &st, 0};
	char err[160], err2[160];
	uint8_t *copy;
	int r, r2;

	/* An exact-size copy: the fuzzer's buffer may have slack. */
	copy = malloc(size ? size : 1);
	if (copy == NULL)
		return 0;
	if (size > 0)
		memcpy(copy, data, size);
	memset(&st, 0, sizeof(st));
	st.data = copy;
	st.size = size;
	st.max_md = v.max_metadata = maxes[size % 5];
	memset(err, 'X', sizeof(err));
	r = lt_pb_push_decode(copy, size, &v, err, sizeof(err));
	/* The callbacks never abort and memory does not run out here. */
	if (r != 0 && r != -1)
		abort();
	if (memchr(err, '\0', sizeof(err)) == NULL)
		abort();
	if ((r == 0) != (err[0] == '\0'))
		abort();
	if (r == 0 && st.receiving && st.entries != st.want_entries)
		abort();
	/* Without callbacks the answer is the same. */
	v.stream = NULL;
	v.entry = NULL;
	r2 = lt_pb_push_decode(copy, size, &v, err2, sizeof(err2));
	if (r2 != r || strcmp(err, err2) != 0)
		abort();
	free(copy);
	return 0;
}
