/* logthra-replay: recovery of interrupted work. */
#ifndef LOGTHRA_REPLAY_H
#define LOGTHRA_REPLAY_H

#include <stddef.h>

#include "options.h"

struct lt_recover_stats {
	size_t unclaimed;   /* files moved from active/ back to ready/ */
	size_t tmp_removed; /* stale receiver temp files removed */
};

/* Takes the flush lock, returns every tenant's claimed files to ready/
 * and removes temp files older than o->tmp_max_age_s.  Returns an exit
 * status as lt_flush_run() does. */
int lt_recover(const struct lt_options *o, struct lt_recover_stats *st);

#endif
