#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "recv.h"
#include "spool.h"

/* Seconds a client should wait after a 503 before sending again. */
#define RETRY_AFTER_S 30

int64_t
lt_now_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
known_path(const char *path)
{
	return strcmp(path, "/api/push") == 0 ||
	       strcmp(path, "/loki/api/v1/push") == 0;
}

/* Compares the media type of a Content-Type value, ignoring parameters
 * (charset=utf-8) and case, as RFC 9110 says. */
static int
media_type_is(const char *content_type, const char *type)
{
	size_t n = strlen(type);

	if (strncasecmp(content_type, type, n) != 0)
		return 0;
	content_type += n;
	while (*content_type == ' ' || *content_type == '\t')
		content_type++;
	return *content_type == '\0' || *content_type == ';';
}

static int
check_content(const struct lt_request *r, struct lt_response *resp)
{
	const char *ct = r->content_type;
	const char *ce = r->content_encoding;

	if (ce && *ce && strcasecmp(ce, "identity") != 0)
		return lt_response_set(resp, 415,
			      "unsupported Content-Encoding \"%s\": send the body uncompressed",
			      ce);
	if (ct == NULL || *ct == '\0' || media_type_is(ct, "application/json"))
		return 0;
	if (media_type_is(ct, "application/x-protobuf"))
		return lt_response_set(resp, 415,
			      "unsupported Content-Type \"%s\": this version accepts JSON pushes only (application/json)",
			      ct);
	return lt_response_set(resp, 415,
		      "unsupported Content-Type \"%s\": send application/json", ct);
}

static int
pick_tenant(const struct lt_options *o, const struct lt_request *r,
	    const char **tenant, struct lt_response *resp)
{
	const char *t = r->tenant_id, *why;

	if (t && r->scope_orgid && strcmp(t, r->scope_orgid) != 0)
		return lt_response_set(resp, 400,
			      "tenant-id \"%.160s\" and X-Scope-OrgID \"%.160s\" name different tenants",
			      t, r->scope_orgid);
	if (t == NULL)
		t = r->scope_orgid;
	if (t == NULL)
		t = o->default_tenant;
	if (t == NULL)
		return lt_response_set(resp, 400,
			      "missing tenant: send a tenant-id or X-Scope-OrgID header");
	if (lt_tenant_valid(t, &why) < 0)
		return lt_response_set(resp, 400, "invalid tenant id \"%.160s\": %s", t, why);
	*tenant = t;
	return 0;
}

int
lt_recv_check_head(const struct lt_options *o, const struct lt_request *r,
		   const char **tenant, struct lt_response *resp)
{
	if (!known_path(r->path))
		return lt_response_set(resp, 404,
			      "no such endpoint \"%.200s\": push to /api/push or /loki/api/v1/push",
			      r->path);
	if (strcmp(r->method, "POST") != 0) {
		(void)lt_response_set(resp, 405, "method %.20s not allowed: use POST",
				      r->method);
		resp->allow = "POST";
		return -1;
	}
	if (pick_tenant(o, r, tenant, resp) < 0 || check_content(r, resp) < 0)
		return -1;
	if (r->content_length >= 0 &&
	    (unsigned long long)r->content_length > o->http.max_body_size)
		return lt_response_set(resp, 413,
			      "request body of %lld bytes is over the limit of %zu bytes",
			      r->content_length, o->http.max_body_size);
	return 0;
}

void
lt_recv_store(const struct lt_options *o, const char *tenant, const char *body,
	      size_t len, int64_t now_ns, struct lt_response *resp)
{
	struct lt_spool_encoder enc;
	struct lt_push_error perr;
	struct lt_sink sink;
	char err[512];
	size_t n = 0;
	int rc;

	resp->message[0] = '\0';
	if (lt_spool_encoder_init(&enc, tenant, now_ns, lt_push_id_new()) < 0) {
		(void)lt_response_set(resp, 500, "out of memory");
		return;
	}
	lt_spool_encoder_sink(&enc, &sink);
	if (lt_push_parse_json(body, len, &o->limits, now_ns, &sink, &n, &perr) < 0) {
		(void)lt_response_set(resp, perr.status, "%s", perr.message);
		goto out;
	}
	(void)lt_response_set(resp, 204, "%s", "");
	if (n == 0) /* nothing to keep: no file */
		goto out;
	if (lt_spool_encoder_finish(&enc) < 0) {
		(void)lt_response_set(resp, 500, "out of memory");
		goto out;
	}
	rc = lt_spool_space_ok(o->spool, o->min_free_space + enc.out.len,
			       o->min_free_inodes, err, sizeof(err));
	if (rc == 0)
		rc = lt_spool_write(o->spool, tenant, enc.out.data, enc.out.len,
				    NULL, err, sizeof(err));
	if (rc != 0) {
		/* Logged for the operator in full; the client learns only
		 * that it should try again. */
		lt_error("%s", err);
		(void)lt_response_set(resp, 503, "the spool could not store the push (%s); try again later",
				      strerror(rc));
		resp->retry_after = RETRY_AFTER_S;
	}
out:
	lt_spool_encoder_free(&enc);
}

void
lt_recv_handle(const struct lt_options *o, const struct lt_request *r,
	       int64_t now_ns, struct lt_response *resp)
{
	const char *tenant;

	if (lt_recv_check_head(o, r, &tenant, resp) < 0)
		return;
	if (r->body.len > o->http.max_body_size) {
		(void)lt_response_set(resp, 413,
			     "request body of %zu bytes is over the limit of %zu bytes",
			     r->body.len, o->http.max_body_size);
		return;
	}
	lt_recv_store(o, tenant, (const char *)r->body.data, r->body.len, now_ns,
		      resp);
}
