/*
 * roots: one block kept alive by each kind of root, each of a size that names the root; none
 * may be reported lost.  And one block whose last pointer is in freed memory: definitely lost.
 *
 *	1001 a global (.bss)			1007 an anonymous mmap region, past a PROT_NONE page
 *	1002 a static (.data)			1008 a thread sleeping in read(): its stack
 *	1003 main's stack			1009 main's dynamic TLS (TLSMOD)
 *	1004 only a register of a spinning thread	1010 the sleeping thread's dynamic TLS
 *	1005 main's static TLS			1011 the stack of a thread blocking every signal in
 *	1006 the sleeping thread's static TLS	     sigwait (heapscope must not signal it)
 *	1013 only freed memory: definitely lost
 *
 * Main takes the API snapshot "roots" once the threads hold their blocks (under valgrind, where
 * <valgrind/memcheck.h> was found, a leak check at the same point), then exits 0; 3 if the
 * signal-blocking thread was given a signal.  No output.
 * Usage: roots [TLSMOD]  (the path of tlsmod.so; without it 1009 and 1010 are not made)
 */
#include <sys/mman.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "leakcheck.h"

#define KEY 0x5a5a5a5a5a5a5a5aul	/* the spinner keeps its pointer xor-ed with this in memory */

void *global_root;				/* 1001, in .bss */
static void *volatile static_root = &global_root;	/* 1002, in .data (initialized) */
static __thread void *volatile tls_root;	/* 1005 in main, 1006 in the sleeper */
static void **volatile region;			/* 3 pages; the middle one PROT_NONE */
static void **(*tls_slot)(void);		/* tlsmod's tlsmod_slot, or NULL */
static int wake[2];				/* the sleeper reads it; nothing is ever written */
static atomic_int ready;			/* threads that hold their blocks */
static atomic_int spin_done;			/* 1: the spinner may stop */
static atomic_int got_signal;			/* a signal the blocker's sigwait took, or 0 */

/* Returns a zeroed block of N bytes; opaque to the optimizer, so it is never dropped. */
static __attribute__((noipa)) void *
make(size_t n)
{
	return calloc(1, n);
}

static void *
sleeper(void *arg)
{
	void *volatile on_stack = make(1008);
	char c;

	(void)arg;
	tls_root = make(1006);
	if (tls_slot != NULL)
		*tls_slot() = make(1010);
	atomic_fetch_add(&ready, 1);
	while (read(wake[0], &c, 1) < 0 && errno == EINTR)
		;
	return on_stack;
}

static void *
blocker(void *arg)
{
	void *volatile on_stack = make(1011);
	sigset_t all;
	int sig = 0;

	(void)arg;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	atomic_fetch_add(&ready, 1);
	sigwait(&all, &sig);
	atomic_store(&got_signal, sig);
	return on_stack;
}

/* Holds a block's address in r13 only, and spins until released. */
static void *
spinner(void *arg)
{
	uintptr_t hidden = (uintptr_t)make(1004) ^ KEY;

	(void)arg;
	scrub();
	{
		register uintptr_t r asm("r13") = hidden;

		__asm__ volatile(
		    "xor %[key], %[r]\n\t"
		    "lock incl %[ready]\n"
		    "1:\tpause\n\t"
		    "cmpl $0, %[done]\n\t"
		    "je 1b\n\t"
		    "xor %[key], %[r]"
		    : [r] "+r"(r), [ready] "+m"(ready)
		    : [key] "r"(KEY), [done] "m"(spin_done)
		    : "memory", "cc");
		hidden = r;
	}
	return (void *)(hidden ^ KEY);
}

/* Leaves a block whose only pointer is in a freed block (past its first 16 bytes, which
 * glibc's tcache overwrites). */
static __attribute__((noipa)) void
lose(void)
{
	void **container = make(64);

	container[3] = make(1013);
	free(container);
}

int
main(int argc, char **argv)
{
	int (*snap)(const char *);
	void *volatile on_stack;
	pthread_t t[3];
	long page = sysconf(_SC_PAGESIZE);
	void *h;
	int rc;

	snap = (int (*)(const char *))dlsym(RTLD_DEFAULT, "heapscope_snapshot");
	if (argc > 1) {
		if ((h = dlopen(argv[1], RTLD_NOW)) == NULL ||
		    (tls_slot = (void **(*)(void))dlsym(h, "tlsmod_slot")) == NULL)
			return 2;
	}
	if (pipe(wake) != 0)
		return 2;
	region = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED || mprotect((char *)region + page, page, PROT_NONE) != 0)
		return 2;
	global_root = make(1001);
	static_root = make(1002);
	on_stack = make(1003);
	tls_root = make(1005);
	region[2 * page / sizeof(void *) + 5] = make(1007);
	if (tls_slot != NULL)
		*tls_slot() = make(1009);
	lose();
	if (pthread_create(&t[0], NULL, sleeper, NULL) != 0 ||
	    pthread_create(&t[1], NULL, blocker, NULL) != 0 ||
	    pthread_create(&t[2], NULL, spinner, NULL) != 0)
		return 2;
	while (atomic_load(&ready) < 3)
		usleep(1000);
	scrub();
	LEAK_CHECK();
	rc = snap != NULL && snap("roots") < 0 ? 90 : 0;
	atomic_store(&spin_done, 1);
	pthread_join(t[2], NULL);
	if (on_stack == NULL)
		return 2;
	return atomic_load(&got_signal) != 0 ? 3 : rc;
}
