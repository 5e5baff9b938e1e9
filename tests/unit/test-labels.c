/* Unit tests: label text parsing and UTF-8 validation. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "labels.h"

#define MAXL 16

/* One parse with a scratch of exactly len bytes from malloc, so that
 * valgrind sees any write past what the header promises is enough. */
struct run {
	int rc;
	size_t n;
	char *scratch;
	struct lt_label l[MAXL];
	char why[256];
};

static void
run_len(struct run *r, const char *text, size_t len, size_t max)
{
	memset(r, 0, sizeof(*r));
	r->scratch = malloc(len > 0 ? len : 1);
	ck_assert_ptr_nonnull(r->scratch);
	r->n = 12345;
	r->rc = lt_labels_parse(text, len, r->scratch, r->l, max, &r->n, r->why,
				sizeof(r->why));
}

static void
run(struct run *r, const char *text)
{
	run_len(r, text, strlen(text), MAXL);
}

static void
done(struct run *r)
{
	free(r->scratch);
	r->scratch = NULL;
}

static void
assert_label(const struct run *r, size_t i, const char *name,
	     const char *value, size_t value_len)
{
	ck_assert_uint_lt(i, r->n);
	ck_assert_uint_eq(r->l[i].name_len, strlen(name));
	ck_assert_mem_eq(r->l[i].name, name, strlen(name));
	ck_assert_uint_eq(r->l[i].value_len, value_len);
	if (value_len > 0)
		ck_assert_mem_eq(r->l[i].value, value, value_len);
}

/* Promtail and Loki's own clients write labels.String(): ", " between
 * pairs, values through strconv.Quote. */
START_TEST(test_promtail)
{
	static const char text[] = "{app=\"api\", level=\"info\"}";
	struct run r;

	run(&r, text);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_str_eq(r.why, "");
	ck_assert_uint_eq(r.n, 2);
	assert_label(&r, 0, "app", "api", 3);
	assert_label(&r, 1, "level", "info", 4);
	/* Names point into the text, values into scratch. */
	ck_assert_ptr_eq(r.l[0].name, text + 1);
	ck_assert_ptr_eq(r.l[1].name, text + 12);
	ck_assert_ptr_eq(r.l[0].value, r.scratch);
	ck_assert_ptr_eq(r.l[1].value, r.scratch + 3);
	done(&r);
}
END_TEST

START_TEST(test_whitespace)
{
	static const char *const texts[] = {
		"{app=\"api\",level=\"info\"}",
		"{app=\"api\", level=\"info\"}",
		" {app=\"api\",level=\"info\"} ",
		"{ app = \"api\" , level = \"info\" }",
		"\t{\tapp\t=\t\"api\"\t,\tlevel\t=\t\"info\"\t}\t",
		"{\n  app=\"api\",\n  level=\"info\"\n}\n",
		"\r\n{\r\napp\r\n=\r\n\"api\"\r\n,\r\nlevel=\"info\"\r\n}\r\n",
		" \t\r\n{app=\"api\",level=\"info\"} \t\r\n",
	};
	struct run r;
	size_t i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		run(&r, texts[i]);
		ck_assert_msg(r.rc == 0, "%zu: %s", i, r.why);
		ck_assert_uint_eq(r.n, 2);
		assert_label(&r, 0, "app", "api", 3);
		assert_label(&r, 1, "level", "info", 4);
		done(&r);
	}
}
END_TEST

START_TEST(test_empty)
{
	static const char *const texts[] = {"{}", " { } ", "\n{\t}\r\n"};
	struct run r;
	size_t i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		run(&r, texts[i]);
		ck_assert_int_eq(r.rc, 0);
		ck_assert_uint_eq(r.n, 0);
		done(&r);
	}
	/* An empty value and names of one byte. */
	run(&r, "{a=\"\",_=\"\",Z9=\"x\"}");
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.n, 3);
	assert_label(&r, 0, "a", "", 0);
	assert_label(&r, 1, "_", "", 0);
	assert_label(&r, 2, "Z9", "x", 1);
	done(&r);
}
END_TEST

/* Values as Go's strconv.Quote writes them (Go 1.21, by hand from
 * strconv/quote.go: appendEscapedRune): '"' and '\\' get a backslash;
 * \a \b \f \n \r \t \v have short forms; other runes below ' ' and DEL
 * become \xHH; a byte that is not UTF-8 becomes \xHH; runes that
 * strconv.IsPrint rejects become \uHHHH below U+10000 and \UHHHHHHHH
 * above; everything printable, non-ASCII included, stays literal.  Hex
 * digits are lower case. */
struct fixture {
	const char *literal; /* between the braces: name=literal */
	const char *value;
	size_t value_len;
	int utf8; /* whether the value is valid UTF-8 */
};

#define FX(lit, val, u) {lit, val, sizeof(val) - 1, u}

static const struct fixture go_quote[] = {
	/* strconv.Quote(`say "hi"`) */
	FX("\"say \\\"hi\\\"\"", "say \"hi\"", 1),
	/* strconv.Quote(`C:\dir\`) */
	FX("\"C:\\\\dir\\\\\"", "C:\\dir\\", 1),
	/* strconv.Quote(`\"`): a backslash then a quote */
	FX("\"\\\\\\\"\"", "\\\"", 1),
	/* strconv.Quote("a\nb\tc") */
	FX("\"a\\nb\\tc\"", "a\nb\tc", 1),
	/* strconv.Quote("\a\b\f\r\v") */
	FX("\"\\a\\b\\f\\r\\v\"", "\a\b\f\r\v", 1),
	/* strconv.Quote("\x00\x01\x1b\x1f\x7f"): \x for the other controls */
	FX("\"\\x00\\x01\\x1b\\x1f\\x7f\"", "\0\001\033\037\177", 1),
	/* strconv.Quote("\xff\xfe"): bytes that are not UTF-8 */
	FX("\"\\xff\\xfe\"", "\xff\xfe", 0),
	/* strconv.Quote("h\u00e9llo w\u00f6rld \u65e5\u672c"): printable, literal */
	FX("\"h\xc3\xa9llo w\xc3\xb6rld \xe6\x97\xa5\xe6\x9c\xac\"",
	   "h\xc3\xa9llo w\xc3\xb6rld \xe6\x97\xa5\xe6\x9c\xac", 1),
	/* strconv.Quote("\u00a0"): no-break space is not IsPrint */
	FX("\"\\u00a0\"", "\xc2\xa0", 1),
	/* strconv.Quote("\u0085"): a C1 control */
	FX("\"\\u0085\"", "\xc2\x85", 1),
	/* strconv.Quote("\u2028"), line separator */
	FX("\"\\u2028\"", "\xe2\x80\xa8", 1),
	/* strconv.Quote("\ufeff"), byte order mark */
	FX("\"\\ufeff\"", "\xef\xbb\xbf", 1),
	/* strconv.Quote("\U0001f600") writes the emoji literally ... */
	FX("\"\xf0\x9f\x98\x80\"", "\xf0\x9f\x98\x80", 1),
	/* ... strconv.QuoteToASCII("\U0001f600") escapes it */
	FX("\"\\U0001f600\"", "\xf0\x9f\x98\x80", 1),
	/* strconv.Quote("\U000e0001"), language tag, not IsPrint */
	FX("\"\\U000e0001\"", "\xf3\xa0\x80\x81", 1),
	/* strconv.QuoteToASCII("\U0010ffff") */
	FX("\"\\U0010ffff\"", "\xf4\x8f\xbf\xbf", 1),
	/* Go reads what it does not write: octal, upper-case hex. */
	FX("\"\\101\\000\\377\"", "A\0\xff", 0),
	FX("\"\\x4A\\u00E9\\U0001F600\"", "J\xc3\xa9\xf0\x9f\x98\x80", 1),
	FX("\"\\u0000\\u0041\\u07ff\\u0800\\uffff\"",
	   "\0A\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf", 1),
	/* Go takes raw tab, CR and other control bytes, just not '\n'. */
	FX("\"a\tb\rc\001d\177\"", "a\tb\rc\001d\177", 1),
	/* A raw byte that is not UTF-8 passes through for the caller to
	 * refuse.  (Go's Unquote would turn it into U+FFFD.) */
	FX("\"\xff\"", "\xff", 0),
	/* Braces, commas, '=' and quotes inside a value are just bytes. */
	FX("\"{a=\\\"b\\\", c}\"", "{a=\"b\", c}", 1),
	FX("\"'`\"", "'`", 1),
};

START_TEST(test_go_quote)
{
	const struct fixture *f = &go_quote[_i];
	char text[256];
	size_t len, lit;
	struct run r;

	/* Between two other labels, so a mistake in the scanner's end
	 * shows up in the next label. */
	lit = strlen(f->literal);
	ck_assert_uint_lt(lit + 32, sizeof(text));
	memcpy(text, "{a=\"1\", v=", 10);
	memcpy(text + 10, f->literal, lit);
	memcpy(text + 10 + lit, ", z=\"2\"}", 8);
	len = 18 + lit;
	run_len(&r, text, len, MAXL);
	ck_assert_msg(r.rc == 0, "fixture %d: %s", _i, r.why);
	ck_assert_uint_eq(r.n, 3);
	assert_label(&r, 0, "a", "1", 1);
	assert_label(&r, 1, "v", f->value, f->value_len);
	assert_label(&r, 2, "z", "2", 1);
	ck_assert_int_eq(lt_utf8_valid(r.l[1].value, r.l[1].value_len),
			 f->utf8);
	done(&r);
}
END_TEST

START_TEST(test_order_preserved)
{
	struct run r;

	run(&r, "{zeta=\"1\", alpha=\"2\", mid=\"3\", alpha=\"4\"}");
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.n, 4);
	/* As written: no sorting, duplicates left for the caller. */
	assert_label(&r, 0, "zeta", "1", 1);
	assert_label(&r, 1, "alpha", "2", 1);
	assert_label(&r, 2, "mid", "3", 1);
	assert_label(&r, 3, "alpha", "4", 1);
	done(&r);
}
END_TEST

/* A stream's labels as Loki reads them: a pair with an empty value is
 * neither stored nor counted, so it does not use up max. */
START_TEST(test_parse_set)
{
	static const char text[] = "{e=\"\", a=\"1\", f=\"\", b=\"2\", g=\"\"}";
	struct lt_label out[2];
	char scratch[sizeof(text)], why[128];
	size_t n = 9, dropped = 9;

	ck_assert_int_eq(lt_labels_parse_set(text, strlen(text), scratch, out, 2,
					     &n, &dropped, why, sizeof(why)), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(dropped, 3);
	ck_assert_mem_eq(out[0].name, "a", 1);
	ck_assert_mem_eq(out[0].value, "1", 1);
	ck_assert_mem_eq(out[1].name, "b", 1);
	ck_assert_mem_eq(out[1].value, "2", 1);

	ck_assert_int_eq(lt_labels_parse_set("{e=\"\"}", 6, scratch, out, 2,
					     &n, &dropped, why, sizeof(why)), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(dropped, 1);
	/* The syntax is checked as before. */
	ck_assert_int_eq(lt_labels_parse_set("{e=\"\",}", 7, scratch, out, 2,
					     &n, &dropped, why, sizeof(why)), -1);
	ck_assert_str_eq(why, "trailing comma before '}' at byte 5");
}
END_TEST

START_TEST(test_max)
{
	static const char text[] = "{a=\"1\",b=\"2\",c=\"3\",d=\"4\",e=\"5\"}";
	struct lt_label out[3], sentinel;
	char scratch[sizeof(text)], why[128];
	size_t n = 0;

	memset(&sentinel, 0xa5, sizeof(sentinel));
	out[2] = sentinel;
	ck_assert_int_eq(lt_labels_parse(text, strlen(text), scratch, out, 2,
					 &n, why, sizeof(why)), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_mem_eq(out[0].name, "a", 1);
	ck_assert_mem_eq(out[1].name, "b", 1);
	ck_assert_mem_eq(out[1].value, "2", 1);
	ck_assert_mem_eq(&out[2], &sentinel, sizeof(sentinel));

	/* max 0 with no array at all: just count. */
	ck_assert_int_eq(lt_labels_parse(text, strlen(text), scratch, NULL, 0,
					 &n, why, sizeof(why)), 0);
	ck_assert_uint_eq(n, 5);

	/* Counting goes on past max, and so does checking. */
	ck_assert_int_eq(lt_labels_parse("{a=\"1\",b=\"2\",c=\"3\\q\"}", 21,
					 scratch, out, 1, &n, why, sizeof(why)),
			 -1);
	ck_assert_str_eq(why, "unknown escape \\q in the value of label \"c\" "
			      "at byte 17");
}
END_TEST

/* Scratch of exactly len bytes is always enough (run_len mallocs just
 * that much): values nearly as long as the text, and escapes that
 * unescape to their most bytes per literal byte. */
START_TEST(test_scratch_sizing)
{
	enum { BIG = 4000 };
	char *text;
	struct run r;
	size_t i, len;

	text = malloc(BIG + 16);
	ck_assert_ptr_nonnull(text);

	/* {a="xxx...x"}: a value of len - 6 bytes. */
	memcpy(text, "{a=\"", 4);
	memset(text + 4, 'x', BIG);
	memcpy(text + 4 + BIG, "\"}", 2);
	len = BIG + 6;
	run_len(&r, text, len, MAXL);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_uint_eq(r.l[0].value_len, BIG);
	ck_assert_ptr_eq(r.l[0].value, r.scratch);
	ck_assert_int_eq(r.l[0].value[BIG - 1], 'x');
	done(&r);

	/* Four-byte characters from ten-byte escapes, and three from six. */
	len = 0;
	memcpy(text, "{a=\"", 4);
	len = 4;
	for (i = 0; i < 200; i++) {
		memcpy(text + len, "\\U0010ffff", 10);
		len += 10;
	}
	memcpy(text + len, "\",b=\"", 5);
	len += 5;
	for (i = 0; i < 300; i++) {
		memcpy(text + len, "\\uffff", 6);
		len += 6;
	}
	memcpy(text + len, "\"}", 2);
	len += 2;
	run_len(&r, text, len, MAXL);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.n, 2);
	ck_assert_uint_eq(r.l[0].value_len, 800);
	ck_assert_uint_eq(r.l[1].value_len, 900);
	ck_assert_ptr_eq(r.l[1].value, r.scratch + 800);
	ck_assert_int_eq(lt_utf8_valid(r.l[0].value, 800), 1);
	ck_assert_int_eq(lt_utf8_valid(r.l[1].value, 900), 1);
	done(&r);

	/* Many tiny labels: scratch used end to end. */
	len = 0;
	text[len++] = '{';
	for (i = 0; len < BIG; i++) {
		memcpy(text + len, "a=\"b\",", 6);
		len += 6;
	}
	text[len - 1] = '}';
	run_len(&r, text, len, 2);
	ck_assert_int_eq(r.rc, 0);
	ck_assert_uint_eq(r.n, i);
	done(&r);
	free(text);
}
END_TEST

struct bad {
	const char *text;
	const char *why;
};

static const struct bad bad[] = {
	/* Not label text at all. */
	{"", "label text must start with '{'"},
	{" \n ", "label text must start with '{'"},
	{"app=\"api\"", "label text must start with '{'"},
	{"[\"app\"]", "label text must start with '{'"},
	/* Opening and names. */
	{"{", "expected a label name or '}' at byte 1"},
	{"{ ,}", "expected a label name or '}' at byte 2"},
	{"{1a=\"x\"}", "expected a label name or '}' at byte 1"},
	{"{\"a\"=\"x\"}", "expected a label name or '}' at byte 1"},
	{"{app x=\"a\"}", "expected '=' after label name \"app\" at byte 5"},
	{"{app", "expected '=' after label name \"app\" at byte 4"},
	{"{app}", "expected '=' after label name \"app\" at byte 4"},
	{"{a-b=\"x\"}", "expected '=' after label name \"a\" at byte 2"},
	{"{a.b=\"x\"}", "expected '=' after label name \"a\" at byte 2"},
	{"{a:\"x\"}", "expected '=' after label name \"a\" at byte 2"},
	/* Matchers other than '='. */
	{"{app!=\"x\"}", "only '=' is allowed between a label name and its "
			 "value, found \"!=\" at byte 4"},
	{"{app =~ \"x\"}", "only '=' is allowed between a label name and its "
			   "value, found \"=~\" at byte 5"},
	{"{app!~\"x\"}", "only '=' is allowed between a label name and its "
			 "value, found \"!~\" at byte 4"},
	{"{app!\"x\"}", "expected '=' after label name \"app\" at byte 4"},
	/* Start of the value. */
	{"{a=x}", "expected '\"' to start the value of label \"a\" at byte 3"},
	{"{a=}", "expected '\"' to start the value of label \"a\" at byte 3"},
	{"{a=", "expected '\"' to start the value of label \"a\" at byte 3"},
	{"{a==\"x\"}", "expected '\"' to start the value of label \"a\" at "
		       "byte 3"},
	{"{app = 'x'}", "value of label \"app\" must be in double quotes, not "
			"single quotes at byte 7"},
	{"{a=`x`}", "value of label \"a\" must be in double quotes, not "
		    "backquotes at byte 3"},
	/* Inside the value. */
	{"{app=\"api", "unterminated value of label \"app\" at byte 9"},
	{"{app=\"api\\\"}", "unterminated value of label \"app\" at byte 12"},
	{"{a=\"x\\", "unterminated value of label \"a\" at byte 6"},
	{"{a=\"x\ny\"}", "raw newline in the value of label \"a\" at byte 5"},
	{"{app=\"hello \\q\"}", "unknown escape \\q in the value of label "
			       "\"app\" at byte 12"},
	{"{a=\"\\'\"}", "unknown escape \\' in the value of label \"a\" at "
		       "byte 4"},
	{"{a=\"\\?\"}", "unknown escape \\? in the value of label \"a\" at "
		       "byte 4"},
	{"{a=\"\\8\"}", "unknown escape \\8 in the value of label \"a\" at "
		       "byte 4"},
	{"{a=\"\\e\"}", "unknown escape \\e in the value of label \"a\" at "
		       "byte 4"},
	{"{a=\"\\\001\"}", "unknown escape: backslash followed by byte 0x01 "
			  "in the value of label \"a\" at byte 4"},
	{"{a=\"\\\nx\"}", "unknown escape: backslash followed by byte 0x0a "
			 "in the value of label \"a\" at byte 4"},
	{"{a=\"\\ x\"}", "unknown escape: backslash followed by byte 0x20 "
			"in the value of label \"a\" at byte 4"},
	{"{a=\"\\12\"}", "invalid octal escape (expected 3 octal digits) in "
			"the value of label \"a\" at byte 4"},
	{"{a=\"\\0\"}", "invalid octal escape (expected 3 octal digits) in "
		       "the value of label \"a\" at byte 4"},
	{"{a=\"\\018\"}", "invalid octal escape (expected 3 octal digits) in "
			 "the value of label \"a\" at byte 4"},
	{"{a=\"\\01", "invalid octal escape (expected 3 octal digits) in "
		     "the value of label \"a\" at byte 4"},
	{"{a=\"\\400\"}", "octal escape \\400 is above \\377 in the value of "
			 "label \"a\" at byte 4"},
	{"{a=\"\\777\"}", "octal escape \\777 is above \\377 in the value of "
			 "label \"a\" at byte 4"},
	{"{a=\"\\x4\"}", "invalid \\x escape (expected 2 hex digits) in the "
			"value of label \"a\" at byte 4"},
	{"{a=\"\\xg0\"}", "invalid \\x escape (expected 2 hex digits) in the "
			 "value of label \"a\" at byte 4"},
	{"{a=\"\\x", "invalid \\x escape (expected 2 hex digits) in the "
		    "value of label \"a\" at byte 4"},
	{"{a=\"\\u12\"}", "invalid \\u escape (expected 4 hex digits) in the "
			 "value of label \"a\" at byte 4"},
	{"{a=\"\\u+123\"}", "invalid \\u escape (expected 4 hex digits) in "
			   "the value of label \"a\" at byte 4"},
	{"{a=\"\\U0001f60\"}", "invalid \\U escape (expected 8 hex digits) "
			      "in the value of label \"a\" at byte 4"},
	{"{a=\"\\ud800\"}", "escape \\ud800 is a surrogate, not a character "
			   "in the value of label \"a\" at byte 4"},
	{"{a=\"ok\\uDFFF\"}", "escape \\uDFFF is a surrogate, not a character"
			     " in the value of label \"a\" at byte 6"},
	{"{a=\"\\U0000d800\"}", "escape \\U0000d800 is a surrogate, not a "
			       "character in the value of label \"a\" at "
			       "byte 4"},
	{"{a=\"\\U00110000\"}", "escape \\U00110000 is above U+10FFFF in the "
			       "value of label \"a\" at byte 4"},
	{"{a=\"\\Uffffffff\"}", "escape \\Uffffffff is above U+10FFFF in the "
			       "value of label \"a\" at byte 4"},
	/* Between pairs. */
	{"{app=\"api\",level=\"x\",}", "trailing comma before '}' at byte 20"},
	{"{a=\"x\" , }", "trailing comma before '}' at byte 7"},
	{"{a=\"x\",,b=\"y\"}", "expected a label name after ',' at byte 7"},
	{"{a=\"x\",", "expected a label name after ',' at byte 7"},
	{"{a=\"x\"", "expected ',' or '}' after the value of label \"a\" at "
		     "byte 6"},
	{"{a=\"x\" b=\"y\"}", "expected ',' or '}' after the value of label "
			      "\"a\" at byte 7"},
	{"{a=\"x\";b=\"y\"}", "expected ',' or '}' after the value of label "
			      "\"a\" at byte 6"},
	/* After the end. */
	{"{app=\"api\", level=\"info\"}     x", "unexpected bytes after '}' at "
					     "byte 30"},
	{"{a=\"x\"}}", "unexpected bytes after '}' at byte 7"},
	{"{}{}", "unexpected bytes after '}' at byte 2"},
	{"{a=\"x\"},{b=\"y\"}", "unexpected bytes after '}' at byte 7"},
};

START_TEST(test_errors)
{
	const struct bad *b = &bad[_i];
	struct run r;

	run(&r, b->text);
	ck_assert_msg(r.rc == -1, "%s parsed", b->text);
	ck_assert_str_eq(r.why, b->why);
	ck_assert_ptr_null(strchr(r.why, '\n'));
	done(&r);
}
END_TEST

/* A NUL byte is a byte like any other: the text has a length. */
START_TEST(test_nul_bytes)
{
	static const char ok[] = "{a=\"x\0y\"}";
	static const char bad_name[] = "{a\0=\"x\"}";
	struct run r;

	run_len(&r, ok, sizeof(ok) - 1, MAXL);
	ck_assert_int_eq(r.rc, 0);
	assert_label(&r, 0, "a", "x\0y", 3);
	done(&r);
	run_len(&r, bad_name, sizeof(bad_name) - 1, MAXL);
	ck_assert_int_eq(r.rc, -1);
	ck_assert_str_eq(r.why, "expected '=' after label name \"a\" at byte 2");
	done(&r);
	/* The length is honoured: nothing is read past it. */
	run_len(&r, "{a=\"x\"}garbage", 7, MAXL);
	ck_assert_int_eq(r.rc, 0);
	done(&r);
}
END_TEST

START_TEST(test_messages)
{
	char text[256], why[24], scratch[256], want[256];
	struct lt_label l[1];
	size_t n = 7, len;
	struct run r;

	/* A long name is cut short in the message. */
	memset(text, 0, sizeof(text));
	text[0] = '{';
	memset(text + 1, 'n', 100);
	memcpy(text + 101, "!=\"x\"}", 6);
	run(&r, text);
	ck_assert_str_eq(r.why, "only '=' is allowed between a label name and "
				"its value, found \"!=\" at byte 101");
	done(&r);
	memcpy(text + 101, "=\"\\q\"}", 6);
	run(&r, text);
	memcpy(want, "unknown escape \\q in the value of label \"", 41);
	memset(want + 41, 'n', 64);
	memcpy(want + 105, "...\" at byte 103", 17);
	ck_assert_str_eq(r.why, want);
	done(&r);

	/* A short buffer gets a truncated, terminated message; none at all
	 * is fine too. */
	len = strlen("{a=\"\\q\"}");
	ck_assert_int_eq(lt_labels_parse("{a=\"\\q\"}", len, scratch, l, 1, &n,
					 why, sizeof(why)), -1);
	ck_assert_str_eq(why, "unknown escape \\q in th");
	ck_assert_int_eq(lt_labels_parse("{a=\"\\q\"}", len, scratch, l, 1, &n,
					 NULL, 0), -1);
	ck_assert_int_eq(lt_labels_parse("x", 1, scratch, l, 1, &n, why, 0),
			 -1);
	ck_assert_int_eq(lt_labels_parse("{} x", 4, scratch, l, 1, &n, why, 1),
			 -1);
	ck_assert_str_eq(why, "");
}
END_TEST

struct utf8_case {
	const char *s;
	size_t len;
	int valid;
	const char *what;
};

#define U(s, v, what) {s, sizeof(s) - 1, v, what}

static const struct utf8_case utf8_cases[] = {
	U("", 1, "empty"),
	U("\0", 1, "U+0000"),
	U("\x7f", 1, "U+007F"),
	U("\xc2\x80", 1, "U+0080"),
	U("\xdf\xbf", 1, "U+07FF"),
	U("\xe0\xa0\x80", 1, "U+0800"),
	U("\xed\x9f\xbf", 1, "U+D7FF"),
	U("\xee\x80\x80", 1, "U+E000"),
	U("\xef\xbf\xbd", 1, "U+FFFD"),
	U("\xef\xbf\xbf", 1, "U+FFFF"),
	U("\xf0\x90\x80\x80", 1, "U+10000"),
	U("\xf4\x8f\xbf\xbf", 1, "U+10FFFF"),
	U("\xf0\x9f\x98\x80", 1, "U+1F600"),
	U("a\xc3\xa9z\xe6\x97\xa5\xf0\x9f\x98\x80!", 1, "mixed"),
	U("\xf4\x90\x80\x80", 0, "U+110000"),
	U("\xf7\xbf\xbf\xbf", 0, "U+1FFFFF"),
	/* Overlong forms. */
	U("\xc0\x80", 0, "overlong U+0000 in 2"),
	U("\xc0\xaf", 0, "overlong '/' in 2"),
	U("\xc1\xbf", 0, "overlong U+007F in 2"),
	U("\xe0\x80\x80", 0, "overlong U+0000 in 3"),
	U("\xe0\x80\xaf", 0, "overlong '/' in 3"),
	U("\xe0\x9f\xbf", 0, "overlong U+07FF in 3"),
	U("\xf0\x80\x80\x80", 0, "overlong U+0000 in 4"),
	U("\xf0\x80\x80\xaf", 0, "overlong '/' in 4"),
	U("\xf0\x8f\xbf\xbf", 0, "overlong U+FFFF in 4"),
	U("\xf8\x88\x80\x80\x80", 0, "5-byte form"),
	U("\xfc\x84\x80\x80\x80\x80", 0, "6-byte form"),
	/* Surrogates, alone and paired (CESU-8). */
	U("\xed\xa0\x80", 0, "U+D800"),
	U("\xed\xad\xbf", 0, "U+DB7F"),
	U("\xed\xb0\x80", 0, "U+DC00"),
	U("\xed\xbf\xbf", 0, "U+DFFF"),
	U("\xed\xa0\x80\xed\xb0\x80", 0, "U+D800 U+DC00"),
	/* Lead bytes that never start a sequence. */
	U("\xc0", 0, "C0"),
	U("\xc1", 0, "C1"),
	U("\xf5\x80\x80\x80", 0, "F5"),
	U("\xf6\x80\x80\x80", 0, "F6"),
	U("\xf7\x80\x80\x80", 0, "F7"),
	U("\xf8", 0, "F8"),
	U("\xfb", 0, "FB"),
	U("\xfc", 0, "FC"),
	U("\xfe", 0, "FE"),
	U("\xff", 0, "FF"),
	U("\xfe\xfe\xff\xff", 0, "FE FE FF FF"),
	/* Stray continuation bytes. */
	U("\x80", 0, "80"),
	U("\xbf", 0, "BF"),
	U("a\x80", 0, "a 80"),
	U("\xc3\xa9\xa9", 0, "extra continuation"),
	U("\x80\xbf\x80\xbf", 0, "continuations only"),
	/* Truncated sequences, at the end and before another byte. */
	U("\xc3", 0, "2-byte lead at end"),
	U("\xe6\x97", 0, "3-byte, 2 of 3 at end"),
	U("\xe6", 0, "3-byte lead at end"),
	U("\xf0\x9f\x98", 0, "4-byte, 3 of 4 at end"),
	U("\xf0\x9f", 0, "4-byte, 2 of 4 at end"),
	U("\xf0", 0, "4-byte lead at end"),
	U("\xc3 ", 0, "2-byte lead then space"),
	U("\xe6\x97 ", 0, "3-byte cut then space"),
	U("\xf0\x9f\x98 ", 0, "4-byte cut then space"),
	U("\xe6\x97\xc3\xa9", 0, "3-byte cut by a new lead"),
	U("\xf0\x9f\x98\xf0\x9f\x98\x80", 0, "4-byte cut by a new lead"),
	U("\xc3\x28", 0, "bad continuation in 2"),
	U("\xe2\x28\xa1", 0, "bad second in 3"),
	U("\xe2\x82\x28", 0, "bad third in 3"),
	U("\xf0\x28\x8c\xbc", 0, "bad second in 4"),
	U("\xf0\x90\x28\xbc", 0, "bad third in 4"),
	U("\xf0\x90\x8c\x28", 0, "bad fourth in 4"),
};

START_TEST(test_utf8_table)
{
	const struct utf8_case *c = &utf8_cases[_i];
	char buf[64];
	size_t k;

	ck_assert_msg(lt_utf8_valid(c->s, c->len) == c->valid, "%s", c->what);
	/* The same after ASCII runs of every length around the 8-byte
	 * fast path, and followed by ASCII (which must not mend a
	 * truncated sequence). */
	for (k = 0; k < 20; k++) {
		memset(buf, 'a', k);
		memcpy(buf + k, c->s, c->len);
		ck_assert_msg(lt_utf8_valid(buf, k + c->len) == c->valid,
			      "%s after %zu ASCII bytes", c->what, k);
		memset(buf + k + c->len, 'z', 9);
		ck_assert_msg(lt_utf8_valid(buf, k + c->len + 9) == c->valid,
			      "%s between ASCII runs", c->what);
	}
}
END_TEST

/* The fast path must look at every byte: one bad byte at every
 * position of a long ASCII line. */
START_TEST(test_utf8_fast_path)
{
	enum { L = 70 };
	char buf[L];
	size_t i;

	memset(buf, 'x', L);
	ck_assert_int_eq(lt_utf8_valid(buf, L), 1);
	ck_assert_int_eq(lt_utf8_valid(NULL, 0), 1);
	for (i = 0; i < L; i++) {
		buf[i] = (char)0x80;
		ck_assert_msg(lt_utf8_valid(buf, L) == 0, "80 at %zu", i);
		buf[i] = (char)0xff;
		ck_assert_msg(lt_utf8_valid(buf, L) == 0, "ff at %zu", i);
		/* Only a lead byte as the last byte: truncated. */
		buf[i] = (char)0xc3;
		ck_assert_msg(lt_utf8_valid(buf, i + 1) == 0, "c3 at end %zu",
			      i);
		buf[i] = 'x';
		/* The length bounds the check: a bad byte past it is not
		 * read. */
		buf[i] = (char)0xff;
		ck_assert_int_eq(lt_utf8_valid(buf, i), 1);
		buf[i] = 'x';
	}
	/* A valid sequence straddling each 8-byte boundary. */
	for (i = 0; i + 4 <= L; i++) {
		memcpy(buf + i, "\xf0\x9f\x98\x80", 4);
		ck_assert_msg(lt_utf8_valid(buf, L) == 1, "emoji at %zu", i);
		memset(buf + i, 'x', 4);
	}
}
END_TEST

static Suite *
labels_suite(void)
{
	Suite *s = suite_create("labels");
	TCase *tc = tcase_create("parse");
	TCase *tu = tcase_create("utf8");

	tcase_add_test(tc, test_promtail);
	tcase_add_test(tc, test_whitespace);
	tcase_add_test(tc, test_empty);
	tcase_add_loop_test(tc, test_go_quote, 0,
			    (int)(sizeof(go_quote) / sizeof(go_quote[0])));
	tcase_add_test(tc, test_order_preserved);
	tcase_add_test(tc, test_max);
	tcase_add_test(tc, test_parse_set);
	tcase_add_test(tc, test_scratch_sizing);
	tcase_add_loop_test(tc, test_errors, 0,
			    (int)(sizeof(bad) / sizeof(bad[0])));
	tcase_add_test(tc, test_nul_bytes);
	tcase_add_test(tc, test_messages);
	suite_add_tcase(s, tc);
	tcase_add_loop_test(tu, test_utf8_table, 0,
			    (int)(sizeof(utf8_cases) / sizeof(utf8_cases[0])));
	tcase_add_test(tu, test_utf8_fast_path);
	suite_add_tcase(s, tu);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(labels_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
