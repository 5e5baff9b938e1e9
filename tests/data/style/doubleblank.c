/* Self test of scripts/checksrc: DOUBLEBLANK at 3:1. */


int
f(int a)
{
	return a;
}
