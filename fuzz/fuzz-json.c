/* libFuzzer target: the JSON push reader (push_json.c) against jansson,
 * the reader it replaced.  What jansson refuses (with
 * JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, as the old reader called it)
 * must be refused as malformed JSON; what jansson reads must not be,
 * except for the two places where the reader is stricter on purpose:
 * nesting deeper than 64 levels, and a NUL byte after a number or a
 * literal, which jansson skips ("[1\0]" reads as [1]).  The sink checks
 * the limits and touches every byte it is given, so that ASan sees a
 * string that points outside the body or the arena. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "level.h"
#include "push.h"

struct seen {
	const struct lt_limits *lim;
	int in_stream;
};

static void
touch(const char *p, size_t n)
{
	volatile unsigned char x = 0;
	size_t i;

	for (i = 0; i < n; i++)
		x ^= (unsigned char)p[i];
	(void)x;
}

static int
on_stream(void *ctx, const struct lt_label *l, size_t n)
{
	struct seen *s = ctx;
	size_t i;

	if (n == 0 || n > s->lim->max_label_names)
		abort();
	for (i = 0; i < n; i++) {
		touch(l[i].name, l[i].name_len);
		touch(l[i].value, l[i].value_len);
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
	size_t i;

	if (!s->in_stream || e->line_len > s->lim->max_line_size ||
	    limited_metadata(e) > s->lim->max_metadata_entries)
		abort();
	touch(e->line, e->line_len);
	for (i = 0; i < e->n_metadata; i++) {
		touch(e->metadata[i].name, e->metadata[i].name_len);
		touch(e->metadata[i].value, e->metadata[i].value_len);
	}
	return 0;
}

/* How deep the value nests, a scalar being 1. */
static int
depth(json_t *j)
{
	const char *k;
	json_t *v;
	size_t i;
	int d, max = 0;

	if (json_is_object(j)) {
		json_object_foreach(j, k, v)
			if ((d = depth(v)) > max)
				max = d;
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			if ((d = depth(v)) > max)
				max = d;
	} else {
		return 1;
	}
	return max + 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct lt_push_result res;
	struct lt_limits lim;
	struct seen s = {&lim, 0};
	struct lt_sink sink = {on_stream, on_entry, &s};
	json_error_t err;
	json_t *j;
	char *body;
	int rc, bad;

	/* An exact-size copy, so that ASan catches a read past the end. */
	body = malloc(size > 0 ? size : 1);
	if (body == NULL)
		return 0;
	if (size > 0)
		memcpy(body, data, size);
	lt_limits_defaults(&lim);
	lim.max_line_size = 64;
	lim.max_label_names = 4;
	lim.max_metadata_entries = 3;
	lim.creation_grace_ns = INT64_MAX;
	rc = lt_push_parse_json(body, size, &lim, 0, &sink, &res);
	bad = rc == -1 && res.status == 400 &&
	      strncmp(res.message, "malformed JSON at line ", 23) == 0;
	if (rc == -1 && res.status != 400)
		abort();
	if (rc == 0 && (res.status != 0 || res.n_reasons > LT_PUSH_REASONS))
		abort();
	j = json_loadb(body, size, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
		       &err);
	if (j == NULL && !bad)
		abort();
	if (j != NULL && bad && memchr(body, '\0', size) == NULL &&
	    depth(j) <= 64)
		abort();
	if (j != NULL && !bad && !json_is_object(j) &&
	    strcmp(res.message, "the body is not a JSON object") != 0)
		abort();
	json_decref(j);
	free(body);
	return 0;
}
