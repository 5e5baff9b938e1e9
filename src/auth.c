/* The credentials file loaded strictly and indexed by name and digest, a
 * request's credentials checked against it, and new tokens (auth.h). */
#include "config.h"

#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "buf.h"
#include "file.h"
#include "push.h"
#include "sha256.h"

/* The longest credentials of an Authorization header we look at, in
 * characters after the scheme.  Generated tokens are 46 characters; the
 * cap bounds the stack buffer of a decoded Basic value. */
#define MAX_CREDENTIALS 4096
/* The longest token lt_auth_format_entry() takes: well under the cap,
 * also once a name and base64 are added for Basic. */
#define MAX_TOKEN 1024

#define SECRET_PREFIX "sha256:"
#define SECRET_PREFIX_LEN 7

struct entry {
	const char *name;      /* NUL-terminated, inside lt_auth.text */
	const char *tenants;   /* n_tenants NUL-terminated ids one after the
				* other, inside lt_auth.text; NULL = "*" */
	size_t n_tenants;
	unsigned line;
	int has_secret;        /* 0 for "-" */
	int access;            /* LT_AUTH_READ | LT_AUTH_WRITE */
	unsigned char digest[LT_SHA256_LEN]; /* zeros for "-" */
};

struct lt_auth {
	struct lt_buf text;     /* the file, fields NUL-terminated in place */
	struct entry *entries;  /* in file order */
	size_t n, cap;
	struct entry **by_name; /* sorted by name, for Basic and REMOTE_USER */
};

/* File and line parsing */

static int
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int LT_PRINTF(5, 6)
line_error(char *err, size_t errlen, const char *path, unsigned line,
	   const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(err, errlen, "%s:%u: ", path, line);
	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		(void)vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* 0 when name is 1 to LT_AUTH_MAX_NAME of [A-Za-z0-9_.@-]: no colon,
 * which ends the user name of Basic, and nothing that needs quoting in
 * a log line. */
static int
check_name(const char *name)
{
	size_t len = strnlen(name, LT_AUTH_MAX_NAME + 1), i;
	unsigned char c;

	if (len == 0 || len > LT_AUTH_MAX_NAME)
		return -1;
	for (i = 0; i < len; i++) {
		c = (unsigned char)name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '@' || c == '-'))
			return -1;
	}
	return 0;
}

static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* upper case too: one spelling per digest */
}

/* "sha256:HEX" into e's digest, or "-". */
static int
parse_secret(const char *s, struct entry *e)
{
	int hi, lo, i;

	if (strcmp(s, "-") == 0) {
		e->has_secret = 0;
		return 0;
	}
	if (strncmp(s, SECRET_PREFIX, SECRET_PREFIX_LEN) != 0 ||
	    strlen(s) != SECRET_PREFIX_LEN + 2 * LT_SHA256_LEN)
		return -1;
	s += SECRET_PREFIX_LEN;
	for (i = 0; i < LT_SHA256_LEN; i++) {
		hi = hex_value((unsigned char)s[2 * i]);
		lo = hex_value((unsigned char)s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		e->digest[i] = (unsigned char)(hi << 4 | lo);
	}
	e->has_secret = 1;
	return 0;
}

/* Checks a TENANTS field and splits it in place, the commas becoming
 * NULs; *n is the number of ids, or 0 for "*".  On error, msg says why. */
static int
split_tenants(char *s, size_t *n, char *msg, size_t msglen)
{
	const char *why;
	char *id, *comma;

	*n = 0;
	if (strcmp(s, "*") == 0)
		return 0;
	for (id = s;; id = comma + 1) {
		comma = strchr(id, ',');
		if (comma != NULL)
			*comma = '\0';
		if (*id == '\0') {
			(void)snprintf(msg, msglen, "empty tenant id in the "
				       "list of tenants");
			return -1;
		}
		if (strcmp(id, "*") == 0) {
			(void)snprintf(msg, msglen, "\"*\" (every tenant) must "
				       "stand alone, not in a list");
			return -1;
		}
		if (lt_tenant_valid(id, &why) < 0) {
			(void)snprintf(msg, msglen, "tenant id \"%s\" %s", id,
				       why);
			return -1;
		}
		(*n)++;
		if (comma == NULL)
			return 0;
	}
}

/* "read", "write", "read,write" or "write,read". */
static int
parse_access(const char *s, int *access)
{
	if (strcmp(s, "read") == 0)
		*access = LT_AUTH_READ;
	else if (strcmp(s, "write") == 0)
		*access = LT_AUTH_WRITE;
	else if (strcmp(s, "read,write") == 0 || strcmp(s, "write,read") == 0)
		*access = LT_AUTH_READ | LT_AUTH_WRITE;
	else
		return -1;
	return 0;
}

static int
add_entry(struct lt_auth *a, struct entry **e)
{
	struct entry *p;
	size_t cap;

	if (a->n == a->cap) {
		cap = a->cap ? a->cap * 2 : 64;
		p = reallocarray(a->entries, cap, sizeof(*p));
		if (p == NULL)
			return -1;
		a->entries = p;
		a->cap = cap;
	}
	*e = &a->entries[a->n];
	memset(*e, 0, sizeof(**e));
	return 0;
}

/* One line, NUL-terminated, into an entry unless it is blank or a
 * comment.  A '#' starts a comment anywhere: no field may contain one. */
static int
parse_line(struct lt_auth *a, char *s, const char *path, unsigned line,
	   char *err, size_t errlen)
{
	char *field[4], *hash, msg[512];
	struct entry *e;
	size_t n = 0, len;

	hash = strchr(s, '#');
	if (hash != NULL)
		*hash = '\0';
	len = strlen(s);
	if (len > 0 && s[len - 1] == '\r') /* a file edited on Windows */
		s[len - 1] = '\0';
	for (;;) {
		while (is_blank(*s))
			s++;
		if (*s == '\0')
			break;
		if (n == 4)
			return line_error(err, errlen, path, line, "more than "
					  "four fields (NAME SECRET TENANTS "
					  "[ACCESS])");
		field[n++] = s;
		while (*s != '\0' && !is_blank(*s))
			s++;
		if (*s != '\0')
			*s++ = '\0';
	}
	if (n == 0)
		return 0;
	if (n < 3)
		return line_error(err, errlen, path, line, "%s", n == 1 ?
				  "missing SECRET and TENANTS after the name" :
				  "missing TENANTS after the secret");
	if (a->n == LT_AUTH_MAX_ENTRIES)
		return line_error(err, errlen, path, line, "more than %d "
				  "entries", LT_AUTH_MAX_ENTRIES);
	if (check_name(field[0]) < 0)
		return line_error(err, errlen, path, line, "name \"%s\" must "
				  "be 1 to %d letters, digits and \"_.@-\"",
				  field[0], LT_AUTH_MAX_NAME);
	if (add_entry(a, &e) < 0) {
		(void)snprintf(err, errlen, "out of memory");
		return -1;
	}
	e->name = field[0];
	e->line = line;
	if (parse_secret(field[1], e) < 0)
		return line_error(err, errlen, path, line, "secret must be "
				  "\"sha256:\" and %d lowercase hex digits, "
				  "or \"-\"", 2 * LT_SHA256_LEN);
	if (split_tenants(field[2], &e->n_tenants, msg, sizeof(msg)) < 0)
		return line_error(err, errlen, path, line, "%s", msg);
	e->tenants = e->n_tenants > 0 ? field[2] : NULL;
	/* Without the field, both: files from before it keep working. */
	e->access = LT_AUTH_READ | LT_AUTH_WRITE;
	if (n == 4 && parse_access(field[3], &e->access) < 0)
		return line_error(err, errlen, path, line, "access \"%s\" "
				  "must be read, write or read,write",
				  field[3]);
	a->n++;
	return 0;
}

static int
by_name_cmp(const void *x, const void *y)
{
	const struct entry *a = *(struct entry *const *)x;
	const struct entry *b = *(struct entry *const *)y;
	int c = strcmp(a->name, b->name);

	return c != 0 ? c : (a->line > b->line) - (a->line < b->line);
}

static int
by_digest_cmp(const void *x, const void *y)
{
	const struct entry *a = *(struct entry *const *)x;
	const struct entry *b = *(struct entry *const *)y;
	int c = memcmp(a->digest, b->digest, LT_SHA256_LEN);

	return c != 0 ? c : (a->line > b->line) - (a->line < b->line);
}

static int
same_name(const struct entry *a, const struct entry *b)
{
	return strcmp(a->name, b->name) == 0;
}

static int
same_digest(const struct entry *a, const struct entry *b)
{
	return memcmp(a->digest, b->digest, LT_SHA256_LEN) == 0;
}

/* In an array sorted with same's order, then by line: of the equal
 * neighbours, the second that comes first in the file, so that the
 * error names the earliest bad line; *first_line is its twin's. */
static struct entry *
first_duplicate(struct entry **v, size_t n,
		int (*same)(const struct entry *, const struct entry *),
		unsigned *first_line)
{
	struct entry *dup = NULL;
	size_t i;

	for (i = 1; i < n; i++) {
		if (!same(v[i - 1], v[i]))
			continue;
		if (dup == NULL || v[i]->line < dup->line) {
			dup = v[i];
			*first_line = v[i - 1]->line;
		}
	}
	return dup;
}

/* Sorts the index by name and refuses duplicate names and secrets.
 * Sorting keeps this O(n log n): it runs on every push. */
static int
check_unique(struct lt_auth *a, const char *path, char *err, size_t errlen)
{
	struct entry **secrets = NULL, *dn, *ds;
	unsigned ln = 0, ls = 0;
	size_t i, n = 0;
	int rc = -1;

	a->by_name = reallocarray(NULL, a->n ? a->n : 1, sizeof(*a->by_name));
	secrets = reallocarray(NULL, a->n ? a->n : 1, sizeof(*secrets));
	if (a->by_name == NULL || secrets == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < a->n; i++) {
		a->by_name[i] = &a->entries[i];
		if (a->entries[i].has_secret)
			secrets[n++] = &a->entries[i];
	}
	qsort(a->by_name, a->n, sizeof(*a->by_name), by_name_cmp);
	qsort(secrets, n, sizeof(*secrets), by_digest_cmp);
	dn = first_duplicate(a->by_name, a->n, same_name, &ln);
	ds = first_duplicate(secrets, n, same_digest, &ls);
	if (dn != NULL && (ds == NULL || dn->line <= ds->line))
		(void)line_error(err, errlen, path, dn->line, "duplicate name "
				 "\"%s\" (first on line %u)", dn->name, ln);
	else if (ds != NULL)
		(void)line_error(err, errlen, path, ds->line, "duplicate secret "
				 "(the same as on line %u): every entry needs "
				 "a token of its own", ls);
	else
		rc = 0;
out:
	free(secrets);
	return rc;
}

/* Reads the file into a->text, refusing what should not be trusted. */
static int
read_file(struct lt_auth *a, const char *path, char *err, size_t errlen)
{
	enum lt_file_call call;
	struct stat st;
	int rc;

	/* Whoever can write the file can let anybody in: refused with
	 * EPERM before a byte is read. */
	rc = lt_file_read(path, 0, S_IWGRP | S_IWOTH, LT_AUTH_MAX_FILE_SIZE,
			  &a->text, &st, &call);
	if (rc == 0)
		return 0;
	if (call == LT_FILE_OPEN && rc == ELOOP)
		(void)snprintf(err, errlen, "credentials file \"%s\" "
			       "is a symbolic link; name the file "
			       "itself", path);
	else if (call == LT_FILE_OPEN)
		(void)snprintf(err, errlen, "could not open credentials "
			       "file \"%s\": %s", path, strerror(rc));
	else if (call == LT_FILE_FSTAT)
		(void)snprintf(err, errlen, "could not stat credentials file "
			       "\"%s\": %s", path, strerror(rc));
	else if (call == LT_FILE_READ)
		(void)snprintf(err, errlen, "could not read credentials "
			       "file \"%s\": %s", path, strerror(rc));
	else if (rc == EINVAL)
		(void)snprintf(err, errlen, "credentials file \"%s\" is not a "
			       "regular file", path);
	else if (rc == EPERM)
		(void)snprintf(err, errlen, "credentials file \"%s\" is "
			       "writable by %s (mode %04o); it must not be: "
			       "chmod go-w it", path,
			       (st.st_mode & S_IWGRP) && (st.st_mode & S_IWOTH) ?
			       "group and others" : st.st_mode & S_IWGRP ?
			       "its group" : "others",
			       (unsigned)(st.st_mode & 07777));
	else if (rc == EFBIG)
		(void)snprintf(err, errlen, "credentials file \"%s\" is larger "
			       "than %d bytes", path, LT_AUTH_MAX_FILE_SIZE);
	else
		(void)snprintf(err, errlen, "out of memory");
	return -1;
}

int
lt_auth_load(const char *path, struct lt_auth **out, char *err, size_t errlen)
{
	struct lt_auth *a;
	char *p, *end, *eol, *nul;
	unsigned line = 0;

	*out = NULL;
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (read_file(a, path, err, errlen) < 0)
		goto fail;
	p = (char *)a->text.data;
	end = p + a->text.len;
	nul = memchr(p, '\0', a->text.len);
	for (; p < end; p = eol + 1) {
		line++;
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end; /* the NUL of lt_buf_terminate() */
		if (nul != NULL && nul < eol) {
			(void)line_error(err, errlen, path, line,
					 "NUL byte in the line");
			goto fail;
		}
		*eol = '\0';
		if (parse_line(a, p, path, line, err, errlen) < 0)
			goto fail;
	}
	if (check_unique(a, path, err, errlen) < 0)
		goto fail;
	*out = a;
	return 0;
fail:
	lt_auth_free(a);
	return -1;
}

void
lt_auth_free(struct lt_auth *a)
{
	if (a == NULL)
		return;
	lt_buf_free(&a->text);
	free(a->entries);
	free(a->by_name);
	free(a);
}

/* Checking credentials */

/* 1 when the digests are equal, else 0, looking at every byte whatever
 * the differences, so that the time does not tell how many bytes of a
 * guess were right. */
static unsigned
digest_equal(const unsigned char *x, const unsigned char *y)
{
	unsigned d = 0;
	int i;

	for (i = 0; i < LT_SHA256_LEN; i++)
		d |= (unsigned)(x[i] ^ y[i]);
	return ((d - 1) >> 8) & 1; /* d is 0..255: d - 1 wraps only at 0 */
}

/* The entry whose secret is digest, or NULL.  Every entry with a secret
 * is compared, and the match is chosen with masks rather than a branch:
 * the time does not depend on which entry matched, or on whether any
 * did. */
static const struct entry *
find_by_digest(const struct lt_auth *a, const unsigned char *digest)
{
	size_t i, found = 0, any = 0, mask;

	for (i = 0; i < a->n; i++) {
		mask = (size_t)0 - (size_t)(digest_equal(digest,
				a->entries[i].digest) &
				(unsigned)a->entries[i].has_secret);
		found = (found & ~mask) | (i & mask);
		any |= mask;
	}
	return any ? &a->entries[found] : NULL;
}

static int
name_key_cmp(const void *key, const void *elem)
{
	return strcmp(key, (*(struct entry *const *)elem)->name);
}

static const struct entry *
find_by_name(const struct lt_auth *a, const char *name)
{
	struct entry **e;

	if (a->n == 0)
		return NULL;
	e = bsearch(name, a->by_name, a->n, sizeof(*a->by_name), name_key_cmp);
	return e != NULL ? *e : NULL;
}

static int
grants(const struct entry *e, const char *tenant)
{
	const char *t = e->tenants;
	size_t i;

	if (tenant == NULL)
		return 0;
	if (t == NULL)
		return 1;
	for (i = 0; i < e->n_tenants; i++, t += strlen(t) + 1)
		if (strcmp(t, tenant) == 0)
			return 1;
	return 0;
}

/* 0xff when lo <= c <= hi, else 0, without a branch on c: the bytes are
 * a password's (the technique of libsodium's base64 decoder).  c - lo
 * and hi - c wrap around to values with bit 8 set when c is outside. */
static unsigned
in_range(unsigned c, unsigned lo, unsigned hi)
{
	return ((((c - lo) | (hi - c)) >> 8 & 1) - 1) & 0xff;
}

/* The value of a base64 character (RFC 4648, table 1), or -1. */
static int
b64_value(unsigned char ch)
{
	unsigned c = ch, up, low, dig, plus, slash, v;

	up = in_range(c, 'A', 'Z');
	low = in_range(c, 'a', 'z');
	dig = in_range(c, '0', '9');
	plus = in_range(c, '+', '+');
	slash = in_range(c, '/', '/');
	v = (up & (c - 'A')) | (low & (c - 'a' + 26)) |
	    (dig & (c - '0' + 52)) | (plus & 62) | (slash & 63);
	if ((up | low | dig | plus | slash) == 0)
		return -1;
	return (int)v;
}

/* Strict base64 (RFC 4648, section 4): a multiple of four characters of
 * the alphabet, "=" padding only where the last group needs it, and
 * the bits that padding leaves over zero (section 3.5), so that every
 * value has one spelling.  out needs len / 4 * 3 bytes. */
static int
b64_decode(const char *in, size_t len, unsigned char *out, size_t *outlen)
{
	size_t i, o = 0, pad = 0, k, n;
	uint32_t acc;
	int v;

	if (len == 0 || len % 4 != 0)
		return -1;
	if (in[len - 1] == '=')
		pad = in[len - 2] == '=' ? 2 : 1;
	for (i = 0; i < len; i += 4) {
		n = i + 4 == len ? 4 - pad : 4; /* characters with data */
		acc = 0;
		for (k = 0; k < n; k++) {
			v = b64_value((unsigned char)in[i + k]);
			if (v < 0)
				return -1;
			acc = acc << 6 | (uint32_t)v;
		}
		acc <<= 6 * (4 - n);
		if (acc & ((UINT32_C(1) << (8 * (4 - n))) - 1))
			return -1;
		out[o++] = (unsigned char)(acc >> 16);
		if (n > 2)
			out[o++] = (unsigned char)(acc >> 8);
		if (n > 3)
			out[o++] = (unsigned char)acc;
	}
	*outlen = o;
	return 0;
}

static const struct entry *
check_bearer(const struct lt_auth *a, const char *token, size_t len)
{
	unsigned char digest[LT_SHA256_LEN];
	const struct entry *e;

	lt_sha256(token, len, digest);
	e = find_by_digest(a, digest);
	explicit_bzero(digest, sizeof(digest));
	return e;
}

static const struct entry *
check_basic(const struct lt_auth *a, const char *cred, size_t len)
{
	static const unsigned char none[LT_SHA256_LEN];
	unsigned char text[MAX_CREDENTIALS / 4 * 3 + 1];
	unsigned char digest[LT_SHA256_LEN];
	const struct entry *e = NULL;
	unsigned char *colon;
	size_t n;
	unsigned equal;

	if (b64_decode(cred, len, text, &n) < 0 || n == 0 ||
	    memchr(text, '\0', n) != NULL)
		goto out;
	/* RFC 7617: the user-id ends at the first colon. */
	colon = memchr(text, ':', n);
	if (colon == NULL || colon == text || colon == text + n - 1)
		goto out;
	*colon = '\0';
	lt_sha256(colon + 1, (size_t)(text + n - colon - 1), digest);
	e = find_by_name(a, (char *)text);
	equal = digest_equal(digest, e != NULL && e->has_secret ?
			     e->digest : none);
	if (e == NULL || !e->has_secret || !equal)
		e = NULL;
	explicit_bzero(digest, sizeof(digest));
out:
	explicit_bzero(text, sizeof(text));
	return e;
}

/* 1 when s is all visible ASCII: no space, no control character. */
static int
visible(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

static int
ascii_caseeq(const char *s, size_t len, const char *word)
{
	size_t i;
	unsigned char c;

	if (strlen(word) != len)
		return 0;
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (c != (unsigned char)word[i])
			return 0;
	}
	return 1;
}

static enum lt_auth_result
grant(const struct entry *e, const char *tenant, int access, const char **who)
{
	if (who != NULL)
		*who = e->name;
	return grants(e, tenant) && (e->access & access) == access
	       ? LT_AUTH_OK : LT_AUTH_FORBIDDEN;
}

enum lt_auth_result
lt_auth_check(const struct lt_auth *a, const char *authorization,
	      const char *tenant, const char **who)
{
	return lt_auth_check_access(a, authorization, tenant, LT_AUTH_WRITE,
				    who);
}

enum lt_auth_result
lt_auth_check_user(const struct lt_auth *a, const char *user,
		   const char *tenant, const char **who)
{
	return lt_auth_check_user_access(a, user, tenant, LT_AUTH_WRITE, who);
}

enum lt_auth_result
lt_auth_check_access(const struct lt_auth *a, const char *authorization,
		     const char *tenant, int access, const char **who)
{
	const struct entry *e = NULL;
	const char *p, *end, *cred;
	size_t slen;

	if (who != NULL)
		*who = NULL;
	if (authorization == NULL)
		return LT_AUTH_MISSING;
	p = authorization;
	while (is_blank(*p))
		p++;
	end = p + strlen(p);
	while (end > p && is_blank(end[-1]))
		end--;
	for (slen = 0; p + slen < end && !is_blank(p[slen]); slen++)
		;
	for (cred = p + slen; cred < end && is_blank(*cred); cred++)
		;
	if (cred == end || (size_t)(end - cred) > MAX_CREDENTIALS)
		return LT_AUTH_BAD;
	/* One word of visible ASCII: token68 and more. */
	if (!visible(cred, (size_t)(end - cred)))
		return LT_AUTH_BAD;
	if (ascii_caseeq(p, slen, "bearer"))
		e = check_bearer(a, cred, (size_t)(end - cred));
	else if (ascii_caseeq(p, slen, "basic"))
		e = check_basic(a, cred, (size_t)(end - cred));
	if (e == NULL)
		return LT_AUTH_BAD;
	return grant(e, tenant, access, who);
}

enum lt_auth_result
lt_auth_check_user_access(const struct lt_auth *a, const char *user,
			  const char *tenant, int access, const char **who)
{
	const struct entry *e;

	if (who != NULL)
		*who = NULL;
	if (user == NULL || *user == '\0')
		return LT_AUTH_MISSING;
	e = find_by_name(a, user);
	if (e == NULL)
		return LT_AUTH_FORBIDDEN;
	return grant(e, tenant, access, who);
}

/* Tokens and new entries */

static int
random_bytes(unsigned char *p, size_t len)
{
	ssize_t r;

	while (len > 0) {
		r = getrandom(p, len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

/* base64url without padding (RFC 4648, section 5): tokens travel in
 * headers, URLs and YAML without quoting. */
static void
b64url_encode(const unsigned char *in, size_t len, char *out)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789-_";
	uint32_t acc;
	size_t i, k, n;

	for (i = 0; i < len; i += 3) {
		n = len - i < 3 ? len - i : 3;
		acc = 0;
		for (k = 0; k < 3; k++)
			acc = acc << 8 | (k < n ? in[i + k] : 0);
		for (k = 0; k < n + 1; k++)
			*out++ = abc[(acc >> (18 - 6 * k)) & 63];
	}
	*out = '\0';
}

int
lt_auth_new_token(char *buf, size_t len)
{
	unsigned char rnd[32];

	if (len < LT_AUTH_TOKEN_LEN + 1) {
		errno = ERANGE;
		return -1;
	}
	if (random_bytes(rnd, sizeof(rnd)) < 0)
		return -1;
	memcpy(buf, "lt_", 3);
	b64url_encode(rnd, sizeof(rnd), buf + 3);
	explicit_bzero(rnd, sizeof(rnd));
	return 0;
}

int
lt_auth_format_entry(char *buf, size_t len, const char *name,
		     const char *token, const char *tenants, char *err,
		     size_t errlen)
{
	unsigned char digest[LT_SHA256_LEN];
	char hex[2 * LT_SHA256_LEN + 1], msg[512], *copy = NULL;
	size_t tlen, i, n;
	int rc = -1, w;

	if (check_name(name) < 0) {
		(void)snprintf(err, errlen, "name \"%s\" must be 1 to %d "
			       "letters, digits and \"_.@-\"", name,
			       LT_AUTH_MAX_NAME);
		return -1;
	}
	tlen = strnlen(token, MAX_TOKEN + 1);
	if (tlen == 0 || tlen > MAX_TOKEN || !visible(token, tlen)) {
		(void)snprintf(err, errlen, "a token must be 1 to %d printable "
			       "ASCII characters without spaces", MAX_TOKEN);
		return -1;
	}
	copy = strdup(tenants);
	if (copy == NULL) {
		(void)snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (split_tenants(copy, &n, msg, sizeof(msg)) < 0) {
		(void)snprintf(err, errlen, "%s", msg);
		goto out;
	}
	lt_sha256(token, tlen, digest);
	for (i = 0; i < LT_SHA256_LEN; i++) {
		hex[2 * i] = "0123456789abcdef"[digest[i] >> 4];
		hex[2 * i + 1] = "0123456789abcdef"[digest[i] & 15];
	}
	hex[2 * LT_SHA256_LEN] = '\0';
	w = snprintf(buf, len, "%s " SECRET_PREFIX "%s %s\n", name, hex,
		     tenants);
	if (w < 0 || (size_t)w >= len) {
		(void)snprintf(err, errlen, "the entry does not fit in %zu "
			       "bytes", len);
		goto out;
	}
	rc = 0;
out:
	free(copy);
	return rc;
}
