/*
 * The stack table: every distinct allocation stack, stored once and numbered from 1.  A stack id
 * is also the id of its allocation site.
 *
 * A stack is a record (hash, id, its native depth, domain and number of Python frames) whose
 * frames lie in two trees shared by all stacks.  In the native tree, counted from the outermost
 * frame, a stack's frames go HS_STACK_CHUNK to a node, which holds their pcs, the outermost
 * first, and points at the node of the frames outside them; in the Python tree a node is one
 * Python frame (python.c's word: code id << 32 | instruction offset) and points at its caller's.
 * Stacks that share their outer frames (most do: they start in the same main loop) share those
 * nodes, which the database stores the same way, each node a row with the same id: the native
 * tree as stack_nodes, the Python one as py_tracebacks.  The record points at the innermost
 * node of each.
 *
 * Records and nodes are appended to 1 MiB chunks of memory and never move or die.  Indexes:
 *	records by id:  rec_of[id >> 12][id & 4095], filled before stacks_n publishes the id;
 *	a tree's nodes by id: its by_id table, the same way, filled before its n publishes the id;
 *	records by hash: an open-addressing table of record pointers (linear probing, at most half
 *	         full), read without a lock; inserts and growth happen under stack_lock, and a grown
 *	         table replaces the old one, which stays mapped for readers still inside it;
 *	a tree's nodes by content: the same kind of table of node ids, used under stack_lock only.
 * A node is complete before the stack that first uses it is published, and never changes.
 * In front of both, each thread keeps a small direct-mapped cache of the ids it used last,
 * keyed by hash.
 */
#include "config.h"

#include <string.h>

#include "internal.h"

struct stack_rec {
	uint64_t hash;		/* unwind_capture()'s hash of the capture */
	uint32_t id;		/* 1, 2, ... */
	uint32_t node;		/* its innermost native node, 0 when depth is 0 */
	uint32_t py;		/* its most recent Python frame's node, 0 when npy is 0 */
	uint16_t depth;		/* native frames */
	uint16_t npy;		/* Python frames */
	uint8_t domain;		/* PY_RAW, PY_MEM, PY_OBJ or PY_NONE */
};

struct stack_node {
	uint32_t parent;	/* the node of the frames outside these, 0 = none */
	uint32_t n;		/* words, 1..the tree's chunk */
	uintptr_t pcs[];	/* return addresses or Python frames, the outermost first */
};

/* An open-addressing table: of record pointers (stack_index) or of node ids (node_index). */
struct stack_index {
	size_t cap;				/* slots, a power of two */
	_Atomic(struct stack_rec *) slot[];	/* NULL = empty */
};
struct node_index {
	size_t cap;		/* slots, a power of two */
	uint32_t slot[];	/* node ids, 0 = empty */
};

#define STACK_CHUNK_IDS 4096
#define STACK_ID_CHUNKS 65536
#define STACK_ARENA (1u << 20)

/* A tree of nodes: the native frames' or the Python frames'. */
struct stack_tree {
	int chunk;				/* the most words a node holds */
	_Atomic uint32_t n;			/* node ids handed out */
	void **by_id[STACK_ID_CHUNKS];		/* nodes by id */
	struct node_index *index;		/* nodes by content; under stack_lock */
};

static pthread_mutex_t stack_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint32_t stacks_n;		/* stack ids handed out; the largest valid id */
static void **rec_of[STACK_ID_CHUNKS];	/* records by id */
static _Atomic(struct stack_index *) stack_index;	/* records by hash */
static struct stack_tree native = { .chunk = HS_STACK_CHUNK };	/* native frames */
static struct stack_tree python = { .chunk = 1 };		/* Python frames */
static char *arena;			/* current chunk of records and nodes */
static size_t arena_used;		/* bytes used in it */

/* Returns the record of stack ID (1 <= ID <= stacks_n). */
static inline struct stack_rec *
stack_rec(uint32_t id)
{
	return rec_of[id / STACK_CHUNK_IDS][id % STACK_CHUNK_IDS];
}

/* Returns node ID of tree T (1 <= ID <= T->n). */
static inline struct stack_node *
stack_node(const struct stack_tree *t, uint32_t id)
{
	return t->by_id[id / STACK_CHUNK_IDS][id % STACK_CHUNK_IDS];
}

/*
 * Returns 1 if R is the stack of the capture PCS[0..DEPTH) (innermost first) with Python frames
 * PYW[0..NPY) and DOMAIN.
 */
static int
stack_equal(const struct stack_rec *r, const uintptr_t *pcs, int depth, const uintptr_t *pyw,
    int npy, int domain)
{
	const struct stack_node *nd;
	uint32_t node;
	int outer, j;

	if (r->depth != depth || r->npy != npy || r->domain != domain)
		return 0;
	for (node = r->py, j = 0; node != 0; node = nd->parent, j++) {
		nd = stack_node(&python, node);
		if (nd->pcs[0] != pyw[j])
			return 0;
	}
	/* The innermost node holds outer positions [outer, depth). */
	outer = depth > 0 ? (depth - 1) / HS_STACK_CHUNK * HS_STACK_CHUNK : 0;
	for (node = r->node; node != 0; node = nd->parent, outer -= HS_STACK_CHUNK) {
		nd = stack_node(&native, node);
		for (j = 0; j < (int)nd->n; j++) {
			if (nd->pcs[j] != pcs[depth - 1 - (outer + j)])
				return 0;
		}
	}
	return 1;
}

/* Looks the capture up in IX; returns its id or 0. */
static uint32_t
stack_find(const struct stack_index *ix, const uintptr_t *pcs, int depth, const uintptr_t *pyw,
    int npy, int domain, uint64_t hash)
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
		if (r->hash == hash && stack_equal(r, pcs, depth, pyw, npy, domain))
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

/* Returns SIZE bytes (a multiple of 8) of the arena; NULL when out of memory. */
static void *
stack_alloc(size_t size)
{
	void *p;

	if (arena == NULL || arena_used + size > STACK_ARENA) {
		if ((arena = mem_map(STACK_ARENA)) == NULL)
			return NULL;
		arena_used = 0;
	}
	p = arena + arena_used;
	arena_used += size;
	return p;
}

/* Makes room for id ID in the table BY_ID (rec_of or a tree's); -1 if out of memory or ids. */
static int
stack_id_room(void **by_id[], uint32_t id)
{
	if (id / STACK_CHUNK_IDS >= STACK_ID_CHUNKS)
		return -1;
	if (by_id[id / STACK_CHUNK_IDS] == NULL &&
	    (by_id[id / STACK_CHUNK_IDS] = mem_map(STACK_CHUNK_IDS * sizeof(void *))) == NULL)
		return -1;
	return 0;
}

/* Returns the hash of a node's content. */
static uint64_t
stack_node_hash(uint32_t parent, const uintptr_t *pcs, int n)
{
	uint64_t h = (uint64_t)parent * 0x9e3779b97f4a7c15ull ^ n;
	int j;

	for (j = 0; j < n; j++)
		h = (h ^ pcs[j]) * 0xff51afd7ed558ccdull;
	return h ^ (h >> 29);
}

/*
 * Returns the slot of the node (PARENT, PCS[0..N)) of tree T in IX: its own, or the empty one
 * for it.
 */
static size_t
stack_node_slot(const struct stack_tree *t, const struct node_index *ix, uint32_t parent,
    const uintptr_t *pcs, int n)
{
	size_t mask = ix->cap - 1, i = stack_node_hash(parent, pcs, n) & mask;
	const struct stack_node *nd;

	for (; ix->slot[i] != 0; i = (i + 1) & mask) {
		nd = stack_node(t, ix->slot[i]);
		if (nd->parent == parent && nd->n == (uint32_t)n &&
		    memcmp(nd->pcs, pcs, n * sizeof *pcs) == 0)
			break;
	}
	return i;
}

/*
 * Returns the id of the node (PARENT, PCS[0..N)) of tree T, the outermost first, adding it if
 * new; 0 when out of memory.  The caller holds stack_lock.
 */
static uint32_t
stack_node_intern(struct stack_tree *t, uint32_t parent, const uintptr_t *pcs, int n)
{
	struct node_index *ix = t->index, *nix;
	uint32_t id = atomic_load_explicit(&t->n, memory_order_relaxed) + 1;
	struct stack_node *nd;
	size_t i, cap;

	assert(mutex_held(&stack_lock));
	if (ix == NULL || 2 * (size_t)id > ix->cap) {
		cap = ix ? ix->cap * 2 : 4096;
		if ((nix = mem_map(sizeof *nix + cap * sizeof nix->slot[0])) == NULL)
			return 0;
		nix->cap = cap;
		t->index = nix;
		for (i = 0; ix != NULL && i < ix->cap; i++) {
			if (ix->slot[i] != 0) {
				nd = stack_node(t, ix->slot[i]);
				nix->slot[stack_node_slot(t, nix, nd->parent, nd->pcs, nd->n)] =
				    ix->slot[i];
			}
		}
		if (ix != NULL)
			mem_unmap(ix, sizeof *ix + ix->cap * sizeof ix->slot[0]);
		ix = nix;
	}
	i = stack_node_slot(t, ix, parent, pcs, n);
	if (ix->slot[i] != 0)
		return ix->slot[i];
	if (stack_id_room(t->by_id, id) != 0 ||
	    (nd = stack_alloc(sizeof *nd + n * sizeof *pcs)) == NULL)
		return 0;
	nd->parent = parent;
	nd->n = n;
	memcpy(nd->pcs, pcs, n * sizeof *pcs);
	t->by_id[id / STACK_CHUNK_IDS][id % STACK_CHUNK_IDS] = nd;
	ix->slot[i] = id;
	atomic_store_explicit(&t->n, id, memory_order_release);
	return id;
}

/*
 * Returns the innermost node in tree T of the words PCS[0..DEPTH) (innermost first), adding the
 * nodes it needs; 0 when out of memory.  The caller holds stack_lock.
 */
static uint32_t
stack_nodes_intern(struct stack_tree *t, const uintptr_t *pcs, int depth)
{
	uintptr_t chunk[HS_STACK_CHUNK];
	uint32_t node = 0;
	int outer, n, j;

	assert(mutex_held(&stack_lock));
	for (outer = 0; outer < depth; outer += n) {
		n = depth - outer < t->chunk ? depth - outer : t->chunk;
		for (j = 0; j < n; j++)
			chunk[j] = pcs[depth - 1 - (outer + j)];
		if ((node = stack_node_intern(t, node, chunk, n)) == 0)
			return 0;
	}
	return node;
}

/*
 * Adds a new stack: native frames PCS[0..DEPTH), Python frames PYW[0..NPY) of DOMAIN; the caller
 * holds stack_lock.  Returns its id, or 0 when out of memory.
 */
static uint32_t
stack_add(const uintptr_t *pcs, int depth, const uintptr_t *pyw, int npy, int domain,
    uint64_t hash)
{
	struct stack_index *ix = atomic_load(&stack_index), *nix;
	size_t cap, i;
	uint32_t id = atomic_load(&stacks_n) + 1, node = 0, pynode = 0;
	struct stack_rec *r;

	assert(mutex_held(&stack_lock));
	if (stack_id_room(rec_of, id) != 0)
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
	if ((depth > 0 && (node = stack_nodes_intern(&native, pcs, depth)) == 0) ||
	    (npy > 0 && (pynode = stack_nodes_intern(&python, pyw, npy)) == 0) ||
	    (r = stack_alloc(sizeof *r)) == NULL)
		return 0;
	r->hash = hash;
	r->id = id;
	r->node = node;
	r->py = pynode;
	r->depth = depth;
	r->npy = npy;
	r->domain = domain;
	rec_of[id / STACK_CHUNK_IDS][id % STACK_CHUNK_IDS] = r;
	stack_index_put(ix, r);
	atomic_store_explicit(&stacks_n, id, memory_order_release);
	return id;
}

/*
 * Returns the number of native frames of the capture PCS[0..N), and its CPython allocator domain
 * in *DOMAIN (PY_NONE if it has no Python tag); its Python frames follow the tag.
 */
static int
stack_split(const uintptr_t *pcs, int n, int *domain)
{
	int i;

	for (i = 0; i < n; i++) {
		if ((pcs[i] & PY_TAG) == PY_TAG) {
			*domain = (pcs[i] >> 8) & 0xff;
			return i;
		}
	}
	*domain = PY_NONE;
	return n;
}

/*
 * Returns the id of the stack of the capture PCS[0..N) with hash HASH, adding it if new; 0 when
 * out of memory.  T is the calling thread's state, for its cache.  A capture is the native
 * frames, innermost first, then for a block of a CPython domain the Python tag and the Python
 * frames (python.c).
 */
uint32_t
stack_intern(struct thread *t, const uintptr_t *pcs, int n, uint64_t hash)
{
	unsigned c = (unsigned)(hash ^ (hash >> 32)) & t->cache_mask;
	const uintptr_t *pyw;
	uint32_t id;
	int depth, npy, domain;

	/*
	 * A hit in the thread's cache is taken on the 64-bit hash alone: the id was put there
	 * only after a full comparison, and two distinct stacks of one program sharing a hash
	 * (odds about S^2 / 2^65 for S stacks) matter less than the cache misses of reading the
	 * record on every allocation.
	 */
	t->last = &t->cache[c];
	if (t->cache[c].hash == hash && (id = t->cache[c].stack) != 0)
		return id;
	depth = stack_split(pcs, n, &domain);
	pyw = pcs + depth + (depth < n);
	npy = depth < n ? n - depth - 1 : 0;
	id = stack_find(atomic_load_explicit(&stack_index, memory_order_acquire), pcs, depth, pyw,
	    npy, domain, hash);
	if (id == 0) {
		pthread_mutex_lock(&stack_lock);
		id = stack_find(atomic_load(&stack_index), pcs, depth, pyw, npy, domain, hash);
		if (id == 0)
			id = stack_add(pcs, depth, pyw, npy, domain, hash);
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

/* Fills *S with what stack ID (1 <= ID <= stack_count()) is made of. */
void
stack_info(uint32_t id, struct stack_info *s)
{
	const struct stack_rec *r = stack_rec(id);
	const struct stack_node *nd;

	s->depth = r->depth;
	s->domain = r->domain;
	s->node = r->node;
	s->npy = r->npy;
	s->py = r->py;
	s->innermost = 0;
	if (r->node != 0) {
		nd = stack_node(&native, r->node);
		s->innermost = nd->pcs[nd->n - 1];
	}
}

/* Returns the CPython allocator domain of stack ID's blocks (PY_RAW, PY_MEM, PY_OBJ), or PY_NONE. */
int
stack_domain(uint32_t id)
{
	return stack_rec(id)->domain;
}

/* Returns the largest node id handed out, of the Python tree if PYTREE, else the native one. */
uint32_t
stack_node_count(int pytree)
{
	return atomic_load_explicit(pytree ? &python.n : &native.n, memory_order_acquire);
}

/*
 * Returns the words of node ID (1 <= ID <= stack_node_count(PYTREE)) of the Python tree if
 * PYTREE, else of the native one, the outermost first; their number in *N and the node outside
 * it in *PARENT (0 for none).
 */
const uintptr_t *
stack_node_get(int pytree, uint32_t id, uint32_t *parent, int *n)
{
	const struct stack_node *nd = stack_node(pytree ? &python : &native, id);

	*parent = nd->parent;
	*n = nd->n;
	return nd->pcs;
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
