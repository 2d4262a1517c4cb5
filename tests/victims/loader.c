/*
 * loader: dlopens the plugin named by argv[1], has it allocate 9 blocks of 321 bytes, dlcloses
 * it, then takes an API snapshot "closed".  The blocks outlive the module that made them.
 */
#include <dlfcn.h>
#include <stdio.h>

void *keep[16];

int
main(int argc, char **argv)
{
	int (*snap)(const char *);
	void (*make)(void **, int);
	void *h;

	if (argc < 2 || (h = dlopen(argv[1], RTLD_NOW)) == NULL) {
		fprintf(stderr, "loader: %s\n", dlerror());
		return 2;
	}
	if ((make = (void (*)(void **, int))dlsym(h, "plugin_make")) == NULL)
		return 3;
	make(keep, 9);
	dlclose(h);
	snap = (int (*)(const char *))dlsym(RTLD_DEFAULT, "heapscope_snapshot");
	if (snap != NULL && snap("closed") < 0)
		return 90;
	return 0;
}
