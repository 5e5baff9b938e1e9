/* null-responder: the ceiling for bench/recv.sh.  Deployed exactly like
 * logthra-recv (CGI behind nginx + fcgiwrap, or one process per
 * connection under inetd / systemd-socket-activate), it reads each
 * request body and answers 204 without looking at it, storing nothing.
 * Whatever throughput it reaches is what the web server, the process
 * spawning and the network cost; logthra-recv cannot do better.
 *
 * The mode is chosen as logthra-recv chooses it: CGI when
 * GATEWAY_INTERFACE is set, HTTP/1.1 over standard input and output
 * (inetd, keep-alive) otherwise.  Inetd mode understands Content-Length
 * bodies, Expect: 100-continue and Connection: close, which is all
 * that wrk and curl send; anything else is answered and the connection
 * closed.  Standalone: built by bench/recv.sh with the project's
 * compiler and CFLAGS, it includes nothing of the project.
 *
 * Built with -DDURABLE_DIR='"PATH"' it is the second ceiling, the
 * disk's: it stores each body as the least a durable receiver must do
 * before answering 2xx, with no parsing and no format of its own.  A new
 * file PATH/tmp/NAME (O_CREAT|O_EXCL), the body written to it, fsync,
 * rename to PATH/ready/NAME, fsync of PATH/ready.  logthra-recv does the
 * same system calls for a push; the gap between the two is what parsing,
 * validating and encoding cost. */
#define _GNU_SOURCE /* memmem */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Big reads: a body costs few system calls, as it should in a receiver
 * that does its best. */
#define BUF_SIZE (256 * 1024)
/* logthra-recv's default max_header_size. */
#define MAX_HEAD (16 * 1024)

static char buf[BUF_SIZE];

#ifdef DURABLE_DIR
static int store_fd = -1;
static char store_name[64];
static unsigned long store_count;

/* Starts storing a body: a new file under DURABLE_DIR/tmp. */
static int
store_begin(void)
{
	char path[sizeof(DURABLE_DIR) + 80];

	snprintf(store_name, sizeof(store_name), "%ld-%lu.body", (long)getpid(),
		 store_count++);
	snprintf(path, sizeof(path), "%s/tmp/%s", DURABLE_DIR, store_name);
	store_fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0660);
	return store_fd < 0 ? -1 : 0;
}

static int write_all(int fd, const char *p, size_t len);

static int
store_bytes(const char *p, size_t len)
{
	return write_all(store_fd, p, len);
}

/* Makes the body durable under DURABLE_DIR/ready. */
static int
store_end(void)
{
	char from[sizeof(DURABLE_DIR) + 80], to[sizeof(DURABLE_DIR) + 80];
	int dir, rc = 0;

	snprintf(from, sizeof(from), "%s/tmp/%s", DURABLE_DIR, store_name);
	snprintf(to, sizeof(to), "%s/ready/%s", DURABLE_DIR, store_name);
	if (fsync(store_fd) < 0)
		rc = -1;
	if (close(store_fd) < 0)
		rc = -1;
	store_fd = -1;
	if (rc < 0 || rename(from, to) < 0)
		return -1;
	dir = open(DURABLE_DIR "/ready", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -1;
	if (fsync(dir) < 0)
		rc = -1;
	if (close(dir) < 0)
		rc = -1;
	return rc;
}
#else
static int store_begin(void) { return 0; }
static int store_bytes(const char *p, size_t len) { (void)p; (void)len; return 0; }
static int store_end(void) { return 0; }
#endif

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads into buf after the first *len bytes.  Returns the bytes read,
 * 0 at end of file, -1 on an error. */
static ssize_t
fill(size_t *len)
{
	ssize_t n;

	do
		n = read(STDIN_FILENO, buf + *len, sizeof(buf) - *len);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		*len += (size_t)n;
	return n;
}

/* Parses a decimal length; -1 when it is not one. */
static long long
parse_length(const char *p, const char *end)
{
	long long v = 0;

	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (p == end)
		return -1;
	for (; p < end; p++) {
		if (*p < '0' || *p > '9' || v > (0x7fffffffffffffffLL - 9) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	return v;
}

static int
run_cgi(void)
{
	const char *cl = getenv("CONTENT_LENGTH");
	static const char ok[] = "Status: 204 No Content\r\n\r\n";
	long long left = 0;
	size_t len;
	ssize_t n;

	if (cl != NULL && *cl != '\0') {
		left = parse_length(cl, cl + strlen(cl));
		if (left < 0)
			return 1;
	}
	if (store_begin() < 0)
		return 1;
	while (left > 0) {
		len = 0;
		n = fill(&len);
		if (n <= 0)
			return 1; /* shorter than announced: no answer */
		if (store_bytes(buf, len) < 0)
			return 1;
		left -= n;
	}
	if (store_end() < 0)
		return 1;
	return write_all(STDOUT_FILENO, ok, sizeof(ok) - 1) < 0;
}

/* The value of header NAME in the head [p, end) (lines ending in CRLF),
 * or NULL; *vend gets the end of the value. */
static const char *
header(const char *p, const char *end, const char *name, const char **vend)
{
	size_t nlen = strlen(name);
	const char *eol;

	/* Skip the request line. */
	p = memchr(p, '\n', (size_t)(end - p));
	while (p != NULL && ++p < end) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			break;
		if ((size_t)(eol - p) > nlen && p[nlen] == ':' &&
		    strncasecmp(p, name, nlen) == 0) {
			*vend = eol[-1] == '\r' ? eol - 1 : eol;
			return p + nlen + 1;
		}
		p = eol;
	}
	return NULL;
}

static int
has_token(const char *v, const char *vend, const char *token)
{
	size_t tlen = strlen(token);

	for (; v + tlen <= vend; v++)
		if (strncasecmp(v, token, tlen) == 0)
			return 1;
	return 0;
}

static int
run_inetd(void)
{
	static const char ok[] = "HTTP/1.1 204 No Content\r\n\r\n";
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	static const char big[] = "HTTP/1.1 431 Request Header Fields Too Large\r\n"
				  "Content-Length: 0\r\nConnection: close\r\n\r\n";
	static const char bad[] = "HTTP/1.1 400 Bad Request\r\n"
				  "Content-Length: 0\r\nConnection: close\r\n\r\n";
	static const char te[] = "HTTP/1.1 501 Not Implemented\r\n"
				 "Content-Length: 0\r\nConnection: close\r\n\r\n";
	size_t len = 0, scanned, headlen, take;
	const char *v, *vend, *eoh, *eol;
	long long left;
	int keep;
	ssize_t n;

	for (;;) {
		/* The head: up to the empty line. */
		scanned = 0;
		for (;;) {
			size_t from = scanned > 3 ? scanned - 3 : 0;

			eoh = memmem(buf + from, len - from, "\r\n\r\n", 4);
			if (eoh != NULL) {
				eoh += 4;
				break;
			}
			scanned = len;
			if (len >= MAX_HEAD)
				return write_all(STDOUT_FILENO, big, sizeof(big) - 1) < 0;
			n = fill(&len);
			if (n == 0 && len == 0)
				return 0; /* the client is done */
			if (n <= 0)
				return 1;
		}
		headlen = (size_t)(eoh - buf);
		if (headlen > MAX_HEAD)
			return write_all(STDOUT_FILENO, big, sizeof(big) - 1) < 0;

		left = 0;
		if (header(buf, eoh, "Transfer-Encoding", &vend) != NULL)
			return write_all(STDOUT_FILENO, te, sizeof(te) - 1) < 0;
		v = header(buf, eoh, "Content-Length", &vend);
		if (v != NULL && (left = parse_length(v, vend)) < 0)
			return write_all(STDOUT_FILENO, bad, sizeof(bad) - 1) < 0;
		v = header(buf, eoh, "Connection", &vend);
		if (v != NULL)
			keep = !has_token(v, vend, "close");
		else {
			/* HTTP/1.1 keeps the connection unless told not to. */
			eol = memchr(buf, '\n', headlen);
			keep = eol - buf >= 10 && memcmp(eol - 10, " HTTP/1.1\r", 10) == 0;
		}
		v = header(buf, eoh, "Expect", &vend);
		if (v != NULL && has_token(v, vend, "100-continue") &&
		    write_all(STDOUT_FILENO, cont, sizeof(cont) - 1) < 0)
			return 1;

		/* The body: what came with the head, then big reads.  Bytes
		 * past it are the next (pipelined) request. */
		len -= headlen;
		memmove(buf, buf + headlen, len);
		if (store_begin() < 0)
			return 1;
		for (;;) {
			take = (long long)len < left ? len : (size_t)left;
			if (store_bytes(buf, take) < 0)
				return 1;
			left -= (long long)take;
			len -= take;
			if (left == 0)
				break;
			n = fill(&len);
			if (n <= 0)
				return 1;
		}
		if (len > 0)
			memmove(buf, buf + take, len);
		if (store_end() < 0 ||
		    write_all(STDOUT_FILENO, ok, sizeof(ok) - 1) < 0)
			return 1;
		if (!keep)
			return 0;
	}
}

int
main(void)
{
	if (getenv("GATEWAY_INTERFACE") != NULL)
		return run_cgi();
	return run_inetd();
}
