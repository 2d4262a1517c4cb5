/*
 * heapscope leaks: what the reachability scan of a snapshot found lost, in the manner of
 * valgrind's leak report.  First the summary (lost.c, which run --leak-check prints too): bytes
 * and blocks per kind, suppressed, and in cycles.  Then each leaked cycle, largest first: its
 * blocks with address, size, kind and site, the pointers among them ("0xA+8 -> 0xB": the word
 * at offset 8 of block A points into block B), and its sites with their stacks.  Then the other
 * leaked blocks as loss records, one per allocation site and kind, largest first.  The
 * pointers of a cycle's blocks that lead out of it are listed too, marked: they show what the
 * cycle holds on to (which the scan counted as indirectly lost).
 *
 * For a traced CPython, the garbage cycles that the scan found as CPython's gc would, largest
 * first, each block with its type, refcount, references found and Python traceback; then the
 * leaked references: objects whose refcount exceeds the references found.
 *
 * A site is a group of top --by traceback: the stacks that are equal from the key frame (the
 * first frame outside the allocator) outward, so the record of a line is not split by the
 * allocator's own paths to malloc.  The records come from lost.c's stats, whose sides 0 to 2
 * sum the blocks outside cycles by kind.  The cycles are streamed: one query for the members
 * of every cycle and one for the pointers, both in the order of LOST_CYCLES, read in step with
 * it; a cycle's sites are tallied as its members go by, so memory grows with the sites of a
 * cycle, never with its blocks.
 */
#include "analyzer.h"

#include <stdlib.h>

#include "db.h"
#include "lost.h"
#include "py.h"
#include "stats.h"

/* One loss record: the leaked blocks of one kind, outside cycles, of one group of sites. */
struct leaks_record {
	const struct stats_group	*g;		/* the group */
	enum lost_kind			 kind;		/* definitely, indirectly or possibly */
	int64_t				 bytes;		/* its bytes of that kind */
	int64_t				 blocks;	/* its blocks of that kind */
};

/* The blocks of one cycle allocated at one group of sites. */
struct leaks_site {
	const struct stats_group	*g;		/* the group, NULL if no stack known */
	int64_t				 bytes;		/* bytes of the cycle's blocks there */
	int64_t				 blocks;	/* the cycle's blocks there */
};

/*
 * The sites of the cycle being printed.  A block appends an entry; when the entries pile up
 * they are sorted by group and merged, so that n stays within twice the distinct groups.
 * Invariant: sum of the entries' blocks == the cycle's blocks seen so far.
 */
struct leaks_tally {
	struct leaks_site	*list;		/* entries */
	size_t			 n;		/* entries in list */
	size_t			 alloc;		/* allocated entries */
	size_t			 merged;	/* n after the last merge */
};

/* Orders sites by group, for merging. */
static int
leaks_site_cmp_group(const void *a, const void *b)
{
	uintptr_t ga = (uintptr_t)((const struct leaks_site *)a)->g;
	uintptr_t gb = (uintptr_t)((const struct leaks_site *)b)->g;

	return ga < gb ? -1 : ga > gb;
}

/* Orders groups A and B by key; a missing group after any other. */
static int
leaks_group_cmp(const struct stats_group *a, const struct stats_group *b)
{
	if (a == NULL || b == NULL)
		return (a == NULL) - (b == NULL);
	return stats_key_cmp(a, b);
}

/* Orders sites by bytes, then blocks (both descending), then key. */
static int
leaks_site_cmp(const void *a, const void *b)
{
	const struct leaks_site *sa = a, *sb = b;

	if (sa->bytes != sb->bytes)
		return sa->bytes > sb->bytes ? -1 : 1;
	if (sa->blocks != sb->blocks)
		return sa->blocks > sb->blocks ? -1 : 1;
	return leaks_group_cmp(sa->g, sb->g);
}

/* Orders records by bytes, then blocks (both descending), then kind, then key. */
static int
leaks_record_cmp(const void *a, const void *b)
{
	const struct leaks_record *ra = a, *rb = b;

	if (ra->bytes != rb->bytes)
		return ra->bytes > rb->bytes ? -1 : 1;
	if (ra->blocks != rb->blocks)
		return ra->blocks > rb->blocks ? -1 : 1;
	if (ra->kind != rb->kind)
		return ra->kind < rb->kind ? -1 : 1;
	return leaks_group_cmp(ra->g, rb->g);
}

/* Merges the entries of T that share a group. */
static void
leaks_tally_merge(struct leaks_tally *t)
{
	size_t i, o = 0;

	if (t->n == 0)
		return;
	qsort(t->list, t->n, sizeof *t->list, leaks_site_cmp_group);
	for (i = 1; i < t->n; i++) {
		if (t->list[i].g == t->list[o].g) {
			t->list[o].bytes += t->list[i].bytes;
			t->list[o].blocks += t->list[i].blocks;
		} else
			t->list[++o] = t->list[i];
	}
	t->n = o + 1;
	t->merged = t->n;
}

/* Counts a block of SIZE bytes of group G in T. */
static void
leaks_tally_add(struct leaks_tally *t, const struct stats_group *g, int64_t size)
{
	if (t->n > 0 && t->list[t->n - 1].g == g) {
		t->list[t->n - 1].bytes += size;
		t->list[t->n - 1].blocks++;
		return;
	}
	if (t->n >= 2 * t->merged + 64)
		leaks_tally_merge(t);
	if (t->n == t->alloc) {
		t->alloc = t->alloc == 0 ? 64 : 2 * t->alloc;
		t->list = xreallocarray(t->list, t->alloc, sizeof *t->list);
	}
	t->list[t->n].g = g;
	t->list[t->n].bytes = size;
	t->list[t->n++].blocks = 1;
}

/* Returns the group of the sites of stack STACK_ID, or NULL if it has none. */
static const struct stats_group *
leaks_group(const struct lost *l, int64_t stack_id)
{
	size_t si = stats_site_find(&l->stats, l->src, stack_id);

	return si != SIZE_MAX ? l->stats.sites[si].group : NULL;
}

/* Returns the one-line site of group G, in a new string. */
static char *
leaks_site_text(const struct lost *l, const struct stats_group *g)
{
	return g != NULL ? stats_group_site(&l->stats, g) : xstrdup("[no stack]");
}

/* Prints the traceback of group G as JSON, [] if G is NULL. */
static void
leaks_print_json_stack(const struct lost *l, const struct stats_group *g)
{
	if (g != NULL)
		stats_print_json_traceback(&l->stats, g);
	else
		fputs("[]", stdout);
}

/* Prints the sites of a cycle, tallied in T, as text or JSON (after the members and edges). */
static void
leaks_print_cycle_sites(const struct lost *l, struct leaks_tally *t, int json)
{
	char *site;
	size_t i;

	leaks_tally_merge(t);
	qsort(t->list, t->n, sizeof *t->list, leaks_site_cmp);
	if (json)
		fputs(",\n   \"sites\": [", stdout);
	for (i = 0; i < t->n; i++) {
		site = leaks_site_text(l, t->list[i].g);
		if (json) {
			printf("%s\n    {\"blocks\": %lld, \"bytes\": %lld, \"site\": ",
			    i > 0 ? "," : "", (long long)t->list[i].blocks,
			    (long long)t->list[i].bytes);
			json_string(stdout, site);
			fputs(", \"stack\": ", stdout);
			leaks_print_json_stack(l, t->list[i].g);
			fputs("}", stdout);
		} else {
			printf("  %lld blocks, %lld bytes allocated at %s:\n",
			    (long long)t->list[i].blocks, (long long)t->list[i].bytes, site);
			if (t->list[i].g != NULL)
				stats_print_traceback(&l->stats, t->list[i].g, "    ");
		}
		free(site);
	}
	if (json)
		fputs(t->n > 0 ? "\n   ]}" : "]}", stdout);
	t->n = t->merged = 0;
}

/*
 * Prints the cycles of L (LOST_CYCLES) as text or as the members of the JSON array "cycles",
 * streaming their blocks and edges.  Returns 0, or -1 with *CAUSE set.
 */
static int
leaks_print_cycles(struct lost *l, int json, char **cause)
{
	sqlite3_stmt *cycles, *members = NULL, *edges = NULL;
	const struct stats_group *g, *last_g = NULL;
	struct leaks_tally tally = { NULL, 0, 0, 0 };
	enum lost_kind kind;
	char *site = NULL;
	int64_t rank;
	int rc, mrc, erc, first;

	cycles = lost_prepare(l, "SELECT rank, bytes, blocks, cycle_id FROM " LOST_CYCLES
	    " ORDER BY rank", cause);
	if (cycles == NULL)
		return -1;
	members = lost_prepare(l, "SELECT c.rank, b.address, b.size, b.stack_id, b.leak"
	    " FROM blocks AS b CROSS JOIN " LOST_CYCLES " AS c WHERE b.snapshot_id = ?1"
	    " AND b.cycle_id = c.cycle_id AND " LOST_LEAKED " ORDER BY c.rank, b.address", cause);
	if (members == NULL)
		goto fail;
	/* The pointers held by a cycle's blocks: to one another, or out of the cycle. */
	edges = lost_prepare(l, "SELECT c.rank, e.from_address, e.offset, e.to_address,"
	    " e.interior, t.cycle_id IS c.cycle_id"
	    " FROM edges AS e CROSS JOIN blocks AS f CROSS JOIN blocks AS t CROSS JOIN "
	    LOST_CYCLES " AS c WHERE e.snapshot_id = ?1 AND f.snapshot_id = ?1"
	    " AND f.address = e.from_address AND t.snapshot_id = ?1 AND t.address = e.to_address"
	    " AND f.cycle_id = c.cycle_id ORDER BY c.rank, e.from_address, e.offset", cause);
	if (edges == NULL)
		goto fail;

	mrc = sqlite3_step(members);
	erc = sqlite3_step(edges);
	while ((rc = sqlite3_step(cycles)) == SQLITE_ROW) {
		rank = sqlite3_column_int64(cycles, 0);
		if (json) {
			printf("%s\n  {\"id\": %lld, \"blocks\": %lld, \"bytes\": %lld,\n"
			    "   \"members\": [", rank > 1 ? "," : "",
			    (long long)sqlite3_column_int64(cycles, 3),
			    (long long)sqlite3_column_int64(cycles, 2),
			    (long long)sqlite3_column_int64(cycles, 1));
		} else {
			printf("\ncycle %lld of %lld: %lld bytes in %lld blocks\n", (long long)rank,
			    (long long)l->ncycles, (long long)sqlite3_column_int64(cycles, 1),
			    (long long)sqlite3_column_int64(cycles, 2));
		}

		for (first = 1; mrc == SQLITE_ROW && sqlite3_column_int64(members, 0) == rank;
		    first = 0) {
			g = leaks_group(l, sqlite3_column_int64(members, 3));
			if (site == NULL || g != last_g) {
				free(site);
				site = leaks_site_text(l, g);
				last_g = g;
			}
			kind = lost_kind((const char *)sqlite3_column_text(members, 4));
			leaks_tally_add(&tally, g, sqlite3_column_int64(members, 2));
			if (json) {
				printf("%s\n    {\"address\": \"0x%llx\", \"size\": %lld,"
				    " \"kind\": ", first ? "" : ",",
				    (unsigned long long)sqlite3_column_int64(members, 1),
				    (long long)sqlite3_column_int64(members, 2));
				json_string(stdout,
				    kind < LOST_KINDS ? lost_kind_values[kind] : NULL);
				fputs(", \"site\": ", stdout);
				json_string(stdout, site);
				fputs(", \"stack\": ", stdout);
				leaks_print_json_stack(l, g);
				fputs("}", stdout);
			} else {
				printf("  block 0x%llx: %lld bytes, %s, at %s\n",
				    (unsigned long long)sqlite3_column_int64(members, 1),
				    (long long)sqlite3_column_int64(members, 2),
				    kind < LOST_KINDS ? lost_kind_names[kind] : "?", site);
			}
			mrc = sqlite3_step(members);
		}
		if (json)
			fputs(first ? "],\n   \"edges\": [" : "\n   ],\n   \"edges\": [", stdout);

		for (first = 1; erc == SQLITE_ROW && sqlite3_column_int64(edges, 0) == rank;
		    first = 0) {
			if (json) {
				printf("%s\n    {\"from\": \"0x%llx\", \"offset\": %lld,"
				    " \"to\": \"0x%llx\", \"interior\": %s, \"inside\": %s}",
				    first ? "" : ",",
				    (unsigned long long)sqlite3_column_int64(edges, 1),
				    (long long)sqlite3_column_int64(edges, 2),
				    (unsigned long long)sqlite3_column_int64(edges, 3),
				    sqlite3_column_int(edges, 4) ? "true" : "false",
				    sqlite3_column_int(edges, 5) ? "true" : "false");
			} else {
				printf("  0x%llx+%lld -> 0x%llx%s%s\n",
				    (unsigned long long)sqlite3_column_int64(edges, 1),
				    (long long)sqlite3_column_int64(edges, 2),
				    (unsigned long long)sqlite3_column_int64(edges, 3),
				    sqlite3_column_int(edges, 4) ? " (interior)" : "",
				    sqlite3_column_int(edges, 5) ? "" : " (out of the cycle)");
			}
			erc = sqlite3_step(edges);
		}
		if (json)
			fputs(first ? "]" : "\n   ]", stdout);
		leaks_print_cycle_sites(l, &tally, json);
	}
	if (rc == SQLITE_DONE && mrc != SQLITE_ROW && mrc != SQLITE_DONE)
		rc = mrc;
	if (rc == SQLITE_DONE && erc != SQLITE_ROW && erc != SQLITE_DONE)
		rc = erc;
	if (rc != SQLITE_DONE) {
		*cause = db_cause(l->db, rc);
		goto fail;
	}
	free(site);
	free(tally.list);
	sqlite3_finalize(cycles);
	sqlite3_finalize(members);
	sqlite3_finalize(edges);
	return 0;
fail:
	free(site);
	free(tally.list);
	sqlite3_finalize(cycles);
	sqlite3_finalize(members);
	sqlite3_finalize(edges);
	return -1;
}

/*
 * Returns the loss records of L, in order, and their number in *N: a record per group and kind
 * with blocks outside cycles.
 */
static struct leaks_record *
leaks_records(struct lost *l, size_t *n)
{
	struct leaks_record *records;
	const struct stats_group *g;
	size_t i, count = 0;
	unsigned int k;

	stats_sort(&l->stats, 0);
	for (i = 0; i < l->stats.groups.count; i++) {
		for (k = LOST_DEFINITELY; k <= LOST_POSSIBLY; k++)
			count += l->stats.sorted[i]->blocks[k] > 0;
	}
	records = xcalloc(count + 1, sizeof *records);
	*n = 0;
	for (i = 0; i < l->stats.groups.count; i++) {
		g = l->stats.sorted[i];
		for (k = LOST_DEFINITELY; k <= LOST_POSSIBLY; k++) {
			if (g->blocks[k] == 0)
				continue;
			records[*n].g = g;
			records[*n].kind = (enum lost_kind)k;
			records[*n].bytes = g->bytes[k];
			records[(*n)++].blocks = g->blocks[k];
		}
	}
	qsort(records, *n, sizeof *records, leaks_record_cmp);
	return records;
}

/* Prints the loss records of L as text, or as the members of the JSON array "leaks". */
static void
leaks_print_records(struct lost *l, int json)
{
	struct leaks_record *records, *r;
	size_t n, i;
	char *site;

	records = leaks_records(l, &n);
	for (i = 0; i < n; i++) {
		r = &records[i];
		if (json) {
			printf("%s\n  {\"kind\": \"%s\", \"bytes\": %lld, \"blocks\": %lld,"
			    " \"site\": ", i > 0 ? "," : "", lost_kind_values[r->kind],
			    (long long)r->bytes, (long long)r->blocks);
			site = leaks_site_text(l, r->g);
			json_string(stdout, site);
			free(site);
			fputs(", \"stack\": ", stdout);
			leaks_print_json_stack(l, r->g);
			fputs("}", stdout);
		} else {
			printf("\n%lld bytes in %lld blocks are %s in loss record %zu of %zu\n",
			    (long long)r->bytes, (long long)r->blocks, lost_kind_names[r->kind],
			    i + 1, n);
			stats_print_traceback(&l->stats, r->g, "  ");
		}
	}
	if (json && n > 0)
		fputs("\n ", stdout);
	free(records);
}

/*
 * Prints the Python traceback TB of PY (the most recent call first; 0 or a NULL PY: none): as
 * text lines after INDENT, or as a JSON array of {"file", "line", "function"}.
 */
static void
leaks_print_py_traceback(const struct pytab *py, int64_t tb, int json, const char *indent)
{
	const struct py_frame *pf;
	int n = 0;

	if (json)
		fputs("[", stdout);
	for (; py != NULL && tb != 0 && (pf = pytab_traceback(py, tb, &tb)) != NULL; n++) {
		if (json) {
			fputs(n > 0 ? ", {\"file\": " : "{\"file\": ", stdout);
			json_string(stdout, pf->code->filename);
			printf(", \"line\": %d, \"function\": ", pf->line);
			json_string(stdout, pf->code->name);
			fputs("}", stdout);
		} else {
			printf("%sFile \"%s\", line %d, in %s\n", indent, pf->code->filename,
			    pf->line, pf->code->name);
		}
	}
	if (json)
		fputs("]", stdout);
	else if (n == 0)
		printf("%s(no Python traceback)\n", indent);
}

/* Prints a count or NULL of column COL of STMT as JSON. */
static void
leaks_print_json_int(sqlite3_stmt *stmt, int col)
{
	if (sqlite3_column_type(stmt, col) == SQLITE_NULL)
		fputs("null", stdout);
	else
		printf("%lld", (long long)sqlite3_column_int64(stmt, col));
}

/*
 * Prints the Python garbage cycles of the snapshot of L, largest first, each with its blocks by
 * address (type, refcount, references found, traceback), as text or as the members of the JSON
 * array "python_cycles".  Returns 0, or -1 with *CAUSE set.
 */
static int
leaks_print_py_cycles(struct lost *l, int json, char **cause)
{
	const struct pytab *py = l->src != NULL ? l->src->py : NULL;
	sqlite3_stmt *cycles, *members;
	int64_t rank = 0;
	int rc = SQLITE_DONE, first;

	cycles = lost_preparef(l, cause, "SELECT b.py_cycle_id, sum(b.size), count(*), count(b.py_type)"
	    " FROM blocks AS b WHERE b.snapshot_id = ?1 AND b.py_cycle_id IS NOT NULL AND %s"
	    " GROUP BY 1 ORDER BY 2 DESC, 1", l->kept);
	if (cycles == NULL)
		return -1;
	members = lost_prepare(l, "SELECT b.address, b.size, s.py_traceback, b.py_type, b.py_refcnt,"
	    " b.py_refs FROM blocks AS b LEFT JOIN stacks AS s ON s.id = b.stack_id"
	    " WHERE b.snapshot_id = ?1 AND b.py_cycle_id = ?4 ORDER BY b.address", cause);
	if (members == NULL) {
		sqlite3_finalize(cycles);
		return -1;
	}
	while (rc == SQLITE_DONE && (rc = sqlite3_step(cycles)) == SQLITE_ROW) {
		rank++;
		if (json) {
			printf("%s\n  {\"id\": %lld, \"blocks\": %lld, \"bytes\": %lld,"
			    " \"objects\": %lld,\n   \"members\": [", rank > 1 ? "," : "",
			    (long long)sqlite3_column_int64(cycles, 0),
			    (long long)sqlite3_column_int64(cycles, 2),
			    (long long)sqlite3_column_int64(cycles, 1),
			    (long long)sqlite3_column_int64(cycles, 3));
		} else {
			printf("\npython garbage cycle %lld of %lld: %lld bytes in %lld blocks,"
			    " %lld objects\n", (long long)rank, (long long)l->py_ncycles,
			    (long long)sqlite3_column_int64(cycles, 1),
			    (long long)sqlite3_column_int64(cycles, 2),
			    (long long)sqlite3_column_int64(cycles, 3));
		}
		sqlite3_reset(members);
		sqlite3_bind_int64(members, 4, sqlite3_column_int64(cycles, 0));
		for (first = 1; (rc = sqlite3_step(members)) == SQLITE_ROW; first = 0) {
			if (json) {
				printf("%s\n    {\"address\": %lld, \"size\": %lld, \"type\": ",
				    first ? "" : ",", (long long)sqlite3_column_int64(members, 0),
				    (long long)sqlite3_column_int64(members, 1));
				json_string(stdout, (const char *)sqlite3_column_text(members, 3));
				fputs(", \"refcnt\": ", stdout);
				leaks_print_json_int(members, 4);
				fputs(", \"refs_found\": ", stdout);
				leaks_print_json_int(members, 5);
				fputs(", \"traceback\": ", stdout);
			} else if (sqlite3_column_type(members, 3) != SQLITE_NULL) {
				printf("  %s object at 0x%llx: %lld bytes, refcount %lld,"
				    " %lld references found\n",
				    (const char *)sqlite3_column_text(members, 3),
				    (unsigned long long)sqlite3_column_int64(members, 0),
				    (long long)sqlite3_column_int64(members, 1),
				    (long long)sqlite3_column_int64(members, 4),
				    (long long)sqlite3_column_int64(members, 5));
			} else {
				printf("  block 0x%llx: %lld bytes\n",
				    (unsigned long long)sqlite3_column_int64(members, 0),
				    (long long)sqlite3_column_int64(members, 1));
			}
			leaks_print_py_traceback(py, sqlite3_column_int64(members, 2), json, "    ");
			if (json)
				fputs("}", stdout);
		}
		if (json && rc == SQLITE_DONE)
			fputs(first ? "]}" : "\n   ]}", stdout);
	}
	sqlite3_finalize(cycles);
	sqlite3_finalize(members);
	if (rc != SQLITE_DONE) {
		*cause = db_cause(l->db, rc);
		return -1;
	}
	if (json && rank > 0)
		fputs("\n ", stdout);
	return 0;
}

/*
 * Prints the leaked references of the snapshot of L, objects whose refcount exceeds the
 * references found, by type and address: as text, or as the members of the JSON array
 * "leaked_references".  Returns 0, or -1 with *CAUSE set.
 */
static int
leaks_print_py_leaked(struct lost *l, int json, char **cause)
{
	const struct pytab *py = l->src != NULL ? l->src->py : NULL;
	sqlite3_stmt *objs;
	int rc, n = 0;

	objs = lost_preparef(l, cause, "SELECT b.address, b.py_type, b.py_refcnt, b.py_refs,"
	    " s.py_traceback FROM blocks AS b LEFT JOIN stacks AS s ON s.id = b.stack_id"
	    " WHERE b.snapshot_id = ?1 AND " LOST_PY_LEAKED " AND %s"
	    " ORDER BY b.py_type, b.address", l->kept);
	if (objs == NULL)
		return -1;
	while ((rc = sqlite3_step(objs)) == SQLITE_ROW) {
		if (json) {
			fputs(n > 0 ? ",\n  {\"type\": " : "\n  {\"type\": ", stdout);
			json_string(stdout, (const char *)sqlite3_column_text(objs, 1));
			printf(", \"refcnt\": %lld, \"refs_found\": %lld, \"address\": %lld,"
			    " \"traceback\": ", (long long)sqlite3_column_int64(objs, 2),
			    (long long)sqlite3_column_int64(objs, 3),
			    (long long)sqlite3_column_int64(objs, 0));
		} else {
			printf("\nleaked reference: %s object at 0x%llx: refcount %lld,"
			    " %lld references found\n", (const char *)sqlite3_column_text(objs, 1),
			    (unsigned long long)sqlite3_column_int64(objs, 0),
			    (long long)sqlite3_column_int64(objs, 2),
			    (long long)sqlite3_column_int64(objs, 3));
		}
		leaks_print_py_traceback(py, sqlite3_column_int64(objs, 4), json, "  ");
		if (json)
			fputs("}", stdout);
		n++;
	}
	sqlite3_finalize(objs);
	if (rc != SQLITE_DONE) {
		*cause = db_cause(l->db, rc);
		return -1;
	}
	if (json && n > 0)
		fputs("\n ", stdout);
	return 0;
}

/* Prints the report of L as text; returns 0, or -1 with *CAUSE set. */
static int
leaks_print_text(struct lost *l, char **cause)
{
	db_snapshot_print("", &l->snap);
	printf(" of %s: %lld B in %lld blocks\n", quote(l->db->path),
	    (long long)l->snap.live_bytes, (long long)l->snap.live_blocks);
	if (l->since.id != 0) {
		db_snapshot_print("leaked after ", &l->since);
		fputs(": what was allocated after it\n", stdout);
	}
	putchar('\n');
	lost_print_summary(stdout, l, "");
	if (leaks_print_cycles(l, 0, cause) != 0)
		return -1;
	leaks_print_records(l, 0);
	if (l->python && (leaks_print_py_cycles(l, 0, cause) != 0 ||
	    leaks_print_py_leaked(l, 0, cause) != 0))
		return -1;
	return 0;
}

/* Prints the report of L as JSON; returns 0, or -1 with *CAUSE set. */
static int
leaks_print_json(struct lost *l, char **cause)
{
	fputs("{\"snapshot\": ", stdout);
	db_snapshot_json(&l->snap);
	fputs(",\n \"since\": ", stdout);
	if (l->since.id != 0)
		db_snapshot_json(&l->since);
	else
		fputs("null", stdout);
	fputs(",\n \"summary\": ", stdout);
	lost_print_json_summary(stdout, l);
	fputs(",\n \"cycles\": [", stdout);
	if (leaks_print_cycles(l, 1, cause) != 0)
		return -1;
	fputs(l->ncycles > 0 ? "\n ],\n \"leaks\": [" : "],\n \"leaks\": [", stdout);
	leaks_print_records(l, 1);
	/* Without Python blocks (l->python 0) both arrays are empty. */
	fputs("],\n \"python_cycles\": [", stdout);
	if (l->python && leaks_print_py_cycles(l, 1, cause) != 0)
		return -1;
	fputs("],\n \"leaked_references\": [", stdout);
	if (l->python && leaks_print_py_leaked(l, 1, cause) != 0)
		return -1;
	fputs("]}\n", stdout);
	return 0;
}

static enum cmd_retval
cmd_leaks_exec(const struct args *args, struct cmd_exit *exit_how, char **cause)
{
	struct lost l;
	struct db *db;
	const char *file;
	enum cmd_retval retval = CMD_RETURN_ERROR;
	size_t i = 0;
	int rc;

	(void)exit_how;
	lost_init(&l);
	while ((file = args_next(args, 'S', &i)) != NULL) {
		if (lost_supp_load(&l, file, cause) != 0) {
			lost_free(&l);
			return CMD_RETURN_ERROR;
		}
	}

	if ((db = db_open(args->argv[0], cause)) == NULL) {
		lost_free(&l);
		return CMD_RETURN_ERROR;
	}
	l.sites = 1;
	if (lost_choose(&l, db, args->argc > 1 ? args->argv[1] : NULL, args_get(args, 's'),
	    cause) == 0 && lost_compute(&l, cause) == 0) {
		if (args_has(args, 'j'))
			rc = leaks_print_json(&l, cause);
		else
			rc = leaks_print_text(&l, cause);
		if (rc == 0)
			retval = CMD_RETURN_NORMAL;
	}
	lost_free(&l);
	db_close(db);
	return retval;
}

/* The options of leaks. */
static const struct args_option leaks_options[] = {
	{ .type = ARGS_STRING, .name = "since", .id = 's', .arg = "SNAPSHOT", .help_arg = "S",
	  .help = "keep only what leaked after snapshot S: blocks allocated after\n"
	  "it, and cycles with such a block" },
	{ .type = ARGS_STRING, .name = "suppressions", .id = 'S', .arg = "FILE", .help_arg = "F",
	  .repeat = 1,
	  .help = "leave out the leaks whose allocation stack matches a line\n"
	  "leak:PATTERN of F (LeakSanitizer's format: '*' matches\n"
	  "anything, '^' and '$' anchor); a cycle goes whole; count them\n"
	  "as suppressed.  May be given several times." },
	{ .type = ARGS_FLAG, .name = "json", .id = 'j',
	  .help = "print a JSON object: snapshot, since, summary, cycles, leaks,\n"
	  "python_cycles, leaked_references" },
	{ .type = ARGS_END }
};

const struct cmd_entry cmd_leaks_entry = {
	.name = "leaks",
	.args = { .usage = "FILE [SNAPSHOT]", .lower = 1, .upper = 2, .options = leaks_options,
	    .width = 19 },
	.help = "Show what the leak scan of a snapshot (default: the last scanned) found lost.",
	.detail =
	    "A SNAPSHOT is an id, first, last, peak, or a label (its last snapshot); it must\n"
	    "have been scanned (normally the exit snapshot is).\n"
	    "\n"
	    "Prints a summary as valgrind's LEAK SUMMARY: bytes and blocks definitely lost,\n"
	    "indirectly lost, possibly lost, still reachable, suppressed, and in leaked cycles.\n"
	    "Then each leaked cycle, largest first: its blocks, the pointers they hold as\n"
	    "0xA+OFFSET -> 0xB (the word at OFFSET in block A points into block B), and the\n"
	    "stacks that allocated them.  Then the other leaks, one loss record per allocation\n"
	    "stack (as top --by traceback) and kind, largest first.\n"
	    "\n"
	    "For a traced CPython, the summary also counts the garbage that CPython's gc\n"
	    "would find, its cycles and the leaked references (objects whose refcount\n"
	    "exceeds the references found); then come the garbage cycles, with the types,\n"
	    "refcounts and Python tracebacks of their objects, and the leaked references.\n",
	.exec = cmd_leaks_exec
};
