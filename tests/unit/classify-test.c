/*
 * Unit test of preload/scan-classify.c, a TAP program: the leak scan's classification run on
 * hand-made graphs, each checked against the verdicts that the header of scan-classify.c
 * defines: memcheck's (reachable, possibly, definitely, indirectly; leaked cycles numbered in
 * the address order of their lowest blocks; the edges stored) and, with Python objects,
 * CPython gc's (garbage and its cycles, alive what is referenced from outside the heap and what
 * it reaches, the objects' types and counts).
 *
 * A test graph is written as its blocks (in address order, TG_SIZE bytes each), the roots'
 * pointers into them and the pointers among them, each at a byte offset in its block and to a
 * byte offset in its target; tg_classify() lays the pointers out in compressed rows with their
 * interior and object bits and counts the references as scan-graph.c and scan-roots.c count
 * them, so that what is checked is the classification alone.  Expectations are strings, one
 * character per block: the verdict (R, P, D, I), the cycle, or the gc's verdict (1 garbage).
 *
 * Build: gcc -O2 -g -Wall -Wextra -I. -Icommon -Ipreload tests/unit/classify-test.c
 *        preload/scan-classify.c preload/mem.c -o classify-test
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "scan.h"
#include "tap.h"

/* Number of TAP tests. */
#define TEST_PLAN 24

#define TG_BLOCKS 16		/* blocks a test graph can have */
#define TG_PTRS 64		/* pointers among them */
#define TG_SIZE 64		/* bytes of a block */
#define TG_BASE 0x10000		/* address of block 0; block i is at TG_BASE + i * 4096 */

/* A pointer of a test graph: the word at byte OFF of block FROM holds TO's address + TO_OFF. */
struct tg_ptr {
	uint32_t from;		/* block holding the pointer */
	uint32_t off;		/* its byte offset there */
	uint32_t to;		/* block pointed into */
	uint32_t to_off;	/* byte offset pointed at */
};

/* A hand-made graph, the arrays that the classification reads, and what it made of them. */
struct tg {
	struct scan_graph g;			/* the blocks and edges, pointing at the arrays below */
	struct scan_py py;			/* the Python objects, likewise */
	int python;				/* 1 once a block holds an object */
	struct scan_range spans[TG_BLOCKS];	/* g.spans */
	uint32_t root_refs[TG_BLOCKS];		/* g.root_refs */
	uint32_t block_refs[TG_BLOCKS];		/* g.block_refs */
	uint8_t flags[TG_BLOCKS];		/* g.flags */
	size_t edge_first[TG_BLOCKS + 1];	/* g.edge_first */
	uint32_t edge_to[TG_PTRS];		/* g.edge_to */
	uint64_t edge_off[TG_PTRS];		/* g.edge_off */
	uint8_t at[TG_BLOCKS];			/* py.at */
	uint32_t type[TG_BLOCKS];		/* py.type */
	int64_t refcnt[TG_BLOCKS];		/* py.refcnt */
	uint32_t py_root_refs[TG_BLOCKS];	/* py.root_refs */
	uint32_t heap_refs[TG_BLOCKS];		/* py.heap_refs */
	uint32_t owner[TG_BLOCKS];		/* py.owner */
	struct tg_ptr ptrs[TG_PTRS];		/* the pointers among blocks, as given */
	size_t nptrs;				/* entries in ptrs */
	struct snap_data d;			/* the verdicts and edges */
};

/*
 * What mem.c needs of the library around it: the settings, which here leave its debug fault
 * switch off (hs_cfg.fault_map is 0), and its warning, which a test prints as a TAP comment.
 */
struct hs_config hs_cfg;

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* Type names of the test objects, and their offsets. */
static const char test_names[] = "Node\0list\0dict";
#define T_NODE 0
#define T_LIST 5
#define T_DICT 10

/* Starts T as a graph of N blocks, no pointers, no objects. */
static void
tg_new(struct tg *t, size_t n)
{
	size_t i;

	memset(t, 0, sizeof *t);
	t->g.n = n;
	for (i = 0; i < n; i++) {
		t->spans[i].start = TG_BASE + i * 4096;
		t->spans[i].end = t->spans[i].start + TG_SIZE;
		t->at[i] = SCAN_PY_NONE;
	}
}

/* Puts a Python object at byte AT of block I: of the type named at TYPE in test_names. */
static void
tg_object(struct tg *t, uint32_t i, uint8_t at, uint32_t type, int64_t refcnt)
{
	t->python = 1;
	t->at[i] = at;
	t->type[i] = type;
	t->refcnt[i] = refcnt;
}

/* Returns 1 if byte OFF of block I counts as its start: its first byte, its object, its GC header. */
static int
tg_at_start(const struct tg *t, uint32_t i, uint32_t off)
{
	uint8_t at = t->at[i];

	return off == 0 || (at != SCAN_PY_NONE &&
	    (off == at || (at >= PY_GC_HEAD && off == (uint32_t)at - PY_GC_HEAD)));
}

/* Adds a pointer at byte OFF of block FROM to byte TO_OFF of block TO. */
static void
tg_ptr(struct tg *t, uint32_t from, uint32_t off, uint32_t to, uint32_t to_off)
{
	struct tg_ptr *p = &t->ptrs[t->nptrs++];

	p->from = from;
	p->off = off;
	p->to = to;
	p->to_off = to_off;
}

/* Adds a root word pointing at byte TO_OFF of block TO, as scan_root_word() counts it. */
static void
tg_root(struct tg *t, uint32_t to, uint32_t to_off)
{
	t->flags[to] |= tg_at_start(t, to, to_off) ? SCAN_ROOT_START : SCAN_ROOT_INTERIOR;
	t->root_refs[to]++;
	if (t->at[to] != SCAN_PY_NONE && to_off == t->at[to])
		t->py_root_refs[to]++;
}

/*
 * Lays the pointers out as scan_blocks() does (by block, then offset; the object bit, the
 * interior bit, the block and heap references) and classifies; returns what
 * scan_classify_graph() returned.
 */
static int
tg_classify(struct tg *t)
{
	const struct tg_ptr *p;
	struct tg_ptr swap;
	size_t i, k, e = 0;
	int obj;

	for (i = 1; i < t->nptrs; i++) {
		for (k = i; k > 0 && (t->ptrs[k - 1].from > t->ptrs[k].from ||
		    (t->ptrs[k - 1].from == t->ptrs[k].from && t->ptrs[k - 1].off > t->ptrs[k].off));
		    k--) {
			swap = t->ptrs[k];
			t->ptrs[k] = t->ptrs[k - 1];
			t->ptrs[k - 1] = swap;
		}
	}
	t->g.spans = t->spans;
	t->g.root_refs = t->root_refs;
	t->g.block_refs = t->block_refs;
	t->g.flags = t->flags;
	t->g.edge_first = t->edge_first;
	t->g.edge_to = t->edge_to;
	t->g.edge_off = t->edge_off;
	t->py.at = t->at;
	t->py.type = t->type;
	t->py.refcnt = t->refcnt;
	t->py.root_refs = t->py_root_refs;
	t->py.heap_refs = t->heap_refs;
	t->py.owner = t->owner;
	for (i = 0; i < t->g.n; i++) {
		t->edge_first[i] = e;
		for (; e < t->nptrs && t->ptrs[e].from == i; e++) {
			p = &t->ptrs[e];
			obj = t->python && t->at[p->to] != SCAN_PY_NONE && p->to_off == t->at[p->to];
			t->edge_to[e] = p->to;
			t->edge_off[e] = (uint64_t)p->off << 2 | obj << 1 |
			    !tg_at_start(t, p->to, p->to_off);
			if (p->to != i)
				t->block_refs[p->to]++;
			if (obj && !scan_py_head(&t->py, i, p->off))
				t->heap_refs[p->to]++;
		}
	}
	t->edge_first[t->g.n] = t->g.nedges = e;
	return scan_classify_graph(&t->g, t->python ? &t->py : NULL, test_names, &t->d);
}

/* Unmaps what the classification of T mapped. */
static void
tg_free(struct tg *t)
{
	scan_unarray(t->d.verdicts, t->g.n, sizeof *t->d.verdicts);
	if (t->d.edges != NULL)
		scan_unarray(t->d.edges, t->d.nedges, sizeof *t->d.edges);
}

/* Returns the letter of a verdict: R, P, I, D, or ? */
static char
tg_letter(uint8_t leak)
{
	switch (leak) {
	case SCAN_REACHABLE:
		return 'R';
	case SCAN_POSSIBLY:
		return 'P';
	case SCAN_INDIRECTLY:
		return 'I';
	case SCAN_DEFINITELY:
		return 'D';
	}
	return '?';
}

/*
 * Returns 1 if T's verdicts are LEAKS (a letter per block) and its leaked cycles CYCLES (a digit
 * per block, 0 = none), saying how they differ if not.
 */
static int
tg_expect(const struct tg *t, const char *leaks, const char *cycles)
{
	char got[TG_BLOCKS + 1], gotc[TG_BLOCKS + 1];
	size_t i;

	if (t->d.verdicts == NULL) {
		printf("# no verdicts\n");
		return 0;
	}
	for (i = 0; i < t->g.n; i++) {
		got[i] = tg_letter(t->d.verdicts[i].leak);
		gotc[i] = '0' + t->d.verdicts[i].cycle;
	}
	got[i] = gotc[i] = '\0';
	if (strcmp(got, leaks) == 0 && strcmp(gotc, cycles) == 0)
		return 1;
	printf("# verdicts %s, cycles %s; expected %s, %s\n", got, gotc, leaks, cycles);
	return 0;
}

/* Returns 1 if T's gc verdicts are GARBAGE (a digit per block) and its garbage cycles CYCLES. */
static int
tg_expect_gc(const struct tg *t, const char *garbage, const char *cycles)
{
	char got[TG_BLOCKS + 1], gotc[TG_BLOCKS + 1];
	size_t i;

	for (i = 0; i < t->g.n; i++) {
		got[i] = t->d.verdicts[i].py_garbage < 0 ? '-' : '0' + t->d.verdicts[i].py_garbage;
		gotc[i] = '0' + t->d.verdicts[i].py_cycle;
	}
	got[i] = gotc[i] = '\0';
	if (strcmp(got, garbage) == 0 && strcmp(gotc, cycles) == 0)
		return 1;
	printf("# garbage %s, cycles %s; expected %s, %s\n", got, gotc, garbage, cycles);
	return 0;
}

/* Returns 1 if T stored an edge FROM -> TO at byte OFF of FROM, INTERIOR or not. */
static int
tg_stored(const struct tg *t, uint32_t from, uint64_t off, uint32_t to, int interior)
{
	size_t k;

	for (k = 0; k < t->d.nedges; k++) {
		if (t->d.edges[k].from == from && t->d.edges[k].to == to &&
		    t->d.edges[k].offset == off && t->d.edges[k].interior == (unsigned)interior)
			return 1;
	}
	printf("# no stored edge %u+%llu -> %u (interior %d)\n", from, (unsigned long long)off, to,
	    interior);
	return 0;
}

/* memcheck's reachability: reachable, possibly lost. */
static void
test_reach(void)
{
	struct tg t;

	/* A root at 0, which points at 1; a root at 2. */
	tg_new(&t, 3);
	tg_root(&t, 0, 0);
	tg_ptr(&t, 0, 8, 1, 0);
	tg_root(&t, 2, 0);
	tap_ok(tg_classify(&t) == 0 && tg_expect(&t, "RRR", "000"),
	    "blocks a root points at, and the blocks they point at, are reachable");
	tg_free(&t);

	/* A root inside 0, which points at 1; a reachable 2 points inside 3, which points at 4. */
	tg_new(&t, 5);
	tg_root(&t, 0, 8);
	tg_ptr(&t, 0, 16, 1, 0);
	tg_root(&t, 2, 0);
	tg_ptr(&t, 2, 0, 3, 24);
	tg_ptr(&t, 3, 0, 4, 0);
	tap_ok(tg_classify(&t) == 0 && tg_expect(&t, "PPRPP", "00000"),
	    "a block reached only through an interior pointer is possibly lost, and so is what "
	    "it reaches");
	tg_free(&t);
}

/* memcheck's lost blocks, definitely and indirectly, and the leaked cycles. */
static void
test_lost(void)
{
	struct tg t;

	tg_new(&t, 2);
	tg_root(&t, 0, 0);
	tap_ok(tg_classify(&t) == 0 && tg_expect(&t, "RD", "00"),
	    "a block that nothing points at is definitely lost, in no cycle");
	tg_free(&t);

	/* 0 -> 1 -> 2. */
	tg_new(&t, 3);
	tg_ptr(&t, 0, 8, 1, 0);
	tg_ptr(&t, 1, 8, 2, 0);
	tap_ok(tg_classify(&t) == 0 && tg_expect(&t, "DII", "000"),
	    "a lost chain A->B->C: A definitely, B and C indirectly, no cycle");
	tg_free(&t);

	/* 0 <-> 1. */
	tg_new(&t, 2);
	tg_ptr(&t, 0, 0, 1, 0);
	tg_ptr(&t, 1, 0, 0, 0);
	tap_ok(tg_classify(&t) == 0 && tg_expect(&t, "DI", "11"),
	    "a lost 2-cycle: the lower block definitely, the other indirectly, one cycle");
	tg_free(&t);

	/* The ring 2 -> 4 -> 1 -> 3 -> 0 -> 2, its lowest block not first. */
	tg_new(&t, 5);
	tg_ptr(&t, 2, 8, 4, 0);
	tg_ptr(&t, 4, 8, 1, 0);
	tg_ptr(&t, 1, 8, 3, 0);
	tg_ptr(&t, 3, 8, 0, 0);
	tg_ptr(&t, 0, 8, 2, 0);
	tap_ok(tg_classify(&t) == 0 && tg_expect(&t, "DIIII", "11111"),
	    "a lost 5-ring: its lowest block definitely, the others indirectly, one cycle");
	tg_free(&t);

	tg_new(&t, 2);
	tg_ptr(&t, 1, 16, 1, 0);
	tg_root(&t, 0, 0);
	tap_ok(tg_classify(&t) == 0 && tg_expect(&t, "RD", "01"),
	    "a lost block pointing at itself is definitely lost, and a cycle");
	tg_free(&t);

	/* 2 -> 0 <-> 1: the cycle is lower than the block that enters it. */
	tg_new(&t, 3);
	tg_ptr(&t, 0, 0, 1, 0);
	tg_ptr(&t, 1, 0, 0, 0);
	tg_ptr(&t, 2, 0, 0, 0);
	tap_ok(tg_classify(&t) == 0 && tg_expect(&t, "IID", "110"),
	    "a cycle entered from a definitely lost block: its blocks indirectly, still a cycle");
	tg_free(&t);

	/* {0, 4} and {1, 3}, the second entered from the first (Tarjan completes it first). */
	tg_new(&t, 5);
	tg_ptr(&t, 0, 0, 1, 0);
	tg_ptr(&t, 0, 8, 4, 0);
	tg_ptr(&t, 4, 8, 0, 0);
	tg_ptr(&t, 1, 0, 3, 0);
	tg_ptr(&t, 3, 0, 1, 0);
	tg_root(&t, 2, 0);
	tap_ok(tg_classify(&t) == 0 && tg_expect(&t, "DIRII", "12021"),
	    "two cycles are numbered 1, 2 in the address order of their lowest blocks");
	tg_free(&t);

	/* Sources 0 and 5; 0 -> {1, 2} -> 3; 5 -> 3, 5 -> 4 -> 3. */
	tg_new(&t, 6);
	tg_ptr(&t, 0, 0, 1, 0);
	tg_ptr(&t, 1, 0, 2, 0);
	tg_ptr(&t, 2, 0, 1, 0);
	tg_ptr(&t, 2, 8, 3, 0);
	tg_ptr(&t, 5, 0, 3, 0);
	tg_ptr(&t, 5, 8, 4, 0);
	tg_ptr(&t, 4, 0, 3, 0);
	tap_ok(tg_classify(&t) == 0 && tg_expect(&t, "DIIIID", "011000"),
	    "a DAG of components: each source's lowest block definitely, the rest indirectly");
	tg_free(&t);
}

/* The edges stored and the counts passed on, without Python. */
static void
test_stored(void)
{
	struct tg t;
	int ok;

	/* Root -> 0 -> 1; lost 2 -> 0, 2 -> inside 3, 3 -> 2. */
	tg_new(&t, 4);
	tg_root(&t, 0, 0);
	tg_root(&t, 0, 0);
	tg_ptr(&t, 0, 8, 1, 0);
	tg_ptr(&t, 2, 16, 0, 0);
	tg_ptr(&t, 2, 24, 3, 40);
	tg_ptr(&t, 3, 32, 2, 0);
	ok = tg_classify(&t) == 0 && tg_expect(&t, "RRDI", "0011");
	tap_ok(ok && t.d.nedges == 2 && tg_stored(&t, 2, 24, 3, 1) && tg_stored(&t, 3, 32, 2, 0),
	    "the edges stored are those among lost blocks, with their offset and interior bit");
	tap_ok(ok && t.d.verdicts[0].root_refs == 2 && t.d.verdicts[0].block_refs == 1 &&
	    t.d.verdicts[1].block_refs == 1 && t.d.verdicts[2].root_refs == 0 &&
	    t.d.verdicts[3].block_refs == 1, "the root and block references are passed on");
	tap_ok(ok && tg_expect_gc(&t, "----", "0000") && t.d.verdicts[0].py_type == NULL,
	    "without Python objects, no gc verdict and no type");
	tg_free(&t);

	tg_new(&t, 0);
	tap_ok(tg_classify(&t) == 0 && t.d.verdicts == NULL && t.d.nedges == 0,
	    "no blocks, no verdicts");
}

/*
 * A graph of Python objects, most with a GC header and the object at 16 (their GC header's two
 * words link them in the gc's lists, from their byte 0 and 8):
 *	0 X	referenced by a root, so from outside the heap; X -> Y, and a stale word to V
 *	1 Y	referenced by X only; a word of its GC header holds Q's address, which is no
 *		reference
 *	2 P, 3 Q	a cycle, linked to X in the gc's list; F points at P too; P -> J
 *	4 Z	immortal; Z -> W
 *	5 W	referenced by Z only
 *	6 F	on a free list (count 0), its words stale: F -> P
 *	7 V	I's values array, no object: V -> J
 *	8 I	an object with a pre-header (at 32), whose first word points at V; I <-> J
 *	9 J	referenced by I, V and P (so that Tarjan completes its cycle before P's)
 *	10 N	no object, that a root points at: N -> M
 *	11 M	referenced by N only
 */
static void
test_python(void)
{
	struct tg t;
	int ok;

	tg_new(&t, 12);
	tg_object(&t, 0, 16, T_NODE, 1);
	tg_object(&t, 1, 16, T_NODE, 1);
	tg_object(&t, 2, 16, T_NODE, 1);
	tg_object(&t, 3, 16, T_NODE, 2);
	tg_object(&t, 4, 16, T_LIST, -1);
	tg_object(&t, 5, 16, T_NODE, 1);
	tg_object(&t, 6, 16, T_NODE, 0);
	tg_object(&t, 8, 32, T_NODE, 1);
	tg_object(&t, 9, 16, T_DICT, 3);
	tg_object(&t, 11, 16, T_NODE, 1);
	tg_root(&t, 0, 16);
	tg_root(&t, 10, 0);
	tg_ptr(&t, 0, 0, 2, 0);		/* X's GC header -> P's */
	tg_ptr(&t, 2, 8, 0, 0);		/* P's GC header -> X's */
	tg_ptr(&t, 1, 8, 3, 16);	/* Y's GC header -> Q itself */
	tg_ptr(&t, 0, 24, 1, 16);
	tg_ptr(&t, 0, 32, 7, 0);
	tg_ptr(&t, 2, 24, 3, 16);
	tg_ptr(&t, 3, 24, 2, 16);
	tg_ptr(&t, 2, 32, 9, 16);
	tg_ptr(&t, 3, 32, 3, 16);	/* Q -> Q, counted in its references */
	tg_ptr(&t, 4, 24, 5, 16);
	tg_ptr(&t, 6, 24, 2, 16);
	tg_ptr(&t, 8, 0, 7, 0);		/* I's pre-header -> V */
	tg_ptr(&t, 8, 48, 9, 16);
	tg_ptr(&t, 9, 24, 8, 32);
	tg_ptr(&t, 7, 0, 9, 16);
	tg_ptr(&t, 10, 8, 11, 16);
	ok = tg_classify(&t) == 0 && tg_expect(&t, "RRRRDIDRRRRR", "000000000000");
	tap_ok(ok, "objects in memcheck's view: what the roots reach, the gc's lists included");
	tap_ok(ok && t.d.verdicts[0].py_garbage == 0 && t.d.verdicts[1].py_garbage == 0,
	    "an object referenced from outside the heap is alive, and what it reaches");
	tap_ok(ok && t.d.verdicts[4].py_garbage == 0 && t.d.verdicts[5].py_garbage == 0,
	    "an immortal object is alive, and what it reaches");
	tap_ok(ok && t.d.verdicts[6].py_garbage == 0,
	    "an object on a free list is alive (free memory, not garbage)");
	tap_ok(ok && t.d.verdicts[2].py_garbage == 1 && t.d.verdicts[3].py_garbage == 1,
	    "a cycle is garbage, though GC headers, a free object and a root-reached block point "
	    "at it");
	tap_ok(ok && t.d.verdicts[7].py_garbage == 1 && t.d.verdicts[8].py_garbage == 1 &&
	    t.d.verdicts[9].py_garbage == 1,
	    "an object's values array is reached through its owner alone, not a stale word");
	tap_ok(ok && t.d.verdicts[10].py_garbage == 0 && t.d.verdicts[11].py_garbage == 0,
	    "a block that is no object but that a root points at is alive, and what it reaches");
	tap_ok(ok && tg_expect_gc(&t, "001100011100", "001100022200"),
	    "garbage cycles are numbered 1, 2 in the address order of their lowest blocks");
	tap_ok(ok && strcmp(t.d.verdicts[4].py_type, "list") == 0 &&
	    t.d.verdicts[4].py_refcnt == -1 && strcmp(t.d.verdicts[9].py_type, "dict") == 0 &&
	    t.d.verdicts[9].py_refcnt == 3 && t.d.verdicts[9].py_refs == 3 &&
	    t.d.verdicts[0].py_refs == 1 && t.d.verdicts[3].py_refs == 2 &&
	    t.d.verdicts[7].py_type == NULL && t.d.verdicts[10].py_type == NULL,
	    "objects get their type, count and references; other blocks none");
	tap_ok(ok && t.d.nedges == 9 && tg_stored(&t, 4, 24, 5, 0) && tg_stored(&t, 2, 24, 3, 0) &&
	    tg_stored(&t, 3, 24, 2, 0) && tg_stored(&t, 3, 32, 3, 0) && tg_stored(&t, 8, 0, 7, 0) &&
	    tg_stored(&t, 8, 48, 9, 0) && tg_stored(&t, 9, 24, 8, 0) && tg_stored(&t, 7, 0, 9, 0) &&
	    tg_stored(&t, 2, 32, 9, 0),
	    "the edges stored: among lost blocks, and the gc's among garbage");
	tg_free(&t);
}

int
main(void)
{
	printf("1..%d\n", TEST_PLAN);
	test_reach();
	test_lost();
	test_stored();
	test_python();
	if (tap_count != TEST_PLAN)
		printf("# planned %d tests, ran %d\n", TEST_PLAN, tap_count);
	return tap_failed == 0 && tap_count == TEST_PLAN ? 0 : 1;
}
