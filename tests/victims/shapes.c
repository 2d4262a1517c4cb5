/*
 * shapes: a leak of every shape, each block of a size that names its shape, and a few blocks
 * kept.  Takes the API snapshot "shapes" at the end of main, frees nothing after it, and exits 0.
 * Under valgrind (built where <valgrind/memcheck.h> exists) the same moment gets a leak check.
 * No output.
 *
 *	shape (bytes per block)			definitely	indirectly	cycles (members)
 *	plain leaks: 3 x 101			3 (303)		-		-
 *	2-cycles: 2 pairs of 113		2 (226)		2 (226)		2 (2, 2)
 *	ring of 5 x 121				1 (121)		4 (484)		1 (5)
 *	self-pointers: 2 x 131			2 (262)		-		2 (1, 1)
 *	lasso: tail 2 x 141 into ring 3 x 151	1 (141)		4 (141 + 453)	1 (3)
 *	ring 2 x 161 with a tail 2 x 171	1 (161)		3 (161 + 342)	1 (2)
 *	tree of 7 x 181				1 (181)		6 (1086)	-
 *	191 pointing inside 197			1 (191)		1 (197)		-
 *	total					12 (1586)	20 (3090)	7 (16 blocks)
 * Possibly lost: a global points 40 bytes into a 211-byte block, which points at a 223-byte one.
 * Reachable: a global list of 3 x 233.  Edges among the unreachable blocks: 27, one interior.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "leakcheck.h"

void **keep_list;		/* 233 -> 233 -> 233 */
char *keep_inside;		/* 40 bytes into the 211-byte block */

/* Returns a zeroed block of N bytes; opaque to the optimizer, so no store into it is dropped. */
static __attribute__((noipa)) void **
make(size_t n)
{
	return calloc(1, n);				/* tag:make */
}

/* Joins BLOCKS[0..N) into a ring through their first words. */
static void
ring(void ***blocks, int n)
{
	int i;

	for (i = 0; i < n; i++)
		blocks[i][0] = blocks[(i + 1) % n];
}

/* Builds every shape and keeps only what the table above keeps. */
static __attribute__((noipa)) void
build(void)
{
	void **b[8], **t[2];
	int i, k;

	for (i = 0; i < 3; i++)
		make(101);
	for (k = 0; k < 2; k++) {
		b[0] = make(113);
		b[1] = make(113);
		ring(b, 2);
	}
	for (i = 0; i < 5; i++)
		b[i] = make(121);
	ring(b, 5);
	for (k = 0; k < 2; k++) {
		b[0] = make(131);
		b[0][0] = b[0];
	}
	t[0] = make(141);
	t[1] = make(141);
	for (i = 0; i < 3; i++)
		b[i] = make(151);
	ring(b, 3);
	t[0][0] = t[1];
	t[1][0] = b[0];
	b[0] = make(161);
	b[1] = make(161);
	ring(b, 2);
	t[0] = make(171);
	t[1] = make(171);
	b[0][1] = t[0];
	t[0][0] = t[1];
	for (i = 0; i < 7; i++)
		b[i] = make(181);
	for (i = 0; i < 3; i++) {
		b[i][0] = b[2 * i + 1];
		b[i][1] = b[2 * i + 2];
	}
	b[0] = make(191);
	b[1] = make(197);
	b[0][0] = (char *)b[1] + 24;
	b[0] = make(211);
	b[0][0] = make(223);
	keep_inside = (char *)b[0] + 40;
	keep_list = make(233);
	keep_list[0] = make(233);
	((void **)keep_list[0])[0] = make(233);
}

int
main(void)
{
	int (*snap)(const char *);

	snap = (int (*)(const char *))dlsym(RTLD_DEFAULT, "heapscope_snapshot");
	build();
	scrub();
	LEAK_CHECK();
	if (snap != NULL && snap("shapes") < 0)
		return 90;
	return 0;
}
