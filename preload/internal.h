/*
 * Declarations shared by the files of libheapscope.so.  Nothing here is exported: the library is
 * built with -fvisibility=hidden and only the hooks (hooks.c) and the heapscope_* API carry
 * HS_EXPORT.
 *
 * Locking, outermost first: snap_lock (one snapshot at a time) > thread_registry_lock > the
 * shard locks in index order > map_lock > stack_lock.  The allocation path takes one shard lock
 * at a time and nothing else (stack_lock only on a new stack).  Everything that a snapshot must
 * see consistently (blocks, per-thread site counts, thread totals) changes only under a shard
 * lock, so holding every shard lock freezes it.  A leak scan (scan.c) then also stops every other
 * thread, after map_lock is released: until they run again it takes no lock and calls no malloc,
 * since a stopped thread may hold any lock of its own, of libc's or of heapscope's lower ones.
 *
 * A function whose caller must hold a lock says so and, in debug builds (NDEBUG undefined),
 * asserts it, as SQLite asserts unixMutexHeld(): mutex_held() for a pthread mutex (glibc keeps
 * its owner's tid in every mutex, whatever its type), spin_held() for a spin lock (which
 * records its holder in debug builds only), spin_count for "a shard lock", table_world_held()
 * for the world lock (the registry lock and every shard lock) and snap_held() for snap_lock.
 * Release builds keep none of it: their code is the same as without the checks.
 */
#ifndef HS_INTERNAL_H
#define HS_INTERNAL_H

#include <sys/types.h>
#include <assert.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "schema.h"

#define HS_EXPORT __attribute__((visibility("default")))
#define HS_TLS __attribute__((tls_model("initial-exec")))
#define HS_LIKELY(x) __builtin_expect(!!(x), 1)
#define HS_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* For a static function of the allocation path that has more than one caller: no call there. */
#define HS_ALWAYS_INLINE __attribute__((always_inline))

/* Lifetime histogram: bucket b counts lifetimes in [2^b, 2^(b+1)) ns; the last is open-ended. */
#define HS_HIST 48

/* Tracing state, hs_state. */
enum {
	HS_BOOT,	/* before the constructor: nothing is recorded */
	HS_ON,		/* recording */
	HS_OFF		/* stopped for good: dormant, failed, or after the exit snapshot */
};
extern _Atomic int hs_state;

/* Settings read from the environment once, at start-up (boot.c). */
struct hs_config {
	int depth;		/* frames kept per stack, 1..UNWIND_MAX_DEPTH */
	int signal;		/* snapshot signal, 0 for none */
	double interval;	/* seconds between interval snapshots, 0 for none */
	char output[PATH_MAX];	/* output pattern, absolute, "%p" not yet expanded */
	int explicit_output;	/* 1 when HEAPSCOPE_OUTPUT gave the pattern */
	int leaks;		/* 1: full snapshots scan for leaks (HEAPSCOPE_LEAKS) */
#ifndef NDEBUG
	int fault_map;		/* debug builds: the call of mem.c that fails, from 1; 0 = none
				   (HEAPSCOPE_FAULT_MAP) */
	int fault_persist;	/* debug builds: 1: every call after it fails too
				   (HEAPSCOPE_FAULT_PERSIST) */
#endif
};
extern struct hs_config hs_cfg;

/* A spin lock for the short critical sections of the allocation path. */
typedef struct {
	atomic_int locked;		/* 1 while held */
#ifndef NDEBUG
	_Atomic uintptr_t owner;	/* debug builds: the holder's pthread_self(), 0 when free */
#endif
} hs_spin;
void spin_wait(hs_spin *);

#ifndef NDEBUG
extern __thread int spin_count HS_TLS;	/* debug builds: spin locks the thread holds (table.c) */

/* Debug builds: returns 1 if the calling thread holds S. */
static inline int
spin_held(const hs_spin *s)
{
	return atomic_load_explicit(&s->owner, memory_order_relaxed) == (uintptr_t)pthread_self();
}

/*
 * Debug builds: returns 1 if the calling thread holds M.  glibc records in a mutex the tid its
 * thread descriptor holds, which a mutex taken here shows; gettid() would not do, since a vfork
 * child records the parent's.
 */
static inline int
mutex_held(const pthread_mutex_t *m)
{
	pthread_mutex_t probe = PTHREAD_MUTEX_INITIALIZER;
	int self;

	pthread_mutex_lock(&probe);
	self = probe.__data.__owner;
	pthread_mutex_unlock(&probe);
	return m->__data.__owner == self;
}
#endif

/* Takes a spin lock: one atomic exchange when it is free, spin_wait() when it is not. */
static inline void
spin_lock(hs_spin *s)
{
	if (HS_UNLIKELY(atomic_exchange_explicit(&s->locked, 1, memory_order_acquire)))
		spin_wait(s);
#ifndef NDEBUG
	atomic_store_explicit(&s->owner, (uintptr_t)pthread_self(), memory_order_relaxed);
	spin_count++;
#endif
}

/* Releases a spin lock that the calling thread holds. */
static inline void
spin_unlock(hs_spin *s)
{
#ifndef NDEBUG
	assert(spin_held(s));
	atomic_store_explicit(&s->owner, 0, memory_order_relaxed);
	spin_count--;
#endif
	atomic_store_explicit(&s->locked, 0, memory_order_release);
}

/* boot.c */
extern void *(*real_malloc)(size_t);
extern void (*real_free)(void *);
extern void *(*real_calloc)(size_t, size_t);
extern void *(*real_realloc)(void *, size_t);
extern int (*real_posix_memalign)(void **, size_t, size_t);
extern void *(*real_aligned_alloc)(size_t, size_t);
extern void *(*real_memalign)(size_t, size_t);
extern void *(*real_valloc)(size_t);
extern void *(*real_pvalloc)(size_t);
extern size_t (*real_malloc_usable_size)(void *);
extern void *(*real_mmap)(void *, size_t, int, int, int, off_t);
extern int (*real_munmap)(void *, size_t);
extern void *(*real_mremap)(void *, size_t, size_t, int, ...);
extern void *(*real_dlopen)(const char *, int);
extern int (*real_dlclose)(void *);
extern void (*real__exit)(int);
void boot_symbols(void);
void *boot_alloc(size_t size, size_t align);
int boot_owns(const void *);
size_t boot_size(const void *);
extern pid_t hs_pid;
extern uint64_t hs_start_ticks;
extern double hs_start_time;
uint64_t clock_ticks(void);
double clock_ticks_to_sec(uint64_t);
uint64_t clock_ticks_to_ns(uint64_t);
double clock_now(void);

/* log.c */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* mem.c: memory for heapscope's own data, straight from the kernel. */
void *mem_map(size_t size);
void mem_unmap(void *, size_t size);
void *mem_grow(void *, size_t old_size, size_t new_size);

/*
 * Per-allocation-site counters kept by each thread (thread.c), 64 bytes.  Their lifetime
 * histogram is sparse: most sites see one or two lifetime buckets, which hist[] holds as pairs
 * bucket << HS_PAIR_SHIFT | frees (0 = an empty pair); the next seven go to a chunk of pairs in
 * the thread's site_more, and a site that meets more than that gets a whole histogram in the
 * thread's site_full instead, its pairs moved there: the few sites with many lifetimes are the
 * busy ones, whose frees then cost no search.
 */
struct site_sums {
	uint64_t allocs;	/* blocks allocated at the site */
	uint64_t frees;		/* of those, freed or moved by realloc */
	uint64_t alloc_bytes;	/* bytes allocated */
	uint64_t freed_bytes;	/* bytes freed */
	uint64_t temporaries;	/* frees before the thread's next allocation */
};
#define HS_PAIR_SHIFT 58
#define HS_PAIR_COUNT ((1ull << HS_PAIR_SHIFT) - 1)
struct site_counts {
	struct site_sums s;	/* the counts */
	uint64_t hist[2];	/* the first two lifetime buckets: pairs; unused once full */
	uint32_t more;		/* 1 + index in site_more of its chunk, 0 = none; or
				   SITE_FULL + index in site_full of its histogram */
	uint32_t gen;		/* site_gen when they last changed, 0 if never */
	int64_t peak_bytes;	/* alloc_bytes - freed_bytes at the peak of peak_epoch */
	int32_t peak_blocks;	/* allocs - frees then */
	uint32_t peak_epoch;	/* the peak they last saw (peak.c) */
};
#define SITE_MORE 8
#define SITE_FULL 0x80000000u
struct site_more {
	uint64_t hist[SITE_MORE];	/* more pairs, the empty ones last */
};
struct site_full {
	uint64_t hist[HS_HIST];	/* frees by lifetime bucket */
};

/*
 * The generation of the site counters: a change of counters stores site_gen in their gen, and
 * a snapshot, under the world lock, takes the counters whose gen is above that of the last
 * snapshot written, then moves site_gen on (snapshot.c).
 */
extern _Atomic uint32_t site_gen;

/*
 * What a thread's previous Python capture found at each of its first levels: the code object
 * and its index key (signature << 32 | id), so that the next capture, whose frames are mostly
 * the same, checks a code object's signature without probing the code index.
 */
#define PY_MEMO 16
struct py_memo {
	uintptr_t code[PY_MEMO];
	uint64_t key[PY_MEMO];
};

/* A thread's state; threads[] is the registry.  Counts change only under a shard lock. */
struct thread {
	uint32_t id;			/* heapscope's thread number, from 1 */
	pid_t tid;			/* kernel thread id */
	uintptr_t last_alloc;		/* address of its latest allocation, for temporaries */
	int64_t peak_delta;		/* bytes it allocated less those it freed since its last
					   flush into the live heap (peak.c) */
	struct unwind_thread *unwind;	/* the unwinder's cache of the last stack */
	uint32_t site_cap;		/* slots in site_slots, a power of two */
	uint32_t site_count;		/* sites counted; site_count <= site_cap / 2 */
	struct site_slot {
		uint32_t stack;		/* stack id, 0 = empty */
		uint32_t index;		/* its counters: site_vals[index] */
	} *site_slots;			/* the index by stack id */
	struct site_counts *site_vals;	/* counters in the order the sites came: site_count of
					   them, room for site_cap / 2 */
	struct site_more *more;		/* the chunks of further histogram pairs */
	uint32_t more_count;		/* chunks in use */
	uint32_t more_cap;		/* chunks mapped */
	struct site_full *full;		/* the whole histograms of the sites of many lifetimes */
	uint32_t full_count;		/* histograms in use */
	uint32_t full_cap;		/* histograms mapped */
	uint32_t cache_mask;		/* entries in cache - 1 */
	struct thread_cache {
		uint64_t hash;		/* unwind_capture()'s hash of the stack */
		uint32_t stack;		/* its id, 0 = empty slot */
		uint32_t site;		/* 1 + index of its counters in site_vals, 0 if not
					   known yet */
	} *cache;			/* stack ids by hash, a direct-mapped cache: 256 entries,
					   4096 in Python mode (its sites are many), after pcs */
	struct thread_cache *last;	/* the entry of the stack stack_intern() gave last */
	struct py_memo py_memo;		/* of its previous Python capture */
	uintptr_t pcs[];		/* capture buffer: hs_cfg.depth entries, then the Python
				   tag and py.depth frames in Python mode */
};
void site_sums_add(struct site_sums *to, const struct site_sums *c);
int thread_hist_more(struct thread *, struct site_counts *, int bucket, uint64_t n);
int thread_hist_pairs(const struct thread *, const struct site_counts *, uint64_t *out);
struct thread *thread_self(void);
struct site_counts *thread_site_add(struct thread *, uint32_t stack);
#ifndef NDEBUG
int thread_may_count(const struct thread *);
#endif

/*
 * Returns T's counters for the site STACK, creating them at zero (thread_site_add); NULL if out
 * of memory.  The caller holds a shard lock and T is its own thread (or the world lock, for
 * retired).  Inline: every birth and death on the allocation path comes here.  The probe is
 * thread_slot()'s (thread.c), written out: in this shape deepstack measured 4% faster.
 */
static inline struct site_counts *
thread_site(struct thread *t, uint32_t stack)
{
	uint32_t mask = t->site_cap - 1, i = (stack * 0x9e3779b1u) & mask;

	assert(thread_may_count(t));
	if (HS_LIKELY(t->site_cap != 0)) {
		while (t->site_slots[i].stack != 0) {
			if (t->site_slots[i].stack == stack)
				return &t->site_vals[t->site_slots[i].index];
			i = (i + 1) & mask;
		}
	}
	return thread_site_add(t, stack);
}

/*
 * Counts a free of lifetime bucket BUCKET in T's counters C (T and the caller as for
 * thread_site); returns 0, or -1 if out of memory.  Inline for the first two buckets a site
 * meets, which are most sites' only ones, and for a whole histogram.
 */
static inline int
thread_hist(struct thread *t, struct site_counts *c, int bucket)
{
	uint64_t key = (uint64_t)bucket << HS_PAIR_SHIFT;

	if (HS_UNLIKELY(c->more >= SITE_FULL)) {
		t->full[c->more - SITE_FULL].hist[bucket]++;
		return 0;
	}
	if (HS_LIKELY(c->hist[0] != 0 && (c->hist[0] & ~HS_PAIR_COUNT) == key)) {
		c->hist[0]++;
		return 0;
	}
	if (c->hist[1] != 0 && (c->hist[1] & ~HS_PAIR_COUNT) == key) {
		c->hist[1]++;
		return 0;
	}
	return thread_hist_more(t, c, bucket, 1);
}
void thread_init(void);
int thread_alone(void);

/* Returns T's counters for the site STACK, NULL if T has none; as thread_site() otherwise. */
static inline struct site_counts *
thread_site_find(const struct thread *t, uint32_t stack)
{
	uint32_t mask = t->site_cap - 1, i = (stack * 0x9e3779b1u) & mask;

	if (t->site_cap == 0)
		return NULL;
	while (t->site_slots[i].stack != 0) {
		if (t->site_slots[i].stack == stack)
			return &t->site_vals[t->site_slots[i].index];
		i = (i + 1) & mask;
	}
	return NULL;
}
pid_t thread_tid(uint32_t id);
void thread_atfork_child(void);
/* Calls FN for every thread's state (live and retired); caller holds the world lock. */
void thread_foreach(void (*fn)(struct thread *, void *), void *arg);
extern pthread_mutex_t thread_registry_lock;
extern uint32_t thread_count;

/* table.c: the live heap blocks, sharded by address. */
struct block {
	uintptr_t addr;		/* what the allocator returned; 0 on the free list */
	uint64_t size : 40;	/* requested size */
	uint64_t thread : 24;	/* thread that allocated it */
	uint64_t birth;		/* clock_ticks() at allocation */
	uint32_t stack;		/* allocation stack id */
	uint32_t next;		/* next index in the bucket chain or free list, 0 = none */
};
#define TABLE_SHARDS 64
/* The allocation path's operations on the table are in table.h. */
void table_lock_all(void);
void table_unlock_all(void);
/* Copies every live block to OUT (room for table_count()); caller holds the world lock. */
size_t table_copy(struct block *out);
size_t table_count(void);
#ifndef NDEBUG
int table_world_held(void);
#endif

/* map.c: live mmap regions made by the program. */
struct mapping {
	uintptr_t addr;		/* start, page aligned */
	size_t size;		/* length, whole pages */
	int prot;		/* PROT_* as passed */
	int flags;		/* MAP_* as passed */
	uint32_t stack;		/* stack id of the mmap call */
	int pyarena;		/* 1: a pymalloc arena (HS_MAPPING_PYARENA), 0: an mmap */
};
void map_add(uintptr_t addr, size_t size, int prot, int flags, uint32_t stack, int pyarena);
void map_remove(uintptr_t addr, size_t size);
void map_move(uintptr_t old_addr, size_t old_size, uintptr_t new_addr, size_t new_size);
size_t map_copy(struct mapping **out, char **cause);
void map_atfork_prepare(void);
void map_atfork_release(void);

/*
 * python.c: CPython's allocator domains.  A stack of a block allocated through a domain holds,
 * after its native frames, the word PY_TAG | domain << 8 | number of Python frames, then one word
 * per Python frame, most recent first: code id << 32 | byte offset of the instruction.
 */
#define PY_TAG 0xffff000000000000ull
#define PY_RAW 0
#define PY_MEM 1
#define PY_OBJ 2
#define PY_NONE 3		/* not a domain block: the malloc family or mmap */
#define PY_MAX_DEPTH 256
struct py_info {
	int minor;			/* 11, 12 or 13: tracing a CPython 3.minor; 0 if not */
	char version[16];		/* "3.11.2" */
	int depth;			/* Python frames kept per stack (HEAPSCOPE_PY_DEPTH) */
	int native_depth;		/* native frames kept for a domain's blocks: the outer
					   ones are the interpreter's (HEAPSCOPE_PY_NATIVE_DEPTH) */
	uintptr_t type_type;		/* &PyType_Type */
	unsigned long preheader;	/* tp_flags bits that add two words before the GC header */
};
extern struct py_info py;
#define PY_TP_NAME 24			/* offsetof (PyTypeObject, tp_name) */
#define PY_TP_BASICSIZE 32		/* offsetof (PyTypeObject, tp_basicsize) */
#define PY_TP_FLAGS 168			/* offsetof (PyTypeObject, tp_flags) */
#define PY_TPFLAGS_HAVE_GC (1ul << 14)
#define PY_GC_HEAD 16			/* sizeof (PyGC_Head) */
void py_init(void);
void py_check(void);
int py_check_pending(void);
int py_capture(struct py_memo *, uintptr_t *out, int domain, uint64_t *hash);
/* A code object seen in a Python traceback, numbered from 1; never changes once published. */
struct py_code {
	uint32_t id;
	int firstlineno;
	const char *filename, *name;	/* UTF-8 copies */
	const uint8_t *linetable;	/* copy of co_linetable */
	size_t linetable_len;
};
uint32_t py_code_count(void);
const struct py_code *py_code_get(uint32_t id);
int py_line(const struct py_code *, uint32_t offset);

/*
 * stacks.c: deduplicated stacks, their native frames in a tree of chunks (stack_nodes), their
 * Python frames in a tree of frames (py_tracebacks).
 */
struct stack_info {
	int depth;		/* native frames */
	int domain;		/* PY_RAW, PY_MEM, PY_OBJ or PY_NONE */
	uint32_t node;		/* the node of its innermost HS_STACK_CHUNK frames, 0 if depth 0 */
	uintptr_t innermost;	/* its innermost frame, 0 if depth 0 */
	int npy;		/* Python frames */
	uint32_t py;		/* the node of the most recent one in the Python tree, 0 if none */
};
uint32_t stack_intern(struct thread *, const uintptr_t *pcs, int n, uint64_t hash);
uint32_t stack_count(void);
void stack_info(uint32_t id, struct stack_info *);
int stack_domain(uint32_t id);	/* PY_RAW, PY_MEM, PY_OBJ or PY_NONE */
uint32_t stack_node_count(int pytree);
const uintptr_t *stack_node_get(int pytree, uint32_t id, uint32_t *parent, int *n);
void stack_atfork_prepare(void);
void stack_atfork_parent(void);
void stack_atfork_child(void);

/* hooks.c */
extern __thread int hs_busy HS_TLS;	/* the re-entry guard: 1 while the thread is inside heapscope */

/* Returns 1 if this call is to be recorded: tracing is on and the thread is not inside it. */
static inline int
hooks_tracing(void)
{
	return !hs_busy && atomic_load_explicit(&hs_state, memory_order_relaxed) == HS_ON;
}
void hooks_own_thread(void);
int hooks_enter(int on);

/* record.c: what the hooks record. */
void record_alloc(void *p, size_t size, void *fp);
void record_alloc_py(void *p, size_t size, void *fp, int domain);
void record_map(void *p, size_t len, int prot, int flags, void *fp, int pyarena);
void record_free(void *p);	/* and frees it */
void record_free_with(void *p, void (*release)(void *ctx, void *p), void *ctx);
int record_realloc_begin(void *p, struct block *old);
void record_realloc_end(struct block *old, void *p, size_t size, void *fp);
void record_realloc_end_py(struct block *old, void *p, size_t size, void *fp, int domain);

/* modules.c: loaded objects, for offline symbolization. */
struct module {
	uint32_t id;		/* modules.id */
	uintptr_t base;		/* load bias */
	uintptr_t start, end;	/* runtime range of the PT_LOAD segments */
	char *path;		/* file name */
	char build_id[41];	/* hex, "" if none */
	int gone;		/* 1 once it was no longer loaded */
};
void modules_refresh(void);
const struct module *modules_find(uintptr_t pc);
uint32_t modules_count(void);
const struct module *modules_get(uint32_t index);
void modules_hold(void);
void modules_release(void);

/* scan.c: the leak scan of full snapshots.  Verdicts, in scan_verdict.leak: */
enum {
	SCAN_UNKNOWN,		/* not scanned */
	SCAN_REACHABLE,		/* reached from a root by pointers to block starts only */
	SCAN_POSSIBLY,		/* reached from a root, but only through some interior pointer */
	SCAN_INDIRECTLY,	/* unreached, and pointed into by another unreached block */
	SCAN_DEFINITELY		/* unreached: one per group that no other unreached block points
				   into (its lowest address) */
};
struct scan_verdict {
	uint32_t root_refs;	/* words in roots pointing into the block (saturating) */
	uint32_t block_refs;	/* words in other live blocks pointing into it (saturating) */
	uint32_t cycle;		/* leaked cycle it is in, 1.. in address order of the cycles'
				   lowest members; 0 = none */
	uint8_t leak;		/* SCAN_* */
	/* Python objects (python.c), when py.minor != 0: */
	const char *py_type;	/* type name if the block holds a Python object, else NULL */
	int64_t py_refcnt;	/* its ob_refcnt; -1 when immortal */
	uint32_t py_refs;	/* words in roots and other blocks equal to its address */
	uint32_t py_cycle;	/* garbage cycle it is in, 1..; 0 = none */
	int8_t py_garbage;	/* 1: garbage as CPython's gc sees it, 0: not, -1: not computed */
};
/* A pointer from one unreachable block into another (or itself). */
struct scan_edge {
	uint32_t from;		/* index in snap_data.blocks of the block holding the pointer */
	uint32_t to;		/* index of the block it points into */
	uint64_t offset : 63;	/* byte offset of the pointer in from */
	uint64_t interior : 1;	/* 1 when it points past to's first byte */
};
struct snap_data;
void scan_init(void);
void scan_atfork_child(void);
int scan_sort(struct block *, size_t n);
int scan_prepare(void);
int scan_collect(struct snap_data *, pid_t spare, char **cause);
void scan_classify(struct snap_data *);
void scan_release(struct snap_data *);

/* peak.c: the moment the live heap was highest, and the sites' state then. */
extern _Atomic uint32_t peak_epoch;
extern _Atomic int64_t peak_step;
extern _Atomic int64_t heap_live;
extern _Atomic int64_t peak_high;
void peak_flush(struct thread *);
struct snap_data;
int peak_collect(struct snap_data *, int always);
void peak_written(const struct snap_data *);
int peak_due(void);
void peak_atfork_child(void);

/*
 * Before counters C change: if they have not changed since the current peak began, their live
 * state is the peak's, and they keep a copy of it.  The caller holds a shard lock.
 */
static inline HS_ALWAYS_INLINE void
peak_touch(struct site_counts *c)
{
	uint32_t epoch = atomic_load_explicit(&peak_epoch, memory_order_relaxed);

	if (HS_UNLIKELY(c->peak_epoch != epoch)) {
		c->peak_bytes = (int64_t)(c->s.alloc_bytes - c->s.freed_bytes);
		c->peak_blocks = (int32_t)(c->s.allocs - c->s.frees);
		c->peak_epoch = epoch;
	}
}

/*
 * Before a free: if T's delta is a growth that takes the live heap past its peak, the state
 * before the free is a new high, which a flush at the next step would miss.  As peak_touch.
 */
static inline HS_ALWAYS_INLINE void
peak_fall(struct thread *t)
{
	if (HS_UNLIKELY(t->peak_delta > 0) &&
	    atomic_load_explicit(&heap_live, memory_order_relaxed) + t->peak_delta >
	    atomic_load_explicit(&peak_high, memory_order_relaxed))
		peak_flush(t);
}

/* Adds BYTES (negative for a free) to T's delta, flushing it at a step.  As peak_touch. */
static inline HS_ALWAYS_INLINE void
peak_count(struct thread *t, int64_t bytes)
{
	int64_t step = atomic_load_explicit(&peak_step, memory_order_relaxed);

	t->peak_delta += bytes;
	if (HS_UNLIKELY(t->peak_delta >= step || t->peak_delta <= -step))
		peak_flush(t);
}

/* snapshot.c: triggers, and what a snapshot holds on its way to the database. */
struct snap_changes;
struct snap_data {
	const char *trigger;		/* HS_TRIGGER_* */
	const char *label;		/* heapscope_snapshot()'s label, or NULL */
	int full;			/* 1: blocks[] holds every live block */
	uintptr_t stack;		/* the calling thread's stack is the program's from here up */
	double time;			/* Unix time */
	double elapsed;			/* seconds since tracing began */
	uint64_t now;			/* clock_ticks() under the world lock */
	uint32_t nstacks;		/* stack ids 1..nstacks exist */
	uint32_t gen;			/* site_gen it was taken at */
	int inplace;			/* 1: the world lock stays held until it is written, and
					   the changed sites are read from the counters then
					   (snap_site_next), not copied into sites and pairs */
	struct snap_changes *changes;	/* which sites changed */
	struct snap_site {
		uint32_t stack;		/* the site */
		uint32_t npairs;	/* its histogram pairs, in pairs[first..] */
		size_t first;		/* (a bucket may have a pair from each thread) */
		struct site_sums s;	/* its counts, summed over threads */
	} *sites;			/* the sites whose counters changed since the last snapshot
					   written, in stack order (if not inplace) */
	size_t nsites;			/* the changed sites, entries in sites if not inplace */
	size_t next_site;		/* of them, the next snap_site_next() returns */
	uint64_t *pairs;		/* the sites' histogram pairs */
	size_t npairs;			/* entries in pairs */
	struct peak_site {
		uint32_t stack;		/* the site */
		int64_t bytes;		/* its live bytes at the peak */
		int64_t blocks;		/* its live blocks then */
	} *peak;			/* the peak's sites, in stack order, if peak_epoch != 0 */
	size_t npeak;			/* entries in peak */
	uint32_t peak_epoch;		/* the peak written with it, 0 for none */
	int64_t peak_high;		/* the live heap that made it the peak */
	double peak_time;		/* when it was: Unix time */
	double peak_elapsed;		/* and seconds since tracing began */
	int peak_only;			/* 1: no snapshot of its own, only the peak */
	struct block *blocks;		/* live blocks in address order, if full */
	size_t nblocks;			/* entries in blocks */
	size_t nblocks_cap;		/* entries mapped for blocks */
	int scanned;			/* 1: verdicts and edges hold a leak scan of blocks */
	struct scan_verdict *verdicts;	/* verdicts[i]: of blocks[i], if scanned */
	struct scan_edge *edges;	/* the pointers among unreachable blocks, if scanned */
	size_t nedges;			/* entries in edges */
	struct mapping *maps;		/* live mmap regions */
	size_t nmaps;			/* entries in maps */
	pid_t *tids;			/* tids[id]: kernel tid of thread number id */
	uint32_t nthreads;		/* thread numbers 1..nthreads exist */
	/* Sums over every site, changed or not: */
	uint64_t live_bytes;		/* == sum of alloc_bytes - freed_bytes */
	uint64_t live_blocks;		/* == sum of allocs - frees == nblocks if full */
	uint64_t total_allocs;		/* sum of allocs */
	uint64_t total_frees;		/* sum of frees */
};
int snap_take(const char *trigger, const char *label, int full);
int snap_site_next(struct snap_data *, struct snap_site *, const uint64_t **pairs);
void snap_init(void);
void snap_exit(void);
void snap_py_exit(void);
#ifndef NDEBUG
int snap_held(void);
#endif

/* store.c: the SQLite database. */
int store_write(struct snap_data *, char **cause);
void store_close(void);
void store_atfork_child(void);

#endif
