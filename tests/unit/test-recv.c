/* Unit tests: what the receiver answers, and what it leaves in the spool. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <zlib.h>

#include "auth.h"
#include "buf.h"
#include "clock.h"
#include "recv.h"
#include "spool.h"
#include "testutil.h"

#define SEED "{\"streams\":[{\"stream\":{\"level\":\"info\",\"app\":\"test-app\"}," \
	     "\"values\":[[\"2024-01-01\",\"starting up\"],[\"2024-01-01\",\"ready\"]]}]}"

static struct lt_options opts;
static char root[64];

static void
setup(void)
{
	tu_tmpdir(root, sizeof(root), "logthra-test-recv");
	lt_options_defaults(&opts);
	free(opts.spool);
	opts.spool = strdup(root);
	/* The tests send the same bodies again and count files; retries
	 * have their own test, which turns this back on. */
	opts.limits.dedup_window_s = 0;
}

static void
teardown(void)
{
	ck_assert_int_eq(tu_rm_rf(root), 0);
	lt_options_free(&opts);
}

static size_t
files_in(const char *tenant, const char *sub)
{
	struct lt_buf dir = LT_BUF_INIT;
	struct lt_names names = {0};
	size_t n;

	(void)lt_spool_dir(&dir, root, tenant, sub);
	(void)lt_names_list((char *)dir.data, NULL, &names);
	n = names.n;
	lt_names_free(&names);
	lt_buf_free(&dir);
	return n;
}

static void
request(struct lt_request *r, const char *method, const char *path,
	const char *tenant, const char *body)
{
	lt_request_init(r);
	r->method = strdup(method);
	r->path = strdup(path);
	r->tenant_id = tenant ? strdup(tenant) : NULL;
	r->content_type = strdup("application/json; charset=utf-8");
	r->content_length = (long long)strlen(body);
	ck_assert_int_eq(lt_buf_append(&r->body, body, strlen(body)), 0);
}

static int
handle(const char *method, const char *path, const char *tenant,
       const char *body, struct lt_response *resp)
{
	struct lt_request r;

	request(&r, method, path, tenant, body);
	memset(resp, 0, sizeof(*resp));
	lt_recv_handle(&opts, &r, lt_now_ns(), resp);
	lt_request_free(&r);
	return resp->status;
}

START_TEST(test_seed_push_stored)
{
	struct lt_response resp;

	ck_assert_int_eq(handle("POST", "/api/push", "acme", SEED, &resp), 204);
	ck_assert_str_eq(resp.message, "");
	ck_assert_uint_eq(files_in("acme", "ready"), 1);
	ck_assert_int_eq(handle("POST", "/loki/api/v1/push", "acme", SEED, &resp), 204);
	ck_assert_uint_eq(files_in("acme", "ready"), 2);
	ck_assert_uint_eq(files_in("acme", "tmp"), 0);
}
END_TEST

/* A client's retry of a push it got no answer for: acknowledged again,
 * stored once, per tenant; a push with rejected entries gets its 400
 * again; with dedup_window 0 every push is stored. */
START_TEST(test_retried_push_stored_once)
{
	static const char partial[] =
		"{\"streams\":[{\"stream\":{\"app\":\"x\"},\"values\":"
		"[[\"2024-01-01\",\"ok\"],[\"2024-01-01\",\"\"],[\"soon\",\"bad\"]]}]}";
	struct lt_response resp;
	char first[sizeof(resp.message)];

	opts.limits.dedup_window_s = 3600;
	ck_assert_int_eq(handle("POST", "/loki/api/v1/push", "acme", SEED, &resp), 204);
	ck_assert_int_eq(handle("POST", "/loki/api/v1/push", "acme", SEED, &resp), 204);
	ck_assert_uint_eq(files_in("acme", "ready"), 1);
	ck_assert_int_eq(handle("POST", "/loki/api/v1/push", "beta", SEED, &resp), 204);
	ck_assert_uint_eq(files_in("beta", "ready"), 1);
	ck_assert_int_eq(handle("POST", "/loki/api/v1/push", "acme", partial, &resp), 400);
	(void)snprintf(first, sizeof(first), "%s", resp.message);
	ck_assert_uint_eq(files_in("acme", "ready"), 2);
	ck_assert_int_eq(handle("POST", "/loki/api/v1/push", "acme", partial, &resp), 400);
	ck_assert_str_eq(resp.message, first);
	ck_assert_uint_eq(files_in("acme", "ready"), 2);
	opts.limits.dedup_window_s = 0;
	ck_assert_int_eq(handle("POST", "/loki/api/v1/push", "acme", SEED, &resp), 204);
	ck_assert_uint_eq(files_in("acme", "ready"), 3);
}
END_TEST

START_TEST(test_routing)
{
	struct lt_response resp;

	ck_assert_int_eq(handle("POST", "/api/pushx", "acme", SEED, &resp), 404);
	ck_assert_ptr_nonnull(strstr(resp.message, "no such endpoint \"/api/pushx\""));
	ck_assert_int_eq(handle("GET", "/api/push", "acme", "", &resp), 405);
	ck_assert_str_eq(resp.allow, "POST");
	ck_assert_uint_eq(files_in("acme", "ready"), 0);
}
END_TEST

START_TEST(test_tenants)
{
	struct lt_request r;
	struct lt_response resp;

	ck_assert_int_eq(handle("POST", "/api/push", NULL, SEED, &resp), 401);
	ck_assert_str_eq(resp.message,
			 "no tenant: send an X-Scope-OrgID header (or tenant-id); "
			 "this receiver has no default_tenant");
	ck_assert_int_eq(handle("POST", "/api/push", "../etc", SEED, &resp), 400);
	ck_assert_ptr_nonnull(strstr(resp.message, "invalid tenant id \"../etc\""));
	ck_assert_int_eq(handle("POST", "/api/push", "", SEED, &resp), 400);

	/* Loki's header, and a conflict between the two. */
	request(&r, "POST", "/loki/api/v1/push", NULL, SEED);
	r.scope_orgid = strdup("org1");
	lt_recv_handle(&opts, &r, lt_now_ns(), &resp);
	ck_assert_int_eq(resp.status, 204);
	ck_assert_uint_eq(files_in("org1", "ready"), 1);
	r.tenant_id = strdup("org2");
	lt_recv_handle(&opts, &r, lt_now_ns(), &resp);
	ck_assert_int_eq(resp.status, 400);
	ck_assert_ptr_nonnull(strstr(resp.message, "name different tenants"));
	lt_request_free(&r);

	/* The default tenant applies only when none is named. */
	opts.default_tenant = strdup("fake");
	ck_assert_int_eq(handle("POST", "/api/push", NULL, SEED, &resp), 204);
	ck_assert_uint_eq(files_in("fake", "ready"), 1);
	ck_assert_uint_eq(files_in("..", "ready"), 0);
}
END_TEST

START_TEST(test_content_type_and_size)
{
	struct lt_request r;
	struct lt_response resp;

	request(&r, "POST", "/api/push", "acme", SEED);
	free(r.content_type);
	r.content_type = strdup("text/plain");
	lt_recv_handle(&opts, &r, lt_now_ns(), &resp);
	ck_assert_int_eq(resp.status, 415);
	ck_assert_str_eq(resp.message, "unsupported Content-Type \"text/plain\": "
			 "send application/json or application/x-protobuf");
	/* JSON declared as protobuf is not snappy data. */
	free(r.content_type);
	r.content_type = strdup("application/x-protobuf");
	lt_recv_handle(&opts, &r, lt_now_ns(), &resp);
	ck_assert_int_eq(resp.status, 400);
	ck_assert_ptr_nonnull(strstr(resp.message, "could not decode the protobuf body"));
	free(r.content_type);
	r.content_type = NULL; /* none given: sniffed, and this is JSON */
	r.content_encoding = strdup("br");
	lt_recv_handle(&opts, &r, lt_now_ns(), &resp);
	ck_assert_int_eq(resp.status, 415);
	ck_assert_ptr_nonnull(strstr(resp.message, "unsupported Content-Encoding \"br\""));
	free(r.content_encoding);
	r.content_encoding = strdup("gzip"); /* but the body is not */
	lt_recv_handle(&opts, &r, lt_now_ns(), &resp);
	ck_assert_int_eq(resp.status, 400);
	ck_assert_ptr_nonnull(strstr(resp.message, "could not decode the gzip body"));
	free(r.content_encoding);
	r.content_encoding = strdup("snappy"); /* a no-op name */
	lt_recv_handle(&opts, &r, lt_now_ns(), &resp);
	ck_assert_int_eq(resp.status, 204);
	ck_assert_uint_eq(files_in("acme", "ready"), 1);
	free(r.content_encoding);
	r.content_encoding = NULL;
	opts.http.max_body_size = 10;
	lt_recv_handle(&opts, &r, lt_now_ns(), &resp);
	ck_assert_int_eq(resp.status, 413);
	ck_assert_ptr_nonnull(strstr(resp.message, "over the limit of 10 bytes"));
	lt_request_free(&r);
	ck_assert_uint_eq(files_in("acme", "ready"), 1);
}
END_TEST

START_TEST(test_invalid_payload_leaves_nothing)
{
	struct lt_response resp;

	ck_assert_int_eq(handle("POST", "/api/push", "acme", "{\"streams\":[", &resp), 400);
	ck_assert_ptr_nonnull(strstr(resp.message, "malformed JSON"));
	ck_assert_int_eq(handle("POST", "/api/push", "acme",
				"{\"streams\":[{\"stream\":{\"1a\":\"x\"},\"values\":"
				"[[\"2024-01-01\",\"ok\"]]}]}", &resp), 400);
	ck_assert_str_eq(resp.message, "1 of 1 entries rejected, 0 stored:\n"
			 "stream 1: invalid label name \"1a\" (must match "
			 "[a-zA-Z_][a-zA-Z0-9_]*)");
	ck_assert_uint_eq(files_in("acme", "ready"), 0);
	ck_assert_uint_eq(files_in("acme", "tmp"), 0);
	/* Valid, but nothing in it: accepted, no file. */
	ck_assert_int_eq(handle("POST", "/api/push", "acme", "{\"streams\":[]}", &resp), 204);
	ck_assert_uint_eq(files_in("acme", "ready"), 0);
}
END_TEST

/* An OTLP request: path, Content-Type (NULL: none), Content-Encoding
 * (NULL: none) and body; tenant acme. */
static int
otlp_handle(const char *method, const char *path, const char *type,
	    const char *coding, const void *body, size_t len,
	    struct lt_response *resp)
{
	struct lt_request r;

	request(&r, method, path, "acme", "");
	free(r.content_type);
	r.content_type = type ? strdup(type) : NULL;
	r.content_encoding = coding ? strdup(coding) : NULL;
	r.content_length = (long long)len;
	ck_assert_int_eq(lt_buf_append(&r.body, body, len), 0);
	memset(resp, 0, sizeof(*resp));
	lt_recv_handle(&opts, &r, lt_now_ns(), resp);
	lt_request_free(&r);
	return resp->status;
}

/* The answer's body as a string (the JSON answers hold no NUL). */
static const char *
body_text(struct lt_response *resp)
{
	static char text[sizeof(resp->body) + 1];

	memcpy(text, resp->body, resp->body_len);
	text[resp->body_len] = '\0';
	return text;
}

static void deflate_to(struct lt_buf *out, const void *data, size_t len,
		       int window_bits);

/* An OTLP JSON request of service api with a record at now for each
 * line given (one or two). */
static const char *
otlp_json(const char *line1, const char *line2)
{
	static char json[1024];
	char records[512];
	long long now = (long long)lt_now_ns();
	int n;

	n = snprintf(records, sizeof(records),
		     "{\"timeUnixNano\":\"%lld\",\"body\":{\"stringValue\":\"%s\"}}",
		     now, line1);
	if (line2 != NULL)
		(void)snprintf(records + n, sizeof(records) - (size_t)n,
			       ",{\"timeUnixNano\":\"%lld\",\"body\":{\"stringValue\":\"%s\"}}",
			       now, line2);
	(void)snprintf(json, sizeof(json),
		       "{\"resourceLogs\":[{\"resource\":{\"attributes\":[{\"key\":"
		       "\"service.name\",\"value\":{\"stringValue\":\"api\"}}]},"
		       "\"scopeLogs\":[{\"logRecords\":[%s]}]}]}", records);
	return json;
}

/* Refusals before the body is read: a google.rpc.Status in the
 * request's encoding (protobuf unless it said JSON), headers kept; the
 * text stays for the log.  Loki's paths keep their text answers. */
START_TEST(test_otlp_refusals)
{
	static const char not_allowed[] = "method GET not allowed: use POST";
	static const char bad_json[] = "{\"code\":3,\"message\":\"not an OTLP "
		"ExportLogsServiceRequest in JSON: ";
	struct lt_response resp;

	ck_assert_int_eq(otlp_handle("POST", "/otlp/v1/logs", "text/plain",
				     NULL, "x", 1, &resp), 415);
	ck_assert_str_eq(resp.message, "unsupported Content-Type \"text/plain\": "
			 "send OTLP as application/x-protobuf or application/json");
	ck_assert_str_eq(resp.content_type, "application/x-protobuf");
	/* code = 3 (INVALID_ARGUMENT), message = the text */
	ck_assert_uint_eq(resp.body_len, 4 + strlen(resp.message));
	ck_assert_mem_eq(resp.body, "\x08\x03\x12", 3);
	ck_assert_uint_eq(resp.body[3], strlen(resp.message));
	ck_assert_mem_eq(resp.body + 4, resp.message, strlen(resp.message));

	ck_assert_int_eq(otlp_handle("POST", "/v1/logs", "application/json",
				     "snappy", "{}", 2, &resp), 415);
	ck_assert_str_eq(resp.content_type, "application/json");
	ck_assert_str_eq(body_text(&resp),
			 "{\"code\":3,\"message\":\"unsupported Content-Encoding "
			 "\\\"snappy\\\": send gzip, deflate or identity\"}");

	ck_assert_int_eq(otlp_handle("GET", "/v1/logs", NULL, NULL, "", 0,
				     &resp), 405);
	ck_assert_str_eq(resp.allow, "POST");
	ck_assert_str_eq(resp.content_type, "application/x-protobuf");
	ck_assert_uint_eq(resp.body_len, 4 + strlen(not_allowed));
	ck_assert_mem_eq(resp.body + 4, not_allowed, strlen(not_allowed));

	ck_assert_int_eq(otlp_handle("POST", "/otlp/v1/logs",
				     "application/json; charset=utf-8", NULL,
				     "{\"resourceLogs\":5}", 18, &resp), 400);
	ck_assert_str_eq(resp.content_type, "application/json");
	ck_assert_int_eq(strncmp(body_text(&resp), bad_json, strlen(bad_json)), 0);
	ck_assert_ptr_nonnull(strstr(resp.message, "resourceLogs"));

	/* Not OTLP: text as before, and the 404 names the OTLP path. */
	ck_assert_int_eq(otlp_handle("POST", "/otlp/v1/traces",
				     "application/json", NULL, "{}", 2, &resp),
			 404);
	ck_assert_ptr_null(resp.content_type);
	ck_assert_ptr_nonnull(strstr(resp.message, "/otlp/v1/logs"));
	ck_assert_uint_eq(files_in("acme", "ready"), 0);
}
END_TEST

/* A tenant or credentials refusal on an OTLP path, in JSON. */
START_TEST(test_otlp_tenant_refusal)
{
	struct lt_request r;
	struct lt_response resp;

	request(&r, "POST", "/otlp/v1/logs", NULL, "{}");
	memset(&resp, 0, sizeof(resp));
	lt_recv_handle(&opts, &r, lt_now_ns(), &resp);
	lt_request_free(&r);
	ck_assert_int_eq(resp.status, 401);
	ck_assert_str_eq(body_text(&resp),
			 "{\"code\":16,\"message\":\"no tenant: send an "
			 "X-Scope-OrgID header (or tenant-id); this receiver "
			 "has no default_tenant\"}");
}
END_TEST

/* Stored as a Loki push is: 200 with an empty answer in the request's
 * encoding, protobuf or JSON, said or sniffed, plain or gzip. */
START_TEST(test_otlp_push_stored)
{
	struct lt_response resp;
	const char *json = otlp_json("hello", NULL);
	struct lt_buf gz = LT_BUF_INIT;

	ck_assert_int_eq(otlp_handle("POST", "/otlp/v1/logs", "application/json",
				     NULL, json, strlen(json), &resp), 200);
	ck_assert_str_eq(resp.content_type, "application/json");
	ck_assert_str_eq(body_text(&resp), "{}");
	ck_assert_str_eq(resp.message, "");
	ck_assert_uint_eq(files_in("acme", "ready"), 1);
	/* No Content-Type: a body that starts with '{' is JSON. */
	ck_assert_int_eq(otlp_handle("POST", "/v1/logs", NULL, NULL, json,
				     strlen(json), &resp), 200);
	ck_assert_str_eq(resp.content_type, "application/json");
	ck_assert_uint_eq(files_in("acme", "ready"), 2);
	/* An empty protobuf request is a request of nothing. */
	ck_assert_int_eq(otlp_handle("POST", "/v1/logs",
				     "application/x-protobuf", NULL, "", 0,
				     &resp), 200);
	ck_assert_str_eq(resp.content_type, "application/x-protobuf");
	ck_assert_uint_eq(resp.body_len, 0);
	ck_assert_uint_eq(files_in("acme", "ready"), 2);
	deflate_to(&gz, json, strlen(json), 15 + 16);
	ck_assert_int_eq(otlp_handle("POST", "/otlp/v1/logs", "application/json",
				     "gzip", gz.data, gz.len, &resp), 200);
	ck_assert_uint_eq(files_in("acme", "ready"), 3);
	lt_buf_free(&gz);
}
END_TEST

/* Some records rejected, others stored: 200 with partial_success, the
 * count and the reasons; all rejected: 400 with a Status. */
START_TEST(test_otlp_partial_success)
{
	static const char head[] = "{\"partialSuccess\":{\"rejectedLogRecords\":\"1\",\"errorMessage\":\"";
	static const char none_kept[] = "{\"code\":3,\"message\":\"1 of 1 log "
		"records rejected, 0 stored:\\n";
	struct lt_response resp;
	const char *json;

	opts.limits.max_line_size = 8;
	json = otlp_json("short", "longer than eight");
	ck_assert_int_eq(otlp_handle("POST", "/otlp/v1/logs", "application/json",
				     NULL, json, strlen(json), &resp), 200);
	ck_assert_int_eq(strncmp(body_text(&resp), head, strlen(head)), 0);
	ck_assert_ptr_nonnull(strstr(body_text(&resp), "line too long"));
	ck_assert_ptr_nonnull(strstr(resp.message, "1 of 2 log records rejected, 1 stored"));
	ck_assert_uint_eq(files_in("acme", "ready"), 1);
	json = otlp_json("longer than eight", NULL);
	ck_assert_int_eq(otlp_handle("POST", "/otlp/v1/logs", "application/json",
				     NULL, json, strlen(json), &resp), 400);
	ck_assert_int_eq(strncmp(body_text(&resp), none_kept, strlen(none_kept)),
			 0);
	ck_assert_uint_eq(files_in("acme", "ready"), 1);
}
END_TEST

START_TEST(test_spool_failure_is_503)
{
	struct lt_response resp;

	free(opts.spool);
	opts.spool = strdup("/dev/null/spool");
	ck_assert_int_eq(handle("POST", "/api/push", "acme", SEED, &resp), 503);
	ck_assert_int_eq(resp.retry_after, 30);
	ck_assert_ptr_nonnull(strstr(resp.message, "try again later"));
}
END_TEST

/* Under the free-space reserve: refused before the disk is full. */
START_TEST(test_disk_reserve_is_503)
{
	struct lt_response resp;

	opts.min_free_space = SIZE_MAX / 2;
	ck_assert_int_eq(handle("POST", "/api/push", "acme", SEED, &resp), 503);
	ck_assert_int_eq(resp.retry_after, 30);
	ck_assert_ptr_nonnull(strstr(resp.message, "No space left on device"));
	ck_assert_uint_eq(files_in("acme", "ready"), 0);
	ck_assert_uint_eq(files_in("acme", "tmp"), 0);
}
END_TEST

START_TEST(test_partial_push_keeps_the_valid)
{
	struct lt_response resp;

	ck_assert_int_eq(handle("POST", "/api/push", "acme",
				"{\"streams\":[{\"stream\":{\"app\":\"a\"},\"values\":"
				"[[\"2024-01-01\",\"ok\"],[\"yesterday\",\"bad\"]]}]}",
				&resp), 400);
	ck_assert_str_eq(resp.message,
			 "1 of 2 entries rejected, 1 stored:\n"
			 "stream 1 {app=\"a\"}: entry 2: invalid timestamp "
			 "\"yesterday\": not a number of unix nanoseconds, a date "
			 "(2024-01-01) or an RFC 3339 time");
	ck_assert_uint_eq(files_in("acme", "ready"), 1);
}
END_TEST

/* A snappy block of literals only: enough to carry test bodies. */
static void
snappy_literal(struct lt_buf *out, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t n;

	ck_assert_int_eq(lt_buf_append_varint(out, len), 0);
	for (; len > 0; p += n, len -= n) {
		n = len < 256 ? len : 256;
		if (n <= 60) {
			ck_assert_int_eq(lt_buf_append_byte(out, (unsigned char)((n - 1) << 2)), 0);
		} else {
			ck_assert_int_eq(lt_buf_append_byte(out, 60 << 2), 0);
			ck_assert_int_eq(lt_buf_append_byte(out, (unsigned char)(n - 1)), 0);
		}
		ck_assert_int_eq(lt_buf_append(out, p, n), 0);
	}
}

static void
pb_field(struct lt_buf *b, unsigned field, const void *p, size_t n)
{
	ck_assert_int_eq(lt_buf_append_varint(b, (uint64_t)field << 3 | 2), 0);
	ck_assert_int_eq(lt_buf_append_varint(b, n), 0);
	ck_assert_int_eq(lt_buf_append(b, p, n), 0);
}

START_TEST(test_protobuf_push)
{
	struct lt_buf ts = LT_BUF_INIT, entry = LT_BUF_INIT, stream = LT_BUF_INIT,
		      req = LT_BUF_INIT, body = LT_BUF_INIT;
	struct lt_request r;
	struct lt_response resp;
	static const char labels[] = "{app=\"api\", level=\"info\"}";

	ck_assert_int_eq(lt_buf_append_varint(&ts, 1 << 3), 0);
	ck_assert_int_eq(lt_buf_append_varint(&ts, (uint64_t)(lt_now_ns() / 1000000000)), 0);
	pb_field(&entry, 1, ts.data, ts.len);
	pb_field(&entry, 2, "hello", 5);
	pb_field(&stream, 1, labels, strlen(labels));
	pb_field(&stream, 2, entry.data, entry.len);
	pb_field(&req, 1, stream.data, stream.len);
	snappy_literal(&body, req.data, req.len);

	request(&r, "POST", "/api/prom/push", NULL, "");
	r.scope_orgid = strdup("pb");
	free(r.content_type);
	r.content_type = strdup("application/x-protobuf");
	ck_assert_int_eq(lt_buf_append(&r.body, body.data, body.len), 0);
	lt_recv_handle(&opts, &r, lt_now_ns(), &resp);
	ck_assert_int_eq(resp.status, 204);
	ck_assert_uint_eq(files_in("pb", "ready"), 1);

	/* Without a Content-Type, Loki's default: protobuf. */
	free(r.content_type);
	r.content_type = NULL;
	lt_recv_handle(&opts, &r, lt_now_ns(), &resp);
	ck_assert_int_eq(resp.status, 204);
	ck_assert_uint_eq(files_in("pb", "ready"), 2);

	/* Snappy of the wrong length: corrupt, nothing stored. */
	r.body.data[0]++;
	lt_recv_handle(&opts, &r, lt_now_ns(), &resp);
	ck_assert_int_eq(resp.status, 400);
	ck_assert_uint_eq(files_in("pb", "ready"), 2);
	lt_request_free(&r);
	lt_buf_free(&ts);
	lt_buf_free(&entry);
	lt_buf_free(&stream);
	lt_buf_free(&req);
	lt_buf_free(&body);
}
END_TEST

/* Decompression is capped: a small body cannot become a huge one. */
START_TEST(test_decompression_caps)
{
	struct lt_buf big = LT_BUF_INIT, body = LT_BUF_INIT;
	struct lt_request r;
	struct lt_response resp;

	ck_assert_int_eq(lt_buf_reserve(&big, 4096), 0);
	memset(big.data, ' ', 4096);
	big.len = 4096;
	snappy_literal(&body, big.data, big.len);
	request(&r, "POST", "/loki/api/v1/push", "acme", "");
	free(r.content_type);
	r.content_type = strdup("application/x-protobuf");
	ck_assert_int_eq(lt_buf_append(&r.body, body.data, body.len), 0);
	opts.max_decompressed_size = 4095;
	lt_recv_handle(&opts, &r, lt_now_ns(), &resp);
	ck_assert_int_eq(resp.status, 413);
	ck_assert_uint_eq(files_in("acme", "ready"), 0);
	lt_request_free(&r);
	lt_buf_free(&big);
	lt_buf_free(&body);
}
END_TEST

/* Compresses with zlib: window_bits 15+16 gzip, 15 zlib, -15 raw. */
static void
deflate_to(struct lt_buf *out, const void *data, size_t len, int window_bits)
{
	z_stream z;

	memset(&z, 0, sizeof(z));
	ck_assert_int_eq(deflateInit2(&z, 6, Z_DEFLATED, window_bits, 8,
				      Z_DEFAULT_STRATEGY), Z_OK);
	ck_assert_int_eq(lt_buf_reserve(out, deflateBound(&z, len)), 0);
	z.next_in = (Bytef *)data;
	z.avail_in = (uInt)len;
	z.next_out = out->data + out->len;
	z.avail_out = (uInt)(out->cap - out->len);
	ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
	out->len += z.total_out;
	ck_assert_int_eq(deflateEnd(&z), Z_OK);
}

/* Every Content-Encoding around both body formats. */
START_TEST(test_encodings)
{
	static const struct {
		const char *encoding;
		int window_bits;
	} codings[] = {
		{"gzip", 15 + 16}, {"x-gzip", 15 + 16}, {"deflate", 15},
		{"deflate", -15}, {"identity", 0}, {"snappy", 0},
	};
	struct lt_buf pb = LT_BUF_INIT, inner = LT_BUF_INIT, body = LT_BUF_INIT;
	struct lt_request r;
	struct lt_response resp;
	size_t i, n = 0;
	int json;

	/* The protobuf push: one stream, one entry of now. */
	{
		struct lt_buf ts = LT_BUF_INIT, e = LT_BUF_INIT, st = LT_BUF_INIT;

		ck_assert_int_eq(lt_buf_append_varint(&ts, 1 << 3), 0);
		ck_assert_int_eq(lt_buf_append_varint(&ts,
						      (uint64_t)(lt_now_ns() / 1000000000)), 0);
		pb_field(&e, 1, ts.data, ts.len);
		pb_field(&e, 2, "z", 1);
		pb_field(&st, 1, "{a=\"b\"}", 7);
		pb_field(&st, 2, e.data, e.len);
		pb_field(&pb, 1, st.data, st.len);
		lt_buf_free(&ts);
		lt_buf_free(&e);
		lt_buf_free(&st);
	}
	for (json = 0; json <= 1; json++) {
		for (i = 0; i < sizeof(codings) / sizeof(codings[0]); i++) {
			lt_buf_reset(&inner);
			lt_buf_reset(&body);
			if (json)
				ck_assert_int_eq(lt_buf_append(&inner, SEED, strlen(SEED)), 0);
			else
				snappy_literal(&inner, pb.data, pb.len);
			if (codings[i].window_bits != 0)
				deflate_to(&body, inner.data, inner.len,
					   codings[i].window_bits);
			else
				ck_assert_int_eq(lt_buf_append(&body, inner.data, inner.len), 0);
			request(&r, "POST", "/loki/api/v1/push", "enc", "");
			free(r.content_type);
			r.content_type = strdup(json ? "application/json" : "application/x-protobuf");
			r.content_encoding = strdup(codings[i].encoding);
			ck_assert_int_eq(lt_buf_append(&r.body, body.data, body.len), 0);
			lt_recv_handle(&opts, &r, lt_now_ns(), &resp);
			lt_request_free(&r);
			ck_assert_msg(resp.status == 204, "%s %s: %d %s",
				      json ? "JSON" : "protobuf", codings[i].encoding,
				      resp.status, resp.message);
			ck_assert_uint_eq(files_in("enc", "ready"), ++n);
		}
	}
	lt_buf_free(&pb);
	lt_buf_free(&inner);
	lt_buf_free(&body);
}
END_TEST

static void
write_config(const char *text)
{
	char path[128];

	(void)snprintf(path, sizeof(path), "%s/logthra.conf", root);
	tu_write_file(path, text, strlen(text), 0644);
	lt_options_free(&opts);
	lt_options_defaults(&opts);
	ck_assert_int_eq(lt_options_load(&opts, path), 0);
	free(opts.spool);
	opts.spool = strdup(root);
}

START_TEST(test_rate_limit_per_tenant)
{
	struct lt_response resp;
	int64_t now = lt_now_ns();
	struct lt_request r;
	int i;

	/* The seed's lines are 16 bytes: "slow" may take two pushes at once,
	 * every other tenant keeps the generous global limit. */
	write_config("ingestion_rate = 1MiB\n"
		     "dedup_window = 0\n" /* the same push, again and again */
		     "[tenant slow]\n"
		     "ingestion_rate = 1\n"
		     "ingestion_burst_size = 40\n"
		     "[tenant tiny]\n"
		     "ingestion_burst_size = 10\n");
	for (i = 0; i < 2; i++) {
		request(&r, "POST", "/api/push", "slow", SEED);
		lt_recv_handle(&opts, &r, now, &resp);
		lt_request_free(&r);
		ck_assert_int_eq(resp.status, 204);
	}
	request(&r, "POST", "/api/push", "slow", SEED);
	lt_recv_handle(&opts, &r, now, &resp);
	lt_request_free(&r);
	ck_assert_int_eq(resp.status, 429);
	ck_assert_int_eq(resp.retry_after, 8);
	ck_assert_ptr_nonnull(strstr(resp.message,
		"ingestion rate limit exceeded for tenant \"slow\" (limit: 1 bytes/sec, burst 40 bytes)"));
	ck_assert_uint_eq(files_in("slow", "ready"), 2);
	/* Later, there is room again. */
	request(&r, "POST", "/api/push", "slow", SEED);
	lt_recv_handle(&opts, &r, now + 8000000000LL, &resp);
	lt_request_free(&r);
	ck_assert_int_eq(resp.status, 204);

	/* A push larger than the burst can never pass: said so. */
	request(&r, "POST", "/api/push", "tiny", SEED);
	lt_recv_handle(&opts, &r, now, &resp);
	lt_request_free(&r);
	ck_assert_int_eq(resp.status, 429);
	ck_assert_int_eq(resp.retry_after, 0);
	ck_assert_ptr_nonnull(strstr(resp.message, "more than its burst size of 10 bytes"));
	ck_assert_uint_eq(files_in("tiny", "ready"), 0);

	for (i = 0; i < 5; i++)
		ck_assert_int_eq(handle("POST", "/api/push", "other", SEED, &resp), 204);
}
END_TEST

START_TEST(test_tenant_sections)
{
	struct lt_limits lim;
	char path[128];
	FILE *f;

	write_config("max_line_size = 100\n"
		     "[tenant a]\n"
		     "max_line_size = 7\n"
		     "creation_grace_period = 1h\n"
		     "[ tenant b ]\n"
		     "max_label_names = 3\n");
	lt_options_limits_for(&opts, "a", &lim);
	ck_assert_uint_eq(lim.max_line_size, 7);
	ck_assert(lim.creation_grace_ns == 3600LL * 1000000000);
	ck_assert_uint_eq(lim.max_label_names, 15);
	lt_options_limits_for(&opts, "b", &lim);
	ck_assert_uint_eq(lim.max_line_size, 100);
	ck_assert_uint_eq(lim.max_label_names, 3);
	lt_options_limits_for(&opts, "c", &lim);
	ck_assert_uint_eq(lim.max_line_size, 100);

	/* Only limits belong in a tenant's section; errors name the line. */
	(void)snprintf(path, sizeof(path), "%s/bad.conf", root);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs("[tenant a]\nspool = /tmp\n", f), 0);
	ck_assert_int_eq(fclose(f), 0);
	lt_options_free(&opts);
	lt_options_defaults(&opts);
	ck_assert_int_eq(lt_options_load(&opts, path), -1);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs("[tenant ../x]\n", f), 0);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(lt_options_load(&opts, path), -1);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs("[global]\n", f), 0);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(lt_options_load(&opts, path), -1);
}
END_TEST

/* A push with credentials: the Authorization header, or REMOTE_USER. */
static int
handle_auth(const char *tenant, const char *authorization,
	    const char *remote_user, struct lt_response *resp)
{
	struct lt_request r;

	request(&r, "POST", "/loki/api/v1/push", tenant, SEED);
	r.authorization = authorization ? strdup(authorization) : NULL;
	r.remote_user = remote_user ? strdup(remote_user) : NULL;
	r.cgi = 1;
	memset(resp, 0, sizeof(*resp));
	lt_recv_handle(&opts, &r, lt_now_ns(), resp);
	lt_request_free(&r);
	return resp->status;
}

/* Writes a credentials file granting a token to "acme" and "beta", and
 * the web server's user "alice" to "acme"; loads it into opts. */
static struct lt_auth *
auth_setup(char *token, size_t len)
{
	char path[128], line[512], err[256];
	struct lt_auth *a = NULL;
	FILE *f;

	ck_assert_int_eq(lt_auth_new_token(token, len), 0);
	ck_assert_int_eq(lt_auth_format_entry(line, sizeof(line), "agent", token,
					      "acme,beta", err, sizeof(err)), 0);
	(void)snprintf(path, sizeof(path), "%s/credentials", root);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fprintf(f, "# test\n%salice - acme\n", line), 0);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_msg(lt_auth_load(path, &a, err, sizeof(err)) == 0, "%s", err);
	opts.credentials_file = strdup(path);
	opts.auth = a;
	return a;
}

START_TEST(test_auth_bearer)
{
	struct lt_response resp;
	char token[64], hdr[128];
	struct lt_auth *a = auth_setup(token, sizeof(token));

	(void)snprintf(hdr, sizeof(hdr), "Bearer %s", token);
	ck_assert_int_eq(handle_auth("acme", hdr, NULL, &resp), 204);
	ck_assert_int_eq(handle_auth("beta", hdr, NULL, &resp), 204);
	ck_assert_uint_eq(files_in("acme", "ready"), 1);

	ck_assert_int_eq(handle_auth("gamma", hdr, NULL, &resp), 403);
	ck_assert_str_eq(resp.message, "\"agent\" may not push to tenant \"gamma\"");
	ck_assert_ptr_null(resp.www_authenticate);

	ck_assert_int_eq(handle_auth("acme", NULL, NULL, &resp), 401);
	ck_assert_str_eq(resp.www_authenticate,
			 "Bearer realm=\"logthra\", Basic realm=\"logthra\"");
	ck_assert_int_eq(handle_auth("acme", "Bearer lt_nottherighttoken", NULL,
				     &resp), 401);
	ck_assert_str_eq(resp.message, "invalid credentials");
	/* The receiver says nothing about the tenant to a stranger. */
	ck_assert_int_eq(handle_auth("../etc", NULL, NULL, &resp), 401);
	ck_assert_int_eq(handle_auth(NULL, NULL, NULL, &resp), 401);
	/* With credentials, a missing tenant is still 401, an invalid one 400
	 * or 403, never stored. */
	ck_assert_int_eq(handle_auth(NULL, hdr, NULL, &resp), 401);
	ck_assert(strstr(resp.message, "no tenant") != NULL);
	ck_assert_int_eq(handle_auth("../etc", hdr, NULL, &resp), 403);
	/* REMOTE_USER is not trusted unless configured. */
	ck_assert_int_eq(handle_auth("acme", NULL, "alice", &resp), 401);
	ck_assert_uint_eq(files_in("acme", "ready"), 1);
	ck_assert_uint_eq(files_in("gamma", "ready"), 0);
	lt_auth_free(a);
}
END_TEST

START_TEST(test_auth_basic)
{
	struct lt_response resp;
	char token[64], user_pass[128], hdr[256];
	struct lt_auth *a = auth_setup(token, sizeof(token));
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n, i, o = 0;

	n = (size_t)snprintf(user_pass, sizeof(user_pass), "agent:%s", token);
	o = (size_t)snprintf(hdr, sizeof(hdr), "Basic ");
	for (i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)user_pass[i] << 16;

		if (i + 1 < n)
			v |= (unsigned char)user_pass[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)user_pass[i + 2];
		hdr[o++] = b64[v >> 18 & 63];
		hdr[o++] = b64[v >> 12 & 63];
		hdr[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		hdr[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	hdr[o] = '\0';
	ck_assert_int_eq(handle_auth("acme", hdr, NULL, &resp), 204);
	ck_assert_int_eq(handle_auth("gamma", hdr, NULL, &resp), 403);
	ck_assert_int_eq(handle_auth("acme", "Basic !!!", NULL, &resp), 401);
	lt_auth_free(a);
}
END_TEST

START_TEST(test_auth_remote_user)
{
	struct lt_response resp;
	char token[64];
	struct lt_auth *a = auth_setup(token, sizeof(token));

	opts.trust_remote_user = 1;
	ck_assert_int_eq(handle_auth("acme", NULL, "alice", &resp), 204);
	/* In inetd mode no web server vouches: the token is checked. */
	{
		struct lt_request r;
		char hdr[128];

		(void)snprintf(hdr, sizeof(hdr), "Bearer %s", token);
		request(&r, "POST", "/loki/api/v1/push", "beta", SEED);
		r.authorization = strdup(hdr);
		memset(&resp, 0, sizeof(resp));
		lt_recv_handle(&opts, &r, lt_now_ns(), &resp);
		lt_request_free(&r);
		ck_assert_int_eq(resp.status, 204);
	}
	ck_assert_int_eq(handle_auth("beta", NULL, "alice", &resp), 403);
	ck_assert_str_eq(resp.message, "\"alice\" may not push to tenant \"beta\"");
	ck_assert_int_eq(handle_auth("acme", NULL, "mallory", &resp), 403);
	ck_assert_str_eq(resp.message, "\"mallory\" has no entry in the "
			 "credentials file and may not push to tenant \"acme\"");
	ck_assert_int_eq(handle_auth("acme", NULL, NULL, &resp), 401);
	ck_assert_ptr_null(resp.www_authenticate);
	ck_assert_uint_eq(files_in("acme", "ready"), 1);
	lt_auth_free(a);
}
END_TEST

/* A credentials file that could not be loaded: every push refused. */
START_TEST(test_auth_unloaded_fails_closed)
{
	struct lt_response resp;

	opts.credentials_file = strdup("/nonexistent/credentials");
	ck_assert_int_eq(handle("POST", "/loki/api/v1/push", "acme", SEED, &resp),
			 500);
	ck_assert_uint_eq(files_in("acme", "ready"), 0);
}
END_TEST

/* lt_recv_load_auth() reads the file afresh each time: a revoked entry,
 * a file made unusable and a file put back take effect at once, as
 * they must on an inetd connection that outlives them. */
START_TEST(test_auth_reload)
{
	struct lt_response resp;
	struct lt_auth *held;
	char token[64], hdr[128], path[128];

	held = auth_setup(token, sizeof(token));
	(void)snprintf(hdr, sizeof(hdr), "Bearer %s", token);
	(void)snprintf(path, sizeof(path), "%s", opts.credentials_file);
	ck_assert_int_eq(lt_recv_load_auth(&opts, &held), 0);
	ck_assert_ptr_nonnull(held);
	ck_assert_ptr_eq(opts.auth, held);
	ck_assert_int_eq(handle_auth("acme", hdr, NULL, &resp), 204);

	/* Revoked: the file replaced by one without the token's entry. */
	tu_write_file(path, "alice - acme\n", 13, 0640);
	ck_assert_int_eq(handle_auth("acme", hdr, NULL, &resp), 204);
	ck_assert_int_eq(lt_recv_load_auth(&opts, &held), 0);
	ck_assert_int_eq(handle_auth("acme", hdr, NULL, &resp), 401);
	ck_assert_str_eq(resp.message, "invalid credentials");

	/* Unusable: group-writable, then missing; both fail closed. */
	ck_assert_int_eq(chmod(path, 0660), 0);
	ck_assert_int_eq(lt_recv_load_auth(&opts, &held), -1);
	ck_assert_ptr_null(held);
	ck_assert_ptr_null(opts.auth);
	ck_assert_int_eq(handle_auth("acme", hdr, NULL, &resp), 500);
	ck_assert_int_eq(handle_auth("acme", NULL, NULL, &resp), 500);
	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_int_eq(lt_recv_load_auth(&opts, &held), 0);
	ck_assert_ptr_nonnull(opts.auth);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(lt_recv_load_auth(&opts, &held), -1);
	ck_assert_ptr_null(opts.auth);
	ck_assert_int_eq(handle_auth("acme", hdr, NULL, &resp), 500);

	/* Put back with the token: accepted again. */
	{
		char line[512], err[256];

		ck_assert_int_eq(lt_auth_format_entry(line, sizeof(line), "agent",
						      token, "acme", err,
						      sizeof(err)), 0);
		tu_write_file(path, line, strlen(line), 0640);
	}
	ck_assert_int_eq(lt_recv_load_auth(&opts, &held), 0);
	ck_assert_int_eq(handle_auth("acme", hdr, NULL, &resp), 204);

	/* Without credentials_file: nothing held, no authentication. */
	free(opts.credentials_file);
	opts.credentials_file = NULL;
	ck_assert_int_eq(lt_recv_load_auth(&opts, &held), 0);
	ck_assert_ptr_null(held);
	ck_assert_ptr_null(opts.auth);
	ck_assert_int_eq(handle_auth("acme", NULL, NULL, &resp), 204);
	ck_assert_uint_eq(files_in("acme", "ready"), 4);
}
END_TEST

static Suite *
recv_suite(void)
{
	Suite *s = suite_create("recv");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_seed_push_stored);
	tcase_add_test(tc, test_retried_push_stored_once);
	tcase_add_test(tc, test_routing);
	tcase_add_test(tc, test_tenants);
	tcase_add_test(tc, test_content_type_and_size);
	tcase_add_test(tc, test_invalid_payload_leaves_nothing);
	tcase_add_test(tc, test_partial_push_keeps_the_valid);
	tcase_add_test(tc, test_protobuf_push);
	tcase_add_test(tc, test_otlp_refusals);
	tcase_add_test(tc, test_otlp_tenant_refusal);
	tcase_add_test(tc, test_otlp_push_stored);
	tcase_add_test(tc, test_otlp_partial_success);
	tcase_add_test(tc, test_decompression_caps);
	tcase_add_test(tc, test_encodings);
	tcase_add_test(tc, test_rate_limit_per_tenant);
	tcase_add_test(tc, test_tenant_sections);
	tcase_add_test(tc, test_spool_failure_is_503);
	tcase_add_test(tc, test_disk_reserve_is_503);
	tcase_add_test(tc, test_auth_bearer);
	tcase_add_test(tc, test_auth_basic);
	tcase_add_test(tc, test_auth_remote_user);
	tcase_add_test(tc, test_auth_unloaded_fails_closed);
	tcase_add_test(tc, test_auth_reload);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(recv_suite());
	int failed;

	(void)unsetenv("LOGTHRA_CONFIG");
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
