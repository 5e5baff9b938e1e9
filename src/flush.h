/* logthra-flush's one run: claim spool files, insert them into
 * ClickHouse in batches, remove them once ClickHouse has them. */
#ifndef LOGTHRA_FLUSH_H
#define LOGTHRA_FLUSH_H

#include <stddef.h>
#include <stdint.h>

#include "clickhouse.h"
#include "options.h"

/* Exit statuses, from sysexits.h. */
#define LT_EX_OK 0
#define LT_EX_ERROR 1
#define LT_EX_DATAERR 65
#define LT_EX_TEMPFAIL 75

/* What a run flushed of one tenant: the spool files whose rows are all
 * in ClickHouse now, their entries (also those ClickHouse held already)
 * and their size in the spool. */
struct lt_flush_tenant {
	char tenant[151];
	uint64_t entries;
	uint64_t bytes;
	uint64_t files;
};

struct lt_flush_stats {
	size_t files;       /* spool files whose rows are all in ClickHouse */
	size_t rows;        /* rows inserted (rows ClickHouse held already not counted) */
	size_t bytes;       /* RowBinary bytes sent */
	size_t batches;     /* INSERTs */
	size_t quarantined; /* files moved to quarantine */
	size_t deferred;    /* files that failed now and wait for a retry */
	size_t waiting;     /* deferred files whose retry time has not come */
	struct lt_flush_tenant *tenants; /* one per tenant with files flushed */
	size_t n_tenants;
};

/* Frees st->tenants.  lt_flush_run() starts st from zero, so call this
 * before passing st to it again. */
void lt_flush_stats_free(struct lt_flush_stats *st);

/* Runs one flush.  Returns an exit status: LT_EX_OK; LT_EX_DATAERR when a
 * file was quarantined (the rest were flushed); LT_EX_TEMPFAIL when
 * ClickHouse failed (files deferred) or another run holds the lock;
 * LT_EX_ERROR on local errors.  Errors are logged. */
/* When a file whose INSERT failed is tried again (the Postfix way): it
 * waits as long as it has been in the spool, at least min_s and at most
 * max_s, so a short outage costs little and a long one few attempts. */
int64_t lt_retry_time(int64_t now_s, int64_t received_s, int64_t min_s,
		      int64_t max_s);

struct lt_ch_version;
struct lt_table_spec;
struct lt_tenant_retention;

/* The table for a server version, from the options: names, retention
 * (the [tenant NAME] retention settings into *tenants, an array the
 * caller frees; its names point into o).  Returns 0, or -1 when out of
 * memory. */
int lt_flush_table_spec(const struct lt_options *o, const struct lt_ch_version *v,
			struct lt_table_spec *s, struct lt_tenant_retention **tenants);

/* How logthra-flush connects to clickhouse_url (URL, credentials,
 * timeouts), for its other commands too. */
struct lt_ch_options lt_flush_ch_options(const struct lt_options *o);

/* One connection per shard of the cluster, from shard_urls, in shard
 * order, into *shards (n of them; the caller closes each and frees the
 * array, also after a failure).  Returns 0, or -1 (logged). */
int lt_flush_open_shards(const struct lt_options *o, struct lt_ch ***shards,
			 size_t *n);

#define LT_FLUSH_RETRY_NOW 1 /* deferred files are due, whatever their mtime */
#define LT_FLUSH_LOCKED 2    /* the caller holds SPOOL/flush.lock (lt_flush_lock) */

/* Takes SPOOL/flush.lock, held until *fd is closed: what lt_flush_run()
 * does first, for a caller that runs several flushes under one lock
 * (logthra-flush --follow).  Returns LT_EX_OK, LT_EX_TEMPFAIL when
 * another process holds it or LT_EX_ERROR; errors are logged. */
int lt_flush_lock(const struct lt_options *o, int *fd);

int lt_flush_run(const struct lt_options *o, int flags,
		 struct lt_flush_stats *st);

#endif
