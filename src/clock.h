/* The wall clock, in the unit of Loki's timestamps: unix nanoseconds.
 * The receiver stamps pushes with it, the query front and the live tail
 * take "now" from it, logthra-replay reads --since=2h against it. */
#ifndef LOGTHRA_CLOCK_H
#define LOGTHRA_CLOCK_H

#include <stdint.h>

/* The current time in unix nanoseconds. */
int64_t lt_now_ns(void);

#endif
