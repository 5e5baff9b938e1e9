/* Fuzz target: the OTLP logs reader (otlp.c) with the push core behind
 * it.  The sink reads every byte it is handed, so that AddressSanitizer
 * catches a pointer or length past the body or a buffer, and checks
 * what push.h promises: labels and metadata sorted by name without
 * duplicates, an answer of 0 or a refusal with a status. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "otlp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned sum;

static void
touch(const char *p, size_t n)
{
	size_t i;

	if (n > 0 && p == NULL)
		abort();
	for (i = 0; i < n; i++)
		sum += (unsigned char)p[i];
}

static int
name_cmp(const struct lt_label *a, const struct lt_label *b)
{
	size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
	int c = n > 0 ? memcmp(a->name, b->name, n) : 0;

	if (c != 0)
		return c;
	return a->name_len < b->name_len ? -1 : a->name_len > b->name_len;
}

/* Sorted, no name twice, every byte readable. */
static void
check_pairs(const struct lt_label *l, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		touch(l[i].name, l[i].name_len);
		touch(l[i].value, l[i].value_len);
		if (i > 0 && name_cmp(&l[i - 1], &l[i]) >= 0)
			abort();
	}
}

static int
on_stream(void *ctx, const struct lt_label *labels, size_t n)
{
	(void)ctx;
	if (n == 0)
		abort();
	check_pairs(labels, n);
	return 0;
}

static int
on_entry(void *ctx, const struct lt_entry *e)
{
	(void)ctx;
	touch(e->line, e->line_len);
	check_pairs(e->metadata, e->n_metadata);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const drops[] = {NULL, "http.*", "a, b.*, *"};
	static const char *const indexes[] = {NULL, "a b c", ""};
	struct lt_sink sink = {on_stream, on_entry, NULL};
	struct lt_push_result res;
	struct lt_limits lim;
	uint8_t *copy;
	int r;

	/* An exact-size copy: the fuzzer's buffer may have slack. */
	copy = malloc(size ? size : 1);
	if (copy == NULL)
		return 0;
	if (size > 0)
		memcpy(copy, data, size);
	lt_limits_defaults(&lim);
	/* Small limits on some inputs, so that cut texts are reached. */
	if (size % 2 == 1) {
		lim.max_line_size = 16;
		lim.max_metadata_size = 24;
		lim.max_metadata_entries = 3;
		lim.max_label_names = 2;
		lim.max_label_value_length = 8;
		lim.max_entries_per_push = 50;
	}
	lim.otlp_drop_attributes = drops[size % 3];
	lim.otlp_index_labels = indexes[size / 3 % 3];
	r = lt_push_parse_otlp(copy, size, &lim, INT64_C(1700000000000000000),
			       &sink, &res);
	if (memchr(res.message, '\0', sizeof(res.message)) == NULL)
		abort();
	if (r == 0 && res.status != 0)
		abort();
	/* Memory does not run out here, nor does the sink fail. */
	if (r != 0 && res.status != 400 && res.status != 413)
		abort();
	if (r != 0 && res.message[0] == '\0')
		abort();
	free(copy);
	return 0;
}
