/*
 * What the reachability scan of a snapshot found lost, in valgrind's terms: the part of a leak
 * report that heapscope leaks and heapscope run --leak-check share.  The preload's scan left a
 * verdict on every block of the snapshot (blocks.leak), the cycle each leaked block belongs to
 * (blocks.cycle_id), and the pointers among unreachable blocks (the edges table); this file
 * chooses the snapshot, decides which blocks a report keeps and which suppressions drop, and sums
 * them.  Everything is summed by SQLite, a GROUP BY over the snapshot's blocks: no block is held
 * in memory, only the sites of the leaked ones (in stats, grouped by traceback as top --by
 * traceback groups them) and the ids of suppressed stacks and cycles.
 *
 * Kept blocks: every block of the snapshot, or with --since S those leaked after S, that is,
 * allocated after S.  A block counts as allocated after S if its age at the snapshot is less
 * than the time between S and the snapshot, or, when S holds every live block (api, signal and
 * exit snapshots), if S has no block at its address allocated at the same stack.  A leaked cycle
 * is kept whole when any of its blocks is: its other blocks may be older, but the cycle was made
 * after S.
 *
 * Suppressions: lines leak:PATTERN, as LeakSanitizer reads them (struct lost_supp).  A pattern
 * is tested on every frame of a block's allocation stack, the allocator's frames too: on the
 * function and the source file of each inline level and on the module, files and modules by
 * their path and by its last component.  A leaked block whose stack matches is suppressed; a
 * leaked cycle is suppressed whole when the stack of any of its blocks matches, since it is one
 * leak.  Suppressed blocks are counted apart, never in the kinds; still reachable blocks are not
 * leaks and are never suppressed.
 *
 * Python: at a scanned snapshot of a traced CPython, the preload also left the gc's view
 * (blocks.py_garbage, py_cycle_id) and each object's refcount beside the references it found
 * (py_refcnt, py_refs); the report sums the kept garbage, its cycles and the leaked references
 * (refcount above the references found).  Suppressions do not apply to them.
 *
 * Temporary tables, in the connection's temp database, so that a read-only file will do:
 * lost_since_cycles (the cycles a --since report keeps), lost_stacks (the suppressed stacks),
 * lost_supp_cycles (the suppressed cycles) and LOST_CYCLES (the cycles reported, ranked by bytes).
 */
#include "analyzer.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "lost.h"
#include "schema.h"
#include "stats.h"
#include "symbols.h"

/* The summary's names of the kinds, and their values in blocks.leak, in enum lost_kind order. */
const char *const lost_kind_names[] = {
	"definitely lost", "indirectly lost", "possibly lost", "still reachable"
};
const char *const lost_kind_values[] = { HS_LEAK_DEFINITELY, HS_LEAK_INDIRECTLY, HS_LEAK_POSSIBLY,
    HS_LEAK_REACHABLE };

/* The temporary tables of a report, empty. */
static const char *const lost_tables[] = {
	/* The leaked cycles a --since report keeps: those with a block allocated after it. */
	"CREATE TEMP TABLE lost_since_cycles ("
	" cycle_id INTEGER PRIMARY KEY"		/* blocks.cycle_id */
	")",
	/* The stacks that a suppression matches. */
	"CREATE TEMP TABLE lost_stacks ("
	" stack_id INTEGER PRIMARY KEY"		/* stacks.id */
	")",
	/* The leaked cycles with a block allocated at such a stack. */
	"CREATE TEMP TABLE lost_supp_cycles ("
	" cycle_id INTEGER PRIMARY KEY"		/* blocks.cycle_id */
	")",
	/* The cycles the report shows (kept, not suppressed), largest first: LOST_CYCLES. */
	"CREATE TEMP TABLE lost_cycles ("
	" rank INTEGER PRIMARY KEY,"		/* 1, 2, ... by bytes descending, then cycle_id */
	" cycle_id INTEGER NOT NULL UNIQUE,"	/* blocks.cycle_id */
	" bytes INTEGER NOT NULL,"		/* sum of its blocks' sizes */
	" blocks INTEGER NOT NULL"		/* its blocks */
	")"
};

/* The condition that the leaked block b is suppressed, in SQL. */
#define LOST_SUPPRESSED \
	"(CASE WHEN b.cycle_id IS NULL THEN b.stack_id IN temp.lost_stacks" \
	" ELSE b.cycle_id IN temp.lost_supp_cycles END)"

/* Returns the kind whose blocks.leak value is VALUE, LOST_KINDS if none (or NULL). */
enum lost_kind
lost_kind(const char *value)
{
	unsigned int k;

	for (k = 0; k < LOST_KINDS; k++) {
		if (value != NULL && strcmp(value, lost_kind_values[k]) == 0)
			break;
	}
	return (enum lost_kind)k;
}

/* Makes L an empty report: no database, no suppressions. */
void
lost_init(struct lost *l)
{
	memset(l, 0, sizeof *l);
	stats_init(&l->stats);
	l->stats.by = STATS_TRACEBACK;
	l->stats.limit = 0;
}

/* Frees what L holds, and its temporary tables; not the database. */
void
lost_free(struct lost *l)
{
	size_t i;

	if (l->db != NULL && l->kept != NULL) {
		sqlite3_exec(l->db->sq, "DROP TABLE IF EXISTS temp.lost_since_cycles;"
		    " DROP TABLE IF EXISTS temp.lost_stacks;"
		    " DROP TABLE IF EXISTS temp.lost_supp_cycles;"
		    " DROP TABLE IF EXISTS " LOST_CYCLES, NULL, NULL, NULL);
	}
	for (i = 0; i < l->nsupps; i++)
		free(l->supps[i].pattern);
	free(l->supps);
	stats_free(&l->stats);
	db_snapshot_clear(&l->snap);
	db_snapshot_clear(&l->since);
	free(l->kept);
	memset(l, 0, sizeof *l);
}

/*
 * Reads the suppressions file PATH into L, after those it has: lines leak:PATTERN, lines that
 * start with '#', blank lines; white space around a line is ignored.  Returns 0, or -1 with
 * *CAUSE set, naming the line for a bad one.
 */
int
lost_supp_load(struct lost *l, const char *path, char **cause)
{
	struct lost_supp *s;
	FILE *f;
	char *line = NULL, *start, *end, *pattern;
	size_t cap = 0, len;
	ssize_t n;
	unsigned int lineno = 0;

	if ((f = fopen(path, "r")) == NULL) {
		*cause = xasprintf("%s: %s", quote(path), strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, f)) != -1) {
		lineno++;
		for (start = line; isspace((unsigned char)*start); start++)
			;
		for (end = line + n; end > start && isspace((unsigned char)end[-1]); end--)
			;
		*end = '\0';
		if (*start == '\0' || *start == '#')
			continue;
		if (strncmp(start, "leak:", 5) != 0) {
			*cause = xasprintf("%s:%u: not a leak suppression: %s (leak:PATTERN)",
			    quote(path), lineno, quote(start));
			goto fail;
		}
		pattern = start + 5;
		len = strlen(pattern);
		if (len == 0 || strcmp(pattern, "^") == 0 || strcmp(pattern, "$") == 0 ||
		    strcmp(pattern, "^$") == 0) {
			*cause = xasprintf("%s:%u: empty pattern: %s", quote(path), lineno,
			    quote(start));
			goto fail;
		}
		l->supps = xreallocarray(l->supps, l->nsupps + 1, sizeof *l->supps);
		s = &l->supps[l->nsupps++];
		s->head = pattern[0] == '^';
		s->tail = pattern[len - 1] == '$';
		s->pattern = xasprintf("%.*s", (int)(len - s->head - s->tail), pattern + s->head);
	}
	if (ferror(f)) {
		*cause = xasprintf("%s: %s", quote(path), strerror(errno));
		goto fail;
	}
	free(line);
	fclose(f);
	return 0;
fail:
	free(line);
	fclose(f);
	return -1;
}

/*
 * Returns 1 if the pattern P, in which '*' matches any run of characters, matches the start of
 * the text T, or all of T if TAIL.
 */
static int
lost_glob(const char *p, const char *t, int tail)
{
	for (; *p != '\0'; p++, t++) {
		if (*p == '*') {
			while (p[1] == '*')
				p++;
			/* The rest of the pattern from every place in T, the end included. */
			do {
				if (lost_glob(p + 1, t, tail))
					return 1;
			} while (*t++ != '\0');
			return 0;
		}
		if (*t != *p)
			return 0;
	}
	return !tail || *t == '\0';
}

/* Returns 1 if suppression S matches the text T: anywhere in it, unless anchored. */
static int
lost_supp_match(const struct lost_supp *s, const char *t)
{
	if (t == NULL)
		return 0;
	if (s->head)
		return lost_glob(s->pattern, t, s->tail);
	do {
		if (lost_glob(s->pattern, t, s->tail))
			return 1;
	} while (*t++ != '\0');
	return 0;
}

/* Returns 1 if suppression S matches the file name PATH or its last component. */
static int
lost_supp_match_path(const struct lost_supp *s, const char *path)
{
	const char *slash;

	if (path == NULL)
		return 0;
	if (lost_supp_match(s, path))
		return 1;
	slash = strrchr(path, '/');
	return slash != NULL && lost_supp_match(s, slash + 1);
}

/*
 * Returns 1 if a suppression of L matches a frame of the stack of SITE, whose frames are all
 * resolved: the module, or the function or source file of an inline level, of any frame.
 */
static int
lost_site_suppressed(const struct lost *l, const struct stats_site *site)
{
	const struct sym_frame *f;
	const struct sym_level *lv;
	const struct lost_supp *s;
	uint32_t k;
	unsigned int i;
	size_t j;

	for (k = 0; k < site->n; k++) {
		f = stats_site_frame(&l->stats, site, k);
		for (j = 0; j < l->nsupps; j++) {
			s = &l->supps[j];
			if (f->module != NULL && lost_supp_match_path(s, f->module->path))
				return 1;
			for (i = 0; i < f->nlevels; i++) {
				lv = &f->levels[i];
				if (lost_supp_match(s, lv->function) ||
				    lost_supp_match_path(s, lv->file))
					return 1;
			}
		}
	}
	return 0;
}

/*
 * Prepares SQL on the database of L, binding the parameters it uses: ?1 the snapshot's id, ?2
 * the --since snapshot's id, ?3 the seconds between the two.  Returns the statement, or NULL
 * with *CAUSE set.
 */
sqlite3_stmt *
lost_prepare(struct lost *l, const char *sql, char **cause)
{
	sqlite3_stmt *stmt;
	int n;

	if ((stmt = db_prepare(l->db, sql, cause)) == NULL)
		return NULL;
	n = sqlite3_bind_parameter_count(stmt);
	if (n >= 1)
		sqlite3_bind_int64(stmt, 1, l->snap.id);
	if (n >= 2)
		sqlite3_bind_int64(stmt, 2, l->since.id);
	if (n >= 3)
		sqlite3_bind_double(stmt, 3, l->snap.elapsed - l->since.elapsed);
	return stmt;
}

/* lost_prepare() for the SQL that FMT and its arguments make (most take the kept filter). */
sqlite3_stmt *
lost_preparef(struct lost *l, char **cause, const char *fmt, ...)
{
	sqlite3_stmt *stmt;
	va_list ap;
	char *sql;

	va_start(ap, fmt);
	sql = xvasprintf(fmt, ap);
	va_end(ap);
	stmt = lost_prepare(l, sql, cause);
	free(sql);
	return stmt;
}

/* Runs SQL, which returns no rows, on the database of L; returns 0, or -1 with *CAUSE set. */
static int
lost_exec(struct lost *l, const char *sql, char **cause)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((stmt = lost_prepare(l, sql, cause)) == NULL)
		return -1;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		;
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		*cause = db_cause(l->db, rc);
		return -1;
	}
	return 0;
}

/*
 * Chooses the snapshots of a report on DB: SNAPSHOT (as db_snapshot_find names it), which must
 * have been scanned, or if NULL the last scanned snapshot; and SINCE, if not NULL, an earlier
 * snapshot.  Returns 0, or -1 with *CAUSE set.
 */
int
lost_choose(struct lost *l, struct db *db, const char *snapshot, const char *since,
    char **cause)
{
	struct db_snapshot last;
	char *hint = NULL, *ignored = NULL;

	l->db = db;
	if (snapshot == NULL) {
		if (db_snapshot_scanned(db, &l->snap, cause) != 0)
			return -1;
	} else {
		if (db_snapshot_find(db, snapshot, &l->snap, cause) != 0)
			return -1;
		if (!l->snap.scanned) {
			if (db_snapshot_scanned(db, &last, &ignored) == 0) {
				hint = xasprintf(" (the last scanned is %lld)", (long long)last.id);
				db_snapshot_clear(&last);
			}
			*cause = xasprintf("%s: snapshot %lld%s%s was not scanned for leaks%s",
			    quote(db->path), (long long)l->snap.id,
			    l->snap.label != NULL ? " " : "",
			    l->snap.label != NULL ? quote(l->snap.label) : "",
			    hint != NULL ? hint : "");
			free(hint);
			free(ignored);
			return -1;
		}
	}
	if (since != NULL) {
		if (db_snapshot_find(db, since, &l->since, cause) != 0)
			return -1;
		if (l->since.id >= l->snap.id) {
			*cause = xasprintf("%s: --since snapshot %lld is not before snapshot %lld",
			    quote(db->path), (long long)l->since.id, (long long)l->snap.id);
			return -1;
		}
	}
	return 0;
}

/*
 * Loads the sites of the kept leaked blocks into L's stats, one side per kind (the blocks of
 * cycles on a side of their own), and places them.  Returns 0, or -1 with *CAUSE set.
 */
static int
lost_load_sites(struct lost *l, char **cause)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((l->src = stats_source_add(&l->stats, l->db, cause)) == NULL)
		return -1;
	stmt = lost_preparef(l, cause, "SELECT b.stack_id, CASE WHEN b.cycle_id IS NOT NULL THEN %d"
	    " WHEN b.leak = 'definitely' THEN %d WHEN b.leak = 'indirectly' THEN %d ELSE %d END"
	    " AS side, sum(b.size), count(*) FROM blocks AS b"
	    " WHERE b.snapshot_id = ?1 AND " LOST_LEAKED " AND %s"
	    " GROUP BY b.stack_id, side ORDER BY b.stack_id, side", LOST_SIDE_CYCLE,
	    LOST_DEFINITELY, LOST_INDIRECTLY, LOST_POSSIBLY, l->kept);
	if (stmt == NULL)
		return -1;
	rc = stats_load_rows(&l->stats, l->src, stmt, cause);
	sqlite3_finalize(stmt);
	if (rc != 0)
		return -1;
	return stats_place_sites(&l->stats, cause);
}

/*
 * Tests the suppressions on the stacks of the loaded sites: drops the sites they match from
 * stats and fills the temporary tables of the suppressed stacks and cycles.  Returns 0, or -1
 * with *CAUSE set.
 */
static int
lost_suppress(struct lost *l, char **cause)
{
	struct stats_site *site;
	sqlite3_stmt *stmt;
	size_t i;
	int rc = SQLITE_DONE;

	if (stats_resolve_stacks(&l->stats, cause) != 0)
		return -1;
	stmt = db_prepare(l->db, "INSERT INTO temp.lost_stacks VALUES (?1)", cause);
	if (stmt == NULL)
		return -1;
	sqlite3_exec(l->db->sq, "SAVEPOINT lost", NULL, NULL, NULL);
	for (i = l->src->first; i < l->src->first + l->src->nsites && rc == SQLITE_DONE; i++) {
		site = &l->stats.sites[i];
		if (!lost_site_suppressed(l, site))
			continue;
		site->dropped = 1;
		sqlite3_bind_int64(stmt, 1, site->stack_id);
		rc = sqlite3_step(stmt);
		sqlite3_reset(stmt);
	}
	sqlite3_finalize(stmt);
	sqlite3_exec(l->db->sq, "RELEASE lost", NULL, NULL, NULL);
	if (rc != SQLITE_DONE) {
		*cause = db_cause(l->db, rc);
		return -1;
	}
	return lost_exec(l, "INSERT INTO temp.lost_supp_cycles SELECT DISTINCT b.cycle_id"
	    " FROM blocks AS b WHERE b.snapshot_id = ?1 AND b.cycle_id IS NOT NULL AND "
	    LOST_LEAKED " AND b.stack_id IN temp.lost_stacks", cause);
}

/* Sums the kept blocks of the snapshot of L by kind, and the suppressed ones; 0 or -1. */
static int
lost_summarize(struct lost *l, char **cause)
{
	sqlite3_stmt *stmt;
	struct lost_sum *sum;
	enum lost_kind k;
	int rc;

	stmt = lost_preparef(l, cause, "SELECT b.leak, CASE WHEN b.leak = 'reachable' THEN 0"
	    " ELSE " LOST_SUPPRESSED " END, sum(b.size), count(*) FROM blocks AS b"
	    " WHERE b.snapshot_id = ?1 AND b.leak IS NOT NULL AND %s GROUP BY 1, 2", l->kept);
	if (stmt == NULL)
		return -1;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		/* The schema's CHECK allows no other value. */
		if ((k = lost_kind((const char *)sqlite3_column_text(stmt, 0))) == LOST_KINDS)
			continue;
		sum = sqlite3_column_int(stmt, 1) ? &l->suppressed : &l->kinds[k];
		sum->bytes += sqlite3_column_int64(stmt, 2);
		sum->blocks += sqlite3_column_int64(stmt, 3);
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		*cause = db_cause(l->db, rc);
		return -1;
	}

	stmt = lost_prepare(l, "SELECT count(*), coalesce(sum(bytes), 0), coalesce(sum(blocks), 0)"
	    " FROM " LOST_CYCLES, cause);
	if (stmt == NULL)
		return -1;
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		l->ncycles = sqlite3_column_int64(stmt, 0);
		l->cycles.bytes = sqlite3_column_int64(stmt, 1);
		l->cycles.blocks = sqlite3_column_int64(stmt, 2);
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW) {
		*cause = db_cause(l->db, rc);
		return -1;
	}
	stmt = lost_preparef(l, cause, "SELECT count(b.py_garbage),"
	    " coalesce(sum(CASE WHEN b.py_garbage THEN b.size END), 0), coalesce(sum(b.py_garbage), 0),"
	    " count(DISTINCT b.py_cycle_id),"
	    " coalesce(sum(CASE WHEN b.py_cycle_id IS NOT NULL THEN b.size END), 0),"
	    " count(b.py_cycle_id), coalesce(sum(" LOST_PY_LEAKED "), 0)"
	    " FROM blocks AS b WHERE b.snapshot_id = ?1 AND %s", l->kept);
	if (stmt == NULL)
		return -1;
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		l->python = sqlite3_column_int64(stmt, 0) > 0;
		l->py_garbage.bytes = sqlite3_column_int64(stmt, 1);
		l->py_garbage.blocks = sqlite3_column_int64(stmt, 2);
		l->py_ncycles = sqlite3_column_int64(stmt, 3);
		l->py_cycles.bytes = sqlite3_column_int64(stmt, 4);
		l->py_cycles.blocks = sqlite3_column_int64(stmt, 5);
		l->py_leaked = sqlite3_column_int64(stmt, 6);
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW) {
		*cause = db_cause(l->db, rc);
		return -1;
	}
	assert(l->cycles.blocks <= l->kinds[LOST_DEFINITELY].blocks +
	    l->kinds[LOST_INDIRECTLY].blocks + l->kinds[LOST_POSSIBLY].blocks);
	return 0;
}

/*
 * Computes the report on the snapshots lost_choose chose: which blocks are kept, which are
 * suppressed, the sums, the cycles (LOST_CYCLES) and, if l->sites is set, the sites of the
 * leaked blocks grouped by traceback in l->stats.  Returns 0, or -1 with *CAUSE set.
 */
int
lost_compute(struct lost *l, char **cause)
{
	char *sql, *fresh, *since_sql = NULL;
	size_t i;
	int rc;

	assert(l->db != NULL && l->snap.scanned && l->kept == NULL);
	if (l->since.id == 0)
		l->kept = xstrdup("1");
	else {
		/* Younger than the time between the snapshots, or not at S (if S has them all). */
		fresh = xasprintf("(b.age < ?3%s)", l->since.full ? " OR NOT EXISTS (SELECT 1"
		    " FROM blocks AS o WHERE o.snapshot_id = ?2 AND o.address = b.address"
		    " AND o.stack_id = b.stack_id)" : "");
		l->kept = xasprintf("(CASE WHEN b.cycle_id IS NULL THEN %s"
		    " ELSE b.cycle_id IN temp.lost_since_cycles END)", fresh);
		since_sql = xasprintf("INSERT INTO temp.lost_since_cycles SELECT DISTINCT"
		    " b.cycle_id FROM blocks AS b WHERE b.snapshot_id = ?1"
		    " AND b.cycle_id IS NOT NULL AND " LOST_LEAKED " AND %s", fresh);
		free(fresh);
	}
	for (i = 0; i < sizeof lost_tables / sizeof lost_tables[0]; i++) {
		if (lost_exec(l, lost_tables[i], cause) != 0) {
			free(since_sql);
			return -1;
		}
	}
	if (since_sql != NULL) {
		rc = lost_exec(l, since_sql, cause);
		free(since_sql);
		if (rc != 0)
			return -1;
	}
	if ((l->sites || l->nsupps > 0) && lost_load_sites(l, cause) != 0)
		return -1;
	if (l->nsupps > 0 && lost_suppress(l, cause) != 0)
		return -1;
	if (l->sites)
		stats_group_sites(&l->stats);

	sql = xasprintf("INSERT INTO " LOST_CYCLES " SELECT row_number() OVER"
	    " (ORDER BY sum(b.size) DESC, b.cycle_id), b.cycle_id, sum(b.size), count(*)"
	    " FROM blocks AS b WHERE b.snapshot_id = ?1 AND b.cycle_id IS NOT NULL AND "
	    LOST_LEAKED " AND %s AND b.cycle_id NOT IN temp.lost_supp_cycles"
	    " GROUP BY b.cycle_id", l->kept);
	rc = lost_exec(l, sql, cause);
	free(sql);
	if (rc != 0 || lost_summarize(l, cause) != 0)
		return -1;

#ifndef NDEBUG
	if (l->sites) {
		int64_t bytes = l->cycles.bytes, blocks = l->cycles.blocks;
		unsigned int k;

		for (k = LOST_DEFINITELY; k <= LOST_POSSIBLY; k++) {
			bytes += l->stats.total_bytes[k] - l->kinds[k].bytes;
			blocks += l->stats.total_blocks[k] - l->kinds[k].blocks;
		}
		assert(bytes == 0 && blocks == 0);
	}
#endif
	return 0;
}

/*
 * Returns 1 if the report of L has a definitely lost block, a cycle, a Python garbage cycle or
 * a leaked reference: what fails a check.
 */
int
lost_found(const struct lost *l)
{
	return l->kinds[LOST_DEFINITELY].blocks > 0 || l->ncycles > 0 || l->py_ncycles > 0 ||
	    l->py_leaked > 0;
}

/* Returns 1 if the report of L has any lost block, of any kind, or Python garbage. */
int
lost_any(const struct lost *l)
{
	return l->kinds[LOST_DEFINITELY].blocks > 0 || l->kinds[LOST_INDIRECTLY].blocks > 0 ||
	    l->kinds[LOST_POSSIBLY].blocks > 0 || l->py_garbage.blocks > 0 || l->py_leaked > 0;
}

/*
 * Prints the summary of L on F, as valgrind's LEAK SUMMARY, each line after PREFIX: bytes and
 * blocks of each kind, of the suppressed blocks, and of the cycles.
 */
void
lost_print_summary(FILE *f, const struct lost *l, const char *prefix)
{
	unsigned int k;

	fprintf(f, "%sLEAK SUMMARY:\n", prefix);
	for (k = 0; k < LOST_KINDS; k++) {
		fprintf(f, "%s%18s: %lld bytes in %lld blocks\n", prefix, lost_kind_names[k],
		    (long long)l->kinds[k].bytes, (long long)l->kinds[k].blocks);
	}
	fprintf(f, "%s%18s: %lld bytes in %lld blocks\n", prefix, "suppressed",
	    (long long)l->suppressed.bytes, (long long)l->suppressed.blocks);
	fprintf(f, "%s%18s: %lld bytes in %lld blocks in %lld cycles\n", prefix, "leaked cycles",
	    (long long)l->cycles.bytes, (long long)l->cycles.blocks, (long long)l->ncycles);
	if (!l->python)
		return;
	fprintf(f, "%s%18s: %lld bytes in %lld blocks\n", prefix, "python garbage",
	    (long long)l->py_garbage.bytes, (long long)l->py_garbage.blocks);
	fprintf(f, "%s%18s: %lld bytes in %lld blocks in %lld cycles\n", prefix, "garbage cycles",
	    (long long)l->py_cycles.bytes, (long long)l->py_cycles.blocks,
	    (long long)l->py_ncycles);
	fprintf(f, "%s%18s: %lld objects\n", prefix, "leaked references",
	    (long long)l->py_leaked);
}

/* Prints SUM as a JSON object: {"bytes": B, "blocks": N}. */
static void
lost_print_json_sum(FILE *f, const struct lost_sum *sum)
{
	fprintf(f, "{\"bytes\": %lld, \"blocks\": %lld}", (long long)sum->bytes,
	    (long long)sum->blocks);
}

/*
 * Prints the summary of L on F as a JSON object: definitely_lost, indirectly_lost,
 * possibly_lost, still_reachable and suppressed, each with bytes and blocks; leaked_cycles with
 * cycles, bytes and blocks; python, null unless the snapshot is of a traced CPython: garbage
 * (bytes, blocks), garbage_cycles (cycles, bytes, blocks) and leaked_references (objects).
 */
void
lost_print_json_summary(FILE *f, const struct lost *l)
{
	static const char *const keys[] = {
		"definitely_lost", "indirectly_lost", "possibly_lost", "still_reachable"
	};
	unsigned int k;

	fputs("{", f);
	for (k = 0; k < LOST_KINDS; k++) {
		fprintf(f, "\"%s\": ", keys[k]);
		lost_print_json_sum(f, &l->kinds[k]);
		fputs(", ", f);
	}
	fputs("\"suppressed\": ", f);
	lost_print_json_sum(f, &l->suppressed);
	fprintf(f, ",\n  \"leaked_cycles\": {\"cycles\": %lld, \"bytes\": %lld, \"blocks\": %lld}",
	    (long long)l->ncycles, (long long)l->cycles.bytes, (long long)l->cycles.blocks);
	fputs(",\n  \"python\": ", f);
	if (l->python) {
		fputs("{\"garbage\": ", f);
		lost_print_json_sum(f, &l->py_garbage);
		fprintf(f, ", \"garbage_cycles\": {\"cycles\": %lld, \"bytes\": %lld,"
		    " \"blocks\": %lld}, \"leaked_references\": %lld}", (long long)l->py_ncycles,
		    (long long)l->py_cycles.bytes, (long long)l->py_cycles.blocks,
		    (long long)l->py_leaked);
	} else
		fputs("null", f);
	fputs("}", f);
}
