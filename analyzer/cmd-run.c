/*
 * heapscope run: runs a command with the preload library injected and says where its database
 * went.  The settings travel in the environment (heapscope(7)): LD_PRELOAD gets the library in
 * front of whatever it held, the options become HEAPSCOPE_OUTPUT, HEAPSCOPE_DEPTH,
 * HEAPSCOPE_INTERVAL and HEAPSCOPE_SIGNAL, and HEAPSCOPE_TARGET_PID names the child so the preload
 * stays dormant in the processes the child executes (unless --follow).  PYTHONPATH gets the
 * directory of the heapscope Python module in front, so that `import heapscope` works in a
 * traced Python program.
 *
 * While the child runs, heapscope behaves like system(3): it ignores SIGINT and SIGQUIT (the
 * terminal sends them to the child too) and forwards SIGTERM and SIGHUP to the child.  Those four
 * are blocked from before the fork until the child's pid is known, and the child restores them
 * before exec.  An exec failure comes back through a close-on-exec pipe, so it is reported by
 * main like any error (status 127 for a missing command, 126 otherwise).  The child's exit
 * status becomes heapscope's; if it died of a signal, main raises the same signal.
 *
 * With --leak-check, once the child has ended, the last scanned snapshot of its database is
 * summed by lost.c as heapscope leaks sums it (with the same suppressions), and the summary
 * goes to the standard error, as valgrind prints its LEAK SUMMARY.  With --error-exitcode=N,
 * N replaces the child's exit status when a block was definitely lost or a cycle leaked.  The
 * suppressions are read before the child runs, so that a bad file costs no run.
 */
#include "analyzer.h"
#include "schema.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "lost.h"

#ifndef HS_PRELOAD_PATH
#define HS_PRELOAD_PATH "/usr/local/lib/heapscope/libheapscope.so"
#endif
/* The directory of the heapscope Python module, put in front of the child's PYTHONPATH. */
#ifndef HS_PYTHON_DIR
#define HS_PYTHON_DIR "/usr/local/share/heapscope/python"
#endif
/* The text of the number N, a macro: RUN_STRING(HS_MAX_DEPTH) is "256". */
#define RUN_STRING(n) RUN_STRING_(n)
#define RUN_STRING_(n) #n

/*
 * The signals the parent handles while it waits, and what it does with them: the first
 * run_nsignals entries.  run_command appends the snapshot signal (SIGUSR2 unless --signal)
 * into the last, spare entry when it is none of the others, so that `kill -USR2` sent to
 * heapscope reaches the traced command.
 */
static struct {
	int	sig;		/* signal number */
	int	forward;	/* 1: send it to the child; 0: ignore it */
} run_signals[] = {
	{ SIGINT, 0 },
	{ SIGQUIT, 0 },
	{ SIGTERM, 1 },
	{ SIGHUP, 1 },
	{ 0, 1 }
};
#define RUN_NSIGNALS (sizeof run_signals / sizeof run_signals[0])
static size_t run_nsignals;	/* entries in use */

/* The child's pid, for the forwarding handler; 0 while there is none. */
static volatile sig_atomic_t run_child;

/* The options of one run. */
struct run_options {
	const char	*output;	/* -o pattern, NULL for the preload's default name */
	const char	*depth;		/* --depth, NULL if not given */
	const char	*interval;	/* --interval, NULL if not given */
	const char	*signal;	/* --signal, NULL if not given */
	int		 follow;	/* --follow: trace the processes the child executes too */
	int		 leak_check;	/* --leak-check (or implied): sum the leaks at the end */
	int		 error_exitcode; /* --error-exitcode: the status if leaks are found, 0:
					   the child's status whatever they are */
};

/* Sends the signal to the child. */
static void
run_forward(int sig)
{
	int saved = errno;

	if (run_child > 0)
		kill((pid_t)run_child, sig);
	errno = saved;
}

/*
 * Returns the number of the signal S names, as the preload accepts it for snapshots
 * (heapscope(7)): a name like USR2 or SIGUSR2, RTMIN+N, or a number; 0 for "none"; -1 for
 * anything else, signals that cannot be caught or that report faults included.
 */
static int
run_signal_number(const char *s)
{
	static const struct {
		const char	*name;	/* without "SIG" */
		int		 sig;	/* its number */
	} names[] = {
		{ "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT }, { "USR1", SIGUSR1 },
		{ "USR2", SIGUSR2 }, { "TERM", SIGTERM }, { "ALRM", SIGALRM }, { "PROF", SIGPROF },
		{ "WINCH", SIGWINCH }, { "URG", SIGURG }, { "PWR", SIGPWR }, { "TTIN", SIGTTIN },
		{ "TTOU", SIGTTOU }, { "VTALRM", SIGVTALRM }, { "XCPU", SIGXCPU },
		{ "XFSZ", SIGXFSZ }
	};
	char *end;
	size_t i;
	long n;

	if (strcmp(s, "none") == 0)
		return 0;
	if (strncmp(s, "SIG", 3) == 0)
		s += 3;
	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strcmp(s, names[i].name) == 0)
			return names[i].sig;
	}
	if (strncmp(s, "RTMIN+", 6) == 0) {
		s += 6;
		if (*s < '0' || *s > '9')
			return -1;
		n = strtol(s, &end, 10);
		return *end == '\0' && n <= SIGRTMAX - SIGRTMIN ? SIGRTMIN + (int)n : -1;
	}
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtol(s, &end, 10);
	/* Not 0, nor glibc's reserved signals between SIGSYS and SIGRTMIN. */
	if (errno != 0 || *end != '\0' || n < 1 || n > SIGRTMAX || (n > SIGSYS && n < SIGRTMIN) ||
	    n == SIGKILL || n == SIGSTOP || n == SIGSEGV || n == SIGBUS || n == SIGILL ||
	    n == SIGFPE)
		return -1;
	return (int)n;
}

/* Checks that the -o argument ARG names a file: it is not empty. */
static int
run_check_output(const struct args *args, const char *arg, char **cause)
{
	(void)args;
	(void)cause;
	return *arg != '\0' ? 0 : -1;
}

/* Checks that the --interval argument ARG is a number of seconds, at most 1e9. */
static int
run_check_interval(const struct args *args, const char *arg, char **cause)
{
	char *end;
	double d;

	(void)args;
	(void)cause;
	errno = 0;
	d = strtod(arg, &end);
	return end == arg || *end != '\0' || errno != 0 || !(d >= 0) || d > 1e9 ? -1 : 0;
}

/* Checks that the --signal argument ARG names a signal for snapshots, or none. */
static int
run_check_signal(const struct args *args, const char *arg, char **cause)
{
	(void)args;
	(void)cause;
	return run_signal_number(arg) < 0 ? -1 : 0;
}

/* Sets *O from the command line ARGS. */
static void
run_options_set(struct run_options *o, const struct args *args)
{
	memset(o, 0, sizeof *o);
	o->output = args_get(args, 'o');
	o->depth = args_get(args, 'd');
	o->interval = args_get(args, 'i');
	o->signal = args_get(args, 's');
	o->follow = args_has(args, 'f') > 0;
	/* --error-exitcode and --suppressions imply --leak-check. */
	o->leak_check = args_has(args, 'l') + args_has(args, 'e') + args_has(args, 'S') > 0;
	o->error_exitcode = (int)args_number(args, 'e', 0);
}

/* Returns PATH made absolute against the working directory, in a new string; NULL on error. */
static char *
run_absolute(const char *path, char **cause)
{
	char cwd[PATH_MAX];

	if (path[0] == '/')
		return xstrdup(path);
	if (getcwd(cwd, sizeof cwd) == NULL) {
		*cause = xasprintf("working directory: %s", strerror(errno));
		return NULL;
	}
	return xasprintf("%s/%s", cwd, path);
}

/* Returns VALUE, or DEFAULT_VALUE when VALUE is NULL or empty. */
static const char *
run_default(const char *value, const char *default_value)
{
	return value != NULL && *value != '\0' ? value : default_value;
}

/* Puts DIR in front of the list of directories in the environment variable NAME; 0 or -1. */
static int
run_prepend(const char *name, const char *dir)
{
	const char *old = getenv(name);
	char *list;
	int rc;

	if (old != NULL && *old != '\0')
		list = xasprintf("%s:%s", dir, old);
	else
		list = xstrdup(dir);
	rc = setenv(name, list, 1);
	free(list);
	return rc;
}

/*
 * Sets the environment the preload reads, and PYTHONPATH so that Python programs find the
 * heapscope module in PYDIR; returns 0, or -1 with *CAUSE set.
 */
static int
run_environment(const struct run_options *o, const char *library, const char *pydir,
    char **cause)
{
	char *output, *dir;
	int rc;

	rc = run_prepend("LD_PRELOAD", library);
	if (rc == 0) {
		/* Absolute, so a child that changes directory still finds the module. */
		if ((dir = run_absolute(pydir, cause)) == NULL)
			return -1;
		rc = run_prepend("PYTHONPATH", dir);
		free(dir);
	}
	if (rc == 0 && o->output != NULL) {
		/* Absolute, so a child that changes directory still writes where we look. */
		if ((output = run_absolute(o->output, cause)) == NULL)
			return -1;
		rc = setenv("HEAPSCOPE_OUTPUT", output, 1);
		free(output);
	}
	if (rc == 0 && o->depth != NULL)
		rc = setenv("HEAPSCOPE_DEPTH", o->depth, 1);
	if (rc == 0 && o->interval != NULL)
		rc = setenv("HEAPSCOPE_INTERVAL", o->interval, 1);
	if (rc == 0 && o->signal != NULL)
		rc = setenv("HEAPSCOPE_SIGNAL", o->signal, 1);
	/* Not inherited from an outer heapscope run: set per child, or not at all. */
	if (rc == 0)
		rc = unsetenv("HEAPSCOPE_TARGET_PID");
	if (rc != 0) {
		*cause = xasprintf("environment: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Returns the -o pattern with %p expanded to PID and %% to %, in a new string. */
static char *
run_expand(const char *pattern, pid_t pid)
{
	char *out, *s;
	size_t n = 0, len = strlen(pattern) * 12 + 1;

	out = xmalloc(len);
	for (; *pattern != '\0'; pattern++) {
		if (pattern[0] == '%' && pattern[1] == 'p') {
			n += snprintf(out + n, len - n, "%ld", (long)pid);
			pattern++;
		} else if (pattern[0] == '%' && pattern[1] == '%') {
			out[n++] = '%';
			pattern++;
		} else
			out[n++] = *pattern;
	}
	out[n] = '\0';
	s = xstrdup(out);
	free(out);
	return s;
}

/* Returns the database the child PID wrote, in a new string, or NULL if there is none. */
static char *
run_database(const struct run_options *o, pid_t pid)
{
	struct stat sb;
	glob_t g;
	char *path, *pattern;

	if (o->output != NULL) {
		path = run_expand(o->output, pid);
		if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
			return path;
		free(path);
		return NULL;
	}
	/* heapscope.<program>.<pid>.db, where the program's name may not be the command's. */
	pattern = xasprintf("heapscope.*.%ld.db", (long)pid);
	path = NULL;
	if (glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc > 0)
		path = xstrdup(g.gl_pathv[0]);
	globfree(&g);
	free(pattern);
	return path;
}

/* Restores the actions of the signals handled, which SAVED holds. */
static void
run_restore(const struct sigaction *saved)
{
	size_t i;

	for (i = 0; i < run_nsignals; i++)
		sigaction(run_signals[i].sig, &saved[i], NULL);
}

/* In the child: restores the signals, names itself as the target and executes ARGV. */
static void __attribute__((noreturn))
run_child_exec(char **argv, const struct run_options *o, const struct sigaction *saved,
    const sigset_t *mask, int fd)
{
	char pid[32];
	int error;

	run_restore(saved);
	sigprocmask(SIG_SETMASK, mask, NULL);
	if (!o->follow) {
		snprintf(pid, sizeof pid, "%ld", (long)getpid());
		if (setenv("HEAPSCOPE_TARGET_PID", pid, 1) != 0) {
			error = errno;
			goto fail;
		}
	}
	execvp(argv[0], argv);
	error = errno;
fail:
	/* The parent reports it; nothing useful can be done if the write fails. */
	if (write(fd, &error, sizeof error) < 0)
		_exit(126);
	_exit(error == ENOENT ? 127 : 126);
}

/*
 * Sums the leaks of the last scanned snapshot of the database PATH into L, which holds the
 * suppressions, and prints the summary on the standard error.  Sets *FOUND if a block was
 * definitely lost or a cycle leaked.  A database with no scanned snapshot only gets a warning.
 * Returns 0, or -1 with *CAUSE set.
 */
static int
run_leaks(struct lost *l, const char *path, int *found, char **cause)
{
	struct db *db;
	char *why = NULL;
	int rc = -1;

	*found = 0;
	if ((db = db_open(path, cause)) == NULL)
		return -1;
	if (lost_choose(l, db, NULL, NULL, &why) != 0) {
		cmd_warn("%s; leaks not checked", why);
		free(why);
		rc = 0;
	} else if (lost_compute(l, cause) == 0) {
		fflush(stdout);
		lost_print_summary(stderr, l, "heapscope: ");
		if (lost_any(l))
			fprintf(stderr, "heapscope: where they were allocated:"
			    " heapscope leaks %s\n", path);
		*found = lost_found(l);
		rc = 0;
	}
	/* The report's temporary tables go with it, before the database is closed. */
	lost_free(l);
	db_close(db);
	return rc;
}

/*
 * Runs COMMAND as OPTS says, and checks its leaks with L if OPTS asks; sets *EXIT_HOW to end as
 * the command ended, or with --error-exitcode's status.
 */
static enum cmd_retval
run_command(char **command, const struct run_options *opts, struct lost *l,
    struct cmd_exit *exit_how, char **cause)
{
	struct run_options o = *opts;
	struct sigaction act, saved[RUN_NSIGNALS];
	sigset_t block, mask;
	const char *library, *env;
	char *real, *database;
	pid_t pid;
	ssize_t n;
	size_t i;
	int fds[2], status, snap, error = 0, found = 0;

	library = run_default(getenv("HEAPSCOPE_LIBRARY"), HS_PRELOAD_PATH);
	/* Absolute, so the processes the child runs in other directories load it too. */
	if ((real = realpath(library, NULL)) == NULL) {
		*cause = xasprintf("preload library %s: %s", quote(library), strerror(errno));
		return CMD_RETURN_ERROR;
	}
	if (access(real, R_OK) != 0) {
		*cause = xasprintf("preload library %s: %s", quote(real), strerror(errno));
		free(real);
		return CMD_RETURN_ERROR;
	}
	/* The preload reads HEAPSCOPE_OUTPUT too: find its database where it will be. */
	if (o.output == NULL && (env = getenv("HEAPSCOPE_OUTPUT")) != NULL && *env != '\0')
		o.output = env;
	/* The preload never overwrites a file: say so now rather than after the run. */
	if (o.output != NULL && strstr(o.output, "%p") == NULL) {
		database = run_expand(o.output, 0);
		if (access(database, F_OK) == 0) {
			*cause = xasprintf("%s: %s", quote(database), strerror(EEXIST));
			free(database);
			free(real);
			return CMD_RETURN_ERROR;
		}
		free(database);
	}
	if (run_environment(&o, real, run_default(getenv("HEAPSCOPE_PYTHON_DIR"), HS_PYTHON_DIR),
	    cause) != 0) {
		free(real);
		return CMD_RETURN_ERROR;
	}
	free(real);
	if (pipe2(fds, O_CLOEXEC) != 0) {
		*cause = xasprintf("pipe: %s", strerror(errno));
		return CMD_RETURN_ERROR;
	}

	/*
	 * The snapshot signal too, so that it works sent to heapscope as to the command
	 * (run_environment has put --signal in HEAPSCOPE_SIGNAL).
	 */
	snap = run_signal_number(run_default(getenv("HEAPSCOPE_SIGNAL"), "USR2"));
	run_nsignals = RUN_NSIGNALS - 1;	/* all but the spare entry */
	for (i = 0; i < run_nsignals; i++) {
		if (run_signals[i].sig == snap) {
			run_signals[i].forward = 1;
			snap = 0;
		}
	}
	if (snap > 0)
		run_signals[run_nsignals++].sig = snap;

	sigemptyset(&block);
	for (i = 0; i < run_nsignals; i++)
		sigaddset(&block, run_signals[i].sig);
	sigprocmask(SIG_BLOCK, &block, &mask);
	for (i = 0; i < run_nsignals; i++) {
		memset(&act, 0, sizeof act);
		act.sa_handler = run_signals[i].forward ? run_forward : SIG_IGN;
		sigemptyset(&act.sa_mask);
		act.sa_flags = SA_RESTART;
		sigaction(run_signals[i].sig, &act, &saved[i]);
	}

	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == 0)
		run_child_exec(command, &o, saved, &mask, fds[1]);
	if (pid > 0)
		run_child = pid;
	else
		error = errno;
	sigprocmask(SIG_SETMASK, &mask, NULL);
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		run_restore(saved);
		*cause = xasprintf("fork: %s", strerror(error));
		return CMD_RETURN_ERROR;
	}

	/* End of file: the exec worked.  An int: its errno. */
	do
		n = read(fds[0], &error, sizeof error);
	while (n < 0 && errno == EINTR);
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			*cause = xasprintf("wait: %s", strerror(errno));
			return CMD_RETURN_ERROR;
		}
	}
	run_child = 0;
	run_restore(saved);

	if (n == (ssize_t)sizeof error) {
		*cause = xasprintf("%s: %s", quote(command[0]), strerror(error));
		exit_how->status = error == ENOENT ? 127 : 126;
		return CMD_RETURN_ERROR;
	}

	if ((database = run_database(&o, pid)) != NULL)
		fprintf(stderr, "heapscope: database in %s\n", database);
	else
		fputs("heapscope: no database was written\n", stderr);
	if (o.leak_check && database == NULL)
		cmd_warn("leaks not checked");
	else if (o.leak_check && run_leaks(l, database, &found, cause) != 0) {
		free(database);
		return CMD_RETURN_ERROR;
	}
	free(database);

	if (WIFSIGNALED(status)) {
		*cause = xasprintf("%s killed by signal %d (%s)%s", quote(command[0]),
		    WTERMSIG(status), strsignal(WTERMSIG(status)),
		    WCOREDUMP(status) ? ", core dumped" : "");
		exit_how->signal = WTERMSIG(status);
		exit_how->status = 128 + WTERMSIG(status);
		return CMD_RETURN_ERROR;
	}
	exit_how->status = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
	if (found && o.error_exitcode != 0)
		exit_how->status = o.error_exitcode;
	return CMD_RETURN_NORMAL;
}

static enum cmd_retval
cmd_run_exec(const struct args *args, struct cmd_exit *exit_how, char **cause)
{
	struct run_options o;
	struct lost l;
	enum cmd_retval retval;
	const char *file;
	size_t i = 0;

	run_options_set(&o, args);
	lost_init(&l);
	while ((file = args_next(args, 'S', &i)) != NULL) {
		if (lost_supp_load(&l, file, cause) != 0) {
			lost_free(&l);
			return CMD_RETURN_ERROR;
		}
	}
	retval = run_command(args->argv, &o, &l, exit_how, cause);
	lost_free(&l);
	return retval;
}

/* The options of run, which run_options_set asks for by their letters. */
static const struct args_option run_options[] = {
	{ .type = ARGS_STRING, .name = "output", .letter = 'o', .id = 'o', .arg = "FILE",
	  .what = "a file name", .check = run_check_output },
	{ .type = ARGS_NUMBER, .name = "depth", .id = 'd', .arg = "N", .min = 1,
	  .max = HS_MAX_DEPTH, .what = "a number of frames from 1 to " RUN_STRING(HS_MAX_DEPTH) },
	{ .type = ARGS_STRING, .name = "interval", .id = 'i', .arg = "SECONDS",
	  .what = "a number of seconds", .check = run_check_interval },
	{ .type = ARGS_STRING, .name = "signal", .id = 's', .arg = "SIG|none",
	  .what = "a name like USR2 or SIGUSR2, a number, or none", .check = run_check_signal },
	{ .type = ARGS_FLAG, .name = "follow", .id = 'f' },
	{ .type = ARGS_FLAG, .name = "leak-check", .id = 'l' },
	{ .type = ARGS_NUMBER, .name = "error-exitcode", .id = 'e', .arg = "N", .min = 0,
	  .max = 255, .what = "a status from 0 to 255" },
	{ .type = ARGS_STRING, .name = "suppressions", .id = 'S', .arg = "FILE", .repeat = 1 },
	{ .type = ARGS_END }
};

const struct cmd_entry cmd_run_entry = {
	.name = "run",
	.args = { .usage = "-- COMMAND [ARG...]", .lower = 1, .upper = -1, .in_order = 1,
	    .options = run_options },
	.help = "Run COMMAND with its heap traced into a database (-o FILE, %p is the pid).",
	.exec = cmd_run_exec
};
