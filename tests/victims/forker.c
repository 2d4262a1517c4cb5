/*
 * forker: the parent allocates 10 blocks of 1000 bytes, forks; the child allocates 20 blocks of
 * 7 bytes and exits with 3; the parent waits, allocates 5 blocks of 500 bytes and exits with
 * the child's status + 4.  Each process must end up with its own database.
 */
#include <sys/wait.h>
#include <stdlib.h>
#include <unistd.h>

void *keep[64];

int
main(void)
{
	pid_t pid;
	int i, status;

	for (i = 0; i < 10; i++)
		keep[i] = malloc(1000);			/* tag:before-fork */
	if ((pid = fork()) < 0)
		return 1;
	if (pid == 0) {
		for (i = 10; i < 30; i++)
			keep[i] = malloc(7);		/* tag:child */
		exit(3);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return 1;
	for (i = 30; i < 35; i++)
		keep[i] = malloc(500);			/* tag:parent */
	return WEXITSTATUS(status) + 4;
}
