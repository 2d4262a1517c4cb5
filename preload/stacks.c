/*
 * The stack table: every distinct allocation stack, stored once and numbered from 1.  A stack id
 * is also the id of its allocation site.
 *
 * Records (hash, id, depth, pcs) are appended to 1 MiB chunks and never move or die.  Two
 * indexes point at them:
 *	by id:   chunk_of[id >> 12][id & 4095], filled before stacks_n publishes the id;
 *	by hash: an open-addressing table of record pointers (linear probing, at most half full),
 *	         read without a lock; inserts and growth happen under stack_lock, and a grown
 *	         table replaces the old one, which stays mapped for readers still inside it.
 * In front of both, each thread keeps a small direct-mapped cache of the ids it used last,
 * keyed by hash.
 */
#include "config.h"

#include <string.h>

#include "internal.h"

struct stack_rec {
	uint64_t hash;		/* unwind_capture()'s hash of pcs */
	uint32_t id;		/* 1, 2, ... */
	uint32_t depth;		/* entries in pcs */
	uintptr_t pcs[];	/* return addresses, innermost first */
};

struct stack_index {
	size_t cap;				/* slots, a power of two */
	_Atomic(struct stack_rec *) slot[];	/* NULL = empty */
};

#define STACK_CHUNK_IDS 4096
#define STACK_ID_CHUNKS 65536
#define STACK_ARENA (1u << 20)

static pthread_mutex_t stack_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint32_t stacks_n;		/* ids handed out; the largest valid id */
static struct stack_rec **chunk_of[STACK_ID_CHUNKS];	/* records by id */
static _Atomic(struct stack_index *) stack_index;	/* records by hash */
static char *arena;			/* current record chunk */
static size_t arena_used;		/* bytes used in it */

/* Returns the record of stack ID (1 <= ID <= stacks_n). */
static inline struct stack_rec *
stack_rec(uint32_t id)
{
	return chunk_of[id / STACK_CHUNK_IDS][id % STACK_CHUNK_IDS];
}

/* Returns 1 if R holds exactly PCS[0..N). */
static inline int
stack_equal(const struct stack_rec *r, const uintptr_t *pcs, int n, uint64_t hash)
{
	return r->hash == hash && r->depth == (uint32_t)n &&
	    memcmp(r->pcs, pcs, n * sizeof *pcs) == 0;
}

/* Looks the stack up in IX; returns its id or 0. */
static uint32_t
stack_find(const struct stack_index *ix, const uintptr_t *pcs, int n, uint64_t hash)
{
	size_t mask, i;
	struct stack_rec *r;

	if (ix == NULL)
		return 0;
	mask = ix->cap - 1;
	for (i = hash & mask;; i = (i + 1) & mask) {
		r = atomic_load_explicit(&ix->slot[i], memory_order_acquire);
		if (r == NULL)
			return 0;
		if (stack_equal(r, pcs, n, hash))
			return r->id;
	}
}

/* Puts R into IX, which has room; the caller holds stack_lock. */
static void
stack_index_put(struct stack_index *ix, struct stack_rec *r)
{
	size_t mask = ix->cap - 1, i;

	assert(mutex_held(&stack_lock));
	for (i = r->hash & mask; atomic_load_explicit(&ix->slot[i], memory_order_relaxed) != NULL;
	    i = (i + 1) & mask)
		;
	atomic_store_explicit(&ix->slot[i], r, memory_order_release);
}

/* Adds a new stack; the caller holds stack_lock.  Returns its id, or 0 when out of memory. */
static uint32_t
stack_add(const uintptr_t *pcs, int n, uint64_t hash)
{
	struct stack_index *ix = atomic_load(&stack_index), *nix;
	size_t need = sizeof(struct stack_rec) + n * sizeof *pcs, cap, i;
	uint32_t id = atomic_load(&stacks_n) + 1;
	struct stack_rec *r;

	assert(mutex_held(&stack_lock));
	if (id / STACK_CHUNK_IDS >= STACK_ID_CHUNKS)
		return 0;
	if (ix == NULL || 2 * (size_t)id > ix->cap) {
		cap = ix ? ix->cap * 2 : 4096;
		nix = mem_map(sizeof *nix + cap * sizeof nix->slot[0]);
		if (nix == NULL)
			return 0;
		nix->cap = cap;
		for (i = 0; ix != NULL && i < ix->cap; i++) {
			if ((r = atomic_load(&ix->slot[i])) != NULL)
				stack_index_put(nix, r);
		}
		atomic_store_explicit(&stack_index, nix, memory_order_release);
		ix = nix;	/* the old index stays mapped: readers may be in it */
	}
	if (chunk_of[id / STACK_CHUNK_IDS] == NULL &&
	    (chunk_of[id / STACK_CHUNK_IDS] = mem_map(STACK_CHUNK_IDS * sizeof(void *))) == NULL)
		return 0;
	if (arena == NULL || arena_used + need > STACK_ARENA) {
		if ((arena = mem_map(STACK_ARENA)) == NULL)
			return 0;
		arena_used = 0;
	}
	r = (struct stack_rec *)(arena + arena_used);
	arena_used += (need + 7) & ~(size_t)7;
	r->hash = hash;
	r->id = id;
	r->depth = n;
	memcpy(r->pcs, pcs, n * sizeof *pcs);
	chunk_of[id / STACK_CHUNK_IDS][id % STACK_CHUNK_IDS] = r;
	stack_index_put(ix, r);
	atomic_store_explicit(&stacks_n, id, memory_order_release);
	return id;
}

/*
 * Returns the id of the stack PCS[0..N) with hash HASH, adding it if new; 0 when out of memory.
 * T is the calling thread's state, for its cache.
 */
uint32_t
stack_intern(struct thread *t, const uintptr_t *pcs, int n, uint64_t hash)
{
	unsigned c = (unsigned)(hash ^ (hash >> 32)) & t->cache_mask;
	uint32_t id;

	/*
	 * A hit in the thread's cache is taken on the 64-bit hash alone: the id was put there
	 * only after a full comparison, and two distinct stacks of one program sharing a hash
	 * (odds about S^2 / 2^65 for S stacks) matter less than the cache misses of reading the
	 * record on every allocation.
	 */
	t->last = &t->cache[c];
	if (t->cache[c].hash == hash && (id = t->cache[c].stack) != 0)
		return id;
	id = stack_find(atomic_load_explicit(&stack_index, memory_order_acquire), pcs, n, hash);
	if (id == 0) {
		pthread_mutex_lock(&stack_lock);
		id = stack_find(atomic_load(&stack_index), pcs, n, hash);
		if (id == 0)
			id = stack_add(pcs, n, hash);
		pthread_mutex_unlock(&stack_lock);
		if (id == 0)
			return 0;
	}
	t->cache[c].hash = hash;
	t->cache[c].stack = id;
	t->cache[c].site = 0;
	return id;
}

/* Returns the largest stack id handed out. */
uint32_t
stack_count(void)
{
	return atomic_load_explicit(&stacks_n, memory_order_acquire);
}

/* Returns the frames of stack ID (1 <= ID <= stack_count()) and their number in *DEPTH. */
const uintptr_t *
stack_get(uint32_t id, int *depth)
{
	struct stack_rec *r = stack_rec(id);

	*depth = r->depth;
	return r->pcs;
}

/*
 * Returns the number of native frames of the stack PCS[0..DEPTH), and its CPython allocator
 * domain in *DOMAIN (PY_NONE if it has no Python tag); its Python frames follow the tag.
 */
int
stack_split(const uintptr_t *pcs, int depth, int *domain)
{
	int i;

	for (i = 0; i < depth; i++) {
		if ((pcs[i] & PY_TAG) == PY_TAG) {
			*domain = (pcs[i] >> 8) & 0xff;
			return i;
		}
	}
	*domain = PY_NONE;
	return depth;
}

/* Returns the CPython allocator domain of stack ID's blocks (PY_RAW, PY_MEM, PY_OBJ), or PY_NONE. */
int
stack_domain(uint32_t id)
{
	struct stack_rec *r = stack_rec(id);
	int domain;

	stack_split(r->pcs, r->depth, &domain);
	return domain;
}

/* fork: hold the lock across fork so the child's table is whole. */
void
stack_atfork_prepare(void)
{
	pthread_mutex_lock(&stack_lock);
}

void
stack_atfork_parent(void)
{
	pthread_mutex_unlock(&stack_lock);
}

void
stack_atfork_child(void)
{
	pthread_mutex_unlock(&stack_lock);
}
