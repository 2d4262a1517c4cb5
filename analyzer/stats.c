/*
 * Statistics of live memory by key, in the manner of tracemalloc's Snapshot.statistics() and
 * compare_to() for native code: what top, diff and leaks share.  A report is built in five steps.
 *
 * Load (stats_load): the sites table already sums the live blocks of each snapshot per stack, so
 * top and diff never read blocks.  A snapshot's sites are streamed in stack order (struct
 * stats_site), then the first few frame ids of each new stack by one join with stack_frames in
 * the same order, with no sorting (struct stats_slot; the slots of all sites share one array,
 * pool).  A report has one or two sides (top one, diff old and new) and one or two sources
 * (databases); leaks loads its own sums instead, its leaked blocks summed by SQLite per stack
 * and kind, a side per kind (stats_load_rows).
 * Two snapshots of one database share their stacks: the second load merges into the sites of
 * the first by stack id, so a site has the numbers of both sides and its frames once; the stacks
 * it adds get theirs by one more join, or when few, by a query each when needed.  Sites of two
 * databases are never merged: their stack and frame ids mean nothing to each other, and they
 * meet only in groups, whose keys are symbolic texts (file:line, file, function), never
 * addresses.
 *
 * Place (stats_place): the key frame of a site is the first frame, from the innermost, that is
 * not the allocator's (libc, the dynamic loader, the preload, operator new; symtab_allocator).
 * Deciding that needs the function of each frame outside those libraries, so placing goes in
 * rounds: walk every unplaced site as far as the known symbols allow, resolve the frames the
 * walks stopped at in one batch, repeat.  Only the frames a walk reaches are looked up, and only
 * those a report shows or filters test are ever symbolized; the many small queries this takes
 * run in one read transaction.
 *
 * Filter (stats_filter): --include and --exclude patterns are tested with fnmatch on the key
 * frame (or, with --all-frames, on every frame from it outward), as tracemalloc's Filter tests
 * the most recent frame or all of them.  A site is kept if some --include matches (or there is
 * none) and no --exclude does, and the caller has not dropped it: leaks places the sites
 * (stats_place_sites), tests its suppressions on their whole stacks (stats_resolve_stacks) and
 * drops those they match before grouping (stats_group_sites).  Each frame remembers which
 * patterns matched it.
 *
 * Group (stats_group): a frame's key text (its "file:line", file, function, or in traceback mode
 * all its lines) is interned (struct stats_str) and kept in the frame's struct stats_frame, so a
 * group key is a short array of interned pointers: the key frame's text, every frame's from the
 * key frame out for traceback, or, when cumulative, one key per inline level of every frame from
 * the key frame out, each counting the site once however often it recurs in the stack.  Groups
 * (struct stats_group) sum the kept sites with equal keys, per side.
 *
 * Sort (stats_sort): the groups a report shows are picked and ordered; the others are only
 * summed.  Frames' data, key texts and groups live in the report's arena.
 *
 * Python (py.c): a site whose stack has Python frames (a block of a CPython allocator domain,
 * stacks.py_depth > 0) is keyed on them instead, unless the report is --native: they are loaded
 * with the site, all of them, into pypool; the site is placed at once, its native frames never
 * resolved; filters test the file and function of its most recent Python frame (of every one
 * with --all-frames); its key is that frame's "file:line", file or function (co_qualname), or
 * for traceback every Python frame, the most recent call first.  Python key texts are interned
 * apart from native ones, so a Python site and a native site never share a group.
 *
 * Load and Place read the database, and are in stats-load.c.  Filter, Group and Sort, the keys
 * they make and print, and the options of a report are here: they see only the sites in memory
 * and the frames of their slots, so tests/unit/stats-test.c runs them on sites made by hand.
 *
 * Invariants (per side): total_bytes == sum of the kept sites' bytes == sum of the groups' bytes
 * unless cumulative, when each group's bytes <= total_bytes; likewise for blocks.
 */
#include "analyzer.h"

#include <assert.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "py.h"
#include "stats.h"
#include "symbols.h"

/* The --by names, in enum stats_by order (NULL-terminated), and what groups are called in text. */
const char *const stats_by_names[] = { "lineno", "filename", "function", "traceback", NULL };
const char *const stats_by_noun[] = { "line", "file", "function", "traceback" };
const char *const stats_by_nouns[] = { "lines", "files", "functions", "tracebacks" };

/* Returns the FNV-1a hash of S. */
static uint64_t
stats_hash_string(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

/* Makes H an empty table. */
static void
stats_hash_init(struct stats_hash *h)
{
	h->nbuckets = 1024;
	h->buckets = xcalloc(h->nbuckets, sizeof *h->buckets);
	h->count = 0;
}

/* Adds entry E, whose hash is set, to H; H grows to keep chains short. */
static void
stats_hash_insert(struct stats_hash *h, struct stats_entry *e)
{
	struct stats_entry **old, *o, *next;
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

/* Frees the buckets of H; its entries are the arena's. */
static void
stats_hash_free(struct stats_hash *h)
{
	free(h->buckets);
	h->buckets = NULL;
	h->nbuckets = h->count = 0;
}

/* Makes S an empty report: grouped by lineno, 10 groups shown, no filters, no sources. */
void
stats_init(struct stats *s)
{
	memset(s, 0, sizeof *s);
	s->by = STATS_LINENO;
	s->limit = 10;
	stats_hash_init(&s->strs);
	stats_hash_init(&s->groups);
}

/*
 * Frees what S holds but its sources, which stats_free closes first: the sites and the slots of
 * their frames, the key texts and the groups.  A report made by hand, as tests/unit/stats-test.c
 * makes them, has none and is freed by this alone.
 */
void
stats_clear(struct stats *s)
{
	/* The frames' data and the groups are in the arena; the frames are the symtabs'. */
	arena_free(&s->arena);
	stats_hash_free(&s->strs);
	stats_hash_free(&s->groups);
	free(s->sorted);
	free(s->scratch);
	free(s->sites);
	free(s->pool);
	free(s->pypool);
	memset(s, 0, sizeof *s);
}

/* How stats_set_args knows the options of stats_options. */
enum stats_opt {
	STATS_OPT_BY = 256,	/* --by (above the letters commands name their own options by) */
	STATS_OPT_CUMULATIVE,	/* --cumulative */
	STATS_OPT_INCLUDE,	/* --include */
	STATS_OPT_EXCLUDE,	/* --exclude */
	STATS_OPT_ALL_FRAMES,	/* --all-frames */
	STATS_OPT_NATIVE,	/* --native */
	STATS_OPT_LIMIT		/* -n */
};

/* The --help lines of the --by names, in stats_by_names order. */
static const char *const stats_by_help[] = {
	"group by the file:line of the key frame (the default): the first\n"
	"frame, from the innermost, outside the allocator; for a block of\n"
	"CPython's allocators, its most recent Python frame",
	"group by its source file (its module when the file is unknown)",
	"group by its function",
	"group by the whole stack from the key frame out (the Python\n"
	"traceback, the most recent call first)"
};

/* Checks that one more --include or --exclude pattern fits in STATS_MAX_FILTERS. */
static int
stats_check_filter(const struct args *args, const char *arg, char **cause)
{
	size_t i, n = 0;

	(void)arg;
	/* The patterns so far are the values this check has passed. */
	for (i = 0; i < args->nvalues; i++)
		n += args->values[i].option->check == stats_check_filter;
	if (n < STATS_MAX_FILTERS)
		return 0;
	*cause = xasprintf("too many --include and --exclude patterns (at most %d)",
	    STATS_MAX_FILTERS);
	return -1;
}

/* The report options, for the tables of top and diff; read by stats_set_args. */
const struct args_option stats_options[] = {
	{ .type = ARGS_CHOICE, .name = "by", .id = STATS_OPT_BY, .choices = stats_by_names,
	  .choice_help = stats_by_help },
	{ .type = ARGS_FLAG, .name = "cumulative", .id = STATS_OPT_CUMULATIVE,
	  .help = "count a block under every frame of its stack from the key frame\n"
	  "out, once per distinct key (not with --by traceback)" },
	{ .type = ARGS_STRING, .name = "include", .id = STATS_OPT_INCLUDE, .arg = "PATTERN",
	  .help_arg = "PAT", .check = stats_check_filter, .repeat = 1,
	  .help = "keep only the sites whose key frame matches the fnmatch pattern PAT:\n"
	  "its function, its file or module, or their last path component" },
	{ .type = ARGS_STRING, .name = "exclude", .id = STATS_OPT_EXCLUDE, .arg = "PATTERN",
	  .help_arg = "PAT", .check = stats_check_filter, .repeat = 1,
	  .help = "drop the sites whose key frame matches PAT" },
	{ .type = ARGS_FLAG, .name = "all-frames", .id = STATS_OPT_ALL_FRAMES,
	  .help = "test PAT on every frame from the key frame out, not only on it" },
	{ .type = ARGS_FLAG, .name = "native", .id = STATS_OPT_NATIVE,
	  .help = "key the blocks of CPython's allocators on their native frames\n"
	  "too, not on their Python frames" },
	{ .type = ARGS_NUMBER, .letter = 'n', .id = STATS_OPT_LIMIT, .arg = "N", .min = 0,
	  .max = INT_MAX, .what = "a count of lines, 0 for all",
	  .help = "show the first N keys (10 by default, 0 for all)" },
	{ .type = ARGS_END }
};

/*
 * Sets the options of S from the command line ARGS, whose values args_parse has checked, and
 * checks that they go together.  Returns 0, or -1 with *CAUSE set (a usage error).
 */
int
stats_set_args(struct stats *s, const struct args *args, char **cause)
{
	const struct args_value *v;
	size_t i;

	for (i = 0; i < args->nvalues; i++) {
		v = &args->values[i];
		switch (v->option->id) {
		case STATS_OPT_BY:
			s->by = (enum stats_by)v->number;
			break;
		case STATS_OPT_CUMULATIVE:
			s->cumulative = 1;
			break;
		case STATS_OPT_INCLUDE:
		case STATS_OPT_EXCLUDE:
			assert(s->nfilters < STATS_MAX_FILTERS);
			s->filters[s->nfilters].pattern = v->arg;
			s->filters[s->nfilters].inclusive = v->option->id == STATS_OPT_INCLUDE;
			if (v->option->id == STATS_OPT_INCLUDE)
				s->inclusive = 1;
			s->nfilters++;
			break;
		case STATS_OPT_ALL_FRAMES:
			s->all_frames = 1;
			break;
		case STATS_OPT_NATIVE:
			s->native = 1;
			break;
		case STATS_OPT_LIMIT:
			s->limit = (size_t)v->number;
			break;
		}
	}
	/* Every frame of a traceback is already in its key: there is nothing to accumulate. */
	if (s->cumulative && s->by == STATS_TRACEBACK) {
		*cause = xstrdup("--cumulative goes with --by lineno, filename or function");
		return -1;
	}
	return 0;
}

/* Returns frame K of SITE (0 = innermost), which stats_place has looked up. */
struct sym_frame *
stats_site_frame(const struct stats *s, const struct stats_site *site, uint32_t k)
{
	assert(k < site->n && s->pool[site->first + k].frame != NULL);
	return s->pool[site->first + k].frame;
}

/*
 * Returns the interned copy of TEXT, a Python frame's key if PYTHON is 1, then frees TEXT.  A
 * Python key never equals a native one: a Python function main is not the C function main.
 */
static struct stats_str *
stats_intern(struct stats *s, char *text, int python)
{
	struct stats_entry *e;
	struct stats_str *str;
	uint64_t hash = stats_hash_string(text) ^ (uint64_t)python;

	for (e = s->strs.buckets[hash & (s->strs.nbuckets - 1)]; e != NULL; e = e->next) {
		str = (struct stats_str *)e;
		if (e->hash == hash && str->python == python && strcmp(str->s, text) == 0)
			break;
	}
	if (e == NULL) {
		str = arena_alloc(&s->arena, sizeof *str);
		str->s = arena_strdup(&s->arena, text);
		str->python = python;
		str->entry.hash = hash;
		stats_hash_insert(&s->strs, &str->entry);
	}
	free(text);
	return str;
}

/*
 * Returns where F is when no file is known: "path+0xOFFSET", the module and the file address,
 * which do not change with the load address; the runtime address only for a frame in no module.
 */
static char *
stats_frame_address(const struct sym_frame *f)
{
	if (f->module != NULL)
		return xasprintf("%s+0x%llx", f->module->path, (unsigned long long)f->offset);
	return xasprintf("0x%llx", (unsigned long long)f->address);
}

/* Returns the location of inline level L of F: "file:line", or "path+0xOFFSET". */
static char *
stats_level_location(const struct sym_frame *f, const struct sym_level *l)
{
	if (l == NULL || l->file == NULL)
		return stats_frame_address(f);
	if (l->line > 0)
		return xasprintf("%s:%d", l->file, l->line);
	return xasprintf("%s:?", l->file);
}

/* Returns inline level LEVEL of F, or NULL if F has no symbols. */
static const struct sym_level *
stats_level(const struct sym_frame *f, unsigned int level)
{
	return level < f->nlevels ? &f->levels[level] : NULL;
}

/* Returns the lineno key of level LEVEL of F: "file:line", or "path+0xOFFSET in function". */
static char *
stats_level_lineno(const struct sym_frame *f, unsigned int level)
{
	const struct sym_level *l = stats_level(f, level);
	char *where, *text;

	where = stats_level_location(f, l);
	if (l == NULL || l->file != NULL || l->function == NULL)
		return where;
	text = xasprintf("%s in %s", where, l->function);
	free(where);
	return text;
}

/* Returns the traceback text of F: one "location in function" line per inline level. */
static char *
stats_frame_traceback(const struct sym_frame *f)
{
	char *text = NULL, *where, *next;
	unsigned int i;

	if (f->nlevels == 0)
		return stats_frame_address(f);
	for (i = 0; i < f->nlevels; i++) {
		where = stats_level_location(f, &f->levels[i]);
		next = xasprintf("%s%s%s%s%s%s", text != NULL ? text : "", text != NULL ? "\n" : "",
		    where, f->levels[i].function != NULL ? " in " : "",
		    f->levels[i].function != NULL ? f->levels[i].function : "",
		    i + 1 < f->nlevels ? " (inlined)" : "");
		free(where);
		free(text);
		text = next;
	}
	return text;
}

/* Returns the key text of inline level LEVEL of F for grouping by BY, in a new string. */
static char *
stats_level_key(const struct sym_frame *f, unsigned int level, enum stats_by by)
{
	const struct sym_level *l = stats_level(f, level);

	switch (by) {
	case STATS_LINENO:
		break;
	case STATS_FILENAME:
		if (l != NULL && l->file != NULL)
			return xstrdup(l->file);
		return xstrdup(f->module != NULL ? f->module->path : "??");
	case STATS_FUNCTION:
		if (l != NULL && l->function != NULL)
			return xstrdup(l->function);
		return stats_frame_address(f);
	case STATS_TRACEBACK:
		return stats_frame_traceback(f);
	}
	return stats_level_lineno(f, level);
}

/* Returns what stats keeps about the resolved frame F, making it on first use. */
static struct stats_frame *
stats_frame(struct stats *s, struct sym_frame *f)
{
	struct stats_frame *sf;
	unsigned int i, n;

	assert(f->resolved);
	if (f->data != NULL)
		return f->data;
	n = s->cumulative && f->nlevels > 1 ? f->nlevels : 1;
	sf = arena_alloc(&s->arena, sizeof *sf + n * sizeof sf->keys[0]);
	sf->nkeys = n;
	for (i = 0; i < n; i++)
		sf->keys[i] = stats_intern(s, stats_level_key(f, i, s->by), 0);
	f->data = sf;
	return sf;
}

/*
 * Returns the key text of the Python frame PF for grouping by BY, in a new string: "file:line",
 * the file, the function (its qualified name), or for traceback the line Python's own
 * tracebacks print, 'File "file", line N, in function'.  An unknown line is "?".
 */
static char *
stats_py_key(const struct py_frame *pf, enum stats_by by)
{
	char line[16];

	if (pf->line > 0)
		snprintf(line, sizeof line, "%d", pf->line);
	else
		snprintf(line, sizeof line, "?");
	switch (by) {
	case STATS_LINENO:
		break;
	case STATS_FILENAME:
		return xstrdup(pf->code->filename);
	case STATS_FUNCTION:
		return xstrdup(pf->code->name);
	case STATS_TRACEBACK:
		return xasprintf("File \"%s\", line %s, in %s", pf->code->filename, line,
		    pf->code->name);
	}
	return xasprintf("%s:%s", pf->code->filename, line);
}

/* Returns what stats keeps about the Python frame PF, making it on first use. */
static struct stats_frame *
stats_pyframe(struct stats *s, struct py_frame *pf)
{
	struct stats_frame *sf;

	if (pf->data != NULL)
		return pf->data;
	sf = arena_alloc(&s->arena, sizeof *sf + sizeof sf->keys[0]);
	sf->nkeys = 1;
	sf->keys[0] = stats_intern(s, stats_py_key(pf, s->by), 1);
	pf->data = sf;
	return sf;
}

/* Returns Python frame K of SITE (0 = the most recent call). */
static struct py_frame *
stats_site_pyframe(const struct stats *s, const struct stats_site *site, uint32_t k)
{
	assert(k < site->npy);
	return s->pypool[site->pyfirst + k];
}

/* Returns the last component of PATH. */
static const char *
stats_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

/* Returns 1 if PATTERN matches the file name PATH or its last component. */
static int
stats_match_path(const char *pattern, const char *path)
{
	return fnmatch(pattern, path, 0) == 0 || fnmatch(pattern, stats_basename(path), 0) == 0;
}

/*
 * Returns 1 if filter I matches F: its module, or the file or function of its innermost inline
 * level (of any level with --all-frames, where inlined functions count as frames).
 */
static int
stats_frame_matches(struct stats *s, struct sym_frame *f, unsigned int i)
{
	struct stats_frame *sf = stats_frame(s, f);
	const char *pattern = s->filters[i].pattern;
	const struct sym_level *l;
	unsigned int k, n;
	uint64_t bit = (uint64_t)1 << i;
	int match = 0;

	if (sf->tested & bit)
		return (sf->matched & bit) != 0;
	if (f->module != NULL && stats_match_path(pattern, f->module->path))
		match = 1;
	n = s->all_frames ? f->nlevels : (f->nlevels > 0 ? 1 : 0);
	for (k = 0; k < n && !match; k++) {
		l = &f->levels[k];
		if ((l->file != NULL && stats_match_path(pattern, l->file)) ||
		    (l->function != NULL && fnmatch(pattern, l->function, 0) == 0))
			match = 1;
	}
	sf->tested |= bit;
	if (match)
		sf->matched |= bit;
	return match;
}

/*
 * Returns 1 if filter I matches the Python frame PF: its file (or the file's last component) or
 * its function, the file being what tracemalloc's Filter tests.
 */
static int
stats_pyframe_matches(struct stats *s, struct py_frame *pf, unsigned int i)
{
	struct stats_frame *sf = stats_pyframe(s, pf);
	const char *pattern = s->filters[i].pattern;
	uint64_t bit = (uint64_t)1 << i;
	int match;

	if (sf->tested & bit)
		return (sf->matched & bit) != 0;
	match = stats_match_path(pattern, pf->code->filename) ||
	    fnmatch(pattern, pf->code->name, 0) == 0;
	sf->tested |= bit;
	if (match)
		sf->matched |= bit;
	return match;
}

/*
 * Returns 1 if filter I matches site SITE: its key frame, or any frame from it with all_frames;
 * for a site with Python frames, its most recent Python frame or any of them.
 */
static int
stats_site_matches(struct stats *s, const struct stats_site *site, unsigned int i)
{
	uint32_t k, end;

	if (site->npy > 0) {
		end = s->all_frames ? site->npy : 1;
		for (k = 0; k < end; k++) {
			if (stats_pyframe_matches(s, stats_site_pyframe(s, site, k), i))
				return 1;
		}
		return 0;
	}
	if (site->n == 0)
		return 0;
	end = s->all_frames ? site->n : site->pos + 1;
	for (k = site->pos; k < end; k++) {
		if (stats_frame_matches(s, stats_site_frame(s, site, k), i))
			return 1;
	}
	return 0;
}

/* Decides which sites the filters keep and sums them into the totals. */
static void
stats_filter(struct stats *s)
{
	struct stats_site *site;
	size_t i;
	unsigned int k, side;
	int included;

	for (i = 0; i < s->nsites; i++) {
		site = &s->sites[i];
		if (site->dropped) {
			site->kept = 0;
			continue;
		}
		included = !s->inclusive;
		for (k = 0; k < s->nfilters && !included; k++) {
			if (s->filters[k].inclusive && stats_site_matches(s, site, k))
				included = 1;
		}
		for (k = 0; k < s->nfilters && included; k++) {
			if (!s->filters[k].inclusive && stats_site_matches(s, site, k))
				included = 0;
		}
		if (!(site->kept = included))
			continue;
		for (side = 0; side < STATS_SIDES; side++) {
			s->total_bytes[side] += site->bytes[side];
			s->total_blocks[side] += site->blocks[side];
		}
	}
}

/* Makes room for a key of LEN texts in the scratch array. */
static void
stats_scratch_reserve(struct stats *s, size_t len)
{
	if (len > s->ascratch) {
		s->ascratch = len < 64 ? 64 : len;
		s->scratch = xreallocarray(s->scratch, s->ascratch, sizeof *s->scratch);
	}
}

/*
 * Adds site SI to the group whose key is the LEN texts in s->scratch, creating the group, of
 * frame F and inline level LEVEL or of Python frame PF, if needed.  A site is added to a group
 * at most once.
 */
static void
stats_group_add(struct stats *s, size_t si, uint32_t len, const struct sym_frame *f,
    const struct py_frame *pf, unsigned int level)
{
	struct stats_site *site = &s->sites[si];
	struct stats_entry *e;
	struct stats_group *g = NULL;
	uint64_t hash = 0x84222325cbf29ce4ULL;
	uint32_t k;
	unsigned int side;

	for (k = 0; k < len; k++)
		hash = (hash ^ s->scratch[k]->entry.hash) * 0x100000001b3ULL;
	for (e = s->groups.buckets[hash & (s->groups.nbuckets - 1)]; e != NULL; e = e->next) {
		g = (struct stats_group *)e;
		if (e->hash == hash && g->len == len &&
		    memcmp(g->key, s->scratch, len * sizeof *s->scratch) == 0)
			break;
	}
	if (e == NULL) {
		g = arena_alloc(&s->arena, sizeof *g + len * sizeof g->key[0]);
		g->site = si;
		g->frame = f;
		g->pyframe = pf;
		g->level = level;
		g->len = len;
		memcpy(g->key, s->scratch, len * sizeof *s->scratch);
		g->entry.hash = hash;
		stats_hash_insert(&s->groups, &g->entry);
	}
	if (!s->cumulative)
		site->group = g;
	if (g->stamp == si + 1)
		return;
	g->stamp = si + 1;
	for (side = 0; side < STATS_SIDES; side++) {
		g->bytes[side] += site->bytes[side];
		g->blocks[side] += site->blocks[side];
	}
}

/*
 * Adds the kept site SI, which has Python frames, to its groups: by the key of its most recent
 * Python frame, of every one of them for traceback (most recent call first), or of each once
 * when cumulative.
 */
static void
stats_group_py(struct stats *s, size_t si)
{
	const struct stats_site *site = &s->sites[si];
	struct py_frame *pf;
	uint32_t k, npy = site->npy;

	if (s->cumulative || s->by != STATS_TRACEBACK) {
		stats_scratch_reserve(s, 1);
		for (k = 0; k < (s->cumulative ? npy : 1); k++) {
			pf = stats_site_pyframe(s, site, k);
			s->scratch[0] = stats_pyframe(s, pf)->keys[0];
			stats_group_add(s, si, 1, NULL, pf, 0);
		}
		return;
	}
	stats_scratch_reserve(s, npy);
	for (k = 0; k < npy; k++)
		s->scratch[k] = stats_pyframe(s, stats_site_pyframe(s, site, k))->keys[0];
	stats_group_add(s, si, npy, NULL, stats_site_pyframe(s, site, 0), 0);
}

/* Groups the kept sites by key. */
static void
stats_group(struct stats *s)
{
	struct stats_site *site;
	struct stats_frame *sf;
	struct sym_frame *f;
	size_t i;
	uint32_t k;
	unsigned int l;

	for (i = 0; i < s->nsites; i++) {
		site = &s->sites[i];
		if (!site->kept)
			continue;
		if (site->npy > 0) {
			stats_group_py(s, i);
			continue;
		}
		if (site->n == 0) {
			stats_group_add(s, i, 0, NULL, NULL, 0);
			continue;
		}
		if (s->cumulative) {
			/* One key per inline level of every frame: the site counts once in each. */
			stats_scratch_reserve(s, 1);
			for (k = site->pos; k < site->n; k++) {
				f = stats_site_frame(s, site, k);
				sf = stats_frame(s, f);
				for (l = 0; l < sf->nkeys; l++) {
					s->scratch[0] = sf->keys[l];
					stats_group_add(s, i, 1, f, NULL, l);
				}
			}
			continue;
		}
		if (s->by != STATS_TRACEBACK) {
			stats_scratch_reserve(s, 1);
			f = stats_site_frame(s, site, site->pos);
			s->scratch[0] = stats_frame(s, f)->keys[0];
			stats_group_add(s, i, 1, f, NULL, 0);
			continue;
		}
		stats_scratch_reserve(s, site->n - site->pos);
		for (k = site->pos; k < site->n; k++) {
			f = stats_site_frame(s, site, k);
			s->scratch[k - site->pos] = stats_frame(s, f)->keys[0];
		}
		stats_group_add(s, i, site->n - site->pos, stats_site_frame(s, site, site->pos), NULL,
		    0);
	}
}

/* Filters and groups the placed sites, the second half of stats_compute. */
void
stats_group_sites(struct stats *s)
{
	stats_filter(s);
	stats_group(s);
}

/*
 * Orders the keys of groups A and B by text, element by element, native before Python on equal
 * texts; shorter first on a tie.
 */
int
stats_key_cmp(const struct stats_group *a, const struct stats_group *b)
{
	uint32_t k;
	int c;

	for (k = 0; k < a->len && k < b->len; k++) {
		if (a->key[k] == b->key[k])
			continue;
		if ((c = strcmp(a->key[k]->s, b->key[k]->s)) != 0)
			return c;
		if (a->key[k]->python != b->key[k]->python)
			return a->key[k]->python - b->key[k]->python;
	}
	return a->len < b->len ? -1 : a->len > b->len;
}

/* Orders A before B if A is larger, descending: returns -1, 0 or 1 for qsort. */
static int
stats_desc(int64_t a, int64_t b)
{
	return a > b ? -1 : a < b;
}

/* Orders groups by size, then count (both descending), then key: Snapshot.statistics(). */
static int
stats_cmp_top(const void *a, const void *b)
{
	const struct stats_group *ga = *(struct stats_group *const *)a;
	const struct stats_group *gb = *(struct stats_group *const *)b;
	int c;

	if ((c = stats_desc(ga->bytes[0], gb->bytes[0])) != 0)
		return c;
	if ((c = stats_desc(ga->blocks[0], gb->blocks[0])) != 0)
		return c;
	return stats_key_cmp(ga, gb);
}

/* Returns the absolute value of V (sums of int64_t sizes are far from INT64_MIN). */
static int64_t
stats_abs(int64_t v)
{
	return v < 0 ? -v : v;
}

/*
 * Orders groups by |size difference|, new size, |count difference|, new count, all descending,
 * then key: Snapshot.compare_to().
 */
static int
stats_cmp_diff(const void *a, const void *b)
{
	const struct stats_group *ga = *(struct stats_group *const *)a;
	const struct stats_group *gb = *(struct stats_group *const *)b;
	int c;

	if ((c = stats_desc(stats_abs(ga->bytes[1] - ga->bytes[0]),
	    stats_abs(gb->bytes[1] - gb->bytes[0]))) != 0)
		return c;
	if ((c = stats_desc(ga->bytes[1], gb->bytes[1])) != 0)
		return c;
	if ((c = stats_desc(stats_abs(ga->blocks[1] - ga->blocks[0]),
	    stats_abs(gb->blocks[1] - gb->blocks[0]))) != 0)
		return c;
	if ((c = stats_desc(ga->blocks[1], gb->blocks[1])) != 0)
		return c;
	return stats_key_cmp(ga, gb);
}

/* Returns the number of groups a report shows: -n of them, or all. */
size_t
stats_shown(const struct stats *s)
{
	return s->limit == 0 || s->limit > s->groups.count ? s->groups.count : s->limit;
}

/* Moves entry I of the heap H of N groups down: each entry sorts after its children. */
static void
stats_heap_down(struct stats_group **h, size_t n, size_t i,
    int (*cmp)(const void *, const void *))
{
	struct stats_group *tmp;
	size_t c;

	while ((c = 2 * i + 1) < n) {
		if (c + 1 < n && cmp(&h[c + 1], &h[c]) > 0)
			c++;
		if (cmp(&h[c], &h[i]) <= 0)
			break;
		tmp = h[i];
		h[i] = h[c];
		h[c] = tmp;
		i = c;
	}
}

/*
 * Collects the groups into s->sorted, the first stats_shown() of them in order for top, or for
 * diff if DIFF is set, and the others after them in no order (only their sums are shown).  A
 * heap of the first ones picks them in one pass: sorting every group would cost more than the
 * rest of a large report.
 */
void
stats_sort(struct stats *s, int diff)
{
	int (*cmp)(const void *, const void *) = diff ? stats_cmp_diff : stats_cmp_top;
	struct stats_group *tmp;
	struct stats_entry *e;
	size_t i, n = 0, k = stats_shown(s);

	s->sorted = xcalloc(s->groups.count + 1, sizeof *s->sorted);
	for (i = 0; i < s->groups.nbuckets; i++) {
		for (e = s->groups.buckets[i]; e != NULL; e = e->next)
			s->sorted[n++] = (struct stats_group *)e;
	}
	if (k < n) {
		/* sorted[0 .. k - 1]: a heap whose root is the last of the first k seen so far. */
		for (i = k / 2; i-- > 0;)
			stats_heap_down(s->sorted, k, i, cmp);
		for (i = k; i < n && k > 0; i++) {
			if (cmp(&s->sorted[i], &s->sorted[0]) >= 0)
				continue;
			tmp = s->sorted[0];
			s->sorted[0] = s->sorted[i];
			s->sorted[i] = tmp;
			stats_heap_down(s->sorted, k, 0, cmp);
		}
	}
	qsort(s->sorted, k, sizeof *s->sorted, cmp);

#ifndef NDEBUG
	{
		int64_t bytes[STATS_SIDES] = { 0 }, blocks[STATS_SIDES] = { 0 };
		unsigned int side;

		assert(n == s->groups.count);
		for (i = 0; i < n; i++) {
			for (side = 0; side < STATS_SIDES; side++) {
				bytes[side] += s->sorted[i]->bytes[side];
				blocks[side] += s->sorted[i]->blocks[side];
				assert(s->sorted[i]->bytes[side] <= s->total_bytes[side]);
			}
		}
		for (side = 0; side < STATS_SIDES && !s->cumulative; side++)
			assert(bytes[side] == s->total_bytes[side] &&
			    blocks[side] == s->total_blocks[side]);
	}
#endif
}

/*
 * Returns the one-line key of group G, in a new string: its key text, or for traceback the
 * lineno key of its key frame (of its most recent Python frame).
 */
char *
stats_group_key(const struct stats *s, const struct stats_group *g)
{
	if (g->pyframe != NULL)
		return s->by == STATS_TRACEBACK ? stats_py_key(g->pyframe, STATS_LINENO) :
		    xstrdup(g->key[0]->s);
	if (g->frame == NULL)
		return xstrdup("[no stack]");
	if (s->by == STATS_TRACEBACK)
		return stats_level_lineno(g->frame, 0);
	return xstrdup(g->key[0]->s);
}

/*
 * Returns where group G was allocated, in a new string: for traceback the first line of its
 * traceback, "file:line in function" of the innermost inline level of its key frame; otherwise
 * its key.
 */
char *
stats_group_site(const struct stats *s, const struct stats_group *g)
{
	const char *nl;

	if (s->by != STATS_TRACEBACK)
		return stats_group_key(s, g);
	if (g->len == 0)
		return xstrdup("[no stack]");
	nl = strchr(g->key[0]->s, '\n');
	return xasprintf("%.*s", nl != NULL ? (int)(nl - g->key[0]->s) : (int)strlen(g->key[0]->s),
	    g->key[0]->s);
}

/*
 * Prints the traceback of group G on stdout, if the report is by traceback: each inline level
 * of each frame, innermost first, or each Python frame, the most recent call first, on a line
 * of its own after INDENT.
 */
void
stats_print_traceback(const struct stats *s, const struct stats_group *g, const char *indent)
{
	const char *text, *nl;
	uint32_t k;

	if (s->by != STATS_TRACEBACK)
		return;
	/* Each inline level of each frame is a line of the frame's key text. */
	for (k = 0; k < g->len; k++) {
		for (text = g->key[k]->s; text != NULL; text = nl != NULL ? nl + 1 : NULL) {
			nl = strchr(text, '\n');
			printf("%s%.*s\n", indent,
			    nl != NULL ? (int)(nl - text) : (int)strlen(text), text);
		}
	}
}

/*
 * Returns the key of group G on one line, in a new string: for traceback, the lines of all its
 * frames joined by SEP, innermost first.
 */
char *
stats_group_traceback(const struct stats *s, const struct stats_group *g, const char *sep)
{
	char *text = NULL, *next;
	const char *line, *nl;
	uint32_t k;

	if (s->by != STATS_TRACEBACK || g->len == 0)
		return stats_group_key(s, g);
	for (k = 0; k < g->len; k++) {
		for (line = g->key[k]->s; line != NULL; line = nl != NULL ? nl + 1 : NULL) {
			nl = strchr(line, '\n');
			next = xasprintf("%s%s%.*s", text != NULL ? text : "",
			    text != NULL ? sep : "", nl != NULL ? (int)(nl - line) :
			    (int)strlen(line), line);
			free(text);
			text = next;
		}
	}
	return text;
}

/*
 * Prints FILE, LINE and FUNCTION as the JSON members file, line and function, each after a
 * comma; NULL and a line of 0 (unknown) print as null.
 */
static void
stats_print_json_location(const char *file, int line, const char *function)
{
	fputs(", \"file\": ", stdout);
	json_string(stdout, file);
	if (line > 0)
		printf(", \"line\": %d", line);
	else
		fputs(", \"line\": null", stdout);
	fputs(", \"function\": ", stdout);
	json_string(stdout, function);
}

/* Prints the Python frame PF as the JSON members file, line and function, each after a comma. */
static void
stats_print_json_pyframe(const struct py_frame *pf)
{
	stats_print_json_location(pf->code->filename, pf->line, pf->code->name);
}

/* stats_print_json_pyframe for the inline level L of a native frame (NULL: unknown). */
static void
stats_print_json_level(const struct sym_level *l)
{
	stats_print_json_location(l != NULL ? l->file : NULL, l != NULL ? l->line : 0,
	    l != NULL ? l->function : NULL);
}

/*
 * Prints the frames of group G as a JSON array of inline levels, innermost first, or of Python
 * frames, the most recent call first, which have no module, offset or inline levels.
 */
void
stats_print_json_traceback(const struct stats *s, const struct stats_group *g)
{
	const struct stats_site *site = &s->sites[g->site];
	const struct sym_frame *f;
	const struct sym_level *l;
	unsigned int i, n;
	uint32_t k;
	int first = 1;

	fputs("[", stdout);
	for (k = 0; k < g->len && g->pyframe != NULL; k++) {
		printf("%s{\"python\": true", k == 0 ? "" : ", ");
		stats_print_json_pyframe(stats_site_pyframe(s, site, k));
		fputs(", \"module\": null, \"offset\": null, \"inlined\": false}", stdout);
	}
	for (k = 0; k < g->len && g->pyframe == NULL; k++) {
		f = stats_site_frame(s, site, site->pos + k);
		n = f->nlevels > 0 ? f->nlevels : 1;
		for (i = 0; i < n; i++) {
			l = stats_level(f, i);
			printf("%s{\"python\": false", first ? "" : ", ");
			first = 0;
			stats_print_json_level(l);
			fputs(", \"module\": ", stdout);
			json_string(stdout, f->module != NULL ? f->module->path : NULL);
			printf(", \"offset\": %lld, \"inlined\": %s}", (long long)f->offset,
			    l != NULL && i + 1 < n ? "true" : "false");
		}
	}
	fputs("]", stdout);
}

/*
 * Prints the JSON members that describe the key of group G, each after a comma: whether it is
 * of Python frames, then by lineno its file, line and function; by filename its file; by
 * function its function; by traceback its frames.
 */
void
stats_print_json_key(const struct stats *s, const struct stats_group *g)
{
	const struct sym_level *l = g->frame != NULL ? stats_level(g->frame, g->level) : NULL;
	const char *file = l != NULL ? l->file : NULL, *function = l != NULL ? l->function : NULL;
	int line = l != NULL ? l->line : 0;

	if (g->pyframe != NULL) {
		file = g->pyframe->code->filename;
		line = g->pyframe->line;
		function = g->pyframe->code->name;
	}
	printf(", \"python\": %s", g->pyframe != NULL ? "true" : "false");
	switch (s->by) {
	case STATS_LINENO:
		stats_print_json_location(file, line, function);
		break;
	case STATS_FILENAME:
		fputs(", \"file\": ", stdout);
		json_string(stdout, file);
		break;
	case STATS_FUNCTION:
		fputs(", \"function\": ", stdout);
		json_string(stdout, function);
		break;
	case STATS_TRACEBACK:
		fputs(", \"traceback\": ", stdout);
		stats_print_json_traceback(s, g);
		break;
	}
}
