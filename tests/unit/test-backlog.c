/* Unit tests: the backlog scan of a spool and the flush lock seen in
 * /proc/locks. */
#define _GNU_SOURCE 1
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "backlog.h"
#include "spool.h"
#include "testutil.h"

#define NOW INT64_C(1800000000)

static char tmpdir[256];
static char path_buf[4096];

/* --- fixtures --- */

static void
setup(void)
{
	tu_tmpdir(tmpdir, sizeof(tmpdir), "lt-backlog");
}

static void
teardown(void)
{
	(void)tu_rm_rf(tmpdir);
}

static const char *
at(const char *rel)
{
	(void)snprintf(path_buf, sizeof(path_buf), "%s/%s", tmpdir, rel);
	return path_buf;
}

static void
write_file(const char *path, const void *data, size_t len)
{
	tu_write_file(path, data, len, 0644);
}

static void
make_dir(const char *rel)
{
	ck_assert_int_eq(mkdir(at(rel), 0755), 0);
}

static const struct lt_label labels[] = {
	{"app", 3, "test-app", 8},
	{"level", 5, "info", 4},
};

/* A spool file of tenant with n_entries entries in one stream. */
static void
encode(struct lt_spool_encoder *e, const char *tenant, int n_entries)
{
	struct lt_entry en = {INT64_C(1704067200000000000), "hello", 5, NULL, 0};
	struct lt_sink sink;
	int i;

	ck_assert_int_eq(lt_spool_encoder_init(e, tenant, 42, 7), 0);
	lt_spool_encoder_sink(e, &sink);
	ck_assert_int_eq(sink.stream(sink.ctx, labels, 2), 0);
	for (i = 0; i < n_entries; i++)
		ck_assert_int_eq(sink.entry(sink.ctx, &en), 0);
	ck_assert_int_eq(lt_spool_encoder_finish(e), 0);
}

/* --- the backlog --- */

static void
spool_file(const char *dir, const char *name, int n_entries, size_t cut,
	   int64_t mtime)
{
	struct lt_spool_encoder e;
	char path[4200];

	encode(&e, "acme", n_entries);
	(void)snprintf(path, sizeof(path), "%s/%s", at(dir), name);
	write_file(path, e.out.data, e.out.len - cut);
	if (mtime > 0) {
		struct timespec t[2] = {{(time_t)mtime, 0}, {(time_t)mtime, 0}};

		ck_assert_int_eq(utimensat(AT_FDCWD, path, t, 0), 0);
	}
	lt_spool_encoder_free(&e);
}

START_TEST(test_backlog_scan)
{
	struct lt_backlog b;
	const struct lt_backlog_tenant *t;
	struct lt_spool_encoder e;
	char err[512];
	size_t one;

	encode(&e, "acme", 2);
	one = e.out.len;
	lt_spool_encoder_free(&e);
	make_dir("tenants");
	make_dir("tenants/acme");
	make_dir("tenants/acme/ready");
	make_dir("tenants/acme/deferred");
	make_dir("tenants/acme/active");
	make_dir("tenants/beta");
	make_dir("quarantine");
	make_dir("quarantine/acme");
	make_dir("quarantine/gamma");
	spool_file("tenants/acme/ready", "1799999990000000000-1-00000001.spool", 2, 0, 0);
	spool_file("tenants/acme/ready", "1799999995000000000-1-00000002.spool", 2, 3, 0);
	spool_file("tenants/acme/ready", "not-a-spool-file.txt", 2, 0, 0);
	spool_file("tenants/acme/deferred", "1799999900000000000-1-00000003.spool", 2, 0, NOW + 40);
	spool_file("tenants/acme/deferred", "1799999980000000000-1-00000004.spool", 2, 0, NOW - 5);
	spool_file("tenants/acme/active", "1799999985000000000-1-00000005.spool", 2, 0, 0);
	write_file(at("tenants/acme/ready/1799999999000000000-1-00000006.spool"), "x", 1);
	spool_file("quarantine/acme", "1700000000000000000-1-00000007.spool", 2, 0, 0);
	write_file(at("quarantine/acme/1700000000000000000-1-00000007.spool.reason"), "bad\n", 4);
	spool_file("quarantine/gamma", "1700000000000000000-1-00000008.spool", 2, 0, 0);

	ck_assert_int_eq(lt_backlog_scan(tmpdir, NOW, &b, err, sizeof(err)), 0);
	ck_assert_uint_eq(b.n, 3);
	ck_assert_str_eq(b.v[0].tenant, "acme");
	ck_assert_str_eq(b.v[1].tenant, "beta");
	ck_assert_str_eq(b.v[2].tenant, "gamma");
	t = &b.v[0];
	ck_assert_uint_eq(t->files[LT_BL_READY], 3);
	ck_assert_uint_eq(t->files[LT_BL_DEFERRED], 2);
	ck_assert_uint_eq(t->files[LT_BL_ACTIVE], 1);
	ck_assert_uint_eq(t->files[LT_BL_QUARANTINE], 1);
	/* The cut file and the one-byte file have no END record. */
	ck_assert_uint_eq(t->incomplete, 2);
	ck_assert(t->entries == 4 * 2);
	ck_assert(t->bytes == 5 * one - 3 + 1);
	ck_assert(t->oldest_ns == INT64_C(1799999900000000000));
	ck_assert(t->next_retry_s == NOW - 5);
	ck_assert_uint_eq(t->deferred_due, 1);
	ck_assert_uint_eq(b.v[1].files[LT_BL_READY], 0);
	ck_assert(b.v[1].oldest_ns == 0);
	ck_assert_uint_eq(b.v[2].files[LT_BL_QUARANTINE], 1);
	ck_assert_uint_eq(b.total.files[LT_BL_QUARANTINE], 2);
	ck_assert(b.total.entries == 8);
	ck_assert_uint_eq(b.total.incomplete, 2);
	lt_backlog_free(&b);

	ck_assert_int_eq(lt_backlog_scan(at("missing"), NOW, &b, err, sizeof(err)), ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "missing"));
}
END_TEST

/* --- the flush lock --- */

START_TEST(test_lock_holder_from_a_table)
{
	struct stat sb;
	long pid = -1;
	char err[512], line[512], dev[64];
	FILE *f;

	ck_assert_int_eq(lt_lock_holder(tmpdir, "/nonexistent", &pid, err, sizeof(err)), 0);
	write_file(at("flush.lock"), "", 0);
	ck_assert_int_eq(stat(at("flush.lock"), &sb), 0);
	(void)snprintf(dev, sizeof(dev), "%02x:%02x:%llu", major(sb.st_dev),
		       minor(sb.st_dev), (unsigned long long)sb.st_ino);

	f = fopen(at("locks"), "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "1: POSIX  ADVISORY  WRITE 11 %s 0 EOF\n", dev);
	fprintf(f, "2: FLOCK  ADVISORY  WRITE 12 %02x:%02x:%llu 0 EOF\n",
		major(sb.st_dev), minor(sb.st_dev), (unsigned long long)sb.st_ino + 1);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(lt_lock_holder(tmpdir, at("locks"), &pid, err, sizeof(err)), 0);

	f = fopen(at("locks"), "a");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "3: -> FLOCK  ADVISORY  WRITE 13 %s 0 EOF\n", dev);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(lt_lock_holder(tmpdir, at("locks"), &pid, err, sizeof(err)), 0);

	(void)snprintf(line, sizeof(line), "3: FLOCK  ADVISORY  WRITE 4242 %s 0 EOF\n", dev);
	f = fopen(at("locks"), "a");
	ck_assert_ptr_nonnull(f);
	fputs(line, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(lt_lock_holder(tmpdir, at("locks"), &pid, err, sizeof(err)), 1);
	ck_assert_int_eq(pid, 4242);

	ck_assert_int_eq(lt_lock_holder(tmpdir, at("no-such-table"), &pid, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "no-such-table"));
}
END_TEST

/* The real table, with a lock this process holds: seen, and still held
 * afterwards (looking takes nothing). */
START_TEST(test_lock_holder_real)
{
	long pid = 0;
	char err[512];
	int fd, other;

	fd = open(at("flush.lock"), O_RDWR | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(lt_lock_holder(tmpdir, "/proc/locks", &pid, err, sizeof(err)), 0);
	ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), 0);
	ck_assert_int_eq(lt_lock_holder(tmpdir, "/proc/locks", &pid, err, sizeof(err)), 1);
	ck_assert_int_eq(pid, (long)getpid());
	other = open(at("flush.lock"), O_RDONLY);
	ck_assert_int_ge(other, 0);
	ck_assert_int_eq(flock(other, LOCK_EX | LOCK_NB), -1);
	ck_assert_int_eq(close(other), 0);
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(lt_lock_holder(tmpdir, "/proc/locks", &pid, err, sizeof(err)), 0);
}
END_TEST

static Suite *
backlog_suite(void)
{
	Suite *s = suite_create("backlog");
	TCase *tc;

	tc = tcase_create("backlog and lock");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_backlog_scan);
	tcase_add_test(tc, test_lock_holder_from_a_table);
	tcase_add_test(tc, test_lock_holder_real);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(backlog_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
