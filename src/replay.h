/* logthra-replay: recovery of interrupted work. */
#ifndef LOGTHRA_REPLAY_H
#define LOGTHRA_REPLAY_H

#include <stddef.h>

#include "options.h"

struct lt_recover_stats {
	size_t unclaimed;   /* files moved from active/ back to ready/ */
	size_t tmp_removed; /* stale receiver temp files removed */
	size_t archives_removed; /* half-written archives removed */
};

/* Takes the flush lock, moves every tenant's claimed files to deferred/
 * (due at once; the next flush asks ClickHouse what it holds of them),
 * removes receiver temp files older than o->tmp_max_age_s and
 * half-written archives.  Returns an exit status as lt_flush_run()
 * does. */
int lt_recover(const struct lt_options *o, struct lt_recover_stats *st);

#endif
