/* Unit tests: SHA-256, the credentials file and the checks of
 * Authorization headers and REMOTE_USER. */
#include "config.h"

#include <sys/stat.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "sha256.h"
#include "testutil.h"

/* sha256 of "tok-alice", "tok-bob" and "tok-carol", from sha256sum(1). */
#define H_ALICE "dde96f5b27b2298476b272c037dfd2cb5438e3495510c51035db1ef55f2994a4"
#define H_BOB "6bae0362848af71bf9dde2924116bee5375e8a4da437494e3588dfee8b35d0cc"
#define H_CAROL "074217eacfb35f36134d56002b83d3fc0e99fc648a01f48a6e5dba283126cb98"

static char dir[64];
static char path[128];
static struct lt_auth *auth;

static void
setup(void)
{
	tu_tmpdir(dir, sizeof(dir), "test-auth");
	(void)snprintf(path, sizeof(path), "%s/credentials", dir);
	auth = NULL;
}

static void
teardown(void)
{
	lt_auth_free(auth);
	auth = NULL;
	ck_assert_int_eq(tu_rm_rf(dir), 0);
}

static void
write_file(const char *content)
{
	tu_write_file(path, content, strlen(content), 0640);
}

static void
load_path_ok(const char *p)
{
	char err[1024] = "";

	lt_auth_free(auth);
	auth = NULL;
	ck_assert_msg(lt_auth_load(p, &auth, err, sizeof(err)) == 0,
		      "load failed: %s", err);
	ck_assert_ptr_nonnull(auth);
}

static void
load_ok(const char *content)
{
	write_file(content);
	load_path_ok(path);
}

/* Loading path must fail with "PATH:" followed by want. */
static void
load_fails_at(const char *p, const char *want)
{
	char err[1024] = "", exp[1024];
	struct lt_auth *a = (struct lt_auth *)&a; /* must become NULL */

	ck_assert_int_eq(lt_auth_load(p, &a, err, sizeof(err)), -1);
	ck_assert_ptr_null(a);
	(void)snprintf(exp, sizeof(exp), "%s:%s", p, want);
	ck_assert_str_eq(err, exp);
}

/* Loading path must fail with exactly want. */
static void
load_fails(const char *p, const char *want)
{
	char err[1024] = "";
	struct lt_auth *a = (struct lt_auth *)&a;

	ck_assert_int_eq(lt_auth_load(p, &a, err, sizeof(err)), -1);
	ck_assert_ptr_null(a);
	ck_assert_str_eq(err, want);
}

static void
bad_file(const char *content, const char *want)
{
	write_file(content);
	load_fails_at(path, want);
}

/* Standard base64 with padding (RFC 4648, section 4). */
static void
b64(const void *data, size_t len, char *out)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "abcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = data;
	uint32_t acc;
	size_t i, k, n;

	for (i = 0; i < len; i += 3) {
		n = len - i < 3 ? len - i : 3;
		acc = 0;
		for (k = 0; k < 3; k++)
			acc = acc << 8 | (k < n ? p[k + i] : 0);
		for (k = 0; k < 4; k++)
			*out++ = k <= n ? abc[(acc >> (18 - 6 * k)) & 63] : '=';
	}
	*out = '\0';
}

/* "Basic " and the base64 of user:password. */
static const char *
basic(const char *user, const char *password)
{
	static char hdr[8192];
	char plain[4096];
	int n;

	n = snprintf(plain, sizeof(plain), "%s:%s", user, password);
	ck_assert(n > 0 && (size_t)n < sizeof(plain));
	memcpy(hdr, "Basic ", 6);
	b64(plain, (size_t)n, hdr + 6);
	return hdr;
}

static void
hex(const unsigned char *d, char *out)
{
	int i;

	for (i = 0; i < LT_SHA256_LEN; i++)
		(void)snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* "NAME sha256:HEX TENANTS\n" for token, hashed here. */
static void
entry_line(char *out, size_t len, const char *name, const void *token,
	   size_t tlen, const char *tenants)
{
	unsigned char d[LT_SHA256_LEN];
	char h[2 * LT_SHA256_LEN + 1];

	lt_sha256(token, tlen, d);
	hex(d, h);
	ck_assert_int_lt(snprintf(out, len, "%s sha256:%s %s\n", name, h, tenants),
			 (int)len);
}

/* SHA-256 */

static void
check_digest(const void *data, size_t len, const char *want)
{
	unsigned char d[LT_SHA256_LEN];
	char h[2 * LT_SHA256_LEN + 1];

	lt_sha256(data, len, d);
	hex(d, h);
	ck_assert_str_eq(h, want);
}

/* FIPS 180-4 examples and the NIST test vectors (SHAVS). */
START_TEST(test_sha256_nist)
{
	static char million[1000000];
	struct lt_sha256 c;
	unsigned char d[LT_SHA256_LEN];
	char h[2 * LT_SHA256_LEN + 1];
	int i;

	check_digest("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	check_digest("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	check_digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
		     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	check_digest("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
		     "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu", 112,
		     "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
	memset(million, 'a', sizeof(million));
	check_digest(million, sizeof(million),
		     "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	/* The same million in odd pieces through the streaming interface. */
	lt_sha256_init(&c);
	for (i = 0; i < 1000000; i += 7)
		lt_sha256_update(&c, million + i, 1000000 - i < 7 ? (size_t)(1000000 - i) : 7);
	lt_sha256_final(&c, d);
	hex(d, h);
	ck_assert_str_eq(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

/* A fixed generator (xorshift64*): the same inputs every run. */
static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

/* The digest sha256sum(1) gives for the file p. */
static void
sha256sum(const char *p, char *out)
{
	char cmd[256], line[256];
	FILE *f;

	(void)snprintf(cmd, sizeof(cmd), "sha256sum '%s'", p);
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	ck_assert_int_eq(pclose(f), 0);
	ck_assert(strlen(line) > 64 && line[64] == ' ');
	memcpy(out, line, 64);
	out[64] = '\0';
}

/* Every length around the block and padding boundaries (0 to 200) and
 * random longer ones, random bytes, hashed whole and in random pieces,
 * against coreutils. */
START_TEST(test_sha256_vs_sha256sum)
{
	static unsigned char data[70000];
	unsigned char d[LT_SHA256_LEN];
	char mine[2 * LT_SHA256_LEN + 1], theirs[65], p[128];
	struct lt_sha256 c;
	size_t len, off, piece, i;
	int round;

	(void)snprintf(p, sizeof(p), "%s/input", dir);
	for (round = 0; round < 240; round++) {
		len = round <= 200 ? (size_t)round :
		      (size_t)(rng() % sizeof(data));
		for (i = 0; i < len; i++)
			data[i] = (unsigned char)rng();
		tu_write_file(p, data, len, 0600);
		sha256sum(p, theirs);
		lt_sha256(data, len, d);
		hex(d, mine);
		ck_assert_msg(strcmp(mine, theirs) == 0, "length %zu: %s, "
			      "sha256sum %s", len, mine, theirs);
		lt_sha256_init(&c);
		for (off = 0; off < len; off += piece) {
			piece = (size_t)(rng() % 150);
			if (piece > len - off)
				piece = len - off;
			lt_sha256_update(&c, data + off, piece);
		}
		lt_sha256_final(&c, d);
		hex(d, mine);
		ck_assert_msg(strcmp(mine, theirs) == 0, "length %zu in "
			      "pieces", len);
	}
}
END_TEST

/* The compression lt_sha256 uses (SHA-NI on a CPU that has it) and the
 * portable C, from random hash values over random runs of blocks. */
START_TEST(test_sha256_blocks)
{
	static unsigned char data[64 * LT_SHA256_BLOCK];
	uint32_t a[8], b[8];
	size_t n, i;
	int round;

	(void)printf("sha256: %s\n", lt_sha256_hardware() ?
		     "SHA instructions and portable C compared" :
		     "portable C only");
	for (round = 0; round < 500; round++) {
		for (i = 0; i < 8; i++)
			a[i] = b[i] = (uint32_t)rng();
		n = (size_t)(rng() % 64) + 1;
		for (i = 0; i < n * LT_SHA256_BLOCK; i++)
			data[i] = (unsigned char)rng();
		lt_sha256_blocks(a, data, n);
		lt_sha256_blocks_portable(b, data, n);
		ck_assert_msg(memcmp(a, b, sizeof(a)) == 0, "round %d: %zu blocks",
			      round, n);
	}
}
END_TEST

/* Loading */

START_TEST(test_load_ok)
{
	const char *who = NULL;

	load_ok("# Logthra credentials\n"
		"\n"
		"   \t\n"
		"alice  sha256:" H_ALICE "  acme\n"
		"  # indented comment\n"
		"bob\tsha256:" H_BOB "\tacme,beta,g(a)mma   # two more\n"
		"carol sha256:" H_CAROL " *\r\n"
		"web - acme\n"
		"a.b_c-d@example.org - beta"); /* no final newline */
	ck_assert_int_eq(lt_auth_check(auth, "Bearer tok-alice", "acme", &who), LT_AUTH_OK);
	ck_assert_str_eq(who, "alice");
	ck_assert_int_eq(lt_auth_check(auth, "Bearer tok-bob", "g(a)mma", &who), LT_AUTH_OK);
	ck_assert_str_eq(who, "bob");
	ck_assert_int_eq(lt_auth_check(auth, "Bearer tok-carol", "x", &who), LT_AUTH_OK);
	ck_assert_str_eq(who, "carol");
	ck_assert_int_eq(lt_auth_check_user(auth, "a.b_c-d@example.org", "beta", &who),
			 LT_AUTH_OK);
	ck_assert_str_eq(who, "a.b_c-d@example.org");
}
END_TEST

START_TEST(test_load_empty)
{
	const char *who = "x";

	load_ok("");
	ck_assert_int_eq(lt_auth_check(auth, "Bearer tok-alice", "acme", &who), LT_AUTH_BAD);
	ck_assert_ptr_null(who);
	ck_assert_int_eq(lt_auth_check(auth, basic("alice", "tok-alice"), "acme", &who),
			 LT_AUTH_BAD);
	ck_assert_int_eq(lt_auth_check_user(auth, "alice", "acme", &who), LT_AUTH_FORBIDDEN);
	load_ok("# nobody\n\n");
	ck_assert_int_eq(lt_auth_check(auth, "Bearer tok-alice", "acme", &who), LT_AUTH_BAD);
}
END_TEST

START_TEST(test_load_line_errors)
{
	char long_name[80], long_tenant[200], content[512];

	bad_file("alice\n", "1: missing SECRET and TENANTS after the name");
	bad_file("# c\nalice -\n", "2: missing TENANTS after the secret");
	bad_file("alice - acme # x\nbob - acme read beta\n",
		 "2: more than four fields (NAME SECRET TENANTS [ACCESS])");
	bad_file("alice - acme # x\nbob - acme beta\n",
		 "2: access \"beta\" must be read, write or read,write");
	bad_file("bob - acme read,read\n",
		 "1: access \"read,read\" must be read, write or read,write");
	bad_file("al:ice - acme\n",
		 "1: name \"al:ice\" must be 1 to 64 letters, digits and \"_.@-\"");
	bad_file("al/ice - acme\n",
		 "1: name \"al/ice\" must be 1 to 64 letters, digits and \"_.@-\"");
	memset(long_name, 'n', 65);
	long_name[65] = '\0';
	(void)snprintf(content, sizeof(content), "%s - acme\n", long_name);
	bad_file(content, "1: name \"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"
		 "nnnnnnnnnnnnnnnnnnnnn\" must be 1 to 64 letters, digits and \"_.@-\"");
	long_name[64] = '\0'; /* 64 is fine */
	(void)snprintf(content, sizeof(content), "%s - acme\n", long_name);
	load_ok(content);

#define BAD_SECRET "1: secret must be \"sha256:\" and 64 lowercase hex digits, or \"-\""
	bad_file("alice x acme\n", BAD_SECRET);
	bad_file("alice -- acme\n", BAD_SECRET);
	bad_file("alice sha256: acme\n", BAD_SECRET);
	bad_file("alice " H_ALICE " acme\n", BAD_SECRET);
	bad_file("alice sha1:" H_ALICE " acme\n", BAD_SECRET);
	bad_file("alice SHA256:" H_ALICE " acme\n", BAD_SECRET);
	bad_file("alice sha256:DDE96F5B27B2298476B272C037DFD2CB5438E3495510C51035DB1EF55F2994A4 acme\n",
		 BAD_SECRET);
	bad_file("alice sha256:" H_ALICE "0 acme\n", BAD_SECRET);
	bad_file("alice sha256:dde96f5b27b2298476b272c037dfd2cb5438e3495510c51035db1ef55f2994a acme\n",
		 BAD_SECRET);
	bad_file("alice sha256:gde96f5b27b2298476b272c037dfd2cb5438e3495510c51035db1ef55f2994a4 acme\n",
		 BAD_SECRET);

	bad_file("alice - acme,,beta\n", "1: empty tenant id in the list of tenants");
	bad_file("alice - acme,\n", "1: empty tenant id in the list of tenants");
	bad_file("alice - ,acme\n", "1: empty tenant id in the list of tenants");
	bad_file("alice - ,\n", "1: empty tenant id in the list of tenants");
	bad_file("alice - *,acme\n", "1: \"*\" (every tenant) must stand alone, not in a list");
	bad_file("alice - acme,*\n", "1: \"*\" (every tenant) must stand alone, not in a list");
	bad_file("alice - ..\n", "1: tenant id \"..\" must not be \".\" or \"..\"");
	bad_file("alice - acme,a/b\n", "1: tenant id \"a/b\" contains a character "
		 "other than letters, digits and !-_.*'()");
	memset(long_tenant, 't', 151);
	long_tenant[151] = '\0';
	(void)snprintf(content, sizeof(content), "alice - %s\n", long_tenant);
	write_file(content);
	{
		char err[1024], exp[1024];
		struct lt_auth *a;

		ck_assert_int_eq(lt_auth_load(path, &a, err, sizeof(err)), -1);
		(void)snprintf(exp, sizeof(exp), "%s:1: tenant id \"%s\" is longer "
			       "than 150 bytes", path, long_tenant);
		ck_assert_str_eq(err, exp);
	}

	/* A NUL byte, on the line it is on. */
	tu_write_file(path, "alice - acme\nbob - a\0cme\ncarol - acme\n", 38, 0640);
	load_fails_at(path, "2: NUL byte in the line");
	tu_write_file(path, "alice - acme\n\0", 14, 0640);
	load_fails_at(path, "2: NUL byte in the line");
	/* The first bad line is the one reported. */
	bad_file("alice - acme\nbob x acme\ncarol\n", "2: secret must be \"sha256:\" and 64 lowercase hex digits, or \"-\"");
#undef BAD_SECRET
}
END_TEST

START_TEST(test_load_duplicates)
{
	bad_file("alice - acme\nbob - acme\nalice - beta\n",
		 "3: duplicate name \"alice\" (first on line 1)");
	bad_file("alice - acme\nalice - acme\nalice - beta\n",
		 "2: duplicate name \"alice\" (first on line 1)");
	/* Names are case-sensitive, as REMOTE_USER and Basic are. */
	load_ok("alice - acme\nAlice - acme\n");
	bad_file("alice sha256:" H_ALICE " acme\n"
		 "bob sha256:" H_BOB " acme\n"
		 "# the same token again\n"
		 "carol sha256:" H_ALICE " beta\n",
		 "4: duplicate secret (the same as on line 1): every entry "
		 "needs a token of its own");
	/* Both kinds: the earlier line is reported. */
	bad_file("alice sha256:" H_ALICE " acme\n"
		 "bob sha256:" H_BOB " acme\n"
		 "carol sha256:" H_BOB " acme\n"
		 "alice - acme\n",
		 "3: duplicate secret (the same as on line 2): every entry "
		 "needs a token of its own");
	bad_file("zed - acme\n"
		 "alice sha256:" H_ALICE " acme\n"
		 "zed - acme\n"
		 "carol sha256:" H_ALICE " acme\n",
		 "3: duplicate name \"zed\" (first on line 1)");
	/* The earliest duplicate, not the first in sorted order. */
	bad_file("a - x\nb - x\nb - x\na - x\n",
		 "3: duplicate name \"b\" (first on line 2)");
	/* Many entries without a secret are not duplicates. */
	load_ok("a - acme\nb - acme\nc - acme\n");
}
END_TEST

START_TEST(test_load_file_checks)
{
	char p[256], want[512];

	/* Modes: no write bit for group or others; reading is fine. */
	tu_write_file(path, "alice - acme\n", 13, 0620);
	(void)snprintf(want, sizeof(want), "credentials file \"%s\" is writable "
		       "by its group (mode 0620); it must not be: chmod go-w it", path);
	load_fails(path, want);
	tu_write_file(path, "alice - acme\n", 13, 0602);
	(void)snprintf(want, sizeof(want), "credentials file \"%s\" is writable "
		       "by others (mode 0602); it must not be: chmod go-w it", path);
	load_fails(path, want);
	tu_write_file(path, "alice - acme\n", 13, 0666);
	(void)snprintf(want, sizeof(want), "credentials file \"%s\" is writable "
		       "by group and others (mode 0666); it must not be: chmod "
		       "go-w it", path);
	load_fails(path, want);
	tu_write_file(path, "alice - acme\n", 13, 0644);
	load_path_ok(path);
	tu_write_file(path, "alice - acme\n", 13, 0400);
	load_path_ok(path);
	tu_write_file(path, "alice - acme\n", 13, 0604);
	load_path_ok(path);

	/* A symbolic link, even to a good file. */
	(void)snprintf(p, sizeof(p), "%s/link", dir);
	ck_assert_int_eq(symlink(path, p), 0);
	(void)snprintf(want, sizeof(want), "credentials file \"%s\" is a "
		       "symbolic link; name the file itself", p);
	load_fails(p, want);

	/* Not a regular file: a directory, a FIFO (without hanging). */
	(void)snprintf(want, sizeof(want), "credentials file \"%s\" is not a "
		       "regular file", dir);
	load_fails(dir, want);
	(void)snprintf(p, sizeof(p), "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(p, 0600), 0);
	(void)snprintf(want, sizeof(want), "credentials file \"%s\" is not a "
		       "regular file", p);
	load_fails(p, want);

	(void)snprintf(p, sizeof(p), "%s/missing", dir);
	(void)snprintf(want, sizeof(want), "could not open credentials file "
		       "\"%s\": No such file or directory", p);
	load_fails(p, want);
}
END_TEST

START_TEST(test_load_caps)
{
	static char big[LT_AUTH_MAX_FILE_SIZE + 2];
	char want[512], line[128];
	const char *who;
	size_t len = 0;
	int i, n;

	/* 10000 entries with secrets (the sort-based duplicate checks keep
	 * this quick), then one more. */
	for (i = 0; i < LT_AUTH_MAX_ENTRIES; i++) {
		n = snprintf(big + len, sizeof(big) - len, "u%d sha256:%064x t%d\n",
			     i, i, i % 7);
		ck_assert(n > 0);
		len += (size_t)n;
	}
	ck_assert_uint_lt(len, LT_AUTH_MAX_FILE_SIZE);
	tu_write_file(path, big, len, 0640);
	load_path_ok(path);
	ck_assert_int_eq(lt_auth_check_user(auth, "u9999", "t3", &who), LT_AUTH_OK);
	ck_assert_str_eq(who, "u9999");
	ck_assert_int_eq(lt_auth_check_user(auth, "u9998", "t3", &who), LT_AUTH_FORBIDDEN);
	n = snprintf(line, sizeof(line), "# comment\nextra - acme\n");
	memcpy(big + len, line, (size_t)n);
	tu_write_file(path, big, len + (size_t)n, 0640);
	load_fails_at(path, "10002: more than 10000 entries");

	/* 1 MiB exactly is allowed, one byte more is not. */
	memset(big, '#', LT_AUTH_MAX_FILE_SIZE);
	big[LT_AUTH_MAX_FILE_SIZE - 1] = '\n';
	tu_write_file(path, big, LT_AUTH_MAX_FILE_SIZE, 0640);
	load_path_ok(path);
	tu_write_file(path, big, LT_AUTH_MAX_FILE_SIZE + 1, 0640);
	(void)snprintf(want, sizeof(want), "credentials file \"%s\" is larger "
		       "than 1048576 bytes", path);
	load_fails(path, want);
}
END_TEST

/* Checking credentials */

static void
load_standard(void)
{
	load_ok("# who may push\n"
		"alice  sha256:" H_ALICE "  acme\n"
		"bob    sha256:" H_BOB "    acme,beta\n"
		"carol  sha256:" H_CAROL "  *\n"
		"web    -                   acme\n");
}

static void
expect(const char *hdr, const char *tenant, enum lt_auth_result want,
       const char *want_who)
{
	const char *who = "unset";

	ck_assert_msg(lt_auth_check(auth, hdr, tenant, &who) == want,
		      "\"%s\" for %s: want %d", hdr ? hdr : "(null)",
		      tenant ? tenant : "(null)", (int)want);
	if (want_who == NULL)
		ck_assert_ptr_null(who);
	else
		ck_assert_str_eq(who, want_who);
}

START_TEST(test_bearer)
{
	load_standard();
	expect("Bearer tok-alice", "acme", LT_AUTH_OK, "alice");
	expect("Bearer tok-alice", "beta", LT_AUTH_FORBIDDEN, "alice");
	expect("Bearer tok-bob", "acme", LT_AUTH_OK, "bob");
	expect("Bearer tok-bob", "beta", LT_AUTH_OK, "bob");
	expect("Bearer tok-bob", "acmebeta", LT_AUTH_FORBIDDEN, "bob");
	expect("Bearer tok-bob", "acm", LT_AUTH_FORBIDDEN, "bob");
	expect("Bearer tok-carol", "acme", LT_AUTH_OK, "carol");
	expect("Bearer tok-carol", "anything.else", LT_AUTH_OK, "carol");
	expect("Bearer tok-carol", "*", LT_AUTH_OK, "carol");
	expect("Bearer tok-mallory", "acme", LT_AUTH_BAD, NULL);
	expect("Bearer tok-alic", "acme", LT_AUTH_BAD, NULL);
	expect("Bearer tok-alicee", "acme", LT_AUTH_BAD, NULL);
	/* The name is not a token, nor is "-". */
	expect("Bearer alice", "acme", LT_AUTH_BAD, NULL);
	expect("Bearer -", "acme", LT_AUTH_BAD, NULL);
	expect("Bearer web", "acme", LT_AUTH_BAD, NULL);
	/* The digest itself is not the token. */
	expect("Bearer sha256:" H_ALICE, "acme", LT_AUTH_BAD, NULL);
	/* No tenant: nothing is granted, not even by "*". */
	expect("Bearer tok-carol", NULL, LT_AUTH_FORBIDDEN, "carol");
	/* who may be NULL. */
	ck_assert_int_eq(lt_auth_check(auth, "Bearer tok-alice", "acme", NULL), LT_AUTH_OK);
}
END_TEST

START_TEST(test_basic)
{
	load_standard();
	/* curl -u alice:tok-alice sends this. */
	expect("Basic YWxpY2U6dG9rLWFsaWNl", "acme", LT_AUTH_OK, "alice");
	expect(basic("alice", "tok-alice"), "acme", LT_AUTH_OK, "alice");
	expect(basic("alice", "tok-alice"), "beta", LT_AUTH_FORBIDDEN, "alice");
	expect(basic("bob", "tok-bob"), "beta", LT_AUTH_OK, "bob");
	expect(basic("carol", "tok-carol"), "zeta", LT_AUTH_OK, "carol");
	/* Another entry's token, a wrong one, an unknown name. */
	expect(basic("alice", "tok-bob"), "acme", LT_AUTH_BAD, NULL);
	expect(basic("alice", "tok-alicf"), "acme", LT_AUTH_BAD, NULL);
	expect(basic("mallory", "tok-alice"), "acme", LT_AUTH_BAD, NULL);
	expect(basic("Alice", "tok-alice"), "acme", LT_AUTH_BAD, NULL);
	/* An entry without secret is for REMOTE_USER only. */
	expect(basic("web", "-"), "acme", LT_AUTH_BAD, NULL);
	expect(basic("web", "x"), "acme", LT_AUTH_BAD, NULL);
	/* Empty name or password. */
	expect(basic("", "tok-alice"), "acme", LT_AUTH_BAD, NULL);
	expect(basic("alice", ""), "acme", LT_AUTH_BAD, NULL);
	/* The password runs to the end, colons included. */
	expect(basic("alice", "tok-alice:"), "acme", LT_AUTH_BAD, NULL);
	expect(basic("alice:tok", "alice"), "acme", LT_AUTH_BAD, NULL);
}
END_TEST

START_TEST(test_scheme_and_spaces)
{
	char hdr[256];

	load_standard();
	expect("bearer tok-alice", "acme", LT_AUTH_OK, "alice");
	expect("BEARER tok-alice", "acme", LT_AUTH_OK, "alice");
	expect("bEaReR tok-alice", "acme", LT_AUTH_OK, "alice");
	expect("  Bearer   tok-alice  ", "acme", LT_AUTH_OK, "alice");
	expect("\tBearer\ttok-alice\t", "acme", LT_AUTH_OK, "alice");
	(void)snprintf(hdr, sizeof(hdr), " bAsIc \t%s ", basic("alice", "tok-alice") + 6);
	expect(hdr, "acme", LT_AUTH_OK, "alice");
	(void)snprintf(hdr, sizeof(hdr), "BASIC %s", basic("alice", "tok-alice") + 6);
	expect(hdr, "acme", LT_AUTH_OK, "alice");
	/* The token itself is case-sensitive. */
	expect("Bearer TOK-ALICE", "acme", LT_AUTH_BAD, NULL);
}
END_TEST

START_TEST(test_malformed)
{
	static const unsigned char with_nul[] = "alice\0:tok-alice";
	static const unsigned char nul_in_password[] = "alice:tok-al\0ice";
	char hdr[8192];

	load_standard();
	expect(NULL, "acme", LT_AUTH_MISSING, NULL);
	expect("", "acme", LT_AUTH_BAD, NULL);
	expect("   ", "acme", LT_AUTH_BAD, NULL);
	expect("Bearer", "acme", LT_AUTH_BAD, NULL);
	expect("Bearer ", "acme", LT_AUTH_BAD, NULL);
	expect("Bearer \t ", "acme", LT_AUTH_BAD, NULL);
	expect("Basic", "acme", LT_AUTH_BAD, NULL);
	expect("Basic ", "acme", LT_AUTH_BAD, NULL);
	expect("Bearertok-alice", "acme", LT_AUTH_BAD, NULL);
	expect("tok-alice", "acme", LT_AUTH_BAD, NULL);
	expect("Token tok-alice", "acme", LT_AUTH_BAD, NULL);
	expect("Bearer: tok-alice", "acme", LT_AUTH_BAD, NULL);
	expect("Digest tok-alice", "acme", LT_AUTH_BAD, NULL);
	expect("Bearer tok-alice tok-alice", "acme", LT_AUTH_BAD, NULL);
	expect("Bearer tok-alice,", "acme", LT_AUTH_BAD, NULL);
	expect("Bearer tok\001alice", "acme", LT_AUTH_BAD, NULL);
	expect("Bearer tok-alice\r", "acme", LT_AUTH_BAD, NULL);
	expect("Bearer tök-alice", "acme", LT_AUTH_BAD, NULL);
	/* A Basic value under Bearer and the other way round. */
	expect("Bearer YWxpY2U6dG9rLWFsaWNl", "acme", LT_AUTH_BAD, NULL);
	expect("Basic tok-alice", "acme", LT_AUTH_BAD, NULL);

	/* Strict base64. */
	expect("Basic !!!", "acme", LT_AUTH_BAD, NULL);
	expect("Basic !!!!", "acme", LT_AUTH_BAD, NULL);
	expect("Basic YWxpY2U6dG9rLWFsaWNl=", "acme", LT_AUTH_BAD, NULL);  /* 29 chars */
	expect("Basic YWxpY2U6dG9rLWFsaWNl==", "acme", LT_AUTH_BAD, NULL); /* padding not due */
	expect("Basic YWxpY2U6dG9rLWFsaWNlYg", "acme", LT_AUTH_BAD, NULL); /* unpadded */
	expect("Basic YWxpY2U6dG9rLWFsaWNlYg==", "acme", LT_AUTH_BAD, NULL); /* "alice:tok-aliceb" */
	expect("Basic YWxpY2U6dG9rLWFsaWNlYh==", "acme", LT_AUTH_BAD, NULL); /* bits left over */
	expect("Basic YWxp=2U6dG9rLWFsaWNl", "acme", LT_AUTH_BAD, NULL);  /* '=' inside */
	expect("Basic YWxpY2U6dG9rLWFsaWNl====", "acme", LT_AUTH_BAD, NULL);
	expect("Basic YWxpY2U6dG9rLWFsaWN-", "acme", LT_AUTH_BAD, NULL);  /* base64url */
	expect("Basic ====", "acme", LT_AUTH_BAD, NULL);
	expect("Basic ", "acme", LT_AUTH_BAD, NULL);
	/* Decoded: no colon, a NUL. */
	expect("Basic YWxpY2U=", "acme", LT_AUTH_BAD, NULL); /* "alice" */
	memcpy(hdr, "Basic ", 6);
	b64(with_nul, sizeof(with_nul) - 1, hdr + 6);
	expect(hdr, "acme", LT_AUTH_BAD, NULL);
	b64(nul_in_password, sizeof(nul_in_password) - 1, hdr + 6);
	expect(hdr, "acme", LT_AUTH_BAD, NULL);

	/* Too long: more than 4096 characters of credentials. */
	memcpy(hdr, "Bearer ", 7);
	memset(hdr + 7, 'x', 4097);
	hdr[7 + 4097] = '\0';
	expect(hdr, "acme", LT_AUTH_BAD, NULL);
}
END_TEST

static unsigned
hex_byte(const char *p)
{
	char two[3] = {p[0], p[1], '\0'};

	return (unsigned)strtoul(two, NULL, 16);
}

/* A secret that differs from the token's digest in one bit of any byte
 * refuses it: every byte is compared, every bit counts. */
START_TEST(test_digest_every_byte)
{
	char content[256], h[] = H_ALICE;
	static const unsigned char flips[] = {0x01, 0x10, 0x80};
	unsigned v;
	size_t i, f;

	for (i = 0; i < LT_SHA256_LEN; i++) {
		for (f = 0; f < sizeof(flips); f++) {
			memcpy(h, H_ALICE, sizeof(h));
			v = hex_byte(&H_ALICE[2 * i]);
			(void)snprintf(h + 2 * i, 3, "%02x", v ^ flips[f]);
			h[2 * i + 2] = H_ALICE[2 * i + 2];
			(void)snprintf(content, sizeof(content),
				       "alice sha256:%s acme\n", h);
			load_ok(content);
			expect("Bearer tok-alice", "acme", LT_AUTH_BAD, NULL);
			expect(basic("alice", "tok-alice"), "acme", LT_AUTH_BAD, NULL);
		}
	}
	load_ok("alice sha256:" H_ALICE " acme\n");
	expect("Bearer tok-alice", "acme", LT_AUTH_OK, "alice");
}
END_TEST

/* Strict base64 refuses other spellings of valid credentials. */
START_TEST(test_basic_canonical)
{
	char content[1024], l1[256], l2[256], l3[256], hdr[256];
	size_t n;

	entry_line(l1, sizeof(l1), "bob", "tok-bob", 7, "acme");
	entry_line(l2, sizeof(l2), "bob2", "tok-bob1", 8, "acme");
	/* sha256("") is a secret no token of Basic may match: an empty
	 * password is refused before it is hashed. */
	entry_line(l3, sizeof(l3), "empty", "", 0, "acme");
	(void)snprintf(content, sizeof(content), "%s%s%s", l1, l2, l3);
	load_ok(content);
	/* "bob:tok-bob", 11 bytes: one "=". */
	ck_assert_str_eq(basic("bob", "tok-bob"), "Basic Ym9iOnRvay1ib2I=");
	expect("Basic Ym9iOnRvay1ib2I=", "acme", LT_AUTH_OK, "bob");
	expect("Basic Ym9iOnRvay1ib2J=", "acme", LT_AUTH_BAD, NULL);
	expect("Basic Ym9iOnRvay1ib2L=", "acme", LT_AUTH_BAD, NULL);
	expect("Basic Ym9iOnRvay1ib2I", "acme", LT_AUTH_BAD, NULL);
	/* "bob2:tok-bob1", 13 bytes: "==". */
	(void)snprintf(hdr, sizeof(hdr), "%s", basic("bob2", "tok-bob1"));
	n = strlen(hdr);
	ck_assert_str_eq(hdr + n - 2, "==");
	expect(hdr, "acme", LT_AUTH_OK, "bob2");
	hdr[n - 3] = (char)(hdr[n - 3] + 1); /* low bits of the last group */
	expect(hdr, "acme", LT_AUTH_BAD, NULL);
	hdr[n - 3] = (char)(hdr[n - 3] - 1);
	hdr[n - 1] = '\0';
	expect(hdr, "acme", LT_AUTH_BAD, NULL);
	expect(basic("empty", ""), "acme", LT_AUTH_BAD, NULL);
	expect("Bearer ", "acme", LT_AUTH_BAD, NULL);
}
END_TEST

/* Credentials up to 4096 characters are looked at, longer ones are
 * refused even when their digest is in the file. */
START_TEST(test_long_credentials)
{
	static char tok[5000], hdr[8192];
	char content[1024], l1[256], l2[256], l3[256];

	memset(tok, 'x', sizeof(tok));
	entry_line(l1, sizeof(l1), "t4096", tok, 4096, "acme");
	entry_line(l2, sizeof(l2), "t4097", tok, 4097, "acme");
	entry_line(l3, sizeof(l3), "p3000", tok, 3000, "acme");
	(void)snprintf(content, sizeof(content), "%s%s%s", l1, l2, l3);
	load_ok(content);
	(void)snprintf(hdr, sizeof(hdr), "Bearer %.4096s", tok);
	expect(hdr, "acme", LT_AUTH_OK, "t4096");
	(void)snprintf(hdr, sizeof(hdr), "Bearer %.4097s", tok);
	expect(hdr, "acme", LT_AUTH_BAD, NULL);
	tok[3000] = '\0';
	/* "p3000:" and 3000 bytes: 4008 characters of base64. */
	expect(basic("p3000", tok), "acme", LT_AUTH_OK, "p3000");
	tok[3000] = 'x';
	tok[3100] = '\0';
	expect(basic("p3000", tok), "acme", LT_AUTH_BAD, NULL);
	tok[3100] = 'x';
}
END_TEST

START_TEST(test_remote_user)
{
	const char *who = "unset";

	load_standard();
	ck_assert_int_eq(lt_auth_check_user(auth, NULL, "acme", &who), LT_AUTH_MISSING);
	ck_assert_ptr_null(who);
	who = "unset";
	ck_assert_int_eq(lt_auth_check_user(auth, "", "acme", &who), LT_AUTH_MISSING);
	ck_assert_ptr_null(who);
	ck_assert_int_eq(lt_auth_check_user(auth, "web", "acme", &who), LT_AUTH_OK);
	ck_assert_str_eq(who, "web");
	ck_assert_int_eq(lt_auth_check_user(auth, "web", "beta", &who), LT_AUTH_FORBIDDEN);
	ck_assert_str_eq(who, "web");
	/* Entries with a secret serve REMOTE_USER too. */
	ck_assert_int_eq(lt_auth_check_user(auth, "bob", "beta", &who), LT_AUTH_OK);
	ck_assert_str_eq(who, "bob");
	ck_assert_int_eq(lt_auth_check_user(auth, "carol", "zeta", &who), LT_AUTH_OK);
	/* Authenticated by the web server but not listed. */
	ck_assert_int_eq(lt_auth_check_user(auth, "mallory", "acme", &who), LT_AUTH_FORBIDDEN);
	ck_assert_ptr_null(who);
	ck_assert_int_eq(lt_auth_check_user(auth, "Web", "acme", &who), LT_AUTH_FORBIDDEN);
	ck_assert_int_eq(lt_auth_check_user(auth, "CN=web,O=example", "acme", &who),
			 LT_AUTH_FORBIDDEN);
	ck_assert_int_eq(lt_auth_check_user(auth, "web", NULL, &who), LT_AUTH_FORBIDDEN);
	ck_assert_int_eq(lt_auth_check_user(auth, "web", "acme", NULL), LT_AUTH_OK);
}
END_TEST

/* Tokens */

static int
b64url_value(char c)
{
	const char *abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const char *p = c != '\0' ? strchr(abc, c) : NULL;

	return p != NULL ? (int)(p - abc) : -1;
}

START_TEST(test_new_token)
{
	char tokens[200][LT_AUTH_TOKEN_LEN + 1], small[LT_AUTH_TOKEN_LEN];
	unsigned seen[64] = {0};
	int i, j, v;

	for (i = 0; i < 200; i++) {
		ck_assert_int_eq(lt_auth_new_token(tokens[i], sizeof(tokens[i])), 0);
		ck_assert_uint_eq(strlen(tokens[i]), LT_AUTH_TOKEN_LEN);
		ck_assert(strncmp(tokens[i], "lt_", 3) == 0);
		for (j = 3; j < LT_AUTH_TOKEN_LEN; j++) {
			v = b64url_value(tokens[i][j]);
			ck_assert_msg(v >= 0, "%s", tokens[i]);
			seen[v]++;
		}
		/* 43 characters carry 258 bits: the last 2 are padding. */
		ck_assert_int_eq(b64url_value(tokens[i][LT_AUTH_TOKEN_LEN - 1]) & 3, 0);
		for (j = 0; j < i; j++)
			ck_assert_str_ne(tokens[i], tokens[j]);
	}
	/* 8400 characters of random data use every letter of the alphabet. */
	for (i = 0; i < 64; i++)
		ck_assert_msg(seen[i] > 0, "value %d never seen", i);
	errno = 0;
	ck_assert_int_eq(lt_auth_new_token(small, sizeof(small)), -1);
	ck_assert_int_eq(errno, ERANGE);
}
END_TEST

START_TEST(test_format_entry)
{
	char line[512], err[512];

	ck_assert_int_eq(lt_auth_format_entry(line, sizeof(line), "alice", "tok-alice",
					      "acme,beta", err, sizeof(err)), 0);
	ck_assert_str_eq(line, "alice sha256:" H_ALICE " acme,beta\n");
	ck_assert_int_eq(lt_auth_format_entry(line, sizeof(line), "carol", "tok-carol",
					      "*", err, sizeof(err)), 0);
	ck_assert_str_eq(line, "carol sha256:" H_CAROL " *\n");
	/* Exactly the room needed, then one byte less. */
	ck_assert_int_eq(lt_auth_format_entry(line, 6 + 71 + 1 + 4 + 1 + 1, "alice",
					      "tok-alice", "acme", err, sizeof(err)), 0);
	ck_assert_int_eq(lt_auth_format_entry(line, 6 + 71 + 1 + 4 + 1, "alice",
					      "tok-alice", "acme", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "the entry does not fit in 83 bytes");

	ck_assert_int_eq(lt_auth_format_entry(line, sizeof(line), "al ice", "t", "acme",
					      err, sizeof(err)), -1);
	ck_assert_str_eq(err, "name \"al ice\" must be 1 to 64 letters, digits and \"_.@-\"");
	ck_assert_int_eq(lt_auth_format_entry(line, sizeof(line), "", "t", "acme",
					      err, sizeof(err)), -1);
	ck_assert_str_eq(err, "name \"\" must be 1 to 64 letters, digits and \"_.@-\"");
	ck_assert_int_eq(lt_auth_format_entry(line, sizeof(line), "alice", "t", "acme,*",
					      err, sizeof(err)), -1);
	ck_assert_str_eq(err, "\"*\" (every tenant) must stand alone, not in a list");
	ck_assert_int_eq(lt_auth_format_entry(line, sizeof(line), "alice", "t", "",
					      err, sizeof(err)), -1);
	ck_assert_str_eq(err, "empty tenant id in the list of tenants");
	ck_assert_int_eq(lt_auth_format_entry(line, sizeof(line), "alice", "t", "a b",
					      err, sizeof(err)), -1);
	ck_assert_str_eq(err, "tenant id \"a b\" contains a character other than "
			 "letters, digits and !-_.*'()");
#define BAD_TOKEN "a token must be 1 to 1024 printable ASCII characters without spaces"
	ck_assert_int_eq(lt_auth_format_entry(line, sizeof(line), "alice", "", "acme",
					      err, sizeof(err)), -1);
	ck_assert_str_eq(err, BAD_TOKEN);
	ck_assert_int_eq(lt_auth_format_entry(line, sizeof(line), "alice", "a b", "acme",
					      err, sizeof(err)), -1);
	ck_assert_str_eq(err, BAD_TOKEN);
	ck_assert_int_eq(lt_auth_format_entry(line, sizeof(line), "alice", "a\nb", "acme",
					      err, sizeof(err)), -1);
	ck_assert_str_eq(err, BAD_TOKEN);
#undef BAD_TOKEN
}
END_TEST

/* What --new-token does: a token, its line appended to the file; the
 * token then works, as Bearer and as the password of Basic. */
START_TEST(test_token_roundtrip)
{
	char t1[LT_AUTH_TOKEN_LEN + 1], t2[LT_AUTH_TOKEN_LEN + 1];
	char l1[256], l2[256], content[1024], err[256], hdr[256];

	ck_assert_int_eq(lt_auth_new_token(t1, sizeof(t1)), 0);
	ck_assert_int_eq(lt_auth_new_token(t2, sizeof(t2)), 0);
	ck_assert_int_eq(lt_auth_format_entry(l1, sizeof(l1), "promtail", t1, "acme",
					      err, sizeof(err)), 0);
	ck_assert_int_eq(lt_auth_format_entry(l2, sizeof(l2), "alloy@web1", t2,
					      "acme,beta", err, sizeof(err)), 0);
	(void)snprintf(content, sizeof(content), "# generated\n%s%s", l1, l2);
	load_ok(content);
	(void)snprintf(hdr, sizeof(hdr), "Bearer %s", t1);
	expect(hdr, "acme", LT_AUTH_OK, "promtail");
	expect(hdr, "beta", LT_AUTH_FORBIDDEN, "promtail");
	(void)snprintf(hdr, sizeof(hdr), "Bearer %s", t2);
	expect(hdr, "beta", LT_AUTH_OK, "alloy@web1");
	expect(basic("promtail", t1), "acme", LT_AUTH_OK, "promtail");
	expect(basic("alloy@web1", t2), "beta", LT_AUTH_OK, "alloy@web1");
	expect(basic("promtail", t2), "acme", LT_AUTH_BAD, NULL);
	/* One character changed. */
	t1[10] = t1[10] == 'A' ? 'B' : 'A';
	(void)snprintf(hdr, sizeof(hdr), "Bearer %s", t1);
	expect(hdr, "acme", LT_AUTH_BAD, NULL);
}
END_TEST

static Suite *
auth_suite(void)
{
	Suite *s = suite_create("auth");
	TCase *sha = tcase_create("sha256");
	TCase *load = tcase_create("load");
	TCase *check = tcase_create("check");
	TCase *token = tcase_create("token");

	tcase_add_checked_fixture(sha, setup, teardown);
	tcase_set_timeout(sha, 120); /* valgrind */
	tcase_add_test(sha, test_sha256_nist);
	tcase_add_test(sha, test_sha256_vs_sha256sum);
	tcase_add_test(sha, test_sha256_blocks);
	suite_add_tcase(s, sha);

	tcase_add_checked_fixture(load, setup, teardown);
	tcase_set_timeout(load, 60);
	tcase_add_test(load, test_load_ok);
	tcase_add_test(load, test_load_empty);
	tcase_add_test(load, test_load_line_errors);
	tcase_add_test(load, test_load_duplicates);
	tcase_add_test(load, test_load_file_checks);
	tcase_add_test(load, test_load_caps);
	suite_add_tcase(s, load);

	tcase_add_checked_fixture(check, setup, teardown);
	tcase_add_test(check, test_bearer);
	tcase_add_test(check, test_basic);
	tcase_add_test(check, test_scheme_and_spaces);
	tcase_add_test(check, test_malformed);
	tcase_add_test(check, test_digest_every_byte);
	tcase_add_test(check, test_basic_canonical);
	tcase_add_test(check, test_long_credentials);
	tcase_add_test(check, test_remote_user);
	suite_add_tcase(s, check);

	tcase_add_checked_fixture(token, setup, teardown);
	tcase_add_test(token, test_new_token);
	tcase_add_test(token, test_format_entry);
	tcase_add_test(token, test_token_roundtrip);
	suite_add_tcase(s, token);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(auth_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
