/*
 * Memory allocation that cannot fail: the analyzer has no way to continue without memory, so
 * these wrappers end the process with one line on stderr instead of returning NULL.  Everything
 * they return is freed with free(3).
 */
#include "analyzer.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Ends the process: the one place outside main that exits, because no caller could recover. */
static void __attribute__((noreturn))
xmalloc_fail(void)
{
	fputs("heapscope: out of memory\n", stderr);
	exit(1);
}

/* Returns SIZE bytes (at least one), uninitialised. */
void *
xmalloc(size_t size)
{
	void *p = malloc(size == 0 ? 1 : size);

	if (p == NULL)
		xmalloc_fail();
	return p;
}

/* Returns NMEMB * SIZE bytes of zeroes; the product is checked for overflow. */
void *
xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb == 0 ? 1 : nmemb, size == 0 ? 1 : size);

	if (p == NULL)
		xmalloc_fail();
	return p;
}

/* Resizes P to NMEMB * SIZE bytes; the product is checked for overflow. */
void *
xreallocarray(void *p, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size)
		xmalloc_fail();
	p = realloc(p, nmemb * size == 0 ? 1 : nmemb * size);
	if (p == NULL)
		xmalloc_fail();
	return p;
}

/* Returns a copy of S. */
char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		xmalloc_fail();
	return p;
}

/* Returns the formatted string. */
char *
xvasprintf(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		xmalloc_fail();
	return s;
}

/* Returns the formatted string. */
char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}
