/*
 * leakcheck.h: for the leak victims.  LEAK_CHECK() asks valgrind for a leak check at this point
 * when the victim runs under valgrind and was built where <valgrind/memcheck.h> exists; otherwise
 * it does nothing.  The leak victims call it next to their heapscope snapshot, so both tools judge
 * one moment.  scrub() zeroes the stack below its caller, where dead frames keep copies of the
 * pointers a victim dropped: a conservative scan would take them for live ones.
 */
#ifndef LEAKCHECK_H
#define LEAKCHECK_H

#include <stddef.h>

#ifdef __has_include
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define LEAK_CHECK() VALGRIND_DO_LEAK_CHECK
#endif
#endif
#ifndef LEAK_CHECK
#define LEAK_CHECK() ((void)0)
#endif

static __attribute__((noipa, unused)) void
scrub(void)
{
	volatile char pad[65536];
	size_t i;

	for (i = 0; i < sizeof pad; i++)
		pad[i] = 0;
}

#endif
