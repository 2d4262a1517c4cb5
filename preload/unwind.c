/*
 * Stack capture with DWARF call frame information, built for the malloc hot path.
 *
 * At a return address, almost all x86-64 code obeys a simple rule, which dwarf.c decodes from the
 * call frame information of the code and packs in 64 bits (dwarf.h).  This file owns a global
 * cache of those rules keyed by return address (unwind_table): an open-addressing hash table of
 * (pc, rule) slots in mmap'd memory, read without any lock.  A writer stores a slot's rule before
 * its pc, so a reader that sees the pc sees the rule; slots are only ever filled, except by a
 * flush.  Misses are filled under unwind_lock by finding the module that holds the pc (a cache of
 * dl_iterate_phdr, rebuilt when glibc's counts of loaded and unloaded objects move) and having
 * dwarf.c decode the rule there.  A capture that meets a DWARF_RULE_COMPLEX is made again from the
 * start with libunwind.  A pc that has no FDE or no module is cached as DWARF_RULE_END, as is one
 * whose return address is undefined: the stack ends there.  When the table is half full a table
 * twice as large replaces it; the old one stays mapped for readers still in it.  A flush clears
 * the current table in place inside a seqlock (unwind_gen is odd meanwhile): a capture reads
 * unwind_gen before and after, and if it moved, whatever it read may be torn, so it is made with
 * libunwind.
 *
 * Each thread also keeps its previous capture (struct unwind_thread) as levels numbered from
 * the outermost frame, 1, inward; a level is the register state (pc, sp, rbp) at one frame,
 * together with where the unwind out of that frame read the next pc and rbp.  The unwind out of
 * a level depends only on its state, on the rules (fixed while unwind_gen is), on the thread's
 * stack bounds, and on the words it reads.  So when a new capture reaches a state equal to a
 * recorded level (rbp included when some rule outward uses it) and every word read from there
 * outward still holds the value it held, the rest of the stack is the recorded one: it is
 * checked and copied in one pass, and never unwound.  This is what makes alloca (rbp-based
 * CFAs), longjmp, a frame of equal size at the same place with another caller, and signal
 * handlers safe: any difference shows as a changed word or a changed state.  The recorded
 * levels also predict the rules of the new frames (the inner frames of consecutive captures
 * tend to run the same code at other depths), which spares the hash lookups.  Captures on
 * another stack (sigaltstack, coroutines) fall back to libunwind.  Reads are confined to the
 * thread's stack, [sp, stack_hi), so wrong rules give a wrong stack, never a fault.
 *
 * The hash of a stack pcs[0..n) is fmix(n, sum of mix(pcs[i]) * B^(n-1-i)) mod 2^64: the sums
 * kept per level (from the outermost) give the hash of any run of levels with one subtraction
 * and one multiplication by a power of B^-1, so reused levels need no rehashing.
 *
 * Invariants: table->used * 2 <= table->mask + 1; with L(c) = spc[UNWIND_IX(c)] and M(c) =
 * more[UNWIND_IX(c)], for 1 <= c <= depth: L(c).sp < L(c - 1).sp (L(0) is the sentinel, sp
 * UINTPTR_MAX), M(c).sum == M(c - 1).sum + mix(L(c).pc) * B^(c - 1), and when recorded, for
 * c > 1, *(L(c - 1).sp - 8) == L(c - 1).pc and *M(c).rbp_slot == M(c - 1).rbp, and *end_slot ==
 * 0.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <sys/mman.h>

#include <assert.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "dwarf.h"
#include "unwind.h"

/*
 * For functions that read words of the stack outside their own frame: what they read may lie in
 * a redzone that AddressSanitizer poisoned, which is no error here.
 */
#define UNWIND_STACK_READER __attribute__((no_sanitize_address))

/* Slots of the first rule table; it doubles when half full. */
#define UNWIND_TABLE_MIN 4096

/* Modules the first module array holds; it doubles when full. */
#define UNWIND_MODULES_MIN 64

/* Hash constants: B, odd, is the base of the positional sum; the others mix. */
#define UNWIND_HASH_B 0x9e3779b97f4a7c15ULL
#define UNWIND_HASH_MIX 0xbf58476d1ce4e5b9ULL
#define UNWIND_HASH_LEN 0x94d049bb133111ebULL

/* One slot of the rule table. */
struct unwind_slot {
	uintptr_t	pc;		/* the key, a return address; 0 while the slot is empty */
	uint64_t	rule;		/* its packed rule, stored before pc */
};

/* The rule table: open addressing with linear probing, indexed by Fibonacci hashing. */
struct unwind_table {
	size_t			 mask;		/* slots - 1; slots is a power of two */
	unsigned int		 shift;		/* 64 - log2(slots): a hash's top bits index */
	size_t			 used;		/* slots holding a pc (changed under unwind_lock) */
	size_t			 size;		/* bytes mapped for this table */
	struct unwind_table	*retired;	/* the table this one replaced, still mapped */
	struct unwind_slot	 slots[];	/* mask + 1 slots */
};

/* One frame of the capture in progress: its register state and what its unwind read. */
struct unwind_frame {
	uintptr_t	 pc;		/* pc at this frame: a return address into it */
	uintptr_t	 sp;		/* rsp at this frame: the CFA of the frame inside it */
	uintptr_t	 rbp;		/* rbp at this frame */
	uint64_t	 rule;		/* the rule at pc */
	const uintptr_t	*rbp_slot;	/* where the outer frame's rbp was read, if the rule has
					   DWARF_RULE_RBP_SAVED */
};

/* What reusing a level reads, together: its register state but rbp. */
struct unwind_spc {
	uintptr_t	 sp;		/* rsp at the level: the CFA of the level inside it */
	uintptr_t	 pc;		/* pc at the level: a return address into its frame */
};

/* The rest of what is kept of a level. */
struct unwind_more {
	uintptr_t	 rbp;		/* rbp at the level, compared only where rbp_needed */
	uint64_t	 rule;		/* the rule at pc */
	uint64_t	 sum;		/* hash sum of the level and all levels outside it */
	const uintptr_t	*rbp_slot;	/* where the outer level's rbp was read if rbp_needed
					   there, else &rbp of the outer level */
	uint32_t	 rbp_checks;	/* rbp_slot that are real reads, here and outside */
	uint32_t	 rbp_needed;	/* 1 if rbp here changes the unwind from here outward */
};

/* Index in the arrays of struct unwind_thread of level C. */
#define UNWIND_IX(c) (UNWIND_MAX_DEPTH - (c))

/*
 * A thread's state: its stack bounds and its previous capture, as levels numbered from the
 * outermost, 1, to the innermost, depth.  Level c is at index UNWIND_IX(c) of spc and more, so
 * that going inward goes down in memory.  Index UNWIND_IX(0) is a sentinel, level 0: its sp is
 * UINTPTR_MAX, above every level's, its pc 0, its more all zero.  Level c > 1 read its outer
 * level's pc from the word just below that level's sp.
 */
struct unwind_thread {
	uintptr_t		 stack_lo;	/* lowest address of the thread's stack */
	uintptr_t		 stack_hi;	/* end of the thread's stack: every CFA is at most this */
	int			 stack_known;	/* 0 until looked up, 1 if known, -1 if unavailable */
	volatile sig_atomic_t	 busy;		/* 1 inside unwind_capture: a signal handler's
						   capture must leave the levels alone */
	unsigned long		 gen;		/* unwind_gen when the levels were recorded */
	int			 depth;		/* levels recorded; 0 if none to reuse */
	const uintptr_t		*end_slot;	/* where level 1 read the 0 that ended the stack,
						   else &unwind_zero */
	struct unwind_stats	 stats;		/* counters for unwind_thread_stats */
	struct unwind_spc	 spc[2 * UNWIND_MAX_DEPTH + 1];	/* sp and pc of each level; past
								   the sentinel, zeros */
	struct unwind_more	 more[UNWIND_MAX_DEPTH + 1];	/* the rest of each level */
	struct unwind_frame	 scratch[UNWIND_MAX_DEPTH];	/* the capture in progress,
								   innermost first */
};

/* The value a level that read nothing for its outer level is checked against. */
static const uintptr_t		 unwind_zero;
/* Serializes filling, growing and flushing the rule table, and the module array. */
static pthread_mutex_t		 unwind_lock = PTHREAD_MUTEX_INITIALIZER;
/* The current rule table, NULL until the first miss; read without the lock. */
static struct unwind_table	*unwind_table;
/* Seqlock of the rule table: odd while a flush clears it, bumped twice per flush. */
static unsigned long		 unwind_gen;
/* The loaded objects (under unwind_lock). */
static struct dwarf_object	*unwind_modules;
/* Entries used in unwind_modules. */
static size_t			 unwind_nmodules;
/* Entries unwind_modules has room for. */
static size_t			 unwind_modules_cap;
/* 1 when unwind_modules lists every object of unwind_adds and unwind_subs. */
static int			 unwind_modules_valid;
/* dlpi_adds and dlpi_subs when unwind_modules was built. */
static unsigned long long	 unwind_adds, unwind_subs;
/* B^i and B^-i mod 2^64 for 0 <= i <= UNWIND_MAX_DEPTH. */
static uint64_t			 unwind_pow[UNWIND_MAX_DEPTH + 1];
static uint64_t			 unwind_ipow[UNWIND_MAX_DEPTH + 1];
/* Fills unwind_pow and unwind_ipow once. */
static pthread_once_t		 unwind_once = PTHREAD_ONCE_INIT;
/* The signal mask to restore after fork, saved by unwind_fork_prepare under unwind_lock. */
static sigset_t			 unwind_fork_mask;

#ifndef NDEBUG
/* The thread that holds unwind_lock while unwind_lock_holding (debug builds). */
static pthread_t		 unwind_lock_holder;
/* 1 while a thread holds unwind_lock (debug builds). */
static int			 unwind_lock_holding;

/*
 * Notes that the calling thread has taken unwind_lock (HOLDING 1) or is about to release it (0),
 * for unwind_lock_held.  The mutex's own record of its owner will not do: glibc keeps there the
 * tid of its thread descriptor, which in a vfork child is still the parent's.
 */
static void
unwind_lock_note(int holding)
{
	unwind_lock_holder = pthread_self();
	unwind_lock_holding = holding;
}

/* Returns 1 if the calling thread holds unwind_lock (debug builds, for assertions). */
static int
unwind_lock_held(void)
{
	return unwind_lock_holding && pthread_equal(unwind_lock_holder, pthread_self());
}
#else
/* Notes nothing: release builds do not check who holds unwind_lock. */
static inline void
unwind_lock_note(int holding)
{
	(void)holding;
}
#endif

/* Maps SIZE zeroed bytes; NULL on failure. */
static void *
unwind_map(size_t size)
{
	void	*p;

	p = mmap(NULL, size, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* Fills the tables of powers of the hash base. */
static void
unwind_init(void)
{
	uint64_t	inv = UNWIND_HASH_B;
	int		i;

	/* Newton's iteration doubles the correct low bits of the inverse each time. */
	for (i = 0; i < 6; i++)
		inv *= 2 - UNWIND_HASH_B * inv;
	unwind_pow[0] = unwind_ipow[0] = 1;
	for (i = 1; i <= UNWIND_MAX_DEPTH; i++) {
		unwind_pow[i] = unwind_pow[i - 1] * UNWIND_HASH_B;
		unwind_ipow[i] = unwind_ipow[i - 1] * inv;
	}
}

/* Returns the per-pc term of the hash sum before its positional factor. */
static inline uint64_t
unwind_mix(uintptr_t pc)
{
	uint64_t	x = (uint64_t)pc * UNWIND_HASH_MIX;

	return x ^ (x >> 31);
}

/* Returns the hash of a stack of N pcs whose positional sum is SUM. */
static inline uint64_t
unwind_final(uint64_t sum, int n)
{
	uint64_t	x = sum ^ ((uint64_t)n * UNWIND_HASH_LEN);

	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* Returns the hash of PCS[0..N), computed from the values alone. */
static uint64_t
unwind_hash_pcs(const uintptr_t *pcs, int n)
{
	uint64_t	sum = 0;
	int		i;

	/* Horner's rule: the same sum as with the tables, for any n. */
	for (i = 0; i < n; i++)
		sum = sum * UNWIND_HASH_B + unwind_mix(pcs[i]);
	return unwind_final(sum, n);
}

/*
 * Steps out of the frame at SP, whose rbp is *RBP, by RULE (of kind DWARF_RULE_SIMPLE): returns
 * the CFA, the caller's sp, with its return address just below; the caller's rbp goes to *RBP,
 * and where it was read from to *SLOT when the rule saved it.  Returns 0 if the step would read
 * or land outside [SP, HI]: the stack ends at this frame, and none needs its rbp.
 */
static inline uintptr_t UNWIND_STACK_READER
unwind_step(uint64_t rule, uintptr_t sp, uintptr_t hi, uintptr_t *rbp, const uintptr_t **slot)
{
	const uintptr_t	*at;
	uintptr_t	 cfa;

	if (!(rule & (DWARF_RULE_CFA_RBP | DWARF_RULE_RBP_SAVED))) {
		/* The usual rule, without a branch more: CFA = rsp + off, rbp unchanged. */
		cfa = sp + dwarf_rule_cfa_off(rule);
	} else {
		cfa = ((rule & DWARF_RULE_CFA_RBP) ? *rbp : sp) + dwarf_rule_cfa_off(rule);
		if (rule & DWARF_RULE_RBP_SAVED) {
			at = (const uintptr_t *)(cfa + dwarf_rule_rbp_off(rule));
			if ((uintptr_t)at < sp || (uintptr_t)at > hi - sizeof *at)
				return 0;
			*slot = at;
			*rbp = *at;
		}
	}
	if (cfa < sp + sizeof cfa || cfa > hi)
		return 0;
	return cfa;
}

/* Returns the first slot index for PC in table T. */
static inline size_t
unwind_table_index(const struct unwind_table *t, uintptr_t pc)
{
	return (size_t)(((uint64_t)pc * UNWIND_HASH_B) >> t->shift);
}

/* Maps an empty table of SLOTS slots (a power of two); NULL on failure. */
static struct unwind_table *
unwind_table_new(size_t slots)
{
	struct unwind_table	*t;
	size_t			 size, bits = 0;

	size = sizeof *t + slots * sizeof t->slots[0];
	if ((t = unwind_map(size)) == NULL)
		return NULL;
	while (((size_t)1 << bits) < slots)
		bits++;
	t->mask = slots - 1;
	t->shift = 64 - bits;
	t->size = size;
	return t;
}

/* Returns the rule of PC in table T, DWARF_RULE_NONE if absent.  The caller holds unwind_lock. */
static uint64_t
unwind_table_find(const struct unwind_table *t, uintptr_t pc)
{
	size_t	i;

	assert(unwind_lock_held());
	for (i = unwind_table_index(t, pc); t->slots[i].pc != 0; i = (i + 1) & t->mask) {
		if (t->slots[i].pc == pc)
			return t->slots[i].rule;
	}
	return DWARF_RULE_NONE;
}

/* Puts (PC, RULE) in table T, which has room and lacks PC.  The caller holds unwind_lock. */
static void
unwind_table_put(struct unwind_table *t, uintptr_t pc, uint64_t rule)
{
	size_t	i;

	assert(unwind_lock_held());
	assert((t->used + 1) * 2 <= t->mask + 1);
	for (i = unwind_table_index(t, pc); t->slots[i].pc != 0; i = (i + 1) & t->mask)
		assert(t->slots[i].pc != pc);
	__atomic_store_n(&t->slots[i].rule, rule, __ATOMIC_RELAXED);
	__atomic_store_n(&t->slots[i].pc, pc, __ATOMIC_RELEASE);
	t->used++;
}

/*
 * Adds (PC, RULE) to the current table, replacing it with one twice as large when it would be
 * more than half full; if no memory can be had the rule is simply not cached.  The caller holds
 * unwind_lock.
 */
static void
unwind_table_insert(uintptr_t pc, uint64_t rule)
{
	struct unwind_table	*t = unwind_table, *n;
	size_t			 i;

	assert(unwind_lock_held());
	if ((t->used + 1) * 2 > t->mask + 1) {
		if ((n = unwind_table_new((t->mask + 1) * 2)) == NULL)
			return;
		for (i = 0; i <= t->mask; i++) {
			if (t->slots[i].pc != 0 && t->slots[i].rule != DWARF_RULE_NONE)
				unwind_table_put(n, t->slots[i].pc, t->slots[i].rule);
		}
		/* Readers may still be probing t: it is kept, never unmapped. */
		n->retired = t;
		__atomic_store_n(&unwind_table, n, __ATOMIC_RELEASE);
		t = n;
	}
	unwind_table_put(t, pc, rule);
}

/*
 * Empties the current rule table inside the seqlock, so that a capture that read it meanwhile
 * sees unwind_gen move.  The caller holds unwind_lock.
 */
static void
unwind_table_clear(void)
{
	struct unwind_table	*t = unwind_table;
	size_t			 i;

	assert(unwind_lock_held());
	__atomic_store_n(&unwind_gen, unwind_gen + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	if (t != NULL) {
		for (i = 0; i <= t->mask; i++) {
			__atomic_store_n(&t->slots[i].rule, DWARF_RULE_NONE, __ATOMIC_RELAXED);
			__atomic_store_n(&t->slots[i].pc, 0, __ATOMIC_RELAXED);
		}
		t->used = 0;
	}
	__atomic_store_n(&unwind_gen, unwind_gen + 1, __ATOMIC_RELEASE);
}

/* Appends a module to unwind_modules; returns 0, or -1 if no memory can be had. */
static int
unwind_modules_add(const struct dwarf_object *m)
{
	struct dwarf_object	*n;
	size_t			 cap;

	if (unwind_nmodules == unwind_modules_cap) {
		cap = unwind_modules_cap == 0 ? UNWIND_MODULES_MIN : unwind_modules_cap * 2;
		if ((n = unwind_map(cap * sizeof *n)) == NULL)
			return -1;
		if (unwind_modules != NULL) {
			memcpy(n, unwind_modules, unwind_nmodules * sizeof *n);
			munmap(unwind_modules, unwind_modules_cap * sizeof *n);
		}
		unwind_modules = n;
		unwind_modules_cap = cap;
	}
	unwind_modules[unwind_nmodules++] = *m;
	return 0;
}

/* What a walk of dl_iterate_phdr learns. */
struct unwind_walk {
	int	first;		/* 1 until the first object is seen */
	int	unloaded;	/* 1 if objects were unloaded since the last walk */
	int	failed;		/* 1 if an object could not be recorded */
};

/* dl_iterate_phdr callback: stops at once if nothing changed, else records every object. */
static int
unwind_walk_one(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct unwind_walk	*w = arg;
	struct dwarf_object	 m;
	const ElfW(Phdr)	*ph;
	uintptr_t		 a;
	int			 i;

	if (w->first) {
		w->first = 0;
		if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs) {
			if (unwind_modules_valid && info->dlpi_adds == unwind_adds &&
			    info->dlpi_subs == unwind_subs)
				return 1;
			w->unloaded = unwind_modules_valid && info->dlpi_subs != unwind_subs;
			unwind_adds = info->dlpi_adds;
			unwind_subs = info->dlpi_subs;
		} else
			w->unloaded = 1;
		unwind_nmodules = 0;
	}
	memset(&m, 0, sizeof m);
	m.lo = UINTPTR_MAX;
	for (i = 0; i < info->dlpi_phnum; i++) {
		ph = &info->dlpi_phdr[i];
		a = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD) {
			if (a < m.lo)
				m.lo = a;
			if (a + ph->p_memsz > m.hi)
				m.hi = a + ph->p_memsz;
		} else if (ph->p_type == PT_GNU_EH_FRAME)
			m.hdr = (const uint8_t *)a;
	}
	if (m.lo >= m.hi)
		return 0;
	dwarf_hdr_parse(&m);
	if (unwind_modules_add(&m) != 0) {
		w->failed = 1;
		return 1;
	}
	return 0;
}

/*
 * Brings unwind_modules up to date with the loaded objects, and clears the rule table if any
 * were unloaded.  Returns 0, or -1 if the list is incomplete.  The caller holds unwind_lock.
 */
static int
unwind_modules_update(void)
{
	struct unwind_walk	w = { 1, 0, 0 };

	assert(unwind_lock_held());
	dl_iterate_phdr(unwind_walk_one, &w);
	if (w.first)
		return unwind_modules_valid ? 0 : -1;
	if (w.unloaded)
		unwind_table_clear();
	unwind_modules_valid = !w.failed;
	return w.failed ? -1 : 0;
}

/* Computes the rule at return address PC.  The caller holds unwind_lock. */
static uint64_t
unwind_rule_make(uintptr_t pc)
{
	const struct dwarf_object	*m = NULL;
	struct dwarf_fde		 fde;
	uintptr_t			 target = pc - 1;
	size_t				 i;
	int				 complete;

	assert(unwind_lock_held());
	complete = unwind_modules_update() == 0;
	for (i = 0; i < unwind_nmodules; i++) {
		if (target >= unwind_modules[i].lo && target < unwind_modules[i].hi) {
			m = &unwind_modules[i];
			break;
		}
	}
	if (m == NULL)
		return complete ? DWARF_RULE_END : DWARF_RULE_COMPLEX;
	if (m->eh_frame == NULL)
		return DWARF_RULE_COMPLEX;
	/* A return address is looked up inside its call, at pc - 1 ... */
	if (dwarf_fde_find(m, target, &fde) == 0)
		return dwarf_fde_rule(&fde, target);
	/* ... except a signal trampoline's, which is not after a call: leave it to libunwind. */
	if (dwarf_fde_find(m, pc, &fde) == 0)
		return DWARF_RULE_COMPLEX;
	return DWARF_RULE_END;
}

/* Returns the rule at return address PC, computing and caching it; takes unwind_lock. */
static uint64_t __attribute__((noinline))
unwind_fill(uintptr_t pc)
{
	uint64_t	rule = DWARF_RULE_NONE;

	if (pc == 0)		/* 0 marks an empty slot: never a key */
		return DWARF_RULE_END;
	pthread_mutex_lock(&unwind_lock);
	unwind_lock_note(1);
	if (unwind_table == NULL)
		__atomic_store_n(&unwind_table, unwind_table_new(UNWIND_TABLE_MIN), __ATOMIC_RELEASE);
	if (unwind_table != NULL)
		rule = unwind_table_find(unwind_table, pc);
	if (rule == DWARF_RULE_NONE) {
		rule = unwind_rule_make(pc);
		if (unwind_table != NULL)
			unwind_table_insert(pc, rule);
	}
	unwind_lock_note(0);
	pthread_mutex_unlock(&unwind_lock);
	return rule;
}

/* Returns the rule at return address PC from table *TP, filling a miss (which renews *TP). */
static inline uint64_t
unwind_rule(struct unwind_table **tp, uintptr_t pc)
{
	const struct unwind_table	*t = *tp;
	uintptr_t			 key;
	uint64_t			 rule;
	size_t				 i;

	if (t != NULL) {
		i = unwind_table_index(t, pc);
		while ((key = __atomic_load_n(&t->slots[i].pc, __ATOMIC_ACQUIRE)) != 0) {
			if (key == pc) {
				rule = __atomic_load_n(&t->slots[i].rule, __ATOMIC_RELAXED);
				if (rule != DWARF_RULE_NONE)
					return rule;
				break;
			}
			i = (i + 1) & t->mask;
		}
	}
	rule = unwind_fill(pc);
	*tp = __atomic_load_n(&unwind_table, __ATOMIC_ACQUIRE);
	return rule;
}

/* Looks up the bounds of the calling thread's stack into UT. */
static void
unwind_thread_bounds(struct unwind_thread *ut)
{
	pthread_attr_t	 attr;
	void		*addr;
	size_t		 size;

	ut->stack_known = -1;
	if (pthread_getattr_np(pthread_self(), &attr) != 0)
		return;
	if (pthread_attr_getstack(&attr, &addr, &size) == 0 && size != 0) {
		ut->stack_lo = (uintptr_t)addr;
		ut->stack_hi = (uintptr_t)addr + size;
		ut->stack_known = 1;
	}
	pthread_attr_destroy(&attr);
}

/*
 * Captures with libunwind: steps out from here to the caller of the frame at F, then records
 * up to MAX pcs.  Returns their number, at least 1 (F[1] alone if libunwind cannot get there).
 */
static int __attribute__((noinline))
unwind_slow(const uintptr_t *f, uintptr_t *pcs, int max, uint64_t *hash)
{
	unw_context_t	uc;
	unw_cursor_t	cur;
	unw_word_t	ip, sp;
	uintptr_t	want_sp = (uintptr_t)(f + 2), want_pc = f[1];
	int		n = 0, found = 0, skipped = 0;

	if (unw_getcontext(&uc) == 0 && unw_init_local(&cur, &uc) == 0) {
		while (n < max && unw_step(&cur) > 0) {
			if (unw_get_reg(&cur, UNW_REG_IP, &ip) != 0 ||
			    unw_get_reg(&cur, UNW_REG_SP, &sp) != 0)
				break;
			if (!found) {
				/* Only this file's frames and the hook are inside it. */
				if (sp != want_sp || ip != want_pc) {
					if (sp >= want_sp || ++skipped > 32)
						break;
					continue;
				}
				found = 1;
			}
			pcs[n++] = ip;
		}
	}
	if (n == 0) {
		pcs[0] = want_pc;
		n = 1;
	}
	*hash = unwind_hash_pcs(pcs, n);
	return n;
}

/*
 * Returns the first level from FROM to TO (1 <= FROM <= TO) whose recorded reads no longer give
 * what they gave, or TO + 1 if none.
 */
static int UNWIND_STACK_READER
unwind_verify(const struct unwind_thread *ut, int from, int to)
{
	const struct unwind_spc		*o;
	int				 i, x;

	for (i = from; i <= to; i++) {
		x = UNWIND_IX(i);
		o = &ut->spc[x + 1];	/* the outer level */
		if (i == 1 ? *ut->end_slot != 0 :
		    *(const uintptr_t *)(o->sp - sizeof(uintptr_t)) != o->pc)
			return i;
		if (*ut->more[x].rbp_slot != ut->more[x + 1].rbp)
			return i;
	}
	return to + 1;
}

/*
 * Does what unwind_verify(ut, 1, C) does, and meanwhile copies the pcs of levels C, C - 1, ...
 * to OUT[0 .. ROOM): the reused part of a capture in one pass over the levels.  OUT must not be
 * in the stack outside the capturing frame.
 */
static int __attribute__((noinline)) UNWIND_STACK_READER
unwind_verify_copy(const struct unwind_thread *ut, int c, uintptr_t *restrict out, int room)
{
	const struct unwind_spc		*l = &ut->spc[UNWIND_IX(c)];
	const struct unwind_more	*m = &ut->more[UNWIND_IX(c)];
	uintptr_t			 a0 = *ut->end_slot, a1 = 0, v0, v1;
	int				 j, n = c < room ? c : room;

	/*
	 * l[j] is level c - j; level c - j + 1 read l[j].pc from just below l[j].sp, and read
	 * m[j].rbp from m[j - 1].rbp_slot.  Two accumulators, two levels a turn: the loop is
	 * bound by its loads.
	 */
	if (m->rbp_checks == 0) {
		for (j = 1; j + 1 < n; j += 2) {
			v0 = l[j].pc;
			v1 = l[j + 1].pc;
			a0 |= *(const uintptr_t *)(l[j].sp - sizeof v0) ^ v0;
			a1 |= *(const uintptr_t *)(l[j + 1].sp - sizeof v1) ^ v1;
			out[j] = v0;
			out[j + 1] = v1;
		}
		for (; j < n; j++) {
			v0 = l[j].pc;
			a0 |= *(const uintptr_t *)(l[j].sp - sizeof v0) ^ v0;
			out[j] = v0;
		}
		for (; j < c; j++)
			a0 |= *(const uintptr_t *)(l[j].sp - sizeof v0) ^ l[j].pc;
	} else {
		for (j = 1; j < c; j++) {
			v0 = l[j].pc;
			a0 |= *(const uintptr_t *)(l[j].sp - sizeof v0) ^ v0;
			a1 |= *m[j - 1].rbp_slot ^ m[j].rbp;
			if (j < n)
				out[j] = v0;
		}
	}
	if (n > 0)
		out[0] = l[0].pc;
	return (a0 | a1) == 0 ? c + 1 : unwind_verify(ut, 1, c);
}

/*
 * Records the K frames of ut->scratch (innermost first) as levels C + 1 .. C + K; END_SLOT is
 * where the outermost frame read the 0 that ended the stack, if C is 0.  What a level derives
 * from its outer level is carried in registers: through memory it would wait on each store.
 */
static inline void
unwind_commit(struct unwind_thread *ut, int c, int k, const uintptr_t *end_slot)
{
	struct unwind_spc		*l = &ut->spc[UNWIND_IX(c)];
	struct unwind_more		*m = &ut->more[UNWIND_IX(c)];
	const struct unwind_frame	*s;
	uint64_t			 sum = m->sum;
	uint32_t			 checks = m->rbp_checks, need = m->rbp_needed;
	int				 j;

	for (j = k - 1; j >= 0; j--) {
		s = &ut->scratch[j];
		l--;
		m--;
		l->sp = s->sp;
		l->pc = s->pc;
		m->rbp = s->rbp;
		m->rule = s->rule;
		/* A read that needs no check points at what it would be compared with. */
		if (need && (s->rule & DWARF_RULE_RBP_SAVED)) {
			m->rbp_slot = s->rbp_slot;
			checks++;
		} else
			m->rbp_slot = &m[1].rbp;
		need = (s->rule & DWARF_RULE_CFA_RBP) ||
		    (!(s->rule & DWARF_RULE_RBP_SAVED) && need);
		m->rbp_checks = checks;
		m->rbp_needed = need;
		sum += unwind_mix(s->pc) * unwind_pow[c + k - 1 - j];
		m->sum = sum;
	}
	if (c == 0)
		ut->end_slot = end_slot != NULL ? end_slot : &unwind_zero;
	ut->depth = c + k;
}

#ifndef NDEBUG
/*
 * Checks the invariants of UT's levels FROM .. depth, those a capture just recorded (debug
 * builds; the others were checked when they were recorded).
 */
static void
unwind_check_levels(const struct unwind_thread *ut, int from)
{
	const struct unwind_spc		*l;
	const struct unwind_more	*m;
	int				 c;

	assert(ut->depth >= 0 && ut->depth <= UNWIND_MAX_DEPTH);
	assert(ut->spc[UNWIND_IX(0)].sp == UINTPTR_MAX && ut->spc[UNWIND_IX(0)].pc == 0);
	assert(ut->more[UNWIND_IX(0)].sum == 0 && ut->more[UNWIND_IX(0)].rbp_checks == 0);
	for (c = from > 1 ? from : 1; c <= ut->depth; c++) {
		l = &ut->spc[UNWIND_IX(c)];
		m = &ut->more[UNWIND_IX(c)];
		assert(l->sp < l[1].sp);
		assert(m->sum == m[1].sum + unwind_mix(l->pc) * unwind_pow[c - 1]);
		assert(m->rbp_checks == m[1].rbp_checks + (m->rbp_slot != &m[1].rbp));
		assert(DWARF_RULE_KIND(m->rule) != DWARF_RULE_COMPLEX);
	}
}
#endif

/* Creates a thread's state, with the sentinel level in place; NULL if mmap fails. */
struct unwind_thread *
unwind_thread_new(void)
{
	struct unwind_thread	*ut;

	pthread_once(&unwind_once, unwind_init);
	if ((ut = unwind_map(sizeof *ut)) != NULL)
		ut->spc[UNWIND_IX(0)].sp = UINTPTR_MAX;
	return ut;
}

/* Unmaps a thread's state. */
void
unwind_thread_free(struct unwind_thread *ut)
{
	if (ut != NULL)
		munmap(ut, sizeof *ut);
}

/* Returns the hash of a stack, as unwind_capture computes it from its levels' sums. */
uint64_t
unwind_hash(const uintptr_t *pcs, int n)
{
	return unwind_hash_pcs(pcs, n);
}

/* Drops the thread's recorded levels. */
void
unwind_thread_forget(struct unwind_thread *ut)
{
	ut->depth = 0;
}

/* Copies the thread's counters. */
void
unwind_thread_stats(const struct unwind_thread *ut, struct unwind_stats *st)
{
	*st = ut->stats;
}

/* Returns MAX, the frames a caller asks to capture, within 1 .. UNWIND_MAX_DEPTH. */
static inline int
unwind_limit(int max)
{
	return max > UNWIND_MAX_DEPTH ? UNWIND_MAX_DEPTH : max < 1 ? 1 : max;
}

/*
 * Starts a capture with the rule cache for the hook frame F: marks UT busy and reads the cache's
 * generation into *GEN.  Returns 0, or -1 if the rule cache cannot be used now (a flush under
 * way, stack bounds unknown, F outside them): the caller then ends with unwind_fallback().
 */
static inline int
unwind_begin(struct unwind_thread *ut, const uintptr_t *f, unsigned long *gen)
{
	ut->busy = 1;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	*gen = __atomic_load_n(&unwind_gen, __ATOMIC_ACQUIRE);
	if (ut->stack_known == 0)
		unwind_thread_bounds(ut);
	if ((*gen & 1) || ut->stack_known != 1 || (uintptr_t)f < ut->stack_lo ||
	    (uintptr_t)f > ut->stack_hi - 4 * sizeof *f)
		return -1;
	return 0;
}

/* Ends a capture begun with unwind_begin() by making it with libunwind instead. */
static int
unwind_fallback(struct unwind_thread *ut, const uintptr_t *f, uintptr_t *pcs, int max,
    uint64_t *hash)
{
	int n;

	ut->stats.fallbacks++;
	n = unwind_slow(f, pcs, max, hash);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	ut->busy = 0;
	return n;
}

/*
 * Captures the stack of the caller of the frame at FP into PCS (see unwind.h): unwinds new
 * frames with the rule cache until one is a recorded level whose outer reads are unchanged,
 * then takes the rest from the record; falls back to libunwind for what the rules cannot do.
 */
int UNWIND_STACK_READER
unwind_capture(struct unwind_thread *ut, void *fp, uintptr_t *pcs, int max, uint64_t *hash)
{
	const uintptr_t		*f = fp, *end_slot = NULL;
	struct unwind_table	*t;
	struct unwind_frame	*s;
	const struct unwind_spc	*l;
	uintptr_t		 pc, sp, rbp, cfa, hi;
	uint64_t		 rule;
	unsigned long		 gen;
	int			 c, i, k, n, p, ok_below, bad_at, matched = 0, truncated = 0;
	int			 copied = 0;

	max = unwind_limit(max);
	if (ut == NULL || ut->busy)
		return unwind_slow(f, pcs, max, hash);
	c = unwind_begin(ut, f, &gen);
	ut->stats.captures++;
	if (c != 0)
		goto slow;
	hi = ut->stack_hi;
	if (ut->gen != gen) {
		ut->depth = 0;
		ut->gen = gen;
	}
	t = __atomic_load_n(&unwind_table, __ATOMIC_ACQUIRE);

	rbp = f[0];
	pc = f[1];
	sp = (uintptr_t)(f + 2);
	l = &ut->spc[UNWIND_IX(ut->depth)];	/* recorded level at or outside sp */
	ok_below = 1;		/* levels 1 .. ok_below - 1 have been verified unchanged */
	bad_at = ut->depth + 1;	/* a match at or inside this level cannot be trusted */
	p = UNWIND_IX(ut->depth);	/* the recorded level as far from the innermost as frame k */
	k = 0;
	for (;;) {
		/* Find the recorded level at this sp, if any: sps grow outward to the sentinel. */
		while (l->sp < sp)
			l++;
		if (l->sp == sp && l->pc == pc && (c = UNWIND_IX(0) - (int)(l - ut->spc)) < bad_at &&
		    (!ut->more[UNWIND_IX(c)].rbp_needed || ut->more[UNWIND_IX(c)].rbp == rbp) &&
		    c + k <= UNWIND_MAX_DEPTH) {
			if (c >= ok_below) {
				/* Usually all at once with the copy of the reused pcs. */
				if (ok_below == 1) {
					ok_below = unwind_verify_copy(ut, c, pcs + k, max - k);
					copied = ok_below > c;
				} else
					ok_below = unwind_verify(ut, ok_below, c);
				if (ok_below <= c)
					bad_at = ok_below;
			}
			if (c < bad_at) {
				matched = c;
				break;
			}
		}

		if (k == UNWIND_MAX_DEPTH) {
			truncated = 1;
			break;
		}
		s = &ut->scratch[k++];
		s->pc = pc;
		s->sp = sp;
		s->rbp = rbp;
		/*
		 * The inner frames of consecutive captures tend to run the same code at other
		 * depths: the recorded level as far from the innermost often has this pc, and
		 * then its rule is had without hashing, and the CPU can run ahead on it.
		 */
		if (ut->spc[p].pc == pc)
			rule = ut->more[p].rule;
		else
			rule = unwind_rule(&t, pc);
		p++;
		s->rule = rule;
		if (DWARF_RULE_KIND(rule) != DWARF_RULE_SIMPLE) {
			if (DWARF_RULE_KIND(rule) == DWARF_RULE_END)
				break;
			goto slow;
		}
		if ((cfa = unwind_step(rule, sp, hi, &rbp, &s->rbp_slot)) == 0)
			break;
		pc = ((const uintptr_t *)cfa)[-1];
		sp = cfa;
		if (pc == 0) {
			end_slot = (const uintptr_t *)cfa - 1;
			break;
		}
	}
	ut->stats.frames += k;
	if (matched)
		ut->stats.reused++;

	/* The new frames come from scratch, the reused levels were copied or come now. */
	n = matched + k < max ? matched + k : max;
	for (i = 0; i < k && i < n; i++)
		pcs[i] = ut->scratch[i].pc;
	if (!copied) {
		for (l = &ut->spc[UNWIND_IX(matched)]; i < n; i++, l++)
			pcs[i] = l->pc;
	}
	unwind_commit(ut, matched, k, end_slot);
	*hash = unwind_final((ut->more[UNWIND_IX(ut->depth)].sum -
	    ut->more[UNWIND_IX(ut->depth - n)].sum) * unwind_ipow[ut->depth - n], n);

	/* A flush meanwhile may have torn what was read from the table. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&unwind_gen, __ATOMIC_RELAXED) != gen)
		goto slow;
	if (truncated)
		ut->depth = 0;
#ifndef NDEBUG
	unwind_check_levels(ut, matched);
#endif
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	ut->busy = 0;
	return n;

slow:
	ut->depth = 0;
	return unwind_fallback(ut, f, pcs, max, hash);
}

/*
 * Captures at most MAX frames as unwind_capture does, but walks them afresh with the rule cache
 * every time and leaves the thread's recorded levels alone: for short captures, where checking
 * a long reused stack would cost more than the walk.
 */
UNWIND_STACK_READER int
unwind_shallow(struct unwind_thread *ut, void *fp, uintptr_t *pcs, int max, uint64_t *hash)
{
	const uintptr_t		*f = fp, *slot;
	struct unwind_table	*t;
	uintptr_t		 pc, sp, rbp, cfa, hi;
	uint64_t		 rule;
	unsigned long		 gen;
	int			 n = 0, i;

	max = unwind_limit(max);
	if (ut == NULL || ut->busy)
		return unwind_slow(f, pcs, max, hash);
	if (unwind_begin(ut, f, &gen) != 0)
		goto slow;
	hi = ut->stack_hi;
	t = __atomic_load_n(&unwind_table, __ATOMIC_ACQUIRE);
	rbp = f[0];
	pc = f[1];
	sp = (uintptr_t)(f + 2);
	for (;;) {
		pcs[n++] = pc;
		if (n == max)
			break;
		rule = unwind_rule(&t, pc);
		if (DWARF_RULE_KIND(rule) == DWARF_RULE_END)
			break;
		if (DWARF_RULE_KIND(rule) != DWARF_RULE_SIMPLE)
			goto slow;
		if ((cfa = unwind_step(rule, sp, hi, &rbp, &slot)) == 0)
			break;
		pc = ((const uintptr_t *)cfa)[-1];
		sp = cfa;
		if (pc == 0)
			break;
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&unwind_gen, __ATOMIC_RELAXED) != gen)
		goto slow;
	/* Its own hash, cheaper than Horner's: equal only to other shallow captures' hashes. */
	for (i = 0, *hash = n; i < n; i++)
		*hash = (*hash ^ pcs[i]) * 0x9e3779b97f4a7c15ull;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	ut->busy = 0;
	return n;
slow:
	return unwind_fallback(ut, f, pcs, max, hash);
}

/*
 * Takes unwind_lock outside any capture, with every signal blocked: a capture in a signal
 * handler must not wait for the lock its own thread holds.  *OLD gets the mask to restore.
 */
static void
unwind_lock_all(sigset_t *old)
{
	sigset_t	all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, old);
	pthread_mutex_lock(&unwind_lock);
	unwind_lock_note(1);
}

/* Empties the rule table and the module list. */
void
unwind_flush(void)
{
	sigset_t	old;

	unwind_lock_all(&old);
	unwind_table_clear();
	unwind_nmodules = 0;
	unwind_modules_valid = 0;
	unwind_lock_note(0);
	pthread_mutex_unlock(&unwind_lock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Takes unwind_lock before fork. */
void
unwind_fork_prepare(void)
{
	sigset_t	old;

	unwind_lock_all(&old);
	unwind_fork_mask = old;
}

/* Releases unwind_lock in the parent after fork. */
void
unwind_fork_parent(void)
{
	sigset_t	old = unwind_fork_mask;

	unwind_lock_note(0);
	pthread_mutex_unlock(&unwind_lock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* Releases unwind_lock in the child after fork. */
void
unwind_fork_child(void)
{
	/* The child's only thread is the one that took the lock; start it afresh. */
	pthread_mutex_init(&unwind_lock, NULL);
	unwind_lock_note(0);
	pthread_sigmask(SIG_SETMASK, &unwind_fork_mask, NULL);
}
