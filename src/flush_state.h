/* What logthra-flush records after each run: the state file
 * SPOOL/flush.state (format in logthra-spool(5)), and the metrics file
 * for node_exporter's textfile collector (in logthra-flush(1)), which
 * adds the backlog and the receiver's counters to the state. */
#ifndef LOGTHRA_FLUSH_STATE_H
#define LOGTHRA_FLUSH_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "backlog.h"
#include "buf.h"
#include "flush.h"
#include "options.h"

#define LT_STATE_FILE "flush.state"
#define LT_STATE_VERSION 1

/* --- the state file --- */

struct lt_state_tenant {
	char *tenant;
	uint64_t entries;   /* of spool files flushed, over all runs */
	uint64_t bytes;     /* spool bytes of those files */
	uint64_t files;
};

struct lt_state {
	int64_t last_run_time;        /* unix seconds the run ended; 0: none */
	int64_t last_run_duration_us;
	int last_exit_status;
	int64_t last_success_time;    /* of the last run that ended with 0 */
	int64_t last_error_time;      /* of the last run that logged an error */
	char *last_error;             /* its last error, one line; NULL: none */
	uint64_t runs;
	uint64_t failures;            /* runs that did not end with 0 */
	struct lt_state_tenant *tenants; /* sorted by tenant */
	size_t n_tenants;
};

void lt_state_free(struct lt_state *s);

/* Parses the text of a state file into *s (emptied first).  Returns 0,
 * or -1 with the reason in err and *s empty. */
int lt_state_parse(struct lt_state *s, const char *text, size_t len,
		   char *err, size_t errlen);
/* Appends the text of a state file. Returns 0 or -1 (out of memory). */
int lt_state_format(const struct lt_state *s, struct lt_buf *out);

/* Reads SPOOL/flush.state.  Returns 0, ENOENT when there is none (no run
 * recorded), -1 when it is corrupt, or another errno value when it
 * cannot be read; err says why in the last two cases, and *s is empty
 * whenever it is not 0. */
int lt_state_read(const char *spool, struct lt_state *s, char *err,
		  size_t errlen);
/* Writes SPOOL/flush.state durably and atomically: flush.state.tmp,
 * fsync, rename, fsync SPOOL.  Only with the flush lock held.  Returns 0
 * or an errno value with err set. */
int lt_state_write(const char *spool, const struct lt_state *s, char *err,
		   size_t errlen);
/* Adds one run: its end time, duration, exit status, its last error
 * (NULL or "" for none) and the per-tenant counts.  Returns 0 or -1
 * (out of memory). */
int lt_state_add_run(struct lt_state *s, const struct lt_flush_stats *st,
		     int status, int64_t end_s, int64_t duration_us,
		     const char *error);
/* The tenant's counts in s, or NULL when it has none. */
const struct lt_state_tenant *lt_state_tenant_find(const struct lt_state *s,
						   const char *tenant);

/* Seconds with six decimals, from microseconds, without floating point:
 * the last run's duration in the metrics and in --status --json.
 * Returns 0 or -1. */
int lt_append_seconds_us(struct lt_buf *out, int64_t us);

/* --- the metrics file --- */

/* The metrics file's text, from the state and the backlog. */
int lt_metrics_format(struct lt_buf *out, const struct lt_state *s,
		      const struct lt_backlog *b, int64_t now_s);
/* Writes text to path atomically: path.tmp in its directory, renamed.
 * Returns 0 or an errno value with err set. */
int lt_metrics_write(const char *path, const struct lt_buf *text, char *err,
		     size_t errlen);

/* --- after a run --- */

/* After a run, under the flush lock: adds the run to SPOOL/flush.state
 * and, with metrics_file set, writes the metrics.  A corrupt state file
 * is warned about and started afresh; every failure here is a warning,
 * never the run's failure. */
void lt_state_record_run(const struct lt_options *o,
			  const struct lt_flush_stats *st, int status,
			  int64_t end_s, int64_t duration_us, const char *error);

#endif
