/* Files read and written whole, safely: a small file read by its name
 * without following what a daemon must not, and a file replaced through
 * a temporary name, fsync and rename, durably when asked. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdio.h"
#include "file.h"

/* How much a read asks for past what fstat() said: a file that grew
 * since is rare, and max bounds the total anyway. */
#define GROWTH_CHUNK 4096

/* Why the file is refused, from what fstat() says: 0 when it is not. */
static int
refusal(const struct stat *st, int flags, mode_t refuse, size_t max)
{
	if (!S_ISREG(st->st_mode))
		return EINVAL;
	if ((flags & LT_FILE_ONE_LINK) && st->st_nlink != 1)
		return EMLINK;
	if ((flags & LT_FILE_TWO_LINKS) && st->st_nlink != 2)
		return EMLINK;
	if (st->st_mode & refuse)
		return EPERM;
	if (st->st_size < 0 || (uintmax_t)st->st_size > max)
		return EFBIG;
	return 0;
}

int
lt_file_read(const char *path, int flags, mode_t refuse, size_t max,
	     struct lt_buf *out, struct stat *st, enum lt_file_call *failed)
{
	/* O_NONBLOCK: opening a FIFO planted under the name must not wait
	 * for a writer; fstat() refuses it next.  It changes nothing for a
	 * regular file.  O_NOCTTY: nor may a terminal become ours. */
	int oflags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
	enum lt_file_call call = LT_FILE_NONE;
	size_t start = out->len, got = 0, want, room;
	struct stat own;
	ssize_t n;
	int fd, rc;

	if (st == NULL)
		st = &own;
	if (!(flags & LT_FILE_FOLLOW))
		oflags |= O_NOFOLLOW;
	fd = open(path, oflags);
	if (fd < 0) {
		rc = errno;
		call = LT_FILE_OPEN;
		goto done;
	}
	if (fstat(fd, st) < 0) {
		rc = errno;
		call = LT_FILE_FSTAT;
		goto out;
	}
	rc = refusal(st, flags, refuse, max);
	if (rc != 0)
		goto out;
	/* Room for what fstat() said and for the read that finds the end:
	 * a file that did not change is read without growing out again. */
	if (lt_buf_reserve(out, (size_t)st->st_size + 1) < 0) {
		rc = ENOMEM;
		goto out;
	}
	for (;;) { /* to the end, in case it grew since fstat() */
		/* One byte past max tells a file that grew too large; never
		 * more, so that max + 1 bytes reserved by the caller do. */
		want = max - got < SIZE_MAX ? max - got + 1 : SIZE_MAX;
		if (lt_buf_reserve(out, want < GROWTH_CHUNK ? want : GROWTH_CHUNK) < 0) {
			rc = ENOMEM;
			goto out;
		}
		room = out->cap - out->len - 1; /* lt_buf_reserve() keeps the NUL's byte */
		n = read(fd, out->data + out->len, room < want ? room : want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = errno;
			call = LT_FILE_READ;
			goto out;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		got += (size_t)n;
		if (got > max) {
			rc = EFBIG;
			goto out;
		}
	}
	if (lt_buf_terminate(out) < 0) /* cannot fail: its byte is reserved */
		rc = ENOMEM;
out:
	/* Opened for reading only: close() cannot lose anything that
	 * would change the answer. */
	(void)close(fd);
done:
	if (rc != 0)
		out->len = start;
	if (failed != NULL)
		*failed = call;
	return rc;
}

/* --- writing --- */

const char *
lt_file_call_verb(enum lt_file_call call)
{
	switch (call) {
	case LT_FILE_NONE:
		break;
	case LT_FILE_OPEN:
		return "open";
	case LT_FILE_FSTAT:
		return "fstat";
	case LT_FILE_READ:
		return "read";
	case LT_FILE_CREATE:
		return "create";
	case LT_FILE_CHMOD:
		return "chmod";
	case LT_FILE_WRITE:
		return "write";
	case LT_FILE_FSYNC:
		return "fsync";
	case LT_FILE_CLOSE:
		return "close";
	case LT_FILE_RENAME:
		return "rename";
	case LT_FILE_FSYNC_DIR:
		return "fsync the directory of";
	}
	return "write"; /* the caller's own error: out of memory */
}

int
lt_fsync_dir(const char *path)
{
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fsync(fd) < 0)
		rc = -1;
	if (close(fd) < 0)
		rc = -1;
	return rc;
}

/* fsyncs the directory that holds path: "." for a bare name. */
static int
fsync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	struct lt_buf dir = LT_BUF_INIT;
	int rc;

	if (slash == NULL)
		return lt_fsync_dir(".");
	if (slash == path)
		return lt_fsync_dir("/");
	if (lt_buf_append(&dir, path, (size_t)(slash - path)) < 0 ||
	    lt_buf_terminate(&dir) < 0) {
		lt_buf_free(&dir);
		errno = ENOMEM;
		return -1;
	}
	rc = lt_fsync_dir((char *)dir.data);
	lt_buf_free(&dir);
	return rc;
}

/* The directories of a and b are one: the same text before the last
 * slash.  (Another spelling of the same directory costs one more fsync.) */
static int
same_dir(const char *a, const char *b)
{
	const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');

	if (sa == NULL || sb == NULL)
		return sa == sb;
	return sa - a == sb - b && memcmp(a, b, (size_t)(sa - a)) == 0;
}

/* Creates path, with O_EXCL: nothing planted under the name, not even a
 * hard link to another file, is written through.  Returns the fd, or -1
 * with errno set. */
static int
create(const char *path, mode_t mode, int flags)
{
	if ((flags & LT_FILE_ONE_WRITER) && unlink(path) < 0 && errno != ENOENT)
		return -1; /* EISDIR: a directory is in the way */
	return open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    mode);
}

/* Creates path, has fill write it, fsyncs it (LT_FILE_SYNC) and closes
 * it; removes it on failure.  After a failed fsync the page cache may
 * claim data that never reached the disk, so the file is never trusted
 * or retried.  Returns 0 or an errno value, *failed the call. */
static int
create_with(const char *path, mode_t mode, int flags, lt_file_writer *fill,
	    void *arg, enum lt_file_call *failed)
{
	int fd, rc;

	*failed = LT_FILE_CREATE;
	fd = create(path, mode, flags);
	if (fd < 0)
		return errno;
	*failed = LT_FILE_CHMOD;
	rc = (flags & LT_FILE_EXACT_MODE) && fchmod(fd, mode) < 0 ? errno : 0;
	if (rc == 0) {
		*failed = LT_FILE_WRITE;
		rc = fill(fd, arg);
	}
	if (rc == 0 && (flags & LT_FILE_SYNC)) {
		*failed = LT_FILE_FSYNC;
		rc = fsync(fd) < 0 ? errno : 0;
	}
	if (rc == 0) {
		*failed = LT_FILE_CLOSE;
		rc = close(fd) < 0 ? errno : 0;
	} else {
		(void)close(fd);
	}
	if (rc != 0)
		(void)unlink(path);
	else
		*failed = LT_FILE_NONE;
	return rc;
}

struct data {
	const void *p;
	size_t len;
};

static int
write_data(int fd, void *arg)
{
	const struct data *d = arg;

	return lt_fd_write_all(fd, d->p, d->len) < 0 ? errno : 0;
}

int
lt_file_create(const char *path, const void *data, size_t len, mode_t mode,
	       int flags, enum lt_file_call *failed)
{
	struct data d = {data, len};
	enum lt_file_call call;
	int rc;

	rc = create_with(path, mode, flags, write_data, &d, &call);
	if (failed != NULL)
		*failed = call;
	return rc;
}

int
lt_file_replace_with(const char *path, const char *tmp, mode_t mode,
		     int flags, lt_file_writer *fill, void *arg,
		     enum lt_file_call *failed)
{
	struct lt_buf own = LT_BUF_INIT;
	enum lt_file_call call = LT_FILE_NONE;
	int rc;

	if (tmp == NULL) {
		if (lt_buf_printf(&own, "%s.tmp", path) < 0) {
			rc = ENOMEM;
			goto out;
		}
		tmp = (char *)own.data;
	}
	rc = create_with(tmp, mode, flags, fill, arg, &call);
	if (rc != 0)
		goto out;
	call = LT_FILE_RENAME;
	if (rename(tmp, path) < 0) {
		rc = errno;
		(void)unlink(tmp);
		goto out;
	}
	/* The new name is in place; durable once its directory is. */
	call = LT_FILE_FSYNC_DIR;
	if ((flags & LT_FILE_SYNC) && fsync_parent(path) < 0) {
		rc = errno;
		goto out;
	}
	call = LT_FILE_NONE;
out:
	lt_buf_free(&own);
	if (failed != NULL)
		*failed = call;
	return rc;
}

int
lt_file_replace(const char *path, const char *tmp, const void *data,
		size_t len, mode_t mode, int flags, enum lt_file_call *failed)
{
	struct data d = {data, len};

	return lt_file_replace_with(path, tmp, mode, flags, write_data, &d,
				    failed);
}

int
lt_file_sync_rename(const char *from, const char *to,
		    enum lt_file_call *failed)
{
	enum lt_file_call call = LT_FILE_RENAME;
	int rc = 0;

	if (rename(from, to) < 0)
		rc = errno;
	else if (fsync_parent(to) < 0 ||
		 (!same_dir(from, to) && fsync_parent(from) < 0)) {
		rc = errno;
		call = LT_FILE_FSYNC_DIR;
	}
	if (failed != NULL)
		*failed = rc != 0 ? call : LT_FILE_NONE;
	return rc;
}
