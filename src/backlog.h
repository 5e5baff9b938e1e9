/* The spool as logthra-flush --status and the metrics file see it: the
 * files waiting per tenant and state, and who holds the flush lock, both
 * read without taking the lock or changing the spool.  The report is in
 * logthra-flush(1). */
#ifndef LOGTHRA_BACKLOG_H
#define LOGTHRA_BACKLOG_H

#include <stddef.h>
#include <stdint.h>

/* --- the backlog --- */

enum lt_backlog_state {
	LT_BL_READY,
	LT_BL_DEFERRED,
	LT_BL_ACTIVE,
	LT_BL_QUARANTINE,
	LT_BL_STATES
};

/* The directory of each state, "ready" to "quarantine", which is also
 * its name in the metrics. */
extern const char *const lt_backlog_state_dirs[LT_BL_STATES];

struct lt_backlog_tenant {
	char *tenant;
	size_t files[LT_BL_STATES];
	/* Of the waiting files, those of ready/, deferred/ and active/: */
	uint64_t entries;     /* from their END records */
	uint64_t bytes;       /* their sizes */
	size_t incomplete;    /* without a valid END: their entries are unknown */
	int64_t oldest_ns;    /* received_ns of the oldest; 0: none waits */
	int64_t next_retry_s; /* the earliest mtime in deferred/; 0: none */
	size_t deferred_due;  /* deferred files whose retry time has come */
};

struct lt_backlog {
	struct lt_backlog_tenant *v;  /* sorted by tenant */
	size_t n;
	struct lt_backlog_tenant total; /* tenant NULL */
};

/* Counts the spool's files per tenant and state, reading only the names
 * and the last 25 bytes of each waiting file.  Not a snapshot: files
 * that a running flush moves meanwhile may be counted twice or not at
 * all.  Returns 0, or an errno value with err set when the spool cannot
 * be read. */
int lt_backlog_scan(const char *spool, int64_t now_s, struct lt_backlog *b,
		    char *err, size_t errlen);
void lt_backlog_free(struct lt_backlog *b);

/* --- the flush lock --- */

/* Whether a process holds a lock on SPOOL/flush.lock, from the kernel's
 * table of locks (proc_locks: "/proc/locks"), which is read without
 * taking or testing any lock and so cannot disturb a flush.  Returns 1
 * with *pid the holder (0 when not shown), 0 when none does or the file
 * does not exist, -1 when it cannot tell (err says why). */
int lt_lock_holder(const char *spool, const char *proc_locks, long *pid,
		   char *err, size_t errlen);

#endif
