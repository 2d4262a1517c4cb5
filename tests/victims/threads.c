/*
 * threads: THREADS threads allocate at the same time, each PER_THREAD blocks of 48 bytes at one
 * line and frees every other one, then the main thread takes an API snapshot after joining.
 * Live at the snapshot: THREADS * PER_THREAD / 2 blocks of 48 bytes at tag:thread-malloc.
 * Usage: threads [THREADS=4] [PER_THREAD=20000]
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>

static long per_thread = 20000;
void **keep[64];

static void *
work(void *arg)
{
	void **slots = keep[(long)arg];
	long i;

	for (i = 0; i < per_thread; i++)
		slots[i] = malloc(48);			/* tag:thread-malloc */
	for (i = 0; i < per_thread; i += 2) {
		free(slots[i]);
		slots[i] = NULL;
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	int (*snap)(const char *);
	pthread_t t[64];
	long i, n = 4;

	if (argc > 1)
		n = atol(argv[1]);
	if (argc > 2)
		per_thread = atol(argv[2]);
	if (n < 1 || n > 64)
		return 2;
	for (i = 0; i < n; i++)
		keep[i] = calloc(per_thread, sizeof(void *));	/* tag:slots */
	for (i = 0; i < n; i++)
		pthread_create(&t[i], NULL, work, (void *)i);
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	snap = (int (*)(const char *))dlsym(RTLD_DEFAULT, "heapscope_snapshot");
	if (snap != NULL && snap("joined") < 0)
		return 90;
	return 0;
}
