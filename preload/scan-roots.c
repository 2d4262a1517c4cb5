/*
 * The roots of the leak scan (scan.c), and the process's memory as the scan reads it.
 *
 * Roots: the writable PT_LOAD segments, rounded to whole pages, of every loaded object but
 * libheapscope.so (.data, .bss); each thread's stack from its stack pointer (less the 128-byte
 * red zone of the x86-64 ABI) up to the top of its mapping, or for a thread other than the main
 * one up to the end of its thread control block, which glibc puts at the top of the stack with
 * the static TLS just below; for the thread taking the snapshot, only the stack above the point
 * where it entered snap_take() (D->stack), where its callee-saved registers were saved, since
 * heapscope's frames below it hold stale words of the program's that would keep leaked blocks
 * alive; the other threads' general registers; each thread's static TLS and TCB,
 * [fs - static TLS size, fs + sizeof (struct pthread)), never below a stack pointer on the same
 * mapping; its DTV, which leads to the dynamic TLS blocks (malloc'd, so reached as blocks) and
 * which glibc points at 16 bytes past its start: that pointer is taken for a pointer to the
 * start, or every thread's DTV would be "possibly lost"; the program's anonymous mmap regions
 * (map.c) where they are writable now, unless they hold heap blocks (then they are some
 * allocator's arena, whose free memory must not keep blocks alive); and the blocks that the
 * dynamic loader allocated itself (see scan_loader_roots).  Never heapscope's own memory
 * (mem_map'd, or in this library) and never the heap's free memory.  Each root word that falls
 * in a live block counts in the block's root_refs and marks it SCAN_ROOT_START or
 * SCAN_ROOT_INTERIOR in graph.flags (scan_root_word), but for the chunk-header words of
 * scan-graph.c.
 *
 * Root memory is clipped to the readable mappings of /proc/self/maps, read while the threads
 * are stopped, and then copied with process_vm_readv, which fails where a plain read would
 * fault.  The blocks (scan-graph.c) and the Python types (scan-python.c) are read through the
 * same mappings: scan_readable(), scan_copy().
 *
 * When this runs: scan_roots_init() in the constructor, scan_roots_prepare() before the world
 * lock (dl_iterate_phdr takes the dynamic loader's lock); the rest of a scan's reading while
 * the threads are stopped (system calls only: what grows is mem_map'd), but scan_loader_roots(),
 * which scan_classify() calls once they run again.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "scan.h"

#define SCAN_RED_ZONE 128		/* bytes below the stack pointer that leaf code may use */
#define SCAN_BUF (256 * 1024)		/* bytes of root memory copied at a time */
#define SCAN_DTV_AT 8			/* offset of the DTV pointer in glibc's TCB (tcbhead_t) */
#define SCAN_DTV_SKEW 16		/* the DTV pointer is its block's start + one dtv_t */
#define SCAN_TLS_GUESS 65536		/* static TLS bytes assumed when glibc does not say */
#define SCAN_TCB_GUESS 4096		/* bytes of struct pthread assumed likewise */

/* Persistent state: what is known of TLS and loaded objects. */
static size_t scan_tls_size;		/* glibc's static TLS size: the TLS below the thread
					   pointer plus the TCB */
static size_t scan_tcb_size;		/* sizeof (struct pthread): TCB bytes from the pointer */
static struct scan_range *scan_objs;	/* writable segments of loaded objects, page-rounded */
static size_t scan_nobjs;		/* entries in scan_objs */
static size_t scan_objs_cap;		/* entries mapped */
static int scan_objs_failed;		/* 1 when scan_objs ran out of memory */
static void (*scan_tls_info)(size_t *, size_t *);	/* glibc's _dl_get_tls_static_info */
static const uint32_t *scan_tcb_info;	/* glibc's _thread_db_sizeof_pthread */
static uintptr_t scan_loader_probe;	/* an address in the dynamic loader's code, 0 if unknown */
static struct scan_range scan_loader[4];	/* the dynamic loader's executable segments */
static int scan_nloader;		/* entries in scan_loader */

/* The scan in progress, until scan_roots_free(). */
static struct scan_map *scan_maps;	/* readable mappings in address order, [vvar] and
					   [vsyscall] left out */
static size_t scan_nmaps;		/* entries in scan_maps */
static size_t scan_maps_cap;		/* entries mapped */
static struct scan_range *scan_ranges;	/* root memory, each range in one readable mapping */
static size_t scan_nranges;		/* entries in scan_ranges */
static size_t scan_ranges_cap;		/* entries mapped */
static uintptr_t *scan_buf;		/* SCAN_BUF bytes into which roots are copied */
static int scan_direct;			/* 1: process_vm_readv is refused: read in place */
static int scan_missed;			/* threads whose stack could not be found */

/* Makes room for NEED entries of SIZE bytes in *P of *CAP entries; -1 if out of memory. */
static int
scan_room(void **p, size_t *cap, size_t need, size_t size)
{
	size_t ncap = *cap ? *cap : 256;
	void *q;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	if ((q = mem_grow(*p, *cap * size, ncap * size)) == NULL)
		return -1;
	*p = q;
	*cap = ncap;
	return 0;
}

/*
 * Looks up what glibc tells its debuggers (guesses are used where it does not) and an address
 * in the dynamic loader's code; called once by the constructor.  dlsym takes the dynamic
 * loader's lock, which a thread in dlopen may hold while it waits for a snapshot: this is the
 * one time heapscope holds none of its own.
 */
void
scan_roots_init(void)
{
	scan_tls_info = (void (*)(size_t *, size_t *))dlsym(RTLD_DEFAULT,
	    "_dl_get_tls_static_info");
	scan_tcb_info = dlsym(RTLD_DEFAULT, "_thread_db_sizeof_pthread");
	scan_loader_probe = (uintptr_t)dlsym(RTLD_DEFAULT, "__tls_get_addr");
}

/* Returns 1 if ADDR is in one of the PT_LOAD segments of the object INFO describes. */
static int
scan_object_has(const struct dl_phdr_info *info, uintptr_t addr)
{
	const ElfW(Phdr) *ph;
	uintptr_t a;
	int k;

	for (k = 0; k < info->dlpi_phnum; k++) {
		ph = &info->dlpi_phdr[k];
		a = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && addr >= a && addr - a < ph->p_memsz)
			return 1;
	}
	return 0;
}

/*
 * dl_iterate_phdr callback: adds the writable segments of every object but this library, and
 * notes the executable segments of the dynamic loader.
 */
static int
scan_visit(struct dl_phdr_info *info, size_t size, void *arg)
{
	const ElfW(Phdr) *ph;
	uintptr_t a;
	int k;

	(void)size;
	(void)arg;
	if (scan_object_has(info, (uintptr_t)scan_visit))
		return 0;	/* heapscope's own data is no root */
	if (scan_loader_probe != 0 && scan_object_has(info, scan_loader_probe)) {
		for (k = 0; k < info->dlpi_phnum && scan_nloader < 4; k++) {
			ph = &info->dlpi_phdr[k];
			if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
				continue;
			a = info->dlpi_addr + ph->p_vaddr;
			scan_loader[scan_nloader].start = a;
			scan_loader[scan_nloader++].end = a + ph->p_memsz;
		}
	}
	for (k = 0; k < info->dlpi_phnum; k++) {
		ph = &info->dlpi_phdr[k];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W) || ph->p_memsz == 0)
			continue;
		if (scan_room((void **)&scan_objs, &scan_objs_cap, scan_nobjs + 1,
		    sizeof *scan_objs) != 0) {
			scan_objs_failed = 1;
			return 1;
		}
		a = info->dlpi_addr + ph->p_vaddr;
		scan_objs[scan_nobjs].start = a & ~(uintptr_t)(PAGE - 1);
		scan_objs[scan_nobjs].end = (a + ph->p_memsz + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
		scan_nobjs++;
	}
	return 0;
}

/*
 * Learns the TLS layout and the writable segments of the loaded objects, before the world lock
 * (the dynamic loader's lock is not to be taken while threads are stopped).  Returns 0, or -1
 * with *CAUSE.
 */
int
scan_roots_prepare(char **cause)
{
	size_t size = 0, align = 0;

	if (scan_tls_info != NULL)
		scan_tls_info(&size, &align);
	scan_tls_size = size != 0 ? size : SCAN_TLS_GUESS;
	scan_tcb_size = scan_tcb_info != NULL && *scan_tcb_info != 0 ? *scan_tcb_info :
	    SCAN_TCB_GUESS;
	scan_nobjs = 0;
	scan_objs_failed = 0;
	scan_nloader = 0;
	dl_iterate_phdr(scan_visit, NULL);
	if (scan_objs_failed) {
		*cause = "out of memory for the leak scan; snapshots go unscanned";
		return -1;
	}
	return 0;
}

/*
 * Reads /proc/self/maps into scan_maps (readable mappings only); 0, -1 if it cannot be read, or
 * -2 if out of memory.
 */
int
scan_read_maps(void)
{
	size_t cap = 1 << 20, len = 0;
	char *text, *grown;
	const char *p, *eol, *name;
	uintptr_t start, end;
	ssize_t r;
	int fd;

	scan_nmaps = 0;
	if ((fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	if ((text = mem_map(cap)) == NULL) {
		close(fd);
		return -2;
	}
	for (;;) {
		if (len + 4096 >= cap) {
			if ((grown = mem_grow(text, cap, cap * 2)) == NULL) {
				r = -2;	/* a map cut short would lose roots */
				break;
			}
			text = grown;
			cap *= 2;
		}
		if ((r = read(fd, text + len, cap - len - 1)) <= 0)
			break;
		len += r;
	}
	close(fd);
	if (r < 0) {
		mem_unmap(text, cap);
		return r == -2 ? -2 : -1;
	}
	text[len] = '\0';
	for (p = text; *p != '\0'; p = *eol ? eol + 1 : eol) {
		eol = strchr(p, '\n');
		if (eol == NULL)
			eol = p + strlen(p);
		start = scan_hex(&p);
		if (*p++ != '-')
			continue;
		end = scan_hex(&p);
		if (*p++ != ' ' || eol - p < 4 || p[0] != 'r')
			continue;
		name = memchr(p, '[', eol - p);
		if (name != NULL && (strncmp(name, "[vvar", 5) == 0 ||
		    strncmp(name, "[vsyscall]", 10) == 0))
			continue;	/* reading these can fault */
		if (scan_room((void **)&scan_maps, &scan_maps_cap, scan_nmaps + 1,
		    sizeof *scan_maps) != 0) {
			mem_unmap(text, cap);
			return -2;
		}
		scan_maps[scan_nmaps].start = start;
		scan_maps[scan_nmaps].end = end;
		scan_maps[scan_nmaps].writable = p[1] == 'w';
		scan_nmaps++;
	}
	mem_unmap(text, cap);
	return 0;
}

/* Returns the index of the first readable mapping that ends after A (nmaps if none). */
size_t
scan_map_after(uintptr_t a)
{
	size_t lo = 0, hi = scan_nmaps, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (scan_maps[mid].end <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Returns the readable mapping that holds A, or NULL. */
const struct scan_map *
scan_map_of(uintptr_t a)
{
	size_t i = scan_map_after(a);

	return i < scan_nmaps && scan_maps[i].start <= a ? &scan_maps[i] : NULL;
}

/* Returns 1 if [A, E) lies in readable mappings, from scan_maps[*M] on (advanced past A). */
int
scan_readable(uintptr_t a, uintptr_t e, size_t *m)
{
	size_t k;

	while (*m < scan_nmaps && scan_maps[*m].end <= a)
		(*m)++;
	if (*m == scan_nmaps || scan_maps[*m].start > a)
		return 0;
	for (k = *m; scan_maps[k].end < e; k++) {
		if (k + 1 == scan_nmaps || scan_maps[k + 1].start != scan_maps[k].end)
			return 0;
	}
	return 1;
}

/* Copies LEN bytes at SRC to DST without faulting; returns the bytes copied up to a hole. */
size_t
scan_copy(void *dst, uintptr_t src, size_t len)
{
	struct iovec local = { dst, len }, remote = { (void *)src, len };
	ssize_t r;

	if (!scan_direct) {
		r = syscall(SYS_process_vm_readv, (pid_t)syscall(SYS_getpid), &local, 1UL,
		    &remote, 1UL, 0UL);
		if (r >= 0)
			return r;
		if (errno == EFAULT)
			return 0;
		scan_direct = 1;	/* refused (seccomp, old kernel): the maps must do */
	}
	memcpy(dst, (const void *)src, len);
	return len;
}

/* Reads the word at A into *V; returns 1, or 0 where it cannot be read. */
static int
scan_peek(uintptr_t a, uintptr_t *v)
{
	if (scan_map_of(a) == NULL || scan_map_of(a + sizeof *v - 1) == NULL)
		return 0;
	return scan_copy(v, a, sizeof *v) == sizeof *v;
}

/* Returns 1 if [A, A + LEN) is in the writable segments of a loaded object. */
int
scan_in_objects(uintptr_t a, size_t len)
{
	size_t i;

	for (i = 0; i < scan_nobjs; i++) {
		if (a >= scan_objs[i].start && a + len <= scan_objs[i].end)
			return 1;
	}
	return 0;
}

/* Maps the buffer that root memory is copied into; 0, or -1 if out of memory. */
int
scan_roots_map(void)
{
	return (scan_buf = mem_map(SCAN_BUF)) != NULL ? 0 : -1;
}

/* Unmaps what the scan in progress read and copied. */
void
scan_roots_free(void)
{
	mem_unmap(scan_maps, scan_maps_cap * sizeof *scan_maps);
	mem_unmap(scan_ranges, scan_ranges_cap * sizeof *scan_ranges);
	mem_unmap(scan_buf, SCAN_BUF);
	scan_maps = NULL;
	scan_nmaps = scan_maps_cap = 0;
	scan_ranges = NULL;
	scan_nranges = scan_ranges_cap = 0;
	scan_buf = NULL;
	scan_direct = 0;
	scan_missed = 0;
}

/* Counts a root word of value V. */
static inline void
scan_root_word(uintptr_t v)
{
	uint32_t t;

	if ((t = scan_lookup(v)) == 0)
		return;
	t--;
	if (v != graph.spans[t].start && v + 8 >= graph.spans[t].end && scan_chunk_header(t, v))
		return;
	if (graph.root_refs[t] != UINT32_MAX)
		graph.root_refs[t]++;
	graph.flags[t] |= scan_at_start(t, v) ? SCAN_ROOT_START : SCAN_ROOT_INTERIOR;
	if (pyobjs.at != NULL && pyobjs.at[t] != SCAN_PY_NONE &&
	    v == graph.spans[t].start + pyobjs.at[t] && pyobjs.root_refs[t] != UINT32_MAX)
		pyobjs.root_refs[t]++;
}

/*
 * Adds the readable parts of [START, END) to the roots (WRITABLE: only parts writable now).
 * Returns 0, or -1 if out of memory.
 */
static int
scan_add_root(uintptr_t start, uintptr_t end, int writable)
{
	const struct scan_map *m;
	uintptr_t a, e;
	size_t i;

	for (i = scan_map_after(start); i < scan_nmaps && scan_maps[i].start < end; i++) {
		m = &scan_maps[i];
		if (writable && !m->writable)
			continue;
		a = m->start > start ? m->start : start;
		e = m->end < end ? m->end : end;
		if (scan_room((void **)&scan_ranges, &scan_ranges_cap, scan_nranges + 1,
		    sizeof *scan_ranges) != 0)
			return -1;
		scan_ranges[scan_nranges].start = a;
		scan_ranges[scan_nranges].end = e;
		scan_nranges++;
	}
	return 0;
}

/* Scans the root memory [START, END) word by word. */
static void
scan_root_range(uintptr_t start, uintptr_t end)
{
	size_t len, got, i;

	start = (start + 7) & ~(uintptr_t)7;
	while (start < end && end - start >= 8) {
		len = end - start < SCAN_BUF ? (end - start) & ~(size_t)7 : SCAN_BUF;
		got = scan_copy(scan_buf, start, len) & ~(size_t)7;
		for (i = 0; i < got / 8; i++)
			scan_root_word(scan_buf[i]);
		if (got < len)
			start = ((start + got) | (PAGE - 1)) + 1;	/* skip the hole's page */
		else
			start += len;
	}
}

/* Sorts the roots by start and merges those that overlap or touch. */
static void
scan_merge_roots(void)
{
	struct scan_range *r = scan_ranges, t;
	size_t n = scan_nranges, i, k, child, end;

	/* Heap sort: no recursion, no malloc. */
	for (i = n / 2; i-- > 0;) {
		for (k = i; (child = 2 * k + 1) < n; k = child) {
			if (child + 1 < n && r[child + 1].start > r[child].start)
				child++;
			if (r[k].start >= r[child].start)
				break;
			t = r[k], r[k] = r[child], r[child] = t;
		}
	}
	for (end = n; end-- > 1;) {
		t = r[0], r[0] = r[end], r[end] = t;
		for (k = 0; (child = 2 * k + 1) < end; k = child) {
			if (child + 1 < end && r[child + 1].start > r[child].start)
				child++;
			if (r[k].start >= r[child].start)
				break;
			t = r[k], r[k] = r[child], r[child] = t;
		}
	}
	for (i = k = 0; i < n; i++) {
		if (k > 0 && r[i].start <= r[k - 1].end) {
			if (r[i].end > r[k - 1].end)
				r[k - 1].end = r[i].end;
		} else
			r[k++] = r[i];
	}
	scan_nranges = k;
}

/*
 * Adds the roots of one thread: its stack from SP up (RED bytes below it too), its static TLS
 * and TCB at FS, and its DTV.  MAIN: the process's main thread, whose TLS is not on its stack.
 * SP or FS may be 0 (unknown).  Returns 0, or -1 if out of memory.
 */
static int
scan_thread_roots(uintptr_t sp, uintptr_t fs, int main, size_t red)
{
	const struct scan_map *m;
	uintptr_t lo, hi, dtv, len;
	uint32_t t;

	if (sp != 0) {
		lo = sp > red ? sp - red : 0;
		if ((t = scan_lookup(sp)) != 0) {
			/* A stack the program malloc'd: the rest of the block is free heap. */
			if (lo < graph.spans[t - 1].start)
				lo = graph.spans[t - 1].start;
			hi = graph.spans[t - 1].end;
		} else if ((m = scan_map_of(sp)) != NULL) {
			if (lo < m->start)
				lo = m->start;
			hi = m->end;
			/* The TCB tops a thread's stack: what lies above belongs to no one. */
			if (!main && fs > sp && fs < hi && fs + scan_tcb_size < hi)
				hi = fs + scan_tcb_size;
		} else {
			scan_missed++;
			hi = lo;
		}
		if (hi > lo && scan_add_root(lo, hi, 0) != 0)
			return -1;
	} else
		scan_missed++;
	if (fs == 0)
		return 0;
	/* glibc's static size counts the TCB in; below fs is the rest. */
	len = scan_tls_size > scan_tcb_size ? scan_tls_size - scan_tcb_size : scan_tls_size;
	lo = fs > len ? fs - len : 0;
	hi = fs + scan_tcb_size;
	if (sp != 0 && sp < fs && lo < sp - red && scan_map_of(sp) == scan_map_of(fs))
		lo = sp - red;	/* below the stack pointer is dead stack, not TLS */
	if ((t = scan_lookup(fs)) != 0) {
		if (lo < graph.spans[t - 1].start)
			lo = graph.spans[t - 1].start;
		if (hi > graph.spans[t - 1].end)
			hi = graph.spans[t - 1].end;
	} else if ((m = scan_map_of(fs)) != NULL) {
		/* The sizes are upper bounds: never spill into a neighbouring mapping. */
		if (lo < m->start)
			lo = m->start;
		if (hi > m->end)
			hi = m->end;
	}
	if (scan_add_root(lo, hi, 0) != 0)
		return -1;
	if (!scan_peek(fs + SCAN_DTV_AT, &dtv) || dtv < SCAN_DTV_SKEW)
		return 0;
	if ((t = scan_lookup(dtv)) != 0) {
		if (dtv == graph.spans[t - 1].start + SCAN_DTV_SKEW)
			graph.flags[t - 1] |= SCAN_ROOT_START;
		return 0;
	}
	/* A DTV the dynamic loader made before malloc was ours: its length, then its entries. */
	if (!scan_peek(dtv - SCAN_DTV_SKEW, &len) || len > 65536)
		return 0;
	return scan_add_root(dtv - SCAN_DTV_SKEW, dtv + SCAN_DTV_SKEW * (len + 1), 0);
}

/* Returns 1 if a live block starts in [START, END). */
static int
scan_holds_block(uintptr_t start, uintptr_t end)
{
	size_t lo = 0, hi = graph.n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (graph.spans[mid].start < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < graph.n && graph.spans[lo].start < end;
}

/*
 * Collects and scans every root; SELF: the calling thread is the program's, NSLOTS: the slots of
 * the stop.  Returns the number of threads whose stack could not be found, or -1 if out of
 * memory.
 */
int
scan_roots(const struct snap_data *d, int self, size_t nslots)
{
	const struct scan_slot *s;
	pid_t main_tid = syscall(SYS_getpid);
	size_t i;
	int k;

	scan_nranges = 0;
	scan_missed = 0;
	for (i = 0; i < scan_nobjs; i++) {
		if (scan_add_root(scan_objs[i].start, scan_objs[i].end, 0) != 0)
			return -1;
	}
	for (i = 0; i < d->nmaps; i++) {
		const struct mapping *m = &d->maps[i];

		if ((m->flags & MAP_ANONYMOUS) && !scan_holds_block(m->addr, m->addr + m->size) &&
		    scan_add_root(m->addr, m->addr + m->size, 1) != 0)
			return -1;
	}
	if (self && scan_thread_roots(d->stack, scan_thread_pointer(),
	    syscall(SYS_gettid) == main_tid, 0) != 0)
		return -1;
	for (i = 0; i < nslots; i++) {
		s = &scan_slots[i];
		if (atomic_load(&s->state) == SLOT_GONE)
			continue;
		if (scan_thread_roots(s->sp, s->fs, s->tid == main_tid,
		    atomic_load(&s->state) == SLOT_STOPPED ? SCAN_RED_ZONE : 0) != 0)
			return -1;
	}
	scan_merge_roots();
	for (i = 0; i < scan_nranges; i++)
		scan_root_range(scan_ranges[i].start, scan_ranges[i].end);

	/* Registers: every stopped thread's (the calling thread's are on its stack). */
	for (i = 0; i < nslots; i++) {
		s = &scan_slots[i];
		for (k = 0; atomic_load(&s->state) == SLOT_STOPPED && k < 16; k++)
			scan_root_word(s->regs[k]);
	}
	return scan_missed;
}

/* Returns 1 if PC is in the dynamic loader's code. */
static int
scan_in_loader(uintptr_t pc)
{
	int k;

	for (k = 0; k < scan_nloader; k++) {
		if (pc >= scan_loader[k].start && pc < scan_loader[k].end)
			return 1;
	}
	return 0;
}

/*
 * Takes the blocks that the dynamic loader allocated itself (DTVs, dynamic TLS blocks, link
 * maps) for roots: glibc keeps them where no scan looks, in the thread stacks it caches for
 * reuse among others, and they are its business.  Returns 0, or -1 if out of memory.
 */
int
scan_loader_roots(const struct snap_data *d)
{
	struct stack_info si;
	uint8_t *mine;
	uint32_t id;
	size_t i;
	int any = 0;

	if (scan_nloader == 0)
		return 0;
	if ((mine = scan_array((size_t)d->nstacks + 1, 1)) == NULL)
		return -1;
	for (id = 1; id <= d->nstacks; id++) {
		stack_info(id, &si);
		if (si.depth > 0 && scan_in_loader(si.innermost))
			any = mine[id] = 1;
	}
	for (i = 0; any && i < graph.n; i++) {
		if (d->blocks[i].stack <= d->nstacks && mine[d->blocks[i].stack])
			graph.flags[i] |= SCAN_ROOT_START;
	}
	scan_unarray(mine, (size_t)d->nstacks + 1, 1);
	return 0;
}
