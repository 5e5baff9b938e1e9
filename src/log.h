/* Logging in the PostgreSQL client style: "prog: error: message" on
 * stderr, optionally followed by "prog: detail: ..." and "prog: hint: ..."
 * lines.  Normal output of a program goes to stdout, never through here. */
#ifndef LOGTHRA_LOG_H
#define LOGTHRA_LOG_H

#include <stdarg.h>

#define LT_PRINTF(f, a) __attribute__((format(printf, f, a)))

/* Sets the program name printed in front of every message. */
void lt_log_init(const char *progname);
const char *lt_progname(void);

/* Sends every later message to syslog (facility daemon) instead of
 * stderr: for when stderr is the client's connection (classic inetd). */
void lt_log_to_syslog(void);

/* Classic inetd hands the connection to stderr too: a message written
 * there would land in the middle of the HTTP stream.  When stderr is the
 * socket on stdin, logs to syslog from now on and points stderr at
 * /dev/null. */
void lt_log_keep_stderr_off_the_wire(void);

/* 0 = errors and warnings only, 1 = also lt_info(), 2 = also lt_debug(). */
void lt_log_set_verbosity(int level);
int lt_log_verbosity(void);

void lt_error(const char *fmt, ...) LT_PRINTF(1, 2);
void lt_warning(const char *fmt, ...) LT_PRINTF(1, 2);
void lt_detail(const char *fmt, ...) LT_PRINTF(1, 2);
void lt_hint(const char *fmt, ...) LT_PRINTF(1, 2);
void lt_info(const char *fmt, ...) LT_PRINTF(1, 2);
void lt_debug(const char *fmt, ...) LT_PRINTF(1, 2);

/* The last error message since lt_log_clear_last_error(), followed by
 * ": " and the detail lines logged right after it, as one line (control
 * characters made spaces, at most 1023 bytes); "" when there was none.
 * logthra-flush keeps it in its state file. */
const char *lt_log_last_error(void);
void lt_log_clear_last_error(void);

/* Prints 'Try "prog --help" for more information.' */
void lt_try_help(void);

#endif
