/*
 * deep: allocations through recursion of known depths from two call sites, without frame
 * pointers (built -O2): 100 blocks of 77 bytes at depth 20 through f(), 50 blocks of 99 bytes at
 * depth 3 through g(), so that a whole traceback can be checked frame by frame.
 */
#include <stdlib.h>

void *keep[256];
static int n;

__attribute__((noinline)) static void
f(int depth)
{
	if (depth > 0)
		f(depth - 1);
	else
		keep[n++] = malloc(77);			/* tag:deep-f */
	__asm__ volatile("");
}

__attribute__((noinline)) static void
g(int depth)
{
	if (depth > 0)
		g(depth - 1);
	else
		keep[n++] = malloc(99);			/* tag:deep-g */
	__asm__ volatile("");
}

int
main(void)
{
	int i;

	for (i = 0; i < 100; i++)
		f(20);					/* tag:call-f */
	for (i = 0; i < 50; i++)
		g(3);					/* tag:call-g */
	return 0;
}
