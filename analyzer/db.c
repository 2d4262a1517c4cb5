/*
 * Opening a heapscope database and reading the snapshots table.  A database is opened read-write
 * when the file allows it, because the analyzer caches symbols in it, and read-only otherwise; it
 * is never created.  Before anything else db_open checks that the file is a heapscope database of
 * the format this analyzer reads (PRAGMA application_id and user_version, see common/schema.h),
 * so every later query can assume the tables exist.  Errors are returned as causes that name the
 * file: `"x.db": not a heapscope database`.
 */
#include "analyzer.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "schema.h"

/* The start of a query for snapshots, in the order db_snapshot_query reads the columns. */
#define DB_SNAPSHOT_COLUMNS \
	"SELECT id, label, trigger, time, elapsed, live_bytes, live_blocks, full, scanned" \
	" FROM snapshots "

/* How long a query waits for the preload to finish writing a snapshot, in milliseconds. */
#define DB_BUSY_TIMEOUT 10000

/*
 * Returns a cause for SQLite result code RC from a call on DB: the file name and what went
 * wrong, in the words a user needs (a text file is "not a heapscope database").
 */
char *
db_cause(struct db *db, int rc)
{
	switch (rc & 0xff) {
	case SQLITE_NOTADB:
		return xasprintf("%s: not a heapscope database", quote(db->path));
	case SQLITE_CORRUPT:
		return xasprintf("%s: corrupt database", quote(db->path));
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return xasprintf("%s: database is locked", quote(db->path));
	default:
		return xasprintf("%s: %s", quote(db->path), sqlite3_errmsg(db->sq));
	}
}

/* Prepares SQL on DB; returns the statement, or NULL with *CAUSE set. */
sqlite3_stmt *
db_prepare(struct db *db, const char *sql, char **cause)
{
	sqlite3_stmt *stmt;
	int rc;

	rc = sqlite3_prepare_v2(db->sq, sql, -1, &stmt, NULL);
	if (rc != SQLITE_OK) {
		*cause = db_cause(db, rc);
		return NULL;
	}
	return stmt;
}

/*
 * Runs SQL on DB and calls ROW(STMT, ARG, CAUSE) for each row it yields, until ROW returns -1
 * (having set *CAUSE).  Returns 0 when every row was read, or -1 with *CAUSE set.
 */
int
db_rows(struct db *db, const char *sql, int (*row)(sqlite3_stmt *, void *, char **), void *arg,
    char **cause)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((stmt = db_prepare(db, sql, cause)) == NULL)
		return -1;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (row(stmt, arg, cause) != 0)
			break;
	}
	sqlite3_finalize(stmt);
	if (rc == SQLITE_ROW)
		return -1;
	if (rc != SQLITE_DONE) {
		*cause = db_cause(db, rc);
		return -1;
	}
	return 0;
}

/* Reads the integer a PRAGMA returns into *VALUE; returns 0, or -1 with *CAUSE set. */
static int
db_pragma(struct db *db, const char *sql, int64_t *value, char **cause)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((stmt = db_prepare(db, sql, cause)) == NULL)
		return -1;
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_ROW) {
		*cause = db_cause(db, rc == SQLITE_DONE ? SQLITE_NOTADB : rc);
		sqlite3_finalize(stmt);
		return -1;
	}
	*value = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return 0;
}

/* Checks that DB holds a heapscope database this analyzer reads; returns 0 or -1 with *CAUSE. */
static int
db_check(struct db *db, char **cause)
{
	int64_t id, version;

	if (db_pragma(db, "PRAGMA application_id", &id, cause) != 0)
		return -1;
	if (id != HS_APPLICATION_ID) {
		*cause = xasprintf("%s: not a heapscope database", quote(db->path));
		return -1;
	}
	if (db_pragma(db, "PRAGMA user_version", &version, cause) != 0)
		return -1;
	if (version > HS_SCHEMA_VERSION) {
		*cause = xasprintf("%s: written by a newer heapscope (format %lld)",
		    quote(db->path), (long long)version);
		return -1;
	}
	if (version != HS_SCHEMA_VERSION) {
		*cause = xasprintf("%s: unsupported heapscope format %lld", quote(db->path),
		    (long long)version);
		return -1;
	}
	return 0;
}

/*
 * Opens the heapscope database PATH, read-write if the file allows it, and checks its format.
 * Returns the database, or NULL with *CAUSE set.  A missing file is an error, never created.
 */
struct db *
db_open(const char *path, char **cause)
{
	struct db *db;
	struct stat sb;
	int rc;

	if (stat(path, &sb) != 0) {
		*cause = xasprintf("%s: %s", quote(path), strerror(errno));
		return NULL;
	}
	if (S_ISDIR(sb.st_mode)) {
		*cause = xasprintf("%s: %s", quote(path), strerror(EISDIR));
		return NULL;
	}
	if (access(path, R_OK) != 0) {
		*cause = xasprintf("%s: %s", quote(path), strerror(errno));
		return NULL;
	}

	db = xcalloc(1, sizeof *db);
	db->path = xstrdup(path);
	/*
	 * SQLite falls back to read-only by itself when the file is not writable.  One thread
	 * uses the connection: no mutex (they cost a tenth of the time of a large report).
	 */
	rc = sqlite3_open_v2(path, &db->sq, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_close(db->sq);
		db->sq = NULL;
		rc = sqlite3_open_v2(path, &db->sq, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
		    NULL);
	}
	if (rc != SQLITE_OK) {
		*cause = db->sq != NULL ? db_cause(db, rc) :
		    xasprintf("%s: %s", quote(path), sqlite3_errstr(rc));
		db_close(db);
		return NULL;
	}
	db->writable = !sqlite3_db_readonly(db->sq, "main");
	sqlite3_busy_timeout(db->sq, DB_BUSY_TIMEOUT);
	if (db_check(db, cause) != 0) {
		db_close(db);
		return NULL;
	}
	return db;
}

/* Closes DB and frees it. */
void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	sqlite3_close(db->sq);
	free(db->path);
	free(db);
}

/*
 * Starts a read transaction on DB unless one is open, so that a run of small queries takes the
 * file lock and checks the file once rather than once per query (which costs more than the
 * queries).  Returns 1 if it started one, which the caller passes to db_read_end.  No write may
 * happen before db_read_end.
 */
int
db_read_begin(struct db *db)
{
	if (!sqlite3_get_autocommit(db->sq))
		return 0;
	return sqlite3_exec(db->sq, "BEGIN DEFERRED", NULL, NULL, NULL) == SQLITE_OK;
}

/* Ends the read transaction db_read_begin started, if STARTED. */
void
db_read_end(struct db *db, int started)
{
	if (started)
		sqlite3_exec(db->sq, "COMMIT", NULL, NULL, NULL);
}

/* Returns 1 if S is a non-empty string of decimal digits that fits an int64_t. */
static int
db_is_id(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
	}
	return i > 0 && i <= 18;
}

/* Frees the strings of SNAP. */
void
db_snapshot_clear(struct db_snapshot *snap)
{
	free(snap->label);
	free(snap->trigger);
	memset(snap, 0, sizeof *snap);
}

/*
 * Runs the snapshot query SQL, binding ARG as ?1 if the query has it (as an integer if ID is
 * set), and fills *SNAP from its first row.  Returns 1 if there was a row, 0 if not, -1 with
 * *CAUSE set on error.
 */
static int
db_snapshot_query(struct db *db, const char *sql, const char *arg, int id,
    struct db_snapshot *snap, char **cause)
{
	sqlite3_stmt *stmt;
	int rc;

	if ((stmt = db_prepare(db, sql, cause)) == NULL)
		return -1;
	if (sqlite3_bind_parameter_count(stmt) > 0) {
		if (id)
			sqlite3_bind_int64(stmt, 1, strtoll(arg, NULL, 10));
		else
			sqlite3_bind_text(stmt, 1, arg, -1, SQLITE_STATIC);
	}
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		snap->id = sqlite3_column_int64(stmt, 0);
		if (sqlite3_column_type(stmt, 1) != SQLITE_NULL)
			snap->label = xstrdup((const char *)sqlite3_column_text(stmt, 1));
		snap->trigger = xstrdup(sqlite3_column_type(stmt, 2) == SQLITE_NULL ? "?" :
		    (const char *)sqlite3_column_text(stmt, 2));
		snap->time = sqlite3_column_double(stmt, 3);
		snap->elapsed = sqlite3_column_double(stmt, 4);
		snap->live_bytes = sqlite3_column_int64(stmt, 5);
		snap->live_blocks = sqlite3_column_int64(stmt, 6);
		snap->full = sqlite3_column_int(stmt, 7) != 0;
		snap->scanned = sqlite3_column_int(stmt, 8) != 0;
	}
	sqlite3_finalize(stmt);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	*cause = db_cause(db, rc);
	return -1;
}

/*
 * Returns 1 if snapshot ID of DB is the peak (its sites are in peak_sites), 0 if not, or -1 with
 * *CAUSE set.
 */
int
db_snapshot_is_peak(struct db *db, int64_t id, char **cause)
{
	sqlite3_stmt *stmt;
	int rc, peak = 0;

	if ((stmt = db_prepare(db, "SELECT trigger = '" HS_TRIGGER_PEAK "' FROM snapshots"
	    " WHERE id = ?1", cause)) == NULL)
		return -1;
	sqlite3_bind_int64(stmt, 1, id);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		peak = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		*cause = db_cause(db, rc);
		return -1;
	}
	return peak;
}

/*
 * Finds the snapshot named by ARG: an id, "first", "last" (also when ARG is NULL), "peak" (the
 * last snapshot whose trigger is peak, if the database has one) or a label, meaning the last
 * snapshot with that label.  The first and the last are of the snapshots but the peak, and the
 * last is a traced CPython's exit snapshot (the start of its finalization) rather than its final
 * one, when it has both.  Fills *SNAP and returns 0, or returns -1 with *CAUSE set when the
 * database has no such snapshot.
 */
int
db_snapshot_find(struct db *db, const char *arg, struct db_snapshot *snap, char **cause)
{
	sqlite3_stmt *stmt;
	const char *sql;
	int rc, found = 0;

	memset(snap, 0, sizeof *snap);
	if (arg != NULL && strcmp(arg, "peak") == 0) {
		/* A label "peak" still names its snapshot in a database without a peak trigger. */
		found = db_snapshot_query(db, DB_SNAPSHOT_COLUMNS
		    "WHERE trigger = 'peak' ORDER BY id DESC LIMIT 1", arg, 0, snap, cause);
		if (found < 0)
			return -1;
	}
	if (!found) {
		/* The peak is no first or last; a CPython's final one only when alone. */
		if (arg == NULL || strcmp(arg, "last") == 0)
			sql = DB_SNAPSHOT_COLUMNS "WHERE trigger != '" HS_TRIGGER_PEAK "'"
			    " ORDER BY trigger = '" HS_TRIGGER_FINAL "', id DESC LIMIT 1";
		else if (strcmp(arg, "first") == 0)
			sql = DB_SNAPSHOT_COLUMNS "WHERE trigger != '" HS_TRIGGER_PEAK "'"
			    " ORDER BY id LIMIT 1";
		else if (db_is_id(arg))
			sql = DB_SNAPSHOT_COLUMNS "WHERE id = ?1";
		else
			sql = DB_SNAPSHOT_COLUMNS "WHERE label = ?1 ORDER BY id DESC LIMIT 1";
		found = db_snapshot_query(db, sql, arg, arg != NULL && db_is_id(arg), snap, cause);
	}
	if (found != 0)
		return found > 0 ? 0 : -1;

	/* Nothing matched: say whether the database has any snapshot at all. */
	stmt = db_prepare(db, "SELECT 1 FROM snapshots LIMIT 1", cause);
	if (stmt == NULL)
		return -1;
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc == SQLITE_DONE)
		*cause = xasprintf("%s: no snapshots yet", quote(db->path));
	else if (rc == SQLITE_ROW)
		*cause = xasprintf("%s: no snapshot %s", quote(db->path),
		    quote(arg != NULL ? arg : "last"));
	else
		*cause = db_cause(db, rc);
	return -1;
}

/*
 * Finds the last snapshot that a reachability scan classified (normally the exit snapshot).
 * Fills *SNAP and returns 0, or returns -1 with *CAUSE set when the database has none.
 */
int
db_snapshot_scanned(struct db *db, struct db_snapshot *snap, char **cause)
{
	int found;

	memset(snap, 0, sizeof *snap);
	found = db_snapshot_query(db, DB_SNAPSHOT_COLUMNS "WHERE scanned = 1"
	    " ORDER BY trigger = '" HS_TRIGGER_FINAL "', id DESC LIMIT 1", NULL, 0, snap, cause);
	if (found > 0)
		return 0;
	if (found < 0)
		return -1;
	/* Say whether there is a snapshot at all, as db_snapshot_find does. */
	if (db_snapshot_find(db, "last", snap, cause) != 0)
		return -1;
	*cause = xasprintf("%s: no snapshot was scanned for leaks", quote(db->path));
	db_snapshot_clear(snap);
	return -1;
}

/*
 * Prints the words that name SNAP on stdout, after WHAT: WHAT snapshot ID "LABEL" (TRIGGER, TIME,
 * ELAPSED s), the label only if it has one.
 */
void
db_snapshot_print(const char *what, const struct db_snapshot *snap)
{
	char when[64];

	format_time(when, sizeof when, snap->time);
	printf("%ssnapshot %lld", what, (long long)snap->id);
	if (snap->label != NULL)
		printf(" %s", quote(snap->label));
	printf(" (%s, %s, %.3f s)", snap->trigger, when, snap->elapsed);
}

/* Prints SNAP as a JSON object on stdout: id, label, trigger, time, elapsed and live totals. */
void
db_snapshot_json(const struct db_snapshot *snap)
{
	printf("{\"id\": %lld, \"label\": ", (long long)snap->id);
	json_string(stdout, snap->label);
	fputs(", \"trigger\": ", stdout);
	json_string(stdout, snap->trigger);
	fputs(", \"time\": ", stdout);
	json_double(stdout, snap->time, 6);
	fputs(", \"elapsed\": ", stdout);
	json_double(stdout, snap->elapsed, 6);
	printf(", \"live_bytes\": %lld, \"live_blocks\": %lld}", (long long)snap->live_bytes,
	    (long long)snap->live_blocks);
}
