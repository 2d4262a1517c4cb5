/*
 * Memory for heapscope's own tables.  It comes from the kernel through raw system calls, never
 * from malloc (the program's heap must not hold or count it) and never through the interposed
 * mmap (which would record it as the program's).
 *
 * Debug builds (NDEBUG undefined) have a fault switch, for tests/faults.sh (SQLite's faultsim):
 * every mem_map() and mem_grow() call of the process is counted, together, from 1, and
 * HEAPSCOPE_FAULT_MAP=N makes call N fail as the kernel's refusal would; with
 * HEAPSCOPE_FAULT_PERSIST=1 every call after it fails too, as when memory never comes back.
 * Failing one call alone is what walks a path: the code after the failure runs on with memory,
 * so a test also sees what the failure left behind.  When the switch fires it says so once,
 * "heapscope: fault: mapping N fails, called from A, B, ...": the return addresses of the call,
 * of its caller and so on, as far as they lie in this library, as offsets in its file (for
 * addr2line), so that a test knows that its N was reached and which path it took.  Both
 * functions then stay out of line, so that the first address is their caller's; a mem_grow() of
 * nothing, which calls mem_map(), is one call, counted in mem_grow().  Release builds have none of
 * it: the settings are not even read, and the two functions compile as they did without it.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <unistd.h>

#include "internal.h"

#ifndef NDEBUG
/* This library's code in memory: from its ELF header to the end of .text, as the linker names. */
extern const char __ehdr_start[] __attribute__((visibility("hidden")));
extern const char _etext[] __attribute__((visibility("hidden")));

#define MEM_FRAMES 4		/* return addresses a fault line names, at most */

static atomic_ulong mem_calls;	/* mem_map() and mem_grow() calls so far */
static __thread int mem_counted HS_TLS;	/* 1: mem_grow() counted the mem_map() it calls */

/*
 * Counts a call made by the function whose frame is FP; returns 1 if it is to fail.  The line that
 * says so names the return addresses from FP up while they lie in this library, MEM_FRAMES at
 * most: its code keeps frame pointers, so the frame that such an address leads to is sound, as
 * the program's need not be.
 */
static int
mem_fault(void *const *fp)
{
	char where[MEM_FRAMES * 20], *w = where;
	unsigned long n, at = hs_cfg.fault_map;
	uintptr_t ret;
	int k;

	if (mem_counted) {
		mem_counted = 0;
		return 0;
	}
	n = atomic_fetch_add(&mem_calls, 1) + 1;
	if (at == 0 || n < at || (n > at && !hs_cfg.fault_persist))
		return 0;
	if (n == at) {
		where[0] = '\0';
		for (k = 0; k < MEM_FRAMES; k++, fp = fp[0]) {
			ret = (uintptr_t)fp[1];
			if (ret < (uintptr_t)__ehdr_start || ret >= (uintptr_t)_etext)
				break;
			w += snprintf(w, where + sizeof where - w, "%s%#lx", k > 0 ? ", " : "",
			    (unsigned long)(ret - (uintptr_t)__ehdr_start));
		}
		log_warn("fault: mapping %lu fails, called from %s", n, where);
	}
	return 1;
}

#define MEM_FAULT() mem_fault(__builtin_frame_address(0))
#define MEM_ENTRY __attribute__((noinline))
/*
 * mem_grow() of nothing is a mem_map() call: counted in mem_grow(), whose frame leads to its
 * caller, and not again in mem_map().
 */
#define MEM_GROW_NOTHING(size) (MEM_FAULT() ? NULL : (mem_counted = 1, mem_map(size)))
#else
#define MEM_FAULT() 0
#define MEM_ENTRY
#define MEM_GROW_NOTHING(size) mem_map(size)
#endif

/* Maps SIZE bytes of zeroed memory; NULL on failure. */
MEM_ENTRY void *
mem_map(size_t size)
{
	long p;

	if (MEM_FAULT())
		return NULL;
	p = syscall(SYS_mmap, NULL, size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0L);
	if (p == -1)
		return NULL;
	return (void *)p;
}

/* Unmaps memory from mem_map() or mem_grow(). */
void
mem_unmap(void *p, size_t size)
{
	if (p != NULL)
		syscall(SYS_munmap, p, size);
}

/* Grows a mapping to NEW_SIZE, moving it if needed; NULL on failure (the old one stays). */
MEM_ENTRY void *
mem_grow(void *p, size_t old_size, size_t new_size)
{
	long q;

	if (p == NULL)
		return MEM_GROW_NOTHING(new_size);
	if (MEM_FAULT())
		return NULL;
	q = syscall(SYS_mremap, p, old_size, new_size, MREMAP_MAYMOVE);
	if (q == -1)
		return NULL;
	return (void *)q;
}
