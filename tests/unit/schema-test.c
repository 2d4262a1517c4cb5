/*
 * Unit test of the schema's description (common/schema-tables.h), a TAP program.  The tables that
 * hs_schema_create makes in a database in memory must have the columns the description gives,
 * at the positions HS_COL names, with the types it declares; and heapscope-schema(5) must
 * document each table and view and each of their columns, in their order, and nothing else.  The
 * page's TABLES section is read as it is written: `.Ss name` begins a table, and each
 * `.It Sy name` up to the next one is one of its columns.  The page is found under $srcdir, as
 * make check sets it.
 */
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"
#include "tap.h"

/* The most tables the page may document, and columns per table. */
#define TEST_MAX_TABLES 32
#define TEST_MAX_COLUMNS 32

/* A column of the description. */
struct test_column {
	const char *table;		/* the table's name */
	const char *name;		/* the column's */
	const char *decl;		/* its declaration: its type, then its constraints */
	int col;			/* HS_COL(table, name) */
	int ncols;			/* HS_NCOLS(table) */
};

/* A table or a view of the description. */
struct test_table {
	const char *name;		/* its name */
	int view;			/* 1 for a view */
};

/* A table or a view that the page documents. */
struct test_section {
	char name[64];			/* its name */
	char columns[TEST_MAX_COLUMNS][64];	/* its columns, in the page's order */
	int ncolumns;			/* number of them; more than TEST_MAX_COLUMNS is an error */
};

static const struct test_column test_columns[] = {
#define HS_TABLE(t)
#define HS_COLUMN(t, c, decl) { #t, #c, decl, HS_COL(t, c), HS_NCOLS(t) },
#define HS_END(t, cons, opts)
#define HS_VIEW(v, select)
#include "schema-tables.h"
};

static const struct test_table test_tables[] = {
#define HS_TABLE(t) { #t, 0 },
#define HS_COLUMN(t, c, decl)
#define HS_END(t, cons, opts)
#define HS_VIEW(v, select) { #v, 1 },
#include "schema-tables.h"
};

#define TEST_NTABLES (int)(sizeof test_tables / sizeof test_tables[0])
#define TEST_NCOLUMNS (int)(sizeof test_columns / sizeof test_columns[0])

/* Copies the first word of S (up to a blank or the end) into OUT of size CAP. */
static void
test_word(const char *s, char *out, size_t cap)
{
	size_t n = strcspn(s, " \t\n");

	if (n >= cap)
		n = cap - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}

/*
 * Reads the TABLES section of the man page PATH into SECTIONS (at most TEST_MAX_TABLES); returns
 * their number, or -1 if the page cannot be read.
 */
static int
test_read_page(const char *path, struct test_section *sections)
{
	char line[1024];
	struct test_section *s = NULL;
	int n = 0, in_tables = 0;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, ".Sh ", 4) == 0) {
			in_tables = strcmp(line, ".Sh TABLES\n") == 0;
			s = NULL;
		} else if (in_tables && strncmp(line, ".Ss ", 4) == 0 && n < TEST_MAX_TABLES) {
			s = &sections[n++];
			test_word(line + 4, s->name, sizeof s->name);
			s->ncolumns = 0;
		} else if (s != NULL && strncmp(line, ".It Sy ", 7) == 0) {
			if (s->ncolumns < TEST_MAX_COLUMNS)
				test_word(line + 7, s->columns[s->ncolumns], sizeof s->columns[0]);
			s->ncolumns++;
		}
	}
	fclose(f);
	return n;
}

/*
 * Reads the columns of table NAME from DB (PRAGMA table_info, in their order) into NAMES and
 * their declared types into TYPES, each of TEST_MAX_COLUMNS; returns their number, or -1.
 */
static int
test_table_info(sqlite3 *db, const char *name, char names[][64], char types[][64])
{
	sqlite3_stmt *st;
	int n = 0;

	if (sqlite3_prepare_v2(db, "SELECT cid, name, type FROM pragma_table_info(?)", -1, &st,
	    NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW && n < TEST_MAX_COLUMNS) {
		if (sqlite3_column_int(st, 0) != n)
			break;
		snprintf(names[n], 64, "%s", (const char *)sqlite3_column_text(st, 1));
		/* A view's columns have no declared type: "". */
		snprintf(types[n], 64, "%s", sqlite3_column_type(st, 2) == SQLITE_TEXT ?
		    (const char *)sqlite3_column_text(st, 2) : "");
		n++;
	}
	sqlite3_finalize(st);
	return n;
}

/*
 * Checks that the N columns NAMES of table T, of types TYPES, are those of the description, at
 * their positions and with their types.
 */
static void
test_columns_of(const char *t, char names[][64], char types[][64], int n)
{
	const struct test_column *c;
	char type[64];
	int i, described = 0, ncols = 0, ok = 1;

	for (i = 0; i < TEST_NCOLUMNS; i++) {
		c = &test_columns[i];
		if (strcmp(c->table, t) != 0)
			continue;
		test_word(c->decl, type, sizeof type);
		if (c->col != described || c->col >= n || strcmp(names[c->col], c->name) != 0 ||
		    strcmp(types[c->col], type) != 0) {
			printf("# %s.%s: HS_COL %d, declared %s; the database's column %d: %s %s\n",
			    t, c->name, c->col, type, described, described < n ? names[described] :
			    "(none)", described < n ? types[described] : "");
			ok = 0;
		}
		ncols = c->ncols;
		described++;
	}
	if (ncols != n || described != n) {
		printf("# %s: HS_NCOLS %d, %d columns described, %d in the database\n", t, ncols,
		    described, n);
		ok = 0;
	}
	tap_ok(ok, "%s has the %d columns described, in their places", t, described);
}

/* Checks that section S of the page documents the N columns NAMES of table T, in order. */
static void
test_section(const char *t, const struct test_section *s, char names[][64], int n)
{
	int i, j, found, order = s->ncolumns == n;

	for (i = 0; i < n; i++) {
		for (found = j = 0; j < s->ncolumns && j < TEST_MAX_COLUMNS; j++)
			found |= strcmp(s->columns[j], names[i]) == 0;
		tap_ok(found, "heapscope-schema(5) documents %s.%s", t, names[i]);
		if (i >= s->ncolumns || strcmp(s->columns[i], names[i]) != 0)
			order = 0;
	}
	for (j = 0; j < s->ncolumns && j < TEST_MAX_COLUMNS; j++) {
		for (found = i = 0; i < n; i++)
			found |= strcmp(s->columns[j], names[i]) == 0;
		if (!found)
			printf("# heapscope-schema(5) documents %s.%s, which does not exist\n", t,
			    s->columns[j]);
	}
	tap_ok(s->ncolumns <= TEST_MAX_COLUMNS && order,
	    "heapscope-schema(5) documents the columns of %s in order, and no other", t);
}

int
main(void)
{
	static struct test_section sections[TEST_MAX_TABLES];
	char names[TEST_MAX_COLUMNS][64], types[TEST_MAX_COLUMNS][64], path[4096];
	const char *srcdir = getenv("srcdir");
	const struct test_section *s;
	const struct test_table *t;
	sqlite3 *db = NULL;
	int i, j, n, nsections;

	tap_ok(sqlite3_open(":memory:", &db) == SQLITE_OK && hs_schema_create(db) == SQLITE_OK,
	    "hs_schema_create makes the tables");
	snprintf(path, sizeof path, "%s/man/heapscope-schema.5", srcdir != NULL ? srcdir : ".");
	nsections = test_read_page(path, sections);
	tap_ok(nsections > 0, "%s has a TABLES section", path);
	for (i = 0; i < TEST_NTABLES; i++) {
		t = &test_tables[i];
		n = test_table_info(db, t->name, names, types);
		tap_ok(n > 0, "the database has %s", t->name);
		if (n <= 0)
			continue;
		if (!t->view)
			test_columns_of(t->name, names, types, n);
		for (s = NULL, j = 0; j < nsections; j++) {
			if (strcmp(sections[j].name, t->name) == 0)
				s = &sections[j];
		}
		tap_ok(s != NULL, "heapscope-schema(5) documents %s", t->name);
		if (s != NULL)
			test_section(t->name, s, names, n);
	}
	for (j = 0; j < nsections; j++) {
		for (i = 0; i < TEST_NTABLES && strcmp(sections[j].name, test_tables[i].name); i++)
			;
		tap_ok(i < TEST_NTABLES, "%s of heapscope-schema(5) is a table of the description",
		    sections[j].name);
	}
	sqlite3_close(db);
	printf("1..%d\n", tap_count);
	return tap_failed != 0;
}
