/* Unit tests: the spool file format and the spool directory. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crc32c.h"
#include "spool.h"
#include "testutil.h"

static const struct lt_label labels[] = {
	{"app", 3, "test-app", 8},
	{"level", 5, "info", 4},
};
static const struct lt_label meta[] = {{"trace_id", 8, "abc", 3}};

/* A push of one stream with two entries, the second with metadata. */
static void
encode_sample(struct lt_spool_encoder *e)
{
	struct lt_sink sink;
	struct lt_entry en = {INT64_C(1704067200000000000), "starting up", 11, NULL, 0};

	ck_assert_int_eq(lt_spool_encoder_init(e, "acme", 42, UINT64_C(0x1122334455667788)), 0);
	lt_spool_encoder_sink(e, &sink);
	ck_assert_int_eq(sink.stream(sink.ctx, labels, 2), 0);
	ck_assert_int_eq(sink.entry(sink.ctx, &en), 0);
	en.ts_ns = INT64_C(1704067201123456789);
	en.line = "ready";
	en.line_len = 5;
	en.metadata = meta;
	en.n_metadata = 1;
	ck_assert_int_eq(sink.entry(sink.ctx, &en), 0);
	ck_assert_int_eq(lt_spool_encoder_finish(e), 0);
}

START_TEST(test_roundtrip)
{
	struct lt_spool_encoder e;
	struct lt_spool_info info;
	char err[256];

	encode_sample(&e);
	ck_assert_mem_eq(e.out.data, LT_SPOOL_MAGIC, LT_SPOOL_MAGIC_LEN);
	ck_assert_int_eq(lt_spool_check(e.out.data, e.out.len, &info, err, sizeof(err)), 0);
	ck_assert_str_eq(info.tenant, "acme");
	ck_assert(info.received_ns == 42);
	ck_assert(info.push_id == UINT64_C(0x1122334455667788));
	ck_assert(info.n_streams == 1);
	ck_assert(info.n_entries == 2);
	ck_assert(info.min_ts_ns == INT64_C(1704067200000000000));
	ck_assert(info.max_ts_ns == INT64_C(1704067201123456789));
	lt_spool_encoder_free(&e);
}
END_TEST

/* Every single-bit flip anywhere in the file is caught. */
START_TEST(test_every_flip_detected)
{
	struct lt_spool_encoder e;
	struct lt_spool_info info;
	char err[256];
	size_t i;
	int bit;

	encode_sample(&e);
	for (i = 0; i < e.out.len; i++) {
		for (bit = 0; bit < 8; bit++) {
			e.out.data[i] ^= (unsigned char)(1u << bit);
			ck_assert_msg(lt_spool_check(e.out.data, e.out.len, &info,
						     err, sizeof(err)) == -1,
				      "flip at byte %zu bit %d not detected", i, bit);
			e.out.data[i] ^= (unsigned char)(1u << bit);
		}
	}
	lt_spool_encoder_free(&e);
}
END_TEST

/* A file cut anywhere (a writer killed mid-way) is never loaded. */
START_TEST(test_every_truncation_detected)
{
	struct lt_spool_encoder e;
	struct lt_spool_info info;
	char err[256];
	size_t n;

	encode_sample(&e);
	for (n = 0; n < e.out.len; n++)
		ck_assert_msg(lt_spool_check(e.out.data, n, &info, err, sizeof(err)) == -1,
			      "truncation to %zu bytes not detected", n);
	lt_spool_encoder_free(&e);
}
END_TEST

START_TEST(test_messages)
{
	struct lt_spool_encoder e;
	struct lt_spool_info info;
	char err[256];

	encode_sample(&e);
	ck_assert_int_eq(lt_spool_check(e.out.data, e.out.len - 13, &info, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "record at byte 151 runs past the end of the file");
	ck_assert_int_eq(lt_buf_append(&e.out, "x", 1), 0);
	ck_assert_int_eq(lt_spool_check(e.out.data, e.out.len, &info, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "1 bytes after the END trailer");
	e.out.len--;
	e.out.data[8] = 2;
	ck_assert_int_eq(lt_spool_check(e.out.data, e.out.len, &info, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "unsupported spool format version 2 (this is version 1)");
	e.out.data[8] = 1;
	e.out.data[0] = 'X';
	ck_assert_int_eq(lt_spool_check(e.out.data, e.out.len, &info, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "not a Logthra spool file (bad magic)");
	lt_spool_encoder_free(&e);
}
END_TEST

START_TEST(test_missing_end)
{
	struct lt_spool_encoder e;
	struct lt_spool_info info;
	struct lt_sink sink;
	char err[256];

	ck_assert_int_eq(lt_spool_encoder_init(&e, "acme", 1, 7), 0);
	lt_spool_encoder_sink(&e, &sink);
	ck_assert_int_eq(sink.stream(sink.ctx, labels, 2), 0);
	ck_assert_int_eq(lt_spool_check(e.out.data, e.out.len, &info, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "no END trailer (the file was not completely written)");
	lt_spool_encoder_free(&e);
}
END_TEST

/* For a DateTime64(9) table the time goes once, as Int64 nanoseconds,
 * and nothing else changes. */
START_TEST(test_rowbinary_datetime64)
{
	struct lt_spool_encoder e;
	struct lt_rows_by_day days = {0};
	struct lt_buf want = LT_BUF_INIT;
	uint64_t sid = lt_stream_id(labels, 2);

	encode_sample(&e);
	ck_assert_int_eq(lt_spool_rowbinary(e.out.data, e.out.len, LT_ROWS_DATETIME64,
					    NULL, 0, &days), 2);
	ck_assert_uint_eq(days.n, 1);
	ck_assert_uint_eq(days.v[0].n_rows, 2);
	lt_buf_append_string(&want, "acme", 4);
	lt_buf_append_u64le(&want, sid);
	lt_buf_append_varint(&want, 2);
	lt_buf_append_string(&want, "app=test-app", 12);
	lt_buf_append_string(&want, "level=info", 10);
	lt_buf_append_u64le(&want, UINT64_C(1704067200000000000));
	lt_buf_append_string(&want, "starting up", 11);
	lt_buf_append_varint(&want, 0);
	lt_buf_append_u64le(&want, UINT64_C(0x1122334455667788));
	ck_assert_uint_gt(days.v[0].rows.len, want.len);
	ck_assert_mem_eq(days.v[0].rows.data, want.data, want.len);
	/* Row 2 starts right after, with the same tenant and stream. */
	ck_assert_mem_eq(days.v[0].rows.data + want.len, "\x04" "acme", 5);
	lt_rows_by_day_free(&days);
	lt_buf_free(&want);
	lt_spool_encoder_free(&e);
}
END_TEST

/* The RowBinary rows, byte for byte, in the INSERT's column order. */
START_TEST(test_rowbinary)
{
	struct lt_spool_encoder e;
	struct lt_rows_by_day days = {0};
	struct lt_buf want = LT_BUF_INIT;
	uint64_t sid = lt_stream_id(labels, 2);

	encode_sample(&e);
	ck_assert_int_eq(lt_spool_rowbinary(e.out.data, e.out.len, LT_ROWS_DATETIME_AND_NS,
					    NULL, 0, &days), 2);
	ck_assert_uint_eq(days.n, 1);
	ck_assert_int_eq(days.v[0].day, 19723); /* 2024-01-01 */
	ck_assert_uint_eq(days.v[0].n_rows, 2);
	/* row 1 */
	lt_buf_append_string(&want, "acme", 4);
	lt_buf_append_u64le(&want, sid);
	lt_buf_append_varint(&want, 2);
	lt_buf_append_string(&want, "app=test-app", 12);
	lt_buf_append_string(&want, "level=info", 10);
	lt_buf_append_u32le(&want, 1704067200);
	lt_buf_append_u64le(&want, UINT64_C(1704067200000000000));
	lt_buf_append_string(&want, "starting up", 11);
	lt_buf_append_varint(&want, 0);
	lt_buf_append_u64le(&want, UINT64_C(0x1122334455667788));
	/* row 2 */
	lt_buf_append_string(&want, "acme", 4);
	lt_buf_append_u64le(&want, sid);
	lt_buf_append_varint(&want, 2);
	lt_buf_append_string(&want, "app=test-app", 12);
	lt_buf_append_string(&want, "level=info", 10);
	lt_buf_append_u32le(&want, 1704067201);
	lt_buf_append_u64le(&want, UINT64_C(1704067201123456789));
	lt_buf_append_string(&want, "ready", 5);
	lt_buf_append_varint(&want, 1);
	lt_buf_append_string(&want, "trace_id=abc", 12);
	lt_buf_append_u64le(&want, UINT64_C(0x1122334455667788));
	ck_assert_uint_eq(days.v[0].rows.len, want.len);
	ck_assert_mem_eq(days.v[0].rows.data, want.data, want.len);
	/* What ClickHouse holds already is left out: all of a day ... */
	lt_rows_by_day_reset(&days);
	ck_assert_int_eq(lt_spool_rowbinary(e.out.data, e.out.len, LT_ROWS_DATETIME_AND_NS,
					    (const struct lt_day_skip[]){{19723, 2}}, 1,
					    &days), 0);
	ck_assert_uint_eq(days.n, 0);
	/* ... or its first rows, which an INSERT cut short committed. */
	lt_rows_by_day_reset(&days);
	ck_assert_int_eq(lt_spool_rowbinary(e.out.data, e.out.len, LT_ROWS_DATETIME_AND_NS,
					    (const struct lt_day_skip[]){{19723, 1}}, 1,
					    &days), 1);
	ck_assert_uint_eq(days.v[0].n_rows, 1);
	ck_assert_uint_eq(days.v[0].rows.len, want.len - 71); /* row 1 is 71 bytes */
	ck_assert_mem_eq(days.v[0].rows.data, want.data + 71, want.len - 71);
	/* A skip for another day changes nothing. */
	lt_rows_by_day_reset(&days);
	ck_assert_int_eq(lt_spool_rowbinary(e.out.data, e.out.len, LT_ROWS_DATETIME_AND_NS,
					    (const struct lt_day_skip[]){{19724, 5}}, 1,
					    &days), 2);
	lt_rows_by_day_free(&days);
	lt_buf_free(&want);
	lt_spool_encoder_free(&e);
}
END_TEST

/* Rows of a push that spans midnight UTC go to two INSERTs. */
START_TEST(test_rowbinary_days)
{
	struct lt_spool_encoder e;
	struct lt_rows_by_day days = {0};
	struct lt_sink sink;
	struct lt_entry en = {INT64_C(1704153599999999999), "last of day 1", 13, NULL, 0};

	ck_assert_int_eq(lt_spool_encoder_init(&e, "acme", 1, 5), 0);
	lt_spool_encoder_sink(&e, &sink);
	ck_assert_int_eq(sink.stream(sink.ctx, labels, 2), 0);
	ck_assert_int_eq(sink.entry(sink.ctx, &en), 0);
	en.ts_ns++;
	ck_assert_int_eq(sink.entry(sink.ctx, &en), 0);
	ck_assert_int_eq(sink.entry(sink.ctx, &en), 0);
	ck_assert_int_eq(lt_spool_encoder_finish(&e), 0);
	ck_assert_int_eq(lt_spool_rowbinary(e.out.data, e.out.len, LT_ROWS_DATETIME_AND_NS,
					    NULL, 0, &days), 3);
	ck_assert_uint_eq(days.n, 2);
	ck_assert_int_eq(days.v[0].day, 19723);
	ck_assert_uint_eq(days.v[0].n_rows, 1);
	ck_assert_int_eq(days.v[1].day, 19724);
	ck_assert_uint_eq(days.v[1].n_rows, 2);
	lt_rows_by_day_free(&days);
	lt_spool_encoder_free(&e);
}
END_TEST

/* A row of the streams index as ClickHouse reads RowBinary: tenant
 * (a varint length and "acme"), stream_id, label (a count and each
 * "name=value"), day (Date: UInt16 little-endian). */
static void
append_index_row(struct lt_buf *b, const struct lt_label *l, size_t n, uint16_t day)
{
	size_t i;

	ck_assert_int_eq(lt_buf_append(b, "\x04" "acme", 5), 0);
	ck_assert_int_eq(lt_buf_append_u64le(b, lt_stream_id(l, n)), 0);
	ck_assert_int_eq(lt_buf_append_byte(b, (unsigned char)n), 0);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(lt_buf_append_byte(b, (unsigned char)(l[i].name_len + 1 +
								       l[i].value_len)), 0);
		ck_assert_int_eq(lt_buf_append(b, l[i].name, l[i].name_len), 0);
		ck_assert_int_eq(lt_buf_append(b, "=", 1), 0);
		ck_assert_int_eq(lt_buf_append(b, l[i].value, l[i].value_len), 0);
	}
	ck_assert_int_eq(lt_buf_append_byte(b, day & 0xff), 0);
	ck_assert_int_eq(lt_buf_append_byte(b, day >> 8), 0);
}

/* One entry per (labels, day) given, in that order, as a push of acme. */
static void
encode_days(struct lt_spool_encoder *e, const struct lt_label *const *l,
	    const size_t *n, const int32_t *day, size_t count)
{
	struct lt_sink sink;
	struct lt_entry en = {0, "x", 1, NULL, 0};
	size_t i;

	ck_assert_int_eq(lt_spool_encoder_init(e, "acme", 1, 9), 0);
	lt_spool_encoder_sink(e, &sink);
	for (i = 0; i < count; i++) {
		if (i == 0 || l[i] != l[i - 1])
			ck_assert_int_eq(sink.stream(sink.ctx, l[i], n[i]), 0);
		en.ts_ns = (int64_t)day[i] * INT64_C(86400000000000) + 3600;
		ck_assert_int_eq(sink.entry(sink.ctx, &en), 0);
	}
	ck_assert_int_eq(lt_spool_encoder_finish(e), 0);
}

START_TEST(test_stream_days)
{
	static const struct lt_label b[] = {{"app", 3, "x", 1}};
	static const struct lt_label c[] = {{"app", 3, "y", 1}};
	/* labels (A): days 2, 1, 2 (back and forth); B on day 1; then a
	 * second file: A on day 1 again, C on day 3. */
	const struct lt_label *l1[] = {labels, labels, labels, b};
	const size_t n1[] = {2, 2, 2, 1};
	const int32_t d1[] = {19724, 19723, 19724, 19723};
	const struct lt_label *l2[] = {labels, c};
	const size_t n2[] = {2, 1};
	const int32_t d2[] = {19723, 19725};
	struct lt_spool_encoder e1, e2;
	struct lt_stream_days set = {0};
	struct lt_buf got = LT_BUF_INIT, want = LT_BUF_INIT;
	int32_t from = INT32_MIN;
	int a_first = lt_stream_id(labels, 2) < lt_stream_id(b, 1);

	encode_days(&e1, l1, n1, d1, 4);
	encode_days(&e2, l2, n2, d2, 2);
	ck_assert_int_eq(lt_spool_stream_days(e1.out.data, e1.out.len, &set), 0);
	ck_assert_int_eq(lt_spool_stream_days(e2.out.data, e2.out.len, &set), 0);
	ck_assert_uint_eq(set.n, 4);

	/* At most 2 days an INSERT: day 1 (A and B, by stream_id), day 2. */
	ck_assert_int_eq(lt_stream_days_rowbinary(&set, &from, 2, &got), 3);
	ck_assert_int_eq(from, 19724);
	if (a_first)
		append_index_row(&want, labels, 2, 19723);
	append_index_row(&want, b, 1, 19723);
	if (!a_first)
		append_index_row(&want, labels, 2, 19723);
	append_index_row(&want, labels, 2, 19724);
	ck_assert_uint_eq(got.len, want.len);
	ck_assert_mem_eq(got.data, want.data, want.len);
	/* Then day 3, then nothing. */
	lt_buf_reset(&got);
	lt_buf_reset(&want);
	ck_assert_int_eq(lt_stream_days_rowbinary(&set, &from, 2, &got), 1);
	ck_assert_int_eq(from, 19725);
	append_index_row(&want, c, 1, 19725);
	ck_assert_uint_eq(got.len, want.len);
	ck_assert_mem_eq(got.data, want.data, want.len);
	lt_buf_reset(&got);
	ck_assert_int_eq(lt_stream_days_rowbinary(&set, &from, 2, &got), 0);
	ck_assert_uint_eq(got.len, 0);

	/* Reset, the set takes files again; the same file twice is one. */
	lt_stream_days_reset(&set);
	ck_assert_int_eq(lt_spool_stream_days(e2.out.data, e2.out.len, &set), 0);
	ck_assert_int_eq(lt_spool_stream_days(e2.out.data, e2.out.len, &set), 0);
	ck_assert_uint_eq(set.n, 2);
	from = INT32_MIN;
	ck_assert_int_eq(lt_stream_days_rowbinary(&set, &from, 100, &got), 2);

	lt_stream_days_free(&set);
	lt_buf_free(&got);
	lt_buf_free(&want);
	lt_spool_encoder_free(&e1);
	lt_spool_encoder_free(&e2);
}
END_TEST

/* Keeps only the pairs that are not day 19723: those of A on day 2 and
 * C on day 3 are written. */
static int
not_day_one(const struct lt_stream_day *sd, void *arg)
{
	(*(int *)arg)++;
	return sd->day != 19723;
}

START_TEST(test_stream_days_keep_if)
{
	static const struct lt_label b[] = {{"app", 3, "x", 1}};
	static const struct lt_label c[] = {{"app", 3, "y", 1}};
	const struct lt_label *l1[] = {labels, labels, b, c};
	const size_t n1[] = {2, 2, 1, 1};
	const int32_t d1[] = {19723, 19724, 19723, 19725};
	struct lt_spool_encoder e1;
	struct lt_stream_days set = {0};
	struct lt_buf got = LT_BUF_INIT, want = LT_BUF_INIT;
	int32_t from = INT32_MIN;
	int calls = 0;

	encode_days(&e1, l1, n1, d1, 4);
	ck_assert_int_eq(lt_spool_stream_days(e1.out.data, e1.out.len, &set), 0);
	ck_assert_uint_eq(set.n, 4);
	lt_stream_days_keep_if(&set, not_day_one, &calls);
	ck_assert_int_eq(calls, 4);
	ck_assert_uint_eq(set.n, 2);
	ck_assert_int_eq(lt_stream_days_rowbinary(&set, &from, 100, &got), 2);
	append_index_row(&want, labels, 2, 19724);
	append_index_row(&want, c, 1, 19725);
	ck_assert_uint_eq(got.len, want.len);
	ck_assert_mem_eq(got.data, want.data, want.len);

	/* Nothing kept: nothing to write. */
	lt_stream_days_reset(&set);
	ck_assert_int_eq(lt_spool_stream_days(e1.out.data, e1.out.len, &set), 0);
	calls = 0;
	lt_stream_days_keep_if(&set, not_day_one, &calls);
	lt_stream_days_keep_if(&set, not_day_one, &calls); /* closed: not again */
	ck_assert_int_eq(calls, 4);
	lt_buf_reset(&got);
	from = INT32_MIN;
	ck_assert_int_eq(lt_stream_days_rowbinary(&set, &from, 100, &got), 2);

	lt_stream_days_free(&set);
	lt_buf_free(&got);
	lt_buf_free(&want);
	lt_spool_encoder_free(&e1);
}
END_TEST

/* Many streams: the set grows and keeps each (stream, day) once. */
START_TEST(test_stream_days_many)
{
	struct lt_spool_encoder e;
	struct lt_stream_days set = {0};
	struct lt_buf got = LT_BUF_INIT;
	struct lt_sink sink;
	struct lt_entry en = {0, "x", 1, NULL, 0};
	struct lt_label l = {"n", 1, NULL, 4};
	char value[5];
	int32_t from = INT32_MIN;
	int i, pass;

	ck_assert_int_eq(lt_spool_encoder_init(&e, "acme", 1, 9), 0);
	lt_spool_encoder_sink(&e, &sink);
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < 1000; i++) {
			(void)snprintf(value, sizeof(value), "%04d", i);
			l.value = value;
			ck_assert_int_eq(sink.stream(sink.ctx, &l, 1), 0);
			en.ts_ns = INT64_C(1704067200000000000) +
				   (int64_t)(i % 2) * INT64_C(86400000000000);
			ck_assert_int_eq(sink.entry(sink.ctx, &en), 0);
		}
	}
	ck_assert_int_eq(lt_spool_encoder_finish(&e), 0);
	ck_assert_int_eq(lt_spool_stream_days(e.out.data, e.out.len, &set), 0);
	ck_assert_uint_eq(set.n, 1000);
	ck_assert_int_eq(lt_stream_days_rowbinary(&set, &from, 1, &got), 500);
	ck_assert_int_eq(lt_stream_days_rowbinary(&set, &from, 1, &got), 500);
	ck_assert_int_eq(lt_stream_days_rowbinary(&set, &from, 1, &got), 0);
	lt_stream_days_free(&set);
	lt_buf_free(&got);
	lt_spool_encoder_free(&e);
}
END_TEST

START_TEST(test_filter)
{
	struct lt_spool_encoder e;
	struct lt_spool_info info;
	struct lt_buf out = LT_BUF_INIT;
	uint64_t kept;
	char err[256];

	encode_sample(&e);
	/* only the second entry */
	ck_assert_int_eq(lt_spool_filter(e.out.data, e.out.len, INT64_C(1704067201000000000), 0,
					 &out, &kept), 0);
	ck_assert(kept == 1);
	ck_assert_int_eq(lt_spool_check(out.data, out.len, &info, err, sizeof(err)), 0);
	ck_assert(info.n_entries == 1 && info.n_streams == 1);
	ck_assert(info.push_id == UINT64_C(0x1122334455667788));
	ck_assert(info.min_ts_ns == INT64_C(1704067201123456789));
	/* nothing in the window: a valid, empty file */
	ck_assert_int_eq(lt_spool_filter(e.out.data, e.out.len, 1, 2, &out, &kept), 0);
	ck_assert(kept == 0);
	ck_assert_int_eq(lt_spool_check(out.data, out.len, &info, err, sizeof(err)), 0);
	ck_assert(info.n_streams == 0);
	lt_buf_free(&out);
	lt_spool_encoder_free(&e);
}
END_TEST

START_TEST(test_stream_id)
{
	/* FNV-1a 64 of "a=b\0" */
	static const struct lt_label ab = {"a", 1, "b", 1};
	uint64_t h = UINT64_C(14695981039346656037);
	const char *s = "a=b";
	size_t i;

	for (i = 0; i < 4; i++)
		h = (h ^ (unsigned char)s[i]) * UINT64_C(1099511628211);
	ck_assert(lt_stream_id(&ab, 1) == h);
	ck_assert(lt_stream_id(labels, 2) != lt_stream_id(labels, 1));
}
END_TEST

/* The END record on its own, as --status reads it. */

/* A push of acme with n_entries entries in one stream. */
static void
encode_entries(struct lt_spool_encoder *e, int n_entries)
{
	struct lt_entry en = {INT64_C(1704067200000000000), "hello", 5, NULL, 0};
	struct lt_sink sink;
	int i;

	ck_assert_int_eq(lt_spool_encoder_init(e, "acme", 42, 7), 0);
	lt_spool_encoder_sink(e, &sink);
	ck_assert_int_eq(sink.stream(sink.ctx, labels, 2), 0);
	for (i = 0; i < n_entries; i++)
		ck_assert_int_eq(sink.entry(sink.ctx, &en), 0);
	ck_assert_int_eq(lt_spool_encoder_finish(e), 0);
}

START_TEST(test_end_of_a_real_file)
{
	struct lt_spool_encoder e;
	uint64_t s = 0, n = 0;

	encode_entries(&e, 3);
	ck_assert_int_eq(lt_end_parse(e.out.data + e.out.len - LT_END_LEN, &s, &n), 0);
	ck_assert(s == 1);
	ck_assert(n == 3);
	lt_spool_encoder_free(&e);
}
END_TEST

/* Writes an END record's CRC-32C over its first 21 bytes, so that a
 * field changed on purpose is judged by its value, not by the CRC. */
static void
reseal(unsigned char *tail)
{
	uint32_t crc = lt_crc32c(0, tail, 21);

	tail[21] = (unsigned char)crc;
	tail[22] = (unsigned char)(crc >> 8);
	tail[23] = (unsigned char)(crc >> 16);
	tail[24] = (unsigned char)(crc >> 24);
}

START_TEST(test_end_rejected)
{
	struct lt_spool_encoder e;
	unsigned char tail[LT_END_LEN];
	uint64_t s, n;

	encode_entries(&e, 2);
	memcpy(tail, e.out.data + e.out.len - LT_END_LEN, LT_END_LEN);
	ck_assert_int_eq(lt_end_parse(tail, &s, &n), 0);

	/* Another type, with a CRC that matches it: the type counts. */
	tail[0] = 'E';
	reseal(tail);
	ck_assert_int_eq(lt_end_parse(tail, &s, &n), -1);

	/* Another length, CRC matching. */
	memcpy(tail, e.out.data + e.out.len - LT_END_LEN, LT_END_LEN);
	tail[1] = 17;
	reseal(tail);
	ck_assert_int_eq(lt_end_parse(tail, &s, &n), -1);

	/* A count changed: the CRC no longer matches. */
	memcpy(tail, e.out.data + e.out.len - LT_END_LEN, LT_END_LEN);
	tail[13] ^= 1;
	ck_assert_int_eq(lt_end_parse(tail, &s, &n), -1);

	/* The CRC itself damaged. */
	memcpy(tail, e.out.data + e.out.len - LT_END_LEN, LT_END_LEN);
	tail[24] ^= 0x80;
	ck_assert_int_eq(lt_end_parse(tail, &s, &n), -1);

	/* The last 25 bytes of a file cut before its END record. */
	ck_assert_int_eq(lt_end_parse(e.out.data + e.out.len - 2 * LT_END_LEN, &s, &n), -1);
	lt_spool_encoder_free(&e);
}
END_TEST

static char *
temp_spool(void)
{
	static char dir[64];

	tu_tmpdir(dir, sizeof(dir), "logthra-test-spool");
	return dir;
}

static size_t
count_files(const char *root, const char *tenant, const char *sub)
{
	struct lt_buf dir = LT_BUF_INIT;
	struct lt_names names = {0};
	size_t n;

	ck_assert_int_eq(lt_spool_dir(&dir, root, tenant, sub), 0);
	(void)lt_names_list((char *)dir.data, NULL, &names);
	n = names.n;
	lt_names_free(&names);
	lt_buf_free(&dir);
	return n;
}

/* Copies the file at path under its own name into the tenant's sub. */
static int
copy_into(const char *root, const char *tenant, const char *sub, const char *path)
{
	struct lt_buf cmd = LT_BUF_INIT, dir = LT_BUF_INIT;
	int rc;

	ck_assert_int_eq(lt_spool_dir(&dir, root, tenant, sub), 0);
	ck_assert_int_eq(lt_buf_printf(&cmd, "cp '%s' '%s/'", path, (char *)dir.data), 0);
	rc = system((char *)cmd.data);
	lt_buf_free(&cmd);
	lt_buf_free(&dir);
	return rc;
}

START_TEST(test_write_and_load)
{
	struct lt_spool_encoder e;
	struct lt_spool_info info;
	struct lt_buf path = LT_BUF_INIT, data = LT_BUF_INIT;
	char err[256], *root = temp_spool();

	encode_sample(&e);
	ck_assert_int_eq(lt_spool_write(root, "acme", e.out.data, e.out.len, &path,
					err, sizeof(err)), 0);
	ck_assert_uint_eq(count_files(root, "acme", "ready"), 1);
	ck_assert_uint_eq(count_files(root, "acme", "tmp"), 0);
	ck_assert_uint_eq(count_files(root, "acme", "active"), 0);
	ck_assert_ptr_nonnull(strstr((char *)path.data, "/tenants/acme/ready/"));
	ck_assert_int_eq(lt_spool_load((char *)path.data, &data, &info, err, sizeof(err)), 0);
	ck_assert_uint_eq(data.len, e.out.len);
	ck_assert(info.n_entries == 2);
	/* A second write gets its own name. */
	ck_assert_int_eq(lt_spool_write(root, "acme", e.out.data, e.out.len, NULL,
					err, sizeof(err)), 0);
	ck_assert_uint_eq(count_files(root, "acme", "ready"), 2);
	lt_buf_free(&path);
	lt_buf_free(&data);
	lt_spool_encoder_free(&e);
	ck_assert_int_eq(tu_rm_rf(root), 0);
}
END_TEST

START_TEST(test_write_failure_leaves_nothing)
{
	char err[256];
	int rc;

	/* A spool under a regular file cannot be created (even for root). */
	rc = lt_spool_write("/dev/null/spool", "acme", "x", 1, NULL, err, sizeof(err));
	ck_assert_int_ne(rc, 0);
	ck_assert_ptr_nonnull(strstr(err, "/dev/null/spool"));
}
END_TEST

START_TEST(test_load_refuses_links)
{
	struct lt_spool_encoder e;
	struct lt_spool_info info;
	struct lt_buf path = LT_BUF_INIT, data = LT_BUF_INIT, alias = LT_BUF_INIT;
	char err[256], *root = temp_spool();

	encode_sample(&e);
	ck_assert_int_eq(lt_spool_write(root, "acme", e.out.data, e.out.len, &path,
					err, sizeof(err)), 0);
	lt_buf_printf(&alias, "%s/symlink.spool", root);
	ck_assert_int_eq(symlink((char *)path.data, (char *)alias.data), 0);
	ck_assert_int_eq(lt_spool_load((char *)alias.data, &data, &info, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "Too many levels of symbolic links"));
	lt_buf_reset(&alias);
	lt_buf_printf(&alias, "%s/hardlink.spool", root);
	ck_assert_int_eq(link((char *)path.data, (char *)alias.data), 0);
	ck_assert_int_eq(lt_spool_load((char *)alias.data, &data, &info, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "not a regular file with one link");
	ck_assert_uint_eq(data.len, 0); /* not even read */
	lt_buf_free(&path);
	lt_buf_free(&data);
	lt_buf_free(&alias);
	lt_spool_encoder_free(&e);
	ck_assert_int_eq(tu_rm_rf(root), 0);
}
END_TEST

/* A file being claimed has two links, active/ and ready/: taken when the
 * other name is ready/'s of the same inode, refused when it is another
 * file's, when ready/ has no such name, or when there is a third link. */
START_TEST(test_load_claim_twin)
{
	struct lt_spool_encoder e;
	struct lt_spool_info info;
	struct lt_buf ready = LT_BUF_INIT, active = LT_BUF_INIT, other = LT_BUF_INIT;
	struct lt_buf data = LT_BUF_INIT;
	char err[256], *root = temp_spool(), *name;

	encode_sample(&e);
	ck_assert_int_eq(lt_spool_write(root, "acme", e.out.data, e.out.len, &ready,
					err, sizeof(err)), 0);
	ck_assert_int_eq(lt_spool_tenant_dirs(root, "acme", err, sizeof(err)), 0);
	name = strrchr((char *)ready.data, '/') + 1;
	lt_buf_printf(&active, "%s/tenants/acme/active/%s", root, name);
	ck_assert_int_eq(lt_spool_link(root, "acme", "ready", "active", name), 0);
	ck_assert_int_eq(lt_spool_load_claim((char *)active.data, (char *)ready.data,
					     &data, &info, err, sizeof(err)), 0);
	ck_assert_uint_eq(data.len, e.out.len);
	ck_assert(info.n_entries == 2);
	/* Without the twin named, two links are one too many. */
	ck_assert_int_eq(lt_spool_load((char *)active.data, &data, &info, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "not a regular file with one link");
	/* A third link, elsewhere: refused, not even read. */
	lt_buf_printf(&other, "%s/elsewhere.spool", root);
	ck_assert_int_eq(link((char *)active.data, (char *)other.data), 0);
	ck_assert_int_eq(lt_spool_load_claim((char *)active.data, (char *)ready.data,
					     &data, &info, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "not a regular file with one link");
	ck_assert_uint_eq(data.len, 0);
	/* Two links, the other elsewhere: ready/ holds a copy under the
	 * name, another inode. */
	ck_assert_int_eq(unlink((char *)ready.data), 0);
	ck_assert_int_eq(copy_into(root, "acme", "ready", (char *)active.data), 0);
	ck_assert_int_eq(lt_spool_load_claim((char *)active.data, (char *)ready.data,
					     &data, &info, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "not a regular file with one link");
	ck_assert_uint_eq(data.len, 0);
	/* ... or no such name at all. */
	ck_assert_int_eq(unlink((char *)ready.data), 0);
	ck_assert_int_eq(lt_spool_load_claim((char *)active.data, (char *)ready.data,
					     &data, &info, err, sizeof(err)), -1);
	ck_assert_uint_eq(data.len, 0);
	/* One link and a twin named: not a claim in progress either. */
	ck_assert_int_eq(unlink((char *)other.data), 0);
	ck_assert_int_eq(lt_spool_load_claim((char *)active.data, (char *)ready.data,
					     &data, &info, err, sizeof(err)), -1);
	lt_buf_free(&ready);
	lt_buf_free(&active);
	lt_buf_free(&other);
	lt_buf_free(&data);
	lt_spool_encoder_free(&e);
	ck_assert_int_eq(tu_rm_rf(root), 0);
}
END_TEST

/* A file that cannot be read now (here: no descriptor left) is not a
 * corrupt one: an errno value, never -1, so that it is not quarantined. */
START_TEST(test_load_failure_now_is_not_corruption)
{
	struct lt_spool_encoder e;
	struct lt_spool_info info;
	struct lt_buf path = LT_BUF_INIT, data = LT_BUF_INIT;
	struct rlimit lim, was;
	char err[256], *root = temp_spool();
	int fd;

	encode_sample(&e);
	ck_assert_int_eq(lt_spool_write(root, "acme", e.out.data, e.out.len, &path,
					err, sizeof(err)), 0);
	fd = dup(0); /* the lowest free descriptor: the limit goes just below it */
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &was), 0);
	lim = was;
	lim.rlim_cur = (rlim_t)fd;
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &lim), 0);
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(lt_spool_load((char *)path.data, &data, &info, err, sizeof(err)), EMFILE);
	ck_assert_ptr_nonnull(strstr(err, "could not open"));
	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &was), 0);
	lt_buf_free(&path);
	lt_buf_free(&data);
	lt_spool_encoder_free(&e);
	ck_assert_int_eq(tu_rm_rf(root), 0);
}
END_TEST

/* A FIFO or a directory where a spool file should be is refused at
 * once: loading must not wait for a writer that never comes. */
START_TEST(test_load_refuses_fifo_and_dir)
{
	struct lt_spool_info info;
	struct lt_buf path = LT_BUF_INIT, data = LT_BUF_INIT;
	char err[256], *root = temp_spool();

	lt_buf_printf(&path, "%s/fifo.spool", root);
	ck_assert_int_eq(mkfifo((char *)path.data, 0600), 0);
	alarm(10); /* a blocking open would hang the test, not fail it */
	ck_assert_int_eq(lt_spool_load((char *)path.data, &data, &info, err, sizeof(err)), -1);
	alarm(0);
	ck_assert_str_eq(err, "not a regular file with one link");
	lt_buf_reset(&path);
	lt_buf_printf(&path, "%s/dir.spool", root);
	ck_assert_int_eq(mkdir((char *)path.data, 0700), 0);
	ck_assert_int_eq(lt_spool_load((char *)path.data, &data, &info, err, sizeof(err)), -1);
	ck_assert_str_eq(err, "not a regular file with one link");
	lt_buf_free(&path);
	lt_buf_free(&data);
	ck_assert_int_eq(tu_rm_rf(root), 0);
}
END_TEST

START_TEST(test_unclaim_and_sweep)
{
	struct lt_buf from = LT_BUF_INIT, to = LT_BUF_INIT;
	struct lt_names tenants = {0};
	struct timespec old[2] = {{time(NULL) - 7200, 0}, {time(NULL) - 7200, 0}};
	char err[256], *root = temp_spool();
	size_t n;
	int fd;

	ck_assert_int_eq(lt_spool_write(root, "acme", "x", 1, &from, err, sizeof(err)), 0);
	lt_buf_printf(&to, "%s/tenants/acme/active/claimed.spool", root);
	ck_assert_int_eq(rename((char *)from.data, (char *)to.data), 0);
	lt_buf_reset(&from);
	lt_buf_printf(&from, "%s/tenants/acme/tmp/old", root);
	fd = open((char *)from.data, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(futimens(fd, old), 0);
	ck_assert_int_eq(close(fd), 0);
	lt_buf_reset(&from);
	lt_buf_printf(&from, "%s/tenants/acme/tmp/fresh", root);
	fd = open((char *)from.data, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(close(fd), 0);

	ck_assert_int_eq(lt_spool_tenants(root, &tenants), 0);
	ck_assert_uint_eq(tenants.n, 1);
	ck_assert_str_eq(tenants.v[0], "acme");
	ck_assert_int_eq(lt_spool_unclaim(root, "acme", 2000000000, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(count_files(root, "acme", "active"), 0);
	ck_assert_uint_eq(count_files(root, "acme", "deferred"), 1);
	ck_assert_int_eq(lt_spool_sweep_tmp(root, "acme", 3600, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(count_files(root, "acme", "tmp"), 1);
	lt_names_free(&tenants);
	lt_buf_free(&from);
	lt_buf_free(&to);
	ck_assert_int_eq(tu_rm_rf(root), 0);
}
END_TEST

/* A claim that a power cut kept in active/ (or that went on to
 * deferred/) but not out of ready/: the ready/ twin is dropped, the
 * suspect kept; other ready/ files stay. */
START_TEST(test_unclaim_drops_ready_twins)
{
	struct lt_buf a = LT_BUF_INIT, b = LT_BUF_INIT, c = LT_BUF_INIT;
	char err[256], *root = temp_spool();
	size_t n;

	ck_assert_int_eq(lt_spool_write(root, "acme", "a", 1, &a, err, sizeof(err)), 0);
	ck_assert_int_eq(lt_spool_write(root, "acme", "b", 1, &b, err, sizeof(err)), 0);
	ck_assert_int_eq(lt_spool_write(root, "acme", "c", 1, &c, err, sizeof(err)), 0);
	ck_assert_int_eq(lt_spool_tenant_dirs(root, "acme", err, sizeof(err)), 0);
	/* Copies under the same names, as the durable image would have. */
	ck_assert_int_eq(copy_into(root, "acme", "active", (char *)a.data), 0);
	ck_assert_int_eq(copy_into(root, "acme", "deferred", (char *)b.data), 0);
	ck_assert_int_eq(lt_spool_unclaim(root, "acme", 0, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(count_files(root, "acme", "ready"), 1);
	ck_assert_int_eq(access((char *)c.data, F_OK), 0);
	ck_assert_uint_eq(count_files(root, "acme", "active"), 0);
	ck_assert_uint_eq(count_files(root, "acme", "deferred"), 2);
	lt_buf_free(&a);
	lt_buf_free(&b);
	lt_buf_free(&c);
	ck_assert_int_eq(tu_rm_rf(root), 0);
}
END_TEST

/* A claim interrupted before its old name went, as a kill leaves it on
 * any file system and a power cut on one that keeps hard links: one
 * inode under active/ and ready/ (or deferred/).  The active/ name is
 * kept, as a suspect in deferred/, the other dropped: one file, with
 * one link. */
START_TEST(test_unclaim_linked_twins)
{
	struct lt_buf a = LT_BUF_INIT, b = LT_BUF_INIT, path = LT_BUF_INIT;
	char err[256], *root = temp_spool(), *na, *nb;
	struct stat st;
	size_t n;

	ck_assert_int_eq(lt_spool_write(root, "acme", "a", 1, &a, err, sizeof(err)), 0);
	ck_assert_int_eq(lt_spool_write_state(root, "acme", "deferred", "b", 1, &b,
					      err, sizeof(err)), 0);
	ck_assert_int_eq(lt_spool_tenant_dirs(root, "acme", err, sizeof(err)), 0);
	na = strrchr((char *)a.data, '/') + 1;
	nb = strrchr((char *)b.data, '/') + 1;
	ck_assert_int_eq(lt_spool_link(root, "acme", "ready", "active", na), 0);
	ck_assert_int_eq(lt_spool_link(root, "acme", "deferred", "active", nb), 0);
	ck_assert_int_eq(lt_spool_unclaim(root, "acme", 0, &n, err, sizeof(err)), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(count_files(root, "acme", "ready"), 0);
	ck_assert_uint_eq(count_files(root, "acme", "active"), 0);
	ck_assert_uint_eq(count_files(root, "acme", "deferred"), 2);
	lt_buf_printf(&path, "%s/tenants/acme/deferred/%s", root, na);
	ck_assert_int_eq(lstat((char *)path.data, &st), 0);
	ck_assert_uint_eq(st.st_nlink, 1);
	ck_assert_int_eq(lstat((char *)b.data, &st), 0);
	ck_assert_uint_eq(st.st_nlink, 1);
	lt_buf_free(&a);
	lt_buf_free(&b);
	lt_buf_free(&path);
	ck_assert_int_eq(tu_rm_rf(root), 0);
}
END_TEST

START_TEST(test_defer_and_quarantine)
{
	struct lt_buf path = LT_BUF_INIT, reason = LT_BUF_INIT;
	struct stat st;
	char err[256], *root = temp_spool(), *name;
	FILE *f;
	char line[256];

	ck_assert_int_eq(lt_spool_write(root, "acme", "x", 1, &path, err, sizeof(err)), 0);
	name = strdup(strrchr((char *)path.data, '/') + 1);
	ck_assert_ptr_nonnull(name);
	ck_assert_int_eq(lt_spool_move(root, "acme", "ready", "deferred", name, 2000000000), 0);
	lt_buf_reset(&path);
	lt_buf_printf(&path, "%s/tenants/acme/deferred/%s", root, name);
	ck_assert_int_eq(stat((char *)path.data, &st), 0);
	ck_assert_int_eq(st.st_mtime, 2000000000); /* the next-retry time */
	ck_assert_int_eq(lt_spool_move(root, "acme", "ready", "deferred", name, -1), ENOENT);

	ck_assert_int_eq(lt_spool_quarantine(root, "acme", "deferred", name,
					     "bad CRC in record at byte 12", err, sizeof(err)), 0);
	ck_assert_uint_eq(count_files(root, "acme", "deferred"), 0);
	lt_buf_printf(&reason, "%s/quarantine/acme/%s.reason", root, name);
	f = fopen((char *)reason.data, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	ck_assert_str_eq(line, "bad CRC in record at byte 12\n");
	ck_assert_int_eq(fclose(f), 0);
	lt_buf_reset(&reason);
	lt_buf_printf(&reason, "%s/quarantine/acme/%s", root, name);
	ck_assert_int_eq(stat((char *)reason.data, &st), 0);
	free(name);
	lt_buf_free(&path);
	lt_buf_free(&reason);
	ck_assert_int_eq(tu_rm_rf(root), 0);
}
END_TEST

/* A directory of the spool replaced by a symbolic link to one outside
 * it: nothing is listed, moved or written through the link. */
START_TEST(test_symlinked_dirs_refused)
{
	struct lt_buf path = LT_BUF_INIT, out = LT_BUF_INIT, file = LT_BUF_INIT;
	char err[512], *root = temp_spool(), outside[64];
	size_t n = 99;
	int fd;

	tu_tmpdir(outside, sizeof(outside), "logthra-test-outside");
	lt_buf_printf(&file, "%s/claimed.spool", outside);
	fd = open((char *)file.data, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(lt_spool_write(root, "acme", "x", 1, &path, err, sizeof(err)), 0);
	ck_assert_int_eq(lt_spool_tenant_dirs(root, "acme", err, sizeof(err)), 0);

	/* active/ -> outside: its file is not taken back into deferred/. */
	lt_buf_reset(&path);
	lt_buf_printf(&path, "%s/tenants/acme/active", root);
	ck_assert_int_eq(rmdir((char *)path.data), 0);
	ck_assert_int_eq(symlink(outside, (char *)path.data), 0);
	ck_assert_int_eq(lt_spool_tenant_dirs(root, "acme", err, sizeof(err)), ENOTDIR);
	ck_assert_ptr_nonnull(strstr(err, "/tenants/acme/active\" is a symbolic link"));
	ck_assert_int_eq(lt_spool_unclaim(root, "acme", 0, &n, err, sizeof(err)), ENOTDIR);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(access((char *)file.data, F_OK), 0);
	ck_assert_int_eq(unlink((char *)path.data), 0);
	ck_assert_int_eq(mkdir((char *)path.data, 0700), 0);

	/* deferred/ -> outside: nothing is moved there. */
	lt_buf_reset(&out);
	lt_buf_printf(&out, "%s/tenants/acme/active/mine.spool", root);
	fd = open((char *)out.data, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(close(fd), 0);
	lt_buf_reset(&path);
	lt_buf_printf(&path, "%s/tenants/acme/deferred", root);
	ck_assert_int_eq(rmdir((char *)path.data), 0);
	ck_assert_int_eq(symlink(outside, (char *)path.data), 0);
	ck_assert_int_eq(lt_spool_unclaim(root, "acme", 0, &n, err, sizeof(err)), ENOTDIR);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(access((char *)out.data, F_OK), 0);

	/* quarantine/ -> outside: neither the note nor the file goes there. */
	lt_buf_reset(&path);
	lt_buf_printf(&path, "%s/quarantine", root);
	ck_assert_int_eq(symlink(outside, (char *)path.data), 0);
	ck_assert_int_eq(lt_spool_quarantine(root, "acme", "active", "mine.spool",
					     "bad", err, sizeof(err)), ENOTDIR);
	ck_assert_int_eq(access((char *)out.data, F_OK), 0);
	lt_buf_reset(&path);
	lt_buf_printf(&path, "%s/acme", outside);
	ck_assert_int_eq(access((char *)path.data, F_OK), -1);

	lt_buf_free(&path);
	lt_buf_free(&out);
	lt_buf_free(&file);
	ck_assert_int_eq(tu_rm_rf(root), 0);
	ck_assert_int_eq(tu_rm_rf(outside), 0);
}
END_TEST

START_TEST(test_space_reserve)
{
	char err[256], *root = temp_spool();

	ck_assert_int_eq(lt_spool_space_ok(root, 0, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(lt_spool_space_ok(root, SIZE_MAX, 0, err, sizeof(err)), ENOSPC);
	/* A spool the first push will create is judged by the file system
	 * it will be made on, not let through. */
	{
		char missing[4096];

		(void)snprintf(missing, sizeof(missing), "%s/not/yet", root);
		ck_assert_int_eq(lt_spool_space_ok(missing, 0, 0, err, sizeof(err)), 0);
		ck_assert_int_eq(lt_spool_space_ok(missing, SIZE_MAX, 0, err, sizeof(err)), ENOSPC);
	}
	ck_assert_ptr_nonnull(strstr(err, "under the reserve"));
	ck_assert_ptr_nonnull(strstr(err, "min_free_space"));
	ck_assert_int_eq(tu_rm_rf(root), 0);
}
END_TEST

START_TEST(test_lock_excludes)
{
	char *root = temp_spool();
	int fd1, fd2;

	ck_assert_int_eq(lt_spool_lock(root, &fd1), 0);
	ck_assert_int_eq(lt_spool_lock(root, &fd2), 1); /* a second open file description */
	ck_assert_int_eq(close(fd1), 0);
	ck_assert_int_eq(lt_spool_lock(root, &fd2), 0);
	ck_assert_int_eq(close(fd2), 0);
	ck_assert_int_eq(lt_spool_lock("/nonexistent/spool", &fd1), -1);
	ck_assert_int_eq(tu_rm_rf(root), 0);
}
END_TEST

/* The mode of root/rel, less the file type. */
static mode_t
mode_of(const char *root, const char *rel)
{
	struct lt_buf path = LT_BUF_INIT;
	struct stat st;

	ck_assert_int_eq(lt_buf_printf(&path, "%s/%s", root, rel), 0);
	ck_assert_msg(stat((char *)path.data, &st) == 0, "stat %s: %s",
		      (char *)path.data, strerror(errno));
	lt_buf_free(&path);
	return st.st_mode & 07777;
}

/* Whatever umask the program was started with, lt_spool_umask() leaves
 * 0007 and says what it replaced. */
START_TEST(test_umask_replaces_any)
{
	static const mode_t old[] = {0000, 0002, 0007, 0022, 0027, 0077, 0277, 0777};
	size_t i;

	for (i = 0; i < sizeof(old) / sizeof(old[0]); i++) {
		(void)umask(old[i]);
		ck_assert_uint_eq(lt_spool_umask(), old[i]);
		ck_assert_uint_eq(umask(0), LT_SPOOL_UMASK);
	}
	ck_assert_uint_eq(LT_SPOOL_UMASK, 0007);
}
END_TEST

/* Under umask 0022, what web servers, fcgiwrap and inetd give the
 * receiver, the spool still comes out its group's: directories 0770,
 * files 0660, from the root down to a quarantined file's reason, so
 * that the flusher's user may rename and remove what the receiver's
 * created. */
START_TEST(test_umask_keeps_group_bits)
{
	static const char *const dirs[] = {
		"", "tenants", "tenants/acme", "tenants/acme/tmp",
		"tenants/acme/ready", "tenants/acme/active", "tenants/acme/deferred",
		"quarantine", "quarantine/acme",
	};
	struct lt_buf root = LT_BUF_INIT, path = LT_BUF_INIT, rel = LT_BUF_INIT;
	char err[256], *top = temp_spool(), *name;
	size_t i;
	int fd;

	(void)umask(0022);
	ck_assert_uint_eq(lt_spool_umask(), 0022);
	/* A spool that does not exist yet: the programs create it all. */
	ck_assert_int_eq(lt_buf_printf(&root, "%s/spool", top), 0);
	ck_assert_int_eq(lt_spool_write((char *)root.data, "acme", "x", 1, &path,
					err, sizeof(err)), 0);
	name = strrchr((char *)path.data, '/') + 1;
	ck_assert_int_eq(lt_buf_printf(&rel, "tenants/acme/ready/%s", name), 0);
	ck_assert_uint_eq(mode_of((char *)root.data, (char *)rel.data), 0660);
	ck_assert_int_eq(lt_spool_lock((char *)root.data, &fd), 0);
	ck_assert_int_eq(close(fd), 0);
	ck_assert_uint_eq(mode_of((char *)root.data, "flush.lock"), 0660);
	ck_assert_int_eq(lt_spool_quarantine((char *)root.data, "acme", "ready",
					     name, "a test", err, sizeof(err)), 0);
	lt_buf_reset(&rel);
	ck_assert_int_eq(lt_buf_printf(&rel, "quarantine/acme/%s", name), 0);
	ck_assert_uint_eq(mode_of((char *)root.data, (char *)rel.data), 0660);
	ck_assert_int_eq(lt_buf_printf(&rel, ".reason"), 0);
	ck_assert_uint_eq(mode_of((char *)root.data, (char *)rel.data), 0660);
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		ck_assert_msg(mode_of((char *)root.data, dirs[i]) == 0770,
			      "%s/%s: mode %o, not 0770", (char *)root.data,
			      dirs[i], (unsigned)mode_of((char *)root.data, dirs[i]));
	lt_buf_free(&root);
	lt_buf_free(&path);
	lt_buf_free(&rel);
	ck_assert_int_eq(tu_rm_rf(top), 0);
}
END_TEST

static Suite *
spool_suite(void)
{
	Suite *s = suite_create("spool");
	TCase *format = tcase_create("format");
	TCase *dir = tcase_create("directory");

	tcase_add_test(format, test_roundtrip);
	tcase_add_test(format, test_every_flip_detected);
	tcase_add_test(format, test_every_truncation_detected);
	tcase_add_test(format, test_messages);
	tcase_add_test(format, test_missing_end);
	tcase_add_test(format, test_rowbinary);
	tcase_add_test(format, test_rowbinary_datetime64);
	tcase_add_test(format, test_rowbinary_days);
	tcase_add_test(format, test_stream_days);
	tcase_add_test(format, test_stream_days_keep_if);
	tcase_add_test(format, test_stream_days_many);
	tcase_add_test(format, test_filter);
	tcase_add_test(format, test_stream_id);
	tcase_add_test(format, test_end_of_a_real_file);
	tcase_add_test(format, test_end_rejected);
	tcase_add_test(dir, test_write_and_load);
	tcase_add_test(dir, test_write_failure_leaves_nothing);
	tcase_add_test(dir, test_load_refuses_links);
	tcase_add_test(dir, test_load_claim_twin);
	tcase_add_test(dir, test_load_refuses_fifo_and_dir);
	tcase_add_test(dir, test_load_failure_now_is_not_corruption);
	tcase_add_test(dir, test_unclaim_and_sweep);
	tcase_add_test(dir, test_unclaim_drops_ready_twins);
	tcase_add_test(dir, test_unclaim_linked_twins);
	tcase_add_test(dir, test_defer_and_quarantine);
	tcase_add_test(dir, test_symlinked_dirs_refused);
	tcase_add_test(dir, test_space_reserve);
	tcase_add_test(dir, test_lock_excludes);
	tcase_add_test(dir, test_umask_replaces_any);
	tcase_add_test(dir, test_umask_keeps_group_bits);
	suite_add_tcase(s, format);
	suite_add_tcase(s, dir);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(spool_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
