/*
 * waiter: allocates 3 blocks of 2222 bytes, writes "ready PID" to stdout, then allocates one more
 * block of 111 bytes for each line read from stdin, and exits at end of input.  A test sends
 * the snapshot signal between lines, and lets interval snapshots tick while it waits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void *keep[1024];

int
main(void)
{
	char line[256];
	int i, n = 3;

	for (i = 0; i < 3; i++)
		keep[i] = malloc(2222);			/* tag:start */
	printf("ready %ld\n", (long)getpid());
	fflush(stdout);
	while (fgets(line, sizeof line, stdin) != NULL && n < 1024) {
		keep[n++] = malloc(111);		/* tag:line */
		printf("ok\n");
		fflush(stdout);
	}
	return 0;
}
