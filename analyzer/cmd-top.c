/*
 * heapscope top: where the live memory of one snapshot was allocated, grouped by source line,
 * file, function or whole traceback, like Python's tracemalloc Snapshot.statistics() for native
 * code.
 *
 * The sites table already sums the live blocks of the snapshot per stack, so top never reads
 * blocks.  It streams the snapshot's sites joined with the first few frames of each stack (one
 * query, in stack order), keeping per site its totals and its frames (struct top_site; the frame
 * pointers of all sites share one array, pool).  Then it places each site: the key frame is the
 * first frame, from the innermost, that is not the allocator's (libc, the dynamic loader, the
 * preload, operator new; symtab_allocator).  Deciding that needs the function of each frame
 * outside those libraries, so placing goes in rounds: walk every unplaced site as far as the
 * known symbols allow, resolve the frames the walks stopped at in one batch, repeat.  Only the
 * frames a report shows are ever symbolized.
 *
 * A frame's key text (its "file:line", file, function, or in traceback mode all its lines) is
 * interned (struct top_str), and each frame keeps its interned text in sym_frame.data, so a
 * group key is a sequence of interned pointers: the key frame alone, or for traceback the key
 * frame and every frame outside it.  Groups (struct top_group) sum the sites with equal keys,
 * and are sorted by size, then count (both descending), then key.
 *
 * Invariants: total_bytes == sum of group bytes == sum of site bytes, likewise for blocks.
 */
#include "heapscope.h"

#include <assert.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "symbols.h"

/*
 * Frames per stack the first query reads when only the key frame matters.  Stacks start at the
 * function that called malloc, so this covers allocator wrappers in libc (strdup, fopen) and
 * operator new; deeper stacks get the rest in a query of their own.  Reading all would cost
 * ten times as many rows.
 */
#define TOP_PREFETCH 4

/* What top groups by. */
enum top_by {
	TOP_LINENO,		/* file and line of the key frame */
	TOP_FILENAME,		/* file of the key frame */
	TOP_FUNCTION,		/* function of the key frame */
	TOP_TRACEBACK		/* the whole stack from the key frame out */
};

/* The --by names, in enum top_by order, and what groups are called in the text output. */
static const char *const top_by_names[] = { "lineno", "filename", "function", "traceback" };
static const char *const top_by_noun[] = { "line", "file", "function", "traceback" };
static const char *const top_by_nouns[] = { "lines", "files", "functions", "tracebacks" };

/* One site of the snapshot with live blocks. */
struct top_site {
	int64_t		stack_id;	/* sites.stack_id */
	int64_t		bytes;		/* sites.live_bytes */
	int64_t		blocks;		/* sites.live_blocks */
	size_t		first;		/* index in top.pool of its innermost frame */
	uint32_t	n;		/* frames loaded: pool[first .. first + n - 1] */
	uint32_t	pos;		/* the key frame, pool[first + pos], once placed */
	int		placed;		/* 1 once pos is final */
	int		partial;	/* 1 if the stack may have frames past the n loaded */
};

/* What every entry of a struct top_hash starts with. */
struct top_entry {
	struct top_entry	*next;		/* next in the same bucket */
	uint64_t		 hash;		/* hash of the entry's key */
};

/* An interned key text. */
struct top_str {
	struct top_entry	 entry;		/* hash of s, chain */
	char			*s;		/* the text */
};

/* The sites whose keys are equal. */
struct top_group {
	struct top_entry	 entry;		/* hash of the key, chain */
	size_t			 site;		/* one of its sites, whose frames spell the key */
	uint32_t		 len;		/* key length: frames from that site's key frame */
	int64_t			 bytes;		/* sum of the sites' live bytes */
	int64_t			 blocks;	/* sum of the sites' live blocks */
};

/* A chained hash table of entries that start with struct top_entry. */
struct top_hash {
	struct top_entry	**buckets;	/* chains */
	size_t			  nbuckets;	/* a power of two */
	size_t			  count;	/* entries */
};

/* The state of one top command. */
struct top {
	struct db		*db;		/* the database */
	struct symtab		*st;		/* its frames and symbols */
	enum top_by		 by;		/* what to group by */
	struct top_site		*sites;		/* the snapshot's sites with live blocks */
	size_t			 nsites;	/* entries in sites */
	size_t			 asites;	/* allocated entries in sites */
	struct sym_frame	**pool;		/* the frames of every site */
	size_t			 npool;		/* entries in pool */
	size_t			 apool;		/* allocated entries in pool */
	struct top_hash		 strs;		/* interned key texts */
	struct top_hash		 groups;	/* groups by key */
	sqlite3_stmt		*rest_stmt;	/* reads the frames of a stack from a level on */
	struct top_group	**sorted;	/* every group, sorted for output */
	int64_t			 total_bytes;	/* live bytes of the snapshot (its sites) */
	int64_t			 total_blocks;	/* live blocks of the snapshot */
};

/* Returns the FNV-1a hash of S. */
static uint64_t
top_hash_string(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

/* Makes H an empty table. */
static void
top_hash_init(struct top_hash *h)
{
	h->nbuckets = 1024;
	h->buckets = xcalloc(h->nbuckets, sizeof *h->buckets);
	h->count = 0;
}

/* Adds entry E, whose hash is set, to H; H grows to keep chains short. */
static void
top_hash_insert(struct top_hash *h, struct top_entry *e)
{
	struct top_entry **old, *o, *next;
	size_t b, i, nold;

	b = e->hash & (h->nbuckets - 1);
	e->next = h->buckets[b];
	h->buckets[b] = e;
	if (++h->count <= h->nbuckets)
		return;
	old = h->buckets;
	nold = h->nbuckets;
	h->nbuckets *= 2;
	h->buckets = xcalloc(h->nbuckets, sizeof *h->buckets);
	for (i = 0; i < nold; i++) {
		for (o = old[i]; o != NULL; o = next) {
			next = o->next;
			b = o->hash & (h->nbuckets - 1);
			o->next = h->buckets[b];
			h->buckets[b] = o;
		}
	}
	free(old);
}

/* Returns the interned copy of S, taking S. */
static struct top_str *
top_intern(struct top *t, char *s)
{
	struct top_entry *e;
	struct top_str *str;
	uint64_t hash = top_hash_string(s);

	for (e = t->strs.buckets[hash & (t->strs.nbuckets - 1)]; e != NULL; e = e->next) {
		str = (struct top_str *)e;
		if (e->hash == hash && strcmp(str->s, s) == 0) {
			free(s);
			return str;
		}
	}
	str = xmalloc(sizeof *str);
	str->s = s;
	str->entry.hash = hash;
	top_hash_insert(&t->strs, &str->entry);
	return str;
}

/* Returns the key frames of site S: the first of its group key's frames. */
static struct sym_frame **
top_key_frames(struct top *t, const struct top_site *s)
{
	return t->pool + s->first + s->pos;
}

/* Returns 1 if the keys of length LEN starting at A and B are equal. */
static int
top_key_equal(struct sym_frame **a, struct sym_frame **b, uint32_t len)
{
	uint32_t i;

	for (i = 0; i < len; i++) {
		if (a[i]->data != b[i]->data)
			return 0;
	}
	return 1;
}

/* Adds site SI, whose key is LEN frames long, to the group with its key, creating it if needed. */
static void
top_group_add(struct top *t, size_t si, uint32_t len)
{
	struct top_site *s = &t->sites[si];
	struct sym_frame **key = top_key_frames(t, s);
	struct top_entry *e;
	struct top_group *g = NULL;
	uint64_t hash = 0x84222325cbf29ce4ULL;
	uint32_t k;

	for (k = 0; k < len; k++)
		hash = (hash ^ ((struct top_str *)key[k]->data)->entry.hash) * 0x100000001b3ULL;
	for (e = t->groups.buckets[hash & (t->groups.nbuckets - 1)]; e != NULL; e = e->next) {
		g = (struct top_group *)e;
		if (e->hash == hash && g->len == len &&
		    top_key_equal(top_key_frames(t, &t->sites[g->site]), key, len))
			break;
	}
	if (e == NULL) {
		g = xcalloc(1, sizeof *g);
		g->site = si;
		g->len = len;
		g->entry.hash = hash;
		top_hash_insert(&t->groups, &g->entry);
	}
	g->bytes += s->bytes;
	g->blocks += s->blocks;
}

/* Appends frame F to the pool. */
static void
top_pool_add(struct top *t, struct sym_frame *f)
{
	if (t->npool == t->apool) {
		t->apool = t->apool == 0 ? 4096 : t->apool * 2;
		t->pool = xreallocarray(t->pool, t->apool, sizeof *t->pool);
	}
	t->pool[t->npool++] = f;
}

/*
 * Reads the sites of snapshot ID with live blocks and the first LIMIT frames of each stack.
 * Returns 0, or -1 with *CAUSE set.
 */
static int
top_load(struct top *t, int64_t id, int64_t limit, char **cause)
{
	sqlite3_stmt *stmt;
	struct top_site *s = NULL;
	struct sym_frame *f;
	int64_t stack_id;
	int rc;

	/* Both tables are keyed so this is one merge in stack order, with no sorting. */
	stmt = db_prepare(t->db, "SELECT s.stack_id, s.live_bytes, s.live_blocks, sf.frame_id"
	    " FROM sites AS s LEFT JOIN stack_frames AS sf"
	    " ON sf.stack_id = s.stack_id AND sf.level < ?2"
	    " WHERE s.snapshot_id = ?1 AND s.live_blocks > 0"
	    " ORDER BY s.stack_id, sf.level", cause);
	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_int64(stmt, 2, limit);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		stack_id = sqlite3_column_int64(stmt, 0);
		if (s == NULL || s->stack_id != stack_id) {
			if (t->nsites == t->asites) {
				t->asites = t->asites == 0 ? 1024 : t->asites * 2;
				t->sites = xreallocarray(t->sites, t->asites, sizeof *t->sites);
			}
			s = &t->sites[t->nsites++];
			memset(s, 0, sizeof *s);
			s->stack_id = stack_id;
			s->bytes = sqlite3_column_int64(stmt, 1);
			s->blocks = sqlite3_column_int64(stmt, 2);
			s->first = t->npool;
			t->total_bytes += s->bytes;
			t->total_blocks += s->blocks;
		}
		if (sqlite3_column_type(stmt, 3) == SQLITE_NULL)
			continue;
		if ((f = symtab_frame(t->st, sqlite3_column_int64(stmt, 3), cause)) == NULL) {
			sqlite3_finalize(stmt);
			return -1;
		}
		top_pool_add(t, f);
		if (++s->n == limit)
			s->partial = 1;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		*cause = db_cause(t->db, rc);
		return -1;
	}
	return 0;
}

/*
 * Reads the rest of the stack of site S, whose loaded frames were all the allocator's: copies
 * its frames to the end of the pool and appends the others.  Returns 0, or -1 with *CAUSE set.
 */
static int
top_load_rest(struct top *t, struct top_site *s, char **cause)
{
	sqlite3_stmt *stmt;
	struct sym_frame *f;
	size_t first = t->npool;
	uint32_t i;
	int rc;

	if (t->rest_stmt == NULL && (t->rest_stmt = db_prepare(t->db, "SELECT frame_id"
	    " FROM stack_frames WHERE stack_id = ?1 AND level >= ?2 ORDER BY level", cause)) == NULL)
		return -1;
	stmt = t->rest_stmt;
	for (i = 0; i < s->n; i++)
		top_pool_add(t, t->pool[s->first + i]);
	sqlite3_bind_int64(stmt, 1, s->stack_id);
	sqlite3_bind_int64(stmt, 2, s->n);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if ((f = symtab_frame(t->st, sqlite3_column_int64(stmt, 0), cause)) == NULL) {
			sqlite3_reset(stmt);
			return -1;
		}
		top_pool_add(t, f);
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		*cause = db_cause(t->db, rc);
		return -1;
	}
	s->first = first;
	s->n = t->npool - first;
	s->partial = 0;
	return 0;
}

/* Appends F to the growing array *LIST of *N entries, *ALLOC allocated. */
static void
top_list_add(struct sym_frame ***list, size_t *n, size_t *alloc, struct sym_frame *f)
{
	if (*n == *alloc) {
		*alloc = *alloc == 0 ? 256 : *alloc * 2;
		*list = xreallocarray(*list, *alloc, sizeof **list);
	}
	(*list)[(*n)++] = f;
}

/*
 * Places every site: finds its key frame, the first one from the innermost that is not the
 * allocator's (the outermost if all are), resolving symbols in batches as the walk needs them,
 * then resolves every frame the report will show.  Returns 0, or -1 with *CAUSE set.
 */
static int
top_place(struct top *t, char **cause)
{
	struct sym_frame **need = NULL, *f;
	struct top_site *s;
	size_t nneed, aneed = 0, i;
	uint32_t k, end;
	int allocator;

	do {
		nneed = 0;
		for (i = 0; i < t->nsites; i++) {
			s = &t->sites[i];
			while (!s->placed) {
				if (s->pos == s->n) {
					if (s->partial) {
						if (top_load_rest(t, s, cause) != 0)
							goto fail;
						continue;
					}
					/* All the allocator's: keep the outermost frame. */
					s->pos = s->n > 0 ? s->n - 1 : 0;
					s->placed = 1;
					break;
				}
				f = t->pool[s->first + s->pos];
				if ((allocator = symtab_allocator(f)) < 0) {
					top_list_add(&need, &nneed, &aneed, f);
					break;
				}
				if (allocator == 0)
					s->placed = 1;
				else
					s->pos++;
			}
		}
		if (nneed > 0 && symtab_resolve(t->st, need, nneed, cause) != 0)
			goto fail;
	} while (nneed > 0);

	nneed = 0;
	for (i = 0; i < t->nsites; i++) {
		s = &t->sites[i];
		end = t->by == TOP_TRACEBACK ? s->n : (s->n > 0 ? s->pos + 1 : 0);
		for (k = s->pos; k < end; k++) {
			if (!t->pool[s->first + k]->resolved)
				top_list_add(&need, &nneed, &aneed, t->pool[s->first + k]);
		}
	}
	if (nneed > 0 && symtab_resolve(t->st, need, nneed, cause) != 0)
		goto fail;
	free(need);
	return 0;
fail:
	free(need);
	return -1;
}

/* Returns where F is when no file is known: "path+0xOFFSET", or its address. */
static char *
top_frame_address(const struct sym_frame *f)
{
	if (f->module != NULL)
		return xasprintf("%s+0x%llx", f->module->path, (unsigned long long)f->offset);
	return xasprintf("0x%llx", (unsigned long long)f->address);
}

/* Returns the location of inline level L of F: "file:line", or "path+0xOFFSET". */
static char *
top_level_location(const struct sym_frame *f, const struct sym_level *l)
{
	if (l == NULL || l->file == NULL)
		return top_frame_address(f);
	if (l->line > 0)
		return xasprintf("%s:%d", l->file, l->line);
	return xasprintf("%s:?", l->file);
}

/* Returns the lineno key of F: "file:line", or "path+0xOFFSET in function". */
static char *
top_frame_lineno(const struct sym_frame *f)
{
	const struct sym_level *l = f->nlevels > 0 ? &f->levels[0] : NULL;
	char *where, *s;

	where = top_level_location(f, l);
	if (l == NULL || l->file != NULL || l->function == NULL)
		return where;
	s = xasprintf("%s in %s", where, l->function);
	free(where);
	return s;
}

/* Returns the traceback text of F: one "location in function" line per inline level. */
static char *
top_frame_traceback(const struct sym_frame *f)
{
	char *text = NULL, *where, *s;
	unsigned int i;

	if (f->nlevels == 0)
		return top_frame_address(f);
	for (i = 0; i < f->nlevels; i++) {
		where = top_level_location(f, &f->levels[i]);
		s = xasprintf("%s%s%s%s%s%s", text != NULL ? text : "", text != NULL ? "\n" : "",
		    where, f->levels[i].function != NULL ? " in " : "",
		    f->levels[i].function != NULL ? f->levels[i].function : "",
		    i + 1 < f->nlevels ? " (inlined)" : "");
		free(where);
		free(text);
		text = s;
	}
	return text;
}

/* Returns the key text of frame F for grouping by BY, in a new string. */
static char *
top_frame_key(const struct sym_frame *f, enum top_by by)
{
	const struct sym_level *l = f->nlevels > 0 ? &f->levels[0] : NULL;

	switch (by) {
	case TOP_LINENO:
		break;
	case TOP_FILENAME:
		if (l != NULL && l->file != NULL)
			return xstrdup(l->file);
		return xstrdup(f->module != NULL ? f->module->path : "??");
	case TOP_FUNCTION:
		if (l != NULL && l->function != NULL)
			return xstrdup(l->function);
		return top_frame_address(f);
	case TOP_TRACEBACK:
		return top_frame_traceback(f);
	}
	return top_frame_lineno(f);
}

/* Groups the placed sites by key. */
static void
top_group(struct top *t)
{
	struct top_site *s;
	struct sym_frame *f;
	size_t i;
	uint32_t len, k;

	for (i = 0; i < t->nsites; i++) {
		s = &t->sites[i];
		if (s->n == 0)
			len = 0;
		else
			len = t->by == TOP_TRACEBACK ? s->n - s->pos : 1;
		for (k = 0; k < len; k++) {
			f = t->pool[s->first + s->pos + k];
			if (f->data == NULL)
				f->data = top_intern(t, top_frame_key(f, t->by));
		}
		top_group_add(t, i, len);
	}
}

/* The key text of element K of group G's key. */
static const char *
top_key_text(struct top *t, const struct top_group *g, uint32_t k)
{
	return ((struct top_str *)top_key_frames(t, &t->sites[g->site])[k]->data)->s;
}

/* The top being sorted, for top_cmp (qsort has no context argument). */
static struct top *top_sorting;

/* Orders groups by size, then count (descending), then key. */
static int
top_cmp(const void *a, const void *b)
{
	const struct top_group *ga = *(struct top_group *const *)a;
	const struct top_group *gb = *(struct top_group *const *)b;
	uint32_t k;
	int c;

	if (ga->bytes != gb->bytes)
		return ga->bytes > gb->bytes ? -1 : 1;
	if (ga->blocks != gb->blocks)
		return ga->blocks > gb->blocks ? -1 : 1;
	for (k = 0; k < ga->len && k < gb->len; k++) {
		c = strcmp(top_key_text(top_sorting, ga, k), top_key_text(top_sorting, gb, k));
		if (c != 0)
			return c;
	}
	return ga->len < gb->len ? -1 : ga->len > gb->len;
}

/* Collects the groups into t->sorted and sorts them. */
static void
top_sort(struct top *t)
{
	struct top_entry *e;
	size_t i, n = 0;

	t->sorted = xcalloc(t->groups.count, sizeof *t->sorted);
	for (i = 0; i < t->groups.nbuckets; i++) {
		for (e = t->groups.buckets[i]; e != NULL; e = e->next)
			t->sorted[n++] = (struct top_group *)e;
	}
	top_sorting = t;
	qsort(t->sorted, n, sizeof *t->sorted, top_cmp);
	top_sorting = NULL;

#ifndef NDEBUG
	{
		int64_t bytes = 0, blocks = 0;

		for (i = 0; i < n; i++) {
			bytes += t->sorted[i]->bytes;
			blocks += t->sorted[i]->blocks;
		}
		assert(n == t->groups.count && n <= t->nsites);
		assert(bytes == t->total_bytes && blocks == t->total_blocks);
	}
#endif
}

/* Returns the key frame of group G, or NULL if its stack is empty. */
static const struct sym_frame *
top_group_frame(struct top *t, const struct top_group *g)
{
	const struct top_site *s = &t->sites[g->site];

	return s->n > 0 ? t->pool[s->first + s->pos] : NULL;
}

/* Returns the one-line key of group G, in a new string: for traceback, its key frame's line. */
static char *
top_group_key(struct top *t, const struct top_group *g)
{
	const struct sym_frame *f = top_group_frame(t, g);

	if (f == NULL)
		return xstrdup("[no stack]");
	if (t->by == TOP_TRACEBACK)
		return top_frame_lineno(f);
	return xstrdup(top_key_text(t, g, 0));
}

/* Returns SIZE / COUNT rounded, 0 if COUNT is 0. */
static int64_t
top_average(int64_t size, int64_t count)
{
	return count > 0 ? (size + count / 2) / count : 0;
}

/* Returns PART as a percentage of the snapshot's total bytes. */
static double
top_percent(const struct top *t, int64_t part)
{
	return t->total_bytes > 0 ? 100.0 * (double)part / (double)t->total_bytes : 0.0;
}

/* One line of the text table: the numbers are widths on the first call and printed after. */
struct top_row {
	char	 size[32];	/* the size for people, "1.5 MiB" */
	int64_t	 bytes;		/* exact bytes */
	int64_t	 count;		/* blocks */
	double	 percent;	/* of the snapshot's bytes */
	char	*key;		/* what the line is about */
};

/* Column widths of the text table. */
struct top_widths {
	int	size;		/* of the size column */
	int	bytes;		/* of the bytes column */
	int	count;		/* of the count column */
	int	average;	/* of the average column */
};

/* Fills ROW. */
static void
top_row_set(struct top_row *row, const struct top *t, int64_t bytes, int64_t count, char *key)
{
	format_size(row->size, sizeof row->size, bytes);
	row->bytes = bytes;
	row->count = count;
	row->percent = top_percent(t, bytes);
	row->key = key;
}

/* Widens W to fit ROW. */
static void
top_row_measure(struct top_widths *w, const struct top_row *row)
{
	char buf[32];
	int n;

	if ((n = (int)strlen(row->size)) > w->size)
		w->size = n;
	if ((n = snprintf(buf, sizeof buf, "%lld", (long long)row->bytes)) > w->bytes)
		w->bytes = n;
	if ((n = snprintf(buf, sizeof buf, "%lld", (long long)row->count)) > w->count)
		w->count = n;
	n = snprintf(buf, sizeof buf, "%lld", (long long)top_average(row->bytes, row->count));
	if (n > w->average)
		w->average = n;
}

/* Prints ROW with widths W. */
static void
top_row_print(const struct top_widths *w, const struct top_row *row)
{
	printf("%*s  %*lld  %*lld  %*lld  %5.1f%%  %s\n", w->size, row->size, w->bytes,
	    (long long)row->bytes, w->count, (long long)row->count, w->average,
	    (long long)top_average(row->bytes, row->count), row->percent, row->key);
}

/* Prints the report as text: a header, one line per group, others, total. */
static void
top_print_text(struct top *t, const struct db_snapshot *snap, size_t shown)
{
	struct top_widths w = { 4, 5, 5, 7 };
	struct top_row *rows;
	const struct sym_frame *f;
	const char *text, *nl;
	char when[64];
	size_t nrows = 0, i, ngroups = t->groups.count;
	int64_t other_bytes = 0, other_blocks = 0;
	uint32_t k;

	format_time(when, sizeof when, snap->time);
	printf("snapshot %lld", (long long)snap->id);
	if (snap->label != NULL)
		printf(" %s", quote(snap->label));
	printf(" (%s, %s, %.3f s): %lld B in %lld %s; top %zu of %zu %s\n", snap->trigger, when,
	    snap->elapsed, (long long)t->total_bytes, (long long)t->total_blocks,
	    t->total_blocks == 1 ? "block" : "blocks", shown, ngroups,
	    ngroups == 1 ? top_by_noun[t->by] : top_by_nouns[t->by]);

	rows = xcalloc(shown + 2, sizeof *rows);
	for (i = 0; i < shown; i++) {
		top_row_set(&rows[nrows++], t, t->sorted[i]->bytes, t->sorted[i]->blocks,
		    top_group_key(t, t->sorted[i]));
	}
	if (shown < ngroups) {
		for (i = shown; i < ngroups; i++) {
			other_bytes += t->sorted[i]->bytes;
			other_blocks += t->sorted[i]->blocks;
		}
		top_row_set(&rows[nrows++], t, other_bytes, other_blocks,
		    xasprintf("(%zu other %s)", ngroups - shown,
		    ngroups - shown == 1 ? top_by_noun[t->by] : top_by_nouns[t->by]));
	}
	top_row_set(&rows[nrows++], t, t->total_bytes, t->total_blocks, xstrdup("total"));
	for (i = 0; i < nrows; i++)
		top_row_measure(&w, &rows[i]);

	printf("%*s  %*s  %*s  %*s  %6s  %s\n", w.size, "size", w.bytes, "bytes", w.count,
	    "count", w.average, "average", "%", t->by == TOP_TRACEBACK ? "traceback" :
	    top_by_names[t->by]);
	for (i = 0; i < nrows; i++) {
		top_row_print(&w, &rows[i]);
		if (t->by != TOP_TRACEBACK || i >= shown)
			continue;
		for (k = 0; k < t->sorted[i]->len; k++) {
			f = top_key_frames(t, &t->sites[t->sorted[i]->site])[k];
			/* Each inline level is a line of the frame's text. */
			for (text = ((struct top_str *)f->data)->s; text != NULL;
			    text = nl != NULL ? nl + 1 : NULL) {
				nl = strchr(text, '\n');
				printf("  %.*s\n", nl != NULL ? (int)(nl - text) : (int)strlen(text),
				    text);
			}
		}
	}
	for (i = 0; i < nrows; i++)
		free(rows[i].key);
	free(rows);
}

/* Prints the frames of group G as a JSON array of inline levels, innermost first. */
static void
top_print_json_traceback(struct top *t, const struct top_group *g)
{
	const struct sym_frame *f;
	const struct sym_level *l;
	unsigned int i, n;
	uint32_t k;
	int first = 1;

	fputs("[", stdout);
	for (k = 0; k < g->len; k++) {
		f = top_key_frames(t, &t->sites[g->site])[k];
		n = f->nlevels > 0 ? f->nlevels : 1;
		for (i = 0; i < n; i++) {
			l = f->nlevels > 0 ? &f->levels[i] : NULL;
			printf("%s{\"file\": ", first ? "" : ", ");
			first = 0;
			json_string(stdout, l != NULL ? l->file : NULL);
			if (l != NULL && l->line > 0)
				printf(", \"line\": %d", l->line);
			else
				fputs(", \"line\": null", stdout);
			fputs(", \"function\": ", stdout);
			json_string(stdout, l != NULL ? l->function : NULL);
			fputs(", \"module\": ", stdout);
			json_string(stdout, f->module != NULL ? f->module->path : NULL);
			printf(", \"offset\": %lld, \"inlined\": %s}", (long long)f->offset,
			    l != NULL && i + 1 < n ? "true" : "false");
		}
	}
	fputs("]", stdout);
}

/* Prints the report as JSON. */
static void
top_print_json(struct top *t, const struct db_snapshot *snap, size_t shown)
{
	const struct top_group *g;
	const struct sym_frame *f;
	const struct sym_level *l;
	int64_t other_bytes = 0, other_blocks = 0;
	size_t i, ngroups = t->groups.count;
	char *key;

	printf("{\"snapshot\": {\"id\": %lld, \"label\": ", (long long)snap->id);
	json_string(stdout, snap->label);
	fputs(", \"trigger\": ", stdout);
	json_string(stdout, snap->trigger);
	fputs(", \"time\": ", stdout);
	json_double(stdout, snap->time, 6);
	fputs(", \"elapsed\": ", stdout);
	json_double(stdout, snap->elapsed, 6);
	printf(", \"live_bytes\": %lld, \"live_blocks\": %lld},\n \"by\": \"%s\",\n \"stats\": [",
	    (long long)snap->live_bytes, (long long)snap->live_blocks, top_by_names[t->by]);
	for (i = 0; i < shown; i++) {
		g = t->sorted[i];
		f = top_group_frame(t, g);
		l = f != NULL && f->nlevels > 0 ? &f->levels[0] : NULL;
		key = top_group_key(t, g);
		printf("%s\n  {\"key\": ", i == 0 ? "" : ",");
		json_string(stdout, key);
		free(key);
		printf(", \"size\": %lld, \"count\": %lld, \"average\": %lld, \"percent\": ",
		    (long long)g->bytes, (long long)g->blocks,
		    (long long)top_average(g->bytes, g->blocks));
		json_double(stdout, top_percent(t, g->bytes), 3);
		switch (t->by) {
		case TOP_LINENO:
			fputs(", \"file\": ", stdout);
			json_string(stdout, l != NULL ? l->file : NULL);
			if (l != NULL && l->line > 0)
				printf(", \"line\": %d", l->line);
			else
				fputs(", \"line\": null", stdout);
			fputs(", \"function\": ", stdout);
			json_string(stdout, l != NULL ? l->function : NULL);
			break;
		case TOP_FILENAME:
			fputs(", \"file\": ", stdout);
			json_string(stdout, l != NULL ? l->file : NULL);
			break;
		case TOP_FUNCTION:
			fputs(", \"function\": ", stdout);
			json_string(stdout, l != NULL ? l->function : NULL);
			break;
		case TOP_TRACEBACK:
			fputs(", \"traceback\": ", stdout);
			top_print_json_traceback(t, g);
			break;
		}
		fputs("}", stdout);
	}
	for (i = shown; i < ngroups; i++) {
		other_bytes += t->sorted[i]->bytes;
		other_blocks += t->sorted[i]->blocks;
	}
	printf("%s],\n \"others\": {\"groups\": %zu, \"size\": %lld, \"count\": %lld},\n"
	    " \"total\": {\"groups\": %zu, \"size\": %lld, \"count\": %lld}}\n",
	    shown > 0 ? "\n " : "", ngroups - shown, (long long)other_bytes,
	    (long long)other_blocks, ngroups, (long long)t->total_bytes,
	    (long long)t->total_blocks);
}

/* Frees the entries of H and its buckets; each entry is freed by FREE_ENTRY. */
static void
top_hash_free(struct top_hash *h, void (*free_entry)(struct top_entry *))
{
	struct top_entry *e, *next;
	size_t i;

	for (i = 0; i < h->nbuckets; i++) {
		for (e = h->buckets[i]; e != NULL; e = next) {
			next = e->next;
			free_entry(e);
		}
	}
	free(h->buckets);
}

/* Frees an interned string. */
static void
top_str_free(struct top_entry *e)
{
	free(((struct top_str *)e)->s);
	free(e);
}

/* Frees a group. */
static void
top_group_free(struct top_entry *e)
{
	free(e);
}

/* Frees what T holds, except the database and symbol table. */
static void
top_free(struct top *t)
{
	top_hash_free(&t->strs, top_str_free);
	top_hash_free(&t->groups, top_group_free);
	sqlite3_finalize(t->rest_stmt);
	free(t->sorted);
	free(t->sites);
	free(t->pool);
}

/* Parses the -n argument S into *N; returns 0, or -1 if it is not a count. */
static int
top_parse_count(const char *s, size_t *n)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtoull(s, &end, 10);
	if (*end != '\0' || v > INT_MAX)
		return -1;
	*n = (size_t)v;
	return 0;
}

static enum cmd_retval
cmd_top_exec(int argc, char **argv, struct cmd_exit *exit_how, char **cause)
{
	static const struct option options[] = {
		{ "by", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	struct top t;
	struct db_snapshot snap;
	enum cmd_retval retval = CMD_RETURN_ERROR;
	size_t limit = 10, shown, i;
	int c, json = 0, found;

	(void)exit_how;
	memset(&t, 0, sizeof t);
	t.by = TOP_LINENO;
	while ((c = getopt_long(argc, argv, "n:", options, NULL)) != -1) {
		switch (c) {
		case 'b':
			found = 0;
			for (i = 0; i < sizeof top_by_names / sizeof top_by_names[0]; i++) {
				if (strcmp(optarg, top_by_names[i]) == 0) {
					t.by = (enum top_by)i;
					found = 1;
				}
			}
			if (!found) {
				*cause = xasprintf("bad --by %s (lineno, filename, function or"
				    " traceback)", quote(optarg));
				return CMD_RETURN_USAGE;
			}
			break;
		case 'n':
			if (top_parse_count(optarg, &limit) != 0) {
				*cause = xasprintf("bad -n %s (a count of lines, 0 for all)",
				    quote(optarg));
				return CMD_RETURN_USAGE;
			}
			break;
		case 'j':
			json = 1;
			break;
		default:
			return CMD_RETURN_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || argc > 2)
		return CMD_RETURN_USAGE;

	if ((t.db = db_open(argv[0], cause)) == NULL)
		return CMD_RETURN_ERROR;
	if (db_snapshot_find(t.db, argc > 1 ? argv[1] : NULL, &snap, cause) != 0) {
		db_close(t.db);
		return CMD_RETURN_ERROR;
	}
	if ((t.st = symtab_open(t.db, cause)) == NULL)
		goto out;
	top_hash_init(&t.strs);
	top_hash_init(&t.groups);
	if (top_load(&t, snap.id, t.by == TOP_TRACEBACK ? INT64_MAX : TOP_PREFETCH, cause) != 0)
		goto out;
	if (top_place(&t, cause) != 0)
		goto out;
	symtab_flush(t.st);
	top_group(&t);
	top_sort(&t);

	shown = limit == 0 || limit > t.groups.count ? t.groups.count : limit;
	if (json)
		top_print_json(&t, &snap, shown);
	else
		top_print_text(&t, &snap, shown);
	retval = CMD_RETURN_NORMAL;
out:
	top_free(&t);
	symtab_close(t.st);
	db_snapshot_clear(&snap);
	db_close(t.db);
	return retval;
}

const struct cmd_entry cmd_top_entry = {
	.name = "top",
	.usage = "FILE [SNAPSHOT] [--by lineno|filename|function|traceback] [-n N] [--json]",
	.help = "Show where the live memory of a snapshot (default: the last) was allocated.",
	.exec = cmd_top_exec
};
