/* Helpers the unit tests share: a temporary directory, a file written
 * or read whole, a tree removed.  Each fails the running test (check's
 * assertions) when the system refuses, except tu_rm_rf, whose caller
 * says whether a failure matters. */
#ifndef LOGTHRA_TEST_TESTUTIL_H
#define LOGTHRA_TEST_TESTUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

/* Makes a new directory $TMPDIR/NAME-XXXXXX (/tmp when TMPDIR is unset
 * or empty) and puts its path in dir, of cap bytes. */
void tu_tmpdir(char *dir, size_t cap, const char *name);

/* Replaces whatever is at path (a file, a symbolic link) with a file of
 * len bytes from data and the given mode, whatever the umask. */
void tu_write_file(const char *path, const void *data, size_t len, mode_t mode);

/* Puts the bytes of the file at path in out, replacing what it held. */
void tu_read_file(const char *path, struct lt_buf *out);

/* Removes path and, when it is a directory, everything under it, as
 * rm -rf does: symbolic links are removed, not followed, and a missing
 * path is no error.  Returns 0, or -1 when something stayed. */
int tu_rm_rf(const char *path);

#endif
