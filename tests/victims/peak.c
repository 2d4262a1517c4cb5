/*
 * peak: a heap that climbs to a known high in known steps and falls.  STEPS steps (argument 1,
 * default 10) each allocate 1000 blocks of 1024 bytes at the line tagged step and sleep SLEEP ms
 * (argument 2, default 30); then one block of 4096 bytes at the line tagged top, the last
 * allocation before the fall; then every step block is freed, 10 blocks of 100 bytes are
 * allocated at the line tagged after, and it sleeps SLEEP ms again and exits.  The high is
 * STEPS x 1024000 + 4096 bytes, with whatever the C library holds.  With a third argument it
 * raises SIGKILL on itself at the high, after sleeping 1.5 s there.  The blocks are kept in
 * globals that the program could read, so that the compiler keeps every allocation.
 */
#include <signal.h>
#include <stdlib.h>
#include <time.h>

void *blocks[100][1000], *top, *after[10];

/* Sleeps MS milliseconds. */
static void
nap(long ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000 };

	nanosleep(&ts, NULL);
}

int
main(int argc, char **argv)
{
	int steps = argc > 1 ? atoi(argv[1]) : 10, ms = argc > 2 ? atoi(argv[2]) : 30, i, j;

	if (steps > 100)
		steps = 100;
	for (i = 0; i < steps; i++) {
		for (j = 0; j < 1000; j++)
			blocks[i][j] = malloc(1024);		/* tag:step */
		nap(ms);
	}
	top = malloc(4096);					/* tag:top */
	if (argc > 3) {
		nap(1500);
		raise(SIGKILL);
	}
	for (i = 0; i < steps; i++) {
		for (j = 0; j < 1000; j++)
			free(blocks[i][j]);
	}
	for (i = 0; i < 10; i++)
		after[i] = malloc(100);				/* tag:after */
	nap(ms);
	return 0;
}
