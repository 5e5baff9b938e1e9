/* The level of a log entry as Loki's distributor decides it at ingestion
 * (pkg/distributor/field_detection.go, Loki 3.7), stored as structured
 * metadata named detected_level.  Grafana's log volume, Explore's level
 * colours and Logs Drilldown read that name.
 *
 * Loki's order, first answer wins:
 *   1. the entry's metadata already holds detected_level: its value is
 *      normalized and nothing is added (the caller does this step);
 *   2. a stream label of LT_LEVEL_FIELDS, in that list's order:
 *      its value, normalized;
 *   3. an item of structured metadata of LT_LEVEL_FIELDS, likewise;
 *   4. structured metadata severity_number (OpenTelemetry's severity
 *      number): 1-4 trace, 5-8 debug, 9-12 info, 13-16 warn, 17-20
 *      error, 21-24 fatal, 0 and above 24 unknown, not a number info;
 *   5. the line: a JSON object's first string field of LT_LEVEL_FIELDS
 *      (two levels of objects deep), else a logfmt line's field of
 *      LT_LEVEL_FIELDS (compared without case), when its value is a
 *      level word; else the first of the words trace, debug, fatal,
 *      critical, error, err, warning, warn, info that stands alone in
 *      the line (compared without case); else unknown.
 *
 * Normalizing maps trace/trc, debug/dbg, info/inf/information,
 * warn/wrn/warning, error/err, critical and fatal, in any case, to
 * trace, debug, info, warn, error, critical and fatal; any other value
 * is kept as it is.  Metadata with an empty value counts as absent, as
 * Loki drops it before detection. */
#ifndef LOGTHRA_LEVEL_H
#define LOGTHRA_LEVEL_H

#include <stddef.h>

#include "push.h"

/* The structured metadata name Loki gives the level. */
#define LT_LEVEL_NAME "detected_level"
#define LT_LEVEL_NAME_LEN (sizeof(LT_LEVEL_NAME) - 1)

/* The names a level may come under, in Loki's order of preference
 * (validation.DefaultAllowedLevelFields). */
extern const char *const lt_level_fields[];
extern const size_t lt_level_n_fields;

/* Loki's normalizeLogLevel: a static level name, or v itself when it is
 * not a level word.  *out_len gets the result's length. */
const char *lt_level_normalize(const char *v, size_t len, size_t *out_len);

/* Steps 2 to 5 above: the level for an entry of a stream.  Returns a
 * static string or a value of labels or md (never NUL-terminated then;
 * *len says how long), or NULL when the level found is empty and Loki
 * adds none. */
const char *lt_level_detect(const struct lt_label *labels, size_t n_labels,
			    const struct lt_label *md, size_t n_md,
			    const char *line, size_t line_len, size_t *len);

/* Step 5 alone: the level of a line. */
const char *lt_level_of_line(const char *line, size_t len);

/* The last resort of step 5 alone (Loki's detectLevelFromLogLine): the
 * first level word standing alone in the line, or "unknown". */
const char *lt_level_of_words(const char *line, size_t len);

#endif
