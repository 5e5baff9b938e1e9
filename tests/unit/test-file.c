/* Unit tests: reading small files whole (lt_file_read). */
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
