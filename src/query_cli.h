/* logthra-query as a terminal command: a log query's answer (Loki's
 * JSON) printed as lines, the way logcli prints them by default. */
#ifndef LOGTHRA_QUERY_CLI_H
#define LOGTHRA_QUERY_CLI_H

#include <stddef.h>
#include <stdio.h>

/* Reads {"status":"success","data":{"resultType":"streams","result":
 * [{"stream":{...},"values":[["ns","line"],...]},...]}} and prints
 * every entry as
 *
 *	2024-05-01T12:00:00Z {app="api", env="prod"} the line
 *
 * in time order across streams (newest first unless forward), the time
 * in RFC3339 in the local time zone (TZ), labels as Loki writes a label
 * set, padded to the longest, the line without its trailing newline.
 * Returns the number of entries, or -1 with a message in err when the
 * answer is not such a document or out of memory. */
long lt_query_print_lines(const char *json, size_t len, int forward,
			  FILE *out, char *err, size_t errlen);

#endif
