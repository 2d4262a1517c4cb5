/*
 * hold: allocates N blocks of 32 bytes (default 1000000), all kept alive, and prints the
 * process's resident memory in KiB before and after.  Run once untraced and once traced: the
 * difference of the two "after - before" figures, divided by N, is the tracer's memory per
 * live block.  Usage: hold [N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Returns VmRSS in KiB, from /proc/self/status. */
static long
rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			kib = atol(line + 6);
	}
	fclose(f);
	return kib;
}

int
main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000, i, before, after;
	void **keep;

	before = rss_kib();
	keep = malloc(n * sizeof *keep);
	for (i = 0; keep != NULL && i < n; i++)
		keep[i] = malloc(32);
	after = rss_kib();
	printf("%ld %ld\n", before, after);
	return 0;
}
