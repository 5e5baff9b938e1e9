/* Fuzz target: the SQL translation of LogQL (query_sql.c).
 *
 * Every input that parses as a log query is translated into each
 * statement logthra-query sends (the log query, labels, label values,
 * series, index stats), on both table layouts.  Whatever the query
 * holds, the statements keep its text inside string literals: outside
 * them a statement has only the bytes query_sql.c itself writes (names,
 * numbers, operators, lambdas, parentheses, commas, spaces), no statement
 * separator or comment, balanced parentheses, and every literal is
 * closed.  The literals' own reading is fuzz-sql-quote.c's. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logql.h"
#include "query_sql.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The bytes query_sql.c writes outside literals. */
static int
structural(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == ' ' || c == ',' ||
	       c == '.' || c == '(' || c == ')' || c == '=' || c == '<' ||
	       c == '>' || c == '!' || c == '+' || c == '-' || c == '*' ||
	       c == '\n';
}

/* Aborts unless s[0..len) is a statement whose request text stays in
 * closed literals. */
static void
check_statement(const unsigned char *s, size_t len)
{
	size_t i = 0;
	long depth = 0;

	while (i < len) {
		unsigned char c = s[i];

		if (c == '\'') {
			/* A literal: to its closing quote, over escapes. */
			for (i++; i < len && s[i] != '\''; i++)
				if (s[i] == '\\')
					i++;
			if (i >= len)
				abort();
			i++;
			continue;
		}
		/* No ';', no comment: "/" is not among the bytes, and a
		 * lambda's "->" never follows another '-'. */
		if (!structural(c) || (c == '-' && i + 1 < len && s[i + 1] == '-'))
			abort();
		if (c == '(')
			depth++;
		else if (c == ')' && --depth < 0)
			abort();
		i++;
	}
	if (depth != 0)
		abort();
}

static void
check(int rc, struct lt_buf *b)
{
	if (rc < 0)
		abort(); /* valid names and a parsed tree: only memory fails */
	check_statement(b->data, b->len);
	lt_buf_reset(b);
}

static void
translate(const struct lt_logql *q, const struct lt_sql_target *t)
{
	struct lt_sql_range r = {"te'n\\ant", 1700000000000000000,
				 1700086400000000000};
	struct lt_buf b = LT_BUF_INIT;
	unsigned char *pushed = calloc(q->n_stages + 1, 1);
	const struct lt_logql *qs[2] = {q, q};

	if (pushed == NULL)
		abort();
	check(lt_sql_log_query(&b, t, q, &r, 0, 100, pushed), &b);
	check(lt_sql_log_query(&b, t, q, &r, 1, 0, pushed), &b);
	check(lt_sql_labels(&b, t, q, &r), &b);
	check(lt_sql_label_values(&b, t, "app", q, &r), &b);
	check(lt_sql_series(&b, t, qs, 2, &r, 500), &b);
	check(lt_sql_index_stats(&b, t, q, &r), &b);
	lt_buf_free(&b);
	free(pushed);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct lt_sql_target portable = {
		"logs", "log", "log_streams", LT_LAYOUT_PORTABLE,
	};
	static const struct lt_sql_target current = {
		"logs", "log", "log_streams", LT_LAYOUT_CURRENT,
	};
	char why[512];
	struct lt_logql *q;

	q = lt_logql_parse((const char *)data, size, why, sizeof(why));
	if (q == NULL)
		return 0;
	translate(q, &portable);
	translate(q, &current);
	lt_logql_free(q);
	return 0;
}
