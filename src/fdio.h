/* Reading and writing file descriptors whole: the loops around poll(),
 * read() and write() that every part of Logthra doing I/O needs. */
#ifndef LOGTHRA_FDIO_H
#define LOGTHRA_FDIO_H

#include <stddef.h>
#include <sys/types.h>

/* Milliseconds on CLOCK_MONOTONIC, for deadlines; 0 if it cannot be read. */
long long lt_monotonic_ms(void);

/* Waits until fd is ready for events (POLLIN, POLLOUT); timeout_ms <= 0
 * waits forever.  Returns 1 when ready, 0 on timeout, -1 on error. */
int lt_fd_wait(int fd, short events, int timeout_ms);

/* Writes all of data, waiting (30 s at most) when fd is non-blocking.
 * Returns 0, or -1 (EPIPE included: the peer is gone). */
int lt_fd_write_all(int fd, const void *data, size_t len);

/* Reads from offset off until len bytes or the end of the file, retrying
 * after EINTR.  Returns the bytes read (short only at the end), or -1. */
ssize_t lt_fd_pread_all(int fd, void *data, size_t len, off_t off);

/* Writes all of data at offset off, retrying after EINTR; a write of 0
 * bytes is an EIO.  Returns 0 or -1. */
int lt_fd_pwrite_all(int fd, const void *data, size_t len, off_t off);

#endif
