/*
 * The command line of a command: the options it declares in a table (struct args_option), which
 * args_parse reads once, checking every value, before the command runs, and from which the usage
 * line and the option list of `heapscope COMMAND --help` are printed.  See args.c.
 *
 * A new option is an entry in its command's table, and the command asks for it by its id with
 * args_has, args_get, args_number or args_next; options that several commands take are a table
 * of their own, taken in by an ARGS_GROUP entry (stats_options: the report options of top and
 * diff).  A new command is a struct cmd_entry with its table in args, listed in cmd_table
 * (heapscope.c).
 */
#ifndef ARGS_H
#define ARGS_H

#include <stddef.h>
#include <stdio.h>

struct args;

/* What an option takes, and how args_parse checks it. */
enum args_type {
	ARGS_END,		/* not an option: ends a table */
	ARGS_FLAG,		/* no argument */
	ARGS_STRING,		/* an argument, which its check function (if any) accepts */
	ARGS_NUMBER,		/* a decimal number, digits only, from min to max */
	ARGS_CHOICE,		/* one of the words of choices */
	ARGS_GROUP		/* not an option: the options of the table group, in its place */
};

/* One entry of a command's table of options. */
struct args_option {
	enum args_type			 type;		/* what it takes */
	const char			*name;		/* long name without "--", NULL if none */
	int				 letter;	/* short name, 0 if none */
	int				 id;		/* what the command asks for it by: unique
							   among the command's options */
	const char			*arg;		/* its argument in the usage line: FILE */
	const char			*help_arg;	/* its argument in --help, NULL for arg */
	const char			*what;		/* what the argument is, in messages */
	long long			 min;		/* ARGS_NUMBER: the smallest value */
	long long			 max;		/* ARGS_NUMBER: the largest value */
	const char *const		*choices;	/* ARGS_CHOICE: its words, then NULL */
	const char *const		*choice_help;	/* ARGS_CHOICE: the help of each word */
	/*
	 * A further check of the argument ARG, NULL if none, given the options before it in ARGS:
	 * returns 0, or -1 with *CAUSE set, or left NULL for the usual "bad -o "x" (WHAT)".
	 */
	int				(*check)(const struct args *args, const char *arg,
					    char **cause);
	int				 repeat;	/* 1: every value given counts, in order;
							   0: the last one does */
	int				 alternative;	/* 1: an alternative to the option before it
							   (and to that one's): they cannot go
							   together, the usage line shows them as
							   [--json | --csv] */
	const char			*help;		/* its text in --help, lines split by '\n';
							   NULL: not listed (ARGS_CHOICE: its
							   words are, by choice_help) */
	const struct args_option	*group;		/* ARGS_GROUP: the options that go here */
};

/* How the command line of a command is parsed and shown. */
struct args_spec {
	const char			*usage;		/* its arguments, as the usage line shows
							   them ("FILE [SNAPSHOT]") */
	int				 lower;		/* fewest arguments after the options */
	int				 upper;		/* most arguments, -1 for no limit */
	int				 in_order;	/* 1: options end at the first argument (a
							   command line of its own), and the usage
							   line shows them first */
	const struct args_option	*options;	/* its options, in the order of the usage
							   line and --help */
	int				 width;		/* of the option column of --help */
};

/* One option as given on the command line. */
struct args_value {
	const struct args_option	*option;	/* which option */
	const char			*arg;		/* its argument; NULL for ARGS_FLAG */
	long long			 number;	/* ARGS_NUMBER: the value; ARGS_CHOICE: the
							   index of the word in choices */
};

/* A command line parsed by args_parse: the options in the order given, then the arguments. */
struct args {
	struct args_value	*values;	/* the options given */
	size_t			 nvalues;	/* entries in values */
	int			 argc;		/* arguments after the options */
	char			**argv;		/* them, then NULL */
};

int		 args_parse(const struct args_spec *, int, char **, struct args *, char **);
void		 args_free(struct args *);
size_t		 args_has(const struct args *, int);
const char	*args_get(const struct args *, int);
long long	 args_number(const struct args *, int, long long);
const char	*args_next(const struct args *, int, size_t *);
void		 args_print_usage(FILE *, const struct args_spec *);
void		 args_print_help(FILE *, const struct args_spec *);

#endif
