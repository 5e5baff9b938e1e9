/* logthra-flush --status: the report of the spool, the last runs and
 * ClickHouse, as text or JSON.  See status.h and logthra-flush(1). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clickhouse.h"
#include "file.h"
#include "log.h"
#include "status.h"

/* --status asks ClickHouse with these, not clickhouse_timeout: a
 * monitoring check must answer quickly. */
#define PING_CONNECT_S 2
#define PING_TIMEOUT_S 5

/* --- formatters --- */

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
			  lt_state_tenant_find(&r->st, r->backlog.v[i].tenant), r->now_s);
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
		f = lt_state_tenant_find(&r->st, r->backlog.v[i].tenant);
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
		rc |= lt_append_seconds_us(out, s->last_run_duration_us);
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
