/* Unit tests: the state file, the record of a run, the last error as
 * the state file gets it, and the metrics file. */
#define _GNU_SOURCE 1
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flush_state.h"
#include "prom.h"
#include "log.h"
#include "testutil.h"

#define NOW INT64_C(1800000000)

static char tmpdir[256];
static char path_buf[4096];

/* --- fixtures --- */

static void
setup(void)
{
	tu_tmpdir(tmpdir, sizeof(tmpdir), "lt-flush-state");
}

static void
teardown(void)
{
	(void)tu_rm_rf(tmpdir);
}

static const char *
at(const char *rel)
{
	(void)snprintf(path_buf, sizeof(path_buf), "%s/%s", tmpdir, rel);
	return path_buf;
}

static void
write_file(const char *path, const void *data, size_t len)
{
	tu_write_file(path, data, len, 0644);
}

/* --- the state file --- */

static void
stats_with(struct lt_flush_stats *st, const char *t1, uint64_t e1,
	   const char *t2, uint64_t e2)
{
	memset(st, 0, sizeof(*st));
	st->tenants = calloc(2, sizeof(*st->tenants));
	ck_assert_ptr_nonnull(st->tenants);
	(void)snprintf(st->tenants[0].tenant, sizeof(st->tenants[0].tenant), "%s", t1);
	st->tenants[0].entries = e1;
	st->tenants[0].bytes = e1 * 100;
	st->tenants[0].files = 1;
	st->n_tenants = 1;
	if (t2 != NULL) {
		(void)snprintf(st->tenants[1].tenant, sizeof(st->tenants[1].tenant), "%s", t2);
		st->tenants[1].entries = e2;
		st->tenants[1].bytes = e2 * 100;
		st->tenants[1].files = 2;
		st->n_tenants = 2;
	}
}

START_TEST(test_state_round_trip)
{
	struct lt_state s = {0}, back;
	struct lt_flush_stats st;
	struct lt_buf text = LT_BUF_INIT, again = LT_BUF_INIT;
	char err[256];

	stats_with(&st, "zeta", 5, "acme", 7);
	ck_assert_int_eq(lt_state_add_run(&s, &st, 0, NOW, 12345, NULL), 0);
	lt_flush_stats_free(&st);
	stats_with(&st, "acme", 1, NULL, 0);
	ck_assert_int_eq(lt_state_add_run(&s, &st, 75, NOW + 30, 2000000,
					  "could not reach\nClickHouse\t(down)"), 0);
	lt_flush_stats_free(&st);
	ck_assert(s.runs == 2);
	ck_assert(s.failures == 1);
	ck_assert(s.last_success_time == NOW);
	ck_assert(s.last_error_time == NOW + 30);
	ck_assert_str_eq(s.last_error, "could not reach ClickHouse (down)");
	/* Sorted by tenant, counts added up. */
	ck_assert_uint_eq(s.n_tenants, 2);
	ck_assert_str_eq(s.tenants[0].tenant, "acme");
	ck_assert(s.tenants[0].entries == 8 && s.tenants[0].files == 2 + 1);
	ck_assert(s.tenants[0].bytes == 800);
	ck_assert_str_eq(s.tenants[1].tenant, "zeta");

	ck_assert_int_eq(lt_state_format(&s, &text), 0);
	ck_assert_int_eq(lt_buf_terminate(&text), 0);
	ck_assert_ptr_nonnull(strstr((char *)text.data, "\nversion 1\n"));
	ck_assert_ptr_nonnull(strstr((char *)text.data, "\ntenant acme 8 800 3\n"));
	ck_assert_ptr_nonnull(strstr((char *)text.data, "\nlast_exit_status 75\n"));
	ck_assert_int_eq(lt_state_parse(&back, (char *)text.data, text.len, err,
					sizeof(err)), 0);
	ck_assert_int_eq(lt_state_format(&back, &again), 0);
	ck_assert_uint_eq(again.len, text.len);
	ck_assert_mem_eq(again.data, text.data, text.len);
	ck_assert(back.last_run_duration_us == 2000000);
	ck_assert(back.last_run_time == NOW + 30);

	/* A later run without an error keeps the last one. */
	memset(&st, 0, sizeof(st));
	ck_assert_int_eq(lt_state_add_run(&back, &st, 0, NOW + 60, 1, ""), 0);
	ck_assert_str_eq(back.last_error, "could not reach ClickHouse (down)");
	ck_assert(back.last_error_time == NOW + 30);
	ck_assert(back.last_success_time == NOW + 60);

	lt_state_free(&s);
	lt_state_free(&back);
	lt_buf_free(&text);
	lt_buf_free(&again);
}
END_TEST

static const char *const good_state =
	"# a comment\n"
	"version 1\n"
	"\n"
	"last_run_time 1800000000\n"
	"a_later_key whatever it says\n"
	"runs 3\n"
	"failures 1\n"
	"tenant acme 10 1000 2\n"
	"end\n";

START_TEST(test_state_lenient_where_it_may_be)
{
	struct lt_state s;
	char err[256];

	ck_assert_int_eq(lt_state_parse(&s, good_state, strlen(good_state), err,
					sizeof(err)), 0);
	ck_assert(s.runs == 3 && s.failures == 1);
	ck_assert(s.last_run_time == NOW);
	ck_assert_ptr_null(s.last_error);
	ck_assert_uint_eq(s.n_tenants, 1);
	ck_assert(s.tenants[0].entries == 10);
	lt_state_free(&s);
}
END_TEST

static const char *const bad_states[] = {
	"",
	"runs 3\nend\n",
	"version 2\nend\n",
	"version 1\n",
	"version 1\nruns 3\n",
	"version 1\nruns 3\nend",
	"version 1\nruns 3x\nend\n",
	"version 1\nruns -3\nend\n",
	"version 1\nruns  3\nend\n",
	"version 1\nruns\nend\n",
	"version 1\nruns 99999999999999999999\nend\n",
	"version 1\nruns 3\nruns 4\nend\n",
	"version 1\nlast_exit_status 256\nend\n",
	"version 1\ntenant acme 1 2 3\ntenant acme 1 2 3\nend\n",
	"version 1\ntenant a/b 1 2 3\nend\n",
	"version 1\ntenant .. 1 2 3\nend\n",
	"version 1\ntenant acme 1 2\nend\n",
	"version 1\ntenant acme 1 2 3 4\nend\n",
	"version 1\nend x\n",
	"version 1\nend\nruns 3\n",
	"version 1\nru\0s 3\nend\n",
};

START_TEST(test_state_corrupt)
{
	struct lt_state s;
	char err[256];
	size_t len = strlen(bad_states[_i]);

	if (_i == (int)(sizeof(bad_states) / sizeof(bad_states[0])) - 1)
		len = sizeof("version 1\nru\0s 3\nend\n") - 1;
	err[0] = '\0';
	ck_assert_msg(lt_state_parse(&s, bad_states[_i], len, err, sizeof(err)) == -1,
		      "accepted bad state %d", _i);
	ck_assert_msg(err[0] != '\0', "no reason for bad state %d", _i);
	/* Nothing half-read is left behind. */
	ck_assert(s.runs == 0 && s.n_tenants == 0 && s.last_error == NULL);
}
END_TEST

START_TEST(test_state_file)
{
	struct lt_state s = {0}, back;
	struct lt_flush_stats st;
	struct lt_options o;
	struct stat sb;
	char err[512];

	ck_assert_int_eq(lt_state_read(tmpdir, &back, err, sizeof(err)), ENOENT);
	stats_with(&st, "acme", 5, NULL, 0);
	ck_assert_int_eq(lt_state_add_run(&s, &st, 0, NOW, 1, NULL), 0);
	ck_assert_int_eq(lt_state_write(tmpdir, &s, err, sizeof(err)), 0);
	ck_assert_int_eq(stat(at("flush.state.tmp"), &sb), -1);
	ck_assert_int_eq(lt_state_read(tmpdir, &back, err, sizeof(err)), 0);
	ck_assert(back.runs == 1 && back.tenants[0].entries == 5);
	lt_state_free(&back);

	/* A run adds to the file. */
	memset(&o, 0, sizeof(o));
	o.spool = tmpdir;
	lt_state_record_run(&o, &st, 65, NOW + 1, 2, "quarantined");
	ck_assert_int_eq(lt_state_read(tmpdir, &back, err, sizeof(err)), 0);
	ck_assert(back.runs == 2 && back.failures == 1);
	ck_assert(back.tenants[0].entries == 10);
	ck_assert_str_eq(back.last_error, "quarantined");
	lt_state_free(&back);

	/* A corrupt file is reported, and the next run starts afresh. */
	write_file(at("flush.state"), "version 1\nruns 7\n", 17);
	ck_assert_int_eq(lt_state_read(tmpdir, &back, err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "is corrupt"));
	ck_assert_ptr_nonnull(strstr(err, "end"));
	lt_state_record_run(&o, &st, 0, NOW + 2, 3, NULL);
	ck_assert_int_eq(lt_state_read(tmpdir, &back, err, sizeof(err)), 0);
	ck_assert(back.runs == 1 && back.failures == 0);
	ck_assert(back.tenants[0].entries == 5);
	lt_state_free(&back);

	/* Not a regular file: unusable, never followed. */
	ck_assert_int_eq(unlink(at("flush.state")), 0);
	ck_assert_int_eq(symlink("/etc/passwd", at("flush.state")), 0);
	ck_assert_int_ne(lt_state_read(tmpdir, &back, err, sizeof(err)), 0);
	ck_assert_int_ne(lt_state_read(tmpdir, &back, err, sizeof(err)), ENOENT);

	lt_flush_stats_free(&st);
	lt_state_free(&s);
}
END_TEST

/* --- the last error, as the state file gets it --- */

START_TEST(test_last_error)
{
	lt_log_clear_last_error();
	ck_assert_str_eq(lt_log_last_error(), "");
	lt_error("could not insert %d rows", 2);
	lt_detail("Code: 16, DB::Exception:\nNo such column");
	lt_hint("a hint is not kept");
	lt_detail("nor a detail after it");
	ck_assert_str_eq(lt_log_last_error(),
			 "could not insert 2 rows: Code: 16, DB::Exception: No such column");
	lt_warning("a warning is not kept");
	ck_assert_str_eq(lt_log_last_error(),
			 "could not insert 2 rows: Code: 16, DB::Exception: No such column");
	lt_error("the last one wins");
	ck_assert_str_eq(lt_log_last_error(), "the last one wins");
	lt_log_clear_last_error();
	ck_assert_str_eq(lt_log_last_error(), "");
}
END_TEST

/* --- escaping --- */

START_TEST(test_prom_label_escape)
{
	struct lt_buf b = LT_BUF_INIT;

	ck_assert_int_eq(lt_prom_label_value(&b, "a\"b\\c\nd'e"), 0);
	ck_assert_int_eq(lt_buf_terminate(&b), 0);
	ck_assert_str_eq((char *)b.data, "\"a\\\"b\\\\c\\nd'e\"");
	lt_buf_free(&b);
}
END_TEST

/* --- the metrics file --- */

/* Checks text line by line against the text format: HELP and TYPE
 * before a family's samples, each family once and contiguous, counters
 * named *_total, label values escaped, a line end at the end.  Returns
 * the number of samples. */
static int
check_exposition(const char *text)
{
	regex_t help, type, sample;
	char family[128] = "", typed[128] = "", seen[4096] = " ";
	const char *p = text, *nl;
	regmatch_t m[3];
	int samples = 0;

	ck_assert_int_eq(regcomp(&help, "^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) [^\n]*$",
				 REG_EXTENDED), 0);
	ck_assert_int_eq(regcomp(&type, "^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge)$",
				 REG_EXTENDED), 0);
	ck_assert_int_eq(regcomp(&sample,
				 "^([a-zA-Z_:][a-zA-Z0-9_:]*)"
				 "(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\n]|\\\\[\\\\\"n])*\""
				 "(,[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\\n]|\\\\[\\\\\"n])*\")*\\})?"
				 " -?[0-9]+(\\.[0-9]+)?$",
				 REG_EXTENDED), 0);
	ck_assert(*text != '\0');
	ck_assert(text[strlen(text) - 1] == '\n');
	for (; *p; p = nl + 1) {
		char line[1024], name[128], key[140];
		size_t n;

		nl = strchr(p, '\n');
		n = (size_t)(nl - p);
		ck_assert_uint_lt(n, sizeof(line));
		memcpy(line, p, n);
		line[n] = '\0';
		if (regexec(&help, line, 3, m, 0) == 0) {
			(void)snprintf(family, sizeof(family), "%.*s",
				       (int)(m[1].rm_eo - m[1].rm_so), line + m[1].rm_so);
			(void)snprintf(key, sizeof(key), " %s ", family);
			ck_assert_msg(strstr(seen, key) == NULL, "family %s twice", family);
			ck_assert_uint_lt(strlen(seen) + strlen(key), sizeof(seen));
			memcpy(seen + strlen(seen), key + 1, strlen(key));
			typed[0] = '\0';
			continue;
		}
		if (regexec(&type, line, 3, m, 0) == 0) {
			(void)snprintf(typed, sizeof(typed), "%.*s",
				       (int)(m[1].rm_eo - m[1].rm_so), line + m[1].rm_so);
			ck_assert_str_eq(typed, family);
			if (strncmp(line + m[2].rm_so, "counter", 7) == 0)
				ck_assert_msg(n > 6 && strcmp(typed + strlen(typed) - 6, "_total") == 0,
					      "counter %s without _total", typed);
			continue;
		}
		ck_assert_msg(regexec(&sample, line, 3, m, 0) == 0, "bad line: %s", line);
		(void)snprintf(name, sizeof(name), "%.*s",
			       (int)(m[1].rm_eo - m[1].rm_so), line + m[1].rm_so);
		ck_assert_msg(typed[0] != '\0' && strcmp(name, typed) == 0,
			      "sample %s outside its family %s", name, typed);
		samples++;
	}
	regfree(&help);
	regfree(&type);
	regfree(&sample);
	return samples;
}

START_TEST(test_metrics_format)
{
	struct lt_state_tenant flushed[2] = {
		{"acme", 10, 1000, 2},
		{"we\"ird\\one\nx", 1, 2, 3},
	};
	struct lt_backlog_tenant bt[1];
	struct lt_state s;
	struct lt_backlog b;
	struct lt_buf text = LT_BUF_INIT;
	char err[512];
	struct stat sb;
	mode_t old_mask;

	memset(&s, 0, sizeof(s));
	s.tenants = flushed;
	s.n_tenants = 2;
	s.runs = 5;
	s.failures = 2;
	s.last_run_time = NOW;
	s.last_run_duration_us = 1500;
	s.last_exit_status = 75;
	s.last_success_time = NOW - 30;
	memset(bt, 0, sizeof(bt));
	bt[0].tenant = "acme";
	bt[0].files[LT_BL_READY] = 3;
	bt[0].files[LT_BL_QUARANTINE] = 1;
	bt[0].entries = 6;
	bt[0].bytes = 700;
	bt[0].oldest_ns = (NOW - 90) * 1000000000;
	memset(&b, 0, sizeof(b));
	b.v = bt;
	b.n = 1;

	ck_assert_int_eq(lt_metrics_format(&text, &s, &b, NOW), 0);
	ck_assert_int_eq(lt_buf_terminate(&text), 0);
	/* 3 families x 2 tenants, 2 run counters, 4 + 3 backlog samples, 4
	 * last-run gauges. */
	ck_assert_int_eq(check_exposition((char *)text.data), 6 + 2 + 4 + 3 + 4);
	ck_assert_ptr_nonnull(strstr((char *)text.data,
				     "\nlogthra_flush_entries_total{tenant=\"acme\"} 10\n"));
	ck_assert_ptr_nonnull(strstr((char *)text.data,
				     "\nlogthra_flush_files_total{tenant=\"we\\\"ird\\\\one\\nx\"} 3\n"));
	ck_assert_ptr_nonnull(strstr((char *)text.data,
				     "\nlogthra_backlog_files{tenant=\"acme\",state=\"quarantine\"} 1\n"));
	ck_assert_ptr_nonnull(strstr((char *)text.data,
				     "\nlogthra_backlog_oldest_seconds{tenant=\"acme\"} 90\n"));
	ck_assert_ptr_nonnull(strstr((char *)text.data,
				     "\nlogthra_flush_last_run_duration_seconds 0.001500\n"));
	ck_assert_ptr_nonnull(strstr((char *)text.data,
				     "\n# TYPE logthra_flush_runs_total counter\nlogthra_flush_runs_total 5\n"));
	ck_assert_ptr_nonnull(strstr((char *)text.data,
				     "\nlogthra_flush_last_exit_status 75\n"));

	/* Readable by node_exporter whatever the umask. */
	old_mask = umask(077);
	ck_assert_int_eq(lt_metrics_write(at("m.prom"), &text, err, sizeof(err)), 0);
	(void)umask(old_mask);
	ck_assert_int_eq(stat(at("m.prom"), &sb), 0);
	ck_assert_int_eq(sb.st_size, (off_t)text.len);
	ck_assert_int_eq(sb.st_mode & 07777, 0644);
	ck_assert_int_eq(stat(at("m.prom.tmp"), &sb), -1);
	ck_assert_int_ne(lt_metrics_write(at("no/such/dir.prom"), &text, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(err, "no/such/dir.prom.tmp"));
	lt_buf_free(&text);
}
END_TEST

static Suite *
flush_state_suite(void)
{
	Suite *s = suite_create("flush_state");
	TCase *tc;

	tc = tcase_create("state file");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_state_round_trip);
	tcase_add_test(tc, test_state_lenient_where_it_may_be);
	tcase_add_loop_test(tc, test_state_corrupt, 0,
			    (int)(sizeof(bad_states) / sizeof(bad_states[0])));
	tcase_add_test(tc, test_state_file);
	tcase_add_test(tc, test_last_error);
	suite_add_tcase(s, tc);

	tc = tcase_create("metrics file");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_prom_label_escape);
	tcase_add_test(tc, test_metrics_format);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(flush_state_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
