/* The receiver's counters, per tenant, kept across processes.  CGI and
 * inetd start a short-lived logthra-recv per request, so the counters
 * live in the spool: SPOOL/recv.stats holds one fixed-size record per
 * tenant, each with its own CRC, read and updated under flock(2) once
 * per request.  They are not data: never fsynced, and a record found
 * torn or corrupt is dropped (its counters start afresh) with a warning.
 * Format in logthra-spool(5), metrics in logthra-recv(1). */
#ifndef LOGTHRA_RECV_STATS_H
#define LOGTHRA_RECV_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "push.h"

#define LT_RSTATS_FILE "recv.stats"
#define LT_RSTATS_RECORD 512   /* bytes per record */
#define LT_RSTATS_TENANTS 256  /* tenants kept; later ones share LT_RSTATS_OVERFLOW */
#define LT_RSTATS_REASONS 20   /* room for rejection reasons in a record */
#define LT_RSTATS_CODES 19     /* the statuses counted, "other" last */
#define LT_RSTATS_TENANT_MAX 150

/* The two records that are not tenants; neither name can be a tenant
 * id.  "" counts requests refused before their tenant was known. */
#define LT_RSTATS_NO_TENANT ""
#define LT_RSTATS_OVERFLOW ":overflow"

_Static_assert(LT_REJECT_REASONS <= LT_RSTATS_REASONS,
	       "every rejection reason needs its counter in the record");

/* One tenant's counters. */
struct lt_rstats_rec {
	char tenant[LT_RSTATS_TENANT_MAX + 1];
	uint64_t pushes;  /* pushes stored, or acknowledged as retries */
	uint64_t entries; /* their accepted entries */
	uint64_t bytes;   /* their lines and structured metadata */
	uint64_t rejected[LT_RSTATS_REASONS]; /* by enum lt_reject_reason */
	uint64_t responses[LT_RSTATS_CODES];  /* by lt_rstats_code_index() */
};

/* What one request adds to its tenant's record. */
struct lt_rstats_delta {
	uint64_t pushes, entries, bytes;
	uint64_t rejected[LT_REJECT_REASONS];
	int status; /* the answer's HTTP status; 0: none */
};

/* The slot of an HTTP status in responses[]: LT_RSTATS_CODES - 1 for
 * one not in the list.  lt_rstats_code() gives the status of a slot, 0
 * for that last one. */
size_t lt_rstats_code_index(int status);
int lt_rstats_code(size_t index);

/* The record's 512 bytes, and back: lt_rstats_decode() returns 0, or -1
 * when the bytes are not a valid record (magic, version, tenant name,
 * reserved bytes, CRC). */
void lt_rstats_encode(const struct lt_rstats_rec *r,
		      unsigned char out[LT_RSTATS_RECORD]);
int lt_rstats_decode(const unsigned char in[LT_RSTATS_RECORD],
		     struct lt_rstats_rec *r);

/* Adds d to the tenant's record (tenant NULL: LT_RSTATS_NO_TENANT), in
 * one flock(2)ed read-modify-write of SPOOL/recv.stats, which is
 * created (0660) when missing.  A tenant beyond the first
 * LT_RSTATS_TENANTS is counted under LT_RSTATS_OVERFLOW.  Corrupt
 * records are dropped with a warning and the file rewritten without
 * them.  Returns 0, or an errno value with err set: the caller warns
 * and answers as usual. */
int lt_rstats_add(const char *spool, const char *tenant,
		  const struct lt_rstats_delta *d, char *err, size_t errlen);

struct lt_rstats {
	struct lt_rstats_rec *v; /* sorted by tenant */
	size_t n;
	size_t bad; /* corrupt records left out */
};

/* Reads SPOOL/recv.stats under a shared lock, leaving out corrupt
 * records (counted in bad).  A missing file reads as no records.
 * Returns 0, or an errno value with err set and *s empty. */
int lt_rstats_read(const char *spool, struct lt_rstats *s, char *err,
		   size_t errlen);
void lt_rstats_free(struct lt_rstats *s);

/* The receiver's metric families in Prometheus' text format. */
int lt_rstats_format(struct lt_buf *out, const struct lt_rstats *s);

#endif
