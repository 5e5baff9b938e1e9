/* Authentication of pushes: the credentials file and the check of a
 * request's credentials against it (logthra-credentials(5)).
 *
 * The file lists who may push or query and for which tenants, one entry
 * a line:
 *
 *	NAME  SECRET  TENANTS  [ACCESS]
 *
 * NAME is 1 to 64 of [A-Za-z0-9_.@-]: the user name of Basic
 * authentication, a label for a bearer token, or the user a web server
 * authenticated (REMOTE_USER).  SECRET is "sha256:" and the 64 lowercase
 * hex digits of the SHA-256 of the entry's token, or "-" for an entry
 * that only a web server's REMOTE_USER can use.  TENANTS is a list of
 * tenant ids separated by commas, or "*" for every tenant.  ACCESS,
 * optional, limits the entry to "read" (logthra-query) or "write"
 * (logthra-recv); "read,write" or no ACCESS allows both, so that a file
 * written before the field existed keeps working.
 *
 * Tokens are generated (lt_auth_new_token()), never chosen: 256 random
 * bits, so a plain SHA-256 cannot be reversed and a slow password hash
 * would only cost every push its milliseconds.  The file holds digests
 * only, and a request's token is compared with them in constant time. */
#ifndef LOGTHRA_AUTH_H
#define LOGTHRA_AUTH_H

#include <stddef.h>

/* Bytes of a token, "lt_" and 43 characters of base64url, without the
 * terminating NUL. */
#define LT_AUTH_TOKEN_LEN 46

/* Caps of the credentials file. */
#define LT_AUTH_MAX_FILE_SIZE (1024 * 1024)
#define LT_AUTH_MAX_ENTRIES 10000
#define LT_AUTH_MAX_NAME 64

/* A loaded credentials file; opaque. */
struct lt_auth;

/* Reads and checks the credentials file at path.  The file must be a
 * regular file (not a symbolic link), not writable by group or others,
 * at most 1 MiB and 10000 entries, and every line must be valid: a
 * file with one bad line is refused whole, since granting the rest
 * while silently dropping an entry would surprise.  Names and secrets
 * must be unique.  A file without entries is valid and lets no one in.
 * Returns 0 and sets *out (free it with lt_auth_free()), or -1 with a
 * message in err that names the file and, for a bad line, its number:
 * '/etc/logthra/credentials:3: secret must be "sha256:" and 64
 * lowercase hex digits, or "-"'. */
int lt_auth_load(const char *path, struct lt_auth **out, char *err,
		 size_t errlen);

/* What an entry may do with its tenants. */
#define LT_AUTH_READ  1  /* query (logthra-query) */
#define LT_AUTH_WRITE 2  /* push (logthra-recv) */

/* Frees a loaded file; NULL is allowed. */
void lt_auth_free(struct lt_auth *a);

enum lt_auth_result {
	LT_AUTH_OK,       /* credentials valid and the tenant granted */
	LT_AUTH_MISSING,  /* no Authorization header (or no REMOTE_USER): 401 */
	LT_AUTH_BAD,      /* malformed or unknown credentials: 401 */
	LT_AUTH_FORBIDDEN /* valid, but not for this tenant: 403 */
};

/* Checks the value of a request's Authorization header (NULL when the
 * request had none) for a push to tenant (a valid tenant id; NULL is
 * treated as a tenant no entry grants, not even "*").
 *
 *	Bearer TOKEN                  the entry whose secret is sha256(TOKEN)
 *	Basic base64(NAME:PASSWORD)   the entry NAME, if sha256(PASSWORD)
 *	                              is its secret
 *
 * The scheme is case-insensitive; spaces and tabs around the value and
 * between scheme and credentials are allowed.  The base64 of Basic is
 * strict RFC 4648 with padding; the decoded text must hold a colon and
 * no NUL.  Entries whose secret is "-" never match here.  An empty
 * header, another scheme or anything malformed is LT_AUTH_BAD.
 *
 * A token is hashed first and its digest then compared, in constant
 * time, with the secret of every entry, so that the time taken does not
 * tell which entry, if any, matched.  With Basic the name is looked up
 * (names are not secret) and the password's digest compared with that
 * entry's in constant time.
 *
 * *who (who may be NULL) is set to the entry's NAME when the
 * credentials are valid, LT_AUTH_OK or LT_AUTH_FORBIDDEN, and to NULL
 * otherwise; it lives as long as a. */
enum lt_auth_result lt_auth_check(const struct lt_auth *a,
				  const char *authorization, const char *tenant,
				  const char **who);

/* REMOTE_USER mode: a web server authenticated the client as user, and
 * the entry whose NAME is user (whatever its SECRET, "-" included)
 * grants its tenants.  user NULL or empty is LT_AUTH_MISSING.  A user
 * without an entry is LT_AUTH_FORBIDDEN, not LT_AUTH_BAD: the web server
 * has vouched for who the client is, so asking for other credentials
 * (401) cannot help; this user may simply not push.  *who is set as
 * for lt_auth_check(): NULL for a user without an entry. */
enum lt_auth_result lt_auth_check_user(const struct lt_auth *a,
				       const char *user, const char *tenant,
				       const char **who);

/* Both checks for an access other than pushing: access is LT_AUTH_READ
 * or LT_AUTH_WRITE, and an entry whose ACCESS lacks it is
 * LT_AUTH_FORBIDDEN (valid credentials, not for this).  lt_auth_check()
 * and lt_auth_check_user() check LT_AUTH_WRITE. */
enum lt_auth_result lt_auth_check_access(const struct lt_auth *a,
					 const char *authorization,
					 const char *tenant, int access,
					 const char **who);
enum lt_auth_result lt_auth_check_user_access(const struct lt_auth *a,
					      const char *user,
					      const char *tenant, int access,
					      const char **who);

/* Writes a new token, "lt_" and the base64url (no padding) of 32 bytes
 * from getrandom(2), LT_AUTH_TOKEN_LEN characters and a NUL, into buf.
 * Returns 0, or -1 with errno set: ERANGE when len is below
 * LT_AUTH_TOKEN_LEN + 1, or getrandom's error. */
int lt_auth_new_token(char *buf, size_t len);

/* Writes the credentials file line for a new entry, "NAME sha256:HEX
 * TENANTS\n", into buf, after checking name and tenants as
 * lt_auth_load() would (it does not look for duplicates: that needs the
 * file).  token must be 1 to 1024 printable ASCII characters without
 * spaces.  Returns 0, or -1 with a message in err (buf too small
 * included). */
int lt_auth_format_entry(char *buf, size_t len, const char *name,
			 const char *token, const char *tenants, char *err,
			 size_t errlen);

#endif
