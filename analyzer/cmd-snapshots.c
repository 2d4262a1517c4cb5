/*
 * heapscope snapshots: lists the snapshots of a database, one line each (or a JSON array), with
 * what triggered them, when, and how much heap was live.  The rows are streamed from the
 * snapshots table; a first aggregate query gives the column widths, so nothing is held in memory
 * however many interval snapshots a long run took.
 */
#include "analyzer.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"

/* The columns read from the snapshots table, in this order. */
#define SNAPSHOTS_COLUMNS "id, label, trigger, time, elapsed, live_bytes, live_blocks," \
	" mapped_bytes, mappings, total_allocs, total_frees, full, scanned"

/* Widths of the text columns that vary. */
struct snapshots_widths {
	int	id;		/* id column */
	int	label;		/* label column */
	int	trigger;	/* trigger column */
	int	elapsed;	/* elapsed column, "%.3f s" */
	int	bytes;		/* live bytes column */
	int	blocks;		/* live blocks column */
};

/* Returns a copy of S, or "-" if NULL, with control characters replaced so a row stays a row. */
static char *
snapshots_cell(const unsigned char *s)
{
	char *c;
	size_t i;

	c = xstrdup(s != NULL ? (const char *)s : "-");
	for (i = 0; c[i] != '\0'; i++) {
		if ((unsigned char)c[i] < 0x20 || c[i] == 0x7f)
			c[i] = '?';
	}
	return c;
}

/* Measures the columns of the text table into W; returns 0, or -1 with *CAUSE set. */
static int
snapshots_measure(struct db *db, struct snapshots_widths *w, char **cause)
{
	sqlite3_stmt *stmt;
	int rc, *widths[] = { &w->id, &w->label, &w->trigger, &w->elapsed, &w->bytes,
	    &w->blocks };
	size_t i;

	stmt = db_prepare(db, "SELECT max(length(id)), max(length(coalesce(label, '-'))),"
	    " max(length(trigger)), max(length(printf('%.3f', elapsed))) + 2,"
	    " max(length(live_bytes)), max(length(live_blocks)) FROM snapshots", cause);
	if (stmt == NULL)
		return -1;
	if ((rc = sqlite3_step(stmt)) != SQLITE_ROW) {
		*cause = db_cause(db, rc);
		sqlite3_finalize(stmt);
		return -1;
	}
	for (i = 0; i < sizeof widths / sizeof widths[0]; i++) {
		if (sqlite3_column_int(stmt, (int)i) > *widths[i])
			*widths[i] = sqlite3_column_int(stmt, (int)i);
	}
	sqlite3_finalize(stmt);
	return 0;
}

/* Prints one row of STMT as a line of the text table. */
static void
snapshots_print_text(sqlite3_stmt *stmt, const struct snapshots_widths *w)
{
	char when[64], size[32], elapsed[64], *label, *trigger;

	label = snapshots_cell(sqlite3_column_text(stmt, 1));
	trigger = snapshots_cell(sqlite3_column_text(stmt, 2));
	format_time(when, sizeof when, sqlite3_column_double(stmt, 3));
	snprintf(elapsed, sizeof elapsed, "%.3f s", sqlite3_column_double(stmt, 4));
	format_size(size, sizeof size, sqlite3_column_int64(stmt, 5));
	printf("%*lld  %-*s  %-*s  %-19s  %*s  %*lld  %*lld  %9s\n", w->id,
	    (long long)sqlite3_column_int64(stmt, 0), w->label, label, w->trigger, trigger, when,
	    w->elapsed, elapsed, w->bytes, (long long)sqlite3_column_int64(stmt, 5), w->blocks,
	    (long long)sqlite3_column_int64(stmt, 6), size);
	free(label);
	free(trigger);
}

/* Prints one row of STMT as a JSON object. */
static void
snapshots_print_json(sqlite3_stmt *stmt)
{
	char when[64];

	format_time(when, sizeof when, sqlite3_column_double(stmt, 3));
	printf("{\"id\": %lld, \"label\": ", (long long)sqlite3_column_int64(stmt, 0));
	json_string(stdout, (const char *)sqlite3_column_text(stmt, 1));
	fputs(", \"trigger\": ", stdout);
	json_string(stdout, (const char *)sqlite3_column_text(stmt, 2));
	fputs(", \"time\": ", stdout);
	json_double(stdout, sqlite3_column_double(stmt, 3), 6);
	fputs(", \"localtime\": ", stdout);
	json_string(stdout, when);
	fputs(", \"elapsed\": ", stdout);
	json_double(stdout, sqlite3_column_double(stmt, 4), 6);
	printf(", \"live_bytes\": %lld, \"live_blocks\": %lld, \"mapped_bytes\": %lld,"
	    " \"mappings\": %lld, \"total_allocs\": %lld, \"total_frees\": %lld, \"full\": %s,"
	    " \"scanned\": %s}",
	    (long long)sqlite3_column_int64(stmt, 5), (long long)sqlite3_column_int64(stmt, 6),
	    (long long)sqlite3_column_int64(stmt, 7), (long long)sqlite3_column_int64(stmt, 8),
	    (long long)sqlite3_column_int64(stmt, 9), (long long)sqlite3_column_int64(stmt, 10),
	    sqlite3_column_int(stmt, 11) ? "true" : "false",
	    sqlite3_column_int(stmt, 12) ? "true" : "false");
}

static enum cmd_retval
cmd_snapshots_exec(const struct args *args, struct cmd_exit *exit_how, char **cause)
{
	struct snapshots_widths w = { 2, 5, 7, 7, 10, 11 };
	struct db *db;
	sqlite3_stmt *stmt;
	int json = args_has(args, 'j') > 0, rc, n = 0;

	(void)exit_how;
	if ((db = db_open(args->argv[0], cause)) == NULL)
		return CMD_RETURN_ERROR;
	if (!json && snapshots_measure(db, &w, cause) != 0) {
		db_close(db);
		return CMD_RETURN_ERROR;
	}
	stmt = db_prepare(db, "SELECT " SNAPSHOTS_COLUMNS " FROM snapshots ORDER BY id", cause);
	if (stmt == NULL) {
		db_close(db);
		return CMD_RETURN_ERROR;
	}

	if (json)
		fputs("{\"snapshots\": [", stdout);
	else {
		printf("%*s  %-*s  %-*s  %-19s  %*s  %*s  %*s  %9s\n", w.id, "id", w.label, "label",
		    w.trigger, "trigger", "time", w.elapsed, "elapsed", w.bytes, "live bytes",
		    w.blocks, "live blocks", "size");
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (json) {
			fputs(n == 0 ? "\n  " : ",\n  ", stdout);
			snapshots_print_json(stmt);
		} else
			snapshots_print_text(stmt, &w);
		n++;
	}
	if (json)
		fputs(n > 0 ? "\n]}\n" : "]}\n", stdout);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		*cause = db_cause(db, rc);
		db_close(db);
		return CMD_RETURN_ERROR;
	}
	db_close(db);
	return CMD_RETURN_NORMAL;
}

/* The options of snapshots. */
static const struct args_option snapshots_options[] = {
	{ .type = ARGS_FLAG, .name = "json", .id = 'j' },
	{ .type = ARGS_END }
};

const struct cmd_entry cmd_snapshots_entry = {
	.name = "snapshots",
	.args = { .usage = "FILE", .lower = 1, .upper = 1, .options = snapshots_options },
	.help = "List the snapshots of a database: when, why, and how much heap was live.",
	.exec = cmd_snapshots_exec
};
