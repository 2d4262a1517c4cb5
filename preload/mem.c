/*
 * Memory for heapscope's own tables.  It comes from the kernel through raw system calls, never
 * from malloc (the program's heap must not hold or count it) and never through the interposed
 * mmap (which would record it as the program's).
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

/* Maps SIZE bytes of zeroed memory; NULL on failure. */
void *
mem_map(size_t size)
{
	long p;

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
void *
mem_grow(void *p, size_t old_size, size_t new_size)
{
	long q;

	if (p == NULL)
		return mem_map(new_size);
	q = syscall(SYS_mremap, p, old_size, new_size, MREMAP_MAYMOVE);
	if (q == -1)
		return NULL;
	return (void *)q;
}
