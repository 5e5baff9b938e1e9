/* The streams index pairs a logthra-flush process knows ClickHouse holds:
 * a hash set of (tenant, shard, stream, day) (indexed.h). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "indexed.h"

/* Tenants are compared by address, never by a hash of their names, so
 * that no tenant can pick a name that passes for another's. */
const char *
lt_indexed_tenant(struct lt_indexed *ix, const char *tenant)
{
	char **more, *copy;
	size_t i;

	for (i = 0; i < ix->n_tenants; i++)
		if (strcmp(ix->tenants[i], tenant) == 0)
			return ix->tenants[i];
	copy = strdup(tenant);
	more = copy ? realloc(ix->tenants, (ix->n_tenants + 1) * sizeof(*more)) : NULL;
	if (more == NULL) {
		free(copy);
		return NULL;
	}
	ix->tenants = more;
	ix->tenants[ix->n_tenants++] = copy;
	return copy;
}

static int
same_pair(const struct lt_indexed_pair *p, const char *tenant, uint32_t shard,
	  uint64_t stream_id, int32_t day)
{
	return p->tenant == tenant && p->shard == shard &&
	       p->stream_id == stream_id && p->day == day;
}

/* The slot of the pair, or the free slot where it would go. */
static size_t
pair_slot(const struct lt_indexed_pair *v, size_t cap, const char *tenant,
	  uint32_t shard, uint64_t stream_id, int32_t day)
{
	uint64_t h = stream_id ^ ((uint64_t)(uint32_t)day << 32 | shard) ^
		     (uint64_t)(uintptr_t)tenant;
	size_t i;

	h *= UINT64_C(0x9e3779b97f4a7c15);
	i = (size_t)(h >> 32) & (cap - 1);
	while (v[i].tenant != NULL && !same_pair(&v[i], tenant, shard, stream_id, day))
		i = (i + 1) & (cap - 1);
	return i;
}

int
lt_indexed_has(const struct lt_indexed *ix, const char *tenant, uint32_t shard,
	       uint64_t stream_id, int32_t day)
{
	if (ix->cap == 0)
		return 0;
	return ix->v[pair_slot(ix->v, ix->cap, tenant, shard, stream_id, day)].tenant != NULL;
}

/* Doubles the slots (from 64), keeping the set at most half full. */
static int
grow(struct lt_indexed *ix)
{
	size_t cap = ix->cap ? ix->cap * 2 : 64, i;
	struct lt_indexed_pair *v = calloc(cap, sizeof(*v));

	if (v == NULL)
		return -1;
	for (i = 0; i < ix->cap; i++) {
		const struct lt_indexed_pair *p = &ix->v[i];

		if (p->tenant != NULL)
			v[pair_slot(v, cap, p->tenant, p->shard, p->stream_id, p->day)] = *p;
	}
	free(ix->v);
	ix->v = v;
	ix->cap = cap;
	return 0;
}

int
lt_indexed_add(struct lt_indexed *ix, const char *tenant, uint32_t shard,
	       uint64_t stream_id, int32_t day)
{
	size_t i;

	if (lt_indexed_has(ix, tenant, shard, stream_id, day))
		return 0;
	if (ix->n >= LT_INDEXED_MAX)
		lt_indexed_clear(ix);
	if ((ix->n + 1) * 2 > ix->cap && grow(ix) < 0)
		return -1;
	i = pair_slot(ix->v, ix->cap, tenant, shard, stream_id, day);
	ix->v[i] = (struct lt_indexed_pair){tenant, stream_id, day, shard};
	ix->n++;
	return 0;
}

void
lt_indexed_clear(struct lt_indexed *ix)
{
	if (ix->v != NULL)
		memset(ix->v, 0, ix->cap * sizeof(*ix->v));
	ix->n = 0;
}

void
lt_indexed_free(struct lt_indexed *ix)
{
	size_t i;

	for (i = 0; i < ix->n_tenants; i++)
		free(ix->tenants[i]);
	free(ix->tenants);
	free(ix->v);
	memset(ix, 0, sizeof(*ix));
}
