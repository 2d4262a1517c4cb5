/*
 * leaks: the leak scan's benchmark.  Builds N live blocks (default 1000000) of the shapes a scan
 * meets, linked in shuffled order so that pointers jump across the heap: lists and binary trees
 * kept by a global (80%), leaked rings of 10 (10%), leaked lists of 100 (5%), and blocks that
 * only a pointer into their middle keeps (5%).  Then takes one API snapshot and prints its wall
 * time in seconds.  Run it with HEAPSCOPE_LEAKS=1 and =0: the difference is what the scan and
 * the classification cost, with the writing of their results.  Usage: leaks [N]
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

struct node {
	struct node *next;	/* list: the next node; tree: the left child */
	struct node *right;	/* tree: the right child */
	long payload[2];	/* not pointers */
};

void **kept;			/* list heads, tree roots and interior pointers */

/* Returns the time now, in seconds. */
static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Shuffles P[0..N). */
static void
shuffle(struct node **p, size_t n)
{
	struct node *t;
	size_t i, j;

	for (i = n; i > 1; i--) {
		j = (size_t)rand() % i;
		t = p[i - 1];
		p[i - 1] = p[j];
		p[j] = t;
	}
}

/* Allocates N nodes of SIZE bytes into P, in address order, then shuffles them. */
static void
alloc_nodes(struct node **p, size_t n, size_t size)
{
	size_t i;

	for (i = 0; i < n; i++) {
		p[i] = calloc(1, size);
		p[i]->payload[0] = (long)i;
	}
	shuffle(p, n);
}

int
main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000, i, k, nk = 0;
	size_t lists = n * 4 / 10, trees = n * 4 / 10, rings = n / 10, leaked = n / 20;
	size_t inside = n - lists - trees - rings - leaked;
	int (*snap)(const char *);
	struct node **p;
	double t0, t1;

	snap = (int (*)(const char *))dlsym(RTLD_DEFAULT, "heapscope_snapshot");
	p = malloc(n * sizeof *p);
	kept = calloc(n / 100 + n / 1000 + inside + 16, sizeof *kept);
	srand(1);

	/* Lists of 1000 nodes of 32 bytes, then trees of 1023 nodes of 48 bytes. */
	alloc_nodes(p, lists, 32);
	for (i = 0; i < lists; i++) {
		if (i % 1000 == 0)
			kept[nk++] = p[i];
		p[i]->next = i % 1000 != 999 && i + 1 < lists ? p[i + 1] : NULL;
	}
	alloc_nodes(p, trees, 48);
	for (i = 0; i < trees; i += 1023) {
		kept[nk++] = p[i];
		for (k = 0; k < 1023 && i + k < trees; k++) {
			if (2 * k + 1 < 1023 && i + 2 * k + 1 < trees)
				p[i + k]->next = p[i + 2 * k + 1];
			if (2 * k + 2 < 1023 && i + 2 * k + 2 < trees)
				p[i + k]->right = p[i + 2 * k + 2];
		}
	}
	/* Leaked rings of 10 nodes of 24 bytes, leaked lists of 100 nodes of 64 bytes. */
	alloc_nodes(p, rings, 24);
	for (i = 0; i < rings; i++)
		p[i]->next = p[i % 10 == 9 || i + 1 == rings ? i - i % 10 : i + 1];
	alloc_nodes(p, leaked, 64);
	for (i = 0; i + 1 < leaked; i++)
		p[i]->next = (i + 1) % 100 != 0 ? p[i + 1] : NULL;
	/* Blocks of 128 bytes kept only by a pointer 40 bytes in. */
	alloc_nodes(p, inside, 128);
	for (i = 0; i < inside; i++)
		kept[nk++] = (char *)p[i] + 40;
	free(p);

	if (snap == NULL) {
		fprintf(stderr, "leaks: not traced by heapscope\n");
		return 1;
	}
	t0 = now();
	if (snap("bench") < 0)
		return 1;
	t1 = now();
	printf("%.3f\n", t1 - t0);
	return 0;
}
