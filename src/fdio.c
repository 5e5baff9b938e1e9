/* File descriptors written and read whole (pread, pwrite) and waited on
 * with poll() for a time a signal does not extend (fdio.h). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "fdio.h"

/* How long a write waits for a non-blocking descriptor to drain. */
#define WRITE_TIMEOUT_MS 30000

long long
lt_monotonic_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return 0;
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A signal does not extend the wait: the remaining time is recomputed. */
int
lt_fd_wait(int fd, short events, int timeout_ms)
{
	struct pollfd pfd;
	long long deadline = 0, left;
	int n, t = -1;

	if (timeout_ms > 0)
		deadline = lt_monotonic_ms() + timeout_ms;
	for (;;) {
		if (timeout_ms > 0) {
			left = deadline - lt_monotonic_ms();
			if (left <= 0)
				return 0;
			t = left > INT_MAX ? INT_MAX : (int)left;
		}
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, t);
		if (n > 0)
			return 1; /* POLLHUP/POLLERR: read() or write() tells */
		if (n == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

int
lt_fd_write_all(int fd, const void *data, size_t len)
{
	const unsigned char *p = data;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if ((errno == EAGAIN || errno == EWOULDBLOCK) &&
			    lt_fd_wait(fd, POLLOUT, WRITE_TIMEOUT_MS) == 1)
				continue;
			return -1; /* EPIPE included: the peer is gone */
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

ssize_t
lt_fd_pread_all(int fd, void *data, size_t len, off_t off)
{
	unsigned char *p = data;
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		n = pread(fd, p + got, len - got, off + (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int
lt_fd_pwrite_all(int fd, const void *data, size_t len, off_t off)
{
	const unsigned char *p = data;
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = pwrite(fd, p + done, len - done, off + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		done += (size_t)n;
	}
	return 0;
}
