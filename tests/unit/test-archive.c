/* Unit tests: archives of flushed spool files and their re-import. */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archives.h"
#include "replay.h"
#include "spool.h"
#include "testutil.h"

#define NS INT64_C(1000000000)
#define DAY (86400 * NS)
#define HOUR (3600 * NS)
/* 2024-01-01T00:00:00Z */
#define T0 (INT64_C(1704067200) * NS)

static char tmpdir[64];
static char path_buf[4096];
static struct lt_options opts;

/* --- fixtures and helpers --- */

static void
setup(void)
{
	tu_tmpdir(tmpdir, sizeof(tmpdir), "lt-archive");
	memset(&opts, 0, sizeof(opts));
	opts.spool = tmpdir;
	opts.archive_format = "zstd";
	opts.archive_period = "day";
}

static void
teardown(void)
{
	(void)tu_rm_rf(tmpdir);
}

/* tmpdir/rel, in a static buffer. */
static const char *
at(const char *rel)
{
	(void)snprintf(path_buf, sizeof(path_buf), "%s/%s", tmpdir, rel);
	return path_buf;
}

static int
exists(const char *rel)
{
	struct stat st;

	return lstat(at(rel), &st) == 0;
}

static size_t
count_files(const char *rel)
{
	struct lt_names names = {0};
	size_t n;

	if (lt_names_list(at(rel), NULL, &names) != 0)
		return 0;
	n = names.n;
	lt_names_free(&names);
	return n;
}

static const struct lt_label labels[] = {{"app", 3, "api", 3}};

/* A spool file of tenant with one entry at each of the n times. */
static void
make_spool(struct lt_buf *out, const char *tenant, int64_t received_ns,
	   uint64_t push_id, const int64_t *ts, size_t n)
{
	struct lt_spool_encoder e;
	struct lt_sink sink;
	struct lt_entry en = {0, "hello", 5, NULL, 0};
	size_t i;

	ck_assert_int_eq(lt_spool_encoder_init(&e, tenant, received_ns, push_id), 0);
	lt_spool_encoder_sink(&e, &sink);
	ck_assert_int_eq(sink.stream(sink.ctx, labels, 1), 0);
	for (i = 0; i < n; i++) {
		en.ts_ns = ts[i];
		ck_assert_int_eq(sink.entry(sink.ctx, &en), 0);
	}
	ck_assert_int_eq(lt_spool_encoder_finish(&e), 0);
	lt_buf_reset(out);
	ck_assert_int_eq(lt_buf_append(out, e.out.data, e.out.len), 0);
	lt_spool_encoder_free(&e);
}

/* Writes a spool file for tenant "acme" received at received_ns into
 * tmpdir/active/NAME and stages it, keeping its bytes in *keep. */
static void
stage_one(const char *name, int64_t received_ns, struct lt_buf *keep)
{
	struct lt_buf data = LT_BUF_INIT;
	int64_t ts = received_ns;
	char src[4096], err[512];

	make_spool(&data, "acme", received_ns, (uint64_t)received_ns ^ 0x5a5a,
		   &ts, 1);
	(void)mkdir(at("active"), 0770);
	(void)snprintf(src, sizeof(src), "%s/active/%s", tmpdir, name);
	tu_write_file(src, data.data, data.len, 0644);
	ck_assert_msg(lt_archive_stage(&opts, "acme", src, name, received_ns, err,
				       sizeof(err)) == 0, "stage: %s", err);
	ck_assert_int_eq(access(src, F_OK), -1);
	if (keep != NULL) {
		lt_buf_reset(keep);
		ck_assert_int_eq(lt_buf_append(keep, data.data, data.len), 0);
	}
	lt_buf_free(&data);
}

/* The members of an archive, as "name" lines in *names, and the bytes of
 * the member called want into *bytes (when want is given). */
static void
list_archive(const char *path, struct lt_names *names, const char *want,
	     struct lt_buf *bytes)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	char chunk[4096];
	la_ssize_t n;
	int r;

	archive_read_support_filter_all(a);
	archive_read_support_format_all(a);
	ck_assert_msg(archive_read_open_filename(a, path, 10240) == ARCHIVE_OK,
		      "%s: %s", path, archive_error_string(a));
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		ck_assert_int_eq(lt_names_list_add(names, archive_entry_pathname(e)), 0);
		if (want == NULL || strcmp(want, archive_entry_pathname(e)) != 0)
			continue;
		lt_buf_reset(bytes);
		while ((n = archive_read_data(a, chunk, sizeof(chunk))) > 0)
			ck_assert_int_eq(lt_buf_append(bytes, chunk, (size_t)n), 0);
		ck_assert_int_eq(n, 0);
	}
	ck_assert_int_eq(r, ARCHIVE_EOF);
	archive_read_free(a);
}

static size_t
pack(int64_t now_ns)
{
	char err[512];
	size_t made = 99;

	ck_assert_msg(lt_archive_pack(&opts, now_ns, &made, err, sizeof(err)) == 0,
		      "pack: %s", err);
	return made;
}

/* --- staging and packing --- */

static const char *const formats[] = {"zstd", "gzip"};
static const char *const exts[] = {"zst", "gz"};

START_TEST(test_stage_and_pack)
{
	struct lt_buf a = LT_BUF_INIT, b = LT_BUF_INIT, got = LT_BUF_INIT;
	struct lt_names names = {0};
	char arch[256];

	opts.archive_format = (char *)formats[_i];
	stage_one("1704103200000000000-1-aaaaaaaa.spool", T0 + 10 * HOUR, &a);
	stage_one("1704106800000000000-1-bbbbbbbb.spool", T0 + 11 * HOUR, &b);
	stage_one("1704157200000000000-1-cccccccc.spool", T0 + DAY + HOUR, NULL);
	ck_assert(exists("archive/acme/staging/2024-01-01/1704103200000000000-1-aaaaaaaa.spool"));
	ck_assert(exists("archive/acme/staging/2024-01-02/1704157200000000000-1-cccccccc.spool"));

	/* 2024-01-02 05:00: the first day is over, the second is not. */
	ck_assert_uint_eq(pack(T0 + DAY + 5 * HOUR), 1);
	(void)snprintf(arch, sizeof(arch), "archive/acme/acme-2024-01-01.tar.%s", exts[_i]);
	ck_assert(exists(arch));
	ck_assert_uint_eq(count_files("archive/acme"), 2); /* the archive, staging/ */
	ck_assert(!exists("archive/acme/staging/2024-01-01"));
	ck_assert_uint_eq(count_files("archive/acme/staging/2024-01-02"), 1);

	list_archive(at(arch), &names, "1704103200000000000-1-aaaaaaaa.spool", &got);
	ck_assert_uint_eq(names.n, 2);
	ck_assert_str_eq(names.v[0], "1704103200000000000-1-aaaaaaaa.spool");
	ck_assert_str_eq(names.v[1], "1704106800000000000-1-bbbbbbbb.spool");
	ck_assert_uint_eq(got.len, a.len);
	ck_assert_mem_eq(got.data, a.data, a.len);
	lt_names_free(&names);
	list_archive(at(arch), &names, "1704106800000000000-1-bbbbbbbb.spool", &got);
	ck_assert_uint_eq(got.len, b.len);
	ck_assert_mem_eq(got.data, b.data, b.len);
	lt_names_free(&names);

	/* Nothing left to do until the second day ends. */
	ck_assert_uint_eq(pack(T0 + DAY + 6 * HOUR), 0);
	ck_assert_uint_eq(pack(T0 + 2 * DAY), 1);
	(void)snprintf(arch, sizeof(arch), "archive/acme/acme-2024-01-02.tar.%s", exts[_i]);
	ck_assert(exists(arch));
	ck_assert_uint_eq(count_files("archive/acme/staging"), 0);
	lt_buf_free(&a);
	lt_buf_free(&b);
	lt_buf_free(&got);
}
END_TEST

START_TEST(test_hourly_and_archive_dir)
{
	struct lt_names names = {0};
	char dir[128];

	(void)snprintf(dir, sizeof(dir), "%s/elsewhere", tmpdir);
	opts.archive_dir = dir;
	opts.archive_period = "hour";
	stage_one("1704103200000000000-1-aaaaaaaa.spool", T0 + 10 * HOUR + 5, NULL);
	ck_assert(exists("elsewhere/acme/staging/2024-01-01T10/1704103200000000000-1-aaaaaaaa.spool"));
	ck_assert_uint_eq(pack(T0 + 10 * HOUR + 30 * 60 * NS), 0);
	ck_assert_uint_eq(pack(T0 + 11 * HOUR), 1);
	list_archive(at("elsewhere/acme/acme-2024-01-01T10.tar.zst"), &names, NULL, NULL);
	ck_assert_uint_eq(names.n, 1);
	lt_names_free(&names);
	ck_assert(!exists("archive"));
}
END_TEST

/* A file flushed after its period was packed goes into a second archive. */
START_TEST(test_late_file)
{
	struct lt_names names = {0};

	stage_one("1704103200000000000-1-aaaaaaaa.spool", T0 + 10 * HOUR, NULL);
	ck_assert_uint_eq(pack(T0 + 2 * DAY), 1);
	stage_one("1704103300000000000-1-dddddddd.spool", T0 + 10 * HOUR + 100 * NS, NULL);
	ck_assert_uint_eq(pack(T0 + 2 * DAY), 1);
	ck_assert(exists("archive/acme/acme-2024-01-01.tar.zst"));
	list_archive(at("archive/acme/acme-2024-01-01.1.tar.zst"), &names, NULL, NULL);
	ck_assert_uint_eq(names.n, 1);
	ck_assert_str_eq(names.v[0], "1704103300000000000-1-dddddddd.spool");
	lt_names_free(&names);

	/* Another, now in gzip: numbered past both. */
	opts.archive_format = "gzip";
	stage_one("1704103400000000000-1-eeeeeeee.spool", T0 + 10 * HOUR + 200 * NS, NULL);
	ck_assert_uint_eq(pack(T0 + 2 * DAY), 1);
	ck_assert(exists("archive/acme/acme-2024-01-01.2.tar.gz"));
	ck_assert_uint_eq(count_files("archive/acme"), 4);
}
END_TEST

/* A pack that died after renaming its archive and before removing the
 * staged files: the next pack removes them and does not archive them
 * again. */
START_TEST(test_crash_after_rename)
{
	struct lt_buf a = LT_BUF_INIT;
	struct lt_names names = {0};
	const char *name = "1704103200000000000-1-aaaaaaaa.spool";
	char staged[4096];

	stage_one(name, T0 + 10 * HOUR, &a);
	ck_assert_uint_eq(pack(T0 + 2 * DAY), 1);
	/* Put it back as if the unlink had never happened. */
	ck_assert_int_eq(mkdir(at("archive/acme/staging/2024-01-01"), 0770), 0);
	(void)snprintf(staged, sizeof(staged), "%s/archive/acme/staging/2024-01-01/%s",
		       tmpdir, name);
	tu_write_file(staged, a.data, a.len, 0644);

	ck_assert_uint_eq(pack(T0 + 2 * DAY), 0);
	ck_assert_int_eq(access(staged, F_OK), -1);
	ck_assert(!exists("archive/acme/staging/2024-01-01"));
	ck_assert(!exists("archive/acme/acme-2024-01-01.1.tar.zst"));

	/* With a new file beside it, only the new one is archived. */
	ck_assert_int_eq(mkdir(at("archive/acme/staging/2024-01-01"), 0770), 0);
	tu_write_file(staged, a.data, a.len, 0644);
	stage_one("1704103300000000000-1-ffffffff.spool", T0 + 10 * HOUR + 1, NULL);
	ck_assert_uint_eq(pack(T0 + 2 * DAY), 1);
	list_archive(at("archive/acme/acme-2024-01-01.1.tar.zst"), &names, NULL, NULL);
	ck_assert_uint_eq(names.n, 1);
	ck_assert_str_eq(names.v[0], "1704103300000000000-1-ffffffff.spool");
	ck_assert(!exists("archive/acme/staging/2024-01-01"));
	lt_names_free(&names);
	lt_buf_free(&a);
}
END_TEST

/* An existing archive of the period that cannot be read does not stop
 * the pack: the staged files go into a new one. */
START_TEST(test_damaged_archive)
{
	struct lt_names names = {0};

	ck_assert_int_eq(mkdir(at("archive"), 0770), 0);
	ck_assert_int_eq(mkdir(at("archive/acme"), 0770), 0);
	tu_write_file(at("archive/acme/acme-2024-01-01.tar.zst"), "garbage", 7, 0644);
	stage_one("1704103200000000000-1-aaaaaaaa.spool", T0 + 10 * HOUR, NULL);
	ck_assert_uint_eq(pack(T0 + DAY), 1);
	list_archive(at("archive/acme/acme-2024-01-01.1.tar.zst"), &names, NULL, NULL);
	ck_assert_uint_eq(names.n, 1);
	lt_names_free(&names);
}
END_TEST

/* A failure is reported, leaves the staged files, and does not keep the
 * other tenants' periods from being packed. */
START_TEST(test_pack_failure)
{
	struct lt_buf data = LT_BUF_INIT;
	char err[512], src[4096], want[8192];
	size_t made = 0;
	int64_t ts = T0;

	stage_one("1704103200000000000-1-aaaaaaaa.spool", T0 + 10 * HOUR, NULL);
	make_spool(&data, "beta", T0, 9, &ts, 1);
	(void)snprintf(src, sizeof(src), "%s/b.spool", tmpdir);
	tu_write_file(src, data.data, data.len, 0644);
	ck_assert_int_eq(lt_archive_stage(&opts, "beta", src, "b.spool", T0, err,
					  sizeof(err)), 0);
	/* Where the archive's temporary file goes, a directory. */
	ck_assert_int_eq(mkdir(at("archive/acme/acme-2024-01-01.tar.zst.tmp"), 0770), 0);
	ck_assert_int_eq(lt_archive_pack(&opts, T0 + DAY, &made, err, sizeof(err)), EISDIR);
	(void)snprintf(want, sizeof(want), "could not create \"%s\": Is a directory",
		       at("archive/acme/acme-2024-01-01.tar.zst.tmp"));
	ck_assert_str_eq(err, want);
	ck_assert_uint_eq(made, 1);
	ck_assert(exists("archive/beta/beta-2024-01-01.tar.zst"));
	ck_assert(!exists("archive/acme/acme-2024-01-01.tar.zst"));
	ck_assert(exists("archive/acme/staging/2024-01-01/1704103200000000000-1-aaaaaaaa.spool"));
	ck_assert_int_eq(rmdir(at("archive/acme/acme-2024-01-01.tar.zst.tmp")), 0);
	ck_assert_uint_eq(pack(T0 + DAY), 1);
	ck_assert(exists("archive/acme/acme-2024-01-01.tar.zst"));
	lt_buf_free(&data);
}
END_TEST

START_TEST(test_retention)
{
	stage_one("1704103200000000000-1-aaaaaaaa.spool", T0 + 10 * HOUR, NULL);
	ck_assert_uint_eq(pack(T0 + 2 * DAY), 1);
	stage_one("1704103300000000000-1-bbbbbbbb.spool", T0 + 10 * HOUR + 1, NULL);
	stage_one("1704880800000000000-1-cccccccc.spool", T0 + 9 * DAY + 10 * HOUR, NULL);
	ck_assert_uint_eq(pack(T0 + 10 * DAY), 2);
	ck_assert(exists("archive/acme/acme-2024-01-01.tar.zst"));
	ck_assert(exists("archive/acme/acme-2024-01-01.1.tar.zst"));
	ck_assert(exists("archive/acme/acme-2024-01-10.tar.zst"));

	/* 0 keeps everything. */
	ck_assert_uint_eq(pack(T0 + 100 * DAY), 0);
	ck_assert_uint_eq(count_files("archive/acme"), 4);

	/* 5 days on 2024-01-11: 2024-01-01 ended 9 days ago, 2024-01-10 one. */
	opts.archive_retention_s = 5 * 86400;
	ck_assert_uint_eq(pack(T0 + 10 * DAY), 0);
	ck_assert(!exists("archive/acme/acme-2024-01-01.tar.zst"));
	ck_assert(!exists("archive/acme/acme-2024-01-01.1.tar.zst"));
	ck_assert(exists("archive/acme/acme-2024-01-10.tar.zst"));
	/* Exactly at the limit it goes: ended 2024-01-11, now 2024-01-16. */
	ck_assert_uint_eq(pack(T0 + 15 * DAY - NS), 0);
	ck_assert(exists("archive/acme/acme-2024-01-10.tar.zst"));
	ck_assert_uint_eq(pack(T0 + 15 * DAY), 0);
	ck_assert(!exists("archive/acme/acme-2024-01-10.tar.zst"));
}
END_TEST

START_TEST(test_pack_nothing)
{
	char err[512];
	size_t made = 7;

	/* No archive directory at all. */
	ck_assert_uint_eq(pack(T0), 0);
	/* Stray things are left alone. */
	ck_assert_int_eq(mkdir(at("archive"), 0770), 0);
	ck_assert_int_eq(mkdir(at("archive/acme"), 0770), 0);
	ck_assert_int_eq(mkdir(at("archive/acme/staging"), 0770), 0);
	ck_assert_int_eq(mkdir(at("archive/acme/staging/not-a-period"), 0770), 0);
	ck_assert_int_eq(mkdir(at("archive/acme/staging/2024-02-30"), 0770), 0);
	tu_write_file(at("archive/README"), "x", 1, 0644);
	ck_assert_uint_eq(pack(T0 + 100 * DAY), 0);
	ck_assert(exists("archive/acme/staging/not-a-period"));
	ck_assert(exists("archive/acme/staging/2024-02-30"));

	opts.archive_format = "lz4";
	ck_assert_int_eq(lt_archive_pack(&opts, T0, &made, err, sizeof(err)), EINVAL);
	ck_assert_str_eq(err, "unknown archive_format \"lz4\" (zstd or gzip)");
	ck_assert_uint_eq(made, 0);
}
END_TEST

START_TEST(test_stage_errors)
{
	char err[512];

	ck_assert_int_eq(lt_archive_stage(&opts, "acme", at("missing.spool"),
					  "missing.spool", T0, err, sizeof(err)),
			 ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "could not move"));
	ck_assert_int_eq(lt_archive_stage(&opts, "..", at("x"), "x", T0, err,
					  sizeof(err)), EINVAL);
	ck_assert_int_eq(lt_archive_stage(&opts, "acme", at("x"), "a/b", T0, err,
					  sizeof(err)), EINVAL);
	/* An archive_dir whose parent is missing is not created. */
	opts.archive_dir = (char *)"/nonexistent-logthra/archive";
	tu_write_file(at("x.spool"), "x", 1, 0644);
	ck_assert_int_eq(lt_archive_stage(&opts, "acme", at("x.spool"), "x.spool",
					  T0, err, sizeof(err)), ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "could not create directory"));
	ck_assert(exists("x.spool"));
}
END_TEST

/* The archive on another file system (when /dev/shm is one): copied. */
START_TEST(test_stage_cross_device)
{
	struct stat a, b;
	struct lt_buf got = LT_BUF_INIT, want = LT_BUF_INIT;
	char dir[] = "/dev/shm/lt-archive-XXXXXX", path[256];

	if (stat("/dev/shm", &a) < 0 || stat(tmpdir, &b) < 0 || a.st_dev == b.st_dev ||
	    mkdtemp(dir) == NULL)
		return; /* nothing to test here */
	opts.archive_dir = dir;
	stage_one("1704103200000000000-1-aaaaaaaa.spool", T0, &want);
	(void)snprintf(path, sizeof(path),
		       "%s/acme/staging/2024-01-01/1704103200000000000-1-aaaaaaaa.spool", dir);
	tu_read_file(path, &got);
	ck_assert_uint_eq(got.len, want.len);
	ck_assert_mem_eq(got.data, want.data, want.len);
	ck_assert_uint_eq(pack(T0 + DAY), 1);
	(void)snprintf(path, sizeof(path), "%s/acme/acme-2024-01-01.tar.zst", dir);
	ck_assert_int_eq(access(path, F_OK), 0);
	(void)tu_rm_rf(dir);
	lt_buf_free(&got);
	lt_buf_free(&want);
}
END_TEST

START_TEST(test_recover)
{
	char err[512];
	size_t removed = 99;

	ck_assert_int_eq(lt_archive_recover(&opts, &removed, err, sizeof(err)), 0);
	ck_assert_uint_eq(removed, 0);
	stage_one("1704103200000000000-1-aaaaaaaa.spool", T0 + 10 * HOUR, NULL);
	tu_write_file(at("archive/acme/acme-2024-01-01.tar.zst.tmp"), "half", 4, 0644);
	tu_write_file(at("archive/acme/staging/2024-01-01/x.spool.tmp"), "half", 4, 0644);
	ck_assert_int_eq(lt_archive_recover(&opts, &removed, err, sizeof(err)), 0);
	ck_assert_uint_eq(removed, 2);
	ck_assert(!exists("archive/acme/acme-2024-01-01.tar.zst.tmp"));
	ck_assert(!exists("archive/acme/staging/2024-01-01/x.spool.tmp"));
	ck_assert(exists("archive/acme/staging/2024-01-01/1704103200000000000-1-aaaaaaaa.spool"));
	/* A half-written archive never counts as one. */
	tu_write_file(at("archive/acme/acme-2024-01-01.tar.zst.tmp"), "half", 4, 0644);
	ck_assert_uint_eq(pack(T0 + DAY), 1);
	ck_assert(exists("archive/acme/acme-2024-01-01.tar.zst"));
	ck_assert(!exists("archive/acme/acme-2024-01-01.tar.zst.tmp"));
}
END_TEST

/* --- replay --- */

/* Window of the replay tests: [T0 + 1h, T0 + 2h). */
#define SINCE (T0 + HOUR)
#define UNTIL (T0 + 2 * HOUR)

static void
add_member(struct archive *a, const char *name, const void *data, size_t len)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)len);
	ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
	ck_assert_int_eq(archive_write_data(a, data, len), (la_ssize_t)len);
	archive_entry_free(e);
}

/* tmpdir/in.tar.gz:
 *   a1.spool   acme, 3 entries, 2 in the window
 *   a2.spool   acme, 1 entry before the window
 *   b1.spool   beta, 1 entry in the window
 *   bad.spool  acme, one byte flipped
 *   evil.spool tenant "../x"
 *   dir/       a directory */
static void
make_input(void)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	struct lt_buf data = LT_BUF_INIT;
	int64_t ts[3] = {T0, SINCE, UNTIL - 1};

	ck_assert_int_eq(archive_write_set_format_ustar(a), ARCHIVE_OK);
	ck_assert_int_eq(archive_write_add_filter_gzip(a), ARCHIVE_OK);
	ck_assert_int_eq(archive_write_open_filename(a, at("in.tar.gz")), ARCHIVE_OK);
	archive_entry_set_pathname(e, "dir/");
	archive_entry_set_filetype(e, AE_IFDIR);
	archive_entry_set_perm(e, 0755);
	ck_assert_int_eq(archive_write_header(a, e), ARCHIVE_OK);
	archive_entry_free(e);
	make_spool(&data, "acme", T0, 111, ts, 3);
	add_member(a, "a1.spool", data.data, data.len);
	make_spool(&data, "acme", T0, 222, ts, 1);
	add_member(a, "a2.spool", data.data, data.len);
	data.data[data.len / 2] ^= 1;
	add_member(a, "bad.spool", data.data, data.len);
	make_spool(&data, "beta", T0, 333, ts + 1, 1);
	add_member(a, "b1.spool", data.data, data.len);
	make_spool(&data, "../x", T0, 444, ts + 1, 1);
	add_member(a, "evil.spool", data.data, data.len);
	ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	lt_buf_free(&data);
}

/* The only file in tmpdir/rel, checked, into *info. */
static void
only_spool_file(const char *rel, struct lt_spool_info *info, struct stat *st)
{
	struct lt_names names = {0};
	struct lt_buf data = LT_BUF_INIT;
	char path[4096], err[256];

	ck_assert_int_eq(lt_names_list(at(rel), NULL, &names), 0);
	ck_assert_uint_eq(names.n, 1);
	(void)snprintf(path, sizeof(path), "%s/%s/%s", tmpdir, rel, names.v[0]);
	ck_assert_int_eq(lt_spool_load(path, &data, info, err, sizeof(err)), 0);
	ck_assert_int_eq(stat(path, st), 0);
	lt_names_free(&names);
	lt_buf_free(&data);
}

START_TEST(test_replay_tenant_and_window)
{
	struct lt_replay_opts ro = {"acme", SINCE, UNTIL, 0, 0, 0};
	struct lt_replay_stats st = {0};
	struct lt_spool_info info;
	struct stat sb;

	make_input();
	ck_assert_int_eq(lt_replay_archive(&opts, at("in.tar.gz"), &ro, &st), 0);
	ck_assert_uint_eq(st.archives, 1);
	ck_assert_uint_eq(st.files, 1);
	ck_assert_uint_eq(st.entries, 2);
	ck_assert_uint_eq(st.skipped, 2);  /* a2 (window), b1 (tenant) */
	ck_assert_uint_eq(st.corrupt, 2);  /* bad, evil */
	only_spool_file("tenants/acme/deferred", &info, &sb);
	ck_assert_str_eq(info.tenant, "acme");
	ck_assert(info.push_id == 111);
	ck_assert(info.received_ns == T0);
	ck_assert(info.n_entries == 2);
	ck_assert(info.min_ts_ns == SINCE);
	ck_assert(info.max_ts_ns == UNTIL - 1);
	/* Due now. */
	ck_assert(sb.st_mtime >= time(NULL) - 60 && sb.st_mtime <= time(NULL) + 1);
	ck_assert_uint_eq(count_files("tenants/acme/ready"), 0);
	ck_assert(!exists("tenants/beta"));
	ck_assert(!exists("x"));
}
END_TEST

START_TEST(test_replay_all_force)
{
	struct lt_replay_opts ro = {NULL, 0, 0, 0, 1, 0};
	struct lt_replay_stats st = {0};
	struct lt_spool_info info;
	struct stat sb;

	make_input();
	ck_assert_int_eq(lt_replay_archive(&opts, at("in.tar.gz"), &ro, &st), 0);
	ck_assert_uint_eq(st.files, 3);
	ck_assert_uint_eq(st.entries, 5);
	ck_assert_uint_eq(st.skipped, 0);
	ck_assert_uint_eq(st.corrupt, 2);
	ck_assert_uint_eq(count_files("tenants/acme/ready"), 2);
	ck_assert_uint_eq(count_files("tenants/acme/deferred"), 0);
	only_spool_file("tenants/beta/ready", &info, &sb);
	ck_assert(info.push_id == 333);
}
END_TEST

START_TEST(test_replay_dry_run)
{
	struct lt_replay_opts ro = {"acme", SINCE, 0, 1, 0, 0};
	struct lt_replay_stats st = {0};
	struct lt_buf out = LT_BUF_INIT, want = LT_BUF_INIT;
	int saved, fd;

	make_input();
	ck_assert_int_eq(fflush(stdout), 0);
	saved = dup(STDOUT_FILENO);
	fd = open(at("stdout"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_ge(dup2(fd, STDOUT_FILENO), 0);
	ck_assert_int_eq(lt_replay_archive(&opts, at("in.tar.gz"), &ro, &st), 0);
	ck_assert_int_eq(fflush(stdout), 0);
	ck_assert_int_ge(dup2(saved, STDOUT_FILENO), 0);
	(void)close(fd);
	(void)close(saved);
	ck_assert_uint_eq(st.files, 1);
	ck_assert_uint_eq(st.entries, 2);
	ck_assert(!exists("tenants"));
	tu_read_file(at("stdout"), &out);
	ck_assert_int_eq(lt_buf_terminate(&out), 0);
	ck_assert_int_eq(lt_buf_printf(&want, "would replay %s: a1.spool: tenant acme, "
				       "2 entries, into deferred/\n", at("in.tar.gz")), 0);
	ck_assert_str_eq((char *)out.data, (char *)want.data);
	lt_buf_free(&out);
	lt_buf_free(&want);
}
END_TEST

/* What pack writes, replay reads back. */
START_TEST(test_replay_own_archive)
{
	struct lt_replay_opts ro = {NULL, 0, 0, 0, 0, 0};
	struct lt_replay_stats st = {0};

	stage_one("1704103200000000000-1-aaaaaaaa.spool", T0 + 10 * HOUR, NULL);
	stage_one("1704103300000000000-1-bbbbbbbb.spool", T0 + 10 * HOUR + 1, NULL);
	ck_assert_uint_eq(pack(T0 + DAY), 1);
	ck_assert_int_eq(lt_replay_archive(&opts, at("archive/acme/acme-2024-01-01.tar.zst"),
					   &ro, &st), 0);
	ck_assert_uint_eq(st.files, 2);
	ck_assert_uint_eq(st.corrupt, 0);
	ck_assert_uint_eq(count_files("tenants/acme/deferred"), 2);
}
END_TEST

START_TEST(test_replay_not_an_archive)
{
	struct lt_replay_opts ro = {NULL, 0, 0, 0, 0, 0};
	struct lt_replay_stats st = {0};
	struct lt_buf data = LT_BUF_INIT;
	int64_t ts = T0;

	tu_write_file(at("notes.txt"), "just some text\n", 15, 0644);
	ck_assert_int_eq(lt_replay_archive(&opts, at("notes.txt"), &ro, &st), -1);
	ck_assert_int_eq(lt_replay_archive(&opts, at("missing.tar.gz"), &ro, &st), -1);
	ck_assert_int_eq(lt_replay_archive(&opts, tmpdir, &ro, &st), -1);
	/* A bare spool file is not an archive either. */
	make_spool(&data, "acme", T0, 1, &ts, 1);
	tu_write_file(at("x.spool"), data.data, data.len, 0644);
	ck_assert_int_eq(lt_replay_archive(&opts, at("x.spool"), &ro, &st), -1);
	ck_assert_uint_eq(st.archives, 0);
	ck_assert_uint_eq(st.files, 0);
	ck_assert(!exists("tenants"));
	lt_buf_free(&data);
}
END_TEST

/* An archive cut short: what came before the damage stays imported. */
START_TEST(test_replay_truncated)
{
	struct lt_replay_opts ro = {NULL, 0, 0, 0, 0, 0};
	struct lt_replay_stats st = {0};
	struct lt_buf data = LT_BUF_INIT, big = LT_BUF_INIT;
	struct archive *a = archive_write_new();
	int64_t ts = T0;
	size_t i;

	for (i = 0; i < 300000; i++)
		ck_assert_int_eq(lt_buf_append_byte(&big, (unsigned char)(i * 7919 >> 3)), 0);
	ck_assert_int_eq(archive_write_set_format_ustar(a), ARCHIVE_OK);
	ck_assert_int_eq(archive_write_open_filename(a, at("in.tar")), ARCHIVE_OK);
	make_spool(&data, "acme", T0, 1, &ts, 1);
	add_member(a, "a.spool", data.data, data.len);
	add_member(a, "big.bin", big.data, big.len);
	ck_assert_int_eq(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	tu_read_file(at("in.tar"), &data);
	tu_write_file(at("cut.tar"), data.data, 200000, 0644);
	ck_assert_int_eq(lt_replay_archive(&opts, at("cut.tar"), &ro, &st), -1);
	ck_assert_uint_eq(st.archives, 1);
	ck_assert_uint_eq(st.files, 1);
	ck_assert_uint_eq(count_files("tenants/acme/deferred"), 1);
	/* Cut inside a compressed stream it is refused. */
	make_input();
	tu_read_file(at("in.tar.gz"), &data);
	tu_write_file(at("cut.tar.gz"), data.data, data.len * 2 / 3, 0644);
	ck_assert_int_eq(lt_replay_archive(&opts, at("cut.tar.gz"), &ro, &st), -1);
	ck_assert_uint_eq(st.files, 1);
	lt_buf_free(&data);
	lt_buf_free(&big);
}
END_TEST

START_TEST(test_time_arg)
{
	int64_t now = T0 + 10 * DAY, ns = 0;

	ck_assert_int_eq(lt_parse_time_arg("2024-01-01", now, &ns), 0);
	ck_assert(ns == T0);
	ck_assert_int_eq(lt_parse_time_arg("2024-01-01T01:00:00Z", now, &ns), 0);
	ck_assert(ns == T0 + HOUR);
	ck_assert_int_eq(lt_parse_time_arg("1704067200000000000", now, &ns), 0);
	ck_assert(ns == T0);
	ck_assert_int_eq(lt_parse_time_arg("2h", now, &ns), 0);
	ck_assert(ns == now - 2 * HOUR);
	ck_assert_int_eq(lt_parse_time_arg("7d", now, &ns), 0);
	ck_assert(ns == now - 7 * DAY);
	ck_assert_int_eq(lt_parse_time_arg("90m", now, &ns), 0);
	ck_assert(ns == now - 90 * 60 * NS);
	ns = 42;
	ck_assert_int_eq(lt_parse_time_arg("yesterday", now, &ns), -1);
	ck_assert_int_eq(lt_parse_time_arg("", now, &ns), -1);
	ck_assert_int_eq(lt_parse_time_arg("2x", now, &ns), -1);
	ck_assert_int_eq(lt_parse_time_arg("-2h", now, &ns), -1);
	ck_assert_int_eq(lt_parse_time_arg("100000d", now, &ns), -1);
	ck_assert(ns == 42);
}
END_TEST

static Suite *
archive_suite(void)
{
	Suite *s = suite_create("archive");
	TCase *tc = tcase_create("archive");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_loop_test(tc, test_stage_and_pack, 0, 2);
	tcase_add_test(tc, test_hourly_and_archive_dir);
	tcase_add_test(tc, test_late_file);
	tcase_add_test(tc, test_crash_after_rename);
	tcase_add_test(tc, test_damaged_archive);
	tcase_add_test(tc, test_pack_failure);
	tcase_add_test(tc, test_retention);
	tcase_add_test(tc, test_pack_nothing);
	tcase_add_test(tc, test_stage_errors);
	tcase_add_test(tc, test_stage_cross_device);
	tcase_add_test(tc, test_recover);
	tcase_add_test(tc, test_replay_tenant_and_window);
	tcase_add_test(tc, test_replay_all_force);
	tcase_add_test(tc, test_replay_dry_run);
	tcase_add_test(tc, test_replay_own_archive);
	tcase_add_test(tc, test_replay_not_an_archive);
	tcase_add_test(tc, test_replay_truncated);
	tcase_add_test(tc, test_time_arg);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(archive_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
