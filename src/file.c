#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

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
