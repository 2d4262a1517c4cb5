/*
 * The table of live heap blocks: what every traced allocation left behind and no free has yet
 * taken back.  It is split into TABLE_SHARDS shards by address region (table_shard_of), so that
 * threads allocating at the same time rarely meet on a lock.  Each shard is a chained hash table:
 *
 *	buckets[hash & (nbuckets - 1)] -> index of the first block -> block.next -> ... -> 0
 *
 * Blocks live in one array per shard, grown with mremap (entries may move: they are only touched
 * under the shard lock); index 0 is never used, so 0 means "none".  Freed entries are chained
 * on a free list through next, with addr == 0.  Invariants, per shard:
 *	count == number of entries with addr != 0 == number reachable from buckets
 *	count <= nbuckets (the table doubles first)
 *	used == 1 + count + length of the free list
 */
#include "config.h"

#include <sched.h>
#include <string.h>

#include "internal.h"

#define TABLE_MIN_BUCKETS 64

struct shard {
	hs_spin lock;		/* guards everything below */
	uint32_t nbuckets;	/* buckets, a power of two */
	uint32_t count;		/* live blocks */
	uint32_t *buckets;	/* first block index per bucket, 0 = empty */
	struct block *blocks;	/* entries, [0] unused */
	uint32_t used;		/* entries handed out, including [0] */
	uint32_t cap;		/* entries mapped */
	uint32_t free_head;	/* first free entry, 0 = none */
} __attribute__((aligned(64)));

static struct shard shards[TABLE_SHARDS];

/* Takes a spin lock, yielding the CPU while another thread holds it. */
void
spin_lock(hs_spin *s)
{
	int spins = 0;

	for (;;) {
		if (!atomic_exchange_explicit(&s->locked, 1, memory_order_acquire))
			return;
		while (atomic_load_explicit(&s->locked, memory_order_relaxed)) {
			if (++spins < 64)
				__builtin_ia32_pause();
			else
				sched_yield();
		}
	}
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
	uint32_t n = sh->nbuckets ? sh->nbuckets * 2 : TABLE_MIN_BUCKETS, i, b;
	uint32_t *nb;

	if ((nb = mem_map((size_t)n * sizeof *nb)) == NULL)
		return -1;
	for (i = 1; i < sh->used; i++) {
		if (sh->blocks[i].addr == 0)
			continue;
		b = (uint32_t)table_hash(sh->blocks[i].addr) & (n - 1);
		sh->blocks[i].next = nb[b];
		nb[b] = i;
	}
	mem_unmap(sh->buckets, (size_t)sh->nbuckets * sizeof *sh->buckets);
	sh->buckets = nb;
	sh->nbuckets = n;
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
 * Starts loading the bucket of ADDR into the cache, without the lock: the bucket array may be
 * replaced meanwhile, and a prefetch of memory that is gone does no harm.
 */
void
table_prefetch(uintptr_t addr)
{
	struct shard *sh = table_shard_of(addr);
	uint32_t *b = sh->buckets;

	if (b != NULL)
		__builtin_prefetch(&b[(uint32_t)table_hash(addr) & (sh->nbuckets - 1)]);
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

	if (sh->count >= sh->nbuckets && table_rehash(sh) != 0)
		goto nomem;
	b = (uint32_t)h & (sh->nbuckets - 1);
	for (i = sh->buckets[b]; i != 0; i = sh->blocks[i].next) {
		if (sh->blocks[i].addr == bl->addr) {
			/* Its free went unseen (a free heapscope cannot hook): replace it. */
			uint32_t next = sh->blocks[i].next;

			sh->blocks[i] = *bl;
			sh->blocks[i].next = next;
			return 0;
		}
	}
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
	e->next = sh->buckets[b];
	sh->buckets[b] = i;
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

	if (sh->nbuckets == 0)
		return 0;
	link = &sh->buckets[(uint32_t)h & (sh->nbuckets - 1)];
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

/* Copies every live block to OUT, which has room for table_count(); returns how many. */
size_t
table_copy(struct block *out)
{
	size_t n = 0;
	uint32_t j;
	int i;

	for (i = 0; i < TABLE_SHARDS; i++) {
		for (j = 1; j < shards[i].used; j++) {
			if (shards[i].blocks[j].addr != 0)
				out[n++] = shards[i].blocks[j];
		}
	}
	return n;
}
