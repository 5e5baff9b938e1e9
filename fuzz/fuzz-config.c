/* libFuzzer target: the configuration file.  The input is the file, read
 * by lt_options_load() from a memfd through /proc/self/fd, with no
 * LOGTHRA_* variable in the environment and error messages off.  After a
 * successful load every setting must be within its documented range,
 * every [tenant NAME] setting must apply, and lt_options_print() must
 * print one "name = value" line per setting, then the sections.
 * LeakSanitizer checks that loading and freeing, successful or not,
 * leaves nothing behind.
 *
 * The input, up to its first NUL byte, is also given to lt_parse_size()
 * and lt_parse_duration(): a value they accept must come back the same
 * when printed in its smallest unit and parsed again. */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "options.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

extern char **environ;

static int file_fd = -1, out_fd = -1;
static char path[64];
static size_t n_settings; /* lines lt_options_print() prints for defaults */

/* What lt_options_print() wrote to stdout since the last call; stdout
 * is the memfd out_fd.  Returns a malloc'ed NUL-terminated string. */
static char *
take_stdout(size_t *len)
{
	off_t end;
	char *s;

	if (fflush(stdout) != 0 || (end = lseek(out_fd, 0, SEEK_CUR)) < 0)
		abort();
	if ((s = malloc((size_t)end + 1)) == NULL)
		abort();
	if (pread(out_fd, s, (size_t)end, 0) != (ssize_t)end)
		abort();
	s[end] = '\0';
	if (ftruncate(out_fd, 0) < 0 || lseek(out_fd, 0, SEEK_SET) < 0)
		abort();
	*len = (size_t)end;
	return s;
}

static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct lt_options o;
	char **e, name[256];
	size_t len;
	char *out;

	(void)argc;
	(void)argv;
	/* Unset one at a time: unsetenv() moves the rest of environ. */
	for (e = environ; *e != NULL;) {
		len = strcspn(*e, "=");
		if (strncmp(*e, "LOGTHRA_", 8) != 0 || len >= sizeof(name)) {
			e++;
			continue;
		}
		memcpy(name, *e, len);
		name[len] = '\0';
		if (unsetenv(name) < 0)
			abort();
		e = environ;
	}
	lt_log_set_verbosity(-1); /* below errors: lt_error() is quiet */
	file_fd = memfd_create("fuzz-config", MFD_CLOEXEC);
	out_fd = memfd_create("fuzz-config-stdout", MFD_CLOEXEC);
	if (file_fd < 0 || out_fd < 0 || fflush(stdout) != 0 ||
	    dup2(out_fd, STDOUT_FILENO) < 0)
		abort();
	(void)snprintf(path, sizeof(path), "/proc/self/fd/%d", file_fd);

	lt_options_defaults(&o);
	lt_options_print(&o);
	lt_options_free(&o);
	out = take_stdout(&len);
	n_settings = count_lines(out);
	free(out);
	if (n_settings < 30)
		abort();
	return 0;
}

static int
one_of(const char *s, const char *a, const char *b)
{
	return s != NULL && (strcmp(s, a) == 0 || strcmp(s, b) == 0);
}

static void
check_limits(const struct lt_limits *l)
{
	if (l->creation_grace_ns < 0 || l->max_age_ns < 0)
		abort();
}

static void
check_values(const struct lt_options *o)
{
	const char *why;
	struct lt_limits l;
	size_t i;

	if (o->config_file == NULL || strcmp(o->config_file, path) != 0)
		abort();
	/* Settings that always have a value. */
	if (o->spool == NULL || o->clickhouse_url == NULL ||
	    o->database == NULL || o->table == NULL)
		abort();
	/* logthra(7): "at most 64KiB". */
	if (o->http.max_header_size > 65536 || o->http.read_timeout_ms < 0 ||
	    o->http.idle_timeout_ms < 0 || o->http.request_timeout_ms < 0 ||
	    o->follow_delay_ms < 0)
		abort();
	if (o->tmp_max_age_s < 0 || o->clickhouse_timeout_s < 0 ||
	    o->retry_min_delay_s < 0 || o->retry_max_delay_s < 0 ||
	    o->archive_retention_s < 0)
		abort();
	if ((o->after_flush_archive != 0 && o->after_flush_archive != 1) ||
	    (o->trust_remote_user != 0 && o->trust_remote_user != 1) ||
	    o->auth != NULL ||
	    !one_of(o->archive_format, "zstd", "gzip") ||
	    !one_of(o->archive_period, "day", "hour"))
		abort();
	check_limits(&o->limits);
	for (i = 0; i < o->n_tenant_settings; i++) {
		if (lt_tenant_valid(o->tenant_settings[i].tenant, &why) < 0)
			abort();
		lt_options_limits_for(o, o->tenant_settings[i].tenant, &l);
		check_limits(&l);
	}
	/* A name no section can have ('/' is not in a tenant id): the
	 * fuzzer once wrote a section for a plain name taken from here. */
	lt_options_limits_for(o, "no/such/tenant", &l);
	if (memcmp(&l, &o->limits, sizeof(l)) != 0)
		abort();
}

/* n_settings "name = value" lines, then for each tenant section an empty
 * line, "[tenant NAME]" and its settings. */
static void
check_printed(const struct lt_options *o)
{
	size_t len, lines = 0, sections = 0;
	char *out = take_stdout(&len), *line, *nl;

	for (line = out; *line; line = nl + 1) {
		if ((nl = strchr(line, '\n')) == NULL)
			abort();
		*nl = '\0';
		if (lines < n_settings) {
			if (strstr(line, " = ") == NULL)
				abort();
			if (strncmp(line, "clickhouse_password = ", 22) == 0 &&
			    o->clickhouse_password != NULL &&
			    strcmp(line + 22, "********") != 0)
				abort();
		} else if (line[0] == '\0') {
			sections++;
		} else if (line[0] != '[' && strstr(line, " = ") == NULL) {
			abort();
		}
		lines++;
	}
	if (lines < n_settings || (o->n_tenant_settings == 0 && lines != n_settings))
		abort();
	if (lines != n_settings + 2 * sections + o->n_tenant_settings)
		abort();
	/* No NUL byte inside: the lines above covered it all. */
	if (line != out + len)
		abort();
	free(out);
}

static void
check_parsers(const uint8_t *data, size_t size)
{
	char *s, again[64];
	size_t n, n2;
	int64_t ns, ns2;

	if ((s = malloc(size + 1)) == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	if (lt_parse_size(s, &n) == 0) {
		(void)snprintf(again, sizeof(again), "%zu", n);
		if (lt_parse_size(again, &n2) < 0 || n2 != n)
			abort();
	}
	if (lt_parse_duration(s, &ns) == 0) {
		/* Every unit is a whole number of milliseconds. */
		if (ns < 0 || ns % 1000000 != 0)
			abort();
		(void)snprintf(again, sizeof(again), "%" PRId64 "ms",
			       ns / 1000000);
		if (lt_parse_duration(again, &ns2) < 0 || ns2 != ns)
			abort();
	}
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lt_options o;

	if (ftruncate(file_fd, 0) < 0 ||
	    (size > 0 && pwrite(file_fd, data, size, 0) != (ssize_t)size))
		abort();
	lt_options_defaults(&o);
	if (lt_options_load(&o, path) == 0) {
		check_values(&o);
		lt_options_print(&o);
		check_printed(&o);
	}
	lt_options_free(&o);
	check_parsers(data, size);
	return 0;
}
