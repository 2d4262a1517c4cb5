/*
 * Python mode: in a CPython 3.11 to 3.13 process, the blocks of the interpreter's allocator
 * domains (RAW, MEM, OBJ) are recorded with their domain and their Python traceback, and the
 * pymalloc arenas are recorded as mappings of their own kind.
 *
 * Wrapping.  The constructor finds PyMem_SetAllocator with dlsym (Debian's static python3 exports
 * the C API, a shared build has it in libpython) and wraps, never replaces, the allocator of each
 * domain and the object arena allocator: each wrapper calls the one it found, with the re-entry
 * guard set so that the malloc underneath (and pymalloc's fall-back to the RAW domain) is not
 * recorded a second time, then records the block once.  PYTHONMALLOC and -X dev replace the
 * allocators during start-up, after the constructor; so once Py_IsInitialized() says start-up is
 * over, the first call that holds the GIL (py_check) checks each domain again: when a probe
 * allocation through the domain's public function no longer reaches our wrapper, it wraps what is
 * there now.  tracemalloc wraps whatever it finds, ours included, and restores it when it stops:
 * the two nest in either order.
 *
 * Tracebacks are read from the interpreter's frames, not through the frame API (which would
 * create frame objects, allocating in the heap we measure): the thread state's current frame,
 * each frame's code object, instruction pointer and previous frame, at offsets fixed per minor
 * version (py_layouts, from the CPython headers).  Incomplete frames are skipped as CPython's own
 * traceback code skips them.  A frame is kept as (code id, byte offset of the instruction); a code
 * object gets an id the first time it is seen, with copies of its file name, qualified name and
 * line table, so that the writer resolves line numbers (py_line) after the code object is gone.
 * A code object's address may be reused by another one: an id is kept only while the object at
 * that address still has the same name, file name and line table objects.
 *
 * The exit snapshot.  The process's exit comes after Py_Finalize, when the program's objects are
 * gone; so py_check asks the interpreter (Py_AddPendingCall: it runs the call in the main thread,
 * with the GIL, between two instructions, never inside an allocation) to register py_atexit with
 * the atexit module, whose handlers run at the start of the finalization, the one registered
 * first last, before the modules are torn down: py_atexit takes the exit snapshot there, with
 * the program's objects alive, and the process's own is named final.  A program that leaves by
 * os._exit or dies of a signal runs no atexit handler, and its exit snapshot is the process's.
 *
 * Threads.  MEM and OBJ calls hold the GIL; RAW calls may not, and get a traceback only when the
 * calling thread holds it.  The code table is read without a lock and filled under py_lock.
 */
#include "config.h"

#include <sys/mman.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

struct py_info py;

/* CPython's allocator structures (cpython/pymem.h), as the C API defines them. */
typedef struct {
	void *ctx;
	void *(*malloc)(void *ctx, size_t size);
	void *(*calloc)(void *ctx, size_t nelem, size_t elsize);
	void *(*realloc)(void *ctx, void *ptr, size_t new_size);
	void (*free)(void *ctx, void *ptr);
} py_allocator;

typedef struct {
	void *ctx;
	void *(*alloc)(void *ctx, size_t size);
	void (*free)(void *ctx, void *ptr, size_t size);
} py_arena_allocator;

/* One wrapped domain: the wrapper's ctx.  The wrapped allocator comes first (tests rely on it). */
struct py_domain {
	py_allocator orig;	/* the allocator we call */
	int domain;		/* PY_RAW, PY_MEM or PY_OBJ */
};

/* Offsets of what a traceback reads, per minor version (x86-64, default builds). */
struct py_layout {
	int minor;
	int ts_frame;		/* PyThreadState: cframe (3.11, 3.12) or current_frame (3.13) */
	int cframe_frame;	/* _PyCFrame: current_frame; -1 when ts_frame is the frame itself */
	int f_code;		/* _PyInterpreterFrame: f_code or f_executable */
	int f_previous;
	int f_instr;		/* prev_instr (3.11, 3.12) or instr_ptr (3.13) */
	int f_owner;
	int co_filename, co_qualname, co_linetable, co_firstlineno, co_firsttraceable;
	int co_code;		/* co_code_adaptive: the first code unit */
	int str_data;		/* sizeof (PyASCIIObject): where a compact ASCII string's bytes are */
};

static const struct py_layout py_layouts[] = {
	{ 11, 56, 8, 32, 48, 56, 69, 112, 128, 136, 72, 168, 184, 48 },
	{ 12, 56, 0, 0, 8, 56, 70, 112, 128, 136, 68, 176, 192, 40 },
	{ 13, 72, -1, 0, 8, 56, 70, 112, 128, 136, 68, 184, 200, 40 },
};

#define OWNED_BY_GENERATOR 1
#define OWNED_BY_CSTACK 3	/* 3.12+ */
#define ARENA_SIZE (1u << 20)	/* pymalloc's arenas on 64-bit 3.10+ */

static const struct py_layout *lay;
static struct py_domain py_dom[3];
static py_arena_allocator py_arena_orig;
static atomic_int py_pending;		/* 1 until py_check has seen the interpreter initialized */

static void (*api_get)(int, py_allocator *);
static void (*api_set)(int, py_allocator *);
static void (*api_arena_get)(py_arena_allocator *);
static void (*api_arena_set)(py_arena_allocator *);
static int (*api_initialized)(void);
static int (*api_gil_check)(void);
static void *(*api_tstate)(void);		/* this thread's (3.12+) or the GIL holder's */
static void *(*api_own_tstate)(void);		/* PyGILState_GetThisThreadState */
static const char *(*api_utf8)(void *, ssize_t *);
static int (*api_pending)(int (*)(void *), void *);	/* Py_AddPendingCall */
static void *(*api_import)(const char *);		/* PyImport_ImportModule */
static void *(*api_attr)(void *, const char *);		/* PyObject_GetAttrString */
static void *(*api_cfunction)(void *, void *, void *);	/* PyCFunction_NewEx */
static void *(*api_call)(void *, void *);		/* PyObject_CallOneArg */
static void *(*api_none)(const char *, ...);		/* Py_BuildValue, for None */
static void (*api_decref)(void *);			/* Py_DecRef */
static void (*api_err_clear)(void);			/* PyErr_Clear */
static void *(*api_domain_malloc[3])(size_t);
static void (*api_domain_free[3])(void *);
static uintptr_t code_type;			/* &PyCode_Type */

static __thread int py_probing HS_TLS;		/* py_check's probe allocation is under way */
static __thread int py_probe_hit HS_TLS;	/* ... and reached a wrapper of ours */

/* Reads the word at address A. */
#define WORD(a) (*(const uintptr_t *)(a))

/*
 * The code table.  Records never move or die once published; py_code_n counts them.  The index
 * maps a code object's address to the id of its latest record, with the signature of the object
 * it was made from (py_code_sig): a code object freed and another made at its address has
 * another signature, and gets a record of its own (one with the same signature, a chance of 1 in
 * 2^32, would be taken for the old one).  Open addressing, at most half full, read without a
 * lock; a slot's key, (signature << 32 | id), is stored before its address, so that a reader
 * that sees the address sees a key; the index is replaced (the old one stays mapped) when it
 * grows.  A lookup reads the index and the code object, never a record.
 */
struct code_index {
	size_t cap;
	struct code_slot {
		_Atomic uintptr_t obj;		/* the code object, 0 = an empty slot */
		_Atomic uint64_t key;		/* its signature << 32 | its id */
	} slot[];
};
#define CODE_CHUNK 4096
#define CODE_CHUNKS 16384
static pthread_mutex_t py_lock = PTHREAD_MUTEX_INITIALIZER;
static struct py_code **code_chunk[CODE_CHUNKS];
static _Atomic uint32_t py_code_n;
static _Atomic(struct code_index *) code_index;
static char *code_arena;			/* copies of names and line tables */
static size_t code_arena_left;

/*
 * Returns N bytes of zeroed, 8-aligned memory from the code arena; NULL when out of memory.  The
 * caller holds py_lock.
 */
static void *
py_room(size_t n)
{
	size_t need = (n + 7) & ~(size_t)7;
	char *p;

	assert(mutex_held(&py_lock));
	if (need > code_arena_left) {
		size_t size = need > (1u << 20) ? need : (1u << 20);

		if ((code_arena = mem_map(size)) == NULL)
			return NULL;
		code_arena_left = size;
	}
	p = code_arena;
	code_arena += need;
	code_arena_left -= need;
	return p;
}

/* Copies N bytes to the code arena, NUL-terminated; NULL when out of memory.  Under py_lock. */
static void *
py_copy(const void *src, size_t n)
{
	char *p;

	if ((p = py_room(n + 1)) != NULL)
		memcpy(p, src, n);
	return p;
}

/* Copies the str object S as UTF-8 to the code arena; NULL when it cannot.  Under py_lock. */
static const char *
py_copy_str(uintptr_t s)
{
	uint32_t state = *(const uint32_t *)(s + 32);
	const char *u;
	ssize_t n;

	/* A compact ASCII string (state bits compact, ascii) holds its bytes right after itself. */
	if ((state & 0x60) == 0x60)
		return py_copy((const char *)s + lay->str_data, WORD(s + 16));
	if ((u = api_utf8((void *)s, &n)) == NULL)
		return NULL;
	return py_copy(u, n);
}

/* Returns the first index slot to probe for the code object at CODE, in an index of MASK + 1. */
static inline size_t
py_code_slot(uintptr_t code, size_t mask)
{
	return (code >> 4) * 0x9e3779b97f4a7c15ull >> 20 & mask;
}

/*
 * Returns the signature of the code object at CODE: a hash of its co_filename, co_qualname and
 * co_linetable objects and its co_firstlineno, all of which a record copies.
 */
static inline uint32_t
py_code_sig(uintptr_t code)
{
	uint64_t h = WORD(code + lay->co_filename);

	h = (h ^ WORD(code + lay->co_qualname)) * 0x9e3779b97f4a7c15ull;
	h = (h ^ WORD(code + lay->co_linetable)) * 0x9e3779b97f4a7c15ull;
	h = (h ^ (uint32_t)*(const int *)(code + lay->co_firstlineno)) * 0xff51afd7ed558ccdull;
	return h >> 32;
}

/* Returns the slot of CODE in IX, or the empty slot where it would go. */
static inline struct code_slot *
py_code_find(struct code_index *ix, uintptr_t code)
{
	size_t mask = ix->cap - 1, i;
	uintptr_t o;

	for (i = py_code_slot(code, mask);; i = (i + 1) & mask) {
		o = atomic_load_explicit(&ix->slot[i].obj, memory_order_acquire);
		if (o == code || o == 0)
			return &ix->slot[i];
	}
}

/* Sets the key of CODE in IX, which has room for it; under py_lock. */
static void
py_code_put(struct code_index *ix, uintptr_t code, uint64_t key)
{
	struct code_slot *sl = py_code_find(ix, code);

	assert(mutex_held(&py_lock));
	atomic_store_explicit(&sl->key, key, memory_order_relaxed);
	if (atomic_load_explicit(&sl->obj, memory_order_relaxed) == 0)
		atomic_store_explicit(&sl->obj, code, memory_order_release);
}

/* Points CODE's slot at record ID of signature SIG, in place of an older one; under py_lock. */
static int
py_code_index(uintptr_t code, uint32_t id, uint32_t sig)
{
	struct code_index *ix = atomic_load(&code_index), *nix;
	size_t k, cap;
	uintptr_t o;

	assert(mutex_held(&py_lock));
	if (ix == NULL || 2 * (size_t)id > ix->cap) {
		cap = ix != NULL ? 2 * ix->cap : 256;
		if ((nix = mem_map(sizeof *nix + cap * sizeof nix->slot[0])) == NULL)
			return -1;
		nix->cap = cap;
		for (k = 0; ix != NULL && k < ix->cap; k++) {
			if ((o = atomic_load(&ix->slot[k].obj)) != 0)
				py_code_put(nix, o, atomic_load(&ix->slot[k].key));
		}
		atomic_store_explicit(&code_index, nix, memory_order_release);
		ix = nix;
	}
	py_code_put(ix, code, (uint64_t)sig << 32 | id);
	return 0;
}

/* Adds a record for the code object CODE; returns its id, 0 when out of memory. */
static uint32_t
py_code_add(uintptr_t code)
{
	struct py_code *r;
	uintptr_t lt;
	uint32_t id;

	pthread_mutex_lock(&py_lock);
	id = atomic_load(&py_code_n) + 1;
	if (id / CODE_CHUNK >= CODE_CHUNKS || (code_chunk[id / CODE_CHUNK] == NULL &&
	    (code_chunk[id / CODE_CHUNK] = mem_map(CODE_CHUNK * sizeof(void *))) == NULL) ||
	    (r = py_room(sizeof *r)) == NULL)
		goto fail;
	lt = WORD(code + lay->co_linetable);
	r->id = id;
	r->firstlineno = *(const int *)(code + lay->co_firstlineno);
	/* A bytes object: ob_size at 16, the bytes at 32. */
	r->linetable_len = WORD(lt + 16);
	if ((r->filename = py_copy_str(WORD(code + lay->co_filename))) == NULL ||
	    (r->name = py_copy_str(WORD(code + lay->co_qualname))) == NULL ||
	    (r->linetable = py_copy((const void *)(lt + 32), r->linetable_len)) == NULL ||
	    py_code_index(code, id, py_code_sig(code)) != 0)
		goto fail;
	code_chunk[id / CODE_CHUNK][id % CODE_CHUNK] = r;
	atomic_store_explicit(&py_code_n, id, memory_order_release);
	pthread_mutex_unlock(&py_lock);
	return id;
fail:
	pthread_mutex_unlock(&py_lock);
	return 0;
}

/*
 * Returns the index key (signature << 32 | id) of the code object CODE, whose signature is SIG,
 * giving it an id if new; 0 when out of memory.
 */
static inline uint64_t
py_code_key(uintptr_t code, uint32_t sig)
{
	struct code_index *ix = atomic_load_explicit(&code_index, memory_order_acquire);
	struct code_slot *sl;
	uint64_t key;
	uint32_t id;

	if (HS_LIKELY(ix != NULL)) {
		sl = py_code_find(ix, code);
		if (atomic_load_explicit(&sl->obj, memory_order_acquire) == code) {
			key = atomic_load_explicit(&sl->key, memory_order_relaxed);
			if (HS_LIKELY(key >> 32 == sig))
				return key;
		}
	}
	return (id = py_code_add(code)) != 0 ? (uint64_t)sig << 32 | id : 0;
}

uint32_t
py_code_count(void)
{
	return atomic_load_explicit(&py_code_n, memory_order_acquire);
}

const struct py_code *
py_code_get(uint32_t id)
{
	return code_chunk[id / CODE_CHUNK][id % CODE_CHUNK];
}

/* Reads a varint of the location table at *P (6 bits a byte, bit 6 = more); advances *P. */
static uint32_t
py_varint(const uint8_t **p, const uint8_t *end)
{
	uint32_t v = 0;
	int shift = 0;

	while (*p < end) {
		uint8_t b = *(*p)++;

		v |= (uint32_t)(b & 63) << shift;
		shift += 6;
		if (!(b & 64) || shift > 24)
			break;
	}
	return v;
}

/*
 * Returns the line of the instruction at byte OFFSET in code C, from its location table (the
 * format of CPython 3.11 to 3.13, Objects/locations.md): entries of one first byte, 1 code cc
 * lll (cc: the kind, lll + 1: code units covered), then the kind's varints.  0 if none.
 */
int
py_line(const struct py_code *c, uint32_t offset)
{
	const uint8_t *p = c->linetable, *end = p + c->linetable_len;
	int line = c->firstlineno, code, delta;
	uint32_t addr = 0, v;

	if ((int32_t)offset < 0)
		return c->firstlineno;
	while (p < end) {
		code = (*p >> 3) & 15;
		addr += ((*p & 7) + 1) * 2;
		p++;
		delta = 0;			/* and for code 15: no location */
		if (code == 14 || code == 13) {	/* long form; no column */
			v = py_varint(&p, end);
			delta = v & 1 ? -(int)(v >> 1) : (int)(v >> 1);
			if (code == 14) {
				py_varint(&p, end);	/* end line delta */
				py_varint(&p, end);	/* column + 1 */
				py_varint(&p, end);	/* end column + 1 */
			}
		} else if (code >= 10 && code <= 12) {	/* one-line forms: line delta code - 10 */
			delta = code - 10;
			p += 2;			/* start and end column */
		} else if (code < 10)
			p++;			/* short form: same line, one column byte */
		line += delta;
		if (offset < addr)
			return code == 15 ? 0 : line;
	}
	return 0;
}

/* Returns the thread state whose frames this call may read, or NULL. */
static inline uintptr_t
py_tstate(int domain)
{
	uintptr_t ts = (uintptr_t)api_tstate();

	/* 3.11's unchecked state is the GIL holder's: a RAW call must be made by that thread. */
	if (ts != 0 && domain == PY_RAW && py.minor == 11 && (uintptr_t)api_own_tstate() != ts)
		return 0;
	return ts;
}

/*
 * Appends to OUT (room for 1 + py.depth words) the tag of DOMAIN and the calling thread's Python
 * traceback; mixes them into *HASH.  Returns the number of words written.  Out of memory for a
 * code object's record, it stops tracing: the traceback would be cut short without a word.
 */
int
py_capture(struct py_memo *memo, uintptr_t *out, int domain, uint64_t *hash)
{
	uintptr_t ts, f, code, instr, first;
	int n = 0;
	uint8_t owner;
	uint32_t sig;
	uint64_t h = *hash, key;

	if ((ts = py_tstate(domain)) != 0) {
		f = WORD(ts + lay->ts_frame);
		if (lay->cframe_frame >= 0 && f != 0)
			f = WORD(f + lay->cframe_frame);
		for (; f != 0 && n < py.depth; f = WORD(f + lay->f_previous)) {
			owner = *(const uint8_t *)(f + lay->f_owner);
			if (owner == OWNED_BY_CSTACK && py.minor >= 12)
				continue;
			code = WORD(f + lay->f_code);
			if (code == 0 || WORD(code + 8) != code_type)
				continue;
			first = code + lay->co_code;
			instr = WORD(f + lay->f_instr);
			if (owner != OWNED_BY_GENERATOR &&
			    instr < first + 2 * (uintptr_t)*(const int *)(code + lay->co_firsttraceable))
				continue;	/* incomplete: not started yet */
			/* The same code object and signature as last time: the same record. */
			sig = py_code_sig(code);
			if (n < PY_MEMO && memo->code[n] == code && memo->key[n] >> 32 == sig)
				key = memo->key[n];
			else if ((key = py_code_key(code, sig)) == 0) {
				log_fail("out of memory for Python code objects");
				break;
			}
			else if (n < PY_MEMO) {
				memo->code[n] = code;
				memo->key[n] = key;
			}
			out[1 + n] = (uintptr_t)(uint32_t)key << 32 | (uint32_t)(instr - first);
			h = (h ^ out[1 + n]) * 0x9e3779b97f4a7c15ull;
			n++;
		}
	}
	out[0] = PY_TAG | (uintptr_t)domain << 8 | n;
	*hash = (h ^ out[0]) * 0xff51afd7ed558ccdull;
	return 1 + n;
}

/* Returns 1 if this call should be recorded; notes a probe of py_check. */
static inline int
py_tracing(const struct py_domain *d)
{
	if (HS_UNLIKELY(py_probing)) {
		py_probe_hit |= 1 << d->domain;
		return 0;
	}
	if (HS_UNLIKELY(atomic_load_explicit(&py_pending, memory_order_relaxed)) &&
	    d->domain != PY_RAW)
		py_check();
	return hooks_tracing();
}

static void *
py_malloc(void *ctx, size_t size)
{
	struct py_domain *d = ctx;
	void *p;

	if (!py_tracing(d))
		return d->orig.malloc(d->orig.ctx, size);
	hs_busy = 1;
	if ((p = d->orig.malloc(d->orig.ctx, size)) != NULL)
		record_alloc_py(p, size, __builtin_frame_address(0), d->domain);
	hs_busy = 0;
	return p;
}

static void *
py_calloc(void *ctx, size_t n, size_t size)
{
	struct py_domain *d = ctx;
	void *p;

	if (!py_tracing(d))
		return d->orig.calloc(d->orig.ctx, n, size);
	hs_busy = 1;
	if ((p = d->orig.calloc(d->orig.ctx, n, size)) != NULL)
		record_alloc_py(p, n * size, __builtin_frame_address(0), d->domain);
	hs_busy = 0;
	return p;
}

static void *
py_realloc(void *ctx, void *p, size_t size)
{
	struct py_domain *d = ctx;
	struct block old;
	int traced;
	void *q;

	if (!py_tracing(d))
		return d->orig.realloc(d->orig.ctx, p, size);
	hs_busy = 1;
	if (p == NULL) {
		if ((q = d->orig.realloc(d->orig.ctx, NULL, size)) != NULL)
			record_alloc_py(q, size, __builtin_frame_address(0), d->domain);
	} else {
		traced = record_realloc_begin(p, &old);
		q = d->orig.realloc(d->orig.ctx, p, size);
		record_realloc_end_py(traced ? &old : NULL, q, size, __builtin_frame_address(0),
		    d->domain);
	}
	hs_busy = 0;
	return q;
}

static void
py_free(void *ctx, void *p)
{
	struct py_domain *d = ctx;

	if (p == NULL || !py_tracing(d)) {
		d->orig.free(d->orig.ctx, p);
		return;
	}
	hs_busy = 1;
	record_free_with(p, d->orig.free, d->orig.ctx);
	hs_busy = 0;
}

/* pymalloc's arenas: recorded as mappings of their own kind, with the stack that made them. */
static void *
py_arena_alloc(void *ctx, size_t size)
{
	int was;
	void *p;

	(void)ctx;
	if (size != ARENA_SIZE || atomic_load(&hs_state) != HS_ON)
		return py_arena_orig.alloc(py_arena_orig.ctx, size);
	was = hooks_enter(1);
	if ((p = py_arena_orig.alloc(py_arena_orig.ctx, size)) != NULL)
		record_map(p, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		    __builtin_frame_address(0), 1);
	hooks_enter(was);
	return p;
}

static void
py_arena_free(void *ctx, void *p, size_t size)
{
	int was;

	(void)ctx;
	if (size != ARENA_SIZE || atomic_load(&hs_state) != HS_ON) {
		py_arena_orig.free(py_arena_orig.ctx, p, size);
		return;
	}
	was = hooks_enter(1);
	map_remove((uintptr_t)p, size);
	py_arena_orig.free(py_arena_orig.ctx, p, size);
	hooks_enter(was);
}

/* Wraps domain D's current allocator. */
static void
py_wrap(int d)
{
	py_allocator ours = { &py_dom[d], py_malloc, py_calloc, py_realloc, py_free };

	py_dom[d].domain = d;
	api_get(d, &py_dom[d].orig);
	api_set(d, &ours);
}

/* atexit's handler: the exit snapshot at the start of the finalization.  Returns None. */
static void *
py_atexit(void *self, void *unused)
{
	(void)self;
	(void)unused;
	if (hooks_tracing()) {
		hs_busy = 1;
		snap_py_exit();
		hs_busy = 0;
	}
	return api_none("");
}

/* PyMethodDef, as CPython declares it; METH_NOARGS. */
static struct {
	const char *name;
	void *(*meth)(void *, void *);
	int flags;
	const char *doc;
} py_atexit_def = { "heapscope_exit", py_atexit, 0x4, NULL };

/*
 * The pending call: registers py_atexit with the atexit module; a failure only costs the early
 * exit snapshot, and is told.  The blocks it makes (the function object, and atexit's entry for
 * it) are recorded as any: they hold references, which the leak scan must see, and are counted
 * in pymalloc's pools, which the snapshot's pools must match.
 */
static int
py_register(void *arg)
{
	void *atexit = NULL, *reg = NULL, *fn = NULL, *r = NULL;

	(void)arg;
	if ((atexit = api_import("atexit")) != NULL && (reg = api_attr(atexit, "register")) != NULL &&
	    (fn = api_cfunction(&py_atexit_def, NULL, NULL)) != NULL)
		r = api_call(reg, fn);
	if (r == NULL) {
		api_err_clear();
		log_warn("cannot register with atexit: the exit snapshot comes after the "
		    "interpreter's finalization");
	}
	api_decref(r);
	api_decref(fn);
	api_decref(reg);
	api_decref(atexit);
	return 0;
}

/*
 * After start-up: wraps again each domain whose allocator PYTHONMALLOC or -X dev replaced.
 * Called by the hooks while py_pending is set; does its work at the first call that finds the
 * interpreter initialized and the GIL held by the calling thread.
 */
void
py_check(void)
{
	int d, was, expected = 1;
	py_allocator cur;
	void *p;

	if (!api_initialized() || !api_gil_check())
		return;
	if (!atomic_compare_exchange_strong(&py_pending, &expected, 0))
		return;
	was = hooks_enter(1);
	for (d = PY_RAW; d <= PY_OBJ; d++) {
		api_get(d, &cur);
		if (cur.malloc == py_malloc && cur.ctx == &py_dom[d])
			continue;
		py_probing = 1;
		py_probe_hit = 0;
		if ((p = api_domain_malloc[d](1)) != NULL)
			api_domain_free[d](p);
		py_probing = 0;
		if (!(py_probe_hit & (1 << d)))
			py_wrap(d);
	}
	if (api_pending(py_register, NULL) != 0)
		log_warn("cannot register with atexit: the exit snapshot comes after the "
		    "interpreter's finalization");
	hooks_enter(was);
}

/* Finds SYMBOL in the program; NULL if it has none. */
static void *
py_sym(const char *symbol)
{
	return dlsym(RTLD_DEFAULT, symbol);
}

/*
 * The constructor's part: if the program is a CPython of a version we know, wraps its allocators.
 * HEAPSCOPE_PYTHON=0 (py.depth < 0 from boot_config) leaves it alone.
 */
void
py_init(void)
{
	static const char *const dm[3] = { "PyMem_RawMalloc", "PyMem_Malloc", "PyObject_Malloc" };
	static const char *const df[3] = { "PyMem_RawFree", "PyMem_Free", "PyObject_Free" };
	const unsigned long *version;
	size_t i;
	int d;

	if (py.depth < 0 || (api_set = py_sym("PyMem_SetAllocator")) == NULL)
		return;
	if ((version = py_sym("Py_Version")) == NULL) {
		log_warn("this CPython is older than 3.11: Python mode is off");
		return;
	}
	for (i = 0; i < sizeof py_layouts / sizeof py_layouts[0]; i++) {
		if (py_layouts[i].minor == (int)(*version >> 16 & 0xff))
			lay = &py_layouts[i];
	}
	api_get = py_sym("PyMem_GetAllocator");
	api_arena_get = py_sym("PyObject_GetArenaAllocator");
	api_arena_set = py_sym("PyObject_SetArenaAllocator");
	api_initialized = py_sym("Py_IsInitialized");
	api_gil_check = py_sym("PyGILState_Check");
	if ((api_tstate = py_sym("PyThreadState_GetUnchecked")) == NULL)
		api_tstate = py_sym("_PyThreadState_UncheckedGet");
	api_own_tstate = py_sym("PyGILState_GetThisThreadState");
	api_utf8 = py_sym("PyUnicode_AsUTF8AndSize");
	api_pending = py_sym("Py_AddPendingCall");
	api_import = py_sym("PyImport_ImportModule");
	api_attr = py_sym("PyObject_GetAttrString");
	api_cfunction = py_sym("PyCFunction_NewEx");
	api_call = py_sym("PyObject_CallOneArg");
	api_none = py_sym("Py_BuildValue");
	api_decref = py_sym("Py_DecRef");
	api_err_clear = py_sym("PyErr_Clear");
	code_type = (uintptr_t)py_sym("PyCode_Type");
	py.type_type = (uintptr_t)py_sym("PyType_Type");
	for (d = 0; d < 3; d++) {
		api_domain_malloc[d] = py_sym(dm[d]);
		api_domain_free[d] = py_sym(df[d]);
		if (api_domain_malloc[d] == NULL || api_domain_free[d] == NULL)
			lay = NULL;
	}
	if (lay == NULL || *version >> 24 != 3 || api_get == NULL || api_arena_get == NULL ||
	    api_arena_set == NULL || api_initialized == NULL || api_gil_check == NULL ||
	    api_tstate == NULL || api_own_tstate == NULL || api_utf8 == NULL || code_type == 0 ||
	    py.type_type == 0 || api_pending == NULL || api_import == NULL || api_attr == NULL ||
	    api_cfunction == NULL || api_call == NULL || api_none == NULL || api_decref == NULL ||
	    api_err_clear == NULL) {
		log_warn("CPython %lu.%lu is not one heapscope knows (3.11 to 3.13): Python mode "
		    "is off", *version >> 24, *version >> 16 & 0xff);
		return;
	}
	py.minor = lay->minor;
	snprintf(py.version, sizeof py.version, "3.%d.%lu", py.minor, *version >> 8 & 0xff);
	py.preheader = py.minor == 11 ? 1ul << 4 : (1ul << 3) | (1ul << 4);
	for (d = PY_RAW; d <= PY_OBJ; d++)
		py_wrap(d);
	api_arena_get(&py_arena_orig);
	api_arena_set(&(py_arena_allocator){ NULL, py_arena_alloc, py_arena_free });
	atomic_store(&py_pending, 1);
}

/* Returns 1 while py_check still has to run (the malloc hook's test). */
int
py_check_pending(void)
{
	return atomic_load_explicit(&py_pending, memory_order_relaxed);
}
