/*
 * Offline symbolization of the frames in a heapscope database, with a cache in its symbols
 * table.  See symbols.c.
 */
#ifndef SYMBOLS_H
#define SYMBOLS_H

#include <stddef.h>
#include <stdint.h>

struct db;
struct symtab;
struct sym_dso;

/* One row of the modules table. */
struct sym_module {
	int64_t		 id;		/* modules.id */
	char		*path;		/* modules.path; the executable's path when that is empty */
	int64_t		 base;		/* modules.base: runtime address = file address + base */
	char		*build_id;	/* modules.build_id in lower-case hex, NULL if none */
	int		 allocator;	/* 1 for libc.so.6, ld-linux-x86-64.so.2, libheapscope.so */
	int		 state;		/* SYM_MODULE_*: whether its frames can be symbolized */
	struct sym_dso	*dso;		/* the file it names, opened on first use */
};
#define SYM_MODULE_UNCHECKED 0	/* file not looked at yet */
#define SYM_MODULE_OK 1		/* file opened and its build-id matches */
#define SYM_MODULE_UNUSABLE 2	/* file missing, unreadable or another build */

/*
 * What is known about one inline level of a frame.  A frame's levels run from the innermost
 * inlined function (levels[0], whose line is the one executing) out to the real function
 * (levels[nlevels - 1]); the line of each outer level is where it calls the level inside it.
 */
struct sym_level {
	char	*function;	/* demangled function name, NULL if unknown */
	char	*file;		/* source file as DWARF names it (usually absolute), NULL if unknown */
	int	 line;		/* source line, 0 if unknown */
};

/* One row of the frames table, with its symbols once resolved. */
struct sym_frame {
	int64_t			 id;		/* frames.id */
	int64_t			 address;	/* runtime return address */
	int64_t			 offset;	/* file address of the return address in module */
	struct sym_module	*module;	/* module holding it, NULL if none did */
	int			 resolved;	/* 1 once levels are known (there may be none) */
	unsigned int		 nlevels;	/* number of levels; 0 when nothing is known */
	struct sym_level	*levels;	/* innermost inline level first */
	int			 scanning;	/* 1 while a scan of the cache looks for it */
	void			*data;		/* for the caller: symtab never touches it */
	struct sym_frame	*next;		/* next frame in the same hash bucket */
};

struct symtab		*symtab_open(struct db *, char **);
void			 symtab_close(struct symtab *);
struct sym_frame	*symtab_frame(struct symtab *, int64_t, char **);
int			 symtab_resolve(struct symtab *, struct sym_frame **, size_t, char **);
void			 symtab_flush(struct symtab *);
int			 symtab_allocator(const struct sym_frame *);

#endif
