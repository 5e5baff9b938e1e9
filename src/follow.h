/* logthra-flush --follow: a flush pass runs as soon as spool files
 * arrive, woken by inotify(7), instead of when a timer fires. */
#ifndef LOGTHRA_FOLLOW_H
#define LOGTHRA_FOLLOW_H

#include <signal.h>
#include <stdint.h>

#include "options.h"

/* The longest wait between two passes, in milliseconds:
 * min(retry_min_delay, 30 s), but at least 1 s.  It lets deferred files
 * be retried when they are due, and finds files whose event was lost
 * (the kernel's event queue overflowed, or a watch could not be added). */
#define LT_FOLLOW_MAX_INTERVAL_MS 30000
#define LT_FOLLOW_MIN_INTERVAL_MS 1000
int64_t lt_follow_interval_ms(const struct lt_options *o);

/* Watches o->spool: SPOOL/tenants for new tenants and every
 * SPOOL/tenants/TENANT/ready for new files (IN_MOVED_TO, IN_CLOSE_WRITE,
 * IN_CREATE).  Runs pass(ctx) once, then again after every wake-up: a
 * new file or tenant (after a further o->follow_delay_ms, so that a
 * burst of pushes makes one pass), an overflow of the event queue (at
 * once), or lt_follow_interval_ms() without either.  pass's return value
 * is not looked at: whatever it left is tried again by a later pass.
 *
 * Returns 0 once *stop is set, which is checked before every pass and
 * while waiting; a pass is never cut short.  Returns -1 (logged) when
 * the spool cannot be watched at all.
 *
 * The signals whose handlers set *stop should be blocked by the caller,
 * and wait_mask (as for ppoll(2)) be the signal mask to wait with, one
 * that lets them through: then such a signal arrives only while
 * lt_follow() waits, never inside a pass, and is never lost between the
 * check of *stop and the wait.  NULL waits with the current mask. */
int lt_follow(const struct lt_options *o, int (*pass)(void *ctx), void *ctx,
	      volatile sig_atomic_t *stop, const sigset_t *wait_mask);

#endif
