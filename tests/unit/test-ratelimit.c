/* Unit tests: per-tenant GCRA rate limits kept in the spool. */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "ratelimit.h"
#include "spool.h"
#include "testutil.h"

#define S INT64_C(1000000000)
#define T0 (INT64_C(1700000000) * S) /* a fake "now" */

static char spool[64];
static char ratedir[128];

static void
setup(void)
{
	tu_tmpdir(spool, sizeof(spool), "test-ratelimit");
	(void)snprintf(ratedir, sizeof(ratedir), "%s/rate", spool);
}

static void
teardown(void)
{
	ck_assert_int_eq(tu_rm_rf(spool), 0);
}

static const char *
state_path(const char *tenant)
{
	static char path[256];

	(void)snprintf(path, sizeof(path), "%s/%s", ratedir, tenant);
	return path;
}

/* The file's bytes: returns its length (-1 when missing). */
static ssize_t
read_state(const char *tenant, unsigned char *p, size_t cap)
{
	ssize_t n;
	int fd;

	fd = open(state_path(tenant), O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, p, cap);
	ck_assert_int_ge(n, 0);
	ck_assert_int_eq(close(fd), 0);
	return n;
}

static int64_t
stored_tat(const char *tenant)
{
	unsigned char p[16];

	ck_assert_int_eq(read_state(tenant, p, sizeof(p)), 8);
	return (int64_t)lt_load_u64le(p);
}

static void
write_state(const char *tenant, const void *p, size_t len)
{
	(void)mkdir(ratedir, 0750);
	tu_write_file(state_path(tenant), p, len, 0640);
}

static void
write_tat(const char *tenant, int64_t tat)
{
	unsigned char p[8];
	uint64_t v = (uint64_t)tat;
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
	write_state(tenant, p, sizeof(p));
}

/* One take that must succeed (rc 0); returns allowed, sets *retry. */
static int
take(const char *tenant, uint64_t rate, uint64_t burst, uint64_t cost,
     int64_t now, int64_t *retry)
{
	char err[512] = "";
	int allowed = -1;
	int64_t r = -1;
	int rc;

	rc = lt_rate_take(spool, tenant, rate, burst, cost, now, &allowed, &r,
			  err, sizeof(err));
	ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
	ck_assert(allowed == 0 || allowed == 1);
	if (allowed)
		ck_assert_int_eq(r, 0);
	if (retry != NULL)
		*retry = r;
	return allowed;
}

START_TEST(test_burst_then_refuse)
{
	int64_t r;

	/* 1 byte/s, burst 10: all ten at once, then nothing. */
	ck_assert_int_eq(take("t", 1, 10, 10, T0, &r), 1);
	ck_assert(stored_tat("t") == T0 + 10 * S);
	ck_assert_int_eq(take("t", 1, 10, 1, T0, &r), 0);
	ck_assert_int_eq(r, 1);
	ck_assert_int_eq(take("t", 1, 10, 3, T0, &r), 0);
	ck_assert_int_eq(r, 3);
	ck_assert_int_eq(take("t", 1, 10, 10, T0, &r), 0);
	ck_assert_int_eq(r, 10);
	/* Half a byte back: still a whole second to wait. */
	ck_assert_int_eq(take("t", 1, 10, 1, T0 + S / 2, &r), 0);
	ck_assert_int_eq(r, 1);
	ck_assert(stored_tat("t") == T0 + 10 * S);
	/* Exactly when Retry-After said. */
	ck_assert_int_eq(take("t", 1, 10, 1, T0 + S - 1, &r), 0);
	ck_assert_int_eq(take("t", 1, 10, 1, T0 + S, &r), 1);
	ck_assert(stored_tat("t") == T0 + 11 * S);
}
END_TEST

START_TEST(test_burst_in_pieces)
{
	int64_t r;
	int i;

	/* 1000 B/s, burst 5000, in 1000-byte takes. */
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(take("t", 1000, 5000, 1000, T0, &r), 1);
	ck_assert_int_eq(take("t", 1000, 5000, 1, T0, &r), 0);
	ck_assert_int_eq(r, 1);
	ck_assert(stored_tat("t") == T0 + 5 * S);
}
END_TEST

/* T = 1e9 / 3 ns is not a whole number: rounding must not eat into the
 * burst when it is taken a byte at a time. */
START_TEST(test_uneven_interval)
{
	int64_t r;

	ck_assert_int_eq(take("t", 3, 3, 1, T0, &r), 1);
	ck_assert_int_eq(take("t", 3, 3, 1, T0, &r), 1);
	ck_assert_int_eq(take("t", 3, 3, 1, T0, &r), 1);
	ck_assert_int_eq(take("t", 3, 3, 1, T0, &r), 0);
	ck_assert_int_eq(r, 1);
	/* Undercharged by under 1 ns per take, never more. */
	ck_assert(stored_tat("t") == T0 + S - 1);
	ck_assert_int_eq(take("t", 3, 3, 3, T0 + S - 1, &r), 1);
	ck_assert_int_eq(take("t", 3, 3, 1, T0 + S - 1, &r), 0);
}
END_TEST

START_TEST(test_refill)
{
	int64_t r;

	ck_assert_int_eq(take("t", 1000, 5000, 5000, T0, &r), 1);
	/* 1 s later: 1000 bytes, no more. */
	ck_assert_int_eq(take("t", 1000, 5000, 1000, T0 + S, &r), 1);
	ck_assert_int_eq(take("t", 1000, 5000, 1, T0 + S, &r), 0);
	ck_assert_int_eq(r, 1);
	/* Half a second: 500 bytes. */
	ck_assert_int_eq(take("t", 1000, 5000, 501, T0 + 3 * S / 2, &r), 0);
	ck_assert_int_eq(take("t", 1000, 5000, 500, T0 + 3 * S / 2, &r), 1);
	ck_assert_int_eq(take("t", 1000, 5000, 1, T0 + 3 * S / 2, &r), 0);
	/* Waiting for 4000 bytes takes 4 s. */
	ck_assert_int_eq(take("t", 1000, 5000, 4000, T0 + 3 * S / 2, &r), 0);
	ck_assert_int_eq(r, 4);
	ck_assert_int_eq(take("t", 1000, 5000, 4000, T0 + 11 * S / 2, &r), 1);
}
END_TEST

START_TEST(test_idle_caps_at_burst)
{
	int64_t r;

	ck_assert_int_eq(take("t", 1000, 5000, 5000, T0, &r), 1);
	/* An hour idle buys 5000 bytes, not 3.6 MB. */
	ck_assert_int_eq(take("t", 1000, 5000, 5000, T0 + 3600 * S, &r), 1);
	ck_assert_int_eq(take("t", 1000, 5000, 1, T0 + 3600 * S, &r), 0);
	ck_assert_int_eq(r, 1);
	ck_assert(stored_tat("t") == T0 + 3605 * S);
}
END_TEST

START_TEST(test_cost_above_burst)
{
	unsigned char before[8], after[8];
	int64_t r;

	/* On a fresh spool: refused for good, nothing created. */
	ck_assert_int_eq(take("t", 1000, 5000, 5001, T0, &r), 0);
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(access(ratedir, F_OK), -1);
	/* On a full bucket with state: refused, state unchanged. */
	ck_assert_int_eq(take("t", 1000, 5000, 1000, T0, &r), 1);
	ck_assert_int_eq(read_state("t", before, sizeof(before)), 8);
	ck_assert_int_eq(take("t", 1000, 5000, 5001, T0 + 3600 * S, &r), 0);
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(read_state("t", after, sizeof(after)), 8);
	ck_assert_mem_eq(before, after, 8);
	/* burst 0: nothing but empty takes ever fit. */
	ck_assert_int_eq(take("z", 1000, 0, 1, T0, &r), 0);
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(take("z", 1000, 0, 0, T0, &r), 1);
}
END_TEST

START_TEST(test_refused_leaves_state)
{
	unsigned char before[8], after[8];
	struct stat st1, st2;
	int64_t r;

	ck_assert_int_eq(take("t", 1000, 5000, 4500, T0, &r), 1);
	ck_assert_int_eq(read_state("t", before, sizeof(before)), 8);
	ck_assert_int_eq(stat(state_path("t"), &st1), 0);
	ck_assert_int_eq(take("t", 1000, 5000, 1000, T0 + S / 10, &r), 0);
	ck_assert_int_eq(r, 1);
	ck_assert_int_eq(stat(state_path("t"), &st2), 0);
	ck_assert_int_eq(read_state("t", after, sizeof(after)), 8);
	ck_assert_mem_eq(before, after, 8);
	ck_assert(st1.st_mtim.tv_sec == st2.st_mtim.tv_sec &&
		  st1.st_mtim.tv_nsec == st2.st_mtim.tv_nsec);
	/* The refused 1000 did not count: 600 still fits. */
	ck_assert_int_eq(take("t", 1000, 5000, 600, T0 + S / 10, &r), 1);
}
END_TEST

START_TEST(test_rate_zero)
{
	char err[64] = "";
	int allowed = 0;
	int64_t r = -1;

	ck_assert_int_eq(lt_rate_take(spool, "t", 0, 0, UINT64_MAX, T0,
				      &allowed, &r, err, sizeof(err)),
			 0);
	ck_assert_int_eq(allowed, 1);
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(access(ratedir, F_OK), -1);
	/* Not even a spool is needed. */
	allowed = 0;
	ck_assert_int_eq(lt_rate_take("/nonexistent/spool", "t", 0, 10, 10,
				      T0, &allowed, &r, err, sizeof(err)),
			 0);
	ck_assert_int_eq(allowed, 1);
}
END_TEST

START_TEST(test_wrong_size_is_full)
{
	static const unsigned char junk[20] = {0xff, 0xff, 0xff};
	unsigned char p[32];
	int64_t r;

	write_state("short", junk, 3);
	ck_assert_int_eq(take("short", 1000, 5000, 5000, T0, &r), 1);
	ck_assert(stored_tat("short") == T0 + 5 * S);

	write_state("empty", junk, 0);
	ck_assert_int_eq(take("empty", 1000, 5000, 5000, T0, &r), 1);
	ck_assert(stored_tat("empty") == T0 + 5 * S);

	/* Too long: full, and rewritten to 8 bytes. */
	write_state("long", junk, sizeof(junk));
	ck_assert_int_eq(take("long", 1000, 5000, 5000, T0, &r), 1);
	ck_assert_int_eq(read_state("long", p, sizeof(p)), 8);
	ck_assert(stored_tat("long") == T0 + 5 * S);

	/* A wrong-size file that is refused stays as it was. */
	write_state("long2", junk, sizeof(junk));
	ck_assert_int_eq(take("long2", 1000, 5000, 5001, T0, &r), 0);
	ck_assert_int_eq(read_state("long2", p, sizeof(p)), 20);
}
END_TEST

/* A TAT more than 10 s beyond now + tau (clock stepped back, garbage)
 * reads as an empty bucket that refills from now, and is stored that
 * way; a little beyond (a stale now) is an ordinary debt. */
START_TEST(test_future_tat_clamped)
{
	int64_t r;

	write_tat("far", INT64_MAX);
	ck_assert_int_eq(take("far", 1000, 5000, 1000, T0, &r), 0);
	ck_assert_int_eq(r, 1);
	ck_assert(stored_tat("far") == T0 + 5 * S);
	ck_assert_int_eq(take("far", 1000, 5000, 1000, T0 + S, &r), 1);
	ck_assert_int_eq(take("far", 1000, 5000, 1, T0 + S, &r), 0);

	/* The clock stepped back an hour. */
	write_tat("back", T0 + 3600 * S);
	ck_assert_int_eq(take("back", 1000, 5000, 2000, T0, &r), 0);
	ck_assert_int_eq(r, 2);
	ck_assert_int_eq(take("back", 1000, 5000, 2000, T0 + 2 * S, &r), 1);

	/* Just past tau: a now read before queueing for the lock, a
	 * little older than the last take's.  The debt is kept whole. */
	write_tat("stale", T0 + 5 * S + S / 2);
	ck_assert_int_eq(take("stale", 1000, 5000, 1000, T0, &r), 0);
	ck_assert_int_eq(r, 2);
	ck_assert(stored_tat("stale") == T0 + 5 * S + S / 2);
	ck_assert_int_eq(take("stale", 1000, 5000, 1000, T0 + 3 * S / 2, &r),
			 1);
	ck_assert(stored_tat("stale") == T0 + 6 * S + S / 2);

	/* The edge: 10 s beyond now + tau is kept, 1 ns more clamped. */
	write_tat("edge", T0 + 15 * S);
	ck_assert_int_eq(take("edge", 1000, 5000, 1000, T0, &r), 0);
	ck_assert_int_eq(r, 11);
	ck_assert(stored_tat("edge") == T0 + 15 * S);
	write_tat("edge", T0 + 15 * S + 1);
	ck_assert_int_eq(take("edge", 1000, 5000, 1000, T0, &r), 0);
	ck_assert_int_eq(r, 1);
	ck_assert(stored_tat("edge") == T0 + 5 * S);

	/* Within tau: an ordinary partly empty bucket, left alone. */
	write_tat("near", T0 + 4 * S);
	ck_assert_int_eq(take("near", 1000, 5000, 2000, T0, &r), 0);
	ck_assert_int_eq(r, 1);
	ck_assert(stored_tat("near") == T0 + 4 * S);
	ck_assert_int_eq(take("near", 1000, 5000, 1000, T0, &r), 1);

	/* Far in the past (or negative garbage): full. */
	write_tat("past", INT64_MIN);
	ck_assert_int_eq(take("past", 1000, 5000, 5000, T0, &r), 1);
}
END_TEST

START_TEST(test_extremes)
{
	int64_t r;

	/* cost * T far beyond int64 ns: saturates, no overflow. */
	ck_assert_int_eq(take("a", 1, UINT64_MAX, UINT64_MAX, T0, &r), 1);
	ck_assert(stored_tat("a") == INT64_MAX);
	ck_assert_int_eq(take("a", 1, UINT64_MAX, 1, T0, &r), 1);
	/* T far below 1 ns. */
	ck_assert_int_eq(take("b", UINT64_MAX, UINT64_MAX, UINT64_MAX, T0, &r),
			 1);
	ck_assert(stored_tat("b") == T0 + S);
	ck_assert_int_eq(take("b", UINT64_MAX, UINT64_MAX, UINT64_MAX / 2, T0,
			      &r),
			 0);
	ck_assert_int_eq(r, 1);
	/* The widest span the clock allows: debt of 2^64 ns at 1 B/s. */
	write_tat("c", INT64_MAX);
	ck_assert_int_eq(take("c", 1, UINT64_MAX, UINT64_MAX, INT64_MIN, &r),
			 0);
	ck_assert_int_eq(r, (int64_t)(UINT64_MAX / 1000000000u) + 1);
}
END_TEST

START_TEST(test_tenants_independent)
{
	int64_t r;

	ck_assert_int_eq(take("a", 1000, 5000, 5000, T0, &r), 1);
	ck_assert_int_eq(take("a", 1000, 5000, 1, T0, &r), 0);
	ck_assert_int_eq(take("b", 1000, 5000, 5000, T0, &r), 1);
	ck_assert_int_eq(take("b", 1000, 5000, 1, T0, &r), 0);
	ck_assert(stored_tat("a") == T0 + 5 * S);
	ck_assert(stored_tat("b") == T0 + 5 * S);
}
END_TEST

START_TEST(test_symlink_refused)
{
	char target[256], err[512], want[512];
	int allowed = 1;
	int64_t r = -1;

	ck_assert_int_eq(mkdir(ratedir, 0750), 0);
	(void)snprintf(target, sizeof(target), "%s/target", spool);
	ck_assert_int_eq(symlink(target, state_path("t")), 0);
	ck_assert_int_eq(lt_rate_take(spool, "t", 1000, 5000, 1000, T0,
				      &allowed, &r, err, sizeof(err)),
			 ELOOP);
	(void)snprintf(want, sizeof(want),
		       "could not open rate-limit state \"%s\": %s",
		       state_path("t"), strerror(ELOOP));
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(allowed, 0);
	ck_assert_int_eq(access(target, F_OK), -1); /* not followed */
}
END_TEST

START_TEST(test_errors)
{
	char err[512], want[512];
	int allowed = 1;
	int64_t r = -1;

	ck_assert_int_eq(lt_rate_take("/nonexistent/spool", "t", 1000, 5000,
				      1000, T0, &allowed, &r, err, sizeof(err)),
			 ENOENT);
	(void)snprintf(want, sizeof(want),
		       "could not create directory \"/nonexistent/spool/rate\": %s",
		       strerror(ENOENT));
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(allowed, 0);

	/* A directory where the state belongs. */
	ck_assert_int_eq(mkdir(ratedir, 0750), 0);
	ck_assert_int_eq(mkdir(state_path("d"), 0750), 0);
	ck_assert_int_eq(lt_rate_take(spool, "d", 1000, 5000, 1000, T0,
				      &allowed, &r, err, sizeof(err)),
			 EISDIR);
	ck_assert_int_eq(strncmp(err, "could not open rate-limit state \"", 33),
			 0);

	/* Names that would leave SPOOL/rate. */
	ck_assert_int_eq(lt_rate_take(spool, "..", 1000, 5000, 1000, T0,
				      &allowed, &r, err, sizeof(err)),
			 EINVAL);
	ck_assert_int_eq(lt_rate_take(spool, "a/b", 1000, 5000, 1000, T0,
				      &allowed, &r, err, sizeof(err)),
			 EINVAL);
}
END_TEST

/* Under umask 0022, as web servers give it, the receivers of different
 * users of the group still share rate/ once the umask is the spool's. */
START_TEST(test_modes)
{
	struct stat st;
	mode_t old = umask(0022);

	(void)lt_spool_umask();
	ck_assert_int_eq(take("t", 1000, 5000, 1, T0, NULL), 1);
	(void)umask(old);
	ck_assert_int_eq(stat(ratedir, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0770);
	ck_assert_int_eq(stat(state_path("t"), &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0660);
}
END_TEST

/* --- across processes --- */

#define XP_CHILDREN 8
#define XP_TRIES 200
#define XP_COST 1000
#define XP_RATE 100000
#define XP_BURST 200000

struct xp_result {
	uint64_t allowed_bytes;
	int64_t first_ns, last_ns;
	int failed;
};

/* No ck_assert in the children: under CK_FORK=no a failing one would
 * jump back into the runner in the child. */
static int64_t
now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return -1;
	return (int64_t)ts.tv_sec * S + ts.tv_nsec;
}

static void
xp_child(int wfd)
{
	struct xp_result res;
	struct timespec pause = {0, 5000000}; /* 200 x 5 ms: about 1 s */
	char err[512];
	int64_t r, t;
	int i, allowed;

	memset(&res, 0, sizeof(res)); /* padding too: it goes down a pipe */
	for (i = 0; i < XP_TRIES; i++) {
		if ((t = now_ns()) < 0) {
			res.failed = 1;
			break;
		}
		if (i == 0)
			res.first_ns = t;
		res.last_ns = t;
		if (lt_rate_take(spool, "shared", XP_RATE, XP_BURST, XP_COST, t,
				 &allowed, &r, err, sizeof(err)) != 0) {
			res.failed = 1;
			break;
		}
		if (allowed)
			res.allowed_bytes += XP_COST;
		(void)nanosleep(&pause, NULL);
	}
	_exit(write(wfd, &res, sizeof(res)) == (ssize_t)sizeof(res) ? 0 : 1);
}

START_TEST(test_cross_process)
{
	struct xp_result res;
	pid_t pids[XP_CHILDREN];
	int64_t first = INT64_MAX, last = INT64_MIN;
	uint64_t total = 0;
	double supply;
	int fds[2], i, status;

	ck_assert_int_eq(pipe(fds), 0);
	for (i = 0; i < XP_CHILDREN; i++) {
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0) {
			(void)close(fds[0]);
			xp_child(fds[1]);
		}
	}
	ck_assert_int_eq(close(fds[1]), 0);
	for (i = 0; i < XP_CHILDREN; i++) {
		ck_assert_int_eq(read(fds[0], &res, sizeof(res)),
				 (ssize_t)sizeof(res));
		ck_assert_int_eq(res.failed, 0);
		total += res.allowed_bytes;
		if (res.first_ns < first)
			first = res.first_ns;
		if (res.last_ns > last)
			last = res.last_ns;
	}
	ck_assert_int_eq(close(fds[0]), 0);
	for (i = 0; i < XP_CHILDREN; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	/*
	 * All takes fall in [first, last], so GCRA lets through at most
	 * burst + rate * (last - first) (plus under 1 ns of rounding per
	 * take: far below a byte here).  Demand (1.6 MB) is several times
	 * the supply, so the bucket never sits full after the first burst
	 * and at most one cost plus a scheduling gap (100 ms allowed) of
	 * refill is left unspent.  Lost updates without the lock would let
	 * many more takes through.
	 */
	supply = XP_BURST + (double)XP_RATE * (double)(last - first) / 1e9;
	ck_assert_msg((double)total <= supply + 1,
		      "allowed %llu bytes, supply %.0f",
		      (unsigned long long)total, supply);
	ck_assert_msg((double)total >= supply - XP_COST - XP_RATE / 10,
		      "allowed %llu bytes, supply %.0f",
		      (unsigned long long)total, supply);
	ck_assert(last - first > S / 2); /* it did run for a while */
}
END_TEST

static Suite *
ratelimit_suite(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("gcra");
	TCase *xp = tcase_create("processes");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_burst_then_refuse);
	tcase_add_test(tc, test_burst_in_pieces);
	tcase_add_test(tc, test_uneven_interval);
	tcase_add_test(tc, test_refill);
	tcase_add_test(tc, test_idle_caps_at_burst);
	tcase_add_test(tc, test_cost_above_burst);
	tcase_add_test(tc, test_refused_leaves_state);
	tcase_add_test(tc, test_rate_zero);
	tcase_add_test(tc, test_wrong_size_is_full);
	tcase_add_test(tc, test_future_tat_clamped);
	tcase_add_test(tc, test_extremes);
	tcase_add_test(tc, test_tenants_independent);
	tcase_add_test(tc, test_symlink_refused);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_modes);
	suite_add_tcase(s, tc);

	tcase_add_checked_fixture(xp, setup, teardown);
	tcase_set_timeout(xp, 30);
	tcase_add_test(xp, test_cross_process);
	suite_add_tcase(s, xp);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ratelimit_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
