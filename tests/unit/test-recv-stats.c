/* Unit tests: the receiver's per-tenant counters in SPOOL/recv.stats,
 * and the rejection reasons the push parsers give them. */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "push.h"
#include "recv_stats.h"
#include "testutil.h"

#define REC LT_RSTATS_RECORD

static char spool[64];
static char path[128];

static void
setup(void)
{
	tu_tmpdir(spool, sizeof(spool), "test-recv-stats");
	(void)snprintf(path, sizeof(path), "%s/recv.stats", spool);
}

static void
teardown(void)
{
	ck_assert_int_eq(tu_rm_rf(spool), 0);
}

/* CRC-32C bit by bit, as logthra-spool(5) gives it. */
static uint32_t
crc_by_hand(const unsigned char *p, size_t n)
{
	uint32_t crc = 0xFFFFFFFF;
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		crc ^= p[i];
		for (k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1));
	}
	return crc ^ 0xFFFFFFFF;
}

static uint64_t
u64_at(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static off_t
file_size(void)
{
	struct stat st;

	ck_assert_int_eq(stat(path, &st), 0);
	return st.st_size;
}

static void
read_file(unsigned char *p, size_t len)
{
	int fd = open(path, O_RDONLY);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pread(fd, p, len, 0), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
}

static void
write_at(const void *p, size_t len, off_t off)
{
	int fd = open(path, O_WRONLY | O_CREAT, 0660);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, p, len, off), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
}

/* Adds a push of entries entries answered status to tenant. */
static void
add(const char *tenant, uint64_t pushes, uint64_t entries, int status)
{
	struct lt_rstats_delta d = {0};
	char err[512];

	d.pushes = pushes;
	d.entries = entries;
	d.bytes = 10 * entries;
	d.status = status;
	ck_assert_msg(lt_rstats_add(spool, tenant, &d, err, sizeof(err)) == 0,
		      "%s", err);
}

static void
read_stats(struct lt_rstats *s)
{
	char err[512];

	ck_assert_msg(lt_rstats_read(spool, s, err, sizeof(err)) == 0, "%s",
		      err);
}

static const struct lt_rstats_rec *
rec_of(const struct lt_rstats *s, const char *tenant)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i].tenant, tenant) == 0)
			return &s->v[i];
	return NULL;
}

START_TEST(test_code_slots)
{
	/* The order of the list in logthra-spool(5). */
	ck_assert_uint_eq(lt_rstats_code_index(200), 0);
	ck_assert_uint_eq(lt_rstats_code_index(204), 1);
	ck_assert_uint_eq(lt_rstats_code_index(400), 2);
	ck_assert_uint_eq(lt_rstats_code_index(429), 12);
	ck_assert_uint_eq(lt_rstats_code_index(500), 14);
	ck_assert_uint_eq(lt_rstats_code_index(503), 16);
	ck_assert_uint_eq(lt_rstats_code_index(505), 17);
	ck_assert_uint_eq(lt_rstats_code_index(299), 18);
	ck_assert_uint_eq(lt_rstats_code_index(0), 18);
	ck_assert_int_eq(lt_rstats_code(12), 429);
	ck_assert_int_eq(lt_rstats_code(18), 0);
}
END_TEST

START_TEST(test_record_layout)
{
	struct lt_rstats_rec r, back;
	unsigned char b[REC];
	size_t i;

	memset(&r, 0, sizeof(r));
	memcpy(r.tenant, "acme", 5);
	r.pushes = 1;
	r.entries = 2;
	r.bytes = 0x0102030405060708;
	r.rejected[LT_REJECT_LINE_TOO_LONG] = 4;
	r.rejected[LT_REJECT_RATE_LIMITED] = 6;
	r.responses[1] = 5; /* 204 */
	lt_rstats_encode(&r, b);
	ck_assert_mem_eq(b, "LTRS\001\004acme", 10);
	for (i = 10; i < 160; i++)
		ck_assert_uint_eq(b[i], 0);
	ck_assert_uint_eq(u64_at(b + 160), 1);
	ck_assert_uint_eq(u64_at(b + 168), 2);
	ck_assert_mem_eq(b + 176, "\010\007\006\005\004\003\002\001", 8);
	ck_assert_uint_eq(u64_at(b + 184 + 8 * 1), 4);  /* line_too_long */
	ck_assert_uint_eq(u64_at(b + 184 + 8 * 14), 6); /* rate_limited */
	ck_assert_uint_eq(u64_at(b + 344 + 8 * 1), 5);
	for (i = 496; i < 508; i++)
		ck_assert_uint_eq(b[i], 0);
	ck_assert_uint_eq(b[508] | b[509] << 8 | b[510] << 16 |
				  (uint32_t)b[511] << 24,
			  crc_by_hand(b, 508));
	ck_assert_int_eq(lt_rstats_decode(b, &back), 0);
	ck_assert_str_eq(back.tenant, "acme");
	ck_assert_uint_eq(back.bytes, 0x0102030405060708);
	ck_assert_uint_eq(back.rejected[LT_REJECT_RATE_LIMITED], 6);
	ck_assert_uint_eq(back.responses[1], 5);
}
END_TEST

/* A record whose CRC is made right again after a change. */
static void
recrc(unsigned char *b)
{
	uint32_t c = crc_by_hand(b, 508);

	b[508] = (unsigned char)c;
	b[509] = (unsigned char)(c >> 8);
	b[510] = (unsigned char)(c >> 16);
	b[511] = (unsigned char)(c >> 24);
}

START_TEST(test_decode_refuses)
{
	struct lt_rstats_rec r, back;
	unsigned char b[REC], c[REC];

	memset(&r, 0, sizeof(r));
	memcpy(r.tenant, "acme", 5);
	lt_rstats_encode(&r, b);
	memcpy(c, b, REC);
	c[200] ^= 1; /* a counter bit: the CRC no longer matches */
	ck_assert_int_eq(lt_rstats_decode(c, &back), -1);
	memcpy(c, b, REC);
	c[4] = 2; /* another version */
	recrc(c);
	ck_assert_int_eq(lt_rstats_decode(c, &back), -1);
	memcpy(c, b, REC);
	c[8] = '/'; /* "ac/e" is no tenant id */
	recrc(c);
	ck_assert_int_eq(lt_rstats_decode(c, &back), -1);
	memcpy(c, b, REC);
	c[5] = 151; /* longer than a tenant id may be */
	recrc(c);
	ck_assert_int_eq(lt_rstats_decode(c, &back), -1);
	memcpy(c, b, REC);
	c[20] = 'x'; /* a byte after the name */
	recrc(c);
	ck_assert_int_eq(lt_rstats_decode(c, &back), -1);
	memset(c, 0, REC); /* zeros: no magic */
	ck_assert_int_eq(lt_rstats_decode(c, &back), -1);
	ck_assert_int_eq(lt_rstats_decode(b, &back), 0);
}
END_TEST

START_TEST(test_add_and_read)
{
	struct lt_rstats s;
	const struct lt_rstats_rec *a, *none;

	add("b", 1, 3, 204);
	add("a", 1, 2, 204);
	add("a", 0, 0, 429);
	add(NULL, 0, 0, 401);
	add("a", 1, 5, 400);
	ck_assert_int_eq(file_size(), 3 * REC);
	read_stats(&s);
	ck_assert_uint_eq(s.n, 3);
	ck_assert_uint_eq(s.bad, 0);
	ck_assert_str_eq(s.v[0].tenant, ""); /* sorted */
	ck_assert_str_eq(s.v[1].tenant, "a");
	ck_assert_str_eq(s.v[2].tenant, "b");
	a = rec_of(&s, "a");
	ck_assert_uint_eq(a->pushes, 2);
	ck_assert_uint_eq(a->entries, 7);
	ck_assert_uint_eq(a->bytes, 70);
	ck_assert_uint_eq(a->responses[lt_rstats_code_index(204)], 1);
	ck_assert_uint_eq(a->responses[lt_rstats_code_index(429)], 1);
	ck_assert_uint_eq(a->responses[lt_rstats_code_index(400)], 1);
	none = rec_of(&s, "");
	ck_assert_uint_eq(none->pushes, 0);
	ck_assert_uint_eq(none->responses[lt_rstats_code_index(401)], 1);
	lt_rstats_free(&s);
}
END_TEST

/* An update rewrites its own record and nothing else. */
START_TEST(test_one_record_written)
{
	unsigned char before[3 * REC], after[3 * REC];
	struct lt_rstats_rec r;

	add("a", 1, 1, 204);
	add("b", 1, 1, 204);
	add("c", 1, 1, 204);
	read_file(before, sizeof(before));
	add("b", 1, 4, 204);
	ck_assert_int_eq(file_size(), 3 * REC);
	read_file(after, sizeof(after));
	ck_assert_mem_eq(after, before, REC);
	ck_assert_mem_eq(after + 2 * REC, before + 2 * REC, REC);
	ck_assert_int_eq(lt_rstats_decode(after + REC, &r), 0);
	ck_assert_str_eq(r.tenant, "b");
	ck_assert_uint_eq(r.entries, 5);
}
END_TEST

START_TEST(test_corrupt_record_dropped)
{
	struct lt_rstats s;
	unsigned char junk = 0xff;

	add("a", 1, 1, 204);
	add("b", 1, 2, 204);
	add("c", 1, 3, 204);
	write_at(&junk, 1, REC + 170); /* in b's entries */
	read_stats(&s);
	ck_assert_uint_eq(s.bad, 1);
	ck_assert_uint_eq(s.n, 2);
	ck_assert_ptr_null(rec_of(&s, "b"));
	lt_rstats_free(&s);
	/* The next update drops it from the file; b starts afresh. */
	add("b", 1, 7, 204);
	ck_assert_int_eq(file_size(), 3 * REC);
	read_stats(&s);
	ck_assert_uint_eq(s.bad, 0);
	ck_assert_uint_eq(rec_of(&s, "a")->entries, 1);
	ck_assert_uint_eq(rec_of(&s, "b")->entries, 7);
	ck_assert_uint_eq(rec_of(&s, "c")->entries, 3);
	lt_rstats_free(&s);
}
END_TEST

/* A record cut short by a crash while the file grew. */
START_TEST(test_torn_tail)
{
	unsigned char rec[REC];
	struct lt_rstats s;

	add("a", 1, 1, 204);
	add("b", 1, 2, 204);
	read_file(rec, REC);
	write_at(rec, 100, 2 * REC);
	read_stats(&s);
	ck_assert_uint_eq(s.bad, 1);
	ck_assert_uint_eq(s.n, 2);
	lt_rstats_free(&s);
	add("a", 1, 1, 204);
	ck_assert_int_eq(file_size(), 2 * REC);
	read_stats(&s);
	ck_assert_uint_eq(s.bad, 0);
	ck_assert_uint_eq(rec_of(&s, "a")->entries, 2);
	ck_assert_uint_eq(rec_of(&s, "b")->entries, 2);
	lt_rstats_free(&s);
}
END_TEST

START_TEST(test_garbage_file)
{
	unsigned char junk[3000];
	struct lt_rstats s;
	size_t i;

	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 131 + 7);
	write_at(junk, sizeof(junk), 0);
	read_stats(&s);
	ck_assert_uint_eq(s.n, 0);
	ck_assert_uint_eq(s.bad, 6); /* five whole records and a tail */
	lt_rstats_free(&s);
	add("a", 1, 1, 204);
	ck_assert_int_eq(file_size(), REC);
	read_stats(&s);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_uint_eq(s.v[0].pushes, 1);
	lt_rstats_free(&s);
}
END_TEST

START_TEST(test_repeated_tenant_dropped)
{
	unsigned char rec[REC];
	struct lt_rstats s;

	add("a", 1, 1, 204);
	read_file(rec, REC);
	write_at(rec, REC, REC); /* a second record of a */
	read_stats(&s);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_uint_eq(s.bad, 1);
	lt_rstats_free(&s);
	add("a", 1, 1, 204);
	ck_assert_int_eq(file_size(), REC);
}
END_TEST

/* The first LT_RSTATS_TENANTS tenants get records; later ones share the
 * overflow record; the record of no tenant is apart from both. */
START_TEST(test_bound)
{
	struct lt_rstats s;
	char name[16];
	int i;

	ck_assert_int_eq(LT_RSTATS_TENANTS, 256);
	for (i = 0; i < 256; i++) {
		(void)snprintf(name, sizeof(name), "t%03d", i);
		add(name, 1, 1, 204);
	}
	ck_assert_int_eq(file_size(), 256 * REC);
	add("late1", 1, 2, 204);
	add("late2", 1, 3, 204);
	add("t007", 1, 1, 204);
	add(NULL, 0, 0, 400);
	ck_assert_int_eq(file_size(), 258 * REC);
	read_stats(&s);
	ck_assert_uint_eq(s.n, 258);
	ck_assert_ptr_null(rec_of(&s, "late1"));
	ck_assert_uint_eq(rec_of(&s, LT_RSTATS_OVERFLOW)->pushes, 2);
	ck_assert_uint_eq(rec_of(&s, LT_RSTATS_OVERFLOW)->entries, 5);
	ck_assert_uint_eq(rec_of(&s, "t007")->pushes, 2);
	ck_assert_uint_eq(rec_of(&s, "")->responses[2], 1);
	lt_rstats_free(&s);
}
END_TEST

/* A file made elsewhere with more records than the bound allows: an
 * update neither writes past its buffer nor fails, and the file is cut
 * back to the bound at the next one. */
START_TEST(test_full_file)
{
	struct lt_rstats_rec r;
	unsigned char b[REC];
	struct lt_rstats s;
	int i;

	memset(&r, 0, sizeof(r));
	for (i = 0; i < 258; i++) {
		(void)snprintf(r.tenant, sizeof(r.tenant), "h%03d", i);
		lt_rstats_encode(&r, b);
		write_at(b, REC, (off_t)i * REC);
	}
	add("new", 1, 1, 204);
	ck_assert_int_eq(file_size(), 259 * REC);
	add("h000", 1, 1, 204);
	ck_assert_int_eq(file_size(), 258 * REC);
	read_stats(&s);
	ck_assert_uint_eq(s.n, 258);
	ck_assert_uint_eq(rec_of(&s, "h000")->pushes, 1);
	ck_assert_ptr_null(rec_of(&s, LT_RSTATS_OVERFLOW));
	lt_rstats_free(&s);
}
END_TEST

START_TEST(test_metrics_text)
{
	struct lt_buf out = LT_BUF_INIT;
	struct lt_rstats s;
	struct lt_rstats_delta d = {0};
	char err[256];

	d.pushes = 2;
	d.entries = 5;
	d.bytes = 40;
	d.rejected[LT_REJECT_LINE_TOO_LONG] = 1;
	d.rejected[LT_REJECT_RATE_LIMITED] = 3;
	d.status = 429;
	ck_assert_int_eq(lt_rstats_add(spool, "acme", &d, err, sizeof(err)), 0);
	add(NULL, 0, 0, 401);
	read_stats(&s);
	ck_assert_int_eq(lt_rstats_format(&out, &s), 0);
	ck_assert_int_eq(lt_buf_terminate(&out), 0);
	ck_assert_str_eq((char *)out.data,
		"# HELP logthra_recv_pushes_total Pushes stored in the spool, wholly or in part, or acknowledged as retries of stored ones.\n"
		"# TYPE logthra_recv_pushes_total counter\n"
		"logthra_recv_pushes_total{tenant=\"acme\"} 2\n"
		"# HELP logthra_recv_entries_total Entries of those pushes accepted.\n"
		"# TYPE logthra_recv_entries_total counter\n"
		"logthra_recv_entries_total{tenant=\"acme\"} 5\n"
		"# HELP logthra_recv_bytes_total Bytes of the accepted entries: lines and structured metadata, as Loki's loki_distributor_bytes_received_total.\n"
		"# TYPE logthra_recv_bytes_total counter\n"
		"logthra_recv_bytes_total{tenant=\"acme\"} 40\n"
		"# HELP logthra_recv_rejected_entries_total Entries rejected by the checks, by reason (Loki's names of loki_discarded_samples_total where one fits).\n"
		"# TYPE logthra_recv_rejected_entries_total counter\n"
		"logthra_recv_rejected_entries_total{tenant=\"acme\",reason=\"line_too_long\"} 1\n"
		"logthra_recv_rejected_entries_total{tenant=\"acme\",reason=\"rate_limited\"} 3\n"
		"# HELP logthra_recv_responses_total Answers to push requests, by HTTP status; tenant \"\" for those refused before their tenant was known.\n"
		"# TYPE logthra_recv_responses_total counter\n"
		"logthra_recv_responses_total{tenant=\"\",code=\"401\"} 1\n"
		"logthra_recv_responses_total{tenant=\"acme\",code=\"429\"} 1\n");
	lt_buf_free(&out);
	lt_rstats_free(&s);
}
END_TEST

START_TEST(test_errors)
{
	struct lt_rstats_delta d = {0};
	struct lt_rstats s;
	char err[512], gone[128];

	(void)snprintf(gone, sizeof(gone), "%s/none", spool);
	ck_assert_int_eq(lt_rstats_add(gone, "a", &d, err, sizeof(err)), ENOENT);
	ck_assert_ptr_nonnull(strstr(err, "receiver counters"));
	/* No file yet: nothing counted, no error. */
	ck_assert_int_eq(lt_rstats_read(spool, &s, err, sizeof(err)), 0);
	ck_assert_uint_eq(s.n, 0);
	ck_assert_int_eq(lt_rstats_add(spool, "a/b", &d, err, sizeof(err)),
			 EINVAL);
	/* Never through a link. */
	ck_assert_int_eq(symlink("/etc/passwd", path), 0);
	ck_assert_int_eq(lt_rstats_add(spool, "a", &d, err, sizeof(err)), ELOOP);
	ck_assert_int_eq(lt_rstats_read(spool, &s, err, sizeof(err)), ELOOP);
	ck_assert_ptr_null(s.v);
}
END_TEST

#define XP_CHILDREN 4
#define XP_ADDS 150

/* Updates from several processes at once all land: the lock keeps
 * read-modify-writes from losing each other's increments. */
START_TEST(test_cross_process)
{
	struct lt_rstats s;
	pid_t pids[XP_CHILDREN];
	int i, k, status;

	for (i = 0; i < XP_CHILDREN; i++) {
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0) {
			struct lt_rstats_delta d = {0};
			char err[512];

			d.pushes = 1;
			d.entries = 2;
			d.status = 204;
			for (k = 0; k < XP_ADDS; k++)
				if (lt_rstats_add(spool, k % 2 ? "x" : "y", &d,
						  err, sizeof(err)) != 0)
					_exit(1);
			_exit(0);
		}
	}
	for (i = 0; i < XP_CHILDREN; i++) {
		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	read_stats(&s);
	ck_assert_uint_eq(s.n, 2);
	ck_assert_uint_eq(rec_of(&s, "x")->pushes, XP_CHILDREN * XP_ADDS / 2);
	ck_assert_uint_eq(rec_of(&s, "y")->entries, XP_CHILDREN * XP_ADDS);
	ck_assert_uint_eq(rec_of(&s, "y")->responses[1],
			  XP_CHILDREN * XP_ADDS / 2);
	lt_rstats_free(&s);
}
END_TEST

/* --- the reasons, from the parsers --- */

static void
parse_json(const char *body, struct lt_push_result *res)
{
	struct lt_limits lim;

	lt_limits_defaults(&lim);
	lim.max_line_size = 10;
	lim.max_age_ns = INT64_C(3600) * 1000000000;
	ck_assert_int_eq(lt_push_parse_json(body, strlen(body), &lim,
					    INT64_C(1704067200) * 1000000000,
					    NULL, res), 0);
}

static void
check_sum(const struct lt_push_result *res)
{
	size_t i, sum = 0;

	for (i = 0; i < LT_REJECT_REASONS; i++)
		sum += res->rejected_by[i];
	ck_assert_uint_eq(sum, res->rejected);
}

START_TEST(test_reasons_json)
{
	struct lt_push_result res;

	/* 2024-01-01T00:00:00Z is the parse's now. */
	parse_json("{\"streams\":["
		   "{\"stream\":{\"app\":\"a\"},\"values\":["
		   "[\"1704067200000000000\",\"ok\"],"
		   "[\"1704067200000000000\",\"much too long\"],"
		   "[\"1704070800000000000\",\"future\"],"
		   "[\"1704060000000000000\",\"old\"],"
		   "[\"12x\",\"bad ts\"],"
		   "[\"1704067200000000000\",\"md\",{\"bad-name\":\"v\"}]]},"
		   "{\"stream\":{\"Bad-Name\":\"a\"},\"values\":["
		   "[\"1704067200000000000\",\"a\"],"
		   "[\"1704067200000000000\",\"b\"],"
		   "[\"1704067200000000000\",\"c\"]]},"
		   "{\"stream\":{},\"values\":[[\"1704067200000000000\",\"a\"]]}"
		   "]}", &res);
	ck_assert_uint_eq(res.accepted, 1);
	ck_assert_uint_eq(res.rejected, 9);
	ck_assert_uint_eq(res.rejected_by[LT_REJECT_LINE_TOO_LONG], 1);
	ck_assert_uint_eq(res.rejected_by[LT_REJECT_TOO_NEW], 1);
	ck_assert_uint_eq(res.rejected_by[LT_REJECT_TOO_OLD], 1);
	ck_assert_uint_eq(res.rejected_by[LT_REJECT_INVALID_TIMESTAMP], 1);
	ck_assert_uint_eq(res.rejected_by[LT_REJECT_INVALID_METADATA], 1);
	/* The whole stream, counted after its labels were refused. */
	ck_assert_uint_eq(res.rejected_by[LT_REJECT_INVALID_LABELS], 3);
	ck_assert_uint_eq(res.rejected_by[LT_REJECT_MISSING_LABELS], 1);
	check_sum(&res);
}
END_TEST

START_TEST(test_reasons_labels)
{
	struct lt_push_result res;
	char body[8192];
	char longname[1100];

	memset(longname, 'n', 1025);
	longname[1025] = '\0';
	(void)snprintf(body, sizeof(body), "{\"streams\":["
		       "{\"stream\":{\"%s\":\"a\"},\"values\":[[\"1704067200000000000\",\"a\"]]},"
		       "{\"stream\":{\"a\":\"1\",\"b\":\"1\",\"c\":\"1\",\"d\":\"1\",\"e\":\"1\",\"f\":\"1\",\"g\":\"1\",\"h\":\"1\","
		       "\"i\":\"1\",\"j\":\"1\",\"k\":\"1\",\"l\":\"1\",\"m\":\"1\",\"n\":\"1\",\"o\":\"1\",\"p\":\"1\"},"
		       "\"values\":[[\"1704067200000000000\",\"a\"],[\"1704067200000000000\",\"b\"]]},"
		       "{\"labels\":\"{a=\\\"1\\\", a=\\\"2\\\"}\",\"entries\":[{\"ts\":\"2024-01-01T00:00:00Z\",\"line\":\"x\"}]}"
		       "]}", longname);
	parse_json(body, &res);
	ck_assert_uint_eq(res.accepted, 0);
	ck_assert_uint_eq(res.rejected_by[LT_REJECT_LABEL_NAME_TOO_LONG], 1);
	ck_assert_uint_eq(res.rejected_by[LT_REJECT_TOO_MANY_LABELS], 2);
	ck_assert_uint_eq(res.rejected_by[LT_REJECT_DUPLICATE_LABELS], 1);
	check_sum(&res);
}
END_TEST

START_TEST(test_reason_names)
{
	ck_assert_str_eq(lt_reject_reason_name(LT_REJECT_OTHER), "other");
	ck_assert_str_eq(lt_reject_reason_name(LT_REJECT_TOO_OLD),
			 "greater_than_max_sample_age");
	ck_assert_str_eq(lt_reject_reason_name(LT_REJECT_TOO_MANY_LABELS),
			 "max_label_names_per_series");
	ck_assert_str_eq(lt_reject_reason_name(LT_REJECT_RATE_LIMITED),
			 "rate_limited");
	ck_assert_ptr_null(lt_reject_reason_name(LT_REJECT_REASONS));
}
END_TEST

static Suite *
recv_stats_suite(void)
{
	Suite *s = suite_create("recv-stats");
	TCase *tc = tcase_create("file");
	TCase *rs = tcase_create("reasons");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_code_slots);
	tcase_add_test(tc, test_record_layout);
	tcase_add_test(tc, test_decode_refuses);
	tcase_add_test(tc, test_add_and_read);
	tcase_add_test(tc, test_one_record_written);
	tcase_add_test(tc, test_corrupt_record_dropped);
	tcase_add_test(tc, test_torn_tail);
	tcase_add_test(tc, test_garbage_file);
	tcase_add_test(tc, test_repeated_tenant_dropped);
	tcase_add_test(tc, test_bound);
	tcase_add_test(tc, test_full_file);
	tcase_add_test(tc, test_metrics_text);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_cross_process);
	suite_add_tcase(s, tc);

	tcase_add_test(rs, test_reasons_json);
	tcase_add_test(rs, test_reasons_labels);
	tcase_add_test(rs, test_reason_names);
	suite_add_tcase(s, rs);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(recv_stats_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
