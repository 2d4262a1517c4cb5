/*
 * Offline symbolization of the frames of a heapscope database, cached in its symbols table.
 *
 * A frame is a return address inside a module (a row of modules: path, load base, build-id); its
 * offset is the file address, the same in every process that loaded the file.  Each distinct file
 * gets its own libdwfl session (struct sym_dso) in which the file is reported at bias 0, so frames
 * are looked up by offset and modules that were loaded at overlapping addresses at different
 * times never collide.  A frame is looked up at offset - 1, inside the call instruction, because
 * the address after a call can belong to the next line or even the next function.  One lookup
 * gives the chain of inline levels from DWARF scopes: the innermost inlined function with the
 * line executing, then each caller with the line of its call, out to the real function.
 *
 * Frames are loaded from the database on first use into a hash table keyed by frame id, and
 * resolved only when a command asks (symtab_resolve), in batches: first from the symbols table,
 * then with libdwfl for what was not cached.  The results from libdwfl are written back in one
 * transaction by symtab_flush (when the database is writable), so the next report needs no
 * debug information at all.  What may change, a module whose file is missing or belongs to
 * another build, is not cached.
 *
 * A report on a large snapshot may need a good part of the frames table.  Past SYM_BULK_MIN
 * frames and a SYM_BULK_SHARE-th of the table, frames are loaded by one scan of the frames
 * table, and a batch that large reads the cache by one scan of the symbols table: a query per
 * frame costs ten times a row of a scan.
 *
 * Frames, their levels and strings live in the symtab's arena, freed at once by symtab_close.
 *
 * Invariants: nframes == number of frames in buckets; nbuckets is a power of two;
 * modules[] is sorted by id.
 */
#include "analyzer.h"

#include <dlfcn.h>
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "symbols.h"

/*
 * When reading a whole table beats a query per frame: when at least SYM_BULK_MIN frames are
 * wanted and at least 1 / SYM_BULK_SHARE of the frames table.  Memory stays bounded by the
 * frames table, which grows with the program's code, never with its blocks.
 */
#define SYM_BULK_MIN 4096
#define SYM_BULK_SHARE 8

/* An object file opened for symbolization: one per distinct path. */
struct sym_dso {
	char		*path;		/* file name */
	Dwfl		*dwfl;		/* its own libdwfl session */
	Dwfl_Module	*mod;		/* the file reported at bias 0, NULL if it could not be */
	char		*build_id;	/* the file's GNU build-id in lower-case hex, NULL if none */
	char		*error;		/* why mod is NULL */
	int		 warned;	/* 1 once a warning about this file has been printed */
	struct sym_dso	*next;		/* next in symtab.dsos */
};

/* The signature of __cxa_demangle in libstdc++. */
typedef char *(*sym_demangler)(const char *, char *, size_t *, int *);

/* Everything known about the frames of one database. */
struct symtab {
	struct db		*db;		/* the database the frames come from */
	struct sym_module	*modules;	/* the modules table, sorted by id */
	size_t			 nmodules;	/* entries in modules */
	struct sym_dso		*dsos;		/* files opened so far */
	struct sym_frame	**buckets;	/* hash table of the frames loaded, by id */
	size_t			 nbuckets;	/* size of buckets, a power of two */
	size_t			 nframes;	/* frames in buckets */
	int64_t			 table_frames;	/* max(frames.id), about its rows; -1 until read */
	size_t			 lookups;	/* frames loaded one query each */
	int			 all_loaded;	/* 1 once every frame of the table is loaded */
	struct arena		 arena;		/* the frames, their levels and strings */
	sqlite3_stmt		*frame_stmt;	/* loads one frame by id */
	sqlite3_stmt		*cache_stmt;	/* reads the cached symbols of one frame */
	sqlite3_stmt		*insert_stmt;	/* caches one inline level; prepared on first use */
	struct sym_frame	**pending;	/* frames symbolized but not yet cached */
	size_t			 npending;	/* entries in pending */
	size_t			 apending;	/* allocated entries in pending */
	int			 cache;		/* 1 while results may be written to the database */
	int			 demangle_tried; /* 1 once libstdc++ has been looked for */
	sym_demangler		 demangle;	/* __cxa_demangle, NULL if libstdc++ is missing */
	void			*libstdcxx;	/* dlopen handle of libstdc++, NULL if not loaded */
};

/* The file names whose frames are the allocator's or heapscope's own, not the program's. */
static const char *const sym_allocator_files[] = {
	"libc.so.6",
	"ld-linux-x86-64.so.2",
	"libheapscope.so",
	NULL
};

/* Search path for separate debug files: NULL means libdwfl's default (/usr/lib/debug, ...). */
static char *sym_debuginfo_path;

static const Dwfl_Callbacks sym_callbacks = {
	.find_elf = dwfl_build_id_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.section_address = dwfl_offline_section_address,
	.debuginfo_path = &sym_debuginfo_path
};

/* Returns the last component of PATH. */
static const char *
sym_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

/* Returns the hex of the LEN bytes at BITS, in a new string. */
static char *
sym_hex(const unsigned char *bits, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *s = xmalloc(2 * len + 1);
	size_t i;

	for (i = 0; i < len; i++) {
		s[2 * i] = digits[bits[i] >> 4];
		s[2 * i + 1] = digits[bits[i] & 0xf];
	}
	s[2 * len] = '\0';
	return s;
}

/* Returns NAME demangled if it is a mangled C++ name and libstdc++ can be found, in a new string. */
static char *
sym_demangle(struct symtab *st, const char *name)
{
	char *s;
	int status;

	if (strncmp(name, "_Z", 2) != 0)
		return xstrdup(name);
	if (!st->demangle_tried) {
		st->demangle_tried = 1;
		st->libstdcxx = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
		if (st->libstdcxx != NULL)
			st->demangle = (sym_demangler)dlsym(st->libstdcxx, "__cxa_demangle");
	}
	if (st->demangle != NULL) {
		s = st->demangle(name, NULL, NULL, &status);
		if (s != NULL && status == 0)
			return s;
		free(s);
	}
	return xstrdup(name);
}

/* Returns the hash bucket of frame ID. */
static size_t
sym_bucket(const struct symtab *st, int64_t id)
{
	return (size_t)(((uint64_t)id * 0x9e3779b97f4a7c15ULL) >> 32) & (st->nbuckets - 1);
}

/* Doubles the hash table. */
static void
sym_grow(struct symtab *st)
{
	struct sym_frame **old = st->buckets, *f, *next;
	size_t nold = st->nbuckets, i, b;

	st->nbuckets *= 2;
	st->buckets = xcalloc(st->nbuckets, sizeof *st->buckets);
	for (i = 0; i < nold; i++) {
		for (f = old[i]; f != NULL; f = next) {
			next = f->next;
			b = sym_bucket(st, f->id);
			f->next = st->buckets[b];
			st->buckets[b] = f;
		}
	}
	free(old);
}

/* Compares modules by id, for bsearch and qsort. */
static int
sym_module_cmp(const void *a, const void *b)
{
	const struct sym_module *ma = a, *mb = b;

	return ma->id < mb->id ? -1 : ma->id > mb->id;
}

/* Returns the module with id ID, or NULL. */
static struct sym_module *
sym_module_find(struct symtab *st, int64_t id)
{
	struct sym_module key;

	key.id = id;
	return bsearch(&key, st->modules, st->nmodules, sizeof *st->modules, sym_module_cmp);
}

/* Loads the modules table into ST; returns 0, or -1 with *CAUSE set. */
static int
sym_load_modules(struct symtab *st, char **cause)
{
	sqlite3_stmt *stmt;
	struct sym_module *m;
	const char *path, *build_id;
	char *executable = NULL;
	const char *const *name;
	size_t alloc = 0, i;
	int rc;

	stmt = db_prepare(st->db, "SELECT executable FROM process LIMIT 1", cause);
	if (stmt == NULL)
		return -1;
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL)
		executable = xstrdup((const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		*cause = db_cause(st->db, rc);
		return -1;
	}

	stmt = db_prepare(st->db, "SELECT id, path, base, build_id FROM modules ORDER BY id", cause);
	if (stmt == NULL) {
		free(executable);
		return -1;
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (st->nmodules == alloc) {
			alloc = alloc == 0 ? 64 : alloc * 2;
			st->modules = xreallocarray(st->modules, alloc, sizeof *st->modules);
		}
		m = &st->modules[st->nmodules++];
		memset(m, 0, sizeof *m);
		m->id = sqlite3_column_int64(stmt, 0);
		path = (const char *)sqlite3_column_text(stmt, 1);
		/* The dynamic loader names the main program "". */
		if (path == NULL || *path == '\0')
			path = executable != NULL ? executable : "";
		m->path = xstrdup(path);
		m->base = sqlite3_column_int64(stmt, 2);
		build_id = (const char *)sqlite3_column_text(stmt, 3);
		if (build_id != NULL && *build_id != '\0') {
			m->build_id = xstrdup(build_id);
			for (i = 0; m->build_id[i] != '\0'; i++) {
				if (m->build_id[i] >= 'A' && m->build_id[i] <= 'F')
					m->build_id[i] += 'a' - 'A';
			}
		}
		for (name = sym_allocator_files; *name != NULL; name++) {
			if (strcmp(sym_basename(m->path), *name) == 0)
				m->allocator = 1;
		}
	}
	sqlite3_finalize(stmt);
	free(executable);
	if (rc != SQLITE_DONE) {
		*cause = db_cause(st->db, rc);
		return -1;
	}
	/* ORDER BY id already sorted them, unless ids were stored as text: make sure. */
	qsort(st->modules, st->nmodules, sizeof *st->modules, sym_module_cmp);
	return 0;
}

/*
 * Prepares symbolization of the frames of DB, which must stay open until symtab_close.  Returns
 * the table, or NULL with *CAUSE set.
 */
struct symtab *
symtab_open(struct db *db, char **cause)
{
	struct symtab *st;

	st = xcalloc(1, sizeof *st);
	st->db = db;
	st->cache = db->writable;
	st->table_frames = -1;
	st->nbuckets = 1024;
	st->buckets = xcalloc(st->nbuckets, sizeof *st->buckets);
	if (sym_load_modules(st, cause) != 0)
		goto fail;
	st->frame_stmt = db_prepare(db,
	    "SELECT address, module_id, offset FROM frames WHERE id = ?1", cause);
	if (st->frame_stmt == NULL)
		goto fail;
	st->cache_stmt = db_prepare(db, "SELECT function, file, line FROM symbols"
	    " WHERE frame_id = ?1 ORDER BY inline_level", cause);
	if (st->cache_stmt == NULL)
		goto fail;
	return st;
fail:
	symtab_close(st);
	return NULL;
}

/* Forgets the levels of F (their memory is the arena's, freed by symtab_close). */
static void
sym_levels_clear(struct sym_frame *f)
{
	f->levels = NULL;
	f->nlevels = 0;
}

/* Caches what symtab_flush has not, then frees ST and every frame it returned. */
void
symtab_close(struct symtab *st)
{
	struct sym_dso *d, *dnext;
	size_t i;

	if (st == NULL)
		return;
	symtab_flush(st);
	free(st->pending);
	arena_free(&st->arena);
	free(st->buckets);
	for (d = st->dsos; d != NULL; d = dnext) {
		dnext = d->next;
		if (d->dwfl != NULL)
			dwfl_end(d->dwfl);
		free(d->path);
		free(d->build_id);
		free(d->error);
		free(d);
	}
	for (i = 0; i < st->nmodules; i++) {
		free(st->modules[i].path);
		free(st->modules[i].build_id);
	}
	free(st->modules);
	sqlite3_finalize(st->frame_stmt);
	sqlite3_finalize(st->cache_stmt);
	sqlite3_finalize(st->insert_stmt);
	if (st->libstdcxx != NULL)
		dlclose(st->libstdcxx);
	free(st);
}

/* Returns the loaded frame with id ID, or NULL. */
static struct sym_frame *
sym_frame_find(struct symtab *st, int64_t id)
{
	struct sym_frame *f;

	for (f = st->buckets[sym_bucket(st, id)]; f != NULL; f = f->next) {
		if (f->id == id)
			return f;
	}
	return NULL;
}

/*
 * Adds the frame with id ID to the hash table, from the address, module_id and offset columns
 * of the row of STMT at column COL; returns it.
 */
static struct sym_frame *
sym_frame_add(struct symtab *st, int64_t id, sqlite3_stmt *stmt, int col)
{
	struct sym_frame *f;
	size_t b;

	f = arena_alloc(&st->arena, sizeof *f);
	f->id = id;
	f->address = sqlite3_column_int64(stmt, col);
	if (sqlite3_column_type(stmt, col + 1) != SQLITE_NULL)
		f->module = sym_module_find(st, sqlite3_column_int64(stmt, col + 1));
	if (f->module == NULL)
		f->offset = f->address;
	else if (sqlite3_column_type(stmt, col + 2) != SQLITE_NULL)
		f->offset = sqlite3_column_int64(stmt, col + 2);
	else
		f->offset = f->address - f->module->base;

	b = sym_bucket(st, id);
	f->next = st->buckets[b];
	st->buckets[b] = f;
	if (++st->nframes > st->nbuckets)
		sym_grow(st);
	return f;
}

/*
 * Returns max(frames.id), about the number of rows of the frames table, reading it on first
 * use; -1 with *CAUSE set on error.
 */
static int64_t
sym_table_frames(struct symtab *st, char **cause)
{
	sqlite3_stmt *stmt;
	int rc;

	if (st->table_frames >= 0)
		return st->table_frames;
	if ((stmt = db_prepare(st->db, "SELECT max(id) FROM frames", cause)) == NULL)
		return -1;
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		st->table_frames = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW) {
		*cause = db_cause(st->db, rc);
		return -1;
	}
	return st->table_frames;
}

/* Returns 1 if wanting N frames is worth reading a whole table, 0 if not, -1 with *CAUSE set. */
static int
sym_bulk(struct symtab *st, size_t n, char **cause)
{
	int64_t rows;

	if (n < SYM_BULK_MIN)
		return 0;
	if ((rows = sym_table_frames(st, cause)) < 0)
		return -1;
	return (int64_t)n >= rows / SYM_BULK_SHARE;
}

/* Loads every frame of the table not loaded yet, in one scan; returns 0 or -1 with *CAUSE. */
static int
sym_load_all(struct symtab *st, char **cause)
{
	sqlite3_stmt *stmt;
	int64_t id;
	int rc;

	stmt = db_prepare(st->db, "SELECT id, address, module_id, offset FROM frames", cause);
	if (stmt == NULL)
		return -1;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		id = sqlite3_column_int64(stmt, 0);
		if (sym_frame_find(st, id) == NULL)
			sym_frame_add(st, id, stmt, 1);
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		*cause = db_cause(st->db, rc);
		return -1;
	}
	st->all_loaded = 1;
	return 0;
}

/*
 * Returns the frame with id ID, loading it from the frames table on first use (or the whole
 * table, once enough frames were wanted); NULL with *CAUSE set if the database has no such
 * frame or cannot be read.
 */
struct sym_frame *
symtab_frame(struct symtab *st, int64_t id, char **cause)
{
	struct sym_frame *f;
	int rc, bulk;

	if ((f = sym_frame_find(st, id)) != NULL)
		return f;
	if (!st->all_loaded) {
		if ((bulk = sym_bulk(st, ++st->lookups, cause)) < 0)
			return NULL;
		if (bulk) {
			if (sym_load_all(st, cause) != 0)
				return NULL;
			if ((f = sym_frame_find(st, id)) != NULL)
				return f;
		}
	}

	sqlite3_bind_int64(st->frame_stmt, 1, id);
	rc = sqlite3_step(st->frame_stmt);
	if (rc != SQLITE_ROW) {
		if (rc == SQLITE_DONE)
			*cause = xasprintf("%s: corrupt database (no frame %lld)",
			    quote(st->db->path), (long long)id);
		else
			*cause = db_cause(st->db, rc);
		sqlite3_reset(st->frame_stmt);
		return NULL;
	}
	f = sym_frame_add(st, id, st->frame_stmt, 0);
	sqlite3_reset(st->frame_stmt);
	return f;
}

/* Returns the file PATH opened for symbolization, opening it on first use. */
static struct sym_dso *
sym_dso_get(struct symtab *st, const char *path)
{
	struct sym_dso *d;
	const unsigned char *bits;
	GElf_Addr vaddr;
	int len;

	for (d = st->dsos; d != NULL; d = d->next) {
		if (strcmp(d->path, path) == 0)
			return d;
	}
	d = xcalloc(1, sizeof *d);
	d->path = xstrdup(path);
	d->next = st->dsos;
	st->dsos = d;

	if ((d->dwfl = dwfl_begin(&sym_callbacks)) == NULL) {
		d->error = xstrdup(dwfl_errmsg(-1));
		return d;
	}
	dwfl_report_begin(d->dwfl);
	/* Bias 0: the addresses libdwfl works with are file addresses, that is frame offsets. */
	d->mod = dwfl_report_elf(d->dwfl, sym_basename(path), path, -1, 0, true);
	if (d->mod == NULL)
		d->error = xstrdup(dwfl_errmsg(-1));
	dwfl_report_end(d->dwfl, NULL, NULL);
	if (d->mod != NULL && (len = dwfl_module_build_id(d->mod, &bits, &vaddr)) > 0)
		d->build_id = sym_hex(bits, len);
	return d;
}

/* Returns 1 if the frames of module M can be symbolized, warning once per file if not. */
static int
sym_module_usable(struct symtab *st, struct sym_module *m)
{
	struct sym_dso *d;

	if (m->state != SYM_MODULE_UNCHECKED)
		return m->state == SYM_MODULE_OK;
	m->state = SYM_MODULE_UNUSABLE;
	/* Names without a slash ("linux-vdso.so.1") are not files: nothing to warn about. */
	if (*m->path == '\0' || strchr(m->path, '/') == NULL)
		return 0;
	d = m->dso = sym_dso_get(st, m->path);
	if (d->mod == NULL) {
		if (!d->warned)
			cmd_warn("%s: %s; its frames are not symbolized", quote(d->path), d->error);
		d->warned = 1;
		return 0;
	}
	if (m->build_id != NULL && (d->build_id == NULL || strcmp(m->build_id, d->build_id) != 0)) {
		if (!d->warned)
			cmd_warn("%s: not the file that was traced (build-id differs); its frames"
			    " are not symbolized", quote(d->path));
		d->warned = 1;
		return 0;
	}
	m->state = SYM_MODULE_OK;
	return 1;
}

/* Returns the name of the function DIE in a new string (demangled), or NULL if it has none. */
static char *
sym_die_name(struct symtab *st, Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *name;

	if ((dwarf_attr_integrate(die, DW_AT_linkage_name, &attr) != NULL ||
	    dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr) != NULL) &&
	    (name = dwarf_formstring(&attr)) != NULL)
		return sym_demangle(st, name);
	if (dwarf_attr_integrate(die, DW_AT_name, &attr) != NULL &&
	    (name = dwarf_formstring(&attr)) != NULL)
		return xstrdup(name);
	return NULL;
}

/* Appends a level to F, with copies of FUNCTION and FILE (either may be NULL). */
static void
sym_add_level(struct symtab *st, struct sym_frame *f, const char *function, const char *file,
    int line)
{
	struct sym_level *l, *levels;

	/* The array doubles at each power of two: 1, 2, 4... levels. */
	if ((f->nlevels & (f->nlevels - 1)) == 0) {
		levels = arena_alloc(&st->arena, (f->nlevels == 0 ? 1 : 2 * f->nlevels) *
		    sizeof *levels);
		if (f->nlevels > 0)
			memcpy(levels, f->levels, f->nlevels * sizeof *levels);
		f->levels = levels;
	}
	l = &f->levels[f->nlevels++];
	l->function = function != NULL ? arena_strdup(&st->arena, function) : NULL;
	l->file = file != NULL ? arena_strdup(&st->arena, file) : NULL;
	l->line = line > 0 ? line : 0;
}

/*
 * Symbolizes F with libdwfl, leaving its levels (maybe none) in F.  Returns 1 if the result is
 * final and may be cached, 0 if it depends on files that may yet appear or change.
 */
static int
sym_compute(struct symtab *st, struct sym_frame *f)
{
	Dwfl_Module *mod;
	Dwfl_Line *dl;
	Dwarf_Die *cudie, *scopes = NULL, *chain = NULL;
	Dwarf_Files *files = NULL;
	Dwarf_Attribute attr;
	Dwarf_Addr bias = 0;
	Dwarf_Word word;
	GElf_Addr pc;
	const char *file = NULL, *symbol;
	char *name;
	size_t nfiles = 0;
	int nscopes = 0, nchain = 0, i, tag, line = 0, inlined = 0;

	if (f->module == NULL)
		return 1;
	if (!sym_module_usable(st, f->module))
		return 0;
	mod = f->module->dso->mod;
	/* A return address: the call is the instruction before it. */
	pc = (GElf_Addr)f->offset - 1;

	if ((dl = dwfl_module_getsrc(mod, pc)) != NULL)
		file = dwfl_lineinfo(dl, NULL, &line, NULL, NULL, NULL);
	if ((cudie = dwfl_module_addrdie(mod, pc, &bias)) != NULL) {
		nscopes = dwarf_getscopes(cudie, pc - bias, &scopes);
		if (dwarf_getsrcfiles(cudie, &files, &nfiles) != 0)
			files = NULL;
	}
	/*
	 * The innermost function scope holding pc.  Past an inlined subroutine, dwarf_getscopes
	 * goes on with the scopes of its abstract definition; the callers are the scopes that
	 * contain the inlined subroutine's own DIE, from dwarf_getscopes_die.
	 */
	for (i = 0; i < nscopes; i++) {
		tag = dwarf_tag(&scopes[i]);
		if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine ||
		    tag == DW_TAG_entry_point)
			break;
	}
	if (i < nscopes && (nchain = dwarf_getscopes_die(&scopes[i], &chain)) < 0)
		nchain = 0;
	for (i = 0; i < nchain; i++) {
		tag = dwarf_tag(&chain[i]);
		if (tag != DW_TAG_subprogram && tag != DW_TAG_inlined_subroutine &&
		    tag != DW_TAG_entry_point)
			continue;
		name = sym_die_name(st, &chain[i]);
		sym_add_level(st, f, name, file, line);
		free(name);
		if (!(inlined = tag == DW_TAG_inlined_subroutine))
			break;
		/* The next level out is where this inlined call was made. */
		file = NULL;
		line = 0;
		if (files != NULL && dwarf_formudata(dwarf_attr(&chain[i], DW_AT_call_file,
		    &attr), &word) == 0 && word < nfiles)
			file = dwarf_filesrc(files, word, NULL, NULL);
		if (dwarf_formudata(dwarf_attr(&chain[i], DW_AT_call_line, &attr), &word) == 0)
			line = (int)word;
	}
	free(chain);
	free(scopes);
	/* Inlined into something DWARF does not describe: a level for the caller's call site. */
	if (inlined)
		sym_add_level(st, f, NULL, file, line);

	/* No DWARF scope: one level from the line table and the ELF symbol table. */
	if (f->nlevels == 0) {
		symbol = dwfl_module_addrname(mod, pc);
		name = symbol != NULL ? sym_demangle(st, symbol) : NULL;
		if (name != NULL || file != NULL)
			sym_add_level(st, f, name, file, line);
		free(name);
	} else if (f->levels[f->nlevels - 1].function == NULL &&
	    (symbol = dwfl_module_addrname(mod, pc)) != NULL) {
		name = sym_demangle(st, symbol);
		f->levels[f->nlevels - 1].function = arena_strdup(&st->arena, name);
		free(name);
	}
	return 1;
}

/*
 * Reads the cached symbols of F; returns 1 if there were some (F is now resolved), 0 if F was
 * never symbolized, -1 with *CAUSE set on a database error.
 */
static int
sym_cache_read(struct symtab *st, struct sym_frame *f, char **cause)
{
	sqlite3_stmt *stmt = st->cache_stmt;
	const char *function, *file;
	int rc, rows = 0;

	sqlite3_bind_int64(stmt, 1, f->id);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		rows++;
		function = (const char *)sqlite3_column_text(stmt, 0);
		file = (const char *)sqlite3_column_text(stmt, 1);
		sym_add_level(st, f, function, file, sqlite3_column_int(stmt, 2));
	}
	sqlite3_reset(stmt);
	if (rc != SQLITE_DONE) {
		sym_levels_clear(f);
		*cause = db_cause(st->db, rc);
		return -1;
	}
	if (rows == 0)
		return 0;
	/* One row of NULLs means the frame was symbolized and nothing was found. */
	if (f->nlevels == 1 && f->levels[0].function == NULL && f->levels[0].file == NULL &&
	    f->levels[0].line == 0)
		sym_levels_clear(f);
	f->resolved = 1;
	return 1;
}

/*
 * Reads the cached symbols of the N frames in FRAMES that are not resolved yet by one scan of the
 * symbols table (in its key order, frame then level), rather than a query each.  The frames
 * found are resolved; the others are left for symtab_resolve to compute.  Returns 0, or -1
 * with *CAUSE set.
 */
static int
sym_cache_scan(struct symtab *st, struct sym_frame **frames, size_t n, char **cause)
{
	sqlite3_stmt *stmt;
	struct sym_frame *f = NULL;
	const char *function, *file;
	int64_t id;
	size_t i;
	int rc = SQLITE_ERROR;

	for (i = 0; i < n; i++) {
		if (!frames[i]->resolved)
			frames[i]->scanning = 1;
	}
	stmt = db_prepare(st->db, "SELECT frame_id, function, file, line FROM symbols", cause);
	while (stmt != NULL && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		id = sqlite3_column_int64(stmt, 0);
		if (f == NULL || f->id != id)
			f = sym_frame_find(st, id);
		if (f == NULL || !f->scanning)
			continue;
		function = (const char *)sqlite3_column_text(stmt, 1);
		file = (const char *)sqlite3_column_text(stmt, 2);
		sym_add_level(st, f, function, file, sqlite3_column_int(stmt, 3));
	}
	if (stmt != NULL) {
		sqlite3_finalize(stmt);
		if (rc != SQLITE_DONE)
			*cause = db_cause(st->db, rc);
	}
	for (i = 0; i < n; i++) {
		f = frames[i];
		if (!f->scanning)
			continue;
		f->scanning = 0;
		if (rc != SQLITE_DONE)
			sym_levels_clear(f);
		else if (f->nlevels > 0) {
			/* One row of NULLs means the frame was symbolized and nothing was found. */
			if (f->nlevels == 1 && f->levels[0].function == NULL &&
			    f->levels[0].file == NULL && f->levels[0].line == 0)
				sym_levels_clear(f);
			f->resolved = 1;
		}
	}
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Binds a text parameter, or NULL. */
static void
sym_bind_text(sqlite3_stmt *stmt, int n, const char *s)
{
	if (s != NULL)
		sqlite3_bind_text(stmt, n, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, n);
}

/* Inserts the levels of F into the symbols table; returns an SQLite result code. */
static int
sym_cache_insert(struct symtab *st, struct sym_frame *f)
{
	sqlite3_stmt *stmt = st->insert_stmt;
	unsigned int i, n = f->nlevels > 0 ? f->nlevels : 1;
	const struct sym_level *l;
	int rc = SQLITE_DONE;

	for (i = 0; i < n && rc == SQLITE_DONE; i++) {
		l = f->nlevels > 0 ? &f->levels[i] : NULL;
		sqlite3_bind_int64(stmt, 1, f->id);
		sqlite3_bind_int(stmt, 2, (int)i);
		sym_bind_text(stmt, 3, l != NULL ? l->function : NULL);
		sym_bind_text(stmt, 4, l != NULL ? l->file : NULL);
		if (l != NULL && l->line > 0)
			sqlite3_bind_int(stmt, 5, l->line);
		else
			sqlite3_bind_null(stmt, 5);
		rc = sqlite3_step(stmt);
		sqlite3_reset(stmt);
	}
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/*
 * Writes the symbols of the N frames in FRAMES to the symbols table in one transaction.  Failure
 * is not an error: the database may be read-only or busy, and the next report will symbolize
 * again.  After one failure ST stops trying.
 */
static void
sym_cache_write(struct symtab *st, struct sym_frame **frames, size_t n)
{
	sqlite3 *sq = st->db->sq;
	size_t i;
	int rc;

	if (st->insert_stmt == NULL && sqlite3_prepare_v2(sq, "INSERT OR IGNORE INTO symbols"
	    " (frame_id, inline_level, function, file, line) VALUES (?1, ?2, ?3, ?4, ?5)", -1,
	    &st->insert_stmt, NULL) != SQLITE_OK) {
		st->cache = 0;
		return;
	}
	if (sqlite3_exec(sq, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		st->cache = 0;
		return;
	}
	rc = SQLITE_OK;
	for (i = 0; i < n && rc == SQLITE_OK; i++)
		rc = sym_cache_insert(st, frames[i]);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(sq, "COMMIT", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_exec(sq, "ROLLBACK", NULL, NULL, NULL);
		st->cache = 0;
	}
}

/*
 * Resolves the symbols of the N frames in FRAMES that are not resolved yet (duplicates are
 * fine): from the cache if it has them, else from the files.  What came from the files waits
 * for symtab_flush to be cached.  Returns 0, or -1 with *CAUSE set if the database cannot be
 * read.
 */
int
symtab_resolve(struct symtab *st, struct sym_frame **frames, size_t n, char **cause)
{
	struct sym_frame *f;
	size_t i, unresolved = 0;
	int found, bulk;

	for (i = 0; i < n; i++)
		unresolved += !frames[i]->resolved;
	if ((bulk = sym_bulk(st, unresolved, cause)) < 0)
		return -1;
	if (bulk && sym_cache_scan(st, frames, n, cause) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		f = frames[i];
		if (f->resolved)
			continue;
		/* After a scan, what is not resolved is not in the cache. */
		if (!bulk) {
			if ((found = sym_cache_read(st, f, cause)) < 0)
				return -1;
			if (found)
				continue;
		}
		f->resolved = 1;
		if (sym_compute(st, f) && st->cache) {
			if (st->npending == st->apending) {
				st->apending = st->apending == 0 ? 256 : st->apending * 2;
				st->pending = xreallocarray(st->pending, st->apending,
				    sizeof *st->pending);
			}
			st->pending[st->npending++] = f;
		}
	}
	return 0;
}

/*
 * Caches the symbols resolved from files since the last flush, in one transaction.  Failure is
 * silent: the next report symbolizes those frames again.
 */
void
symtab_flush(struct symtab *st)
{
	if (st->npending > 0 && st->cache)
		sym_cache_write(st, st->pending, st->npending);
	st->npending = 0;
}

/*
 * Returns 1 if F belongs to the allocator or to heapscope (a frame of libc, the dynamic loader
 * or the preload, or C++ operator new), 0 if it belongs to the program, -1 if that depends on
 * F's function and F is not resolved yet.
 */
int
symtab_allocator(const struct sym_frame *f)
{
	const char *name;

	if (f->module != NULL && f->module->allocator)
		return 1;
	if (!f->resolved)
		return -1;
	if (f->nlevels == 0 || (name = f->levels[f->nlevels - 1].function) == NULL)
		return 0;
	return strncmp(name, "operator new", 12) == 0 || strncmp(name, "_Znw", 4) == 0 ||
	    strncmp(name, "_Zna", 4) == 0;
}
