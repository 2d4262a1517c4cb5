/*
 * The peak: the moment the live heap was highest, and what every site had alive then.
 *
 * Finding the moment.  Each thread adds the bytes it allocates and frees to a delta of its own
 * (struct thread.peak_delta) and, when the delta's size reaches peak_step, flushes it into
 * heap_live, the process's live heap, with one atomic add (peak_flush): heap_live is then exact
 * to within a step per thread, and the hot path touches shared memory once per step, not per
 * call.  A flush that takes heap_live past peak_high raises it and starts a new peak epoch:
 * the state of every site at that moment is the new peak.  The step is a thousandth of the peak
 * (at least PEAK_STEP_MIN), so the peak is found to within a thousandth per thread; and a thread
 * about to free after growing flushes first if its growth makes a new high (peak_fall), so the
 * high of a thread that allocates alone is found to the block.
 *
 * Keeping the state of that moment, without stopping anyone.  Each site's counters carry the
 * epoch of the peak they last saw (site_counts.peak_epoch) and their live bytes and blocks then.
 * A counter about to change in a later epoch first copies its live bytes and blocks as they are,
 * which is what they were when the epoch began, since they have not changed since
 * (peak_touch, inline, on every birth and death: one compare, three stores when the epoch moved).
 * So at any time a site's live state at the peak is its copy if its epoch is the current one,
 * else its current state (peak_of).  A program whose heap only grows starts an epoch at every
 * flush and pays the copy at nearly every call; others pay the compare.
 *
 * Writing it.  The peak is written as the one snapshot with trigger peak and its sites in
 * peak_sites: with every snapshot when it moved since the last written, and between snapshots
 * by the writer thread's tick (peak_tick) once it grew by a tenth since, so that a process killed
 * at its high point (as the OOM killer kills) keeps a peak within a tenth of its true high in its
 * database.  The peak's sites are summed over threads under the world lock (peak_collect), which
 * first takes the live heap as it is then, deltas included, for a new peak if it is higher.
 */
#include "config.h"

#include <string.h>

#include "internal.h"

#define PEAK_STEP_MIN 4096	/* bytes: the smallest step of a thread's delta */
#define PEAK_WAIT 1.0		/* seconds before the writer thread may write the peak alone */

_Atomic uint32_t peak_epoch;		/* the current peak's epoch, 0 before the first */
_Atomic int64_t peak_step = PEAK_STEP_MIN;	/* the size of delta a thread flushes at */
_Atomic int64_t heap_live;		/* the flushed live heap bytes of all threads */
_Atomic int64_t peak_high;		/* heap_live at the current peak */
static _Atomic uint64_t peak_ticks;	/* clock_ticks() at the current peak */
static uint32_t peak_written_epoch;	/* the epoch of the peak in the database, 0 if none */
static int64_t peak_written_high;	/* its peak_high */

/*
 * Flushes T's delta into the live heap, and starts a new peak if that makes a new high.  The
 * caller holds a shard lock (so that no snapshot reads the counters meanwhile) and T is its own.
 */
void
peak_flush(struct thread *t)
{
	int64_t live = atomic_fetch_add(&heap_live, t->peak_delta) + t->peak_delta;
	int64_t high = atomic_load_explicit(&peak_high, memory_order_relaxed);

	t->peak_delta = 0;
	while (live > high) {
		if (atomic_compare_exchange_weak(&peak_high, &high, live)) {
			atomic_store_explicit(&peak_step, live >> 10 > PEAK_STEP_MIN ? live >> 10 :
			    PEAK_STEP_MIN, memory_order_relaxed);
			atomic_store_explicit(&peak_ticks, clock_ticks(), memory_order_relaxed);
			atomic_fetch_add(&peak_epoch, 1);
			break;
		}
	}
}

/* Stores in *BYTES and *BLOCKS the live state at the current peak of the counters C. */
static void
peak_of(const struct site_counts *c, uint32_t epoch, int64_t *bytes, int64_t *blocks)
{
	if (c->peak_epoch == epoch) {
		*bytes = c->peak_bytes;
		*blocks = c->peak_blocks;
	} else {
		*bytes = (int64_t)(c->s.alloc_bytes - c->s.freed_bytes);
		*blocks = (int64_t)(c->s.allocs - c->s.frees);
	}
}

/* The peak being collected, for the callbacks of peak_collect. */
struct peak_walk {
	struct snap_data *d;	/* where it goes */
	uint32_t epoch;		/* its epoch */
	uint64_t *bits;		/* bit id: site id had blocks alive at the peak in some thread */
	uint32_t *rank;		/* rank[w]: bits set in bits[0..w) */
};

/* Marks the sites of thread T with blocks at the peak (in T: a site's total may still be 0). */
static void
peak_mark(struct thread *t, void *arg)
{
	struct peak_walk *w = arg;
	int64_t bytes, blocks;
	uint32_t i, id;

	for (i = 0; i < t->site_cap; i++) {
		if ((id = t->site_slots[i].stack) == 0 || id > w->d->nstacks)
			continue;
		peak_of(&t->site_vals[t->site_slots[i].index], w->epoch, &bytes, &blocks);
		if (blocks != 0 || bytes != 0)
			w->bits[id / 64] |= 1ull << (id % 64);
	}
}

/* Adds thread T's peak state of the marked sites into the snapshot's. */
static void
peak_sum(struct thread *t, void *arg)
{
	struct peak_walk *w = arg;
	struct peak_site *p;
	int64_t bytes, blocks;
	uint32_t i, id;

	for (i = 0; i < t->site_cap; i++) {
		id = t->site_slots[i].stack;
		if (id == 0 || id > w->d->nstacks || !(w->bits[id / 64] >> (id % 64) & 1))
			continue;
		p = &w->d->peak[w->rank[id / 64] +
		    __builtin_popcountll(w->bits[id / 64] & ((1ull << (id % 64)) - 1))];
		peak_of(&t->site_vals[t->site_slots[i].index], w->epoch, &bytes, &blocks);
		p->stack = id;
		p->bytes += bytes;
		p->blocks += blocks;
	}
}

/* Adds thread T's delta to the live heap at ARG. */
static void
peak_delta_sum(struct thread *t, void *arg)
{
	*(int64_t *)arg += t->peak_delta;
}

/*
 * Starts a new peak now if the live heap, deltas included, is above the peak: under the world
 * lock the counters are at rest, and a high that no flush has seen yet (the program stopped
 * within a step of it) is found exactly.
 */
static void
peak_refresh(void)
{
	int64_t live = atomic_load(&heap_live);

	thread_foreach(peak_delta_sum, &live);
	if (live <= atomic_load(&peak_high))
		return;
	atomic_store(&peak_high, live);
	atomic_store(&peak_ticks, clock_ticks());
	atomic_fetch_add(&peak_epoch, 1);
}

/*
 * Fills D->peak with the sites' live state at the current peak, if it moved since the one in
 * the database, or if ALWAYS; the caller holds the world lock.  Returns 0 (D->peak_epoch is 0 if
 * there is nothing to write), or -1 if out of memory.
 */
int
peak_collect(struct snap_data *d, int always)
{
	struct peak_walk w = { d, 0, NULL, NULL };
	size_t nwords = ((size_t)d->nstacks + 64) / 64, k, n = 0;
	int rc = -1;

	assert(table_world_held());
	peak_refresh();
	w.epoch = atomic_load(&peak_epoch);
	if (w.epoch == 0 || (!always && w.epoch == peak_written_epoch))
		return 0;
	w.bits = mem_map(nwords * sizeof *w.bits);
	w.rank = mem_map(nwords * sizeof *w.rank);
	if (w.bits == NULL || w.rank == NULL)
		goto out;
	thread_foreach(peak_mark, &w);
	for (k = 0; k < nwords; k++) {
		w.rank[k] = n;
		n += __builtin_popcountll(w.bits[k]);
	}
	if (n > 0 && (d->peak = mem_map(n * sizeof *d->peak)) == NULL)
		goto out;
	d->npeak = n;
	thread_foreach(peak_sum, &w);
	d->peak_epoch = w.epoch;
	d->peak_high = atomic_load(&peak_high);
	d->peak_elapsed = clock_ticks_to_sec(atomic_load(&peak_ticks) - hs_start_ticks);
	d->peak_time = hs_start_time + d->peak_elapsed;
	rc = 0;
out:
	mem_unmap(w.bits, nwords * sizeof *w.bits);
	mem_unmap(w.rank, nwords * sizeof *w.rank);
	return rc;
}

/* Notes that the peak of D, if it had one, is now the database's. */
void
peak_written(const struct snap_data *d)
{
	if (d->peak_epoch == 0)
		return;
	peak_written_epoch = d->peak_epoch;
	peak_written_high = d->peak_high;
}

/*
 * Returns 1 if the peak grew by a tenth since the one in the database (or there is none yet
 * and the heap holds something): time for the writer thread to write it between snapshots.
 * Never in the first PEAK_WAIT seconds: a process that runs shorter, such as a shell script
 * that only executes the program (pyenv's python3 is one), would create the database, which
 * the program it executes then finds taken.
 */
int
peak_due(void)
{
	int64_t high = atomic_load_explicit(&peak_high, memory_order_relaxed);

	if (atomic_load_explicit(&peak_epoch, memory_order_relaxed) == peak_written_epoch ||
	    clock_ticks_to_sec(clock_ticks() - hs_start_ticks) < PEAK_WAIT)
		return 0;
	return high > peak_written_high + peak_written_high / 10;
}

/* In a forked child: its database starts empty, and its heap is its parent's. */
void
peak_atfork_child(void)
{
	peak_written_epoch = 0;
	peak_written_high = 0;
}
