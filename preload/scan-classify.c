/*
 * The classification of the leak scan (scan.c): given the graph of blocks and edges and the
 * root flags (struct scan_graph), and the Python objects (struct scan_py) when there are any,
 * the verdict on every block, the leaked cycles, the gc's garbage and its cycles, and the
 * edges worth storing.  It uses memcheck's names and definitions.
 *
 * REACHABLE is every block reached from a root by a chain of pointers to block starts;
 * POSSIBLY every other block reached from a root at all (some link of every chain is an
 * interior pointer); the rest is unreachable.  Its strongly connected components (iterative
 * Tarjan) form a DAG; in each source component (no edge comes in from another unreachable
 * block) the block of lowest address is DEFINITELY lost and every other unreachable block
 * INDIRECTLY: memcheck's cliques, whose leader in a pure cycle is also the first block in
 * address order.  Leaked cycles are the components with an edge inside (two blocks or more, or
 * one pointing at itself), numbered from 1 in the address order of their lowest blocks.  The
 * edges stored are those between unreachable blocks.
 *
 * Python objects (a traced CPython): the gc's algorithm on the same edges (scan_py_gc).
 * Objects whose count exceeds their heap references are referenced from outside the heap, so
 * alive, as are immortal objects, free-list objects (count 0) and blocks that are no object,
 * belong to none, and that a root points into; what they reach along the gc's edges is alive,
 * and the rest is garbage.  A gc edge leaves out GC header words; into a block holding a live
 * object, anything but a pointer to the object; and into a block that an object's pre-header
 * points into (its values array, scan_py_owners), anything but that object's words.  Garbage
 * cycles are the components of the garbage with an edge inside, numbered like the leaked
 * cycles; the edges between garbage blocks are stored too.
 *
 * When this runs: once the threads run again, outside the world lock (scan_classify).  It is a
 * function of its input alone, with no other state, and its working arrays are mem_map'd, so
 * that the unit test (tests/unit/classify-test.c) runs it on hand-made graphs.
 */
#include "config.h"

#include <assert.h>
#include <string.h>

#include "internal.h"
#include "scan.h"

/* State of a block during classification. */
enum {
	CL_UNREACHED,		/* not reached (yet) */
	CL_POSSIBLY,		/* reached, through some interior pointer */
	CL_REACHED,		/* reached by start pointers only */
	CL_ONSTACK = 4		/* with CL_UNREACHED: on Tarjan's component stack */
};

/* Bits of a component's flags. */
#define COMP_ENTERED 1		/* an edge comes in from another unreached component */
#define COMP_INSIDE 2		/* an edge stays inside: a cycle */
#define COMP_LED 4		/* its leader was chosen */

/* A frame of the iterative Tarjan: the node and its next edge. */
struct scan_call {
	uint32_t node;		/* block index */
	size_t edge;		/* next edge of node to follow */
};

/*
 * One view of the blocks that nothing live reaches: memcheck's (the unreachable blocks) or
 * CPython gc's (the garbage).  Its blocks are those whose mark is CL_UNREACHED; its components
 * and cycles are theirs, along the edges between them.
 */
struct scan_view {
	uint8_t *mark;		/* mark[i]: CL_* of block i; NULL in the gc's view without Python */
	int gc;			/* 1: along the gc's edges only (scan_gc_edge) */
	size_t count;		/* blocks of the view: == #{i : mark[i] == CL_UNREACHED} */
	uint32_t *comp;		/* comp[i]: component of block i of the view */
	size_t ncomp;		/* components */
	uint8_t *flags;		/* flags[k]: COMP_* of component k */
	uint32_t *cycle_no;	/* cycle_no[k]: cycle of component k, 1..; 0 until numbered */
	uint32_t ncycles;	/* cycles numbered */
};

/*
 * A classification in progress: its input and its working arrays, of g->n entries unless said,
 * each mapped by the first phase that needs it and unmapped by scan_class_free().
 */
struct scan_class {
	const struct scan_graph *g;	/* the blocks and the edges among them */
	struct scan_py *py;		/* their Python objects, NULL if none */
	struct scan_view lost;		/* memcheck's view: mark is CL_REACHED, CL_POSSIBLY or
					   CL_UNREACHED (lost) */
	struct scan_view garbage;	/* the gc's: mark is CL_REACHED (alive) or CL_UNREACHED */
	uint32_t *stack;		/* the blocks to spread marks from; Tarjan's stack */
	uint32_t *idx;			/* Tarjan's visit numbers, 0 = not visited */
	uint32_t *low;			/* Tarjan's low links */
	struct scan_call *calls;	/* Tarjan's frames: ncalls */
	size_t ncalls;			/* the larger view's count */
};

/* Returns 1 if block I holds a live Python object: an immortal one, or one with references. */
static inline int
scan_py_live(const struct scan_py *p, size_t i)
{
	return p->at[i] != SCAN_PY_NONE && p->refcnt[i] != 0;
}

/*
 * Returns 1 if edge E, from block U, is a reference as CPython's gc sees it: not a word of U's GC
 * header, and, into a block holding a live object, a pointer to the object itself (a pointer
 * elsewhere in it, such as the gc's links to its GC header, is none).  Objects of reference
 * count 0 wait on a free list: any pointer into them counts.
 */
static inline int
scan_gc_edge(const struct scan_class *c, uint32_t u, size_t e)
{
	const struct scan_graph *g = c->g;
	const struct scan_py *p = c->py;
	uint32_t owner = p->owner[g->edge_to[e]];

	if (p->at[u] != SCAN_PY_NONE && p->refcnt[u] == 0)
		return 0;	/* a free object's words are stale */
	if (owner != 0 && owner != u + 1)
		return 0;	/* an object's values array belongs to it alone */
	return !scan_py_head(p, u, g->edge_off[e] >> 2) &&
	    ((g->edge_off[e] & 2) || !scan_py_live(p, g->edge_to[e]));
}

/* The edges a spread of marks follows (scan_spread). */
enum {
	SCAN_FOLLOW_START,	/* start pointers only */
	SCAN_FOLLOW_ANY,	/* any pointer */
	SCAN_FOLLOW_GC		/* the gc's edges (scan_gc_edge) */
};

/*
 * Marks TO every block whose MARK is CL_UNREACHED that the TOP blocks on c->stack lead to along
 * the edges FOLLOW names, and so on from those.  No block is on the stack twice: a block goes
 * on it when its mark changes.
 */
static void
scan_spread(const struct scan_class *c, uint8_t *mark, size_t top, uint8_t to, int follow)
{
	const struct scan_graph *g = c->g;
	uint32_t *stack = c->stack;
	size_t e;
	uint32_t u, v;

	while (top > 0) {
		u = stack[--top];
		for (e = g->edge_first[u]; e < g->edge_first[u + 1]; e++) {
			v = g->edge_to[e];
			if (mark[v] != CL_UNREACHED ||
			    (follow == SCAN_FOLLOW_START && (g->edge_off[e] & 1)) ||
			    (follow == SCAN_FOLLOW_GC && !scan_gc_edge(c, u, e)))
				continue;
			mark[v] = to;
			stack[top++] = v;
		}
	}
}

/*
 * The first phase, memcheck's reachability: REACHABLE is every block reached from a root's
 * start pointer along start pointers, POSSIBLY whatever else roots or reachable blocks lead to
 * along any pointer.  Maps and fills c->lost.mark and counts the rest, the lost blocks; 0, or
 * -1 if out of memory.
 */
static int
scan_reach(struct scan_class *c)
{
	const struct scan_graph *g = c->g;
	size_t n = g->n, i, top;
	uint8_t *state;

	c->lost.mark = state = scan_array(n, sizeof *state);
	c->stack = scan_array(n, sizeof *c->stack);
	if (state == NULL || c->stack == NULL)
		return -1;

	/* Reachable: from roots' start pointers, along start pointers. */
	for (i = top = 0; i < n; i++) {
		if (g->flags[i] & SCAN_ROOT_START) {
			state[i] = CL_REACHED;
			c->stack[top++] = i;
		}
	}
	scan_spread(c, state, top, CL_REACHED, SCAN_FOLLOW_START);
	/* Possibly: whatever else roots or reachable blocks lead to, along any pointer. */
	for (i = top = 0; i < n; i++) {
		if (state[i] == CL_UNREACHED && (g->flags[i] & SCAN_ROOT_INTERIOR))
			state[i] = CL_POSSIBLY;
		else if (state[i] != CL_REACHED)
			continue;
		c->stack[top++] = i;
	}
	scan_spread(c, state, top, CL_POSSIBLY, SCAN_FOLLOW_ANY);
	for (i = 0; i < n; i++)
		c->lost.count += state[i] == CL_UNREACHED;
	return 0;
}

/*
 * Finds the blocks that belong to one object: those that a word of its pre-header (the two words
 * before its GC header, where 3.11+ keep a managed dict or its values array) points into and that
 * hold no object themselves.  Other words pointing at such a block are stale: the gc follows it
 * only from its owner (scan_gc_edge), or one stale word would keep a garbage instance alive.
 */
static void
scan_py_owners(struct scan_class *c)
{
	const struct scan_graph *g = c->g;
	struct scan_py *p = c->py;
	size_t i, e;
	uint32_t v;

	for (i = 0; i < g->n; i++) {
		if (p->at[i] != 2 * PY_GC_HEAD || p->refcnt[i] == 0)
			continue;
		for (e = g->edge_first[i]; e < g->edge_first[i + 1]; e++) {
			v = g->edge_to[e];
			if ((g->edge_off[e] >> 2) < PY_GC_HEAD && p->at[v] == SCAN_PY_NONE &&
			    v != i)
				p->owner[v] = i + 1;
		}
	}
}

/*
 * The Python phase, CPython's gc on the conservative edges: an object whose ob_refcnt exceeds
 * the words of heap blocks equal to its address (GC headers left out) is referenced from
 * outside the heap, so alive, and so is an immortal object, an object of count 0 (on a free
 * list: free memory, not garbage) and a block that is not an object but that a root points
 * into; whatever those lead to along the gc's edges (scan_gc_edge) is alive too.  Maps and
 * fills c->garbage.mark, CL_REACHED for the live blocks, CL_UNREACHED for the garbage, and
 * counts the garbage; 0, or -1 if out of memory.
 */
static int
scan_py_gc(struct scan_class *c)
{
	const struct scan_graph *g = c->g;
	const struct scan_py *p = c->py;
	size_t i, top = 0;
	uint8_t *gc;
	int root;

	if ((c->garbage.mark = gc = scan_array(g->n, sizeof *gc)) == NULL)
		return -1;
	c->garbage.gc = 1;
	scan_py_owners(c);
	for (i = 0; i < g->n; i++) {
		if (p->at[i] != SCAN_PY_NONE)
			root = p->refcnt[i] <= 0 || p->refcnt[i] > (int64_t)p->heap_refs[i];
		else
			root = (g->flags[i] & (SCAN_ROOT_START | SCAN_ROOT_INTERIOR)) != 0 &&
			    p->owner[i] == 0;	/* an object's own array lives by it */
		if (root) {
			gc[i] = CL_REACHED;
			c->stack[top++] = i;
		}
	}
	scan_spread(c, gc, top, CL_REACHED, SCAN_FOLLOW_GC);
	for (i = 0; i < g->n; i++)
		c->garbage.count += gc[i] == CL_UNREACHED;
	return 0;
}

/*
 * Tarjan's strongly connected components, with an explicit stack, of the blocks of VIEW, along
 * the edges among them (the gc's only, in the gc's view).  c->idx and c->low are zeroed.  Sets
 * VIEW->comp[i] of each of its blocks and VIEW->ncomp.
 */
static void
scan_tarjan(struct scan_class *c, struct scan_view *view)
{
	const struct scan_graph *g = c->g;
	uint8_t *state = view->mark;
	uint32_t *idx = c->idx, *low = c->low, *comp = view->comp, *stack = c->stack;
	struct scan_call *calls = c->calls;
	size_t i, e, top, sp, ncomp = 0;
	uint32_t u, v, counter = 0;

	for (i = 0; i < g->n; i++) {
		if (state[i] != CL_UNREACHED || idx[i] != 0)
			continue;
		sp = top = 0;
		idx[i] = low[i] = ++counter;
		state[i] |= CL_ONSTACK;
		stack[top++] = i;
		calls[sp].node = i;
		calls[sp++].edge = g->edge_first[i];
		while (sp > 0) {
			u = calls[sp - 1].node;
			if (calls[sp - 1].edge < g->edge_first[u + 1]) {
				e = calls[sp - 1].edge++;
				v = g->edge_to[e];
				if ((state[v] & ~CL_ONSTACK) != CL_UNREACHED ||
				    (view->gc && !scan_gc_edge(c, u, e)))
					continue;
				if (idx[v] == 0) {
					idx[v] = low[v] = ++counter;
					state[v] |= CL_ONSTACK;
					stack[top++] = v;
					calls[sp].node = v;
					calls[sp++].edge = g->edge_first[v];
				} else if ((state[v] & CL_ONSTACK) && idx[v] < low[u])
					low[u] = idx[v];
				continue;
			}
			sp--;
			if (low[u] == idx[u]) {
				do {
					v = stack[--top];
					state[v] &= ~CL_ONSTACK;
					comp[v] = ncomp;
				} while (v != u);
				ncomp++;
			}
			if (sp > 0 && low[u] < low[calls[sp - 1].node])
				low[calls[sp - 1].node] = low[u];
		}
	}
	view->ncomp = ncomp;
}

/*
 * Maps VIEW's component flags and cycle numbers, and marks the components that an edge from
 * another one enters (COMP_ENTERED) or that hold an edge (COMP_INSIDE); 0, or -1 if out of
 * memory.
 */
static int
scan_comp_flags(struct scan_class *c, struct scan_view *view)
{
	const struct scan_graph *g = c->g;
	const uint8_t *mark = view->mark;
	const uint32_t *comp = view->comp;
	size_t i, e;
	uint32_t v;

	if (view->ncomp == 0)
		return 0;
	view->flags = scan_array(view->ncomp, sizeof *view->flags);
	view->cycle_no = scan_array(view->ncomp, sizeof *view->cycle_no);
	if (view->flags == NULL || view->cycle_no == NULL)
		return -1;
	for (i = 0; i < g->n; i++) {
		if (mark[i] != CL_UNREACHED)
			continue;
		for (e = g->edge_first[i]; e < g->edge_first[i + 1]; e++) {
			v = g->edge_to[e];
			if (mark[v] != CL_UNREACHED || (view->gc && !scan_gc_edge(c, i, e)))
				continue;
			view->flags[comp[v]] |= comp[v] == comp[i] ? COMP_INSIDE : COMP_ENTERED;
		}
	}
	return 0;
}

/*
 * The components phase: the strongly connected components of the lost blocks, then of the
 * garbage, and which of them are entered from another or hold a cycle.  0, or -1 if out of
 * memory.
 */
static int
scan_components(struct scan_class *c)
{
	size_t n = c->g->n;

	c->ncalls = c->lost.count > c->garbage.count ? c->lost.count : c->garbage.count;
	if (c->ncalls > 0) {
		c->idx = scan_array(n, sizeof *c->idx);
		c->low = scan_array(n, sizeof *c->low);
		c->lost.comp = scan_array(n, sizeof *c->lost.comp);
		c->calls = scan_array(c->ncalls, sizeof *c->calls);
		if (c->idx == NULL || c->low == NULL || c->lost.comp == NULL || c->calls == NULL)
			return -1;
	}
	if (c->lost.count > 0)
		scan_tarjan(c, &c->lost);
	if (c->garbage.count > 0) {
		if ((c->garbage.comp = scan_array(n, sizeof *c->garbage.comp)) == NULL)
			return -1;
		memset(c->idx, 0, n * sizeof *c->idx);
		memset(c->low, 0, n * sizeof *c->low);
		scan_tarjan(c, &c->garbage);
	}
	return scan_comp_flags(c, &c->lost) != 0 || scan_comp_flags(c, &c->garbage) != 0 ? -1 : 0;
}

/* Returns 1 if edge E from block I is stored: between lost blocks, or garbage ones. */
static inline int
scan_stored_edge(const struct scan_class *c, size_t i, size_t e)
{
	const uint8_t *state = c->lost.mark, *gc = c->garbage.mark;
	uint32_t v = c->g->edge_to[e];

	if (state[i] == CL_UNREACHED && state[v] == CL_UNREACHED)
		return 1;
	return gc != NULL && gc[i] == CL_UNREACHED && gc[v] == CL_UNREACHED &&
	    scan_gc_edge(c, i, e);
}

/* Returns the cycle of block I of VIEW, 0 if none; the first block of a cycle numbers it. */
static uint32_t
scan_cycle(struct scan_view *view, size_t i)
{
	uint32_t k = view->comp[i];

	if (!(view->flags[k] & COMP_INSIDE))
		return 0;
	if (view->cycle_no[k] == 0)
		view->cycle_no[k] = ++view->ncycles;
	return view->cycle_no[k];
}

/*
 * Returns the verdict on block I in memcheck's view, and sets *CYCLE to its leaked cycle.
 * Blocks come in address order: the first block of a source component is its lowest.
 */
static uint8_t
scan_leak(struct scan_class *c, size_t i, uint32_t *cycle)
{
	struct scan_view *lost = &c->lost;
	uint32_t k;

	if (lost->mark[i] == CL_REACHED)
		return SCAN_REACHABLE;
	if (lost->mark[i] == CL_POSSIBLY)
		return SCAN_POSSIBLY;
	*cycle = scan_cycle(lost, i);
	k = lost->comp[i];
	if (lost->flags[k] & (COMP_ENTERED | COMP_LED))
		return SCAN_INDIRECTLY;
	lost->flags[k] |= COMP_LED;
	return SCAN_DEFINITELY;
}

/* Fills OUT with the gc's view of block I: garbage or not, its object (type names at NAMES). */
static void
scan_py_verdict(struct scan_class *c, const char *names, size_t i, struct scan_verdict *out)
{
	const struct scan_py *p = c->py;
	uint64_t refs;

	out->py_garbage = c->garbage.mark[i] == CL_UNREACHED;
	if (p->at[i] != SCAN_PY_NONE) {
		out->py_type = names + p->type[i];
		out->py_refcnt = p->refcnt[i];
		refs = (uint64_t)p->root_refs[i] + p->heap_refs[i];
		out->py_refs = refs < UINT32_MAX ? refs : UINT32_MAX;
	}
	if (out->py_garbage)
		out->py_cycle = scan_cycle(&c->garbage, i);
}

/*
 * The last phase: maps and fills D->verdicts and D->edges (the edges between lost blocks, or
 * garbage ones), numbering the cycles as it goes, in address order.  0, or -1 if out of memory
 * (then D's stay NULL).
 */
static int
scan_verdicts(struct scan_class *c, const char *names, struct snap_data *d)
{
	const struct scan_graph *g = c->g;
	size_t n = g->n, i, e, nue = 0;
	struct scan_verdict *out;
	struct scan_edge *edge;

	for (i = 0; i < n; i++) {
		for (e = g->edge_first[i]; e < g->edge_first[i + 1]; e++)
			nue += scan_stored_edge(c, i, e);
	}
	d->verdicts = scan_array(n, sizeof *d->verdicts);
	d->edges = nue > 0 ? scan_array(nue, sizeof *d->edges) : NULL;
	if (d->verdicts == NULL || (nue > 0 && d->edges == NULL)) {
		scan_unarray(d->verdicts, n, sizeof *d->verdicts);
		scan_unarray(d->edges, nue, sizeof *d->edges);
		d->verdicts = NULL;
		d->edges = NULL;
		return -1;
	}
	for (i = 0; i < n; i++) {
		out = &d->verdicts[i];
		out->root_refs = g->root_refs[i];
		out->block_refs = g->block_refs[i];
		out->py_garbage = -1;
		if (c->garbage.mark != NULL)
			scan_py_verdict(c, names, i, out);
		for (e = g->edge_first[i]; e < g->edge_first[i + 1]; e++) {
			if (!scan_stored_edge(c, i, e))
				continue;
			edge = &d->edges[d->nedges++];
			edge->from = i;
			edge->to = g->edge_to[e];
			edge->offset = g->edge_off[e] >> 2;
			edge->interior = g->edge_off[e] & 1;
		}
		out->leak = scan_leak(c, i, &out->cycle);
	}
	assert(d->nedges == nue);
	return 0;
}

/* Unmaps the working arrays of C. */
static void
scan_class_free(struct scan_class *c)
{
	size_t n = c->g->n;

	scan_unarray(c->lost.mark, n, sizeof *c->lost.mark);
	scan_unarray(c->stack, n, sizeof *c->stack);
	scan_unarray(c->garbage.mark, n, sizeof *c->garbage.mark);
	scan_unarray(c->idx, n, sizeof *c->idx);
	scan_unarray(c->low, n, sizeof *c->low);
	scan_unarray(c->lost.comp, n, sizeof *c->lost.comp);
	scan_unarray(c->garbage.comp, n, sizeof *c->garbage.comp);
	scan_unarray(c->calls, c->ncalls, sizeof *c->calls);
	scan_unarray(c->lost.flags, c->lost.ncomp, sizeof *c->lost.flags);
	scan_unarray(c->lost.cycle_no, c->lost.ncomp, sizeof *c->lost.cycle_no);
	scan_unarray(c->garbage.flags, c->garbage.ncomp, sizeof *c->garbage.flags);
	scan_unarray(c->garbage.cycle_no, c->garbage.ncomp, sizeof *c->garbage.cycle_no);
}

/*
 * Classifies the blocks of G, with their Python objects P (NULL if none; P->owner zeroed) whose
 * type names are at NAMES: fills D->verdicts (G->n of them), D->edges and D->nedges, which are
 * empty, and looks at nothing else of D.  It needs no stopped world, only G and P.  Returns 0
 * (with no verdicts if G has no blocks), or -1 if out of memory, D's verdicts and edges NULL.
 */
int
scan_classify_graph(const struct scan_graph *g, struct scan_py *p, const char *names,
    struct snap_data *d)
{
	struct scan_class c;
	int r = 0;

	if (g->n == 0)
		return 0;
	memset(&c, 0, sizeof c);
	c.g = g;
	c.py = p;
	if (scan_reach(&c) != 0 || (p != NULL && scan_py_gc(&c) != 0) ||
	    scan_components(&c) != 0 || scan_verdicts(&c, names, d) != 0)
		r = -1;
	scan_class_free(&c);
	return r;
}
