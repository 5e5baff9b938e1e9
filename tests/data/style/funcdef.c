/* Self test of scripts/checksrc: FUNCDEF at 2:1. */
int f(int a,
      int b)
{
	return a + b;
}
