/* logthra-flush --status: reads the spool without changing it or taking
 * the flush lock, with the state file that every run updates
 * (flush_state.h), and reports, as text or JSON, what waits, the last
 * runs, and whether ClickHouse answers.  The report is specified in
 * logthra-flush(1). */
#ifndef LOGTHRA_STATUS_H
#define LOGTHRA_STATUS_H

#include <stdint.h>

#include "backlog.h"
#include "buf.h"
#include "flush_state.h"
#include "options.h"

/* Exit statuses of --status besides LT_EX_OK and LT_EX_ERROR. */
#define LT_STATUS_LAST_RUN_FAILED 2
#define LT_STATUS_NO_CLICKHOUSE 3

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

/* s as a JSON string, quoted and escaped; bytes that are not UTF-8
 * become U+FFFD.  Returns 0 or -1. */
int lt_json_string(struct lt_buf *out, const char *s);

/* logthra-flush --status: gathers the report (ping: ask ClickHouse
 * SELECT 1), prints it and returns the exit status: LT_EX_OK, LT_EX_ERROR
 * when the spool cannot be read, LT_STATUS_NO_CLICKHOUSE when ClickHouse
 * does not answer, LT_STATUS_LAST_RUN_FAILED when the last run recorded
 * did not end with 0. */
int lt_status_main(struct lt_options *o, int json, int ping);

#endif
