/*
 * The Python tracebacks of a heapscope database, for the reports that key on Python frames
 * rather than native ones.  A stack whose blocks came from a CPython allocator domain has up to
 * process.py_depth frames (most recent call first: the rows of py_tracebacks from the stack's
 * py_traceback out through their parents), each naming a code object of py_code and a line.  A struct pytab holds every code object of one database, read at once in
 * id order (a program has thousands, not millions), and interns the (code, line) pairs the
 * report meets as struct py_frame, so a frame's key texts and filter results are computed once
 * however many stacks share it, as symbols.c does for native frames.
 *
 * Codes, frames and their strings live in the pytab's arena, freed at once by pytab_close.
 *
 * Invariants: codes[] is sorted by id; nframes == number of frames in buckets; nbuckets is a
 * power of two.
 */
#include "analyzer.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "py.h"

/* A row of py_tracebacks: the most recent call of a traceback, and the traceback of its caller. */
struct pytab_tb {
	struct py_frame	*frame;		/* the call */
	int64_t		 parent;	/* py_tracebacks.id of the caller's traceback, 0 if none */
};

/* The Python frames of one database. */
struct pytab {
	struct pytab_code	 *codes;	/* every row of py_code, by id */
	size_t			  ncodes;	/* entries in codes */
	size_t			  acodes;	/* allocated */
	struct pytab_tb		 *tbs;		/* every row of py_tracebacks: id i is tbs[i - 1] */
	size_t			  ntbs;		/* entries in tbs */
	size_t			  atbs;		/* allocated */
	const char		 *path;		/* the database's, for messages (the caller's
						   database outlives the pytab) */
	struct py_frame		**buckets;	/* frames met so far, by code and line */
	size_t			  nbuckets;	/* a power of two */
	size_t			  nframes;	/* frames in buckets */
	struct arena		  arena;	/* codes' strings, frames */
};

static struct py_frame *pytab_frame(struct pytab *, int64_t, int, char **);

/* Returns the hash of the frame of code CODE_ID at LINE. */
static uint64_t
pytab_hash(int64_t code_id, int line)
{
	uint64_t h = (uint64_t)code_id * 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uint32_t)line;

	return h ^ (h >> 29);
}

/*
 * Adds the row of py_tracebacks STMT holds to the pytab T, whose codes are read.  The preload
 * numbers them 1, 2, ... and writes a caller's traceback before its callees', so a walk out
 * through parents ends; a database where that does not hold is damaged.  Returns 0, or -1 with
 * *CAUSE set.
 */
static int
pytab_traceback_row(sqlite3_stmt *stmt, void *arg, char **cause)
{
	struct pytab *t = arg;
	int64_t id = sqlite3_column_int64(stmt, 0), parent = sqlite3_column_int64(stmt, 1);

	if (id != (int64_t)t->ntbs + 1 || parent < 0 || parent >= id) {
		*cause = xasprintf("%s: py_tracebacks: row %lld is out of order or has a bad parent",
		    quote(t->path), (long long)id);
		return -1;
	}
	if (t->ntbs == t->atbs) {
		t->atbs = t->atbs == 0 ? 1024 : t->atbs * 2;
		t->tbs = xreallocarray(t->tbs, t->atbs, sizeof *t->tbs);
	}
	t->tbs[t->ntbs].parent = parent;
	if ((t->tbs[t->ntbs++].frame = pytab_frame(t, sqlite3_column_int64(stmt, 2),
	    sqlite3_column_int(stmt, 3), cause)) == NULL)
		return -1;
	return 0;
}

/* Adds the row of py_code STMT holds to the pytab T; returns 0. */
static int
pytab_code_row(sqlite3_stmt *stmt, void *arg, char **cause)
{
	struct pytab *t = arg;

	(void)cause;
	if (t->ncodes == t->acodes) {
		t->acodes = t->acodes == 0 ? 1024 : t->acodes * 2;
		t->codes = xreallocarray(t->codes, t->acodes, sizeof *t->codes);
	}
	t->codes[t->ncodes].id = sqlite3_column_int64(stmt, 0);
	t->codes[t->ncodes].filename = arena_strdup(&t->arena,
	    (const char *)sqlite3_column_text(stmt, 1));
	t->codes[t->ncodes++].name = arena_strdup(&t->arena,
	    (const char *)sqlite3_column_text(stmt, 2));
	return 0;
}

/*
 * Returns the most recent call of traceback ID of T, and in *PARENT the id of its caller's
 * traceback (0 if none); NULL if T has no traceback ID.
 */
struct py_frame *
pytab_traceback(const struct pytab *t, int64_t id, int64_t *parent)
{
	if (id < 1 || (uint64_t)id > t->ntbs)
		return NULL;
	*parent = t->tbs[id - 1].parent;
	return t->tbs[id - 1].frame;
}

/*
 * Opens the Python frames of DB: sets *TAB to a new pytab, or to NULL if the database has no
 * Python frames at all (a native program, or a Python not traced).  Returns 0, or -1 with
 * *CAUSE set.
 */
int
pytab_open(struct db *db, struct pytab **tab, char **cause)
{
	struct pytab *t;
	sqlite3_stmt *stmt;
	int rc;

	*tab = NULL;
	if ((stmt = db_prepare(db, "SELECT EXISTS (SELECT 1 FROM py_tracebacks)", cause)) == NULL)
		return -1;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW && sqlite3_column_int(stmt, 0) == 0)
		rc = SQLITE_DONE;
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			return 0;
		*cause = db_cause(db, rc);
		return -1;
	}

	t = xcalloc(1, sizeof *t);
	t->path = db->path;
	t->nbuckets = 1024;
	t->buckets = xcalloc(t->nbuckets, sizeof *t->buckets);
	if (db_rows(db, "SELECT id, filename, name FROM py_code ORDER BY id", pytab_code_row, t,
	    cause) != 0 || db_rows(db, "SELECT id, parent, code_id, line FROM py_tracebacks"
	    " ORDER BY id", pytab_traceback_row, t, cause) != 0) {
		pytab_close(t);
		return -1;
	}
	*tab = t;
	return 0;
}

/* Frees T and everything in it (NULL is allowed). */
void
pytab_close(struct pytab *t)
{
	if (t == NULL)
		return;
	arena_free(&t->arena);
	free(t->codes);
	free(t->tbs);
	free(t->buckets);
	free(t);
}

/* Returns the code object CODE_ID of T, or NULL if py_code has no such row. */
static const struct pytab_code *
pytab_code_find(const struct pytab *t, int64_t code_id)
{
	size_t lo = 0, hi = t->ncodes, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (t->codes[mid].id < code_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->ncodes && t->codes[lo].id == code_id ? &t->codes[lo] : NULL;
}

/* Doubles the buckets of T, moving its frames. */
static void
pytab_grow(struct pytab *t)
{
	struct py_frame **old = t->buckets, *f, *next;
	size_t i, b, nold = t->nbuckets;

	t->nbuckets *= 2;
	t->buckets = xcalloc(t->nbuckets, sizeof *t->buckets);
	for (i = 0; i < nold; i++) {
		for (f = old[i]; f != NULL; f = next) {
			next = f->next;
			b = pytab_hash(f->code->id, f->line) & (t->nbuckets - 1);
			f->next = t->buckets[b];
			t->buckets[b] = f;
		}
	}
	free(old);
}

/*
 * Returns the frame of T for code CODE_ID at LINE, the same struct for the same pair; NULL with
 * *CAUSE set if py_code has no such code (a damaged database).
 */
static struct py_frame *
pytab_frame(struct pytab *t, int64_t code_id, int line, char **cause)
{
	const struct pytab_code *code;
	struct py_frame *f;
	size_t b = pytab_hash(code_id, line) & (t->nbuckets - 1);

	for (f = t->buckets[b]; f != NULL; f = f->next) {
		if (f->code->id == code_id && f->line == line)
			return f;
	}
	if ((code = pytab_code_find(t, code_id)) == NULL) {
		*cause = xasprintf("py_tracebacks names code %lld, which py_code lacks",
		    (long long)code_id);
		return NULL;
	}
	f = arena_alloc(&t->arena, sizeof *f);
	f->code = code;
	f->line = line;
	f->next = t->buckets[b];
	t->buckets[b] = f;
	if (++t->nframes > t->nbuckets)
		pytab_grow(t);
	return f;
}
