/*
 * What the hooks record: a block's birth (stack, thread, time) into the table and its site's
 * counters, and its death (lifetime, temporary or not) into the counters of the site that
 * allocated it.  Each function is called with the re-entry guard set; each changes the counters
 * of the calling thread while holding the lock of the block's shard (see thread.c).
 */
#include "config.h"

#include <string.h>

#include "internal.h"
#include "table.h"
#include "unwind.h"

#define BLOCK_SIZE_MAX ((1ull << 40) - 1)

/* Returns the lifetime bucket of a block born at BIRTH and dying at NOW. */
static inline int
record_bucket(uint64_t birth, uint64_t now)
{
	uint64_t ns = clock_ticks_to_ns(now - birth);
	int b;

	if (ns == 0)
		return 0;
	b = 63 - __builtin_clzll(ns);
	return b < HS_HIST ? b : HS_HIST - 1;
}

/* Counts the death of block B, which lived until NOW, against thread T; T's shard lock is held. */
static inline HS_ALWAYS_INLINE void
record_death(struct thread *t, const struct block *b, uint64_t now)
{
	struct site_counts *c;

	assert(thread_may_count(t));
	if (HS_UNLIKELY((c = thread_site(t, b->stack)) == NULL)) {
		log_fail("out of memory for site counters");
		return;
	}
	peak_fall(t);
	peak_touch(c);
	c->s.frees++;
	c->s.freed_bytes += b->size;
	c->gen = atomic_load_explicit(&site_gen, memory_order_relaxed);
	peak_count(t, -(int64_t)b->size);
	if (t->last_alloc == b->addr)
		c->s.temporaries++;
	if (HS_UNLIKELY(thread_hist(t, c, record_bucket(b->birth, now)) != 0))
		log_fail("out of memory for site counters");
}

/*
 * Returns T's counters of the site STACK, whose id stack_intern() just gave (NULL if out of
 * memory); T's shard lock is held.  Where they are is kept in the thread's stack cache entry,
 * so that the next birth there goes to them without looking the site up.
 */
static inline struct site_counts *
record_site(struct thread *t, uint32_t stack)
{
	struct thread_cache *e = t->last;
	struct site_counts *c;

	assert(thread_may_count(t));
	if (HS_LIKELY(e->stack == stack && e->site != 0))
		return &t->site_vals[e->site - 1];
	if ((c = thread_site(t, stack)) != NULL && e->stack == stack)
		e->site = c - t->site_vals + 1;
	return c;
}

/*
 * Inserts block B and counts its birth against T, under one shard lock.  Fails tracing if out of
 * memory.  OLD, if not NULL, is a block that died at the same moment (realloc's old block).
 */
static inline HS_ALWAYS_INLINE void
record_birth(struct thread *t, const struct block *b, const struct block *old)
{
	struct site_counts *c;
	struct shard *sh;
	char *cause = NULL;

	sh = table_lock(b->addr);
	if (old != NULL)
		record_death(t, old, b->birth);
	if ((c = record_site(t, b->stack)) == NULL)
		cause = "out of memory for site counters";
	else if (table_insert(sh, b, &cause) == 0) {
		peak_touch(c);
		c->s.allocs++;
		c->s.alloc_bytes += b->size;
		c->gen = atomic_load_explicit(&site_gen, memory_order_relaxed);
		peak_count(t, b->size);
	}
	table_unlock(sh);
	if (cause != NULL)
		log_fail("%s", cause);
	t->last_alloc = b->addr;
}

/*
 * Captures the stack of the hook whose frame is FP, with the Python traceback of a block of
 * CPython allocator DOMAIN (PY_NONE for none); returns its id, or 0 with tracing failed.
 */
static uint32_t
record_stack(struct thread *t, void *fp, int domain)
{
	uint64_t hash;
	uint32_t id;
	int n;

	if (domain == PY_NONE)
		n = unwind_capture(t->unwind, fp, t->pcs, hs_cfg.depth, &hash);
	else {
		n = unwind_shallow(t->unwind, fp, t->pcs, py.native_depth, &hash);
		n += py_capture(&t->py_memo, t->pcs + n, domain, &hash);
	}
	if ((id = stack_intern(t, t->pcs, n, hash)) == 0)
		log_fail("out of memory for stacks");
	return id;
}

/* Fills in a new block's record; returns 0, or -1 if tracing failed. */
static inline HS_ALWAYS_INLINE int
record_make(struct thread **tp, struct block *b, void *p, size_t size, void *fp, int domain)
{
	struct thread *t;

	if ((*tp = t = thread_self()) == NULL)
		return -1;
	table_prefetch_bucket((uintptr_t)p);	/* it arrives while the stack is taken */
	memset(b, 0, sizeof *b);
	if ((b->stack = record_stack(t, fp, domain)) == 0)
		return -1;
	b->addr = (uintptr_t)p;
	b->size = size > BLOCK_SIZE_MAX ? BLOCK_SIZE_MAX : size;
	b->thread = t->id;
	b->birth = clock_ticks();
	return 0;
}

/* Records the allocation of SIZE bytes at P by the hook whose frame is FP. */
void
record_alloc(void *p, size_t size, void *fp)
{
	record_alloc_py(p, size, fp, PY_NONE);
}

/* Records the allocation of SIZE bytes at P through CPython allocator DOMAIN (or PY_NONE). */
void
record_alloc_py(void *p, size_t size, void *fp, int domain)
{
	struct thread *t;
	struct block b;

	assert(hs_busy);
	if (record_make(&t, &b, p, size, fp, domain) == 0)
		record_birth(t, &b, NULL);
}

/*
 * Records the mapping of LEN bytes at P that the hook whose frame is FP made (PYARENA: a
 * pymalloc arena, else an mmap) with PROT and FLAGS.
 */
void
record_map(void *p, size_t len, int prot, int flags, void *fp, int pyarena)
{
	struct thread *t;
	uint32_t stack;

	assert(hs_busy);
	if ((t = thread_self()) != NULL && (stack = record_stack(t, fp, PY_NONE)) != 0)
		map_add((uintptr_t)p, len, prot, flags, stack, pyarena);
}

/* Frees P: with RELEASE(CTX, P), or with real_free if RELEASE is NULL. */
static inline void
record_release(void *p, void (*release)(void *, void *), void *ctx)
{
	if (release == NULL)
		real_free(p);
	else
		release(ctx, p);
}

/*
 * Records the free of P (a block of the program's, or one heapscope never saw) and frees it
 * (record_release).  The free runs under P's shard lock, so no other thread can be given P and
 * record it before its old record is gone; meanwhile the prefetched table entry arrives, so the
 * two cache misses (the allocator's on the chunk, ours on the entry) overlap instead of adding up.
 * The clock is read last, after the free: it runs while the entry is still on its way.
 */
static inline void
record_free_common(void *p, void (*release)(void *, void *), void *ctx)
{
	struct thread *t;
	struct shard *sh;
	struct block b;
	uint64_t now;

	assert(hs_busy);
	table_prefetch((uintptr_t)p);
	if ((t = thread_self()) == NULL) {
		record_release(p, release, ctx);
		return;
	}
	sh = table_lock((uintptr_t)p);
	record_release(p, release, ctx);
	now = clock_ticks();
	if (table_remove(sh, (uintptr_t)p, &b))
		record_death(t, &b, now);
	table_unlock(sh);
	if (t->last_alloc == (uintptr_t)p)
		t->last_alloc = 0;
}

void
record_free(void *p)
{
	record_free_common(p, NULL, NULL);
}

/* Records the free of P and frees it with RELEASE(CTX, P): a CPython domain's free. */
void
record_free_with(void *p, void (*release)(void *, void *), void *ctx)
{
	record_free_common(p, release, ctx);
}

/*
 * Before realloc(P): takes P's block out of the table, so that no other thread can be given the
 * address while it is still recorded.  Returns 1 and fills *OLD if P was traced.
 */
int
record_realloc_begin(void *p, struct block *old)
{
	struct shard *sh;
	int found;

	assert(hs_busy);
	sh = table_lock((uintptr_t)p);
	found = table_remove(sh, (uintptr_t)p, old);
	table_unlock(sh);
	return found;
}

/*
 * After realloc: Q is the new block of SIZE bytes, or NULL if realloc failed and left OLD alone.
 * OLD is the block record_realloc_begin() took out, or NULL if it was not traced.
 */
void
record_realloc_end(struct block *old, void *q, size_t size, void *fp)
{
	record_realloc_end_py(old, q, size, fp, PY_NONE);
}

/* record_realloc_end for a block of CPython allocator DOMAIN (PY_NONE: the malloc family). */
void
record_realloc_end_py(struct block *old, void *q, size_t size, void *fp, int domain)
{
	struct thread *t;
	struct shard *sh;
	struct block b;
	char *cause = NULL;

	assert(hs_busy);
	if (q == NULL) {
		if (old == NULL)
			return;
		sh = table_lock(old->addr);
		table_insert(sh, old, &cause);
		table_unlock(sh);
		if (cause != NULL)
			log_fail("%s", cause);
		return;
	}
	if (record_make(&t, &b, q, size, fp, domain) == 0)
		record_birth(t, &b, old);
}
