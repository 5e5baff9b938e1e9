/* Unit tests: lt_follow(), the wait loop of logthra-flush --follow.  A
 * thread plays logthra-recv (renames files into ready/, makes tenants)
 * while lt_follow() runs a stand-in pass that records when it ran and
 * removes the files it found, as a flush would. */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "follow.h"
#include "options.h"
#include "testutil.h"

#define MAX_PASSES 64

/* What the stand-in pass saw. */
struct probe {
	pthread_mutex_t mu;
	int passes;          /* finished */
	int in_pass;         /* one is running */
	int64_t start_ms[MAX_PASSES];
	int64_t end_ms[MAX_PASSES];
	size_t seen[MAX_PASSES]; /* files found in ready/ directories */
	size_t seen_total;
	int interrupted;     /* a pass's sleep was cut short by a signal */
	int sleep_ms;        /* each pass takes this long */
	int stop_in_pass;    /* pass number n (from 1) sets the stop flag */
	int hold_first;      /* the first pass waits until released */
	int released;
};

/* What the actor thread did, for the main thread to check. */
struct actor {
	int64_t t[8];        /* times of its actions */
	int ok[8];           /* whether what it waited for came in time */
	int64_t stop_ms;     /* when it asked lt_follow() to stop */
};

static struct probe P;
static struct actor A;
static struct lt_options O;
static char spool[64];
static volatile sig_atomic_t stop_flag;

static int64_t
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* SPOOL/tenants[/tenant[/sub[/name]]], in one of a few static buffers. */
static const char *
path(const char *tenant, const char *sub, const char *name)
{
	static char buf[4][512];
	static int slot;

	slot = (slot + 1) % 4;
	(void)snprintf(buf[slot], sizeof(buf[slot]), "%s/tenants%s%s%s%s%s%s",
		       spool, tenant ? "/" : "", tenant ? tenant : "",
		       tenant && sub ? "/" : "", tenant && sub ? sub : "",
		       tenant && sub && name ? "/" : "",
		       tenant && sub && name ? name : "");
	return buf[slot];
}

static int
mkdir_ok(const char *p)
{
	return mkdir(p, 0755) == 0 || errno == EEXIST;
}

/* A tenant's directories as logthra-recv makes them: the tenant, then
 * tmp/ and ready/. */
static int
make_tenant(const char *tenant)
{
	return mkdir_ok(path(NULL, NULL, NULL)) &&
	       mkdir_ok(path(tenant, NULL, NULL)) &&
	       mkdir_ok(path(tenant, "tmp", NULL)) &&
	       mkdir_ok(path(tenant, "ready", NULL));
}

/* A push as logthra-recv stores it: written in tmp/, renamed into
 * ready/. */
static int
drop(const char *tenant, const char *name)
{
	const char *tmp = path(tenant, "tmp", name);
	const char *ready = path(tenant, "ready", name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	if (fd < 0)
		return 0;
	if (write(fd, "x", 1) != 1) {
		(void)close(fd);
		return 0;
	}
	return close(fd) == 0 && rename(tmp, ready) == 0;
}

/* Removes every file in every tenant's ready/, counting them. */
static size_t
flush_ready(void)
{
	DIR *tenants, *ready;
	struct dirent *t, *f;
	size_t n = 0;
	char dir[512], file[1024];

	tenants = opendir(path(NULL, NULL, NULL));
	if (tenants == NULL)
		return 0;
	while ((t = readdir(tenants)) != NULL) {
		if (t->d_name[0] == '.')
			continue;
		(void)snprintf(dir, sizeof(dir), "%s/tenants/%s/ready", spool,
			       t->d_name);
		ready = opendir(dir);
		if (ready == NULL)
			continue;
		while ((f = readdir(ready)) != NULL) {
			if (f->d_name[0] == '.')
				continue;
			(void)snprintf(file, sizeof(file), "%s/%s", dir, f->d_name);
			if (unlink(file) == 0)
				n++;
		}
		(void)closedir(ready);
	}
	(void)closedir(tenants);
	return n;
}

static int
pass(void *ctx)
{
	struct probe *p = ctx;
	struct timespec ts;
	size_t seen;
	int n, i;

	pthread_mutex_lock(&p->mu);
	n = p->passes;
	p->in_pass = 1;
	if (n < MAX_PASSES)
		p->start_ms[n] = now_ms();
	pthread_mutex_unlock(&p->mu);
	seen = flush_ready();
	for (i = 0; n == 0 && p->hold_first && i < 1000; i++) {
		pthread_mutex_lock(&p->mu);
		if (p->released)
			i = 1000;
		pthread_mutex_unlock(&p->mu);
		sleep_ms(10);
	}
	if (p->sleep_ms > 0) {
		ts.tv_sec = p->sleep_ms / 1000;
		ts.tv_nsec = (long)(p->sleep_ms % 1000) * 1000000;
		if (nanosleep(&ts, NULL) < 0)
			p->interrupted = 1;
	}
	pthread_mutex_lock(&p->mu);
	if (n < MAX_PASSES) {
		p->end_ms[n] = now_ms();
		p->seen[n] = seen;
	}
	p->seen_total += seen;
	p->passes++;
	p->in_pass = 0;
	if (p->stop_in_pass == n + 1)
		stop_flag = 1;
	pthread_mutex_unlock(&p->mu);
	return 0;
}

/* Waits until the pass count or the files seen reach n; 0 on timeout. */
static int
wait_until(const int *counter_int, const size_t *counter_size, size_t n,
	   int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;
	size_t v;

	for (;;) {
		pthread_mutex_lock(&P.mu);
		v = counter_int ? (size_t)*counter_int : *counter_size;
		pthread_mutex_unlock(&P.mu);
		if (v >= n)
			return 1;
		if (now_ms() >= end)
			return 0;
		sleep_ms(2);
	}
}

static int
wait_passes(int n, int timeout_ms)
{
	return wait_until(&P.passes, NULL, (size_t)n, timeout_ms);
}

static int
wait_seen(size_t n, int timeout_ms)
{
	return wait_until(NULL, &P.seen_total, n, timeout_ms);
}

static int
wait_in_pass(int timeout_ms)
{
	return wait_until(&P.in_pass, NULL, 1, timeout_ms);
}

/* The pass that first brought the files seen to n, or -1. */
static int
pass_that_saw(size_t n)
{
	size_t total = 0;
	int i;

	for (i = 0; i < P.passes && i < MAX_PASSES; i++) {
		total += P.seen[i];
		if (total >= n)
			return i;
	}
	return -1;
}

static void
request_stop(void)
{
	A.stop_ms = now_ms();
	(void)kill(getpid(), SIGUSR1);
}

static void
on_usr1(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* Runs lt_follow() with SIGUSR1 as the stop signal, blocked but while
 * it waits, as logthra-flush does with SIGTERM, and actor in a thread.
 * Returns lt_follow()'s result; *returned_ms is when it returned. */
static int
run_follow(void *(*actor)(void *), int64_t *returned_ms)
{
	struct sigaction sa;
	sigset_t block, wait_mask;
	pthread_t th;
	int rc;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	(void)sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	(void)sigemptyset(&block);
	(void)sigaddset(&block, SIGUSR1);
	ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &block, &wait_mask), 0);
	(void)sigdelset(&wait_mask, SIGUSR1);
	/* The thread inherits the mask: SIGUSR1 reaches only lt_follow(). */
	ck_assert_int_eq(pthread_create(&th, NULL, actor, NULL), 0);
	rc = lt_follow(&O, pass, &P, &stop_flag, &wait_mask);
	*returned_ms = now_ms();
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	ck_assert_int_eq(pthread_sigmask(SIG_UNBLOCK, &block, NULL), 0);
	return rc;
}

/* --- fixtures --- */

static void
setup(void)
{
	tu_tmpdir(spool, sizeof(spool), "lt-follow");
	memset(&P, 0, sizeof(P));
	pthread_mutex_init(&P.mu, NULL);
	memset(&A, 0, sizeof(A));
	stop_flag = 0;
	lt_options_defaults(&O);
	free(O.spool);
	O.spool = strdup(spool);
	ck_assert_ptr_nonnull(O.spool);
	/* The periodic wake-up comes after 30 s: within a test, only
	 * inotify wakes lt_follow(), unless the test says otherwise. */
	O.retry_min_delay_s = 30;
	O.follow_delay_ms = 100;
}

static void
teardown(void)
{
	lt_options_free(&O);
	pthread_mutex_destroy(&P.mu);
	(void)tu_rm_rf(spool);
}

/* --- waking up --- */

static void *
actor_rename(void *arg)
{
	(void)arg;
	A.ok[0] = wait_passes(1, 3000);
	sleep_ms(100);
	A.t[0] = now_ms();
	A.ok[1] = drop("acme", "1.spool");
	A.ok[2] = wait_passes(2, 3000);
	sleep_ms(300); /* no pass without a reason */
	request_stop();
	return NULL;
}

START_TEST(test_rename_into_ready_wakes)
{
	int64_t returned, d;

	ck_assert(make_tenant("acme"));
	ck_assert_int_eq(run_follow(actor_rename, &returned), 0);
	ck_assert_msg(A.ok[0], "no first pass");
	ck_assert_msg(A.ok[1], "could not drop a file");
	ck_assert_msg(A.ok[2], "a file renamed into ready/ did not wake lt_follow within 3 s");
	ck_assert_int_eq(P.passes, 2);
	ck_assert_uint_eq(P.seen[1], 1);
	/* After follow_delay (100 ms), and soon after it. */
	d = P.start_ms[1] - A.t[0];
	ck_assert_msg(d >= 95, "the pass came %lld ms after the file, before follow_delay",
		      (long long)d);
	ck_assert_msg(d <= 100 + 1000, "the pass came %lld ms after the file", (long long)d);
	ck_assert_msg(returned - A.stop_ms < 500, "stopping took %lld ms",
		      (long long)(returned - A.stop_ms));
}
END_TEST

/* The first pass sees what was there before; a file that comes while a
 * pass runs makes another one. */
static void *
actor_during_pass(void *arg)
{
	(void)arg;
	A.ok[0] = wait_in_pass(3000);
	A.ok[1] = drop("acme", "2.spool");
	A.ok[2] = wait_seen(2, 3000);
	request_stop();
	return NULL;
}

START_TEST(test_files_before_and_during_a_pass)
{
	int64_t returned;

	ck_assert(make_tenant("acme"));
	ck_assert(drop("acme", "1.spool"));
	P.sleep_ms = 200;
	ck_assert_int_eq(run_follow(actor_during_pass, &returned), 0);
	ck_assert(A.ok[0] && A.ok[1]);
	ck_assert_msg(A.ok[2], "a file renamed in during a pass was not flushed by the next");
	ck_assert_uint_eq(P.seen[0], 1);
	ck_assert_uint_eq(P.seen[1], 1);
}
END_TEST

static void *
actor_new_tenant(void *arg)
{
	(void)arg;
	A.ok[0] = wait_passes(1, 3000);
	A.ok[1] = make_tenant("newco") && drop("newco", "1.spool");
	A.ok[2] = wait_seen(1, 3000);
	sleep_ms(200);
	/* Now only a watch on newco/ready/ can wake it. */
	A.t[3] = now_ms();
	A.ok[3] = drop("newco", "2.spool");
	A.ok[4] = wait_seen(2, 3000);
	request_stop();
	return NULL;
}

START_TEST(test_new_tenant_is_watched)
{
	int64_t returned, d;

	ck_assert(mkdir_ok(path(NULL, NULL, NULL)));
	ck_assert_int_eq(run_follow(actor_new_tenant, &returned), 0);
	ck_assert(A.ok[0] && A.ok[1] && A.ok[3]);
	ck_assert_msg(A.ok[2], "a new tenant's first file did not wake lt_follow");
	ck_assert_msg(A.ok[4], "a new tenant's ready/ is not watched");
	d = P.start_ms[pass_that_saw(2)] - A.t[3];
	ck_assert_msg(d <= 100 + 1000, "the pass came %lld ms after the file", (long long)d);
}
END_TEST

/* A spool without tenants/ yet, and a tenant whose ready/ comes later:
 * each level is watched until the next one exists. */
static void *
actor_levels(void *arg)
{
	(void)arg;
	A.ok[0] = wait_passes(1, 3000);
	A.ok[1] = mkdir_ok(path(NULL, NULL, NULL)) &&
		  mkdir_ok(path("late", NULL, NULL)) &&
		  mkdir_ok(path("late", "tmp", NULL));
	sleep_ms(400);
	A.ok[2] = mkdir_ok(path("late", "ready", NULL));
	sleep_ms(400);
	A.t[3] = now_ms();
	A.ok[3] = drop("late", "1.spool");
	A.ok[4] = wait_seen(1, 3000);
	request_stop();
	return NULL;
}

START_TEST(test_tenants_dir_and_ready_dir_appear_later)
{
	int64_t returned;

	ck_assert_int_eq(run_follow(actor_levels, &returned), 0);
	ck_assert(A.ok[0] && A.ok[1] && A.ok[2] && A.ok[3]);
	ck_assert_msg(A.ok[4], "a ready/ made after its tenant is not watched");
	ck_assert_int_le(P.start_ms[pass_that_saw(1)] - A.t[3], 100 + 1000);
}
END_TEST

static void *
actor_burst(void *arg)
{
	char name[32];
	int i;

	(void)arg;
	A.ok[0] = wait_passes(1, 3000);
	A.ok[1] = 1;
	for (i = 0; i < 10; i++) {
		(void)snprintf(name, sizeof(name), "%d.spool", i);
		A.ok[1] &= drop("acme", name);
		sleep_ms(10);
	}
	A.ok[2] = wait_seen(10, 3000);
	sleep_ms(500);
	request_stop();
	return NULL;
}

START_TEST(test_burst_makes_one_pass)
{
	int64_t returned;

	ck_assert(make_tenant("acme"));
	O.follow_delay_ms = 400;
	ck_assert_int_eq(run_follow(actor_burst, &returned), 0);
	ck_assert(A.ok[0] && A.ok[1] && A.ok[2]);
	ck_assert_int_eq(P.passes, 2);
	ck_assert_uint_eq(P.seen[1], 10);
}
END_TEST

static void *
actor_periodic(void *arg)
{
	(void)arg;
	A.ok[0] = wait_passes(3, 6000);
	request_stop();
	return NULL;
}

START_TEST(test_periodic_wakeup)
{
	int64_t returned, gap;
	int i;

	ck_assert(make_tenant("acme"));
	O.retry_min_delay_s = 1; /* a pass at least every second */
	ck_assert_int_eq(run_follow(actor_periodic, &returned), 0);
	ck_assert_msg(A.ok[0], "no periodic passes");
	for (i = 1; i < 3; i++) {
		gap = P.start_ms[i] - P.end_ms[i - 1];
		ck_assert_msg(gap >= 990 && gap <= 1600,
			      "pass %d came %lld ms after the one before", i + 1,
			      (long long)gap);
	}
}
END_TEST

START_TEST(test_interval)
{
	O.retry_min_delay_s = 30;
	ck_assert_int_eq(lt_follow_interval_ms(&O), 30000);
	O.retry_min_delay_s = 600;
	ck_assert_int_eq(lt_follow_interval_ms(&O), 30000);
	O.retry_min_delay_s = 5;
	ck_assert_int_eq(lt_follow_interval_ms(&O), 5000);
	O.retry_min_delay_s = 0; /* never a busy loop */
	ck_assert_int_eq(lt_follow_interval_ms(&O), 1000);
}
END_TEST

/* Overflowing the kernel's event queue loses events: lt_follow() runs a
 * pass at once and still hears of later files. */
static void *
actor_overflow(void *arg)
{
	const char *f = path("acme", "ready", "noise");
	char line[32], *end;
	long max = 16384, i;
	FILE *q;
	int fd;

	(void)arg;
	q = fopen("/proc/sys/fs/inotify/max_queued_events", "re");
	if (q != NULL) {
		if (fgets(line, sizeof(line), q) != NULL) {
			errno = 0;
			i = strtol(line, &end, 10);
			if (errno == 0 && end != line && i > 0 && i < (1L << 24))
				max = i;
		}
		(void)fclose(q);
	}
	A.ok[0] = wait_in_pass(3000);
	/* Two events per file (IN_CREATE, IN_CLOSE_WRITE), none read while
	 * the first pass is held. */
	A.ok[1] = 1;
	for (i = 0; i < max / 2 + 100 && A.ok[1]; i++) {
		fd = open(f, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		A.ok[1] = fd >= 0 && close(fd) == 0 && unlink(f) == 0;
	}
	A.ok[1] = A.ok[1] && drop("acme", "1.spool");
	pthread_mutex_lock(&P.mu);
	P.released = 1;
	pthread_mutex_unlock(&P.mu);
	A.t[2] = now_ms();
	A.ok[2] = wait_seen(1, 3000);
	sleep_ms(200);
	A.ok[3] = drop("acme", "2.spool");
	A.ok[4] = wait_seen(2, 3000);
	request_stop();
	return NULL;
}

START_TEST(test_queue_overflow)
{
	int64_t returned;

	ck_assert(make_tenant("acme"));
	P.hold_first = 1;
	O.follow_delay_ms = 1500;
	ck_assert_int_eq(run_follow(actor_overflow, &returned), 0);
	ck_assert(A.ok[0] && A.ok[1] && A.ok[3]);
	ck_assert_msg(A.ok[2], "no pass after the event queue overflowed");
	/* At once, without follow_delay. */
	ck_assert_int_eq(P.passes, 3);
	ck_assert_msg(P.start_ms[1] - P.end_ms[0] < 1000,
		      "the pass after the overflow came %lld ms after the first",
		      (long long)(P.start_ms[1] - P.end_ms[0]));
	ck_assert_msg(A.ok[4], "no pass for a file after the overflow");
}
END_TEST

/* --- stopping --- */

static void *
actor_stop(void *arg)
{
	(void)arg;
	A.ok[0] = wait_passes(1, 3000);
	sleep_ms(200);
	request_stop();
	return NULL;
}

START_TEST(test_stop_while_waiting)
{
	int64_t returned;

	ck_assert(make_tenant("acme"));
	ck_assert_int_eq(run_follow(actor_stop, &returned), 0);
	ck_assert(A.ok[0]);
	ck_assert_int_eq(P.passes, 1);
	ck_assert_msg(returned - A.stop_ms < 200, "stopping took %lld ms",
		      (long long)(returned - A.stop_ms));
}
END_TEST

/* During settling too: a stop does not wait for follow_delay's pass. */
static void *
actor_stop_settling(void *arg)
{
	(void)arg;
	A.ok[0] = wait_passes(1, 3000);
	A.ok[1] = drop("acme", "1.spool");
	sleep_ms(100);
	request_stop();
	return NULL;
}

START_TEST(test_stop_while_settling)
{
	int64_t returned;

	ck_assert(make_tenant("acme"));
	O.follow_delay_ms = 2000;
	ck_assert_int_eq(run_follow(actor_stop_settling, &returned), 0);
	ck_assert(A.ok[0] && A.ok[1]);
	ck_assert_int_eq(P.passes, 1);
	ck_assert_int_lt(returned - A.stop_ms, 200);
}
END_TEST

static void *
actor_stop_in_pass(void *arg)
{
	(void)arg;
	A.ok[0] = wait_in_pass(3000);
	sleep_ms(50);
	/* A file arrives too: it must not start another pass. */
	A.ok[1] = drop("acme", "1.spool");
	request_stop();
	return NULL;
}

START_TEST(test_signal_never_cuts_a_pass)
{
	int64_t returned;

	ck_assert(make_tenant("acme"));
	P.sleep_ms = 400;
	ck_assert_int_eq(run_follow(actor_stop_in_pass, &returned), 0);
	ck_assert(A.ok[0] && A.ok[1]);
	ck_assert_msg(!P.interrupted, "the signal interrupted the pass");
	ck_assert_int_eq(P.passes, 1);
	ck_assert_int_ge(P.end_ms[0] - P.start_ms[0], 395);
	ck_assert_int_lt(returned - P.end_ms[0], 200);
}
END_TEST

static void *
actor_idle(void *arg)
{
	(void)arg;
	return NULL;
}

START_TEST(test_stop_set_before)
{
	int64_t returned;

	ck_assert(make_tenant("acme"));
	stop_flag = 1;
	ck_assert_int_eq(run_follow(actor_idle, &returned), 0);
	ck_assert_int_eq(P.passes, 0);
}
END_TEST

START_TEST(test_stop_set_by_a_pass)
{
	int64_t returned;

	ck_assert(make_tenant("acme"));
	P.stop_in_pass = 2;
	O.retry_min_delay_s = 1;
	ck_assert_int_eq(run_follow(actor_idle, &returned), 0);
	ck_assert_int_eq(P.passes, 2);
	ck_assert_int_lt(returned - P.end_ms[1], 100);
}
END_TEST

START_TEST(test_missing_spool)
{
	int64_t returned;

	free(O.spool);
	O.spool = strdup("/nonexistent/lt-follow-spool");
	ck_assert_ptr_nonnull(O.spool);
	ck_assert_int_eq(run_follow(actor_idle, &returned), -1);
	ck_assert_int_eq(P.passes, 0);
}
END_TEST

/* --- the setting --- */

START_TEST(test_follow_delay_setting)
{
	struct lt_options o;
	char err[256];

	lt_options_defaults(&o);
	ck_assert_int_eq(o.follow_delay_ms, 500);
	ck_assert_int_eq(lt_options_set(&o, "follow_delay", "1s", err, sizeof(err)), 0);
	ck_assert_int_eq(o.follow_delay_ms, 1000);
	ck_assert_int_eq(lt_options_set(&o, "follow_delay", "0", err, sizeof(err)), 0);
	ck_assert_int_eq(o.follow_delay_ms, 0);
	ck_assert_int_eq(lt_options_set(&o, "follow_delay", "50ms", err, sizeof(err)), 0);
	ck_assert_int_eq(o.follow_delay_ms, 50);
	ck_assert_int_eq(lt_options_set(&o, "follow_delay", "soon", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "invalid value \"soon\" for setting \"follow_delay\": expected a duration such as 30s, 10m, 7d or 500ms");
	lt_options_free(&o);
}
END_TEST

static Suite *
follow_suite(void)
{
	Suite *s = suite_create("follow");
	TCase *tc = tcase_create("wake-ups");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_rename_into_ready_wakes);
	tcase_add_test(tc, test_files_before_and_during_a_pass);
	tcase_add_test(tc, test_new_tenant_is_watched);
	tcase_add_test(tc, test_tenants_dir_and_ready_dir_appear_later);
	tcase_add_test(tc, test_burst_makes_one_pass);
	tcase_add_test(tc, test_periodic_wakeup);
	tcase_add_test(tc, test_interval);
	tcase_add_test(tc, test_queue_overflow);
	suite_add_tcase(s, tc);

	tc = tcase_create("stopping");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_stop_while_waiting);
	tcase_add_test(tc, test_stop_while_settling);
	tcase_add_test(tc, test_signal_never_cuts_a_pass);
	tcase_add_test(tc, test_stop_set_before);
	tcase_add_test(tc, test_stop_set_by_a_pass);
	tcase_add_test(tc, test_missing_spool);
	suite_add_tcase(s, tc);

	tc = tcase_create("setting");
	tcase_add_test(tc, test_follow_delay_setting);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(follow_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
