/* Unit tests: settings, their parsers and their precedence. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "log.h"
#include "check_config.h"
#include "options.h"

static char *
write_config(const char *text)
{
	static char path[] = "/tmp/logthra-test-options-XXXXXX";
	int fd;

	memcpy(path + sizeof(path) - 7, "XXXXXX", 6);
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ck_assert_int_eq(close(fd), 0);
	return path;
}

START_TEST(test_sizes)
{
	size_t n;

	ck_assert_int_eq(lt_parse_size("512", &n), 0);
	ck_assert_uint_eq(n, 512);
	ck_assert_int_eq(lt_parse_size("64k", &n), 0);
	ck_assert_uint_eq(n, 65536);
	ck_assert_int_eq(lt_parse_size("16MiB", &n), 0);
	ck_assert_uint_eq(n, 16u << 20);
	ck_assert_int_eq(lt_parse_size("1 GB", &n), 0);
	ck_assert_uint_eq(n, 1u << 30);
	ck_assert_int_eq(lt_parse_size("", &n), -1);
	ck_assert_int_eq(lt_parse_size("-1", &n), -1);
	ck_assert_int_eq(lt_parse_size("12q", &n), -1);
	ck_assert_int_eq(lt_parse_size("99999999999999999999", &n), -1);
	ck_assert_int_eq(lt_parse_size("17179869184G", &n), -1);
}
END_TEST

START_TEST(test_durations)
{
	int64_t ns;

	ck_assert_int_eq(lt_parse_duration("30", &ns), 0);
	ck_assert(ns == INT64_C(30000000000));
	ck_assert_int_eq(lt_parse_duration("10m", &ns), 0);
	ck_assert(ns == INT64_C(600000000000));
	ck_assert_int_eq(lt_parse_duration("7d", &ns), 0);
	ck_assert(ns == INT64_C(604800000000000));
	ck_assert_int_eq(lt_parse_duration("500ms", &ns), 0);
	ck_assert(ns == INT64_C(500000000));
	ck_assert_int_eq(lt_parse_duration("0", &ns), 0);
	ck_assert(ns == 0);
	ck_assert_int_eq(lt_parse_duration("5w", &ns), -1);
	ck_assert_int_eq(lt_parse_duration("m", &ns), -1);
	ck_assert_int_eq(lt_parse_duration("999999999999d", &ns), -1);
}
END_TEST

START_TEST(test_defaults)
{
	struct lt_options o;

	lt_options_defaults(&o);
	ck_assert_str_eq(o.database, "logs");
	ck_assert_str_eq(o.table, "log");
	ck_assert_str_eq(o.clickhouse_url, "http://127.0.0.1:8123/");
	ck_assert_ptr_null(o.default_tenant);
	ck_assert_uint_eq(o.limits.max_line_size, 256 * 1024);
	ck_assert_uint_eq(o.limits.max_label_names, 15);
	ck_assert(o.limits.creation_grace_ns == INT64_C(600000000000));
	ck_assert(o.limits.max_age_ns == 0);
	lt_options_free(&o);
}
END_TEST

START_TEST(test_set_errors)
{
	struct lt_options o;
	char err[256];

	lt_options_defaults(&o);
	ck_assert_int_eq(lt_options_set(&o, "nosuch", "1", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "unrecognized setting \"nosuch\"");
	ck_assert_int_eq(lt_options_set(&o, "max_line_size", "big", err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "invalid value \"big\" for setting \"max_line_size\""));
	ck_assert_int_eq(lt_options_set(&o, "default_tenant", "acme", err, sizeof(err)), 0);
	ck_assert_str_eq(o.default_tenant, "acme");
	ck_assert_int_eq(lt_options_set(&o, "default_tenant", "", err, sizeof(err)), 0);
	ck_assert_ptr_null(o.default_tenant);
	ck_assert_int_eq(lt_options_set(&o, "max_header_size", "1MiB", err, sizeof(err)), 0);
	ck_assert_uint_eq(o.http.max_header_size, 65536); /* clamped to the buffer */
	lt_options_free(&o);
}
END_TEST

/* defaults < config file < environment < command line */
START_TEST(test_precedence)
{
	struct lt_cli cli = {0};
	struct lt_options o;
	char *path;

	path = write_config("# comment\n\n spool = /from/file \n"
			    "database = filedb\ntable = 'filetable'\n"
			    "max_age = 7d\n");
	cli.config = path;
	ck_assert_int_eq(setenv("LOGTHRA_DATABASE", "envdb", 1), 0);
	ck_assert_int_eq(setenv("LOGTHRA_TABLE", "envtable", 1), 0);
	lt_cli_set(&cli, "-t/--table", "table", "clitable");
	ck_assert_int_eq(lt_cli_apply(&cli, &o), 0);
	ck_assert_str_eq(o.spool, "/from/file");
	ck_assert_str_eq(o.database, "envdb");
	ck_assert_str_eq(o.table, "clitable");
	ck_assert(o.limits.max_age_ns == INT64_C(604800000000000));
	ck_assert_str_eq(o.config_file, path);
	lt_options_free(&o);
	ck_assert_int_eq(unsetenv("LOGTHRA_DATABASE"), 0);
	ck_assert_int_eq(unsetenv("LOGTHRA_TABLE"), 0);
	ck_assert_int_eq(unlink(path), 0);
}
END_TEST

/* Loki's discover_log_levels: on by default, a switch, per tenant. */
START_TEST(test_discover_log_levels)
{
	struct lt_cli cli = {0};
	struct lt_options o;
	struct lt_limits l;
	char err[256], *path;

	lt_options_defaults(&o);
	ck_assert_int_eq(o.limits.discover_log_levels, 1);
	ck_assert_int_eq(lt_options_set(&o, "discover_log_levels", "no", err,
					sizeof(err)), 0);
	ck_assert_int_eq(o.limits.discover_log_levels, 0);
	ck_assert_int_eq(lt_options_set(&o, "discover_log_levels", "true", err,
					sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "expected one of no|yes"));
	lt_options_free(&o);

	path = write_config("[tenant quiet]\ndiscover_log_levels = no\n");
	cli.config = path;
	ck_assert_int_eq(lt_cli_apply(&cli, &o), 0);
	lt_options_limits_for(&o, "quiet", &l);
	ck_assert_int_eq(l.discover_log_levels, 0);
	lt_options_limits_for(&o, "acme", &l);
	ck_assert_int_eq(l.discover_log_levels, 1);
	lt_options_free(&o);
	ck_assert_int_eq(unlink(path), 0);
}
END_TEST

/* The OTLP attribute lists: unset (Loki's default index labels, nothing
 * dropped), set globally, from the environment, and per tenant, where
 * the limits point at the tenant's own text. */
START_TEST(test_otlp_lists)
{
	struct lt_cli cli = {0};
	struct lt_options o;
	struct lt_limits l;
	char err[256], *path;

	lt_options_defaults(&o);
	ck_assert_ptr_null(o.limits.otlp_index_labels);
	ck_assert_ptr_null(o.limits.otlp_drop_attributes);
	ck_assert_int_eq(lt_options_set(&o, "otlp_index_labels",
					"service.name, k8s.pod.name", err,
					sizeof(err)), 0);
	ck_assert_str_eq(o.limits.otlp_index_labels,
			 "service.name, k8s.pod.name");
	/* Empty is a list of no names, not the default. */
	ck_assert_int_eq(lt_options_set(&o, "otlp_index_labels", "", err,
					sizeof(err)), 0);
	ck_assert_ptr_nonnull(o.limits.otlp_index_labels);
	ck_assert_str_eq(o.limits.otlp_index_labels, "");
	lt_options_free(&o);

	path = write_config("otlp_drop_attributes = process.command_line\n"
			    "[tenant k8s]\n"
			    "otlp_index_labels = \"service.name k8s.namespace.name\"\n"
			    "otlp_drop_attributes = k8s.pod.uid, process.*\n");
	cli.config = path;
	ck_assert_int_eq(setenv("LOGTHRA_OTLP_INDEX_LABELS", "service.name", 1),
			 0);
	ck_assert_int_eq(lt_cli_apply(&cli, &o), 0);
	ck_assert_int_eq(unsetenv("LOGTHRA_OTLP_INDEX_LABELS"), 0);
	lt_options_limits_for(&o, "acme", &l);
	ck_assert_str_eq(l.otlp_index_labels, "service.name");
	ck_assert_str_eq(l.otlp_drop_attributes, "process.command_line");
	lt_options_limits_for(&o, "k8s", &l);
	ck_assert_str_eq(l.otlp_index_labels, "service.name k8s.namespace.name");
	ck_assert_str_eq(l.otlp_drop_attributes, "k8s.pod.uid, process.*");
	/* The tenant's lists are the options' own text, not copies. */
	ck_assert_ptr_eq(l.otlp_index_labels, o.tenant_settings[0].value);
	lt_options_free(&o);
	ck_assert_int_eq(unlink(path), 0);
}
END_TEST

/* A prefix ("process.*") is for the drop list only; the lists are
 * checked on reading, in a tenant's section too. */
START_TEST(test_otlp_lists_checked)
{
	struct lt_options o;
	char err[256], *path;

	lt_options_defaults(&o);
	ck_assert_int_eq(lt_options_set(&o, "otlp_drop_attributes", "process.*",
					err, sizeof(err)), 0);
	ck_assert_int_eq(lt_options_set(&o, "otlp_index_labels", "service.*",
					err, sizeof(err)), -1);
	ck_assert_ptr_nonnull(strstr(err, "otlp_index_labels"));
	ck_assert_ptr_null(o.limits.otlp_index_labels);
	path = write_config("[tenant acme]\notlp_index_labels = k8s.*\n");
	ck_assert_int_eq(lt_options_load(&o, path), -1);
	ck_assert_int_eq(unlink(path), 0);
	lt_options_free(&o);
}
END_TEST

/* --print-config says the effective lists: Loki's when unset. */
START_TEST(test_otlp_lists_printed)
{
	struct lt_options o;
	char got[4096], tmpl[] = "/tmp/logthra-test-print-XXXXXX";
	int fd, saved;
	ssize_t n;

	lt_options_defaults(&o);
	fd = mkstemp(tmpl);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fflush(stdout), 0);
	saved = dup(STDOUT_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fd, STDOUT_FILENO), 0);
	lt_options_print(&o);
	ck_assert_int_eq(fflush(stdout), 0);
	ck_assert_int_ge(dup2(saved, STDOUT_FILENO), 0);
	(void)close(saved);
	n = pread(fd, got, sizeof(got) - 1, 0);
	ck_assert_int_gt(n, 0);
	got[n] = '\0';
	(void)close(fd);
	ck_assert_int_eq(unlink(tmpl), 0);
	ck_assert_ptr_nonnull(strstr(got,
		"\notlp_index_labels = service.name service.namespace "
		"service.instance.id deployment.environment "
		"deployment.environment.name cloud.region "
		"cloud.availability_zone k8s.cluster.name k8s.namespace.name "
		"k8s.pod.name k8s.container.name container.name "
		"k8s.replicaset.name k8s.deployment.name k8s.statefulset.name "
		"k8s.daemonset.name k8s.cronjob.name k8s.job.name\n"));
	ck_assert_ptr_nonnull(strstr(got, "\notlp_drop_attributes = \n"));
	lt_options_free(&o);
}
END_TEST

START_TEST(test_bad_config)
{
	struct lt_options o;
	char *path;

	lt_options_defaults(&o);
	path = write_config("spool /x\n");
	ck_assert_int_eq(lt_options_load(&o, path), -1);
	ck_assert_int_eq(unlink(path), 0);
	path = write_config("max_body_size = lots\n");
	ck_assert_int_eq(lt_options_load(&o, path), -1);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(lt_options_load(&o, "/nonexistent/logthra.conf"), -1);
	ck_assert_int_eq(setenv("LOGTHRA_BATCH_MAX_ROWS", "x", 1), 0);
	ck_assert_int_eq(lt_options_load(&o, NULL), -1);
	ck_assert_int_eq(unsetenv("LOGTHRA_BATCH_MAX_ROWS"), 0);
	lt_options_free(&o);
}
END_TEST

/* The password file: its first line; refused when everyone may read it,
 * when it is missing, or when a password is set as well. */
START_TEST(test_password_file)
{
	struct lt_options o;
	char err[256];
	char *path;

	lt_options_defaults(&o);
	ck_assert_int_eq(lt_options_read_password(&o), 0);
	ck_assert_ptr_null(o.clickhouse_password);

	path = write_config("s3cret pass\nsecond line\n");
	ck_assert_int_eq(chmod(path, 0640), 0);
	ck_assert_int_eq(lt_options_set(&o, "clickhouse_password_file", path,
					err, sizeof(err)), 0);
	ck_assert_int_eq(lt_options_read_password(&o), 0);
	ck_assert_str_eq(o.clickhouse_password, "s3cret pass");
	/* Set twice: an error, not a silent choice. */
	ck_assert_int_eq(lt_options_read_password(&o), -1);
	free(o.clickhouse_password);
	o.clickhouse_password = NULL;

	ck_assert_int_eq(chmod(path, 0644), 0);
	ck_assert_int_eq(lt_options_read_password(&o), -1);
	ck_assert_ptr_null(o.clickhouse_password);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(lt_options_read_password(&o), -1);

	path = write_config("no-newline");
	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_int_eq(lt_options_set(&o, "clickhouse_password_file", path,
					err, sizeof(err)), 0);
	ck_assert_int_eq(lt_options_read_password(&o), 0);
	ck_assert_str_eq(o.clickhouse_password, "no-newline");
	ck_assert_int_eq(unlink(path), 0);
	lt_options_free(&o);
}
END_TEST

/* An empty value unsets an optional string, but the spool, the URL, the
 * database and the table must stay set: the fuzzer found "spool =" left
 * a NULL spool that logthra-recv then handed to statvfs() and printf(). */
START_TEST(test_empty_required)
{
	static const char *const required[] = {"spool", "clickhouse_url",
					       "database", "table"};
	struct lt_options o;
	char err[256], *path;
	size_t i;

	lt_options_defaults(&o);
	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		ck_assert_int_eq(lt_options_set(&o, required[i], "", err,
						 sizeof(err)), -1);
		ck_assert_ptr_nonnull(strstr(err, "cannot be empty"));
		ck_assert_ptr_nonnull(strstr(err, required[i]));
	}
	ck_assert_str_eq(o.spool, LT_DEFAULT_SPOOL);
	ck_assert_str_eq(o.clickhouse_url, "http://127.0.0.1:8123/");
	ck_assert_str_eq(o.database, "logs");
	ck_assert_str_eq(o.table, "log");
	ck_assert_int_eq(lt_options_set(&o, "clickhouse_user", "", err,
					sizeof(err)), 0);
	ck_assert_ptr_null(o.clickhouse_user);
	ck_assert_int_eq(lt_options_set(&o, "archive_dir", "", err,
					sizeof(err)), 0);
	ck_assert_ptr_null(o.archive_dir);

	path = write_config("spool =\n");
	ck_assert_int_eq(lt_options_load(&o, path), -1);
	ck_assert_int_eq(unlink(path), 0);
	path = write_config("spool = \"\"\n");
	ck_assert_int_eq(lt_options_load(&o, path), -1);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_str_eq(o.spool, LT_DEFAULT_SPOOL);
	ck_assert_int_eq(setenv("LOGTHRA_TABLE", "", 1), 0);
	path = write_config("");
	ck_assert_int_eq(lt_options_load(&o, path), -1);
	ck_assert_int_eq(unsetenv("LOGTHRA_TABLE"), 0);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_str_eq(o.table, "log");
	lt_options_free(&o);
}
END_TEST

/* A setting name that is not a word is not repeated: the message may
 * reach an HTTP answer, and "clickhouse_password hunter2 = x" must not
 * show the password there. */
START_TEST(test_unknown_name_not_echoed)
{
	struct lt_options o;
	char err[512];

	lt_options_defaults(&o);
	ck_assert_int_eq(lt_options_set(&o, "clickhouse_password hunter2", "x",
					err, sizeof(err)), -1);
	ck_assert_ptr_null(strstr(err, "hunter2"));
	ck_assert_ptr_nonnull(strstr(err, "syntax error"));
	ck_assert_int_eq(lt_options_set(&o, "max_bdy_size", "1", err,
					sizeof(err)), -1);
	ck_assert_str_eq(err, "unrecognized setting \"max_bdy_size\"");
	lt_options_free(&o);
}
END_TEST

static int check_calls;

static int
failing_check(const struct lt_options *o)
{
	(void)o;
	check_calls++;
	return -1;
}

static int
passing_check(const struct lt_options *o)
{
	ck_assert_str_eq(o->spool, "/checked");
	check_calls++;
	return 0;
}

/* --check-config: 0 for a good file, 1 with the error (PATH:LINE) kept
 * for the log, for a bad file, a missing credentials file, a password
 * file others can read, or a program's own check that fails. */
START_TEST(test_check_config)
{
	struct lt_cli cli = {0};
	char want[256], *path, pw[] = "/tmp/logthra-test-pw-XXXXXX";
	int fd;

	path = write_config("spool = /checked\n");
	cli.config = path;
	check_calls = 0;
	ck_assert_int_eq(lt_cli_check_config(&cli, 0, passing_check), 0);
	ck_assert_int_eq(check_calls, 1);
	ck_assert_int_eq(lt_cli_check_config(&cli, 0, failing_check), 1);
	ck_assert_int_eq(check_calls, 2);
	ck_assert_int_eq(unlink(path), 0);

	path = write_config("spool = /checked\n\nmax_age = soon\n");
	cli.config = path;
	lt_log_clear_last_error();
	check_calls = 0;
	ck_assert_int_eq(lt_cli_check_config(&cli, 0, passing_check), 1);
	ck_assert_int_eq(check_calls, 0);
	(void)snprintf(want, sizeof(want), "%s:3: invalid value \"soon\" "
		       "for setting \"max_age\"", path);
	ck_assert_ptr_nonnull(strstr(lt_log_last_error(), want));
	ck_assert_int_eq(unlink(path), 0);

	path = write_config("credentials_file = /nonexistent/credentials\n");
	cli.config = path;
	ck_assert_int_eq(lt_cli_check_config(&cli, 0, NULL), 0);
	lt_log_clear_last_error();
	ck_assert_int_eq(lt_cli_check_config(&cli, LT_CHECK_CREDENTIALS, NULL), 1);
	ck_assert_ptr_nonnull(strstr(lt_log_last_error(),
				     "/nonexistent/credentials"));
	ck_assert_int_eq(unlink(path), 0);

	fd = mkstemp(pw);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "secret\n", 7), 7);
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(chmod(pw, 0644), 0);
	(void)snprintf(want, sizeof(want), "clickhouse_password_file = %s\n", pw);
	path = write_config(want);
	cli.config = path;
	ck_assert_int_eq(lt_cli_check_config(&cli, LT_CHECK_PASSWORD, NULL), 1);
	ck_assert_int_eq(chmod(pw, 0600), 0);
	ck_assert_int_eq(lt_cli_check_config(&cli, LT_CHECK_PASSWORD, NULL), 0);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(unlink(pw), 0);
}
END_TEST

/* A program's modes: the first one sets it, the same one again is no
 * conflict, another is refused by both names in the order given and
 * leaves the first in place. */
START_TEST(test_cli_mode)
{
	struct lt_cli_mode m = {0};

	ck_assert_int_eq(m.mode, 0);
	ck_assert_int_eq(lt_cli_mode(&m, 3, "--status"), 0);
	ck_assert_int_eq(m.mode, 3);
	ck_assert_str_eq(m.option, "--status");
	ck_assert_int_eq(lt_cli_mode(&m, 3, "--status"), 0);
	ck_assert_int_eq(m.mode, 3);

	lt_log_clear_last_error();
	ck_assert_int_eq(lt_cli_mode(&m, 5, "--migrate"), -1);
	ck_assert_str_eq(lt_log_last_error(),
			 "options --status and --migrate cannot be used together");
	ck_assert_int_eq(m.mode, 3);
	ck_assert_str_eq(m.option, "--status");

	memset(&m, 0, sizeof(m));
	ck_assert_int_eq(lt_cli_mode(&m, 1, "-F/--follow"), 0);
	lt_log_clear_last_error();
	ck_assert_int_eq(lt_cli_mode(&m, 2, "--print-config"), -1);
	ck_assert_str_eq(lt_log_last_error(),
			 "options -F/--follow and --print-config cannot be used together");
}
END_TEST

static Suite *
options_suite(void)
{
	Suite *s = suite_create("options");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_sizes);
	tcase_add_test(tc, test_durations);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_set_errors);
	tcase_add_test(tc, test_precedence);
	tcase_add_test(tc, test_discover_log_levels);
	tcase_add_test(tc, test_otlp_lists);
	tcase_add_test(tc, test_otlp_lists_checked);
	tcase_add_test(tc, test_otlp_lists_printed);
	tcase_add_test(tc, test_bad_config);
	tcase_add_test(tc, test_password_file);
	tcase_add_test(tc, test_empty_required);
	tcase_add_test(tc, test_unknown_name_not_echoed);
	tcase_add_test(tc, test_check_config);
	tcase_add_test(tc, test_cli_mode);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(options_suite());
	int failed;

	/* The default config file must not leak into the tests. */
	(void)unsetenv("LOGTHRA_CONFIG");
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
