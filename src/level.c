/* detected_level as Loki's distributor decides it: from a label, metadata,
 * severity_number, or the line's fields and words (level.h). */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "labels.h"
#include "level.h"

/* Loki reads JSON this many objects deep for a level field
 * (log_level_from_json_max_depth): the top object and the ones in it. */
#define JSON_MAX_DEPTH 2
/* Longer than any level word and any name of lt_level_fields: a value
 * or key that does not fit cannot match one. */
#define WORD_MAX 16
#define RUNE_ERROR 0xfffdu

#define LEVEL_FIELDS(X) \
	X("level") X("LEVEL") X("Level") X("log.level") \
	X("severity") X("SEVERITY") X("Severity") X("SeverityText") \
	X("lvl") X("LVL") X("Lvl") \
	X("severity_text") X("Severity_Text") X("SEVERITY_TEXT")
#define FIELD_NAME(s) s,
#define FIELD_LEN(s) sizeof(s) - 1,

const char *const lt_level_fields[] = {LEVEL_FIELDS(FIELD_NAME)};
const size_t lt_level_n_fields =
	sizeof(lt_level_fields) / sizeof(lt_level_fields[0]);
/* Their lengths: a name of another length needs no comparison. */
static const size_t field_len[] = {LEVEL_FIELDS(FIELD_LEN)};

struct word {
	const char *word;
	const char *level;
};

/* The spellings normalizeLogLevel knows. */
static const struct word value_words[] = {
	{"trace", "trace"}, {"trc", "trace"},
	{"debug", "debug"}, {"dbg", "debug"},
	{"info", "info"}, {"inf", "info"}, {"information", "info"},
	{"warn", "warn"}, {"wrn", "warn"}, {"warning", "warn"},
	{"error", "error"}, {"err", "error"},
	{"critical", "critical"}, {"fatal", "fatal"},
};

/* The words looked for in a line, in Loki's order: the first word that
 * stands alone wins, wherever it is. */
static const struct word line_words[] = {
	{"trace", "trace"}, {"debug", "debug"}, {"fatal", "fatal"},
	{"critical", "critical"}, {"error", "error"}, {"err", "error"},
	{"warning", "warn"}, {"warn", "warn"}, {"info", "info"},
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static int
ascii_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static int
ascii_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* Go's utf8.DecodeRune: the code point at s[0], or RUNE_ERROR with a
 * width of 1 for a byte that does not start a valid sequence. */
static size_t
decode_rune(const char *str, size_t len, uint32_t *r)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char lo = 0x80, hi = 0xbf;
	size_t need, i;
	uint32_t cp;

	if (s[0] < 0x80) {
		*r = s[0];
		return 1;
	}
	*r = RUNE_ERROR;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		need = 1;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 2;
		cp = s[0] & 0x0f;
		lo = s[0] == 0xe0 ? 0xa0 : 0x80;
		hi = s[0] == 0xed ? 0x9f : 0xbf;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 3;
		cp = s[0] & 0x07;
		lo = s[0] == 0xf0 ? 0x90 : 0x80;
		hi = s[0] == 0xf4 ? 0x8f : 0xbf;
	} else {
		return 1;
	}
	if (len <= need || s[1] < lo || s[1] > hi)
		return 1;
	for (i = 1; i <= need; i++) {
		if (i > 1 && (s[i] & 0xc0) != 0x80)
			return 1;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	*r = cp;
	return need + 1;
}

/* --- Normalizing ------------------------------------------------------ */

/* bytes.EqualFold of a value and a level word.  No level word holds a
 * letter whose case folding reaches outside ASCII (k and s do), so an
 * ASCII comparison gives Go's answer. */
static int
fold_equal(const char *v, size_t len, const char *word)
{
	size_t i;

	if (strlen(word) != len)
		return 0;
	for (i = 0; i < len; i++)
		if (ascii_lower((unsigned char)v[i]) != word[i])
			return 0;
	return 1;
}

/* The level a value spells, or NULL. */
static const char *
value_level(const char *v, size_t len)
{
	size_t i;

	for (i = 0; i < N_OF(value_words); i++)
		if (fold_equal(v, len, value_words[i].word))
			return value_words[i].level;
	return NULL;
}

const char *
lt_level_normalize(const char *v, size_t len, size_t *out_len)
{
	const char *level = value_level(v, len);

	if (level == NULL) {
		*out_len = len;
		return v;
	}
	*out_len = strlen(level);
	return level;
}

/* --- Words in a line -------------------------------------------------- */

/* Code points whose lower case ends, in UTF-8, in a byte of the other
 * kind than their own: letter (0xaa, 0xb5 or 0xba, read by Go's
 * isWordBoundary as Latin-1 letters) or not.  Made from Unicode's simple
 * lower-case mapping, as Go's unicode.ToLower applies it; U+0130 turns
 * into "i". */
static const uint32_t flip_before[] = {
	0x00ca, 0x00d5, 0x00da, 0x012a, 0x0130, 0x0134, 0x0139, 0x016a,
	0x0174, 0x0179, 0x019f, 0x01b5, 0x01ea, 0x01f4, 0x01fa, 0x022a,
	0x023a, 0x0395, 0x039a, 0x03aa, 0x03ea, 0x03fa, 0x0415, 0x041a,
	0x042a, 0x046a, 0x0474, 0x047a, 0x04aa, 0x04b4, 0x04ba, 0x04ea,
	0x04f4, 0x04fa, 0x052a, 0x0535, 0x0545, 0x054a, 0x10aa, 0x10b5,
	0x10ba, 0x13a5, 0x13b5, 0x13ba, 0x13da, 0x13e5, 0x13f2, 0x13f5,
	0x1e2a, 0x1e34, 0x1e3a, 0x1e6a, 0x1e74, 0x1e7a, 0x1eaa, 0x1eb4,
	0x1eba, 0x1eea, 0x1ef4, 0x1efa, 0x1f2a, 0x1f3a, 0x1f3d, 0x1f6a,
	0x1faa, 0x1fba, 0x1fcb, 0x1ffa, 0x2165, 0x24ba, 0x2c05, 0x2c0a,
	0x2c2a, 0x2c69, 0x2c75, 0x2caa, 0x2cb4, 0x2cba, 0xa66a, 0xa72a,
	0xa734, 0xa73a, 0xa76a, 0xa779, 0xa7aa, 0xa7ae, 0xa7b4, 0xa7ba,
	0xa7f5, 0xff2a, 0xff35, 0xff3a, 0x10402, 0x1040d, 0x10412, 0x104b5,
	0x104ba, 0x104c2, 0x104cd, 0x104d2, 0x10575, 0x1057a, 0x10583,
	0x1058e, 0x118aa, 0x118b5, 0x118ba, 0x16e4a, 0x16e55, 0x16e5a,
	0x1e908, 0x1e913, 0x1e918,
};

static int
in_flip_before(uint32_t r)
{
	size_t lo = 0, hi = N_OF(flip_before), mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (flip_before[mid] == r)
			return 1;
		if (flip_before[mid] < r)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* The ASCII letter a code point turns into in Go's strings.ToLower, or
 * -1 when it stays outside ASCII. */
static int
lowered_ascii(uint32_t r)
{
	if (r < 0x80)
		return ascii_lower((int)r);
	if (r == 0x130)
		return 'i';
	if (r == 0x212a)
		return 'k';
	return -1;
}

/* Loki lower-cases the line and then looks at single bytes around a
 * word: a boundary is a byte that, read as a Latin-1 code point, is
 * not a letter, a digit or '_'.  So before a word, a character outside
 * ASCII is judged by the last byte of its lower case in UTF-8; after a
 * word, by the first, which is a letter for every lead byte but 0xd7
 * (U+05C0 to U+05FF, which have no case). */
static int
boundary_before(uint32_t prev)
{
	uint32_t low6;
	int letter;

	if (prev < 0x80)
		return !(ascii_alnum((int)prev) || prev == '_');
	low6 = prev & 0x3f;
	letter = low6 == 0x2a || low6 == 0x35 || low6 == 0x3a;
	if (in_flip_before(prev))
		letter = !letter;
	return !letter;
}

static int
boundary_after(uint32_t next)
{
	if (next < 0x80)
		return !(ascii_alnum((int)next) || next == '_');
	return next >= 0x5c0 && next <= 0x5ff;
}

/* Whether word (lower case ASCII) starts at s[i] of the lowered line;
 * *end gets the offset after it. */
static int
word_at(const char *s, size_t len, size_t i, const char *word, size_t *end)
{
	uint32_t r;

	for (; *word != '\0'; word++) {
		if (i >= len)
			return 0;
		if ((unsigned char)s[i] < 0x80) {
			if (ascii_lower((unsigned char)s[i++]) != *word)
				return 0;
			continue;
		}
		i += decode_rune(s + i, len - i, &r);
		if (lowered_ascii(r) != *word)
			return 0;
	}
	*end = i;
	return 1;
}

/* Bit i: line_words[i] starts with the letter a byte lowers to (kept in
 * step with line_words).  The line is searched once for all words, not
 * once per word, and a byte with no bit here costs a single look-up. */
#define W(c, bits) [c] = (bits), [(c) - 'a' + 'A'] = (bits)
static const uint16_t word_starts[128] = {
	W('t', 1u << 0), W('d', 1u << 1), W('f', 1u << 2), W('c', 1u << 3),
	W('e', 1u << 4 | 1u << 5), W('w', 1u << 6 | 1u << 7), W('i', 1u << 8),
};
#undef W
/* The second letter of the words a byte may start, one for each first
 * letter: a word is tried only where it follows, which a line's bytes
 * seldom give.  These letters lower only from their ASCII capitals
 * (c | 0x20), not from any character outside ASCII. */
#define S(c, second) [c] = (second), [(c) - 'a' + 'A'] = (second)
static const char second_letter[128] = {
	S('t', 'r'), S('d', 'e'), S('f', 'a'), S('c', 'r'), S('e', 'r'),
	S('w', 'a'), S('i', 'n'),
};
#undef S
#define ALL_WORDS ((1u << N_OF(line_words)) - 1)

/* The words that may start at a code point: those starting with the
 * ASCII letter it lowers to (U+0130 lowers to i). */
static unsigned
words_starting(uint32_t r)
{
	if (r < 0x80)
		return word_starts[r];
	return r == 0x130 ? word_starts['i'] : 0;
}

/* The first occurrence of each of the words in the line (Go's
 * strings.Index) starts at s[i], after the code point prev: whether it
 * stands alone (isWordBoundary on both sides) goes into *alone, and the
 * word is not looked for again. */
static void
judge_words(const char *s, size_t len, size_t i, uint32_t prev,
	    unsigned words, unsigned *todo, unsigned *alone)
{
	uint32_t next;
	size_t w, end;

	for (; words != 0; words &= words - 1) {
		w = (size_t)__builtin_ctz(words);
		if (!word_at(s, len, i, line_words[w].word, &end))
			continue;
		*todo &= ~(1u << w);
		if (!boundary_before(prev))
			continue;
		if (end < len)
			(void)decode_rune(s + end, len - end, &next);
		if (end == len || boundary_after(next))
			*alone |= 1u << w;
	}
}

#if defined(__SSE2__)
#include <emmintrin.h>

#define SKIP_STEP 16

/* Bit k: s[k] to s[k + 2] may start a level word (they are, with
 * ASCII case folding, one of its first three letters), or s[k] is not
 * ASCII.  A word's first two letters lower only from their ASCII
 * capitals (second_letter); its third may also come from a character
 * outside ASCII (U+0130 lowers to the i of "critical"), so a byte that
 * is not ASCII passes there.  Three letters, not two: "er" of "user"
 * and "orders" and "in" of "Windows" and "Linux" are everywhere, "err"
 * and "inf" are not.  Reads s[0] to s[17]. */
static unsigned
maybe_words16(const unsigned char *s)
{
	const __m128i fold = _mm_set1_epi8(0x20);
	__m128i raw = _mm_loadu_si128((const __m128i *)s);
	__m128i raw3 = _mm_loadu_si128((const __m128i *)(s + 2));
	__m128i a = _mm_or_si128(raw, fold);
	__m128i b = _mm_or_si128(_mm_loadu_si128((const __m128i *)(s + 1)), fold);
	__m128i c = _mm_or_si128(raw3, fold);
	__m128i wide3 = _mm_cmplt_epi8(raw3, _mm_setzero_si128());
	__m128i hit;

#define EQ(v, ch) _mm_cmpeq_epi8((v), _mm_set1_epi8(ch))
#define WORD3(x, y, z) \
	_mm_and_si128(_mm_and_si128(EQ(a, x), EQ(b, y)), \
		      _mm_or_si128(EQ(c, z), wide3))
	hit = _mm_or_si128(WORD3('t', 'r', 'a'), WORD3('d', 'e', 'b'));
	hit = _mm_or_si128(hit, WORD3('f', 'a', 't'));
	hit = _mm_or_si128(hit, WORD3('c', 'r', 'i'));
	hit = _mm_or_si128(hit, WORD3('e', 'r', 'r'));
	hit = _mm_or_si128(hit, WORD3('w', 'a', 'r'));
	hit = _mm_or_si128(hit, WORD3('i', 'n', 'f'));
#undef WORD3
#undef EQ
	return (unsigned)(_mm_movemask_epi8(hit) | _mm_movemask_epi8(raw));
}

/* Moves *i past the ASCII bytes that cannot start a word, 16 at a
 * time, to the first byte that may or is not ASCII (or to the end);
 * *prev gets the byte before it.  The last bytes of the line are
 * looked at in a copy padded with zeros, which start no word. */
static void
skip_plain(const unsigned char *s, size_t len, size_t *i, uint32_t *prev)
{
	unsigned char tail[SKIP_STEP + 2];
	size_t k = *i, n;
	unsigned m;

	while (k < len) {
		n = len - k;
		if (n > SKIP_STEP + 1) {
			m = maybe_words16(s + k);
		} else {
			memset(tail, 0, sizeof(tail));
			memcpy(tail, s + k, n);
			m = maybe_words16(tail) & ((1u << n) - 1);
		}
		if (m != 0) {
			k += (size_t)__builtin_ctz(m);
			break;
		}
		k += n < SKIP_STEP ? n : SKIP_STEP;
	}
	if (k > *i)
		*prev = s[k - 1];
	*i = k;
}
#else
static void
skip_plain(const unsigned char *s, size_t len, size_t *i, uint32_t *prev)
{
	(void)s;
	(void)len;
	(void)i;
	(void)prev;
}
#endif

/* Loki tries the words in order, each at its first occurrence only;
 * this walks the line once and stops when the answer cannot change. */
const char *
lt_level_of_words(const char *line, size_t len)
{
	const unsigned char *s = (const unsigned char *)line;
	unsigned todo = ALL_WORDS, alone = 0, words;
	uint32_t prev = ' ', r;
	size_t i = 0, w;

	while (i < len && todo != 0) {
		/* i is where a code point starts, prev the one before. */
		skip_plain(s, len, &i, &prev);
		if (i >= len)
			break;
		if (s[i] < 0x80) {
			r = s[i];
			words = word_starts[s[i]] & todo;
			if (words != 0 && (i + 1 == len ||
			    (s[i + 1] | 0x20) != second_letter[s[i]]))
				words = 0;
			w = 1;
		} else {
			w = decode_rune(line + i, len - i, &r);
			words = words_starting(r) & todo;
		}
		if (words != 0) {
			judge_words(line, len, i, prev, words, &todo, &alone);
			/* A word that stands alone wins once no word before
			 * it in Loki's order is still to be found. */
			if (alone != 0 && (todo & ((alone & -alone) - 1)) == 0)
				break;
		}
		prev = r;
		i += w;
	}
	for (w = 0; w < N_OF(line_words); w++)
		if (alone & 1u << w)
			return line_words[w].level;
	return "unknown";
}

/* --- JSON ------------------------------------------------------------- */

/* Go's unicode.IsSpace. */
static int
is_space(uint32_t r)
{
	if (r <= 0xff)
		return (r >= '\t' && r <= '\r') || r == ' ' || r == 0x85 ||
		       r == 0xa0;
	return r == 0x1680 || (r >= 0x2000 && r <= 0x200a) || r == 0x2028 ||
	       r == 0x2029 || r == 0x202f || r == 0x205f || r == 0x3000;
}

/* Loki's isJSON: the first character that is not a space is '{' and
 * the last byte that is not one (each byte read as Latin-1) is '}'. */
static int
looks_like_json(const char *s, size_t len)
{
	uint32_t first = 0, r;
	size_t i = 0, n;

	while (i < len) {
		n = decode_rune(s + i, len - i, &r);
		if (!is_space(r)) {
			first = r;
			break;
		}
		i += n;
	}
	for (n = len; n > 0; n--)
		if (!is_space((unsigned char)s[n - 1]))
			return first == '{' && s[n - 1] == '}';
	return 0;
}

/* What the walk of buger/jsonparser's ObjectEach comes to. */
enum jstep {
	J_STOP = -1, /* malformed: the walk ends, nothing found */
	J_GO_ON = 0,
	J_FOUND = 1,
};

enum jtype { JT_STRING, JT_NUMBER, JT_OBJECT, JT_ARRAY, JT_BOOL, JT_NULL };

/* jsonparser's nextToken: the offset of the first byte that is not
 * JSON white space, or -1. */
static long
next_token(const char *d, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (d[i] != ' ' && d[i] != '\n' && d[i] != '\r' && d[i] != '\t')
			return (long)i;
	return -1;
}

/* jsonparser's stringEnd, d just after the opening quote: the offset
 * after the closing quote, or -1; *escaped when a backslash came. */
static long
string_end(const char *d, size_t len, int *escaped)
{
	size_t i;
	long j;

	*escaped = 0;
	for (i = 0; i < len; i++) {
		if (d[i] == '\\') {
			*escaped = 1;
			continue;
		}
		if (d[i] != '"')
			continue;
		if (!*escaped)
			return (long)i + 1;
		/* Escaped by an odd number of backslashes, or not. */
		for (j = (long)i - 1; j >= 0 && d[j] == '\\'; j--)
			;
		if (((long)i - 1 - j) % 2 == 0)
			return (long)i + 1;
	}
	return -1;
}

/* jsonparser's blockEnd: the offset after the bracket that closes the
 * one at d[0], counting only open and close, or -1. */
static long
block_end(const char *d, size_t len, char open, char close)
{
	size_t i = 0;
	long level = 0, se;
	int esc;

	for (; i < len; i++) {
		if (d[i] == '"') {
			se = string_end(d + i + 1, len - i - 1, &esc);
			if (se < 0)
				return -1;
			i += (size_t)se;
		} else if (d[i] == open) {
			level++;
		} else if (d[i] == close && --level == 0) {
			return (long)i + 1;
		}
	}
	return -1;
}

static size_t
token_end(const char *d, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (memchr(" \n\r\t,}]", d[i], 7) != NULL)
			return i;
	return len;
}

static int
literal_is(const char *v, size_t len, const char *lit)
{
	return len == strlen(lit) && memcmp(v, lit, len) == 0;
}

struct jvalue {
	const char *p; /* a string without its quotes, or the whole value */
	size_t len;
	enum jtype type;
	size_t end;    /* offset after the value */
};

/* jsonparser's Get without keys: the value at the first token of d.
 * Returns 0, or -1 for a malformed value. */
static int
get_value(const char *d, size_t len, struct jvalue *v)
{
	long t = next_token(d, len), e;
	size_t o;
	int esc;

	if (t < 0)
		return -1;
	o = (size_t)t;
	v->p = d + o;
	if (d[o] == '"') {
		e = string_end(d + o + 1, len - o - 1, &esc);
		if (e < 0)
			return -1;
		v->type = JT_STRING;
		v->p = d + o + 1;
		v->len = (size_t)e - 1;
		v->end = o + (size_t)e + 1;
		return 0;
	}
	if (d[o] == '[' || d[o] == '{') {
		e = d[o] == '[' ? block_end(d + o, len - o, '[', ']')
				: block_end(d + o, len - o, '{', '}');
		if (e < 0)
			return -1;
		v->type = d[o] == '[' ? JT_ARRAY : JT_OBJECT;
		v->len = (size_t)e;
		v->end = o + (size_t)e;
		return 0;
	}
	/* A number, true, false or null: up to the next delimiter. */
	v->len = token_end(d + o, len - o);
	v->end = o + v->len;
	if (d[o] == 't' || d[o] == 'f') {
		v->type = JT_BOOL;
		return literal_is(v->p, v->len, "true") ||
		       literal_is(v->p, v->len, "false") ? 0 : -1;
	}
	if (d[o] == 'u' || d[o] == 'n') {
		v->type = JT_NULL;
		return literal_is(v->p, v->len, "null") ? 0 : -1;
	}
	v->type = JT_NUMBER;
	return (d[o] >= '0' && d[o] <= '9') || d[o] == '-' ? 0 : -1;
}

/* jsonparser's decodeSingleUnicodeEscape: the four hex digits after
 * "\u" (the first two bytes are not checked), or -1. */
static long
hex4(const char *in, size_t len)
{
	long r = 0;
	size_t i;
	int h;

	if (len < 6)
		return -1;
	for (i = 2; i < 6; i++) {
		h = lt_hex_digit((unsigned char)in[i]);
		if (h < 0)
			return -1;
		r = r << 4 | h;
	}
	return r;
}

/* Appends a byte to a bounded key; past the bound the key only
 * counts as too long. */
static void
put_byte(char *buf, size_t *n, int c)
{
	if (*n < WORD_MAX)
		buf[*n] = (char)c;
	(*n)++;
}

/* jsonparser's escape of a key at in[0] (a backslash): its width, or
 * -1 when malformed.  A character outside ASCII is written as 0x80: no
 * field name holds one. */
static long
unescape_one(const char *in, size_t len, char *buf, size_t *n)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *at;
	long r, r2;

	if (len < 2)
		return -1;
	at = in[1] != '\0' ? strchr(from, in[1]) : NULL;
	if (at != NULL) {
		put_byte(buf, n, to[at - from]);
		return 2;
	}
	if (in[1] != 'u' || (r = hex4(in, len)) < 0)
		return -1;
	if (r < 0xd800 || r > 0xdfff) {
		put_byte(buf, n, r < 0x80 ? (int)r : 0x80);
		return 6;
	}
	r2 = hex4(in + 6, len - 6);
	if (r2 < 0xdc00)
		return -1;
	put_byte(buf, n, 0x80);
	return 12;
}

/* Whether a key, as jsonparser's ObjectEach unescapes it, is one of
 * lt_level_fields: 1 or 0, or -1 when its escapes are malformed (which
 * ends the walk). */
static int
key_is_field(const char *k, size_t len, int escaped)
{
	char buf[WORD_MAX];
	size_t i = 0, n = 0, f;
	long w;

	while (i < len) {
		if (!escaped || k[i] != '\\') {
			put_byte(buf, &n, (unsigned char)k[i++]);
			continue;
		}
		w = unescape_one(k + i, len - i, buf, &n);
		if (w < 0)
			return -1;
		i += (size_t)w;
	}
	if (n > WORD_MAX)
		return 0;
	for (f = 0; f < lt_level_n_fields; f++)
		if (literal_is(buf, n, lt_level_fields[f]))
			return 1;
	return 0;
}

/* One member of an object: the key at d[*o] (just past its quote), the
 * colon and the value.  Moves *o past the value. */
static enum jstep object_each(const char *d, size_t len, int depth,
			      const char **val, size_t *val_len);

static enum jstep
member(const char *d, size_t len, size_t *o, int depth, const char **val,
       size_t *val_len)
{
	struct jvalue v;
	const char *key = d + *o;
	long t;
	int esc, is_field;
	size_t key_len;

	t = string_end(d + *o, len - *o, &esc);
	if (t < 0)
		return J_STOP;
	key_len = (size_t)t - 1;
	*o += (size_t)t;
	is_field = key_is_field(key, key_len, esc);
	if (is_field < 0)
		return J_STOP;
	t = next_token(d + *o, len - *o);
	if (t < 0 || d[*o + (size_t)t] != ':')
		return J_STOP;
	*o += (size_t)t + 1;
	if (get_value(d + *o, len - *o, &v) < 0)
		return J_STOP;
	*o += v.end;
	if (v.type == JT_STRING && is_field) {
		*val = v.p;
		*val_len = v.len;
		return J_FOUND;
	}
	if (v.type == JT_OBJECT && depth + 1 < JSON_MAX_DEPTH)
		return object_each(v.p, v.len, depth + 1, val, val_len);
	return J_GO_ON;
}

/* Loki's getLevelUsingJSONParser over buger/jsonparser's ObjectEach:
 * members in order, the first string member named by lt_level_fields
 * wins, objects are searched as they come. */
static enum jstep
object_each(const char *d, size_t len, int depth, const char **val,
	    size_t *val_len)
{
	enum jstep step;
	long t = next_token(d, len);
	size_t o;

	if (t < 0 || d[t] != '{')
		return J_STOP;
	o = (size_t)t + 1;
	t = next_token(d + o, len - o);
	if (t < 0)
		return J_STOP;
	o += (size_t)t;
	while (o < len) {
		if (d[o] == '}')
			return J_GO_ON;
		if (d[o] != '"')
			return J_STOP;
		o++;
		step = member(d, len, &o, depth, val, val_len);
		if (step != J_GO_ON)
			return step;
		t = next_token(d + o, len - o);
		if (t < 0)
			return J_STOP;
		o += (size_t)t;
		if (d[o] == '}')
			return J_GO_ON;
		if (d[o] != ',')
			return J_STOP;
		o++;
		t = next_token(d + o, len - o);
		if (t < 0)
			return J_STOP;
		o += (size_t)t;
	}
	return J_STOP;
}

/* --- logfmt ----------------------------------------------------------- */

/* Loki's logfmt decoder (pkg/logql/log/logfmt), one key=value at a
 * time.  A quoted value with escapes is unescaped into buf, bounded:
 * a longer one cannot be a level word. */
struct logfmt {
	const char *s;
	size_t len, pos;
	const char *key, *val;
	size_t key_len, val_len;
	char buf[WORD_MAX];
};

/* Whether a key holds U+FFFD or a byte that is not UTF-8, which the
 * decoder refuses. */
static int
has_rune_error(const char *s, size_t len)
{
	uint32_t r;
	size_t i = 0;

	while (i < len) {
		i += decode_rune(s + i, len - i, &r);
		if (r == RUNE_ERROR)
			return 1;
	}
	return 0;
}

/* getu4 of go-logfmt: "\uXXXX" at s, or -1. */
static long
getu4(const char *s, size_t len)
{
	if (len < 6 || s[0] != '\\' || s[1] != 'u')
		return -1;
	return hex4(s, len);
}

/* One escape of unquoteBytes at s[*r] (just past the backslash).
 * Returns 0, or -1 when it is invalid. */
static int
unquote_escape(const char *s, size_t len, size_t *r, char *buf, size_t *w)
{
	static const char from[] = "\"\\/'bfnrt", to[] = "\"\\/'\b\f\n\r\t";
	const char *at = s[*r] != '\0' ? strchr(from, s[*r]) : NULL;
	long rr, rr1;

	if (at != NULL) {
		put_byte(buf, w, to[at - from]);
		(*r)++;
		return 0;
	}
	if (s[*r] != 'u')
		return -1;
	(*r)--;
	rr = getu4(s + *r, len - *r);
	if (rr < 0)
		return -1;
	*r += 6;
	if (rr >= 0xd800 && rr < 0xe000) {
		rr1 = getu4(s + *r, len - *r);
		if (rr < 0xdc00 && rr1 >= 0xdc00 && rr1 < 0xe000)
			*r += 6;
		rr = RUNE_ERROR;
	}
	put_byte(buf, w, rr < 0x80 ? (int)rr : 0x80);
	return 0;
}

/* go-logfmt's unquoteBytes of s[0..len) (the quotes included) into
 * lf->buf.  Returns 0, or -1 when the value is invalid. */
static int
unquote(struct logfmt *lf, const char *s, size_t len)
{
	size_t r = 1, w = 0;
	uint32_t rr;

	len--;
	while (r < len) {
		if (s[r] == '\\') {
			if (++r >= len || unquote_escape(s, len, &r, lf->buf, &w) < 0)
				return -1;
		} else if (s[r] == '"') {
			return -1;
		} else if ((unsigned char)s[r] < 0x80) {
			put_byte(lf->buf, &w, s[r++]);
		} else {
			r += decode_rune(s + r, len - r, &rr);
			put_byte(lf->buf, &w, 0x80);
		}
	}
	lf->val = lf->buf;
	lf->val_len = w;
	return 0;
}

/* The quoted value at s[pos] (its opening quote).  Returns 1, or 0
 * when it is unterminated or invalid, which ends the decoding. */
static int
quoted_value(struct logfmt *lf)
{
	size_t start = lf->pos, p;
	int has_esc = 0, esc = 0;

	for (p = start + 1; p < lf->len; p++) {
		if (esc) {
			esc = 0;
		} else if (lf->s[p] == '\\') {
			has_esc = esc = 1;
		} else if (lf->s[p] == '"') {
			lf->pos = p + 1;
			if (has_esc)
				return unquote(lf, lf->s + start, p + 1 - start) == 0;
			if (p > start + 1) {
				lf->val = lf->s + start + 1;
				lf->val_len = p - start - 1;
			}
			return 1;
		}
	}
	lf->pos = lf->len;
	return 0;
}

/* What follows "key=": returns 1 with the value (or none), 0 when the
 * decoding ends. */
static int
scan_value(struct logfmt *lf)
{
	size_t start;
	unsigned char c;

	if (++lf->pos >= lf->len)
		return 1;
	c = (unsigned char)lf->s[lf->pos];
	if (c <= ' ')
		return 1;
	if (c == '"')
		return quoted_value(lf);
	for (start = lf->pos; lf->pos < lf->len; lf->pos++) {
		c = (unsigned char)lf->s[lf->pos];
		if (c == '=' || c == '"')
			return 0;
		if (c <= ' ')
			break;
	}
	if (lf->pos > start) {
		lf->val = lf->s + start;
		lf->val_len = lf->pos - start;
	}
	return 1;
}

/* Decoder.ScanKeyval: 1 with the next key (and value, when there is
 * one), or 0 at the end of the line or on a syntax error. */
static int
scan_keyval(struct logfmt *lf)
{
	size_t start;
	int multibyte = 0;
	unsigned char c;

	lf->key = lf->val = NULL;
	lf->key_len = lf->val_len = 0;
	while (lf->pos < lf->len && (unsigned char)lf->s[lf->pos] <= ' ')
		lf->pos++;
	if (lf->pos >= lf->len)
		return 0;
	for (start = lf->pos; lf->pos < lf->len; lf->pos++) {
		c = (unsigned char)lf->s[lf->pos];
		if (c == '"')
			return 0;
		if (c == '=' || c <= ' ')
			break;
		if (c >= 0x80)
			multibyte = 1;
	}
	if (lf->pos == start)
		return 0; /* "=" with no key before it */
	lf->key = lf->s + start;
	lf->key_len = lf->pos - start;
	if (multibyte && has_rune_error(lf->key, lf->key_len))
		return 0;
	if (lf->pos < lf->len && lf->s[lf->pos] == '=')
		return scan_value(lf);
	return 1;
}

/* strings.EqualFold of a key and a field name (ASCII): besides ASCII
 * case, U+017F folds to s and U+212A to k. */
static int
key_folds_to(const char *k, size_t len, const char *name)
{
	size_t i = 0, n;
	uint32_t r;
	int h;

	for (; *name != '\0'; name++) {
		if (i >= len)
			return 0;
		n = decode_rune(k + i, len - i, &r);
		h = ascii_lower((unsigned char)*name);
		if (!(r < 0x80 && ascii_lower((int)r) == h) &&
		    !(r == 0x17f && h == 's') && !(r == 0x212a && h == 'k'))
			return 0;
		i += n;
	}
	return i == len;
}

/* Whether a key's first byte can start one that folds to a name of
 * lt_level_fields, all of which start with l or s: an ASCII l or s, or
 * the lead byte of U+017F, which folds to s.  Most keys of a line are
 * then passed over without comparing them with each name. */
static int
may_fold_to_field(const char *key, size_t len)
{
	int c;

	if (len == 0)
		return 0;
	c = ascii_lower((unsigned char)key[0]);
	return c == 'l' || c == 's' || (unsigned char)key[0] == 0xc5;
}

/* Loki's getValueUsingLogfmtParser with lt_level_fields as hints: the
 * value of the key matching the earliest field name, read through the
 * whole line unless it is the first.  Returns the level that value
 * spells, or NULL. */
static const char *
logfmt_level(const char *s, size_t len)
{
	struct logfmt lf;
	const char *level = NULL;
	size_t best = lt_level_n_fields, x;

	memset(&lf, 0, sizeof(lf));
	lf.s = s;
	lf.len = len;
	while (lf.pos < lf.len && scan_keyval(&lf)) {
		if (!may_fold_to_field(lf.key, lf.key_len))
			continue;
		for (x = 0; x < best; x++)
			if (key_folds_to(lf.key, lf.key_len, lt_level_fields[x]))
				break;
		if (x == best)
			continue;
		best = x;
		level = lf.val != NULL ? value_level(lf.val, lf.val_len) : NULL;
		if (x == 0)
			break;
	}
	return level;
}

/* Whether some '=' of the line follows three bytes that end a name of
 * lt_level_fields ("vel", "lvl", "ity", "ext", in any ASCII case): a
 * level comes out of logfmt_level only from a key of such a name with
 * '=' after it, and no character outside ASCII folds to these letters.
 * Lines with '=' but no such key ("GET /?user=1 ... rt=0.2") are then
 * not decoded as logfmt at all. */
static int
may_have_level_key(const char *s, size_t len)
{
	static const char ends[][3] = {
		{'v', 'e', 'l'}, {'l', 'v', 'l'}, {'i', 't', 'y'}, {'e', 'x', 't'},
	};
	const char *eq = s, *end = s + len;
	size_t e;

	while ((eq = memchr(eq, '=', (size_t)(end - eq))) != NULL) {
		for (e = 0; eq - s >= 3 && e < N_OF(ends); e++)
			if ((eq[-3] | 0x20) == ends[e][0] &&
			    (eq[-2] | 0x20) == ends[e][1] &&
			    (eq[-1] | 0x20) == ends[e][2])
				return 1;
		eq++;
	}
	return 0;
}

/* --- The whole decision ----------------------------------------------- */

const char *
lt_level_of_line(const char *line, size_t len)
{
	const char *level = NULL, *v = NULL;
	size_t vlen = 0;

	if (looks_like_json(line, len)) {
		if (object_each(line, len, 0, &v, &vlen) == J_FOUND)
			level = value_level(v, vlen);
	} else if (may_have_level_key(line, len)) {
		level = logfmt_level(line, len);
	}
	return level != NULL ? level : lt_level_of_words(line, len);
}

/* Whether a pair's name is lt_level_fields[f]. */
static int
is_field(const struct lt_label *l, size_t f)
{
	return l->name_len == field_len[f] &&
	       memcmp(l->name, lt_level_fields[f], field_len[f]) == 0;
}

/* The value of the first of lt_level_fields among pairs, in that list's
 * order; NULL when none is there with a value.  Every field name starts
 * with l or s: most names are passed over without a comparison. */
static const struct lt_label *
first_field(const struct lt_label *a, size_t n)
{
	const struct lt_label *best = NULL;
	size_t f, i, best_f = lt_level_n_fields;

	for (i = 0; i < n; i++) {
		if (a[i].value_len == 0 || a[i].name_len == 0 ||
		    ((a[i].name[0] | 0x20) != 'l' &&
		     (a[i].name[0] | 0x20) != 's'))
			continue;
		for (f = 0; f < best_f; f++)
			if (is_field(&a[i], f)) {
				best_f = f;
				best = &a[i];
				break;
			}
	}
	return best;
}

/* Go's strconv.Atoi: 0 with the value, or -1. */
static int
atoi_go(const char *s, size_t len, int64_t *out)
{
	uint64_t v = 0, lim = (uint64_t)INT64_MAX;
	size_t i = 0;
	int neg = 0;

	if (len > 0 && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		lim += (uint64_t)neg;
		i++;
	}
	if (i == len)
		return -1;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' ||
		    v > (lim - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

/* OpenTelemetry's severity number bands, as Loki reads them. */
static const char *
severity_level(const char *s, size_t len)
{
	int64_t n;

	if (atoi_go(s, len, &n) < 0)
		return "info";
	if (n == 0)
		return "unknown";
	if (n <= 4)
		return "trace";
	if (n <= 8)
		return "debug";
	if (n <= 12)
		return "info";
	if (n <= 16)
		return "warn";
	if (n <= 20)
		return "error";
	if (n <= 24)
		return "fatal";
	return "unknown";
}

const char *
lt_level_detect(const struct lt_label *labels, size_t n_labels,
		const struct lt_label *md, size_t n_md, const char *line,
		size_t line_len, size_t *len)
{
	const struct lt_label *l = first_field(labels, n_labels);
	const char *level;
	size_t i;

	if (l == NULL)
		l = first_field(md, n_md);
	if (l != NULL) {
		level = lt_level_normalize(l->value, l->value_len, len);
		return *len > 0 ? level : NULL;
	}
	level = NULL;
	for (i = 0; i < n_md && level == NULL; i++)
		if (md[i].value_len > 0 &&
		    literal_is(md[i].name, md[i].name_len, "severity_number"))
			level = severity_level(md[i].value, md[i].value_len);
	if (level == NULL)
		level = lt_level_of_line(line, line_len);
	*len = strlen(level);
	return level;
}
