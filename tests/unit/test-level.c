/* Unit tests: detected_level, with Loki's own cases and some by hand. */
#include "config.h"

#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "level.h"

/* Cases from Loki's pkg/distributor/field_detection_test.go
 * (Test_detectLogLevelFromLogEntry, Test_detectLevelFromLogLine,
 * TestGetLevelUsingJsonParser, Test_DetectLogLevels), with the answers
 * its tests assert, and more worked out by hand from Loki's code (the
 * comments say how). */

struct line_case {
	const char *line;
	const char *level;
};

static void
check_line(const char *line, const char *want)
{
	const char *got = lt_level_of_line(line, strlen(line));

	ck_assert_msg(strcmp(got, want) == 0, "line \"%s\": got %s, want %s",
		      line, got, want);
}

/* Test_detectLogLevelFromLogEntry, the entries without metadata. */
static const struct line_case loki_entries[] = {
	{"foo", "unknown"},
	{"this is a warning log", "warn"},
	{"this is a debug message", "debug"},
	{"this is a DEBUG message", "debug"},
	{"debug: something happened", "debug"},
	{"DEBUG: something happened", "debug"},
	{"this is a critical message", "critical"},
	{"this is a CRITICAL message", "critical"},
	{"critical: something happened", "critical"},
	{"CRITICAL: something happened", "critical"},
	{"[debug] this is a debug message", "debug"},
	{"[DEBUG] this is a debug message", "debug"},
	{"[critical] this is a critical message", "critical"},
	{"[CRITICAL] this is a critical message", "critical"},
	{"[info] this is an info message", "info"},
	{"[INFO] this is an info message", "info"},
	{"[warn] this is a warning message", "warn"},
	{"[WARNING] this is a warning message", "warn"},
	{"[error] this is an error message", "error"},
	{"[ERROR] this is an error message", "error"},
	{"[err] this is an error message", "error"},
	{"[ERR] this is an error message", "error"},
	{"{\"foo\":\"bar\",\"msg\":\"message with keyword error but it should "
	 "not get picked up\",\"level\":\"critical\"}", "critical"},
	{"{\"FOO\":\"bar\",\"MSG\":\"message with keyword error but it should "
	 "not get picked up\",\"LEVEL\":\"Critical\"}", "critical"},
	{"{\"foo\":\"bar\",\"msg\":\"message with keyword warn but it should "
	 "not get picked up\",\"level\":\"warn\"}", "warn"},
	{"{\"foo\":\"bar\",\"msg\":\"message with keyword warn but it should "
	 "not get picked up\",\"SEVERITY\":\"FATAL\"}", "fatal"},
	{"{\"foo\":\"bar\",\"msg\":\"message with keyword warn but it should "
	 "not get picked up\",\"level\":\"ERR\"}", "error"},
	{"{\"foo\":\"bar\",\"msg\":\"message with keyword INFO get picked up\"}",
	 "info"},
	{"foo=bar msg=\"message with info and not level should get picked up\"",
	 "info"},
	{"foo=bar msg=\"message with keyword error but it should not get "
	 "picked up\" level=warn", "warn"},
	{"foo=bar msg=\"message with keyword error but it should not get "
	 "picked up\" level=Warn", "warn"},
	{"foo=bar msg=\"message with keyword error but it should not get "
	 "picked up\" level=Trace", "trace"},
	{"foo=bar msg=\"message with keyword but it should not get picked "
	 "up\" level=NA", "unknown"},
	{"foo=bar msg=\"message with keyword but it should not get picked "
	 "up\" severity=critical", "critical"},
	{"Foo=bar MSG=\"Message with keyword but it should not get picked "
	 "up\" Severity=critical", "critical"},
	{"foo=bar msg=\"message with keyword error but it should not get "
	 "picked up\" level=inFO", "info"},
	{"FOO=bar MSG=\"message with keyword error but it should not get "
	 "picked up\" LEVEL=inFO", "info"},
	{"FOO=bar MSG=\"message that should qualify to unknown when there is "
	 "no level defined\" LEVEL=Inf", "info"},
	{"FOO=bar MSG=\"message that should qualify to unknown when there is "
	 "no level defined\" LEVEL=Information", "info"},
};

START_TEST(test_loki_entries)
{
	check_line(loki_entries[_i].line, loki_entries[_i].level);
}
END_TEST

/* Test_detectLevelFromLogLine: each word in thirteen settings. */
static const struct line_case loki_words[] = {
	{"trace", "trace"}, {"debug", "debug"}, {"info", "info"},
	{"warn", "warn"}, {"warning", "warn"}, {"error", "error"},
	{"err", "error"}, {"fatal", "fatal"}, {"critical", "critical"},
	{"unknown", "unknown"},
};

static const char *const word_settings[] = {
	"this is a %s message", "%s occurred", "an %s",
	"this is an %s message", "%s: something happened",
	"%s, something happened", "%s! something happened",
	"(%s) something happened", "[%s] something happened",
	"2024-01-01T10:00:00Z %s: connection failed",
	"[%s] connection failed",
};

/* The setting with its "%s" replaced by word. */
static void
fill(char *out, size_t size, const char *setting, const char *word)
{
	const char *at = strstr(setting, "%s");

	ck_assert_ptr_nonnull(at);
	(void)snprintf(out, size, "%.*s%s%s", (int)(at - setting), setting,
		       word, at + 2);
}

static void
check_words(const char *line, const char *want)
{
	const char *got = lt_level_of_words(line, strlen(line));

	ck_assert_msg(strcmp(got, want) == 0, "words \"%s\": got %s, want %s",
		      line, got, want);
}

START_TEST(test_loki_words)
{
	char upper[16], line[96];
	size_t i, n = strlen(loki_words[_i].line);

	ck_assert_uint_lt(n, sizeof(upper));
	for (i = 0; i <= n; i++)
		upper[i] = (char)toupper((unsigned char)loki_words[_i].line[i]);
	for (i = 0; i < sizeof(word_settings) / sizeof(word_settings[0]); i++) {
		fill(line, sizeof(line), word_settings[i], loki_words[_i].line);
		check_words(line, loki_words[_i].level);
	}
	(void)snprintf(line, sizeof(line), "this is a %s message", upper);
	check_words(line, loki_words[_i].level);
	(void)snprintf(line, sizeof(line), "[%s] connection failed", upper);
	check_words(line, loki_words[_i].level);
}
END_TEST

/* Test_detectLevelFromLogLine's additional cases. */
static const struct line_case loki_words_more[] = {
	{"this is a terror attack", "unknown"},
	{"there were multiple errors", "unknown"},
	{"error123 occurred", "unknown"},
	{"123error occurred", "unknown"},
	{"errorCode is invalid", "unknown"},
	{"myError occurred", "unknown"},
	{"debugging the issue", "unknown"},
	{"debugger attached", "unknown"},
	{"information is available", "unknown"},
	{"informative message", "unknown"},
	{"warnings issued", "unknown"},
	{"criticality assessment", "unknown"},
	{"fatalism philosophy", "unknown"},
	{"tracer bullet", "unknown"},
	{"traced the issue", "unknown"},
	{"", "unknown"},
	{"this is a regular log message", "unknown"},
	{"{\"message\": \"error occurred\"}", "error"},
	{"{\"error\": \"something\"}", "error"},
	{"{\"errorCode\": 123}", "unknown"},
	{"msg=\"error occurred\"", "error"},
	{"errorCode=123", "unknown"},
	{"error=something", "error"},
	{"level=error", "error"},
	{"[terror] attack occurred", "unknown"},
	{"[errors] occurred", "unknown"},
	{"[errorCode] is invalid", "unknown"},
	{"[debugging] the issue", "unknown"},
	{"[information] is available", "unknown"},
	{"{\"message\": \"[error] occurred\"}", "error"},
	{"msg=\"[error] occurred\"", "error"},
	{"error_code is 500", "unknown"},
	{"log_error function called", "unknown"},
	{"trace_id is abc123", "unknown"},
	{"stack_trace printed", "unknown"},
	{"some_error_code is invalid", "unknown"},
};

START_TEST(test_loki_words_more)
{
	check_words(loki_words_more[_i].line, loki_words_more[_i].level);
	/* The whole line gives the same: none holds a level field. */
	check_line(loki_words_more[_i].line, loki_words_more[_i].level);
}
END_TEST

/* Worked out by hand from Loki's code. */
static const struct line_case by_hand[] = {
	/* Only the first occurrence of a word is judged (strings.Index):
	 * "error" and "err" first come inside "terror". */
	{"terror then error", "unknown"},
	/* Words are tried in order, wherever they are: debug before info. */
	{"info: the debug flag is on", "debug"},
	/* Go lowers U+0130 to "i". */
	{"\xc4\xb0NFO started", "info"},
	/* Boundaries are single bytes of the lowered line read as Latin-1:
	 * é ends in 0xa9 (©, not a letter), º in 0xba (a letter), Ê lowers
	 * to ê, which ends in 0xaa (ª, a letter); after a word, any lead
	 * byte but 0xd7 (Hebrew) reads as a letter. */
	{"\xc3\xa9" "error", "error"},
	{"\xc2\xba" "error", "unknown"},
	{"\xc3\x8a" "error", "unknown"},
	{"error\xc3\xa9", "unknown"},
	{"error\xd7\x90", "error"},
	/* A byte that is not UTF-8 becomes U+FFFD (EF BF BD). */
	{"\xff" "info", "info"},
	{"info\xff", "unknown"},
	/* JSON: the first string member of a level field, in document order,
	 * two levels of objects deep. */
	{"{\"severity\": \"error\", \"level\": \"info\"}", "error"},
	{"{\"a\": {\"level\": \"error\"}, \"b\": {\"level\": \"info\"}}", "error"},
	{"{\"arr\": [{\"level\": \"debug\"}], \"level\": \"info\"}", "info"},
	{"{\"level\": 123, \"severity\": \"warn\"}", "warn"},
	{"{\"log\":{\"level\":\"wrn\"}}", "warn"},
	{"{\"a\":{\"b\":{\"level\":\"information\"}}}", "unknown"},
	{"{\"level\": {\"lvl\": \"trc\"}}", "trace"},
	{"{\"log.level\": \"dbg\"}", "debug"},
	{"{\"SeverityText\": \"dbg\"}", "debug"},
	{"{\"severity_text\": \"dbg\"}", "debug"},
	/* Keys are matched exactly, after unescaping. */
	{"{\"lEvEl\":\"information\"}", "unknown"},
	{"{\"lev\\u0065l\": \"dbg\"}", "debug"},
	/* Values are not unescaped. */
	{"{\"level\": \"d\\u0062g\"}", "unknown"},
	/* A malformed member ends the walk; a bad escape in a key too. */
	{"{\"a\" 1, \"level\": \"wrn\"}", "unknown"},
	{"{\"a\": 1, \"level\": \"wrn\"}", "warn"},
	{"{\"a\\x\": 1, \"level\": \"wrn\"}", "unknown"},
	{"{\"a\": tru, \"level\": \"wrn\"}", "unknown"},
	/* isJSON skips \v, jsonparser does not. */
	{"\v{\"level\":\"dbg\"}", "unknown"},
	{" {\"level\":\"dbg\"} ", "debug"},
	/* logfmt: the earliest of the field names, compared without case. */
	{"level=\"dbg\"", "debug"},
	{"level=\"d\\u0062g\"", "debug"},
	{"lvl=dbg level=wrn", "warn"},
	{"level=wrn lvl=dbg", "warn"},
	{"severity=dbg lvl=wrn", "debug"},
	{"Level=dbg", "debug"},
	{"LvL=dbg", "debug"},
	{"\xc5\xbf" "everity=wrn", "warn"},
	/* The decoder stops at a value holding '=' or a key holding '"'. */
	{"msg=a=b level=wrn", "unknown"},
	{"\"k\"=x level=wrn", "unknown"},
	/* A level key with no value wins, and gives nothing. */
	{"level= lvl=dbg", "unknown"},
	{"lvl=dbg level", "unknown"},
	{"lvl=dbg level=", "unknown"},
	/* An invalid escape in a quoted value ends the decoding. */
	{"lvl=wrn msg=\"\\x\" level=dbg", "warn"},
	/* '=' after keys that name no level field: the words decide. */
	{"GET /orders?user=12 HTTP/1.1 204 rt=0.2 error", "error"},
	{"levels=dbg lvls=dbg severityx=dbg text=dbg warn", "warn"},
	{"x=1 y=2 z=3 Severity_Text=dbg and then a long tail of words", "debug"},
	{"SEVERITYTEXT=wrn", "warn"},
	{"log.LEVEL=CRITICAL", "critical"},
	/* Lines longer than one 16-byte step, a word at every place near
	 * the end, and a third letter from outside ASCII (U+0130 lowers to
	 * the i of "critical"). */
	{"0123456789abcdef0123456789 the user orders it: Error", "error"},
	{"0123456789abcdef0123456789 the user orders it:Err", "error"},
	{"0123456789abcdef0123456789 the user orders it: err!", "error"},
	{"0123456789abcdef0123456789abcdef CR\xc4\xb0TICAL", "critical"},
	{"0123456789abcdef0123456789abcdef wINFo x", "unknown"},
	{"0123456789abcdef0123456789abcdef0123 InFo", "info"},
};

START_TEST(test_by_hand)
{
	check_line(by_hand[_i].line, by_hand[_i].level);
}
END_TEST

START_TEST(test_normalize)
{
	static const struct line_case cases[] = {
		{"WaRn", "warn"}, {"InFo", "info"}, {"CRITICAL", "critical"},
		{"Debug", "debug"}, {"FaTaL", "fatal"}, {"tRaCe", "trace"},
		{"ERROR", "error"}, {"Wrn", "warn"}, {"WARNING", "warn"},
		{"dbg", "debug"}, {"Information", "info"}, {"err", "error"},
		{"banana", "banana"}, {"notice", "notice"},
	};
	const char *got;
	size_t i, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		got = lt_level_normalize(cases[i].line, strlen(cases[i].line),
					 &len);
		ck_assert_uint_eq(len, strlen(cases[i].level));
		ck_assert_msg(memcmp(got, cases[i].level, len) == 0,
			      "%s: got %.*s", cases[i].line, (int)len, got);
	}
}
END_TEST

#define L(n, v) {n, sizeof(n) - 1, v, sizeof(v) - 1}

static void
check_detect(const struct lt_label *labels, size_t nl,
	     const struct lt_label *md, size_t nm, const char *line,
	     const char *want)
{
	const char *got;
	size_t len = 0;

	got = lt_level_detect(labels, nl, md, nm, line, strlen(line), &len);
	ck_assert_ptr_nonnull(got);
	ck_assert_msg(len == strlen(want) && memcmp(got, want, len) == 0,
		      "got %.*s, want %s", (int)len, got, want);
}

/* Test_DetectLogLevels: where the level comes from. */
START_TEST(test_sources)
{
	const struct lt_label foo = L("foo", "bar");
	const struct lt_label debug[] = {L("foo", "bar"), L("level", "debug")};
	const struct lt_label upper[] = {L("foo", "bar"), L("level", "ERROR")};
	const struct lt_label otel[] = {L("SeverityText", "debug"),
					L("foo", "bar")};
	const struct lt_label warn_md = L("severity", "warn");
	const struct lt_label all_md[] = {L("severity", "critical"),
					  L("severity_number", "13")};
	const struct lt_label num_md = L("severity_number", "13");
	const struct lt_label text_md = L("severity_text", "info");
	const char *json_error = "{\"msg\":\"this is a test message\", "
				 "\"level\":\"error\"}";

	check_detect(&foo, 1, NULL, 0, "foo", "unknown");
	check_detect(debug, 2, NULL, 0, "log message without level", "debug");
	check_detect(upper, 2, NULL, 0, "log message without level", "error");
	check_detect(&foo, 1, &warn_md, 1, "test log", "warn");
	/* Stream label first, then metadata, then the severity number,
	 * then the line. */
	check_detect(debug, 2, all_md, 2, json_error, "debug");
	check_detect(&foo, 1, all_md, 2, json_error, "critical");
	check_detect(&foo, 1, &num_md, 1, json_error, "warn");
	check_detect(&foo, 1, NULL, 0, json_error, "error");
	check_detect(otel, 2, &num_md, 1, json_error, "debug");
	check_detect(otel, 2, &text_md, 1, json_error, "debug");
	check_detect(&foo, 1, &text_md, 1, json_error, "info");
}
END_TEST

/* Worked out by hand: the order of the names, empty values, the
 * severity number's bands and Go's Atoi. */
START_TEST(test_sources_by_hand)
{
	const struct lt_label two[] = {L("LEVEL", "info"), L("level", "warn")};
	const struct lt_label lvl[] = {L("lvl", "debug"), L("severity", "info")};
	const struct lt_label mixed = L("LeVeL", "warning");
	const struct lt_label banana = L("level", "banana");
	const struct lt_label empty = L("level", "");
	const struct lt_label foo = L("foo", "bar");
	static const struct line_case numbers[] = {
		{"1", "trace"}, {"4", "trace"}, {"5", "debug"}, {"8", "debug"},
		{"9", "info"}, {"12", "info"}, {"13", "warn"}, {"16", "warn"},
		{"17", "error"}, {"20", "error"}, {"21", "fatal"},
		{"+24", "fatal"}, {"25", "unknown"}, {"0", "unknown"},
		{"-3", "trace"}, {"007", "debug"}, {"foo", "info"},
		{"1.5", "info"}, {"9223372036854775807", "unknown"},
		{"9223372036854775808", "info"}, {"-", "info"}, {" 9", "info"},
	};
	struct lt_label num = L("severity_number", "");
	size_t i;

	check_detect(two, 2, NULL, 0, "x", "warn");
	check_detect(lvl, 2, NULL, 0, "x", "info");
	check_detect(&mixed, 1, NULL, 0, "x", "unknown");
	check_detect(&banana, 1, NULL, 0, "level=error", "banana");
	check_detect(&foo, 1, &empty, 1, "level=error msg=x", "error");
	check_detect(&foo, 1, &num, 1, "dbg: level=wrn", "warn");
	for (i = 0; i < sizeof(numbers) / sizeof(numbers[0]); i++) {
		num.value = numbers[i].line;
		num.value_len = strlen(numbers[i].line);
		check_detect(&foo, 1, &num, 1, "level=error", numbers[i].level);
	}
}
END_TEST

/* Loki's search, word after word, for ASCII lines: Go's strings.Index
 * of each word in the lowered line, then isWordBoundary around that
 * first occurrence.  lt_level_of_words walks the line once for all the
 * words; both must agree. */
static const char *const words_in_order[][2] = {
	{"trace", "trace"}, {"debug", "debug"}, {"fatal", "fatal"},
	{"critical", "critical"}, {"error", "error"}, {"err", "error"},
	{"warning", "warn"}, {"warn", "warn"}, {"info", "info"},
};

static int
ascii_boundary(int c)
{
	return !(isalnum(c) || c == '_');
}

static const char *
words_one_by_one(const char *line)
{
	char lower[128];
	const char *at;
	size_t i, n;

	for (i = 0; line[i] != '\0' && i + 1 < sizeof(lower); i++)
		lower[i] = (char)tolower((unsigned char)line[i]);
	lower[i] = '\0';
	for (i = 0; i < sizeof(words_in_order) / sizeof(words_in_order[0]); i++) {
		at = strstr(lower, words_in_order[i][0]);
		if (at == NULL)
			continue;
		n = strlen(words_in_order[i][0]);
		if ((at == lower || ascii_boundary((unsigned char)at[-1])) &&
		    ascii_boundary((unsigned char)at[n]))
			return words_in_order[i][1];
	}
	return "unknown";
}

/* Lines made of pieces of level words, whole words in both cases,
 * and what stands around them. */
START_TEST(test_words_one_pass)
{
	static const char *const pieces[] = {
		"trace", "debug", "fatal", "critical", "error", "err",
		"warning", "warn", "info", "TRACE", "Err", "WARN", "iNfO",
		"er", "ro", "in", "fo", "wa", "rn", "de", "bug", "t", "_",
		" ", "-", "1", "x", "=",
	};
	const size_t n_pieces = sizeof(pieces) / sizeof(pieces[0]);
	char line[128];
	size_t len, k;
	int i, parts, p;

	srandom(20);
	for (i = 0; i < 200000; i++) {
		len = 0;
		parts = (int)(random() % 10);
		for (p = 0; p < parts; p++) {
			k = (size_t)random() % n_pieces;
			if (len + strlen(pieces[k]) >= sizeof(line))
				break;
			memcpy(line + len, pieces[k], strlen(pieces[k]));
			len += strlen(pieces[k]);
		}
		line[len] = '\0';
		check_words(line, words_one_by_one(line));
	}
}
END_TEST

static Suite *
level_suite(void)
{
	Suite *s = suite_create("level");
	TCase *tl = tcase_create("loki");
	TCase *th = tcase_create("by hand");

	tcase_add_loop_test(tl, test_loki_entries, 0,
			    (int)(sizeof(loki_entries) / sizeof(loki_entries[0])));
	tcase_add_loop_test(tl, test_loki_words, 0,
			    (int)(sizeof(loki_words) / sizeof(loki_words[0])));
	tcase_add_loop_test(tl, test_loki_words_more, 0,
			    (int)(sizeof(loki_words_more) /
				  sizeof(loki_words_more[0])));
	tcase_add_test(tl, test_normalize);
	tcase_add_test(tl, test_sources);
	suite_add_tcase(s, tl);
	tcase_add_loop_test(th, test_by_hand, 0,
			    (int)(sizeof(by_hand) / sizeof(by_hand[0])));
	tcase_add_test(th, test_sources_by_hand);
	tcase_add_test(th, test_words_one_pass);
	suite_add_tcase(s, th);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(level_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
