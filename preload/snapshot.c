/*
 * Snapshots: when they are taken and what they hold.
 *
 * Triggers: heapscope_snapshot() (in the calling thread), exit (an atexit handler registered
 * before main, so it runs after the program's own handlers and static destructors; also _exit),
 * a signal (HEAPSCOPE_SIGNAL, SIGUSR2 by default) and a timer (HEAPSCOPE_INTERVAL).  A signal
 * handler may not take locks or allocate, so the signal and the timer are served by a writer
 * thread of heapscope's own: the handler only posts a semaphore.  SIGTERM, when the program
 * leaves it at its default action, also gets an exit snapshot: the handler
 * asks the writer thread for one, waits for it at most a few seconds (the interrupted code may
 * hold a lock the snapshot needs: waiting for ever could deadlock), then dies of the signal.
 *
 * Taking a snapshot: under snap_lock (one at a time), take the world lock (the registry lock
 * and every shard lock), sum every thread's site counters per stack, copy the live blocks for a
 * full snapshot and the mmap regions, release, and write it all to the database outside the
 * world lock.  A full snapshot also scans for leaks (scan.c) unless HEAPSCOPE_LEAKS=0: the other
 * threads are stopped under the world lock while the roots and the blocks are read, and the
 * classification runs after the world lock is released.  The blocks of a full snapshot are
 * sorted by address either way.
 */
#include "config.h"

#include <sys/syscall.h>
#include <errno.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "unwind.h"

static pthread_mutex_t snap_lock = PTHREAD_MUTEX_INITIALIZER;
static sem_t snap_wake;			/* posted by the signal handler (and for exit requests) */
static sem_t snap_done;			/* posted by the writer when an exit request is served */
static atomic_int snap_exit_wanted;	/* 1 when a fatal signal asked for the exit snapshot */
static int snap_writer_running;	/* 1 while the writer thread exists in this process */
static atomic_int snap_busy_warned;	/* 1 once a locked database made us skip a snapshot */
static uint32_t snap_written_gen;	/* site_gen of the last snapshot written, 0 for none */
static _Atomic pid_t snap_writer_tid;	/* kernel tid of the writer thread, 0 if none: the leak
					   scan neither stops nor scans it */

static const char *snap_exit_trigger = HS_TRIGGER_EXIT; /* the process's exit snapshot's:
					   final once a CPython's finalization had one */
static int snap_ending;			/* 1 once the process's exit snapshot began: tracing
					   stops after it, so it is written in place */

#define SNAP_FATAL_WAIT 5	/* seconds a fatal signal waits for the exit snapshot */
#define SNAP_TICK_NS 100000000	/* between the writer thread's ticks (snap_tick) */

/*
 * The sites that changed since the last snapshot written, being found (snap_changes): a bit per
 * stack id, and for each word of bits the number of bits set in the words before it, so that a
 * changed site's place in snap_data.sites is the rank of its bit.
 */
struct snap_changes {
	struct snap_data *d;		/* the snapshot */
	uint64_t *bits;			/* bit id: stack id changed */
	uint32_t *rank;			/* rank[w]: bits set in bits[0..w) */
	size_t nwords;			/* words in bits and rank */
	uint32_t cursor;		/* inplace: the stack id snap_site_next() returned last */
	struct snap_site *site;		/* inplace: the site snap_site_next() is summing */
	uint64_t hist[HS_HIST];		/* inplace: its histogram, summed over threads */
	uint64_t pairs[HS_HIST];	/* inplace: its pairs, made of hist */
};
static struct snap_changes snap_x;	/* of the snapshot being taken, under snap_lock */

/* Returns the place of changed stack ID in the snapshot's sites. */
static inline size_t
snap_rank(const struct snap_changes *x, uint32_t id)
{
	uint64_t below = (1ull << (id % 64)) - 1;

	return x->rank[id / 64] + __builtin_popcountll(x->bits[id / 64] & below);
}

/* Marks the sites whose counters in thread T changed, and adds all of them to the totals. */
static void
snap_mark(struct thread *t, void *arg)
{
	struct snap_changes *x = arg;
	struct snap_data *d = x->d;
	const struct site_counts *c;
	uint32_t i, id;

	for (i = 0; i < t->site_cap; i++) {
		if ((id = t->site_slots[i].stack) == 0 || id > d->nstacks)
			continue;
		c = &t->site_vals[t->site_slots[i].index];
		d->total_allocs += c->s.allocs;
		d->total_frees += c->s.frees;
		d->live_blocks += c->s.allocs - c->s.frees;
		d->live_bytes += c->s.alloc_bytes - c->s.freed_bytes;
		if (c->gen > snap_written_gen)
			x->bits[id / 64] |= 1ull << (id % 64);
	}
}

/* Returns the changed site of the snapshot that T's counters in slot I count, or NULL. */
static inline struct snap_site *
snap_site_of(struct snap_changes *x, const struct thread *t, uint32_t i)
{
	uint32_t id = t->site_slots[i].stack;

	if (id == 0 || id > x->d->nstacks || !(x->bits[id / 64] >> (id % 64) & 1))
		return NULL;
	return &x->d->sites[snap_rank(x, id)];
}

/* Adds thread T's counts of the changed sites into the snapshot's, and counts their pairs. */
static void
snap_sum(struct thread *t, void *arg)
{
	uint64_t pairs[HS_HIST];
	struct snap_site *site;
	uint32_t i;

	for (i = 0; i < t->site_cap; i++) {
		if ((site = snap_site_of(arg, t, i)) == NULL)
			continue;
		site_sums_add(&site->s, &t->site_vals[t->site_slots[i].index].s);
		site->npairs += thread_hist_pairs(t, &t->site_vals[t->site_slots[i].index], pairs);
	}
}

/* Copies thread T's histogram pairs of the changed sites to the snapshot's pairs. */
static void
snap_pairs(struct thread *t, void *arg)
{
	struct snap_changes *x = arg;
	struct snap_site *site;
	uint32_t i;

	for (i = 0; i < t->site_cap; i++) {
		if ((site = snap_site_of(x, t, i)) != NULL)
			site->npairs += thread_hist_pairs(t, &t->site_vals[t->site_slots[i].index],
			    x->d->pairs + site->first + site->npairs);
	}
}

/*
 * Fills D's totals and marks in snap_x the sites whose counters changed since the last snapshot
 * written; the caller holds the world lock.  Unless D is inplace, also fills D->sites with them,
 * summed over threads, and their histograms' pairs.  Returns 0, or -1 if out of memory.
 */
static int
snap_changes(struct snap_data *d)
{
	struct snap_changes *x = &snap_x;
	size_t w, k, n = 0;

	assert(table_world_held());
	memset(x, 0, sizeof *x);
	x->d = d;
	x->nwords = ((size_t)d->nstacks + 64) / 64;
	d->changes = x;
	x->bits = mem_map(x->nwords * sizeof *x->bits);
	x->rank = mem_map(x->nwords * sizeof *x->rank);
	if (x->bits == NULL || x->rank == NULL)
		return -1;
	thread_foreach(snap_mark, x);
	for (w = 0; w < x->nwords; w++) {
		x->rank[w] = n;
		n += __builtin_popcountll(x->bits[w]);
	}
	d->nsites = n;
	if (d->inplace)
		return 0;
	if (n > 0 && (d->sites = mem_map(n * sizeof *d->sites)) == NULL)
		return -1;
	for (w = k = 0; w < x->nwords; w++) {
		for (uint64_t b = x->bits[w]; b != 0; b &= b - 1)
			d->sites[k++].stack = w * 64 + __builtin_ctzll(b);
	}
	thread_foreach(snap_sum, x);
	/* Each site's pairs after the ones before it; then fill them, counting again. */
	for (k = 0; k < n; k++) {
		d->sites[k].first = d->npairs;
		d->npairs += d->sites[k].npairs;
		d->sites[k].npairs = 0;
	}
	if (d->npairs > 0 && (d->pairs = mem_map(d->npairs * sizeof *d->pairs)) == NULL)
		return -1;
	thread_foreach(snap_pairs, x);
	return 0;
}

/* Adds thread T's counters of the site being summed (inplace) into it. */
static void
snap_one(struct thread *t, void *arg)
{
	struct snap_changes *x = arg;
	struct site_counts *c;
	int k, n;

	if ((c = thread_site_find(t, x->site->stack)) == NULL)
		return;
	site_sums_add(&x->site->s, &c->s);
	n = thread_hist_pairs(t, c, x->pairs);
	for (k = 0; k < n; k++)
		x->hist[x->pairs[k] >> HS_PAIR_SHIFT] += x->pairs[k] & HS_PAIR_COUNT;
}

/*
 * Fills *SITE with the next of D's changed sites, in stack order, and *PAIRS with its
 * histogram's pairs (site->npairs of them, good until the next call); returns 1, or 0 when
 * there is none left.  Inplace, they are summed from the counters, under the world lock.
 */
int
snap_site_next(struct snap_data *d, struct snap_site *site, const uint64_t **pairs)
{
	struct snap_changes *x = d->changes;
	uint64_t b;
	uint32_t id;
	size_t w;
	int k;

	if (d->next_site == d->nsites)
		return 0;
	d->next_site++;
	if (!d->inplace) {
		*site = d->sites[d->next_site - 1];
		*pairs = d->pairs + site->first;
		return 1;
	}
	assert(table_world_held());
	/* The first bit set after the cursor. */
	id = x->cursor + 1;
	w = id / 64;
	b = x->bits[w] & ~((1ull << (id % 64)) - 1);
	while (b == 0)
		b = x->bits[++w];
	id = w * 64 + __builtin_ctzll(b);
	x->cursor = id;
	memset(site, 0, sizeof *site);
	memset(x->hist, 0, sizeof x->hist);
	site->stack = id;
	x->site = site;
	thread_foreach(snap_one, x);
	for (k = 0; k < HS_HIST; k++) {
		if (x->hist[k] != 0)
			x->pairs[site->npairs++] = (uint64_t)k << HS_PAIR_SHIFT | x->hist[k];
	}
	*pairs = x->pairs;
	return 1;
}

#ifndef NDEBUG
/* Debug builds: returns 1 if the calling thread holds snap_lock, as a snapshot's writer does. */
int
snap_held(void)
{
	return mutex_held(&snap_lock);
}
#endif

/* Releases the world lock of an inplace snapshot D, once it is written. */
static void
snap_unlock(struct snap_data *d)
{
	if (!d->inplace)
		return;
	table_unlock_all();
	pthread_mutex_unlock(&thread_registry_lock);
}

/* Frees what snap_collect() mapped. */
static void
snap_release(struct snap_data *d)
{
	if (!d->inplace)
		mem_unmap(d->sites, d->nsites * sizeof *d->sites);
	mem_unmap(d->pairs, d->npairs * sizeof *d->pairs);
	mem_unmap(d->peak, d->npeak * sizeof *d->peak);
	if (d->changes != NULL) {
		mem_unmap(d->changes->bits, d->changes->nwords * sizeof *d->changes->bits);
		mem_unmap(d->changes->rank, d->changes->nwords * sizeof *d->changes->rank);
	}
	mem_unmap(d->blocks, d->nblocks_cap * sizeof *d->blocks);
	mem_unmap(d->maps, d->nmaps * sizeof *d->maps);
	mem_unmap(d->tids, ((size_t)d->nthreads + 1) * sizeof *d->tids);
	scan_release(d);
}

/*
 * Fills D from the live state under the world lock, SCAN: with a leak scan; returns 0, or -1
 * with *CAUSE.  When the calling thread is the only live one, holding the world lock stops no
 * one; at exit, the program is done, and its other threads, if any, can wait.  Then D is
 * inplace: the lock stays held until snap_unlock(), after D is written, so that the store reads
 * the changed sites from the counters instead of a copy of them all (which the exit snapshot
 * of a large program would make at its highest memory: 28 MB on CPython's tests).
 */
static int
snap_collect(struct snap_data *d, int scan, char **cause)
{
	uint32_t i;
	size_t n;

	pthread_mutex_lock(&thread_registry_lock);
	table_lock_all();
	d->now = clock_ticks();
	d->nstacks = stack_count();
	d->nthreads = thread_count;
	d->gen = atomic_load(&site_gen);
	d->inplace = snap_ending || thread_alone();
	d->tids = mem_map(((size_t)d->nthreads + 1) * sizeof *d->tids);
	if (d->full) {
		d->nblocks_cap = table_count();
		if (d->nblocks_cap != 0)
			d->blocks = mem_map(d->nblocks_cap * sizeof *d->blocks);
	}
	if (d->tids == NULL || (d->nblocks_cap != 0 && d->blocks == NULL) ||
	    snap_changes(d) != 0 || peak_collect(d, 0) != 0) {
		d->inplace = 0;
		table_unlock_all();
		pthread_mutex_unlock(&thread_registry_lock);
		*cause = "out of memory for a snapshot";
		return -1;
	}
	/* Counters that change from now on are the next snapshot's. */
	atomic_store(&site_gen, d->gen + 1);
	for (i = 1; i <= d->nthreads; i++)
		d->tids[i] = thread_tid(i);
	if (d->full)
		d->nblocks = table_copy(d->blocks);
	/* The mappings under the world lock too: the scan stops threads that may hold map_lock. */
	if ((n = map_copy(&d->maps, cause)) != (size_t)-1) {
		d->nmaps = n;
		if (scan && scan_collect(d, atomic_load(&snap_writer_tid), cause) != 0)
			n = (size_t)-1;
	}
	if (!d->inplace || n == (size_t)-1) {
		d->inplace = 0;
		table_unlock_all();
		pthread_mutex_unlock(&thread_registry_lock);
	}
	if (n == (size_t)-1)
		return -1;

	if (d->full && !scan && scan_sort(d->blocks, d->nblocks) != 0) {
		*cause = "out of memory for a snapshot";
		return -1;
	}
	if (scan)
		scan_classify(d);
	return 0;
}

/* snap_take() once the caller's stack is known: the program's from STACK up. */
static int
snap_take_above(const char *trigger, const char *label, int full, uintptr_t stack)
{
	struct snap_data d;
	char *cause = NULL;
	int id = -1, scan;

	/*
	 * A vfork child (its pid is not ours: fork handlers did not run) shares the parent's
	 * memory, heapscope's tables included: it must not write a snapshot, not even at _exit.
	 */
	if (getpid() != hs_pid)
		return -1;
	pthread_mutex_lock(&snap_lock);
	if (atomic_load(&hs_state) != HS_ON)
		goto out;
	memset(&d, 0, sizeof d);
	d.trigger = trigger;
	d.label = label;
	d.full = full;
	d.stack = stack;
	d.time = clock_now();
	modules_refresh();
	scan = full && hs_cfg.leaks && scan_prepare() == 0;
	if (snap_collect(&d, scan, &cause) == 0) {
		d.elapsed = clock_ticks_to_sec(d.now - hs_start_ticks);
		if ((id = store_write(&d, &cause)) > 0) {
			snap_written_gen = d.gen;
			peak_written(&d);
		}
	}
	snap_unlock(&d);
	snap_release(&d);
	if (id == -2 && !atomic_exchange(&snap_busy_warned, 1))
		log_warn("%s; snapshot skipped", cause);
	else if (id == -1)
		log_fail("%s", cause);
out:
	pthread_mutex_unlock(&snap_lock);
	return id;
}

/*
 * Takes a snapshot with TRIGGER and LABEL; FULL also stores every live block.  The caller has
 * set the re-entry guard.  Returns the snapshot id, or -1 (tracing off, or it failed: then
 * tracing stops with a warning).
 *
 * The leak scan takes the calling thread's stack from here up, so that the stale words in
 * heapscope's frames below keep nothing alive.  The callee-saved registers go first into the
 * bottom of that stack: nothing before the copy uses them (there is no call), so they still hold
 * what the callers left in them, the program's values among those.
 */
__attribute__((noinline)) int
snap_take(const char *trigger, const char *label, int full)
{
	uintptr_t regs[6];

	assert(hs_busy);
	__asm__ volatile(
	    "mov %%rbx, 0(%0)\n\t"
	    "mov %%rbp, 8(%0)\n\t"
	    "mov %%r12, 16(%0)\n\t"
	    "mov %%r13, 24(%0)\n\t"
	    "mov %%r14, 32(%0)\n\t"
	    "mov %%r15, 40(%0)"
	    : : "r"(regs) : "memory");
	return snap_take_above(trigger, label, full, (uintptr_t)regs);
}

/*
 * Writes the peak alone, between snapshots, if it grew by a tenth since the one written
 * (peak_due); the writer thread calls it at its ticks.  The caller has set the re-entry guard.
 */
static void
snap_peak(void)
{
	struct snap_data d;
	char *cause = NULL;
	int id = -1;

	if (!peak_due() || getpid() != hs_pid)
		return;
	pthread_mutex_lock(&snap_lock);
	if (atomic_load(&hs_state) != HS_ON)
		goto out;
	memset(&d, 0, sizeof d);
	d.peak_only = 1;
	modules_refresh();
	pthread_mutex_lock(&thread_registry_lock);
	table_lock_all();
	d.nstacks = stack_count();
	d.nthreads = thread_count;
	if ((d.tids = mem_map(((size_t)d.nthreads + 1) * sizeof *d.tids)) != NULL) {
		for (uint32_t i = 1; i <= d.nthreads; i++)
			d.tids[i] = thread_tid(i);
	}
	if (d.tids == NULL || peak_collect(&d, 1) != 0)
		cause = "out of memory for the peak";
	table_unlock_all();
	pthread_mutex_unlock(&thread_registry_lock);
	if (cause == NULL && d.peak_epoch != 0 && (id = store_write(&d, &cause)) == 0)
		peak_written(&d);
	snap_release(&d);
	if (id == -2 && !atomic_exchange(&snap_busy_warned, 1))
		log_warn("%s; peak skipped", cause);
	else if (id == -1)
		log_fail("%s", cause);
out:
	pthread_mutex_unlock(&snap_lock);
}

/*
 * Takes the exit snapshot of a traced CPython, at the start of its finalization (python.c's
 * atexit handler, with the program's objects alive); the process's own exit snapshot is then
 * named final.  The caller has set the re-entry guard.
 */
void
snap_py_exit(void)
{
	assert(hs_busy);
	if (getpid() != hs_pid || strcmp(snap_exit_trigger, HS_TRIGGER_EXIT) != 0)
		return;		/* a vfork child's, or taken already */
	snap_take(HS_TRIGGER_EXIT, NULL, 1);
	snap_exit_trigger = HS_TRIGGER_FINAL;
}

/* Takes the exit snapshot and stops tracing; the caller has set the re-entry guard. */
void
snap_exit(void)
{
	assert(hs_busy);
	if (getpid() != hs_pid)
		return;		/* a vfork child: the state is its parent's */
	snap_ending = 1;
	snap_take(snap_exit_trigger, NULL, 1);
	atomic_store(&hs_state, HS_OFF);
}

/* The atexit handler. */
static void
snap_atexit(void)
{
	if (atomic_load(&hs_state) != HS_ON || getpid() != hs_pid)
		return;
	hooks_enter(1);
	snap_exit();
}

/* The snapshot signal's handler: wakes the writer thread. */
static void
snap_on_signal(int sig)
{
	int saved = errno;

	(void)sig;
	sem_post(&snap_wake);
	errno = saved;
}

/* The handler of a fatal signal left at its default action: exit snapshot, then die of it. */
static void
snap_on_fatal(int sig)
{
	int saved = errno;
	struct timespec ts;
	int was = hooks_enter(1);

	/* If the signal interrupted heapscope itself, the snapshot would wait on this thread. */
	if (!was && atomic_load(&hs_state) == HS_ON && snap_writer_running &&
	    !atomic_exchange(&snap_exit_wanted, 1)) {
		sem_post(&snap_wake);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += SNAP_FATAL_WAIT;
		while (sem_clockwait(&snap_done, CLOCK_MONOTONIC, &ts) != 0 && errno == EINTR)
			;
	}
	hooks_enter(was);
	signal(sig, SIG_DFL);
	raise(sig);
	errno = saved;
}

/* Adds NS nanoseconds to *T. */
static void
snap_add_ns(struct timespec *t, long ns)
{
	t->tv_nsec += ns;
	while (t->tv_nsec >= 1000000000) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000;
	}
}

/* The writer thread's periodic work between snapshots: the peak, when it grew. */
static void
snap_tick(void)
{
	snap_peak();
}

/* Adds the interval to *T. */
static void
snap_advance(struct timespec *t)
{
	t->tv_sec += (time_t)hs_cfg.interval;
	t->tv_nsec += (long)((hs_cfg.interval - (time_t)hs_cfg.interval) * 1e9);
	if (t->tv_nsec >= 1000000000) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000;
	}
}

/* The writer thread: serves the signal, the timer and exit requests. */
static void *
snap_writer(void *arg)
{
	struct timespec next, tick, now;
	int rc, interval;

	(void)arg;
	hooks_own_thread();
	atomic_store(&snap_writer_tid, (pid_t)syscall(SYS_gettid));
	clock_gettime(CLOCK_MONOTONIC, &next);
	snap_advance(&next);
	for (;;) {
		/* Wake at the next interval snapshot, or the next tick if that is earlier. */
		clock_gettime(CLOCK_MONOTONIC, &tick);
		snap_add_ns(&tick, SNAP_TICK_NS);
		interval = hs_cfg.interval > 0 && (next.tv_sec < tick.tv_sec ||
		    (next.tv_sec == tick.tv_sec && next.tv_nsec <= tick.tv_nsec));
		rc = sem_clockwait(&snap_wake, CLOCK_MONOTONIC, interval ? &next : &tick);
		if (rc != 0 && errno == EINTR)
			continue;
		if (atomic_load(&snap_exit_wanted)) {
			snap_exit();
			sem_post(&snap_done);
			return NULL;
		}
		if (atomic_load(&hs_state) == HS_OFF)
			return NULL;
		if (rc == 0) {
			while (sem_trywait(&snap_wake) == 0)
				;	/* several signals at once make one snapshot */
			snap_take(HS_TRIGGER_SIGNAL, NULL, 1);
			continue;
		}
		if (!interval) {
			snap_tick();
			continue;
		}
		snap_take(HS_TRIGGER_INTERVAL, NULL, 0);
		snap_advance(&next);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > next.tv_sec + 1) {
			next = now;	/* fell far behind: don't catch up in a burst */
			snap_advance(&next);
		}
	}
}

/* Starts the writer thread with every signal blocked in it. */
static void
snap_start_writer(void)
{
	sigset_t all, old;
	pthread_t t;

	snap_writer_running = 0;
	atomic_store(&snap_writer_tid, 0);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&t, NULL, snap_writer, NULL) == 0) {
		pthread_detach(t);
		snap_writer_running = 1;
		/* The leak scan must know it from the first snapshot: it is no program thread. */
		while (atomic_load(&snap_writer_tid) == 0)
			sched_yield();
	} else
		log_warn("cannot start the writer thread: no signal or interval snapshots");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* fork: the child gets the locks free, its own database and its own writer thread. */
static void
snap_prepare(void)
{
	int was = hooks_enter(1);

	pthread_mutex_lock(&snap_lock);
	pthread_mutex_lock(&thread_registry_lock);
	table_lock_all();
	map_atfork_prepare();
	stack_atfork_prepare();
	modules_hold();
	unwind_fork_prepare();
	hooks_enter(was);
}

static void
snap_parent(void)
{
	unwind_fork_parent();
	modules_release();
	stack_atfork_parent();
	map_atfork_release();
	table_unlock_all();
	pthread_mutex_unlock(&thread_registry_lock);
	pthread_mutex_unlock(&snap_lock);
}

static void
snap_child(void)
{
	unwind_fork_child();
	modules_release();
	stack_atfork_child();
	map_atfork_release();
	table_unlock_all();
	pthread_mutex_unlock(&thread_registry_lock);
	pthread_mutex_unlock(&snap_lock);
	if (atomic_load(&hs_state) != HS_ON)
		return;
	hs_pid = getpid();
	scan_atfork_child();
	thread_atfork_child();
	store_atfork_child();
	snap_written_gen = 0;	/* the child's database starts empty */
	snap_exit_trigger = HS_TRIGGER_EXIT;
	peak_atfork_child();
	sem_init(&snap_wake, 0, 0);
	sem_init(&snap_done, 0, 0);
	atomic_store(&snap_exit_wanted, 0);
	snap_start_writer();
}

/* Installs the triggers; called once by the constructor. */
void
snap_init(void)
{
	/*
	 * Not SIGINT: a handler there, even ours, tells Python (and shells) that the program
	 * handles SIGINT itself, and Python would then not raise KeyboardInterrupt.
	 */
	static const int fatal[] = { SIGTERM };
	struct sigaction sa, old;
	size_t i;

	scan_init();
	sem_init(&snap_wake, 0, 0);
	sem_init(&snap_done, 0, 0);
	if (atexit(snap_atexit) != 0 || pthread_atfork(snap_prepare, snap_parent, snap_child)) {
		log_fail("cannot register the exit handler");
		return;
	}
	snap_start_writer();
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (hs_cfg.signal != 0 && snap_writer_running) {
		sa.sa_handler = snap_on_signal;
		if (sigaction(hs_cfg.signal, &sa, NULL) != 0)
			log_warn("cannot handle signal %d: no signal snapshots", hs_cfg.signal);
	}
	if (!snap_writer_running)
		return;
	sa.sa_handler = snap_on_fatal;
	sa.sa_flags = SA_RESETHAND;
	for (i = 0; i < sizeof fatal / sizeof fatal[0]; i++) {
		if (fatal[i] == hs_cfg.signal)
			continue;
		if (sigaction(fatal[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL &&
		    !(old.sa_flags & SA_SIGINFO))
			sigaction(fatal[i], &sa, NULL);
	}
}
