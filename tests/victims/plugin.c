/*
 * plugin: a shared object that the loader victim dlopens.  plugin_make() allocates COUNT blocks
 * of 321 bytes for the caller to keep; the object is closed before the snapshot, so its frames
 * can only be named from what heapscope recorded about the module.
 */
#include <stdlib.h>

void plugin_make(void **out, int count);

void
plugin_make(void **out, int count)
{
	int i;

	for (i = 0; i < count; i++)
		out[i] = malloc(321);			/* tag:plugin-malloc */
}
