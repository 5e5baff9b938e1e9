/* Fuzz target: LogQL's templates (line_format, label_format).
 *
 * Every input is compiled as a template; one that compiles is executed
 * against a fixed entry with a small max_out, twice, and freed.  The
 * result must be 0 or -1 with a one-line message, the output must stay
 * within max_out, and the two runs must agree: a template's output
 * depends on nothing but the entry.  lt_tmpl_labels must name only
 * label-shaped names.  Regexes run under PCRE2's match limit, so a
 * catastrophic pattern is an error, not a timeout. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define MAX_OUT 4096

static const char *const labels[][2] = {
	{"app", "api"},
	{"level", "warn"},
	{"n", "42"},
	{"msg", "Hello World"},
	{"ts", "2021-11-02T10:00:00Z"},
	{"size", "1.5 KiB"},
	{"empty", ""},
	{"bin", "a\xff\xc3"},
	{NULL, NULL}
};

static const char *
lookup(void *ctx, const char *name, size_t len, size_t *vlen)
{
	int i;

	(void)ctx;
	for (i = 0; labels[i][0] != NULL; i++)
		if (strlen(labels[i][0]) == len &&
		    memcmp(labels[i][0], name, len) == 0) {
			*vlen = strlen(labels[i][1]);
			return labels[i][1];
		}
	return NULL;
}

static void
check_why(const char *why)
{
	size_t i;

	if (why[0] == '\0')
		abort();
	for (i = 0; why[i] != '\0'; i++)
		if (why[i] == '\r')
			abort();
}

/* A name is what follows a dot up to the next: never a dot, a space
 * or a delimiter. */
static void
check_name(void *ctx, const char *name, size_t len)
{
	size_t i;

	(void)ctx;
	for (i = 0; i < len; i++)
		if (name[i] == '.' || name[i] == ' ' || name[i] == '}')
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char line[] = "level=info msg=\"hello\" n=3";
	struct lt_tmpl_entry e = {lookup, NULL, line, sizeof(line) - 1,
				  1700000000123456789LL};
	struct lt_buf a = LT_BUF_INIT, b = LT_BUF_INIT;
	struct lt_tmpl *t;
	char why[512], why2[512];
	int rc, rc2;

	t = lt_tmpl_compile((const char *)data, size, why, sizeof(why));
	if (t == NULL) {
		check_why(why);
		return 0;
	}
	lt_tmpl_labels(t, check_name, NULL);
	rc = lt_tmpl_execute(t, &e, &a, MAX_OUT, why, sizeof(why));
	rc2 = lt_tmpl_execute(t, &e, &b, MAX_OUT, why2, sizeof(why2));
	if ((rc != 0 && rc != -1) || rc != rc2 || a.len > MAX_OUT)
		abort();
	if (rc == -1) {
		check_why(why);
		if (strcmp(why, why2) != 0 && strstr(why, "now") == NULL)
			abort();
	}
	/* now() and a date of a non-time read the clock. */
	if (a.len != b.len && memmem(data, size, "now", 3) == NULL &&
	    memmem(data, size, "date", 4) == NULL)
		abort();
	lt_buf_free(&a);
	lt_buf_free(&b);
	lt_tmpl_free(t);
	return 0;
}
