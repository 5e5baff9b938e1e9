/* Self test of scripts/checksrc: SIZEOFPAREN at 5:25. */
int
f(int a)
{
	return a + (int)sizeof (a);
}
