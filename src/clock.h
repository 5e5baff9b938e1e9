/* The wall clock, in the unit of Loki's timestamps: unix nanoseconds.
 * The receiver stamps pushes with it, the query front and the live tail
 * take "now" from it, logthra-replay reads --since=2h against it; and
 * the calendar arithmetic all of them share. */
#ifndef LOGTHRA_CLOCK_H
#define LOGTHRA_CLOCK_H

#include <stdint.h>

/* The current time in unix nanoseconds. */
int64_t lt_now_ns(void);

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (Howard Hinnant's days_from_civil): no timegm(), no TZ.  m is 1-12. */
int64_t lt_days_from_civil(int64_t y, int m, int d);

/* The date of a day counted from 1970-01-01 (civil_from_days). */
void lt_civil_from_days(int64_t days, int64_t *y, int *m, int *d);

#endif
