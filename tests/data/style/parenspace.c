/* Self test of scripts/checksrc: PARENSPACE at 5:23. */
int
f(int a)
{
	return a + abs( a);
}
