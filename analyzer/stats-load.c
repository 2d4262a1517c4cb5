/*
 * The two steps of a report of stats.c that read a database, Load and Place (described there):
 * the sites of a snapshot (or the sums leaks makes) and the first frames of their stacks are
 * read into the report, each site's key frame is found, and the frames the report shows or
 * tests are resolved.  Filter, Group and Sort, in stats.c, then see only what is in memory.
 */
#include "analyzer.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "py.h"
#include "schema.h"
#include "stacktab.h"
#include "stats.h"
#include "symbols.h"

/*
 * Frames per stack a new site gets when only the key frame matters.  Stacks start at the
 * function that called malloc, so this covers allocator wrappers in libc (strdup, fopen) and
 * operator new; deeper stacks get the rest when their key frame is looked for
 * (stats_load_rest).  All of them would make the pool ten times as large.
 */
#define STATS_PREFETCH 4

/*
 * Frees what S holds: its sources' statements, symbol tables and Python frames, then the rest
 * (stats_clear); not the databases.
 */
void
stats_free(struct stats *s)
{
	struct stats_source *src;
	unsigned int i;

	for (i = 0; i < s->nsources; i++) {
		src = &s->sources[i];
		stacktab_close(src->stk);
		symtab_close(src->st);
		pytab_close(src->py);
	}
	stats_clear(s);
}

/*
 * Adds the database DB as a source of sites, with a symbol table of its own and, unless the
 * report is --native, its Python frames.  Returns the source, or NULL with *CAUSE set.
 */
struct stats_source *
stats_source_add(struct stats *s, struct db *db, char **cause)
{
	struct stats_source *src;

	assert(s->nsources < STATS_SIDES);
	src = &s->sources[s->nsources];
	memset(src, 0, sizeof *src);
	src->db = db;
	src->first = s->nsites;
	if ((src->st = symtab_open(db, cause)) == NULL)
		return NULL;
	if (stacktab_open(db, &src->stk, cause) != 0) {
		symtab_close(src->st);
		return NULL;
	}
	if (!s->native && pytab_open(db, &src->py, cause) != 0) {
		stacktab_close(src->stk);
		symtab_close(src->st);
		return NULL;
	}
	s->nsources++;
	return src;
}

/* Returns 1 if the report needs whole stacks: every frame is in a key or tested by a filter. */
static int
stats_whole_stacks(const struct stats *s)
{
	return s->by == STATS_TRACEBACK || s->cumulative || (s->all_frames && s->nfilters > 0);
}

/* Appends a slot for frame ID, and the frame F if it is known, to the pool. */
static void
stats_pool_add(struct stats *s, int64_t id, struct sym_frame *f)
{
	if (s->npool == s->apool) {
		s->apool = s->apool == 0 ? 4096 : s->apool * 2;
		s->pool = xreallocarray(s->pool, s->apool, sizeof *s->pool);
	}
	s->pool[s->npool].id = id;
	s->pool[s->npool++].frame = f;
}

/*
 * Returns frame K of SITE (0 = innermost), looking it up in the site's source on first use;
 * NULL with *CAUSE set if the database has no such frame.
 */
static struct sym_frame *
stats_site_lookup(struct stats *s, struct stats_site *site, uint32_t k, char **cause)
{
	struct stats_slot *slot = &s->pool[site->first + k];

	assert(k < site->n);
	if (slot->frame == NULL)
		slot->frame = symtab_frame(site->src->st, slot->id, cause);
	return slot->frame;
}

/* Appends a site of SRC for stack STACK_ID, with no numbers and no frames; returns its index. */
static size_t
stats_site_add(struct stats *s, struct stats_source *src, int64_t stack_id)
{
	struct stats_site *site;

	/* A source's sites are contiguous: a source is loaded entirely before the next. */
	assert(src->first + src->nsites == s->nsites);
	if (s->nsites == s->asites) {
		s->asites = s->asites == 0 ? 1024 : s->asites * 2;
		s->sites = xreallocarray(s->sites, s->asites, sizeof *s->sites);
	}
	site = &s->sites[s->nsites];
	memset(site, 0, sizeof *site);
	site->stack_id = stack_id;
	site->src = src;
	site->first = s->npool;
	src->nsites++;
	return s->nsites++;
}

/*
 * Appends to the pool the native frames of SITE's stack from level FROM on, at most MAX of them
 * (UINT32_MAX: all), marking the site partial if the stack has more.  Returns 0, or -1 with
 * *CAUSE set.
 */
static int
stats_site_frames(struct stats *s, struct stats_site *site, uint32_t from, uint32_t max,
    char **cause)
{
	int64_t ids[HS_MAX_DEPTH];
	uint32_t depth;
	int n, i;

	if ((n = stacktab_frames(site->src->stk, site->stack_id, from, max, ids, &depth,
	    cause)) < 0)
		return -1;
	for (i = 0; i < n; i++)
		stats_pool_add(s, ids[i], NULL);
	site->n += n;
	site->partial = from + n < depth;
	return 0;
}

/*
 * Gives SITE the Python frames of traceback TB of SRC (0: none), the most recent call first, in
 * the Python frames' pool; 0, or -1 with *CAUSE set.
 */
static int
stats_site_py(struct stats *s, struct stats_source *src, struct stats_site *site, int64_t tb,
    char **cause)
{
	struct py_frame *pf;

	site->pyfirst = s->npypool;
	for (; tb != 0; site->npy++) {
		if ((pf = pytab_traceback(src->py, tb, &tb)) == NULL) {
			*cause = xasprintf("stacks.py_traceback names traceback %lld,"
			    " which py_tracebacks lacks", (long long)tb);
			return -1;
		}
		if (s->npypool == s->apypool) {
			s->apypool = s->apypool == 0 ? 1024 : s->apypool * 2;
			s->pypool = xreallocarray(s->pypool, s->apypool, sizeof *s->pypool);
		}
		s->pypool[s->npypool++] = pf;
	}
	return 0;
}

/*
 * Reads the sites of snapshot ID of SRC with live blocks, as side SIDE: each site's row of the
 * latest snapshot up to ID (a snapshot has rows for the sites that changed since the one
 * before), or for the peak snapshot its rows of peak_sites.  A stack the source already has from an earlier snapshot gets the numbers of this
 * side; a new one is added with the first frames of its stack (all of them if the report needs
 * whole stacks).  Returns 0, or -1 with *CAUSE set.
 */
int
stats_load(struct stats *s, struct stats_source *src, int64_t id, unsigned int side,
    char **cause)
{
	sqlite3_stmt *stmt;
	int rc, peak;

	assert(side < STATS_SIDES);
	if ((peak = db_snapshot_is_peak(src->db, id, cause)) < 0)
		return -1;
	if (peak)
		stmt = db_prepare(src->db, "SELECT stack_id, ?2, live_bytes, live_blocks"
		    " FROM peak_sites WHERE live_blocks > 0 ORDER BY stack_id", cause);
	else
		stmt = db_prepare(src->db, "SELECT stack_id, ?2, live_bytes, live_blocks FROM"
		    " (SELECT stack_id, max(snapshot_id), live_bytes, live_blocks FROM sites"
		    " WHERE snapshot_id <= ?1 GROUP BY stack_id) WHERE live_blocks > 0"
		    " ORDER BY stack_id", cause);
	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_int(stmt, 2, (int)side);
	rc = stats_load_rows(s, src, stmt, cause);
	sqlite3_finalize(stmt);
	return rc;
}

/*
 * Reads the sites STMT yields into SRC: rows of stack_id, side, bytes and blocks, in stack order
 * (a stack may have a row per side): stats_load reads a snapshot's sites, leaks sums the
 * snapshot's leaked blocks per stack and kind.  A stack the source already has from an earlier
 * load gets the numbers of the rows; a new one is added with the first frames of its stack (all
 * of them if the report needs whole stacks) and its Python frames.  Steps STMT to its end, which
 * the caller finalizes.  Returns 0, or -1 with *CAUSE set.
 */
int
stats_load_rows(struct stats *s, struct stats_source *src, sqlite3_stmt *stmt, char **cause)
{
	struct stats_site *site;
	int64_t stack_id, side;
	size_t cursor = src->first, sorted_end = src->first + src->nsorted, from = s->nsites;
	size_t si = SIZE_MAX, i;
	uint32_t limit = stats_whole_stacks(s) ? UINT32_MAX : STATS_PREFETCH;
	int rc;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		stack_id = sqlite3_column_int64(stmt, 0);
		side = sqlite3_column_int64(stmt, 1);
		assert(side >= 0 && side < STATS_SIDES);
		/* A new stack, unless the row is another side of the previous row's stack. */
		if (si == SIZE_MAX || s->sites[si].stack_id != stack_id) {
			/* The sites of the first load are in stack order, and so is this one. */
			while (cursor < sorted_end && s->sites[cursor].stack_id < stack_id)
				cursor++;
			if (cursor < sorted_end && s->sites[cursor].stack_id == stack_id)
				si = cursor;
			else {
				si = stats_site_add(s, src, stack_id);
				if (stats_site_frames(s, &s->sites[si], 0, limit, cause) != 0)
					return -1;
			}
		}
		site = &s->sites[si];
		site->bytes[side] += sqlite3_column_int64(stmt, 2);
		site->blocks[side] += sqlite3_column_int64(stmt, 3);
	}
	if (rc != SQLITE_DONE) {
		*cause = db_cause(src->db, rc);
		return -1;
	}
	if (src->loads++ == 0)
		src->nsorted = src->nsites;
	/* The Python frames, all of them: they are few (process.py_depth at most). */
	for (i = from; src->py != NULL && i < s->nsites; i++) {
		if (stats_site_py(s, src, &s->sites[i],
		    stacktab_py_traceback(src->stk, s->sites[i].stack_id), cause) != 0)
			return -1;
	}
	return 0;
}

/*
 * Reads the rest of the stack of site SITE, which must be partial: copies its frames to the end
 * of the pool and appends the others.  Returns 0, or -1 with *CAUSE set.
 */
static int
stats_load_rest(struct stats *s, struct stats_site *site, char **cause)
{
	size_t first = s->npool;
	uint32_t i, n = site->n;

	assert(site->partial);
	for (i = 0; i < n; i++)
		stats_pool_add(s, s->pool[site->first + i].id, s->pool[site->first + i].frame);
	site->first = first;
	return stats_site_frames(s, site, n, UINT32_MAX, cause);
}

/* Appends F to the growing array *LIST of *N entries, *ALLOC allocated. */
static void
stats_list_add(struct sym_frame ***list, size_t *n, size_t *alloc, struct sym_frame *f)
{
	if (*n == *alloc) {
		*alloc = *alloc == 0 ? 256 : *alloc * 2;
		*list = xreallocarray(*list, *alloc, sizeof **list);
	}
	(*list)[(*n)++] = f;
}

/*
 * Resolves, in one batch, the frames of SRC's placed sites that a report shows or tests: from
 * the key frame to the end of the stack for whole-stack reports, else the key frame alone, none
 * for a site keyed on its Python frames; with
 * ALL, every frame of every stack, the allocator's inside the key frame too (loading the rest of
 * partly loaded stacks).  The caller has begun a read transaction.  Returns 0, or -1 with *CAUSE.
 */
static int
stats_resolve_sites(struct stats *s, struct stats_source *src, int all, char **cause)
{
	struct sym_frame **need = NULL, *f;
	struct stats_site *site;
	size_t nneed = 0, aneed = 0, i, end_site = src->first + src->nsites;
	uint32_t level, end;

	for (i = src->first; i < end_site; i++) {
		site = &s->sites[i];
		assert(site->placed);
		if (all && site->partial && stats_load_rest(s, site, cause) != 0)
			goto fail;
		/* A Python site's key and filters need none of its native frames. */
		if (!all && site->npy > 0)
			continue;
		if (all || stats_whole_stacks(s))
			end = site->n;
		else
			end = site->n > 0 ? site->pos + 1 : 0;
		for (level = all ? 0 : site->pos; level < end; level++) {
			if ((f = stats_site_lookup(s, site, level, cause)) == NULL)
				goto fail;
			if (!f->resolved)
				stats_list_add(&need, &nneed, &aneed, f);
		}
	}
	if (nneed > 0 && symtab_resolve(src->st, need, nneed, cause) != 0)
		goto fail;
	free(need);
	return 0;
fail:
	free(need);
	return -1;
}

/*
 * Places every site of SRC: finds its key frame, the first one from the innermost that is not
 * the allocator's (the outermost if all are), resolving symbols in batches as the walk needs
 * them, then resolves every frame the report will show or test.  A site with Python frames is
 * placed at once: its most recent Python frame is its key frame.  Returns 0, or -1 with *CAUSE
 * set.
 */
static int
stats_place(struct stats *s, struct stats_source *src, char **cause)
{
	struct sym_frame **need = NULL, *f;
	struct stats_site *site;
	size_t nneed, aneed = 0, i, end_site = src->first + src->nsites;
	int allocator, txn;

	/* Up to a query per site and per frame: in one transaction, and the cache written after. */
	txn = db_read_begin(src->db);
	do {
		nneed = 0;
		for (i = src->first; i < end_site; i++) {
			site = &s->sites[i];
			/* Keyed on its Python frames: the native ones are not looked at. */
			if (site->npy > 0)
				site->placed = 1;
			while (!site->placed) {
				if (site->pos == site->n) {
					if (site->partial) {
						if (stats_load_rest(s, site, cause) != 0)
							goto fail;
						continue;
					}
					/* All the allocator's: keep the outermost frame. */
					site->pos = site->n > 0 ? site->n - 1 : 0;
					site->placed = 1;
					break;
				}
				if ((f = stats_site_lookup(s, site, site->pos, cause)) == NULL)
					goto fail;
				if ((allocator = symtab_allocator(f)) < 0) {
					stats_list_add(&need, &nneed, &aneed, f);
					break;
				}
				if (allocator == 0)
					site->placed = 1;
				else
					site->pos++;
			}
		}
		if (nneed > 0 && symtab_resolve(src->st, need, nneed, cause) != 0)
			goto fail;
	} while (nneed > 0);

	if (stats_resolve_sites(s, src, 0, cause) != 0)
		goto fail;
	free(need);
	db_read_end(src->db, txn);
	symtab_flush(src->st);
	return 0;
fail:
	free(need);
	db_read_end(src->db, txn);
	return -1;
}

/*
 * Computes the groups of the loaded sites: places them, filters them and groups them.  Returns
 * 0, or -1 with *CAUSE set.
 */
int
stats_compute(struct stats *s, char **cause)
{
	if (stats_place_sites(s, cause) != 0)
		return -1;
	stats_group_sites(s);
	return 0;
}

/*
 * Places the loaded sites of every source, the first half of stats_compute: after it the caller
 * may look at their stacks and drop sites before stats_group_sites.  Returns 0, or -1 with
 * *CAUSE set.
 */
int
stats_place_sites(struct stats *s, char **cause)
{
	unsigned int i;

	for (i = 0; i < s->nsources; i++) {
		if (stats_place(s, &s->sources[i], cause) != 0)
			return -1;
	}
	return 0;
}

/*
 * Looks up and resolves every frame of every placed site, the allocator's frames inside the key
 * frame too, for a caller that tests whole stacks (leaks' suppressions).  Returns 0, or -1 with
 * *CAUSE set.
 */
int
stats_resolve_stacks(struct stats *s, char **cause)
{
	struct stats_source *src;
	unsigned int k;
	int txn, rc;

	for (k = 0; k < s->nsources; k++) {
		src = &s->sources[k];
		txn = db_read_begin(src->db);
		rc = stats_resolve_sites(s, src, 1, cause);
		db_read_end(src->db, txn);
		if (rc != 0)
			return -1;
		symtab_flush(src->st);
	}
	return 0;
}

/*
 * Returns the index in s->sites of the site of SRC for stack STACK_ID, or SIZE_MAX if SRC has
 * none: a binary search of the sites of its first load, which are in stack order, then a walk
 * of the others.
 */
size_t
stats_site_find(const struct stats *s, const struct stats_source *src, int64_t stack_id)
{
	size_t lo = src->first, hi = src->first + src->nsorted, mid, i;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (s->sites[mid].stack_id < stack_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < src->first + src->nsorted && s->sites[lo].stack_id == stack_id)
		return lo;
	for (i = src->first + src->nsorted; i < src->first + src->nsites; i++) {
		if (s->sites[i].stack_id == stack_id)
			return i;
	}
	return SIZE_MAX;
}
