/*
 * The leak scan: at a full snapshot, which live blocks the program can still reach, and how the
 * ones it cannot reach hang together.  It uses memcheck's names and definitions, on a
 * conservative scan of the process's memory: any aligned word whose value falls inside a live
 * block is taken for a pointer to it.
 *
 * This file runs a scan through its parts, one file each, which share their state through
 * scan.h (with the invariants of the graph):
 *	scan-stop.c	stopping the other threads, and letting them go
 *	scan-roots.c	the roots, in the readable mappings, and reading those
 *	scan-graph.c	the blocks in address order, their index, the edges among them
 *	scan-python.c	the Python objects in the blocks
 *	scan-classify.c	the verdicts, once the threads run again, on any graph
 * scan_prepare() readies the stop and the roots before the world lock; scan_collect(), under
 * it, stops the other threads, sorts the blocks, finds the Python objects, the roots and the
 * edges, and lets the threads go; scan_classify(), outside the lock, takes the dynamic
 * loader's blocks for roots and classifies; scan_release() frees the verdicts once the
 * snapshot is stored.  While threads are stopped heapscope makes system calls and nothing
 * else: no malloc, no lock, no stdio, since a stopped thread may hold any of them; a problem
 * met then is reported once they run again (scan_warn, once per process).
 */
#include "config.h"

#include <sys/syscall.h>
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
	int missed, rc;

	assert(table_world_held() && snap_held());
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
	if ((rc = scan_read_maps()) == -2)
		goto nomem;
	if (rc != 0) {
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

/*
 * Classifies D's blocks from what scan_collect() found, outside the world lock: takes the
 * dynamic loader's blocks for roots, fills D->verdicts and D->edges (scan_classify_graph), and
 * frees the scan's work.  Out of memory: one warning, and the snapshot goes unscanned.
 */
void
scan_classify(struct snap_data *d)
{
	assert(snap_held());
	if (!d->scanned)
		return;
	if (graph.n > 0 && (scan_loader_roots(d) != 0 || scan_classify_graph(&graph,
	    pyobjs.at != NULL ? &pyobjs : NULL, scan_py_names, d) != 0)) {
		scan_warn("out of memory for the leak scan; snapshot not scanned");
		scan_release(d);
	}
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
