/*
 * The loaded objects (executable, shared libraries, dlopen'd modules), kept so that the analyzer
 * can symbolize stacks offline: path, load bias, address range and GNU build-id.  The list only
 * grows: an object that was unloaded stays, marked gone, because older stacks point into it.
 * modules_refresh() reads dl_iterate_phdr at every snapshot and before every dlclose.  Names live
 * in a string arena; everything is mem_map'd.
 */
#include "config.h"

#include <elf.h>
#include <errno.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static pthread_mutex_t modules_lock = PTHREAD_MUTEX_INITIALIZER;
static struct module *mods;	/* mods[0..nmods), in order of discovery; id = index + 1 */
static uint32_t nmods;		/* entries in use */
static uint32_t capmods;	/* entries mapped */
static char *strings;		/* current string arena */
static size_t strings_used;	/* bytes used in it */
static char exe_path[PATH_MAX];	/* resolved /proc/self/exe, "" until read */

#define STRINGS_SIZE 65536

/* Copies S into the string arena; NULL when out of memory. */
static char *
modules_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p;

	if (n > STRINGS_SIZE)
		n = STRINGS_SIZE;
	if (strings == NULL || strings_used + n > STRINGS_SIZE) {
		if ((strings = mem_map(STRINGS_SIZE)) == NULL)
			return NULL;
		strings_used = 0;
	}
	p = strings + strings_used;
	memcpy(p, s, n - 1);
	p[n - 1] = '\0';
	strings_used += n;
	return p;
}

/* Writes the hex GNU build-id of the object INFO describes to OUT ("" if none). */
static void
modules_build_id(const struct dl_phdr_info *info, char out[41])
{
	static const char hex[] = "0123456789abcdef";
	const ElfW(Nhdr) *n;
	const char *p, *end;
	const unsigned char *id;
	size_t i, len;
	int k;

	out[0] = '\0';
	for (k = 0; k < info->dlpi_phnum; k++) {
		if (info->dlpi_phdr[k].p_type != PT_NOTE)
			continue;
		p = (const char *)(info->dlpi_addr + info->dlpi_phdr[k].p_vaddr);
		end = p + info->dlpi_phdr[k].p_memsz;
		while (p + sizeof *n <= end) {
			n = (const ElfW(Nhdr) *)p;
			id = (const unsigned char *)p + sizeof *n + ((n->n_namesz + 3) & ~3u);
			if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 &&
			    memcmp(p + sizeof *n, "GNU", 4) == 0) {
				len = n->n_descsz < 20 ? n->n_descsz : 20;
				for (i = 0; i < len; i++) {
					out[2 * i] = hex[id[i] >> 4];
					out[2 * i + 1] = hex[id[i] & 15];
				}
				out[2 * len] = '\0';
				return;
			}
			p = (const char *)id + ((n->n_descsz + 3) & ~3u);
		}
	}
}

/* dl_iterate_phdr callback: adds the object if it is new, and marks it seen. */
static int
modules_visit(struct dl_phdr_info *info, size_t size, void *arg)
{
	uintptr_t start = UINTPTR_MAX, end = 0, a;
	const char *path = info->dlpi_name;
	uint8_t *seen = arg;
	struct module *m;
	uint32_t i;
	void *p;
	int k;

	(void)size;
	for (k = 0; k < info->dlpi_phnum; k++) {
		if (info->dlpi_phdr[k].p_type != PT_LOAD)
			continue;
		a = info->dlpi_addr + info->dlpi_phdr[k].p_vaddr;
		if (a < start)
			start = a;
		if (a + info->dlpi_phdr[k].p_memsz > end)
			end = a + info->dlpi_phdr[k].p_memsz;
	}
	if (end == 0)
		return 0;
	if (path == NULL || path[0] == '\0') {
		if (exe_path[0] == '\0') {
			ssize_t n = readlink("/proc/self/exe", exe_path, sizeof exe_path - 1);

			if (n <= 0)
				strcpy(exe_path, program_invocation_name);
			else
				exe_path[n] = '\0';
		}
		path = exe_path;
	}
	for (i = 0; i < nmods; i++) {
		m = &mods[i];
		if (!m->gone && m->base == info->dlpi_addr && m->start == start &&
		    strcmp(m->path, path) == 0) {
			if (i < 4096)
				seen[i] = 1;
			return 0;
		}
	}
	if (nmods == capmods) {
		uint32_t ncap = capmods ? capmods * 2 : 128;

		if ((p = mem_grow(mods, capmods * sizeof *mods, ncap * sizeof *mods)) == NULL)
			return 1;
		mods = p;
		capmods = ncap;
	}
	m = &mods[nmods];
	memset(m, 0, sizeof *m);
	if ((m->path = modules_strdup(path)) == NULL)
		return 1;
	m->id = nmods + 1;
	m->base = info->dlpi_addr;
	m->start = start;
	m->end = end;
	modules_build_id(info, m->build_id);
	if (nmods < 4096)
		seen[nmods] = 1;
	nmods++;
	return 0;
}

/* Brings the list up to date with what is loaded now. */
void
modules_refresh(void)
{
	uint8_t seen[4096];
	uint32_t i;

	memset(seen, 0, sizeof seen);
	pthread_mutex_lock(&modules_lock);
	if (dl_iterate_phdr(modules_visit, seen) != 0)
		log_warn("out of memory for the module list; some symbols will be missing");
	for (i = 0; i < nmods && i < 4096; i++) {
		if (!seen[i])
			mods[i].gone = 1;
	}
	pthread_mutex_unlock(&modules_lock);
}

/* Returns the module that holds PC, preferring one still loaded; NULL if none. */
const struct module *
modules_find(uintptr_t pc)
{
	const struct module *found = NULL;
	uint32_t i;

	for (i = nmods; i-- > 0;) {
		if (mods[i].start <= pc && pc < mods[i].end) {
			if (!mods[i].gone)
				return &mods[i];
			if (found == NULL)
				found = &mods[i];
		}
	}
	return found;
}

/* Returns the number of modules known. */
uint32_t
modules_count(void)
{
	return nmods;
}

/* Returns module number INDEX (0-based; its id is INDEX + 1). */
const struct module *
modules_get(uint32_t index)
{
	return &mods[index];
}

/* Holds the list still (no refresh may move it) while the caller reads it. */
void
modules_hold(void)
{
	pthread_mutex_lock(&modules_lock);
}

void
modules_release(void)
{
	pthread_mutex_unlock(&modules_lock);
}
