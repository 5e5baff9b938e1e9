#include <stdlib.h>

/* Self test of scripts/checksrc: HEAD at 1:1. */
int
f(int a)
{
	return abs(a);
}
