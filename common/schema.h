/*
 * The heapscope database format, shared by the preload (which writes it) and the analyzer (which
 * reads it and caches symbols in it).  A database holds one traced process.  The format version is
 * kept in PRAGMA user_version; a reader refuses any other version.  heapscope-schema(5) documents
 * every table and column; schema.c holds the SQL that creates them.
 */
#ifndef HS_SCHEMA_H
#define HS_SCHEMA_H

/* The value of PRAGMA user_version in every database of this format. */
#define HS_SCHEMA_VERSION 5

/* The application_id a heapscope database carries ("HpSc"), so file(1) and we can recognise it. */
#define HS_APPLICATION_ID 0x48705363

/* The most frames a stack may keep (HEAPSCOPE_DEPTH, heapscope run --depth). */
#define HS_MAX_DEPTH 256

/* The snapshot triggers, as stored in snapshots.trigger. */
#define HS_TRIGGER_API "api"
#define HS_TRIGGER_SIGNAL "signal"
#define HS_TRIGGER_INTERVAL "interval"
#define HS_TRIGGER_EXIT "exit"

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

/* SQL that creates every table of an empty database, in one string for sqlite3_exec. */
extern const char hs_schema_sql[];

#endif
