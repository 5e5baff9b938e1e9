/* A push sink for the unit tests that writes what it receives into a
 * text log: "S name=value,name=value\n" for a stream and
 * "E ts line [name=value,...]\n" for an entry.  It can be told to fail on
 * its nth call, and remembers where the last line it saw lay. */
#ifndef LOGTHRA_TEST_PUSH_REC_H
#define LOGTHRA_TEST_PUSH_REC_H

#include "buf.h"
#include "push.h"

struct rec {
	struct lt_buf log;
	int calls;
	int fail_at;           /* 0 = never */
	const char *last_line; /* the line pointer of the last entry */
};

int rec_stream(void *ctx, const struct lt_label *labels, size_t n);
int rec_entry(void *ctx, const struct lt_entry *e);
/* The log as a C string (fails the test when out of memory). */
const char *rec_text(struct rec *r);

#endif
