/*
 * Arenas: memory handed out in small pieces and freed all at once, for the many small objects
 * that live as long as a report (frames, their symbols, interned keys, groups).  An arena is a
 * list of chunks, newest first; pieces are carved from the newest chunk, aligned for any type,
 * and a piece larger than a quarter chunk gets a chunk of its own.  Freeing a report's hundreds
 * of thousands of objects one by one would cost a fifth of its time.
 *
 * Invariant: left == bytes free at the end of the newest chunk (0 when there is none).
 */
#include "analyzer.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of the chunks pieces are carved from. */
#define ARENA_CHUNK (256 * 1024)

/* One block of memory of an arena; its pieces follow the header. */
struct arena_chunk {
	struct arena_chunk	*next;		/* the chunk before it */
	max_align_t		 data[];	/* the pieces */
};

/* Returns a new piece of SIZE bytes of A, zeroed and aligned for any type. */
void *
arena_alloc(struct arena *a, size_t size)
{
	struct arena_chunk *c;
	size_t align = alignof(max_align_t), len;
	void *p;

	size = size == 0 ? align : (size + align - 1) & ~(align - 1);
	if (size > a->left) {
		len = size > ARENA_CHUNK / 4 ? size : ARENA_CHUNK;
		c = xmalloc(sizeof *c + len);
		if (len == size) {
			/* A chunk of its own, behind the newest so that its free space is kept. */
			if (a->chunks != NULL) {
				c->next = a->chunks->next;
				a->chunks->next = c;
			} else {
				c->next = NULL;
				a->chunks = c;
			}
			return memset(c->data, 0, size);
		}
		c->next = a->chunks;
		a->chunks = c;
		a->next = (char *)c->data;
		a->left = len;
	}
	p = a->next;
	a->next += size;
	a->left -= size;
	return memset(p, 0, size);
}

/* Returns a copy of S in A. */
char *
arena_strdup(struct arena *a, const char *s)
{
	size_t len = strlen(s) + 1;

	return memcpy(arena_alloc(a, len), s, len);
}

/* Frees every piece of A at once, leaving it empty and ready for use. */
void
arena_free(struct arena *a)
{
	struct arena_chunk *c, *next;

	for (c = a->chunks; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	memset(a, 0, sizeof *a);
}
