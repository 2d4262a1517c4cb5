/*
 * heapscope, the analyzer: main, the command table, and the helpers for messages that every
 * command shares.  `heapscope COMMAND ARG...` finds COMMAND by its exact name in cmd_table[],
 * parses the remaining arguments as its entry declares (args.c) and runs its exec function with
 * them.  Only main prints errors and exits:
 * `heapscope: COMMAND: CAUSE` and status 1 for errors, the `usage:` line (or a one-line reason)
 * and status 2 for bad arguments.  Warnings that do not stop a command (a library that cannot be
 * symbolized) go through cmd_warn, which names the running command.
 */
#include "analyzer.h"

#include <sys/resource.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Every command, in the order --help lists them. */
static const struct cmd_entry *const cmd_table[] = {
	&cmd_run_entry,
	&cmd_snapshots_entry,
	&cmd_top_entry,
	&cmd_diff_entry,
	&cmd_leaks_entry,
	&cmd_pools_entry,
	NULL
};

/* The command being run, for cmd_warn; NULL before one is chosen. */
static const char *cmd_current;

/*
 * Returns S in double quotes for a message, with control characters shown as '?' and long input
 * cut short in the middle.  The result lives in one of a few static buffers, so up to four quoted
 * strings can appear in one message.
 */
const char *
quote(const char *s)
{
	static char buffers[4][96];
	static unsigned int next;
	char *b = buffers[next++ % 4];
	size_t len = strlen(s), i, o = 0, keep = 40;

	b[o++] = '"';
	for (i = 0; i < len; i++) {
		if (len > 2 * keep + 3 && i == keep) {
			memcpy(b + o, "...", 3);
			o += 3;
			i = len - keep;
		}
		b[o++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	}
	b[o++] = '"';
	b[o] = '\0';
	return b;
}

/* Prints a warning that does not stop the command, as `heapscope: COMMAND: warning: ...`. */
void
cmd_warn(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	if (cmd_current != NULL)
		fprintf(stderr, "heapscope: %s: warning: ", cmd_current);
	else
		fputs("heapscope: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * Formats BYTES for people: exact below 1 KiB ("512 B"), else in the largest binary unit that
 * leaves at least 1, with one decimal below 100 ("1.5 MiB", "200 KiB").
 */
void
format_size(char *buf, size_t len, int64_t bytes)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)bytes;
	size_t u = 0;

	if (bytes > -1024 && bytes < 1024) {
		snprintf(buf, len, "%lld B", (long long)bytes);
		return;
	}
	v /= 1024;
	while ((v >= 1024 || v <= -1024) && u + 1 < sizeof units / sizeof units[0]) {
		v /= 1024;
		u++;
	}
	if (v > -99.95 && v < 99.95)
		snprintf(buf, len, "%.1f %s", v, units[u]);
	else
		snprintf(buf, len, "%.0f %s", v, units[u]);
}

/* Formats the Unix time T as local `YYYY-MM-DD HH:MM:SS`. */
void
format_time(char *buf, size_t len, double t)
{
	time_t secs = (time_t)t;
	struct tm tm;

	if (localtime_r(&secs, &tm) == NULL || strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, len, "%.0f", t);
}

/* Prints BEFORE, then the name and the arguments of command E, "top FILE [SNAPSHOT] ...", to F. */
static void
usage_command(FILE *f, const char *before, const struct cmd_entry *e)
{
	fprintf(f, "%s%s ", before, e->name);
	args_print_usage(f, &e->args);
}

/* Prints the list of commands for --help. */
static void
usage_help(FILE *f)
{
	const struct cmd_entry *const *e;

	fprintf(f, "usage: heapscope COMMAND [ARG...]\n"
	    "       heapscope --help | --version\n\ncommands:\n");
	for (e = cmd_table; *e != NULL; e++) {
		usage_command(f, "  ", *e);
		fprintf(f, "\n      %s\n", (*e)->help);
	}
}

/* Raises SIG on this process with its default action; returns only if that did not end it. */
static void
raise_default(int sig)
{
	struct rlimit rl = { 0, 0 };
	sigset_t set;

	/* The child already dumped core if it was going to; a second core would overwrite it. */
	setrlimit(RLIMIT_CORE, &rl);
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
}

int
main(int argc, char **argv)
{
	const struct cmd_entry *const *e;
	const struct cmd_entry *entry = NULL;
	struct cmd_exit exit_how = { 0, 0 };
	struct args args;
	enum cmd_retval retval;
	char *cause = NULL;

	if (argc < 2) {
		fputs("usage: heapscope COMMAND [ARG...] (heapscope --help lists the commands)\n",
		    stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage_help(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("heapscope %s\n", PACKAGE_VERSION);
		return 0;
	}
	for (e = cmd_table; *e != NULL; e++) {
		if (strcmp((*e)->name, argv[1]) == 0)
			entry = *e;
	}
	if (entry == NULL) {
		fprintf(stderr, "heapscope: unknown %s %s (heapscope --help lists the commands)\n",
		    argv[1][0] == '-' ? "option" : "command", quote(argv[1]));
		return 2;
	}
	if (argc > 2 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
		usage_command(stdout, "usage: heapscope ", entry);
		putchar('\n');
		if (entry->detail != NULL)
			printf("\n%s", entry->detail);
		args_print_help(stdout, &entry->args);
		return 0;
	}

	cmd_current = entry->name;
	if (args_parse(&entry->args, argc - 1, argv + 1, &args, &cause) != 0)
		retval = CMD_RETURN_USAGE;
	else
		retval = entry->exec(&args, &exit_how, &cause);
	args_free(&args);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "heapscope: %s: standard output: %s\n", entry->name,
		    strerror(errno));
		return 1;
	}
	switch (retval) {
	case CMD_RETURN_NORMAL:
		break;
	case CMD_RETURN_ERROR:
		fprintf(stderr, "heapscope: %s: %s\n", entry->name,
		    cause != NULL ? cause : "failed");
		if (exit_how.status == 0 && exit_how.signal == 0)
			exit_how.status = 1;
		break;
	case CMD_RETURN_USAGE:
		if (cause != NULL)
			fprintf(stderr, "heapscope: %s: %s\n", entry->name, cause);
		else {
			usage_command(stderr, "usage: heapscope ", entry);
			fputc('\n', stderr);
		}
		exit_how.status = 2;
		exit_how.signal = 0;
		break;
	}
	free(cause);
	if (exit_how.signal != 0) {
		raise_default(exit_how.signal);
		return 128 + exit_how.signal;
	}
	return exit_how.status;
}
