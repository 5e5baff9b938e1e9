/* Unit tests: the LogQL pipeline on single entries.  Expected answers come
 * from Loki's documentation (docs/sources/query/log_queries: the json,
 * logfmt, regexp, pattern and unpack examples) and from the behaviour of
 * its pkg/logql/log stages. */
#include "config.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "labels.h"
#include "logql.h"
#include "pipeline.h"
#include "template.h"

/* ---- building syntax trees by hand ---- */

#define MAXS 8
#define MAXP 8
#define MAXF 16

struct q {
	struct lt_logql lq;
	struct lt_stage st[MAXS];
	struct lt_named named[MAXS][MAXP];
	char *vals[MAXS][4];
	struct lt_label_filter lf[MAXF];
	size_t n_lf;
};

static void
q_init(struct q *q)
{
	memset(q, 0, sizeof(*q));
	q->lq.stages = q->st;
}

static struct lt_stage *
q_add(struct q *q, enum lt_stage_kind kind)
{
	struct lt_stage *s;

	ck_assert_uint_lt(q->lq.n_stages, MAXS);
	s = &q->st[q->lq.n_stages++];
	s->kind = kind;
	s->params = q->named[s - q->st];
	return s;
}

static void
q_line(struct q *q, enum lt_line_op op, const char *v1, const char *v2)
{
	struct lt_stage *s = q_add(q, LT_STAGE_LINE_FILTER);
	char **v = q->vals[s - q->st];

	s->line.op = op;
	s->line.values = v;
	v[s->line.n_values++] = (char *)v1;
	if (v2 != NULL)
		v[s->line.n_values++] = (char *)v2;
}

/* name, expression pairs, NULL-terminated. */
static void
q_named(struct lt_stage *s, va_list ap)
{
	const char *name;

	while ((name = va_arg(ap, const char *)) != NULL) {
		ck_assert_uint_lt(s->n_params, MAXP);
		s->params[s->n_params].name = (char *)name;
		s->params[s->n_params++].expression =
			(char *)va_arg(ap, const char *);
	}
}

static void
q_json(struct q *q, ...)
{
	struct lt_stage *s = q_add(q, LT_STAGE_JSON);
	va_list ap;

	va_start(ap, q);
	q_named(s, ap);
	va_end(ap);
}

static void
q_logfmt(struct q *q, int strict, int keep_empty, ...)
{
	struct lt_stage *s = q_add(q, LT_STAGE_LOGFMT);
	va_list ap;

	s->logfmt_strict = strict;
	s->logfmt_keep_empty = keep_empty;
	va_start(ap, keep_empty);
	q_named(s, ap);
	va_end(ap);
}

static void
q_text(struct q *q, enum lt_stage_kind kind, const char *text)
{
	q_add(q, kind)->text = (char *)text;
}

/* label_format: name, expression, is_template triples, NULL-terminated. */
static void
q_label_format(struct q *q, ...)
{
	struct lt_stage *s = q_add(q, LT_STAGE_LABEL_FORMAT);
	const char *name;
	va_list ap;

	va_start(ap, q);
	while ((name = va_arg(ap, const char *)) != NULL) {
		s->params[s->n_params].name = (char *)name;
		s->params[s->n_params].expression =
			(char *)va_arg(ap, const char *);
		s->params[s->n_params++].is_template = va_arg(ap, int);
	}
	va_end(ap);
}

/* drop/keep: name, value (NULL: by name), op triples, NULL-terminated. */
static void
q_dropkeep(struct q *q, enum lt_stage_kind kind, ...)
{
	struct lt_stage *s = q_add(q, kind);
	const char *name;
	va_list ap;

	va_start(ap, kind);
	while ((name = va_arg(ap, const char *)) != NULL) {
		s->params[s->n_params].name = (char *)name;
		s->params[s->n_params].expression =
			(char *)va_arg(ap, const char *);
		s->params[s->n_params++].op = va_arg(ap, enum lt_match_op);
	}
	va_end(ap);
}

static struct lt_label_filter *
lf_new(struct q *q, enum lt_label_filter_kind kind)
{
	struct lt_label_filter *f;

	ck_assert_uint_lt(q->n_lf, MAXF);
	f = &q->lf[q->n_lf++];
	f->kind = kind;
	return f;
}

static struct lt_label_filter *
lf_str(struct q *q, const char *name, enum lt_match_op op, const char *value)
{
	struct lt_label_filter *f = lf_new(q, LT_LF_STRING);

	f->matcher.name = (char *)name;
	f->matcher.value = (char *)value;
	f->matcher.op = op;
	return f;
}

static struct lt_label_filter *
lf_cmp(struct q *q, enum lt_label_filter_kind kind, const char *name,
       enum lt_cmp_op cmp, double number)
{
	struct lt_label_filter *f = lf_new(q, kind);

	f->name = (char *)name;
	f->cmp = cmp;
	f->number = number;
	return f;
}

static struct lt_label_filter *
lf_bin(struct q *q, enum lt_label_filter_kind kind, struct lt_label_filter *l,
       struct lt_label_filter *r)
{
	struct lt_label_filter *f = lf_new(q, kind);

	f->left = l;
	f->right = r;
	return f;
}

static void
q_filter(struct q *q, struct lt_label_filter *f)
{
	q_add(q, LT_STAGE_LABEL_FILTER)->filter = f;
}

/* ---- running and checking ---- */

#define MAXL 64

struct lbls {
	struct lt_label l[MAXL];
	size_t n;
	char *scratch;
};

static void
parse_labels(struct lbls *b, const char *text)
{
	char why[256];
	size_t len = strlen(text);

	b->scratch = malloc(len + 1);
	ck_assert_ptr_nonnull(b->scratch);
	ck_assert_msg(lt_labels_parse(text, len, b->scratch, b->l, MAXL, &b->n,
				      why, sizeof(why)) == 0,
		      "bad labels in the test: %s", why);
}

/* Labels as text, {a="b", c="d"}, escaping \, " and newlines: the form
 * the expected answers are written in. */
static void
format_labels(struct lt_buf *b, const struct lt_label *l, size_t n)
{
	size_t i, k;
	char c;

	b->len = 0;
	ck_assert_int_eq(lt_buf_append_byte(b, '{'), 0);
	for (i = 0; i < n; i++) {
		if (i > 0)
			ck_assert_int_eq(lt_buf_append(b, ", ", 2), 0);
		ck_assert_int_eq(lt_buf_append(b, l[i].name, l[i].name_len), 0);
		ck_assert_int_eq(lt_buf_append(b, "=\"", 2), 0);
		for (k = 0; k < l[i].value_len; k++) {
			c = l[i].value[k];
			if (c == '\\' || c == '"')
				ck_assert_int_eq(lt_buf_append_byte(b, '\\'), 0);
			if (c == '\n') {
				ck_assert_int_eq(lt_buf_append(b, "\\n", 2), 0);
				continue;
			}
			ck_assert_int_eq(lt_buf_append_byte(b, (unsigned char)c),
					 0);
		}
		ck_assert_int_eq(lt_buf_append_byte(b, '"'), 0);
	}
	ck_assert_int_eq(lt_buf_append_byte(b, '}'), 0);
	ck_assert_int_eq(lt_buf_terminate(b), 0);
}

static struct lt_pipeline *
new_pipeline(const struct q *q, const unsigned char *skip)
{
	char why[256] = "";
	struct lt_pipeline *p = lt_pipeline_new(&q->lq, skip, why, sizeof(why));

	ck_assert_msg(p != NULL, "lt_pipeline_new: %s", why);
	return p;
}

/* Runs p on one entry (labels and metadata as text) and checks what comes
 * out: dropped (want_line NULL), or the line and the labels. */
static void
check_run(struct lt_pipeline *p, const char *labels, const char *meta,
	  const char *line, const char *want_line, const char *want_labels)
{
	struct lbls in, md, want;
	struct lt_pl_input e;
	struct lt_pl_output out;
	struct lt_buf got = LT_BUF_INIT, exp = LT_BUF_INIT;
	int rc;

	parse_labels(&in, labels);
	parse_labels(&md, meta != NULL ? meta : "{}");
	memset(&e, 0, sizeof(e));
	e.ts_ns = 1700000000000000000LL;
	e.line = line;
	e.line_len = strlen(line);
	e.labels = in.l;
	e.n_labels = in.n;
	e.metadata = md.l;
	e.n_metadata = md.n;
	memset(&out, 0, sizeof(out));
	rc = lt_pipeline_run(p, &e, &out);
	if (want_line == NULL) {
		ck_assert_int_eq(rc, 0);
	} else {
		ck_assert_int_eq(rc, 1);
		ck_assert_uint_eq(out.line_len, strlen(want_line));
		ck_assert_mem_eq(out.line, want_line, out.line_len);
		parse_labels(&want, want_labels);
		format_labels(&got, out.labels, out.n_labels);
		format_labels(&exp, want.l, want.n);
		ck_assert_str_eq((const char *)got.data,
				 (const char *)exp.data);
		free(want.scratch);
	}
	lt_buf_free(&got);
	lt_buf_free(&exp);
	free(in.scratch);
	free(md.scratch);
}

/* A pipeline for q, run on one entry. */
static void
check(const struct q *q, const char *labels, const char *meta,
      const char *line, const char *want_line, const char *want_labels)
{
	struct lt_pipeline *p = new_pipeline(q, NULL);

	check_run(p, labels, meta, line, want_line, want_labels);
	lt_pipeline_free(p);
}

/* lt_pipeline_new refuses q with a message that starts with want. */
static void
check_refused(const struct q *q, const char *want)
{
	char why[256] = "";
	struct lt_pipeline *p = lt_pipeline_new(&q->lq, NULL, why, sizeof(why));

	ck_assert_ptr_null(p);
	ck_assert_msg(strncmp(why, want, strlen(want)) == 0,
		      "why: \"%s\", want \"%s...\"", why, want);
}

/* ---- line filters ---- */

START_TEST(test_contains)
{
	struct q q;

	q_init(&q);
	q_line(&q, LT_LINE_CONTAINS, "error", NULL);
	check(&q, "{app=\"a\"}", NULL, "an error here", "an error here",
	      "{app=\"a\"}");
	check(&q, "{app=\"a\"}", NULL, "all fine", NULL, NULL);
	check(&q, "{app=\"a\"}", NULL, "", NULL, NULL);
}
END_TEST

START_TEST(test_contains_or)
{
	struct q q;

	q_init(&q);
	q_line(&q, LT_LINE_CONTAINS, "foo", "bar");
	check(&q, "{}", NULL, "x bar", "x bar", "{}");
	check(&q, "{}", NULL, "foo x", "foo x", "{}");
	check(&q, "{}", NULL, "baz", NULL, NULL);
}
END_TEST

START_TEST(test_not_contains)
{
	struct q q;

	q_init(&q);
	q_line(&q, LT_LINE_NOT_CONTAINS, "debug", NULL);
	check(&q, "{}", NULL, "debug stuff", NULL, NULL);
	check(&q, "{}", NULL, "info stuff", "info stuff", "{}");
}
END_TEST

/* != "a" or "b" keeps the lines that have neither. */
START_TEST(test_not_contains_or)
{
	struct q q;

	q_init(&q);
	q_line(&q, LT_LINE_NOT_CONTAINS, "a", "b");
	check(&q, "{}", NULL, "xbx", NULL, NULL);
	check(&q, "{}", NULL, "xax", NULL, NULL);
	check(&q, "{}", NULL, "xyz", "xyz", "{}");
}
END_TEST

/* A line filter's regex is not anchored. */
START_TEST(test_regex_unanchored)
{
	struct q q;

	q_init(&q);
	q_line(&q, LT_LINE_MATCH, "err(or)?\\s+\\d+", NULL);
	check(&q, "{}", NULL, "an error 42 x", "an error 42 x", "{}");
	check(&q, "{}", NULL, "err 7", "err 7", "{}");
	check(&q, "{}", NULL, "error x", NULL, NULL);
}
END_TEST

START_TEST(test_not_regex)
{
	struct q q;

	q_init(&q);
	q_line(&q, LT_LINE_NOT_MATCH, "^GET", NULL);
	check(&q, "{}", NULL, "GET /", NULL, NULL);
	check(&q, "{}", NULL, "POST /GET", "POST /GET", "{}");
}
END_TEST

START_TEST(test_regex_case_insensitive)
{
	struct q q;

	q_init(&q);
	q_line(&q, LT_LINE_MATCH, "(?i)ERROR", "warn");
	check(&q, "{}", NULL, "an error", "an error", "{}");
	check(&q, "{}", NULL, "a warning", "a warning", "{}");
	check(&q, "{}", NULL, "a WARNING", NULL, NULL);
}
END_TEST

/* A regex that backtracks exponentially is stopped by the match limit
 * (the test's timeout would catch a spin) and counts as no match. */
START_TEST(test_regex_catastrophic)
{
	struct q q;
	char line[64];

	memset(line, 'a', 40);
	line[40] = 'b';
	line[41] = '\0';
	q_init(&q);
	q_line(&q, LT_LINE_MATCH, "^(a|aa|a?a)+$", NULL);
	check(&q, "{}", NULL, line, NULL, NULL);
}
END_TEST

/* Invalid UTF-8 in a line does not stop a regex from matching. */
START_TEST(test_regex_invalid_utf8)
{
	struct q q;

	q_init(&q);
	q_line(&q, LT_LINE_MATCH, "b.c", NULL);
	check(&q, "{}", NULL, "a\xff" "bxc", "a\xff" "bxc", "{}");
}
END_TEST

START_TEST(test_empty_contains)
{
	struct q q;

	q_init(&q);
	q_line(&q, LT_LINE_CONTAINS, "", NULL);
	check(&q, "{}", NULL, "", "", "{}");
	check(&q, "{}", NULL, "x", "x", "{}");
}
END_TEST

START_TEST(test_bad_regex)
{
	struct q q;

	q_init(&q);
	q_line(&q, LT_LINE_MATCH, "(a", NULL);
	check_refused(&q, "invalid regexp");
}
END_TEST

/* ---- json ---- */

/* The example of Loki's documentation (log_queries, "JSON"). */
static const char docs_json[] =
	"{\"protocol\": \"HTTP/2.0\", \"servers\": [\"129.0.1.1\",\"10.2.1.3\"],"
	" \"request\": {\"time\": \"6.032\", \"method\": \"GET\","
	" \"host\": \"foo.grafana.net\", \"size\": \"55\","
	" \"headers\": {\"Accept\": \"*/*\", \"User-Agent\": \"curl/7.68.0\"}},"
	" \"response\": {\"status\": 401, \"size\": \"228\","
	" \"latency_seconds\": \"6.031\"}}";

START_TEST(test_json_docs)
{
	struct q q;

	q_init(&q);
	q_json(&q, NULL);
	check(&q, "{app=\"a\"}", NULL, docs_json, docs_json,
	      "{app=\"a\", protocol=\"HTTP/2.0\", request_headers_Accept=\"*/*\","
	      " request_headers_User_Agent=\"curl/7.68.0\","
	      " request_host=\"foo.grafana.net\", request_method=\"GET\","
	      " request_size=\"55\", request_time=\"6.032\","
	      " response_latency_seconds=\"6.031\", response_size=\"228\","
	      " response_status=\"401\"}");
}
END_TEST

/* The documentation's json with parameters. */
START_TEST(test_json_params_docs)
{
	struct q q;

	q_init(&q);
	q_json(&q, "first_server", "servers[0]", "ua",
	       "request.headers[\"User-Agent\"]", NULL);
	check(&q, "{}", NULL, docs_json, docs_json,
	      "{first_server=\"129.0.1.1\", ua=\"curl/7.68.0\"}");
}
END_TEST

START_TEST(test_json_clash_stream)
{
	struct q q;

	q_init(&q);
	q_json(&q, NULL);
	check(&q, "{level=\"x\"}", NULL, "{\"level\":\"info\",\"a\":\"b\"}",
	      "{\"level\":\"info\",\"a\":\"b\"}",
	      "{a=\"b\", level=\"x\", level_extracted=\"info\"}");
}
END_TEST

/* Only stream labels make a parsed label NAME_extracted: one of structured
 * metadata is replaced, as Loki's LabelsBuilder.BaseHas has it. */
START_TEST(test_json_clash_metadata)
{
	struct q q;

	q_init(&q);
	q_json(&q, NULL);
	check(&q, "{app=\"a\"}", "{trace_id=\"t1\"}",
	      "{\"trace_id\":\"t2\"}", "{\"trace_id\":\"t2\"}",
	      "{app=\"a\", trace_id=\"t2\"}");
}
END_TEST

START_TEST(test_json_not_json)
{
	struct q q;

	q_init(&q);
	q_json(&q, NULL);
	check(&q, "{app=\"a\"}", NULL, "not json", "not json",
	      "{__error__=\"JSONParserErr\", __error_details__=\"Value looks "
	      "like object, but can't find closing '}' symbol\", app=\"a\"}");
}
END_TEST

/* An entry with __error__ is kept; | __error__="" drops it. */
START_TEST(test_json_error_filtered)
{
	struct q q;

	q_init(&q);
	q_json(&q, NULL);
	q_filter(&q, lf_str(&q, "__error__", LT_MATCH_EQ, ""));
	check(&q, "{}", NULL, "not json", NULL, NULL);
	check(&q, "{}", NULL, "{\"a\":\"1\"}", "{\"a\":\"1\"}", "{a=\"1\"}");
}
END_TEST

START_TEST(test_json_unescape)
{
	struct q q;

	q_init(&q);
	q_json(&q, NULL);
	check(&q, "{}", NULL,
	      "{\"msg\":\"a\\\"b\\u00e9\\n\\/\",\"k\\u0041\":\"\\ud83d\\ude00\"}",
	      "{\"msg\":\"a\\\"b\\u00e9\\n\\/\",\"k\\u0041\":\"\\ud83d\\ude00\"}",
	      "{kA=\"\xf0\x9f\x98\x80\", msg=\"a\\\"b\xc3\xa9\\n/\"}");
}
END_TEST

/* Numbers and booleans as text; null is not a leaf Loki extracts. */
START_TEST(test_json_types)
{
	struct q q;
	const char *line = "{\"a\":true,\"b\":false,\"c\":-1.5e3,\"d\":null,"
			   "\"e\":{},\"f\":[{\"g\":1}],\"h\":\"\"}";

	q_init(&q);
	q_json(&q, NULL);
	check(&q, "{}", NULL, line, line,
	      "{a=\"true\", b=\"false\", c=\"-1.5e3\", h=\"\"}");
}
END_TEST

START_TEST(test_json_sanitize)
{
	struct q q;
	const char *line = "{\"a-b\":\"1\",\"1x\":\"2\",\"k\xc3\xa9\":\"3\","
			   "\" sp \":\"4\",\"n\":{\"2.y\":\"5\"}}";

	q_init(&q);
	q_json(&q, NULL);
	check(&q, "{}", NULL, line, line,
	      "{_1x=\"2\", a_b=\"1\", k_=\"3\", n_2_y=\"5\", sp=\"4\"}");
}
END_TEST

/* jsonparser hands over the members before an error: they stay. */
START_TEST(test_json_partial)
{
	struct q q;
	const char *line = "{\"a\":\"1\", \"b\": }";

	q_init(&q);
	q_json(&q, NULL);
	check(&q, "{}", NULL, line, line,
	      "{__error__=\"JSONParserErr\", __error_details__=\"Value looks "
	      "like Number/Boolean/None, but can't find its end: ',' or '}' "
	      "symbol\", a=\"1\"}");
}
END_TEST

START_TEST(test_json_invalid_utf8_value)
{
	struct q q;

	q_init(&q);
	q_json(&q, NULL);
	check(&q, "{}", NULL, "{\"a\":\"x\xffy\xef\xbf\xbdz\"}",
	      "{\"a\":\"x\xffy\xef\xbf\xbdz\"}", "{a=\"x y z\"}");
}
END_TEST

START_TEST(test_json_params_object_missing)
{
	struct q q;
	const char *line = "{\"a\":{\"b\":1},\"n\":null,\"arr\":[1,2]}";

	q_init(&q);
	q_json(&q, "x", "a", "y", "a.b", "z", "nope.b", "w", "n", "v", "arr",
	       NULL);
	check(&q, "{}", NULL, line, line,
	      "{v=\"[1,2]\", w=\"\", x=\"{\\\"b\\\":1}\", y=\"1\", z=\"\"}");
}
END_TEST

/* A line that cannot start JSON: the error, no details, no labels. */
START_TEST(test_json_params_not_json)
{
	struct q q;

	q_init(&q);
	q_json(&q, "x", "a", NULL);
	check(&q, "{}", NULL, "hello", "hello", "{__error__=\"JSONParserErr\"}");
}
END_TEST

START_TEST(test_json_params_clash)
{
	struct q q;

	q_init(&q);
	q_json(&q, "x", "a", NULL);
	check(&q, "{x=\"s\"}", NULL, "{\"a\":\"v\"}", "{\"a\":\"v\"}",
	      "{x=\"s\", x_extracted=\"v\"}");
}
END_TEST

START_TEST(test_json_bad_path)
{
	struct q q;

	q_init(&q);
	q_json(&q, "x", "a..b", NULL);
	check_refused(&q, "cannot parse expression [a..b]");
}
END_TEST

/* ---- logfmt ---- */

START_TEST(test_logfmt_docs)
{
	struct q q;
	const char *line = "at=info method=GET path=/ host=grafana.net "
			   "fwd=\"124.133.124.161\" service=8ms status=200";

	q_init(&q);
	q_logfmt(&q, 0, 0, NULL);
	check(&q, "{app=\"a\"}", NULL, line, line,
	      "{app=\"a\", at=\"info\", fwd=\"124.133.124.161\", "
	      "host=\"grafana.net\", method=\"GET\", path=\"/\", "
	      "service=\"8ms\", status=\"200\"}");
}
END_TEST

START_TEST(test_logfmt_clash)
{
	struct q q;

	q_init(&q);
	q_logfmt(&q, 0, 0, NULL);
	check(&q, "{method=\"x\"}", NULL, "method=GET", "method=GET",
	      "{method=\"x\", method_extracted=\"GET\"}");
}
END_TEST

START_TEST(test_logfmt_empty)
{
	struct q q;

	q_init(&q);
	q_logfmt(&q, 0, 0, NULL);
	check(&q, "{}", NULL, "a= b=1 c", "a= b=1 c", "{b=\"1\"}");
}
END_TEST

START_TEST(test_logfmt_keep_empty)
{
	struct q q;

	q_init(&q);
	q_logfmt(&q, 0, 1, NULL);
	check(&q, "{}", NULL, "a= b=1 c d=\"\"", "a= b=1 c d=\"\"",
	      "{a=\"\", b=\"1\", c=\"\", d=\"\"}");
}
END_TEST

START_TEST(test_logfmt_quoted)
{
	struct q q;
	const char *line = "msg=\"hello \\\"world\\\"\\n\" x=1";

	q_init(&q);
	q_logfmt(&q, 0, 0, NULL);
	check(&q, "{}", NULL, line, line,
	      "{msg=\"hello \\\"world\\\"\\n\", x=\"1\"}");
}
END_TEST

/* Without --strict an error is skipped and not reported. */
START_TEST(test_logfmt_lenient)
{
	struct q q;

	q_init(&q);
	q_logfmt(&q, 0, 0, NULL);
	check(&q, "{}", NULL, "a=1 =x b=2", "a=1 =x b=2",
	      "{a=\"1\", b=\"2\"}");
	check(&q, "{}", NULL, "a\"b=1 c=2", "a\"b=1 c=2", "{c=\"2\"}");
	check(&q, "{}", NULL, "a=1 b=\"unterminated", "a=1 b=\"unterminated",
	      "{a=\"1\"}");
}
END_TEST

/* --strict stops at the first error and reports it (go-logfmt's message,
 * its position counted from 1). */
START_TEST(test_logfmt_strict)
{
	struct q q;

	q_init(&q);
	q_logfmt(&q, 1, 0, NULL);
	check(&q, "{}", NULL, "a=1 =x b=2", "a=1 =x b=2",
	      "{__error__=\"LogfmtParserErr\", __error_details__=\"logfmt "
	      "syntax error at pos 5 : unexpected '='\", a=\"1\"}");
	check(&q, "{}", NULL, "a=1 b=\"unterminated", "a=1 b=\"unterminated",
	      "{__error__=\"LogfmtParserErr\", __error_details__=\"logfmt "
	      "syntax error at pos 20 : unterminated quoted value\", "
	      "a=\"1\"}");
	check(&q, "{}", NULL, "a=1 b=x\"y c=3", "a=1 b=x\"y c=3",
	      "{__error__=\"LogfmtParserErr\", __error_details__=\"logfmt "
	      "syntax error at pos 8 : unexpected '\\\"'\", a=\"1\"}");
}
END_TEST

START_TEST(test_logfmt_params)
{
	struct q q;
	const char *line = "method=GET status=200 other=1";

	q_init(&q);
	q_logfmt(&q, 0, 0, "m", "method", "status", NULL, "missing", NULL,
		 NULL);
	check(&q, "{}", NULL, line, line,
	      "{m=\"GET\", missing=\"\", status=\"200\"}");
}
END_TEST

START_TEST(test_logfmt_sanitize)
{
	struct q q;

	q_init(&q);
	q_logfmt(&q, 0, 0, NULL);
	check(&q, "{}", NULL, "a.b=1 1c=2 d=\xff", "a.b=1 1c=2 d=\xff",
	      "{_1c=\"2\", a_b=\"1\", d=\" \"}");
}
END_TEST

/* ---- regexp ---- */

START_TEST(test_regexp_docs)
{
	struct q q;
	const char *line = "POST /api/prom/api/v1/query_range (200) 1.5s";

	q_init(&q);
	q_text(&q, LT_STAGE_REGEXP,
	       "(?P<method>\\w+) (?P<path>[\\w|/]+) \\((?P<status>\\d+?)\\) "
	       "(?P<duration>.*)");
	check(&q, "{}", NULL, line, line,
	      "{duration=\"1.5s\", method=\"POST\", "
	      "path=\"/api/prom/api/v1/query_range\", status=\"200\"}");
}
END_TEST

START_TEST(test_regexp_no_match)
{
	struct q q;

	q_init(&q);
	q_text(&q, LT_STAGE_REGEXP, "id=(?P<id>\\d+)");
	check(&q, "{a=\"1\"}", NULL, "nothing", "nothing", "{a=\"1\"}");
	check(&q, "{id=\"s\"}", NULL, "x id=42", "x id=42",
	      "{id=\"s\", id_extracted=\"42\"}");
}
END_TEST

/* A group that takes no part is "", as Go's FindSubmatch gives nil. */
START_TEST(test_regexp_unset_group)
{
	struct q q;

	q_init(&q);
	q_text(&q, LT_STAGE_REGEXP, "(?P<a>x)?(?P<b>y)");
	check(&q, "{}", NULL, "y", "y", "{a=\"\", b=\"y\"}");
}
END_TEST

START_TEST(test_regexp_refused)
{
	struct q q;

	q_init(&q);
	q_text(&q, LT_STAGE_REGEXP, "(\\d+)");
	check_refused(&q, "at least one named capture must be supplied");
	q_init(&q);
	q_text(&q, LT_STAGE_REGEXP, "(?P<a>[)");
	check_refused(&q, "invalid regexp");
}
END_TEST

/* ---- pattern ---- */

START_TEST(test_pattern_docs)
{
	struct q q;
	const char *line =
		"0.191.12.2 - - [10/Jun/2021:09:14:29 +0000] \"GET "
		"/api/plugins/versioncheck HTTP/1.1\" 200 2 \"-\" "
		"\"Go-http-client/2.0\" \"13.76.247.102, 34.120.177.193\" "
		"\"TLSv1.2\" \"US\" \"\"";

	q_init(&q);
	q_text(&q, LT_STAGE_PATTERN,
	       "<ip> - - <_> \"<method> <uri> <_>\" <status> <size> <_> "
	       "\"<agent>\" <_>");
	check(&q, "{}", NULL, line, line,
	      "{agent=\"Go-http-client/2.0\", ip=\"0.191.12.2\", "
	      "method=\"GET\", size=\"2\", status=\"200\", "
	      "uri=\"/api/plugins/versioncheck\"}");
}
END_TEST

START_TEST(test_pattern_partial)
{
	struct q q;

	q_init(&q);
	q_text(&q, LT_STAGE_PATTERN, "<a> x <b>");
	/* The literal is not found: the capture before it takes the rest. */
	check(&q, "{}", NULL, "hello", "hello", "{a=\"hello\"}");
	check(&q, "{}", NULL, "1 x 2 x 3", "1 x 2 x 3",
	      "{a=\"1\", b=\"2 x 3\"}");
	q_init(&q);
	q_text(&q, LT_STAGE_PATTERN, "[<level>] <_>");
	/* The leading literal must start the line. */
	check(&q, "{}", NULL, " [info] x", " [info] x", "{}");
	check(&q, "{}", NULL, "[info] x y", "[info] x y", "{level=\"info\"}");
}
END_TEST

START_TEST(test_pattern_clash)
{
	struct q q;

	q_init(&q);
	q_text(&q, LT_STAGE_PATTERN, "<app> <msg>");
	check(&q, "{app=\"s\"}", NULL, "x y z", "x y z",
	      "{app=\"s\", app_extracted=\"x\", msg=\"y z\"}");
}
END_TEST

START_TEST(test_pattern_refused)
{
	struct q q;

	q_init(&q);
	q_text(&q, LT_STAGE_PATTERN, "<a><b>");
	check_refused(&q, "found consecutive capture '<a><b>'");
	q_init(&q);
	q_text(&q, LT_STAGE_PATTERN, "<_> x");
	check_refused(&q, "at least one capture is required");
	q_init(&q);
	q_text(&q, LT_STAGE_PATTERN, "<a> <a>");
	check_refused(&q, "duplicate capture name (a)");
}
END_TEST

/* <not valid> is literal text. */
START_TEST(test_pattern_literal_angle)
{
	struct q q;

	q_init(&q);
	q_text(&q, LT_STAGE_PATTERN, "<a> <b c> <d>");
	check(&q, "{}", NULL, "1 <b c> 2", "1 <b c> 2", "{a=\"1\", d=\"2\"}");
}
END_TEST

/* ---- unpack ---- */

START_TEST(test_unpack_docs)
{
	struct q q;

	q_init(&q);
	q_add(&q, LT_STAGE_UNPACK);
	check(&q, "{app=\"a\"}", NULL,
	      "{\"container\":\"myapp\",\"pod\":\"pod-3223f\","
	      "\"_entry\":\"original log message\"}",
	      "original log message",
	      "{app=\"a\", container=\"myapp\", pod=\"pod-3223f\"}");
}
END_TEST

START_TEST(test_unpack_no_entry)
{
	struct q q;

	q_init(&q);
	q_add(&q, LT_STAGE_UNPACK);
	check(&q, "{}", NULL, "{\"a\":\"b\"}", "{\"a\":\"b\"}", "{}");
}
END_TEST

START_TEST(test_unpack_not_object)
{
	struct q q;

	q_init(&q);
	q_add(&q, LT_STAGE_UNPACK);
	check(&q, "{}", NULL, "hello", "hello",
	      "{__error__=\"JSONParserErr\", __error_details__=\"expecting "
	      "json object(6), but it is not\"}");
}
END_TEST

START_TEST(test_unpack_strings_only)
{
	struct q q;

	q_init(&q);
	q_add(&q, LT_STAGE_UNPACK);
	check(&q, "{b=\"s\"}", NULL,
	      "{\"a\":1,\"_entry\":\"l \\\"1\\\"\",\"b\":\"c\",\"o\":{}}",
	      "l \"1\"", "{b=\"s\", b_extracted=\"c\"}");
}
END_TEST

/* ---- label filters ---- */

START_TEST(test_filter_string)
{
	struct q q;

	q_init(&q);
	q_filter(&q, lf_str(&q, "level", LT_MATCH_RE, "err.*"));
	check(&q, "{level=\"error\"}", NULL, "x", "x", "{level=\"error\"}");
	/* Anchored at both ends. */
	check(&q, "{level=\"xerror\"}", NULL, "x", NULL, NULL);
	q_init(&q);
	q_filter(&q, lf_str(&q, "level", LT_MATCH_NRE, "debug|info"));
	check(&q, "{level=\"info\"}", NULL, "x", NULL, NULL);
	check(&q, "{level=\"infos\"}", NULL, "x", "x", "{level=\"infos\"}");
	q_init(&q);
	q_filter(&q, lf_str(&q, "level", LT_MATCH_NE, "info"));
	check(&q, "{level=\"info\"}", NULL, "x", NULL, NULL);
	check(&q, "{level=\"warn\"}", NULL, "x", "x", "{level=\"warn\"}");
}
END_TEST

/* A string matcher reads an absent label as "". */
START_TEST(test_filter_absent_string)
{
	struct q q;

	q_init(&q);
	q_filter(&q, lf_str(&q, "foo", LT_MATCH_EQ, ""));
	check(&q, "{a=\"1\"}", NULL, "x", "x", "{a=\"1\"}");
	q_init(&q);
	q_filter(&q, lf_str(&q, "foo", LT_MATCH_NE, ""));
	check(&q, "{a=\"1\"}", NULL, "x", NULL, NULL);
}
END_TEST

START_TEST(test_filter_number)
{
	struct q q;

	q_init(&q);
	q_logfmt(&q, 0, 0, NULL);
	q_filter(&q, lf_cmp(&q, LT_LF_NUMBER, "status", LT_CMP_GE, 500));
	check(&q, "{}", NULL, "status=503", "status=503", "{status=\"503\"}");
	check(&q, "{}", NULL, "status=500.0", "status=500.0",
	      "{status=\"500.0\"}");
	check(&q, "{}", NULL, "status=200", NULL, NULL);
	/* An absent label drops the entry. */
	check(&q, "{}", NULL, "other=1", NULL, NULL);
}
END_TEST

START_TEST(test_filter_number_ops)
{
	struct q q;
	static const struct {
		enum lt_cmp_op op;
		int keep[3];  /* for 1, 2, 3 against 2 */
	} ops[] = {
		{LT_CMP_EQ, {0, 1, 0}}, {LT_CMP_NE, {1, 0, 1}},
		{LT_CMP_GT, {0, 0, 1}}, {LT_CMP_GE, {0, 1, 1}},
		{LT_CMP_LT, {1, 0, 0}}, {LT_CMP_LE, {1, 1, 0}},
	};
	static const char *const vals[] = {"{n=\"1\"}", "{n=\"2e0\"}",
					   "{n=\"3\"}"};
	size_t i, k;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		q_init(&q);
		q_filter(&q, lf_cmp(&q, LT_LF_NUMBER, "n", ops[i].op, 2));
		for (k = 0; k < 3; k++)
			check(&q, vals[k], NULL, "x",
			      ops[i].keep[k] ? "x" : NULL, vals[k]);
	}
}
END_TEST

/* A label that is no number: kept, marked, as Loki does. */
START_TEST(test_filter_number_error)
{
	struct q q;

	q_init(&q);
	q_filter(&q, lf_cmp(&q, LT_LF_NUMBER, "status", LT_CMP_GT, 1));
	check(&q, "{status=\"abc\"}", NULL, "x", "x",
	      "{__error__=\"LabelFilterErr\", __error_details__=\"strconv."
	      "ParseFloat: parsing \\\"abc\\\": invalid syntax\", "
	      "status=\"abc\"}");
	check(&q, "{status=\" 1\"}", NULL, "x", "x",
	      "{__error__=\"LabelFilterErr\", __error_details__=\"strconv."
	      "ParseFloat: parsing \\\" 1\\\": invalid syntax\", "
	      "status=\" 1\"}");
	check(&q, "{status=\"0x10\"}", NULL, "x", "x",
	      "{__error__=\"LabelFilterErr\", __error_details__=\"strconv."
	      "ParseFloat: parsing \\\"0x10\\\": invalid syntax\", "
	      "status=\"0x10\"}");
	check(&q, "{status=\"1e999\"}", NULL, "x", "x",
	      "{__error__=\"LabelFilterErr\", __error_details__=\"strconv."
	      "ParseFloat: parsing \\\"1e999\\\": value out of range\", "
	      "status=\"1e999\"}");
	q_init(&q);
	q_filter(&q, lf_cmp(&q, LT_LF_NUMBER, "status", LT_CMP_GT, 1));
	q_filter(&q, lf_str(&q, "__error__", LT_MATCH_EQ, ""));
	check(&q, "{status=\"abc\"}", NULL, "x", NULL, NULL);
	check(&q, "{status=\"2\"}", NULL, "x", "x", "{status=\"2\"}");
}
END_TEST

/* An earlier error is not overwritten. */
START_TEST(test_filter_keeps_first_error)
{
	struct q q;

	q_init(&q);
	q_json(&q, NULL);
	q_filter(&q, lf_cmp(&q, LT_LF_NUMBER, "a", LT_CMP_GT, 1));
	check(&q, "{a=\"z\"}", NULL, "oops", "oops",
	      "{__error__=\"JSONParserErr\", __error_details__=\"Value looks "
	      "like object, but can't find closing '}' symbol\", a=\"z\"}");
}
END_TEST

START_TEST(test_filter_duration)
{
	struct q q;

	q_init(&q);
	q_filter(&q, lf_cmp(&q, LT_LF_DURATION, "d", LT_CMP_GT, 1.0));
	check(&q, "{d=\"1.5s\"}", NULL, "x", "x", "{d=\"1.5s\"}");
	check(&q, "{d=\"1m\"}", NULL, "x", "x", "{d=\"1m\"}");
	check(&q, "{d=\"500ms\"}", NULL, "x", NULL, NULL);
	check(&q, "{d=\"fast\"}", NULL, "x", "x",
	      "{__error__=\"LabelFilterErr\", __error_details__=\"time: "
	      "invalid duration \\\"fast\\\"\", d=\"fast\"}");
}
END_TEST

START_TEST(test_filter_bytes)
{
	struct q q;

	q_init(&q);
	q_filter(&q, lf_cmp(&q, LT_LF_BYTES, "size", LT_CMP_GT, 20000));
	check(&q, "{size=\"30KB\"}", NULL, "x", "x", "{size=\"30KB\"}");
	check(&q, "{size=\"1KiB\"}", NULL, "x", NULL, NULL);
	check(&q, "{size=\"big\"}", NULL, "x", "x",
	      "{__error__=\"LabelFilterErr\", __error_details__=\"strconv."
	      "ParseFloat: parsing \\\"big\\\": invalid syntax\", "
	      "size=\"big\"}");
}
END_TEST

/* status >= 400 and (method="GET" or method="POST") */
START_TEST(test_filter_and_or)
{
	struct q q;

	q_init(&q);
	q_filter(&q, lf_bin(&q, LT_LF_AND,
			    lf_cmp(&q, LT_LF_NUMBER, "status", LT_CMP_GE, 400),
			    lf_bin(&q, LT_LF_OR,
				   lf_str(&q, "method", LT_MATCH_EQ, "GET"),
				   lf_str(&q, "method", LT_MATCH_EQ, "POST"))));
	check(&q, "{method=\"POST\", status=\"404\"}", NULL, "x", "x",
	      "{method=\"POST\", status=\"404\"}");
	check(&q, "{method=\"PUT\", status=\"404\"}", NULL, "x", NULL, NULL);
	check(&q, "{method=\"GET\", status=\"200\"}", NULL, "x", NULL, NULL);
}
END_TEST

/* `or` does not evaluate its right side when the left one holds, so no
 * error comes from it; `and` evaluates both. */
START_TEST(test_filter_or_short_circuit)
{
	struct q q;

	q_init(&q);
	q_filter(&q, lf_bin(&q, LT_LF_OR,
			    lf_str(&q, "level", LT_MATCH_EQ, "error"),
			    lf_cmp(&q, LT_LF_NUMBER, "n", LT_CMP_GT, 1)));
	check(&q, "{level=\"error\", n=\"x\"}", NULL, "l", "l",
	      "{level=\"error\", n=\"x\"}");
	q_init(&q);
	q_filter(&q, lf_bin(&q, LT_LF_AND,
			    lf_str(&q, "level", LT_MATCH_EQ, "error"),
			    lf_cmp(&q, LT_LF_NUMBER, "n", LT_CMP_GT, 1)));
	check(&q, "{level=\"error\", n=\"x\"}", NULL, "l", "l",
	      "{__error__=\"LabelFilterErr\", __error_details__=\"strconv."
	      "ParseFloat: parsing \\\"x\\\": invalid syntax\", "
	      "level=\"error\", n=\"x\"}");
}
END_TEST

START_TEST(test_filter_metadata)
{
	struct q q;

	q_init(&q);
	q_filter(&q, lf_str(&q, "trace_id", LT_MATCH_EQ, "abc"));
	check(&q, "{app=\"a\"}", "{trace_id=\"abc\"}", "x", "x",
	      "{app=\"a\", trace_id=\"abc\"}");
	check(&q, "{app=\"a\"}", "{trace_id=\"def\"}", "x", NULL, NULL);
}
END_TEST

START_TEST(test_filter_bad_regex)
{
	struct q q;

	q_init(&q);
	q_filter(&q, lf_str(&q, "a", LT_MATCH_RE, "*x"));
	check_refused(&q, "invalid regexp");
}
END_TEST

/* ---- line_format, label_format ---- */

START_TEST(test_line_format)
{
	struct q q;

	q_init(&q);
	q_logfmt(&q, 0, 0, NULL);
	q_text(&q, LT_STAGE_LINE_FORMAT, "{{.level}}: {{.msg}}");
	check(&q, "{}", NULL, "level=warn msg=disk", "warn: disk",
	      "{level=\"warn\", msg=\"disk\"}");
	/* A missing label is "". */
	check(&q, "{}", NULL, "msg=m", ": m", "{msg=\"m\"}");
}
END_TEST

START_TEST(test_line_format_line)
{
	struct q q;

	q_init(&q);
	q_text(&q, LT_STAGE_LINE_FORMAT, "[{{.app}}] {{ __line__ }}");
	q_line(&q, LT_LINE_CONTAINS, "[api]", NULL);
	check(&q, "{app=\"api\"}", NULL, "hello", "[api] hello",
	      "{app=\"api\"}");
	check(&q, "{app=\"web\"}", NULL, "hello", NULL, NULL);
}
END_TEST

START_TEST(test_line_format_refused)
{
	struct q q;

	q_init(&q);
	q_text(&q, LT_STAGE_LINE_FORMAT, "{{.a");
	check_refused(&q, "template: ");
}
END_TEST

START_TEST(test_label_format_rename)
{
	struct q q;

	q_init(&q);
	q_label_format(&q, "dst", "src", 0, "x", "absent", 0, NULL);
	check(&q, "{a=\"1\", src=\"v\"}", NULL, "l", "l",
	      "{a=\"1\", dst=\"v\"}");
}
END_TEST

START_TEST(test_label_format_template)
{
	struct q q;

	q_init(&q);
	q_label_format(&q, "x", "{{.a}}/{{.b}}", 1, "a", "new", 1, NULL);
	check(&q, "{a=\"1\", b=\"2\"}", NULL, "l", "l",
	      "{a=\"new\", b=\"2\", x=\"1/2\"}");
}
END_TEST

/* An execution that fails marks the entry and leaves the line (or the
 * label) as it was. */
START_TEST(test_format_failure)
{
	struct q q;
	struct lt_pipeline *p;
	struct lbls in;
	struct lt_pl_input e;
	struct lt_pl_output out;
	size_t i;
	int k, seen;

	for (k = 0; k < 2; k++) {
		q_init(&q);
		if (k == 0)
			q_text(&q, LT_STAGE_LINE_FORMAT, "{{ div 1 0 }}");
		else
			q_label_format(&q, "x", "{{ div 1 0 }}", 1, NULL);
		p = new_pipeline(&q, NULL);
		parse_labels(&in, "{a=\"1\"}");
		memset(&e, 0, sizeof(e));
		e.line = "keep me";
		e.line_len = 7;
		e.labels = in.l;
		e.n_labels = in.n;
		ck_assert_int_eq(lt_pipeline_run(p, &e, &out), 1);
		ck_assert_uint_eq(out.line_len, 7);
		ck_assert_mem_eq(out.line, "keep me", 7);
		seen = 0;
		for (i = 0; i < out.n_labels; i++) {
			ck_assert_msg(out.labels[i].name_len != 1 ||
				      out.labels[i].name[0] != 'x',
				      "label x set by a failed template");
			if (out.labels[i].name_len == 9 &&
			    memcmp(out.labels[i].name, "__error__", 9) == 0) {
				ck_assert_uint_eq(out.labels[i].value_len, 17);
				ck_assert_mem_eq(out.labels[i].value,
						 "TemplateFormatErr", 17);
				seen |= 1;
			}
			if (out.labels[i].name_len == 17 &&
			    memcmp(out.labels[i].name, "__error_details__",
				   17) == 0 && out.labels[i].value_len > 0)
				seen |= 2;
		}
		ck_assert_int_eq(seen, 3);
		lt_pipeline_free(p);
		free(in.scratch);
	}
}
END_TEST

/* Functions of the template engine, and __timestamp__. */
START_TEST(test_format_functions)
{
	struct q q;

	q_init(&q);
	q_logfmt(&q, 0, 0, NULL);
	q_text(&q, LT_STAGE_LINE_FORMAT, "{{ .level | ToUpper }} {{ .msg }}");
	q_label_format(&q, "lvl", "{{ default \"none\" .lvl }}", 1, NULL);
	check(&q, "{}", NULL, "level=warn msg=disk", "WARN disk",
	      "{level=\"warn\", lvl=\"none\", msg=\"disk\"}");
}
END_TEST

/* ---- with the query parser ---- */

/* The pipeline of a parsed query, run on one entry. */
static void
check_query(const char *query, const char *labels, const char *line,
	    const char *want_line, const char *want_labels)
{
	char why[256] = "";
	struct lt_logql *lq;
	struct lt_pipeline *p;

	lq = lt_logql_parse(query, strlen(query), why, sizeof(why));
	ck_assert_msg(lq != NULL, "lt_logql_parse: %s", why);
	p = lt_pipeline_new(lq, NULL, why, sizeof(why));
	ck_assert_msg(p != NULL, "lt_pipeline_new: %s", why);
	/* The tree may go: the pipeline keeps copies. */
	lt_logql_free(lq);
	check_run(p, labels, NULL, line, want_line, want_labels);
	lt_pipeline_free(p);
}

START_TEST(test_query_json_filter_format)
{
	const char *q = "{app=\"a\"} |= \"status\" | json | status >= 500 "
			"and method=~\"P.*\" | line_format \"{{.method}} "
			"{{.status}}\"";

	check_query(q, "{app=\"a\"}", "{\"status\":503,\"method\":\"PUT\"}",
		    "PUT 503",
		    "{app=\"a\", method=\"PUT\", status=\"503\"}");
	check_query(q, "{app=\"a\"}", "{\"status\":503,\"method\":\"GET\"}",
		    NULL, NULL);
	check_query(q, "{app=\"a\"}", "{\"code\":503}", NULL, NULL);
}
END_TEST

START_TEST(test_query_logfmt_flags)
{
	check_query("{app=\"a\"} | logfmt --strict --keep-empty", "{app=\"a\"}",
		    "a= b=1 =c d=2", "a= b=1 =c d=2",
		    "{__error__=\"LogfmtParserErr\", __error_details__=\"logfmt "
		    "syntax error at pos 8 : unexpected '='\", a=\"\", "
		    "app=\"a\", b=\"1\"}");
	check_query("{app=\"a\"} | logfmt m=\"method\", status", "{app=\"a\"}",
		    "method=GET status=200 x=1", "method=GET status=200 x=1",
		    "{app=\"a\", m=\"GET\", status=\"200\"}");
}
END_TEST

START_TEST(test_query_line_filters)
{
	const char *q = "{app=\"a\"} |= \"x\" or \"y\" != \"z\" |~ \"[0-9]\"";

	check_query(q, "{app=\"a\"}", "y 1", "y 1", "{app=\"a\"}");
	check_query(q, "{app=\"a\"}", "y z 1", NULL, NULL);
	check_query(q, "{app=\"a\"}", "w 1", NULL, NULL);
	check_query(q, "{app=\"a\"}", "x", NULL, NULL);
}
END_TEST

START_TEST(test_query_drop_keep_format)
{
	check_query("{app=\"a\"} | logfmt | drop level=\"debug\", x "
		    "| label_format who=user | keep app, who, level",
		    "{app=\"a\", env=\"p\"}", "level=debug x=1 user=bob y=2",
		    "level=debug x=1 user=bob y=2",
		    "{app=\"a\", who=\"bob\"}");
	check_query("{app=\"a\"} | pattern \"<_> <level> <_>\" | level=\"warn\" "
		    "| decolorize",
		    "{app=\"a\"}", "t1 warn \x1b[1mdisk\x1b[0m", "t1 warn disk",
		    "{app=\"a\", level=\"warn\"}");
}
END_TEST

/* ---- drop, keep, decolorize ---- */

START_TEST(test_drop_names)
{
	struct q q;

	q_init(&q);
	q_logfmt(&q, 0, 0, NULL);
	q_dropkeep(&q, LT_STAGE_DROP, "a", NULL, LT_MATCH_EQ, "app", NULL,
		   LT_MATCH_EQ, "none", NULL, LT_MATCH_EQ, NULL);
	check(&q, "{app=\"x\", env=\"p\"}", NULL, "a=1 b=2", "a=1 b=2",
	      "{b=\"2\", env=\"p\"}");
}
END_TEST

START_TEST(test_drop_matcher)
{
	struct q q;

	q_init(&q);
	q_dropkeep(&q, LT_STAGE_DROP, "level", "debug", LT_MATCH_EQ, "pod",
		   "web-.*", LT_MATCH_RE, NULL);
	check(&q, "{level=\"debug\", pod=\"web-1\"}", NULL, "l", "l", "{}");
	check(&q, "{level=\"info\", pod=\"api-1\"}", NULL, "l", "l",
	      "{level=\"info\", pod=\"api-1\"}");
}
END_TEST

START_TEST(test_drop_error)
{
	struct q q;

	q_init(&q);
	q_json(&q, NULL);
	q_dropkeep(&q, LT_STAGE_DROP, "__error__", NULL, LT_MATCH_EQ,
		   "__error_details__", NULL, LT_MATCH_EQ, NULL);
	check(&q, "{a=\"1\"}", NULL, "oops", "oops", "{a=\"1\"}");
	q_init(&q);
	q_json(&q, NULL);
	q_dropkeep(&q, LT_STAGE_DROP, "__error__", "LogfmtParserErr",
		   LT_MATCH_EQ, NULL);
	q_filter(&q, lf_str(&q, "__error__", LT_MATCH_EQ, ""));
	check(&q, "{a=\"1\"}", NULL, "oops", NULL, NULL);
}
END_TEST

START_TEST(test_keep)
{
	struct q q;

	q_init(&q);
	q_dropkeep(&q, LT_STAGE_KEEP, "a", NULL, LT_MATCH_EQ, "b", "x",
		   LT_MATCH_EQ, "c", "x", LT_MATCH_EQ, NULL);
	check(&q, "{a=\"1\", b=\"y\", c=\"x\", d=\"4\"}", NULL, "l", "l",
	      "{a=\"1\", c=\"x\"}");
}
END_TEST

/* keep leaves the error labels. */
START_TEST(test_keep_error)
{
	struct q q;

	q_init(&q);
	q_json(&q, NULL);
	q_dropkeep(&q, LT_STAGE_KEEP, "app", NULL, LT_MATCH_EQ, NULL);
	check(&q, "{app=\"a\", env=\"e\"}", NULL, "{", "{",
	      "{__error__=\"JSONParserErr\", __error_details__=\"Value looks "
	      "like object, but can't find closing '}' symbol\", "
	      "app=\"a\"}");
}
END_TEST

START_TEST(test_decolorize)
{
	struct q q;

	q_init(&q);
	q_add(&q, LT_STAGE_DECOLORIZE);
	check(&q, "{}", NULL, "\x1b[31mred\x1b[0m text \x1b[1;32mok\x1b[m",
	      "red text ok", "{}");
	check(&q, "{}", NULL, "plain", "plain", "{}");
}
END_TEST

/* ---- the whole ---- */

/* {app="api"} |= "GET" | logfmt | status >= 400 | line_format ... */
START_TEST(test_chain)
{
	struct q q;

	q_init(&q);
	q_line(&q, LT_LINE_CONTAINS, "GET", NULL);
	q_logfmt(&q, 0, 0, NULL);
	q_filter(&q, lf_cmp(&q, LT_LF_NUMBER, "status", LT_CMP_GE, 400));
	q_text(&q, LT_STAGE_LINE_FORMAT, "{{.status}} {{.path}}");
	check(&q, "{app=\"api\"}", NULL, "method=GET path=/x status=404",
	      "404 /x",
	      "{app=\"api\", method=\"GET\", path=\"/x\", status=\"404\"}");
	check(&q, "{app=\"api\"}", NULL, "method=GET path=/x status=200",
	      NULL, NULL);
	check(&q, "{app=\"api\"}", NULL, "method=PUT path=/x status=500",
	      NULL, NULL);
}
END_TEST

/* A stage ClickHouse did is not run again. */
START_TEST(test_skip)
{
	struct q q;
	struct lt_pipeline *p;
	static const unsigned char skip[] = {1, 0, 1};

	q_init(&q);
	q_line(&q, LT_LINE_CONTAINS, "nowhere", NULL);
	q_json(&q, NULL);
	q_filter(&q, lf_str(&q, "a", LT_MATCH_EQ, "other"));
	p = new_pipeline(&q, skip);
	ck_assert_int_eq(lt_pipeline_keeps_all(p), 1);
	check_run(p, "{}", NULL, "{\"a\":\"1\"}", "{\"a\":\"1\"}", "{a=\"1\"}");
	lt_pipeline_free(p);
	p = new_pipeline(&q, NULL);
	ck_assert_int_eq(lt_pipeline_keeps_all(p), 0);
	check_run(p, "{}", NULL, "{\"a\":\"1\"}", NULL, NULL);
	lt_pipeline_free(p);
}
END_TEST

START_TEST(test_keeps_all)
{
	struct q q;
	struct lt_pipeline *p;

	q_init(&q);
	p = new_pipeline(&q, NULL);
	ck_assert_int_eq(lt_pipeline_keeps_all(p), 1);
	check_run(p, "{a=\"1\"}", "{m=\"2\"}", "line", "line",
		  "{a=\"1\", m=\"2\"}");
	lt_pipeline_free(p);
	q_add(&q, LT_STAGE_UNPACK);
	q_add(&q, LT_STAGE_DECOLORIZE);
	q_text(&q, LT_STAGE_PATTERN, "<x>");
	p = new_pipeline(&q, NULL);
	ck_assert_int_eq(lt_pipeline_keeps_all(p), 1);
	lt_pipeline_free(p);
	q_line(&q, LT_LINE_NOT_CONTAINS, "x", NULL);
	p = new_pipeline(&q, NULL);
	ck_assert_int_eq(lt_pipeline_keeps_all(p), 0);
	lt_pipeline_free(p);
}
END_TEST

/* One pipeline over several entries: nothing of one leaks into the
 * next. */
START_TEST(test_reuse)
{
	struct q q;
	struct lt_pipeline *p;
	int i;

	q_init(&q);
	q_json(&q, NULL);
	p = new_pipeline(&q, NULL);
	for (i = 0; i < 3; i++) {
		check_run(p, "{app=\"a\"}", NULL, "{\"x\":\"1\",\"y\":\"2\"}",
			  "{\"x\":\"1\",\"y\":\"2\"}",
			  "{app=\"a\", x=\"1\", y=\"2\"}");
		check_run(p, "{app=\"b\"}", NULL, "bad", "bad",
			  "{__error__=\"JSONParserErr\", __error_details__="
			  "\"Value looks like object, but can't find closing "
			  "'}' symbol\", app=\"b\"}");
		check_run(p, "{app=\"c\"}", NULL, "{\"z\":\"3\"}",
			  "{\"z\":\"3\"}", "{app=\"c\", z=\"3\"}");
	}
	lt_pipeline_free(p);
}
END_TEST

/* The output is sorted by bytes, error labels included: uppercase names
 * before __error__, lowercase after. */
START_TEST(test_sorted_output)
{
	struct q q;

	q_init(&q);
	q_logfmt(&q, 1, 0, NULL);
	check(&q, "{Z=\"1\", a=\"2\"}", "{B=\"3\"}", "m=1 \"", "m=1 \"",
	      "{B=\"3\", Z=\"1\", __error__=\"LogfmtParserErr\", "
	      "__error_details__=\"logfmt syntax error at pos 5 : "
	      "unexpected '\\\"'\", a=\"2\", m=\"1\"}");
}
END_TEST

/* An entry has at most LT_PL_MAX_LABELS labels. */
START_TEST(test_max_labels)
{
	struct q q;
	struct lt_pipeline *p;
	struct lt_buf line = LT_BUF_INIT;
	struct lt_pl_input e;
	struct lt_pl_output out;
	size_t i;

	ck_assert_int_eq(lt_buf_append_byte(&line, '{'), 0);
	for (i = 0; i < LT_PL_MAX_LABELS + 100; i++)
		ck_assert_int_eq(lt_buf_printf(&line, "%s\"k%05zu\":\"v\"",
					       i > 0 ? "," : "", i), 0);
	ck_assert_int_eq(lt_buf_append_byte(&line, '}'), 0);
	q_init(&q);
	q_json(&q, NULL);
	p = new_pipeline(&q, NULL);
	memset(&e, 0, sizeof(e));
	e.line = (const char *)line.data;
	e.line_len = line.len;
	ck_assert_int_eq(lt_pipeline_run(p, &e, &out), 1);
	ck_assert_uint_eq(out.n_labels, LT_PL_MAX_LABELS);
	for (i = 1; i < out.n_labels; i++)
		ck_assert_int_lt(strncmp(out.labels[i - 1].name,
					 out.labels[i].name, 6), 0);
	lt_pipeline_free(p);
	lt_buf_free(&line);
}
END_TEST

/* A long line through several rewriting stages. */
START_TEST(test_long_line)
{
	struct q q;
	struct lt_pipeline *p;
	struct lt_buf line = LT_BUF_INIT;
	struct lt_pl_input e;
	struct lt_pl_output out;
	size_t i;

	ck_assert_int_eq(lt_buf_append(&line, "{\"_entry\":\"", 11), 0);
	for (i = 0; i < 100000; i++)
		ck_assert_int_eq(lt_buf_append(&line, "ab\\n", 4), 0);
	ck_assert_int_eq(lt_buf_append(&line, "\",\"k\":\"v\"}", 10), 0);
	q_init(&q);
	q_add(&q, LT_STAGE_UNPACK);
	q_add(&q, LT_STAGE_DECOLORIZE);
	q_line(&q, LT_LINE_MATCH, "b\\nab\\n$", NULL);
	p = new_pipeline(&q, NULL);
	memset(&e, 0, sizeof(e));
	e.line = (const char *)line.data;
	e.line_len = line.len;
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(lt_pipeline_run(p, &e, &out), 1);
		ck_assert_uint_eq(out.line_len, 300000);
		ck_assert_uint_eq(out.n_labels, 1);
	}
	lt_pipeline_free(p);
	lt_buf_free(&line);
}
END_TEST

/* ---- unwrap (metric queries) ---- */

/* q with `| unwrap label` (conv) and post filter f, run on one entry of
 * {app="api"}: dropped (want_labels NULL) or kept with value and
 * labels. */
static void
check_unwrap(const struct q *q, const char *label, enum lt_unwrap_conv conv,
	     const struct lt_label_filter *f, const char *line,
	     double want_value, const char *want_labels)
{
	struct lt_pipeline *p = new_pipeline(q, NULL);
	struct lbls in, want;
	struct lt_pl_input e;
	struct lt_pl_output out;
	struct lt_buf got = LT_BUF_INIT, exp = LT_BUF_INIT;
	char why[256] = "";

	ck_assert_msg(lt_pipeline_unwrap(p, label, conv, f, why, sizeof(why)) == 0,
		      "%s", why);
	ck_assert_int_eq(lt_pipeline_keeps_all(p), 0);
	parse_labels(&in, "{app=\"api\"}");
	memset(&e, 0, sizeof(e));
	e.line = line;
	e.line_len = strlen(line);
	e.labels = in.l;
	e.n_labels = in.n;
	memset(&out, 0, sizeof(out));
	if (want_labels == NULL) {
		ck_assert_int_eq(lt_pipeline_run(p, &e, &out), 0);
	} else {
		ck_assert_int_eq(lt_pipeline_run(p, &e, &out), 1);
		ck_assert_msg(out.value == want_value, "%s: %g, not %g", line,
			      out.value, want_value);
		parse_labels(&want, want_labels);
		format_labels(&got, out.labels, out.n_labels);
		format_labels(&exp, want.l, want.n);
		ck_assert_str_eq((const char *)got.data, (const char *)exp.data);
		free(want.scratch);
	}
	lt_buf_free(&got);
	lt_buf_free(&exp);
	free(in.scratch);
	lt_pipeline_free(p);
}

START_TEST(test_unwrap_number)
{
	struct q q;

	q_init(&q);
	q_logfmt(&q, 0, 0, NULL);
	check_unwrap(&q, "took", LT_UNWRAP_NUMBER, NULL, "took=1.5 msg=x", 1.5,
		     "{app=\"api\", msg=\"x\", took=\"1.5\"}");
	check_unwrap(&q, "took", LT_UNWRAP_NUMBER, NULL, "took=-2e3", -2000,
		     "{app=\"api\", took=\"-2e3\"}");
	/* No label: no sample (Loki's issue 6713). */
	check_unwrap(&q, "took", LT_UNWRAP_NUMBER, NULL, "msg=x", 0, NULL);
	/* A value that is no number: kept with 0 and the error. */
	check_unwrap(&q, "took", LT_UNWRAP_NUMBER, NULL, "took=abc", 0,
		     "{__error__=\"SampleExtractionErr\", __error_details__="
		     "\"strconv.ParseFloat: parsing \\\"abc\\\": invalid syntax\", "
		     "app=\"api\", took=\"abc\"}");
}
END_TEST

START_TEST(test_unwrap_empty)
{
	struct q q;

	q_init(&q);
	q_json(&q, NULL);
	check_unwrap(&q, "took", LT_UNWRAP_NUMBER, NULL, "{\"took\":\"\"}", 0, NULL);
	check_unwrap(&q, "took", LT_UNWRAP_NUMBER, NULL, "{\"took\":7}", 7,
		     "{app=\"api\", took=\"7\"}");
}
END_TEST

/* time.ParseDuration's three messages. */
START_TEST(test_unwrap_duration)
{
	struct q q;

	q_init(&q);
	q_logfmt(&q, 0, 0, NULL);
	check_unwrap(&q, "t", LT_UNWRAP_DURATION, NULL, "t=250ms", 0.25,
		     "{app=\"api\", t=\"250ms\"}");
	check_unwrap(&q, "t", LT_UNWRAP_DURATION, NULL, "t=1m30s", 90,
		     "{app=\"api\", t=\"1m30s\"}");
	check_unwrap(&q, "t", LT_UNWRAP_DURATION, NULL, "t=5x", 0,
		     "{__error__=\"SampleExtractionErr\", __error_details__="
		     "\"time: unknown unit \\\"x\\\" in duration \\\"5x\\\"\", "
		     "app=\"api\", t=\"5x\"}");
	check_unwrap(&q, "t", LT_UNWRAP_DURATION, NULL, "t=5", 0,
		     "{__error__=\"SampleExtractionErr\", __error_details__="
		     "\"time: missing unit in duration \\\"5\\\"\", app=\"api\", t=\"5\"}");
	check_unwrap(&q, "t", LT_UNWRAP_DURATION, NULL, "t=abc", 0,
		     "{__error__=\"SampleExtractionErr\", __error_details__="
		     "\"time: invalid duration \\\"abc\\\"\", app=\"api\", t=\"abc\"}");
}
END_TEST

/* go-humanize's ParseBytes: KB is 1000, KiB 1024. */
START_TEST(test_unwrap_bytes)
{
	struct q q;

	q_init(&q);
	q_logfmt(&q, 0, 0, NULL);
	check_unwrap(&q, "size", LT_UNWRAP_BYTES, NULL, "size=1.5KB", 1500,
		     "{app=\"api\", size=\"1.5KB\"}");
	check_unwrap(&q, "size", LT_UNWRAP_BYTES, NULL, "size=2KiB", 2048,
		     "{app=\"api\", size=\"2KiB\"}");
	check_unwrap(&q, "size", LT_UNWRAP_BYTES, NULL, "size=12XYZ", 0,
		     "{__error__=\"SampleExtractionErr\", __error_details__="
		     "\"unhandled size name: xyz\", app=\"api\", size=\"12XYZ\"}");
	check_unwrap(&q, "size", LT_UNWRAP_BYTES, NULL, "size=abc", 0,
		     "{__error__=\"SampleExtractionErr\", __error_details__="
		     "\"strconv.ParseFloat: parsing \\\"\\\": invalid syntax\", "
		     "app=\"api\", size=\"abc\"}");
}
END_TEST

/* The label filters after the unwrap see its error and its label. */
START_TEST(test_unwrap_post_filter)
{
	struct q q;
	struct lt_label_filter *no_error, *over_one;

	q_init(&q);
	q_logfmt(&q, 0, 0, NULL);
	no_error = lf_str(&q, "__error__", LT_MATCH_EQ, "");
	over_one = lf_cmp(&q, LT_LF_NUMBER, "took", LT_CMP_GT, 1);
	check_unwrap(&q, "took", LT_UNWRAP_NUMBER, no_error, "took=abc", 0, NULL);
	check_unwrap(&q, "took", LT_UNWRAP_NUMBER, no_error, "took=3", 3,
		     "{app=\"api\", took=\"3\"}");
	check_unwrap(&q, "took", LT_UNWRAP_NUMBER, over_one, "took=0.5", 0, NULL);
	check_unwrap(&q, "took", LT_UNWRAP_NUMBER, over_one, "took=1.5", 1.5,
		     "{app=\"api\", took=\"1.5\"}");
}
END_TEST

static Suite *
pipeline_suite(void)
{
	Suite *s = suite_create("pipeline");
	TCase *tl = tcase_create("line filters");
	TCase *tp = tcase_create("parsers");
	TCase *tf = tcase_create("label filters");
	TCase *tm = tcase_create("formats");
	TCase *tw = tcase_create("whole");

	tcase_add_test(tl, test_contains);
	tcase_add_test(tl, test_contains_or);
	tcase_add_test(tl, test_not_contains);
	tcase_add_test(tl, test_not_contains_or);
	tcase_add_test(tl, test_regex_unanchored);
	tcase_add_test(tl, test_not_regex);
	tcase_add_test(tl, test_regex_case_insensitive);
	tcase_add_test(tl, test_regex_catastrophic);
	tcase_add_test(tl, test_regex_invalid_utf8);
	tcase_add_test(tl, test_empty_contains);
	tcase_add_test(tl, test_bad_regex);
	suite_add_tcase(s, tl);

	tcase_add_test(tp, test_json_docs);
	tcase_add_test(tp, test_json_params_docs);
	tcase_add_test(tp, test_json_clash_stream);
	tcase_add_test(tp, test_json_clash_metadata);
	tcase_add_test(tp, test_json_not_json);
	tcase_add_test(tp, test_json_error_filtered);
	tcase_add_test(tp, test_json_unescape);
	tcase_add_test(tp, test_json_types);
	tcase_add_test(tp, test_json_sanitize);
	tcase_add_test(tp, test_json_partial);
	tcase_add_test(tp, test_json_invalid_utf8_value);
	tcase_add_test(tp, test_json_params_object_missing);
	tcase_add_test(tp, test_json_params_not_json);
	tcase_add_test(tp, test_json_params_clash);
	tcase_add_test(tp, test_json_bad_path);
	tcase_add_test(tp, test_logfmt_docs);
	tcase_add_test(tp, test_logfmt_clash);
	tcase_add_test(tp, test_logfmt_empty);
	tcase_add_test(tp, test_logfmt_keep_empty);
	tcase_add_test(tp, test_logfmt_quoted);
	tcase_add_test(tp, test_logfmt_lenient);
	tcase_add_test(tp, test_logfmt_strict);
	tcase_add_test(tp, test_logfmt_params);
	tcase_add_test(tp, test_logfmt_sanitize);
	tcase_add_test(tp, test_regexp_docs);
	tcase_add_test(tp, test_regexp_no_match);
	tcase_add_test(tp, test_regexp_unset_group);
	tcase_add_test(tp, test_regexp_refused);
	tcase_add_test(tp, test_pattern_docs);
	tcase_add_test(tp, test_pattern_partial);
	tcase_add_test(tp, test_pattern_clash);
	tcase_add_test(tp, test_pattern_refused);
	tcase_add_test(tp, test_pattern_literal_angle);
	tcase_add_test(tp, test_unpack_docs);
	tcase_add_test(tp, test_unpack_no_entry);
	tcase_add_test(tp, test_unpack_not_object);
	tcase_add_test(tp, test_unpack_strings_only);
	suite_add_tcase(s, tp);

	tcase_add_test(tf, test_filter_string);
	tcase_add_test(tf, test_filter_absent_string);
	tcase_add_test(tf, test_filter_number);
	tcase_add_test(tf, test_filter_number_ops);
	tcase_add_test(tf, test_filter_number_error);
	tcase_add_test(tf, test_filter_keeps_first_error);
	tcase_add_test(tf, test_filter_duration);
	tcase_add_test(tf, test_filter_bytes);
	tcase_add_test(tf, test_filter_and_or);
	tcase_add_test(tf, test_filter_or_short_circuit);
	tcase_add_test(tf, test_filter_metadata);
	tcase_add_test(tf, test_filter_bad_regex);
	suite_add_tcase(s, tf);

	tcase_add_test(tm, test_line_format);
	tcase_add_test(tm, test_line_format_line);
	tcase_add_test(tm, test_line_format_refused);
	tcase_add_test(tm, test_label_format_rename);
	tcase_add_test(tm, test_label_format_template);
	tcase_add_test(tm, test_format_failure);
	tcase_add_test(tm, test_format_functions);
	tcase_add_test(tm, test_drop_names);
	tcase_add_test(tm, test_drop_matcher);
	tcase_add_test(tm, test_drop_error);
	tcase_add_test(tm, test_keep);
	tcase_add_test(tm, test_keep_error);
	tcase_add_test(tm, test_decolorize);
	suite_add_tcase(s, tm);

	tcase_add_test(tw, test_chain);
	tcase_add_test(tw, test_query_json_filter_format);
	tcase_add_test(tw, test_query_logfmt_flags);
	tcase_add_test(tw, test_query_line_filters);
	tcase_add_test(tw, test_query_drop_keep_format);
	tcase_add_test(tw, test_skip);
	tcase_add_test(tw, test_keeps_all);
	tcase_add_test(tw, test_reuse);
	tcase_add_test(tw, test_sorted_output);
	tcase_add_test(tw, test_max_labels);
	tcase_add_test(tw, test_long_line);
	tcase_add_test(tw, test_unwrap_number);
	tcase_add_test(tw, test_unwrap_empty);
	tcase_add_test(tw, test_unwrap_duration);
	tcase_add_test(tw, test_unwrap_bytes);
	tcase_add_test(tw, test_unwrap_post_filter);
	suite_add_tcase(s, tw);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(pipeline_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
