/*
 * Per-thread state: the re-entry guard lives in hooks.c; here are each thread's number, its
 * unwinder cache, its capture buffer and its per-site counters, and the registry of all of them.
 *
 * Per-site counters are kept per thread so that two threads allocating at the same site never
 * share a cache line.  A thread changes its own counters only while it holds a shard lock, so a
 * snapshot, holding every shard lock, sees all threads' counters at rest and sums them.  When a
 * thread ends, its counters are added to `retired`, a registry entry that never runs.
 *
 * Each thread's counters lie in one array, site_vals, in the order the thread first met their
 * sites, so that only the memory of sites it met is touched (a Python program meets thousands
 * at start-up, and a sparse table would fault in a page for nearly each).  They are found by
 * stack id through site_slots, an open-addressing table of (stack id, index) pairs (linear
 * probing, at most half full).
 */
#include "config.h"

#include <sys/syscall.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "unwind.h"

pthread_mutex_t thread_registry_lock = PTHREAD_MUTEX_INITIALIZER;
uint32_t thread_count;			/* thread numbers handed out */
_Atomic uint32_t site_gen = 1;		/* see internal.h */

static __thread struct thread *self HS_TLS;	/* this thread's state, NULL until first used */
static pthread_key_t thread_key;	/* its destructor folds the state into retired */
static struct thread **registry;	/* live threads' states, then retired; under the lock */
static size_t registry_len;		/* entries in registry */
static size_t registry_cap;		/* entries mapped */
static struct thread retired;		/* counters of threads that ended */
static pid_t *thread_tids;		/* kernel tid by thread number; [0] unused */
static size_t thread_tids_cap;		/* entries mapped */

/* Returns the number of entries of a thread's capture buffer, pcs. */
static size_t
thread_pcs(void)
{
	int n = hs_cfg.depth;

	if (py.minor != 0)
		n = (n > py.native_depth ? n : py.native_depth) + 1 + py.depth;
	return n;
}

/* Returns the number of entries of a thread's stack cache. */
static size_t
thread_cache_size(void)
{
	return py.minor != 0 ? 4096 : 256;
}

/* Returns the number of bytes of a thread's state: the struct, pcs, then the stack cache. */
static size_t
thread_size(void)
{
	return sizeof(struct thread) + thread_pcs() * sizeof(uintptr_t) +
	    thread_cache_size() * sizeof(struct thread_cache);
}

/* Adds T to the registry and numbers it; the caller holds the registry lock.  -1 if no memory. */
static int
thread_register(struct thread *t)
{
	void *p;
	size_t cap;

	assert(mutex_held(&thread_registry_lock));
	if (registry_len == registry_cap) {
		cap = registry_cap ? registry_cap * 2 : 64;
		if ((p = mem_grow(registry, registry_cap * sizeof *registry,
		    cap * sizeof *registry)) == NULL)
			return -1;
		registry = p;
		registry_cap = cap;
	}
	if (thread_count + 1 >= thread_tids_cap) {
		cap = thread_tids_cap ? thread_tids_cap * 2 : 1024;
		if ((p = mem_grow(thread_tids, thread_tids_cap * sizeof *thread_tids,
		    cap * sizeof *thread_tids)) == NULL)
			return -1;
		thread_tids = p;
		thread_tids_cap = cap;
	}
	t->id = ++thread_count;
	thread_tids[t->id] = t->tid;
	registry[registry_len++] = t;
	return 0;
}

/* Returns the kernel tid of thread number ID, 0 if unknown; the caller holds the registry lock. */
pid_t
thread_tid(uint32_t id)
{
	assert(mutex_held(&thread_registry_lock));
	return id <= thread_count && id < thread_tids_cap ? thread_tids[id] : 0;
}

/*
 * Returns this thread's state, creating it on first use; NULL (tracing stopped) if it cannot.
 * The caller has set the re-entry guard.
 */
struct thread *
thread_self(void)
{
	struct thread *t = self;
	int failed;

	assert(hs_busy);
	if (HS_LIKELY(t != NULL))
		return t;
	if ((t = mem_map(thread_size())) == NULL) {
		log_fail("out of memory for thread state");
		return NULL;
	}
	t->tid = syscall(SYS_gettid);
	t->cache_mask = thread_cache_size() - 1;
	t->cache = (struct thread_cache *)&t->pcs[thread_pcs()];
	if ((t->unwind = unwind_thread_new()) == NULL) {
		mem_unmap(t, thread_size());
		log_fail("out of memory for the unwinder");
		return NULL;
	}
	pthread_mutex_lock(&thread_registry_lock);
	failed = thread_register(t);
	pthread_mutex_unlock(&thread_registry_lock);
	if (failed) {
		unwind_thread_free(t->unwind);
		mem_unmap(t, thread_size());
		log_fail("out of memory for the thread registry");
		return NULL;
	}
	self = t;
	pthread_setspecific(thread_key, t);
	return t;
}

/* Finds the slot of STACK in the index SLOTS of CAP slots, or the empty slot where it belongs. */
static uint32_t
thread_slot(const struct site_slot *slots, uint32_t cap, uint32_t stack)
{
	uint32_t mask = cap - 1, i = (stack * 0x9e3779b1u) & mask;

	while (slots[i].stack != 0 && slots[i].stack != stack)
		i = (i + 1) & mask;
	return i;
}

/* Releases T's counters, their index and their histogram chunks. */
static void
thread_sites_free(struct thread *t)
{
	mem_unmap(t->site_slots, (size_t)t->site_cap * sizeof *t->site_slots);
	mem_unmap(t->site_vals, (size_t)t->site_cap / 2 * sizeof *t->site_vals);
	mem_unmap(t->more, (size_t)t->more_cap * sizeof *t->more);
	mem_unmap(t->full, (size_t)t->full_cap * sizeof *t->full);
}

/*
 * Makes room in the array *P of *CAP entries of SIZE bytes, COUNT in use, for N more; -1 if out
 * of memory.  Room costs nothing until it is used: untouched pages of a mapping are not there.
 */
static int
thread_room(void **p, uint32_t *cap, uint32_t count, uint32_t n, size_t size)
{
	uint64_t ncap = *cap ? *cap : 256;
	void *q;

	if (count + (uint64_t)n <= *cap)
		return 0;
	while (ncap < count + (uint64_t)n)
		ncap *= 2;
	if (ncap >= SITE_FULL || (q = mem_grow(*p, *cap * size, ncap * size)) == NULL)
		return -1;
	*p = q;
	*cap = ncap;
	return 0;
}

/* Makes room in T for N more chunks and N more histograms; -1 if out of memory. */
static int
thread_hist_room(struct thread *t, uint32_t n)
{
	if (thread_room((void **)&t->more, &t->more_cap, t->more_count, n, sizeof *t->more) != 0)
		return -1;
	return thread_room((void **)&t->full, &t->full_cap, t->full_count, n, sizeof *t->full);
}

/*
 * Counts N frees of lifetime bucket BUCKET in T's counters C, wherever their histogram is: a
 * pair of C's own, empty or not, a pair of its chunk (made if C has none), or its whole
 * histogram, made when the pairs run out.  The same caller as thread_site().  Returns 0, or -1
 * if out of memory.
 */
int
thread_hist_more(struct thread *t, struct site_counts *c, int bucket, uint64_t n)
{
	uint64_t key = (uint64_t)bucket << HS_PAIR_SHIFT, pairs[2 + SITE_MORE], *pair = NULL;
	struct site_full *f;
	struct site_more *m;
	int k, np;

	assert(thread_may_count(t));
	if (c->more >= SITE_FULL) {
		t->full[c->more - SITE_FULL].hist[bucket] += n;
		return 0;
	}
	for (k = 0; k < 2 && pair == NULL; k++) {
		if (c->hist[k] == 0 || (c->hist[k] & ~HS_PAIR_COUNT) == key)
			pair = &c->hist[k];
	}
	if (pair == NULL && c->more == 0) {
		if (thread_hist_room(t, 1) != 0)
			return -1;
		memset(&t->more[t->more_count], 0, sizeof *t->more);
		c->more = ++t->more_count;
	}
	m = c->more != 0 ? &t->more[c->more - 1] : NULL;
	for (k = 0; k < SITE_MORE && pair == NULL; k++) {
		if (m->hist[k] == 0 || (m->hist[k] & ~HS_PAIR_COUNT) == key)
			pair = &m->hist[k];
	}
	if (pair != NULL) {
		*pair = *pair == 0 ? key | n : *pair + n;
		return 0;
	}
	/* The pairs are all taken: a whole histogram (its chunk is left unused). */
	if (thread_hist_room(t, 1) != 0)
		return -1;
	np = thread_hist_pairs(t, c, pairs);
	f = &t->full[t->full_count];
	memset(f, 0, sizeof *f);
	for (k = 0; k < np; k++)
		f->hist[pairs[k] >> HS_PAIR_SHIFT] += pairs[k] & HS_PAIR_COUNT;
	f->hist[bucket] += n;
	c->hist[0] = c->hist[1] = 0;
	c->more = SITE_FULL + t->full_count++;
	return 0;
}

/*
 * Writes the histogram pairs of T's counters C to OUT (room for HS_HIST), in no order; returns
 * their number.
 */
int
thread_hist_pairs(const struct thread *t, const struct site_counts *c, uint64_t *out)
{
	const struct site_more *m;
	const struct site_full *f;
	int k, n = 0;

	if (c->more >= SITE_FULL) {
		f = &t->full[c->more - SITE_FULL];
		for (k = 0; k < HS_HIST; k++) {
			if (f->hist[k] != 0)
				out[n++] = (uint64_t)k << HS_PAIR_SHIFT | f->hist[k];
		}
		return n;
	}
	for (k = 0; k < 2 && c->hist[k] != 0; k++)
		out[n++] = c->hist[k];
	if (c->more != 0) {
		m = &t->more[c->more - 1];
		for (k = 0; k < SITE_MORE && m->hist[k] != 0; k++)
			out[n++] = m->hist[k];
	}
	return n;
}

/* Doubles the room of T's counters and of their index; -1 if out of memory. */
static int
thread_grow(struct thread *t)
{
	uint32_t cap = t->site_cap ? t->site_cap * 2 : 64, i;
	struct site_slot *slots, *old = t->site_slots;
	struct site_counts *vals;

	if ((slots = mem_map((size_t)cap * sizeof *slots)) == NULL)
		return -1;
	/* Pages of vals that were never touched cost nothing, and mremap copies none. */
	vals = mem_grow(t->site_vals, (size_t)t->site_cap / 2 * sizeof *vals,
	    (size_t)cap / 2 * sizeof *vals);
	if (vals == NULL) {
		mem_unmap(slots, (size_t)cap * sizeof *slots);
		return -1;
	}
	for (i = 0; i < t->site_cap; i++) {
		if (old[i].stack != 0)
			slots[thread_slot(slots, cap, old[i].stack)] = old[i];
	}
	mem_unmap(old, (size_t)t->site_cap * sizeof *old);
	t->site_vals = vals;
	t->site_slots = slots;
	t->site_cap = cap;
	return 0;
}

#ifndef NDEBUG
/*
 * Debug builds: returns 1 if the calling thread may change T's counters: it holds a shard lock
 * and T is its own state, or it holds the world lock.
 */
int
thread_may_count(const struct thread *t)
{
	return (spin_count > 0 && t == self) || table_world_held();
}
#endif

/*
 * Creates T's counters for the site STACK, which has none, at zero, and returns them; NULL if out
 * of memory.  The same caller as thread_site().
 */
struct site_counts *
thread_site_add(struct thread *t, uint32_t stack)
{
	uint32_t i;

	assert(thread_may_count(t));
	if ((t->site_count + 1) * 2 > t->site_cap && thread_grow(t) != 0)
		return NULL;
	i = thread_slot(t->site_slots, t->site_cap, stack);
	t->site_slots[i].stack = stack;
	t->site_slots[i].index = t->site_count;
	return &t->site_vals[t->site_count++];
}

/* Adds the counts C into TO. */
void
site_sums_add(struct site_sums *to, const struct site_sums *c)
{
	to->allocs += c->allocs;
	to->frees += c->frees;
	to->alloc_bytes += c->alloc_bytes;
	to->freed_bytes += c->freed_bytes;
	to->temporaries += c->temporaries;
}

/*
 * Adds the live state at the current peak of C (see peak.c) into that of TO, before C's counts
 * are added to TO's.
 */
static void
thread_fold_peak(struct site_counts *to, const struct site_counts *c)
{
	uint32_t epoch = atomic_load(&peak_epoch);

	peak_touch(to);
	if (c->peak_epoch == epoch) {
		to->peak_bytes += c->peak_bytes;
		to->peak_blocks += c->peak_blocks;
	} else {
		to->peak_bytes += (int64_t)(c->s.alloc_bytes - c->s.freed_bytes);
		to->peak_blocks += (int32_t)(c->s.allocs - c->s.frees);
	}
}

/*
 * Adds every counter of FROM into INTO; the caller holds the world lock.  -1 if out of memory,
 * and then nothing was added: every site of FROM gets its counters in INTO (at zero, if new),
 * and INTO room for a chunk and a histogram per pair of FROM's, before the first is added, since FROM's state
 * stays registered after a failure (thread_exit) and counters already added to INTO would be
 * counted twice.  Counters changed in either have changed in INTO.
 */
static int
thread_fold(struct thread *into, const struct thread *from)
{
	uint64_t pairs[HS_HIST];
	struct site_counts *to;
	const struct site_counts *c;
	uint32_t i, npairs = 0;
	int k, n;

	assert(table_world_held());
	for (i = 0; i < from->site_cap; i++) {
		if (from->site_slots[i].stack == 0)
			continue;
		if (thread_site(into, from->site_slots[i].stack) == NULL)
			return -1;
		npairs += thread_hist_pairs(from, &from->site_vals[from->site_slots[i].index],
		    pairs);
	}
	if (thread_hist_room(into, npairs) != 0)
		return -1;
	for (i = 0; i < from->site_cap; i++) {
		if (from->site_slots[i].stack == 0)
			continue;
		to = thread_site(into, from->site_slots[i].stack);
		c = &from->site_vals[from->site_slots[i].index];
		thread_fold_peak(to, c);
		site_sums_add(&to->s, &c->s);
		n = thread_hist_pairs(from, c, pairs);
		for (k = 0; k < n; k++)
			thread_hist_more(into, to, pairs[k] >> HS_PAIR_SHIFT,
			    pairs[k] & HS_PAIR_COUNT);
		if (c->gen > to->gen)
			to->gen = c->gen;
	}
	return 0;
}

/* The thread-exit destructor: moves the ending thread's counters to retired and frees its state. */
static void
thread_exit(void *arg)
{
	struct thread *t = arg;
	size_t i;
	int kept = 0;

	pthread_mutex_lock(&thread_registry_lock);
	table_lock_all();
	peak_flush(t);		/* its bytes stay in the live heap, no longer in a delta */
	if (thread_fold(&retired, t) != 0)
		kept = 1;	/* keep the state registered rather than lose its counts */
	else {
		for (i = 0; i < registry_len; i++) {
			if (registry[i] == t) {
				registry[i] = registry[--registry_len];
				break;
			}
		}
	}
	table_unlock_all();
	pthread_mutex_unlock(&thread_registry_lock);
	self = NULL;
	if (kept)
		return;
	unwind_thread_free(t->unwind);
	thread_sites_free(t);
	mem_unmap(t, thread_size());
}

/*
 * Returns 1 if the calling thread is the only live thread with a state: then holding the world
 * lock stops no one.  The caller holds the registry lock.
 */
int
thread_alone(void)
{
	assert(mutex_held(&thread_registry_lock));
	return self != NULL && registry_len == 1 && registry[0] == self;
}

/*
 * Calls FN for every thread's state, live and retired; the caller holds the world lock (the
 * registry lock keeps the list still, the shard locks the counters FN reads).
 */
void
thread_foreach(void (*fn)(struct thread *, void *), void *arg)
{
	size_t i;

	assert(table_world_held());
	for (i = 0; i < registry_len; i++)
		fn(registry[i], arg);
	fn(&retired, arg);
}

/* Sets up the registry; called once by the constructor. */
void
thread_init(void)
{
	if (pthread_key_create(&thread_key, thread_exit) != 0)
		log_fail("cannot create a thread key");
}

/* In a forked child: this thread has a new kernel tid. */
void
thread_atfork_child(void)
{
	if (self != NULL) {
		self->tid = syscall(SYS_gettid);
		thread_tids[self->id] = self->tid;
	}
}
