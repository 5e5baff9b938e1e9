/* The receiver: what logthra-recv does with one request, in whatever
 * way it arrived (CGI, inetd, file mode). */
#ifndef LOGTHRA_RECV_H
#define LOGTHRA_RECV_H

#include <stdint.h>

#include "http.h"
#include "options.h"

/* Checks what can be checked before the body is read: path (404), method
 * (405), tenant (400), Content-Type (415), Content-Length (413).  Returns
 * 0 when the body should be read, or -1 with resp filled in.  On success
 * *tenant points at the tenant to use. */
int lt_recv_check_head(const struct lt_options *o, const struct lt_request *r,
		       const char **tenant, struct lt_response *resp);

/* Parses and validates the body and writes it as one spool file for the
 * tenant.  Fills resp: 204 when the push is durable, 400 on invalid
 * content, 503 when the spool could not take it.  Never leaves a partial
 * file. */
void lt_recv_store(const struct lt_options *o, const char *tenant,
		   const char *body, size_t len, int64_t now_ns,
		   struct lt_response *resp);

/* Both steps, for a request whose body has been read. */
void lt_recv_handle(const struct lt_options *o, const struct lt_request *r,
		    int64_t now_ns, struct lt_response *resp);

/* The current time in unix nanoseconds. */
int64_t lt_now_ns(void);

#endif
