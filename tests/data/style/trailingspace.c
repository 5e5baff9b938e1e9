/* Self test of scripts/checksrc: TRAILINGSPACE at 5:23. */
int
f(int a)
{
	int b = a + 1; 

	return b;
}
