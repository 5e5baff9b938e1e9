/* Self test of scripts/checksrc: NOEOL at 6:2. */
int
f(int a)
{
	return a;
}