/* Unit tests: the retry schedule of deferred files. */
#include "config.h"

#include <check.h>
#include <stdlib.h>

#include "flush.h"

#define NOW INT64_C(1800000000)

START_TEST(test_young_file_waits_the_minimum)
{
	/* Received 5 s ago: the minimum, 30 s. */
	ck_assert(lt_retry_time(NOW, NOW - 5, 30, 600) == NOW + 30);
	/* Clock skew (received "in the future"): still the minimum. */
	ck_assert(lt_retry_time(NOW, NOW + 100, 30, 600) == NOW + 30);
}
END_TEST

START_TEST(test_delay_grows_with_age)
{
	ck_assert(lt_retry_time(NOW, NOW - 45, 30, 600) == NOW + 45);
	ck_assert(lt_retry_time(NOW, NOW - 300, 30, 600) == NOW + 300);
}
END_TEST

START_TEST(test_old_file_waits_the_maximum)
{
	ck_assert(lt_retry_time(NOW, NOW - 86400, 30, 600) == NOW + 600);
}
END_TEST

/* The growth over a long outage: each retry comes at about twice the
 * file's age, until the maximum; a 1 h outage costs few attempts. */
START_TEST(test_attempts_over_an_outage)
{
	int64_t t = NOW, received = NOW;
	int attempts = 0;

	while (t < NOW + 3600) {
		t = lt_retry_time(t, received, 30, 600);
		attempts++;
	}
	ck_assert_int_le(attempts, 12);
	ck_assert_int_ge(attempts, 8);
}
END_TEST

START_TEST(test_zero_means_at_once)
{
	ck_assert(lt_retry_time(NOW, NOW - 1000, 0, 0) == NOW);
}
END_TEST

static Suite *
flush_suite(void)
{
	Suite *s = suite_create("flush");
	TCase *tc = tcase_create("retry schedule");

	tcase_add_test(tc, test_young_file_waits_the_minimum);
	tcase_add_test(tc, test_delay_grows_with_age);
	tcase_add_test(tc, test_old_file_waits_the_maximum);
	tcase_add_test(tc, test_attempts_over_an_outage);
	tcase_add_test(tc, test_zero_means_at_once);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(flush_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
