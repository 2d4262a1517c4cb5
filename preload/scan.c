/*
 * The leak scan: at a full snapshot, which live blocks the program can still reach, and how the
 * ones it cannot reach hang together.  It uses memcheck's names and definitions, on a
 * conservative scan of the process's memory: any aligned word whose value falls inside a live
 * block is taken for a pointer to it.
 *
 * Its parts, one file each, share their state through scan.h:
 *	scan-stop.c	stopping the other threads, and letting them go
 *	scan-roots.c	the roots, in the readable mappings, and reading those
 *	scan-graph.c	the blocks in address order, their index, the edges among them
 *	scan-python.c	the Python objects in the blocks
 *
 * Classification, once the threads run again: REACHABLE is every block reached from a root by a
 * chain of pointers to block starts; POSSIBLY every other block reached from a root at all (some
 * link of every chain is an interior pointer); the rest is unreachable.  Its strongly connected
 * components (iterative Tarjan) form a DAG; in each source component (no edge comes in from
 * another unreachable block) the block of lowest address is DEFINITELY lost and every other
 * unreachable block INDIRECTLY: memcheck's cliques, whose leader in a pure cycle is also the first
 * block in address order.  Leaked cycles are the components with an edge inside (two blocks or
 * more, or one pointing at itself), numbered from 1 in the address order of their lowest blocks.
 *
 * Python objects (a traced CPython, py.minor != 0): once the threads run again, the gc's
 * algorithm (scan_py_gc): objects whose count exceeds their heap references are referenced from
 * outside the heap, so alive, as are immortal objects, free-list objects (count 0) and blocks
 * that are no object, belong to none, and that a root points into; what they reach along the
 * gc's edges is alive, and the rest is garbage.  A gc edge leaves out GC header words; into a block holding a
 * live object, anything but a pointer to the object; and into a block that an object's
 * pre-header points into (its values array, scan_py_owners), anything but that object's words.
 * Garbage cycles are the
 * components of the garbage with an edge inside, numbered like the leaked cycles.
 *
 * The state that the parts of a scan share, and its invariants, are in scan.h.
 */
#include "config.h"

#include <sys/syscall.h>
#include <assert.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "scan.h"

static atomic_int scan_warned;		/* 1 once a scan problem was reported */

/* Says CAUSE once per process: later problems would only repeat it. */
static void
scan_warn(const char *cause)
{
	if (!atomic_exchange(&scan_warned, 1))
		log_warn("%s", cause);
}

/* Parses a hexadecimal number at *S (an optional 0x first), advancing *S past it. */
uintptr_t
scan_hex(const char **s)
{
	const char *p = *s;
	uintptr_t v = 0;
	int d;

	if (p[0] == '0' && p[1] == 'x')
		p += 2;
	for (;; p++) {
		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			break;
		v = v << 4 | d;
	}
	*s = p;
	return v;
}

/*
 * Notes what is known of the main thread and of glibc (scan_roots_init); called once by the
 * constructor, in the main thread.
 */
void
scan_init(void)
{
	scan_stop_init();
	scan_roots_init();
}

/*
 * Gets ready for a scan, before the world lock (the dynamic loader's lock is not to be taken
 * while threads are stopped): the stop signal, the TLS layout, the writable segments of the
 * loaded objects.  Returns 0, or -1 having warned (the snapshot then goes unscanned).
 */
int
scan_prepare(void)
{
	char *cause;

	if (scan_stop_prepare(&cause) != 0 || scan_roots_prepare(&cause) != 0) {
		scan_warn(cause);
		return -1;
	}
	return 0;
}

/* Unmaps everything of the scan in progress. */
static void
scan_free_work(void)
{
	scan_py_free(graph.n);
	scan_roots_free();
	scan_graph_free();
}

/*
 * The part of a scan that needs the world still: stops the other threads (all but SPARE,
 * heapscope's writer), sorts D's blocks by address, finds the roots and the edges, and lets the
 * threads go.  The caller holds the world lock, and D holds the blocks and the mappings.
 * Returns 0 (D->scanned tells whether scan_classify() has work: a scan that could not be made
 * was reported once), or -1 with *CAUSE if the blocks could not even be sorted.
 */
int
scan_collect(struct snap_data *d, pid_t spare, char **cause)
{
	pid_t self = syscall(SYS_gettid);
	const char *problem = NULL;
	size_t n = d->nblocks, nslots;
	int missed;

	d->scanned = 0;
	if (n == 0) {
		d->scanned = 1;	/* nothing to stop the program for */
		return 0;
	}
	if (scan_stop(spare, &nslots) != 0) {
		problem = "cannot stop the threads for the leak scan; snapshots go unscanned";
		if (scan_sort(d->blocks, n) != 0)
			goto nosort;
		goto out;
	}
	if (scan_sort(d->blocks, n) != 0) {
		scan_resume();
		goto nosort;
	}
	if (n >= UINT32_MAX) {
		problem = "too many blocks for the leak scan; snapshot not scanned";
		goto fail;
	}
	if (scan_graph_map(n) != 0 || scan_roots_map() != 0 || scan_edges_room(n) != 0)
		goto nomem;
	if (scan_read_maps() != 0) {
		problem = "cannot read /proc/self/maps for the leak scan; snapshots go unscanned";
		goto fail;
	}
	if (py.minor != 0 && scan_py_map(n) != 0)
		goto nomem;
	if (scan_index(d->blocks, n) != 0 ||
	    (pyobjs.at != NULL && scan_py_objects(d) != 0) ||
	    (missed = scan_roots(d, self != spare, nslots)) < 0 || scan_blocks(d->blocks) != 0)
		goto nomem;
	scan_resume();
#ifndef NDEBUG
	scan_graph_check();
#endif
	if (missed > 0)
		problem = "the stack of a thread that did not stop was not found: what only it "
		    "holds may be reported lost";
	d->scanned = 1;
	goto out;
nomem:
	problem = "out of memory for the leak scan; snapshot not scanned";
fail:
	scan_resume();
	scan_free_work();
out:
	if (problem != NULL)
		scan_warn(problem);
	return 0;
nosort:
	*cause = "out of memory for a snapshot";
	return -1;
}

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

/* Returns 1 if block I holds a live Python object: an immortal one, or one with references. */
static inline int
scan_py_live(size_t i)
{
	return pyobjs.at[i] != SCAN_PY_NONE && pyobjs.refcnt[i] != 0;
}

/*
 * Returns 1 if edge E, from block U, is a reference as CPython's gc sees it: not a word of U's GC
 * header, and, into a block holding a live object, a pointer to the object itself (a pointer
 * elsewhere in it, such as the gc's links to its GC header, is none).  Objects of reference
 * count 0 wait on a free list: any pointer into them counts.
 */
static inline int
scan_gc_edge(uint32_t u, size_t e)
{
	uint32_t owner = pyobjs.owner[graph.edge_to[e]];

	if (pyobjs.at[u] != SCAN_PY_NONE && pyobjs.refcnt[u] == 0)
		return 0;	/* a free object's words are stale */
	if (owner != 0 && owner != u + 1)
		return 0;	/* an object's values array belongs to it alone */
	return !scan_py_head(&pyobjs, u, graph.edge_off[e] >> 2) &&
	    ((graph.edge_off[e] & 2) || !scan_py_live(graph.edge_to[e]));
}

/*
 * Finds the blocks that belong to one object: those that a word of its pre-header (the two words
 * before its GC header, where 3.11+ keep a managed dict or its values array) points into and that
 * hold no object themselves.  Other words pointing at such a block are stale: the gc follows it
 * only from its owner (scan_gc_edge), or one stale word would keep a garbage instance alive.
 */
static void
scan_py_owners(void)
{
	size_t i, e;
	uint32_t v;

	for (i = 0; i < graph.n; i++) {
		if (pyobjs.at[i] != 2 * PY_GC_HEAD || pyobjs.refcnt[i] == 0)
			continue;
		for (e = graph.edge_first[i]; e < graph.edge_first[i + 1]; e++) {
			v = graph.edge_to[e];
			if ((graph.edge_off[e] >> 2) < PY_GC_HEAD && pyobjs.at[v] == SCAN_PY_NONE &&
			    v != i)
				pyobjs.owner[v] = i + 1;
		}
	}
}

/*
 * Tarjan's strongly connected components, with an explicit stack, of the blocks whose STATE is
 * CL_UNREACHED, along the edges among them (GCVIEW: not those from GC headers).  IDX and LOW are
 * zeroed arrays of graph.n entries, STACK has graph.n, CALLS one per such block.  Sets COMP[i] of
 * each of those blocks and returns the number of components.
 */
static size_t
scan_components(uint8_t *state, int gcview, uint32_t *idx, uint32_t *low, uint32_t *comp,
    uint32_t *stack, struct scan_call *calls)
{
	size_t i, e, top, sp, ncomp = 0;
	uint32_t u, v, counter = 0;

	for (i = 0; i < graph.n; i++) {
		if (state[i] != CL_UNREACHED || idx[i] != 0)
			continue;
		sp = top = 0;
		idx[i] = low[i] = ++counter;
		state[i] |= CL_ONSTACK;
		stack[top++] = i;
		calls[sp].node = i;
		calls[sp++].edge = graph.edge_first[i];
		while (sp > 0) {
			u = calls[sp - 1].node;
			if (calls[sp - 1].edge < graph.edge_first[u + 1]) {
				e = calls[sp - 1].edge++;
				v = graph.edge_to[e];
				if ((state[v] & ~CL_ONSTACK) != CL_UNREACHED ||
				    (gcview && !scan_gc_edge(u, e)))
					continue;
				if (idx[v] == 0) {
					idx[v] = low[v] = ++counter;
					state[v] |= CL_ONSTACK;
					stack[top++] = v;
					calls[sp].node = v;
					calls[sp++].edge = graph.edge_first[v];
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
	return ncomp;
}

/* The edges a spread of marks follows (scan_spread). */
enum {
	SCAN_FOLLOW_START,	/* start pointers only */
	SCAN_FOLLOW_ANY,	/* any pointer */
	SCAN_FOLLOW_GC		/* the gc's edges (scan_gc_edge) */
};

/*
 * Marks TO every block whose MARK is CL_UNREACHED that the TOP blocks on STACK lead to along the
 * edges FOLLOW names, and so on from those.  STACK has room for graph.n entries, and no block is
 * on it twice: a block goes on it when its mark changes.
 */
static void
scan_spread(uint8_t *mark, uint32_t *stack, size_t top, uint8_t to, int follow)
{
	size_t e;
	uint32_t u, v;

	while (top > 0) {
		u = stack[--top];
		for (e = graph.edge_first[u]; e < graph.edge_first[u + 1]; e++) {
			v = graph.edge_to[e];
			if (mark[v] != CL_UNREACHED ||
			    (follow == SCAN_FOLLOW_START && (graph.edge_off[e] & 1)) ||
			    (follow == SCAN_FOLLOW_GC && !scan_gc_edge(u, e)))
				continue;
			mark[v] = to;
			stack[top++] = v;
		}
	}
}

/*
 * CPython's gc on the conservative edges: an object whose ob_refcnt exceeds the words of heap
 * blocks equal to its address (GC headers left out) is referenced from outside the heap, so
 * alive, and so is an immortal object, an object of count 0 (on a free list: free memory, not
 * garbage) and a block that is not an object but that a root points into; whatever those lead
 * to along the gc's edges (scan_gc_edge) is alive too.  Sets GC[i] to
 * CL_REACHED for the live blocks, CL_UNREACHED for the garbage; STACK has graph.n entries.
 * Returns the number of garbage blocks.
 */
static size_t
scan_py_gc(uint8_t *gc, uint32_t *stack)
{
	size_t i, top = 0, ngarbage = 0;
	int root;

	for (i = 0; i < graph.n; i++) {
		if (pyobjs.at[i] != SCAN_PY_NONE)
			root = pyobjs.refcnt[i] <= 0 ||
			    pyobjs.refcnt[i] > (int64_t)pyobjs.heap_refs[i];
		else
			root = (graph.flags[i] & (SCAN_ROOT_START | SCAN_ROOT_INTERIOR)) != 0 &&
			    pyobjs.owner[i] == 0;	/* an object's own array lives by it */
		if (root) {
			gc[i] = CL_REACHED;
			stack[top++] = i;
		}
	}
	scan_spread(gc, stack, top, CL_REACHED, SCAN_FOLLOW_GC);
	for (i = 0; i < graph.n; i++)
		ngarbage += gc[i] == CL_UNREACHED;
	return ngarbage;
}

/*
 * Marks the components of COMP (of the blocks whose STATE is CL_UNREACHED) that an edge from
 * another one enters (COMP_ENTERED) or that hold an edge (COMP_INSIDE), in CFLAGS; GCVIEW: edges
 * from GC headers left out.
 */
static void
scan_comp_flags(const uint8_t *state, int gcview, const uint32_t *comp, uint8_t *cflags)
{
	size_t i, e;
	uint32_t v;

	for (i = 0; i < graph.n; i++) {
		if (state[i] != CL_UNREACHED)
			continue;
		for (e = graph.edge_first[i]; e < graph.edge_first[i + 1]; e++) {
			v = graph.edge_to[e];
			if (state[v] != CL_UNREACHED || (gcview && !scan_gc_edge(i, e)))
				continue;
			cflags[comp[v]] |= comp[v] == comp[i] ? COMP_INSIDE : COMP_ENTERED;
		}
	}
}

/* Returns 1 if edge E from block I is stored: between unreached blocks, or garbage ones (GC). */
static inline int
scan_stored_edge(const uint8_t *state, const uint8_t *gc, size_t i, size_t e)
{
	uint32_t v = graph.edge_to[e];

	if (state[i] == CL_UNREACHED && state[v] == CL_UNREACHED)
		return 1;
	return gc != NULL && gc[i] == CL_UNREACHED && gc[v] == CL_UNREACHED &&
	    scan_gc_edge(i, e);
}

/*
 * Classifies D's blocks from what scan_collect() found, outside the world lock: fills
 * D->verdicts and D->edges, and frees the scan's work.  Out of memory: one warning, and the
 * snapshot goes unscanned.
 */
void
scan_classify(struct snap_data *d)
{
	size_t n = graph.n, i, e, top, nu = 0, ng = 0, ncomp = 0, ngcomp = 0, nue = 0, ncalls = 0;
	uint32_t *stack = NULL, *idx = NULL, *low = NULL, *comp = NULL, *cycle_no = NULL;
	uint32_t *gcomp = NULL, *gcycle_no = NULL;
	uint32_t u, ncycles = 0, ngcycles = 0;
	uint8_t *state = NULL, *cflags = NULL, *gc = NULL, *gcflags = NULL;
	struct scan_call *calls = NULL;
	struct scan_verdict *out;
	uint64_t refs;

	if (!d->scanned)
		return;
	if (n == 0)
		goto done;
	state = scan_array(n, sizeof *state);
	stack = scan_array(n, sizeof *stack);
	if (state == NULL || stack == NULL || scan_loader_roots(d) != 0)
		goto nomem;

	/* Reachable: from roots' start pointers, along start pointers. */
	for (i = top = 0; i < n; i++) {
		if (graph.flags[i] & SCAN_ROOT_START) {
			state[i] = CL_REACHED;
			stack[top++] = i;
		}
	}
	scan_spread(state, stack, top, CL_REACHED, SCAN_FOLLOW_START);
	/* Possibly: whatever else roots or reachable blocks lead to, along any pointer. */
	for (i = top = 0; i < n; i++) {
		if (state[i] == CL_UNREACHED && (graph.flags[i] & SCAN_ROOT_INTERIOR))
			state[i] = CL_POSSIBLY;
		else if (state[i] != CL_REACHED)
			continue;
		stack[top++] = i;
	}
	scan_spread(state, stack, top, CL_POSSIBLY, SCAN_FOLLOW_ANY);
	for (i = 0; i < n; i++)
		nu += state[i] == CL_UNREACHED;

	/* Python: the gc's view. */
	if (pyobjs.at != NULL) {
		if ((gc = scan_array(n, sizeof *gc)) == NULL)
			goto nomem;
		scan_py_owners();
		ng = scan_py_gc(gc, stack);
	}

	/* The strongly connected components of the unreached blocks, then of the garbage. */
	ncalls = nu > ng ? nu : ng;
	if (ncalls > 0) {
		idx = scan_array(n, sizeof *idx);
		low = scan_array(n, sizeof *low);
		comp = scan_array(n, sizeof *comp);
		calls = scan_array(ncalls, sizeof *calls);
		if (idx == NULL || low == NULL || comp == NULL || calls == NULL)
			goto nomem;
	}
	if (nu > 0)
		ncomp = scan_components(state, 0, idx, low, comp, stack, calls);
	if (ng > 0) {
		if ((gcomp = scan_array(n, sizeof *gcomp)) == NULL)
			goto nomem;
		memset(idx, 0, n * sizeof *idx);
		memset(low, 0, n * sizeof *low);
		ngcomp = scan_components(gc, 1, idx, low, gcomp, stack, calls);
	}

	/* Components: entered from another, or holding an edge (a cycle). */
	if (ncomp > 0) {
		cflags = scan_array(ncomp, sizeof *cflags);
		cycle_no = scan_array(ncomp, sizeof *cycle_no);
		if (cflags == NULL || cycle_no == NULL)
			goto nomem;
		scan_comp_flags(state, 0, comp, cflags);
	}
	if (ngcomp > 0) {
		gcflags = scan_array(ngcomp, sizeof *gcflags);
		gcycle_no = scan_array(ngcomp, sizeof *gcycle_no);
		if (gcflags == NULL || gcycle_no == NULL)
			goto nomem;
		scan_comp_flags(gc, 1, gcomp, gcflags);
	}
	for (i = 0; i < n; i++) {
		for (e = graph.edge_first[i]; e < graph.edge_first[i + 1]; e++)
			nue += scan_stored_edge(state, gc, i, e);
	}

	d->verdicts = scan_array(n, sizeof *d->verdicts);
	d->edges = nue > 0 ? scan_array(nue, sizeof *d->edges) : NULL;
	if (d->verdicts == NULL || (nue > 0 && d->edges == NULL)) {
		if (d->edges != NULL)
			scan_unarray(d->edges, nue, sizeof *d->edges);
		d->edges = NULL;
		goto nomem;
	}
	for (i = 0; i < n; i++) {
		out = &d->verdicts[i];
		out->root_refs = graph.root_refs[i];
		out->block_refs = graph.block_refs[i];
		out->py_garbage = -1;
		if (gc != NULL) {
			out->py_garbage = gc[i] == CL_UNREACHED;
			if (pyobjs.at[i] != SCAN_PY_NONE) {
				out->py_type = scan_py_names + pyobjs.type[i];
				out->py_refcnt = pyobjs.refcnt[i];
				refs = (uint64_t)pyobjs.root_refs[i] + pyobjs.heap_refs[i];
				out->py_refs = refs < UINT32_MAX ? refs : UINT32_MAX;
			}
			if (gc[i] == CL_UNREACHED && (gcflags[gcomp[i]] & COMP_INSIDE)) {
				if (gcycle_no[gcomp[i]] == 0)
					gcycle_no[gcomp[i]] = ++ngcycles;
				out->py_cycle = gcycle_no[gcomp[i]];
			}
		}
		for (e = graph.edge_first[i]; e < graph.edge_first[i + 1]; e++) {
			if (!scan_stored_edge(state, gc, i, e))
				continue;
			d->edges[d->nedges].from = i;
			d->edges[d->nedges].to = graph.edge_to[e];
			d->edges[d->nedges].offset = graph.edge_off[e] >> 2;
			d->edges[d->nedges].interior = graph.edge_off[e] & 1;
			d->nedges++;
		}
		if (state[i] == CL_REACHED) {
			out->leak = SCAN_REACHABLE;
			continue;
		}
		if (state[i] == CL_POSSIBLY) {
			out->leak = SCAN_POSSIBLY;
			continue;
		}
		u = comp[i];
		/* Blocks come in address order: a component's first is its lowest. */
		if (!(cflags[u] & (COMP_ENTERED | COMP_LED))) {
			out->leak = SCAN_DEFINITELY;
			cflags[u] |= COMP_LED;
		} else
			out->leak = SCAN_INDIRECTLY;
		if (cflags[u] & COMP_INSIDE) {
			if (cycle_no[u] == 0)
				cycle_no[u] = ++ncycles;
			out->cycle = cycle_no[u];
		}
	}
	assert(d->nedges == nue);
	goto done;
nomem:
	scan_warn("out of memory for the leak scan; snapshot not scanned");
	scan_release(d);
done:
	scan_unarray(state, n, sizeof *state);
	scan_unarray(stack, n, sizeof *stack);
	scan_unarray(gc, n, sizeof *gc);
	scan_unarray(idx, n, sizeof *idx);
	scan_unarray(low, n, sizeof *low);
	scan_unarray(comp, n, sizeof *comp);
	scan_unarray(gcomp, n, sizeof *gcomp);
	scan_unarray(calls, ncalls, sizeof *calls);
	scan_unarray(cflags, ncomp, sizeof *cflags);
	scan_unarray(cycle_no, ncomp, sizeof *cycle_no);
	scan_unarray(gcflags, ngcomp, sizeof *gcflags);
	scan_unarray(gcycle_no, ngcomp, sizeof *gcycle_no);
	scan_free_work();
}

/* Frees D's verdicts and edges; D is unscanned after. */
void
scan_release(struct snap_data *d)
{
	if (d->verdicts != NULL)
		scan_unarray(d->verdicts, d->nblocks, sizeof *d->verdicts);
	if (d->edges != NULL)
		scan_unarray(d->edges, d->nedges, sizeof *d->edges);
	d->verdicts = NULL;
	d->edges = NULL;
	d->nedges = 0;
	d->scanned = 0;
	scan_py_names_free();
}
