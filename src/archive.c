/* Archives of flushed spool files, the writing side: staging a flushed
 * file, packing a period into a compressed tar archive, retention, and
 * removing what a killed pack left behind. */
#include "config.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archives.h"
#include "fdio.h"
#include "buf.h"
#include "file.h"
#include "log.h"
#include "push.h"
#include "spool.h"

#define NS_PER_S INT64_C(1000000000)
#define TMP_SUFFIX ".tmp"
#define COPY_CHUNK (64 * 1024)

/* Longest PERIOD: "YYYY-MM-DDTHH" and its NUL. */
#define PERIOD_MAX 14

/* --- names and periods --- */

static int
archive_root(const struct lt_options *o, struct lt_buf *out)
{
	lt_buf_reset(out);
	if (o->archive_dir != NULL && o->archive_dir[0] != '\0')
		return lt_buf_printf(out, "%s", o->archive_dir);
	return lt_buf_printf(out, "%s/archive", o->spool);
}

static int
hourly(const struct lt_options *o)
{
	return o->archive_period != NULL && strcmp(o->archive_period, "hour") == 0;
}

/* The file name extension of the configured format, or NULL. */
static const char *
format_ext(const struct lt_options *o)
{
	if (o->archive_format == NULL || strcmp(o->archive_format, "zstd") == 0)
		return "zst";
	if (strcmp(o->archive_format, "gzip") == 0)
		return "gz";
	return NULL;
}

/* The UTC period of a time: YYYY-MM-DD, or YYYY-MM-DDTHH when hourly. */
static int
period_of(int64_t ns, int by_hour, char out[PERIOD_MAX])
{
	int64_t s = ns / NS_PER_S;
	time_t t;
	struct tm tm;

	if (ns < 0 && ns % NS_PER_S != 0)
		s--; /* floor, not truncation, before 1970 */
	t = (time_t)s;
	if (gmtime_r(&t, &tm) == NULL)
		return -1;
	return strftime(out, PERIOD_MAX, by_hour ? "%Y-%m-%dT%H" : "%Y-%m-%d",
			&tm) == 0 ? -1 : 0;
}

static int
digits(const char *s, size_t n, int *out)
{
	size_t i;

	*out = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*out = *out * 10 + (s[i] - '0');
	}
	return 0;
}

/* Parses a PERIOD of len bytes (either form, whatever archive_period is
 * now) into its start and end in unix seconds.  Formatting the start
 * again must give the same text: that rejects 2024-02-30 and friends. */
static int
period_parse(const char *s, size_t len, int64_t *start, int64_t *end)
{
	char again[PERIOD_MAX];
	struct tm tm;
	int y, mo, d, h = 0;
	time_t t;

	if ((len != 10 && len != 13) || s[4] != '-' || s[7] != '-' ||
	    (len == 13 && s[10] != 'T'))
		return -1;
	if (digits(s, 4, &y) < 0 || digits(s + 5, 2, &mo) < 0 ||
	    digits(s + 8, 2, &d) < 0 || (len == 13 && digits(s + 11, 2, &h) < 0))
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	t = timegm(&tm);
	if (period_of((int64_t)t * NS_PER_S, len == 13, again) < 0 ||
	    strlen(again) != len || memcmp(again, s, len) != 0)
		return -1;
	*start = (int64_t)t;
	*end = *start + (len == 13 ? 3600 : 86400);
	return 0;
}

/* Recognizes TENANT-PERIOD.tar.EXT and TENANT-PERIOD.N.tar.EXT (EXT zst
 * or gz, either format whatever archive_format is now).  Temporary files
 * do not match. */
static int
archive_name_parse(const char *tenant, const char *name, char period[PERIOD_MAX],
		   unsigned long *n)
{
	size_t tlen = strlen(tenant), plen;
	const char *p, *rest;
	int64_t start, end;
	char *endp;

	if (strncmp(name, tenant, tlen) != 0 || name[tlen] != '-')
		return -1;
	p = name + tlen + 1;
	plen = strlen(p) > 10 && p[10] == 'T' ? 13 : 10;
	if (strnlen(p, plen) != plen)
		return -1;
	memcpy(period, p, plen);
	period[plen] = '\0';
	if (period_parse(period, plen, &start, &end) < 0)
		return -1;
	rest = p + plen;
	*n = 0;
	if (rest[0] == '.' && rest[1] >= '1' && rest[1] <= '9') {
		errno = 0;
		*n = strtoul(rest + 1, &endp, 10);
		if (errno != 0 || *n == 0)
			return -1;
		rest = endp;
	}
	return strcmp(rest, ".tar.zst") == 0 || strcmp(rest, ".tar.gz") == 0 ? 0 : -1;
}

/* --- directories --- */

/* Creates dir and any missing parents below the archive root, whose
 * path is the first rootlen bytes (the root itself is created, its
 * parents never: a missing mount point must not be papered over).  A new
 * entry is made durable by fsyncing its parent, so a file renamed into
 * the directory later cannot vanish with it in a crash. */
static int
make_dirs(char *dir, size_t rootlen)
{
	char *slash;
	int rc;

	if (mkdir(dir, 0770) == 0)
		goto created;
	if (errno == EEXIST)
		return 0;
	if (errno != ENOENT || strlen(dir) <= rootlen)
		return -1;
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir) {
		errno = ENOENT;
		return -1;
	}
	*slash = '\0';
	rc = make_dirs(dir, rootlen);
	*slash = '/';
	if (rc < 0)
		return -1;
	if (mkdir(dir, 0770) < 0)
		return errno == EEXIST ? 0 : -1;
created:
	slash = strrchr(dir, '/');
	if (slash == NULL)
		return lt_fsync_dir(".");
	if (slash == dir)
		return lt_fsync_dir("/");
	*slash = '\0';
	rc = lt_fsync_dir(dir);
	*slash = '/';
	return rc;
}

static int
fsync_dir_err(const char *dir, char *err, size_t errlen)
{
	int rc;

	if (lt_fsync_dir(dir) == 0)
		return 0;
	rc = errno;
	(void)snprintf(err, errlen, "could not fsync directory \"%s\": %s", dir,
		       strerror(rc));
	return rc;
}

static ssize_t
read_some(int fd, void *buf, size_t len)
{
	ssize_t n;

	do
		n = read(fd, buf, len);
	while (n < 0 && errno == EINTR);
	return n;
}

/* What copy_out() copies: the file open as in, through chunk. */
struct copy {
	int in;
	unsigned char *chunk;
	int read_failed; /* the error is of reading from, not of the copy */
};

/* Writes the rest of c->in to fd: an lt_file_writer. */
static int
copy_out(int fd, void *arg)
{
	struct copy *c = arg;
	ssize_t n;

	for (;;) {
		n = read_some(c->in, c->chunk, COPY_CHUNK);
		if (n < 0) {
			c->read_failed = 1;
			return errno;
		}
		if (n == 0)
			return 0;
		if (lt_fd_write_all(fd, c->chunk, (size_t)n) < 0)
			return errno;
	}
}

/* The archive is on another file system than the spool: copy the file
 * to to.tmp, fsync, rename to to, fsync dir (the directory of to).  The
 * caller only then removes the original. */
static int
copy_file(const char *from, const char *to, const char *dir, char *err,
	  size_t errlen)
{
	struct lt_buf tmp = LT_BUF_INIT;
	struct copy c = {-1, NULL, 0};
	enum lt_file_call call;
	int rc;

	if (lt_buf_printf(&tmp, "%s%s", to, TMP_SUFFIX) < 0 ||
	    (c.chunk = malloc(COPY_CHUNK)) == NULL) {
		rc = ENOMEM;
		(void)snprintf(err, errlen, "out of memory");
		goto out;
	}
	c.in = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (c.in < 0) {
		rc = errno;
		(void)snprintf(err, errlen, "could not open \"%s\": %s", from,
			       strerror(rc));
		goto out;
	}
	/* One writer of to.tmp: the flush lock's holder. */
	rc = lt_file_replace_with(to, (char *)tmp.data, 0640,
				  LT_FILE_SYNC | LT_FILE_ONE_WRITER, copy_out, &c,
				  &call);
	if (rc == 0)
		goto out;
	if (c.read_failed)
		(void)snprintf(err, errlen, "could not read \"%s\": %s", from,
			       strerror(rc));
	else if (call == LT_FILE_FSYNC_DIR)
		(void)snprintf(err, errlen, "could not fsync directory \"%s\": %s",
			       dir, strerror(rc));
	else
		(void)snprintf(err, errlen, "could not %s \"%s\": %s",
			       lt_file_call_verb(call), (char *)tmp.data, strerror(rc));
out:
	if (c.in >= 0)
		(void)close(c.in);
	free(c.chunk);
	lt_buf_free(&tmp);
	return rc;
}

/* --- staging --- */

int
lt_archive_stage(const struct lt_options *o, const char *tenant,
		 const char *path, const char *name, int64_t received_ns,
		 char *err, size_t errlen)
{
	struct lt_buf root = LT_BUF_INIT, dir = LT_BUF_INIT, dest = LT_BUF_INIT;
	char period[PERIOD_MAX];
	const char *why;
	int rc = 0, copied = 0;

	if (lt_tenant_valid(tenant, &why) < 0 || strchr(name, '/') != NULL ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || name[0] == '\0') {
		(void)snprintf(err, errlen, "cannot archive \"%s\" of tenant \"%s\"",
			       name, tenant);
		return EINVAL;
	}
	if (period_of(received_ns, hourly(o), period) < 0) {
		(void)snprintf(err, errlen, "received time %" PRId64 " of \"%s\" is out of range",
			       received_ns, path);
		return EINVAL;
	}
	if (archive_root(o, &root) < 0 ||
	    lt_buf_printf(&dir, "%s/%s/staging/%s", (char *)root.data, tenant,
			  period) < 0 ||
	    lt_buf_printf(&dest, "%s/%s", (char *)dir.data, name) < 0) {
		rc = ENOMEM;
		(void)snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (make_dirs((char *)dir.data, root.len) < 0) {
		rc = errno;
		(void)snprintf(err, errlen, "could not create directory \"%s\": %s",
			       (char *)dir.data, strerror(rc));
		goto out;
	}
	/* The directory of path is the caller's to fsync, after this one
	 * (the flush does it once for a batch). */
	if (rename(path, (char *)dest.data) == 0) {
		rc = fsync_dir_err((char *)dir.data, err, errlen);
	} else if (errno != EXDEV) {
		rc = errno;
		(void)snprintf(err, errlen, "could not move \"%s\" to \"%s\": %s",
			       path, (char *)dest.data, strerror(rc));
	} else {
		rc = copy_file(path, (char *)dest.data, (char *)dir.data, err,
			       errlen);
		copied = 1;
	}
	if (rc != 0)
		goto out;
	/* The copy is durable now; a crash before this unlink leaves the
	 * original in active/, which the next flush treats as suspect. */
	if (copied && unlink(path) < 0) {
		rc = errno;
		(void)snprintf(err, errlen, "could not remove \"%s\": %s", path,
			       strerror(rc));
	}
out:
	lt_buf_free(&root);
	lt_buf_free(&dir);
	lt_buf_free(&dest);
	return rc;
}

/* --- packing --- */

/* What one lt_archive_pack() run carries around: the first failure goes
 * to the caller, later ones are logged so that none is lost. */
struct pack {
	const struct lt_options *o;
	const char *ext;
	int64_t now_ns;
	size_t made;
	int rc;
	char *err;
	size_t errlen;
};

static void LT_PRINTF(3, 4)
pack_fail(struct pack *p, int rc, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->rc == 0) {
		p->rc = rc;
		(void)snprintf(p->err, p->errlen, "%s", msg);
	} else
		lt_warning("%s", msg);
}

/* Adds the member names of an archive to names.  Returns 0, or -1 with
 * libarchive's message in err. */
static int
list_members(const char *path, struct lt_names *names, char *err, size_t errlen)
{
	struct archive *a;
	struct archive_entry *e;
	int r, rc = -1;

	a = archive_read_new();
	if (a == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (archive_read_support_filter_all(a) != ARCHIVE_OK ||
	    archive_read_support_format_all(a) != ARCHIVE_OK ||
	    archive_read_open_filename(a, path, 64 * 1024) != ARCHIVE_OK)
		goto fail;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK ||
	       r == ARCHIVE_WARN) {
		if (archive_entry_pathname(e) != NULL &&
		    lt_names_list_add(names, archive_entry_pathname(e)) < 0) {
			(void)snprintf(err, errlen, "out of memory");
			goto out;
		}
		if (archive_read_data_skip(a) != ARCHIVE_OK)
			goto fail;
	}
	if (r == ARCHIVE_EOF) {
		rc = 0;
		goto out;
	}
fail:
	(void)snprintf(err, errlen, "%s", archive_error_string(a) ?
			   archive_error_string(a) : "unknown libarchive error");
out:
	archive_read_free(a);
	return rc;
}

/* Appends dir/name to the archive as a member called name. */
static int
add_member(struct archive *a, struct archive_entry *e, const char *dir,
	   const char *name, unsigned char *chunk, char *err, size_t errlen)
{
	struct lt_buf path = LT_BUF_INIT;
	struct stat st;
	int fd = -1, rc = -1;
	off_t total = 0;
	ssize_t n;

	if (lt_buf_printf(&path, "%s/%s", dir, name) < 0) {
		(void)snprintf(err, errlen, "out of memory");
		goto out;
	}
	fd = open((char *)path.data, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		(void)snprintf(err, errlen, "could not open \"%s\": %s",
			       (char *)path.data, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		(void)snprintf(err, errlen, "\"%s\" is not a regular file",
			       (char *)path.data);
		goto out;
	}
	archive_entry_clear(e);
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0640);
	archive_entry_set_size(e, st.st_size);
	/* Whole seconds: with pax_restricted that keeps plain ustar headers. */
	archive_entry_set_mtime(e, st.st_mtime, 0);
	if (archive_write_header(a, e) != ARCHIVE_OK)
		goto archive_fail;
	for (;;) {
		n = read_some(fd, chunk, COPY_CHUNK);
		if (n < 0) {
			(void)snprintf(err, errlen, "could not read \"%s\": %s",
				       (char *)path.data, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (archive_write_data(a, chunk, (size_t)n) != n)
			goto archive_fail;
		total += n;
	}
	if (total != st.st_size) {
		(void)snprintf(err, errlen, "\"%s\" changed while it was archived",
			       (char *)path.data);
		goto out;
	}
	rc = 0;
	goto out;
archive_fail:
	(void)snprintf(err, errlen, "could not add \"%s\" to the archive: %s",
		       (char *)path.data, archive_error_string(a) ?
			   archive_error_string(a) : "unknown libarchive error");
out:
	if (fd >= 0)
		(void)close(fd);
	lt_buf_free(&path);
	return rc;
}

/* What write_members() writes: the staged files (names[i] not NULL) of
 * dir, into the archive being written at tmp. */
struct members {
	struct pack *p;
	const char *tmp;
	const char *dir;
	const struct lt_names *names;
};

/* Writes the archive of m's files to fd: an lt_file_writer.  Its own
 * failures it reports with pack_fail(). */
static int
write_members(int fd, void *arg)
{
	const struct members *m = arg;
	struct pack *p = m->p;
	char err[1024];
	struct archive *a = NULL;
	struct archive_entry *e = NULL;
	unsigned char *chunk = NULL;
	int rc = EIO, r;
	size_t i;

	a = archive_write_new();
	e = archive_entry_new();
	chunk = malloc(COPY_CHUNK);
	if (a == NULL || e == NULL || chunk == NULL) {
		pack_fail(p, ENOMEM, "out of memory");
		goto out;
	}
	r = strcmp(p->ext, "gz") == 0 ? archive_write_add_filter_gzip(a)
				      : archive_write_add_filter_zstd(a);
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    r != ARCHIVE_OK || archive_write_open_fd(a, fd) != ARCHIVE_OK) {
		pack_fail(p, EIO, "could not start archive \"%s\": %s", m->tmp,
			  archive_error_string(a));
		goto out;
	}
	for (i = 0; i < m->names->n; i++) {
		if (m->names->v[i] == NULL)
			continue;
		if (add_member(a, e, m->dir, m->names->v[i], chunk, err,
			       sizeof(err)) < 0) {
			pack_fail(p, EIO, "%s", err);
			goto out;
		}
	}
	if (archive_write_close(a) != ARCHIVE_OK) {
		pack_fail(p, EIO, "could not finish archive \"%s\": %s", m->tmp,
			  archive_error_string(a));
		goto out;
	}
	rc = 0;
out:
	if (a != NULL)
		archive_write_free(a);
	archive_entry_free(e);
	free(chunk);
	return rc;
}

/* Removes the staged files that the archives of the period already hold:
 * a pack that renamed its archive and died before it cleaned up.  An
 * archive that cannot be read is skipped with a warning: the files in it
 * are then archived again, which is what a damaged archive wants.
 * *max_n is the highest archive number of the period, -1 if none. */
static int
drop_archived(struct pack *p, const char *tdir, const char *tenant,
	      const char *period, const char *pdir, struct lt_names *staged,
	      long *max_n)
{
	struct lt_names all = {0}, members = {0};
	struct lt_buf path = LT_BUF_INIT;
	char err[512], per[PERIOD_MAX];
	unsigned long n;
	size_t i, dropped = 0;
	int rc;

	*max_n = -1;
	rc = lt_names_list(tdir, NULL, &all);
	if (rc != 0) {
		pack_fail(p, rc, "could not list \"%s\": %s", tdir, strerror(rc));
		goto out;
	}
	for (i = 0; i < all.n; i++) {
		if (archive_name_parse(tenant, all.v[i], per, &n) < 0 ||
		    strcmp(per, period) != 0)
			continue;
		if ((long)n > *max_n)
			*max_n = (long)n;
		lt_buf_reset(&path);
		if (lt_buf_printf(&path, "%s/%s", tdir, all.v[i]) < 0) {
			rc = ENOMEM;
			pack_fail(p, rc, "out of memory");
			goto out;
		}
		if (list_members((char *)path.data, &members, err, sizeof(err)) < 0)
			lt_warning("could not read archive \"%s\": %s",
				   (char *)path.data, err);
	}
	/* No archive of the period (or none readable): nothing to drop,
	 * and bsearch() must not be given the NULL array of none. */
	if (members.n == 0)
		goto out;
	if (members.n > 1)
		qsort(members.v, members.n, sizeof(*members.v), lt_names_compare);
	for (i = 0; i < staged->n; i++) {
		if (bsearch(&staged->v[i], members.v, members.n, sizeof(*members.v),
			    lt_names_compare) == NULL)
			continue;
		lt_buf_reset(&path);
		if (lt_buf_printf(&path, "%s/%s", pdir, staged->v[i]) < 0) {
			rc = ENOMEM;
			pack_fail(p, rc, "out of memory");
			goto out;
		}
		if (unlink((char *)path.data) < 0 && errno != ENOENT) {
			rc = errno;
			pack_fail(p, rc, "could not remove \"%s\": %s",
				  (char *)path.data, strerror(rc));
			goto out;
		}
		lt_debug("\"%s\" is archived already", (char *)path.data);
		free(staged->v[i]);
		staged->v[i] = NULL;
		dropped++;
	}
	if (dropped > 0 && (rc = fsync_dir_err(pdir, err, sizeof(err))) != 0)
		pack_fail(p, rc, "%s", err);
out:
	lt_names_free(&all);
	lt_names_free(&members);
	lt_buf_free(&path);
	return rc;
}

/* Reports a failure of lt_file_replace_with() to write the archive final
 * through tmp in tdir; write_members() reported its own. */
static void
pack_file_fail(struct pack *p, enum lt_file_call call, int rc,
	       const char *tmp, const char *final, const char *tdir)
{
	if (call == LT_FILE_WRITE)
		return;
	if (call == LT_FILE_RENAME)
		pack_fail(p, rc, "could not rename \"%s\" to \"%s\": %s", tmp,
			  final, strerror(rc));
	else if (call == LT_FILE_FSYNC_DIR)
		pack_fail(p, rc, "could not fsync directory \"%s\": %s", tdir,
			  strerror(rc));
	else if (call == LT_FILE_NONE)
		pack_fail(p, rc, "out of memory");
	else
		pack_fail(p, rc, "could not %s \"%s\": %s", lt_file_call_verb(call),
			  tmp, strerror(rc));
}

/* Writes the period's archive: TENANT-PERIOD.tar.EXT, or with .N when
 * archives of the period exist (files flushed after it was packed). */
static int
pack_files(struct pack *p, const char *tdir, const char *tenant,
	   const char *period, const char *pdir, const struct lt_names *staged,
	   long max_n)
{
	struct lt_buf final = LT_BUF_INIT, tmp = LT_BUF_INIT;
	struct members m = {p, NULL, pdir, staged};
	enum lt_file_call call;
	int rc = 0;

	if ((max_n < 0 ? lt_buf_printf(&final, "%s/%s-%s.tar.%s", tdir, tenant,
				       period, p->ext)
		       : lt_buf_printf(&final, "%s/%s-%s.%ld.tar.%s", tdir, tenant,
				       period, max_n + 1, p->ext)) < 0 ||
	    lt_buf_printf(&tmp, "%s%s", (char *)final.data, TMP_SUFFIX) < 0) {
		rc = ENOMEM;
		pack_fail(p, rc, "out of memory");
		goto out;
	}
	/* One writer of the temporary name: the flush lock's holder.  The
	 * staged files may go only once the archive's name is durable. */
	m.tmp = (char *)tmp.data;
	rc = lt_file_replace_with((char *)final.data, m.tmp, 0640,
				  LT_FILE_SYNC | LT_FILE_ONE_WRITER, write_members,
				  &m, &call);
	if (rc != 0) {
		pack_file_fail(p, call, rc, m.tmp, (char *)final.data, tdir);
		goto out;
	}
	p->made++;
	lt_info("wrote archive \"%s\"", (char *)final.data);
out:
	lt_buf_free(&final);
	lt_buf_free(&tmp);
	return rc;
}

/* Removes the staged files now archived, then the period's directory. */
static int
remove_staged(struct pack *p, const char *sdir, const char *pdir,
	      const struct lt_names *staged)
{
	struct lt_buf path = LT_BUF_INIT;
	char err[512];
	size_t i;
	int rc = 0;

	for (i = 0; i < staged->n; i++) {
		if (staged->v[i] == NULL)
			continue;
		lt_buf_reset(&path);
		if (lt_buf_printf(&path, "%s/%s", pdir, staged->v[i]) < 0) {
			rc = ENOMEM;
			pack_fail(p, rc, "out of memory");
			goto out;
		}
		if (unlink((char *)path.data) < 0 && errno != ENOENT) {
			rc = errno;
			pack_fail(p, rc, "could not remove \"%s\": %s",
				  (char *)path.data, strerror(rc));
			goto out;
		}
	}
	if (rmdir(pdir) < 0) {
		/* Something else lives there (a stray temporary copy that
		 * --recover removes): the directory stays, the next pack
		 * finds nothing new in it. */
		if (errno != ENOTEMPTY && errno != EEXIST) {
			rc = errno;
			pack_fail(p, rc, "could not remove directory \"%s\": %s",
				  pdir, strerror(rc));
		}
		rc = fsync_dir_err(pdir, err, sizeof(err));
		if (rc != 0)
			pack_fail(p, rc, "%s", err);
		goto out;
	}
	rc = fsync_dir_err(sdir, err, sizeof(err));
	if (rc != 0)
		pack_fail(p, rc, "%s", err);
out:
	lt_buf_free(&path);
	return rc;
}

static void
pack_period(struct pack *p, const char *tdir, const char *tenant,
	    const char *sdir, const char *period)
{
	struct lt_buf pdir = LT_BUF_INIT;
	struct lt_names staged = {0};
	int64_t start, end;
	size_t i, left = 0;
	long max_n;
	int rc;

	if (period_parse(period, strlen(period), &start, &end) < 0) {
		lt_warning("ignoring \"%s/%s\": not a period (YYYY-MM-DD or YYYY-MM-DDTHH)",
			   sdir, period);
		return;
	}
	if (end > p->now_ns / NS_PER_S)
		return; /* still open: files of it may still be flushed */
	if (lt_buf_printf(&pdir, "%s/%s", sdir, period) < 0) {
		pack_fail(p, ENOMEM, "out of memory");
		return;
	}
	rc = lt_names_list((char *)pdir.data, LT_SPOOL_SUFFIX, &staged);
	if (rc != 0) {
		if (rc != ENOTDIR)
			pack_fail(p, rc, "could not list \"%s\": %s",
				  (char *)pdir.data, strerror(rc));
		goto out;
	}
	if (staged.n > 0 && drop_archived(p, tdir, tenant, period,
					  (char *)pdir.data, &staged, &max_n) != 0)
		goto out;
	for (i = 0; i < staged.n; i++)
		if (staged.v[i] != NULL)
			left++;
	if (left > 0 && pack_files(p, tdir, tenant, period, (char *)pdir.data,
				   &staged, max_n) != 0)
		goto out;
	(void)remove_staged(p, sdir, (char *)pdir.data, &staged);
out:
	lt_names_free(&staged);
	lt_buf_free(&pdir);
}

/* Removes the tenant's archives whose period ended more than
 * archive_retention ago. */
static void
apply_retention(struct pack *p, const char *tdir, const char *tenant)
{
	struct lt_names all = {0};
	struct lt_buf path = LT_BUF_INIT;
	char per[PERIOD_MAX], err[512];
	int64_t start, end, now_s = p->now_ns / NS_PER_S;
	unsigned long n;
	size_t i, removed = 0;
	int rc;

	if (p->o->archive_retention_s <= 0)
		return;
	rc = lt_names_list(tdir, NULL, &all);
	if (rc != 0) {
		pack_fail(p, rc, "could not list \"%s\": %s", tdir, strerror(rc));
		goto out;
	}
	for (i = 0; i < all.n; i++) {
		if (archive_name_parse(tenant, all.v[i], per, &n) < 0 ||
		    period_parse(per, strlen(per), &start, &end) < 0 ||
		    end > now_s - p->o->archive_retention_s)
			continue;
		lt_buf_reset(&path);
		if (lt_buf_printf(&path, "%s/%s", tdir, all.v[i]) < 0) {
			pack_fail(p, ENOMEM, "out of memory");
			goto out;
		}
		if (unlink((char *)path.data) < 0) {
			pack_fail(p, errno, "could not remove \"%s\": %s",
				  (char *)path.data, strerror(errno));
			continue;
		}
		lt_info("removed archive \"%s\" (older than archive_retention)",
			(char *)path.data);
		removed++;
	}
	if (removed > 0 && (rc = fsync_dir_err(tdir, err, sizeof(err))) != 0)
		pack_fail(p, rc, "%s", err);
out:
	lt_names_free(&all);
	lt_buf_free(&path);
}

static void
pack_tenant(struct pack *p, const char *root, const char *tenant)
{
	struct lt_buf tdir = LT_BUF_INIT, sdir = LT_BUF_INIT;
	struct lt_names periods = {0};
	size_t i;
	int rc;

	if (lt_buf_printf(&tdir, "%s/%s", root, tenant) < 0 ||
	    lt_buf_printf(&sdir, "%s/staging", (char *)tdir.data) < 0) {
		pack_fail(p, ENOMEM, "out of memory");
		goto out;
	}
	rc = lt_names_list((char *)sdir.data, NULL, &periods);
	if (rc != 0 && rc != ENOENT && rc != ENOTDIR)
		pack_fail(p, rc, "could not list \"%s\": %s", (char *)sdir.data,
			  strerror(rc));
	for (i = 0; i < periods.n; i++)
		pack_period(p, (char *)tdir.data, tenant, (char *)sdir.data,
			    periods.v[i]);
	apply_retention(p, (char *)tdir.data, tenant);
out:
	lt_names_free(&periods);
	lt_buf_free(&tdir);
	lt_buf_free(&sdir);
}

/* The tenant directories of the archive; none when there is no archive
 * directory yet. */
static int
archive_tenants(const char *root, struct lt_names *out, char *err,
		size_t errlen)
{
	int rc = lt_tenant_dirs(root, out);

	if (rc != 0)
		(void)snprintf(err, errlen, "could not list \"%s\": %s", root,
			       strerror(rc));
	return rc;
}

int
lt_archive_pack(const struct lt_options *o, int64_t now_ns, size_t *made,
		char *err, size_t errlen)
{
	struct pack p = {o, NULL, now_ns, 0, 0, err, errlen};
	struct lt_buf root = LT_BUF_INIT;
	struct lt_names tenants = {0};
	size_t i;
	int rc;

	*made = 0;
	p.ext = format_ext(o);
	if (p.ext == NULL) {
		(void)snprintf(err, errlen, "unknown archive_format \"%s\" (zstd or gzip)",
			       o->archive_format);
		return EINVAL;
	}
	if (archive_root(o, &root) < 0) {
		(void)snprintf(err, errlen, "out of memory");
		return ENOMEM;
	}
	rc = archive_tenants((char *)root.data, &tenants, err, errlen);
	if (rc != 0)
		goto out;
	for (i = 0; i < tenants.n; i++)
		pack_tenant(&p, (char *)root.data, tenants.v[i]);
	rc = p.rc;
	*made = p.made;
out:
	lt_names_free(&tenants);
	lt_buf_free(&root);
	return rc;
}

/* --- recovery --- */

/* Removes the *.tmp files of dir; *removed counts them. */
static int
remove_tmp(const char *dir, size_t *removed, char *err, size_t errlen)
{
	struct lt_names names = {0};
	struct lt_buf path = LT_BUF_INIT;
	size_t i, n = 0;
	int rc;

	rc = lt_names_list(dir, TMP_SUFFIX, &names);
	if (rc == ENOENT || rc == ENOTDIR) {
		rc = 0;
		goto out;
	}
	if (rc != 0) {
		(void)snprintf(err, errlen, "could not list \"%s\": %s", dir,
			       strerror(rc));
		goto out;
	}
	for (i = 0; i < names.n; i++) {
		lt_buf_reset(&path);
		if (lt_buf_printf(&path, "%s/%s", dir, names.v[i]) < 0) {
			rc = ENOMEM;
			(void)snprintf(err, errlen, "out of memory");
			goto out;
		}
		if (unlink((char *)path.data) < 0 && errno != ENOENT) {
			rc = errno;
			(void)snprintf(err, errlen, "could not remove \"%s\": %s",
				       (char *)path.data, strerror(rc));
			goto out;
		}
		lt_info("removed \"%s\"", (char *)path.data);
		n++;
	}
	if (n > 0)
		rc = fsync_dir_err(dir, err, errlen);
out:
	*removed += n;
	lt_names_free(&names);
	lt_buf_free(&path);
	return rc;
}

static int
recover_tenant(const char *tdir, size_t *removed, char *err, size_t errlen)
{
	struct lt_buf sdir = LT_BUF_INIT, pdir = LT_BUF_INIT;
	struct lt_names periods = {0};
	size_t i;
	int rc;

	rc = remove_tmp(tdir, removed, err, errlen);
	if (rc != 0)
		goto out;
	if (lt_buf_printf(&sdir, "%s/staging", tdir) < 0) {
		rc = ENOMEM;
		(void)snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = lt_names_list((char *)sdir.data, NULL, &periods);
	if (rc == ENOENT || rc == ENOTDIR)
		rc = 0;
	else if (rc != 0)
		(void)snprintf(err, errlen, "could not list \"%s\": %s",
			       (char *)sdir.data, strerror(rc));
	for (i = 0; rc == 0 && i < periods.n; i++) {
		lt_buf_reset(&pdir);
		if (lt_buf_printf(&pdir, "%s/%s", (char *)sdir.data, periods.v[i]) < 0) {
			rc = ENOMEM;
			(void)snprintf(err, errlen, "out of memory");
			break;
		}
		rc = remove_tmp((char *)pdir.data, removed, err, errlen);
	}
out:
	lt_names_free(&periods);
	lt_buf_free(&sdir);
	lt_buf_free(&pdir);
	return rc;
}

int
lt_archive_recover(const struct lt_options *o, size_t *removed, char *err,
		   size_t errlen)
{
	struct lt_buf root = LT_BUF_INIT, tdir = LT_BUF_INIT;
	struct lt_names tenants = {0};
	size_t i;
	int rc;

	*removed = 0;
	if (archive_root(o, &root) < 0) {
		(void)snprintf(err, errlen, "out of memory");
		return ENOMEM;
	}
	rc = archive_tenants((char *)root.data, &tenants, err, errlen);
	for (i = 0; rc == 0 && i < tenants.n; i++) {
		lt_buf_reset(&tdir);
		if (lt_buf_printf(&tdir, "%s/%s", (char *)root.data, tenants.v[i]) < 0) {
			rc = ENOMEM;
			(void)snprintf(err, errlen, "out of memory");
			break;
		}
		rc = recover_tenant((char *)tdir.data, removed, err, errlen);
	}
	lt_names_free(&tenants);
	lt_buf_free(&root);
	lt_buf_free(&tdir);
	return rc;
}
