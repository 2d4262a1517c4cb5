/*
 * heapscope pools: the pymalloc view of a full snapshot of a traced CPython, in the terms of
 * sys._debugmallocstats().  pymalloc serves requests of 1 to 512 bytes of the mem and obj domains
 * from pools of 16 KiB, each pool holding blocks of one size class (16, 32, ... 512 bytes), and
 * carves its pools out of 1 MiB arenas; an arena made through CPython's arena allocator is a
 * mapping of kind 'pyarena' in the database.  Nothing of pymalloc's own state is recorded, so the
 * view is rebuilt from the blocks: the blocks of the mem and obj domains that lie inside an arena
 * at the snapshot, read in address order beside the arenas (also in address order), are grouped
 * by pool (the address rounded down to 16 KiB); a pool's size class is the class of its largest
 * request.  The rest follows from pymalloc's layout: a pool starts with a 48-byte header (four
 * pointers and four 32-bit integers on 64-bit, rounded up to 16; CPython 3.10 to 3.13), holds
 * (16384 - 48) / size blocks and loses the remainder to quantization; an arena whose address is
 * not 16 KiB-aligned loses its partial pools at both ends, 16 KiB in all, to alignment.
 *
 * Invariant (checked in debug builds): the bytes of the arenas == allocated + available +
 * unused pools + pool headers + quantization + alignment, as in the Total of _debugmallocstats.
 */
#include "analyzer.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "schema.h"

#define POOLS_ALIGNMENT		16	/* bytes between size classes, ALIGNMENT in obmalloc */
#define POOLS_THRESHOLD		512	/* largest request pymalloc serves */
#define POOLS_NCLASSES		(POOLS_THRESHOLD / POOLS_ALIGNMENT)
#define POOLS_POOL_SIZE		16384	/* POOL_SIZE since CPython 3.10 */
#define POOLS_HEADER		48	/* POOL_OVERHEAD: the pool header, on 64-bit */

/* Returns the block size of size class C. */
#define POOLS_CLASS_SIZE(c)	(((int64_t)(c) + 1) * POOLS_ALIGNMENT)
/* Returns the number of blocks a pool of size class C holds. */
#define POOLS_CLASS_BLOCKS(c)	((POOLS_POOL_SIZE - POOLS_HEADER) / POOLS_CLASS_SIZE(c))
/* Returns the free blocks in the pools of K, the counts of size class C: "avail blocks". */
#define POOLS_CLASS_AVAIL(k, c)	((k)->pools * POOLS_CLASS_BLOCKS(c) - (k)->blocks)

/* What the pools of one size class hold. */
struct pools_class {
	int64_t	blocks;		/* blocks in use */
	int64_t	pools;		/* pools holding them: "num pools" */
	int64_t	requested;	/* sum of the requested sizes of the blocks */
};

/* One pymalloc arena. */
struct pools_arena {
	int64_t	address;	/* start of the mapping */
	int64_t	size;		/* its bytes (1 MiB) */
	int64_t	usable;		/* 16 KiB-aligned pools that fit inside it */
	int64_t	used;		/* of those, pools holding a block in use */
};

/*
 * The report.  Invariants: sum of classes[].pools == sum of arenas[].used; for each arena,
 * used <= usable.
 */
struct pools {
	struct pools_class	 classes[POOLS_NCLASSES];
	struct pools_arena	*arenas;	/* in address order */
	size_t			 narenas;
	char			*python;	/* process.python */
};

/* The totals of the report, in _debugmallocstats's terms. */
struct pools_totals {
	int64_t	arena_bytes;	/* arenas * their size */
	int64_t	blocks;		/* blocks in use */
	int64_t	pools;		/* pools in use */
	int64_t	usable_pools;	/* pools the arenas can hold */
	int64_t	unused_pools;	/* usable pools not in use */
	int64_t	allocated;	/* bytes in allocated blocks: blocks * their class size */
	int64_t	requested;	/* bytes requested: the sum of the blocks' sizes */
	int64_t	available;	/* bytes in available blocks: free blocks of the used pools */
	int64_t	unused;		/* unused_pools * pool size */
	int64_t	headers;	/* bytes lost to pool headers */
	int64_t	quantization;	/* bytes lost at the end of used pools, too few for a block */
	int64_t	alignment;	/* bytes lost to arena alignment */
	int64_t	fragmentation;	/* everything but the allocated blocks: arena_bytes - allocated */
};

/*
 * Reads the CPython version of DB's process into P->python; returns 0, or -1 with *CAUSE set
 * when the process was not a traced CPython or a version whose pools this file does not know.
 */
static int
pools_python(struct db *db, struct pools *p, char **cause)
{
	sqlite3_stmt *stmt;
	int rc, major = 0, minor = 0;

	if ((stmt = db_prepare(db, "SELECT python FROM process LIMIT 1", cause)) == NULL)
		return -1;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL)
		p->python = xstrdup((const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		*cause = db_cause(db, rc);
		return -1;
	}
	if (p->python == NULL) {
		*cause = xasprintf("%s: not a traced CPython process: no pymalloc view",
		    quote(db->path));
		return -1;
	}
	/* 16 KiB pools and 1 MiB arenas came with 3.10. */
	if (sscanf(p->python, "%d.%d", &major, &minor) != 2 || major != 3 || minor < 10) {
		*cause = xasprintf("%s: CPython %s: only the pools of CPython 3.10 and later are"
		    " known", quote(db->path), quote(p->python));
		return -1;
	}
	return 0;
}

/* Reads the arenas of snapshot SNAP into P; returns 0, or -1 with *CAUSE set if it has none. */
static int
pools_arenas(struct db *db, const struct db_snapshot *snap, struct pools *p, char **cause)
{
	struct pools_arena *a;
	sqlite3_stmt *stmt;
	size_t alloc = 0;
	int64_t first;
	int rc;

	stmt = db_prepare(db, "SELECT address, size FROM mappings WHERE snapshot_id = ?1"
	    " AND kind = '" HS_MAPPING_PYARENA "' ORDER BY address", cause);
	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, snap->id);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (p->narenas == alloc) {
			alloc = alloc == 0 ? 64 : alloc * 2;
			p->arenas = xreallocarray(p->arenas, alloc, sizeof *p->arenas);
		}
		a = &p->arenas[p->narenas++];
		a->address = sqlite3_column_int64(stmt, 0);
		a->size = sqlite3_column_int64(stmt, 1);
		first = (a->address + POOLS_POOL_SIZE - 1) & ~(int64_t)(POOLS_POOL_SIZE - 1);
		a->usable = a->address + a->size > first ?
		    (a->address + a->size - first) / POOLS_POOL_SIZE : 0;
		a->used = 0;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		*cause = db_cause(db, rc);
		return -1;
	}
	if (p->narenas == 0) {
		*cause = xasprintf("%s: snapshot %lld: no pymalloc arenas: the process ran without"
		    " pymalloc (PYTHONMALLOC=malloc?)", quote(db->path), (long long)snap->id);
		return -1;
	}
	return 0;
}

/* Counts the pool that held COUNT blocks, REQUESTED bytes and a largest request MAX in A. */
static void
pools_add_pool(struct pools *p, struct pools_arena *a, int64_t count, int64_t requested,
    int64_t max)
{
	size_t c;

	/* A request outside 1..512 cannot be in an arena: counted in the nearest class. */
	if (max < 1)
		max = 1;
	if (max > POOLS_THRESHOLD)
		max = POOLS_THRESHOLD;
	c = (size_t)((max - 1) / POOLS_ALIGNMENT);
	p->classes[c].blocks += count;
	p->classes[c].pools++;
	p->classes[c].requested += requested;
	a->used++;
}

/*
 * Reads the blocks of the mem and obj domains at snapshot SNAP, in address order, and counts
 * those inside P's arenas by pool.  Returns 0, or -1 with *CAUSE set.
 */
static int
pools_blocks(struct db *db, const struct db_snapshot *snap, struct pools *p, char **cause)
{
	struct pools_arena *a = NULL;
	sqlite3_stmt *stmt;
	size_t next = 0;
	int64_t addr, size, pool = -1, count = 0, requested = 0, max = 0;
	int rc;

	stmt = db_prepare(db, "SELECT b.address, b.size FROM blocks b"
	    " JOIN stacks s ON s.id = b.stack_id WHERE b.snapshot_id = ?1"
	    " AND s.domain IN ('" HS_DOMAIN_MEM "', '" HS_DOMAIN_OBJ "')"
	    " AND b.address >= ?2 AND b.address < ?3 ORDER BY b.address", cause);
	if (stmt == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, snap->id);
	sqlite3_bind_int64(stmt, 2, p->arenas[0].address);
	sqlite3_bind_int64(stmt, 3, p->arenas[p->narenas - 1].address +
	    p->arenas[p->narenas - 1].size);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		addr = sqlite3_column_int64(stmt, 0);
		size = sqlite3_column_int64(stmt, 1);
		while (next < p->narenas && p->arenas[next].address + p->arenas[next].size <= addr)
			next++;
		/* Between two arenas: a block of the raw allocator (larger than 512 bytes). */
		if (next == p->narenas || addr < p->arenas[next].address)
			continue;
		if ((addr & ~(int64_t)(POOLS_POOL_SIZE - 1)) != pool) {
			if (count > 0)
				pools_add_pool(p, a, count, requested, max);
			pool = addr & ~(int64_t)(POOLS_POOL_SIZE - 1);
			a = &p->arenas[next];
			count = requested = max = 0;
		}
		count++;
		requested += size;
		if (size > max)
			max = size;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		*cause = db_cause(db, rc);
		return -1;
	}
	if (count > 0)
		pools_add_pool(p, a, count, requested, max);
	return 0;
}

/* Sums the report P into *T. */
static void
pools_total(const struct pools *p, struct pools_totals *t)
{
	const struct pools_class *k;
	int64_t size;
	size_t i;

	memset(t, 0, sizeof *t);
	for (i = 0; i < p->narenas; i++) {
		assert(p->arenas[i].used <= p->arenas[i].usable);
		t->arena_bytes += p->arenas[i].size;
		t->usable_pools += p->arenas[i].usable;
		t->alignment += p->arenas[i].size - p->arenas[i].usable * POOLS_POOL_SIZE;
	}
	for (i = 0; i < POOLS_NCLASSES; i++) {
		k = &p->classes[i];
		size = POOLS_CLASS_SIZE(i);
		t->blocks += k->blocks;
		t->pools += k->pools;
		t->allocated += k->blocks * size;
		t->requested += k->requested;
		t->available += POOLS_CLASS_AVAIL(k, i) * size;
		t->headers += k->pools * POOLS_HEADER;
		t->quantization += k->pools * ((POOLS_POOL_SIZE - POOLS_HEADER) % size);
	}
	t->unused_pools = t->usable_pools - t->pools;
	t->unused = t->unused_pools * POOLS_POOL_SIZE;
	t->fragmentation = t->arena_bytes - t->allocated;
	assert(t->arena_bytes == t->allocated + t->available + t->unused + t->headers +
	    t->quantization + t->alignment);
}

/* Formats N with a comma between groups of three digits, as _debugmallocstats does. */
static void
pools_commas(char *buf, size_t len, int64_t n)
{
	char digits[32];
	size_t nd, i, o = 0;

	nd = (size_t)snprintf(digits, sizeof digits, "%lld", (long long)n);
	for (i = 0; i < nd && o + 2 < len; i++) {
		if (i > 0 && digits[i - 1] != '-' && (nd - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
}

/* Prints one line "NAME = VALUE" of the totals, aligned as _debugmallocstats aligns them. */
static void
pools_line(const char *name, int64_t value)
{
	char buf[32];

	pools_commas(buf, sizeof buf, value);
	printf("%-34s = %20s\n", name, buf);
}

/* Returns how full arena A is, as a percentage of its usable pools. */
static double
pools_full(const struct pools_arena *a)
{
	return a->usable > 0 ? 100.0 * (double)a->used / (double)a->usable : 0.0;
}

/* Prints the report as text, laid out like _debugmallocstats's. */
static void
pools_print_text(const struct pools *p, const struct pools_totals *t,
    const struct db_snapshot *snap)
{
	const struct pools_class *k;
	char name[64];
	size_t i;

	db_snapshot_print("", snap);
	printf(": pymalloc of CPython %s\n\n", p->python);
	printf("Small block threshold = %d, in %d size classes.\n\n", POOLS_THRESHOLD,
	    POOLS_NCLASSES);
	printf("class   size   num pools   blocks in use  avail blocks  requested bytes\n"
	    "-----   ----   ---------   -------------  ------------  ---------------\n");
	for (i = 0; i < POOLS_NCLASSES; i++) {
		k = &p->classes[i];
		if (k->pools == 0)
			continue;
		printf("%5zu  %5lld  %10lld  %14lld  %12lld  %15lld\n", i,
		    (long long)POOLS_CLASS_SIZE(i), (long long)k->pools, (long long)k->blocks,
		    (long long)POOLS_CLASS_AVAIL(k, i),
		    (long long)k->requested);
	}
	putchar('\n');
	pools_line("# arenas allocated current", (int64_t)p->narenas);
	snprintf(name, sizeof name, "%zu arenas * %lld bytes/arena", p->narenas,
	    (long long)(p->narenas > 0 ? t->arena_bytes / (int64_t)p->narenas : 0));
	pools_line(name, t->arena_bytes);
	putchar('\n');
	pools_line("# bytes in allocated blocks", t->allocated);
	pools_line("# bytes in available blocks", t->available);
	snprintf(name, sizeof name, "%lld unused pools * %d bytes", (long long)t->unused_pools,
	    POOLS_POOL_SIZE);
	pools_line(name, t->unused);
	pools_line("# bytes lost to pool headers", t->headers);
	pools_line("# bytes lost to quantization", t->quantization);
	pools_line("# bytes lost to arena alignment", t->alignment);
	pools_line("Total", t->arena_bytes);
	putchar('\n');
	pools_line("# bytes requested in blocks", t->requested);
	pools_line("# bytes lost to fragmentation", t->fragmentation);
	putchar('\n');

	printf("%-18s  %5s  %6s  %6s\n", "arena", "pools", "usable", "full");
	for (i = 0; i < p->narenas; i++) {
		printf("%#-18llx  %5lld  %6lld  %5.1f%%\n", (unsigned long long)p->arenas[i].address,
		    (long long)p->arenas[i].used, (long long)p->arenas[i].usable,
		    pools_full(&p->arenas[i]));
	}
}

/* Prints the report as JSON. */
static void
pools_print_json(const struct pools *p, const struct pools_totals *t,
    const struct db_snapshot *snap)
{
	const struct pools_class *k;
	size_t i;

	fputs("{\"snapshot\": ", stdout);
	db_snapshot_json(snap);
	fputs(",\n \"python\": ", stdout);
	json_string(stdout, p->python);
	printf(", \"pool_size\": %d, \"pool_header\": %d,\n \"size_classes\": [",
	    POOLS_POOL_SIZE, POOLS_HEADER);
	for (i = 0; i < POOLS_NCLASSES; i++) {
		k = &p->classes[i];
		printf("%s\n  {\"class\": %zu, \"size\": %lld, \"blocks\": %lld, \"pools\": %lld,"
		    " \"avail_blocks\": %lld, \"requested_bytes\": %lld}", i == 0 ? "" : ",", i,
		    (long long)POOLS_CLASS_SIZE(i), (long long)k->blocks, (long long)k->pools,
		    (long long)POOLS_CLASS_AVAIL(k, i),
		    (long long)k->requested);
	}
	printf("],\n \"arenas\": %zu, \"arena_bytes\": %lld, \"blocks\": %lld, \"pools\": %lld,"
	    " \"usable_pools\": %lld, \"unused_pools\": %lld,\n \"allocated_bytes\": %lld,"
	    " \"requested_bytes\": %lld, \"available_bytes\": %lld, \"unused_pool_bytes\": %lld,"
	    "\n \"pool_header_bytes\": %lld, \"quantization_bytes\": %lld,"
	    " \"arena_alignment_bytes\": %lld, \"fragmentation_bytes\": %lld,\n \"arena_list\": [",
	    p->narenas, (long long)t->arena_bytes, (long long)t->blocks, (long long)t->pools,
	    (long long)t->usable_pools, (long long)t->unused_pools, (long long)t->allocated,
	    (long long)t->requested, (long long)t->available, (long long)t->unused,
	    (long long)t->headers, (long long)t->quantization, (long long)t->alignment,
	    (long long)t->fragmentation);
	for (i = 0; i < p->narenas; i++) {
		printf("%s\n  {\"address\": %lld, \"size\": %lld, \"pools\": %lld, \"usable\": %lld,"
		    " \"full\": ", i == 0 ? "" : ",", (long long)p->arenas[i].address,
		    (long long)p->arenas[i].size, (long long)p->arenas[i].used,
		    (long long)p->arenas[i].usable);
		json_double(stdout, pools_full(&p->arenas[i]), 3);
		putchar('}');
	}
	fputs("\n]}\n", stdout);
}

static enum cmd_retval
cmd_pools_exec(const struct args *args, struct cmd_exit *exit_how, char **cause)
{
	struct pools p;
	struct pools_totals t;
	struct db *db;
	struct db_snapshot snap;
	enum cmd_retval retval = CMD_RETURN_ERROR;
	int started;

	(void)exit_how;
	if ((db = db_open(args->argv[0], cause)) == NULL)
		return CMD_RETURN_ERROR;
	memset(&p, 0, sizeof p);
	/* One read transaction: the arenas and the blocks of the same state of the file. */
	started = db_read_begin(db);
	if (db_snapshot_find(db, args->argc > 1 ? args->argv[1] : NULL, &snap, cause) != 0)
		goto out;
	if (!snap.full) {
		*cause = xasprintf("%s: snapshot %lld is not a full snapshot (its trigger %s keeps"
		    " no blocks)", quote(db->path), (long long)snap.id, quote(snap.trigger));
		goto out;
	}
	if (pools_python(db, &p, cause) != 0 || pools_arenas(db, &snap, &p, cause) != 0 ||
	    pools_blocks(db, &snap, &p, cause) != 0)
		goto out;
	pools_total(&p, &t);
	if (args_has(args, 'j'))
		pools_print_json(&p, &t, &snap);
	else
		pools_print_text(&p, &t, &snap);
	retval = CMD_RETURN_NORMAL;
out:
	db_read_end(db, started);
	db_snapshot_clear(&snap);
	free(p.arenas);
	free(p.python);
	db_close(db);
	return retval;
}

/* The options of pools. */
static const struct args_option pools_options[] = {
	{ .type = ARGS_FLAG, .name = "json", .id = 'j',
	  .help = "print a JSON object: snapshot, python, size_classes, arenas, totals,\n"
	  "arena_list" },
	{ .type = ARGS_END }
};

const struct cmd_entry cmd_pools_entry = {
	.name = "pools",
	.args = { .usage = "FILE [SNAPSHOT]", .lower = 1, .upper = 2, .options = pools_options,
	    .width = 16 },
	.help = "Show pymalloc's size classes, pools and arenas at a snapshot of a CPython process.",
	.detail =
	    "A SNAPSHOT is an id, first, last, peak, or a label (its last snapshot); it must be a\n"
	    "full snapshot.\n",
	.exec = cmd_pools_exec
};
