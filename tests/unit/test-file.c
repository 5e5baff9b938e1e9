/* Unit tests: reading small files whole (lt_file_read) and replacing
 * them through a temporary name (lt_file_replace and its kin). */
#include "config.h"

#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "file.h"
#include "testutil.h"

static char dir[64];
static char path[128];

static void
setup(void)
{
	tu_tmpdir(dir, sizeof(dir), "test-file");
	(void)snprintf(path, sizeof(path), "%s/f", dir);
}

static void
teardown(void)
{
	ck_assert_int_eq(tu_rm_rf(dir), 0);
}

/* Reads p with the given limits and checks the error and the call it
 * comes from; out must be left as it was. */
static void
refused(const char *p, int flags, mode_t refuse, size_t max, int want,
	enum lt_file_call want_call)
{
	struct lt_buf b = LT_BUF_INIT;
	enum lt_file_call call = LT_FILE_READ;

	ck_assert_int_eq(lt_buf_append(&b, "kept", 4), 0);
	ck_assert_int_eq(lt_file_read(p, flags, refuse, max, &b, NULL, &call), want);
	ck_assert_int_eq(call, want_call);
	ck_assert_uint_eq(b.len, 4);
	lt_buf_free(&b);
}

START_TEST(test_normal_file)
{
	struct lt_buf b = LT_BUF_INIT;
	enum lt_file_call call = LT_FILE_READ;
	struct stat st;

	tu_write_file(path, "hello\nworld\n", 12, 0640);
	ck_assert_int_eq(lt_file_read(path, 0, 0, 12, &b, &st, &call), 0);
	ck_assert_int_eq(call, LT_FILE_NONE);
	ck_assert_uint_eq(b.len, 12);
	ck_assert_str_eq((char *)b.data, "hello\nworld\n"); /* NUL-terminated */
	ck_assert_uint_eq(st.st_mode & 07777, 0640);
	ck_assert_int_eq(st.st_size, 12);
	/* It appends, and st and failed may be NULL. */
	ck_assert_int_eq(lt_file_read(path, 0, 0, LT_FILE_NO_MAX, &b, NULL, NULL), 0);
	ck_assert_uint_eq(b.len, 24);
	ck_assert_str_eq((char *)b.data, "hello\nworld\nhello\nworld\n");
	lt_buf_free(&b);
}
END_TEST

START_TEST(test_empty_file)
{
	struct lt_buf b = LT_BUF_INIT;

	tu_write_file(path, "", 0, 0600);
	ck_assert_int_eq(lt_file_read(path, 0, 0, 0, &b, NULL, NULL), 0);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_ptr_nonnull(b.data);
	ck_assert_int_eq(b.data[0], '\0');
	lt_buf_free(&b);
}
END_TEST

START_TEST(test_too_large)
{
	tu_write_file(path, "0123456789", 10, 0600);
	refused(path, 0, 0, 9, EFBIG, LT_FILE_NONE);
}
END_TEST

/* fstat() says 0 bytes for the files of /proc: the reader goes on to
 * the end, and stops one byte past max when the file is larger. */
START_TEST(test_reads_past_fstat_size)
{
	struct lt_buf b = LT_BUF_INIT;
	struct stat st;

	ck_assert_int_eq(lt_file_read("/proc/self/status", 0, 0, 1 << 20, &b, &st,
				      NULL), 0);
	ck_assert_int_eq(st.st_size, 0);
	ck_assert_ptr_nonnull(strstr((char *)b.data, "\nPid:"));
	lt_buf_free(&b);
	refused("/proc/self/status", 0, 0, 16, EFBIG, LT_FILE_NONE);
}
END_TEST

/* With max + 1 bytes reserved, even a file that ends up too large is
 * read into the caller's memory as it is, never a reallocated copy. */
START_TEST(test_reserved_is_not_reallocated)
{
	struct lt_buf b = LT_BUF_INIT;
	unsigned char *data;
	size_t cap;

	ck_assert_int_eq(lt_buf_reserve(&b, 16 + 1), 0);
	data = b.data;
	cap = b.cap;
	tu_write_file(path, "0123456789abcdef", 16, 0600);
	ck_assert_int_eq(lt_file_read(path, 0, 0, 16, &b, NULL, NULL), 0);
	ck_assert_uint_eq(b.len, 16);
	lt_buf_reset(&b);
	ck_assert_int_eq(lt_file_read("/proc/self/status", 0, 0, 16, &b, NULL,
				      NULL), EFBIG);
	ck_assert_ptr_eq(b.data, data);
	ck_assert_uint_eq(b.cap, cap);
	lt_buf_free(&b);
}
END_TEST

START_TEST(test_symlink)
{
	struct lt_buf b = LT_BUF_INIT;
	char link_path[160];

	tu_write_file(path, "target", 6, 0600);
	(void)snprintf(link_path, sizeof(link_path), "%s/link", dir);
	ck_assert_int_eq(symlink(path, link_path), 0);
	refused(link_path, 0, 0, 100, ELOOP, LT_FILE_OPEN);
	/* Followed when asked to. */
	ck_assert_int_eq(lt_file_read(link_path, LT_FILE_FOLLOW, 0, 100, &b, NULL,
				      NULL), 0);
	ck_assert_str_eq((char *)b.data, "target");
	lt_buf_free(&b);
}
END_TEST

START_TEST(test_directory)
{
	refused(dir, 0, 0, 100, EINVAL, LT_FILE_NONE);
}
END_TEST

/* A FIFO is refused at once: nothing waits for a writer that never
 * comes. */
START_TEST(test_fifo)
{
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	alarm(10); /* a blocking open would hang the test, not fail it */
	refused(path, 0, 0, 100, EINVAL, LT_FILE_NONE);
	refused(path, LT_FILE_FOLLOW, 0, 100, EINVAL, LT_FILE_NONE);
	alarm(0);
}
END_TEST

START_TEST(test_missing)
{
	refused(path, 0, 0, 100, ENOENT, LT_FILE_OPEN);
}
END_TEST

START_TEST(test_refused_mode)
{
	struct lt_buf b = LT_BUF_INIT;
	struct stat st;

	tu_write_file(path, "secret", 6, 0644);
	refused(path, 0, S_IROTH, 100, EPERM, LT_FILE_NONE);
	/* Refused before the size: the caller learns the worse news, and
	 * st says which bits. */
	ck_assert_int_eq(lt_file_read(path, 0, S_IWGRP | S_IROTH, 1, &b, &st, NULL),
			 EPERM);
	ck_assert_uint_eq(st.st_mode & 07777, 0644);
	ck_assert_uint_eq(b.len, 0);
	tu_write_file(path, "secret", 6, 0640);
	ck_assert_int_eq(lt_file_read(path, 0, S_IROTH, 100, &b, NULL, NULL), 0);
	ck_assert_str_eq((char *)b.data, "secret");
	lt_buf_free(&b);
}
END_TEST

START_TEST(test_one_link)
{
	struct lt_buf b = LT_BUF_INIT;
	char alias[160];

	tu_write_file(path, "data", 4, 0600);
	ck_assert_int_eq(lt_file_read(path, LT_FILE_ONE_LINK, 0, 100, &b, NULL,
				      NULL), 0);
	(void)snprintf(alias, sizeof(alias), "%s/alias", dir);
	ck_assert_int_eq(link(path, alias), 0);
	refused(path, LT_FILE_ONE_LINK, 0, 100, EMLINK, LT_FILE_NONE);
	refused(alias, LT_FILE_ONE_LINK, 0, 100, EMLINK, LT_FILE_NONE);
	lt_buf_free(&b);
}
END_TEST

/* --- writing --- */

/* p holds exactly text. */
static void
holds(const char *p, const char *text)
{
	struct lt_buf b = LT_BUF_INIT;

	ck_assert_int_eq(lt_file_read(p, 0, 0, LT_FILE_NO_MAX, &b, NULL, NULL), 0);
	ck_assert_str_eq((char *)b.data, text);
	lt_buf_free(&b);
}

static int
missing(const char *p)
{
	struct stat st;

	return lstat(p, &st) < 0 && errno == ENOENT;
}

static mode_t
mode_of(const char *p)
{
	struct stat st;

	ck_assert_int_eq(lstat(p, &st), 0);
	return st.st_mode & 07777;
}

static char tmp_path[160];

static void
set_tmp_path(void)
{
	(void)snprintf(tmp_path, sizeof(tmp_path), "%s.tmp", path);
}

START_TEST(test_replace)
{
	enum lt_file_call call = LT_FILE_READ;
	mode_t old = umask(022);

	set_tmp_path();
	/* Created when missing, then replaced. */
	ck_assert_int_eq(lt_file_replace(path, NULL, "one\n", 4, 0640, LT_FILE_SYNC,
					 &call), 0);
	ck_assert_int_eq(call, LT_FILE_NONE);
	holds(path, "one\n");
	ck_assert_int_eq(lt_file_replace(path, NULL, "two\n", 4, 0640, 0, NULL), 0);
	holds(path, "two\n");
	ck_assert(missing(tmp_path));
	/* The mode less the umask, or exactly. */
	ck_assert_int_eq(lt_file_replace(path, NULL, "", 0, 0666, 0, NULL), 0);
	ck_assert_uint_eq(mode_of(path), 0644);
	ck_assert_int_eq(lt_file_replace(path, NULL, "", 0, 0606,
					 LT_FILE_EXACT_MODE | LT_FILE_SYNC, NULL), 0);
	ck_assert_uint_eq(mode_of(path), 0606);
	holds(path, "");
	(void)umask(old);
}
END_TEST

/* A temporary name of the caller's: here in another directory, as the
 * spool's tmp/ beside ready/. */
START_TEST(test_replace_own_tmp)
{
	char sub[128], tmp[160];

	(void)snprintf(sub, sizeof(sub), "%s/tmp", dir);
	(void)snprintf(tmp, sizeof(tmp), "%s/tmp/f", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	ck_assert_int_eq(lt_file_replace(path, tmp, "new", 3, 0600, LT_FILE_SYNC,
					 NULL), 0);
	holds(path, "new");
	ck_assert(missing(tmp));
}
END_TEST

/* When anything fails before the rename the old file stays as it was
 * and no temporary file is left. */
START_TEST(test_replace_fails_before_rename)
{
	enum lt_file_call call = LT_FILE_NONE;

	set_tmp_path();
	tu_write_file(path, "old", 3, 0600);
	/* A directory where the temporary file goes. */
	ck_assert_int_eq(mkdir(tmp_path, 0700), 0);
	ck_assert_int_eq(lt_file_replace(path, NULL, "new", 3, 0600, LT_FILE_SYNC,
					 &call), EEXIST);
	ck_assert_int_eq(call, LT_FILE_CREATE);
	/* A stale file would be removed for the only writer; a directory
	 * is not. */
	ck_assert_int_eq(lt_file_replace(path, NULL, "new", 3, 0600,
					 LT_FILE_SYNC | LT_FILE_ONE_WRITER, &call),
			 EISDIR);
	ck_assert_int_eq(call, LT_FILE_CREATE);
	holds(path, "old");
	ck_assert_int_eq(rmdir(tmp_path), 0);
	/* A directory that cannot be written to (root writes anyway). */
	if (geteuid() != 0) {
		ck_assert_int_eq(chmod(dir, 0500), 0);
		ck_assert_int_eq(lt_file_replace(path, NULL, "new", 3, 0600,
						 LT_FILE_SYNC, &call), EACCES);
		ck_assert_int_eq(call, LT_FILE_CREATE);
		ck_assert_int_eq(chmod(dir, 0700), 0);
		holds(path, "old");
		ck_assert(missing(tmp_path));
	}
}
END_TEST

/* Writes half its content, then fails as a full disk would. */
static int
half_then_enospc(int fd, void *arg)
{
	(void)arg;
	ck_assert_int_eq(write(fd, "ne", 2), 2);
	return ENOSPC;
}

START_TEST(test_replace_writer_fails)
{
	enum lt_file_call call = LT_FILE_NONE;

	set_tmp_path();
	tu_write_file(path, "old", 3, 0600);
	ck_assert_int_eq(lt_file_replace_with(path, NULL, 0600, LT_FILE_SYNC,
					      half_then_enospc, NULL, &call), ENOSPC);
	ck_assert_int_eq(call, LT_FILE_WRITE);
	holds(path, "old");
	ck_assert(missing(tmp_path));
}
END_TEST

/* The rename fails (a directory is in the way): the temporary file goes. */
START_TEST(test_replace_rename_fails)
{
	enum lt_file_call call = LT_FILE_NONE;
	char inner[160];

	set_tmp_path();
	ck_assert_int_eq(mkdir(path, 0700), 0);
	(void)snprintf(inner, sizeof(inner), "%s/x", path);
	tu_write_file(inner, "x", 1, 0600);
	ck_assert_int_ne(lt_file_replace(path, NULL, "new", 3, 0600, LT_FILE_SYNC,
					 &call), 0);
	ck_assert_int_eq(call, LT_FILE_RENAME);
	ck_assert(missing(tmp_path));
	holds(inner, "x");
}
END_TEST

/* A temporary name is created with O_EXCL: a file already there is
 * another writer's (left alone) unless the caller is the only writer; a
 * hard link planted there is never written through. */
START_TEST(test_replace_stale_tmp)
{
	char other[160];

	set_tmp_path();
	tu_write_file(tmp_path, "someone's", 9, 0600);
	ck_assert_int_eq(lt_file_replace(path, NULL, "new", 3, 0600, 0, NULL), EEXIST);
	holds(tmp_path, "someone's");
	ck_assert(missing(path));
	(void)snprintf(other, sizeof(other), "%s/other", dir);
	ck_assert_int_eq(rename(tmp_path, other), 0);
	ck_assert_int_eq(link(other, tmp_path), 0);
	ck_assert_int_eq(lt_file_replace(path, NULL, "new", 3, 0600,
					 LT_FILE_ONE_WRITER, NULL), 0);
	holds(path, "new");
	holds(other, "someone's");
	ck_assert(missing(tmp_path));
}
END_TEST

START_TEST(test_create)
{
	enum lt_file_call call = LT_FILE_NONE;

	ck_assert_int_eq(lt_file_create(path, "a", 1, 0600, LT_FILE_SYNC, &call), 0);
	ck_assert_int_eq(call, LT_FILE_NONE);
	holds(path, "a");
	ck_assert_int_eq(lt_file_create(path, "b", 1, 0600, 0, &call), EEXIST);
	ck_assert_int_eq(call, LT_FILE_CREATE);
	holds(path, "a");
	ck_assert_int_eq(lt_file_create(path, "b", 1, 0600, LT_FILE_ONE_WRITER,
					NULL), 0);
	holds(path, "b");
}
END_TEST

START_TEST(test_sync_rename)
{
	enum lt_file_call call = LT_FILE_NONE;
	char sub[128], to[160];

	(void)snprintf(sub, sizeof(sub), "%s/sub", dir);
	(void)snprintf(to, sizeof(to), "%s/sub/g", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	tu_write_file(path, "moved", 5, 0600);
	ck_assert_int_eq(lt_file_sync_rename(path, to, &call), 0);
	ck_assert_int_eq(call, LT_FILE_NONE);
	holds(to, "moved");
	ck_assert(missing(path));
	ck_assert_int_eq(lt_file_sync_rename(path, to, &call), ENOENT);
	ck_assert_int_eq(call, LT_FILE_RENAME);
	holds(to, "moved");
	/* Within one directory, and bare names (the current directory). */
	ck_assert_int_eq(chdir(sub), 0);
	ck_assert_int_eq(lt_file_sync_rename("g", "h", NULL), 0);
	holds("h", "moved");
	ck_assert_int_eq(chdir("/"), 0);
}
END_TEST

START_TEST(test_fsync_dir)
{
	ck_assert_int_eq(lt_fsync_dir(dir), 0);
	tu_write_file(path, "x", 1, 0600);
	errno = 0;
	ck_assert_int_eq(lt_fsync_dir(path), -1);
	ck_assert_int_eq(errno, ENOTDIR);
	ck_assert_str_eq(lt_file_call_verb(LT_FILE_FSYNC), "fsync");
	ck_assert_str_eq(lt_file_call_verb(LT_FILE_CREATE), "create");
	ck_assert_str_eq(lt_file_call_verb(LT_FILE_FSYNC_DIR), "fsync the directory of");
}
END_TEST

static Suite *
file_suite(void)
{
	Suite *s = suite_create("file");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_normal_file);
	tcase_add_test(tc, test_empty_file);
	tcase_add_test(tc, test_too_large);
	tcase_add_test(tc, test_reads_past_fstat_size);
	tcase_add_test(tc, test_reserved_is_not_reallocated);
	tcase_add_test(tc, test_symlink);
	tcase_add_test(tc, test_directory);
	tcase_add_test(tc, test_fifo);
	tcase_add_test(tc, test_missing);
	tcase_add_test(tc, test_refused_mode);
	tcase_add_test(tc, test_one_link);
	suite_add_tcase(s, tc);
	tc = tcase_create("write");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_replace);
	tcase_add_test(tc, test_replace_own_tmp);
	tcase_add_test(tc, test_replace_fails_before_rename);
	tcase_add_test(tc, test_replace_writer_fails);
	tcase_add_test(tc, test_replace_rename_fails);
	tcase_add_test(tc, test_replace_stale_tmp);
	tcase_add_test(tc, test_create);
	tcase_add_test(tc, test_sync_rename);
	tcase_add_test(tc, test_fsync_dir);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(file_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
