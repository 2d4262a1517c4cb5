/*
 * Warnings of the preload.  The preload never writes to stdout; it says at most one thing on
 * stderr per cause, formatted into a stack buffer and written with one write(2) so that it
 * cannot allocate or interleave.  log_fail() also stops tracing for good: the program runs on
 * with every call passed straight to the allocator.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static atomic_int failed;	/* 1 once log_fail() has spoken */

/* Writes "heapscope: MESSAGE\n" to stderr. */
static void
log_write(const char *fmt, va_list ap)
{
	char buf[512];
	int saved = errno, n;

	memcpy(buf, "heapscope: ", 11);
	n = vsnprintf(buf + 11, sizeof buf - 12, fmt, ap);
	if (n < 0)
		n = 0;
	if (n > (int)sizeof buf - 12)
		n = sizeof buf - 12;
	n += 11;
	buf[n++] = '\n';
	if (write(STDERR_FILENO, buf, n) < 0) {
		/* Nothing to do: stderr is gone. */
	}
	errno = saved;
}

/* Writes a warning to stderr; tracing goes on. */
void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_write(fmt, ap);
	va_end(ap);
}

/* Stops tracing and, the first time only, says why on stderr. */
void
log_fail(const char *fmt, ...)
{
	va_list ap;

	atomic_store(&hs_state, HS_OFF);
	if (atomic_exchange(&failed, 1))
		return;
	va_start(ap, fmt);
	log_write(fmt, ap);
	va_end(ap);
}
