/* The spool's directories and the moves between them: a tenant's
 * directories, a spool file written durably into ready/ (or deferred/),
 * listing, the flush lock, taking back claims, sweeping tmp/, deferral
 * and quarantine. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <sys/file.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "file.h"
#include "log.h"
#include "spool.h"

int
lt_spool_dir(struct lt_buf *out, const char *root, const char *tenant,
	     const char *sub)
{
	lt_buf_reset(out);
	if (lt_buf_printf(out, "%s/tenants", root) < 0)
		return -1;
	if (tenant && lt_buf_printf(out, "/%s", tenant) < 0)
		return -1;
	if (sub && lt_buf_printf(out, "/%s", sub) < 0)
		return -1;
	return 0;
}

/* Whether path is a directory itself, not a symbolic link to one:
 * whoever can write into the spool must not make the programs list,
 * move, write or remove files elsewhere through a link planted in it.
 * Returns 0, or -1 with errno set (ENOTDIR for a link or a file). */
int
lt_spool_real_dir(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

/* The spool is shared through its group by the receiver's user and the
 * flusher's (logthra-spool(5), "Permissions"): each must be able to
 * rename and remove what the other created, and both create with modes
 * 0770 and 0660, less the umask.  Web servers and inetd hand the
 * programs they start umask 0022 (systemd's default, and openbsd-inetd
 * sets it whatever it was given), which takes the group's write bits, so
 * the programs set their own rather than rely on every caller's.
 *
 * 0007 outright, not the old umask with the group's bits cleared and the
 * others' set ((old | 0007) & ~0070): those two thirds are decided
 * anyway, and the owner's third is all the old value could add, where a
 * bit can only break the spool (a directory without the owner's w bit
 * is one its creator cannot write to; the group's bits do not apply to
 * the owner).  A fixed value also makes the modes in the spool those
 * logthra-spool(5) gives, not whatever the server's start-up left. */
mode_t
lt_spool_umask(void)
{
	return umask(LT_SPOOL_UMASK);
}

/* Creates dir when missing and makes its entry in parent durable, so a
 * file renamed into it later cannot vanish with the directory in a crash.
 * An existing one must be a directory, not a symbolic link.  It may have
 * been made a moment ago by another process that has not fsynced parent
 * yet, so parent is fsynced then too: this is the slow path, taken only
 * while some of a tenant's directories are missing. */
int
lt_spool_mkdir(const char *dir, const char *parent)
{
	if (mkdir(dir, 0770) < 0 && (errno != EEXIST || lt_spool_real_dir(dir) < 0))
		return -1;
	return lt_fsync_dir(parent);
}

/* Creates the spool root itself when missing (a fresh installation or a
 * test); its parent is not ours, but the new entry is made durable, also
 * when it exists already: another program may have just created it
 * without (the receiver's rate limiter creates rate/ in it first). */
static int
ensure_root(const char *root)
{
	char *copy;
	int rc;

	if (mkdir(root, 0770) < 0 && errno != EEXIST)
		return -1;
	copy = strdup(root);
	if (copy == NULL)
		return -1;
	rc = lt_fsync_dir(dirname(copy));
	free(copy);
	return rc;
}

/* Makes root/tenants/TENANT/{tmp,ready,active,deferred}.  The common
 * case, where they all exist, costs one stat. */
static int
ensure_tenant_dirs(const char *root, const char *tenant, struct lt_buf *path,
		   char *err, size_t errlen)
{
	static const char *const subs[] = {"tmp", "ready", "active", "deferred"};
	struct lt_buf parent = LT_BUF_INIT;
	struct stat st;
	size_t i;
	int rc = ENOMEM;

	if (lt_spool_dir(path, root, tenant, "deferred") < 0)
		goto out;
	if (stat((char *)path->data, &st) == 0) {
		rc = 0;
		goto out;
	}
	if (ensure_root(root) < 0) {
		rc = errno;
		(void)snprintf(err, errlen, "could not create spool directory \"%s\": %s",
			       root, strerror(rc));
		goto out;
	}
	if (lt_spool_dir(path, root, NULL, NULL) < 0)
		goto out;
	if (lt_spool_mkdir((char *)path->data, root) < 0)
		goto fail;
	if (lt_buf_printf(&parent, "%s", (char *)path->data) < 0 ||
	    lt_spool_dir(path, root, tenant, NULL) < 0)
		goto out;
	if (lt_spool_mkdir((char *)path->data, (char *)parent.data) < 0)
		goto fail;
	lt_buf_reset(&parent);
	if (lt_buf_printf(&parent, "%s", (char *)path->data) < 0)
		goto out;
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (lt_spool_dir(path, root, tenant, subs[i]) < 0)
			goto out;
		if (lt_spool_mkdir((char *)path->data, (char *)parent.data) < 0)
			goto fail;
	}
	rc = 0;
	goto out;
fail:
	rc = errno;
	(void)snprintf(err, errlen, "could not create directory \"%s\": %s",
		       (char *)path->data, strerror(rc));
out:
	lt_buf_free(&parent);
	return rc;
}

/* <received ns>-<pid>-<random>.spool: unique without coordination (pid
 * and random bits), and sorting by name sorts by arrival. */
static int
file_name(struct lt_buf *out)
{
	struct timespec ts;
	uint32_t rnd;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return -1;
	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = (uint32_t)ts.tv_nsec ^ (uint32_t)getpid() << 16;
	return lt_buf_printf(out, "%019" PRId64 "-%ld-%08" PRIx32 "%s",
			     (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec,
			     (long)getpid(), rnd, LT_SPOOL_SUFFIX);
}

/* err for a spool file that lt_file_replace() could not write: call
 * failed with rc. */
static void
write_error(enum lt_file_call call, int rc, const char *tmp, const char *path,
	    const char *dir, char *err, size_t errlen)
{
	if (call == LT_FILE_RENAME)
		(void)snprintf(err, errlen, "could not rename \"%s\" to \"%s\": %s",
			       tmp, path, strerror(rc));
	else if (call == LT_FILE_FSYNC_DIR)
		(void)snprintf(err, errlen, "could not fsync directory \"%s\": %s",
			       dir, strerror(rc));
	else
		(void)snprintf(err, errlen, "could not %s spool file \"%s\": %s",
			       lt_file_call_verb(call), tmp, strerror(rc));
}

/* statvfs() of path or, while it does not exist yet, of its nearest
 * parent that does: the file system the first push will create it on. */
static int
statvfs_existing(const char *path, struct statvfs *sv)
{
	char dir[4096];
	char *slash;
	int n;

	n = snprintf(dir, sizeof(dir), "%s", path);
	if (n < 0 || (size_t)n >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	while (statvfs(dir, sv) < 0) {
		if (errno != ENOENT)
			return -1;
		slash = strrchr(dir, '/');
		if (slash == NULL)
			return statvfs(".", sv);
		if (slash == dir) /* "/x" missing: / is there */
			return statvfs("/", sv);
		*slash = '\0';
	}
	return 0;
}

int
lt_spool_space_ok(const char *root, size_t min_free_bytes,
		  size_t min_free_inodes, char *err, size_t errlen)
{
	struct statvfs sv;
	unsigned long long bytes;

	if (statvfs_existing(root, &sv) < 0) {
		(void)snprintf(err, errlen, "could not check free space of \"%s\": %s",
			       root, strerror(errno));
		return errno;
	}
	bytes = (unsigned long long)sv.f_bavail * sv.f_frsize;
	if (bytes < min_free_bytes) {
		(void)snprintf(err, errlen,
			       "spool file system of \"%s\" has %llu bytes free, under the reserve of %zu (min_free_space)",
			       root, bytes, min_free_bytes);
		return ENOSPC;
	}
	/* f_files == 0: a file system without an inode limit (btrfs). */
	if (sv.f_files != 0 && sv.f_favail < min_free_inodes) {
		(void)snprintf(err, errlen,
			       "spool file system of \"%s\" has %llu inodes free, under the reserve of %zu (min_free_inodes)",
			       root, (unsigned long long)sv.f_favail, min_free_inodes);
		return ENOSPC;
	}
	return 0;
}

uint64_t
lt_push_id_new(void)
{
	struct timespec ts;
	uint64_t id;

	if (getrandom(&id, sizeof(id), 0) == sizeof(id))
		return id;
	/* No entropy yet (early boot): time and pid still make a clash
	 * within one tenant and day vanishingly unlikely. */
	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec << 32 ^ (uint64_t)ts.tv_nsec) * 0x9e3779b97f4a7c15u ^
	       (uint64_t)getpid();
}

int
lt_spool_tenant_dirs(const char *root, const char *tenant, char *err,
		     size_t errlen)
{
	static const char *const subs[] = {"tmp", "ready", "active", "deferred"};
	struct lt_buf path = LT_BUF_INIT;
	size_t i;
	int rc = ensure_tenant_dirs(root, tenant, &path, err, errlen);

	/* ensure_tenant_dirs() follows links on its fast path (the
	 * receiver's); the flusher checks every directory it works in. */
	for (i = 0; rc == 0 && i <= sizeof(subs) / sizeof(subs[0]); i++) {
		if (lt_spool_dir(&path, root, tenant, i == 0 ? NULL : subs[i - 1]) < 0) {
			rc = ENOMEM;
		} else if (lt_spool_real_dir((char *)path.data) < 0) {
			rc = errno;
			(void)snprintf(err, errlen, rc == ENOTDIR
				       ? "\"%s\" is a symbolic link or not a directory; the spool's directories must be real ones"
				       : "could not check directory \"%s\": %s",
				       (char *)path.data, strerror(rc));
		}
	}
	if (rc == ENOMEM)
		(void)snprintf(err, errlen, "out of memory");
	lt_buf_free(&path);
	return rc;
}

int
lt_spool_write(const char *root, const char *tenant, const void *data,
	       size_t len, struct lt_buf *path_out, char *err, size_t errlen)
{
	return lt_spool_write_state(root, tenant, "ready", data, len, path_out,
				    err, errlen);
}

int
lt_spool_write_state(const char *root, const char *tenant, const char *state,
		     const void *data, size_t len, struct lt_buf *path_out,
		     char *err, size_t errlen)
{
	struct lt_buf name = LT_BUF_INIT, tmp = LT_BUF_INIT;
	struct lt_buf dir = LT_BUF_INIT, path = LT_BUF_INIT;
	enum lt_file_call call;
	int rc;

	rc = ensure_tenant_dirs(root, tenant, &dir, err, errlen);
	if (rc != 0)
		goto out;
	if (file_name(&name) < 0 || lt_spool_dir(&tmp, root, tenant, "tmp") < 0 ||
	    lt_buf_printf(&tmp, "/%s", (char *)name.data) < 0 ||
	    lt_spool_dir(&dir, root, tenant, state) < 0 ||
	    lt_buf_printf(&path, "%s/%s", (char *)dir.data, (char *)name.data) < 0) {
		rc = ENOMEM;
		(void)snprintf(err, errlen, "out of memory");
		goto out;
	}
	/* tmp/NAME, created with O_EXCL (the name is unique), renamed into
	 * ready/, which is fsynced: durable only once the directory entry
	 * is. */
	rc = lt_file_replace((char *)path.data, (char *)tmp.data, data, len, 0660,
			     LT_FILE_SYNC, &call);
	if (rc != 0) {
		/* When only the fsync of ready/ failed the rename may or may
		 * not survive a crash, so the push is refused and the file
		 * removed; the client sends it again. */
		if (call == LT_FILE_FSYNC_DIR)
			(void)unlink((char *)path.data);
		write_error(call, rc, (char *)tmp.data, (char *)path.data,
			    (char *)dir.data, err, errlen);
		goto out;
	}
	if (path_out) {
		lt_buf_reset(path_out);
		(void)lt_buf_append(path_out, path.data, path.len);
		(void)lt_buf_terminate(path_out);
	}
out:
	lt_buf_free(&name);
	lt_buf_free(&tmp);
	lt_buf_free(&dir);
	lt_buf_free(&path);
	return rc;
}

/* --- listing, locking, recovery --- */

int
lt_names_list_add(struct lt_names *names, const char *name)
{
	char **v;

	if (names->n == names->cap) {
		size_t cap = names->cap ? names->cap * 2 : 64;
		v = realloc(names->v, cap * sizeof(*v));
		if (v == NULL)
			return -1;
		names->v = v;
		names->cap = cap;
	}
	names->v[names->n] = strdup(name);
	if (names->v[names->n] == NULL)
		return -1;
	names->n++;
	return 0;
}

int
lt_names_compare(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);

	return n > s && memcmp(name + n - s, suffix, s) == 0;
}

int
lt_names_list(const char *dir, const char *suffix, struct lt_names *out)
{
	struct dirent *de;
	DIR *d;
	int rc = 0;

	d = opendir(dir);
	if (d == NULL)
		return errno;
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (de == NULL) {
			rc = errno;
			break;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (suffix && !has_suffix(de->d_name, suffix))
			continue;
		if (lt_names_list_add(out, de->d_name) < 0) {
			rc = ENOMEM;
			break;
		}
	}
	(void)closedir(d);
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), lt_names_compare);
	return rc;
}

void
lt_names_free(struct lt_names *names)
{
	size_t i;

	for (i = 0; i < names->n; i++)
		free(names->v[i]);
	free(names->v);
	memset(names, 0, sizeof(*names));
}

int
lt_tenant_dirs(const char *dir, struct lt_names *out)
{
	struct lt_buf path = LT_BUF_INIT;
	const char *why;
	struct stat st;
	size_t i, kept = 0;
	int rc;

	rc = lt_names_list(dir, NULL, out);
	if (rc == ENOENT) /* nothing has arrived yet */
		rc = 0;
	for (i = 0; i < out->n; i++) {
		lt_buf_reset(&path);
		why = "not a directory";
		if (lt_tenant_valid(out->v[i], &why) < 0 ||
		    lt_buf_printf(&path, "%s/%s", dir, out->v[i]) < 0 ||
		    lstat((char *)path.data, &st) < 0 || !S_ISDIR(st.st_mode)) {
			lt_warning("ignoring \"%s/%s\": not a tenant directory (%s)",
				   dir, out->v[i], why);
			free(out->v[i]);
			continue;
		}
		out->v[kept++] = out->v[i];
	}
	out->n = kept;
	lt_buf_free(&path);
	return rc;
}

int
lt_spool_tenants(const char *root, struct lt_names *out)
{
	struct lt_buf dir = LT_BUF_INIT;
	int rc;

	if (lt_spool_dir(&dir, root, NULL, NULL) < 0)
		return ENOMEM;
	rc = lt_tenant_dirs((char *)dir.data, out);
	lt_buf_free(&dir);
	return rc;
}

int
lt_spool_lock(const char *root, int *fd)
{
	struct lt_buf path = LT_BUF_INIT;
	int rc = -1, saved;

	if (lt_buf_printf(&path, "%s/flush.lock", root) < 0) {
		errno = ENOMEM;
		return -1;
	}
	*fd = open((char *)path.data, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		   0660);
	if (*fd < 0)
		goto out;
	if (flock(*fd, LOCK_EX | LOCK_NB) == 0) {
		rc = 0;
		goto out;
	}
	saved = errno;
	(void)close(*fd);
	*fd = -1;
	errno = saved;
	if (saved == EWOULDBLOCK)
		rc = 1;
out:
	saved = errno;
	lt_buf_free(&path);
	errno = saved;
	return rc;
}

/* Runs fn on every file name in the tenant's sub directory. */
static int
each_file(const char *root, const char *tenant, const char *sub,
	  int (*fn)(const char *dir, const char *name, void *arg), void *arg,
	  char *err, size_t errlen)
{
	struct lt_buf dir = LT_BUF_INIT;
	struct lt_names names = {0};
	size_t i;
	int rc;

	if (lt_spool_dir(&dir, root, tenant, sub) < 0) {
		rc = ENOMEM;
		goto fail;
	}
	if (lt_spool_real_dir((char *)dir.data) < 0) {
		rc = errno;
		if (rc != ENOENT)
			goto fail;
		rc = 0; /* nothing has arrived yet */
		goto out;
	}
	rc = lt_names_list((char *)dir.data, NULL, &names);
	if (rc == ENOENT)
		rc = 0;
	for (i = 0; rc == 0 && i < names.n; i++)
		rc = fn((char *)dir.data, names.v[i], arg);
	if (rc == 0)
		goto out;
fail:
	(void)snprintf(err, errlen, "could not process \"%s\": %s",
		       dir.data ? (char *)dir.data : root, strerror(rc));
out:
	lt_names_free(&names);
	lt_buf_free(&dir);
	return rc;
}

struct unclaim {
	int64_t due_s;
	size_t moved;
};

static int
unclaim_one(const char *dir, const char *name, void *arg)
{
	struct unclaim *u = arg;
	struct lt_buf from = LT_BUF_INIT, to = LT_BUF_INIT;
	int rc = 0;

	struct timespec times[2] = {{(time_t)u->due_s, 0}, {(time_t)u->due_s, 0}};

	/* dir is .../active; its sibling is .../deferred. */
	if (lt_buf_printf(&from, "%s/%s", dir, name) < 0 ||
	    lt_buf_printf(&to, "%.*s/deferred/%s", (int)(strlen(dir) - 7), dir,
			  name) < 0)
		rc = ENOMEM;
	else if (rename((char *)from.data, (char *)to.data) < 0)
		rc = errno;
	/* Two names of one inode (a claim from deferred/ that a cut kept
	 * in both, where hard links survive): rename(2) leaves both. */
	else if (unlink((char *)from.data) < 0 && errno != ENOENT)
		rc = errno;
	else if (utimensat(AT_FDCWD, (char *)to.data, times, AT_SYMLINK_NOFOLLOW) < 0)
		rc = errno;
	else
		u->moved++;
	lt_buf_free(&from);
	lt_buf_free(&to);
	return rc;
}

struct twins {
	const char *ready;     /* the tenant's ready/ */
	struct lt_names names; /* its names, listed at the first need */
	int listed;
	struct lt_names found; /* those that active/ or deferred/ hold too */
};

/* A name of active/ or deferred/ that ready/ holds too: the ready/ one
 * goes.  Names are never reused, so the two are one push: a claim whose
 * ready/ name a run did not remove before it died (logthra-flush links
 * a file into active/ and unlinks it from ready/ later), or that a power
 * cut kept in ready/ (each directory's entries are durable only once it
 * is fsynced).  On a file system that keeps hard links the two may be
 * one inode; where a cut left copies, two.  As a fresh file in ready/
 * its rows would be sent without asking ClickHouse what it holds
 * already; the suspect twin is asked first.  ready/ is listed only when
 * there is such a name to look for: most runs find active/ and deferred/
 * empty, and a backlog makes ready/ long. */
static int
find_twin(const char *dir, const char *name, void *arg)
{
	struct twins *t = arg;
	const char *key = name;
	int rc;

	(void)dir;
	if (!t->listed) {
		rc = lt_spool_real_dir(t->ready) < 0 ? errno : 0;
		if (rc == 0)
			rc = lt_names_list(t->ready, NULL, &t->names);
		if (rc != 0 && rc != ENOENT)
			return rc;
		t->listed = 1;
	}
	if (t->names.n == 0 ||
	    bsearch(&key, t->names.v, t->names.n, sizeof(*t->names.v),
		    lt_names_compare) == NULL)
		return 0;
	return lt_names_list_add(&t->found, name) < 0 ? ENOMEM : 0;
}

/* fsyncs the tenant's sub directory, unless it does not exist. */
static int
fsync_sub(const char *root, const char *tenant, const char *sub,
	  struct lt_buf *dir)
{
	if (lt_spool_dir(dir, root, tenant, sub) < 0) {
		errno = ENOMEM;
		return -1;
	}
	if (lt_fsync_dir((char *)dir->data) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

/* Removes the twins' ready/ names, durably.  Their other names go to
 * disk first: a ready/ name whose removal were durable before the
 * active/ or deferred/ name it stood in for would lose the push. */
static int
drop_found(const char *root, const char *tenant, struct twins *t,
	   char *err, size_t errlen)
{
	struct lt_buf dir = LT_BUF_INIT;
	size_t i;
	int rc = 0;

	if (fsync_sub(root, tenant, "active", &dir) < 0 ||
	    fsync_sub(root, tenant, "deferred", &dir) < 0)
		goto fail;
	for (i = 0; i < t->found.n; i++) {
		lt_buf_reset(&dir);
		if (lt_buf_printf(&dir, "%s/%s", t->ready, t->found.v[i]) < 0) {
			errno = ENOMEM;
			goto fail;
		}
		if (unlink((char *)dir.data) < 0 && errno != ENOENT)
			goto fail;
	}
	lt_buf_reset(&dir);
	if (lt_buf_printf(&dir, "%s", t->ready) < 0) {
		errno = ENOMEM;
		goto fail;
	}
	if (lt_fsync_dir(t->ready) == 0)
		goto out;
fail:
	rc = errno;
	(void)snprintf(err, errlen, "could not drop the ready/ names of claimed files (\"%s\"): %s",
		       dir.data ? (char *)dir.data : root, strerror(rc));
out:
	lt_buf_free(&dir);
	return rc;
}

/* Drops the ready/ twins of the tenant's active/ and deferred/ files,
 * durably. */
static int
drop_ready_twins(const char *root, const char *tenant, char *err, size_t errlen)
{
	struct lt_buf ready = LT_BUF_INIT;
	struct twins t = {NULL, {0}, 0, {0}};
	int rc;

	if (lt_spool_dir(&ready, root, tenant, "ready") < 0) {
		(void)snprintf(err, errlen, "out of memory");
		return ENOMEM;
	}
	t.ready = (char *)ready.data;
	rc = each_file(root, tenant, "active", find_twin, &t, err, errlen);
	if (rc == 0)
		rc = each_file(root, tenant, "deferred", find_twin, &t, err, errlen);
	if (rc == 0 && t.found.n > 0)
		rc = drop_found(root, tenant, &t, err, errlen);
	lt_names_free(&t.names);
	lt_names_free(&t.found);
	lt_buf_free(&ready);
	return rc;
}

int
lt_spool_unclaim(const char *root, const char *tenant, int64_t due_s,
		 size_t *moved, char *err, size_t errlen)
{
	struct lt_buf deferred = LT_BUF_INIT;
	struct unclaim u = {due_s, 0};
	int rc;

	*moved = 0;
	rc = drop_ready_twins(root, tenant, err, errlen);
	if (rc != 0)
		return rc;
	if (lt_spool_dir(&deferred, root, tenant, "deferred") < 0) {
		(void)snprintf(err, errlen, "out of memory");
		return ENOMEM;
	}
	/* The files go there: not through a link out of the spool. */
	if (lt_spool_real_dir((char *)deferred.data) < 0 && errno != ENOENT) {
		rc = errno;
		(void)snprintf(err, errlen, "could not process \"%s\": %s",
			       (char *)deferred.data, strerror(rc));
		goto out;
	}
	rc = each_file(root, tenant, "active", unclaim_one, &u, err, errlen);
	*moved = u.moved;
	if (u.moved > 0 && lt_fsync_dir((char *)deferred.data) < 0 && rc == 0) {
		rc = errno;
		(void)snprintf(err, errlen, "could not fsync directory \"%s\": %s",
			       (char *)deferred.data, strerror(rc));
	}
out:
	lt_buf_free(&deferred);
	return rc;
}

struct sweep {
	time_t before;
	size_t removed;
};

static int
sweep_one(const char *dir, const char *name, void *arg)
{
	struct sweep *s = arg;
	struct lt_buf path = LT_BUF_INIT;
	struct stat st;
	int rc = 0;

	if (lt_buf_printf(&path, "%s/%s", dir, name) < 0)
		rc = ENOMEM;
	else if (lstat((char *)path.data, &st) < 0)
		rc = errno == ENOENT ? 0 : errno; /* finished meanwhile */
	else if (st.st_mtime < s->before) {
		if (unlink((char *)path.data) == 0)
			s->removed++;
		else if (errno != ENOENT)
			rc = errno;
	}
	lt_buf_free(&path);
	return rc;
}

int
lt_spool_sweep_tmp(const char *root, const char *tenant, int64_t max_age_s,
		   size_t *removed, char *err, size_t errlen)
{
	struct sweep s = {time(NULL) - (time_t)max_age_s, 0};
	int rc;

	rc = each_file(root, tenant, "tmp", sweep_one, &s, err, errlen);
	*removed = s.removed;
	return rc;
}

/* --- deferral and quarantine --- */

int
lt_spool_move(const char *root, const char *tenant, const char *from,
	      const char *to, const char *name, int64_t mtime_s)
{
	struct lt_buf a = LT_BUF_INIT, b = LT_BUF_INIT;
	struct timespec times[2];
	int rc = ENOMEM;

	if (lt_spool_dir(&a, root, tenant, from) < 0 ||
	    lt_buf_printf(&a, "/%s", name) < 0 ||
	    lt_spool_dir(&b, root, tenant, to) < 0 ||
	    lt_buf_printf(&b, "/%s", name) < 0)
		goto out;
	rc = 0;
	if (rename((char *)a.data, (char *)b.data) < 0) {
		rc = errno;
		goto out;
	}
	/* Two names of one inode (a claim whose old name in to/ is still
	 * there): rename(2) leaves both, and the from/ one must go. */
	if (unlink((char *)a.data) < 0 && errno != ENOENT) {
		rc = errno;
		goto out;
	}
	if (mtime_s >= 0) {
		times[0].tv_sec = times[1].tv_sec = (time_t)mtime_s;
		times[0].tv_nsec = times[1].tv_nsec = 0;
		if (utimensat(AT_FDCWD, (char *)b.data, times, AT_SYMLINK_NOFOLLOW) < 0)
			rc = errno;
	}
out:
	lt_buf_free(&a);
	lt_buf_free(&b);
	return rc;
}

int
lt_spool_link(const char *root, const char *tenant, const char *from,
	      const char *to, const char *name)
{
	struct lt_buf a = LT_BUF_INIT, b = LT_BUF_INIT;
	int rc = ENOMEM;

	if (lt_spool_dir(&a, root, tenant, from) == 0 &&
	    lt_buf_printf(&a, "/%s", name) == 0 &&
	    lt_spool_dir(&b, root, tenant, to) == 0 &&
	    lt_buf_printf(&b, "/%s", name) == 0)
		rc = link((char *)a.data, (char *)b.data) < 0 ? errno : 0;
	lt_buf_free(&a);
	lt_buf_free(&b);
	return rc;
}

static int
write_reason(const char *path, const char *reason)
{
	struct lt_buf text = LT_BUF_INIT;
	int rc;

	if (lt_buf_printf(&text, "%s\n", reason) < 0)
		return ENOMEM;
	/* Created, written, fsynced and closed like a spool file.  One
	 * writer (the flush lock's holder): a note from an earlier
	 * quarantine of this name is removed first. */
	rc = lt_file_create(path, text.data, text.len, 0660,
			    LT_FILE_SYNC | LT_FILE_ONE_WRITER, NULL);
	lt_buf_free(&text);
	return rc;
}

int
lt_spool_quarantine(const char *root, const char *tenant, const char *from,
		    const char *name, const char *reason, char *err, size_t errlen)
{
	struct lt_buf dir = LT_BUF_INIT, src = LT_BUF_INIT, dst = LT_BUF_INIT;
	int rc = ENOMEM;

	if (lt_buf_printf(&dir, "%s/quarantine", root) < 0)
		goto out;
	if (lt_spool_mkdir((char *)dir.data, root) < 0)
		goto fail;
	if (lt_buf_printf(&dst, "%s", (char *)dir.data) < 0 ||
	    lt_buf_printf(&dir, "/%s", tenant) < 0)
		goto out;
	if (lt_spool_mkdir((char *)dir.data, (char *)dst.data) < 0)
		goto fail;
	lt_buf_reset(&dst);
	/* The note first: a file in quarantine always has its reason. */
	if (lt_buf_printf(&dst, "%s/%s.reason", (char *)dir.data, name) < 0)
		goto out;
	rc = write_reason((char *)dst.data, reason);
	if (rc != 0)
		goto report;
	lt_buf_reset(&dst);
	if (lt_spool_dir(&src, root, tenant, from) < 0 ||
	    lt_buf_printf(&src, "/%s", name) < 0 ||
	    lt_buf_printf(&dst, "%s/%s", (char *)dir.data, name) < 0) {
		rc = ENOMEM;
		goto out;
	}
	/* Durable in quarantine/ first, then gone from the source: never
	 * lost, and not found again in active/ after a power failure. */
	rc = lt_file_sync_rename((char *)src.data, (char *)dst.data, NULL);
	if (rc != 0)
		goto report;
	goto out;
fail:
	rc = errno;
report:
	(void)snprintf(err, errlen, "could not quarantine \"%s\" in \"%s\": %s",
		       name, (char *)dir.data, strerror(rc));
out:
	if (rc == ENOMEM)
		(void)snprintf(err, errlen, "out of memory");
	lt_buf_free(&dir);
	lt_buf_free(&src);
	lt_buf_free(&dst);
	return rc;
}
