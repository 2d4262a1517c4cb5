/*
 * The heapscope database format, shared by the preload (which writes it) and the analyzer (which
 * reads it and caches symbols in it).  A database holds one traced process.  The format version is
 * kept in PRAGMA user_version; a reader refuses any other version.  schema-tables.h describes
 * every table and column once; the column positions and counts below and the SQL that creates
 * the tables (schema.c) are made from it.  heapscope-schema(5) documents them.
 */
#ifndef HS_SCHEMA_H
#define HS_SCHEMA_H

/* The value of PRAGMA user_version in every database of this format. */
#define HS_SCHEMA_VERSION 6

/* The application_id a heapscope database carries ("HpSc"), so file(1) and we can recognise it. */
#define HS_APPLICATION_ID 0x48705363

/* The most frames a stack may keep (HEAPSCOPE_DEPTH, heapscope run --depth). */
#define HS_MAX_DEPTH 256

/* Frames to a chunk of stack_nodes (and the same in SQL text). */
#define HS_STACK_CHUNK 8
#define HS_STACK_CHUNK_SQL "8"

/* The snapshot triggers, as stored in snapshots.trigger. */
#define HS_TRIGGER_API "api"
#define HS_TRIGGER_SIGNAL "signal"
#define HS_TRIGGER_INTERVAL "interval"
#define HS_TRIGGER_EXIT "exit"		/* the process's exit; in a traced CPython, the start of
					   its finalization, where atexit handlers run */
#define HS_TRIGGER_FINAL "final"	/* a traced CPython's exit, after its finalization */
#define HS_TRIGGER_PEAK "peak"		/* the moment the live heap was highest so far: one
					   such snapshot, id 0, rewritten as the heap grows; its
					   sites are in peak_sites, not sites */

/* Leak kinds, as stored in blocks.leak (valgrind's names). */
#define HS_LEAK_REACHABLE "reachable"	/* reached from a root through start pointers */
#define HS_LEAK_POSSIBLY "possibly"	/* reached only through some interior pointer */
#define HS_LEAK_INDIRECTLY "indirectly"	/* unreachable, but reached from a definitely lost block */
#define HS_LEAK_DEFINITELY "definitely"	/* unreachable, the leader of its group */

/* Python allocator domains, as stored in stacks.domain (PyMemAllocatorDomain order). */
#define HS_DOMAIN_RAW "raw"
#define HS_DOMAIN_MEM "mem"
#define HS_DOMAIN_OBJ "obj"

/* Kinds of mapping, as stored in mappings.kind. */
#define HS_MAPPING_MMAP "mmap"		/* an mmap call of the program's */
#define HS_MAPPING_PYARENA "pyarena"	/* a pymalloc arena, from CPython's arena allocator */

/*
 * HS_COL(table, column) is the column's position, from 0: its cid in PRAGMA table_info, and the
 * place of its value in a row of INSERT INTO table VALUES (...).  HS_NCOLS(table) is the number
 * of columns of the table.
 */
#define HS_COL(t, c) HS_COL_##t##_##c
#define HS_NCOLS(t) HS_NCOLS_##t
#define HS_TABLE(t) enum {
#define HS_COLUMN(t, c, decl) HS_COL_##t##_##c,
#define HS_END(t, cons, opts) HS_NCOLS_##t };
#define HS_VIEW(v, select)
#include "schema-tables.h"

/* One member per table, a byte per column: the union's size is the most columns of a table. */
union hs_widest {
#define HS_TABLE(t)
#define HS_COLUMN(t, c, decl)
#define HS_END(t, cons, opts) char t[HS_NCOLS_##t];
#define HS_VIEW(v, select)
#include "schema-tables.h"
};

/* The most columns of a table. */
#define HS_NCOLS_MAX ((int)sizeof(union hs_widest))

/* schema.c */
struct sqlite3;
int hs_schema_create(struct sqlite3 *);

#endif
