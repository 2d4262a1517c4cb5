/*
 * leaker: leaks blocks in known shapes, for heapscope leaks.  Each allocating line is marked
 * with a tag (the test finds the line by the tag); every block is zeroed, so that no stale word
 * in it looks like a pointer.  A node holds a word, then pointers at offsets 8 and 16.
 * Before the API snapshot "mid":
 *	plain	3 x 100 bytes that nothing points at: 3 definitely lost
 *	pair	2 x 32, each pointing at the other (+8): a cycle of 2
 *	ring	5 x 48, each pointing at the next (+8), the last at the first: a cycle of 5
 *	self	1 x 24 pointing at itself (+8): a cycle of 1
 *	tcycle	the first of a cycle of 2 x 40, held by a global until after "mid"
 *	kept	1 x 200 held by a global: still reachable
 * After it:
 *	tcycle	the second of the cycle (the same line, called from elsewhere); the two point at
 *		each other (+8) and the second at a tail (+16) of 2 x 16 (tail), the first of which
 *		points at the second (+8): the tail is indirectly lost, and no part of the cycle
 *	tree	a root of 64 pointing at two leaves of 32 (leaf) at +8 and +16
 *	inner	1 x 80 that a global points into, at its ninth byte: possibly lost
 * The pointers to the leaked blocks are dropped, the dead frames that held them zeroed, and no
 * other output is made.
 */
#include <dlfcn.h>
#include <stdlib.h>

#include "leakcheck.h"

/* One block of a shape, 24 bytes or more. */
struct node {
	long	 word;		/* never a pointer */
	void	*next;		/* at +8 */
	void	*other;		/* at +16 */
};

/* A block of the tail, 16 bytes. */
struct tail {
	long	 word;		/* never a pointer */
	void	*next;		/* at +8 */
};

/* Makes the compiler keep P and every store made through it (gcc deletes an unused malloc). */
#define USE(p) __asm__ volatile("" : : "r"(p) : "memory")

void *kept;			/* the still reachable block */
char *inner;			/* points at the ninth byte of the possibly lost block */
static struct node *pending;	/* the first block of the tailed cycle, until "mid" is taken */
static int (*snap)(const char *);

/* Takes a snapshot through the API, found at run time as programs are told to. */
static void
snapshot(const char *label)
{
	if (snap != NULL && snap(label) < 0)
		exit(90);
}

__attribute__((noinline, noclone)) static void
leak_plain(void)
{
	void *p;
	int i;

	for (i = 0; i < 3; i++) {
		p = calloc(1, 100);				/* tag:plain */
		USE(p);
	}
}

__attribute__((noinline, noclone)) static void
leak_pair(void)
{
	struct node *n[2];
	int i;

	for (i = 0; i < 2; i++)
		n[i] = calloc(1, 32);				/* tag:pair */
	n[0]->next = n[1];
	n[1]->next = n[0];
	USE(n[0]);
}

__attribute__((noinline, noclone)) static void
leak_ring(void)
{
	struct node *n[5];
	int i;

	for (i = 0; i < 5; i++)
		n[i] = calloc(1, 48);				/* tag:ring */
	for (i = 0; i < 5; i++)
		n[i]->next = n[(i + 1) % 5];
	USE(n[0]);
}

__attribute__((noinline, noclone)) static void
leak_self(void)
{
	struct node *n = calloc(1, 24);				/* tag:self */

	n->next = n;
	USE(n);
}

/* Returns a new block of the tailed cycle. */
__attribute__((noinline, noclone)) static struct node *
tcycle_node(void)
{
	struct node *n = calloc(1, 40);				/* tag:tcycle */

	USE(n);
	return n;
}

/* Closes the tailed cycle on the block held in pending, adds the tail, and drops it all. */
__attribute__((noinline, noclone)) static void
leak_tcycle(void)
{
	struct node *b = tcycle_node();				/* tag:call-tcycle2 */
	struct tail *t[2];
	int i;

	for (i = 0; i < 2; i++)
		t[i] = calloc(1, 16);				/* tag:tail */
	pending->next = b;
	b->next = pending;
	b->other = t[0];
	t[0]->next = t[1];
	USE(b);
	pending = NULL;
}

__attribute__((noinline, noclone)) static void
leak_tree(void)
{
	struct node *root = calloc(1, 64);			/* tag:root */
	struct node *leaf[2];
	int i;

	for (i = 0; i < 2; i++)
		leaf[i] = calloc(1, 32);			/* tag:leaf */
	root->next = leaf[0];
	root->other = leaf[1];
	USE(root);
}

int
main(void)
{
	snap = (int (*)(const char *))dlsym(RTLD_DEFAULT, "heapscope_snapshot");
	leak_plain();
	leak_pair();
	leak_ring();
	leak_self();
	kept = calloc(1, 200);					/* tag:kept */
	pending = tcycle_node();				/* tag:call-tcycle1 */
	scrub();
	snapshot("mid");

	leak_tcycle();
	leak_tree();
	inner = (char *)calloc(1, 80) + 8;			/* tag:inner */
	scrub();
	return 0;
}
