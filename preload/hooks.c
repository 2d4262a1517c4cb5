/*
 * The exported entry points: the malloc family, the mmap family, dlopen/dlclose, _exit, and the
 * heapscope_snapshot() API.  Nothing else in the library is visible to the program.
 *
 * Every hook follows one pattern.  Before the real functions are known, allocations come from the
 * bootstrap arena (boot.c).  When tracing is off, or the thread is already inside heapscope (the
 * re-entry guard `hs_busy`: heapscope's own work, SQLite's allocations during a snapshot, a signal
 * handler that interrupted a hook), the call goes straight to the real function.  Otherwise the
 * hook sets the guard, calls the real function, records, and clears the guard.  Frees are
 * recorded before the memory goes back, so no other thread can be given the address first.
 *
 * The hooks are compiled with frame pointers: each passes its own frame to the unwinder, which
 * starts from the hook's caller, so no heapscope frame is ever part of a stack.
 */
#include "config.h"

#include <sys/mman.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <unistd.h>

#include "heapscope.h"
#include "internal.h"
#include "unwind.h"

__thread int hs_busy HS_TLS;	/* 1 while this thread is inside heapscope */

/* malloc before the real one is known: find it, or use the arena while dlsym runs. */
static void *
hooks_boot_malloc(size_t size, size_t align)
{
	boot_symbols();
	if (real_malloc == NULL || real_memalign == NULL)
		return boot_alloc(size, align);
	return align <= 16 ? real_malloc(size) : real_memalign(align, size);
}

HS_EXPORT void *
malloc(size_t size)
{
	void *p;

	if (HS_UNLIKELY(real_malloc == NULL))
		return hooks_boot_malloc(size, 16);
	if (HS_UNLIKELY(py_check_pending()) && !hs_busy)
		py_check();
	if (!hooks_tracing())
		return real_malloc(size);
	hs_busy = 1;
	if ((p = real_malloc(size)) != NULL)
		record_alloc(p, size, __builtin_frame_address(0));
	hs_busy = 0;
	return p;
}

HS_EXPORT void
free(void *p)
{
	if (p == NULL || HS_UNLIKELY(boot_owns(p)))
		return;
	if (HS_UNLIKELY(real_free == NULL))
		boot_symbols();
	if (hooks_tracing()) {
		hs_busy = 1;
		record_free(p);		/* frees it too */
		hs_busy = 0;
		return;
	}
	real_free(p);
}

HS_EXPORT void *
calloc(size_t n, size_t size)
{
	size_t total;
	void *p;

	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	if (HS_UNLIKELY(real_calloc == NULL)) {
		boot_symbols();
		if (real_calloc == NULL)
			return boot_alloc(total, 16);	/* the arena is zeroed and never reused */
	}
	if (!hooks_tracing())
		return real_calloc(n, size);
	hs_busy = 1;
	if ((p = real_calloc(n, size)) != NULL)
		record_alloc(p, total, __builtin_frame_address(0));
	hs_busy = 0;
	return p;
}

/* realloc and reallocarray: FP is the frame of the exported hook. */
static void *
hooks_realloc(void *p, size_t size, void *fp)
{
	struct block old;
	int traced;
	void *q;

	if (HS_UNLIKELY(real_realloc == NULL))
		boot_symbols();
	if (p != NULL && HS_UNLIKELY(boot_owns(p))) {
		if ((q = malloc(size)) != NULL)
			memcpy(q, p, boot_size(p) < size ? boot_size(p) : size);
		return q;
	}
	if (!hooks_tracing())
		return real_realloc(p, size);
	hs_busy = 1;
	if (p == NULL) {
		if ((q = real_realloc(NULL, size)) != NULL)
			record_alloc(q, size, fp);
	} else if (size == 0) {
		/* glibc frees the block and returns NULL. */
		record_free(p);
		q = NULL;
	} else {
		traced = record_realloc_begin(p, &old);
		q = real_realloc(p, size);
		record_realloc_end(traced ? &old : NULL, q, size, fp);
	}
	hs_busy = 0;
	return q;
}

HS_EXPORT void *
realloc(void *p, size_t size)
{
	return hooks_realloc(p, size, __builtin_frame_address(0));
}

HS_EXPORT void *
reallocarray(void *p, size_t n, size_t size)
{
	size_t total;

	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return hooks_realloc(p, total, __builtin_frame_address(0));
}

HS_EXPORT int
posix_memalign(void **out, size_t align, size_t size)
{
	int rc;

	if (HS_UNLIKELY(real_posix_memalign == NULL))
		boot_symbols();
	if (!hooks_tracing())
		return real_posix_memalign(out, align, size);
	hs_busy = 1;
	if ((rc = real_posix_memalign(out, align, size)) == 0)
		record_alloc(*out, size, __builtin_frame_address(0));
	hs_busy = 0;
	return rc;
}

/* The hooks that return an aligned block: one body, the real function as argument. */
#define HOOK_ALIGNED(name, params, args, size)					\
HS_EXPORT void *								\
name params									\
{										\
	void *p;								\
										\
	if (HS_UNLIKELY(real_##name == NULL))					\
		boot_symbols();							\
	if (!hooks_tracing())							\
		return real_##name args;					\
	hs_busy = 1;								\
	if ((p = real_##name args) != NULL)					\
		record_alloc(p, size, __builtin_frame_address(0));		\
	hs_busy = 0;								\
	return p;								\
}
HOOK_ALIGNED(aligned_alloc, (size_t align, size_t size), (align, size), size)
HOOK_ALIGNED(memalign, (size_t align, size_t size), (align, size), size)
HOOK_ALIGNED(valloc, (size_t size), (size), size)
HOOK_ALIGNED(pvalloc, (size_t size), (size), size)

HS_EXPORT size_t
malloc_usable_size(void *p)
{
	if (p != NULL && boot_owns(p))
		return boot_size(p);
	if (HS_UNLIKELY(real_malloc_usable_size == NULL))
		boot_symbols();
	return real_malloc_usable_size(p);
}

HS_EXPORT void *
mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p;

	if (HS_UNLIKELY(real_mmap == NULL))
		boot_symbols();
	if (!hooks_tracing())
		return real_mmap(addr, len, prot, flags, fd, off);
	hs_busy = 1;
	p = real_mmap(addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED)
		record_map(p, len, prot, flags, __builtin_frame_address(0), 0);
	hs_busy = 0;
	return p;
}

/* glibc's mmap64 is mmap (off_t is 64 bits on x86-64). */
HS_EXPORT void *mmap64(void *, size_t, int, int, int, off_t)
    __attribute__((alias("mmap"), leaf, nothrow));

HS_EXPORT int
munmap(void *addr, size_t len)
{
	int rc;

	if (HS_UNLIKELY(real_munmap == NULL))
		boot_symbols();
	if (!hooks_tracing())
		return real_munmap(addr, len);
	hs_busy = 1;
	map_remove((uintptr_t)addr, len);
	rc = real_munmap(addr, len);
	hs_busy = 0;
	return rc;
}

HS_EXPORT void *
mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	void *p, *want = NULL;
	va_list ap;

	if (flags & MREMAP_FIXED) {
		va_start(ap, flags);
		want = va_arg(ap, void *);
		va_end(ap);
	}
	if (HS_UNLIKELY(real_mremap == NULL))
		boot_symbols();
	if (!hooks_tracing())
		return real_mremap(old, old_len, new_len, flags, want);
	hs_busy = 1;
	p = real_mremap(old, old_len, new_len, flags, want);
	if (p != MAP_FAILED)
		map_move((uintptr_t)old, old_len, (uintptr_t)p, new_len);
	hs_busy = 0;
	return p;
}

HS_EXPORT void *
dlopen(const char *file, int mode)
{
	void *h;

	if (HS_UNLIKELY(real_dlopen == NULL))
		boot_symbols();
	h = real_dlopen(file, mode);
	if (h != NULL && atomic_load(&hs_state) == HS_ON)
		unwind_flush();
	return h;
}

HS_EXPORT int
dlclose(void *h)
{
	int rc, was = hs_busy;

	if (HS_UNLIKELY(real_dlclose == NULL))
		boot_symbols();
	if (atomic_load(&hs_state) != HS_ON)
		return real_dlclose(h);
	hs_busy = 1;
	modules_refresh();	/* keep the object's name and address for the stacks into it */
	rc = real_dlclose(h);
	unwind_flush();
	hs_busy = was;
	return rc;
}

HS_EXPORT void
_exit(int status)
{
	if (real__exit == NULL)
		boot_symbols();
	/* A vfork child shares its parent's memory and thread-local guard: leave both alone. */
	if (hooks_tracing() && getpid() == hs_pid) {
		hs_busy = 1;
		snap_exit();
	}
	real__exit(status);
	__builtin_unreachable();
}

HS_EXPORT void _Exit(int) __attribute__((alias("_exit")));

HS_EXPORT int
heapscope_snapshot(const char *label)
{
	int id;

	if (!hooks_tracing())
		return -1;
	hs_busy = 1;
	id = snap_take(HS_TRIGGER_API, label, 1);
	hs_busy = 0;
	return id;
}

/* Sets the calling thread's guard for good: for heapscope's own threads. */
void
hooks_own_thread(void)
{
	hs_busy = 1;
}

/* Sets or clears the guard; returns the previous value. */
int
hooks_enter(int on)
{
	int was = hs_busy;

	hs_busy = on;
	return was;
}
