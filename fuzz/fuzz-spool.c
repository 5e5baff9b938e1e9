/* libFuzzer target: the spool file reader.  Every input goes through
 * lt_spool_check(), and so does a copy with every record's CRC made
 * right (a mutation almost never keeps a CRC right, and the checks
 * behind it would be out of the fuzzer's reach); a refusal must come
 * with a one-line reason.  A file accepted then goes where
 * logthra-flush and logthra-replay take checked files:
 *
 *   - lt_spool_rowbinary(), without and then with rows to skip (chosen
 *     from the input's last byte), whose output is read back as
 *     RowBinary row by row: each row's columns must end where the next
 *     begins, carry the file's tenant and push id, a DateTime that is the
 *     entry's time in seconds and a time of the day the row was filed
 *     under; the rows number the file's entries, less those skipped;
 *   - lt_spool_filter() on two halves of the file's time range, whose
 *     output must pass lt_spool_check() again with the same header and
 *     exactly the entries in range. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crc32c.h"
#include "spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NS_PER_S INT64_C(1000000000)
#define MAX_SKIP 8

/* The entries' times, in file order, as the first pass saw them. */
struct times {
	int64_t *v;
	size_t n;
};

static void
check_reason(const char *err)
{
	if (err[0] == '\0' || strchr(err, '\n') != NULL)
		abort();
}

static void
need(const unsigned char *p, const unsigned char *end, size_t n)
{
	if ((size_t)(end - p) < n)
		abort();
}

static const unsigned char *
skip_string(const unsigned char *p, const unsigned char *end)
{
	uint64_t len;

	if (lt_varint_decode(&p, end, &len) < 0 || len > (uint64_t)(end - p))
		abort();
	return p + len;
}

static const unsigned char *
skip_strings(const unsigned char *p, const unsigned char *end)
{
	uint64_t n;

	if (lt_varint_decode(&p, end, &n) < 0 || n > (uint64_t)(end - p))
		abort();
	while (n--)
		p = skip_string(p, end);
	return p;
}

/* Reads one day's rows: (tenant_id String, stream_id UInt64, label
 * Array(String), timestamp DateTime, timestamp_ns Int64, msg String,
 * metadata Array(String), push_id UInt64). */
static void
check_rows(const struct lt_day_rows *d, const struct lt_spool_info *info,
	   struct times *t)
{
	const unsigned char *p = d->rows.data, *end = p + d->rows.len, *s;
	size_t tlen = strlen(info->tenant), k;
	uint64_t len;
	int64_t ts;

	for (k = 0; k < d->n_rows; k++) {
		s = p;
		if (lt_varint_decode(&s, end, &len) < 0 || len != tlen ||
		    (size_t)(end - s) < tlen || memcmp(s, info->tenant, tlen) != 0)
			abort();
		p = s + tlen;
		need(p, end, 8);
		p = skip_strings(p + 8, end);
		need(p, end, 12);
		ts = (int64_t)lt_load_u64le(p + 4);
		if (lt_load_u32le(p) != (uint32_t)(ts / NS_PER_S) ||
		    lt_day_of(ts) != d->day)
			abort();
		if (t != NULL)
			t->v[t->n++] = ts;
		p = skip_strings(skip_string(p + 12, end), end);
		need(p, end, 8);
		if (lt_load_u64le(p) != info->push_id)
			abort();
		p += 8;
	}
	if (p != end)
		abort();
}

/* Converts the file, checks every row and returns how many there are. */
static size_t
rowbinary(const uint8_t *data, size_t size, const struct lt_spool_info *info,
	  const struct lt_day_skip *skip, size_t n_skip,
	  struct lt_rows_by_day *rows, struct times *t)
{
	long long added;
	size_t i, total = 0;

	lt_rows_by_day_reset(rows);
	added = lt_spool_rowbinary(data, size, LT_ROWS_DATETIME_AND_NS, skip, n_skip, rows);
	if (added < 0)
		abort();
	for (i = 0; i < rows->n; i++) {
		if (rows->v[i].n_rows == 0)
			abort();
		total += rows->v[i].n_rows;
		check_rows(&rows->v[i], info, t);
	}
	if (total != (size_t)added)
		abort();
	return total;
}

static void
filter(const uint8_t *data, size_t size, const struct lt_spool_info *info,
       const struct times *t, int64_t since, int64_t until)
{
	struct lt_buf out = LT_BUF_INIT;
	struct lt_spool_info again;
	uint64_t kept, want = 0;
	char err[256];
	size_t i;

	for (i = 0; i < t->n; i++)
		if (!(since && t->v[i] < since) && !(until && t->v[i] >= until))
			want++;
	if (lt_spool_filter(data, size, since, until, &out, &kept) < 0)
		abort();
	if (kept != want)
		abort();
	if (lt_spool_check(out.data, out.len, &again, err, sizeof(err)) < 0)
		abort();
	if (again.n_entries != kept || again.n_streams > info->n_streams ||
	    (kept == 0) != (again.n_streams == 0) ||
	    strcmp(again.tenant, info->tenant) != 0 ||
	    again.push_id != info->push_id ||
	    again.received_ns != info->received_ns)
		abort();
	lt_buf_free(&out);
}

static void
check_accepted(const uint8_t *data, size_t size,
	       const struct lt_spool_info *info)
{
	struct lt_rows_by_day rows = {NULL, 0, 0};
	struct lt_day_skip skip[MAX_SKIP + 1];
	struct times t;
	size_t i, n_skip = 0, want = 0, leave;
	unsigned seed = data[size - 1];
	int64_t mid;

	if (info->n_entries > size || info->tenant[0] == '\0' ||
	    (info->n_entries > 0 && info->min_ts_ns > info->max_ts_ns) ||
	    (info->n_entries == 0 && (info->min_ts_ns || info->max_ts_ns)))
		abort();
	t.n = 0;
	t.v = malloc((info->n_entries + 1) * sizeof(*t.v));
	if (t.v == NULL)
		abort();
	if (rowbinary(data, size, info, NULL, 0, &rows, &t) != info->n_entries ||
	    t.n != info->n_entries)
		abort();

	/* Skip the first row, or more rows than there are, of some days. */
	for (i = 0; i < rows.n && n_skip < MAX_SKIP; i++, seed /= 3) {
		if (seed % 3 == 0)
			continue;
		skip[n_skip].day = rows.v[i].day;
		skip[n_skip].rows = seed % 3 == 1 ? 1 : rows.v[i].n_rows + 1;
		leave = skip[n_skip].rows < rows.v[i].n_rows
				? rows.v[i].n_rows - (size_t)skip[n_skip].rows
				: 0;
		want += rows.v[i].n_rows - leave;
		n_skip++;
	}
	/* A day no time reaches (lt_day_of() stays within +-106752). */
	skip[n_skip].day = INT32_MIN;
	skip[n_skip].rows = 5;
	n_skip++;
	if (rowbinary(data, size, info, skip, n_skip, &rows, NULL) !=
	    info->n_entries - want)
		abort();

	mid = info->min_ts_ns + (int64_t)(((uint64_t)info->max_ts_ns -
					   (uint64_t)info->min_ts_ns) / 2);
	filter(data, size, info, &t, 0, mid);
	filter(data, size, info, &t, mid, 0);
	filter(data, size, info, &t, 0, 0);
	free(t.v);
	lt_rows_by_day_free(&rows);
}

static void
check_file(const uint8_t *data, size_t size)
{
	struct lt_spool_info info;
	char err[256];

	err[0] = '\0';
	if (lt_spool_check(data, size, &info, err, sizeof(err)) < 0) {
		check_reason(err);
		return;
	}
	check_accepted(data, size, &info);
}

/* Rewrites the CRC of each record whose length fits in the file, up to
 * the first that does not.  Returns whether anything changed. */
static int
fix_crcs(uint8_t *data, size_t size)
{
	size_t off = LT_SPOOL_MAGIC_LEN + 4, len;
	uint32_t crc;
	int changed = 0;

	while (off <= size && size - off >= 9) {
		len = lt_load_u32le(data + off + 1);
		if (len > size - off - 9)
			break;
		crc = lt_crc32c(0, data + off, len + 5);
		if (lt_load_u32le(data + off + 5 + len) != crc) {
			data[off + 5 + len] = (uint8_t)crc;
			data[off + 6 + len] = (uint8_t)(crc >> 8);
			data[off + 7 + len] = (uint8_t)(crc >> 16);
			data[off + 8 + len] = (uint8_t)(crc >> 24);
			changed = 1;
		}
		off += len + 9;
	}
	return changed;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	check_file(data, size);
	if (size == 0)
		return 0;
	/* Exactly size bytes, so that a read past the end is caught. */
	if ((copy = malloc(size)) == NULL)
		abort();
	memcpy(copy, data, size);
	if (fix_crcs(copy, size))
		check_file(copy, size);
	free(copy);
	return 0;
}
