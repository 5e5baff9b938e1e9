#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "clickhouse.h"
#include "flush.h"
#include "log.h"
#include "spool.h"

struct batch {
	struct lt_buf body;      /* RowBinary rows */
	struct lt_names files;   /* their spool files, in active/ */
	size_t rows;
};

struct run {
	const struct lt_options *o;
	struct lt_flush_stats *st;
	struct lt_ch *ch;
	struct lt_buf insert_sql;
	struct lt_buf data;      /* the spool file being read */
	struct lt_buf path;      /* scratch paths */
	struct lt_buf path2;
	struct batch batch;
	int status;
};

static void
report_ch_error(const char *what, const struct lt_options *o,
		const struct lt_ch_error *err)
{
	lt_error("%s", what);
	lt_detail("%s", err->message);
	if (err->http_status == 0)
		lt_hint("Check that ClickHouse is running and that -U/--clickhouse-url (now \"%s\") points at its HTTP port.  The spool files are kept; the next run retries.",
			o->clickhouse_url);
	else
		lt_hint("The spool files are kept; the next run retries.");
}

static int
create_table(struct run *r)
{
	struct lt_buf sql = LT_BUF_INIT;
	struct lt_ch_error err;
	int i, rc = 0, more;

	for (i = 0; rc == 0; i++) {
		more = lt_ch_ddl_statement(&sql, r->o->database, r->o->table, i);
		if (more != 0)
			break;
		if (lt_ch_query(r->ch, (char *)sql.data, NULL, &err) < 0) {
			report_ch_error("could not create the database and table in ClickHouse",
					r->o, &err);
			rc = -1;
		}
	}
	lt_buf_free(&sql);
	return rc;
}

/* path = root/tenants/TENANT/SUB/NAME */
static int
file_path(struct lt_buf *path, const struct run *r, const char *tenant,
	  const char *sub, const char *name)
{
	return lt_spool_dir(path, r->o->spool, tenant, sub) == 0 &&
			       lt_buf_printf(path, "/%s", name) == 0
		       ? 0
		       : -1;
}

static void
batch_clear(struct batch *b)
{
	lt_buf_reset(&b->body);
	lt_names_free(&b->files);
	b->rows = 0;
}

/* After ClickHouse said 200: the rows are stored, the files can go. */
static int
retire_batch(struct run *r, const char *tenant)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < r->batch.files.n; i++) {
		if (file_path(&r->path, r, tenant, "active", r->batch.files.v[i]) < 0)
			return -1;
		if (unlink((char *)r->path.data) < 0) {
			lt_error("could not remove \"%s\" after flushing it: %m",
				 (char *)r->path.data);
			rc = -1;
		}
	}
	if (lt_spool_dir(&r->path, r->o->spool, tenant, "active") == 0 &&
	    lt_fsync_dir((char *)r->path.data) < 0) {
		lt_error("could not fsync directory \"%s\": %m",
			 (char *)r->path.data);
		rc = -1;
	}
	return rc;
}

static int
send_batch(struct run *r, const char *tenant)
{
	struct lt_ch_error err;
	char what[256];

	if (r->batch.files.n == 0)
		return 0;
	if (lt_ch_insert(r->ch, (char *)r->insert_sql.data, r->batch.body.data,
			 r->batch.body.len, &err) < 0) {
		(void)snprintf(what, sizeof(what),
			       "could not insert %zu rows of tenant \"%s\" into ClickHouse",
			       r->batch.rows, tenant);
		report_ch_error(what, r->o, &err);
		return -1;
	}
	r->st->files += r->batch.files.n;
	r->st->rows += r->batch.rows;
	r->st->bytes += r->batch.body.len;
	r->st->batches++;
	lt_debug("inserted %zu rows (%zu bytes) of tenant \"%s\"", r->batch.rows,
		 r->batch.body.len, tenant);
	if (retire_batch(r, tenant) < 0)
		r->status = LT_EX_ERROR;
	batch_clear(&r->batch);
	return 0;
}

/* A corrupt file goes back to ready/ untouched, for the operator. */
static void
give_back(struct run *r, const char *tenant, const char *name, const char *why)
{
	lt_error("spool file \"%s\" is corrupt: %s", (char *)r->path.data, why);
	lt_hint("The file is left in ready/ and skipped; inspect it, then remove it.");
	r->st->corrupt++;
	if (r->status == LT_EX_OK)
		r->status = LT_EX_DATAERR;
	if (file_path(&r->path2, r, tenant, "ready", name) == 0 &&
	    rename((char *)r->path.data, (char *)r->path2.data) < 0)
		lt_error("could not move \"%s\" back to ready/: %m",
			 (char *)r->path.data);
}

/* Claims one ready file and adds its rows to the batch, sending the
 * batch first when the file would take it over a cap. */
static int
add_file(struct run *r, const char *tenant, const char *name)
{
	struct lt_spool_info info;
	char err[512];
	int rc;

	if (file_path(&r->path2, r, tenant, "ready", name) < 0 ||
	    file_path(&r->path, r, tenant, "active", name) < 0)
		return -1;
	if (rename((char *)r->path2.data, (char *)r->path.data) < 0) {
		if (errno == ENOENT)
			return 0;
		lt_error("could not claim \"%s\": %m", (char *)r->path2.data);
		return -1;
	}
	rc = lt_spool_load((char *)r->path.data, &r->data, &info, err, sizeof(err));
	if (rc == 0 && strcmp(info.tenant, tenant) != 0) {
		(void)snprintf(err, sizeof(err),
			       "it belongs to tenant \"%s\", not \"%s\"",
			       info.tenant, tenant);
		rc = -1;
	}
	if (rc != 0) {
		give_back(r, tenant, name, err);
		return 0;
	}
	if (r->batch.files.n > 0 &&
	    (r->batch.body.len + r->data.len > r->o->batch_max_bytes ||
	     r->batch.rows + info.n_entries > r->o->batch_max_rows) &&
	    send_batch(r, tenant) < 0)
		goto unclaim;
	if (lt_spool_rowbinary(r->data.data, r->data.len, &r->batch.body) < 0 ||
	    lt_names_list_add(&r->batch.files, name) < 0) {
		lt_error("out of memory");
		goto unclaim;
	}
	r->batch.rows += info.n_entries;
	return 0;
unclaim:
	/* This file is not in the batch yet; put it back with the others. */
	if (file_path(&r->path2, r, tenant, "ready", name) == 0)
		(void)rename((char *)r->path.data, (char *)r->path2.data);
	return -1;
}

static int
flush_tenant(struct run *r, const char *tenant)
{
	struct lt_names ready = {0};
	char err[512];
	size_t i, moved;
	int rc;

	/* We hold the lock, so anything in active/ was claimed by a run that
	 * died: its files go round again. */
	if (lt_spool_unclaim(r->o->spool, tenant, &moved, err, sizeof(err)) != 0) {
		lt_error("%s", err);
		return -1;
	}
	if (moved > 0)
		lt_warning("took back %zu files of tenant \"%s\" claimed by an interrupted run",
			   moved, tenant);
	if (lt_spool_dir(&r->path, r->o->spool, tenant, "ready") < 0)
		return -1;
	rc = lt_names_list((char *)r->path.data, LT_SPOOL_SUFFIX, &ready);
	if (rc != 0 && rc != ENOENT) {
		lt_error("could not list \"%s\": %s", (char *)r->path.data,
			 strerror(rc));
		goto out;
	}
	rc = 0;
	for (i = 0; rc == 0 && i < ready.n; i++)
		rc = add_file(r, tenant, ready.v[i]);
	if (rc == 0)
		rc = send_batch(r, tenant);
	if (rc != 0 && r->batch.files.n > 0) {
		/* ClickHouse refused: the batch goes back to ready/. */
		(void)lt_spool_unclaim(r->o->spool, tenant, &moved, err, sizeof(err));
		batch_clear(&r->batch);
	}
out:
	lt_names_free(&ready);
	return rc;
}

static int
open_clickhouse(struct run *r)
{
	struct lt_ch_options co = {
		.url = r->o->clickhouse_url,
		.user = r->o->clickhouse_user,
		.password = r->o->clickhouse_password,
		.connect_timeout_s = 10,
		.timeout_s = r->o->clickhouse_timeout_s,
	};

	r->ch = lt_ch_open(&co);
	if (r->ch == NULL) {
		lt_error("could not initialize libcurl");
		return -1;
	}
	if (lt_ch_insert_sql(&r->insert_sql, r->o->database, r->o->table) < 0 ||
	    lt_buf_terminate(&r->insert_sql) < 0) {
		lt_error("out of memory");
		return -1;
	}
	return 0;
}

static int
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
		goto out;
	}
	for (i = 0; i < tenants.n; i++) {
		if (flush_tenant(r, tenants.v[i]) < 0) {
			/* ClickHouse is down or refusing: no point going on
			 * with the other tenants now. */
			r->status = LT_EX_TEMPFAIL;
			break;
		}
	}
out:
	lt_names_free(&tenants);
	return r->status;
}

int
lt_flush_run(const struct lt_options *o, struct lt_flush_stats *st)
{
	struct run r = {.o = o, .st = st, .status = LT_EX_OK};
	int lock_fd = -1, rc;

	memset(st, 0, sizeof(*st));
	rc = lt_spool_lock(o->spool, &lock_fd);
	if (rc != 0) {
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
	if (open_clickhouse(&r) < 0)
		r.status = LT_EX_ERROR;
	else if (create_table(&r) < 0)
		r.status = LT_EX_TEMPFAIL;
	else
		(void)flush_all(&r);
	lt_ch_close(r.ch);
	lt_buf_free(&r.insert_sql);
	lt_buf_free(&r.data);
	lt_buf_free(&r.path);
	lt_buf_free(&r.path2);
	lt_buf_free(&r.batch.body);
	lt_names_free(&r.batch.files);
	(void)close(lock_fd);
	return r.status;
}
