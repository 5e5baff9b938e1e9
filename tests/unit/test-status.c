/* Unit tests: the report of --status, its exit status, its text, and
 * its JSON (checked with jansson). */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

#define NOW INT64_C(1800000000)

/* --- escaping --- */

START_TEST(test_json_escape)
{
	static const struct {
		const char *in, *decoded;
	} cases[] = {
		{"plain", "plain"},
		{"q\"b\\s/", "q\"b\\s/"},
		{"nl\ncr\rtab\t\x01\x1f", "nl\ncr\rtab\t\x01\x1f"},
		{"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
		{"bad\xff", "bad\xef\xbf\xbd"},
		{"overlong\xc0\xaf", "overlong\xef\xbf\xbd\xef\xbf\xbd"},
		{"surrogate\xed\xa0\x80", "surrogate\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"},
		{"cut\xe2\x82", "cut\xef\xbf\xbd\xef\xbf\xbd"},
	};
	struct lt_buf b = LT_BUF_INIT;
	json_error_t jerr;
	json_t *j;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		lt_buf_reset(&b);
		ck_assert_int_eq(lt_json_string(&b, cases[i].in), 0);
		j = json_loadb((char *)b.data, b.len, JSON_DECODE_ANY, &jerr);
		ck_assert_msg(j != NULL, "case %zu: %s", i, jerr.text);
		ck_assert(json_is_string(j));
		ck_assert_str_eq(json_string_value(j), cases[i].decoded);
		json_decref(j);
	}
	lt_buf_reset(&b);
	ck_assert_int_eq(lt_json_string(&b, "\x01"), 0);
	ck_assert_int_eq(lt_buf_terminate(&b), 0);
	ck_assert_str_eq((char *)b.data, "\"\\u0001\"");
	lt_buf_free(&b);
}
END_TEST

/* --- the report --- */

static void
sample_report(struct lt_status_report *r, struct lt_backlog_tenant *bt,
	      struct lt_state_tenant *flushed)
{
	memset(r, 0, sizeof(*r));
	r->spool = "/var/spool/\"logthra\"";
	r->now_s = NOW;
	r->spool_ok = 1;
	r->lock = 1;
	r->lock_pid = 4242;
	(void)snprintf(r->lock_program, sizeof(r->lock_program), "logthra-flush");
	r->ch_checked = 1;
	(void)snprintf(r->ch_url, sizeof(r->ch_url), "http://127.0.0.1:8123/");
	(void)snprintf(r->ch_error, sizeof(r->ch_error),
		       "could not reach ClickHouse: \"refused\"\n\x01");
	r->state = 0;
	r->st.runs = 4;
	r->st.failures = 1;
	r->st.last_run_time = NOW - 5;
	r->st.last_run_duration_us = 12000;
	r->st.last_exit_status = 75;
	r->st.last_success_time = NOW - 35;
	r->st.last_error_time = NOW - 5;
	r->st.last_error = "Code: 60, e.displayText() = DB::Exception: \"x\"\\";
	r->st.tenants = flushed;
	r->st.n_tenants = 1;
	memset(bt, 0, sizeof(*bt));
	bt->tenant = "acme";
	bt->files[LT_BL_READY] = 2;
	bt->files[LT_BL_DEFERRED] = 3;
	bt->entries = 812;
	bt->bytes = 90211;
	bt->oldest_ns = (NOW - 125) * 1000000000;
	bt->next_retry_s = NOW + 25;
	r->backlog.v = bt;
	r->backlog.n = 1;
	r->backlog.total = *bt;
	r->backlog.total.tenant = NULL;
}

START_TEST(test_judge)
{
	struct lt_state_tenant flushed = {"acme", 1234, 5678, 12};
	struct lt_backlog_tenant bt;
	struct lt_status_report r;

	sample_report(&r, &bt, &flushed);
	lt_status_judge(&r);
	ck_assert_int_eq(r.exit_status, LT_STATUS_NO_CLICKHOUSE);
	r.ch_ok = 1;
	lt_status_judge(&r);
	ck_assert_int_eq(r.exit_status, LT_STATUS_LAST_RUN_FAILED);
	r.st.last_exit_status = 0;
	lt_status_judge(&r);
	ck_assert_int_eq(r.exit_status, LT_EX_OK);
	r.spool_ok = 0;
	lt_status_judge(&r);
	ck_assert_int_eq(r.exit_status, LT_EX_ERROR);
	/* No run recorded yet is no failure. */
	r.spool_ok = 1;
	r.state = ENOENT;
	r.st.last_exit_status = 75;
	lt_status_judge(&r);
	ck_assert_int_eq(r.exit_status, LT_EX_OK);
}
END_TEST

START_TEST(test_report_json)
{
	struct lt_state_tenant flushed = {"acme", 1234, 5678, 12};
	struct lt_backlog_tenant bt;
	struct lt_status_report r;
	struct lt_buf out = LT_BUF_INIT;
	json_error_t jerr;
	json_t *j, *t;

	sample_report(&r, &bt, &flushed);
	lt_status_judge(&r);
	ck_assert_int_eq(lt_status_json(&out, &r), 0);
	j = json_loadb((char *)out.data, out.len, 0, &jerr);
	ck_assert_msg(j != NULL, "%s at %d", jerr.text, jerr.position);
	ck_assert_str_eq(json_string_value(json_object_get(j, "spool")),
			 "/var/spool/\"logthra\"");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "exit_status")), 3);
	ck_assert(json_is_true(json_object_get(json_object_get(j, "flush_lock"), "held")));
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "flush_lock"), "pid")),
			 4242);
	ck_assert(json_is_false(json_object_get(json_object_get(j, "clickhouse"), "reachable")));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "clickhouse"), "error")),
			 "could not reach ClickHouse: \"refused\"\n\x01");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "last_run"), "exit_status")),
			 75);
	ck_assert(json_real_value(json_object_get(json_object_get(j, "last_run"),
						  "duration_seconds")) == 0.012);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "last_error"), "message")),
			 "Code: 60, e.displayText() = DB::Exception: \"x\"\\");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "runs")), 4);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "backlog"), "files")), 5);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "backlog"),
							    "oldest_received_time")), NOW - 125);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "backlog"),
							    "oldest_age_seconds")), 125);
	t = json_array_get(json_object_get(j, "tenants"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(t, "tenant")), "acme");
	ck_assert_int_eq(json_integer_value(json_object_get(t, "deferred")), 3);
	ck_assert_int_eq(json_integer_value(json_object_get(t, "next_retry_time")), NOW + 25);
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(t, "flushed"), "entries")),
			 1234);
	json_decref(j);

	/* Nothing known: nulls, still one valid object. */
	memset(&r, 0, sizeof(r));
	r.spool = "/x";
	r.lock = -1;
	r.state = ENOENT;
	lt_status_judge(&r);
	lt_buf_reset(&out);
	ck_assert_int_eq(lt_status_json(&out, &r), 0);
	j = json_loadb((char *)out.data, out.len, 0, &jerr);
	ck_assert_msg(j != NULL, "%s", jerr.text);
	ck_assert(json_is_null(json_object_get(j, "last_run")));
	ck_assert(json_is_null(json_object_get(j, "backlog")));
	ck_assert(json_is_null(json_object_get(json_object_get(j, "flush_lock"), "held")));
	ck_assert(json_is_null(json_object_get(json_object_get(j, "clickhouse"), "ok")));
	ck_assert_int_eq(json_integer_value(json_object_get(j, "exit_status")), 1);
	json_decref(j);
	lt_buf_free(&out);
}
END_TEST

START_TEST(test_report_text)
{
	struct lt_state_tenant flushed = {"acme", 1234, 5678, 12};
	struct lt_backlog_tenant bt;
	struct lt_status_report r;
	struct lt_buf out = LT_BUF_INIT;
	const char *s;

	sample_report(&r, &bt, &flushed);
	ck_assert_int_eq(lt_status_text(&out, &r), 0);
	ck_assert_int_eq(lt_buf_terminate(&out), 0);
	s = (char *)out.data;
	ck_assert_ptr_nonnull(strstr(s, "Flush lock:                       held by PID 4242 (logthra-flush)\n"));
	ck_assert_ptr_nonnull(strstr(s, "ClickHouse:                       not reachable: could not reach"));
	ck_assert_ptr_nonnull(strstr(s, "Last run exit status:             75 (temporary failure)\n"));
	ck_assert_ptr_nonnull(strstr(s, "Last run duration:                0.012 s\n"));
	ck_assert_ptr_nonnull(strstr(s, "Files waiting:                    5 (ready 2, deferred 3, active 0)\n"));
	ck_assert_ptr_nonnull(strstr(s, "Next retry:                       2027-01-15 08:00:25 UTC (in 25 s)\n"));
	ck_assert_ptr_nonnull(strstr(s, "\nTenant  Ready  Deferred"));
	ck_assert_ptr_nonnull(strstr(s, "\nacme        2         3"));
	lt_buf_free(&out);
}
END_TEST

static Suite *
status_suite(void)
{
	Suite *s = suite_create("status");
	TCase *tc;

	tc = tcase_create("output");
	tcase_add_test(tc, test_json_escape);
	tcase_add_test(tc, test_judge);
	tcase_add_test(tc, test_report_json);
	tcase_add_test(tc, test_report_text);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(status_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
