/* Self test of scripts/checksrc: a header that passes every rule. */
#ifndef LOGTHRA_GOOD_H
#define LOGTHRA_GOOD_H

#include <stddef.h>

struct good {
	const char *name;	/* tab-aligned comment */
	size_t len;
};

int good_count(const struct good *g, size_t n,
	       int (*keep)(const struct good *));

#endif /* LOGTHRA_GOOD_H */
