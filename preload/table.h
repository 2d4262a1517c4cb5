/*
 * The table of live heap blocks: what every traced allocation left behind and no free has yet
 * taken back.  It is split into TABLE_SHARDS shards by address region (table_shard_of), so that
 * threads allocating at the same time rarely meet on a lock.  Each shard is a chained hash table:
 *
 *	ba->slot[hash & ba->mask] -> index of the first block -> block.next -> ... -> 0
 *
 * Blocks live in one array per shard, grown with mremap (entries may move: they are only touched
 * under the shard lock); index 0 is never used, so 0 means "none".  Bucket arrays are read
 * without the lock by table_prefetch(), so a replaced one is never unmapped (the old ones add up
 * to less than the current one).  Freed entries are chained
 * on a free list through next, with addr == 0.  Inserts go to the front of their chain without
 * looking for an older entry of the same address (that would cost a cache miss per entry): if a
 * free ever went unseen, the stale entry stays behind the new one, and lookups find the newest.
 * Invariants, per shard:
 *	count == number of entries with addr != 0 == number reachable from buckets
 *	count <= ba->mask + 1 (the bucket array doubles first)
 *	used == 1 + count + length of the free list
 *
 * The operations of the allocation path are defined here, inline, so that a hook that prefetches,
 * locks and looks up one address computes its shard and hash once; table.c has the rest.
 */
#ifndef HS_TABLE_H
#define HS_TABLE_H

#include "internal.h"

/* A bucket array: its size travels with it, so a reader without the lock sees a matching pair. */
struct bucket_array {
	uint32_t mask;		/* buckets - 1, buckets a power of two */
	uint32_t slot[];	/* first block index per bucket, 0 = empty */
};

struct shard {
	hs_spin lock;		/* guards everything below but ba's readers in table_prefetch */
	uint32_t count;		/* live blocks */
	struct bucket_array *_Atomic ba;	/* the buckets, NULL until the first insert */
	struct block *blocks;	/* entries, [0] unused */
	uint32_t used;		/* entries handed out, including [0] */
	uint32_t cap;		/* entries mapped */
	uint32_t free_head;	/* first free entry, 0 = none */
} __attribute__((aligned(64)));

extern struct shard table_shards[TABLE_SHARDS];

int table_make_room(struct shard *, char **cause);

/* Mixes an address into a hash whose low bits pick the bucket. */
static inline uint64_t
table_hash(uintptr_t addr)
{
	uint64_t h = (uint64_t)(addr >> 4) * 0x9e3779b97f4a7c15ull;

	return h ^ (h >> 32);
}

/*
 * Returns the shard of an address: a hash of its 64 MiB region.  Allocators hand each thread
 * memory from regions of its own (glibc's per-thread arenas are 64 MiB-aligned heaps), so
 * threads mostly work in different shards and their locks and buckets stay in their own caches.
 */
static inline struct shard *
table_shard_of(uintptr_t addr)
{
	return &table_shards[((uint64_t)(addr >> 26) * 0x9e3779b97f4a7c15ull) >> 58];
}

/* Takes and returns the lock of the shard that holds (or would hold) ADDR. */
static inline struct shard *
table_lock(uintptr_t addr)
{
	struct shard *sh = table_shard_of(addr);

	spin_lock(&sh->lock);
	return sh;
}

/* Releases a shard taken with table_lock(). */
static inline void
table_unlock(struct shard *sh)
{
	spin_unlock(&sh->lock);
}

/*
 * Starts loading ADDR's table entry into the cache, without the lock, so that the miss overlaps
 * the caller's other work.  Everything read here may change meanwhile: the bucket array stays
 * mapped (see above) and a prefetch of memory that moved or is gone does no harm.
 */
static inline void
table_prefetch(uintptr_t addr)
{
	struct shard *sh = table_shard_of(addr);
	struct bucket_array *ba = atomic_load_explicit(&sh->ba, memory_order_acquire);
	struct block *blocks = sh->blocks;

	if (ba != NULL && blocks != NULL)
		__builtin_prefetch(&blocks[ba->slot[(uint32_t)table_hash(addr) & ba->mask]]);
}

/*
 * Starts loading, for writing, the bucket where ADDR's entry will be inserted: for a caller that
 * has other work (the stack) to do before table_insert().  The same rules as table_prefetch().
 */
static inline void
table_prefetch_bucket(uintptr_t addr)
{
	struct shard *sh = table_shard_of(addr);
	struct bucket_array *ba = atomic_load_explicit(&sh->ba, memory_order_acquire);

	if (ba != NULL)
		__builtin_prefetch(&ba->slot[(uint32_t)table_hash(addr) & ba->mask], 1);
}

/*
 * Adds a block to SH, which the caller has locked with table_lock(bl->addr).  Returns 0, or -1
 * with *CAUSE set when out of memory.
 */
static inline int
table_insert(struct shard *sh, const struct block *bl, char **cause)
{
	struct bucket_array *ba = sh->ba;
	uint32_t i, b;

	assert(spin_held(&sh->lock) && sh == table_shard_of(bl->addr));
	if (HS_UNLIKELY(ba == NULL || sh->count > ba->mask ||
	    (sh->free_head == 0 && sh->used == sh->cap))) {
		if (table_make_room(sh, cause) != 0)
			return -1;
		ba = sh->ba;
	}
	if ((i = sh->free_head) != 0)
		sh->free_head = sh->blocks[i].next;
	else
		i = sh->used++;
	b = (uint32_t)table_hash(bl->addr) & ba->mask;
	sh->blocks[i] = *bl;
	sh->blocks[i].next = ba->slot[b];
	ba->slot[b] = i;
	sh->count++;
	return 0;
}

/*
 * Removes the block at ADDR from SH, which the caller has locked with table_lock(addr), copying
 * it to *OUT.  Returns 1 if it was there, 0 if not (a block allocated before tracing began, or
 * by heapscope itself).
 */
static inline int
table_remove(struct shard *sh, uintptr_t addr, struct block *out)
{
	uint32_t *link, i;
	struct block *e;

	assert(spin_held(&sh->lock) && sh == table_shard_of(addr));
	if (sh->ba == NULL)
		return 0;
	link = &sh->ba->slot[(uint32_t)table_hash(addr) & sh->ba->mask];
	while ((i = *link) != 0) {
		e = &sh->blocks[i];
		if (e->addr == addr) {
			*link = e->next;
			*out = *e;
			e->addr = 0;
			e->next = sh->free_head;
			sh->free_head = i;
			sh->count--;
			return 1;
		}
		link = &e->next;
	}
	return 0;
}

#endif
