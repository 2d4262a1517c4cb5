/*
 * Unit test of analyzer/stats.c, a TAP program: the Filter, Group and Sort steps of a report on
 * sites made by hand, with no database.  Each case builds a report as stats-load.c leaves one
 * (sites placed, their frames resolved: struct sym_frame with its inline levels, or Python frames
 * of struct pytab_code), sets the options as stats_set_args would, groups and sorts, and
 * compares the groups, in order, with their keys and numbers written out by hand: grouping by
 * line, file, function and traceback, the key frame past the allocator's frames, totals,
 * tracemalloc's statistics() and compare_to() orders, cumulative counting (a block once per
 * distinct key, inline levels included), --include and --exclude on the key frame or every
 * frame, dropped sites, Python keys apart from native ones, sites without a stack, and the first
 * -n groups picked by the heap against a full sort.  Then stats_set_args on a command line as
 * args_parse leaves one.
 */
#include "analyzer.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "py.h"
#include "stats.h"
#include "symbols.h"
#include "tap.h"

/* Number of TAP tests. */
#define TEST_PLAN 26

/* Frames and Python frames of the case being run, freed at once by test_end. */
static struct arena test_arena;
/* The modules of the frames. */
static struct sym_module test_prog = { .path = "/usr/bin/prog" };
static struct sym_module test_libz = { .path = "/usr/lib/libz.so.1" };

/* The code objects of the Python frames. */
static const struct pytab_code test_code_f = { 1, "/app/a.py", "f" };
static const struct pytab_code test_code_mod = { 2, "/app/b.py", "<module>" };

/* Prints a TAP line comparing the text GOT with WANT, freeing GOT. */
static void
test_is(char *got, const char *want, const char *name)
{
	tap_ok(strcmp(got, want) == 0, "%s", name);
	if (strcmp(got, want) != 0)
		printf("# got:  %s\n# want: %s\n", got, want);
	free(got);
}

/*
 * Returns a resolved frame of the program at OFFSET with one inline level, FUNCTION in FILE at
 * LINE; none if FUNCTION and FILE are NULL (a frame without symbols).
 */
static struct sym_frame *
test_frame(int64_t offset, const char *function, const char *file, int line)
{
	struct sym_frame *f = arena_alloc(&test_arena, sizeof *f);

	memset(f, 0, sizeof *f);
	f->offset = offset;
	f->address = 0x400000 + offset;
	f->module = &test_prog;
	f->resolved = 1;
	if (function != NULL || file != NULL) {
		f->levels = arena_alloc(&test_arena, sizeof *f->levels);
		f->levels[0].function = (char *)function;
		f->levels[0].file = (char *)file;
		f->levels[0].line = line;
		f->nlevels = 1;
	}
	return f;
}

/* Returns a frame like test_frame's whose function INNER at FILE:LINE was inlined into OUTER. */
static struct sym_frame *
test_inlined(int64_t offset, const char *inner, const char *file, int line, const char *outer,
    const char *outer_file, int outer_line)
{
	struct sym_frame *f = test_frame(offset, inner, file, line);

	f->levels = arena_alloc(&test_arena, 2 * sizeof *f->levels);
	f->levels[0] = (struct sym_level){ (char *)inner, (char *)file, line };
	f->levels[1] = (struct sym_level){ (char *)outer, (char *)outer_file, outer_line };
	f->nlevels = 2;
	return f;
}

/* Returns a Python frame of CODE at LINE. */
static struct py_frame *
test_pyframe(const struct pytab_code *code, int line)
{
	struct py_frame *pf = arena_alloc(&test_arena, sizeof *pf);

	memset(pf, 0, sizeof *pf);
	pf->code = code;
	pf->line = line;
	return pf;
}

/* Makes S an empty report grouped by BY, cumulative if CUMULATIVE, showing every group. */
static void
test_begin(struct stats *s, enum stats_by by, int cumulative)
{
	stats_init(s);
	s->by = by;
	s->cumulative = cumulative;
	s->limit = 0;
}

/* Adds to S a site with bytes and blocks on sides 0 and 1; returns it, with no frames. */
static struct stats_site *
test_site_add(struct stats *s, int64_t bytes0, int64_t blocks0, int64_t bytes1, int64_t blocks1)
{
	struct stats_site *site;

	s->sites = xreallocarray(s->sites, s->nsites + 1, sizeof *s->sites);
	site = &s->sites[s->nsites++];
	memset(site, 0, sizeof *site);
	site->stack_id = (int64_t)s->nsites;
	site->bytes[0] = bytes0;
	site->blocks[0] = blocks0;
	site->bytes[1] = bytes1;
	site->blocks[1] = blocks1;
	site->first = s->npool;
	site->pyfirst = s->npypool;
	site->placed = 1;
	return site;
}

/*
 * Adds to S a placed site of BYTES in BLOCKS on side 0 (and OLD_BYTES in OLD_BLOCKS on side 1,
 * for diff) whose stack is the N frames after N, innermost first, with its key frame at POS.
 */
static struct stats_site *
test_site(struct stats *s, int64_t bytes, int64_t blocks, uint32_t pos, uint32_t n, ...)
{
	struct stats_site *site = test_site_add(s, bytes, blocks, 0, 0);
	va_list ap;
	uint32_t k;

	va_start(ap, n);
	for (k = 0; k < n; k++) {
		s->pool = xreallocarray(s->pool, s->npool + 1, sizeof *s->pool);
		s->pool[s->npool].frame = va_arg(ap, struct sym_frame *);
		s->pool[s->npool].id = (int64_t)s->npool + 1;
		s->npool++;
	}
	va_end(ap);
	site->n = n;
	site->pos = pos;
	return site;
}

/* Adds to S a site of BYTES in BLOCKS keyed on the N Python frames after N, most recent first. */
static struct stats_site *
test_site_py(struct stats *s, int64_t bytes, int64_t blocks, uint32_t n, ...)
{
	struct stats_site *site = test_site_add(s, bytes, blocks, 0, 0);
	va_list ap;
	uint32_t k;

	va_start(ap, n);
	for (k = 0; k < n; k++) {
		s->pypool = xreallocarray(s->pypool, s->npypool + 1, sizeof *s->pypool);
		s->pypool[s->npypool++] = va_arg(ap, struct py_frame *);
	}
	va_end(ap);
	site->npy = n;
	return site;
}

/* Makes site SITE a site of diff: OLD_BYTES in OLD_BLOCKS on side 0, its numbers on side 1. */
static void
test_diff_site(struct stats_site *site, int64_t old_bytes, int64_t old_blocks)
{
	site->bytes[1] = site->bytes[0];
	site->blocks[1] = site->blocks[0];
	site->bytes[0] = old_bytes;
	site->blocks[0] = old_blocks;
}

/*
 * Groups and sorts S, for diff if DIFF, and returns the groups shown, in order, as "KEY SIZE
 * COUNT" (for diff "KEY SIZE SIZE_DIFF COUNT COUNT_DIFF" of the new side) joined by "; ", where
 * KEY is the one-line key, the frames joined by " <- " for traceback, marked "(py)" for a key of
 * Python frames.  In a new string.
 */
static char *
test_report(struct stats *s, int diff)
{
	const struct stats_group *g;
	char *text = xstrdup(""), *key, *next;
	size_t i;

	stats_group_sites(s);
	stats_sort(s, diff);
	for (i = 0; i < stats_shown(s); i++) {
		g = s->sorted[i];
		key = stats_group_traceback(s, g, " <- ");
		if (diff)
			next = xasprintf("%s%s%s%s %" PRId64 " %+" PRId64 " %" PRId64 " %+" PRId64,
			    text, i > 0 ? "; " : "", key, g->pyframe != NULL ? " (py)" : "",
			    g->bytes[1], g->bytes[1] - g->bytes[0], g->blocks[1],
			    g->blocks[1] - g->blocks[0]);
		else
			next = xasprintf("%s%s%s%s %" PRId64 " %" PRId64, text, i > 0 ? "; " : "",
			    key, g->pyframe != NULL ? " (py)" : "", g->bytes[0], g->blocks[0]);
		free(key);
		free(text);
		text = next;
	}
	return text;
}

/* Frees the report S and the frames of the case. */
static void
test_end(struct stats *s)
{
	stats_clear(s);
	arena_free(&test_arena);
}

/* The frames of the native cases, made again for each (a frame's data is one report's). */
struct test_frames {
	struct sym_frame	*fa;	/* fa at a.c:10 */
	struct sym_frame	*fb;	/* fb at a.c:20 */
	struct sym_frame	*fc;	/* fc at b.c:7 */
	struct sym_frame	*main;	/* main at main.c:5 */
	struct sym_frame	*alloc;	/* a frame without symbols, inside the key frame */
};

/*
 * Makes the native frames into F and adds the sites of most cases to S:
 *   100 B in 1 block from fa <- main, 200 B in 2 from fa <- fb <- main, 300 B in 1 from
 *   fb <- main, 50 B in 5 from main under a frame inside the key frame, 300 B in 3 from fc.
 */
static void
test_native_sites(struct stats *s, struct test_frames *f)
{
	f->fa = test_frame(0x10, "fa", "a.c", 10);
	f->fb = test_frame(0x20, "fb", "a.c", 20);
	f->fc = test_frame(0x30, "fc", "b.c", 7);
	f->main = test_frame(0x40, "main", "main.c", 5);
	f->alloc = test_frame(0x50, NULL, NULL, 0);
	test_site(s, 100, 1, 0, 2, f->fa, f->main);
	test_site(s, 200, 2, 0, 3, f->fa, f->fb, f->main);
	test_site(s, 300, 1, 0, 2, f->fb, f->main);
	test_site(s, 50, 5, 1, 2, f->alloc, f->main);
	test_site(s, 300, 3, 0, 1, f->fc);
}

/* Groups the native sites by BY and checks the groups against WANT, as NAME. */
static void
test_native(enum stats_by by, const char *want, const char *name)
{
	struct stats s;
	struct test_frames f;

	test_begin(&s, by, 0);
	test_native_sites(&s, &f);
	test_is(test_report(&s, 0), want, name);
	test_end(&s);
}

/* Groups by lineno and checks the totals and the number of groups. */
static void
test_totals(void)
{
	struct stats s;
	struct test_frames f;

	test_begin(&s, STATS_LINENO, 0);
	test_native_sites(&s, &f);
	free(test_report(&s, 0));
	tap_ok(s.total_bytes[0] == 950 && s.total_blocks[0] == 12 && s.groups.count == 4,
	    "totals: 950 B in 12 blocks, in 4 groups");
	test_end(&s);
}

/*
 * Cumulative by function: a block counts once under every function from its key frame out,
 * however often it recurs (rec), and under each inline level of a frame (helper inlined into fo).
 */
static void
test_cumulative(void)
{
	struct stats s;
	struct test_frames f;
	struct sym_frame *rec3, *rec4, *fi;
	size_t i;
	int within = 1;

	test_begin(&s, STATS_FUNCTION, 1);
	test_native_sites(&s, &f);
	rec3 = test_frame(0x60, "rec", "r.c", 3);
	rec4 = test_frame(0x64, "rec", "r.c", 4);
	fi = test_inlined(0x70, "helper", "h.h", 2, "fo", "o.c", 9);
	test_site(&s, 1000, 10, 0, 4, rec3, rec3, rec4, f.main);
	test_site(&s, 10, 1, 0, 2, fi, f.main);
	test_is(test_report(&s, 0), "main 1660 20; rec 1000 10; fb 500 3; fa 300 3; fc 300 3; "
	    "fo 10 1; helper 10 1",
	    "cumulative by function: once per distinct key, inline levels too");
	for (i = 0; i < s.groups.count; i++)
		within &= s.sorted[i]->bytes[0] <= s.total_bytes[0];
	tap_ok(within && s.total_bytes[0] == 1960,
	    "cumulative: no group holds more than the total");
	test_end(&s);

	test_begin(&s, STATS_LINENO, 1);
	rec3 = test_frame(0x60, "rec", "r.c", 3);
	test_site(&s, 1000, 10, 0, 3, rec3, rec3, rec3);
	test_site(&s, 1, 1, 0, 1, rec3);
	test_is(test_report(&s, 0), "r.c:3 1001 11", "cumulative by line: a recursive line once");
	test_end(&s);
}

/*
 * The order of diff, compare_to()'s: |size diff|, new size, |count diff|, new count, all
 * descending, then key.  Each pair of keys below is decided by the next criterion.
 */
static void
test_diff_order(void)
{
	struct stats s;
	static const struct {
		const char	*function;		/* the key */
		int64_t		 old_bytes, old_blocks;	/* side 0 */
		int64_t		 bytes, blocks;		/* side 1 */
	} g[] = {
		{ "k1", 100, 1, 500, 5 },	/* +400, new 500, +4 */
		{ "k2", 900, 11, 500, 4 },	/* -400, new 500, -7, new count 4: before k1 */
		{ "k3", 0, 0, 400, 4 },		/* +400, new 400: after k1 */
		{ "k4", 600, 6, 0, 0 },		/* -600: first */
		{ "k5", 50, 1, 50, 3 },		/* 0, new 50, +2 */
		{ "k6", 50, 2, 50, 2 },		/* 0, new 50, 0: after k5 */
		{ "k7", 10, 1, 10, 1 },		/* 0, new 10, 0, new count 1 */
		{ "k8", 10, 2, 10, 2 },		/* 0, new 10, 0, new count 2: before k7 */
		{ "k0", 10, 2, 10, 2 },		/* equal to k8 but for the key: before it */
	};
	struct sym_frame *f;
	size_t i;

	test_begin(&s, STATS_FUNCTION, 0);
	for (i = 0; i < sizeof g / sizeof g[0]; i++) {
		f = test_frame(0x100 + 16 * (int64_t)i, g[i].function, "k.c", (int)i);
		test_diff_site(test_site(&s, g[i].bytes, g[i].blocks, 0, 1, f), g[i].old_bytes,
		    g[i].old_blocks);
	}
	test_is(test_report(&s, 1), "k4 0 -600 0 -6; k2 500 -400 4 -7; k1 500 +400 5 +4; "
	    "k3 400 +400 4 +4; k5 50 +0 3 +2; k6 50 +0 2 +0; k0 10 +0 2 +0; k8 10 +0 2 +0; "
	    "k7 10 +0 1 +0", "diff: sorted as compare_to()");
	tap_ok(s.total_bytes[0] == 1730 && s.total_bytes[1] == 1530 && s.total_blocks[1] == 23,
	    "diff: old and new totals");
	test_end(&s);
}

/*
 * Groups the native sites and a site of libz by lineno with the filter PATTERN (an --include if
 * INCLUSIVE, else an --exclude), on every frame if ALL_FRAMES, and checks the groups and the
 * totals against WANT, as NAME.
 */
static void
test_filter(const char *pattern, int inclusive, int all_frames, const char *want,
    const char *name)
{
	struct stats s;
	struct test_frames f;
	struct sym_frame *libz;
	char *text;

	test_begin(&s, STATS_LINENO, 0);
	s.filters[0] = (struct stats_filter){ pattern, inclusive };
	s.nfilters = 1;
	s.inclusive = inclusive;
	s.all_frames = all_frames;
	test_native_sites(&s, &f);
	/* 7 B in 7 blocks from a frame of libz without symbols. */
	libz = test_frame(0x80, NULL, NULL, 0);
	libz->module = &test_libz;
	test_site(&s, 7, 7, 0, 1, libz);
	text = test_report(&s, 0);
	test_is(xasprintf("%s; total %" PRId64 " %" PRId64, text, s.total_bytes[0],
	    s.total_blocks[0]), want, name);
	free(text);
	test_end(&s);
}

/* An --include and an --exclude together, and a site the caller dropped. */
static void
test_filters(void)
{
	struct stats s;
	struct test_frames f;

	test_begin(&s, STATS_FILENAME, 0);
	s.filters[0] = (struct stats_filter){ "*.c", 1 };
	s.filters[1] = (struct stats_filter){ "main", 0 };
	s.nfilters = 2;
	s.inclusive = 1;
	test_native_sites(&s, &f);
	s.sites[0].dropped = 1;
	test_is(test_report(&s, 0), "a.c 500 3; b.c 300 3",
	    "--include '*.c' --exclude main, a dropped site");
	test_end(&s);
}

/*
 * Python sites: keyed on their most recent Python frame, in groups of their own even when the
 * text equals a native key; by traceback, every Python frame, the most recent call first.
 */
static void
test_python(void)
{
	struct stats s;
	struct py_frame *pf, *pmod;

	test_begin(&s, STATS_LINENO, 0);
	pf = test_pyframe(&test_code_f, 3);
	pmod = test_pyframe(&test_code_mod, 9);
	test_site_py(&s, 200, 2, 2, pf, pmod);
	test_site_py(&s, 20, 1, 1, pf);
	test_site(&s, 100, 1, 0, 1, test_frame(0x90, "f", "/app/a.py", 3));
	test_is(test_report(&s, 0), "/app/a.py:3 (py) 220 3; /app/a.py:3 100 1",
	    "Python keys, apart from an equal native key");
	test_end(&s);

	test_begin(&s, STATS_TRACEBACK, 0);
	pf = test_pyframe(&test_code_f, 3);
	pmod = test_pyframe(&test_code_mod, 9);
	test_site_py(&s, 200, 2, 2, pf, pmod);
	test_site_py(&s, 20, 1, 1, pf);
	test_is(test_report(&s, 0), "File \"/app/a.py\", line 3, in f <- File \"/app/b.py\", "
	    "line 9, in <module> (py) 200 2; File \"/app/a.py\", line 3, in f (py) 20 1",
	    "Python tracebacks, the most recent call first");
	test_end(&s);

	test_begin(&s, STATS_FUNCTION, 0);
	s.filters[0] = (struct stats_filter){ "b.py", 1 };
	s.nfilters = 1;
	s.inclusive = 1;
	s.all_frames = 1;
	pf = test_pyframe(&test_code_f, 3);
	test_site_py(&s, 200, 2, 2, pf, test_pyframe(&test_code_mod, 9));
	test_site_py(&s, 20, 1, 1, pf);
	test_is(test_report(&s, 0), "f (py) 200 2",
	    "--include b.py --all-frames on Python frames");
	test_end(&s);
}

/* A site without a stack is one group of its own. */
static void
test_no_stack(void)
{
	struct stats s;

	test_begin(&s, STATS_LINENO, 0);
	test_site(&s, 64, 2, 0, 0);
	test_site(&s, 32, 1, 0, 1, test_frame(0xa0, "g", "g.c", 1));
	test_is(test_report(&s, 0), "[no stack] 64 2; g.c:1 32 1", "a site without a stack");
	test_end(&s);
}

/* The reference order of test_limit, by size or for diff: returns -1, 0 or 1 for qsort. */
static int
test_limit_cmp(const void *a, const void *b)
{
	const int64_t *x = a, *y = b;

	if (x[0] != y[0])
		return x[0] > y[0] ? -1 : 1;
	if (x[1] != y[1])
		return x[1] > y[1] ? -1 : 1;
	return x[2] < y[2] ? -1 : x[2] > y[2];
}

/*
 * -n: the first N groups that the heap picks, in order, are the first N of a full sort, for top
 * (by size, count, key) and for diff (by |size diff| alone here: every other number is equal).
 */
static void
test_limit(int diff)
{
	struct stats s;
	struct sym_frame *f;
	int64_t ref[60][3], v;
	uint64_t rng = 0x9e3779b97f4a7c15ULL;
	char name[16];
	size_t i, n = sizeof ref / sizeof ref[0];
	int same = 1;

	test_begin(&s, STATS_FUNCTION, 0);
	s.limit = 7;
	for (i = 0; i < n; i++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		v = (int64_t)(rng % 50) * 8;
		/* Key "k00" ... "k59": a key orders as its number. */
		snprintf(name, sizeof name, "k%02zu", i);
		ref[i][0] = v;
		ref[i][1] = diff ? 0 : (int64_t)(rng >> 32) % 3;
		ref[i][2] = (int64_t)i;
		f = test_frame(0x1000 + 16 * (int64_t)i, arena_strdup(&test_arena, name), "k.c", 1);
		test_site(&s, diff ? 1000 : v, diff ? 1 : ref[i][1], 0, 1, f);
		if (diff)
			test_diff_site(&s.sites[i], i % 2 ? 1000 - v : 1000 + v, 1);
	}
	qsort(ref, n, sizeof ref[0], test_limit_cmp);
	free(test_report(&s, diff));
	for (i = 0; i < stats_shown(&s); i++) {
		snprintf(name, sizeof name, "k%02" PRId64, ref[i][2]);
		same &= strcmp(s.sorted[i]->key[0]->s, name) == 0;
	}
	tap_ok(same && stats_shown(&s) == 7 && s.groups.count == n,
	    "-n 7 of %zu groups for %s: the first 7 of a full sort", n, diff ? "diff" : "top");
	test_end(&s);
}

/* Returns the entry of stats_options named NAME (a long name, or a letter: "n"). */
static const struct args_option *
test_option(const char *name)
{
	const struct args_option *o;

	for (o = stats_options; o->type != ARGS_END; o++) {
		if ((o->name != NULL && strcmp(o->name, name) == 0) ||
		    (o->name == NULL && o->letter == name[0]))
			return o;
	}
	abort();
}

/* stats_set_args on options as args_parse leaves them: in order, their numbers converted. */
static void
test_set_args(void)
{
	struct args_value v[] = {
		{ test_option("by"), "function", STATS_FUNCTION },
		{ test_option("include"), "a*", 0 },
		{ test_option("exclude"), "b*", 0 },
		{ test_option("n"), "3", 3 },
		{ test_option("all-frames"), NULL, 0 },
		{ test_option("native"), NULL, 0 },
		{ test_option("include"), "c*", 0 }
	};
	struct args args = { v, sizeof v / sizeof v[0], 0, NULL };
	struct stats s;
	char *cause = NULL;
	int rc;

	stats_init(&s);
	rc = stats_set_args(&s, &args, &cause);
	tap_ok(rc == 0 && s.by == STATS_FUNCTION && s.limit == 3 && s.all_frames && s.native &&
	    !s.cumulative && s.nfilters == 3 && s.inclusive && s.filters[0].inclusive &&
	    strcmp(s.filters[1].pattern, "b*") == 0 && !s.filters[1].inclusive &&
	    strcmp(s.filters[2].pattern, "c*") == 0, "stats_set_args: each option, the filters "
	    "in order");
	stats_clear(&s);

	v[0] = (struct args_value){ test_option("cumulative"), NULL, 0 };
	v[1] = (struct args_value){ test_option("by"), "traceback", STATS_TRACEBACK };
	args.nvalues = 2;
	stats_init(&s);
	rc = stats_set_args(&s, &args, &cause);
	tap_ok(rc == -1 && cause != NULL && strcmp(cause, "--cumulative goes with --by lineno, "
	    "filename or function") == 0, "stats_set_args: --cumulative --by traceback");
	free(cause);
	stats_clear(&s);
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("1..%d\n", TEST_PLAN);
	test_native(STATS_LINENO, "a.c:10 300 3; b.c:7 300 3; a.c:20 300 1; main.c:5 50 5",
	    "by lineno: sites summed per key frame, past a frame inside it; by size, count, key");
	test_totals();
	test_native(STATS_FILENAME, "a.c 600 4; b.c 300 3; main.c 50 5", "by filename");
	test_native(STATS_FUNCTION, "fa 300 3; fc 300 3; fb 300 1; main 50 5", "by function");
	test_native(STATS_TRACEBACK, "b.c:7 in fc 300 3; a.c:20 in fb <- main.c:5 in main 300 1; "
	    "a.c:10 in fa <- a.c:20 in fb <- main.c:5 in main 200 2; "
	    "a.c:10 in fa <- main.c:5 in main 100 1; main.c:5 in main 50 5",
	    "by traceback: the stack from the key frame out");
	test_cumulative();
	test_diff_order();
	test_filter("a.c", 1, 0, "a.c:10 300 3; a.c:20 300 1; total 600 4",
	    "--include a.c: the last component of the file");
	test_filter("f?", 1, 0, "a.c:10 300 3; b.c:7 300 3; a.c:20 300 1; total 900 7",
	    "--include 'f?': the function");
	test_filter("libz.so*", 1, 0, "/usr/lib/libz.so.1+0x80 7 7; total 7 7",
	    "--include 'libz.so*': the last component of the module");
	test_filter("/usr/lib/*", 1, 0, "/usr/lib/libz.so.1+0x80 7 7; total 7 7",
	    "--include '/usr/lib/*': the module's path");
	test_filter("fb", 0, 0, "a.c:10 300 3; b.c:7 300 3; main.c:5 50 5; "
	    "/usr/lib/libz.so.1+0x80 7 7; total 657 18", "--exclude fb: the key frame only");
	test_filter("fb", 0, 1, "b.c:7 300 3; a.c:10 100 1; main.c:5 50 5; "
	    "/usr/lib/libz.so.1+0x80 7 7; total 457 16", "--exclude fb --all-frames");
	test_filter("main", 1, 1, "a.c:10 300 3; a.c:20 300 1; main.c:5 50 5; total 650 9",
	    "--include main --all-frames");
	test_filters();
	test_python();
	test_no_stack();
	test_limit(0);
	test_limit(1);
	test_set_args();
	if (tap_count != TEST_PLAN)
		printf("# planned %d tests, ran %d\n", TEST_PLAN, tap_count);
	return tap_failed == 0 && tap_count == TEST_PLAN ? 0 : 1;
}
