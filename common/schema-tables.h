/*
 * The tables of the heapscope database, described once, in the order they are created.  This
 * file is an X-macro list, not a header: whoever needs a fact about the tables includes it with
 * its own definitions of the four macros, and it undefines them at its end.  schema.h makes the
 * column positions and counts of it (HS_COL, HS_NCOLS), schema.c the SQL that creates the tables
 * and the view (hs_schema_create), tests/unit/schema-test.c the names it looks for in
 * heapscope-schema(5).
 *
 * HS_TABLE(table) starts a table and HS_END(table, constraints, options) ends it, with its table
 * constraints ("PRIMARY KEY (...)") and its table options ("WITHOUT ROWID"), "" for none.  In
 * between, HS_COLUMN(table, column, declaration) gives each of its columns in order, declared as
 * in CREATE TABLE: its type (INTEGER, REAL or TEXT), then its constraints if it has any.  The
 * table is named again so that the column's position can be named HS_COL(table, column).
 * HS_VIEW(view, select) is a view and the query that defines it, and HS_INDEX(index, table,
 * columns) an index of a table; an includer that has no use for an index leaves HS_INDEX
 * undefined.
 *
 * Order matters: a column's position is its cid in PRAGMA table_info and its place in an INSERT
 * without a column list, which is how the preload writes its rows.  So a column is only ever
 * added at the end of its table, and that is a new format (HS_SCHEMA_VERSION), as any change
 * here is.  heapscope-schema(5) documents every table and column in this order, which the test
 * checks.  Addresses and sizes are SQLite integers (signed 64-bit: an address above 2^63 would
 * read back negative, which x86-64 user space never has).  Times are seconds: `time` columns are
 * Unix time, `elapsed` columns count from the start of tracing.
 */

#ifndef HS_INDEX
#define HS_INDEX(i, t, cols)
#endif

/* One row: the traced process. */
HS_TABLE(process)
HS_COLUMN(process, pid, "INTEGER NOT NULL")		/* process id */
HS_COLUMN(process, ppid, "INTEGER NOT NULL")		/* parent's process id */
HS_COLUMN(process, argv, "TEXT NOT NULL")		/* command line as a JSON array of
							   strings */
HS_COLUMN(process, executable, "TEXT")			/* resolved /proc/self/exe */
HS_COLUMN(process, start_time, "REAL NOT NULL")		/* Unix time when tracing began */
HS_COLUMN(process, heapscope_version, "TEXT NOT NULL")	/* version of the preload that wrote the
							   file */
HS_COLUMN(process, stack_depth, "INTEGER NOT NULL")	/* frames kept per stack
							   (HEAPSCOPE_DEPTH) */
HS_COLUMN(process, python, "TEXT")			/* CPython version ("3.11.2") when
							   heapscope traced its allocators, NULL
							   otherwise */
HS_COLUMN(process, py_depth, "INTEGER NOT NULL")	/* Python frames kept per stack
							   (HEAPSCOPE_PY_DEPTH), 0 when python is
							   NULL */
HS_END(process, "", "")

/* Every object the process had loaded at some snapshot or dlclose: enough to symbolize. */
HS_TABLE(modules)
HS_COLUMN(modules, id, "INTEGER PRIMARY KEY")
HS_COLUMN(modules, path, "TEXT NOT NULL")		/* file name as the dynamic loader saw it */
HS_COLUMN(modules, base, "INTEGER NOT NULL")		/* load bias: runtime address = file
							   address + base */
HS_COLUMN(modules, start, "INTEGER NOT NULL")		/* lowest runtime address of its PT_LOAD
							   segments */
HS_COLUMN(modules, end, "INTEGER NOT NULL")		/* one past the highest */
HS_COLUMN(modules, build_id, "TEXT")			/* GNU build-id in hex, NULL when the
							   file has none */
HS_END(modules, "", "")

/* Distinct return addresses (program counters) seen in stacks. */
HS_TABLE(frames)
HS_COLUMN(frames, id, "INTEGER PRIMARY KEY")
HS_COLUMN(frames, address, "INTEGER NOT NULL")		/* runtime address: a return address,
							   just past a call (the exact pc for a
							   frame a signal interrupted) */
HS_COLUMN(frames, module_id, "INTEGER REFERENCES modules(id)") /* module that held it, NULL if
							   none did */
HS_COLUMN(frames, offset, "INTEGER")			/* address - modules.base: the file
							   address */
HS_END(frames, "", "")

/* Distinct allocation stacks; a stack id is also the id of its allocation site. */
HS_TABLE(stacks)
HS_COLUMN(stacks, id, "INTEGER PRIMARY KEY")
HS_COLUMN(stacks, depth, "INTEGER NOT NULL")		/* number of frames stored, at most
							   process.stack_depth */
HS_COLUMN(stacks, domain, "TEXT CHECK (domain IN ('" HS_DOMAIN_RAW "', '" HS_DOMAIN_MEM "', '"
    HS_DOMAIN_OBJ "'))")				/* CPython allocator domain of its
							   blocks, NULL for the malloc family
							   and mmap */
HS_COLUMN(stacks, py_depth, "INTEGER NOT NULL")		/* Python frames in py_frames, at most
							   process.py_depth */
HS_COLUMN(stacks, py_traceback, "INTEGER")		/* its Python traceback (py_tracebacks.id
							   of the most recent call), NULL if none */
HS_COLUMN(stacks, node, "INTEGER REFERENCES stack_nodes(id)") /* its innermost chunk of frames,
							   NULL when depth is 0 */
HS_END(stacks, "", "")

/*
 * The frames of the stacks as a tree of chunks: counted from its outermost frame, a stack's
 * frames go HS_STACK_CHUNK to a chunk, and a chunk is a row that points at the chunk of the
 * frames outside it, so that the outer frames two stacks share are stored once.
 */
HS_TABLE(stack_nodes)
HS_COLUMN(stack_nodes, id, "INTEGER PRIMARY KEY")
HS_COLUMN(stack_nodes, parent, "INTEGER REFERENCES stack_nodes(id)") /* the chunk outside it,
							   NULL for a stack's outermost */
HS_COLUMN(stack_nodes, frames, "TEXT NOT NULL")		/* JSON array of frames.id, the outermost
							   first: HS_STACK_CHUNK of them, fewer
							   in a stack's innermost chunk */
HS_END(stack_nodes, "", "")

/* The frames of each stack: columns stack_id, level (0 = innermost) and frame_id. */
HS_VIEW(stack_frames,
    "WITH RECURSIVE w(stack_id, depth, node, chunk) AS ("
    "  SELECT id, depth, node, (depth - 1) / " HS_STACK_CHUNK_SQL " FROM stacks"
    "  WHERE node IS NOT NULL"
    "  UNION ALL SELECT w.stack_id, w.depth, n.parent, w.chunk - 1 FROM w"
    "  JOIN stack_nodes AS n ON n.id = w.node WHERE n.parent IS NOT NULL)"
    " SELECT w.stack_id AS stack_id,"
    "  w.depth - 1 - " HS_STACK_CHUNK_SQL " * w.chunk - j.key AS level, j.value AS frame_id"
    " FROM w JOIN stack_nodes AS n ON n.id = w.node, json_each(n.frames) AS j")

/* Python code objects seen in Python tracebacks. */
HS_TABLE(py_code)
HS_COLUMN(py_code, id, "INTEGER PRIMARY KEY")
HS_COLUMN(py_code, filename, "TEXT NOT NULL")		/* co_filename */
HS_COLUMN(py_code, name, "TEXT NOT NULL")		/* co_qualname */
HS_COLUMN(py_code, firstlineno, "INTEGER NOT NULL")	/* co_firstlineno */
HS_END(py_code, "", "")

/*
 * Python tracebacks as a tree: a row is the most recent call of a traceback and points at the
 * traceback of its caller, so that the calls two tracebacks share are stored once.
 */
HS_TABLE(py_tracebacks)
HS_COLUMN(py_tracebacks, id, "INTEGER PRIMARY KEY")
HS_COLUMN(py_tracebacks, parent, "INTEGER REFERENCES py_tracebacks(id)") /* the caller's
							   traceback, NULL at the outermost frame
							   kept */
HS_COLUMN(py_tracebacks, code_id, "INTEGER NOT NULL REFERENCES py_code(id)")
HS_COLUMN(py_tracebacks, line, "INTEGER NOT NULL")	/* line number being executed, 0 if
							   unknown */
HS_END(py_tracebacks, "", "")

/*
 * The Python traceback of each stack whose blocks came from a CPython allocator domain: columns
 * stack_id, level (0 = the most recent call), code_id and line.
 */
HS_VIEW(py_frames,
    "WITH RECURSIVE f(stack_id, level, tb) AS ("
    "  SELECT id, 0, py_traceback FROM stacks WHERE py_traceback IS NOT NULL"
    "  UNION ALL SELECT f.stack_id, f.level + 1, t.parent FROM f"
    "  JOIN py_tracebacks AS t ON t.id = f.tb WHERE t.parent IS NOT NULL)"
    " SELECT f.stack_id AS stack_id, f.level AS level, t.code_id AS code_id, t.line AS line"
    " FROM f JOIN py_tracebacks AS t ON t.id = f.tb")

/* Threads that called a traced function, in the order heapscope first saw them. */
HS_TABLE(threads)
HS_COLUMN(threads, id, "INTEGER PRIMARY KEY")		/* heapscope's thread number, from 1 */
HS_COLUMN(threads, tid, "INTEGER NOT NULL")		/* kernel thread id */
HS_END(threads, "", "")

/* One row per snapshot, each written in one transaction. */
HS_TABLE(snapshots)
HS_COLUMN(snapshots, id, "INTEGER PRIMARY KEY")		/* 1, 2, ... in the order taken; 0 for
							   the peak */
HS_COLUMN(snapshots, label, "TEXT")			/* heapscope_snapshot() argument; NULL
							   for other triggers */
HS_COLUMN(snapshots, trigger, "TEXT NOT NULL")		/* api, signal, interval, exit, final
							   or peak */
HS_COLUMN(snapshots, time, "REAL NOT NULL")		/* Unix time */
HS_COLUMN(snapshots, elapsed, "REAL NOT NULL")		/* seconds since tracing began */
HS_COLUMN(snapshots, live_bytes, "INTEGER NOT NULL")	/* sum of the requested sizes of live
							   heap blocks */
HS_COLUMN(snapshots, live_blocks, "INTEGER NOT NULL")	/* number of live heap blocks */
HS_COLUMN(snapshots, mapped_bytes, "INTEGER NOT NULL")	/* sum of the sizes of live mmap regions */
HS_COLUMN(snapshots, mappings, "INTEGER NOT NULL")	/* number of live mmap regions */
HS_COLUMN(snapshots, total_allocs, "INTEGER NOT NULL")	/* heap blocks allocated since tracing
							   began */
HS_COLUMN(snapshots, total_frees, "INTEGER NOT NULL")	/* heap blocks freed since tracing began */
HS_COLUMN(snapshots, full, "INTEGER NOT NULL")		/* 1 when the blocks table holds every
							   live block */
HS_COLUMN(snapshots, scanned, "INTEGER NOT NULL")	/* 1 when a reachability scan classified
							   the blocks */
HS_END(snapshots, "", "")

/*
 * Per allocation site and snapshot at which the site's counters changed: its live counts and
 * lifetime statistics then.  A site's state at snapshot N is its row of the latest snapshot up
 * to N (site_states).
 */
HS_TABLE(sites)
HS_COLUMN(sites, snapshot_id, "INTEGER NOT NULL REFERENCES snapshots(id)")
HS_COLUMN(sites, stack_id, "INTEGER NOT NULL REFERENCES stacks(id)")
HS_COLUMN(sites, live_bytes, "INTEGER NOT NULL")	/* bytes of this site's blocks alive at
							   the snapshot */
HS_COLUMN(sites, live_blocks, "INTEGER NOT NULL")	/* blocks of this site alive at the
							   snapshot */
HS_COLUMN(sites, allocs, "INTEGER NOT NULL")		/* blocks allocated here since tracing
							   began */
HS_COLUMN(sites, frees, "INTEGER NOT NULL")		/* of those, freed (or moved by realloc) */
HS_COLUMN(sites, alloc_bytes, "INTEGER NOT NULL")	/* bytes allocated here since tracing
							   began */
HS_COLUMN(sites, temporaries, "INTEGER NOT NULL")	/* frees that came before the thread's
							   next allocation */
HS_COLUMN(sites, lifetimes, "TEXT NOT NULL")		/* JSON object: floor(log2(lifetime in
							   ns)) -> frees */
HS_END(sites, "PRIMARY KEY (snapshot_id, stack_id)", "WITHOUT ROWID")
HS_INDEX(sites_by_stack, sites, "stack_id, snapshot_id")

/* Every site's state at every snapshot: the columns of sites, from its latest row up to it. */
HS_VIEW(site_states,
    "SELECT n.id AS snapshot_id, s.stack_id AS stack_id, s.live_bytes AS live_bytes,"
    "  s.live_blocks AS live_blocks, s.allocs AS allocs, s.frees AS frees,"
    "  s.alloc_bytes AS alloc_bytes, s.temporaries AS temporaries, s.lifetimes AS lifetimes"
    " FROM snapshots AS n JOIN sites AS s ON s.snapshot_id <= n.id"
    " WHERE n.trigger != '" HS_TRIGGER_PEAK "' AND NOT EXISTS (SELECT 1 FROM sites AS l WHERE l.stack_id = s.stack_id"
    "  AND l.snapshot_id > s.snapshot_id AND l.snapshot_id <= n.id)")

/*
 * The sites with live blocks at the peak snapshot, the moment the live heap was highest (the
 * snapshot whose trigger is peak): rewritten with it.
 */
HS_TABLE(peak_sites)
HS_COLUMN(peak_sites, stack_id, "INTEGER PRIMARY KEY REFERENCES stacks(id)")
HS_COLUMN(peak_sites, live_bytes, "INTEGER NOT NULL")	/* bytes of its blocks alive then */
HS_COLUMN(peak_sites, live_blocks, "INTEGER NOT NULL")	/* its blocks alive then */
HS_END(peak_sites, "", "")

/*
 * The timeline: the live heap and the process's memory, sampled every HEAPSCOPE_TIMELINE
 * milliseconds while the program runs (a point is kept when a figure moved since the last one
 * kept, or after ten seconds), without stopping it.
 */
HS_TABLE(timeline)
HS_COLUMN(timeline, elapsed, "REAL PRIMARY KEY")	/* seconds since tracing began */
HS_COLUMN(timeline, live_bytes, "INTEGER NOT NULL")	/* sum of the sizes of live heap blocks */
HS_COLUMN(timeline, live_blocks, "INTEGER NOT NULL")	/* live heap blocks */
HS_COLUMN(timeline, mapped_bytes, "INTEGER NOT NULL")	/* bytes of the program's live mmap
							   regions, pymalloc's arenas included */
HS_COLUMN(timeline, pyarena_bytes, "INTEGER")		/* of those, pymalloc's arenas; NULL
							   when not tracing a CPython */
HS_COLUMN(timeline, rss_anon, "INTEGER NOT NULL")	/* resident anonymous memory, bytes
							   (RssAnon of /proc/PID/status) */
HS_COLUMN(timeline, rss_file, "INTEGER NOT NULL")	/* resident file-backed and shared
							   memory, bytes (RssFile + RssShmem) */
HS_END(timeline, "", "")

/* Every live heap block at a full snapshot (api, signal, exit, final triggers). */
HS_TABLE(blocks)
HS_COLUMN(blocks, snapshot_id, "INTEGER NOT NULL REFERENCES snapshots(id)")
HS_COLUMN(blocks, address, "INTEGER NOT NULL")		/* what malloc returned */
HS_COLUMN(blocks, size, "INTEGER NOT NULL")		/* requested size */
HS_COLUMN(blocks, stack_id, "INTEGER NOT NULL REFERENCES stacks(id)")
HS_COLUMN(blocks, thread_id, "INTEGER NOT NULL REFERENCES threads(id)") /* thread that allocated
							   it */
HS_COLUMN(blocks, age, "REAL NOT NULL")			/* seconds alive at the snapshot */
HS_COLUMN(blocks, leak, "TEXT CHECK (leak IN ('" HS_LEAK_REACHABLE "', '" HS_LEAK_POSSIBLY "', '"
    HS_LEAK_INDIRECTLY "', '" HS_LEAK_DEFINITELY "'))")	/* the scan's verdict, NULL if not
							   scanned */
HS_COLUMN(blocks, cycle_id, "INTEGER")			/* leaked cycle it belongs to (1, 2, ...
							   per snapshot), NULL if none */
HS_COLUMN(blocks, root_refs, "INTEGER")			/* words in roots pointing into it, NULL
							   if not scanned */
HS_COLUMN(blocks, block_refs, "INTEGER")		/* words in other live blocks pointing
							   into it */
/* The next five are set at scanned snapshots of a traced CPython, NULL otherwise. */
HS_COLUMN(blocks, py_type, "TEXT")			/* type name (tp_name) when the block
							   holds a Python object, NULL if it does
							   not */
HS_COLUMN(blocks, py_refcnt, "INTEGER")			/* that object's ob_refcnt; NULL when
							   immortal */
HS_COLUMN(blocks, py_refs, "INTEGER")			/* words in roots and in other blocks
							   equal to the object's address (its GC
							   header left out) */
HS_COLUMN(blocks, py_garbage, "INTEGER")		/* 1 when CPython's gc would find the
							   block garbage: no reference from
							   outside the heap explains it */
HS_COLUMN(blocks, py_cycle_id, "INTEGER")		/* garbage cycle it belongs to (1, 2, ...
							   per snapshot), NULL if none */
HS_END(blocks, "PRIMARY KEY (snapshot_id, address)", "WITHOUT ROWID")

/*
 * Pointers between unreachable blocks, and between garbage blocks, at a scanned snapshot: the
 * shape of each leak.
 */
HS_TABLE(edges)
HS_COLUMN(edges, snapshot_id, "INTEGER NOT NULL REFERENCES snapshots(id)")
HS_COLUMN(edges, from_address, "INTEGER NOT NULL")	/* the block holding the pointer */
HS_COLUMN(edges, offset, "INTEGER NOT NULL")		/* byte offset of the pointer in that
							   block */
HS_COLUMN(edges, to_address, "INTEGER NOT NULL")	/* the block pointed into */
HS_COLUMN(edges, interior, "INTEGER NOT NULL")		/* 1 when it points past the block's
							   first byte */
HS_END(edges, "PRIMARY KEY (snapshot_id, from_address, offset)", "WITHOUT ROWID")

/* Live mmap regions made by the program (not by malloc) at each snapshot. */
HS_TABLE(mappings)
HS_COLUMN(mappings, snapshot_id, "INTEGER NOT NULL REFERENCES snapshots(id)")
HS_COLUMN(mappings, address, "INTEGER NOT NULL")	/* start of the region */
HS_COLUMN(mappings, size, "INTEGER NOT NULL")		/* length in bytes, rounded up to whole
							   pages */
HS_COLUMN(mappings, prot, "INTEGER NOT NULL")		/* PROT_* bits as passed to mmap */
HS_COLUMN(mappings, flags, "INTEGER NOT NULL")		/* MAP_* bits as passed to mmap */
HS_COLUMN(mappings, stack_id, "INTEGER NOT NULL REFERENCES stacks(id)")
HS_COLUMN(mappings, kind, "TEXT NOT NULL CHECK (kind IN ('" HS_MAPPING_MMAP "', '"
    HS_MAPPING_PYARENA "'))")				/* pyarena: a pymalloc arena, made
							   through CPython's arena allocator */
HS_END(mappings, "PRIMARY KEY (snapshot_id, address)", "WITHOUT ROWID")

/* Symbols, filled in by the analyzer on first use: one row per frame and inline level. */
HS_TABLE(symbols)
HS_COLUMN(symbols, frame_id, "INTEGER NOT NULL REFERENCES frames(id)")
HS_COLUMN(symbols, inline_level, "INTEGER NOT NULL")	/* 0 = innermost inlined function; last =
							   the real one */
HS_COLUMN(symbols, function, "TEXT")			/* demangled name, NULL if unknown */
HS_COLUMN(symbols, file, "TEXT")			/* source file, NULL if unknown */
HS_COLUMN(symbols, line, "INTEGER")			/* source line, NULL if unknown */
HS_END(symbols, "PRIMARY KEY (frame_id, inline_level)", "WITHOUT ROWID")

#undef HS_TABLE
#undef HS_COLUMN
#undef HS_END
#undef HS_VIEW
#undef HS_INDEX
