/* Reading a small file whole by its name: a state file, a credentials
 * or password file, a spool file.  The reader refuses what a daemon must
 * not read under a name it trusts: a symbolic link (unless asked to
 * follow one), a FIFO, a device or a directory, and more than the caller
 * expects. */
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

/* Which call an error of lt_file_read() comes from, so that callers can
 * say "could not open" or "could not read". */
enum lt_file_call {
	LT_FILE_NONE,  /* none: the reader refused the file or ran out of memory */
	LT_FILE_OPEN,  /* open(): ELOOP is a symbolic link */
	LT_FILE_FSTAT,
	LT_FILE_READ,
};

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

#endif
