/*
 * demo: a toy request handler with a memory problem, for the README.  Each request parses a
 * header into temporary buffers (freed at once), builds a response, and stores a session in a
 * cache that is never evicted: the cache grows without bound.  It takes a heapscope snapshot
 * after warming up and another one later, when run under heapscope.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct session {
	int id;				/* request number */
	char *user;			/* copy of the user name */
	struct session *next;		/* the cache is a list */
};

static struct session *cache;		/* every session ever made: the leak */

/* Parses a request header into a temporary buffer and returns the user name's length. */
static size_t
parse_header(const char *request)
{
	char *copy = strdup(request);
	size_t n = strcspn(copy, ";");

	free(copy);
	return n;
}

/* Remembers the session for REQUEST: nothing ever removes it. */
static void
remember(int id, const char *user, size_t len)
{
	struct session *s = malloc(sizeof *s);

	s->id = id;
	s->user = malloc(len + 1);
	memcpy(s->user, user, len);
	s->user[len] = '\0';
	s->next = cache;
	cache = s;
}

/* Builds and drops a response body. */
static void
respond(int id)
{
	char *body = malloc(4096);

	snprintf(body, 4096, "hello, request %d", id);
	free(body);
}

/* Handles one request. */
static void
handle(int id)
{
	char request[64];
	size_t len;

	snprintf(request, sizeof request, "user%d;lang=en", id % 1000);
	len = parse_header(request);
	remember(id, request, len);
	respond(id);
}

int
main(void)
{
	int (*snapshot)(const char *);
	int i;

	snapshot = (int (*)(const char *))dlsym(RTLD_DEFAULT, "heapscope_snapshot");
	for (i = 0; i < 10000; i++)
		handle(i);
	if (snapshot != NULL)
		snapshot("warm");
	for (; i < 50000; i++)
		handle(i);
	if (snapshot != NULL)
		snapshot("later");
	printf("handled %d requests\n", i);
	return 0;
}
