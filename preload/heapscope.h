/*
 * heapscope.h: the programming interface of libheapscope.so, the heapscope preload library.
 *
 * A program needs no link dependency to use it: look the function up at run time, so the same
 * binary runs with and without heapscope:
 *
 *	int (*snap)(const char *) = (int (*)(const char *))dlsym(RTLD_DEFAULT,
 *	    "heapscope_snapshot");
 *	if (snap != NULL)
 *		snap("after-load");
 *
 * See heapscope(7).
 */
#ifndef HEAPSCOPE_H
#define HEAPSCOPE_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Writes a full snapshot of the heap (every live block with its stack, and per-site statistics)
 * to the database, labelled LABEL (may be NULL).  Returns the snapshot's id (1, 2, ...), or -1 if
 * the process is not being traced or the snapshot could not be written.
 */
int heapscope_snapshot(const char *label);

#ifdef __cplusplus
}
#endif

#endif
