/* The receiver's per-tenant counters in SPOOL/recv.stats: the record
 * format, the one locked update a request makes, the read for the
 * metrics and the metrics' text.  See recv_stats.h. */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crc32c.h"
#include "hash.h"
#include "log.h"
#include "fdio.h"
#include "recv_stats.h"
#include "prom.h"

/*
 * A record, 512 bytes, integers little-endian:
 *
 *	  0	4	magic "LTRS"
 *	  4	1	version, 1
 *	  5	1	length of the tenant name, 0 to 150
 *	  6	150	the name, zero-padded
 *	156	4	zero
 *	160	8	pushes
 *	168	8	entries
 *	176	8	bytes
 *	184	8 * 20	entries rejected, by reason
 *	344	8 * 19	responses, by status
 *	496	12	zero
 *	508	4	CRC-32C of bytes 0 to 507
 *
 * Records start at multiples of 512, so that each lies within one disk
 * sector and a power cut leaves it old or new; the CRC catches the rest.
 */
#define OFF_NAME 6
#define OFF_COUNTS 160
#define OFF_REJECTED (OFF_COUNTS + 24)
#define OFF_RESPONSES (OFF_REJECTED + 8 * LT_RSTATS_REASONS)
#define OFF_CRC (LT_RSTATS_RECORD - 4)
#define RECORD_VERSION 1

_Static_assert(OFF_RESPONSES + 8 * LT_RSTATS_CODES <= OFF_CRC,
	       "the counters must fit in a record");

/* Two records besides the tenants'. */
#define MAX_RECORDS (LT_RSTATS_TENANTS + 2)
#define MAX_SIZE ((size_t)MAX_RECORDS * LT_RSTATS_RECORD)

/* The statuses logthra-recv answers pushes with; others count as the
 * last slot, "other". */
static const int codes[LT_RSTATS_CODES - 1] = {
	200, 204, 400, 401, 403, 404, 405, 408, 411,
	413, 415, 417, 429, 431, 500, 501, 503, 505,
};

size_t
lt_rstats_code_index(int status)
{
	size_t i;

	for (i = 0; i < LT_RSTATS_CODES - 1; i++)
		if (codes[i] == status)
			return i;
	return LT_RSTATS_CODES - 1;
}

int
lt_rstats_code(size_t index)
{
	return index < LT_RSTATS_CODES - 1 ? codes[index] : 0;
}

static void
store_u64(unsigned char *p, uint64_t v)
{
	size_t i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

void
lt_rstats_encode(const struct lt_rstats_rec *r,
		 unsigned char out[LT_RSTATS_RECORD])
{
	size_t len = strnlen(r->tenant, LT_RSTATS_TENANT_MAX), i;
	uint32_t crc;

	memset(out, 0, LT_RSTATS_RECORD);
	memcpy(out, "LTRS", 4);
	out[4] = RECORD_VERSION;
	out[5] = (unsigned char)len;
	memcpy(out + OFF_NAME, r->tenant, len);
	store_u64(out + OFF_COUNTS, r->pushes);
	store_u64(out + OFF_COUNTS + 8, r->entries);
	store_u64(out + OFF_COUNTS + 16, r->bytes);
	for (i = 0; i < LT_RSTATS_REASONS; i++)
		store_u64(out + OFF_REJECTED + 8 * i, r->rejected[i]);
	for (i = 0; i < LT_RSTATS_CODES; i++)
		store_u64(out + OFF_RESPONSES + 8 * i, r->responses[i]);
	crc = lt_crc32c(0, out, OFF_CRC);
	for (i = 0; i < 4; i++)
		out[OFF_CRC + i] = (unsigned char)(crc >> (8 * i));
}

static int
all_zero(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

/* A name a record may hold: a tenant id, or one of the two others. */
static int
name_ok(const char *name)
{
	const char *why;

	return strcmp(name, LT_RSTATS_NO_TENANT) == 0 ||
	       strcmp(name, LT_RSTATS_OVERFLOW) == 0 ||
	       lt_tenant_valid(name, &why) == 0;
}

int
lt_rstats_decode(const unsigned char in[LT_RSTATS_RECORD],
		 struct lt_rstats_rec *r)
{
	size_t len = in[5], i;

	memset(r, 0, sizeof(*r));
	if (memcmp(in, "LTRS", 4) != 0 || in[4] != RECORD_VERSION ||
	    len > LT_RSTATS_TENANT_MAX ||
	    lt_crc32c(0, in, OFF_CRC) != lt_load_u32le(in + OFF_CRC) ||
	    !all_zero(in + OFF_NAME + len, OFF_COUNTS - OFF_NAME - len) ||
	    !all_zero(in + OFF_RESPONSES + 8 * LT_RSTATS_CODES,
		      OFF_CRC - OFF_RESPONSES - 8 * LT_RSTATS_CODES))
		return -1;
	memcpy(r->tenant, in + OFF_NAME, len);
	r->tenant[len] = '\0';
	if (!name_ok(r->tenant))
		return -1;
	r->pushes = lt_load_u64le(in + OFF_COUNTS);
	r->entries = lt_load_u64le(in + OFF_COUNTS + 8);
	r->bytes = lt_load_u64le(in + OFF_COUNTS + 16);
	for (i = 0; i < LT_RSTATS_REASONS; i++)
		r->rejected[i] = lt_load_u64le(in + OFF_REJECTED + 8 * i);
	for (i = 0; i < LT_RSTATS_CODES; i++)
		r->responses[i] = lt_load_u64le(in + OFF_RESPONSES + 8 * i);
	return 0;
}

static void
add_delta(struct lt_rstats_rec *r, const struct lt_rstats_delta *d)
{
	size_t i;

	/* Unsigned: wraps after 2^64, as a Prometheus counter may reset. */
	r->pushes += d->pushes;
	r->entries += d->entries;
	r->bytes += d->bytes;
	for (i = 0; i < LT_REJECT_REASONS; i++)
		r->rejected[i] += d->rejected[i];
	if (d->status != 0)
		r->responses[lt_rstats_code_index(d->status)]++;
}

static int
lock_fd(int fd, int how)
{
	while (flock(fd, how) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

/* The file's records in memory, as read under the lock. */
struct table {
	unsigned char *buf; /* the file's bytes, and room for one record more */
	size_t n;           /* valid records, packed at the start */
	size_t bad;         /* records dropped: corrupt, torn or repeated */
	int rewrite;        /* the file differs from buf[0, n) */
};

/* The names seen by load(), to find a repeated one in one pass: an
 * open-addressing table of record numbers + 1, twice as large as the
 * most records a file may hold. */
#define SEEN_SLOTS 1024
_Static_assert(SEEN_SLOTS >= 2 * (MAX_RECORDS + 1), "room to probe");

/* Whether a record named as rec was kept already; if not, notes rec,
 * which is to be kept as record number at. */
static int
seen_before(const struct table *t, uint16_t *seen, const unsigned char *rec,
	    size_t at)
{
	size_t len = 1 + (size_t)rec[5]; /* the length byte and the name */
	size_t h = (size_t)(lt_fnv1a(LT_FNV_BASIS, rec + 5, len) % SEEN_SLOTS);

	for (; seen[h] != 0; h = (h + 1) % SEEN_SLOTS)
		if (memcmp(t->buf + (size_t)(seen[h] - 1) * LT_RSTATS_RECORD + 5,
			   rec + 5, len) == 0)
			return 1;
	seen[h] = (uint16_t)(at + 1);
	return 0;
}

/* Loads and checks the file's records, packing the valid ones.  A file
 * longer than MAX_SIZE is cut there; a tail shorter than a record is a
 * torn append.  The buffer holds the file and one record more, for
 * add_to_table(): for a few tenants it stays small enough for malloc's
 * heap, without a mapping of its own per push.  Returns 0 or -1
 * (errno). */
static int
load(int fd, struct table *t)
{
	uint16_t seen[SEEN_SLOTS] = {0};
	struct lt_rstats_rec r;
	struct stat st;
	ssize_t got;
	size_t i, n, want;

	if (fstat(fd, &st) < 0)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return -1;
	}
	want = (uintmax_t)st.st_size > MAX_SIZE ? MAX_SIZE : (size_t)st.st_size;
	t->buf = malloc(want + LT_RSTATS_RECORD);
	if (t->buf == NULL) {
		errno = ENOMEM;
		return -1;
	}
	got = lt_fd_pread_all(fd, t->buf, want, 0);
	if (got < 0)
		return -1;
	n = (size_t)got / LT_RSTATS_RECORD;
	t->rewrite = (size_t)got % LT_RSTATS_RECORD != 0 ||
		     (uintmax_t)st.st_size > (uintmax_t)got;
	t->bad = t->rewrite;
	t->n = 0;
	for (i = 0; i < n; i++) {
		unsigned char *rec = t->buf + i * LT_RSTATS_RECORD;

		if (lt_rstats_decode(rec, &r) < 0 ||
		    seen_before(t, seen, rec, t->n)) {
			t->bad++;
			t->rewrite = 1;
			continue;
		}
		if (t->n != i)
			memmove(t->buf + t->n * LT_RSTATS_RECORD, rec,
				LT_RSTATS_RECORD);
		t->n++;
	}
	return 0;
}

/* The record of name, or -1; *tenants counts the tenants' records. */
static long
find(const struct table *t, const char *name, size_t *tenants)
{
	size_t i;
	long at = -1;

	*tenants = 0;
	for (i = 0; i < t->n; i++) {
		const unsigned char *rec = t->buf + i * LT_RSTATS_RECORD;
		size_t len = rec[5];

		if (len > 0 && !(len == sizeof(LT_RSTATS_OVERFLOW) - 1 &&
				 memcmp(rec + OFF_NAME, LT_RSTATS_OVERFLOW,
					len) == 0))
			(*tenants)++;
		if (len == strlen(name) && memcmp(rec + OFF_NAME, name, len) == 0)
			at = (long)i;
	}
	return at;
}

/* Adds d to name's record in t, making the record when it has none (or
 * the overflow record's, when the tenants are all there).  Returns the
 * record's index.  Appends at most one record, for which load() left
 * room; a file made by hand with more tenants than the bound then grows
 * past MAX_SIZE, and the next load() cuts it back. */
static size_t
add_to_table(struct table *t, const char *name, const struct lt_rstats_delta *d)
{
	struct lt_rstats_rec r;
	size_t tenants;
	long at;

	at = find(t, name, &tenants);
	if (at < 0 && *name != '\0' && tenants >= LT_RSTATS_TENANTS) {
		name = LT_RSTATS_OVERFLOW;
		at = find(t, name, &tenants);
	}
	if (at < 0) {
		at = (long)t->n++;
		memset(&r, 0, sizeof(r));
		(void)snprintf(r.tenant, sizeof(r.tenant), "%s", name);
	} else {
		(void)lt_rstats_decode(t->buf + (size_t)at * LT_RSTATS_RECORD,
				       &r);
	}
	add_delta(&r, d);
	lt_rstats_encode(&r, t->buf + (size_t)at * LT_RSTATS_RECORD);
	return (size_t)at;
}

/* Writes back what changed: the one record, or, after corruption, the
 * whole table.  Returns 0 or -1 (errno). */
static int
store(int fd, const struct table *t, size_t at)
{
	if (!t->rewrite)
		return lt_fd_pwrite_all(fd, t->buf + at * LT_RSTATS_RECORD,
				 LT_RSTATS_RECORD,
				 (off_t)(at * LT_RSTATS_RECORD));
	if (lt_fd_pwrite_all(fd, t->buf, t->n * LT_RSTATS_RECORD, 0) < 0)
		return -1;
	return ftruncate(fd, (off_t)(t->n * LT_RSTATS_RECORD));
}

static int
stats_path(const char *spool, char *path, size_t len, char *err,
	   size_t errlen)
{
	int n = snprintf(path, len, "%s/%s", spool, LT_RSTATS_FILE);

	if (n < 0 || (size_t)n >= len) {
		(void)snprintf(err, errlen, "receiver counter path too long");
		return ENAMETOOLONG;
	}
	return 0;
}

int
lt_rstats_add(const char *spool, const char *tenant,
	      const struct lt_rstats_delta *d, char *err, size_t errlen)
{
	struct table t = {0};
	char path[PATH_MAX];
	const char *what = "open";
	size_t at;
	int fd = -1, rc;

	if (tenant == NULL)
		tenant = LT_RSTATS_NO_TENANT;
	if (!name_ok(tenant)) {
		(void)snprintf(err, errlen, "invalid tenant name \"%s\"", tenant);
		return EINVAL;
	}
	rc = stats_path(spool, path, sizeof(path), err, errlen);
	if (rc != 0)
		return rc;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0660);
	if (fd < 0)
		goto fail;
	what = "lock";
	if (lock_fd(fd, LOCK_EX) < 0)
		goto fail;
	what = "read";
	if (load(fd, &t) < 0)
		goto fail;
	if (t.bad > 0)
		lt_warning("receiver counters \"%s\": %zu torn or corrupt record%s dropped; %s counters start afresh",
			   path, t.bad, t.bad == 1 ? "" : "s",
			   t.bad == 1 ? "its" : "their");
	at = add_to_table(&t, tenant, d);
	what = "write";
	if (store(fd, &t, at) < 0)
		goto fail;
	/* Not fsynced: counters are not data (logthra-spool(5)).  close()
	 * releases the lock. */
	what = "close";
	rc = close(fd);
	fd = -1;
	if (rc < 0)
		goto fail;
	free(t.buf);
	return 0;
fail:
	rc = errno;
	if (fd >= 0)
		(void)close(fd);
	free(t.buf);
	(void)snprintf(err, errlen, "could not %s receiver counters \"%s\": %s",
		       what, path, strerror(rc));
	return rc;
}

void
lt_rstats_free(struct lt_rstats *s)
{
	free(s->v);
	s->v = NULL;
	s->n = 0;
	s->bad = 0;
}

static int
rec_compare(const void *a, const void *b)
{
	return strcmp(((const struct lt_rstats_rec *)a)->tenant,
		      ((const struct lt_rstats_rec *)b)->tenant);
}

/* Decodes the packed valid records of t into s, sorted. */
static int
table_to_stats(const struct table *t, struct lt_rstats *s)
{
	size_t i;

	s->bad = t->bad;
	if (t->n == 0)
		return 0;
	s->v = calloc(t->n, sizeof(*s->v));
	if (s->v == NULL) {
		errno = ENOMEM;
		return -1;
	}
	for (i = 0; i < t->n; i++)
		(void)lt_rstats_decode(t->buf + i * LT_RSTATS_RECORD, &s->v[i]);
	s->n = t->n;
	qsort(s->v, s->n, sizeof(*s->v), rec_compare);
	return 0;
}

int
lt_rstats_read(const char *spool, struct lt_rstats *s, char *err,
	       size_t errlen)
{
	struct table t = {0};
	char path[PATH_MAX];
	const char *what = "open";
	int fd, rc;

	memset(s, 0, sizeof(*s));
	rc = stats_path(spool, path, sizeof(path), err, errlen);
	if (rc != 0)
		return rc;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT)
		return 0; /* no push counted yet */
	if (fd < 0)
		goto fail;
	what = "read";
	if (lock_fd(fd, LOCK_SH) < 0 || load(fd, &t) < 0 ||
	    table_to_stats(&t, s) < 0)
		goto fail;
	(void)close(fd);
	free(t.buf);
	return 0;
fail:
	rc = errno != 0 ? errno : ENOMEM;
	if (fd >= 0)
		(void)close(fd);
	free(t.buf);
	lt_rstats_free(s);
	(void)snprintf(err, errlen, "could not %s receiver counters \"%s\": %s",
		       what, path, strerror(rc));
	return rc;
}

/* --- the metrics --- */

/* name{tenant="T"[,label="V"]} value */
static int
sample(struct lt_buf *out, const char *name, const char *tenant,
       const char *label, const char *value_of_label, uint64_t v)
{
	if (lt_buf_printf(out, "%s{tenant=", name) < 0 ||
	    lt_prom_label_value(out, tenant) < 0)
		return -1;
	if (label != NULL && lt_buf_printf(out, ",%s=\"%s\"", label,
					   value_of_label) < 0)
		return -1;
	return lt_buf_printf(out, "} %" PRIu64 "\n", v);
}

/* pushes, entries, bytes: every record but the one of no tenant, which
 * counts refusals only. */
static int
totals(struct lt_buf *out, const struct lt_rstats *s, const char *name,
       const char *help, int which)
{
	const struct lt_rstats_rec *r;
	size_t i;

	if (lt_prom_head(out, name, "counter", help) < 0)
		return -1;
	for (i = 0; i < s->n; i++) {
		r = &s->v[i];
		if (r->tenant[0] == '\0')
			continue;
		if (sample(out, name, r->tenant, NULL, NULL,
			   which == 0 ? r->pushes :
			   which == 1 ? r->entries : r->bytes) < 0)
			return -1;
	}
	return 0;
}

static int
rejected(struct lt_buf *out, const struct lt_rstats *s)
{
	const char *name = "logthra_recv_rejected_entries_total";
	size_t i, k;

	if (lt_prom_head(out, name, "counter", "Entries rejected by the checks, by reason (Loki's names of loki_discarded_samples_total where one fits).") < 0)
		return -1;
	for (i = 0; i < s->n; i++)
		for (k = 0; k < LT_REJECT_REASONS; k++)
			if (s->v[i].rejected[k] != 0 &&
			    sample(out, name, s->v[i].tenant, "reason",
				   lt_reject_reason_name((enum lt_reject_reason)k),
				   s->v[i].rejected[k]) < 0)
				return -1;
	return 0;
}

static int
responses(struct lt_buf *out, const struct lt_rstats *s)
{
	const char *name = "logthra_recv_responses_total";
	char code[16];
	size_t i, k;

	if (lt_prom_head(out, name, "counter", "Answers to push requests, by HTTP status; tenant \"\" for those refused before their tenant was known.") < 0)
		return -1;
	for (i = 0; i < s->n; i++)
		for (k = 0; k < LT_RSTATS_CODES; k++) {
			if (s->v[i].responses[k] == 0)
				continue;
			if (lt_rstats_code(k) == 0)
				(void)snprintf(code, sizeof(code), "other");
			else
				(void)snprintf(code, sizeof(code), "%d",
					       lt_rstats_code(k));
			if (sample(out, name, s->v[i].tenant, "code", code,
				   s->v[i].responses[k]) < 0)
				return -1;
		}
	return 0;
}

int
lt_rstats_format(struct lt_buf *out, const struct lt_rstats *s)
{
	if (totals(out, s, "logthra_recv_pushes_total",
		   "Pushes stored in the spool, wholly or in part, or acknowledged as retries of stored ones.",
		   0) < 0 ||
	    totals(out, s, "logthra_recv_entries_total",
		   "Entries of those pushes accepted.", 1) < 0 ||
	    totals(out, s, "logthra_recv_bytes_total",
		   "Bytes of the accepted entries: lines and structured metadata, as Loki's loki_distributor_bytes_received_total.",
		   2) < 0 ||
	    rejected(out, s) < 0 || responses(out, s) < 0)
		return -1;
	return 0;
}
