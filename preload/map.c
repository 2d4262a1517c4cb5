/*
 * The program's live mmap regions, recorded apart from heap blocks.  Mappings are few and their
 * calls slow, so they sit in one array under one mutex, unsorted.  Mappings that malloc makes
 * for itself are not here: glibc calls mmap internally, not through the hook.  munmap and
 * mremap may cover part of a region: the region is trimmed or split to match what the kernel
 * did.  Invariant: no two entries overlap.
 */
#include "config.h"

#include <string.h>

#include "internal.h"

static pthread_mutex_t map_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mapping *maps;	/* live regions, maps[0..nmaps) */
static size_t nmaps;		/* entries in use */
static size_t cap;		/* entries mapped */

#define PAGE 4096
#define ROUND(x) (((x) + PAGE - 1) & ~(uintptr_t)(PAGE - 1))

/* Appends a region; the caller holds map_lock.  Stops tracing when out of memory. */
static void
map_append(const struct mapping *m)
{
	void *p;
	size_t ncap;

	assert(mutex_held(&map_lock));
	if (nmaps == cap) {
		ncap = cap ? cap * 2 : 256;
		if ((p = mem_grow(maps, cap * sizeof *maps, ncap * sizeof *maps)) == NULL) {
			log_fail("out of memory for the mapping table");
			return;
		}
		maps = p;
		cap = ncap;
	}
	maps[nmaps++] = *m;
}

/* Removes [ADDR, ADDR+SIZE) from every region; the caller holds map_lock. */
static void
map_cut(uintptr_t addr, size_t size)
{
	uintptr_t end = addr + ROUND(size), mend;
	struct mapping tail;
	size_t i = 0;

	assert(mutex_held(&map_lock));
	while (i < nmaps) {
		struct mapping *m = &maps[i];

		mend = m->addr + m->size;
		if (mend <= addr || m->addr >= end) {
			i++;
			continue;
		}
		if (m->addr >= addr && mend <= end) {
			maps[i] = maps[--nmaps];	/* wholly inside: gone */
			continue;
		}
		if (m->addr < addr && mend > end) {
			tail = *m;			/* a hole in the middle: split */
			tail.addr = end;
			tail.size = mend - end;
			m->size = addr - m->addr;
			map_append(&tail);
		} else if (m->addr < addr)
			m->size = addr - m->addr;	/* its end is cut */
		else {
			m->size = mend - end;		/* its start is cut */
			m->addr = end;
		}
		i++;
	}
}

/* Records a new region (MAP_FIXED may have replaced older ones). */
void
map_add(uintptr_t addr, size_t size, int prot, int flags, uint32_t stack, int pyarena)
{
	struct mapping m = { addr, ROUND(size), prot, flags, stack, pyarena };

	pthread_mutex_lock(&map_lock);
	map_cut(addr, size);
	map_append(&m);
	pthread_mutex_unlock(&map_lock);
}

/* Records an munmap. */
void
map_remove(uintptr_t addr, size_t size)
{
	pthread_mutex_lock(&map_lock);
	map_cut(addr, size);
	pthread_mutex_unlock(&map_lock);
}

/* Records an mremap that moved or resized the region at OLD_ADDR. */
void
map_move(uintptr_t old_addr, size_t old_size, uintptr_t new_addr, size_t new_size)
{
	struct mapping m = { 0 };
	size_t i;

	pthread_mutex_lock(&map_lock);
	for (i = 0; i < nmaps; i++) {
		if (maps[i].addr <= old_addr && old_addr < maps[i].addr + maps[i].size) {
			m = maps[i];
			break;
		}
	}
	map_cut(old_addr, old_size);
	if (m.size != 0) {
		m.addr = new_addr;
		m.size = ROUND(new_size);
		map_cut(new_addr, new_size);
		map_append(&m);
	}
	pthread_mutex_unlock(&map_lock);
}

/* Copies the live regions to *OUT (mem_map'd; mem_unmap it); returns how many. */
size_t
map_copy(struct mapping **out, char **cause)
{
	size_t n;

	pthread_mutex_lock(&map_lock);
	n = nmaps;
	*out = NULL;
	if (n != 0) {
		if ((*out = mem_map(n * sizeof **out)) == NULL) {
			*cause = "out of memory for a snapshot";
			n = (size_t)-1;
		} else
			memcpy(*out, maps, n * sizeof **out);
	}
	pthread_mutex_unlock(&map_lock);
	return n;
}

/* fork: hold the lock across fork. */
void
map_atfork_prepare(void)
{
	pthread_mutex_lock(&map_lock);
}

void
map_atfork_release(void)
{
	pthread_mutex_unlock(&map_lock);
}
