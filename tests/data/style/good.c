/* Self test of scripts/checksrc: a file that passes every rule, with
 * what looks like a violation in comments and strings: if(x), a // b,
 * sprintf(buf, "%d", n), strcpy(), return(0), f(a,b).  // not C++ */
#include <stdio.h>
#include <string.h>

#include "good.h"

#define GOOD_MAX(a, b) ((a) > (b) ? (a) : (b))

static const struct good goods[] = {
	{"http://example.org/a//b", 23},
	{"if(x) return(y); a,b a=b", 24},
	{",;'\"", 4},
};

static int
keep_all(const struct good *g)
{
	return g != NULL;
}

int
good_count(const struct good *g, size_t n,
	   int (*keep)(const struct good *))
{
	size_t i;
	int count = 0;

	for (i = 0; i < n; i++) {
		if (keep(&g[i]) && g[i].len > 0)
			count++;
		else if (g[i].len == 0)
			continue;
		else
			count += 0;
	}
	for (;;)
		break;
	do {
		count *= 1;
	} while (0);
	return (count);
}

static int
report(char *err, size_t errlen, const char *why)
{
	char c = ',';
	int n = (int)sizeof goods / (int)sizeof(goods[0]);

	if (why != NULL && c == ',') {
		(void)snprintf(err, errlen, "a message this long is not split, so that grep finds it: %s", why);
		return -1;
	} else {
		n = n * 2 - good_count(goods, sizeof(goods) / sizeof(goods[0]),
				       keep_all);
	}
	{
		const char *s = strchr(err, ';');

		n += s != NULL ? 1 : 0;
	}
	n += GOOD_MAX(n, (int)errlen) >> 1; /* checksrc: ok LONGLINE: a comment that carries a line past the limit on purpose */
	return n;
}

int
main(void)
{
	char err[128];

	return report(err, sizeof(err), NULL) < 0;
}
