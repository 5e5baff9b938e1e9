/* The wall clock in unix nanoseconds (clock.h). */
#include "config.h"

#include <time.h>

#include "clock.h"

int64_t
lt_now_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
