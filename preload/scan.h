/*
 * The leak scan's private header, included by the scan's files (scan.c, scan-stop.c,
 * scan-roots.c, scan-graph.c, scan-python.c, scan-classify.c) and by its unit test, after
 * internal.h.  It holds the state that several of them share, as one global each: the stopped
 * threads' slots (scan-stop.c), the graph of blocks and edges and its address index
 * (scan-graph.c), the Python objects in the blocks (scan-python.c); the state one file needs
 * stays static in it.  The lookups that the inner loops make per word are inline here.
 *
 * A scan lives from scan_collect() to scan_classify() (scan.c), with snap_lock held: the
 * collection stops the other threads, then fills the graph and the Python arrays while they
 * are stopped (no malloc, no lock, no stdio: system calls only); the classification reads them
 * once the threads run again, through pointers, so that it runs on hand-made graphs too.
 */
#ifndef HS_SCAN_H
#define HS_SCAN_H

#define PAGE 4096
#define SCAN_CHUNK_SHIFT 24		/* index chunks of 16 MiB */
#define SCAN_GRAN_SHIFT 8		/* granules of 256 bytes in dense chunks */
#define SCAN_GRANS (1u << (SCAN_CHUNK_SHIFT - SCAN_GRAN_SHIFT))
#define SCAN_NO_CHUNK UINTPTR_MAX	/* key of an empty slot of the chunk table */
#define SCAN_PY_NONE 0xff	/* py_at[i] of a block that holds no Python object */

/* Bits of scan_graph.flags[i]. */
#define SCAN_ROOT_START 1	/* a root points at the block's start */
#define SCAN_ROOT_INTERIOR 2	/* a root points inside it */

/* A range of memory, [start, end). */
struct scan_range {
	uintptr_t start;	/* first byte */
	uintptr_t end;		/* one past the last */
};

/* A readable mapping of /proc/self/maps. */
struct scan_map {
	uintptr_t start;	/* first byte */
	uintptr_t end;		/* one past the last */
	int writable;		/* 1 if mapped with write permission */
};

/* A thread's slot during a stop; written by its own stop handler. */
enum {
	SLOT_NEW,		/* listed, nothing sent yet (or to be looked at again) */
	SLOT_SENT,		/* sent the stop signal */
	SLOT_CLAIMED,		/* its handler is filling in regs, sp and fs */
	SLOT_STOPPED,		/* waiting in the handler: regs, sp and fs are valid */
	SLOT_PASSIVE,		/* not stopped (signal blocked, traced, too slow): sp at best */
	SLOT_GONE		/* exited, or a zombie */
};
struct scan_slot {
	pid_t tid;		/* kernel thread id */
	atomic_int state;	/* SLOT_* */
	uintptr_t fs;		/* thread pointer (its TCB), 0 if unknown */
	uintptr_t sp;		/* stack pointer where it stopped, 0 if unknown */
	uintptr_t regs[16];	/* general registers (gregs R8..RSP), if SLOT_STOPPED */
};
/* The slots of the threads of the last stop (scan-stop.c): mapped once, never moved. */
extern struct scan_slot *scan_slots;

/*
 * The blocks of a scan, in address order, and the pointers among them: what the roots and the
 * blocks were found to hold, and all that the classification reads of them.  Invariants once
 * scan_collect() has filled it (scan_graph_check() in debug builds):
 *	spans[i].start <= spans[i + 1].start
 *	edge_first[0] == 0 <= ... <= edge_first[n] == nedges, edge_to[e] < n
 *	sum of block_refs == edges whose two ends differ (short of saturation)
 */
struct scan_graph {
	size_t n;			/* blocks */
	struct scan_range *spans;	/* spans[i] = [start, start + max(size, 1)) of blocks[i] */
	uint32_t *root_refs;		/* root_refs[i]: root words pointing into block i */
	uint32_t *block_refs;		/* block_refs[i]: words of other blocks pointing into it */
	uint8_t *flags;			/* flags[i]: SCAN_ROOT_* */
	size_t *edge_first;		/* block i's edges: [edge_first[i], edge_first[i + 1]) */
	uint32_t *edge_to;		/* edge_to[e]: the block pointed into */
	uint64_t *edge_off;		/* edge_off[e]: byte offset in the source << 2 | at the
					   Python object it holds << 1 | interior */
	size_t nedges;			/* edges */
	size_t edges_cap;		/* entries mapped in edge_to and edge_off */
};
extern struct scan_graph graph;		/* the scan in progress (scan-graph.c) */

/* An entry of the chunk table: the blocks starting in one 16 MiB chunk. */
struct scan_chunk {
	uintptr_t key;		/* address >> SCAN_CHUNK_SHIFT; SCAN_NO_CHUNK = empty slot */
	uint32_t first;		/* index of the first block starting at or after the chunk */
	uint32_t last;		/* index of the first block starting at or after the next one */
	uint32_t *gran;		/* gran[g]: first block starting at or after granule g, gran[SCAN_GRANS]
				   == last; NULL for chunks of fewer than SCAN_DENSE blocks */
};

/* Where graph's blocks are: "which block holds address v" (scan-graph.c). */
struct scan_heap {
	uintptr_t lo;			/* graph.spans[0].start */
	uintptr_t span;			/* highest end - lo: v may be in a block iff
					   v - lo < span */
	struct scan_chunk *chunks;	/* the chunk table, open addressing, at most half full */
	size_t chunk_slots;		/* its slots, a power of two */
	int chunk_shift;		/* 64 - log2(chunk_slots) */
};
extern struct scan_heap heap;		/* graph's, once scan_index() built it */

/*
 * The Python objects in graph's blocks, when py.minor != 0 (else at is NULL), each array of
 * graph.n entries.  scan-python.c finds the objects while the threads are stopped, scan-roots.c
 * and scan-graph.c count the words equal to them, and the classification fills owner.
 */
struct scan_py {
	uint8_t *at;			/* at[i]: offset of the object in block i (0, 16 or 32),
					   SCAN_PY_NONE if it holds none */
	uint32_t *type;			/* type[i]: offset of its type name in scan_py_names */
	int64_t *refcnt;		/* refcnt[i]: its ob_refcnt, -1 if immortal */
	uint32_t *root_refs;		/* root_refs[i]: root words equal to its address */
	uint32_t *heap_refs;		/* heap_refs[i]: words of blocks equal to it, GC headers
					   left out */
	uint32_t *owner;		/* owner[i]: 1 + the object whose pre-header points into
					   block i (its values array), 0 if none; zero until the
					   classification (scan_py_owners) */
};
extern struct scan_py pyobjs;		/* the scan in progress (scan-python.c) */
extern char *scan_py_names;		/* type names of the last scan, NUL-terminated, which its
					   verdicts point into until scan_release() */

/* Returns the thread pointer of the calling thread: glibc's TCB, whose first word points at it. */
static inline uintptr_t
scan_thread_pointer(void)
{
	uintptr_t fs;

	__asm__ volatile("mov %%fs:0, %0" : "=r"(fs));
	return fs;
}

/* Maps room for N entries of SIZE bytes (at least one); NULL if out of memory. */
static inline void *
scan_array(size_t n, size_t size)
{
	size_t bytes;

	if (__builtin_mul_overflow(n ? n : 1, size, &bytes))
		return NULL;
	return mem_map(bytes);
}

/* Unmaps what scan_array(N, SIZE) mapped (NULL is fine). */
static inline void
scan_unarray(void *p, size_t n, size_t size)
{
	mem_unmap(p, (n ? n : 1) * size);
}

/* Returns 1 + the index of the block holding V, or 0 if none does.  V is in the heap's range. */
static inline uint32_t
scan_find(uintptr_t v)
{
	const struct scan_chunk *c;
	uintptr_t key = v >> SCAN_CHUNK_SHIFT;
	size_t h = (size_t)((key * 0x9e3779b97f4a7c15ull) >> heap.chunk_shift), g;
	uint32_t lo, hi, mid, j;

	for (;;) {
		c = &heap.chunks[h];
		if (c->key == key)
			break;
		if (c->key == SCAN_NO_CHUNK)
			return 0;
		h = (h + 1) & (heap.chunk_slots - 1);
	}
	if (c->gran != NULL) {
		/* The last block starting at or before v is in [gran[g] - 1, gran[g + 1]). */
		g = (v >> SCAN_GRAN_SHIFT) & (SCAN_GRANS - 1);
		lo = c->gran[g];
		j = c->gran[g + 1];
		while (j > lo && graph.spans[j - 1].start > v)
			j--;
	} else {
		/* The first block starting after v, in [first, last]. */
		lo = c->first;
		hi = c->last;
		while (lo < hi) {
			mid = lo + (hi - lo) / 2;
			if (graph.spans[mid].start > v)
				hi = mid;
			else
				lo = mid + 1;
		}
		j = lo;
	}
	if (j == 0 || v >= graph.spans[j - 1].end)
		return 0;
	return j;
}

/* Returns 1 + the index of the block holding V, checking the range first; 0 if none. */
static inline uint32_t
scan_lookup(uintptr_t v)
{
	if (v - heap.lo >= heap.span)
		return 0;
	return scan_find(v);
}

/*
 * Returns 1 if V, which points into block T, counts as a pointer to its start: its first byte,
 * or the Python object it holds, or that object's GC header (the gc's lists point there).
 */
static inline int
scan_at_start(uint32_t t, uintptr_t v)
{
	uintptr_t off = v - graph.spans[t].start;
	uint8_t at;

	if (off == 0)
		return 1;
	if (pyobjs.at == NULL || (at = pyobjs.at[t]) == SCAN_PY_NONE)
		return 0;
	return off == at || (at >= PY_GC_HEAD && off == (uintptr_t)at - PY_GC_HEAD);
}

/*
 * Returns 1 if byte OFF of block U is in the GC header of the Python object U holds (in P, whose
 * at is NULL if there are none): words that link the gc's objects to one another, and are no
 * references.
 */
static inline int
scan_py_head(const struct scan_py *p, uint32_t u, uint64_t off)
{
	uint8_t at;

	if (p->at == NULL || (at = p->at[u]) == SCAN_PY_NONE || at < PY_GC_HEAD)
		return 0;
	return off >= (uint64_t)at - PY_GC_HEAD && off < at;
}

/* scan.c */
uintptr_t scan_hex(const char **s);

/* scan-stop.c: stopping the world. */
void scan_stop_init(void);
int scan_stop_prepare(char **cause);
int scan_stop(pid_t spare, size_t *nslots);
void scan_resume(void);

/* scan-roots.c: the roots, in the readable mappings. */
void scan_roots_init(void);
int scan_roots_prepare(char **cause);
int scan_read_maps(void);
size_t scan_map_after(uintptr_t a);
const struct scan_map *scan_map_of(uintptr_t a);
int scan_readable(uintptr_t a, uintptr_t e, size_t *m);
size_t scan_copy(void *dst, uintptr_t src, size_t len);
int scan_in_objects(uintptr_t a, size_t len);
int scan_roots_map(void);
void scan_roots_free(void);
int scan_roots(const struct snap_data *d, int self, size_t nslots);
int scan_loader_roots(const struct snap_data *d);

/* scan-graph.c: the blocks' index and edges. */
int scan_graph_map(size_t n);
void scan_graph_free(void);
int scan_index(const struct block *b, size_t n);
int scan_chunk_header(uint32_t t, uintptr_t v);
int scan_edges_room(size_t need);
int scan_blocks(const struct block *b);
void scan_graph_check(void);

/* scan-python.c: the Python objects, found while the threads are stopped. */
int scan_py_map(size_t n);
void scan_py_free(size_t n);
void scan_py_names_free(void);
int scan_py_objects(const struct snap_data *d);

/* scan-classify.c: the verdicts, on any graph. */
int scan_classify_graph(const struct scan_graph *g, struct scan_py *p, const char *names,
    struct snap_data *d);

#endif
