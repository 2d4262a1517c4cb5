/*
 * The table of live heap blocks, its layout and its operations on the allocation path are in
 * table.h; here are the rest: growing a shard, the world lock, and copying every block out for a
 * snapshot.  Debug builds also count here the spin locks each thread holds (spin_count), for the
 * lock checks of internal.h.
 */
#include "config.h"

#include <assert.h>
#include <sched.h>
#include <string.h>

#include "internal.h"
#include "table.h"

#define TABLE_MIN_BUCKETS 64

struct shard table_shards[TABLE_SHARDS];
#ifndef NDEBUG
__thread int spin_count HS_TLS;
#endif

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

/*
 * Makes room in SH, locked, for one more block: doubles its bucket array when the blocks would
 * outnumber the buckets, and its entries when none is free.  Returns 0, or -1 with *CAUSE set
 * when out of memory.
 */
int
table_make_room(struct shard *sh, char **cause)
{
	uint32_t cap;
	void *p;

	assert(spin_held(&sh->lock));
	if ((sh->ba == NULL || sh->count > sh->ba->mask) && table_rehash(sh) != 0)
		goto nomem;
	if (sh->free_head == 0 && sh->used == sh->cap) {
		cap = sh->cap ? sh->cap * 2 : 256;
		p = mem_grow(sh->blocks, (size_t)sh->cap * sizeof *sh->blocks,
		    (size_t)cap * sizeof *sh->blocks);
		if (p == NULL || cap < sh->cap)
			goto nomem;
		sh->blocks = p;
		sh->cap = cap;
		if (sh->used == 0)
			sh->used = 1;
	}
	return 0;
nomem:
	*cause = "out of memory for the block table";
	return -1;
}

/* Takes every shard lock, in index order: the world lock. */
void
table_lock_all(void)
{
	int i;

	for (i = 0; i < TABLE_SHARDS; i++)
		spin_lock(&table_shards[i].lock);
}

/* Releases every shard lock. */
void
table_unlock_all(void)
{
	int i;

	for (i = TABLE_SHARDS - 1; i >= 0; i--)
		spin_unlock(&table_shards[i].lock);
}

#ifndef NDEBUG
/* Returns 1 if the calling thread holds the world lock: the registry lock and every shard lock. */
int
table_world_held(void)
{
	int i;

	if (!mutex_held(&thread_registry_lock))
		return 0;
	for (i = 0; i < TABLE_SHARDS; i++) {
		if (!spin_held(&table_shards[i].lock))
			return 0;
	}
	return 1;
}
#endif

/* Returns the number of live blocks; the caller holds the world lock. */
size_t
table_count(void)
{
	size_t n = 0;
	int i;

	assert(table_world_held());
	for (i = 0; i < TABLE_SHARDS; i++)
		n += table_shards[i].count;
	return n;
}

#ifndef NDEBUG
/* Checks the invariants of SH (see the top of this file); the caller holds its lock. */
static void
table_check(const struct shard *sh)
{
	uint32_t i, b, live = 0, chained = 0, free_len = 0;

	assert(spin_held(&sh->lock));
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
 * Copies every live block to OUT, which has room for table_count(); returns how many.  The caller
 * holds the world lock.  In a CPython, whose allocators can be changed under heapscope
 * (python.c), stale blocks are left out.
 */
size_t
table_copy(struct block *out)
{
	size_t n = 0;
	uint32_t j;
	int i;

	assert(table_world_held());
	for (i = 0; i < TABLE_SHARDS; i++) {
#ifndef NDEBUG
		table_check(&table_shards[i]);
#endif
		for (j = 1; j < table_shards[i].used; j++) {
			if (table_shards[i].blocks[j].addr != 0 &&
			    (py.minor == 0 || !table_shadowed(&table_shards[i], j)))
				out[n++] = table_shards[i].blocks[j];
		}
	}
	return n;
}
