/*
 * Stopping the world for the leak scan (scan.c).  The snapshot holds the world lock (no traced
 * block can be freed or added) and calls scan_collect(), which stops every other thread of the
 * process (/proc/self/task) but heapscope's writer.  Each gets the stop signal (SIGRTMAX-3, or
 * the next lower real-time signal whose action is the default, see scan_install) by tgkill; the
 * handler stores the interrupted general registers and its thread pointer in the thread's slot,
 * acknowledges through a futex and waits on another until released.  A thread that blocks the
 * signal, is stopped by a debugger or job control, or has not answered after SCAN_STOP_WAIT
 * seconds is scanned without its registers, from the stack pointer the kernel shows in
 * /proc/self/task/TID/syscall; if even that is missing, its stack is left out and one warning
 * says so.  While threads are stopped heapscope makes system calls and nothing else: no
 * malloc, no lock, no stdio.
 *
 * The slots (scan_slots, mapped once) are filled by each thread's own handler and read by
 * scan-roots.c once scan_stop() has returned.  A handler claims its slot SLOT_SENT ->
 * SLOT_CLAIMED by compare-and-swap, and the stopper gives up on a slow thread the same way
 * (SLOT_SENT -> SLOT_PASSIVE), so that the two never both own a slot.
 *
 * When this runs: scan_stop_init() in the constructor, scan_stop_prepare() before the world
 * lock; scan_stop() and scan_resume() under it, while the threads are being stopped or are
 * stopped (system calls and atomics only); scan_on_stop() in each stopped thread, where it is
 * async-signal-safe.
 */
#include "config.h"

#include <sys/syscall.h>
#include <sys/uio.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "internal.h"
#include "scan.h"

#define SCAN_STOP_WAIT 2		/* seconds to wait for the signalled threads to stop */
#define SCAN_BLOCKED_WAIT 100000000	/* ns to wait for a running thread to unblock the signal */
#define SCAN_SLOTS 65536		/* threads that can be stopped; more: no scan */

static int scan_signal;			/* the stop signal, 0 until installed */
static atomic_int scan_stopping;	/* generation of the stop in progress, 0 when none; the
					   stopped threads wait on it as a futex */
static atomic_int scan_acks;		/* bumped as each thread stops; the stopper waits on it */
static int scan_generation;		/* of the last stop */
struct scan_slot *scan_slots;		/* SCAN_SLOTS slots */
static atomic_size_t scan_nslots;	/* slots in use in this stop */
static uintptr_t scan_main_fs;		/* the main thread's thread pointer */

/* The futex system call on WORD: OP is FUTEX_WAIT_PRIVATE or FUTEX_WAKE_PRIVATE. */
static long
scan_futex(atomic_int *word, int op, int val, const struct timespec *timeout)
{
	return syscall(SYS_futex, word, op, val, timeout, NULL, 0);
}

/* Writes "/proc/self/task/TID/NAME" into BUF (64 bytes) without stdio. */
static void
scan_task_path(char *buf, pid_t tid, const char *name)
{
	char digits[16];
	int n = 0;
	size_t k;

	do
		digits[n++] = '0' + tid % 10;
	while ((tid /= 10) > 0 && n < 15);
	memcpy(buf, "/proc/self/task/", 16);
	k = 16;
	while (n > 0)
		buf[k++] = digits[--n];
	buf[k++] = '/';
	while (*name != '\0' && k < 63)
		buf[k++] = *name++;
	buf[k] = '\0';
}

/* Reads a small file into BUF of CAP bytes, NUL-terminated; returns its length or -1. */
static ssize_t
scan_read_small(const char *path, char *buf, size_t cap)
{
	ssize_t n = 0, r;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	while ((size_t)n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0)
		n += r;
	close(fd);
	buf[n] = '\0';
	return n;
}

/*
 * The stop signal's handler, in the thread being stopped: keeps its registers and thread
 * pointer in its slot, says so, and waits until released.  Async-signal-safe: system calls and
 * atomics only.  A signal that heapscope did not send, or that comes after its stop ended (a
 * thread that unblocked it late), changes nothing.
 */
static void
scan_on_stop(int sig, siginfo_t *si, void *ctx)
{
	const ucontext_t *uc = ctx;
	struct scan_slot *s = NULL;
	int saved = errno, gen, want = SLOT_SENT;
	size_t i, n;
	pid_t tid;

	(void)sig;
	gen = atomic_load(&scan_stopping);
	if (gen == 0 || si->si_code != SI_TKILL || si->si_pid != syscall(SYS_getpid))
		goto out;
	tid = syscall(SYS_gettid);
	n = atomic_load(&scan_nslots);
	for (i = 0; i < n; i++) {
		if (scan_slots[i].tid == tid) {
			s = &scan_slots[i];
			break;
		}
	}
	if (s == NULL)
		goto out;
	if (!atomic_compare_exchange_strong(&s->state, &want, SLOT_CLAIMED))
		goto out;	/* the stopper gave up on it: run on */
	for (i = 0; i < 16; i++)
		s->regs[i] = (uintptr_t)uc->uc_mcontext.gregs[REG_R8 + i];
	s->sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
	s->fs = scan_thread_pointer();
	atomic_store(&s->state, SLOT_STOPPED);
	atomic_fetch_add(&scan_acks, 1);
	scan_futex(&scan_acks, FUTEX_WAKE_PRIVATE, 1, NULL);
	while (atomic_load(&scan_stopping) == gen)
		scan_futex(&scan_stopping, FUTEX_WAIT_PRIVATE, gen, NULL);
out:
	errno = saved;
}

/*
 * Makes sure the stop signal is installed: the first of SIGRTMAX-3 down to SIGRTMAX-7 that is
 * not the snapshot signal and whose action is the default (or already ours).  The program may
 * take it over later; then the next scan moves to another.  Returns 0, or -1 if none is free.
 */
static int
scan_install(void)
{
	struct sigaction sa, old;
	int sig, ours;

	if (scan_signal != 0 && sigaction(scan_signal, NULL, &old) == 0 &&
	    (old.sa_flags & SA_SIGINFO) && old.sa_sigaction == scan_on_stop)
		return 0;
	for (sig = SIGRTMAX - 3; sig >= SIGRTMAX - 7 && sig >= SIGRTMIN; sig--) {
		if (sig == hs_cfg.signal || sigaction(sig, NULL, &old) != 0)
			continue;
		ours = (old.sa_flags & SA_SIGINFO) && old.sa_sigaction == scan_on_stop;
		if (!ours && ((old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL))
			continue;	/* the program's */
		memset(&sa, 0, sizeof sa);
		sa.sa_sigaction = scan_on_stop;
		sa.sa_flags = SA_SIGINFO | SA_RESTART;
		sigfillset(&sa.sa_mask);	/* nothing else runs on a stopped thread */
		if (sigaction(sig, &sa, NULL) != 0)
			continue;
		scan_signal = sig;
		return 0;
	}
	return -1;
}

/* Notes the main thread's thread pointer; called once by the constructor, in the main thread. */
void
scan_stop_init(void)
{
	scan_main_fs = scan_thread_pointer();
}

/*
 * Gets the stop ready, before the world lock: the slots, mapped once, and the stop signal.
 * Returns 0, or -1 with *CAUSE.
 */
int
scan_stop_prepare(char **cause)
{
	if (scan_slots == NULL &&
	    (scan_slots = scan_array(SCAN_SLOTS, sizeof *scan_slots)) == NULL) {
		*cause = "out of memory for the leak scan; snapshots go unscanned";
		return -1;
	}
	if (scan_install() != 0) {
		*cause = "no free real-time signal to stop threads with; snapshots go unscanned";
		return -1;
	}
	return 0;
}

/* In a forked child: the thread that forked is the main thread now. */
void
scan_atfork_child(void)
{
	scan_main_fs = scan_thread_pointer();
	atomic_store(&scan_stopping, 0);
}

/* Adds the threads of /proc/self/task that have no slot yet; returns how many, or -1. */
static int
scan_list_threads(pid_t self, pid_t spare)
{
	char buf[4096];
	const char *name;
	long nread, off;
	size_t i, n;
	pid_t tid;
	int fd, added = 0;

	if ((fd = open("/proc/self/task", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	while ((nread = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
		for (off = 0; off < nread;
		    off += ((const struct dirent64 *)(buf + off))->d_reclen) {
			name = ((const struct dirent64 *)(buf + off))->d_name;
			if (*name < '0' || *name > '9')
				continue;
			for (tid = 0; *name >= '0' && *name <= '9'; name++)
				tid = tid * 10 + (*name - '0');
			if (tid == self || tid == spare)
				continue;
			n = atomic_load(&scan_nslots);
			for (i = 0; i < n && scan_slots[i].tid != tid; i++)
				;
			if (i < n)
				continue;
			if (n == SCAN_SLOTS) {
				close(fd);
				return -1;
			}
			memset(&scan_slots[n], 0, sizeof scan_slots[n]);
			scan_slots[n].tid = tid;
			atomic_store(&scan_slots[n].state, SLOT_NEW);
			atomic_store(&scan_nslots, n + 1);
			added++;
		}
	}
	close(fd);
	return nread < 0 ? -1 : added;
}

/*
 * Reads /proc/self/task/TID/syscall: for a thread asleep in the kernel, its system call number
 * (-1 if asleep outside one), first argument and user stack pointer.  Returns 1, or 0 if it is
 * running (nothing to be had) or the file cannot be read.
 */
static int
scan_task_syscall(pid_t tid, long *nr, uintptr_t *arg1, uintptr_t *sp)
{
	char path[64], text[512];
	const char *p, *last = NULL, *before = NULL, *second = NULL;
	int tokens = 0;

	scan_task_path(path, tid, "syscall");
	if (scan_read_small(path, text, sizeof text) <= 0 || text[0] == 'r')
		return 0;	/* "running" */
	/* "NR ARG1 ... ARG6 SP PC", or "-1 SP PC". */
	for (p = text; *p != '\0' && *p != '\n'; p++) {
		if (p == text || p[-1] == ' ') {
			if (++tokens == 2)
				second = p;
			before = last;
			last = p;
		}
	}
	if (tokens < 3)
		return 0;
	*nr = text[0] == '-' ? -1 : 0;
	for (p = text[0] == '-' ? text + 1 : text; *p >= '0' && *p <= '9'; p++)
		*nr = *nr * 10 + (*p - '0');
	*arg1 = scan_hex(&second);
	*sp = scan_hex(&before);
	return 1;
}

/*
 * Sends the stop signal to the thread of slot S, unless it is gone, cannot run its handler
 * (stopped by a debugger or job control), blocks the signal, or waits for it in sigwait() and
 * the like, which would take it for the program's (the kernel unblocks the awaited signals for
 * the wait, so its mask does not show them).  Sets the slot's state: SLOT_PASSIVE (with its
 * stack pointer) for a thread that will not stop; it stays SLOT_NEW if it blocks the signal
 * but runs, so that neither is to be had yet (a thread being born blocks every signal a while).
 */
static void
scan_signal_thread(struct scan_slot *s)
{
	char path[64], status[4096];
	struct iovec local, remote;
	uint64_t blocked = 0, awaited = 0, bit = 1ull << (scan_signal - 1);
	uintptr_t arg1, sp;
	const char *p;
	char state = 'R';
	long nr;

	scan_task_path(path, s->tid, "status");
	if (scan_read_small(path, status, sizeof status) < 0) {
		atomic_store(&s->state, SLOT_GONE);
		return;
	}
	if ((p = strstr(status, "\nState:")) != NULL) {
		for (p += 7; *p == ' ' || *p == '\t'; p++)
			;
		state = *p;
	}
	if ((p = strstr(status, "\nSigBlk:")) != NULL) {
		for (p += 8; *p == ' ' || *p == '\t'; p++)
			;
		blocked = scan_hex(&p);
	}
	if (state == 'Z' || state == 'X') {
		atomic_store(&s->state, SLOT_GONE);
		return;
	}
	if (state == 'T' || state == 't' || (blocked & bit)) {
		if (scan_task_syscall(s->tid, &nr, &arg1, &s->sp))
			atomic_store(&s->state, SLOT_PASSIVE);
		return;
	}
	if (state != 'R' && scan_task_syscall(s->tid, &nr, &arg1, &sp) &&
	    nr == SYS_rt_sigtimedwait) {
		s->sp = sp;
		local.iov_base = &awaited;
		local.iov_len = sizeof awaited;
		remote.iov_base = (void *)arg1;
		remote.iov_len = sizeof awaited;
		/* Unreadable: assume the worst. */
		if (syscall(SYS_process_vm_readv, (pid_t)syscall(SYS_getpid), &local, 1UL,
		    &remote, 1UL, 0UL) != (long)sizeof awaited || (awaited & bit)) {
			atomic_store(&s->state, SLOT_PASSIVE);
			return;
		}
	}
	atomic_store(&s->state, SLOT_SENT);
	if (syscall(SYS_tgkill, (pid_t)syscall(SYS_getpid), s->tid, scan_signal) != 0)
		atomic_store(&s->state, errno == ESRCH ? SLOT_GONE : SLOT_PASSIVE);
}

/* Waits until every signalled thread has stopped, or DEADLINE passes; 1 if all stopped. */
static int
scan_wait(const struct timespec *deadline)
{
	struct timespec now, step;
	size_t i, n;
	int acks, waiting, state;
	long ns;

	for (;;) {
		acks = atomic_load(&scan_acks);
		n = atomic_load(&scan_nslots);
		for (i = waiting = 0; i < n; i++) {
			state = atomic_load(&scan_slots[i].state);
			waiting += state == SLOT_SENT || state == SLOT_CLAIMED;
		}
		if (waiting == 0)
			return 1;
		clock_gettime(CLOCK_MONOTONIC, &now);
		ns = (deadline->tv_sec - now.tv_sec) * 1000000000L +
		    (deadline->tv_nsec - now.tv_nsec);
		if (ns <= 0)
			return 0;
		step.tv_sec = 0;
		step.tv_nsec = ns < 10000000 ? ns : 10000000;
		scan_futex(&scan_acks, FUTEX_WAIT_PRIVATE, acks, &step);
	}
}

/* Lets the stopped threads run again. */
void
scan_resume(void)
{
	atomic_store(&scan_stopping, 0);
	scan_futex(&scan_stopping, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
}

/*
 * Stops every thread of the process but the caller and SPARE (heapscope's writer, 0 if none).
 * Threads that appear meanwhile are stopped too; threads that cannot be stopped by the deadline
 * are left SLOT_PASSIVE, with the stack pointer the kernel shows if any.  Returns 0 with the
 * slots of the stop in scan_slots[0..*NSLOTS), or -1 (threads cannot be listed, or too many):
 * then none is left stopped.
 */
int
scan_stop(pid_t spare, size_t *nslots)
{
	struct timespec start, deadline, soon, now;
	pid_t self = syscall(SYS_gettid);
	size_t i, n;
	int round, added, pending, all, want;
	long ns;

	if (++scan_generation <= 0)
		scan_generation = 1;
	atomic_store(&scan_nslots, 0);
	atomic_store(&scan_acks, 0);
	atomic_store(&scan_stopping, scan_generation);
	clock_gettime(CLOCK_MONOTONIC, &start);
	deadline = start;
	deadline.tv_sec += SCAN_STOP_WAIT;
	for (round = 0;; round++) {
		if ((added = scan_list_threads(self, spare)) < 0) {
			scan_resume();
			return -1;
		}
		n = atomic_load(&scan_nslots);
		clock_gettime(CLOCK_MONOTONIC, &now);
		ns = (now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec);
		for (i = pending = 0; i < n; i++) {
			if (atomic_load(&scan_slots[i].state) != SLOT_NEW)
				continue;
			scan_signal_thread(&scan_slots[i]);
			/* Still blocking it after a while: it means to (a busy loop, say). */
			want = SLOT_NEW;
			if (ns >= SCAN_BLOCKED_WAIT)
				atomic_compare_exchange_strong(&scan_slots[i].state, &want,
				    SLOT_PASSIVE);
			pending += atomic_load(&scan_slots[i].state) == SLOT_NEW;
		}
		soon = now;
		if ((soon.tv_nsec += 2000000) >= 1000000000) {
			soon.tv_sec++;
			soon.tv_nsec -= 1000000000;
		}
		all = scan_wait(pending ? &soon : &deadline);
		/* Done when a second look at the task list found nobody new. */
		if (all && pending == 0 && added == 0 && round > 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > deadline.tv_sec ||
		    (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec))
			break;
	}
	*nslots = n = atomic_load(&scan_nslots);
	for (i = 0; i < n; i++) {
		struct scan_slot *s = &scan_slots[i];
		uintptr_t arg1, sp;
		long nr;

		want = SLOT_SENT;
		/* Too slow: from now on its handler finds its slot taken and returns at once. */
		if (!atomic_compare_exchange_strong(&s->state, &want, SLOT_PASSIVE)) {
			while (atomic_load(&s->state) == SLOT_CLAIMED)
				__builtin_ia32_pause();	/* a few stores from stopping */
		}
		want = SLOT_NEW;
		atomic_compare_exchange_strong(&s->state, &want, SLOT_PASSIVE);
		if (atomic_load(&s->state) != SLOT_PASSIVE)
			continue;
		/* It may have moved on: the latest stack pointer, or the last known. */
		if (scan_task_syscall(s->tid, &nr, &arg1, &sp))
			s->sp = sp;
		s->fs = s->tid == syscall(SYS_getpid) ? scan_main_fs : 0;
	}
	return 0;
}

