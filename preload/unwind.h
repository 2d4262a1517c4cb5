/*
 * Stack capture for the preload: the return addresses of the caller of a malloc hook, found with
 * the DWARF call frame information of .eh_frame, so that code built without frame pointers is
 * unwound right.  unwind.c describes how it is made fast: a global cache of simple unwind rules
 * by program counter, reuse of the part of the stack shared with the thread's previous capture,
 * and libunwind for what the simple rules cannot express (signal frames, CFA expressions).
 *
 * Threads: each thread captures with its own struct unwind_thread, made and used by that thread
 * only; the global cache is shared and needs no lock to read.  unwind_capture does not call
 * malloc except in the first capture of a thread (pthread_getattr_np, for the stack bounds) and
 * on the rare libunwind path; the caller's re-entry guard must pass those allocations through.
 * A signal handler may capture, also while its thread is inside unwind_capture (it then takes
 * the libunwind path).  Link with libunwind (pkg-config libunwind), -ldl and -lpthread.
 */
#ifndef HS_UNWIND_H
#define HS_UNWIND_H

#include <stdint.h>

/* The most return addresses unwind_capture writes, and the deepest stack it keeps to reuse. */
#define UNWIND_MAX_DEPTH 256

/* Per-thread state, opaque. */
struct unwind_thread;

/* What one thread's captures did, for tests and diagnostics. */
struct unwind_stats {
	uint64_t	captures;	/* calls of unwind_capture */
	uint64_t	reused;		/* captures that reused the outer part of the previous one */
	uint64_t	frames;		/* frames unwound with the rule cache (not reused, not libunwind) */
	uint64_t	fallbacks;	/* captures made with libunwind */
};

/* Creates a thread's state (mmap, about 24 KiB); NULL on failure. */
struct unwind_thread	*unwind_thread_new(void);
/* Releases it. */
void			 unwind_thread_free(struct unwind_thread *ut);
/*
 * Captures the stack of the caller of the function whose frame pointer is FP (that function is
 * compiled with -fno-omit-frame-pointer: FP[0] = caller's rbp, FP[1] = return address, caller's
 * SP = FP + 2 words).  Writes at most MAX (1 <= MAX <= UNWIND_MAX_DEPTH) return addresses,
 * innermost first (pcs[0] = FP[1]), to PCS; stores in *HASH a 64-bit hash of pcs[0..n) that
 * depends only on those values (equal stacks -> equal hash, regardless of how they were
 * captured); returns n >= 1.  Stacks deeper than MAX keep the innermost MAX frames.  A frame
 * interrupted by a signal is reported by the pc it was interrupted at, not a return address.
 * UT must be the calling thread's (or NULL: libunwind then does it all); PCS must not lie in the
 * stack above the caller's frame (a local of the hook, or memory off the stack, is fine).
 */
int			 unwind_capture(struct unwind_thread *ut, void *fp, uintptr_t *pcs, int max,
			     uint64_t *hash);
/*
 * As unwind_capture, for short captures: walks the MAX frames afresh every time, without the
 * reuse of the previous capture (which it leaves alone).  Its hash is its own: equal stacks
 * get equal hashes from it, but not the hash unwind_capture would give them.
 */
int			 unwind_shallow(struct unwind_thread *ut, void *fp, uintptr_t *pcs, int max,
			     uint64_t *hash);
/*
 * Forgets cached modules and rules: call after the set of loaded objects changed (after dlopen
 * and dlclose return).  Rules go stale only when an object is unloaded; a miss notices loads and
 * unloads by itself, but a rule cached for a pc of an unloaded object is trusted until this.
 */
void			 unwind_flush(void);

/* Returns the hash unwind_capture gives for the stack PCS[0..N). */
uint64_t		 unwind_hash(const uintptr_t *pcs, int n);

/* Forgets the thread's previous capture, so the next one unwinds every frame (benchmarks). */
void			 unwind_thread_forget(struct unwind_thread *ut);
/* Copies the thread's counters to *ST. */
void			 unwind_thread_stats(const struct unwind_thread *ut, struct unwind_stats *st);
/*
 * Fork handlers, for the caller's pthread_atfork: prepare takes the cache's lock (with signals
 * blocked) so that no thread is filling or flushing it across fork; parent and child release it.
 * Thread states stay valid in the child for the thread that forked.
 */
void			 unwind_fork_prepare(void);
void			 unwind_fork_parent(void);
void			 unwind_fork_child(void);

#endif
