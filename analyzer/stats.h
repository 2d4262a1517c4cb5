/*
 * Statistics of live memory by key, the part of a report that top, diff and leaks share: loading
 * the sites of one or two snapshots (or of a snapshot's leaked blocks), finding their key frames,
 * native or Python, filtering and grouping.  See stats.c and stats-load.c.
 */
#ifndef STATS_H
#define STATS_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

struct db;
struct symtab;
struct sym_frame;
struct pytab;
struct py_frame;

/* What sites are grouped by. */
enum stats_by {
	STATS_LINENO,		/* file and line of the key frame */
	STATS_FILENAME,		/* file of the key frame */
	STATS_FUNCTION,		/* function of the key frame */
	STATS_TRACEBACK		/* the whole stack from the key frame out */
};

/*
 * The numbers a report keeps per site and group, one pair (bytes, blocks) per side: top fills
 * side 0 only; diff side 0 (old) and side 1 (new); leaks one side per kind of leak (lost.h).
 */
#define STATS_SIDES 4

/* Most --include and --exclude patterns: one bit each in struct stats_frame. */
#define STATS_MAX_FILTERS 64

/* The options of top and diff that stats_set_args reads: a group for their tables. */
extern const struct args_option stats_options[];

/* What every entry of a struct stats_hash starts with. */
struct stats_entry {
	struct stats_entry	*next;		/* next in the same bucket */
	uint64_t		 hash;		/* hash of the entry's key */
};

/* A chained hash table of entries that start with struct stats_entry. */
struct stats_hash {
	struct stats_entry	**buckets;	/* chains */
	size_t			  nbuckets;	/* a power of two */
	size_t			  count;	/* entries */
};

/* An interned key text: equal texts are one struct, so keys compare by pointer. */
struct stats_str {
	struct stats_entry	 entry;		/* hash of s and python, chain */
	char			*s;		/* the text */
	int			 python;	/* 1 for a Python frame's key: never equal to a
					   native key of the same text */
};

/* A --include or --exclude pattern, in the manner of tracemalloc's Filter. */
struct stats_filter {
	const char	*pattern;	/* fnmatch(3) pattern, from the command line */
	int		 inclusive;	/* 1 for --include, 0 for --exclude */
};

/* A database the sites come from, with its symbols. */
struct stats_source {
	struct db	*db;		/* the database, the caller's */
	struct symtab	*st;		/* its frames and symbols */
	size_t		 first;		/* index in stats.sites of its first site */
	size_t		 nsites;	/* its sites are sites[first .. first + nsites - 1] */
	size_t		 nsorted;	/* the first nsorted of them are in stack order */
	int		 loads;		/* snapshots loaded from it so far */
	struct stacktab	*stk;		/* its stacks */
	struct pytab	*py;		/* its Python frames; NULL if it has none or the
					   report is --native */
};

/*
 * A frame of a site's stack: its id as loaded, and the frame once it is needed.  Most stacks
 * need only their first frame or two, and looking up a frame costs more than reading its id.
 */
struct stats_slot {
	int64_t			 id;		/* frames.id in the site's source */
	struct sym_frame	*frame;		/* the frame, NULL until looked up */
};

/* One allocation site (stack) of a source with live blocks in at least one loaded snapshot. */
struct stats_site {
	int64_t			 stack_id;		/* sites.stack_id in its source */
	int64_t			 bytes[STATS_SIDES];	/* live bytes per side, 0 if none */
	int64_t			 blocks[STATS_SIDES];	/* live blocks per side, 0 if none */
	struct stats_source	*src;			/* the source it comes from */
	size_t			 first;			/* index in pool of its innermost frame */
	size_t			 pyfirst;		/* index in pypool of its most recent
							   Python frame */
	uint32_t		 npy;			/* Python frames: pypool[pyfirst ..
							   + npy - 1]; when npy > 0 they, not
							   the native frames, make its key */
	uint32_t		 n;			/* frames loaded: pool[first .. + n - 1] */
	uint32_t		 pos;			/* the key frame, pool[first + pos]
							   (0 when npy > 0: not used) */
	int			 placed;		/* 1 once pos is final */
	int			 partial;		/* 1 if frames past the n loaded may exist */
	int			 kept;			/* 1 if the filters keep it */
	int			 dropped;		/* 1 if the caller dropped it: never kept */
	struct stats_group	*group;			/* its group once grouped, unless
							   cumulative (NULL until then) */
};

/*
 * What stats keeps about a frame, in its sym_frame.data (created once the frame is resolved) or
 * in its py_frame.data (one key: a Python frame has no inline levels).
 * keys[i] is the key text of inline level i (innermost first) when grouping is cumulative;
 * otherwise there is one key, the frame's: for traceback, the text of all its levels.
 */
struct stats_frame {
	uint64_t		 tested;	/* bit i: filters[i] was tested on the frame */
	uint64_t		 matched;	/* bit i: and its pattern matched */
	unsigned int		 nkeys;		/* entries in keys */
	struct stats_str	*keys[];	/* interned key texts */
};

/*
 * The sites whose keys are equal: one line of a report.  The key is len interned texts: one for
 * lineno, filename and function, the key frame and every frame outside it for traceback.  A
 * group's sites are all native or all Python (their texts are interned apart).
 */
struct stats_group {
	struct stats_entry	 entry;			/* hash of the key, chain */
	size_t			 site;			/* a site of the group, for its frames */
	const struct sym_frame	*frame;			/* the frame the key is of, NULL if none
							   or Python */
	const struct py_frame	*pyframe;		/* the Python frame it is of, or NULL */
	unsigned int		 level;			/* and its inline level (cumulative) */
	int64_t			 bytes[STATS_SIDES];	/* sum of the sites' live bytes */
	int64_t			 blocks[STATS_SIDES];	/* sum of the sites' live blocks */
	size_t			 stamp;			/* 1 + the last site added */
	uint32_t		 len;			/* entries in key */
	struct stats_str	*key[];			/* the key */
};

/*
 * The state of one report.  Invariants, per side, when not cumulative:
 * total_bytes == sum of group bytes == sum of the bytes of the kept sites; likewise for blocks.
 * When cumulative, every group's bytes <= total_bytes.
 */
struct stats {
	enum stats_by		 by;			/* what to group by */
	int			 cumulative;		/* 1: a key per frame from the key frame */
	int			 all_frames;		/* 1: filters test every frame */
	int			 native;		/* 1: native keys for Python blocks too */
	size_t			 limit;			/* -n: groups to show, 0 for all */
	struct stats_filter	 filters[STATS_MAX_FILTERS]; /* --include, --exclude in order */
	unsigned int		 nfilters;		/* entries in filters */
	int			 inclusive;		/* 1 if some filter is an --include */
	struct stats_source	 sources[STATS_SIDES];	/* the databases */
	unsigned int		 nsources;		/* entries in sources */
	struct stats_site	*sites;			/* every source's sites */
	size_t			 nsites;		/* entries in sites */
	size_t			 asites;		/* allocated entries in sites */
	struct stats_slot	*pool;			/* the frames of every site */
	size_t			 npool;			/* entries in pool */
	size_t			 apool;			/* allocated entries in pool */
	struct py_frame		**pypool;		/* the Python frames of every site */
	size_t			 npypool;		/* entries in pypool */
	size_t			 apypool;		/* allocated entries in pypool */
	struct arena		 arena;			/* frames' data, key texts, groups */
	struct stats_hash	 strs;			/* interned key texts */
	struct stats_hash	 groups;		/* groups by key */
	struct stats_str	**scratch;		/* a key being looked up */
	size_t			 ascratch;		/* allocated entries in scratch */
	struct stats_group	**sorted;		/* every group, those shown first in order */
	int64_t			 total_bytes[STATS_SIDES];	/* bytes of the kept sites */
	int64_t			 total_blocks[STATS_SIDES];	/* blocks of the kept sites */
};

extern const char *const stats_by_names[];
extern const char *const stats_by_noun[];
extern const char *const stats_by_nouns[];

void		 stats_init(struct stats *);
void		 stats_free(struct stats *);
void		 stats_clear(struct stats *);
int		 stats_set_args(struct stats *, const struct args *, char **);
struct stats_source *stats_source_add(struct stats *, struct db *, char **);
int		 stats_load(struct stats *, struct stats_source *, int64_t, unsigned int, char **);
int		 stats_load_rows(struct stats *, struct stats_source *, sqlite3_stmt *,
		    char **);
int		 stats_compute(struct stats *, char **);
int		 stats_place_sites(struct stats *, char **);
void		 stats_group_sites(struct stats *);
int		 stats_resolve_stacks(struct stats *, char **);
size_t		 stats_site_find(const struct stats *, const struct stats_source *, int64_t);
struct sym_frame *stats_site_frame(const struct stats *, const struct stats_site *, uint32_t);
void		 stats_sort(struct stats *, int);
size_t		 stats_shown(const struct stats *);
int		 stats_key_cmp(const struct stats_group *, const struct stats_group *);
char		*stats_group_key(const struct stats *, const struct stats_group *);
char		*stats_group_site(const struct stats *, const struct stats_group *);
char		*stats_group_traceback(const struct stats *, const struct stats_group *,
		    const char *);
void		 stats_print_traceback(const struct stats *, const struct stats_group *,
		    const char *);
void		 stats_print_json_key(const struct stats *, const struct stats_group *);
void		 stats_print_json_traceback(const struct stats *, const struct stats_group *);

#endif
