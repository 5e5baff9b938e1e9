/* What logthra-flush records after each run: SPOOL/flush.state and the
 * metrics file for node_exporter's textfile collector.  See flush_state.h. */
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
#include <unistd.h>

#include "fdio.h"
#include "file.h"
#include "flush_state.h"
#include "log.h"
#include "prom.h"
#include "push.h"
#include "recv_stats.h"
#include "spool.h"

/* A state file is a few lines per tenant; anything larger is not one. */
#define STATE_MAX (16u << 20)
/* The longest last_error kept. */
#define ERROR_MAX 1023

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

int
lt_append_seconds_us(struct lt_buf *out, int64_t us)
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

/* Replaces path with text (lt_file_replace()), so a reader sees the old
 * file or the new one, never half of either.  mode is set whatever the
 * umask; one writer at a time (the flush lock), so a temporary file left
 * by a run that died is replaced.  With sync, the file and its directory
 * are fsynced, for a file that must survive a crash.  On failure err
 * says "could not STEP WHAT \"FILE\"". */
static int
replace_file(const char *path, const struct lt_buf *text, mode_t mode,
	     int sync, const char *what, char *err, size_t errlen)
{
	enum lt_file_call call = LT_FILE_CREATE;
	int rc;

	rc = lt_file_replace(path, NULL, text->data, text->len, mode,
			     LT_FILE_EXACT_MODE | LT_FILE_ONE_WRITER |
			     (sync ? LT_FILE_SYNC : 0), &call);
	if (rc == 0)
		return 0;
	if (call == LT_FILE_FSYNC_DIR)
		(void)snprintf(err, errlen, "could not fsync the directory of %s \"%s\": %s",
			       what, path, strerror(rc));
	else
		(void)snprintf(err, errlen, "could not %s %s \"%s.tmp\": %s",
			       lt_file_call_verb(call), what, path, strerror(rc));
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
		rc = replace_file((char *)path.data, &text, 0660, 1,
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

const struct lt_state_tenant *
lt_state_tenant_find(const struct lt_state *s, const char *tenant)
{
	struct lt_state_tenant key = {.tenant = (char *)tenant};

	if (s->n_tenants == 0)
		return NULL;
	return bsearch(&key, s->tenants, s->n_tenants, sizeof(key), tenant_compare);
}

/* --- escapers --- */

/* --- the metrics file --- */

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

	if (lt_prom_head(out, name, "counter", help) < 0)
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

	if (lt_prom_head(out, name, "gauge", help) < 0)
		return -1;
	for (i = 0; i < b->n; i++) {
		t = &b->v[i];
		if (which == 0) {
			for (k = 0; k < LT_BL_STATES; k++)
				if (tenant_sample(out, name, t->tenant,
						  lt_backlog_state_dirs[k],
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
	if (lt_prom_head(out, name, type, help) < 0)
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
	if (lt_append_seconds_us(&dur, s->last_run_duration_us) < 0 ||
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
	return replace_file(path, text, 0644, 0, "metrics file", err, errlen);
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
lt_state_record_run(const struct lt_options *o, const struct lt_flush_stats *st,
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
