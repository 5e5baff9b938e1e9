/* The SQL logthra-query sends: selectors, time ranges, line filters,
 * labels, series, volume, metric queries; values quoted (query_sql.h). */
#include "config.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "clickhouse.h"
#include "clock.h"
#include "query_sql.h"

#define NS_PER_SECOND INT64_C(1000000000)
#define SECONDS_PER_DAY INT64_C(86400)
/* The times both layouts hold: 18.16's DateTime and Date end with 2105
 * (toDateTime(4294967295), its UInt32's last second, reads back as
 * 1970).  A range reaching past them asks about no other rows. */
#define LAST_DAY INT64_C(49672)  /* 2105-12-31 */
#define LAST_SECOND ((LAST_DAY + 1) * SECONDS_PER_DAY - 1)

int
lt_sql_quote(struct lt_buf *out, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)s;
	unsigned char *o;
	size_t i;

	/* At most four bytes for each, and the quotes: one reservation,
	 * so that a failure leaves out as it was. */
	if (len > (SIZE_MAX - 2) / 4 || lt_buf_reserve(out, 4 * len + 2) < 0)
		return -1;
	o = out->data + out->len;
	*o++ = '\'';
	for (i = 0; i < len; i++) {
		if (p[i] == '\\' || p[i] == '\'') {
			*o++ = '\\';
			*o++ = p[i];
		} else if (p[i] < 0x20 || p[i] == 0x7f) {
			*o++ = '\\';
			*o++ = 'x';
			*o++ = (unsigned char)hex[p[i] >> 4];
			*o++ = (unsigned char)hex[p[i] & 15];
		} else {
			*o++ = p[i];
		}
	}
	*o++ = '\'';
	out->len = (size_t)(o - out->data);
	return 0;
}

static int
quote_str(struct lt_buf *out, const char *s)
{
	return lt_sql_quote(out, s, strlen(s));
}

static int
text(struct lt_buf *out, const char *s)
{
	return lt_buf_append(out, s, strlen(s));
}

static int
names_valid(const struct lt_sql_target *t, int logs, int streams)
{
	return t != NULL && t->database != NULL &&
	       lt_ch_identifier_valid(t->database) &&
	       (!logs || (t->table != NULL && lt_ch_identifier_valid(t->table))) &&
	       (!streams || (t->streams_table != NULL &&
			     lt_ch_identifier_valid(t->streams_table)));
}

/* --- the stream selector against the streams index --- */

/* Whether a stream without the label matches: Prometheus and Loki read
 * an absent label as "", so a="" means "no label a", a!="x" and
 * a=~".*" take streams without a too.  A regex that does not compile
 * counts as not matching: ClickHouse then refuses the statement. */
static int
empty_compatible(const struct lt_matcher *m)
{
	switch (m->op) {
	case LT_MATCH_EQ:
		return m->value[0] == '\0';
	case LT_MATCH_NE:
		return m->value[0] != '\0';
	default:
		return lt_matcher_matches(m, "", 0) == 1;
	}
}

/* "(?-s)^(?:re)$" as a literal, or "(?-s)(?:re)" unanchored: ClickHouse's
 * match() lets . match a newline unless told (?-s), Go's does not.  The
 * group is there for ClickHouse 18.16, whose match() looks for the
 * regex's literal text before it runs RE2 and ignores a flag such as
 * (?i) in doing so: match('a query', '(?i)QUERY') is 0 there, and 1 with
 * the group (its search for literals does not look inside one). */
static int
regex_literal(struct lt_buf *out, const char *re, int anchored)
{
	struct lt_buf pattern = LT_BUF_INIT;
	int rc = 0;

	rc |= text(&pattern, anchored ? "(?-s)^(?:" : "(?-s)(?:");
	rc |= text(&pattern, re);
	rc |= text(&pattern, anchored ? ")$" : ")");
	if (rc == 0)
		rc = lt_sql_quote(out, (const char *)pattern.data, pattern.len);
	lt_buf_free(&pattern);
	return rc;
}

/* 'name=value' as the label array holds it; value may be "". */
static int
label_literal(struct lt_buf *out, const char *name, const char *value)
{
	struct lt_buf pair = LT_BUF_INIT;
	int rc = 0;

	rc |= text(&pair, name);
	rc |= lt_buf_append(&pair, "=", 1);
	rc |= text(&pair, value);
	if (rc == 0)
		rc = lt_sql_quote(out, (const char *)pair.data, pair.len);
	lt_buf_free(&pair);
	return rc;
}

/* Whether the value of label x (x the whole "name=value") satisfies
 * m, or, with negate, does not. */
static int
value_test(struct lt_buf *out, const struct lt_matcher *m, int negate)
{
	int rc = 0, eq = m->op == LT_MATCH_EQ || m->op == LT_MATCH_NE;
	int positive = (m->op == LT_MATCH_EQ || m->op == LT_MATCH_RE) != negate;

	if (eq) {
		rc |= text(out, positive ? "x = " : "x != ");
		return rc | label_literal(out, m->name, m->value);
	}
	rc |= lt_buf_printf(out, "%smatch(substring(x, %zu), ", positive ? "" : "NOT ",
			    strlen(m->name) + 2);
	rc |= regex_literal(out, m->value, 1);
	return rc | lt_buf_append(out, ")", 1);
}

/* One matcher as a condition on the label array.  A stream has at most
 * one label of a name: when an absent label matches, the condition is
 * that no label of the name fails; otherwise that one passes. */
static int
matcher_condition(struct lt_buf *out, const struct lt_matcher *m)
{
	int rc = 0, absent_matches = empty_compatible(m);

	/* The common cases, which ClickHouse also serves from an index. */
	if (m->value[0] != '\0' && m->op == LT_MATCH_EQ) {
		rc |= text(out, "has(label, ");
		rc |= label_literal(out, m->name, m->value);
		return rc | lt_buf_append(out, ")", 1);
	}
	if (m->value[0] != '\0' && m->op == LT_MATCH_NE) {
		rc |= text(out, "NOT has(label, ");
		rc |= label_literal(out, m->name, m->value);
		return rc | lt_buf_append(out, ")", 1);
	}
	rc |= text(out, absent_matches ? "NOT arrayExists(x -> startsWith(x, " :
			"arrayExists(x -> startsWith(x, ");
	rc |= label_literal(out, m->name, "");
	rc |= text(out, ") AND ");
	rc |= value_test(out, m, absent_matches);
	return rc | text(out, ", label)");
}

/* " AND m1 AND m2 ..." for the selector (nothing for none). */
static int
selector_conditions(struct lt_buf *out, const struct lt_logql *q)
{
	size_t i;
	int rc = 0;

	for (i = 0; q != NULL && i < q->n_matchers; i++) {
		rc |= text(out, " AND ");
		rc |= matcher_condition(out, &q->matchers[i]);
	}
	return rc;
}

/* --- time --- */

static int64_t
clamp(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Days since the epoch as toDate('YYYY-MM-DD'). */
static int
append_day(struct lt_buf *out, int64_t days)
{
	int64_t y;
	int m, d;

	lt_civil_from_days(days, &y, &m, &d);
	return lt_buf_printf(out, "toDate('%04" PRId64 "-%02d-%02d')", y, m, d);
}

/* The range's nanoseconds, within what the tables hold: start <= ts <
 * end, end > start unless the range is empty. */
static void
range_ns(const struct lt_sql_range *r, int64_t *start, int64_t *end)
{
	*start = clamp(r->start_ns, 0, LAST_SECOND * NS_PER_SECOND);
	*end = clamp(r->end_ns, 0, (LAST_SECOND + 1) * NS_PER_SECOND);
}

/* "day >= A AND day <= B": the UTC days the range touches. */
static int
day_range(struct lt_buf *out, const struct lt_sql_range *r)
{
	int64_t start, end, first, last;
	int rc = 0;

	range_ns(r, &start, &end);
	first = clamp(start / NS_PER_SECOND / SECONDS_PER_DAY, 0, LAST_DAY);
	last = end > start ? (end - 1) / NS_PER_SECOND / SECONDS_PER_DAY : first;
	last = clamp(last, 0, LAST_DAY);
	rc |= text(out, "day >= ");
	rc |= append_day(out, first);
	rc |= text(out, " AND day <= ");
	return rc | append_day(out, last);
}

/* tenant, coarse range on timestamp for the sort key, exact range on
 * timestamp_ns. */
static int
logs_range(struct lt_buf *out, const struct lt_sql_target *t,
	   const struct lt_sql_range *r)
{
	int64_t start, end;
	int rc = 0;

	range_ns(r, &start, &end);
	rc |= text(out, "tenant_id = ");
	rc |= quote_str(out, r->tenant);
	rc |= text(out, " AND ");
	rc |= lt_table_time_range(out, t->layout, start, end > start ? end - 1 : start);
	return rc | lt_buf_printf(out, " AND timestamp_ns >= %" PRId64
				  " AND timestamp_ns < %" PRId64, start, end);
}

/* "FROM db.streams WHERE tenant_id = ... AND day range" */
static int
streams_from(struct lt_buf *out, const struct lt_sql_target *t,
	     const struct lt_sql_range *r)
{
	int rc = 0;

	rc |= lt_buf_printf(out, "FROM %s.%s WHERE tenant_id = ", t->database,
			    t->streams_table);
	rc |= quote_str(out, r->tenant);
	rc |= text(out, " AND ");
	return rc | day_range(out, r);
}

static int
stream_condition(struct lt_buf *out, const struct lt_sql_target *t,
		 const struct lt_logql *q, const struct lt_sql_range *r)
{
	int rc = 0;

	rc |= text(out, "stream_id IN (SELECT stream_id ");
	rc |= streams_from(out, t, r);
	rc |= selector_conditions(out, q);
	return rc | lt_buf_append(out, ")", 1);
}

/* Ends a statement: NUL-terminated, or out as it was before.  The
 * appends before it collect their results with rc |= : after one fails
 * the others may still add (all is dropped here), but -1 stays. */
static int
finish(struct lt_buf *out, size_t old, int rc)
{
	if (rc != 0 || lt_buf_terminate(out) < 0) {
		out->len = old;
		return -1;
	}
	return 0;
}

int
lt_sql_stream_condition(struct lt_buf *out, const struct lt_sql_target *t,
			const struct lt_logql *q, const struct lt_sql_range *r)
{
	size_t old = out->len;

	if (!names_valid(t, 0, 1))
		return -1;
	return finish(out, old, stream_condition(out, t, q, r));
}

/* --- line filters --- */

/* Whether a stage leaves the line as it was: line filters after one
 * that does not see what was stored. */
static int
keeps_line(const struct lt_stage *s)
{
	return s->kind != LT_STAGE_LINE_FORMAT && s->kind != LT_STAGE_DECOLORIZE;
}

/* One value of a line filter as a test of msg. */
static int
line_test(struct lt_buf *out, enum lt_line_op op, const char *value)
{
	int rc = 0;

	switch (op) {
	case LT_LINE_CONTAINS:
	case LT_LINE_NOT_CONTAINS:
		rc |= text(out, "position(msg, ");
		rc |= quote_str(out, value);
		return rc | text(out, op == LT_LINE_CONTAINS ? ") > 0" : ") = 0");
	default:
		rc |= text(out, op == LT_LINE_MATCH ? "match(msg, " : "NOT match(msg, ");
		rc |= regex_literal(out, value, 0);
		return rc | lt_buf_append(out, ")", 1);
	}
}

/* |= and |~ keep a line any alternative matches; != and !~ drop it. */
static int
line_filter(struct lt_buf *out, const struct lt_line_filter *f)
{
	int keep = f->op == LT_LINE_CONTAINS || f->op == LT_LINE_MATCH;
	size_t i;
	int rc = 0;

	if (f->n_values == 0)
		return 0;
	rc |= text(out, " AND ");
	if (f->n_values > 1)
		rc |= lt_buf_append(out, "(", 1);
	for (i = 0; i < f->n_values; i++) {
		if (i > 0)
			rc |= text(out, keep ? " OR " : " AND ");
		rc |= line_test(out, f->op, f->values[i]);
	}
	if (f->n_values > 1)
		rc |= lt_buf_append(out, ")", 1);
	return rc;
}

/* The rows of a log query: tenant, time range, streams of the selector,
 * and the line filters the SQL can do (pushed[i] set for those). */
static int
logs_where(struct lt_buf *out, const struct lt_sql_target *t,
	   const struct lt_logql *q, const struct lt_sql_range *r,
	   unsigned char *pushed)
{
	size_t i;
	int rc = 0, line_kept = 1;

	rc |= logs_range(out, t, r);
	rc |= text(out, " AND ");
	rc |= stream_condition(out, t, q, r);
	for (i = 0; i < q->n_stages; i++) {
		const struct lt_stage *s = &q->stages[i];

		pushed[i] = line_kept && s->kind == LT_STAGE_LINE_FILTER;
		if (pushed[i])
			rc |= line_filter(out, &s->line);
		line_kept = line_kept && keeps_line(s);
	}
	return rc;
}

int
lt_sql_log_query(struct lt_buf *out, const struct lt_sql_target *t,
		 const struct lt_logql *q, const struct lt_sql_range *r,
		 int forward, size_t limit, unsigned char *pushed)
{
	size_t old = out->len;
	int rc = 0;

	if (!names_valid(t, 1, 1))
		return -1;
	rc |= lt_buf_printf(out, "SELECT timestamp_ns, stream_id, label, metadata, msg "
			    "FROM %s.%s WHERE ", t->database, t->table);
	rc |= logs_where(out, t, q, r, pushed);
	rc |= lt_buf_printf(out, " ORDER BY timestamp_ns %s, stream_id, msg",
			    forward ? "ASC" : "DESC");
	if (limit > 0)
		rc |= lt_buf_printf(out, " LIMIT %zu", limit);
	rc |= text(out, " FORMAT TabSeparated");
	return finish(out, old, rc);
}

/* --- the streams index alone --- */

int
lt_sql_labels(struct lt_buf *out, const struct lt_sql_target *t,
	      const struct lt_logql *q, const struct lt_sql_range *r)
{
	size_t old = out->len;
	int rc = 0;

	if (!names_valid(t, 0, 1))
		return -1;
	rc |= text(out, "SELECT DISTINCT arrayJoin(arrayMap(x -> substring(x, 1, "
		   "position(x, '=') - 1), label)) AS name ");
	rc |= streams_from(out, t, r);
	rc |= selector_conditions(out, q);
	rc |= text(out, " ORDER BY name FORMAT TabSeparated");
	return finish(out, old, rc);
}

int
lt_sql_label_values(struct lt_buf *out, const struct lt_sql_target *t,
		    const char *name, const struct lt_logql *q,
		    const struct lt_sql_range *r)
{
	size_t old = out->len;
	int rc = 0;

	if (!names_valid(t, 0, 1))
		return -1;
	rc |= text(out, "SELECT DISTINCT substring(arrayJoin(arrayFilter(x -> "
		   "startsWith(x, ");
	rc |= label_literal(out, name, "");
	rc |= lt_buf_printf(out, "), label)), %zu) AS value ", strlen(name) + 2);
	rc |= streams_from(out, t, r);
	rc |= selector_conditions(out, q);
	rc |= text(out, " ORDER BY value FORMAT TabSeparated");
	return finish(out, old, rc);
}

int
lt_sql_series(struct lt_buf *out, const struct lt_sql_target *t,
	      const struct lt_logql *const *q, size_t n,
	      const struct lt_sql_range *r, size_t limit)
{
	size_t old = out->len, i;
	int rc = 0;

	if (!names_valid(t, 0, 1))
		return -1;
	rc |= text(out, "SELECT DISTINCT label ");
	rc |= streams_from(out, t, r);
	if (n > 0)
		rc |= text(out, " AND (");
	for (i = 0; i < n; i++) {
		/* "1" starts each selector's conjunction, so that one of no
		 * matchers is true. */
		rc |= text(out, i > 0 ? " OR (1" : "(1");
		rc |= selector_conditions(out, q[i]);
		rc |= lt_buf_append(out, ")", 1);
	}
	if (n > 0)
		rc |= lt_buf_append(out, ")", 1);
	rc |= text(out, " ORDER BY label");
	if (limit > 0)
		rc |= lt_buf_printf(out, " LIMIT %zu", limit);
	rc |= text(out, " FORMAT TabSeparated");
	return finish(out, old, rc);
}

int
lt_sql_index_stats(struct lt_buf *out, const struct lt_sql_target *t,
		   const struct lt_logql *q, const struct lt_sql_range *r)
{
	size_t old = out->len;
	int rc = 0;

	if (!names_valid(t, 1, 1))
		return -1;
	rc |= lt_buf_printf(out, "SELECT uniqExact(stream_id), uniqExact(stream_id, "
			    "toDate(timestamp, 'UTC')), count(), sum(length(msg)) "
			    "FROM %s.%s WHERE ", t->database, t->table);
	rc |= logs_range(out, t, r);
	rc |= text(out, " AND ");
	rc |= stream_condition(out, t, q, r);
	rc |= text(out, " FORMAT TabSeparated");
	return finish(out, old, rc);
}

/* --- Grafana's endpoints: volume and detected labels --- */

/* The name of a label element x ('name=value'). */
#define NAME_OF(x) "substring(" x ", 1, position(" x ", '=') - 1)"

/* "[n1, n2]" as a literal array of strings. */
static int
names_array(struct lt_buf *out, const char *const *names, size_t n)
{
	size_t i;
	int rc = lt_buf_append(out, "[", 1);

	for (i = 0; i < n; i++) {
		if (i > 0)
			rc |= text(out, ", ");
		rc |= quote_str(out, names[i]);
	}
	return rc | lt_buf_append(out, "]", 1);
}

/* Whether the selector has a matcher on name. */
static int
selector_names(const struct lt_logql *q, const char *name)
{
	size_t i;

	for (i = 0; q != NULL && i < q->n_matchers; i++)
		if (strcmp(q->matchers[i].name, name) == 0)
			return 1;
	return 0;
}

/* The group of a stream's bytes: its label array cut to the labels asked
 * for (series), or each of its label names (labels). */
static int
volume_key(struct lt_buf *out, const struct lt_logql *q,
	   const struct lt_sql_volume *v)
{
	const char **names;
	size_t i, n = 0;
	int rc = 0;

	if (v->by_labels) {
		rc |= text(out, "arrayJoin(");
		if (v->n_target_labels > 0) {
			rc |= text(out, "arrayFilter(n -> has(");
			rc |= names_array(out, v->target_labels, v->n_target_labels);
			rc |= text(out, ", n), ");
		}
		rc |= text(out, "arrayMap(x -> " NAME_OF("x") ", label)");
		if (v->n_target_labels > 0)
			rc |= lt_buf_append(out, ")", 1);
		return rc | lt_buf_append(out, ")", 1);
	}
	if (v->n_target_labels == 0 && (q == NULL || q->n_matchers == 0))
		return text(out, "label");
	if (v->n_target_labels > 0) {
		names = (const char **)v->target_labels;
		n = v->n_target_labels;
	} else {
		names = calloc(q->n_matchers, sizeof(*names));
		if (names == NULL)
			return -1;
		for (i = 0; i < q->n_matchers; i++)
			names[n++] = q->matchers[i].name;
	}
	rc |= text(out, "arrayFilter(x -> has(");
	rc |= names_array(out, names, n);
	rc |= text(out, ", " NAME_OF("x") "), label)");
	if (v->n_target_labels == 0)
		free(names);
	return rc;
}

/* Loki adds name=~".+" to the selector for each target label it does
 * not name: a stream without one of them does not count. */
static int
target_conditions(struct lt_buf *out, const struct lt_logql *q,
		  const struct lt_sql_volume *v)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < v->n_target_labels; i++) {
		if (selector_names(q, v->target_labels[i]))
			continue;
		rc |= text(out, " AND arrayExists(x -> startsWith(x, ");
		rc |= label_literal(out, v->target_labels[i], "");
		rc |= text(out, "), label)");
	}
	return rc;
}

int
lt_sql_volume(struct lt_buf *out, const struct lt_sql_target *t,
	      const struct lt_logql *q, const struct lt_sql_range *r,
	      const struct lt_sql_volume *v)
{
	size_t old = out->len;
	int rc = 0;

	if (!names_valid(t, 1, 1))
		return -1;
	rc |= text(out, "SELECT b, k, sum(v) AS vol FROM (SELECT ");
	if (v->step_ns > 0)
		rc |= lt_buf_printf(out, "intDiv(timestamp_ns, %" PRId64 ")",
				    v->step_ns);
	else
		rc |= lt_buf_append(out, "0", 1);
	rc |= lt_buf_printf(out, " AS b, label, sum(length(msg)) AS v FROM %s.%s WHERE ",
			    t->database, t->table);
	rc |= logs_range(out, t, r);
	rc |= text(out, " AND ");
	rc |= stream_condition(out, t, q, r);
	rc |= target_conditions(out, q, v);
	rc |= text(out, " GROUP BY b, label) GROUP BY b, ");
	rc |= volume_key(out, q, v);
	rc |= text(out, " AS k ORDER BY b, vol DESC");
	if (v->per_bucket > 0)
		rc |= lt_buf_printf(out, " LIMIT %zu BY b", v->per_bucket);
	rc |= text(out, " FORMAT TabSeparated");
	return finish(out, old, rc);
}

/* What Loki takes for an identifier rather than a label worth showing:
 * a number strconv.ParseFloat reads (decimal, Inf, NaN) or a UUID as
 * google/uuid's Parse reads it (plain, in braces, urn:uuid:, or 32 hex
 * digits). */
#define UUID_RE "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-" \
	"[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
static const char id_regex[] =
	"^(?:[+-]?(?:(?:[0-9]+(?:\\.[0-9]*)?|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
	"|(?i:inf(?:inity)?))|(?i:nan)"
	"|" UUID_RE "|\\{" UUID_RE "\\}|(?i:urn:uuid:)" UUID_RE
	"|[0-9a-fA-F]{32})$";

int
lt_sql_detected_labels(struct lt_buf *out, const struct lt_sql_target *t,
		       const struct lt_logql *q, const struct lt_sql_range *r)
{
	size_t old = out->len;
	int rc = 0;

	if (!names_valid(t, 0, 1))
		return -1;
	rc |= text(out, "SELECT " NAME_OF("pair") " AS name, uniqExact(pair), "
		   "countIf(NOT match(substring(pair, position(pair, '=') + 1), ");
	rc |= quote_str(out, id_regex);
	rc |= text(out, ")) FROM (SELECT DISTINCT arrayJoin(label) AS pair ");
	rc |= streams_from(out, t, r);
	rc |= selector_conditions(out, q);
	rc |= text(out, ") GROUP BY name ORDER BY name FORMAT TabSeparated");
	return finish(out, old, rc);
}

/* --- metric queries --- */

/* "(startsWith(x, 'a=') OR startsWith(x, 'b='))": x is one of the
 * labels named. */
static int
names_test(struct lt_buf *out, const struct lt_grouping *by)
{
	size_t i;
	int rc = 0;

	rc |= lt_buf_append(out, "(", 1);
	for (i = 0; i < by->n_labels; i++) {
		rc |= text(out, i > 0 ? " OR startsWith(x, " : "startsWith(x, ");
		rc |= label_literal(out, by->labels[i], "");
		rc |= lt_buf_append(out, ")", 1);
	}
	return rc | lt_buf_append(out, ")", 1);
}

/* The part of array col (label or metadata) a grouping keeps, AS alias. */
static int
grouped_array(struct lt_buf *out, const struct lt_grouping *by,
	      const char *col, const char *alias)
{
	int rc = 0;

	if (by->n_labels == 0)
		return lt_buf_printf(out, "%s AS %s", by->without ? col :
				     "emptyArrayString()", alias);
	rc |= text(out, by->without ? "arrayFilter(x -> NOT " : "arrayFilter(x -> ");
	rc |= names_test(out, by);
	return rc | lt_buf_printf(out, ", %s) AS %s", col, alias);
}

static int64_t
gcd64(int64_t a, int64_t b)
{
	int64_t t;

	while (b != 0) {
		t = a % b;
		a = b;
		b = t;
	}
	return a;
}

int
lt_sql_bucket_plan(struct lt_sql_buckets *b)
{
	int64_t last;

	if (b->n_steps == 0 || b->step_ns <= 0 || b->range_ns <= 0 ||
	    b->n_steps > (uint64_t)INT64_MAX)
		return -1;
	if (__builtin_mul_overflow((int64_t)(b->n_steps - 1), b->step_ns, &last) ||
	    __builtin_add_overflow(b->start_ns, last, &last) ||
	    __builtin_sub_overflow(last, b->offset_ns, &b->hi_ns) ||
	    __builtin_sub_overflow(b->start_ns, b->offset_ns, &b->lo_ns) ||
	    __builtin_sub_overflow(b->lo_ns, b->range_ns, &b->lo_ns) ||
	    b->hi_ns == INT64_MAX)
		return -1;
	/* Every window is a whole number of buckets: its ends are steps
	 * apart and a range long. */
	b->width_ns = b->n_steps > 1 ? gcd64(b->step_ns, b->range_ns) : b->range_ns;
	b->n_buckets = (b->hi_ns - b->lo_ns) / b->width_ns;
	return 0;
}

int64_t
lt_sql_bucket_end(const struct lt_sql_buckets *b, int64_t k)
{
	return b->lo_ns + (k + 1) * b->width_ns;
}

int
lt_sql_metric_buckets(struct lt_buf *out, const struct lt_sql_target *t,
		      const struct lt_logql *q, const char *tenant,
		      const struct lt_sql_buckets *b, const struct lt_grouping *by,
		      int want_bytes, unsigned char *pushed)
{
	struct lt_sql_range r;
	size_t old = out->len;
	int rc = 0;

	if (!names_valid(t, 1, 1) || b->width_ns <= 0)
		return -1;
	/* lo < ts <= hi */
	r.tenant = tenant;
	r.start_ns = b->lo_ns + 1;
	r.end_ns = b->hi_ns + 1;
	/* The rows are counted per stream: the stream's labels come from
	 * the streams index, joined to the counts, as reading the label
	 * array of every row costs more than counting them. */
	rc |= lt_buf_printf(out, "SELECT k, stream_id, lbl, m, c, b FROM (SELECT "
			    "intDiv(timestamp_ns - (%" PRId64 "), %" PRId64
			    ") AS k, stream_id, ", r.start_ns, b->width_ns);
	rc |= by == NULL ? text(out, "metadata AS m") :
			   grouped_array(out, by, "metadata", "m");
	/* Only a bytes aggregation reads the lines. */
	rc |= lt_buf_printf(out, ", count() AS c, %s AS b FROM %s.%s WHERE ",
			    want_bytes ? "sum(length(msg))" : "0", t->database,
			    t->table);
	rc |= logs_where(out, t, q, &r, pushed);
	rc |= text(out, " GROUP BY stream_id, m, k) AS counts ANY LEFT JOIN (SELECT stream_id, ");
	rc |= by == NULL ? text(out, "any(label) AS lbl") :
			   grouped_array(out, by, "any(label)", "lbl");
	rc |= lt_buf_append(out, " ", 1);
	rc |= streams_from(out, t, &r);
	rc |= selector_conditions(out, q);
	rc |= text(out, " GROUP BY stream_id) AS streams USING stream_id ORDER BY k "
		   "FORMAT TabSeparated");
	return finish(out, old, rc);
}
