/*
 * Opening a heapscope database for the analyzer and finding snapshots in it.  See db.c.
 */
#ifndef DB_H
#define DB_H

#include <stdint.h>

#include <sqlite3.h>

/* An open database. */
struct db {
	sqlite3	*sq;		/* the connection */
	char	*path;		/* file name as given on the command line */
	int	 writable;	/* 1 when opened read-write, so the symbol cache can be written */
};

/* One row of the snapshots table. */
struct db_snapshot {
	int64_t	 id;		/* snapshots.id */
	char	*label;		/* snapshots.label, NULL when it has none */
	char	*trigger;	/* snapshots.trigger: api, signal, interval or exit */
	double	 time;		/* Unix time it was taken */
	double	 elapsed;	/* seconds since tracing began */
	int64_t	 live_bytes;	/* bytes of live heap blocks */
	int64_t	 live_blocks;	/* live heap blocks */
	int	 full;		/* 1 when the blocks table holds every live block */
	int	 scanned;	/* 1 when a reachability scan classified its blocks */
};

struct db	*db_open(const char *, char **);
void		 db_close(struct db *);
char		*db_cause(struct db *, int);
sqlite3_stmt	*db_prepare(struct db *, const char *, char **);
int		 db_rows(struct db *, const char *, int (*)(sqlite3_stmt *, void *, char **),
		     void *, char **);
int		 db_read_begin(struct db *);
void		 db_read_end(struct db *, int);
int		 db_snapshot_find(struct db *, const char *, struct db_snapshot *, char **);
int		 db_snapshot_is_peak(struct db *, int64_t, char **);
int		 db_snapshot_scanned(struct db *, struct db_snapshot *, char **);
void		 db_snapshot_clear(struct db_snapshot *);
void		 db_snapshot_json(const struct db_snapshot *);
void		 db_snapshot_print(const char *, const struct db_snapshot *);

#endif
