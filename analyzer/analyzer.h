/*
 * Declarations shared by the analyzer's files.  heapscope.c holds main and the command table:
 * each command lives in its own cmd-*.c file and is described by one struct cmd_entry, which
 * main finds by exact name; main parses the command's options as its entry declares them
 * (args.c) and calls it with the result.
 * A command returns a cmd_retval; on error it sets *cause to a message main prints as
 * `heapscope: NAME: CAUSE`.  Commands print their own output; main prints errors and decides the
 * exit status.  The small helpers every file uses live in xmalloc.c (allocation that cannot
 * fail), arena.c (small objects freed at once), json.c (JSON output) and heapscope.c (quoting
 * input for messages, sizes, warnings).
 */
#ifndef HS_ANALYZER_H
#define HS_ANALYZER_H

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define printflike(a, b) __attribute__((format(printf, a, b)))

#include "args.h"

/* What a command's exec function tells main. */
enum cmd_retval {
	CMD_RETURN_NORMAL,	/* finished: exit with cmd_exit.status (0 unless the command set it) */
	CMD_RETURN_ERROR,	/* failed: print *cause, exit with cmd_exit.status (1 unless set) */
	CMD_RETURN_USAGE	/* bad arguments: print *cause, or the usage line if NULL; exit 2 */
};

/* How main ends the process after a command; set by the command, defaulted by main. */
struct cmd_exit {
	int	status;		/* exit status */
	int	signal;		/* when non-zero, main raises this signal on itself before exiting */
};

/*
 * One command: listed in cmd_table[] in heapscope.c.  Its usage line is "heapscope NAME " and
 * what args_print_usage makes of args; its --help adds detail and the option list of args.
 */
struct cmd_entry {
	const char		*name;	/* the command word, matched exactly */
	struct args_spec	 args;	/* its options and arguments */
	const char		*help;	/* one sentence for heapscope --help */
	const char		*detail; /* for heapscope NAME --help after the usage line, before
					   the option list; or NULL */
	/* Runs the command on the command line main parsed; see enum cmd_retval. */
	enum cmd_retval		(*exec)(const struct args *args, struct cmd_exit *exit,
				    char **cause);
};

extern const struct cmd_entry cmd_run_entry;
extern const struct cmd_entry cmd_snapshots_entry;
extern const struct cmd_entry cmd_top_entry;
extern const struct cmd_entry cmd_diff_entry;
extern const struct cmd_entry cmd_leaks_entry;
extern const struct cmd_entry cmd_pools_entry;

/* heapscope.c */
const char	*quote(const char *);
void		 cmd_warn(const char *, ...) printflike(1, 2);
void		 format_size(char *, size_t, int64_t);
void		 format_time(char *, size_t, double);

/* A region of small objects freed all at once (arena.c); all zero is an empty arena. */
struct arena {
	struct arena_chunk	*chunks;	/* newest first */
	char			*next;		/* free space in the newest chunk */
	size_t			 left;		/* bytes of it */
};

/* arena.c */
void		*arena_alloc(struct arena *, size_t);
char		*arena_strdup(struct arena *, const char *);
void		 arena_free(struct arena *);

/* xmalloc.c */
void		*xmalloc(size_t);
void		*xcalloc(size_t, size_t);
void		*xreallocarray(void *, size_t, size_t);
char		*xstrdup(const char *);
char		*xasprintf(const char *, ...) printflike(1, 2);
char		*xvasprintf(const char *, va_list) printflike(1, 0);

/* json.c */
void		 json_string(FILE *, const char *);
void		 json_double(FILE *, double, int);

#endif
