/*
 * The SQL that creates the tables, views and indexes of schema-tables.h, which the preload runs once,
 * on the new, empty file.  A table's columns in the list make one string literal, ", name
 * declaration" for each; the list has no way to leave the first comma out, so the statement is
 * written around them at run time, into a buffer long enough by construction (schema_statement).
 * It is on the stack, not the heap, which the preload shares with the traced program: making
 * the schema allocates nothing beside what SQLite does.  The text is what sqlite3's .schema
 * shows, as it was when it was written by hand: each column and table constraint after a space,
 * commas between them.
 */
#include <sqlite3.h>
#include <stdio.h>

#include "schema.h"

/* One member per table, as long as its statement can be: the union's size is the longest. */
union schema_statement {
#define HS_TABLE(t) char t[sizeof "CREATE TABLE " #t " ("
#define HS_COLUMN(t, c, decl) ", " #c " " decl
#define HS_END(t, cons, opts) ", " cons ") " opts];
#define HS_VIEW(v, select)
#include "schema-tables.h"
};

/*
 * Creates table NAME in DB: COLUMNS is ", name declaration" for each of its columns, CONSTRAINTS
 * and OPTIONS are the table's, "" for none.  Returns an SQLite result code.
 */
static int
schema_table(sqlite3 *db, const char *name, const char *columns, const char *constraints,
    const char *options)
{
	char sql[sizeof(union schema_statement)];

	snprintf(sql, sizeof sql, "CREATE TABLE %s (%s%s%s)%s%s", name, columns + 1,
	    constraints[0] != '\0' ? ", " : "", constraints, options[0] != '\0' ? " " : "",
	    options);
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* Creates the tables and the view in DB, an empty database; returns an SQLite result code. */
int
hs_schema_create(sqlite3 *db)
{
	int rc = SQLITE_OK;

#define HS_TABLE(t) if (rc == SQLITE_OK) rc = schema_table(db, #t, ""
#define HS_COLUMN(t, c, decl) ", " #c " " decl
#define HS_END(t, cons, opts) , cons, opts);
#define HS_VIEW(v, select)						\
	if (rc == SQLITE_OK)						\
		rc = sqlite3_exec(db, "CREATE VIEW " #v " AS " select, NULL, NULL, NULL);
#define HS_INDEX(i, t, cols)						\
	if (rc == SQLITE_OK)						\
		rc = sqlite3_exec(db, "CREATE INDEX " #i " ON " #t " (" cols ")", NULL, NULL, \
		    NULL);
#include "schema-tables.h"
	return rc;
}
