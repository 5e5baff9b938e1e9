/* HTTP framing: the request a receiver handles, read from a CGI
 * environment (RFC 3875) or from a connected socket (a small, strict
 * HTTP/1.1 server for inetd and systemd socket activation), and the
 * response written back in the matching form. */
#ifndef LOGTHRA_HTTP_H
#define LOGTHRA_HTTP_H

#include <stddef.h>

#include "buf.h"
#include "fdio.h"

/* One request, whatever way it came.  Strings are NUL-terminated and
 * owned by the request; a header that was not sent is NULL. */
struct lt_request {
	char *method;
	char *path;             /* without the query string */
	char *query;            /* the query string after "?", undecoded;
				 * NULL when there was none */
	char *tenant_id;        /* "tenant-id" header (the seed's) */
	char *scope_orgid;      /* "X-Scope-OrgID" (Loki's) */
	char *content_type;
	char *content_encoding;
	char *authorization;    /* the Authorization header, as sent */
	char *remote_user;      /* CGI's REMOTE_USER: who the web server
				 * authenticated; never set in inetd mode */
	char *upgrade;          /* "Upgrade" (inetd mode only) */
	char *ws_key;           /* "Sec-WebSocket-Key" (inetd mode only) */
	char *ws_version;       /* "Sec-WebSocket-Version" (inetd mode only) */
	int conn_upgrade;       /* "Connection" named the upgrade token */
	int cgi;                /* came through a web server (CGI) */
	long long content_length; /* -1 when not given */
	int keep_alive;         /* the client may send another request */
	int http10;             /* an HTTP/1.0 request: no chunked answer */
	int expect_continue;    /* "Expect: 100-continue" */
	struct lt_buf body;
};

void lt_request_init(struct lt_request *r);
void lt_request_free(struct lt_request *r);

/* The text of an answer, and the room for a body made from it: an
 * encoding that escapes each byte as \uXXXX (JSON's worst case) stays
 * within six bytes a byte. */
#define LT_RESPONSE_MESSAGE_MAX 8192
#define LT_RESPONSE_BODY_MAX (6 * LT_RESPONSE_MESSAGE_MAX + 256)

struct lt_response {
	int status;
	int retry_after;        /* seconds; 0 = no Retry-After header */
	const char *allow;      /* Allow header for 405, or NULL */
	const char *www_authenticate; /* WWW-Authenticate for 401, or NULL */
	int head;               /* the answer to HEAD: the headers a GET
				 * would get, without the body */
	char message[LT_RESPONSE_MESSAGE_MAX]; /* the text/plain body (empty
				 * for 204); with content_type set, what the
				 * log says of the answer */
	/* A body of another type, such as OTLP's protobuf or JSON answers
	 * (lt_response_set_body()): sent instead of message when
	 * content_type is not NULL. */
	const char *content_type;
	size_t body_len;
	unsigned char body[LT_RESPONSE_BODY_MAX];
};

const char *lt_http_reason(int status);

/* Seconds a client should wait after a 503 before it tries again. */
#define LT_RETRY_AFTER_S 30

/* Sets status and message and clears the other headers and the body,
 * but for a 503, which gets Retry-After: LT_RETRY_AFTER_S.  Returns -1,
 * so that a refusal can be one statement: return lt_response_set(...). */
int lt_response_set(struct lt_response *resp, int status, const char *fmt, ...)
	LT_PRINTF(3, 4);

/* Gives the answer a body of content_type (a string that outlives the
 * response, such as a literal) in place of its text, which stays for
 * the log; status and headers are kept.  Returns 0, or -1 when len is
 * over LT_RESPONSE_BODY_MAX (nothing is changed). */
int lt_response_set_body(struct lt_response *resp, const char *content_type,
			 const void *body, size_t len);

/* Appends a whole response to b: the status line ("HTTP/1.1 204 No
 * Content", or "Status: 204 No Content" for CGI), the headers, the blank
 * line and the body (the text/plain message, or the body set with
 * lt_response_set_body()).  Returns 0 or -1. */
int lt_response_format(struct lt_buf *b, const struct lt_response *resp,
		       int cgi, int keep_alive);

/* Limits of the framing layer. */
struct lt_http_limits {
	size_t max_header_size; /* request line and headers together */
	size_t max_body_size;   /* decoded body; more is 413 */
	size_t max_headers;     /* header fields in a request (and trailer) */
	int read_timeout_ms;    /* per read while a request is in progress */
	int idle_timeout_ms;    /* waiting for the next request on keep-alive */
	int request_timeout_ms; /* a whole request, head and body; <= 0: none */
};

/* --- CGI (RFC 3875) --- */

/* Whether two values of one header are the same once the optional white
 * space around them is left out; fold_case compares them ignoring ASCII
 * case (media types, codings). */
int lt_header_same(const char *a, size_t alen, const char *b, size_t blen,
		   int fold_case);

/* Builds a request from the environment (REQUEST_METHOD, REQUEST_URI or
 * SCRIPT_NAME + PATH_INFO, CONTENT_LENGTH, CONTENT_TYPE, HTTP_TENANT_ID,
 * HTTP_X_SCOPE_ORGID, HTTP_CONTENT_ENCODING), without reading the body.
 * Returns 0; or -1 with resp filled in (500 without REQUEST_METHOD or out
 * of memory, 400 on a malformed CONTENT_LENGTH, 413 when it overflows). */
int lt_cgi_read_head(struct lt_request *r, struct lt_response *resp);
/* Reads the body from fd: CONTENT_LENGTH bytes, or up to EOF when none was
 * given (Apache may pass none).  Returns 0; or -1 with resp filled in (413
 * over the limit, 400 on a short body, 408 on timeout). */
int lt_cgi_read_body(struct lt_request *r, int fd,
		     const struct lt_http_limits *lim, struct lt_response *resp);
/* Reads and discards what is left of the request body on fd, within the
 * read timeout.  A web server such as fcgiwrap writes the whole body
 * before it reads the answer; a refused request whose body is left unread
 * would make it fail with its own 502 instead of passing our status on. */
void lt_cgi_drain(int fd, const struct lt_http_limits *lim);
/* Writes "Status: 204 No Content" and friends to fd.  Returns 0 or -1. */
int lt_cgi_write_response(int fd, const struct lt_response *resp);

/* --- HTTP/1.1 over a connected socket (inetd mode) --- */

struct lt_conn {
	int in_fd;
	int out_fd;
	unsigned char buf[65536]; /* unconsumed input; caps max_header_size */
	size_t start, end;
	long long deadline_ms;    /* CLOCK_MONOTONIC; 0: no request in progress */
};

void lt_conn_init(struct lt_conn *c, int in_fd, int out_fd);

enum lt_read_result {
	LT_READ_OK = 0,      /* a request head was read */
	LT_READ_CLOSED = 1,  /* the peer closed, or idle timeout, between requests */
	LT_READ_ERROR = -1,  /* bad request: resp is filled in; answer and close */
};

/* Reads the request line and headers.  Rejects what a strict server must:
 * malformed lines, headers over the size cap, both Content-Length and
 * Transfer-Encoding (request smuggling), a transfer coding other than
 * chunked, HTTP versions other than 1.0 and 1.1. */
enum lt_read_result lt_http_read_head(struct lt_conn *c, struct lt_request *r,
				      const struct lt_http_limits *lim,
				      struct lt_response *resp);
/* Reads the body (Content-Length or chunked) into r->body, first sending
 * "100 Continue" when the client asked for it.  Returns 0, or -1 with
 * resp filled in (413, 400, 408); the connection must then be closed. */
int lt_http_read_body(struct lt_conn *c, struct lt_request *r,
		      const struct lt_http_limits *lim, struct lt_response *resp);
/* Writes a full HTTP/1.1 response; keep_alive = 0 adds "Connection: close".
 * Returns 0 or -1. */
int lt_http_write_response(struct lt_conn *c, const struct lt_response *resp,
			   int keep_alive);

/* --- Answers made while they are written (logthra-query) --- */

/* A 200 answer whose body is written in pieces, so that its size does
 * not set memory use: over a connection with chunked transfer coding
 * (HTTP/1.1) or up to the connection's close (HTTP/1.0, where the
 * answer then closes the connection), through CGI as the web server
 * frames it.  Pieces are gathered into LT_HTTP_STREAM_BUF bytes before
 * each write. */
#define LT_HTTP_STREAM_BUF 65536
struct lt_http_stream {
	int fd;
	int cgi;
	int chunked;
	int keep_alive;
	int started;            /* the head was written */
	int failed;             /* a write failed: the connection is lost */
	const char *content_type;
	size_t len;
	unsigned char buf[LT_HTTP_STREAM_BUF];
};

/* Prepares an answer on fd; nothing is written until the first
 * lt_http_stream_write() or lt_http_stream_end(). */
void lt_http_stream_init(struct lt_http_stream *s, int fd, int cgi,
			 int http10, int keep_alive, const char *content_type);
/* Returns 0, or -1 when the client could not be written to. */
int lt_http_stream_write(struct lt_http_stream *s, const void *data,
			 size_t len);
/* Writes what is left and ends the body.  Returns 0 or -1. */
int lt_http_stream_end(struct lt_http_stream *s);
/* Whether the connection can carry another request after the answer. */
int lt_http_stream_keep_alive(const struct lt_http_stream *s);

/* Closes the connection gracefully after a response that left request
 * bytes unread: shuts down our side for writing, then reads and discards
 * until the client closes or timeout_ms passes.  Closing at once would
 * make the kernel answer the unread bytes with a reset, and the client
 * could lose our response (RFC 9112, section 9.6). */
void lt_conn_linger(struct lt_conn *c, int timeout_ms);

#endif
