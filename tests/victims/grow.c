/*
 * grow: known growth between two labelled API snapshots, "before" and "after", for diff.  Each
 * allocating line is marked with a tag (the test finds the line by the tag).  Between the two:
 *	grow	10 x 1000 before, 10 x 1000 more after, from another call of more(): one line,
 *		two stacks: 20000 B (+10000), 20 blocks (+10)
 *	shrink	5 x 300 before, 3 of them freed: 600 B (-900), 2 blocks (-3)
 *	gone	4 x 50 before, all freed: 0 B (-200), 0 blocks (-4)
 *	steady	20 x 64 before and after: 1280 B (+0), 20 blocks (+0)
 *	fresh	7 x 128 after only: 896 B (+896), 7 blocks (+7)
 *	rec	6 x 40 after only, each at the bottom of rec(3): the line tagged rec-call is three
 *		frames of every such stack, for --cumulative
 * Every block is kept in a global so that the compiler cannot drop the calls.  The program is
 * a PIE, as Debian's gcc builds by default, so two runs load it at different addresses.
 */
#include <dlfcn.h>
#include <stdlib.h>

void *grow[20], *shrink[5], *gone[4], *steady[20], *fresh[7], *recs[6];
static int (*snap)(const char *);

/* Takes a snapshot through the API, found at run time as programs are told to. */
static void
snapshot(const char *label)
{
	if (snap != NULL && snap(label) < 0)
		exit(90);
}

/* Allocates the blocks grow[FROM .. TO - 1] of 1000 bytes. */
__attribute__((noinline)) static void
more(int from, int to)
{
	int i;

	for (i = from; i < to; i++)
		grow[i] = malloc(1000);				/* tag:grow */
	__asm__ volatile("" : : : "memory");
}

/* Allocates one block of 40 bytes DEPTH calls down. */
__attribute__((noinline)) static void *
rec(int depth)
{
	void *p;

	if (depth > 0)
		p = rec(depth - 1);				/* tag:rec-call */
	else
		p = malloc(40);					/* tag:rec */
	__asm__ volatile("" : : "r"(p) : "memory");
	return p;
}

int
main(void)
{
	int i;

	snap = (int (*)(const char *))dlsym(RTLD_DEFAULT, "heapscope_snapshot");
	more(0, 10);						/* tag:call-more */
	for (i = 0; i < 5; i++)
		shrink[i] = malloc(300);			/* tag:shrink */
	for (i = 0; i < 4; i++)
		gone[i] = malloc(50);				/* tag:gone */
	for (i = 0; i < 20; i++)
		steady[i] = malloc(64);				/* tag:steady */
	snapshot("before");

	more(10, 20);						/* tag:call-more2 */
	for (i = 0; i < 3; i++) {
		free(shrink[i]);
		shrink[i] = NULL;
	}
	for (i = 0; i < 4; i++) {
		free(gone[i]);
		gone[i] = NULL;
	}
	for (i = 0; i < 7; i++)
		fresh[i] = malloc(128);				/* tag:fresh */
	for (i = 0; i < 6; i++)
		recs[i] = rec(3);				/* tag:call-rec */
	snapshot("after");
	return 0;
}
