/* Per-tenant ingestion rate limits that hold across processes.  CGI and
 * inetd start a short-lived logthra-recv per request, so the state lives
 * in the spool: SPOOL/rate/TENANT holds one number, the bucket's
 * theoretical arrival time (GCRA, the generic cell rate algorithm, a
 * token bucket in one timestamp), read and updated under flock(2).  It is
 * not data: losing it only resets the tenant's bucket to full. */
#ifndef LOGTHRA_RATELIMIT_H
#define LOGTHRA_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

/* Takes cost bytes from the tenant's bucket, which fills at rate bytes
 * per second up to burst bytes (rate 0: no limit, always allowed, no
 * file touched).  Sets *allowed to 1 and updates the state; or sets it
 * to 0, leaves the state unchanged and sets *retry_after_s to the whole
 * seconds (at least 1) until cost bytes will be there, or 0 when cost is
 * larger than burst and can never be.  Creates SPOOL/rate (0770) and the
 * tenant's file (0660) when missing, group-shared like the spool; a file
 * of the wrong size reads as a full bucket.  Returns 0, or an errno
 * value with err set. */
int lt_rate_take(const char *spool, const char *tenant, uint64_t rate,
		 uint64_t burst, uint64_t cost, int64_t now_ns, int *allowed,
		 int64_t *retry_after_s, char *err, size_t errlen);

#endif
