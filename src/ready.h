/* GET /ready on logthra-recv: whether the spool can take a push now, for
 * load balancers and Kubernetes probes, as Loki's /ready says whether
 * Loki can. */
#ifndef LOGTHRA_READY_H
#define LOGTHRA_READY_H

#include <stddef.h>

#include "http.h"
#include "options.h"

/* Whether the spool can take a push: the spool directory is a directory
 * (or, while it is missing, its parent is one a push can create it in),
 * a file can be created in it and in those of tenants/, rate/ and seen/
 * that exist (an unnamed file, gone when closed; nothing is fsynced),
 * and the file system's free space and inodes are above the reserve.
 * Returns 0, or an errno value with the reason, naming the directory,
 * in err. */
int lt_spool_ready(const char *spool, size_t min_free_space,
		   size_t min_free_inodes, char *err, size_t errlen);

/* Whether a path is /ready. */
int lt_recv_is_ready_path(const char *path);

/* The answer to a request for /ready: GET and HEAD get 200 "ready" (as
 * Loki answers) when lt_spool_ready() says so, else 503 with its reason;
 * other methods 405 with Allow.  No tenant and no credentials are asked
 * for, as Loki asks none. */
void lt_recv_ready(const struct lt_options *o, const struct lt_request *r,
		   struct lt_response *resp);

#endif
