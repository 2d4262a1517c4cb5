/*
 * exiter: leaves 4 blocks of 600 bytes and 2 of 40 bytes alive, then ends through exit(7), or
 * through _exit(8) when given the argument "_exit", or dies of SIGTERM given "term".  No output.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *keep[8];

int
main(int argc, char **argv)
{
	int i;

	for (i = 0; i < 4; i++)
		keep[i] = malloc(600);			/* tag:six-hundred */
	for (i = 4; i < 6; i++)
		keep[i] = malloc(40);			/* tag:forty */
	if (argc > 1 && strcmp(argv[1], "_exit") == 0)
		_exit(8);
	if (argc > 1 && strcmp(argv[1], "term") == 0) {
		kill(getpid(), SIGTERM);
		pause();
	}
	exit(7);
}
