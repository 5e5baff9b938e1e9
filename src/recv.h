/* The receiver: what logthra-recv does with one request, in whatever
 * way it arrived (CGI, inetd, file mode). */
#ifndef LOGTHRA_RECV_H
#define LOGTHRA_RECV_H

#include <stdint.h>

#include "http.h"
#include "options.h"

/* How a push body is written: its Content-Type and Content-Encoding. */
enum lt_body_type {
	LT_BODY_SNIFF,    /* no Content-Type: JSON when it looks like JSON,
			   * else protobuf, which is what Loki assumes */
	LT_BODY_JSON,     /* application/json */
	LT_BODY_PROTOBUF, /* application/x-protobuf: snappy-compressed */
	/* OpenTelemetry logs (otlp.h), at /otlp/v1/logs or /v1/logs: */
	LT_BODY_OTLP_SNIFF,    /* no Content-Type: JSON when it looks like
				* JSON, else protobuf */
	LT_BODY_OTLP_JSON,     /* application/json: OTLP's JSON encoding */
	LT_BODY_OTLP_PROTOBUF, /* application/x-protobuf, not snappy */
};

/* Whether a body type is OTLP's: its answers are OTLP's too. */
#define LT_BODY_IS_OTLP(t) ((t) >= LT_BODY_OTLP_SNIFF)

enum lt_body_coding {
	LT_CODING_IDENTITY, /* none, identity, or snappy for Loki (a no-op
			     * name: its protobuf bodies are always snappy) */
	LT_CODING_GZIP,
	LT_CODING_DEFLATE,  /* zlib or raw deflate */
	LT_CODING_SNIFF,    /* file mode: gzip when it starts with gzip's magic */
};

struct lt_body_format {
	enum lt_body_type type;
	enum lt_body_coding coding;
};

/* Checks what can be checked before the body is read: path (404), method
 * (405), tenant (401 when none is named and there is no default, 400 when
 * invalid), Content-Type and Content-Encoding (415; OTLP takes no snappy),
 * Content-Length (413).  Returns 0 when the body should be read, or -1 with resp filled
 * in.  On success *tenant points at the tenant and *fmt says how to read
 * the body; on failure *tenant is the tenant when the request's tenant
 * was found valid and allowed before the refusal, else NULL (for the
 * counters). */
int lt_recv_check_head(const struct lt_options *o, const struct lt_request *r,
		       const char **tenant, struct lt_body_format *fmt,
		       struct lt_response *resp);

/* The tenant of a request, as a push and a query both decide it: the
 * tenant-id or X-Scope-OrgID header (400 when they differ), else
 * default_tenant (401 when there is none); with credentials_file, the
 * request's credentials must grant access (LT_AUTH_READ or
 * LT_AUTH_WRITE) to it (401, 403); then the id must be valid (400).
 * Returns 0 with *tenant set, or -1 with resp filled in. */
int lt_request_tenant(const struct lt_options *o, const struct lt_request *r,
		      int access, const char **tenant,
		      struct lt_response *resp);

/* Counts a request refused before lt_recv_store() (its head, its body
 * could not be read) in the receiver's counters (recv_stats.h): under
 * tenant, or NULL when its tenant is not known (or not allowed).  A
 * failure to count is a warning. */
void lt_recv_count_refusal(const struct lt_options *o, const char *tenant,
			   int status);

/* Decodes, parses and validates the body and writes what is valid as one
 * spool file for the tenant, and counts the request in the tenant's
 * receiver counters (recv_stats.h), once, at the end.  Fills resp: 204 when the push is durable;
 * 400 when the body is not a push (nothing stored) or when entries were
 * rejected (the others are stored, the message lists what was rejected);
 * 413 when it decodes to too much; 429 over the tenant's ingestion rate
 * and 503 when the spool could not take it (both: nothing stored, try
 * again).  Never leaves a partial file.
 *
 * An OTLP body gets OTLP/HTTP's answers, in the request's encoding: 200
 * with an ExportLogsServiceResponse where Loki's push gets 204, and
 * where some log records were rejected and others stored (its
 * partial_success counts the rejected and lists why; the message says
 * the same for the log); an error's body is a google.rpc.Status with
 * the message.  A request none of whose records was kept is a 400. */
void lt_recv_store(const struct lt_options *o, const char *tenant,
		   const struct lt_body_format *fmt, const char *body,
		   size_t len, int64_t now_ns, struct lt_response *resp);

/* Whether a path is one of OTLP's (/otlp/v1/logs, /v1/logs). */
int lt_recv_is_otlp_path(const char *path);

/* Gives an answer to a request at an OTLP path the body OTLP/HTTP asks
 * for, when it has none yet (a refusal before the body was parsed): a
 * google.rpc.Status in JSON when the request's Content-Type is
 * application/json, else in protobuf, OTLP's default.  Other answers are
 * left as they are.  Called by whoever writes the answer. */
void lt_recv_answer_otlp(const struct lt_request *r, struct lt_response *resp);

/* Both steps, for a request whose body has been read, and the answer's
 * form (lt_recv_answer_otlp()). */
void lt_recv_handle(const struct lt_options *o, const struct lt_request *r,
		    int64_t now_ns, struct lt_response *resp);

struct lt_auth;

/* Reads credentials_file afresh for the network modes: frees *held,
 * loads the file into *held and points o->auth at it.  Called for every
 * request, in inetd mode too, where one connection may carry requests
 * for hours: a revoked token or a file made unusable must not stay
 * valid on a connection opened before.  Without a credentials_file it
 * does nothing and returns 0.  When the file cannot be loaded it logs
 * why and leaves both NULL, so that every push gets 500 (failing
 * closed), and returns -1. */
int lt_recv_load_auth(struct lt_options *o, struct lt_auth **held);

#endif
