#include "config.h"

#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

static const char *progname = "logthra";
static int verbosity;
static int use_syslog;

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

static void
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
