/* The table on the server: its version asked, the table read, the DDL
 * run, old days dropped, the streams index's missing days (table.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clickhouse.h"
#include "table.h"

static int
no_memory(struct lt_ch_error *err)
{
	memset(err, 0, sizeof(*err));
	(void)snprintf(err->message, sizeof(err->message), "out of memory");
	return -1;
}

/* Runs sql and leaves its answer, NUL-terminated, in answer. */
static int
ask(struct lt_ch *ch, const char *sql, struct lt_buf *answer,
    struct lt_ch_error *err)
{
	lt_buf_reset(answer);
	if (lt_ch_query(ch, sql, answer, err) < 0)
		return -1;
	if (lt_buf_terminate(answer) < 0)
		return no_memory(err);
	return 0;
}

int
lt_table_server_version(struct lt_ch *ch, struct lt_ch_version *v,
			struct lt_ch_error *err)
{
	struct lt_buf answer = LT_BUF_INIT;
	int rc = ask(ch, "SELECT version()", &answer, err);

	if (rc == 0 && lt_ch_version_parse((char *)answer.data, v) < 0) {
		memset(err, 0, sizeof(*err));
		err->http_status = 200;
		(void)snprintf(err->message, sizeof(err->message),
			       "SELECT version() answered \"%.64s\", not a version",
			       (char *)answer.data);
		rc = -1;
	}
	lt_buf_free(&answer);
	return rc;
}

int
lt_table_fetch(struct lt_ch *ch, const struct lt_table_spec *s,
	       struct lt_table_found *f, struct lt_ch_error *err)
{
	struct lt_buf sql = LT_BUF_INIT, columns = LT_BUF_INIT, create = LT_BUF_INIT;
	int rc = -1;

	if (lt_table_columns_sql(&sql, s) < 0) {
		(void)no_memory(err);
		goto out;
	}
	if (ask(ch, (char *)sql.data, &columns, err) < 0)
		goto out;
	/* SHOW CREATE TABLE fails for a table that is not there. */
	if (columns.len > 0) {
		lt_buf_reset(&sql);
		if (lt_table_show_sql(&sql, s) < 0) {
			(void)no_memory(err);
			goto out;
		}
		if (ask(ch, (char *)sql.data, &create, err) < 0)
			goto out;
	}
	lt_table_inspect(s, (char *)columns.data,
			 create.len > 0 ? (char *)create.data : "", f);
	rc = 0;
out:
	lt_buf_free(&sql);
	lt_buf_free(&columns);
	lt_buf_free(&create);
	return rc;
}

/* Whether table (and on a cluster local, the shards' table beside the
 * Distributed one) exists on this server: 1, 0, or -1. */
static int
tables_present(struct lt_ch *ch, const struct lt_table_spec *s, const char *table,
	       const char *local, struct lt_ch_error *err)
{
	struct lt_buf sql = LT_BUF_INIT, answer = LT_BUF_INIT;
	int rc = -1;

	if (lt_buf_printf(&sql, "SELECT count() FROM system.tables WHERE "
			  "database = '%s' AND name IN ('%s', '%s')", s->database,
			  table, local) < 0 ||
	    lt_buf_terminate(&sql) < 0) {
		(void)no_memory(err);
		goto out;
	}
	if (ask(ch, (char *)sql.data, &answer, err) < 0)
		goto out;
	rc = strtol((char *)answer.data, NULL, 10) == (s->cluster != NULL ? 2 : 1);
out:
	lt_buf_free(&sql);
	lt_buf_free(&answer);
	return rc;
}

int
lt_table_streams_present(struct lt_ch *ch, const struct lt_table_spec *s,
			 struct lt_ch_error *err)
{
	char name[LT_TABLE_NAME_SIZE], local[LT_TABLE_NAME_SIZE];

	if (lt_table_streams_name(s, 0, name, sizeof(name)) < 0 ||
	    lt_table_streams_name(s, 1, local, sizeof(local)) < 0) {
		memset(err, 0, sizeof(*err));
		(void)snprintf(err->message, sizeof(err->message), "invalid table name");
		return -1;
	}
	return tables_present(ch, s, name, local, err);
}

int
lt_table_streams_show(struct lt_ch *ch, const struct lt_table_spec *s,
		      struct lt_buf *create, struct lt_ch_error *err)
{
	struct lt_buf sql = LT_BUF_INIT;
	char name[LT_TABLE_NAME_SIZE];
	int rc;

	if (lt_table_streams_name(s, 1, name, sizeof(name)) < 0 ||
	    lt_buf_printf(&sql, "SHOW CREATE TABLE %s.%s FORMAT TabSeparatedRaw",
			  s->database, name) < 0 ||
	    lt_buf_terminate(&sql) < 0) {
		lt_buf_free(&sql);
		return no_memory(err);
	}
	rc = ask(ch, (char *)sql.data, create, err);
	lt_buf_free(&sql);
	return rc;
}

/* Runs the statements of a DDL function until the last. */
static int
run_ddl(struct lt_ch *ch, const struct lt_table_spec *s,
	int (*statement)(struct lt_buf *, const struct lt_table_spec *, int),
	struct lt_ch_error *err)
{
	struct lt_buf sql = LT_BUF_INIT;
	int i, rc = 0;

	for (i = 0; rc == 0; i++) {
		rc = statement(&sql, s, i);
		if (rc < 0)
			(void)no_memory(err);
		else if (rc == 0)
			rc = lt_ch_query(ch, (char *)sql.data, NULL, err);
	}
	lt_buf_free(&sql);
	return rc < 0 ? -1 : 0;
}

int
lt_table_ensure_streams(struct lt_ch *ch, const struct lt_table_spec *s,
			struct lt_ch_error *err)
{
	int rc = lt_table_streams_present(ch, s, err);

	if (rc != 0)
		return rc < 0 ? -1 : 0;
	return run_ddl(ch, s, lt_table_streams_ddl_statement, err) < 0 ? -1 : 1;
}

int
lt_table_ensure(struct lt_ch *ch, const struct lt_table_spec *s,
		struct lt_table_found *f, struct lt_ch_error *err)
{
	int rc, streams = 0;

	/* The DDL only when something is missing: on a cluster, ON CLUSTER
	 * waits for every shard, minutes when one is down, and each one
	 * leaves a task in ZooKeeper. */
	rc = tables_present(ch, s, s->table, lt_table_data_table(s), err);
	if (rc < 0)
		return -1;
	if (rc == 0 && run_ddl(ch, s, lt_table_ddl_statement, err) < 0)
		return -1;
	/* An installation from before the streams index gets it here,
	 * empty: logthra-flush --migrate fills in the days before. */
	if (rc == 1 && (streams = lt_table_ensure_streams(ch, s, err)) < 0)
		return -1;
	if (lt_table_fetch(ch, s, f, err) < 0)
		return -1;
	f->created = rc == 0 || streams == 1;
	return 0;
}

/* "20240101", the partition ID of a UTC day in the table's partition
 * key, toDate(timestamp, 'UTC'). */
static int
day_partition_id(int32_t day, char id[9])
{
	time_t t = (time_t)day * 86400;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		return -1;
	return strftime(id, 9, "%Y%m%d", &tm) == 8 ? 0 : -1;
}

/* Drops table's day partitions before oldest_id; with dropped, appends
 * each day's name to it. */
static int
drop_days_before(struct lt_ch *ch, const struct lt_table_spec *s, const char *table,
		 const char *oldest_id, struct lt_buf *dropped, struct lt_ch_error *err)
{
	struct lt_buf sql = LT_BUF_INIT, ids = LT_BUF_INIT;
	char *line, *end;
	int n = 0;

	if (lt_buf_printf(&sql, "SELECT DISTINCT partition_id FROM system.parts "
			  "WHERE database = '%s' AND table = '%s' AND active "
			  "AND partition_id < '%s' ORDER BY partition_id "
			  "FORMAT TabSeparatedRaw", s->database, table, oldest_id) < 0 ||
	    lt_buf_terminate(&sql) < 0) {
		n = no_memory(err);
		goto out;
	}
	if (ask(ch, (char *)sql.data, &ids, err) < 0) {
		n = -1;
		goto out;
	}
	for (line = (char *)ids.data; *line != '\0' && n >= 0; line = end + 1) {
		end = strchr(line, '\n');
		if (end == NULL)
			break;
		*end = '\0';
		/* Only days: a partition of anything else is not ours. */
		if (strlen(line) != 8 || strspn(line, "0123456789") != 8)
			continue;
		lt_buf_reset(&sql);
		if (lt_buf_printf(&sql, "ALTER TABLE %s.%s DROP PARTITION ID '%s'",
				  s->database, table, line) < 0 ||
		    lt_buf_terminate(&sql) < 0) {
			n = no_memory(err);
			break;
		}
		if (lt_ch_query(ch, (char *)sql.data, NULL, err) < 0) {
			n = -1;
			break;
		}
		if (dropped != NULL &&
		    lt_buf_printf(dropped, "%.4s-%.2s-%.2s\n", line, line + 4,
				  line + 6) < 0) {
			n = no_memory(err);
			break;
		}
		n++;
	}
out:
	lt_buf_free(&sql);
	lt_buf_free(&ids);
	return n;
}

int
lt_table_drop_old_days(struct lt_ch *ch, const struct lt_table_spec *s,
		       int64_t now_s, struct lt_buf *dropped,
		       struct lt_ch_error *err)
{
	int32_t oldest = lt_table_oldest_day_kept(s, now_s);
	char oldest_id[9], streams[LT_TABLE_NAME_SIZE];
	int n;

	if (oldest < 0)
		return 0;
	if (day_partition_id(oldest, oldest_id) < 0 ||
	    lt_table_streams_name(s, 1, streams, sizeof(streams)) < 0)
		return no_memory(err);
	n = drop_days_before(ch, s, lt_table_data_table(s), oldest_id, dropped, err);
	/* The index's days after the logs table's: a stream's row goes
	 * last.  (Its partition ID of a Date is the same YYYYMMDD.) */
	if (n >= 0 && drop_days_before(ch, s, streams, oldest_id, NULL, err) < 0)
		n = -1;
	return n;
}

int
lt_table_streams_missing_days(struct lt_ch *ch, const struct lt_table_spec *s,
			      int streams_exist, int32_t **days,
			      struct lt_ch_error *err)
{
	struct lt_buf sql = LT_BUF_INIT, answer = LT_BUF_INIT;
	int32_t *v = NULL, *more;
	struct tm tm;
	char *line, *end;
	int n = 0;

	*days = NULL;
	if (lt_table_streams_missing_days_sql(&sql, s, streams_exist) < 0) {
		n = no_memory(err);
		goto out;
	}
	if (ask(ch, (char *)sql.data, &answer, err) < 0) {
		n = -1;
		goto out;
	}
	for (line = (char *)answer.data; (end = strchr(line, '\n')) != NULL; line = end + 1) {
		*end = '\0';
		memset(&tm, 0, sizeof(tm));
		if (sscanf(line, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3)
			continue;
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		more = realloc(v, ((size_t)n + 1) * sizeof(*v));
		if (more == NULL) {
			n = no_memory(err);
			goto out;
		}
		v = more;
		v[n++] = (int32_t)(timegm(&tm) / 86400);
	}
	*days = v;
	v = NULL;
out:
	free(v);
	lt_buf_free(&sql);
	lt_buf_free(&answer);
	return n;
}
