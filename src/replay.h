/* logthra-replay: recovery of interrupted work, and re-import of the
 * spool files held in archives. */
#ifndef LOGTHRA_REPLAY_H
#define LOGTHRA_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "options.h"

struct lt_recover_stats {
	size_t unclaimed;   /* files moved from active/ back to ready/ */
	size_t tmp_removed; /* stale receiver temp files removed */
	size_t archives_removed; /* half-written archives removed */
};

/* Takes the flush lock, moves every tenant's claimed files to deferred/
 * (due at once; the next flush asks ClickHouse what it holds of them),
 * removes receiver temp files older than o->tmp_max_age_s and
 * half-written archives.  Returns an exit status as lt_flush_run()
 * does. */
int lt_recover(const struct lt_options *o, struct lt_recover_stats *st);

/* The largest archive member logthra-replay reads into memory. */
#define LT_REPLAY_MAX_MEMBER ((size_t)1 << 30)

struct lt_replay_opts {
	const char *tenant;  /* NULL: every tenant */
	int64_t since_ns;    /* entries with since_ns <= ts < until_ns; 0 = open */
	int64_t until_ns;
	int dry_run;         /* print what would be imported, write nothing */
	int force;           /* into ready/ (inserted unconditionally), not deferred/ */
	int progress;        /* "\rARCHIVE: N files" updates on stderr */
};

struct lt_replay_stats {
	size_t archives; /* archives opened */
	size_t files;    /* spool files imported (or, with dry_run, that would be) */
	uint64_t entries; /* entries in them */
	size_t skipped;  /* valid spool files of another tenant or outside the window */
	size_t corrupt;  /* members that are not valid spool files (each logged) */
};

/* Re-imports the spool files held in an archive of any format libarchive
 * reads: each valid member of the tenant, cut down to the window, is
 * written into the tenant's deferred/ directory, due at once, so that the
 * next flush inserts only the rows ClickHouse does not hold yet; with
 * force into ready/.  Corrupt members are logged and counted.  Adds to
 * *st.  Returns 0; -1 when the archive cannot be opened or read to its
 * end (logged; what was read before stays imported); -2 when the spool
 * refused a file (logged; the caller should stop, exit status 75). */
int lt_replay_archive(const struct lt_options *o, const char *archive_path,
		      const struct lt_replay_opts *ro,
		      struct lt_replay_stats *st);

/* Parses the TIME of --since and --until: anything lt_parse_timestamp()
 * accepts, or a duration with a unit ("2h", "7d") meaning that long
 * before now_ns.  Returns 0, or -1 when s is neither. */
int lt_parse_time_arg(const char *s, int64_t now_ns, int64_t *ns);

#endif
