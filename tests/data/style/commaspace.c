/* Self test of scripts/checksrc: COMMASPACE at 7:19. */
#include <stdlib.h>

int
f(int a)
{
	return f(a,a);
}
