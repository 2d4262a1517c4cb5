/*
 * Command lines, parsed once for every command.  A command declares its options in a table of
 * struct args_option in its cmd_entry (args_spec.options), which may take in a table that several
 * commands share (ARGS_GROUP: the report options of top and diff), and says how many arguments
 * follow them.  main calls args_parse before the command runs: getopt_long does the scanning (so
 * long options may be shortened to any unambiguous prefix, take their argument as --by=x or
 * --by x, and come before or after the arguments unless the command takes them in order, as run
 * does), and each value is checked as it is met, so that of two mistakes the first is the one
 * reported, as a command's own getopt loop would.  The command gets a struct args: every option
 * given, in order, with its argument checked and converted, and the arguments after them.
 *
 * The usage line and the option list of --help are printed from the same tables
 * (args_print_usage, args_print_help), so they list exactly the options that are parsed, and
 * tests/help.sh holds heapscope(1) to them.
 *
 * A flattened table lists the options of a command, groups expanded, in table order; an
 * option's index in it, above any character, is its getopt_long value.
 */
#include "analyzer.h"

#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

/* The getopt_long value of the option at index i of a flattened table is ARGS_VAL + i. */
#define ARGS_VAL 256

/* The options of a command, groups expanded. */
struct args_flat {
	const struct args_option	**options;	/* in table order */
	size_t				  n;		/* entries in options */
};

/* Appends the options of TABLE, those of its groups in their place, to F. */
static void
args_flatten(struct args_flat *f, const struct args_option *table)
{
	const struct args_option *o;

	for (o = table; o->type != ARGS_END; o++) {
		if (o->type == ARGS_GROUP) {
			args_flatten(f, o->group);
			continue;
		}
		f->options = xreallocarray(f->options, f->n + 1, sizeof *f->options);
		f->options[f->n++] = o;
	}
}

/* Returns how option O is named in messages and help, "-n" or "--by", in a new string. */
static char *
args_name(const struct args_option *o)
{
	if (o->letter != 0)
		return xasprintf("-%c", o->letter);
	return xasprintf("--%s", o->name);
}

/* Returns O's name followed by ARG (none if NULL), "--include PATTERN", in a new string. */
static char *
args_label(const struct args_option *o, const char *arg)
{
	char *name = args_name(o), *label;

	label = xasprintf("%s%s%s", name, arg != NULL ? " " : "", arg != NULL ? arg : "");
	free(name);
	return label;
}

#ifndef NDEBUG
/* Asserts that the flattened table F of SPEC is well made. */
static void
args_assert_table(const struct args_spec *spec, const struct args_flat *f)
{
	const struct args_option *o, *p;
	size_t i, j;

	assert(spec->lower >= 0 && (spec->upper < 0 || spec->upper >= spec->lower));
	for (i = 0; i < f->n; i++) {
		o = f->options[i];
		assert(o->name != NULL || o->letter != 0);
		assert((o->type == ARGS_FLAG || o->type == ARGS_CHOICE) == (o->arg == NULL));
		assert((o->type == ARGS_CHOICE) == (o->choices != NULL));
		assert(o->type != ARGS_CHOICE || o->help == NULL);
		assert(o->type != ARGS_NUMBER || (o->min <= o->max && o->what != NULL));
		assert(!o->alternative || i > 0);
		for (j = 0; j < i; j++) {
			p = f->options[j];
			assert(p->id != o->id);
			assert(o->letter == 0 || p->letter != o->letter);
			assert(o->name == NULL || p->name == NULL || strcmp(p->name, o->name) != 0);
		}
	}
}
#endif

/* Returns the number of values of option ID in ARGS. */
size_t
args_has(const struct args *args, int id)
{
	size_t i, n = 0;

	for (i = 0; i < args->nvalues; i++) {
		if (args->values[i].option->id == id)
			n++;
	}
	return n;
}

/* Returns the last value of option ID in ARGS, or NULL if it was not given. */
static const struct args_value *
args_last(const struct args *args, int id)
{
	size_t i;

	for (i = args->nvalues; i-- > 0;) {
		if (args->values[i].option->id == id)
			return &args->values[i];
	}
	return NULL;
}

/*
 * Returns the argument of option ID, which takes one and is not repeat: its last value, since
 * the last one given counts.  NULL if it was not given.
 */
const char *
args_get(const struct args *args, int id)
{
	const struct args_value *v = args_last(args, id);

	assert(v == NULL || (v->arg != NULL && !v->option->repeat));
	return v != NULL ? v->arg : NULL;
}

/* Returns the number of option ID (ARGS_NUMBER or ARGS_CHOICE), or DEFAULT_VALUE if not given. */
long long
args_number(const struct args *args, int id, long long default_value)
{
	const struct args_value *v = args_last(args, id);

	assert(v == NULL || v->option->type == ARGS_NUMBER || v->option->type == ARGS_CHOICE);
	return v != NULL ? v->number : default_value;
}

/*
 * Returns the argument of the next value of option ID from index *CURSOR of ARGS on, and moves
 * *CURSOR past it; NULL when there are no more.  Start with *CURSOR at 0.
 */
const char *
args_next(const struct args *args, int id, size_t *cursor)
{
	for (; *cursor < args->nvalues; (*cursor)++) {
		if (args->values[*cursor].option->id == id)
			return args->values[(*cursor)++].arg;
	}
	return NULL;
}

/* Returns the words of ARGS_CHOICE option O joined by BETWEEN, and by LAST before the last. */
static char *
args_choices(const struct args_option *o, const char *between, const char *last)
{
	char *s = xstrdup(""), *next;
	size_t i;

	for (i = 0; o->choices[i] != NULL; i++) {
		next = xasprintf("%s%s%s", s, i == 0 ? "" : o->choices[i + 1] != NULL ? between :
		    last, o->choices[i]);
		free(s);
		s = next;
	}
	return s;
}

/* Returns the message for the bad argument ARG of option O, "bad -n "x" (WHAT)". */
static char *
args_bad(const struct args_option *o, const char *arg)
{
	char *name = args_name(o), *what, *cause;

	what = o->type == ARGS_CHOICE ? args_choices(o, ", ", " or ") : xstrdup(o->what);
	cause = xasprintf("bad %s %s (%s)", name, quote(arg), what);
	free(what);
	free(name);
	return cause;
}

/* Parses ARG as the number of option O into *N; returns 0, or -1 if it is not one. */
static int
args_parse_number(const struct args_option *o, const char *arg, long long *n)
{
	char *end;

	if (*arg < '0' || *arg > '9')
		return -1;
	errno = 0;
	*n = strtoll(arg, &end, 10);
	return *end != '\0' || errno != 0 || *n < o->min || *n > o->max ? -1 : 0;
}

/*
 * Returns the index in F of an option given in ARGS that option I cannot go with, or F's size if
 * there is none: an option and the options that follow it with alternative set exclude one
 * another.
 */
static size_t
args_conflict(const struct args *args, const struct args_flat *f, size_t i)
{
	size_t first = i, end = i + 1, k;

	while (first > 0 && f->options[first]->alternative)
		first--;
	while (end < f->n && f->options[end]->alternative)
		end++;
	for (k = first; k < end; k++) {
		if (k != i && args_has(args, f->options[k]->id) > 0)
			return k;
	}
	return f->n;
}

/*
 * Checks the value ARG of option I of F and appends it to ARGS.  Returns 0, or -1 with *CAUSE
 * set.
 */
static int
args_add(struct args *args, const struct args_flat *f, size_t i, const char *arg, char **cause)
{
	const struct args_option *o = f->options[i];
	struct args_value v = { o, arg, 0 };
	char *first, *second;
	size_t k;

	if ((k = args_conflict(args, f, i)) < f->n) {
		/* Named in the order of the usage line, whichever was given first. */
		first = args_name(f->options[k < i ? k : i]);
		second = args_name(f->options[k < i ? i : k]);
		*cause = xasprintf("%s and %s cannot go together", first, second);
		free(first);
		free(second);
		return -1;
	}
	switch (o->type) {
	case ARGS_NUMBER:
		if (args_parse_number(o, arg, &v.number) != 0)
			goto bad;
		break;
	case ARGS_CHOICE:
		while (o->choices[v.number] != NULL && strcmp(o->choices[v.number], arg) != 0)
			v.number++;
		if (o->choices[v.number] == NULL)
			goto bad;
		break;
	default:
		break;
	}
	if (o->check != NULL && o->check(args, arg, cause) != 0)
		goto bad;
	args->values = xreallocarray(args->values, args->nvalues + 1, sizeof *args->values);
	args->values[args->nvalues++] = v;
	return 0;
bad:
	if (*cause == NULL)
		*cause = args_bad(o, arg);
	return -1;
}

/*
 * Parses the command line ARGV (ARGC entries, ARGV[0] the command's name) of the command SPEC
 * describes into ARGS, which the caller frees with args_free whatever the result; getopt_long
 * permutes ARGV.  Returns 0, or -1 on a usage error, with *CAUSE set to what is wrong, or left
 * NULL when the usage line says it (an unknown option, a missing argument, too few or too many
 * arguments).
 */
int
args_parse(const struct args_spec *spec, int argc, char **argv, struct args *args,
    char **cause)
{
	struct args_flat f = { NULL, 0 };
	struct option *longopts;
	const struct args_option *o;
	char *shortopts, *p;
	size_t i, nlong = 0;
	int c, rc = -1;

	memset(args, 0, sizeof *args);
	args_flatten(&f, spec->options);
#ifndef NDEBUG
	args_assert_table(spec, &f);
#endif
	longopts = xcalloc(f.n + 1, sizeof *longopts);
	p = shortopts = xmalloc(2 * f.n + 2);
	/* "+": the options end at the first argument, whose own options are its business. */
	if (spec->in_order)
		*p++ = '+';
	for (i = 0; i < f.n; i++) {
		o = f.options[i];
		if (o->letter != 0) {
			*p++ = (char)o->letter;
			if (o->type != ARGS_FLAG)
				*p++ = ':';
		}
		if (o->name != NULL) {
			longopts[nlong].name = o->name;
			longopts[nlong].has_arg = o->type != ARGS_FLAG ? required_argument :
			    no_argument;
			longopts[nlong++].val = ARGS_VAL + (int)i;
		}
	}
	*p = '\0';

	/* A scan of its own, and the usage line, not getopt's messages, for a bad option. */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (c >= ARGS_VAL)
			i = (size_t)(c - ARGS_VAL);
		else {
			for (i = 0; i < f.n && f.options[i]->letter != c; i++)
				;
		}
		/* '?': an unknown option, or one without its argument. */
		if (i == f.n)
			goto out;
		if (args_add(args, &f, i, f.options[i]->type != ARGS_FLAG ? optarg : NULL,
		    cause) != 0)
			goto out;
	}
	args->argc = argc - optind;
	args->argv = argv + optind;
	if (args->argc >= spec->lower && (spec->upper < 0 || args->argc <= spec->upper))
		rc = 0;
out:
	free(shortopts);
	free(longopts);
	free(f.options);
	return rc;
}

/* Frees what ARGS holds; its strings are the command line's. */
void
args_free(struct args *args)
{
	free(args->values);
	memset(args, 0, sizeof *args);
}

/* Prints the options of F as the usage line shows them: [-n N] [--json | --csv]. */
static void
args_print_options(FILE *fp, const struct args_flat *f)
{
	const struct args_option *o;
	char *arg, *label;
	size_t i;

	for (i = 0; i < f->n; i++) {
		o = f->options[i];
		arg = o->type == ARGS_CHOICE ? args_choices(o, "|", "|") : NULL;
		label = args_label(o, arg != NULL ? arg : o->arg);
		fprintf(fp, "%s%s", i == 0 ? "[" : o->alternative ? " | " : " [", label);
		if (i + 1 == f->n || !f->options[i + 1]->alternative)
			fputc(']', fp);
		free(label);
		free(arg);
	}
}

/*
 * Prints the arguments of the usage line of SPEC, what follows "usage: heapscope COMMAND ": the
 * options and the arguments, in the order the command takes them.
 */
void
args_print_usage(FILE *fp, const struct args_spec *spec)
{
	struct args_flat f = { NULL, 0 };

	args_flatten(&f, spec->options);
	if (!spec->in_order)
		fprintf(fp, "%s%s", spec->usage, f.n > 0 ? " " : "");
	args_print_options(fp, &f);
	if (spec->in_order)
		fprintf(fp, "%s%s", f.n > 0 ? " " : "", spec->usage);
	free(f.options);
}

/*
 * Prints one entry of the option list of --help: LABEL in a column of WIDTH, then the lines of
 * TEXT, the later ones indented to follow the first.
 */
static void
args_print_entry(FILE *fp, int width, const char *label, const char *text)
{
	const char *nl;

	assert((int)strlen(label) < width);
	fprintf(fp, "  %-*s", width, label);
	for (;;) {
		nl = strchr(text, '\n');
		fprintf(fp, "%.*s\n", nl != NULL ? (int)(nl - text) : (int)strlen(text), text);
		if (nl == NULL)
			break;
		text = nl + 1;
		fprintf(fp, "  %*s", width, "");
	}
}

/*
 * Prints the option list of --help for SPEC after a blank line, an entry for each option that
 * has help (for each word of an ARGS_CHOICE option); nothing if none has.
 */
void
args_print_help(FILE *fp, const struct args_spec *spec)
{
	struct args_flat f = { NULL, 0 };
	const struct args_option *o;
	char *label;
	size_t i, k;
	int any = 0;

	args_flatten(&f, spec->options);
	for (i = 0; i < f.n; i++) {
		o = f.options[i];
		for (k = 0; o->choice_help != NULL && o->choices[k] != NULL; k++) {
			if (!any++)
				fputc('\n', fp);
			label = args_label(o, o->choices[k]);
			args_print_entry(fp, spec->width, label, o->choice_help[k]);
			free(label);
		}
		if (o->help == NULL)
			continue;
		if (!any++)
			fputc('\n', fp);
		label = args_label(o, o->help_arg != NULL ? o->help_arg : o->arg);
		args_print_entry(fp, spec->width, label, o->help);
		free(label);
	}
	free(f.options);
}
