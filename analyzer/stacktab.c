/*
 * The stacks of a heapscope database, read at once into memory: for every stack its depth, its
 * innermost node and its Python traceback (the stacks table), and every node of the tree of
 * chunks that holds the native frames (stack_nodes).  Counted from its outermost frame, a
 * stack's frames go HS_STACK_CHUNK to a node, the outermost first, and a node points at the node
 * of the frames outside it; the preload numbers the nodes 1, 2, ... and writes a node's parent
 * before it, so that a walk out through parents ends.  A report then reads a stack's frames from
 * memory, where the stack_frames view would walk the tree in SQL.
 *
 * Invariants: stacks[i] is stack id i + 1; nodes[i] is node id i + 1, its frames are
 * ids[nodes[i].first .. nodes[i].first + nodes[i].n), and nodes[i].parent <= i.
 */
#include "analyzer.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "schema.h"
#include "stacktab.h"

/* A row of stacks. */
struct stacktab_stack {
	uint32_t	 depth;		/* native frames */
	uint32_t	 node;		/* the node of the innermost ones, 0 if none */
	int64_t		 py_traceback;	/* py_tracebacks.id, 0 if none */
};

/* A row of stack_nodes. */
struct stacktab_node {
	uint32_t	 parent;	/* node id of the frames outside, 0 for none */
	uint32_t	 n;		/* frames in it */
	size_t		 first;		/* index of its first (outermost) frame in ids */
};

/* The stacks of one database. */
struct stacktab {
	struct stacktab_stack	*stacks;	/* by id - 1 */
	size_t			 nstacks;	/* entries in stacks */
	size_t			 astacks;	/* allocated */
	struct stacktab_node	*nodes;		/* by id - 1 */
	size_t			 nnodes;	/* entries in nodes */
	size_t			 anodes;	/* allocated */
	int64_t			*ids;		/* the frame ids of every node */
	size_t			 nids;		/* entries in ids */
	size_t			 aids;		/* allocated */
	char			*path;		/* the database's, for messages */
};

/*
 * Parses TEXT, a JSON array of at most HS_STACK_CHUNK positive integers, into OUT; returns their
 * number, or -1 if TEXT is not such an array.
 */
static int
stacktab_parse(const char *text, int64_t *out)
{
	const char *p = text;
	char *end;
	long long v;
	int n = 0;

	if (text == NULL || *p++ != '[')
		return -1;
	while (*p != ']') {
		if (n == HS_STACK_CHUNK || (n > 0 && *p++ != ',') || *p < '1' || *p > '9')
			return -1;
		v = strtoll(p, &end, 10);
		if (v <= 0 || v == LLONG_MAX)
			return -1;
		out[n++] = v;
		p = end;
	}
	return n > 0 && p[1] == '\0' ? n : -1;
}

/* Adds the row of stack_nodes STMT holds to the stacktab T; 0, or -1 with *CAUSE set. */
static int
stacktab_node_row(sqlite3_stmt *stmt, void *arg, char **cause)
{
	struct stacktab *t = arg;
	int64_t chunk[HS_STACK_CHUNK], id, parent;
	int n;

	id = sqlite3_column_int64(stmt, 0);
	parent = sqlite3_column_int64(stmt, 1);
	n = stacktab_parse((const char *)sqlite3_column_text(stmt, 2), chunk);
	if (id != (int64_t)t->nnodes + 1 || parent < 0 || parent >= id || n < 0) {
		*cause = xasprintf("%s: stack_nodes: row %lld is out of order, has a bad parent or"
		    " bad frames", quote(t->path), (long long)id);
		return -1;
	}
	if (t->nnodes == t->anodes) {
		t->anodes = t->anodes == 0 ? 1024 : t->anodes * 2;
		t->nodes = xreallocarray(t->nodes, t->anodes, sizeof *t->nodes);
	}
	while (t->nids + n > t->aids) {
		t->aids = t->aids == 0 ? 8192 : t->aids * 2;
		t->ids = xreallocarray(t->ids, t->aids, sizeof *t->ids);
	}
	t->nodes[t->nnodes].parent = parent;
	t->nodes[t->nnodes].n = n;
	t->nodes[t->nnodes++].first = t->nids;
	memcpy(t->ids + t->nids, chunk, n * sizeof *chunk);
	t->nids += n;
	return 0;
}

/* Adds the row of stacks STMT holds to the stacktab T; 0, or -1 with *CAUSE set. */
static int
stacktab_stack_row(sqlite3_stmt *stmt, void *arg, char **cause)
{
	struct stacktab *t = arg;
	int64_t id, depth, node;

	id = sqlite3_column_int64(stmt, 0);
	depth = sqlite3_column_int64(stmt, 1);
	node = sqlite3_column_int64(stmt, 2);
	if (id != (int64_t)t->nstacks + 1 || depth < 0 || depth > HS_MAX_DEPTH || node < 0 ||
	    (uint64_t)node > t->nnodes || (depth == 0) != (node == 0)) {
		*cause = xasprintf("%s: stacks: row %lld is out of order, or its depth or node is"
		    " bad", quote(t->path), (long long)id);
		return -1;
	}
	if (t->nstacks == t->astacks) {
		t->astacks = t->astacks == 0 ? 1024 : t->astacks * 2;
		t->stacks = xreallocarray(t->stacks, t->astacks, sizeof *t->stacks);
	}
	t->stacks[t->nstacks].depth = depth;
	t->stacks[t->nstacks].node = node;
	t->stacks[t->nstacks++].py_traceback = sqlite3_column_int64(stmt, 3);
	return 0;
}

/* Reads the stacks of DB into a new stacktab, *TAB.  Returns 0, or -1 with *CAUSE set. */
int
stacktab_open(struct db *db, struct stacktab **tab, char **cause)
{
	struct stacktab *t = xcalloc(1, sizeof *t);

	t->path = xstrdup(db->path);
	if (db_rows(db, "SELECT id, parent, frames FROM stack_nodes ORDER BY id",
	    stacktab_node_row, t, cause) != 0 || db_rows(db, "SELECT id, depth, node, py_traceback"
	    " FROM stacks ORDER BY id", stacktab_stack_row, t, cause) != 0) {
		stacktab_close(t);
		return -1;
	}
	*tab = t;
	return 0;
}

/* Frees T (NULL is fine). */
void
stacktab_close(struct stacktab *t)
{
	if (t == NULL)
		return;
	free(t->stacks);
	free(t->nodes);
	free(t->ids);
	free(t->path);
	free(t);
}

/*
 * Writes the native frames of stack ID, innermost first, from level FROM on, at most MAX of
 * them, to OUT; stores in *DEPTH the stack's depth.  Returns the number written, or -1 with
 * *CAUSE set if T has no stack ID or its nodes do not add up to its depth.
 */
int
stacktab_frames(const struct stacktab *t, int64_t id, uint32_t from, uint32_t max, int64_t *out,
    uint32_t *depth, char **cause)
{
	const struct stacktab_stack *k;
	const struct stacktab_node *nd;
	uint32_t node, outer, j, n = 0;
	int64_t level;

	if (id < 1 || (uint64_t)id > t->nstacks) {
		*cause = xasprintf("%s: stack %lld is not in stacks", quote(t->path),
		    (long long)id);
		return -1;
	}
	k = &t->stacks[id - 1];
	*depth = k->depth;
	/* The innermost node holds the outer positions [outer, depth): level = depth - 1 - pos. */
	outer = k->depth > 0 ? (k->depth - 1) / HS_STACK_CHUNK * HS_STACK_CHUNK : 0;
	for (node = k->node; node != 0; node = nd->parent, outer -= HS_STACK_CHUNK) {
		nd = &t->nodes[node - 1];
		if (outer + nd->n != (node == k->node ? k->depth : outer + HS_STACK_CHUNK) ||
		    (nd->parent == 0) != (outer == 0))
			goto bad;
		for (j = nd->n; j-- > 0;) {
			level = (int64_t)k->depth - 1 - (outer + j);
			if (level >= from && level < (int64_t)from + max) {
				out[level - from] = t->ids[nd->first + j];
				n++;
			}
		}
		if (outer == 0)
			break;
	}
	return n;
bad:
	*cause = xasprintf("%s: stack %lld: its nodes do not hold its %u frames", quote(t->path),
	    (long long)id, k->depth);
	return -1;
}

/* Returns the Python traceback of stack ID (py_tracebacks.id), 0 if none or no such stack. */
int64_t
stacktab_py_traceback(const struct stacktab *t, int64_t id)
{
	if (id < 1 || (uint64_t)id > t->nstacks)
		return 0;
	return t->stacks[id - 1].py_traceback;
}
