/* Self test of scripts/checksrc: BANNEDFUNC at 7:9. */
#include <stdio.h>

void
f(char *buf, int a)
{
	sprintf(buf, "%d", a);
}
