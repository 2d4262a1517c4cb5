/*
 * The SQL of the heapscope database, version HS_SCHEMA_VERSION.  The preload runs it once on the
 * new, empty file.  Addresses and sizes are stored as SQLite integers (signed 64-bit: an address
 * above 2^63 would read back negative, which x86-64 user space never has).  Times are seconds:
 * `time` columns are Unix time, `elapsed` columns count from the start of tracing.
 */
#include "schema.h"

const char hs_schema_sql[] =
	/* One row: the traced process. */
	"CREATE TABLE process ("
	" pid INTEGER NOT NULL,"		/* process id */
	" ppid INTEGER NOT NULL,"		/* parent's process id */
	" argv TEXT NOT NULL,"			/* command line as a JSON array of strings */
	" executable TEXT,"			/* resolved /proc/self/exe */
	" start_time REAL NOT NULL,"		/* Unix time when tracing began */
	" heapscope_version TEXT NOT NULL,"	/* version of the preload that wrote the file */
	" stack_depth INTEGER NOT NULL,"	/* frames kept per stack (HEAPSCOPE_DEPTH) */
	" python TEXT,"				/* CPython version ("3.11.2") when heapscope traced
						   its allocators, NULL otherwise */
	" py_depth INTEGER NOT NULL"		/* Python frames kept per stack (HEAPSCOPE_PY_DEPTH),
						   0 when python is NULL */
	");"
	/* Every object the process had loaded at some snapshot or dlclose: enough to symbolize. */
	"CREATE TABLE modules ("
	" id INTEGER PRIMARY KEY,"
	" path TEXT NOT NULL,"			/* file name as the dynamic loader saw it */
	" base INTEGER NOT NULL,"		/* load bias: runtime address = file address + base */
	" start INTEGER NOT NULL,"		/* lowest runtime address of its PT_LOAD segments */
	" end INTEGER NOT NULL,"		/* one past the highest */
	" build_id TEXT"			/* GNU build-id in hex, NULL when the file has none */
	");"
	/* Distinct return addresses (program counters) seen in stacks. */
	"CREATE TABLE frames ("
	" id INTEGER PRIMARY KEY,"
	" address INTEGER NOT NULL,"		/* runtime address: a return address, just past a call
						   (the exact pc for a frame a signal interrupted) */
	" module_id INTEGER REFERENCES modules(id)," /* module that held it, NULL if none did */
	" offset INTEGER"			/* address - modules.base: the file address */
	");"
	/* Distinct allocation stacks; a stack id is also the id of its allocation site. */
	"CREATE TABLE stacks ("
	" id INTEGER PRIMARY KEY,"
	" depth INTEGER NOT NULL,"		/* number of frames stored, at most process.stack_depth */
	" domain TEXT CHECK (domain IN ('raw', 'mem', 'obj')),"
						/* CPython allocator domain of its blocks, NULL for the
						   malloc family and mmap */
	" py_depth INTEGER NOT NULL,"		/* Python frames in py_frames, at most process.py_depth */
	" py_traceback INTEGER"			/* its Python traceback (py_tracebacks.id of the most
						   recent call), NULL if none */
	");"
	"CREATE TABLE stack_frames ("
	" stack_id INTEGER NOT NULL REFERENCES stacks(id),"
	" level INTEGER NOT NULL,"		/* 0 = innermost: the function that called malloc */
	" frame_id INTEGER NOT NULL REFERENCES frames(id),"
	" PRIMARY KEY (stack_id, level)"
	") WITHOUT ROWID;"
	/* Python code objects seen in Python tracebacks. */
	"CREATE TABLE py_code ("
	" id INTEGER PRIMARY KEY,"
	" filename TEXT NOT NULL,"		/* co_filename */
	" name TEXT NOT NULL,"			/* co_qualname */
	" firstlineno INTEGER NOT NULL"		/* co_firstlineno */
	");"
	/*
	 * Python tracebacks as a tree: a row is the most recent call of a traceback and points at
	 * the traceback of its caller, so that the calls two tracebacks share are stored once.
	 */
	"CREATE TABLE py_tracebacks ("
	" id INTEGER PRIMARY KEY,"
	" parent INTEGER REFERENCES py_tracebacks(id),"	/* the caller's traceback, NULL at
							   the outermost frame kept */
	" code_id INTEGER NOT NULL REFERENCES py_code(id),"
	" line INTEGER NOT NULL"		/* line number being executed, 0 if unknown */
	");"
	/* The Python traceback of each stack whose blocks came from a CPython allocator domain. */
	"CREATE VIEW py_frames AS"
	" WITH RECURSIVE f(stack_id, level, tb) AS ("
	"  SELECT id, 0, py_traceback FROM stacks WHERE py_traceback IS NOT NULL"
	"  UNION ALL SELECT f.stack_id, f.level + 1, t.parent FROM f"
	"  JOIN py_tracebacks AS t ON t.id = f.tb WHERE t.parent IS NOT NULL)"
	" SELECT f.stack_id AS stack_id, f.level AS level, t.code_id AS code_id, t.line AS line"
	" FROM f JOIN py_tracebacks AS t ON t.id = f.tb;"
	/* Threads that called a traced function, in the order heapscope first saw them. */
	"CREATE TABLE threads ("
	" id INTEGER PRIMARY KEY,"		/* heapscope's thread number, from 1 */
	" tid INTEGER NOT NULL"			/* kernel thread id */
	");"
	/* One row per snapshot, each written in one transaction. */
	"CREATE TABLE snapshots ("
	" id INTEGER PRIMARY KEY,"		/* 1, 2, ... in the order taken */
	" label TEXT,"				/* heapscope_snapshot() argument; NULL for other triggers */
	" trigger TEXT NOT NULL,"		/* api, signal, interval or exit */
	" time REAL NOT NULL,"			/* Unix time */
	" elapsed REAL NOT NULL,"		/* seconds since tracing began */
	" live_bytes INTEGER NOT NULL,"		/* sum of the requested sizes of live heap blocks */
	" live_blocks INTEGER NOT NULL,"	/* number of live heap blocks */
	" mapped_bytes INTEGER NOT NULL,"	/* sum of the sizes of live mmap regions */
	" mappings INTEGER NOT NULL,"		/* number of live mmap regions */
	" total_allocs INTEGER NOT NULL,"	/* heap blocks allocated since tracing began */
	" total_frees INTEGER NOT NULL,"	/* heap blocks freed since tracing began */
	" full INTEGER NOT NULL,"		/* 1 when the blocks table holds every live block */
	" scanned INTEGER NOT NULL"		/* 1 when a reachability scan classified the blocks */
	");"
	/* Per allocation site and snapshot: live counts and lifetime statistics so far. */
	"CREATE TABLE sites ("
	" snapshot_id INTEGER NOT NULL REFERENCES snapshots(id),"
	" stack_id INTEGER NOT NULL REFERENCES stacks(id),"
	" live_bytes INTEGER NOT NULL,"		/* bytes of this site's blocks alive at the snapshot */
	" live_blocks INTEGER NOT NULL,"	/* blocks of this site alive at the snapshot */
	" allocs INTEGER NOT NULL,"		/* blocks allocated here since tracing began */
	" frees INTEGER NOT NULL,"		/* of those, freed (or moved by realloc) */
	" alloc_bytes INTEGER NOT NULL,"	/* bytes allocated here since tracing began */
	" temporaries INTEGER NOT NULL,"	/* frees that came before the thread's next allocation */
	" lifetimes TEXT NOT NULL,"		/* JSON object: floor(log2(lifetime in ns)) -> frees */
	" PRIMARY KEY (snapshot_id, stack_id)"
	") WITHOUT ROWID;"
	/* Every live heap block at a full snapshot (api, signal, exit triggers). */
	"CREATE TABLE blocks ("
	" snapshot_id INTEGER NOT NULL REFERENCES snapshots(id),"
	" address INTEGER NOT NULL,"		/* what malloc returned */
	" size INTEGER NOT NULL,"		/* requested size */
	" stack_id INTEGER NOT NULL REFERENCES stacks(id),"
	" thread_id INTEGER NOT NULL REFERENCES threads(id)," /* thread that allocated it */
	" age REAL NOT NULL,"			/* seconds alive at the snapshot */
	" leak TEXT CHECK (leak IN ('reachable', 'possibly', 'indirectly', 'definitely')),"
						/* the scan's verdict, NULL if not scanned */
	" cycle_id INTEGER,"			/* leaked cycle it belongs to (1, 2, ... per
						   snapshot), NULL if none */
	" root_refs INTEGER,"			/* words in roots pointing into it, NULL if not
						   scanned */
	" block_refs INTEGER,"			/* words in other live blocks pointing into it */
	/* The next five are set at scanned snapshots of a traced CPython, NULL otherwise. */
	" py_type TEXT,"			/* type name (tp_name) when the block holds a Python
						   object, NULL if it does not */
	" py_refcnt INTEGER,"			/* that object's ob_refcnt; NULL when immortal */
	" py_refs INTEGER,"			/* words in roots and in other blocks equal to the
						   object's address (its GC header left out) */
	" py_garbage INTEGER,"			/* 1 when CPython's gc would find the block garbage:
						   no reference from outside the heap explains it */
	" py_cycle_id INTEGER,"			/* garbage cycle it belongs to (1, 2, ... per
						   snapshot), NULL if none */
	" PRIMARY KEY (snapshot_id, address)"
	") WITHOUT ROWID;"
	/* Pointers between unreachable blocks, and between garbage blocks, at a scanned snapshot:
	   the shape of each leak. */
	"CREATE TABLE edges ("
	" snapshot_id INTEGER NOT NULL REFERENCES snapshots(id),"
	" from_address INTEGER NOT NULL,"	/* the block holding the pointer */
	" offset INTEGER NOT NULL,"		/* byte offset of the pointer in that block */
	" to_address INTEGER NOT NULL,"		/* the block pointed into */
	" interior INTEGER NOT NULL,"		/* 1 when it points past the block's first byte */
	" PRIMARY KEY (snapshot_id, from_address, offset)"
	") WITHOUT ROWID;"
	/* Live mmap regions made by the program (not by malloc) at each snapshot. */
	"CREATE TABLE mappings ("
	" snapshot_id INTEGER NOT NULL REFERENCES snapshots(id),"
	" address INTEGER NOT NULL,"		/* start of the region */
	" size INTEGER NOT NULL,"		/* length in bytes, rounded up to whole pages */
	" prot INTEGER NOT NULL,"		/* PROT_* bits as passed to mmap */
	" flags INTEGER NOT NULL,"		/* MAP_* bits as passed to mmap */
	" stack_id INTEGER NOT NULL REFERENCES stacks(id),"
	" kind TEXT NOT NULL CHECK (kind IN ('mmap', 'pyarena')),"
						/* pyarena: a pymalloc arena, made through CPython's
						   arena allocator */
	" PRIMARY KEY (snapshot_id, address)"
	") WITHOUT ROWID;"
	/* Symbols, filled in by the analyzer on first use: one row per frame and inline level. */
	"CREATE TABLE symbols ("
	" frame_id INTEGER NOT NULL REFERENCES frames(id),"
	" inline_level INTEGER NOT NULL,"	/* 0 = innermost inlined function; last = the real one */
	" function TEXT,"			/* demangled name, NULL if unknown */
	" file TEXT,"				/* source file, NULL if unknown */
	" line INTEGER,"			/* source line, NULL if unknown */
	" PRIMARY KEY (frame_id, inline_level)"
	") WITHOUT ROWID;";
