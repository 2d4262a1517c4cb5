/*
 * heapscope diff: how the live memory changed between two snapshots, per source line, file,
 * function or traceback, like Python's tracemalloc Snapshot.compare_to() for native code.
 *
 * The two snapshots are side 0 (old) and side 1 (new) of one report of stats.c, which top shares:
 * per key, the new size and count and their differences, where a key found only in the old
 * snapshot has size 0 and negative differences.  Groups are sorted by |size difference|, new
 * size, |count difference|, new count (all descending), then key.  Only the sites table is read,
 * which sums each snapshot's blocks per stack, so memory and time grow with the number of sites,
 * never with the number of blocks.
 *
 * The two snapshots come from one database (FILE OLD NEW: three arguments), whose stacks they
 * share, or from two (OLD.db[:SNAPSHOT] NEW.db[:SNAPSHOT]: two arguments), such as two runs of a
 * program.  Across databases, stack and frame ids and addresses mean nothing (ASLR, rebuilt
 * binaries): sites meet only through their symbolic keys.  The number of arguments decides the
 * form.  In the two-argument form, an argument that names an existing file is that file, with its
 * last snapshot; otherwise it is split at the first ':' before which it names an existing file,
 * the rest naming the snapshot (which may contain ':'); otherwise it is a missing file.
 */
#include "analyzer.h"

#include <sys/stat.h>

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "stats.h"

/* The sides of a diff report: 0 old, 1 new. */
#define DIFF_SIDES 2

/* How a report is printed. */
enum diff_format {
	DIFF_TEXT,		/* a table */
	DIFF_JSON,		/* one JSON object */
	DIFF_CSV		/* a header line, then one line per key */
};

/* One of the two snapshots compared. */
struct diff_side {
	char			*path;		/* its database's file name */
	const char		*name;		/* how the snapshot was named, NULL for the last */
	struct db		*db;		/* its database; both sides may share one */
	struct db_snapshot	 snap;		/* the snapshot */
};

/* The sizes of one line of a report: a group, the others or the total. */
struct diff_row {
	int64_t	 bytes[DIFF_SIDES];	/* old and new bytes */
	int64_t	 blocks[DIFF_SIDES];	/* old and new blocks */
	int	 blank;			/* 1 when the row has no numbers, only a key */
	char	*key;			/* what the line is about */
};

/* Column widths of the text table. */
struct diff_widths {
	int	size;		/* of the new size for people */
	int	bytes;		/* of the new bytes */
	int	size_diff;	/* of the size difference for people */
	int	bytes_diff;	/* of the bytes difference */
	int	count;		/* of the new count */
	int	count_diff;	/* of the count difference */
	int	average;	/* of the new average */
};

/*
 * Splits the two-argument form's ARG into its file and snapshot, as the file comment says: sets
 * SIDE->path to a new string and SIDE->name to the snapshot's name in ARG, or NULL for the last.
 */
static void
diff_split(struct diff_side *side, const char *arg)
{
	struct stat sb;
	const char *colon;
	char *prefix;

	side->name = NULL;
	if (stat(arg, &sb) == 0) {
		side->path = xstrdup(arg);
		return;
	}
	for (colon = strchr(arg, ':'); colon != NULL; colon = strchr(colon + 1, ':')) {
		prefix = xasprintf("%.*s", (int)(colon - arg), arg);
		if (stat(prefix, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
			side->path = prefix;
			side->name = colon[1] != '\0' ? colon + 1 : NULL;
			return;
		}
		free(prefix);
	}
	side->path = xstrdup(arg);
}

/* Returns 1 if the files PATH1 and PATH2 are one file. */
static int
diff_same_file(const char *path1, const char *path2)
{
	struct stat sb1, sb2;

	if (stat(path1, &sb1) != 0 || stat(path2, &sb2) != 0)
		return 0;
	return sb1.st_dev == sb2.st_dev && sb1.st_ino == sb2.st_ino;
}

/* Returns SIZE / COUNT rounded, 0 if COUNT is 0. */
static int64_t
diff_average(int64_t size, int64_t count)
{
	return count > 0 ? (size + count / 2) / count : 0;
}

/* Formats the difference BYTES for people, with its sign: "+1.5 MiB", "-200 KiB", "+0 B". */
static void
diff_format_size(char *buf, size_t len, int64_t bytes)
{
	char size[32];

	format_size(size, sizeof size, bytes);
	snprintf(buf, len, "%s%s", bytes >= 0 ? "+" : "", size);
}

/* Formats the text cells of ROW that are not plain numbers. */
static void
diff_row_cells(const struct diff_row *row, char *size, char *size_diff, char *average,
    size_t len)
{
	format_size(size, len, row->bytes[1]);
	diff_format_size(size_diff, len, row->bytes[1] - row->bytes[0]);
	if (row->blocks[1] > 0)
		snprintf(average, len, "%lld",
		    (long long)diff_average(row->bytes[1], row->blocks[1]));
	else
		snprintf(average, len, "-");
}

/* Returns the larger of A and B. */
static int
diff_max(int a, int b)
{
	return a > b ? a : b;
}

/* Widens W to fit ROW. */
static void
diff_row_measure(struct diff_widths *w, const struct diff_row *row)
{
	char size[40], size_diff[40], average[40], buf[32];

	if (row->blank)
		return;
	diff_row_cells(row, size, size_diff, average, sizeof size);
	w->size = diff_max(w->size, (int)strlen(size));
	w->size_diff = diff_max(w->size_diff, (int)strlen(size_diff));
	w->average = diff_max(w->average, (int)strlen(average));
	w->bytes = diff_max(w->bytes, snprintf(buf, sizeof buf, "%lld",
	    (long long)row->bytes[1]));
	w->bytes_diff = diff_max(w->bytes_diff, snprintf(buf, sizeof buf, "%+lld",
	    (long long)(row->bytes[1] - row->bytes[0])));
	w->count = diff_max(w->count, snprintf(buf, sizeof buf, "%lld",
	    (long long)row->blocks[1]));
	w->count_diff = diff_max(w->count_diff, snprintf(buf, sizeof buf, "%+lld",
	    (long long)(row->blocks[1] - row->blocks[0])));
}

/* Prints ROW with widths W. */
static void
diff_row_print(const struct diff_widths *w, const struct diff_row *row)
{
	char size[40], size_diff[40], average[40];

	if (row->blank) {
		printf("%*s  %*s  %*s  %*s  %*s  %*s  %*s  %s\n", w->size, "", w->bytes, "",
		    w->size_diff, "", w->bytes_diff, "", w->count, "", w->count_diff, "",
		    w->average, "", row->key);
		return;
	}
	diff_row_cells(row, size, size_diff, average, sizeof size);
	printf("%*s  %*lld  %*s  %+*lld  %*lld  %+*lld  %*s  %s\n", w->size, size, w->bytes,
	    (long long)row->bytes[1], w->size_diff, size_diff, w->bytes_diff,
	    (long long)(row->bytes[1] - row->bytes[0]), w->count, (long long)row->blocks[1],
	    w->count_diff, (long long)(row->blocks[1] - row->blocks[0]), w->average, average,
	    row->key);
}

/* Copies the sizes of group G into ROW, with KEY. */
static void
diff_row_set(struct diff_row *row, const struct stats_group *g, char *key)
{
	memcpy(row->bytes, g->bytes, sizeof row->bytes);
	memcpy(row->blocks, g->blocks, sizeof row->blocks);
	row->key = key;
}

/* Sums the groups not shown into ROW. */
static void
diff_others(const struct stats *s, size_t shown, struct diff_row *row)
{
	size_t i;
	unsigned int side;

	memset(row, 0, sizeof *row);
	for (i = shown; i < s->groups.count; i++) {
		for (side = 0; side < DIFF_SIDES; side++) {
			row->bytes[side] += s->sorted[i]->bytes[side];
			row->blocks[side] += s->sorted[i]->blocks[side];
		}
	}
}

/* Prints the line that names snapshot SIDE, as "WHAT: snapshot ID "LABEL" of "FILE" (...)". */
static void
diff_print_side(const char *what, const struct diff_side *side)
{
	char when[64];

	format_time(when, sizeof when, side->snap.time);
	printf("%s: snapshot %lld", what, (long long)side->snap.id);
	if (side->snap.label != NULL)
		printf(" %s", quote(side->snap.label));
	printf(" of %s (%s, %s, %.3f s)\n", quote(side->path), side->snap.trigger, when,
	    side->snap.elapsed);
}

/*
 * Prints the report as text: the snapshots, one line per group, the others, then the total
 * line.  When cumulative a block counts in many groups, so the others have no sum.
 */
static void
diff_print_text(struct stats *s, const struct diff_side *sides, size_t shown)
{
	struct diff_widths w = { 4, 5, 9, 10, 5, 10, 7 };
	struct diff_row *rows;
	char size_diff[40];
	int64_t bytes, blocks;
	size_t nrows = 0, i, ngroups = s->groups.count, nothers = ngroups - shown;

	diff_print_side("old", &sides[0]);
	diff_print_side("new", &sides[1]);
	printf("top %zu of %zu %s%s%s, by size difference\n", shown, ngroups,
	    ngroups == 1 ? stats_by_noun[s->by] : stats_by_nouns[s->by],
	    s->cumulative ? " (cumulative)" : "", s->nfilters > 0 ? " (filtered)" : "");

	rows = xcalloc(shown + 1, sizeof *rows);
	for (i = 0; i < shown; i++)
		diff_row_set(&rows[nrows++], s->sorted[i], stats_group_key(s, s->sorted[i]));
	if (nothers > 0) {
		diff_others(s, shown, &rows[nrows]);
		rows[nrows].key = xasprintf("(%zu other %s)", nothers,
		    nothers == 1 ? stats_by_noun[s->by] : stats_by_nouns[s->by]);
		rows[nrows++].blank = s->cumulative;
	}
	for (i = 0; i < nrows; i++)
		diff_row_measure(&w, &rows[i]);

	printf("%*s  %*s  %*s  %*s  %*s  %*s  %*s  %s\n", w.size, "size", w.bytes, "bytes",
	    w.size_diff, "size diff", w.bytes_diff, "bytes diff", w.count, "count",
	    w.count_diff, "count diff", w.average, "average", stats_by_names[s->by]);
	for (i = 0; i < nrows; i++) {
		diff_row_print(&w, &rows[i]);
		if (s->by != STATS_TRACEBACK || i >= shown)
			continue;
		stats_print_traceback(s, s->sorted[i], "  ");
	}

	bytes = s->total_bytes[1] - s->total_bytes[0];
	blocks = s->total_blocks[1] - s->total_blocks[0];
	diff_format_size(size_diff, sizeof size_diff, bytes);
	printf("total: old %lld B in %lld %s, new %lld B in %lld %s, difference %+lld B (%s)"
	    " in %+lld %s\n", (long long)s->total_bytes[0], (long long)s->total_blocks[0],
	    s->total_blocks[0] == 1 ? "block" : "blocks", (long long)s->total_bytes[1],
	    (long long)s->total_blocks[1], s->total_blocks[1] == 1 ? "block" : "blocks",
	    (long long)bytes, size_diff, (long long)blocks,
	    blocks == 1 || blocks == -1 ? "block" : "blocks");

	for (i = 0; i < nrows; i++)
		free(rows[i].key);
	free(rows);
}

/* Prints the JSON object that describes SIDE, whose compared sites hold BYTES in BLOCKS. */
static void
diff_print_json_side(const struct diff_side *side, int64_t bytes, int64_t blocks)
{
	fputs("{\"file\": ", stdout);
	json_string(stdout, side->path);
	printf(", \"id\": %lld, \"label\": ", (long long)side->snap.id);
	json_string(stdout, side->snap.label);
	fputs(", \"trigger\": ", stdout);
	json_string(stdout, side->snap.trigger);
	fputs(", \"time\": ", stdout);
	json_double(stdout, side->snap.time, 6);
	fputs(", \"elapsed\": ", stdout);
	json_double(stdout, side->snap.elapsed, 6);
	printf(", \"live_bytes\": %lld, \"live_blocks\": %lld, \"size\": %lld, \"count\": %lld}",
	    (long long)side->snap.live_bytes, (long long)side->snap.live_blocks,
	    (long long)bytes, (long long)blocks);
}

/* Prints the sizes of ROW as JSON members: size, size_diff, count, count_diff. */
static void
diff_print_json_sizes(const struct diff_row *row)
{
	printf("\"size\": %lld, \"size_diff\": %lld, \"count\": %lld, \"count_diff\": %lld",
	    (long long)row->bytes[1], (long long)(row->bytes[1] - row->bytes[0]),
	    (long long)row->blocks[1], (long long)(row->blocks[1] - row->blocks[0]));
}

/* Prints the report as JSON. */
static void
diff_print_json(struct stats *s, const struct diff_side *sides, size_t shown)
{
	struct diff_row row;
	size_t i, ngroups = s->groups.count;
	char *key;

	fputs("{\"old\": ", stdout);
	diff_print_json_side(&sides[0], s->total_bytes[0], s->total_blocks[0]);
	fputs(",\n \"new\": ", stdout);
	diff_print_json_side(&sides[1], s->total_bytes[1], s->total_blocks[1]);
	printf(",\n \"by\": \"%s\", \"cumulative\": %s,\n \"stats\": [", stats_by_names[s->by],
	    s->cumulative ? "true" : "false");
	for (i = 0; i < shown; i++) {
		key = stats_group_key(s, s->sorted[i]);
		memset(&row, 0, sizeof row);
		diff_row_set(&row, s->sorted[i], key);
		printf("%s\n  {\"key\": ", i == 0 ? "" : ",");
		json_string(stdout, key);
		fputs(", ", stdout);
		diff_print_json_sizes(&row);
		stats_print_json_key(s, s->sorted[i]);
		fputs("}", stdout);
		free(key);
	}
	printf("%s],\n \"others\": {\"groups\": %zu, ", shown > 0 ? "\n " : "", ngroups - shown);
	diff_others(s, shown, &row);
	/* When cumulative, a block counts in many groups: the others have no sum. */
	if (s->cumulative)
		fputs("\"size\": null, \"size_diff\": null, \"count\": null, \"count_diff\": null",
		    stdout);
	else
		diff_print_json_sizes(&row);
	memcpy(row.bytes, s->total_bytes, sizeof row.bytes);
	memcpy(row.blocks, s->total_blocks, sizeof row.blocks);
	printf("},\n \"total\": {\"groups\": %zu, ", ngroups);
	diff_print_json_sizes(&row);
	fputs("}}\n", stdout);
}

/* Prints S as a CSV field: quoted, with its quotes doubled, if it holds , " CR or LF. */
static void
diff_csv_field(const char *s)
{
	const char *p;

	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (p = s; *p != '\0'; p++) {
		if (*p == '"')
			putchar('"');
		putchar(*p);
	}
	putchar('"');
}

/* Prints the report as CSV: a header line, then one line per group shown. */
static void
diff_print_csv(struct stats *s, size_t shown)
{
	const struct stats_group *g;
	size_t i;
	char *key;

	puts("key,size,size_diff,count,count_diff");
	for (i = 0; i < shown; i++) {
		g = s->sorted[i];
		/* A traceback on one line, innermost first, each frame called from the next. */
		key = stats_group_traceback(s, g, " <- ");
		diff_csv_field(key);
		free(key);
		printf(",%lld,%lld,%lld,%lld\n", (long long)g->bytes[1],
		    (long long)(g->bytes[1] - g->bytes[0]), (long long)g->blocks[1],
		    (long long)(g->blocks[1] - g->blocks[0]));
	}
}

/* Finds the snapshot of SIDE in its database; returns 0, or -1 with *CAUSE set. */
static int
diff_find(struct diff_side *side, char **cause)
{
	return db_snapshot_find(side->db, side->name, &side->snap, cause);
}

static enum cmd_retval
cmd_diff_exec(const struct args *args, struct cmd_exit *exit_how, char **cause)
{
	struct stats s;
	struct stats_source *src;
	struct diff_side sides[DIFF_SIDES];
	enum diff_format format = DIFF_TEXT;
	enum cmd_retval retval = CMD_RETURN_ERROR;
	char **argv = args->argv;
	int argc = args->argc;
	unsigned int i;

	(void)exit_how;
	memset(sides, 0, sizeof sides);
	stats_init(&s);
	if (stats_set_args(&s, args, cause) != 0) {
		stats_free(&s);
		return CMD_RETURN_USAGE;
	}
	if (args_has(args, 'j'))
		format = DIFF_JSON;
	else if (args_has(args, 'c'))
		format = DIFF_CSV;

	if (argc == 3) {
		/* FILE OLD NEW: one database. */
		sides[0].path = xstrdup(argv[0]);
		sides[1].path = xstrdup(argv[0]);
		sides[0].name = argv[1];
		sides[1].name = argv[2];
	} else {
		/* OLD.db[:SNAPSHOT] NEW.db[:SNAPSHOT]: one snapshot of each database. */
		diff_split(&sides[0], argv[0]);
		diff_split(&sides[1], argv[1]);
	}

	if ((sides[0].db = db_open(sides[0].path, cause)) == NULL)
		goto out;
	/* The same file named twice is one database, whose stacks the two snapshots share. */
	if (argc == 3 || diff_same_file(sides[0].path, sides[1].path))
		sides[1].db = sides[0].db;
	else if ((sides[1].db = db_open(sides[1].path, cause)) == NULL)
		goto out;
	if (diff_find(&sides[0], cause) != 0 || diff_find(&sides[1], cause) != 0)
		goto out;

	if ((src = stats_source_add(&s, sides[0].db, cause)) == NULL ||
	    stats_load(&s, src, sides[0].snap.id, 0, cause) != 0)
		goto out;
	if (sides[1].db != sides[0].db &&
	    (src = stats_source_add(&s, sides[1].db, cause)) == NULL)
		goto out;
	if (stats_load(&s, src, sides[1].snap.id, 1, cause) != 0 ||
	    stats_compute(&s, cause) != 0)
		goto out;
	stats_sort(&s, 1);

	switch (format) {
	case DIFF_TEXT:
		diff_print_text(&s, sides, stats_shown(&s));
		break;
	case DIFF_JSON:
		diff_print_json(&s, sides, stats_shown(&s));
		break;
	case DIFF_CSV:
		diff_print_csv(&s, stats_shown(&s));
		break;
	}
	retval = CMD_RETURN_NORMAL;
out:
	stats_free(&s);
	for (i = 0; i < DIFF_SIDES; i++) {
		db_snapshot_clear(&sides[i].snap);
		if (i == 0 || sides[i].db != sides[0].db)
			db_close(sides[i].db);
		free(sides[i].path);
	}
	return retval;
}

/* The options of diff: the report options, then its own. */
static const struct args_option diff_options[] = {
	{ .type = ARGS_GROUP, .group = stats_options },
	{ .type = ARGS_FLAG, .name = "json", .id = 'j',
	  .help = "print a JSON object: old, new, stats, others, total" },
	{ .type = ARGS_FLAG, .name = "csv", .id = 'c', .alternative = 1,
	  .help = "print key,size,size_diff,count,count_diff lines" },
	{ .type = ARGS_END }
};

const struct cmd_entry cmd_diff_entry = {
	.name = "diff",
	.args = { .usage = "FILE OLD NEW | OLD.db[:SNAPSHOT] NEW.db[:SNAPSHOT]", .lower = 2,
	    .upper = 3, .options = diff_options, .width = 16 },
	.help = "Compare two snapshots, of one run or of two: what grew, what shrank, by how much.",
	.detail =
	    "With three arguments, compare snapshots OLD and NEW of the database FILE.\n"
	    "With two, compare a snapshot of each database, by default the last; keys are\n"
	    "matched by module, function, file and line, never by address, so the databases\n"
	    "may come from different runs.  An argument that names an existing file is that\n"
	    "file; otherwise it is split at the first ':' before which it names an existing\n"
	    "file, and the rest names the snapshot.\n"
	    "A SNAPSHOT is an id, first, last, peak, or a label (its last snapshot).\n"
	    "\n"
	    "Per key: the new size and count and their differences; a key of the old\n"
	    "snapshot only has size 0.  Sorted by |size diff|, size, |count diff|, count.\n",
	.exec = cmd_diff_exec
};
