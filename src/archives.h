/* Archives of flushed spool files: staging, packing and recovery; their
 * re-import is logthra-replay's (replay.h).  (Not called archive.h: with
 * src/ on the include path that name would hide libarchive's
 * <archive.h>.)
 *
 * With after_flush = archive, logthra-flush does not remove a file that
 * ClickHouse confirmed: it moves it into a staging directory of the
 * period (UTC day or hour) in which it was received, and once a period
 * is over packs the period's files into one compressed tar archive.
 *
 *   ARCHIVE/TENANT/staging/PERIOD/NAME         flushed, waiting to be packed
 *   ARCHIVE/TENANT/TENANT-PERIOD.tar.zst       packed (.tar.gz with gzip)
 *   ARCHIVE/TENANT/TENANT-PERIOD.N.tar.zst     files flushed after PERIOD was packed
 *   ARCHIVE/TENANT/....tar.zst.tmp             being written
 *
 * ARCHIVE is archive_dir, SPOOL/archive by default; PERIOD is YYYY-MM-DD
 * or YYYY-MM-DDTHH (UTC, of the time the push was received); the tar
 * members are the spool file names.  Staging, packing and recovery must
 * run under SPOOL/flush.lock. */
#ifndef LOGTHRA_ARCHIVES_H
#define LOGTHRA_ARCHIVES_H

#include <stddef.h>
#include <stdint.h>

#include "options.h"

/* After a successful flush: moves the file at path (in a tenant's
 * active/ directory) into ARCHIVE/TENANT/staging/PERIOD/name, PERIOD from
 * received_ns.  Missing directories are created (mode 0770) and their
 * entries made durable; the staging directory is fsynced.  When the
 * archive is on another file system the file is copied, fsynced and the
 * original removed.  The caller fsyncs the directory of path.  Returns
 * 0, or an errno value with err describing the step that failed. */
int lt_archive_stage(const struct lt_options *o, const char *tenant,
		     const char *path, const char *name, int64_t received_ns,
		     char *err, size_t errlen);

/* Packs every staging period of every tenant that ended at or before
 * now_ns into an archive, then removes the archives whose period ended
 * more than archive_retention ago (none when it is 0).  An archive is
 * written under a temporary name, fsynced and renamed, and only then
 * are the staged files removed; staged files that an existing archive of
 * the period already holds (a pack that died before it cleaned up) are
 * removed without being archived again.  *made counts the archives
 * written.  Keeps going after a failure; returns 0, or the errno value
 * of the first failure with err describing it (later ones are logged). */
int lt_archive_pack(const struct lt_options *o, int64_t now_ns, size_t *made,
		    char *err, size_t errlen);

/* For logthra-replay --recover: removes the temporary files (*.tmp) of
 * archives and of cross-file-system copies that a killed process left
 * behind.  Only call with SPOOL/flush.lock held: a running flush may be
 * writing one.  *removed counts them.  Returns 0 or an errno value. */
int lt_archive_recover(const struct lt_options *o, size_t *removed, char *err,
		       size_t errlen);

#endif
