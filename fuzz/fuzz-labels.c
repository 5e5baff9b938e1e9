/* Fuzz target: label text parsing and UTF-8 validation.
 *
 * Every input is parsed as label text with a scratch of exactly its
 * length from malloc, so AddressSanitizer catches a value that outgrows
 * the header's promise.  A successful parse must hand back names of
 * [a-zA-Z_][a-zA-Z0-9_]* inside the text and values inside scratch, one
 * after another; the same labels, quoted again by the harness and
 * parsed, must come back unchanged.  Every input is also checked as
 * UTF-8 against a plain decoder. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "labels.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define MAXL 8

/* One code point at a time, spelled out from the definition. */
static int
ref_utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0, k, n;
	uint32_t cp, min;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0) {
			n = 2;
			cp = s[i] & 0x1f;
			min = 0x80;
		} else if ((s[i] & 0xf0) == 0xe0) {
			n = 3;
			cp = s[i] & 0x0f;
			min = 0x800;
		} else if ((s[i] & 0xf8) == 0xf0) {
			n = 4;
			cp = s[i] & 0x07;
			min = 0x10000;
		} else
			return 0;
		if (len - i < n)
			return 0;
		for (k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n;
	}
	return 1;
}

static void
check_utf8(const uint8_t *data, size_t size)
{
	size_t off;

	/* A few starting offsets, so the validator's 8-byte steps meet
	 * the input at every alignment. */
	for (off = 0; off < 8 && off <= size; off++)
		if (lt_utf8_valid((const char *)data + off, size - off) !=
		    ref_utf8_valid(data + off, size - off))
			abort();
}

static int
name_ok(const char *s, size_t len)
{
	size_t i;
	char c;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		c = s[i];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    c == '_' || (i > 0 && c >= '0' && c <= '9'))
			continue;
		return 0;
	}
	return 1;
}

/* The message is one non-empty line. */
static void
check_why(const char *why)
{
	size_t i;

	if (why[0] == '\0')
		abort();
	for (i = 0; why[i] != '\0'; i++)
		if (why[i] == '\n' || why[i] == '\r')
			abort();
}

/* Writes the labels as label text again, each value byte as plain ASCII
 * or, by style, as \xHH, \ooo or a short escape.  Returns the length. */
static size_t
requote(const struct lt_label *l, size_t n, int style, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, k, o = 0;
	unsigned char c;

	out[o++] = '{';
	for (i = 0; i < n; i++) {
		if (i > 0) {
			out[o++] = ',';
			out[o++] = style ? '\n' : ' ';
		}
		memcpy(out + o, l[i].name, l[i].name_len);
		o += l[i].name_len;
		out[o++] = '=';
		out[o++] = '"';
		for (k = 0; k < l[i].value_len; k++) {
			c = (unsigned char)l[i].value[k];
			if (c == '"' || c == '\\') {
				out[o++] = '\\';
				out[o++] = (char)c;
			} else if (c == '\n' && style) {
				out[o++] = '\\';
				out[o++] = 'n';
			} else if (c >= 0x20 && c < 0x7f) {
				out[o++] = (char)c;
			} else if (style) {
				out[o++] = '\\';
				out[o++] = (char)('0' + (c >> 6));
				out[o++] = (char)('0' + (c >> 3 & 7));
				out[o++] = (char)('0' + (c & 7));
			} else {
				out[o++] = '\\';
				out[o++] = 'x';
				out[o++] = hex[c >> 4];
				out[o++] = hex[c & 15];
			}
		}
		out[o++] = '"';
	}
	out[o++] = '}';
	return o;
}

static void
check_requote(const struct lt_label *l, size_t n, int style)
{
	struct lt_label again[MAXL];
	size_t i, len, m, bound = 2;
	char *text, *scratch, why[256];

	for (i = 0; i < n; i++)
		bound += l[i].name_len + 6 + 4 * l[i].value_len;
	if ((text = malloc(bound)) == NULL)
		abort();
	len = requote(l, n, style, text);
	if (len > bound)
		abort();
	if ((scratch = malloc(len)) == NULL)
		abort();
	if (lt_labels_parse(text, len, scratch, again, MAXL, &m, why,
			    sizeof(why)) != 0) {
		(void)fprintf(stderr, "requoted text refused: %s\n", why);
		abort();
	}
	if (m != n)
		abort();
	for (i = 0; i < n; i++) {
		if (again[i].name_len != l[i].name_len ||
		    memcmp(again[i].name, l[i].name, l[i].name_len) != 0)
			abort();
		if (again[i].value_len != l[i].value_len ||
		    (l[i].value_len > 0 &&
		     memcmp(again[i].value, l[i].value, l[i].value_len) != 0))
			abort();
	}
	free(scratch);
	free(text);
}

static void
check_labels(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct lt_label l[MAXL], few[2];
	char *scratch, why[256], why2[256];
	const char *next;
	size_t i, n = 0, n2 = 0, kept;
	int rc, rc2;

	/* Exactly size bytes: a write past them is an ASan report. */
	if ((scratch = malloc(size)) == NULL && size > 0)
		abort();
	rc = lt_labels_parse(text, size, scratch, l, MAXL, &n, why,
			     sizeof(why));
	if (rc != 0) {
		if (rc != -1)
			abort();
		check_why(why);
	} else {
		kept = n < MAXL ? n : MAXL;
		next = scratch;
		for (i = 0; i < kept; i++) {
			if (!name_ok(l[i].name, l[i].name_len))
				abort();
			if (l[i].name < text ||
			    l[i].name_len > size ||
			    l[i].name > text + size - l[i].name_len)
				abort();
			/* Values fill scratch in order, end to end. */
			if (l[i].value != next ||
			    l[i].value_len > size ||
			    l[i].value > scratch + size - l[i].value_len)
				abort();
			next = l[i].value + l[i].value_len;
		}
		if (n > size / 5) /* a="" is the shortest pair */
			abort();
		check_requote(l, kept, 0);
		check_requote(l, kept, 1);
	}

	/* A smaller max changes nothing but what is stored. */
	rc2 = lt_labels_parse(text, size, scratch, few, 2, &n2, why2,
			      sizeof(why2));
	if (rc2 != rc)
		abort();
	if (rc == 0) {
		if (n2 != n)
			abort();
		for (i = 0; i < n && i < 2; i++)
			if (few[i].name != l[i].name ||
			    few[i].name_len != l[i].name_len ||
			    few[i].value_len != l[i].value_len)
				abort();
	} else if (strcmp(why, why2) != 0)
		abort();
	free(scratch);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_labels(data, size);
	check_utf8(data, size);
	return 0;
}
