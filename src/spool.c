/* The spool file format of logthra-spool(5): written (the encoder, the
 * END record), checked and loaded, turned into ClickHouse's RowBinary,
 * filtered by time, and its streams index (spool.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crc32c.h"
#include "file.h"
#include "spool.h"

/* Record framing: type u8, length u32, payload, CRC-32C u32. */
#define REC_OVERHEAD 9

/* --- writing --- */

/* Appends a record whose payload is already at the end of e->out, from
 * offset start (where 5 bytes were reserved for type and length). */
static int
close_record(struct lt_buf *out, size_t start, enum lt_record_type type)
{
	size_t len = out->len - start - 5;
	unsigned char *p = out->data + start;

	if (len > UINT32_MAX)
		return -1;
	p[0] = (unsigned char)type;
	p[1] = (unsigned char)len;
	p[2] = (unsigned char)(len >> 8);
	p[3] = (unsigned char)(len >> 16);
	p[4] = (unsigned char)(len >> 24);
	return lt_buf_append_u32le(out, lt_crc32c(0, p, len + 5));
}

static int
open_record(struct lt_buf *out, size_t *start)
{
	static const unsigned char placeholder[5];

	*start = out->len;
	return lt_buf_append(out, placeholder, sizeof(placeholder));
}

static int
append_pairs(struct lt_buf *out, const struct lt_label *l, size_t n)
{
	size_t i;

	if (lt_buf_append_varint(out, n) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (lt_buf_append_varint(out, l[i].name_len + 1 + l[i].value_len) < 0 ||
		    lt_buf_append(out, l[i].name, l[i].name_len) < 0 ||
		    lt_buf_append_byte(out, '=') < 0 ||
		    lt_buf_append(out, l[i].value, l[i].value_len) < 0)
			return -1;
	}
	return 0;
}

uint64_t
lt_stream_id(const struct lt_label *labels, size_t n)
{
	uint64_t h = UINT64_C(14695981039346656037);
	size_t i, j;

#define FNV(c) (h = (h ^ (unsigned char)(c)) * UINT64_C(1099511628211))
	for (i = 0; i < n; i++) {
		for (j = 0; j < labels[i].name_len; j++)
			FNV(labels[i].name[j]);
		FNV('=');
		for (j = 0; j < labels[i].value_len; j++)
			FNV(labels[i].value[j]);
		FNV('\0');
	}
#undef FNV
	return h;
}

static int
encode_stream(void *ctx, const struct lt_label *labels, size_t n)
{
	struct lt_spool_encoder *e = ctx;
	size_t start;

	if (open_record(&e->out, &start) < 0 ||
	    lt_buf_append_u64le(&e->out, lt_stream_id(labels, n)) < 0 ||
	    append_pairs(&e->out, labels, n) < 0 ||
	    close_record(&e->out, start, LT_REC_STREAM) < 0) {
		e->failed = 1;
		return -1;
	}
	e->n_streams++;
	return 0;
}

static int
encode_entry(void *ctx, const struct lt_entry *en)
{
	struct lt_spool_encoder *e = ctx;
	size_t start;

	if (open_record(&e->out, &start) < 0 ||
	    lt_buf_append_u64le(&e->out, (uint64_t)en->ts_ns) < 0 ||
	    lt_buf_append_string(&e->out, en->line, en->line_len) < 0 ||
	    append_pairs(&e->out, en->metadata, en->n_metadata) < 0 ||
	    close_record(&e->out, start, LT_REC_ENTRY) < 0) {
		e->failed = 1;
		return -1;
	}
	e->n_entries++;
	return 0;
}

int
lt_spool_encoder_init(struct lt_spool_encoder *e, const char *tenant,
		      int64_t received_ns, uint64_t push_id)
{
	size_t start;

	memset(e, 0, sizeof(*e));
	if (lt_buf_append(&e->out, LT_SPOOL_MAGIC, LT_SPOOL_MAGIC_LEN) < 0 ||
	    lt_buf_append_u32le(&e->out, LT_SPOOL_VERSION) < 0 ||
	    open_record(&e->out, &start) < 0 ||
	    lt_buf_append_string(&e->out, tenant, strlen(tenant)) < 0 ||
	    lt_buf_append_u64le(&e->out, (uint64_t)received_ns) < 0 ||
	    lt_buf_append_u64le(&e->out, push_id) < 0 ||
	    close_record(&e->out, start, LT_REC_HEADER) < 0) {
		lt_buf_free(&e->out);
		return -1;
	}
	e->body_start = e->out.len;
	return 0;
}

void
lt_spool_encoder_sink(struct lt_spool_encoder *e, struct lt_sink *sink)
{
	sink->stream = encode_stream;
	sink->entry = encode_entry;
	sink->ctx = e;
}

int
lt_spool_encoder_finish(struct lt_spool_encoder *e)
{
	size_t start;

	if (e->failed || open_record(&e->out, &start) < 0 ||
	    lt_buf_append_u64le(&e->out, e->n_streams) < 0 ||
	    lt_buf_append_u64le(&e->out, e->n_entries) < 0 ||
	    close_record(&e->out, start, LT_REC_END) < 0)
		return -1;
	return 0;
}

void
lt_spool_encoder_free(struct lt_spool_encoder *e)
{
	lt_buf_free(&e->out);
}

/* The END record on its own, as lt_spool_encoder_finish() writes it:
 * --status counts a file's entries from its last LT_END_LEN bytes. */
int
lt_end_parse(const unsigned char tail[LT_END_LEN], uint64_t *n_streams,
	     uint64_t *n_entries)
{
	if (tail[0] != LT_REC_END || lt_load_u32le(tail + 1) != 16 ||
	    lt_crc32c(0, tail, 21) != lt_load_u32le(tail + 21))
		return -1;
	*n_streams = lt_load_u64le(tail + 5);
	*n_entries = lt_load_u64le(tail + 13);
	return 0;
}

/* --- reading --- */

struct record {
	unsigned char type;
	const unsigned char *payload;
	size_t len;
};

/* Reads the record at *off; advances *off past it. */
static int
next_record(const unsigned char *data, size_t size, size_t *off,
	    struct record *r, char *err, size_t errlen)
{
	size_t at = *off, len;

	if (size - at < REC_OVERHEAD) {
		(void)snprintf(err, errlen, "truncated record at byte %zu", at);
		return -1;
	}
	len = lt_load_u32le(data + at + 1);
	if (len > size - at - REC_OVERHEAD) {
		(void)snprintf(err, errlen,
			       "record at byte %zu runs past the end of the file",
			       at);
		return -1;
	}
	if (lt_crc32c(0, data + at, len + 5) != lt_load_u32le(data + at + 5 + len)) {
		(void)snprintf(err, errlen, "bad CRC in record at byte %zu", at);
		return -1;
	}
	r->type = data[at];
	r->payload = data + at + 5;
	r->len = len;
	*off = at + len + REC_OVERHEAD;
	return 0;
}

/* Steps *p over a varint-counted list of strings, none running past end. */
static int
check_strings(const unsigned char **p, const unsigned char *end)
{
	uint64_t n, len;

	if (lt_varint_decode(p, end, &n) < 0)
		return -1;
	while (n--) {
		if (lt_varint_decode(p, end, &len) < 0 ||
		    len > (uint64_t)(end - *p))
			return -1;
		*p += len;
	}
	return 0;
}

static int
check_stream(const struct record *r)
{
	const unsigned char *p = r->payload + 8, *end = r->payload + r->len;

	return r->len >= 8 && check_strings(&p, end) == 0 && p == end ? 0 : -1;
}

static int
check_entry(const struct record *r)
{
	const unsigned char *p = r->payload + 8, *end = r->payload + r->len;
	uint64_t len;

	if (r->len < 8 || lt_varint_decode(&p, end, &len) < 0 ||
	    len > (uint64_t)(end - p))
		return -1;
	p += len;
	return check_strings(&p, end) == 0 && p == end ? 0 : -1;
}

static int
check_header(const struct record *r, struct lt_spool_info *info)
{
	const unsigned char *p = r->payload, *end = r->payload + r->len;
	uint64_t len;

	if (lt_varint_decode(&p, end, &len) < 0 || len == 0 ||
	    len >= sizeof(info->tenant) || (uint64_t)(end - p) != len + 16)
		return -1;
	memcpy(info->tenant, p, len);
	info->tenant[len] = '\0';
	info->received_ns = (int64_t)lt_load_u64le(p + len);
	info->push_id = lt_load_u64le(p + len + 8);
	return memchr(info->tenant, '\0', len) ? -1 : 0;
}

static int
check_end(const struct record *r, const struct lt_spool_info *info)
{
	return r->len == 16 && lt_load_u64le(r->payload) == info->n_streams &&
			       lt_load_u64le(r->payload + 8) == info->n_entries
		       ? 0
		       : -1;
}

static void
note_time(struct lt_spool_info *info, int64_t ts)
{
	if (info->n_entries == 0 || ts < info->min_ts_ns)
		info->min_ts_ns = ts;
	if (info->n_entries == 0 || ts > info->max_ts_ns)
		info->max_ts_ns = ts;
	info->n_entries++;
}

static int
check_body(const unsigned char *data, size_t len, struct lt_spool_info *info,
	   char *err, size_t errlen)
{
	size_t off = LT_SPOOL_MAGIC_LEN + 4, at;
	struct record r;

	for (;;) {
		at = off;
		if (off == len) {
			(void)snprintf(err, errlen,
				       "no END trailer (the file was not completely written)");
			return -1;
		}
		if (next_record(data, len, &off, &r, err, errlen) < 0)
			return -1;
		if ((at == LT_SPOOL_MAGIC_LEN + 4) != (r.type == LT_REC_HEADER))
			goto bad;
		switch (r.type) {
		case LT_REC_HEADER:
			if (check_header(&r, info) < 0)
				goto bad;
			break;
		case LT_REC_STREAM:
			if (check_stream(&r) < 0)
				goto bad;
			info->n_streams++;
			break;
		case LT_REC_ENTRY:
			if (info->n_streams == 0 || check_entry(&r) < 0)
				goto bad;
			note_time(info, (int64_t)lt_load_u64le(r.payload));
			break;
		case LT_REC_END:
			if (check_end(&r, info) < 0)
				goto bad;
			if (off != len) {
				(void)snprintf(err, errlen,
					       "%zu bytes after the END trailer",
					       len - off);
				return -1;
			}
			return 0;
		default:
			goto bad;
		}
	}
bad:
	(void)snprintf(err, errlen, "invalid record of type 0x%02x at byte %zu",
		       r.type, at);
	return -1;
}

int
lt_spool_check(const unsigned char *data, size_t len,
	       struct lt_spool_info *info, char *err, size_t errlen)
{
	uint32_t version;

	memset(info, 0, sizeof(*info));
	if (len < LT_SPOOL_MAGIC_LEN + 4 ||
	    memcmp(data, LT_SPOOL_MAGIC, LT_SPOOL_MAGIC_LEN) != 0) {
		(void)snprintf(err, errlen, "not a Logthra spool file (bad magic)");
		return -1;
	}
	version = lt_load_u32le(data + LT_SPOOL_MAGIC_LEN);
	if (version != LT_SPOOL_VERSION) {
		(void)snprintf(err, errlen,
			       "unsupported spool format version %u (this is version %d)",
			       version, LT_SPOOL_VERSION);
		return -1;
	}
	return check_body(data, len, info, err, errlen);
}

/* Whether twin is another name of the file st describes, a regular
 * file itself: lstat(), so that a symbolic link named twin is not. */
static int
twin_of(const char *twin, const struct stat *st, int *rc)
{
	struct stat other;

	*rc = 0;
	if (lstat(twin, &other) < 0) {
		*rc = errno == ENOENT ? 0 : errno; /* gone: not its twin */
		return 0;
	}
	return S_ISREG(other.st_mode) && other.st_dev == st->st_dev &&
	       other.st_ino == st->st_ino;
}

int
lt_spool_load(const char *path, struct lt_buf *data,
	      struct lt_spool_info *info, char *err, size_t errlen)
{
	return lt_spool_load_claim(path, NULL, data, info, err, errlen);
}

int
lt_spool_load_claim(const char *path, const char *twin, struct lt_buf *data,
		    struct lt_spool_info *info, char *err, size_t errlen)
{
	enum lt_file_call call;
	struct stat st;
	int rc;

	lt_buf_reset(data);
	/* No symbolic link followed and LT_FILE_ONE_LINK: never read
	 * through a symlink or a hard link planted in a spool directory
	 * (Postfix's safe_open).  The reader refuses a hard link, a FIFO or
	 * a directory before reading: their bytes are none of our business,
	 * and opening a FIFO does not wait for a writer.  A file being
	 * claimed has two names, path and its twin in ready/ (link(2) then
	 * unlink(2), logthra-flush(1)): exactly two links are taken then,
	 * when the other is twin, the same inode, and nothing read is kept
	 * otherwise. */
	rc = lt_file_read(path, twin ? LT_FILE_TWO_LINKS : LT_FILE_ONE_LINK, 0,
			  LT_FILE_NO_MAX, data, &st, &call);
	if (rc == 0 && twin != NULL && !twin_of(twin, &st, &rc)) {
		lt_buf_reset(data);
		if (rc == 0) { /* a name elsewhere, not the claim's */
			rc = EMLINK;
			call = LT_FILE_NONE;
		} else {
			call = LT_FILE_FSTAT;
		}
	}
	if (rc == 0)
		return lt_spool_check(data->data, data->len, info, err, errlen);
	if (call == LT_FILE_OPEN) {
		(void)snprintf(err, errlen, "could not open \"%s\": %s", path,
			       strerror(rc));
		/* A symbolic link under a spool file's name is what the file
		 * is, not a passing trouble of reading it. */
		if (rc == ELOOP)
			rc = -1;
	} else if (call == LT_FILE_NONE && (rc == EINVAL || rc == EMLINK)) {
		/* With a twin too: one link of its own. */
		(void)snprintf(err, errlen, "not a regular file with one link");
		rc = -1;
	} else {
		(void)snprintf(err, errlen, "could not read \"%s\": %s", path,
			       strerror(rc));
	}
	return rc;
}

/* --- RowBinary --- */

static uint32_t
seconds_of(int64_t ns)
{
	return (uint32_t)(ns / 1000000000);
}

/* Whether to leave out this row of day: the first left[i] rows of each
 * day in skip are, counting down as they go by. */
static int
day_skipped(int32_t day, const struct lt_day_skip *skip, uint64_t *left,
	    size_t n_skip)
{
	size_t i;

	for (i = 0; i < n_skip; i++) {
		if (skip[i].day != day)
			continue;
		if (left[i] == 0)
			return 0;
		left[i]--;
		return 1;
	}
	return 0;
}

/* The buffer for a day; a batch spans few days, so a linear search. */
static struct lt_day_rows *
day_rows(struct lt_rows_by_day *r, int32_t day)
{
	struct lt_day_rows *v;
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->v[i].day == day)
			return &r->v[i];
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 4;
		v = realloc(r->v, cap * sizeof(*v));
		if (v == NULL)
			return NULL;
		memset(v + r->cap, 0, (cap - r->cap) * sizeof(*v));
		r->v = v;
		r->cap = cap;
	}
	v = &r->v[r->n++];
	v->day = day;
	v->n_rows = 0;
	lt_buf_reset(&v->rows);
	return v;
}

long long
lt_spool_rowbinary(const unsigned char *data, size_t len,
		   enum lt_rows_time time,
		   const struct lt_day_skip *skip, size_t n_skip,
		   struct lt_rows_by_day *out)
{
	size_t off = LT_SPOOL_MAGIC_LEN + 4;
	const unsigned char *tenant = NULL, *stream = NULL, *push_id = NULL;
	size_t tenant_len = 0, stream_len = 0;
	struct lt_day_rows *d;
	long long added = 0;
	uint64_t *left = NULL;
	int64_t ts;
	char err[128];
	struct record r;
	size_t i;

	if (n_skip > 0) {
		left = malloc(n_skip * sizeof(*left));
		if (left == NULL)
			return -1;
		for (i = 0; i < n_skip; i++)
			left[i] = skip[i].rows;
	}
	/* The file was checked; every record is well-formed. */
	while (off < len && next_record(data, len, &off, &r, err, sizeof(err)) == 0) {
		switch (r.type) {
		case LT_REC_HEADER:
			tenant = r.payload;
			tenant_len = r.len - 16; /* without received_ns, push_id */
			push_id = r.payload + r.len - 8;
			break;
		case LT_REC_STREAM:
			stream = r.payload;
			stream_len = r.len;
			break;
		case LT_REC_ENTRY:
			ts = (int64_t)lt_load_u64le(r.payload);
			if (day_skipped(lt_day_of(ts), skip, left, n_skip))
				break;
			d = day_rows(out, lt_day_of(ts));
			if (d == NULL ||
			    lt_buf_reserve(&d->rows, tenant_len + stream_len + 12 + r.len) < 0) {
				added = -1;
				goto out;
			}
			(void)lt_buf_append(&d->rows, tenant, tenant_len);
			(void)lt_buf_append(&d->rows, stream, stream_len);
			/* The entry starts with its time, Int64 nanoseconds:
			 * timestamp_ns, or DateTime64(9) as it stands. */
			if (time == LT_ROWS_DATETIME_AND_NS)
				(void)lt_buf_append_u32le(&d->rows, seconds_of(ts));
			(void)lt_buf_append(&d->rows, r.payload, r.len);
			(void)lt_buf_append(&d->rows, push_id, 8);
			d->n_rows++;
			added++;
			break;
		default:
			break;
		}
	}
out:
	free(left);
	return added;
}

void
lt_rows_by_day_reset(struct lt_rows_by_day *r)
{
	r->n = 0;
}

void
lt_rows_by_day_free(struct lt_rows_by_day *r)
{
	size_t i;

	for (i = 0; i < r->cap; i++)
		lt_buf_free(&r->v[i].rows);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

/* --- filtering --- */

static int
copy_record(struct lt_buf *out, const struct record *r)
{
	size_t start;

	if (open_record(out, &start) < 0 || lt_buf_append(out, r->payload, r->len) < 0)
		return -1;
	return close_record(out, start, (enum lt_record_type)r->type);
}

int
lt_spool_filter(const unsigned char *data, size_t len, int64_t since_ns,
		int64_t until_ns, struct lt_buf *out, uint64_t *kept)
{
	size_t off = LT_SPOOL_MAGIC_LEN + 4, start;
	struct record r, stream = {0, NULL, 0};
	uint64_t n_streams = 0, n_entries = 0;
	int stream_written = 0;
	char err[128];
	int64_t ts;

	lt_buf_reset(out);
	if (lt_buf_append(out, data, LT_SPOOL_MAGIC_LEN + 4) < 0)
		return -1;
	while (off < len && next_record(data, len, &off, &r, err, sizeof(err)) == 0) {
		switch (r.type) {
		case LT_REC_HEADER:
			if (copy_record(out, &r) < 0)
				return -1;
			break;
		case LT_REC_STREAM:
			stream = r;
			stream_written = 0;
			break;
		case LT_REC_ENTRY:
			ts = (int64_t)lt_load_u64le(r.payload);
			if ((since_ns && ts < since_ns) || (until_ns && ts >= until_ns))
				break;
			if (!stream_written) {
				if (copy_record(out, &stream) < 0)
					return -1;
				stream_written = 1;
				n_streams++;
			}
			if (copy_record(out, &r) < 0)
				return -1;
			n_entries++;
			break;
		default:
			break;
		}
	}
	*kept = n_entries;
	if (open_record(out, &start) < 0 || lt_buf_append_u64le(out, n_streams) < 0 ||
	    lt_buf_append_u64le(out, n_entries) < 0)
		return -1;
	return close_record(out, start, LT_REC_END);
}

/* --- the streams index --- */

static size_t
stream_day_slot(const struct lt_stream_days *set, uint64_t stream_id, int32_t day)
{
	uint64_t h = (stream_id ^ (uint64_t)(uint32_t)day) * UINT64_C(0x9e3779b97f4a7c15);
	size_t i = (size_t)(h >> 32) & (set->cap - 1);

	while (set->v[i].stream != NULL &&
	       (set->v[i].stream_id != stream_id || set->v[i].day != day))
		i = (i + 1) & (set->cap - 1);
	return i;
}

/* Doubles the slots (from 64), keeping the set at most half full. */
static int
stream_days_grow(struct lt_stream_days *set)
{
	struct lt_stream_days bigger = *set;
	size_t i;

	bigger.cap = set->cap ? set->cap * 2 : 64;
	bigger.v = calloc(bigger.cap, sizeof(*bigger.v));
	if (bigger.v == NULL)
		return -1;
	for (i = 0; i < set->cap; i++)
		if (set->v[i].stream != NULL)
			bigger.v[stream_day_slot(&bigger, set->v[i].stream_id,
						 set->v[i].day)] = set->v[i];
	free(set->v);
	*set = bigger;
	return 0;
}

static int
stream_day_add(struct lt_stream_days *set, const unsigned char *stream,
	       size_t stream_len, int32_t day)
{
	uint64_t id = lt_load_u64le(stream);
	size_t i;

	if (set->sorted)
		return -1;
	if ((set->n + 1) * 2 > set->cap && stream_days_grow(set) < 0)
		return -1;
	i = stream_day_slot(set, id, day);
	if (set->v[i].stream != NULL)
		return 0;
	set->v[i] = (struct lt_stream_day){id, day, stream, stream_len};
	set->n++;
	return 0;
}

int
lt_spool_stream_days(const unsigned char *data, size_t len,
		     struct lt_stream_days *set)
{
	size_t off = LT_SPOOL_MAGIC_LEN + 4, rec_len;
	const unsigned char *stream = NULL, *payload;
	size_t stream_len = 0;
	int32_t day, last_day = 0;
	int added = 0;

	/* The file was checked (CRCs, lengths, record order): its records
	 * are only stepped over here, and only a change of stream or day
	 * costs a look-up. */
	while (len - off >= REC_OVERHEAD) {
		rec_len = lt_load_u32le(data + off + 1);
		payload = data + off + 5;
		switch (data[off]) {
		case LT_REC_HEADER:
			set->tenant = payload;
			set->tenant_len = rec_len - 16;
			break;
		case LT_REC_STREAM:
			stream = payload;
			stream_len = rec_len;
			added = 0;
			break;
		case LT_REC_ENTRY:
			day = lt_day_of((int64_t)lt_load_u64le(payload));
			if (stream != NULL && (!added || day != last_day)) {
				if (stream_day_add(set, stream, stream_len, day) < 0)
					return -1;
				added = 1;
				last_day = day;
			}
			break;
		default:
			break;
		}
		off += rec_len + REC_OVERHEAD;
	}
	return 0;
}

static int
stream_day_order(const void *a, const void *b)
{
	const struct lt_stream_day *x = a, *y = b;

	if (x->day != y->day)
		return x->day < y->day ? -1 : 1;
	if (x->stream_id != y->stream_id)
		return x->stream_id < y->stream_id ? -1 : 1;
	return 0;
}

/* Date is a UInt16 of days since 1970-01-01. */
static uint16_t
date_of(int32_t day)
{
	return day < 0 ? 0 : day > 65535 ? 65535 : (uint16_t)day;
}

/* Packs the pairs that keep() keeps (all when it is NULL) into
 * v[0..n), ordered by day; no pair can be added after. */
void
lt_stream_days_keep_if(struct lt_stream_days *set,
		       int (*keep)(const struct lt_stream_day *, void *), void *arg)
{
	size_t i, j;

	if (set->sorted)
		return;
	for (i = j = 0; i < set->cap; i++)
		if (set->v[i].stream != NULL && (keep == NULL || keep(&set->v[i], arg)))
			set->v[j++] = set->v[i];
	set->n = j;
	if (set->n > 0)
		qsort(set->v, set->n, sizeof(*set->v), stream_day_order);
	set->sorted = 1;
}

long long
lt_stream_days_rowbinary(struct lt_stream_days *set, int32_t *from_day,
			 size_t max_days, struct lt_buf *out)
{
	size_t i, days = 0;
	long long rows = 0;
	unsigned char date[2];

	lt_stream_days_keep_if(set, NULL, NULL);
	for (i = 0; i < set->n && set->v[i].day <= *from_day; i++)
		;
	for (; i < set->n; i++) {
		const struct lt_stream_day *sd = &set->v[i];

		if (rows == 0 || sd->day != *from_day) {
			if (days++ == max_days)
				break;
			*from_day = sd->day;
		}
		date[0] = date_of(sd->day) & 0xff;
		date[1] = date_of(sd->day) >> 8;
		if (lt_buf_append(out, set->tenant, set->tenant_len) < 0 ||
		    lt_buf_append(out, sd->stream, sd->stream_len) < 0 ||
		    lt_buf_append(out, date, 2) < 0)
			return -1;
		rows++;
	}
	return rows;
}

void
lt_stream_days_reset(struct lt_stream_days *set)
{
	if (set->v != NULL)
		memset(set->v, 0, set->cap * sizeof(*set->v));
	set->n = 0;
	set->sorted = 0;
	set->tenant = NULL;
	set->tenant_len = 0;
}

void
lt_stream_days_free(struct lt_stream_days *set)
{
	free(set->v);
	memset(set, 0, sizeof(*set));
}
