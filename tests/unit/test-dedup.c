/* Unit tests for the records of stored pushes that let a retried push be
 * acknowledged without storing it twice (src/dedup.c). */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dedup.h"
#include "sha256.h"
#include "testutil.h"

static const struct lt_label labels[] = {{"app", 3, "api", 3}};

/* One stream, one entry with the given line; the header's time and push
 * id as given. */
static void
encode(struct lt_spool_encoder *e, int64_t received_ns, uint64_t push_id,
       const char *line)
{
	struct lt_sink sink;
	struct lt_entry en = {INT64_C(1704067200000000000), line, strlen(line), NULL, 0};

	ck_assert_int_eq(lt_spool_encoder_init(e, "acme", received_ns, push_id), 0);
	lt_spool_encoder_sink(e, &sink);
	ck_assert_int_eq(sink.stream(sink.ctx, labels, 1), 0);
	ck_assert_int_eq(sink.entry(sink.ctx, &en), 0);
	ck_assert_int_eq(lt_spool_encoder_finish(e), 0);
}

static char *
temp_spool(void)
{
	static char dir[64];

	tu_tmpdir(dir, sizeof(dir), "logthra-test-dedup");
	return dir;
}

static int
exists(const char *root, const char *rest)
{
	char path[512];
	struct stat st;

	(void)snprintf(path, sizeof(path), "%s/%s", root, rest);
	return lstat(path, &st) == 0;
}

/* Two attempts of one push differ in their header (time, push id) and
 * nowhere else: the same digest.  Another line: another digest. */
START_TEST(test_digest_ignores_header)
{
	struct lt_spool_encoder a, b, c;
	char ha[LT_DEDUP_HEX_LEN + 1], hb[LT_DEDUP_HEX_LEN + 1], hc[LT_DEDUP_HEX_LEN + 1];
	unsigned char d[LT_SHA256_LEN];
	char want[LT_DEDUP_HEX_LEN + 1];
	size_t i;

	encode(&a, 1, 111, "hello");
	encode(&b, 2000000000, 222, "hello");
	encode(&c, 1, 111, "hellO");
	lt_dedup_digest(&a, ha);
	lt_dedup_digest(&b, hb);
	lt_dedup_digest(&c, hc);
	ck_assert_str_eq(ha, hb);
	ck_assert_str_ne(ha, hc);
	ck_assert_uint_eq(strlen(ha), LT_DEDUP_HEX_LEN);
	/* Independently: SHA-256 of the file from its second record on.
	 * The header record is 1 + 4 + (1 + 4 + 8 + 8) + 4 bytes after the
	 * 12 bytes of magic and version. */
	lt_sha256(a.out.data + 12 + 30, a.out.len - 12 - 30, d);
	for (i = 0; i < LT_SHA256_LEN; i++)
		(void)snprintf(want + 2 * i, 3, "%02x", d[i]);
	ck_assert_str_eq(ha, want);
	lt_spool_encoder_free(&a);
	lt_spool_encoder_free(&b);
	lt_spool_encoder_free(&c);
}
END_TEST

START_TEST(test_bucket)
{
	ck_assert(lt_dedup_bucket(7199, 3600) == 3600);
	ck_assert(lt_dedup_bucket(7200, 3600) == 7200);
	ck_assert(lt_dedup_bucket(0, 3600) == 0);
	ck_assert(lt_dedup_bucket(-1, 3600) == -3600);
}
END_TEST

/* Recorded at t: seen until the end of the next bucket, so for at least
 * one window; not after; not for another tenant or digest. */
START_TEST(test_record_and_seen)
{
	char err[256], *root = temp_spool();
	const char *h = "ab12";
	int64_t w = 3600, t = 1000000 * w + 10;

	ck_assert_int_eq(lt_dedup_seen(root, "acme", h, t, w), 0);
	ck_assert_int_eq(lt_dedup_record(root, "acme", h, t, w, err, sizeof(err)), 0);
	ck_assert(exists(root, "seen/acme/3600000000/ab12"));
	ck_assert_int_eq(lt_dedup_seen(root, "acme", h, t, w), 1);
	ck_assert_int_eq(lt_dedup_seen(root, "acme", h, t + w - 11, w), 1);
	ck_assert_int_eq(lt_dedup_seen(root, "acme", h, t + w, w), 1);
	ck_assert_int_eq(lt_dedup_seen(root, "acme", h, t + 2 * w - 11, w), 1);
	ck_assert_int_eq(lt_dedup_seen(root, "acme", h, t + 2 * w - 10, w), 0);
	ck_assert_int_eq(lt_dedup_seen(root, "beta", h, t, w), 0);
	ck_assert_int_eq(lt_dedup_seen(root, "acme", "ab13", t, w), 0);
	/* Recording twice is no error (a retry that raced the first). */
	ck_assert_int_eq(lt_dedup_record(root, "acme", h, t, w, err, sizeof(err)), 0);
	ck_assert_int_eq(tu_rm_rf(root), 0);
}
END_TEST

/* dedup_window = 0: nothing recorded, nothing seen. */
START_TEST(test_window_off)
{
	char err[256], *root = temp_spool();

	ck_assert_int_eq(lt_dedup_record(root, "acme", "ab", 5000, 0, err, sizeof(err)), 0);
	ck_assert(!exists(root, "seen"));
	ck_assert_int_eq(lt_dedup_seen(root, "acme", "ab", 5000, 0), 0);
	ck_assert_int_eq(tu_rm_rf(root), 0);
}
END_TEST

/* Expiry removes the buckets no push looks at any more, keeps the
 * current and the previous one, and leaves names that are no bucket. */
START_TEST(test_expire)
{
	char err[256], p[512], *root = temp_spool();
	int64_t w = 60, t = 6000;
	size_t removed;

	ck_assert_int_eq(lt_dedup_record(root, "acme", "a1", t - 3 * w, w, err, sizeof(err)), 0);
	ck_assert_int_eq(lt_dedup_record(root, "acme", "a2", t - 3 * w, w, err, sizeof(err)), 0);
	ck_assert_int_eq(lt_dedup_record(root, "acme", "b", t - 2 * w, w, err, sizeof(err)), 0);
	ck_assert_int_eq(lt_dedup_record(root, "acme", "c", t - w, w, err, sizeof(err)), 0);
	ck_assert_int_eq(lt_dedup_record(root, "acme", "d", t, w, err, sizeof(err)), 0);
	(void)snprintf(p, sizeof(p), "%s/seen/acme/notes", root);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	ck_assert_int_eq(lt_dedup_expire(root, "acme", t, w, &removed, err, sizeof(err)), 0);
	ck_assert_uint_eq(removed, 3);
	ck_assert(!exists(root, "seen/acme/5820"));
	ck_assert(!exists(root, "seen/acme/5880"));
	ck_assert(exists(root, "seen/acme/5940/c"));
	ck_assert(exists(root, "seen/acme/6000/d"));
	ck_assert(exists(root, "seen/acme/notes"));
	ck_assert_int_eq(lt_dedup_seen(root, "acme", "c", t, w), 1);
	/* A tenant without records, and the window turned off: all go. */
	ck_assert_int_eq(lt_dedup_expire(root, "beta", t, w, &removed, err, sizeof(err)), 0);
	ck_assert_uint_eq(removed, 0);
	ck_assert_int_eq(lt_dedup_expire(root, "acme", t, 0, &removed, err, sizeof(err)), 0);
	ck_assert_uint_eq(removed, 2);
	ck_assert(!exists(root, "seen/acme/6000"));
	ck_assert_int_eq(tu_rm_rf(root), 0);
}
END_TEST

/* A record that cannot be made is an error with a message, and is
 * never taken for one that was. */
START_TEST(test_record_failure)
{
	char err[256], path[512], *root = temp_spool();

	(void)snprintf(path, sizeof(path), "%s/seen", root);
	ck_assert_int_eq(symlink("/tmp", path), 0);
	ck_assert_int_ne(lt_dedup_record(root, "acme", "ab", 7200, 3600, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "to record the push against retries"));
	ck_assert_int_eq(lt_dedup_seen(root, "acme", "ab", 7200, 3600), 0);
	ck_assert_int_eq(tu_rm_rf(root), 0);
}
END_TEST

/* Expiry removes nothing through a symbolic link planted in seen/: not
 * for a tenant's directory, not for a bucket. */
START_TEST(test_expire_follows_no_link)
{
	char err[256], p[512], q[512], *root = temp_spool(), *elsewhere;
	static char other[64];
	size_t removed;

	tu_tmpdir(other, sizeof(other), "logthra-test-elsewhere");
	elsewhere = other;
	(void)snprintf(p, sizeof(p), "%s/60", elsewhere);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	(void)snprintf(p, sizeof(p), "%s/60/keep", elsewhere);
	ck_assert_int_eq(close(creat(p, 0600)), 0);
	/* seen/acme is a link to a directory with an old bucket in it. */
	ck_assert_int_eq(lt_dedup_record(root, "beta", "ab", 6000, 60, err, sizeof(err)), 0);
	(void)snprintf(q, sizeof(q), "%s/seen/acme", root);
	ck_assert_int_eq(symlink(elsewhere, q), 0);
	ck_assert_int_eq(lt_dedup_expire(root, "acme", 6000, 60, &removed, err, sizeof(err)), ENOTDIR);
	ck_assert_uint_eq(removed, 0);
	ck_assert_int_eq(access(p, F_OK), 0);
	/* seen/beta/60 is a link to the same old bucket. */
	(void)snprintf(q, sizeof(q), "%s/seen/beta/60", root);
	(void)snprintf(p, sizeof(p), "%s/60", elsewhere);
	ck_assert_int_eq(symlink(p, q), 0);
	ck_assert_int_eq(lt_dedup_expire(root, "beta", 6000, 60, &removed, err, sizeof(err)), 0);
	ck_assert_uint_eq(removed, 0);
	(void)snprintf(p, sizeof(p), "%s/60/keep", elsewhere);
	ck_assert_int_eq(access(p, F_OK), 0);
	ck_assert_int_eq(tu_rm_rf(root), 0);
	ck_assert_int_eq(tu_rm_rf(elsewhere), 0);
}
END_TEST

static Suite *
dedup_suite(void)
{
	Suite *s = suite_create("dedup");
	TCase *tc = tcase_create("dedup");

	tcase_add_test(tc, test_digest_ignores_header);
	tcase_add_test(tc, test_bucket);
	tcase_add_test(tc, test_record_and_seen);
	tcase_add_test(tc, test_window_off);
	tcase_add_test(tc, test_expire);
	tcase_add_test(tc, test_record_failure);
	tcase_add_test(tc, test_expire_follows_no_link);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(dedup_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
