/* logthra-flush's run over one tenant: spool files claimed by link(2),
 * what ClickHouse already holds of suspects asked, batches inserted
 * (bisected when ClickHouse refuses rows), files retired, deferred or
 * quarantined (flush.h; the steps are logthra-flush(1)'s). */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archives.h"
#include "clickhouse.h"
#include "dedup.h"
#include "file.h"
#include "flush.h"
#include "indexed.h"
#include "log.h"
#include "spool.h"
#include "table.h"

/* One claimed spool file, held in memory until its batch is done. */
struct item {
	char *name;
	struct lt_buf data;
	struct lt_spool_info info;
	int suspect;      /* may be in ClickHouse already: ask before sending */
	const char *from; /* "ready" or "deferred": its old name, still there */
	struct lt_day_skip *skip; /* what ClickHouse holds of it, per day */
	size_t n_skip;
	int inserted;     /* all its rows are in ClickHouse */
	char *refusal;    /* ClickHouse's message when it refused this file alone */
};

struct batch {
	struct item *v;
	size_t n;
	size_t cap;
	size_t bytes;
	size_t rows;
};

struct run {
	const struct lt_options *o;
	struct lt_flush_stats *st;
	struct lt_ch *ch;            /* clickhouse_url: DDL, and reads on a cluster */
	struct lt_ch **shards;       /* where rows go: ch, or one per shard */
	size_t n_shards;
	struct lt_table_spec spec;   /* the table for this server */
	struct lt_tenant_retention *retentions;
	enum lt_table_layout layout; /* of the existing table */
	int drop_days;               /* retention is ours: the table has no TTL */
	struct lt_buf insert_sql;
	struct lt_buf streams_insert_sql;
	struct lt_stream_days streams; /* of the items being sent to a shard */
	struct lt_buf streams_rows;
	char query_id[64];       /* "logthra-SPOOLHASH-" + a counter per INSERT */
	size_t id_prefix_len;
	unsigned long n_inserts;
	struct lt_ch_error last_err; /* of the last INSERT that failed */
	struct lt_rows_by_day days;
	struct batch batch;
	const char *tenant;
	int claims_unsynced;         /* linked into active/, not yet fsynced */
	int ready_unsynced;          /* names gone from ready/, not yet fsynced */
	int deferred_unsynced;       /* ... from deferred/ */
	int64_t now_s;
	int flags;
	int status;
};

enum send_result { SENT, DEFERRED, DATA_ERROR };

/* The streams index pairs this process has inserted.  It outlives a run:
 * logthra-flush --follow makes a run of each pass, and with it each
 * pass's INSERT into the streams index would be the same rows again, a
 * part each for ClickHouse to write and merge. */
static struct lt_indexed known_streams;

static void
report_ch_error(const char *what, const struct lt_options *o,
		const struct lt_ch_error *err)
{
	lt_error("%s", what);
	lt_detail("%s", err->message);
	if (err->http_status == 0)
		lt_hint("Check that ClickHouse is running and that -U/--clickhouse-url (now \"%s\") points at its HTTP port.  The spool files are kept; a later run retries.",
			o->clickhouse_url);
	else
		lt_hint("The spool files are kept; a later run retries.");
}

int
lt_flush_table_spec(const struct lt_options *o, const struct lt_ch_version *v,
		    struct lt_table_spec *s, struct lt_tenant_retention **tenants)
{
	struct lt_tenant_retention *t = NULL;
	struct lt_limits limits;
	size_t i, j, n = 0;

	memset(s, 0, sizeof(*s));
	s->database = o->database;
	s->table = o->table;
	s->retention_s = o->limits.retention_s;
	lt_table_spec_for(s, v);
	/* The names were checked when the options were read. */
	if (o->cluster != NULL && lt_table_set_cluster(s, o->cluster) < 0)
		return -1;
	for (i = 0; i < o->n_tenant_settings; i++) {
		const char *tenant = o->tenant_settings[i].tenant;

		if (strcmp(o->tenant_settings[i].name, "retention") != 0)
			continue;
		for (j = 0; j < n && strcmp(t[j].tenant, tenant) != 0; j++)
			;
		if (j < n)
			continue;
		if (n % 8 == 0) {
			struct lt_tenant_retention *more = reallocarray(t, n + 8, sizeof(*t));

			if (more == NULL) {
				free(t);
				return -1;
			}
			t = more;
		}
		lt_options_limits_for(o, tenant, &limits);
		t[n].tenant = tenant;
		t[n++].seconds = limits.retention_s;
	}
	s->tenants = t;
	s->n_tenants = n;
	*tenants = t;
	return 0;
}

/* shard_urls must name every shard of the cluster, in order: a push's
 * shard is push_id % shards, and a missing shard would never get its
 * rows. */
static int
check_shards(struct run *r)
{
	struct lt_buf sql = LT_BUF_INIT, answer = LT_BUF_INIT;
	struct lt_ch_error err;
	long shards = -1;
	int rc = LT_EX_TEMPFAIL;

	if (lt_buf_printf(&sql, "SELECT count(DISTINCT shard_num) FROM system.clusters "
			  "WHERE cluster = '%s'", r->spec.cluster) < 0 ||
	    lt_buf_terminate(&sql) < 0) {
		lt_error("out of memory");
		goto out;
	}
	if (lt_ch_query(r->ch, (char *)sql.data, &answer, &err) < 0 ||
	    lt_buf_terminate(&answer) < 0) {
		report_ch_error("could not ask ClickHouse for the cluster's shards", r->o, &err);
		goto out;
	}
	shards = strtol((char *)answer.data, NULL, 10);
	rc = LT_EX_ERROR;
	if (shards == 0) {
		lt_error("ClickHouse at %s knows no cluster \"%s\"", r->o->clickhouse_url,
			 r->spec.cluster);
		lt_hint("Name a cluster of the server's remote_servers (SELECT DISTINCT cluster FROM system.clusters).");
	} else if ((size_t)shards != r->n_shards) {
		lt_error("cluster \"%s\" has %ld shards, shard_urls names %zu",
			 r->spec.cluster, shards, r->n_shards);
		lt_hint("Give one HTTP URL per shard, in the order of shard_num in system.clusters.");
	} else {
		rc = LT_EX_OK;
	}
out:
	lt_buf_free(&sql);
	lt_buf_free(&answer);
	return rc;
}

/* Learns the server's version, creates the database and table as that
 * version's best when they are missing, and fits the INSERT to the
 * table that is there, which may be older: it is never changed here
 * (logthra-flush --migrate does that). */
static int
ensure_table(struct run *r)
{
	struct lt_ch_version v;
	struct lt_table_found found;
	struct lt_table_spec as_found;
	struct lt_buf alters = LT_BUF_INIT, left = LT_BUF_INIT;
	struct lt_ch_error err;
	size_t i;
	int changes, rc;

	if (lt_table_server_version(r->ch, &v, &err) < 0) {
		report_ch_error("could not ask ClickHouse for its version", r->o, &err);
		return LT_EX_TEMPFAIL;
	}
	if (lt_flush_table_spec(r->o, &v, &r->spec, &r->retentions) < 0) {
		lt_error("out of memory");
		return LT_EX_ERROR;
	}
	for (i = 0; i < r->n_shards; i++) {
		if (lt_ch_set_insert_settings(r->shards[i], lt_table_insert_settings(&v)) < 0) {
			lt_error("out of memory");
			return LT_EX_ERROR;
		}
	}
	if (r->spec.cluster != NULL && (rc = check_shards(r)) != LT_EX_OK)
		return rc;
	if (lt_table_ensure(r->ch, &r->spec, &found, &err) < 0) {
		report_ch_error("could not create the database and table in ClickHouse",
				r->o, &err);
		return LT_EX_TEMPFAIL;
	}
	/* A table made now holds none of what was indexed before. */
	if (found.created)
		lt_indexed_clear(&known_streams);
	if (found.missing[0] != '\0') {
		lt_error("table %s.%s cannot take Logthra's rows: %s",
			 r->o->database, r->o->table, found.missing);
		lt_hint("It was not made by logthra-flush, or by hand from another layout; "
			"see logthra(7), THE TABLE.  Use -t/--table for a new one.  "
			"The spool files are kept.");
		return LT_EX_ERROR;
	}
	as_found = r->spec;
	as_found.layout = found.layout;
	r->layout = found.layout;
	if (lt_table_insert_sql(&r->insert_sql, &as_found) < 0 ||
	    lt_table_streams_insert_sql(&r->streams_insert_sql, &r->spec) < 0) {
		lt_error("out of memory");
		return LT_EX_ERROR;
	}
	/* Retention: the table's TTL, or else old days dropped here. */
	r->drop_days = !found.has_ttl;
	changes = lt_table_migrations(&r->spec, &found, &alters, &left);
	if (changes > 0 || left.len > 0)
		lt_info("table %s.%s differs from what ClickHouse %d.%d can hold; "
			"\"logthra-flush --migrate --dry-run\" lists the changes",
			r->o->database, r->o->table, v.major, v.minor);
	lt_buf_free(&alters);
	lt_buf_free(&left);
	return LT_EX_OK;
}

/* Days older than the retention, on a table without TTL (ClickHouse
 * before 22.8, or a table from before --migrate). */
static void
drop_old_days(struct run *r)
{
	struct lt_buf dropped = LT_BUF_INIT;
	struct lt_ch_error err;
	size_t k;
	int n;

	if (!r->drop_days || r->status != LT_EX_OK)
		return;
	/* Every shard: a day's partition is on each. */
	for (k = 0, n = 0; k < r->n_shards && n >= 0; k++)
		n = lt_table_drop_old_days(r->shards[k], &r->spec, r->now_s, &dropped, &err);
	/* The streams index lost those days too (or may have). */
	if (n != 0 || dropped.len > 0)
		lt_indexed_clear(&known_streams);
	if (n < 0) {
		report_ch_error("could not drop the days past the retention", r->o, &err);
		r->status = LT_EX_TEMPFAIL;
	} else if (n > 0 && lt_buf_terminate(&dropped) == 0) {
		char *day, *next;

		for (day = (char *)dropped.data; (next = strchr(day, '\n')) != NULL;
		     day = next + 1) {
			*next = '\0';
			(void)printf("dropped day %s of %s.%s: past the retention\n",
				     day, r->o->database, r->o->table);
		}
	}
	lt_buf_free(&dropped);
}

/* --- the batch --- */

static void
item_free(struct item *it)
{
	free(it->name);
	lt_buf_free(&it->data);
	free(it->skip);
	free(it->refusal);
}

static void
batch_clear(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		item_free(&b->v[i]);
	b->n = b->bytes = b->rows = 0;
}

static struct item *
batch_add(struct batch *b, const char *name)
{
	struct item *it;

	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		it = realloc(b->v, cap * sizeof(*it));
		if (it == NULL)
			return NULL;
		b->v = it;
		b->cap = cap;
	}
	it = &b->v[b->n];
	memset(it, 0, sizeof(*it));
	it->name = strdup(name);
	if (it->name == NULL)
		return NULL;
	b->n++;
	return it;
}

/* --- asking ClickHouse what it already holds --- */

/* The tenant as a string literal made of hex digits only: whatever the
 * tenant id holds (Loki's charset allows a quote), no byte of request
 * data ever becomes SQL text. */
static int
append_hex_string(struct lt_buf *sql, const char *text)
{
	static const char hex[] = "0123456789abcdef";

	if (lt_buf_printf(sql, "unhex('") < 0)
		return -1;
	for (; *text; text++) {
		unsigned char c = (unsigned char)*text;

		if (lt_buf_append_byte(sql, (unsigned char)hex[c >> 4]) < 0 ||
		    lt_buf_append_byte(sql, (unsigned char)hex[c & 15]) < 0)
			return -1;
	}
	return lt_buf_printf(sql, "')");
}

static int
presence_sql(struct run *r, struct lt_buf *sql)
{
	int64_t lo = INT64_MAX, hi = 0;
	const char *sep = "";
	size_t i;

	if (lt_buf_printf(sql, "SELECT push_id, intDiv(timestamp_ns, 86400000000000) AS day, count() FROM %s.%s WHERE tenant_id = ",
			  r->o->database, lt_table_data_table(&r->spec)) < 0 ||
	    append_hex_string(sql, r->tenant) < 0 ||
	    lt_buf_printf(sql, " AND push_id IN (") < 0)
		return -1;
	for (i = 0; i < r->batch.n; i++) {
		const struct item *it = &r->batch.v[i];

		if (!it->suspect || it->info.n_entries == 0)
			continue;
		if (lt_buf_printf(sql, "%s%" PRIu64, sep, it->info.push_id) < 0)
			return -1;
		sep = ", ";
		lo = it->info.min_ts_ns < lo ? it->info.min_ts_ns : lo;
		hi = it->info.max_ts_ns > hi ? it->info.max_ts_ns : hi;
	}
	/* The time range lets ClickHouse read only the partitions
	 * concerned; it must not leave out a row, or the row is sent
	 * again. */
	if (lt_buf_printf(sql, ") AND ") < 0 ||
	    lt_table_time_range(sql, r->layout, lo, hi) < 0)
		return -1;
	return lt_buf_printf(sql, " GROUP BY push_id, day FORMAT TSV");
}

static int
add_skip(struct run *r, uint64_t push_id, int32_t day, uint64_t rows)
{
	struct lt_day_skip *v;
	size_t i, j;

	for (i = 0; i < r->batch.n; i++) {
		struct item *it = &r->batch.v[i];

		if (!it->suspect || it->info.push_id != push_id)
			continue;
		/* On a cluster the count of each shard comes apart (a push
		 * is on one, unless the shards changed between runs). */
		for (j = 0; j < it->n_skip && it->skip[j].day != day; j++)
			;
		if (j < it->n_skip) {
			it->skip[j].rows += rows;
			continue;
		}
		v = realloc(it->skip, (it->n_skip + 1) * sizeof(*v));
		if (v == NULL)
			return -1;
		it->skip = v;
		it->skip[it->n_skip].day = day;
		it->skip[it->n_skip].rows = rows;
		it->n_skip++;
	}
	return 0;
}

static int
parse_presence(struct run *r, const struct lt_buf *answer)
{
	const char *p = (const char *)answer->data, *end = p + answer->len;
	unsigned long long id, rows;
	long day;
	char *e;

	while (p < end) {
		errno = 0;
		id = strtoull(p, &e, 10);
		if (errno || *e != '\t')
			return -1;
		day = strtol(e + 1, &e, 10);
		if (errno || *e != '\t')
			return -1;
		rows = strtoull(e + 1, &e, 10);
		if (errno || *e != '\n')
			return -1;
		if (add_skip(r, id, (int32_t)day, rows) < 0)
			return -1;
		p = e + 1;
	}
	return 0;
}

/* Waits until no INSERT of this spool is running in ClickHouse: one
 * sent by a run that died may still be executing, and what it commits
 * must be counted before we decide what to send again.  The flush lock
 * means every such INSERT belongs to a dead run. */
static enum send_result
wait_for_dead_inserts(struct run *r)
{
	struct lt_buf sql = LT_BUF_INIT, answer = LT_BUF_INIT;
	struct lt_ch_error err;
	enum send_result res = DEFERRED;
	size_t k, running;
	int i;

	if (lt_buf_printf(&sql, "SELECT count() FROM system.processes WHERE query_id LIKE '%.*s%%'",
			  (int)r->id_prefix_len, r->query_id) < 0 ||
	    lt_buf_terminate(&sql) < 0)
		goto out;
	for (i = 0; i < 600; i++) {
		running = 0;
		for (k = 0; k < r->n_shards; k++) {
			lt_buf_reset(&answer);
			if (lt_ch_query(r->shards[k], (char *)sql.data, &answer, &err) < 0) {
				report_ch_error("could not ask ClickHouse for running INSERTs",
						r->o, &err);
				goto out;
			}
			running += !(answer.len >= 1 && answer.data[0] == '0');
		}
		if (running == 0) {
			res = SENT;
			goto out;
		}
		if (i == 0)
			lt_info("waiting for an INSERT of an interrupted run to end");
		(void)nanosleep(&(struct timespec){0, 100000000}, NULL);
	}
	lt_error("an INSERT of an interrupted run is still running in ClickHouse after 60 s");
out:
	lt_buf_free(&sql);
	lt_buf_free(&answer);
	return res;
}

/* For suspect files: how many rows of each (push, day) ClickHouse holds.
 * A push's rows of one day travel in one INSERT, in file order; that
 * INSERT commits all of them, none, or (cut short between two rows) its
 * first ones; so the rows held are always the first ones, and the rest
 * are sent again. */
static enum send_result
check_presence(struct run *r)
{
	struct lt_buf sql = LT_BUF_INIT, answer = LT_BUF_INIT;
	struct lt_ch_error err;
	enum send_result res = SENT;
	size_t i, k, n = 0;

	for (i = 0; i < r->batch.n; i++) {
		free(r->batch.v[i].skip);
		r->batch.v[i].skip = NULL;
		r->batch.v[i].n_skip = 0;
		n += r->batch.v[i].suspect && r->batch.v[i].info.n_entries > 0;
	}
	if (n == 0)
		return SENT;
	if (wait_for_dead_inserts(r) != SENT)
		return DEFERRED;
	if (presence_sql(r, &sql) < 0 || lt_buf_terminate(&sql) < 0) {
		lt_error("out of memory");
		res = DEFERRED;
	}
	/* Asked of the servers the rows went to (every shard of a cluster,
	 * not a Distributed table, which may read a lagging replica). */
	for (k = 0; k < r->n_shards && res == SENT; k++) {
		lt_buf_reset(&answer);
		if (lt_ch_query(r->shards[k], (char *)sql.data, &answer, &err) < 0) {
			report_ch_error("could not ask ClickHouse which rows it already holds",
					r->o, &err);
			res = DEFERRED;
		} else if (parse_presence(r, &answer) < 0) {
			lt_error("could not understand ClickHouse's answer to \"%s\"",
				 (char *)sql.data);
			res = DEFERRED;
		}
	}
	lt_buf_free(&sql);
	lt_buf_free(&answer);
	return res;
}

/* --- sending --- */

/* The next query_id: the spool's prefix, a counter and the pid. */
static void
next_query_id(struct run *r)
{
	(void)snprintf(r->query_id + r->id_prefix_len,
		       sizeof(r->query_id) - r->id_prefix_len, "%lu-%ld",
		       ++r->n_inserts, (long)getpid());
}

static enum send_result
send_day(struct run *r, struct lt_ch *ch, const struct lt_day_rows *d, int quiet)
{
	struct lt_ch_error *err = &r->last_err;
	char what[256];

	/* One day is one partition, and block_rows above the row count
	 * keeps the INSERT to one block: one part, all or nothing. */
	next_query_id(r);
	if (lt_ch_insert(ch, (char *)r->insert_sql.data, d->rows.data,
			 d->rows.len, d->n_rows + 1, r->query_id, err) == 0) {
		r->st->rows += d->n_rows;
		r->st->bytes += d->rows.len;
		r->st->batches++;
		return SENT;
	}
	if (err->http_status != 0 && lt_ch_error_is_data(err) && quiet)
		return DATA_ERROR;
	(void)snprintf(what, sizeof(what),
		       "could not insert %zu rows of tenant \"%s\" into ClickHouse",
		       d->n_rows, r->tenant);
	report_ch_error(what, r->o, err);
	return err->http_status != 0 && lt_ch_error_is_data(err) ? DATA_ERROR
								 : DEFERRED;
}

/* ClickHouse refuses an INSERT into more partitions (days) than this,
 * by default (max_partitions_per_insert_block). */
#define STREAMS_DAYS_PER_INSERT 100

struct shard_pairs {
	const char *tenant; /* interned in known_streams */
	uint32_t shard;
};

static int
not_indexed(const struct lt_stream_day *sd, void *arg)
{
	const struct shard_pairs *sp = arg;

	return !lt_indexed_has(&known_streams, sp->tenant, sp->shard,
			       sd->stream_id, sd->day);
}

/* Remembers the pairs of r->streams as indexed on shard sp. */
static void
remember_indexed(struct run *r, const struct shard_pairs *sp)
{
	size_t i;

	for (i = 0; i < r->streams.n; i++) {
		const struct lt_stream_day *sd = &r->streams.v[i];

		if (lt_indexed_add(&known_streams, sp->tenant, sp->shard,
				   sd->stream_id, sd->day) < 0)
			return; /* they are inserted again next time */
	}
}

/* Indexes the streams of r->streams on shard k before their rows go
 * in (logthra(7), THE STREAMS INDEX): a row that can be read has its
 * stream indexed.  Pairs this process indexed before are left out;
 * rows already there fold into one in ClickHouse, so a second time
 * costs nothing but the INSERT.  A failure is the logs INSERT's: the
 * batch waits for a later run. */
static enum send_result
send_streams(struct run *r, size_t k, int quiet)
{
	struct lt_ch *ch = r->shards[k];
	struct lt_ch_error *err = &r->last_err;
	struct shard_pairs sp = {lt_indexed_tenant(&known_streams, r->tenant),
				 (uint32_t)k};
	int32_t from_day = INT32_MIN;
	long long n;
	char what[256];

	if (sp.tenant != NULL)
		lt_stream_days_keep_if(&r->streams, not_indexed, &sp);
	for (;;) {
		lt_buf_reset(&r->streams_rows);
		n = lt_stream_days_rowbinary(&r->streams, &from_day,
					     STREAMS_DAYS_PER_INSERT, &r->streams_rows);
		if (n < 0) {
			lt_error("out of memory");
			return DEFERRED;
		}
		if (n == 0) {
			if (sp.tenant != NULL)
				remember_indexed(r, &sp);
			return SENT;
		}
		next_query_id(r);
		if (lt_ch_insert(ch, (char *)r->streams_insert_sql.data,
				 r->streams_rows.data, r->streams_rows.len,
				 (size_t)n + 1, r->query_id, err) == 0)
			continue;
		if (err->http_status != 0 && lt_ch_error_is_data(err) && quiet)
			return DATA_ERROR;
		(void)snprintf(what, sizeof(what),
			       "could not insert %lld streams of tenant \"%s\" into the streams index",
			       n, r->tenant);
		report_ch_error(what, r->o, err);
		return err->http_status != 0 && lt_ch_error_is_data(err) ? DATA_ERROR
									 : DEFERRED;
	}
}

/* Sends the rows of items [from, to) of the batch that go to shard k,
 * their streams first, then one INSERT per day.  A push goes whole to shard push_id % shards, as
 * the Distributed table would send it. */
static enum send_result
send_shard(struct run *r, size_t k, size_t from, size_t to, int quiet)
{
	/* DateTime64 takes the entry's nanoseconds as they stand; the
	 * portable table's DateTime wants the seconds besides. */
	enum lt_rows_time rows_time = r->layout == LT_LAYOUT_CURRENT
					      ? LT_ROWS_DATETIME64
					      : LT_ROWS_DATETIME_AND_NS;
	enum send_result res = SENT;
	size_t i;

	lt_rows_by_day_reset(&r->days);
	lt_stream_days_reset(&r->streams);
	for (i = from; i < to; i++) {
		const struct item *it = &r->batch.v[i];

		if (it->info.push_id % r->n_shards != k)
			continue;
		if (lt_spool_rowbinary(it->data.data, it->data.len, rows_time,
				       it->skip, it->n_skip, &r->days) < 0 ||
		    lt_spool_stream_days(it->data.data, it->data.len, &r->streams) < 0) {
			lt_error("out of memory");
			return DEFERRED;
		}
	}
	if (r->days.n > 0)
		res = send_streams(r, k, quiet);
	for (i = 0; i < r->days.n && res == SENT; i++)
		res = send_day(r, r->shards[k], &r->days.v[i], quiet);
	return res;
}

/* Sends the rows of items [from, to) of the batch. */
static enum send_result
send_items(struct run *r, size_t from, size_t to, int quiet)
{
	enum send_result res;
	size_t i, k;

	res = check_presence(r);
	for (k = 0; k < r->n_shards && res == SENT; k++)
		res = send_shard(r, k, from, to, quiet);
	for (i = from; i < to && res == SENT; i++)
		r->batch.v[i].inserted = 1;
	return res;
}

/* --- what happens to the files --- */

int64_t
lt_retry_time(int64_t now_s, int64_t received_s, int64_t min_s, int64_t max_s)
{
	int64_t age = now_s - received_s;

	if (age > max_s)
		age = max_s;
	if (age < min_s)
		age = min_s;
	return now_s + age;
}

/* fsyncs the tenant's state directory; -1 (logged) when that failed. */
static int
sync_state(struct run *r, const char *state)
{
	struct lt_buf dir = LT_BUF_INIT;
	int rc = 0;

	if (lt_spool_dir(&dir, r->o->spool, r->tenant, state) < 0 ||
	    lt_fsync_dir((char *)dir.data) < 0) {
		lt_error("could not fsync directory \"%s\": %m",
			 dir.data ? (char *)dir.data : r->o->spool);
		rc = -1;
	}
	lt_buf_free(&dir);
	return rc;
}

/* Removes the ready/ or deferred/ name of a claim, once its new one is
 * durable.  The caller fsyncs that directory.  Returns 0 or -1 (logged):
 * a name that stays would be taken again as fresh by the next run and
 * sent twice, were its claim retired. */
static int
drop_old_name(struct run *r, struct item *it)
{
	struct lt_buf path = LT_BUF_INIT;
	int rc = 0;

	if (lt_spool_dir(&path, r->o->spool, r->tenant, it->from) < 0 ||
	    lt_buf_printf(&path, "/%s", it->name) < 0) {
		lt_error("out of memory");
		rc = -1;
	} else if (unlink((char *)path.data) < 0 && errno != ENOENT) {
		lt_error("could not remove \"%s\", claimed into active/: %m",
			 (char *)path.data);
		rc = -1;
	} else {
		it->from = NULL;
	}
	lt_buf_free(&path);
	return rc;
}

/* Moves a claim back to deferred/.  The caller fsyncs deferred/ before
 * anything fsyncs active/, which would make the move's other half
 * durable first and lose the file in a power cut.  A claim from
 * deferred/ whose old name is still there (its batch was never sent)
 * is that same file: rename(2) between two names of one inode does
 * nothing, and lt_spool_move() removes the active/ one. */
static void
defer(struct run *r, const struct item *it)
{
	int rc = lt_spool_move(r->o->spool, r->tenant, "active", "deferred",
			       it->name,
			       lt_retry_time(r->now_s, it->info.received_ns / 1000000000,
					     r->o->retry_min_delay_s,
					     r->o->retry_max_delay_s));

	if (rc != 0)
		lt_error("could not defer \"%s\" of tenant \"%s\": %s", it->name,
			 r->tenant, strerror(rc));
	r->st->deferred++;
}

/* A claimed file that could not be read now waits in deferred/ for a
 * later run; this one ends with status 75. */
static void
not_read_now(struct run *r, struct item *it, const char *why)
{
	int rc = lt_spool_move(r->o->spool, r->tenant, "active", "deferred",
			       it->name, r->now_s + r->o->retry_min_delay_s);

	lt_error("spool file \"%s\" of tenant \"%s\" waits for a later run: %s",
		 it->name, r->tenant, why);
	if (rc == 0 && sync_state(r, "deferred") < 0)
		rc = EIO;
	else if (rc == 0 && it->from != NULL && strcmp(it->from, "ready") == 0)
		(void)drop_old_name(r, it); /* deferred/ holds it durably */
	if (rc != 0)
		lt_error("could not defer \"%s\" of tenant \"%s\" (it stays in active/, which the next run takes back): %s",
			 it->name, r->tenant, strerror(rc));
	else
		lt_hint("Nothing is wrong with the file that is known; it is kept and retried.");
	r->st->deferred++;
	if (r->status == LT_EX_OK)
		r->status = LT_EX_TEMPFAIL;
}

/* Moves a claim to quarantine/ and removes its old name, if it still
 * has one: a name that a power cut brings back is claimed and
 * quarantined again, never sent. */
static void
quarantine(struct run *r, struct item *it, const char *why)
{
	const char *name = it->name;
	char err[512];

	if (lt_spool_quarantine(r->o->spool, r->tenant, "active", name, why, err,
				sizeof(err)) != 0) {
		/* It stays in active/, for the next run to try again. */
		lt_error("spool file \"%s\" of tenant \"%s\" is bad (%s) but stays in active/: %s",
			 name, r->tenant, why, err);
		r->status = LT_EX_ERROR;
		return;
	}
	if (it->from != NULL)
		(void)drop_old_name(r, it);
	lt_error("spool file \"%s\" of tenant \"%s\" is quarantined: %s", name,
		 r->tenant, why);
	lt_hint("It is in %s/quarantine/%s/ with a note of the reason; nothing there is deleted automatically.",
		r->o->spool, r->tenant);
	r->st->quarantined++;
}

static int
retire(struct run *r, const struct item *it)
{
	struct lt_buf path = LT_BUF_INIT;
	char err[512];
	int rc = 0;

	if (lt_spool_dir(&path, r->o->spool, r->tenant, "active") < 0 ||
	    lt_buf_printf(&path, "/%s", it->name) < 0) {
		rc = -1;
	} else if (r->o->after_flush_archive) {
		if (lt_archive_stage(r->o, r->tenant, (char *)path.data, it->name,
				     it->info.received_ns, err, sizeof(err)) != 0) {
			lt_error("%s", err);
			rc = -1;
		}
	} else if (unlink((char *)path.data) < 0) {
		lt_error("could not remove \"%s\" after flushing it: %m",
			 (char *)path.data);
		rc = -1;
	}
	lt_buf_free(&path);
	return rc;
}

/* Per tenant, for logthra-flush's state file and metrics: a file counts
 * once all of its rows are in ClickHouse, however many this run sent.
 * The tenants are flushed one after the other, so a tenant's entry is
 * the last one or a new one. */
static void
count_flushed(struct run *r, const struct item *it)
{
	struct lt_flush_stats *st = r->st;
	struct lt_flush_tenant *t;

	t = st->n_tenants > 0 ? &st->tenants[st->n_tenants - 1] : NULL;
	if (t == NULL || strcmp(t->tenant, r->tenant) != 0) {
		t = realloc(st->tenants, (st->n_tenants + 1) * sizeof(*t));
		if (t == NULL) {
			lt_warning("out of memory: the files flushed of tenant \"%s\" are not counted",
				   r->tenant);
			return;
		}
		st->tenants = t;
		t += st->n_tenants++;
		memset(t, 0, sizeof(*t));
		(void)snprintf(t->tenant, sizeof(t->tenant), "%s", r->tenant);
	}
	t->files++;
	t->entries += it->info.n_entries;
	t->bytes += it->data.len;
}

/* Retires what went in and defers the rest: deferred/ is fsynced
 * before active/ (see defer()); when it cannot be, active/ is not, so
 * that the retired files come back as suspects rather than the deferred
 * ones not at all. */
static void
finish_batch(struct run *r)
{
	size_t i, retired = 0, deferred = 0;

	for (i = 0; i < r->batch.n; i++) {
		const struct item *it = &r->batch.v[i];

		if (!it->inserted) {
			defer(r, it);
			deferred++;
			continue;
		}
		r->st->files++;
		count_flushed(r, it);
		if (retire(r, it) < 0)
			r->status = LT_EX_ERROR;
		retired++;
	}
	if ((deferred > 0 && sync_state(r, "deferred") < 0) ||
	    (retired > 0 && sync_state(r, "active") < 0))
		r->status = LT_EX_ERROR;
	batch_clear(&r->batch);
}

/* ClickHouse refused the batch's data: find the file it refuses by
 * sending each alone.  A file refused while others were taken is
 * quarantined, so it cannot hold the tenant's data back; when every file
 * is refused the fault is not in the files (a changed table), and all
 * of them wait. */
static enum send_result
bisect(struct run *r)
{
	size_t i, refused = 0, taken = 0;
	enum send_result res;
	char why[sizeof(r->last_err.message) + 80];

	for (i = 0; i < r->batch.n; i++)
		r->batch.v[i].suspect = 1; /* some days may have gone in */
	for (i = 0; i < r->batch.n; i++) {
		if (r->batch.v[i].inserted)
			continue;
		res = send_items(r, i, i + 1, 1);
		if (res == DEFERRED)
			return DEFERRED;
		if (res == DATA_ERROR) {
			refused++;
			r->batch.v[i].refusal = strdup(r->last_err.message);
		} else {
			taken++;
		}
	}
	if (refused == 0)
		return SENT;
	if (taken == 0) {
		report_ch_error("ClickHouse refused every file of the batch; the fault is not in one file",
				r->o, &r->last_err);
		return DATA_ERROR;
	}
	for (i = 0; i < r->batch.n; i++) {
		struct item *it = &r->batch.v[i];

		if (it->inserted)
			continue;
		(void)snprintf(why, sizeof(why),
			       "ClickHouse refused its rows while taking the rest of its batch: %s",
			       it->refusal ? it->refusal : "(no message)");
		quarantine(r, it, why);
		/* Now in quarantine: not deferred, not retired. */
		item_free(it);
		memmove(it, it + 1, (r->batch.n - i - 1) * sizeof(*it));
		r->batch.n--;
		i--;
	}
	return SENT;
}

/* Makes the batch's claims durable before any of its rows is sent, and
 * only then removes their old names: active/ first, then the unlinks in
 * ready/ and deferred/, then those directories.  At every moment each
 * file has a durable name in at least one of them, whatever another
 * process fsyncs meanwhile (a receiver fsyncs ready/ for its own file,
 * logthra-replay deferred/).  Were a claim undone by a power cut after
 * its INSERT, the file would be back in ready/, taken as fresh and its
 * rows sent twice; so the old names are durably gone before sending.  A
 * cut in between can leave a file under both names; lt_spool_unclaim()
 * then keeps the active/ one, a suspect whose rows are counted in
 * ClickHouse first.  Returns 0, or -1 (logged) when the claims may not
 * be durable: nothing may be sent then. */
static int
sync_claims(struct run *r)
{
	size_t i;

	if (r->claims_unsynced) {
		if (sync_state(r, "active") < 0)
			return -1;
		r->claims_unsynced = 0;
	}
	for (i = 0; i < r->batch.n; i++) {
		struct item *it = &r->batch.v[i];

		if (it->from == NULL)
			continue;
		if (strcmp(it->from, "ready") == 0)
			r->ready_unsynced = 1;
		else
			r->deferred_unsynced = 1;
		if (drop_old_name(r, it) < 0)
			return -1;
	}
	if (r->ready_unsynced) {
		if (sync_state(r, "ready") < 0)
			return -1;
		r->ready_unsynced = 0;
	}
	if (r->deferred_unsynced) {
		if (sync_state(r, "deferred") < 0)
			return -1;
		r->deferred_unsynced = 0;
	}
	return 0;
}

/* Returns -1 when ClickHouse is not taking data: the run should stop. */
static int
send_batch(struct run *r)
{
	enum send_result res;

	if (r->batch.n == 0)
		return 0;
	if (sync_claims(r) < 0) {
		/* Nothing sent: the files wait in deferred/, those whose old
		 * name stayed as its twin for the next run's unclaim. */
		finish_batch(r);
		r->status = LT_EX_ERROR;
		return -1;
	}
	res = send_items(r, 0, r->batch.n, r->batch.n > 1);
	if (res == SENT)
		lt_info("inserted a batch of tenant \"%s\": %zu files, %zu rows, %zu bytes",
			r->tenant, r->batch.n, r->batch.rows, r->batch.bytes);
	if (res == DATA_ERROR && r->batch.n > 1)
		res = bisect(r);
	finish_batch(r);
	if (res != SENT) {
		if (r->status == LT_EX_OK)
			r->status = LT_EX_TEMPFAIL;
		return -1;
	}
	return 0;
}

/* --- claiming --- */

/* Claims a name that link(2) refused with EPERM: a directory, or a file
 * that the kernel's protected_hardlinks keeps from us (another user's,
 * which we may not write: not one logthra-recv wrote, whose files the
 * spool's group may write).  It is renamed into active/ and active/
 * fsynced at once, which leaves a receiver's fsync of ready/ only that
 * instant to fall into; sync_claims() fsyncs the old directory before
 * anything is sent.  Returns 0 or an errno value. */
static int
claim_by_rename(struct run *r, const char *state, const char *name)
{
	int rc = lt_spool_move(r->o->spool, r->tenant, state, "active", name, -1);

	if (rc != 0)
		return rc;
	if (strcmp(state, "ready") == 0)
		r->ready_unsynced = 1;
	else
		r->deferred_unsynced = 1;
	return sync_state(r, "active") < 0 ? EIO : 0;
}

/* The size of the file NAME of state directory STATE, or 0 when it
 * cannot be known now (it is then found out when the file is read). */
static size_t
spool_file_size(struct run *r, const char *state, const char *name)
{
	struct lt_buf path = LT_BUF_INIT;
	struct stat st;
	size_t size = 0;

	if (lt_spool_dir(&path, r->o->spool, r->tenant, state) == 0 &&
	    lt_buf_printf(&path, "/%s", name) == 0 &&
	    lstat((char *)path.data, &st) == 0 && S_ISREG(st.st_mode))
		size = (size_t)st.st_size;
	lt_buf_free(&path);
	return size;
}

/* Sends the batch before a file that would take it past batch_max_bytes,
 * so that a batch, which is held in memory twice (as files and as rows),
 * stays within the limit; a file larger than the limit goes alone.
 * Returns -1 when ClickHouse is not taking data. */
static int
make_room(struct run *r, const char *state, const char *name)
{
	size_t size;

	if (r->batch.n == 0)
		return 0;
	size = spool_file_size(r, state, name);
	if (r->batch.bytes >= r->o->batch_max_bytes ||
	    size > r->o->batch_max_bytes - r->batch.bytes)
		return send_batch(r);
	return 0;
}

/* Claims one file into active/ and adds it to the batch, sending the
 * batch first when the file would take it past batch_max_bytes, and
 * after it when the batch is full.
 *
 * The claim is a link(2) into active/; the old name goes only once
 * active/ is durable (sync_claims()).  A rename(2) would take the name
 * out of ready/ at once, and a receiver's fsync of ready/ for its own
 * new file could make that half of the move durable before the other:
 * a power cut would then leave the file in neither directory, an
 * acknowledged push lost.  The same holds for deferred/, which
 * logthra-replay fsyncs when it re-imports.  Until then the file has
 * two links, which its load takes for this one reason. */
static int
add_file(struct run *r, const char *state, const char *name)
{
	struct lt_buf path = LT_BUF_INIT, twin = LT_BUF_INIT;
	struct item *it;
	char err[512];
	int rc, linked;

	if (make_room(r, state, name) < 0)
		return -1;
	rc = lt_spool_link(r->o->spool, r->tenant, state, "active", name);
	linked = rc == 0;
	if (rc == EPERM)
		rc = claim_by_rename(r, state, name);
	if (rc == ENOENT)
		return 0;
	if (rc == 0)
		r->claims_unsynced = 1;
	if (rc != 0) {
		/* The file stays where it is for the next run; the run says
		 * so in its status, or a timer would show success while the
		 * spool fills up. */
		lt_error("could not claim \"%s\" of tenant \"%s\": %s", name,
			 r->tenant, strerror(rc));
		r->status = LT_EX_ERROR;
		return 0;
	}
	it = batch_add(&r->batch, name);
	if (it == NULL || lt_spool_dir(&path, r->o->spool, r->tenant, "active") < 0 ||
	    lt_buf_printf(&path, "/%s", name) < 0 ||
	    lt_spool_dir(&twin, r->o->spool, r->tenant, state) < 0 ||
	    lt_buf_printf(&twin, "/%s", name) < 0) {
		/* The claim stays in active/ beside its old name: the next
		 * run takes it back. */
		lt_error("out of memory");
		lt_buf_free(&path);
		lt_buf_free(&twin);
		if (r->status == LT_EX_OK)
			r->status = LT_EX_TEMPFAIL;
		return -1;
	}
	it->suspect = strcmp(state, "ready") != 0;
	if (linked)
		it->from = strcmp(state, "ready") == 0 ? "ready" : "deferred";
	rc = lt_spool_load_claim((char *)path.data, linked ? (char *)twin.data : NULL,
				 &it->data, &it->info, err, sizeof(err));
	lt_buf_free(&path);
	lt_buf_free(&twin);
	if (rc == 0 && strcmp(it->info.tenant, r->tenant) != 0) {
		(void)snprintf(err, sizeof(err), "it belongs to tenant \"%s\"",
			       it->info.tenant);
		rc = -1;
	}
	if (rc > 0) {
		/* Could not be read now (out of memory or descriptors, an I/O
		 * error): nothing is known to be wrong with the file. */
		not_read_now(r, it, err);
		item_free(it);
		r->batch.n--;
		return 0;
	}
	if (rc != 0) {
		quarantine(r, it, err);
		item_free(it);
		r->batch.n--;
		return 0;
	}
	r->batch.bytes += it->data.len;
	r->batch.rows += it->info.n_entries;
	if (r->batch.bytes >= r->o->batch_max_bytes ||
	    r->batch.rows >= r->o->batch_max_rows)
		return send_batch(r);
	return 0;
}

static int
due(const char *dir, const char *name, int64_t now_s)
{
	struct lt_buf path = LT_BUF_INIT;
	struct stat st;
	int rc = 0;

	if (lt_buf_printf(&path, "%s/%s", dir, name) == 0 &&
	    lstat((char *)path.data, &st) == 0)
		rc = st.st_mtime <= now_s;
	lt_buf_free(&path);
	return rc;
}

/* Claims the files of one state directory: deferred/ files that are due,
 * then every ready/ file. */
static int
claim_state(struct run *r, const char *state)
{
	struct lt_buf dir = LT_BUF_INIT;
	struct lt_names names = {0};
	size_t i;
	int rc;

	if (lt_spool_dir(&dir, r->o->spool, r->tenant, state) < 0)
		return -1;
	rc = lt_names_list((char *)dir.data, LT_SPOOL_SUFFIX, &names);
	if (rc != 0 && rc != ENOENT)
		lt_error("could not list \"%s\": %s", (char *)dir.data, strerror(rc));
	rc = 0;
	for (i = 0; rc == 0 && i < names.n; i++) {
		if (strcmp(state, "deferred") == 0 &&
		    !(r->flags & LT_FLUSH_RETRY_NOW) &&
		    !due((char *)dir.data, names.v[i], r->now_s)) {
			r->st->waiting++;
			continue;
		}
		rc = add_file(r, state, names.v[i]);
	}
	lt_names_free(&names);
	lt_buf_free(&dir);
	return rc;
}

/* The receivers' records of stored pushes (dedup.h) are kept for the
 * tenant's dedup_window; each run removes those past it.  A failure
 * costs only disk space, and the next run tries again. */
static void
expire_retry_records(struct run *r)
{
	struct lt_limits lim;
	char err[512];
	size_t removed;

	lt_options_limits_for(r->o, r->tenant, &lim);
	if (lt_dedup_expire(r->o->spool, r->tenant, r->now_s, lim.dedup_window_s,
			    &removed, err, sizeof(err)) != 0)
		lt_warning("%s", err);
	else if (removed > 0)
		lt_info("removed %zu out-of-date records of stored pushes of tenant \"%s\"",
			removed, r->tenant);
}

static int
flush_tenant(struct run *r, const char *tenant)
{
	char err[512];
	size_t moved;

	r->tenant = tenant;
	/* A local problem of this tenant's directories (one replaced by a
	 * symbolic link, say) does not hold the other tenants back; the run
	 * ends with status 1. */
	if (lt_spool_tenant_dirs(r->o->spool, tenant, err, sizeof(err)) != 0) {
		lt_error("%s", err);
		lt_hint("The files of tenant \"%s\" were left alone.", tenant);
		r->status = LT_EX_ERROR;
		return 0;
	}
	/* We hold the lock, so anything in active/ was claimed by a run that
	 * died, perhaps while ClickHouse was taking its rows: it becomes a
	 * suspect, due after retry_min_delay, which lets an INSERT the dead
	 * run left behind end before we count what ClickHouse holds. */
	if (lt_spool_unclaim(r->o->spool, tenant, r->now_s + r->o->retry_min_delay_s,
			     &moved, err, sizeof(err)) != 0) {
		lt_error("%s", err);
		return -1;
	}
	if (moved > 0)
		lt_warning("took back %zu files of tenant \"%s\" claimed by an interrupted run",
			   moved, tenant);
	expire_retry_records(r);
	if (claim_state(r, "deferred") < 0 || claim_state(r, "ready") < 0)
		return -1;
	return send_batch(r);
}

/* "logthra-" and a hash of this host and spool: the prefix of the
 * query_id of every INSERT from this spool, whichever run sent it. */
static void
make_id_prefix(struct run *r)
{
	char host[256] = "", *spool = realpath(r->o->spool, NULL);
	const char *path = spool ? spool : r->o->spool;
	struct lt_label key[2];
	uint64_t h;

	/* The real path: the same spool named two ways is one spool. */
	(void)gethostname(host, sizeof(host) - 1);
	key[0] = (struct lt_label){"host", 4, host, strlen(host)};
	key[1] = (struct lt_label){"spool", 5, path, strlen(path)};
	h = lt_stream_id(key, 2);
	free(spool);
	r->id_prefix_len = (size_t)snprintf(r->query_id, sizeof(r->query_id),
					    "logthra-%016" PRIx64 "-", h);
}

int
lt_flush_open_shards(const struct lt_options *o, struct lt_ch ***shards, size_t *n)
{
	struct lt_ch_options co = lt_flush_ch_options(o);
	const char *p, *sep = " \t";
	char *url;
	size_t len;
	int rc = 0;

	*shards = NULL;
	*n = 0;
	if (o->shard_urls == NULL) {
		lt_error("cluster \"%s\" is set but shard_urls is not", o->cluster);
		return -1;
	}
	for (p = o->shard_urls + strspn(o->shard_urls, sep); *p != '\0' && rc == 0;
	     p += len, p += strspn(p, sep)) {
		struct lt_ch **more = reallocarray(*shards, *n + 1, sizeof(*more));

		len = strcspn(p, sep);
		if (more == NULL || (url = strndup(p, len)) == NULL) {
			if (more != NULL)
				*shards = more;
			rc = -1;
			break;
		}
		*shards = more;
		co.url = url;
		(*shards)[*n] = lt_ch_open(&co);
		free(url);
		if ((*shards)[*n] == NULL)
			rc = -1;
		else
			++*n;
	}
	if (rc == 0 && *n == 0) {
		lt_error("shard_urls names no shard of cluster \"%s\"", o->cluster);
		rc = -1;
	}
	return rc;
}

/* One connection per shard of a cluster, from shard_urls, in the order
 * of the cluster's shard numbers; on one server the one connection. */
static int
open_shards(struct run *r)
{
	if (r->o->cluster == NULL) {
		r->shards = malloc(sizeof(*r->shards));
		if (r->shards == NULL)
			return -1;
		r->shards[0] = r->ch;
		r->n_shards = 1;
		return 0;
	}
	return lt_flush_open_shards(r->o, &r->shards, &r->n_shards);
}

struct lt_ch_options
lt_flush_ch_options(const struct lt_options *o)
{
	return (struct lt_ch_options){
		.url = o->clickhouse_url,
		.user = o->clickhouse_user,
		.password = o->clickhouse_password,
		.connect_timeout_s = 10,
		.timeout_s = o->clickhouse_timeout_s,
	};
}

static int
open_clickhouse(struct run *r)
{
	struct lt_ch_options co = lt_flush_ch_options(r->o);

	make_id_prefix(r);
	r->ch = lt_ch_open(&co);
	if (r->ch == NULL || open_shards(r) < 0) {
		if (r->ch == NULL)
			lt_error("could not initialize libcurl");
		lt_hint("Check clickhouse_url, cluster and shard_urls (logthra.conf(5)).");
		return -1;
	}
	return 0;
}

static void
close_clickhouse(struct run *r)
{
	size_t i;

	for (i = 0; i < r->n_shards; i++)
		if (r->shards[i] != r->ch)
			lt_ch_close(r->shards[i]);
	free(r->shards);
	lt_ch_close(r->ch);
}

static void
pack_archives(struct run *r)
{
	char err[512];
	size_t made = 0;

	if (!r->o->after_flush_archive)
		return;
	if (lt_archive_pack(r->o, (int64_t)r->now_s * 1000000000, &made, err,
			    sizeof(err)) != 0) {
		lt_error("%s", err);
		r->status = LT_EX_ERROR;
	}
	if (made > 0)
		lt_info("wrote %zu archives", made);
}

static void
flush_all(struct run *r)
{
	struct lt_names tenants = {0};
	size_t i;
	int rc;

	rc = lt_spool_tenants(r->o->spool, &tenants);
	if (rc != 0) {
		lt_error("could not list the tenants in spool directory \"%s\": %s",
			 r->o->spool, strerror(rc));
		r->status = LT_EX_ERROR;
	}
	/* ClickHouse down or refusing: no point going on with the other
	 * tenants now; their files wait where they are. */
	for (i = 0; i < tenants.n && flush_tenant(r, tenants.v[i]) == 0; i++)
		;
	lt_names_free(&tenants);
	pack_archives(r);
}

int
lt_flush_lock(const struct lt_options *o, int *fd)
{
	int rc = lt_spool_lock(o->spool, fd);

	if (rc == 0)
		return LT_EX_OK;
	if (rc == 1) {
		lt_error("another logthra-flush or logthra-replay is running on spool \"%s\"",
			 o->spool);
		lt_hint("Nothing was done; the next run will flush.");
		return LT_EX_TEMPFAIL;
	}
	lt_error("could not lock spool directory \"%s\": %m", o->spool);
	lt_hint("Check that the directory exists and that this user may write to it (-D/--spool, LOGTHRA_SPOOL).");
	return LT_EX_ERROR;
}

void
lt_flush_stats_free(struct lt_flush_stats *st)
{
	free(st->tenants);
	st->tenants = NULL;
	st->n_tenants = 0;
}

int
lt_flush_run(const struct lt_options *o, int flags, struct lt_flush_stats *st)
{
	struct run r = {.o = o, .st = st, .flags = flags, .status = LT_EX_OK};
	int lock_fd = -1, rc;

	memset(st, 0, sizeof(*st));
	r.now_s = time(NULL);
	if (!(flags & LT_FLUSH_LOCKED)) {
		rc = lt_flush_lock(o, &lock_fd);
		if (rc != LT_EX_OK)
			return rc;
	}
	if (open_clickhouse(&r) < 0)
		r.status = LT_EX_ERROR;
	else if ((r.status = ensure_table(&r)) == LT_EX_OK) {
		flush_all(&r);
		drop_old_days(&r);
	}
	if (st->quarantined > 0 && r.status != LT_EX_ERROR)
		r.status = LT_EX_DATAERR;
	close_clickhouse(&r);
	lt_buf_free(&r.insert_sql);
	lt_buf_free(&r.streams_insert_sql);
	lt_buf_free(&r.streams_rows);
	lt_stream_days_free(&r.streams);
	free(r.retentions);
	lt_rows_by_day_free(&r.days);
	batch_clear(&r.batch);
	free(r.batch.v);
	if (lock_fd >= 0)
		(void)close(lock_fd);
	return r.status;
}
