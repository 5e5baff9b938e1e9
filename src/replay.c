/* All of logthra-replay: recovery of interrupted work (--recover) and
 * re-import of the spool files held in archives. */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archives.h"
#include "buf.h"
#include "flush.h"
#include "log.h"
#include "push.h"
#include "replay.h"
#include "spool.h"

/* How much more room a member's buffer is given per read. */
#define COPY_CHUNK (64 * 1024)

/* --- recovery --- */

static int
recover_tenant(const struct lt_options *o, const char *tenant,
	       struct lt_recover_stats *st)
{
	char err[512];
	size_t n = 0;
	int rc = 0;

	if (lt_spool_unclaim(o->spool, tenant, time(NULL) + o->retry_min_delay_s,
			     &n, err, sizeof(err)) != 0) {
		lt_error("%s", err);
		rc = -1;
	}
	st->unclaimed += n;
	n = 0;
	if (lt_spool_sweep_tmp(o->spool, tenant, o->tmp_max_age_s, &n, err,
			       sizeof(err)) != 0) {
		lt_error("%s", err);
		rc = -1;
	}
	st->tmp_removed += n;
	return rc;
}

int
lt_recover(const struct lt_options *o, struct lt_recover_stats *st)
{
	struct lt_names tenants = {0};
	char err[512];
	int lock_fd, rc, status = LT_EX_OK;
	size_t i;

	memset(st, 0, sizeof(*st));
	rc = lt_spool_lock(o->spool, &lock_fd);
	if (rc == 1) {
		lt_error("logthra-flush or logthra-replay is running on spool \"%s\"",
			 o->spool);
		lt_hint("Wait for it to finish; a running flush needs no recovery.");
		return LT_EX_TEMPFAIL;
	}
	if (rc < 0) {
		lt_error("could not lock spool directory \"%s\": %m", o->spool);
		return LT_EX_ERROR;
	}
	rc = lt_spool_tenants(o->spool, &tenants);
	if (rc != 0) {
		lt_error("could not list the tenants in spool directory \"%s\": %s",
			 o->spool, strerror(rc));
		status = LT_EX_ERROR;
	}
	for (i = 0; i < tenants.n; i++)
		if (recover_tenant(o, tenants.v[i], st) < 0)
			status = LT_EX_ERROR;
	/* Under the lock: a running flush may be writing an archive. */
	if (lt_archive_recover(o, &st->archives_removed, err, sizeof(err)) != 0) {
		lt_error("%s", err);
		status = LT_EX_ERROR;
	}
	lt_names_free(&tenants);
	(void)close(lock_fd);
	return status;
}

/* --- re-import --- */

struct replay {
	const struct lt_options *o;
	const char *archive;
	const struct lt_replay_opts *ro;
	struct lt_replay_stats *st;
	size_t seen;     /* members of this archive, for the progress line */
	int line_open;   /* a progress line without its newline is on stderr */
};

static void
progress(struct replay *r)
{
	if (!r->ro->progress)
		return;
	(void)fprintf(stderr, "\r%s: %zu files", r->archive, r->seen);
	(void)fflush(stderr);
	r->line_open = 1;
}

/* Ends the progress line so that a message does not land on it. */
static void
progress_break(struct replay *r)
{
	if (r->line_open) {
		(void)fputc('\n', stderr);
		r->line_open = 0;
	}
}

/* Reads the current member into data, at most LT_REPLAY_MAX_MEMBER bytes.
 * Returns 0, 1 when it is too large (skipped), -1 on a read error. */
static int
read_member(struct archive *a, struct archive_entry *e, struct lt_buf *data)
{
	la_ssize_t n;

	lt_buf_reset(data);
	if (archive_entry_size_is_set(e)) {
		if (archive_entry_size(e) < 0 ||
		    (uint64_t)archive_entry_size(e) > LT_REPLAY_MAX_MEMBER)
			return archive_read_data_skip(a) == ARCHIVE_OK ? 1 : -1;
		if (lt_buf_reserve(data, (size_t)archive_entry_size(e)) < 0) {
			archive_set_error(a, ENOMEM, "out of memory");
			return -1;
		}
	}
	for (;;) {
		if (data->cap - data->len < COPY_CHUNK + 1 &&
		    lt_buf_reserve(data, COPY_CHUNK) < 0) {
			archive_set_error(a, ENOMEM, "out of memory");
			return -1;
		}
		n = archive_read_data(a, data->data + data->len,
				      data->cap - data->len - 1);
		if (n < 0)
			return -1;
		if (n == 0)
			return 0;
		data->len += (size_t)n;
		if (data->len > LT_REPLAY_MAX_MEMBER)
			return archive_read_data_skip(a) == ARCHIVE_OK ? 1 : -1;
	}
}

/* Imports one valid spool file (data, already cut to the window). */
static int
import(struct replay *r, const char *member, const struct lt_spool_info *info,
       const unsigned char *data, size_t len, uint64_t kept)
{
	const char *state = r->ro->force ? "ready" : "deferred";
	struct lt_buf path = LT_BUF_INIT;
	char err[512];
	int rc;

	if (r->ro->dry_run) {
		progress_break(r);
		(void)printf("would replay %s: %s: tenant %s, %" PRIu64
			     " entries, into %s/\n",
			     r->archive, member, info->tenant, kept, state);
		goto done;
	}
	rc = lt_spool_write_state(r->o->spool, info->tenant, state, data, len,
				  &path, err, sizeof(err));
	if (rc != 0) {
		progress_break(r);
		lt_error("could not replay \"%s\" from \"%s\": %s", member,
			 r->archive, err);
		lt_buf_free(&path);
		return -1;
	}
	/* Due at once: a deferred file's mtime is its next retry. */
	if (!r->ro->force && utimensat(AT_FDCWD, (char *)path.data, NULL, 0) < 0) {
		progress_break(r);
		lt_warning("could not set the time of \"%s\": %s",
			   (char *)path.data, strerror(errno));
	}
	lt_debug("replayed \"%s\" from \"%s\" as \"%s\"", member, r->archive,
		 (char *)path.data);
	lt_buf_free(&path);
done:
	r->st->files++;
	r->st->entries += kept;
	return 0;
}

/* Checks, filters and imports one member.  Returns 0 or -1 (the spool
 * refused it: stop). */
static int
replay_member(struct replay *r, const char *member, const struct lt_buf *data,
	      struct lt_buf *cut)
{
	const struct lt_replay_opts *ro = r->ro;
	struct lt_spool_info info;
	const unsigned char *out = data->data;
	size_t out_len = data->len;
	uint64_t kept;
	const char *why;
	char err[256];

	if (lt_spool_check(data->data, data->len, &info, err, sizeof(err)) < 0 ||
	    (lt_tenant_valid(info.tenant, &why) < 0 &&
	     snprintf(err, sizeof(err), "tenant id %s", why) > 0)) {
		progress_break(r);
		lt_warning("\"%s\" in \"%s\" is not a valid spool file: %s",
			   member, r->archive, err);
		r->st->corrupt++;
		return 0;
	}
	if (ro->tenant != NULL && strcmp(info.tenant, ro->tenant) != 0) {
		r->st->skipped++;
		return 0;
	}
	kept = info.n_entries;
	if ((ro->since_ns != 0 && info.min_ts_ns < ro->since_ns) ||
	    (ro->until_ns != 0 && info.max_ts_ns >= ro->until_ns)) {
		if (lt_spool_filter(data->data, data->len, ro->since_ns,
				    ro->until_ns, cut, &kept) < 0) {
			progress_break(r);
			lt_error("out of memory");
			return -1;
		}
		out = cut->data;
		out_len = cut->len;
	}
	if (kept == 0) {
		r->st->skipped++;
		return 0;
	}
	return import(r, member, &info, out, out_len, kept);
}

int
lt_replay_archive(const struct lt_options *o, const char *archive_path,
		  const struct lt_replay_opts *ro, struct lt_replay_stats *st)
{
	struct replay r = {o, archive_path, ro, st, 0, 0};
	struct lt_buf data = LT_BUF_INIT, cut = LT_BUF_INIT;
	struct archive_entry *e;
	struct archive *a;
	const char *member;
	int ar, rc = -1;

	a = archive_read_new();
	if (a == NULL) {
		lt_error("out of memory");
		return -1;
	}
	if (archive_read_support_filter_all(a) != ARCHIVE_OK ||
	    archive_read_support_format_all(a) != ARCHIVE_OK ||
	    archive_read_open_filename(a, archive_path, 64 * 1024) != ARCHIVE_OK) {
		lt_error("could not open archive \"%s\": %s", archive_path,
			 archive_error_string(a));
		goto out;
	}
	st->archives++;
	progress(&r);
	for (;;) {
		ar = archive_read_next_header(a, &e);
		if (ar == ARCHIVE_EOF)
			break;
		if (ar == ARCHIVE_WARN) {
			progress_break(&r);
			lt_warning("\"%s\": %s", archive_path, archive_error_string(a));
		} else if (ar != ARCHIVE_OK)
			goto read_fail;
		member = archive_entry_pathname(e);
		if (member == NULL)
			member = "(unnamed)";
		if (archive_entry_filetype(e) != AE_IFREG)
			continue;
		r.seen++;
		switch (read_member(a, e, &data)) {
		case 0:
			break;
		case 1:
			progress_break(&r);
			lt_warning("\"%s\" in \"%s\" is larger than %zu bytes: skipped",
				   member, archive_path, LT_REPLAY_MAX_MEMBER);
			st->corrupt++;
			continue;
		default:
			goto read_fail;
		}
		if (replay_member(&r, member, &data, &cut) < 0) {
			rc = -2;
			goto out;
		}
		progress(&r);
	}
	rc = 0;
	goto out;
read_fail:
	progress_break(&r);
	lt_error("could not read archive \"%s\": %s", archive_path,
		 archive_error_string(a) ? archive_error_string(a)
					 : "unknown libarchive error");
out:
	progress_break(&r);
	archive_read_free(a);
	lt_buf_free(&data);
	lt_buf_free(&cut);
	return rc;
}

int
lt_parse_time_arg(const char *s, int64_t now_ns, int64_t *ns)
{
	const char *why;
	size_t len = strlen(s);
	int64_t d;

	if (lt_parse_timestamp(s, len, ns, &why) == 0)
		return 0;
	/* A bare number is a timestamp above; a duration needs its unit. */
	if (len < 2 || s[len - 1] < 'a' || s[len - 1] > 'z' ||
	    lt_parse_duration(s, &d) < 0 || d > now_ns)
		return -1;
	*ns = now_ns - d;
	return 0;
}
