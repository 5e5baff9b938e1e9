/* logthra-flush --follow's wait: inotify(7) watches on SPOOL/tenants and
 * every ready/, a pass when files arrive or the interval ends (follow.h). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "follow.h"
#include "log.h"
#include "spool.h"

/* A file is waiting in ready/: renamed in (logthra-recv and
 * logthra-replay do that), written in place or linked in (by hand). */
#define READY_EVENTS (IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE | IN_ONLYDIR)
/* A directory appeared on the way to a ready/ directory: SPOOL/tenants,
 * a new tenant, or a tenant's ready/ itself. */
#define DIR_EVENTS (IN_CREATE | IN_MOVED_TO | IN_ONLYDIR)

struct follow {
	const struct lt_options *o;
	int fd;           /* the inotify instance */
	int root_wd;      /* SPOOL itself, only while SPOOL/tenants is missing */
	int warned;       /* a watch could not be added: said once */
	struct lt_buf dir;
	struct lt_buf path;
};

enum wake { WAKE_EVENT, WAKE_OVERFLOW, WAKE_TIMER, WAKE_STOP, WAKE_ERROR };

int64_t
lt_follow_interval_ms(const struct lt_options *o)
{
	int64_t ms = LT_FOLLOW_MAX_INTERVAL_MS;

	if (o->retry_min_delay_s < ms / 1000)
		ms = o->retry_min_delay_s * 1000;
	/* retry_min_delay = 0 must not make a busy loop. */
	return ms < LT_FOLLOW_MIN_INTERVAL_MS ? LT_FOLLOW_MIN_INTERVAL_MS : ms;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Adds a watch.  A path that is missing or not a directory is normal (a
 * race with its creator, a stray file) and returns -1 quietly with errno
 * set; other failures are reported once, since the periodic wake-up
 * still finds the files, only later. */
static int
add_watch(struct follow *f, const char *path, uint32_t mask)
{
	int wd = inotify_add_watch(f->fd, path, mask);

	if (wd >= 0 || errno == ENOENT || errno == ENOTDIR)
		return wd;
	if (!f->warned) {
		int saved = errno;

		lt_warning("could not watch directory \"%s\": %m", path);
		if (saved == ENOSPC)
			lt_hint("Raise the limit on inotify watches (sysctl fs.inotify.max_user_watches); until then new files there wait up to %lld s.",
				(long long)(lt_follow_interval_ms(f->o) / 1000));
		else
			lt_hint("New files there wait up to %lld s.",
				(long long)(lt_follow_interval_ms(f->o) / 1000));
		f->warned = 1;
		errno = saved;
	}
	return -1;
}

/* Watches a tenant's ready/, or, while it has none, the tenant's
 * directory, to hear when ready/ appears. */
static void
watch_tenant(struct follow *f, const char *name)
{
	if (lt_buf_printf(&f->path, "%s/%s/ready", (char *)f->dir.data, name) < 0)
		return;
	if (add_watch(f, (char *)f->path.data, READY_EVENTS) >= 0 || errno != ENOENT)
		return;
	lt_buf_reset(&f->path);
	if (lt_buf_printf(&f->path, "%s/%s", (char *)f->dir.data, name) < 0 ||
	    add_watch(f, (char *)f->path.data, DIR_EVENTS) < 0)
		return;
	/* ready/ may have appeared before the watch on its parent did. */
	if (lt_buf_printf(&f->path, "/ready") == 0)
		(void)add_watch(f, (char *)f->path.data, READY_EVENTS);
}

/* Watches SPOOL/tenants, or SPOOL while that is missing.  Returns 1 when
 * SPOOL/tenants is watched, 0 when SPOOL is, -1 when neither could be. */
static int
watch_tenants(struct follow *f)
{
	if (add_watch(f, (char *)f->dir.data, DIR_EVENTS) >= 0)
		goto watched;
	if (errno != ENOENT)
		return -1;
	/* Not add_watch(): without the spool, lt_follow() reports. */
	if (f->root_wd < 0)
		f->root_wd = inotify_add_watch(f->fd, f->o->spool, DIR_EVENTS);
	if (f->root_wd < 0)
		return -1;
	/* SPOOL/tenants may have appeared before the watch on SPOOL did. */
	if (add_watch(f, (char *)f->dir.data, DIR_EVENTS) < 0)
		return 0;
watched:
	/* SPOOL's other entries (quarantine/, archive/) do not matter. */
	if (f->root_wd >= 0)
		(void)inotify_rm_watch(f->fd, f->root_wd);
	f->root_wd = -1;
	return 1;
}

/* Makes sure every ready/ directory is watched.  Watching a directory
 * again is harmless (the kernel returns the same watch), so this simply
 * goes over them all.  Directories are watched before they are listed,
 * so a tenant made meanwhile is either listed or heard of. */
static int
rescan(struct follow *f)
{
	struct dirent *de;
	DIR *d;
	int rc;

	if (lt_spool_dir(&f->dir, f->o->spool, NULL, NULL) < 0 ||
	    lt_buf_terminate(&f->dir) < 0) {
		lt_error("out of memory");
		return -1;
	}
	rc = watch_tenants(f);
	if (rc <= 0)
		return rc;
	d = opendir((char *)f->dir.data);
	if (d == NULL) {
		if (errno != ENOENT && !f->warned) {
			lt_warning("could not list directory \"%s\": %m",
				   (char *)f->dir.data);
			f->warned = 1;
		}
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		lt_buf_reset(&f->path);
		watch_tenant(f, de->d_name);
	}
	(void)closedir(d);
	return 0;
}

/* Reads every queued event; *woken is set when one of them calls for a
 * pass, *overflow when events were lost.  Returns -1 on a read error. */
static int
drain(struct follow *f, int *woken, int *overflow)
{
	char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t n;
	char *p;

	for (;;) {
		n = read(f->fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0) {
			lt_error("could not read inotify events for spool \"%s\": %s",
				 f->o->spool, n < 0 ? strerror(errno) : "end of file");
			return -1;
		}
		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)(void *)p;
			/* A watch went away with its directory; rescan()
			 * adds what is needed on the next wake-up. */
			if (ev->mask & IN_IGNORED)
				continue;
			/* In SPOOL itself only tenants/ matters, not the
			 * state file that every pass rewrites there. */
			if (f->root_wd >= 0 && ev->wd == f->root_wd &&
			    (ev->len == 0 || strcmp(ev->name, "tenants") != 0))
				continue;
			if (ev->mask & IN_Q_OVERFLOW)
				*overflow = 1;
			*woken = 1;
		}
	}
}

/* Waits until deadline (CLOCK_MONOTONIC, ms), *stop, an overflow of the
 * event queue or, unless settling (then events are only read, to keep
 * the queue short), an event. */
static enum wake
wait_for(struct follow *f, int64_t deadline, volatile sig_atomic_t *stop,
	 const sigset_t *wait_mask, int settling)
{
	struct pollfd pfd = {.fd = f->fd, .events = POLLIN};
	struct timespec ts;
	int64_t left;
	int n, woken = 0, overflow = 0;

	for (;;) {
		if (*stop)
			return WAKE_STOP;
		left = deadline - now_ms();
		if (left <= 0)
			return WAKE_TIMER;
		ts.tv_sec = (time_t)(left / 1000);
		ts.tv_nsec = (long)(left % 1000) * 1000000;
		n = ppoll(&pfd, 1, &ts, wait_mask);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			lt_error("could not wait for inotify events: %m");
			return WAKE_ERROR;
		}
		if (n == 0)
			continue;
		if (drain(f, &woken, &overflow) < 0)
			return WAKE_ERROR;
		/* Which files came is unknown: look at once. */
		if (overflow) {
			lt_debug("the inotify event queue overflowed: a pass now");
			return WAKE_OVERFLOW;
		}
		if (woken && !settling)
			return WAKE_EVENT;
	}
}

int
lt_follow(const struct lt_options *o, int (*pass)(void *ctx), void *ctx,
	  volatile sig_atomic_t *stop, const sigset_t *wait_mask)
{
	struct follow f = {.o = o, .root_wd = -1,
			   .dir = LT_BUF_INIT, .path = LT_BUF_INIT};
	int64_t interval = lt_follow_interval_ms(o);
	enum wake w;
	int rc = -1;

	f.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (f.fd < 0) {
		lt_error("could not watch spool directory \"%s\": %m", o->spool);
		if (errno == EMFILE)
			lt_hint("Raise the limit on inotify instances (sysctl fs.inotify.max_user_instances).");
		return -1;
	}
	/* Watches come before the first pass: a file that arrives after
	 * the pass listed its directory is heard of. */
	if (rescan(&f) < 0) {
		lt_error("could not watch spool directory \"%s\": %m", o->spool);
		lt_hint("Check that the directory exists (-D/--spool, LOGTHRA_SPOOL).");
		goto out;
	}
	lt_info("following spool \"%s\": a pass after new files (and %d ms more), at least every %lld s",
		o->spool, o->follow_delay_ms, (long long)(interval / 1000));
	while (!*stop) {
		(void)pass(ctx);
		w = wait_for(&f, now_ms() + interval, stop, wait_mask, 0);
		/* Let the rest of a burst of pushes land, so that they go
		 * into ClickHouse as one batch. */
		if (w == WAKE_EVENT && o->follow_delay_ms > 0)
			w = wait_for(&f, now_ms() + o->follow_delay_ms, stop,
				     wait_mask, 1);
		if (w == WAKE_ERROR)
			goto out;
		if (w == WAKE_STOP)
			break;
		(void)rescan(&f);
	}
	rc = 0;
out:
	(void)close(f.fd);
	lt_buf_free(&f.dir);
	lt_buf_free(&f.path);
	return rc;
}
