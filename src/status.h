/* What logthra-flush tells about itself: the state file SPOOL/flush.state
 * that every run updates, the metrics file for node_exporter's textfile
 * collector, and logthra-flush --status, which reads the spool without
 * changing it or taking the flush lock.  Formats in logthra-spool(5) and
 * logthra-flush(1). */
#ifndef LOGTHRA_STATUS_H
#define LOGTHRA_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "flush.h"
#include "options.h"

#define LT_STATE_FILE "flush.state"
#define LT_STATE_VERSION 1

/* Exit statuses of --status besides LT_EX_OK and LT_EX_ERROR. */
#define LT_STATUS_LAST_RUN_FAILED 2
#define LT_STATUS_NO_CLICKHOUSE 3

/* --- the state file --- */

struct lt_state_tenant {
	char *tenant;
	uint64_t entries;   /* of spool files flushed, over all runs */
	uint64_t bytes;     /* spool bytes of those files */
	uint64_t files;
};

struct lt_state {
	int64_t last_run_time;        /* unix seconds the run ended; 0: none */
	int64_t last_run_duration_us;
	int last_exit_status;
	int64_t last_success_time;    /* of the last run that ended with 0 */
	int64_t last_error_time;      /* of the last run that logged an error */
	char *last_error;             /* its last error, one line; NULL: none */
	uint64_t runs;
	uint64_t failures;            /* runs that did not end with 0 */
	struct lt_state_tenant *tenants; /* sorted by tenant */
	size_t n_tenants;
};

void lt_state_free(struct lt_state *s);

/* Parses the text of a state file into *s (emptied first).  Returns 0,
 * or -1 with the reason in err and *s empty. */
int lt_state_parse(struct lt_state *s, const char *text, size_t len,
		   char *err, size_t errlen);
/* Appends the text of a state file. Returns 0 or -1 (out of memory). */
int lt_state_format(const struct lt_state *s, struct lt_buf *out);

/* Reads SPOOL/flush.state.  Returns 0, ENOENT when there is none (no run
 * recorded), -1 when it is corrupt, or another errno value when it
 * cannot be read; err says why in the last two cases, and *s is empty
 * whenever it is not 0. */
int lt_state_read(const char *spool, struct lt_state *s, char *err,
		  size_t errlen);
/* Writes SPOOL/flush.state durably and atomically: flush.state.tmp,
 * fsync, rename, fsync SPOOL.  Only with the flush lock held.  Returns 0
 * or an errno value with err set. */
int lt_state_write(const char *spool, const struct lt_state *s, char *err,
		   size_t errlen);
/* Adds one run: its end time, duration, exit status, its last error
 * (NULL or "" for none) and the per-tenant counts.  Returns 0 or -1
 * (out of memory). */
int lt_state_add_run(struct lt_state *s, const struct lt_flush_stats *st,
		     int status, int64_t end_s, int64_t duration_us,
		     const char *error);

/* --- the backlog --- */

enum lt_backlog_state {
	LT_BL_READY,
	LT_BL_DEFERRED,
	LT_BL_ACTIVE,
	LT_BL_QUARANTINE,
	LT_BL_STATES
};

struct lt_backlog_tenant {
	char *tenant;
	size_t files[LT_BL_STATES];
	/* Of the waiting files, those of ready/, deferred/ and active/: */
	uint64_t entries;     /* from their END records */
	uint64_t bytes;       /* their sizes */
	size_t incomplete;    /* without a valid END: their entries are unknown */
	int64_t oldest_ns;    /* received_ns of the oldest; 0: none waits */
	int64_t next_retry_s; /* the earliest mtime in deferred/; 0: none */
	size_t deferred_due;  /* deferred files whose retry time has come */
};

struct lt_backlog {
	struct lt_backlog_tenant *v;  /* sorted by tenant */
	size_t n;
	struct lt_backlog_tenant total; /* tenant NULL */
};

/* Counts the spool's files per tenant and state, reading only the names
 * and the last 25 bytes of each waiting file.  Not a snapshot: files
 * that a running flush moves meanwhile may be counted twice or not at
 * all.  Returns 0, or an errno value with err set when the spool cannot
 * be read. */
int lt_backlog_scan(const char *spool, int64_t now_s, struct lt_backlog *b,
		    char *err, size_t errlen);
void lt_backlog_free(struct lt_backlog *b);

/* --- the flush lock --- */

/* Whether a process holds a lock on SPOOL/flush.lock, from the kernel's
 * table of locks (proc_locks: "/proc/locks"), which is read without
 * taking or testing any lock and so cannot disturb a flush.  Returns 1
 * with *pid the holder (0 when not shown), 0 when none does or the file
 * does not exist, -1 when it cannot tell (err says why). */
int lt_lock_holder(const char *spool, const char *proc_locks, long *pid,
		   char *err, size_t errlen);

/* --- writers --- */

/* s as a JSON string, quoted and escaped; bytes that are not UTF-8
 * become U+FFFD.  Returns 0 or -1. */
int lt_json_string(struct lt_buf *out, const char *s);
/* s as a Prometheus label value between double quotes: backslash,
 * double quote and line feed escaped.  Returns 0 or -1. */
int lt_prom_label_value(struct lt_buf *out, const char *s);

/* The metrics file's text, from the state and the backlog. */
int lt_metrics_format(struct lt_buf *out, const struct lt_state *s,
		      const struct lt_backlog *b, int64_t now_s);
/* Writes text to path atomically: path.tmp in its directory, renamed.
 * Returns 0 or an errno value with err set. */
int lt_metrics_write(const char *path, const struct lt_buf *text, char *err,
		     size_t errlen);

/* --- what logthra-flush does with them --- */

/* After a run, under the flush lock: adds the run to SPOOL/flush.state
 * and, with metrics_file set, writes the metrics.  A corrupt state file
 * is warned about and started afresh; every failure here is a warning,
 * never the run's failure. */
void lt_status_record_run(const struct lt_options *o,
			  const struct lt_flush_stats *st, int status,
			  int64_t end_s, int64_t duration_us, const char *error);

/* What --status found. */
struct lt_status_report {
	const char *spool;
	int64_t now_s;
	int spool_ok;            /* the backlog could be scanned */
	char spool_error[512];
	int lock;                /* 1 held, 0 free, -1 unknown */
	long lock_pid;
	char lock_program[32];   /* the holder's comm, or "" */
	char lock_error[256];
	int ch_checked;          /* 0 with --no-ping */
	int ch_ok;               /* SELECT 1 answered 1 */
	long ch_http_status;     /* 0: no answer */
	char ch_error[2048];
	char ch_url[512];        /* without a password */
	int state;               /* 0 read, ENOENT none, else unusable */
	char state_error[512];
	struct lt_state st;
	struct lt_backlog backlog;
	int exit_status;
};

/* Fills the exit status of a report in from what it found. */
void lt_status_judge(struct lt_status_report *r);
/* The report as text (pg_controldata's layout) or as one JSON object. */
int lt_status_text(struct lt_buf *out, const struct lt_status_report *r);
int lt_status_json(struct lt_buf *out, const struct lt_status_report *r);
void lt_status_report_free(struct lt_status_report *r);

/* logthra-flush --status: gathers the report (ping: ask ClickHouse
 * SELECT 1), prints it and returns the exit status: LT_EX_OK, LT_EX_ERROR
 * when the spool cannot be read, LT_STATUS_NO_CLICKHOUSE when ClickHouse
 * does not answer, LT_STATUS_LAST_RUN_FAILED when the last run recorded
 * did not end with 0. */
int lt_status_main(struct lt_options *o, int json, int ping);

#endif
