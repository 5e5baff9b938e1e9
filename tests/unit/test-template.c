/* Unit tests: the Go text/template subset of line_format and
 * label_format.  Expected outputs come from Go's documented behaviour
 * (text/template, fmt, strconv, time, regexp), Sprig's and Loki's
 * functions (docs/sources/query/template_functions.md examples), worked
 * out by hand. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

/* The entry every case runs against. */
static const char *const labels[][2] = {
	{"app", "api"},
	{"level", "warn"},
	{"n", "42"},
	{"path", "/a b/c"},
	{"msg", "Hello World"},
	{"empty", ""},
	{"method", "GET"},
	{"query", "line1\nline2"},
	{"f", "3.5"},
	{"createDate", "2021-11-02"},
	{NULL, NULL}
};
static const char entry_line[] = "{\"status\":\"200\"} ts=1 Ab";
/* 2023-11-14T22:13:20.123456789Z, a Tuesday. */
#define ENTRY_TS 1700000000123456789LL

static const char *
lookup(void *ctx, const char *name, size_t len, size_t *vlen)
{
	int i;

	(void)ctx;
	for (i = 0; labels[i][0] != NULL; i++)
		if (strlen(labels[i][0]) == len &&
		    memcmp(labels[i][0], name, len) == 0) {
			*vlen = strlen(labels[i][1]);
			return labels[i][1];
		}
	return NULL;
}

/* expect: the output, or NULL when err is a part of the message. */
struct tcase {
	const char *tmpl;
	const char *expect;
	const char *err;
};

static const struct tcase cases[] = {
	/* text, fields, missing labels are "" */
	{"plain text", "plain text", NULL},
	{"", "", NULL},
	{"{{.app}}", "api", NULL},
	{"{{ .app }}-{{.level}}", "api-warn", NULL},
	{"x{{.missing}}y", "xy", NULL},
	{"{{ .app\n}}", "api", NULL},
	{"{{ .empty | default \"-\" }}", "-", NULL},
	/* __line__ and __timestamp__ */
	{"{{ __line__ }}", "{\"status\":\"200\"} ts=1 Ab", NULL},
	{"{{ __line__ | lower }}", "{\"status\":\"200\"} ts=1 ab", NULL},
	{"{{ __timestamp__ }}", "2023-11-14 22:13:20.123456789 +0000 UTC", NULL},
	{"{{ __timestamp__ | unixEpoch }}", "1700000000", NULL},
	{"{{ __timestamp__ | unixEpochMillis }}", "1700000000123", NULL},
	{"{{ __timestamp__ | unixEpochNanos }}", "1700000000123456789", NULL},
	{"{{ __timestamp__ | date \"2006-01-02\" }}", "2023-11-14", NULL},
	{"{{ date \"Mon Jan _2 15:04:05 MST 2006\" __timestamp__ }}",
	 "Tue Nov 14 22:13:20 UTC 2023", NULL},
	{"{{ date \"3:04PM .000 Z07:00\" __timestamp__ }}", "10:13PM .123 Z", NULL},
	{"{{ __timestamp__ | date \"2006-01-02T15:04:05.00Z-07:00\" }}",
	 "2023-11-14T22:13:20.12Z+00:00", NULL},
	{"{{ date \"January 2, 06 .999\" __timestamp__ }}",
	 "November 14, 23 .123", NULL},
	/* toDate, unixToTime */
	{"{{ toDate \"2006-01-02\" \"2021-11-02\" | unixEpoch }}", "1635811200", NULL},
	{"{{ unixEpoch (toDate \"2006-01-02\" .createDate) }}", "1635811200", NULL},
	{"{{ toDate \"2006-01-02T15:04:05Z07:00\" \"2021-11-02T10:00:00+02:00\""
	 " | unixEpoch }}", "1635840000", NULL},
	{"{{ toDate \"2006-01-02\" \"not a date\" }}",
	 "0001-01-01 00:00:00 +0000 UTC", NULL},
	{"{{ toDate \"2006-01-02\" \"2021-02-30\" | unixEpoch }}",
	 "-62135596800", NULL},
	{"{{ toDateInZone \"2006-01-02\" \"UTC\" \"2021-11-02\" | unixEpochMillis }}",
	 "1635811200000", NULL},
	{"{{ date \"2006-01-02\" (unixToTime \"1679577215\") }}", "2023-03-23", NULL},
	{"{{ unixToTime \"1679577215000\" | unixEpoch }}", "1679577215", NULL},
	/* strings */
	{"{{ .msg | ToUpper }}", "HELLO WORLD", NULL},
	{"{{ .msg | ToLower }}", "hello world", NULL},
	{"{{ lower \"HELLO\" }}", "hello", NULL},
	{"{{ upper \"hello\" }}", "HELLO", NULL},
	{"{{ title \"hello world\" }}", "Hello World", NULL},
	{"{{ trunc 5 \"hello world\" }}", "hello", NULL},
	{"{{ trunc -5 \"hello world\" }}", "world", NULL},
	{"{{ trunc 9 \"h\xc3\xa9\" }}", "h\xc3\xa9", NULL},
	{"{{ substr 0 5 \"hello world\" }}", "hello", NULL},
	{"{{ substr 6 11 \"hello world\" }}", "world", NULL},
	{"{{ substr 1 2 \"\xc3\xa9t\xc3\xa9\" }}", "t", NULL},
	{"{{ .path | replace \" \" \"_\" | trunc 5 | upper }}", "/A_B/", NULL},
	{"{{ replace \"hello\" \"world\" \"hello world\" }}", "world world", NULL},
	{"{{ Replace \"aaa\" \"a\" \"b\" 2 }}", "bba", NULL},
	{"{{ trim \"   hello    \" }}", "hello", NULL},
	{"{{ TrimSpace \"\\t x \\n\" }}", "x", NULL},
	{"{{ trimAll \"$\" \"$5.00\" }}", "5.00", NULL},
	{"{{ trimPrefix \"-\" \"-hello\" }}", "hello", NULL},
	{"{{ trimSuffix \"-\" \"hello-\" }}", "hello", NULL},
	{"{{ TrimPrefix \"-hello\" \"-\" }}", "hello", NULL},
	{"{{ Trim \"xxhixx\" \"x\" }}|{{ TrimLeft \"xxhi\" \"x\" }}", "hi|hi", NULL},
	{"{{ if contains \"he\" \"hello\" }}yes{{ end }}", "yes", NULL},
	{"{{ hasPrefix \"he\" \"hello\" }} {{ hasSuffix \"he\" \"hello\" }}",
	 "true false", NULL},
	{"{{ indent 2 .query }}", "  line1\n  line2", NULL},
	{"{{ nindent 2 .query }}", "\n  line1\n  line2", NULL},
	{"{{ repeat 3 \"hello\" }}", "hellohellohello", NULL},
	{"[{{ alignLeft 5 \"hello world\" }}|{{ alignLeft 5 \"hi\" }}]",
	 "[hello|hi   ]", NULL},
	{"[{{ alignRight 5 \"hello world\" }}|{{ alignRight 5 \"hi\" }}]",
	 "[world|   hi]", NULL},
	{"{{ default \"-\" \"\" }}|{{ default \"-\" \"foo\" }}", "-|foo", NULL},
	{"{{ .missing | default \"none\" }}", "none", NULL},
	{"{{ default 5 0 }}", "5", NULL},
	/* encodings */
	{"{{ b64enc \"hello\" }}", "aGVsbG8=", NULL},
	{"{{ b64dec \"aGVsbG8=\" }}", "hello", NULL},
	{"{{ b64dec \"!!\" }}", "illegal base64 data at input byte 0", NULL},
	{"{{ urlencode \"a b&c=d/\xc3\xa9\" }}", "a+b%26c%3Dd%2F%C3%A9", NULL},
	{"{{ urldecode \"a%20b+c\" }}", "a b c", NULL},
	/* printf */
	{"{{ printf \"The IP address was %s\" .app }}",
	 "The IP address was api", NULL},
	{"{{ printf \"%-5.5s|\" .method }}", "GET  |", NULL},
	{"{{ printf \"%-5.5s|\" \"abcdefgh\" }}", "abcde|", NULL},
	{"{{ printf \"%05d\" 42 }}", "00042", NULL},
	{"{{ printf \"%5d|%-5d|%+d\" 42 42 42 }}", "   42|42   |+42", NULL},
	{"{{ printf \"%x %X %o %b %#x\" 255 255 8 5 255 }}", "ff FF 10 101 0xff",
	 NULL},
	{"{{ printf \"%x\" -255 }}", "-ff", NULL},
	{"{{ printf \"%.2f %e %g\" 3.14159 1234.5678 0.5 }}",
	 "3.14 1.234568e+03 0.5", NULL},
	{"{{ printf \"%08.3f\" -3.14159 }}", "-003.142", NULL},
	{"{{ printf \"%q\" \"a\\\"b\" }}", "\"a\\\"b\"", NULL},
	{"{{ printf \"%v %v %v\" 1 2.5 true }}", "1 2.5 true", NULL},
	{"{{ printf \"%x\" \"hi\" }}", "6869", NULL},
	{"{{ printf \"%c%c\" 72 105 }}", "Hi", NULL},
	{"{{ printf \"100%%\" }}", "100%", NULL},
	{"{{ printf \"%d\" .n }}", "%!d(string=42)", NULL},
	{"{{ printf \"%s %s\" \"a\" }}", "a %!s(MISSING)", NULL},
	{"{{ printf \"%s\" \"a\" \"b\" }}", "a%!(EXTRA string=b)", NULL},
	{"{{ printf \"%z\" 1 }}", "%!z(int=1)", NULL},
	{"{{ printf \"%d\" 1.5 }}", "%!d(float64=1.5)", NULL},
	{"{{ printf \"%30000000d\" 1 }}", "%!(NOVERB)%!(EXTRA int=1)", NULL},
	{"{{ printf \"%*d|\" 3000000 1 }}", "%!(BADWIDTH)1|", NULL},
	{"{{ print 1 2 \"a\" 3 }}", "1 2a3", NULL},
	/* numbers, with Sprig's conversions */
	{"{{ add 3 2 5 }}", "10", NULL},
	{"{{ add \"1\" 2 }}", "3", NULL},
	{"{{ add .n 1 }}", "43", NULL},
	{"{{ sub 5 2 }}|{{ mul 5 2 3 }}|{{ div 10 2 }}|{{ mod 10 3 }}",
	 "3|30|5|1", NULL},
	{"{{ max 1 2 3 }}|{{ min 1 2 3 }}", "3|1", NULL},
	{"{{ addf 3.5 2 5 }}", "10.5", NULL},
	{"{{ addf 0.1 0.2 }}", "0.3", NULL},
	{"{{ subf 5.5 2 1.5 }}", "2", NULL},
	{"{{ mulf 5.5 2 2.5 }}", "27.5", NULL},
	{"{{ divf 10 2 4 }}", "1.25", NULL},
	{"{{ maxf 1 2.5 3 }}|{{ minf 1 2.5 3 }}", "3|1", NULL},
	{"{{ ceil 123.001 }}|{{ floor 123.9999 }}", "124|123", NULL},
	{"{{ round 123.555555 3 }}", "123.556", NULL},
	{"{{ round 123.88571428571 5 .2 }}", "123.88572", NULL},
	{"{{ \"3\" | int }}|{{ \"3.5\" | float64 }}|{{ int \"abc\" }}", "3|3.5|0",
	 NULL},
	{"{{ .f | float64 | mulf 2 }}", "7", NULL},
	{"{{ 0x1F }} {{ 1e3 }} {{ 1.5 }} {{ -3 }} {{ 'a' }}", "31 1000 1.5 -3 97",
	 NULL},
	{"{{ 1000000.0 }} {{ 0.0001 }} {{ 0.00001 }} {{ 123456.0 }}",
	 "1e+06 0.0001 1e-05 123456", NULL},
	{"{{ bytes \"42MB\" }}", "4.2e+07", NULL},
	{"{{ bytes \"1 KiB\" }}|{{ bytes \"2kb\" }}", "1024|2000", NULL},
	{"{{ duration \"1h30m\" }}|{{ duration_seconds \"300ms\" }}", "5400|0.3",
	 NULL},
	{"{{ duration \"-1.5h\" }}", "-5400", NULL},
	/* regexes */
	{"{{ count \"a|b\" \"abab\" }}", "4", NULL},
	{"{{ count \"o\" \"foo\" }}", "2", NULL},
	{"{{ __line__ | count \"[0-9]\" }}", "4", NULL},
	{"{{ regexReplaceAll \"(a*)bc\" \"aabcxbc\" \"${1}a\" }}", "aaaxa", NULL},
	{"{{ regexReplaceAll \"a(x*)b\" \"-ab-axxb-\" \"${1}W\" }}", "-W-xxW-", NULL},
	{"{{ regexReplaceAll \"a(x*)b\" \"-ab-axxb-\" \"$1W\" }}", "---", NULL},
	{"{{ regexReplaceAll \"a(?P<x>x*)b\" \"-axxb-\" \"<$x>\" }}", "-<xx>-", NULL},
	{"{{ regexReplaceAll \"a*\" \"baaac\" \"X\" }}", "XbXcX", NULL},
	{"{{ regexReplaceAll \"\" \"abc\" \"-\" }}", "-a-b-c-", NULL},
	{"{{ regexReplaceAll \"(a)\" \"a\" \"$$1\" }}", "$1", NULL},
	{"{{ regexReplaceAllLiteral \"(ts=)\" \"ts=1 ts=2\" \"timestamp=\" }}",
	 "timestamp=1 timestamp=2", NULL},
	{"{{ regexReplaceAllLiteral \"a\" \"aa\" \"$1\" }}", "$1$1", NULL},
	{"{{ .msg | regexReplaceAll \"o\" \"0\" }}", "0", NULL},
	/* comparisons and logic */
	{"{{ eq \"a\" \"a\" }} {{ eq .level \"info\" \"warn\" }} {{ ne 1 2 }}",
	 "true true true", NULL},
	{"{{ lt 1 2 }} {{ le \"a\" \"b\" }} {{ gt 2.5 1.5 }} {{ ge 1 1 }}",
	 "true true true true", NULL},
	{"{{ and 1 0 }}|{{ and 1 2 }}|{{ or 0 \"\" }}|{{ or \"\" \"x\" }}",
	 "0|2||x", NULL},
	{"{{ not 0 }} {{ not \"x\" }}", "true false", NULL},
	{"{{ len \"h\xc3\xa9llo\" }}", "6", NULL},
	{"{{ if and (contains \"he\" \"hello\") (contains \"llo\" \"hello\") }}"
	 " yes {{end}}", " yes ", NULL},
	{"{{ if contains .err \"ErrTimeout\" }} timeout {{else if contains \"he\""
	 " \"hello\"}} yes {{else}} no {{end}}", " timeout ", NULL},
	/* if, else if, with, Go's truth */
	{"{{ if .err }}E{{ else if eq .level \"warn\" }}W{{ else }}ok{{ end }}",
	 "W", NULL},
	{"{{ if 0 }}a{{ else }}b{{ end }}", "b", NULL},
	{"{{ if \"0\" }}a{{ end }}", "a", NULL},
	{"{{ if 0.0 }}a{{ else if false }}b{{ else }}c{{ end }}", "c", NULL},
	{"{{ if __timestamp__ }}t{{ end }}", "t", NULL},
	{"{{ with .app }}<{{ . }}>{{ end }}", "<api>", NULL},
	{"{{ with .missing }}x{{ else }}y{{ end }}", "y", NULL},
	{"{{ with .app }}{{ upper . }}{{ else with .level }}z{{ end }}", "API",
	 NULL},
	/* trim markers, comments, literals, parentheses */
	{"a  {{- .app -}}  b", "aapib", NULL},
	{"a {{- /* c */ -}} b", "ab", NULL},
	{"x {{- 3}}", "x3", NULL},
	{"x {{-3}}", "x -3", NULL},
	{"x{{/* hidden */}}y", "xy", NULL},
	{"{{ upper (printf \"%s-%s\" .app (lower \"X\")) }}", "API-X", NULL},
	{"{{ `a\\nb` }}", "a\\nb", NULL},
	{"{{ \"a\\tb\\u00e9\\x41\\101\" }}", "a\tb\xc3\xa9" "AA", NULL},
	/* compile errors, in Go's words */
	{"{{ nope }}", NULL, "template: line:1: function \"nope\" not defined"},
	{"a\n{{ nope .x }}", NULL, "template: line:2: function \"nope\" not defined"},
	{"{{ if .a }}x", NULL, "template: line:1: unexpected EOF"},
	{"{{ end }}", NULL, "template: line:1: unexpected {{end}}"},
	{"{{ else }}", NULL, "template: line:1: unexpected {{else}}"},
	{"{{ .a", NULL, "template: line:1: unclosed action"},
	{"{{ \"abc }}", NULL, "template: line:1: unterminated quoted string"},
	{"{{ `abc }}", NULL, "template: line:1: unterminated raw quoted string"},
	{"{{/* x }}", NULL, "template: line:1: unclosed comment"},
	{"{{/* x */ 1}}", NULL,
	 "template: line:1: comment ends before closing delimiter"},
	{"{{ if }}x{{ end }}", NULL, "template: line:1: missing value for if"},
	{"{{ }}", NULL, "template: line:1: missing value for command"},
	{"{{ ( ) }}", NULL,
	 "template: line:1: missing value for parenthesized pipeline"},
	{"{{ (.a }}", NULL, "template: line:1: unclosed left paren"},
	{"{{ .a) }}", NULL, "template: line:1: unexpected right paren"},
	{"{{ 1x }}", NULL, "template: line:1: bad number syntax: \"1x\""},
	{"{{ .app | \"x\" }}", NULL,
	 "template: line:1: non executable command in pipeline stage 2"},
	{"{{ | .a }}", NULL, "template: line:1: unexpected \"|\" in command"},
	{"{{ \"\\q\" }}", NULL, "template: line:1: invalid syntax"},
	{"{{ if .a }}x{{ else }}y{{ else }}z{{ end }}", NULL,
	 "template: line:1: expected end; found {{else}}"},
	/* runtime errors */
	{"{{ div 1 0 }}", NULL,
	 "template: line:1:3: executing \"line\" at <div 1 0>: error calling div:"
	 " runtime error: integer divide by zero"},
	{"a\n  {{ mod 1 0 }}", NULL,
	 "template: line:2:5: executing \"line\" at <mod 1 0>: error calling mod:"
	 " runtime error: integer divide by zero"},
	{"{{ lower }}", NULL, "wrong number of args for lower: want 1 got 0"},
	{"{{ lower \"a\" \"b\" }}", NULL,
	 "wrong number of args for lower: want 1 got 2"},
	{"{{ upper 5 }}", NULL, "expected string; found 5"},
	{"{{ trunc \"5\" \"hello\" }}", NULL, "expected integer; found \"5\""},
	{"{{ trunc (add 1 2) \"hello\" }}", NULL,
	 "wrong type for value; expected int; got int64"},
	{"{{ .app | unixEpoch }}", NULL,
	 "wrong type for value; expected time.Time; got string"},
	{"{{ add 1 2 | upper }}", NULL,
	 "wrong type for value; expected string; got int64"},
	{"{{ eq 1 \"1\" }}", NULL,
	 "error calling eq: incompatible types for comparison"},
	{"{{ lt true false }}", NULL,
	 "error calling lt: invalid type for comparison"},
	{"{{ eq 1 }}", NULL, "error calling eq: missing argument for comparison"},
	{"{{ repeat -1 \"x\" }}", NULL,
	 "error calling repeat: strings: negative Repeat count"},
	{"{{ .a.b }}", NULL, "can't evaluate field b in type string"},
	{"{{ \"x\" | .app }}", NULL, "app is not a method but has arguments"},
	{"{{ 1 2 }}", NULL, "can't give argument to non-function 1"},
	{"{{ urldecode \"%zz\" }}", NULL,
	 "error calling urldecode: invalid URL escape \"%zz\""},
	{"{{ duration \"x\" }}", NULL,
	 "error calling duration: time: invalid duration \"x\""},
	{"{{ regexReplaceAll \"(\" \"x\" \"y\" }}", NULL,
	 "error calling regexReplaceAll: error parsing regexp: "},
	{"{{ divf 1 0 }}", NULL, "error calling divf: decimal division by 0"},
	{"{{ unixToTime \"123\" }}", NULL,
	 "error calling unixToTime: unable to parse time '123'"},
};

static void
check_case(const struct tcase *c)
{
	struct lt_tmpl_entry e = {lookup, NULL, entry_line, strlen(entry_line),
				  ENTRY_TS};
	struct lt_buf out = LT_BUF_INIT;
	struct lt_tmpl *t;
	char why[512];
	int rc;

	why[0] = 'x';
	t = lt_tmpl_compile(c->tmpl, strlen(c->tmpl), why, sizeof(why));
	if (t == NULL) {
		ck_assert_msg(c->err != NULL, "%s: compile failed: %s", c->tmpl,
			      why);
		ck_assert_msg(strstr(why, c->err) != NULL, "%s: got \"%s\"",
			      c->tmpl, why);
		return;
	}
	rc = lt_tmpl_execute(t, &e, &out, 1 << 16, why, sizeof(why));
	if (c->err != NULL) {
		ck_assert_msg(rc == -1, "%s: no error, output \"%.*s\"", c->tmpl,
			      (int)out.len, out.data != NULL ? (char *)out.data : "");
		ck_assert_msg(strstr(why, c->err) != NULL, "%s: got \"%s\"",
			      c->tmpl, why);
		/* A compile error would have said so sooner. */
		ck_assert_msg(strstr(c->err, "template: line:1: ") != c->err ||
			      strstr(c->err, "executing") != NULL,
			      "%s: expected a compile error", c->tmpl);
	} else {
		ck_assert_msg(rc == 0, "%s: failed: %s", c->tmpl, why);
		ck_assert_msg(out.len == strlen(c->expect) &&
			      (out.len == 0 ||
			       memcmp(out.data, c->expect, out.len) == 0),
			      "%s: got \"%.*s\", want \"%s\"", c->tmpl,
			      (int)out.len, out.data != NULL ? (char *)out.data : "",
			      c->expect);
	}
	lt_buf_free(&out);
	lt_tmpl_free(t);
}

START_TEST(test_cases)
{
	check_case(&cases[_i]);
}
END_TEST

/* Output appends to what out holds; max_out bounds what is added. */
START_TEST(test_max_out)
{
	struct lt_tmpl_entry e = {lookup, NULL, "", 0, 0};
	struct lt_buf out = LT_BUF_INIT;
	struct lt_tmpl *t;
	char why[256];
	const char *tmpl = "ab{{ repeat 100 \"x\" }}";

	ck_assert_int_eq(lt_buf_append(&out, "pre", 3), 0);
	t = lt_tmpl_compile(tmpl, strlen(tmpl), why, sizeof(why));
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(lt_tmpl_execute(t, &e, &out, 50, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "output over 50 bytes"));
	ck_assert_uint_le(out.len, 53);
	ck_assert_mem_eq(out.data, "preab", 5);
	out.len = 3;
	ck_assert_int_eq(lt_tmpl_execute(t, &e, &out, 102, why, sizeof(why)), 0);
	ck_assert_uint_eq(out.len, 105);
	lt_buf_free(&out);
	lt_tmpl_free(t);
}
END_TEST

/* A catastrophic regex meets the match limit: an error, not a hang. */
START_TEST(test_regex_limit)
{
	struct lt_tmpl_entry e = {lookup, NULL, "", 0, 0};
	struct lt_buf out = LT_BUF_INIT;
	struct lt_buf tmpl = LT_BUF_INIT;
	struct lt_tmpl *t;
	char why[256];
	int i;

	ck_assert_int_eq(lt_buf_printf(&tmpl, "{{ regexReplaceAll \"(a+)+$\" \""), 0);
	for (i = 0; i < 64; i++)
		ck_assert_int_eq(lt_buf_append_byte(&tmpl, 'a'), 0);
	ck_assert_int_eq(lt_buf_printf(&tmpl, "b\" \"x\" }}"), 0);
	t = lt_tmpl_compile((char *)tmpl.data, tmpl.len, why, sizeof(why));
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(lt_tmpl_execute(t, &e, &out, 1024, why, sizeof(why)), -1);
	ck_assert_ptr_nonnull(strstr(why, "match limit"));
	lt_tmpl_free(t);
	lt_buf_free(&tmpl);
	lt_buf_free(&out);
}
END_TEST

static void
collect(void *ctx, const char *name, size_t len)
{
	struct lt_buf *b = ctx;

	ck_assert_int_eq(lt_buf_append(b, name, len), 0);
	ck_assert_int_eq(lt_buf_append_byte(b, ','), 0);
}

START_TEST(test_labels)
{
	const char *tmpl = "{{ .a }}{{ if .b }}{{ .c.d }}{{ else }}{{ upper "
			   "(default .e \"x\") }}{{ end }}{{ __line__ }}.f";
	struct lt_buf names = LT_BUF_INIT;
	struct lt_tmpl *t;
	char why[256];

	t = lt_tmpl_compile(tmpl, strlen(tmpl), why, sizeof(why));
	ck_assert_ptr_nonnull(t);
	lt_tmpl_labels(t, collect, &names);
	ck_assert_uint_eq(names.len, 10);
	ck_assert_mem_eq(names.data, "a,b,c,d,e,", 10);
	lt_tmpl_free(t);
	lt_buf_free(&names);
}
END_TEST

/* Bounded compile: too many nodes and too deep nesting are errors. */
START_TEST(test_bounds)
{
	struct lt_buf tmpl = LT_BUF_INIT;
	struct lt_tmpl *t;
	char why[256];
	int i;

	for (i = 0; i < LT_TMPL_MAX_NODES; i++)
		ck_assert_int_eq(lt_buf_printf(&tmpl, "{{.a}}"), 0);
	t = lt_tmpl_compile((char *)tmpl.data, tmpl.len, why, sizeof(why));
	ck_assert_ptr_null(t);
	ck_assert_ptr_nonnull(strstr(why, "nodes"));
	lt_buf_reset(&tmpl);
	ck_assert_int_eq(lt_buf_printf(&tmpl, "{{ "), 0);
	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(lt_buf_append_byte(&tmpl, '('), 0);
	t = lt_tmpl_compile((char *)tmpl.data, tmpl.len, why, sizeof(why));
	ck_assert_ptr_null(t);
	ck_assert_ptr_nonnull(strstr(why, "too deep"));
	lt_buf_free(&tmpl);
}
END_TEST

/* Label values are bytes: a NUL and invalid UTF-8 pass through. */
static const char *
binary_lookup(void *ctx, const char *name, size_t len, size_t *vlen)
{
	(void)ctx;
	(void)name;
	(void)len;
	*vlen = 4;
	return "a\0\xffz";
}

START_TEST(test_binary_values)
{
	struct lt_tmpl_entry e = {binary_lookup, NULL, NULL, 0, 0};
	struct lt_buf out = LT_BUF_INIT;
	struct lt_tmpl *t;
	char why[256];
	const char *tmpl = "{{ .v | upper }}|{{ len .v }}|{{ trunc 3 .v }}|"
			   "{{ printf \"%q\" .v }}|{{ __line__ }}";

	t = lt_tmpl_compile(tmpl, strlen(tmpl), why, sizeof(why));
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(lt_tmpl_execute(t, &e, &out, 1024, why, sizeof(why)), 0);
	ck_assert_uint_eq(out.len, 24);
	ck_assert_mem_eq(out.data, "A\0\xffZ|4|a\0\xff|\"a\\x00\\xffz\"|", 24);
	lt_buf_free(&out);
	lt_tmpl_free(t);
}
END_TEST

static Suite *
template_suite(void)
{
	Suite *s = suite_create("template");
	TCase *tc = tcase_create("core");

	tcase_add_loop_test(tc, test_cases, 0,
			    (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, test_max_out);
	tcase_add_test(tc, test_regex_limit);
	tcase_add_test(tc, test_labels);
	tcase_add_test(tc, test_bounds);
	tcase_add_test(tc, test_binary_values);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(template_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
