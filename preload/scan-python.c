/*
 * The Python objects of the leak scan (scan.c), for a traced CPython (py.minor != 0): which
 * blocks hold one, of what type and reference count, in struct scan_py (scan.h).
 *
 * While the threads are stopped, every block of the object domain is looked at for an object:
 * at offset 16 (GC header first), 32 (two preheader words, then the GC header) or 0, an object
 * whose ob_type is a type (its own type is PyType_Type, or a metatype whose type is) that puts
 * its objects at that offset (Py_TPFLAGS_HAVE_GC and py.preheader say) and fits in the block.
 * Types are read where they cannot fault and kept in a table by address (scan_types), their
 * names copied to scan_py_names, which the verdicts point into until scan_release().  A
 * pointer to the object, or to its GC header, counts as a pointer to the block's start for the
 * classification (scan_at_start); the words equal to the object's address are counted in roots
 * and in blocks (pyobjs.root_refs and heap_refs), the words of a GC header, which link the gc's
 * objects, left out (scan_py_head).  What CPython's gc would make of them is the
 * classification's (scan-classify.c).
 *
 * When this runs: scan_py_objects() while the threads are stopped (system calls only: the
 * tables grow in mem_map'd memory); scan_py_names_free() from scan_release().
 */
#include "config.h"

#include <string.h>

#include "internal.h"
#include "scan.h"

#define SCAN_PY_NAME 128	/* bytes of a type name kept, its NUL included */
#define SCAN_PY_REFS (1ll << 40)	/* a reference count this high is no object's */
#define SCAN_PY_UNICODE (1ul << 28)	/* Py_TPFLAGS_UNICODE_SUBCLASS */
#define SCAN_PY_STR 40		/* sizeof (PyASCIIObject) on 3.12 (3.11's is larger): a compact
				   string is smaller than str's tp_basicsize */

/* A Python type object that the scan found valid, in scan_types. */
struct scan_type {
	uintptr_t addr;		/* its address; 0 = empty slot */
	uint32_t basicsize;	/* bytes its objects take at least: tp_basicsize, but for str and
				   its subclasses that of a compact ASCII string (SCAN_PY_STR) */
	uint32_t name;		/* offset of a copy of tp_name in scan_py_names */
	uint8_t pre;		/* bytes before its objects in their blocks: GC header, preheader */
};

struct scan_py pyobjs;
static struct scan_type *scan_types;	/* the types seen, open addressing, at most half full */
static size_t scan_type_slots;		/* its slots, a power of two; 0 if not mapped */
static size_t scan_ntypes;		/* slots in use */
char *scan_py_names;
static size_t scan_py_names_len;	/* bytes used in scan_py_names */
static size_t scan_py_names_cap;	/* bytes mapped */

/* Maps the arrays of pyobjs for N blocks; 0, or -1 if out of memory. */
int
scan_py_map(size_t n)
{
	pyobjs.at = scan_array(n, sizeof *pyobjs.at);
	pyobjs.type = scan_array(n, sizeof *pyobjs.type);
	pyobjs.refcnt = scan_array(n, sizeof *pyobjs.refcnt);
	pyobjs.root_refs = scan_array(n, sizeof *pyobjs.root_refs);
	pyobjs.heap_refs = scan_array(n, sizeof *pyobjs.heap_refs);
	pyobjs.owner = scan_array(n, sizeof *pyobjs.owner);
	return pyobjs.at == NULL || pyobjs.type == NULL || pyobjs.refcnt == NULL ||
	    pyobjs.root_refs == NULL || pyobjs.heap_refs == NULL || pyobjs.owner == NULL ? -1 : 0;
}

/* Unmaps the arrays of pyobjs, for N blocks, and the types table; not the names. */
void
scan_py_free(size_t n)
{
	scan_unarray(pyobjs.at, n, sizeof *pyobjs.at);
	scan_unarray(pyobjs.type, n, sizeof *pyobjs.type);
	scan_unarray(pyobjs.refcnt, n, sizeof *pyobjs.refcnt);
	scan_unarray(pyobjs.root_refs, n, sizeof *pyobjs.root_refs);
	scan_unarray(pyobjs.heap_refs, n, sizeof *pyobjs.heap_refs);
	scan_unarray(pyobjs.owner, n, sizeof *pyobjs.owner);
	memset(&pyobjs, 0, sizeof pyobjs);
	if (scan_type_slots != 0)
		scan_unarray(scan_types, scan_type_slots, sizeof *scan_types);
	scan_types = NULL;
	scan_type_slots = scan_ntypes = 0;
}

/* Unmaps the type names, which no verdict points into any more. */
void
scan_py_names_free(void)
{
	mem_unmap(scan_py_names, scan_py_names_cap);
	scan_py_names = NULL;
	scan_py_names_len = scan_py_names_cap = 0;
}

/*
 * Copies LEN bytes at A to DST, with no fault whatever A is; returns 1, or 0 where they cannot
 * all be read.  Heap blocks and the data of loaded objects are read in place, the rest through
 * scan_copy (a file mapping may fault past the file's end).
 */
static int
scan_py_read(uintptr_t a, void *dst, size_t len)
{
	size_t m;
	uint32_t t;

	if (a + len < a)
		return 0;
	m = scan_map_after(a);
	if (!scan_readable(a, a + len, &m))
		return 0;
	if (((t = scan_lookup(a)) != 0 && a + len <= graph.spans[t - 1].end) ||
	    scan_in_objects(a, len)) {
		memcpy(dst, (const void *)a, len);
		return 1;
	}
	return scan_copy(dst, a, len) == len;
}

/* Returns the slot of scan_types for type address T: its entry, or the empty slot to fill. */
static struct scan_type *
scan_py_slot(struct scan_type *types, size_t slots, uintptr_t t)
{
	size_t h = (size_t)((t * 0x9e3779b97f4a7c15ull) >> 20) & (slots - 1);

	while (types[h].addr != 0 && types[h].addr != t)
		h = (h + 1) & (slots - 1);
	return &types[h];
}

/* Returns the known type at T, or NULL if T was not found to be a type (yet). */
static inline const struct scan_type *
scan_py_known(uintptr_t t)
{
	const struct scan_type *ty;

	if (scan_type_slots == 0 || t == 0)
		return NULL;
	ty = scan_py_slot(scan_types, scan_type_slots, t);
	return ty->addr == t ? ty : NULL;
}

/*
 * Keeps a copy of the NUL-terminated type name at A in scan_py_names (at most SCAN_PY_NAME - 1
 * bytes of it); returns its offset there, -1 if it cannot be read, or -2 if memory runs out.
 */
static int64_t
scan_py_name(uintptr_t a)
{
	const struct scan_map *m;
	char buf[SCAN_PY_NAME];
	size_t len, got, need, cap;
	char *grown;
	int64_t off;

	if ((m = scan_map_of(a)) == NULL)
		return -1;
	len = m->end - a < sizeof buf - 1 ? m->end - a : sizeof buf - 1;
	got = scan_copy(buf, a, len);
	buf[got] = '\0';
	if ((len = strlen(buf)) == 0)
		return -1;
	need = scan_py_names_len + len + 1;
	if (need > scan_py_names_cap) {
		for (cap = scan_py_names_cap ? scan_py_names_cap : 65536; cap < need; cap *= 2)
			;
		if ((grown = mem_grow(scan_py_names, scan_py_names_cap, cap)) == NULL)
			return -2;
		scan_py_names = grown;
		scan_py_names_cap = cap;
	}
	off = scan_py_names_len;
	memcpy(scan_py_names + off, buf, len + 1);
	scan_py_names_len = need;
	return off;
}

/*
 * Returns the type at T if T is a Python type object: its own type is PyType_Type, or a type
 * whose type is; remembers it in scan_types.  NULL if it is not; NULL with *NOMEM set to 1 if
 * memory ran out to remember it.
 */
static const struct scan_type *
scan_py_type(uintptr_t t, int *nomem)
{
	uintptr_t hdr[PY_TP_FLAGS / 8 + 1], meta, name, flags;
	struct scan_type *ty, *grown;
	intptr_t basic;
	size_t h, slots;
	int64_t off;

	if ((ty = (struct scan_type *)scan_py_known(t)) != NULL)
		return ty;
	if (t == 0 || (t & 7) != 0 || !scan_py_read(t, hdr, sizeof hdr))
		return NULL;
	meta = hdr[1];
	if (meta != py.type_type && ((meta & 7) != 0 || !scan_py_read(meta + 8, &meta, 8) ||
	    meta != py.type_type))
		return NULL;
	flags = hdr[PY_TP_FLAGS / 8];
	basic = (intptr_t)hdr[PY_TP_BASICSIZE / 8];
	name = hdr[PY_TP_NAME / 8];
	if (basic < 16 || basic > (intptr_t)UINT32_MAX)
		return NULL;
	if ((off = scan_py_name(name)) < 0) {
		*nomem = off == -2;
		return NULL;
	}
	if (2 * (scan_ntypes + 1) > scan_type_slots) {
		slots = scan_type_slots ? 2 * scan_type_slots : 1024;
		if ((grown = scan_array(slots, sizeof *grown)) == NULL) {
			*nomem = 1;
			return NULL;
		}
		for (h = 0; h < scan_type_slots; h++) {
			if (scan_types[h].addr != 0)
				*scan_py_slot(grown, slots, scan_types[h].addr) = scan_types[h];
		}
		scan_unarray(scan_types, scan_type_slots, sizeof *scan_types);
		scan_types = grown;
		scan_type_slots = slots;
	}
	ty = scan_py_slot(scan_types, scan_type_slots, t);
	ty->addr = t;
	ty->basicsize = (flags & SCAN_PY_UNICODE) && basic > SCAN_PY_STR ? SCAN_PY_STR : basic;
	ty->name = off;
	ty->pre = (flags & PY_TPFLAGS_HAVE_GC ? PY_GC_HEAD : 0) + (flags & py.preheader ? 16 : 0);
	scan_ntypes++;
	return ty;
}

/*
 * Finds the Python objects: in every live block of the object domain, an object at offset 16
 * (GC header), 32 (preheader and GC header) or 0 whose ob_type is a type that puts its objects
 * at that offset and fits in the block, and whose ob_refcnt is plausible (0 <= it < 2^40, or
 * immortal).  Known types are tried first, so that a block's other
 * words are looked at as types only when no known type fits.  Fills pyobjs; 0, or -1 if out
 * of memory (then the objects found are not all there are, and the scan must not be used).
 */
int
scan_py_objects(const struct snap_data *d)
{
	static const uint8_t pres[3] = { 16, 32, 0 };
	const struct scan_type *ty;
	const struct block *b;
	uint8_t *obj;
	uintptr_t a;
	int64_t rc;
	size_t i, m = 0;
	uint32_t id;
	int pass, k, nomem = 0;

	if ((obj = scan_array((size_t)d->nstacks + 1, 1)) == NULL)
		return -1;
	for (id = 1; id <= d->nstacks; id++)
		obj[id] = stack_domain(id) == PY_OBJ;
	for (i = 0; i < graph.n; i++) {
		b = &d->blocks[i];
		pyobjs.at[i] = SCAN_PY_NONE;
		a = b->addr;
		if (b->stack > d->nstacks || !obj[b->stack] || (a & 7) != 0 || b->size < 16 ||
		    !scan_readable(a, a + b->size, &m))
			continue;
		for (pass = 0; pass < 2 && pyobjs.at[i] == SCAN_PY_NONE; pass++) {
			for (k = 0; k < 3; k++) {
				if (pres[k] + 16u > b->size)
					continue;
				a = b->addr + pres[k];
				ty = pass == 0 ? scan_py_known(((const uintptr_t *)a)[1]) :
				    scan_py_type(((const uintptr_t *)a)[1], &nomem);
				if (ty == NULL || ty->pre != pres[k] ||
				    pres[k] + (uint64_t)ty->basicsize > b->size)
					continue;
				rc = ((const int64_t *)a)[0];
				if (py.minor >= 12 && (int32_t)(uint32_t)rc < 0)
					rc = -1;	/* immortal */
				else if (rc < 0 || rc >= SCAN_PY_REFS)
					continue;	/* words that only look like an object */
				pyobjs.at[i] = pres[k];
				pyobjs.type[i] = ty->name;
				pyobjs.refcnt[i] = rc;
				break;
			}
		}
		if (nomem)
			break;
	}
	scan_unarray(obj, (size_t)d->nstacks + 1, 1);
	return nomem ? -1 : 0;
}

