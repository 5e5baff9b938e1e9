/* Helpers the unit tests share: temporary directories, files written and
 * read whole, trees removed (testutil.h). */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

void
tu_tmpdir(char *dir, size_t cap, const char *name)
{
	const char *base = getenv("TMPDIR");
	int n;

	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	n = snprintf(dir, cap, "%s/%s-XXXXXX", base, name);
	ck_assert_msg(n > 0 && (size_t)n < cap,
		      "the temporary directory's name is too long for %zu bytes: %s/%s-XXXXXX",
		      cap, base, name);
	ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp %s failed", dir);
}

void
tu_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd;

	ck_assert_msg(unlink(path) == 0 || errno == ENOENT, "unlink %s failed", path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_msg(fd >= 0, "could not create %s", path);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	ck_assert_int_eq(close(fd), 0);
}

void
tu_read_file(const char *path, struct lt_buf *out)
{
	char chunk[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	ck_assert_msg(fd >= 0, "could not open %s", path);
	lt_buf_reset(out);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		ck_assert_int_eq(lt_buf_append(out, chunk, (size_t)n), 0);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(close(fd), 0);
}

/* nftw has no argument for its callback: whether a removal failed. */
static int rm_failed;

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	/* Go on after a failure, as rm -rf does: remove what can be. */
	if (remove(path) < 0)
		rm_failed = 1;
	return 0;
}

int
tu_rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	rm_failed = 0;
	if (nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
		return -1;
	return rm_failed ? -1 : 0;
}
