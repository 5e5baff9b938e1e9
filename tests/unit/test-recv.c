/* Unit tests: what the receiver answers, and what it leaves in the spool. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "recv.h"
#include "spool.h"

#define SEED "{\"streams\":[{\"stream\":{\"level\":\"info\",\"app\":\"test-app\"}," \
	     "\"values\":[[\"2024-01-01\",\"starting up\"],[\"2024-01-01\",\"ready\"]]}]}"

static struct lt_options opts;
static char root[64];

static void
setup(void)
{
	(void)snprintf(root, sizeof(root), "/tmp/logthra-test-recv-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	lt_options_defaults(&opts);
	free(opts.spool);
	opts.spool = strdup(root);
}

static void
teardown(void)
{
	char cmd[128];

	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	ck_assert_int_eq(system(cmd), 0);
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

	ck_assert_int_eq(handle("POST", "/api/push", NULL, SEED, &resp), 400);
	ck_assert_str_eq(resp.message,
			 "missing tenant: send a tenant-id or X-Scope-OrgID header");
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
	free(r.content_type);
	r.content_type = strdup("application/x-protobuf");
	lt_recv_handle(&opts, &r, lt_now_ns(), &resp);
	ck_assert_int_eq(resp.status, 415);
	free(r.content_type);
	r.content_type = NULL; /* none given: JSON */
	r.content_encoding = strdup("gzip");
	lt_recv_handle(&opts, &r, lt_now_ns(), &resp);
	ck_assert_int_eq(resp.status, 415);
	free(r.content_encoding);
	r.content_encoding = NULL;
	opts.http.max_body_size = 10;
	lt_recv_handle(&opts, &r, lt_now_ns(), &resp);
	ck_assert_int_eq(resp.status, 413);
	ck_assert_ptr_nonnull(strstr(resp.message, "over the limit of 10 bytes"));
	lt_request_free(&r);
	ck_assert_uint_eq(files_in("acme", "ready"), 0);
}
END_TEST

START_TEST(test_invalid_payload_leaves_nothing)
{
	struct lt_response resp;

	ck_assert_int_eq(handle("POST", "/api/push", "acme", "{\"streams\":[", &resp), 400);
	ck_assert_ptr_nonnull(strstr(resp.message, "malformed JSON"));
	ck_assert_int_eq(handle("POST", "/api/push", "acme",
				"{\"streams\":[{\"stream\":{\"app\":\"a\"},\"values\":"
				"[[\"2024-01-01\",\"ok\"],[\"yesterday\",\"bad\"]]}]}",
				&resp), 400);
	ck_assert_ptr_nonnull(strstr(resp.message, "entry 2"));
	ck_assert_uint_eq(files_in("acme", "ready"), 0);
	ck_assert_uint_eq(files_in("acme", "tmp"), 0);
	/* Valid, but nothing in it: accepted, no file. */
	ck_assert_int_eq(handle("POST", "/api/push", "acme", "{\"streams\":[]}", &resp), 204);
	ck_assert_uint_eq(files_in("acme", "ready"), 0);
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

static Suite *
recv_suite(void)
{
	Suite *s = suite_create("recv");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_seed_push_stored);
	tcase_add_test(tc, test_routing);
	tcase_add_test(tc, test_tenants);
	tcase_add_test(tc, test_content_type_and_size);
	tcase_add_test(tc, test_invalid_payload_leaves_nothing);
	tcase_add_test(tc, test_spool_failure_is_503);
	tcase_add_test(tc, test_disk_reserve_is_503);
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
