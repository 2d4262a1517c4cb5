/*
 * leakcheck.h: LEAK_CHECK() asks valgrind for a leak check at this point when the victim runs
 * under valgrind and was built where <valgrind/memcheck.h> exists; otherwise it does nothing.
 * The leak victims call it next to their heapscope snapshot, so both tools judge one moment.
 */
#ifndef LEAKCHECK_H
#define LEAKCHECK_H

#ifdef __has_include
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define LEAK_CHECK() VALGRIND_DO_LEAK_CHECK
#endif
#endif
#ifndef LEAK_CHECK
#define LEAK_CHECK() ((void)0)
#endif

#endif
