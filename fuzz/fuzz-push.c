/* libFuzzer target: a whole push through the validating parsers, JSON or
 * protobuf (the first byte chooses), with small limits so that the
 * rejection paths run as often as the accepting ones.  Checks that the
 * result adds up and that every accepted entry the sink sees obeys the
 * limits. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "labels.h"
#include "level.h"
#include "push.h"

struct seen {
	const struct lt_limits *lim;
	size_t entries;
	int in_stream;
};

static int
on_stream(void *ctx, const struct lt_label *l, size_t n)
{
	struct seen *s = ctx;
	size_t i;

	if (n == 0 || n > s->lim->max_label_names)
		abort();
	for (i = 0; i < n; i++) {
		if (lt_label_name_valid(l[i].name, l[i].name_len) < 0 ||
		    l[i].value_len == 0 ||
		    !lt_utf8_valid(l[i].value, l[i].value_len))
			abort();
		/* Sorted, no duplicates. */
		if (i > 0 && (l[i - 1].name_len == l[i].name_len &&
			      memcmp(l[i - 1].name, l[i].name, l[i].name_len) == 0))
			abort();
	}
	s->in_stream = 1;
	return 0;
}

/* The structured metadata items the limit counts: detected_level,
 * added after the checks as Loki's distributor adds it, is not one. */
static size_t
limited_metadata(const struct lt_entry *e)
{
	size_t i, n = 0;

	for (i = 0; i < e->n_metadata; i++)
		if (e->metadata[i].name_len != LT_LEVEL_NAME_LEN ||
		    memcmp(e->metadata[i].name, LT_LEVEL_NAME,
			   LT_LEVEL_NAME_LEN) != 0)
			n++;
	return n;
}

static int
on_entry(void *ctx, const struct lt_entry *e)
{
	struct seen *s = ctx;
	volatile unsigned char sink = 0;
	size_t i;

	if (!s->in_stream || e->line_len > s->lim->max_line_size ||
	    limited_metadata(e) > s->lim->max_metadata_entries || e->ts_ns < 0)
		abort();
	for (i = 0; i < e->line_len; i++) /* touch every byte for ASan */
		sink ^= (unsigned char)e->line[i];
	(void)sink;
	s->entries++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lt_limits lim;
	struct lt_push_result res;
	struct seen s = {&lim, 0, 0};
	struct lt_sink sink = {on_stream, on_entry, &s};
	int rc;

	if (size < 1)
		return 0;
	lt_limits_defaults(&lim);
	lim.max_line_size = 64;
	lim.max_label_names = 4;
	lim.max_label_value_length = 16;
	lim.max_metadata_entries = 3;
	lim.max_metadata_size = 32;
	lim.max_age_ns = INT64_C(86400) * 1000000000;
	if (data[0] & 1)
		rc = lt_push_parse_proto(data + 1, size - 1, &lim,
					 INT64_C(1700000000) * 1000000000, &sink,
					 &res);
	else
		rc = lt_push_parse_json((const char *)data + 1, size - 1, &lim,
					INT64_C(1700000000) * 1000000000, &sink,
					&res);
	/* Every rejection has a reason (a rejected stream may have no
	 * entries, so reasons can come without rejected entries). */
	if (rc == 0 && (res.status != 0 || res.accepted != s.entries ||
			res.n_reasons > LT_PUSH_REASONS ||
			(res.rejected > 0 && res.n_reasons == 0) ||
			(res.n_reasons > 0) != (res.message[0] != '\0')))
		abort();
	if (rc < 0 && res.status != 400)
		abort();
	return 0;
}
