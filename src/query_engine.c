/* The engine logthra-query runs in production: ClickHouse, through
 * query.c, with the table logthra-flush writes. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "query_http.h"
#include "table.h"

/* The streams index beside the table (lt_table_streams_name()). */
static char streams_table[LT_TABLE_NAME_SIZE];

/* The caller logs the answer; an unreachable server names itself. */
static int
ch_failed(struct lt_query_error *err, const char *what,
	  const struct lt_ch_error *ce)
{
	err->status = 502;
	if (ce->http_status == 0)
		(void)snprintf(err->message, sizeof(err->message), "%.1000s",
			       ce->message);
	else
		(void)snprintf(err->message, sizeof(err->message),
			       "%s: %.900s", what, ce->message);
	return -1;
}

/* The layout is that of the table as it is: a table made by an older
 * logthra-flush keeps its own. */
static int
find_layout(struct lt_ch *ch, const struct lt_options *o,
	    struct lt_sql_target *t, struct lt_query_error *err)
{
	struct lt_ch_version v;
	struct lt_table_spec spec;
	struct lt_table_found found;
	struct lt_ch_error ce;

	if (lt_table_server_version(ch, &v, &ce) < 0)
		return ch_failed(err, "ClickHouse could not tell its version", &ce);
	memset(&spec, 0, sizeof(spec));
	lt_table_spec_for(&spec, &v);
	spec.database = o->database;
	spec.table = o->table;   /* Distributed on a cluster: what queries read */
	if (lt_table_streams_name(&spec, 0, streams_table,
				  sizeof(streams_table)) < 0) {
		err->status = 500;
		(void)snprintf(err->message, sizeof(err->message),
			       "invalid table name \"%s\" in the settings", o->table);
		return -1;
	}
	if (lt_table_fetch(ch, &spec, &found, &ce) < 0)
		return ch_failed(err, "could not read the table's layout", &ce);
	if (!found.exists) {
		err->status = 502;
		(void)snprintf(err->message, sizeof(err->message),
			       "there is no table %s.%s in ClickHouse yet: logthra-flush makes it with its first load",
			       o->database, o->table);
		return -1;
	}
	t->layout = found.layout;
	return 0;
}

static struct lt_ch *
ch_open(const struct lt_options *o, const struct lt_query_limits *lim,
	struct lt_sql_target *t, struct lt_query_error *err)
{
	struct lt_ch_options co;
	struct lt_ch *ch;

	if (!lt_ch_identifier_valid(o->database) ||
	    !lt_ch_identifier_valid(o->table)) {
		err->status = 500;
		(void)snprintf(err->message, sizeof(err->message),
			       "invalid database or table name in the settings");
		return NULL;
	}
	memset(&co, 0, sizeof(co));
	co.url = o->clickhouse_url;
	co.user = o->clickhouse_user;
	co.password = o->clickhouse_password;
	co.connect_timeout_s = 10;
	/* ClickHouse stops the statement at the query timeout (query.c
	 * sets max_execution_time); a little more here lets its answer
	 * come through. */
	co.timeout_s = (long)(lim->timeout_ns / 1000000000) + 5;
	ch = lt_ch_open(&co);
	if (ch == NULL) {
		err->status = 503;
		(void)snprintf(err->message, sizeof(err->message),
			       "could not start a ClickHouse client; try again later");
		return NULL;
	}
	t->database = o->database;
	t->table = o->table;
	t->streams_table = streams_table;
	if (find_layout(ch, o, t, err) < 0) {
		lt_ch_close(ch);
		return NULL;
	}
	return ch;
}

/* By name: the table grows with each endpoint. */
const struct lt_query_engine lt_query_clickhouse = {
	.open = ch_open,
	.close = lt_ch_close,
	.logs = lt_query_logs,
	.labels = lt_query_labels,
	.label_values = lt_query_label_values,
	.series = lt_query_series,
	.index_stats = lt_query_index_stats,
	.metric = lt_query_metric,
};
