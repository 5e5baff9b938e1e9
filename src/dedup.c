/* Retried pushes found by their digest in SPOOL/seen/TENANT/BUCKET, and
 * old buckets expired (dedup.h). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dedup.h"
#include "file.h"
#include "sha256.h"

void
lt_dedup_digest(const struct lt_spool_encoder *e, char hex[LT_DEDUP_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char d[LT_SHA256_LEN];
	size_t i;

	/* The header holds this attempt's time and push id; what follows
	 * is the push as stored, the same for every attempt. */
	lt_sha256(e->out.data + e->body_start, e->out.len - e->body_start, d);
	for (i = 0; i < LT_SHA256_LEN; i++) {
		hex[2 * i] = digits[d[i] >> 4];
		hex[2 * i + 1] = digits[d[i] & 15];
	}
	hex[LT_DEDUP_HEX_LEN] = '\0';
}

int64_t
lt_dedup_bucket(int64_t now_s, int64_t window_s)
{
	int64_t b = now_s / window_s * window_s;

	return b > now_s ? b - window_s : b; /* rounds down before 1970 too */
}

/* Appends "root/seen/tenant" to out (replacing its content), and with
 * bucket >= 0 "/bucket" and with hex "/hex". */
static int
seen_path(struct lt_buf *out, const char *root, const char *tenant,
	  int64_t bucket, const char *hex)
{
	lt_buf_reset(out);
	if (lt_buf_printf(out, "%s/seen/%s", root, tenant) < 0 ||
	    (bucket >= 0 && lt_buf_printf(out, "/%" PRId64, bucket) < 0) ||
	    (hex != NULL && lt_buf_printf(out, "/%s", hex) < 0))
		return -1;
	return 0;
}

int
lt_dedup_seen(const char *root, const char *tenant, const char *hex,
	      int64_t now_s, int64_t window_s)
{
	struct lt_buf path = LT_BUF_INIT;
	struct stat st;
	int64_t b;
	int seen = 0, k;

	if (window_s <= 0)
		return 0;
	b = lt_dedup_bucket(now_s, window_s);
	for (k = 0; k < 2 && !seen; k++)
		seen = seen_path(&path, root, tenant, b - k * window_s, hex) == 0 &&
		       lstat((char *)path.data, &st) == 0 && S_ISREG(st.st_mode);
	lt_buf_free(&path);
	return seen;
}

/* SPOOL/seen, seen/TENANT and the bucket, each made durable in its
 * parent when it is new. */
static int
make_bucket(const char *root, const char *tenant, int64_t bucket,
	    struct lt_buf *dir)
{
	struct lt_buf parent = LT_BUF_INIT;
	int rc = -1;

	if (seen_path(dir, root, tenant, bucket, NULL) < 0)
		goto out;
	if (mkdir((char *)dir->data, 0770) < 0 && errno == EEXIST) {
		rc = 0; /* the common case: its creator made it durable */
		goto out;
	}
	if (lt_buf_printf(&parent, "%s/seen", root) < 0 ||
	    lt_spool_mkdir((char *)parent.data, root) < 0)
		goto out;
	if (seen_path(dir, root, tenant, -1, NULL) < 0 ||
	    lt_spool_mkdir((char *)dir->data, (char *)parent.data) < 0)
		goto out;
	lt_buf_reset(&parent);
	if (lt_buf_printf(&parent, "%s", (char *)dir->data) < 0 ||
	    seen_path(dir, root, tenant, bucket, NULL) < 0 ||
	    lt_spool_mkdir((char *)dir->data, (char *)parent.data) < 0)
		goto out;
	rc = 0;
out:
	lt_buf_free(&parent);
	return rc;
}

int
lt_dedup_record(const char *root, const char *tenant, const char *hex,
		int64_t now_s, int64_t window_s, char *err, size_t errlen)
{
	struct lt_buf dir = LT_BUF_INIT, path = LT_BUF_INIT;
	const char *step = "create directory";
	int fd, rc = 0;

	if (window_s <= 0)
		return 0;
	if (make_bucket(root, tenant, lt_dedup_bucket(now_s, window_s), &dir) < 0)
		goto fail;
	step = "create";
	if (lt_buf_printf(&path, "%s/%s", (char *)dir.data, hex) < 0)
		goto fail;
	/* An empty file: its name is the record.  O_EXCL and EEXIST: a
	 * retry stored twice, when it raced the first copy. */
	fd = open((char *)path.data, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		  0660);
	if (fd < 0 && errno != EEXIST)
		goto fail;
	if (fd >= 0 && close(fd) < 0)
		goto fail;
	step = "fsync";
	if (lt_fsync_dir((char *)dir.data) < 0)
		goto fail;
	goto out;
fail:
	rc = errno != 0 ? errno : ENOMEM;
	(void)snprintf(err, errlen, "could not %s \"%s\" to record the push against retries: %s",
		       step,
		       path.len > 0 ? (char *)path.data : dir.len > 0 ? (char *)dir.data : root,
		       strerror(rc));
out:
	lt_buf_free(&dir);
	lt_buf_free(&path);
	return rc;
}

/* Removes dir's files and dir itself; counts the files. */
static int
remove_bucket(const char *dir, size_t *removed)
{
	struct lt_names names = {0};
	struct lt_buf path = LT_BUF_INIT;
	size_t i;
	int rc = lt_names_list(dir, NULL, &names);

	for (i = 0; rc == 0 && i < names.n; i++) {
		lt_buf_reset(&path);
		if (lt_buf_printf(&path, "%s/%s", dir, names.v[i]) < 0)
			rc = ENOMEM;
		else if (unlink((char *)path.data) == 0)
			(*removed)++;
		else if (errno != ENOENT)
			rc = errno;
	}
	if (rc == 0 && rmdir(dir) < 0 && errno != ENOENT)
		rc = errno;
	lt_names_free(&names);
	lt_buf_free(&path);
	return rc;
}

/* A bucket's name: a unix second in decimal, nothing else. */
static int
bucket_of(const char *name, int64_t *out)
{
	char *end;
	long long v;

	if (name[0] < '0' || name[0] > '9')
		return -1;
	errno = 0;
	v = strtoll(name, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

/* 0 when seen/ and seen/TENANT are directories, not links; else an
 * errno value (ENOENT when one is missing). */
static int
real_dirs(const char *root, const char *tenant)
{
	struct lt_buf path = LT_BUF_INIT;
	int rc = 0;

	if (lt_buf_printf(&path, "%s/seen", root) < 0)
		rc = ENOMEM;
	else if (lt_spool_real_dir((char *)path.data) < 0)
		rc = errno;
	else if (seen_path(&path, root, tenant, -1, NULL) < 0)
		rc = ENOMEM;
	else if (lt_spool_real_dir((char *)path.data) < 0)
		rc = errno;
	lt_buf_free(&path);
	return rc;
}

int
lt_dedup_expire(const char *root, const char *tenant, int64_t now_s,
		int64_t window_s, size_t *removed, char *err, size_t errlen)
{
	struct lt_buf dir = LT_BUF_INIT, path = LT_BUF_INIT;
	struct lt_names names = {0};
	int64_t oldest_kept, b;
	size_t i;
	int rc;

	*removed = 0;
	/* With the window off (0) nothing new is recorded and nothing
	 * old is looked at: every bucket goes. */
	oldest_kept = window_s > 0 ? lt_dedup_bucket(now_s, window_s) - window_s
				   : INT64_MAX;
	if (seen_path(&dir, root, tenant, -1, NULL) < 0) {
		rc = ENOMEM;
		goto fail;
	}
	/* Nothing is removed through a symbolic link planted in the spool
	 * (logthra-spool(5)): seen/, seen/TENANT and each bucket must be
	 * directories themselves. */
	rc = real_dirs(root, tenant);
	if (rc == 0)
		rc = lt_names_list((char *)dir.data, NULL, &names);
	if (rc == ENOENT) {
		rc = 0;
		goto out;
	}
	for (i = 0; rc == 0 && i < names.n; i++) {
		if (bucket_of(names.v[i], &b) < 0 || b >= oldest_kept)
			continue;
		lt_buf_reset(&path);
		if (lt_buf_printf(&path, "%s/%s", (char *)dir.data, names.v[i]) < 0)
			rc = ENOMEM;
		else if (lt_spool_real_dir((char *)path.data) == 0)
			rc = remove_bucket((char *)path.data, removed);
	}
	/* Not fsynced: a record that a crash brings back is in a bucket no
	 * push looks at any more, and the next run removes it again. */
	if (rc == 0)
		goto out;
fail:
	(void)snprintf(err, errlen, "could not remove old records of retried pushes in \"%s\": %s",
		       dir.len > 0 ? (char *)dir.data : root, strerror(rc));
out:
	lt_names_free(&names);
	lt_buf_free(&dir);
	lt_buf_free(&path);
	return rc;
}
