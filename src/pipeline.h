/* A LogQL pipeline run on one entry at a time, in C: the stages of a log
 * query that ClickHouse did not do (query_sql.h says which it did).
 * Parsers add labels, label filters and line filters drop entries,
 * formats rewrite the line or labels, all as Loki's pkg/logql/log does:
 * a parsed label whose name a stream label has already is named
 * NAME_extracted (one of structured metadata is replaced); a parser that fails sets __error__
 * (JSONParserErr, LogfmtParserErr, ...) and __error_details__; a label
 * filter that cannot read its label as a number sets __error__ too
 * (LabelFilterErr); an entry with __error__ is kept, and a later
 * `| __error__=""` filter drops it. */
#ifndef LOGTHRA_PIPELINE_H
#define LOGTHRA_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "logql.h"
#include "push.h"

struct lt_pipeline;

/* One entry, as read from the table. */
struct lt_pl_input {
	int64_t ts_ns;
	const char *line;
	size_t line_len;
	const struct lt_label *labels;    /* stream labels, sorted by name */
	size_t n_labels;
	const struct lt_label *metadata;  /* structured metadata, sorted by name */
	size_t n_metadata;
};

/* What is left of it: the line and the labels of the stream it belongs
 * to in the answer (stream labels, structured metadata and parsed labels
 * together, sorted by name, no duplicates).  Valid until the next
 * lt_pipeline_run() or lt_pipeline_free(). */
struct lt_pl_output {
	const char *line;
	size_t line_len;
	const struct lt_label *labels;
	size_t n_labels;
	double value;       /* the unwrapped value (lt_pipeline_unwrap()), or 0 */
};

/* Limits per entry, so one entry cannot take unbounded memory or time. */
#define LT_PL_MAX_LINE   (1 << 20)  /* bytes a line_format may write */
#define LT_PL_MAX_LABELS 1024       /* labels an entry may have */

/* Compiles the stages of q whose skip[i] is 0 (skip may be NULL: run
 * every stage): regexes (PCRE2, with match limits), templates, patterns.
 * Returns NULL with why set when one does not compile (a 400 for the
 * client: "invalid regexp ...", the template's error), or "out of
 * memory".  The pipeline keeps copies of what it needs: q may be freed
 * once it is made. */
struct lt_pipeline *lt_pipeline_new(const struct lt_logql *q,
				    const unsigned char *skip, char *why,
				    size_t whylen);
void lt_pipeline_free(struct lt_pipeline *p);

/* Runs the pipeline on in.  Returns 1 and fills *out when the entry is
 * kept, 0 when a filter dropped it, -1 when memory ran out. */
int lt_pipeline_run(struct lt_pipeline *p, const struct lt_pl_input *in,
		    struct lt_pl_output *out);

/* For a metric query over unwrapped values (| unwrap label,
 * | unwrap duration(label), | unwrap bytes(label), then label filters):
 * after the stages, out->value is the label's value as conv reads it
 * (Go's strconv.ParseFloat, time.ParseDuration in seconds, go-humanize's
 * ParseBytes).  As Loki's labelSampleExtractor: an entry whose label is
 * absent or empty is dropped; one whose value does not convert gets
 * __error__="SampleExtractionErr" and __error_details__ (Go's message)
 * and the value 0; then post (may be NULL), the label filters written
 * after the unwrap, runs.  Returns 0, or -1 with why set (a regex of
 * post that does not compile, "out of memory"). */
int lt_pipeline_unwrap(struct lt_pipeline *p, const char *label,
		       enum lt_unwrap_conv conv,
		       const struct lt_label_filter *post, char *why,
		       size_t whylen);

/* Whether the pipeline keeps every entry (no filters left to run): then
 * the SQL may apply the query's limit itself. */
int lt_pipeline_keeps_all(const struct lt_pipeline *p);

#endif
