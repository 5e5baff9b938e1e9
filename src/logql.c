/* LogQL log queries: a hand-written lexer and recursive-descent parser
 * that build the tree of logql.h (metric queries: logql_metric.c, on the
 * same lexer through logql_int.h).
 *
 * The lexer follows Loki's (pkg/logql/syntax/lex.go over Go's
 * text/scanner): keywords are case-insensitive; a number followed by
 * duration or size units is one DURATION or BYTES token; a function
 * name is a keyword only when "(" (or by/without and "(") follows it;
 * any character it does not know is an IDENTIFIER; `#` and `//` start
 * comments to the end of the line, as do C block comments.  The parser
 * follows expr.y: where yacc resolves a conflict by shifting (`,` and a
 * space between label filters), the right side takes everything up to
 * the end of the filter.  Messages
 * are Loki's: "parse error at line L, col C: syntax error: unexpected
 * X", columns counted in characters from 1, X the token's yacc name. */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "labels.h"
#include "logql.h"
#include "logql_int.h"

/* A catastrophic regex (nested quantifiers against a long value) stops
 * at these instead of running for minutes. */
#define RE_MATCH_LIMIT 1000000
#define RE_DEPTH_LIMIT 10000

struct word {
	const char *text;
	enum tok kind;
	const char *name;
};

/* Loki's keywords (lex.go, tokens); the yacc name of each is its text. */
static const struct word keywords[] = {
	{ "or", T_OR, "or" }, { "and", T_AND, "and" },
	{ "json", T_JSON, "json" }, { "logfmt", T_LOGFMT, "logfmt" },
	{ "regexp", T_REGEXP, "regexp" }, { "pattern", T_PATTERN, "pattern" },
	{ "unpack", T_UNPACK, "unpack" },
	{ "line_format", T_LINE_FMT, "line_format" },
	{ "label_format", T_LABEL_FMT, "label_format" },
	{ "decolorize", T_DECOLORIZE, "decolorize" },
	{ "drop", T_DROP, "drop" }, { "keep", T_KEEP, "keep" },
	{ "by", T_KEYWORD, "by" }, { "without", T_KEYWORD, "without" },
	{ "bool", T_KEYWORD, "bool" }, { "unwrap", T_KEYWORD, "unwrap" },
	{ "offset", T_KEYWORD, "offset" }, { "on", T_KEYWORD, "on" },
	{ "ignoring", T_KEYWORD, "ignoring" },
	{ "group_left", T_KEYWORD, "group_left" },
	{ "group_right", T_KEYWORD, "group_right" },
	{ "unless", T_KEYWORD, "unless" },
	{ "variants", T_KEYWORD, "variants" },
	{ "of", T_KEYWORD, "of" },
};

/* Loki's function tokens: keywords only when a call follows. */
static const struct word functions[] = {
	{ "rate", T_FUNC, "RATE" }, { "rate_counter", T_FUNC, "RATE_COUNTER" },
	{ "count_over_time", T_FUNC, "COUNT_OVER_TIME" },
	{ "bytes_rate", T_FUNC, "BYTES_RATE" },
	{ "bytes_over_time", T_FUNC, "BYTES_OVER_TIME" },
	{ "avg_over_time", T_FUNC, "AVG_OVER_TIME" },
	{ "sum_over_time", T_FUNC, "SUM_OVER_TIME" },
	{ "min_over_time", T_FUNC, "MIN_OVER_TIME" },
	{ "max_over_time", T_FUNC, "MAX_OVER_TIME" },
	{ "stdvar_over_time", T_FUNC, "STDVAR_OVER_TIME" },
	{ "stddev_over_time", T_FUNC, "STDDEV_OVER_TIME" },
	{ "quantile_over_time", T_FUNC, "QUANTILE_OVER_TIME" },
	{ "first_over_time", T_FUNC, "FIRST_OVER_TIME" },
	{ "last_over_time", T_FUNC, "LAST_OVER_TIME" },
	{ "absent_over_time", T_FUNC, "ABSENT_OVER_TIME" },
	{ "vector", T_FUNC, "VECTOR" }, { "sum", T_FUNC, "SUM" },
	{ "avg", T_FUNC, "AVG" }, { "max", T_FUNC, "MAX" },
	{ "min", T_FUNC, "MIN" }, { "count", T_FUNC, "COUNT" },
	{ "stddev", T_FUNC, "STDDEV" }, { "stdvar", T_FUNC, "STDVAR" },
	{ "bottomk", T_FUNC, "BOTTOMK" }, { "topk", T_FUNC, "TOPK" },
	{ "sort", T_FUNC, "SORT" }, { "sort_desc", T_FUNC, "SORT_DESC" },
	{ "approx_topk", T_FUNC, "APPROX_TOPK" },
	{ "label_replace", T_FUNC, "label_replace" },
	{ "bytes", T_FUNC, "BYTES_CONV" },
	{ "duration", T_FUNC, "DURATION_CONV" },
	{ "duration_seconds", T_FUNC, "DURATION_SECONDS_CONV" },
	{ "ip", T_FUNC, "ip" },
};

static const char *const tok_names[] = {
	[T_EOF] = "$end", [T_IDENT] = "IDENTIFIER", [T_BAD] = "IDENTIFIER",
	[T_STRING] = "STRING", [T_NUMBER] = "NUMBER",
	[T_DURATION] = "DURATION", [T_BYTES] = "BYTES", [T_RANGE] = "RANGE",
	[T_FLAG] = "PARSER_FLAG", [T_LBRACE] = "{", [T_RBRACE] = "}",
	[T_LPAREN] = "(", [T_RPAREN] = ")", [T_RBRACKET] = "]",
	[T_COMMA] = ",", [T_DOT] = ".",
	[T_EQ] = "=", [T_NEQ] = "!=", [T_RE] = "=~", [T_NRE] = "!~",
	[T_CMP_EQ] = "==", [T_GT] = ">", [T_GE] = ">=", [T_LT] = "<",
	[T_LE] = "<=", [T_PIPE] = "|", [T_PIPE_EXACT] = "|=",
	[T_PIPE_MATCH] = "|~", [T_PIPE_PATTERN] = "|>", [T_NPA] = "!>",
	[T_ADD] = "+", [T_SUB] = "-", [T_MUL] = "*", [T_DIV] = "/",
	[T_MOD] = "%", [T_POW] = "^",
};

static const char ERR_EMPTY_COMPATIBLE[] =
	"queries require at least one regexp or equality matcher that does "
	"not have an empty-compatible value. For instance, app=~\".*\" does "
	"not meet this requirement, but app=~\".+\" will";

/* ---- messages ---- */

static void vsay(struct parser *, const char *, va_list)
	__attribute__((format(printf, 2, 0)));

static void
vsay(struct parser *p, const char *fmt, va_list ap)
{
	if (p->failed)
		return;
	p->failed = 1;
	if (p->why != NULL && p->whylen > 0)
		(void)vsnprintf(p->why, p->whylen, fmt, ap);
}

/* A message with no place, as Loki's "parse error : ...". */
void
lq_say(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(p, fmt, ap);
	va_end(ap);
}

void
lq_oom(struct parser *p)
{
	lq_say(p, "out of memory");
}

/* Line and column of byte off as Go's text/scanner counts them: lines
 * from 1, columns in characters from 1. */
static void
line_col(const struct parser *p, size_t off, size_t *line, size_t *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off && i < p->len; i++) {
		if (p->text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)p->text[i] & 0xc0) != 0x80)
			(*col)++;
	}
}

/* "parse error at line L, col C: " and the message. */
void
lq_fail_at(struct parser *p, size_t off, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	size_t line, col;

	if (p->failed)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	line_col(p, off, &line, &col);
	lq_say(p, "parse error at line %zu, col %zu: %s", line, col, msg);
}

const char *
lq_tok_name(const struct token *t)
{
	if (t->kind == T_FUNC || t->kind == T_KEYWORD || t->kind >= T_OR)
		return t->name;
	return tok_names[t->kind];
}

/* Whether Loki's lexer read the token with text/scanner's Next(), which
 * sets the line of the position it reports to 0 (the column stays the
 * token's): two-character operators, ranges, durations, sizes, flags. */
static int
read_with_next(enum tok k)
{
	switch (k) {
	case T_RANGE: case T_DURATION: case T_BYTES: case T_FLAG:
	case T_NEQ: case T_RE: case T_NRE: case T_NPA: case T_PIPE_EXACT:
	case T_PIPE_MATCH: case T_PIPE_PATTERN: case T_CMP_EQ: case T_GE:
	case T_LE:
		return 1;
	default:
		return 0;
	}
}

/* yacc's "unexpected X", with ", expecting ..." where the state has
 * four or fewer tokens to shift, as goyacc's verbose errors give. */
void
lq_unexpected(struct parser *p, const char *expecting)
{
	size_t line, col;

	line_col(p, p->tok.start, &line, &col);
	if (read_with_next(p->tok.kind))
		line = 0;
	lq_say(p, "parse error at line %zu, col %zu: syntax error: "
	       "unexpected %s%s%s", line, col, lq_tok_name(&p->tok),
	       expecting != NULL ? ", expecting " : "",
	       expecting != NULL ? expecting : "");
}

/* ---- durations and sizes ---- */

/* Go's time.ParseDuration, in seconds. */
int
lt_go_duration(const char *s, double *seconds)
{
	static const struct {
		const char *unit;
		double ns;
	} units[] = {
		{ "ns", 1 }, { "us", 1e3 }, { "\xc2\xb5s", 1e3 },
		{ "\xce\xbcs", 1e3 }, { "ms", 1e6 }, { "s", 1e9 },
		{ "m", 60e9 }, { "h", 3600e9 },
	};
	double total = 0, v, scale;
	size_t n, k;
	int neg = 0, pre, post, found;

	if (s == NULL)
		return -1;
	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (strcmp(s, "0") == 0) {
		*seconds = 0;
		return 0;
	}
	if (*s == '\0')
		return -1;
	while (*s != '\0') {
		if (!(*s == '.' || (*s >= '0' && *s <= '9')))
			return -1;
		v = 0;
		pre = post = 0;
		while (*s >= '0' && *s <= '9') {
			v = v * 10 + (*s++ - '0');
			pre = 1;
		}
		if (*s == '.') {
			s++;
			scale = 1;
			while (*s >= '0' && *s <= '9') {
				scale /= 10;
				v += (*s++ - '0') * scale;
				post = 1;
			}
		}
		if (!pre && !post)
			return -1;
		for (n = 0; s[n] != '\0' && s[n] != '.' &&
		     !(s[n] >= '0' && s[n] <= '9'); n++)
			;
		if (n == 0)
			return -1;
		found = 0;
		for (k = 0; k < sizeof(units) / sizeof(units[0]); k++) {
			if (strlen(units[k].unit) == n &&
			    memcmp(units[k].unit, s, n) == 0) {
				total += v * units[k].ns;
				found = 1;
				break;
			}
		}
		if (!found)
			return -1;
		s += n;
		/* Go keeps nanoseconds in an int64. */
		if (total > 9223372036854775807.0)
			return -1;
	}
	*seconds = (neg ? -total : total) / 1e9;
	return 0;
}

/* Prometheus' model.ParseDuration (units y w d h m s ms, largest first,
 * each at most once), which Loki tries before Go's. */
static int
prom_duration(const char *s, size_t len, double *seconds)
{
	static const struct {
		const char *unit;
		double s;
	} units[] = {
		{ "y", 365 * 86400.0 }, { "w", 7 * 86400.0 }, { "d", 86400 },
		{ "h", 3600 }, { "m", 60 }, { "s", 1 }, { "ms", 0.001 },
	};
	size_t i = 0, next = 0, k, ulen;
	double total = 0, v;
	int digits;

	if (len == 1 && s[0] == '0') {
		*seconds = 0;
		return 0;
	}
	if (len == 0)
		return -1;
	while (i < len) {
		v = 0;
		digits = 0;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			v = v * 10 + (s[i++] - '0');
			digits = 1;
		}
		if (!digits || i == len)
			return -1;
		for (k = next; k < sizeof(units) / sizeof(units[0]); k++) {
			/* "ms" before "m": try the longer unit of the two. */
			if (k == 4 && len - i >= 2 && s[i] == 'm' &&
			    s[i + 1] == 's')
				continue;
			ulen = strlen(units[k].unit);
			if (len - i >= ulen &&
			    memcmp(s + i, units[k].unit, ulen) == 0)
				break;
		}
		if (k == sizeof(units) / sizeof(units[0]))
			return -1;
		total += v * units[k].s;
		i += strlen(units[k].unit);
		next = k + 1;
	}
	if (total * 1e9 > 9223372036854775807.0)
		return -1;
	*seconds = total;
	return 0;
}

/* Loki's parseDuration: Prometheus' form, else Go's. */
static int
loki_duration(const char *s, size_t len, double *seconds)
{
	char buf[64];

	if (prom_duration(s, len, seconds) == 0)
		return 0;
	if (len >= sizeof(buf) || memchr(s, '\0', len) != NULL)
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return lt_go_duration(buf, seconds);
}

static int
is_num_char(char c)
{
	return (c >= '0' && c <= '9') || c == '.' || c == ',';
}

/* go-humanize's ParseBytes. */
int
lt_go_bytes(const char *s, double *bytes)
{
	static const struct {
		const char *unit;
		double mult;
	} units[] = {
		{ "", 1 }, { "b", 1 },
		{ "k", 1e3 }, { "kb", 1e3 }, { "ki", 1024.0 }, { "kib", 1024.0 },
		{ "m", 1e6 }, { "mb", 1e6 },
		{ "mi", 1048576.0 }, { "mib", 1048576.0 },
		{ "g", 1e9 }, { "gb", 1e9 },
		{ "gi", 1073741824.0 }, { "gib", 1073741824.0 },
		{ "t", 1e12 }, { "tb", 1e12 },
		{ "ti", 1099511627776.0 }, { "tib", 1099511627776.0 },
		{ "p", 1e15 }, { "pb", 1e15 },
		{ "pi", 1125899906842624.0 }, { "pib", 1125899906842624.0 },
		{ "e", 1e18 }, { "eb", 1e18 },
		{ "ei", 1152921504606846976.0 },
		{ "eib", 1152921504606846976.0 },
	};
	char num[64], unit[8];
	size_t i, n = 0, dots = 0, digits = 0, u, k, end;
	double f;

	if (s == NULL)
		return -1;
	for (i = 0; is_num_char(s[i]); i++) {
		if (s[i] == ',')
			continue;
		if (n + 1 >= sizeof(num))
			return -1;
		if (s[i] == '.')
			dots++;
		else
			digits++;
		num[n++] = s[i];
	}
	num[n] = '\0';
	if (digits == 0 || dots > 1)
		return -1;
	f = strtod(num, NULL);
	/* The unit: trimmed of spaces, any case. */
	while (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
		i++;
	end = strlen(s);
	while (end > i && (s[end - 1] == ' ' || s[end - 1] == '\t' ||
			   s[end - 1] == '\n' || s[end - 1] == '\r'))
		end--;
	if (end - i >= sizeof(unit))
		return -1;
	for (u = 0; i < end; i++, u++)
		unit[u] = (char)(s[i] >= 'A' && s[i] <= 'Z' ?
				 s[i] - 'A' + 'a' : s[i]);
	unit[u] = '\0';
	for (k = 0; k < sizeof(units) / sizeof(units[0]); k++) {
		if (strcmp(units[k].unit, unit) == 0) {
			f *= units[k].mult;
			if (f >= 18446744073709551615.0)
				return -1;
			*bytes = floor(f);
			return 0;
		}
	}
	return -1;
}

/* Length of the valid UTF-8 sequence at s (avail > 0 bytes), or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t avail)
{
	size_t n, k;
	uint32_t cp, min;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
		min = 0x10000;
	} else
		return 0;
	if (avail < n)
		return 0;
	for (k = 1; k < n; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* Go's regexp reads each byte that is not UTF-8 as U+FFFD, which `.`
 * matches; PCRE2 would let nothing match it.  Returns a copy of value
 * with those bytes replaced, or NULL (*out_len 0) when value is UTF-8
 * already, or NULL with *out_len 1 when memory runs out. */
static char *
go_runes(const char *value, size_t len, size_t *out_len)
{
	const unsigned char *v = (const unsigned char *)value;
	size_t i, n, o = 0, bad = 0;
	char *out;

	*out_len = 0;
	for (i = 0; i < len; i += n)
		if ((n = utf8_seq(v + i, len - i)) == 0) {
			bad++;
			n = 1;
		}
	if (bad == 0)
		return NULL;
	if ((out = malloc(len + 2 * bad)) == NULL) {
		*out_len = 1;
		return NULL;
	}
	for (i = 0; i < len; i += n) {
		if ((n = utf8_seq(v + i, len - i)) == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			n = 1;
		} else {
			memcpy(out + o, value + i, n);
			o += n;
		}
	}
	*out_len = o;
	return out;
}

/* ---- regexes ---- */

/* Compiles re as Go's regexp reads it, as well as PCRE2 can: UTF-8,
 * `$` only at the end, `.` stopping at \n only.  With anchored, as
 * Prometheus' matchers do: ^(?:re)$.  NULL with the reason in err. */
pcre2_code *
lq_re_compile(const char *re, int anchored, char *err, size_t errlen)
{
	pcre2_compile_context *cc;
	pcre2_code *code = NULL;
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE off = 0;
	size_t n = strlen(re);
	char *full = NULL;
	const char *pat = re;
	int ec = 0;

	if (anchored) {
		if ((full = malloc(n + 7)) == NULL) {
			(void)snprintf(err, errlen, "out of memory");
			return NULL;
		}
		memcpy(full, "^(?:", 4);
		memcpy(full + 4, re, n);
		memcpy(full + 4 + n, ")$", 3);
		pat = full;
		n += 6;
	}
	if ((cc = pcre2_compile_context_create(NULL)) == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		free(full);
		return NULL;
	}
	(void)pcre2_set_newline(cc, PCRE2_NEWLINE_LF);
	code = pcre2_compile((PCRE2_SPTR)pat, n,
			     PCRE2_UTF | PCRE2_MATCH_INVALID_UTF |
			     PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C,
			     &ec, &off, cc);
	pcre2_compile_context_free(cc);
	if (code == NULL) {
		if (pcre2_get_error_message(ec, msg, sizeof(msg)) < 0)
			(void)snprintf((char *)msg, sizeof(msg), "error %d", ec);
		(void)snprintf(err, errlen, "%s", (const char *)msg);
	}
	free(full);
	return code;
}

/* 1 when code matches value, 0 when not, -1 past the match limits. */
static int
re_match(const pcre2_code *code, const char *value, size_t len)
{
	pcre2_match_context *mc;
	pcre2_match_data *md;
	size_t fixed_len;
	char *fixed;
	int rc;

	if ((fixed = go_runes(value, len, &fixed_len)) != NULL) {
		rc = re_match(code, fixed, fixed_len);
		free(fixed);
		return rc;
	}
	if (fixed_len != 0)
		return -1;
	if ((mc = pcre2_match_context_create(NULL)) == NULL)
		return -1;
	(void)pcre2_set_match_limit(mc, RE_MATCH_LIMIT);
	(void)pcre2_set_depth_limit(mc, RE_DEPTH_LIMIT);
	if ((md = pcre2_match_data_create_from_pattern(code, NULL)) == NULL) {
		pcre2_match_context_free(mc);
		return -1;
	}
	rc = pcre2_match(code, (PCRE2_SPTR)value, len, 0, 0, md, mc);
	pcre2_match_data_free(md);
	pcre2_match_context_free(mc);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	return -1;
}

int
lt_matcher_matches(const struct lt_matcher *m, const char *value, size_t len)
{
	pcre2_code *code;
	char err[256];
	int r;

	if (value == NULL) {
		value = "";
		len = 0;
	}
	switch (m->op) {
	case LT_MATCH_EQ:
	case LT_MATCH_NE:
		r = strlen(m->value) == len && memcmp(m->value, value, len) == 0;
		return m->op == LT_MATCH_EQ ? r : !r;
	case LT_MATCH_RE:
	case LT_MATCH_NRE:
		if ((code = lq_re_compile(m->value, 1, err, sizeof(err))) == NULL)
			return -1;
		r = re_match(code, value, len);
		pcre2_code_free(code);
		if (r < 0)
			return -1;
		return m->op == LT_MATCH_RE ? r : !r;
	}
	return -1;
}

/* Text for a one-line message: control bytes as \xHH (and, with
 * quoted, " and \ escaped as Go's %q does), at most LQ_SHOWN bytes. */
void
lq_show_text(const char *s, size_t len, int quoted, char *buf, size_t buflen)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;
	unsigned char c;

	for (i = 0; i < len && o + 8 < buflen; i++) {
		if (i == LQ_SHOWN) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f) {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		} else if (quoted && (c == '"' || c == '\\')) {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else
			buf[o++] = (char)c;
	}
	buf[o] = '\0';
}

/* A regex of the query must compile: Loki refuses it while parsing.
 * Named groups are counted for `| regexp`. */
static int
check_regex(struct parser *p, const char *re, int anchored, int need_names)
{
	pcre2_code *code;
	uint32_t names = 0;
	char err[256], shown[4 * LQ_SHOWN + 8];

	lq_show_text(re, strlen(re), 0, shown, sizeof(shown));
	if ((code = lq_re_compile(re, anchored, err, sizeof(err))) == NULL) {
		lq_say(p, "parse error : error parsing regexp: %s: `%s`", err,
		    shown);
		return -1;
	}
	if (need_names &&
	    (pcre2_pattern_info(code, PCRE2_INFO_NAMECOUNT, &names) != 0 ||
	     names == 0)) {
		pcre2_code_free(code);
		lq_say(p, "parse error : at least one named capture must be "
		    "supplied: `%s`", shown);
		return -1;
	}
	pcre2_code_free(code);
	return 0;
}

/* ---- lexer ---- */

static int
is_name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static char
peek_at(const struct parser *p, size_t at)
{
	return at < p->len ? p->text[at] : '\0';
}

/* Length of the valid UTF-8 sequence at text[at], or 0. */
static size_t
utf8_len(const struct parser *p, size_t at)
{
	return utf8_seq((const unsigned char *)p->text + at, p->len - at);
}

/* One escape of a double-quoted string, backslash at *at: text/scanner
 * checks its form ("invalid char escape"), strconv.UnquoteChar its
 * value ("invalid syntax").  Appends the bytes to out; every escape is
 * at least as long as what it writes. */
static int
unescape(struct parser *p, size_t start, size_t *at, char *out, size_t *o)
{
	size_t i = *at + 1, ndigits, k;
	uint32_t v = 0;
	int d;
	char c = peek_at(p, i);

	switch (c) {
	case 'a': out[(*o)++] = '\a'; *at = i + 1; return 0;
	case 'b': out[(*o)++] = '\b'; *at = i + 1; return 0;
	case 'f': out[(*o)++] = '\f'; *at = i + 1; return 0;
	case 'n': out[(*o)++] = '\n'; *at = i + 1; return 0;
	case 'r': out[(*o)++] = '\r'; *at = i + 1; return 0;
	case 't': out[(*o)++] = '\t'; *at = i + 1; return 0;
	case 'v': out[(*o)++] = '\v'; *at = i + 1; return 0;
	case '\\': out[(*o)++] = '\\'; *at = i + 1; return 0;
	case '"': out[(*o)++] = '"'; *at = i + 1; return 0;
	case '0': case '1': case '2': case '3':
	case '4': case '5': case '6': case '7':
		for (k = 0; k < 3; k++) {
			c = peek_at(p, i + k);
			if (c < '0' || c > '7')
				goto bad_form;
			v = v * 8 + (uint32_t)(c - '0');
		}
		if (v > 255)
			goto bad_value;
		out[(*o)++] = (char)v;
		*at = i + 3;
		return 0;
	case 'x': ndigits = 2; break;
	case 'u': ndigits = 4; break;
	case 'U': ndigits = 8; break;
	default:
		goto bad_form;
	}
	for (k = 0; k < ndigits; k++) {
		if ((d = lt_hex_digit(peek_at(p, i + 1 + k))) < 0)
			goto bad_form;
		v = v << 4 | (uint32_t)d;
	}
	*at = i + 1 + ndigits;
	if (c == 'x') {
		out[(*o)++] = (char)v;
		return 0;
	}
	if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		goto bad_value;
	*o += lt_utf8_put(out + *o, v);
	return 0;
bad_form:
	lq_fail_at(p, start, "invalid char escape");
	return -1;
bad_value:
	lq_fail_at(p, start, "invalid syntax");
	return -1;
}

/* A "double-quoted" or `raw` string at p->pos into p->tok.str. */
static int
lex_string(struct parser *p)
{
	size_t start = p->pos, at = start + 1, o = 0, n, end;
	char quote = p->text[start], c, *out;

	/* Escapes only shrink: the text up to the closing quote is room
	 * enough. */
	for (end = at; end < p->len && p->text[end] != quote; end++)
		if (p->text[end] == '\\' && quote == '"')
			end++;
	if ((out = malloc(end - start + 1)) == NULL) {
		lq_oom(p);
		return -1;
	}
	p->tok.str = out;
	for (;;) {
		if (at >= p->len || (quote == '"' && p->text[at] == '\n')) {
			lq_fail_at(p, start, "literal not terminated");
			return -1;
		}
		c = p->text[at];
		if (c == quote)
			break;
		if (c == '\0') {
			lq_fail_at(p, start, "invalid character NUL");
			return -1;
		}
		if (c == '\\' && quote == '"') {
			if (unescape(p, start, &at, out, &o) != 0)
				return -1;
			continue;
		}
		if ((n = utf8_len(p, at)) == 0) {
			lq_fail_at(p, start, "invalid UTF-8 encoding");
			return -1;
		}
		memcpy(out + o, p->text + at, n);
		o += n;
		at += n;
	}
	if (memchr(out, '\0', o) != NULL) {
		lq_fail_at(p, start, "a NUL in a string is not supported");
		return -1;
	}
	out[o] = '\0';
	p->tok.str_len = o;
	p->tok.kind = T_STRING;
	p->pos = at + 1;
	return 0;
}

/* A 'c' char literal: Loki reads it as an IDENTIFIER; text/scanner
 * wants exactly one character in it. */
static int
lex_char(struct parser *p)
{
	size_t start = p->pos, at = start + 1, n = 0, k;
	char c;

	for (;;) {
		if (at >= p->len || p->text[at] == '\n') {
			lq_fail_at(p, start, "literal not terminated");
			return -1;
		}
		c = p->text[at];
		if (c == '\'')
			break;
		if (c == '\\') {
			c = peek_at(p, at + 1);
			k = c == 'x' ? 2 : c == 'u' ? 4 : c == 'U' ? 8 : 0;
			if (strchr("abfnrtv\\'", c) != NULL && c != '\0')
				at += 2;
			else if (c >= '0' && c <= '7')
				at += 4;
			else if (k > 0)
				at += 2 + k;
			else {
				lq_fail_at(p, start, "invalid char escape");
				return -1;
			}
		} else if ((k = utf8_len(p, at)) == 0) {
			lq_fail_at(p, start, "invalid UTF-8 encoding");
			return -1;
		} else
			at += k;
		n++;
	}
	if (n != 1) {
		lq_fail_at(p, start, "invalid char literal");
		return -1;
	}
	p->tok.kind = T_BAD;
	p->pos = at + 1;
	return 0;
}

/* How far the characters of set run from text[at], stopping at a space,
 * as Loki's tryScanDuration and tryScanBytes look ahead. */
static size_t
run_of(const struct parser *p, size_t at, const char *set)
{
	size_t i = at;

	while (i < p->len) {
		if (is_digit(p->text[i]) || p->text[i] == '.' ||
		    (p->text[i] != '\0' && strchr(set, p->text[i]) != NULL))
			i++;
		else if (strchr(set, 'u') != NULL && i + 1 < p->len &&
			 (unsigned char)p->text[i] == 0xc2 &&
			 (unsigned char)p->text[i + 1] == 0xb5)
			i += 2;  /* µ */
		else
			break;
	}
	return i;
}

/* After a number (or a "-") ending at p->pos, which started at start:
 * Loki reads on for a duration, then for a size. */
static int
lex_units(struct parser *p, size_t start)
{
	char buf[64];
	size_t end;
	double v;

	end = run_of(p, p->pos, "numsdhwy");
	if (end > p->pos &&
	    loki_duration(p->text + start, end - start, &v) == 0) {
		p->tok.kind = T_DURATION;
		p->tok.num = v;
		p->pos = end;
		return 1;
	}
	end = run_of(p, p->pos, "BikKMGTP");
	if (end > p->pos && end - start < sizeof(buf)) {
		memcpy(buf, p->text + start, end - start);
		buf[end - start] = '\0';
		if (lt_go_bytes(buf, &v) == 0) {
			p->tok.kind = T_BYTES;
			p->tok.num = v;
			p->pos = end;
			return 1;
		}
	}
	return 0;
}

static void
lex_number(struct parser *p)
{
	size_t start = p->pos, i = start;
	char buf[128];

	while (i < p->len && is_digit(p->text[i]))
		i++;
	if (peek_at(p, i) == '.') {
		i++;
		while (i < p->len && is_digit(p->text[i]))
			i++;
	}
	if ((peek_at(p, i) == 'e' || peek_at(p, i) == 'E') &&
	    (is_digit(peek_at(p, i + 1)) ||
	     ((peek_at(p, i + 1) == '+' || peek_at(p, i + 1) == '-') &&
	      is_digit(peek_at(p, i + 2))))) {
		i += 2;
		while (i < p->len && is_digit(p->text[i]))
			i++;
	}
	p->pos = i;
	if (lex_units(p, start))
		return;
	p->tok.kind = T_NUMBER;
	if (i - start < sizeof(buf)) {
		memcpy(buf, p->text + start, i - start);
		buf[i - start] = '\0';
		p->tok.num = strtod(buf, NULL);
	} else
		p->tok.num = HUGE_VAL;
}

/* Why Prometheus' model.ParseDuration refuses s (prom_duration() did),
 * in its words. */
static void
prom_duration_error(const char *s, size_t len, char *msg, size_t msglen)
{
	static const char *const units[] = {
		"y", "w", "d", "h", "m", "s", "ms",
	};
	char shown[4 * LQ_SHOWN + 8], unit[4 * LQ_SHOWN + 8];
	size_t i = 0, u, k, last = 0;

	lq_show_text(s, len, 1, shown, sizeof(shown));
	if (len == 0) {
		(void)snprintf(msg, msglen, "empty duration string");
		return;
	}
	while (i < len) {
		for (u = i; i < len && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == u)
			break;  /* no number */
		for (u = i; i < len && !(s[i] >= '0' && s[i] <= '9'); i++)
			;
		if (i == u)
			break;  /* no unit */
		for (k = 0; k < sizeof(units) / sizeof(units[0]); k++)
			if (strlen(units[k]) == i - u &&
			    memcmp(units[k], s + u, i - u) == 0)
				break;
		if (k == sizeof(units) / sizeof(units[0])) {
			lq_show_text(s + u, i - u, 1, unit, sizeof(unit));
			(void)snprintf(msg, msglen, "unknown unit \"%s\" in "
				       "duration \"%s\"", unit, shown);
			return;
		}
		if (k + 1 <= last) {
			last = 0;  /* units out of order */
			break;
		}
		last = k + 1;
	}
	if (i < len || last == 0)
		(void)snprintf(msg, msglen, "not a valid duration string: "
			       "\"%s\"", shown);
	else
		(void)snprintf(msg, msglen, "duration out of range");
}

/* A `[...]` range.  Loki's lexer reports its errors after reading on
 * with text/scanner's Next(), which leaves the line 0 and the column
 * the "["'s. */
static int
lex_range(struct parser *p)
{
	size_t start = p->pos, i = start + 1, line, col;
	char msg[2 * (4 * LQ_SHOWN + 8) + 64];
	double v;

	while (i < p->len && p->text[i] != ']')
		i++;
	line_col(p, start, &line, &col);
	if (i >= p->len) {
		lq_say(p, "parse error at line 0, col %zu: missing closing ']' "
		       "in duration", col);
		return -1;
	}
	if (prom_duration(p->text + start + 1, i - start - 1, &v) != 0) {
		prom_duration_error(p->text + start + 1, i - start - 1, msg,
				    sizeof(msg));
		lq_say(p, "parse error at line 0, col %zu: %s", col, msg);
		return -1;
	}
	p->tok.kind = T_RANGE;
	p->tok.num = v;
	p->pos = i + 1;
	return 0;
}

/* Loki's isFunction: "(" next, or by/without and then "(". */
static int
call_follows(const struct parser *p, size_t at)
{
	size_t i = at, n;

	while (i < p->len && is_space(p->text[i]))
		i++;
	if (peek_at(p, i) == '(')
		return 1;
	for (n = 0; i + n < p->len && is_name_start(p->text[i + n]); n++)
		;
	if (!((n == 2 && strncasecmp(p->text + i, "by", 2) == 0) ||
	      (n == 7 && strncasecmp(p->text + i, "without", 7) == 0)))
		return 0;
	i += n;
	while (i < p->len && is_space(p->text[i]))
		i++;
	return peek_at(p, i) == '(';
}

static void
lex_word(struct parser *p)
{
	size_t start = p->pos, i = start, n, k;
	int ascii = 1;

	while (i < p->len && (is_name_start(p->text[i]) || is_digit(p->text[i]) ||
			      (unsigned char)p->text[i] >= 0x80)) {
		if ((unsigned char)p->text[i] >= 0x80) {
			if ((n = utf8_len(p, i)) == 0)
				break;
			ascii = 0;
			i += n;
		} else
			i++;
	}
	p->pos = i;
	n = i - start;
	p->tok.kind = ascii ? T_IDENT : T_BAD;
	if (!ascii)
		return;
	for (k = 0; k < sizeof(functions) / sizeof(functions[0]); k++) {
		if (strlen(functions[k].text) == n &&
		    strncasecmp(functions[k].text, p->text + start, n) == 0) {
			if (call_follows(p, i)) {
				p->tok.kind = T_FUNC;
				p->tok.name = functions[k].name;
			}
			return;
		}
	}
	for (k = 0; k < sizeof(keywords) / sizeof(keywords[0]); k++) {
		if (strlen(keywords[k].text) == n &&
		    strncasecmp(keywords[k].text, p->text + start, n) == 0) {
			p->tok.kind = keywords[k].kind;
			p->tok.name = keywords[k].name;
			return;
		}
	}
}

/* Skips spaces and comments; -1 on an unterminated block comment or a
 * NUL. */
static int
skip_blank(struct parser *p)
{
	size_t start;

	while (p->pos < p->len) {
		char c = p->text[p->pos];

		if (is_space(c)) {
			p->pos++;
		} else if (c == '#' ||
			   (c == '/' && peek_at(p, p->pos + 1) == '/')) {
			while (p->pos < p->len && p->text[p->pos] != '\n')
				p->pos++;
		} else if (c == '/' && peek_at(p, p->pos + 1) == '*') {
			start = p->pos;
			p->pos += 2;
			while (p->pos + 1 < p->len &&
			       !(p->text[p->pos] == '*' &&
				 p->text[p->pos + 1] == '/'))
				p->pos++;
			if (p->pos + 1 >= p->len) {
				lq_fail_at(p, start, "comment not terminated");
				return -1;
			}
			p->pos += 2;
		} else if (c == '\0') {
			lq_fail_at(p, p->pos, "invalid character NUL");
			return -1;
		} else if (p->pos == 0 && p->len >= 3 &&
			   memcmp(p->text, "\xef\xbb\xbf", 3) == 0) {
			p->pos = 3;  /* a byte order mark, as text/scanner skips */
		} else
			break;
	}
	return 0;
}

/* Two-character operators first, as Loki looks at the token and the
 * character after it. */
static int
lex_operator(struct parser *p)
{
	static const struct {
		const char *text;
		enum tok kind;
	} ops[] = {
		{ "!=", T_NEQ }, { "=~", T_RE }, { "!~", T_NRE }, { "!>", T_NPA },
		{ "|=", T_PIPE_EXACT }, { "|~", T_PIPE_MATCH },
		{ "|>", T_PIPE_PATTERN }, { "==", T_CMP_EQ }, { ">=", T_GE },
		{ "<=", T_LE },
		{ ",", T_COMMA }, { ".", T_DOT }, { "{", T_LBRACE },
		{ "}", T_RBRACE }, { "=", T_EQ }, { "|", T_PIPE },
		{ "(", T_LPAREN }, { ")", T_RPAREN }, { "]", T_RBRACKET },
		{ "+", T_ADD },
		{ "-", T_SUB }, { "*", T_MUL }, { "/", T_DIV }, { "%", T_MOD },
		{ "^", T_POW }, { ">", T_GT }, { "<", T_LT },
	};
	size_t k, n;

	for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
		n = strlen(ops[k].text);
		if (p->len - p->pos >= n &&
		    memcmp(p->text + p->pos, ops[k].text, n) == 0) {
			p->tok.kind = ops[k].kind;
			p->pos += n;
			return 1;
		}
	}
	return 0;
}

/* The "-" of a flag (--strict, --keep-empty), of a negative duration,
 * or a SUB. */
static void
lex_minus(struct parser *p)
{
	size_t start = p->pos, i = start + 1;

	if (peek_at(p, i) == '-') {
		while (i < p->len && (is_name_start(p->text[i]) ||
				      p->text[i] == '-') && p->text[i] != '_')
			i++;
		if ((i - start == 8 &&
		     memcmp(p->text + start, "--strict", 8) == 0) ||
		    (i - start == 12 &&
		     memcmp(p->text + start, "--keep-empty", 12) == 0)) {
			p->tok.kind = T_FLAG;
			p->pos = i;
			return;
		}
	}
	p->pos = start + 1;
	if (lex_units(p, start) && p->tok.kind == T_DURATION)
		return;
	p->pos = start + 1;
	p->tok.kind = T_SUB;
}

/* Reads the next token into p->tok, freeing the last one's string. */
int
lq_next(struct parser *p)
{
	unsigned char c;
	size_t n;

	free(p->tok.str);
	memset(&p->tok, 0, sizeof(p->tok));
	if (skip_blank(p) != 0)
		return -1;
	p->tok.start = p->pos;
	if (p->pos >= p->len) {
		p->tok.kind = T_EOF;
		return 0;
	}
	c = (unsigned char)p->text[p->pos];
	if (c == '"' || c == '`') {
		if (lex_string(p) != 0)
			return -1;
	} else if (c == '\'') {
		if (lex_char(p) != 0)
			return -1;
	} else if (is_digit((char)c) ||
		   (c == '.' && is_digit(peek_at(p, p->pos + 1)))) {
		lex_number(p);
	} else if (is_name_start((char)c) || c >= 0x80) {
		if (c >= 0x80 && utf8_len(p, p->pos) == 0) {
			lq_fail_at(p, p->pos, "invalid UTF-8 encoding");
			return -1;
		}
		lex_word(p);
	} else if (c == '[') {
		if (lex_range(p) != 0)
			return -1;
	} else if (c == '-') {
		lex_minus(p);
	} else if (!lex_operator(p)) {
		/* Any other character: Loki's IDENTIFIER. */
		n = utf8_len(p, p->pos);
		p->pos += n > 0 ? n : 1;
		p->tok.kind = T_BAD;
	}
	p->tok.end = p->pos;
	return 0;
}

/* Takes the look-ahead's string. */
char *
lq_take_str(struct parser *p)
{
	char *s = p->tok.str;

	p->tok.str = NULL;
	return s;
}

char *
lq_tok_text_dup(struct parser *p)
{
	size_t n = p->tok.end - p->tok.start;
	char *s;

	if ((s = malloc(n + 1)) == NULL) {
		lq_oom(p);
		return NULL;
	}
	memcpy(s, p->text + p->tok.start, n);
	s[n] = '\0';
	return s;
}

/* Requires a token of kind k, else "unexpected". */
int
lq_expect(struct parser *p, enum tok k, const char *expecting)
{
	if (p->tok.kind != k) {
		lq_unexpected(p, expecting);
		return -1;
	}
	return 0;
}

/* ---- the tree ---- */

static void
free_matcher(struct lt_matcher *m)
{
	free(m->name);
	free(m->value);
}

void
lq_free_filter(struct lt_label_filter *f)
{
	if (f == NULL)
		return;
	lq_free_filter(f->left);
	lq_free_filter(f->right);
	free_matcher(&f->matcher);
	free(f->name);
	free(f);
}

static void
free_stage(struct lt_stage *s)
{
	size_t i;

	for (i = 0; i < s->line.n_values; i++)
		free(s->line.values[i]);
	free(s->line.values);
	lq_free_filter(s->filter);
	free(s->text);
	for (i = 0; i < s->n_params; i++) {
		free(s->params[i].name);
		free(s->params[i].expression);
	}
	free(s->params);
}

void
lt_logql_free(struct lt_logql *q)
{
	size_t i;

	if (q == NULL)
		return;
	for (i = 0; i < q->n_matchers; i++)
		free_matcher(&q->matchers[i]);
	free(q->matchers);
	for (i = 0; i < q->n_stages; i++)
		free_stage(&q->stages[i]);
	free(q->stages);
	free(q);
}

/* Grows *arr (of *n items of size) by one zeroed item; NULL when out of
 * memory.  The room doubles whenever *n reaches a power of two (from
 * 4), so it is known from *n alone. */
void *
lq_append(struct parser *p, void **arr, size_t *n, size_t size)
{
	size_t room;
	void *grown;

	if (*n == 0 || (*n >= 4 && (*n & (*n - 1)) == 0)) {
		room = *n == 0 ? 4 : *n * 2;
		if (room > SIZE_MAX / size ||
		    (grown = realloc(*arr, room * size)) == NULL) {
			lq_oom(p);
			return NULL;
		}
		*arr = grown;
	}
	memset((char *)*arr + *n * size, 0, size);
	return (char *)*arr + (*n)++ * size;
}

static int
match_op(enum tok k, enum lt_match_op *op)
{
	switch (k) {
	case T_EQ: *op = LT_MATCH_EQ; return 1;
	case T_NEQ: *op = LT_MATCH_NE; return 1;
	case T_RE: *op = LT_MATCH_RE; return 1;
	case T_NRE: *op = LT_MATCH_NRE; return 1;
	default: return 0;
	}
}

/* The look-ahead is an operator of a matcher: reads it and the string
 * into m (name already set), checking a regex. */
static int
matcher_value(struct parser *p, struct lt_matcher *m, const char *expecting)
{
	if (!match_op(p->tok.kind, &m->op)) {
		lq_unexpected(p, expecting);
		return -1;
	}
	if (lq_next(p) != 0 || lq_expect(p, T_STRING, "STRING") != 0)
		return -1;
	m->value = lq_take_str(p);
	if ((m->op == LT_MATCH_RE || m->op == LT_MATCH_NRE) &&
	    check_regex(p, m->value, 1, 0) != 0)
		return -1;
	return lq_next(p);
}

/* {name="value", ...}: the look-ahead is the "{". */
int
lq_parse_selector(struct parser *p, struct lt_logql *q)
{
	struct lt_matcher *m;

	if (lq_next(p) != 0)
		return -1;
	if (p->tok.kind == T_RBRACE)
		return lq_next(p);
	for (;;) {
		if (lq_expect(p, T_IDENT, "IDENTIFIER or }") != 0)
			return -1;
		m = lq_append(p, (void **)&q->matchers, &q->n_matchers, sizeof(*m));
		if (m == NULL || (m->name = lq_tok_text_dup(p)) == NULL)
			return -1;
		if (lq_next(p) != 0 ||
		    matcher_value(p, m, "= or =~ or !~ or !=") != 0)
			return -1;
		if (p->tok.kind == T_RBRACE)
			return lq_next(p);
		if (lq_expect(p, T_COMMA, "} or ,") != 0 || lq_next(p) != 0)
			return -1;
		if (p->tok.kind != T_IDENT) {
			lq_unexpected(p, "IDENTIFIER");
			return -1;
		}
	}
}

static struct lt_stage *
new_stage(struct parser *p, struct lt_logql *q, enum lt_stage_kind kind)
{
	struct lt_stage *s;

	s = lq_append(p, (void **)&q->stages, &q->n_stages, sizeof(*s));
	if (s != NULL)
		s->kind = kind;
	return s;
}

/* A line filter value: a string, or Loki's ip("..."), which we lack. */
static int
line_value(struct parser *p, struct lt_line_filter *lf)
{
	char **v;

	if (p->tok.kind == T_FUNC && strcmp(p->tok.name, "ip") == 0) {
		lq_fail_at(p, p->tok.start, "ip() line filters are not supported");
		return -1;
	}
	if (lq_expect(p, T_STRING, "STRING or ip") != 0)
		return -1;
	if ((lf->op == LT_LINE_MATCH || lf->op == LT_LINE_NOT_MATCH) &&
	    check_regex(p, p->tok.str, 0, 0) != 0)
		return -1;
	v = lq_append(p, (void **)&lf->values, &lf->n_values, sizeof(*v));
	if (v == NULL)
		return -1;
	*v = lq_take_str(p);
	return lq_next(p);
}

/* |= "a" or "b", != "a", |~ "re", !~ "re". */
static int
parse_line_filter(struct parser *p, struct lt_logql *q)
{
	struct lt_stage *s;
	enum lt_line_op op;

	switch (p->tok.kind) {
	case T_PIPE_EXACT: op = LT_LINE_CONTAINS; break;
	case T_NEQ: op = LT_LINE_NOT_CONTAINS; break;
	case T_PIPE_MATCH: op = LT_LINE_MATCH; break;
	case T_NRE: op = LT_LINE_NOT_MATCH; break;
	default:
		lq_fail_at(p, p->tok.start, "pattern line filters (%s) are not "
			"supported", lq_tok_name(&p->tok));
		return -1;
	}
	if ((s = new_stage(p, q, LT_STAGE_LINE_FILTER)) == NULL)
		return -1;
	s->line.op = op;
	if (lq_next(p) != 0 || line_value(p, &s->line) != 0)
		return -1;
	while (p->tok.kind == T_OR)
		if (lq_next(p) != 0 || line_value(p, &s->line) != 0)
			return -1;
	return 0;
}

/* name or name="expression", comma-separated: json and logfmt
 * parameters. */
static int
parse_extractions(struct parser *p, struct lt_stage *s)
{
	struct lt_named *n;

	for (;;) {
		if (lq_expect(p, T_IDENT, "IDENTIFIER") != 0)
			return -1;
		n = lq_append(p, (void **)&s->params, &s->n_params, sizeof(*n));
		if (n == NULL || (n->name = lq_tok_text_dup(p)) == NULL ||
		    lq_next(p) != 0)
			return -1;
		if (p->tok.kind == T_EQ) {
			if (lq_next(p) != 0 || lq_expect(p, T_STRING, "STRING") != 0)
				return -1;
			n->expression = lq_take_str(p);
			if (lq_next(p) != 0)
				return -1;
		}
		if (p->tok.kind != T_COMMA)
			return 0;
		if (lq_next(p) != 0)
			return -1;
	}
}

/* label_format dst=src, dst="{{template}}". */
static int
parse_label_format(struct parser *p, struct lt_stage *s)
{
	struct lt_named *n;

	for (;;) {
		if (lq_expect(p, T_IDENT, "IDENTIFIER") != 0)
			return -1;
		n = lq_append(p, (void **)&s->params, &s->n_params, sizeof(*n));
		if (n == NULL || (n->name = lq_tok_text_dup(p)) == NULL ||
		    lq_next(p) != 0 || lq_expect(p, T_EQ, "=") != 0 || lq_next(p) != 0)
			return -1;
		if (p->tok.kind == T_IDENT) {
			if ((n->expression = lq_tok_text_dup(p)) == NULL)
				return -1;
		} else if (p->tok.kind == T_STRING) {
			n->expression = lq_take_str(p);
			n->is_template = 1;
		} else {
			lq_unexpected(p, "IDENTIFIER or STRING");
			return -1;
		}
		if (lq_next(p) != 0)
			return -1;
		if (p->tok.kind != T_COMMA)
			return 0;
		if (lq_next(p) != 0)
			return -1;
	}
}

/* drop/keep name, name="value", name=~"re", ... */
static int
parse_drop_keep(struct parser *p, struct lt_stage *s)
{
	struct lt_matcher m;
	struct lt_named *n;
	int rc;

	for (;;) {
		if (lq_expect(p, T_IDENT, "IDENTIFIER") != 0)
			return -1;
		n = lq_append(p, (void **)&s->params, &s->n_params, sizeof(*n));
		if (n == NULL || (n->name = lq_tok_text_dup(p)) == NULL ||
		    lq_next(p) != 0)
			return -1;
		if (match_op(p->tok.kind, &n->op)) {
			memset(&m, 0, sizeof(m));
			rc = matcher_value(p, &m, NULL);
			n->op = m.op;
			n->expression = m.value;
			if (rc != 0)
				return -1;
		}
		if (p->tok.kind != T_COMMA)
			return 0;
		if (lq_next(p) != 0)
			return -1;
	}
}

/* ---- label filters ---- */

static int
too_deep(struct parser *p, int nest, size_t depth)
{
	if (nest > LT_LOGQL_MAX_DEPTH || depth > LT_LOGQL_MAX_DEPTH) {
		lq_fail_at(p, p->tok.start, "label filters nested deeper than "
			"LT_LOGQL_MAX_DEPTH (%d)", LT_LOGQL_MAX_DEPTH);
		return 1;
	}
	return 0;
}

static int
cmp_op(enum tok k, enum lt_cmp_op *op)
{
	switch (k) {
	case T_EQ: case T_CMP_EQ: *op = LT_CMP_EQ; return 1;
	case T_NEQ: *op = LT_CMP_NE; return 1;
	case T_GT: *op = LT_CMP_GT; return 1;
	case T_GE: *op = LT_CMP_GE; return 1;
	case T_LT: *op = LT_CMP_LT; return 1;
	case T_LE: *op = LT_CMP_LE; return 1;
	default: return 0;
	}
}

/* The right side of name CMP: a number (signed), a duration or a size.
 * ip_ok: after = or !=, where Loki would take an ip("...") filter. */
static int
filter_value(struct parser *p, struct lt_label_filter *f, int ip_ok)
{
	double sign = 1;

	switch (p->tok.kind) {
	case T_DURATION:
		f->kind = LT_LF_DURATION;
		break;
	case T_BYTES:
		f->kind = LT_LF_BYTES;
		break;
	case T_ADD:
	case T_SUB:
		sign = p->tok.kind == T_SUB ? -1 : 1;
		if (lq_next(p) != 0 || lq_expect(p, T_NUMBER, "NUMBER") != 0)
			return -1;
		/* FALLTHROUGH */
	case T_NUMBER:
		f->kind = LT_LF_NUMBER;
		break;
	case T_FUNC:
		if (ip_ok && strcmp(p->tok.name, "ip") == 0) {
			lq_fail_at(p, p->tok.start,
				"ip() label filters are not supported");
			return -1;
		}
		/* FALLTHROUGH */
	default:
		lq_unexpected(p, NULL);
		return -1;
	}
	f->number = sign * p->tok.num;
	return lq_next(p);
}

/* name OP value, or ( filters ). */
static struct lt_label_filter *
filter_primary(struct parser *p, int nest, size_t *depth)
{
	struct lt_label_filter *f;
	enum lt_match_op mop;

	if (p->tok.kind == T_LPAREN) {
		if (too_deep(p, nest + 1, 0) || lq_next(p) != 0)
			return NULL;
		if ((f = lq_filter_expr(p, 0, nest + 1, depth)) == NULL)
			return NULL;
		if (lq_expect(p, T_RPAREN, NULL) != 0 || lq_next(p) != 0) {
			lq_free_filter(f);
			return NULL;
		}
		return f;
	}
	if (lq_expect(p, T_IDENT, NULL) != 0)
		return NULL;
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		lq_oom(p);
		return NULL;
	}
	*depth = 1;
	if ((f->name = lq_tok_text_dup(p)) == NULL || lq_next(p) != 0)
		goto fail;
	if (match_op(p->tok.kind, &mop)) {
		if (lq_next(p) != 0)
			goto fail;
		/* = and != also compare numbers, durations and sizes. */
		if (p->tok.kind != T_STRING &&
		    (mop == LT_MATCH_EQ || mop == LT_MATCH_NE)) {
			f->cmp = mop == LT_MATCH_EQ ? LT_CMP_EQ : LT_CMP_NE;
			if (filter_value(p, f, 1) != 0)
				goto fail;
			return f;
		}
		f->kind = LT_LF_STRING;
		f->matcher.name = f->name;
		f->name = NULL;
		f->matcher.op = mop;
		if (lq_expect(p, T_STRING, "STRING") != 0)
			goto fail;
		f->matcher.value = lq_take_str(p);
		if ((mop == LT_MATCH_RE || mop == LT_MATCH_NRE) &&
		    check_regex(p, f->matcher.value, 1, 0) != 0)
			goto fail;
		if (lq_next(p) != 0)
			goto fail;
		return f;
	}
	if (!cmp_op(p->tok.kind, &f->cmp)) {
		lq_unexpected(p, NULL);
		goto fail;
	}
	if (lq_next(p) != 0 || filter_value(p, f, 0) != 0)
		goto fail;
	return f;
fail:
	lq_free_filter(f);
	return NULL;
}

static struct lt_label_filter *
join(struct parser *p, enum lt_label_filter_kind kind,
     struct lt_label_filter *left, struct lt_label_filter *right)
{
	struct lt_label_filter *f;

	if ((f = calloc(1, sizeof(*f))) == NULL) {
		lq_oom(p);
		lq_free_filter(left);
		lq_free_filter(right);
		return NULL;
	}
	f->kind = kind;
	f->left = left;
	f->right = right;
	return f;
}

static int
starts_filter(enum tok k)
{
	return k == T_IDENT || k == T_LPAREN || k == T_BAD;
}

/* Label filters as expr.y's yacc tables read them: `and` binds tighter
 * than `or`, both to the left; after `,` or a space (rules without a
 * precedence, where yacc shifts), the right side is all the rest.
 * min_prec: 0 any, 1 or, 2 and. */
struct lt_label_filter *
lq_filter_expr(struct parser *p, int min_prec, int nest, size_t *depth)
{
	struct lt_label_filter *left, *right;
	size_t dl, dr;
	int prec;

	if (too_deep(p, nest, 0))
		return NULL;
	if ((left = filter_primary(p, nest, &dl)) == NULL)
		return NULL;
	for (;;) {
		if (p->tok.kind == T_COMMA || starts_filter(p->tok.kind)) {
			if (p->tok.kind == T_COMMA && lq_next(p) != 0)
				goto fail;
			if ((right = lq_filter_expr(p, 0, nest + 1, &dr)) == NULL)
				goto fail;
			dl = 1 + (dl > dr ? dl : dr);
			if ((left = join(p, LT_LF_AND, left, right)) == NULL)
				return NULL;
			if (too_deep(p, nest, dl))
				goto fail;
			break;
		}
		if (p->tok.kind == T_AND)
			prec = 2;
		else if (p->tok.kind == T_OR)
			prec = 1;
		else
			break;
		if (prec < min_prec)
			break;
		if (lq_next(p) != 0)
			goto fail;
		if ((right = lq_filter_expr(p, prec + 1, nest + 1, &dr)) == NULL)
			goto fail;
		dl = 1 + (dl > dr ? dl : dr);
		left = join(p, prec == 2 ? LT_LF_AND : LT_LF_OR, left, right);
		if (left == NULL)
			return NULL;
		if (too_deep(p, nest, dl))
			goto fail;
	}
	*depth = dl;
	return left;
fail:
	lq_free_filter(left);
	return NULL;
}

/* ---- the pipeline ---- */

/* After "|": a parser, a formatter or a label filter. */
static int
parse_pipe_stage(struct parser *p, struct lt_logql *q)
{
	struct lt_stage *s;
	size_t depth;

	switch (p->tok.kind) {
	case T_JSON:
		if ((s = new_stage(p, q, LT_STAGE_JSON)) == NULL || lq_next(p) != 0)
			return -1;
		return p->tok.kind == T_IDENT ? parse_extractions(p, s) : 0;
	case T_LOGFMT:
		if ((s = new_stage(p, q, LT_STAGE_LOGFMT)) == NULL || lq_next(p) != 0)
			return -1;
		while (p->tok.kind == T_FLAG) {
			if (p->text[p->tok.start + 2] == 's')
				s->logfmt_strict = 1;
			else
				s->logfmt_keep_empty = 1;
			if (lq_next(p) != 0)
				return -1;
		}
		return p->tok.kind == T_IDENT ? parse_extractions(p, s) : 0;
	case T_REGEXP:
	case T_PATTERN:
		s = new_stage(p, q, p->tok.kind == T_REGEXP ? LT_STAGE_REGEXP :
			      LT_STAGE_PATTERN);
		if (s == NULL || lq_next(p) != 0 ||
		    lq_expect(p, T_STRING, "STRING") != 0)
			return -1;
		s->text = lq_take_str(p);
		if (s->kind == LT_STAGE_REGEXP &&
		    check_regex(p, s->text, 0, 1) != 0)
			return -1;
		return lq_next(p);
	case T_UNPACK:
	case T_DECOLORIZE:
		s = new_stage(p, q, p->tok.kind == T_UNPACK ? LT_STAGE_UNPACK :
			      LT_STAGE_DECOLORIZE);
		return s == NULL ? -1 : lq_next(p);
	case T_LINE_FMT:
		if ((s = new_stage(p, q, LT_STAGE_LINE_FORMAT)) == NULL ||
		    lq_next(p) != 0 || lq_expect(p, T_STRING, "STRING") != 0)
			return -1;
		s->text = lq_take_str(p);
		return lq_next(p);
	case T_LABEL_FMT:
		if ((s = new_stage(p, q, LT_STAGE_LABEL_FORMAT)) == NULL ||
		    lq_next(p) != 0)
			return -1;
		return parse_label_format(p, s);
	case T_DROP:
	case T_KEEP:
		s = new_stage(p, q, p->tok.kind == T_DROP ? LT_STAGE_DROP :
			      LT_STAGE_KEEP);
		if (s == NULL || lq_next(p) != 0)
			return -1;
		return parse_drop_keep(p, s);
	case T_IDENT:
	case T_LPAREN:
		if ((s = new_stage(p, q, LT_STAGE_LABEL_FILTER)) == NULL)
			return -1;
		s->filter = lq_filter_expr(p, 0, 0, &depth);
		return s->filter == NULL ? -1 : 0;
	default:
		lq_unexpected(p, NULL);
		return -1;
	}
}

int
lq_parse_pipeline(struct parser *p, struct lt_logql *q)
{
	for (;;) {
		switch (p->tok.kind) {
		case T_PIPE_EXACT:
		case T_PIPE_MATCH:
		case T_PIPE_PATTERN:
		case T_NEQ:
		case T_NRE:
		case T_NPA:
			if (parse_line_filter(p, q) != 0)
				return -1;
			break;
		case T_PIPE:
			if (lq_next(p) != 0)
				return -1;
			if (p->in_range && p->tok.kind == T_KEYWORD &&
			    strcmp(p->tok.name, "unwrap") == 0) {
				p->at_unwrap = 1;
				return 0;
			}
			if (parse_pipe_stage(p, q) != 0)
				return -1;
			break;
		default:
			return 0;
		}
	}
}

static int
metric_start(enum tok k)
{
	return k == T_FUNC || k == T_NUMBER || k == T_DURATION ||
	       k == T_BYTES || k == T_ADD || k == T_SUB;
}

/* logExpr: selector pipeline, or ( logExpr ). */
static int
parse_query(struct parser *p, struct lt_logql *q)
{
	size_t parens = 0;

	if (lq_next(p) != 0)
		return -1;
	while (p->tok.kind == T_LPAREN) {
		if (++parens > LT_LOGQL_MAX_DEPTH) {
			lq_fail_at(p, p->tok.start, "parentheses nested deeper "
				"than LT_LOGQL_MAX_DEPTH (%d)", LT_LOGQL_MAX_DEPTH);
			return -1;
		}
		if (lq_next(p) != 0)
			return -1;
	}
	if (metric_start(p->tok.kind)) {
		lq_fail_at(p, p->tok.start, "syntax error: unexpected %s: metric "
			"queries are not supported", lq_tok_name(&p->tok));
		return -1;
	}
	if (lq_expect(p, T_LBRACE, NULL) != 0 || lq_parse_selector(p, q) != 0 ||
	    lq_parse_pipeline(p, q) != 0)
		return -1;
	for (; parens > 0; parens--)
		if (lq_expect(p, T_RPAREN, NULL) != 0 || lq_next(p) != 0)
			return -1;
	return lq_expect(p, T_EOF, NULL);
}

/* Loki's validateMatchers: some matcher must refuse the empty value. */
int
lq_check_selective(struct parser *p, const struct lt_logql *q)
{
	size_t i;

	for (i = 0; i < q->n_matchers; i++)
		if (lt_matcher_matches(&q->matchers[i], "", 0) == 0)
			return 0;
	lq_say(p, "parse error : %s", ERR_EMPTY_COMPATIBLE);
	return -1;
}

static struct lt_logql *
parse(const char *text, size_t len, char *why, size_t whylen, int selector)
{
	struct parser p;
	struct lt_logql *q;

	memset(&p, 0, sizeof(p));
	p.text = text;
	p.len = len;
	p.why = why;
	p.whylen = whylen;
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (len > LT_LOGQL_MAX_LEN) {
		lq_say(&p, "parse error : input size too long (%zu > %d): "
		    "LT_LOGQL_MAX_LEN", len, LT_LOGQL_MAX_LEN);
		return NULL;
	}
	if (text == NULL)
		p.text = "";
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		lq_oom(&p);
		return NULL;
	}
	if (parse_query(&p, q) != 0 || lq_check_selective(&p, q) != 0)
		goto fail;
	if (selector && q->n_stages > 0) {
		lq_say(&p, "only label matchers are supported");
		goto fail;
	}
	free(p.tok.str);
	return q;
fail:
	if (!p.failed)
		lq_oom(&p);
	free(p.tok.str);
	lt_logql_free(q);
	return NULL;
}

struct lt_logql *
lt_logql_parse(const char *text, size_t len, char *why, size_t whylen)
{
	return parse(text, len, why, whylen, 0);
}

struct lt_logql *
lt_logql_parse_selector(const char *text, size_t len, char *why,
			size_t whylen)
{
	return parse(text, len, why, whylen, 1);
}
