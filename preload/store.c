/*
 * The database: one SQLite file per traced process, created at the first snapshot and opened
 * anew for each one, so that no descriptor of heapscope's stays open in the program (programs
 * that close every descriptor, fork or exec then cannot hurt it).
 *
 * The file is created exclusively with mode 0600 and never through a symbolic link.  Each
 * snapshot is one transaction holding what the previous ones did not: new modules, frames,
 * stacks and threads, then the snapshot row, its sites, its blocks (with the leak scan's verdicts
 * when there was one), the edges among its unreachable blocks and its mappings.  What has
 * been written is remembered by watermarks (the first id not yet written), which a forked child
 * resets: it writes a database of its own, from the start.
 *
 * Frames are numbered here: a hash table maps each return address seen in a written stack to
 * its frame id (open addressing, at most half full, keys never 0).
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
static uint32_t py_code_written;		/* py_code ids <= this are in the file */
static uint32_t py_code_pending;		/* ... once the current write commits */
static uint32_t stacks_written;		/* stack ids <= stacks_written are in the file */
static uint32_t threads_written;	/* thread numbers <= threads_written are in the file */
static int snapshots_written;		/* snapshot ids <= snapshots_written are in the file */
static uintptr_t *frame_pcs;		/* hash table: return addresses, 0 = empty */
static uint32_t *frame_ids;		/* their frame ids */
static size_t frame_cap;		/* slots, a power of two */
static uint32_t frames_n;		/* frame ids handed out (all written) */
static char store_error[PATH_MAX + 600];		/* the cause of the last failure */

/* The statements of one write, prepared for each connection. */
enum {
	ST_MODULE, ST_FRAME, ST_STACK, ST_STACK_FRAME, ST_THREAD, ST_SNAPSHOT, ST_SITE, ST_BLOCK,
	ST_EDGE, ST_MAPPING, ST_PY_CODE, ST_PY_FRAME, ST_N
};
static const char *const store_sql[ST_N] = {
	"INSERT INTO modules VALUES (?,?,?,?,?,?)",
	"INSERT INTO frames VALUES (?,?,?,?)",
	"INSERT INTO stacks VALUES (?,?,?,?)",
	"INSERT INTO stack_frames VALUES (?,?,?)",
	"INSERT INTO threads VALUES (?,?)",
	"INSERT INTO snapshots VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
	"INSERT INTO sites VALUES (?,?,?,?,?,?,?,?,?)",
	"INSERT INTO blocks VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	"INSERT INTO edges VALUES (?,?,?,?,?)",
	"INSERT INTO mappings VALUES (?,?,?,?,?,?,?)",
	"INSERT INTO py_code VALUES (?,?,?,?)",
	"INSERT INTO py_frames VALUES (?,?,?,?)",
};

static const char *const store_domain[] = { HS_DOMAIN_RAW, HS_DOMAIN_MEM, HS_DOMAIN_OBJ };

/* Sets the cause of a failure from DB's last error. */
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
	snprintf(sql, sizeof sql, "PRAGMA application_id=%d; PRAGMA user_version=%d; BEGIN;",
	    HS_APPLICATION_ID, HS_SCHEMA_VERSION);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, hs_schema_sql, NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	if (sqlite3_prepare_v2(db, "INSERT INTO process VALUES (?,?,?,?,?,?,?,?,?)", -1, &st,
	    NULL) != SQLITE_OK)
		goto fail;
	store_argv(argv, sizeof argv);
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	exe[n > 0 ? n : 0] = '\0';
	sqlite3_bind_int64(st, 1, hs_pid);
	sqlite3_bind_int64(st, 2, getppid());
	sqlite3_bind_text(st, 3, argv, -1, SQLITE_STATIC);
	if (n > 0)
		sqlite3_bind_text(st, 4, exe, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 5, hs_start_time);
	sqlite3_bind_text(st, 6, PACKAGE_VERSION, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 7, hs_cfg.depth);
	if (py.minor != 0)
		sqlite3_bind_text(st, 8, py.version, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 9, py.minor != 0 ? py.depth : 0);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_close(db);
	store_pid = hs_pid;
	modules_written = stacks_written = threads_written = py_code_written = 0;
	snapshots_written = 0;
	frames_n = 0;
	if (frame_pcs != NULL) {
		memset(frame_pcs, 0, frame_cap * sizeof *frame_pcs);
		memset(frame_ids, 0, frame_cap * sizeof *frame_ids);
	}
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

	while (frame_pcs[i] != 0 && frame_pcs[i] != pc)
		i = (i + 1) & mask;
	return i;
}

/* Makes room for one more frame; -1 if out of memory. */
static int
store_frame_room(void)
{
	uintptr_t *opcs = frame_pcs;
	uint32_t *oids = frame_ids;
	size_t ocap = frame_cap, i, j;

	if (2 * ((size_t)frames_n + 1) <= frame_cap)
		return 0;
	frame_cap = ocap ? ocap * 2 : 65536;
	frame_pcs = mem_map(frame_cap * sizeof *frame_pcs);
	frame_ids = mem_map(frame_cap * sizeof *frame_ids);
	if (frame_pcs == NULL || frame_ids == NULL) {
		mem_unmap(frame_pcs, frame_cap * sizeof *frame_pcs);
		mem_unmap(frame_ids, frame_cap * sizeof *frame_ids);
		frame_pcs = opcs;
		frame_ids = oids;
		frame_cap = ocap;
		return -1;
	}
	for (i = 0; i < ocap; i++) {
		if (opcs[i] == 0)
			continue;
		j = store_frame_slot(opcs[i]);
		frame_pcs[j] = opcs[i];
		frame_ids[j] = oids[i];
	}
	mem_unmap(opcs, ocap * sizeof *opcs);
	mem_unmap(oids, ocap * sizeof *oids);
	return 0;
}

/* Runs a bound statement to completion and resets it; returns 0 or -1. */
static int
store_step(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Writes the modules not yet in the file. */
static int
store_modules(sqlite3_stmt *st)
{
	const struct module *m;
	uint32_t i, n;
	int rc = 0;

	modules_hold();
	n = modules_count();
	for (i = modules_written; i < n && rc == 0; i++) {
		m = modules_get(i);
		sqlite3_bind_int64(st, 1, m->id);
		sqlite3_bind_text(st, 2, m->path, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)m->base);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)m->start);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)m->end);
		if (m->build_id[0] != '\0')
			sqlite3_bind_text(st, 6, m->build_id, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 6);
		rc = store_step(st);
	}
	modules_release();
	return rc;
}

/* Returns the frame id of PC, writing a new frame row if needed; 0 on failure. */
static uint32_t
store_frame(sqlite3_stmt *st, uintptr_t pc)
{
	const struct module *m;
	size_t i;

	if (store_frame_room() != 0)
		return 0;
	i = store_frame_slot(pc);
	if (frame_pcs[i] == pc)
		return frame_ids[i];
	sqlite3_bind_int64(st, 1, frames_n + 1);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)pc);
	if ((m = modules_find(pc)) != NULL) {
		sqlite3_bind_int64(st, 3, m->id);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)(pc - m->base));
	} else {
		sqlite3_bind_null(st, 3);
		sqlite3_bind_null(st, 4);
	}
	if (store_step(st) != 0)
		return 0;
	frame_pcs[i] = pc;
	frame_ids[i] = ++frames_n;
	return frames_n;
}

/* Writes the Python code objects not yet in the file. */
static int
store_py_code(sqlite3_stmt *st)
{
	const struct py_code *c;
	uint32_t id, n = py_code_count();

	for (id = py_code_written + 1; id <= n; id++) {
		c = py_code_get(id);
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, c->filename, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, c->name, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, c->firstlineno);
		if (store_step(st) != 0)
			return -1;
	}
	py_code_pending = n;
	return 0;
}

/* Writes the Python frames FRAMES[0..N) of stack ID (code id << 32 | instruction offset each). */
static int
store_py_frames(sqlite3_stmt *st, uint32_t id, const uintptr_t *frames, int n)
{
	int level;

	for (level = 0; level < n; level++) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int(st, 2, level);
		sqlite3_bind_int64(st, 3, frames[level] >> 32);
		sqlite3_bind_int(st, 4, py_line(py_code_get(frames[level] >> 32), (uint32_t)frames[level]));
		if (store_step(st) != 0)
			return -1;
	}
	return 0;
}

/* Writes the stacks (and their frames) not yet in the file, up to NSTACKS. */
static int
store_stacks(sqlite3_stmt **st, uint32_t nstacks)
{
	const uintptr_t *pcs;
	uint32_t id, f;
	int all, depth, level, rc = 0, npy, domain;

	if (store_py_code(st[ST_PY_CODE]) != 0)
		return -1;
	modules_hold();
	for (id = stacks_written + 1; id <= nstacks && rc == 0; id++) {
		pcs = stack_get(id, &all);
		depth = stack_split(pcs, all, &domain);
		npy = depth < all ? all - depth - 1 : 0;
		sqlite3_bind_int64(st[ST_STACK], 1, id);
		sqlite3_bind_int(st[ST_STACK], 2, depth);
		if (domain != PY_NONE)
			sqlite3_bind_text(st[ST_STACK], 3, store_domain[domain], -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st[ST_STACK], 3);
		sqlite3_bind_int(st[ST_STACK], 4, npy);
		if ((rc = store_step(st[ST_STACK])) != 0)
			break;
		for (level = 0; level < depth; level++) {
			if ((f = store_frame(st[ST_FRAME], pcs[level])) == 0) {
				rc = -1;
				break;
			}
			sqlite3_bind_int64(st[ST_STACK_FRAME], 1, id);
			sqlite3_bind_int(st[ST_STACK_FRAME], 2, level);
			sqlite3_bind_int64(st[ST_STACK_FRAME], 3, f);
			if ((rc = store_step(st[ST_STACK_FRAME])) != 0)
				break;
		}
		if (rc == 0 && npy > 0)
			rc = store_py_frames(st[ST_PY_FRAME], id, pcs + depth + 1, npy);
	}
	modules_release();
	return rc;
}

/* Binds the Python columns (11..15) of a scanned block's row from V. */
static void
store_py_verdict(sqlite3_stmt *s, const struct scan_verdict *v)
{
	int col;

	for (col = 11; col <= 15; col++)
		sqlite3_bind_null(s, col);
	if (v->py_garbage < 0)
		return;
	if (v->py_type != NULL) {
		sqlite3_bind_text(s, 11, v->py_type, -1, SQLITE_STATIC);
		if (v->py_refcnt >= 0)
			sqlite3_bind_int64(s, 12, v->py_refcnt);
		sqlite3_bind_int64(s, 13, v->py_refs);
	}
	sqlite3_bind_int(s, 14, v->py_garbage);
	if (v->py_cycle != 0)
		sqlite3_bind_int64(s, 15, v->py_cycle);
}

/* Formats the lifetime histogram C as a JSON object into OUT. */
static void
store_lifetimes(const struct site_counts *c, char *out, size_t cap)
{
	size_t n = 0;
	int b, k;

	out[n++] = '{';
	for (b = 0; b < HS_HIST; b++) {
		if (c->hist[b] == 0)
			continue;
		k = snprintf(out + n, cap - n, "%s\"%d\":%llu", n > 1 ? "," : "", b,
		    (unsigned long long)c->hist[b]);
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
store_rows(sqlite3_stmt **st, struct snap_data *d, int id)
{
	struct site_counts *c;
	char lifetimes[2048];
	uint64_t mapped = 0, nmaps = 0;
	uint32_t i;
	size_t k;
	sqlite3_stmt *s;

	for (i = threads_written + 1; i <= d->nthreads; i++) {
		sqlite3_bind_int64(st[ST_THREAD], 1, i);
		sqlite3_bind_int64(st[ST_THREAD], 2, d->tids[i]);
		if (store_step(st[ST_THREAD]) != 0)
			return -1;
	}
	s = st[ST_SNAPSHOT];
	sqlite3_bind_int(s, 1, id);
	if (d->label != NULL)
		sqlite3_bind_text(s, 2, d->label, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 2);
	sqlite3_bind_text(s, 3, d->trigger, -1, SQLITE_STATIC);
	sqlite3_bind_double(s, 4, d->time);
	sqlite3_bind_double(s, 5, d->elapsed);
	sqlite3_bind_int64(s, 6, d->live_bytes);
	sqlite3_bind_int64(s, 7, d->live_blocks);
	for (k = 0; k < d->nmaps; k++) {
		if (d->maps[k].stack <= d->nstacks) {
			mapped += d->maps[k].size;
			nmaps++;
		}
	}
	sqlite3_bind_int64(s, 8, (sqlite3_int64)mapped);
	sqlite3_bind_int64(s, 9, nmaps);
	sqlite3_bind_int64(s, 10, d->total_allocs);
	sqlite3_bind_int64(s, 11, d->total_frees);
	sqlite3_bind_int(s, 12, d->full);
	sqlite3_bind_int(s, 13, d->scanned);
	if (store_step(s) != 0)
		return -1;

	s = st[ST_SITE];
	for (i = 1; i <= d->nstacks; i++) {
		c = &d->sites[i];
		if (c->allocs == 0)
			continue;
		store_lifetimes(c, lifetimes, sizeof lifetimes);
		sqlite3_bind_int(s, 1, id);
		sqlite3_bind_int64(s, 2, i);
		sqlite3_bind_int64(s, 3, c->alloc_bytes - c->freed_bytes);
		sqlite3_bind_int64(s, 4, c->allocs - c->frees);
		sqlite3_bind_int64(s, 5, c->allocs);
		sqlite3_bind_int64(s, 6, c->frees);
		sqlite3_bind_int64(s, 7, c->alloc_bytes);
		sqlite3_bind_int64(s, 8, c->temporaries);
		sqlite3_bind_text(s, 9, lifetimes, -1, SQLITE_STATIC);
		if (store_step(s) != 0)
			return -1;
	}

	/* The blocks come sorted by address: the table's order, so inserts append. */
	s = st[ST_BLOCK];
	for (k = 0; k < d->nblocks; k++) {
		const struct block *b = &d->blocks[k];

		sqlite3_bind_int(s, 1, id);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)b->addr);
		sqlite3_bind_int64(s, 3, b->size);
		sqlite3_bind_int64(s, 4, b->stack);
		sqlite3_bind_int64(s, 5, b->thread);
		sqlite3_bind_double(s, 6, d->now > b->birth ? clock_ticks_to_sec(d->now - b->birth) : 0);
		if (d->scanned) {
			const struct scan_verdict *v = &d->verdicts[k];

			sqlite3_bind_text(s, 7, store_leak[v->leak], -1, SQLITE_STATIC);
			if (v->cycle != 0)
				sqlite3_bind_int64(s, 8, v->cycle);
			else
				sqlite3_bind_null(s, 8);
			sqlite3_bind_int64(s, 9, v->root_refs);
			sqlite3_bind_int64(s, 10, v->block_refs);
			store_py_verdict(s, v);
		}
		if (store_step(s) != 0)
			return -1;
	}

	s = st[ST_EDGE];
	for (k = 0; k < d->nedges; k++) {
		const struct scan_edge *e = &d->edges[k];

		sqlite3_bind_int(s, 1, id);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)d->blocks[e->from].addr);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)e->offset);
		sqlite3_bind_int64(s, 4, (sqlite3_int64)d->blocks[e->to].addr);
		sqlite3_bind_int(s, 5, e->interior);
		if (store_step(s) != 0)
			return -1;
	}

	s = st[ST_MAPPING];
	for (k = 0; k < d->nmaps; k++) {
		const struct mapping *m = &d->maps[k];

		if (m->stack > d->nstacks)
			continue;	/* made after the world lock: the next snapshot has it */
		sqlite3_bind_int(s, 1, id);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)m->addr);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)m->size);
		sqlite3_bind_int(s, 4, m->prot);
		sqlite3_bind_int(s, 5, m->flags);
		sqlite3_bind_int64(s, 6, m->stack);
		sqlite3_bind_text(s, 7, m->pyarena ? HS_MAPPING_PYARENA : HS_MAPPING_MMAP, -1,
		    SQLITE_STATIC);
		if (store_step(s) != 0)
			return -1;
	}
	return 0;
}

/*
 * Writes snapshot D in one transaction, creating the database first if this process has none.
 * Returns the snapshot id; or, with *CAUSE set and nothing of this snapshot in the file, -2 if
 * another process kept the database locked, -1 for any other failure.
 */
int
store_write(struct snap_data *d, char **cause)
{
	sqlite3_stmt *st[ST_N] = { NULL };
	sqlite3 *db = NULL;
	const char *what = "cannot open the database";
	int i, busy, id = snapshots_written + 1;

	if ((store_path[0] == '\0' || store_pid != hs_pid) && store_create(cause) != 0)
		return -1;
	if (sqlite3_open_v2(store_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW,
	    NULL) != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(db, 5000);
	what = "cannot write a snapshot";
	if (sqlite3_exec(db, "PRAGMA synchronous=OFF; BEGIN IMMEDIATE", NULL, NULL, NULL) !=
	    SQLITE_OK)
		goto fail;
	for (i = 0; i < ST_N; i++) {
		if (sqlite3_prepare_v2(db, store_sql[i], -1, &st[i], NULL) != SQLITE_OK)
			goto fail;
	}
	if (store_modules(st[ST_MODULE]) != 0 || store_stacks(st, d->nstacks) != 0 ||
	    store_rows(st, d, id) != 0)
		goto fail;
	for (i = 0; i < ST_N; i++)
		sqlite3_finalize(st[i]);
	if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		memset(st, 0, sizeof st);
		goto fail;
	}
	sqlite3_close(db);
	modules_written = modules_count();
	stacks_written = d->nstacks;
	py_code_written = py_code_pending;
	threads_written = d->nthreads;
	snapshots_written = id;
	return id;
fail:
	*cause = store_fail(db, what);
	busy = db != NULL && sqlite3_errcode(db) == SQLITE_BUSY;
	for (i = 0; i < ST_N; i++)
		sqlite3_finalize(st[i]);
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(db);
	/* Locked by a reader for long: nothing was written, the next snapshot may do. */
	return busy ? -2 : -1;
}

/* In a forked child: the next snapshot creates the child's own database. */
void
store_atfork_child(void)
{
	store_path[0] = '\0';
	store_forked = 1;
}
