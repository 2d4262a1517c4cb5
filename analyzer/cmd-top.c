/*
 * heapscope top: where the live memory of one snapshot was allocated, grouped by source line,
 * file, function or whole traceback, like Python's tracemalloc Snapshot.statistics() for native
 * code.
 *
 * The sites of the snapshot are loaded, placed, filtered and grouped by stats.c (which diff
 * shares, with its options), as side 0 of a report with one source; this file prints the
 * groups, sorted by size, then count (both descending), then key, as a table or as JSON.
 */
#include "analyzer.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "stats.h"

/* Returns SIZE / COUNT rounded, 0 if COUNT is 0. */
static int64_t
top_average(int64_t size, int64_t count)
{
	return count > 0 ? (size + count / 2) / count : 0;
}

/* Returns PART as a percentage of the snapshot's total bytes. */
static double
top_percent(const struct stats *s, int64_t part)
{
	return s->total_bytes[0] > 0 ? 100.0 * (double)part / (double)s->total_bytes[0] : 0.0;
}

/* One line of the text table: the numbers are widths on the first call and printed after. */
struct top_row {
	char	 size[32];	/* the size for people, "1.5 MiB" */
	int64_t	 bytes;		/* exact bytes */
	int64_t	 count;		/* blocks */
	double	 percent;	/* of the snapshot's bytes */
	int	 blank;		/* 1 when the row has no numbers, only a key */
	char	*key;		/* what the line is about */
};

/* Column widths of the text table. */
struct top_widths {
	int	size;		/* of the size column */
	int	bytes;		/* of the bytes column */
	int	count;		/* of the count column */
	int	average;	/* of the average column */
};

/* Fills ROW. */
static void
top_row_set(struct top_row *row, const struct stats *s, int64_t bytes, int64_t count, char *key)
{
	format_size(row->size, sizeof row->size, bytes);
	row->bytes = bytes;
	row->count = count;
	row->percent = top_percent(s, bytes);
	row->key = key;
}

/* Widens W to fit ROW. */
static void
top_row_measure(struct top_widths *w, const struct top_row *row)
{
	char buf[32];
	int n;

	if (row->blank)
		return;
	if ((n = (int)strlen(row->size)) > w->size)
		w->size = n;
	if ((n = snprintf(buf, sizeof buf, "%lld", (long long)row->bytes)) > w->bytes)
		w->bytes = n;
	if ((n = snprintf(buf, sizeof buf, "%lld", (long long)row->count)) > w->count)
		w->count = n;
	n = snprintf(buf, sizeof buf, "%lld", (long long)top_average(row->bytes, row->count));
	if (n > w->average)
		w->average = n;
}

/* Prints ROW with widths W. */
static void
top_row_print(const struct top_widths *w, const struct top_row *row)
{
	if (row->blank) {
		printf("%*s  %*s  %*s  %*s  %6s  %s\n", w->size, "", w->bytes, "", w->count, "",
		    w->average, "", "", row->key);
		return;
	}
	printf("%*s  %*lld  %*lld  %*lld  %5.1f%%  %s\n", w->size, row->size, w->bytes,
	    (long long)row->bytes, w->count, (long long)row->count, w->average,
	    (long long)top_average(row->bytes, row->count), row->percent, row->key);
}

/*
 * Prints the report as text: a header, one line per group, others, total.  When cumulative a
 * block counts in many groups, so the others have no sum, only a number.
 */
static void
top_print_text(struct stats *s, const struct db_snapshot *snap, size_t shown)
{
	struct top_widths w = { 4, 5, 5, 7 };
	struct top_row *rows;
	size_t nrows = 0, i, ngroups = s->groups.count, nothers = ngroups - shown;
	int64_t other_bytes = 0, other_blocks = 0;

	db_snapshot_print("", snap);
	printf(": %lld B in %lld %s%s; top %zu of %zu %s%s\n",
	    (long long)s->total_bytes[0], (long long)s->total_blocks[0],
	    s->total_blocks[0] == 1 ? "block" : "blocks", s->nfilters > 0 ? " (filtered)" : "",
	    shown, ngroups, ngroups == 1 ? stats_by_noun[s->by] : stats_by_nouns[s->by],
	    s->cumulative ? " (cumulative)" : "");

	rows = xcalloc(shown + 2, sizeof *rows);
	for (i = 0; i < shown; i++) {
		top_row_set(&rows[nrows++], s, s->sorted[i]->bytes[0], s->sorted[i]->blocks[0],
		    stats_group_key(s, s->sorted[i]));
	}
	if (nothers > 0) {
		for (i = shown; i < ngroups; i++) {
			other_bytes += s->sorted[i]->bytes[0];
			other_blocks += s->sorted[i]->blocks[0];
		}
		top_row_set(&rows[nrows], s, other_bytes, other_blocks, xasprintf("(%zu other %s)",
		    nothers, nothers == 1 ? stats_by_noun[s->by] : stats_by_nouns[s->by]));
		rows[nrows++].blank = s->cumulative;
	}
	top_row_set(&rows[nrows++], s, s->total_bytes[0], s->total_blocks[0], xstrdup("total"));
	for (i = 0; i < nrows; i++)
		top_row_measure(&w, &rows[i]);

	printf("%*s  %*s  %*s  %*s  %6s  %s\n", w.size, "size", w.bytes, "bytes", w.count,
	    "count", w.average, "average", "%", stats_by_names[s->by]);
	for (i = 0; i < nrows; i++) {
		top_row_print(&w, &rows[i]);
		if (s->by != STATS_TRACEBACK || i >= shown)
			continue;
		stats_print_traceback(s, s->sorted[i], "  ");
	}
	for (i = 0; i < nrows; i++)
		free(rows[i].key);
	free(rows);
}

/* Prints the report as JSON. */
static void
top_print_json(struct stats *s, const struct db_snapshot *snap, size_t shown)
{
	const struct stats_group *g;
	int64_t other_bytes = 0, other_blocks = 0;
	size_t i, ngroups = s->groups.count;
	char *key;

	fputs("{\"snapshot\": ", stdout);
	db_snapshot_json(snap);
	printf(",\n \"by\": \"%s\", \"cumulative\": %s,\n \"stats\": [", stats_by_names[s->by],
	    s->cumulative ? "true" : "false");
	for (i = 0; i < shown; i++) {
		g = s->sorted[i];
		key = stats_group_key(s, g);
		printf("%s\n  {\"key\": ", i == 0 ? "" : ",");
		json_string(stdout, key);
		free(key);
		printf(", \"size\": %lld, \"count\": %lld, \"average\": %lld, \"percent\": ",
		    (long long)g->bytes[0], (long long)g->blocks[0],
		    (long long)top_average(g->bytes[0], g->blocks[0]));
		json_double(stdout, top_percent(s, g->bytes[0]), 3);
		stats_print_json_key(s, g);
		fputs("}", stdout);
	}
	for (i = shown; i < ngroups; i++) {
		other_bytes += s->sorted[i]->bytes[0];
		other_blocks += s->sorted[i]->blocks[0];
	}
	printf("%s],\n \"others\": {\"groups\": %zu", shown > 0 ? "\n " : "", ngroups - shown);
	/* When cumulative, a block counts in many groups: the others have no sum. */
	if (s->cumulative)
		fputs(", \"size\": null, \"count\": null},\n", stdout);
	else
		printf(", \"size\": %lld, \"count\": %lld},\n", (long long)other_bytes,
		    (long long)other_blocks);
	printf(" \"total\": {\"groups\": %zu, \"size\": %lld, \"count\": %lld}}\n", ngroups,
	    (long long)s->total_bytes[0], (long long)s->total_blocks[0]);
}

static enum cmd_retval
cmd_top_exec(const struct args *args, struct cmd_exit *exit_how, char **cause)
{
	struct stats s;
	struct stats_source *src;
	struct db *db;
	struct db_snapshot snap;
	enum cmd_retval retval = CMD_RETURN_ERROR;

	(void)exit_how;
	stats_init(&s);
	if (stats_set_args(&s, args, cause) != 0) {
		stats_free(&s);
		return CMD_RETURN_USAGE;
	}

	if ((db = db_open(args->argv[0], cause)) == NULL) {
		stats_free(&s);
		return CMD_RETURN_ERROR;
	}
	if (db_snapshot_find(db, args->argc > 1 ? args->argv[1] : NULL, &snap, cause) != 0) {
		stats_free(&s);
		db_close(db);
		return CMD_RETURN_ERROR;
	}
	if ((src = stats_source_add(&s, db, cause)) == NULL)
		goto out;
	if (stats_load(&s, src, snap.id, 0, cause) != 0 || stats_compute(&s, cause) != 0)
		goto out;
	stats_sort(&s, 0);

	if (args_has(args, 'j'))
		top_print_json(&s, &snap, stats_shown(&s));
	else
		top_print_text(&s, &snap, stats_shown(&s));
	retval = CMD_RETURN_NORMAL;
out:
	stats_free(&s);
	db_snapshot_clear(&snap);
	db_close(db);
	return retval;
}

/* The options of top: the report options, then its own. */
static const struct args_option top_options[] = {
	{ .type = ARGS_GROUP, .group = stats_options },
	{ .type = ARGS_FLAG, .name = "json", .id = 'j',
	  .help = "print a JSON object: snapshot, by, stats, others, total" },
	{ .type = ARGS_END }
};

const struct cmd_entry cmd_top_entry = {
	.name = "top",
	.args = { .usage = "FILE [SNAPSHOT]", .lower = 1, .upper = 2, .options = top_options,
	    .width = 16 },
	.help = "Show where the live memory of a snapshot (default: the last) was allocated.",
	.detail = "A SNAPSHOT is an id, first, last, peak, or a label (its last snapshot).\n",
	.exec = cmd_top_exec
};
