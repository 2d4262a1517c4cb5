/*
 * The stacks of a heapscope database: its stacks and stack_nodes tables in memory, from which a
 * report reads each stack's native frames and its Python traceback.  See stacktab.c.
 */
#ifndef STACKTAB_H
#define STACKTAB_H

#include <stdint.h>

struct db;
struct stacktab;

int	 stacktab_open(struct db *, struct stacktab **, char **);
void	 stacktab_close(struct stacktab *);
int	 stacktab_frames(const struct stacktab *, int64_t, uint32_t, uint32_t, int64_t *,
	     uint32_t *, char **);
int64_t	 stacktab_py_traceback(const struct stacktab *, int64_t);

#endif
