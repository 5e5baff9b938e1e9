/* JSON pushes: Loki's v1 format and its legacy one, read with jansson and
 * checked by the shared core (push.c). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "push_int.h"

struct json_parse {
	struct lt_push_parse core;
	struct lt_label *meta; /* an entry's metadata as sent */
	size_t cap_meta;
};

/* Makes room for n pairs in jp->meta, the array an object's members are
 * gathered in (a stream's labels, then each entry's metadata). */
static int
reserve_pairs(struct json_parse *jp, size_t n)
{
	struct lt_label *l;

	if (n <= jp->cap_meta)
		return 0;
	l = reallocarray(jp->meta, n, sizeof(*l));
	if (l == NULL)
		return lt_pp_oom(&jp->core);
	jp->meta = l;
	jp->cap_meta = n;
	return 0;
}

/* Reads an entry's structured metadata object into jp->meta. */
static int
read_metadata(struct json_parse *jp, json_t *obj, size_t *n)
{
	struct lt_push_parse *p = &jp->core;
	struct lt_label *l;
	char q[LT_QUOTE_BUF];
	size_t count;
	void *it;
	json_t *v;

	*n = 0;
	if (obj == NULL)
		return 0;
	if (!json_is_object(obj))
		return lt_pp_fail(p, "structured metadata is not an object");
	count = json_object_size(obj);
	if (reserve_pairs(jp, count) < 0)
		return -1;
	for (it = json_object_iter(obj); it != NULL;
	     it = json_object_iter_next(obj, it)) {
		l = &jp->meta[(*n)++];
		l->name = json_object_iter_key(it);
		l->name_len = json_object_iter_key_len(it);
		v = json_object_iter_value(it);
		if (!json_is_string(v))
			return lt_pp_fail(p, "structured metadata %s is not a "
					  "string", lt_pp_quote(q, l->name,
								l->name_len));
		l->value = json_string_value(v);
		l->value_len = json_string_length(v);
	}
	return 0;
}

/* A timestamp string; a bad one rejects the entry. */
static int
entry(struct json_parse *jp, json_t *ts, json_t *line, json_t *md)
{
	struct lt_push_parse *p = &jp->core;
	char q[LT_QUOTE_BUF];
	const char *why;
	int64_t ts_ns;
	size_t n_md;

	if (!json_is_string(ts))
		return lt_pp_fail(p, "timestamp is not a string");
	if (!json_is_string(line))
		return lt_pp_fail(p, "line is not a string");
	if (read_metadata(jp, md, &n_md) < 0)
		return -1;
	if (lt_parse_timestamp(json_string_value(ts), json_string_length(ts),
			       &ts_ns, &why) < 0)
		return lt_pp_reject(p, 1, "invalid timestamp %s: %s",
				    lt_pp_quote(q, json_string_value(ts),
						json_string_length(ts)),
				    why);
	return lt_pp_entry(p, ts_ns, json_string_value(line),
			   json_string_length(line), jp->meta, n_md);
}

/* [ts, line] or [ts, line, {metadata}]. */
static int
v1_entry(struct json_parse *jp, json_t *val)
{
	size_t n = json_is_array(val) ? json_array_size(val) : 0;

	if (n != 2 && n != 3)
		return lt_pp_fail(&jp->core, "not an array of [timestamp, line] "
				  "or [timestamp, line, {metadata}]");
	return entry(jp, json_array_get(val, 0), json_array_get(val, 1),
		     json_array_get(val, 2));
}

/* {"ts": ts, "line": line}. */
static int
legacy_entry(struct json_parse *jp, json_t *val)
{
	if (!json_is_object(val))
		return lt_pp_fail(&jp->core, "not an object of \"ts\" and "
				  "\"line\"");
	if (json_object_get(val, "ts") == NULL)
		return lt_pp_fail(&jp->core, "no \"ts\"");
	if (json_object_get(val, "line") == NULL)
		return lt_pp_fail(&jp->core, "no \"line\"");
	return entry(jp, json_object_get(val, "ts"),
		     json_object_get(val, "line"), NULL);
}

/* Collects the "stream" object into the core's label array. */
static int
v1_labels(struct json_parse *jp, json_t *obj, size_t n_entries)
{
	struct lt_push_parse *p = &jp->core;
	struct lt_label *l;
	char q[LT_QUOTE_BUF];
	size_t n = 0, count = json_object_size(obj);
	void *it;
	json_t *v;

	/* The labels are checked against the limit before they are
	 * gathered, so a stream of a million labels costs no array. */
	if (count > p->lim->max_label_names || count == 0)
		return lt_pp_stream(p, NULL, count, n_entries);
	if (reserve_pairs(jp, count) < 0)
		return -1;
	for (it = json_object_iter(obj); it != NULL;
	     it = json_object_iter_next(obj, it)) {
		l = &jp->meta[n++];
		l->name = json_object_iter_key(it);
		l->name_len = json_object_iter_key_len(it);
		v = json_object_iter_value(it);
		if (!json_is_string(v))
			return lt_pp_fail(p, "label %s is not a string",
					  lt_pp_quote(q, l->name, l->name_len));
		l->value = json_string_value(v);
		l->value_len = json_string_length(v);
	}
	return lt_pp_stream(p, jp->meta, n, n_entries);
}

static int
entries(struct json_parse *jp, json_t *values, int legacy)
{
	size_t i, n = json_array_size(values);
	int rc;

	for (i = 0; i < n; i++) {
		lt_pp_next_entry(&jp->core);
		rc = legacy ? legacy_entry(jp, json_array_get(values, i))
			    : v1_entry(jp, json_array_get(values, i));
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* A stream of either format; shape errors refuse the push, label
 * errors reject the stream. */
static int
stream(struct json_parse *jp, json_t *st)
{
	struct lt_push_parse *p = &jp->core;
	json_t *labels, *values;
	int legacy, rc;

	lt_pp_begin_stream(p);
	if (!json_is_object(st))
		return lt_pp_fail(p, "not an object");
	legacy = json_object_get(st, "stream") == NULL &&
		 json_object_get(st, "labels") != NULL;
	labels = json_object_get(st, legacy ? "labels" : "stream");
	values = json_object_get(st, legacy ? "entries" : "values");
	if (labels == NULL)
		return lt_pp_fail(p, "no \"stream\" object of labels");
	if (legacy ? !json_is_string(labels) : !json_is_object(labels))
		return lt_pp_fail(p, legacy ? "\"labels\" is not a string"
					    : "\"stream\" is not an object");
	if (values == NULL)
		return lt_pp_fail(p, legacy ? "no \"entries\" array"
					    : "no \"values\" array");
	if (!json_is_array(values))
		return lt_pp_fail(p, legacy ? "\"entries\" is not an array"
					    : "\"values\" is not an array");
	if (legacy)
		rc = lt_pp_stream_text(p, json_string_value(labels),
				       json_string_length(labels),
				       json_array_size(values));
	else
		rc = v1_labels(jp, labels, json_array_size(values));
	if (rc != 0)
		return rc < 0 ? -1 : 0;
	return entries(jp, values, legacy);
}

int
lt_push_parse_json(const char *body, size_t len,
		   const struct lt_limits *limits, int64_t now_ns,
		   const struct lt_sink *sink, struct lt_push_result *res)
{
	struct json_parse jp;
	struct lt_push_parse *p = &jp.core;
	json_error_t jerr;
	json_t *root, *streams;
	size_t i, n;
	int rc = -1;

	memset(&jp, 0, sizeof(jp));
	lt_pp_init(p, limits, now_ns, sink, res);
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
			  &jerr);
	if (root == NULL) {
		rc = lt_pp_fail(p, "malformed JSON at line %d, column %d "
				"(byte %d): %s", jerr.line, jerr.column,
				jerr.position, jerr.text);
		goto out;
	}
	streams = json_is_object(root) ? json_object_get(root, "streams") : NULL;
	if (!json_is_object(root))
		(void)lt_pp_fail(p, "the body is not a JSON object");
	else if (streams == NULL)
		(void)lt_pp_fail(p, "no \"streams\" array");
	else if (!json_is_array(streams))
		(void)lt_pp_fail(p, "\"streams\" is not an array");
	else
		rc = 0;
	n = rc == 0 ? json_array_size(streams) : 0;
	for (i = 0; i < n && rc == 0; i++)
		rc = stream(&jp, json_array_get(streams, i));
out:
	json_decref(root);
	free(jp.meta);
	lt_pp_free(p);
	return rc < 0 ? -1 : 0;
}
