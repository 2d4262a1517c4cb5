/*
 * Start-up of the preload: the real allocator functions, the bootstrap arena, the settings from
 * the environment, the clock, and the constructor that turns tracing on.
 *
 * The real functions are found with dlsym(RTLD_NEXT).  dlsym itself may call calloc or malloc
 * before they are known; those calls are served from a static bootstrap arena, a bump allocator
 * whose blocks are never reused and which free() and realloc() recognise by address.
 *
 * The clock counts time-stamp-counter ticks when the CPU has an invariant TSC (a few cycles to
 * read, against ~20 ns for clock_gettime), converted to nanoseconds with a factor measured at
 * start-up; otherwise CLOCK_MONOTONIC nanoseconds, with a factor of 1.
 */
#include "config.h"

#include <sys/mman.h>
#include <cpuid.h>
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "internal.h"
#include "unwind.h"

_Static_assert(HS_MAX_DEPTH <= UNWIND_MAX_DEPTH, "the unwinder keeps fewer frames");

_Atomic int hs_state = HS_BOOT;
struct hs_config hs_cfg = { .depth = 64, .signal = SIGUSR2, .leaks = 1 };
pid_t hs_pid;
uint64_t hs_start_ticks;
double hs_start_time;

void *(*real_malloc)(size_t);
void (*real_free)(void *);
void *(*real_calloc)(size_t, size_t);
void *(*real_realloc)(void *, size_t);
int (*real_posix_memalign)(void **, size_t, size_t);
void *(*real_aligned_alloc)(size_t, size_t);
void *(*real_memalign)(size_t, size_t);
void *(*real_valloc)(size_t);
void *(*real_pvalloc)(size_t);
size_t (*real_malloc_usable_size)(void *);
void *(*real_mmap)(void *, size_t, int, int, int, off_t);
int (*real_munmap)(void *, size_t);
void *(*real_mremap)(void *, size_t, size_t, int, ...);
void *(*real_dlopen)(const char *, int);
int (*real_dlclose)(void *);
void (*real__exit)(int);

/* The bootstrap arena: BOOT_SIZE bytes handed out in order, each block preceded by its size. */
#define BOOT_SIZE (256 * 1024)
static char boot_arena[BOOT_SIZE] __attribute__((aligned(64)));
static atomic_size_t boot_used;

/* Returns SIZE bytes aligned to ALIGN (a power of two, >= 16) from the arena; NULL if full. */
void *
boot_alloc(size_t size, size_t align)
{
	size_t old, start, end;

	if (align < 16)
		align = 16;
	old = atomic_load(&boot_used);
	do {
		start = (old + 16 + align - 1) & ~(align - 1);
		end = start + size;
		if (end < start || end > BOOT_SIZE)
			return NULL;
	} while (!atomic_compare_exchange_weak(&boot_used, &old, end));
	memcpy(boot_arena + start - sizeof size, &size, sizeof size);
	return boot_arena + start;
}

/* Returns 1 if P came from boot_alloc(). */
int
boot_owns(const void *p)
{
	return (const char *)p >= boot_arena && (const char *)p < boot_arena + BOOT_SIZE;
}

/* Returns the size of the arena block P. */
size_t
boot_size(const void *p)
{
	size_t size;

	memcpy(&size, (const char *)p - sizeof size, sizeof size);
	return size;
}

/* Looks up NAME after this library; stops tracing if it is missing. */
static void *
boot_next(const char *name)
{
	void *p;

	p = dlsym(RTLD_NEXT, name);
	if (p == NULL)
		log_fail("cannot find the real %s", name);
	return p;
}

/*
 * Finds the real functions.  Safe to call again from any thread: every pointer is written with
 * the same value.
 */
void
boot_symbols(void)
{
	static __thread int HS_TLS inside;

	if (inside)
		return;
	inside = 1;
	real_calloc = boot_next("calloc");
	real_malloc = boot_next("malloc");
	real_free = boot_next("free");
	real_realloc = boot_next("realloc");
	real_posix_memalign = boot_next("posix_memalign");
	real_aligned_alloc = boot_next("aligned_alloc");
	real_memalign = boot_next("memalign");
	real_valloc = boot_next("valloc");
	real_pvalloc = boot_next("pvalloc");
	real_malloc_usable_size = boot_next("malloc_usable_size");
	real_mmap = boot_next("mmap");
	real_munmap = boot_next("munmap");
	real_mremap = boot_next("mremap");
	real_dlopen = boot_next("dlopen");
	real_dlclose = boot_next("dlclose");
	real__exit = boot_next("_exit");
	inside = 0;
}

static int clock_tsc;		/* 1: ticks are TSC cycles; 0: CLOCK_MONOTONIC ns */
static double clock_ns_per_tick = 1.0;	/* ns = ticks * clock_ns_per_tick */
static uint64_t clock_mult;	/* the same in 32.32 fixed point, for the hot path */

static uint64_t
clock_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

/* Returns the time now, in ticks. */
uint64_t
clock_ticks(void)
{
	if (HS_LIKELY(clock_tsc))
		return __rdtsc();
	return clock_mono_ns();
}

/* Converts a number of ticks to nanoseconds. */
uint64_t
clock_ticks_to_ns(uint64_t ticks)
{
	return (uint64_t)(((unsigned __int128)ticks * clock_mult) >> 32);
}

/* Converts a number of ticks to seconds. */
double
clock_ticks_to_sec(uint64_t ticks)
{
	return ticks * clock_ns_per_tick * 1e-9;
}

/* Returns the Unix time in seconds. */
double
clock_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Chooses the clock and, for the TSC, measures its rate against CLOCK_MONOTONIC for 100 us. */
static void
clock_init(void)
{
	unsigned a, b, c, d;
	uint64_t t0, t1, c0, c1;

	if (__get_cpuid(0x80000007, &a, &b, &c, &d) && (d & (1u << 8))) {
		t0 = clock_mono_ns();
		c0 = __rdtsc();
		do
			t1 = clock_mono_ns();
		while (t1 - t0 < 100000);
		c1 = __rdtsc();
		if (c1 > c0) {
			clock_tsc = 1;
			clock_ns_per_tick = (double)(t1 - t0) / (double)(c1 - c0);
		}
	}
	clock_mult = (uint64_t)(clock_ns_per_tick * 4294967296.0);
	hs_start_ticks = clock_ticks();
	hs_start_time = clock_now();
}

/* Reads an environment variable, ignoring it in set-user-ID programs. */
static const char *
boot_env(const char *name)
{
	const char *s = secure_getenv(name);

	return s != NULL && *s != '\0' ? s : NULL;
}

/* Parses a signal name (USR2, SIGUSR2) or number; -1 if invalid, 0 for "none"/"0". */
static int
boot_signal(const char *s)
{
	static const struct {
		const char *name;
		int number;
	} names[] = {
		{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "USR1", SIGUSR1 },
		{ "USR2", SIGUSR2 }, { "TERM", SIGTERM }, { "ALRM", SIGALRM }, { "PROF", SIGPROF },
		{ "WINCH", SIGWINCH }, { "URG", SIGURG }, { "PWR", SIGPWR }, { "TTIN", SIGTTIN },
		{ "TTOU", SIGTTOU }, { "VTALRM", SIGVTALRM }, { "XCPU", SIGXCPU }, { "XFSZ", SIGXFSZ }
	};
	char *end;
	long n;
	size_t i;

	if (strcmp(s, "none") == 0)
		return 0;
	if (strncmp(s, "SIG", 3) == 0)
		s += 3;
	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strcmp(s, names[i].name) == 0)
			return names[i].number;
	}
	if (strncmp(s, "RTMIN+", 6) == 0) {
		n = strtol(s + 6, &end, 10);
		if (*end == '\0' && end != s + 6 && n >= 0 && SIGRTMIN + n <= SIGRTMAX)
			return SIGRTMIN + n;
		return -1;
	}
	errno = 0;
	n = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || n < 0 || n > SIGRTMAX || n == SIGKILL ||
	    (n > SIGSYS && n < SIGRTMIN) || *s < '0' || *s > '9' ||
	    n == SIGSTOP || n == SIGSEGV || n == SIGBUS || n == SIGILL || n == SIGFPE)
		return -1;
	return n;
}

/* Reads NAME, if set, into *OUT: a number from 1 to MAX.  Returns 0, or -1 having said why not. */
static int
boot_number(const char *name, long max, int *out)
{
	const char *s = boot_env(name);
	char *end;
	long n;

	if (s == NULL)
		return 0;
	errno = 0;
	n = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || n < 1 || n > max) {
		log_fail("%s \"%.40s\": not a number from 1 to %ld", name, s, max);
		return -1;
	}
	*out = n;
	return 0;
}

/* Reads NAME, if set, into *OUT: 0 or 1.  Returns 0, or -1 having said why not. */
static int
boot_flag(const char *name, int *out)
{
	const char *s = boot_env(name);

	if (s == NULL)
		return 0;
	if (strcmp(s, "0") != 0 && strcmp(s, "1") != 0) {
		log_fail("%s \"%.40s\": not 0 or 1", name, s);
		return -1;
	}
	*out = s[0] == '1';
	return 0;
}

/* Reads the settings; returns 0, or -1 having said what is wrong. */
static int
boot_config(void)
{
	const char *s, *prog;
	char *end, cwd[PATH_MAX], name[PATH_MAX];
	size_t i;
	double d;
	int python = 1;

	if (boot_number("HEAPSCOPE_DEPTH", HS_MAX_DEPTH, &hs_cfg.depth) != 0)
		return -1;
	if ((s = boot_env("HEAPSCOPE_SIGNAL")) != NULL) {
		if ((hs_cfg.signal = boot_signal(s)) < 0) {
			log_fail("HEAPSCOPE_SIGNAL \"%.40s\": not a signal name or number", s);
			return -1;
		}
	}
	if ((s = boot_env("HEAPSCOPE_INTERVAL")) != NULL) {
		errno = 0;
		d = strtod(s, &end);
		if (errno != 0 || *end != '\0' || end == s || !(d >= 0) || d > 1e9) {
			log_fail("HEAPSCOPE_INTERVAL \"%.40s\": not a number of seconds", s);
			return -1;
		}
		hs_cfg.interval = d;
	}
	py.depth = 16;
	py.native_depth = 2;
	if (boot_number("HEAPSCOPE_PY_DEPTH", PY_MAX_DEPTH, &py.depth) != 0 ||
	    boot_number("HEAPSCOPE_PY_NATIVE_DEPTH", HS_MAX_DEPTH, &py.native_depth) != 0 ||
	    boot_flag("HEAPSCOPE_PYTHON", &python) != 0 ||
	    boot_flag("HEAPSCOPE_LEAKS", &hs_cfg.leaks) != 0)
		return -1;
	if (!python)
		py.depth = -1;
#ifndef NDEBUG
	/* The fault switch of mem.c, for tests: not for users, so in no manual page. */
	if (boot_number("HEAPSCOPE_FAULT_MAP", INT_MAX, &hs_cfg.fault_map) != 0 ||
	    boot_flag("HEAPSCOPE_FAULT_PERSIST", &hs_cfg.fault_persist) != 0)
		return -1;
#endif

	if ((s = boot_env("HEAPSCOPE_OUTPUT")) != NULL)
		hs_cfg.explicit_output = 1;
	else {
		/* heapscope.<program>.%p.db: the name with no '%' so it cannot expand. */
		prog = program_invocation_short_name;
		for (i = 0; prog[i] != '\0' && i < 200; i++)
			cwd[i] = prog[i] == '%' ? '_' : prog[i];
		cwd[i] = '\0';
		snprintf(name, sizeof name, "heapscope.%s.%%p.db", i > 0 ? cwd : "program");
		s = name;
	}
	if (s[0] == '/') {
		if (strlen(s) >= sizeof hs_cfg.output)
			goto too_long;
		strcpy(hs_cfg.output, s);
	} else {
		if (getcwd(cwd, sizeof cwd) == NULL) {
			log_fail("cannot find the working directory: %s", strerror(errno));
			return -1;
		}
		if ((size_t)snprintf(hs_cfg.output, sizeof hs_cfg.output, "%s/%s", cwd, s) >=
		    sizeof hs_cfg.output)
			goto too_long;
	}
	return 0;
too_long:
	log_fail("HEAPSCOPE_OUTPUT: path too long");
	return -1;
}

/* Returns 1 if heapscope run asked for another process to be traced, not this one. */
static int
boot_dormant(void)
{
	const char *s = boot_env("HEAPSCOPE_TARGET_PID");

	return s != NULL && strtol(s, NULL, 10) != (long)hs_pid;
}

/*
 * The constructor: reads the settings and starts tracing.  Allocations made before it (by the
 * constructors of the libraries this one depends on) are not traced.
 */
__attribute__((constructor)) static void
boot_init(void)
{
	boot_symbols();
	if (atomic_load(&hs_state) != HS_BOOT)
		return;
	hs_pid = getpid();
	if (boot_dormant()) {
		atomic_store(&hs_state, HS_OFF);
		return;
	}
	clock_init();
	if (boot_config() != 0)
		return;
	py_init();
	thread_init();
	snap_init();
	if (atomic_load(&hs_state) == HS_BOOT)
		atomic_store(&hs_state, HS_ON);
}
