/*
 * The Python tracebacks of a heapscope database: its py_code and py_tracebacks tables, for the
 * reports that key on Python frames.  See py.c.
 */
#ifndef PY_H
#define PY_H

#include <stdint.h>

struct db;
struct pytab;

/* One row of the py_code table: a CPython code object. */
struct pytab_code {
	int64_t		 id;		/* py_code.id */
	char		*filename;	/* co_filename */
	char		*name;		/* co_qualname */
};

/* A distinct Python frame of the database: a code object and the line it was executing. */
struct py_frame {
	const struct pytab_code	*code;		/* its code object */
	int			 line;		/* line number, 0 if unknown */
	void			*data;		/* for the caller: pytab never touches it */
	struct py_frame		*next;		/* next frame in the same hash bucket */
};

int			 pytab_open(struct db *, struct pytab **, char **);
void			 pytab_close(struct pytab *);
struct py_frame		*pytab_traceback(const struct pytab *, int64_t, int64_t *);

#endif
