/*
 * TAP output for the unit tests under tests/unit: one line per assertion, "ok N - what" or
 * "not ok N - what", flushed at once so that a crash shows how far the test came, and the counts
 * that tell the test's exit status.  Each test prints its own plan line.
 */
#ifndef HS_TAP_H
#define HS_TAP_H

#include <stdarg.h>
#include <stdio.h>

/* Assertions reported, and how many of them failed. */
static int tap_count, tap_failed;

/* Reports the next assertion, passed if OK, described by FMT and what follows; returns OK. */
static inline int __attribute__((format(printf, 2, 3)))
tap_ok(int ok, const char *fmt, ...)
{
	va_list ap;

	tap_count++;
	if (!ok)
		tap_failed++;
	printf("%sok %d - ", ok ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	return ok;
}

/* Reports the next assertion as skipped: WHAT, for the reason WHY. */
static inline void
tap_skip(const char *what, const char *why)
{
	tap_count++;
	printf("ok %d - %s # SKIP %s\n", tap_count, what, why);
	fflush(stdout);
}

#endif
