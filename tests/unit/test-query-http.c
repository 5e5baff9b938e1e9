/* Unit tests: logthra-query's front: form decoding, Loki's times and
 * durations, limits and their messages, routing, tenants with read and
 * write tokens, and the streamed answer.  The engine is a stand-in that
 * records what it was asked; the parser is the real one (logql.c). */
#include "config.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "http.h"
#include "options.h"
#include "query_cli.h"
#include "query_http.h"
#include "recv.h"

#define S INT64_C(1000000000)
/* "now" of every test: 2023-11-14T22:13:20Z. */
#define NOW (INT64_C(1700000000) * S)

/* --- The stand-in engine --- */

static struct {
	int opened, closed, calls;
	const char *what;
	struct lt_log_request req;
	struct lt_sql_range range;
	char name[64];
	size_t n_groups;
	int have_q;
	struct lt_volume_request volume;
	char targets[64];                 /* the target labels, joined by '|' */
	struct lt_fields_request fields;
	char values_of[64];
	struct lt_metric_request metric;  /* e is not kept: the kinds are */
	enum lt_expr_kind kind;
	enum lt_range_op range_op;
	int64_t range_ns;
} seen;

static struct lt_ch *
fake_open(const struct lt_options *o, const struct lt_query_limits *lim,
	  struct lt_sql_target *t, struct lt_query_error *err)
{
	static int token;

	(void)o;
	(void)lim;
	(void)err;
	t->database = "logs";
	t->table = "log";
	t->streams_table = "log_streams";
	seen.opened++;
	return (struct lt_ch *)&token;
}

static void
fake_close(struct lt_ch *ch)
{
	(void)ch;
	seen.closed++;
}

static int
answer(const struct lt_query_sink *sink, const char *what)
{
	seen.what = what;
	seen.calls++;
	return sink->write(sink->ctx, "{}", 2);
}

static int
fake_logs(struct lt_ch *ch, const struct lt_sql_target *t,
	  const struct lt_query_limits *lim, const struct lt_log_request *req,
	  const struct lt_query_sink *sink, struct lt_query_error *err)
{
	(void)ch;
	(void)t;
	(void)lim;
	(void)err;
	seen.req = *req;
	seen.range = req->range;
	return answer(sink, "logs");
}

static int
fake_labels(struct lt_ch *ch, const struct lt_sql_target *t,
	    const struct lt_logql *q, const struct lt_sql_range *r,
	    const struct lt_query_sink *sink, struct lt_query_error *err)
{
	(void)ch;
	(void)t;
	(void)err;
	seen.range = *r;
	seen.have_q = q != NULL;
	return answer(sink, "labels");
}

static int
fake_values(struct lt_ch *ch, const struct lt_sql_target *t,
	    const char *name, const struct lt_logql *q,
	    const struct lt_sql_range *r, const struct lt_query_sink *sink,
	    struct lt_query_error *err)
{
	(void)ch;
	(void)t;
	(void)err;
	seen.range = *r;
	seen.have_q = q != NULL;
	(void)snprintf(seen.name, sizeof(seen.name), "%s", name);
	return answer(sink, "values");
}

static int
fake_series(struct lt_ch *ch, const struct lt_sql_target *t,
	    const struct lt_query_limits *lim, const struct lt_logql *const *q,
	    size_t n, const struct lt_sql_range *r,
	    const struct lt_query_sink *sink, struct lt_query_error *err)
{
	(void)ch;
	(void)t;
	(void)lim;
	(void)q;
	(void)err;
	seen.range = *r;
	seen.n_groups = n;
	return answer(sink, "series");
}

static int
fake_stats(struct lt_ch *ch, const struct lt_sql_target *t,
	   const struct lt_logql *q, const struct lt_sql_range *r,
	   const struct lt_query_sink *sink, struct lt_query_error *err)
{
	(void)ch;
	(void)t;
	(void)err;
	seen.range = *r;
	seen.have_q = q != NULL;
	return answer(sink, "stats");
}

static int
fake_volume(struct lt_ch *ch, const struct lt_sql_target *t,
	    const struct lt_query_limits *lim,
	    const struct lt_volume_request *req,
	    const struct lt_query_sink *sink, struct lt_query_error *err)
{
	size_t i, o = 0;

	(void)ch;
	(void)t;
	(void)lim;
	(void)err;
	seen.volume = *req;
	seen.range = req->range;
	seen.have_q = req->q != NULL;
	for (i = 0; i < req->n_target_labels; i++)
		o += (size_t)snprintf(seen.targets + o, sizeof(seen.targets) - o,
				      "%s%s", i > 0 ? "|" : "",
				      req->target_labels[i]);
	return answer(sink, "volume");
}

static int
fake_detected_labels(struct lt_ch *ch, const struct lt_sql_target *t,
		     const struct lt_query_limits *lim,
		     const struct lt_logql *q, const struct lt_sql_range *r,
		     const struct lt_query_sink *sink,
		     struct lt_query_error *err)
{
	(void)ch;
	(void)t;
	(void)lim;
	(void)err;
	seen.range = *r;
	seen.have_q = q != NULL;
	return answer(sink, "detected_labels");
}

static int
fake_detected_fields(struct lt_ch *ch, const struct lt_sql_target *t,
		     const struct lt_query_limits *lim,
		     const struct lt_fields_request *req,
		     const struct lt_query_sink *sink,
		     struct lt_query_error *err)
{
	(void)ch;
	(void)t;
	(void)lim;
	(void)err;
	seen.fields = *req;
	seen.range = req->range;
	seen.have_q = req->q != NULL;
	(void)snprintf(seen.values_of, sizeof(seen.values_of), "%s",
		       req->values_of != NULL ? req->values_of : "(none)");
	return answer(sink, "detected_fields");
}

static int
fake_metric(struct lt_ch *ch, const struct lt_sql_target *t,
	    const struct lt_query_limits *lim,
	    const struct lt_metric_request *req,
	    const struct lt_query_sink *sink, struct lt_query_error *err)
{
	const struct lt_expr *e = req->e;

	(void)ch;
	(void)t;
	(void)lim;
	(void)err;
	seen.metric = *req;
	seen.metric.e = NULL;
	seen.kind = e->kind;
	/* The leaf under a vector aggregation. */
	while (e->kind == LT_EXPR_VECTOR_AGG)
		e = e->left;
	seen.range_op = e->range_op;
	seen.range_ns = e->kind == LT_EXPR_RANGE ? e->range_ns : 0;
	return answer(sink, "metric");
}

static const struct lt_query_engine fake = {
	.open = fake_open,
	.close = fake_close,
	.logs = fake_logs,
	.labels = fake_labels,
	.label_values = fake_values,
	.series = fake_series,
	.index_stats = fake_stats,
	.metric = fake_metric,
	.volume = fake_volume,
	.detected_labels = fake_detected_labels,
	.detected_fields = fake_detected_fields,
};

static int
buf_write(void *ctx, const void *data, size_t len)
{
	return lt_buf_append(ctx, data, len);
}

/* --- Helpers --- */

static struct lt_options opts;
static char dir[] = "/tmp/test-query-http.XXXXXX";
static char conf[256];

static void
setup(void)
{
	memset(&seen, 0, sizeof(seen));
	lt_options_defaults(&opts);
}

static void
teardown(void)
{
	lt_options_free(&opts);
}

/* Runs an endpoint with the form text as its query string. */
static int
run(enum lt_query_endpoint ep, const char *tenant, const char *query,
    struct lt_query_error *err)
{
	struct lt_buf out = LT_BUF_INIT;
	struct lt_query_sink sink = {buf_write, &out};
	struct lt_form form;
	char why[256];
	int rc;

	lt_form_init(&form);
	ck_assert_int_eq(lt_form_parse(&form, query, strlen(query), why,
				       sizeof(why)), 0);
	rc = lt_query_run(&opts, &fake, ep, "app", tenant, &form, NOW, &sink,
			  err);
	if (rc == 0) {
		ck_assert_int_eq(lt_buf_terminate(&out), 0);
		ck_assert_str_eq((char *)out.data, "{}");
	} else
		ck_assert_uint_eq(out.len, 0);
	lt_form_free(&form);
	lt_buf_free(&out);
	return rc;
}

static void
refused(enum lt_query_endpoint ep, const char *query, int status,
	const char *message)
{
	struct lt_query_error err;

	ck_assert_int_eq(run(ep, "acme", query, &err), -1);
	ck_assert_int_eq(err.status, status);
	ck_assert_str_eq(err.message, message);
	ck_assert_int_eq(seen.calls, 0);
}

static void
time_is(const char *text, int64_t want)
{
	char why[256] = "";
	int64_t ns = 0;

	ck_assert_msg(lt_query_parse_time(text, &ns, why, sizeof(why)) == 0,
		      "%s: %s", text, why);
	ck_assert_msg(ns == want, "%s: %lld, not %lld", text, (long long)ns,
		      (long long)want);
}

static void
time_bad(const char *text, const char *message)
{
	char why[256] = "";
	int64_t ns;

	ck_assert_int_eq(lt_query_parse_time(text, &ns, why, sizeof(why)), -1);
	ck_assert_str_eq(why, message);
}

/* --- Forms --- */

START_TEST(test_form_decoding)
{
	struct lt_form f;
	char why[256];
	const char *text = "a=1&b=x+y&c=%41%42&a=2&q=%7Bapp%3D%22api%22%7D";

	lt_form_init(&f);
	ck_assert_int_eq(lt_form_parse(&f, text, strlen(text), why, sizeof(why)), 0);
	ck_assert_uint_eq(f.n, 5);
	ck_assert_str_eq(lt_form_get(&f, "a"), "1");       /* the first */
	ck_assert_str_eq(f.fields[3].name, "a");
	ck_assert_str_eq(f.fields[3].value, "2");          /* repeated */
	ck_assert_str_eq(lt_form_get(&f, "b"), "x y");
	ck_assert_str_eq(lt_form_get(&f, "c"), "AB");
	ck_assert_str_eq(lt_form_get(&f, "q"), "{app=\"api\"}");
	ck_assert_ptr_null(lt_form_get(&f, "d"));
	lt_form_free(&f);

	/* No '=': value ""; "=v": name ""; empty fields skipped; a NUL
	 * and a '+' in a name. */
	text = "flag&=v&&x=&n%2Bm=%00z&a+b=1";
	ck_assert_int_eq(lt_form_parse(&f, text, strlen(text), why, sizeof(why)), 0);
	ck_assert_uint_eq(f.n, 5);
	ck_assert_str_eq(f.fields[0].name, "flag");
	ck_assert_str_eq(f.fields[0].value, "");
	ck_assert_str_eq(f.fields[1].name, "");
	ck_assert_str_eq(f.fields[1].value, "v");
	ck_assert_ptr_null(lt_form_get(&f, "x"));          /* "" as Go's Get */
	ck_assert_str_eq(f.fields[3].name, "n+m");
	ck_assert_uint_eq(f.fields[3].value_len, 2);
	ck_assert_int_eq(f.fields[3].value[0], '\0');
	ck_assert_int_eq(f.fields[3].value[1], 'z');
	ck_assert_str_eq(f.fields[4].name, "a b");
	lt_form_free(&f);
}
END_TEST

START_TEST(test_form_errors)
{
	static const struct {
		const char *text, *message;
	} bad[] = {
		{"%zz=1", "invalid URL escape \"%zz\""},
		{"a=%4", "invalid URL escape \"%4\""},
		{"a=%", "invalid URL escape \"%\""},
		{"a=%g1b", "invalid URL escape \"%g1\""},
		{"a=1;b=2", "invalid semicolon separator in query"},
	};
	struct lt_form f;
	char why[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		lt_form_init(&f);
		ck_assert_int_eq(lt_form_parse(&f, bad[i].text,
					       strlen(bad[i].text), why,
					       sizeof(why)), -1);
		ck_assert_str_eq(why, bad[i].message);
		lt_form_free(&f);
	}
}
END_TEST

/* --- Times --- */

START_TEST(test_time_integers)
{
	/* Up to 1e10: seconds; above: nanoseconds. */
	time_is("1700000000", INT64_C(1700000000) * S);
	time_is("0", 0);
	time_is("-5", -5 * S);
	time_is("+7", 7 * S);
	time_is("9000000000", INT64_C(9000000000) * S);
	time_is("10000000001", INT64_C(10000000001));
	time_is("1700000000000000000", INT64_C(1700000000000000000));
	time_is("1700000000123456789", INT64_C(1700000000123456789));
	/* 1e10 s is past what int64 nanoseconds hold (2262). */
	time_bad("10000000000", "timestamp 10000000000 is out of range");
	time_bad("99999999999999999999",
		 "strconv.ParseInt: parsing \"99999999999999999999\": value out of range");
	time_bad("abc", "strconv.ParseInt: parsing \"abc\": invalid syntax");
	time_bad("12a", "strconv.ParseInt: parsing \"12a\": invalid syntax");
	time_bad("-", "strconv.ParseInt: parsing \"-\": invalid syntax");
}
END_TEST

START_TEST(test_time_floats)
{
	/* Seconds with the fraction rounded to the millisecond. */
	time_is("1700000000.5", INT64_C(1700000000500000000));
	time_is("1700000000.1234", INT64_C(1700000000123000000));
	time_is("1700000000.1236", INT64_C(1700000000124000000));
	/* .9996 rounds to a whole second, as time.Unix normalizes. */
	time_is("1700000000.9996", INT64_C(1700000001000000000));
	time_is("1.5", INT64_C(1500000000));
	time_is(".25", INT64_C(250000000));
	/* Above 1e10: nanoseconds, the fraction dropped. */
	time_is("1.7e18", INT64_C(1700000000000000000));
	time_is("1700000000000000000.9", INT64_C(1700000000000000000));
	time_bad("1.2.3", "strconv.ParseFloat: parsing \"1.2.3\": invalid syntax");
	time_bad("1.5x", "strconv.ParseFloat: parsing \"1.5x\": invalid syntax");
	time_bad(".", "strconv.ParseFloat: parsing \".\": invalid syntax");
}
END_TEST

START_TEST(test_time_rfc3339)
{
	/* 2024-01-01T00:00:00Z is 1704067200 (19723 days). */
	time_is("2024-01-01T00:00:00Z", INT64_C(1704067200) * S);
	/* + 1 day + 3h 4m 5s = 86400 + 11045 */
	time_is("2024-01-02T03:04:05Z", INT64_C(1704164645) * S);
	/* The offset is subtracted: 03:04:05+02:00 is 01:04:05Z. */
	time_is("2024-01-02T03:04:05.123456789+02:00",
		INT64_C(1704157445123456789));
	time_is("2024-01-02T03:04:05.5-01:30", INT64_C(1704170045500000000));
	time_is("1970-01-01T00:00:00Z", 0);
	time_is("1969-12-31T23:59:59Z", -S);
	/* A leap day: 19723 + 31 + 28 days. */
	time_is("2024-02-29T00:00:00Z", INT64_C(1709164800) * S);
	/* Not RFC3339, so read as an integer, as Loki does. */
	time_bad("2023-02-29T00:00:00Z",
		 "strconv.ParseInt: parsing \"2023-02-29T00:00:00Z\": invalid syntax");
	time_bad("2024-01-02 03:04:05Z",
		 "strconv.ParseInt: parsing \"2024-01-02 03:04:05Z\": invalid syntax");
	time_bad("2024-01-02T24:00:00Z",
		 "strconv.ParseInt: parsing \"2024-01-02T24:00:00Z\": invalid syntax");
	time_bad("2024-01-02T03:04:05",
		 "strconv.ParseInt: parsing \"2024-01-02T03:04:05\": invalid syntax");
}
END_TEST

START_TEST(test_durations)
{
	int64_t ns;
	char buf[64];

	ck_assert_int_eq(lt_prom_duration("1h30m", &ns), 0);
	ck_assert(ns == 5400 * S);
	ck_assert_int_eq(lt_prom_duration("7d", &ns), 0);
	ck_assert(ns == 7 * 86400 * S);
	ck_assert_int_eq(lt_prom_duration("2w", &ns), 0);
	ck_assert(ns == 14 * 86400 * S);
	ck_assert_int_eq(lt_prom_duration("1y", &ns), 0);
	ck_assert(ns == 365 * 86400 * S);
	ck_assert_int_eq(lt_prom_duration("500ms", &ns), 0);
	ck_assert(ns == 500000000);
	ck_assert_int_eq(lt_prom_duration("1m1ms", &ns), 0);
	ck_assert(ns == 60001000000);
	ck_assert_int_eq(lt_prom_duration("0", &ns), 0);
	ck_assert(ns == 0);
	ck_assert_int_eq(lt_prom_duration("", &ns), -1);
	ck_assert_int_eq(lt_prom_duration("1h1h", &ns), -1);
	ck_assert_int_eq(lt_prom_duration("30s10m", &ns), -1);
	ck_assert_int_eq(lt_prom_duration("1.5h", &ns), -1);
	ck_assert_int_eq(lt_prom_duration("h", &ns), -1);
	ck_assert_int_eq(lt_prom_duration("-1h", &ns), -1);

	lt_prom_duration_format(721 * 3600 * S, buf, sizeof(buf));
	ck_assert_str_eq(buf, "30d1h");
	lt_prom_duration_format(14 * 86400 * S, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2w");
	lt_prom_duration_format(90 * 86400 * S, buf, sizeof(buf));
	ck_assert_str_eq(buf, "90d");
	lt_prom_duration_format(365 * 86400 * S, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1y");
	lt_prom_duration_format(0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "0s");

	lt_go_duration_format(744 * 3600 * S, buf, sizeof(buf));
	ck_assert_str_eq(buf, "744h0m0s");
	lt_go_duration_format(90 * S, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1m30s");
	lt_go_duration_format(1500000000, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1.5s");
	lt_go_duration_format(1500000, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1.5ms");
	lt_go_duration_format(0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "0s");
}
END_TEST

static int
bounds(struct lt_form *f, const char *text, int64_t *start, int64_t *end,
       struct lt_query_error *err)
{
	char why[128];

	lt_form_init(f);
	ck_assert_int_eq(lt_form_parse(f, text, strlen(text), why, sizeof(why)), 0);
	return lt_query_bounds(f, NOW, start, end, err);
}

START_TEST(test_bounds)
{
	struct lt_query_error err;
	struct lt_form f;
	int64_t start, end;

#define BOUNDS(text) bounds(&f, text, &start, &end, &err)

	ck_assert_int_eq(BOUNDS(""), 0);
	ck_assert(end == NOW && start == NOW - 3600 * S);
	lt_form_free(&f);
	ck_assert_int_eq(BOUNDS("since=30m"), 0);
	ck_assert(end == NOW && start == NOW - 1800 * S);
	lt_form_free(&f);
	/* since counts back from end ... */
	ck_assert_int_eq(BOUNDS("end=1600000000&since=2h"), 0);
	ck_assert(end == INT64_C(1600000000) * S);
	ck_assert(start == INT64_C(1599992800) * S);
	lt_form_free(&f);
	/* ... but from now when end is in the future. */
	ck_assert_int_eq(BOUNDS("end=1700003600"), 0);
	ck_assert(end == INT64_C(1700003600) * S && start == NOW - 3600 * S);
	lt_form_free(&f);
	ck_assert_int_eq(BOUNDS("start=1690000000&since=5m"), 0);
	ck_assert(start == INT64_C(1690000000) * S && end == NOW);
	lt_form_free(&f);

	ck_assert_int_eq(BOUNDS("since=bogus"), -1);
	ck_assert_int_eq(err.status, 400);
	ck_assert_str_eq(err.message, "could not parse 'since' parameter: not a valid duration string: \"bogus\"");
	lt_form_free(&f);
	ck_assert_int_eq(BOUNDS("start=x"), -1);
	ck_assert_str_eq(err.message, "could not parse 'start' parameter: strconv.ParseInt: parsing \"x\": invalid syntax");
	lt_form_free(&f);
	ck_assert_int_eq(BOUNDS("end=1.x"), -1);
	ck_assert_str_eq(err.message, "could not parse 'end' parameter: strconv.ParseFloat: parsing \"1.x\": invalid syntax");
	lt_form_free(&f);
#undef BOUNDS
}
END_TEST

/* --- Parameters and limits --- */

START_TEST(test_query_range_params)
{
	struct lt_query_error err;

	ck_assert_int_eq(run(LT_EP_QUERY_RANGE, "acme",
			     "query=%7Bapp%3D%22api%22%7D", &err), 0);
	ck_assert_str_eq(seen.what, "logs");
	ck_assert_uint_eq(seen.req.limit, 100);   /* Loki's default */
	ck_assert_int_eq(seen.req.forward, 0);    /* backward */
	ck_assert(seen.range.end_ns == NOW);
	ck_assert(seen.range.start_ns == NOW - 3600 * S);
	ck_assert_str_eq(seen.range.tenant, "acme");
	ck_assert_int_eq(seen.opened, 1);
	ck_assert_int_eq(seen.closed, 1);

	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(run(LT_EP_QUERY_RANGE, "acme",
			     "query={a=\"b\"}&limit=5000&direction=FORWARD"
			     "&start=1699990000&end=1699999000&step=60",
			     &err), 0);
	ck_assert_uint_eq(seen.req.limit, 5000);
	ck_assert_int_eq(seen.req.forward, 1);
	ck_assert(seen.range.start_ns == INT64_C(1699990000) * S);
	ck_assert(seen.range.end_ns == INT64_C(1699999000) * S);
}
END_TEST

START_TEST(test_query_range_refusals)
{
	refused(LT_EP_QUERY_RANGE, "query={a=\"b\"}&limit=5001", 400,
		"max entries limit per query exceeded, limit > max_entries_limit_per_query (5001 > 5000)");
	/* 31 days: over 30d1h. */
	refused(LT_EP_QUERY_RANGE,
		"query={a=\"b\"}&start=1697321600&end=1700000000", 400,
		"the query time range exceeds the limit (query length: 744h0m0s, limit: 30d1h)");
	refused(LT_EP_QUERY_RANGE, "query={a=\"b\"}&limit=0", 400,
		"limit must be a positive value");
	refused(LT_EP_QUERY_RANGE, "query={a=\"b\"}&limit=ten", 400,
		"strconv.Atoi: parsing \"ten\": invalid syntax");
	refused(LT_EP_QUERY_RANGE, "query={a=\"b\"}&direction=sideways", 400,
		"invalid direction 'sideways'");
	refused(LT_EP_QUERY_RANGE,
		"query={a=\"b\"}&start=1700000000&end=1699999999", 400,
		"end timestamp must not be before or equal to start time");
	refused(LT_EP_QUERY_RANGE, "query={a=\"b\"}&step=0", 400,
		"zero or negative query resolution step widths are not accepted. Try a positive integer");
	/* 3600 s in steps of 0.1 s: 36000 points. */
	refused(LT_EP_QUERY_RANGE, "query={a=\"b\"}&step=0.1", 400,
		"exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter");
	refused(LT_EP_QUERY_RANGE, "query={a=\"b\"}&step=x", 400,
		"cannot parse \"x\" to a valid duration");
	refused(LT_EP_QUERY_RANGE, "query={a=\"b\"}&interval=-1", 400,
		"interval must be >= 0");
	refused(LT_EP_QUERY_RANGE, "query=nonsense", 400,
		"parse error at line 1, col 1: syntax error: unexpected IDENTIFIER");
	/* Loki 3 refuses a log query as an instant query. */
	refused(LT_EP_QUERY, "query={a=\"b\"}", 400,
		"log queries are not supported as an instant query type, please change your query to a range query type");
	refused(LT_EP_QUERY, "query={a=\"b\"}&time=x", 400,
		"strconv.ParseInt: parsing \"x\": invalid syntax");
}
END_TEST

START_TEST(test_limits_per_tenant)
{
	struct lt_query_error err;
	FILE *f;

	f = fopen(conf, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs("max_entries_limit_per_query = 200\n"
			       "max_query_length = 2h\n"
			       "[tenant small]\n"
			       "max_entries_limit_per_query = 10\n"
			       "query_max_memory = 1MiB\n", f), 0);
	ck_assert_int_eq(fclose(f), 0);
	lt_options_free(&opts);
	lt_options_defaults(&opts);
	ck_assert_int_eq(lt_options_load(&opts, conf), 0);
	ck_assert_uint_eq(opts.query_limits.max_entries, 200);
	ck_assert(opts.query_limits.max_length_ns == 7200 * S);

	ck_assert_int_eq(run(LT_EP_QUERY_RANGE, "big", "query={a=\"b\"}&limit=200",
			     &err), 0);
	ck_assert_int_eq(run(LT_EP_QUERY_RANGE, "small",
			     "query={a=\"b\"}&limit=11", &err), -1);
	ck_assert_str_eq(err.message, "max entries limit per query exceeded, limit > max_entries_limit_per_query (11 > 10)");
	/* The global max_query_length still holds for "small". */
	ck_assert_int_eq(run(LT_EP_LABELS, "small", "since=3h", &err), -1);
	ck_assert_str_eq(err.message, "the query time range exceeds the limit (query length: 3h0m0s, limit: 2h)");
}
END_TEST

START_TEST(test_query_limit_settings)
{
	struct lt_query_limits lim;
	char err[512];

	/* Loki's defaults. */
	ck_assert_uint_eq(opts.query_limits.max_entries, 5000);
	ck_assert(opts.query_limits.max_length_ns == 721 * 3600 * S);
	ck_assert_uint_eq(opts.query_limits.max_series, 500);
	ck_assert(opts.query_limits.timeout_ns == 60 * S);
	ck_assert_int_eq(lt_options_set(&opts, "query_max_rows_to_read",
					"123456789012", err, sizeof(err)), 0);
	ck_assert(opts.query_limits.max_rows_to_read == UINT64_C(123456789012));
	ck_assert_int_eq(lt_options_set(&opts, "query_max_memory", "3GiB", err,
					sizeof(err)), 0);
	ck_assert(opts.query_limits.max_memory == UINT64_C(3) << 30);
	ck_assert_int_eq(lt_options_set(&opts, "query_timeout", "soon", err,
					sizeof(err)), -1);
	ck_assert_str_eq(err, "invalid value \"soon\" for setting \"query_timeout\": expected a duration such as 30s, 10m, 7d or 500ms");
	lt_options_query_limits_for(&opts, "anyone", &lim);
	ck_assert(lim.max_memory == UINT64_C(3) << 30);
}
END_TEST

START_TEST(test_other_endpoints)
{
	struct lt_query_error err;

	ck_assert_int_eq(run(LT_EP_LABELS, "acme", "start=1699990000", &err), 0);
	ck_assert_str_eq(seen.what, "labels");
	ck_assert_int_eq(seen.have_q, 0);
	ck_assert(seen.range.start_ns == INT64_C(1699990000) * S);
	ck_assert(seen.range.end_ns == NOW);

	ck_assert_int_eq(run(LT_EP_LABEL_VALUES, "acme", "query={a=\"b\"}", &err), 0);
	ck_assert_str_eq(seen.what, "values");
	ck_assert_str_eq(seen.name, "app");
	ck_assert_int_eq(seen.have_q, 1);

	/* match[] and match, once each, sorted; a lone {} is none. */
	ck_assert_int_eq(run(LT_EP_SERIES, "acme",
			     "match[]={a=\"1\"}&match={b=\"2\"}&match[]={a=\"1\"}",
			     &err), 0);
	ck_assert_str_eq(seen.what, "series");
	ck_assert_uint_eq(seen.n_groups, 2);
	ck_assert_int_eq(run(LT_EP_SERIES, "acme", "match[]={ }", &err), 0);
	ck_assert_uint_eq(seen.n_groups, 0);
	memset(&seen, 0, sizeof(seen));
	refused(LT_EP_SERIES, "match[]=up", 400,
		"parse error at line 1, col 1: syntax error: unexpected IDENTIFIER");

	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(run(LT_EP_INDEX_STATS, "acme", "query={a=\"b\"}", &err), 0);
	ck_assert_str_eq(seen.what, "stats");

	ck_assert_int_eq(run(LT_EP_READY, NULL, "", &err), -1);
	ck_assert_int_eq(err.status, 200);
	ck_assert_str_eq(err.message, "ready");
}
END_TEST

START_TEST(test_buildinfo)
{
	struct lt_buf out = LT_BUF_INIT;
	struct lt_query_sink sink = {buf_write, &out};
	struct lt_query_error err;
	struct lt_form form;

	lt_form_init(&form);
	ck_assert_int_eq(lt_query_run(&opts, &fake, LT_EP_BUILDINFO, NULL, NULL,
				      &form, NOW, &sink, &err), 0);
	ck_assert_int_eq(lt_buf_terminate(&out), 0);
	ck_assert_str_eq((char *)out.data,
			 "{\"version\":\"" PACKAGE_VERSION "\",\"revision\":\"\","
			 "\"branch\":\"\",\"buildUser\":\"\",\"buildDate\":\"\","
			 "\"goVersion\":\"\"}");
	ck_assert_int_eq(seen.opened, 0);
	lt_buf_free(&out);
}
END_TEST

/* --- Grafana's endpoints --- */

START_TEST(test_volume_params)
{
	struct lt_query_error err;

	/* /index/volume: one bucket over the range, Loki's default limit */
	ck_assert_int_eq(run(LT_EP_VOLUME, "acme",
			     "query={app=~\".%2B\"}&start=1699990000&end=1700000000",
			     &err), 0);
	ck_assert_str_eq(seen.what, "volume");
	ck_assert_int_eq(seen.have_q, 1);
	ck_assert(seen.volume.step_ns == 0);
	ck_assert_uint_eq(seen.volume.limit, 100);
	ck_assert_uint_eq(seen.volume.n_target_labels, 0);
	ck_assert_int_eq(seen.volume.aggregate_by_labels, 0);
	ck_assert(seen.range.start_ns == INT64_C(1699990000) * S);
	ck_assert(seen.range.end_ns == NOW);

	/* {} is every stream; limit=0 is the default (volumeLimit) */
	ck_assert_int_eq(run(LT_EP_VOLUME, "acme", "query={ }&limit=0", &err), 0);
	ck_assert_int_eq(seen.have_q, 0);
	ck_assert_uint_eq(seen.volume.limit, 100);

	/* volume_range: its step; targetLabels split at commas */
	ck_assert_int_eq(run(LT_EP_VOLUME_RANGE, "acme",
			     "query={a=\"b\"}&start=1699999000&end=1700000000&step=60"
			     "&targetLabels=a,b&aggregateBy=labels&limit=7",
			     &err), 0);
	ck_assert(seen.volume.step_ns == 60 * S);
	ck_assert_uint_eq(seen.volume.n_target_labels, 2);
	ck_assert_str_eq(seen.targets, "a|b");
	ck_assert_int_eq(seen.volume.aggregate_by_labels, 1);
	ck_assert_uint_eq(seen.volume.limit, 7);
	/* the default step: 1000 s / 250 */
	ck_assert_int_eq(run(LT_EP_VOLUME_RANGE, "acme",
			     "query={a=\"b\"}&start=1699999000&aggregateBy=series",
			     &err), 0);
	ck_assert(seen.volume.step_ns == 4 * S);
	ck_assert_int_eq(seen.volume.aggregate_by_labels, 0);
	/* Loki carries the step in milliseconds */
	ck_assert_int_eq(run(LT_EP_VOLUME_RANGE, "acme",
			     "query={a=\"b\"}&start=1699999990&step=0.0015",
			     &err), 0);
	ck_assert(seen.volume.step_ns == 1000000);
}
END_TEST

START_TEST(test_volume_refusals)
{
	struct lt_query_error err;

	refused(LT_EP_VOLUME, "query={a=\"b\"}&aggregateBy=streams", 400,
		"invalid aggregation option");
	refused(LT_EP_VOLUME, "query={a=\"b\"}&limit=-1", 400,
		"limit must be a positive value");
	refused(LT_EP_VOLUME, "query={a=\"b\"}&limit=x", 400,
		"strconv.Atoi: parsing \"x\": invalid syntax");
	refused(LT_EP_VOLUME, "query={a=\"b\"}&start=1700000001", 400,
		"end timestamp must not be before or equal to start time");
	refused(LT_EP_VOLUME_RANGE, "query={a=\"b\"}&step=0", 400,
		"zero or negative query resolution step widths are not "
		"accepted. Try a positive integer");
	refused(LT_EP_VOLUME_RANGE, "query={a=\"b\"}&aggregateBy=x", 400,
		"invalid aggregation option");
	refused(LT_EP_VOLUME, "query={a=\"b\"}&since=800h", 400,
		"the query time range exceeds the limit (query length: "
		"800h0m0s, limit: 30d1h)");
	/* a selector only, and one is needed */
	ck_assert_int_eq(run(LT_EP_VOLUME, "acme", "", &err), -1);
	ck_assert_int_eq(err.status, 400);
	ck_assert_int_eq(run(LT_EP_VOLUME, "acme", "query={a=\"b\"} |= \"x\"",
			     &err), -1);
	ck_assert_int_eq(err.status, 400);
	ck_assert_int_eq(seen.calls, 0);
}
END_TEST

START_TEST(test_detected_params)
{
	struct lt_query_error err;

	ck_assert_int_eq(run(LT_EP_DETECTED_LABELS, "acme", "since=2h", &err), 0);
	ck_assert_str_eq(seen.what, "detected_labels");
	ck_assert_int_eq(seen.have_q, 0);
	ck_assert(seen.range.start_ns == NOW - 7200 * S);
	ck_assert_int_eq(run(LT_EP_DETECTED_LABELS, "acme", "query={}", &err), 0);
	ck_assert_int_eq(seen.have_q, 0);
	ck_assert_int_eq(run(LT_EP_DETECTED_LABELS, "acme", "query={a=\"b\"}",
			     &err), 0);
	ck_assert_int_eq(seen.have_q, 1);

	/* detected_fields: a log query, line_limit 100, limit 1000 */
	ck_assert_int_eq(run(LT_EP_DETECTED_FIELDS, "acme",
			     "query={a=\"b\"} | json", &err), 0);
	ck_assert_str_eq(seen.what, "detected_fields");
	ck_assert_int_eq(seen.have_q, 1);
	ck_assert_uint_eq(seen.fields.line_limit, 100);
	ck_assert_uint_eq(seen.fields.field_limit, 1000);
	ck_assert_str_eq(seen.values_of, "(none)");
	/* field_limit, Loki's older name, only when limit is not given */
	ck_assert_int_eq(run(LT_EP_DETECTED_FIELDS, "acme",
			     "query={a=\"b\"}&line_limit=5&field_limit=9", &err), 0);
	ck_assert_uint_eq(seen.fields.line_limit, 5);
	ck_assert_uint_eq(seen.fields.field_limit, 9);
	ck_assert_int_eq(run(LT_EP_DETECTED_FIELDS, "acme",
			     "query={a=\"b\"}&limit=7&field_limit=9", &err), 0);
	ck_assert_uint_eq(seen.fields.field_limit, 7);
	/* /detected_field/NAME/values: the name from the path */
	ck_assert_int_eq(run(LT_EP_DETECTED_FIELD_VALUES, "acme",
			     "query={a=\"b\"}", &err), 0);
	ck_assert_str_eq(seen.values_of, "app");

	memset(&seen, 0, sizeof(seen));
	refused(LT_EP_DETECTED_FIELDS, "query={a=\"b\"}&line_limit=0", 400,
		"limit must be a positive value");
	refused(LT_EP_DETECTED_FIELDS, "query={a=\"b\"}&limit=-2", 400,
		"limit must be a positive value");
	refused(LT_EP_DETECTED_FIELDS, "query={a=\"b\"}&line_limit=5001", 400,
		"max entries limit per query exceeded, limit > "
		"max_entries_limit_per_query (5001 > 5000)");
	refused(LT_EP_DETECTED_LABELS, "start=1700000001", 400,
		"end timestamp must not be before or equal to start time");
	ck_assert_int_eq(run(LT_EP_DETECTED_FIELDS, "acme",
			     "query=count_over_time({a=\"b\"}[1m])", &err), -1);
	ck_assert_int_eq(err.status, 400);
	ck_assert_int_eq(seen.calls, 0);
}
END_TEST

START_TEST(test_patterns)
{
	struct lt_buf out = LT_BUF_INIT;
	struct lt_query_sink sink = {buf_write, &out};
	struct lt_query_error err;
	struct lt_form form;

	lt_form_init(&form);
	ck_assert_int_eq(lt_query_run(&opts, &fake, LT_EP_PATTERNS, NULL, "acme",
				      &form, NOW, &sink, &err), 0);
	ck_assert_int_eq(lt_buf_terminate(&out), 0);
	ck_assert_str_eq((char *)out.data, "{\"status\":\"success\",\"data\":[]}");
	/* no engine: nothing to read */
	ck_assert_int_eq(seen.opened, 0);
	lt_buf_free(&out);
}
END_TEST

/* --- Routing --- */

START_TEST(test_routing)
{
	char name[16];

	ck_assert_int_eq(lt_query_route("/loki/api/v1/query_range", name, sizeof(name)), LT_EP_QUERY_RANGE);
	ck_assert_int_eq(lt_query_route("/loki/api/v1/query", name, sizeof(name)), LT_EP_QUERY);
	ck_assert_int_eq(lt_query_route("/loki/api/v1/labels", name, sizeof(name)), LT_EP_LABELS);
	ck_assert_int_eq(lt_query_route("/loki/api/v1/label", name, sizeof(name)), LT_EP_LABELS);
	ck_assert_int_eq(lt_query_route("/loki/api/v1/series", name, sizeof(name)), LT_EP_SERIES);
	ck_assert_int_eq(lt_query_route("/loki/api/v1/index/stats", name, sizeof(name)), LT_EP_INDEX_STATS);
	ck_assert_int_eq(lt_query_route("/loki/api/v1/status/buildinfo", name, sizeof(name)), LT_EP_BUILDINFO);
	ck_assert_int_eq(lt_query_route("/ready", name, sizeof(name)), LT_EP_READY);
	ck_assert_int_eq(lt_query_route("/loki/api/v1/label/app/values", name, sizeof(name)), LT_EP_LABEL_VALUES);
	ck_assert_str_eq(name, "app");
	ck_assert_int_eq(lt_query_route("/loki/api/v1/label/a%2Fb/values", name, sizeof(name)), LT_EP_LABEL_VALUES);
	ck_assert_str_eq(name, "a/b");
	ck_assert_int_eq(lt_query_route("/loki/api/v1/label//values", name, sizeof(name)), LT_EP_NONE);
	ck_assert_int_eq(lt_query_route("/loki/api/v1/label/app", name, sizeof(name)), LT_EP_NONE);
	ck_assert_int_eq(lt_query_route("/loki/api/v1/label/a/b/values", name, sizeof(name)), LT_EP_NONE);
	ck_assert_int_eq(lt_query_route("/loki/api/v1/label/a%zz/values", name, sizeof(name)), LT_EP_NONE);
	ck_assert_int_eq(lt_query_route("/loki/api/v1/label/a_very_long_name/values", name, sizeof(name)), LT_EP_NONE);
	ck_assert_int_eq(lt_query_route("/loki/api/v1/index/volume", name, sizeof(name)), LT_EP_VOLUME);
	ck_assert_int_eq(lt_query_route("/loki/api/v1/index/volume_range", name, sizeof(name)), LT_EP_VOLUME_RANGE);
	ck_assert_int_eq(lt_query_route("/loki/api/v1/detected_labels", name, sizeof(name)), LT_EP_DETECTED_LABELS);
	ck_assert_int_eq(lt_query_route("/loki/api/v1/detected_fields", name, sizeof(name)), LT_EP_DETECTED_FIELDS);
	ck_assert_int_eq(lt_query_route("/loki/api/v1/patterns", name, sizeof(name)), LT_EP_PATTERNS);
	ck_assert_int_eq(lt_query_route("/loki/api/v1/detected_field/user_id/values", name, sizeof(name)), LT_EP_DETECTED_FIELD_VALUES);
	ck_assert_str_eq(name, "user_id");
	ck_assert_int_eq(lt_query_route("/loki/api/v1/detected_field/a%2Eb/values", name, sizeof(name)), LT_EP_DETECTED_FIELD_VALUES);
	ck_assert_str_eq(name, "a.b");
	ck_assert_int_eq(lt_query_route("/loki/api/v1/detected_field//values", name, sizeof(name)), LT_EP_NONE);
	ck_assert_int_eq(lt_query_route("/loki/api/v1/detected_field/x", name, sizeof(name)), LT_EP_NONE);
	ck_assert_int_eq(lt_query_route("/loki/api/v1/detected_fields/", name, sizeof(name)), LT_EP_NONE);
	ck_assert_int_eq(lt_query_route("/loki/api/v1/tail", name, sizeof(name)), LT_EP_TAIL);
	ck_assert_int_eq(lt_query_route("/loki/api/v1/tail/", name, sizeof(name)), LT_EP_NONE);
	ck_assert_int_eq(lt_query_route("/loki/api/v1/query_range/", name, sizeof(name)), LT_EP_NONE);

	/* What logthra-recv hands over: not its own push paths. */
	ck_assert_int_eq(lt_query_is_path("/loki/api/v1/query_range"), 1);
	ck_assert_int_eq(lt_query_is_path("/loki/api/v1/label/x/values"), 1);
	ck_assert_int_eq(lt_query_is_path("/loki/api/v1/tail"), 1);
	ck_assert_int_eq(lt_query_is_path("/ready"), 1);
	ck_assert_int_eq(lt_query_is_path("/loki/api/v1/push"), 0);
	ck_assert_int_eq(lt_query_is_path("/api/prom/push"), 0);
	ck_assert_int_eq(lt_query_is_path("/metrics"), 0);
}
END_TEST

static void
request(struct lt_request *r, const char *method, const char *path)
{
	lt_request_init(r);
	r->method = strdup(method);
	r->path = strdup(path);
	ck_assert_ptr_nonnull(r->method);
	ck_assert_ptr_nonnull(r->path);
}

static void
header(char **field, const char *value)
{
	*field = strdup(value);
	ck_assert_ptr_nonnull(*field);
}

START_TEST(test_check_head)
{
	struct lt_response resp = {0};
	struct lt_request r;
	const char *tenant;

	request(&r, "GET", "/nope");
	ck_assert_int_eq(lt_query_check_head(&opts, &r, &tenant, &resp), -1);
	ck_assert_int_eq(resp.status, 404);
	ck_assert_str_eq(resp.message, "404 page not found");
	lt_request_free(&r);

	request(&r, "DELETE", "/loki/api/v1/query_range");
	ck_assert_int_eq(lt_query_check_head(&opts, &r, &tenant, &resp), -1);
	ck_assert_int_eq(resp.status, 405);
	ck_assert_str_eq(resp.allow, "GET, POST");
	lt_request_free(&r);

	/* No tenant and no default_tenant: 401, as for a push. */
	request(&r, "GET", "/loki/api/v1/labels");
	ck_assert_int_eq(lt_query_check_head(&opts, &r, &tenant, &resp), -1);
	ck_assert_int_eq(resp.status, 401);
	lt_request_free(&r);

	/* /ready needs no tenant. */
	request(&r, "GET", "/ready");
	ck_assert_int_eq(lt_query_check_head(&opts, &r, &tenant, &resp), 0);
	ck_assert_ptr_null(tenant);
	lt_request_free(&r);

	request(&r, "POST", "/loki/api/v1/labels");
	header(&r.scope_orgid, "acme");
	header(&r.tenant_id, "other");
	ck_assert_int_eq(lt_query_check_head(&opts, &r, &tenant, &resp), -1);
	ck_assert_int_eq(resp.status, 400);
	ck_assert_str_eq(resp.message, "tenant-id \"other\" and X-Scope-OrgID \"acme\" name different tenants");
	lt_request_free(&r);

	request(&r, "GET", "/loki/api/v1/labels");
	header(&r.scope_orgid, "a|b");
	ck_assert_int_eq(lt_query_check_head(&opts, &r, &tenant, &resp), -1);
	ck_assert_int_eq(resp.status, 400);
	lt_request_free(&r);

	ck_assert_int_eq(lt_options_set(&opts, "default_tenant", "fallback",
					resp.message, sizeof(resp.message)), 0);
	request(&r, "GET", "/loki/api/v1/labels");
	ck_assert_int_eq(lt_query_check_head(&opts, &r, &tenant, &resp), 0);
	ck_assert_str_eq(tenant, "fallback");
	lt_request_free(&r);
}
END_TEST

/* --- Tenants with read and write tokens --- */

static struct lt_auth *
load_tokens(void)
{
	char path[300], line[512], err[512];
	struct lt_auth *a = NULL;
	FILE *f;

	(void)snprintf(path, sizeof(path), "%s/credentials", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(lt_auth_format_entry(line, sizeof(line), "reader",
					      "tok-reader", "acme", err,
					      sizeof(err)), 0);
	line[strlen(line) - 1] = '\0';
	ck_assert_int_ge(fprintf(f, "%s read\n", line), 0);
	ck_assert_int_eq(lt_auth_format_entry(line, sizeof(line), "writer",
					      "tok-writer", "acme", err,
					      sizeof(err)), 0);
	line[strlen(line) - 1] = '\0';
	ck_assert_int_ge(fprintf(f, "%s\twrite  # pushes only\n", line), 0);
	ck_assert_int_eq(lt_auth_format_entry(line, sizeof(line), "both",
					      "tok-both", "acme,beta", err,
					      sizeof(err)), 0);
	ck_assert_int_ge(fputs(line, f), 0);    /* no ACCESS: both */
	ck_assert_int_eq(lt_auth_format_entry(line, sizeof(line), "rw",
					      "tok-rw", "*", err,
					      sizeof(err)), 0);
	line[strlen(line) - 1] = '\0';
	ck_assert_int_ge(fprintf(f, "%s write,read\n", line), 0);
	ck_assert_int_ge(fputs("web - acme read\n", f), 0);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, 0600), 0);
	ck_assert_msg(lt_auth_load(path, &a, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(lt_options_set(&opts, "credentials_file", path, err,
					sizeof(err)), 0);
	opts.auth = a;
	return a;
}

/* The status a query and a push get with this Authorization. */
static void
statuses(const char *authorization, const char *t, int query, int push,
	 const char *query_message)
{
	struct lt_response resp = {0};
	struct lt_body_format fmt;
	struct lt_request r;
	const char *tenant = NULL;
	int rc;

	request(&r, "GET", "/loki/api/v1/query_range");
	header(&r.scope_orgid, t);
	if (authorization != NULL)
		header(&r.authorization, authorization);
	rc = lt_query_check_head(&opts, &r, &tenant, &resp);
	ck_assert_int_eq(rc == 0 ? 200 : resp.status, query);
	if (rc == 0)
		ck_assert_str_eq(tenant, t);
	if (query_message != NULL)
		ck_assert_str_eq(resp.message, query_message);
	lt_request_free(&r);

	request(&r, "POST", "/loki/api/v1/push");
	header(&r.scope_orgid, t);
	header(&r.content_type, "application/json");
	r.content_length = 2;
	if (authorization != NULL)
		header(&r.authorization, authorization);
	rc = lt_recv_check_head(&opts, &r, &tenant, &fmt, &resp);
	ck_assert_int_eq(rc == 0 ? 200 : resp.status, push);
	lt_request_free(&r);
}

START_TEST(test_tenant_tokens)
{
	struct lt_auth *a = load_tokens();
	const char *who;

	statuses("Bearer tok-reader", "acme", 200, 403, NULL);
	statuses("Bearer tok-writer", "acme", 403, 200,
		 "\"writer\" may not query tenant \"acme\"");
	statuses("Bearer tok-both", "acme", 200, 200, NULL);
	statuses("Bearer tok-both", "beta", 200, 200, NULL);
	statuses("Bearer tok-both", "gamma", 403, 403,
		 "\"both\" may not query tenant \"gamma\"");
	statuses("Bearer tok-rw", "anything", 200, 200, NULL);
	statuses("Bearer tok-reader", "beta", 403, 403, NULL);
	statuses("Bearer wrong", "acme", 401, 401, "invalid credentials");
	statuses(NULL, "acme", 401, 401, NULL);

	ck_assert_int_eq(lt_auth_check_access(a, "Bearer tok-reader", "acme",
					      LT_AUTH_READ, &who), LT_AUTH_OK);
	ck_assert_str_eq(who, "reader");
	ck_assert_int_eq(lt_auth_check_access(a, "Bearer tok-reader", "acme",
					      LT_AUTH_WRITE, &who),
			 LT_AUTH_FORBIDDEN);
	ck_assert_int_eq(lt_auth_check(a, "Bearer tok-writer", "acme", &who),
			 LT_AUTH_OK);
	ck_assert_int_eq(lt_auth_check_user_access(a, "web", "acme",
						   LT_AUTH_READ, &who),
			 LT_AUTH_OK);
	ck_assert_int_eq(lt_auth_check_user(a, "web", "acme", &who),
			 LT_AUTH_FORBIDDEN);
	lt_auth_free(a);
	opts.auth = NULL;
}
END_TEST

/* --- Whole requests --- */

START_TEST(test_handle_post_form)
{
	struct lt_buf out = LT_BUF_INIT;
	struct lt_query_sink sink = {buf_write, &out};
	struct lt_query_error err;
	struct lt_request r;
	static const char body[] = "query=%7Ba%3D%22b%22%7D&limit=7";

	/* Go's ParseForm: the body's values before the query string's. */
	request(&r, "POST", "/loki/api/v1/query_range");
	header(&r.query, "limit=9&direction=forward");
	header(&r.content_type, "application/x-www-form-urlencoded; charset=utf-8");
	ck_assert_int_eq(lt_buf_append(&r.body, body, sizeof(body) - 1), 0);
	ck_assert_int_eq(lt_query_handle(&opts, &fake, &r, "acme", NOW, &sink,
					 &err), 0);
	ck_assert_uint_eq(seen.req.limit, 7);
	ck_assert_int_eq(seen.req.forward, 1);
	lt_request_free(&r);

	/* Another body type is not read as a form. */
	request(&r, "POST", "/loki/api/v1/query_range");
	header(&r.query, "query={a=\"b\"}");
	header(&r.content_type, "application/json");
	ck_assert_int_eq(lt_buf_append(&r.body, "limit=x", 7), 0);
	ck_assert_int_eq(lt_query_handle(&opts, &fake, &r, "acme", NOW, &sink,
					 &err), 0);
	ck_assert_uint_eq(seen.req.limit, 100);
	lt_request_free(&r);

	request(&r, "GET", "/loki/api/v1/query_range");
	header(&r.query, "query=%");
	ck_assert_int_eq(lt_query_handle(&opts, &fake, &r, "acme", NOW, &sink,
					 &err), -1);
	ck_assert_int_eq(err.status, 400);
	ck_assert_str_eq(err.message, "invalid URL escape \"%\"");
	lt_request_free(&r);
	lt_buf_free(&out);
}
END_TEST

static void
read_all(int fd, char *buf, size_t len)
{
	ssize_t n;
	size_t got = 0;

	while (got + 1 < len && (n = read(fd, buf + got, len - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
}

START_TEST(test_stream_chunked)
{
	struct lt_http_stream *s = malloc(sizeof(*s));
	char out[512];
	int p[2];

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(pipe(p), 0);
	lt_http_stream_init(s, p[1], 0, 0, 1, "application/json");
	ck_assert_int_eq(lt_http_stream_write(s, "hello", 5), 0);
	ck_assert_int_eq(lt_http_stream_write(s, ", world", 7), 0);
	ck_assert_int_eq(lt_http_stream_end(s), 0);
	ck_assert_int_eq(lt_http_stream_keep_alive(s), 1);
	ck_assert_int_eq(close(p[1]), 0);
	read_all(p[0], out, sizeof(out));
	ck_assert_str_eq(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			 "Transfer-Encoding: chunked\r\n\r\n"
			 "c\r\nhello, world\r\n0\r\n\r\n");
	ck_assert_int_eq(close(p[0]), 0);

	/* HTTP/1.0: the body ends with the connection. */
	ck_assert_int_eq(pipe(p), 0);
	lt_http_stream_init(s, p[1], 0, 1, 1, "application/json");
	ck_assert_int_eq(lt_http_stream_write(s, "{}", 2), 0);
	ck_assert_int_eq(lt_http_stream_end(s), 0);
	ck_assert_int_eq(lt_http_stream_keep_alive(s), 0);
	ck_assert_int_eq(close(p[1]), 0);
	read_all(p[0], out, sizeof(out));
	ck_assert_str_eq(out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
			 "Connection: close\r\n\r\n{}");
	ck_assert_int_eq(close(p[0]), 0);

	/* CGI: the web server frames it. */
	ck_assert_int_eq(pipe(p), 0);
	lt_http_stream_init(s, p[1], 1, 0, 1, "application/json");
	ck_assert_int_eq(lt_http_stream_end(s), 0);
	ck_assert_int_eq(close(p[1]), 0);
	read_all(p[0], out, sizeof(out));
	ck_assert_str_eq(out, "Status: 200 OK\r\nContent-Type: application/json\r\n\r\n");
	ck_assert_int_eq(close(p[0]), 0);
	free(s);
}
END_TEST

START_TEST(test_print_lines)
{
	static const char json[] =
		"{\"status\":\"success\",\"data\":{\"resultType\":\"streams\","
		"\"result\":[{\"stream\":{\"env\":\"prod\",\"app\":\"api\"},"
		"\"values\":[[\"1700000002000000000\",\"second\\n\"],"
		"[\"1700000000000000000\",\"first \\u00e9\"]]},"
		"{\"stream\":{\"app\":\"db\"},\"values\":[[\"1700000001000000000\","
		"\"middle \\\"q\\\"\",{\"trace\":\"x\"}]]}],"
		"\"stats\":{\"summary\":{\"bytesProcessedPerSecond\":1}}}}";
	static const char bad[] = "{\"data\":{\"result\":[{\"values\":[]}]}}";
	char err[256], out[1024];
	FILE *f;
	long n;

	ck_assert_int_eq(setenv("TZ", "UTC", 1), 0);
	tzset();
	f = fmemopen(out, sizeof(out), "w");
	ck_assert_ptr_nonnull(f);
	n = lt_query_print_lines(json, sizeof(json) - 1, 0, f, err, sizeof(err));
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(n, 3);
	/* Newest first, labels sorted and padded to the longest. */
	ck_assert_str_eq(out,
		"2023-11-14T22:13:22Z {app=\"api\", env=\"prod\"} second\n"
		"2023-11-14T22:13:21Z {app=\"db\"}              middle \"q\"\n"
		"2023-11-14T22:13:20Z {app=\"api\", env=\"prod\"} first \xc3\xa9\n");

	f = fmemopen(out, sizeof(out), "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(lt_query_print_lines(bad, strlen(bad), 1, f, err,
					      sizeof(err)), -1);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_str_eq(err, "unexpected answer: values before stream");
}
END_TEST

/* --- Metric queries --- */

/* count_over_time({app="api"}[5m]) from 1699990000 to 1699999000 every
 * minute: 9000 s / 60 s + 1 = 151 steps, the first at start. */
START_TEST(test_metric_range)
{
	struct lt_query_error err;

	ck_assert_int_eq(run(LT_EP_QUERY_RANGE, "acme",
			     "query=count_over_time(%7Bapp%3D%22api%22%7D%5B5m%5D)"
			     "&start=1699990000&end=1699999000&step=60", &err), 0);
	ck_assert_str_eq(seen.what, "metric");
	ck_assert_int_eq(seen.kind, LT_EXPR_RANGE);
	ck_assert_int_eq(seen.range_op, LT_RANGE_COUNT);
	ck_assert(seen.range_ns == 300 * S);
	ck_assert_str_eq(seen.metric.tenant, "acme");
	ck_assert(seen.metric.start_ns == INT64_C(1699990000) * S);
	ck_assert(seen.metric.step_ns == 60 * S);
	ck_assert_uint_eq(seen.metric.n_steps, 151);
	ck_assert_int_eq(seen.metric.instant, 0);
	ck_assert_int_eq(seen.opened, 1);
	ck_assert_int_eq(seen.closed, 1);

	/* A step that does not divide the range: 9000 / 7 = 1285.7, so
	 * 1286 steps, the last at 1699998995. */
	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(run(LT_EP_QUERY_RANGE, "acme",
			     "query=sum by (level) (rate({app=\"api\"}[1m]))"
			     "&start=1699990000&end=1699999000&step=7s", &err), 0);
	ck_assert_int_eq(seen.kind, LT_EXPR_VECTOR_AGG);
	ck_assert_int_eq(seen.range_op, LT_RANGE_RATE);
	ck_assert(seen.metric.step_ns == 7 * S);
	ck_assert_uint_eq(seen.metric.n_steps, 1286);

	/* start == end: one step. */
	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(run(LT_EP_QUERY_RANGE, "acme",
			     "query=rate({app=\"api\"}[1m])"
			     "&start=1699990000&end=1699990000&step=60", &err), 0);
	ck_assert_uint_eq(seen.metric.n_steps, 1);
}
END_TEST

/* Loki's default step: max(floor((end - start) / 250 s), 1 s). */
START_TEST(test_metric_default_step)
{
	struct lt_query_error err;

	/* The default hour: 3600 / 250 = 14.4, 14 s; 3600 / 14 = 257.1, so
	 * 258 steps. */
	ck_assert_int_eq(run(LT_EP_QUERY_RANGE, "acme",
			     "query=count_over_time({app=\"api\"}[1m])", &err), 0);
	ck_assert(seen.metric.start_ns == NOW - 3600 * S);
	ck_assert(seen.metric.step_ns == 14 * S);
	ck_assert_uint_eq(seen.metric.n_steps, 258);
	/* 10000 s: 40 s, 251 steps. */
	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(run(LT_EP_QUERY_RANGE, "acme",
			     "query=count_over_time({app=\"api\"}[1m])"
			     "&start=1699990000&end=1700000000", &err), 0);
	ck_assert(seen.metric.step_ns == 40 * S);
	ck_assert_uint_eq(seen.metric.n_steps, 251);
	/* 100 s: under 250 s, 1 s; 101 steps. */
	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(run(LT_EP_QUERY_RANGE, "acme",
			     "query=count_over_time({app=\"api\"}[1m])"
			     "&start=1699999900&end=1700000000", &err), 0);
	ck_assert(seen.metric.step_ns == 1 * S);
	ck_assert_uint_eq(seen.metric.n_steps, 101);
}
END_TEST

START_TEST(test_metric_instant)
{
	struct lt_query_error err;

	ck_assert_int_eq(run(LT_EP_QUERY, "acme",
			     "query=sum(bytes_over_time({app=\"api\"}[1h]))"
			     "&time=1700000100", &err), 0);
	ck_assert_str_eq(seen.what, "metric");
	ck_assert_int_eq(seen.kind, LT_EXPR_VECTOR_AGG);
	ck_assert_int_eq(seen.range_op, LT_RANGE_BYTES);
	ck_assert(seen.metric.start_ns == INT64_C(1700000100) * S);
	ck_assert_uint_eq(seen.metric.n_steps, 1);
	ck_assert_int_eq(seen.metric.instant, 1);
	ck_assert_int_gt(seen.metric.step_ns, 0);
	/* Without time: now. */
	memset(&seen, 0, sizeof(seen));
	ck_assert_int_eq(run(LT_EP_QUERY, "acme",
			     "query=count_over_time({app=\"api\"}[1m])", &err), 0);
	ck_assert(seen.metric.start_ns == NOW);
	ck_assert_int_eq(seen.metric.instant, 1);
}
END_TEST

/* Grafana's test of a Loki data source: an instant vector(1)+vector(1)
 * (pkg/tsdb/loki, CheckHealth), answered whatever the data. */
START_TEST(test_metric_grafana_health)
{
	struct lt_query_error err;

	ck_assert_int_eq(run(LT_EP_QUERY, "acme",
			     "query=vector(1)%2Bvector(1)&time=1700000000000000000",
			     &err), 0);
	ck_assert_str_eq(seen.what, "metric");
	ck_assert_int_eq(seen.kind, LT_EXPR_BINARY);
	ck_assert(seen.metric.start_ns == NOW);
	ck_assert_uint_eq(seen.metric.n_steps, 1);
	ck_assert_int_eq(seen.metric.instant, 1);
}
END_TEST

START_TEST(test_metric_refusals)
{
	/* The step limit holds for metric queries (their points). */
	refused(LT_EP_QUERY_RANGE, "query=rate({a=\"b\"}[1m])&step=0.1", 400,
		"exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter");
	refused(LT_EP_QUERY_RANGE,
		"query=rate({a=\"b\"}[1m])&start=1697321600&end=1700000000", 400,
		"the query time range exceeds the limit (query length: 744h0m0s, limit: 30d1h)");
	refused(LT_EP_QUERY_RANGE, "query=rate({a=\"b\"}[1m])&step=-5", 400,
		"zero or negative query resolution step widths are not accepted. Try a positive integer");
	refused(LT_EP_QUERY, "query=rate({a=\"b\"}[1m])&time=x", 400,
		"strconv.ParseInt: parsing \"x\": invalid syntax");
	refused(LT_EP_QUERY, "query=rate({a=\"b\"}[1m])&limit=0", 400,
		"limit must be a positive value");
}
END_TEST

static Suite *
query_http_suite(void)
{
	Suite *s = suite_create("query-http");
	TCase *tc = tcase_create("front");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_form_decoding);
	tcase_add_test(tc, test_form_errors);
	tcase_add_test(tc, test_time_integers);
	tcase_add_test(tc, test_time_floats);
	tcase_add_test(tc, test_time_rfc3339);
	tcase_add_test(tc, test_durations);
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_query_range_params);
	tcase_add_test(tc, test_query_range_refusals);
	tcase_add_test(tc, test_metric_range);
	tcase_add_test(tc, test_metric_default_step);
	tcase_add_test(tc, test_metric_instant);
	tcase_add_test(tc, test_metric_grafana_health);
	tcase_add_test(tc, test_metric_refusals);
	tcase_add_test(tc, test_limits_per_tenant);
	tcase_add_test(tc, test_query_limit_settings);
	tcase_add_test(tc, test_other_endpoints);
	tcase_add_test(tc, test_buildinfo);
	tcase_add_test(tc, test_volume_params);
	tcase_add_test(tc, test_volume_refusals);
	tcase_add_test(tc, test_detected_params);
	tcase_add_test(tc, test_patterns);
	tcase_add_test(tc, test_routing);
	tcase_add_test(tc, test_check_head);
	tcase_add_test(tc, test_tenant_tokens);
	tcase_add_test(tc, test_handle_post_form);
	tcase_add_test(tc, test_stream_chunked);
	tcase_add_test(tc, test_print_lines);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	/* No config file from the machine, and none from the environment. */
	(void)unsetenv("LOGTHRA_CONFIG");
	if (mkdtemp(dir) == NULL)
		return EXIT_FAILURE;
	(void)snprintf(conf, sizeof(conf), "%s/logthra.conf", dir);
	(void)setenv("LOGTHRA_CONFIG", "/dev/null", 1);
	sr = srunner_create(query_http_suite());
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	(void)unlink(conf);
	{
		char path[300];

		(void)snprintf(path, sizeof(path), "%s/credentials", dir);
		(void)unlink(path);
	}
	(void)rmdir(dir);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
