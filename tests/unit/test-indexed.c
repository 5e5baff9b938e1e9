/* Unit tests: the set of streams index pairs a logthra-flush process has
 * inserted (indexed.c), checked against a plain list of what was added. */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "indexed.h"

START_TEST(test_tenants_interned)
{
	struct lt_indexed ix = {0};
	const char *a = lt_indexed_tenant(&ix, "acme");
	const char *b = lt_indexed_tenant(&ix, "globex");

	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_ptr_ne(a, b);
	ck_assert_ptr_eq(lt_indexed_tenant(&ix, "acme"), a);
	ck_assert_str_eq(a, "acme");
	lt_indexed_free(&ix);
}
END_TEST

/* Each part of the key counts: another tenant, shard, stream or day is
 * another pair. */
START_TEST(test_key_parts)
{
	struct lt_indexed ix = {0};
	const char *a = lt_indexed_tenant(&ix, "acme");
	const char *b = lt_indexed_tenant(&ix, "globex");

	ck_assert_int_eq(lt_indexed_has(&ix, a, 0, 42, 19723), 0);
	ck_assert_int_eq(lt_indexed_add(&ix, a, 0, 42, 19723), 0);
	ck_assert_int_eq(lt_indexed_has(&ix, a, 0, 42, 19723), 1);
	ck_assert_int_eq(lt_indexed_has(&ix, b, 0, 42, 19723), 0);
	ck_assert_int_eq(lt_indexed_has(&ix, a, 1, 42, 19723), 0);
	ck_assert_int_eq(lt_indexed_has(&ix, a, 0, 43, 19723), 0);
	ck_assert_int_eq(lt_indexed_has(&ix, a, 0, 42, 19724), 0);
	/* Twice is once. */
	ck_assert_int_eq(lt_indexed_add(&ix, a, 0, 42, 19723), 0);
	ck_assert_uint_eq(ix.n, 1);
	lt_indexed_clear(&ix);
	ck_assert_int_eq(lt_indexed_has(&ix, a, 0, 42, 19723), 0);
	ck_assert_uint_eq(ix.n, 0);
	lt_indexed_free(&ix);
}
END_TEST

#define STREAMS 50000
#define DAYS 3
#define DOMAIN (3 * 2 * STREAMS * DAYS)

/* Pseudo-random pairs from few values, so that many repeat, checked
 * against a plain table of every possible pair; growth and the starting
 * afresh past the bound included. */
START_TEST(test_against_a_table)
{
	static unsigned char added[DOMAIN];
	struct lt_indexed ix = {0};
	const char *tenants[3];
	size_t n_added = 0, i, rounds = LT_INDEXED_MAX + 20000;
	uint64_t x = 88172645463325252u;

	memset(added, 0, sizeof(added));
	tenants[0] = lt_indexed_tenant(&ix, "a");
	tenants[1] = lt_indexed_tenant(&ix, "b");
	tenants[2] = lt_indexed_tenant(&ix, "c");
	for (i = 0; i < rounds; i++) {
		unsigned t, shard, day;
		uint64_t stream;
		size_t key;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		t = (unsigned)(x % 3);
		shard = (unsigned)(x >> 8) % 2;
		stream = (x >> 16) % STREAMS;
		day = (unsigned)((x >> 40) % DAYS);
		key = ((t * 2 + shard) * STREAMS + stream) * DAYS + day;
		ck_assert_int_eq(lt_indexed_has(&ix, tenants[t], shard, stream,
						19723 + (int32_t)day), added[key]);
		if (added[key])
			continue;
		if (n_added == LT_INDEXED_MAX) { /* the set starts afresh */
			memset(added, 0, sizeof(added));
			n_added = 0;
		}
		ck_assert_int_eq(lt_indexed_add(&ix, tenants[t], shard, stream,
						19723 + (int32_t)day), 0);
		added[key] = 1;
		n_added++;
		ck_assert_uint_eq(ix.n, n_added);
	}
	ck_assert_uint_le(ix.n, LT_INDEXED_MAX);
	lt_indexed_free(&ix);
}
END_TEST

static Suite *
indexed_suite(void)
{
	Suite *s = suite_create("indexed");
	TCase *tc = tcase_create("pairs");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_tenants_interned);
	tcase_add_test(tc, test_key_parts);
	tcase_add_test(tc, test_against_a_table);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(indexed_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
