/* The (stream, day) pairs a logthra-flush process has put into the streams
 * index already, so that a backlog's batches and --follow's passes insert
 * each pair once rather than once per batch (indexed.c). */
#ifndef LOGTHRA_INDEXED_H
#define LOGTHRA_INDEXED_H

#include <stddef.h>
#include <stdint.h>

/* Past this many pairs the set starts afresh: forgetting costs only an
 * INSERT of rows that ClickHouse folds into those it has. */
#define LT_INDEXED_MAX 65536

struct lt_indexed_pair {
	const char *tenant;  /* interned: compared by address; NULL: free slot */
	uint64_t stream_id;
	int32_t day;
	uint32_t shard;
};

struct lt_indexed {
	struct lt_indexed_pair *v; /* cap slots, open addressing */
	size_t n;
	size_t cap;
	char **tenants;            /* the interned names */
	size_t n_tenants;
};

/* The set's copy of tenant, made on first use; NULL when out of memory. */
const char *lt_indexed_tenant(struct lt_indexed *ix, const char *tenant);

/* Whether the pair is in the set; tenant as lt_indexed_tenant() gave it. */
int lt_indexed_has(const struct lt_indexed *ix, const char *tenant,
		   uint32_t shard, uint64_t stream_id, int32_t day);

/* Adds the pair; past LT_INDEXED_MAX pairs, forgets the others first.
 * Returns 0, or -1 when out of memory (the set is then unchanged). */
int lt_indexed_add(struct lt_indexed *ix, const char *tenant, uint32_t shard,
		   uint64_t stream_id, int32_t day);

/* Forgets every pair: the index may have lost rows (a table made anew,
 * days dropped). */
void lt_indexed_clear(struct lt_indexed *ix);
void lt_indexed_free(struct lt_indexed *ix);

#endif
