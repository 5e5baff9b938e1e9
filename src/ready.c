/* GET /ready on logthra-recv: the spool probed as a push would use it,
 * without writing anything that stays. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "ready.h"
#include "spool.h"

/* Where a file system has no unnamed files: a named one, removed at
 * once.  A crash in between leaves an empty dot file, which nothing
 * reads. */
static int
probe_named(const char *dir, char *err, size_t errlen)
{
	struct lt_buf path = LT_BUF_INIT;
	uint32_t rnd = 0;
	int fd, rc = 0;

	(void)getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK);
	if (lt_buf_printf(&path, "%s/.ready-%ld-%08x", dir, (long)getpid(),
			  (unsigned)rnd) < 0) {
		(void)snprintf(err, errlen, "out of memory");
		return ENOMEM;
	}
	fd = open((char *)path.data,
		  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0660);
	if (fd < 0) {
		rc = errno;
		(void)snprintf(err, errlen, "spool directory \"%s\" is not "
			       "writable: %s", dir, strerror(rc));
	} else {
		(void)close(fd);
		(void)unlink((char *)path.data);
	}
	lt_buf_free(&path);
	return rc;
}

/* Creates a file in dir the way a push creates one, unnamed so that
 * nothing is left behind: permissions, a read-only mount and a full
 * inode table all show. */
static int
probe_dir(const char *dir, char *err, size_t errlen)
{
	int fd, rc;

	fd = open(dir, O_WRONLY | O_TMPFILE | O_CLOEXEC, 0660);
	if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR))
		return probe_named(dir, err, errlen);
	if (fd < 0) {
		rc = errno;
		(void)snprintf(err, errlen, "spool directory \"%s\" is not "
			       "writable: %s", dir, strerror(rc));
		return rc;
	}
	(void)close(fd);
	return 0;
}

/* A missing spool is created by the first push (logthra-spool(5)):
 * ready when its parent lets a push create it. */
static int
probe_missing(const char *spool, char *err, size_t errlen)
{
	struct stat st;
	char *copy, *parent;
	int rc;

	copy = strdup(spool);
	if (copy == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return ENOMEM;
	}
	parent = dirname(copy);
	if (stat(parent, &st) < 0 || !S_ISDIR(st.st_mode)) {
		rc = ENOENT;
		(void)snprintf(err, errlen, "spool directory \"%s\" does not "
			       "exist", spool);
	} else if ((rc = probe_dir(parent, err, errlen)) != 0) {
		(void)snprintf(err, errlen, "spool directory \"%s\" does not "
			       "exist, and cannot be created in \"%s\": %s",
			       spool, parent, strerror(rc));
	}
	free(copy);
	return rc;
}

/* Probes SPOOL/sub when it exists: where a push makes a tenant's
 * directories (tenants/), its rate-limit state (rate/) and its
 * records against retries (seen/). */
static int
probe_sub(const char *spool, const char *sub, char *err, size_t errlen)
{
	struct lt_buf dir = LT_BUF_INIT;
	struct stat st;
	int rc = 0;

	if (lt_buf_printf(&dir, "%s/%s", spool, sub) < 0) {
		(void)snprintf(err, errlen, "out of memory");
		return ENOMEM;
	}
	if (lstat((char *)dir.data, &st) < 0) {
		if (errno != ENOENT) {
			rc = errno;
			(void)snprintf(err, errlen, "cannot reach spool "
				       "directory \"%s\": %s",
				       (char *)dir.data, strerror(rc));
		}
	} else if (!S_ISDIR(st.st_mode)) {
		rc = ENOTDIR;
		(void)snprintf(err, errlen, "\"%s\" is not a directory",
			       (char *)dir.data);
	} else {
		rc = probe_dir((char *)dir.data, err, errlen);
	}
	lt_buf_free(&dir);
	return rc;
}

int
lt_spool_ready(const char *spool, size_t min_free_space,
	       size_t min_free_inodes, char *err, size_t errlen)
{
	static const char *const subs[] = {"tenants", "rate", "seen"};
	struct stat st;
	size_t i;
	int rc;

	if (stat(spool, &st) < 0) {
		rc = errno;
		if (rc == ENOENT)
			return probe_missing(spool, err, errlen);
		(void)snprintf(err, errlen, "cannot reach spool directory "
			       "\"%s\": %s", spool, strerror(rc));
		return rc;
	}
	if (!S_ISDIR(st.st_mode)) {
		(void)snprintf(err, errlen, "spool \"%s\" is not a directory",
			       spool);
		return ENOTDIR;
	}
	rc = probe_dir(spool, err, errlen);
	for (i = 0; rc == 0 && i < sizeof(subs) / sizeof(subs[0]); i++)
		rc = probe_sub(spool, subs[i], err, errlen);
	if (rc != 0)
		return rc;
	return lt_spool_space_ok(spool, min_free_space, min_free_inodes, err,
				 errlen);
}

int
lt_recv_is_ready_path(const char *path)
{
	return path != NULL && strcmp(path, "/ready") == 0;
}

void
lt_recv_ready(const struct lt_options *o, const struct lt_request *r,
	      struct lt_response *resp)
{
	char err[1024];
	int head = strcmp(r->method, "HEAD") == 0;

	if (!head && strcmp(r->method, "GET") != 0) {
		(void)lt_response_set(resp, 405, "method %.20s not allowed: "
				      "use GET or HEAD", r->method);
		resp->allow = "GET, HEAD";
		return;
	}
	if (lt_spool_ready(o->spool, o->min_free_space, o->min_free_inodes,
			   err, sizeof(err)) == 0)
		(void)lt_response_set(resp, 200, "ready");
	else
		(void)lt_response_set(resp, 503, "not ready: %s", err);
	resp->head = head;
}
