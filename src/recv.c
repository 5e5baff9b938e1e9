/* The receiver: a push request's head checked, its body decoded,
 * parsed into a spool file, and the answer made, for Loki's pushes and
 * OpenTelemetry's (OTLP/HTTP) alike. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "decode.h"
#include "log.h"
#include "ratelimit.h"
#include "auth.h"
#include "dedup.h"
#include "otlp.h"
#include "recv.h"
#include "recv_stats.h"
#include "spool.h"

int
lt_recv_is_otlp_path(const char *path)
{
	return path != NULL && (strcmp(path, "/otlp/v1/logs") == 0 ||
				strcmp(path, "/v1/logs") == 0);
}

static int
known_path(const char *path)
{
	return strcmp(path, "/loki/api/v1/push") == 0 ||
	       strcmp(path, "/api/prom/push") == 0 ||
	       strcmp(path, "/api/push") == 0 || lt_recv_is_otlp_path(path);
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

/* OTLP/HTTP's two encodings (the specification allows no others). */
static int
check_otlp_type(const struct lt_request *r, struct lt_body_format *fmt,
		struct lt_response *resp)
{
	const char *ct = r->content_type;

	if (ct == NULL || *ct == '\0')
		fmt->type = LT_BODY_OTLP_SNIFF;
	else if (media_type_is(ct, "application/x-protobuf"))
		fmt->type = LT_BODY_OTLP_PROTOBUF;
	else if (media_type_is(ct, "application/json"))
		fmt->type = LT_BODY_OTLP_JSON;
	else
		return lt_response_set(resp, 415,
			      "unsupported Content-Type \"%.200s\": send OTLP as application/x-protobuf or application/json",
			      ct);
	return 0;
}

static int
check_type(const struct lt_request *r, struct lt_body_format *fmt,
	   struct lt_response *resp)
{
	const char *ct = r->content_type;

	if (lt_recv_is_otlp_path(r->path))
		return check_otlp_type(r, fmt, resp);
	if (ct == NULL || *ct == '\0')
		fmt->type = LT_BODY_SNIFF;
	else if (media_type_is(ct, "application/json"))
		fmt->type = LT_BODY_JSON;
	else if (media_type_is(ct, "application/x-protobuf"))
		fmt->type = LT_BODY_PROTOBUF;
	else
		return lt_response_set(resp, 415,
			      "unsupported Content-Type \"%.200s\": send application/json or application/x-protobuf",
			      ct);
	return 0;
}

static int
check_coding(const struct lt_request *r, struct lt_body_format *fmt,
	     struct lt_response *resp)
{
	const char *ce = r->content_encoding;
	int otlp = LT_BODY_IS_OTLP(fmt->type);

	/* Snappy is a name only for Loki's protobuf, which is snappy
	 * whatever the header says; OTLP bodies never are. */
	if (ce == NULL || *ce == '\0' || strcasecmp(ce, "identity") == 0 ||
	    (!otlp && strcasecmp(ce, "snappy") == 0))
		fmt->coding = LT_CODING_IDENTITY;
	else if (strcasecmp(ce, "gzip") == 0 || strcasecmp(ce, "x-gzip") == 0)
		fmt->coding = LT_CODING_GZIP;
	else if (strcasecmp(ce, "deflate") == 0)
		fmt->coding = LT_CODING_DEFLATE;
	else
		return lt_response_set(resp, 415,
			      "unsupported Content-Encoding \"%.200s\": send gzip, deflate%s or identity",
			      ce, otlp ? "" : ", snappy");
	return 0;
}

/* The tenant the request names, or the default; NULL when neither. */
static int
named_tenant(const struct lt_options *o, const struct lt_request *r,
	     const char **tenant, struct lt_response *resp)
{
	const char *t = r->tenant_id;

	if (t && r->scope_orgid && strcmp(t, r->scope_orgid) != 0)
		return lt_response_set(resp, 400,
			      "tenant-id \"%.160s\" and X-Scope-OrgID \"%.160s\" name different tenants",
			      t, r->scope_orgid);
	if (t == NULL)
		t = r->scope_orgid;
	if (t == NULL)
		t = o->default_tenant;
	*tenant = t;
	return 0;
}

int
lt_recv_load_auth(struct lt_options *o, struct lt_auth **held)
{
	char err[512];

	lt_auth_free(*held);
	*held = NULL;
	o->auth = NULL;
	if (o->credentials_file == NULL || o->credentials_file[0] == '\0')
		return 0;
	if (lt_auth_load(o->credentials_file, held, err, sizeof(err)) < 0) {
		lt_error("%s", err);
		return -1;
	}
	o->auth = *held;
	return 0;
}

static int
check_tenant(const char *t, struct lt_response *resp)
{
	const char *why;

	if (t == NULL)
		return lt_response_set(resp, 401,
			      "no tenant: send an X-Scope-OrgID header (or tenant-id); this receiver has no default_tenant");
	if (lt_tenant_valid(t, &why) < 0)
		return lt_response_set(resp, 400, "invalid tenant id \"%.160s\": %s", t, why);
	return 0;
}

/* With credentials_file set, who may push, and for which tenants: 401
 * without valid credentials, 403 for a tenant they are not granted.
 * Checked before anything about the tenant is said, so that nobody
 * learns more than "no" without credentials. */
static int
authenticate(const struct lt_options *o, const struct lt_request *r,
	     const char *tenant, int access, struct lt_response *resp)
{
	const char *verb = access == LT_AUTH_READ ? "query" : "push to";
	enum lt_auth_result res;
	const char *who = NULL;
	int remote;

	if (o->credentials_file == NULL || o->credentials_file[0] == '\0')
		return 0;
	if (o->auth == NULL)
		return lt_response_set(resp, 500, "credentials_file could not be loaded; see the receiver's log");
	/* Only a web server can vouch for a user; in inetd mode the
	 * client's own credentials are checked whatever the setting. */
	remote = o->trust_remote_user && r->cgi;
	if (remote)
		res = lt_auth_check_user_access(o->auth, r->remote_user, tenant,
						access, &who);
	else
		res = lt_auth_check_access(o->auth, r->authorization, tenant,
					   access, &who);
	switch (res) {
	case LT_AUTH_OK:
		return 0;
	case LT_AUTH_MISSING:
		(void)lt_response_set(resp, 401, remote
			? "no authenticated user: the web server passed no REMOTE_USER"
			: "credentials required: send Authorization: Bearer TOKEN (or Basic)");
		break;
	case LT_AUTH_BAD:
		(void)lt_response_set(resp, 401, "invalid credentials");
		break;
	case LT_AUTH_FORBIDDEN:
		if (tenant == NULL)
			return check_tenant(NULL, resp);
		/* Only REMOTE_USER mode vouches for a user without an entry;
		 * name it, or the answer and the log would say "". */
		if (who == NULL)
			return lt_response_set(resp, 403,
				      "\"%.64s\" has no entry in the credentials file and may not %s tenant \"%.160s\"",
				      r->remote_user ? r->remote_user : "",
				      verb, tenant);
		return lt_response_set(resp, 403,
			      "\"%.64s\" may not %s tenant \"%.160s\"",
			      who ? who : "", verb, tenant);
	}
	if (!remote)
		resp->www_authenticate = "Bearer realm=\"logthra\", "
					 "Basic realm=\"logthra\"";
	return -1;
}

int
lt_request_tenant(const struct lt_options *o, const struct lt_request *r,
		  int access, const char **tenant, struct lt_response *resp)
{
	if (named_tenant(o, r, tenant, resp) < 0 ||
	    authenticate(o, r, *tenant, access, resp) < 0 ||
	    check_tenant(*tenant, resp) < 0)
		return -1;
	return 0;
}

int
lt_recv_check_head(const struct lt_options *o, const struct lt_request *r,
		   const char **tenant, struct lt_body_format *fmt,
		   struct lt_response *resp)
{
	*tenant = NULL;
	if (!known_path(r->path))
		return lt_response_set(resp, 404,
			      "no such endpoint \"%.200s\": push to /loki/api/v1/push, /api/prom/push or /api/push, or OpenTelemetry logs to /otlp/v1/logs",
			      r->path);
	if (strcmp(r->method, "POST") != 0) {
		(void)lt_response_set(resp, 405, "method %.20s not allowed: use POST",
				      r->method);
		resp->allow = "POST";
		return -1;
	}
	if (lt_request_tenant(o, r, LT_AUTH_WRITE, tenant, resp) < 0) {
		*tenant = NULL; /* named, perhaps, but not allowed */
		return -1;
	}
	if (check_type(r, fmt, resp) < 0 || check_coding(r, fmt, resp) < 0)
		return -1;
	if (r->content_length >= 0 &&
	    (unsigned long long)r->content_length > o->http.max_body_size)
		return lt_response_set(resp, 413,
			      "request body of %lld bytes is over the limit of %zu bytes",
			      r->content_length, o->http.max_body_size);
	return 0;
}

/* The HTTP status for a decoder's failure. */
static int
decode_status(enum lt_decode_result rc)
{
	switch (rc) {
	case LT_DECODE_TOO_BIG:
		return 413;
	case LT_DECODE_NOMEM:
		return 503;
	default:
		return 400;
	}
}

/* Undoes the Content-Encoding into tmp; *body and *len then point at the
 * decoded bytes.  Returns 0, or -1 with resp filled in. */
static int
undo_coding(const struct lt_options *o, enum lt_body_coding coding,
	    const char **body, size_t *len, struct lt_buf *tmp,
	    struct lt_response *resp)
{
	struct lt_decode_limits lim = {o->max_decompressed_size,
				       o->max_compression_ratio};
	enum lt_decode_result rc;
	char err[256];

	if (coding == LT_CODING_SNIFF)
		coding = *len >= 2 && (unsigned char)(*body)[0] == 0x1f &&
				 (unsigned char)(*body)[1] == 0x8b
			 ? LT_CODING_GZIP : LT_CODING_IDENTITY;
	if (coding == LT_CODING_IDENTITY)
		return 0;
	rc = lt_inflate(*body, *len, coding == LT_CODING_GZIP ? LT_INFLATE_GZIP
							       : LT_INFLATE_DEFLATE,
			&lim, tmp, err, sizeof(err));
	if (rc != LT_DECODE_OK)
		return lt_response_set(resp, decode_status(rc),
			      "could not decode the %s body: %s",
			      coding == LT_CODING_GZIP ? "gzip" : "deflate", err);
	*body = (const char *)tmp->data;
	*len = tmp->len;
	return 0;
}

/* A body without Content-Type is JSON when it is an object, the way a
 * JSON push must start; otherwise protobuf, as Loki assumes.  The type
 * of a decoded body, sniffed when it was not said. */
static enum lt_body_type
sniff_type(enum lt_body_type type, const char *body, size_t len)
{
	size_t i = 0;
	int json;

	if (type != LT_BODY_SNIFF && type != LT_BODY_OTLP_SNIFF)
		return type;
	while (i < len && (body[i] == ' ' || body[i] == '\t' ||
			   body[i] == '\n' || body[i] == '\r'))
		i++;
	json = i < len && body[i] == '{';
	if (type == LT_BODY_OTLP_SNIFF)
		return json ? LT_BODY_OTLP_JSON : LT_BODY_OTLP_PROTOBUF;
	return json ? LT_BODY_JSON : LT_BODY_PROTOBUF;
}

/* Parses an OTLP body, its JSON encoding first rewritten as protobuf so
 * that one reader maps both.  The rewrite is no larger than the JSON,
 * which max_decompressed_size bounds.  Returns as parse_body(). */
static int
parse_otlp(const struct lt_limits *lim, enum lt_body_type type,
	   const char *body, size_t len, int64_t now_ns,
	   const struct lt_sink *sink, struct lt_push_result *res,
	   struct lt_response *resp)
{
	struct lt_buf proto = LT_BUF_INIT;
	char err[512];
	int rc;

	if (type == LT_BODY_OTLP_JSON) {
		rc = lt_otlp_json_to_proto(body, len, &proto, err, sizeof(err));
		if (rc < 0) {
			lt_buf_free(&proto);
			if (rc == -2)
				return lt_response_set(resp, 503, "out of memory; try again later");
			return lt_response_set(resp, 400,
				      "not an OTLP ExportLogsServiceRequest in JSON: %s",
				      err);
		}
		body = (const char *)proto.data;
		len = proto.len;
	}
	rc = lt_push_parse_otlp(body, len, lim, now_ns, sink, res);
	lt_buf_free(&proto);
	if (rc < 0)
		return lt_response_set(resp, res->status, "%s", res->message);
	return 0;
}

/* Parses the decoded body (its type sniffed already) into the encoder's
 * sink.  Returns 0 when it is a push (res says what was kept), -1 with
 * resp filled in otherwise. */
static int
parse_body(const struct lt_options *o, const struct lt_limits *lim,
	   enum lt_body_type type, const char *body, size_t len,
	   int64_t now_ns, const struct lt_sink *sink,
	   struct lt_push_result *res, struct lt_response *resp)
{
	struct lt_decode_limits dl = {o->max_decompressed_size,
				      o->max_compression_ratio};
	struct lt_buf raw = LT_BUF_INIT;
	enum lt_decode_result drc;
	char err[256];
	int rc;

	if (LT_BODY_IS_OTLP(type))
		return parse_otlp(lim, type, body, len, now_ns, sink, res,
				  resp);
	if (type == LT_BODY_JSON) {
		rc = lt_push_parse_json(body, len, lim, now_ns, sink, res);
	} else {
		drc = lt_snappy_decode(body, len, &dl, &raw, err, sizeof(err));
		if (drc != LT_DECODE_OK) {
			lt_buf_free(&raw);
			return lt_response_set(resp, decode_status(drc),
				      "could not decode the protobuf body (Loki sends it snappy-compressed): %s",
				      err);
		}
		rc = lt_push_parse_proto(raw.data, raw.len, lim, now_ns, sink, res);
		lt_buf_free(&raw);
	}
	if (rc < 0)
		return lt_response_set(resp, res->status, "%s", res->message);
	return 0;
}

/* 400 for a push whose rejected entries were left out: what was kept,
 * then one line per reason, speaking of OTLP's log records where those
 * were sent.  Clients do not retry it. */
static void
partial_response(const struct lt_push_result *res, int otlp,
		 struct lt_response *resp)
{
	const char *what = otlp ? "log records" : "entries";

	(void)lt_response_set(resp, 400,
		      "%zu of %zu %s rejected, %zu stored:\n%s%s%s%s",
		      res->rejected, res->rejected + res->accepted, what,
		      res->accepted, res->message,
		      res->reasons_cut ? "\n(reasons for further rejected " : "",
		      res->reasons_cut ? what : "",
		      res->reasons_cut ? " are not listed)" : "");
}

#define OTLP_JSON "application/json"
#define OTLP_PROTOBUF "application/x-protobuf"

/* Gives an OTLP refusal its google.rpc.Status body, the message in it,
 * unless it has a body already. */
static void
otlp_status(int json, struct lt_response *resp)
{
	struct lt_buf b = LT_BUF_INIT;

	if (resp->content_type != NULL || resp->status < 400)
		return;
	if (lt_otlp_status(&b, json, resp->status, resp->message) < 0 ||
	    lt_response_set_body(resp, json ? OTLP_JSON : OTLP_PROTOBUF,
				 b.data, b.len) < 0) {
		/* Out of memory, or a message that escapes past the room:
		 * the status still says what to do, and the log why. */
		b.len = 0;
		if (lt_otlp_status(&b, json, resp->status,
				   lt_http_reason(resp->status)) == 0)
			(void)lt_response_set_body(resp, json ? OTLP_JSON
							      : OTLP_PROTOBUF,
						   b.data, b.len);
	}
	lt_buf_free(&b);
}

void
lt_recv_answer_otlp(const struct lt_request *r, struct lt_response *resp)
{
	const char *ct = r->content_type;

	if (!lt_recv_is_otlp_path(r->path))
		return;
	/* Protobuf is OTLP's default encoding: the answer to a request
	 * that said nothing, or a type OTLP does not know. */
	otlp_status(ct != NULL && media_type_is(ct, "application/json"), resp);
}

/* OTLP/HTTP's answer to a request that was a push: 200 with an
 * ExportLogsServiceResponse, whose partial_success counts the records
 * rejected and lists why when others were stored.  A request none of
 * whose records was kept stays the 400 partial_response() made, so that
 * the exporter reports it as an error. */
static void
otlp_accepted(const struct lt_push_result *res, int json,
	      struct lt_response *resp)
{
	char why[sizeof(res->message) + 128];
	struct lt_buf b = LT_BUF_INIT;

	if (res->rejected > 0 && res->accepted == 0)
		return;
	why[0] = '\0';
	if (res->rejected > 0)
		(void)snprintf(why, sizeof(why), "%s%s", res->message,
			       res->reasons_cut ? "\n(reasons for further rejected log records are not listed)" : "");
	/* The text stays for the log: partial_response()'s, or none. */
	resp->status = 200;
	if (lt_otlp_response(&b, json, res->rejected, why) < 0 ||
	    lt_response_set_body(resp, json ? OTLP_JSON : OTLP_PROTOBUF,
				 b.data, b.len) < 0)
		(void)lt_response_set(resp, 503, "out of memory making the answer; try again later");
	lt_buf_free(&b);
}

/* Takes the push's bytes from the tenant's bucket.  Returns 0, or -1
 * with resp filled in (429, or 503 when the state cannot be kept). */
static int
rate_limit(const struct lt_options *o, const char *tenant,
	   const struct lt_limits *lim, size_t bytes, int64_t now_ns,
	   struct lt_response *resp)
{
	char err[512];
	int64_t retry_s = 0;
	int allowed = 1, rc;

	rc = lt_rate_take(o->spool, tenant, lim->ingestion_rate,
			  lim->ingestion_burst, bytes, now_ns, &allowed,
			  &retry_s, err, sizeof(err));
	if (rc != 0) {
		lt_error("%s", err);
		(void)lt_response_set(resp, 503, "the spool could not keep the rate-limit state (%s); try again later",
				      strerror(rc));
		return -1;
	}
	if (allowed)
		return 0;
	if (retry_s == 0)
		return lt_response_set(resp, 429,
			      "ingestion rate limit exceeded for tenant \"%s\": a push of %zu bytes is more than its burst size of %zu bytes; send smaller pushes or raise ingestion_burst_size",
			      tenant, bytes, lim->ingestion_burst);
	(void)lt_response_set(resp, 429,
		      "ingestion rate limit exceeded for tenant \"%s\" (limit: %zu bytes/sec, burst %zu bytes) while pushing %zu bytes; retry after %lld s",
		      tenant, lim->ingestion_rate, lim->ingestion_burst, bytes,
		      (long long)retry_s);
	resp->retry_after = retry_s > 0x7fffffff ? 0x7fffffff : (int)retry_s;
	return -1;
}

/* 503 for a spool that cannot take the push; the operator gets the
 * cause in full, the client only that it should try again. */
static int
spool_failed(int rc, const char *err, struct lt_response *resp)
{
	lt_error("%s", err);
	(void)lt_response_set(resp, 503, "the spool could not store the push (%s); try again later",
			      strerror(rc));
	return -1;
}

/* Checks the free-space reserve, counting the push itself.  Returns 0,
 * or -1 with resp filled in (503). */
static int
check_space(const struct lt_options *o, size_t len, struct lt_response *resp)
{
	char err[512];
	int rc;

	rc = lt_spool_space_ok(o->spool, o->min_free_space + len,
			       o->min_free_inodes, err, sizeof(err));
	return rc == 0 ? 0 : spool_failed(rc, err, resp);
}

/* Writes the encoded push to the spool.  Returns 0, or -1 with resp
 * filled in (503). */
static int
write_spool(const struct lt_options *o, const char *tenant,
	    const struct lt_spool_encoder *enc, struct lt_response *resp)
{
	char err[512];
	int rc;

	rc = lt_spool_write(o->spool, tenant, enc->out.data, enc->out.len,
			    NULL, err, sizeof(err));
	return rc == 0 ? 0 : spool_failed(rc, err, resp);
}

/* Whether the push repeats one the tenant stored within its
 * dedup_window: a client's retry of a push whose answer it missed. */
static int
is_retry(const struct lt_options *o, const char *tenant,
	 const struct lt_limits *lim, const char *digest, int64_t now_ns)
{
	if (!lt_dedup_seen(o->spool, tenant, digest, now_ns / 1000000000,
			   lim->dedup_window_s))
		return 0;
	lt_info("push of tenant \"%s\" is identical to one stored within dedup_window; acknowledged, not stored again",
		tenant);
	return 1;
}

/* Records a stored push against retries.  The push is stored whatever
 * happens here: a record that is missing only lets a retry be stored a
 * second time. */
static void
record_push(const struct lt_options *o, const char *tenant,
	    const struct lt_limits *lim, const char *digest, int64_t now_ns)
{
	char err[512];

	if (lt_dedup_record(o->spool, tenant, digest, now_ns / 1000000000,
			    lim->dedup_window_s, err, sizeof(err)) != 0)
		lt_warning("%s", err);
}

/* Adds a request to the tenant's counters.  A push never fails for
 * them: a warning, and the answer stands. */
static void
count(const struct lt_options *o, const char *tenant,
      const struct lt_rstats_delta *d)
{
	char err[512];

	if (lt_rstats_add(o->spool, tenant, d, err, sizeof(err)) != 0)
		lt_warning("%s; the request is not counted", err);
}

void
lt_recv_count_refusal(const struct lt_options *o, const char *tenant,
		      int status)
{
	struct lt_rstats_delta d = {0};

	d.status = status;
	count(o, tenant, &d);
}

/* Counts a push that reached lt_recv_store(): its entries when they were
 * kept (stored, or found stored already), its rejected entries by reason
 * when the body was a push (a body refused whole is counted only in the
 * answer), the entries of a push over the rate limit as rate_limited. */
static void
count_push(const struct lt_options *o, const char *tenant,
	   const struct lt_push_result *res, int parsed, int kept,
	   int status)
{
	struct lt_rstats_delta d = {0};
	size_t i;

	d.status = status;
	if (kept) {
		d.pushes = 1;
		d.entries = res->accepted;
		d.bytes = res->accepted_bytes;
	}
	for (i = 0; parsed && i < LT_REJECT_REASONS; i++)
		d.rejected[i] = res->rejected_by[i];
	if (parsed && status == 429)
		d.rejected[LT_REJECT_RATE_LIMITED] += res->accepted;
	count(o, tenant, &d);
}

void
lt_recv_store(const struct lt_options *o, const char *tenant,
	      const struct lt_body_format *fmt, const char *body, size_t len,
	      int64_t now_ns, struct lt_response *resp)
{
	struct lt_spool_encoder enc;
	struct lt_push_result res;
	struct lt_limits lim;
	struct lt_buf decoded = LT_BUF_INIT;
	struct lt_sink sink;
	enum lt_body_type type = fmt->type;
	char digest[LT_DEDUP_HEX_LEN + 1];
	int parsed = 0, kept = 0;

	resp->message[0] = '\0';
	memset(&res, 0, sizeof(res));
	if (lt_spool_encoder_init(&enc, tenant, now_ns, lt_push_id_new()) < 0) {
		(void)lt_response_set(resp, 503, "out of memory; try again later");
		goto answer_otlp;
	}
	lt_spool_encoder_sink(&enc, &sink);
	lt_options_limits_for(o, tenant, &lim);
	if (undo_coding(o, fmt->coding, &body, &len, &decoded, resp) < 0)
		goto out;
	type = sniff_type(type, body, len);
	if (parse_body(o, &lim, type, body, len, now_ns, &sink, &res, resp) < 0)
		goto out;
	parsed = 1;
	/* Nothing to keep: no file, and nothing to take from the bucket. */
	if (res.accepted == 0)
		goto answer;
	if (lt_spool_encoder_finish(&enc) < 0) {
		(void)lt_response_set(resp, 503, "out of memory; try again later");
		goto out;
	}
	/* The digest (SHA-256 of the whole push) serves only the window;
	 * with the window off the dedup calls do nothing and read none. */
	digest[0] = '\0';
	if (lim.dedup_window_s > 0)
		lt_dedup_digest(&enc, digest);
	if (is_retry(o, tenant, &lim, digest, now_ns)) {
		kept = 1;
		goto answer;
	}
	/* The bucket is charged only for a push the spool can take. */
	if (check_space(o, enc.out.len, resp) < 0 ||
	    rate_limit(o, tenant, &lim, res.accepted_bytes, now_ns, resp) < 0 ||
	    write_spool(o, tenant, &enc, resp) < 0)
		goto out;
	/* Only now: a record must never stand for a push that is not on
	 * disk, or its retry would be dropped and the push lost. */
	record_push(o, tenant, &lim, digest, now_ns);
	kept = 1;
answer:
	if (res.rejected > 0)
		partial_response(&res, LT_BODY_IS_OTLP(type), resp);
	else
		(void)lt_response_set(resp, 204, "%s", "");
	if (LT_BODY_IS_OTLP(type))
		otlp_accepted(&res, type == LT_BODY_OTLP_JSON, resp);
out:
	lt_buf_free(&decoded);
	lt_spool_encoder_free(&enc);
answer_otlp:
	/* A body that could not be read is answered in protobuf unless
	 * the request said JSON. */
	if (LT_BODY_IS_OTLP(type))
		otlp_status(type == LT_BODY_OTLP_JSON, resp);
	count_push(o, tenant, &res, parsed, kept, resp->status);
}

void
lt_recv_handle(const struct lt_options *o, const struct lt_request *r,
	       int64_t now_ns, struct lt_response *resp)
{
	struct lt_body_format fmt;
	const char *tenant;

	if (lt_recv_check_head(o, r, &tenant, &fmt, resp) < 0) {
		lt_recv_count_refusal(o, tenant, resp->status);
		goto out;
	}
	if (r->body.len > o->http.max_body_size) {
		(void)lt_response_set(resp, 413,
			     "request body of %zu bytes is over the limit of %zu bytes",
			     r->body.len, o->http.max_body_size);
		lt_recv_count_refusal(o, tenant, resp->status);
		goto out;
	}
	lt_recv_store(o, tenant, &fmt, (const char *)r->body.data, r->body.len,
		      now_ns, resp);
out:
	lt_recv_answer_otlp(r, resp);
}
