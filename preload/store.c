/*
 * The database: one SQLite file per traced process, created at the first snapshot and opened
 * anew for each one, so that no descriptor of heapscope's stays open in the program (programs
 * that close every descriptor, fork or exec then cannot hurt it).
 *
 * The file is created exclusively with mode 0600 and never through a symbolic link.  Each
 * snapshot is one transaction holding what the previous ones did not: new modules, frames,
 * stack nodes (stacks.c numbers them as the file does), stacks and threads, then the snapshot
 * row, the sites whose counters changed since the previous snapshot written, its blocks (with
 * the leak scan's verdicts when there was one), the edges among its unreachable blocks and its
 * mappings.  What has
 * been written is remembered by watermarks (the first id not yet written), which a forked child
 * resets: it writes a database of its own, from the start.
 *
 * Frames are numbered here: a hash table maps each return address seen in a written stack to
 * its frame id (open addressing, at most half full, keys never 0).  A write that fails takes back
 * the ids it handed out (store_forget).  Stack nodes and Python tracebacks are the nodes of
 * stacks.c's trees, with their ids.
 */
#include "config.h"

#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static char store_path[PATH_MAX];	/* this process's database, "" until created */
static pid_t store_pid;			/* process that created store_path */
static int store_forked;		/* 1 in a forked child */
static uint32_t modules_written;	/* modules [0, modules_written) are in the file */
static uint32_t modules_pending;	/* ... once the current write commits */
static uint32_t py_code_written;		/* py_code ids <= this are in the file */
static uint32_t py_code_pending;		/* ... once the current write commits */
static uint32_t stacks_written;		/* stack ids <= stacks_written are in the file */
static uint32_t nodes_written;		/* stack node ids <= nodes_written are in the file */
static uint32_t nodes_pending;		/* ... once the current write commits */
static uint32_t tracebacks_written;	/* Python tree node ids <= this are in the file */
static uint32_t tracebacks_pending;	/* ... once the current write commits */
static uint32_t threads_written;	/* thread numbers <= threads_written are in the file */
static int snapshots_written;		/* snapshot ids <= snapshots_written are in the file */
static struct frame_slot {
	uintptr_t pc;			/* a return address, 0 = an empty slot */
	uint32_t id;			/* its frames.id */
} *frame_slots;				/* hash table of the frames written */
static size_t frame_cap;		/* slots, a power of two */
static uint32_t frames_n;		/* frame ids handed out (all written) */
static struct line_memo {
	uintptr_t word;			/* code id << 32 | instruction offset, 0 = empty */
	int line;			/* py_line() of it */
} line_memo[1024];			/* lines found, by word: the outer frames of tracebacks
					   repeat, and finding a line scans the code's line table */
static char store_error[PATH_MAX + 600];		/* the cause of the last failure */
static int store_nomem;			/* 1 when the write under way ran out of memory of
					   heapscope's (not SQLite's, which its errors say) */

/*
 * The inserts of one write, one per table.  Rows are staged and go in STORE_BATCH at a time, with
 * one multi-row INSERT: per row, that costs SQLite less than half of what a statement per row
 * does.  The rest go in with a statement made for their number when the write ends.  A row's
 * values are in the order of its table's columns (HS_COL, common/schema-tables.h), and so is the
 * process row that store_create inserts alone (ST_PROCESS, never staged).
 */
enum {
	ST_MODULE, ST_FRAME, ST_STACK, ST_STACK_NODE, ST_THREAD, ST_SNAPSHOT, ST_SITE, ST_BLOCK,
	ST_EDGE, ST_MAPPING, ST_PY_CODE, ST_PY_TRACEBACK, ST_PEAK_SITE, ST_N,
	ST_PROCESS = ST_N		/* one row, never staged */
};
/* A table's entry in store_tables: its name and its number of columns. */
#define STORE_TABLE(t) { #t, HS_NCOLS(t) }
static const struct {
	const char *table;		/* its name */
	int cols;			/* its number of columns */
} store_tables[ST_N + 1] = {
	[ST_MODULE] = STORE_TABLE(modules), [ST_FRAME] = STORE_TABLE(frames),
	[ST_STACK] = STORE_TABLE(stacks), [ST_STACK_NODE] = STORE_TABLE(stack_nodes),
	[ST_THREAD] = STORE_TABLE(threads), [ST_SNAPSHOT] = STORE_TABLE(snapshots),
	[ST_SITE] = STORE_TABLE(sites), [ST_BLOCK] = STORE_TABLE(blocks),
	[ST_EDGE] = STORE_TABLE(edges), [ST_MAPPING] = STORE_TABLE(mappings),
	[ST_PY_CODE] = STORE_TABLE(py_code), [ST_PY_TRACEBACK] = STORE_TABLE(py_tracebacks),
	[ST_PEAK_SITE] = STORE_TABLE(peak_sites),
	[ST_PROCESS] = STORE_TABLE(process),
};
#define STORE_BATCH 32
#define STORE_COLS HS_NCOLS_MAX	/* the most columns of a table */
#define STORE_TEXT 2048		/* the longest text copied with ins_text_copy */

/* A staged value: its type is SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT, or 0 for NULL. */
struct store_val {
	int type;
	union {
		sqlite3_int64 i;
		double d;
		const char *s;		/* lives until the row is written */
	} u;
};

/* The staged rows of one table. */
struct store_ins {
	sqlite3 *db;
	sqlite3_stmt *many;		/* INSERT of STORE_BATCH rows, made at the first batch */
	int table;			/* ST_* */
	int n;				/* rows staged */
	struct store_val v[STORE_BATCH][STORE_COLS];	/* v[row][HS_COL(table, column)] */
	char text[STORE_BATCH][STORE_TEXT];	/* texts copied for a row */
};

/* The parameter number of process column C in the process row's INSERT. */
#define STORE_PROCESS(c) (HS_COL(process, c) + 1)

static const char *const store_domain[] = { HS_DOMAIN_RAW, HS_DOMAIN_MEM, HS_DOMAIN_OBJ };

static sqlite3_stmt *ins_prepare(sqlite3 *, int, int);

/* Sets the cause of a failure from DB's last error; out of memory if DB is NULL. */
static char *
store_fail(sqlite3 *db, const char *what)
{
	snprintf(store_error, sizeof store_error, "%s: %s: %s", store_path, what,
	    db ? sqlite3_errmsg(db) : "out of memory");
	return store_error;
}

/* Expands the output pattern for this process into store_path; -1 if too long. */
static int
store_expand(void)
{
	const char *s = hs_cfg.output;
	size_t n = 0;
	int has_pid = 0, k;

	for (; *s != '\0'; s++) {
		if (s[0] == '%' && s[1] == 'p') {
			k = snprintf(store_path + n, sizeof store_path - n, "%ld", (long)hs_pid);
			s++;
			has_pid = 1;
		} else if (s[0] == '%' && s[1] == '%') {
			k = snprintf(store_path + n, sizeof store_path - n, "%%");
			s++;
		} else
			k = snprintf(store_path + n, sizeof store_path - n, "%c", *s);
		if (k < 0 || (size_t)k >= sizeof store_path - n)
			return -1;
		n += k;
	}
	/* A forked child of a pattern without %p: beside the parent's, never over it. */
	if (!has_pid && store_forked) {
		k = snprintf(store_path + n, sizeof store_path - n, ".%ld", (long)hs_pid);
		if (k < 0 || (size_t)k >= sizeof store_path - n)
			return -1;
	}
	return 0;
}

/* Writes S as a JSON string (quotes included) into OUT of size CAP at *POS. */
static void
store_json_string(char *out, size_t cap, size_t *pos, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, n = *pos;
	unsigned char c;

	if (n + 1 < cap)
		out[n++] = '"';
	for (i = 0; i < len && n + 7 < cap; i++) {
		c = s[i];
		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = c;
		} else if (c < 0x20) {
			memcpy(out + n, "\\u00", 4);
			out[n + 4] = hex[c >> 4];
			out[n + 5] = hex[c & 15];
			n += 6;
		} else
			out[n++] = c;
	}
	if (n + 1 < cap)
		out[n++] = '"';
	*pos = n;
}

/* Fills OUT with the command line as a JSON array of strings. */
static void
store_argv(char *out, size_t cap)
{
	char buf[8192];
	size_t pos = 0, i, start;
	ssize_t len = 0, r;
	int fd;

	if ((fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC)) >= 0) {
		while (len < (ssize_t)sizeof buf &&
		    (r = read(fd, buf + len, sizeof buf - len)) > 0)
			len += r;
		close(fd);
	}
	out[pos++] = '[';
	for (i = start = 0; i < (size_t)len; i++) {
		if (buf[i] != '\0')
			continue;
		if (start != 0)
			out[pos++] = ',';
		store_json_string(out, cap - 2, &pos, buf + start, i - start);
		start = i + 1;
	}
	out[pos++] = ']';
	out[pos] = '\0';
}

/* Creates the database file with the schema and the process row; returns 0 or -1 with *CAUSE. */
static int
store_create(char **cause)
{
	char argv[12288], exe[PATH_MAX], sql[256];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	ssize_t n;
	int fd;

	if (store_expand() != 0) {
		*cause = "output file name too long";
		return -1;
	}
	fd = open(store_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(store_error, sizeof store_error, "cannot create %s: %s", store_path,
		    strerror(errno));
		*cause = store_error;
		return -1;
	}
	close(fd);
	if (sqlite3_open_v2(store_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW,
	    NULL) != SQLITE_OK)
		goto fail;
	/* One transaction, never synced: a crash of the machine is no concern of a profile. */
	snprintf(sql, sizeof sql, "PRAGMA synchronous=OFF; BEGIN; PRAGMA application_id=%d; "
	    "PRAGMA user_version=%d;", HS_APPLICATION_ID, HS_SCHEMA_VERSION);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK ||
	    hs_schema_create(db) != SQLITE_OK || (st = ins_prepare(db, ST_PROCESS, 1)) == NULL)
		goto fail;
	store_argv(argv, sizeof argv);
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	exe[n > 0 ? n : 0] = '\0';
	sqlite3_bind_int64(st, STORE_PROCESS(pid), hs_pid);
	sqlite3_bind_int64(st, STORE_PROCESS(ppid), getppid());
	sqlite3_bind_text(st, STORE_PROCESS(argv), argv, -1, SQLITE_STATIC);
	if (n > 0)
		sqlite3_bind_text(st, STORE_PROCESS(executable), exe, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, STORE_PROCESS(start_time), hs_start_time);
	sqlite3_bind_text(st, STORE_PROCESS(heapscope_version), PACKAGE_VERSION, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, STORE_PROCESS(stack_depth), hs_cfg.depth);
	if (py.minor != 0)
		sqlite3_bind_text(st, STORE_PROCESS(python), py.version, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, STORE_PROCESS(py_depth), py.minor != 0 ? py.depth : 0);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_close(db);
	store_pid = hs_pid;
	modules_written = stacks_written = nodes_written = threads_written = py_code_written = 0;
	tracebacks_written = 0;
	snapshots_written = 0;
	frames_n = 0;
	if (frame_slots != NULL)
		memset(frame_slots, 0, frame_cap * sizeof *frame_slots);
	return 0;
fail:
	*cause = store_fail(db, "cannot create the database");
	sqlite3_finalize(st);
	sqlite3_close(db);
	unlink(store_path);
	store_path[0] = '\0';
	return -1;
}

/* Returns the slot of PC in the frame table (its own, or the empty one where it belongs). */
static size_t
store_frame_slot(uintptr_t pc)
{
	size_t mask = frame_cap - 1, i = (pc * 0x9e3779b97f4a7c15ull) >> 20 & mask;

	while (frame_slots[i].pc != 0 && frame_slots[i].pc != pc)
		i = (i + 1) & mask;
	return i;
}

/*
 * Moves the frame table to one of CAP slots, keeping the frames numbered up to KEEP; -1 if out
 * of memory (the table stays as it was).
 */
static int
store_frames_rebuild(size_t cap, uint32_t keep)
{
	struct frame_slot *old = frame_slots, *slots;
	size_t ocap = frame_cap, i;

	if ((slots = mem_map(cap * sizeof *slots)) == NULL) {
		store_nomem = 1;
		return -1;
	}
	frame_slots = slots;
	frame_cap = cap;
	for (i = 0; i < ocap; i++) {
		if (old[i].pc != 0 && old[i].id <= keep)
			frame_slots[store_frame_slot(old[i].pc)] = old[i];
	}
	mem_unmap(old, ocap * sizeof *old);
	return 0;
}

/* Makes room for one more frame; -1 if out of memory. */
static int
store_frame_room(void)
{
	if (2 * ((size_t)frames_n + 1) <= frame_cap)
		return 0;
	return store_frames_rebuild(frame_cap ? frame_cap * 2 : 65536, UINT32_MAX);
}

/*
 * Sets column COL (its position, HS_COL) of the row being staged in I; a column never set is
 * NULL.
 */
static void
ins_int(struct store_ins *i, int col, sqlite3_int64 v)
{
	i->v[i->n][col].type = SQLITE_INTEGER;
	i->v[i->n][col].u.i = v;
}

static void
ins_real(struct store_ins *i, int col, double v)
{
	i->v[i->n][col].type = SQLITE_FLOAT;
	i->v[i->n][col].u.d = v;
}

/* S must live until the write ends, or be NULL. */
static void
ins_text(struct store_ins *i, int col, const char *s)
{
	i->v[i->n][col].type = s != NULL ? SQLITE_TEXT : 0;
	i->v[i->n][col].u.s = s;
}

/* A copy of S (shorter than STORE_TEXT) is kept with the row; one such column a row. */
static void
ins_text_copy(struct store_ins *i, int col, const char *s)
{
	snprintf(i->text[i->n], STORE_TEXT, "%s", s);
	ins_text(i, col, i->text[i->n]);
}

/* Makes an INSERT of ROWS rows into table T of DB; NULL on failure. */
static sqlite3_stmt *
ins_prepare(sqlite3 *db, int t, int rows)
{
	char sql[64 + STORE_BATCH * (2 * STORE_COLS + 3)], *p = sql;
	sqlite3_stmt *st = NULL;
	int r, c;

	p += sprintf(p, "INSERT INTO %s VALUES ", store_tables[t].table);
	for (r = 0; r < rows; r++) {
		if (r > 0)
			*p++ = ',';
		*p++ = '(';
		for (c = 0; c < store_tables[t].cols; c++) {
			if (c > 0)
				*p++ = ',';
			*p++ = '?';
		}
		*p++ = ')';
	}
	*p = '\0';
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	return st;
}

/* Inserts the rows staged in I with ST, made for their number; returns 0 or -1. */
static int
ins_run(struct store_ins *i, sqlite3_stmt *st)
{
	const struct store_val *v;
	int r, c, col = 1, rc;

	for (r = 0; r < i->n; r++) {
		for (c = 0; c < store_tables[i->table].cols; c++, col++) {
			v = &i->v[r][c];
			if (v->type == SQLITE_INTEGER)
				sqlite3_bind_int64(st, col, v->u.i);
			else if (v->type == SQLITE_FLOAT)
				sqlite3_bind_double(st, col, v->u.d);
			else if (v->type == SQLITE_TEXT)
				sqlite3_bind_text(st, col, v->u.s, -1, SQLITE_STATIC);
			else
				sqlite3_bind_null(st, col);
		}
	}
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	memset(i->v, 0, i->n * sizeof i->v[0]);	/* the next rows start all NULL */
	i->n = 0;
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Ends the row being staged in I; a full batch goes in.  Returns 0 or -1. */
static int
ins_next(struct store_ins *i)
{
	if (++i->n < STORE_BATCH)
		return 0;
	if (i->many == NULL && (i->many = ins_prepare(i->db, i->table, STORE_BATCH)) == NULL)
		return -1;
	return ins_run(i, i->many);
}

/* Finalizes the statements of the inserts ST (ST_N of them) and unmaps them. */
static void
store_ins_free(struct store_ins *st)
{
	int i;

	if (st == NULL)
		return;
	for (i = 0; i < ST_N; i++)
		sqlite3_finalize(st[i].many);
	mem_unmap(st, ST_N * sizeof *st);
}

/* Inserts what is left in I; returns 0 or -1. */
static int
ins_flush(struct store_ins *i)
{
	sqlite3_stmt *st;
	int rc;

	if (i->n == 0)
		return 0;
	if ((st = ins_prepare(i->db, i->table, i->n)) == NULL)
		return -1;
	rc = ins_run(i, st);
	sqlite3_finalize(st);
	return rc;
}

/* Writes the modules not yet in the file. */
static int
store_modules(struct store_ins *st)
{
	const struct module *m;
	uint32_t i, n;
	int rc = 0;

	modules_hold();
	n = modules_count();
	for (i = modules_written; i < n && rc == 0; i++) {
		m = modules_get(i);
		ins_int(st, HS_COL(modules, id), m->id);
		ins_text(st, HS_COL(modules, path), m->path);
		ins_int(st, HS_COL(modules, base), (sqlite3_int64)m->base);
		ins_int(st, HS_COL(modules, start), (sqlite3_int64)m->start);
		ins_int(st, HS_COL(modules, end), (sqlite3_int64)m->end);
		/* A copy: the module array may move before the row is written. */
		if (m->build_id[0] != '\0')
			ins_text_copy(st, HS_COL(modules, build_id), m->build_id);
		rc = ins_next(st);
	}
	/* Counted under the hold: a module added after it is the next write's. */
	modules_pending = n;
	modules_release();
	return rc;
}

/* Returns the frame id of PC, writing a new frame row if needed; 0 on failure. */
static uint32_t
store_frame(struct store_ins *st, uintptr_t pc)
{
	const struct module *m;
	size_t i;

	if (store_frame_room() != 0)
		return 0;
	i = store_frame_slot(pc);
	if (frame_slots[i].pc == pc)
		return frame_slots[i].id;
	ins_int(st, HS_COL(frames, id), frames_n + 1);
	ins_int(st, HS_COL(frames, address), (sqlite3_int64)pc);
	if ((m = modules_find(pc)) != NULL) {
		ins_int(st, HS_COL(frames, module_id), m->id);
		ins_int(st, HS_COL(frames, offset), (sqlite3_int64)(pc - m->base));
	}
	if (ins_next(st) != 0)
		return 0;
	frame_slots[i].pc = pc;
	frame_slots[i].id = ++frames_n;
	return frames_n;
}

/* Writes the Python code objects not yet in the file. */
static int
store_py_code(struct store_ins *st)
{
	const struct py_code *c;
	uint32_t id, n = py_code_count();

	for (id = py_code_written + 1; id <= n; id++) {
		c = py_code_get(id);
		ins_int(st, HS_COL(py_code, id), id);
		ins_text(st, HS_COL(py_code, filename), c->filename);
		ins_text(st, HS_COL(py_code, name), c->name);
		ins_int(st, HS_COL(py_code, firstlineno), c->firstlineno);
		if (ins_next(st) != 0)
			return -1;
	}
	py_code_pending = n;
	return 0;
}

/* Returns the line of the Python frame WORD (code id << 32 | instruction offset). */
static int
store_line(uintptr_t word)
{
	struct line_memo *m = &line_memo[(word * 0x9e3779b97f4a7c15ull) >> 54];

	if (m->word != word) {
		m->word = word;
		m->line = py_line(py_code_get(word >> 32), (uint32_t)word);
	}
	return m->line;
}

/*
 * Forgets the frames numbered above FRAMES: a write that failed was rolled back, and the next
 * one must write them again.  Returns 0, or -1 if out of memory.
 */
static int
store_forget(uint32_t frames)
{
	if (frame_cap != 0 && store_frames_rebuild(frame_cap, frames) != 0)
		return -1;
	frames_n = frames;
	return 0;
}

/*
 * Writes the native nodes up to N not yet in the file (stacks.c numbers them as the file does),
 * with the frames they name; returns 0 or -1.  The caller holds the modules.
 */
static int
store_nodes(struct store_ins *st, uint32_t n)
{
	char frames[HS_STACK_CHUNK * 12 + 3];
	const uintptr_t *pcs;
	uint32_t id, parent, f;
	size_t len;
	int k, npcs;

	for (id = nodes_written + 1; id <= n; id++) {
		pcs = stack_node_get(0, id, &parent, &npcs);
		len = 0;
		frames[len++] = '[';
		for (k = 0; k < npcs; k++) {
			if ((f = store_frame(&st[ST_FRAME], pcs[k])) == 0)
				return -1;
			len += snprintf(frames + len, sizeof frames - len, "%s%u", k ? "," : "", f);
		}
		frames[len++] = ']';
		frames[len] = '\0';
		ins_int(&st[ST_STACK_NODE], HS_COL(stack_nodes, id), id);
		if (parent != 0)
			ins_int(&st[ST_STACK_NODE], HS_COL(stack_nodes, parent), parent);
		ins_text_copy(&st[ST_STACK_NODE], HS_COL(stack_nodes, frames), frames);
		if (ins_next(&st[ST_STACK_NODE]) != 0)
			return -1;
	}
	nodes_pending = n;
	return 0;
}

/*
 * Writes the nodes of the Python tree up to N not yet in the file, as rows of py_tracebacks
 * (stacks.c numbers them as the file does); returns 0 or -1.  Two rows may have the same
 * caller, code and line: their frames were at different instructions of the line.
 */
static int
store_tracebacks(struct store_ins *st, uint32_t n)
{
	const uintptr_t *word;
	uint32_t id, parent;
	int one;

	for (id = tracebacks_written + 1; id <= n; id++) {
		word = stack_node_get(1, id, &parent, &one);
		ins_int(st, HS_COL(py_tracebacks, id), id);
		if (parent != 0)
			ins_int(st, HS_COL(py_tracebacks, parent), parent);
		ins_int(st, HS_COL(py_tracebacks, code_id), *word >> 32);
		ins_int(st, HS_COL(py_tracebacks, line), store_line(*word));
		if (ins_next(st) != 0)
			return -1;
	}
	tracebacks_pending = n;
	return 0;
}

/*
 * Writes the stacks not yet in the file, up to NSTACKS, and the nodes, frames, tracebacks and
 * code objects they name.  The nodes are counted before the code objects: a node's code object
 * was made before it, so every code that a node names is written.
 */
static int
store_stacks(struct store_ins *st, uint32_t nstacks)
{
	uint32_t id, nnodes = stack_node_count(0), ntbs = stack_node_count(1);
	struct stack_info si;
	int rc = 0;

	if (store_py_code(&st[ST_PY_CODE]) != 0 ||
	    store_tracebacks(&st[ST_PY_TRACEBACK], ntbs) != 0)
		return -1;
	modules_hold();
	if (store_nodes(st, nnodes) != 0)
		rc = -1;
	for (id = stacks_written + 1; id <= nstacks && rc == 0; id++) {
		stack_info(id, &si);
		ins_int(&st[ST_STACK], HS_COL(stacks, id), id);
		ins_int(&st[ST_STACK], HS_COL(stacks, depth), si.depth);
		if (si.domain != PY_NONE)
			ins_text(&st[ST_STACK], HS_COL(stacks, domain), store_domain[si.domain]);
		ins_int(&st[ST_STACK], HS_COL(stacks, py_depth), si.npy);
		if (si.py != 0)
			ins_int(&st[ST_STACK], HS_COL(stacks, py_traceback), si.py);
		if (si.node != 0)
			ins_int(&st[ST_STACK], HS_COL(stacks, node), si.node);
		rc = ins_next(&st[ST_STACK]);
	}
	modules_release();
	return rc;
}

/* Binds the Python columns (py_type to py_cycle_id) of a scanned block's row from V. */
static void
store_py_verdict(struct store_ins *s, const struct scan_verdict *v)
{
	if (v->py_garbage < 0)
		return;
	if (v->py_type != NULL) {
		ins_text(s, HS_COL(blocks, py_type), v->py_type);
		if (v->py_refcnt >= 0)
			ins_int(s, HS_COL(blocks, py_refcnt), v->py_refcnt);
		ins_int(s, HS_COL(blocks, py_refs), v->py_refs);
	}
	ins_int(s, HS_COL(blocks, py_garbage), v->py_garbage);
	if (v->py_cycle != 0)
		ins_int(s, HS_COL(blocks, py_cycle_id), v->py_cycle);
}

/* Formats the lifetime histogram of pairs PAIRS[0..N), in any order, as a JSON object into OUT. */
static void
store_lifetimes(const uint64_t *pairs, uint32_t npairs, char *out, size_t cap)
{
	uint64_t hist[HS_HIST] = { 0 };
	size_t n = 0;
	uint32_t i;
	int b, k;

	for (i = 0; i < npairs; i++)
		hist[pairs[i] >> HS_PAIR_SHIFT] += pairs[i] & HS_PAIR_COUNT;
	out[n++] = '{';
	for (b = 0; b < HS_HIST; b++) {
		if (hist[b] == 0)
			continue;
		k = snprintf(out + n, cap - n, "%s\"%d\":%llu", n > 1 ? "," : "", b,
		    (unsigned long long)hist[b]);
		if (k < 0 || (size_t)k >= cap - n - 1)
			break;
		n += k;
	}
	out[n++] = '}';
	out[n] = '\0';
}

/* blocks.leak by scan_verdict.leak (SCAN_UNKNOWN is never written: the column stays NULL). */
static const char *const store_leak[] = {
	[SCAN_UNKNOWN] = NULL,
	[SCAN_REACHABLE] = HS_LEAK_REACHABLE,
	[SCAN_POSSIBLY] = HS_LEAK_POSSIBLY,
	[SCAN_INDIRECTLY] = HS_LEAK_INDIRECTLY,
	[SCAN_DEFINITELY] = HS_LEAK_DEFINITELY,
};

/* Writes the snapshot row and everything it holds; ID is its id. */
static int
store_rows(struct store_ins *st, struct snap_data *d, int id)
{
	const struct site_sums *c;
	const uint64_t *pairs;
	struct snap_site site;
	char lifetimes[2048];
	uint64_t mapped = 0, nmaps = 0;
	uint32_t i;
	size_t k;
	struct store_ins *s;

	for (i = threads_written + 1; i <= d->nthreads; i++) {
		ins_int(&st[ST_THREAD], HS_COL(threads, id), i);
		ins_int(&st[ST_THREAD], HS_COL(threads, tid), d->tids[i]);
		if (ins_next(&st[ST_THREAD]) != 0)
			return -1;
	}
	if (d->peak_only)
		return 0;
	s = &st[ST_SNAPSHOT];
	ins_int(s, HS_COL(snapshots, id), id);
	ins_text(s, HS_COL(snapshots, label), d->label);
	ins_text(s, HS_COL(snapshots, trigger), d->trigger);
	ins_real(s, HS_COL(snapshots, time), d->time);
	ins_real(s, HS_COL(snapshots, elapsed), d->elapsed);
	ins_int(s, HS_COL(snapshots, live_bytes), d->live_bytes);
	ins_int(s, HS_COL(snapshots, live_blocks), d->live_blocks);
	for (k = 0; k < d->nmaps; k++) {
		if (d->maps[k].stack <= d->nstacks) {
			mapped += d->maps[k].size;
			nmaps++;
		}
	}
	ins_int(s, HS_COL(snapshots, mapped_bytes), (sqlite3_int64)mapped);
	ins_int(s, HS_COL(snapshots, mappings), nmaps);
	ins_int(s, HS_COL(snapshots, total_allocs), d->total_allocs);
	ins_int(s, HS_COL(snapshots, total_frees), d->total_frees);
	ins_int(s, HS_COL(snapshots, full), d->full);
	ins_int(s, HS_COL(snapshots, scanned), d->scanned);
	if (ins_next(s) != 0)
		return -1;

	s = &st[ST_SITE];
	c = &site.s;
	while (snap_site_next(d, &site, &pairs)) {
		if (c->allocs == 0)
			continue;
		store_lifetimes(pairs, site.npairs, lifetimes, sizeof lifetimes);
		ins_int(s, HS_COL(sites, snapshot_id), id);
		ins_int(s, HS_COL(sites, stack_id), site.stack);
		ins_int(s, HS_COL(sites, live_bytes), c->alloc_bytes - c->freed_bytes);
		ins_int(s, HS_COL(sites, live_blocks), c->allocs - c->frees);
		ins_int(s, HS_COL(sites, allocs), c->allocs);
		ins_int(s, HS_COL(sites, frees), c->frees);
		ins_int(s, HS_COL(sites, alloc_bytes), c->alloc_bytes);
		ins_int(s, HS_COL(sites, temporaries), c->temporaries);
		ins_text_copy(s, HS_COL(sites, lifetimes), lifetimes);
		if (ins_next(s) != 0)
			return -1;
	}

	/* The blocks come sorted by address: the table's order, so inserts append. */
	s = &st[ST_BLOCK];
	for (k = 0; k < d->nblocks; k++) {
		const struct block *b = &d->blocks[k];

		ins_int(s, HS_COL(blocks, snapshot_id), id);
		ins_int(s, HS_COL(blocks, address), (sqlite3_int64)b->addr);
		ins_int(s, HS_COL(blocks, size), b->size);
		ins_int(s, HS_COL(blocks, stack_id), b->stack);
		ins_int(s, HS_COL(blocks, thread_id), b->thread);
		ins_real(s, HS_COL(blocks, age),
		    d->now > b->birth ? clock_ticks_to_sec(d->now - b->birth) : 0);
		if (d->scanned) {
			const struct scan_verdict *v = &d->verdicts[k];

			ins_text(s, HS_COL(blocks, leak), store_leak[v->leak]);
			if (v->cycle != 0)
				ins_int(s, HS_COL(blocks, cycle_id), v->cycle);
			ins_int(s, HS_COL(blocks, root_refs), v->root_refs);
			ins_int(s, HS_COL(blocks, block_refs), v->block_refs);
			store_py_verdict(s, v);
		}
		if (ins_next(s) != 0)
			return -1;
	}

	s = &st[ST_EDGE];
	for (k = 0; k < d->nedges; k++) {
		const struct scan_edge *e = &d->edges[k];

		ins_int(s, HS_COL(edges, snapshot_id), id);
		ins_int(s, HS_COL(edges, from_address), (sqlite3_int64)d->blocks[e->from].addr);
		ins_int(s, HS_COL(edges, offset), (sqlite3_int64)e->offset);
		ins_int(s, HS_COL(edges, to_address), (sqlite3_int64)d->blocks[e->to].addr);
		ins_int(s, HS_COL(edges, interior), e->interior);
		if (ins_next(s) != 0)
			return -1;
	}

	s = &st[ST_MAPPING];
	for (k = 0; k < d->nmaps; k++) {
		const struct mapping *m = &d->maps[k];

		if (m->stack > d->nstacks)
			continue;	/* made after the world lock: the next snapshot has it */
		ins_int(s, HS_COL(mappings, snapshot_id), id);
		ins_int(s, HS_COL(mappings, address), (sqlite3_int64)m->addr);
		ins_int(s, HS_COL(mappings, size), (sqlite3_int64)m->size);
		ins_int(s, HS_COL(mappings, prot), m->prot);
		ins_int(s, HS_COL(mappings, flags), m->flags);
		ins_int(s, HS_COL(mappings, stack_id), m->stack);
		ins_text(s, HS_COL(mappings, kind),
		    m->pyarena ? HS_MAPPING_PYARENA : HS_MAPPING_MMAP);
		if (ins_next(s) != 0)
			return -1;
	}
	return 0;
}

/*
 * Writes D's peak as the snapshot with trigger peak, id 0, and its sites, in place of the peak
 * written before.  Returns 0 or -1.
 */
static int
store_peak(struct store_ins *st, const struct snap_data *d)
{
	struct store_ins *s = &st[ST_SNAPSHOT];
	int64_t bytes = 0, blocks = 0;
	size_t k;

	if (sqlite3_exec(st->db, "DELETE FROM peak_sites; DELETE FROM snapshots WHERE trigger = '"
	    HS_TRIGGER_PEAK "'", NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	for (k = 0; k < d->npeak; k++) {
		if (d->peak[k].bytes == 0 && d->peak[k].blocks == 0)
			continue;	/* alive at the peak in one thread, freed by another */
		ins_int(&st[ST_PEAK_SITE], HS_COL(peak_sites, stack_id), d->peak[k].stack);
		ins_int(&st[ST_PEAK_SITE], HS_COL(peak_sites, live_bytes), d->peak[k].bytes);
		ins_int(&st[ST_PEAK_SITE], HS_COL(peak_sites, live_blocks), d->peak[k].blocks);
		if (ins_next(&st[ST_PEAK_SITE]) != 0)
			return -1;
		bytes += d->peak[k].bytes;
		blocks += d->peak[k].blocks;
	}
	/* What the peak's moment did not record is 0: the mappings and the totals. */
	ins_int(s, HS_COL(snapshots, id), 0);
	ins_text(s, HS_COL(snapshots, trigger), HS_TRIGGER_PEAK);
	ins_real(s, HS_COL(snapshots, time), d->peak_time);
	ins_real(s, HS_COL(snapshots, elapsed), d->peak_elapsed);
	ins_int(s, HS_COL(snapshots, live_bytes), bytes);
	ins_int(s, HS_COL(snapshots, live_blocks), blocks);
	ins_int(s, HS_COL(snapshots, mapped_bytes), 0);
	ins_int(s, HS_COL(snapshots, mappings), 0);
	ins_int(s, HS_COL(snapshots, total_allocs), 0);
	ins_int(s, HS_COL(snapshots, total_frees), 0);
	ins_int(s, HS_COL(snapshots, full), 0);
	ins_int(s, HS_COL(snapshots, scanned), 0);
	return ins_next(s);
}

/*
 * Writes snapshot D in one transaction, creating the database first if this process has none.
 * Returns the snapshot id (0 for the peak alone, D->peak_only); or, with *CAUSE set and nothing
 * of this snapshot in the file, -2 if
 * another process kept the database locked, -1 for any other failure.  The caller holds
 * snap_lock, which makes the writes of a process one at a time: the state above is theirs.
 */
int
store_write(struct snap_data *d, char **cause)
{
	struct store_ins *st = NULL;
	sqlite3 *db = NULL;
	const char *what = "cannot open the database";
	int i, busy, id = snapshots_written + 1;
	uint32_t frames;

	assert(snap_held());
	if ((store_path[0] == '\0' || store_pid != hs_pid) && store_create(cause) != 0)
		return -1;
	frames = frames_n;		/* what a failure takes back: see store_forget */
	store_nomem = 0;
	if (sqlite3_open_v2(store_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW,
	    NULL) != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(db, 5000);
	what = "cannot write a snapshot";
	if (sqlite3_exec(db, "PRAGMA synchronous=OFF; BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		goto fail;
	if ((st = mem_map(ST_N * sizeof *st)) == NULL) {
		store_nomem = 1;
		goto fail;
	}
	for (i = 0; i < ST_N; i++) {
		st[i].db = db;
		st[i].table = i;
	}
	if (store_modules(&st[ST_MODULE]) != 0 || store_stacks(st, d->nstacks) != 0 ||
	    store_rows(st, d, id) != 0 || (d->peak_epoch != 0 && store_peak(st, d) != 0))
		goto fail;
	for (i = 0; i < ST_N; i++) {
		if (ins_flush(&st[i]) != 0)
			goto fail;
	}
	store_ins_free(st);
	st = NULL;
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_close(db);
	modules_written = modules_pending;
	stacks_written = d->nstacks;
	nodes_written = nodes_pending;
	py_code_written = py_code_pending;
	tracebacks_written = tracebacks_pending;
	threads_written = d->nthreads;
	if (!d->peak_only)
		snapshots_written = id;
	return d->peak_only ? 0 : id;
fail:
	*cause = store_fail(store_nomem ? NULL : db, what);
	busy = db != NULL && sqlite3_errcode(db) == SQLITE_BUSY;
	store_ins_free(st);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	/* Locked by a reader for long: nothing was written, the next snapshot may do. */
	return busy && store_forget(frames) == 0 ? -2 : -1;
}

/* In a forked child: the next snapshot creates the child's own database. */
void
store_atfork_child(void)
{
	store_path[0] = '\0';
	store_forked = 1;
}
