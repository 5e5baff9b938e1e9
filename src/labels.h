/* Stream label text as Prometheus and Loki write it, {app="api",
 * level="info"}: the labels field of Loki's protobuf push and of its
 * legacy JSON push.  Parsed strictly:
 *
 *   labels = ws "{" ws [ pair { ws "," ws pair } ] ws "}" ws
 *   pair   = name ws "=" ws value
 *   name   = [a-zA-Z_][a-zA-Z0-9_]*
 *   value  = a Go double-quoted string literal, as strconv.Quote writes
 *            it: no raw newline; escapes \a \b \f \n \r \t \v \\ \"
 *            \ooo (octal, at most \377) \xHH \uHHHH \UHHHHHHHH (a valid
 *            code point, not a surrogate)
 *   ws     = { " " | "\t" | "\n" | "\r" }
 *
 * A trailing comma, other matchers (!=, =~, !~), single quotes and
 * backticks are errors. */
#ifndef LOGTHRA_LABELS_H
#define LOGTHRA_LABELS_H

#include <stddef.h>
#include <stdint.h>

#include "push.h"

/* Parses text[0..len).  Names point into text; values are unescaped into
 * scratch, which must hold len bytes (a value is never longer than its
 * literal).  Stores at most max pairs in out, in the order written, and
 * sets *n to the number of pairs in the text (which may be larger).
 * Returns 0, or -1 with why set to a message naming the byte offset
 * ("expected '=' after label name \"app\" at byte 5").  Does not check
 * for duplicate names, lengths or UTF-8: the push validation does. */
int lt_labels_parse(const char *text, size_t len, char *scratch,
		    struct lt_label *out, size_t max, size_t *n, char *why,
		    size_t whylen);

/* The same for a stream's labels as Loki reads them: a pair with an
 * empty value is left out (Prometheus' labels.Builder deletes it), so it
 * is neither stored nor counted in *n; *dropped gets how many were. */
int lt_labels_parse_set(const char *text, size_t len, char *scratch,
			struct lt_label *out, size_t max, size_t *n,
			size_t *dropped, char *why, size_t whylen);

/* Whether s[0..len) is valid UTF-8 (no overlong forms, no surrogates,
 * nothing above U+10FFFF). */
int lt_utf8_valid(const char *s, size_t len);

/* One UTF-8 rune at s[0..n): its length, as Go's decoder steps (1 for
 * an invalid byte); the rune, or 0xfffd, in *r. */
size_t lt_utf8_next(const char *s, size_t n, uint32_t *r);

/* Writes code point cp (at most U+10FFFF) as UTF-8 at o, which has room
 * for 4 bytes; returns the number of bytes written. */
size_t lt_utf8_put(char *o, uint32_t cp);

/* The value of hex digit c, or -1. */
int lt_hex_digit(int c);

/* Orders two labels (struct lt_label *) by name, bytewise, as qsort()
 * wants: the order of the table's arrays and of Loki's label sets. */
int lt_label_cmp(const void *a, const void *b);

#endif
