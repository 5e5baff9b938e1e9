/* The spool's backlog, counted from file names and END records, and the
 * flush lock's holder, from /proc/locks: what --status and the metrics show. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "backlog.h"
#include "spool.h"

/* The smallest complete spool file: magic number, version, a header
 * record of a one-byte tenant (frame 9, payload 18) and the END record. */
#define MIN_SPOOL_FILE (LT_SPOOL_MAGIC_LEN + 4 + 9 + 18 + LT_END_LEN)

const char *const lt_backlog_state_dirs[LT_BL_STATES] = {
	"ready", "deferred", "active", "quarantine"
};

/* --- the backlog --- */

void
lt_backlog_free(struct lt_backlog *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		free(b->v[i].tenant);
	free(b->v);
	memset(b, 0, sizeof(*b));
}

/* The received_ns at the start of a spool file's name, or 0. */
static int64_t
name_received_ns(const char *name)
{
	int64_t v = 0;
	int i;

	for (i = 0; i < 19; i++) {
		if (name[i] < '0' || name[i] > '9')
			return 0;
		v = v * 10 + (name[i] - '0');
	}
	return name[19] == '-' ? v : 0;
}

/* One waiting file: its size, and its entries from the END record.
 * Returns 0 (counted), ENOENT (gone meanwhile: a flush moved it) or
 * EACCES (this user may not read the spool). */
static int
scan_file(struct lt_backlog_tenant *t, int dirfd, const char *name,
	  enum lt_backlog_state state, int64_t now_s)
{
	unsigned char tail[LT_END_LEN];
	uint64_t n_streams, n_entries;
	struct stat st;
	int64_t received;
	int fd, complete = 0;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
					 O_NOCTTY);
	if (fd < 0 && (errno == ENOENT || errno == EACCES))
		return errno;
	if (fd >= 0 && fstat(fd, &st) < 0) {
		(void)close(fd);
		fd = -1;
	}
	if (fd >= 0 && S_ISREG(st.st_mode)) {
		t->bytes += (uint64_t)st.st_size;
		if (st.st_size >= MIN_SPOOL_FILE &&
		    pread(fd, tail, sizeof(tail), st.st_size - LT_END_LEN) ==
			    (ssize_t)sizeof(tail) &&
		    lt_end_parse(tail, &n_streams, &n_entries) == 0) {
			t->entries += n_entries;
			complete = 1;
		}
		if (state == LT_BL_DEFERRED) {
			if (t->next_retry_s == 0 || st.st_mtime < t->next_retry_s)
				t->next_retry_s = st.st_mtime;
			if (st.st_mtime <= now_s)
				t->deferred_due++;
		}
	}
	if (fd >= 0)
		(void)close(fd);
	t->incomplete += !complete;
	t->files[state]++;
	received = name_received_ns(name);
	if (received > 0 && (t->oldest_ns == 0 || received < t->oldest_ns))
		t->oldest_ns = received;
	return 0;
}

/* The .spool files of one directory of a tenant. */
static int
scan_dir(struct lt_backlog_tenant *t, const char *dir,
	 enum lt_backlog_state state, int64_t now_s, char *err, size_t errlen)
{
	struct lt_names names = {0};
	size_t i;
	int dirfd = -1, rc;

	rc = lt_names_list(dir, LT_SPOOL_SUFFIX, &names);
	if (rc == ENOENT) {
		rc = 0;
		goto out;
	}
	if (rc != 0)
		goto fail;
	if (state == LT_BL_QUARANTINE) {
		t->files[state] += names.n;
		goto out;
	}
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		rc = errno == ENOENT ? 0 : errno;
		if (rc != 0)
			goto fail;
		goto out;
	}
	for (i = 0; i < names.n; i++) {
		rc = scan_file(t, dirfd, names.v[i], state, now_s);
		if (rc == EACCES) {
			(void)snprintf(err, errlen, "could not read \"%s/%s\": %s",
				       dir, names.v[i], strerror(rc));
			goto out;
		}
	}
	rc = 0;
	goto out;
fail:
	(void)snprintf(err, errlen, "could not list \"%s\": %s", dir, strerror(rc));
out:
	if (dirfd >= 0)
		(void)close(dirfd);
	lt_names_free(&names);
	return rc;
}

static int
scan_tenant(const char *spool, struct lt_backlog_tenant *t, int64_t now_s,
	    char *err, size_t errlen)
{
	struct lt_buf dir = LT_BUF_INIT;
	int i, rc = 0;

	/* Downstream first: a file that a flush moves from ready/ to
	 * active/ meanwhile is missed rather than counted twice. */
	for (i = LT_BL_STATES - 1; rc == 0 && i >= 0; i--) {
		lt_buf_reset(&dir);
		if (i == LT_BL_QUARANTINE ?
			    lt_buf_printf(&dir, "%s/quarantine/%s", spool, t->tenant) < 0 :
			    lt_spool_dir(&dir, spool, t->tenant,
					 lt_backlog_state_dirs[i]) < 0) {
			(void)snprintf(err, errlen, "out of memory");
			rc = ENOMEM;
			break;
		}
		rc = scan_dir(t, (char *)dir.data, (enum lt_backlog_state)i, now_s,
			      err, errlen);
	}
	lt_buf_free(&dir);
	return rc;
}

/* The tenants of tenants/ and of quarantine/, sorted, each once. */
static int
backlog_tenants(const char *spool, struct lt_names *names, char *err,
		size_t errlen)
{
	struct lt_buf dir = LT_BUF_INIT;
	struct lt_names quarantined = {0};
	size_t i, kept = 0;
	int rc;

	rc = lt_spool_tenants(spool, names);
	if (rc == 0) {
		if (lt_buf_printf(&dir, "%s/quarantine", spool) < 0)
			rc = ENOMEM;
		else
			rc = lt_tenant_dirs((char *)dir.data, &quarantined);
	}
	for (i = 0; rc == 0 && i < quarantined.n; i++)
		if (lt_names_list_add(names, quarantined.v[i]) < 0)
			rc = ENOMEM;
	if (rc != 0) {
		(void)snprintf(err, errlen, "could not list the tenants of spool directory \"%s\": %s",
			       spool, strerror(rc));
		goto out;
	}
	if (names->n > 1)
		qsort(names->v, names->n, sizeof(*names->v), lt_names_compare);
	for (i = 0; i < names->n; i++) {
		if (kept > 0 && strcmp(names->v[kept - 1], names->v[i]) == 0) {
			free(names->v[i]);
			continue;
		}
		names->v[kept++] = names->v[i];
	}
	names->n = kept;
out:
	lt_names_free(&quarantined);
	lt_buf_free(&dir);
	return rc;
}

static void
add_to_total(struct lt_backlog_tenant *total, const struct lt_backlog_tenant *t)
{
	int i;

	for (i = 0; i < LT_BL_STATES; i++)
		total->files[i] += t->files[i];
	total->entries += t->entries;
	total->bytes += t->bytes;
	total->incomplete += t->incomplete;
	total->deferred_due += t->deferred_due;
	if (t->oldest_ns != 0 &&
	    (total->oldest_ns == 0 || t->oldest_ns < total->oldest_ns))
		total->oldest_ns = t->oldest_ns;
	if (t->next_retry_s != 0 &&
	    (total->next_retry_s == 0 || t->next_retry_s < total->next_retry_s))
		total->next_retry_s = t->next_retry_s;
}

int
lt_backlog_scan(const char *spool, int64_t now_s, struct lt_backlog *b,
		char *err, size_t errlen)
{
	struct lt_names names = {0};
	struct stat st;
	size_t i;
	int rc;

	memset(b, 0, sizeof(*b));
	if (stat(spool, &st) < 0)
		rc = errno;
	else
		rc = S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
	if (rc != 0) {
		(void)snprintf(err, errlen, "could not read spool directory \"%s\": %s",
			       spool, strerror(rc));
		return rc;
	}
	rc = backlog_tenants(spool, &names, err, errlen);
	if (rc != 0)
		goto out;
	b->v = calloc(names.n ? names.n : 1, sizeof(*b->v));
	if (b->v == NULL) {
		rc = ENOMEM;
		(void)snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < names.n && rc == 0; i++) {
		/* Taken over from names, which then owns nothing. */
		b->v[i].tenant = names.v[i];
		names.v[i] = NULL;
		b->n++;
		rc = scan_tenant(spool, &b->v[i], now_s, err, errlen);
		add_to_total(&b->total, &b->v[i]);
	}
out:
	lt_names_free(&names);
	if (rc != 0)
		lt_backlog_free(b);
	return rc;
}

/* --- the flush lock --- */

/* Splits off the next blank-separated word of *p. */
static char *
next_word(char **p)
{
	char *w = *p, *e;

	while (*w == ' ' || *w == '\t')
		w++;
	if (*w == '\0' || *w == '\n')
		return NULL;
	e = w;
	while (*e && *e != ' ' && *e != '\t' && *e != '\n')
		e++;
	if (*e)
		*e++ = '\0';
	*p = e;
	return w;
}

/* One line of /proc/locks, "1: FLOCK  ADVISORY  WRITE 4242 fe:00:1234 0 EOF"
 * (fs/locks.c; major and minor in hex), for a lock on dev and ino?
 * Returns 1 with *pid when it is a held flock(2) lock, else 0.  Lines
 * of waiters ("1: -> FLOCK ...") do not count. */
static int
lock_line_matches(char *line, dev_t dev, ino_t ino, long *pid)
{
	char *p = line, *w[6], *e;
	unsigned long maj, mnr;
	unsigned long long in;
	long v;
	int i;

	for (i = 0; i < 6; i++)
		if ((w[i] = next_word(&p)) == NULL)
			return 0;
	if (strcmp(w[1], "FLOCK") != 0)
		return 0;
	errno = 0;
	v = strtol(w[4], &e, 10);
	if (errno || *e)
		return 0;
	maj = strtoul(w[5], &e, 16);
	if (*e != ':')
		return 0;
	mnr = strtoul(e + 1, &e, 16);
	if (*e != ':')
		return 0;
	in = strtoull(e + 1, &e, 10);
	if (*e || errno)
		return 0;
	if (maj != major(dev) || mnr != minor(dev) || in != (unsigned long long)ino)
		return 0;
	*pid = v > 0 ? v : 0;
	return 1;
}

int
lt_lock_holder(const char *spool, const char *proc_locks, long *pid,
	       char *err, size_t errlen)
{
	struct lt_buf path = LT_BUF_INIT;
	char *line = NULL;
	size_t cap = 0;
	struct stat st;
	FILE *f = NULL;
	int rc = -1;

	*pid = 0;
	if (lt_buf_printf(&path, "%s/flush.lock", spool) < 0) {
		(void)snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (stat((char *)path.data, &st) < 0) {
		if (errno == ENOENT) { /* no run ever locked it */
			rc = 0;
			goto out;
		}
		(void)snprintf(err, errlen, "could not stat \"%s\": %s",
			       (char *)path.data, strerror(errno));
		goto out;
	}
	f = fopen(proc_locks, "re");
	if (f == NULL) {
		(void)snprintf(err, errlen, "could not read \"%s\": %s", proc_locks,
			       strerror(errno));
		goto out;
	}
	rc = 0;
	while (rc == 0 && getline(&line, &cap, f) >= 0)
		rc = lock_line_matches(line, st.st_dev, st.st_ino, pid);
	if (rc == 0 && ferror(f)) {
		(void)snprintf(err, errlen, "could not read \"%s\": %s", proc_locks,
			       strerror(errno));
		rc = -1;
	}
out:
	if (f != NULL)
		(void)fclose(f);
	free(line);
	lt_buf_free(&path);
	return rc;
}
