/* Unit tests: the LogQL log query parser, Go durations and sizes, and
 * label matchers.
 *
 * Valid queries are checked through a plain rendering of their tree,
 * written out by hand for each: the selector as {name OP "value",...},
 * each stage after a space (line filters as |="a" or "b", parsers and
 * formatters by name, label filters as and(l,r), or(l,r), name OP
 * "value", num(name OP n), dur(name OP seconds), bytes(name OP n)).
 * The queries and the errors expected of bad ones come from Loki's
 * pkg/logql/syntax parser_test.go where it has them, and otherwise from
 * its grammar (expr.y) and lexer (lex.go) worked through by hand. */
#include "config.h"

#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "logql.h"

struct out {
	char buf[4096];
	size_t len;
};

static void put(struct out *, const char *, ...)
	__attribute__((format(printf, 2, 3)));

static void
put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, sizeof(o->buf) - o->len, fmt, ap);
	va_end(ap);
	ck_assert_int_ge(n, 0);
	ck_assert_uint_lt(o->len + (size_t)n, sizeof(o->buf));
	o->len += (size_t)n;
}

static const char *
match_op(enum lt_match_op op)
{
	static const char *const s[] = { "=", "!=", "=~", "!~" };

	ck_assert_int_ge(op, LT_MATCH_EQ);
	ck_assert_int_le(op, LT_MATCH_NRE);
	return s[op];
}

static const char *
cmp_op(enum lt_cmp_op op)
{
	static const char *const s[] = { "==", "!=", ">", ">=", "<", "<=" };

	ck_assert_int_ge(op, LT_CMP_EQ);
	ck_assert_int_le(op, LT_CMP_LE);
	return s[op];
}

static void
render_filter(struct out *o, const struct lt_label_filter *f)
{
	ck_assert_ptr_nonnull(f);
	switch (f->kind) {
	case LT_LF_AND:
	case LT_LF_OR:
		put(o, "%s(", f->kind == LT_LF_AND ? "and" : "or");
		render_filter(o, f->left);
		put(o, ",");
		render_filter(o, f->right);
		put(o, ")");
		break;
	case LT_LF_STRING:
		ck_assert_ptr_null(f->left);
		put(o, "%s%s\"%s\"", f->matcher.name, match_op(f->matcher.op),
		    f->matcher.value);
		break;
	case LT_LF_NUMBER:
	case LT_LF_DURATION:
	case LT_LF_BYTES:
		ck_assert_ptr_null(f->left);
		put(o, "%s(%s%s%.15g)", f->kind == LT_LF_NUMBER ? "num" :
		    f->kind == LT_LF_DURATION ? "dur" : "bytes", f->name,
		    cmp_op(f->cmp), f->number);
		break;
	default:
		ck_abort_msg("label filter kind %d", (int)f->kind);
	}
}

static void
render_params(struct out *o, const struct lt_stage *s)
{
	const struct lt_named *n;
	size_t i;

	for (i = 0; i < s->n_params; i++) {
		n = &s->params[i];
		put(o, "%s%s", i == 0 ? " " : ",", n->name);
		if (n->expression == NULL)
			continue;
		if (s->kind == LT_STAGE_LABEL_FORMAT && !n->is_template)
			put(o, "=%s", n->expression);
		else if (s->kind == LT_STAGE_DROP || s->kind == LT_STAGE_KEEP)
			put(o, "%s\"%s\"", match_op(n->op), n->expression);
		else
			put(o, "=\"%s\"", n->expression);
	}
}

static void
render_stage(struct out *o, const struct lt_stage *s)
{
	static const char *const line_ops[] = { "|=", "!=", "|~", "!~" };
	size_t i;

	switch (s->kind) {
	case LT_STAGE_LINE_FILTER:
		ck_assert_uint_ge(s->line.n_values, 1);
		put(o, " %s", line_ops[s->line.op]);
		for (i = 0; i < s->line.n_values; i++)
			put(o, "%s\"%s\"", i == 0 ? "" : " or ",
			    s->line.values[i]);
		return;
	case LT_STAGE_JSON:
		put(o, " | json");
		break;
	case LT_STAGE_LOGFMT:
		put(o, " | logfmt%s%s", s->logfmt_strict ? " --strict" : "",
		    s->logfmt_keep_empty ? " --keep-empty" : "");
		break;
	case LT_STAGE_REGEXP:
		put(o, " | regexp \"%s\"", s->text);
		return;
	case LT_STAGE_PATTERN:
		put(o, " | pattern \"%s\"", s->text);
		return;
	case LT_STAGE_UNPACK:
		put(o, " | unpack");
		break;
	case LT_STAGE_LABEL_FILTER:
		put(o, " | ");
		render_filter(o, s->filter);
		return;
	case LT_STAGE_LINE_FORMAT:
		put(o, " | line_format \"%s\"", s->text);
		return;
	case LT_STAGE_LABEL_FORMAT:
		put(o, " | label_format");
		break;
	case LT_STAGE_DROP:
		put(o, " | drop");
		break;
	case LT_STAGE_KEEP:
		put(o, " | keep");
		break;
	case LT_STAGE_DECOLORIZE:
		put(o, " | decolorize");
		break;
	default:
		ck_abort_msg("stage kind %d", (int)s->kind);
	}
	render_params(o, s);
}

static void
render(struct out *o, const struct lt_logql *q)
{
	size_t i;

	o->len = 0;
	o->buf[0] = '\0';
	put(o, "{");
	for (i = 0; i < q->n_matchers; i++)
		put(o, "%s%s%s\"%s\"", i == 0 ? "" : ",", q->matchers[i].name,
		    match_op(q->matchers[i].op), q->matchers[i].value);
	put(o, "}");
	for (i = 0; i < q->n_stages; i++)
		render_stage(o, &q->stages[i]);
}

static struct lt_logql *
parse_ok(const char *text)
{
	struct lt_logql *q;
	char why[512];

	q = lt_logql_parse(text, strlen(text), why, sizeof(why));
	ck_assert_msg(q != NULL, "%s: %s", text, why);
	return q;
}

/* ---- valid queries ---- */

static const struct {
	const char *in;
	const char *tree;
} good[] = {
	/* Selectors. */
	{ "{foo=\"bar\"}", "{foo=\"bar\"}" },
	{ "{ foo = \"bar\" }", "{foo=\"bar\"}" },
	{ "{ namespace=\"buzz\", foo != \"bar\" }",
	  "{namespace=\"buzz\",foo!=\"bar\"}" },
	{ "{ foo =~ \"bar\" }", "{foo=~\"bar\"}" },
	{ "{ namespace=\"buzz\", foo !~ \"bar\" }",
	  "{namespace=\"buzz\",foo!~\"bar\"}" },
	{ "{foo=~`bar\\w+`}", "{foo=~\"bar\\w+\"}" },
	{ "{a!=\"\", b=\"\"}", "{a!=\"\",b=\"\"}" },
	{ "{a=~\".+\"}", "{a=~\".+\"}" },
	{ "{app=~\"bar|baz\", x!~\"y\"}", "{app=~\"bar|baz\",x!~\"y\"}" },
	{ "{app=\"#\"}", "{app=\"#\"}" },
	{ "{_a1=\"x\",B_2=\"y\"}", "{_a1=\"x\",B_2=\"y\"}" },
	{ "(({app=\"foo\"}))", "{app=\"foo\"}" },
	/* Line filters. */
	{ "{foo=\"bar\"} |= \"baz\"", "{foo=\"bar\"} |=\"baz\"" },
	{ "{foo=\"bar\"} |= \"baz\" |~ \"blip\" != \"flip\" !~ \"flap\"",
	  "{foo=\"bar\"} |=\"baz\" |~\"blip\" !=\"flip\" !~\"flap\"" },
	{ "{app=\"foo\"} |= \"#\"", "{app=\"foo\"} |=\"#\"" },
	{ "{app=\"foo\"} |= \"a\" or \"b\"", "{app=\"foo\"} |=\"a\" or \"b\"" },
	{ "{app=\"foo\"} |~ \"a\" or \"b\" or \"c\" != \"d\"",
	  "{app=\"foo\"} |~\"a\" or \"b\" or \"c\" !=\"d\"" },
	{ "{app=\"foo\"} != \"a\" or \"b\"", "{app=\"foo\"} !=\"a\" or \"b\"" },
	{ "{app=\"foo\"} |~ `\\d+ (?i)err`", "{app=\"foo\"} |~\"\\d+ (?i)err\"" },
	{ "({app=\"foo\"} |= \"x\")", "{app=\"foo\"} |=\"x\"" },
	{ "{a=\"b\"} /* c */ |= \"x\" // rest", "{a=\"b\"} |=\"x\"" },
	/* Comments. */
	{ "{app=\"foo\"}\n\t# |= \"bar\"\n\t| json", "{app=\"foo\"} | json" },
	{ "{app=\"foo\"}\n\t#\n\t|= \"bar\"\n\t| json",
	  "{app=\"foo\"} |=\"bar\" | json" },
	{ "{app=\"foo\"} # |= \"bar\" | json", "{app=\"foo\"}" },
	{ "{app=\"foo\"} | json #", "{app=\"foo\"} | json" },
	/* Parsers. */
	{ "{app=\"foo\"} | json bob=\"top.sub[\\\"index\\\"]\"",
	  "{app=\"foo\"} | json bob=\"top.sub[\"index\"]\"" },
	{ "{app=\"foo\"} | json bob=\"top.params[0]\"",
	  "{app=\"foo\"} | json bob=\"top.params[0]\"" },
	{ "{app=\"foo\"} | json response_code=\"response.code\", "
	  "api_key=\"request.headers[\\\"X-API-KEY\\\"]\"",
	  "{app=\"foo\"} | json response_code=\"response.code\","
	  "api_key=\"request.headers[\"X-API-KEY\"]\"" },
	{ "{app=\"foo\"} | json a, b=\"x.y\", c",
	  "{app=\"foo\"} | json a,b=\"x.y\",c" },
	{ "{app=\"foo\"} | logfmt --strict", "{app=\"foo\"} | logfmt --strict" },
	{ "{app=\"foo\"} | logfmt --keep-empty --strict a, b=\"c\"",
	  "{app=\"foo\"} | logfmt --strict --keep-empty a,b=\"c\"" },
	{ "{app=\"foo\"} | logfmt a=\"k\"", "{app=\"foo\"} | logfmt a=\"k\"" },
	{ "{app=\"foo\"} | regexp \"(?P<method>\\\\w+) (?P<path>[\\\\w|/]+)\"",
	  "{app=\"foo\"} | regexp \"(?P<method>\\w+) (?P<path>[\\w|/]+)\"" },
	{ "{app=\"foo\"} | regexp `(?P<ip>\\S+) .*`",
	  "{app=\"foo\"} | regexp \"(?P<ip>\\S+) .*\"" },
	{ "{app=\"foo\"} |= \"bar\" | pattern \"<foo> bar <buzz>\"",
	  "{app=\"foo\"} |=\"bar\" | pattern \"<foo> bar <buzz>\"" },
	{ "{app=\"foo\"} | unpack | json", "{app=\"foo\"} | unpack | json" },
	{ "{app=\"foo\"} | JSON | LogFmt | Line_Format \"x\"",
	  "{app=\"foo\"} | json | logfmt | line_format \"x\"" },
	/* Formatters, drop, keep, decolorize. */
	{ "{app=\"foo\"} |= \"bar\" | line_format \"blip{{ .foo }}blop\"",
	  "{app=\"foo\"} |=\"bar\" | line_format \"blip{{ .foo }}blop\"" },
	{ "{app=\"foo\"} | label_format foo=bar,status_code=\"buzz{{.bar}}\"",
	  "{app=\"foo\"} | label_format foo=bar,status_code=\"buzz{{.bar}}\"" },
	{ "{app=\"foo\"} | drop a, b=\"x\", c!=\"y\", d=~\"z.*\", e!~\"w\"",
	  "{app=\"foo\"} | drop a,b=\"x\",c!=\"y\",d=~\"z.*\",e!~\"w\"" },
	{ "{app=\"foo\"} | keep level, app=\"api\"",
	  "{app=\"foo\"} | keep level,app=\"api\"" },
	{ "{app=\"foo\"} | decolorize", "{app=\"foo\"} | decolorize" },
	/* Label filters: strings. */
	{ "{app=\"foo\"} | __error__=\"\"", "{app=\"foo\"} | __error__=\"\"" },
	{ "{app=\"foo\"} | json | __error__!=\"\"",
	  "{app=\"foo\"} | json | __error__!=\"\"" },
	{ "{ foo = \"bar\" }|logfmt|rate=\"a\"",
	  "{foo=\"bar\"} | logfmt | rate=\"a\"" },
	{ "{app=\"foo\"} | bar=\"#\"", "{app=\"foo\"} | bar=\"#\"" },
	{ "{app=\"foo\"} | ip=\"2.3.4.5\"", "{app=\"foo\"} | ip=\"2.3.4.5\"" },
	{ "{app=\"foo\"} | sum = \"x\"", "{app=\"foo\"} | sum=\"x\"" },
	{ "{app=\"foo\"} | a=\"1\" | b=\"2\"",
	  "{app=\"foo\"} | a=\"1\" | b=\"2\"" },
	/* Label filters: numbers, durations, sizes. */
	{ "{app=\"foo\"} | x = 5", "{app=\"foo\"} | num(x==5)" },
	{ "{app=\"foo\"} | x != -5", "{app=\"foo\"} | num(x!=-5)" },
	{ "{app=\"foo\"} | x > +1.5", "{app=\"foo\"} | num(x>1.5)" },
	{ "{app=\"foo\"} | x <= 1e3", "{app=\"foo\"} | num(x<=1000)" },
	{ "{app=\"foo\"} | x < .5", "{app=\"foo\"} | num(x<0.5)" },
	{ "{app=\"foo\"} | bytes > 5", "{app=\"foo\"} | num(bytes>5)" },
	{ "{app=\"foo\"} | unwrapped >= 0", "{app=\"foo\"} | num(unwrapped>=0)" },
	{ "{app=\"foo\"} | d = 1m30s", "{app=\"foo\"} | dur(d==90)" },
	{ "{app=\"foo\"} | d != 1.5h", "{app=\"foo\"} | dur(d!=5400)" },
	{ "{app=\"foo\"} | d < -2m", "{app=\"foo\"} | dur(d<-120)" },
	{ "{app=\"foo\"} | d >= 500ms", "{app=\"foo\"} | dur(d>=0.5)" },
	{ "{app=\"foo\"} | d > 1d", "{app=\"foo\"} | dur(d>86400)" },
	{ "{app=\"foo\"} | d == 1h30m", "{app=\"foo\"} | dur(d==5400)" },
	{ "{app=\"foo\"} | s == 20KB", "{app=\"foo\"} | bytes(s==20000)" },
	{ "{app=\"foo\"} | s < 1MiB", "{app=\"foo\"} | bytes(s<1048576)" },
	{ "{app=\"foo\"} | s != 42B", "{app=\"foo\"} | bytes(s!=42)" },
	/* Label filters: precedence. */
	{ "{app=\"foo\"} |= \"bar\" | json | latency >= 250ms or "
	  "( status_code < 500 and status_code > 200)",
	  "{app=\"foo\"} |=\"bar\" | json | or(dur(latency>=0.25),"
	  "and(num(status_code<500),num(status_code>200)))" },
	{ "{app=\"foo\"} |= \"bar\" | unpack | json | latency >= 250ms or "
	  "( status_code < 500 and status_code > 200)",
	  "{app=\"foo\"} |=\"bar\" | unpack | json | or(dur(latency>=0.25),"
	  "and(num(status_code<500),num(status_code>200)))" },
	{ "{app=\"foo\"} |= \"bar\" | json | (duration > 1s or status!= 200) "
	  "and method!=\"POST\"",
	  "{app=\"foo\"} |=\"bar\" | json | and(or(dur(duration>1),"
	  "num(status!=200)),method!=\"POST\")" },
	{ "{app=\"foo\"} |= \"bar\" | pattern \"<foo> bar <buzz>\" | "
	  "(duration > 1s or status!= 200) and method!=\"POST\"",
	  "{app=\"foo\"} |=\"bar\" | pattern \"<foo> bar <buzz>\" | "
	  "and(or(dur(duration>1),num(status!=200)),method!=\"POST\")" },
	{ "{app=\"foo\"} | json | ( status_code < 500 and status_code > 200) "
	  "or latency >= 250ms ",
	  "{app=\"foo\"} | json | or(and(num(status_code<500),"
	  "num(status_code>200)),dur(latency>=0.25))" },
	{ "{app=\"foo\"} | json | ( status_code < 500 or status_code > 200) "
	  "and latency >= 250ms ",
	  "{app=\"foo\"} | json | and(or(num(status_code<500),"
	  "num(status_code>200)),dur(latency>=0.25))" },
	{ "{app=\"foo\"} | json |  status_code < 500 or status_code > 200 "
	  "and latency >= 250ms ",
	  "{app=\"foo\"} | json | or(num(status_code<500),"
	  "and(num(status_code>200),dur(latency>=0.25)))" },
	{ "{app=\"foo\"} | json |  status_code < 500 or status_code > 200 "
	  "and size >= 2.5KiB ",
	  "{app=\"foo\"} | json | or(num(status_code<500),"
	  "and(num(status_code>200),bytes(size>=2560)))" },
	{ "{app=\"foo\"} | foo=\"bar\" buzz!=\"blip\", blop=~\"boop\" or "
	  "fuzz==5",
	  "{app=\"foo\"} | and(foo=\"bar\",and(buzz!=\"blip\","
	  "or(blop=~\"boop\",num(fuzz==5))))" },
	{ "{namespace=\"tns\"} |= \"level=error\" | json |foo>=5,bar<25ms",
	  "{namespace=\"tns\"} |=\"level=error\" | json | "
	  "and(num(foo>=5),dur(bar<0.025))" },
	{ "{namespace=\"tns\"} | json |foo==5,bar<25ms",
	  "{namespace=\"tns\"} | json | and(num(foo==5),dur(bar<0.025))" },
	{ "{app=\"foo\"} | a=\"1\" and b=\"2\" or c=\"3\"",
	  "{app=\"foo\"} | or(and(a=\"1\",b=\"2\"),c=\"3\")" },
	{ "{app=\"foo\"} | a=\"1\" or b=\"2\" and c=\"3\"",
	  "{app=\"foo\"} | or(a=\"1\",and(b=\"2\",c=\"3\"))" },
	{ "{app=\"foo\"} | a=\"1\" or b=\"2\" or c=\"3\"",
	  "{app=\"foo\"} | or(or(a=\"1\",b=\"2\"),c=\"3\")" },
	{ "{app=\"foo\"} | a=\"1\" and b=\"2\" and c=\"3\"",
	  "{app=\"foo\"} | and(and(a=\"1\",b=\"2\"),c=\"3\")" },
	{ "{app=\"foo\"} | a=\"1\", b=\"2\" or c=\"3\"",
	  "{app=\"foo\"} | and(a=\"1\",or(b=\"2\",c=\"3\"))" },
	{ "{app=\"foo\"} | a=\"1\" or b=\"2\", c=\"3\"",
	  "{app=\"foo\"} | or(a=\"1\",and(b=\"2\",c=\"3\"))" },
	{ "{app=\"foo\"} | ((a=\"1\"))", "{app=\"foo\"} | a=\"1\"" },
	{ "{app=\"foo\"} | (a=\"1\" or b=\"2\") (c=\"3\")",
	  "{app=\"foo\"} | and(or(a=\"1\",b=\"2\"),c=\"3\")" },
	/* Loki's Test_PipelineCombined. */
	{ "{job=\"cortex-ops/query-frontend\"} |= \"logging.go\" | logfmt | "
	  "line_format \"{{.msg}}\" | regexp \"(?P<method>\\\\w+) "
	  "(?P<path>[\\\\w|/]+) \\\\((?P<status>\\\\d+?)\\\\) "
	  "(?P<duration>.*)\" | (duration > 1s or status==200) and "
	  "method=\"POST\" | line_format "
	  "\"{{.duration}}|{{.method}}|{{.status}}\"",
	  "{job=\"cortex-ops/query-frontend\"} |=\"logging.go\" | logfmt | "
	  "line_format \"{{.msg}}\" | regexp \"(?P<method>\\w+) "
	  "(?P<path>[\\w|/]+) \\((?P<status>\\d+?)\\) (?P<duration>.*)\" | "
	  "and(or(dur(duration>1),num(status==200)),method=\"POST\") | "
	  "line_format \"{{.duration}}|{{.method}}|{{.status}}\"" },
};

START_TEST(test_good)
{
	struct lt_logql *q;
	struct out o;

	q = parse_ok(good[_i].in);
	render(&o, q);
	ck_assert_msg(strcmp(o.buf, good[_i].tree) == 0,
		      "%s\n  gave %s\n  want %s", good[_i].in, o.buf,
		      good[_i].tree);
	lt_logql_free(q);
}
END_TEST

/* ---- invalid queries ---- */

#define EMPTY_COMPATIBLE "parse error : queries require at least one " \
	"regexp or equality matcher that does not have an empty-compatible " \
	"value. For instance, app=~\".*\" does not meet this requirement, " \
	"but app=~\".+\" will"

static const struct {
	const char *in;
	const char *why;
} bad[] = {
	/* From Loki's parser_test.go. */
	{ "{foo=\"bar}", "parse error at line 1, col 6: literal not terminated" },
	{ "{foo=\"bar\"", "parse error at line 1, col 11: syntax error: "
	  "unexpected $end, expecting } or ," },
	{ "{foo=\"bar\"} |~", "parse error at line 1, col 15: syntax error: "
	  "unexpected $end, expecting STRING or ip" },
	{ "{foo=\"bar\"} \"foo\"", "parse error at line 1, col 13: syntax "
	  "error: unexpected STRING" },
	{ "{foo=\"bar\"} foo", "parse error at line 1, col 13: syntax error: "
	  "unexpected IDENTIFIER" },
	{ "unk({ foo = \"bar\" }[5m])", "parse error at line 1, col 1: syntax "
	  "error: unexpected IDENTIFIER" },
	{ "{app=~\"\xa0\xa1\"}", "parse error at line 1, col 7: invalid UTF-8 "
	  "encoding" },
	{ "#{app=\"foo\"} | json", "parse error at line 1, col 20: syntax "
	  "error: unexpected $end" },
	{ "{foo!=\"bar\"}", EMPTY_COMPATIBLE },
	{ "{app=~\".*\"}", EMPTY_COMPATIBLE },
	{ "{foo!~\"bar|baz\"}", EMPTY_COMPATIBLE },
	/* Worked out from expr.y and lex.go.  Loki's test expects ",
	 * expecting BYTES or NUMBER or DURATION" of a grammar before
	 * literalExpr took a sign: five tokens now, too many to list. */
	{ "{ foo = \"bar\" }|logfmt|addr>=ip(\"1.2.3.4\")", "parse error at "
	  "line 1, col 30: syntax error: unexpected ip" },
	{ "", "parse error at line 1, col 1: syntax error: unexpected $end" },
	{ "{}", EMPTY_COMPATIBLE },
	{ "{app=\"\"}", EMPTY_COMPATIBLE },
	{ "{a=\"b\"}[5m]", "parse error at line 0, col 8: syntax error: "
	  "unexpected RANGE" },
	/* parser_test.go: the line is 0, text/scanner's Next() clears it. */
	{ "{a=\"b\"} [5minutes]", "parse error at line 0, col 9: unknown "
	  "unit \"minutes\" in duration \"5minutes\"" },
	{ "{a=\"b\"} [5m", "parse error at line 0, col 9: missing closing ']' "
	  "in duration" },
	{ "{a}", "parse error at line 1, col 3: syntax error: unexpected }, "
	  "expecting = or =~ or !~ or !=" },
	{ "{a=}", "parse error at line 1, col 4: syntax error: unexpected }, "
	  "expecting STRING" },
	{ "{a=\"b\",}", "parse error at line 1, col 8: syntax error: "
	  "unexpected }, expecting IDENTIFIER" },
	{ "{a=\"b\" b=\"c\"}", "parse error at line 1, col 8: syntax error: "
	  "unexpected IDENTIFIER, expecting } or ," },
	{ "{json=\"x\"}", "parse error at line 1, col 2: syntax error: "
	  "unexpected json, expecting IDENTIFIER or }" },
	{ "{a='b'}", "parse error at line 1, col 4: syntax error: unexpected "
	  "IDENTIFIER, expecting STRING" },
	{ "{a='bb'}", "parse error at line 1, col 4: invalid char literal" },
	{ "{a=\"b\"} | unwrap x", "parse error at line 1, col 11: syntax "
	  "error: unexpected unwrap" },
	{ "{a=\"b\"} |", "parse error at line 1, col 10: syntax error: "
	  "unexpected $end" },
	{ "{a=\"b\"} | json |", "parse error at line 1, col 17: syntax error: "
	  "unexpected $end" },
	{ "{a=\"b\"} | line_format", "parse error at line 1, col 22: syntax "
	  "error: unexpected $end, expecting STRING" },
	{ "{a=\"b\"} | label_format a", "parse error at line 1, col 25: "
	  "syntax error: unexpected $end, expecting =" },
	{ "{a=\"b\"} | label_format a=5", "parse error at line 1, col 26: "
	  "syntax error: unexpected NUMBER, expecting IDENTIFIER or STRING" },
	{ "{a=\"b\"} | json a=b", "parse error at line 1, col 18: syntax "
	  "error: unexpected IDENTIFIER, expecting STRING" },
	{ "{a=\"b\"} | drop", "parse error at line 1, col 15: syntax error: "
	  "unexpected $end, expecting IDENTIFIER" },
	{ "{a=\"b\"} | a=\"1\" or", "parse error at line 1, col 19: syntax "
	  "error: unexpected $end" },
	{ "{a=\"b\"} | (a=\"1\"", "parse error at line 1, col 17: syntax "
	  "error: unexpected $end" },
	{ "{a=\"b\"}\n | json\n | x >", "parse error at line 3, col 7: "
	  "syntax error: unexpected $end" },
	{ "{a=\"b\"} | x > \"5\"", "parse error at line 1, col 15: syntax "
	  "error: unexpected STRING" },
	{ "{a=\"b\"} | x == \"s\"", "parse error at line 1, col 16: syntax "
	  "error: unexpected STRING" },
	{ "{a=\"b\"} | x > 5mb", "parse error at line 1, col 18: syntax "
	  "error: unexpected $end" },
	{ "{a=\"b\"} | x > 1 | y", "parse error at line 1, col 20: syntax "
	  "error: unexpected $end" },
	{ "{a=\"b\"} !\"x\"", "parse error at line 1, col 9: syntax error: "
	  "unexpected IDENTIFIER" },
	{ "{a=\"b\"} + {a=\"c\"}", "parse error at line 1, col 9: syntax "
	  "error: unexpected +" },
	{ "{a=\"b\"} ]", "parse error at line 1, col 9: syntax error: "
	  "unexpected ]" },
	/* A two-character operator: Loki's lexer read it with text/scanner's
	 * Next(), which sets the line it reports to 0. */
	{ "(({a=\"b\"}) |= \"x\")", "parse error at line 0, col 12: syntax "
	  "error: unexpected |=" },
	{ "({a=\"b\"}", "parse error at line 1, col 9: syntax error: "
	  "unexpected $end" },
	{ "{a=\"b\"} | logfmt --strictly", "parse error at line 1, col 18: "
	  "syntax error: unexpected -" },
	{ "{a=\"b\"} /* c", "parse error at line 1, col 9: comment not "
	  "terminated" },
	{ "{\xc3\xa9=\"x\"}", "parse error at line 1, col 2: syntax error: "
	  "unexpected IDENTIFIER, expecting IDENTIFIER or }" },
	{ "{a=\"b\"} |= \"\xc3\xa9\" | \xff", "parse error at line 1, col 18: "
	  "invalid UTF-8 encoding" },
	/* Escapes: text/scanner checks the form, strconv the value. */
	{ "{a=\"b\"} | x=\"\\q\"", "parse error at line 1, col 13: invalid "
	  "char escape" },
	{ "{a=\"b\"} |= \"\\x4\"", "parse error at line 1, col 12: invalid "
	  "char escape" },
	{ "{a=\"b\"} | x=\"\\ud800\"", "parse error at line 1, col 13: "
	  "invalid syntax" },
	{ "{a=\"b\"} |= \"\\400\"", "parse error at line 1, col 12: invalid "
	  "syntax" },
	{ "{a=\"b\"} |= \"a\nb\"", "parse error at line 1, col 12: literal "
	  "not terminated" },
	{ "{a=\"b\"} |= `a", "parse error at line 1, col 12: literal not "
	  "terminated" },
	/* Regexes, checked while parsing. */
	{ "{a=~\"(\"}", "parse error : error parsing regexp: missing closing "
	  "parenthesis: `(`" },
	{ "{a=\"b\"} |~ \"[\"", "parse error : error parsing regexp: missing "
	  "terminating ] for character class: `[`" },
	{ "{a=\"b\"} | x=~\"*\"", "parse error : error parsing regexp: "
	  "quantifier does not follow a repeatable item: `*`" },
	{ "{a=\"b\"} | drop x!~\"(\"", "parse error : error parsing regexp: "
	  "missing closing parenthesis: `(`" },
	{ "{a=\"b\"} | regexp \"(a\"", "parse error : error parsing regexp: "
	  "missing closing parenthesis: `(a`" },
	{ "{a=\"b\"} | regexp \"(a)\"", "parse error : at least one named "
	  "capture must be supplied: `(a)`" },
	/* What this parser does not take. */
	{ "rate({a=\"b\"}[5m])", "parse error at line 1, col 1: syntax error: "
	  "unexpected RATE: metric queries are not supported" },
	{ "sum by (a) (count_over_time({a=\"b\"}[1m]))", "parse error at line "
	  "1, col 1: syntax error: unexpected SUM: metric queries are not "
	  "supported" },
	{ "(count_over_time({a=\"b\"}[1m]))", "parse error at line 1, col 2: "
	  "syntax error: unexpected COUNT_OVER_TIME: metric queries are not "
	  "supported" },
	{ "1 + 1", "parse error at line 1, col 1: syntax error: unexpected "
	  "NUMBER: metric queries are not supported" },
	{ "{a=\"b\"} | addr=ip(\"1.2.3.4\")", "parse error at line 1, col 16: "
	  "ip() label filters are not supported" },
	{ "{a=\"b\"} |= ip(\"1.2.3.4\")", "parse error at line 1, col 12: "
	  "ip() line filters are not supported" },
	{ "{a=\"b\"} |> \"<_>\"", "parse error at line 1, col 9: pattern line "
	  "filters (|>) are not supported" },
	{ "{a=\"b\"} !> \"<_>\"", "parse error at line 1, col 9: pattern line "
	  "filters (!>) are not supported" },
};

START_TEST(test_bad)
{
	struct lt_logql *q;
	char why[512];

	memset(why, 'x', sizeof(why));
	q = lt_logql_parse(bad[_i].in, strlen(bad[_i].in), why, sizeof(why));
	ck_assert_msg(q == NULL, "%s: parsed", bad[_i].in);
	ck_assert_msg(strcmp(why, bad[_i].why) == 0, "%s\n  gave %s\n  want %s",
		      bad[_i].in, why, bad[_i].why);
}
END_TEST

/* A NUL byte is text/scanner's error wherever it is. */
START_TEST(test_nul)
{
	static const char text[] = "{a=\"b\"}\0";
	char why[256];

	ck_assert_ptr_null(lt_logql_parse(text, sizeof(text) - 1, why,
					  sizeof(why)));
	ck_assert_str_eq(why, "parse error at line 1, col 8: invalid "
			 "character NUL");
	ck_assert_ptr_null(lt_logql_parse("{a=\"\\x00\"}", 10, why,
					  sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "col 4"));
}
END_TEST

/* Only len bytes are read: the rest of the buffer is not the query. */
START_TEST(test_len_bounds)
{
	struct lt_logql *q;
	char why[256];

	q = lt_logql_parse("{a=\"b\"} |= \"x\"GARBAGE", 14, why, sizeof(why));
	ck_assert_ptr_nonnull(q);
	ck_assert_uint_eq(q->n_stages, 1);
	ck_assert_str_eq(q->stages[0].line.values[0], "x");
	lt_logql_free(q);
	/* No why buffer is fine too. */
	ck_assert_ptr_null(lt_logql_parse("{", 1, NULL, 0));
	lt_logql_free(NULL);
}
END_TEST

/* The details of a tree that the rendering leaves out. */
START_TEST(test_tree_details)
{
	struct lt_logql *q;
	const struct lt_stage *s;

	q = parse_ok("{app=\"a\\\"b\\\\c\\n\\t\\u00e9\\x41\\101\"} | json a, b=\"c\" "
		     "| label_format x=y, z=\"{{.x}}\" | keep k, l=~\"m\"");
	ck_assert_uint_eq(q->n_matchers, 1);
	ck_assert_str_eq(q->matchers[0].name, "app");
	ck_assert_str_eq(q->matchers[0].value, "a\"b\\c\n\t\xc3\xa9" "AA");
	ck_assert_uint_eq(q->n_stages, 3);
	s = &q->stages[0];
	ck_assert_int_eq(s->kind, LT_STAGE_JSON);
	ck_assert_uint_eq(s->n_params, 2);
	ck_assert_str_eq(s->params[0].name, "a");
	ck_assert_ptr_null(s->params[0].expression);
	ck_assert_str_eq(s->params[1].expression, "c");
	s = &q->stages[1];
	ck_assert_int_eq(s->kind, LT_STAGE_LABEL_FORMAT);
	ck_assert_str_eq(s->params[0].expression, "y");
	ck_assert_int_eq(s->params[0].is_template, 0);
	ck_assert_str_eq(s->params[1].expression, "{{.x}}");
	ck_assert_int_eq(s->params[1].is_template, 1);
	s = &q->stages[2];
	ck_assert_int_eq(s->kind, LT_STAGE_KEEP);
	ck_assert_ptr_null(s->params[0].expression);
	ck_assert_int_eq(s->params[1].op, LT_MATCH_RE);
	ck_assert_str_eq(s->params[1].expression, "m");
	lt_logql_free(q);

	/* A raw string keeps backslashes and newlines. */
	q = parse_ok("{a=\"b\"} |= `x\\n\ny`");
	ck_assert_str_eq(q->stages[0].line.values[0], "x\\n\ny");
	lt_logql_free(q);
}
END_TEST

/* ---- limits ---- */

START_TEST(test_max_len)
{
	size_t len = LT_LOGQL_MAX_LEN + 1, i;
	struct lt_logql *q;
	char why[256], *text;

	text = malloc(len);
	ck_assert_ptr_nonnull(text);
	memcpy(text, "{a=\"b\"}", 7);
	for (i = 7; i < len; i++)
		text[i] = ' ';
	ck_assert_ptr_null(lt_logql_parse(text, len, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "LT_LOGQL_MAX_LEN"));
	q = lt_logql_parse(text, len - 1, why, sizeof(why));
	ck_assert_ptr_nonnull(q);
	lt_logql_free(q);
	free(text);
}
END_TEST

/* A query of n copies of unit after the selector and head. */
static char *
repeat(const char *head, const char *unit, size_t n, const char *tail)
{
	size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail), i;
	char *s = malloc(hl + n * ul + tl + 1);

	ck_assert_ptr_nonnull(s);
	memcpy(s, head, hl);
	for (i = 0; i < n; i++)
		memcpy(s + hl + i * ul, unit, ul);
	memcpy(s + hl + n * ul, tail, tl + 1);
	return s;
}

static int
parses(const char *text, char *why, size_t whylen)
{
	struct lt_logql *q = lt_logql_parse(text, strlen(text), why, whylen);

	lt_logql_free(q);
	return q != NULL;
}

START_TEST(test_max_depth)
{
	char why[256], *open, *text;

	/* Parentheses around one filter: as deep as the limit is fine. */
	open = repeat("{a=\"b\"} | ", "(", LT_LOGQL_MAX_DEPTH, "x=\"y\"");
	text = repeat(open, ")", LT_LOGQL_MAX_DEPTH, "");
	ck_assert_msg(parses(text, why, sizeof(why)), "%s", why);
	free(text);
	free(open);

	open = repeat("{a=\"b\"} | ", "(", LT_LOGQL_MAX_DEPTH + 5, "x=\"y\"");
	ck_assert(!parses(open, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "LT_LOGQL_MAX_DEPTH"));
	free(open);

	/* Long chains of and, or, commas: the tree gets as deep. */
	text = repeat("{a=\"b\"} | x=\"1\"", " and x=\"1\"", 200, "");
	ck_assert(!parses(text, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "LT_LOGQL_MAX_DEPTH"));
	free(text);
	text = repeat("{a=\"b\"} | x=\"1\"", ", x=\"1\"", 2000, "");
	ck_assert(!parses(text, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "LT_LOGQL_MAX_DEPTH"));
	free(text);
	text = repeat("{a=\"b\"} | x=\"1\"", " or x=\"1\"",
		      LT_LOGQL_MAX_DEPTH - 1, "");
	ck_assert_msg(parses(text, why, sizeof(why)), "%s", why);
	free(text);
	/* Leading parentheses of the query. */
	text = repeat("", "(", 1000, "{a=\"b\"}");
	ck_assert(!parses(text, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "LT_LOGQL_MAX_DEPTH"));
	free(text);
	/* Many stages are no nesting. */
	text = repeat("{a=\"b\"}", " | x=\"1\" |= \"y\"", 1000, "");
	ck_assert_msg(parses(text, why, sizeof(why)), "%s", why);
	free(text);
}
END_TEST

/* ---- the selector alone ---- */

START_TEST(test_selector)
{
	struct lt_logql *q;
	char why[256];

	q = lt_logql_parse_selector("{a=\"b\", c=~\"d.*\"}", 17, why,
				    sizeof(why));
	ck_assert_ptr_nonnull(q);
	ck_assert_uint_eq(q->n_matchers, 2);
	ck_assert_uint_eq(q->n_stages, 0);
	ck_assert_str_eq(q->matchers[1].value, "d.*");
	lt_logql_free(q);
	ck_assert_ptr_null(lt_logql_parse_selector("{a=\"b\"} |= \"x\"", 14,
						   why, sizeof(why)));
	ck_assert_str_eq(why, "only label matchers are supported");
	ck_assert_ptr_null(lt_logql_parse_selector("{a=~\".*\"}", 9, why,
						   sizeof(why)));
	ck_assert_str_eq(why, EMPTY_COMPATIBLE);
	ck_assert_ptr_null(lt_logql_parse_selector("{a=\"b\"", 6, why,
						   sizeof(why)));
	ck_assert_str_eq(why, "parse error at line 1, col 7: syntax error: "
			 "unexpected $end, expecting } or ,");
}
END_TEST

/* ---- durations and sizes ---- */

static const struct {
	const char *in;
	double want;
} durations[] = {
	{ "0", 0 }, { "1s", 1 }, { "1m30s", 90 }, { "500ms", 0.5 },
	{ "1.5h", 5400 }, { "-2m", -120 }, { "+5s", 5 }, { "1h30m", 5400 },
	{ ".5s", 0.5 }, { "5.s", 5 }, { "300us", 0.0003 },
	{ "2\xc2\xb5s", 0.000002 }, { "2\xce\xbcs", 0.000002 },
	{ "100ns", 1e-7 }, { "1h1m1s1ms", 3661.001 }, { "-0", 0 },
	{ "2562047h", 2562047 * 3600.0 },
};

static const char *const bad_durations[] = {
	"", "1", "s", ".s", "-", "1d", "1x", "1s1", "1.2.3s", "1 s", " 1s",
	"1S", "2562048h", "+", "--1s",
};

START_TEST(test_durations)
{
	double v;
	size_t i;

	for (i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		v = -12345;
		ck_assert_msg(lt_go_duration(durations[i].in, &v) == 0, "%s",
			      durations[i].in);
		ck_assert_msg(v - durations[i].want < 1e-9 &&
			      durations[i].want - v < 1e-9, "%s: %.12g",
			      durations[i].in, v);
	}
	for (i = 0; i < sizeof(bad_durations) / sizeof(bad_durations[0]); i++)
		ck_assert_msg(lt_go_duration(bad_durations[i], &v) == -1,
			      "%s accepted", bad_durations[i]);
}
END_TEST

static const struct {
	const char *in;
	double want;
} sizes[] = {
	{ "42", 42 }, { "42B", 42 }, { "42b", 42 }, { "20KB", 20000 },
	{ "20kB", 20000 }, { "20k", 20000 }, { "1KiB", 1024 },
	{ "2.5KiB", 2560 }, { "1MiB", 1048576 }, { "1.5MiB", 1572864 },
	{ "1MB", 1e6 }, { "1GB", 1e9 }, { "1GiB", 1073741824.0 },
	{ "1TB", 1e12 }, { "1TiB", 1099511627776.0 }, { "1 KB", 1000 },
	{ "1,000", 1000 }, { "1.5", 1 }, { "0.5KB", 500 },
};

static const char *const bad_sizes[] = {
	"", "KB", "1XB", "1..2KB", "1 K B", ".", "1KBB", "-1KB", "20000EB",
};

START_TEST(test_sizes)
{
	double v;
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		v = -1;
		ck_assert_msg(lt_go_bytes(sizes[i].in, &v) == 0, "%s",
			      sizes[i].in);
		ck_assert_msg(v == sizes[i].want, "%s: %.12g", sizes[i].in, v);
	}
	for (i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++)
		ck_assert_msg(lt_go_bytes(bad_sizes[i], &v) == -1,
			      "%s accepted", bad_sizes[i]);
}
END_TEST

/* ---- matchers ---- */

static int
matches(enum lt_match_op op, const char *re, const char *value)
{
	struct lt_matcher m;

	m.name = (char *)"x";
	m.value = (char *)re;
	m.op = op;
	return lt_matcher_matches(&m, value, value == NULL ? 0 : strlen(value));
}

START_TEST(test_matchers)
{
	ck_assert_int_eq(matches(LT_MATCH_EQ, "foo", "foo"), 1);
	ck_assert_int_eq(matches(LT_MATCH_EQ, "foo", "fo"), 0);
	ck_assert_int_eq(matches(LT_MATCH_EQ, "foo", "fooo"), 0);
	ck_assert_int_eq(matches(LT_MATCH_NE, "foo", "foo"), 0);
	ck_assert_int_eq(matches(LT_MATCH_NE, "foo", "bar"), 1);
	/* An absent label is "". */
	ck_assert_int_eq(matches(LT_MATCH_EQ, "", NULL), 1);
	ck_assert_int_eq(matches(LT_MATCH_NE, "", NULL), 0);
	ck_assert_int_eq(matches(LT_MATCH_NE, "foo", NULL), 1);
	/* Regexes are anchored at both ends. */
	ck_assert_int_eq(matches(LT_MATCH_RE, "fo", "foo"), 0);
	ck_assert_int_eq(matches(LT_MATCH_RE, "fo.*", "foo"), 1);
	ck_assert_int_eq(matches(LT_MATCH_RE, "oo", "foo"), 0);
	ck_assert_int_eq(matches(LT_MATCH_RE, "a|b", "ab"), 0);
	ck_assert_int_eq(matches(LT_MATCH_RE, "a|b", "b"), 1);
	ck_assert_int_eq(matches(LT_MATCH_NRE, "a|b", "b"), 0);
	ck_assert_int_eq(matches(LT_MATCH_NRE, "a|b", "c"), 1);
	ck_assert_int_eq(matches(LT_MATCH_RE, ".*", NULL), 1);
	ck_assert_int_eq(matches(LT_MATCH_RE, ".+", ""), 0);
	/* Go's $ is the end of the text, and . stops at a newline. */
	ck_assert_int_eq(matches(LT_MATCH_RE, "a", "a\n"), 0);
	ck_assert_int_eq(matches(LT_MATCH_RE, "a.b", "a\nb"), 0);
	ck_assert_int_eq(matches(LT_MATCH_RE, "(?s)a.b", "a\nb"), 1);
	/* UTF-8: one character, one dot. */
	ck_assert_int_eq(matches(LT_MATCH_RE, "caf.", "caf\xc3\xa9"), 1);
	ck_assert_int_eq(matches(LT_MATCH_RE, "(?i)FOO", "foo"), 1);
	ck_assert_int_eq(matches(LT_MATCH_RE, "(?P<n>a)b", "ab"), 1);
	/* A value that is not UTF-8 is matched, not refused. */
	ck_assert_int_eq(matches(LT_MATCH_RE, "a.*", "a\xff"), 1);
	/* A bad regex. */
	ck_assert_int_eq(matches(LT_MATCH_RE, "(", "("), -1);
	ck_assert_int_eq(matches(LT_MATCH_NRE, "(", "("), -1);
}
END_TEST

/* Nested quantifiers against a long value: the match limit stops it. */
START_TEST(test_catastrophic)
{
	char value[64];
	time_t t0 = time(NULL);

	memset(value, 'x', 40);
	memcpy(value + 40, "zy", 3);
	ck_assert_int_eq(matches(LT_MATCH_RE, "(x+x+)+y", value), -1);
	ck_assert_int_le(time(NULL) - t0, 2);
}
END_TEST

static Suite *
logql_suite(void)
{
	Suite *s = suite_create("logql");
	TCase *tp = tcase_create("parse");
	TCase *tv = tcase_create("values");

	tcase_add_loop_test(tp, test_good, 0,
			    (int)(sizeof(good) / sizeof(good[0])));
	tcase_add_loop_test(tp, test_bad, 0,
			    (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tp, test_nul);
	tcase_add_test(tp, test_len_bounds);
	tcase_add_test(tp, test_tree_details);
	tcase_add_test(tp, test_max_len);
	tcase_add_test(tp, test_max_depth);
	tcase_add_test(tp, test_selector);
	suite_add_tcase(s, tp);
	tcase_add_test(tv, test_durations);
	tcase_add_test(tv, test_sizes);
	tcase_add_test(tv, test_matchers);
	tcase_add_test(tv, test_catastrophic);
	suite_add_tcase(s, tv);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(logql_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
