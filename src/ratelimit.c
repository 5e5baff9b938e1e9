/* Per-tenant ingestion rate limits: GCRA on one timestamp in
 * SPOOL/rate/TENANT, updated under flock(2) (ratelimit.h). */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fdio.h"
#include "ratelimit.h"

/*
 * GCRA with T = 1e9 / rate ns per byte and tau = burst * T.  T is rarely
 * a whole number of nanoseconds, so instead of T and tau the arithmetic
 * works on d = max(tat, now) - now, the bucket's debt in ns, multiplied
 * through by rate: a take is allowed iff
 *
 *	d * rate + cost * 1e9 <= burst * 1e9
 *
 * which is exact.  Everything is 128-bit: cost * 1e9 and burst * 1e9 are
 * below 2^94, and d is bounded (below) so that d * rate stays small.
 *
 * Only the new TAT has to be rounded to whole ns, and it is rounded
 * down: a take is undercharged by less than 1 ns, i.e. by less than
 * rate / 1e9 bytes (under one byte below 1 GB/s).  Rounding up instead
 * would make the errors add up against the tenant, so that a full burst
 * taken in small pieces could be refused before it is spent.
 */

#define NS_PER_S 1000000000u

typedef unsigned __int128 u128;

/* How far a TAT may lie beyond now + tau before it is taken for a
 * clock step or garbage rather than a stale now (see gcra()). */
#define CLOCK_SLACK_NS ((u128)10 * NS_PER_S)

/* The state file holds the TAT as the 8 little-endian bytes of an
 * int64; convert without relying on implementation-defined casts. */
static int64_t
tat_of(const unsigned char *p)
{
	uint64_t v = lt_load_u64le(p);

	if (v <= INT64_MAX)
		return (int64_t)v;
	return -(int64_t)(UINT64_MAX - v) - 1;
}

static void
tat_store(unsigned char *p, int64_t tat)
{
	uint64_t v = (uint64_t)tat; /* modular: well defined */
	size_t i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static int64_t
tat_add(int64_t now, u128 ns)
{
	__int128 t = (__int128)now + (__int128)ns;

	/* Past INT64_MAX only with tau beyond year 2262 (a burst of
	 * centuries): saturate, forgiving what lies past it. */
	return t > INT64_MAX ? INT64_MAX : (int64_t)t;
}

/*
 * The decision, on the TAT read (have_tat 0: no valid state, a full
 * bucket).  Sets *allowed, and *retry_after_s when refused.  Returns 1
 * with *new_tat set when the state must be written, else 0.
 */
static int
gcra(int have_tat, int64_t tat, uint64_t rate, uint64_t burst, uint64_t cost,
     int64_t now, int *allowed, int64_t *new_tat, int64_t *retry_after_s)
{
	u128 tau, d, need, limit, wait;
	int clamped = 0;

	tau = (u128)burst * NS_PER_S / rate; /* tau in whole ns, floored */
	d = 0;
	if (have_tat && tat > now)
		d = (uint64_t)tat - (uint64_t)now; /* modular: exact */
	/*
	 * Under a steady clock every allowed take leaves tat - now <= tau,
	 * but callers read the clock before they queue for the lock, so a
	 * take may come in with a now a little older than the last one's
	 * and see tat a little beyond now + tau.  That is still a valid
	 * debt, only measured from a stale now, and must be kept whole.
	 *
	 * A TAT beyond now + tau + CLOCK_SLACK_NS is taken to mean the
	 * clock stepped back, the limits were lowered, or the file is
	 * garbage, and is clamped to now + tau: an empty bucket that
	 * starts refilling now.  The tenant then waits at most a burst's
	 * refill time (as after spending a whole burst) plus the slack,
	 * instead of for the size of the clock step, or until 2262 for
	 * garbage; and an empty bucket, unlike a reset to full, never lets
	 * more through than the limit would.  The clamped TAT is written
	 * back even when the take is refused: clamped afresh against each
	 * later now, the bucket would stay empty for as long as the bad
	 * TAT lies ahead.  That is the only write on a refusal, and it
	 * does not change what the bucket holds, only how it is stored.
	 * (A take whose now is stale by more than the slack forgives that
	 * much debt; it cannot be told from a clock step.)  The bound on d
	 * keeps d * rate below 2^99, need well inside 128 bits.
	 */
	if (d > tau + CLOCK_SLACK_NS) {
		d = tau;
		clamped = 1;
	}
	need = d * rate + (u128)cost * NS_PER_S;
	limit = (u128)burst * NS_PER_S;
	if (need <= limit) {
		*allowed = 1;
		*new_tat = tat_add(now, need / rate);
		return 1;
	}
	*allowed = 0;
	*new_tat = tat_add(now, d);
	if (cost > burst) {
		*retry_after_s = 0; /* can never fit */
		return clamped;
	}
	/* The first whole second s where (d - s * 1e9) * rate + cost * 1e9
	 * <= burst * 1e9; need > limit, so it is at least 1. */
	wait = (need - limit + (u128)rate * NS_PER_S - 1) /
	       ((u128)rate * NS_PER_S);
	if (wait < 1)
		wait = 1;
	*retry_after_s = wait > (u128)INT64_MAX ? INT64_MAX : (int64_t)wait;
	return clamped;
}

static int
lock_fd(int fd)
{
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

/* Reads the state: returns 1 with *tat set, 0 when the file is not
 * exactly 8 bytes long (a full bucket), -1 on error.  *size is set to
 * what was found, up to 9. */
static int
read_state(int fd, int64_t *tat, size_t *size)
{
	unsigned char p[9];
	ssize_t got;

	got = lt_fd_pread_all(fd, p, sizeof(p), 0);
	if (got < 0)
		return -1;
	*size = (size_t)got;
	if (got != 8)
		return 0;
	*tat = tat_of(p);
	return 1;
}

static int
write_state(int fd, int64_t tat, size_t old_size)
{
	unsigned char p[8];

	tat_store(p, tat);
	if (lt_fd_pwrite_all(fd, p, sizeof(p), 0) < 0)
		return -1;
	if (old_size > sizeof(p) && ftruncate(fd, (off_t)sizeof(p)) < 0)
		return -1;
	return 0;
}

/* Creates SPOOL/rate, and the spool itself when it does not exist yet,
 * as the spool writer would.  Group-writable like the rest of the spool:
 * receivers started by different users of the spool's group share the
 * buckets.  Returns 0, or -1 with errno set. */
static int
make_rate_dir(const char *spool, const char *dir)
{
	if (mkdir(dir, 0770) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT || (mkdir(spool, 0770) < 0 && errno != EEXIST))
		return -1;
	return mkdir(dir, 0770) == 0 || errno == EEXIST ? 0 : -1;
}

int
lt_rate_take(const char *spool, const char *tenant, uint64_t rate,
	     uint64_t burst, uint64_t cost, int64_t now_ns, int *allowed,
	     int64_t *retry_after_s, char *err, size_t errlen)
{
	char dir[PATH_MAX], path[PATH_MAX];
	const char *what;
	struct stat st;
	size_t size;
	int64_t tat = 0, new_tat = 0;
	int fd, have, n, rc = 0;

	/* On errors both stay 0: whether to let the request through is
	 * the caller's call. */
	*allowed = 0;
	*retry_after_s = 0;
	if (rate == 0) {
		*allowed = 1;
		return 0;
	}
	if (cost > burst) /* never fits: answer without touching the state */
		return 0;
	/* The caller validated the name; still, never leave SPOOL/rate. */
	if (*tenant == '\0' || strchr(tenant, '/') != NULL ||
	    strcmp(tenant, ".") == 0 || strcmp(tenant, "..") == 0) {
		(void)snprintf(err, errlen, "invalid tenant name \"%s\"", tenant);
		return EINVAL;
	}
	n = snprintf(dir, sizeof(dir), "%s/rate", spool);
	if (n < 0 || (size_t)n >= sizeof(dir) ||
	    (n = snprintf(path, sizeof(path), "%s/%s", dir, tenant)) < 0 ||
	    (size_t)n >= sizeof(path)) {
		(void)snprintf(err, errlen, "rate-limit state path too long");
		return ENAMETOOLONG;
	}
	if (make_rate_dir(spool, dir) < 0) {
		rc = errno;
		(void)snprintf(err, errlen,
			       "could not create directory \"%s\": %s", dir,
			       strerror(rc));
		return rc;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0660);
	if (fd < 0) {
		rc = errno;
		(void)snprintf(err, errlen,
			       "could not open rate-limit state \"%s\": %s",
			       path, strerror(rc));
		return rc;
	}
	what = "lock";
	if (lock_fd(fd) < 0)
		goto fail;
	what = "read";
	if (fstat(fd, &st) < 0)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	if ((have = read_state(fd, &tat, &size)) < 0)
		goto fail;
	what = "write";
	if (gcra(have, tat, rate, burst, cost, now_ns, allowed, &new_tat,
		 retry_after_s) && write_state(fd, new_tat, size) < 0)
		goto fail;
	/* close() releases the lock; a failure here may mean the write
	 * did not land. */
	if (close(fd) < 0) {
		fd = -1;
		what = "close";
		goto fail;
	}
	return 0;
fail:
	rc = errno;
	if (fd >= 0)
		(void)close(fd);
	*allowed = 0;
	*retry_after_s = 0;
	(void)snprintf(err, errlen, "could not %s rate-limit state \"%s\": %s",
		       what, path, strerror(rc));
	return rc;
}
