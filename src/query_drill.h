/* The parts of query_drill.c (Grafana's volume, detected labels and
 * detected fields) that its unit tests reach without ClickHouse: how a
 * value's type is told, and the fields of a set of entries found and
 * written as Loki's detected_fields answer. */
#ifndef LOGTHRA_QUERY_DRILL_H
#define LOGTHRA_QUERY_DRILL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "push.h"

/* Loki's type of a field's value (queryrange determineType): the first
 * of Go's strconv.ParseInt (base 10) "int", ParseFloat "float",
 * ParseBool "boolean", time.ParseDuration "duration", go-humanize's
 * ParseBytes "bytes" that reads it, else "string". */
const char *lt_field_type(const char *v, size_t len);

/* go-humanize's ParseBytes ("42", "1.5 GiB", "10mb", "1,024 k"): 0
 * with *bytes, or -1. */
int lt_humanize_parse_bytes(const char *v, size_t len, uint64_t *bytes);

/* go-humanize's Bytes (SI): "9 B", "1.5 kB", "82 MB". */
void lt_humanize_bytes(uint64_t bytes, char *buf, size_t len);

/* The fields of entries, as Loki's detected_fields finds them: each
 * entry's structured metadata, the labels the query's own parsers added,
 * and what json (or, when the line is no JSON object, logfmt) finds in
 * the line; at most field_limit fields.  With values_of, that field's
 * values instead (/detected_field/NAME/values), at most field_limit.
 * Entries are kept until written: their number is the query's line
 * limit. */
struct lt_fields;

struct lt_fields *lt_fields_new(size_t field_limit, const char *values_of,
				char *why, size_t whylen);
void lt_fields_free(struct lt_fields *f);

/* One entry: its stream's labels and structured metadata (each sorted by
 * name), the labels the query's pipeline left it with (stream labels,
 * metadata and parsed labels together, sorted) and its line as the
 * pipeline left it.  Returns 0, or -1 when out of memory. */
struct lt_fields_entry {
	int64_t ts_ns;
	const struct lt_label *stream;
	size_t n_stream;
	const struct lt_label *metadata;
	size_t n_metadata;
	const struct lt_label *labels;
	size_t n_labels;
	const char *line;
	size_t line_len;
};

int lt_fields_add(struct lt_fields *f, const struct lt_fields_entry *e);

/* Appends the answer: {"fields":[{"label":..,"type":..,"cardinality":N,
 * "parsers":[..]|null[,"jsonPath":[..]]},...],"limit":N}, fields by
 * label; {"limit":N,"values":[..]} sorted; {} when there is none.  The
 * entries are read in the order of Loki's answer to the log query
 * (streams by their labels' text, each one's entries newest first), as
 * the last entry read sets a field's type.  Returns 0, or -1 when out of
 * memory. */
int lt_fields_write(struct lt_fields *f, struct lt_buf *out);

#endif
