/*
 * What the reachability scan of a snapshot found lost: the part of a leak report that
 * heapscope leaks and heapscope run --leak-check share.  See lost.c.
 */
#ifndef LOST_H
#define LOST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "db.h"
#include "stats.h"

/*
 * The kinds of blocks of a scanned snapshot, valgrind's, in the order a summary lists them.  The
 * lost kinds are also the stats sides of the sites of leaked blocks outside cycles; the blocks of
 * leaked cycles, of any kind, are side LOST_SIDE_CYCLE.
 */
enum lost_kind {
	LOST_DEFINITELY,	/* unreachable, and the leader of its group */
	LOST_INDIRECTLY,	/* unreachable, reached from a definitely lost block */
	LOST_POSSIBLY,		/* reached only through pointers into its middle */
	LOST_REACHABLE,		/* still reachable: not a leak */
	LOST_KINDS
};
#define LOST_SIDE_CYCLE 3

/* Bytes in blocks. */
struct lost_sum {
	int64_t	bytes;		/* sum of the blocks' sizes */
	int64_t	blocks;		/* number of blocks */
};

/*
 * One line leak:PATTERN of a suppressions file, in LeakSanitizer's format: PATTERN is found
 * anywhere in a text, '*' matching any run of characters, unless it starts with '^' (then only
 * at the start) or ends with '$' (only at the end).
 */
struct lost_supp {
	char		*pattern;	/* PATTERN without its anchors */
	int		 head;		/* 1 if it started with '^' */
	int		 tail;		/* 1 if it ended with '$' */
};

/*
 * A leak report on one scanned snapshot, made by lost_compute.  Every sum counts the blocks the
 * report keeps (with --since, those leaked after it); suppressed blocks are counted in suppressed
 * only.  Invariants, with lost = kinds[LOST_DEFINITELY] + kinds[LOST_INDIRECTLY] +
 * kinds[LOST_POSSIBLY]: cycles.blocks <= lost.blocks; when sites is set,
 * stats.total_blocks[0] + stats.total_blocks[1] + stats.total_blocks[2] + cycles.blocks ==
 * lost.blocks (the blocks outside cycles are on the sides of their kind), likewise for bytes.
 */
struct lost {
	struct db		*db;		/* the database, the caller's */
	struct db_snapshot	 snap;		/* the scanned snapshot reported on */
	struct db_snapshot	 since;		/* --since: the earlier snapshot, id 0 if none */
	struct lost_supp	*supps;		/* the suppressions, in the order read */
	size_t			 nsupps;	/* entries in supps */
	int			 sites;		/* 1: group the leaked blocks by site in stats */
	struct stats		 stats;		/* by traceback: the sites of the leaked blocks
						   kept, sides per enum lost_kind, with
						   LOST_SIDE_CYCLE; set up when sites or nsupps */
	struct stats_source	*src;		/* the database's source in stats, or NULL */
	char			*kept;		/* SQL: 1 if the block b is kept (--since) */
	struct lost_sum		 kinds[LOST_KINDS];	/* kept blocks by kind, not suppressed */
	struct lost_sum		 suppressed;	/* kept leaked blocks that suppressions drop */
	struct lost_sum		 cycles;	/* blocks of the cycles reported */
	int64_t			 ncycles;	/* cycles reported: the rows of temp.lost_cycles */
	/* A snapshot of a traced CPython (blocks.py_garbage set), of the kept blocks: */
	int			 python;	/* 1 if it is one */
	struct lost_sum		 py_garbage;	/* garbage as CPython's gc sees it */
	struct lost_sum		 py_cycles;	/* in garbage cycles */
	int64_t			 py_ncycles;	/* garbage cycles */
	int64_t			 py_leaked;	/* objects whose refcount exceeds the references
						   found: leaked references */
};

/*
 * The cycles a report shows, largest first: a temporary table that lost_compute fills, for the
 * caller to join with blocks and edges.  Columns: rank (1, 2, ... in order), cycle_id, bytes,
 * blocks.
 */
#define LOST_CYCLES "temp.lost_cycles"

/* The condition that block b holds an object with a leaked reference, in SQL. */
#define LOST_PY_LEAKED "b.py_refcnt > b.py_refs"

/* The condition that block b is leaked, in SQL. */
#define LOST_LEAKED "b.leak IN ('definitely', 'indirectly', 'possibly')"

extern const char *const lost_kind_names[];
extern const char *const lost_kind_values[];

enum lost_kind	 lost_kind(const char *);
void		 lost_init(struct lost *);
void		 lost_free(struct lost *);
int		 lost_supp_load(struct lost *, const char *, char **);
int		 lost_choose(struct lost *, struct db *, const char *, const char *, char **);
int		 lost_compute(struct lost *, char **);
int		 lost_found(const struct lost *);
int		 lost_any(const struct lost *);
sqlite3_stmt	*lost_prepare(struct lost *, const char *, char **);
sqlite3_stmt	*lost_preparef(struct lost *, char **, const char *, ...) printflike(3, 4);
void		 lost_print_summary(FILE *, const struct lost *, const char *);
void		 lost_print_json_summary(FILE *, const struct lost *);

#endif
