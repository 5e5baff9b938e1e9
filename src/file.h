/* Files read and written whole, safely.
 *
 * Reading a small file whole by its name: a state file, a credentials
 * or password file, a spool file.  The reader refuses what a daemon must
 * not read under a name it trusts: a symbolic link (unless asked to
 * follow one), a FIFO, a device or a directory, and more than the caller
 * expects.
 *
 * Writing a file whole under a temporary name and renaming it into place,
 * so that a reader (or a power failure) finds the old file or the new
 * one, never half of either: the spool's files, flush.state, the metrics
 * file, the archives.  What "durable" means here is logthra-spool(5)'s
 * "Power failure": a file's data survives once it was fsynced, a name
 * once its directory was, each directory on its own. */
#ifndef LOGTHRA_FILE_H
#define LOGTHRA_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "buf.h"

/* Flags of lt_file_read(). */
/* Follow a symbolic link: for a file the administrator names and may
 * well link (a password file that is a mounted secret). */
#define LT_FILE_FOLLOW 1
/* Refuse a file with other hard links (EMLINK): one linked into a spool
 * directory from elsewhere is not ours to read. */
#define LT_FILE_ONE_LINK 2
/* Refuse a file without exactly two hard links (EMLINK): a spool file
 * while it is being claimed, whose other name the caller checks with st. */
#define LT_FILE_TWO_LINKS 4

/* No limit on the size, for lt_file_read()'s max. */
#define LT_FILE_NO_MAX SIZE_MAX

/* Which call an error of lt_file_read() or of a writer below comes from,
 * so that callers can say "could not open" or "could not rename". */
enum lt_file_call {
	LT_FILE_NONE,  /* none: the file was refused or memory ran out */
	LT_FILE_OPEN,  /* open(): ELOOP is a symbolic link */
	LT_FILE_FSTAT,
	LT_FILE_READ,
	LT_FILE_CREATE,    /* open() of the new file, or unlink() of a stale one */
	LT_FILE_CHMOD,
	LT_FILE_WRITE,     /* write(), or the caller's writer */
	LT_FILE_FSYNC,
	LT_FILE_CLOSE,
	LT_FILE_RENAME,
	LT_FILE_FSYNC_DIR, /* after the rename: the new name is in place */
};

/* The call as a verb for "could not VERB \"FILE\"": "open", "create",
 * "fsync", ...; "fsync the directory of" for LT_FILE_FSYNC_DIR, and
 * "write" for LT_FILE_NONE (a writer out of memory). */
const char *lt_file_call_verb(enum lt_file_call call);

/* Reads the regular file path whole, appending it to out, which it
 * leaves NUL-terminated (the NUL not counted in len).  Refuses, before
 * reading a byte, with
 *   EINVAL  not a regular file (a FIFO does not block the open());
 *   EMLINK  more than one hard link, with LT_FILE_ONE_LINK, or other
 *           than two, with LT_FILE_TWO_LINKS;
 *   EPERM   any of the mode bits in refuse set;
 *   EFBIG   more than max bytes (also when it grew past max while read).
 * Returns 0, one of those, ENOMEM, or the errno of the call that failed;
 * failed (when not NULL) says which call that was, LT_FILE_NONE for the
 * reader's own errors.  st (when not NULL) receives fstat()'s answer
 * whenever fstat() succeeded, for messages and further checks.  On error
 * out->len is as before.  A caller that reserved max + 1 bytes in out
 * beforehand is never reallocated: no stray copy of a secret is left in
 * freed memory. */
int lt_file_read(const char *path, int flags, mode_t refuse, size_t max,
		 struct lt_buf *out, struct stat *st, enum lt_file_call *failed);

/* Flags of the writers below. */
/* Durable: the file is fsynced before it is closed and, once renamed,
 * the directory that holds it.  Without it nothing is fsynced (a file
 * that is not data, rewritten on every run: the metrics). */
#define LT_FILE_SYNC 4
/* mode exactly, whatever the umask (fchmod()): for a file that readers
 * outside the spool's group must read.  Without it mode less the umask,
 * as open() gives. */
#define LT_FILE_EXACT_MODE 8
/* The caller is the only writer of the name it creates (it holds a
 * lock): a file left there by a writer that died is removed first.
 * Without it an existing file under the name is an error (EEXIST): the
 * name was meant to be unique.  Either way the file is created with
 * O_EXCL and O_NOFOLLOW, so that nothing planted under the name (a
 * symbolic link, a hard link to another file) is written through. */
#define LT_FILE_ONE_WRITER 16

/* Writes the content of a new file to fd (which it must not close).
 * Returns 0 or an errno value.  Errors of its own source (reading the
 * file it copies) are its to report; the file is removed either way. */
typedef int lt_file_writer(int fd, void *arg);

/* Creates path, writes len bytes of data, and (with LT_FILE_SYNC) fsyncs
 * it; no rename, so a reader may see it half written: for a file nothing
 * reads before the caller's next step (the reason of a quarantined spool
 * file).  On failure path is removed, if it was created.  Returns 0 or
 * an errno value; failed (when not NULL) says which call failed. */
int lt_file_create(const char *path, const void *data, size_t len,
		   mode_t mode, int flags, enum lt_file_call *failed);

/* Replaces path (or creates it) with the content that fill writes, on
 * the way of logthra-spool(5): tmp is created (see LT_FILE_ONE_WRITER),
 * written, fsynced, closed, renamed over path, and the directory of path
 * fsynced (those two fsyncs with LT_FILE_SYNC only).  tmp is any name on
 * the file system of path, NULL for "PATH.tmp"; its directory, when it is
 * another, is not fsynced, so after a power failure tmp may come back
 * beside path (a twin for the caller's recovery to remove).  Returns 0 or
 * an errno value; failed (when not NULL) says which call failed.  On any
 * failure before the rename path is as it was and tmp is removed (unless
 * it could not be created: EEXIST leaves another's file alone); on
 * LT_FILE_FSYNC_DIR path has the new content, which a power failure may
 * undo (a caller whose path is a new name may remove it). */
int lt_file_replace_with(const char *path, const char *tmp, mode_t mode,
			 int flags, lt_file_writer *fill, void *arg,
			 enum lt_file_call *failed);

/* lt_file_replace_with() for content in memory: len bytes of data. */
int lt_file_replace(const char *path, const char *tmp, const void *data,
		    size_t len, mode_t mode, int flags,
		    enum lt_file_call *failed);

/* Renames from to to and makes the rename durable: fsyncs the directory
 * of to, then that of from when it is another.  Destination first: a
 * power failure between the two leaves the file under both names, never
 * under none.  Returns 0 or an errno value; failed (when not NULL) is
 * LT_FILE_RENAME (nothing changed) or LT_FILE_FSYNC_DIR (renamed). */
int lt_file_sync_rename(const char *from, const char *to,
			enum lt_file_call *failed);

/* fsyncs a directory so that a rename or unlink in it is durable.
 * Returns 0, or -1 with errno set. */
int lt_fsync_dir(const char *path);

#endif
