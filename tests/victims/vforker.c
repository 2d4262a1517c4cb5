/*
 * vforker: allocates 123 bytes, vforks a child that only calls _exit (the child shares the
 * parent's memory and thread-local storage, heapscope's included), then allocates 456 bytes.
 * Both blocks must be in the parent's exit snapshot: the child must not stop its tracing.
 */
#include <sys/wait.h>
#include <stdlib.h>
#include <unistd.h>

void *keep[2];

int
main(void)
{
	pid_t pid;

	keep[0] = malloc(123);				/* tag:before-vfork */
	if ((pid = vfork()) == 0)
		_exit(0);
	if (pid < 0 || waitpid(pid, NULL, 0) != pid)
		return 1;
	keep[1] = malloc(456);				/* tag:after-vfork */
	return 0;
}
