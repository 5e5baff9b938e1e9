/* logthra-flush --status, SPOOL/flush.state and the metrics file.  See
 * status.h; the formats are specified in logthra-spool(5) (the state
 * file) and logthra-flush(1) (the report and the metrics). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "clickhouse.h"
#include "crc32c.h"
#include "fdio.h"
#include "file.h"
#include "log.h"
#include "push.h"
#include "spool.h"
#include "recv_stats.h"
#include "status.h"

/* A state file is a few lines per tenant; anything larger is not one. */
#define STATE_MAX (16u << 20)
/* The longest last_error kept. */
#define ERROR_MAX 1023
/* The smallest complete spool file: magic number, version, a header
 * record of a one-byte tenant (frame 9, payload 18) and the END record. */
#define MIN_SPOOL_FILE (LT_SPOOL_MAGIC_LEN + 4 + 9 + 18 + LT_END_LEN)
/* --status asks ClickHouse with these, not clickhouse_timeout: a
 * monitoring check must answer quickly. */
#define PING_CONNECT_S 2
#define PING_TIMEOUT_S 5

static const char *const state_dirs[LT_BL_STATES] = {
	"ready", "deferred", "active", "quarantine"
};

/* --- small parsers and formatters --- */

/* A decimal number and nothing else: no sign, no blanks. */
static int
parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' ||
		    v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static int
parse_i64(const char *s, int64_t *out)
{
	uint64_t v;

	if (parse_u64(s, INT64_MAX, &v) < 0)
		return -1;
	*out = (int64_t)v;
	return 0;
}

/* "2026-11-24 10:00:05 UTC" */
static void
format_time(char *buf, size_t len, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		(void)snprintf(buf, len, "@%" PRId64, t);
}

/* Seconds with six decimals, from microseconds, without floating point. */
static int
append_seconds_us(struct lt_buf *out, int64_t us)
{
	return lt_buf_printf(out, "%" PRId64 ".%06" PRId64, us / 1000000,
			     us % 1000000);
}

/* A copy of text as one line: control characters become spaces, and
 * at most ERROR_MAX bytes. */
static char *
one_line(const char *text)
{
	size_t n = strnlen(text, ERROR_MAX), i;
	char *s = malloc(n + 1);

	if (s == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		s[i] = (unsigned char)text[i] < 0x20 || text[i] == 0x7f ? ' ' : text[i];
	s[n] = '\0';
	return s;
}

/* --- the state file --- */

static void
state_clear_tenants(struct lt_state *s)
{
	size_t i;

	for (i = 0; i < s->n_tenants; i++)
		free(s->tenants[i].tenant);
	free(s->tenants);
	s->tenants = NULL;
	s->n_tenants = 0;
}

void
lt_state_free(struct lt_state *s)
{
	state_clear_tenants(s);
	free(s->last_error);
	memset(s, 0, sizeof(*s));
}

static int
tenant_compare(const void *a, const void *b)
{
	return strcmp(((const struct lt_state_tenant *)a)->tenant,
		      ((const struct lt_state_tenant *)b)->tenant);
}

static struct lt_state_tenant *
state_tenant(struct lt_state *s, const char *tenant, int *created)
{
	struct lt_state_tenant *t;
	size_t i;

	*created = 0;
	for (i = 0; i < s->n_tenants; i++)
		if (strcmp(s->tenants[i].tenant, tenant) == 0)
			return &s->tenants[i];
	t = realloc(s->tenants, (s->n_tenants + 1) * sizeof(*t));
	if (t == NULL)
		return NULL;
	s->tenants = t;
	t += s->n_tenants;
	memset(t, 0, sizeof(*t));
	t->tenant = strdup(tenant);
	if (t->tenant == NULL)
		return NULL;
	s->n_tenants++;
	*created = 1;
	return t;
}

/* "tenant NAME ENTRIES BYTES FILES" without its key. */
static int
parse_tenant_line(struct lt_state *s, char *value)
{
	struct lt_state_tenant *t;
	char *field[4], *p = value;
	const char *why;
	int i, created;

	for (i = 0; i < 4; i++) {
		field[i] = p;
		p = strchr(p, ' ');
		if ((p == NULL) != (i == 3))
			return -1;
		if (p != NULL)
			*p++ = '\0';
	}
	if (lt_tenant_valid(field[0], &why) < 0)
		return -1;
	t = state_tenant(s, field[0], &created);
	if (t == NULL || !created)
		return -1;
	return parse_u64(field[1], UINT64_MAX, &t->entries) < 0 ||
			       parse_u64(field[2], UINT64_MAX, &t->bytes) < 0 ||
			       parse_u64(field[3], UINT64_MAX, &t->files) < 0
		       ? -1
		       : 0;
}

enum state_key {
	K_LAST_RUN_TIME, K_LAST_RUN_DURATION, K_LAST_EXIT, K_LAST_SUCCESS,
	K_LAST_ERROR_TIME, K_LAST_ERROR, K_RUNS, K_FAILURES, K_TENANT, K_END,
	K_UNKNOWN
};

static const char *const state_keys[] = {
	"last_run_time", "last_run_duration_us", "last_exit_status",
	"last_success_time", "last_error_time", "last_error", "runs",
	"failures", "tenant", "end",
};

static enum state_key
state_key(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(state_keys) / sizeof(state_keys[0]); i++)
		if (strcmp(state_keys[i], key) == 0)
			return (enum state_key)i;
	return K_UNKNOWN;
}

/* One "key value" line after the version line. */
static int
parse_state_line(struct lt_state *s, char *line, unsigned *seen)
{
	char *value = strchr(line, ' ');
	enum state_key k;
	uint64_t v;

	if (value != NULL)
		*value++ = '\0';
	k = state_key(line);
	if (k == K_UNKNOWN) /* a later version's addition */
		return 0;
	if (k != K_TENANT) {
		if (*seen & 1u << k)
			return -1;
		*seen |= 1u << k;
	}
	if (k == K_END)
		return value == NULL ? 0 : -1;
	if (value == NULL)
		return -1;
	switch (k) {
	case K_LAST_RUN_TIME:
		return parse_i64(value, &s->last_run_time);
	case K_LAST_RUN_DURATION:
		return parse_i64(value, &s->last_run_duration_us);
	case K_LAST_EXIT:
		if (parse_u64(value, 255, &v) < 0)
			return -1;
		s->last_exit_status = (int)v;
		return 0;
	case K_LAST_SUCCESS:
		return parse_i64(value, &s->last_success_time);
	case K_LAST_ERROR_TIME:
		return parse_i64(value, &s->last_error_time);
	case K_LAST_ERROR:
		s->last_error = one_line(value);
		return s->last_error == NULL ? -1 : 0;
	case K_RUNS:
		return parse_u64(value, UINT64_MAX, &s->runs);
	case K_FAILURES:
		return parse_u64(value, UINT64_MAX, &s->failures);
	case K_TENANT:
		return parse_tenant_line(s, value);
	default:
		return -1;
	}
}

int
lt_state_parse(struct lt_state *s, const char *text, size_t len, char *err,
	       size_t errlen)
{
	const char *p = text, *end = text + len, *nl;
	unsigned seen = 0, lineno = 0;
	int have_version = 0, ended = 0;
	char *line = NULL;

	memset(s, 0, sizeof(*s));
	if (memchr(text, '\0', len) != NULL) {
		(void)snprintf(err, errlen, "it holds a NUL byte");
		goto fail;
	}
	for (; p < end; p = nl + 1) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL) {
			(void)snprintf(err, errlen, "line %u has no line end", lineno);
			goto fail;
		}
		free(line);
		line = strndup(p, (size_t)(nl - p));
		if (line == NULL) {
			(void)snprintf(err, errlen, "out of memory");
			goto fail;
		}
		if (line[0] == '\0' || line[0] == '#')
			continue;
		if (ended) {
			(void)snprintf(err, errlen, "line %u follows \"end\"", lineno);
			goto fail;
		}
		if (!have_version) {
			if (strncmp(line, "version ", 8) != 0) {
				(void)snprintf(err, errlen, "it does not start with \"version\"");
				goto fail;
			}
			if (strcmp(line + 8, "1") != 0) {
				(void)snprintf(err, errlen, "unknown version \"%.32s\" (this is version %d)",
					       line + 8, LT_STATE_VERSION);
				goto fail;
			}
			have_version = 1;
			continue;
		}
		if (parse_state_line(s, line, &seen) < 0) {
			(void)snprintf(err, errlen, "line %u is invalid", lineno);
			goto fail;
		}
		ended = (seen & 1u << K_END) != 0;
	}
	if (!ended) {
		(void)snprintf(err, errlen, "it has no \"end\" line (truncated)");
		goto fail;
	}
	free(line);
	if (s->n_tenants > 1)
		qsort(s->tenants, s->n_tenants, sizeof(*s->tenants), tenant_compare);
	return 0;
fail:
	free(line);
	lt_state_free(s);
	return -1;
}

int
lt_state_format(const struct lt_state *s, struct lt_buf *out)
{
	size_t i;

	if (lt_buf_printf(out, "# logthra-flush state, rewritten after every run; see logthra-spool(5)\n"
			  "version %d\n"
			  "last_run_time %" PRId64 "\n"
			  "last_run_duration_us %" PRId64 "\n"
			  "last_exit_status %d\n"
			  "last_success_time %" PRId64 "\n"
			  "last_error_time %" PRId64 "\n",
			  LT_STATE_VERSION, s->last_run_time,
			  s->last_run_duration_us, s->last_exit_status,
			  s->last_success_time, s->last_error_time) < 0)
		return -1;
	if (s->last_error != NULL &&
	    lt_buf_printf(out, "last_error %s\n", s->last_error) < 0)
		return -1;
	if (lt_buf_printf(out, "runs %" PRIu64 "\nfailures %" PRIu64 "\n",
			  s->runs, s->failures) < 0)
		return -1;
	for (i = 0; i < s->n_tenants; i++) {
		const struct lt_state_tenant *t = &s->tenants[i];

		if (lt_buf_printf(out, "tenant %s %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
				  t->tenant, t->entries, t->bytes, t->files) < 0)
			return -1;
	}
	return lt_buf_printf(out, "end\n");
}

int
lt_state_read(const char *spool, struct lt_state *s, char *err, size_t errlen)
{
	struct lt_buf path = LT_BUF_INIT, text = LT_BUF_INIT;
	enum lt_file_call call;
	char why[256];
	int rc;

	memset(s, 0, sizeof(*s));
	if (lt_buf_printf(&path, "%s/%s", spool, LT_STATE_FILE) < 0) {
		rc = ENOMEM;
		(void)snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = lt_file_read((char *)path.data, 0, 0, STATE_MAX, &text, NULL, &call);
	if (rc == EFBIG || (rc == EINVAL && call == LT_FILE_NONE)) {
		(void)snprintf(err, errlen, "state file \"%s\" is not a regular file of at most %u bytes",
			       (char *)path.data, STATE_MAX);
		rc = -1;
	} else if (rc != 0 && rc != ENOENT) {
		(void)snprintf(err, errlen, "could not read state file \"%s\": %s",
			       (char *)path.data, strerror(rc));
	} else if (rc == 0 &&
		   lt_state_parse(s, (char *)text.data, text.len, why, sizeof(why)) < 0) {
		(void)snprintf(err, errlen, "state file \"%s\" is corrupt: %s",
			       (char *)path.data, why);
		rc = -1;
	}
out:
	lt_buf_free(&path);
	lt_buf_free(&text);
	return rc;
}

/* Replaces path with text through path.tmp and rename(2), so a reader
 * sees the old file or the new one, never half of either.  mode is set
 * whatever the umask.  With sync_dir, the file and then sync_dir (the
 * directory holding path) are fsynced, for a file that must survive a
 * crash.  On failure err says "could not STEP WHAT \"FILE\"". */
static int
replace_file(const char *path, const struct lt_buf *text, mode_t mode,
	     const char *sync_dir, const char *what, char *err, size_t errlen)
{
	struct lt_buf tmp = LT_BUF_INIT;
	const char *step = "create";
	int fd = -1, rc = ENOMEM;

	if (lt_buf_printf(&tmp, "%s.tmp", path) < 0)
		goto fail;
	/* One writer at a time (the flush lock): a temporary file left by a
	 * run that died is overwritten. */
	fd = open((char *)tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
		  O_CLOEXEC, mode);
	if (fd < 0)
		goto fail_errno;
	step = "chmod";
	if (fchmod(fd, mode) < 0)
		goto fail_errno;
	step = "write";
	if (lt_fd_write_all(fd, text->data, text->len) < 0)
		goto fail_errno;
	step = "fsync";
	if (sync_dir != NULL && fsync(fd) < 0)
		goto fail_errno;
	step = "close";
	rc = close(fd);
	fd = -1;
	if (rc < 0)
		goto fail_errno;
	step = "rename";
	if (rename((char *)tmp.data, path) < 0)
		goto fail_errno;
	rc = 0;
	if (sync_dir != NULL && lt_fsync_dir(sync_dir) < 0) {
		rc = errno;
		(void)snprintf(err, errlen, "could not fsync the directory of %s \"%s\": %s",
			       what, path, strerror(rc));
	}
	goto out;
fail_errno:
	rc = errno;
	if (fd >= 0)
		(void)close(fd);
	(void)unlink((char *)tmp.data);
fail:
	(void)snprintf(err, errlen, "could not %s %s \"%s\": %s", step, what,
		       tmp.data ? (char *)tmp.data : path, strerror(rc));
out:
	lt_buf_free(&tmp);
	return rc;
}

int
lt_state_write(const char *spool, const struct lt_state *s, char *err,
	       size_t errlen)
{
	struct lt_buf text = LT_BUF_INIT, path = LT_BUF_INIT;
	int rc;

	if (lt_state_format(s, &text) < 0 ||
	    lt_buf_printf(&path, "%s/%s", spool, LT_STATE_FILE) < 0) {
		(void)snprintf(err, errlen, "out of memory");
		rc = ENOMEM;
	} else {
		/* Durable: the counters must not go back after a crash. */
		rc = replace_file((char *)path.data, &text, 0660, spool,
				  "state file", err, errlen);
	}
	lt_buf_free(&text);
	lt_buf_free(&path);
	return rc;
}

int
lt_state_add_run(struct lt_state *s, const struct lt_flush_stats *st,
		 int status, int64_t end_s, int64_t duration_us,
		 const char *error)
{
	struct lt_state_tenant *t;
	size_t i;
	int created;

	s->runs++;
	if (status != LT_EX_OK)
		s->failures++;
	s->last_run_time = end_s;
	s->last_run_duration_us = duration_us;
	s->last_exit_status = status;
	if (status == LT_EX_OK)
		s->last_success_time = end_s;
	if (error != NULL && *error) {
		free(s->last_error);
		s->last_error = one_line(error);
		if (s->last_error == NULL)
			return -1;
		s->last_error_time = end_s;
	}
	for (i = 0; i < st->n_tenants; i++) {
		t = state_tenant(s, st->tenants[i].tenant, &created);
		if (t == NULL)
			return -1;
		t->entries += st->tenants[i].entries;
		t->bytes += st->tenants[i].bytes;
		t->files += st->tenants[i].files;
	}
	if (s->n_tenants > 1)
		qsort(s->tenants, s->n_tenants, sizeof(*s->tenants), tenant_compare);
	return 0;
}

/* --- the backlog --- */

void
lt_backlog_free(struct lt_backlog *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		free(b->v[i].tenant);
	free(b->v);
	memset(b, 0, sizeof(*b));
}

/* The received_ns at the start of a spool file's name, or 0. */
static int64_t
name_received_ns(const char *name)
{
	int64_t v = 0;
	int i;

	for (i = 0; i < 19; i++) {
		if (name[i] < '0' || name[i] > '9')
			return 0;
		v = v * 10 + (name[i] - '0');
	}
	return name[19] == '-' ? v : 0;
}

/* One waiting file: its size, and its entries from the END record.
 * Returns 0 (counted), ENOENT (gone meanwhile: a flush moved it) or
 * EACCES (this user may not read the spool). */
static int
scan_file(struct lt_backlog_tenant *t, int dirfd, const char *name,
	  enum lt_backlog_state state, int64_t now_s)
{
	unsigned char tail[LT_END_LEN];
	uint64_t n_streams, n_entries;
	struct stat st;
	int64_t received;
	int fd, complete = 0;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
					 O_NOCTTY);
	if (fd < 0 && (errno == ENOENT || errno == EACCES))
		return errno;
	if (fd >= 0 && fstat(fd, &st) < 0) {
		(void)close(fd);
		fd = -1;
	}
	if (fd >= 0 && S_ISREG(st.st_mode)) {
		t->bytes += (uint64_t)st.st_size;
		if (st.st_size >= MIN_SPOOL_FILE &&
		    pread(fd, tail, sizeof(tail), st.st_size - LT_END_LEN) ==
			    (ssize_t)sizeof(tail) &&
		    lt_end_parse(tail, &n_streams, &n_entries) == 0) {
			t->entries += n_entries;
			complete = 1;
		}
		if (state == LT_BL_DEFERRED) {
			if (t->next_retry_s == 0 || st.st_mtime < t->next_retry_s)
				t->next_retry_s = st.st_mtime;
			if (st.st_mtime <= now_s)
				t->deferred_due++;
		}
	}
	if (fd >= 0)
		(void)close(fd);
	t->incomplete += !complete;
	t->files[state]++;
	received = name_received_ns(name);
	if (received > 0 && (t->oldest_ns == 0 || received < t->oldest_ns))
		t->oldest_ns = received;
	return 0;
}

/* The .spool files of one directory of a tenant. */
static int
scan_dir(struct lt_backlog_tenant *t, const char *dir,
	 enum lt_backlog_state state, int64_t now_s, char *err, size_t errlen)
{
	struct lt_names names = {0};
	size_t i;
	int dirfd = -1, rc;

	rc = lt_names_list(dir, LT_SPOOL_SUFFIX, &names);
	if (rc == ENOENT) {
		rc = 0;
		goto out;
	}
	if (rc != 0)
		goto fail;
	if (state == LT_BL_QUARANTINE) {
		t->files[state] += names.n;
		goto out;
	}
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		rc = errno == ENOENT ? 0 : errno;
		if (rc != 0)
			goto fail;
		goto out;
	}
	for (i = 0; i < names.n; i++) {
		rc = scan_file(t, dirfd, names.v[i], state, now_s);
		if (rc == EACCES) {
			(void)snprintf(err, errlen, "could not read \"%s/%s\": %s",
				       dir, names.v[i], strerror(rc));
			goto out;
		}
	}
	rc = 0;
	goto out;
fail:
	(void)snprintf(err, errlen, "could not list \"%s\": %s", dir, strerror(rc));
out:
	if (dirfd >= 0)
		(void)close(dirfd);
	lt_names_free(&names);
	return rc;
}

static int
scan_tenant(const char *spool, struct lt_backlog_tenant *t, int64_t now_s,
	    char *err, size_t errlen)
{
	struct lt_buf dir = LT_BUF_INIT;
	int i, rc = 0;

	/* Downstream first: a file that a flush moves from ready/ to
	 * active/ meanwhile is missed rather than counted twice. */
	for (i = LT_BL_STATES - 1; rc == 0 && i >= 0; i--) {
		lt_buf_reset(&dir);
		if (i == LT_BL_QUARANTINE ?
			    lt_buf_printf(&dir, "%s/quarantine/%s", spool, t->tenant) < 0 :
			    lt_spool_dir(&dir, spool, t->tenant, state_dirs[i]) < 0) {
			(void)snprintf(err, errlen, "out of memory");
			rc = ENOMEM;
			break;
		}
		rc = scan_dir(t, (char *)dir.data, (enum lt_backlog_state)i, now_s,
			      err, errlen);
	}
	lt_buf_free(&dir);
	return rc;
}

/* The tenants of tenants/ and of quarantine/, sorted, each once. */
static int
backlog_tenants(const char *spool, struct lt_names *names, char *err,
		size_t errlen)
{
	struct lt_buf dir = LT_BUF_INIT;
	struct lt_names quarantined = {0};
	size_t i, kept = 0;
	int rc;

	rc = lt_spool_tenants(spool, names);
	if (rc == 0) {
		if (lt_buf_printf(&dir, "%s/quarantine", spool) < 0)
			rc = ENOMEM;
		else
			rc = lt_tenant_dirs((char *)dir.data, &quarantined);
	}
	for (i = 0; rc == 0 && i < quarantined.n; i++)
		if (lt_names_list_add(names, quarantined.v[i]) < 0)
			rc = ENOMEM;
	if (rc != 0) {
		(void)snprintf(err, errlen, "could not list the tenants of spool directory \"%s\": %s",
			       spool, strerror(rc));
		goto out;
	}
	if (names->n > 1)
		qsort(names->v, names->n, sizeof(*names->v), lt_names_compare);
	for (i = 0; i < names->n; i++) {
		if (kept > 0 && strcmp(names->v[kept - 1], names->v[i]) == 0) {
			free(names->v[i]);
			continue;
		}
		names->v[kept++] = names->v[i];
	}
	names->n = kept;
out:
	lt_names_free(&quarantined);
	lt_buf_free(&dir);
	return rc;
}

static void
add_to_total(struct lt_backlog_tenant *total, const struct lt_backlog_tenant *t)
{
	int i;

	for (i = 0; i < LT_BL_STATES; i++)
		total->files[i] += t->files[i];
	total->entries += t->entries;
	total->bytes += t->bytes;
	total->incomplete += t->incomplete;
	total->deferred_due += t->deferred_due;
	if (t->oldest_ns != 0 &&
	    (total->oldest_ns == 0 || t->oldest_ns < total->oldest_ns))
		total->oldest_ns = t->oldest_ns;
	if (t->next_retry_s != 0 &&
	    (total->next_retry_s == 0 || t->next_retry_s < total->next_retry_s))
		total->next_retry_s = t->next_retry_s;
}

int
lt_backlog_scan(const char *spool, int64_t now_s, struct lt_backlog *b,
		char *err, size_t errlen)
{
	struct lt_names names = {0};
	struct stat st;
	size_t i;
	int rc;

	memset(b, 0, sizeof(*b));
	if (stat(spool, &st) < 0)
		rc = errno;
	else
		rc = S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
	if (rc != 0) {
		(void)snprintf(err, errlen, "could not read spool directory \"%s\": %s",
			       spool, strerror(rc));
		return rc;
	}
	rc = backlog_tenants(spool, &names, err, errlen);
	if (rc != 0)
		goto out;
	b->v = calloc(names.n ? names.n : 1, sizeof(*b->v));
	if (b->v == NULL) {
		rc = ENOMEM;
		(void)snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < names.n && rc == 0; i++) {
		/* Taken over from names, which then owns nothing. */
		b->v[i].tenant = names.v[i];
		names.v[i] = NULL;
		b->n++;
		rc = scan_tenant(spool, &b->v[i], now_s, err, errlen);
		add_to_total(&b->total, &b->v[i]);
	}
out:
	lt_names_free(&names);
	if (rc != 0)
		lt_backlog_free(b);
	return rc;
}

/* --- the flush lock --- */

/* Splits off the next blank-separated word of *p. */
static char *
next_word(char **p)
{
	char *w = *p, *e;

	while (*w == ' ' || *w == '\t')
		w++;
	if (*w == '\0' || *w == '\n')
		return NULL;
	e = w;
	while (*e && *e != ' ' && *e != '\t' && *e != '\n')
		e++;
	if (*e)
		*e++ = '\0';
	*p = e;
	return w;
}

/* One line of /proc/locks, "1: FLOCK  ADVISORY  WRITE 4242 fe:00:1234 0 EOF"
 * (fs/locks.c; major and minor in hex), for a lock on dev and ino?
 * Returns 1 with *pid when it is a held flock(2) lock, else 0.  Lines
 * of waiters ("1: -> FLOCK ...") do not count. */
static int
lock_line_matches(char *line, dev_t dev, ino_t ino, long *pid)
{
	char *p = line, *w[6], *e;
	unsigned long maj, mnr;
	unsigned long long in;
	long v;
	int i;

	for (i = 0; i < 6; i++)
		if ((w[i] = next_word(&p)) == NULL)
			return 0;
	if (strcmp(w[1], "FLOCK") != 0)
		return 0;
	errno = 0;
	v = strtol(w[4], &e, 10);
	if (errno || *e)
		return 0;
	maj = strtoul(w[5], &e, 16);
	if (*e != ':')
		return 0;
	mnr = strtoul(e + 1, &e, 16);
	if (*e != ':')
		return 0;
	in = strtoull(e + 1, &e, 10);
	if (*e || errno)
		return 0;
	if (maj != major(dev) || mnr != minor(dev) || in != (unsigned long long)ino)
		return 0;
	*pid = v > 0 ? v : 0;
	return 1;
}

int
lt_lock_holder(const char *spool, const char *proc_locks, long *pid,
	       char *err, size_t errlen)
{
	struct lt_buf path = LT_BUF_INIT;
	char *line = NULL;
	size_t cap = 0;
	struct stat st;
	FILE *f = NULL;
	int rc = -1;

	*pid = 0;
	if (lt_buf_printf(&path, "%s/flush.lock", spool) < 0) {
		(void)snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (stat((char *)path.data, &st) < 0) {
		if (errno == ENOENT) { /* no run ever locked it */
			rc = 0;
			goto out;
		}
		(void)snprintf(err, errlen, "could not stat \"%s\": %s",
			       (char *)path.data, strerror(errno));
		goto out;
	}
	f = fopen(proc_locks, "re");
	if (f == NULL) {
		(void)snprintf(err, errlen, "could not read \"%s\": %s", proc_locks,
			       strerror(errno));
		goto out;
	}
	rc = 0;
	while (rc == 0 && getline(&line, &cap, f) >= 0)
		rc = lock_line_matches(line, st.st_dev, st.st_ino, pid);
	if (rc == 0 && ferror(f)) {
		(void)snprintf(err, errlen, "could not read \"%s\": %s", proc_locks,
			       strerror(errno));
		rc = -1;
	}
out:
	if (f != NULL)
		(void)fclose(f);
	free(line);
	lt_buf_free(&path);
	return rc;
}

/* The holder's program name, from /proc/PID/comm. */
static void
process_name(long pid, char *out, size_t len)
{
	struct lt_buf path = LT_BUF_INIT, text = LT_BUF_INIT;
	size_t n;

	out[0] = '\0';
	if (pid <= 0 || lt_buf_printf(&path, "/proc/%ld/comm", pid) < 0 ||
	    lt_file_read((char *)path.data, 0, 0, 4096, &text, NULL, NULL) != 0)
		goto out;
	n = text.len;
	while (n > 0 && text.data[n - 1] == '\n')
		n--;
	(void)snprintf(out, len, "%.*s", (int)n, (char *)text.data);
out:
	lt_buf_free(&path);
	lt_buf_free(&text);
}

/* --- escapers --- */

/* The length of the UTF-8 sequence at s (1 to 4), or 0 when it is not
 * one: overlong forms, surrogates and values past U+10FFFF are not. */
static size_t
utf8_len(const unsigned char *s)
{
	uint32_t c;
	size_t n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, c = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

int
lt_json_string(struct lt_buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	if (lt_buf_append_byte(out, '"') < 0)
		return -1;
	while (*p) {
		const char *esc = NULL;

		switch (*p) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		}
		if (esc != NULL) {
			if (lt_buf_printf(out, "%s", esc) < 0)
				return -1;
			p++;
		} else if (*p < 0x20) {
			if (lt_buf_printf(out, "\\u%04x", *p) < 0)
				return -1;
			p++;
		} else if ((n = utf8_len(p)) == 0) {
			/* A byte that is not UTF-8: U+FFFD, as decoders do. */
			if (lt_buf_append(out, "\xef\xbf\xbd", 3) < 0)
				return -1;
			p++;
		} else {
			if (lt_buf_append(out, p, n) < 0)
				return -1;
			p += n;
		}
	}
	return lt_buf_append_byte(out, '"');
}

/* Prometheus' text format escapes backslash and line feed in HELP text,
 * and double quotes too in label values. */
static int
prom_escape(struct lt_buf *out, const char *s, int quote)
{
	for (; *s; s++) {
		int rc;

		if (*s == '\\')
			rc = lt_buf_append(out, "\\\\", 2);
		else if (*s == '\n')
			rc = lt_buf_append(out, "\\n", 2);
		else if (*s == '"' && quote)
			rc = lt_buf_append(out, "\\\"", 2);
		else
			rc = lt_buf_append_byte(out, (unsigned char)*s);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int
lt_prom_label_value(struct lt_buf *out, const char *s)
{
	if (lt_buf_append_byte(out, '"') < 0 || prom_escape(out, s, 1) < 0)
		return -1;
	return lt_buf_append_byte(out, '"');
}

/* --- the metrics file --- */

static int
metric_head(struct lt_buf *out, const char *name, const char *type,
	    const char *help)
{
	if (lt_buf_printf(out, "# HELP %s ", name) < 0 ||
	    prom_escape(out, help, 0) < 0)
		return -1;
	return lt_buf_printf(out, "\n# TYPE %s %s\n", name, type);
}

/* name{tenant="T"[,state="S"]} value */
static int
tenant_sample(struct lt_buf *out, const char *name, const char *tenant,
	      const char *state, uint64_t value)
{
	if (lt_buf_printf(out, "%s{tenant=", name) < 0 ||
	    lt_prom_label_value(out, tenant) < 0)
		return -1;
	if (state != NULL && lt_buf_printf(out, ",state=\"%s\"", state) < 0)
		return -1;
	return lt_buf_printf(out, "} %" PRIu64 "\n", value);
}

static int
flushed_family(struct lt_buf *out, const struct lt_state *s, const char *name,
	       const char *help, size_t field)
{
	size_t i;

	if (metric_head(out, name, "counter", help) < 0)
		return -1;
	for (i = 0; i < s->n_tenants; i++) {
		const struct lt_state_tenant *t = &s->tenants[i];

		if (tenant_sample(out, name, t->tenant, NULL,
				  *(const uint64_t *)(const void *)((const char *)t + field)) < 0)
			return -1;
	}
	return 0;
}

static int
backlog_family(struct lt_buf *out, const struct lt_backlog *b, const char *name,
	       const char *help, int which, int64_t now_s)
{
	const struct lt_backlog_tenant *t;
	size_t i;
	int k;
	uint64_t v;

	if (metric_head(out, name, "gauge", help) < 0)
		return -1;
	for (i = 0; i < b->n; i++) {
		t = &b->v[i];
		if (which == 0) {
			for (k = 0; k < LT_BL_STATES; k++)
				if (tenant_sample(out, name, t->tenant, state_dirs[k],
						  t->files[k]) < 0)
					return -1;
			continue;
		}
		if (which == 1)
			v = t->entries;
		else if (which == 2)
			v = t->bytes;
		else
			v = t->oldest_ns == 0 || now_s < t->oldest_ns / 1000000000
				    ? 0
				    : (uint64_t)(now_s - t->oldest_ns / 1000000000);
		if (tenant_sample(out, name, t->tenant, NULL, v) < 0)
			return -1;
	}
	return 0;
}

static int
scalar(struct lt_buf *out, const char *name, const char *type,
       const char *help, const char *fmt, ...) LT_PRINTF(5, 6);

static int
scalar(struct lt_buf *out, const char *name, const char *type,
       const char *help, const char *fmt, ...)
{
	char value[64];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	if (metric_head(out, name, type, help) < 0)
		return -1;
	return lt_buf_printf(out, "%s %s\n", name, value);
}

int
lt_metrics_format(struct lt_buf *out, const struct lt_state *s,
		  const struct lt_backlog *b, int64_t now_s)
{
	struct lt_buf dur = LT_BUF_INIT;
	int rc = -1;

	if (flushed_family(out, s, "logthra_flush_entries_total",
			   "Entries of the spool files flushed into ClickHouse.",
			   offsetof(struct lt_state_tenant, entries)) < 0 ||
	    flushed_family(out, s, "logthra_flush_bytes_total",
			   "Bytes of the spool files flushed into ClickHouse.",
			   offsetof(struct lt_state_tenant, bytes)) < 0 ||
	    flushed_family(out, s, "logthra_flush_files_total",
			   "Spool files flushed into ClickHouse.",
			   offsetof(struct lt_state_tenant, files)) < 0)
		goto out;
	if (scalar(out, "logthra_flush_runs_total", "counter",
		   "Runs of logthra-flush (passes with --follow).", "%" PRIu64,
		   s->runs) < 0 ||
	    scalar(out, "logthra_flush_failures_total", "counter",
		   "Runs that did not end with exit status 0.", "%" PRIu64,
		   s->failures) < 0)
		goto out;
	if (backlog_family(out, b, "logthra_backlog_files",
			   "Spool files by state: waiting (ready, deferred, active) or quarantined.",
			   0, now_s) < 0 ||
	    backlog_family(out, b, "logthra_backlog_entries",
			   "Entries of the waiting spool files (from their END records).",
			   1, now_s) < 0 ||
	    backlog_family(out, b, "logthra_backlog_bytes",
			   "Bytes of the waiting spool files.", 2, now_s) < 0 ||
	    backlog_family(out, b, "logthra_backlog_oldest_seconds",
			   "Age of the oldest waiting push (0 when none waits).",
			   3, now_s) < 0)
		goto out;
	if (append_seconds_us(&dur, s->last_run_duration_us) < 0 ||
	    lt_buf_terminate(&dur) < 0)
		goto out;
	if (scalar(out, "logthra_flush_last_run_duration_seconds", "gauge",
		   "How long the last run took.", "%s", (char *)dur.data) < 0 ||
	    scalar(out, "logthra_flush_last_run_timestamp_seconds", "gauge",
		   "When the last run ended, in unix seconds.", "%" PRId64,
		   s->last_run_time) < 0 ||
	    scalar(out, "logthra_flush_last_success_timestamp_seconds", "gauge",
		   "When the last run with exit status 0 ended (0: never).",
		   "%" PRId64, s->last_success_time) < 0 ||
	    scalar(out, "logthra_flush_last_exit_status", "gauge",
		   "The exit status of the last run.", "%d",
		   s->last_exit_status) < 0)
		goto out;
	rc = 0;
out:
	lt_buf_free(&dur);
	return rc;
}

int
lt_metrics_write(const char *path, const struct lt_buf *text, char *err,
		 size_t errlen)
{
	/* Not fsynced: the next run writes it again.  0644: node_exporter
	 * reads it as another user, whatever our umask (0007,
	 * lt_spool_umask()); its textfile collector reads only *.prom, so it
	 * never sees the temporary file. */
	return replace_file(path, text, 0644, NULL, "metrics file", err, errlen);
}

/* --- after a run --- */

/* Appends the receiver's families (recv_stats.h), which the receivers
 * keep in the spool.  Counters that cannot be read are warned about and
 * left out, families and all, so that the file still holds the rest.
 * Returns 0, or -1 when out of memory. */
static int
recv_metrics(const struct lt_options *o, struct lt_buf *text)
{
	struct lt_rstats rs;
	char err[512];
	int rc;

	if (lt_rstats_read(o->spool, &rs, err, sizeof(err)) != 0) {
		lt_warning("%s; the metrics file leaves out the receiver's counters",
			   err);
		return 0;
	}
	if (rs.bad > 0)
		lt_warning("receiver counters in \"%s\": %zu torn or corrupt record%s left out (the next push drops %s)",
			   o->spool, rs.bad, rs.bad == 1 ? "" : "s",
			   rs.bad == 1 ? "it" : "them");
	rc = lt_rstats_format(text, &rs);
	lt_rstats_free(&rs);
	return rc;
}

static void
write_metrics(const struct lt_options *o, const struct lt_state *s, int64_t now_s)
{
	struct lt_backlog b;
	struct lt_buf text = LT_BUF_INIT;
	char err[512];

	if (lt_backlog_scan(o->spool, now_s, &b, err, sizeof(err)) != 0) {
		lt_warning("%s; the metrics file is not written", err);
		return;
	}
	if (lt_metrics_format(&text, s, &b, now_s) < 0 ||
	    recv_metrics(o, &text) < 0)
		lt_warning("out of memory: the metrics file is not written");
	else if (lt_metrics_write(o->metrics_file, &text, err, sizeof(err)) != 0)
		lt_warning("%s", err);
	lt_buf_free(&text);
	lt_backlog_free(&b);
}

void
lt_status_record_run(const struct lt_options *o, const struct lt_flush_stats *st,
		     int status, int64_t end_s, int64_t duration_us,
		     const char *error)
{
	struct lt_state s;
	char err[512];
	int rc;

	rc = lt_state_read(o->spool, &s, err, sizeof(err));
	if (rc != 0 && rc != ENOENT) {
		lt_warning("%s", err);
		lt_hint("The run counters start afresh.");
	}
	if (lt_state_add_run(&s, st, status, end_s, duration_us, error) < 0) {
		lt_warning("out of memory: the run is not recorded");
		goto out;
	}
	if (lt_state_write(o->spool, &s, err, sizeof(err)) != 0)
		lt_warning("%s", err);
	if (o->metrics_file != NULL)
		write_metrics(o, &s, end_s);
out:
	lt_state_free(&s);
}

/* --- the report --- */

void
lt_status_report_free(struct lt_status_report *r)
{
	lt_state_free(&r->st);
	lt_backlog_free(&r->backlog);
}

void
lt_status_judge(struct lt_status_report *r)
{
	if (!r->spool_ok)
		r->exit_status = LT_EX_ERROR;
	else if (r->ch_checked && !r->ch_ok)
		r->exit_status = LT_STATUS_NO_CLICKHOUSE;
	else if (r->state == 0 && r->st.runs > 0 && r->st.last_exit_status != 0)
		r->exit_status = LT_STATUS_LAST_RUN_FAILED;
	else
		r->exit_status = LT_EX_OK;
}

static const char *
exit_meaning(int status)
{
	switch (status) {
	case LT_EX_OK: return "success";
	case LT_EX_ERROR: return "local error";
	case LT_EX_DATAERR: return "files quarantined";
	case LT_EX_TEMPFAIL: return "temporary failure";
	default: return "unknown";
	}
}

/* "http://user:secret@host:8123/" without "user:secret@". */
static void
url_without_credentials(char *out, size_t len, const char *url)
{
	const char *auth = strstr(url, "://"), *at = NULL, *p;
	size_t head;

	auth = auth != NULL ? auth + 3 : url;
	for (p = auth; *p && *p != '/' && *p != '?' && *p != '#'; p++)
		if (*p == '@')
			at = p;
	if (at == NULL) {
		(void)snprintf(out, len, "%s", url);
		return;
	}
	head = (size_t)(auth - url);
	(void)snprintf(out, len, "%.*s%s", (int)head, url, at + 1);
}

/* A line "Label:" padded to the column of the values, pg_controldata's
 * layout. */
#define LABEL_WIDTH 34

static int
kv(struct lt_buf *out, const char *label, const char *fmt, ...) LT_PRINTF(3, 4);

static int
kv(struct lt_buf *out, const char *label, const char *fmt, ...)
{
	char value[2048];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	return lt_buf_printf(out, "%-*s%s\n", LABEL_WIDTH, label, value);
}

/* "TIME (N s ago)" or "TIME (in N s)" */
static void
time_and_age(char *buf, size_t len, int64_t t, int64_t now_s)
{
	char when[64];

	format_time(when, sizeof(when), t);
	if (t <= now_s)
		(void)snprintf(buf, len, "%s (%" PRId64 " s ago)", when, now_s - t);
	else
		(void)snprintf(buf, len, "%s (in %" PRId64 " s)", when, t - now_s);
}

static int
text_head(struct lt_buf *out, const struct lt_status_report *r)
{
	char buf[256];
	int rc;

	format_time(buf, sizeof(buf), r->now_s);
	rc = kv(out, "Spool directory:", "%s", r->spool);
	rc |= kv(out, "Report time:", "%s", buf);
	if (r->lock == 1 && r->lock_pid > 0)
		rc |= kv(out, "Flush lock:", "held by PID %ld%s%s%s", r->lock_pid,
			 r->lock_program[0] ? " (" : "", r->lock_program,
			 r->lock_program[0] ? ")" : "");
	else if (r->lock == 1)
		rc |= kv(out, "Flush lock:", "held");
	else if (r->lock == 0)
		rc |= kv(out, "Flush lock:", "free");
	else
		rc |= kv(out, "Flush lock:", "unknown: %s", r->lock_error);
	if (!r->ch_checked)
		rc |= kv(out, "ClickHouse:", "not asked (--no-ping)");
	else if (r->ch_ok)
		rc |= kv(out, "ClickHouse:", "answers (%s)", r->ch_url);
	else if (r->ch_http_status == 0)
		rc |= kv(out, "ClickHouse:", "not reachable: %s", r->ch_error);
	else
		rc |= kv(out, "ClickHouse:", "answers with an error (HTTP %ld): %s",
			 r->ch_http_status, r->ch_error);
	return rc;
}

static int
text_runs(struct lt_buf *out, const struct lt_status_report *r)
{
	const struct lt_state *s = &r->st;
	char buf[256];
	int rc = 0;

	if (r->state == ENOENT || (r->state == 0 && s->runs == 0))
		return kv(out, "Last run:", "none recorded");
	if (r->state != 0)
		return kv(out, "Last run:", "unknown: %s", r->state_error);
	time_and_age(buf, sizeof(buf), s->last_run_time, r->now_s);
	rc |= kv(out, "Last run:", "%s", buf);
	rc |= kv(out, "Last run exit status:", "%d (%s)", s->last_exit_status,
		 exit_meaning(s->last_exit_status));
	rc |= kv(out, "Last run duration:", "%" PRId64 ".%03" PRId64 " s",
		 s->last_run_duration_us / 1000000,
		 s->last_run_duration_us / 1000 % 1000);
	if (s->last_success_time > 0)
		time_and_age(buf, sizeof(buf), s->last_success_time, r->now_s);
	rc |= kv(out, "Last success:", "%s",
		 s->last_success_time > 0 ? buf : "never");
	if (s->last_error != NULL) {
		format_time(buf, sizeof(buf), s->last_error_time);
		rc |= kv(out, "Last error:", "%s: %s", buf, s->last_error);
	} else {
		rc |= kv(out, "Last error:", "none");
	}
	rc |= kv(out, "Runs recorded:", "%" PRIu64, s->runs);
	rc |= kv(out, "Failed runs:", "%" PRIu64, s->failures);
	return rc;
}

static int
text_backlog(struct lt_buf *out, const struct lt_status_report *r)
{
	const struct lt_backlog_tenant *t = &r->backlog.total;
	char buf[256];
	int rc;

	if (!r->spool_ok)
		return kv(out, "Spool:", "unreadable: %s", r->spool_error);
	rc = kv(out, "Files waiting:", "%zu (ready %zu, deferred %zu, active %zu)",
		t->files[LT_BL_READY] + t->files[LT_BL_DEFERRED] +
			t->files[LT_BL_ACTIVE],
		t->files[LT_BL_READY], t->files[LT_BL_DEFERRED],
		t->files[LT_BL_ACTIVE]);
	rc |= kv(out, "Entries waiting:", "%" PRIu64, t->entries);
	rc |= kv(out, "Bytes waiting:", "%" PRIu64, t->bytes);
	if (t->oldest_ns != 0)
		time_and_age(buf, sizeof(buf), t->oldest_ns / 1000000000, r->now_s);
	rc |= kv(out, "Oldest waiting push:", "%s", t->oldest_ns ? buf : "none");
	rc |= kv(out, "Deferred files:", "%zu (%zu due)", t->files[LT_BL_DEFERRED],
		 t->deferred_due);
	if (t->next_retry_s != 0)
		time_and_age(buf, sizeof(buf), t->next_retry_s, r->now_s);
	rc |= kv(out, "Next retry:", "%s",
		 t->next_retry_s == 0 ? "none" :
		 t->next_retry_s <= r->now_s ? "due now" : buf);
	rc |= kv(out, "Claims in progress (active/):", "%zu", t->files[LT_BL_ACTIVE]);
	rc |= kv(out, "Quarantined files:", "%zu", t->files[LT_BL_QUARANTINE]);
	rc |= kv(out, "Incomplete files:", "%zu", t->incomplete);
	return rc;
}

/* --- the per-tenant table --- */

#define COLUMNS 11

static const char *const column_names[COLUMNS] = {
	"Tenant", "Ready", "Deferred", "Active", "Quarantined", "Incomplete",
	"Entries", "Bytes", "Oldest", "Next retry", "Flushed entries"
};

static const struct lt_state_tenant *
find_flushed(const struct lt_state *s, const char *tenant)
{
	struct lt_state_tenant key = {.tenant = (char *)tenant};

	if (s->n_tenants == 0)
		return NULL;
	return bsearch(&key, s->tenants, s->n_tenants, sizeof(key), tenant_compare);
}

static void
row_cells(char cell[COLUMNS][160], const struct lt_backlog_tenant *t,
	  const struct lt_state_tenant *f, int64_t now_s)
{
	(void)snprintf(cell[0], 160, "%s", t->tenant);
	(void)snprintf(cell[1], 160, "%zu", t->files[LT_BL_READY]);
	(void)snprintf(cell[2], 160, "%zu", t->files[LT_BL_DEFERRED]);
	(void)snprintf(cell[3], 160, "%zu", t->files[LT_BL_ACTIVE]);
	(void)snprintf(cell[4], 160, "%zu", t->files[LT_BL_QUARANTINE]);
	(void)snprintf(cell[5], 160, "%zu", t->incomplete);
	(void)snprintf(cell[6], 160, "%" PRIu64, t->entries);
	(void)snprintf(cell[7], 160, "%" PRIu64, t->bytes);
	if (t->oldest_ns == 0)
		(void)snprintf(cell[8], 160, "-");
	else
		(void)snprintf(cell[8], 160, "%" PRId64 " s",
			       now_s > t->oldest_ns / 1000000000
				       ? now_s - t->oldest_ns / 1000000000 : 0);
	if (t->next_retry_s == 0)
		(void)snprintf(cell[9], 160, "-");
	else if (t->next_retry_s <= now_s)
		(void)snprintf(cell[9], 160, "due");
	else
		(void)snprintf(cell[9], 160, "in %" PRId64 " s", t->next_retry_s - now_s);
	(void)snprintf(cell[10], 160, "%" PRIu64, f ? f->entries : 0);
}

static int
text_table(struct lt_buf *out, const struct lt_status_report *r)
{
	char (*cells)[COLUMNS][160];
	size_t width[COLUMNS], i, n = r->backlog.n, w;
	int c, rc = 0;

	if (n == 0)
		return 0;
	cells = calloc(n, sizeof(*cells));
	if (cells == NULL)
		return -1;
	for (c = 0; c < COLUMNS; c++)
		width[c] = strlen(column_names[c]);
	for (i = 0; i < n; i++) {
		row_cells(cells[i], &r->backlog.v[i],
			  find_flushed(&r->st, r->backlog.v[i].tenant), r->now_s);
		for (c = 0; c < COLUMNS; c++)
			if ((w = strlen(cells[i][c])) > width[c])
				width[c] = w;
	}
	rc |= lt_buf_printf(out, "\n");
	for (c = 0; c < COLUMNS; c++)
		rc |= lt_buf_printf(out, c == 0 ? "%-*s" : "  %*s", (int)width[c],
				    column_names[c]);
	rc |= lt_buf_printf(out, "\n");
	for (i = 0; i < n; i++) {
		for (c = 0; c < COLUMNS; c++)
			rc |= lt_buf_printf(out, c == 0 ? "%-*s" : "  %*s",
					    (int)width[c], cells[i][c]);
		rc |= lt_buf_printf(out, "\n");
	}
	free(cells);
	return rc;
}

int
lt_status_text(struct lt_buf *out, const struct lt_status_report *r)
{
	if (text_head(out, r) != 0 || text_runs(out, r) != 0 ||
	    text_backlog(out, r) != 0 || text_table(out, r) != 0)
		return -1;
	return 0;
}

/* --- the report as JSON --- */

static int
json_key(struct lt_buf *out, int *first, const char *key)
{
	if ((!*first && lt_buf_append_byte(out, ',') < 0) ||
	    lt_json_string(out, key) < 0 || lt_buf_append_byte(out, ':') < 0)
		return -1;
	*first = 0;
	return 0;
}

/* A key and a value written as it is: true, false, null or a number. */
static int
json_raw(struct lt_buf *out, int *first, const char *key, const char *value)
{
	if (json_key(out, first, key) < 0)
		return -1;
	return lt_buf_printf(out, "%s", value);
}

static const char *
json_bool(int v)
{
	return v < 0 ? "null" : v ? "true" : "false";
}

static int
json_str(struct lt_buf *out, int *first, const char *key, const char *value)
{
	if (json_key(out, first, key) < 0)
		return -1;
	return value != NULL ? lt_json_string(out, value) : lt_buf_printf(out, "null");
}

static int
json_u64(struct lt_buf *out, int *first, const char *key, uint64_t v)
{
	return json_key(out, first, key) < 0 ? -1 : lt_buf_printf(out, "%" PRIu64, v);
}

/* A time or age that may be absent: null when has is 0. */
static int
json_i64_or_null(struct lt_buf *out, int *first, const char *key, int has,
		 int64_t v)
{
	if (json_key(out, first, key) < 0)
		return -1;
	return has ? lt_buf_printf(out, "%" PRId64, v) : lt_buf_printf(out, "null");
}

static int
json_backlog_fields(struct lt_buf *out, int *first,
		    const struct lt_backlog_tenant *t, int64_t now_s)
{
	int64_t oldest_s = t->oldest_ns / 1000000000;
	int rc;

	/* One statement each: the operands of | have no order. */
	rc = json_u64(out, first, "files", t->files[LT_BL_READY] +
			  t->files[LT_BL_DEFERRED] + t->files[LT_BL_ACTIVE]);
	rc |= json_u64(out, first, "ready", t->files[LT_BL_READY]);
	rc |= json_u64(out, first, "deferred", t->files[LT_BL_DEFERRED]);
	rc |= json_u64(out, first, "deferred_due", t->deferred_due);
	rc |= json_u64(out, first, "active", t->files[LT_BL_ACTIVE]);
	rc |= json_u64(out, first, "quarantine", t->files[LT_BL_QUARANTINE]);
	rc |= json_u64(out, first, "incomplete", t->incomplete);
	rc |= json_u64(out, first, "entries", t->entries);
	rc |= json_u64(out, first, "bytes", t->bytes);
	rc |= json_i64_or_null(out, first, "oldest_received_time",
			       t->oldest_ns != 0, oldest_s);
	rc |= json_i64_or_null(out, first, "oldest_age_seconds", t->oldest_ns != 0,
			       now_s > oldest_s ? now_s - oldest_s : 0);
	rc |= json_i64_or_null(out, first, "next_retry_time", t->next_retry_s != 0,
			       t->next_retry_s);
	return rc;
}

static int
json_tenants(struct lt_buf *out, const struct lt_status_report *r)
{
	const struct lt_state_tenant *f;
	size_t i;
	int rc = 0, first;

	rc |= lt_buf_printf(out, ",\"tenants\":[");
	for (i = 0; i < r->backlog.n; i++) {
		first = 1;
		f = find_flushed(&r->st, r->backlog.v[i].tenant);
		rc |= lt_buf_printf(out, "%s{", i > 0 ? "," : "");
		rc |= json_str(out, &first, "tenant", r->backlog.v[i].tenant);
		rc |= json_backlog_fields(out, &first, &r->backlog.v[i], r->now_s);
		rc |= lt_buf_printf(out, ",\"flushed\":{\"files\":%" PRIu64
				    ",\"entries\":%" PRIu64 ",\"bytes\":%" PRIu64 "}}",
				    f ? f->files : 0, f ? f->entries : 0,
				    f ? f->bytes : 0);
	}
	return rc | lt_buf_printf(out, "]");
}

static int
json_runs(struct lt_buf *out, const struct lt_status_report *r)
{
	const struct lt_state *s = &r->st;
	int rc = 0, first = 1, have = r->state == 0 && s->runs > 0;

	rc |= lt_buf_printf(out, ",\"state\":{");
	rc |= json_str(out, &first, "file", LT_STATE_FILE);
	rc |= json_raw(out, &first, "found", json_bool(r->state == 0));
	rc |= json_str(out, &first, "error",
		       r->state != 0 && r->state != ENOENT ? r->state_error : NULL);
	rc |= lt_buf_printf(out, "},\"last_run\":");
	if (have) {
		first = 1;
		rc |= lt_buf_printf(out, "{");
		rc |= json_i64_or_null(out, &first, "time", 1, s->last_run_time);
		rc |= json_key(out, &first, "duration_seconds");
		rc |= append_seconds_us(out, s->last_run_duration_us);
		rc |= json_i64_or_null(out, &first, "exit_status", 1,
				       s->last_exit_status);
		rc |= lt_buf_printf(out, "}");
	} else {
		rc |= lt_buf_printf(out, "null");
	}
	first = 0;
	rc |= json_i64_or_null(out, &first, "last_success_time",
			       have && s->last_success_time > 0, s->last_success_time);
	rc |= lt_buf_printf(out, ",\"last_error\":");
	if (r->state == 0 && s->last_error != NULL) {
		first = 1;
		rc |= lt_buf_printf(out, "{");
		rc |= json_i64_or_null(out, &first, "time", 1, s->last_error_time);
		rc |= json_str(out, &first, "message", s->last_error);
		rc |= lt_buf_printf(out, "}");
	} else {
		rc |= lt_buf_printf(out, "null");
	}
	first = 0;
	rc |= json_u64(out, &first, "runs", r->state == 0 ? s->runs : 0);
	rc |= json_u64(out, &first, "failures", r->state == 0 ? s->failures : 0);
	return rc;
}

static int
json_head(struct lt_buf *out, const struct lt_status_report *r)
{
	int rc = 0, first = 1;

	rc |= lt_buf_printf(out, "{");
	rc |= json_str(out, &first, "spool", r->spool);
	rc |= json_i64_or_null(out, &first, "time", 1, r->now_s);
	rc |= json_i64_or_null(out, &first, "exit_status", 1, r->exit_status);
	rc |= json_str(out, &first, "spool_error", r->spool_ok ? NULL : r->spool_error);
	rc |= lt_buf_printf(out, ",\"flush_lock\":{");
	first = 1;
	rc |= json_raw(out, &first, "held", json_bool(r->lock));
	rc |= json_i64_or_null(out, &first, "pid", r->lock == 1 && r->lock_pid > 0,
			       r->lock_pid);
	rc |= json_str(out, &first, "program",
		       r->lock == 1 && r->lock_program[0] ? r->lock_program : NULL);
	rc |= json_str(out, &first, "error", r->lock < 0 ? r->lock_error : NULL);
	rc |= lt_buf_printf(out, "},\"clickhouse\":{");
	first = 1;
	rc |= json_str(out, &first, "url", r->ch_url);
	rc |= json_raw(out, &first, "checked", json_bool(r->ch_checked));
	rc |= json_raw(out, &first, "reachable",
		       json_bool(r->ch_checked ? r->ch_http_status != 0 : -1));
	rc |= json_raw(out, &first, "ok", json_bool(r->ch_checked ? r->ch_ok : -1));
	rc |= json_i64_or_null(out, &first, "http_status", r->ch_http_status != 0,
			       r->ch_http_status);
	rc |= json_str(out, &first, "error",
		       r->ch_checked && !r->ch_ok ? r->ch_error : NULL);
	return rc | lt_buf_printf(out, "}");
}

int
lt_status_json(struct lt_buf *out, const struct lt_status_report *r)
{
	int rc = 0, first = 0;

	rc |= json_head(out, r);
	rc |= json_runs(out, r);
	rc |= lt_buf_printf(out, ",\"backlog\":");
	if (r->spool_ok) {
		first = 1;
		rc |= lt_buf_printf(out, "{");
		rc |= json_backlog_fields(out, &first, &r->backlog.total, r->now_s);
		rc |= lt_buf_printf(out, "}");
		rc |= json_tenants(out, r);
	} else {
		rc |= lt_buf_printf(out, "null,\"tenants\":[]");
	}
	return rc | lt_buf_printf(out, "}\n");
}

/* --- logthra-flush --status --- */

/* SELECT 1 with a short timeout.  The password file may be out of reach
 * of a monitoring user: then ClickHouse is asked without it, and says
 * so if it wants one. */
static void
ping(struct lt_options *o, struct lt_status_report *r)
{
	struct lt_ch_options co = {
		.url = o->clickhouse_url,
		.user = o->clickhouse_user,
		.connect_timeout_s = PING_CONNECT_S,
		.timeout_s = PING_TIMEOUT_S,
	};
	struct lt_buf answer = LT_BUF_INIT;
	struct lt_ch_error err;
	struct lt_ch *ch;

	r->ch_checked = 1;
	if (o->clickhouse_password_file != NULL && o->clickhouse_password == NULL &&
	    access(o->clickhouse_password_file, R_OK) == 0)
		(void)lt_options_read_password(o);
	co.password = o->clickhouse_password;
	ch = lt_ch_open(&co);
	if (ch == NULL) {
		(void)snprintf(r->ch_error, sizeof(r->ch_error),
			       "could not initialize libcurl");
		return;
	}
	if (lt_ch_query(ch, "SELECT 1", &answer, &err) < 0) {
		r->ch_http_status = err.http_status;
		(void)snprintf(r->ch_error, sizeof(r->ch_error), "%s", err.message);
	} else if (answer.len >= 1 && answer.data[0] == '1') {
		r->ch_http_status = 200;
		r->ch_ok = 1;
	} else {
		r->ch_http_status = 200;
		(void)snprintf(r->ch_error, sizeof(r->ch_error),
			       "unexpected answer to SELECT 1");
	}
	lt_buf_free(&answer);
	lt_ch_close(ch);
}

static void
gather(struct lt_options *o, int do_ping, struct lt_status_report *r)
{
	memset(r, 0, sizeof(*r));
	r->spool = o->spool;
	r->now_s = (int64_t)time(NULL);
	url_without_credentials(r->ch_url, sizeof(r->ch_url), o->clickhouse_url);
	r->spool_ok = lt_backlog_scan(o->spool, r->now_s, &r->backlog,
				      r->spool_error, sizeof(r->spool_error)) == 0;
	r->lock = lt_lock_holder(o->spool, "/proc/locks", &r->lock_pid,
				 r->lock_error, sizeof(r->lock_error));
	if (r->lock == 1)
		process_name(r->lock_pid, r->lock_program, sizeof(r->lock_program));
	r->state = lt_state_read(o->spool, &r->st, r->state_error,
				 sizeof(r->state_error));
	if (r->state == -1)
		r->state = EINVAL;
	if (do_ping)
		ping(o, r);
	lt_status_judge(r);
}

int
lt_status_main(struct lt_options *o, int json, int do_ping)
{
	struct lt_status_report r;
	struct lt_buf out = LT_BUF_INIT;
	int status;

	gather(o, do_ping, &r);
	if (!r.spool_ok)
		lt_error("%s", r.spool_error);
	if (r.state != 0 && r.state != ENOENT)
		lt_warning("%s", r.state_error);
	status = r.exit_status;
	if ((json ? lt_status_json(&out, &r) : lt_status_text(&out, &r)) != 0) {
		lt_error("out of memory");
		status = LT_EX_ERROR;
	} else if (fwrite(out.data, 1, out.len, stdout) != out.len ||
		   fflush(stdout) != 0) {
		lt_error("could not write the status: %m");
		status = LT_EX_ERROR;
	}
	lt_buf_free(&out);
	lt_status_report_free(&r);
	return status;
}
