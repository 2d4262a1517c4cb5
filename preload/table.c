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
 */
#include "config.h"

#include <assert.h>
#include <sched.h>
#include <string.h>

#include "internal.h"

#define TABLE_MIN_BUCKETS 64

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

static struct shard shards[TABLE_SHARDS];

/* Waits for a spin lock that another thread holds, yielding the CPU if it waits long. */
void
spin_wait(hs_spin *s)
{
	int spins = 0;

	do {
		while (atomic_load_explicit(&s->locked, memory_order_relaxed)) {
			if (++spins < 64)
				__builtin_ia32_pause();
			else
				sched_yield();
		}
	} while (atomic_exchange_explicit(&s->locked, 1, memory_order_acquire));
}

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
	return &shards[((uint64_t)(addr >> 26) * 0x9e3779b97f4a7c15ull) >> 58];
}

/* Re-chains every live entry of SH into a bucket array twice as large; -1 if out of memory. */
static int
table_rehash(struct shard *sh)
{
	struct bucket_array *old = sh->ba, *nb;
	uint32_t n = old ? (old->mask + 1) * 2 : TABLE_MIN_BUCKETS, i, b;

	if ((nb = mem_map(sizeof *nb + (size_t)n * sizeof nb->slot[0])) == NULL)
		return -1;
	nb->mask = n - 1;
	for (i = 1; i < sh->used; i++) {
		if (sh->blocks[i].addr == 0)
			continue;
		b = (uint32_t)table_hash(sh->blocks[i].addr) & nb->mask;
		sh->blocks[i].next = nb->slot[b];
		nb->slot[b] = i;
	}
	atomic_store_explicit(&sh->ba, nb, memory_order_release);
	return 0;
}

/* Takes and returns the lock of the shard that holds (or would hold) ADDR. */
struct shard *
table_lock(uintptr_t addr)
{
	struct shard *sh = table_shard_of(addr);

	spin_lock(&sh->lock);
	return sh;
}

/*
 * Starts loading ADDR's table entry into the cache, without the lock, so that the miss overlaps
 * the caller's other work.  Everything read here may change meanwhile: the bucket array stays
 * mapped (see above) and a prefetch of memory that moved or is gone does no harm.
 */
void
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
void
table_prefetch_bucket(uintptr_t addr)
{
	struct shard *sh = table_shard_of(addr);
	struct bucket_array *ba = atomic_load_explicit(&sh->ba, memory_order_acquire);

	if (ba != NULL)
		__builtin_prefetch(&ba->slot[(uint32_t)table_hash(addr) & ba->mask], 1);
}

/* Releases a shard taken with table_lock(). */
void
table_unlock(struct shard *sh)
{
	spin_unlock(&sh->lock);
}

/*
 * Adds a block to SH, which the caller has locked with table_lock(bl->addr).  Returns 0, or -1
 * with *CAUSE set when out of memory.
 */
int
table_insert(struct shard *sh, const struct block *bl, char **cause)
{
	uint64_t h = table_hash(bl->addr);
	struct block *e;
	uint32_t i, cap, b;
	void *p;

	if ((sh->ba == NULL || sh->count > sh->ba->mask) && table_rehash(sh) != 0)
		goto nomem;
	b = (uint32_t)h & sh->ba->mask;
	if ((i = sh->free_head) != 0)
		sh->free_head = sh->blocks[i].next;
	else {
		if (sh->used == sh->cap) {
			cap = sh->cap ? sh->cap * 2 : 256;
			p = mem_grow(sh->blocks, (size_t)sh->cap * sizeof *e,
			    (size_t)cap * sizeof *e);
			if (p == NULL || cap < sh->cap)
				goto nomem;
			sh->blocks = p;
			sh->cap = cap;
			if (sh->used == 0)
				sh->used = 1;
		}
		i = sh->used++;
	}
	e = &sh->blocks[i];
	*e = *bl;
	e->next = sh->ba->slot[b];
	sh->ba->slot[b] = i;
	sh->count++;
	return 0;
nomem:
	*cause = "out of memory for the block table";
	return -1;
}

/*
 * Removes the block at ADDR from SH, which the caller has locked with table_lock(addr), copying
 * it to *OUT.  Returns 1 if it was there, 0 if not (a block allocated before tracing began, or
 * by heapscope itself).
 */
int
table_remove(struct shard *sh, uintptr_t addr, struct block *out)
{
	uint64_t h = table_hash(addr);
	uint32_t *link, i;
	struct block *e;

	if (sh->ba == NULL)
		return 0;
	link = &sh->ba->slot[(uint32_t)h & sh->ba->mask];
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

/* Takes every shard lock, in index order: the world lock. */
void
table_lock_all(void)
{
	int i;

	for (i = 0; i < TABLE_SHARDS; i++)
		spin_lock(&shards[i].lock);
}

/* Releases every shard lock. */
void
table_unlock_all(void)
{
	int i;

	for (i = TABLE_SHARDS - 1; i >= 0; i--)
		spin_unlock(&shards[i].lock);
}

/* Returns the number of live blocks; the caller holds the world lock. */
size_t
table_count(void)
{
	size_t n = 0;
	int i;

	for (i = 0; i < TABLE_SHARDS; i++)
		n += shards[i].count;
	return n;
}

#ifndef NDEBUG
/* Checks the invariants of SH (see the top of this file); the caller holds its lock. */
static void
table_check(const struct shard *sh)
{
	uint32_t i, b, live = 0, chained = 0, free_len = 0;

	for (i = 1; i < sh->used; i++)
		live += sh->blocks[i].addr != 0;
	for (b = 0; sh->ba != NULL && b <= sh->ba->mask; b++) {
		for (i = sh->ba->slot[b]; i != 0; i = sh->blocks[i].next)
			chained++;
	}
	for (i = sh->free_head; i != 0; i = sh->blocks[i].next)
		free_len++;
	assert(live == sh->count && chained == sh->count);
	assert(sh->used == 0 || sh->used == 1 + sh->count + free_len);
	assert(sh->ba == NULL || sh->count <= sh->ba->mask + 1);
}
#endif

/*
 * Returns 1 if entry J of SH is shadowed by a newer entry of the same address, which its chain
 * puts first: the older one is stale, a block whose free heapscope did not see.
 */
static int
table_shadowed(const struct shard *sh, uint32_t j)
{
	uintptr_t addr = sh->blocks[j].addr;
	uint32_t i;

	for (i = sh->ba->slot[(uint32_t)table_hash(addr) & sh->ba->mask]; i != j;
	    i = sh->blocks[i].next) {
		if (sh->blocks[i].addr == addr)
			return 1;
	}
	return 0;
}

/*
 * Copies every live block to OUT, which has room for table_count(); returns how many.  In a
 * CPython, whose allocators can be changed under heapscope (python.c), stale blocks are left out.
 */
size_t
table_copy(struct block *out)
{
	size_t n = 0;
	uint32_t j;
	int i;

	for (i = 0; i < TABLE_SHARDS; i++) {
#ifndef NDEBUG
		table_check(&shards[i]);
#endif
		for (j = 1; j < shards[i].used; j++) {
			if (shards[i].blocks[j].addr != 0 &&
			    (py.minor == 0 || !table_shadowed(&shards[i], j)))
				out[n++] = shards[i].blocks[j];
		}
	}
	return n;
}
