/*
 * Unit test of preload/unwind.c, a TAP program: every capture is compared with libunwind's
 * unw_backtrace taken in the same wrapper frame (capture_cmp; the capturing wrappers are the
 * only functions built with a frame pointer, as the preload's hooks are), and its hash with
 * unwind_hash of its pcs.  The
 * stacks come from deep recursion, random walks that share prefixes (functions of equal frames
 * called from several call sites, alloca and VLAs for rbp-based CFAs, captures on the way down
 * and back up, longjmp out of deep stacks), several threads with a thread flushing the cache, a
 * signal handler on the same and on an alternate stack, timer signals at random points, a
 * shared object built and dlopen'd at run time, and a forked child.  It ends with the cost of a
 * capture on a deepstack-like loop (depth 5..30 cycling), against unw_backtrace's.
 *
 * Build: gcc -O2 -g -Wall -Wextra -I preload preload/unwind.c preload/dwarf.c
 *        tests/unit/unwind-test.c $(pkg-config --cflags --libs libunwind) -ldl -lpthread
 *        -o unwind-test
 * (add -DNDEBUG for release timings: without it unwind.c checks its invariants too).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <sys/time.h>
#include <sys/wait.h>

#include <alloca.h>
#include <dlfcn.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "unwind.h"
#include "tap.h"

/* Number of TAP tests. */
#define TEST_PLAN 16

/* One capture by unwind_capture and by unw_backtrace, from the same frame. */
struct cmp {
	int		max;				/* max given to unwind_capture */
	int		n;				/* pcs it returned */
	int		nref;				/* pcs from unw_backtrace, at most max */
	uint64_t	hash;				/* hash it returned */
	uintptr_t	pcs[UNWIND_MAX_DEPTH];		/* its pcs */
	uintptr_t	ref[UNWIND_MAX_DEPTH];		/* unw_backtrace's, past the wrapper */
};

/* State of a random walk of calls. */
struct walk {
	uint64_t	 rng;		/* xorshift state */
	struct cmp	*cmp;		/* buffer for the walk's captures */
	jmp_buf		 jb;		/* where a longjmp out of the walk lands */
	int		 vla;		/* 1 to use alloca, VLAs and big frames */
	int		 jump;		/* 1 to longjmp out of deep stacks */
	int		 sig;		/* 1 to raise SIGUSR1 here and there */
	int		 compare;	/* 0 to only capture and check hashes, not call libunwind */
	long		 captures;	/* captures made */
	long		 bad;		/* captures that differed */
};

/* The calling thread's unwind state. */
static __thread struct unwind_thread *test_ut;
/* 1 to take the reference with unw_step instead of unw_backtrace. */
static int test_ref_step;
/* Signal handler captures made and differing, and the first that differed. */
static volatile long sig_captures, sig_bad;
static struct cmp sig_first_bad;
/* 1 while a thread keeps flushing the cache. */
static volatile int flusher_run;
/* Sink for values the benchmark computes. */
static volatile uint64_t bench_sink;

/* Makes the calling thread's unwind state if it has none. */
static void
test_thread_init(void)
{
	if (test_ut == NULL && (test_ut = unwind_thread_new()) == NULL) {
		printf("Bail out! unwind_thread_new failed\n");
		exit(1);
	}
}

/* Returns 1 if C's two stacks agree and its hash is the hash of its pcs. */
static int
cmp_same(const struct cmp *c)
{
	if (c->n < 1 || c->n != c->nref)
		return 0;
	if (memcmp(c->pcs, c->ref, c->n * sizeof c->pcs[0]) != 0)
		return 0;
	return c->hash == unwind_hash(c->pcs, c->n);
}

/* Prints C's two stacks side by side as TAP comments. */
static void
cmp_print(const struct cmp *c, const char *what)
{
	Dl_info	info;
	int	i;

	printf("# %s: unwind_capture gave %d pcs, unw_backtrace %d (max %d), hash %s\n", what,
	    c->n, c->nref, c->max, c->hash == unwind_hash(c->pcs, c->n) ? "right" : "WRONG");
	for (i = 0; i < c->n || i < c->nref; i++) {
		printf("#   %3d %16lx %16lx", i, i < c->n ? (unsigned long)c->pcs[i] : 0UL,
		    i < c->nref ? (unsigned long)c->ref[i] : 0UL);
		if (i < c->nref && dladdr((void *)c->ref[i], &info) && info.dli_sname != NULL)
			printf(" %s+%#lx", info.dli_sname,
			    (unsigned long)(c->ref[i] - (uintptr_t)info.dli_saddr));
		printf("%s\n", i < c->n && i < c->nref && c->pcs[i] == c->ref[i] ? "" : " <--");
	}
}

/* Like unw_backtrace, with unw_step: this frame's pc, then its callers'. */
static int __attribute__((noinline))
ref_step(void **buf, int max)
{
	unw_context_t	uc;
	unw_cursor_t	cur;
	unw_word_t	ip;
	int		n = 0;

	if (unw_getcontext(&uc) != 0 || unw_init_local(&cur, &uc) != 0)
		return 0;
	do {
		if (unw_get_reg(&cur, UNW_REG_IP, &ip) != 0)
			break;
		buf[n++] = (void *)ip;
	} while (n < max && unw_step(&cur) > 0);
	return n;
}

/*
 * Captures the stack of its caller both ways into C (C->max set by the caller); returns 1 if
 * they agree.  Like a preload hook, it is the one function with a frame pointer.
 */
static int __attribute__((noinline, optimize("no-omit-frame-pointer")))
capture_cmp(struct cmp *c)
{
	void		*buf[UNWIND_MAX_DEPTH + 16];
	uintptr_t	 ra = (uintptr_t)__builtin_return_address(0);
	int		 i, j, n;

	c->n = unwind_capture(test_ut, __builtin_frame_address(0), c->pcs, c->max, &c->hash);
	n = test_ref_step ? ref_step(buf, UNWIND_MAX_DEPTH + 16) :
	    unw_backtrace(buf, UNWIND_MAX_DEPTH + 16);
	/* Skip libunwind's frames and this one: the first entry that is our return address. */
	for (i = 0; i < n && i < 4 && (uintptr_t)buf[i] != ra; i++)
		;
	c->nref = 0;
	for (j = i; j < n && c->nref < c->max; j++)
		c->ref[c->nref++] = (uintptr_t)buf[j];
	return cmp_same(c);
}

/* Captures the stack of its caller into C without libunwind; returns 1 if the hash is right. */
static int __attribute__((noinline, optimize("no-omit-frame-pointer")))
capture_only(struct cmp *c)
{
	c->n = unwind_capture(test_ut, __builtin_frame_address(0), c->pcs, c->max, &c->hash);
	c->nref = c->n;
	memcpy(c->ref, c->pcs, c->n * sizeof c->pcs[0]);
	return c->n >= 1 && c->hash == unwind_hash(c->pcs, c->n);
}

/* Returns the next pseudo-random number of walk W. */
static uint64_t
walk_rand(struct walk *w)
{
	w->rng ^= w->rng << 13;
	w->rng ^= w->rng >> 7;
	w->rng ^= w->rng << 17;
	return w->rng;
}

/* Captures at this point of walk W and counts a difference. */
static void __attribute__((noinline))
walk_check(struct walk *w)
{
	int	same;

	w->captures++;
	w->cmp->max = UNWIND_MAX_DEPTH;
	same = w->compare ? capture_cmp(w->cmp) : capture_only(w->cmp);
	if (!same && w->bad++ == 0)
		cmp_print(w->cmp, "first difference");
	__asm__ volatile("");
}

static void walk_step(struct walk *, int);

/* Two functions of identical frames, so that their callees land at the same sp. */
static void __attribute__((noinline))
walk_a(struct walk *w, int depth)
{
	walk_step(w, depth);
	__asm__ volatile("nop");
}

static void __attribute__((noinline))
walk_b(struct walk *w, int depth)
{
	walk_step(w, depth);
	__asm__ volatile("nop; nop");
}

/* A frame with a VLA of random size: its CFA is rbp-based. */
static void __attribute__((noinline))
walk_vla(struct walk *w, int depth)
{
	size_t		n = 8 + walk_rand(w) % 300;
	volatile char	buf[n];

	buf[0] = 1;
	buf[n - 1] = 2;
	walk_step(w, depth);
	__asm__ volatile("" : : "r"(buf) : "memory");
}

/* A frame with alloca of random size. */
static void __attribute__((noinline))
walk_alloca(struct walk *w, int depth)
{
	char	*p = alloca(1 + walk_rand(w) % 700);

	p[0] = 1;
	walk_step(w, depth);
	__asm__ volatile("" : : "r"(p) : "memory");
}

/* A big fixed frame. */
static void __attribute__((noinline))
walk_big(struct walk *w, int depth)
{
	volatile char	pad[1000];

	pad[0] = (char)depth;
	walk_step(w, depth);
	pad[999] = pad[0];
}

/* One level of walk W: DEPTH more levels of random calls, capturing on the way. */
static void __attribute__((noinline))
walk_step(struct walk *w, int depth)
{
	uint64_t	r;

	if (depth == 0) {
		walk_check(w);
		if (w->jump && walk_rand(w) % 6 == 0)
			longjmp(w->jb, 1);
		return;
	}
	r = walk_rand(w);
	if (r % 5 == 0)
		walk_check(w);
	switch ((r >> 8) % (w->vla ? 7 : 4)) {
	case 0:
		walk_a(w, depth - 1);
		break;
	case 1:
		walk_b(w, depth - 1);
		break;
	case 2:
		/* Another call site of the same function, at the same sp. */
		walk_a(w, depth - 1);
		__asm__ volatile("nop; nop; nop");
		break;
	case 3:
		walk_step(w, depth - 1);
		__asm__ volatile("nop; nop; nop; nop");
		break;
	case 4:
		walk_vla(w, depth - 1);
		break;
	case 5:
		walk_alloca(w, depth - 1);
		break;
	default:
		walk_big(w, depth - 1);
		break;
	}
	if ((r >> 16) % 4 == 0)
		walk_check(w);
	if (w->sig && (r >> 24) % 16 == 0)
		raise(SIGUSR1);
	__asm__ volatile("");
}

/* Runs ITERATIONS walks of random depth up to MAXDEPTH; returns captures that differed. */
static long
walk_run(struct walk *w, long iterations, int maxdepth)
{
	volatile long	i;

	for (i = 0; i < iterations; i++) {
		if (setjmp(w->jb) == 0)
			walk_step(w, 1 + (int)(walk_rand(w) % (uint64_t)maxdepth));
		else
			walk_check(w);	/* right after the longjmp, shallower */
	}
	return w->bad;
}

/* Sets up walk W with buffer C and seed SEED. */
static void
walk_init(struct walk *w, struct cmp *c, uint64_t seed)
{
	memset(w, 0, sizeof *w);
	w->rng = seed | 1;
	w->cmp = c;
	w->compare = 1;
}

/* Plain recursion DEPTH deep, then a capture of at most MAX pcs into C; returns 1 if right. */
static int __attribute__((noinline))
recurse(struct cmp *c, int depth, int max)
{
	int	r;

	if (depth > 0)
		r = recurse(c, depth - 1, max);
	else {
		c->max = max;
		r = capture_cmp(c);
	}
	__asm__ volatile("");
	return r;
}

/*
 * Captures the same stack twice, the second time without reuse of the first; returns 1 if both
 * are right and have the same pcs and hash.  The volatile loop keeps one call site.
 */
static int __attribute__((noinline))
hash_twice(struct cmp *c, int depth)
{
	uintptr_t	first[UNWIND_MAX_DEPTH];
	uint64_t	hash = 0;
	volatile int	j;
	int		n = 0, ok = 1;

	for (j = 0; j < 2; j++) {
		if (j == 1)
			unwind_thread_forget(test_ut);
		ok &= recurse(c, depth, UNWIND_MAX_DEPTH);
		if (j == 0) {
			n = c->n;
			hash = c->hash;
			memcpy(first, c->pcs, n * sizeof first[0]);
		}
	}
	return ok && n == c->n && memcmp(first, c->pcs, n * sizeof first[0]) == 0 &&
	    hash == c->hash;
}

/* SIGUSR1 and SIGPROF handler: captures from inside it, through the signal frame. */
static void
on_signal(int sig)
{
	struct cmp	c;

	(void)sig;
	c.max = UNWIND_MAX_DEPTH;
	__atomic_fetch_add(&sig_captures, 1, __ATOMIC_RELAXED);
	if (!capture_cmp(&c) && __atomic_fetch_add(&sig_bad, 1, __ATOMIC_RELAXED) == 0)
		sig_first_bad = c;
}

/* Installs on_signal for SIG, on the alternate stack if ONSTACK. */
static void
signal_install(int sig, int onstack)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART | (onstack ? SA_ONSTACK : 0);
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

/* A thread of the concurrency test: walks and returns the number of differences. */
static void *
thread_walk(void *arg)
{
	struct walk	w;
	struct cmp	*c = malloc(sizeof *c);
	long		 bad;

	test_thread_init();
	walk_init(&w, c, (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ULL);
	w.vla = 1;
	w.jump = 1;
	bad = walk_run(&w, 4000, 60);
	free(c);
	unwind_thread_free(test_ut);
	test_ut = NULL;
	return (void *)bad;
}

/* A thread that flushes the cache every 100 microseconds while flusher_run is 1. */
static void *
thread_flush(void *arg)
{
	(void)arg;
	while (flusher_run) {
		unwind_flush();
		usleep(100);
	}
	return NULL;
}

/* Callback a dlopen'd object calls at the bottom of its recursion. */
static int
so_callback(void *arg)
{
	return capture_cmp(arg);
}

/* Source of the shared objects; %d is a frame size. */
static const char so_source[] =
	"typedef int (*cb_t)(void *);\n"
	"__attribute__((noinline)) static int so_rec(int d, cb_t cb, void *arg)\n"
	"{\n"
	"	volatile char pad[%d];\n"
	"	int r;\n"
	"	pad[0] = (char)d;\n"
	"	r = d > 0 ? so_rec(d - 1, cb, arg) : cb(arg);\n"
	"	__asm__ volatile(\"\");\n"
	"	return r + pad[0];\n"
	"}\n"
	"int so_entry(int d, cb_t cb, void *arg) { return so_rec(d, cb, arg) + 1; }\n";

/* Builds a shared object with frames of PAD bytes as DIR/NAME; returns 0 on success. */
static int
so_build(const char *dir, const char *name, int pad, char *path, size_t len)
{
	char	 src[4200], cmd[9000];
	FILE	*f;

	snprintf(src, sizeof src, "%s/%s.c", dir, name);
	snprintf(path, len, "%s/%s.so", dir, name);
	if ((f = fopen(src, "w")) == NULL)
		return -1;
	fprintf(f, so_source, pad);
	fclose(f);
	snprintf(cmd, sizeof cmd, "gcc -O2 -shared -fPIC -o '%s' '%s' 2>/dev/null", path, src);
	return system(cmd) == 0 ? 0 : -1;
}

/* Calls so_entry of HANDLE at several depths; returns captures that differed. */
static int
so_run(void *handle, struct cmp *c, void **entry_out)
{
	int	(*entry)(int, int (*)(void *), void *);
	int	 d, bad = 0;

	*(void **)&entry = dlsym(handle, "so_entry");
	*entry_out = *(void **)&entry;
	if (entry == NULL)
		return 1000;
	for (d = 0; d < 40; d++) {
		c->max = UNWIND_MAX_DEPTH;
		c->n = c->nref = 0;
		entry(d % 13, so_callback, c);
		if (!cmp_same(c) && bad++ == 0)
			cmp_print(c, "dlopen'd object");
	}
	return bad;
}

/* The dlopen tests: 3 results. */
static void
test_dlopen(void)
{
	char		 dir[] = "/tmp/unwind-test.XXXXXX", a[4200], b[4200], cmd[9000];
	struct cmp	*c = malloc(sizeof *c);
	void		*ha, *hb, *ea, *eb;
	int		 bad;

	if (mkdtemp(dir) == NULL || so_build(dir, "liba", 40, a, sizeof a) != 0 ||
	    so_build(dir, "libb", 88, b, sizeof b) != 0 || (ha = dlopen(a, RTLD_NOW)) == NULL) {
		tap_skip("dlopen'd object", "cannot build a shared object with gcc");
		tap_skip("dlclose, unwind_flush, capture again", "no shared object");
		tap_skip("another object at the same place after unwind_flush", "no shared object");
		free(c);
		return;
	}
	bad = so_run(ha, c, &ea);
	tap_ok(bad == 0, "dlopen'd object: %d differences", bad);

	dlclose(ha);
	unwind_flush();
	bad = !recurse(c, 7, UNWIND_MAX_DEPTH);
	if (bad)
		cmp_print(c, "after dlclose");
	tap_ok(bad == 0, "dlclose, unwind_flush, capture again");

	if ((hb = dlopen(b, RTLD_NOW)) == NULL) {
		tap_skip("another object at the same place after unwind_flush", "dlopen failed");
	} else {
		unwind_flush();
		/*
		 * libunwind caches by address too: unw_backtrace's per-thread cache is not
		 * flushed by unw_flush_cache, so the reference is taken with unw_step.
		 */
		unw_flush_cache(unw_local_addr_space, 0, 0);
		test_ref_step = 1;
		bad = so_run(hb, c, &eb);
		test_ref_step = 0;
		tap_ok(bad == 0, "another object (%s) after unwind_flush: %d differences",
		    ea == eb ? "same address, other frames" : "other address", bad);
		dlclose(hb);
		unwind_flush();
	}
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	free(c);
}

/* Benchmark: a capture function called at the bottom of the deepstack-like loop. */
typedef int (*bench_fn)(uintptr_t *, int, uint64_t *);

/* The capture under test. */
static bench_fn bench_capture;

/* unwind_capture, as a preload hook would call it. */
static int __attribute__((noinline, optimize("no-omit-frame-pointer")))
bench_ours(uintptr_t *pcs, int max, uint64_t *hash)
{
	return unwind_capture(test_ut, __builtin_frame_address(0), pcs, max, hash);
}

/* unwind_capture without reuse of the previous capture: every frame from the rule cache. */
static int __attribute__((noinline, optimize("no-omit-frame-pointer")))
bench_full(uintptr_t *pcs, int max, uint64_t *hash)
{
	unwind_thread_forget(test_ut);
	return unwind_capture(test_ut, __builtin_frame_address(0), pcs, max, hash);
}

/* unw_backtrace. */
static int __attribute__((noinline))
bench_unw(uintptr_t *pcs, int max, uint64_t *hash)
{
	int	n = unw_backtrace((void **)pcs, max);

	*hash = (uint64_t)n;
	return n;
}

/* Nothing: the cost of the loop itself. */
static int __attribute__((noinline))
bench_none(uintptr_t *pcs, int max, uint64_t *hash)
{
	(void)max;
	pcs[0] = 0;
	*hash = 0;
	__asm__ volatile("" : : : "memory");
	return 1;
}

/* The leaf of the loop, like deepstack's leaf calling malloc. */
static void __attribute__((noinline))
bench_leaf(long i)
{
	uintptr_t	pcs[64];
	uint64_t	hash;
	int		n;

	n = bench_capture(pcs, 64, &hash);
	bench_sink += hash + (uint64_t)n + (uint64_t)i;
}

/* deepstack's d(). */
static void __attribute__((noinline))
bench_d(long i, int depth)
{
	if (depth)
		bench_d(i, depth - 1);
	else
		bench_leaf(i);
	__asm__ volatile("");
}

/* Returns the monotonic clock in nanoseconds. */
static double
bench_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/*
 * Runs OPS iterations of the loop with FN, three times; returns the nanoseconds per iteration of
 * the fastest run (the machine may be shared).
 */
static double
bench_run(bench_fn fn, long ops)
{
	double	t, best = 1e30;
	long	i;
	int	run;

	bench_capture = fn;
	for (i = 0; i < 1000; i++)
		bench_d(i, 5 + (int)(i % 25));
	for (run = 0; run < 3; run++) {
		t = bench_now();
		for (i = 0; i < ops; i++)
			bench_d(i, 5 + (int)(i % 25));
		t = (bench_now() - t) / ops;
		if (t < best)
			best = t;
	}
	return best;
}

/* Returns the nanoseconds of a capture at depth 20 with empty caches, averaged over ROUNDS. */
static double
bench_cold(int rounds)
{
	double	t, total = 0;
	int	i;

	bench_capture = bench_ours;
	for (i = 0; i < rounds; i++) {
		unwind_flush();
		t = bench_now();
		bench_d(i, 20);
		total += bench_now() - t;
	}
	return total / rounds;
}

int
main(void)
{
	struct cmp		*c = malloc(sizeof *c);
	struct walk		 w;
	struct unwind_stats	 st0, st1;
	stack_t			 ss;
	struct itimerval	 it;
	pthread_t		 th[4], fl;
	double			 none, ours, full, unw, cold;
	void			*ret;
	long			 bad, total;
	int			 i, d, status;
	pid_t			 pid;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..%d\n", TEST_PLAN);
	test_thread_init();

	/* Deep recursion of every depth, up and down, and deeper than UNWIND_MAX_DEPTH. */
	bad = 0;
	for (i = 0; i < 3000; i++) {
		d = i < 400 ? i : i < 800 ? 800 - i : 5 + i % 25;
		if (!recurse(c, d, UNWIND_MAX_DEPTH) && bad++ == 0)
			cmp_print(c, "recursion");
	}
	tap_ok(bad == 0, "deep recursion, depth 0..400 and back, then 5..30 cycling: %ld "
	    "differences", bad);

	bad = 0;
	for (i = 0; i < 200; i++) {
		if (!recurse(c, i % 40, 1 + i % 7) && bad++ == 0)
			cmp_print(c, "truncated");
	}
	for (i = 0; i < 20; i++) {
		if (!recurse(c, 300 + i, UNWIND_MAX_DEPTH) && bad++ == 0)
			cmp_print(c, "deeper than the limit");
	}
	tap_ok(bad == 0 && c->n == UNWIND_MAX_DEPTH, "stacks deeper than MAX keep the innermost "
	    "MAX frames and hash them alone");

	/* Shared prefixes: the same depth through other call sites and functions. */
	walk_init(&w, c, 1);
	unwind_thread_stats(test_ut, &st0);
	bad = walk_run(&w, 20000, 40);
	unwind_thread_stats(test_ut, &st1);
	tap_ok(bad == 0, "alternating call paths sharing prefixes: %ld of %ld captures differ "
	    "(%llu reused)", bad, w.captures, (unsigned long long)(st1.reused - st0.reused));

	walk_init(&w, c, 2);
	w.vla = 1;
	bad = walk_run(&w, 20000, 40);
	tap_ok(bad == 0, "alloca, VLAs (rbp-based CFAs) and big frames: %ld of %ld captures "
	    "differ", bad, w.captures);

	walk_init(&w, c, 3);
	w.vla = 1;
	w.jump = 1;
	bad = walk_run(&w, 20000, 60);
	tap_ok(bad == 0, "longjmp out of deep stacks, then capture again: %ld of %ld captures "
	    "differ", bad, w.captures);

	/* Hashes: the same stack gives the same hash with and without reuse. */
	bad = 0;
	for (i = 0; i < 100; i++)
		bad += !hash_twice(c, 10 + i % 5);
	tap_ok(bad == 0, "equal stacks have equal hashes, reused or not");

	/* Threads, with another one flushing the cache all the while. */
	flusher_run = 1;
	pthread_create(&fl, NULL, thread_flush, NULL);
	for (i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, thread_walk, (void *)(uintptr_t)(i + 10));
	total = 0;
	for (i = 0; i < 3; i++) {
		pthread_join(th[i], &ret);
		total += (long)ret;
	}
	flusher_run = 0;
	pthread_join(fl, NULL);
	tap_ok(total == 0, "3 threads capturing while a 4th flushes: %ld differences", total);

	/* Signal handlers: through the signal frame into the interrupted code. */
	signal_install(SIGUSR1, 0);
	unwind_thread_stats(test_ut, &st0);
	sig_captures = sig_bad = 0;
	walk_init(&w, c, 4);
	w.sig = 1;
	bad = walk_run(&w, 3000, 30);
	unwind_thread_stats(test_ut, &st1);
	if (sig_bad)
		cmp_print(&sig_first_bad, "signal handler");
	tap_ok(bad == 0 && sig_bad == 0 && sig_captures > 0 && st1.fallbacks > st0.fallbacks,
	    "malloc from a signal handler: %ld of %ld captures differ, %llu by libunwind", sig_bad,
	    sig_captures, (unsigned long long)(st1.fallbacks - st0.fallbacks));

	ss.ss_sp = malloc(1 << 16);
	ss.ss_size = 1 << 16;
	ss.ss_flags = 0;
	sigaltstack(&ss, NULL);
	signal_install(SIGUSR1, 1);
	sig_captures = sig_bad = 0;
	walk_init(&w, c, 5);
	w.sig = 1;
	w.vla = 1;
	bad = walk_run(&w, 3000, 30);
	if (sig_bad)
		cmp_print(&sig_first_bad, "signal handler on sigaltstack");
	tap_ok(bad == 0 && sig_bad == 0 && sig_captures > 0, "signal handler on an alternate "
	    "stack: %ld of %ld captures differ", sig_bad, sig_captures);

	/* Timer signals land anywhere, also inside unwind_capture. */
	signal_install(SIGPROF, 1);
	sig_captures = sig_bad = 0;
	memset(&it, 0, sizeof it);
	it.it_interval.tv_usec = 200;
	it.it_value.tv_usec = 200;
	setitimer(ITIMER_PROF, &it, NULL);
	walk_init(&w, c, 6);
	w.vla = 1;
	w.compare = 0;
	for (i = 0; i < 20 && sig_captures < 500; i++)
		bad = walk_run(&w, 20000, 40);
	memset(&it, 0, sizeof it);
	setitimer(ITIMER_PROF, &it, NULL);
	signal(SIGPROF, SIG_IGN);
	if (sig_bad)
		cmp_print(&sig_first_bad, "timer signal");
	tap_ok(bad == 0 && sig_bad == 0 && sig_captures > 0, "timer signals at random points: "
	    "%ld of %ld captures from the handler differ, %ld bad hashes", sig_bad, sig_captures,
	    bad);

	/* A shared object built and dlopen'd now, then dlclose'd. */
	test_dlopen();

	/* A forked child. */
	fflush(stdout);
	unwind_fork_prepare();
	pid = fork();
	if (pid == 0) {
		unwind_fork_child();
		walk_init(&w, c, 7);
		w.vla = 1;
		_exit(walk_run(&w, 2000, 30) == 0 ? 0 : 1);
	}
	unwind_fork_parent();
	status = -1;
	if (pid > 0)
		waitpid(pid, &status, 0);
	tap_ok(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "captures in a forked "
	    "child");

	/*
	 * The cost on the deepstack-like loop: figures for the reader, never an assertion (the
	 * machines are noisy); bench/bench.sh measures the whole tracer against its peers.
	 */
	unwind_thread_stats(test_ut, &st0);
	none = bench_run(bench_none, 1000000);
	ours = bench_run(bench_ours, 1000000);
	unwind_thread_stats(test_ut, &st1);
	full = bench_run(bench_full, 1000000);
	unw = bench_run(bench_unw, 1000000);
	cold = bench_cold(200);
	printf("# deepstack-like loop, depth 5..30 cycling, 1M captures of <= 64 frames, best of 3:\n");
	printf("#   loop alone              %7.1f ns/iteration\n", none);
	printf("#   unwind_capture          %7.1f ns/capture (reusing the previous stack)\n",
	    ours - none);
	printf("#   unwind_capture, no reuse%7.1f ns/capture (every frame from the rule cache)\n",
	    full - none);
	printf("#   unw_backtrace           %7.1f ns/capture\n", unw - none);
	printf("#   unwind_capture, cold    %7.0f ns/capture at depth 20 after unwind_flush\n",
	    cold);
#ifndef NDEBUG
	printf("# (built without -DNDEBUG: if unwind.c was too, it checks invariants as it goes)\n");
#endif
	tap_ok(st1.captures - st0.captures > 0 && (st1.reused - st0.reused) * 10 >=
	    (st1.captures - st0.captures) * 9, "deepstack loop reuses the previous stack: %llu of "
	    "%llu captures", (unsigned long long)(st1.reused - st0.reused),
	    (unsigned long long)(st1.captures - st0.captures));
	tap_ok(st1.fallbacks == st0.fallbacks, "deepstack loop never needs libunwind");

	ss.ss_flags = SS_DISABLE;
	sigaltstack(&ss, NULL);
	free(ss.ss_sp);
	unwind_thread_free(test_ut);
	free(c);
	if (tap_count != TEST_PLAN)
		printf("# planned %d tests, ran %d\n", TEST_PLAN, tap_count);
	return tap_failed == 0 && tap_count == TEST_PLAN ? 0 : 1;
}
