/*
 * family: one call of every interposed allocation function, each on its own line marked with a
 * tag (the test finds the line by the tag), then a labelled API snapshot, then the frees.
 * Known sizes:
 *	malloc 1000 x 10, calloc 7 x 30, realloc grows a 50 to 4000, reallocarray 25 x 8,
 *	posix_memalign 64-aligned 96, aligned_alloc 128-aligned 256, memalign 32-aligned 160,
 *	valloc 5000, pvalloc 3000, strdup of 11 characters (12 bytes), mmap 3 pages.
 * Every block is kept in a global so that the compiler cannot drop the calls.
 */
#include <sys/mman.h>
#include <dlfcn.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

void *keep[64];
static int (*snap)(const char *);

/* Takes a snapshot through the API, found at run time as programs are told to. */
static void
snapshot(const char *label)
{
	if (snap != NULL && snap(label) < 0)
		exit(90);
}

int
main(void)
{
	int i;

	snap = (int (*)(const char *))dlsym(RTLD_DEFAULT, "heapscope_snapshot");
	for (i = 0; i < 10; i++)
		keep[i] = malloc(1000);				/* tag:malloc */
	keep[10] = calloc(7, 30);				/* tag:calloc */
	keep[11] = malloc(50);					/* tag:realloc-first */
	keep[11] = realloc(keep[11], 4000);			/* tag:realloc */
	keep[12] = reallocarray(NULL, 25, 8);			/* tag:reallocarray */
	if (posix_memalign(&keep[13], 64, 96) != 0)		/* tag:posix_memalign */
		return 91;
	keep[14] = aligned_alloc(128, 256);			/* tag:aligned_alloc */
	keep[15] = memalign(32, 160);				/* tag:memalign */
	keep[16] = valloc(5000);				/* tag:valloc */
	keep[17] = pvalloc(3000);				/* tag:pvalloc */
	keep[18] = strdup("hello world");			/* tag:strdup */
	keep[19] = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);		/* tag:mmap */
	if (keep[19] == MAP_FAILED || malloc_usable_size(keep[0]) < 1000)
		return 92;
	snapshot("all");
	for (i = 0; i < 19; i++)
		free(keep[i]);
	munmap(keep[19], 3 * 4096);
	snapshot("none");
	return 0;
}
