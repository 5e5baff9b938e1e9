/* Messages in the PostgreSQL client style on stderr or syslog, and the
 * last error kept for logthra-flush's state file (log.h). */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

static const char *progname = "logthra";
static int verbosity;
static int use_syslog;
static char last_error[1024];
static int last_error_open; /* a detail now belongs to last_error */

void
lt_log_init(const char *name)
{
	const char *slash = strrchr(name, '/');

	progname = slash ? slash + 1 : name;
}

const char *
lt_progname(void)
{
	return progname;
}

void
lt_log_set_verbosity(int level)
{
	verbosity = level;
}

void
lt_log_to_syslog(void)
{
	openlog(progname, LOG_PID, LOG_DAEMON);
	use_syslog = 1;
}

int
lt_log_verbosity(void)
{
	return verbosity;
}

const char *
lt_log_last_error(void)
{
	return last_error;
}

void
lt_log_clear_last_error(void)
{
	last_error[0] = '\0';
	last_error_open = 0;
}

/* Keeps an error and its details as one line of text. */
static void
remember(const char *kind, const char *text)
{
	size_t n;
	char *p;

	if (strcmp(kind, "error") == 0) {
		last_error[0] = '\0';
		last_error_open = 1;
	} else if (strcmp(kind, "detail") != 0 || !last_error_open) {
		last_error_open = 0;
		return;
	}
	n = strlen(last_error);
	(void)snprintf(last_error + n, sizeof(last_error) - n, "%s%s",
		       n > 0 ? ": " : "", text);
	for (p = last_error + n; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

/* The format comes from a logger's caller, which the compiler checks
 * (log.h); saying so here lets it accept the format passed on. */
static void LT_PRINTF(3, 0)
emit(int priority, const char *kind, const char *fmt, va_list ap)
{
	/* One fprintf for the prefix and one for the text; stderr is
	 * unbuffered, so build the line first to keep it whole when several
	 * processes share one error log (fcgiwrap, inetd). */
	char line[4096];
	int n;

	n = snprintf(line, sizeof(line), "%s: %s%s", progname, kind,
		     *kind ? ": " : "");
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	(void)vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	remember(kind, line + n);
	if (use_syslog) /* syslog adds the program name itself */
		syslog(priority, "%s", line + strlen(progname) + 2);
	else
		(void)fprintf(stderr, "%s\n", line);
}

#define DEFINE_LOGGER(fn, priority, kind, minlevel)                                 \
	void fn(const char *fmt, ...)                                      \
	{                                                                  \
		va_list ap;                                                \
		if (verbosity < (minlevel))                                \
			return;                                            \
		va_start(ap, fmt);                                         \
		emit(priority, kind, fmt, ap);                                       \
		va_end(ap);                                                \
	}

DEFINE_LOGGER(lt_error, LOG_ERR, "error", 0)
DEFINE_LOGGER(lt_warning, LOG_WARNING, "warning", 0)
DEFINE_LOGGER(lt_detail, LOG_ERR, "detail", 0)
DEFINE_LOGGER(lt_hint, LOG_ERR, "hint", 0)
DEFINE_LOGGER(lt_info, LOG_INFO, "", 1)
DEFINE_LOGGER(lt_debug, LOG_DEBUG, "debug", 2)

void
lt_try_help(void)
{
	(void)fprintf(stderr, "Try \"%s --help\" for more information.\n",
		      progname);
}

void
lt_log_keep_stderr_off_the_wire(void)
{
	struct stat in, err;
	int fd;

	if (fstat(STDIN_FILENO, &in) < 0 || fstat(STDERR_FILENO, &err) < 0 ||
	    !S_ISSOCK(err.st_mode) || in.st_ino != err.st_ino ||
	    in.st_dev != err.st_dev)
		return;
	lt_log_to_syslog();
	fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
		lt_warning("could not redirect standard error: %m");
	if (fd > STDERR_FILENO)
		(void)close(fd);
}
