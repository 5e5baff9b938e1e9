/* logthra-flush's one run: claim spool files, insert them into
 * ClickHouse in batches, remove them once ClickHouse has them. */
#ifndef LOGTHRA_FLUSH_H
#define LOGTHRA_FLUSH_H

#include <stddef.h>

#include "options.h"

/* Exit statuses, from sysexits.h. */
#define LT_EX_OK 0
#define LT_EX_ERROR 1
#define LT_EX_DATAERR 65
#define LT_EX_TEMPFAIL 75

struct lt_flush_stats {
	size_t files;   /* spool files inserted and removed */
	size_t rows;
	size_t bytes;   /* RowBinary bytes sent */
	size_t corrupt; /* files that failed their check, left in ready/ */
	size_t batches;
};

/* Runs one flush.  Returns an exit status: LT_EX_OK, LT_EX_DATAERR when a
 * file was corrupt (the rest were flushed), LT_EX_TEMPFAIL when
 * ClickHouse failed or another run holds the lock, LT_EX_ERROR on local
 * errors.  Errors are logged. */
int lt_flush_run(const struct lt_options *o, struct lt_flush_stats *st);

#endif
