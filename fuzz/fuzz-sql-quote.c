/* Fuzz target: lt_sql_quote, the one way a request's text reaches SQL.
 *
 * Any bytes are quoted after a prefix already in the buffer; the prefix
 * must stay, and the literal must read back, by ClickHouse's rules for
 * string literals spelled out here on their own, as the input: the
 * literal ends at its last byte (no quote in it ends it early), holds
 * no raw control byte, and uses no escape ClickHouse would read
 * otherwise. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query_sql.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* ClickHouse's reading of a quoted string: a quote ends it (two quotes
 * are one quote), a backslash escapes; \xHH is a byte, \b \f \n \r \t
 * \0 \a \v control characters, any other \c is c.  Returns the decoded
 * length; aborts when the literal ends before its last byte or is not
 * closed. */
static size_t
read_literal(const unsigned char *s, size_t len, unsigned char *out)
{
	size_t i = 1, o = 0;
	int hi, lo;

	if (len < 2 || s[0] != '\'')
		abort();
	while (i < len) {
		unsigned char c = s[i];

		if (c == '\'') {
			/* The end: it must be the last byte. */
			if (i != len - 1)
				abort();
			return o;
		}
		/* Control bytes are escaped, so a log of the SQL shows them. */
		if (c < 0x20 || c == 0x7f)
			abort();
		if (c != '\\') {
			out[o++] = c;
			i++;
			continue;
		}
		if (i + 1 >= len)
			abort();
		c = s[i + 1];
		i += 2;
		switch (c) {
		case 'x':
			if (i + 2 > len || (hi = hex_value(s[i])) < 0 ||
			    (lo = hex_value(s[i + 1])) < 0)
				abort();
			out[o++] = (unsigned char)(hi << 4 | lo);
			i += 2;
			break;
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case '0': out[o++] = '\0'; break;
		case 'a': out[o++] = '\a'; break;
		case 'v': out[o++] = '\v'; break;
		default: out[o++] = c; break;
		}
	}
	abort(); /* not closed */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char prefix[] = "SELECT ";
	struct lt_buf b = LT_BUF_INIT;
	unsigned char *decoded;
	size_t n, plen = sizeof(prefix) - 1;

	if (lt_buf_append(&b, prefix, plen) < 0)
		abort();
	if (lt_sql_quote(&b, (const char *)data, size) < 0)
		abort();
	if (b.len < plen + 2 + size || b.len > plen + 2 + 4 * size ||
	    memcmp(b.data, prefix, plen) != 0)
		abort();
	if ((decoded = malloc(size + 1)) == NULL)
		abort();
	n = read_literal(b.data + plen, b.len - plen, decoded);
	if (n != size || (size > 0 && memcmp(decoded, data, size) != 0))
		abort();
	free(decoded);
	lt_buf_free(&b);
	return 0;
}
