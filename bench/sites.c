/*
 * sites: allocates N blocks (default 1000000) from S distinct call stacks (default 100000), all
 * kept alive, for the diff benchmark.  Block i is allocated at the bottom of a chain of 17 calls
 * of left() and right(), chosen by the bits of i % S, so each of the S values is its own stack.
 * Halfway it takes an API snapshot "half" when traced by heapscope; the exit snapshot holds all.
 * Usage: sites [N [S]]
 */
#include <dlfcn.h>
#include <stdlib.h>

#define SITES_DEPTH 17

static void **keep;
/* Steps taken each way: they also keep gcc from folding left() and right() into one function. */
static volatile unsigned long lefts, rights;
static void *walk(unsigned int, int, size_t);

/* One step of the chain for a 1 bit. */
__attribute__((noinline)) static void *
left(unsigned int path, int depth, size_t size)
{
	void *p = walk(path >> 1, depth - 1, size);

	lefts++;
	return p;
}

/* One step of the chain for a 0 bit. */
__attribute__((noinline)) static void *
right(unsigned int path, int depth, size_t size)
{
	void *p = walk(path >> 1, depth - 1, size);

	rights++;
	return p;
}

/* Allocates SIZE bytes DEPTH calls down, through left() or right() as the bits of PATH say. */
__attribute__((noinline)) static void *
walk(unsigned int path, int depth, size_t size)
{
	if (depth == 0)
		return malloc(size);
	return (path & 1) ? left(path, depth, size) : right(path, depth, size);
}

int
main(int argc, char **argv)
{
	int (*snap)(const char *);
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
	size_t s = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;
	size_t i;

	if (s == 0 || s > (1u << SITES_DEPTH) || (keep = calloc(n, sizeof *keep)) == NULL)
		return 2;
	snap = (int (*)(const char *))dlsym(RTLD_DEFAULT, "heapscope_snapshot");
	for (i = 0; i < n; i++) {
		keep[i] = walk((unsigned int)(i % s), SITES_DEPTH, 16 + 16 * (i % 8));
		if (i + 1 == n / 2 && snap != NULL)
			snap("half");
	}
	return 0;
}
