/*
 * The graph of the leak scan (scan.c): the live blocks and the pointers among them, in
 * struct scan_graph (scan.h), with its invariants.
 *
 * Blocks, sorted by address, get extents spans[i] = [start, start + max(size, 1)) and an index
 * for "which block holds address v" (struct scan_heap): a hash table of 16 MiB chunks, each
 * entry the range of blocks starting in it ([first, last)); chunks that a large block only
 * crosses get an entry too, an empty range whose predecessor is that block.  Chunks of
 * SCAN_DENSE blocks or more also get a table of 256-byte granules, so that the search there is
 * a short walk back instead of a binary search (scan_find, inline in scan.h).  Every aligned
 * word of every live block that falls in a live block is an edge, kept in compressed rows:
 * block i's edges are [edge_first[i], edge_first[i + 1]).  One kind of word is not taken for a
 * pointer: glibc's malloc keeps pointers to chunk headers (the top chunk, its bins, in
 * main_arena, which is in libc's .data), and the header of the chunk after a block lies in the
 * block's last 8 bytes when the requested size reaches into that chunk's prev_size word; a word
 * equal to that header's address, as the block's own size word says, is the allocator's and
 * would make every such block next to free memory look "possibly lost" (scan_chunk_header,
 * which the roots obey too).
 *
 * When this runs: scan_sort() under the world lock, with or without a scan; the index and the
 * edges while the threads are stopped (no malloc, no lock: the arrays are mem_map'd), the
 * blocks read in place, within the readable mappings; scan_graph_check() once they run again.
 */
#include "config.h"

#include <assert.h>
#include <string.h>

#include "internal.h"
#include "scan.h"

#define SCAN_DENSE 2048			/* blocks from which a chunk gets a granule table */

struct scan_graph graph;
struct scan_heap heap;

/*
 * Sorts N blocks by address: an LSD radix sort, 16 bits a pass from bit 3 up to the highest bit
 * set in any address, through mem_map'd scratch.  Returns 0, or -1 if out of memory.
 */
int
scan_sort(struct block *b, size_t n)
{
	struct block *tmp, *src = b, *dst, *swap;
	size_t *count, i, sum, c;
	uintptr_t any = 0;
	int shift;

	if (n < 2)
		return 0;
	for (i = 0; i < n; i++)
		any |= b[i].addr;
	tmp = mem_map(n * sizeof *tmp);
	count = mem_map(65536 * sizeof *count);
	if (tmp == NULL || count == NULL) {
		mem_unmap(tmp, n * sizeof *tmp);
		mem_unmap(count, 65536 * sizeof *count);
		return -1;
	}
	dst = tmp;
	for (shift = 3; shift < 64 && (any >> shift) != 0; shift += 16) {
		memset(count, 0, 65536 * sizeof *count);
		for (i = 0; i < n; i++)
			count[(src[i].addr >> shift) & 0xffff]++;
		for (i = sum = 0; i < 65536; i++) {
			c = count[i];
			count[i] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			dst[count[(src[i].addr >> shift) & 0xffff]++] = src[i];
		swap = src;
		src = dst;
		dst = swap;
	}
	if (src != b)
		memcpy(b, src, n * sizeof *b);
	mem_unmap(tmp, n * sizeof *tmp);
	mem_unmap(count, 65536 * sizeof *count);
	return 0;
}

/*
 * Maps the graph's arrays for N blocks (the edges come with scan_edges_room); 0, or -1 if out
 * of memory.
 */
int
scan_graph_map(size_t n)
{
	graph.n = n;
	graph.spans = scan_array(n, sizeof *graph.spans);
	graph.root_refs = scan_array(n, sizeof *graph.root_refs);
	graph.block_refs = scan_array(n, sizeof *graph.block_refs);
	graph.flags = scan_array(n, sizeof *graph.flags);
	graph.edge_first = scan_array(n + 1, sizeof *graph.edge_first);
	return graph.spans == NULL || graph.root_refs == NULL || graph.block_refs == NULL ||
	    graph.flags == NULL || graph.edge_first == NULL ? -1 : 0;
}

/* Unmaps the graph and its index. */
void
scan_graph_free(void)
{
	size_t h, n = graph.n;

	if (heap.chunks != NULL) {
		for (h = 0; h < heap.chunk_slots; h++) {
			if (heap.chunks[h].gran != NULL)
				scan_unarray(heap.chunks[h].gran, SCAN_GRANS + 1, sizeof(uint32_t));
		}
		scan_unarray(heap.chunks, heap.chunk_slots, sizeof *heap.chunks);
	}
	scan_unarray(graph.spans, n, sizeof *graph.spans);
	scan_unarray(graph.root_refs, n, sizeof *graph.root_refs);
	scan_unarray(graph.block_refs, n, sizeof *graph.block_refs);
	scan_unarray(graph.flags, n, sizeof *graph.flags);
	scan_unarray(graph.edge_first, n + 1, sizeof *graph.edge_first);
	mem_unmap(graph.edge_to, graph.edges_cap * sizeof *graph.edge_to);
	mem_unmap(graph.edge_off, graph.edges_cap * sizeof *graph.edge_off);
	memset(&graph, 0, sizeof graph);
	memset(&heap, 0, sizeof heap);
}

/* Puts blocks[0..n) into graph.spans and builds the chunk index; 0 or -1 if out of memory. */
int
scan_index(const struct block *b, size_t n)
{
	struct scan_chunk *c, *prev = NULL;
	uintptr_t key, c0, c1, open = 0, hi = 0;
	size_t i, count = 0, slots, h, g, j;
	int bits;

	for (i = 0; i < n; i++) {
		graph.spans[i].start = b[i].addr;
		graph.spans[i].end = b[i].addr + (b[i].size ? b[i].size : 1);
		if (graph.spans[i].end > hi)
			hi = graph.spans[i].end;
		c0 = graph.spans[i].start >> SCAN_CHUNK_SHIFT;
		c1 = (graph.spans[i].end - 1) >> SCAN_CHUNK_SHIFT;
		if (count == 0 || c0 > open) {
			count++;
			open = c0;
		}
		if (c1 > open) {
			count += c1 - open;
			open = c1;
		}
	}
	heap.lo = graph.spans[0].start;
	heap.span = hi - heap.lo;
	for (slots = 16, bits = 4; slots < 2 * count; slots *= 2, bits++)
		;
	if ((heap.chunks = scan_array(slots, sizeof *heap.chunks)) == NULL)
		return -1;
	heap.chunk_slots = slots;
	heap.chunk_shift = 64 - bits;
	for (h = 0; h < slots; h++)
		heap.chunks[h].key = SCAN_NO_CHUNK;

	/* Chunks in address order, so each entry's last is the next one's first. */
	for (i = 0; i < n; i++) {
		c0 = graph.spans[i].start >> SCAN_CHUNK_SHIFT;
		c1 = (graph.spans[i].end - 1) >> SCAN_CHUNK_SHIFT;
		for (key = prev == NULL || c0 > prev->key ? c0 : prev->key + 1; key <= c1; key++) {
			h = (size_t)((key * 0x9e3779b97f4a7c15ull) >> heap.chunk_shift);
			while (heap.chunks[h].key != SCAN_NO_CHUNK)
				h = (h + 1) & (slots - 1);
			c = &heap.chunks[h];
			c->key = key;
			c->first = key == c0 ? i : i + 1;
			if (prev != NULL)
				prev->last = c->first;
			prev = c;
		}
	}
	prev->last = n;

	/* Granule tables for the dense chunks. */
	for (h = 0; h < slots; h++) {
		c = &heap.chunks[h];
		if (c->key == SCAN_NO_CHUNK || c->last - c->first < SCAN_DENSE)
			continue;
		if ((c->gran = scan_array(SCAN_GRANS + 1, sizeof *c->gran)) == NULL)
			return -1;
		j = c->first;
		for (g = 0; g < SCAN_GRANS; g++) {
			key = (c->key << SCAN_CHUNK_SHIFT) + ((uintptr_t)g << SCAN_GRAN_SHIFT);
			while (j < c->last && graph.spans[j].start < key)
				j++;
			c->gran[g] = j;
		}
		c->gran[SCAN_GRANS] = c->last;
	}
	return 0;
}

/*
 * Returns 1 if V, pointing into the last 8 bytes of block T, is the address of the next malloc
 * chunk's header (see the top of the file) rather than a pointer into T.
 */
int
scan_chunk_header(uint32_t t, uintptr_t v)
{
	uintptr_t start = graph.spans[t].start, size;

	if (v + 8 < graph.spans[t].end || (v & 15) != 0 || (start & (PAGE - 1)) < 8)
		return 0;	/* glibc's headers are 16-aligned; start - 8 is on start's page */
	size = *(const uintptr_t *)(start - 8) & ~(uintptr_t)7;
	return v == start - 16 + size;
}

/* Makes room for NEED edges in edge_to and edge_off; 0 or -1 if out of memory. */
int
scan_edges_room(size_t need)
{
	size_t cap = graph.edges_cap ? graph.edges_cap : 1024;
	uint32_t *to;
	uint64_t *off;

	if (need <= graph.edges_cap)
		return 0;
	while (cap < need)
		cap *= 2;
	to = scan_array(cap, sizeof *to);
	off = scan_array(cap, sizeof *off);
	if (to == NULL || off == NULL) {
		mem_unmap(to, cap * sizeof *to);
		mem_unmap(off, cap * sizeof *off);
		return -1;
	}
	if (graph.nedges > 0) {
		memcpy(to, graph.edge_to, graph.nedges * sizeof *to);
		memcpy(off, graph.edge_off, graph.nedges * sizeof *off);
	}
	mem_unmap(graph.edge_to, graph.edges_cap * sizeof *to);
	mem_unmap(graph.edge_off, graph.edges_cap * sizeof *off);
	graph.edge_to = to;
	graph.edge_off = off;
	graph.edges_cap = cap;
	return 0;
}

/* Scans every live block for pointers into live blocks: the edges.  0 or -1 if out of memory. */
int
scan_blocks(const struct block *b)
{
	const uintptr_t *w, *end;
	uintptr_t v, a;
	size_t i, m = 0;
	uint32_t t;
	int obj;

	for (i = 0; i < graph.n; i++) {
		graph.edge_first[i] = graph.nedges;
		a = graph.spans[i].start;
		/* Blocks are live, so readable; but a stale entry must not make us fault. */
		if (!scan_readable(a, a + b[i].size, &m))
			continue;
		w = (const uintptr_t *)((a + 7) & ~(uintptr_t)7);
		end = (const uintptr_t *)((a + b[i].size) & ~(uintptr_t)7);
		for (; w < end; w++) {
			v = *w;
			if (v - heap.lo >= heap.span || (t = scan_find(v)) == 0)
				continue;
			t--;
			if (v != graph.spans[t].start && v + 8 >= graph.spans[t].end &&
			    scan_chunk_header(t, v))
				continue;
			if (graph.nedges == graph.edges_cap &&
			    scan_edges_room(graph.nedges + 1) != 0)
				return -1;
			graph.edge_to[graph.nedges] = t;
			obj = pyobjs.at != NULL && pyobjs.at[t] != SCAN_PY_NONE &&
			    v == graph.spans[t].start + pyobjs.at[t];
			graph.edge_off[graph.nedges] = ((uintptr_t)w - a) << 2 | obj << 1 |
			    !scan_at_start(t, v);
			graph.nedges++;
			if (t != i && graph.block_refs[t] != UINT32_MAX)
				graph.block_refs[t]++;
			if (obj && !scan_py_head(&pyobjs, i, (uintptr_t)w - a) &&
			    pyobjs.heap_refs[t] != UINT32_MAX)
				pyobjs.heap_refs[t]++;
		}
	}
	graph.edge_first[graph.n] = graph.nedges;
	return 0;
}

#ifndef NDEBUG
/* Checks the invariants of the graph after scan_collect() (see struct scan_graph). */
void
scan_graph_check(void)
{
	uint64_t refs = 0, others = 0;
	size_t i, e;
	int saturated = 0;

	assert(graph.edge_first[0] == 0 && graph.edge_first[graph.n] == graph.nedges);
	for (i = 0; i < graph.n; i++) {
		assert(i + 1 == graph.n || graph.spans[i].start <= graph.spans[i + 1].start);
		assert(graph.edge_first[i] <= graph.edge_first[i + 1]);
		refs += graph.block_refs[i];
		saturated |= graph.block_refs[i] == UINT32_MAX;
		for (e = graph.edge_first[i]; e < graph.edge_first[i + 1]; e++) {
			assert(graph.edge_to[e] < graph.n);
			others += graph.edge_to[e] != i;
		}
	}
	assert(saturated ? refs <= others : refs == others);
}
#endif
